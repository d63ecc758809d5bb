#!/usr/bin/env bash
# The README's tour, runnable: against a server started with `make run`, with SWITCHYARD_TOKEN set to
# the admin token it printed. Prints each command and its real output (used to refresh the README).
set -euo pipefail
B=${SWITCHYARD_URL:-http://127.0.0.1:8080}
: "${SWITCHYARD_TOKEN:?set SWITCHYARD_TOKEN to the admin token make run printed}"
show() { printf '$ %s\n' "$*" | sed "s/$SWITCHYARD_TOKEN/\$SWITCHYARD_TOKEN/g"; eval "$@"; echo; }
j() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=1)[:4000])'; }
tok() { python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
H="-H 'Content-Type: application/json'"
# The intent in file $1 with a 30-day schedule from tomorrow, 00:00 UTC, computed from today's date: no
# fixed date stays valid (the policy refuses an end in the past, and a schedule longer than 90 days).
scheduled() { python3 -c 'import datetime as d,json,sys; t=d.date.fromisoformat(sys.argv[2]); i=json.load(open(sys.argv[1])); i["schedule"]={"start":f"{t+d.timedelta(days=1)}T00:00:00Z","end":f"{t+d.timedelta(days=31)}T00:00:00Z"}; print(json.dumps(i))' "$1" "$(date -u +%F)"; }

echo '# 1. tokens: an owner of team growth, an sre approver, the web service'
show "OWNER=\$(curl -s $B/v1/tokens -H \"Authorization: Bearer \$SWITCHYARD_TOKEN\" $H -d '{\"name\":\"alice\",\"role\":\"owner\",\"team\":\"growth\"}' | tok)"
show "SRE=\$(curl -s $B/v1/tokens -H \"Authorization: Bearer \$SWITCHYARD_TOKEN\" $H -d '{\"name\":\"sam\",\"role\":\"approver\",\"approval_roles\":[\"sre\"]}' | tok)"
show "WEB=\$(curl -s $B/v1/tokens -H \"Authorization: Bearer \$SWITCHYARD_TOKEN\" $H -d '{\"name\":\"web-prod\",\"role\":\"service\",\"service\":\"web\"}' | tok)"

echo '# 2. an intent that is approved at once (standard services, internal data)'
show "curl -s $B/v1/intents -H \"Authorization: Bearer \$OWNER\" $H -d @docs/examples/search-ranking.json | j"

echo '# 3. an intent denied for several reasons at once'
show "curl -s $B/v1/intents -H \"Authorization: Bearer \$OWNER\" $H -d @docs/examples/denied.json | j"

echo '# 4. the SPEC example (without its schedule: live once approved): a critical service owes an sre approval'
show "curl -s $B/v1/intents -H \"Authorization: Bearer \$OWNER\" $H -d @docs/examples/checkout-redesign.json | j"
show "curl -s $B/v1/intents/checkout-redesign/approvals -H \"Authorization: Bearer \$OWNER\" $H -d '{}' | j"
show "curl -s $B/v1/intents/checkout-redesign/approvals -H \"Authorization: Bearer \$SRE\" $H -d '{\"comment\":\"capacity ok\"}' | j"

echo '# 5. scheduled for later: the tour adds a schedule computed from today (no approval owed)'
show "scheduled docs/examples/gift-wrap.json | j"
show "curl -s $B/v1/intents -H \"Authorization: Bearer \$OWNER\" $H -d \"\$(scheduled docs/examples/gift-wrap.json)\" | j"

echo '# 6. what the web service fetches, with its ETag, then 304'
show "curl -s -i $B/v1/services/web/flags -H \"Authorization: Bearer \$WEB\" | sed -n '1p;/^[Ee][Tt]ag/p'"
show "ETAG=\$(curl -s -D - -o /dev/null $B/v1/services/web/flags -H \"Authorization: Bearer \$WEB\" | awk 'tolower(\$1)==\"etag:\" {print \$2}' | tr -d '\r')"
show "curl -s $B/v1/services/web/flags -H \"Authorization: Bearer \$WEB\" | j"
show "curl -s -o /dev/null -w '%{http_code}\n' $B/v1/services/web/flags -H \"Authorization: Bearer \$WEB\" -H \"If-None-Match: \$ETAG\""
