import { KytesConfig } from '../config';
import { StackBasics } from './common';
import { GitlabInstanceTopology, NginxServer, NginxTopology, RocketchatTopology } from './types';

/** One server block per GitLab instance and one for Rocket.Chat, each routed to its container alias. */
export function deriveNginx(
  config: KytesConfig,
  s: StackBasics,
  gitlab: readonly GitlabInstanceTopology[],
  rocketchat: RocketchatTopology | undefined,
): NginxTopology {
  const servers: NginxServer[] = [
    ...gitlab.map((g) => ({
      kind: 'gitlab' as const,
      name: g.name,
      serverName: g.hostname,
      upstream: g.upstream,
      clientMaxBodySize: '0',
      // Omnibus' own nginx gives GitLab 3600 s (nginx_helper.rb `proxy_read_timeout`): long Git pushes.
      readTimeoutSeconds: 3600,
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
  };
}
