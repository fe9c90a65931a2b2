//! A loopback stand-in of the parts of GitHub's REST API and GitLab's REST API (v4) that the CI
//! recipes' scripts (`examples/ci/scripts/`) call: pull-request comments, issues, the pull
//! request of a commit and its workflow runs (GitHub); merge-request notes, issues, the merge
//! request of a commit, its pipelines, jobs and job artifacts (GitLab).
//!
//! One server on port 0 answers both: GitHub under `/github` (the scripts' `GITHUB_API_URL`),
//! GitLab under `/gitlab/api/v4` (`CI_API_V4_URL`). Everything is kept in memory.
//!
//! What it checks, as the real APIs do (sources next to each rule):
//! - the token: GitHub `Authorization: Bearer|token <t>` (docs.github.com/en/rest/authentication/
//!   authenticating-to-the-rest-api), 401 `Bad credentials` / `Requires authentication`; GitLab
//!   `PRIVATE-TOKEN: <t>` or `Authorization: Bearer <t>` (docs.gitlab.com/ee/api/rest/
//!   authentication.html), 401 `{"message":"401 Unauthorized"}`;
//! - a read-only token (a fork's pull request: docs.github.com/en/actions/security-guides/
//!   automatic-token-authentication, "Permissions for the GITHUB_TOKEN") gets 403
//!   `Resource not accessible by integration` on every write;
//! - request bodies: JSON objects with the documented fields and types; GitHub answers 422
//!   `Validation Failed` (docs.github.com/en/rest/issues/comments, /rest/issues/issues: `body`
//!   required for comments, `title` for issues, `state` open|closed, `state_reason`
//!   completed|not_planned|reopened, a comment body at most 65536 characters), GitLab 400
//!   `{"error":"body is missing"}` / `title is missing` (docs.gitlab.com/ee/api/notes.html,
//!   /api/issues.html; `state_event` close|reopen, `labels` a comma-separated string);
//! - unknown repositories, projects, issues, pull and merge requests, comments and notes: 404;
//! - list pagination: `per_page` (default 30 on GitHub, 20 on GitLab; at most 100) and `page`
//!   (docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api,
//!   docs.gitlab.com/ee/api/rest/#pagination), so a script that reads one page only misses what
//!   is on the next;
//! - GitHub's issues list also returns pull requests, marked by a `pull_request` key
//!   (docs.github.com/en/rest/issues/issues, "List repository issues"); GitLab's notes list is
//!   newest first by default (`order_by=created_at`, `sort=desc`) and holds system notes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::server::BackgroundServer;

/// One request the stand-in answered.
#[derive(Debug, Clone)]
pub struct ForgeRequest {
    pub method: String,
    /// Path and query as sent (`/github/repos/o/r/issues/1/comments?per_page=100&page=1`).
    pub path: String,
    pub status: u16,
    /// The request's headers, lower-cased names (the token's value replaced by `<token>`).
    pub headers: BTreeMap<String, String>,
}

#[derive(Default)]
struct Repo {
    /// Issues and pull requests by number (one number space, as on GitHub).
    issues: BTreeMap<u64, Value>,
    /// Comments by id (each with `issue_number`).
    comments: BTreeMap<u64, Value>,
    /// Pull requests by the commit they were merged into (`GET /commits/{sha}/pulls`).
    commit_pulls: BTreeMap<String, Vec<Value>>,
    /// Workflow runs (`GET /actions/runs`).
    runs: Vec<Value>,
}

#[derive(Default)]
struct Project {
    /// Merge requests by iid.
    merge_requests: BTreeMap<u64, Value>,
    /// Notes by id (each with `noteable_type` and `noteable_iid`).
    notes: BTreeMap<u64, Value>,
    issues: BTreeMap<u64, Value>,
    pipelines: Vec<Value>,
    jobs: Vec<Value>,
    /// Artifact files by (job id, path).
    artifacts: BTreeMap<(u64, String), Vec<u8>>,
}

#[derive(Default)]
struct Shared {
    token: String,
    read_only: bool,
    repos: BTreeMap<String, Repo>,
    projects: BTreeMap<u64, Project>,
    next_id: u64,
    log: Vec<ForgeRequest>,
}

impl Shared {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The GitHub and GitLab stand-in.
pub struct Forge {
    server: BackgroundServer,
    shared: Arc<Mutex<Shared>>,
}

impl Forge {
    /// Starts on `127.0.0.1:0`, accepting `token` only.
    pub fn start(token: &str) -> std::io::Result<Forge> {
        let shared =
            Arc::new(Mutex::new(Shared { token: token.to_string(), next_id: 1000, ..Shared::default() }));
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = BackgroundServer::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            "forge",
            0,
            move |listener, shutdown| async move {
                let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
            },
        )?;
        Ok(Forge { server, shared })
    }

    /// `GITHUB_API_URL` for the scripts.
    pub fn github_api_url(&self) -> String {
        format!("http://{}/github", self.server.addr())
    }

    /// `CI_API_V4_URL` for the scripts.
    pub fn gitlab_api_url(&self) -> String {
        format!("http://{}/gitlab/api/v4", self.server.addr())
    }

    /// Writes are refused with 403, as with a fork's read-only `GITHUB_TOKEN`.
    pub fn set_read_only(&self, read_only: bool) {
        self.lock().read_only = read_only;
    }

    /// An open pull request `number` in `repo` (`owner/name`), created by `author`.
    pub fn add_pull(&self, repo: &str, number: u64, head_sha: &str, head_repo: &str) {
        let mut s = self.lock();
        let r = s.repos.entry(repo.to_string()).or_default();
        r.issues.insert(
            number,
            json!({
                "number": number, "title": format!("Pull request {number}"), "body": "", "state": "open",
                "labels": [], "pull_request": {"url": format!("/repos/{repo}/pulls/{number}")},
                "head": {"sha": head_sha, "repo": {"full_name": head_repo}},
            }),
        );
    }

    /// Marks pull request `number` merged into `merge_sha` (what `GET /commits/{sha}/pulls`
    /// answers for that commit).
    pub fn merge_pull(&self, repo: &str, number: u64, merge_sha: &str) {
        let mut s = self.lock();
        let r = s.repos.entry(repo.to_string()).or_default();
        let Some(issue) = r.issues.get_mut(&number) else { return };
        issue["state"] = json!("closed");
        let pull = json!({
            "number": number,
            "state": "closed",
            "merged_at": "2026-12-05T01:00:00Z",
            "merge_commit_sha": merge_sha,
            "head": issue["head"].clone(),
            "base": {"ref": "main"},
        });
        r.commit_pulls.entry(merge_sha.to_string()).or_default().push(pull);
    }

    /// A workflow run of the workflow file `path` on `head_sha` (event `pull_request`).
    pub fn add_run(&self, repo: &str, path: &str, head_sha: &str, head_repo: &str, conclusion: &str) -> u64 {
        let mut s = self.lock();
        let id = s.id();
        let r = s.repos.entry(repo.to_string()).or_default();
        r.runs.push(json!({
            "id": id, "path": path, "event": "pull_request", "head_sha": head_sha,
            "status": "completed", "conclusion": conclusion,
            "head_repository": {"full_name": head_repo},
        }));
        id
    }

    /// An empty repository (issues only).
    pub fn add_repo(&self, repo: &str) {
        self.lock().repos.entry(repo.to_string()).or_default();
    }

    /// The comments on issue or pull request `number`, oldest first.
    pub fn comments(&self, repo: &str, number: u64) -> Vec<Value> {
        let s = self.lock();
        s.repos
            .get(repo)
            .map(|r| r.comments.values().filter(|c| c["issue_number"] == json!(number)).cloned().collect())
            .unwrap_or_default()
    }

    /// A comment posted "by someone else" (as a reviewer would).
    pub fn add_comment(&self, repo: &str, number: u64, body: &str, login: &str) -> u64 {
        let mut s = self.lock();
        let id = s.id();
        let r = s.repos.entry(repo.to_string()).or_default();
        r.comments
            .insert(id, json!({"id": id, "issue_number": number, "body": body, "user": {"login": login}}));
        id
    }

    /// The repository's issues (not pull requests), by number.
    pub fn issues(&self, repo: &str) -> Vec<Value> {
        let s = self.lock();
        s.repos
            .get(repo)
            .map(|r| r.issues.values().filter(|i| i.get("pull_request").is_none()).cloned().collect())
            .unwrap_or_default()
    }

    /// A GitLab project with an open merge request `iid` from project `source_project_id`.
    pub fn add_merge_request(&self, project: u64, iid: u64, head_sha: &str, source_project_id: u64) {
        let mut s = self.lock();
        let id = s.id();
        let p = s.projects.entry(project).or_default();
        p.merge_requests.insert(
            iid,
            json!({"id": id, "iid": iid, "project_id": project, "state": "opened", "sha": head_sha,
                   "source_project_id": source_project_id, "target_project_id": project,
                   "merge_commit_sha": null, "squash_commit_sha": null}),
        );
    }

    /// Marks merge request `iid` merged into `merge_sha`.
    pub fn merge_merge_request(&self, project: u64, iid: u64, merge_sha: &str) {
        let mut s = self.lock();
        if let Some(mr) = s.projects.entry(project).or_default().merge_requests.get_mut(&iid) {
            mr["state"] = json!("merged");
            mr["merge_commit_sha"] = json!(merge_sha);
        }
    }

    /// A pipeline of merge request `iid` on `sha` with one job `job_name`, and its artifact
    /// files. Returns the job id.
    pub fn add_pipeline(
        &self,
        project: u64,
        iid: u64,
        sha: &str,
        status: &str,
        job_name: &str,
        artifacts: &[(&str, &[u8])],
    ) -> u64 {
        let mut s = self.lock();
        let pipeline = s.id();
        let job = s.id();
        let p = s.projects.entry(project).or_default();
        p.pipelines.push(json!({"id": pipeline, "iid": iid, "sha": sha, "status": status,
                                "ref": format!("refs/merge-requests/{iid}/head"), "source": "merge_request_event"}));
        p.jobs.push(json!({"id": job, "name": job_name, "status": status, "pipeline": {"id": pipeline}}));
        for (path, bytes) in artifacts {
            p.artifacts.insert((job, (*path).to_string()), bytes.to_vec());
        }
        job
    }

    /// An empty GitLab project.
    pub fn add_project(&self, project: u64) {
        self.lock().projects.entry(project).or_default();
    }

    /// The notes on merge request `iid`, oldest first.
    pub fn merge_request_notes(&self, project: u64, iid: u64) -> Vec<Value> {
        let s = self.lock();
        s.projects
            .get(&project)
            .map(|p| {
                p.notes
                    .values()
                    .filter(|n| n["noteable_type"] == "MergeRequest" && n["noteable_iid"] == json!(iid))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A note "by someone else" (`system`: a GitLab system note such as "added 1 commit").
    pub fn add_merge_request_note(&self, project: u64, iid: u64, body: &str, system: bool) -> u64 {
        let mut s = self.lock();
        let id = s.id();
        let p = s.projects.entry(project).or_default();
        p.notes.insert(
            id,
            json!({"id": id, "body": body, "system": system, "noteable_type": "MergeRequest",
                   "noteable_iid": iid, "author": {"username": "reviewer"}}),
        );
        id
    }

    /// The notes on issue `iid`, oldest first.
    pub fn issue_notes(&self, project: u64, iid: u64) -> Vec<Value> {
        let s = self.lock();
        s.projects
            .get(&project)
            .map(|p| {
                p.notes
                    .values()
                    .filter(|n| n["noteable_type"] == "Issue" && n["noteable_iid"] == json!(iid))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The project's issues by iid.
    pub fn gitlab_issues(&self, project: u64) -> Vec<Value> {
        let s = self.lock();
        s.projects.get(&project).map(|p| p.issues.values().cloned().collect()).unwrap_or_default()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<ForgeRequest> {
        self.lock().log.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type St = State<Arc<Mutex<Shared>>>;

/// An answer: status, and a JSON body or raw bytes.
enum Answer {
    Json(StatusCode, Value),
    Bytes(Vec<u8>),
}

fn gh_error(status: StatusCode, message: &str) -> Answer {
    Answer::Json(status, json!({"message": message, "documentation_url": "https://docs.github.com/rest"}))
}

/// GitHub's 422 (docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api).
fn gh_invalid(resource: &str, field: &str, code: &str) -> Answer {
    Answer::Json(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"message": "Validation Failed",
               "errors": [{"resource": resource, "field": field, "code": code}],
               "documentation_url": "https://docs.github.com/rest"}),
    )
}

fn gl_error(status: StatusCode, message: &str) -> Answer {
    if status == StatusCode::BAD_REQUEST {
        Answer::Json(status, json!({"error": message}))
    } else {
        Answer::Json(status, json!({"message": message}))
    }
}

async fn handle(State(shared): St, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path_and_query = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let query: BTreeMap<String, String> =
        uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    let token = s.token.clone();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let answer = if let Some(rest) = uri.path().strip_prefix("/github/") {
        let segs: Vec<&str> = rest.split('/').collect();
        match header("authorization") {
            None => gh_error(StatusCode::UNAUTHORIZED, "Requires authentication"),
            Some(a)
                if a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("token ")) != Some(token.as_str()) =>
            {
                gh_error(StatusCode::UNAUTHORIZED, "Bad credentials")
            }
            Some(_) => match header("x-github-api-version") {
                // GitHub answers 400 to an API version it does not know
                // (docs.github.com/en/rest/about-the-rest-api/api-versions).
                Some(v) if v != "2022-11-28" && v != "2026-03-10" => {
                    gh_error(StatusCode::BAD_REQUEST, &format!("API version {v} is not supported."))
                }
                _ => github(&mut s, &method, &segs, &query, &body),
            },
        }
    } else if let Some(rest) = uri.path().strip_prefix("/gitlab/api/v4/") {
        let segs: Vec<&str> = rest.split('/').collect();
        let given = header("private-token")
            .or_else(|| header("authorization").and_then(|a| a.strip_prefix("Bearer ").map(str::to_string)));
        if given.as_deref() != Some(token.as_str()) {
            gl_error(StatusCode::UNAUTHORIZED, "401 Unauthorized")
        } else {
            gitlab(&mut s, &method, &segs, &query, &body)
        }
    } else {
        Answer::Json(StatusCode::NOT_FOUND, json!({"message": "Not Found"}))
    };
    let mut logged: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &headers {
        let v = v.to_str().unwrap_or("").replace(&token, "<token>");
        logged.insert(k.as_str().to_ascii_lowercase(), v);
    }
    let status = match &answer {
        Answer::Json(st, _) => st.as_u16(),
        Answer::Bytes(_) => 200,
    };
    s.log.push(ForgeRequest { method: method.to_string(), path: path_and_query, status, headers: logged });
    drop(s);
    match answer {
        Answer::Json(st, v) => (st, axum::Json(v)).into_response(),
        Answer::Bytes(b) => (StatusCode::OK, b).into_response(),
    }
}

/// `per_page` (default `default`, at most 100) and `page` (from 1) over `items`.
fn page(items: Vec<Value>, query: &BTreeMap<String, String>, default: usize) -> Value {
    let per = query.get("per_page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(default).clamp(1, 100);
    let page = query.get("page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1);
    Value::Array(items.into_iter().skip((page - 1) * per).take(per).collect())
}

/// The request body as a JSON object, or the answer to send instead.
fn object(body: &Bytes, github: bool) -> Result<Map<String, Value>, Answer> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ if github => Err(gh_error(StatusCode::BAD_REQUEST, "Problems parsing JSON")),
        _ => Err(gl_error(StatusCode::BAD_REQUEST, "400 Bad request - body is not a JSON object")),
    }
}

fn github(
    s: &mut Shared,
    method: &Method,
    segs: &[&str],
    query: &BTreeMap<String, String>,
    body: &Bytes,
) -> Answer {
    let [first, owner, name, rest @ ..] = segs else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found");
    };
    if *first != "repos" {
        return gh_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let repo_name = format!("{owner}/{name}");
    if !s.repos.contains_key(&repo_name) {
        return gh_error(StatusCode::NOT_FOUND, "Not Found");
    }
    if *method != Method::GET && s.read_only {
        return gh_error(StatusCode::FORBIDDEN, "Resource not accessible by integration");
    }
    let new_id = s.id();
    let Some(repo) = s.repos.get_mut(&repo_name) else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found");
    };
    match (method.as_str(), rest) {
        ("GET", ["issues"]) => {
            let state = query.get("state").map(String::as_str).unwrap_or("open");
            let labels: Vec<&str> = query
                .get("labels")
                .map(|l| l.split(',').filter(|x| !x.is_empty()).collect())
                .unwrap_or_default();
            let items: Vec<Value> = repo
                .issues
                .values()
                .rev() // newest first (default sort: created, desc)
                .filter(|i| state == "all" || i["state"] == state)
                .filter(|i| {
                    labels
                        .iter()
                        .all(|l| i["labels"].as_array().is_some_and(|a| a.iter().any(|x| x["name"] == *l)))
                })
                .cloned()
                .collect();
            Answer::Json(StatusCode::OK, page(items, query, 30))
        }
        ("POST", ["issues"]) => {
            let b = match object(body, true) {
                Ok(b) => b,
                Err(a) => return a,
            };
            let Some(title) = b.get("title").and_then(Value::as_str).filter(|t| !t.is_empty()) else {
                return gh_invalid("Issue", "title", "missing_field");
            };
            let text = match b.get("body") {
                None | Some(Value::Null) => Value::Null,
                Some(Value::String(t)) => json!(t),
                Some(_) => return gh_invalid("Issue", "body", "invalid"),
            };
            let labels: Vec<Value> = match b.get("labels") {
                None => Vec::new(),
                Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
                    a.iter().map(|l| json!({"name": l})).collect()
                }
                Some(_) => return gh_invalid("Issue", "labels", "invalid"),
            };
            let number = repo.issues.keys().max().copied().unwrap_or(0) + 1;
            let issue = json!({"id": new_id, "number": number, "title": title, "body": text,
                               "labels": labels, "state": "open", "state_reason": null});
            repo.issues.insert(number, issue.clone());
            Answer::Json(StatusCode::CREATED, issue)
        }
        ("PATCH", ["issues", n]) => {
            let Some(issue) = n.parse::<u64>().ok().and_then(|n| repo.issues.get_mut(&n)) else {
                return gh_error(StatusCode::NOT_FOUND, "Not Found");
            };
            let b = match object(body, true) {
                Ok(b) => b,
                Err(a) => return a,
            };
            for (k, v) in &b {
                match (k.as_str(), v) {
                    ("title", Value::String(_)) | ("body", Value::String(_) | Value::Null) => {
                        issue[k] = v.clone()
                    }
                    ("state", Value::String(st)) if st == "open" || st == "closed" => issue[k] = v.clone(),
                    ("state_reason", Value::String(r))
                        if ["completed", "not_planned", "reopened"].contains(&r.as_str()) =>
                    {
                        issue[k] = v.clone()
                    }
                    ("state_reason", Value::Null) => issue[k] = Value::Null,
                    ("labels", Value::Array(a)) if a.iter().all(Value::is_string) => {
                        issue["labels"] = Value::Array(a.iter().map(|l| json!({"name": l})).collect())
                    }
                    ("title" | "body" | "state" | "state_reason" | "labels", _) => {
                        return gh_invalid("Issue", k, "invalid")
                    }
                    _ => {} // other documented fields (assignees, milestone…): accepted, unused
                }
            }
            Answer::Json(StatusCode::OK, issue.clone())
        }
        ("GET", ["issues", n, "comments"]) => {
            let Some(n) = n.parse::<u64>().ok().filter(|n| repo.issues.contains_key(n)) else {
                return gh_error(StatusCode::NOT_FOUND, "Not Found");
            };
            // Ascending id, as documented ("By default, issue comments are ordered by ascending ID").
            let items = repo.comments.values().filter(|c| c["issue_number"] == json!(n)).cloned().collect();
            Answer::Json(StatusCode::OK, page(items, query, 30))
        }
        ("POST", ["issues", n, "comments"]) => {
            let Some(n) = n.parse::<u64>().ok().filter(|n| repo.issues.contains_key(n)) else {
                return gh_error(StatusCode::NOT_FOUND, "Not Found");
            };
            let b = match object(body, true) {
                Ok(b) => b,
                Err(a) => return a,
            };
            let text = match comment_body(&b) {
                Ok(t) => t,
                Err(a) => return a,
            };
            let c = json!({"id": new_id, "issue_number": n, "body": text,
                           "user": {"login": "github-actions[bot]", "type": "Bot"}});
            repo.comments.insert(new_id, c.clone());
            Answer::Json(StatusCode::CREATED, c)
        }
        ("PATCH", ["issues", "comments", id]) => {
            let Some(c) = id.parse::<u64>().ok().and_then(|id| repo.comments.get_mut(&id)) else {
                return gh_error(StatusCode::NOT_FOUND, "Not Found");
            };
            let b = match object(body, true) {
                Ok(b) => b,
                Err(a) => return a,
            };
            let text = match comment_body(&b) {
                Ok(t) => t,
                Err(a) => return a,
            };
            c["body"] = json!(text);
            Answer::Json(StatusCode::OK, c.clone())
        }
        ("GET", ["commits", sha, "pulls"]) => {
            Answer::Json(StatusCode::OK, json!(repo.commit_pulls.get(*sha).cloned().unwrap_or_default()))
        }
        ("GET", ["actions", "runs"]) => {
            let runs: Vec<Value> = repo
                .runs
                .iter()
                .rev()
                .filter(|r| query.get("event").is_none_or(|e| r["event"] == e.as_str()))
                .filter(|r| query.get("head_sha").is_none_or(|h| r["head_sha"] == h.as_str()))
                .filter(|r| {
                    // `status` takes a status or a conclusion (docs.github.com/en/rest/actions/workflow-runs).
                    query
                        .get("status")
                        .is_none_or(|st| r["status"] == st.as_str() || r["conclusion"] == st.as_str())
                })
                .cloned()
                .collect();
            let total = runs.len();
            Answer::Json(
                StatusCode::OK,
                json!({"total_count": total, "workflow_runs": page(runs, query, 30)}),
            )
        }
        _ => gh_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// A comment's `body`: required, a string of at most 65536 characters.
fn comment_body(b: &Map<String, Value>) -> Result<String, Answer> {
    match b.get("body") {
        Some(Value::String(t)) if t.chars().count() <= 65536 => Ok(t.clone()),
        Some(Value::String(_)) => Err(Answer::Json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Validation Failed",
                   "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                               "message": "body is too long (maximum is 65536 characters)"}]}),
        )),
        None => Err(gh_invalid("IssueComment", "body", "missing_field")),
        Some(_) => Err(gh_invalid("IssueComment", "body", "invalid")),
    }
}

fn gitlab(
    s: &mut Shared,
    method: &Method,
    segs: &[&str],
    query: &BTreeMap<String, String>,
    body: &Bytes,
) -> Answer {
    let ["projects", id, rest @ ..] = segs else {
        return gl_error(StatusCode::NOT_FOUND, "404 Not Found");
    };
    let Some(pid) = id.parse::<u64>().ok().filter(|p| s.projects.contains_key(p)) else {
        return gl_error(StatusCode::NOT_FOUND, "404 Project Not Found");
    };
    let new_id = s.id();
    let Some(p) = s.projects.get_mut(&pid) else {
        return gl_error(StatusCode::NOT_FOUND, "404 Project Not Found");
    };
    let parse = |b: &Bytes| object(b, false);
    match (method.as_str(), rest) {
        ("GET", ["merge_requests", iid, "notes"]) | ("GET", ["issues", iid, "notes"]) => {
            let (kind, exists) = noteable(p, rest[0], iid);
            let Some(iid) = exists else { return gl_error(StatusCode::NOT_FOUND, "404 Not found") };
            let mut items: Vec<Value> = p
                .notes
                .values()
                .filter(|n| n["noteable_type"] == kind && n["noteable_iid"] == json!(iid))
                .cloned()
                .collect();
            if query.get("sort").map(String::as_str) != Some("asc") {
                items.reverse();
            }
            Answer::Json(StatusCode::OK, page(items, query, 20))
        }
        ("POST", ["merge_requests", iid, "notes"]) | ("POST", ["issues", iid, "notes"]) => {
            let (kind, exists) = noteable(p, rest[0], iid);
            let Some(iid) = exists else { return gl_error(StatusCode::NOT_FOUND, "404 Not found") };
            let b = match parse(body) {
                Ok(b) => b,
                Err(a) => return a,
            };
            let Some(text) = b.get("body").and_then(Value::as_str).filter(|t| !t.is_empty()) else {
                return gl_error(StatusCode::BAD_REQUEST, "body is missing");
            };
            let n = json!({"id": new_id, "body": text, "system": false, "noteable_type": kind,
                           "noteable_iid": iid, "author": {"username": "project_bot"}});
            p.notes.insert(new_id, n.clone());
            Answer::Json(StatusCode::CREATED, n)
        }
        ("PUT", ["merge_requests", iid, "notes", note]) => {
            let (_, exists) = noteable(p, "merge_requests", iid);
            let Some(iid) = exists else { return gl_error(StatusCode::NOT_FOUND, "404 Not found") };
            let b = match parse(body) {
                Ok(b) => b,
                Err(a) => return a,
            };
            let Some(n) = note
                .parse::<u64>()
                .ok()
                .and_then(|id| p.notes.get_mut(&id))
                .filter(|n| n["noteable_type"] == "MergeRequest" && n["noteable_iid"] == json!(iid))
            else {
                return gl_error(StatusCode::NOT_FOUND, "404 Note Not Found");
            };
            let Some(text) = b.get("body").and_then(Value::as_str).filter(|t| !t.is_empty()) else {
                return gl_error(StatusCode::BAD_REQUEST, "body is missing");
            };
            n["body"] = json!(text);
            Answer::Json(StatusCode::OK, n.clone())
        }
        ("GET", ["issues"]) => {
            let state = query.get("state").map(String::as_str).unwrap_or("all");
            let labels: Vec<&str> = query
                .get("labels")
                .map(|l| l.split(',').filter(|x| !x.is_empty()).collect())
                .unwrap_or_default();
            let items: Vec<Value> = p
                .issues
                .values()
                .rev()
                .filter(|i| state == "all" || i["state"] == state)
                .filter(|i| {
                    labels.iter().all(|l| i["labels"].as_array().is_some_and(|a| a.iter().any(|x| x == *l)))
                })
                .cloned()
                .collect();
            Answer::Json(StatusCode::OK, page(items, query, 20))
        }
        ("POST", ["issues"]) => {
            let b = match parse(body) {
                Ok(b) => b,
                Err(a) => return a,
            };
            let Some(title) = b.get("title").and_then(Value::as_str).filter(|t| !t.is_empty()) else {
                return gl_error(StatusCode::BAD_REQUEST, "title is missing");
            };
            let labels = match gl_labels(b.get("labels")) {
                Ok(l) => l,
                Err(a) => return a,
            };
            let iid = p.issues.keys().max().copied().unwrap_or(0) + 1;
            let issue = json!({"id": new_id, "iid": iid, "project_id": pid, "title": title,
                               "description": b.get("description").cloned().unwrap_or(Value::Null),
                               "labels": labels, "state": "opened"});
            p.issues.insert(iid, issue.clone());
            Answer::Json(StatusCode::CREATED, issue)
        }
        ("PUT", ["issues", iid]) => {
            let Some(issue) = iid.parse::<u64>().ok().and_then(|i| p.issues.get_mut(&i)) else {
                return gl_error(StatusCode::NOT_FOUND, "404 Not found");
            };
            let b = match parse(body) {
                Ok(b) => b,
                Err(a) => return a,
            };
            for (k, v) in &b {
                match (k.as_str(), v) {
                    ("title" | "description", Value::String(_)) => issue[k] = v.clone(),
                    ("state_event", Value::String(e)) if e == "close" => issue["state"] = json!("closed"),
                    ("state_event", Value::String(e)) if e == "reopen" => issue["state"] = json!("opened"),
                    ("state_event", _) => {
                        return gl_error(StatusCode::BAD_REQUEST, "state_event does not have a valid value")
                    }
                    ("labels", _) => match gl_labels(Some(v)) {
                        Ok(l) => issue["labels"] = l,
                        Err(a) => return a,
                    },
                    _ => {}
                }
            }
            Answer::Json(StatusCode::OK, issue.clone())
        }
        ("GET", ["repository", "commits", sha, "merge_requests"]) => {
            let items: Vec<Value> = p
                .merge_requests
                .values()
                .filter(|m| m["merge_commit_sha"] == *sha || m["sha"] == *sha)
                .cloned()
                .collect();
            Answer::Json(StatusCode::OK, json!(items))
        }
        ("GET", ["merge_requests", iid, "pipelines"]) => {
            let Some(iid) = iid.parse::<u64>().ok().filter(|i| p.merge_requests.contains_key(i)) else {
                return gl_error(StatusCode::NOT_FOUND, "404 Not found");
            };
            let items: Vec<Value> =
                p.pipelines.iter().rev().filter(|pl| pl["iid"] == json!(iid)).cloned().collect();
            Answer::Json(StatusCode::OK, page(items, query, 20))
        }
        ("GET", ["pipelines", pl, "jobs"]) => {
            let Some(pl) =
                pl.parse::<u64>().ok().filter(|id| p.pipelines.iter().any(|x| x["id"] == json!(id)))
            else {
                return gl_error(StatusCode::NOT_FOUND, "404 Not found");
            };
            let items: Vec<Value> = p
                .jobs
                .iter()
                .filter(|j| j["pipeline"]["id"] == json!(pl))
                .filter(|j| query.get("scope").is_none_or(|sc| j["status"] == sc.as_str()))
                .cloned()
                .collect();
            Answer::Json(StatusCode::OK, page(items, query, 20))
        }
        ("GET", ["jobs", job, "artifacts", path @ ..]) => {
            let key = (job.parse::<u64>().unwrap_or(0), path.join("/"));
            match p.artifacts.get(&key) {
                Some(b) => Answer::Bytes(b.clone()),
                None => gl_error(StatusCode::NOT_FOUND, "404 Not found"),
            }
        }
        _ => gl_error(StatusCode::NOT_FOUND, "404 Not Found"),
    }
}

/// The noteable type for a path segment and the iid when it exists.
fn noteable(p: &Project, segment: &str, iid: &str) -> (&'static str, Option<u64>) {
    let iid = iid.parse::<u64>().ok();
    if segment == "merge_requests" {
        ("MergeRequest", iid.filter(|i| p.merge_requests.contains_key(i)))
    } else {
        ("Issue", iid.filter(|i| p.issues.contains_key(i)))
    }
}

/// GitLab's `labels`: a comma-separated string (or, as the API also takes, an array of strings).
fn gl_labels(v: Option<&Value>) -> Result<Value, Answer> {
    match v {
        None | Some(Value::Null) => Ok(json!([])),
        Some(Value::String(s)) => Ok(Value::Array(
            s.split(',').map(str::trim).filter(|l| !l.is_empty()).map(|l| json!(l)).collect(),
        )),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(Value::Array(a.clone())),
        Some(_) => Err(gl_error(StatusCode::BAD_REQUEST, "labels is invalid")),
    }
}
