#!/usr/bin/env bash
# Stop the dockerd that ensure-docker.sh started, and only that one: a system or CI
# daemon (no pidfile of ours) is left alone, and a stale pidfile whose pid now belongs
# to another program is discarded rather than killed.
set -euo pipefail

PIDFILE="${KYTES_CI_DIR:-/tmp/kytes-ci}/dockerd.pid"
log() { printf '[stop-docker] %s\n' "$*" >&2; }

pid=$(cat "$PIDFILE" 2>/dev/null || true)
if [ -z "$pid" ]; then log "no dockerd started by this harness ($PIDFILE absent)"; exit 0; fi
if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then
  log "pid $pid is not a running dockerd; removing stale $PIDFILE"
  rm -f "$PIDFILE"
  exit 0
fi

# SIGTERM lets dockerd stop its containers and its managed containerd cleanly.
kill -TERM "$pid"
for _ in $(seq 1 60); do
  kill -0 "$pid" 2>/dev/null || { log "dockerd pid $pid stopped"; rm -f "$PIDFILE"; exit 0; }
  sleep 0.5
done
log "dockerd pid $pid ignored SIGTERM for 30s; sending SIGKILL"
kill -KILL "$pid" 2>/dev/null || true
rm -f "$PIDFILE"
