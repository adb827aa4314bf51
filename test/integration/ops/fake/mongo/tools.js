#!/usr/bin/env node
'use strict';
/**
 * Stand-in mongodump / mongorestore (argv[2] says which), talking to the stand-in mongod with the
 * login they are given, as the MongoDB Database Tools document them:
 * - mongodump --db=X --archive writes database X, and only it, as an archive on stdout (gzip'd with
 *   --gzip). This stand-in dumps one database: it refuses to run without --db.
 * - mongorestore --archive reads an archive from stdin (gunzipped with --gzip: as with the real tools, a
 *   plain archive read with --gzip fails, and so does a gzip'd one read without it) and restores each
 *   collection whose namespace db.collection matches an --nsInclude pattern (repeatable; `*` is a wild
 *   card, `\*` and `\\` literal; no --nsInclude: every collection). --db=X with --archive is deprecated
 *   upstream ("use --nsInclude"): it warns and restores X's collections only. With --drop, each restored
 *   collection is dropped first; a collection that is not in the archive (or not included) is left
 *   alone. Without --drop, documents are inserted; one whose _id already exists is not, the existing one
 *   is kept, and the duplicate key error is reported (without --quiet) while the restore goes on.
 * Both refuse options they do not know, a failed login, and (mongodump with --readPreference=primary,
 * mongorestore always) a member that is not the primary.
 */
const zlib = require('zlib');
const { requestSync } = require('./wire');

const tool = process.argv[2];
const o = { host: '127.0.0.1', port: 27017, authDb: 'admin', nsInclude: [] };
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
      o.nsInclude.push(need());
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
      o.quiet = true;
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

/** mongorestore's namespace pattern as a RegExp: `*` matches anything, `\*` and `\\` are literal. */
function nsPattern(pattern) {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    let ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) ch = pattern[++i];
    else if (ch === '*') {
      re += '.*';
      continue;
    }
    re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

if (tool === 'mongodump') {
  if (!o.db) fail('this stand-in dumps one database (--db)');
  if (o.drop || o.nsInclude.length > 0) fail('mongodump takes no --drop or --nsInclude');
  if (auth) command(o.authDb, { authenticate: 1, ...auth });
  if (o.readPreference === 'primary' && !primary()) fail('not primary and secondaryOk=false');
  const { collections } = command('admin', { kytesDump: o.db });
  const namespaces = Object.entries(collections).map(([collection, documents]) => ({
    db: o.db,
    collection,
    documents,
  }));
  const archive = Buffer.from(JSON.stringify({ format: 'kytes-standin-archive', namespaces }));
  process.stdout.write(o.gzip ? zlib.gzipSync(archive) : archive);
} else if (tool === 'mongorestore') {
  if (o.db && o.nsInclude.length > 0) fail('this stand-in takes --db or --nsInclude, not both');
  if (auth) command(o.authDb, { authenticate: 1, ...auth });
  if (!primary()) fail('not primary');
  const log = (line) => {
    if (!o.quiet) process.stderr.write(`${new Date().toISOString()}\t${line}\n`);
  };
  if (o.db) {
    log(
      'The --db and --collection flags are deprecated for this use-case; please use --nsInclude instead, i.e. with --nsInclude=${DATABASE}.${COLLECTION}',
    );
    o.nsInclude.push(`${o.db.replace(/[\\*]/g, '\\$&')}.*`);
  }
  const wanted = o.nsInclude.map(nsPattern);
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
    if (archive?.format !== 'kytes-standin-archive' || !Array.isArray(archive.namespaces))
      fail('stream or file does not appear to be a mongodump archive');
    let restored = 0;
    let failed = 0;
    for (const { db, collection, documents } of archive.namespaces) {
      const ns = `${db}.${collection}`;
      if (wanted.length > 0 && !wanted.some((re) => re.test(ns))) continue;
      if (o.drop) log(`dropping collection ${ns} before restoring`);
      log(`restoring ${ns} from archive`);
      const r = command('admin', { kytesRestore: db, collection, documents, drop: Boolean(o.drop) });
      for (const id of r.duplicates)
        log(
          `continuing through error: E11000 duplicate key error collection: ${ns} index: _id_ dup key: { _id: ${JSON.stringify(id)} }`,
        );
      restored += r.inserted;
      failed += r.duplicates.length;
    }
    log(`${restored} document(s) restored successfully. ${failed} document(s) failed to restore.`);
  });
} else {
  fail(`unknown tool ${tool}`);
}
