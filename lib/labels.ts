/**
 * The Docker labels the guard-rails pack reads. The Kytes program sets them and the pack (policies/) checks them,
 * so both sides import the keys from here (this file has no dependencies; the program may import it).
 */
export const LABELS = {
  /** Which Kytes service a container runs; one of {@link SERVICES}. */
  service: 'kytes.service',
  /**
   * On a `docker.Volume`: `"true"` when the volume was created with `retainOnDelete: true`. The policy
   * engine cannot see resource options, so the volume helper sets the option and this label together.
   */
  retainOnDelete: 'kytes.retain-on-delete',
  /**
   * On a container: comma-separated names of the env vars whose values are Pulumi secrets
   * (`POSTGRES_PASSWORD,MONGO_URL`). A policy receives secrets as plain text, so this is the program's
   * declaration; the unit tests prove each declared value really is a Pulumi secret.
   */
  secretEnv: 'kytes.secret-env',
} as const;

export const SERVICES = ['postgres', 'redis', 'gitlab', 'mongo', 'rocketchat', 'nginx'] as const;
export type Service = (typeof SERVICES)[number];

/** The services that hold data only Kytes' own containers may reach. */
export const DATABASES: readonly Service[] = ['postgres', 'redis', 'mongo'];

export const SERVICE_NAMES: Readonly<Record<Service, string>> = {
  postgres: 'PostgreSQL',
  redis: 'Redis',
  gitlab: 'GitLab',
  mongo: 'MongoDB',
  rocketchat: 'Rocket.Chat',
  nginx: 'nginx',
};
