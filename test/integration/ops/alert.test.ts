import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { configSchema } from '../../../lib/config';
import { deriveTopology, Topology } from '../../../lib/topology';
import { alertCurlConfig } from '../../../ops/backupOps';
import { renderOpsScripts } from '../../../ops/scripts';
import { invocationRecords } from './fake-stack';

/**
 * A failed scheduled backup (`kytes-backup --scheduled`, as the cron line runs it) and its alert, with the
 * real scripts, the real curl and a webhook receiver on 127.0.0.1 that answers as Rocket.Chat's incoming
 * webhooks do (`{"success": true}`), then one that is down, then one that fails. The backup fails the way
 * it fails when the host's Docker engine is down (the stack's socket does not exist), so no stack is
 * needed. The webhook URL holds a token, as Rocket.Chat's do: it must appear on no command line (a curl
 * wrapper records curl's arguments), in no log.
 */

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-it-alert-'));
const BACKUPS = path.join(ROOT, 'backups');
const TOKEN = 'token-sentinel-5f0c9a';
const SHIM = path.join(ROOT, 'shim');
const ARGV_LOG = path.join(ROOT, 'curl-argv.log');

interface Received {
  method: string;
  url: string;
  contentType: string;
  body: string;
}

class Receiver {
  readonly requests: Received[] = [];
  private server?: http.Server;
  status = 200;
  port = 0;
  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          contentType: req.headers['content-type'] ?? '',
          body,
        });
        res.writeHead(this.status, { 'Content-Type': 'application/json' });
        res.end(this.status === 200 ? '{"success":true}' : '{"success":false,"error":"unknown-error"}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }
  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const receiver = new Receiver();
let t: Topology;

function install(format: 'rocketchat' | 'json', alert: boolean): string {
  const bin = path.join(ROOT, `bin-${format}`);
  fs.rmSync(bin, { recursive: true, force: true });
  fs.mkdirSync(bin);
  const base = deriveTopology(
    configSchema.parse({
      // A socket nobody listens on: the engine of this host is "down".
      docker: { host: `unix://${ROOT}/no-engine.sock` },
      backup: { dir: BACKUPS, alertFormat: format },
    }),
    'it',
  );
  t = { ...base, ops: { ...base.ops, alertFile: path.join(ROOT, 'backup-alert.curl') } };
  const scripts = renderOpsScripts(t, {
    keepLast: 6,
    keepDaily: 7,
    keepWeekly: 4,
    projectCommit: 'c0ffee1',
    projectDirty: false,
  });
  for (const [name, content] of Object.entries(scripts))
    fs.writeFileSync(path.join(bin, name), content, { mode: 0o755 });
  if (alert) {
    // What the alert command of `pulumi up` writes from its secret stdin (ops/backupOps.ts).
    fs.writeFileSync(t.ops.alertFile, alertCurlConfig(`http://127.0.0.1:${receiver.port}/hooks/abc123/${TOKEN}`), {
      mode: 0o600,
    });
  } else {
    fs.rmSync(t.ops.alertFile, { force: true });
  }
  return bin;
}

/** Runs kytes-backup as cron does (no terminal); asynchronously, so that the receiver in this process can answer. */
function backup(bin: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', [path.join(bin, 'kytes-backup'), ...args], {
    env: { ...process.env, PATH: `${SHIM}:${process.env.PATH}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

const cronLog = () => fs.readFileSync(path.join(BACKUPS, 'cron.log'), 'utf8');
const lastInvocation = () => invocationRecords(BACKUPS).pop() as Record<string, unknown>;
const ENGINE_DOWN = () =>
  new RegExp(
    `^kytes-backup: error: the Docker engine at unix://${ROOT}/no-engine\\.sock does not answer on ${os.hostname()} \\(.+\\): start it \\(systemctl start docker\\) and run again; nothing was changed \\(no backup was written\\)$`,
  );

beforeAll(async () => {
  await receiver.start();
  fs.mkdirSync(SHIM);
  const realCurl = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim();
  if (!realCurl) throw new Error('curl is required by this test (apt-get install curl)');
  fs.writeFileSync(
    path.join(SHIM, 'curl'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >>'${ARGV_LOG}'\nexec '${realCurl}' "$@"\n`,
    {
      mode: 0o755,
    },
  );
});

afterAll(async () => {
  await receiver.stop();
  fs.rmSync(ROOT, { recursive: true, force: true });
});

describe('a failed scheduled backup tells the webhook of kytes:backup.alert', () => {
  it('rocketchat format: one POST of {"text": …} as JSON; the failure and the alert in cron.log and the invocation log', async () => {
    const bin = install('rocketchat', true);
    const r = await backup(bin, ['--scheduled']);
    // cron's own redirection gets nothing: the run writes its output to cron.log itself.
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 1, stdout: '', stderr: '' });
    const lines = cronLog().trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ kytes-backup: scheduled run \(schedule 0 \*\/4 \* \* \*\)$/,
    );
    expect(lines[1]).toMatch(ENGINE_DOWN());
    expect(lines[2]).toBe('kytes-backup: this failure was reported to the webhook of kytes:backup.alert');
    expect(receiver.requests.length).toBe(1);
    const req = receiver.requests[0];
    expect([req.method, req.url, req.contentType]).toEqual(['POST', `/hooks/abc123/${TOKEN}`, 'application/json']);
    const failure = lines[1].replace('kytes-backup: error: ', '');
    expect(JSON.parse(req.body)).toEqual({
      text: `Kytes: the scheduled backup of stack it (kytes-it) on ${os.hostname()} failed: ${failure}. There is no verified backup. Details: ${BACKUPS}/cron.log on that host.`,
    });
    expect(lastInvocation()).toEqual(
      expect.objectContaining({
        operation: 'kytes-backup',
        arguments: ['--scheduled'],
        result: 'error',
        message: failure,
        alert: 'sent',
      }),
    );
  });

  it('json format: the same text, plus the details under "kytes"', async () => {
    const bin = install('json', true);
    const before = receiver.requests.length;
    expect((await backup(bin, ['--scheduled'])).status).toBe(1);
    const body = JSON.parse(receiver.requests[before].body);
    expect(Object.keys(body)).toEqual(['text', 'kytes']);
    expect(body.kytes).toEqual({
      event: 'backup-failed',
      stack: 'it',
      prefix: 'kytes-it',
      host: os.hostname(),
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      operation: 'kytes-backup',
      message: expect.stringMatching(
        /^the Docker engine at unix:\/\/.* nothing was changed \(no backup was written\)$/,
      ),
      lastVerifiedBackup: null,
      log: `${BACKUPS}/cron.log`,
    });
  });

  it('a receiver that is down: the backup failure is still in cron.log and the invocation log, and so is the alert failure', async () => {
    const bin = install('rocketchat', true);
    await receiver.stop();
    try {
      const r = await backup(bin, ['--scheduled']);
      expect(r.status).toBe(1);
      const lines = cronLog().trimEnd().split('\n').slice(-2);
      expect(lines[0]).toMatch(ENGINE_DOWN());
      expect(lines[1]).toMatch(
        new RegExp(
          `^kytes-backup: error: this failure could not be reported to the webhook of kytes:backup\\.alert: curl: \\(7\\) Failed to connect to 127\\.0\\.0\\.1 port ${receiver.port}.*$`,
        ),
      );
      const last = lastInvocation();
      expect([last.result, last.message]).toEqual(['error', lines[0].replace('kytes-backup: error: ', '')]);
      expect(last.alert).toMatch(/^failed: curl: \(7\) Failed to connect to 127\.0\.0\.1 port /);
    } finally {
      await receiver.start();
    }
  });

  it('a receiver that answers an error: reported as a failed alert', async () => {
    const bin = install('rocketchat', true);
    receiver.status = 400;
    try {
      expect((await backup(bin, ['--scheduled'])).status).toBe(1);
      expect(lastInvocation().alert).toBe('failed: curl: (22) The requested URL returned error: 400');
      expect(cronLog().trimEnd().split('\n').pop()).toBe(
        'kytes-backup: error: this failure could not be reported to the webhook of kytes:backup.alert: curl: (22) The requested URL returned error: 400',
      );
    } finally {
      receiver.status = 200;
    }
  });

  it('no alert for a backup run by hand (its failure is on the terminal), none without kytes:backup.alert', async () => {
    const before = receiver.requests.length;
    const manual = await backup(install('rocketchat', true), []);
    expect({ status: manual.status, last: manual.stderr.trimEnd().split('\n').pop() }).toEqual({
      status: 1,
      last: expect.stringMatching(ENGINE_DOWN()),
    });
    expect(receiver.requests.length).toBe(before);
    expect((await backup(install('rocketchat', false), ['--scheduled'])).status).toBe(1);
    expect(receiver.requests.length).toBe(before);
    expect(lastInvocation().alert).toBe('none configured');
  });

  it('curl reads back exactly the URL the curl-config sink wrote: quotes, backslashes, shell syntax', async () => {
    const bin = install('rocketchat', true);
    const tricky = `/hooks/a"b\\c%22/${TOKEN}?x=$(id)\`y\`&z='q'`;
    fs.writeFileSync(t.ops.alertFile, alertCurlConfig(`http://127.0.0.1:${receiver.port}${tricky}`), { mode: 0o600 });
    const before = receiver.requests.length;
    expect((await backup(bin, ['--scheduled'])).status).toBe(1);
    expect(receiver.requests.slice(before).map((r) => r.url)).toEqual([tricky]);
  });

  it('the webhook URL (its token) is on no command line and in no log', () => {
    const argv = fs.readFileSync(ARGV_LOG, 'utf8');
    const calls = argv.split('\n').filter(Boolean);
    expect(calls.length).toBeGreaterThan(0); // the alerts of the tests above did run curl
    expect(calls.every((l) => l.includes(`--config ${path.join(ROOT, 'backup-alert.curl')}`))).toBe(true);
    for (const text of [
      argv,
      fs.readFileSync(path.join(BACKUPS, 'invocations.jsonl'), 'utf8'),
      ...fs
        .readdirSync(BACKUPS)
        .filter((f) => f.startsWith('cron.log'))
        .map((f) => fs.readFileSync(path.join(BACKUPS, f), 'utf8')),
    ])
      expect(text).not.toContain(TOKEN);
  });
});

describe('cron.log is bounded: kytes-backup rotates it itself (no logrotate needed)', () => {
  it('beyond 1 MiB it becomes cron.log.1 (then .2, .3); three old logs are kept', async () => {
    const bin = install('rocketchat', false);
    const log = path.join(BACKUPS, 'cron.log');
    const sizes: number[][] = [];
    for (let round = 1; round <= 4; round++) {
      fs.writeFileSync(log, `round ${round}\n`.padEnd(1024 * 1024 + 10, 'x'));
      expect((await backup(bin, ['--scheduled'])).status).toBe(1);
      sizes.push(
        ['cron.log', 'cron.log.1', 'cron.log.2', 'cron.log.3', 'cron.log.4'].map((f) =>
          fs.existsSync(path.join(BACKUPS, f)) ? fs.statSync(path.join(BACKUPS, f)).size : -1,
        ),
      );
    }
    const firstLine = (f: string) => fs.readFileSync(path.join(BACKUPS, f), 'utf8').split('\n')[0];
    expect(['cron.log.1', 'cron.log.2', 'cron.log.3'].map(firstLine)).toEqual(['round 4', 'round 3', 'round 2']);
    expect(fs.existsSync(path.join(BACKUPS, 'cron.log.4'))).toBe(false);
    // The live log holds only the last run; every file stays under the bound plus one run's output.
    expect(sizes[3][0]).toBeLessThan(4096);
    expect(
      cronLog()
        .split('\n')
        .some((l) => ENGINE_DOWN().test(l)),
    ).toBe(true);
  });
});
