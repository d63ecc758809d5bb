#!/usr/bin/env bash
# The CLI tour (docs/cli.md, "Tour"), runnable: against a server started with `make run` (after `make build`),
# with SWITCHYARD_TOKEN set to the admin token it printed. Prints each command and its real output (used to
# refresh docs/cli.md). Its keys, team and flags are its own, so it runs before or after docs/tour.sh.
set -uo pipefail
export SWITCHYARD_URL=${SWITCHYARD_URL:-http://127.0.0.1:8080}
: "${SWITCHYARD_TOKEN:?set SWITCHYARD_TOKEN to the admin token make run printed}"
# shellcheck source=docs/cli-tour-lib.sh
source "$(dirname "$0")/cli-tour-lib.sh"
set -e

echo '# 1. tokens (admin): an owner of team payments, an sre approver, an operator'
show 'OWNER=$(sy --json token create --name carol --role owner --team payments | tok)'
show 'SRE=$(sy --json token create --name raj --role approver --approval-role sre | tok)'
show 'OPERATOR=$(sy --json token create --name olga --role operator | tok)'
set +e

echo '# 2. a dry run that explains a denial (exit 3), then an intent approved at once'
expect 3 'SWITCHYARD_TOKEN=$OWNER sy intent evaluate -f docs/examples/cli/denied.yaml'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy intent submit -f docs/examples/cli/recs-carousel.yaml'

echo '# 3. pending approval (payments is critical), then approved by the sre approver'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy intent submit -f docs/examples/cli/one-click-pay.yaml'
expect 0 'SWITCHYARD_TOKEN=$SRE sy approve one-click-pay --comment "capacity ok"'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy intent list --owner payments'

echo '# 4. the kill switch, flags and a local evaluation, the audit trail'
expect 0 'SWITCHYARD_TOKEN=$OPERATOR sy pause one-click-pay --reason "error rate up"'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy flags get payments'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy flags eval recommendations carousel_model --context user_id=u-3 --context country=US'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy audit --experiment one-click-pay'
