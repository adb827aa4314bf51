#!/usr/bin/env bash
# Build the local images the integration tier runs, tagged kytes-test/<name>:<suite> (bookworm;
# KYTES_SUITE=trixie KYTES_IMAGES="postgres nginx redis" builds PostgreSQL 17, the major the product pins,
# nginx with OpenSSL 3.5, as the pinned -trixie nginx image, and Redis 8.0 (the pinned one is 7.4; neither
# Debian release has it)).
# Why not pull postgres/nginx/redis? CI and sandboxes here cannot reach any registry, but
# they can reach the Debian mirror apt already uses; so the images are debootstrap
# rootfs + Debian packages, loaded with `docker import`. They stand in for the official
# images the product deploys (same env/entrypoint contract where tests depend on it),
# not byte-for-byte copies (e.g. PostgreSQL is Debian's 15, not the product's pinned 17).
#
# Env: KYTES_CI_DIR (default /tmp/kytes-ci): cache/ (minbase tarball, .debs) and rootfs/.
#      KYTES_REBUILD_IMAGES=1 rebuilds images that already exist (the caches are kept;
#      delete $KYTES_CI_DIR/cache to refresh them).
#      KYTES_DEBIAN_MIRROR / KYTES_DEBIAN_SECURITY_MIRROR override the mirrors read from apt.
#      KYTES_SUITE (default bookworm) and KYTES_IMAGES (default base node acme sshd; postgres, nginx and redis
#      are built on trixie, closer to the pinned images).
set -euo pipefail

SUITE="${KYTES_SUITE:-bookworm}"
TAG=$SUITE
CI_DIR="${KYTES_CI_DIR:-/tmp/kytes-ci}"
CACHE="$CI_DIR/cache"
WORK="$CI_DIR/rootfs"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '[build-images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
fmt_s() { local d=$(($(now_us) - $1)); printf '%d.%ds' $((d / 1000000)) $((d / 100000 % 10)); }
T_ALL=$(now_us)

"$HERE/ensure-docker.sh"

# Serialise concurrent runs (several test sessions may share one machine): they would
# clobber each other's rootfs dirs. A waiting run then finds the images built and skips.
mkdir -p "$CI_DIR"
exec 9>"$CI_DIR/build-images.lock"
flock 9

declare -A PKGS=(
  [base]="bash coreutils procps ca-certificates curl python3 tar gzip zstd jq"
  [postgres]="postgresql postgresql-contrib"
  [nginx]="nginx"
  [redis]="redis-server"
  [node]="nodejs"
  [acme]="certbot openssl pebble dnsmasq-base"
  [sshd]="openssh-server openssh-client sudo rsync"
)
read -ra NAMES <<<"${KYTES_IMAGES:-base node acme sshd}"
todo=()
for n in "${NAMES[@]}"; do
  if [ "${KYTES_REBUILD_IMAGES:-0}" != 1 ] && docker image inspect "kytes-test/$n:$TAG" >/dev/null 2>&1; then
    log "kytes-test/$n:$TAG exists; skipping (KYTES_REBUILD_IMAGES=1 to rebuild)"
  else
    todo+=("$n")
  fi
done
if [ ${#todo[@]} -eq 0 ]; then log "all images present ($(fmt_s "$T_ALL"))"; exit 0; fi
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"

# --- mirrors: reuse what this machine's apt uses, so no unverified host is hard-coded ---
# Prints the first URI whose suite is $1, from one-line .list files and deb822 .sources.
apt_uri_for_suite() {
  local suite=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    # `deb [opts] URI SUITE COMPONENTS...`: drop the optional [opts] before splitting.
    awk -v s="$suite" '$1 == "deb" { l = $0; sub(/\[[^]]*\]/, "", l); split(l, w); if (w[3] == s) { print w[2]; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk -v s="$suite" 'BEGIN { RS = "" } !/(^|\n)Enabled: *no/ {
      u = ""; ok = 0; n = split($0, L, "\n")
      for (j = 1; j <= n; j++) {
        if (L[j] ~ /^URIs:/) { split(L[j], w, " "); u = w[2] }
        if (L[j] ~ /^Suites:/) { m = split(L[j], w, " "); for (k = 2; k <= m; k++) if (w[k] == s) ok = 1 }
      }
      if (ok && u != "") { print u; exit } }' "$f"
  done
}
# A suite this machine's apt does not list comes from the archive of the one it does (Debian's mirrors
# serve every suite).
MIRROR="${KYTES_DEBIAN_MIRROR:-$(apt_uri_for_suite "$SUITE" | head -n1)}"
MIRROR="${MIRROR:-$(apt_uri_for_suite bookworm | head -n1)}"
SECURITY="${KYTES_DEBIAN_SECURITY_MIRROR:-$(apt_uri_for_suite "$SUITE-security" | head -n1)}"
SECURITY="${SECURITY:-$(apt_uri_for_suite bookworm-security | head -n1)}"
MIRROR="${MIRROR%/}" SECURITY="${SECURITY%/}"
[ -n "$MIRROR" ] || die "no apt source for '$SUITE' found; set KYTES_DEBIAN_MIRROR"
curl -fsS -o /dev/null "$MIRROR/dists/$SUITE/Release" || die "mirror $MIRROR does not serve $SUITE"
if [ -n "$SECURITY" ] && ! curl -fsS -o /dev/null "$SECURITY/dists/$SUITE-security/Release"; then
  log "security mirror $SECURITY unreachable; building without security updates"; SECURITY=""
fi
log "mirror $MIRROR, security ${SECURITY:-none}"

if ! command -v debootstrap >/dev/null 2>&1; then
  apt-cache show debootstrap >/dev/null 2>&1 || apt-get -o DPkg::Lock::Timeout=600 update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends debootstrap
fi

# --- chroot plumbing ---
# Mounts live only for the duration of one chroot command: a `cp -a`/`rm -rf` of a rootfs
# with /proc or the .deb cache still mounted would copy or delete host files.
MOUNTS=()
unmount_all() { local i; for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}" 2>/dev/null || true; done; MOUNTS=(); }
trap unmount_all EXIT
safe_rm() { grep -qF " $1" /proc/mounts && die "refusing to delete $1: something is mounted under it"; rm -rf "$1"; }
in_chroot() { # $1 = rootfs, $2 = bash script run inside it
  local root=$1 rc=0
  mkdir -p "$CACHE/debs/partial"
  mount -t proc proc "$root/proc" && MOUNTS+=("$root/proc")
  # Shared .deb cache: derived images and re-runs install without re-downloading.
  mount --bind "$CACHE/debs" "$root/var/cache/apt/archives" && MOUNTS+=("$root/var/cache/apt/archives")
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive /bin/bash -euo pipefail -c "$2" || rc=$?
  unmount_all
  return "$rc"
}
APT_INSTALL='apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold -o Dpkg::Use-Pty=0'

# --- 1. minbase rootfs: cached tarball, else debootstrap ---
ARCH=$(dpkg --print-architecture)
TARBALL="$CACHE/debootstrap-$SUITE-minbase-$ARCH.tar"
mkdir -p "$CACHE" "$WORK"
safe_rm "$WORK/base"
mkdir -p "$WORK/base"
t=$(now_us)
if [ -s "$TARBALL" ]; then
  tar -C "$WORK/base" --numeric-owner -xpf "$TARBALL"
  log "minbase from cache $TARBALL ($(fmt_s "$t"))"
else
  debootstrap --variant=minbase "$SUITE" "$WORK/base" "$MIRROR" >"$CI_DIR/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $CI_DIR/debootstrap.log"
  tar -C "$WORK/base" --numeric-owner -cpf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
  log "debootstrap --variant=minbase $SUITE ($(fmt_s "$t"))"
fi

# --- 2. base packages ---
t=$(now_us)
{
  echo "deb $MIRROR $SUITE main"
  echo "deb $MIRROR $SUITE-updates main"
  [ -z "$SECURITY" ] || echo "deb $SECURITY $SUITE-security main"
} >"$WORK/base/etc/apt/sources.list"
# No daemon may start inside the build chroot (postinst scripts try to).
printf '#!/bin/sh\nexit 101\n' >"$WORK/base/usr/sbin/policy-rc.d"
chmod +x "$WORK/base/usr/sbin/policy-rc.d"
# Docs and man pages are dead weight in test images.
printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' >"$WORK/base/etc/dpkg/dpkg.cfg.d/kytes-slim"
in_chroot "$WORK/base" "apt-get update -qq && $APT_INSTALL ${PKGS[base]} >/dev/null"
log "base packages ($(fmt_s "$t"))"

# --- 3. per-image customisation (runs inside the chroot) ---
declare -A SETUP
# postgres: mimic the official image: no Debian-managed cluster, data in $PGDATA, listen on *.
SETUP[postgres]=$(cat <<'SH'
$APT_INSTALL postgresql-common >/dev/null
sed -ri 's/^#?(create_main_cluster) .*/\1 = false/' /etc/postgresql-common/createcluster.conf
$APT_INSTALL postgresql postgresql-contrib >/dev/null
v=$(ls /usr/lib/postgresql); echo "$v" >/etc/kytes-pg-major
sed -ri "s/^#?(listen_addresses)\s*=\s*\S+.*/\1 = '*'/" /usr/share/postgresql/$v/postgresql.conf.sample
mkdir -p /var/lib/postgresql/data /docker-entrypoint-initdb.d
chown postgres:postgres /var/lib/postgresql/data && chmod 0700 /var/lib/postgresql/data
chmod 3777 /var/run/postgresql
SH
)
# nginx: the official image's `user nginx;` must resolve, and logs go to docker logs.
SETUP[nginx]=$(cat <<'SH'
$APT_INSTALL nginx >/dev/null
id nginx >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx
mkdir -p /etc/nginx/conf.d /var/cache/nginx
ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
nginx -t
SH
)
# redis: like the official image, /data is the (volume) working dir owned by redis.
SETUP[redis]=$(cat <<'SH'
$APT_INSTALL redis-server >/dev/null
mkdir -p /data && chown redis:redis /data
SH
)

# node: Debian's Node.js, the runtime of the Rocket.Chat and MongoDB stand-ins (test/integration/ops/fake/).
SETUP[node]=$(cat <<'SH'
$APT_INSTALL nodejs >/dev/null
node --version >/dev/null
SH
)

# acme: certbot as the certbot/certbot image runs it (ENTRYPOINT certbot, openssl beside it), plus the
# ACME test server pebble and dnsmasq to resolve a stack's hostnames for it (tests override the entrypoint).
SETUP[acme]=$(cat <<'SH'
$APT_INSTALL certbot openssl pebble dnsmasq-base >/dev/null
certbot --version && pebble -version 2>/dev/null || true
SH
)

# sshd: a Docker host reached over SSH (the operator commands' tests): sshd, sudo, rsync; the test adds
# the docker CLI and the users. No host key is baked in: each container generates its own.
SETUP[sshd]=$(cat <<'SH'
$APT_INSTALL openssh-server openssh-client sudo rsync >/dev/null
rm -f /etc/ssh/ssh_host_*
mkdir -p /run/sshd
SH
)

# The official postgres entrypoint contract, reduced to what kytes relies on.
write_pg_entrypoint() {
  cat >"$1/usr/local/bin/kytes-pg-entrypoint" <<'SH'
#!/bin/bash
# kytes-pg-entrypoint (kytes-test/postgres): subset of the official postgres image contract.
# initdb runs only when $PGDATA is empty, so POSTGRES_PASSWORD* matter on first boot only.
set -Eeuo pipefail
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
[ "${1:0:1}" != '-' ] || set -- postgres "$@"
[ "${1:-}" = postgres ] || exec "$@"   # `docker run IMAGE bash` etc.
if [ "$(id -u)" = 0 ]; then
  # A fresh named volume is root-owned; postgres refuses a data dir it does not own.
  mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "${POSTGRES_PASSWORD:-}" ] && [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    echo "kytes-pg-entrypoint: POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are exclusive" >&2; exit 1
  fi
  pw="${POSTGRES_PASSWORD:-}"
  [ -z "${POSTGRES_PASSWORD_FILE:-}" ] || pw="$(<"$POSTGRES_PASSWORD_FILE")"
  [ -n "$pw" ] || { echo "kytes-pg-entrypoint: empty database and no POSTGRES_PASSWORD(_FILE)" >&2; exit 1; }
  # Unlike the official image, host connections from 127.0.0.1 need the password too, so
  # tests can prove the password from inside the container; the local socket stays trusted.
  # shellcheck disable=SC2086
  initdb --username=postgres --pwfile=<(printf '%s\n' "$pw") --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  unset pw
  echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ] || [ -n "$(ls -A /docker-entrypoint-initdb.d)" ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql=(psql -v ON_ERROR_STOP=1 -U postgres -q)
    if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
      "${psql[@]}" -d postgres -v db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    for f in /docker-entrypoint-initdb.d/*; do  # like the official image: *.sql run in POSTGRES_DB
      case "$f" in *.sh) bash "$f" ;; *.sql) "${psql[@]}" -d "${POSTGRES_DB:-postgres}" -f "$f" ;; *) echo "ignoring $f" >&2 ;; esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "kytes-pg-entrypoint: initialised $PGDATA"
fi
exec postgres "${@:2}"
SH
  chmod 0755 "$1/usr/local/bin/kytes-pg-entrypoint"
}

# --- 4. docker import, with the config an image Dockerfile would have set ---
PATH_DEFAULT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
import_image() { # $1 = name, $2 = rootfs
  local name=$1 root=$2 ref="kytes-test/$1:$TAG" stopsig="" t old
  t=$(now_us)
  old=$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)
  # Leave nothing host-specific or build-only in the image.
  # ssl-cert's postinst (pulled in by postgresql-common) generates a private key: a
  # secret, and one that every container of the image would share.
  rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/ssl/private/ssl-cert-snakeoil.key" \
    "$root/etc/ssl/certs/ssl-cert-snakeoil.pem"
  : >"$root/etc/resolv.conf"
  echo kytes-test >"$root/etc/hostname"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/root/.bash_history
  local pkgs="${PKGS[base]}"
  [ "$name" = base ] || pkgs+=" ${PKGS[$name]}"
  local -a ch=(
    --change "ENV PATH=$PATH_DEFAULT"
    --change 'ENV LANG=C.UTF-8'
    --change "LABEL org.opencontainers.image.title=kytes-test/$name"
    --change "LABEL org.opencontainers.image.description=\"kytes integration-test image: debootstrap $SUITE minbase + $pkgs\""
    --change 'LABEL org.opencontainers.image.source=test/integration/setup/build-images.sh'
    --change "LABEL org.opencontainers.image.created=$(date -u +%FT%TZ)"
    --change "LABEL io.kytes.test-image=$name io.kytes.debian-mirror=$MIRROR"
  )
  case $name in
    base) ch+=(--change 'CMD ["bash"]') ;;
    postgres)
      local v; v=$(cat "$root/etc/kytes-pg-major")
      ch+=(--change "ENV PATH=/usr/lib/postgresql/$v/bin:$PATH_DEFAULT" --change 'ENV PGDATA=/var/lib/postgresql/data'
        --change 'ENTRYPOINT ["/usr/local/bin/kytes-pg-entrypoint"]' --change 'CMD ["postgres"]'
        --change 'VOLUME /var/lib/postgresql/data' --change 'EXPOSE 5432')
      stopsig=SIGINT ;; # fast shutdown, as the official image
    nginx) ch+=(--change 'CMD ["nginx", "-g", "daemon off;"]' --change 'EXPOSE 80') stopsig=SIGQUIT ;;
    node) ch+=(--change 'CMD ["node"]') ;;
    redis) ch+=(--change 'WORKDIR /data' --change 'VOLUME /data' --change 'USER redis' --change 'EXPOSE 6379'
      --change 'CMD ["redis-server", "--protected-mode", "no"]') ;;
    acme) ch+=(--change 'ENTRYPOINT ["certbot"]' --change 'VOLUME /etc/letsencrypt /var/lib/letsencrypt') ;;
    sshd) ch+=(--change 'CMD ["/usr/sbin/sshd", "-D", "-e"]' --change 'EXPOSE 22') ;;
  esac
  tar -C "$root" --numeric-owner --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -c . |
    docker import "${ch[@]}" - "$ref" >/dev/null
  # `docker import --change` (engine 20.10) rejects STOPSIGNAL; a metadata-only build adds it
  # without network access. The legacy builder is forced: buildx may not be installed.
  if [ -n "$stopsig" ]; then
    printf 'FROM %s\nSTOPSIGNAL %s\n' "$ref" "$stopsig" |
      DOCKER_BUILDKIT=0 docker build -q -t "$ref" - >/dev/null 2>"$CI_DIR/stopsignal-build.log" ||
      die "adding STOPSIGNAL to $ref failed: $(cat "$CI_DIR/stopsignal-build.log")"
  fi
  # A rebuild would otherwise leave the previous image dangling (~200-500 MB each time);
  # rmi fails harmlessly if a container still uses it.
  [ -z "$old" ] || [ "$old" = "$(docker image inspect -f '{{.Id}}' "$ref")" ] || docker rmi "$old" >/dev/null 2>&1 || true
  log "imported $ref, $(docker image inspect -f '{{.Size}}' "$ref" | awk '{printf "%d MB", $1/1e6}') ($(fmt_s "$t"))"
}

# Derived images first: they copy base's rootfs before import_image strips its apt lists.
for name in "${todo[@]}"; do
  [ "$name" = base ] && continue
  t=$(now_us)
  safe_rm "$WORK/$name"
  cp -a "$WORK/base" "$WORK/$name"
  [ "$name" != postgres ] || write_pg_entrypoint "$WORK/$name"
  in_chroot "$WORK/$name" "APT_INSTALL='$APT_INSTALL'; ${SETUP[$name]}"
  log "$name packages ($(fmt_s "$t"))"
  import_image "$name" "$WORK/$name"
  safe_rm "$WORK/$name"
done
if [[ " ${todo[*]} " == *" base "* ]]; then import_image base "$WORK/base"; fi
safe_rm "$WORK/base"
log "done: ${todo[*]} ($(fmt_s "$T_ALL") total)"
