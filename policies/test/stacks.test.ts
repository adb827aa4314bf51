import { ResourceView, TYPES } from '../rules/view';
import { RecordedResource, runStack, unwrap } from '../../test/helpers/program';
import { evaluatePack } from './harness';
import { declaredButPlain, volumesNotRetained } from './program-proofs';

/** What the policy engine hands the pack: the same inputs with Pulumi's secret wrappers removed. */
function asPolicySees(r: RecordedResource): ResourceView {
  return { type: r.type, name: r.name, props: unwrap(r.inputs) as Record<string, unknown> };
}

describe.each(['dev', 'prod'])('the %s stack under the guard-rails pack', (stack) => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = await runStack(stack);
  }, 120_000);

  test('raises no mandatory violation, and no advisory one but the backup schedule', async () => {
    const kinds = [TYPES.remoteImage, TYPES.container, TYPES.volume, TYPES.network, TYPES.localCommand];
    expect(kinds.filter((kind) => !resources.some((r) => r.type === kind))).toEqual([]);
    const violations = await evaluatePack(resources.map(asPolicySees));
    expect(violations.map((v) => [v.policy, v.level])).toEqual(
      stack === 'dev' ? [['backup-schedule', 'advisory']] : [],
    );
  });

  test('reports a stack without scheduled backups (advisory): dev sets kytes:backup.schedule off, prod has one', async () => {
    const violations = await evaluatePack(resources.map(asPolicySees));
    expect(violations.filter((v) => v.policy === 'backup-schedule').map((v) => v.level)).toEqual(
      stack === 'dev' ? ['advisory'] : [],
    );
  });

  test('gives every env var it declares in kytes.secret-env a Pulumi secret', () => {
    expect(resources.flatMap(declaredButPlain)).toEqual([]);
  });

  test('creates every Docker volume with retainOnDelete: true, which the kytes.retain-on-delete label stands for', () => {
    expect(resources.flatMap(volumesNotRetained)).toEqual([]);
  });
});
