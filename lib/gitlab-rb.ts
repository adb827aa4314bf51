import { gitlabSmtpView } from './mail';
import { renderTemplate } from './render';
import { GitlabInstanceTopology, Topology } from './topology';

/** Environment variables the GitLab container gets its secrets from (gitlab.rb reads them with ENV[]). */
export const GITLAB_SECRET_ENV = {
  dbPassword: 'KYTES_DB_PASSWORD',
  redisPassword: 'KYTES_REDIS_PASSWORD',
  rootPassword: 'GITLAB_ROOT_PASSWORD',
  smtpPassword: 'KYTES_SMTP_PASSWORD',
} as const;

/** The GITLAB_OMNIBUS_CONFIG of one instance. Contains no secret: it names the variables that hold them. */
export function renderGitlabConfig(
  t: Topology,
  g: GitlabInstanceTopology,
  memoryProfile: 'constrained' | 'standard',
): string {
  return renderTemplate('gitlab.rb.hbs', {
    externalUrl: g.externalUrl,
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
    redisHost: t.redis.alias,
    redisPort: t.redis.port,
    redisDatabase: g.redisDatabase,
    redisPasswordEnv: GITLAB_SECRET_ENV.redisPassword,
    constrained: memoryProfile === 'constrained',
    smtp: gitlabSmtpView(t.mail, g.hostname, GITLAB_SECRET_ENV.smtpPassword),
  });
}
