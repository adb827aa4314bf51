'use strict';
/**
 * Stand-in Rocket.Chat for the rehearsal, driven only by the environment Kytes sets on the real image.
 * - Like the Meteor server, it connects to MONGO_URL before it listens: it finds the primary of the
 *   replicaSet named in the URL through the seed list, logs in with the URL's user and password against
 *   authSource, and checks it can read and write its database; after 30 s without success it exits 1
 *   (the container restarts), so `/livez` answering means the Mongo wiring works.
 * - Listens on PORT (default 3000); ROOT_URL must be an absolute URL.
 * - Site_Url is stored from ROOT_URL only when it is not stored yet, and is then what the server uses (the
 *   echo's rootUrl); OVERWRITE_SETTING_<name> is written to rocketchat_settings at every start; as Rocket.Chat's
 *   server/startup/initialData.ts does, the administrator is created from ADMIN_PASS (ADMIN_USERNAME,
 *   default admin; ADMIN_NAME; ADMIN_EMAIL) only while no administrator exists, INITIAL_USER is a JSON user
 *   document (anything else is logged and ignored), and the oldest user becomes admin if none is.
 * - HTTP: /livez, /health, /readyz, /api/info, POST /api/v1/login, POST /api/v1/chat.postMessage,
 *   GET /api/v1/channels.messages, a WebSocket upgrade on /websocket, and an echo of anything else.
 */
const crypto = require('crypto');
const http = require('http');
const os = require('os');
const { parseMongoUrl, request, splitHost } = require('./wire');

const VERSION = '8.6.0-kytes-standin';
const env = process.env;
const log = (msg) => process.stdout.write(`${new Date().toISOString()} rocketchat: ${msg}\n`);
function die(msg) {
  process.stderr.write(`rocketchat: ${msg}\n`);
  process.exit(1);
}

if (!env.ROOT_URL || !/^https?:\/\/[^/]+/.test(env.ROOT_URL)) die('ROOT_URL must be an absolute http(s) URL');
if (!env.MONGO_URL) die('MONGO_URL is required');
const port = Number(env.PORT || 3000);
const mongo = parseMongoUrl(env.MONGO_URL);
const authSource = mongo.options.authSource || mongo.database;
const replicaSet = mongo.options.replicaSet;
let primary; // [host, port]
let siteUrl; // the stored Site_Url setting, read at start-up

async function discover() {
  const problems = [];
  for (const seed of mongo.hosts) {
    const [h, p] = splitHost(seed);
    try {
      const hello = await request(h, p, { db: 'admin', cmd: { hello: 1 } }, 3000);
      if (replicaSet && hello.setName !== replicaSet) {
        problems.push(`${seed}: replica set ${hello.setName ?? '(none)'}, the URL says ${replicaSet}`);
        continue;
      }
      const target = hello.isWritablePrimary ? seed : hello.primary;
      if (!target) {
        problems.push(`${seed}: no primary known`);
        continue;
      }
      // Like a driver, use the primary by the name the replica-set config gives it.
      const [th, tp] = splitHost(hello.isWritablePrimary && hello.me ? hello.me : target);
      const auth = { user: mongo.user, pwd: mongo.password, db: authSource };
      const login = await request(th, tp, { db: authSource, cmd: { authenticate: 1, ...auth } }, 3000);
      if (login.ok !== 1) throw new Error(`${th}:${tp}: ${login.errmsg}`);
      primary = [th, tp];
      return;
    } catch (e) {
      problems.push(e.message);
    }
  }
  throw new Error(`MongoServerSelectionError: ${problems.join('; ')}`);
}

async function command(cmd) {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (!primary) await discover();
    try {
      const reply = await request(primary[0], primary[1], {
        db: mongo.database,
        cmd,
        auth: { user: mongo.user, pwd: mongo.password, db: authSource },
      });
      if (reply.ok === 1) return reply;
      if (reply.code !== 10107) throw new Error(`${reply.codeName}: ${reply.errmsg}`);
    } catch (e) {
      if (attempt === 1) throw e;
    }
    primary = undefined;
  }
  throw new Error('no primary');
}
const find = async (coll, filter = {}) => (await command({ find: coll, filter })).cursor.firstBatch;
const upsert = (coll, q, set) => command({ update: coll, updates: [{ q, u: { $set: set }, upsert: true }] });
const hash = (pwd, salt) => crypto.pbkdf2Sync(String(pwd), salt, 10000, 32, 'sha256').toString('hex');

async function startup() {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await discover();
      // As SettingsRegistry.add: a setting is inserted with its default (Site_Url's is ROOT_URL) only when
      // it is not stored yet; a stored value is kept, whatever ROOT_URL says now.
      if ((await find('rocketchat_settings', { _id: 'Site_Url' })).length === 0)
        await command({ insert: 'rocketchat_settings', documents: [{ _id: 'Site_Url', value: env.ROOT_URL }] });
      break;
    } catch (e) {
      if (Date.now() > deadline) die(`cannot use MongoDB at ${mongo.hosts.join(',')}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('OVERWRITE_SETTING_')) await upsert('rocketchat_settings', { _id: k.slice(18) }, { value: v });
  }
  // The server then uses the stored Site_Url, not ROOT_URL (settings.watch('Site_Url') rewrites the runtime
  // ROOT_URL and Meteor.absoluteUrl).
  siteUrl = (await find('rocketchat_settings', { _id: 'Site_Url' }))[0].value;
  // As server/startup/initialData.ts: the administrator from ADMIN_PASS while no admin exists, then
  // INITIAL_USER as a JSON user document, then the oldest user made admin if there is still none.
  const isAdmin = (u) => (u.roles || []).includes('admin');
  if (env.ADMIN_PASS) {
    if (!(await find('users')).some(isAdmin)) {
      const salt = crypto.randomBytes(8).toString('hex');
      const username =
        env.ADMIN_USERNAME && /^[0-9a-zA-Z-_.]+$/.test(env.ADMIN_USERNAME) ? env.ADMIN_USERNAME : 'admin';
      await command({
        insert: 'users',
        documents: [
          {
            _id: crypto.randomBytes(8).toString('hex'),
            username,
            name: env.ADMIN_NAME || 'Administrator',
            ...(env.ADMIN_EMAIL
              ? { emails: [{ address: env.ADMIN_EMAIL, verified: env.ADMIN_EMAIL_VERIFIED === 'true' }] }
              : {}),
            roles: ['admin'],
            services: { password: { salt, hash: hash(env.ADMIN_PASS, salt) } },
            createdAt: new Date().toISOString(),
          },
        ],
      });
      log(`created the administrator ${username}`);
    } else {
      log('Users with admin role already exist; Ignoring environment variables ADMIN_PASS');
    }
  }
  if (env.INITIAL_USER) {
    try {
      const initialUser = JSON.parse(env.INITIAL_USER);
      if (!initialUser._id) log('No _id provided; Ignoring environment variable INITIAL_USER');
      else if ((await find('users', { _id: initialUser._id })).length === 0)
        await command({ insert: 'users', documents: [initialUser] });
    } catch (e) {
      log(`Error processing environment variable INITIAL_USER ${e.message}`);
    }
  }
  const users = await find('users');
  if (!users.some(isAdmin) && users.length > 0) {
    const oldest = [...users].sort((x, y) => String(x.createdAt).localeCompare(String(y.createdAt)))[0];
    await command({
      update: 'users',
      updates: [{ q: { _id: oldest._id }, u: { $set: { roles: [...(oldest.roles || []), 'admin'] } } }],
    });
  }
  log(`connected to the primary ${primary.join(':')} of ${replicaSet || '(no replica set)'}`);
}

function send(res, status, body, type = 'application/json') {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(data) });
  res.end(data);
}
async function user(req) {
  const id = req.headers['x-user-id'];
  const token = req.headers['x-auth-token'];
  if (!id || !token) return null;
  const [u] = await find('users', { _id: id });
  return u && (u.tokens || []).includes(crypto.createHash('sha256').update(token).digest('hex')) ? u : null;
}
async function route(req, res, body) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/livez' || url.pathname === '/health') return send(res, 200, 'ok', 'text/plain');
  if (url.pathname === '/readyz') return command({ ping: 1 }).then(() => send(res, 200, 'ok', 'text/plain'));
  if (url.pathname === '/api/info') return send(res, 200, { version: VERSION, success: true });
  if (req.method === 'POST' && url.pathname === '/api/v1/login') {
    const { user: name, username, password } = JSON.parse(body || '{}');
    const [u] = await find('users', { username: name || username });
    const pw = u && u.services && u.services.password;
    if (!pw || hash(password, pw.salt) !== pw.hash) return send(res, 401, { status: 'error', error: 'Unauthorized' });
    const token = crypto.randomBytes(24).toString('hex');
    await command({
      update: 'users',
      updates: [
        {
          q: { _id: u._id },
          u: { $set: { tokens: [...(u.tokens || []), crypto.createHash('sha256').update(token).digest('hex')] } },
        },
      ],
    });
    return send(res, 200, { status: 'success', data: { userId: u._id, authToken: token } });
  }
  if (url.pathname.startsWith('/api/v1/')) {
    const u = await user(req);
    if (!u) return send(res, 401, { status: 'error', message: 'You must be logged in to do this.' });
    if (req.method === 'POST' && url.pathname === '/api/v1/chat.postMessage') {
      const { channel, text } = JSON.parse(body || '{}');
      const message = {
        _id: crypto.randomBytes(8).toString('hex'),
        rid: String(channel).replace(/^#/, ''),
        msg: text,
        u: { _id: u._id, username: u.username },
        ts: new Date().toISOString(),
      };
      await command({ insert: 'rocketchat_message', documents: [message] });
      return send(res, 200, { success: true, message });
    }
    if (url.pathname === '/api/v1/channels.messages') {
      return send(res, 200, {
        success: true,
        messages: await find('rocketchat_message', { rid: url.searchParams.get('roomName') }),
      });
    }
    return send(res, 404, { success: false, error: 'not found' });
  }
  send(res, 200, {
    service: 'rocketchat',
    rootUrl: siteUrl,
    version: VERSION,
    hostname: os.hostname(),
    method: req.method,
    path: req.url,
    peer: req.socket.remoteAddress,
    local: req.socket.localAddress,
    headers: req.headers,
  });
}

startup().then(() => {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => route(req, res, body).catch((e) => send(res, 500, { success: false, error: e.message })));
  });
  server.on('upgrade', (req, socket) => {
    const accept = crypto
      .createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.end(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
  });
  server.listen(port, '0.0.0.0', () => log(`listening on ${port}, ROOT_URL ${env.ROOT_URL}, Site_Url ${siteUrl}`));
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
});
