import * as pulumi from '@pulumi/pulumi';
import { ProgramError, runProgram, stackConfig } from './helpers/program';

/**
 * How a refused config reaches the user (issue 8, item 8). Pulumi's Node.js language host prints a
 * `pulumi.RunError` as its message alone; any other error as "Running program … failed with an
 * unhandled exception" followed by the stack trace (sdk/nodejs/cmd/run/run.ts, uncaughtHandler).
 */
async function failure(config: Record<string, string>): Promise<ProgramError> {
  const error = await runProgram('dev', { ...stackConfig('dev'), ...config }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProgramError);
  return error as ProgramError;
}

describe('errors as Pulumi shows them', () => {
  it('a ConfigError is a pulumi.RunError: pulumi up prints its list of problems, no stack trace', async () => {
    const e = await failure({ 'kytes:memoryProfile': 'huge' });
    expect(pulumi.RunError.isInstance(e.thrown)).toBe(true);
    expect((e.thrown as Error).name).toBe('ConfigError');
    expect(e.message).toBe(
      'Invalid Kytes configuration (1 problem):\n  - kytes:memoryProfile: received "huge"; allowed: one of constrained, standard',
    );
    expect(e.resources).toEqual([]);
  });

  it('a TopologyError is a pulumi.RunError too', async () => {
    const e = await failure({
      'kytes:gitlab': JSON.stringify({
        instances: [
          { name: 'a', sshPort: 2222 },
          { name: 'a', sshPort: 2223 },
        ],
      }),
    });
    expect(pulumi.RunError.isInstance(e.thrown)).toBe(true);
    expect((e.thrown as Error).name).toBe('TopologyError');
    expect(e.message).toContain('kytes:gitlab.instances[1].name: "a" is already the name of instances[0]');
    expect(e.resources).toEqual([]);
  });

  it('a dotted key set without --path says to use --path, not to check the spelling', async () => {
    // `pulumi config set kytes:proxy.httpPort 80` stores one key named "proxy.httpPort".
    const e = await failure({ 'kytes:proxy.httpPort': '80' });
    expect(e.message).toContain(
      'kytes:proxy.httpPort: received "80"; allowed: no key with a dot in its name — a dotted key needs --path: ' +
        'run `pulumi config rm kytes:proxy.httpPort` then `pulumi config set --path kytes:proxy.httpPort VALUE`',
    );
    expect(e.message).not.toContain('check its spelling');
  });

  it('an indexed key set without --path gets the same hint', async () => {
    const e = await failure({ 'kytes:gitlab.instances[0].sshPort': '2200' });
    expect(e.message).toContain(
      'kytes:gitlab.instances[0].sshPort: received "2200"; allowed: no key with a dot in its name',
    );
  });

  it('a dotted key whose first part is no section is an unknown key, with the spelling hint', async () => {
    const e = await failure({ 'kytes:proxi.httpPort': '80' });
    expect(e.message).toContain('kytes:proxi.httpPort: received "80"; allowed: no such key (check its spelling');
  });
});
