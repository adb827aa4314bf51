#!/usr/bin/env bash
# Brings up the dev stack (Pulumi.dev.yaml) on this machine's Docker engine with no Pulumi Cloud
# account: state in ./.pulumi-state (a local file backend), secrets encrypted with the dev passphrase.
# Checks first, in order: Node.js 22+, the stack's Docker engine, the Pulumi CLI, root or sudo for ops.
set -euo pipefail
# shellcheck source=/dev/null # scripts/dev-lib.sh, checked on its own
. "$(dirname "$0")/dev-lib.sh"
cd "$KYTES_ROOT"

kytes_need_node
kytes_need_docker
kytes_need_pulumi
kytes_need_root_for_ops
kytes_pulumi_env

[ -d node_modules ] || npm ci

pulumi stack select "$KYTES_DEV_STACK" 2>/dev/null || pulumi stack init "$KYTES_DEV_STACK" --secrets-provider passphrase
if ! pulumi config get kytes:masterSecret >/dev/null 2>&1; then
  # Through stdin so the value never appears in a process list or shell history.
  node -e 'process.stdout.write(require("crypto").randomBytes(48).toString("base64"))' |
    pulumi config set --secret kytes:masterSecret
  echo "dev-up: generated kytes:masterSecret (encrypted in Pulumi.$KYTES_DEV_STACK.yaml; keep it: the data depends on it)"
fi
case "$(kytes_stack_backup_schedule)" in
  off) echo "dev-up: scheduled backups are off on the $KYTES_DEV_STACK stack (kytes:backup.schedule: off in Pulumi.$KYTES_DEV_STACK.yaml), so no root cron job is installed: back up with npm run backup -- --stack $KYTES_DEV_STACK, or set a schedule with npm run pulumi -- config set --path kytes:backup.schedule '0 */4 * * *'" ;;
  *) echo "dev-up: the $KYTES_DEV_STACK stack installs a root cron job for its scheduled backups (/etc/cron.d, kytes:backup.schedule in Pulumi.$KYTES_DEV_STACK.yaml; set it to off to have none)" ;;
esac
pulumi up --stack "$KYTES_DEV_STACK" --yes "$@"
