import { ACME_DIRECTORIES, isIPv4Literal, KytesConfig } from '../config';
import { checkCertificate, hasOcspResponder, parseChain } from '../tls-certs';
import { StackBasics, volume } from './common';
import { ServedCertificate, TlsTopology } from './types';

/** Where nginx finds what the retained TLS volume holds (ACME lineages, copies of host files). */
export const TLS_DIR = '/etc/kytes/tls';
/** Where the PEM pairs from stack config are uploaded inside the nginx container (not a volume). */
export const PEM_DIR = '/etc/kytes/pem';
/** The HTTP-01 webroot: certbot writes challenges here, nginx serves them on port 80. */
export const ACME_WEBROOT = '/var/www/acme';

/**
 * Special-use names (RFC 6761, 6762, 7686, 8375, 9476, and ICANN's `.internal`) that no public CA
 * issues for: Let's Encrypt refuses them, so `acme` mode refuses them first, with the reason.
 */
const NON_PUBLIC_SUFFIXES = [
  'localhost',
  'test',
  'invalid',
  'example',
  'local',
  'onion',
  'home.arpa',
  'alt',
  'internal',
];

/** The certificate served for one hostname; where nginx reads it depends on where it comes from. */
function served(hostname: string, source: ServedCertificate['source'], stapling: boolean): ServedCertificate {
  const dir = source.kind === 'pem' ? `${PEM_DIR}/${hostname}` : `${TLS_DIR}/serve/${hostname}`;
  return { hostname, certificatePath: `${dir}/fullchain.pem`, keyPath: `${dir}/privkey.pem`, source, stapling };
}

/** Which entry of `kytes:tls.certificates` serves `host`: the one listing it, or the only entry. */
function entryFor(config: KytesConfig, host: string): number {
  const certs = config.tls.certificates;
  if (certs.length === 1 && certs[0].hostnames === undefined) return 0;
  return certs.findIndex((c) => c.hostnames?.includes(host));
}

function sourceOf(config: KytesConfig, index: number): ServedCertificate['source'] {
  const c = config.tls.certificates[index];
  return c.certificateFile !== undefined && c.keyFile !== undefined
    ? { kind: 'host', entry: index, certificateFile: c.certificateFile, keyFile: c.keyFile }
    : { kind: 'pem', entry: index };
}

/** OCSP stapling where the certificate allows it: PEM certificates are read here; host files and a
 * private ACME CA are left to nginx, which skips stapling (with a warning) when there is no responder;
 * Let's Encrypt certificates carry none since 2025. */
function stapling(config: KytesConfig, source: ServedCertificate['source'], customAcme: boolean): boolean {
  if (source.kind === 'acme') return customAcme;
  if (source.kind === 'host') return true;
  try {
    return hasOcspResponder(parseChain(config.tls.certificates[source.entry].certificatePem ?? '')[0]);
  } catch {
    return false; // reported by checkTls
  }
}

export function acmeDirectoryUrl(directory: string): string {
  return directory in ACME_DIRECTORIES ? ACME_DIRECTORIES[directory as keyof typeof ACME_DIRECTORIES] : directory;
}

/** The TLS part of the topology, for the served `hostnames` (one nginx server each). */
export function deriveTls(config: KytesConfig, s: StackBasics, hostnames: readonly string[]): TlsTopology {
  const tls = config.tls;
  const base = { minValidDays: tls.minValidDays, hsts: tls.hsts ? { maxAge: tls.hstsMaxAge } : undefined };
  if (tls.mode === 'off') return { mode: 'off', certificates: [], ...base };
  const acme = tls.mode === 'acme' && tls.acme ? tls.acme : undefined;
  const directoryUrl = acme ? acmeDirectoryUrl(acme.directory) : '';
  const customAcme = acme !== undefined && !(acme.directory in ACME_DIRECTORIES);
  const certificates = hostnames.map((h) => {
    if (acme) return served(h, { kind: 'acme' }, customAcme);
    const index = entryFor(config, h);
    // A hostname without an entry is refused by checkTls; it gets a path all the same.
    const source =
      index < 0 ? ({ kind: 'host', entry: -1, certificateFile: '', keyFile: '' } as const) : sourceOf(config, index);
    return served(h, source, stapling(config, source, false));
  });
  const needsVolume = acme !== undefined || certificates.some((c) => c.source.kind === 'host');
  return {
    mode: tls.mode,
    certificates,
    ...base,
    volume: needsVolume ? volume(s.prefix, 'tls', TLS_DIR) : undefined,
    acme: acme
      ? {
          email: acme.email,
          directoryUrl,
          custom: customAcme,
          caBundle: acme.caBundle,
          image: acme.image,
          webroot: volume(s.prefix, 'acme-webroot', ACME_WEBROOT),
          configDir: `${TLS_DIR}/letsencrypt`,
        }
      : undefined,
    host: {
      scriptsDir: `/opt/kytes/tls/${s.prefix}`,
      script: `/opt/kytes/tls/${s.prefix}/kytes-tls`,
      cronFile: `/etc/cron.d/kytes-tls-${s.prefix}`,
      // Host files are read again daily; ACME renewals are checked twice a day, as certbot advises.
      schedule: acme?.renewSchedule ?? '23 4 * * *',
      logFile: `/var/log/kytes-tls-${s.prefix}.log`,
    },
  };
}

function isNonPublic(host: string): string | undefined {
  if (isIPv4Literal(host)) return 'an IP address';
  const suffix = NON_PUBLIC_SUFFIXES.find((x) => host === x || host.endsWith(`.${x}`));
  return suffix ? `under .${suffix}, a special-use name` : undefined;
}

/** Cross-field TLS rules: every served hostname has a certificate that works, or can get one. */
export function checkTls(config: KytesConfig, tls: TlsTopology, scheme: 'http' | 'https', now: Date): string[] {
  const problems: string[] = [];
  if (config.tls.hsts && scheme === 'http')
    problems.push('kytes:tls.hsts: true with plain HTTP; browsers ignore HSTS over HTTP: turn TLS on or drop hsts');
  if (config.tls.mode !== 'off' && config.proxy.publicScheme === 'http')
    problems.push(
      `kytes:proxy.publicScheme: http with kytes:tls.mode ${config.tls.mode}; nginx serves HTTPS and redirects HTTP to it: remove publicScheme`,
    );
  const hosts = tls.certificates.map((c) => c.hostname);
  if (config.tls.mode === 'files') problems.push(...checkFiles(config, hosts, now));
  if (tls.acme && !tls.acme.custom) {
    for (const h of hosts) {
      const why = isNonPublic(h);
      if (why)
        problems.push(
          `kytes:tls.mode: acme cannot get a public certificate for ${h} (${why}); use a public DNS name, files mode, or a private ACME server in kytes:tls.acme.directory`,
        );
    }
    if (tls.acme.caBundle !== undefined)
      problems.push(
        "kytes:tls.acme.caBundle: only for a private ACME server; Let's Encrypt is trusted as is: remove it or set kytes:tls.acme.directory",
      );
  }
  return problems;
}

function checkFiles(config: KytesConfig, hosts: readonly string[], now: Date): string[] {
  const problems: string[] = [];
  const certs = config.tls.certificates;
  const claimed = new Map<string, number>();
  certs.forEach((c, i) =>
    (c.hostnames ?? []).forEach((h) => {
      if (!hosts.includes(h))
        problems.push(
          `kytes:tls.certificates[${i}].hostnames: ${h} is not a hostname nginx serves (it serves ${hosts.join(', ')})`,
        );
      const prev = claimed.get(h);
      if (prev !== undefined)
        problems.push(
          `kytes:tls.certificates[${i}].hostnames: ${h} is already served by kytes:tls.certificates[${prev}]; list it once`,
        );
      else claimed.set(h, i);
    }),
  );
  for (const h of hosts) {
    if (entryFor(config, h) < 0)
      problems.push(
        `kytes:tls.certificates: no certificate for ${h}, which nginx serves; add ${h} to the hostnames of an entry`,
      );
  }
  certs.forEach((c, i) => {
    if (c.certificatePem === undefined || c.keyPem === undefined) return;
    const mine = hosts.filter((h) => entryFor(config, h) === i);
    problems.push(
      ...checkCertificate({
        key: `kytes:tls.certificates[${i}]`,
        certificatePem: c.certificatePem,
        keyPem: c.keyPem,
        hostnames: mine,
        minValidDays: config.tls.minValidDays,
        now,
      }),
    );
  });
  return problems;
}
