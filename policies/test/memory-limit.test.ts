import { LABELS } from '../../lib/labels';
import { memoryLimited } from '../rules/memory-limit';
import { IMAGE_ID, container, labels } from './fixtures';

const STARVE = 'has no memory limit; set memory (in MB) so it cannot starve the other services on the host';

describe('memory-limit (advisory)', () => {
  test('accepts GitLab and Rocket.Chat with a limit, and other services without one', () => {
    expect(
      memoryLimited(
        container('kytes-dev-gitlab-main', { labels: labels({ [LABELS.service]: 'gitlab' }), memory: 4096 }),
      ),
    ).toEqual([]);
    expect(
      memoryLimited(container('kytes-dev-rocketchat', { image: 'rocketchat/rocket.chat:8.6.0', memory: 1024 })),
    ).toEqual([]);
    expect(
      memoryLimited(container('kytes-dev-postgres', { labels: labels({ [LABELS.service]: 'postgres' }) })),
    ).toEqual([]);
  });

  test('flags GitLab without a limit, by label', () => {
    expect(
      memoryLimited(container('kytes-dev-gitlab-main', { labels: labels({ [LABELS.service]: 'gitlab' }) })),
    ).toEqual([`container "kytes-dev-gitlab-main" (GitLab) ${STARVE}`]);
  });

  test('flags Rocket.Chat with memory 0, by image reference or resolved image ID', () => {
    expect(memoryLimited(container('chat', { image: 'rocketchat/rocket.chat:8.6.0', memory: 0 }))).toEqual([
      `container "chat" (Rocket.Chat) ${STARVE}`,
    ]);
    const byId = container('chat', { image: IMAGE_ID });
    expect(memoryLimited(byId)).toEqual([]);
    expect(memoryLimited(byId, new Map([[IMAGE_ID, 'rocketchat/rocket.chat:8.6.0']]))).toEqual([
      `container "chat" (Rocket.Chat) ${STARVE}`,
    ]);
  });
});
