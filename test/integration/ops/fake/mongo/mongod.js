#!/usr/bin/env node
'use strict';
/**
 * Stand-in mongod for the rehearsal: a replica-set member that honours what Kytes relies on.
 * - Command line: --replSet, --port, --bind_ip_all / --bind_ip, --keyFile, --dbpath; any other option is
 *   refused as mongod refuses it. Without --bind_ip_all it listens on 127.0.0.1 only, like mongod.
 * - Keyfile: must exist, be readable by this user, have no group/other permission bits, and hold 6–1024
 *   base64 characters; members prove they share it on every member-to-member request.
 * - Replica set: replSetInitiate (quorum check: every member reachable and without a config),
 *   replSetGetConfig, replSetReconfig, replSetGetStatus; heartbeats every second; a member is PRIMARY when
 *   it sees a majority and has the highest priority among the members it sees. A member that does not find
 *   itself in the config (an alias that does not resolve to it) is not in the set.
 * - Access control: with no user, only localhost may run commands (the localhost exception); then every
 *   command but hello/ping/authenticate needs credentials, root for administration, readWrite/read per
 *   database. Writes only on the primary. The primary copies its data to the secondaries.
 * Data lives in <dbpath>/fake/<db>/<collection>.json, the set config in <dbpath>/fake/.standin/.
 */
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { failure, keyfileDigest, request, splitHost } = require('./wire');

function fatal(msg, code = 1) {
  process.stderr.write(`mongod (stand-in): ${msg}\n`);
  process.exit(code);
}

// --- command line ---------------------------------------------------------------------------------
const VERSION = fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim();
const FCV_DEFAULT = VERSION.split('.').slice(0, 2).join('.');
if (process.argv.includes('--version')) {
  process.stdout.write(`db version v${VERSION}\nBuild Info: {"version": "${VERSION}", "note": "Kytes stand-in"}\n`);
  process.exit(0);
}
const opts = { port: 27017, dbpath: '/data/db', bindIp: '127.0.0.1' };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined];
    const value = () => (inline !== undefined ? inline : (argv[++i] ?? fatal(`option ${flag} needs a value`, 2)));
    switch (flag) {
      case '--replSet':
        opts.replSet = value();
        break;
      case '--port':
        opts.port = Number(value());
        break;
      case '--bind_ip_all':
        opts.bindIp = '0.0.0.0';
        break;
      case '--bind_ip':
        opts.bindIp = value().split(',')[0];
        break;
      case '--keyFile':
        opts.keyFile = value();
        break;
      case '--dbpath':
        opts.dbpath = value();
        break;
      default:
        fatal(`Error parsing command line: unrecognised option '${flag}'`, 2);
    }
  }
  if (!opts.replSet) fatal('this stand-in only runs as a replica-set member (--replSet)', 2);
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) fatal(`bad --port ${opts.port}`, 2);
}
let digest;
if (opts.keyFile) {
  let st, content;
  try {
    st = fs.statSync(opts.keyFile);
    content = fs.readFileSync(opts.keyFile, 'utf8');
  } catch (e) {
    fatal(`error getting file ${opts.keyFile}: ${e.message}`);
  }
  if ((st.mode & 0o077) !== 0) fatal(`permissions on ${opts.keyFile} are too open`);
  const key = content.replace(/\s+/g, '');
  if (key.length < 6 || key.length > 1024)
    fatal(`security key in ${opts.keyFile} has length ${key.length}, must be between 6 and 1024 chars`);
  if (!/^[A-Za-z0-9+/=]+$/.test(key)) fatal(`invalid char in key file ${opts.keyFile}`);
  digest = keyfileDigest(content);
}

// --- storage -------------------------------------------------------------------------------------
const ROOT = path.join(opts.dbpath, 'fake');
const META = path.join(ROOT, '.standin');
fs.mkdirSync(META, { recursive: true });
const NAME = /^[A-Za-z0-9_.-]+$/;
const collFile = (db, coll) => {
  if (!NAME.test(db) || !NAME.test(coll)) throw new Error(`invalid namespace ${db}.${coll}`);
  return path.join(ROOT, db, `${coll}.json`);
};
function writeAtomic(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}
const readJson = (file, dflt) => (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : dflt);
const readColl = (db, coll) => readJson(collFile(db, coll), []);
const listDbs = () =>
  fs.readdirSync(ROOT).filter((d) => !d.startsWith('.') && fs.statSync(path.join(ROOT, d)).isDirectory());
const listColls = (db) =>
  fs.existsSync(path.join(ROOT, db))
    ? fs
        .readdirSync(path.join(ROOT, db))
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
    : [];
let dataVersion = readJson(path.join(META, 'version.json'), 0);
// A new data directory starts at the binary's featureCompatibilityVersion, as mongod does.
if (!fs.existsSync(path.join(META, 'fcv.json'))) writeAtomic(path.join(META, 'fcv.json'), JSON.stringify(FCV_DEFAULT));
function bump() {
  dataVersion += 1;
  writeAtomic(path.join(META, 'version.json'), JSON.stringify(dataVersion));
}
function writeColl(db, coll, docs) {
  writeAtomic(collFile(db, coll), JSON.stringify(docs));
  bump();
}
function snapshot() {
  const out = {};
  for (const db of listDbs()) out[db] = Object.fromEntries(listColls(db).map((c) => [c, readColl(db, c)]));
  return out;
}
function loadSnapshot(snap, version) {
  for (const db of listDbs()) fs.rmSync(path.join(ROOT, db), { recursive: true, force: true });
  for (const [db, colls] of Object.entries(snap))
    for (const [c, docs] of Object.entries(colls)) writeAtomic(collFile(db, c), JSON.stringify(docs));
  dataVersion = version;
  writeAtomic(path.join(META, 'version.json'), JSON.stringify(dataVersion));
}

// --- replica-set state ---------------------------------------------------------------------------
const instanceId = crypto.randomBytes(12).toString('hex');
let config = readJson(path.join(META, 'replset.json'), null);
let selfHost = null;
let state = config ? 'STARTUP2' : 'STARTUP';
const peers = new Map(); // host -> { ok, state, configVersion, dataVersion, instanceId }
const STATE_CODES = { PRIMARY: 1, SECONDARY: 2, STARTUP: 0, STARTUP2: 5, DOWN: 8, REMOVED: 10 };
const log = (msg) => process.stdout.write(`${new Date().toISOString()} [${opts.replSet}] ${msg}\n`);

function saveConfig(c) {
  config = c;
  writeAtomic(path.join(META, 'replset.json'), JSON.stringify(c));
  selfHost = null;
}
const internalBody = (cmd) => ({ db: 'admin', cmd, internal: digest });
async function heartbeat(host) {
  const [h, p] = splitHost(host);
  try {
    const r = await request(h, p, internalBody({ kytesHeartbeat: 1 }), 1500);
    if (r.ok !== 1) throw new Error(r.errmsg);
    return { ok: true, ...r };
  } catch (e) {
    return { ok: false, error: e.message };
  }
}
async function findSelf(members) {
  for (const m of members) {
    const r = await heartbeat(m.host);
    if (r.ok && r.instanceId === instanceId) return m.host;
  }
  return null;
}
function majority() {
  return Math.floor(config.members.length / 2) + 1;
}
async function tick() {
  if (!config) return;
  if (!selfHost) {
    selfHost = await findSelf(config.members);
    if (!selfHost) {
      if (state !== 'REMOVED') log(`not in the replica-set config (${config.members.map((m) => m.host).join(', ')})`);
      state = 'REMOVED';
      return;
    }
  }
  await Promise.all(
    config.members.filter((m) => m.host !== selfHost).map(async (m) => peers.set(m.host, await heartbeat(m.host))),
  );
  const reachable = config.members.filter((m) => m.host === selfHost || peers.get(m.host)?.ok);
  let next = 'SECONDARY';
  if (reachable.length >= majority()) {
    const best = [...reachable].sort((a, b) => (b.priority ?? 1) - (a.priority ?? 1) || a._id - b._id)[0];
    if (best.host === selfHost) next = 'PRIMARY';
  }
  if (next !== state) log(`${state} -> ${next}`);
  state = next;
  if (state !== 'PRIMARY') return;
  for (const m of config.members) {
    const p = peers.get(m.host);
    if (m.host === selfHost || !p?.ok) continue;
    const behindConfig = (p.configVersion ?? -1) < config.version;
    const behindData = p.dataVersion !== dataVersion;
    if (behindConfig || behindData) {
      const [h, port] = splitHost(m.host);
      await request(
        h,
        port,
        internalBody({ kytesSync: 1, config, dataVersion, snapshot: behindData ? snapshot() : undefined }),
        5000,
      ).catch(() => undefined);
    }
  }
}
async function loop() {
  for (;;) {
    try {
      await tick();
    } catch (e) {
      log(`heartbeat: ${e.message}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function hello() {
  const inSet = config && selfHost && state !== 'REMOVED';
  const reply = {
    ok: 1,
    isWritablePrimary: inSet && state === 'PRIMARY',
    secondary: Boolean(inSet && state === 'SECONDARY'),
  };
  if (!inSet) return { ...reply, isWritablePrimary: false, info: 'Does not have a valid replica set config' };
  const primary =
    state === 'PRIMARY' ? selfHost : config.members.find((m) => peers.get(m.host)?.state === 'PRIMARY')?.host;
  return {
    ...reply,
    setName: config._id,
    setVersion: config.version,
    hosts: config.members.map((m) => m.host),
    me: selfHost,
    ...(primary ? { primary } : {}),
  };
}

// --- users and access control --------------------------------------------------------------------
const hashPwd = (pwd, salt) => crypto.pbkdf2Sync(String(pwd), salt, 10000, 32, 'sha256').toString('hex');
const users = () => readColl('admin', 'system.users');
function checkCredentials(auth) {
  if (!auth || typeof auth.user !== 'string') return null;
  const u = users().find((x) => x.user === auth.user && x.db === (auth.db || 'admin'));
  if (!u || !crypto.timingSafeEqual(Buffer.from(hashPwd(auth.pwd ?? '', u.salt)), Buffer.from(u.hash))) return null;
  return u;
}
const PUBLIC = new Set(['hello', 'isMaster', 'ping', 'authenticate', 'buildInfo']);
const READ = new Set(['find', 'count', 'listCollections']);
const WRITE = new Set(['insert', 'update', 'delete', 'dropDatabase']);
function authorize(body, name, peer) {
  if (users().length === 0) {
    return ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(peer)
      ? null
      : failure(13, 'Unauthorized', `command ${name} requires authentication`);
  }
  if (!body.auth) return failure(13, 'Unauthorized', `command ${name} requires authentication`);
  const u = checkCredentials(body.auth);
  if (!u) return failure(18, 'AuthenticationFailed', 'Authentication failed.');
  if (u.roles.some((r) => r.role === 'root' && r.db === 'admin')) return null;
  const grants = (role) =>
    u.roles.some((r) => r.db === body.db && (r.role === role || (role === 'read' && r.role === 'readWrite')));
  if ((READ.has(name) && grants('read')) || (WRITE.has(name) && grants('readWrite'))) return null;
  return failure(13, 'Unauthorized', `not authorized on ${body.db} to execute command { ${name} }`);
}
const notPrimary = () => (state === 'PRIMARY' ? null : failure(10107, 'NotWritablePrimary', 'not primary'));
const matches = (doc, q = {}) => Object.entries(q).every(([k, v]) => JSON.stringify(doc[k]) === JSON.stringify(v));

// --- commands ------------------------------------------------------------------------------------
const commands = {
  hello,
  isMaster: hello,
  ping: () => ({ ok: 1 }),
  buildInfo: () => ({ ok: 1, version: VERSION }),
  getParameter: (b) =>
    b.cmd.featureCompatibilityVersion
      ? { ok: 1, featureCompatibilityVersion: { version: readJson(path.join(META, 'fcv.json'), FCV_DEFAULT) } }
      : failure(72, 'InvalidOptions', 'the stand-in knows only featureCompatibilityVersion'),
  setFeatureCompatibilityVersion(b) {
    const np = notPrimary();
    if (np) return np;
    if (b.cmd.confirm !== true) return failure(7369100, 'Location7369100', 'confirm: true is required');
    writeAtomic(path.join(META, 'fcv.json'), JSON.stringify(String(b.cmd.setFeatureCompatibilityVersion)));
    return { ok: 1 };
  },
  authenticate: (b) =>
    checkCredentials({ ...b.cmd, db: b.cmd.db || b.db })
      ? { ok: 1 }
      : failure(18, 'AuthenticationFailed', 'Authentication failed.'),
  async replSetInitiate(b) {
    if (config) return failure(23, 'AlreadyInitialized', 'already initialized');
    const c = b.cmd.replSetInitiate;
    if (!c || c._id !== opts.replSet)
      return failure(
        93,
        'InvalidReplicaSetConfig',
        `Attempting to initiate a replica set with name ${c && c._id}, but command line reports ${opts.replSet}; rejecting`,
      );
    if (!Array.isArray(c.members) || c.members.length === 0)
      return failure(93, 'InvalidReplicaSetConfig', 'no members');
    const self = await findSelf(c.members);
    if (!self)
      return failure(
        74,
        'NodeNotFound',
        'No host described in new configuration with {version: 1} for replica set maps to this node',
      );
    for (const m of c.members.filter((x) => x.host !== self)) {
      const r = await heartbeat(m.host);
      if (!r.ok || r.configVersion !== undefined) {
        return failure(
          74,
          'NodeNotFound',
          `replSetInitiate quorum check failed because not all proposed set members responded affirmatively: ${m.host} ${r.ok ? 'already has a config' : r.error}`,
        );
      }
    }
    saveConfig({ ...c, version: 1 });
    log(`initiated with ${c.members.map((m) => m.host).join(', ')}`);
    setImmediate(() => tick().catch(() => undefined));
    return { ok: 1 };
  },
  replSetGetConfig: () =>
    config ? { ok: 1, config } : failure(94, 'NotYetInitialized', 'no replset config has been received'),
  replSetReconfig(b) {
    if (!config) return failure(94, 'NotYetInitialized', 'no replset config has been received');
    const np = notPrimary();
    if (np) return np;
    const c = b.cmd.replSetReconfig;
    if (!(c.version > config.version))
      return failure(
        103,
        'NewReplicaSetConfigurationIncompatible',
        `version field value of ${c.version} is not greater than the current config version ${config.version}`,
      );
    if (c._id !== config._id) return failure(103, 'NewReplicaSetConfigurationIncompatible', 'replica set name changed');
    if (!c.members.some((m) => m.host === selfHost))
      return failure(74, 'NodeNotFound', 'the primary is not in the new config');
    const keep = selfHost;
    saveConfig(c);
    selfHost = keep;
    log(`reconfigured to ${c.members.map((m) => m.host).join(', ')}`);
    return { ok: 1 };
  },
  replSetGetStatus() {
    if (!config) return failure(94, 'NotYetInitialized', 'no replset config has been received');
    return {
      ok: 1,
      set: config._id,
      members: config.members.map((m) => {
        const self = m.host === selfHost;
        const st = self ? state : peers.get(m.host)?.ok ? peers.get(m.host).state : 'DOWN';
        return {
          _id: m._id,
          name: m.host,
          health: st === 'DOWN' ? 0 : 1,
          state: STATE_CODES[st] ?? 6,
          stateStr: st,
          ...(self ? { self: true } : {}),
        };
      }),
    };
  },
  createUser(b) {
    const np = notPrimary();
    if (np) return np;
    const all = users();
    const name = b.cmd.createUser;
    if (all.some((u) => u.user === name && u.db === b.db))
      return failure(51003, 'Location51003', `User "${name}@${b.db}" already exists`);
    const salt = crypto.randomBytes(8).toString('hex');
    writeColl('admin', 'system.users', [
      ...all,
      { _id: `${b.db}.${name}`, user: name, db: b.db, salt, hash: hashPwd(b.cmd.pwd, salt), roles: b.cmd.roles ?? [] },
    ]);
    return { ok: 1 };
  },
  updateUser(b) {
    const np = notPrimary();
    if (np) return np;
    const all = users();
    const u = all.find((x) => x.user === b.cmd.updateUser && x.db === b.db);
    if (!u) return failure(11, 'UserNotFound', `User ${b.cmd.updateUser}@${b.db} not found`);
    if (b.cmd.pwd !== undefined) u.hash = hashPwd(b.cmd.pwd, u.salt);
    if (b.cmd.roles !== undefined) u.roles = b.cmd.roles;
    writeColl('admin', 'system.users', all);
    return { ok: 1 };
  },
  usersInfo(b) {
    const found = users().filter((u) => u.user === b.cmd.usersInfo && u.db === b.db);
    return { ok: 1, users: found.map((u) => ({ _id: u._id, user: u.user, db: u.db, roles: u.roles })) };
  },
  insert(b) {
    const np = notPrimary();
    if (np) return np;
    const docs = readColl(b.db, b.cmd.insert);
    for (const d of b.cmd.documents) docs.push({ _id: crypto.randomBytes(12).toString('hex'), ...d });
    writeColl(b.db, b.cmd.insert, docs);
    return { ok: 1, n: b.cmd.documents.length };
  },
  update(b) {
    const np = notPrimary();
    if (np) return np;
    const docs = readColl(b.db, b.cmd.update);
    let n = 0;
    for (const { q, u, upsert } of b.cmd.updates) {
      const i = docs.findIndex((d) => matches(d, q));
      const next = (old) => (u.$set ? { ...old, ...u.$set } : { _id: old._id, ...u });
      if (i >= 0) docs[i] = next(docs[i]);
      else if (upsert) docs.push(next({ _id: crypto.randomBytes(12).toString('hex'), ...q }));
      else continue;
      n++;
    }
    writeColl(b.db, b.cmd.update, docs);
    return { ok: 1, n };
  },
  delete(b) {
    const np = notPrimary();
    if (np) return np;
    const docs = readColl(b.db, b.cmd.delete);
    const kept = docs.filter((d) => !b.cmd.deletes.some(({ q }) => matches(d, q)));
    writeColl(b.db, b.cmd.delete, kept);
    return { ok: 1, n: docs.length - kept.length };
  },
  find: (b) => {
    const docs = readColl(b.db, b.cmd.find).filter((d) => matches(d, b.cmd.filter));
    return { ok: 1, cursor: { firstBatch: docs.slice(0, b.cmd.limit || docs.length), ns: `${b.db}.${b.cmd.find}` } };
  },
  count: (b) => ({ ok: 1, n: readColl(b.db, b.cmd.count).filter((d) => matches(d, b.cmd.query)).length }),
  listCollections: (b) => ({ ok: 1, cursor: { firstBatch: listColls(b.db).map((name) => ({ name })) } }),
  dropDatabase(b) {
    const np = notPrimary();
    if (np) return np;
    if (!NAME.test(b.db)) return failure(73, 'InvalidNamespace', `invalid database ${b.db}`);
    // Users and roles live in admin (admin.system.users): dropping another database deletes none.
    const existed = listDbs().includes(b.db);
    fs.rmSync(path.join(ROOT, b.db), { recursive: true, force: true });
    bump();
    return existed ? { ok: 1, dropped: b.db } : { ok: 1 };
  },
  /** What mongodump reads: every collection of one database. Root only (mongodump needs the backup role). */
  kytesDump: (b) => ({
    ok: 1,
    collections: Object.fromEntries(listColls(b.cmd.kytesDump).map((c) => [c, readColl(b.cmd.kytesDump, c)])),
  }),
  /**
   * What mongorestore writes for one collection of its archive. With drop: the collection is dropped,
   * then the archive's documents inserted (nothing else of the database is touched: "--drop does not
   * drop collections that are not in the backup"). Without: inserts only; a document whose _id is
   * already there is not inserted and the existing one is kept (a duplicate key error, reported).
   */
  kytesRestore(b) {
    const np = notPrimary();
    if (np) return np;
    const { kytesRestore: db, collection, documents, drop } = b.cmd;
    if (!NAME.test(db) || !NAME.test(collection) || !Array.isArray(documents))
      return failure(73, 'InvalidNamespace', `invalid namespace ${db}.${collection}`);
    const existing = drop ? [] : readColl(db, collection);
    const ids = new Set(existing.map((d) => JSON.stringify(d._id)));
    const duplicates = [];
    for (const d of documents) {
      const id = JSON.stringify(d._id);
      if (ids.has(id)) duplicates.push(d._id);
      else {
        ids.add(id);
        existing.push(d);
      }
    }
    writeColl(db, collection, existing);
    return { ok: 1, inserted: documents.length - duplicates.length, duplicates };
  },
};
const ADMIN_ONLY = new Set(['kytesDump', 'kytesRestore']);
const internalCommands = {
  kytesHeartbeat: () => ({
    ok: 1,
    instanceId,
    state,
    configVersion: config?.version,
    setName: config?._id,
    dataVersion,
  }),
  kytesSync(b) {
    const c = b.cmd.config;
    if (c._id !== opts.replSet)
      return failure(93, 'InvalidReplicaSetConfig', `replica set ${c._id}, command line reports ${opts.replSet}`);
    if (!config || c.version > config.version) {
      saveConfig(c);
      log(`received config version ${c.version}`);
    }
    if (b.cmd.snapshot) loadSnapshot(b.cmd.snapshot, b.cmd.dataVersion);
    return { ok: 1 };
  },
};

async function handle(body, peer) {
  if (!body || typeof body.cmd !== 'object' || !body.cmd) return failure(2, 'BadValue', 'no command');
  const name = Object.keys(body.cmd)[0];
  body.db = body.db || 'admin';
  const internal = digest !== undefined && body.internal === digest;
  if (name in internalCommands) {
    return internal
      ? internalCommands[name](body)
      : failure(18, 'AuthenticationFailed', 'keyfile authentication failed');
  }
  if (!(name in commands)) return failure(59, 'CommandNotFound', `no such command: '${name}'`);
  if (!PUBLIC.has(name)) {
    const denied = authorize(body, name, peer);
    if (denied) return denied;
    if (ADMIN_ONLY.has(name) && !checkCredentials(body.auth)?.roles.some((r) => r.role === 'root')) {
      return failure(13, 'Unauthorized', `not authorized to execute command { ${name} }`);
    }
  }
  return commands[name](body);
}

const server = http.createServer((req, res) => {
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (c) => (text += c));
  req.on('end', async () => {
    let reply;
    try {
      reply = await handle(JSON.parse(text), req.socket.remoteAddress);
    } catch (e) {
      reply = failure(1, 'InternalError', e.message);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply));
  });
});
server.listen(opts.port, opts.bindIp, () =>
  log(
    `waiting for connections on ${opts.bindIp}:${opts.port} (stand-in, ${config ? `config version ${config.version}` : 'no config'})`,
  ),
);
server.on('error', (e) => fatal(e.message));
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => {
    log('shutting down');
    server.close();
    process.exit(0);
  });
loop();
