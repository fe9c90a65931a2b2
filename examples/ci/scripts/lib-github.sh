# shellcheck shell=bash
# Shared by the github-*.sh scripts (sourced, not run): one function that calls GitHub's REST API.
#
# Reads the environment exactly as GitHub Actions sets it:
#   GITHUB_API_URL     https://api.github.com (or your GitHub Enterprise Server's /api/v3)
#   GITHUB_REPOSITORY  owner/name
#   GITHUB_TOKEN       the job's token (pass `secrets.GITHUB_TOKEN` as env; GitHub does not export it)
# Headers as docs.github.com/en/rest (REST API "Getting started"): `Authorization: Bearer`,
# `Accept: application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28`.
# The token never appears on a command line (curl reads the headers from a 0600 file) nor in
# any output. Needs curl and jq.

set +x

: "${GITHUB_API_URL:=https://api.github.com}"
GITHUB_API_URL="${GITHUB_API_URL%/}"

gh_require_env() {
  local missing=""
  for v in "$@"; do
    if [ -z "${!v:-}" ]; then missing="$missing $v"; fi
  done
  if [ -n "$missing" ]; then
    echo "error: missing environment variable(s):$missing (set by GitHub Actions; GITHUB_TOKEN must be passed as env: GITHUB_TOKEN: \${{ secrets.GITHUB_TOKEN }})" >&2
    exit 1
  fi
}

# gh_api METHOD PATH [JSON_BODY_FILE]: prints the answer's body; fails (status 1, the status and
# the start of GitHub's answer on stderr) on anything but 2xx.
gh_api() {
  local method="$1" path="$2" data="${3:-}" out hdr code
  out=$(mktemp)
  hdr=$(mktemp)
  chmod 600 "$hdr"
  {
    printf 'Authorization: Bearer %s\n' "$GITHUB_TOKEN"
    printf 'Accept: application/vnd.github+json\n'
    printf 'X-GitHub-Api-Version: 2022-11-28\n'
    if [ -n "$data" ]; then printf 'Content-Type: application/json\n'; fi
  } >"$hdr"
  local args=(-sS -o "$out" -w '%{http_code}' -X "$method" -H "@$hdr")
  if [ -n "$data" ]; then args+=(--data-binary "@$data"); fi
  if ! code=$(curl "${args[@]}" "$GITHUB_API_URL$path"); then
    rm -f "$out" "$hdr"
    echo "error: $method $GITHUB_API_URL$path: no answer (curl failed)" >&2
    return 1
  fi
  rm -f "$hdr"
  if [ "$code" -lt 200 ] || [ "$code" -ge 300 ]; then
    echo "error: $method $path: GitHub answered HTTP $code: $(head -c 400 "$out")" >&2
    if [ "$code" = 403 ] || [ "$code" = 404 ]; then
      echo "hint: check the workflow's \`permissions:\` (pull-requests/issues: write) and that this is not a pull request from a fork, whose token is read-only" >&2
    fi
    rm -f "$out"
    return 1
  fi
  cat "$out"
  rm -f "$out"
}

# gh_list PATH_WITH_QUERY: every page of a list endpoint (per_page=100, `page` until a short
# page; docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api), as one
# JSON array.
gh_list() {
  local path="$1" page=1 sep="?" acc got n
  case "$path" in *\?*) sep="&" ;; esac
  acc='[]'
  while :; do
    got=$(gh_api GET "$path${sep}per_page=100&page=$page") || return 1
    n=$(printf '%s' "$got" | jq 'length')
    acc=$(jq -n --argjson a "$acc" --argjson b "$got" '$a + $b')
    if [ "$n" -lt 100 ]; then break; fi
    page=$((page + 1))
  done
  printf '%s\n' "$acc"
}
