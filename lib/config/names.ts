import { domainToASCII } from 'url';
import { isIPv4Literal } from './net';

// The tz database as JSON (zones and links), kept current by its maintainers; no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tzdata = require('tzdata') as { version: string; zones: Record<string, unknown> };

/** A DNS label: what Docker accepts as a container-name part and what nginx accepts in a hostname. */
export const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A lower-case fully qualified name made of DNS labels (`gitlab.kytes.io`, `kytes.localhost`). */
export const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
/**
 * The kernel's limit on a host name (`HOST_NAME_MAX`, checked by sethostname(2)); a container given
 * a longer `hostname` does not start.
 */
export const HOST_NAME_MAX = 64;

/** Why `s` is not a public hostname; undefined when it is. */
export function hostnameProblem(s: string): string | undefined {
  if (!HOSTNAME.test(s)) return 'a lower-case DNS name with at least one dot, such as gitlab.example.com';
  const labels = s.split('.');
  if (isIPv4Literal(s) || /^\d+$/.test(labels[labels.length - 1])) {
    return 'a DNS name, not an IP address (its last label must not be all digits)';
  }
  // An A-label must decode (IDNA): browsers, certificate authorities and URL parsers (Rocket.Chat's
  // ROOT_URL) refuse `xn--0`; Node's domainToASCII returns '' for it.
  if (labels.some((l) => l.startsWith('xn--') && domainToASCII(l) !== l)) {
    return 'a DNS name whose xn-- labels are valid punycode (IDNA), such as xn--bcher-kva.example: write the name as its registrar shows it in ASCII';
  }
  return undefined;
}

/**
 * Names of the tz database (zones and links) as the `tzdata` package ships them; containers read TZ
 * from their own copy of the same database, where names are case-sensitive files.
 */
const TZ_NAMES: ReadonlySet<string> = new Set(Object.keys(tzdata.zones));

/** Why `tz` is not a time zone of the tz database; undefined when it is. */
export function timeZoneProblem(tz: string): string | undefined {
  if (TZ_NAMES.has(tz)) return undefined;
  const lower = tz.toLowerCase();
  const near = [...TZ_NAMES].find((n) => n.toLowerCase() === lower);
  return near
    ? `a tz database name spelt exactly: ${near}`
    : 'a tz database name such as UTC or Europe/Paris (not an offset such as +05:00)';
}

export function isTimeZone(tz: string): boolean {
  return timeZoneProblem(tz) === undefined;
}
