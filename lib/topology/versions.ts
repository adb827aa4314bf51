import { KytesConfig, VersionedImage } from '../config';
import { agree, parseVersion, tagVersion, Version } from '../versions';
import { StackVersions } from './types';

/** Stands in for a version that could not be read; the problems list then stops the derivation. */
const UNREAD: Version = { major: 0, minor: 0, precision: 2, text: 'unknown' };

/** How much of the version each image's rules need: GitLab and MongoDB rules work on release series. */
const NEEDED: Readonly<Record<VersionedImage, { precision: 1 | 2; example: string }>> = {
  gitlab: { precision: 2, example: '19.3.0' },
  postgres: { precision: 1, example: '17.11' },
  mongo: { precision: 2, example: '8.0.29' },
  rocketchat: { precision: 1, example: '8.6.2' },
};

function resolveOne(config: KytesConfig, key: VersionedImage, problems: string[]): Version {
  const ref = config.images[key];
  const explicitText = config.images.versions[key];
  const fromTag = tagVersion(ref);
  const explicit = explicitText === undefined ? undefined : parseVersion(explicitText);
  const set = `pulumi config set --path kytes:images.versions.${key} ${NEEDED[key].example}`;
  if (fromTag && explicit && !agree(fromTag, explicit)) {
    problems.push(
      `kytes:images.versions.${key}: "${explicitText}", but the tag of kytes:images.${key} ("${ref}") says ${fromTag.text}; ` +
        'make them agree or remove kytes:images.versions.' +
        key,
    );
    return UNREAD;
  }
  const best = explicit && (!fromTag || explicit.precision > fromTag.precision) ? explicit : fromTag;
  if (!best) {
    problems.push(
      `kytes:images.${key}: "${ref}" names no version (pinned by digest, or by a tag without one), and the version ` +
        `rules need it; set the version the image contains: ${set}`,
    );
    return UNREAD;
  }
  if (best.precision < NEEDED[key].precision) {
    problems.push(
      `kytes:images.${key}: "${ref}" names only the major version ${best.text}; the version rules need major.minor: ` +
        `pin a release tag, or ${set}`,
    );
    return UNREAD;
  }
  return best;
}

/**
 * The version each versioned image holds: read from its tag when the tag names one, otherwise from
 * `kytes:images.versions.*`, which must then be set. A digest is never read as a version.
 */
export function resolveVersions(config: KytesConfig): { versions: StackVersions; problems: string[] } {
  const problems: string[] = [];
  const rc = config.rocketchat.enabled;
  const versions: StackVersions = {
    gitlab: resolveOne(config, 'gitlab', problems),
    postgres: resolveOne(config, 'postgres', problems),
    ...(rc
      ? { mongo: resolveOne(config, 'mongo', problems), rocketchat: resolveOne(config, 'rocketchat', problems) }
      : {}),
  };
  return { versions, problems };
}
