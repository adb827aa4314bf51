import * as pulumi from '@pulumi/pulumi';
import { KytesConfig, parseConfig, SECRET_KEYS } from './config';
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
 * thrown here stops the program with zero resources registered.
 */
export function loadStack(): LoadedStack {
  const config = parseConfig(pulumi.runtime.allConfig(), (key) => runtimeConfig.isConfigSecret(key));
  const topology = deriveTopology(config, pulumi.getStack());
  const kytes = new pulumi.Config('kytes');
  const masterSecret = kytes.requireSecret(SECRET_KEYS.masterSecret);
  // parseConfig has checked the password is a secret leaf of kytes:smtp, present exactly when a user is.
  const smtpPassword = topology.mail?.auth
    ? kytes.requireSecretObject<{ password: string }>('smtp').apply((smtp) => smtp.password)
    : undefined;
  return { config, topology, masterSecret, smtpPassword };
}
