import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

/**
 * A Docker Engine API client, as the Pulumi Docker provider uses one (the provider is the Go SDK over the
 * same HTTP API): the rehearsal creates networks, volumes and containers with the request bodies the
 * provider builds, not through `docker run` flags. `unix://` hosts are reached on their socket; `ssh://`
 * hosts through one OpenSSH connection that forwards the remote engine's socket to a local one, with the
 * provider's `sshOpts` (the provider runs `ssh … docker system dial-stdio` per connection; the engine seen
 * at the end is the same).
 */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface EngineTarget {
  /** The provider's `host`, e.g. `unix:///var/run/docker.sock` or `ssh://root@127.0.0.1:2201`. */
  readonly host: string;
  /** The provider's `sshOpts`. */
  readonly sshOpts?: readonly string[];
}

export class Engine {
  private apiVersion?: string;
  private tunnel?: ChildProcess;

  private constructor(
    readonly target: EngineTarget,
    private socketPath: string,
  ) {}

  static async connect(target: EngineTarget, workDir: string): Promise<Engine> {
    const url = target.host;
    if (url.startsWith('unix://')) return Engine.ready(new Engine(target, url.slice('unix://'.length)));
    const ssh = /^ssh:\/\/(?:([^@]+)@)?([^:/]+)(?::(\d+))?\/?$/.exec(url);
    if (!ssh) throw new Error(`rehearsal: Docker host ${url} is neither unix:// nor ssh://`);
    const local = path.join(fs.mkdtempSync(path.join(workDir, 'engine-')), 'docker.sock');
    const args = [
      ...(target.sshOpts ?? []),
      '-N',
      '-o',
      'ExitOnForwardFailure=yes',
      '-o',
      'BatchMode=yes',
      ...(ssh[1] ? ['-l', ssh[1]] : []),
      ...(ssh[3] ? ['-p', ssh[3]] : []),
      '-L',
      `${local}:/var/run/docker.sock`,
      '--',
      ssh[2],
    ];
    const child = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const engine = new Engine(target, local);
    engine.tunnel = child;
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(local)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill();
        throw new Error(`rehearsal: ssh to the Docker host ${url} failed: ${stderr.trim() || 'timed out'}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return Engine.ready(engine);
  }

  private static async ready(engine: Engine): Promise<Engine> {
    const v = (await engine.request('GET', '/version', undefined, { versioned: false })) as { ApiVersion: string };
    engine.apiVersion = v.ApiVersion;
    return engine;
  }

  /** `DOCKER_HOST` for the docker CLI that reaches this engine (builds of stand-in images). */
  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  /** The negotiated API version, e.g. `1.41` for Docker 20.10. */
  get version(): string {
    return this.apiVersion ?? '0';
  }

  /** True when the engine understands a feature introduced in API `v` (e.g. `1.44`). */
  supports(v: string): boolean {
    const [a, b] = this.version.split('.').map(Number);
    const [c, d] = v.split('.').map(Number);
    return a > c || (a === c && b >= d);
  }

  close(): void {
    this.tunnel?.kill();
  }

  /** One API call, JSON in and out (a Buffer body is sent as is; `raw` resolves with the body as a Buffer). */
  request(
    method: string,
    apiPath: string,
    body?: unknown,
    opts: { versioned?: boolean; timeoutMs?: number; contentType?: string; raw?: boolean } = {},
  ): Promise<unknown> {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const fullPath = opts.versioned === false ? apiPath : `/v${this.version}${apiPath}`;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          path: fullPath,
          method,
          timeout: opts.timeoutMs ?? 600_000,
          headers: {
            host: 'docker',
            ...(data
              ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': String(data.length) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            const text = body.toString('utf8');
            const status = res.statusCode ?? 0;
            if (opts.raw && status < 400) return resolve(body);
            if (status >= 400) {
              let message = text;
              try {
                message = (JSON.parse(text) as { message?: string }).message ?? text;
              } catch {
                // plain-text error
              }
              reject(new EngineError(status, `${method} ${apiPath}: ${message.trim()}`));
              return;
            }
            if (!text) return resolve(undefined);
            try {
              resolve(JSON.parse(text));
            } catch {
              resolve(text);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }
}

/** A directory for the rehearsal's own files (state, keys, logs), private to root. */
export function privateDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
