//! `index.html` and `index.md`: what an auditor reads top to bottom. One document model
//! ([`document`]) rendered twice ([`html`], [`markdown`]), so both say the same.
//!
//! Order: the problems (first, when there are any: a broken chain is evidence of tampering), the
//! period and configuration, the hash chains, a summary of the verdicts; then one section per
//! CC7.1 step of [`super::REQUIREMENTS`] (what it asks, the verdict and why, the files that answer
//! it, the key facts); then the auditor's four items mapped to files, and every file.
//!
//! Everything that comes from the configuration or a vendor is escaped (HTML: `& < > " '`;
//! Markdown: every character that could start markup, see [`md_text`]). Self-contained: inline
//! CSS, no scripts (a Content-Security-Policy forbids them), no external links except the vendor
//! object links (http and https only). The pictures' capture times are not here: they are drawn
//! into the pictures and listed in `manifest.json`, so this file is the same on every rerun.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::files::{
    group_paths, human_duration, ALERT_CONFIGURATION_CSV, ALERT_CONFIGURATION_JSON, ALERT_LOG_CSV,
    ALERT_LOG_JSON, DASHBOARDS_DIR, INDEX_HTML, INDEX_MD, MANIFEST_JSON, OSCAL_JSON, SCOPE_CSV, SCOPE_JSON,
    VALIDATIONS_DIR, VALIDATIONS_JSON,
};
use super::verdict::{Verdict, GROUPS};
use super::{ChainStatus, Evidence};

/// A piece of running text.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Strong(String),
    Code(String),
    /// A vendor's web page (only http and https are made links).
    Link {
        text: String,
        href: String,
    },
    /// A file of the bundle, by its bundle-relative path.
    File(String),
    /// A section of this document.
    Anchor {
        text: String,
        id: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading {
        level: u8,
        id: Option<String>,
        text: String,
    },
    Para(Vec<Inline>),
    List(Vec<Vec<Inline>>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Image {
        path: String,
        alt: String,
    },
    /// Shown prominently: what makes the evidence incomplete.
    Warning {
        title: String,
        items: Vec<Vec<Inline>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

fn t(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}
fn code(s: impl Into<String>) -> Inline {
    Inline::Code(s.into())
}
fn strong(s: impl Into<String>) -> Inline {
    Inline::Strong(s.into())
}
fn file(s: impl Into<String>) -> Inline {
    Inline::File(s.into())
}
fn cell(s: impl Into<String>) -> Vec<Inline> {
    vec![t(s)]
}
fn opt(s: &Option<String>) -> Vec<Inline> {
    cell(s.clone().unwrap_or_else(|| "—".to_string()))
}
fn para(v: Vec<Inline>) -> Block {
    Block::Para(v)
}
fn h(level: u8, text: impl Into<String>) -> Block {
    Block::Heading { level, id: None, text: text.into() }
}
fn table(head: &[&str], rows: Vec<Vec<Vec<Inline>>>) -> Block {
    Block::Table { head: head.iter().map(|s| s.to_string()).collect(), rows }
}
fn files_of(list: &[&str]) -> Vec<Inline> {
    let mut v = Vec::new();
    for (i, f) in list.iter().enumerate() {
        if i > 0 {
            v.push(t(", "));
        }
        v.push(file(*f));
    }
    v
}
/// A line watchkeep wrote with `backticks` around names: the names as code, the rest as text.
/// A line with an odd number of backticks stays text (escaped like any other).
fn rich(s: &str) -> Vec<Inline> {
    if s.matches('`').count() % 2 == 1 {
        return vec![t(s)];
    }
    s.split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| if i % 2 == 1 { code(part) } else { t(part) })
        .collect()
}

fn verdict_word(satisfied: bool) -> &'static str {
    if satisfied {
        "satisfied"
    } else {
        "not satisfied"
    }
}
fn object(address: &str, link: &Option<String>) -> Vec<Inline> {
    match link {
        Some(href) => vec![Inline::Link { text: address.to_string(), href: href.clone() }],
        None => vec![code(address)],
    }
}

/// The index of `ev`: `verdicts` from [`super::verdict::assess`], `files` every file of the
/// bundle with what it holds, sorted by path.
pub fn document(ev: &Evidence, verdicts: &[Verdict], files: &[(String, String)]) -> Document {
    let mut b = Vec::new();
    let title = format!("SOC 2 CC7.1 monitoring evidence, {} to {}", ev.period.from, ev.period.to);

    // The problems come first; a broken chain the gatherer did not list as a problem too.
    let mut problems: Vec<Vec<Inline>> =
        ev.problems.iter().map(|p| vec![strong(p.area.clone()), t(": "), t(p.message.clone())]).collect();
    for (area, what, chain) in [
        ("changes", "the configuration history's hash chain is broken", &ev.changes.chain),
        ("validations", "the validation records' hash chain is broken", &ev.validations.chain),
        ("notes", "the alert notes' hash chain is broken", &ev.alert_log.notes_chain),
    ] {
        if !chain.intact && !ev.problems.iter().any(|p| p.area == area) {
            problems.push(vec![strong(area), t(format!(": {what}: {}", chain.problems.join("; ")))]);
        }
    }
    if problems.is_empty() {
        b.push(para(vec![t(
            "Complete: every source answered while the evidence was gathered, and every hash chain holds.",
        )]));
    } else {
        b.push(Block::Warning {
            title: format!(
                "Incomplete evidence: {} problem{} (a broken hash chain means a record was edited or removed)",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            ),
            items: problems,
        });
    }

    let c = &ev.configuration;
    b.push(table(
        &["", ""],
        vec![
            vec![
                cell("Period"),
                cell(format!("{} to {} (both inclusive, UTC)", ev.period.from, ev.period.to)),
            ],
            vec![cell("Configuration"), vec![code(c.directory.clone())]],
            vec![
                cell("Source revision"),
                match &c.source_revision {
                    Some(r) => vec![code(r.clone())],
                    None => cell("none (the configuration is not in a git work tree)"),
                },
            ],
            vec![
                cell("State"),
                vec![t("lineage "), code(c.state_lineage.clone()), t(format!(", serial {}", c.state_serial))],
            ],
            vec![cell("Made by"), cell(format!("watchkeep {}", ev.watchkeep_version))],
        ],
    ));

    b.push(h(2, "Hash chains"));
    b.push(para(vec![t(
        "Each record links to the one before it by its SHA-256, so an edited or removed record breaks the chain. Keep the head SHA-256 elsewhere to catch a rewrite of a whole chain.",
    )]));
    let chain_row = |what: &str, ch: &ChainStatus| {
        vec![
            cell(what),
            vec![if ch.intact { t("intact") } else { strong("BROKEN") }],
            cell(ch.length.to_string()),
            match &ch.head_sha256 {
                Some(s) => vec![code(s.clone())],
                None => cell("—"),
            },
            cell(if ch.problems.is_empty() { "—".to_string() } else { ch.problems.join("; ") }),
        ]
    };
    b.push(table(
        &["chain", "status", "entries", "head SHA-256", "problems"],
        vec![
            chain_row("configuration history", &ev.changes.chain),
            chain_row("validation records", &ev.validations.chain),
            chain_row("alert notes", &ev.alert_log.notes_chain),
        ],
    ));

    b.push(h(2, "Verdicts"));
    b.push(table(
        &["step", "requirement", "verdict"],
        verdicts
            .iter()
            .enumerate()
            .map(|(n, v)| {
                vec![
                    cell((n + 1).to_string()),
                    vec![Inline::Anchor { text: v.title.to_string(), id: format!("req-{}", v.id) }],
                    vec![if v.satisfied { t("satisfied") } else { strong("not satisfied") }],
                ]
            })
            .collect(),
    ));

    for (n, v) in verdicts.iter().enumerate() {
        b.push(Block::Heading {
            level: 2,
            id: Some(format!("req-{}", v.id)),
            text: format!("{}. {}", n + 1, v.title),
        });
        b.push(para(vec![strong("What it asks: "), t(v.asks)]));
        b.push(para(vec![
            strong("Verdict: "),
            if v.satisfied { t(verdict_word(true)) } else { strong(verdict_word(false)) },
            t(", because:"),
        ]));
        b.push(Block::List(v.reasons.iter().map(|r| rich(r)).collect()));
        let mut answered = vec![strong("Answered by: ")];
        let paths = group_paths(ev, v.groups);
        if paths.is_empty() {
            answered.push(t("no file (nothing was gathered)"));
        } else {
            answered.extend(files_of(&paths.iter().map(String::as_str).collect::<Vec<_>>()));
        }
        b.push(para(answered));
        match v.id {
            "scope" => scope_facts(ev, &mut b),
            "core-metrics" => core_metric_facts(ev, &mut b),
            "thresholds" => threshold_facts(ev, &mut b),
            "notifications" => notification_facts(ev, &mut b),
            "dashboards" => dashboard_facts(ev, &mut b),
            "respond" => respond_facts(ev, &mut b),
            "validate" => validate_facts(ev, &mut b),
            _ => {}
        }
    }

    b.push(h(2, "The auditor's four items"));
    let dashboards: Vec<String> =
        ev.dashboards.iter().map(|d| format!("{DASHBOARDS_DIR}/{}", d.file)).collect();
    b.push(table(
        &["the auditor expects", "where it is"],
        vec![
            vec![
                cell("Dated screenshot of the infrastructure dashboard showing the in-scope systems, timestamp visible"),
                if dashboards.is_empty() {
                    vec![strong("missing: no dashboard picture")]
                } else {
                    let mut v = files_of(&dashboards.iter().map(String::as_str).collect::<Vec<_>>());
                    v.push(t(" (capture time drawn into each; also in "));
                    v.push(file(MANIFEST_JSON));
                    v.push(t(")"));
                    v
                },
            ],
            vec![
                cell("Alert configuration export with thresholds, notification channels and last-modified date"),
                files_of(&[ALERT_CONFIGURATION_CSV, ALERT_CONFIGURATION_JSON]),
            ],
            vec![
                cell("Sample alert log with a triggered alert and its resolution timestamp within the audit period"),
                files_of(&[ALERT_LOG_CSV, ALERT_LOG_JSON]),
            ],
            vec![
                cell("Monitoring scope document mapped to the system inventory, with its last review date"),
                {
                    let mut v = files_of(&[SCOPE_JSON, SCOPE_CSV]);
                    v.push(t(" and the section "));
                    v.push(Inline::Anchor { text: "Define monitoring scope".to_string(), id: "req-scope".to_string() });
                    v
                },
            ],
            vec![
                cell("Validation records (periodic validation)"),
                {
                    let mut v = files_of(&[VALIDATIONS_JSON]);
                    v.push(t(format!(" and {VALIDATIONS_DIR}/")));
                    v
                },
            ],
        ],
    ));

    b.push(h(2, "Files"));
    b.push(table(
        &["file", "what it holds"],
        files.iter().map(|(p, d)| vec![vec![file(p.clone())], cell(d.clone())]).collect(),
    ));
    b.push(para(vec![
        t("The SHA-256 of every file is in "),
        file(MANIFEST_JSON),
        t(" (check one with "),
        code("sha256sum FILE"),
        t("), with when the bundle was made and when each picture was captured. "),
        file(OSCAL_JSON),
        t(" says the same as this page in NIST OSCAL 1.0.6. In the CSV files, a text cell that a spreadsheet would read as a formula (starting with "),
        code("="),
        t(", "),
        code("+"),
        t(", "),
        code("-"),
        t(" or "),
        code("@"),
        t(") starts with "),
        code("'"),
        t(". "),
        file(INDEX_HTML),
        t(" and "),
        file(INDEX_MD),
        t(" hold the same text."),
    ]));
    let _ = GROUPS; // the groups' own descriptions are in the OSCAL observations
    Document { title, blocks: b }
}

fn scope_facts(ev: &Evidence, b: &mut Vec<Block>) {
    let s = &ev.scope;
    b.push(para(vec![t(format!(
        "Review interval: {}. Coverage of the configuration as of the period's end: {}.",
        s.review_interval,
        if s.coverage_passed { "no gap".to_string() } else { format!("{} gaps", s.coverage_gaps.len()) }
    ))]));
    b.push(table(
        &["inventory", "source", "reviewed on", "reviewed by", "review", "components"],
        s.inventories
            .iter()
            .map(|i| {
                vec![
                    vec![code(i.name.clone())],
                    opt(&i.source),
                    opt(&i.reviewed_on),
                    opt(&i.reviewed_by),
                    vec![if i.review_status == "current" {
                        t("current")
                    } else {
                        strong(i.review_status.clone())
                    }],
                    cell(i.components.to_string()),
                ]
            })
            .collect(),
    ));
    b.push(table(
        &["component", "kind", "vendor", "inventory", "identified by", "coverage", "managed objects"],
        s.components
            .iter()
            .map(|c| {
                let ident: Vec<String> = c.identifier.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                vec![
                    vec![code(c.name.clone())],
                    cell(c.kind.clone()),
                    cell(c.provider.clone()),
                    c.inventory.clone().map(|i| vec![code(i)]).unwrap_or_else(|| cell("none (not in scope)")),
                    cell(ident.join(", ")),
                    vec![if c.coverage == "covered" { t("covered") } else { strong(c.coverage.clone()) }],
                    cell(c.managed.len().to_string()),
                ]
            })
            .collect(),
    ));
}

fn core_metric_facts(ev: &Evidence, b: &mut Vec<Block>) {
    // The five core metrics in their usual order, then any other the catalog requires.
    let mut metrics: Vec<String> = ["cpu", "memory", "disk", "network", "uptime"]
        .iter()
        .filter(|m| ev.scope.components.iter().any(|c| c.metrics.iter().any(|x| x.metric == **m)))
        .map(|m| m.to_string())
        .collect();
    for c in &ev.scope.components {
        for m in &c.metrics {
            if !metrics.contains(&m.metric) {
                metrics.push(m.metric.clone());
            }
        }
    }
    let mut head = vec!["component".to_string(), "kind".to_string(), "vendor".to_string()];
    head.extend(metrics.iter().cloned());
    let rows = ev
        .scope
        .components
        .iter()
        .map(|c| {
            let mut row = vec![vec![code(c.name.clone())], cell(c.kind.clone()), cell(c.provider.clone())];
            for m in &metrics {
                row.push(match c.metrics.iter().find(|x| &x.metric == m) {
                    None => cell("—"),
                    Some(x) if x.status == "covered" => cell(format!("covered ({})", x.covered_by.len())),
                    Some(x) if x.status == "not_applicable" => cell("n/a"),
                    Some(x) => vec![strong(x.status.clone())],
                });
            }
            row
        })
        .collect();
    b.push(Block::Table { head, rows });
    if !ev.scope.coverage_gaps.is_empty() {
        b.push(para(vec![strong("Coverage gaps as of the period's end:")]));
        b.push(table(
            &["category", "subject", "metric", "what"],
            ev.scope
                .coverage_gaps
                .iter()
                .map(|g| {
                    vec![
                        cell(g.category.clone()),
                        vec![code(g.subject.clone())],
                        opt(&g.metric),
                        cell(g.message.clone()),
                    ]
                })
                .collect(),
        ));
    }
}

fn threshold(r: &super::AlertConfigRow) -> String {
    let dir = r.direction.clone().unwrap_or_default();
    let mut s = match r.critical {
        Some(c) => format!("{dir} {c}").trim().to_string(),
        None => "—".to_string(),
    };
    if let Some(w) = r.warning {
        let _ = write!(s, " (warning {w})");
    }
    s
}

fn threshold_facts(ev: &Evidence, b: &mut Vec<Block>) {
    b.push(table(
        &[
            "alert",
            "component",
            "metric",
            "condition",
            "threshold",
            "for",
            "severity",
            "routes",
            "vendor last-modified",
            "first applied",
            "last changed",
        ],
        ev.alert_configuration
            .iter()
            .map(|r| {
                vec![
                    object(&r.address, &r.link),
                    opt(&r.component),
                    opt(&r.metric),
                    vec![code(r.condition.clone())],
                    cell(threshold(r)),
                    opt(&r.duration),
                    opt(&r.severity),
                    cell(if r.routes.is_empty() { "—".to_string() } else { r.routes.join(", ") }),
                    opt(&r.vendor_modified),
                    opt(&r.first_applied),
                    opt(&r.last_changed),
                ]
            })
            .collect(),
    ));
    b.push(para(vec![strong(format!(
        "Configuration changes in the period ({}):",
        ev.changes.entries.len()
    ))]));
    b.push(table(
        &[
            "version",
            "when",
            "who",
            "operation",
            "source revision",
            "outcome",
            "created",
            "updated",
            "replaced",
            "deleted",
        ],
        ev.changes
            .entries
            .iter()
            .map(|c| {
                let e = &c.entry;
                vec![
                    cell(e.version.to_string()),
                    cell(e.timestamp.clone()),
                    cell(e.actor.clone()),
                    cell(e.operation.clone()),
                    e.source_revision.clone().map(|r| vec![code(r)]).unwrap_or_else(|| cell("—")),
                    cell(e.outcome.clone()),
                    cell(e.counts.create.to_string()),
                    cell(e.counts.update.to_string()),
                    cell(e.counts.replace.to_string()),
                    cell(e.counts.delete.to_string()),
                ]
            })
            .collect(),
    ));
}

fn notification_facts(ev: &Evidence, b: &mut Vec<Block>) {
    let mut by_route: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &ev.alert_configuration {
        *by_route.entry((r.routes.join(", "), r.targets.join("; "))).or_default() += 1;
    }
    b.push(table(
        &["routes", "deliver to (secrets redacted)", "alerts"],
        by_route
            .into_iter()
            .map(|((routes, targets), n)| {
                vec![
                    if routes.is_empty() { vec![strong("none")] } else { cell(routes) },
                    if targets.is_empty() { vec![strong("nowhere")] } else { cell(targets) },
                    cell(n.to_string()),
                ]
            })
            .collect(),
    ));
    let tests: Vec<_> = ev.validations.records.iter().filter(|r| r.kind == "routes-test").collect();
    b.push(para(vec![strong(format!("Route tests in the period ({}):", tests.len()))]));
    b.push(table(
        &["record", "recorded at", "outcome", "summary"],
        tests
            .iter()
            .map(|r| {
                vec![
                    vec![file(format!("{VALIDATIONS_DIR}/{}", r.file))],
                    cell(r.recorded_at.clone()),
                    vec![if r.outcome == "pass" { t("pass") } else { strong(r.outcome.clone()) }],
                    cell(r.summary.clone()),
                ]
            })
            .collect(),
    ));
}

fn dashboard_facts(ev: &Evidence, b: &mut Vec<Block>) {
    for d in &ev.dashboards {
        b.push(h(3, d.title.clone()));
        let mut line = vec![
            t(format!("{} {} ", d.vendor, d.resource_type)),
            code(d.id.clone()),
            t(", "),
            code(d.address.clone()),
        ];
        line.push(t(". Shows: "));
        if d.components.is_empty() {
            line.push(strong("no in-scope component"));
        } else {
            for (i, c) in d.components.iter().enumerate() {
                if i > 0 {
                    line.push(t(", "));
                }
                line.push(code(c.clone()));
            }
        }
        line.push(t(format!(". Made by: {}. File: ", d.source)));
        let path = format!("{DASHBOARDS_DIR}/{}", d.file);
        line.push(file(path.clone()));
        line.push(t(" (its capture time is drawn into the picture and listed in "));
        line.push(file(MANIFEST_JSON));
        line.push(t(")."));
        b.push(para(line));
        b.push(Block::Image { path, alt: format!("Dashboard {} ({})", d.title, d.vendor) });
    }
}

fn respond_facts(ev: &Evidence, b: &mut Vec<Block>) {
    let log = &ev.alert_log;
    b.push(table(
        &[
            "alert",
            "vendor",
            "component",
            "metric",
            "triggered",
            "resolved",
            "time to resolve",
            "what fired",
            "notes",
        ],
        log.incidents
            .iter()
            .map(|i| {
                let trig = match (&i.triggered_at, &i.trigger_state) {
                    (Some(at), Some(s)) => format!("{at} ({s})"),
                    (Some(at), None) => at.clone(),
                    (None, _) => "before the period".to_string(),
                };
                let res = match (&i.resolved_at, &i.resolve_state) {
                    (Some(at), Some(s)) => vec![t(format!("{at} ({s})"))],
                    (Some(at), None) => vec![t(at.clone())],
                    (None, _) => vec![strong("still firing at the period's end")],
                };
                let notes = if i.notes.is_empty() {
                    if i.resolved_at.is_some() {
                        vec![strong("no note")]
                    } else {
                        cell("—")
                    }
                } else {
                    cell(
                        i.notes
                            .iter()
                            .map(|n| format!("{} {} ({}): {}", n.noted_at, n.author, n.source, n.text))
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                };
                vec![
                    vec![code(i.address.clone())],
                    cell(i.vendor.clone()),
                    opt(&i.component),
                    opt(&i.metric),
                    cell(trig),
                    res,
                    cell(i.time_to_resolve_seconds.map(human_duration).unwrap_or_else(|| "—".to_string())),
                    cell(i.summary.clone()),
                    notes,
                ]
            })
            .collect(),
    ));
    let mut vendors: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &log.events {
        *vendors.entry(e.vendor.as_str()).or_default() += 1;
    }
    let per: Vec<String> = vendors.iter().map(|(v, n)| format!("{v} {n}")).collect();
    b.push(para(vec![
        t(format!(
            "{} state changes read from the vendors in the period{} (every one is in ",
            log.events.len(),
            if per.is_empty() { String::new() } else { format!(": {}", per.join(", ")) }
        )),
        file(ALERT_LOG_JSON),
        t(", "),
        code("events"),
        t(")."),
    ]));
    if !log.not_covered.is_empty() {
        b.push(para(vec![strong("No alert history can be read for: "), t(log.not_covered.join(", "))]));
    }
}

fn validate_facts(ev: &Evidence, b: &mut Vec<Block>) {
    b.push(table(
        &["record", "kind", "sequence", "recorded at", "outcome", "summary"],
        ev.validations
            .records
            .iter()
            .map(|r| {
                vec![
                    vec![file(format!("{VALIDATIONS_DIR}/{}", r.file))],
                    cell(r.kind.clone()),
                    cell(r.sequence.map(|s| s.to_string()).unwrap_or_else(|| "—".to_string())),
                    cell(r.recorded_at.clone()),
                    vec![if r.outcome == "pass" { t("pass") } else { strong(r.outcome.clone()) }],
                    cell(r.summary.clone()),
                ]
            })
            .collect(),
    ));
}

// ---------------------------------------------------------------------------------------------
// HTML

/// HTML text: `& < > " '` as entities, and line breaks as spaces (every value is one line).
pub fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Only absolute http(s) URLs become links; anything else (`javascript:`, relative) stays text.
fn web_href(href: &str) -> Option<&str> {
    let lower = href.to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !href.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(href)
}

fn html_inline(out: &mut String, v: &[Inline]) {
    for i in v {
        match i {
            Inline::Text(s) => out.push_str(&html_text(s)),
            Inline::Strong(s) => {
                let _ = write!(out, "<strong>{}</strong>", html_text(s));
            }
            Inline::Code(s) => {
                let _ = write!(out, "<code>{}</code>", html_text(s));
            }
            Inline::Link { text, href } => match web_href(href) {
                Some(href) => {
                    let _ = write!(
                        out,
                        "<a href=\"{}\" rel=\"noopener noreferrer\"><code>{}</code></a>",
                        html_text(href),
                        html_text(text)
                    );
                }
                None => {
                    let _ = write!(out, "<code>{}</code> ({})", html_text(text), html_text(href));
                }
            },
            Inline::File(p) => {
                let _ =
                    write!(out, "<a href=\"{}\"><code>{}</code></a>", html_text(&url_path(p)), html_text(p));
            }
            Inline::Anchor { text, id } => {
                let _ = write!(out, "<a href=\"#{}\">{}</a>", html_text(id), html_text(text));
            }
        }
    }
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1b1f24;line-height:1.45}\
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}\
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}code{font-size:.85em;background:#f6f8fa;padding:0 .2em;border-radius:3px;word-break:break-all}\
.warning{border:2px solid #cf222e;background:#ffebe9;padding:.6rem 1rem;margin:1rem 0}.warning h2{margin-top:0;border:0;color:#a40e26}\
img{max-width:100%;border:1px solid #d0d7de}\n";

/// The index as a self-contained HTML page.
pub fn html(doc: &Document) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // No scripts, plugins, forms or base URL, whatever the page's text holds.
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'\">\n");
    let _ = writeln!(o, "<title>{}</title>", html_text(&doc.title));
    let _ = write!(o, "<style>\n{CSS}</style>\n</head>\n<body>\n");
    let _ = writeln!(o, "<h1>{}</h1>", html_text(&doc.title));
    for block in &doc.blocks {
        match block {
            Block::Heading { level, id, text } => {
                let id = id.as_deref().map(|i| format!(" id=\"{}\"", html_text(i))).unwrap_or_default();
                let _ = writeln!(o, "<h{level}{id}>{}</h{level}>", html_text(text));
            }
            Block::Para(v) => {
                o.push_str("<p>");
                html_inline(&mut o, v);
                o.push_str("</p>\n");
            }
            Block::List(items) => {
                o.push_str("<ul>\n");
                for it in items {
                    o.push_str("<li>");
                    html_inline(&mut o, it);
                    o.push_str("</li>\n");
                }
                o.push_str("</ul>\n");
            }
            Block::Table { head, rows } => {
                o.push_str("<table>\n");
                if head.iter().any(|h| !h.is_empty()) {
                    o.push_str("<tr>");
                    for h in head {
                        let _ = write!(o, "<th>{}</th>", html_text(h));
                    }
                    o.push_str("</tr>\n");
                }
                if rows.is_empty() {
                    let _ = writeln!(o, "<tr><td colspan=\"{}\">none</td></tr>", head.len().max(1));
                }
                for r in rows {
                    o.push_str("<tr>");
                    for c in r {
                        o.push_str("<td>");
                        html_inline(&mut o, c);
                        o.push_str("</td>");
                    }
                    o.push_str("</tr>\n");
                }
                o.push_str("</table>\n");
            }
            Block::Image { path, alt } => {
                let _ = writeln!(
                    o,
                    "<p><a href=\"{0}\"><img src=\"{0}\" alt=\"{1}\"></a></p>",
                    html_text(&url_path(path)),
                    html_text(alt)
                );
            }
            Block::Warning { title, items } => {
                let _ = write!(o, "<div class=\"warning\">\n<h2>{}</h2>\n<ul>\n", html_text(title));
                for it in items {
                    o.push_str("<li>");
                    html_inline(&mut o, it);
                    o.push_str("</li>\n");
                }
                o.push_str("</ul>\n</div>\n");
            }
        }
    }
    o.push_str("</body>\n</html>\n");
    o
}

/// A bundle path as a relative URL: every byte outside `A-Za-z0-9 - . _ ~ /` percent-encoded.
fn url_path(p: &str) -> String {
    let mut out = String::new();
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A web URL in a Markdown link destination: characters that end or change the destination
/// (`( ) < > [ ] \ |`, spaces, quotes, backticks, controls) and non-ASCII percent-encoded.
fn md_url(u: &str) -> String {
    let mut out = String::new();
    for ch in u.chars() {
        if ch.is_ascii_graphic()
            && !matches!(ch, '(' | ')' | '<' | '>' | '[' | ']' | '\\' | '|' | '"' | '\'' | '`')
        {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Markdown

/// Markdown text that renders as exactly itself: every ASCII punctuation character that can
/// open markup (emphasis, code, links, images, HTML, entities, tables, headings, lists, math,
/// strikethrough) is backslash-escaped (CommonMark allows a backslash before any ASCII
/// punctuation); GitHub's bare-URL, `www.` and e-mail autolinks and `:emoji:` shortcodes are
/// broken by escaping the `:` of `://` or before a letter, the `.` of `www.` and every `@`. Line
/// breaks become spaces, so no value can start a block.
pub fn md_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &ch) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        match ch {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '<' | '>' | '(' | ')' | '#' | '+' | '!'
            | '|' | '~' | '&' | '$' | '@' => {
                out.push('\\');
                out.push(ch);
            }
            ':' if matches!(next, Some(c) if c == '/' || c.is_ascii_alphabetic()) => out.push_str("\\:"),
            '.' if i >= 3 && chars[i - 3..i].iter().collect::<String>().eq_ignore_ascii_case("www") => {
                out.push_str("\\.")
            }
            '-' | '=' if i == 0 => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown code span holding `s` literally: fenced by more backticks than any run inside,
/// padded when it starts or ends with a backtick; `|` escaped (GitHub tables split cells on it
/// even inside code spans, and drop the backslash when rendering).
fn md_code(s: &str) -> String {
    let s: String = s.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
    let s = s.replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn md_inline(v: &[Inline]) -> String {
    let mut out = String::new();
    for i in v {
        match i {
            Inline::Text(s) => out.push_str(&md_text(s)),
            Inline::Strong(s) => {
                // `**x **` is not emphasis in CommonMark (a closing `**` must follow a
                // non-space): keep the spaces outside.
                let core = s.trim();
                let lead = &s[..s.len() - s.trim_start().len()];
                let trail = &s[s.trim_end().len()..];
                if core.is_empty() {
                    out.push_str(s);
                } else {
                    let _ = write!(out, "{lead}**{}**{trail}", md_text(core));
                }
            }
            Inline::Code(s) => out.push_str(&md_code(s)),
            Inline::Link { text, href } => match web_href(href) {
                Some(href) => {
                    let _ = write!(out, "[{}]({})", md_text(text), md_url(href));
                }
                None => {
                    let _ = write!(out, "{} ({})", md_code(text), md_text(href));
                }
            },
            Inline::File(p) => {
                let _ = write!(out, "[{}]({})", md_text(p), url_path(p));
            }
            Inline::Anchor { text, .. } => out.push_str(&md_text(text)),
        }
    }
    out
}

/// The index as Markdown (GitHub flavour: tables).
pub fn markdown(doc: &Document) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", md_text(&doc.title));
    for block in &doc.blocks {
        match block {
            Block::Heading { level, text, .. } => {
                let _ = writeln!(o, "{} {}\n", "#".repeat(usize::from(*level)), md_text(text));
            }
            Block::Para(v) => {
                let _ = writeln!(o, "{}\n", md_inline(v));
            }
            Block::List(items) => {
                for it in items {
                    let _ = writeln!(o, "- {}", md_inline(it));
                }
                o.push('\n');
            }
            Block::Table { head, rows } => {
                let head: Vec<String> =
                    head.iter().map(|h| if h.is_empty() { " ".to_string() } else { md_text(h) }).collect();
                let _ = writeln!(o, "| {} |", head.join(" | "));
                let _ = writeln!(o, "|{}", "---|".repeat(head.len()));
                if rows.is_empty() {
                    let mut empty = vec!["none".to_string()];
                    empty.resize(head.len(), " ".to_string());
                    let _ = writeln!(o, "| {} |", empty.join(" | "));
                }
                for r in rows {
                    let cells: Vec<String> = r.iter().map(|c| md_inline(c)).collect();
                    let _ = writeln!(o, "| {} |", cells.join(" | "));
                }
                o.push('\n');
            }
            Block::Image { path, alt } => {
                let _ = writeln!(o, "![{}]({})\n", md_text(alt), url_path(path));
            }
            Block::Warning { title, items } => {
                let _ = writeln!(o, "> **{}**\n>", md_text(title));
                for it in items {
                    let _ = writeln!(o, "> - {}", md_inline(it));
                }
                o.push('\n');
            }
        }
    }
    // One trailing newline.
    while o.ends_with("\n\n") {
        o.pop();
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::bundle::{fixture::evidence, plan_files};
    use crate::evidence::Problem;

    fn rendered(ev: &Evidence) -> (String, String) {
        let files = plan_files(&crate::evidence::bundle::normalised(ev)).unwrap();
        let text =
            |p: &str| String::from_utf8(files.iter().find(|f| f.path == p).unwrap().bytes.clone()).unwrap();
        (text(INDEX_HTML), text(INDEX_MD))
    }

    #[test]
    fn reads_top_to_bottom_with_a_section_per_requirement() {
        let ev = evidence();
        let (html, md) = rendered(&ev);
        let mut at = 0;
        for (n, (_, title, asks)) in crate::evidence::REQUIREMENTS.iter().enumerate() {
            let head = format!("## {}. {title}", n + 1);
            let pos = md[at..].find(&head).unwrap_or_else(|| panic!("{head} missing or out of order"));
            at += pos;
            assert!(md[at..].contains(&md_text(asks)));
            assert!(html.contains(&format!("{}. {}</h2>", n + 1, html_text(title))));
        }
        assert_eq!(md.matches("**Verdict:** satisfied").count(), 7, "{md}");
        assert!(md.find("The auditor's four items").unwrap() > at);
        // The period and configuration come first; the pictures are embedded / linked.
        assert!(
            md.find("2026-11-01T00:00:00Z to 2026-11-30T23:59:59Z").unwrap()
                < md.find("## Verdicts").unwrap()
        );
        assert!(html.contains("<img src=\"dashboards/datadog-infra.png\""));
        assert!(
            md.contains("![Dashboard Production infrastructure \\(datadog\\)](dashboards/datadog-infra.png)"),
            "{md}"
        );
        assert!(md.contains("[alert-configuration.csv](alert-configuration.csv)"));
        assert!(
            html.contains("<a href=\"https://datadog.example.com/alerts/1001\" rel=\"noopener noreferrer\">")
        );
        // Key facts: review date, thresholds, resolution, notes.
        assert!(
            md.contains(
                "| `production` | inventory.csv | 2026-10-15 | platform-lead\\@example.com | current | 3 |"
            ),
            "{md}"
        );
        assert!(html.contains("above 90 (warning 80)") && html.contains("1h 05m 00s"));
        assert!(html.contains("Killed a long-running report query."));
        // Self-contained, no scripts, and no capture time (it is in the pictures and the manifest).
        assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("<link"));
        for d in &ev.dashboards {
            assert!(!html.contains(&d.captured_at) && !md.contains(&d.captured_at));
        }
        assert!(!html.contains(&ev.generated_at) && !md.contains(&ev.generated_at));
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert!(md.ends_with(".\n") || md.ends_with("|\n"));
    }

    #[test]
    fn problems_come_first_and_fail_their_step() {
        let mut ev = evidence();
        ev.changes.chain.intact = false;
        ev.changes.chain.problems =
            vec!["history entry 2 was edited: its SHA-256 does not match entry 3's `previous`".into()];
        ev.problems
            .push(Problem { area: "alert-log".into(), message: "New Relic did not answer: HTTP 503".into() });
        let (html, md) = rendered(&ev);
        let warn = md.find("> **Incomplete evidence: 2 problems").expect(&md);
        assert!(warn < md.find("| Period |").unwrap());
        assert!(md.contains("history entry 2 was edited"));
        assert!(html.find("class=\"warning\"").unwrap() < html.find("<td>Period</td>").unwrap());
        assert!(md.contains("**Verdict:** **not satisfied**"));
        // thresholds (the broken history) and respond (the vendor that did not answer)
        assert_eq!(md.matches("**Verdict:** **not satisfied**").count(), 2, "{md}");
        assert!(md.contains("New Relic did not answer: HTTP 503"));
        assert!(html.contains("<strong>BROKEN</strong>"));
    }

    #[test]
    fn text_from_configuration_and_vendors_renders_as_itself() {
        let mut ev = evidence();
        let evil = "<script>alert(1)</script> *bold* _it_ `code` [x](javascript:alert(1)) | &amp; ![i](http://t/i.png) https://evil.example www.evil.example a@b.c :fire: # h";
        ev.alert_log.incidents[0].summary = evil.into();
        ev.alert_log.incidents[0].notes[0].text = format!("line one\n# line two {evil}");
        ev.alert_configuration[0].link = Some("javascript:alert(1)".into());
        ev.alert_configuration[1].condition = "a | b ``c`` `".into();
        ev.dashboards[0].title = "<img src=x onerror=alert(1)>".into();
        let (html, md) = rendered(&ev);
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<img src=x") && !html.contains("href=\"javascript"));
        assert!(html.contains("&amp;amp;"));
        assert!(!md.contains("<script>") && md.contains("\\<script\\>"));
        assert!(md.contains("\\*bold\\* \\_it\\_ \\`code\\` \\[x\\]\\(javascript\\:alert\\(1\\)\\)"));
        assert!(md.contains("\\&amp;") && md.contains("\\!\\[i\\]\\(http\\://t/i.png\\)"));
        assert!(md.contains("https\\://evil.example www\\.evil.example a\\@b.c \\:fire: \\# h"), "{md}");
        assert!(!md.contains("](javascript"), "a javascript: link became a link");
        assert!(md.contains("line one \\# line two"), "a line break started a block");
        assert!(md.contains("``` a \\| b ``c`` ` ```"), "{md}");
        // Every table row keeps its column count: no unescaped `|` came from the values.
        for block in md.split("\n\n").filter(|b| b.starts_with("| ")) {
            let cols = |line: &str| {
                let mut n = 0;
                let mut prev = ' ';
                for c in line.chars() {
                    if c == '|' && prev != '\\' {
                        n += 1;
                    }
                    prev = if prev == '\\' && c == '\\' { ' ' } else { c };
                }
                n
            };
            let mut lines = block.lines();
            let want = cols(lines.next().unwrap());
            for l in lines {
                assert_eq!(cols(l), want, "{l}");
            }
        }
    }

    #[test]
    fn markdown_escaping_leaves_plain_text_readable() {
        assert_eq!(md_text("web-1 2026-11-01T10:00:00Z 95.5%"), "web-1 2026-11-01T10:00:00Z 95.5%");
        assert_eq!(md_text("-x"), "\\-x");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(html_text("a<'\">&b"), "a&lt;&#39;&quot;&gt;&amp;b");
        assert_eq!(md_url("https://x.example/a b(c)"), "https://x.example/a%20b%28c%29");
    }
}
