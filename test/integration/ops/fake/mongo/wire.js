'use strict';
/**
 * The stand-in MongoDB "wire protocol": one JSON command per HTTP POST to the member's port,
 * `{ db, cmd, auth?: { user, pwd, db }, internal?: <keyfile digest> }` → the command's reply document
 * (`ok: 1`, or `ok: 0` with `code`, `codeName`, `errmsg` as MongoDB replies). Shared by the stand-in
 * mongod, mongosh, mongodump/mongorestore and the Rocket.Chat stand-in.
 */
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const http = require('http');

class MongoServerError extends Error {
  constructor(reply) {
    super(reply.errmsg || `command failed (code ${reply.code})`);
    this.name = 'MongoServerError';
    this.code = reply.code;
    this.codeName = reply.codeName;
    this.ok = 0;
  }
}

function failure(code, codeName, errmsg) {
  return { ok: 0, code, codeName, errmsg };
}

/** "host:port" (IPv4 or a name) → [host, port]. */
function splitHost(hostPort, defaultPort = 27017) {
  const i = hostPort.lastIndexOf(':');
  return i < 0 ? [hostPort, defaultPort] : [hostPort.slice(0, i), Number(hostPort.slice(i + 1))];
}

/** Asynchronous request; rejects when the member cannot be reached. */
function request(host, port, body, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host,
        port,
        method: 'POST',
        path: '/',
        timeout: timeoutMs,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': data.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new Error(`${host}:${port}: not a MongoDB stand-in reply`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${host}:${port}: timed out`)));
    req.on('error', (e) => reject(new Error(`connect ${host}:${port}: ${e.message}`)));
    req.end(data);
  });
}

/** Synchronous request through curl (mongosh scripts are synchronous); throws when unreachable. */
function requestSync(host, port, body, timeoutMs = 10000) {
  let out;
  try {
    out = execFileSync(
      'curl',
      [
        '-sS',
        '--max-time',
        String(Math.ceil(timeoutMs / 1000)),
        '-H',
        'content-type: application/json',
        '--data-binary',
        '@-',
        `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
      ],
      { input: JSON.stringify(body), stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 },
    );
  } catch (e) {
    const err = new Error(
      `MongoServerSelectionError: connect ${host}:${port}: ${String(e.stderr || e.message).trim()}`,
    );
    err.name = 'MongoServerSelectionError';
    throw err;
  }
  return JSON.parse(out.toString('utf8'));
}

/** What members send each other as proof of the shared keyfile (MongoDB strips whitespace from it). */
function keyfileDigest(content) {
  return crypto.createHash('sha256').update(content.replace(/\s+/g, '')).digest('hex');
}

/** mongodb://user:pass@h1:p1,h2:p2/db?opts → parts; the password is URL-decoded as drivers do. */
function parseMongoUrl(url) {
  const m = /^mongodb:\/\/(?:([^:@/]+)(?::([^@/]*))?@)?([^/?]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(url);
  if (!m) throw new Error('MONGO_URL is not a mongodb:// URL');
  const options = Object.fromEntries(new URLSearchParams(m[5] || ''));
  return {
    user: m[1] === undefined ? undefined : decodeURIComponent(m[1]),
    password: m[2] === undefined ? undefined : decodeURIComponent(m[2]),
    hosts: m[3].split(','),
    database: m[4] || 'test',
    options,
  };
}

module.exports = { MongoServerError, failure, splitHost, request, requestSync, keyfileDigest, parseMongoUrl };
