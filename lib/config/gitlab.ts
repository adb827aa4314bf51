import { z } from 'zod';
import { bindAddress, DNS_LABEL, hostname, port } from './fields';

/** One entry of `kytes:gitlab.instances`. */
export const gitlabInstance = z
  .strictObject({
    name: z
      .string()
      .regex(DNS_LABEL, {
        error: 'a DNS label: lower-case letters, digits and "-", starting with a letter, at most 63',
      })
      .describe('Instance name, a DNS label. Names its container, volumes, database and default hostname.'),
    hostname: hostname
      .optional()
      .describe('Public hostname. Default: `gitlab.<domain>` for `main`, `gitlab-<name>.<domain>` otherwise.'),
    sshPort: port('the host port published for Git over SSH').describe(
      'Host port published for Git over SSH; also the port GitLab advertises in clone URLs.',
    ),
  })
  .describe('One GitLab CE instance. Adding an entry commissions it; removing one decommissions it.');

/** `kytes:gitlab`: the GitLab CE instances. */
export const gitlabSection = z
  .strictObject({
    instances: z
      .array(gitlabInstance)
      .min(1, { error: 'at least one GitLab instance' })
      .max(16, { error: 'at most 16 instances (one Redis database each)' })
      .default([{ name: 'main', sshPort: 2222 }])
      .describe('GitLab instances. Default one instance `main` with SSH on 2222.'),
    sshBindAddress: bindAddress
      .default('0.0.0.0')
      .describe('Host address GitLab SSH ports are published on. Default `0.0.0.0`.'),
    startTimeoutMinutes: z
      .number()
      .int()
      .min(5, { error: 'at least 5 (GitLab takes minutes to start)' })
      .max(120, { error: 'at most 120' })
      .default(30)
      .describe('How long `pulumi up` waits for a GitLab container to become healthy. Default 30.'),
  })
  .default({ instances: [{ name: 'main', sshPort: 2222 }], sshBindAddress: '0.0.0.0', startTimeoutMinutes: 30 })
  .describe('GitLab CE instances sharing PostgreSQL and Redis.');
