#!/usr/bin/env bash
# Keeps ONE open GitLab issue about drift: opens it when `watchkeep drift` found drift, updates
# its description on the next drift, and notes and closes it when a run finds none.
#
#   GET  /projects/:id/issues?state=opened&labels=LABEL          find ours (label + marker)
#   POST /projects/:id/issues                 {title, description, labels}       open (201)
#   PUT  /projects/:id/issues/:issue_iid      {description} / {state_event: "close"}
#   POST /projects/:id/issues/:issue_iid/notes {body}                            say why it closed
# (docs.gitlab.com/ee/api/issues.html and /api/notes.html.)
#
# Usage: gitlab-drift-issue.sh DRIFT_EXIT_CODE DRIFT_REPORT_FILE
#   0 no drift, 2 drift (engine/src/cli/drift.rs); anything else leaves the issue alone (exit 1).
# Environment: CI_API_V4_URL, CI_PROJECT_ID, WATCHKEEP_GITLAB_TOKEN; CI_PIPELINE_URL, when set,
# links the pipeline. WATCHKEEP_DRIFT_LABEL (default `watchkeep-drift`).
# Prints `opened issue N`, `updated issue N`, `closed issue N` or `no drift, no open issue`.
# Needs bash, curl and jq (all three on GitHub's and GitLab's standard runner images).
set -euo pipefail
set +x
. "$(dirname "$0")/lib-gitlab.sh"

code="${1:?usage: gitlab-drift-issue.sh DRIFT_EXIT_CODE DRIFT_REPORT_FILE}"
report="${2:?usage: gitlab-drift-issue.sh DRIFT_EXIT_CODE DRIFT_REPORT_FILE}"
gl_require_env CI_API_V4_URL CI_PROJECT_ID WATCHKEEP_GITLAB_TOKEN
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
run_link="${CI_PIPELINE_URL:-}"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
project="/projects/$CI_PROJECT_ID"
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.b"' EXIT

open=$(gl_list "$project/issues?state=opened&labels=$label")
iid=$(printf '%s' "$open" | jq -r --arg m "$marker" \
  '[.[] | select((.description // "") | contains($m))] | sort_by(.iid) | first | .iid // empty')

if [ "$code" = 2 ]; then
  jq -n --arg m "$marker" --rawfile r "$report" --arg now "$now" --arg run "$run_link" --arg lbl "$label" '
    ($m + "\n`watchkeep drift` found objects changed outside watchkeep (last checked " + $now
      + (if $run != "" then ", [pipeline](" + $run + ")" else "" end) + ").\n\n"
      + "Apply the configuration again (`watchkeep plan`, then `watchkeep apply`) or bring the change into the configuration. "
      + "This issue is updated by every scheduled run and closed by the first run without drift.\n\n"
      + "```\n" + ($r | .[0:900000]) + "\n```\n") as $d
    | {title: "watchkeep: drift detected", description: $d, labels: $lbl}' >"$tmp"
  if [ -n "$iid" ]; then
    jq '{description}' "$tmp" >"$tmp.b"
    gl_api PUT "$project/issues/$iid" "$tmp.b" >/dev/null
    echo "updated issue $iid"
  else
    iid=$(gl_api POST "$project/issues" "$tmp" | jq -r '.iid')
    echo "opened issue $iid"
  fi
else
  if [ -z "$iid" ]; then
    echo "no drift, no open issue"
    exit 0
  fi
  jq -n --arg now "$now" --arg run "$run_link" \
    '{body: ("No drift any more (checked " + $now + (if $run != "" then ", [pipeline](" + $run + ")" else "" end) + "): closing.")}' >"$tmp"
  gl_api POST "$project/issues/$iid/notes" "$tmp" >/dev/null
  printf '{"state_event":"close"}' >"$tmp"
  gl_api PUT "$project/issues/$iid" "$tmp" >/dev/null
  echo "closed issue $iid"
fi
