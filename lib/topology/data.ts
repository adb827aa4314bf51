import { KytesConfig } from '../config';
import { StackBasics, volume } from './common';
import { PORTS, PostgresTopology, RedisTopology } from './types';

export function derivePostgres(config: KytesConfig, s: StackBasics): PostgresTopology {
  return {
    container: `${s.prefix}-postgres`,
    alias: 'postgres',
    port: PORTS.postgres,
    image: config.images.postgres,
    data: volume(s.prefix, 'postgres-data', '/var/lib/postgresql/data'),
    superuser: 'postgres',
  };
}

export function deriveRedis(config: KytesConfig, s: StackBasics, instances: number): RedisTopology {
  return {
    container: `${s.prefix}-redis`,
    alias: 'redis',
    port: PORTS.redis,
    image: config.images.redis,
    data: volume(s.prefix, 'redis-data', '/data'),
    databases: Math.max(16, instances),
  };
}
