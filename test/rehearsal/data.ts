import { randomBytes } from 'crypto';
import type { Topology } from '../../lib/topology';
import { execIn } from '../integration/helpers/docker';
import { AdminCredentials, mongoEval, mongoPrimary, Web } from './checks';

/**
 * Data a user would have written by the time of a backup, through the stack's own paths: rows in each
 * GitLab database with the credentials GitLab itself holds, a repository, an upload and a config file in
 * its volumes, a Rocket.Chat message through its API (stored in MongoDB), a document written to MongoDB as
 * root, and an upload in the Rocket.Chat volume.
 */
export async function writeData(t: Topology, credentials: AdminCredentials, tag: string, w: Web): Promise<void> {
  for (const g of t.gitlab) {
    await execIn(
      g.container,
      [
        'bash',
        '-c',
        'eval "export $(gitlab-standin settings)"; psql -h "$FAKE_DB_HOST" -p "$FAKE_DB_PORT" -U "$FAKE_DB_USER" -d "$FAKE_DB_NAME" -XAtq -v ON_ERROR_STOP=1',
      ],
      {
        stdin: `CREATE TABLE IF NOT EXISTS rehearsal_projects (id serial PRIMARY KEY, tag text NOT NULL, payload text NOT NULL);
INSERT INTO rehearsal_projects (tag, payload) SELECT '${tag}', md5(i::text) || repeat('x', i % 50) FROM generate_series(1, 500) i;
`,
      },
    );
    await execIn(g.container, [
      'bash',
      '-c',
      `set -e
repo=/var/opt/gitlab/git-data/repositories/rehearsal/${tag}.git
mkdir -p "$repo/objects/pack"
head -c 150000 /dev/urandom >"$repo/objects/pack/pack-${tag}.pack"
echo 'ref: refs/heads/main' >"$repo/HEAD"
chown -R git:git /var/opt/gitlab/git-data/repositories/rehearsal
uploads=/var/opt/gitlab/gitlab-rails/uploads/rehearsal
mkdir -p "$uploads"
head -c 60000 /dev/urandom >"$uploads/${tag}.png"
chown -R git:git "$uploads"
printf '%s\\n' '# written by the rehearsal (${tag})' >>/etc/gitlab/gitlab.rb`,
    ]);
  }
  if (t.rocketchat && t.mongo && credentials.rocketchat) {
    const host = t.rocketchat.hostname;
    const login = await w.request(
      host,
      'POST',
      '/api/v1/login',
      JSON.stringify({ user: credentials.rocketchat.username, password: credentials.rocketchat.password }),
      { 'content-type': 'application/json' },
    );
    if (login.status !== 200) throw new Error(`Rocket.Chat login: ${login.status} ${login.body}`);
    const { userId, authToken } = (JSON.parse(login.body) as { data: { userId: string; authToken: string } }).data;
    const sent = await w.request(
      host,
      'POST',
      '/api/v1/chat.postMessage',
      JSON.stringify({ channel: '#general', text: `hello from the rehearsal ${tag}` }),
      { 'content-type': 'application/json', 'x-user-id': userId, 'x-auth-token': authToken },
    );
    if (sent.status !== 200) throw new Error(`Rocket.Chat postMessage: ${sent.status} ${sent.body}`);
    const doc = JSON.stringify({ tag, blob: randomBytes(2000).toString('base64') });
    await mongoEval(
      await mongoPrimary(t),
      `db.getSiblingDB('${t.mongo.appDatabase}').kytes_rehearsal.insertOne(${doc})`,
    );
    await execIn(
      t.rocketchat.container,
      [
        'sh',
        '-c',
        `set -e; mkdir -p ${t.rocketchat.uploads.containerPath}/${tag}; head -c 80000 /dev/urandom >${t.rocketchat.uploads.containerPath}/${tag}/file.bin`,
      ],
      { user: '65533' },
    );
  }
}
