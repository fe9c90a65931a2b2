#!/usr/bin/env bash
# Turns `watchkeep validate --json` output into a GitLab Code Quality report (the Code Climate
# JSON subset GitLab reads: description, check_name, fingerprint, severity, location.path,
# location.lines.begin; docs.gitlab.com/ee/ci/testing/code_quality.html, "Code Quality report
# format"), so errors show in the merge request's widget and diff.
#
# Usage: gitlab-codequality.sh VALIDATE_JSON OUT_JSON
# Exit: 0 when the configuration is valid, 1 when it has errors, 2 when the input is not
# `validate --json` output. Needs jq.
set -euo pipefail
set +x

input="${1:?usage: gitlab-codequality.sh VALIDATE_JSON OUT_JSON}"
out="${2:?usage: gitlab-codequality.sh VALIDATE_JSON OUT_JSON}"
if ! jq -e 'type == "object" and has("diagnostics") and has("valid")' "$input" >/dev/null 2>&1; then
  echo "error: $input is not the output of \`watchkeep validate --json\`" >&2
  exit 2
fi
root="${CI_PROJECT_DIR:-}"
jq --arg root "$root" '
  [.diagnostics[]
   | select(.file != null)
   | {description: (.summary + (if .hint then " (hint: " + .hint + ")" else "" end)),
      check_name: "watchkeep-validate",
      severity: (if .severity == "error" then "major" else "minor" end),
      location: {path: (.file | if ($root != "" and startswith($root + "/")) then .[($root | length) + 1:] else . end),
                 lines: {begin: (.line // 1)}}}
   | .fingerprint = ([.location.path, (.location.lines.begin | tostring), .description] | join(":") | @base64)]' \
  "$input" >"$out"
jq -r '.diagnostics[] | "\(.severity): \(.file // "-"):\(.line // "-"):\(.col // "-"): \(.summary)"' "$input" >&2
if jq -e '.valid == true' "$input" >/dev/null; then exit 0; fi
exit 1
