import { parseConfig } from '../lib/config';
import { deriveTopology } from '../lib/topology';
import { agree, parseImageRef, parseVersion, tagVersion } from '../lib/versions';
import { flattenConfig, TEST_MASTER_SECRET } from './helpers/program';

/** Versions are read from tags only; a digest never names one (issue 13, item 7). */
describe('image references', () => {
  it.each([
    ['postgres:17.11-bookworm', { repository: 'postgres', tag: '17.11-bookworm', digest: undefined }],
    [
      `postgres@sha256:16aa${'0'.repeat(60)}`,
      { repository: 'postgres', tag: undefined, digest: `sha256:16aa${'0'.repeat(60)}` },
    ],
    [
      `registry.example.com:5000/team/app:1.2@sha256:${'a'.repeat(64)}`,
      { repository: 'registry.example.com:5000/team/app', tag: '1.2', digest: `sha256:${'a'.repeat(64)}` },
    ],
    [
      'registry.example.com:5000/app',
      { repository: 'registry.example.com:5000/app', tag: undefined, digest: undefined },
    ],
  ])('%s', (ref, parts) => {
    expect(parseImageRef(ref)).toEqual(parts);
  });

  it.each([
    ['gitlab/gitlab-ce:19.3.0-ce.0', '19.3.0'],
    ['postgres:17.11-bookworm', '17.11'],
    ['mongo:8.0.29-noble', '8.0.29'],
    ['rocketchat/rocket.chat:8.6.2', '8.6.2'],
    ['nginx:1.30.4-trixie', '1.30.4'],
    ['postgres:17', '17'],
    [`postgres@sha256:16aa${'0'.repeat(60)}`, undefined],
    [`mongo@sha256:ab${'0'.repeat(62)}`, undefined],
    ['postgres:bookworm', undefined],
    ['registry.example.com:5000/postgres', undefined],
    [`postgres:17.11-bookworm@sha256:${'9'.repeat(64)}`, '17.11'],
  ])('tagVersion(%s) is %s', (ref, text) => {
    expect(tagVersion(ref)?.text).toBe(text);
  });

  it('reads precision and agreement', () => {
    expect(parseVersion('17')).toEqual({ major: 17, minor: 0, patch: undefined, precision: 1, text: '17' });
    expect(agree(parseVersion('17')!, parseVersion('17.11')!)).toBe(true);
    expect(agree(parseVersion('17.11')!, parseVersion('17.10')!)).toBe(false);
    expect(agree(parseVersion('19.3')!, parseVersion('19.3.1')!)).toBe(true);
  });
});

describe('digest-pinned images in a stack', () => {
  const topology = (images: Record<string, unknown>) =>
    deriveTopology(
      parseConfig(
        { ...flattenConfig({ 'kytes:images': images }), 'kytes:masterSecret': TEST_MASTER_SECRET },
        (k) => k === 'kytes:masterSecret',
      ),
      'dev',
    );

  it('takes the stated version for a digest pin, and the rules and gitlab.rb keys follow it', () => {
    const t = topology({
      postgres: `postgres@sha256:16aa${'0'.repeat(60)}`,
      gitlab: `gitlab/gitlab-ce@sha256:${'c'.repeat(64)}`,
      versions: { postgres: '17.11', gitlab: '19.3.0' },
    });
    expect([t.versions.postgres.text, t.versions.gitlab.text, t.gitlab[0].version.text]).toEqual([
      '17.11',
      '19.3.0',
      '19.3.0',
    ]);
  });

  it('prefers the fuller of two agreeing readings', () => {
    const t = topology({ postgres: 'postgres:17', versions: { postgres: '17.11' } });
    expect(t.versions.postgres.text).toBe('17.11');
  });
});
