import { deriveConnection, hostBash, providerSshOpts, sshArgv, sshOptions } from '../lib/connection';
import { dockerExecCommand } from '../components/dockerExec';
import { shellWord } from '../lib/sinks';
import { hostCommand as cliCommand, operatorScript, topologyFromStackYaml } from '../ops/cli';
import { runProgram, stackConfig, unwrap } from './helpers/program';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const SSH_OPTS = ['-i', '~/.ssh/kytes', '-o', 'ProxyJump=bastion.kytes.io'];
const DOCKER = { host: 'ssh://deploy@docker1.kytes.io:2201', sshOpts: SSH_OPTS, hostKey: KEY };

/** The options every connection to the host must carry, in this order (ssh keeps the first value). */
const OPTIONS = [
  '-o',
  'BatchMode=yes',
  '-o',
  'StrictHostKeyChecking=yes',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'GlobalKnownHostsFile=/dev/null',
  '-o',
  `KnownHostsCommand=/bin/echo %H ${KEY}`,
  ...SSH_OPTS,
];
const ARGV = [...OPTIONS, '-p', '2201', '-l', 'deploy', '--', 'docker1.kytes.io'];

describe('the one Docker-host connection (lib/connection.ts)', () => {
  const c = deriveConnection(DOCKER.host, DOCKER.sshOpts, DOCKER.hostKey);

  it('derives host, port, user, options, host key and the socket from kytes:docker', () => {
    expect(c).toEqual({
      kind: 'ssh',
      url: DOCKER.host,
      socket: '/var/run/docker.sock',
      ssh: { host: 'docker1.kytes.io', port: 2201, user: 'deploy', options: SSH_OPTS, hostKey: KEY },
    });
    expect(sshOptions(c.ssh!)).toEqual(OPTIONS);
    expect(sshArgv(c.ssh!)).toEqual(ARGV);
  });

  it('without a pinned key checks the user known_hosts, strictly', () => {
    const k = deriveConnection('ssh://docker1.kytes.io', []);
    expect(sshArgv(k.ssh!)).toEqual([
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-p',
      '22',
      '--',
      'docker1.kytes.io',
    ]);
  });

  it('a local socket other than the default is the socket every docker command uses', () => {
    const l = deriveConnection('unix:///run/user/1000/docker.sock', []);
    expect(l).toEqual({
      kind: 'local',
      url: 'unix:///run/user/1000/docker.sock',
      socket: '/run/user/1000/docker.sock',
    });
    expect(hostBash(l, 'true')).toEqual({ interpreter: ['/bin/bash', '-c'], command: 'true' });
    expect(dockerExecCommand({ docker: l, container: 'c', command: ['id'], triggers: [] }).command).toBe(
      "DOCKER_HOST='unix:///run/user/1000/docker.sock' exec docker exec -i 'c' 'id'",
    );
  });

  it('post-start steps over SSH: same ssh argv; secrets through stdin, never on a command line', () => {
    const run = dockerExecCommand({
      docker: c,
      container: 'kytes-prod-postgres',
      command: ['psql', '-U', 'postgres'],
      secretEnv: { KYTES_B: 'b', KYTES_A: 'a' },
      triggers: [],
    });
    expect(run.interpreter).toEqual([
      '/bin/bash',
      '-c',
      `set -euo pipefail; { printf '%s\\0' "$KYTES_A" "$KYTES_B"; cat; } | "$@"`,
      'kytes-docker-exec',
      'ssh',
      ...ARGV,
    ]);
    expect(run.command).toBe(
      "/bin/bash -c 'set -euo pipefail\n" +
        'IFS= read -r -d "" KYTES_A && export KYTES_A\n' +
        'IFS= read -r -d "" KYTES_B && export KYTES_B\n' +
        "DOCKER_HOST='\\''unix:///var/run/docker.sock'\\'' exec docker exec -i -e KYTES_A -e KYTES_B '\\''kytes-prod-postgres'\\'' '\\''psql'\\'' '\\''-U'\\'' '\\''postgres'\\'''",
    );
  });
});

describe('every place that reaches the Docker host uses the same connection', () => {
  const config = {
    ...stackConfig('prod'),
    'kytes:docker': JSON.stringify(DOCKER),
    'kytes:backup': JSON.stringify({ offHost: 'backup@vault.kytes.io:/srv/backups/kytes-prod' }),
  };

  it('provider sshOpts, post-start steps, ops commands (create and delete) and the CLI', async () => {
    const { resources } = await runProgram('prod', config);
    const provider = resources.find((r) => r.type === 'pulumi:providers:docker')!;
    expect(unwrap(provider.inputs.host)).toBe(DOCKER.host);
    expect(JSON.parse(String(unwrap(provider.inputs.sshOpts)))).toEqual(OPTIONS);

    const commands = resources.filter((r) => r.type.startsWith('command:'));
    expect(commands.map((r) => r.type).every((t) => t === 'command:local:Command')).toBe(true);
    expect(commands.length).toBe(15); // 7 ops commands, 3 upgrade guards, 4 for ACME certificates, nginx's config
    for (const r of commands) {
      const interpreter = unwrap(r.inputs.interpreter) as string[];
      const ssh = interpreter.indexOf('ssh');
      expect([r.name, interpreter.slice(ssh + 1)]).toEqual([r.name, ARGV]);
    }

    const yaml = `config:\n  kytes:docker:\n    host: ${DOCKER.host}\n    sshOpts: ${JSON.stringify(SSH_OPTS)}\n    hostKey: ${KEY}\n`;
    const t = topologyFromStackYaml(yaml, 'prod');
    const cli = cliCommand(t, 'kytes-backups', ['--json']);
    // Exactly the connection's ssh argv, then the operator script (scripts installed? root or sudo -n?) for bash.
    expect(cli).toEqual({
      file: 'ssh',
      args: [...ARGV, `/bin/bash -c ${shellWord(operatorScript(t, 'kytes-backups', ['--json']))}`],
    });
    expect(operatorScript(t, 'kytes-backups', ['--json']).split('\n').pop()).toBe(
      "exec '/opt/kytes/kytes-prod/kytes-backups' '--json'",
    );
  }, 60000);

  it('the ops scripts on the host talk to the same engine: DOCKER_HOST in kytes-lib.sh', async () => {
    const { resources } = await runProgram('dev', {
      ...stackConfig('dev'),
      'kytes:docker': JSON.stringify({ host: 'unix:///run/user/1000/docker.sock' }),
    });
    const scripts = resources.find((r) => r.name === 'kytes-dev-ops-scripts')!;
    const lib = String(unwrap(scripts.inputs.stdin))
      .split('\n')
      .find((l) => l.startsWith('kytes-lib.sh '))!;
    const text = Buffer.from(lib.split(' ')[1], 'base64').toString('utf8');
    expect(text).toContain("\nexport DOCKER_HOST='unix:///run/user/1000/docker.sock'\n");
    const provider = resources.find((r) => r.type === 'pulumi:providers:docker')!;
    expect(unwrap(provider.inputs.host)).toBe('unix:///run/user/1000/docker.sock');
    const setup = resources.find((r) => r.name === 'kytes-dev-postgres-setup')!;
    expect(String(unwrap(setup.inputs.create))).toMatch(
      /^DOCKER_HOST='unix:\/\/\/run\/user\/1000\/docker.sock' exec docker exec/,
    );
  }, 60000);
});

describe('providerSshOpts', () => {
  it('is empty for a local engine', () => {
    expect(providerSshOpts(deriveConnection('unix:///var/run/docker.sock', []))).toEqual([]);
  });
});
