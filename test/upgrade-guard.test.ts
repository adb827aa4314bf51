import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { gitlabUpgradeDecision, gitlabStopsUpTo, UpgradeDecision } from '../lib/upgrades';
import { parseVersion, Version } from '../lib/versions';
import { Topology } from '../lib/topology';
import { SKIP_BACKUP_FILES } from '../lib/topology';
import { gitlabGuardScript, mongoGuardScript, postgresGuardScript } from '../ops/upgradeGuard';
import { stackValues, topologyOf } from './integration/fixtures/nginx/stacks';

/**
 * The upgrade guards' scripts, run by bash against a stand-in `docker` that answers from files: what
 * each image holds, what each volume contains, which members run, what MongoDB reports. The decisions
 * are the scripts' own; the stand-in only answers the docker calls they make (and logs them). The real
 * engine side (reading a real volume through a real image) is in test/integration/upgrade-guard.test.ts.
 */

const FAKE_DOCKER = `#!/bin/bash
printf '%s\\n' "$*" >>"$FAKE/calls.log"
case $1 in
  volume) [ -d "$FAKE/volumes/$3" ]; exit ;;
  container)
    name=\${*: -1}
    if [ -e "$FAKE/running/$name" ]; then echo true; elif [ -e "$FAKE/stopped/$name" ]; then echo false; else exit 1; fi
    exit 0 ;;
  exec) cat "$FAKE/mongo-reports"; exit ;;
  run)
    shift; entry='' vol=''
    while :; do
      case $1 in
        --rm) shift ;;
        --network) shift 2 ;;
        --entrypoint) entry=$2; shift 2 ;;
        -v) vol=\${2%%:*}; shift 2 ;;
        *) break ;;
      esac
    done
    shift # the image
    held=$(cat "$FAKE/image-holds")
    case $entry in
      postgres) echo "postgres (PostgreSQL) $held (Debian $held-1.pgdg120+1)" ;;
      mongod) printf 'db version v%s\\nBuild Info: {}\\n' "$held" ;;
      cat)
        if [ -n "$vol" ]; then cat "$FAKE/volumes/$vol/\${1#/kytes-data/}" 2>/dev/null || exit 1
        else printf 'gitlab-ce %s\\ngitlab-rails abc\\n' "$held"; fi ;;
      *) exit 125 ;;
    esac ;;
  *) exit 125 ;;
esac
`;
/** Kytes' ops need root on the host; the guards check it first. Here any user passes. */
const FAKE_ID = `#!/bin/bash\nif [ "$1" = -u ]; then echo 0; else exec /usr/bin/id "$@"; fi\n`;
const FAKE_BACKUP = `#!/bin/bash
# The usage of the installed kytes-backup: an install older than --skip-uncreated has none (file "old-backup").
if [ "$1" = --help ]; then
  if [ -e "$FAKE/old-backup" ]; then echo 'usage: kytes-backup [--label LABEL] [--no-offhost] [--no-prune]'
  else echo 'usage: kytes-backup [--label LABEL] [--no-offhost] [--no-prune] [--skip-uncreated] [--scheduled]'; fi
  exit 0
fi
printf 'KYTES_LOCK_WAIT=%s %s\\n' "$KYTES_LOCK_WAIT" "$*" >>"$FAKE/backup.log"
if [ -e "$FAKE/backup-fails" ]; then echo "kytes-backup: GitLab main is not running" >&2; exit 1; fi
echo 20261130T120000Z-preupgrade
`;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly calls: string[];
  readonly backups: string[];
}

class Host {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-guard-'));
  readonly bin = path.join(this.dir, 'bin');
  readonly scripts = path.join(this.dir, 'opt');
  readonly backups = path.join(this.dir, 'backups');
  constructor() {
    for (const d of [this.bin, this.scripts, this.backups, 'volumes', 'running', 'stopped'])
      fs.mkdirSync(path.isAbsolute(d) ? d : path.join(this.dir, d), { recursive: true });
    fs.writeFileSync(path.join(this.bin, 'docker'), FAKE_DOCKER, { mode: 0o755 });
    fs.writeFileSync(path.join(this.bin, 'id'), FAKE_ID, { mode: 0o755 });
    fs.writeFileSync(path.join(this.scripts, 'kytes-backup'), FAKE_BACKUP, { mode: 0o755 });
  }
  /** The topology with the ops paths moved into this fake host. */
  place(t: Topology): Topology {
    return { ...t, ops: { ...t.ops, scriptsDir: this.scripts, backupDir: this.backups } };
  }
  imageHolds(version: string): this {
    fs.writeFileSync(path.join(this.dir, 'image-holds'), version);
    return this;
  }
  volume(name: string, files: Record<string, string> = {}): this {
    for (const [f, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(this.dir, 'volumes', name, f)), { recursive: true });
      fs.writeFileSync(path.join(this.dir, 'volumes', name, f), content);
    }
    fs.mkdirSync(path.join(this.dir, 'volumes', name), { recursive: true });
    return this;
  }
  touch(what: string): this {
    fs.writeFileSync(path.join(this.dir, what), '');
    return this;
  }
  write(what: string, content: string): this {
    fs.writeFileSync(path.join(this.dir, what), content);
    return this;
  }
  run(script: string): Run {
    const r = spawnSync('bash', ['-c', script], {
      encoding: 'utf8',
      env: { PATH: `${this.bin}:/usr/bin:/bin`, FAKE: this.dir },
    });
    const lines = (f: string) =>
      fs.existsSync(path.join(this.dir, f))
        ? fs.readFileSync(path.join(this.dir, f), 'utf8').trim().split('\n').filter(Boolean)
        : [];
    return {
      status: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
      calls: lines('calls.log'),
      backups: lines('backup.log'),
    };
  }
  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const prod = topologyOf(stackValues('prod'), 'prod');
const hosts: Host[] = [];
const host = () => {
  const h = new Host();
  hosts.push(h);
  return h;
};
afterAll(() => hosts.forEach((h) => h.cleanup()));

/** The prod topology as if its GitLab image held `target`. */
function withGitlab(t: Topology, target: string): Topology {
  const v = parseVersion(target)!;
  return {
    ...t,
    versions: { ...t.versions, gitlab: v },
    gitlab: t.gitlab.map((g) => ({ ...g, image: `gitlab/gitlab-ce:${target}-ce.0`, version: v })),
  };
}

const [MAIN, GIROFLE] = prod.gitlab.map((g) => g.volumes.data.name);
const installed = (version: string) => ({ 'gitlab-rails/VERSION': `${version}\n` });

describe('GitLab upgrade guard', () => {
  const guard = (h: Host, target = '19.3.0') => h.run(gitlabGuardScript(h.place(withGitlab(prod, target))));

  it('passes a first install: no data volume, no backup', () => {
    const r = guard(host().imageHolds('19.3.0'));
    expect([r.status, r.backups]).toEqual([0, []]);
    expect(r.stdout).toContain('GitLab main: no volume kytes-prod-gitlab-main-data yet (a new instance)');
  });

  it('passes the same version (a re-run), no backup', () => {
    const h = host().imageHolds('19.3.0').volume(MAIN, installed('19.3.0')).volume(GIROFLE, installed('19.3.0'));
    const r = guard(h);
    expect([r.status, r.backups]).toEqual([0, []]);
  });

  it('takes one verified backup before an allowed upgrade, whatever the number of instances upgraded', () => {
    const h = host().imageHolds('19.3.0').volume(MAIN, installed('19.2.4')).volume(GIROFLE, installed('19.2.0'));
    const r = guard(h);
    expect(r.status).toBe(0);
    expect(r.backups).toEqual(['KYTES_LOCK_WAIT=3600 --label preupgrade --skip-uncreated']);
    expect(r.stdout).toContain('pre-upgrade backup 20261130T120000Z-preupgrade taken and verified');
  });

  it('runs an installed kytes-backup older than --skip-uncreated without it', () => {
    const h = host().imageHolds('19.3.0').volume(MAIN, installed('19.2.4')).touch('old-backup');
    const r = guard(h);
    expect([r.status, r.backups]).toEqual([0, ['KYTES_LOCK_WAIT=3600 --label preupgrade']]);
  });

  it('reads the installed version from the data volume, through the new image, read-only and offline', () => {
    const h = host().imageHolds('19.3.0').volume(MAIN, installed('19.2.4'));
    const r = guard(h);
    expect(r.calls).toContain(
      `run --rm --network none --entrypoint cat -v ${MAIN}:/kytes-data:ro gitlab/gitlab-ce:19.3.0-ce.0 /kytes-data/gitlab-rails/VERSION`,
    );
  });

  it('refuses a jump across a required stop, with the path to take, and takes no backup', () => {
    const h = host().imageHolds('19.3.0').volume(MAIN, installed('18.10.2'));
    const r = guard(h);
    expect(r.status).toBe(1);
    expect(r.backups).toEqual([]);
    expect(r.stderr).toContain(
      'kytes: GitLab main runs 18.10.2; 19.3.0 is past the required upgrade stop(s) 18.11 19.2 (docs.gitlab.com/update/upgrade_paths). ' +
        'Go one stop per pulumi up: set kytes:images.gitlab to the latest patch of 18.11 (gitlab/gitlab-ce:18.11.<patch>-ce.0)',
    );
    expect(r.stderr).toContain('then the next: 18.11 19.2 then 19.3.0. Nothing was changed.');
  });

  it('refuses a downgrade', () => {
    const r = guard(host().imageHolds('19.3.0').volume(MAIN, installed('19.3.1')));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('GitLab main runs 19.3.1, and gitlab/gitlab-ce:19.3.0-ce.0 holds the older 19.3.0');
  });

  it('refuses a version older than the stops it knows', () => {
    const r = guard(host().imageHolds('19.3.0').volume(MAIN, installed('14.10.5')));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'GitLab main runs 14.10.5, older than 15.0, the oldest version whose upgrade stops Kytes knows',
    );
  });

  it('refuses an image that does not hold the version Kytes was told (a digest pin with a wrong stated version)', () => {
    const r = guard(host().imageHolds('19.2.4').volume(MAIN, installed('19.2.4')));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'gitlab/gitlab-ce:19.3.0-ce.0 holds GitLab 19.2.4, but Kytes was told 19.3.0 (its tag, or kytes:images.versions.gitlab)',
    );
  });

  it('fails when the backup fails, and when the ops scripts are missing', () => {
    const failing = guard(host().imageHolds('19.3.0').volume(MAIN, installed('19.2.4')).touch('backup-fails'));
    expect(failing.status).not.toBe(0);
    const h = host().imageHolds('19.3.0').volume(MAIN, installed('19.2.4'));
    fs.rmSync(path.join(h.scripts, 'kytes-backup'));
    const missing = guard(h);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(
      `${h.scripts}/kytes-backup is missing, so no backup can be taken before upgrading`,
    );
  });

  it('skips only the backup, never the stop check, when the skip file is fresh', () => {
    const h = host().imageHolds('19.3.0').volume(MAIN, installed('19.2.4'));
    fs.writeFileSync(path.join(h.backups, SKIP_BACKUP_FILES.preupgrade), '');
    expect([guard(h).status, guard(h).backups]).toEqual([0, []]);
    const blocked = host().imageHolds('19.3.0').volume(MAIN, installed('18.2.0'));
    fs.writeFileSync(path.join(blocked.backups, SKIP_BACKUP_FILES.preupgrade), '');
    expect(guard(blocked).status).toBe(1);
  });

  const version = fc
    .tuple(fc.integer({ min: 14, max: 21 }), fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 12 }))
    .map(([a, b, c]) => `${a}.${b}.${c}`);
  const kindOf = (r: Run): UpgradeDecision['kind'] | 'error' => {
    if (r.status === 0) return r.backups.length > 0 ? 'allowed' : 'same';
    if (r.stderr.includes('cannot be downgraded')) return 'downgrade';
    if (r.stderr.includes('older than 15.0')) return 'unknown';
    if (r.stderr.includes('required upgrade stop')) return 'blocked';
    return 'error';
  };
  it('decides as gitlabUpgradeDecision does, on generated version pairs (bash and TypeScript agree)', () => {
    fc.assert(
      fc.property(version, version, (running, target) => {
        const h = host().imageHolds(target).volume(MAIN, installed(running));
        const r = guard(h, target);
        const expected = gitlabUpgradeDecision(parseVersion(running) as Version, parseVersion(target) as Version);
        expect(kindOf(r)).toBe(expected.kind);
        if (expected.kind === 'blocked') expect(r.stderr).toContain(`stop(s) ${expected.stops.join(' ')} (`);
        h.cleanup();
      }),
      { numRuns: 60 },
    );
  }, 120000);
});

describe('GitLab required stops', () => {
  it('are the listed ones, then x.2, x.5, x.8, x.11 from 17.5', () => {
    expect(gitlabStopsUpTo({ major: 19, minor: 3 })).toEqual([
      '15.0',
      '15.4',
      '15.11',
      '16.3',
      '16.7',
      '16.11',
      '17.3',
      '17.5',
      '17.8',
      '17.11',
      '18.2',
      '18.5',
      '18.8',
      '18.11',
      '19.2',
    ]);
  });

  it.each([
    ['19.2.4', '19.3.0', { kind: 'allowed' }],
    ['18.11.3', '19.0.0', { kind: 'allowed' }],
    ['18.11.3', '19.2.0', { kind: 'allowed' }],
    ['18.11.3', '19.3.0', { kind: 'blocked', stops: ['19.2'] }],
    ['17.2.1', '18.0.0', { kind: 'blocked', stops: ['17.3', '17.5', '17.8', '17.11'] }],
    ['19.3.0', '19.3.0', { kind: 'same' }],
    ['19.3.0', '19.2.4', { kind: 'downgrade' }],
    ['14.10.5', '15.0.0', { kind: 'unknown' }],
  ])('%s -> %s: %j', (running, target, decision) => {
    expect(gitlabUpgradeDecision(parseVersion(running)!, parseVersion(target)!)).toEqual(decision);
  });
});

describe('PostgreSQL upgrade guard', () => {
  const volume = prod.postgres.data.name;
  const guard = (h: Host) => h.run(postgresGuardScript(h.place(prod)));

  it('passes a first install and an empty volume', () => {
    expect(guard(host().imageHolds('17.11')).status).toBe(0);
    expect(guard(host().imageHolds('17.11').volume(volume)).status).toBe(0);
  });

  it('passes a minor update (same major)', () => {
    const r = guard(host().imageHolds('17.11').volume(volume, { PG_VERSION: '17\n' }));
    expect([r.status, r.stdout.trim()]).toEqual([0, 'kytes: PostgreSQL: data and image are both PostgreSQL 17']);
  });

  it('refuses a major change, pointing to the dump-and-restore procedure', () => {
    const r = guard(host().imageHolds('17.11').volume(volume, { PG_VERSION: '16\n' }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `the PostgreSQL data in ${volume} was written by PostgreSQL 16, and postgres:17.11-bookworm is PostgreSQL 17, which cannot open it: ` +
        'a major upgrade needs a dump and a restore (docs/upgrades.md, "PostgreSQL major upgrade")',
    );
  });

  it('refuses an image that does not hold the major Kytes was told', () => {
    const r = guard(host().imageHolds('16.9').volume(volume, { PG_VERSION: '16\n' }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('postgres:17.11-bookworm holds PostgreSQL 16, but Kytes was told 17');
  });
});

describe('MongoDB upgrade guard', () => {
  const m = prod.mongo!;
  const guard = (h: Host, t: Topology = prod) => h.run(mongoGuardScript(h.place(t)));
  const asMongo = (target: string): Topology => ({
    ...prod,
    versions: { ...prod.versions, mongo: parseVersion(target) },
    mongo: { ...m, image: `mongo:${target}-noble` },
  });
  const withData = () => {
    const h = host();
    for (const x of m.members) h.volume(x.data.name);
    return h;
  };
  const running = (h: Host, reports: string) => {
    fs.writeFileSync(path.join(h.dir, 'running', m.members[1].container), '');
    return h.write('mongo-reports', `${reports}\n`);
  };

  it('passes a first install', () => {
    expect(guard(host().imageHolds('8.0.29')).status).toBe(0);
  });

  it('passes a patch update of the same series', () => {
    const r = guard(running(withData().imageHolds('8.0.29'), '8.0.16 8.0'));
    expect([r.status, r.backups]).toEqual([0, []]);
  });

  it('asks the running member, with the root login its container holds (no secret on the host)', () => {
    const r = guard(running(withData().imageHolds('8.0.29'), '8.0.16 8.0'));
    const exec = r.calls.find((c) => c.startsWith('exec '))!;
    expect(exec).toContain(`exec -e KYTES_MONGO_PORT=27017 ${m.members[1].container} sh -c exec mongosh`);
    expect(exec).toContain('--password "$KYTES_MONGO_ROOT_PASSWORD"');
  });

  it('allows one series up from a featureCompatibilityVersion equal to the running series, after a backup', () => {
    const r = guard(running(withData().imageHolds('8.0.29'), '7.0.12 7.0'));
    expect(r.status).toBe(0);
    expect(r.backups).toEqual(['KYTES_LOCK_WAIT=3600 --label preupgrade --skip-uncreated']);
    expect(r.stdout).toContain('set the featureCompatibilityVersion');
  });

  it('refuses a major change without the featureCompatibilityVersion step', () => {
    const r = guard(running(withData().imageHolds('8.0.29'), '7.0.12 6.0'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'MongoDB runs 7.0 with featureCompatibilityVersion 6.0; upgrading to 8.0 needs it at 7.0 first',
    );
    expect(r.backups).toEqual([]);
  });

  it('refuses skipping a series, and a downgrade', () => {
    const skip = guard(running(withData().imageHolds('8.0.29'), '6.0.20 6.0'));
    expect(skip.status).toBe(1);
    expect(skip.stderr).toContain(
      'MongoDB runs 6.0; 8.0 skips a release series: upgrade one series per pulumi up: 7.0 8.0',
    );
    const down = guard(running(withData().imageHolds('7.0.12'), '8.0.29 8.0'), asMongo('7.0.12'));
    expect(down.status).toBe(1);
    expect(down.stderr).toContain('MongoDB runs 8.0, and mongo:7.0.12-noble holds the older 7.0');
  });

  it('with no member running, says what MongoDB itself will do and lets it', () => {
    const r = guard(withData().imageHolds('8.0.29'));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('mongod 8.0 refuses to start on data whose featureCompatibilityVersion is too old');
  });

  it('refuses an image that does not hold the series Kytes was told', () => {
    const r = guard(withData().imageHolds('8.2.1'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('mongo:8.0.29-noble holds MongoDB 8.2, but Kytes was told 8.0');
  });
});
