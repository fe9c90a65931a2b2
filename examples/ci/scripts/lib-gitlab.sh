# shellcheck shell=bash
# Shared by the gitlab-*.sh scripts (sourced, not run): one function that calls GitLab's REST API.
#
# Reads the environment as GitLab CI sets it:
#   CI_API_V4_URL   https://gitlab.example.com/api/v4
#   CI_PROJECT_ID   the project's numeric id
# and the token from WATCHKEEP_GITLAB_TOKEN (a project access token with the `api` scope, kept as a
# masked CI/CD variable: CI_JOB_TOKEN cannot write notes or issues), sent as the `PRIVATE-TOKEN`
# header (docs.gitlab.com/ee/api/rest/authentication.html). The token never appears on a command
# line (curl reads the header from a 0600 file) nor in any output. Needs curl and jq.

set +x

gl_require_env() {
  local missing=""
  for v in "$@"; do
    if [ -z "${!v:-}" ]; then missing="$missing $v"; fi
  done
  if [ -n "$missing" ]; then
    echo "error: missing environment variable(s):$missing (CI_* are set by GitLab CI; WATCHKEEP_GITLAB_TOKEN is a masked CI/CD variable holding a project access token with the api scope)" >&2
    exit 1
  fi
}

# gl_api METHOD PATH [JSON_BODY_FILE]: prints the answer's body; fails on anything but 2xx.
gl_api() {
  local method="$1" path="$2" data="${3:-}" out hdr code base="${CI_API_V4_URL%/}"
  out=$(mktemp)
  hdr=$(mktemp)
  chmod 600 "$hdr"
  {
    printf 'PRIVATE-TOKEN: %s\n' "$WATCHKEEP_GITLAB_TOKEN"
    if [ -n "$data" ]; then printf 'Content-Type: application/json\n'; fi
  } >"$hdr"
  local args=(-sS -o "$out" -w '%{http_code}' -X "$method" -H "@$hdr")
  if [ -n "$data" ]; then args+=(--data-binary "@$data"); fi
  if ! code=$(curl "${args[@]}" "$base$path"); then
    rm -f "$out" "$hdr"
    echo "error: $method $base$path: no answer (curl failed)" >&2
    return 1
  fi
  rm -f "$hdr"
  if [ "$code" -lt 200 ] || [ "$code" -ge 300 ]; then
    echo "error: $method $path: GitLab answered HTTP $code: $(head -c 400 "$out")" >&2
    if [ "$code" = 401 ] || [ "$code" = 403 ]; then
      echo "hint: WATCHKEEP_GITLAB_TOKEN must be a token with the api scope and at least the Reporter role (Developer to close issues)" >&2
    fi
    rm -f "$out"
    return 1
  fi
  cat "$out"
  rm -f "$out"
}

# gl_list PATH_WITH_QUERY: every page (per_page=100, `page` until a short page;
# docs.gitlab.com/ee/api/rest/#pagination), as one JSON array.
gl_list() {
  local path="$1" page=1 sep="?" acc got n
  case "$path" in *\?*) sep="&" ;; esac
  acc='[]'
  while :; do
    got=$(gl_api GET "$path${sep}per_page=100&page=$page") || return 1
    n=$(printf '%s' "$got" | jq 'length')
    acc=$(jq -n --argjson a "$acc" --argjson b "$got" '$a + $b')
    if [ "$n" -lt 100 ]; then break; fi
    page=$((page + 1))
  done
  printf '%s\n' "$acc"
}

# gl_download PATH OUT_FILE: a raw (binary) answer into OUT_FILE; fails on anything but 2xx.
gl_download() {
  local path="$1" dest="$2" hdr code base="${CI_API_V4_URL%/}"
  hdr=$(mktemp)
  chmod 600 "$hdr"
  printf 'PRIVATE-TOKEN: %s\n' "$WATCHKEEP_GITLAB_TOKEN" >"$hdr"
  if ! code=$(curl -sS -L -o "$dest" -w '%{http_code}' -H "@$hdr" "$base$path"); then
    rm -f "$hdr" "$dest"
    echo "error: GET $base$path: no answer (curl failed)" >&2
    return 1
  fi
  rm -f "$hdr"
  if [ "$code" -lt 200 ] || [ "$code" -ge 300 ]; then
    echo "error: GET $path: GitLab answered HTTP $code" >&2
    rm -f "$dest"
    return 1
  fi
}
