#!/usr/bin/env bash
# Keeps ONE open issue about drift: opens it when `watchkeep drift` found drift, updates its
# text on the next drift, and comments and closes it when a run finds none.
#
#   GET   /repos/{owner}/{repo}/issues?state=open&labels=LABEL    find ours (label + body marker;
#                                                                  pull requests are skipped)
#   POST  /repos/{owner}/{repo}/issues                  {title, body, labels}        open (201)
#   PATCH /repos/{owner}/{repo}/issues/{number}         {body} / {state: "closed", state_reason: "completed"}
#   POST  /repos/{owner}/{repo}/issues/{number}/comments {body}                       say why it closed
# (docs.github.com/en/rest/issues/issues and /rest/issues/comments.)
#
# Usage: github-drift-issue.sh DRIFT_EXIT_CODE DRIFT_REPORT_FILE
#   DRIFT_EXIT_CODE: what `watchkeep drift` exited with: 0 no drift, 2 drift (engine/src/cli/drift.rs);
#   anything else means drift could not tell (an error), and the issue is left alone (exit 1).
#   DRIFT_REPORT_FILE: its output (shown in the issue in a code block).
# Environment (as GitHub Actions sets it): GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN (from
# secrets.GITHUB_TOKEN); GITHUB_SERVER_URL and GITHUB_RUN_ID, when set, link the run.
# WATCHKEEP_DRIFT_LABEL (default `watchkeep-drift`) labels the issue (GitHub creates the label).
# Prints `opened issue N`, `updated issue N`, `closed issue N` or `no drift, no open issue`.
# Needs bash, curl and jq (all three on GitHub's and GitLab's standard runner images).
set -euo pipefail
set +x
. "$(dirname "$0")/lib-github.sh"

code="${1:?usage: github-drift-issue.sh DRIFT_EXIT_CODE DRIFT_REPORT_FILE}"
report="${2:?usage: github-drift-issue.sh DRIFT_EXIT_CODE DRIFT_REPORT_FILE}"
gh_require_env GITHUB_REPOSITORY GITHUB_TOKEN
case "$code" in
  0 | 2) ;;
  *)
    echo "error: watchkeep drift exited $code (an error, not a verdict): the drift issue is left as it is" >&2
    exit 1
    ;;
esac
[ -f "$report" ] || { echo "error: $report: no such file (the output of watchkeep drift)" >&2; exit 1; }
label="${WATCHKEEP_DRIFT_LABEL:-watchkeep-drift}"
marker="<!-- watchkeep-drift -->"
run_link=""
if [ -n "${GITHUB_SERVER_URL:-}" ] && [ -n "${GITHUB_RUN_ID:-}" ]; then
  run_link="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
fi
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

open=$(gh_list "/repos/$GITHUB_REPOSITORY/issues?state=open&labels=$label")
number=$(printf '%s' "$open" | jq -r --arg m "$marker" \
  '[.[] | select(has("pull_request") | not) | select((.body // "") | contains($m))] | sort_by(.number) | first | .number // empty')

if [ "$code" = 2 ]; then
  jq -n --arg m "$marker" --rawfile r "$report" --arg now "$now" --arg run "$run_link" --arg lbl "$label" '
    ($m + "\n`watchkeep drift` found objects changed outside watchkeep (last checked " + $now
      + (if $run != "" then ", [run](" + $run + ")" else "" end) + ").\n\n"
      + "Apply the configuration again (`watchkeep plan`, then `watchkeep apply`) or bring the change into the configuration. "
      + "This issue is updated by every nightly run and closed by the first run without drift.\n\n"
      + "```\n" + ($r | .[0:60000]) + "\n```\n") as $body
    | {title: "watchkeep: drift detected", body: $body, labels: [$lbl]}' >"$tmp"
  if [ -n "$number" ]; then
    jq '{body}' "$tmp" >"$tmp.b" && mv "$tmp.b" "$tmp"
    gh_api PATCH "/repos/$GITHUB_REPOSITORY/issues/$number" "$tmp" >/dev/null
    echo "updated issue $number"
  else
    number=$(gh_api POST "/repos/$GITHUB_REPOSITORY/issues" "$tmp" | jq -r '.number')
    echo "opened issue $number"
  fi
else
  if [ -z "$number" ]; then
    echo "no drift, no open issue"
    exit 0
  fi
  jq -n --arg now "$now" --arg run "$run_link" \
    '{body: ("No drift any more (checked " + $now + (if $run != "" then ", [run](" + $run + ")" else "" end) + "): closing.")}' >"$tmp"
  gh_api POST "/repos/$GITHUB_REPOSITORY/issues/$number/comments" "$tmp" >/dev/null
  printf '{"state":"closed","state_reason":"completed"}' >"$tmp"
  gh_api PATCH "/repos/$GITHUB_REPOSITORY/issues/$number" "$tmp" >/dev/null
  echo "closed issue $number"
fi
