import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT, runProgram, stackConfig, unwrap } from './helpers/program';

/**
 * Every shell text Kytes runs — the command strings of its Command resources, the post-start steps, the
 * dev/CI/harness scripts — goes through `bash -n` and shellcheck; the mongosh code through node's parser.
 * (The ops scripts have their own, per topology, in test/ops/scripts.test.ts.)
 */
function check(label: string, text: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-sh-'));
  const file = path.join(dir, 'script.sh');
  fs.writeFileSync(file, text.startsWith('#!') ? text : `#!/usr/bin/env bash\n${text}\n`);
  const problems: string[] = [];
  const syntax = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  if (syntax.status !== 0) problems.push(`${label}: bash -n: ${syntax.stderr}`);
  const lint = spawnSync('shellcheck', ['-s', 'bash', file], { encoding: 'utf8' });
  if (lint.error) throw new Error('shellcheck is not installed (apt-get install shellcheck)');
  if (lint.status !== 0) problems.push(`${label}: shellcheck:\n${lint.stdout}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return problems;
}

/** Every create/update/delete string of the Command resources of Pulumi.<stack>.yaml, sorted. */
const COMMAND_TEXTS: Record<string, string[]> = {
  dev: [
    'kytes-dev-mongo-initiate.create',
    'kytes-dev-nginx-apply-config.create',
    'kytes-dev-ops-backup-schedule-off.create',
    'kytes-dev-ops-decommission-backup-main.create',
    'kytes-dev-ops-decommission-backup-main.delete',
    'kytes-dev-ops-predestroy-backup.create',
    'kytes-dev-ops-predestroy-backup.delete',
    'kytes-dev-ops-scripts.create',
    'kytes-dev-ops-scripts.delete',
    'kytes-dev-postgres-setup.create',
    'kytes-dev-upgrade-guard-gitlab.create',
    'kytes-dev-upgrade-guard-mongo.create',
    'kytes-dev-upgrade-guard-postgres.create',
  ],
  prod: [
    'kytes-prod-mongo-initiate.create',
    'kytes-prod-nginx-apply-config.create',
    'kytes-prod-ops-backup-schedule.create',
    'kytes-prod-ops-backup-schedule.delete',
    'kytes-prod-ops-decommission-backup-girofle.create',
    'kytes-prod-ops-decommission-backup-girofle.delete',
    'kytes-prod-ops-decommission-backup-main.create',
    'kytes-prod-ops-decommission-backup-main.delete',
    'kytes-prod-ops-predestroy-backup.create',
    'kytes-prod-ops-predestroy-backup.delete',
    'kytes-prod-ops-scripts.create',
    'kytes-prod-ops-scripts.delete',
    'kytes-prod-postgres-setup.create',
    'kytes-prod-tls-issue.create',
    'kytes-prod-tls-prepare.create',
    'kytes-prod-tls-renewal.create',
    'kytes-prod-tls-renewal.delete',
    'kytes-prod-tls-script.create',
    'kytes-prod-tls-script.delete',
    'kytes-prod-upgrade-guard-gitlab.create',
    'kytes-prod-upgrade-guard-mongo.create',
    'kytes-prod-upgrade-guard-postgres.create',
  ],
};

describe.each(['dev', 'prod'])('%s stack: command strings', (stack) => {
  it('pass bash -n and shellcheck', async () => {
    const { resources } = await runProgram(stack, stackConfig(stack));
    const texts = resources
      .filter((r) => r.type.startsWith('command:'))
      .flatMap((r) =>
        (['create', 'update', 'delete'] as const).flatMap((k) => {
          const text = unwrap(r.inputs[k]);
          return typeof text === 'string' ? [[`${r.name}.${k}`, text]] : [];
        }),
      );
    expect(texts.map(([label]) => label).sort()).toEqual(COMMAND_TEXTS[stack]);
    expect(texts.flatMap(([label, text]) => check(label, text))).toEqual([]);
  }, 60000);

  it('the replica-set initiation code parses', async () => {
    const { resources } = await runProgram(stack, stackConfig(stack));
    const init = resources.find((r) => r.name === `kytes-${stack}-mongo-initiate`)!;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-js-')), 'init.js');
    fs.writeFileSync(file, String(unwrap(init.inputs.stdin)));
    expect(() => execFileSync(process.execPath, ['--check', file])).not.toThrow();
  }, 60000);
});

describe('repository scripts', () => {
  it.each([
    ...fs
      .readdirSync(path.join(ROOT, 'scripts'))
      .filter((f) => f.endsWith('.sh'))
      .map((f) => `scripts/${f}`),
    '.ci/run',
    ...fs.readdirSync(path.join(ROOT, 'test/integration/setup')).map((f) => `test/integration/setup/${f}`),
  ])('%s passes bash -n and shellcheck', (file) => {
    expect(check(file, fs.readFileSync(path.join(ROOT, file), 'utf8'))).toEqual([]);
  });
});
