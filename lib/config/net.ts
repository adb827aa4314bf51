import * as ipaddr from 'ipaddr.js';

/**
 * IPv4 addresses and networks, checked in meaning with ipaddr.js: a bind address must be one the
 * host can listen on, a subnet must be a private network without host bits that leaves Docker's own
 * address pools alone.
 */

/** Four decimal parts, no leading zeros (ipaddr.js alone would read `010.0.0.1` as octal). */
export function isIPv4Literal(s: string): boolean {
  return /^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(s) && ipaddr.IPv4.isValidFourPartDecimal(s);
}

/** Why `s` cannot be a host address to publish a port on; undefined when it can. */
export function bindAddressProblem(s: string): string | undefined {
  if (!isIPv4Literal(s)) return 'an IPv4 address such as 127.0.0.1 or 0.0.0.0';
  const range = ipaddr.IPv4.parse(s).range();
  if (s === '0.0.0.0') return undefined;
  if (['broadcast', 'multicast', 'reserved', 'unspecified'].includes(range)) {
    return `a unicast address (${s} is ${range === 'unspecified' ? 'in 0.0.0.0/8' : `a ${range} address`}); 0.0.0.0 means every address`;
  }
  return undefined;
}

/**
 * The networks Docker carves bridge networks from when none is given (moby
 * libnetwork/ipamutils/utils.go `localScopeDefaultNetworks`), docker0's 172.17.0.0/16 first.
 */
export const DOCKER_DEFAULT_POOLS = [
  '172.17.0.0/16',
  '172.18.0.0/16',
  '172.19.0.0/16',
  '172.20.0.0/14',
  '172.24.0.0/14',
  '172.28.0.0/14',
  '192.168.0.0/16',
] as const;

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

function cidr(s: string): [ipaddr.IPv4, number] {
  const [a, p] = s.split('/');
  return [ipaddr.IPv4.parse(a), Number(p)];
}

/** Whether two IPv4 networks share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const [na, pa] = cidr(a);
  const [nb, pb] = cidr(b);
  return pa <= pb ? nb.match(na, pa) : na.match(nb, pb);
}

/** Why `s` cannot be the stack's subnet; undefined when it can. */
export function subnetProblem(s: string, allowDockerPools: boolean): string | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4Literal(m[1]) || Number(m[2]) > 32) return 'an IPv4 CIDR such as 172.16.5.0/24';
  const prefix = Number(m[2]);
  if (prefix < 16 || prefix > 28) return `a prefix length from /16 to /28 (got /${prefix})`;
  const network = ipaddr.IPv4.networkAddressFromCIDR(s).toString();
  if (network !== m[1]) return `a network address without host bits: ${network}/${prefix}, not ${s}`;
  const inside = PRIVATE.find((p) => {
    const [pn, pp] = cidr(p);
    return prefix >= pp && ipaddr.IPv4.parse(m[1]).match(pn, pp);
  });
  if (!inside)
    return `a private network inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (GitLab trusts it as its proxy)`;
  const pool = DOCKER_DEFAULT_POOLS.find((p) => cidrsOverlap(s, p));
  if (pool && !allowDockerPools) {
    return (
      `a network outside Docker's default address pools (${s} overlaps ${pool}${pool === '172.17.0.0/16' ? ', docker0' : ''}); ` +
      'choose one in 172.16.0.0/16 or 10.0.0.0/8, or set kytes:network.allowDockerPools to true if this daemon has other pools'
    );
  }
  return undefined;
}
