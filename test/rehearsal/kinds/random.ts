import { randomInt } from 'crypto';
import { onlyKnown, ResourceKind } from './types';

/**
 * `random:index/randomPassword:RandomPassword` (pulumi-random 4, terraform-provider-random): a password of
 * `length` characters from the enabled classes, each class at least its `min*`; every input is ForceNew.
 */
const CLASSES = {
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  lower: 'abcdefghijklmnopqrstuvwxyz',
  numeric: '0123456789',
  special: '!@#$%&*()-_=+[]{}<>:?',
} as const;

export const randomPasswordKind: ResourceKind = {
  secretOutputs: ['result', 'bcryptHash'],
  validate(inputs) {
    onlyKnown('a random.RandomPassword', inputs, [
      'length',
      'upper',
      'lower',
      'numeric',
      'number',
      'special',
      'minUpper',
      'minLower',
      'minNumeric',
      'minSpecial',
      'overrideSpecial',
      'keepers',
    ]);
  },
  effect: () => 'replace',
  async create(_ctx, r) {
    const i = r.inputs;
    const on = (k: string) => i[k] !== false;
    const classes: { chars: string; min: number }[] = [];
    if (on('upper')) classes.push({ chars: CLASSES.upper, min: Number(i.minUpper ?? 0) });
    if (on('lower')) classes.push({ chars: CLASSES.lower, min: Number(i.minLower ?? 0) });
    if (on('numeric') && on('number')) classes.push({ chars: CLASSES.numeric, min: Number(i.minNumeric ?? 0) });
    if (on('special'))
      classes.push({ chars: String(i.overrideSpecial ?? CLASSES.special), min: Number(i.minSpecial ?? 0) });
    const length = Number(i.length);
    const pick = (chars: string) => chars[randomInt(chars.length)];
    const out: string[] = [];
    for (const c of classes) for (let n = 0; n < c.min; n++) out.push(pick(c.chars));
    const all = classes.map((c) => c.chars).join('');
    while (out.length < length) out.push(pick(all));
    for (let k = out.length - 1; k > 0; k--) {
      const j = randomInt(k + 1);
      [out[k], out[j]] = [out[j], out[k]];
    }
    return { id: 'none', outputs: { result: out.join('') } };
  },
  update: async (_ctx, old) => ({ id: old.id, outputs: old.outputs }),
  delete: async () => undefined,
};
