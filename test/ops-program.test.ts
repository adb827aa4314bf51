import { isSecretValue, runProgram, stackConfig, unwrap } from './helpers/program';

/**
 * How index.ts wires the ops resources (under Pulumi's mocks): the scripts install after the upgrade
 * guards, the dev stack's schedule is off, and the alert webhook reaches the host only as a secret stdin.
 */

const names = (rs: { name: string }[]) => rs.map((r) => r.name);

describe('the ops resources of the program', () => {
  it('installs the ops scripts after every upgrade guard, so a pre-upgrade backup runs the scripts installed before', async () => {
    const { resources } = await runProgram('prod', stackConfig('prod'));
    const scripts = resources.find((r) => r.name === 'kytes-prod-ops-scripts')!;
    expect(scripts.options.dependsOn).toEqual([
      'kytes-prod-upgrade-guard-gitlab',
      'kytes-prod-upgrade-guard-mongo',
      'kytes-prod-upgrade-guard-postgres',
    ]);
    // The guards run before the containers they protect, and depend on no ops command: no cycle.
    for (const g of ['gitlab', 'postgres', 'mongo']) {
      expect(resources.find((r) => r.name === `kytes-prod-upgrade-guard-${g}`)!.options.dependsOn).toEqual([]);
    }
    // prod keeps its schedule.
    expect(names(resources)).toContain('kytes-prod-ops-backup-schedule');
    expect(names(resources)).not.toContain('kytes-prod-ops-backup-schedule-off');
  }, 120_000);

  it('the dev stack installs no cron file: kytes:backup.schedule is off in Pulumi.dev.yaml', async () => {
    expect(stackConfig('dev')['kytes:backup']).toContain('"schedule":"off"');
    const { resources, outputs } = await runProgram('dev', stackConfig('dev'));
    expect(names(resources)).not.toContain('kytes-dev-ops-backup-schedule');
    expect(names(resources)).toContain('kytes-dev-ops-backup-schedule-off');
    expect(JSON.stringify(resources.map((r) => unwrap(r.inputs)))).not.toContain('/etc/cron.d/.kytes-kytes-dev.tmp');
    expect(outputs.backups).toEqual(expect.objectContaining({ schedule: 'off' }));
  }, 120_000);

  it('kytes:backup.alert reaches the host only as the secret stdin of one command, logging off', async () => {
    const url = 'https://chat.example.com/hooks/6789abcd/alert-token-sentinel-41';
    const config = {
      ...stackConfig('dev'),
      'kytes:backup': JSON.stringify({ ...JSON.parse(stackConfig('dev')['kytes:backup']), alert: url }),
    };
    const { resources, outputs } = await runProgram('dev', config, { secretKeys: ['kytes:backup'] });
    const alert = resources.find((r) => r.name === 'kytes-dev-ops-backup-alert')!;
    expect(isSecretValue(alert.inputs.stdin)).toBe(true);
    expect(unwrap(alert.inputs.stdin)).toBe(`url = "${url}"\n`);
    expect(alert.inputs.logging).toBe('none');
    const elsewhere = resources
      .filter((r) => r !== alert)
      .filter((r) => JSON.stringify(unwrap(r.inputs)).includes('alert-token-sentinel'))
      .map((r) => r.name);
    expect(elsewhere).toEqual([]);
    expect(JSON.stringify(unwrap(alert.inputs.create))).not.toContain('alert-token-sentinel');
    expect(JSON.stringify(outputs)).not.toContain('alert-token-sentinel');
  }, 120_000);

  it('refuses an alert URL in plain text, or one that is not an http(s) URL, never showing it', async () => {
    const base = JSON.parse(stackConfig('dev')['kytes:backup']);
    const plain = {
      ...stackConfig('dev'),
      'kytes:backup': JSON.stringify({ ...base, alert: 'https://x.example/hooks/secret-1' }),
    };
    await expect(runProgram('dev', plain)).rejects.toThrow(
      'kytes:backup.alert: received a plain-text value; allowed: a secret only (set it with `npm run pulumi -- config set --path --secret kytes:backup.alert` (prompts for the URL))',
    );
    for (const bad of ['ftp://x.example/secret-2', 'https://x.example/"secret-3', 'not a url secret-4']) {
      const config = { ...stackConfig('dev'), 'kytes:backup': JSON.stringify({ ...base, alert: bad }) };
      const error = await runProgram('dev', config, { secretKeys: ['kytes:backup'] }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toContain(
        'kytes:backup.alert: received a secret value; allowed: an http:// or https:// URL with a host, at most 2048 printable characters without spaces, quotes or backslashes',
      );
      expect(error?.message).not.toMatch(/secret-[0-9]/);
    }
  }, 120_000);
});
