#!/usr/bin/env bash
# Turns `watchkeep validate --json` output into GitHub Actions workflow commands, so each error
# and warning shows on the pull request's "Files changed" tab at its file, line and column:
#   ::error file=monitoring/watchkeep.hcl,line=12,col=3,title=watchkeep validate::<summary>
# (format: docs.github.com/en/actions/reference/workflow-commands-for-github-actions,
# "Setting an error message"; `%`, CR and LF are escaped as %25, %0D, %0A in the message, and
# also `:` and `,` as %3A, %2C in the properties, as GitHub's own toolkit does).
#
# Usage: github-annotate.sh VALIDATE_JSON      (or `-` for standard input)
# Exit: 0 when the configuration is valid, 1 when it has errors (so the step fails), 2 when the
# input is not `validate --json` output.
# Needs: jq (on GitHub's and GitLab's runner images).
# File paths: `validate --json` prints them as given to `--chdir` (relative to where watchkeep
# ran); run it from the repository root (`watchkeep validate --json --chdir monitoring`) so they
# are the paths GitHub knows. An absolute path under $GITHUB_WORKSPACE is made relative.
set -euo pipefail
set +x

input="${1:?usage: github-annotate.sh VALIDATE_JSON (or - for stdin)}"
if [ "$input" = - ]; then
  json=$(cat)
else
  json=$(cat -- "$input")
fi
if ! printf '%s' "$json" | jq -e 'type == "object" and has("diagnostics") and has("valid")' >/dev/null 2>&1; then
  echo "error: $input is not the output of \`watchkeep validate --json\` (no \"valid\" and \"diagnostics\")" >&2
  exit 2
fi

printf '%s' "$json" | jq -r --arg ws "${GITHUB_WORKSPACE:-}" '
  def data: gsub("%"; "%25") | gsub("\r"; "%0D") | gsub("\n"; "%0A");
  def prop: data | gsub(":"; "%3A") | gsub(","; "%2C");
  def rel: if ($ws != "" and startswith($ws + "/")) then .[($ws | length) + 1:] else . end;
  .diagnostics[]
  | (if .severity == "error" then "error" elif .severity == "warning" then "warning" else "notice" end) as $level
  | ([ (if .file then "file=" + (.file | rel | prop) else empty end),
       (if .line then "line=" + (.line | tostring) else empty end),
       (if .col then "col=" + (.col | tostring) else empty end),
       "title=" + ("watchkeep validate" | prop) ] | join(",")) as $props
  | ([.summary, (if .detail then .detail else empty end), (if .hint then "hint: " + .hint else empty end)]
     | join("\n")) as $msg
  | "::\($level) \($props)::\($msg | data)"'

if printf '%s' "$json" | jq -e '.valid == true' >/dev/null; then
  exit 0
fi
echo "watchkeep validate: $(printf '%s' "$json" | jq -r '.error_count') error(s)" >&2
exit 1
