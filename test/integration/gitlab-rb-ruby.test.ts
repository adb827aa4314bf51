/**
 * GITLAB_OMNIBUS_CONFIG is Ruby: the rendered text goes through the real Ruby (`ruby -c`, then evaluated
 * with stand-ins for omnibus' attribute hashes), and every value must come back exactly as configured —
 * hostile ones included — with the SMTP password read from the environment, as gitlab.rb does.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../lib/config';
import { renderGitlabConfig } from '../../lib/gitlab-rb';
import { deriveTopology } from '../../lib/topology';
import { flattenConfig, stackConfig, TEST_MASTER_SECRET } from '../helpers/program';

/** Records `external_url` and every `<name>['key'] = value` the file makes, then prints them as JSON. */
const EVALUATOR = `
require 'json'
class Attrs
  def initialize; @h = {}; end
  def [](k); @h[k] ||= Attrs.new; end
  def []=(k, v); @h[k] = v; end
  def to_h; @h.transform_values { |v| v.is_a?(Attrs) ? v.to_h : v }; end
end
class Omnibus
  def initialize; @roots = Hash.new { |h, k| h[k] = Attrs.new }; @url = nil; end
  def external_url(url); @url = url; end
  def method_missing(name, *args)
    return super unless args.empty?
    @roots[name.to_s]
  end
  def respond_to_missing?(*) = true
  def result; { 'external_url' => @url, 'attributes' => @roots.transform_values(&:to_h) }; end
end
omnibus = Omnibus.new
omnibus.instance_eval(File.read(ARGV[0]), ARGV[0])
puts JSON.generate(omnibus.result)
`;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-rb-'));
  fs.writeFileSync(path.join(dir, 'evaluate.rb'), EVALUATOR);
  const ruby = spawnSync('ruby', ['--version'], { encoding: 'utf8' });
  if (ruby.error) throw new Error('ruby is required by this test (apt-get install ruby)');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function render(
  stack: string,
  extra: Record<string, unknown>,
  secretKeys: string[] = [],
): Array<{ rb: string; externalUrl: string }> {
  const all = { ...stackConfig(stack), ...flattenConfig(extra), 'kytes:masterSecret': TEST_MASTER_SECRET };
  const secret = new Set(['kytes:masterSecret', ...secretKeys]);
  const t = deriveTopology(
    parseConfig(all, (k) => secret.has(k)),
    stack,
  );
  return t.gitlab.map((g) => ({
    rb: renderGitlabConfig(t, g),
    externalUrl: g.externalUrl,
  }));
}

let n = 0;
function evaluate(rb: string, env: Record<string, string> = {}) {
  const file = path.join(dir, `gitlab-${n++}.rb`);
  fs.writeFileSync(file, rb);
  const syntax = spawnSync('ruby', ['-c', file], { encoding: 'utf8' });
  expect({ status: syntax.status, stdout: syntax.stdout.trim(), stderr: syntax.stderr }).toEqual({
    status: 0,
    stdout: 'Syntax OK',
    stderr: '',
  });
  const r = spawnSync('ruby', [path.join(dir, 'evaluate.rb'), file], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as { external_url: string; attributes: Record<string, Record<string, unknown>> };
}

describe('gitlab.rb through Ruby', () => {
  it.each(['dev', 'prod'])('%s: every instance parses and evaluates', (stack) => {
    for (const { rb, externalUrl } of render(stack, {})) {
      const out = evaluate(rb, { KYTES_DB_PASSWORD: 'db', KYTES_REDIS_PASSWORD: 'redis' });
      expect(out.external_url).toBe(externalUrl);
      expect(out.attributes.gitlab_rails.db_password).toBe('db');
      expect(out.attributes.gitlab_rails.gitlab_email_enabled).toBe(false);
    }
  });

  it('SMTP with hostile but valid values comes back exactly; the password from the environment', () => {
    // A quote after a backslash, and a final backslash: what breaks out of a naively quoted Ruby string.
    const user = `o'neil\\'\\#{\`id\`}"%q{x}\\`;
    const password = `pa'ss\\" #{\`rm -rf /\`} ${'$'}HOME`;
    const smtp = {
      host: 'smtp.example.com',
      port: 2525,
      tls: 'tls',
      user,
      password,
      authentication: 'plain',
      from: 'oreilly+git@example.com',
      replyTo: 'no-reply%ops@example.com',
    };
    const [{ rb }] = render('prod', { 'kytes:smtp': smtp }, ['kytes:smtp']);
    const rails = evaluate(rb, { KYTES_SMTP_PASSWORD: password }).attributes.gitlab_rails;
    expect(rails).toMatchObject({
      gitlab_email_enabled: true,
      smtp_enable: true,
      smtp_address: 'smtp.example.com',
      smtp_port: 2525,
      smtp_domain: 'gitlab.kytes.io',
      smtp_tls: true,
      smtp_enable_starttls_auto: false,
      smtp_openssl_verify_mode: 'peer',
      smtp_authentication: 'plain',
      smtp_user_name: user,
      smtp_password: password,
      gitlab_email_from: 'oreilly+git@example.com',
      gitlab_email_reply_to: 'no-reply%ops@example.com',
    });
    expect(rb).not.toContain(password);
  });
});
