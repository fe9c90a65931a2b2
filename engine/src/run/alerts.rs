//! The alert log: reads back, from each vendor's own history, when every managed alarm changed
//! state (fired, recovered, lacked data) — the record an auditor asks for next to the monitoring
//! configuration ("show me the alerts of the last quarter and that they reached someone").

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use futures::stream::{self, StreamExt};
use watchkeep_provider::{with_retries, RetryPolicy};

use super::prepare::redactor;
use super::providers::{configure, stats};
use super::report::{AlertLog, AlertLogEvent};
use super::{Error, Vars, Workspace};
use crate::state::{now_rfc3339, State};

/// What `alerts` is asked for.
#[derive(Debug, Clone)]
pub struct AlertsInput {
    pub vars: Vars,
    /// Only changes since this duration ago (`24h`, `7d`) or date (`2026-11-01`).
    pub since: Option<String>,
    /// Only these addresses (and their children).
    pub targets: Vec<String>,
    pub parallelism: usize,
}

/// `24h`, `7d`, `30m`, or a date (`2026-11-01`) or RFC 3339 time.
pub fn parse_since(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    if let Some(secs) = crate::compile::duration_seconds(text) {
        return now
            .checked_sub(Duration::from_secs(secs))
            .ok_or_else(|| format!("`{text}` reaches before 1970"));
    }
    let parsed =
        chrono::DateTime::parse_from_rfc3339(text).map(|d| d.with_timezone(&chrono::Utc)).or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        });
    match parsed {
        Ok(t) => {
            let secs = u64::try_from(t.timestamp()).map_err(|_| format!("`{text}` is before 1970"))?;
            Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        }
        Err(_) => Err(format!(
            "`--since {text}` is neither a duration (24h, 7d) nor a date (2026-11-01 or 2026-11-01T00:00:00Z)"
        )),
    }
}

pub async fn alerts(ws: &Workspace, input: &AlertsInput) -> Result<AlertLog, Error> {
    let since =
        input.since.as_deref().map(|s| parse_since(s, SystemTime::now()).map_err(Error::msg)).transpose()?;
    let (cfg, warnings) = ws.load(&input.vars)?;
    ws.print_warnings(&warnings, &cfg.files);
    let backend = ws.backend(Some(&cfg));
    let state = backend.load()?.unwrap_or_else(State::new);
    let selected: Vec<_> =
        state.resources.iter().filter(|r| crate::plan::targeted(&r.address, &input.targets)).collect();
    let needed: BTreeSet<String> = selected.iter().map(|r| r.provider.clone()).collect();
    let providers = configure(ws, Some(&cfg), &needed)?;
    let redactor = redactor(Some(&cfg), &state);
    let policy = RetryPolicy::default();

    let results: Vec<_> = stream::iter(selected.iter().map(|r| {
        let providers = &providers;
        let policy = &policy;
        let redactor = &redactor;
        async move {
            let p = providers
                .get(&r.provider)
                .ok_or_else(|| Error::msg(format!("provider `{}` is not configured", r.provider)))?;
            let got = with_retries(policy, || p.alert_history(&r.resource_type, &r.id, since)).await;
            got.map(|events| (*r, events)).map_err(|e| {
                Error::msg(format!(
                    "reading the alert history of {} failed: {}",
                    r.address,
                    redactor.str(&e.to_string())
                ))
            })
        }
    }))
    .buffer_unordered(input.parallelism.max(1))
    .collect()
    .await;

    let mut events = Vec::new();
    let mut not_covered = Vec::new();
    for res in results {
        let (r, got) = res?;
        match got {
            None => not_covered.push(r.address.clone()),
            Some(list) => events.extend(list.into_iter().map(|e| AlertLogEvent {
                timestamp: e.timestamp,
                address: r.address.clone(),
                resource_type: r.resource_type.clone(),
                id: redactor.str(&r.id).into_owned(),
                from: e.from,
                to: e.to,
                summary: redactor.str(&e.summary).into_owned(),
            })),
        }
    }
    events.sort_by(|a, b| (&a.timestamp, &a.address).cmp(&(&b.timestamp, &b.address)));
    not_covered.sort();
    Ok(AlertLog {
        format_version: 1,
        generated_at: now_rfc3339(),
        since: since.map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }),
        events,
        not_covered,
        stats: stats(ws, &providers),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_durations_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(parse_since("1h", now), Ok(now - Duration::from_secs(3600)));
        assert_eq!(
            parse_since("2026-11-01", now),
            Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(1_793_491_200))
        );
        assert_eq!(
            parse_since("2026-11-01T00:00:10Z", now),
            Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(1_793_491_210))
        );
        assert!(parse_since("yesterday", now).unwrap_err().contains("neither a duration"));
    }
}
