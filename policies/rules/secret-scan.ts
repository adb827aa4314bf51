/**
 * Recognises secret-looking names and inline secret values in free text (env values, labels, command
 * strings). It reports names and option flags, never values: a policy message ends up in logs.
 */

/** Words that make a name secret-looking, compared with whole words of the name. */
const SECRET_WORDS = new Set([
  'PASSWORD',
  'PASSWORDS',
  'PASSWD',
  'PASS',
  'PASSPHRASE',
  'SECRET',
  'SECRETS',
  'TOKEN',
  'TOKENS',
  'KEY',
  'KEYS',
  'APIKEY',
  'CREDENTIAL',
  'CREDENTIALS',
  'REQUIREPASS',
  'MASTERAUTH',
]);

/** Run-together names end with a secret word: `PGPASSWORD`, `AUTHTOKEN`, `CLIENTSECRET`. */
const SECRET_ENDINGS = /(PASSWORD|PASSWD|SECRET|TOKEN|APIKEY)$/;

/**
 * Words that make a name point at a secret or describe one instead of holding it
 * (`POSTGRES_PASSWORD_FILE`, `--keyFile`, `TOKEN_URL`, `PASSWORD_MIN_LENGTH`, `SSH_PUBLIC_KEY`).
 */
const REFERENCE_WORDS = new Set([
  'FILE',
  'FILES',
  'FILENAME',
  'PATH',
  'DIR',
  'KEYFILE',
  'PASSFILE',
  'PUBLIC',
  'URL',
  'URI',
  'ENDPOINT',
  'LENGTH',
  'ID',
  'NAME',
]);

/** Whole names that hold a secret although none of their words says so. */
const SECRET_NAMES = new Set(['REDISCLI_AUTH']);

/** `MONGO_INITDB_ROOT_PASSWORD` → MONGO, INITDB, ROOT, PASSWORD; `dbPassword` → DB, PASSWORD. */
export function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toUpperCase());
}

export function looksSecret(name: string): boolean {
  const words = wordsOf(name);
  if (words.some((w) => REFERENCE_WORDS.has(w))) return false;
  return SECRET_NAMES.has(words.join('_')) || words.some((w) => SECRET_WORDS.has(w) || SECRET_ENDINGS.test(w));
}

const NOT_SECRETS = new Set(['true', 'false', 'yes', 'no', 'on', 'off', 'null', 'none', 'nil']);

/** A value written out in full, as opposed to a `$VAR`/`$(…)` reference, an option, or nothing. */
export function isLiteral(raw: string): boolean {
  const quoted = /^(['"])(.*)\1$/s.exec(raw);
  const value = (quoted ? quoted[2] : raw).trim();
  return value !== '' && !value.startsWith('$') && !value.startsWith('-') && !NOT_SECRETS.has(value.toLowerCase());
}

export type Finding =
  | { readonly kind: 'assignment'; readonly key: string }
  | { readonly kind: 'option'; readonly key: string }
  | { readonly kind: 'url' };

export function describe(finding: Finding): string {
  switch (finding.kind) {
    case 'assignment':
      return `sets ${finding.key} to an inline value`;
    case 'option':
      return `passes ${finding.key} an inline value`;
    case 'url':
      return 'holds a URL with an inline password';
  }
}

/** A shell word: quoted parts and bare characters up to a separator. */
const WORD = `((?:"[^"]*"|'[^']*'|[^\\s;&|)\`"'])+)`;

/** `PGPASSWORD=x cmd`, `export TOKEN=x`. */
const SHELL_ASSIGNMENT = new RegExp(`(?:^|[\\s;&|(\`])([A-Za-z_][A-Za-z0-9_]*)=${WORD}`, 'g');
/** `gitlab_rails['db_password'] = 'x'`, `"password": "x"`, `password => "x"`: quoted literals only. */
const CONFIG_ASSIGNMENT = /(?<![-A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_.-]*)['"]?\]?\s*(?:=>|=|:)\s*(['"])([^'"\n]*)\2/g;
/** `--password x`, `--requirepass=x`. */
const LONG_OPTION = new RegExp(`(?:^|[\\s'"])(--[A-Za-z][A-Za-z0-9-]*)(?:=|\\s+)${WORD}`, 'g');
/** Short flags that take a password only for these clients: `mongosh -u root -p x`, `redis-cli -a x`. */
const CLIENT_FLAGS: readonly { readonly pattern: RegExp; readonly key: (client: string) => string }[] = [
  {
    pattern: new RegExp(
      `\\b(mongosh|mongo|mongodump|mongorestore|mongoexport|mongoimport|mongofiles|mongostat|mongotop)\\b[^\\n;&|]*?\\s-p\\s+${WORD}`,
      'g',
    ),
    key: (client) => `-p of ${client}`,
  },
  {
    pattern: new RegExp(`\\b(redis-cli)\\b[^\\n;&|]*?\\s-a\\s+${WORD}`, 'g'),
    key: (client) => `-a of ${client}`,
  },
];
/** `mongodb://user:pass@host`, `redis://:pass@host`. */
const URL_CREDENTIALS = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:'"]*:([^\s/@'"]+)@/g;

/** Every inline secret in `text`, in order of kind, each key once. */
export function findInlineSecrets(text: string): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const add = (finding: Finding) => {
    const id = finding.kind === 'url' ? 'url' : `${finding.kind}:${finding.key}`;
    if (!seen.has(id)) {
      seen.add(id);
      findings.push(finding);
    }
  };
  for (const m of text.matchAll(SHELL_ASSIGNMENT)) {
    if (looksSecret(m[1]) && isLiteral(m[2])) add({ kind: 'assignment', key: m[1] });
  }
  for (const m of text.matchAll(CONFIG_ASSIGNMENT)) {
    if (looksSecret(m[1]) && isLiteral(m[3])) add({ kind: 'assignment', key: m[1] });
  }
  for (const m of text.matchAll(LONG_OPTION)) {
    if (looksSecret(m[1]) && isLiteral(m[2])) add({ kind: 'option', key: m[1] });
  }
  for (const flag of CLIENT_FLAGS) {
    for (const m of text.matchAll(flag.pattern)) {
      if (isLiteral(m[2])) add({ kind: 'option', key: flag.key(m[1]) });
    }
  }
  for (const m of text.matchAll(URL_CREDENTIALS)) {
    if (isLiteral(m[1])) add({ kind: 'url' });
  }
  return findings;
}
