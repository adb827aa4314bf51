import * as path from 'path';
import { z } from 'zod';
import { hostname, image, isCron } from './fields';

/**
 * `kytes:tls`: whether nginx terminates TLS, and with which certificates. Private keys given as PEM are
 * secrets: the whole `kytes:tls` key must then be set with `--secret` (see `parse.ts`), its values are
 * never shown in an error, and they reach the nginx container only as Pulumi secrets.
 */

/** Let's Encrypt's ACME directories; anything else is a "custom" directory (a private ACME server). */
export const ACME_DIRECTORIES = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

/** The certbot image Kytes runs for ACME; docs/versions.md says why this one. */
export const DEFAULT_ACME_IMAGE = 'certbot/certbot:v5.6.0';

/**
 * A path on the Docker host that reaches a shell script and a `docker run` unquoted-safe: absolute,
 * already normalised (no `.`, `..`, `//`, trailing `/`), made of characters that no shell treats
 * specially. Quoting still applies everywhere; this keeps surprises (globs, spaces, `$(…)`) out entirely.
 */
export function isSafeHostPath(p: string): boolean {
  return (
    p.length <= 1024 &&
    /^\/[A-Za-z0-9._@+/-]+$/.test(p) &&
    path.posix.normalize(p) === p &&
    !p.endsWith('/') &&
    !p.split('/').some((seg) => seg === '.' || seg === '..' || seg.startsWith('-'))
  );
}

const hostPath = (what: string) =>
  z.string().refine(isSafeHostPath, {
    error: `an absolute, normalised path on the Docker host (${what}) made of letters, digits and . _ @ + - /, such as /etc/ssl/kytes/fullchain.pem`,
  });

const pem = (label: RegExp, what: string) =>
  z
    .string()
    .max(65536, { error: `${what} in PEM, at most 64 KiB` })
    .refine((v) => label.test(v), { error: `${what} in PEM (-----BEGIN …-----)` });

/** One certificate and its key, from files on the Docker host or from PEM text in the stack config. */
export const tlsCertificate = z
  .strictObject({
    hostnames: z
      .array(hostname)
      .min(1)
      .optional()
      .describe(
        'Served hostnames this pair is used for. Default, with a single entry only: every hostname nginx serves.',
      ),
    certificateFile: hostPath('the certificate chain, leaf first')
      .optional()
      .describe('Path on the Docker host of the certificate chain (leaf first). With `keyFile`.'),
    keyFile: hostPath('the private key')
      .optional()
      .describe('Path on the Docker host of the private key. With `certificateFile`.'),
    certificatePem: pem(/-----BEGIN CERTIFICATE-----/, 'a certificate chain, leaf first')
      .optional()
      .describe('The certificate chain (leaf first) as PEM text. With `keyPem`.'),
    keyPem: pem(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key')
      .optional()
      .describe(
        "The private key as PEM text; set it with `pulumi config set --secret --path 'kytes:tls.certificates[0].keyPem'`.",
      ),
  })
  .superRefine((c, ctx) => {
    const files = c.certificateFile !== undefined || c.keyFile !== undefined;
    const pems = c.certificatePem !== undefined || c.keyPem !== undefined;
    if (files === pems) {
      ctx.addIssue({
        code: 'custom',
        message: 'either certificateFile and keyFile (paths on the Docker host) or certificatePem and keyPem, not both',
      });
      return;
    }
    for (const [a, b] of [
      ['certificateFile', 'keyFile'],
      ['certificatePem', 'keyPem'],
    ] as const) {
      if ((c[a] === undefined) !== (c[b] === undefined))
        ctx.addIssue({ code: 'custom', path: [c[a] === undefined ? a : b], message: `${a} and ${b} go together` });
    }
  })
  .describe('A certificate chain and its private key.');

/** `kytes:tls.acme`: certificates from an ACME server (Let's Encrypt by default) over HTTP-01. */
export const acmeSection = z
  .strictObject({
    email: z
      .string()
      .regex(/^[^@\s'"\\$`]+@[^@\s'"\\$`]+\.[^@\s'"\\$`]+$/, { error: 'an e-mail address' })
      .describe('Contact e-mail of the ACME account.'),
    directory: z
      .union([
        z.enum(['letsencrypt', 'letsencrypt-staging']),
        z.url({ protocol: /^https$/, error: 'letsencrypt, letsencrypt-staging or an https:// directory URL' }),
      ])
      .default('letsencrypt')
      .describe(
        'ACME directory: `letsencrypt`, `letsencrypt-staging`, or the https URL of a private ACME server. Default `letsencrypt`.',
      ),
    caBundle: pem(/-----BEGIN CERTIFICATE-----/, 'CA certificates')
      .optional()
      .describe("PEM bundle of the CA(s) that sign a private ACME server's HTTPS certificate. Default none."),
    image: image(DEFAULT_ACME_IMAGE).describe(
      `certbot image run on the Docker host. Default \`${DEFAULT_ACME_IMAGE}\`.`,
    ),
    renewSchedule: z
      .string()
      .refine(isCron, { error: 'a five-field cron expression such as "17 3,15 * * *"' })
      .default('17 3,15 * * *')
      .describe('Cron schedule of renewal checks on the Docker host. Default twice a day, `17 3,15 * * *`.'),
  })
  .describe('ACME (Let’s Encrypt) certificates, renewed on the Docker host.');

export const tlsSection = z
  .strictObject({
    mode: z
      .enum(['off', 'files', 'acme'], { error: 'one of off, files, acme' })
      .default('off')
      .describe(
        '`off`: plain HTTP (TLS, if any, is terminated in front of Kytes); `files`: your certificates; `acme`: Let’s Encrypt or another ACME server. Default `off`.',
      ),
    certificates: z
      .array(tlsCertificate)
      .max(64)
      .default([])
      .describe('`files` mode: the certificates. One entry (wildcard or SAN) may serve every hostname.'),
    acme: acmeSection.optional(),
    minValidDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(14)
      .describe('`files` mode: refuse a certificate that expires within this many days. Default 14.'),
    hsts: z
      .boolean({ error: 'true or false' })
      .default(false)
      .describe(
        'Send Strict-Transport-Security. Default false: browsers remember it for `hstsMaxAge`, so it is hard to undo.',
      ),
    hstsMaxAge: z
      .number()
      .int()
      .min(300)
      .max(63072000)
      .default(63072000)
      .describe('HSTS max-age in seconds. Default 63072000 (two years, the Mozilla guideline).'),
  })
  .superRefine((tls, ctx) => {
    if (tls.mode === 'files' && tls.certificates.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['certificates'],
        message: 'at least one certificate in files mode',
      });
    if (tls.mode !== 'files' && tls.certificates.length > 0)
      ctx.addIssue({ code: 'custom', path: ['certificates'], message: 'certificates only in files mode' });
    if (tls.mode === 'acme' && tls.acme === undefined)
      ctx.addIssue({ code: 'custom', path: ['acme'], message: 'an acme section with at least email in acme mode' });
    if (tls.mode !== 'acme' && tls.acme !== undefined)
      ctx.addIssue({ code: 'custom', path: ['acme'], message: 'an acme section only in acme mode' });
    if (tls.certificates.length > 1)
      tls.certificates.forEach((c, i) => {
        if (c.hostnames === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['certificates', i, 'hostnames'],
            message: 'the hostnames this certificate serves (required when there are several certificates)',
          });
      });
  })
  .default({ mode: 'off', certificates: [], minValidDays: 14, hsts: false, hstsMaxAge: 63072000 })
  .describe('HTTPS: whether and how nginx terminates TLS.');

export type TlsConfig = z.output<typeof tlsSection>;
export type TlsCertificateConfig = z.output<typeof tlsCertificate>;
