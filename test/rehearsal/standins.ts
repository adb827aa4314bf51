import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { LABELS } from '../../lib/labels';
import { Engine } from './engine';

const execFileP = promisify(execFile);
const FAKE = path.join(__dirname, '..', 'integration', 'ops', 'fake');

/**
 * THE IMAGE MAP. Nothing can be pulled here, so each pinned image is replaced by a local image chosen by
 * the service it belongs to: the `kytes:images.<service>` key whose value is the pinned reference (the
 * config the program reads), checked again against the `kytes.service` label of every container that
 * uses it. A service without an entry fails the run.
 *
 * `real`: the service's own program, from Debian (its version differs from the pinned one);
 * `stand-in`: a program honouring the contract Kytes relies on (test/integration/ops/fake/README.md).
 */
export interface StandIn {
  readonly kind: 'real' | 'stand-in';
  /** What runs instead of the pinned image, for the README and the notes. */
  readonly what: string;
  /** A local image (test/integration/setup/build-images.sh). */
  readonly image?: string;
  /** Or a build on top of the local images; `args` may read the pinned reference (e.g. GitLab's version). */
  readonly build?: {
    readonly context: string;
    readonly dockerfile?: string;
    args?(ref: string): Record<string, string>;
  };
}

export const STANDINS: Readonly<Record<string, StandIn>> = {
  postgres: {
    kind: 'real',
    what: "Debian bookworm's PostgreSQL 15 (kytes-test/postgres)",
    image: 'kytes-test/postgres:bookworm',
  },
  redis: { kind: 'real', what: "Debian bookworm's Redis 7.0 (kytes-test/redis)", image: 'kytes-test/redis:bookworm' },
  nginx: { kind: 'real', what: "Debian bookworm's nginx 1.22 (kytes-test/nginx)", image: 'kytes-test/nginx:bookworm' },
  gitlab: {
    kind: 'stand-in',
    what: 'gitlab-standin (Python) + fake gitlab-backup/ctl/rake, reporting the pinned tag as its version',
    build: { context: path.join(FAKE, 'gitlab'), args: (ref) => ({ GITLAB_VERSION: gitlabVersion(ref) }) },
  },
  mongo: {
    kind: 'stand-in',
    what: 'stand-in mongod/mongosh/mongodump/mongorestore (Node.js)',
    build: { context: path.join(FAKE, 'mongo') },
  },
  rocketchat: {
    kind: 'stand-in',
    what: 'stand-in Rocket.Chat server (Node.js)',
    build: { context: FAKE, dockerfile: path.join(FAKE, 'rocketchat', 'Dockerfile') },
  },
};

/** `gitlab/gitlab-ce:19.3.0-ce.0[@sha256:…]` → `19.3.0`: what the image reports as Gitlab::VERSION. */
export function gitlabVersion(ref: string): string {
  const m = /:(\d+\.\d+\.\d+)(?:-[a-z]+\.\d+)?(?:@sha256:[0-9a-f]{64})?$/.exec(ref);
  if (!m) throw new Error(`rehearsal: cannot read a GitLab version from the image reference ${ref}`);
  return m[1];
}

export class StandIns {
  private readonly pulled = new Map<string, Promise<string>>();
  /** image id → service, for the label check. */
  private readonly services = new Map<string, string>();
  private readonly tags = new Set<string>();

  /** `images`: the parsed `kytes:images` section (service → pinned reference). `run`: unique per rehearsal. */
  constructor(
    private images: Readonly<Record<string, string>>,
    private readonly run: string,
  ) {}

  /** The `kytes:images` of the config the next `up` runs with. */
  setImages(images: Readonly<Record<string, string>>): void {
    this.images = images;
  }

  serviceOf(ref: string): string {
    const services = Object.keys(this.images).filter((s) => this.images[s] === ref);
    if (services.length === 0)
      throw new Error(`rehearsal: image ${ref} is not one of the kytes:images the config pins`);
    const missing = services.filter((s) => !STANDINS[s]);
    if (missing.length > 0) {
      throw new Error(
        `rehearsal: no stand-in for kytes:images.${missing[0]} (${ref}); add one to STANDINS in test/rehearsal/standins.ts`,
      );
    }
    if (new Set(services.map((s) => STANDINS[s])).size > 1) {
      throw new Error(`rehearsal: ${ref} is pinned for ${services.join(' and ')}, which have different stand-ins`);
    }
    return services[0];
  }

  /** The tag this run gives the stand-in of `ref`. */
  tagOf(ref: string): string {
    const clean = ref
      .replace(/[^a-z0-9_.-]+/gi, '-')
      .toLowerCase()
      .slice(0, 100);
    return `kytes-rehearsal-${this.run}/${this.serviceOf(ref)}:${clean}`;
  }

  /** "Pulls" `ref`: builds or tags its stand-in once per run; resolves with the image id. */
  pull(engine: Engine, ref: string): Promise<string> {
    let p = this.pulled.get(ref);
    if (!p) {
      p = this.doPull(engine, ref);
      this.pulled.set(ref, p);
    }
    return p;
  }

  private async doPull(engine: Engine, ref: string): Promise<string> {
    const service = this.serviceOf(ref);
    const s = STANDINS[service];
    const tag = this.tagOf(ref);
    const [repo, version] = [tag.slice(0, tag.lastIndexOf(':')), tag.slice(tag.lastIndexOf(':') + 1)];
    this.tags.add(tag);
    if (s.image) {
      await engine.request(
        'POST',
        `/images/${encodeURIComponent(s.image)}/tag?repo=${encodeURIComponent(repo)}&tag=${version}`,
      );
    } else if (s.build) {
      const args = Object.entries(s.build.args?.(ref) ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
      const file = s.build.dockerfile ? ['-f', s.build.dockerfile] : [];
      await execFileP('docker', ['build', '-q', '-t', tag, ...args, ...file, s.build.context], {
        env: { ...process.env, DOCKER_HOST: engine.dockerHost, DOCKER_BUILDKIT: '0' },
        timeout: 300_000,
      });
    }
    const id = ((await engine.request('GET', `/images/${encodeURIComponent(tag)}/json`)) as { Id: string }).Id;
    this.services.set(id, service);
    return id;
  }

  /** A container's image must come from a RemoteImage, and its kytes.service label (when set) match it. */
  checkContainer(image: string, labels: Readonly<Record<string, string>> | undefined): void {
    const service = this.services.get(image);
    if (!service)
      throw new Error(`rehearsal: container image ${image} does not come from a docker.RemoteImage of the program`);
    const label = labels?.[LABELS.service];
    if (label !== undefined && label !== service) {
      throw new Error(`rehearsal: a container labelled ${LABELS.service}=${label} runs the image of ${service}`);
    }
  }

  /** RemoteImage delete without keepLocally: the run's tag of that image goes. */
  async remove(engine: Engine, ref: string, force: boolean): Promise<void> {
    await engine.request('DELETE', `/images/${encodeURIComponent(this.tagOf(ref))}?force=${force}`);
  }

  /** Removes every tag this run created (the layers stay cached for the next run). */
  async cleanup(engine: Engine): Promise<void> {
    for (const tag of this.tags) {
      await engine.request('DELETE', `/images/${encodeURIComponent(tag)}?noprune=true`).catch(() => undefined);
    }
  }
}
