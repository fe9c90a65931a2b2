//! Who is changing things, from which commit, and when: recorded in locks and history entries.

use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{SecondsFormat, Utc};

/// CI variables naming the person who started the run, most specific first.
const CI_ACTOR_VARS: &[&str] = &[
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
    "CIRCLE_USERNAME",
    "BUILD_USER_ID", // Jenkins (build-user-vars plugin)
];

/// CI variables holding the commit being built.
const CI_REVISION_VARS: &[&str] = &["GITHUB_SHA", "CI_COMMIT_SHA"];

/// Who is running watchkeep: `WATCHKEEP_ACTOR`, else the CI user, else `git config user.email`,
/// else `$USER@host`.
pub fn actor() -> String {
    actor_with(&env_var, git_user_email, hostname)
}

/// The commit the configuration in `dir` comes from: `GITHUB_SHA` / `CI_COMMIT_SHA`, else
/// `git rev-parse HEAD` with `-dirty` appended when the work tree has changes. `None` outside git.
pub fn source_revision(dir: &Path) -> Option<String> {
    source_revision_with(dir, &env_var)
}

/// Now, as RFC 3339 in UTC with second precision, e.g. `2026-01-02T03:04:05Z`.
pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn hostname() -> String {
    let name = gethostname::gethostname().to_string_lossy().trim().to_string();
    if name.is_empty() {
        "unknown".to_string()
    } else {
        name
    }
}

/// A set, non-blank environment variable, trimmed.
fn env_var(key: &str) -> Option<String> {
    std::env::var(key).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn actor_with(
    env: &dyn Fn(&str) -> Option<String>,
    git_email: impl FnOnce() -> Option<String>,
    host: impl FnOnce() -> String,
) -> String {
    if let Some(a) = env("WATCHKEEP_ACTOR") {
        return a;
    }
    if let Some(a) = CI_ACTOR_VARS.iter().find_map(|k| env(k)) {
        return a;
    }
    if let Some(email) = git_email() {
        return email;
    }
    let user = env("USER").or_else(|| env("USERNAME")).unwrap_or_else(|| "unknown".to_string());
    format!("{user}@{}", host())
}

fn source_revision_with(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(sha) = CI_REVISION_VARS.iter().find_map(|k| env(k)) {
        return Some(sha);
    }
    let head = git(dir, &["rev-parse", "HEAD"])?;
    if head.is_empty() {
        return None;
    }
    // A failing `git status` leaves the revision unmarked rather than losing it.
    let dirty = git(dir, &["status", "--porcelain"]).is_some_and(|s| is_dirty(&s));
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// Whether `git status --porcelain` output shows changes, not counting watchkeep's own state
/// directory: every apply rewrites it, so counting it would mark every revision dirty.
fn is_dirty(porcelain: &str) -> bool {
    porcelain.lines().filter(|l| !l.trim().is_empty()).any(|line| {
        let path = line.get(3..).unwrap_or("").trim_matches('"');
        let path = path.rsplit(" -> ").next().unwrap_or(path).trim_matches('"');
        !(path == ".watchkeep/" || path.starts_with(".watchkeep/") || path.contains("/.watchkeep/"))
    })
}

fn git_user_email() -> Option<String> {
    git(Path::new("."), &["config", "user.email"]).filter(|e| !e.is_empty())
}

/// Runs `git -C dir <args>`; trimmed stdout on success, `None` on any failure (no git, not a repo).
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn actor_precedence() {
        let email = || Some("dev@example.com".to_string());
        let host = || "box".to_string();
        let env = env_of(&[("WATCHKEEP_ACTOR", "release-bot"), ("GITHUB_ACTOR", "octocat")]);
        assert_eq!(actor_with(&env, email, host), "release-bot");
        let env = env_of(&[("GITLAB_USER_LOGIN", "gl-user"), ("USER", "me")]);
        assert_eq!(actor_with(&env, email, host), "gl-user");
        let env = env_of(&[("BUILDKITE_BUILD_CREATOR", "Bk User")]);
        assert_eq!(actor_with(&env, email, host), "Bk User");
        let env = env_of(&[("USER", "me")]);
        assert_eq!(actor_with(&env, email, host), "dev@example.com");
        assert_eq!(actor_with(&env, || None, host), "me@box");
        assert_eq!(actor_with(&env_of(&[]), || None, host), "unknown@box");
        assert!(!actor().is_empty());
    }

    #[test]
    fn revision_from_ci_env() {
        let env = env_of(&[("CI_COMMIT_SHA", "deadbeef")]);
        assert_eq!(source_revision_with(Path::new("/nonexistent"), &env), Some("deadbeef".to_string()));
    }

    #[test]
    fn revision_from_git() {
        let dir = tempfile::tempdir().expect("tempdir");
        let none = env_of(&[]);
        assert_eq!(source_revision_with(dir.path(), &none), None, "not a repository");

        let run = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !run(&["init", "-q"]) {
            return; // no git here
        }
        assert_eq!(source_revision_with(dir.path(), &none), None, "no commit yet");
        std::fs::write(dir.path().join("main.hcl"), "x = 1\n").expect("write");
        assert!(run(&["add", "main.hcl"]));
        assert!(run(&["-c", "user.email=t@e", "-c", "user.name=t", "commit", "-q", "-m", "init"]));
        let clean = source_revision_with(dir.path(), &none).expect("revision");
        assert_eq!(clean.len(), 40, "{clean}");

        std::fs::create_dir(dir.path().join(".watchkeep")).expect("mkdir");
        std::fs::write(dir.path().join(".watchkeep/state.json"), "{}").expect("write");
        assert_eq!(source_revision_with(dir.path(), &none), Some(clean.clone()), "state dir ignored");

        std::fs::write(dir.path().join("main.hcl"), "x = 2\n").expect("write");
        assert_eq!(source_revision_with(dir.path(), &none), Some(format!("{clean}-dirty")));
    }

    #[test]
    fn dirty_detection_ignores_state_dir() {
        assert!(!is_dirty(""));
        assert!(!is_dirty("?? .watchkeep/\n"));
        assert!(!is_dirty(" M .watchkeep/state.json\n?? infra/.watchkeep/history/000001-x.json\n"));
        assert!(is_dirty(" M main.hcl\n"));
        assert!(is_dirty("R  old.hcl -> new.hcl\n"));
        assert!(is_dirty("?? \"odd name.hcl\"\n"));
    }

    #[test]
    fn now_is_utc_seconds() {
        let now = now_rfc3339();
        assert!(now.ends_with('Z') && now.len() == 20, "{now}");
    }
}
