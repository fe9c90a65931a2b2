//! Beyond resources: the alert log (DescribeAlarmHistory), dated pictures of metrics
//! (GetMetricWidgetImage) and publishing data points (PutMetricData, for tests and demos).

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmType, Dimension, HistoryItemType, MetricDatum, ScanBy};
use serde_json::Value;
use watchkeep_provider::{ProviderError, Result};

use crate::client::{map_error, Service};
use crate::wire;
use crate::CloudWatchProvider;

/// Items per DescribeAlarmHistory page (AWS's maximum).
const HISTORY_PAGE_SIZE: i32 = 100;

/// One entry of an alarm's history.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmHistoryItem {
    /// When it happened, RFC 3339.
    pub timestamp: String,
    /// `StateUpdate`, `ConfigurationUpdate`, `Action`, …
    pub item_type: String,
    /// AWS's one-line summary, e.g. `Alarm updated from OK to ALARM`.
    pub summary: String,
    /// `HistoryData` parsed as JSON when it is JSON (state updates carry `oldState` /
    /// `newState`), else the text as a JSON string; `None` when AWS sent none.
    pub data: Option<Value>,
    pub alarm_name: String,
}

/// Every history item of `alarm_name` since `start` (all AWS keeps when `None`), newest first,
/// following `NextToken`.
pub(crate) async fn alarm_history(
    p: &CloudWatchProvider,
    alarm_name: &str,
    start: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<AlarmHistoryItem>> {
    let start = start.map(|t| DateTime::from_millis(t.timestamp_millis()));
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = p
            .aws
            .cw()
            .await
            .describe_alarm_history()
            .alarm_name(alarm_name)
            // Without AlarmTypes, AWS returns the history of metric alarms only.
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .scan_by(ScanBy::TimestampDescending)
            .max_records(HISTORY_PAGE_SIZE)
            .set_next_token(token.take());
        if let Some(start) = start {
            req = req.start_date(start);
        }
        let page =
            req.send().await.map_err(|e| map_error(Service::CloudWatch, "DescribeAlarmHistory", e, &[]))?;
        for item in page.alarm_history_items() {
            items.push(AlarmHistoryItem {
                timestamp: wire::rfc3339(item.timestamp()).unwrap_or_default(),
                item_type: item
                    .history_item_type()
                    .map(HistoryItemType::as_str)
                    .unwrap_or_default()
                    .to_string(),
                summary: item.history_summary().unwrap_or_default().to_string(),
                data: item.history_data().map(|d| {
                    serde_json::from_str::<Value>(d).unwrap_or_else(|_| Value::String(d.to_string()))
                }),
                alarm_name: item.alarm_name().unwrap_or(alarm_name).to_string(),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(items)
}

/// The state changes among `items` (newest first, as [`alarm_history`] returns them), oldest
/// first: `StateUpdate` items, their states read from `HistoryData` (`oldState` / `newState`),
/// else from the summary (`Alarm updated from OK to ALARM`).
pub(crate) fn state_changes(items: &[AlarmHistoryItem]) -> Vec<watchkeep_provider::AlertEvent> {
    items
        .iter()
        .rev()
        .filter(|i| i.item_type == "StateUpdate")
        .filter_map(|i| {
            let state =
                |key: &str| i.data.as_ref()?.get(key)?.get("stateValue")?.as_str().map(str::to_string);
            let from_summary = i
                .summary
                .split_once(" from ")
                .and_then(|(_, rest)| rest.split_once(" to "))
                .map(|(from, to)| (from.trim().to_string(), to.trim().to_string()));
            let to = state("newState").or_else(|| from_summary.as_ref().map(|(_, t)| t.clone()))?;
            let from = state("oldState").or_else(|| from_summary.map(|(f, _)| f));
            Some(watchkeep_provider::AlertEvent {
                timestamp: i.timestamp.clone(),
                from,
                to,
                summary: i.summary.clone(),
            })
        })
        .collect()
}

/// PNG bytes of one metric widget (the JSON `MetricWidget` of GetMetricWidgetImage).
pub(crate) async fn metric_widget_image(p: &CloudWatchProvider, widget: &Value) -> Result<Vec<u8>> {
    if !widget.is_object() {
        return Err(ProviderError::InvalidConfig {
            message: "a metric widget must be a JSON object (see the CloudWatch metric widget structure)"
                .into(),
        });
    }
    crate::picture::widget_image(p, widget).await.map_err(|f| match f {
        crate::picture::ImageFailure::Unsupported { error, .. }
        | crate::picture::ImageFailure::Failed(error) => error,
    })
}

/// Publishes one data point, timestamped now.
pub(crate) async fn put_metric_data(
    p: &CloudWatchProvider,
    namespace: &str,
    metric_name: &str,
    dimensions: &[(String, String)],
    value: f64,
) -> Result<()> {
    if !value.is_finite() {
        return Err(ProviderError::InvalidConfig {
            message: format!("metric value must be a finite number (got {value})"),
        });
    }
    let datum = MetricDatum::builder()
        .metric_name(metric_name)
        .set_dimensions(Some(
            dimensions.iter().map(|(n, v)| Dimension::builder().name(n).value(v).build()).collect(),
        ))
        .value(value)
        .timestamp(DateTime::from_millis(chrono::Utc::now().timestamp_millis()))
        .build();
    p.aws
        .cw()
        .await
        .put_metric_data()
        .namespace(namespace)
        .metric_data(datum)
        .send()
        .await
        .map_err(|e| map_error(Service::CloudWatch, "PutMetricData", e, &[]))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(t: &str, kind: &str, summary: &str, data: Option<Value>) -> AlarmHistoryItem {
        AlarmHistoryItem {
            timestamp: t.into(),
            item_type: kind.into(),
            summary: summary.into(),
            data,
            alarm_name: "a".into(),
        }
    }

    #[test]
    fn state_changes_are_oldest_first_and_read_from_data_or_summary() {
        let newest_first = [
            item("2026-01-01T00:03:00Z", "StateUpdate", "Alarm updated from ALARM to OK", None),
            item("2026-01-01T00:02:00Z", "Action", "Published a notification", None),
            item(
                "2026-01-01T00:01:00Z",
                "StateUpdate",
                "Alarm updated from INSUFFICIENT_DATA to ALARM",
                Some(
                    json!({ "oldState": { "stateValue": "INSUFFICIENT_DATA" }, "newState": { "stateValue": "ALARM" } }),
                ),
            ),
            item("2026-01-01T00:00:00Z", "ConfigurationUpdate", "Alarm created", None),
        ];
        let events = state_changes(&newest_first);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].timestamp, "2026-01-01T00:01:00Z");
        assert_eq!((events[0].from.as_deref(), events[0].to.as_str()), (Some("INSUFFICIENT_DATA"), "ALARM"));
        assert_eq!((events[1].from.as_deref(), events[1].to.as_str()), (Some("ALARM"), "OK"));
        assert_eq!(events[1].summary, "Alarm updated from ALARM to OK");
    }
}
