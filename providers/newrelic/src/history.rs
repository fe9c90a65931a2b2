//! The alert log of NRQL conditions: the incidents each opened and closed, read from
//! `actor.account(id).aiIssues.incidents`.
//!
//! NerdGraph cannot filter incidents by condition, so the provider reads every incident of the
//! account active during the window once (following `nextCursor`), indexes them by
//! `conditionFamilyId`, and answers each condition from that scan: `watchkeep alerts` asks once
//! per managed object, and N conditions must not cost N scans.
//!
//! This file knows nothing of the provider: [`AlertLog`] is given the function that reads the
//! raw incidents of a window (the provider's paged NerdGraph query) and keeps the last scan.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use watchkeep_provider::{AlertEvent, Result};

use crate::ids::id_text;

/// How far back the log reaches when no `since` is given.
pub(crate) const DEFAULT_LOOKBACK: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How long one scan of the account's incidents answers later calls.
pub(crate) const SCAN_TTL: Duration = Duration::from_secs(60);

/// The state the log says an incident entered when it opened (NerdGraph's `CREATED`).
pub(crate) const OPEN: &str = "OPEN";
/// The state the log says an incident entered when it closed (NerdGraph's `CLOSED`).
pub(crate) const CLOSED: &str = "CLOSED";

/// One incident of a condition, as the log needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Incident {
    pub(crate) id: String,
    pub(crate) priority: String,
    pub(crate) title: String,
    /// Epoch milliseconds.
    pub(crate) created_at: i64,
    /// Epoch milliseconds; `None` while the incident is open.
    pub(crate) closed_at: Option<i64>,
}

/// Incidents by condition id (`conditionFamilyId`).
type ByCondition = HashMap<String, Vec<Incident>>;

/// One scan of the account's incidents.
pub(crate) struct Scan {
    /// Start of the window it read (epoch milliseconds).
    start_ms: i64,
    /// When it was read.
    at: Instant,
    incidents: Arc<ByCondition>,
}

/// The last scan, behind an async lock held while a scan runs, so that concurrent callers wait
/// for it instead of starting their own.
pub(crate) type ScanCache = tokio::sync::Mutex<Option<Scan>>;

/// The alert log of one provider: the last scan of the account's incidents.
#[derive(Default)]
pub(crate) struct AlertLog {
    scan: ScanCache,
}

/// Epoch milliseconds of a time (0 before 1970).
fn epoch_ms(t: SystemTime) -> i64 {
    chrono::DateTime::<chrono::Utc>::from(t).timestamp_millis().max(0)
}

/// An `EpochMilliseconds` value (a number; a numeric string is accepted too).
fn millis(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Epoch milliseconds as RFC 3339 UTC: whole seconds (`2026-11-01T10:00:00Z`) unless the time
/// has milliseconds (`2026-11-01T10:00:00.250Z`), as CloudWatch's times are written.
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Indexes raw `AiIssuesIIncident`s by condition. Incidents that are not a condition's
/// (anomalies, incidents sent through the REST API: no `conditionFamilyId`), or that have no
/// creation time, are skipped; an incident listed twice (pages shifting while they are read)
/// counts once. A `CLOSED` incident without `closedAt` closed at its `updatedAt`.
pub(crate) fn by_condition(raws: &[Value]) -> ByCondition {
    let mut seen = HashSet::new();
    let mut out = ByCondition::new();
    for raw in raws {
        let (Some(condition), Some(id), Some(created_at)) =
            (id_text(&raw["conditionFamilyId"]), id_text(&raw["incidentId"]), millis(&raw["createdAt"]))
        else {
            continue;
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let closed_at = millis(&raw["closedAt"])
            .or_else(|| (raw["state"] == json!("CLOSED")).then(|| millis(&raw["updatedAt"])).flatten());
        out.entry(condition).or_default().push(Incident {
            id,
            priority: raw["priority"].as_str().unwrap_or("UNKNOWN").to_string(),
            title: raw["title"].as_str().unwrap_or_default().trim().to_string(),
            created_at,
            closed_at,
        });
    }
    out
}

/// The log of some incidents: per incident an event when it opened (`from: None`, `to: OPEN`:
/// an incident has no state before it exists) and, once closed, one when it closed
/// (`from: OPEN`, `to: CLOSED`), both summarised `<priority>: <title>`. Only events at or after
/// `start_ms`; oldest first.
pub(crate) fn events(incidents: &[Incident], start_ms: i64) -> Vec<AlertEvent> {
    let mut timed: Vec<(i64, u8, &str, AlertEvent)> = Vec::new();
    for i in incidents {
        let summary = if i.title.is_empty() {
            format!("{}: incident {}", i.priority, i.id)
        } else {
            format!("{}: {}", i.priority, i.title)
        };
        timed.push((
            i.created_at,
            0,
            &i.id,
            AlertEvent {
                timestamp: rfc3339(i.created_at),
                from: None,
                to: OPEN.into(),
                summary: summary.clone(),
            },
        ));
        if let Some(closed) = i.closed_at {
            timed.push((
                closed,
                1,
                &i.id,
                AlertEvent {
                    timestamp: rfc3339(closed),
                    from: Some(OPEN.into()),
                    to: CLOSED.into(),
                    summary,
                },
            ));
        }
    }
    timed.retain(|(t, ..)| *t >= start_ms);
    timed.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    timed.into_iter().map(|(.., e)| e).collect()
}

impl AlertLog {
    /// The log of one NRQL condition since `since` (else the last 30 days). `read(start, end)`
    /// reads the raw `AiIssuesIIncident`s active in that window (epoch milliseconds).
    pub(crate) async fn condition_history<F, Fut>(
        &self,
        id: &str,
        since: Option<SystemTime>,
        read: F,
    ) -> Result<Vec<AlertEvent>>
    where
        F: FnOnce(i64, i64) -> Fut,
        Fut: Future<Output = Result<Vec<Value>>>,
    {
        let now = epoch_ms(SystemTime::now());
        let start = match since {
            Some(t) => epoch_ms(t).min(now),
            None => now.saturating_sub(DEFAULT_LOOKBACK.as_millis() as i64).max(0),
        };
        let incidents = self.incidents_since(start, now, read).await?;
        Ok(incidents.get(id).map(|list| events(list, start)).unwrap_or_default())
    }

    /// The account's incidents active since `start`: the last scan when it covers that window
    /// and is younger than [`SCAN_TTL`], else a new scan up to `now`. A failed scan is not kept.
    async fn incidents_since<F, Fut>(&self, start: i64, now: i64, read: F) -> Result<Arc<ByCondition>>
    where
        F: FnOnce(i64, i64) -> Fut,
        Fut: Future<Output = Result<Vec<Value>>>,
    {
        let mut cache = self.scan.lock().await;
        if let Some(scan) = cache.as_ref() {
            if scan.start_ms <= start && scan.at.elapsed() < SCAN_TTL {
                return Ok(Arc::clone(&scan.incidents));
            }
        }
        let raws = read(start, now).await?;
        let incidents = Arc::new(by_condition(&raws));
        *cache = Some(Scan { start_ms: start, at: Instant::now(), incidents: Arc::clone(&incidents) });
        Ok(incidents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(id: &str, condition: Value, created: Value, closed: Value) -> Value {
        json!({"__typename": "AiIssuesNewRelicIncident", "incidentId": id, "conditionFamilyId": condition,
               "priority": "CRITICAL", "state": if closed.is_null() { "CREATED" } else { "CLOSED" },
               "title": " CPU high ", "createdAt": created, "closedAt": closed, "updatedAt": created})
    }

    #[test]
    fn incidents_are_indexed_by_condition_once() {
        let raws = [
            incident("a", json!("42"), json!(1_000), json!(2_000)),
            incident("a", json!("42"), json!(1_000), json!(2_000)),
            incident("b", json!(42), json!("3000"), Value::Null),
            incident("c", json!("7"), json!(5_000), Value::Null),
            json!({"__typename": "AiIssuesAnomalyIncident"}),
            incident("d", Value::Null, json!(1), Value::Null),
            incident("e", json!("7"), Value::Null, Value::Null),
            json!({"incidentId": "f", "conditionFamilyId": "7", "createdAt": 10, "state": "CLOSED", "updatedAt": 20}),
        ];
        let by = by_condition(&raws);
        assert_eq!(by.len(), 2);
        assert_eq!(by["42"].len(), 2);
        assert_eq!(by["42"][0].title, "CPU high");
        assert_eq!(by["42"][1].created_at, 3_000);
        assert_eq!(
            by["7"].iter().map(|i| (i.id.as_str(), i.closed_at)).collect::<Vec<_>>(),
            [("c", None), ("f", Some(20))]
        );
        assert_eq!(by["7"][1].priority, "UNKNOWN");
    }

    #[test]
    fn events_are_oldest_first_and_start_at_the_window() {
        let i = |id: &str, created: i64, closed: Option<i64>| Incident {
            id: id.into(),
            priority: "HIGH".into(),
            title: if id == "untitled" { String::new() } else { format!("t-{id}") },
            created_at: created,
            closed_at: closed,
        };
        let t0 = 1_793_491_200_000; // 2026-11-01T00:00:00Z
        let list =
            [i("late", t0 + 5_000, None), i("early", t0, Some(t0 + 10_250)), i("untitled", t0 - 1, None)];
        let all = events(&list, 0);
        let got: Vec<_> = all
            .iter()
            .map(|e| (e.timestamp.as_str(), e.from.as_deref(), e.to.as_str(), e.summary.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-10-31T23:59:59.999Z", None, "OPEN", "HIGH: incident untitled"),
                ("2026-11-01T00:00:00Z", None, "OPEN", "HIGH: t-early"),
                ("2026-11-01T00:00:05Z", None, "OPEN", "HIGH: t-late"),
                ("2026-11-01T00:00:10.250Z", Some("OPEN"), "CLOSED", "HIGH: t-early"),
            ]
        );
        let later = events(&list, t0 + 1);
        assert_eq!(later.len(), 2);
        assert_eq!(later[0].timestamp, "2026-11-01T00:00:05Z");
        assert!(events(&list, t0 + 20_000).is_empty());
    }
}
