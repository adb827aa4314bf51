// The mocks must be in place before any module that declares resources is loaded.
import { byName, mockStdout, promiseOf, registered, settled } from './helpers/mocks-ops';
import * as command from '@pulumi/command';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { configSchema, KytesConfigInput } from '../lib/config';
import { deriveTopology, Topology } from '../lib/topology';
import { BackupOps, BackupOpsArgs, encodeScripts, renderCronFile } from '../ops/backupOps';
import { HostCommand } from '../ops/host';
import { findInlineSecrets } from '../policies/rules/secret-scan';

/** How Pulumi's mocks record a secret input (the runtime's secret signature). */
const SECRET_SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

const SCRIPTS = {
  'kytes-backup': '#!/bin/bash\necho "it\'s a backup"\necho 20261122T040000Z\n',
  'kytes-restore': '#!/bin/bash\necho restore "$1"\n',
  'kytes-lib.sh': '# shellcheck shell=bash\nlog() { echo "$*"; }\n',
};

function topology(input: KytesConfigInput): Topology {
  return deriveTopology(configSchema.parse(input), 'dev');
}

const TWO_INSTANCES: KytesConfigInput = {
  gitlab: {
    instances: [
      { name: 'main', sshPort: 2222 },
      { name: 'team-b', sshPort: 2223 },
    ],
  },
};
const LOCAL = topology(TWO_INSTANCES);
const SSH = topology({
  ...TWO_INSTANCES,
  docker: { host: 'ssh://deploy@docker.example.com:2200', sshOpts: ['-i', '~/.ssh/kytes'] },
});
/** The ssh command line every command of SSH runs under: the stack's one connection. */
const SSH_INTERPRETER = [
  'ssh',
  '-o',
  'BatchMode=yes',
  '-o',
  'StrictHostKeyChecking=yes',
  '-i',
  '~/.ssh/kytes',
  '-p',
  '2200',
  '-l',
  'deploy',
  '--',
  'docker.example.com',
];

/** Stand-ins for the service containers the lead's components create. */
function containers(prefix: string, t: Topology) {
  const container = (n: string) => new docker.Container(`${prefix}-${n}`, { name: n, image: `sha256:${n}` });
  const gitlab = Object.fromEntries(t.gitlab.map((g) => [g.name, container(`gitlab-${g.name}`)]));
  const others = [container('postgres'), container('redis'), container('mongo-init'), container('rocketchat')];
  return { gitlab, others, all: [...Object.values(gitlab), ...others] };
}

interface Built {
  readonly ops: BackupOps;
  readonly deps: ReturnType<typeof containers>;
}

async function build(name: string, t: Topology, extra: Partial<BackupOpsArgs> = {}): Promise<Built> {
  const deps = containers(name, t);
  const ops = new BackupOps(name, {
    topology: t,
    scripts: SCRIPTS,
    gitlabContainers: deps.gitlab,
    dependsOn: deps.others,
    ...extra,
  });
  const children: HostCommand[] = [
    ops.scripts,
    ...(ops.backupSchedule ? [ops.backupSchedule] : []),
    ops.predestroyBackup,
    ...Object.values(ops.decommissionBackups),
  ];
  if (ops.onDemandBackup) children.push(ops.onDemandBackup);
  if (ops.restore) children.push(ops.restore);
  await settled([ops, ...deps.all, ...children]);
  return { ops, deps };
}

/** What bash itself would read back from a single-quoted word: the test's own implementation. */
function quoted(s: string): string {
  return "'" + s.split("'").join("'\\''") + "'";
}

const AS_ROOT = [
  'if [ "$(id -u)" -ne 0 ]; then',
  '  if ! command -v sudo >/dev/null 2>&1; then',
  '    echo "kytes: error: $(id -un)@$(uname -n) is not root and sudo is not installed there, and Kytes ops run as root on the Docker host: log in as root, or install sudo and allow $(id -un) password-less sudo; nothing was changed" >&2',
  '    exit 1',
  '  fi',
  '  if ! sudo -n true 2>/dev/null; then',
  '    echo "kytes: error: $(id -un)@$(uname -n) is not root and may not use sudo without a password, and Kytes ops run as root on the Docker host: log in as root, or allow $(id -un) password-less sudo there (a sudoers line such as: $(id -un) ALL=(root) NOPASSWD: ALL); nothing was changed" >&2',
  '    exit 1',
  '  fi',
  '  exec sudo -n -- /bin/bash -c "$BASH_EXECUTION_STRING"',
  'fi',
].join('\n');

const script = (...lines: string[]) => ['set -euo pipefail', ...lines].join('\n');

const B = '/var/backups/kytes/kytes-dev';
const S = '/opt/kytes/kytes-dev';

const MARK = `'${B}/last-ondelete-backup'`;
const ON_DELETE_HEAD = (what: string) => [
  `if [ "\${KYTES_SKIP_PREDESTROY_BACKUP:-}" = 1 ]; then printf 'kytes: KYTES_SKIP_PREDESTROY_BACKUP=1: deleting %s WITHOUT a backup\\n' '${what}' >&2; exit 0; fi`,
  AS_ROOT,
  `if [ -n "$(find '${B}/skip-predestroy-backup' -maxdepth 0 -mmin -60 2>/dev/null)" ]; then printf 'kytes: %s is less than an hour old: deleting %s WITHOUT a backup\\n' '${B}/skip-predestroy-backup' '${what}' >&2; exit 0; fi`,
];
const ON_DELETE_TAIL = (what: string, label: string) => [
  `printf 'kytes: backup before deleting %s\\n' '${what}' >&2`,
  `id="$(KYTES_LOCK_WAIT=3600 "$backup" --label ${label} | tail -n 1)"`,
  `printf '%s\\n' "$id" 'main' 'team-b' > ${MARK}`,
];
const UNPACK = (dir: string) => [
  'while read -r file content; do',
  `  base64 -d <<<"$content" > ${dir}/".$file.tmp"`,
  `  chmod 0755 ${dir}/".$file.tmp"`,
  `  mv -f ${dir}/".$file.tmp" ${dir}/"$file"`,
  'done',
];
const DECOMMISSION = (instance: string) => ({
  create: 'cat >/dev/null',
  delete: script(
    ...ON_DELETE_HEAD(`GitLab instance ${instance}`),
    `if [ -n "$(find ${MARK} -maxdepth 0 -mmin -30 2>/dev/null)" ] && tail -n +2 ${MARK} | grep -qxF -- '${instance}'; then`,
    `  printf 'kytes: %s is in backup %s, taken just before\\n' 'GitLab instance ${instance}' "$(head -n 1 ${MARK})" >&2`,
    '  exit 0',
    'fi',
    `install -d -m 0755 '${S}'`,
    `snapshot="$(mktemp -d '${S}/.ondelete.XXXXXX')"`,
    `trap 'rm -rf -- "$snapshot"' EXIT`,
    ...UNPACK('"$snapshot"'),
    'backup="$snapshot/kytes-backup"',
    ...ON_DELETE_TAIL(`GitLab instance ${instance}`, 'decommission'),
  ),
});

/** The bash scripts every command of a local-host BackupOps named `ops` runs, as the test expects them. */
const EXPECTED: Record<string, { create: string; delete?: string }> = {
  'ops-scripts': {
    create: script(
      AS_ROOT,
      `install -d -m 0755 '${S}'`,
      `install -d -m 0700 '${B}'`,
      ...UNPACK(`'${S}'`),
      `for f in '${S}'/kytes-*; do`,
      '  case "${f##*/}" in',
      "    'kytes-backup'|'kytes-lib.sh'|'kytes-restore') ;;",
      '    *) rm -f -- "$f" ;;',
      '  esac',
      'done',
      `rm -f -- ${MARK}`,
    ),
    delete: script(
      AS_ROOT,
      `rm -f -- '${S}'/'kytes-backup' '${S}'/'kytes-lib.sh' '${S}'/'kytes-restore'`,
      `rmdir --ignore-fail-on-non-empty -- '${S}' 2>/dev/null || true`,
    ),
  },
  'ops-backup-schedule': {
    create: script(
      AS_ROOT,
      `if [ ! -d '/etc/cron.d' ]; then printf 'kytes: no %s on this host; install cron\\n' '/etc/cron.d' >&2; exit 1; fi`,
      `command -v cron >/dev/null || command -v crond >/dev/null || printf 'kytes: warning: no cron daemon found; %s will not run until one is installed\\n' 'scheduled backups' >&2`,
      "cat > '/etc/cron.d/.kytes-kytes-dev.tmp'",
      "chmod 0644 '/etc/cron.d/.kytes-kytes-dev.tmp'",
      "mv -f '/etc/cron.d/.kytes-kytes-dev.tmp' '/etc/cron.d/kytes-kytes-dev'",
    ),
    delete: script(AS_ROOT, "rm -f -- '/etc/cron.d/kytes-kytes-dev'"),
  },
  'ops-backup-on-demand': { create: script(AS_ROOT, `KYTES_LOCK_WAIT=3600 exec '${S}/kytes-backup' --label ondemand`) },
  'ops-restore': {
    create: script(AS_ROOT, `KYTES_LOCK_WAIT=3600 exec '${S}/kytes-restore' --yes --once '20261122T040000Z'`),
  },
  'ops-decommission-backup-main': DECOMMISSION('main'),
  'ops-decommission-backup-team-b': DECOMMISSION('team-b'),
  'ops-predestroy-backup': {
    create: 'true',
    delete: script(
      ...ON_DELETE_HEAD('the containers of kytes-dev'),
      `backup='${S}/kytes-backup'`,
      `if [ ! -x "$backup" ]; then printf 'kytes: %s is missing, so no backup can be taken before deleting the containers of %s; run pulumi up to reinstall it, or skip the backup (KYTES_SKIP_PREDESTROY_BACKUP=1 or %s)\\n' '${S}/kytes-backup' 'kytes-dev' '${B}/skip-predestroy-backup' >&2; exit 1; fi`,
      ...ON_DELETE_TAIL('the containers of kytes-dev', 'predestroy'),
    ),
  },
};

const LOCAL_ARGS = { backupTrigger: 'first', restoreFrom: '20261122T040000Z' };
let local: Built;

beforeAll(async () => {
  mockStdout.set('ops-backup-on-demand', 'backup log line\nverified\n20261122T040000Z');
  local = await build('ops', LOCAL, LOCAL_ARGS);
  await build('sshops', SSH, LOCAL_ARGS);
});

const commandsOf = (prefix: string) =>
  [...registered.values()].filter((r) => r.name.startsWith(`${prefix}-`) && r.type.startsWith('command:'));

describe('BackupOps on a local Docker host', () => {
  it('declares exactly these children, all local commands', () => {
    expect(
      [...registered.values()]
        .filter((r) => r.name === 'ops' || r.type.startsWith('command:'))
        .filter((r) => r.name === 'ops' || r.name.startsWith('ops-'))
        .map((r) => [r.type, r.name])
        .sort(),
    ).toEqual(
      [['kytes:ops:BackupOps', 'ops'], ...Object.keys(EXPECTED).map((n) => ['command:local:Command', n])].sort(),
    );
  });

  it.each(Object.keys(EXPECTED))('%s runs exactly the expected create and delete scripts under bash', (name) => {
    const inputs = byName(name).inputs;
    expect(inputs.create).toBe(EXPECTED[name].create);
    expect(inputs.delete).toBe(EXPECTED[name].delete);
    expect(inputs.interpreter).toEqual(['/bin/bash', '-c']);
    expect(inputs.addPreviousOutputInEnv).toBe(false);
    expect(inputs.logging).toBe('stdoutAndStderr');
    expect(inputs.environment).toBeUndefined();
  });

  it('parents every child to the component and replaces children by deleting first', () => {
    const parent = byName('ops');
    for (const name of Object.keys(EXPECTED)) {
      const child = byName(name);
      expect(child.parent).toBe(parent.urn);
      expect(child.urn).toBe(`urn:pulumi:dev::kytes::kytes:ops:BackupOps$command:local:Command::${name}`);
      expect(child.deleteBeforeReplace).toBe(true);
    }
  });

  it('installs the scripts from stdin, one base64 line per file, in name order', () => {
    const stdin = String(byName('ops-scripts').inputs.stdin);
    const lines = stdin.split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['kytes-backup', 'kytes-lib.sh', 'kytes-restore', '']);
    const decoded = Object.fromEntries(
      lines
        .filter((l) => l !== '')
        .map((l) => [l.split(' ')[0], Buffer.from(l.split(' ')[1], 'base64').toString('utf8')]),
    );
    expect(decoded).toEqual(SCRIPTS);
    expect(stdin).toBe(encodeScripts(SCRIPTS));
  });

  it('gives each decommission guard the scripts it will run if its instance leaves the config', () => {
    expect(byName('ops-decommission-backup-main').inputs.stdin).toBe(encodeScripts(SCRIPTS));
    expect(byName('ops-decommission-backup-team-b').inputs.stdin).toBe(encodeScripts(SCRIPTS));
    expect(byName('ops-predestroy-backup').inputs.stdin).toBeUndefined();
  });

  it('changed script content changes only stdin, so the scripts are re-installed in place', () => {
    const changed = encodeScripts({ ...SCRIPTS, 'kytes-backup': '#!/bin/bash\necho v2\n' });
    expect(changed).not.toBe(encodeScripts(SCRIPTS));
    expect(byName('ops-scripts').inputs.triggers).toBeUndefined();
  });

  it('writes the cron file of the stack with the default schedule, every 4 hours', () => {
    expect(byName('ops-backup-schedule').inputs.stdin).toBe(
      '# Kytes stack dev (kytes-dev): scheduled backups. Managed by Pulumi; set kytes:backup.schedule instead of editing.\n' +
        'SHELL=/bin/bash\n' +
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' +
        'CRON_TZ=UTC\n' +
        `0 */4 * * * root '${S}/kytes-backup' --scheduled >> '${B}/cron.log' 2>&1\n`,
    );
    expect(LOCAL.ops.cronFile).toBe('/etc/cron.d/kytes-kytes-dev');
  });

  it('renders a configured schedule and time zone, and collapses whitespace so no second cron line can appear', () => {
    const t = topology({ timezone: 'Europe/Paris', backup: { schedule: '30 2 * * 1-5' } });
    expect(renderCronFile(t, '30 2 * * 1-5').split('\n').slice(3)).toEqual([
      'CRON_TZ=Europe/Paris',
      `30 2 * * 1-5 root '${S}/kytes-backup' --scheduled >> '${B}/cron.log' 2>&1`,
      '',
    ]);
  });

  it('runs an on-demand backup keyed on kytes:backup.trigger and reports its id', async () => {
    expect(byName('ops-backup-on-demand').inputs.triggers).toEqual(['first']);
    expect(await promiseOf(local.ops.lastBackupId)).toBe('20261122T040000Z');
  });

  it('a new trigger value is a new trigger, so pulumi up replaces the command and backs up again', async () => {
    const t = topology({ prefix: 'kytes-trig', ...TWO_INSTANCES });
    await build('trig', t, { backupTrigger: 'second' });
    expect(byName('trig-backup-on-demand').inputs.triggers).toEqual(['second']);
    expect(byName('ops-backup-on-demand').inputs.triggers).not.toEqual(byName('trig-backup-on-demand').inputs.triggers);
  });

  it('without trigger or restore id declares neither command', async () => {
    const built = await build('plain', topology({ prefix: 'kytes-plain' }));
    expect(built.ops.onDemandBackup).toBeUndefined();
    expect(built.ops.restore).toBeUndefined();
    expect(registered.has('plain-backup-on-demand')).toBe(false);
    expect(registered.has('plain-restore')).toBe(false);
    expect(await promiseOf(built.ops.lastBackupId)).toBeUndefined();
    expect(
      commandsOf('plain')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['plain-backup-schedule', 'plain-decommission-backup-main', 'plain-predestroy-backup', 'plain-scripts']);
  });

  it('restores keyed on kytes:restore.from, passing the id as one quoted word', () => {
    expect(byName('ops-restore').inputs.triggers).toEqual(['20261122T040000Z']);
  });

  it('orders commands by dependencies so deletes back up before containers go', () => {
    const urn = (r: pulumi.Resource) => promiseOf(r.urn);
    return Promise.all([
      Promise.all(Object.values(local.deps.gitlab).map(urn)),
      Promise.all(local.deps.others.map(urn)),
      urn(local.deps.gitlab.main),
      urn(local.deps.gitlab['team-b']),
    ]).then(([gitlab, others, main, teamB]) => {
      const scripts = byName('ops-scripts').urn;
      const decoMain = byName('ops-decommission-backup-main').urn;
      const decoB = byName('ops-decommission-backup-team-b').urn;
      const onDemand = byName('ops-backup-on-demand').urn;
      const deps = (n: string) => [...byName(n).dependencies].sort();
      expect(deps('ops-scripts')).toEqual([]);
      expect(deps('ops-backup-schedule')).toEqual([scripts]);
      expect(deps('ops-backup-on-demand')).toEqual([scripts, ...gitlab, ...others].sort());
      expect(deps('ops-restore')).toEqual([scripts, ...gitlab, ...others, onDemand].sort());
      expect(deps('ops-decommission-backup-main')).toEqual([scripts, main, ...others].sort());
      expect(deps('ops-decommission-backup-team-b')).toEqual([scripts, teamB, ...others, decoMain].sort());
      expect(deps('ops-predestroy-backup')).toEqual([scripts, ...gitlab, ...others, decoMain, decoB].sort());
    });
  });

  it('registers its paths as outputs', () => {
    expect([local.ops.backupDir, local.ops.scriptsDir, local.ops.cronFile]).toEqual([
      B,
      S,
      '/etc/cron.d/kytes-kytes-dev',
    ]);
  });
});

describe('BackupOps on an ssh:// Docker host', () => {
  const sshName = (n: string) => n.replace(/^ops-/, 'sshops-');

  it('declares the same children, local commands that run ssh', () => {
    expect(
      commandsOf('sshops')
        .map((r) => [r.type, r.name])
        .sort(),
    ).toEqual(
      Object.keys(EXPECTED)
        .map((n) => ['command:local:Command', sshName(n)])
        .sort(),
    );
  });

  it.each(Object.keys(EXPECTED))('%s runs the same scripts through /bin/bash -c on the host', (name) => {
    const inputs = byName(sshName(name)).inputs;
    const local = EXPECTED[name];
    expect(inputs.create).toBe(`/bin/bash -c ${quoted(local.create)}`);
    expect(inputs.delete).toBe(local.delete === undefined ? undefined : `/bin/bash -c ${quoted(local.delete)}`);
    expect(inputs.environment).toBeUndefined();
    expect(inputs.addPreviousOutputInEnv).toBe(false);
  });

  it('spells one remote command out in full', () => {
    expect(byName('sshops-restore').inputs.create).toBe(
      "/bin/bash -c 'set -euo pipefail\n" +
        AS_ROOT.split("'").join("'\\''") +
        "\nKYTES_LOCK_WAIT=3600 exec '\\''/opt/kytes/kytes-dev/kytes-restore'\\'' --yes --once '\\''20261122T040000Z'\\'''",
    );
  });

  it('reaches the host with the ssh command line of the connection: user, port, sshOpts, host-key checking', () => {
    expect(
      commandsOf('sshops')
        .map((r) => [r.name, r.inputs.interpreter])
        .sort(),
    ).toEqual(
      Object.keys(EXPECTED)
        .map((n) => [n.replace(/^ops-/, 'sshops-'), SSH_INTERPRETER])
        .sort(),
    );
  });

  it('pins the host key when kytes:docker.hostKey is set, and lets ssh pick the user when the URL has none', async () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    await build(
      'rootops',
      topology({ prefix: 'kytes-root', docker: { host: 'ssh://docker.example.com', hostKey: key } }),
    );
    expect(byName('rootops-scripts').inputs.interpreter).toEqual([
      'ssh',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      `KnownHostsCommand=/bin/echo %H ${key}`,
      '-p',
      '22',
      '--',
      'docker.example.com',
    ]);
  });

  it('has no command string the policy pack would flag as holding a secret', () => {
    const findings = [...commandsOf('ops'), ...commandsOf('sshops')].flatMap((r) =>
      ['create', 'delete'].flatMap((step) =>
        findInlineSecrets(String(r.inputs[step] ?? '')).map((f) => `${r.name} ${step} ${f.kind}`),
      ),
    );
    expect(findings).toEqual([]);
  });
});

describe('BackupOps with a restic off-host repository', () => {
  const RESTIC_PASSWORD = 'restic-sentinel-9c4e1f';
  const t = topology({ prefix: 'kytes-rst', ...TWO_INSTANCES });
  let restic: Built;
  beforeAll(async () => {
    restic = await build('rstops', t, { ...LOCAL_ARGS, resticPassword: pulumi.secret(RESTIC_PASSWORD) });
    await settled([restic.ops.resticPasswordFile!]);
  });

  it('writes the password file from stdin, as a secret, with logging off, into a root-only file', () => {
    const inputs = byName('rstops-restic-password').inputs;
    expect(inputs.stdin).toEqual({ [SECRET_SIG_KEY]: SECRET_SIG, value: RESTIC_PASSWORD });
    expect(inputs.logging).toBe('none');
    expect(inputs.create).toBe(
      script(
        AS_ROOT,
        'umask 077',
        "install -d -m 0700 '/etc/kytes/kytes-rst'",
        "cat > '/etc/kytes/kytes-rst/restic-password.tmp'",
        `test -s '/etc/kytes/kytes-rst/restic-password.tmp' || { echo "kytes: empty restic password on stdin" >&2; exit 1; }`,
        "chmod 0600 '/etc/kytes/kytes-rst/restic-password.tmp'",
        "mv -f '/etc/kytes/kytes-rst/restic-password.tmp' '/etc/kytes/kytes-rst/restic-password'",
      ),
    );
    // No delete: the file outlives destroy, so the backup taken then can still reach the repository.
    expect(inputs.delete).toBeUndefined();
  });

  it('puts the password in no command string, trigger or environment, and nowhere but that one stdin', () => {
    const leaks = commandsOf('rstops')
      .map((r) => ({
        name: r.name,
        text: JSON.stringify(r.name === 'rstops-restic-password' ? { ...r.inputs, stdin: undefined } : r.inputs),
      }))
      .filter((r) => r.text.includes(RESTIC_PASSWORD));
    expect(leaks).toEqual([]);
    expect(commandsOf('rstops').every((r) => r.inputs.environment === undefined)).toBe(true);
  });

  it('writes the password before any backup runs: backups, restores and delete guards depend on it', () => {
    const urn = byName('rstops-restic-password').urn;
    const dependents = commandsOf('rstops')
      .filter((r) => r.dependencies.includes(urn))
      .map((r) => r.name)
      .sort();
    expect(dependents).toEqual(['rstops-backup-on-demand', 'rstops-predestroy-backup', 'rstops-restore']);
    expect(byName('rstops-restic-password').dependencies).toEqual([byName('rstops-scripts').urn]);
  });

  it('declares no password command without a restic repository', () => {
    expect(commandsOf('ops').map((r) => r.name)).not.toContain('ops-restic-password');
  });
});

describe('BackupOps with kytes:backup.schedule off', () => {
  const t = topology({ prefix: 'kytes-off', backup: { schedule: 'off' } });
  let off: Built;
  beforeAll(async () => {
    off = await build('offops', t);
    await settled([off.ops.scheduleOff!]);
  });

  it('installs no cron file: no backup-schedule command, one that removes a cron file left by an earlier schedule', () => {
    expect(off.ops.backupSchedule).toBeUndefined();
    expect(registered.has('offops-backup-schedule')).toBe(false);
    const inputs = byName('offops-backup-schedule-off').inputs;
    expect(inputs.create).toBe(
      script(
        AS_ROOT,
        "if [ -e '/etc/cron.d/kytes-kytes-off' ]; then rm -f -- '/etc/cron.d/kytes-kytes-off'; printf 'kytes: kytes:backup.schedule is off: removed %s, no scheduled backups\\n' '/etc/cron.d/kytes-kytes-off' >&2; else printf 'kytes: kytes:backup.schedule is off: no scheduled backups\\n' >&2; fi",
      ),
    );
    // No delete: switching the schedule back on creates backup-schedule before this one is deleted.
    expect(inputs.delete).toBeUndefined();
    expect(inputs.stdin).toBeUndefined();
    expect(byName('offops-backup-schedule-off').dependencies).toEqual([byName('offops-scripts').urn]);
  });

  it('keeps every other command: backups on delete still run', () => {
    expect(
      commandsOf('offops')
        .map((r) => r.name)
        .sort(),
    ).toEqual([
      'offops-backup-schedule-off',
      'offops-decommission-backup-main',
      'offops-predestroy-backup',
      'offops-scripts',
    ]);
  });
});

describe('BackupOps with an alert webhook (kytes:backup.alert)', () => {
  const URL = 'https://chat.example.com/hooks/abc123/alert-sentinel-7f3e';
  const t = topology({ prefix: 'kytes-alrt' });
  beforeAll(async () => {
    const built = await build('alrtops', t, { ...LOCAL_ARGS, alertWebhook: pulumi.secret(URL) });
    await settled([built.ops.alertFile!]);
  });

  it('writes the curl config naming the webhook from stdin, as a secret, logging off, into a root-only file', () => {
    const inputs = byName('alrtops-backup-alert').inputs;
    expect(inputs.stdin).toEqual({ [SECRET_SIG_KEY]: SECRET_SIG, value: `url = "${URL}"\n` });
    expect(inputs.logging).toBe('none');
    expect(inputs.create).toBe(
      script(
        AS_ROOT,
        'umask 077',
        "install -d -m 0700 '/etc/kytes/kytes-alrt'",
        "cat > '/etc/kytes/kytes-alrt/backup-alert.curl.tmp'",
        `test -s '/etc/kytes/kytes-alrt/backup-alert.curl.tmp' || { echo "kytes: empty alert webhook on stdin" >&2; exit 1; }`,
        "chmod 0600 '/etc/kytes/kytes-alrt/backup-alert.curl.tmp'",
        "mv -f '/etc/kytes/kytes-alrt/backup-alert.curl.tmp' '/etc/kytes/kytes-alrt/backup-alert.curl'",
      ),
    );
    // Removed with the setting: no alert without it.
    expect(inputs.delete).toBe(script(AS_ROOT, "rm -f -- '/etc/kytes/kytes-alrt/backup-alert.curl'"));
    expect(byName('alrtops-backup-alert').dependencies).toEqual([byName('alrtops-scripts').urn]);
  });

  it('puts the URL in no command string, trigger or environment, nor any other input', () => {
    const leaks = commandsOf('alrtops')
      .map((r) => ({
        name: r.name,
        text: JSON.stringify(r.name === 'alrtops-backup-alert' ? { ...r.inputs, stdin: undefined } : r.inputs),
      }))
      .filter((r) => r.text.includes('alert-sentinel'));
    expect(leaks).toEqual([]);
  });

  it('declares no alert command without a webhook', () => {
    expect(commandsOf('ops').map((r) => r.name)).not.toContain('ops-backup-alert');
  });
});

describe('BackupOps installs its scripts after the upgrade guards (installAfter)', () => {
  it('the scripts command depends on them, so a pre-upgrade backup runs the scripts installed before', async () => {
    const guard = new command.local.Command('guardops-guard', { create: 'true' });
    const built = await build('guardops', topology({ prefix: 'kytes-grd' }), { installAfter: [guard] });
    await settled([built.ops.scripts, guard]);
    expect(byName('guardops-scripts').dependencies).toEqual([byName('guardops-guard').urn]);
  });
});

describe('BackupOps refuses inconsistent arguments', () => {
  const t = topology({ prefix: 'kytes-bad', ...TWO_INSTANCES });
  const make = (extra: Partial<BackupOpsArgs>) => () => {
    const deps = containers(`bad-${Object.keys(extra).join('-')}`, t);
    return new BackupOps('bad', { topology: t, scripts: SCRIPTS, gitlabContainers: deps.gitlab, ...extra });
  };

  it('a GitLab instance without its container, and a container without an instance', () => {
    const deps = containers('bad-gl', topology({ prefix: 'kytes-bad' }));
    const extraContainer = new docker.Container('bad-extra', { name: 'x', image: 'sha256:x' });
    expect(make({ gitlabContainers: { main: deps.gitlab.main, old: extraContainer } })).toThrow(
      'BackupOps: no container given for GitLab instance team-b; container given for old, which is not a GitLab instance of the topology',
    );
  });

  it('missing required scripts and file names that are not plain', () => {
    expect(make({ scripts: { '../evil': 'x', 'kytes-lib.sh': 'y' } })).toThrow(
      'BackupOps: script name "../evil" is not a plain file name; script kytes-backup is missing; script kytes-restore is missing',
    );
  });

  it('a schedule that is not five cron fields', () => {
    expect(make({ schedule: '0 */4 * *' })).toThrow('BackupOps: schedule "0 */4 * *" is not five cron fields, nor off');
    expect(make({ schedule: '0 */4 * * *\n* * * * * root rm -rf /' })).toThrow(
      'BackupOps: schedule "0 */4 * * * * * * * * root rm -rf /" is not five cron fields, nor off',
    );
  });
});
