import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Certificates made by the real `openssl` for tests: a private CA, and leaves it signs with the names and
 * validity a test asks for (past dates included, through `openssl ca`). Nothing here is a real secret.
 */
export interface Pair {
  /** Leaf first, then the CA: what nginx wants in `ssl_certificate`. */
  readonly chainPem: string;
  readonly leafPem: string;
  readonly keyPem: string;
  readonly chainFile: string;
  readonly keyFile: string;
}

export interface LeafOptions {
  /** subjectAltName DNS names; the first is also the CN. */
  readonly names: readonly string[];
  /** Validity, as Date; default: from yesterday to in 90 days. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Add an OCSP responder URL (Authority Information Access). */
  readonly ocspUrl?: string;
}

const DAY = 86_400_000;
const stamp = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

export class TestCa {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  private n = 0;

  constructor(name = 'Kytes Test CA') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-ca-'));
    this.certFile = path.join(this.dir, 'ca.pem');
    this.keyFile = path.join(this.dir, 'ca.key');
    fs.mkdirSync(path.join(this.dir, 'new'));
    fs.writeFileSync(path.join(this.dir, 'index.txt'), '');
    fs.writeFileSync(path.join(this.dir, 'serial'), '1000\n');
    fs.writeFileSync(
      path.join(this.dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = kytes',
        '[kytes]',
        `dir = ${this.dir}`,
        'database = $dir/index.txt',
        'new_certs_dir = $dir/new',
        'serial = $dir/serial',
        'default_md = sha256',
        'policy = any',
        'unique_subject = no',
        'copy_extensions = none',
        '[any]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      this.keyFile,
      '-out',
      this.certFile,
    ]);
    this.certPem = fs.readFileSync(this.certFile, 'utf8');
  }

  /** A leaf key and certificate signed by this CA. */
  leaf(o: LeafOptions): Pair {
    const id = `leaf-${++this.n}`;
    const keyFile = path.join(this.dir, `${id}.key`);
    const csr = path.join(this.dir, `${id}.csr`);
    const leafFile = path.join(this.dir, `${id}.pem`);
    const ext = path.join(this.dir, `${id}.ext`);
    fs.writeFileSync(
      ext,
      [
        `subjectAltName = ${o.names.map((n) => `DNS:${n}`).join(',')}`,
        'basicConstraints = critical,CA:false',
        'keyUsage = critical,digitalSignature',
        'extendedKeyUsage = serverAuth',
        ...(o.ocspUrl ? [`authorityInfoAccess = OCSP;URI:${o.ocspUrl}`] : []),
        '',
      ].join('\n'),
    );
    openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${o.names[0]}`,
      '-keyout',
      keyFile,
      '-out',
      csr,
    ]);
    const from = o.notBefore ?? new Date(Date.now() - DAY);
    const to = o.notAfter ?? new Date(Date.now() + 90 * DAY);
    openssl([
      'ca',
      '-batch',
      '-notext',
      '-config',
      path.join(this.dir, 'ca.cnf'),
      '-cert',
      this.certFile,
      '-keyfile',
      this.keyFile,
      '-in',
      csr,
      '-out',
      leafFile,
      '-extfile',
      ext,
      '-startdate',
      stamp(from),
      '-enddate',
      stamp(to),
    ]);
    const leafPem = fs.readFileSync(leafFile, 'utf8');
    const chainPem = leafPem + this.certPem;
    const chainFile = path.join(this.dir, `${id}-chain.pem`);
    fs.writeFileSync(chainFile, chainPem);
    return { chainPem, leafPem, keyPem: fs.readFileSync(keyFile, 'utf8'), chainFile, keyFile };
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function openssl(args: readonly string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export const days = (n: number) => new Date(Date.now() + n * DAY);
