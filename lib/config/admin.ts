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
      // The WHATWG HTML "valid e-mail address" grammar, with a dot in the domain.
      .regex(
        /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/,
        { error: 'an e-mail address' },
      )
      .max(254, { error: 'an e-mail address of at most 254 characters' })
      .optional()
      .describe('Administrator e-mail. Default `admin@<domain>`.'),
  })
  .default({ username: 'kytes-admin', name: 'Kytes Admin' })
  .describe('Initial administrator identity (first boot only; passwords are derived secrets).');
