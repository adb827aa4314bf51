import { z } from 'zod';

/**
 * The manifest every Kytes backup carries (`<backupDir>/<id>/manifest.json`), format version 1 or 2.
 * The same rules exist in jq inside `templates/ops/kytes-lib.sh.hbs` (`MANIFEST_JQ`), which the
 * scripts on the Docker host apply; `test/ops/manifest.test.ts` feeds one corpus of good and bad
 * manifests to both and requires the same verdict, so the two cannot drift apart silently.
 * Unknown keys are tolerated (both sides ignore them): a newer Kytes may add fields within format 1.
 */

export const MANIFEST_FORMAT = 'kytes-backup';
/**
 * The format this Kytes writes. Format 2 (issue 11) records how each archive is compressed: GitLab's
 * archive holds uncompressed task files (`COMPRESS_CMD=tee`) and Kytes compresses the whole archive
 * with zstd on the host; the MongoDB archive likewise. Format 1 (gzip inside GitLab's archive, gzip'd
 * mongodump archive) is still read, so that older backups stay restorable.
 */
export const MANIFEST_FORMAT_VERSION = 2;
/** Every format this Kytes reads. */
export const MANIFEST_FORMAT_VERSIONS = [1, 2] as const;
/**
 * How Kytes compressed a whole artifact file on the host. Absent in format 1: `none`. From format 2,
 * GitLab's archive is `archive` decompressed followed by `archiveTail` (backup_information.yml and the
 * tar end-of-archive blocks), kept apart so that the archive body of unchanged data deduplicates.
 */
export const ARCHIVE_COMPRESSIONS = ['zstd', 'none'] as const;
/**
 * How GitLab compressed the task files inside its archive, i.e. the `DECOMPRESS_CMD` its restore needs:
 * `none` was made with `COMPRESS_CMD=tee` and restores with `DECOMPRESS_CMD=tee` (GitLab's documented
 * "no compression"); `gzip` is GitLab's default and needs no option. Absent in format 1: `gzip`.
 */
export const INNER_COMPRESSIONS = ['none', 'gzip'] as const;
/** How the mongodump archive was compressed: `zstd` on the host, or mongodump's own `--gzip` (format 1). */
export const MONGO_COMPRESSIONS = ['zstd', 'gzip'] as const;

/** Same pattern as `kytes:restore.from` in lib/config/backup.ts. */
export const BACKUP_ID = /^[0-9]{8}T[0-9]{6}Z(-[a-z0-9]+)?$/;
/** UTC to the second. */
const UTC_SECOND = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;
/** A plain file name inside the backup directory: no path, no leading dot. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** GitLab's own version string (`Gitlab::VERSION`), e.g. 19.3.0 or 19.3.0-ee. */
const GITLAB_VERSION = /^[0-9]+\.[0-9]+\.[0-9]+(-[A-Za-z0-9.]+)?$/;

const text = z.string().min(1);
const fileName = z.string().regex(FILE_NAME);
const utc = z.string().regex(UTC_SECOND);

const formatVersion = z.literal([...MANIFEST_FORMAT_VERSIONS]);

const artifact = z.object({
  file: fileName,
  size: z.number().int().min(0),
  sha256: z.string().regex(SHA256),
});

export const manifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    formatVersion,
    id: z.string().regex(BACKUP_ID),
    createdAt: utc,
    completedAt: utc,
    host: z.object({ hostname: text, machineId: z.string() }),
    project: text,
    stack: text,
    prefix: text,
    iac: z.object({ commit: text, dirty: z.boolean(), version: z.string().nullable() }),
    images: z.array(z.object({ component: text, container: text, image: text, imageId: text })),
    gitlab: z.array(
      z.object({
        instance: z.string().regex(DNS_LABEL),
        container: text,
        version: z.string().regex(GITLAB_VERSION),
        archive: fileName,
        archiveTail: fileName.optional(),
        config: fileName,
        archiveCompression: z.enum(ARCHIVE_COMPRESSIONS).optional(),
        innerCompression: z.enum(INNER_COMPRESSIONS).optional(),
      }),
    ),
    mongo: z
      .object({
        replicaSet: text,
        primary: text,
        database: text,
        archive: fileName,
        compression: z.enum(MONGO_COMPRESSIONS).optional(),
      })
      .nullable(),
    rocketchatUploads: z.object({ volume: text, archive: fileName }).nullable(),
    postgres: z.object({ container: text, globals: fileName }).nullable(),
    /** The retained TLS volume (ACME account and certificates); absent from backups made before TLS existed. */
    tls: z.object({ volume: text, archive: fileName }).nullish(),
    artifacts: z.array(artifact).min(1),
    invocation: z.object({
      operation: text,
      arguments: z.array(z.string()),
      user: z.string(),
      host: z.string(),
      startedAt: utc,
      envNames: z.array(z.string()),
    }),
  })
  .superRefine((m, ctx) => {
    if (m.formatVersion >= 2) {
      m.gitlab.forEach((g, i) => {
        for (const key of ['archiveCompression', 'innerCompression'] as const) {
          if (g[key] === undefined)
            ctx.addIssue({ code: 'custom', path: ['gitlab', i, key], message: 'required from format 2 on' });
        }
      });
      if (m.mongo && m.mongo.compression === undefined)
        ctx.addIssue({ code: 'custom', path: ['mongo', 'compression'], message: 'required from format 2 on' });
    }
    const stamp = m.id.slice(0, 16);
    const created = m.createdAt.replace(/[-:]/g, '');
    if (stamp !== created) {
      ctx.addIssue({
        code: 'custom',
        path: ['id'],
        message: `id ${m.id} does not start with createdAt ${m.createdAt}`,
      });
    }
    const files = m.artifacts.map((a) => a.file);
    const seen = new Set<string>();
    for (const f of files) {
      if (seen.has(f)) ctx.addIssue({ code: 'custom', path: ['artifacts'], message: `${f} listed twice` });
      seen.add(f);
    }
    for (const f of referencedFiles(m)) {
      if (!seen.has(f))
        ctx.addIssue({ code: 'custom', path: ['artifacts'], message: `${f} is referenced but not listed` });
    }
  });

export type Manifest = z.output<typeof manifestSchema>;

/** Every file a manifest section points at; each must also be a checksummed artifact. */
export function referencedFiles(
  m: Pick<Manifest, 'gitlab' | 'mongo' | 'rocketchatUploads' | 'postgres' | 'tls'>,
): string[] {
  return [
    ...m.gitlab.flatMap((g) => [g.archive, ...(g.archiveTail === undefined ? [] : [g.archiveTail]), g.config]),
    ...(m.mongo ? [m.mongo.archive] : []),
    ...(m.rocketchatUploads ? [m.rocketchatUploads.archive] : []),
    ...(m.postgres ? [m.postgres.globals] : []),
    ...(m.tls ? [m.tls.archive] : []),
  ];
}

export type ManifestVerdict = { ok: true; manifest: Manifest } | { ok: false; problems: string[] };

/** Parses manifest.json text; never throws. `problems` are `path: message` lines for an operator. */
export function checkManifest(jsonText: string): ManifestVerdict {
  let value: unknown;
  try {
    value = JSON.parse(jsonText);
  } catch {
    return { ok: false, problems: ['manifest.json: not valid JSON'] };
  }
  const result = manifestSchema.safeParse(value);
  if (result.success) return { ok: true, manifest: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'manifest'}: ${i.message}`),
  };
}
