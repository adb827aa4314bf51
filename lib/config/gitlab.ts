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
    puma: z
      .strictObject({
        workers: z
          .number()
          .int()
          .min(0, { error: 'a whole number from 0 to 64 (0 runs Puma in single mode)' })
          .max(64, { error: 'a whole number from 0 to 64 (0 runs Puma in single mode)' })
          .optional()
          .describe(
            "Puma worker processes of each instance (`puma['worker_processes']`). Default: 0 (single mode) with " +
              "`constrained`; with `standard`, omnibus' own rule applied to the container's memory limit instead of " +
              "the host's RAM: max(2, (limit − 1536 MB) / 1024 MB), i.e. 6 for 8192 MB.",
          ),
        threads: z
          .number()
          .int()
          .min(1, { error: 'a whole number from 1 to 32' })
          .max(32, { error: 'a whole number from 1 to 32' })
          .optional()
          .describe(
            "Puma threads per worker (`puma['min_threads']` and `puma['max_threads']`). Default 4 (omnibus' default).",
          ),
      })
      .default({})
      .describe('Puma (the web server) of every GitLab instance. Each thread can hold two PostgreSQL connections.'),
    sidekiq: z
      .strictObject({
        concurrency: z
          .number()
          .int()
          .min(1, { error: 'a whole number from 1 to 200' })
          .max(200, { error: 'a whole number from 1 to 200' })
          .optional()
          .describe(
            "Sidekiq threads of each instance (`sidekiq['concurrency']`). Default 10 with `constrained` (GitLab's " +
              "memory-constrained guide), 20 with `standard` (omnibus' default).",
          ),
      })
      .default({})
      .describe('Sidekiq (background jobs) of every GitLab instance: one process per instance.'),
  })
  .default({
    instances: [{ name: 'main', sshPort: 2222 }],
    sshBindAddress: '0.0.0.0',
    startTimeoutMinutes: 30,
    puma: {},
    sidekiq: {},
  })
  .describe('GitLab CE instances: one container, Redis, database and volumes each, on a shared PostgreSQL.');
