import { z } from 'zod';
import { image } from './fields';

/** The images a stack runs unless `kytes:images.*` says otherwise; docs/versions.md says why each. */
export const DEFAULT_IMAGES = {
  gitlab: 'gitlab/gitlab-ce:19.3.0-ce.0',
  postgres: 'postgres:17.10-bookworm',
  redis: 'redis:7.4.7-bookworm',
  mongo: 'mongo:8.0.16-noble',
  rocketchat: 'rocketchat/rocket.chat:8.6.0',
  nginx: 'nginx:1.30.0-bookworm',
} as const;

/** `kytes:images`: every image, pinned. */
export const imagesSection = z
  .strictObject({
    gitlab: image(DEFAULT_IMAGES.gitlab),
    postgres: image(DEFAULT_IMAGES.postgres),
    redis: image(DEFAULT_IMAGES.redis),
    mongo: image(DEFAULT_IMAGES.mongo),
    rocketchat: image(DEFAULT_IMAGES.rocketchat),
    nginx: image(DEFAULT_IMAGES.nginx),
  })
  .default({ ...DEFAULT_IMAGES })
  .describe('Pinned images. A restore needs exactly the GitLab version that made the backup.');
