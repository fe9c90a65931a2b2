#!/usr/bin/env bash
# Runs the main job on the embedded default: plan and apply examples/quickstart against the
# bundled watchkeep-sandbox (a local stand-in for the Datadog API and New Relic's NerdGraph), then
# plan again to show that nothing is left to change, then check SOC 2 coverage (from the
# configuration, then from what the vendor sees) and send a test through every route to the
# sandbox's PagerDuty, Slack and SMTP receivers; then make an alert fire and resolve (metric points
# posted to the sandbox), note what was done, run drift, and write the SOC 2 evidence bundle of the
# last day. No vendor account is needed; state lives in a local file under
# target/quickstart/.watchkeep/.
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
if [ "$example" = cloudwatch ]; then
  # The sandbox plays Datadog and New Relic only; CloudWatch runs against moto or LocalStack.
  sed -n '/^# Try it without an AWS account/,/^# (LocalStack/p' examples/cloudwatch/watchkeep.hcl >&2
  exit 1
fi

cargo build --quiet -p watchkeep -p watchkeep-tests --bins
bin="$root/target/debug"

work="$root/target/$example"
rm -rf "$work"
mkdir -p "$work"
cp "examples/$example"/* "$work/"
# SOC 2 asks for the inventory to be reviewed every 90 days (`coverage` checks it): the example's
# review date is when it was written, so the demo's copy records a review today.
sed -i "s/reviewed_on = \"[0-9-]*\"/reviewed_on = \"$(date -u +%F)\"/" "$work/watchkeep.hcl"

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
# The keys go only to the vendors' own hosts unless the operator allows another endpoint outside
# the configuration (docs/security.md): the sandbox, on loopback.
export WATCHKEEP_ALLOW_ENDPOINTS="$url"
export WATCHKEEP_VAR_newrelic_api_url="$url/graphql"
# A routing key has PagerDuty's 32 characters; the sandbox's receiver checks it as PagerDuty does.
export WATCHKEEP_VAR_pagerduty_routing_key="quickstart0demo0routing0key00032"
# Route tests: the sandbox's PagerDuty, Slack and SMTP receivers, on loopback.
banner_url() { sed -n "s/.*$1 at \(http:\/\/[^ ]*\).*/\1/p" "$out" | head -n1; }
export WATCHKEEP_VAR_pagerduty_events_url="$(banner_url 'PagerDuty Events API v2 receiver')"
export WATCHKEEP_VAR_slack_webhook_url="$(banner_url 'Slack webhook receiver')"
export WATCHKEEP_VAR_smtp_host="127.0.0.1" WATCHKEEP_VAR_smtp_starttls="none"
WATCHKEEP_VAR_smtp_port=$(sed -n 's/.*SMTP receiver at 127.0.0.1:\([0-9]*\).*/\1/p' "$out" | head -n1)
export WATCHKEEP_VAR_smtp_port
# Values from the environment are sensitive unless listed here (a pull request cannot unmark them).
export WATCHKEEP_PUBLIC_VARS="datadog_api_url,newrelic_api_url,pagerduty_events_url,smtp_host,smtp_port,smtp_starttls"
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
echo
echo "== watchkeep coverage (every in-scope component x core metric: alerted, within limits, routed to someone; exit 2 on a gap)"
"$bin/watchkeep" coverage
echo
echo "== watchkeep coverage --live (the vendor's side: who reports, and what reports but is in no inventory)"
set +e
"$bin/watchkeep" coverage --live
live=$?
set -e
echo "(exit $live: 2 = gaps: the sandbox's extra host web-3, which no inventory lists; on Datadog, no"
echo " metric points have reached the monitors yet, so each is in No Data, as before its first evaluation)"
echo
echo "== watchkeep routes test (one real test notification, then its resolve, through every target)"
"$bin/watchkeep" routes test
echo
echo "== what the sandbox's receivers got"
grep -E "receiver|received" "$work/sandbox.err" | grep -v "^watchkeep-sandbox: warning" || true
echo

# Posts JSON to the sandbox with one auth header (curl, or Python where there is no curl).
post_json() { # URL HEADER BODY
  if command -v curl >/dev/null; then
    curl -sf -X POST -H "$2" -H 'Content-Type: application/json' -d "$3" "$1" >/dev/null
  else
    python3 - "$1" "$2" "$3" <<'PY'
import sys, urllib.request
name, value = sys.argv[2].split(": ", 1)
req = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(), method="POST",
                             headers={name: value, "Content-Type": "application/json"})
urllib.request.urlopen(req).read()
PY
  fi
}

now=$(date +%s)
if [ "$example" = quickstart ]; then
  echo "== an alert fires and resolves: web-1's agent reports the CPU 98% busy, then 10% busy"
  # Metric points as an agent sends them (POST /api/v1/series); the sandbox evaluates every
  # monitor on the points it receives.
  series() { echo "{\"series\":[{\"metric\":\"system.cpu.idle\",\"type\":\"gauge\",\"host\":\"web-1\",\"points\":[[$1,$2]]}]}"; }
  post_json "$url/api/v1/series" "DD-API-KEY: $DD_API_KEY" "$(series $((now - 600)) 2)"
  sleep 1
  post_json "$url/api/v1/series" "DD-API-KEY: $DD_API_KEY" "$(series "$now" 90)"
else
  echo "== an alert fires and resolves: web-1 reports the CPU 97% busy for 6 minutes, then 10% busy"
  # Events as the infrastructure agent sends them (New Relic's Event API); the sandbox evaluates
  # every NRQL condition on the events it receives (CPU above 85 for 5 minutes opens an incident).
  events=""
  for m in 6 5 4 3 2 1; do
    events="$events{\"eventType\":\"SystemSample\",\"hostname\":\"web-1\",\"cpuPercent\":97,\"timestamp\":$((now - m * 60))},"
  done
  post_json "$url/v1/accounts/$NEW_RELIC_ACCOUNT_ID/events" "Api-Key: $NEW_RELIC_API_KEY" "[${events%,}]"
  sleep 1
  post_json "$url/v1/accounts/$NEW_RELIC_ACCOUNT_ID/events" "Api-Key: $NEW_RELIC_API_KEY" \
    "[{\"eventType\":\"SystemSample\",\"hostname\":\"web-1\",\"cpuPercent\":10,\"timestamp\":$now}]"
fi
"$bin/watchkeep" alerts --since 1h
echo
echo "== watchkeep alerts note (what the on-call engineer did, kept as a dated record)"
"$bin/watchkeep" alerts note 'baseline.soc2["web-1"].cpu' "Killed the runaway batch job on web-1; CPU back under 20%."
if [ "$example" = quickstart ]; then
  # Both of web-1's CPU monitors fired (the baseline's at 85%, the stricter alert's at 95%).
  "$bin/watchkeep" alerts note 'alert.cpu_saturated["web-1"]' "Same event as the baseline's CPU alert: the runaway batch job on web-1."
fi
echo
echo "== watchkeep drift (nothing edited outside watchkeep: exit 0, kept as a validation record)"
"$bin/watchkeep" drift
echo
echo "== watchkeep validations (the hash-chained records of the coverage, route-test and drift runs)"
"$bin/watchkeep" validations
echo
echo "== watchkeep evidence (the SOC 2 CC7.1 evidence bundle of the last day)"
"$bin/watchkeep" evidence --from 24h --out "$work/evidence"
echo "Evidence bundle: open $work/evidence/index.html (or index.md)"
