import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Backups laid out on disk as kytes-backup leaves them (format 2, one GitLab instance, no Rocket.Chat),
 * for the Docker-free tests of kytes-verify, kytes-offhost-copy, kytes-offhost-fetch and kytes-restore's
 * checks: what those scripts decide depends only on these files.
 */

export const ARTIFACTS = ['postgres-globals.sql', 'gitlab-main.tar.zst', 'gitlab-main.tail.tar', 'gitlab-main-etc.tar'];

/** Deterministic bytes, different per file and per backup. */
function content(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < size; i += block.length) {
    block.copy(out, i);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** `YYYY-MM-DDTHH:MM:SSZ` of an id. */
export function createdAtOf(id: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  if (!m) throw new Error(`not a backup id: ${id}`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}

/**
 * Writes backup `id` into `backupDir/id` (mode 0700, as kytes-backup makes it): its artifacts and a
 * manifest that validates and matches them. `verified` also writes the marker kytes-verify leaves.
 */
export function writeBackup(backupDir: string, id: string, verified = true): string {
  const dir = path.join(backupDir, id);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  ARTIFACTS.forEach((f, i) => fs.writeFileSync(path.join(dir, f), content(`${id}/${f}`, 3000 + 1000 * i)));
  const createdAt = createdAtOf(id);
  const manifest = {
    format: 'kytes-backup',
    formatVersion: 2,
    id,
    createdAt,
    completedAt: createdAt,
    host: { hostname: 'docker-1', machineId: '' },
    project: 'kytes',
    stack: 'unit',
    prefix: 'kytes-unit',
    iac: { commit: '0123abc', dirty: false, version: null },
    images: [],
    gitlab: [
      {
        instance: 'main',
        container: 'kytes-unit-gitlab-main',
        version: '19.3.0',
        archive: 'gitlab-main.tar.zst',
        archiveTail: 'gitlab-main.tail.tar',
        config: 'gitlab-main-etc.tar',
        archiveCompression: 'zstd',
        innerCompression: 'none',
      },
    ],
    mongo: null,
    rocketchatUploads: null,
    postgres: { container: 'kytes-unit-postgres', globals: 'postgres-globals.sql' },
    artifacts: ARTIFACTS.map((file) => ({
      file,
      size: fs.statSync(path.join(dir, file)).size,
      sha256: sha256(path.join(dir, file)),
    })),
    invocation: {
      operation: 'kytes-backup',
      arguments: [],
      user: 'root',
      host: 'docker-1',
      startedAt: createdAt,
      envNames: [],
    },
  };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  if (verified) fs.writeFileSync(path.join(dir, 'verified'), '{}');
  return dir;
}

/** Flips every bit of the byte in the middle of `file`: same size, another sha256. */
export function flipByte(file: string): void {
  const b = fs.readFileSync(file);
  b[Math.floor(b.length / 2)] ^= 0xff;
  fs.writeFileSync(file, b);
}

/** Mode bits of a file or directory, as `stat -c %a` prints them. */
export const modeOf = (p: string): string => (fs.statSync(p).mode & 0o7777).toString(8);

/** Names in `dir`, sorted (empty when it does not exist). */
export const listing = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

/** A directory of stand-in commands to put first on PATH: name → bash script body. */
export function stubs(dir: string, scripts: Readonly<Record<string, string>>): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(scripts)) {
    fs.writeFileSync(path.join(dir, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  }
  return dir;
}
