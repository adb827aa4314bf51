import { z } from 'zod';
import { hostname } from './fields';

/** `kytes:rocketchat`: Rocket.Chat. */
export const rocketchatSection = z
  .strictObject({
    enabled: z.boolean({ error: 'true or false' }).default(true).describe('Deploy Rocket.Chat. Default true.'),
    hostname: hostname.optional().describe('Public hostname. Default `rocketchat.<domain>`.'),
  })
  .default({ enabled: true })
  .describe('Rocket.Chat and its MongoDB replica set.');

/** `kytes:mongo`: the MongoDB replica set behind Rocket.Chat. */
export const mongoSection = z
  .strictObject({
    replicaSet: z
      .string()
      // The name is a mongod argument (`--replSet NAME`) and part of MONGO_URL: never an option.
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, {
        error: 'letters, digits, "_" or "-", starting with a letter or digit, at most 64',
      })
      .default('rs0')
      .describe('Replica-set name, used by every member, the initiation and the Rocket.Chat URL. Default `rs0`.'),
    members: z
      .number()
      .int()
      .refine((n) => [1, 3, 5, 7].includes(n), { error: 'one of 1, 3, 5, 7 (an odd number keeps a majority)' })
      .default(1)
      .describe('Replica-set members: 1, 3, 5 or 7. Default 1 (dev); 3 for production.'),
  })
  .default({ replicaSet: 'rs0', members: 1 })
  .describe('MongoDB replica set for Rocket.Chat. Never published on the host.');
