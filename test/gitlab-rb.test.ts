import { parseConfig } from '../lib/config';
import { renderGitlabConfig } from '../lib/gitlab-rb';
import { deriveTopology } from '../lib/topology';
import { flattenConfig, stackConfig, TEST_MASTER_SECRET } from './helpers/program';

const settings = (rb: string) => rb.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

function topologyOf(stack: string, extra: Record<string, unknown> = {}) {
  const all = { ...stackConfig(stack), ...flattenConfig(extra), 'kytes:masterSecret': TEST_MASTER_SECRET };
  const config = parseConfig(all, (k) => k === 'kytes:masterSecret');
  return { config, t: deriveTopology(config, stack) };
}

describe('GITLAB_OMNIBUS_CONFIG', () => {
  it('prod instance girofle: external DB and Redis, proxy, SSH and no secret', () => {
    const { t } = topologyOf('prod');
    const g = t.gitlab.find((x) => x.name === 'girofle')!;
    expect(settings(renderGitlabConfig(t, g))).toEqual([
      "external_url 'https://girofle.kytes.io'",
      "letsencrypt['enable'] = false",
      "gitlab_rails['nginx']['listen_port'] = 80",
      "gitlab_rails['nginx']['listen_https'] = false",
      `gitlab_rails['nginx']['real_ip_trusted_addresses'] = ['${t.network.subnet}']`,
      "gitlab_rails['nginx']['real_ip_header'] = 'X-Forwarded-For'",
      "gitlab_rails['nginx']['real_ip_recursive'] = 'on'",
      `gitlab_rails['monitoring_whitelist'] = ['127.0.0.0/8', '::1/128', '${t.network.subnet}']`,
      "gitlab_rails['gitlab_ssh_host'] = 'girofle.kytes.io'",
      "gitlab_rails['gitlab_shell_ssh_port'] = 2223",
      "gitlab_rails['time_zone'] = 'Europe/Paris'",
      "gitlab_rails['initial_root_password'] = ENV['GITLAB_ROOT_PASSWORD']",
      "postgresql['enable'] = false",
      "gitlab_rails['db_adapter'] = 'postgresql'",
      "gitlab_rails['db_encoding'] = 'utf8'",
      "gitlab_rails['db_host'] = 'postgres'",
      "gitlab_rails['db_port'] = 5432",
      "gitlab_rails['db_database'] = 'gitlabhq_girofle'",
      "gitlab_rails['db_username'] = 'gitlab_girofle'",
      "gitlab_rails['db_password'] = ENV['KYTES_DB_PASSWORD']",
      "redis['enable'] = false",
      "gitlab_rails['redis_host'] = 'redis-girofle'",
      "gitlab_rails['redis_port'] = 6379",
      "gitlab_rails['redis_password'] = ENV['KYTES_REDIS_PASSWORD']",
      "puma['worker_processes'] = 6",
      "puma['min_threads'] = 4",
      "puma['max_threads'] = 4",
      "sidekiq['concurrency'] = 20",
      "gitlab_rails['backup_keep_time'] = 0",
      "gitlab_rails['gitlab_email_enabled'] = false",
    ]);
  });

  it('never sets trusted_proxies: omnibus takes them from the real-IP trusted addresses', () => {
    const { t } = topologyOf('prod');
    expect(
      t.gitlab.map((g) => [g.name, settings(renderGitlabConfig(t, g)).filter((l) => l.includes('trusted_proxies'))]),
    ).toEqual([
      ['main', []],
      ['girofle', []],
    ]);
  });

  it.each([
    ['gitlab/gitlab-ce:19.1.6-ce.0', 'nginx'],
    ['gitlab/gitlab-ce:19.2.0-ce.0', "gitlab_rails['nginx']"],
    ['gitlab/gitlab-ce:18.11.3-ce.0', 'nginx'],
  ])('%s gets the nginx keys under %s', (image, prefix) => {
    const { t } = topologyOf('prod', {
      'kytes:images': { gitlab: image, postgres: image.includes(':18.') ? 'postgres:16.9' : 'postgres:17.11' },
    });
    const lines = settings(renderGitlabConfig(t, t.gitlab[0]));
    const nginx = lines.filter((l) => /\['(listen_port|listen_https|real_ip_[a-z_]+)'\]/.test(l));
    expect(nginx.map((l) => l.slice(0, l.indexOf('['))).join(',')).toBe(
      Array(5)
        .fill(prefix === 'nginx' ? 'nginx' : 'gitlab_rails')
        .join(','),
    );
    expect(nginx.every((l) => l.startsWith(`${prefix}[`))).toBe(true);
  });

  it('a digest-pinned GitLab takes the key style from kytes:images.versions.gitlab', () => {
    const { t } = topologyOf('prod', {
      'kytes:images': { gitlab: `gitlab/gitlab-ce@sha256:${'ab'.repeat(32)}`, versions: { gitlab: '19.1.6' } },
    });
    expect(renderGitlabConfig(t, t.gitlab[0])).toContain("\nnginx['listen_port'] = 80\n");
  });

  it('constrained profile: Puma single mode, 10 Sidekiq threads, the memory-constrained settings', () => {
    const { t } = topologyOf('dev');
    const lines = settings(renderGitlabConfig(t, t.gitlab[0]));
    expect(lines.filter((l) => /^(puma|sidekiq)\[/.test(l))).toEqual([
      "puma['worker_processes'] = 0",
      "puma['min_threads'] = 4",
      "puma['max_threads'] = 4",
      "sidekiq['concurrency'] = 10",
    ]);
    expect(lines.slice(-3)).toEqual([
      "prometheus_monitoring['enable'] = false",
      "gitlab_rails['env'] = { 'MALLOC_CONF' => 'dirty_decay_ms:1000,muzzy_decay_ms:1000' }",
      "gitaly['env'] = { 'MALLOC_CONF' => 'dirty_decay_ms:1000,muzzy_decay_ms:1000', 'GITALY_COMMAND_SPAWN_MAX_PARALLEL' => '2' }",
    ]);
  });

  it('https behind a TLS proxy: https URLs without the internal port', () => {
    const { t } = topologyOf('prod', { 'kytes:proxy': { httpPort: 8080, publicScheme: 'https' } });
    expect(settings(renderGitlabConfig(t, t.gitlab[0]))[0]).toBe("external_url 'https://gitlab.kytes.io'");
  });
});

describe('topology', () => {
  it('prod: names, ports, hostnames and ops paths', () => {
    const { t } = topologyOf('prod');
    expect(t.prefix).toBe('kytes-prod');
    expect(t.docker).toEqual({
      url: 'ssh://deploy@docker1.kytes.io',
      kind: 'ssh',
      socket: '/var/run/docker.sock',
      ssh: { user: 'deploy', host: 'docker1.kytes.io', port: 22, options: [] },
    });
    expect(
      t.gitlab.map((g) => [
        g.container,
        g.alias,
        g.hostname,
        g.externalUrl,
        g.sshCloneHost,
        g.database.name,
        g.redis.alias,
      ]),
    ).toEqual([
      [
        'kytes-prod-gitlab-main',
        'gitlab-main',
        'gitlab.kytes.io',
        'https://gitlab.kytes.io',
        'gitlab.kytes.io:2222',
        'gitlabhq_main',
        'redis-main',
      ],
      [
        'kytes-prod-gitlab-girofle',
        'gitlab-girofle',
        'girofle.kytes.io',
        'https://girofle.kytes.io',
        'girofle.kytes.io:2223',
        'gitlabhq_girofle',
        'redis-girofle',
      ],
    ]);
    expect(t.mongo!.members.map((m) => m.host)).toEqual(['mongo-0:27017', 'mongo-1:27017', 'mongo-2:27017']);
    expect(t.rocketchat!.rootUrl).toBe('https://rocketchat.kytes.io');
    expect(t.ops).toEqual({
      backupDir: '/var/backups/kytes/kytes-prod',
      scriptsDir: '/opt/kytes/kytes-prod',
      cronFile: '/etc/cron.d/kytes-kytes-prod',
      schedule: '0 */4 * * *',
      invocationLog: '/var/backups/kytes/kytes-prod/invocations.jsonl',
      resticPasswordFile: '/etc/kytes/kytes-prod/restic-password',
      cronLog: '/var/backups/kytes/kytes-prod/cron.log',
      alertFile: '/etc/kytes/kytes-prod/backup-alert.curl',
      alertFormat: 'rocketchat',
    });
    expect(t.published).toEqual([
      { owner: 'kytes:proxy.httpPort', bindAddress: '0.0.0.0', port: 80 },
      { owner: 'kytes:proxy.httpsPort', bindAddress: '0.0.0.0', port: 443 },
      { owner: 'kytes:gitlab.instances[0].sshPort', bindAddress: '0.0.0.0', port: 2222 },
      { owner: 'kytes:gitlab.instances[1].sshPort', bindAddress: '0.0.0.0', port: 2223 },
    ]);
  });

  it('the same port on two different specific addresses is no conflict', () => {
    const { t } = topologyOf('dev', {
      'kytes:proxy': { httpPort: 2222, bindAddress: '127.0.0.2' },
      'kytes:gitlab': { instances: [{ name: 'main', sshPort: 2222 }], sshBindAddress: '127.0.0.1' },
    });
    expect(t.published.map((p) => p.port)).toEqual([2222, 2222]);
  });

  it('rocketchat off: no Mongo, no Rocket.Chat server block', () => {
    const { t } = topologyOf('dev', { 'kytes:rocketchat': { enabled: false } });
    expect(t.mongo).toBeUndefined();
    expect(t.nginx.servers.map((s) => s.serverName)).toEqual(['gitlab.kytes.localhost']);
  });
});
