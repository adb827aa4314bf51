/**
 * Helpers for integration tests that drive a real Docker engine through the `docker` CLI.
 *
 * The CLI (not a Docker SDK) is used on purpose: it is what an operator would type, it
 * needs no extra dependency, and its error text is what we want to see in a failed test.
 * Engine + images come from test/integration/setup/{ensure-docker,build-images}.sh.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** The locally built stand-ins for the official images (nothing can be pulled in CI). */
export const IMAGES = {
  base: 'kytes-test/base:bookworm',
  /** PostgreSQL 17 (Debian trixie), the major Kytes pins. */
  postgres: 'kytes-test/postgres:trixie',
  /** nginx 1.26 on Debian trixie (OpenSSL 3.5), as the pinned `-trixie` image. */
  nginx: 'kytes-test/nginx:trixie',
  /** Redis 8.0 (Debian trixie); Kytes pins 7.4, which no Debian release has. */
  redis: 'kytes-test/redis:trixie',
  /** certbot (the entrypoint, as in certbot/certbot), openssl, pebble and dnsmasq. */
  acme: 'kytes-test/acme:bookworm',
} as const;

export interface DockerOptions {
  /** Fed to the CLI's stdin, e.g. SQL for `docker exec -i … psql`. */
  stdin?: string;
  /** Kill the CLI after this long; default 120 s so a hung engine fails the test, not the CI job. */
  timeoutMs?: number;
}

/** Hide `-e NAME=value` values: error messages end up in CI logs, and values can be passwords. */
function redact(args: readonly string[]): string {
  return args
    .map((a, i) => (i > 0 && (args[i - 1] === '-e' || args[i - 1] === '--env') ? a.replace(/=.*/s, '=***') : a))
    .join(' ');
}

/** Runs `docker …args` and resolves with stdout; rejects with an Error carrying stderr. */
export async function docker(args: readonly string[], opts: DockerOptions = {}): Promise<string> {
  const run = execFileP('docker', [...args], {
    timeout: opts.timeoutMs ?? 120_000,
    // The CLI proxies SIGTERM to the container and may then exit 0 as if nothing happened.
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'utf8',
  });
  // An unconsumed stdin would leave `docker exec -i` waiting forever. A CLI that exits before reading
  // it (`docker image inspect`) closes the pipe: that EPIPE is not the command's failure.
  run.child.stdin?.on('error', () => undefined);
  run.child.stdin?.end(opts.stdin ?? '');
  try {
    return (await run).stdout;
  } catch (err) {
    // execFile's error: exit code (or 'ENOENT' when there is no docker CLI) plus captured output.
    const e = err as { message: string; stdout?: string; stderr?: string; code?: number | string; killed?: boolean };
    const why = e.killed ? `timed out after ${opts.timeoutMs ?? 120_000} ms` : `exit ${String(e.code)}`;
    // Never fall back to e.message for exit/timeout failures: it repeats the unredacted command line.
    const spawnFailed = typeof e.code === 'string' && !e.killed;
    const detail = e.stderr?.trim() || e.stdout?.trim() || (spawnFailed ? e.message : '(no output)');
    // No `cause`: the original error repeats the unredacted command line, values of `-e` included.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`docker ${redact(args)} failed (${why}): ${detail}`);
  }
}

/** A name no other test (or earlier run) uses, so parallel/leftover resources never collide. */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
  return `kytes-it-${clean}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Throw this from a waitFor probe to stop polling at once (e.g. the container already exited). */
export class GiveUp extends Error {}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message ("postgres accepting connections"). */
  what: string;
}

/**
 * Polls `fn` until it returns something other than undefined/false, and returns that.
 * A throwing probe counts as "not yet" (its last error is reported on timeout), because
 * services refuse connections for a while after their container starts.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw new Error(`gave up waiting for ${opts.what}: ${err.message}`, { cause: err });
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${last ? `; last error: ${last}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}

/** When the container last started: unchanged means it was neither restarted nor replaced. */
export async function containerStartedAt(container: string): Promise<string> {
  return (await docker(['inspect', '-f', '{{.State.StartedAt}}', container])).trim();
}

/** Its health (healthy, unhealthy, starting) when it has a healthcheck, else its status (running, exited…). */
export async function containerHealth(container: string): Promise<string> {
  return (
    await docker([
      'inspect',
      '-f',
      '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}',
      container,
    ])
  ).trim();
}

export interface ExecOptions {
  env?: Record<string, string>;
  stdin?: string;
  user?: string;
}

/** `docker exec` into a running container; resolves with stdout. */
export function execIn(container: string, cmd: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const args = ['exec'];
  if (opts.stdin !== undefined) args.push('-i');
  if (opts.user) args.push('-u', opts.user);
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-e', `${k}=${v}`);
  return docker([...args, container, ...cmd], { stdin: opts.stdin });
}

/** Fails fast with the fix, instead of a confusing "pull access denied" from `docker run`. */
export async function requireImages(names: readonly string[]): Promise<void> {
  try {
    await docker(['version', '--format', '{{.Server.Version}}']);
  } catch (err) {
    throw new Error(
      `no Docker engine reachable; run test/integration/setup/ensure-docker.sh (as root). ${String(err)}`,
      { cause: err },
    );
  }
  const missing: string[] = [];
  for (const n of names) {
    await docker(['image', 'inspect', '--format', '{{.Id}}', n]).catch(() => missing.push(n));
  }
  if (missing.length > 0) {
    throw new Error(
      `missing test image(s) ${missing.join(', ')}; build them with test/integration/setup/build-images.sh (as root)`,
    );
  }
}

export interface Mount {
  /** Volume name, or an absolute host path when type is 'bind'. */
  source: string;
  target: string;
  type?: 'volume' | 'bind';
  readonly?: boolean;
}

export interface PortSpec {
  container: number;
  /** Omit for an ephemeral host port (read it back with `docker port`). */
  host?: number;
  /** Default 127.0.0.1: tests must not expose services on the machine's public interfaces. */
  hostIp?: string;
}

export interface RunSpec {
  name: string;
  image: string;
  network?: string;
  aliases?: string[];
  env?: Record<string, string>;
  mounts?: Mount[];
  /** Replaces the image ENTRYPOINT. Default: the image's. */
  entrypoint?: string;
  /** Replaces the image CMD (the ENTRYPOINT still runs). */
  cmd?: string[];
  ports?: PortSpec[];
  /** The container's hostname. Default: Docker's (its short id). */
  hostname?: string;
}

/**
 * Tracks every container, network and volume a test creates so `cleanup()` can remove
 * them even when the test failed half-way. Names are recorded *before* the create call,
 * so a create that half-succeeded is still cleaned up.
 */
export class Sandbox {
  private readonly containers = new Set<string>();
  private readonly networks = new Set<string>();
  private readonly volumes = new Set<string>();

  async network(name: string): Promise<string> {
    this.networks.add(name);
    await docker(['network', 'create', name]);
    return name;
  }

  /** Plain `docker volume create NAME` — the same call Pulumi's docker provider makes. */
  async volume(name: string): Promise<string> {
    this.volumes.add(name);
    await docker(['volume', 'create', name]);
    return name;
  }

  /** Starts a detached container; resolves with its id. */
  async run(spec: RunSpec): Promise<string> {
    const args = ['run', '-d', '--name', spec.name, '--label', 'io.kytes.integration-test=1'];
    if (spec.network) args.push('--network', spec.network);
    if (spec.hostname) args.push('--hostname', spec.hostname);
    for (const a of spec.aliases ?? []) args.push('--network-alias', a);
    if (spec.entrypoint !== undefined) args.push('--entrypoint', spec.entrypoint);
    for (const [k, v] of Object.entries(spec.env ?? {})) args.push('-e', `${k}=${v}`);
    for (const m of spec.mounts ?? []) {
      args.push(
        '--mount',
        `type=${m.type ?? 'volume'},source=${m.source},target=${m.target}${m.readonly ? ',readonly' : ''}`,
      );
    }
    for (const p of spec.ports ?? []) args.push('-p', `${p.hostIp ?? '127.0.0.1'}:${p.host ?? ''}:${p.container}`);
    this.containers.add(spec.name);
    return (await docker([...args, spec.image, ...(spec.cmd ?? [])])).trim();
  }

  /** Removes everything recorded, containers first (they pin networks and volumes). Never throws. */
  async cleanup(): Promise<void> {
    const tryRm = async (args: string[]): Promise<void> => {
      try {
        await docker(args);
      } catch (err) {
        // Already gone is fine (the test may have removed it); anything else is a leak to report.
        if (!/no such|not found/i.test(String(err))) console.warn(`sandbox cleanup: ${String(err)}`);
      }
    };
    // -v drops anonymous volumes (e.g. an image VOLUME nobody mounted); named ones stay until below.
    for (const c of this.containers) await tryRm(['rm', '-f', '-v', c]);
    for (const n of this.networks) await tryRm(['network', 'rm', n]);
    for (const v of this.volumes) await tryRm(['volume', 'rm', '-f', v]);
    this.containers.clear();
    this.networks.clear();
    this.volumes.clear();
  }
}
