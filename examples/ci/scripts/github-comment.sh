#!/usr/bin/env bash
# Posts a Markdown file (the plan) as ONE pull-request comment, updated on every push instead of
# repeated: the comment is found by a hidden marker on its first line (`<!-- watchkeep-plan -->`).
#
#   GET   /repos/{owner}/{repo}/issues/{number}/comments        list (every page)
#   PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}    update ours when it exists
#   POST  /repos/{owner}/{repo}/issues/{number}/comments        else create it (201)
# (docs.github.com/en/rest/issues/comments: a pull request is an issue for comments.)
#
# Usage: github-comment.sh MARKDOWN_FILE
# Environment (as GitHub Actions sets it): GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN
# (passed from secrets.GITHUB_TOKEN), and the pull request's number from PR_NUMBER or, when
# unset, from the event payload at GITHUB_EVENT_PATH (`.pull_request.number`).
# WATCHKEEP_COMMENT_MARKER changes the marker (one comment per configuration directory).
# Prints `created comment ID` or `updated comment ID`. Needs curl and jq.
set -euo pipefail
set +x
. "$(dirname "$0")/lib-github.sh"

file="${1:?usage: github-comment.sh MARKDOWN_FILE}"
[ -f "$file" ] || { echo "error: $file: no such file (the Markdown plan to post)" >&2; exit 1; }
gh_require_env GITHUB_REPOSITORY GITHUB_TOKEN
pr="${PR_NUMBER:-}"
if [ -z "$pr" ] && [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ]; then
  pr=$(jq -r '.pull_request.number // .number // empty' "$GITHUB_EVENT_PATH")
fi
case "$pr" in
  '' | *[!0-9]*)
    echo "error: no pull-request number: set PR_NUMBER, or run on a pull_request event" >&2
    exit 1
    ;;
esac
marker="${WATCHKEEP_COMMENT_MARKER:-<!-- watchkeep-plan -->}"

# GitHub refuses a comment body over 65536 characters; keep the plan's start and say where the
# rest is (the job summary and the plan artifact hold it whole).
limit=60000
body=$(mktemp)
trap 'rm -f "$body"' EXIT
jq -n --arg marker "$marker" --rawfile text "$file" --argjson limit "$limit" '
  {body: ($marker + "\n" + (if ($text | length) > $limit
     then $text[0:$limit] + "\n\n… (the plan is longer than a comment can hold: see the job summary or the `watchkeep-plan` artifact)\n"
     else $text end))}' >"$body"

comments=$(gh_list "/repos/$GITHUB_REPOSITORY/issues/$pr/comments")
id=$(printf '%s' "$comments" | jq -r --arg m "$marker" \
  '[.[] | select((.body // "") | startswith($m + "\n"))] | sort_by(.id) | first | .id // empty')
if [ -n "$id" ]; then
  gh_api PATCH "/repos/$GITHUB_REPOSITORY/issues/comments/$id" "$body" >/dev/null
  echo "updated comment $id"
else
  id=$(gh_api POST "/repos/$GITHUB_REPOSITORY/issues/$pr/comments" "$body" | jq -r '.id')
  echo "created comment $id"
fi
