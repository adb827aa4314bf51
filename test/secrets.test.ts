import * as pulumi from '@pulumi/pulumi';
import { configSchema } from '../lib/config';
import { derivePassword, deriveStackSecrets } from '../lib/secrets';
import { deriveTopology } from '../lib/topology';
import { promiseOf, TEST_MASTER_SECRET } from './helpers/program';

/**
 * Known answers for the password derivation. Each expected value was computed once, independently of
 * lib/secrets.ts, and written here as a literal:
 *   node -e "const c=require('crypto'); console.log(c.createHmac('sha256', MASTER)
 *     .update('kytes/v1/' + PURPOSE).digest('base64url').slice(0, 40))"
 * (the first one also with `openssl dgst -sha256 -hmac MASTER -binary | base64 | tr '+/' '-_' | cut -c1-40`).
 * A change to the derivation changes every password of every existing stack: kept volumes would then
 * refuse the new containers. These literals must only change with a deliberate migration.
 */
const KNOWN: ReadonlyArray<[string, string]> = [
  ['postgres/superuser', 'Tg_-6MGvuP0BM1mxc6XgDPITJXbcAovM9x24B77F'],
  ['mongo/root', 'yFm1FCe1YGG-2TnKJcxgmIisCyIoDQP_wjInY-CE'],
  ['mongo/rocketchat', 'ItAd03ek0Lwo4O_C7ot3IvUm_BLRx5k2mJ1N-MD_'],
  ['rocketchat/admin', 'DzhtCnPj2sGk033BvC3TAvIKkQNrnRon3MqGVOY9'],
  ['backup/restic', 'pxCu2eT98HWdWgc9TneF5b7R8mxtoXqjb1ueem4u'],
  ['gitlab/main/database', '9QTaf6Ui8ax2TJaM9TwflhYYQJlculnV-7-MExkB'],
  ['gitlab/main/root', '3XkZ2V2XsCFUCAQ1npUbTw8Tb_-ROZ7g_DpFMgZe'],
  ['redis/main', 'BBQUdPdcvR8gu4OqItxTv_yxoHsPzlu4xw71F6eq'],
  ['gitlab/girofle/database', '2-7WDEDbv_gpMa0v_CKi5JfQN8LKmTgOyIwgud5c'],
  ['gitlab/girofle/root', '2jspLoRfV5fLrenAQ2vFJRs8Y3TOxIChHDG9a78G'],
  ['redis/girofle', '-8F1Jvl5A8UNvSo7D7m78pBwuJykwEOejQKd7Xdu'],
];

describe('derivePassword: known answers (HMAC-SHA256 of kytes/v1/<purpose>, base64url, 40 characters)', () => {
  it.each(KNOWN)('%s', (purpose, expected) => {
    expect(derivePassword(TEST_MASTER_SECRET, purpose)).toBe(expected);
  });

  it('depends on the master secret (same node -e, another secret)', () => {
    expect(derivePassword('another-master-secret-of-32-chars-or-more', 'postgres/superuser')).toBe(
      'a375kVWtm8V_m_dLp8mp48ZiTF6Dx277pGowwJ7m',
    );
  });
});

describe('deriveStackSecrets on a stack with two GitLab instances', () => {
  const t = deriveTopology(
    configSchema.parse({
      gitlab: {
        instances: [
          { name: 'main', sshPort: 2222 },
          { name: 'girofle', sshPort: 2223 },
        ],
      },
    }),
    'dev',
  );
  const s = deriveStackSecrets(pulumi.output(TEST_MASTER_SECRET), t);
  const all: Array<[string, pulumi.Output<string>]> = [
    ['postgresSuperuser', s.postgresSuperuser],
    ['mongoRoot', s.mongoRoot],
    ['mongoApp', s.mongoApp],
    ['rocketchatAdmin', s.rocketchatAdmin],
    ['restic', s.restic],
    ...Object.entries(s.gitlabDatabase).map(([n, o]): [string, pulumi.Output<string>] => [`gitlabDatabase.${n}`, o]),
    ...Object.entries(s.gitlabRoot).map(([n, o]): [string, pulumi.Output<string>] => [`gitlabRoot.${n}`, o]),
    ...Object.entries(s.redis).map(([n, o]): [string, pulumi.Output<string>] => [`redis.${n}`, o]),
  ];

  it('gives each secret the password of its own purpose (the known answers above)', async () => {
    const values = Object.fromEntries(await Promise.all(all.map(async ([k, o]) => [k, await promiseOf(o)])));
    expect(values).toEqual({
      postgresSuperuser: 'Tg_-6MGvuP0BM1mxc6XgDPITJXbcAovM9x24B77F',
      mongoRoot: 'yFm1FCe1YGG-2TnKJcxgmIisCyIoDQP_wjInY-CE',
      mongoApp: 'ItAd03ek0Lwo4O_C7ot3IvUm_BLRx5k2mJ1N-MD_',
      rocketchatAdmin: 'DzhtCnPj2sGk033BvC3TAvIKkQNrnRon3MqGVOY9',
      restic: 'pxCu2eT98HWdWgc9TneF5b7R8mxtoXqjb1ueem4u',
      'gitlabDatabase.main': '9QTaf6Ui8ax2TJaM9TwflhYYQJlculnV-7-MExkB',
      'gitlabDatabase.girofle': '2-7WDEDbv_gpMa0v_CKi5JfQN8LKmTgOyIwgud5c',
      'gitlabRoot.main': '3XkZ2V2XsCFUCAQ1npUbTw8Tb_-ROZ7g_DpFMgZe',
      'gitlabRoot.girofle': '2jspLoRfV5fLrenAQ2vFJRs8Y3TOxIChHDG9a78G',
      'redis.main': 'BBQUdPdcvR8gu4OqItxTv_yxoHsPzlu4xw71F6eq',
      'redis.girofle': '-8F1Jvl5A8UNvSo7D7m78pBwuJykwEOejQKd7Xdu',
    });
  });

  it('gives 11 pairwise different passwords: 5 for the stack, 3 per instance', async () => {
    const values = await Promise.all(all.map(([, o]) => promiseOf(o)));
    expect(values.length).toBe(11);
    expect(new Set(values).size).toBe(11);
  });

  it('wraps every one as a Pulumi secret', async () => {
    const secret = await Promise.all(all.map(async ([k, o]) => [k, await pulumi.isSecret(o)]));
    expect(secret).toEqual(all.map(([k]) => [k, true]));
  });
});
