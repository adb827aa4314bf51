import { z } from 'zod';
import { adminSection } from './admin';
import { backupSection, restoreSection } from './backup';
import { dockerSection, networkSection } from './docker';
import { checked, DNS_LABEL, hostname, timeZoneProblem } from './fields';
import { gitlabSection } from './gitlab';
import { imagesSection } from './images';
import { postgresSection } from './postgres';
import { logsSection } from './logs';
import { proxySection } from './proxy';
import { mongoSection, rocketchatSection } from './rocketchat';
import { smtpSection } from './smtp';
import { tlsSection } from './tls';

/**
 * The whole user-facing configuration of a Kytes stack, under the `kytes:` namespace of Pulumi config.
 * Parsed once, before any resource exists (`parseConfig`); everything else is derived from it by
 * `lib/topology`. Each field's `.describe()` text is the config reference in the README
 * (`npm run docs:config`), so the reference cannot drift from the schema. One file per section.
 */
export const configSchema = z
  .strictObject({
    domain: hostname
      .default('kytes.localhost')
      .describe('Base domain; service hostnames default to names under it. Default `kytes.localhost`.'),
    prefix: z
      .string()
      .regex(DNS_LABEL, { error: 'a DNS label: lower-case letters, digits and "-", starting with a letter' })
      .optional()
      .describe(
        'Prefix of every container, volume and network name. Default `kytes-<stack>`. Changing it orphans the volumes.',
      ),
    timezone: checked(timeZoneProblem)
      .default('UTC')
      .describe(
        'Time zone of the containers and of the backup schedule, a tz database name spelt exactly. Default `UTC`.',
      ),
    memoryProfile: z
      .enum(['constrained', 'standard'], { error: 'one of constrained, standard' })
      .default('standard')
      .describe(
        "`constrained` applies GitLab's memory-constrained settings (a laptop); `standard` is for a server. Default `standard`.",
      ),
    docker: dockerSection,
    network: networkSection,
    proxy: proxySection,
    tls: tlsSection,
    gitlab: gitlabSection,
    postgres: postgresSection,
    rocketchat: rocketchatSection,
    mongo: mongoSection,
    images: imagesSection,
    admin: adminSection,
    backup: backupSection,
    restore: restoreSection,
    smtp: smtpSection,
    logs: logsSection,
  })
  .describe('Kytes stack configuration');

export type KytesConfig = z.output<typeof configSchema>;
export type KytesConfigInput = z.input<typeof configSchema>;
