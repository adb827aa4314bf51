import { z } from 'zod';

/** A mail host: a DNS name (a single label is allowed, e.g. a relay container's alias) or an IPv4 address. */
const MAIL_HOST =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** A plain address: no display name, quotes, spaces or line breaks (those would reach mail headers). */
const EMAIL =
  /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** Printable ASCII without spaces. */
const CREDENTIAL = /^[\x21-\x7e]{1,256}$/;
/** Rocket.Chat turns an `OVERWRITE_SETTING_*` value of "true"/"false" into a boolean, whatever the setting. */
const BOOLEAN_WORD = /^(true|false)$/i;

export const SMTP_TLS_MODES = ['starttls', 'tls', 'none'] as const;
export type SmtpTlsMode = (typeof SMTP_TLS_MODES)[number];

/** The well-known submission port of each mode, used when `kytes:smtp.port` is not set. */
export const SMTP_DEFAULT_PORT: Readonly<Record<SmtpTlsMode, number>> = { starttls: 587, tls: 465, none: 25 };

const email = (what: string) => z.string().regex(EMAIL, { error: `a plain e-mail address such as ${what}` });

/**
 * `kytes:smtp`: outgoing mail for GitLab and Rocket.Chat. Absent: mail is off. The password is not in this
 * schema: it is a secret leaf (`kytes:smtp.password`), checked by {@link smtpPasswordProblems} without ever
 * being shown, and read by the program through Pulumi's secret-aware API.
 */
export const smtpSection = z
  .strictObject({
    host: z
      .string()
      .regex(MAIL_HOST, { error: 'a DNS name or IPv4 address such as smtp.example.com' })
      .describe('SMTP server (DNS name or IPv4 address).'),
    port: z
      .number({ error: 'a whole number from 1 to 65535' })
      .int({ error: 'a whole number from 1 to 65535' })
      .min(1, { error: 'a whole number from 1 to 65535' })
      .max(65535, { error: 'a whole number from 1 to 65535' })
      .optional()
      .describe('SMTP port. Default: 587 for `starttls`, 465 for `tls`, 25 for `none`.'),
    tls: z
      .enum(SMTP_TLS_MODES, { error: 'one of starttls, tls, none' })
      .default('starttls')
      .describe(
        '`starttls`: upgraded with STARTTLS when the server offers it (neither GitLab nor Rocket.Chat can insist on it); `tls`: TLS from the first byte (SMTPS); `none`: never encrypted. Certificates are verified. Default `starttls`.',
      ),
    user: z
      .string()
      .regex(CREDENTIAL, { error: 'printable characters without spaces, at most 256' })
      .refine((v) => !BOOLEAN_WORD.test(v), { error: 'not "true" or "false" (Rocket.Chat reads them as booleans)' })
      .optional()
      .describe('SMTP user name. Default none (no authentication); set it together with `kytes:smtp.password`.'),
    authentication: z
      .enum(['login', 'plain', 'cram_md5'], { error: 'one of login, plain, cram_md5' })
      .default('login')
      .describe(
        'SMTP AUTH mechanism GitLab uses when `user` is set (Rocket.Chat negotiates its own). Default `login`.',
      ),
    from: email('gitlab@example.com').describe('Sender address of every mail.'),
    replyTo: email('noreply@example.com')
      .optional()
      .describe(
        "Reply-To of GitLab's mails. Default GitLab's own (`noreply@<hostname>`); Rocket.Chat has no such setting.",
      ),
  })
  .optional()
  .describe('Outgoing mail (password resets, notifications) for GitLab and Rocket.Chat. Default none: mail is off.');

/** The secret leaf of `kytes:smtp`; its config reference row (the schema never holds it). */
export const SMTP_PASSWORD_KEY = 'kytes:smtp.password';
export const SMTP_PASSWORD_REFERENCE =
  '| `kytes:smtp.password` | secret string | SMTP password, required with `user`. Set with `npm run pulumi -- config set --path --secret kytes:smtp.password` (prompts for it); GitLab and Rocket.Chat receive it in a secret environment variable. |';
const SET_PASSWORD = 'set it with `npm run pulumi -- config set --path --secret kytes:smtp.password`';

/**
 * The rules of `kytes:smtp.password` beyond being a secret (lib/config/secretFields.ts): set exactly
 * when `user` is, and a value both GitLab and Rocket.Chat read back unchanged. `smtp` is the raw
 * `kytes:smtp` object, `password` the secret taken out of it before the schema saw it. Problems never
 * show the value.
 */
export function smtpPasswordProblems(smtp: unknown, password: unknown): string[] {
  if (smtp === null || typeof smtp !== 'object') return [];
  const hasUser = (smtp as Record<string, unknown>).user !== undefined;
  if (password === undefined) {
    return hasUser
      ? [`${SMTP_PASSWORD_KEY}: received nothing; allowed: a secret, since kytes:smtp.user is set (${SET_PASSWORD})`]
      : [];
  }
  if (!hasUser) return [`${SMTP_PASSWORD_KEY}: received a secret; allowed: only together with kytes:smtp.user`];
  // Presence, secrecy, type and emptiness are the secret-field rules (lib/config/secretFields.ts), control
  // characters the rule of every config string (lib/config/parse.ts).
  if (typeof password !== 'string' || password.length === 0) return [];
  if (password.length > 256) {
    return [`${SMTP_PASSWORD_KEY}: received a secret of ${password.length} characters; allowed: at most 256`];
  }
  if (BOOLEAN_WORD.test(password)) {
    return [
      `${SMTP_PASSWORD_KEY}: received a secret that reads as a boolean; allowed: anything but "true" or "false" (Rocket.Chat converts those)`,
    ];
  }
  return [];
}
