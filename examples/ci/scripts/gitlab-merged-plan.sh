#!/usr/bin/env bash
# On a push to the default branch: finds the merge request merged into this commit and downloads
# the plan saved by the `watchkeep-plan` job of its last successful pipeline on the merge
# request's final commit (the plan that was reviewed).
#
#   GET /projects/:id/repository/commits/:sha/merge_requests     (docs.gitlab.com/ee/api/commits.html)
#   GET /projects/:id/merge_requests/:iid/pipelines              (docs.gitlab.com/ee/api/merge_requests.html)
#   GET /projects/:id/pipelines/:pipeline_id/jobs?scope=success  (docs.gitlab.com/ee/api/jobs.html)
#   GET /projects/:id/jobs/:job_id/artifacts/:artifact_path      (docs.gitlab.com/ee/api/job_artifacts.html)
#
# Only a merge request from this project is trusted (a fork's pipeline could save any file).
#
# Usage: gitlab-merged-plan.sh OUT_FILE [JOB_NAME]   (default job name: watchkeep-plan)
# Environment: CI_API_V4_URL, CI_PROJECT_ID, CI_COMMIT_SHA, WATCHKEEP_GITLAB_TOKEN.
# Exit 0 with OUT_FILE written, or exit 0 with a reason on stderr and no OUT_FILE (apply then
# plans afresh); exit 1 only when GitLab could not be asked.
# Needs bash, curl and jq (all three on GitHub's and GitLab's standard runner images).
set -euo pipefail
set +x
. "$(dirname "$0")/lib-gitlab.sh"

out="${1:?usage: gitlab-merged-plan.sh OUT_FILE [JOB_NAME]}"
job_name="${2:-watchkeep-plan}"
gl_require_env CI_API_V4_URL CI_PROJECT_ID CI_COMMIT_SHA WATCHKEEP_GITLAB_TOKEN
rm -f "$out"
project="/projects/$CI_PROJECT_ID"

mr=$(gl_api GET "$project/repository/commits/$CI_COMMIT_SHA/merge_requests" | jq -c --arg c "$CI_COMMIT_SHA" \
  '[.[] | select(.state == "merged") | select(.merge_commit_sha == $c or .squash_commit_sha == $c)] | first // empty')
if [ -z "$mr" ]; then
  echo "no merged merge request for $CI_COMMIT_SHA: apply will plan afresh" >&2
  exit 0
fi
iid=$(printf '%s' "$mr" | jq -r '.iid')
head_sha=$(printf '%s' "$mr" | jq -r '.sha')
if [ "$(printf '%s' "$mr" | jq -r '.source_project_id')" != "$CI_PROJECT_ID" ]; then
  echo "merge request !$iid came from another project (a fork): its saved plan is not trusted; apply will plan afresh" >&2
  exit 0
fi
pipeline=$(gl_list "$project/merge_requests/$iid/pipelines" | jq -r --arg s "$head_sha" \
  '[.[] | select(.sha == $s and .status == "success")] | sort_by(.id) | last | .id // empty')
if [ -z "$pipeline" ]; then
  echo "no successful pipeline of merge request !$iid on $head_sha: apply will plan afresh" >&2
  exit 0
fi
job=$(gl_list "$project/pipelines/$pipeline/jobs?scope=success" | jq -r --arg n "$job_name" \
  '[.[] | select(.name == $n)] | sort_by(.id) | last | .id // empty')
if [ -z "$job" ]; then
  echo "pipeline $pipeline has no successful $job_name job: apply will plan afresh" >&2
  exit 0
fi
if gl_download "$project/jobs/$job/artifacts/watchkeep-plan.bin" "$out"; then
  echo "merge request !$iid: the plan saved by job $job (pipeline $pipeline)" >&2
else
  echo "the plan artifact of job $job is gone (expired?): apply will plan afresh" >&2
fi
