//! A small CloudWatch stand-in speaking the awsQuery protocol, for what moto lacks:
//!
//! * **DescribeAlarms** paged the way AWS pages it (`MaxRecords`, default and maximum 100, with
//!   `NextToken`; moto returns everything at once), filtered by `AlarmNames`, `AlarmNamePrefix`
//!   and `AlarmTypes` (none means metric alarms only, as AWS), over generated metric alarms
//!   ([`QueryStandIn::seed_metric_alarms`]) and stored composite alarms.
//! * **PutCompositeAlarm**, **DeleteAlarms** and **ListTagsForResource** (moto answers 500 to
//!   PutCompositeAlarm). As in AWS, tags are kept from the create only.
//! * **DescribeAlarmHistory** with paging over seeded items ([`QueryStandIn::seed_history`]).
//! * **GetMetricWidgetImage**, answering a recorded AWS-shaped response (a real PNG, base64, in
//!   `<MetricWidgetImage>`) and recording the `MetricWidget` JSON it was sent.
//!
//! Requests are form-encoded `Action=...` POSTs; SigV4 headers are not checked (the region for
//! ARNs is read from the credential scope). Answers use AWS's XML shapes and namespace
//! (`http://monitoring.amazonaws.com/doc/2010-08-01/`), including `ErrorResponse` for errors.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::server::BackgroundServer;

/// CloudWatch's XML namespace.
pub const NAMESPACE: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";

/// The account id in every ARN the stand-in makes.
pub const ACCOUNT_ID: &str = "123456789012";

/// The PNG inside the recorded GetMetricWidgetImage answer (4×3 pixels, RGB).
pub const WIDGET_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, 0x08, 0x02, 0x00, 0x00, 0x00, 0x3b, 0x96, 0x39, 0x91, 0x00,
    0x00, 0x00, 0x2a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x0d, 0xc7, 0x31, 0x01, 0x00, 0x30, 0x0c, 0xc3,
    0x30, 0x03, 0x2b, 0x88, 0xc0, 0x29, 0x9c, 0x80, 0x28, 0x08, 0xc3, 0xda, 0xf4, 0x09, 0x70, 0x70, 0xf1,
    0x10, 0xe2, 0xc4, 0x8d, 0x97, 0x9f, 0x3a, 0x75, 0xeb, 0xd5, 0x07, 0x22, 0x36, 0x11, 0x59, 0xc0, 0x6d,
    0xf6, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// [`WIDGET_PNG`] as the recorded response carries it.
const WIDGET_PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAKklEQVR4nA3HMQEAMAzDMAMriMApnIAoCMPa9AlwcPEQ4sSNl586devVByI2EVnAbfZxAAAAAElFTkSuQmCC";

/// AWS's page size limit for DescribeAlarms and DescribeAlarmHistory.
const MAX_RECORDS: usize = 100;

const TIMESTAMP: &str = "2026-01-15T09:30:00.000Z";

#[derive(Debug, Clone)]
enum AlarmKind {
    Metric { index: usize },
    Composite { rule: String },
}

#[derive(Debug, Clone)]
struct Alarm {
    name: String,
    arn: String,
    description: Option<String>,
    actions_enabled: bool,
    alarm_actions: Vec<String>,
    ok_actions: Vec<String>,
    insufficient_data_actions: Vec<String>,
    tags: Vec<(String, String)>,
    kind: AlarmKind,
}

#[derive(Debug, Clone)]
struct HistoryItem {
    timestamp: String,
    item_type: String,
    summary: String,
    data: String,
}

#[derive(Default)]
struct State {
    alarms: BTreeMap<String, Alarm>,
    history: HashMap<String, Vec<HistoryItem>>,
    widgets: Vec<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    requests: AtomicU64,
    by_action: Mutex<HashMap<String, u64>>,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running awsQuery stand-in; dropping it stops the server.
pub struct QueryStandIn {
    server: BackgroundServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for QueryStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStandIn").field("addr", &self.server.addr()).finish_non_exhaustive()
    }
}

impl QueryStandIn {
    /// Binds 127.0.0.1:0 and serves on its own tokio runtime in a background thread, so it works
    /// from sync tests and from inside async code.
    pub fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let app_shared = Arc::clone(&shared);
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let server =
            BackgroundServer::start(addr, "aws-query-stand-in", 0, move |listener, shutdown| async move {
                let app = Router::new().fallback(move |headers: HeaderMap, body: String| {
                    let shared = Arc::clone(&app_shared);
                    async move { handle(&shared, &headers, &body) }
                });
                let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
            })?;
        Ok(QueryStandIn { server, shared })
    }

    /// `http://127.0.0.1:PORT`, for the provider's `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Adds `count` metric alarms named `<prefix>-0000`, `<prefix>-0001`, …; when `owned`, each
    /// description ends with watchkeep's marker line for address `<prefix>.<i>`. Returns the
    /// names.
    pub fn seed_metric_alarms(&self, prefix: &str, count: usize, owned: bool) -> Vec<String> {
        let mut st = self.shared.state();
        (0..count)
            .map(|i| {
                let name = format!("{prefix}-{i:04}");
                let description = if owned {
                    format!("Generated alarm {i}\nmanaged-by:watchkeep watchkeep-address:{prefix}.{i}")
                } else {
                    format!("Generated alarm {i}")
                };
                st.alarms.insert(
                    name.clone(),
                    Alarm {
                        arn: format!("arn:aws:cloudwatch:us-east-1:{ACCOUNT_ID}:alarm:{name}"),
                        name: name.clone(),
                        description: Some(description),
                        actions_enabled: true,
                        alarm_actions: vec![format!("arn:aws:sns:us-east-1:{ACCOUNT_ID}:ops")],
                        ok_actions: Vec::new(),
                        insufficient_data_actions: Vec::new(),
                        tags: Vec::new(),
                        kind: AlarmKind::Metric { index: i },
                    },
                );
                name
            })
            .collect()
    }

    /// Gives `alarm` `count` history items, newest first, alternating state updates
    /// (`OK → ALARM`, `ALARM → OK`) one minute apart, with AWS-shaped `HistoryData` JSON.
    pub fn seed_history(&self, alarm: &str, count: usize) {
        let start = chrono::DateTime::parse_from_rfc3339("2026-01-15T12:00:00Z").expect("valid time");
        let items = (0..count)
            .map(|i| {
                let (old, new) = if i % 2 == 0 { ("OK", "ALARM") } else { ("ALARM", "OK") };
                let t = start - chrono::Duration::minutes(i as i64);
                let timestamp = t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
                HistoryItem {
                    summary: format!("Alarm updated from {old} to {new}"),
                    item_type: "StateUpdate".into(),
                    data: serde_json::json!({
                        "version": "1.0",
                        "oldState": { "stateValue": old, "stateReason": "Threshold Crossed" },
                        "newState": { "stateValue": new, "stateReason": format!("item {i}") },
                    })
                    .to_string(),
                    timestamp,
                }
            })
            .collect();
        self.shared.state().history.insert(alarm.to_string(), items);
    }

    /// The `MetricWidget` JSON of every GetMetricWidgetImage request, in order.
    pub fn widget_requests(&self) -> Vec<String> {
        self.shared.state().widgets.clone()
    }

    /// The tags stored for alarm `name` (`None` when there is no such alarm).
    pub fn alarm_tags(&self, name: &str) -> Option<Vec<(String, String)>> {
        self.shared.state().alarms.get(name).map(|a| a.tags.clone())
    }

    /// The rule of composite alarm `name`.
    pub fn composite_rule(&self, name: &str) -> Option<String> {
        match &self.shared.state().alarms.get(name)?.kind {
            AlarmKind::Composite { rule } => Some(rule.clone()),
            AlarmKind::Metric { .. } => None,
        }
    }

    /// All requests served.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Requests served for one `Action`.
    pub fn requests(&self, action: &str) -> u64 {
        self.shared.by_action.lock().unwrap_or_else(|e| e.into_inner()).get(action).copied().unwrap_or(0)
    }

    /// Resets [`QueryStandIn::request_count`] and [`QueryStandIn::requests`].
    pub fn reset_counts(&self) {
        self.shared.requests.store(0, Ordering::Relaxed);
        self.shared.by_action.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

// ---------------------------------------------------------------------------------------------

struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `<key>.member.N` values in N order.
    fn members(&self, key: &str) -> Vec<String> {
        let prefix = format!("{key}.member.");
        let mut items: Vec<(u32, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.parse().ok()?, v.clone())))
            .collect();
        items.sort();
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// `Tags.member.N.Key` / `.Value`.
    fn tags(&self) -> Vec<(String, String)> {
        let mut n = 1;
        let mut out = Vec::new();
        while let Some(k) = self.get(&format!("Tags.member.{n}.Key")) {
            out.push((k.to_string(), self.get(&format!("Tags.member.{n}.Value")).unwrap_or("").to_string()));
            n += 1;
        }
        out
    }
}

fn handle(shared: &Shared, headers: &HeaderMap, body: &str) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let params = Params(form_urlencoded::parse(body.as_bytes()).into_owned().collect());
    let action = params.get("Action").unwrap_or("").to_string();
    *shared.by_action.lock().unwrap_or_else(|e| e.into_inner()).entry(action.clone()).or_default() += 1;
    let region = region_of(headers);
    match action.as_str() {
        "DescribeAlarms" => describe_alarms(shared, &params),
        "PutCompositeAlarm" => put_composite_alarm(shared, &params, &region),
        "DeleteAlarms" => delete_alarms(shared, &params),
        "ListTagsForResource" => list_tags(shared, &params),
        "DescribeAlarmHistory" => describe_alarm_history(shared, &params),
        "GetMetricWidgetImage" => get_metric_widget_image(shared, &params),
        "" => error(StatusCode::BAD_REQUEST, "MissingAction", "no Action parameter"),
        other => error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            &format!("The action {other} is not valid for this web service (AWS query stand-in)."),
        ),
    }
}

/// The region of the SigV4 credential scope (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
fn region_of(headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or("us-east-1")
        .to_string()
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#xA;"),
            c => out.push(c),
        }
    }
    out
}

fn el(name: &str, value: &str) -> String {
    format!("<{name}>{}</{name}>", escape(value))
}

fn list_el(name: &str, items: &[String]) -> String {
    let members: String = items.iter().map(|i| el("member", i)).collect();
    format!("<{name}>{members}</{name}>")
}

fn ok(action: &str, result: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata>\
         </{action}Response>"
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn ok_empty(action: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000\
         </RequestId></ResponseMetadata></{action}Response>"
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type>{}{}</Error>\
         <RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>",
        el("Code", code),
        el("Message", message)
    );
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

/// `MaxRecords` (1..=100, default 100) and the offset in `NextToken` (`tok-<offset>`).
fn paging(params: &Params) -> Result<(usize, usize), Response> {
    let max = match params.get("MaxRecords") {
        None => MAX_RECORDS,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=MAX_RECORDS).contains(&n) => n,
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValue",
                    &format!("The parameter MaxRecords must be between 1 and {MAX_RECORDS}."),
                ))
            }
        },
    };
    let offset = match params.get("NextToken") {
        None => 0,
        Some(t) => match t.strip_prefix("tok-").and_then(|o| o.parse::<usize>().ok()) {
            Some(o) => o,
            None => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "InvalidNextToken",
                    "The service found NextToken to be invalid.",
                ))
            }
        },
    };
    Ok((max, offset))
}

fn describe_alarms(shared: &Shared, params: &Params) -> Response {
    let (max, offset) = match paging(params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let names = params.members("AlarmNames");
    let types = params.members("AlarmTypes");
    let want_metric = types.is_empty() || types.iter().any(|t| t == "MetricAlarm");
    let want_composite = types.iter().any(|t| t == "CompositeAlarm");
    let prefix = params.get("AlarmNamePrefix");
    let st = shared.state();
    let matching: Vec<&Alarm> = st
        .alarms
        .values()
        .filter(|a| names.is_empty() || names.contains(&a.name))
        .filter(|a| prefix.is_none_or(|p| a.name.starts_with(p)))
        .filter(|a| match a.kind {
            AlarmKind::Metric { .. } => want_metric,
            AlarmKind::Composite { .. } => want_composite,
        })
        .collect();
    if offset > matching.len() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidNextToken",
            "The service found NextToken to be invalid.",
        );
    }
    let page = &matching[offset..matching.len().min(offset + max)];
    let metric: String =
        page.iter().filter(|a| matches!(a.kind, AlarmKind::Metric { .. })).map(|a| metric_xml(a)).collect();
    let composite: String = page
        .iter()
        .filter(|a| matches!(a.kind, AlarmKind::Composite { .. }))
        .map(|a| composite_xml(a))
        .collect();
    let next = if offset + page.len() < matching.len() {
        el("NextToken", &format!("tok-{}", offset + page.len()))
    } else {
        String::new()
    };
    ok(
        "DescribeAlarms",
        &format!("<CompositeAlarms>{composite}</CompositeAlarms><MetricAlarms>{metric}</MetricAlarms>{next}"),
    )
}

fn common_xml(a: &Alarm) -> String {
    let mut x = String::new();
    x += &el("AlarmName", &a.name);
    x += &el("AlarmArn", &a.arn);
    if let Some(d) = &a.description {
        x += &el("AlarmDescription", d);
    }
    x += &el("AlarmConfigurationUpdatedTimestamp", TIMESTAMP);
    x += &el("ActionsEnabled", if a.actions_enabled { "true" } else { "false" });
    x += &list_el("OKActions", &a.ok_actions);
    x += &list_el("AlarmActions", &a.alarm_actions);
    x += &list_el("InsufficientDataActions", &a.insufficient_data_actions);
    x += &el("StateValue", "OK");
    x += &el("StateReason", "Threshold Crossed: no datapoints were received.");
    x += &el("StateUpdatedTimestamp", TIMESTAMP);
    x += &el("StateTransitionedTimestamp", TIMESTAMP);
    x
}

fn metric_xml(a: &Alarm) -> String {
    let AlarmKind::Metric { index } = a.kind else { return String::new() };
    format!(
        "<member>{}{}{}{}<Dimensions><member>{}{}</member></Dimensions>{}{}{}{}{}{}</member>",
        common_xml(a),
        el("MetricName", "CPUUtilization"),
        el("Namespace", "AWS/EC2"),
        el("Statistic", "Average"),
        el("Name", "InstanceId"),
        el("Value", &format!("i-{index:08x}")),
        el("Period", "300"),
        el("EvaluationPeriods", "2"),
        el("DatapointsToAlarm", "2"),
        el("Threshold", "80.0"),
        el("ComparisonOperator", "GreaterThanThreshold"),
        el("TreatMissingData", "missing"),
    )
}

fn composite_xml(a: &Alarm) -> String {
    let AlarmKind::Composite { rule } = &a.kind else { return String::new() };
    format!(
        "<member>{}{}{}</member>",
        common_xml(a),
        el("AlarmRule", rule),
        el("ActionsSuppressedBy", "None")
    )
}

fn put_composite_alarm(shared: &Shared, params: &Params, region: &str) -> Response {
    let (Some(name), Some(rule)) = (params.get("AlarmName"), params.get("AlarmRule")) else {
        return error(StatusCode::BAD_REQUEST, "MissingParameter", "AlarmName and AlarmRule are required.");
    };
    let mut st = shared.state();
    if matches!(st.alarms.get(name), Some(Alarm { kind: AlarmKind::Metric { .. }, .. })) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterCombination",
            &format!("An alarm named {name} exists and is not a composite alarm."),
        );
    }
    // As AWS: tags are taken on create only.
    let tags = st.alarms.get(name).map(|a| a.tags.clone()).unwrap_or_else(|| params.tags());
    st.alarms.insert(
        name.to_string(),
        Alarm {
            name: name.to_string(),
            arn: format!("arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{name}"),
            description: params.get("AlarmDescription").map(str::to_string),
            actions_enabled: params.get("ActionsEnabled") != Some("false"),
            alarm_actions: params.members("AlarmActions"),
            ok_actions: params.members("OKActions"),
            insufficient_data_actions: params.members("InsufficientDataActions"),
            tags,
            kind: AlarmKind::Composite { rule: rule.to_string() },
        },
    );
    ok_empty("PutCompositeAlarm")
}

fn delete_alarms(shared: &Shared, params: &Params) -> Response {
    let names = params.members("AlarmNames");
    let mut st = shared.state();
    if let Some(missing) = names.iter().find(|n| !st.alarms.contains_key(*n)) {
        return error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("Alarm {missing} does not exist."));
    }
    for n in &names {
        st.alarms.remove(n);
    }
    ok_empty("DeleteAlarms")
}

fn list_tags(shared: &Shared, params: &Params) -> Response {
    let arn = params.get("ResourceARN").unwrap_or("");
    let st = shared.state();
    let Some(alarm) = st.alarms.values().find(|a| a.arn == arn) else {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", &format!("{arn} not found"));
    };
    let members: String = alarm
        .tags
        .iter()
        .map(|(k, v)| format!("<member>{}{}</member>", el("Key", k), el("Value", v)))
        .collect();
    ok("ListTagsForResource", &format!("<Tags>{members}</Tags>"))
}

fn describe_alarm_history(shared: &Shared, params: &Params) -> Response {
    let (max, offset) = match paging(params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let name = params.get("AlarmName").unwrap_or("");
    let st = shared.state();
    let empty = Vec::new();
    let items = st.history.get(name).unwrap_or(&empty);
    if offset > items.len() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidNextToken",
            "The service found NextToken to be invalid.",
        );
    }
    let page = &items[offset..items.len().min(offset + max)];
    let members: String = page
        .iter()
        .map(|i| {
            format!(
                "<member>{}{}{}{}{}{}</member>",
                el("AlarmName", name),
                el("AlarmType", "MetricAlarm"),
                el("Timestamp", &i.timestamp),
                el("HistoryItemType", &i.item_type),
                el("HistorySummary", &i.summary),
                el("HistoryData", &i.data),
            )
        })
        .collect();
    let next = if offset + page.len() < items.len() {
        el("NextToken", &format!("tok-{}", offset + page.len()))
    } else {
        String::new()
    };
    ok("DescribeAlarmHistory", &format!("<AlarmHistoryItems>{members}</AlarmHistoryItems>{next}"))
}

fn get_metric_widget_image(shared: &Shared, params: &Params) -> Response {
    let Some(widget) = params.get("MetricWidget") else {
        return error(StatusCode::BAD_REQUEST, "MissingParameter", "The parameter MetricWidget is required.");
    };
    shared.state().widgets.push(widget.to_string());
    if serde_json::from_str::<serde_json::Value>(widget).is_err() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterInput",
            "The field MetricWidget must be a valid JSON object",
        );
    }
    if let Some(format) = params.get("OutputFormat") {
        if format != "png" {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterInput",
                &format!("This stand-in records only png answers (asked for {format})"),
            );
        }
    }
    ok("GetMetricWidgetImage", &el("MetricWidgetImage", WIDGET_PNG_BASE64))
}
