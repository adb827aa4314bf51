import { z } from 'zod';

/** What Docker's json-file driver accepts for `max-size` (units.RAMInBytes), restricted to a plain form. */
const LOG_SIZE = /^[1-9][0-9]{0,3}[kmg]$/;

/** `kytes:logs`: size limits of every container's log (Docker's default keeps one unbounded file each). */
export const logsSection = z
  .strictObject({
    maxSize: z
      .string()
      .regex(LOG_SIZE, { error: 'a size such as 10m: a whole number from 1 to 9999 followed by k, m or g' })
      .default('10m')
      .describe("Size at which Docker rotates a container's log file (json-file `max-size`). Default `10m`."),
    maxFiles: z
      .number({ error: 'a whole number from 1 to 100' })
      .int({ error: 'a whole number from 1 to 100' })
      .min(1, { error: 'a whole number from 1 to 100' })
      .max(100, { error: 'a whole number from 1 to 100' })
      .default(5)
      .describe(
        'Log files kept per container, the current one included (json-file `max-file`): a container keeps at most `maxSize` × `maxFiles`. Default 5.',
      ),
  })
  .default({ maxSize: '10m', maxFiles: 5 })
  .describe('Log limits of every container (Docker `json-file` driver, rotated).');
