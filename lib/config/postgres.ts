import { z } from 'zod';

/** `kytes:postgres`: sizing of the PostgreSQL server the GitLab instances share. */
export const postgresSection = z
  .strictObject({
    plannedInstances: z
      .number({ error: 'a whole number from 1 to 64' })
      .int({ error: 'a whole number from 1 to 64' })
      .min(1, { error: 'a whole number from 1 to 64' })
      .max(64, { error: 'a whole number from 1 to 64' })
      .optional()
      .describe(
        'GitLab instances the default `maxConnections` and `sharedBuffersMB` are sized for: both take effect only ' +
          'when PostgreSQL restarts, which every instance feels, so commissioning instances up to this number ' +
          'leaves it running. Default 4, or the number of instances when there are more.',
      ),
    maxConnections: z
      .number()
      .int()
      .min(400, { error: "a whole number from 400 (GitLab's documented minimum) to 10000" })
      .max(10000, { error: "a whole number from 400 (GitLab's documented minimum) to 10000" })
      .optional()
      .describe(
        'PostgreSQL `max_connections`. Default: the GitLab connection budget (2 × (Puma + Sidekiq pools) per ' +
          "instance, GitLab's formula) of `plannedInstances` instances plus PostgreSQL's 3 superuser slots, " +
          'rounded up to a multiple of 100, and at least 400. A value below the budget of the instances there ' +
          'are is refused. Changing it restarts PostgreSQL.',
      ),
    sharedBuffersMB: z
      .number()
      .int()
      .min(128, { error: 'a whole number of MB from 128 to 65536' })
      .max(65536, { error: 'a whole number of MB from 128 to 65536' })
      .optional()
      .describe(
        "PostgreSQL `shared_buffers` in MB. Default 128 (PostgreSQL's own) with `constrained`; with `standard`, " +
          "256 per planned GitLab instance (what GitLab's image gives its bundled PostgreSQL). Changing it restarts PostgreSQL.",
      ),
  })
  .default({})
  .describe('PostgreSQL shared by the GitLab instances: connection and memory sizing.');
