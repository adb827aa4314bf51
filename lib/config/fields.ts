import { z } from 'zod';

export { isCron, cronProblem } from './cron';
export { DNS_LABEL, HOSTNAME, HOST_NAME_MAX, hostnameProblem, isTimeZone, timeZoneProblem } from './names';
export { bindAddressProblem, isIPv4Literal, subnetProblem } from './net';
import { hostnameProblem } from './names';
import { bindAddressProblem } from './net';

/** Field types shared by the config sections: each says what it accepts in its error message. */

/** repository[:tag][@sha256:digest]; the pin rule (tag or digest, never `latest`) is checked separately. */
const IMAGE_REF =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export const port = (what: string) =>
  z
    .number({ error: `a whole number from 1 to 65535 (${what})` })
    .int({ error: `a whole number from 1 to 65535 (${what})` })
    .min(1, { error: `a whole number from 1 to 65535 (${what})` })
    .max(65535, { error: `a whole number from 1 to 65535 (${what})` });

/** A string checked by a function that says what is wrong with it (undefined: nothing). */
export function checked(problem: (s: string) => string | undefined) {
  return z.string().superRefine((s, ctx) => {
    const p = problem(s);
    if (p !== undefined) ctx.addIssue({ code: 'custom', message: p });
  });
}

export const hostname = checked(hostnameProblem);
export const bindAddress = checked(bindAddressProblem);

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
