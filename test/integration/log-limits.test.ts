/**
 * `kytes:logs` against the real engine: the options `containerLogging` gives every container are ones
 * Docker's json-file driver accepts under those names, and they bound what a chatty container keeps.
 */
import { containerLogging } from '../../components/common';
import { configSchema } from '../../lib/config';
import { deriveTopology } from '../../lib/topology';
import { IMAGES, docker, requireImages, uniqueName } from './helpers/docker';

jest.setTimeout(300_000);

const names: string[] = [];
afterAll(async () => {
  for (const n of names) await docker(['rm', '-f', n]).catch(() => undefined);
});

/** `docker run` flags for what Kytes would give a container with this `kytes:logs`. */
function logFlags(logs: { maxSize?: string; maxFiles?: number }): string[] {
  const l = containerLogging(deriveTopology(configSchema.parse({ logs }), 'it').logs);
  const opts = l.logOpts as Record<string, string>;
  return ['--log-driver', String(l.logDriver), ...Object.entries(opts).flatMap(([k, v]) => ['--log-opt', `${k}=${v}`])];
}

/** Runs a container that writes `lines` lines of 100 bytes, waits for it, returns what `docker logs` keeps. */
async function chatty(flags: string[], lines: number): Promise<{ kept: number; config: unknown }> {
  const name = uniqueName('logs');
  names.push(name);
  const script = `i=0; while [ $i -lt ${lines} ]; do printf '%099d\\n' $i; i=$((i+1)); done`;
  await docker(['run', '--name', name, ...flags, IMAGES.base, 'sh', '-c', script]);
  const kept = (await docker(['logs', name])).length;
  const config = JSON.parse(await docker(['inspect', '--format', '{{json .HostConfig.LogConfig}}', name]));
  return { kept, config };
}

beforeAll(() => requireImages([IMAGES.base]));

describe('container log limits on a real engine', () => {
  it('the defaults are accepted under the names and values Kytes sets', async () => {
    const { kept, config } = await chatty(logFlags({}), 10);
    expect(config).toEqual({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '5' } });
    expect(kept).toBe(1000);
  });

  it('1k × 2 files keeps at most about 2 KiB of a 100 KB output; without limits all of it stays', async () => {
    const limited = await chatty(logFlags({ maxSize: '1k', maxFiles: 2 }), 1000);
    expect(limited.config).toEqual({ Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '2' } });
    const unlimited = await chatty(['--log-driver', 'json-file'], 1000);
    expect(unlimited.kept).toBe(100_000);
    // Each file is rotated once it passes 1 KiB (JSON-wrapped lines), so the text kept is below 2 × 1 KiB.
    expect(limited.kept).toBeGreaterThan(0);
    expect(limited.kept).toBeLessThanOrEqual(2048);
  });
});
