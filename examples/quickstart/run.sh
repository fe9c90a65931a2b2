#!/usr/bin/env bash
# Runs the main job on the embedded default: plan and apply examples/quickstart against the
# bundled watchkeep-sandbox (a local stand-in for the Datadog API and New Relic's NerdGraph), then
# plan again to show that nothing is left to change. No vendor account is needed; state lives in a
# local file under target/quickstart/.watchkeep/.
#
#   ./examples/quickstart/run.sh            # examples/quickstart (Datadog)
#   ./examples/quickstart/run.sh newrelic   # examples/newrelic (New Relic)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
example="${1:-quickstart}"
if [ ! -f "examples/$example/watchkeep.hcl" ]; then
  echo "no example named '$example' (try: $(ls examples | tr '\n' ' '))" >&2
  exit 1
fi

cargo build --quiet -p watchkeep -p watchkeep-tests --bins
bin="$root/target/debug"

work="$root/target/$example"
rm -rf "$work"
mkdir -p "$work"
cp "examples/$example"/* "$work/"

out="$work/sandbox.out"
"$bin/watchkeep-sandbox" --listen 127.0.0.1:0 >"$out" 2>"$work/sandbox.err" &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "Datadog API at" "$out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/.*Datadog API at \(http:\/\/[^ ]*\)\/api.*/\1/p' "$out" | head -n1)
if [ -z "$url" ]; then
  echo "watchkeep-sandbox did not start:" >&2
  cat "$work/sandbox.err" >&2
  exit 1
fi
echo "== watchkeep-sandbox is playing Datadog at $url/api and New Relic at $url/graphql"

# Explicit: the configuration's api_url is pointed at the sandbox; dummy keys for the sandbox.
export WATCHKEEP_VAR_datadog_api_url="$url"
export WATCHKEEP_VAR_newrelic_api_url="$url/graphql"
export WATCHKEEP_VAR_pagerduty_routing_key="quickstart-demo-routing-key"
export DD_API_KEY="sandbox-api-key" DD_APP_KEY="sandbox-app-key"
export NEW_RELIC_API_KEY="NRAK-SANDBOXDEMOKEY"
# The sandbox gives each user key its own account; it says which.
NEW_RELIC_ACCOUNT_ID=$("$bin/watchkeep-sandbox" --newrelic-account-for "$NEW_RELIC_API_KEY")
export NEW_RELIC_ACCOUNT_ID
cd "$work"

echo "== watchkeep plan"
"$bin/watchkeep" plan
echo
echo "== watchkeep apply -auto-approve"
"$bin/watchkeep" apply -auto-approve
echo
echo "== watchkeep plan -detailed-exitcode (0 = no changes)"
set +e
"$bin/watchkeep" plan -detailed-exitcode
code=$?
set -e
echo
echo "== watchkeep history"
"$bin/watchkeep" history
echo
if [ "$code" -ne 0 ]; then
  echo "Second plan was not empty (exit $code)." >&2
  exit 1
fi
echo "Second plan: no changes (exit 0). State: $work/.watchkeep/state.json"
