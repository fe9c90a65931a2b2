//! The alert log of monitors: their state changes, read from the v1 event stream,
//! `GET /api/v1/events` (`ListEvents` in `shared/specs/datadog-v1-openapi.yaml`).
//!
//! # What is read
//!
//! `start`/`end` (epoch seconds, required), `exclude_aggregate=true` (only unaggregated events;
//! the spec: "If the `exclude_aggregate` parameter is set to `true`, then the unaggregated
//! parameter is ignored and will be `true` by default") and `page=0,1,…` ("By default 1000
//! results are returned per request … The page parameter can only be used when either
//! unaggregated or exclude_aggregate is set to `true`"): pages are read until one holds fewer
//! than 1000 events, at most [`MAX_PAGES`].
//!
//! The v1 list cannot filter by monitor, and the `sources` value of monitor events is not
//! documented (the spec's `sources` is "a comma separated string of sources"; the source of a
//! monitor event is shown as `Monitor Alert` in list answers, but what `sources=` expects for it
//! is not written in the spec or the API reference; one third-party Datadog audit checklist
//! counts monitor transitions with `sources=alert`, which suggests `alert`, but a wrong value
//! would silently empty the log, the worst failure for audit evidence). So the provider asks for the window's unaggregated events
//! once, keeps the monitor events, indexes them by monitor id and answers every monitor from
//! that scan (`watchkeep alerts` asks once per monitor; N monitors must not cost N scans), as
//! the New Relic provider does with incidents.
//!
//! # How an event is tied to its monitor and state
//!
//! * Monitor: the event's `monitor_id` (list answers carry it beyond the spec's `Event`
//!   schema; public typed clients declare `monitor_id` and `monitor_groups`), else the
//!   `/monitors/<id>` link in its text (Datadog's monitor notifications end with
//!   `[[Monitor Status](https://app.datadoghq.com/monitors/<id>?…)]`).
//! * Monitor event or not: `source`/`source_type_name` naming a monitor (`Monitor Alert`), or a
//!   `monitor_id`.
//! * State: the title's leading tag, as Datadog titles notifications (`[Triggered] name`,
//!   `[Triggered on {host:web-1}] name`, `[Re-Triggered] …`, `[Warn] …`, `[Recovered] …`,
//!   `[Warn Recovered] …` (back to OK), `[No Data] …`; a priority tag such as `[P1]` may come
//!   first); without one, `alert_type` (`error` → `Alert`, `warning` → `Warn`, `success` → `OK`).
//!   Other events of a monitor (renotifications as `info`, comments) are skipped. `to` uses
//!   Datadog's monitor states: `Alert`, `Warn`, `No Data`, `OK`.
//! * `from`: the state of the same group's previous event in the scan, when there is one.
//!   Multi-alert monitors write one event per group; the summary keeps the title, which
//!   names the group.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use watchkeep_provider::{AlertEvent, Result};

/// How far back the log reaches when no `since` is given.
pub(crate) const DEFAULT_LOOKBACK: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How long one scan answers later calls.
pub(crate) const SCAN_TTL: Duration = Duration::from_secs(60);

/// Events per page of `GET /api/v1/events` (spec).
pub(crate) const PAGE_SIZE: usize = 1000;

/// Pages read at most in one scan (1,000,000 events); the scan then ends with an error rather
/// than answering an incomplete log.
pub(crate) const MAX_PAGES: usize = 1000;

/// One monitor state change, as the log needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StateEvent {
    pub(crate) at: i64,
    pub(crate) id: String,
    pub(crate) group: String,
    pub(crate) to: String,
    pub(crate) title: String,
}

type ByMonitor = HashMap<String, Vec<StateEvent>>;

struct Scan {
    start: i64,
    at: Instant,
    events: Arc<ByMonitor>,
}

/// The last scan of the event stream, behind an async lock held while a scan runs.
#[derive(Default)]
pub(crate) struct AlertLog {
    scan: tokio::sync::Mutex<Option<Scan>>,
}

fn epoch_secs(t: SystemTime) -> i64 {
    chrono::DateTime::<chrono::Utc>::from(t).timestamp().max(0)
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| secs.to_string())
}

/// The monitor state a title's leading tags name (`[P2] [Triggered on {host:a}] x` → `Alert`).
pub(crate) fn state_of_title(title: &str) -> Option<&'static str> {
    let mut rest = title.trim_start();
    while let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']')?;
        let tag = inner[..close].trim();
        let word = tag.split(" on ").next().unwrap_or(tag).trim().to_ascii_lowercase();
        let state = match word.as_str() {
            "triggered" | "re-triggered" | "retriggered" | "alert" => Some("Alert"),
            "warn" | "warning" | "re-warn" => Some("Warn"),
            "recovered" | "warn recovered" | "ok" => Some("OK"),
            "no data" | "nodata" => Some("No Data"),
            _ => None,
        };
        if state.is_some() {
            return state;
        }
        rest = inner[close + 1..].trim_start();
    }
    None
}

fn state_of_alert_type(alert_type: &str) -> Option<&'static str> {
    match alert_type {
        "error" => Some("Alert"),
        "warning" => Some("Warn"),
        "success" => Some("OK"),
        _ => None,
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// The monitor id of an event: `monitor_id`, else the `/monitors/<id>` link in its text.
fn monitor_of(raw: &Value) -> Option<String> {
    if let Some(id) = id_text(&raw["monitor_id"]) {
        return Some(id);
    }
    let text = raw["text"].as_str()?;
    let at = text.find("/monitors/")? + "/monitors/".len();
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

fn is_monitor_event(raw: &Value) -> bool {
    let names_monitor = |k: &str| raw[k].as_str().is_some_and(|s| s.to_ascii_lowercase().contains("monitor"));
    names_monitor("source") || names_monitor("source_type_name") || !raw["monitor_id"].is_null()
}

/// Indexes raw v1 events by monitor id (monitor state changes only; an event listed twice
/// counts once), each monitor's oldest first.
pub(crate) fn by_monitor(raws: &[Value]) -> ByMonitor {
    let mut seen = std::collections::HashSet::new();
    let mut out = ByMonitor::new();
    for raw in raws {
        if !is_monitor_event(raw) {
            continue;
        }
        let (Some(monitor), Some(at)) = (monitor_of(raw), raw["date_happened"].as_i64()) else { continue };
        let title = raw["title"].as_str().unwrap_or_default().trim().to_owned();
        let Some(to) = state_of_title(&title).or_else(|| state_of_alert_type(raw["alert_type"].as_str()?))
        else {
            continue;
        };
        let id = id_text(&raw["id_str"]).or_else(|| id_text(&raw["id"])).unwrap_or_default();
        if !id.is_empty() && !seen.insert(id.clone()) {
            continue;
        }
        let mut groups: Vec<String> = raw["monitor_groups"]
            .as_array()
            .map(|g| g.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        groups.sort();
        out.entry(monitor).or_default().push(StateEvent {
            at,
            id,
            group: groups.join(","),
            to: to.to_owned(),
            title,
        });
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    }
    out
}

/// The log of one monitor's events from `start` on, oldest first, `from` being the previous
/// state of the same group in the scan.
pub(crate) fn events(list: &[StateEvent], start: i64) -> Vec<AlertEvent> {
    let mut last: HashMap<&str, &str> = HashMap::new();
    let mut out = Vec::new();
    for e in list {
        let from = last.insert(e.group.as_str(), e.to.as_str()).map(str::to_owned);
        if e.at >= start {
            out.push(AlertEvent {
                timestamp: rfc3339(e.at),
                from,
                to: e.to.clone(),
                summary: e.title.clone(),
            });
        }
    }
    out
}

impl AlertLog {
    /// The log of `monitor` since `since` (default: the last 30 days), from a scan of the event
    /// stream that covers it: the last one if it started at or before `since` and is younger
    /// than [`SCAN_TTL`], else a new one made with `read_window(start, end)`.
    pub(crate) async fn history<F, Fut>(
        &self,
        monitor: &str,
        since: Option<SystemTime>,
        now: SystemTime,
        read_window: F,
    ) -> Result<Vec<AlertEvent>>
    where
        F: FnOnce(i64, i64) -> Fut,
        Fut: Future<Output = Result<Vec<Value>>>,
    {
        let start = epoch_secs(since.unwrap_or_else(|| now.checked_sub(DEFAULT_LOOKBACK).unwrap_or(now)));
        let mut scan = self.scan.lock().await;
        let fresh = scan.as_ref().is_some_and(|s| s.start <= start && s.at.elapsed() < SCAN_TTL);
        if !fresh {
            let raws = read_window(start, epoch_secs(now)).await?;
            *scan = Some(Scan { start, at: Instant::now(), events: Arc::new(by_monitor(&raws)) });
        }
        let events = scan.as_ref().map(|s| Arc::clone(&s.events)).unwrap_or_default();
        drop(scan);
        Ok(events.get(monitor).map(|l| self::events(l, start)).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn titles_name_states() {
        assert_eq!(state_of_title("[Triggered] CPU high"), Some("Alert"));
        assert_eq!(state_of_title("[P1] [Triggered on {host:web-1}] CPU"), Some("Alert"));
        assert_eq!(state_of_title("[Re-Triggered on {host:a}] x"), Some("Alert"));
        assert_eq!(state_of_title("[Warn] x"), Some("Warn"));
        assert_eq!(state_of_title("[Recovered on {host:a,device:sda}] x"), Some("OK"));
        assert_eq!(state_of_title("[Warn Recovered] x"), Some("OK"));
        assert_eq!(state_of_title("[No Data] x"), Some("No Data"));
        assert_eq!(state_of_title("Deploy finished [Triggered]"), None);
        assert_eq!(state_of_title("[P3] note"), None);
    }

    #[test]
    fn indexes_by_monitor_and_keeps_group_history() {
        let raws = vec![
            json!({"id": 3, "date_happened": 300, "source": "Monitor Alert", "monitor_id": 7,
                   "monitor_groups": ["host:a"], "title": "[Recovered on {host:a}] cpu", "alert_type": "success"}),
            json!({"id": 1, "date_happened": 100, "source": "Monitor Alert", "monitor_id": 7,
                   "monitor_groups": ["host:a"], "title": "[Triggered on {host:a}] cpu", "alert_type": "error"}),
            json!({"id": 1, "date_happened": 100, "source": "Monitor Alert", "monitor_id": 7,
                   "monitor_groups": ["host:a"], "title": "[Triggered on {host:a}] cpu", "alert_type": "error"}),
            json!({"id": 2, "date_happened": 200, "source_type_name": "Monitor Alert",
                   "text": "%%% x [[Monitor Status](https://app.datadoghq.com/monitors/8?from_ts=1)] %%%",
                   "title": "something", "alert_type": "warning"}),
            json!({"id": 4, "date_happened": 250, "source": "My Apps", "title": "[Triggered] deploy"}),
            json!({"id": 5, "date_happened": 260, "source": "Monitor Alert", "monitor_id": 7,
                   "title": "renotify", "alert_type": "info"}),
        ];
        let idx = by_monitor(&raws);
        assert_eq!(idx.len(), 2);
        let log = events(&idx["7"], 0);
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!((log[0].from.as_deref(), log[0].to.as_str()), (None, "Alert"));
        assert_eq!(log[0].timestamp, "1970-01-01T00:01:40Z");
        assert_eq!((log[1].from.as_deref(), log[1].to.as_str()), (Some("Alert"), "OK"));
        assert_eq!(events(&idx["8"], 0)[0].to, "Warn");
        // Only events at or after the start, but `from` still knows the earlier state.
        let late = events(&idx["7"], 250);
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].from.as_deref(), Some("Alert"));
    }
}
