import { ConfigError, parseConfig } from '../lib/config';
import { renderGitlabConfig } from '../lib/gitlab-rb';
import { rocketchatSmtpEnv } from '../lib/mail';
import { deriveTopology } from '../lib/topology';
import { topologyFromStackYaml } from '../ops/cli';
import { evaluatePack } from '../policies/test/harness';
import { declaredButPlain } from '../policies/test/program-proofs';
import {
  flattenConfig,
  isSecretValue,
  ProgramError,
  RecordedResource,
  runProgram,
  stackConfig,
  TEST_MASTER_SECRET,
  unwrap,
} from './helpers/program';

/** `kytes:smtp` → GitLab's gitlab.rb and Rocket.Chat's OVERWRITE_SETTING_* env; the password stays a secret. */

const PASSWORD = 's3cr\'et\\pa$$ "word" `x`';
const SMTP = { host: 'smtp.example.com', user: 'mailer@example.com', from: 'gitlab@example.com' };

function parse(smtp: unknown, secret = true) {
  const all = {
    ...flattenConfig(smtp === undefined ? {} : { 'kytes:smtp': smtp }),
    'kytes:masterSecret': TEST_MASTER_SECRET,
  };
  const secretKeys = new Set(['kytes:masterSecret', ...(secret ? ['kytes:smtp'] : [])]);
  return parseConfig(all, (k) => secretKeys.has(k));
}

function problemsOf(smtp: unknown, secret = true): string[] {
  try {
    parse(smtp, secret);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

const mailLines = (rb: string) => {
  const lines = rb.split('\n').filter((l) => l && !l.startsWith('#'));
  return lines.slice(lines.findIndex((l) => l.includes('gitlab_email_enabled')));
};

function gitlabRb(smtp: unknown): string[] {
  const config = parse(smtp);
  const t = deriveTopology(config, 'dev');
  return mailLines(renderGitlabConfig(t, t.gitlab[0]));
}

describe('kytes:smtp in gitlab.rb', () => {
  it('absent: mail is off', () => {
    const config = parse(undefined, false);
    const t = deriveTopology(config, 'dev');
    expect(t.mail).toBeUndefined();
    expect(mailLines(renderGitlabConfig(t, t.gitlab[0]))).toEqual(["gitlab_rails['gitlab_email_enabled'] = false"]);
  });

  it('starttls (default) with authentication: every key, password from the environment', () => {
    expect(gitlabRb({ ...SMTP, password: PASSWORD, replyTo: 'noreply@example.com' })).toEqual([
      "gitlab_rails['gitlab_email_enabled'] = true",
      "gitlab_rails['smtp_enable'] = true",
      "gitlab_rails['smtp_address'] = 'smtp.example.com'",
      "gitlab_rails['smtp_port'] = 587",
      "gitlab_rails['smtp_domain'] = 'gitlab.kytes.localhost'",
      "gitlab_rails['smtp_tls'] = false",
      "gitlab_rails['smtp_enable_starttls_auto'] = true",
      "gitlab_rails['smtp_openssl_verify_mode'] = 'peer'",
      "gitlab_rails['smtp_authentication'] = 'login'",
      "gitlab_rails['smtp_user_name'] = 'mailer@example.com'",
      "gitlab_rails['smtp_password'] = ENV['KYTES_SMTP_PASSWORD']",
      "gitlab_rails['gitlab_email_from'] = 'gitlab@example.com'",
      "gitlab_rails['gitlab_email_reply_to'] = 'noreply@example.com'",
    ]);
  });

  it('implicit TLS on 465, the chosen mechanism', () => {
    const rb = gitlabRb({ ...SMTP, password: PASSWORD, tls: 'tls', authentication: 'plain' });
    expect(rb).toContain("gitlab_rails['smtp_port'] = 465");
    expect(rb).toContain("gitlab_rails['smtp_tls'] = true");
    expect(rb).toContain("gitlab_rails['smtp_enable_starttls_auto'] = false");
    expect(rb).toContain("gitlab_rails['smtp_authentication'] = 'plain'");
  });

  it('plain relay without authentication: no credentials, no verify mode, port 25', () => {
    expect(gitlabRb({ host: 'relay', tls: 'none', from: 'gitlab@example.com' })).toEqual([
      "gitlab_rails['gitlab_email_enabled'] = true",
      "gitlab_rails['smtp_enable'] = true",
      "gitlab_rails['smtp_address'] = 'relay'",
      "gitlab_rails['smtp_port'] = 25",
      "gitlab_rails['smtp_domain'] = 'gitlab.kytes.localhost'",
      "gitlab_rails['smtp_tls'] = false",
      "gitlab_rails['smtp_enable_starttls_auto'] = false",
      "gitlab_rails['gitlab_email_from'] = 'gitlab@example.com'",
    ]);
  });

  it('an explicit port wins over the mode default', () => {
    expect(gitlabRb({ ...SMTP, password: PASSWORD, port: 2525 })).toContain("gitlab_rails['smtp_port'] = 2525");
  });

  it("quotes a user name with Ruby's delimiters", () => {
    expect(gitlabRb({ ...SMTP, user: "o'neil\\#{`id`}", password: PASSWORD })).toContain(
      "gitlab_rails['smtp_user_name'] = 'o\\'neil\\\\#{`id`}'",
    );
  });
});

describe('kytes:smtp in Rocket.Chat', () => {
  const mail = (smtp: unknown) => deriveTopology(parse(smtp), 'dev').mail;

  it('absent: no SMTP setting is touched', () => {
    expect(rocketchatSmtpEnv(undefined)).toEqual({});
  });

  it.each([
    ['starttls', { ...SMTP, password: PASSWORD }, 'smtp', '587', 'false', 'mailer@example.com'],
    ['tls', { ...SMTP, password: PASSWORD, tls: 'tls' }, 'smtps', '465', 'false', 'mailer@example.com'],
    ['none, no user', { host: '10.0.0.25', tls: 'none', from: 'chat@example.com' }, 'smtp', '25', 'true', ''],
  ])('%s', (_what, smtp, protocol, port, ignoreTls, user) => {
    const from = (smtp as { from: string }).from;
    expect(rocketchatSmtpEnv(mail(smtp))).toEqual({
      OVERWRITE_SETTING_SMTP_Protocol: protocol,
      OVERWRITE_SETTING_SMTP_Host: (smtp as { host: string }).host,
      OVERWRITE_SETTING_SMTP_Port: port,
      OVERWRITE_SETTING_SMTP_IgnoreTLS: ignoreTls,
      OVERWRITE_SETTING_SMTP_Username: user,
      OVERWRITE_SETTING_From_Email: from,
    });
  });
});

describe('kytes:smtp validation', () => {
  it.each<[string, unknown, string]>([
    ['host missing', { from: 'a@example.com' }, 'kytes:smtp.host: received nothing'],
    [
      'host with Ruby code',
      { ...SMTP, host: "x'; system('id'); '" },
      `kytes:smtp.host: received "x'; system('id'); '"`,
    ],
    ['host with a space', { ...SMTP, host: 'smtp example.com' }, 'kytes:smtp.host: received "smtp example.com"'],
    ['from missing', { host: 'smtp.example.com' }, 'kytes:smtp.from: received nothing'],
    ['from with a display name', { ...SMTP, from: 'GitLab <g@example.com>' }, 'kytes:smtp.from: received'],
    ['from with a header injection', { ...SMTP, from: 'g@example.com\nBcc: x@evil.com' }, 'kytes:smtp.from: received'],
    ['from with a quote', { ...SMTP, from: "g'@example.com" }, 'kytes:smtp.from: received'],
    ['replyTo not an address', { ...SMTP, replyTo: 'nobody' }, 'kytes:smtp.replyTo: received "nobody"'],
    [
      'tls mode unknown',
      { ...SMTP, tls: 'ssl' },
      'kytes:smtp.tls: received "ssl"; allowed: one of starttls, tls, none',
    ],
    ['port 0', { ...SMTP, port: 0 }, 'kytes:smtp.port: received 0'],
    ['user with a space', { ...SMTP, user: 'a b' }, 'kytes:smtp.user: received "a b"'],
    ['user "false"', { ...SMTP, user: 'False' }, 'kytes:smtp.user: received "False"; allowed: not "true" or "false"'],
    ['unknown key', { ...SMTP, sender: 'x' }, 'kytes:smtp.sender: received "x"; allowed: no such key'],
  ])('%s', (_what, smtp, expected) => {
    // Not set as a secret: the values are shown (under a secret kytes:smtp they read "a secret value").
    const problems = problemsOf(smtp, false);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => p.startsWith(expected))).toBe(true);
  });

  it.each<[string, unknown, boolean, string]>([
    [
      'password in plain text',
      { ...SMTP, password: PASSWORD },
      false,
      'kytes:smtp.password: received a plain-text value; allowed: a secret only (set it with `npm run pulumi -- config set --path --secret kytes:smtp.password`)',
    ],
    [
      'user without password',
      SMTP,
      false,
      'kytes:smtp.password: received nothing; allowed: a secret, since kytes:smtp.user is set (set it with `npm run pulumi -- config set --path --secret kytes:smtp.password`)',
    ],
    [
      'password without user',
      { host: 'smtp.example.com', from: 'a@example.com', password: PASSWORD },
      true,
      'kytes:smtp.password: received a secret; allowed: only together with kytes:smtp.user',
    ],
    [
      'password "TRUE"',
      { ...SMTP, password: 'TRUE' },
      true,
      'kytes:smtp.password: received a secret that reads as a boolean; allowed: anything but "true" or "false" (Rocket.Chat converts those)',
    ],
    [
      'password with a line break',
      { ...SMTP, password: `${PASSWORD}\nX-Header: 1` },
      true,
      'kytes:smtp.password: received a secret value; allowed: text without control characters (NUL, newline, tab, escape, bidi overrides)',
    ],
    [
      'password empty',
      { ...SMTP, password: '' },
      true,
      'kytes:smtp.password: received a secret of 0 characters; allowed: at least 1 (set it with `npm run pulumi -- config set --path --secret kytes:smtp.password`)',
    ],
  ])('%s: refused, the value never shown', (_what, smtp, secret, expected) => {
    const problems = problemsOf(smtp, secret);
    expect(problems).toEqual([expected]);
    expect(problems.join('\n')).not.toContain(PASSWORD);
  });

  it('a valid password passes, and is not part of the parsed config', () => {
    const config = parse({ ...SMTP, password: PASSWORD });
    expect(config.smtp).toEqual({ ...SMTP, tls: 'starttls', authentication: 'login' });
    expect(JSON.stringify(config)).not.toContain('s3cr');
  });
});

describe('kytes:smtp in the program', () => {
  const smtpConfig = { ...SMTP, password: PASSWORD, replyTo: 'noreply@example.com' };
  const byName = (resources: RecordedResource[], name: string) => resources.find((r) => r.name === name)!;

  /** Every place the password appears outside a secret wrapper. */
  function leaks(value: unknown, path: string): string[] {
    if (isSecretValue(value)) return [];
    if (typeof value === 'string') return value.includes(PASSWORD) ? [path] : [];
    if (Array.isArray(value)) return value.flatMap((v, i) => leaks(v, `${path}[${i}]`));
    if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leaks(v, `${path}.${k}`));
    return [];
  }

  it.each(['dev', 'prod'])(
    '%s: GitLab and Rocket.Chat get the settings; the password only inside secrets',
    async (stack) => {
      const { resources } = await runProgram(
        stack,
        { ...stackConfig(stack), 'kytes:smtp': JSON.stringify(smtpConfig) },
        { secretKeys: ['kytes:smtp'] },
      );
      expect(resources.flatMap((r) => leaks(r.inputs, r.name))).toEqual([]);
      // The password is there, wrapped, in each GitLab container and in Rocket.Chat: the check above is not vacuous.
      const carriers = resources.filter((r) =>
        JSON.stringify(unwrap(r.inputs)).includes(JSON.stringify(PASSWORD).slice(1, -1)),
      );
      const gitlabs =
        stack === 'dev'
          ? ['kytes-dev-gitlab-main-container']
          : ['kytes-prod-gitlab-main-container', 'kytes-prod-gitlab-girofle-container'];
      expect(carriers.map((r) => r.name).sort()).toEqual([...gitlabs, `kytes-${stack}-rocketchat-container`].sort());

      for (const name of gitlabs) {
        const inputs = unwrap(byName(resources, name).inputs) as {
          envs: string[];
          labels: { label: string; value: string }[];
        };
        expect(inputs.envs).toContain(`KYTES_SMTP_PASSWORD=${PASSWORD}`);
        const omnibus = inputs.envs.find((e) => e.startsWith('GITLAB_OMNIBUS_CONFIG='))!;
        expect(omnibus).toContain("gitlab_rails['smtp_password'] = ENV['KYTES_SMTP_PASSWORD']");
        // The env list is one secret as a whole, so also check the password sits in its own variable only.
        expect(inputs.envs.filter((e) => e.includes(PASSWORD))).toEqual([`KYTES_SMTP_PASSWORD=${PASSWORD}`]);
        expect(JSON.stringify(inputs.labels)).not.toContain('s3cr');
        expect(omnibus).toContain("gitlab_rails['gitlab_email_reply_to'] = 'noreply@example.com'");
        expect(inputs.labels.find((l) => l.label === 'kytes.secret-env')!.value.split(',')).toContain(
          'KYTES_SMTP_PASSWORD',
        );
      }
      const rc = unwrap(byName(resources, `kytes-${stack}-rocketchat-container`).inputs) as {
        envs: string[];
        labels: { label: string; value: string }[];
      };
      expect(rc.envs.filter((e) => /^OVERWRITE_SETTING_(SMTP_|From_Email)/.test(e))).toEqual([
        'OVERWRITE_SETTING_From_Email=gitlab@example.com',
        'OVERWRITE_SETTING_SMTP_Host=smtp.example.com',
        'OVERWRITE_SETTING_SMTP_IgnoreTLS=false',
        `OVERWRITE_SETTING_SMTP_Password=${PASSWORD}`,
        'OVERWRITE_SETTING_SMTP_Port=587',
        'OVERWRITE_SETTING_SMTP_Protocol=smtp',
        'OVERWRITE_SETTING_SMTP_Username=mailer@example.com',
      ]);
      expect(rc.envs.filter((e) => e.includes(PASSWORD))).toEqual([`OVERWRITE_SETTING_SMTP_Password=${PASSWORD}`]);
      expect(rc.labels.find((l) => l.label === 'kytes.secret-env')!.value.split(',')).toContain(
        'OVERWRITE_SETTING_SMTP_Password',
      );
    },
    120000,
  );

  it('the guard-rails pack accepts it: no mandatory violation, every declared secret env var a secret', async () => {
    const { resources } = await runProgram(
      'prod',
      { ...stackConfig('prod'), 'kytes:smtp': JSON.stringify(smtpConfig) },
      { secretKeys: ['kytes:smtp'] },
    );
    const views = resources.map((r) => ({
      type: r.type,
      name: r.name,
      props: unwrap(r.inputs) as Record<string, unknown>,
    }));
    expect((await evaluatePack(views)).filter((v) => v.level === 'mandatory')).toEqual([]);
    expect(resources.flatMap(declaredButPlain)).toEqual([]);
  });

  it('without kytes:smtp: no SMTP variable anywhere, GitLab mail off', async () => {
    const { resources } = await runProgram('dev', stackConfig('dev'));
    const all = JSON.stringify(resources.map((r) => unwrap(r.inputs)));
    expect(all).not.toMatch(/OVERWRITE_SETTING_(SMTP_|From_Email)|KYTES_SMTP_PASSWORD=/);
    expect(all).toContain("gitlab_rails['gitlab_email_enabled'] = false");
  }, 60000);

  it('a plain-text password stops the program before any resource exists, without showing it', async () => {
    let error: unknown;
    try {
      await runProgram('dev', { ...stackConfig('dev'), 'kytes:smtp': JSON.stringify(smtpConfig) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProgramError);
    expect((error as ProgramError).resources).toEqual([]);
    expect((error as Error).message).toContain('kytes:smtp.password: received a plain-text value');
    expect((error as Error).message).not.toContain(PASSWORD);
  }, 60000);
});

describe('kytes:smtp in Pulumi.<stack>.yaml, read without secrets (npm run backups, dev:reset)', () => {
  it('skips the encrypted password leaf and keeps the rest', () => {
    const yaml = [
      'config:',
      '  kytes:smtp:',
      '    host: smtp.example.com',
      '    user: mailer',
      '    from: gitlab@example.com',
      '    password:',
      '      secure: v1:AAAABBBBCCCC',
      '',
    ].join('\n');
    expect(topologyFromStackYaml(yaml, 'dev').mail).toEqual({
      host: 'smtp.example.com',
      port: 587,
      tls: 'starttls',
      auth: { user: 'mailer', mechanism: 'login' },
      from: 'gitlab@example.com',
      replyTo: undefined,
    });
  });
});
