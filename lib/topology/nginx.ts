import { KytesConfig } from '../config';
import { StackBasics } from './common';
import { GitlabInstanceTopology, NginxServer, NginxTopology, RocketchatTopology, TlsTopology } from './types';

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
            tls: certificate(rocketchat.hostname),
          },
        ]
      : []),
  ];
  return {
    container: `${s.prefix}-nginx`,
    alias: 'nginx',
    image: config.images.nginx,
    listenPort: config.proxy.httpPort,
    publishedPort: config.proxy.httpPort,
    bindAddress: config.proxy.bindAddress,
    configPath: '/etc/nginx/nginx.conf',
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
