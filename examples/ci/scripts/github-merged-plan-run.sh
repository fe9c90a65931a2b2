#!/usr/bin/env bash
# On a push to the default branch: finds the pull request that was merged into this commit and
# the successful run of the plan workflow on that pull request's last commit, whose artifact
# holds the plan that was reviewed. Writes `run_id=…` and `pr=…` to $GITHUB_OUTPUT (empty when
# there is none: a direct push, a pull request from a fork, a plan run that failed or expired).
#
#   GET /repos/{owner}/{repo}/commits/{sha}/pulls             the pull request(s) of this commit
#       (docs.github.com/en/rest/commits/commits, "List pull requests associated with a commit")
#   GET /repos/{owner}/{repo}/actions/runs?event=pull_request&status=success&head_sha={sha}
#       (docs.github.com/en/rest/actions/workflow-runs, "List workflow runs for a repository")
#
# Only a plan made in this repository is trusted: with the `pull_request` event a fork's pull
# request runs the fork's version of the workflow, which could upload any file as the plan.
#
# Usage: github-merged-plan-run.sh [PLAN_WORKFLOW_PATH]   (default .github/workflows/watchkeep-plan.yml)
# Environment: GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_SHA, GITHUB_OUTPUT.
# Needs bash, curl and jq (all three on GitHub's and GitLab's standard runner images).
set -euo pipefail
set +x
. "$(dirname "$0")/lib-github.sh"

workflow="${1:-.github/workflows/watchkeep-plan.yml}"
gh_require_env GITHUB_REPOSITORY GITHUB_TOKEN GITHUB_SHA
output="${GITHUB_OUTPUT:-/dev/stdout}"

pulls=$(gh_api GET "/repos/$GITHUB_REPOSITORY/commits/$GITHUB_SHA/pulls")
pr=$(printf '%s' "$pulls" | jq -c --arg c "$GITHUB_SHA" \
  '[.[] | select(.merged_at != null) | select(.merge_commit_sha == $c)] | first // empty')
if [ -z "$pr" ]; then
  echo "no merged pull request for $GITHUB_SHA: apply will plan afresh" >&2
  printf 'run_id=\npr=\n' >>"$output"
  exit 0
fi
number=$(printf '%s' "$pr" | jq -r '.number')
head_sha=$(printf '%s' "$pr" | jq -r '.head.sha')
head_repo=$(printf '%s' "$pr" | jq -r '.head.repo.full_name // ""')
if [ "$head_repo" != "$GITHUB_REPOSITORY" ]; then
  echo "pull request #$number came from ${head_repo:-a deleted fork}: its plan artifact is not trusted; apply will plan afresh" >&2
  printf 'run_id=\npr=%s\n' "$number" >>"$output"
  exit 0
fi
runs=$(gh_api GET "/repos/$GITHUB_REPOSITORY/actions/runs?event=pull_request&status=success&head_sha=$head_sha&per_page=100")
run_id=$(printf '%s' "$runs" | jq -r --arg wf "$workflow" --arg repo "$GITHUB_REPOSITORY" \
  '[.workflow_runs[] | select(.path == $wf) | select(.head_repository.full_name == $repo)]
   | sort_by(.id) | last | .id // empty')
if [ -z "$run_id" ]; then
  echo "no successful run of $workflow for pull request #$number ($head_sha): apply will plan afresh" >&2
else
  echo "pull request #$number: plan from run $run_id" >&2
fi
printf 'run_id=%s\npr=%s\n' "$run_id" "$number" >>"$output"
