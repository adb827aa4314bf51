import { renderTemplate } from './render';
import { argvOperand, jsLiteral } from './sinks';
import { MongoTopology, RocketchatTopology } from './topology';

/** Environment variable names carrying Mongo passwords into containers and `docker exec`. */
export const MONGO_SECRET_ENV = {
  rootPassword: 'KYTES_MONGO_ROOT_PASSWORD',
  appPassword: 'KYTES_MONGO_APP_PASSWORD',
} as const;
/** Root user name in every member's environment, for ops scripts (mongodump/mongorestore). */
export const MONGO_ROOT_USER_ENV = 'KYTES_MONGO_ROOT_USERNAME';

/**
 * Open files for mongod: MongoDB's recommended `nofile` of 64000 (docs "UNIX ulimit Settings"); it holds
 * two descriptors per connection plus one per data and journal file. Docker's default is the daemon's.
 */
export const MONGOD_NOFILE = 64000;

/** The `mongod` command line of a member: same replica-set name and keyfile everywhere (rule 6). */
export function mongodCommand(m: MongoTopology): string[] {
  return [
    'mongod',
    '--replSet',
    argvOperand(m.replicaSet, 'replica-set name'),
    '--bind_ip_all',
    '--port',
    String(m.port),
    '--keyFile',
    argvOperand(m.keyfilePath, 'keyfile path'),
  ];
}

/** mongosh code for the idempotent initiation; see templates/mongo-init.js.hbs. */
export function renderMongoInit(m: MongoTopology, timeoutSeconds = 300): string {
  return renderTemplate('mongo-init.js.hbs', {
    replicaSet: m.replicaSet,
    members: m.members.map((x) => x.host),
    rootUser: m.rootUser,
    appUser: m.appUser,
    appDatabase: m.appDatabase,
    port: m.port,
    timeoutSeconds,
    rootPasswordEnv: MONGO_SECRET_ENV.rootPassword,
    appPasswordEnv: MONGO_SECRET_ENV.appPassword,
  });
}

/** Healthy = a member of *this* replica set in PRIMARY or SECONDARY state; `ping` says yes too early. */
export function mongoHealthcheck(m: MongoTopology): string[] {
  const js = `const h = db.hello(); quit(h.setName === ${jsLiteral(m.replicaSet)} && (h.isWritablePrimary || h.secondary) ? 0 : 1)`;
  return ['CMD', 'mongosh', '--quiet', '--port', String(m.port), '--eval', js];
}

/** Rocket.Chat's MONGO_URL: every member by alias, the replica-set name, credentials. Secret. */
export function rocketchatMongoUrl(m: MongoTopology, password: string): string {
  const hosts = m.members.map((x) => x.host).join(',');
  const q = encodeURIComponent;
  return `mongodb://${q(m.appUser)}:${q(password)}@${hosts}/${q(m.appDatabase)}?replicaSet=${q(m.replicaSet)}&authSource=admin`;
}

/** Rocket.Chat image has no curl: probe with its own node. */
export function rocketchatHealthcheck(rc: RocketchatTopology): string[] {
  const js = `require('http').get('http://127.0.0.1:${rc.port}/livez', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))`;
  return ['CMD', 'node', '-e', js];
}
