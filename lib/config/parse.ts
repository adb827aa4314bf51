import * as pulumi from '@pulumi/pulumi';
import { distance } from 'fastest-levenshtein';
import { z } from 'zod';
import { CONTROL_CHARS } from '../sinks';
import { configSchema, KytesConfig } from './schema';
import { mayBeSecret, SECRET_FIELDS, SECRET_KEYS } from './secretFields';
import { smtpPasswordProblems } from './smtp';

export { SECRET_FIELDS, SECRET_KEYS, mayBeSecret } from './secretFields';

const NAMESPACE = 'kytes';

/**
 * Every problem of a stack's config, at once. A {@link pulumi.RunError}: Pulumi prints its message
 * and nothing else (no "unhandled exception", no stack trace) and stops with zero resources.
 */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      `Invalid Kytes configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** What an error message shows of a value: a secret is never shown. */
function show(value: unknown, secret: boolean): string {
  if (value === undefined) return 'nothing';
  if (secret) return 'a secret value';
  const s = JSON.stringify(value);
  // A certificate is not secret, but a key pasted into the wrong field would be: PEM is never shown.
  if (s.includes('-----BEGIN')) return 'PEM text (not shown)';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function keyPath(path: readonly PropertyKey[]): string {
  let out = `${NAMESPACE}:`;
  path.forEach((p, i) => {
    if (typeof p === 'number') out += `[${p}]`;
    else out += i === 0 ? String(p) : `.${String(p)}`;
  });
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** Keys that reach an object's prototype or constructor when assigned. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Parsing state: the raw values (null-prototype objects only) and which top-level keys are secret. */
interface Raw {
  readonly values: Record<string, unknown>;
  readonly secretKeys: ReadonlySet<string>;
}

function describeIssue(issue: z.core.$ZodIssue, raw: Raw): string {
  const path = keyPath(issue.path);
  const secret = raw.secretKeys.has(String(issue.path[0]));
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((k) => {
        const value = show(valueAt(raw.values, [...issue.path, k]), secret);
        return `${keyPath([...issue.path, k])}: received ${value}; allowed: no such key (check its spelling in the README's config reference)`;
      })
      .join('\n  - ');
  }
  const received = show(valueAt(raw.values, issue.path), secret);
  if (issue.code === 'invalid_type') {
    return `${path}: received ${received}; allowed: ${issue.message.startsWith('Invalid input') ? issue.expected : issue.message}`;
  }
  return `${path}: received ${received}; allowed: ${issue.message}`;
}

/**
 * A copy of a decoded JSON value made of null-prototype objects, with every prototype-like key and
 * every string holding a control character reported (and left out) instead of copied.
 */
/**
 * The only multi-line values: PEM text in `kytes:tls` (certificate chains, keys, a CA bundle), whose
 * lines end with LF (or CRLF, as pasted from some editors). Their other characters follow the rule of
 * every string, and the section's schema checks they are PEM.
 */
const MULTILINE = /^tls\.(certificates\.\d+\.(certificatePem|keyPem)|acme\.caBundle)$/;

function sanitize(value: unknown, path: PropertyKey[], secret: boolean, problems: string[]): unknown {
  if (typeof value === 'string') {
    const text = MULTILINE.test(path.map(String).join('.')) ? value.replace(/\r?\n/g, '') : value;
    if (CONTROL_CHARS.test(text)) {
      problems.push(
        `${keyPath(path)}: received ${show(value, secret)}; allowed: text without control characters (NUL, newline, tab, escape, bidi overrides)`,
      );
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => sanitize(v, [...path, i], secret, problems));
  if (value !== null && typeof value === 'object') {
    const out = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) {
      if (PROTOTYPE_KEYS.has(k) || CONTROL_CHARS.test(k)) {
        problems.push(
          `${keyPath([...path, k])}: allowed: no such key (a prototype-like or unprintable key is never read)`,
        );
        continue;
      }
      out[k] = sanitize(v, [...path, k], secret, problems);
    }
    return out;
  }
  return value;
}

/** The section names of the schema: a dotted key whose first part is one of them lacked `--path`. */
const SECTIONS = new Set(Object.keys(configSchema.shape));

/** A namespace one or two edits from `kytes` (or differing in case) is a typo of it. */
function nearMiss(namespace: string): boolean {
  return namespace !== NAMESPACE && distance(namespace.toLowerCase(), NAMESPACE) <= 2;
}

/** Reads the flat `namespace:key` map into raw values, reporting keys that cannot be right. */
function collect(all: Record<string, string>, isSecret: (key: string) => boolean, problems: string[]): Raw {
  const values = Object.create(null) as Record<string, unknown>;
  const secretKeys = new Set<string>();
  for (const fullKey of Object.keys(all).sort()) {
    const colon = fullKey.indexOf(':');
    const namespace = colon < 0 ? '' : fullKey.slice(0, colon);
    const key = fullKey.slice(colon + 1);
    const secret = isSecret(fullKey);
    if (namespace !== NAMESPACE) {
      if (nearMiss(namespace)) {
        problems.push(
          `${fullKey}: received ${show(all[fullKey], secret)}; allowed: no such namespace (did you mean ${NAMESPACE}:${key}?)`,
        );
      }
      continue;
    }
    if (secret) secretKeys.add(key);
    const dotted = /^([^.[]+)[.[]/.exec(key);
    if (dotted && (SECTIONS.has(dotted[1]) || mayBeSecret(dotted[1]))) {
      problems.push(
        `${fullKey}: received ${show(all[fullKey], secret)}; allowed: no key with a dot in its name — a dotted key needs --path: ` +
          `run \`pulumi config rm ${fullKey}\` then \`pulumi config set --path ${fullKey} VALUE\``,
      );
      continue;
    }
    if (secret && !mayBeSecret(key)) {
      problems.push(
        `${fullKey}: received a secret value; allowed: plain text — nothing in ${fullKey} is a secret, and its values become ` +
          `names, paths and commands that Pulumi cannot keep secret: set it again without --secret`,
      );
    }
    if (PROTOTYPE_KEYS.has(key) || CONTROL_CHARS.test(key)) {
      problems.push(`${keyPath([key])}: allowed: no such key (a prototype-like or unprintable key is never read)`);
      continue;
    }
    values[key] = sanitize(decode(all[fullKey]), [key], secret, problems);
  }
  return { values, secretKeys };
}

/** Removes and returns the value at a dotted path of `values` (secret fields never enter the schema). */
function take(values: Record<string, unknown>, path: string): unknown {
  const parts = path.split('.');
  let cur: unknown = values;
  for (const p of parts.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === null || typeof cur !== 'object') return undefined;
  const last = parts[parts.length - 1];
  const value = (cur as Record<string, unknown>)[last];
  delete (cur as Record<string, unknown>)[last];
  return value;
}

/** Checks the secret fields (presence, secrecy, length) without ever showing one. */
function secretProblems(raw: Raw, taken: ReadonlyMap<string, unknown>): string[] {
  const problems: string[] = [];
  for (const f of SECRET_FIELDS) {
    const key = `${NAMESPACE}:${f.path}`;
    const value = taken.get(f.path);
    const top = f.path.split('.')[0];
    if (value === undefined) {
      if (f.required)
        problems.push(
          `${key}: received nothing; allowed: a secret of at least ${f.minLength} characters (${f.howToSet})`,
        );
    } else if (!raw.secretKeys.has(top)) {
      problems.push(`${key}: received a plain-text value; allowed: a secret only (${f.howToSet})`);
    } else if (typeof value !== 'string') {
      problems.push(`${key}: received a secret value that is not text; allowed: a secret string (${f.howToSet})`);
    } else if (value.length < f.minLength) {
      problems.push(
        `${key}: received a secret of ${value.length} characters; allowed: at least ${f.minLength} (${f.howToSet})`,
      );
    } else {
      const problem = f.problem?.(value);
      if (problem !== undefined) problems.push(`${key}: received a secret value; allowed: ${problem} (${f.howToSet})`);
    }
  }
  return problems;
}

function parse(all: Record<string, string>, isSecret: (key: string) => boolean) {
  const problems: string[] = [];
  const raw = collect(all, isSecret, problems);
  const taken = new Map(SECRET_FIELDS.map((f) => [f.path, take(raw.values, f.path)]));
  problems.push(...secretProblems(raw, taken));
  problems.push(...smtpPasswordProblems(raw.values.smtp, taken.get(SECRET_KEYS.smtpPassword)));
  const result = configSchema.safeParse(raw.values);
  if (!result.success) problems.push(...result.error.issues.map((i) => describeIssue(i, raw)));
  if (result.success) problems.push(...tlsSecretProblems(result.data, raw.secretKeys));
  if (problems.length > 0) throw new ConfigError(problems);
  return { config: result.data as KytesConfig, taken };
}

/**
 * Turns Pulumi's flat `namespace:key` map (objects arrive as JSON strings) into one object and
 * validates it. Throws one {@link ConfigError} listing every problem; returns the typed, defaulted
 * config, which holds no secret: see {@link SECRET_FIELDS} and {@link secretValues}.
 */
export function parseConfig(all: Record<string, string>, isSecret: (key: string) => boolean): KytesConfig {
  return parse(all, isSecret).config;
}

/**
 * The secret fields of a valid config (one {@link parseConfig} accepts), each as a Pulumi secret
 * Output: wherever it flows, resource inputs and state keep it encrypted.
 */
export function secretValues(
  all: Record<string, string>,
  isSecret: (key: string) => boolean,
): Readonly<Record<string, pulumi.Output<string>>> {
  return parseConfigAndSecrets(all, isSecret).secrets;
}

/** {@link parseConfig} and {@link secretValues} from one parse, for the program's start. */
export function parseConfigAndSecrets(
  all: Record<string, string>,
  isSecret: (key: string) => boolean,
): { readonly config: KytesConfig; readonly secrets: Readonly<Record<string, pulumi.Output<string>>> } {
  const { config, taken } = parse(all, isSecret);
  const secrets: Record<string, pulumi.Output<string>> = {};
  for (const [path, value] of taken) if (typeof value === 'string') secrets[path] = pulumi.secret(value);
  return { config, secrets };
}

/** A private key in `kytes:tls` must come from a `--secret` value, so that Pulumi keeps it encrypted. */
function tlsSecretProblems(config: KytesConfig, secretKeys: ReadonlySet<string>): string[] {
  if (secretKeys.has('tls')) return [];
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
