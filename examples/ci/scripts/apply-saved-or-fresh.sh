#!/usr/bin/env bash
# Applies the plan that was reviewed when it is still valid, else plans and applies afresh.
#
# `watchkeep apply PLANFILE` refuses a saved plan, before changing anything, when the state moved
# on since (another apply ran: "is stale", "was made against state serial") or the configuration
# differs from what was planned ("the configuration changed since the plan"); those refusals
# (engine/src/run/apply.rs, `prepare`) are the only ones that fall back to
# `watchkeep apply -auto-approve`. Any other failure (a vendor error, a held lock, a partial
# apply) fails this script with watchkeep's exit code: it is never retried blindly.
#
# Usage: apply-saved-or-fresh.sh [PLANFILE] [-- WATCHKEEP_ARGS…]
#   PLANFILE missing or not a file: plan and apply afresh.
#   WATCHKEEP_ARGS go to every watchkeep call (e.g. --chdir monitoring).
# Environment: WATCHKEEP (the binary, default `watchkeep` on PATH).
# After a saved plan, plans once more and applies what is left (changes on the branch the saved
# plan did not hold). Prints which way it went as its last line: `applied the saved plan`,
# `applied the saved plan, then the rest of the branch`, `applied a fresh plan (the saved one was
# stale)` or `applied a fresh plan (no saved plan)`.
set -euo pipefail
set +x

wk="${WATCHKEEP:-watchkeep}"
plan="${1:-}"
if [ "$#" -gt 0 ]; then shift; fi
if [ "${1:-}" = "--" ]; then shift; fi

if [ -n "$plan" ] && [ -f "$plan" ]; then
  err=$(mktemp)
  trap 'rm -f "$err"' EXIT
  set +e
  "$wk" apply "$@" "$plan" 2>"$err"
  code=$?
  set -e
  cat "$err" >&2
  if [ "$code" = 0 ]; then
    # The saved plan holds what the pull request changed. The branch may hold more (a pull
    # request merged meanwhile whose own apply was superseded, a branch that was behind): the
    # saved plan's check covers only its own changes, so plan again and apply what is left.
    set +e
    "$wk" plan "$@" -detailed-exitcode >/dev/null
    left=$?
    set -e
    if [ "$left" = 2 ]; then
      echo "the branch holds changes the saved plan did not: applying them" >&2
      "$wk" apply "$@" -auto-approve
      echo "applied the saved plan, then the rest of the branch"
      exit 0
    fi
    if [ "$left" != 0 ]; then exit "$left"; fi
    echo "applied the saved plan"
    exit 0
  fi
  if grep -qE 'is stale: state changed since|was made against state serial|the configuration changed since the plan' "$err"; then
    echo "the saved plan no longer matches state or configuration: planning again" >&2
    "$wk" apply "$@" -auto-approve
    echo "applied a fresh plan (the saved one was stale)"
    exit 0
  fi
  exit "$code"
fi
"$wk" apply "$@" -auto-approve
echo "applied a fresh plan (no saved plan)"
