//! `watchkeep evidence --from DATE --to DATE --out DIR`: gathers the SOC 2 CC7.1 evidence of one
//! period into an [`Evidence`] (from the configuration, state, the hash-chained history,
//! validation records and notes, and the vendors' alert logs and dashboard pictures) and writes
//! it as a bundle (`crate::evidence::bundle`).
//!
//! What is read where:
//! - scope: the configuration's inventories and components, `coverage::from_config` as of the
//!   period's last day, and the state's objects per component;
//! - alert configuration: every managed alert in state, joined with what the configuration says
//!   it covers (component, metric, threshold, window, severity, routes) and the history (first
//!   applied, last changed);
//! - changes: the history entries of the period, with the whole chain checked;
//! - alert log: `Provider::alert_history` of every managed alert from the period's start, paired
//!   into trigger → resolution incidents, with the `alerts note` records attached;
//! - validations: the drift, coverage and route-test records of the period, byte for byte;
//! - dashboards: `Provider::dashboard_picture` of every managed dashboard, the capture time drawn
//!   in (`crate::evidence::picture`).
//!
//! A broken chain, a vendor that does not answer or a dashboard that cannot be pictured is a
//! [`Problem`] in the bundle (its index says so first) and makes the command exit 2; the bundle is
//! still written, so the auditor sees what is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use futures::stream::{self, StreamExt};
use serde_json::Value;
use watchkeep_provider::{with_retries, Picture, ProviderError, RetryPolicy};

use super::coverage::ALERT_TYPES;
use super::providers::configure;
use super::report::{ChainReport, CoveringAlert, EvidenceCounts, EvidenceFile, EvidenceOutput};
use super::{Error, Vars, Workspace};
use crate::config::Config;
use crate::evidence::{
    AlertConfigRow, AlertIncident, AlertLogDoc, AlertLogLine, AlertNote, ChainStatus, ChangeEntry,
    ChangesDoc, ConfigurationRef, DashboardShot, Evidence, ManagedObject, Period, Problem, ScopeComponent,
    ScopeDoc, ScopeGap, ScopeInventory, ScopeMetric, ValidationFile, ValidationsDoc,
};
use crate::redact::Redactor;
use crate::state::{HistoryEntry, ResourceState, State};

/// Managed dashboards, pictured for the auditor.
pub const DASHBOARD_TYPES: &[&str] = &["datadog_dashboard", "cloudwatch_dashboard", "newrelic_dashboard"];

/// What `evidence` is asked for.
#[derive(Debug, Clone)]
pub struct EvidenceInput {
    pub vars: Vars,
    /// First day (`2026-10-01`), an RFC 3339 time, or a duration ago (`30d`).
    pub from: String,
    /// Last day (inclusive: to its end), an RFC 3339 time, or `now` (the default).
    pub to: Option<String>,
    pub out: PathBuf,
    pub parallelism: usize,
}

/// What `evidence` did: the evidence gathered and the `--json` report of the bundle written.
#[derive(Debug)]
pub struct EvidenceRun {
    pub evidence: Evidence,
    pub output: EvidenceOutput,
}

/// The period `--from`/`--to` name, as UTC times (both inclusive).
pub fn period(
    from: &str,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let start = time_arg(from, now, false).map_err(|e| format!("--from {from}: {e}"))?;
    let end = match to {
        None | Some("now") => now,
        Some(t) => time_arg(t, now, true).map_err(|e| format!("--to {t}: {e}"))?,
    };
    if end < start {
        return Err(format!(
            "the period ends ({}) before it starts ({})",
            end.to_rfc3339_opts(SecondsFormat::Secs, true),
            start.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
    Ok((start, end))
}

fn time_arg(text: &str, now: DateTime<Utc>, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let t = if end_of_day { d.and_hms_opt(23, 59, 59) } else { d.and_hms_opt(0, 0, 0) };
        return t.map(|t| t.and_utc()).ok_or_else(|| "not a valid day".to_string());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Some(secs) = crate::compile::duration_seconds(text) {
        let secs = i64::try_from(secs).map_err(|_| "too long ago".to_string())?;
        return chrono::Duration::try_seconds(secs)
            .and_then(|d| now.checked_sub_signed(d))
            .ok_or_else(|| "too long ago".to_string());
    }
    Err("neither a day (2026-11-01), an RFC 3339 time (2026-11-01T00:00:00Z) nor a duration ago (30d)".into())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

pub async fn evidence(ws: &Workspace, input: &EvidenceInput) -> Result<EvidenceRun, Error> {
    let now = Utc::now();
    let (from, to) = period(&input.from, input.to.as_deref(), now).map_err(Error::msg)?;
    let in_period = |t: &str| parse_time(t).is_some_and(|t| t >= from && t <= to);

    let (cfg, warnings) = ws.load(&input.vars)?;
    ws.print_warnings(&warnings, &cfg.files);
    let checks = super::coverage::check(&cfg);
    if checks.has_errors() {
        return Err(Error::Diagnostics(checks, cfg.files.clone()));
    }
    let (compiled, _) =
        crate::compile::compile_with_warnings(&cfg).map_err(|d| Error::Diagnostics(d, cfg.files.clone()))?;
    let addresses: BTreeSet<String> = compiled.into_iter().map(|o| o.address).collect();
    let coverage = super::coverage::from_config(&cfg, &addresses, to.date_naive());

    let backend = ws.backend(Some(&cfg));
    let state = backend.load()?.unwrap_or_else(State::new);
    let redactor = super::prepare::redactor(Some(&cfg), &state);
    let mut problems = Vec::new();

    // Changes: the history, its chain checked.
    let chain = backend.history_chain()?;
    for p in &chain.problems {
        problems.push(Problem { area: "changes".into(), message: format!("history chain broken: {p}") });
    }
    let history: Vec<HistoryEntry> = chain.entries.iter().filter_map(|e| e.entry.clone()).collect();
    let changes = ChangesDoc {
        chain: ChainStatus {
            intact: chain.intact(),
            length: chain.entries.len(),
            head_sha256: chain.head_sha256.clone(),
            problems: chain.problems.clone(),
        },
        entries: chain
            .entries
            .iter()
            .filter_map(|e| e.entry.clone().map(|entry| (entry, e.sha256.clone())))
            .filter(|(entry, _)| in_period(&entry.timestamp))
            .map(|(entry, sha256)| ChangeEntry { entry, sha256 })
            .collect(),
    };

    // Validation records of the period, byte for byte.
    let vkey = backend.side_dir("validations");
    let vdir = backend.folder(&vkey);
    let vchain = super::validations::check_in(vdir).map_err(|e| {
        Error::msg(format!("cannot read the validation records in {}: {e}", vdir.path().display()))
    })?;
    for p in &vchain.problems {
        problems.push(Problem {
            area: "validations".into(),
            message: format!("validation records chain broken: {p}"),
        });
    }
    let mut records = Vec::new();
    for r in &vchain.records {
        let Some(at) = r.recorded_at.as_deref().filter(|t| in_period(t)) else { continue };
        let bytes = vdir
            .read(&r.file)
            .and_then(|b| {
                b.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "it disappeared"))
            })
            .map_err(|e| Error::msg(format!("cannot read {}: {e}", vdir.locate(&r.file).display())))?;
        records.push(ValidationFile {
            file: r.file.clone(),
            kind: r.kind.clone(),
            sequence: r.sequence,
            recorded_at: at.to_string(),
            outcome: r.outcome.clone(),
            summary: r.summary.clone(),
            sha256: r.sha256.clone(),
            bytes,
        });
    }
    let validations = ValidationsDoc { chain: chain_status(&vchain), records };

    // Notes.
    let (notes, nchain) = super::notes::read(&backend)?;
    for p in &nchain.problems {
        problems.push(Problem { area: "notes".into(), message: format!("alert notes chain broken: {p}") });
    }

    // The vendors: alert logs, links and dashboard pictures.
    let vendors: BTreeSet<String> = state
        .resources
        .iter()
        .filter(|r| {
            ALERT_TYPES.contains(&r.resource_type.as_str())
                || DASHBOARD_TYPES.contains(&r.resource_type.as_str())
        })
        .map(|r| r.provider.clone())
        .collect();
    let providers = configure(ws, Some(&cfg), &vendors)?;
    let covering = covering_by_address(&coverage);

    let alerts: Vec<&ResourceState> =
        state.resources.iter().filter(|r| ALERT_TYPES.contains(&r.resource_type.as_str())).collect();
    let since = SystemTime::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(from.timestamp()).unwrap_or(0))
        + Duration::from_nanos(u64::from(from.timestamp_subsec_nanos()));
    let policy = RetryPolicy::default();
    let histories: Vec<_> = stream::iter(alerts.iter().map(|r| {
        let providers = &providers;
        let policy = &policy;
        async move {
            let got = match providers.get(&r.provider) {
                None => Err(format!("provider `{}` is not configured", r.provider)),
                Some(p) => match with_retries(policy, || p.alert_history(&r.resource_type, &r.id, Some(since))).await
                {
                    Ok(got) => Ok(got),
                    // A vendor that fails the windowed read may still answer the whole history it
                    // keeps (LocalStack's DescribeAlarmHistory fails on a StartDate once an alarm
                    // has changed state twice: it compares naive and aware times); the period is
                    // cut here either way. Auth and not-found errors are not retried this way.
                    Err(e) if matches!(e, ProviderError::Transient { .. } | ProviderError::Api { .. }) => {
                        match with_retries(policy, || p.alert_history(&r.resource_type, &r.id, None)).await {
                            Ok(got) => {
                                eprintln!(
                                    "warning: {}: the vendor failed to read its alert history from the period's start; read the whole history it keeps instead",
                                    r.address
                                );
                                Ok(got)
                            }
                            Err(_) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                },
            };
            (*r, got)
        }
    }))
    .buffered(input.parallelism.max(1))
    .collect()
    .await;
    let mut events = Vec::new();
    let mut not_covered = Vec::new();
    for (r, got) in histories {
        match got {
            Ok(None) => not_covered.push(r.address.clone()),
            Ok(Some(list)) => {
                events.extend(list.into_iter().filter(|e| in_period(&e.timestamp)).map(|e| AlertLogLine {
                    timestamp: normalise_time(&e.timestamp),
                    address: r.address.clone(),
                    vendor: r.provider.clone(),
                    resource_type: r.resource_type.clone(),
                    id: r.id.clone(),
                    from: e.from,
                    to: e.to,
                    summary: e.summary,
                }))
            }
            Err(e) => problems.push(Problem {
                area: "alert-log".into(),
                message: format!(
                    "the alert history of {} could not be read: {}",
                    r.address,
                    redactor.str(&e)
                ),
            }),
        }
    }
    // Stable: events at the same instant keep the vendor's order (a trigger before its resolve).
    events.sort_by(|a, b| (&a.timestamp, &a.address).cmp(&(&b.timestamp, &b.address)));
    not_covered.sort();
    let incidents = incidents(&events, &notes, &covering);
    let alert_log = AlertLogDoc { incidents, events, not_covered, notes_chain: chain_status(&nchain) };

    let alert_configuration = alert_rows(&cfg, &alerts, &covering, &history, |r| {
        providers.get(&r.provider).and_then(|p| p.web_link(&r.resource_type, &r.id))
    });

    let mut dashboards = Vec::new();
    for r in state.resources.iter().filter(|r| DASHBOARD_TYPES.contains(&r.resource_type.as_str())) {
        let Some(p) = providers.get(&r.provider) else { continue };
        let (title, components) = dashboard_scope(&cfg, r);
        let got = with_retries(&policy, || {
            p.dashboard_picture(
                &r.resource_type,
                &r.id,
                &r.attrs,
                from.timestamp(),
                to.min(Utc::now()).timestamp(),
            )
        })
        .await;
        let captured_at = Utc::now();
        let shown = format!("{} UTC", captured_at.format("%Y-%m-%d %H:%M:%S"));
        let drawn = match got {
            Ok(Some(Picture::Png { bytes, source })) => {
                {
                    // The vendor's picture may not name the systems it shows: the banner does.
                    let banner = if components.is_empty() {
                        title.clone()
                    } else {
                        format!("{title}: {}", components.join(", "))
                    };
                    crate::evidence::picture::stamp(&bytes, &banner, &shown)
                }
                .map(|png| (png, source))
                .map_err(|e| e.to_string())
            }
            Ok(Some(Picture::Series { title: _, series, source })) => {
                crate::evidence::picture::render_series(
                    &title,
                    &series,
                    from.timestamp(),
                    to.min(Utc::now()).timestamp(),
                    &shown,
                    &source,
                )
                .map(|png| (png, format!("rendered by watchkeep from {source}")))
                .map_err(|e| e.to_string())
            }
            Ok(None) => Err(format!("{} cannot picture a {}", r.provider, r.resource_type)),
            Err(e) => Err(e.to_string()),
        };
        match drawn {
            Ok((png, source)) => dashboards.push(DashboardShot {
                address: r.address.clone(),
                vendor: r.provider.clone(),
                resource_type: r.resource_type.clone(),
                id: r.id.clone(),
                title,
                components,
                file: file_name(&r.address, "png"),
                source: redactor.str(&source).into_owned(),
                captured_at: rfc3339(captured_at),
                png,
            }),
            Err(e) => problems.push(Problem {
                area: "dashboards".into(),
                message: format!("no picture of {}: {}", r.address, redactor.str(&e)),
            }),
        }
    }
    if dashboards.is_empty() && !problems.iter().any(|p| p.area == "dashboards") {
        problems.push(Problem {
            area: "dashboards".into(),
            message: "no managed dashboard to picture: add a `dashboard \"infra\" { scope = inventory.<name> }` block and apply it".into(),
        });
    }

    let scope = scope_doc(&cfg, &coverage, &state, to.date_naive());
    let directory = ws
        .dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| ".".into());
    let mut ev = Evidence {
        period: Period { from: rfc3339(from), to: rfc3339(to) },
        generated_at: rfc3339(now),
        watchkeep_version: env!("CARGO_PKG_VERSION").to_string(),
        configuration: ConfigurationRef {
            directory,
            source_revision: crate::state::source_revision(&ws.dir),
            state_lineage: state.lineage.clone(),
            state_serial: state.serial,
        },
        scope,
        alert_configuration,
        changes,
        alert_log,
        validations,
        dashboards,
        problems,
    };
    redact(&mut ev, &redactor);
    let manifest = crate::evidence::bundle::write(&input.out, &ev).map_err(|e| {
        Error::msg(format!("cannot write the evidence bundle to {}: {e}", input.out.display()))
    })?;
    let files = manifest
        .files
        .iter()
        .map(|f| EvidenceFile { path: f.path.clone(), sha256: f.sha256.clone() })
        .collect();
    let output = EvidenceOutput {
        format_version: 1,
        out: input.out.display().to_string(),
        index_html: input.out.join("index.html").display().to_string(),
        index_md: input.out.join("index.md").display().to_string(),
        period: ev.period.clone(),
        complete: ev.problems.is_empty(),
        problems: ev.problems.clone(),
        counts: EvidenceCounts {
            components: ev.scope.components.len(),
            coverage_gaps: ev.scope.coverage_gaps.len(),
            alerts: ev.alert_configuration.len(),
            changes: ev.changes.entries.len(),
            incidents: ev.alert_log.incidents.len(),
            resolved_incidents: ev.alert_log.incidents.iter().filter(|i| i.resolved_at.is_some()).count(),
            incidents_with_notes: ev.alert_log.incidents.iter().filter(|i| !i.notes.is_empty()).count(),
            alert_events: ev.alert_log.events.len(),
            validation_records: ev.validations.records.len(),
            dashboards: ev.dashboards.len(),
        },
        files,
    };
    Ok(EvidenceRun { evidence: ev, output })
}

/// Values of sensitive variables never reach the bundle: every serialisable part is masked
/// (the validation records were masked when they were written and are copied as they are).
fn redact(ev: &mut Evidence, redactor: &Redactor) {
    if redactor.is_empty() {
        return;
    }
    fn mask<T: serde::Serialize + serde::de::DeserializeOwned>(v: &mut T, redactor: &Redactor) {
        let masked = serde_json::to_value(&*v).map(|j| redactor.value(&j));
        if let Ok(m) = masked.and_then(serde_json::from_value) {
            *v = m;
        }
    }
    mask(&mut ev.scope, redactor);
    mask(&mut ev.alert_configuration, redactor);
    mask(&mut ev.changes, redactor);
    mask(&mut ev.alert_log, redactor);
    mask(&mut ev.problems, redactor);
    mask(&mut ev.configuration, redactor);
    for d in &mut ev.dashboards {
        d.title = redactor.str(&d.title).into_owned();
    }
}

fn chain_status(c: &ChainReport) -> ChainStatus {
    ChainStatus {
        intact: c.chain_intact,
        length: c.records.len(),
        head_sha256: c.records.last().map(|r| r.sha256.clone()),
        problems: c.problems.clone(),
    }
}

/// `2026-11-01T10:00:00.250Z` and `+00:00` forms → one form, so events sort by time.
fn normalise_time(t: &str) -> String {
    match parse_time(t) {
        Some(p) if p.timestamp_subsec_millis() == 0 => rfc3339(p),
        Some(p) => p.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => t.to_string(),
    }
}

/// A file name for an address: `dashboard.infra.datadog` → `dashboard.infra.datadog.png`.
fn file_name(address: &str, ext: &str) -> String {
    let stem: String = address
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '_' })
        .collect();
    format!("{}.{ext}", stem.trim_matches('.'))
}

/// Component, metric and covering alert of each compiled address the coverage report names.
struct Covering {
    component: String,
    metric: String,
    alert: CoveringAlert,
}

fn covering_by_address(cov: &super::report::CoverageReport) -> BTreeMap<String, Covering> {
    let mut out = BTreeMap::new();
    for c in &cov.components {
        for m in &c.metrics {
            for a in &m.covered_by {
                out.entry(a.address.clone()).or_insert_with(|| Covering {
                    component: c.name.clone(),
                    metric: m.metric.clone(),
                    alert: a.clone(),
                });
            }
        }
    }
    out
}

const TRIGGER_STATES: &[&str] = &["ALARM", "Alert", "Warn", "OPEN", "Triggered", "Warning"];
const RESOLVE_STATES: &[&str] = &["OK", "CLOSED", "Recovered", "RESOLVED"];

/// Trigger → resolution pairs per alert, with the notes about each.
fn incidents(
    events: &[AlertLogLine],
    notes: &[super::notes::StoredNote],
    covering: &BTreeMap<String, Covering>,
) -> Vec<AlertIncident> {
    let mut by_address: BTreeMap<&str, Vec<&AlertLogLine>> = BTreeMap::new();
    for e in events {
        by_address.entry(e.address.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    for (address, list) in by_address {
        let mut open: Option<AlertIncident> = None;
        let mut mine = Vec::new();
        for e in list {
            let base = || AlertIncident {
                address: address.to_string(),
                vendor: e.vendor.clone(),
                resource_type: e.resource_type.clone(),
                id: e.id.clone(),
                component: covering.get(address).map(|c| c.component.clone()),
                metric: covering.get(address).map(|c| c.metric.clone()),
                triggered_at: None,
                trigger_state: None,
                resolved_at: None,
                resolve_state: None,
                time_to_resolve_seconds: None,
                summary: e.summary.clone(),
                notes: Vec::new(),
            };
            if TRIGGER_STATES.contains(&e.to.as_str()) {
                if open.is_none() {
                    let mut i = base();
                    i.triggered_at = Some(e.timestamp.clone());
                    i.trigger_state = Some(e.to.clone());
                    open = Some(i);
                }
            } else if RESOLVE_STATES.contains(&e.to.as_str()) {
                // A resolution with nothing open fired before the period: keep it, trigger unknown.
                let mut i = open.take().unwrap_or_else(base);
                i.resolved_at = Some(e.timestamp.clone());
                i.resolve_state = Some(e.to.clone());
                i.time_to_resolve_seconds =
                    match (i.triggered_at.as_deref().and_then(parse_time), parse_time(&e.timestamp)) {
                        (Some(a), Some(b)) => Some((b - a).num_seconds()),
                        _ => None,
                    };
                mine.push(i);
            }
        }
        mine.extend(open);
        attach_notes(&mut mine, notes.iter().filter(|n| n.note.address == address));
        out.extend(mine);
    }
    out.sort_by(|a, b| {
        (a.triggered_at.as_deref().or(a.resolved_at.as_deref()), &a.address)
            .cmp(&(b.triggered_at.as_deref().or(b.resolved_at.as_deref()), &b.address))
    });
    out
}

/// A note goes to the incident it names (`--about`: the firing open at that time), or else to the
/// last incident that fired at or before the note was written.
fn attach_notes<'a>(
    incidents: &mut [AlertIncident],
    notes: impl Iterator<Item = &'a super::notes::StoredNote>,
) {
    for n in notes {
        let when = n.note.about.as_deref().unwrap_or(&n.noted_at);
        let Some(at) = parse_time(when) else { continue };
        let started =
            |i: &AlertIncident| i.triggered_at.as_deref().or(i.resolved_at.as_deref()).and_then(parse_time);
        let chosen = if n.note.about.is_some() {
            incidents.iter_mut().find(|i| {
                let s = started(i);
                let e = i.resolved_at.as_deref().and_then(parse_time);
                s.is_some_and(|s| s <= at) && e.is_none_or(|e| at <= e)
            })
        } else {
            incidents.iter_mut().filter(|i| started(i).is_some_and(|s| s <= at)).last()
        };
        if let Some(i) = chosen {
            i.notes.push(AlertNote {
                noted_at: normalise_time(&n.noted_at),
                author: n.note.author.clone(),
                text: n.note.text.clone(),
                source: "watchkeep".into(),
            });
        }
    }
}

/// One row per managed alert.
fn alert_rows(
    cfg: &Config,
    alerts: &[&ResourceState],
    covering: &BTreeMap<String, Covering>,
    history: &[HistoryEntry],
    link: impl Fn(&ResourceState) -> Option<String>,
) -> Vec<AlertConfigRow> {
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for h in history {
        for c in &h.changes {
            if matches!(c.action.as_str(), "create" | "replace") {
                first.entry(c.address.as_str()).or_insert(h.timestamp.as_str());
            }
            if matches!(c.action.as_str(), "create" | "update" | "replace") {
                last.insert(c.address.as_str(), h.timestamp.as_str());
            }
        }
    }
    alerts
        .iter()
        .map(|r| {
            let cov = covering.get(&r.address);
            let (name, condition, direction, critical, warning) = vendor_condition(r);
            let from_block = block_of(cfg, r);
            let routes: Vec<String> = match cov {
                Some(c) => c.alert.routes.clone(),
                None => from_block.as_ref().map(|b| b.routes.clone()).unwrap_or_default(),
            };
            let targets = routes
                .iter()
                .filter_map(|n| cfg.routes.get(n))
                .flat_map(|route| {
                    super::routes_test::route_targets(cfg, route)
                        .into_iter()
                        .map(move |t| format!("route.{}: {t}", route.name))
                })
                .collect();
            AlertConfigRow {
                address: r.address.clone(),
                vendor: r.provider.clone(),
                resource_type: r.resource_type.clone(),
                id: r.id.clone(),
                link: link(r),
                name,
                component: cov
                    .map(|c| c.component.clone())
                    .or_else(|| from_block.as_ref().and_then(|b| b.component.clone())),
                metric: cov
                    .map(|c| c.metric.clone())
                    .or_else(|| from_block.as_ref().and_then(|b| b.metric.clone())),
                condition,
                // The vendor's own direction and thresholds: what it alerts on.
                direction: direction.map(str::to_string).or_else(|| cov.map(|c| c.alert.direction.clone())),
                critical: critical.or(cov.map(|c| c.alert.threshold)),
                warning,
                duration: cov
                    .map(|c| c.alert.window.clone())
                    .or_else(|| from_block.as_ref().and_then(|b| b.duration.clone())),
                severity: cov
                    .map(|c| c.alert.severity.clone())
                    .or_else(|| from_block.as_ref().and_then(|b| b.severity.clone())),
                routes,
                targets,
                vendor_modified: r.vendor_modified.clone(),
                first_applied: first.get(r.address.as_str()).map(|s| s.to_string()),
                last_changed: last
                    .get(r.address.as_str())
                    .map(|s| s.to_string())
                    .or_else(|| Some(r.changed_at.clone())),
            }
        })
        .collect()
}

/// What the `alert` or `baseline` block an object was compiled from says of it: its routes, and
/// the component and metric its address names (`baseline.soc2["web-1"].connections`).
struct FromBlock {
    routes: Vec<String>,
    component: Option<String>,
    metric: Option<String>,
    /// As written, else the catalog's default for the component's kind on its vendor.
    severity: Option<String>,
    duration: Option<String>,
}

fn block_of(cfg: &Config, r: &ResourceState) -> Option<FromBlock> {
    let origin = r.origin.as_deref()?;
    let rest = r.address.strip_prefix(origin)?;
    let component = rest.strip_prefix("[\"").and_then(|x| x.split_once("\"]")).map(|(c, _)| c.to_string());
    let suffix = rest.rsplit_once("\"]").map(|(_, m)| m).unwrap_or("");
    let (routes, metric, written) = if let Some(name) = origin.strip_prefix("baseline.") {
        let b = cfg.baselines.get(name)?;
        let metric = suffix.strip_prefix('.').filter(|m| !m.is_empty()).map(str::to_string);
        let written = metric.as_ref().and_then(|m| b.overrides.get(m)).map(|o| o.threshold.clone());
        (b.routes.clone(), metric, written)
    } else {
        let a = cfg.alerts.get(origin.strip_prefix("alert.")?)?;
        (a.routes.clone(), Some(a.metric.clone()), Some(a.threshold.clone()))
    };
    let row = match (&metric, component.as_ref().and_then(|c| cfg.components.get(c))) {
        (Some(m), Some(c)) => crate::compile::catalog::lookup(m, &c.kind, &c.provider).map(|e| e.defaults),
        _ => None,
    };
    let severity =
        written.as_ref().and_then(|t| t.severity.clone()).or_else(|| row.map(|d| d.severity.to_string()));
    let duration = written
        .as_ref()
        .and_then(|t| t.for_duration.clone())
        .or_else(|| row.map(|d| d.for_duration.to_string()));
    Some(FromBlock { routes, component, metric, severity, duration })
}

/// The vendor's name, condition, direction (`above`/`below`), critical and warning threshold of
/// one alert, from its state attributes: what the vendor alerts on.
type Condition = (Option<String>, String, Option<&'static str>, Option<f64>, Option<f64>);

fn vendor_condition(r: &ResourceState) -> Condition {
    let a = &r.attrs;
    let s = |v: &Value| v.as_str().map(str::to_string);
    let dir = |above: bool| Some(if above { "above" } else { "below" });
    match r.resource_type.as_str() {
        "datadog_monitor" => {
            let query = s(&a["query"]).unwrap_or_default();
            // The comparison is the query's last `>`/`<` (`avg(last_5m):… > 85`).
            let direction = query.rfind(['>', '<']).and_then(|i| dir(query.as_bytes()[i] == b'>'));
            (
                s(&a["name"]),
                query,
                direction,
                a["options"]["thresholds"]["critical"].as_f64(),
                a["options"]["thresholds"]["warning"].as_f64(),
            )
        }
        "cloudwatch_metric_alarm" => {
            let metric = match (s(&a["Namespace"]), s(&a["MetricName"])) {
                (Some(ns), Some(m)) => format!("{ns}/{m}"),
                _ => "metric math".to_string(),
            };
            let dims: Vec<String> = a["Dimensions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| Some(format!("{}={}", d["Name"].as_str()?, d["Value"].as_str()?)))
                .collect();
            let stat = s(&a["Statistic"]).or_else(|| s(&a["ExtendedStatistic"])).unwrap_or_default();
            let cond = format!(
                "{metric}{} {stat} {} {} for {} of {} periods of {} s",
                if dims.is_empty() { String::new() } else { format!(" [{}]", dims.join(", ")) },
                s(&a["ComparisonOperator"]).unwrap_or_default(),
                a["Threshold"],
                a.get("DatapointsToAlarm")
                    .and_then(Value::as_u64)
                    .or_else(|| a["EvaluationPeriods"].as_u64())
                    .unwrap_or(1),
                a["EvaluationPeriods"].as_u64().unwrap_or(1),
                a["Period"].as_u64().unwrap_or(0),
            );
            let direction = s(&a["ComparisonOperator"]).and_then(|op| dir(op.starts_with("Greater")));
            (
                s(&a["AlarmName"]).or_else(|| Some(r.id.clone())),
                cond,
                direction,
                a["Threshold"].as_f64(),
                None,
            )
        }
        "cloudwatch_composite_alarm" => (
            s(&a["AlarmName"]).or_else(|| Some(r.id.clone())),
            s(&a["AlarmRule"]).unwrap_or_default(),
            None,
            None,
            None,
        ),
        "newrelic_nrql_condition" => {
            let terms = a["terms"].as_array().cloned().unwrap_or_default();
            let term = |p: &str| {
                terms.iter().find(|t| t["priority"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(p)))
            };
            let ops: Vec<String> = terms
                .iter()
                .map(|t| {
                    format!(
                        "{} {} {} for {} s",
                        t["priority"].as_str().unwrap_or(""),
                        t["operator"].as_str().unwrap_or(""),
                        t["threshold"],
                        t["thresholdDuration"]
                    )
                })
                .collect();
            let direction = term("CRITICAL")
                .and_then(|t| t["operator"].as_str())
                .and_then(|op| dir(op.to_ascii_uppercase().starts_with("ABOVE")));
            (
                s(&a["name"]),
                format!("{}; {}", s(&a["nrql"]["query"]).unwrap_or_default(), ops.join("; ")),
                direction,
                term("CRITICAL").and_then(|t| t["threshold"].as_f64()),
                term("WARNING").and_then(|t| t["threshold"].as_f64()),
            )
        }
        _ => (None, String::new(), None, None, None),
    }
}

/// A dashboard's title and the in-scope components it shows (from its `dashboard` block).
fn dashboard_scope(cfg: &Config, r: &ResourceState) -> (String, Vec<String>) {
    let block =
        r.origin.as_deref().and_then(|o| o.strip_prefix("dashboard.")).and_then(|n| cfg.dashboards.get(n));
    let fallback = ["title", "name", "DashboardName"]
        .iter()
        .find_map(|k| r.attrs[*k].as_str())
        .unwrap_or(&r.id)
        .to_string();
    match block {
        Some(d) => {
            let comps = cfg
                .components
                .values()
                .filter(|c| {
                    c.provider == r.provider && crate::compile::selects(c, d.scope.as_deref(), &d.kinds, &[])
                })
                .map(|c| c.name.clone())
                .collect();
            (d.title.clone().unwrap_or(fallback), comps)
        }
        None => (fallback, Vec::new()),
    }
}

/// The scope document: inventories with their reviews, every component with its coverage and the
/// managed objects that watch or show it.
fn scope_doc(cfg: &Config, cov: &super::report::CoverageReport, state: &State, today: NaiveDate) -> ScopeDoc {
    let interval_days =
        crate::compile::duration_seconds(&cov.requirements.review_interval).map(|s| s / 86_400);
    let inventories = cfg
        .inventories
        .values()
        .map(|inv| {
            let review_status =
                match inv.reviewed_on.as_deref().map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d")) {
                    None | Some(Err(_)) => "missing",
                    Some(Ok(d)) if d > today => "future",
                    Some(Ok(d)) => match interval_days {
                        Some(max) if (today - d).num_days() > i64::try_from(max).unwrap_or(i64::MAX) => {
                            "overdue"
                        }
                        _ => "current",
                    },
                };
            ScopeInventory {
                name: inv.name.clone(),
                source: inv.source.clone(),
                reviewed_on: inv.reviewed_on.clone(),
                reviewed_by: inv.reviewed_by.clone(),
                review_status: review_status.into(),
                components: inv.components.len(),
            }
        })
        .collect();
    let components = cov
        .components
        .iter()
        .map(|c| {
            let key = format!("[\"{}\"]", c.name);
            let covering: BTreeSet<&str> =
                c.metrics.iter().flat_map(|m| m.covered_by.iter().map(|a| a.address.as_str())).collect();
            let shown_on: BTreeSet<String> = cfg
                .dashboards
                .values()
                .filter(|d| {
                    cfg.components
                        .get(&c.name)
                        .is_some_and(|comp| crate::compile::selects(comp, d.scope.as_deref(), &d.kinds, &[]))
                })
                .map(|d| format!("dashboard.{}", d.name))
                .collect();
            let managed = state
                .resources
                .iter()
                .filter(|r| {
                    r.address.contains(&key)
                        || covering.contains(r.address.as_str())
                        || (DASHBOARD_TYPES.contains(&r.resource_type.as_str())
                            && r.provider == c.provider
                            && r.origin.as_ref().is_some_and(|o| shown_on.contains(o)))
                })
                .map(|r| ManagedObject {
                    address: r.address.clone(),
                    vendor: r.provider.clone(),
                    resource_type: r.resource_type.clone(),
                    id: r.id.clone(),
                })
                .collect();
            ScopeComponent {
                name: c.name.clone(),
                kind: c.kind.clone(),
                provider: c.provider.clone(),
                inventory: c.inventory.clone(),
                identifier: cfg.components.get(&c.name).map(|x| x.identifier.clone()).unwrap_or_default(),
                coverage: if c.metrics.iter().any(|m| m.status == "gap") { "gap" } else { "covered" }.into(),
                metrics: c
                    .metrics
                    .iter()
                    .map(|m| ScopeMetric {
                        metric: m.metric.clone(),
                        status: m.status.clone(),
                        covered_by: m.covered_by.iter().map(|a| a.address.clone()).collect(),
                        reasons: m.reasons.clone(),
                    })
                    .collect(),
                managed,
            }
        })
        .collect();
    ScopeDoc {
        review_interval: cov.requirements.review_interval.clone(),
        inventories,
        components,
        coverage_passed: cov.gaps.is_empty(),
        coverage_gaps: cov
            .gaps
            .iter()
            .map(|g| ScopeGap {
                category: g.category.clone(),
                subject: g.subject.clone(),
                metric: g.metric.clone(),
                message: g.message.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).expect("time")
    }

    #[test]
    fn the_period_takes_days_times_and_durations() {
        let now = t("2026-12-04T12:00:00Z");
        assert_eq!(
            period("2026-12-01", Some("2026-12-03"), now),
            Ok((t("2026-12-01T00:00:00Z"), t("2026-12-03T23:59:59Z")))
        );
        assert_eq!(period("24h", None, now), Ok((t("2026-12-03T12:00:00Z"), now)));
        assert_eq!(
            period("2026-12-04T10:00:00+02:00", Some("now"), now),
            Ok((t("2026-12-04T08:00:00Z"), now))
        );
        assert!(period("2026-12-05", Some("2026-12-04"), now).unwrap_err().contains("before it starts"));
        assert!(period("yesterday", None, now).unwrap_err().starts_with("--from yesterday"));
    }

    fn line(at: &str, to: &str) -> AlertLogLine {
        AlertLogLine {
            timestamp: at.into(),
            address: "a".into(),
            vendor: "datadog".into(),
            resource_type: "datadog_monitor".into(),
            id: "1".into(),
            from: None,
            to: to.into(),
            summary: "CPU high".into(),
        }
    }

    fn stored(noted_at: &str, about: Option<&str>, text: &str) -> super::super::notes::StoredNote {
        super::super::notes::StoredNote {
            noted_at: noted_at.into(),
            note: super::super::notes::Note {
                address: "a".into(),
                vendor: "datadog".into(),
                resource_type: "datadog_monitor".into(),
                id: "1".into(),
                about: about.map(str::to_string),
                author: "alice".into(),
                text: text.into(),
            },
        }
    }

    #[test]
    fn events_pair_into_incidents_and_notes_find_theirs() {
        let events = vec![
            line("2026-12-01T09:00:00Z", "OK"),
            line("2026-12-01T10:00:00Z", "Warn"),
            line("2026-12-01T10:05:00Z", "Alert"),
            line("2026-12-01T10:20:00Z", "OK"),
            line("2026-12-02T08:00:00Z", "No Data"),
            line("2026-12-02T09:00:00Z", "Alert"),
        ];
        let notes = vec![
            stored("2026-12-01T10:30:00Z", None, "restarted the job"),
            stored("2026-12-03T10:30:00Z", Some("2026-12-01T10:10:00Z"), "root cause: cron"),
            stored("2026-12-02T09:30:00Z", None, "looking"),
        ];
        let got = incidents(&events, &notes, &BTreeMap::new());
        assert_eq!(got.len(), 3, "{got:#?}");
        assert_eq!(got[0].triggered_at, None, "resolved before anything fired in the period");
        assert_eq!(got[0].resolved_at.as_deref(), Some("2026-12-01T09:00:00Z"));
        assert_eq!(got[1].triggered_at.as_deref(), Some("2026-12-01T10:00:00Z"));
        assert_eq!(got[1].trigger_state.as_deref(), Some("Warn"));
        assert_eq!(got[1].time_to_resolve_seconds, Some(1200));
        let texts: Vec<&str> = got[1].notes.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts, ["restarted the job", "root cause: cron"]);
        assert_eq!(got[2].resolved_at, None, "still firing");
        assert_eq!(got[2].notes.len(), 1);
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("dashboard.infra.datadog", "png"), "dashboard.infra.datadog.png");
        assert_eq!(file_name("resource.x[\"a/b\"]", "png"), "resource.x__a_b__.png");
    }
}
