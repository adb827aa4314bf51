import { z } from 'zod';

/** `kytes:admin`: the initial administrator identity. */
export const adminSection = z
  .strictObject({
    username: z
      .string()
      .regex(/^[a-z][a-z0-9._-]{1,31}$/, { error: '2–32 characters: lower-case letters, digits, ".", "_", "-"' })
      .default('kytes-admin')
      .describe("Rocket.Chat administrator user name (GitLab's is always `root`). Default `kytes-admin`."),
    name: z
      .string()
      .min(1)
      .max(64)
      .default('Kytes Admin')
      .describe('Administrator display name. Default `Kytes Admin`.'),
    email: z
      .string()
      .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { error: 'an e-mail address' })
      .optional()
      .describe('Administrator e-mail. Default `admin@<domain>`.'),
  })
  .default({ username: 'kytes-admin', name: 'Kytes Admin' })
  .describe('Initial administrator identity (first boot only; passwords are derived secrets).');
