import { collectSinks, cronJobs, parseProblems, Sinks } from './helpers/sinks-audit';
import { shellShape } from './helpers/shell-shape';
import {
  flattenConfig,
  ProgramError,
  runProgram,
  stackConfig,
  StackRun,
  TEST_MASTER_SECRET,
  unwrap,
} from './helpers/program';

/**
 * Hostile and mistaken configs pushed through index.ts under Pulumi's mocks. Each case either is
 * refused — the error names the key, shows no secret, and not one resource is registered — or lands
 * safely: every sink it reaches parses (bash -n and tree-sitter-bash, cron fields, nginx structure,
 * ruby -c, node --check), every shell text has the same shape as with an ordinary value (the value
 * stayed inside its word), and the value arrives where it belongs, byte for byte.
 */

type Refused = { readonly refused: string; readonly secret?: string };
type Lands = { readonly lands: (run: StackRun, sinks: Sinks) => void; readonly sameShape?: boolean };
type Case = readonly [what: string, config: Record<string, unknown>, expected: Refused | Lands, secretKeys?: string[]];

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const SSH = 'ssh://deploy@docker1.kytes.io';
const backup = (b: Record<string, unknown>) => ({ 'kytes:backup': b });
const docker = (d: Record<string, unknown>) => ({ 'kytes:docker': d });
const network = (n: Record<string, unknown>) => ({ 'kytes:network': n });
const instances = (...list: Record<string, unknown>[]) => ({ 'kytes:gitlab': { instances: list } });
const env = (s: Sinks, container: string, name: string) =>
  s.env[container].filter((e) => e.startsWith(`${name}=`)).map((e) => e.slice(name.length + 1));
const lib = (s: Sinks) => s.shell['ops script kytes-lib.sh'];
const HOSTILE_TEXT = `Robert'); DROP TABLE users;-- $(touch /tmp/kytes-pwned) \`id\` "q" \\ % #{1}`;
/** The Command resources of the dev stack with a backup schedule (base() below), sorted. */
const DEV_COMMANDS = [
  'kytes-dev-mongo-initiate',
  'kytes-dev-nginx-apply-config',
  'kytes-dev-ops-backup-schedule',
  'kytes-dev-ops-decommission-backup-main',
  'kytes-dev-ops-predestroy-backup',
  'kytes-dev-ops-scripts',
  'kytes-dev-postgres-setup',
  'kytes-dev-upgrade-guard-gitlab',
  'kytes-dev-upgrade-guard-mongo',
  'kytes-dev-upgrade-guard-postgres',
];

const REFUSED: Case[] = [
  // 1. Root command injection through the backup directory (cron line, delete hooks).
  ['dir with a command substitution', backup({ dir: '/srv/backups/$(touch /tmp/x)' }), { refused: 'kytes:backup.dir' }],
  ['dir with a backquote', backup({ dir: '/srv/`id`' }), { refused: 'kytes:backup.dir' }],
  ['dir with a double quote (breaks the delete hook)', backup({ dir: '/srv/b"x' }), { refused: 'kytes:backup.dir' }],
  ['dir with % (a newline to cron)', backup({ dir: '/srv/100%' }), { refused: 'kytes:backup.dir' }],
  ['dir with a space', backup({ dir: '/srv/my backups' }), { refused: 'kytes:backup.dir' }],
  ['dir with a newline', backup({ dir: '/srv/a\nb' }), { refused: 'kytes:backup.dir' }],
  ['dir with a semicolon', backup({ dir: '/srv/a;reboot' }), { refused: 'kytes:backup.dir' }],
  // 2. Destroying the host by path.
  ['dir /', backup({ dir: '/' }), { refused: 'kytes:backup.dir' }],
  ['dir /tmp', backup({ dir: '/tmp' }), { refused: 'kytes:backup.dir' }],
  ['dir /var', backup({ dir: '/var' }), { refused: 'kytes:backup.dir' }],
  ['dir /home', backup({ dir: '/home' }), { refused: 'kytes:backup.dir' }],
  ['dir climbing to /etc', backup({ dir: '/var/backups/../../etc' }), { refused: 'kytes:backup.dir' }],
  ['dir inside /etc', backup({ dir: '/etc/kytes' }), { refused: 'kytes:backup.dir' }],
  ['dir inside /usr', backup({ dir: '/usr/share/kytes' }), { refused: 'kytes:backup.dir' }],
  ['dir not normalised (//)', backup({ dir: '/srv//backups' }), { refused: 'kytes:backup.dir' }],
  ['dir with a trailing slash', backup({ dir: '/srv/backups/' }), { refused: 'kytes:backup.dir' }],
  ['dir holding the scripts dir', backup({ dir: '/opt/kytes' }), { refused: 'kytes:backup.dir' }],
  ['offHost equal to dir', backup({ dir: '/srv/b', offHost: '/srv/b' }), { refused: 'kytes:backup.offHost' }],
  ['offHost inside dir', backup({ dir: '/srv/b', offHost: '/srv/b/copy' }), { refused: 'kytes:backup.offHost' }],
  ['offHost holding the default dir', backup({ offHost: '/var/backups/kytes' }), { refused: 'kytes:backup.offHost' }],
  ['offHost /', backup({ offHost: '/' }), { refused: 'kytes:backup.offHost' }],
  ['offHost remote /etc', backup({ offHost: 'backup@vault.kytes.io:/etc' }), { refused: 'kytes:backup.offHost' }],
  [
    'offHost remote relative path',
    backup({ offHost: 'backup@vault.kytes.io:srv' }),
    { refused: 'kytes:backup.offHost' },
  ],
  // 3. Option injection.
  [
    'rsync host as an option',
    backup({ offHost: 'backup@-oProxyCommand=x:/srv/b' }),
    { refused: 'kytes:backup.offHost' },
  ],
  [
    'rsync user as an option',
    backup({ offHost: '-oProxyCommand=x@vault:/srv/b' }),
    { refused: 'kytes:backup.offHost' },
  ],
  ['ssh host as an option', docker({ host: 'ssh://-oProxyCommand=touch' }), { refused: 'kytes:docker.host' }],
  ['ssh user as an option', docker({ host: 'ssh://-oProxyCommand=x@docker1' }), { refused: 'kytes:docker.host' }],
  ['ssh URL with a path', docker({ host: `${SSH}/var/run/docker.sock` }), { refused: 'kytes:docker.host' }],
  ['replica set --port', { 'kytes:mongo': { replicaSet: '--port' } }, { refused: 'kytes:mongo.replicaSet' }],
  ['replica set -rs', { 'kytes:mongo': { replicaSet: '-rs' } }, { refused: 'kytes:mongo.replicaSet' }],
  [
    'sshOpts turning host keys off',
    docker({ host: SSH, sshOpts: ['-oStrictHostKeyChecking=no'] }),
    { refused: 'kytes:docker.sshOpts[0]' },
  ],
  [
    'sshOpts with /dev/null known_hosts',
    docker({ host: SSH, sshOpts: ['-o', 'UserKnownHostsFile=/dev/null'] }),
    { refused: 'kytes:docker.sshOpts[1]' },
  ],
  ['sshOpts -i without its file', docker({ host: SSH, sshOpts: ['-i'] }), { refused: 'kytes:docker.sshOpts[0]' }],
  [
    'sshOpts with a bare word',
    docker({ host: SSH, sshOpts: ['evil.example.com'] }),
    { refused: 'kytes:docker.sshOpts[0]' },
  ],
  [
    'sshOpts with a remote command',
    docker({ host: SSH, sshOpts: ['-o', 'RemoteCommand=id'] }),
    { refused: 'kytes:docker.sshOpts[1]' },
  ],
  ['sshOpts for a local engine (ignored)', docker({ sshOpts: ['-i', '/k'] }), { refused: 'kytes:docker.sshOpts' }],
  [
    'host key of the wrong type',
    docker({ host: SSH, hostKey: KEY.replace('ssh-ed25519', 'ssh-rsa') }),
    { refused: 'kytes:docker.hostKey' },
  ],
  [
    'host key with shell text',
    docker({ host: SSH, hostKey: 'ssh-ed25519 AAAA; rm -rf /' }),
    { refused: 'kytes:docker.hostKey' },
  ],
  // 4. Well-formed but wrong.
  ['cron minute 99', backup({ schedule: '99 * * * *' }), { refused: 'kytes:backup.schedule' }],
  ['cron hour 24', backup({ schedule: '0 24 * * *' }), { refused: 'kytes:backup.schedule' }],
  ['cron step 0', backup({ schedule: '*/0 * * * *' }), { refused: 'kytes:backup.schedule' }],
  ['cron range 5-1', backup({ schedule: '5-1 * * * *' }), { refused: 'kytes:backup.schedule' }],
  ['cron 30 February', backup({ schedule: '0 3 30 2 *' }), { refused: 'kytes:backup.schedule' }],
  ['cron 31 April and June, any weekday', backup({ schedule: '0 3 31 4,6 */1' }), { refused: 'kytes:backup.schedule' }],
  ['cron L (not Debian cron)', backup({ schedule: '0 0 L * *' }), { refused: 'kytes:backup.schedule' }],
  ['cron @reboot', backup({ schedule: '@reboot' }), { refused: 'kytes:backup.schedule' }],
  ['cron six fields', backup({ schedule: '0 0 * * * *' }), { refused: 'kytes:backup.schedule' }],
  [
    'cron with a second line',
    backup({ schedule: '0 */4 * * *\n* * * * * root id' }),
    { refused: 'kytes:backup.schedule' },
  ],
  ['time zone in lower case', { 'kytes:timezone': 'europe/paris' }, { refused: 'kytes:timezone' }],
  ['time zone as an offset', { 'kytes:timezone': '+05:00' }, { refused: 'kytes:timezone' }],
  ['public subnet', network({ subnet: '172.217.0.0/16' }), { refused: 'kytes:network.subnet' }],
  ['subnet that is no address', network({ subnet: '10.999.0.0/16' }), { refused: 'kytes:network.subnet' }],
  ['subnet with host bits', network({ subnet: '10.1.2.3/16' }), { refused: 'kytes:network.subnet' }],
  ['subnet in docker0', network({ subnet: '172.17.5.0/24' }), { refused: 'kytes:network.subnet' }],
  ['subnet in a Docker pool', network({ subnet: '192.168.10.0/24' }), { refused: 'kytes:network.subnet' }],
  [
    'subnet too small for the stack',
    {
      ...network({ subnet: '10.20.30.0/28' }),
      ...instances(...Array.from({ length: 9 }, (_, i) => ({ name: `i${i}`, sshPort: 2300 + i }))),
    },
    { refused: 'kytes:network.subnet' },
  ],
  ['network named host', network({ name: 'host' }), { refused: 'kytes:network.name' }],
  ['network named bridge', network({ name: 'bridge' }), { refused: 'kytes:network.name' }],
  ['domain that is an IP address', { 'kytes:domain': '10.0.0.1' }, { refused: 'kytes:domain' }],
  [
    'hostname ending in digits',
    instances({ name: 'main', sshPort: 2222, hostname: 'gitlab.kytes.123' }),
    { refused: 'kytes:gitlab.instances[0].hostname' },
  ],
  [
    'hostname with an xn-- label that is not punycode',
    instances({ name: 'main', sshPort: 2222, hostname: 'gitlab.xn--0.example' }),
    { refused: 'kytes:gitlab.instances[0].hostname' },
  ],
  ['domain with an xn-- label that is not punycode', { 'kytes:domain': 'xn--a.kytes.io' }, { refused: 'kytes:domain' }],
  [
    'hostname over 64 (sethostname)',
    instances({ name: 'main', sshPort: 2222, hostname: `${'g'.repeat(56)}.kytes.io` }),
    { refused: 'kytes:gitlab.instances[0].hostname' },
  ],
  [
    'instance name over PostgreSQL 63',
    instances({ name: `a${'b'.repeat(55)}`, sshPort: 2222 }),
    { refused: 'kytes:gitlab.instances[0].name' },
  ],
  [
    'alias equal to a container name',
    { 'kytes:prefix': 'gitlab', ...instances({ name: 'postgres', sshPort: 2222 }) },
    { refused: 'kytes:gitlab.instances[0].name' },
  ],
  [
    'published port = SSH port of the host',
    { ...docker({ host: SSH }), ...instances({ name: 'main', sshPort: 22 }) },
    { refused: 'kytes:gitlab.instances[0].sshPort' },
  ],
  [
    'proxy port = SSH port of the host',
    { ...docker({ host: `${SSH}:2201` }), 'kytes:proxy': { httpPort: 2201 } },
    { refused: 'kytes:proxy.httpPort' },
  ],
  ['ssh port 0', docker({ host: 'ssh://docker1:0' }), { refused: 'kytes:docker.host' }],
  ['ssh port 99999', docker({ host: 'ssh://docker1:99999' }), { refused: 'kytes:docker.host' }],
  [
    'broadcast bind address',
    { 'kytes:proxy': { bindAddress: '255.255.255.255' } },
    { refused: 'kytes:proxy.bindAddress' },
  ],
  [
    'multicast bind address',
    { 'kytes:gitlab': { sshBindAddress: '224.0.0.1' } },
    { refused: 'kytes:gitlab.sshBindAddress' },
  ],
  ['bind address in 0.0.0.0/8', { 'kytes:proxy': { bindAddress: '0.1.2.3' } }, { refused: 'kytes:proxy.bindAddress' }],
  ['NUL in the admin name', { 'kytes:admin': { name: 'Kytes\u0000Admin' } }, { refused: 'kytes:admin.name' }],
  [
    'escape sequence in the admin name',
    { 'kytes:admin': { name: 'Kytes \u001b[31mAdmin' } },
    { refused: 'kytes:admin.name' },
  ],
  [
    'bidi override in the admin name',
    { 'kytes:admin': { name: 'Kytes \u202eAdmin' } },
    { refused: 'kytes:admin.name' },
  ],
  [
    'header injection in the e-mail',
    { 'kytes:admin': { email: 'ops@kytes.io\r\nBcc: x@evil.io' } },
    { refused: 'kytes:admin.email' },
  ],
  // 5. Silently ignored or misapplied.
  ['a typo of the namespace', { 'kyte:domain': 'kytes.io' }, { refused: 'kyte:domain' }],
  ['the namespace in capitals', { 'Kytes:domain': 'kytes.io' }, { refused: 'Kytes:domain' }],
  [
    'a dotted key without --path',
    { 'kytes:backup.dir': '/srv/b' },
    { refused: 'kytes:backup.dir: received "/srv/b"; allowed: no key with a dot' },
  ],
  [
    '__proto__ smuggling a restore',
    { 'kytes:__proto__': { restore: { from: '20261122T040000Z' } } },
    { refused: 'kytes:__proto__' },
  ],
  // As Pulumi hands it over: JSON text with an own "__proto__" key (an object literal would set the prototype).
  [
    '__proto__ inside a section',
    { 'kytes:backup': '{"__proto__":{"dir":"/"}}' },
    { refused: 'kytes:backup.__proto__' },
  ],
  [
    'constructor inside a section',
    { 'kytes:gitlab': { constructor: { prototype: {} } } },
    { refused: 'kytes:gitlab.constructor' },
  ],
  // 6. Secrets where none belong, and secrets in messages.
  [
    'a restore id set with --secret',
    { 'kytes:restore': { from: 'hunter2-restore' } },
    { refused: 'kytes:restore: received a secret value', secret: 'hunter2-restore' },
    ['kytes:restore'],
  ],
  [
    'a backup alert that is not a URL (a secret: never shown)',
    backup({ alert: 'hunter2-alert' }),
    {
      refused: 'kytes:backup.alert: received a secret value; allowed: an http:// or https:// URL',
      secret: 'hunter2-alert',
    },
    ['kytes:backup'],
  ],
  [
    'an sshOpts key path set with --secret',
    docker({ host: SSH, sshOpts: ['-i', '/home/ops/.ssh/secret-key-path'] }),
    { refused: 'kytes:docker: received a secret value', secret: 'secret-key-path' },
    ['kytes:docker'],
  ],
  [
    'a bad value in a secret section',
    backup({ dir: 'relative-secret-dir' }),
    { refused: 'kytes:backup.dir: received a secret value', secret: 'relative-secret-dir' },
    ['kytes:backup'],
  ],
  [
    'an unknown key in a secret section',
    backup({ bogus: 'secret-bogus-value' }),
    { refused: 'kytes:backup.bogus: received a secret value', secret: 'secret-bogus-value' },
    ['kytes:backup'],
  ],
];

const LANDS: Case[] = [
  [
    'admin name with quotes, $( ), backquotes, %, #{}',
    { 'kytes:admin': { name: HOSTILE_TEXT.slice(0, 64) } },
    {
      sameShape: true,
      lands: (_r, s) => expect(env(s, 'kytes-dev-rocketchat', 'ADMIN_NAME')).toEqual([HOSTILE_TEXT.slice(0, 64)]),
    },
  ],
  [
    'admin name in several scripts',
    { 'kytes:admin': { name: 'Zoë Ångström 😀 قسم' } },
    {
      sameShape: true,
      lands: (_r, s) => expect(env(s, 'kytes-dev-rocketchat', 'ADMIN_NAME')).toEqual(['Zoë Ångström 😀 قسم']),
    },
  ],
  [
    'admin e-mail with a quote and a plus',
    { 'kytes:admin': { email: "o'brien+ops@kytes.io" } },
    {
      sameShape: true,
      lands: (_r, s) => expect(env(s, 'kytes-dev-rocketchat', 'ADMIN_EMAIL')).toEqual(["o'brien+ops@kytes.io"]),
    },
  ],
  [
    'trigger with shell text',
    backup({ dir: '/var/tmp/kytes-dev/backups', trigger: '$(touch /tmp/kytes-pwned); rm -rf / #' }),
    {
      lands: (r, s) => {
        expect(unwrap(r.resources.find((x) => x.name === 'kytes-dev-ops-backup-on-demand')!.inputs.triggers)).toEqual([
          '$(touch /tmp/kytes-pwned); rm -rf / #',
        ]);
        expect(Object.values(s.shell).some((t) => t.includes('kytes-pwned'))).toBe(false);
      },
    },
  ],
  [
    'backup dir with every allowed punctuation',
    backup({ dir: '/srv/kytes+backups/a_b.c@d-e' }),
    {
      sameShape: true,
      lands: (_r, s) => {
        expect(cronJobs(s.cron)[0].command).toBe(
          "'/opt/kytes/kytes-dev/kytes-backup' --scheduled >> '/srv/kytes+backups/a_b.c@d-e/cron.log' 2>&1",
        );
        expect(lib(s)).toContain("\nBACKUP_DIR='/srv/kytes+backups/a_b.c@d-e'\n");
      },
    },
  ],
  [
    'off-host rsync target',
    backup({ dir: '/var/tmp/kytes-dev/backups', offHost: 'backup@vault.kytes.io:/srv/b+k/x_y' }),
    {
      sameShape: true,
      lands: (_r, s) => expect(lib(s)).toContain("\nOFFHOST='backup@vault.kytes.io:/srv/b+k/x_y'\n"),
    },
  ],
  [
    'off-host path on other storage',
    backup({ dir: '/var/tmp/kytes-dev/backups', offHost: '/mnt/nas/kytes' }),
    {
      sameShape: true,
      lands: (_r, s) => expect(lib(s)).toContain("\nOFFHOST='/mnt/nas/kytes'\n"),
    },
  ],
  [
    'instance name of 40 characters (nginx variables_hash)',
    instances({ name: `a${'b'.repeat(39)}`, sshPort: 2222 }),
    {
      lands: (_r, s) => {
        expect(s.nginx).toContain('variables_hash_bucket_size 128;');
        expect(s.nginx).toContain(`set $upstream_gitlab_a${'b'.repeat(39)} http://gitlab-a${'b'.repeat(39)}:80;`);
      },
    },
  ],
  [
    'instance name of 54 characters (PostgreSQL names of 63)',
    instances({ name: `a${'b'.repeat(53)}`, sshPort: 2222, hostname: 'gitlab.kytes.localhost' }),
    {
      lands: (r, s) => {
        const sql = String(unwrap(r.resources.find((x) => x.name === 'kytes-dev-postgres-setup')!.inputs.stdin));
        expect(sql).toContain(`ALTER ROLE "gitlab_a${'b'.repeat(53)}" WITH LOGIN`);
        expect(sql).toContain(`ALTER DATABASE "gitlabhq_a${'b'.repeat(53)}" OWNER TO "gitlab_a${'b'.repeat(53)}";`);
        expect(s.nginx).toContain('variables_hash_bucket_size 128;');
      },
    },
  ],
  [
    'hostname of exactly 64 characters',
    instances({ name: 'main', sshPort: 2222, hostname: `${'g'.repeat(55)}.kytes.io` }),
    {
      lands: (r) => {
        const c = r.resources.find((x) => x.name === 'kytes-dev-gitlab-main-container')!;
        expect(String(unwrap(c.inputs.hostname))).toHaveLength(64);
      },
    },
  ],
  [
    'Rocket.Chat hostname of 253 characters',
    {
      'kytes:rocketchat': {
        hostname: `${'r'.repeat(61)}.${'r'.repeat(61)}.${'r'.repeat(61)}.${'r'.repeat(59)}.chat.io`,
      },
    },
    {
      lands: (_r, s) => {
        expect(s.nginx).toMatch(/server_name (r{61}\.){3}r{59}\.chat\.io;/);
        expect(`${'r'.repeat(61)}.${'r'.repeat(61)}.${'r'.repeat(61)}.${'r'.repeat(59)}.chat.io`).toHaveLength(253);
      },
    },
  ],
  [
    'punycode hostname',
    instances({ name: 'main', sshPort: 2222, hostname: 'xn--bcher-kva.example' }),
    {
      lands: (_r, s) => expect(Object.values(s.ruby)[0]).toContain("external_url 'http://xn--bcher-kva.example:8080'"),
    },
  ],
  [
    'time zone that is a tz link',
    { 'kytes:timezone': 'America/Argentina/ComodRivadavia' },
    {
      sameShape: true,
      lands: (_r, s) => expect(s.cron).toContain('\nCRON_TZ=America/Argentina/ComodRivadavia\n'),
    },
  ],
  [
    'time zone with a plus sign',
    { 'kytes:timezone': 'Etc/GMT+5' },
    {
      sameShape: true,
      lands: (_r, s) => expect(Object.values(s.ruby)[0]).toContain("gitlab_rails['time_zone'] = 'Etc/GMT+5'"),
    },
  ],
  [
    'replica set with _ and -',
    { 'kytes:mongo': { replicaSet: 'rs_0-A' } },
    {
      sameShape: true,
      lands: (_r, s) => {
        expect(s.argv['kytes-dev-mongo-0'].slice(0, 3)).toEqual(['mongod', '--replSet', 'rs_0-A']);
        expect(s.javascript['mongo-init']).toContain('const replicaSet = "rs_0-A";');
        expect(lib(s)).toContain("\nMONGO_REPLICA_SET='rs_0-A'\n");
      },
    },
  ],
  [
    'cron on 29 February',
    backup({ dir: '/var/tmp/kytes-dev/backups', schedule: '0 3 29 2 *' }),
    {
      sameShape: true,
      lands: (_r, s) => expect(cronJobs(s.cron)[0].fields).toEqual(['0', '3', '29', '2', '*']),
    },
  ],
  [
    'cron with names',
    backup({ dir: '/var/tmp/kytes-dev/backups', schedule: '15 2 * jan-jun mon-fri' }),
    {
      sameShape: true,
      lands: (_r, s) => expect(cronJobs(s.cron)[0].fields).toEqual(['15', '2', '*', 'jan-jun', 'mon-fri']),
    },
  ],
  [
    'subnet in a Docker pool when allowed',
    network({ subnet: '172.17.5.0/24', allowDockerPools: true }),
    {
      lands: (r, s) => {
        const n = r.resources.find((x) => x.type === 'docker:index/network:Network')!;
        expect(unwrap(n.inputs.ipamConfigs)).toEqual([{ subnet: '172.17.5.0/24' }]);
        expect(Object.values(s.ruby)[0]).toContain(
          "gitlab_rails['nginx']['real_ip_trusted_addresses'] = ['172.17.5.0/24']",
        );
      },
    },
  ],
  [
    'a local socket other than the default',
    docker({ host: 'unix:///run/user/1000/docker.sock' }),
    {
      lands: (_r, s) => {
        expect(lib(s)).toContain("\nexport DOCKER_HOST='unix:///run/user/1000/docker.sock'\n");
        expect(s.shell['kytes-dev-postgres-setup.create']).toMatch(
          /^DOCKER_HOST='unix:\/\/\/run\/user\/1000\/docker.sock' exec /,
        );
      },
    },
  ],
  [
    'ssh options with spaces and % tokens',
    docker({ host: SSH, sshOpts: ['-o', 'ProxyCommand=ssh -W %h:%p bastion.kytes.io', '-i', '/home/o p/.ssh/k'] }),
    {
      lands: (r) => {
        const p = r.resources.find((x) => x.type === 'pulumi:providers:docker')!;
        const opts = JSON.parse(String(unwrap(p.inputs.sshOpts))) as string[];
        expect(opts.slice(-4)).toEqual(['-o', 'ProxyCommand=ssh -W %h:%p bastion.kytes.io', '-i', '/home/o p/.ssh/k']);
        const cmd = r.resources.find((x) => x.name === 'kytes-dev-ops-scripts')!;
        expect(unwrap(cmd.inputs.interpreter)).toEqual([
          'ssh',
          ...opts,
          '-p',
          '22',
          '-l',
          'deploy',
          '--',
          'docker1.kytes.io',
        ]);
      },
    },
  ],
  [
    'a pinned host key',
    docker({ host: SSH, hostKey: KEY }),
    {
      lands: (r) => {
        const pinned = (c: (typeof r.resources)[number]) =>
          (unwrap(c.inputs.interpreter) as string[]).includes(`KnownHostsCommand=/bin/echo %H ${KEY}`);
        const commands = r.resources.filter((x) => x.type.startsWith('command:'));
        expect(commands.map((c) => [c.name, pinned(c)]).sort()).toEqual(DEV_COMMANDS.map((n) => [n, true]));
      },
    },
  ],
  [
    'a master secret full of shell and SQL text',
    {},
    {
      sameShape: true,
      lands: (r) => {
        const all = JSON.stringify(r.resources.map((x) => unwrap(x.inputs)));
        expect(all).not.toContain("$(touch /tmp/kytes-pwned)'%");
      },
    },
    ['MASTER:' + `'"$(touch /tmp/kytes-pwned)'%;--\\ ${TEST_MASTER_SECRET}`],
  ],
  [
    'bind address 127.0.0.2',
    { 'kytes:proxy': { httpPort: 8080, bindAddress: '127.0.0.2' } },
    {
      lands: (r) => {
        const c = r.resources.find((x) => x.name === 'kytes-dev-nginx-container')!;
        expect(unwrap(c.inputs.ports)).toEqual([{ internal: 8080, external: 8080, ip: '127.0.0.2', protocol: 'tcp' }]);
      },
    },
  ],
];

const asObject = ([what, config, expected, secretKeys]: Case) => ({
  what,
  config,
  expected,
  secretKeys: secretKeys ?? [],
});
const count = { refused: REFUSED.length, lands: LANDS.length };

/** The dev stack with a backup schedule (dev's is off): the cron file is one of the sinks audited. */
function base(): Record<string, string> {
  const dev = stackConfig('dev');
  return { ...dev, 'kytes:backup': JSON.stringify({ ...JSON.parse(dev['kytes:backup']), schedule: '0 */4 * * *' }) };
}

async function run(config: Record<string, unknown>, secretKeys: string[] = []): Promise<StackRun> {
  const master = secretKeys.find((k) => k.startsWith('MASTER:'));
  return runProgram(
    'dev',
    { ...base(), ...flattenConfig(config) },
    { secretKeys: secretKeys.filter((k) => !k.startsWith('MASTER:')), masterSecret: master?.slice('MASTER:'.length) },
  );
}

async function shapes(sinks: Sinks): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [label, text] of Object.entries(sinks.shell)) out[label] = await shellShape(text);
  return out;
}

describe(`hostile configs: ${count.refused} refused, ${count.lands} land safely`, () => {
  let baseline: Record<string, string>;
  beforeAll(async () => {
    baseline = await shapes(collectSinks((await run({})).resources, 'kytes-dev'));
  }, 60000);

  it.each(REFUSED.map(asObject))('refused: $what', async ({ config, expected, secretKeys }) => {
    const error = await run(config, secretKeys).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProgramError);
    const e = error as ProgramError;
    const r = expected as Refused;
    expect(e.message).toContain(r.refused);
    expect(e.resources).toEqual([]);
    if (r.secret) expect(e.message).not.toContain(r.secret);
  });

  it.each(LANDS.map(asObject))(
    'lands safely: $what',
    async ({ config, expected, secretKeys }) => {
      const result = await run(config, secretKeys);
      const sinks = collectSinks(result.resources, 'kytes-dev');
      expect(parseProblems(sinks)).toEqual([]);
      const l = expected as Lands;
      if (l.sameShape) expect(await shapes(sinks)).toEqual(baseline);
      l.lands(result, sinks);
    },
    30000,
  );
});
