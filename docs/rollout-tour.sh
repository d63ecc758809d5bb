#!/usr/bin/env bash
# The guarded-rollout walkthrough of docs/rollouts.md, runnable: against a fresh server started with
# SWITCHYARD_GUARDRAIL_INTERVAL_MS=1000 (after `make build`), SWITCHYARD_TOKEN set to its admin token.
# Prints each command and its real output.
set -uo pipefail
export SWITCHYARD_URL=${SWITCHYARD_URL:-http://127.0.0.1:8080}
: "${SWITCHYARD_TOKEN:?set SWITCHYARD_TOKEN to the admin token}"
# shellcheck source=docs/cli-tour-lib.sh
source "$(dirname "$0")/cli-tour-lib.sh"
set -e

echo '# 1. tokens (admin): an owner of team growth, the recommendations service'
show 'OWNER=$(sy --json token create --name alice --role owner --team growth | tok)'
show 'RECS=$(sy --json token create --name recs-prod --role service --service recommendations | tok)'
set +e

echo '# 2. submit the guarded rollout: stage 1 of 3 serves 10 %'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy intent submit -f docs/examples/cli/guarded-recs.yaml'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy intent get recs-ranker | grep -E "rollout|stages|guardrails"'

echo '# 3. telemetry from the service: ranker_v2 errs as often as control; the analysis'
expect 0 'SWITCHYARD_TOKEN=$RECS node docs/rollout-telemetry.mjs recommendations recs_ranker 20000 1'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy intent analysis recs-ranker'

echo '# 4. advance to stage 2 (50 %, hold one hour); a second advance waits for the hold'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy intent advance recs-ranker --reason "stage 1 clean"'
expect 2 'SWITCHYARD_TOKEN=$OWNER sy intent advance recs-ranker'

echo '# 5. more units, and now ranker_v2 errs three times as often: the guardrail loop pauses it'
expect 0 'SWITCHYARD_TOKEN=$RECS node docs/rollout-telemetry.mjs recommendations recs_ranker 40000 3'
printf '$ # wait for the guardrail loop (SWITCHYARD_GUARDRAIL_INTERVAL_MS)\n'
for _ in $(seq 1 60); do
  [ "$(curl -s -H "Authorization: Bearer $OWNER" "$SWITCHYARD_URL/v1/intents/recs-ranker" | jq -r .state)" = paused ] && break
  sleep 0.5
done
expect 0 'curl -s -H "Authorization: Bearer $OWNER" $SWITCHYARD_URL/v1/intents/recs-ranker | jq -c "{state, rollout}"'
expect 0 'curl -s -H "Authorization: Bearer $OWNER" $SWITCHYARD_URL/v1/intents/recs-ranker/analysis | jq -c "{units, srm, status, guardrails: [.guardrails[] | {metric, arm, relative_change, interval, status}]}"'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy intent analysis recs-ranker'
expect 0 'SWITCHYARD_TOKEN=$OWNER sy audit --experiment recs-ranker --type guardrail_tripped'
