import { KytesConfig } from '../config';
import { externalUrl, StackBasics, volume } from './common';
import { MongoTopology, PORTS, RocketchatTopology } from './types';

/** Timeout of Rocket.Chat's container healthcheck, which probes `/livez`. */
export const ROCKETCHAT_PROBE_TIMEOUT_SECONDS = 10;

/** Container memory limits in MB, per `kytes:memoryProfile`. */
export const ROCKETCHAT_MEMORY_MB = { constrained: 1536, standard: 4096 } as const;

/** Rocket.Chat and its replica set, or neither when `kytes:rocketchat.enabled` is false. */
export function deriveRocketchat(
  config: KytesConfig,
  s: StackBasics,
): { rocketchat?: RocketchatTopology; mongo?: MongoTopology } {
  if (!config.rocketchat.enabled) return {};
  const hostname = config.rocketchat.hostname ?? `rocketchat.${s.domain}`;
  const rocketchat: RocketchatTopology = {
    container: `${s.prefix}-rocketchat`,
    alias: 'rocketchat',
    image: config.images.rocketchat,
    port: PORTS.rocketchat,
    hostname,
    rootUrl: externalUrl(s.scheme, hostname, s.publicPort),
    upstream: { host: 'rocketchat', port: PORTS.rocketchat },
    uploads: volume(s.prefix, 'rocketchat-uploads', '/app/uploads'),
    memoryMB: ROCKETCHAT_MEMORY_MB[config.memoryProfile],
    // /livez answers 503 above these (defaults 0.85 and 70 ms: normal on a busy server). A heap ratio of 1
    // can never be exceeded, and a lag equal to the healthcheck timeout fails only what the timeout would:
    // healthy then means alive and answering, with MongoDB reachable (the probe's third check).
    liveness: { heapUsageRatio: 1, eventLoopLagMs: ROCKETCHAT_PROBE_TIMEOUT_SECONDS * 1000 },
  };
  const mongo: MongoTopology = {
    replicaSet: config.mongo.replicaSet,
    port: PORTS.mongo,
    image: config.images.mongo,
    members: Array.from({ length: config.mongo.members }, (_, index) => ({
      index,
      container: `${s.prefix}-mongo-${index}`,
      alias: `mongo-${index}`,
      host: `mongo-${index}:${PORTS.mongo}`,
      data: volume(s.prefix, `mongo-${index}-data`, '/data/db'),
    })),
    rootUser: 'root',
    appUser: 'rocketchat',
    appDatabase: 'rocketchat',
    keyfilePath: '/etc/mongo-keyfile/keyfile',
  };
  return { rocketchat, mongo };
}
