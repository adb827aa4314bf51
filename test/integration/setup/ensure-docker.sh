#!/usr/bin/env bash
# Make a Docker engine reachable for the integration tier, starting one if needed.
# Idempotent: if `docker info` already works (system service, CI service, or a previous
# run of this script) nothing is touched. A dockerd started here is detached with setsid
# so it outlives the caller's process group, and its pidfile lets stop-docker.sh stop
# exactly that daemon and never someone else's.
#
# Env: KYTES_CI_DIR (default /tmp/kytes-ci) holds dockerd.log / dockerd.pid / dockerd.flags.
#      KYTES_DOCKERD_FLAGS forces one set of dockerd flags instead of the fallback ladder.
#      KYTES_DOCKERD_TIMEOUT seconds to wait for readiness per attempt (default 60).
set -euo pipefail

CI_DIR="${KYTES_CI_DIR:-/tmp/kytes-ci}"
PIDFILE="$CI_DIR/dockerd.pid"
LOG="$CI_DIR/dockerd.log"
FLAGS_FILE="$CI_DIR/dockerd.flags"   # remembers which flags worked, so restarts try it first
TIMEOUT="${KYTES_DOCKERD_TIMEOUT:-60}"

log() { printf '[ensure-docker] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
docker_ok() { docker info >/dev/null 2>&1; }

if docker_ok; then log "docker engine already reachable"; exit 0; fi
[ "$(id -u)" = 0 ] || die "no reachable docker engine, and starting one needs root"
mkdir -p "$CI_DIR"
# Concurrent callers (parallel test sessions) must not race to start two daemons.
exec 9>"$CI_DIR/ensure-docker.lock"
flock -w 300 9 || die "timed out waiting for another ensure-docker.sh run"
if docker_ok; then log "docker engine became reachable (started by a concurrent run)"; exit 0; fi

if ! command -v dockerd >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  # Refresh indexes only when the package is unknown: `apt-get update` is the slow part.
  apt-cache show docker.io >/dev/null 2>&1 || apt-get -o DPkg::Lock::Timeout=600 update
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends docker.io
fi
command -v docker >/dev/null 2>&1 || die "docker CLI missing after installing docker.io"

# Wait for a dockerd we did not start in this run (still booting, or from an earlier run)
# rather than launching a second daemon that would fight over /var/run/docker.sock.
wait_ready() { # $1 = pid to watch
  local deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    docker_ok && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}
for pf in "$PIDFILE" /var/run/docker.pid; do
  pid=$(cat "$pf" 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    log "dockerd pid $pid (from $pf) is running but not answering yet; waiting"
    wait_ready "$pid" && exit 0
    die "dockerd pid $pid never became ready; see $LOG"
  fi
done

# Proves the daemon can really run a container (storage driver mounts, runc, bridge
# network) — `docker info` succeeds even when overlay-on-overlay mounts later fail.
# Nothing can be pulled, so the image is just the static tini that docker.io ships.
smoke_test() {
  local tini dir rc=0
  tini=$(command -v tini-static || command -v docker-init || true)
  [ -n "$tini" ] || { log "no tini-static to smoke-test with; trusting docker info"; return 0; }
  dir=$(mktemp -d)
  cp -L "$tini" "$dir/tini"
  tar -C "$dir" -c tini | docker import - kytes-smoke:latest >/dev/null || rc=1
  rm -rf "$dir"
  ((rc == 0)) && { docker run --rm kytes-smoke:latest /tini --version >/dev/null || rc=1; }
  docker rmi -f kytes-smoke:latest >/dev/null 2>&1 || true
  return "$rc"
}

attempt() { # $1 = flags string ("" = dockerd defaults)
  local start=$SECONDS pid
  log "starting dockerd ${1:-(default flags)}"
  printf '\n=== %s dockerd %s\n' "$(date -u +%FT%TZ)" "$1" >>"$LOG"
  # shellcheck disable=SC2086 # flags are intentionally word-split
  # 9>&-: the daemon must not inherit (and forever hold) our lock.
  setsid dockerd --pidfile "$PIDFILE" $1 >>"$LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  if wait_ready "$pid" && smoke_test; then
    log "dockerd ready in $((SECONDS - start))s (pid $pid, storage driver $(docker info -f '{{.Driver}}'))"
    printf '%s\n' "$1" >"$FLAGS_FILE"
    return 0
  fi
  log "dockerd ${1:-(default flags)} failed after $((SECONDS - start))s; last log lines:"
  tail -n 5 "$LOG" >&2 || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  return 1
}

# Defaults (overlay2 + iptables) work on a normal VM. vfs covers kernels/filesystems
# where overlay2 cannot mount (e.g. nested inside another overlay container); and
# --iptables=false covers sandboxes without netfilter (inter-container DNS and the
# userland port proxy still work; only outbound NAT is lost, which tests do not need).
if [ -n "${KYTES_DOCKERD_FLAGS+x}" ]; then
  ladder=("$KYTES_DOCKERD_FLAGS")
else
  ladder=("" "--storage-driver=vfs" "--storage-driver=vfs --iptables=false")
  [ -s "$FLAGS_FILE" ] && ladder=("$(cat "$FLAGS_FILE")" "${ladder[@]}")
fi
for flags in "${ladder[@]}"; do
  attempt "$flags" && exit 0
done
die "could not start a working dockerd with any of: ${ladder[*]@Q}; see $LOG"
