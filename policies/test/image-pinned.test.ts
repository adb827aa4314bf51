import { imagePinned } from '../rules/image-pinned';
import { IMAGE_ID, container, remoteImage, volume } from './fixtures';

const ADVICE = 'use an explicit tag other than latest (such as postgres:17.10-bookworm) or a digest (@sha256:…)';

describe('image-pinned', () => {
  test.each([
    'postgres:17.10-bookworm',
    'gitlab/gitlab-ce:19.3.0-ce.0',
    `mongo@sha256:${'0'.repeat(64)}`,
    `rocketchat/rocket.chat:8.6.0@sha256:${'1'.repeat(64)}`,
    'registry.example.com:5000/team/redis:7.4.7-bookworm',
  ])('accepts the remote image %s', (ref) => {
    expect(imagePinned(remoteImage('img', ref))).toEqual([]);
  });

  test.each([
    ['mongo', 'mongo'],
    ['latest tag', 'rocketchat/rocket.chat:latest'],
    ['registry port but no tag', 'registry.example.com:5000/postgres'],
    ['empty name', ''],
  ])('refuses a remote image with %s', (_, ref) => {
    expect(imagePinned(remoteImage('img', ref))).toEqual([`remote image "img": "${ref}" is not pinned; ${ADVICE}`]);
  });

  test('accepts a container running an image ID or a pinned reference', () => {
    expect(imagePinned(container('kytes-dev-postgres', { image: IMAGE_ID }))).toEqual([]);
    expect(imagePinned(container('kytes-dev-postgres', { image: 'postgres:17.10-bookworm' }))).toEqual([]);
  });

  test('refuses a container running latest, an untagged reference, or nothing', () => {
    expect(imagePinned(container('kytes-dev-nginx', { image: 'nginx:latest' }))).toEqual([
      `container "kytes-dev-nginx": image "nginx:latest" is not pinned; pass the imageId (sha256:…) of a pinned RemoteImage, or ${ADVICE}`,
    ]);
    expect(imagePinned(container('kytes-dev-mongo-0', { image: 'mongo' }))).toEqual([
      `container "kytes-dev-mongo-0": image "mongo" is not pinned; pass the imageId (sha256:…) of a pinned RemoteImage, or ${ADVICE}`,
    ]);
    expect(imagePinned(container('kytes-dev-redis', { image: undefined }))).toEqual([
      'container "kytes-dev-redis" names no image; pass the imageId of a pinned RemoteImage',
    ]);
  });

  test('ignores other resource types', () => {
    expect(imagePinned(volume('kytes-dev-postgres-data'))).toEqual([]);
  });
});
