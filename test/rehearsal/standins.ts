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

/** The PostgreSQL the rehearsal runs: Debian trixie's 17, the major Kytes pins (GitLab 19 needs 17). */
export const POSTGRES_IMAGE = 'kytes-test/postgres:trixie';

export const STANDINS: Readonly<Record<string, StandIn>> = {
  postgres: { kind: 'real', what: "Debian trixie's PostgreSQL 17 (kytes-test/postgres:trixie)", image: POSTGRES_IMAGE },
  redis: {
    kind: 'real',
    what: "Debian trixie's Redis 8.0 (kytes-test/redis:trixie)",
    image: 'kytes-test/redis:trixie',
  },
  nginx: {
    kind: 'real',
    what: "Debian trixie's nginx 1.26 with OpenSSL 3.5 (kytes-test/nginx:trixie), as the pinned -trixie image",
    image: 'kytes-test/nginx:trixie',
  },
  gitlab: {
    kind: 'stand-in',
    what: "gitlab-standin (Python) + fake gitlab-backup/ctl/rake on PostgreSQL 17's client tools, reporting the pinned tag as its version",
    build: {
      context: path.join(FAKE, 'gitlab'),
      args: (ref) => ({ GITLAB_VERSION: versionOf(ref, 'GitLab'), BASE: POSTGRES_IMAGE }),
    },
  },
  mongo: {
    kind: 'stand-in',
    what: 'stand-in mongod/mongosh/mongodump/mongorestore (Node.js), reporting the pinned tag as its version',
    build: { context: path.join(FAKE, 'mongo'), args: (ref) => ({ MONGO_VERSION: versionOf(ref, 'MongoDB') }) },
  },
  rocketchat: {
    kind: 'stand-in',
    what: 'stand-in Rocket.Chat server (Node.js)',
    build: { context: FAKE, dockerfile: path.join(FAKE, 'rocketchat', 'Dockerfile') },
  },
};

/** `repo:19.3.0-ce.0[@sha256:…]`, `mongo:8.0.16-noble` → `19.3.0`, `8.0.16`: what the image reports. */
export function versionOf(ref: string, what: string): string {
  const m = /:(\d+\.\d+\.\d+)[^:/@]*(?:@sha256:[0-9a-f]{64})?$/.exec(ref);
  if (!m) throw new Error(`rehearsal: cannot read a ${what} version from the image reference ${ref}`);
  return m[1];
}

/** `gitlab/gitlab-ce:19.3.0-ce.0[@sha256:…]` → `19.3.0`: what the image reports as Gitlab::VERSION. */
export function gitlabVersion(ref: string): string {
  return versionOf(ref, 'GitLab');
}

/** The `repo:tag` a pull of `ref` leaves on the engine; none for a reference by digest only. */
export function pinnedTag(ref: string): { repo: string; tag: string } | undefined {
  const name = ref.split('@')[0];
  const colon = name.lastIndexOf(':');
  if (colon <= name.lastIndexOf('/')) return undefined;
  return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
}

/** Labels of the images a test may tag under a pinned name: build-images.sh's and the stand-ins'. */
const TEST_IMAGE_LABELS = ['io.kytes.test-image', 'io.kytes.rehearsal-standin'];
interface ImageInspect {
  Id: string;
  Config?: { Labels?: Record<string, string> | null };
}
const isTestImage = (i: ImageInspect) => TEST_IMAGE_LABELS.some((l) => i.Config?.Labels?.[l] !== undefined);
const inspect = (engine: Engine, name: string) =>
  engine.request('GET', `/images/${encodeURIComponent(name)}/json`).then(
    (i) => i as ImageInspect,
    () => undefined,
  );

/**
 * What a pull leaves on the engine: the stand-in is tagged under the pinned reference as well, since
 * scripts may name an image by it (e.g. a `docker run <pinned image>` on the host). Such tags exist only
 * while a rehearsal runs (one at a time per machine, see rehearsal.ts) and only for test images: an engine
 * that holds the real image under that name is refused rather than shadowed.
 */
export class StandIns {
  private readonly pulled = new Map<string, Promise<string>>();
  /** image id → service, for the label check. */
  private readonly services = new Map<string, string>();
  private readonly tags = new Set<string>();
  private readonly pinned = new Set<string>();
  private images: Readonly<Record<string, string>> = {};

  /** `images`: the parsed `kytes:images` section (service → pinned reference). `run`: unique per rehearsal. */
  constructor(
    images: Readonly<Record<string, unknown>>,
    private readonly run: string,
  ) {
    this.setImages(images);
  }

  /** The `kytes:images` of the config the next `up` runs with (entries that are not references are ignored). */
  setImages(images: Readonly<Record<string, unknown>>): void {
    this.images = Object.fromEntries(
      Object.entries(images).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
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
      const label = ['--label', `io.kytes.rehearsal-standin=${service}`];
      await execFileP('docker', ['build', '-q', '-t', tag, ...label, ...args, ...file, s.build.context], {
        env: { ...process.env, DOCKER_HOST: engine.dockerHost, DOCKER_BUILDKIT: '0' },
        timeout: 300_000,
      });
    }
    const id = ((await engine.request('GET', `/images/${encodeURIComponent(tag)}/json`)) as { Id: string }).Id;
    await this.tagPinned(engine, ref, id);
    this.services.set(id, service);
    return id;
  }

  private async tagPinned(engine: Engine, ref: string, id: string): Promise<void> {
    const p = pinnedTag(ref);
    if (!p) return;
    const name = `${p.repo}:${p.tag}`;
    const existing = await inspect(engine, name);
    if (existing && existing.Id !== id && !isTestImage(existing)) {
      throw new Error(
        `rehearsal: the engine holds ${name} (${existing.Id}), which is not a test image; the rehearsal would shadow it with a stand-in: run it on an engine without it`,
      );
    }
    await engine.request(
      'POST',
      `/images/${encodeURIComponent(id)}/tag?repo=${encodeURIComponent(p.repo)}&tag=${encodeURIComponent(p.tag)}`,
    );
    this.pinned.add(name);
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
    await StandIns.untagPinned(engine, [...this.pinned]);
  }

  /** Removes the pinned-name tags of test images among `names` (left by this run, or by one that crashed). */
  static async untagPinned(engine: Engine, names: readonly string[]): Promise<void> {
    for (const name of names) {
      const i = await inspect(engine, name);
      if (i && isTestImage(i)) {
        await engine.request('DELETE', `/images/${encodeURIComponent(name)}?noprune=true`).catch(() => undefined);
      }
    }
  }

  /** The pinned names of every reference in `images`. */
  static pinnedNames(images: Readonly<Record<string, unknown>>): string[] {
    return Object.values(images)
      .filter((v): v is string => typeof v === 'string')
      .map(pinnedTag)
      .filter((p): p is { repo: string; tag: string } => p !== undefined)
      .map((p) => `${p.repo}:${p.tag}`);
  }
}
