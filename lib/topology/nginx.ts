import { KytesConfig } from '../config';
import { StackBasics, volume } from './common';
import { GitlabInstanceTopology, NginxServer, NginxTopology, RocketchatTopology, TlsTopology } from './types';

/** Kytes' own directory for the rendered config: the image's /etc/nginx (mime.types) stays as it is. */
const NGINX_CONFIG_DIR = '/etc/nginx/kytes';

/** One server block per GitLab instance and one for Rocket.Chat, each routed to its container alias. */
export function deriveNginx(
  config: KytesConfig,
  s: StackBasics,
  gitlab: readonly GitlabInstanceTopology[],
  rocketchat: RocketchatTopology | undefined,
  tls: TlsTopology,
): NginxTopology {
  const certificate = (host: string) => tls.certificates.find((c) => c.hostname === host);
  const servers: NginxServer[] = [
    ...gitlab.map((g) => ({
      kind: 'gitlab' as const,
      name: g.name,
      serverName: g.hostname,
      upstream: g.upstream,
      clientMaxBodySize: '0',
      // Omnibus' own nginx gives GitLab 3600 s (nginx_helper.rb `proxy_read_timeout`): long Git pushes.
      readTimeoutSeconds: 3600,
      tls: certificate(g.hostname),
    })),
    ...(rocketchat
      ? [
          {
            kind: 'rocketchat' as const,
            name: 'rocketchat',
            serverName: rocketchat.hostname,
            upstream: rocketchat.upstream,
            clientMaxBodySize: '200m',
            readTimeoutSeconds: 300,
            tls: certificate(rocketchat.hostname),
          },
        ]
      : []),
  ];
  return {
    variablesHashBucketSize: variablesHashBucketSize(servers.map(upstreamVariable)),
    container: `${s.prefix}-nginx`,
    alias: 'nginx',
    image: config.images.nginx,
    listenPort: config.proxy.httpPort,
    publishedPort: config.proxy.httpPort,
    bindAddress: config.proxy.bindAddress,
    configPath: `${NGINX_CONFIG_DIR}/nginx.conf`,
    configVolume: volume(s.prefix, 'nginx-config', NGINX_CONFIG_DIR),
    publicScheme: s.scheme,
    publicPort: s.publicPort,
    servers,
    resolver: '127.0.0.11',
    hstsMaxAge: tls.hsts?.maxAge,
    https:
      tls.mode === 'off'
        ? undefined
        : {
            listenPort: config.proxy.httpsPort,
            publishedPort: config.proxy.httpsPort,
            acmeWebroot: tls.acme?.webroot.containerPath,
          },
  };
}

/**
 * The nginx variable holding one server's upstream URL. A variable in `proxy_pass` makes nginx resolve
 * the name per request; one per server keeps each server's target visible in the file.
 */
export function upstreamVariable(server: Pick<NginxServer, 'kind' | 'name'>): string {
  const suffix = server.kind === 'rocketchat' ? '' : `_${server.name.replace(/-/g, '_')}`;
  return `$upstream_${server.kind}${suffix}`;
}

/** nginx's default `variables_hash_bucket_size` (ngx_http_variables.c). */
const NGINX_DEFAULT_BUCKET = 64;
/** Pointer size of the 64-bit builds nginx images ship. */
const POINTER = 8;

/**
 * The smallest power of two, at least nginx's default, that holds every variable name given.
 * nginx's ngx_hash_init refuses a bucket smaller than one element plus the end marker:
 * `bucket_size >= NGX_HASH_ELT_SIZE(name) + sizeof(void *)`, where NGX_HASH_ELT_SIZE is
 * `sizeof(void *) + ngx_align(len + 2, sizeof(void *))` (src/core/ngx_hash.c). At the default 64 a
 * name may have 46 characters: `upstream_gitlab_` leaves 30 for an instance name.
 */
export function variablesHashBucketSize(variables: readonly string[]): number {
  const align = (n: number) => Math.ceil(n / POINTER) * POINTER;
  const needed = Math.max(0, ...variables.map((v) => POINTER + align(v.replace(/^\$/, '').length + 2) + POINTER));
  let size = NGINX_DEFAULT_BUCKET;
  while (size < needed) size *= 2;
  return size;
}
