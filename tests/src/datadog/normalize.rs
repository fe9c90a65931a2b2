//! Datadog's server-side normalisations, as pure functions on JSON values.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

pub(crate) const SANDBOX_EMAIL: &str = "sandbox@example.com";
pub(crate) const SANDBOX_NAME: &str = "Watchkeep Sandbox";

/// Monitor fields a client may set; everything else in a request body is ignored.
pub(crate) const MONITOR_WRITABLE: &[&str] = &[
    "name",
    "type",
    "query",
    "message",
    "tags",
    "options",
    "priority",
    "restricted_roles",
    "draft_status",
    "assets",
];

/// Dashboard fields a client may set; read-only and unknown fields are ignored.
pub(crate) const DASHBOARD_WRITABLE: &[&str] = &[
    "title",
    "description",
    "widgets",
    "template_variables",
    "layout_type",
    "notify_list",
    "is_read_only",
    "reflow_type",
    "restricted_roles",
    "tags",
    "template_variable_presets",
    "default_timeframe",
    "tabs",
];

/// Now, as Datadog writes timestamps: RFC 3339, milliseconds, UTC.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn now_epoch_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn keep_fields(body: &Map<String, Value>, allowed: &[&str]) -> Map<String, Value> {
    body.iter().filter(|(k, _)| allowed.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// `query alert` and `metric alert` are aliases; Datadog answers with the other one.
pub(crate) fn flip_type(t: &str) -> &str {
    match t {
        "query alert" => "metric alert",
        "metric alert" => "query alert",
        other => other,
    }
}

/// Types that may not be changed into each other (the two metric aliases are one class).
pub(crate) fn type_class(t: &str) -> &str {
    match t.trim() {
        "query alert" | "metric alert" => "metric alert",
        other => other,
    }
}

pub(crate) fn is_metric_type(t: &str) -> bool {
    type_class(t) == "metric alert"
}

/// The threshold `N` of a query ending in `> N`, `>= N`, `< N` or `<= N`.
pub(crate) fn query_threshold(query: &str) -> Option<f64> {
    let q = query.trim_end();
    let idx = q.rfind(['>', '<'])?;
    let after = &q[idx + 1..];
    let rest = after.strip_prefix('=').unwrap_or(after).trim();
    if rest.is_empty() {
        return None;
    }
    rest.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// `85` → `85.0`, `0.5` → `0.5`.
pub(crate) fn fmt_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

const INVALID_QUERY: &str = "The value provided for parameter 'query' is invalid";

/// For metric monitors: the query must end in a comparison whose value equals
/// `options.thresholds.critical`; an absent critical threshold is taken from the query.
/// With `strict = false` (seeding) nothing is rejected, only filled in.
pub(crate) fn check_and_fill_thresholds(
    monitor: &mut Map<String, Value>,
    strict: bool,
) -> Result<(), String> {
    let Some(kind) = monitor.get("type").and_then(Value::as_str) else {
        return Ok(());
    };
    if !is_metric_type(kind) {
        return Ok(());
    }
    let query = monitor.get("query").and_then(Value::as_str).unwrap_or("");
    let Some(n) = query_threshold(query) else {
        if strict {
            return Err(format!(
                "{INVALID_QUERY}: a metric monitor query must end with a comparison \
                 to its critical threshold (> N, >= N, < N or <= N)"
            ));
        }
        return Ok(());
    };
    let options = monitor.entry("options").or_insert_with(|| Value::Object(Map::new()));
    if options.is_null() {
        *options = Value::Object(Map::new());
    }
    let Some(options) = options.as_object_mut() else {
        return Ok(());
    };
    let thresholds = options.entry("thresholds").or_insert_with(|| Value::Object(Map::new()));
    if thresholds.is_null() {
        *thresholds = Value::Object(Map::new());
    }
    let Some(thresholds) = thresholds.as_object_mut() else {
        return Ok(());
    };
    match thresholds.get("critical") {
        None | Some(Value::Null) => {
            thresholds.insert("critical".to_owned(), Value::from(n));
        }
        Some(Value::Number(c)) => {
            let c = c.as_f64().unwrap_or(f64::NAN);
            if c != n && strict {
                return Err(format!(
                    "{INVALID_QUERY}: critical threshold ({}) does not match that used in the query ({})",
                    fmt_float(c),
                    fmt_float(n)
                ));
            }
        }
        Some(_) => {}
    }
    Ok(())
}

fn trimmed(v: Option<&Value>) -> Option<Value> {
    v.map(|v| match v {
        Value::String(s) => Value::String(s.trim().to_owned()),
        other => other.clone(),
    })
}

fn floats(v: &mut Value) {
    if let Value::Object(m) = v {
        for x in m.values_mut() {
            if let Value::Number(n) = x {
                if let Some(f) = n.as_f64() {
                    *x = Value::from(f);
                }
            }
        }
    }
}

/// Tags are a set: de-duplicated, returned reverse-sorted.
pub(crate) fn normalize_tags(v: Option<&Value>) -> Value {
    let Some(Value::Array(list)) = v else {
        return Value::Array(Vec::new());
    };
    let set: BTreeSet<&str> = list.iter().filter_map(Value::as_str).collect();
    Value::Array(set.into_iter().rev().map(Value::from).collect())
}

pub(crate) fn normalize_options(v: Option<&Value>) -> Value {
    let mut opts = match v {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return other.clone(),
    };
    if let Some(Value::String(s)) = opts.get_mut("escalation_message") {
        *s = s.trim().to_owned();
    }
    if let Some(t) = opts.get_mut("thresholds") {
        floats(t);
    }
    if let Some(t) = opts.get_mut("threshold_windows") {
        floats(t);
    }
    if opts.get("new_group_delay").and_then(Value::as_f64).is_some_and(|d| d == 0.0) {
        opts.remove("new_group_delay");
    }
    let defaults = [
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
    ];
    for (k, v) in defaults {
        opts.entry(k).or_insert(v);
    }
    Value::Object(opts)
}

pub(crate) struct MonitorMeta<'a> {
    pub id: i64,
    pub org_id: i64,
    pub created: &'a str,
    pub modified: &'a str,
}

/// Builds the monitor Datadog would store and return from the writable fields `input`.
pub(crate) fn normalize_monitor(input: &Map<String, Value>, meta: &MonitorMeta<'_>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), Value::from(meta.id));
    out.insert("org_id".into(), Value::from(meta.org_id));
    let kind = match input.get("type") {
        Some(Value::String(t)) => Value::from(flip_type(t.trim())),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    out.insert("type".into(), kind);
    out.insert("name".into(), trimmed(input.get("name")).unwrap_or_else(|| json!("")));
    out.insert("message".into(), trimmed(input.get("message")).unwrap_or_else(|| json!("")));
    out.insert("tags".into(), normalize_tags(input.get("tags")));
    let query = trimmed(input.get("query")).unwrap_or_else(|| json!(""));
    let multi = query.as_str().is_some_and(|q| q.contains(" by "));
    out.insert("query".into(), query);
    out.insert("options".into(), normalize_options(input.get("options")));
    out.insert("multi".into(), Value::Bool(multi));
    out.insert("created".into(), Value::from(meta.created));
    out.insert("modified".into(), Value::from(meta.modified));
    out.insert("deleted".into(), Value::Null);
    out.insert("restricted_roles".into(), input.get("restricted_roles").cloned().unwrap_or(Value::Null));
    out.insert("priority".into(), input.get("priority").cloned().unwrap_or(Value::Null));
    out.insert("overall_state".into(), json!("No Data"));
    out.insert("creator".into(), creator());
    out.insert("matching_downtimes".into(), json!([]));
    match input.get("draft_status") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "published" => {}
        Some(other) => {
            out.insert("draft_status".into(), other.clone());
        }
    }
    for (k, v) in input {
        if !out.contains_key(k) && k != "draft_status" {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

pub(crate) fn creator() -> Value {
    json!({"email": SANDBOX_EMAIL, "handle": SANDBOX_EMAIL, "name": SANDBOX_NAME})
}

/// The writable fields of a stored monitor, with the type as the client had sent it, so that a
/// PUT can be merged onto it and normalised again.
pub(crate) fn monitor_as_input(stored: &Value) -> Map<String, Value> {
    let mut input = stored.as_object().map(|m| keep_fields(m, MONITOR_WRITABLE)).unwrap_or_default();
    if let Some(Value::String(t)) = input.get_mut("type") {
        *t = flip_type(t).to_owned();
    }
    input
}

/// URL slug of a dashboard title.
pub(crate) fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        slug.push_str("dashboard");
    }
    slug
}

/// Gives every widget lacking an `id` (including widgets nested in group widgets) a new one.
pub(crate) fn assign_widget_ids(widgets: &mut Value, next_id: &mut dyn FnMut() -> i64) {
    let Value::Array(list) = widgets else {
        return;
    };
    for w in list {
        let Value::Object(widget) = w else {
            continue;
        };
        if widget.get("id").is_none_or(Value::is_null) {
            widget.insert("id".into(), Value::from(next_id()));
        }
        if let Some(nested) = widget.get_mut("definition").and_then(|d| d.get_mut("widgets")) {
            assign_widget_ids(nested, next_id);
        }
    }
}

pub(crate) struct DashboardMeta<'a> {
    pub id: &'a str,
    pub created_at: &'a str,
    pub modified_at: &'a str,
}

pub(crate) fn normalize_dashboard(
    body: &Map<String, Value>,
    meta: &DashboardMeta<'_>,
    next_widget_id: &mut dyn FnMut() -> i64,
) -> Value {
    let input = keep_fields(body, DASHBOARD_WRITABLE);
    let mut out = Map::new();
    out.insert("id".into(), Value::from(meta.id));
    let title = input.get("title").cloned().unwrap_or_else(|| json!(""));
    let slug = slugify(title.as_str().unwrap_or(""));
    out.insert("title".into(), title);
    out.insert("description".into(), input.get("description").cloned().unwrap_or(Value::Null));
    let mut widgets = input.get("widgets").cloned().unwrap_or_else(|| json!([]));
    assign_widget_ids(&mut widgets, next_widget_id);
    out.insert("widgets".into(), widgets);
    out.insert(
        "template_variables".into(),
        input.get("template_variables").cloned().unwrap_or_else(|| json!([])),
    );
    out.insert("layout_type".into(), input.get("layout_type").cloned().unwrap_or(Value::Null));
    out.insert("notify_list".into(), input.get("notify_list").cloned().unwrap_or_else(|| json!([])));
    out.insert("is_read_only".into(), input.get("is_read_only").cloned().unwrap_or(json!(false)));
    for (k, v) in &input {
        if !out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert("url".into(), Value::from(format!("/dashboard/{}/{slug}", meta.id)));
    out.insert("created_at".into(), Value::from(meta.created_at));
    out.insert("modified_at".into(), Value::from(meta.modified_at));
    out.insert("author_handle".into(), Value::from(SANDBOX_EMAIL));
    out.insert("author_name".into(), Value::from(SANDBOX_NAME));
    Value::Object(out)
}

/// The list-endpoint summary of a stored dashboard.
pub(crate) fn dashboard_summary(d: &Value) -> Value {
    let mut out = Map::new();
    for k in [
        "id",
        "title",
        "description",
        "layout_type",
        "url",
        "author_handle",
        "created_at",
        "modified_at",
        "is_read_only",
    ] {
        out.insert(k.into(), d.get(k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// A host as `GET /api/v1/hosts` lists it; `None` when it has no name.
pub(crate) fn normalize_host(v: &Value, id: i64, now: i64) -> Option<(String, Value)> {
    let m = v.as_object()?;
    let name = m
        .get("name")
        .or_else(|| m.get("host_name"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())?
        .trim()
        .to_owned();
    let mut out = Map::new();
    out.insert("name".into(), Value::from(name.as_str()));
    out.insert("host_name".into(), m.get("host_name").cloned().unwrap_or_else(|| Value::from(name.as_str())));
    out.insert("id".into(), m.get("id").cloned().unwrap_or(Value::from(id)));
    out.insert("up".into(), m.get("up").cloned().unwrap_or(json!(true)));
    out.insert("last_reported_time".into(), m.get("last_reported_time").cloned().unwrap_or(Value::from(now)));
    out.insert("tags_by_source".into(), m.get("tags_by_source").cloned().unwrap_or_else(|| json!({})));
    out.insert("aliases".into(), m.get("aliases").cloned().unwrap_or_else(|| json!([])));
    out.insert("apps".into(), m.get("apps").cloned().unwrap_or_else(|| json!([])));
    out.insert("is_muted".into(), m.get("is_muted").cloned().unwrap_or(json!(false)));
    out.insert("sources".into(), m.get("sources").cloned().unwrap_or_else(|| json!([])));
    for (k, v) in m {
        if !out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    Some((name, Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_from_query() {
        assert_eq!(query_threshold("avg(last_5m):avg:a{*} > 90"), Some(90.0));
        assert_eq!(query_threshold("avg(last_5m):avg:a{*} >= -1.5 "), Some(-1.5));
        assert_eq!(query_threshold("avg(last_5m):avg:a{*} <=0"), Some(0.0));
        assert_eq!(query_threshold("avg(last_5m):avg:a{*}"), None);
        assert_eq!(query_threshold("avg(last_5m):avg:a{*} >"), None);
        assert_eq!(query_threshold("a > NaN"), None);
    }

    #[test]
    fn mismatch_message() {
        let mut m = json!({"type": "metric alert", "query": "avg(last_5m):avg:a{*} > 80",
                           "options": {"thresholds": {"critical": 90}}});
        let m = m.as_object_mut().expect("object");
        let err = check_and_fill_thresholds(m, true).expect_err("mismatch");
        assert_eq!(
            err,
            "The value provided for parameter 'query' is invalid: critical threshold (90.0) \
             does not match that used in the query (80.0)"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("  My: Service -- Overview! "), "my-service-overview");
        assert_eq!(slugify("!!!"), "dashboard");
    }
}
