import { LABELS } from '../../lib/labels';
import { describe, findInlineSecrets, looksSecret } from './secret-scan';
import { ResourceView, TYPES, displayName, isCommand, labelsOf, record, str, strings } from './view';

const ENV_NAMES = /^[A-Za-z_][A-Za-z0-9_]*(,[A-Za-z_][A-Za-z0-9_]*)*$/;

/** The env var names a container declares as carrying Pulumi secrets, or undefined when the label is malformed. */
export function declaredSecretEnv(labels: ReadonlyMap<string, string>): ReadonlySet<string> | undefined {
  const value = labels.get(LABELS.secretEnv);
  if (value === undefined || value === '') return new Set();
  return ENV_NAMES.test(value) ? new Set(value.split(',')) : undefined;
}

function labelMessages(subject: string, labels: ReadonlyMap<string, string>): string[] {
  const messages: string[] = [];
  for (const [key, value] of labels) {
    if (key === LABELS.secretEnv || value === '') continue;
    if (looksSecret(key)) {
      messages.push(
        `${subject}: label ${key} looks secret; labels are shown to anyone who can list containers and volumes: never put a secret in one`,
      );
      continue;
    }
    for (const f of findInlineSecrets(value)) {
      messages.push(
        `${subject}: label ${key} ${describe(f)}; labels are shown to anyone who can list containers and volumes: never put a secret in one`,
      );
    }
  }
  return messages;
}

function containerMessages(view: ResourceView): string[] {
  const subject = `container "${displayName(view)}"`;
  const labels = labelsOf(view.props);
  const messages: string[] = [];
  const declared = declaredSecretEnv(labels);
  if (declared === undefined) {
    messages.push(
      `${subject}: label ${LABELS.secretEnv} must list env var names separated by commas (NAME,OTHER_NAME)`,
    );
  }
  const declare = (name: string) =>
    `declare ${name} in the label ${LABELS.secretEnv} and give it a Pulumi secret, or pass a file path in ${name}_FILE`;
  for (const entry of strings(view.props.envs)) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? '' : entry.slice(eq + 1);
    if (value === '' || declared?.has(name)) continue;
    if (looksSecret(name)) {
      messages.push(
        `${subject}: env var ${name} looks secret but is not declared as a Pulumi secret; ${declare(name)}`,
      );
      continue;
    }
    for (const f of findInlineSecrets(value))
      messages.push(`${subject}: env var ${name} ${describe(f)}; ${declare(name)}`);
  }
  messages.push(...labelMessages(subject, labels));
  const commandLines: readonly [string, string[]][] = [
    ['command', strings(view.props.command)],
    ['entrypoint', strings(view.props.entrypoints)],
    ['healthcheck', strings(record(view.props.healthcheck).tests)],
  ];
  for (const [what, words] of commandLines) {
    for (const f of findInlineSecrets(words.join(' '))) {
      messages.push(
        `${subject}: ${what} ${describe(f)}; read it from a declared secret env var or a file instead (docker inspect shows the ${what})`,
      );
    }
  }
  return messages;
}

function commandMessages(view: ResourceView): string[] {
  const messages: string[] = [];
  for (const step of ['create', 'update', 'delete'] as const) {
    const script = str(view.props[step]);
    if (script === undefined) continue;
    for (const f of findInlineSecrets(script)) {
      messages.push(
        `command "${view.name}": ${step} ${describe(f)}; pass secrets through environment with logging off, never in the command string, which a failure prints in full`,
      );
    }
  }
  return messages;
}

/**
 * Mandatory: no secret-looking value in a plain container env var, a label or a command string.
 * A policy receives Pulumi secrets as plain text (@pulumi/policy deserializes them with their secret
 * marker dropped), so "plain" is decided by declaration: a container lists its secret env vars in
 * the `kytes.secret-env` label, and the unit tests prove each declared value is a Pulumi secret.
 * Labels and command strings may never hold a secret, secret or not: Docker shows labels, commands
 * and healthchecks to anyone who can inspect a container, and pulumi-command prints a failed
 * command string in full.
 */
export function noPlainSecrets(view: ResourceView): string[] {
  if (view.type === TYPES.container) return containerMessages(view);
  if (view.type === TYPES.volume) return labelMessages(`volume "${displayName(view)}"`, labelsOf(view.props));
  if (view.type === TYPES.network) return labelMessages(`network "${displayName(view)}"`, labelsOf(view.props));
  if (isCommand(view.type)) return commandMessages(view);
  return [];
}
