import { createPrivateKey, X509Certificate } from 'crypto';

/**
 * Checks of a certificate chain and key given as PEM text, made with Node's own X.509 support (OpenSSL
 * underneath) before any resource exists. Messages name the hostname and the certificate's subject, never
 * the PEM text. The same rules are applied on the Docker host to certificates given as file paths
 * (`templates/tls/kytes-tls.hbs`, with openssl).
 */

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const DAY_MS = 86_400_000;

export interface ParsedChain {
  /** Leaf first, as nginx wants `ssl_certificate`. */
  readonly certificates: readonly X509Certificate[];
}

/** Splits a PEM bundle into certificates; throws with a message that names no content. */
export function parseChain(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new Error('holds no PEM certificate');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw new Error(`certificate ${i + 1} of the chain is not a valid X.509 certificate`);
    }
  });
}

/** Whether the certificate carries an OCSP responder URL (Authority Information Access). */
export function hasOcspResponder(cert: X509Certificate): boolean {
  return /OCSP - URI:/.test(cert.infoAccess ?? '');
}

/** DNS names the leaf is valid for (SAN DNS entries; the subject CN is not used by browsers). */
export function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((e) => e.startsWith('DNS:'))
    .map((e) => e.slice(4));
}

/** Whether `host` is covered like a browser decides: exact SAN, or a `*.` wildcard for one label. */
export function covers(cert: X509Certificate, host: string): boolean {
  return (
    cert.checkHost(host, {
      subject: 'never',
      wildcards: true,
      partialWildcards: false,
      multiLabelWildcards: false,
      singleLabelSubdomains: false,
    }) !== undefined
  );
}

const subjectOf = (cert: X509Certificate) => cert.subject.replace(/\n/g, ', ');
const dateOf = (d: Date) => d.toISOString().slice(0, 10);

export interface CertificateCheck {
  /** Config key of the entry, for messages (`kytes:tls.certificates[0]`). */
  readonly key: string;
  readonly certificatePem: string;
  readonly keyPem: string;
  /** The served hostnames this pair must cover. */
  readonly hostnames: readonly string[];
  readonly minValidDays: number;
  readonly now: Date;
}

/**
 * Every problem with one certificate/key pair: an unreadable chain or key, a key that is not the leaf's,
 * a chain out of order, a hostname not covered, a certificate not yet valid, expired or expiring within
 * `minValidDays`. Each message says which hostname(s) it breaks and how to fix it.
 */
export function checkCertificate(c: CertificateCheck): string[] {
  const names = c.hostnames.join(', ');
  let chain: X509Certificate[];
  try {
    chain = parseChain(c.certificatePem);
  } catch (e) {
    return [`${c.key}.certificatePem (for ${names}): ${(e as Error).message}; give the PEM chain, leaf first`];
  }
  const leaf = chain[0];
  const subject = subjectOf(leaf);
  const problems: string[] = [];
  try {
    const key = createPrivateKey(c.keyPem);
    if (!leaf.checkPrivateKey(key))
      problems.push(
        `${c.key}.keyPem (for ${names}): the key does not belong to the certificate ${subject}; give the key the certificate was issued for`,
      );
  } catch {
    problems.push(`${c.key}.keyPem (for ${names}): not a readable private key (an encrypted key cannot be used)`);
  }
  chain.slice(1).forEach((issuer, i) => {
    if (!chain[i].checkIssued(issuer))
      problems.push(
        `${c.key}.certificatePem (for ${names}): certificate ${i + 2} of the chain did not issue certificate ${i + 1}; order the chain leaf first, then each issuer`,
      );
  });
  for (const host of c.hostnames) {
    if (!covers(leaf, host))
      problems.push(
        `${c.key}.certificatePem: the certificate ${subject} does not cover ${host} (it names ${dnsNames(leaf).join(', ') || 'no DNS name'}); use a certificate whose subjectAltName includes ${host}`,
      );
  }
  const from = new Date(leaf.validFrom);
  const to = new Date(leaf.validTo);
  const left = Math.floor((to.getTime() - c.now.getTime()) / DAY_MS);
  if (from.getTime() > c.now.getTime())
    problems.push(`${c.key}.certificatePem (for ${names}): the certificate is not valid before ${dateOf(from)}`);
  if (to.getTime() <= c.now.getTime())
    problems.push(
      `${c.key}.certificatePem (for ${names}): the certificate expired on ${dateOf(to)}; renew it and set the new one`,
    );
  else if (left < c.minValidDays)
    problems.push(
      `${c.key}.certificatePem (for ${names}): the certificate expires on ${dateOf(to)}, in ${left} day(s), within kytes:tls.minValidDays (${c.minValidDays}); renew it first`,
    );
  return problems;
}
