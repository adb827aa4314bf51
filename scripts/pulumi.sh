#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the Pulumi CLI with the same local backend and passphrase as dev:up, so
# `pulumi` commands reach the dev stack. PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE(_FILE), when set,
# are kept: that is how another stack (prod, another backend) is reached through the same wrapper.
set -euo pipefail
# shellcheck source=/dev/null # scripts/dev-lib.sh, checked on its own
. "$(dirname "$0")/dev-lib.sh"
cd "$KYTES_ROOT"

kytes_need_pulumi
kytes_pulumi_env
exec pulumi "$@"
