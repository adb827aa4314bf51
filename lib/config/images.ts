import { z } from 'zod';
import { image } from './fields';

/**
 * The images a stack runs unless `kytes:images.*` says otherwise: the newest published patch of each
 * line in use. docs/versions.md says why each, where that was read and when; a unit test keeps that page,
 * this table and the README's config reference in agreement.
 */
export const DEFAULT_IMAGES = {
  gitlab: 'gitlab/gitlab-ce:19.3.0-ce.0',
  postgres: 'postgres:17.11-bookworm',
  redis: 'redis:7.4.11-bookworm',
  mongo: 'mongo:8.0.29-noble',
  rocketchat: 'rocketchat/rocket.chat:8.6.2',
  nginx: 'nginx:1.30.4-trixie',
} as const;

/** The images whose version the version rules and upgrade guards read. */
export const VERSIONED_IMAGES = ['gitlab', 'postgres', 'mongo', 'rocketchat'] as const;
export type VersionedImage = (typeof VERSIONED_IMAGES)[number];

const versionText = (what: string) =>
  z
    .string()
    .regex(/^\d{1,4}\.\d{1,4}(\.\d{1,4})?$/, { error: 'a version such as 19.3.0 or 17.11 (major.minor[.patch])' })
    .optional()
    .describe(
      `Version of the ${what} image, for an image pinned by digest only (whose reference names no version). ` +
        'Default: read from the tag; when both are given they must agree.',
    );

/** `kytes:images`: every image, pinned. */
export const imagesSection = z
  .strictObject({
    gitlab: image(DEFAULT_IMAGES.gitlab),
    postgres: image(DEFAULT_IMAGES.postgres),
    redis: image(DEFAULT_IMAGES.redis),
    mongo: image(DEFAULT_IMAGES.mongo),
    rocketchat: image(DEFAULT_IMAGES.rocketchat),
    nginx: image(DEFAULT_IMAGES.nginx),
    versions: z
      .strictObject({
        gitlab: versionText('GitLab'),
        postgres: versionText('PostgreSQL'),
        mongo: versionText('MongoDB'),
        rocketchat: versionText('Rocket.Chat'),
      })
      .default({})
      .describe(
        'Versions of digest-pinned images (`postgres@sha256:…`), which the version rules and upgrade guards need. ' +
          'Not needed when the tag names the version.',
      ),
  })
  .default({ ...DEFAULT_IMAGES, versions: {} })
  .describe('Pinned images. A restore needs exactly the GitLab version that made the backup.');
