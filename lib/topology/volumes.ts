import { Topology, Volume } from './types';

/**
 * Every volume the stack creates and keeps, in one list: the components create exactly these (asserted
 * in test/stacks.test.ts), `npm run dev:reset` tells them from volumes left by an earlier config, and
 * the name-length rule covers each. A volume added to a component and not here fails that test.
 */
export function declaredVolumes(t: Topology): Volume[] {
  return [
    t.postgres.data,
    ...t.gitlab.flatMap((g) => [g.volumes.config, g.volumes.data, g.volumes.logs, g.redis.data]),
    ...(t.mongo?.members.map((m) => m.data) ?? []),
    ...(t.rocketchat ? [t.rocketchat.uploads] : []),
    t.nginx.configVolume,
    ...(t.tls.volume ? [t.tls.volume] : []),
    ...(t.tls.acme ? [t.tls.acme.webroot] : []),
  ];
}
