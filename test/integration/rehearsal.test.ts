import * as fs from 'fs';
import * as net from 'net';
import { renderNginxConfig } from '../../lib/nginx';
import type { Topology } from '../../lib/topology';
import { MANIFEST_FORMAT_VERSION } from '../../ops/manifest';
import {
  AdminCredentials,
  allHealthy,
  backupsLabelled,
  backupSummary,
  containers,
  dataSnapshot,
  expectedPostgresObjects,
  expectedRedirects,
  expectedRoutes,
  keepRequesting,
  plainHttp,
  postgresObjects,
  redirects,
  rocketchatSiteUrl,
  routes,
  servedNginxConfig,
  signIns,
  web,
} from '../rehearsal/checks';
import { writeData } from '../rehearsal/data';
import type { Step } from '../rehearsal/deployer';
import { freePort, Rehearsal, Result } from '../rehearsal/rehearsal';
import { gitlabVersion, POSTGRES_IMAGE } from '../rehearsal/standins';
import { unwrap } from '../helpers/program';
import { docker, execIn, IMAGES, requireImages } from './helpers/docker';

/**
 * The whole stack, rehearsed on the local Docker engine: index.ts runs under Pulumi's mocks and what it
 * registers is applied for real (test/rehearsal/), with PostgreSQL, Redis and nginx from Debian and
 * stand-ins for GitLab, Rocket.Chat and MongoDB (test/integration/ops/fake/). Scenarios (a)–(f) of
 * issue 12, on the dev stack and on a prod-shaped stack (two GitLab instances, three Mongo members).
 */
jest.setTimeout(900_000);

const timings: [string, number][] = [];
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings.push([what, Date.now() - started]);
  }
}
afterAll(() => {
  const lines = timings.map(([w, ms]) => `${(ms / 1000).toFixed(1).padStart(7)} s  ${w}`);
  const total = timings.reduce((a, [, ms]) => a + ms, 0);
  console.log(`rehearsal wall times:\n${lines.join('\n')}\n${(total / 1000).toFixed(1).padStart(7)} s  total`);
});

/** Step names without the stack prefix, grouped by operation. */
function plan(r: Rehearsal, steps: readonly Step[]): Record<string, string[]> {
  const out: Record<string, string[]> = { create: [], update: [], replace: [], delete: [], retain: [] };
  // The deletion of a replaced resource's old copy is part of its replacement, as Pulumi shows it.
  for (const s of steps)
    if (s.op !== 'same' && s.op !== 'delete-replaced') out[s.op].push(s.name.replace(`${r.prefix}-`, ''));
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

const existingVolumes = async (t: Topology) =>
  (await docker(['volume', 'ls', '-q', '--filter', `label=kytes.prefix=${t.prefix}`]))
    .split('\n')
    .filter(Boolean)
    .sort();
const networkExists = (t: Topology) =>
  docker(['network', 'inspect', t.network.name]).then(
    () => true,
    () => false,
  );
/** `instance@version` of each GitLab instance, as a backup manifest lists them. */
const instances = (t: Topology) => t.gitlab.map((g) => `${g.name}@${gitlabVersion(g.image)}`).sort();
const CONTAINER = 'docker:index/container:Container';
/** Names of the added instance's resources. */
const LAB = /(^|-)lab(-|$)/;
const VOLUME = 'docker:index/volume:Volume';
/** Each container's id and start time: both unchanged means it was neither recreated nor restarted. */
const ids = async (t: Topology) =>
  Object.fromEntries(Object.values(await containers(t)).map((c) => [c.name, `${c.id} started ${c.startedAt}`]));
/** The nginx config the `<prefix>-nginx-apply-config` Command last applied (its stdin, from state). */
const appliedNginxConfig = (r: Rehearsal) => {
  const step = r.stateOf('command:local:Command').find((c) => c.name === `${r.prefix}-nginx-apply-config`);
  if (!step) throw new Error('no nginx-apply-config step in state');
  return String(unwrap(step.inputs.stdin));
};

function sshBanner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(5000, () => s.destroy(new Error('no SSH banner')));
    s.once('data', (d) => {
      resolve(d.toString().trim());
      s.destroy();
    });
    s.once('error', reject);
  });
}

/** Scenario (a)'s checks, on any stack that is up. */
async function checkUp(r: Rehearsal, t: Topology, up: Result): Promise<void> {
  const cs = await allHealthy(t);
  expect(Object.keys(cs).sort()).toEqual(r.registeredNames(CONTAINER));
  // nginx runs the config the step wrote into its volume, which is the one the topology renders.
  expect(await servedNginxConfig(t)).toBe(appliedNginxConfig(r));
  expect(appliedNginxConfig(r)).toBe(renderNginxConfig(t.nginx));
  const w = web(t, r.tlsCa);
  expect(w.scheme).toBe(t.tls.mode === 'off' ? 'http' : 'https');
  expect(await routes(t, cs, w)).toEqual(expectedRoutes(t, w));
  if (t.nginx.https) expect(await redirects(t)).toEqual(expectedRedirects(t));
  expect(await postgresObjects(t)).toEqual(expectedPostgresObjects(t));
  const creds = up.outputs.adminCredentials as AdminCredentials;
  const signed = await signIns(t, creds, w);
  expect(Object.values(signed).every((s) => s === 200)).toBe(true);
  if (t.rocketchat) expect(await rocketchatSiteUrl(t)).toBe(t.rocketchat.rootUrl);
  for (const g of t.gitlab) expect(await sshBanner(g.sshPort)).toMatch(/^SSH-2\.0-/);
  expect(fs.existsSync(`${t.ops.scriptsDir}/kytes-backup`)).toBe(true);
  expect(fs.readFileSync(t.ops.cronFile, 'utf8')).toContain(`${t.ops.scriptsDir}/kytes-backup`);
  if (t.tls.host) {
    expect(fs.existsSync(t.tls.host.script)).toBe(true);
    expect(fs.readFileSync(t.tls.host.cronFile, 'utf8')).toContain(`${t.tls.host.script} renew`);
  }
  expect(Object.keys(up.outputs)).toEqual(expect.arrayContaining(['adminCredentials', 'backups', 'urls']));
}

/** What a backup of the whole stack `t` must hold, verified, in today's format (zstd on the host). */
function wholeStackBackup(t: Topology): Record<string, unknown> {
  return {
    verified: true,
    formatVersion: MANIFEST_FORMAT_VERSION,
    gitlab: instances(t),
    // GitLab writes its task files uncompressed (COMPRESS_CMD=tee); the host compresses the archive.
    gitlabCompression: ['zstd/none'],
    mongo: t.mongo?.replicaSet ?? null,
    mongoCompression: t.mongo ? 'zstd' : null,
    uploads: Boolean(t.rocketchat),
    postgres: true,
    tls: t.tls.volume !== undefined,
  };
}

/** Scenario (c)'s checks after a destroy. */
async function destroyAndCheck(r: Rehearsal, t: Topology, what: string): Promise<void> {
  const volumes = r.registeredNames(VOLUME);
  const predestroyBefore = backupsLabelled(r.backupDir, 'predestroy').length;
  const destroyed = await timed(what, () => r.destroy());
  const p = plan(r, destroyed.steps);
  expect(p.create).toEqual([]);
  // Every volume resource is retained (kept on the host, dropped from state), nothing else is.
  const retained = destroyed.steps.filter((s) => s.op === 'retain');
  expect(retained.map((s) => s.type)).toEqual(volumes.map(() => VOLUME));
  const predestroy = backupsLabelled(r.backupDir, 'predestroy');
  expect(predestroy).toHaveLength(predestroyBefore + 1);
  expect(backupSummary(r.backupDir, predestroy[predestroy.length - 1])).toEqual(wholeStackBackup(t));
  expect(await containers(t)).toEqual({});
  expect(await networkExists(t)).toBe(false);
  expect(await existingVolumes(t)).toEqual(volumes);
  expect(r.stateOf(VOLUME)).toEqual([]);
  expect([fs.existsSync(t.ops.scriptsDir), fs.existsSync(t.ops.cronFile)]).toEqual([false, false]);
  if (t.tls.host)
    expect([fs.existsSync(t.tls.host.script), fs.existsSync(t.tls.host.cronFile)]).toEqual([false, false]);
}

beforeAll(() => requireImages([IMAGES.base, POSTGRES_IMAGE, IMAGES.nginx, IMAGES.redis, 'kytes-test/node:bookworm']));

describe('rehearsal of the dev stack', () => {
  let r: Rehearsal;
  let t: Topology;
  let first: Result;

  beforeAll(async () => {
    r = await Rehearsal.create('dev');
    t = r.topology();
  });
  afterAll(() => r?.cleanup());

  it('(a) up: every container healthy, nginx routes every hostname, PostgreSQL has each role, database and extension', async () => {
    first = await timed('dev (a) up', () => r.up());
    expect(first.steps.every((s) => s.op === 'create')).toBe(true);
    await checkUp(r, t, first);
  });

  it('(f) a second up creates, updates, replaces and deletes nothing', async () => {
    const again = await timed('dev (f) up unchanged', () => r.up());
    expect(again.steps.filter((s) => s.op !== 'same')).toEqual([]);
    expect(again.steps).toHaveLength(first.steps.length);
  });

  it('(c) destroy: the pre-destroy backup runs and verifies, containers and network go, volumes stay', async () => {
    await destroyAndCheck(r, t, 'dev (c) destroy');
  });
});

describe('rehearsal of a prod-shaped stack (two GitLab instances, three Mongo members, Docker host over SSH, HTTPS)', () => {
  let r: Rehearsal;
  let t: Topology;
  let creds: AdminCredentials;
  let snapshot: Record<string, string>;

  beforeAll(async () => {
    r = await Rehearsal.create('prod', { ssh: true });
    t = r.topology();
    expect([t.gitlab.length, t.mongo?.members.length, t.docker.kind, t.tls.mode]).toEqual([2, 3, 'ssh', 'files']);
  });
  afterAll(() => r?.cleanup());

  it('(a) up: every container healthy, nginx routes every hostname, PostgreSQL has each role, database and extension', async () => {
    const up = await timed('prod (a) up', () => r.up());
    expect(up.steps.every((s) => s.op === 'create')).toBe(true);
    creds = up.outputs.adminCredentials as AdminCredentials;
    await checkUp(r, t, up);
  });

  it('(b) data written everywhere is taken by an on-demand backup (kytes:backup.trigger)', async () => {
    await timed('prod (b) write data', () => writeData(t, creds, 'b', web(t, r.tlsCa)));
    r.config['kytes:backup'] = { ...(r.config['kytes:backup'] as object), trigger: 'rehearsal-b' };
    const up = await timed('prod (b) up with backup.trigger', () => r.up());
    expect(plan(r, up.steps)).toEqual({
      create: ['ops-backup-on-demand'],
      update: [],
      replace: [],
      delete: [],
      retain: [],
    });
    const id = (up.outputs.backups as { lastOnDemandBackup: string }).lastOnDemandBackup;
    expect(backupsLabelled(r.backupDir, 'ondemand')).toEqual([id]);
    expect(backupSummary(r.backupDir, id)).toEqual(wholeStackBackup(t));
    expect(fs.readdirSync(`${r.offHostDir}`)).toContain(id);
    snapshot = await dataSnapshot(t);
    expect(snapshot.mongo).toContain('hello from the rehearsal b');
  });

  it('(c) destroy: the pre-destroy backup runs and verifies, containers and network go, every retained volume stays', async () => {
    await destroyAndCheck(r, t, 'prod (c) destroy');
  });

  it('(d) up again: the same data byte for byte, setup steps pass on kept data, passwords unchanged, nginx routes', async () => {
    const up = await timed('prod (d) up on kept volumes', () => r.up());
    expect(up.steps.every((s) => s.op === 'create')).toBe(true);
    const names = up.steps.map((s) => s.name.replace(`${r.prefix}-`, ''));
    expect(names).toEqual(expect.arrayContaining(['postgres-setup', 'mongo-initiate', 'ops-backup-on-demand']));
    expect(await dataSnapshot(t)).toEqual(snapshot);
    expect(up.outputs.adminCredentials).toEqual(creds);
    await checkUp(r, t, up);
    // The superuser password only acted on the first boot of the kept volume: it must still be the one derived now.
    await execIn(t.postgres.container, [
      'sh',
      '-c',
      'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U postgres -d postgres -XAtqc "SELECT 1"',
    ]);
  });

  it('(e) adding a GitLab instance creates only its resources and replaces nothing: PostgreSQL and nginx keep running, nginx reloads; removing it takes its decommission backup', async () => {
    const w = web(t, r.tlsCa);
    // The existing instances and Rocket.Chat are used throughout: every request must be answered.
    const users = keepRequesting(t, w);
    let served: { requests: number; failures: string[] };
    try {
      await addAndRemoveLab();
    } finally {
      served = await users.stop();
      console.log(
        `while adding and removing lab: ${served.requests} requests to the other hostnames, ${served.failures.length} failed`,
      );
    }
    expect(served.failures).toEqual([]);
    expect(served.requests).toBeGreaterThan(20);
  });

  async function addAndRemoveLab(): Promise<void> {
    const before = await ids(t);
    const w = web(t, r.tlsCa);
    const gitlab = r.config['kytes:gitlab'] as { instances: Record<string, unknown>[] };
    gitlab.instances.push({ name: 'lab', sshPort: await freePort() });
    const added = await timed('prod (e) up adding instance lab', () => r.up());
    const t3 = r.topology();
    const lab = t3.nginx.servers.find((s) => s.kind === 'gitlab' && s.name === 'lab')!.serverName;
    console.log(`adding an instance: ${JSON.stringify(plan(r, added.steps))}`);
    // Created: the new instance's resources only (its name is in theirs), its GitLab container among them.
    const p1 = plan(r, added.steps);
    expect(p1.create.filter((n) => !LAB.test(n))).toEqual([]);
    expect(p1.create).toContain('gitlab-lab-container');
    expect([p1.delete, p1.retain]).toEqual([[], []]);
    // Replaced: no container, volume, network or image — PostgreSQL is sized for the planned instances
    // (kytes:postgres.plannedInstances), nginx's config is applied in place by its Command. The one
    // replacement is, with HTTPS from files, the `kytes-tls prepare` Command: its trigger is the TLS
    // script, which lists the hostnames (a replaced Command without `delete` just runs `create` again).
    expect(p1.replace).toEqual(t.tls.host ? ['tls-prepare'] : []);
    // In place: only Commands whose scripts or stdin list the instances (nginx's config, setup SQL, ops
    // scripts, backup and upgrade guards, the TLS script).
    expect(added.steps.filter((s) => s.op === 'update' && !s.type.startsWith('command:'))).toEqual([]);
    expect(p1.update).toEqual(expect.arrayContaining(['nginx-apply-config', 'postgres-setup']));
    // Every container that was there is the same one, never restarted: PostgreSQL and nginx included.
    const withLab = await ids(t3);
    for (const [name, id] of Object.entries(before)) expect([name, withLab[name]]).toEqual([name, id]);
    // nginx serves the new config (the lab hostname is routed, checkUp) from the same process: a reload.
    await checkUp(r, t3, added);
    expect(await servedNginxConfig(t3)).toBe(renderNginxConfig(t3.nginx));

    const volumesWithLab = r.registeredNames(VOLUME);
    const decommissionBefore = backupsLabelled(r.backupDir, 'decommission').length;
    gitlab.instances.pop();
    const removed = await timed('prod (e) up removing instance lab', () => r.up());
    console.log(`removing it: ${JSON.stringify(plan(r, removed.steps))}`);
    const p2 = plan(r, removed.steps);
    expect(p2.create).toEqual([]);
    expect(p2.replace).toEqual(t.tls.host ? ['tls-prepare'] : []);
    expect([...p2.delete, ...p2.retain].filter((n) => !LAB.test(n))).toEqual([]);
    expect(p2.delete).toContain('gitlab-lab-container');
    expect(removed.steps.filter((s) => s.op === 'retain').map((s) => s.type)).toEqual(
      volumesWithLab.filter((v) => LAB.test(v)).map(() => VOLUME),
    );
    expect(removed.steps.filter((s) => s.op === 'update' && !s.type.startsWith('command:'))).toEqual([]);
    expect(p2.update).toContain('nginx-apply-config');
    const decommission = backupsLabelled(r.backupDir, 'decommission');
    expect(decommission).toHaveLength(decommissionBefore + 1);
    expect(backupSummary(r.backupDir, decommission[decommission.length - 1])).toEqual(wholeStackBackup(t3));
    const after = await ids(t);
    for (const [name, id] of Object.entries(before)) expect([name, after[name]]).toEqual([name, id]);
    expect(Object.keys(after).sort()).toEqual(r.registeredNames(CONTAINER));
    expect(await existingVolumes(t)).toEqual(volumesWithLab);
    // The running nginx was reloaded without the lab server block: its hostname is unknown again.
    expect(await servedNginxConfig(t)).toBe(renderNginxConfig(t.nginx));
    expect(await plainHttp(t, lab)).toBe('404 kytes: unknown host\n');
    expect(await routes(t, await allHealthy(t), w)).toEqual(expectedRoutes(t, w));
  }

  it('(f) a second up creates, updates, replaces and deletes nothing', async () => {
    const again = await timed('prod (f) up unchanged', () => r.up());
    expect(again.steps.filter((s) => s.op !== 'same')).toEqual([]);
  });
});
