//! `state "s3"` against moto's S3 server (one moto per test binary, `support::moto()`), with the
//! Datadog stand-in: the lock taken by conditional writes and reported with its holder's details,
//! a lock left by `kill -9` held until `force-unlock`, `plan` holding the lock (`-lock=false`
//! skipping it), the versioning warning, and `state migrate` local → s3 → local.

use std::time::{Duration, Instant};

use serde_json::Value;
use watchkeep_tests::{DatadogStandIn, StandInOptions};

use crate::support::*;

const KEY: &str = "team/watchkeep.json";

/// A fresh bucket on moto, versioned or not. Unsigned path-style requests: moto checks no
/// signature.
fn bucket(name: &str, versioned: bool) -> String {
    let bucket = format!("wk-{name}-{}", std::process::id());
    let base = moto().endpoint_url();
    let http = reqwest::blocking::Client::new();
    let r = http.put(format!("{base}/{bucket}")).send().expect("create bucket");
    assert!(r.status().is_success(), "create bucket: {}", r.status());
    if versioned {
        let body = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
        let r = http.put(format!("{base}/{bucket}?versioning")).body(body).send().expect("versioning");
        assert!(r.status().is_success(), "enable versioning: {}", r.status());
    }
    bucket
}

/// moto answers an anonymous GET with 403 (as S3 does for a private object) and checks no
/// signature: any SigV4-shaped header makes the request an authenticated one.
const FAKE_SIGV4: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";

/// The object `key` in `bucket`, or `None`.
fn object(bucket: &str, key: &str) -> Option<Vec<u8>> {
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/{bucket}/{key}", moto().endpoint_url()))
        .header("Authorization", FAKE_SIGV4)
        .send()
        .expect("GET object");
    if r.status().as_u16() == 404 {
        return None;
    }
    assert!(r.status().is_success(), "GET {key}: {}", r.status());
    Some(r.bytes().expect("body").to_vec())
}

fn json_object(bucket: &str, key: &str) -> Value {
    serde_json::from_slice(&object(bucket, key).unwrap_or_else(|| panic!("{key} is missing"))).expect("JSON")
}

fn s3_block(bucket: &str) -> String {
    format!(
        "watchkeep {{\n  state \"s3\" {{\n    bucket = \"{bucket}\"\n    key = \"{KEY}\"\n    region = \"us-east-1\"\n    endpoint_url = \"{}\"\n    force_path_style = true\n  }}\n}}\n",
        moto().endpoint_url()
    )
}

fn slow_standin() -> DatadogStandIn {
    DatadogStandIn::start(StandInOptions {
        latency: Duration::from_millis(100),
        rate_limit: None,
        ..Default::default()
    })
    .expect("stand-in")
}

/// Waits until the S3 lock object exists (an apply has taken the lock).
fn wait_for_lock(bucket: &str) -> Value {
    let t = Instant::now();
    loop {
        if let Some(bytes) = object(bucket, &format!("{KEY}.lock")) {
            return serde_json::from_slice(&bytes).expect("lock JSON");
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no lock object appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_concurrent_applies_one_is_refused_with_the_holders_details() {
    let s = slow_standin();
    let bucket = bucket("concurrent", false);
    let ws = Workspace::on(&s, "s3-concurrent");
    ws.write("main.hcl", &format!("{}{}", s3_block(&bucket), raw_monitors_config(12, None)));

    let first = ws
        .command(&["apply", "-auto-approve", "-parallelism=1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("apply");
    let lock = wait_for_lock(&bucket);
    assert_eq!(lock["operation"], "apply");
    let second = ws.run(&["apply", "-auto-approve"]);
    second.expect_code(1);
    let err = second.stderr();
    let id = lock["id"].as_str().expect("lock id");
    assert!(err.contains("state is locked by e2e@example.com"), "{err}");
    assert!(err.contains("operation apply"), "{err}");
    assert!(err.contains(lock["created"].as_str().expect("created")), "{err}");
    assert!(err.contains(&format!("lock id {id}")), "{err}");
    assert!(err.contains(&format!("s3://{bucket}/{KEY}.lock")), "{err}");
    assert!(!err.contains("stale"), "an S3 lock is never called stale: {err}");

    let out = first.wait_with_output().expect("first apply");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("versioning is not enabled on bucket"), "{stderr}");
    assert_eq!(stderr.matches("versioning is not enabled").count(), 1, "once per command: {stderr}");

    // The refused apply changed nothing: 12 monitors, one history entry, state at serial 1.
    assert_eq!(ws.monitors_on(&s).len(), 12, "no duplicates from the refused apply");
    let state = json_object(&bucket, KEY);
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(12));
    assert!(object(&bucket, &format!("{KEY}.lock")).is_none(), "the lock was released");
    let hist = ws.run(&["history", "--json"]);
    hist.expect_code(0);
    assert_eq!(hist.json().as_array().map(Vec::len), Some(1), "{}", hist.stdout());
    assert!(!ws.path().join(".watchkeep").exists(), "nothing was written locally");
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

#[test]
fn kill_9_leaves_the_s3_lock_until_force_unlock_and_plan_respects_it() {
    let s = slow_standin();
    let bucket = bucket("kill9", true);
    let ws = Workspace::on(&s, "s3-kill9");
    ws.write("main.hcl", &format!("{}{}", s3_block(&bucket), raw_monitors_config(40, None)));

    let mut child = ws
        .command(&["apply", "-auto-approve", "-parallelism=1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("apply");
    let lock = wait_for_lock(&bucket);
    let t = Instant::now();
    while ws.monitors_on(&s).len() < 3 {
        assert!(t.elapsed() < Duration::from_secs(30), "apply made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let id = lock["id"].as_str().expect("lock id").to_string();

    // The lock stays: its holder's pid is gone on this host, but S3 locks are never taken over.
    let plan = ws.run(&["plan"]);
    plan.expect_code(1);
    assert!(plan.stderr().contains(&format!("lock id {id}")), "{}", plan.stderr());
    assert!(plan.stderr().contains("operation apply"), "{}", plan.stderr());
    let apply = ws.run(&["apply", "-auto-approve"]);
    apply.expect_code(1);
    assert!(apply.stderr().contains(&format!("force-unlock {id}")), "{}", apply.stderr());
    assert_eq!(json_object(&bucket, &format!("{KEY}.lock"))["id"], id.as_str(), "the lock is untouched");

    // `plan -lock=false` reads without the lock and leaves it alone.
    let unlocked = ws.run(&["plan", "-lock=false"]);
    unlocked.expect_code(0);
    assert_eq!(json_object(&bucket, &format!("{KEY}.lock"))["id"], id.as_str());

    // A wrong id changes nothing; the right one removes exactly that lock.
    ws.run(&["force-unlock", "-force", "not-the-id"]).expect_code(1);
    assert!(object(&bucket, &format!("{KEY}.lock")).is_some());
    ws.run(&["force-unlock", "-force", &id]).expect_code(0);
    assert!(object(&bucket, &format!("{KEY}.lock")).is_none());

    let apply = ws.run(&["apply", "-auto-approve", "-parallelism=8"]);
    apply.expect_code(0);
    assert!(!apply.stderr().contains("versioning"), "a versioned bucket gets no warning: {}", apply.stderr());
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    let mut names: Vec<String> =
        ws.monitors_on(&s).iter().filter_map(|m| m["name"].as_str().map(String::from)).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 40, "no duplicates after the killed apply");
    assert_eq!(ws.monitors_on(&s).len(), 40);
}

#[test]
fn plan_holds_the_lock_and_is_refused_while_another_process_holds_it() {
    let s = slow_standin();
    let bucket = bucket("planlock", false);
    let ws = Workspace::on(&s, "s3-planlock");
    ws.write("main.hcl", &format!("{}{}", s3_block(&bucket), raw_monitors_config(2, None)));
    ws.run(&["apply", "-auto-approve"]).expect_code(0);

    // A slow plan (refresh through the slow stand-in) holds a lock with operation `plan`.
    ws.write("main.hcl", &format!("{}{}", s3_block(&bucket), raw_monitors_config(30, None)));
    let planning = ws
        .command(&["plan", "-parallelism=1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("plan");
    let lock = wait_for_lock(&bucket);
    assert_eq!(lock["operation"], "plan");
    let refused = ws.run(&["plan"]);
    refused.expect_code(1);
    assert!(refused.stderr().contains("operation plan"), "{}", refused.stderr());
    let skipped = ws.run(&["plan", "-lock=false"]);
    skipped.expect_code(0);
    let out = planning.wait_with_output().expect("plan");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(object(&bucket, &format!("{KEY}.lock")).is_none(), "plan released its lock");

    // `apply -lock=false` proceeds without the lock, and says that it is unsafe.
    let unlocked = ws.run(&["apply", "-auto-approve", "-lock=false", "-parallelism=8"]);
    unlocked.expect_code(0);
    assert!(unlocked.stderr().contains("-lock=false is unsafe"), "{}", unlocked.stderr());
    assert_eq!(json_object(&bucket, KEY)["resources"].as_array().map(Vec::len), Some(30));
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

#[test]
fn bad_bucket_is_a_clear_error_that_changes_nothing() {
    let ws = Workspace::new("s3-nobucket");
    ws.write("main.hcl", &format!("{}{}", s3_block("wk-no-such-bucket"), raw_monitors_config(1, None)));
    let run = ws.run(&["apply", "-auto-approve"]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(err.contains("s3://wk-no-such-bucket/team/watchkeep.json.lock"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!err.contains("testing"), "no credentials in errors: {err}");
    assert!(ws.monitors().is_empty(), "nothing was created");
}

/// `watchkeep validations --json` record files and whether the chain holds.
fn validations(ws: &Workspace) -> (Vec<String>, bool) {
    let run = ws.run(&["validations", "--json"]);
    run.expect_code(0);
    let v = run.json();
    let files = v["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["file"].as_str().map(String::from))
        .collect();
    (files, v["chain_intact"] == true)
}

fn history_versions(ws: &Workspace) -> Vec<u64> {
    let run = ws.run(&["history", "--json"]);
    run.expect_code(0);
    assert!(!run.stderr().contains("broken"), "history chain: {}", run.stderr());
    run.json().as_array().expect("history").iter().filter_map(|e| e["version"].as_u64()).collect()
}

#[test]
fn state_migrate_local_to_s3_and_back_keeps_everything() {
    let bucket = bucket("migrate", true);
    let ws = Workspace::new("s3-migrate");
    let monitors = raw_monitors_config(3, None);
    ws.write("main.hcl", &monitors);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    ws.write("main.hcl", &raw_monitors_config(4, None));
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    ws.run(&["drift"]).expect_code(0);
    let local = ws.state();
    let history = history_versions(&ws);
    assert_eq!(history, [1, 2]);
    let (records, intact) = validations(&ws);
    assert!(intact && records.len() == 1, "{records:?}");

    // local → s3: change the backend block, then migrate from the old path.
    ws.write("main.hcl", &format!("{}{}", s3_block(&bucket), raw_monitors_config(4, None)));
    let run = ws.run(&["state", "migrate", "--from", ".watchkeep/state.json", "--json"]);
    run.expect_code(0);
    let out = run.json();
    assert_matches_schema("state-migrate.schema.json", &out);
    assert_eq!(out["copied"], true, "{out}");
    assert_eq!(out["serial"], local["serial"], "{out}");
    assert_eq!(out["to"], format!("s3://{bucket}/{KEY}").as_str(), "{out}");
    assert_eq!(out["source_left_in_place"], true);
    assert!(ws.path().join(".watchkeep/state.json").exists(), "the source is left in place");
    let remote = json_object(&bucket, KEY);
    assert_eq!(remote, local, "byte-for-byte: resources, serial and lineage");
    assert_eq!(history_versions(&ws), history, "history read from S3, chain intact");
    assert_eq!(validations(&ws), (records.clone(), true), "validation records read from S3");
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    // A drift run on S3 chains its record onto the migrated ones, in the bucket.
    ws.run(&["drift"]).expect_code(0);
    let (records, intact) = validations(&ws);
    assert!(intact && records.len() == 2, "{records:?}");
    assert!(object(&bucket, &format!("{KEY}.validations/000002.json")).is_some());
    assert!(!ws.path().join(".watchkeep/validations/000002.json").exists(), "nothing new written locally");

    // Again: the same lineage and serial is nothing to do.
    let again = ws.run(&["state", "migrate", "--from", ".watchkeep/state.json", "--json"]);
    again.expect_code(0);
    assert_eq!(again.json()["copied"], false);

    // s3 → local, into a new path: change the block back, migrate from the bucket.
    ws.write(
        "main.hcl",
        &format!(
            "watchkeep {{\n  state \"local\" {{ path = \"back/state.json\" }}\n}}\n{}",
            raw_monitors_config(4, None)
        ),
    );
    let run = ws.run(&[
        "state",
        "migrate",
        "--from",
        &format!("s3://{bucket}/{KEY}"),
        "--from-region",
        "us-east-1",
        "--from-endpoint-url",
        &moto().endpoint_url(),
    ]);
    run.expect_code(0);
    assert!(run.stdout().contains("was left in place"), "{}", run.stdout());
    let back: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("back/state.json")).expect("state"))
            .expect("json");
    assert_eq!(back, local);
    assert!(ws.path().join("back/history/HEAD").exists());
    assert_eq!(history_versions(&ws), history);
    assert_eq!(validations(&ws), (records, true));
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);

    // A destination holding another state is refused, naming both lineages.
    let other = Workspace::new("s3-migrate-other");
    other.write("main.hcl", &raw_monitors_config(1, None));
    other.run(&["apply", "-auto-approve"]).expect_code(0);
    let other_lineage = other.state()["lineage"].as_str().expect("lineage").to_string();
    let from = other.path().join(".watchkeep/state.json");
    let refused = ws.run(&["state", "migrate", "--from", &from.display().to_string()]);
    refused.expect_code(1);
    let err = refused.stderr();
    assert!(
        err.contains(&other_lineage) && err.contains(local["lineage"].as_str().expect("lineage")),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("back/state.json"))
            .map(|t| serde_json::from_str::<Value>(&t).ok())
            .ok()
            .flatten(),
        Some(local)
    );
}
