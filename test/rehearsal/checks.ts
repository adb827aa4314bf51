import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import { GITLAB_PG_EXTENSIONS } from '../../lib/postgres-setup';
import type { Topology } from '../../lib/topology';
import type { Manifest } from '../../ops/manifest';
import { get } from '../integration/fixtures/nginx/http-client';
import { upstreamContainerOf } from '../integration/fixtures/upstream/echo';
import { docker, execIn, waitFor } from '../integration/helpers/docker';
import { databaseChecksum, psql, treeChecksum } from '../integration/ops/fake-stack';

/** What the rehearsal scenarios check on the running stack, read through the engine and nginx only. */

export interface ContainerInfo {
  readonly name: string;
  readonly id: string;
  readonly status: string;
  readonly health: string;
  /** IPv4 address on the stack network. */
  readonly ip: string;
  /** When its process last started: unchanged means neither recreated nor restarted. */
  readonly startedAt: string;
}

/** Every container of the stack (by its kytes.prefix label), by name. */
export async function containers(t: Topology): Promise<Record<string, ContainerInfo>> {
  const ids = (await docker(['ps', '-aq', '--filter', `label=kytes.prefix=${t.prefix}`])).split('\n').filter(Boolean);
  if (ids.length === 0) return {};
  const format = `{{.Name}}\t{{.Id}}\t{{.State.Status}}\t{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}\t{{with index .NetworkSettings.Networks "${t.network.name}"}}{{.IPAddress}}{{end}}\t{{.State.StartedAt}}`;
  const lines = (await docker(['inspect', '--format', format, ...ids])).trim().split('\n');
  return Object.fromEntries(
    lines.map((l) => {
      const [name, id, status, health, ip, startedAt] = l.split('\t');
      return [name.replace(/^\//, ''), { name: name.replace(/^\//, ''), id, status, health, ip, startedAt }];
    }),
  );
}

/** Waits until every container with a health check reports healthy (Mongo members are not waited for by the program). */
export async function allHealthy(t: Topology): Promise<Record<string, ContainerInfo>> {
  return waitFor(
    async () => {
      const cs = await containers(t);
      return Object.values(cs).every((c) => c.status === 'running' && c.health === 'healthy') ? cs : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1000, what: `every container of ${t.prefix} healthy` },
  );
}

interface Echo {
  service: string;
  local: string;
  externalUrl?: string;
  rootUrl?: string;
  sshClone?: string;
  path: string;
  headers: Record<string, string>;
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * How a user's browser reaches the stack: nginx's published HTTPS port when it terminates TLS (SNI and Host
 * set to the hostname, the chain verified against the test CA that signed it, no other root), else its
 * published HTTP port. No connection reuse, bounded in time.
 */
export interface Web {
  readonly scheme: 'http' | 'https';
  /** The host port requests go to. */
  readonly port: number;
  request(
    host: string,
    method: 'GET' | 'POST',
    p: string,
    body?: string,
    headers?: Record<string, string>,
  ): Promise<Reply>;
}

export function web(t: Topology, ca?: string): Web {
  const tls = t.nginx.https;
  if (tls && !ca) throw new Error('rehearsal: the stack serves HTTPS; give the CA that signed its certificates');
  const port = tls ? tls.publishedPort : t.nginx.publishedPort;
  return {
    scheme: tls ? 'https' : 'http',
    port,
    request: (host, method, p, body, headers = {}) =>
      new Promise<Reply>((resolve, reject) => {
        const options: https.RequestOptions = {
          host: '127.0.0.1',
          port,
          path: p,
          method,
          agent: false,
          timeout: 15_000,
          headers: {
            ...headers,
            host: `${host}:${port}`,
            ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }),
          },
          ...(tls ? { servername: host, ca } : {}),
        };
        const req = (tls ? https : http).request(options, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${host}${p} timed out`)));
        req.on('error', reject);
        req.end(body);
      }),
  };
}

const PROBE = '/kytes/rehearsal?probe=1';

/**
 * A request per nginx server through the published port: it must reach the container the topology names
 * for that hostname (the answer comes from that container's address) with the forwarding headers.
 */
export async function routes(
  t: Topology,
  cs: Record<string, ContainerInfo>,
  w: Web,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const s of t.nginx.servers) {
    const target = upstreamContainerOf(t, s);
    const reply = await w.request(s.serverName, 'GET', PROBE, undefined, { 'X-Forwarded-For': '203.0.113.7' });
    if (reply.status !== 200) throw new Error(`${s.serverName}: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
    const e = JSON.parse(reply.body) as Echo;
    out.push({
      server: s.serverName,
      reachedContainer: Object.values(cs).find((c) => c.ip === e.local)?.name,
      expectedContainer: target,
      service: e.service,
      url: e.externalUrl ?? e.rootUrl,
      path: e.path,
      host: e.headers.host,
      forwardedHost: e.headers['x-forwarded-host'],
      forwardedProto: e.headers['x-forwarded-proto'],
      forwardedPort: e.headers['x-forwarded-port'],
      forwardedFor: e.headers['x-forwarded-for']?.split(',')[0],
      ...(e.sshClone ? { sshClone: e.sshClone } : {}),
    });
  }
  return out;
}

/**
 * What the users of a running stack see while it changes: requests one after another (a pause of
 * `pauseMs` between them), round its hostnames through nginx's published port, until `stop`. Each must
 * be answered 200 by the service the hostname names; anything else (a refused or cut connection, a
 * timeout, a 502 or 404) is a failure, listed with its time.
 */
export function keepRequesting(
  t: Topology,
  w: Web,
  pauseMs = 200,
): { stop(): Promise<{ requests: number; failures: string[] }> } {
  let stopped = false;
  let requests = 0;
  const failures: string[] = [];
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const s = t.nginx.servers[i % t.nginx.servers.length];
      const at = new Date().toISOString();
      requests++;
      try {
        const reply = await w.request(s.serverName, 'GET', PROBE);
        const service = reply.status === 200 ? (JSON.parse(reply.body) as Echo).service : undefined;
        if (service !== s.kind)
          failures.push(`${at} ${s.serverName}: HTTP ${reply.status} ${reply.body.slice(0, 120)}`);
      } catch (e) {
        failures.push(`${at} ${s.serverName}: ${(e as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { requests, failures };
    },
  };
}

/** What plain HTTP on nginx's published port answers for `host`: status and body. */
export async function plainHttp(t: Topology, host: string): Promise<string> {
  const reply = await get(t.nginx.publishedPort, `${host}:${t.nginx.publishedPort}`, PROBE);
  return `${reply.status} ${reply.body}`;
}

/** The config the running nginx was started or reloaded with: the file it runs (`nginx -c`). */
export function servedNginxConfig(t: Topology): Promise<string> {
  return execIn(t.nginx.container, ['cat', t.nginx.configPath]);
}

/** What `routes` must return for the topology. */
export function expectedRoutes(t: Topology, w: Web): Record<string, unknown>[] {
  return t.nginx.servers.map((s) => {
    const g = t.gitlab.find((x) => x.name === s.name && s.kind === 'gitlab');
    return {
      server: s.serverName,
      reachedContainer: g ? g.container : t.rocketchat!.container,
      expectedContainer: g ? g.container : t.rocketchat!.container,
      service: s.kind,
      url: g ? g.externalUrl : t.rocketchat!.rootUrl,
      path: PROBE,
      host: `${s.serverName}:${w.port}`,
      forwardedHost: s.serverName,
      forwardedProto: t.nginx.publicScheme,
      forwardedPort: String(t.nginx.publicPort),
      forwardedFor: '203.0.113.7',
      ...(g ? { sshClone: g.sshCloneHost } : {}),
    };
  });
}

/**
 * On a stack that serves HTTPS, what plain HTTP answers for each hostname: status and Location. Expected:
 * a 308 to the same path on the hostname's https:// URL (its external URL).
 */
export async function redirects(t: Topology): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const s of t.nginx.servers) {
    const reply = await get(t.nginx.publishedPort, `${s.serverName}:${t.nginx.publishedPort}`, PROBE);
    out[s.serverName] = `${reply.status} ${String(reply.headers.location)}`;
  }
  return out;
}

export function expectedRedirects(t: Topology): Record<string, string> {
  return Object.fromEntries(
    t.nginx.servers.map((s) => {
      const g = t.gitlab.find((x) => x.name === s.name && s.kind === 'gitlab');
      const url = new URL(g ? g.externalUrl : t.rocketchat!.rootUrl);
      return [s.serverName, `308 ${url.origin}${PROBE}`];
    }),
  );
}

/** Per GitLab instance: its login role, the database it owns, and the extensions in it. */
export async function postgresObjects(t: Topology): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const g of t.gitlab) {
    const [login, owner] = (
      await psql(
        t,
        'postgres',
        `SELECT r.rolcanlogin, pg_get_userbyid(d.datdba) FROM pg_roles r LEFT JOIN pg_database d ON d.datname = '${g.database.name}' WHERE r.rolname = '${g.database.user}';\n`,
      )
    )
      .trim()
      .split('|');
    const extensions = (await psql(t, g.database.name, 'SELECT extname FROM pg_extension ORDER BY extname;\n'))
      .trim()
      .split('\n');
    out.push({ instance: g.name, login, owner, extensions });
  }
  return out;
}

export function expectedPostgresObjects(t: Topology): Record<string, unknown>[] {
  return t.gitlab.map((g) => ({
    instance: g.name,
    login: 't',
    owner: g.database.user,
    extensions: [...GITLAB_PG_EXTENSIONS].sort(),
  }));
}

/** Signs in to each GitLab instance as root and to Rocket.Chat as the administrator, through nginx. */
export async function signIns(t: Topology, credentials: AdminCredentials, w: Web): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const g of t.gitlab) {
    const c = credentials.gitlab[g.name];
    const form = `grant_type=password&username=${encodeURIComponent(c.username)}&password=${encodeURIComponent(c.password)}`;
    out[`gitlab ${g.name}`] = (
      await w.request(g.hostname, 'POST', '/oauth/token', form, {
        'content-type': 'application/x-www-form-urlencoded',
      })
    ).status;
  }
  if (t.rocketchat && credentials.rocketchat) {
    const body = JSON.stringify({ user: credentials.rocketchat.username, password: credentials.rocketchat.password });
    out.rocketchat = (
      await w.request(t.rocketchat.hostname, 'POST', '/api/v1/login', body, { 'content-type': 'application/json' })
    ).status;
  }
  return out;
}

export interface AdminCredentials {
  gitlab: Record<string, { username: string; password: string }>;
  rocketchat?: { username: string; password: string };
}

/** mongosh as root inside a member, with the login its container already holds. */
export function mongoEval(container: string, js: string): Promise<string> {
  return execIn(container, [
    'sh',
    '-c',
    'exec mongosh --quiet --port 27017 --username "$KYTES_MONGO_ROOT_USERNAME" --password "$KYTES_MONGO_ROOT_PASSWORD" --authenticationDatabase admin --eval "$1"',
    'sh',
    js,
  ]);
}

/** The member that says it is the writable primary. */
export async function mongoPrimary(t: Topology): Promise<string> {
  for (const m of t.mongo!.members) {
    const out = await execIn(m.container, [
      'mongosh',
      '--quiet',
      '--port',
      String(t.mongo!.port),
      '--eval',
      'print(db.hello().isWritablePrimary === true)',
    ]);
    if (out.trim() === 'true') return m.container;
  }
  throw new Error('no Mongo member is primary');
}

/**
 * Everything kept data must bring back byte for byte: each GitLab database's tables, the GitLab config and
 * data volumes (minus GitLab's transient backups dir), the Rocket.Chat database and the uploads volume.
 */
export async function dataSnapshot(t: Topology): Promise<Record<string, string>> {
  const snap: Record<string, string> = {};
  for (const g of t.gitlab) {
    snap[`db ${g.database.name}`] = await databaseChecksum(t, g.database.name);
    snap[`${g.name}:${g.volumes.config.containerPath}`] = await treeChecksum(
      g.container,
      g.volumes.config.containerPath,
    );
    snap[`${g.name}:${g.volumes.data.containerPath}`] = await treeChecksum(g.container, g.volumes.data.containerPath);
  }
  if (t.mongo && t.rocketchat) {
    const primary = await mongoPrimary(t);
    snap.mongo = await mongoEval(
      primary,
      `const d = db.getSiblingDB('${t.mongo.appDatabase}'); print(JSON.stringify(d.getCollectionNames().sort().map((c) => [c, d.getCollection(c).find().toArray()])))`,
    );
    snap.uploads = await treeChecksum(t.rocketchat.container, t.rocketchat.uploads.containerPath);
  }
  // The TLS volume (copies of the host's certificate files): read where nginx mounts it.
  if (t.tls.volume) snap.tls = await treeChecksum(t.nginx.container, t.tls.volume.containerPath);
  return snap;
}

/** The Site URL Rocket.Chat uses (its stored `Site_Url` setting, which overrides ROOT_URL once set). */
export async function rocketchatSiteUrl(t: Topology): Promise<string> {
  const out = await mongoEval(
    await mongoPrimary(t),
    `print(JSON.stringify(db.getSiblingDB('${t.mongo!.appDatabase}').rocketchat_settings.findOne({ _id: 'Site_Url' })))`,
  );
  return (JSON.parse(out) as { value: string }).value;
}

/** Backups in the backup dir whose id ends with `-<label>`, newest last. */
export function backupsLabelled(dir: string, label: string): string[] {
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((d) => d.endsWith(`-${label}`))
        .sort()
    : [];
}

/** A backup's verified marker and what its manifest says it holds, and how its archives are compressed. */
export function backupSummary(dir: string, id: string): Record<string, unknown> {
  const m = JSON.parse(fs.readFileSync(path.join(dir, id, 'manifest.json'), 'utf8')) as Manifest;
  return {
    verified: fs.existsSync(path.join(dir, id, 'verified')),
    formatVersion: m.formatVersion,
    gitlab: m.gitlab.map((g) => `${g.instance}@${g.version}`).sort(),
    gitlabCompression: [...new Set(m.gitlab.map((g) => `${g.archiveCompression}/${g.innerCompression}`))],
    mongo: m.mongo?.replicaSet ?? null,
    mongoCompression: m.mongo?.compression ?? null,
    uploads: m.rocketchatUploads !== null,
    postgres: m.postgres !== null,
    tls: Boolean(m.tls),
  };
}
