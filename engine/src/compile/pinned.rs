//! Pins the compiled output of the examples and of `testdata/`: every object (address, type,
//! provider, origin, attributes, dependencies, line) and every diagnostic, as insta snapshots in
//! `snapshots/`. A change to any vendor compiler or catalog row that alters what is sent to a
//! vendor fails here; re-bless on purpose with `INSTA_UPDATE=always cargo test -p watchkeep pinned`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::config::{load, LoadOptions};
use crate::diag::{Diagnostics, Severity};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn diags_json(d: &Diagnostics) -> Value {
    Value::Array(
        d.0.iter()
            .map(|d| {
                json!({
                    "severity": if d.severity == Severity::Error { "error" } else { "warning" },
                    "summary": d.summary,
                    "detail": d.detail,
                    "hint": d.hint,
                    "at": d.span.as_ref().map(|s| format!("{}:{}", s.line, s.col)),
                })
            })
            .collect(),
    )
}

/// Loads `dir` with `vars` and renders what `compile_with_warnings` makes of it.
fn render(dir: &Path, vars: &[&str]) -> String {
    let mut opts = LoadOptions::new(dir);
    opts.vars = vars.iter().map(|v| v.to_string()).collect();
    let (cfg, _) = load(&opts).unwrap_or_else(|d| panic!("{} does not load: {d:?}", dir.display()));
    let out = match super::compile_with_warnings(&cfg) {
        Ok((objects, warnings)) => json!({
            "objects": objects.iter().map(|o| json!({
                "address": o.address,
                "resource_type": o.resource_type,
                "provider": o.provider,
                "origin": o.origin,
                "attrs": o.attrs,
                "depends_on": o.depends_on,
                "line": o.span.as_ref().map(|s| s.line),
            })).collect::<Vec<_>>(),
            "diagnostics": diags_json(&warnings),
        }),
        Err(d) => json!({"errors": diags_json(&d)}),
    };
    serde_json::to_string_pretty(&out).unwrap()
}

#[test]
fn pinned_quickstart_example() {
    let out = render(
        &root().join("examples/quickstart"),
        &[
            "pagerduty_routing_key=pd-example-key",
            "slack_webhook_url=https://hooks.slack.com/services/T000/B000/example",
        ],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn pinned_newrelic_example() {
    insta::assert_snapshot!(render(&root().join("examples/newrelic"), &[]));
}

#[test]
fn pinned_all_vendors() {
    let out = render(&root().join("engine/src/compile/testdata/all_vendors"), &[]);
    // The fixture is meant to reach every vendor: a refactor that dropped one would show here too.
    for p in ["datadog_monitor", "cloudwatch_metric_alarm", "newrelic_nrql_condition", "datadog_downtime"] {
        assert!(out.contains(p), "no {p}: {out}");
    }
    insta::assert_snapshot!(out);
}

#[test]
fn pinned_errors() {
    let out = render(&root().join("engine/src/compile/testdata/errors"), &[]);
    assert!(out.starts_with("{\n  \"errors\""), "{out}");
    insta::assert_snapshot!(out);
}
