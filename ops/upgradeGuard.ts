import * as pulumi from '@pulumi/pulumi';
import { MONGO_ROOT_USER_ENV, MONGO_SECRET_ENV } from '../lib/mongo';
import { opsScriptPath, skipBackupFile, Topology } from '../lib/topology';
import { gitlabStopsUpTo, MONGO_SERIES, OLDEST_KNOWN_GITLAB } from '../lib/upgrades';
import { parseImageRef, series } from '../lib/versions';
import { shellWord } from '../lib/sinks';
import { AS_ROOT, bashScript, HostCommand, hostCommand } from './host';
import { LOCK_WAIT_SECONDS } from './backupOps';

/**
 * Guards that run on the Docker host before a GitLab, PostgreSQL or MongoDB container is replaced by one
 * of another image. Each is a Command keyed on its image (a new image replaces it, so its script runs
 * again), and the containers depend on it, so Pulumi runs it first; a refusal fails `pulumi up` before
 * anything is removed. They read what the data was written by from the data itself (GitLab's
 * `gitlab-rails/VERSION` in its data volume, which the image's own start-up check reads; PostgreSQL's
 * `PG_VERSION`; MongoDB's running version and featureCompatibilityVersion) and what the new image holds
 * from the image. See docs/upgrades.md.
 */
export interface UpgradeGuardArgs {
  /** Images, versions, data volumes, containers and the ops scripts' paths all come from here. */
  readonly topology: Topology;
}

/** Shared by the three guards: messages, version comparison, the one pre-upgrade backup. */
function helpers(t: Topology): string[] {
  const skip = skipBackupFile(t.ops, 'preupgrade');
  const backup = opsScriptPath(t.ops, 'kytes-backup');
  return [
    // The two paths as shell words once; messages expand the variables, never the raw text.
    `skip_file=${shellWord(skip)}`,
    `backup_script=${shellWord(backup)}`,
    `fail() { printf 'kytes: %s\\n' "$*" >&2; exit 1; }`,
    `note() { printf 'kytes: %s\\n' "$*"; }`,
    // The leading major.minor[.patch] of a version text ("19.3.0-ee" -> 19.3.0).
    `version_of() { sed -nE '1s/^[^0-9]*([0-9]+(\\.[0-9]+){0,2}).*$/\\1/p'; }`,
    // A comparable number: 19.3.0 -> 19003000; a missing part counts as 0.
    'vkey() {',
    '  local major minor patch',
    '  IFS=. read -r major minor patch <<<"$1"',
    '  echo $((10#$major * 1000000 + 10#${minor:-0} * 1000 + 10#${patch:-0}))',
    '}',
    'skey() { vkey "$(cut -d. -f1-2 <<<"$1")"; }',
    // Two version texts agree on every part both give (19.3 and 19.3.1 do).
    'agree() {',
    '  local -a a b',
    '  local i n',
    '  IFS=. read -ra a <<<"$1"',
    '  IFS=. read -ra b <<<"$2"',
    '  n=$((${#a[@]} < ${#b[@]} ? ${#a[@]} : ${#b[@]}))',
    '  for ((i = 0; i < n; i++)); do ((10#${a[i]} == 10#${b[i]})) || return 1; done',
    '}',
    // Reads a file from a volume through the new image, read-only and without network.
    'read_volume_file() { # $1 = volume, $2 = image, $3 = path inside the volume',
    '  docker run --rm --network none --entrypoint cat -v "$1:/kytes-data:ro" "$2" "/kytes-data/$3" 2>/dev/null || true',
    '}',
    'volume_exists() { docker volume inspect "$1" >/dev/null 2>&1; }',
    `preupgrade_backup() { # $1 = what is upgraded`,
    '  if [ -n "$(find "$skip_file" -maxdepth 0 -mmin -60 2>/dev/null)" ]; then',
    '    note "$skip_file is less than an hour old: upgrading $1 WITHOUT a backup"',
    '    return 0',
    '  fi',
    '  [ -x "$backup_script" ] || fail "$backup_script is missing, so no backup can be taken before upgrading $1; run pulumi up with the current images first (it installs the ops scripts), or skip the backup: touch $skip_file"',
    '  note "backup before upgrading $1"',
    '  local id',
    '  local -a uncreated=()',
    // The installed scripts predate this `up` (BackupOps installs the new ones after the guards): they know
    // only instances that exist. An older install without --skip-uncreated runs without it.
    '  if grep -q -- --skip-uncreated <<<"$("$backup_script" --help 2>/dev/null || true)"; then uncreated=(--skip-uncreated); fi',
    `  id=$(KYTES_LOCK_WAIT=${LOCK_WAIT_SECONDS} "$backup_script" --label preupgrade "\${uncreated[@]}" | tail -n 1)`,
    '  note "pre-upgrade backup $id taken and verified; it restores onto the versions running now"',
    '}',
  ];
}

/** The GitLab guard's script: every instance's installed version against the new image's, stop by stop. */
export function gitlabGuardScript(t: Topology): string {
  const image = t.gitlab[0].image;
  const target = t.versions.gitlab;
  const repository = parseImageRef(image).repository;
  return bashScript(
    AS_ROOT,
    ...helpers(t),
    `image=${shellWord(image)}`,
    `repository=${shellWord(repository)}`,
    `configured=${shellWord(target.text)}`,
    `stops=(${gitlabStopsUpTo(target).join(' ')})`,
    `oldest=${series(OLDEST_KNOWN_GITLAB)}`,
    `names=(${t.gitlab.map((g) => shellWord(g.name)).join(' ')})`,
    `volumes=(${t.gitlab.map((g) => shellWord(g.volumes.data.name)).join(' ')})`,
    // What the image itself compares at start (docker/assets/init-container): the version manifest.
    `target=$(docker run --rm --network none --entrypoint cat "$image" /opt/gitlab/version-manifest.txt 2>/dev/null | awk '/^gitlab-(ce|ee|jh) / {print $NF; exit}' | version_of || true)`,
    '[ -n "$target" ] || fail "cannot read the GitLab version of $image (/opt/gitlab/version-manifest.txt); is it a GitLab image?"',
    'agree "$target" "$configured" || fail "$image holds GitLab $target, but Kytes was told $configured (its tag, or kytes:images.versions.gitlab); make them agree"',
    'upgrades=()',
    'for i in "${!names[@]}"; do',
    '  name=${names[i]}',
    '  if ! volume_exists "${volumes[i]}"; then note "GitLab $name: no volume ${volumes[i]} yet (a new instance)"; continue; fi',
    '  running=$(read_volume_file "${volumes[i]}" "$image" gitlab-rails/VERSION | version_of)',
    '  if [ -z "$running" ]; then note "GitLab $name: not installed yet in ${volumes[i]}"; continue; fi',
    '  if (($(vkey "$running") == $(vkey "$target"))); then note "GitLab $name: already $target"; continue; fi',
    '  if (($(vkey "$running") > $(vkey "$target"))); then',
    `    fail "GitLab $name runs $running, and $image holds the older $target: GitLab cannot be downgraded. Set kytes:images.gitlab back to $repository:$running-ce.0 (or the image it ran); to go back in time, restore a backup made by $target (kytes:restore.from). Nothing was changed."`,
    '  fi',
    '  if (($(skey "$running") < $(skey "$oldest"))); then',
    '    fail "GitLab $name runs $running, older than $oldest, the oldest version whose upgrade stops Kytes knows: plan the upgrade with https://gitlab-com.gitlab.io/support/toolbox/upgrade-path/ and go one stop per pulumi up. Nothing was changed."',
    '  fi',
    '  path=()',
    '  for s in "${stops[@]}"; do',
    '    if (($(skey "$running") < $(skey "$s") && $(skey "$s") < $(skey "$target"))); then path+=("$s"); fi',
    '  done',
    '  if ((${#path[@]} > 0)); then',
    `    fail "GitLab $name runs $running; $target is past the required upgrade stop(s) \${path[*]} (docs.gitlab.com/update/upgrade_paths). Go one stop per pulumi up: set kytes:images.gitlab to the latest patch of \${path[0]} ($repository:\${path[0]}.<patch>-ce.0), run pulumi up, let the background migrations finish (Admin area > Monitoring > Background migrations), then the next: \${path[*]} then $target. Nothing was changed."`,
    '  fi',
    '  upgrades+=("GitLab $name $running -> $target")',
    'done',
    'if ((${#upgrades[@]} > 0)); then preupgrade_backup "${upgrades[*]}"; fi',
  );
}

/** The PostgreSQL guard's script: a new major cannot read the data directory; minor updates pass. */
export function postgresGuardScript(t: Topology): string {
  const pg = t.postgres;
  return bashScript(
    AS_ROOT,
    ...helpers(t),
    `image=${shellWord(pg.image)}`,
    `configured=${t.versions.postgres.major}`,
    `volume=${shellWord(pg.data.name)}`,
    `major=$(docker run --rm --network none --entrypoint postgres "$image" --version 2>/dev/null | sed -nE 's/^postgres \\(PostgreSQL\\) ([0-9]+).*/\\1/p' || true)`,
    '[ -n "$major" ] || fail "cannot read the PostgreSQL version of $image (postgres --version); is it a PostgreSQL image?"',
    '[ "$major" = "$configured" ] || fail "$image holds PostgreSQL $major, but Kytes was told $configured (its tag, or kytes:images.versions.postgres); make them agree"',
    'if ! volume_exists "$volume"; then note "PostgreSQL: no volume $volume yet"; exit 0; fi',
    'data=$(read_volume_file "$volume" "$image" PG_VERSION | tr -d "[:space:]")',
    'if [ -z "$data" ]; then note "PostgreSQL: $volume holds no cluster yet"; exit 0; fi',
    'if [ "$data" != "$major" ]; then',
    '  fail "the PostgreSQL data in $volume was written by PostgreSQL $data, and $image is PostgreSQL $major, which cannot open it: a major upgrade needs a dump and a restore (docs/upgrades.md, \\"PostgreSQL major upgrade\\"). Set kytes:images.postgres back to a postgres:$data image. Nothing was changed."',
    'fi',
    'note "PostgreSQL: data and image are both PostgreSQL $major"',
  );
}

/**
 * The MongoDB guard's script: one release series at a time, from a featureCompatibilityVersion equal to
 * the series running, read from a running member with the root login its container holds.
 */
export function mongoGuardScript(t: Topology): string {
  const m = t.mongo;
  const v = t.versions.mongo;
  if (!m || !v) throw new Error('mongoGuardScript: the topology has no MongoDB');
  // Expanded by the shell inside the member: the password never crosses this host's command lines.
  const login =
    `exec mongosh --quiet --norc "mongodb://127.0.0.1:$KYTES_MONGO_PORT/?directConnection=true" ` +
    `--username "$${MONGO_ROOT_USER_ENV}" --password "$${MONGO_SECRET_ENV.rootPassword}" --authenticationDatabase admin --eval "$0"`;
  const js =
    'print(db.version() + " " + db.adminCommand({ getParameter: 1, featureCompatibilityVersion: 1 }).featureCompatibilityVersion.version)';
  const setFcv = (s: string) =>
    `docker exec -it <member> mongosh -u root -p --authenticationDatabase admin --eval 'db.adminCommand({ setFeatureCompatibilityVersion: \\"${s}\\", confirm: true })'`;
  return bashScript(
    AS_ROOT,
    ...helpers(t),
    `image=${shellWord(m.image)}`,
    `configured=${shellWord(series(v))}`,
    `known=(${MONGO_SERIES.join(' ')})`,
    `members=(${m.members.map((x) => shellWord(x.container)).join(' ')})`,
    `volumes=(${m.members.map((x) => shellWord(x.data.name)).join(' ')})`,
    `port=${m.port}`,
    `js=${shellWord(js)}`,
    `target=$(docker run --rm --network none --entrypoint mongod "$image" --version 2>/dev/null | sed -nE 's/^db version v([0-9]+\\.[0-9]+)\\..*/\\1/p' || true)`,
    '[ -n "$target" ] || fail "cannot read the MongoDB version of $image (mongod --version); is it a MongoDB image?"',
    '[ "$target" = "$configured" ] || fail "$image holds MongoDB $target, but Kytes was told $configured (its tag, or kytes:images.versions.mongo); make them agree"',
    'data=0',
    'for v in "${volumes[@]}"; do if volume_exists "$v"; then data=1; fi; done',
    'if ((data == 0)); then note "MongoDB: no member volume yet"; exit 0; fi',
    'member=""',
    'for c in "${members[@]}"; do',
    `  if [ "$(docker container inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ]; then member=$c; break; fi`,
    'done',
    'if [ -z "$member" ]; then',
    '  note "MongoDB: no member is running, so its featureCompatibilityVersion cannot be read; mongod $target refuses to start on data whose featureCompatibilityVersion is too old, leaving the data untouched (docs/upgrades.md)"',
    '  exit 0',
    'fi',
    '# shellcheck disable=SC2016 # expanded by the shell inside the member, on purpose',
    `read -r running fcv < <(docker exec -e KYTES_MONGO_PORT="$port" "$member" sh -c ${shellWord(login)} "$js" 2>/dev/null | tail -n 1) || true`,
    'if [ -z "${running:-}" ] || [ -z "${fcv:-}" ]; then',
    '  fail "cannot read the version and featureCompatibilityVersion of MongoDB from $member; is the replica set up?"',
    'fi',
    'running=$(cut -d. -f1-2 <<<"$running")',
    'if [ "$running" = "$target" ]; then',
    `  if [ "$fcv" != "$target" ]; then note "MongoDB runs $target with featureCompatibilityVersion $fcv: finish that upgrade with ${setFcv('$target')}"; fi`,
    '  exit 0',
    'fi',
    'index() { local i; for i in "${!known[@]}"; do if [ "${known[i]}" = "$1" ]; then echo "$i"; return; fi; done; echo -1; }',
    'from=$(index "$running") to=$(index "$target")',
    '((from >= 0 && to >= 0)) || fail "MongoDB $running -> $target: Kytes knows the upgrade steps ${known[*]} only. Nothing was changed."',
    '((to > from)) || fail "MongoDB runs $running, and $image holds the older $target: a downgrade needs MongoDB\'s own procedure (featureCompatibilityVersion first). Nothing was changed."',
    'if ((to > from + 1)); then',
    '  fail "MongoDB runs $running; $target skips a release series: upgrade one series per pulumi up: ${known[*]:from+1:to-from} (MongoDB manual, upgrade a replica set). Nothing was changed."',
    'fi',
    'if [ "$fcv" != "$running" ]; then',
    `  fail "MongoDB runs $running with featureCompatibilityVersion $fcv; upgrading to $target needs it at $running first: ${setFcv('$running')} on the primary, then pulumi up again. Nothing was changed."`,
    'fi',
    'preupgrade_backup "MongoDB $running -> $target"',
    `note "after this pulumi up, once every member runs $target, set the featureCompatibilityVersion: ${setFcv('$target')}"`,
  );
}

/**
 * `kytes:ops:UpgradeGuard`: the three guards. GitLab containers depend on `gitlab`, the PostgreSQL
 * container on `postgres`, the Mongo members on `mongo`.
 */
export class UpgradeGuard extends pulumi.ComponentResource {
  readonly gitlab: HostCommand;
  readonly postgres: HostCommand;
  /** Present when Rocket.Chat (and so MongoDB) is enabled. */
  readonly mongo?: HostCommand;

  constructor(name: string, args: UpgradeGuardArgs, opts?: pulumi.ComponentResourceOptions) {
    super('kytes:ops:UpgradeGuard', name, {}, opts);
    const t = args.topology;
    const guard = (what: string, script: string, image: string, version: string) =>
      hostCommand(
        `${name}-${what}`,
        t.docker,
        {
          create: script,
          // A new image (or version) replaces the command, so the check runs again before the container changes.
          triggers: [image, version],
          logging: 'stdoutAndStderr',
        },
        { parent: this },
      );
    this.gitlab = guard('gitlab', gitlabGuardScript(t), t.gitlab[0].image, t.versions.gitlab.text);
    this.postgres = guard('postgres', postgresGuardScript(t), t.postgres.image, t.versions.postgres.text);
    if (t.mongo && t.versions.mongo) {
      this.mongo = guard('mongo', mongoGuardScript(t), t.mongo.image, t.versions.mongo.text);
    }
    this.registerOutputs({});
  }
}
