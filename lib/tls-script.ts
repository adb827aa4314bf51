import { renderTemplate } from './render';
import { PEM_DIR, TLS_DIR, Topology } from './topology';

/**
 * The `kytes-tls` script installed on the Docker host (`t.tls.host.script`): checks and copies certificate
 * files given on the host, runs certbot for ACME names, reloads nginx, reports expiry. Rendered from
 * `templates/tls/kytes-tls.hbs` with every name from the topology; it holds no secret (the ACME CA bundle
 * is public). Throws when TLS is off.
 */
export function renderTlsScript(t: Topology): string {
  const tls = t.tls;
  if (tls.mode === 'off') throw new Error('renderTlsScript: TLS is off in this stack');
  const acme = tls.acme;
  return renderTemplate('tls/kytes-tls.hbs', {
    stack: t.stack,
    prefix: t.prefix,
    nginxContainer: t.nginx.container,
    nginxConfig: t.nginx.configPath,
    helperImage: t.nginx.image,
    network: t.network.name,
    tlsVolume: tls.volume?.name ?? '',
    tlsDir: TLS_DIR,
    pemDir: PEM_DIR,
    minValidDays: tls.minValidDays,
    hosts: tls.certificates.map((c) => ({
      name: c.hostname,
      kind: c.source.kind,
      certificateFile: c.source.kind === 'host' ? c.source.certificateFile : '',
      keyFile: c.source.kind === 'host' ? c.source.keyFile : '',
    })),
    acme: {
      image: acme?.image ?? '',
      email: acme?.email ?? '',
      directory: acme?.directoryUrl ?? '',
      webrootVolume: acme?.webroot.name ?? '',
      webrootDir: acme?.webroot.containerPath ?? '',
      configDir: acme?.configDir ?? '',
      caBundleBase64: acme?.caBundle ? Buffer.from(acme.caBundle, 'utf8').toString('base64') : '',
    },
  });
}

/** The cron file that runs `kytes-tls renew` (a file of its own in /etc/cron.d, never root's crontab). */
export function renderTlsCronFile(t: Topology): string {
  const host = t.tls.host;
  if (!host || !t.tls.volume) throw new Error('renderTlsCronFile: nothing to renew on the Docker host in this stack');
  const what = t.tls.acme ? 'ACME renewal' : 'certificate files re-read';
  return [
    `# Kytes stack ${t.stack} (${t.prefix}): ${what}. Managed by Pulumi; set kytes:tls instead of editing.`,
    'SHELL=/bin/bash',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `${host.schedule} root ${host.script} renew >> ${host.logFile} 2>&1`,
    '',
  ].join('\n');
}
