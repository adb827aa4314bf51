import * as pulumi from '@pulumi/pulumi';
import { KytesConfig, parseConfigAndSecrets, SECRET_KEYS } from './config';
import { deriveTopology, Topology } from './topology';

// Pulumi's own check of `pulumi config set --secret`; public in the runtime, not in its type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig = require('@pulumi/pulumi/runtime/config') as { isConfigSecret(key: string): boolean };

/** A certificate chain and key given as PEM in `kytes:tls`, as Pulumi secrets. */
export interface PemPair {
  readonly certificate: pulumi.Output<string>;
  readonly key: pulumi.Output<string>;
}

export interface LoadedStack {
  readonly config: KytesConfig;
  readonly topology: Topology;
  /** `kytes:masterSecret`, read through the secret-aware API so it stays encrypted in state. */
  readonly masterSecret: pulumi.Output<string>;
  /** `kytes:smtp.password` when `kytes:smtp.user` is set, read as a secret (the whole `kytes:smtp` is one). */
  readonly smtpPassword?: pulumi.Output<string>;
  /** `kytes:backup.alert`, the webhook URL told when a scheduled backup fails, as a secret; absent when unset. */
  readonly backupAlert?: pulumi.Output<string>;
  /** Per served hostname whose certificate is PEM text in `kytes:tls`, read through the secret-aware API. */
  readonly tlsPem: Readonly<Record<string, PemPair>>;
}

/**
 * Reads and checks the whole stack config before any resource exists: a ConfigError or TopologyError
 * thrown here stops the program with zero resources registered. Both are `pulumi.RunError`s, so
 * `pulumi up` prints their list of problems and nothing else.
 */
export function loadStack(): LoadedStack {
  const all = pulumi.runtime.allConfig();
  const isSecret = (key: string) => runtimeConfig.isConfigSecret(key);
  const { config, secrets } = parseConfigAndSecrets(all, isSecret);
  const topology = deriveTopology(config, pulumi.getStack());
  // The parse has checked the password is a secret, present exactly when kytes:smtp.user is.
  const smtpPassword = topology.mail?.auth ? secrets[SECRET_KEYS.smtpPassword] : undefined;
  const masterSecret = secrets[SECRET_KEYS.masterSecret];
  const backupAlert = secrets[SECRET_KEYS.backupAlert];
  return {
    config,
    topology,
    masterSecret,
    smtpPassword,
    backupAlert,
    tlsPem: pemPairs(topology, new pulumi.Config('kytes')),
  };
}

interface TlsPemConfig {
  readonly certificates?: readonly { readonly certificatePem?: string; readonly keyPem?: string }[];
}

/**
 * The PEM pairs of `kytes:tls` (a section with secret leaves, see lib/config/secretFields.ts), read
 * through Pulumi's secret-aware API so that they reach nginx only as secrets.
 */
function pemPairs(t: Topology, kytes: pulumi.Config): Record<string, PemPair> {
  const pem = t.tls.certificates.filter((c) => c.source.kind === 'pem');
  if (pem.length === 0) return {};
  const tls = kytes.requireSecretObject<TlsPemConfig>('tls');
  return Object.fromEntries(
    pem.map((c) => {
      const entry = c.source.kind === 'pem' ? c.source.entry : -1;
      const field = (k: 'certificatePem' | 'keyPem') =>
        pulumi.secret(tls.apply((o) => o.certificates?.[entry]?.[k] ?? ''));
      return [c.hostname, { certificate: field('certificatePem'), key: field('keyPem') }];
    }),
  );
}
