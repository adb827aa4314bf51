import { PolicyPack } from '@pulumi/policy';
import { policies } from './pack';

/** Loaded by `pulumi preview|up --policy-pack policies`; the policies themselves live in `pack.ts`. */
new PolicyPack('kytes-guard-rails', { policies });
