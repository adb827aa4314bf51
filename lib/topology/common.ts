import { PublishedPort, Volume } from './types';

export function externalUrl(scheme: 'http' | 'https', host: string, port: number): string {
  const defaultPort = scheme === 'https' ? 443 : 80;
  return `${scheme}://${host}${port === defaultPort ? '' : `:${port}`}`;
}

export function volume(prefix: string, what: string, containerPath: string): Volume {
  return { name: `${prefix}-${what}`, containerPath };
}

/** Bind addresses overlap when they are equal or either is the wildcard. */
export function overlaps(a: PublishedPort, b: PublishedPort): boolean {
  return (
    a.port === b.port && (a.bindAddress === b.bindAddress || a.bindAddress === '0.0.0.0' || b.bindAddress === '0.0.0.0')
  );
}

/**
 * A /24 in 172.16.0.0/16 picked by the prefix, so two stacks on one host rarely collide; set
 * `kytes:network.subnet` when they do (Docker then says "Pool overlaps with other one on this address
 * space"). 172.16.0.0/16 is private and outside Docker's default address pools (172.17–31, 192.168),
 * which Docker hands to networks created without a subnet.
 */
export function defaultSubnet(prefix: string): string {
  let h = 0;
  for (const ch of prefix) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `172.16.${h % 256}.0/24`;
}

/** What every per-service derivation reads besides the config. */
export interface StackBasics {
  readonly prefix: string;
  readonly domain: string;
  readonly scheme: 'http' | 'https';
  /** Port users see in URLs. */
  readonly publicPort: number;
}
