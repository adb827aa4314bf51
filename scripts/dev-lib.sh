# shellcheck shell=bash
# Sourced by the dev scripts (dev-up, dev-down, pulumi): the dev stack's local Pulumi backend and
# passphrase, and the checks that run before anything else, each saying how to fix what it finds.

KYTES_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Messages start with the script's name: dev-up, dev-down, pulumi.
KYTES_SCRIPT=$(basename "$0" .sh)
KYTES_DEV_STACK=dev
KYTES_NODE_MAJOR=22

# No Pulumi Cloud account: state in ./.pulumi-state. The dev passphrase only protects a laptop stack;
# anything else sets its own PULUMI_CONFIG_PASSPHRASE (or _FILE) and backend, which are kept.
kytes_pulumi_env() {
  export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$KYTES_ROOT/.pulumi-state}"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    export PULUMI_CONFIG_PASSPHRASE=kytes-dev
  fi
  export PULUMI_SKIP_UPDATE_CHECK=true
  case "$PULUMI_BACKEND_URL" in
    file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;;
  esac
}

kytes_fail() {
  echo "$KYTES_SCRIPT: $*" >&2
  exit 1
}

kytes_need_node() {
  command -v node >/dev/null ||
    kytes_fail "Node.js is not on PATH: install Node.js $KYTES_NODE_MAJOR LTS or newer (https://nodejs.org/en/download, or your package manager) and run again"
  local version major
  version=$(node -p 'process.versions.node' 2>/dev/null) || version=unknown
  major=${version%%.*}
  case "$major" in '' | *[!0-9]*) major=0 ;; esac
  [ "$major" -ge "$KYTES_NODE_MAJOR" ] ||
    kytes_fail "Node.js $KYTES_NODE_MAJOR or newer is required; $(command -v node) is $version: install Node.js $KYTES_NODE_MAJOR LTS (https://nodejs.org/en/download, or nvm install $KYTES_NODE_MAJOR) and put it first on PATH"
}

# One value of a section of Pulumi.dev.yaml (`kytes:SECTION:` then `    KEY: value`), empty when the file
# does not set it. Read with awk: node_modules may not exist yet.
kytes_stack_value() { # $1 = section, $2 = key
  local file="$KYTES_ROOT/Pulumi.$KYTES_DEV_STACK.yaml"
  [ -f "$file" ] || return 0
  awk -v section="  kytes:$1:" -v key="    $2:" '
    { line = $0; sub(/[[:space:]]+$/, "", line) }
    line == section { inside = 1; next }
    inside && index($0, key) == 1 { sub(/^[^:]*:[[:space:]]*/, ""); gsub(/^["'\'']|["'\'']$/, ""); print; exit }
    inside && !/^    / { inside = 0 }
  ' "$file"
}

# The engine the dev stack deploys to: kytes:docker.host in Pulumi.dev.yaml (the Docker provider is given
# that, not $DOCKER_HOST), else the local socket.
kytes_stack_docker_host() {
  local host
  host=$(kytes_stack_value docker host)
  echo "${host:-unix:///var/run/docker.sock}"
}

# kytes:backup.schedule of the dev stack as Pulumi.dev.yaml sets it (empty when it does not: the default).
kytes_stack_backup_schedule() { kytes_stack_value backup schedule; }

kytes_need_docker() {
  command -v docker >/dev/null ||
    kytes_fail "the docker CLI is not on PATH: install Docker Engine 25 or newer (Debian/Ubuntu: apt-get install docker.io; https://docs.docker.com/engine/install/) and run again"
  local host out hint=''
  host=$(kytes_stack_docker_host)
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$host" ]; then
    case "$DOCKER_HOST" in
      unix://* | ssh://*)
        hint="; your DOCKER_HOST is $DOCKER_HOST, which the stack does not use: to deploy there, run npm run pulumi -- config set --path kytes:docker.host \"\$DOCKER_HOST\"" ;;
      *) hint="; your DOCKER_HOST is $DOCKER_HOST, which the stack does not use (kytes:docker.host takes unix:// or ssh:// engines)" ;;
    esac
  fi
  if ! out=$(DOCKER_HOST=$host timeout 20 docker info --format '{{.ServerVersion}}' 2>&1); then
    case "$out" in
      *"permission denied"*)
        kytes_fail "$(id -un) may not use the Docker engine at $host (kytes:docker.host): add yourself to the docker group (sudo usermod -aG docker $(id -un), then log in again) or run as root" ;;
      *)
        kytes_fail "no Docker engine answers at $host (kytes:docker.host of the $KYTES_DEV_STACK stack): start it (sudo systemctl start docker) and run again$hint" ;;
    esac
  fi
}

kytes_need_pulumi() {
  command -v pulumi >/dev/null ||
    kytes_fail "the Pulumi CLI is not on PATH: install it (curl -fsSL https://get.pulumi.com | sh, or https://www.pulumi.com/docs/iac/download-install/), open a new shell and run again"
}

# The ops scripts go to /opt/kytes/<prefix> (and a backup schedule, when one is set, to /etc/cron.d) on this
# machine, as root.
kytes_need_root_for_ops() {
  case "$(kytes_stack_docker_host)" in ssh://*) return 0 ;; esac
  [ "$(id -u)" -eq 0 ] && return 0
  command -v sudo >/dev/null && sudo -n true 2>/dev/null && return 0
  kytes_fail "$(id -un) is neither root nor allowed password-less sudo: the $KYTES_DEV_STACK stack installs its backup scripts in /opt/kytes as root (and a schedule in /etc/cron.d when kytes:backup.schedule is set). Run as root, or allow password-less sudo (see README, Two commands)"
}
