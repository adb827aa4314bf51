import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { parseConfig } from '../../lib/config';
import { deriveTopology, Topology } from '../../lib/topology';
import { TestCa } from '../helpers/certs';
import { flattenConfig, ROOT } from '../helpers/program';
import { Deployer, StateStore, Step } from './deployer';
import { Engine, privateDir } from './engine';
import type { Context } from './kinds/types';
import { runAgainst } from './program';
import { SshDockerHost, sshDockerHost } from './ssh';
import { STANDINS, StandIns } from './standins';

/**
 * A rehearsal of one stack on the local Docker engine: `up` runs index.ts and applies what it registers
 * (deployer.ts), `destroy` deletes it, both against one state file; `cleanup` removes everything the
 * run may have left (containers, networks, volumes, image tags, ops scripts, cron file, backups) by the
 * run's unique prefix, even after a failure.
 *
 * The stack config is Pulumi.<stack>.yaml with what a rehearsal on a shared machine must change:
 * a unique `kytes:prefix` (so the scripts dir /opt/kytes/<prefix>, the cron file and every Docker name
 * are unique), host ports that are free and bound to 127.0.0.1, a free subnet, the Docker host (the local
 * engine), backup and off-host directories in the run's directory, a backup schedule of once a year, a
 * fresh master secret, and GitLab's start timeout at its minimum (5 minutes) so that a stand-in that never
 * gets healthy fails quickly.
 */
export type StackConfig = Record<string, unknown>;

export interface Result {
  readonly steps: readonly Step[];
  readonly outputs: Record<string, unknown>;
  readonly ms: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const deepCopy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/**
 * Whatever the program installs on the host under the run's unique prefix, wherever it puts it (scripts,
 * cron files, logs): entries of these directories, two levels deep, whose name holds the prefix.
 */
const HOST_ROOTS = ['/opt/kytes', '/etc/cron.d', '/var/log', '/var/backups/kytes'];
export function hostPathsNamedAfter(prefix: string, roots: readonly string[] = HOST_ROOTS): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.name.includes(prefix)) found.push(p);
      else if (e.isDirectory() && depth > 1) walk(p, depth - 1);
    }
  };
  for (const root of roots) walk(root, 2);
  return found;
}

/**
 * One rehearsal at a time per machine: while one runs, the pinned image names on the engine point to its
 * stand-ins (standins.ts). `flock` holds the lock as long as this process keeps its stdin open, so a
 * crashed run releases it.
 */
const LOCK_FILE = path.join(os.tmpdir(), 'kytes-rehearsal.lock');
async function machineLock(): Promise<ChildProcess> {
  const child = spawn('flock', ['-w', '1800', LOCK_FILE, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`rehearsal: could not lock ${LOCK_FILE} (flock exit ${code})`)));
  });
  return child;
}

export class Rehearsal {
  readonly id = randomBytes(3).toString('hex');
  readonly prefix = `kr-${this.id}`;
  readonly dir = privateDir(`kytes-rehearsal-${this.id}-`);
  readonly backupDir = path.join(this.dir, 'backups');
  readonly offHostDir = path.join(this.dir, 'offhost');
  readonly logFile = path.join(this.dir, 'rehearsal.log');
  /** The structured `config:` of the stack file, with the rehearsal's changes; tests edit it between runs. */
  config: StackConfig;
  /** The environment of the "machine running pulumi": local commands inherit it. */
  env: NodeJS.ProcessEnv = { ...process.env };
  private readonly store = new StateStore(path.join(this.dir, 'state.json'));
  private readonly engines = new Map<string, Promise<Engine>>();
  private standins?: StandIns;
  private readonly secret = randomBytes(36).toString('base64');
  private ssh?: SshDockerHost;
  /** The CA that signed the stack's certificates (PEM), when the rehearsed stack serves HTTPS. */
  tlsCa?: string;
  private lock?: ChildProcess;

  private constructor(
    readonly stack: string,
    config: StackConfig,
  ) {
    this.config = config;
  }

  /**
   * A rehearsal of `Pulumi.<stack>.yaml` on the local engine, reached through its socket, or with `ssh`
   * through a throwaway sshd on 127.0.0.1 (ssh.ts), as a remote Docker host is.
   */
  static async create(stack: string, opts: { ssh?: boolean } = {}): Promise<Rehearsal> {
    const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), 'utf8')) as { config?: StackConfig };
    const r = new Rehearsal(stack, deepCopy(doc.config ?? {}));
    r.lock = await machineLock();
    try {
      await r.configure(opts);
    } catch (e) {
      await r.cleanup();
      throw e;
    }
    return r;
  }

  private async configure(opts: { ssh?: boolean }): Promise<void> {
    const r = this as Rehearsal;
    const c = r.config;
    const obj = (k: string) => ({ ...((c[k] as Record<string, unknown>) ?? {}) });
    c['kytes:prefix'] = r.prefix;
    if (opts.ssh) {
      r.ssh = await sshDockerHost(path.join(r.dir, 'ssh'));
      // The operator's key given with -i and the host key pinned: nothing else (no agent, no ~/.ssh/config)
      // lets ssh in, so every path that reaches the host must carry Kytes' own ssh arguments.
      c['kytes:docker'] = { host: r.ssh.dockerHost, sshOpts: ['-i', r.ssh.identity], hostKey: r.ssh.hostKey };
    } else {
      c['kytes:docker'] = { host: 'unix:///var/run/docker.sock' };
    }
    c['kytes:proxy'] = { ...obj('kytes:proxy'), httpPort: await freePort(), bindAddress: '127.0.0.1' };
    const gitlab = obj('kytes:gitlab');
    const instances = (gitlab.instances as Record<string, unknown>[] | undefined) ?? [{ name: 'main' }];
    gitlab.instances = await Promise.all(instances.map(async (i) => ({ ...i, sshPort: await freePort() })));
    c['kytes:gitlab'] = { ...gitlab, sshBindAddress: '127.0.0.1', startTimeoutMinutes: 5 };
    const backup = obj('kytes:backup');
    // Once a year: a cron daemon on the machine must not start a backup in the middle of a scenario.
    c['kytes:backup'] = {
      ...backup,
      dir: r.backupDir,
      schedule: '0 0 1 1 *',
      ...(backup.offHost !== undefined ? { offHost: r.offHostDir } : {}),
    };
    const tls = c['kytes:tls'] as { mode?: string } | undefined;
    if (tls?.mode !== undefined && tls.mode !== 'off') {
      c['kytes:proxy'] = { ...obj('kytes:proxy'), httpsPort: await freePort() };
      c['kytes:tls'] = r.certificateFiles(String(c['kytes:domain']));
      r.log(`kytes:tls: mode ${tls.mode} of the stack file rehearsed as files mode with certificates of a test CA`);
    }
    c['kytes:network'] = { ...obj('kytes:network'), subnet: await r.freeSubnet() };
    // Pinned names a crashed rehearsal may have left on test images.
    await StandIns.untagPinned(await r.harnessEngine(), StandIns.pinnedNames(r.images()));
  }

  /**
   * HTTPS for a stack file that asks for it: `files` mode with a certificate for `*.<domain>` and `<domain>`,
   * signed by a test CA (openssl), as files on the Docker host (this machine) in the run's directory, so the
   * whole path of host files is rehearsed: `kytes-tls prepare` checks and copies them into the retained TLS
   * volume, nginx serves them on the HTTPS port and redirects HTTP. ACME itself cannot be: no ACME server
   * here can resolve the stack's names (tls-acme.test.ts runs it against pebble with its own DNS).
   */
  private certificateFiles(domain: string): Record<string, unknown> {
    const ca = new TestCa('Kytes Rehearsal CA');
    try {
      const leaf = ca.leaf({ names: [`*.${domain}`, domain] });
      const dir = path.join(this.dir, 'tls');
      fs.mkdirSync(dir, { mode: 0o700 });
      const certificateFile = path.join(dir, 'fullchain.pem');
      const keyFile = path.join(dir, 'privkey.pem');
      fs.writeFileSync(certificateFile, leaf.chainPem, { mode: 0o644 });
      fs.writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
      this.tlsCa = ca.certPem;
      return { mode: 'files', certificates: [{ certificateFile, keyFile }] };
    } finally {
      ca.remove();
    }
  }

  /** The config as `pulumi` hands it to the program. */
  flatConfig(): Record<string, string> {
    return { ...flattenConfig(this.config), 'kytes:masterSecret': this.secret };
  }

  /** The topology the program derives from the current config. */
  topology(): Topology {
    return deriveTopology(
      parseConfig(this.flatConfig(), (k) => k === 'kytes:masterSecret'),
      this.stack,
    );
  }

  log(line: string): void {
    fs.appendFileSync(this.logFile, `${new Date().toISOString()} ${line}\n`);
    if (process.env.KYTES_REHEARSAL_VERBOSE === '1') process.stderr.write(`[rehearsal ${this.id}] ${line}\n`);
  }

  /** The last lines of the run's log, for a failure message. */
  tail(lines = 60): string {
    return fs.existsSync(this.logFile)
      ? fs.readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n')
      : '';
  }

  private engineFor(host: string, sshOpts?: string[]): Promise<Engine> {
    const key = JSON.stringify([host, sshOpts ?? []]);
    let e = this.engines.get(key);
    if (!e) {
      e = Engine.connect({ host, sshOpts }, this.dir);
      this.engines.set(key, e);
    }
    return e;
  }

  /** The engine of the stack, as the harness itself reaches it (its own ssh options, for an SSH host). */
  private harnessEngine(): Promise<Engine> {
    const docker = this.config['kytes:docker'] as { host: string; sshOpts?: string[] };
    return this.engineFor(docker.host, this.ssh ? this.ssh.sshOpts : docker.sshOpts);
  }

  private async freeSubnet(): Promise<string> {
    const engine = await this.harnessEngine();
    const nets = (await engine.request('GET', '/networks')) as { IPAM?: { Config?: { Subnet?: string }[] } }[];
    const used = new Set(nets.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet)));
    for (;;) {
      const subnet = `10.${200 + (randomBytes(1)[0] % 50)}.${randomBytes(1)[0]}.0/24`;
      if (!used.has(subnet)) return subnet;
    }
  }

  /** The `kytes:images` section of the current config. */
  private images(): Record<string, unknown> {
    return parseConfig(this.flatConfig(), (k) => k === 'kytes:masterSecret').images as Record<string, unknown>;
  }

  private context(): Context {
    const images = this.images();
    this.standins ??= new StandIns(images, this.id);
    this.standins.setImages(images);
    return {
      engine: async (providerUrn) => {
        const p = providerUrn ? this.store.get(providerUrn) : undefined;
        const host = String(p?.inputs.host ?? this.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock');
        const raw = p?.inputs.sshOpts;
        const sshOpts = typeof raw === 'string' ? (JSON.parse(raw) as string[]) : (raw as string[] | undefined);
        return this.engineFor(host, sshOpts);
      },
      standins: this.standins,
      cwd: ROOT,
      env: this.env,
      log: (line) => this.log(line),
    };
  }

  /**
   * Every pinned image of the config can be had by name, as from a registry: a script that runs
   * `docker run <pinned image>` before its RemoteImage exists (docker would pull it) finds it.
   */
  private async registry(): Promise<void> {
    const engine = await this.harnessEngine();
    for (const [service, ref] of Object.entries(this.images())) {
      if (typeof ref === 'string' && STANDINS[service]) await this.standins!.pull(engine, ref);
    }
  }

  /** `pulumi up` with the current config. */
  async up(): Promise<Result> {
    const started = Date.now();
    const deployer = new Deployer(this.store, this.context(), this.stack, 'kytes');
    this.log(`--- up (${this.stack})`);
    try {
      await this.registry();
      const { outputs } = await runAgainst(deployer, this.stack, this.flatConfig(), ['kytes:masterSecret']);
      await deployer.finish();
      return { steps: deployer.steps, outputs, ms: Date.now() - started };
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- rehearsal log (${this.logFile}):\n${this.tail()}`, { cause: e });
    }
  }

  /** `pulumi destroy`. */
  async destroy(): Promise<Result> {
    const started = Date.now();
    const deployer = new Deployer(this.store, this.context(), this.stack, 'kytes');
    this.log(`--- destroy (${this.stack})`);
    try {
      await deployer.destroy();
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- rehearsal log (${this.logFile}):\n${this.tail()}`, { cause: e });
    }
    return { steps: deployer.steps, outputs: {}, ms: Date.now() - started };
  }

  /** Names of the containers or of the volumes the program has registered (from the state). */
  registeredNames(type: 'docker:index/container:Container' | 'docker:index/volume:Volume'): string[] {
    return this.stateOf(type)
      .map((r) => String(r.inputs.name))
      .sort();
  }

  /** Resources currently in state, by type. */
  stateOf(type: string) {
    return this.store.all().filter((r) => r.type === type);
  }

  /**
   * Removes everything of this run, whatever its state: containers, networks and volumes labelled with
   * its prefix, its image tags, /opt/kytes/<prefix>, the cron file, and its directory. Never throws.
   */
  async cleanup(): Promise<void> {
    const problems: string[] = [];
    const t = (() => {
      try {
        return this.topology();
      } catch {
        return undefined;
      }
    })();
    for (const e of this.engines.values()) {
      let engine: Engine;
      try {
        engine = await e;
      } catch {
        continue;
      }
      const filter = encodeURIComponent(JSON.stringify({ label: [`kytes.prefix=${this.prefix}`] }));
      const tryDo = (p: Promise<unknown>) => p.catch((err) => problems.push(String(err)));
      const containers = (await engine
        .request('GET', `/containers/json?all=true&filters=${filter}`)
        .catch(() => [])) as { Id: string }[];
      for (const c of containers) await tryDo(engine.request('DELETE', `/containers/${c.Id}?force=true&v=true`));
      const networks = (await engine.request('GET', `/networks?filters=${filter}`).catch(() => [])) as { Id: string }[];
      for (const n of networks) await tryDo(engine.request('DELETE', `/networks/${n.Id}`));
      const volumes =
        (
          (await engine.request('GET', `/volumes?filters=${filter}`).catch(() => ({}))) as {
            Volumes?: { Name: string }[];
          }
        ).Volumes ?? [];
      for (const v of volumes)
        await tryDo(engine.request('DELETE', `/volumes/${encodeURIComponent(v.Name)}?force=true`));
      await this.standins?.cleanup(engine);
      engine.close();
    }
    await this.ssh?.stop().catch((err) => problems.push(String(err)));
    const paths = t ? [t.ops.scriptsDir, t.ops.cronFile] : [];
    for (const p of [...paths, ...hostPathsNamedAfter(this.prefix), this.dir]) {
      try {
        fs.rmSync(p, { recursive: true, force: true });
      } catch (err) {
        problems.push(String(err));
      }
    }
    this.lock?.stdin?.end();
    if (problems.length > 0) console.warn(`rehearsal ${this.id} cleanup: ${problems.join('; ')}`);
  }
}
