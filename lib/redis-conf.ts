import { RedisTopology } from './topology';
import { renderTemplate } from './render';

/** Path the config is uploaded to inside the Redis container. */
export const REDIS_CONFIG_PATH = '/usr/local/etc/redis/redis.conf';

/** redis.conf with the password in it: the caller keeps the result a Pulumi secret. */
export function renderRedisConfig(redis: RedisTopology, password: string): string {
  return renderTemplate('redis.conf.hbs', {
    port: redis.port,
    dataPath: redis.data.containerPath,
    password,
  });
}
