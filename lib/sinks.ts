/* eslint-disable no-control-regex -- matching control characters is what these validators are for */
/**
 * One quoting or validation function per sink: every value Kytes writes into a shell script, a cron
 * file, nginx.conf, gitlab.rb, SQL, mongosh code or a command line goes through the function of that
 * sink, here, and nowhere else. A function either quotes (any string lands as one literal value) or
 * validates (the value matches a grammar that cannot carry syntax there) and throws {@link SinkError}
 * otherwise. Config validation (`lib/config`) refuses hostile values earlier, with the key's name;
 * these functions are the last line, so that a value that slipped through fails loudly instead of
 * being interpreted. Tested with hostile input in test/sinks.test.ts and test/hostile.test.ts.
 */

export class SinkError extends Error {
  /** `value` null: it may be a secret, and the message names it (`what`) without showing it. */
  constructor(sink: string, what: string, value: string | null, allowed: string) {
    const shown = value === null ? '(not shown: it may be a secret)' : JSON.stringify(value);
    super(`${sink}: ${what} ${shown} cannot be written there; allowed: ${allowed}`);
    this.name = 'SinkError';
  }
}

/** C0 and C1 controls, DEL, line/paragraph separators and bidi overrides: never meaningful in config. */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function check(sink: string, what: string, value: string, grammar: RegExp, allowed: string): string {
  if (typeof value !== 'string' || !grammar.test(value)) throw new SinkError(sink, what, String(value), allowed);
  return value;
}

// --- shell (bash -c strings, ops scripts, delete hooks) -------------------------------------------

/**
 * A bash word that reads back as exactly `value`: single-quoted, each `'` written as `'\''`. Inside
 * single quotes bash interprets nothing (`$`, backquotes, `\`, `!`, newlines are literal), so any
 * string without NUL (which no C string can hold) is one word.
 */
export function shellWord(value: string): string {
  if (typeof value !== 'string' || value.includes('\0')) {
    throw new SinkError('shell', 'value', String(value), 'any text without a NUL byte');
  }
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Text for a `#` comment line of a script or cron file: one line, printable. */
export function commentText(value: string): string {
  return check('comment', 'text', value, /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/, 'one printable line');
}

// --- cron (/etc/cron.d files) --------------------------------------------------------------------

/**
 * A word of the command field of a cron line. cron turns an unescaped `%` into a newline (and what
 * follows into stdin) before the shell sees the line, and `\%` into `%`; the line itself cannot hold
 * a newline. So: refuse line breaks, quote for the shell, then escape `%` for cron.
 */
export function cronCommandWord(value: string): string {
  if (/[\r\n]/.test(value)) throw new SinkError('cron', 'command word', value, 'one line');
  return shellWord(value).replace(/%/g, '\\%');
}

/** `NAME=value` line of a cron file: cron reads it up to the end of the line, quotes included. */
export function cronEnvLine(name: string, value: string): string {
  check('cron', 'variable name', name, /^[A-Z_][A-Z0-9_]*$/, 'an upper-case variable name');
  check('cron', `${name} value`, value, /^[A-Za-z0-9_+\-./:@]+$/, 'letters, digits and _ + - . / : @');
  return `${name}=${value}`;
}

/** The five time fields of a cron line: validated in meaning by `lib/config/cron.ts`, here in shape. */
export function cronTimeFields(expr: string): string {
  return check(
    'cron',
    'schedule',
    expr,
    /^[0-9A-Za-z*,/-]+( [0-9A-Za-z*,/-]+){4}$/,
    'five fields of digits, names, * , / -',
  );
}

// --- nginx.conf ----------------------------------------------------------------------------------

/**
 * A bare nginx token (server name, host:port, size, address). nginx has quoting, but `$` expands
 * inside quotes in many directives, so values are validated instead: no whitespace, `;`, `{`, `}`,
 * `#`, quotes, `\` or `$` can appear.
 */
export function nginxWord(value: string): string {
  return check('nginx', 'token', value, /^[A-Za-z0-9._:/-]+$/, 'letters, digits and . _ : / -');
}

/** An nginx variable reference such as `$upstream_gitlab_main`. */
export function nginxVariable(value: string): string {
  return check('nginx', 'variable', value, /^\$[a-z_][a-z0-9_]*$/, '$ then lower-case letters, digits and _');
}

// --- Ruby (gitlab.rb, GITLAB_OMNIBUS_CONFIG) -----------------------------------------------------

/**
 * A single-quoted Ruby string literal: only `\\` and `\'` are escapes there, nothing interpolates.
 * Ruby reads a CR LF in source as LF, and single quotes have no escape for CR: CR is refused.
 */
export function rubyString(value: string): string {
  if (typeof value !== 'string' || /[\0\r]/.test(value)) {
    throw new SinkError('ruby', 'string', String(value), 'any text without NUL or carriage return');
  }
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** An integer literal for Ruby or any other sink: a safe integer written in decimal. */
export function integerLiteral(value: number): string {
  if (!Number.isSafeInteger(value)) throw new SinkError('integer', 'value', String(value), 'a whole number');
  return String(value);
}

// --- SQL and psql (postgres-setup.sql) -----------------------------------------------------------

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 = 63 bytes, silently: refuse longer ones. */
export const PG_IDENTIFIER_MAX_BYTES = 63;

/** A double-quoted SQL identifier, `"` doubled. Refused above 63 bytes (PostgreSQL would truncate it). */
export function sqlIdentifier(value: string): string {
  if (typeof value !== 'string' || value.includes('\0') || Buffer.byteLength(value) > PG_IDENTIFIER_MAX_BYTES) {
    throw new SinkError('sql', 'identifier', String(value), `at most ${PG_IDENTIFIER_MAX_BYTES} bytes, no NUL`);
  }
  return `"${value.replace(/"/g, '""')}"`;
}

/** A single-quoted SQL string literal, `'` doubled (standard_conforming_strings: `\` is literal). */
export function sqlLiteral(value: string): string {
  if (typeof value !== 'string' || value.includes('\0')) {
    throw new SinkError('sql', 'literal', String(value), 'any text without a NUL byte');
  }
  return `'${value.replace(/'/g, "''")}'`;
}

/** A name psql reads in meta-commands (`\getenv name VAR`, `:'name'`) and in comments: a plain word. */
export function psqlName(value: string): string {
  return check('psql', 'name', value, /^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _, not first a digit');
}

// --- JavaScript (mongosh code, node -e) ----------------------------------------------------------

/** A JavaScript literal for any JSON value; U+2028/U+2029 escaped too, for older parsers. */
export function jsLiteral(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new SinkError('javascript', 'value', String(value), 'a JSON value');
  return json.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

// --- command lines (ssh, rsync, mongod argv) -----------------------------------------------------

/**
 * An operand of a command line (a host, a target, an option's separate value): it must not start
 * with `-`, or the program reads it as an option (`-oProxyCommand=…`).
 */
export function argvOperand(value: string, what: string): string {
  return check('command line', what, value, /^[^-\u0000][^\u0000]*$/, 'text that does not start with "-"');
}

// --- container environment ----------------------------------------------------------------------

/**
 * The `NAME=value` entry of a container's environment: the value may be anything but NUL, which the
 * kernel's envp cannot carry (Docker would cut it there). Many values are secrets: the error names the
 * variable, never the value.
 */
export function envEntry(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new SinkError('environment', 'variable name', name, 'a shell-style name');
  if (typeof value !== 'string' || value.includes('\0'))
    throw new SinkError('environment', `the value of ${name}`, null, 'any text without a NUL byte');
  return `${name}=${value}`;
}

// --- curl config files (curl --config) ------------------------------------------------------------

/**
 * A double-quoted value of a curl config file (`url = "…"`): curl reads `\\` and `\"` as escapes there,
 * so both are escaped; a line break or other control character could start another option, so it is
 * refused. The value is usually a secret (a webhook URL holds its token): the error never shows it.
 */
export function curlConfigString(value: string): string {
  if (typeof value !== 'string' || CONTROL_CHARS.test(value))
    throw new SinkError('curl config', 'a value', null, 'one line without control characters');
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
