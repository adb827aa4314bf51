import fc from 'fast-check';
import { GITLAB_PG_EXTENSIONS, postgresPasswordEnv, renderPostgresSetup } from '../lib/postgres-setup';
import { stackValues, stackValuesArb, topologyOf } from './integration/fixtures/nginx/stacks';

const PROPERTY_RUNS = 200;

const prod = topologyOf(stackValues('prod'), 'prod');
const sql = renderPostgresSetup(prod);
const lines = sql.split('\n');

describe('postgresPasswordEnv', () => {
  it('upper-cases the instance name and turns "-" into "_"', () => {
    expect(['main', 'girofle', 'team-a', 'a1-b2-c3'].map(postgresPasswordEnv)).toEqual([
      'KYTES_PG_PASSWORD_MAIN',
      'KYTES_PG_PASSWORD_GIROFLE',
      'KYTES_PG_PASSWORD_TEAM_A',
      'KYTES_PG_PASSWORD_A1_B2_C3',
    ]);
  });
});

describe('renderPostgresSetup on Pulumi.prod.yaml', () => {
  it('lists the four extensions GitLab 19 needs', () => {
    expect(GITLAB_PG_EXTENSIONS).toEqual(['pg_trgm', 'btree_gist', 'plpgsql', 'amcheck']);
  });

  it('reads each password from its environment variable and sets it every run', () => {
    expect(lines.filter((l) => l.startsWith('\\getenv'))).toEqual([
      '\\getenv kytes_pg_password_main KYTES_PG_PASSWORD_MAIN',
      '\\getenv kytes_pg_password_girofle KYTES_PG_PASSWORD_GIROFLE',
    ]);
    expect(lines.filter((l) => l.startsWith('ALTER ROLE'))).toEqual([
      `ALTER ROLE "gitlab_main" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'kytes_pg_password_main';`,
      `ALTER ROLE "gitlab_girofle" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'kytes_pg_password_girofle';`,
    ]);
  });

  it('creates roles and databases only when missing, and keeps each database owned by its role', () => {
    expect(lines.filter((l) => /^SELECT format\('CREATE (ROLE|DATABASE)/.test(l))).toEqual([
      `SELECT format('CREATE ROLE %I', 'gitlab_main')`,
      `SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING %L', 'gitlabhq_main', 'gitlab_main', 'UTF8')`,
      `SELECT format('CREATE ROLE %I', 'gitlab_girofle')`,
      `SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING %L', 'gitlabhq_girofle', 'gitlab_girofle', 'UTF8')`,
    ]);
    expect(lines.filter((l) => / WHERE NOT EXISTS /.test(l))).toEqual([
      ` WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'gitlab_main') \\gexec`,
      ` WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = 'gitlabhq_main') \\gexec`,
      ` WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'gitlab_girofle') \\gexec`,
      ` WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = 'gitlabhq_girofle') \\gexec`,
    ]);
    expect(lines.filter((l) => l.startsWith('ALTER DATABASE'))).toEqual([
      'ALTER DATABASE "gitlabhq_main" OWNER TO "gitlab_main";',
      'ALTER DATABASE "gitlabhq_girofle" OWNER TO "gitlab_girofle";',
    ]);
  });

  it('creates the extensions in each GitLab database', () => {
    const connectAndCreate = lines.filter((l) => l.startsWith('\\connect') || l.startsWith('CREATE EXTENSION'));
    expect(connectAndCreate).toEqual(
      ['gitlabhq_main', 'gitlabhq_girofle'].flatMap((db) => [
        `\\connect "${db}"`,
        ...GITLAB_PG_EXTENSIONS.map((e) => `CREATE EXTENSION IF NOT EXISTS "${e}";`),
      ]),
    );
  });

  it('stops on the first error and refuses an isolation level other than read committed', () => {
    expect(lines.filter((l) => l.startsWith('\\set'))).toEqual(['\\set ON_ERROR_STOP on']);
    expect(sql.match(/IF current_setting\('default_transaction_isolation'\) <> 'read committed' THEN/g)).toHaveLength(
      2,
    );
  });

  it('never contains a password, whatever the environment holds when it is rendered', () => {
    const marker = 'pw-marker-7f3a9c1e';
    const saved = process.env.KYTES_PG_PASSWORD_MAIN;
    process.env.KYTES_PG_PASSWORD_MAIN = marker;
    try {
      const withEnv = renderPostgresSetup(prod);
      expect(withEnv).toBe(sql);
      expect(withEnv.includes(marker)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.KYTES_PG_PASSWORD_MAIN;
      else process.env.KYTES_PG_PASSWORD_MAIN = saved;
    }
  });
});

describe('renderPostgresSetup on generated configs', () => {
  it(`sets up exactly the topology's GitLab roles and databases (${PROPERTY_RUNS} runs)`, () => {
    fc.assert(
      fc.property(stackValuesArb, (values) => {
        const t = topologyOf(values, 'gen');
        const out = renderPostgresSetup(t).split('\n');
        const envs = t.gitlab.map((g) => postgresPasswordEnv(g.name));
        expect(new Set(envs).size).toBe(envs.length);
        expect(out.filter((l) => l.startsWith('\\getenv')).map((l) => l.split(' ')[2])).toEqual(envs);
        expect(out.filter((l) => l.startsWith('ALTER DATABASE'))).toEqual(
          t.gitlab.map((g) => `ALTER DATABASE "${g.database.name}" OWNER TO "${g.database.user}";`),
        );
        expect(out.filter((l) => l.startsWith('\\connect'))).toEqual(
          t.gitlab.map((g) => `\\connect "${g.database.name}"`),
        );
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});
