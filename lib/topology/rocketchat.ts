import { KytesConfig } from '../config';
import { externalUrl, StackBasics, volume } from './common';
import { MongoTopology, PORTS, RocketchatTopology } from './types';

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
