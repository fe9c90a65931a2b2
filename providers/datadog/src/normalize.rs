//! Canonical forms: what the user writes and what Datadog returns map to one value, so a plan
//! right after an apply is empty. Every function here is pure and idempotent.
//!
//! The rules are listed in the crate documentation (`lib.rs`); keep the two in step.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::{Map, Number, Value};
use watchkeep_provider::managed::{self, Writable};

/// The fields watchkeep manages per resource type: Datadog's writable fields, from its OpenAPI
/// document (`writable.json`, checked against the spec by `tests/writable_spec.rs`). Everything
/// else Datadog returns (`created_at`, `overall_state_modified`, `restriction_policy`, fields it
/// adds later) is dropped before comparison, so it can never make a diff.
static WRITABLE: LazyLock<BTreeMap<String, Writable>> = LazyLock::new(|| {
    // Bundled data, parsed by a unit test below: this cannot fail at run time.
    managed::load_table(include_str!("writable.json")).unwrap_or_default()
});

/// The managed fields of `resource_type`, when it is one of Datadog's.
pub fn writable(resource_type: &str) -> Option<&'static Writable> {
    WRITABLE.get(resource_type)
}

/// Monitor fields Datadog computes; never part of desired state.
pub const MONITOR_READ_ONLY: &[&str] = &[
    "id",
    "created",
    "modified",
    "creator",
    "overall_state",
    "overall_state_modified",
    "org_id",
    "multi",
    "deleted",
    "matching_downtimes",
    "state",
];

/// Dashboard fields Datadog computes; never part of desired state.
pub const DASHBOARD_READ_ONLY: &[&str] =
    &["id", "url", "author_handle", "author_name", "created_at", "modified_at"];

/// Canonical form of a `datadog_monitor` body (desired or live).
pub fn monitor(attrs: &Value) -> Value {
    let Value::Object(input) = attrs else {
        return attrs.clone();
    };
    let mut m = input.clone();
    for key in MONITOR_READ_ONLY {
        m.remove(*key);
    }
    if let Some(w) = writable("datadog_monitor") {
        m = match w.project(&Value::Object(m)) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
    }
    // `null`, `[]` and `{}` at the top level mean "unset" both ways: Datadog returns
    // `priority: null`, and since 2026-02 its create answers carry `assets: []` while reads omit
    // `assets` (shared/docs/vendors.md, from the recorded cassettes).
    m.retain(|_, v| !is_empty(v));
    // Datadog's priorities are 1 to 5; a monitor sent `priority: 0` is answered `priority: null`
    // (recorded in DataDog/terraform-provider-datadog's monitor cassettes, as reported in issue 10).
    if m.get("priority").and_then(Value::as_f64) == Some(0.0) {
        m.remove("priority");
    }
    for key in ["name", "message", "query"] {
        trim_string(&mut m, key);
        // Datadog returns `""` for a field it was not sent.
        if m.get(key).and_then(Value::as_str) == Some("") {
            m.remove(key);
        }
    }
    if m.get("type").and_then(Value::as_str) == Some("metric alert") {
        m.insert("type".into(), Value::String("query alert".into()));
    }
    if m.get("type").and_then(Value::as_str) == Some("query alert") {
        fill_critical_threshold(&mut m);
    }
    if let Some(Value::Array(tags)) = m.get_mut("tags") {
        sort_dedup(tags);
        if tags.is_empty() {
            m.remove("tags");
        }
    }
    if m.get("restricted_roles").and_then(Value::as_array).is_some_and(Vec::is_empty) {
        m.remove("restricted_roles");
    }
    if m.get("draft_status").and_then(Value::as_str) == Some("published") {
        m.remove("draft_status");
    }
    if let Some(Value::Object(options)) = m.get_mut("options") {
        monitor_options(options);
        if options.is_empty() {
            m.remove("options");
        }
    }
    canonical(Value::Object(m))
}

/// Datadog takes a metric monitor's critical threshold from its query (`... > 85`) when
/// `options.thresholds.critical` is not given, and returns it.
fn fill_critical_threshold(m: &mut Map<String, Value>) {
    let Some(n) = m.get("query").and_then(Value::as_str).and_then(query_threshold) else { return };
    let options = m.entry("options").or_insert_with(|| Value::Object(Map::new()));
    if options.is_null() {
        *options = Value::Object(Map::new());
    }
    let Value::Object(options) = options else { return };
    let thresholds = options.entry("thresholds").or_insert_with(|| Value::Object(Map::new()));
    if thresholds.is_null() {
        *thresholds = Value::Object(Map::new());
    }
    let Value::Object(thresholds) = thresholds else { return };
    if thresholds.get("critical").is_none_or(Value::is_null) {
        thresholds.insert("critical".into(), Value::Number(n));
    }
}

/// The number `N` a metric query compares against at its end: `> N`, `>= N`, `< N`, `<= N`.
pub fn query_threshold(query: &str) -> Option<Number> {
    let q = query.trim_end();
    let at = q.rfind(['>', '<'])?;
    let rest = q[at + 1..].strip_prefix('=').unwrap_or(&q[at + 1..]).trim();
    if rest.is_empty()
        || !rest.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    if let Ok(i) = rest.parse::<i64>() {
        return Some(Number::from(i));
    }
    rest.parse::<f64>().ok().and_then(Number::from_f64)
}

/// The `options` rules: drop what Datadog fills in by default.
fn monitor_options(o: &mut Map<String, Value>) {
    o.retain(|_, v| !v.is_null());
    trim_string(o, "escalation_message");
    if let Some(Value::Object(thresholds)) = o.get_mut("thresholds") {
        thresholds.retain(|_, v| !v.is_null());
    }
    let notify_no_data = o.get("notify_no_data").and_then(Value::as_bool) == Some(true);
    o.retain(|key, v| {
        let is_default = match key.as_str() {
            "notify_audit" | "notify_no_data" => v.as_bool() == Some(false),
            "include_tags" => v.as_bool() == Some(true),
            "new_host_delay" => number_is(v, 300.0),
            "renotify_interval" | "new_group_delay" | "timeout_h" => number_is(v, 0.0),
            "escalation_message" => v.as_str() == Some(""),
            "silenced" => v.as_object().is_some_and(Map::is_empty),
            "renotify_statuses" => v.as_array().is_some_and(Vec::is_empty),
            // Datadog drops `on_missing_data: "default"` from its answers (recorded in
            // DataDog/terraform-provider-datadog's monitor cassettes; shared/docs/vendors.md).
            "on_missing_data" => v.as_str() == Some("default"),
            // Datadog reports a timeframe even when no-data alerting is off; it means nothing then.
            "no_data_timeframe" => !notify_no_data,
            _ => false,
        };
        !is_default
    });
}

/// Canonical form of a `datadog_dashboard` body (desired or live).
pub fn dashboard(attrs: &Value) -> Value {
    let Value::Object(input) = attrs else {
        return attrs.clone();
    };
    let mut d = input.clone();
    for key in DASHBOARD_READ_ONLY {
        d.remove(*key);
    }
    if let Some(w) = writable("datadog_dashboard") {
        d = match w.project(&Value::Object(d)) {
            Value::Object(d) => d,
            _ => Map::new(),
        };
    }
    // Unset both ways: recorded dashboard answers carry `restricted_roles: []` and null
    // `description` / `template_variables` / `notify_list` for fields they were not sent.
    d.retain(|_, v| !is_empty(v));
    trim_string(&mut d, "title");
    if let Some(widgets) = d.get_mut("widgets") {
        strip_widget_ids(widgets);
    }
    let drop = |key: &str, v: &Value| match key {
        "is_read_only" => v.as_bool() == Some(false),
        "notify_list" | "template_variables" => v.is_null() || v.as_array().is_some_and(Vec::is_empty),
        "description" => v.is_null() || v.as_str() == Some(""),
        _ => false,
    };
    d.retain(|k, v| !drop(k, v));
    canonical(Value::Object(d))
}

/// Widget ids are assigned by Datadog; group widgets nest more widgets under `definition.widgets`.
fn strip_widget_ids(widgets: &mut Value) {
    let Value::Array(list) = widgets else { return };
    for widget in list {
        if let Value::Object(w) = widget {
            w.remove("id");
            if let Some(Value::Object(def)) = w.get_mut("definition") {
                if let Some(inner) = def.get_mut("widgets") {
                    strip_widget_ids(inner);
                }
            }
        }
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn trim_string(m: &mut Map<String, Value>, key: &str) {
    if let Some(Value::String(s)) = m.get_mut(key) {
        let trimmed = s.trim();
        if trimmed.len() != s.len() {
            *s = trimmed.to_string();
        }
    }
}

fn number_is(v: &Value, want: f64) -> bool {
    v.as_f64() == Some(want)
}

/// Sorts a set-like array (strings first, by value) and removes duplicates.
fn sort_dedup(items: &mut Vec<Value>) {
    items.sort_by_cached_key(|v| match v {
        Value::String(s) => (0, s.clone()),
        other => (1, other.to_string()),
    });
    items.dedup();
}

/// The canonical form (integral numbers as integers, sorted keys): one definition for every provider.
pub use watchkeep_provider::canonical;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bundled_writable_fields_parse() {
        let table = managed::load_table(include_str!("writable.json")).unwrap();
        assert!(table["datadog_monitor"].contains("query"));
        assert!(table["datadog_dashboard"].contains("widgets"));
    }

    #[test]
    fn unknown_and_read_only_fields_never_reach_the_comparison() {
        let sent = json!({ "name": "n", "type": "query alert", "query": "q > 1", "options": { "thresholds": { "critical": 1 } } });
        let mut answer = sent.clone();
        let a = answer.as_object_mut().unwrap();
        a.insert("future_field".into(), json!({ "x": 1 }));
        a.insert("created_at".into(), json!(1673258836000u64));
        a.insert("restriction_policy".into(), json!({ "bindings": [] }));
        a.insert("classification".into(), json!("metric"));
        a["options"]["device_ids"] = json!([]);
        a["options"]["future_option"] = json!(true);
        assert_eq!(monitor(&answer), monitor(&sent));
        assert_eq!(monitor(&json!({ "priority": 0 })), json!({}));
        assert_eq!(monitor(&json!({ "options": { "on_missing_data": "default" } })), json!({}));
    }

    /// What Datadog (and the stand-in) sends back for a monitor body `sent`.
    fn datadog_echo(sent: &Value) -> Value {
        let mut m = sent.as_object().cloned().unwrap();
        for key in ["name", "message", "query"] {
            if let Some(Value::String(s)) = m.get(key) {
                m.insert(key.into(), json!(s.trim()));
            }
        }
        match m.get("type").and_then(Value::as_str) {
            Some("query alert") => m.insert("type".into(), json!("metric alert")),
            Some("metric alert") => m.insert("type".into(), json!("query alert")),
            _ => None,
        };
        if let Some(Value::Array(tags)) = m.get_mut("tags") {
            tags.dedup();
            tags.reverse();
        }
        let mut o = m.get("options").and_then(Value::as_object).cloned().unwrap_or_default();
        let metric = matches!(m.get("type").and_then(Value::as_str), Some("query alert" | "metric alert"));
        if let (true, Some(n)) = (metric, m.get("query").and_then(Value::as_str).and_then(query_threshold)) {
            let t = o.entry("thresholds").or_insert_with(|| json!({}));
            t.as_object_mut().unwrap().entry("critical").or_insert(Value::Number(n));
        }
        if let Some(Value::Object(t)) = o.get_mut("thresholds") {
            for v in t.values_mut() {
                if let Some(f) = v.as_f64() {
                    *v = Value::Number(Number::from_f64(f).unwrap());
                }
            }
        }
        if let Some(Value::String(s)) = o.get("escalation_message") {
            o.insert("escalation_message".into(), json!(s.trim()));
        }
        for (k, d) in [
            ("notify_audit", json!(false)),
            ("include_tags", json!(true)),
            ("new_host_delay", json!(300)),
            ("notify_no_data", json!(false)),
            ("no_data_timeframe", json!(10)),
            ("renotify_interval", Value::Null),
            ("escalation_message", json!("")),
            ("silenced", json!({})),
            ("timeout_h", Value::Null),
            ("renotify_statuses", Value::Null),
        ] {
            o.entry(k).or_insert(d);
        }
        if o.get("new_group_delay").and_then(Value::as_f64) == Some(0.0) {
            o.remove("new_group_delay");
        }
        m.insert("options".into(), Value::Object(o));
        m.entry("priority").or_insert(Value::Null);
        m.entry("restricted_roles").or_insert(Value::Null);
        if m.get("draft_status").and_then(Value::as_str) == Some("published") {
            m.remove("draft_status");
        }
        for (k, v) in [
            ("id", json!(1234567)),
            ("created", json!("2025-01-01T00:00:00.000000+00:00")),
            ("modified", json!("2025-01-02T00:00:00.000000+00:00")),
            ("creator", json!({ "email": "a@example.com", "handle": "a@example.com", "id": 1 })),
            ("overall_state", json!("No Data")),
            ("overall_state_modified", Value::Null),
            ("org_id", json!(2)),
            ("multi", json!(false)),
            ("deleted", Value::Null),
            ("matching_downtimes", json!([])),
            ("state", json!({ "groups": {} })),
        ] {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }

    fn cpu_monitor() -> Value {
        json!({
            "name": "  High CPU on web  ",
            "type": "query alert",
            "query": "avg(last_5m):avg:system.cpu.user{role:web} > 85\n",
            "message": "CPU is high @pagerduty-web  \n\n",
            "tags": ["team:web", "env:prod", "managed-by:watchkeep", "env:prod"],
            "options": {
                "thresholds": { "critical": 85, "warning": 70 },
                "notify_no_data": false,
                "escalation_message": " still high ",
            },
        })
    }

    #[test]
    fn desired_and_datadog_echo_normalise_to_the_same_value() {
        let cases = vec![
            cpu_monitor(),
            json!({ "name": "n", "type": "metric alert", "query": "q > 1", "message": "m" }),
            json!({
                "name": "no data on",
                "type": "query alert",
                "query": "avg(last_5m):avg:x{*} > 0.5",
                "message": "",
                "tags": [],
                "priority": 2,
                "restricted_roles": [],
                "draft_status": "published",
                "options": {
                    "thresholds": { "critical": 0.5, "critical_recovery": 0.25 },
                    "notify_no_data": true,
                    "no_data_timeframe": 20,
                    "new_group_delay": 0,
                    "renotify_interval": 0,
                    "renotify_statuses": [],
                    "timeout_h": 0,
                    "include_tags": true,
                    "silenced": {},
                },
            }),
            json!({
                "name": "service check",
                "type": "service check",
                "query": "\"http.can_connect\".over(\"*\").by(\"host\").last(2).count_by_status()",
                "message": "down",
                "options": { "thresholds": { "ok": 1, "critical": 1, "warning": 1 }, "new_host_delay": 600 },
                "draft_status": "draft",
            }),
        ];
        for desired in cases {
            let want = monitor(&desired);
            let got = monitor(&datadog_echo(&desired));
            assert_eq!(got, want, "desired: {desired:#}");
            assert_eq!(monitor(&want), want, "idempotent");
        }
    }

    #[test]
    fn monitor_table() {
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "read-only fields removed, strings trimmed",
                json!({ "id": 5, "created": "x", "modified": "y", "creator": {}, "overall_state": "OK",
                        "overall_state_modified": "z", "org_id": 1, "multi": true, "deleted": null,
                        "matching_downtimes": [], "state": {},
                        "name": " a ", "message": "b\n", "query": "\tc", "type": "query alert" }),
                json!({ "name": "a", "message": "b", "query": "c", "type": "query alert" }),
            ),
            (
                "metric alert becomes query alert",
                json!({ "type": "metric alert" }),
                json!({ "type": "query alert" }),
            ),
            ("other types untouched", json!({ "type": "log alert" }), json!({ "type": "log alert" })),
            (
                "integral floats become integers, others stay floats",
                json!({ "priority": 3.0, "options": { "thresholds": { "critical": 85.0, "warning": 70.5 },
                        "evaluation_delay": 60.0 } }),
                json!({ "priority": 3, "options": { "thresholds": { "critical": 85, "warning": 70.5 },
                        "evaluation_delay": 60 } }),
            ),
            (
                "tags sorted and deduplicated",
                json!({ "tags": ["b:2", "a:1", "b:2", "c"] }),
                json!({ "tags": ["a:1", "b:2", "c"] }),
            ),
            ("empty tags dropped", json!({ "tags": [] }), json!({})),
            (
                "option defaults dropped",
                json!({ "options": { "notify_audit": false, "include_tags": true, "new_host_delay": 300,
                        "notify_no_data": false, "renotify_interval": 0, "escalation_message": "  ",
                        "silenced": {}, "new_group_delay": 0, "timeout_h": 0, "renotify_statuses": [],
                        "no_data_timeframe": 10, "evaluation_delay": null } }),
                json!({}),
            ),
            (
                "null option values dropped",
                json!({ "options": { "renotify_interval": null, "timeout_h": null, "renotify_statuses": null,
                        "thresholds": { "critical": 1, "warning": null } } }),
                json!({ "options": { "thresholds": { "critical": 1 } } }),
            ),
            (
                "non-default options kept",
                json!({ "options": { "notify_audit": true, "include_tags": false, "new_host_delay": 600,
                        "renotify_interval": 60, "escalation_message": " again ", "silenced": { "*": null },
                        "new_group_delay": 120, "timeout_h": 24, "renotify_statuses": ["alert"] } }),
                json!({ "options": { "notify_audit": true, "include_tags": false, "new_host_delay": 600,
                        "renotify_interval": 60, "escalation_message": "again", "silenced": { "*": null },
                        "new_group_delay": 120, "timeout_h": 24, "renotify_statuses": ["alert"] } }),
            ),
            (
                "no_data_timeframe kept only with notify_no_data",
                json!({ "options": { "notify_no_data": true, "no_data_timeframe": 10.0 } }),
                json!({ "options": { "notify_no_data": true, "no_data_timeframe": 10 } }),
            ),
            (
                "top-level unset values dropped",
                json!({ "priority": null, "restricted_roles": null, "draft_status": "published", "options": {} }),
                json!({}),
            ),
            ("empty restricted_roles dropped", json!({ "restricted_roles": [] }), json!({})),
            (
                "set values kept",
                json!({ "priority": 1, "restricted_roles": ["r1"], "draft_status": "draft" }),
                json!({ "priority": 1, "restricted_roles": ["r1"], "draft_status": "draft" }),
            ),
            ("not an object: unchanged", json!("x"), json!("x")),
            (
                "empty name, message and query dropped",
                json!({ "name": " ", "message": "", "query": "" }),
                json!({}),
            ),
            (
                "critical threshold taken from a metric query",
                json!({ "type": "metric alert", "query": "avg(last_5m):avg:a{*} >= 0.75 " }),
                json!({ "type": "query alert", "query": "avg(last_5m):avg:a{*} >= 0.75",
                        "options": { "thresholds": { "critical": 0.75 } } }),
            ),
            (
                "a given critical threshold wins",
                json!({ "type": "query alert", "query": "avg(last_5m):avg:a{*} < 5",
                        "options": { "thresholds": { "critical": 4, "warning": 6 } } }),
                json!({ "type": "query alert", "query": "avg(last_5m):avg:a{*} < 5",
                        "options": { "thresholds": { "critical": 4, "warning": 6 } } }),
            ),
            (
                "no threshold filled for other types",
                json!({ "type": "log alert", "query": "logs(\"x\").index(\"*\").rollup(\"count\").last(\"5m\") > 3" }),
                json!({ "type": "log alert", "query": "logs(\"x\").index(\"*\").rollup(\"count\").last(\"5m\") > 3" }),
            ),
        ];
        for (name, input, want) in cases {
            let got = monitor(&input);
            assert_eq!(got, want, "{name}");
            assert_eq!(monitor(&got), got, "{name}: idempotent");
        }
    }

    #[test]
    fn thresholds_in_queries() {
        assert_eq!(query_threshold("avg(last_5m):avg:a{*} > 90"), Some(Number::from(90)));
        assert_eq!(query_threshold("avg(last_5m):avg:a{*} >= -1.5 "), Number::from_f64(-1.5));
        assert_eq!(query_threshold("avg(last_5m):avg:a{*} <=0"), Some(Number::from(0)));
        assert_eq!(query_threshold("avg(last_5m):avg:a{*}"), None);
        assert_eq!(query_threshold("avg(last_5m):avg:a{*} >"), None);
        assert_eq!(query_threshold("a > NaN"), None);
        assert_eq!(query_threshold("a > inf"), None);
    }

    #[test]
    fn canonical_form_has_sorted_keys() {
        let got = monitor(
            &json!({ "type": "query alert", "name": "n", "options": { "timeout_h": 1, "evaluation_delay": 2 } }),
        );
        assert_eq!(
            got.to_string(),
            r#"{"name":"n","options":{"evaluation_delay":2,"timeout_h":1},"type":"query alert"}"#
        );
    }

    #[test]
    fn huge_and_negative_numbers() {
        assert_eq!(canonical(json!(-2.0)), json!(-2));
        assert_eq!(canonical(json!(-0.0)), json!(0));
        assert_eq!(canonical(json!(1e300)), json!(1e300));
        assert_eq!(canonical(json!(u64::MAX)), json!(u64::MAX));
    }

    #[test]
    fn dashboard_table() {
        let desired = json!({
            "title": " Web ",
            "layout_type": "ordered",
            "description": "Web tier\nmanaged-by:watchkeep watchkeep-address:dashboard.web",
            "widgets": [
                { "definition": { "type": "timeseries", "requests": [{ "q": "avg:x{*}" }] } },
                { "definition": { "type": "group", "widgets": [
                    { "definition": { "type": "note", "content": "hi" }, "layout": { "x": 0, "y": 0, "width": 2, "height": 2 } }
                ] } },
            ],
        });
        let mut live = desired.clone();
        let l = live.as_object_mut().unwrap();
        l.insert("title".into(), json!("Web"));
        for (k, v) in [
            ("id", json!("abc-def-ghi")),
            ("url", json!("/dashboard/abc-def-ghi/web")),
            ("author_handle", json!("a@example.com")),
            ("author_name", json!("A")),
            ("created_at", json!("2025-01-01T00:00:00+00:00")),
            ("modified_at", json!("2025-01-01T00:00:00+00:00")),
            ("is_read_only", json!(false)),
            ("notify_list", json!([])),
            ("template_variables", Value::Null),
        ] {
            l.insert(k.into(), v);
        }
        l["widgets"][0]["id"] = json!(1);
        l["widgets"][1]["id"] = json!(2);
        l["widgets"][1]["definition"]["widgets"][0]["id"] = json!(3);
        l["widgets"][1]["definition"]["widgets"][0]["layout"]["x"] = json!(0.0);

        let want = dashboard(&desired);
        assert_eq!(dashboard(&live), want);
        assert_eq!(dashboard(&want), want);
        assert_eq!(want["title"], "Web");
        assert!(want["widgets"][1]["definition"]["widgets"][0].get("id").is_none());

        let bare = json!({ "title": "t", "layout_type": "free", "widgets": [], "description": null,
                           "is_read_only": false, "notify_list": null, "template_variables": [] });
        assert_eq!(dashboard(&bare), json!({ "title": "t", "layout_type": "free" }), "empty is unset");
        let kept = json!({ "title": "t", "is_read_only": true, "notify_list": ["a@example.com"] });
        assert_eq!(dashboard(&kept), kept);
    }
}
