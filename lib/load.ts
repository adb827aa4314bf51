import * as pulumi from '@pulumi/pulumi';
import { KytesConfig, parseConfig, SECRET_KEYS, secretValues } from './config';
import { deriveTopology, Topology } from './topology';

// Pulumi's own check of `pulumi config set --secret`; public in the runtime, not in its type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig = require('@pulumi/pulumi/runtime/config') as { isConfigSecret(key: string): boolean };

export interface LoadedStack {
  readonly config: KytesConfig;
  readonly topology: Topology;
  /** `kytes:masterSecret`, read through the secret-aware API so it stays encrypted in state. */
  readonly masterSecret: pulumi.Output<string>;
  /** `kytes:smtp.password` when `kytes:smtp.user` is set, read as a secret (the whole `kytes:smtp` is one). */
  readonly smtpPassword?: pulumi.Output<string>;
}

/**
 * Reads and checks the whole stack config before any resource exists: a ConfigError or TopologyError
 * thrown here stops the program with zero resources registered. Both are `pulumi.RunError`s, so
 * `pulumi up` prints their list of problems and nothing else.
 */
export function loadStack(): LoadedStack {
  const all = pulumi.runtime.allConfig();
  const isSecret = (key: string) => runtimeConfig.isConfigSecret(key);
  const config = parseConfig(all, isSecret);
  const topology = deriveTopology(config, pulumi.getStack());
  const secrets = secretValues(all, isSecret);
  // parseConfig has checked the password is a secret, present exactly when kytes:smtp.user is.
  const smtpPassword = topology.mail?.auth ? secrets[SECRET_KEYS.smtpPassword] : undefined;
  return { config, topology, masterSecret: secrets[SECRET_KEYS.masterSecret], smtpPassword };
}
