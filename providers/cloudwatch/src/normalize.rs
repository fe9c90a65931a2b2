//! Canonical forms: what the user writes and what AWS returns map to one value, so a plan right
//! after an apply is empty. Every function here is pure and idempotent.
//!
//! The rules are listed in the crate documentation (`lib.rs`); keep the two in step.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::{Map, Value};
use watchkeep_provider::managed::{self, Writable};

use crate::marker::{ADDRESS_KEY, OWNER_KEY};

/// The fields watchkeep manages per resource type: the members of the Put/Create input shapes of
/// AWS's service models (PutMetricAlarm, PutCompositeAlarm, PutDashboard, CreateTopic, Subscribe;
/// the topic and subscription attributes the provider manages flattened to the top), kept in
/// `writable.json` and checked against the models by `tests/writable_spec.rs`. Whatever else
/// AWS returns (state, timestamps, ARNs, members it adds later) is dropped before comparison.
static WRITABLE: LazyLock<BTreeMap<String, Writable>> = LazyLock::new(|| {
    // Bundled data, parsed by a unit test below: this cannot fail at run time.
    managed::load_table(include_str!("writable.json")).unwrap_or_default()
});

/// The managed fields of `resource_type`, when it is one of this provider's.
pub fn writable(resource_type: &str) -> Option<&'static Writable> {
    WRITABLE.get(resource_type)
}

/// The canonical form of an object of `resource_type` (`None` for a type that is not this
/// provider's).
pub fn normalize_type(resource_type: &str, attrs: &Value) -> Option<Value> {
    Some(match resource_type {
        "cloudwatch_metric_alarm" => metric_alarm(attrs),
        "cloudwatch_composite_alarm" => composite_alarm(attrs),
        "cloudwatch_dashboard" => dashboard(attrs),
        "sns_topic" => topic(attrs),
        "sns_subscription" => subscription(attrs),
        _ => return None,
    })
}

/// `v` (already canonical) with only the managed fields of `resource_type`.
fn managed_only(resource_type: &str, v: Value) -> Value {
    match writable(resource_type) {
        Some(w) => w.project(&v),
        None => v,
    }
}

/// Alarm fields AWS computes (both alarm kinds); never part of desired state.
pub const ALARM_READ_ONLY: &[&str] = &[
    "AlarmArn",
    "AlarmConfigurationUpdatedTimestamp",
    "StateValue",
    "StateReason",
    "StateReasonData",
    "StateUpdatedTimestamp",
    "StateTransitionedTimestamp",
    "EvaluationState",
    "ActionsSuppressedBy",
    "ActionsSuppressedReason",
];

/// Dashboard fields AWS computes.
pub const DASHBOARD_READ_ONLY: &[&str] = &["DashboardArn", "LastModified", "Size"];

/// The three action lists of an alarm.
pub const ACTION_LISTS: &[&str] = &["AlarmActions", "OKActions", "InsufficientDataActions"];

/// Canonical form of a `cloudwatch_metric_alarm` (desired or live). Topic ARNs in the action
/// lists stay ARNs: the engine puts a linked topic's ARN in the desired side.
pub fn metric_alarm(attrs: &Value) -> Value {
    let Value::Object(input) = attrs else {
        return attrs.clone();
    };
    let mut m = alarm_common(input);
    normalize_dimensions(&mut m);
    if let Some(Value::Array(metrics)) = m.get_mut("Metrics") {
        for query in metrics.iter_mut() {
            if let Value::Object(q) = query {
                q.retain(|_, v| !v.is_null() && v.as_str() != Some(""));
                // AWS's default: the query is the alarm's result.
                if q.get("ReturnData").and_then(Value::as_bool) == Some(true) {
                    q.remove("ReturnData");
                }
                if let Some(Value::Object(stat)) = q.get_mut("MetricStat") {
                    stat.retain(|_, v| !v.is_null() && v.as_str() != Some(""));
                    if let Some(Value::Object(metric)) = stat.get_mut("Metric") {
                        metric.retain(|_, v| !v.is_null() && v.as_str() != Some(""));
                        normalize_dimensions(metric);
                    }
                }
            }
        }
    }
    if m.get("Metrics").and_then(Value::as_array).is_some_and(Vec::is_empty) {
        m.remove("Metrics");
    }
    // Unset means "missing" to AWS, which then reads back as nothing (or null).
    if !m.contains_key("TreatMissingData") {
        m.insert("TreatMissingData".into(), Value::String("missing".into()));
    }
    // Unset means "all of EvaluationPeriods".
    if !m.contains_key("DatapointsToAlarm") {
        if let Some(n) = m.get("EvaluationPeriods").cloned() {
            m.insert("DatapointsToAlarm".into(), n);
        }
    }
    managed_only("cloudwatch_metric_alarm", canonical(Value::Object(m)))
}

/// Canonical form of a `cloudwatch_composite_alarm` (desired or live).
pub fn composite_alarm(attrs: &Value) -> Value {
    let Value::Object(input) = attrs else {
        return attrs.clone();
    };
    let mut m = alarm_common(input);
    // Without a suppressor alarm the wait and extension periods mean nothing (AWS may report 0).
    if !m.contains_key("ActionsSuppressor") {
        m.remove("ActionsSuppressorWaitPeriod");
        m.remove("ActionsSuppressorExtensionPeriod");
    }
    managed_only("cloudwatch_composite_alarm", canonical(Value::Object(m)))
}

/// Rules shared by both alarm kinds.
fn alarm_common(input: &Map<String, Value>) -> Map<String, Value> {
    let mut m = input.clone();
    for key in ALARM_READ_ONLY {
        m.remove(*key);
    }
    // Written on create only (PutMetricAlarm ignores Tags on update) and not returned by
    // DescribeAlarms: never compared.
    m.remove("Tags");
    // `null` and `""` mean unset (AWS returns empty strings and lists for unset values).
    m.retain(|_, v| !v.is_null() && v.as_str() != Some(""));
    if m.get("ActionsEnabled").and_then(Value::as_bool) == Some(true) {
        m.remove("ActionsEnabled");
    }
    for key in ACTION_LISTS {
        if let Some(Value::Array(actions)) = m.get_mut(*key) {
            sort_dedup(actions);
            if actions.is_empty() {
                m.remove(*key);
            }
        }
    }
    m
}

/// `Dimensions`: a set keyed by `Name`, so sorted (by name, then value); empty is unset.
fn normalize_dimensions(m: &mut Map<String, Value>) {
    let Some(Value::Array(dims)) = m.get_mut("Dimensions") else {
        if m.get("Dimensions").is_some_and(Value::is_null) {
            m.remove("Dimensions");
        }
        return;
    };
    dims.sort_by_cached_key(|d| {
        let field = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        (field("Name"), field("Value"), d.to_string())
    });
    dims.dedup();
    if dims.is_empty() {
        m.remove("Dimensions");
    }
}

/// Canonical form of a `cloudwatch_dashboard`: `DashboardBody` as a JSON object (AWS stores and
/// returns it as a string).
pub fn dashboard(attrs: &Value) -> Value {
    let Value::Object(input) = attrs else {
        return attrs.clone();
    };
    let mut d = input.clone();
    for key in DASHBOARD_READ_ONLY {
        d.remove(*key);
    }
    if let Some(Value::String(body)) = d.get("DashboardBody") {
        if let Ok(parsed) = serde_json::from_str::<Value>(body) {
            d.insert("DashboardBody".into(), parsed);
        }
    }
    d.retain(|_, v| !v.is_null());
    managed_only("cloudwatch_dashboard", canonical(Value::Object(d)))
}

/// Canonical form of an `sns_topic`: `Name`, `DisplayName` (empty is unset) and the user's
/// `Tags` sorted by key, without watchkeep's two ownership tags (those are compared through
/// [`watchkeep_provider::LiveObject::owned`] / `marker`, not as attributes).
pub fn topic(attrs: &Value) -> Value {
    let Value::Object(input) = attrs else {
        return attrs.clone();
    };
    let mut t = input.clone();
    t.remove("TopicArn");
    t.retain(|_, v| !v.is_null());
    if t.get("DisplayName").and_then(Value::as_str) == Some("") {
        t.remove("DisplayName");
    }
    if let Some(Value::Array(tags)) = t.get_mut("Tags") {
        tags.retain(|tag| {
            let key = tag.get("Key").and_then(Value::as_str);
            key != Some(OWNER_KEY) && key != Some(ADDRESS_KEY)
        });
        tags.sort_by_cached_key(|tag| {
            (tag.get("Key").and_then(Value::as_str).unwrap_or("").to_string(), tag.to_string())
        });
        tags.dedup();
        if tags.is_empty() {
            t.remove("Tags");
        }
    }
    managed_only("sns_topic", canonical(Value::Object(t)))
}

/// Canonical form of an `sns_subscription`: `TopicArn` as written (an ARN), `Protocol`
/// lowercased, `RawMessageDelivery` a boolean (`false`, the default, is unset), `FilterPolicy` a
/// JSON object (AWS stores a string).
pub fn subscription(attrs: &Value) -> Value {
    let Value::Object(input) = attrs else {
        return attrs.clone();
    };
    let mut s = input.clone();
    s.remove("SubscriptionArn");
    s.retain(|_, v| !v.is_null());
    if let Some(Value::String(p)) = s.get_mut("Protocol") {
        *p = p.to_ascii_lowercase();
    }
    match s.get("RawMessageDelivery") {
        Some(Value::String(v)) if v.eq_ignore_ascii_case("true") => {
            s.insert("RawMessageDelivery".into(), Value::Bool(true));
        }
        Some(Value::String(v)) if v.eq_ignore_ascii_case("false") => {
            s.insert("RawMessageDelivery".into(), Value::Bool(false));
        }
        _ => {}
    }
    if s.get("RawMessageDelivery") == Some(&Value::Bool(false)) {
        s.remove("RawMessageDelivery");
    }
    match s.get("FilterPolicy") {
        Some(Value::String(p)) if p.trim().is_empty() => {
            s.remove("FilterPolicy");
        }
        Some(Value::String(p)) => {
            if let Ok(parsed) = serde_json::from_str::<Value>(p) {
                s.insert("FilterPolicy".into(), parsed);
            }
        }
        _ => {}
    }
    managed_only("sns_subscription", canonical(Value::Object(s)))
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

    fn assert_idempotent(f: impl Fn(&Value) -> Value, v: &Value) {
        let once = f(v);
        assert_eq!(f(&once), once, "not idempotent for {v}");
    }

    #[test]
    fn bundled_writable_fields_parse() {
        let table = managed::load_table(include_str!("writable.json")).unwrap();
        for t in crate::RESOURCE_TYPES {
            assert!(table.contains_key(*t), "writable.json has no entry for {t}");
        }
    }

    #[test]
    fn metric_alarm_rules() {
        let desired = json!({
            "AlarmName": "cpu",
            "AlarmDescription": "CPU high",
            "ActionsEnabled": true,
            "AlarmActions": ["arn:aws:sns:us-east-1:111111111111:ops", "arn:aws:sns:us-east-1:111111111111:pager",
                             "arn:aws:sns:us-east-1:111111111111:ops", "arn:aws:sns:eu-west-1:111111111111:far"],
            "OKActions": [],
            "Namespace": "AWS/EC2",
            "MetricName": "CPUUtilization",
            "Statistic": "Average",
            "Dimensions": [{ "Name": "InstanceId", "Value": "i-1" }, { "Name": "AutoScalingGroupName", "Value": "web" }],
            "Period": 60.0,
            "EvaluationPeriods": 3,
            "Threshold": 85.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "Tags": [{ "Key": "team", "Value": "web" }],
            "Unit": null,
        });
        let n = metric_alarm(&desired);
        assert_eq!(
            n,
            json!({
                "AlarmName": "cpu",
                "AlarmDescription": "CPU high",
                "AlarmActions": ["arn:aws:sns:eu-west-1:111111111111:far", "arn:aws:sns:us-east-1:111111111111:ops",
                                 "arn:aws:sns:us-east-1:111111111111:pager"],
                "Namespace": "AWS/EC2",
                "MetricName": "CPUUtilization",
                "Statistic": "Average",
                "Dimensions": [{ "Name": "AutoScalingGroupName", "Value": "web" }, { "Name": "InstanceId", "Value": "i-1" }],
                "Period": 60,
                "EvaluationPeriods": 3,
                "DatapointsToAlarm": 3,
                "Threshold": 85,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "missing",
            })
        );
        assert_eq!(n["Threshold"].as_i64(), Some(85), "85.0 became an integer");
        assert_idempotent(metric_alarm, &desired);
    }

    #[test]
    fn live_metric_alarm_read_only_and_defaults() {
        // What moto/AWS return for an alarm created from the desired form below.
        let live = json!({
            "AlarmName": "a", "AlarmArn": "arn:aws:cloudwatch:us-east-1:1:alarm:a",
            "AlarmConfigurationUpdatedTimestamp": "2026-01-01T00:00:00Z", "ActionsEnabled": true,
            "OKActions": [], "AlarmActions": [], "InsufficientDataActions": [], "StateValue": "OK",
            "StateReason": "x", "StateReasonData": "{}", "StateUpdatedTimestamp": "t",
            "StateTransitionedTimestamp": "t", "EvaluationState": "PARTIAL_DATA",
            "MetricName": "M", "Namespace": "N", "Statistic": "Sum", "Dimensions": [], "Period": 60,
            "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Threshold": 1.5,
            "ComparisonOperator": "LessThanThreshold", "TreatMissingData": null, "Metrics": [],
        });
        let desired = json!({
            "AlarmName": "a", "MetricName": "M", "Namespace": "N", "Statistic": "Sum", "Period": 60,
            "EvaluationPeriods": 2, "Threshold": 1.5, "ComparisonOperator": "LessThanThreshold",
        });
        assert_eq!(metric_alarm(&live), metric_alarm(&desired));
        assert_eq!(metric_alarm(&live)["Threshold"], json!(1.5));
        assert_idempotent(metric_alarm, &live);
        // Explicit values that differ from the defaults stay.
        let explicit = json!({ "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "TreatMissingData": "breaching",
                               "ActionsEnabled": false });
        let n = metric_alarm(&explicit);
        assert_eq!(n["DatapointsToAlarm"], 2);
        assert_eq!(n["TreatMissingData"], "breaching");
        assert_eq!(n["ActionsEnabled"], false);
    }

    #[test]
    fn metric_math_rules() {
        let desired = json!({
            "AlarmName": "errors",
            "EvaluationPeriods": 1,
            "Threshold": 5,
            "ComparisonOperator": "GreaterThanThreshold",
            "Metrics": [
                { "Id": "e1", "Expression": "100*m1/m2", "Label": "Error rate", "ReturnData": true },
                { "Id": "m1", "ReturnData": false, "MetricStat": { "Metric": {
                    "Namespace": "App", "MetricName": "Errors",
                    "Dimensions": [{ "Name": "svc", "Value": "a" }, { "Name": "env", "Value": "p" }] },
                    "Period": 60.0, "Stat": "Sum" } },
                { "Id": "m2", "ReturnData": false, "MetricStat": { "Metric": {
                    "Namespace": "App", "MetricName": "Requests", "Dimensions": [] }, "Period": 60, "Stat": "Sum",
                    "Unit": null } },
            ],
        });
        let n = metric_alarm(&desired);
        assert_eq!(n["Metrics"][0], json!({ "Id": "e1", "Expression": "100*m1/m2", "Label": "Error rate" }));
        assert_eq!(
            n["Metrics"][1]["MetricStat"]["Metric"]["Dimensions"],
            json!([{ "Name": "env", "Value": "p" }, { "Name": "svc", "Value": "a" }])
        );
        assert_eq!(n["Metrics"][1]["MetricStat"]["Period"], json!(60));
        assert_eq!(n["Metrics"][1]["ReturnData"], json!(false));
        assert!(n["Metrics"][2]["MetricStat"]["Metric"].get("Dimensions").is_none());
        assert!(n["Metrics"][2]["MetricStat"].get("Unit").is_none());
        assert_idempotent(metric_alarm, &desired);
    }

    #[test]
    fn composite_alarm_rules() {
        let live = json!({
            "AlarmName": "c", "AlarmRule": "ALARM(a) OR ALARM(b)", "ActionsEnabled": true,
            "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"], "OKActions": [],
            "ActionsSuppressorWaitPeriod": 0, "ActionsSuppressorExtensionPeriod": 0,
            "ActionsSuppressedBy": "None", "StateValue": "OK",
        });
        let desired = json!({ "AlarmName": "c", "AlarmRule": "ALARM(a) OR ALARM(b)", "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"],
                              "Tags": [{ "Key": "k", "Value": "v" }] });
        assert_eq!(composite_alarm(&live), composite_alarm(&desired));
        assert!(composite_alarm(&live).get("TreatMissingData").is_none(), "metric-alarm default not applied");
        let suppressed = json!({ "ActionsSuppressor": "maint", "ActionsSuppressorWaitPeriod": 60.0 });
        assert_eq!(composite_alarm(&suppressed)["ActionsSuppressorWaitPeriod"], 60);
        assert_idempotent(composite_alarm, &live);
    }

    #[test]
    fn dashboard_rules() {
        let live = json!({
            "DashboardName": "d", "DashboardArn": "arn", "LastModified": "t", "Size": 10,
            "DashboardBody": "{\"widgets\":[{\"type\":\"text\",\"x\":0,\"y\":0,\"width\":24.0,\"height\":1,\"properties\":{\"markdown\":\"m\"}}]}",
        });
        let desired = json!({ "DashboardName": "d", "DashboardBody": { "widgets": [
            { "type": "text", "x": 0, "y": 0, "width": 24, "height": 1, "properties": { "markdown": "m" } }] } });
        assert_eq!(dashboard(&live), dashboard(&desired));
        assert_idempotent(dashboard, &live);
    }

    #[test]
    fn topic_rules() {
        let desired = json!({ "Name": "ops", "DisplayName": "", "Tags": [
            { "Key": "team", "Value": "sre" }, { "Key": "managed-by", "Value": "watchkeep" },
            { "Key": "env", "Value": "prod" }, { "Key": "watchkeep-address", "Value": "x" }] });
        assert_eq!(
            topic(&desired),
            json!({ "Name": "ops", "Tags": [{ "Key": "env", "Value": "prod" }, { "Key": "team", "Value": "sre" }] })
        );
        let only_ours = json!({ "Name": "ops", "TopicArn": "arn:aws:sns:us-east-1:1:ops",
                                "Tags": [{ "Key": "managed-by", "Value": "watchkeep" }] });
        assert_eq!(topic(&only_ours), json!({ "Name": "ops" }));
        assert_idempotent(topic, &desired);
    }

    #[test]
    fn subscription_rules() {
        let live = json!({
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ops", "Protocol": "https",
            "Endpoint": "https://example.com/hook", "RawMessageDelivery": "false",
            "FilterPolicy": "{\"severity\": [\"high\", \"critical\"]}",
        });
        let desired = json!({ "TopicArn": "arn:aws:sns:us-east-1:123456789012:ops", "Protocol": "HTTPS", "Endpoint": "https://example.com/hook",
                              "RawMessageDelivery": false,
                              "FilterPolicy": { "severity": ["high", "critical"] } });
        assert_eq!(subscription(&live), subscription(&desired));
        assert_eq!(
            subscription(&live)["TopicArn"],
            "arn:aws:sns:us-east-1:123456789012:ops",
            "ARNs stay ARNs"
        );
        let raw = json!({ "RawMessageDelivery": "true", "FilterPolicy": "" });
        assert_eq!(subscription(&raw), json!({ "RawMessageDelivery": true }));
        assert_idempotent(subscription, &live);
    }

    #[test]
    fn numbers() {
        assert_eq!(canonical(json!([1.0, 1.5, -2.0, 3])), json!([1, 1.5, -2, 3]));
    }
}
