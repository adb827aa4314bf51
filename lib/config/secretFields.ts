import { BACKUP_ALERT_HOW_TO_SET, backupAlertProblem } from './backup';

/**
 * The config values that are secrets. Pulumi marks a whole top-level key secret when any value in
 * it was set with `--secret` (`pulumi config set --secret --path kytes:smtp.password …` makes all of
 * `kytes:smtp` secret to the program), so this list says which key paths hold the secrets:
 *
 * - a key listed here must be set with `--secret` (a password in plain text in the stack file is
 *   refused), is kept out of the plain config object, and reaches the program only as a Pulumi
 *   secret Output (`secretValues`), so it stays encrypted in every resource input and in state;
 * - any other key set with `--secret` is refused: its values become names, paths, ports and
 *   command text, which Pulumi cannot keep secret (resource names and URNs are never encrypted)
 *   and which an operator must be able to read in a diff. Wrapping them would hide the diff and
 *   still leak them into names, so Kytes asks for them in plain text instead.
 *
 * To add a secret (an SMTP password, a webhook URL, a TLS key), add its path here; its top-level
 * key may then be marked secret, and error messages show "a secret value" for anything under it.
 */
export interface SecretField {
  /** Key path under `kytes:`: a top-level key (`masterSecret`) or a dotted path (`smtp.password`). */
  readonly path: string;
  /** Refuse the stack when it is missing. */
  readonly required: boolean;
  /** Fewest characters accepted. */
  readonly minLength: number;
  /** How to set it, for error messages. */
  readonly howToSet: string;
  /** What else the value must be, when it is not (a description of what is allowed, never the value). */
  readonly problem?: (value: string) => string | undefined;
}

export const SECRET_FIELDS: readonly SecretField[] = [
  {
    path: 'masterSecret',
    required: true,
    minLength: 32,
    howToSet: 'set it with `pulumi config set --secret kytes:masterSecret "$(openssl rand -base64 48)"`',
  },
  {
    // Required together with kytes:smtp.user; that pairing is checked by smtpPasswordProblems.
    path: 'smtp.password',
    required: false,
    minLength: 1,
    howToSet: 'set it with `npm run pulumi -- config set --path --secret kytes:smtp.password`',
  },
  {
    path: 'backup.alert',
    required: false,
    minLength: 1,
    howToSet: BACKUP_ALERT_HOW_TO_SET,
    problem: backupAlertProblem,
  },
];

/** The secret-valued keys, by name, for code that reads one of them. */
export const SECRET_KEYS = {
  masterSecret: 'masterSecret',
  smtpPassword: 'smtp.password',
  backupAlert: 'backup.alert',
} as const;

/**
 * Sections whose own schema says which leaves are secrets and which keep them in the parsed config,
 * because checking them needs their text: `kytes:tls` (each `certificates[].keyPem`, checked against
 * its certificate before anything is created; `parse.ts` refuses a key not set with `--secret`). Such a
 * section may be marked secret, its values are never shown in an error, and the program reads the
 * secret leaves through Pulumi's secret-aware API only (`lib/load.ts`), never from the parsed config.
 */
export const SECRET_SECTIONS: readonly string[] = ['tls'];

/** Whether top-level key `key` may be marked secret: it is, or holds, a secret field. */
export function mayBeSecret(key: string): boolean {
  return SECRET_SECTIONS.includes(key) || SECRET_FIELDS.some((f) => f.path === key || f.path.startsWith(`${key}.`));
}
