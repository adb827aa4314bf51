#!/usr/bin/env bash
# Destroys the dev stack's containers, network and ops files; its data volumes stay (retainOnDelete), so
# the next `npm run dev:up` comes back with the same data. `npm run dev:reset` deletes the volumes.
set -euo pipefail
# shellcheck source=/dev/null # scripts/dev-lib.sh, checked on its own
. "$(dirname "$0")/dev-lib.sh"
cd "$KYTES_ROOT"

kytes_need_docker
kytes_need_pulumi
kytes_pulumi_env

pulumi destroy --stack "$KYTES_DEV_STACK" --yes "$@"
echo "dev-down: the data volumes are kept; npm run dev:up brings the stack back with them, npm run dev:reset deletes them"
