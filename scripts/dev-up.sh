#!/usr/bin/env bash
# Brings up the dev stack (Pulumi.dev.yaml) on this machine's Docker engine with no Pulumi Cloud
# account: state in ./.pulumi-state (a local file backend), secrets encrypted with a dev passphrase.
# Needs the Pulumi CLI, Node 22+, the docker CLI and a running Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."

export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
# The dev passphrase only protects a laptop stack; set your own for anything else.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-kytes-dev}"
export PULUMI_SKIP_UPDATE_CHECK=true
mkdir -p .pulumi-state

for tool in pulumi node docker openssl; do
  command -v "$tool" >/dev/null || { echo "dev-up: $tool is required (see README, Prerequisites)" >&2; exit 1; }
done
[ -d node_modules ] || npm ci

pulumi stack select dev 2>/dev/null || pulumi stack init dev --secrets-provider passphrase
if ! pulumi config get kytes:masterSecret >/dev/null 2>&1; then
  # Read from stdin so the value never appears in a process list or shell history.
  openssl rand -base64 48 | tr -d '\n' | pulumi config set --secret kytes:masterSecret
  echo "dev-up: generated kytes:masterSecret (encrypted in Pulumi.dev.yaml; keep it: the data depends on it)"
fi
pulumi up --stack dev --yes "$@"
