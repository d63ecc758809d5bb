# Shared by the CLI tours (docs/cli-tour.sh, docs/rollout-tour.sh); sourced, not run.
# SWITCHYARD_CLI overrides how the CLI is run (the test runs the built file with node directly).
sy() { ${SWITCHYARD_CLI:-npx switchyard} "$@"; }
tok() { python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
# Commands are written with `sy` and printed as the user types them, with `npx switchyard`.
shown() { local c=${1//sy /npx switchyard }; printf '%s' "$c"; }
show() { printf '$ %s\n' "$(shown "$1")"; eval "$1"; echo; }
# Like show, for a command whose exit code is part of the tour: any other exit code stops it.
expect() { local want=$1; shift; printf '$ %s; echo "exit=$?"\n' "$(shown "$1")"; eval "$1"; local rc=$?; echo "exit=$rc"; echo
  if [ "$rc" != "$want" ]; then echo "expected exit $want" >&2; exit 1; fi; }
