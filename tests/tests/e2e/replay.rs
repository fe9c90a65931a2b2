//! The replay of Datadog's recorded real answers: every recorded monitor create of the corpus
//! (PyPI `datadog-api-client` 2.62.0 cassettes, `tests/recordings/fetch-datadog`), written as a raw
//! block exactly as recorded, applied against [`RecordedDatadog`], which answers only with the
//! recorded responses. Then, twice: `plan -detailed-exitcode` exits 0 and `drift` exits 0.
//!
//! Each step is run even when an earlier one failed, and the test fails with every failed step
//! listed (a full report of what the engine gets wrong against real answers).

use std::sync::OnceLock;

use serde_json::{json, Value};
use watchkeep_tests::recordings::Cassette;
use watchkeep_tests::replay::hcl::{config, corpus_monitors, CorpusMonitor};
use watchkeep_tests::replay::{load_corpus, RecordedDatadog};

use crate::support::{Run, Workspace};

fn cassettes() -> &'static [Cassette] {
    static C: OnceLock<Vec<Cassette>> = OnceLock::new();
    C.get_or_init(|| load_corpus().unwrap_or_else(|e| panic!("{e}")))
}

/// A workspace on `server`, whose dashboard and downtime lists are the recorded ones emptied: the replayed
/// account holds only the replayed monitors, and watchkeep lists dashboards on every refresh
/// (see [`RecordedDatadog::with_dashboard_list_emptied`]; no recording shows an empty list).
fn workspace(server: &RecordedDatadog, name: &str) -> Workspace {
    server.with_dashboard_list_emptied();
    server.with_downtime_list_emptied();
    Workspace {
        dir: tempfile::tempdir().expect("tempdir"),
        api_key: format!("replay-{name}-{}", std::process::id()),
        base_url: server.base_url(),
        extra_env: Vec::new(),
    }
}

/// The corpus monitors the configuration holds (every one not marked expected-to-fail), and the
/// configuration. Asserts the corpus is the one expected (so a shrunken corpus cannot pass).
fn corpus_config(server: &RecordedDatadog) -> (Vec<CorpusMonitor>, String) {
    let monitors = corpus_monitors(cassettes());
    assert_eq!(monitors.len(), server.recorded_creates(), "every recorded 200 create is in the list");
    assert!(monitors.len() >= 27, "the 2.62.0 corpus records 27 monitor creates, found {}", monitors.len());
    let mut types: Vec<&str> = monitors.iter().filter_map(|m| m.request["type"].as_str()).collect();
    types.sort();
    types.dedup();
    eprintln!("replay: {} recorded monitor creates, {} types: {types:?}", monitors.len(), types.len());
    for m in monitors.iter().filter(|m| m.expected_failure.is_some()) {
        eprintln!(
            "replay: left out {} ({}): {}",
            m.label,
            m.source,
            m.expected_failure.as_deref().unwrap_or("")
        );
    }
    let replayable: Vec<&CorpusMonitor> = monitors.iter().filter(|m| m.expected_failure.is_none()).collect();
    // `page_size = 2`: the page size of the recorded monitor list
    // (test_get_all_monitors_returns_ok_response_with_pagination.yaml, `page_size=2&page=0`, then
    // `page=1`), so that listing the replayed monitors takes many pages, as recorded.
    let text = config(&replayable, "  page_size = 2\n");
    let kept = replayable.into_iter().cloned().collect();
    (kept, text)
}

/// Runs a step, records a failure (with the output) instead of panicking.
fn step(failures: &mut Vec<String>, what: &str, run: &Run, want: i32) {
    if run.code() != want {
        failures.push(format!(
            "{what}: `watchkeep {}` exited {} (want {want})\n--- stdout\n{}\n--- stderr\n{}",
            run.args.join(" "),
            run.code(),
            tail(&run.stdout()),
            tail(&run.stderr())
        ));
    }
}

fn tail(s: &str) -> String {
    const MAX: usize = 20000;
    if s.len() <= MAX {
        return s.to_string();
    }
    let cut = s.char_indices().map(|(i, _)| i).find(|i| *i >= s.len() - MAX).unwrap_or(0);
    format!("…{}", &s[cut..])
}

fn plan_and_drift_twice(ws: &Workspace, failures: &mut Vec<String>) {
    for round in 1..=2 {
        let plan = ws.run(&["plan", "-detailed-exitcode"]);
        step(failures, &format!("round {round}: plan -detailed-exitcode"), &plan, 0);
        let drift = ws.run(&["drift"]);
        step(failures, &format!("round {round}: drift"), &drift, 0);
    }
}

/// Requests served, by method, path (ids as `{id}`) and status: the figures of a run
/// (`cargo test -p watchkeep-tests --test e2e replay -- --nocapture`).
fn print_figures(server: &RecordedDatadog) {
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for line in server.served() {
        let (req, rest) = line.split_once(" -> ").unwrap_or((line.as_str(), ""));
        let (method, uri) = req.split_once(' ').unwrap_or((req, ""));
        let path: Vec<String> = uri
            .split('?')
            .next()
            .unwrap_or("")
            .split('/')
            .map(|seg| if seg.parse::<i64>().is_ok() { "{id}".to_string() } else { seg.to_string() })
            .collect();
        let status = rest.split(' ').next().unwrap_or("");
        *counts.entry(format!("{method} {} -> {status}", path.join("/"))).or_default() += 1;
    }
    for (k, n) in counts {
        eprintln!("replay figures: {n:>5}  {k}");
    }
}

fn finish(server: &RecordedDatadog, mut failures: Vec<String>) {
    print_figures(server);
    let unrecorded = server.unrecorded();
    if !unrecorded.is_empty() {
        failures.push(format!("requests nothing recorded answers (501):\n  {}", unrecorded.join("\n  ")));
    }
    assert!(
        failures.is_empty(),
        "{} failed step(s) against recorded Datadog:\n\n{}\n\n--- requests served\n{}",
        failures.len(),
        failures.join("\n\n"),
        server.served().join("\n")
    );
}

#[test]
fn every_recorded_monitor_applies_then_plans_and_drifts_clean_twice() {
    let server = RecordedDatadog::start(cassettes()).expect("start the recorded-Datadog server");
    let (monitors, text) = corpus_config(&server);
    let ws = workspace(&server, "corpus");
    ws.write("main.hcl", &text);
    let mut failures = Vec::new();
    let apply = ws.run(&["apply", "-auto-approve"]);
    step(&mut failures, "apply -auto-approve", &apply, 0);
    let mut want: Vec<i64> = monitors.iter().map(|m| m.id).collect();
    want.sort();
    if server.live_ids() != want {
        failures.push(format!(
            "monitors live after apply: {:?}, want the recorded ids {want:?}",
            server.live_ids()
        ));
    }
    plan_and_drift_twice(&ws, &mut failures);
    finish(&server, failures);
}

/// Datadog adds a field the recordings do not have and changes read-only fields (state,
/// modification time) after apply: no change to plan, no drift.
#[test]
fn an_unknown_field_and_changed_read_only_fields_are_not_changes() {
    let server = RecordedDatadog::start(cassettes()).expect("start the recorded-Datadog server");
    let (_, text) = corpus_config(&server);
    let ws = workspace(&server, "patched");
    ws.write("main.hcl", &text);
    let mut failures = Vec::new();
    let apply = ws.run(&["apply", "-auto-approve"]);
    step(&mut failures, "apply -auto-approve", &apply, 0);
    server.with_answer_patch(json!({
        "future_field": { "x": 1 },
        "overall_state": "Alert",
        "overall_state_modified": "2026-12-04T09:00:00+00:00",
        "modified": "2026-12-04T09:00:00.000000+00:00",
    }));
    plan_and_drift_twice(&ws, &mut failures);
    finish(&server, failures);
}

#[test]
fn the_replay_answers_what_watchkeep_sends_with_recorded_bodies() {
    // The replay itself, through watchkeep: what a monitor reads back is its recorded answer,
    // except `tags`, which are the ones watchkeep sent, in the order sent.
    let server = RecordedDatadog::start(cassettes()).expect("start the recorded-Datadog server");
    let (monitors, text) = corpus_config(&server);
    let ws = workspace(&server, "bodies");
    ws.write("main.hcl", &text);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let m =
        monitors.iter().find(|m| m.label == "create_a_cost_monitor").expect("the cost monitor is recorded");
    let (status, read) = ws.vendor(reqwest::Method::GET, &format!("/api/v1/monitor/{}", m.id), None);
    assert_eq!(status, 200, "{read}");
    let tags: Vec<&str> = read["tags"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(&tags[..2], &["test:examplemonitor", "env:ci"], "recorded tags first, in request order");
    assert_eq!(tags[2], "managed-by:watchkeep");
    assert!(tags[3].starts_with("watchkeep-address:"));
    assert_eq!(read["created"], "2025-01-17T11:21:26.560275+00:00", "the recorded answer");
    assert!(server.unrecorded().is_empty(), "{:#?}", server.unrecorded());
}
