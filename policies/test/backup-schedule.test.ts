import { LABELS } from '../../lib/labels';
import { backupScheduled } from '../rules/backup-schedule';
import { TYPES } from '../rules/view';
import { IMAGE_ID, command, container, labels, remoteImage } from './fixtures';

const gitlab = container('kytes-dev-gitlab-main', { labels: labels({ [LABELS.service]: 'gitlab' }) });
const schedule = command('kytes-dev-backup-schedule', {
  create: 'install -m 0644 /opt/kytes/kytes-dev/kytes.cron /etc/cron.d/kytes-kytes-dev',
});
const MISSING =
  'but no backup schedule is installed; add a command:local:Command or command:remote:Command whose name ends with "-backup-schedule" and installs the cron file, as Kytes\' ops module does';

describe('backup-schedule (advisory)', () => {
  test('accepts GitLab with a local or remote *-backup-schedule command, and a stack without GitLab', () => {
    expect(backupScheduled([gitlab, schedule], new Map())).toEqual([]);
    expect(backupScheduled([gitlab, command('prod-backup-schedule', {}, TYPES.remoteCommand)], new Map())).toEqual([]);
    expect(backupScheduled([container('kytes-dev-postgres')], new Map())).toEqual([]);
  });

  test('flags GitLab without one', () => {
    const backupNow = command('kytes-dev-backup-now', { create: '/opt/kytes/kytes-dev/backup.sh' });
    expect(backupScheduled([gitlab, backupNow], new Map())).toEqual([
      `GitLab runs in this stack (container "kytes-dev-gitlab-main") ${MISSING}`,
    ]);
  });

  test('recognises GitLab instances by resolved image ID too', () => {
    const second = container('kytes-prod-gitlab-team', { image: IMAGE_ID });
    const refs = new Map([[IMAGE_ID, 'gitlab/gitlab-ce:19.3.0-ce.0']]);
    expect(
      backupScheduled([gitlab, second, remoteImage('gitlab-image', 'gitlab/gitlab-ce:19.3.0-ce.0', IMAGE_ID)], refs),
    ).toEqual([`GitLab runs in this stack (containers "kytes-dev-gitlab-main", "kytes-prod-gitlab-team") ${MISSING}`]);
  });
});
