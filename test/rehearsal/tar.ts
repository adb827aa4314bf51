/**
 * A one-file ustar archive, what the Docker provider sends to `PUT /containers/{id}/archive?path=/` for
 * each `uploads` entry (Go's archive/tar header: name, mode, size, mtime, and uid/gid when given).
 */
export interface TarEntry {
  /** Path inside the container; a leading `/` is dropped, as the archive is extracted at `/`. */
  readonly name: string;
  readonly content: Buffer;
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

export function tarOneFile(e: TarEntry): Buffer {
  const name = e.name.replace(/^\/+/, '');
  const header = Buffer.alloc(512, 0);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`upload path too long: ${e.name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  header.write(base, 0, 100, 'utf8');
  header.write(octal(e.mode & 0o7777, 8), 100, 8, 'ascii');
  header.write(octal(e.uid ?? 0, 8), 108, 8, 'ascii');
  header.write(octal(e.gid ?? 0, 8), 116, 8, 'ascii');
  header.write(octal(e.content.length, 12), 124, 12, 'ascii');
  header.write(octal(Math.floor(Date.now() / 1000), 12), 136, 12, 'ascii');
  header.write('        ', 148, 8, 'ascii');
  header.write('0', 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  const pad = Buffer.alloc((512 - (e.content.length % 512)) % 512, 0);
  return Buffer.concat([header, e.content, pad, Buffer.alloc(1024, 0)]);
}
