import { gitlabSmtpView } from './mail';
import { renderTemplate } from './render';
import { GitlabInstanceTopology, Topology } from './topology';
import { atLeast } from './versions';

/** Environment variables the GitLab container gets its secrets from (gitlab.rb reads them with ENV[]). */
export const GITLAB_SECRET_ENV = {
  dbPassword: 'KYTES_DB_PASSWORD',
  redisPassword: 'KYTES_REDIS_PASSWORD',
  rootPassword: 'GITLAB_ROOT_PASSWORD',
  smtpPassword: 'KYTES_SMTP_PASSWORD',
} as const;

/**
 * From 19.2 omnibus reads the Rails vhost settings from `gitlab_rails['nginx'][…]` and translates the old
 * `nginx['listen_port'|'listen_https'|'real_ip_*']` with a deprecation warning on every reconfigure
 * (files/gitlab-cookbooks/gitlab/libraries/gitlab_rails.rb `translate_client_settings`, absent in 19.1).
 */
export const RAILS_NGINX_KEYS_SINCE = { major: 19, minor: 2 } as const;

/** The hash that holds GitLab's own nginx settings for this GitLab version. */
export function railsNginxKey(g: Pick<GitlabInstanceTopology, 'version'>): string {
  return atLeast(g.version, RAILS_NGINX_KEYS_SINCE.major, RAILS_NGINX_KEYS_SINCE.minor)
    ? "gitlab_rails['nginx']"
    : 'nginx';
}

/** The GITLAB_OMNIBUS_CONFIG of one instance. Contains no secret: it names the variables that hold them. */
export function renderGitlabConfig(t: Topology, g: GitlabInstanceTopology): string {
  return renderTemplate('gitlab.rb.hbs', {
    externalUrl: g.externalUrl,
    nginx: railsNginxKey(g),
    httpPort: g.httpPort,
    subnet: t.network.subnet,
    sshHost: g.hostname,
    sshPort: g.sshPort,
    timezone: t.timezone,
    rootPasswordEnv: GITLAB_SECRET_ENV.rootPassword,
    dbHost: t.postgres.alias,
    dbPort: t.postgres.port,
    dbName: g.database.name,
    dbUser: g.database.user,
    dbPasswordEnv: GITLAB_SECRET_ENV.dbPassword,
    redisHost: g.redis.alias,
    redisPort: g.redis.port,
    redisPasswordEnv: GITLAB_SECRET_ENV.redisPassword,
    pumaWorkers: g.tuning.pumaWorkers,
    pumaThreads: g.tuning.pumaThreads,
    sidekiqConcurrency: g.tuning.sidekiqConcurrency,
    constrained: g.memoryProfile === 'constrained',
    smtp: gitlabSmtpView(t.mail, g.hostname, GITLAB_SECRET_ENV.smtpPassword),
  });
}
