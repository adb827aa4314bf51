import * as crypto from 'crypto';
import * as pulumi from '@pulumi/pulumi';
import { Topology } from './topology';

/**
 * Every password that stored data depends on is derived from the one master secret in stack config
 * (`kytes:masterSecret`, encrypted by Pulumi). Stack config outlives `pulumi destroy`, so the containers
 * re-created by the next `pulumi up` present the same passwords the kept volumes were initialised with.
 * A random resource would not: destroy drops it from state and up would mint a new, mismatching one.
 */
export function derivePassword(masterSecret: string, purpose: string): string {
  // base64url keeps it safe inside URLs (Mongo URL), shell words and SQL literals alike.
  return crypto.createHmac('sha256', masterSecret).update(`kytes/v1/${purpose}`).digest('base64url').slice(0, 40);
}

export interface StackSecrets {
  readonly postgresSuperuser: pulumi.Output<string>;
  readonly mongoRoot: pulumi.Output<string>;
  readonly mongoApp: pulumi.Output<string>;
  readonly rocketchatAdmin: pulumi.Output<string>;
  /** Password of the restic repository of `kytes:backup.offHost`: the same on every host of the stack. */
  readonly restic: pulumi.Output<string>;
  /** Per GitLab instance name. */
  readonly gitlabDatabase: Readonly<Record<string, pulumi.Output<string>>>;
  readonly gitlabRoot: Readonly<Record<string, pulumi.Output<string>>>;
  /** `requirepass` of each instance's own Redis (purpose `redis/<name>`). */
  readonly redis: Readonly<Record<string, pulumi.Output<string>>>;
}

export function deriveStackSecrets(masterSecret: pulumi.Output<string>, t: Topology): StackSecrets {
  const derive = (purpose: string) => pulumi.secret(masterSecret.apply((m) => derivePassword(m, purpose)));
  const perInstance = (what: string) =>
    Object.fromEntries(t.gitlab.map((g) => [g.name, derive(`gitlab/${g.name}/${what}`)]));
  return {
    postgresSuperuser: derive('postgres/superuser'),
    mongoRoot: derive('mongo/root'),
    mongoApp: derive('mongo/rocketchat'),
    rocketchatAdmin: derive('rocketchat/admin'),
    restic: derive('backup/restic'),
    gitlabDatabase: perInstance('database'),
    gitlabRoot: perInstance('root'),
    redis: Object.fromEntries(t.gitlab.map((g) => [g.name, derive(`redis/${g.name}`)])),
  };
}
