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

/// Now as Datadog writes `created`/`modified` of monitors and `created_at`/`modified_at` of
/// dashboards: microseconds and `+00:00` (`2024-10-10T16:40:19.663079+00:00`, every recording).
pub(crate) fn now_micros() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

pub(crate) fn now_epoch_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn keep_fields(body: &Map<String, Value>, allowed: &[&str]) -> Map<String, Value> {
    body.iter().filter(|(k, _)| allowed.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The type Datadog answers for a metric monitor. `query alert` and `metric alert` are aliases;
/// the answer follows the form of the query, not the type sent:
/// - a classic query (`avg(last_5m):avg:system.load.5{*} > 0.5`) comes back as `query alert`,
///   whichever was sent: `metric alert` → `query alert` in
///   `tests/v1/cassettes/test_scenarios/test_create_a_metric_monitor_returns_ok_response.yaml` (2023-01)
///   and `test_create_a_monitor_with_assets_returns_ok_response.yaml` (2025-11); `query alert` kept
///   in `test_create_a_metric_monitor_with_a_custom_schedule_returns_ok_response.yaml` (2025-05) and in
///   the list of `test_get_all_monitors_returns_ok_response_with_pagination.yaml`;
/// - a formula over `options.variables` (`formula("query1").rollup("sum").last("5m") > 124`) comes
///   back as `metric alert`: `query alert` → `metric alert` in
///   `test_create_a_monitor_with_aggregate_augmented_query_variables_returns_ok_response.yaml` and
///   `test_create_a_monitor_with_aggregate_filtered_query_variables_returns_ok_response.yaml` (2026-03).
///
/// Other types come back as sent.
pub(crate) fn answered_type<'a>(t: &'a str, query: &str) -> &'a str {
    if !is_metric_type(t) {
        return t;
    }
    if query.trim_start().starts_with("formula(") {
        "metric alert"
    } else {
        "query alert"
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

/// Datadog's answer to a query without a comparison (`{"query":"query","type":"log alert"}`), the
/// same from create, validate and validate-existing:
/// `tests/v1/cassettes/test_scenarios/test_create_a_monitor_returns_bad_request_response.yaml`,
/// `test_validate_a_monitor_returns_invalid_json_response.yaml`,
/// `test_validate_an_existing_monitor_returns_invalid_json_response.yaml`.
pub(crate) const NO_OPERATOR: &str =
    "The value provided for parameter 'query' is invalid: invalid operator specified: ";

/// Monitor types whose query is not a comparison to a threshold (a service check counts statuses,
/// a composite combines monitor ids, a synthetics monitor follows its test). Every other type is
/// refused without one (recorded for `log alert`, see [`NO_OPERATOR`]; assumed for the rest, whose
/// recorded queries all end in a comparison).
const NO_COMPARISON_TYPES: &[&str] = &["service check", "composite", "synthetics alert"];

fn has_comparison(query: &str) -> bool {
    query.contains('>') || query.contains('<') || query.contains("==") || query.contains("!=")
}

/// Refuses a query without a comparison operator, as Datadog does (see [`NO_OPERATOR`]).
pub(crate) fn check_query_operator(monitor: &Map<String, Value>) -> Result<(), String> {
    let kind = monitor.get("type").and_then(Value::as_str).unwrap_or("").trim();
    if NO_COMPARISON_TYPES.contains(&kind) {
        return Ok(());
    }
    match monitor.get("query").and_then(Value::as_str) {
        Some(q) if !has_comparison(q) => Err(NO_OPERATOR.to_owned()),
        _ => Ok(()),
    }
}

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
        if strict && !has_comparison(query) {
            return Err(NO_OPERATOR.to_owned());
        }
        // A formula query ends in `) > N` too; a comparison that is not at the end (`... > 2).by(..)`)
        // is left to Datadog's query parser, which the stand-in does not have.
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

/// Tags come back in request order: `["test:testeditamonitor…", "env:ci"]` is answered as sent in
/// every recorded create (e.g. `tests/v1/cassettes/test_scenarios/test_edit_a_monitor_returns_ok_response.yaml`,
/// `test_create_an_llm_observability_monitor_returns_ok_response.yaml`); no tags → `[]`
/// (`test_create_a_metric_monitor_returns_ok_response.yaml`). (An earlier stand-in reverse-sorted
/// them: the recordings contradict that.) Exact duplicates are dropped, keeping the first: no
/// recording sends any, so that part is a guess.
pub(crate) fn normalize_tags(v: Option<&Value>) -> Value {
    let Some(Value::Array(list)) = v else {
        return Value::Array(Vec::new());
    };
    let mut seen = BTreeSet::new();
    Value::Array(list.iter().filter(|t| seen.insert(t.to_string())).cloned().collect())
}

/// Event-based monitor types, which Datadog answers with `options.groupby_simple_monitor: false`
/// when it was not sent. Recorded for `log alert`
/// (`tests/v1/cassettes/test_scenarios/test_edit_a_monitor_returns_ok_response.yaml`, 2024-10, also
/// after a PUT), `ci-pipelines alert` (`test_create_a_cipipelines_monitor_returns_ok_response.yaml`),
/// `ci-tests alert` (`test_create_a_citests_monitor_returns_ok_response.yaml`), `rum alert`
/// (`test_create_a_rum_formula_and_functions_monitor_returns_ok_response.yaml`), `error-tracking alert`
/// (`test_create_an_error_tracking_monitor_returns_ok_response.yaml`), `llm-observability alert`
/// (`test_create_an_llm_observability_monitor_returns_ok_response.yaml`, 2026-08). Not added for
/// metric/query (`test_create_a_monitor_with_assets_returns_ok_response.yaml`), `cost alert`,
/// `data-jobs alert`, `data-quality alert` (their create cassettes).
const GROUPBY_SIMPLE_TYPES: &[&str] = &[
    "log alert",
    "ci-pipelines alert",
    "ci-tests alert",
    "rum alert",
    "error-tracking alert",
    "llm-observability alert",
];

/// The options Datadog answers: the options sent (a PUT's `options` replace the stored ones as a
/// whole: `tests/v1/cassettes/test_scenarios/test_edit_a_monitor_returns_ok_response.yaml`), with
/// - integer thresholds answered as floats (`"critical": 2` → `2.0`, every recording since 2022-05),
///   and a threshold sent as `null` dropped (the PUT of `test_edit_a_monitor_returns_ok_response.yaml`:
///   `"warning": null` is gone from the answer);
/// - `on_missing_data: "default"` dropped (`test_create_a_metric_monitor_with_a_custom_schedule_returns_ok_response.yaml`),
///   other values kept (`"show_and_notify_no_data"` in `test_edit_a_monitor_returns_ok_response.yaml`);
/// - `new_group_delay: 0` dropped (kept from the earlier stand-in: a recorded `600` is kept, a `0`
///   was never recorded; a guess);
/// - the defaults every recorded answer adds when absent: `notify_no_data: false`,
///   `notify_audit: false`, `new_host_delay: 300`, `include_tags: true`, `silenced: {}` (e.g.
///   `test_create_a_metric_monitor_returns_ok_response.yaml`, `test_create_a_data_quality_monitor_returns_ok_response.yaml`;
///   a value sent, even `null`, is kept: `"new_host_delay": null` after the recorded PUT), and
///   `groupby_simple_monitor: false` for [`GROUPBY_SIMPLE_TYPES`].
///
/// Nothing else is added: no `no_data_timeframe`, `escalation_message: ""`, `renotify_interval`,
/// `renotify_statuses` or `timeout_h` (an earlier stand-in added them; no recorded answer has them
/// unless they were sent).
pub(crate) fn normalize_options(v: Option<&Value>, kind: &str) -> Value {
    let mut opts = match v {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return other.clone(),
    };
    if let Some(Value::String(s)) = opts.get_mut("escalation_message") {
        *s = s.trim().to_owned();
    }
    if let Some(Value::Object(t)) = opts.get_mut("thresholds") {
        t.retain(|_, v| !v.is_null());
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
    if opts.get("on_missing_data").and_then(Value::as_str) == Some("default") {
        opts.remove("on_missing_data");
    }
    let mut defaults = vec![
        ("notify_no_data", json!(false)),
        ("notify_audit", json!(false)),
        ("new_host_delay", json!(300)),
        ("include_tags", json!(true)),
    ];
    if GROUPBY_SIMPLE_TYPES.contains(&kind) {
        defaults.push(("groupby_simple_monitor", json!(false)));
    }
    defaults.push(("silenced", json!({})));
    for (k, v) in defaults {
        opts.entry(k).or_insert(v);
    }
    Value::Object(opts)
}

/// Composite monitors: an empty `thresholds` is dropped (vendors.md, "Recorded real traffic"; no
/// composite is in the recorded corpus, so this follows the observation noted there).
fn drop_empty_composite_thresholds(kind: &str, options: &mut Value) {
    if kind != "composite" {
        return;
    }
    if let Some(o) = options.as_object_mut() {
        if o.get("thresholds").and_then(Value::as_object).is_some_and(Map::is_empty) {
            o.remove("thresholds");
        }
    }
}

/// Which Datadog an org's answers follow: today's (`None`, the default) or Datadog's as it was on a
/// past date, for the changes the recorded corpus dates. The conformance test replays each
/// recording in an org set to its recording date
/// ([`DatadogStandIn::set_api_date`](super::DatadogStandIn::set_api_date)), so that a field
/// Datadog added later is not counted against the stand-in. Each change, with the recordings that
/// date it (cassettes under `tests/v1/cassettes/test_scenarios/`):
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Era(pub(crate) Option<chrono::NaiveDate>);

impl Era {
    fn since(self, y: i32, m: u32, d: u32) -> bool {
        match (self.0, chrono::NaiveDate::from_ymd_opt(y, m, d)) {
            (Some(date), Some(change)) => date >= change,
            _ => true,
        }
    }

    /// Monitor create/update answers carry `restriction_policy: null` since 2024-10: absent on
    /// 2023-01-09 (`test_create_a_metric_monitor_returns_ok_response.yaml`), present on 2024-10-10
    /// (`test_edit_a_monitor_returns_ok_response.yaml`) and in every later create.
    pub(crate) fn restriction_policy(self) -> bool {
        self.since(2024, 10, 1)
    }

    /// Monitors carry `draft_status` since 2025-05: absent on 2025-01-17
    /// (`test_create_a_cost_monitor_returns_ok_response.yaml`), present on 2025-05-14
    /// (`test_create_an_error_tracking_monitor_returns_ok_response.yaml`) and in every later create.
    pub(crate) fn draft_status(self) -> bool {
        self.since(2025, 5, 1)
    }

    /// Monitor create answers carry `assets` (`[]` when none were sent) since 2025-11: absent on
    /// 2025-05-14 (`test_create_an_error_tracking_monitor_returns_ok_response.yaml`), present on
    /// 2025-11-21 (`test_check_if_a_monitor_can_be_deleted_returns_ok_response.yaml`) and later.
    pub(crate) fn create_assets(self) -> bool {
        self.since(2025, 11, 1)
    }

    /// Monitor reads (`GET` one, lists) answered `assets` too until 2026-02 and omit them since
    /// (vendors.md, "Recorded real traffic": 2025-12 reads returned `[]`; the corpus holds no
    /// monitor read after 2024-10, so this date is taken from there, not from a cassette).
    pub(crate) fn reads_carry_assets(self) -> bool {
        !self.since(2026, 2, 1)
    }

    /// Dashboards were answered with `is_read_only: false` when it was not sent until 2025-06:
    /// present on 2025-02-20 (`test_create_a_new_dashboard_with_apm_metrics_widget.yaml`), absent on
    /// 2025-06-30 (`test_create_a_new_dashboard_with_template_variable_type_field_returns_ok_response.yaml`)
    /// and in every later answer.
    pub(crate) fn dashboard_is_read_only_default(self) -> bool {
        !self.since(2025, 6, 1)
    }
}

pub(crate) struct MonitorMeta<'a> {
    pub id: i64,
    pub org_id: i64,
    /// `created` as Datadog writes it (`2024-10-10T16:40:19.663079+00:00`).
    pub created: &'a str,
    pub modified: &'a str,
    pub era: Era,
}

/// A monitor's query says whether it is multi-alert: a classic `... by {region}` group or an
/// event query's `.by("source")` (`true` in `test_edit_a_monitor_returns_ok_response.yaml`,
/// `test_create_a_cipipelines_monitor_returns_ok_response.yaml`,
/// `test_create_a_data_jobs_monitor_returns_ok_response.yaml`: `formula(...).by(job_name,...)`);
/// a formula's variables grouping does not count (`false` in
/// `test_create_a_data_quality_monitor_returns_ok_response.yaml`, whose variable has `group_by`).
fn is_multi(query: &str) -> bool {
    query.contains(" by ") || query.contains(".by(")
}

/// The name of a monitor created without one. Datadog generates one (vendors.md, "Recorded real
/// traffic"); its form is not recorded in the corpus, so this is a guess: the type and the query.
fn generated_name(kind: &str, query: &str) -> String {
    format!("{kind} on {query}")
}

/// `assets` as Datadog answers them: each asset sent, with the monitor's id and empty
/// `template_variables` and `options` added
/// (`tests/v1/cassettes/test_scenarios/test_create_a_monitor_with_assets_returns_ok_response.yaml`).
fn normalize_assets(v: Option<&Value>, id: i64) -> Value {
    let Some(Value::Array(list)) = v else {
        return json!([]);
    };
    Value::Array(
        list.iter()
            .map(|a| match a {
                Value::Object(m) => {
                    let mut out = Map::new();
                    out.insert("monitor_id".into(), Value::from(id));
                    for (k, v) in m {
                        out.insert(k.clone(), v.clone());
                    }
                    out.entry("template_variables").or_insert_with(|| json!({}));
                    out.entry("options").or_insert_with(|| json!({}));
                    Value::Object(out)
                }
                other => other.clone(),
            })
            .collect(),
    )
}

/// Builds the monitor Datadog stores from the writable fields `input`. This is the create answer;
/// [`MonitorView`] derives the other answers from it. Fields (cassettes under
/// `tests/v1/cassettes/test_scenarios/`):
/// - `created_at`: `created` in epoch milliseconds, whole seconds (`1728578419000` for
///   `2024-10-10T16:40:19.663079+00:00`, every recording since 2022);
/// - `overall_state_modified: null`, `overall_state: "No Data"`, `deleted: null` (every create);
/// - `restriction_policy: null` (creates and updates), `draft_status` (the one sent, else
///   `"published"`), `assets` (see [`normalize_assets`]; `[]` when none were sent), each since the
///   date [`Era`] gives;
/// - `name`, `message`, `query` trimmed (datadog #1289), a missing name generated;
/// - `classification` and other unknown fields are accepted and never returned (vendors.md).
pub(crate) fn normalize_monitor(input: &Map<String, Value>, meta: &MonitorMeta<'_>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), Value::from(meta.id));
    out.insert("org_id".into(), Value::from(meta.org_id));
    let query = trimmed(input.get("query")).unwrap_or_else(|| json!(""));
    let query_text = query.as_str().unwrap_or("").to_owned();
    let kind_sent = input.get("type").and_then(Value::as_str).map(str::trim).unwrap_or("").to_owned();
    let kind = match input.get("type") {
        Some(Value::String(t)) => Value::from(answered_type(t.trim(), &query_text)),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    out.insert("type".into(), kind);
    let name = match trimmed(input.get("name")) {
        None | Some(Value::Null) => Value::from(generated_name(&kind_sent, &query_text)),
        Some(n) => n,
    };
    out.insert("name".into(), name);
    out.insert("message".into(), trimmed(input.get("message")).unwrap_or_else(|| json!("")));
    out.insert("tags".into(), normalize_tags(input.get("tags")));
    out.insert("query".into(), query);
    let mut options = normalize_options(input.get("options"), &kind_sent);
    drop_empty_composite_thresholds(&kind_sent, &mut options);
    out.insert("options".into(), options);
    out.insert("multi".into(), Value::Bool(is_multi(&query_text)));
    out.insert("created_at".into(), Value::from(epoch_ms_whole_seconds(meta.created)));
    out.insert("created".into(), Value::from(meta.created));
    out.insert("modified".into(), Value::from(meta.modified));
    out.insert("deleted".into(), Value::Null);
    out.insert("priority".into(), input.get("priority").cloned().unwrap_or(Value::Null));
    out.insert("restricted_roles".into(), input.get("restricted_roles").cloned().unwrap_or(Value::Null));
    if meta.era.restriction_policy() {
        out.insert("restriction_policy".into(), Value::Null);
    }
    if meta.era.draft_status() {
        let draft = match input.get("draft_status") {
            None | Some(Value::Null) => json!("published"),
            Some(other) => other.clone(),
        };
        out.insert("draft_status".into(), draft);
    }
    if meta.era.create_assets() || input.get("assets").is_some_and(|a| !a.is_null()) {
        out.insert("assets".into(), normalize_assets(input.get("assets"), meta.id));
    }
    out.insert("overall_state_modified".into(), Value::Null);
    out.insert("overall_state".into(), json!("No Data"));
    out.insert("creator".into(), creator());
    Value::Object(out)
}

/// Which answer a stored monitor is shown in (cassettes under `tests/v1/cassettes/test_scenarios/`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MonitorView {
    /// `POST /api/v1/monitor`: everything [`normalize_monitor`] builds.
    Create,
    /// `PUT /api/v1/monitor/{id}`: like a create, without `creator`
    /// (`test_edit_a_monitor_returns_ok_response.yaml`).
    Update,
    /// `GET /api/v1/monitor/{id}`: no `restriction_policy` (`test_get_a_monitors_details_returns_ok_response.yaml`,
    /// 2024-10, while the create before it had one) and no `assets` (reads omit them since 2026-02,
    /// see [`Era::reads_carry_assets`]); `matching_downtimes` only with `with_downtimes=true` (same cassette; the stand-in
    /// has no downtimes, so `[]`).
    Get { with_downtimes: bool },
    /// `GET /api/v1/monitor`: like a read, with `matching_downtimes: []`
    /// (`test_get_all_monitors_returns_ok_response_with_pagination.yaml`).
    List,
}

pub(crate) fn monitor_view(stored: &Value, view: MonitorView, era: Era) -> Value {
    let mut out = stored.as_object().cloned().unwrap_or_default();
    match view {
        MonitorView::Create => {}
        MonitorView::Update => {
            out.remove("creator");
        }
        MonitorView::Get { with_downtimes } => {
            out.remove("restriction_policy");
            if !era.reads_carry_assets() {
                out.remove("assets");
            }
            if with_downtimes {
                out.insert("matching_downtimes".into(), json!([]));
            }
        }
        MonitorView::List => {
            out.remove("restriction_policy");
            if !era.reads_carry_assets() {
                out.remove("assets");
            }
            out.insert("matching_downtimes".into(), json!([]));
        }
    }
    Value::Object(out)
}

/// `2024-10-10T16:40:19.663079+00:00` → `1728578419000`.
pub(crate) fn epoch_ms_whole_seconds(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map(|t| t.timestamp() * 1000).unwrap_or(0)
}

/// Datadog's monitor creator: `name` may be null, `handle` and `email`, and the user `id`
/// (every recorded create).
pub(crate) fn creator() -> Value {
    json!({"name": SANDBOX_NAME, "handle": SANDBOX_EMAIL, "email": SANDBOX_EMAIL, "id": 1_000_001})
}

/// The writable fields of a stored monitor, so that a PUT can be merged onto it and normalised
/// again. The type is the one answered (`metric alert` and `query alert` are one class, and
/// [`answered_type`] picks the answer again from the query).
pub(crate) fn monitor_as_input(stored: &Value) -> Map<String, Value> {
    let mut input = stored.as_object().map(|m| keep_fields(m, MONITOR_WRITABLE)).unwrap_or_default();
    // Stored assets carry the monitor id and defaults; they are sent back as they are.
    if input.get("assets").is_some_and(|a| a.as_array().is_some_and(Vec::is_empty)) {
        input.remove("assets");
    }
    input
}

/// URL slug of a dashboard title, as Datadog writes it in `url`: lower case, letters and digits
/// kept, `-` and blanks become one `-`, everything else (`_`, `:`, ...) dropped; an empty title
/// gives an empty slug, and the slug is cut at 80 characters
/// (`test-createadistributionwidgetusingahistogramrequestcontainingaformulasandfuncti` in
/// `test_create_a_distribution_widget_using_a_histogram_request_containing_a_formulas_and_functions_apm_stats_query.yaml`,
/// and 40 other dashboard cassettes with long titles). Recorded (`tests/v1/cassettes/test_scenarios/`):
/// `Test-Create_a_new_dashboard_with_alert_graph_widget-1731699154` →
/// `test-createanewdashboardwithalertgraphwidget-1731699154`
/// (`test_create_a_new_dashboard_with_alert_graph_widget.yaml`), `...-1731699186 with Profile
/// Metrics Query` → `...-1731699186-with-profile-metrics-query`
/// (`test_get_a_dashboard_returns_ok_response.yaml`), `""` → `/dashboard/<id>/`
/// (`test_create_a_new_dashboard_with_template_variable_defaults_returns_ok_response.yaml`).
pub(crate) fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if (c == '-' || c.is_whitespace()) && !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.chars().count() == 80 {
            break;
        }
    }
    // A cut that ends in `-` is trimmed too (a guess: no recording ends there).
    while slug.ends_with('-') {
        slug.pop();
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
    pub era: Era,
    pub id: &'a str,
    pub created_at: &'a str,
    pub modified_at: &'a str,
}

/// The dashboard Datadog stores and answers. Beyond the fields sent (widget ids added, see
/// [`assign_widget_ids`]), recorded (`tests/v1/cassettes/test_scenarios/`): `description`,
/// `template_variables` and `notify_list` are `null` when not sent and `restricted_roles` is `[]`
/// (e.g. `test_get_a_dashboard_returns_ok_response.yaml`, `test_create_a_new_dashboard_with_hostmap_ddsql_widget.yaml`);
/// `is_read_only` is answered only when sent (since 2025-06, see [`Era`]: absent from every answer
/// recorded since, e.g. `test_create_a_new_dashboard_with_a_live_default_timeframe_returns_ok_response.yaml`).
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
    out.insert("template_variables".into(), input.get("template_variables").cloned().unwrap_or(Value::Null));
    out.insert("layout_type".into(), input.get("layout_type").cloned().unwrap_or(Value::Null));
    out.insert("notify_list".into(), input.get("notify_list").cloned().unwrap_or(Value::Null));
    out.insert(
        "restricted_roles".into(),
        input.get("restricted_roles").cloned().unwrap_or_else(|| json!([])),
    );
    if meta.era.dashboard_is_read_only_default() {
        out.insert("is_read_only".into(), input.get("is_read_only").cloned().unwrap_or(json!(false)));
    }
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

/// Python's `repr` of a JSON value, as Datadog quotes a rejected value in its messages
/// (`{'name': 'datacenter', 'value': '*', 'values': ['*']}`).
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter().map(|(k, v)| format!("'{k}': {}", py_repr(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Datadog's checks of a dashboard body beyond the spec's schema, with its messages (cassettes in
/// `tests/v1/cassettes/test_scenarios/`):
/// - tags may only be `team:` tags: `test_create_a_new_dashboard_with_invalid_team_tags_returns_bad_request_response.yaml`;
/// - a template variable may not have both `default` and `defaults`:
///   `test_create_a_new_dashboard_with_template_variable_defaults_and_default_returns_bad_request_response.yaml`;
/// - `defaults` items may not be empty:
///   `test_create_a_new_dashboard_with_template_variable_defaults_whose_value_has_no_length_returns_bad_request_response.yaml`;
/// - a preset's variable may not have both `value` and `values`, and `values` may not be empty:
///   `test_create_a_new_dashboard_with_template_variable_presets_using_values_and_value_returns_bad_request_response.yaml`,
///   `test_create_a_new_dashboard_with_template_variable_presets_using_values_with_no_length_returns_bad_request_response.yaml`.
pub(crate) fn check_dashboard(body: &Value) -> Result<(), String> {
    if let Some(tags) = body.get("tags").and_then(Value::as_array) {
        if tags.iter().any(|t| t.as_str().is_some_and(|t| !t.starts_with("team:"))) {
            return Err("Invalid tag format. Valid tag keys are: team.".into());
        }
    }
    for tv in body.get("template_variables").and_then(Value::as_array).into_iter().flatten() {
        if tv.get("default").is_some_and(|d| !d.is_null()) && tv.get("defaults").is_some_and(|d| !d.is_null())
        {
            return Err("'template_variables' is invalid".into());
        }
        let defaults = tv.get("defaults").and_then(Value::as_array);
        if defaults.into_iter().flatten().any(|d| d.as_str().is_some_and(str::is_empty)) {
            return Err("Minimum length of parameter 'defaults' should be 1".into());
        }
    }
    for preset in body.get("template_variable_presets").and_then(Value::as_array).into_iter().flatten() {
        for tv in preset.get("template_variables").and_then(Value::as_array).into_iter().flatten() {
            if tv.get("value").is_some_and(|d| !d.is_null()) && tv.get("values").is_some_and(|d| !d.is_null())
            {
                return Err(format!("'template_variables' value '{}' is invalid", py_repr(tv)));
            }
            if tv.get("values").and_then(Value::as_array).is_some_and(Vec::is_empty) {
                return Err("Minimum number of elements in parameter 'values' should be 1".into());
            }
        }
    }
    Ok(())
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
        assert_eq!(slugify("!!!"), "");
        assert_eq!(
            slugify("Test-Create_a_new_dashboard_with_alert_graph_widget-1731699154"),
            "test-createanewdashboardwithalertgraphwidget-1731699154"
        );
    }
}
