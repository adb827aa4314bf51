#!/usr/bin/env node
'use strict';
/**
 * Stand-in mongodump / mongorestore (argv[2] says which), talking to the stand-in mongod with the
 * login they are given: mongodump --archive writes one database as an archive on stdout (gzip'd with
 * --gzip), mongorestore --archive --drop replaces the databases it holds (filtered by --nsInclude),
 * gunzipping it with --gzip: as with the real tools, a plain archive read with --gzip fails, and so does
 * a gzip'd one read without it.
 * Both refuse options they do not know, a failed login, and (mongodump with --readPreference=primary,
 * mongorestore always) a member that is not the primary.
 */
const zlib = require('zlib');
const { requestSync } = require('./wire');

const tool = process.argv[2];
const o = { host: '127.0.0.1', port: 27017, authDb: 'admin' };
function fail(msg) {
  process.stderr.write(`${new Date().toISOString()}\tFailed: ${msg}\n`);
  process.exit(1);
}
for (const a of process.argv.slice(3)) {
  const [flag, value] = a.includes('=') ? a.split(/=(.*)/s) : [a, undefined];
  const need = () => (value === undefined ? fail(`${flag} needs a value (use ${flag}=VALUE)`) : value);
  switch (flag) {
    case '--host':
      o.host = need();
      break;
    case '--port':
      o.port = Number(need());
      break;
    case '--username':
      o.user = need();
      break;
    case '--password':
      o.password = need();
      break;
    case '--authenticationDatabase':
      o.authDb = need();
      break;
    case '--readPreference':
      o.readPreference = need();
      break;
    case '--db':
      o.db = need();
      break;
    case '--nsInclude':
      o.nsInclude = need();
      break;
    case '--archive':
      o.archive = true;
      break;
    case '--gzip':
      o.gzip = true;
      break;
    case '--drop':
      o.drop = true;
      break;
    case '--quiet':
      break;
    default:
      fail(`unknown option ${flag}`);
  }
}
if (!o.archive) fail('this stand-in only reads and writes --archive');
const auth = o.user === undefined ? undefined : { user: o.user, pwd: o.password, db: o.authDb };
function command(db, cmd) {
  const reply = requestSync(o.host, o.port, { db, cmd, auth });
  if (reply.ok !== 1) fail(`${reply.codeName}: ${reply.errmsg}`);
  return reply;
}
const primary = () => command('admin', { hello: 1 }).isWritablePrimary === true;

if (tool === 'mongodump') {
  if (!o.db) fail('this stand-in dumps one database (--db)');
  if (auth) command(o.authDb, { authenticate: 1, ...auth });
  if (o.readPreference === 'primary' && !primary()) fail('not primary and secondaryOk=false');
  const { collections } = command('admin', { kytesDump: o.db });
  const archive = Buffer.from(JSON.stringify({ format: 'kytes-standin-archive', db: o.db, collections }));
  process.stdout.write(o.gzip ? zlib.gzipSync(archive) : archive);
} else if (tool === 'mongorestore') {
  if (!o.drop) fail('this stand-in restores with --drop only');
  if (auth) command(o.authDb, { authenticate: 1, ...auth });
  if (!primary()) fail('not primary');
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    let archive;
    try {
      const bytes = Buffer.concat(chunks);
      archive = JSON.parse((o.gzip ? zlib.gunzipSync(bytes) : bytes).toString('utf8'));
    } catch (e) {
      fail(`archive: ${e.message}`);
    }
    if (archive?.format !== 'kytes-standin-archive') fail('stream or file does not appear to be a mongodump archive');
    const wanted = o.nsInclude ? new RegExp(`^${o.nsInclude.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`) : /.*/;
    if (!wanted.test(`${archive.db}.x`)) return;
    command('admin', { kytesRestore: archive.db, collections: archive.collections });
  });
} else {
  fail(`unknown tool ${tool}`);
}
