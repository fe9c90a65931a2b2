//! Stored metric points, the simple metric query grammar the stand-in understands, and what is
//! built on them: monitor evaluation after `POST /api/v1/series`, `GET /api/v1/query`
//! (`QueryMetrics`) and `GET /api/v1/graph/snapshot` (`GetGraphSnapshot`) with its image.
//!
//! # Queries the stand-in understands
//!
//! A metric expression is `[<a> - ][<b> * ]<space_agg>:<metric>{<scope>}[ by {<tag keys>}]`,
//! the shapes watchkeep's core-metric catalog writes (`100 - avg:system.cpu.idle{host:web-1}`,
//! `100 - 100 * avg:system.mem.pct_usable{…}`, `100 * max:system.disk.in_use{…} by {device}`).
//! `<space_agg>` is `avg`, `max`, `min` or `sum`; `<scope>` is `*`, a comma list of `key:value`
//! tags (all must match), or such lists joined by ` OR ` (any may match), optionally in
//! parentheses. A monitor query adds `<time_agg>(last_<N><m|h|d>):` before and
//! `<op> <threshold>` after (`<op>`: `>`, `>=`, `<`, `<=`). Anything else (two metrics added,
//! functions, `IN`, `NOT`, wildcards in values) is not understood: such monitors are left alone
//! (they keep the state they have, `No Data` from their create), and such queries get a 400.
//!
//! # Evaluation: a documented simplification
//!
//! Datadog evaluates every monitor about once a minute on its own clock, over the window that
//! ends at that moment (docs, "Metric monitors": evaluation window `last_5m`, …). The stand-in
//! has no clock of its own: after each accepted `POST /api/v1/series` it evaluates every
//! `metric alert` / `query alert` monitor of the org whose query it understands, over the
//! window that ends at the newest stored point of that metric and scope; the time of the
//! evaluation is that point's time (or now, for a point ahead of the clock). Per timestamp the points of every matching series are
//! space-aggregated and the expression applied, then the window's values are time-aggregated.
//! Each group (`by {…}`) gets `Alert` when the value crosses `options.thresholds.critical`,
//! `Warn` when it crosses `warning`, else `OK`; the monitor's `overall_state` is its worst group
//! (Datadog's overall state is the most severe of its groups). Every change of a group's state
//! appends a monitor event (see `events`) and moves `overall_state_modified`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{check_query, error_response, query_get, query_pairs, read, value_response, write, Org, Shared};

/// Points kept per metric and org; the oldest go first (bounds the sandbox's memory).
const MAX_POINTS_PER_METRIC: usize = 100_000;

/// One stored point: its series' tags (with `host:<host>` when the series named a host).
#[derive(Clone, Debug)]
pub(crate) struct Point {
    pub(crate) ts: i64,
    pub(crate) value: f64,
    pub(crate) tags: Arc<Vec<String>>,
}

/// Points by metric name, each list in arrival order.
#[derive(Default)]
pub(crate) struct MetricStore {
    points: HashMap<String, Vec<Point>>,
}

impl MetricStore {
    /// Stores the points of one accepted series (`timestamp`, `value` pairs).
    pub(crate) fn add(&mut self, metric: &str, tags: Vec<String>, points: &[(i64, f64)]) {
        let tags = Arc::new(tags);
        let list = self.points.entry(metric.to_owned()).or_default();
        list.extend(points.iter().map(|&(ts, value)| Point { ts, value, tags: Arc::clone(&tags) }));
        if list.len() > MAX_POINTS_PER_METRIC {
            let extra = list.len() - MAX_POINTS_PER_METRIC;
            list.drain(..extra);
        }
    }

    fn of(&self, metric: &str) -> &[Point] {
        self.points.get(metric).map(Vec::as_slice).unwrap_or_default()
    }
}

/// Space aggregation (across series at one time) and time aggregation (across a window).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Agg {
    Avg,
    Max,
    Min,
    Sum,
}

impl Agg {
    fn parse(s: &str) -> Option<Agg> {
        match s.trim() {
            "avg" => Some(Agg::Avg),
            "max" => Some(Agg::Max),
            "min" => Some(Agg::Min),
            "sum" => Some(Agg::Sum),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Agg::Avg => "avg",
            Agg::Max => "max",
            Agg::Min => "min",
            Agg::Sum => "sum",
        }
    }

    fn apply(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        Some(match self {
            Agg::Avg => values.iter().sum::<f64>() / values.len() as f64,
            Agg::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Agg::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Agg::Sum => values.iter().sum(),
        })
    }
}

/// `[<a> - ][<b> * ]<agg>:<metric>{<scope>}[ by {<keys>}]`: value = offset + factor · x.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MetricExpr {
    offset: f64,
    factor: f64,
    space: Agg,
    pub(crate) metric: String,
    /// Alternatives (OR) of tag lists (AND); empty = `*`.
    scope: Vec<Vec<String>>,
    pub(crate) by: Vec<String>,
    scope_text: String,
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn is_tag(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(char::is_whitespace)
        && !s.contains(['*', '(', ')', '{', '}', ',', '!'])
        && s.split_once(':').is_none_or(|(k, v)| is_name(k) && !v.is_empty())
}

fn parse_scope(raw: &str) -> Option<Vec<Vec<String>>> {
    let raw = raw.trim();
    if raw == "*" {
        return Some(Vec::new());
    }
    let mut alternatives = Vec::new();
    for alt in raw.split(" OR ") {
        let alt = alt.trim();
        let alt = alt.strip_prefix('(').and_then(|a| a.strip_suffix(')')).unwrap_or(alt);
        let mut tags = Vec::new();
        for t in alt.split([',']).flat_map(|t| t.split(" AND ")) {
            let t = t.trim();
            if !is_tag(t) {
                return None;
            }
            tags.push(t.to_owned());
        }
        if tags.is_empty() {
            return None;
        }
        alternatives.push(tags);
    }
    Some(alternatives)
}

impl MetricExpr {
    /// Parses a metric expression; `None` for what the stand-in does not understand.
    pub(crate) fn parse(text: &str) -> Option<MetricExpr> {
        let mut rest = text.trim();
        let (mut offset, mut factor) = (0.0, 1.0);
        if let Some((a, b)) = rest.split_once(" - ") {
            offset = number(a)?;
            factor = -1.0;
            rest = b.trim();
        }
        if let Some((b, r)) = rest.split_once(" * ") {
            factor *= number(b)?;
            rest = r.trim();
        }
        // The space aggregator may be left out (`system.cpu.idle{*}`, as the recorded
        // `QueryMetrics` request reads): Datadog then averages.
        let brace = rest.find('{')?;
        let (space, rest) = match rest[..brace].find(':') {
            Some(colon) => (Agg::parse(&rest[..colon])?, &rest[colon + 1..]),
            None => (Agg::Avg, rest),
        };
        let open = rest.find('{')?;
        let metric = rest[..open].trim();
        if !is_name(metric) {
            return None;
        }
        let close = open + rest[open..].find('}')?;
        let scope_text = rest[open + 1..close].trim().to_owned();
        let scope = parse_scope(&scope_text)?;
        let tail = rest[close + 1..].trim();
        let by = if tail.is_empty() {
            Vec::new()
        } else {
            let keys = tail.strip_prefix("by")?.trim().strip_prefix('{')?.strip_suffix('}')?;
            let keys: Vec<String> = keys.split(',').map(|k| k.trim().to_owned()).collect();
            if !keys.iter().all(|k| is_name(k)) {
                return None;
            }
            keys
        };
        Some(MetricExpr { offset, factor, space, metric: metric.to_owned(), scope, by, scope_text })
    }

    fn matches(&self, tags: &[String]) -> bool {
        self.scope.is_empty() || self.scope.iter().any(|alt| alt.iter().all(|t| tags.contains(t)))
    }

    /// The group a point belongs to (`host:web-1,device:sda`), `None` when it lacks a key;
    /// `*` without `by`.
    fn group_of(&self, tags: &[String]) -> Option<String> {
        if self.by.is_empty() {
            return Some("*".to_owned());
        }
        let mut parts = Vec::new();
        for key in &self.by {
            let tag = tags.iter().find(|t| t.split_once(':').is_some_and(|(k, _)| k == key))?;
            parts.push(tag.clone());
        }
        Some(parts.join(","))
    }

    /// Per group, the expression's value per timestamp within `from..=to` (oldest first).
    pub(crate) fn series(
        &self,
        store: &MetricStore,
        from: i64,
        to: i64,
    ) -> BTreeMap<String, Vec<(i64, f64)>> {
        let mut raw: BTreeMap<String, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
        for p in store.of(&self.metric) {
            if p.ts < from || p.ts > to || !self.matches(&p.tags) {
                continue;
            }
            if let Some(group) = self.group_of(&p.tags) {
                raw.entry(group).or_default().entry(p.ts).or_default().push(p.value);
            }
        }
        raw.into_iter()
            .map(|(group, by_ts)| {
                let points = by_ts
                    .into_iter()
                    .filter_map(|(ts, vals)| {
                        self.space.apply(&vals).map(|v| (ts, self.offset + self.factor * v))
                    })
                    .collect();
                (group, points)
            })
            .collect()
    }

    /// The newest stored point this expression selects.
    fn newest(&self, store: &MetricStore) -> Option<i64> {
        store.of(&self.metric).iter().filter(|p| self.matches(&p.tags)).map(|p| p.ts).max()
    }

    fn expression(&self) -> String {
        format!("{}{{{}}}", self.metric, if self.scope_text.is_empty() { "*" } else { &self.scope_text })
    }
}

/// A comparison operator of a monitor query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn crossed(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
        }
    }
}

/// `<time_agg>(last_<N><m|h|d>):<metric expression> <op> <threshold>`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MonitorQuery {
    time: Agg,
    window_secs: i64,
    pub(crate) expr: MetricExpr,
    op: Op,
    threshold: f64,
}

impl MonitorQuery {
    pub(crate) fn parse(text: &str) -> Option<MonitorQuery> {
        let text = text.trim();
        let open = text.find('(')?;
        let time = Agg::parse(&text[..open])?;
        let close = open + text[open..].find(')')?;
        let window = text[open + 1..close].trim().strip_prefix("last_")?;
        let unit = match window.chars().last()? {
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let n: i64 = window[..window.len() - 1].parse().ok().filter(|n| *n > 0)?;
        let rest = text[close + 1..].trim().strip_prefix(':')?;
        let (pos, op, len) = [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)]
            .iter()
            .filter_map(|(s, op)| rest.rfind(s).map(|p| (p, *op, s.len())))
            .max_by_key(|(p, _, len)| (*p, *len))?;
        // `>=` found at p also finds `>` at p: the longer one at the same place wins above; a
        // `>` right after a `>=`'s position cannot occur in a valid query.
        let threshold = number(&rest[pos + len..])?;
        let expr = MetricExpr::parse(&rest[..pos])?;
        Some(MonitorQuery { time, window_secs: n * unit, expr, op, threshold })
    }
}

/// A state change of one group of one monitor, for the event log.
pub(crate) struct Change {
    pub(crate) group: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) value: f64,
    pub(crate) threshold: f64,
}

fn severity(state: &str) -> u8 {
    match state {
        "Alert" => 3,
        "Warn" => 2,
        "OK" => 1,
        _ => 0,
    }
}

/// One group's evaluation: its state, value and the threshold it was compared with.
pub(crate) struct GroupResult {
    pub(crate) group: String,
    pub(crate) state: String,
    pub(crate) value: f64,
    pub(crate) threshold: f64,
}

/// Evaluates one monitor over the stored points: the new state of every group that has points
/// in the window (groups without points keep theirs), in group order. `None` when the query
/// or the thresholds are not understood.
pub(crate) fn evaluate(
    query: &MonitorQuery,
    thresholds: &Value,
    store: &MetricStore,
) -> Option<(i64, Vec<GroupResult>)> {
    let critical = thresholds.get("critical").and_then(Value::as_f64).unwrap_or(query.threshold);
    let warning = thresholds.get("warning").and_then(Value::as_f64);
    let newest = query.expr.newest(store)?;
    let from = newest - query.window_secs + 1;
    let mut out = Vec::new();
    for (group, points) in query.expr.series(store, from, newest) {
        let values: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
        let Some(value) = query.time.apply(&values) else { continue };
        let (state, threshold) = if query.op.crossed(value, critical) {
            ("Alert", critical)
        } else if let Some(w) = warning.filter(|w| query.op.crossed(value, *w)) {
            ("Warn", w)
        } else {
            ("OK", warning.unwrap_or(critical))
        };
        out.push(GroupResult { group, state: state.to_owned(), value, threshold });
    }
    Some((newest, out))
}

/// Evaluates every monitor of the org whose query is understood (after a series submission),
/// updating states and appending events.
pub(crate) fn evaluate_org(org: &Org) {
    let candidates: Vec<(i64, Value)> = {
        let store = read(&org.monitors);
        store
            .map
            .iter()
            .filter(|(_, m)| {
                matches!(m.full.get("type").and_then(Value::as_str), Some("metric alert" | "query alert"))
            })
            .map(|(id, m)| (*id, m.full.clone()))
            .collect()
    };
    for (id, monitor) in candidates {
        let Some(query) = monitor.get("query").and_then(Value::as_str).and_then(MonitorQuery::parse) else {
            continue;
        };
        let thresholds = monitor.pointer("/options/thresholds").cloned().unwrap_or(Value::Null);
        let result = {
            let metrics = read(&org.metrics);
            evaluate(&query, &thresholds, &metrics)
        };
        let Some((newest, groups)) = result else { continue };
        // Datadog evaluates at its own "now": a point up to ten minutes ahead (which the intake
        // accepts) is evaluated now, not in the future.
        let at = newest.min(super::normalize::now_epoch_secs());
        let mut changes = Vec::new();
        let overall = {
            let mut states = write(&org.group_states);
            let known = states.entry(id).or_default();
            for GroupResult { group, state, value, threshold } in groups {
                let from = known.get(&group).cloned().unwrap_or_else(|| "No Data".to_owned());
                if from != state {
                    known.insert(group.clone(), state.clone());
                    changes.push(Change { group, from, to: state, value, threshold });
                }
            }
            known.values().max_by_key(|s| severity(s)).cloned()
        };
        if changes.is_empty() {
            continue;
        }
        if let Some(overall) = overall {
            super::monitors::set_state_at(org, id, &overall, at);
        }
        super::events::monitor_changed(org, id, &monitor, &changes, at);
    }
}

// ---- GET /api/v1/query ------------------------------------------------------------------

/// `GET /api/v1/query?from=&to=&query=` (`QueryMetrics`), shaped like the recorded answer
/// (`tests/v1/cassettes/test_scenarios/test_query_timeseries_points_returns_ok_response.yaml`):
/// `status`, `res_type: time_series`, `series[]` with `pointlist` in epoch milliseconds,
/// `from_date`/`to_date` in milliseconds, `query`, `group_by`. The stand-in answers raw points
/// (no rollup into intervals: Datadog rolls up to fit ~300 points; the recorded answer shows
/// `interval: 300` over a day). A query it does not understand gets a 400 (guess: Datadog
/// answers 400 with `errors` for a query it cannot parse).
pub(crate) async fn query(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs = query_pairs(raw.as_deref());
    if let Err(resp) = check_query("get", "/api/v1/query", &pairs) {
        return resp;
    }
    let from = query_get(&pairs, "from").and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(0);
    let to = query_get(&pairs, "to").and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(0);
    let text = query_get(&pairs, "query").unwrap_or_default();
    let Some(expr) = MetricExpr::parse(text) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            &format!("Error parsing query: the stand-in understands `[a - ][b * ]agg:metric{{scope}}[ by {{keys}}]`, not {text:?}"),
        );
    };
    let org = shared.org_of(&headers);
    let body = query_answer(&org, &expr, text, from, to);
    value_response(StatusCode::OK, &body)
}

fn query_answer(org: &Org, expr: &MetricExpr, text: &str, from: i64, to: i64) -> Value {
    let groups = expr.series(&read(&org.metrics), from, to);
    let series: Vec<Value> = groups
        .into_iter()
        .map(|(group, points)| {
            let tag_set: Vec<&str> = if group == "*" { Vec::new() } else { group.split(',').collect() };
            let scope = if tag_set.is_empty() { expr.scope_text.clone() } else { tag_set.join(",") };
            let start = points.first().map(|p| p.0 * 1000).unwrap_or(from * 1000);
            let end = points.last().map(|p| p.0 * 1000).unwrap_or(to * 1000);
            json!({
                "aggr": expr.space.name(),
                "attributes": {},
                "display_name": expr.metric,
                "end": end,
                "expression": expr.expression(),
                "interval": 1,
                "length": points.len(),
                "metric": expr.metric,
                "pointlist": points.iter().map(|(t, v)| json!([(*t * 1000) as f64, v])).collect::<Vec<_>>(),
                "query_index": 0,
                "scope": if scope.is_empty() { "*".to_owned() } else { scope },
                "start": start,
                "tag_set": tag_set,
                // No `unit`: the stand-in keeps no metric metadata (Datadog answers
                // `[{family, name, …}, null]` for a known unit).
            })
        })
        .collect();
    json!({
        "status": "ok",
        "resp_version": 1,
        "series": series,
        "to_date": to * 1000,
        "query": text,
        "message": "",
        "res_type": "time_series",
        "times": [],
        "from_date": from * 1000,
        "group_by": expr.by,
        "values": [],
    })
}

// ---- GET /api/v1/graph/snapshot and the image -------------------------------------------

/// The snapshot images taken, by token, and how each download arrived.
#[derive(Default)]
pub(crate) struct Snapshots {
    images: HashMap<String, Vec<u8>>,
    /// Per download: whether it carried a `DD-API-KEY` or `DD-APPLICATION-KEY` header.
    downloads: Vec<bool>,
    /// Downloads still to answer 403, as an image not rendered yet.
    pub(crate) pending: usize,
}

/// `GET /api/v1/graph/snapshot?metric_query=&start=&end=&title=` (`GetGraphSnapshot`): draws
/// the stored points of `metric_query` over `start..end` into a PNG at once and answers
/// `GraphSnapshot {graph_def, metric_query, snapshot_url}` with `snapshot_url` on the stand-in
/// itself (`/snapshot/view/<token>.png`, served without keys, as Datadog's public snapshot
/// image URL on `p.datadoghq.com` is). `graph_def` is the query's graph as Datadog writes it
/// (`{"requests": [{"q": …}]}`); only `metric_query` is supported (a `graph_def` request gets a
/// 400 naming the limitation). Real Datadog renders asynchronously: the image may not be
/// there for a few seconds; the stand-in's is ready at once.
pub(crate) async fn snapshot(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs = query_pairs(raw.as_deref());
    if let Err(resp) = check_query("get", "/api/v1/graph/snapshot", &pairs) {
        return resp;
    }
    let start = query_get(&pairs, "start").and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(0);
    let end = query_get(&pairs, "end").and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(0);
    let Some(text) = query_get(&pairs, "metric_query") else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "One of metric_query or graph_def is required (the stand-in supports metric_query only)",
        );
    };
    let Some(expr) = MetricExpr::parse(text) else {
        return error_response(StatusCode::BAD_REQUEST, &format!("Error parsing query: {text:?}"));
    };
    let title = query_get(&pairs, "title").unwrap_or_default();
    let org = shared.org_of(&headers);
    let groups = expr.series(&read(&org.metrics), start, end);
    let png = super::png::chart(title, &groups, start, end);
    let token = format!("{:016x}{:016x}", shared.random(), shared.random());
    write(&shared.snapshots).images.insert(token.clone(), png);
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let graph_def = json!({"requests": [{"q": text}]}).to_string();
    value_response(
        StatusCode::OK,
        &json!({
            "graph_def": graph_def,
            "metric_query": text,
            "snapshot_url": format!("http://{host}/snapshot/view/{token}.png"),
        }),
    )
}

/// `GET /snapshot/view/<token>.png`: the image, without keys; 404 for an unknown token. While
/// [`Snapshots::pending`] downloads remain (`DatadogStandIn::set_snapshot_pending`) it answers
/// 403 `AccessDenied`, as an object store does for an image not written yet (a guess at how
/// the real URL answers before Datadog has rendered the snapshot).
pub(crate) async fn snapshot_image(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let with_keys = headers.contains_key("dd-api-key") || headers.contains_key("dd-application-key");
    let mut snaps = write(&shared.snapshots);
    snaps.downloads.push(with_keys);
    let token = file.strip_suffix(".png").unwrap_or(&file);
    if snaps.pending > 0 && snaps.images.contains_key(token) {
        snaps.pending -= 1;
        let mut resp = (StatusCode::FORBIDDEN, "<Error><Code>AccessDenied</Code></Error>").into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/xml"),
        );
        return resp;
    }
    match snaps.images.get(token) {
        Some(png) => {
            let mut resp = (StatusCode::OK, png.clone()).into_response();
            resp.headers_mut()
                .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("image/png"));
            resp
        }
        None => error_response(StatusCode::NOT_FOUND, "Not found"),
    }
}

/// `(downloads, downloads that carried a key header)` of snapshot images so far.
pub(crate) fn snapshot_downloads(shared: &Shared) -> (usize, usize) {
    let snaps = read(&shared.snapshots);
    (snaps.downloads.len(), snaps.downloads.iter().filter(|k| **k).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_catalog_shapes() {
        let e = MetricExpr::parse("100 - avg:system.cpu.idle{host:web-1}").unwrap();
        assert_eq!((e.offset, e.factor, e.metric.as_str()), (100.0, -1.0, "system.cpu.idle"));
        let e = MetricExpr::parse("100 - 100 * avg:system.mem.pct_usable{host:a,env:prod}").unwrap();
        assert_eq!((e.offset, e.factor), (100.0, -100.0));
        assert_eq!(e.scope, vec![vec!["host:a".to_owned(), "env:prod".to_owned()]]);
        let e = MetricExpr::parse("100 * max:system.disk.in_use{host:a} by {device}").unwrap();
        assert_eq!(e.by, ["device"]);
        let e = MetricExpr::parse("avg:system.cpu.user{host:web-1 OR host:web-2} by {host}").unwrap();
        assert_eq!(e.scope.len(), 2);
        let e = MetricExpr::parse("system.cpu.idle{*}").unwrap();
        assert_eq!((e.space, e.metric.as_str(), e.scope.len()), (Agg::Avg, "system.cpu.idle", 0));
        assert!(MetricExpr::parse("avg:a{x} + avg:b{x}").is_none());
        assert!(MetricExpr::parse("avg:a{!host:x}").is_none());
        assert!(MetricExpr::parse("p99:a{*}").is_none());
        let q = MonitorQuery::parse("avg(last_5m):100 - avg:system.cpu.idle{host:web-1} > 85").unwrap();
        assert_eq!((q.window_secs, q.op, q.threshold), (300, Op::Gt, 85.0));
        let q = MonitorQuery::parse("max(last_1h):avg:x{*} by {host} <= 2.5").unwrap();
        assert_eq!((q.time, q.window_secs, q.op, q.threshold), (Agg::Max, 3600, Op::Le, 2.5));
        assert!(MonitorQuery::parse("change(avg(last_5m),last_5m):avg:x{*} > 1").is_none());
        assert!(MonitorQuery::parse("avg(last_5m):anomalies(avg:x{*}, 'basic', 2) >= 1").is_none());
    }

    #[test]
    fn evaluates_groups_against_thresholds() {
        let mut store = MetricStore::default();
        store.add("cpu", vec!["host:a".into()], &[(100, 90.0), (160, 96.0)]);
        store.add("cpu", vec!["host:b".into()], &[(100, 75.0), (160, 75.0)]);
        store.add("cpu", vec!["host:c".into()], &[(100, 10.0)]);
        let q = MonitorQuery::parse("avg(last_5m):avg:cpu{*} by {host} > 95").unwrap();
        let (at, groups) = evaluate(&q, &json!({"critical": 90, "warning": 70}), &store).unwrap();
        assert_eq!(at, 160);
        let states: Vec<(&str, &str)> = groups.iter().map(|g| (g.group.as_str(), g.state.as_str())).collect();
        assert_eq!(states, [("host:a", "Alert"), ("host:b", "Warn"), ("host:c", "OK")]);
        // Without thresholds the query's own number is critical.
        let (_, groups) = evaluate(&q, &Value::Null, &store).unwrap();
        assert_eq!(groups[0].state, "OK", "avg 93 is not above 95");
    }
}
