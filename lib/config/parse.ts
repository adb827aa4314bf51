import { z } from 'zod';
import { configSchema, KytesConfig } from './schema';

/** The secret-valued keys. They are read through Pulumi's secret-aware API and never enter the schema above. */
export const SECRET_KEYS = {
  masterSecret: 'masterSecret',
} as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid Kytes configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/**
 * Renders a config value for an error message without flooding it. Values under a key set with
 * `--secret` (`kytes:tls` holding private keys) and anything holding PEM text are never shown.
 */
function showValue(value: unknown, secret = false): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  if (secret) return 'a secret value (not shown)';
  if (s.includes('-----BEGIN')) return 'PEM text (not shown)';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function keyPath(path: readonly PropertyKey[]): string {
  let out = 'kytes:';
  path.forEach((p, i) => {
    if (typeof p === 'number') out += `[${p}]`;
    else out += i === 0 ? String(p) : `.${String(p)}`;
  });
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, isSecret: (key: string) => boolean): string {
  const path = keyPath(issue.path);
  const secret = issue.path.length > 0 && isSecret(`kytes:${String(issue.path[0])}`);
  const show = (value: unknown) => showValue(value, secret);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map(
        (k) =>
          `${keyPath([...issue.path, k])}: received ${show(valueAt(raw, [...issue.path, k]))}; allowed: no such key (check its spelling in the README's config reference)`,
      )
      .join('\n  - ');
  }
  if (issue.code === 'invalid_type') {
    return `${path}: received ${show(valueAt(raw, issue.path))}; allowed: ${issue.message.startsWith('Invalid input') ? issue.expected : issue.message}`;
  }
  return `${path}: received ${show(valueAt(raw, issue.path))}; allowed: ${issue.message}`;
}

/**
 * Turns Pulumi's flat `kytes:<key>` map (objects arrive as JSON strings) into one object and validates
 * it. Throws one {@link ConfigError} listing every problem; returns the typed, defaulted config.
 * Secret keys are ignored here: see {@link SECRET_KEYS}.
 */
export function parseConfig(all: Record<string, string>, isSecret: (key: string) => boolean): KytesConfig {
  const raw: Record<string, unknown> = {};
  const problems: string[] = secretProblems(all, isSecret);
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith('kytes:')) continue;
    const key = fullKey.slice('kytes:'.length);
    if (Object.values(SECRET_KEYS).includes(key as never)) continue;
    raw[key] = decode(value);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    problems.push(...result.error.issues.map((i) => describeIssue(i, raw, isSecret)));
  }
  if (result.success) problems.push(...tlsSecretProblems(result.data, isSecret));
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data as KytesConfig;
}

/** The master secret is checked for presence and strength only; its value is never shown. */
function secretProblems(all: Record<string, string>, isSecret: (key: string) => boolean): string[] {
  const key = `kytes:${SECRET_KEYS.masterSecret}`;
  const value = all[key];
  const set = 'set it with `pulumi config set --secret kytes:masterSecret "$(openssl rand -base64 48)"`';
  if (value === undefined) return [`${key}: received nothing; allowed: a secret of at least 32 characters (${set})`];
  if (!isSecret(key)) return [`${key}: received a plain-text value; allowed: a secret only (${set})`];
  if (value.length < 32)
    return [`${key}: received a secret of ${value.length} characters; allowed: at least 32 (${set})`];
  return [];
}

/** A private key in `kytes:tls` must come from a `--secret` value, so that Pulumi keeps it encrypted. */
function tlsSecretProblems(config: KytesConfig, isSecret: (key: string) => boolean): string[] {
  if (isSecret('kytes:tls')) return [];
  return config.tls.certificates.flatMap((c, i) =>
    c.keyPem === undefined
      ? []
      : [
          `kytes:tls.certificates[${i}].keyPem: received a plain-text value; allowed: a secret only (set it with \`pulumi config set --secret --path 'kytes:tls.certificates[${i}].keyPem' < key.pem\`)`,
        ],
  );
}

/** Pulumi hands structured values as JSON text and scalars as plain text. */
function decode(value: string): unknown {
  const t = value.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t);
    } catch {
      return value;
    }
  }
  return value;
}
