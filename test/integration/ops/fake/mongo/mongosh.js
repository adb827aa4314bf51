#!/usr/bin/env node
'use strict';
/**
 * Stand-in mongosh: runs the given JavaScript (--eval, or stdin through `--eval "$(cat)"`) with the parts
 * of the mongosh API Kytes' scripts use, against the stand-in mongod: `db`, `new Mongo(uri)`,
 * `getDB`, `getSiblingDB`, `runCommand` / `adminCommand` (a failed command throws MongoServerError, as
 * mongosh does), `auth` (throws on bad credentials), `hello`, `createUser`, `updateUser`, `getUser`,
 * `dropDatabase` (users live in admin and stay), `getCollectionNames`, collections (`insertOne`,
 * `find().toArray()`, `findOne`, `countDocuments`), `rs.status/conf/initiate`, `print`, `sleep`, `quit`,
 * `process.env`. Calls are synchronous, as in mongosh.
 */
const util = require('util');
const vm = require('vm');
const { MongoServerError, parseMongoUrl, requestSync, splitHost } = require('./wire');

function usage(msg) {
  process.stderr.write(`MongoshInvalidInputError: ${msg}\n`);
  process.exit(1);
}

const args = {
  evals: [],
  nodb: false,
  port: undefined,
  host: undefined,
  uri: undefined,
  user: undefined,
  password: undefined,
  authDb: undefined,
};
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? a.split(/=(.*)/s) : [a, undefined];
    const value = () => (inline !== undefined ? inline : (argv[++i] ?? usage(`${flag} needs a value`)));
    switch (flag) {
      case '--quiet':
      case '--norc':
      case '--nodb':
        if (flag === '--nodb') args.nodb = true;
        break;
      case '--eval':
        args.evals.push(value());
        break;
      case '--port':
        args.port = Number(value());
        break;
      case '--host':
        args.host = value();
        break;
      case '-u':
      case '--username':
        args.user = value();
        break;
      case '-p':
      case '--password':
        args.password = value();
        break;
      case '--authenticationDatabase':
        args.authDb = value();
        break;
      default:
        if (flag.startsWith('-')) usage(`Unknown option: ${flag}`);
        if (args.uri) usage(`unexpected argument ${flag}`);
        args.uri = flag;
    }
  }
}

class Connection {
  constructor(uri) {
    const u = uri.startsWith('mongodb://') ? parseMongoUrl(uri) : { hosts: [uri], database: 'test', options: {} };
    this.database = u.database;
    this.credentials = undefined;
    let lastError;
    for (const h of u.hosts) {
      const [host, port] = splitHost(h);
      try {
        const hello = requestSync(
          host,
          port,
          { db: 'admin', cmd: { hello: 1 } },
          Number(u.options.serverSelectionTimeoutMS || 10000),
        );
        if (u.hosts.length > 1 && u.options.directConnection !== 'true' && !hello.isWritablePrimary) continue;
        this.host = host;
        this.port = port;
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (!this.host) throw lastError || new Error(`MongoServerSelectionError: no primary among ${u.hosts.join(', ')}`);
    if (u.user !== undefined) this.login(u.options.authSource || u.database, u.user, u.password);
  }
  command(db, cmd) {
    const body = { db, cmd, ...(this.credentials ? { auth: this.credentials } : {}) };
    const reply = requestSync(this.host, this.port, body);
    if (reply.ok !== 1) throw new MongoServerError(reply);
    return reply;
  }
  login(db, user, pwd) {
    const reply = requestSync(this.host, this.port, { db, cmd: { authenticate: 1, user, pwd, db } });
    if (reply.ok !== 1) throw new MongoServerError(reply);
    this.credentials = { user, pwd, db };
    return { ok: 1 };
  }
  getDB(name) {
    return makeDb(this, name);
  }
}

function Mongo(uri = 'mongodb://127.0.0.1:27017') {
  return new Connection(uri);
}

function makeCollection(conn, db, name) {
  const find = (filter = {}) => {
    const docs = conn.command(db, { find: name, filter }).cursor.firstBatch;
    return { toArray: () => docs, [Symbol.iterator]: () => docs[Symbol.iterator]() };
  };
  return {
    insertOne: (doc) => (conn.command(db, { insert: name, documents: [doc] }), { acknowledged: true }),
    insertMany: (docs) => (conn.command(db, { insert: name, documents: docs }), { acknowledged: true }),
    find,
    findOne: (filter = {}) => find(filter).toArray()[0] ?? null,
    countDocuments: (query = {}) => conn.command(db, { count: name, query }).n,
    deleteMany: (q = {}) => conn.command(db, { delete: name, deletes: [{ q, limit: 0 }] }),
    updateOne: (q, u, o = {}) => conn.command(db, { update: name, updates: [{ q, u, upsert: Boolean(o.upsert) }] }),
  };
}

function makeDb(conn, name) {
  const api = {
    getName: () => name,
    getMongo: () => conn,
    getSiblingDB: (other) => makeDb(conn, other),
    runCommand: (cmd) => conn.command(name, cmd),
    adminCommand: (cmd) => conn.command('admin', cmd),
    auth: (user, pwd) =>
      typeof user === 'object' ? conn.login(name, user.user, user.pwd) : conn.login(name, user, pwd),
    hello: () => conn.command(name, { hello: 1 }),
    version: () => conn.command('admin', { buildInfo: 1 }).version,
    createUser: (doc) => conn.command(name, { createUser: doc.user, pwd: doc.pwd, roles: doc.roles ?? [] }),
    updateUser: (user, doc) => conn.command(name, { updateUser: user, ...doc }),
    getUser: (user) => conn.command(name, { usersInfo: user }).users[0] ?? null,
    getCollection: (coll) => makeCollection(conn, name, coll),
    getCollectionNames: () => conn.command(name, { listCollections: 1 }).cursor.firstBatch.map((c) => c.name),
    dropDatabase: () => conn.command(name, { dropDatabase: 1 }),
  };
  return new Proxy(api, { get: (t, p) => (p in t || typeof p !== 'string' ? t[p] : makeCollection(conn, name, p)) });
}

function format(v) {
  return typeof v === 'string' ? v : util.inspect(v, { depth: 6 });
}

const context = {
  print: (...xs) => {
    process.stdout.write(`${xs.map(format).join(' ')}\n`);
  },
  printjson: (x) => {
    process.stdout.write(`${util.inspect(x, { depth: 6 })}\n`);
  },
  sleep: (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms),
  quit: (code = 0) => process.exit(code),
  Mongo,
  process,
};

try {
  if (!args.nodb) {
    const uri = args.uri || `mongodb://${args.host || '127.0.0.1'}:${args.port || 27017}/`;
    const conn = new Connection(uri);
    if (args.user !== undefined) conn.login(args.authDb || 'admin', args.user, args.password);
    context.db = conn.getDB(conn.database || 'test');
    context.rs = {
      status: () => conn.command('admin', { replSetGetStatus: 1 }),
      conf: () => conn.command('admin', { replSetGetConfig: 1 }).config,
      initiate: (cfg) => conn.command('admin', { replSetInitiate: cfg }),
    };
  }
  Object.assign(globalThis, context);
  for (const code of args.evals) {
    const result = vm.runInThisContext(code, { filename: 'eval' });
    // Like mongosh, the value of the evaluated code is printed unless it is undefined.
    if (result !== undefined && typeof result !== 'function') process.stdout.write(`${format(result)}\n`);
  }
} catch (e) {
  process.stderr.write(
    `${e.name === 'MongoServerError' || e.name === 'MongoServerSelectionError' ? e.name : 'Uncaught ' + (e.name || 'Error')}: ${e.message}\n`,
  );
  process.exit(1);
}
