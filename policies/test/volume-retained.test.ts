import { LABELS } from '../../lib/labels';
import { volumeRetained } from '../rules/volume-retained';
import { container, volume } from './fixtures';

describe('volume-retained-on-destroy', () => {
  test('accepts a volume labelled kytes.retain-on-delete=true', () => {
    expect(
      volumeRetained(
        volume('kytes-dev-postgres-data', { [LABELS.retainOnDelete]: 'true', [LABELS.service]: 'postgres' }),
      ),
    ).toEqual([]);
  });

  test.each([
    ['no label', {}],
    ['the label set to false', { [LABELS.retainOnDelete]: 'false' }],
  ])('refuses a volume with %s', (_, volumeLabels) => {
    expect(volumeRetained(volume('kytes-dev-mongo-0-data', volumeLabels))).toEqual([
      'volume "kytes-dev-mongo-0-data" lacks the label kytes.retain-on-delete=true; create volumes through Kytes\' volume helper, which sets retainOnDelete: true together with this label, so pulumi destroy keeps the data',
    ]);
  });

  test('ignores containers', () => {
    expect(volumeRetained(container('kytes-dev-postgres'))).toEqual([]);
  });
});
