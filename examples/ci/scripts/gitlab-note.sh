#!/usr/bin/env bash
# Posts a Markdown file (the plan) as ONE merge-request note, updated on every pipeline instead
# of repeated: the note is found by a hidden marker on its first line (`<!-- watchkeep-plan -->`).
#
#   GET  /projects/:id/merge_requests/:merge_request_iid/notes            list (every page)
#   PUT  /projects/:id/merge_requests/:merge_request_iid/notes/:note_id   update ours {body}
#   POST /projects/:id/merge_requests/:merge_request_iid/notes            else create it {body} (201)
# (docs.gitlab.com/ee/api/notes.html, "Merge requests".)
#
# Usage: gitlab-note.sh MARKDOWN_FILE
# Environment: CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID (set in merge-request
# pipelines), WATCHKEEP_GITLAB_TOKEN; WATCHKEEP_COMMENT_MARKER changes the marker.
# Prints `created note ID` or `updated note ID`. Needs curl and jq.
set -euo pipefail
set +x
. "$(dirname "$0")/lib-gitlab.sh"

file="${1:?usage: gitlab-note.sh MARKDOWN_FILE}"
[ -f "$file" ] || { echo "error: $file: no such file (the Markdown plan to post)" >&2; exit 1; }
gl_require_env CI_API_V4_URL CI_PROJECT_ID CI_MERGE_REQUEST_IID WATCHKEEP_GITLAB_TOKEN
marker="${WATCHKEEP_COMMENT_MARKER:-<!-- watchkeep-plan -->}"
mr="/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID"

# GitLab's note limit is 1,000,000 characters; keep well below it.
limit=900000
body=$(mktemp)
trap 'rm -f "$body"' EXIT
jq -n --arg marker "$marker" --rawfile text "$file" --argjson limit "$limit" '
  {body: ($marker + "\n" + (if ($text | length) > $limit
     then $text[0:$limit] + "\n\n… (the plan is longer than a note can hold: see the job artifact)\n"
     else $text end))}' >"$body"

notes=$(gl_list "$mr/notes")
id=$(printf '%s' "$notes" | jq -r --arg m "$marker" \
  '[.[] | select(.system != true) | select((.body // "") | startswith($m + "\n"))] | sort_by(.id) | first | .id // empty')
if [ -n "$id" ]; then
  gl_api PUT "$mr/notes/$id" "$body" >/dev/null
  echo "updated note $id"
else
  id=$(gl_api POST "$mr/notes" "$body" | jq -r '.id')
  echo "created note $id"
fi
