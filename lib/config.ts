import { z } from 'zod';

/**
 * The whole user-facing configuration of a Kytes stack, under the `kytes:` namespace of Pulumi config.
 * Parsed once, before any resource exists ({@link parseConfig}); everything else is derived from it by
 * `lib/topology.ts`. Each field's `.describe()` text is the config reference in the README
 * (`npm run docs:config`), so the reference cannot drift from the schema.
 */

/** A DNS label: what Docker accepts as a container-name part and what nginx accepts in a hostname. */
const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A lower-case fully qualified name made of DNS labels (`gitlab.kytes.io`, `kytes.localhost`). */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** repository[:tag][@sha256:digest]; the pin rule (tag or digest, never `latest`) is checked separately. */
const IMAGE_REF =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
/** Five-field cron: minute hour day-of-month month day-of-week. */
const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;

const port = (what: string) =>
  z
    .number({ error: `a whole number from 1 to 65535 (${what})` })
    .int({ error: `a whole number from 1 to 65535 (${what})` })
    .min(1, { error: `a whole number from 1 to 65535 (${what})` })
    .max(65535, { error: `a whole number from 1 to 65535 (${what})` });

const hostname = z.string().regex(HOSTNAME, {
  error: 'a lower-case DNS name with at least one dot, such as gitlab.example.com',
});

const bindAddress = z.string().regex(IPV4, { error: 'an IPv4 address such as 127.0.0.1 or 0.0.0.0' });

/** An image reference pinned by tag or digest; `latest` and missing tags are refused. */
export function isPinnedImage(ref: string): boolean {
  if (!IMAGE_REF.test(ref)) return false;
  if (ref.includes('@sha256:')) return true;
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return false;
  return lastSegment.slice(colon + 1) !== 'latest';
}

const image = (defaultRef: string) =>
  z
    .string()
    .refine(isPinnedImage, {
      error: 'an image pinned by tag or digest, such as postgres:17.6-bookworm (never latest, never untagged)',
    })
    .default(defaultRef)
    .describe(`Image reference, pinned. Default \`${defaultRef}\`.`);

function isCron(expr: string): boolean {
  const fields = expr.trim().split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz.length > 0;
  } catch {
    return false;
  }
}

export const DEFAULT_IMAGES = {
  gitlab: 'gitlab/gitlab-ce:19.3.0-ce.0',
  postgres: 'postgres:17.10-bookworm',
  redis: 'redis:7.4.7-bookworm',
  mongo: 'mongo:8.0.16-noble',
  rocketchat: 'rocketchat/rocket.chat:8.6.0',
  nginx: 'nginx:1.30.0-bookworm',
} as const;

const gitlabInstance = z
  .strictObject({
    name: z
      .string()
      .regex(DNS_LABEL, {
        error: 'a DNS label: lower-case letters, digits and "-", starting with a letter, at most 63',
      })
      .describe('Instance name, a DNS label. Names its container, volumes, database and default hostname.'),
    hostname: hostname
      .optional()
      .describe('Public hostname. Default: `gitlab.<domain>` for `main`, `gitlab-<name>.<domain>` otherwise.'),
    sshPort: port('the host port published for Git over SSH').describe(
      'Host port published for Git over SSH; also the port GitLab advertises in clone URLs.',
    ),
  })
  .describe('One GitLab CE instance. Adding an entry commissions it; removing one decommissions it.');

export const configSchema = z
  .strictObject({
    domain: hostname
      .default('kytes.localhost')
      .describe('Base domain; service hostnames default to names under it. Default `kytes.localhost`.'),
    prefix: z
      .string()
      .regex(DNS_LABEL, { error: 'a DNS label: lower-case letters, digits and "-", starting with a letter' })
      .optional()
      .describe(
        'Prefix of every container, volume and network name. Default `kytes-<stack>`. Changing it orphans the volumes.',
      ),
    timezone: z
      .string()
      .refine(isTimeZone, { error: 'an IANA time zone such as UTC or Europe/Paris' })
      .default('UTC')
      .describe('Time zone of the containers and of the backup schedule. Default `UTC`.'),
    memoryProfile: z
      .enum(['constrained', 'standard'], { error: 'one of constrained, standard' })
      .default('standard')
      .describe(
        "`constrained` applies GitLab's memory-constrained settings (a laptop); `standard` is for a server. Default `standard`.",
      ),
    docker: z
      .strictObject({
        host: z
          .string()
          .regex(/^(unix:\/\/\/.+|ssh:\/\/([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(:\d{1,5})?)$/, {
            error: 'unix:///path/to/docker.sock or ssh://user@host[:port]',
          })
          .default('unix:///var/run/docker.sock')
          .describe(
            'Docker engine to deploy to. Default `unix:///var/run/docker.sock`; `ssh://user@host[:port]` for a remote host.',
          ),
        sshOpts: z
          .array(z.string())
          .default([])
          .describe('Extra ssh options for an `ssh://` host, e.g. `["-i", "~/.ssh/kytes"]`. Default none.'),
      })
      .default({ host: 'unix:///var/run/docker.sock', sshOpts: [] })
      .describe('Where the containers run.'),
    network: z
      .strictObject({
        name: z
          .string()
          .regex(DNS_LABEL, { error: 'a DNS label' })
          .optional()
          .describe('Name of the user-defined bridge network. Default: the prefix.'),
        subnet: z
          .string()
          .regex(/^(10|172|192)\.\d{1,3}\.\d{1,3}\.0\/(1[6-9]|2[0-4])$/, {
            error: 'a private IPv4 CIDR from /16 to /24 such as 172.28.5.0/24',
          })
          .optional()
          .describe(
            'Subnet of the network; GitLab trusts it as its proxy and health-check source. Default: a /24 in 172.18–31 derived from the prefix.',
          ),
      })
      .default({})
      .describe('The one bridge network every service joins.'),
    proxy: z
      .strictObject({
        httpPort: port('the host port nginx is published on')
          .default(80)
          .describe('Host port nginx is published on; also its listen port inside the container. Default 80.'),
        bindAddress: bindAddress
          .default('0.0.0.0')
          .describe('Host address nginx is published on. Default `0.0.0.0`; `127.0.0.1` keeps it local.'),
        publicScheme: z
          .enum(['http', 'https'], { error: 'one of http, https' })
          .default('http')
          .describe('Scheme users see. `https` when TLS is terminated in front of Kytes. Default `http`.'),
        publicPort: port('the port users see in URLs')
          .optional()
          .describe('Port users see in URLs. Default: `httpPort` for http, 443 for https.'),
      })
      .default({ httpPort: 80, bindAddress: '0.0.0.0', publicScheme: 'http' })
      .describe('The nginx reverse proxy in front of every web service.'),
    gitlab: z
      .strictObject({
        instances: z
          .array(gitlabInstance)
          .min(1, { error: 'at least one GitLab instance' })
          .max(16, { error: 'at most 16 instances (one Redis database each)' })
          .default([{ name: 'main', sshPort: 2222 }])
          .describe('GitLab instances. Default one instance `main` with SSH on 2222.'),
        sshBindAddress: bindAddress
          .default('0.0.0.0')
          .describe('Host address GitLab SSH ports are published on. Default `0.0.0.0`.'),
        startTimeoutMinutes: z
          .number()
          .int()
          .min(5, { error: 'at least 5 (GitLab takes minutes to start)' })
          .max(120, { error: 'at most 120' })
          .default(30)
          .describe('How long `pulumi up` waits for a GitLab container to become healthy. Default 30.'),
      })
      .default({ instances: [{ name: 'main', sshPort: 2222 }], sshBindAddress: '0.0.0.0', startTimeoutMinutes: 30 })
      .describe('GitLab CE instances sharing PostgreSQL and Redis.'),
    rocketchat: z
      .strictObject({
        enabled: z.boolean({ error: 'true or false' }).default(true).describe('Deploy Rocket.Chat. Default true.'),
        hostname: hostname.optional().describe('Public hostname. Default `rocketchat.<domain>`.'),
      })
      .default({ enabled: true })
      .describe('Rocket.Chat and its MongoDB replica set.'),
    mongo: z
      .strictObject({
        replicaSet: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'letters, digits, "_" or "-", at most 64' })
          .default('rs0')
          .describe('Replica-set name, used by every member, the initiation and the Rocket.Chat URL. Default `rs0`.'),
        members: z
          .number()
          .int()
          .refine((n) => [1, 3, 5, 7].includes(n), { error: 'one of 1, 3, 5, 7 (an odd number keeps a majority)' })
          .default(1)
          .describe('Replica-set members: 1, 3, 5 or 7. Default 1 (dev); 3 for production.'),
      })
      .default({ replicaSet: 'rs0', members: 1 })
      .describe('MongoDB replica set for Rocket.Chat. Never published on the host.'),
    images: z
      .strictObject({
        gitlab: image(DEFAULT_IMAGES.gitlab),
        postgres: image(DEFAULT_IMAGES.postgres),
        redis: image(DEFAULT_IMAGES.redis),
        mongo: image(DEFAULT_IMAGES.mongo),
        rocketchat: image(DEFAULT_IMAGES.rocketchat),
        nginx: image(DEFAULT_IMAGES.nginx),
      })
      .default({ ...DEFAULT_IMAGES })
      .describe('Pinned images. A restore needs exactly the GitLab version that made the backup.'),
    admin: z
      .strictObject({
        username: z
          .string()
          .regex(/^[a-z][a-z0-9._-]{1,31}$/, { error: '2–32 characters: lower-case letters, digits, ".", "_", "-"' })
          .default('kytes-admin')
          .describe("Rocket.Chat administrator user name (GitLab's is always `root`). Default `kytes-admin`."),
        name: z
          .string()
          .min(1)
          .max(64)
          .default('Kytes Admin')
          .describe('Administrator display name. Default `Kytes Admin`.'),
        email: z
          .string()
          .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { error: 'an e-mail address' })
          .optional()
          .describe('Administrator e-mail. Default `admin@<domain>`.'),
      })
      .default({ username: 'kytes-admin', name: 'Kytes Admin' })
      .describe('Initial administrator identity (first boot only; passwords are derived secrets).'),
    backup: z
      .strictObject({
        schedule: z
          .string()
          .refine(isCron, { error: 'a five-field cron expression such as "0 */4 * * *"' })
          .default('0 */4 * * *')
          .describe('Cron schedule of automatic backups. Default every 4 hours, `0 */4 * * *`.'),
        dir: z
          .string()
          .regex(/^\/[^\s]*$/, { error: 'an absolute path on the Docker host, without spaces' })
          .optional()
          .describe('Backup directory on the Docker host. Default `/var/backups/kytes/<prefix>`.'),
        keepLast: z.number().int().min(1).max(1000).default(6).describe('Keep the newest N backups. Default 6.'),
        keepDaily: z
          .number()
          .int()
          .min(0)
          .max(1000)
          .default(7)
          .describe('Also keep the newest backup of each of the last N days. Default 7.'),
        keepWeekly: z
          .number()
          .int()
          .min(0)
          .max(1000)
          .default(4)
          .describe('Also keep the newest backup of each of the last N weeks. Default 4.'),
        offHost: z
          .string()
          .regex(/^(\/[^\s]*|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\/[^\s]*)$/, {
            error: 'an absolute path (mounted remote storage) or user@host:/path for rsync over SSH',
          })
          .optional()
          .describe('Second location each verified backup is copied to. Default none.'),
        trigger: z
          .string()
          .max(128)
          .optional()
          .describe('Change this value to take an on-demand backup during `pulumi up`.'),
      })
      .default({ schedule: '0 */4 * * *', keepLast: 6, keepDaily: 7, keepWeekly: 4 })
      .describe('Scheduled and on-demand backups.'),
    restore: z
      .strictObject({
        from: z
          .string()
          .regex(/^[0-9]{8}T[0-9]{6}Z(-[a-z0-9]+)?$/, { error: 'a backup id such as 20261122T040000Z' })
          .optional()
          .describe('Backup id to restore during `pulumi up`; setting or changing it runs a restore.'),
      })
      .default({})
      .describe('Restore from a backup.'),
  })
  .describe('Kytes stack configuration');

export type KytesConfig = z.output<typeof configSchema>;
export type KytesConfigInput = z.input<typeof configSchema>;

/** The secret-valued keys. They are read through Pulumi's secret-aware API and never enter the schema above. */
export const SECRET_KEYS = {
  masterSecret: 'masterSecret',
} as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid Kytes configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Renders a config value for an error message without flooding it. Secrets never reach here. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function keyPath(path: readonly PropertyKey[]): string {
  let out = 'kytes:';
  path.forEach((p, i) => {
    if (typeof p === 'number') out += `[${p}]`;
    else out += i === 0 ? String(p) : `.${String(p)}`;
  });
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map(
        (k) =>
          `${keyPath([...issue.path, k])}: received ${show(valueAt(raw, [...issue.path, k]))}; allowed: no such key (check its spelling in the README's config reference)`,
      )
      .join('\n  - ');
  }
  if (issue.code === 'invalid_type') {
    return `${path}: received ${show(valueAt(raw, issue.path))}; allowed: ${issue.message.startsWith('Invalid input') ? issue.expected : issue.message}`;
  }
  return `${path}: received ${show(valueAt(raw, issue.path))}; allowed: ${issue.message}`;
}

/**
 * Turns Pulumi's flat `kytes:<key>` map (objects arrive as JSON strings) into one object and validates
 * it. Throws one {@link ConfigError} listing every problem; returns the typed, defaulted config.
 * Secret keys are ignored here: see {@link SECRET_KEYS}.
 */
export function parseConfig(all: Record<string, string>, isSecret: (key: string) => boolean): KytesConfig {
  const raw: Record<string, unknown> = {};
  const problems: string[] = secretProblems(all, isSecret);
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith('kytes:')) continue;
    const key = fullKey.slice('kytes:'.length);
    if (Object.values(SECRET_KEYS).includes(key as never)) continue;
    raw[key] = decode(value);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    problems.push(...result.error.issues.map((i) => describeIssue(i, raw)));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data as KytesConfig;
}

/** The master secret is checked for presence and strength only; its value is never shown. */
function secretProblems(all: Record<string, string>, isSecret: (key: string) => boolean): string[] {
  const key = `kytes:${SECRET_KEYS.masterSecret}`;
  const value = all[key];
  const set = 'set it with `pulumi config set --secret kytes:masterSecret "$(openssl rand -base64 48)"`';
  if (value === undefined) return [`${key}: received nothing; allowed: a secret of at least 32 characters (${set})`];
  if (!isSecret(key)) return [`${key}: received a plain-text value; allowed: a secret only (${set})`];
  if (value.length < 32)
    return [`${key}: received a secret of ${value.length} characters; allowed: at least 32 (${set})`];
  return [];
}

/** Pulumi hands structured values as JSON text and scalars as plain text. */
function decode(value: string): unknown {
  const t = value.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t);
    } catch {
      return value;
    }
  }
  return value;
}
