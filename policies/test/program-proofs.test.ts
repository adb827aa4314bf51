import { LABELS } from '../../lib/labels';
import { TYPES } from '../rules/view';
import { SECRET_SIG, SECRET_SIG_KEY } from '../../test/helpers/program';
import { labels } from './fixtures';
import { declaredButPlain, volumesNotRetained } from './program-proofs';

const secret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });
const declaring = (envs: unknown) => ({
  type: TYPES.container,
  name: 'kytes-dev-postgres-container',
  inputs: { envs, labels: labels({ [LABELS.secretEnv]: 'POSTGRES_PASSWORD' }) },
});

describe('the proof that declared secret env vars are Pulumi secrets (recorded under mocks)', () => {
  test('accepts a whole envs list that is a secret, or a declared entry that is one', () => {
    expect(declaredButPlain(declaring(secret(['POSTGRES_PASSWORD=x', 'TZ=UTC'])))).toEqual([]);
    expect(declaredButPlain(declaring([secret('POSTGRES_PASSWORD=x'), 'TZ=UTC']))).toEqual([]);
  });

  test('names a declared env var whose value is plain', () => {
    expect(declaredButPlain(declaring(['POSTGRES_PASSWORD=x', 'TZ=UTC']))).toEqual([
      'kytes-dev-postgres-container: POSTGRES_PASSWORD',
    ]);
  });
});

describe('the proof that volumes are kept on destroy (recorded under mocks)', () => {
  const recorded = (type: string, retainOnDelete: boolean) => ({
    type,
    name: 'kytes-dev-postgres-data',
    options: { parent: '', dependsOn: [], retainOnDelete, deleteBeforeReplace: false, replaceOnChanges: [] },
  });

  test('accepts a volume with retainOnDelete, and ignores other types', () => {
    expect(volumesNotRetained(recorded(TYPES.volume, true))).toEqual([]);
    expect(volumesNotRetained(recorded(TYPES.container, false))).toEqual([]);
  });

  test('names a volume without it', () => {
    expect(volumesNotRetained(recorded(TYPES.volume, false))).toEqual(['kytes-dev-postgres-data']);
  });
});
