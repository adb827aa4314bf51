import { z } from 'zod';

/** Field types shared by the config sections: each says what it accepts in its error message. */

/** A DNS label: what Docker accepts as a container-name part and what nginx accepts in a hostname. */
export const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A lower-case fully qualified name made of DNS labels (`gitlab.kytes.io`, `kytes.localhost`). */
export const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
export const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** repository[:tag][@sha256:digest]; the pin rule (tag or digest, never `latest`) is checked separately. */
const IMAGE_REF =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
/** Five-field cron: minute hour day-of-month month day-of-week. */
const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;

export const port = (what: string) =>
  z
    .number({ error: `a whole number from 1 to 65535 (${what})` })
    .int({ error: `a whole number from 1 to 65535 (${what})` })
    .min(1, { error: `a whole number from 1 to 65535 (${what})` })
    .max(65535, { error: `a whole number from 1 to 65535 (${what})` });

export const hostname = z.string().regex(HOSTNAME, {
  error: 'a lower-case DNS name with at least one dot, such as gitlab.example.com',
});

export const bindAddress = z.string().regex(IPV4, { error: 'an IPv4 address such as 127.0.0.1 or 0.0.0.0' });

/** An image reference pinned by tag or digest; `latest` and missing tags are refused. */
export function isPinnedImage(ref: string): boolean {
  if (!IMAGE_REF.test(ref)) return false;
  if (ref.includes('@sha256:')) return true;
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return false;
  return lastSegment.slice(colon + 1) !== 'latest';
}

export const image = (defaultRef: string) =>
  z
    .string()
    .refine(isPinnedImage, {
      error: 'an image pinned by tag or digest, such as postgres:17.6-bookworm (never latest, never untagged)',
    })
    .default(defaultRef)
    .describe(`Image reference, pinned. Default \`${defaultRef}\`.`);

export function isCron(expr: string): boolean {
  const fields = expr.trim().split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz.length > 0;
  } catch {
    return false;
  }
}
