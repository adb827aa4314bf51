import { renderTemplate } from './render';
import { commentText, psqlName } from './sinks';
import { PostgresTopology, Topology } from './topology';

/** Extensions GitLab 19 needs in its database (docs.gitlab.com/install/postgresql_extensions). */
export const GITLAB_PG_EXTENSIONS = ['pg_trgm', 'btree_gist', 'plpgsql', 'amcheck'] as const;

/**
 * The server's command line: the image's entrypoint runs `postgres` with these settings
 * (`docker run postgres -c name=value`, docker-library/postgres docker-entrypoint.sh). Numbers only.
 */
export function postgresCommand(pg: PostgresTopology): string[] {
  for (const n of [pg.maxConnections, pg.sharedBuffersMB]) {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`PostgreSQL setting ${n} is not a positive whole number`);
  }
  return ['postgres', '-c', `max_connections=${pg.maxConnections}`, '-c', `shared_buffers=${pg.sharedBuffersMB}MB`];
}

/**
 * Name of the environment variable carrying the PostgreSQL password of GitLab instance `instanceName`
 * when the setup SQL runs: `KYTES_PG_PASSWORD_<NAME>`, upper-case with `-` turned into `_`
 * (`main` → `KYTES_PG_PASSWORD_MAIN`, `team-a` → `KYTES_PG_PASSWORD_TEAM_A`).
 */
export function postgresPasswordEnv(instanceName: string): string {
  return `KYTES_PG_PASSWORD_${instanceName.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The idempotent setup SQL for `psql -v ON_ERROR_STOP=1 -U postgres -d postgres` (on stdin), run after
 * every start: per GitLab instance its login role (password re-set from {@link postgresPasswordEnv}),
 * its database owned by that role, and {@link GITLAB_PG_EXTENSIONS} in it. Needs psql 15+ (`\getenv`).
 */
export function renderPostgresSetup(t: Topology): string {
  // Names also appear bare in comments, psql meta-commands and message texts of the template, so
  // they are validated as plain words (psqlName) as well as quoted where SQL reads them.
  return renderTemplate('postgres-setup.sql.hbs', {
    superuser: psqlName(t.postgres.superuser),
    extensions: [...GITLAB_PG_EXTENSIONS],
    instances: t.gitlab.map((g) => {
      const envVar = psqlName(postgresPasswordEnv(g.name));
      return {
        instance: commentText(g.name),
        user: psqlName(g.database.user),
        database: psqlName(g.database.name),
        envVar,
        psqlVar: envVar.toLowerCase(),
        // Built here: `{?name}` next to a closing `}}` would read as a Handlebars triple-stash.
        psqlVarIsSet: `:{?${envVar.toLowerCase()}}`,
      };
    }),
  });
}
