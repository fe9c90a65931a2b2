//! `watchkeep alerts`: the alert log. Reads back, from each vendor's own history, when every
//! managed alarm changed state (fired, recovered, lacked data) — the record an auditor asks for
//! next to the monitoring configuration ("show me the alerts of the last quarter and that they
//! reached someone").

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use futures::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use watchkeep_provider::{with_retries, RetryPolicy};

use super::common::{self, CmdResult, Context, Failure, Stats};
use super::{VarArgs, EXIT_OK};
use crate::state::{now_rfc3339, State};

/// `alerts --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AlertLog {
    pub format_version: u32,
    pub generated_at: String,
    /// Start of the window (RFC 3339), when `--since` was given.
    pub since: Option<String>,
    /// State changes, oldest first.
    pub events: Vec<AlertLogEvent>,
    /// Managed objects whose vendor keeps no alert history watchkeep can read yet.
    pub not_covered: Vec<String>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AlertLogEvent {
    pub timestamp: String,
    pub address: String,
    pub resource_type: String,
    pub id: String,
    pub from: Option<String>,
    pub to: String,
    pub summary: String,
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

pub async fn run(
    ctx: &Context,
    vars: &VarArgs,
    since: Option<&str>,
    targets: &[String],
    json: bool,
    parallelism: usize,
) -> CmdResult {
    let since = since.map(|s| parse_since(s, SystemTime::now()).map_err(Failure::msg)).transpose()?;
    let (cfg, warnings) = ctx.load(vars)?;
    common::print_warnings(ctx, &warnings, &cfg.files);
    let backend = ctx.backend(Some(&cfg));
    let state = backend.load()?.unwrap_or_else(State::new);
    let selected: Vec<_> =
        state.resources.iter().filter(|r| crate::plan::targeted(&r.address, targets)).collect();
    let needed: BTreeSet<String> = selected.iter().map(|r| r.provider.clone()).collect();
    let providers = common::configure_providers(ctx, Some(&cfg), &needed)?;
    let redactor = common::redactor(Some(&cfg), &state);
    let policy = RetryPolicy::default();

    let results: Vec<_> = stream::iter(selected.iter().map(|r| {
        let providers = &providers;
        let policy = &policy;
        let redactor = &redactor;
        async move {
            let p = providers
                .get(&r.provider)
                .ok_or_else(|| Failure::msg(format!("provider `{}` is not configured", r.provider)))?;
            let got = with_retries(policy, || p.alert_history(&r.resource_type, &r.id, since)).await;
            got.map(|events| (*r, events)).map_err(|e| {
                Failure::msg(format!(
                    "reading the alert history of {} failed: {}",
                    r.address,
                    redactor.str(&e.to_string())
                ))
            })
        }
    }))
    .buffer_unordered(parallelism.max(1))
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
    let log = AlertLog {
        format_version: 1,
        generated_at: now_rfc3339(),
        since: since.map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }),
        events,
        not_covered,
        stats: common::stats(ctx, &providers),
    };
    if json {
        common::print_json(&log)?;
    } else {
        print!("{}", render(&log));
    }
    Ok(EXIT_OK)
}

pub fn render(log: &AlertLog) -> String {
    let mut out = String::new();
    if log.events.is_empty() {
        out.push_str("No alert state changes");
        if let Some(s) = &log.since {
            out.push_str(&format!(" since {s}"));
        }
        out.push_str(".\n");
    }
    for e in &log.events {
        let from = e.from.as_deref().map(|f| format!("{f} -> ")).unwrap_or_default();
        out.push_str(&format!("{}  {}  {from}{}  {}\n", e.timestamp, e.address, e.to, e.summary));
    }
    if !log.not_covered.is_empty() {
        out.push_str(&format!(
            "\n{} managed objects have no alert history watchkeep can read yet (e.g. {}).\n",
            log.not_covered.len(),
            log.not_covered[0]
        ));
    }
    out
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
