import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { checkManifest, Manifest } from '../../ops/manifest';
import { installScripts, OPTIONS, removeDir, tempDir, topologyFor, withLib } from './fixture';

const SHA = 'a'.repeat(64);

function goodManifest(): Manifest {
  return {
    format: 'kytes-backup',
    formatVersion: 2,
    id: '20261122T040000Z-manual',
    createdAt: '2026-11-22T04:00:00Z',
    completedAt: '2026-11-22T04:03:17Z',
    host: { hostname: 'docker-1', machineId: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' },
    project: 'kytes',
    stack: 'prod',
    prefix: 'kytes-prod',
    iac: { commit: '3c68b8d', dirty: false, version: '0.1.0' },
    images: [
      {
        component: 'gitlab-main',
        container: 'kytes-prod-gitlab-main',
        image: 'gitlab/gitlab-ce:19.3.0-ce.0',
        imageId: `sha256:${SHA}`,
      },
    ],
    gitlab: [
      {
        instance: 'main',
        container: 'kytes-prod-gitlab-main',
        version: '19.3.0',
        archive: 'gitlab-main.tar.zst',
        archiveTail: 'gitlab-main.tail.tar',
        config: 'gitlab-main-etc.tar',
        archiveCompression: 'zstd',
        innerCompression: 'none',
      },
    ],
    mongo: {
      replicaSet: 'rs0',
      primary: 'kytes-prod-mongo-0',
      database: 'rocketchat',
      archive: 'mongo-rocketchat.archive.zst',
      compression: 'zstd',
    },
    rocketchatUploads: { volume: 'kytes-prod-rocketchat-uploads', archive: 'rocketchat-uploads.tar' },
    postgres: { container: 'kytes-prod-postgres', globals: 'postgres-globals.sql' },
    artifacts: [
      { file: 'postgres-globals.sql', size: 1234, sha256: SHA },
      { file: 'gitlab-main.tar.zst', size: 10240, sha256: SHA },
      { file: 'gitlab-main.tail.tar', size: 2048, sha256: SHA },
      { file: 'gitlab-main-etc.tar', size: 20480, sha256: SHA },
      { file: 'mongo-rocketchat.archive.zst', size: 0, sha256: SHA },
      { file: 'rocketchat-uploads.tar', size: 10240, sha256: SHA },
    ],
    invocation: {
      operation: 'kytes-backup',
      arguments: ['--label', 'manual'],
      user: 'root',
      host: 'docker-1',
      startedAt: '2026-11-22T04:00:00Z',
      envNames: ['KYTES_LOCK_WAIT'],
    },
  };
}

type Json = ReturnType<typeof JSON.parse>;
/** A deep copy of the good manifest with `edit` applied. */
function edited(edit: (m: Json) => void): string {
  const m = JSON.parse(JSON.stringify(goodManifest()));
  edit(m);
  return JSON.stringify(m);
}

/** name → [manifest.json text, expected verdict]. */
const CORPUS: Record<string, [string, boolean]> = {
  'the reference manifest': [JSON.stringify(goodManifest()), true],
  'pretty-printed, with an unknown extra key': [edited((m) => (m.comment = 'x')).replace(/,/g, ',\n  '), true],
  'no Rocket.Chat: mongo and uploads null': [
    edited((m) => {
      m.mongo = null;
      m.rocketchatUploads = null;
      m.artifacts = m.artifacts.filter((a: { file: string }) => !/^(mongo|rocketchat)/.test(a.file));
    }),
    true,
  ],
  'iac.version null': [edited((m) => (m.iac.version = null)), true],
  'with the TLS volume': [
    edited((m) => {
      m.tls = { volume: 'kytes-prod-tls', archive: 'tls.tar' };
      m.artifacts.push({ file: 'tls.tar', size: 10240, sha256: SHA });
    }),
    true,
  ],
  'tls null': [edited((m) => (m.tls = null)), true],
  'tls as a string': [edited((m) => (m.tls = 'kytes-prod-tls')), false],
  'TLS archive with a directory': [
    edited((m) => {
      m.tls = { volume: 'kytes-prod-tls', archive: '../tls.tar' };
      m.artifacts.push({ file: 'tls.tar', size: 10240, sha256: SHA });
    }),
    false,
  ],
  'TLS archive not listed': [edited((m) => (m.tls = { volume: 'kytes-prod-tls', archive: 'tls.tar' })), false],
  'an id without label': [edited((m) => (m.id = '20261122T040000Z')), true],
  'formatVersion written 1.0': [
    JSON.stringify(goodManifest()).replace('"formatVersion":1', '"formatVersion":1.0'),
    true,
  ],
  'a GitLab EE version string': [edited((m) => (m.gitlab[0].version = '19.3.0-ee')), true],
  'format version 3': [edited((m) => (m.formatVersion = 3)), false],
  'format version 0': [edited((m) => (m.formatVersion = 0)), false],
  "a format-1 manifest (no compression keys: gzip inside GitLab's archive and mongodump --gzip)": [
    edited((m) => {
      m.formatVersion = 1;
      delete m.gitlab[0].archiveCompression;
      delete m.gitlab[0].innerCompression;
      delete m.mongo.compression;
    }),
    true,
  ],
  'format 2 without gitlab archiveCompression': [edited((m) => delete m.gitlab[0].archiveCompression), false],
  'format 2 without gitlab innerCompression': [edited((m) => delete m.gitlab[0].innerCompression), false],
  'format 2 without mongo compression': [edited((m) => delete m.mongo.compression), false],
  'format 2 with mongo null needs no mongo compression': [
    edited((m) => {
      m.mongo = null;
      m.artifacts = m.artifacts.filter((a: { file: string }) => !a.file.startsWith('mongo'));
    }),
    true,
  ],
  'archiveCompression not a known one': [edited((m) => (m.gitlab[0].archiveCompression = 'xz')), false],
  'innerCompression as a command': [edited((m) => (m.gitlab[0].innerCompression = 'tee; rm -rf /')), false],
  'mongo compression upper-case': [edited((m) => (m.mongo.compression = 'ZSTD')), false],
  'no archiveTail (one-piece archive) is allowed': [
    edited((m) => {
      delete m.gitlab[0].archiveTail;
      m.artifacts = m.artifacts.filter((a: { file: string }) => a.file !== 'gitlab-main.tail.tar');
    }),
    true,
  ],
  'archiveTail not listed in artifacts': [
    edited((m) => (m.artifacts = m.artifacts.filter((a: { file: string }) => a.file !== 'gitlab-main.tail.tar'))),
    false,
  ],
  'archiveTail with a directory': [edited((m) => (m.gitlab[0].archiveTail = '../x.tar')), false],
  'archiveTail null': [edited((m) => (m.gitlab[0].archiveTail = null)), false],
  'archiveCompression none is allowed': [edited((m) => (m.gitlab[0].archiveCompression = 'none')), true],
  'format version as a string': [edited((m) => (m.formatVersion = '1')), false],
  'another format': [edited((m) => (m.format = 'restic')), false],
  'id with a trailing newline': [edited((m) => (m.id = '20261122T040000Z\n')), false],
  'id with an upper-case label': [edited((m) => (m.id = '20261122T040000Z-Manual')), false],
  'id not matching createdAt': [edited((m) => (m.id = '20261122T040001Z')), false],
  'createdAt with milliseconds': [edited((m) => (m.createdAt = '2026-11-22T04:00:00.000Z')), false],
  'createdAt in local time': [edited((m) => (m.completedAt = '2026-11-22T05:03:17+01:00')), false],
  'missing host': [edited((m) => delete m.host), false],
  'host as an array': [edited((m) => (m.host = ['docker-1'])), false],
  'empty hostname': [edited((m) => (m.host.hostname = '')), false],
  'empty machineId is allowed': [edited((m) => (m.host.machineId = '')), true],
  'missing machineId': [edited((m) => delete m.host.machineId), false],
  'dirty as a string': [edited((m) => (m.iac.dirty = 'false')), false],
  'iac.version missing': [edited((m) => delete m.iac.version), false],
  'empty commit': [edited((m) => (m.iac.commit = '')), false],
  'mongo key missing': [edited((m) => delete m.mongo), false],
  'postgres key missing': [edited((m) => delete m.postgres), false],
  'mongo as a string': [edited((m) => (m.mongo = 'rs0')), false],
  'image without imageId': [edited((m) => delete m.images[0].imageId), false],
  'images not an array': [edited((m) => (m.images = {})), false],
  'gitlab entry not an object': [edited((m) => (m.gitlab = ['main'])), false],
  'GitLab version "latest"': [edited((m) => (m.gitlab[0].version = 'latest')), false],
  'instance name not a DNS label': [edited((m) => (m.gitlab[0].instance = 'Main')), false],
  'artifact path with a directory': [edited((m) => (m.artifacts[0].file = '../postgres-globals.sql')), false],
  'artifact name starting with a dot': [edited((m) => (m.artifacts[0].file = '.hidden')), false],
  'size negative': [edited((m) => (m.artifacts[0].size = -1)), false],
  'size fractional': [edited((m) => (m.artifacts[0].size = 1.5)), false],
  'size beyond 2^53': [edited((m) => (m.artifacts[0].size = 2 ** 60)), false],
  'size as a string': [edited((m) => (m.artifacts[0].size = '1234')), false],
  'sha256 upper-case': [edited((m) => (m.artifacts[0].sha256 = 'A'.repeat(64))), false],
  'sha256 too short': [edited((m) => (m.artifacts[0].sha256 = 'a'.repeat(63))), false],
  'no artifacts': [
    edited((m) => {
      m.artifacts = [];
      m.gitlab = [];
      m.mongo = null;
      m.rocketchatUploads = null;
      m.postgres = null;
    }),
    false,
  ],
  'an artifact listed twice': [edited((m) => m.artifacts.push(m.artifacts[0])), false],
  'a referenced file not listed': [edited((m) => (m.gitlab[0].config = 'gitlab-main-config.tar')), false],
  'invocation arguments not strings': [edited((m) => (m.invocation.arguments = [1])), false],
  'envNames missing': [edited((m) => delete m.invocation.envNames), false],
  'root is an array': ['[]', false],
  'root is null': ['null', false],
  'two JSON values': [`${JSON.stringify(goodManifest())} {}`, false],
  'empty file': ['', false],
  'truncated JSON': [JSON.stringify(goodManifest()).slice(0, 200), false],
};

describe('backup manifest schema: ops/manifest.ts (zod) and kytes-lib.sh (jq) agree', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('manifest');
    installScripts(topologyFor(), OPTIONS, path.join(dir, 'bin'));
  });
  afterAll(() => removeDir(dir));

  /** The jq verdict of each file, in one bash run: "ok" or "bad". */
  function jqVerdicts(texts: readonly string[]): boolean[] {
    const files = texts.map((text, i) => {
      const f = path.join(dir, `m${i}.json`);
      fs.writeFileSync(f, text);
      return f;
    });
    const r = withLib(
      path.join(dir, 'bin'),
      'while read -r f; do if manifest_problems "$f" >/dev/null; then echo ok; else echo bad; fi; done',
      files.join('\n') + '\n',
    );
    expect(r.stderr).toBe('');
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => l === 'ok');
  }

  it('gives the expected verdict on every corpus case, the same in zod and jq', () => {
    const names = Object.keys(CORPUS);
    const jq = jqVerdicts(names.map((n) => CORPUS[n][0]));
    const table = names.map((n, i) => ({
      case: n,
      expected: CORPUS[n][1],
      zod: checkManifest(CORPUS[n][0]).ok,
      jq: jq[i],
    }));
    expect(table).toEqual(names.map((n) => ({ case: n, expected: CORPUS[n][1], zod: CORPUS[n][1], jq: CORPUS[n][1] })));
  });

  it('agrees with zod on random single-field edits of a good manifest', () => {
    const paths = [
      ['format'],
      ['formatVersion'],
      ['id'],
      ['createdAt'],
      ['completedAt'],
      ['host'],
      ['host', 'hostname'],
      ['host', 'machineId'],
      ['project'],
      ['stack'],
      ['prefix'],
      ['iac'],
      ['iac', 'commit'],
      ['iac', 'dirty'],
      ['iac', 'version'],
      ['images'],
      ['images', 0, 'image'],
      ['gitlab'],
      ['gitlab', 0, 'instance'],
      ['gitlab', 0, 'version'],
      ['gitlab', 0, 'archive'],
      ['gitlab', 0, 'archiveCompression'],
      ['gitlab', 0, 'archiveTail'],
      ['gitlab', 0, 'innerCompression'],
      ['mongo'],
      ['mongo', 'archive'],
      ['mongo', 'compression'],
      ['rocketchatUploads'],
      ['postgres'],
      ['postgres', 'globals'],
      ['artifacts'],
      ['artifacts', 0, 'file'],
      ['artifacts', 0, 'size'],
      ['artifacts', 1, 'sha256'],
      ['invocation'],
      ['invocation', 'arguments'],
      ['invocation', 'startedAt'],
      ['invocation', 'envNames'],
    ] as const;
    const value = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -3, max: 3 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string({ maxLength: 8 }),
      fc.constantFrom(
        '',
        'gitlab-main.tar',
        '2026-11-22T04:00:00Z',
        '20261122T040000Z',
        '19.3.0',
        SHA,
        'a/b',
        'kytes-backup',
        'zstd',
        'none',
        'gzip',
      ),
      fc.constant([]),
      fc.constant({}),
      fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
    );
    const cases = fc.sample(fc.tuple(fc.constantFrom(...paths), value), { numRuns: 300, seed: 20261122 });
    const texts = cases.map(([p, v]) =>
      edited((m) => {
        let o = m;
        for (const k of p.slice(0, -1)) o = o[k];
        const last = p[p.length - 1];
        if (v === undefined) delete o[last];
        else o[last] = v;
      }),
    );
    const jq = jqVerdicts(texts);
    const disagreements = texts
      .map((t, i) => ({ manifest: t, zod: checkManifest(t).ok, jq: jq[i] }))
      .filter((c) => c.zod !== c.jq);
    expect(disagreements).toEqual([]);
    // The sample must exercise both verdicts, or the agreement proves little.
    expect(new Set(jq)).toEqual(new Set([true, false]));
  });

  it('lists each problem as "path: reason"', () => {
    const text = edited((m) => {
      m.formatVersion = 3;
      m.artifacts[0].size = -1;
    });
    expect(checkManifest(text)).toEqual({
      ok: false,
      problems: [
        'formatVersion: Invalid option: expected one of 1|2',
        'artifacts.0.size: Too small: expected number to be >=0',
      ],
    });
    fs.writeFileSync(path.join(dir, 'two.json'), text);
    expect(
      withLib(
        path.join(dir, 'bin'),
        `manifest_problems ${JSON.stringify(path.join(dir, 'two.json'))} || echo "status $?"`,
      ).stdout,
    ).toBe(
      'formatVersion: must be 1 or 2, the formats this Kytes reads\nartifacts[0].size: must be a whole number of bytes\nstatus 1\n',
    );
  });
});
