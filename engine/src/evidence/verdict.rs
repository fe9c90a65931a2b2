//! Whether the evidence satisfies each CC7.1 step of [`REQUIREMENTS`], and why: one function for
//! the index (`index.html`, `index.md`) and the OSCAL findings, so they cannot disagree.
//!
//! Also the evidence file groups (one OSCAL observation each) and which of them answer which
//! requirement. Everything here is a pure function of the [`Evidence`], and never looks at the
//! generation time or the pictures' capture times or bytes.

use std::collections::BTreeSet;

use super::{Evidence, REQUIREMENTS};

/// The verdict on one requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `scope`, `core-metrics`, … (the first column of [`REQUIREMENTS`]).
    pub id: &'static str,
    pub title: &'static str,
    /// What satisfies it.
    pub asks: &'static str,
    pub satisfied: bool,
    /// Why, one line each: what fails when it is not satisfied (with what to do), what shows it
    /// when it is.
    pub reasons: Vec<String>,
    /// The evidence file groups ([`GROUPS`]) that answer it.
    pub groups: &'static [&'static str],
}

/// One group of evidence files: one OSCAL observation, one row of the index's file list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub id: &'static str,
    pub title: &'static str,
    /// The OSCAL observation method: `EXAMINE` (a document read) or `TEST` (a check that ran).
    pub method: &'static str,
    pub describes: &'static str,
}

/// The evidence file groups, in the order of the index.
pub const GROUPS: &[Group] = &[
    Group {
        id: "scope",
        title: "Monitoring scope",
        method: "EXAMINE",
        describes: "The monitoring scope mapped to the system inventory: inventories with their reviews, every component with its required core metrics and the managed objects that watch it.",
    },
    Group {
        id: "alert-configuration",
        title: "Alert configuration export",
        method: "EXAMINE",
        describes: "Every managed alert: condition, thresholds, duration, severity, routes and their targets, vendor id and link, vendor last-modified, first applied and last changed.",
    },
    Group {
        id: "changes",
        title: "Configuration changes",
        method: "EXAMINE",
        describes: "Every history entry of the period (who, when, which revision, what changed) and whether the history's hash chain holds.",
    },
    Group {
        id: "alert-log",
        title: "Alert log",
        method: "EXAMINE",
        describes: "Every alert that fired or resolved in the period, with timestamps, time to resolve and resolution notes.",
    },
    Group {
        id: "validations",
        title: "Validation records",
        method: "TEST",
        describes: "The drift, coverage and route-test records of the period, copied byte for byte, and whether their hash chain holds.",
    },
    Group {
        id: "dashboards",
        title: "Dashboard pictures",
        method: "EXAMINE",
        describes: "A dated picture of each managed dashboard, the capture time drawn into it.",
    },
];

/// Which groups answer which requirement.
fn groups_of(requirement: &str) -> &'static [&'static str] {
    match requirement {
        "scope" => &["scope"],
        "core-metrics" => &["scope", "alert-configuration"],
        "thresholds" => &["alert-configuration", "changes"],
        "notifications" => &["alert-configuration", "validations"],
        "dashboards" => &["dashboards"],
        "respond" => &["alert-log"],
        "validate" => &["validations"],
        _ => &[],
    }
}

/// Which requirement a [`super::Problem`]'s area makes fail. Areas the gatherer may add later
/// fail none here; every problem is still listed first in the index and in the OSCAL result's
/// remarks.
fn requirement_of_area(area: &str) -> Option<&'static str> {
    match area {
        "scope" => Some("scope"),
        // The history is the documented configuration's record: a broken chain means the
        // thresholds' history can no longer be trusted.
        "changes" => Some("thresholds"),
        "alert-log" | "notes" => Some("respond"),
        "validations" => Some("validate"),
        "dashboards" => Some("dashboards"),
        _ => None,
    }
}

/// Which requirement a coverage gap's category (`run::coverage`) makes fail.
fn requirement_of_gap(category: &str) -> &'static str {
    match category {
        "review" | "unknown_component" => "scope",
        "threshold" | "window" | "severity" => "thresholds",
        "unrouted" | "route_owner" | "route_contact" => "notifications",
        // `missing`, `not_reporting`, `no_data`, and any category coverage adds later: a core
        // metric that is not watched.
        _ => "core-metrics",
    }
}

/// The verdict on every requirement, in the order of [`REQUIREMENTS`].
pub fn assess(ev: &Evidence) -> Vec<Verdict> {
    REQUIREMENTS
        .iter()
        .map(|(id, title, asks)| {
            let (mut failures, support) = match *id {
                "scope" => scope(ev),
                "core-metrics" => core_metrics(ev),
                "thresholds" => thresholds(ev),
                "notifications" => notifications(ev),
                "dashboards" => dashboards(ev),
                "respond" => respond(ev),
                "validate" => validate(ev),
                other => (vec![format!("watchkeep does not know how to assess `{other}`")], Vec::new()),
            };
            for gap in &ev.scope.coverage_gaps {
                // Coverage gaps the per-requirement checks do not already name.
                if requirement_of_gap(&gap.category) == *id
                    && !matches!(gap.category.as_str(), "missing" | "review")
                {
                    push_unique(&mut failures, format!("coverage: {}", gap.message));
                }
            }
            for p in &ev.problems {
                if requirement_of_area(&p.area) == Some(*id) {
                    push_unique(&mut failures, p.message.clone());
                }
            }
            let satisfied = failures.is_empty();
            Verdict {
                id,
                title,
                asks,
                satisfied,
                reasons: if satisfied { support } else { failures },
                groups: groups_of(id),
            }
        })
        .collect()
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

type Lines = (Vec<String>, Vec<String>);

fn scope(ev: &Evidence) -> Lines {
    let (mut fail, mut ok) = (Vec::new(), Vec::new());
    let s = &ev.scope;
    if s.inventories.is_empty() {
        fail.push(
            "no inventory is declared: list the in-scope components in an `inventory` block".to_string(),
        );
    }
    let mut flagged = BTreeSet::new();
    for inv in &s.inventories {
        let by = inv.reviewed_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
        match (inv.review_status.as_str(), inv.reviewed_on.as_deref()) {
            ("current", Some(on)) => ok.push(format!(
                "inventory `{}` ({} components) reviewed on {on}{by}, within {}",
                inv.name, inv.components, s.review_interval
            )),
            ("missing", _) | (_, None) => {
                flagged.insert(inv.name.as_str());
                fail.push(format!(
                    "inventory `{}` has no review date: set `reviewed_on` and `reviewed_by` after reviewing it",
                    inv.name
                ));
            }
            (status, Some(on)) => {
                flagged.insert(inv.name.as_str());
                fail.push(format!(
                    "inventory `{}`: review {status} (reviewed on {on}{by}; required every {}): review it and update `reviewed_on`",
                    inv.name, s.review_interval
                ));
            }
        }
    }
    for gap in s.coverage_gaps.iter().filter(|g| g.category == "review") {
        if !flagged.contains(gap.subject.as_str()) {
            fail.push(format!("coverage: {}", gap.message));
        }
    }
    let in_scope = s.components.iter().filter(|c| c.inventory.is_some()).count();
    if in_scope == 0 {
        fail.push("no component is in an inventory: nothing is in scope".to_string());
    } else {
        ok.push(format!("{in_scope} components in scope, each mapped to its inventory and vendor"));
    }
    (fail, ok)
}

fn core_metrics(ev: &Evidence) -> Lines {
    let (mut fail, mut ok) = (Vec::new(), Vec::new());
    let comps: Vec<_> = ev.scope.components.iter().filter(|c| c.inventory.is_some()).collect();
    if comps.is_empty() {
        fail.push("no component is in scope, so no core metric is watched".to_string());
    }
    let (mut covered, mut na) = (0usize, 0usize);
    for c in &comps {
        for m in &c.metrics {
            match m.status.as_str() {
                "covered" => covered += 1,
                "not_applicable" => na += 1,
                status => {
                    let why = if m.reasons.is_empty() { status.to_string() } else { m.reasons.join("; ") };
                    fail.push(format!("`{}` {}: {why}", c.name, m.metric));
                }
            }
        }
    }
    if !comps.is_empty() {
        ok.push(format!(
            "every required core metric of the {} in-scope components is alerted ({covered}) or not applicable to its kind ({na})",
            comps.len()
        ));
    }
    (fail, ok)
}

fn thresholds(ev: &Evidence) -> Lines {
    let (mut fail, mut ok) = (Vec::new(), Vec::new());
    let rows = &ev.alert_configuration;
    if rows.is_empty() {
        fail.push("no managed alert: declare `alert` or `baseline` blocks and apply them".to_string());
    }
    for r in rows {
        if r.component.is_some() {
            if r.critical.is_none() {
                fail.push(format!("`{}` has no critical threshold", r.address));
            }
            if r.severity.is_none() {
                fail.push(format!("`{}` has no severity", r.address));
            }
        } else if r.condition.trim().is_empty() {
            fail.push(format!("`{}` has no condition", r.address));
        }
        if r.routes.is_empty() {
            fail.push(format!("`{}` is tied to no route, so to no escalation", r.address));
        }
    }
    let chain = &ev.changes.chain;
    if !chain.intact {
        fail.push(format!(
            "the history's hash chain is broken, so the configuration's record may have been edited: {}",
            chain.problems.join("; ")
        ));
    }
    if !rows.is_empty() {
        ok.push(format!("{} alerts, each with a threshold, a severity and a route", rows.len()));
        ok.push(format!(
            "{} configuration changes in the period, in a history whose hash chain holds ({} entries)",
            ev.changes.entries.len(),
            chain.length
        ));
    }
    (fail, ok)
}

fn notifications(ev: &Evidence) -> Lines {
    let (mut fail, mut ok) = (Vec::new(), Vec::new());
    let rows = &ev.alert_configuration;
    if rows.is_empty() {
        fail.push("no managed alert, so nothing is routed".to_string());
    }
    for r in rows {
        if r.routes.is_empty() {
            fail.push(format!("`{}` notifies no route", r.address));
        } else if r.targets.is_empty() {
            fail.push(format!("`{}`: its routes ({}) deliver to no target", r.address, r.routes.join(", ")));
        }
    }
    let tests: Vec<_> = ev.validations.records.iter().filter(|r| r.kind == "routes-test").collect();
    match tests.iter().max_by(|a, b| a.recorded_at.cmp(&b.recorded_at)) {
        None => fail.push(
            "no route test in the period, so delivery is not verified: run `watchkeep routes test`"
                .to_string(),
        ),
        Some(last) if last.outcome != "pass" => fail.push(format!(
            "the last route test ({}, validations/{}) failed: {}",
            last.recorded_at, last.file, last.summary
        )),
        Some(last) => {
            let routes: BTreeSet<&str> =
                rows.iter().flat_map(|r| r.routes.iter().map(String::as_str)).collect();
            ok.push(format!("every alert notifies a route ({})", plural(routes.len(), "route")));
            ok.push(format!(
                "delivery verified: the last route test ({}, validations/{}) passed: {}",
                last.recorded_at, last.file, last.summary
            ));
        }
    }
    (fail, ok)
}

fn dashboards(ev: &Evidence) -> Lines {
    let (mut fail, mut ok) = (Vec::new(), Vec::new());
    if ev.dashboards.is_empty() {
        fail.push(
            "no dashboard picture: declare a `dashboard` that shows the in-scope components and apply it"
                .to_string(),
        );
    }
    let shown: BTreeSet<&str> =
        ev.dashboards.iter().flat_map(|d| d.components.iter().map(String::as_str)).collect();
    let in_scope: Vec<&str> =
        ev.scope.components.iter().filter(|c| c.inventory.is_some()).map(|c| c.name.as_str()).collect();
    let missing: Vec<&str> = in_scope.iter().copied().filter(|c| !shown.contains(c)).collect();
    if !ev.dashboards.is_empty() && !missing.is_empty() {
        fail.push(format!(
            "in-scope components on no dashboard picture: {}: add them to a dashboard",
            missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    if !ev.dashboards.is_empty() {
        ok.push(format!(
            "{} dashboard pictures, together showing all {} in-scope components, each with its capture time drawn in",
            ev.dashboards.len(),
            in_scope.len()
        ));
    }
    (fail, ok)
}

fn respond(ev: &Evidence) -> Lines {
    let (mut fail, mut ok) = (Vec::new(), Vec::new());
    let log = &ev.alert_log;
    let resolved: Vec<_> = log.incidents.iter().filter(|i| i.resolved_at.is_some()).collect();
    if resolved.is_empty() {
        fail.push(
            "no alert fired and resolved in the period, so there is no sample of a triggered alert and its resolution: choose a period with one".to_string(),
        );
    }
    for i in &resolved {
        if i.notes.is_empty() {
            fail.push(format!(
                "`{}` resolved at {} without a resolution note: add one with `watchkeep alerts note {} \"what was done\"`",
                i.address,
                i.resolved_at.as_deref().unwrap_or_default(),
                i.address
            ));
        }
    }
    if !log.notes_chain.intact {
        fail.push(format!(
            "the notes' hash chain is broken, so a note may have been edited or removed: {}",
            log.notes_chain.problems.join("; ")
        ));
    }
    if !log.not_covered.is_empty() {
        fail.push(format!(
            "no alert history can be read for {} managed alerts, so the log is incomplete: {}",
            log.not_covered.len(),
            log.not_covered.join(", ")
        ));
    }
    if !resolved.is_empty() {
        let notes: usize = resolved.iter().map(|i| i.notes.len()).sum();
        ok.push(format!(
            "{} alerts fired and resolved in the period, each with trigger and resolution timestamps and a resolution note ({notes} notes)",
            resolved.len()
        ));
    }
    (fail, ok)
}

fn validate(ev: &Evidence) -> Lines {
    let (mut fail, mut ok) = (Vec::new(), Vec::new());
    let v = &ev.validations;
    if !v.chain.intact {
        fail.push(format!(
            "the validation records' hash chain is broken, so a record may have been edited or removed: {}",
            v.chain.problems.join("; ")
        ));
    }
    for (kind, command) in [("drift", "drift"), ("coverage", "coverage"), ("routes-test", "routes test")] {
        let of_kind: Vec<_> = v.records.iter().filter(|r| r.kind == kind).collect();
        match of_kind.iter().max_by(|a, b| a.recorded_at.cmp(&b.recorded_at)) {
            None => fail.push(format!(
                "no {kind} record in the period: run `watchkeep {command}` (nightly, for example)"
            )),
            Some(last) => ok.push(format!(
                "{kind}: {}, the last on {} ({}: {})",
                plural(of_kind.len(), "record"),
                last.recorded_at,
                last.outcome,
                last.summary
            )),
        }
    }
    (fail, ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::bundle::fixture::evidence;
    use crate::evidence::{Problem, ScopeGap};

    fn verdict<'a>(v: &'a [Verdict], id: &str) -> &'a Verdict {
        v.iter().find(|x| x.id == id).unwrap()
    }

    /// Only the named requirements fail; each with a reason containing `why`.
    fn fails_only(ev: &Evidence, expect: &[(&str, &str)]) {
        let v = assess(ev);
        for x in &v {
            match expect.iter().find(|(id, _)| *id == x.id) {
                Some((_, why)) => {
                    assert!(!x.satisfied, "{} should fail", x.id);
                    assert!(
                        x.reasons.iter().any(|r| r.contains(why)),
                        "{}: {:#?} lacks {why}",
                        x.id,
                        x.reasons
                    );
                }
                None => assert!(x.satisfied, "{} should hold: {:#?}", x.id, x.reasons),
            }
        }
    }

    #[test]
    fn the_fixture_satisfies_every_step() {
        let v = assess(&evidence());
        assert_eq!(
            v.iter().map(|x| x.id).collect::<Vec<_>>(),
            REQUIREMENTS.iter().map(|r| r.0).collect::<Vec<_>>()
        );
        for x in &v {
            assert!(x.satisfied, "{}: {:#?}", x.id, x.reasons);
            assert!(!x.reasons.is_empty(), "{} says why", x.id);
            assert!(!x.groups.is_empty());
        }
        assert!(verdict(&v, "notifications").reasons.iter().any(|r| r.contains("delivery verified")));
    }

    #[test]
    fn each_gap_fails_its_step() {
        let mut ev = evidence();
        ev.scope.inventories[0].review_status = "overdue".into();
        fails_only(&ev, &[("scope", "review overdue")]);

        let mut ev = evidence();
        ev.scope.components[0].metrics[0].status = "gap".into();
        ev.scope.components[0].metrics[0].reasons = vec!["no alert covers it".into()];
        fails_only(&ev, &[("core-metrics", "`web-1` cpu: no alert covers it")]);

        let mut ev = evidence();
        ev.alert_configuration[0].severity = None;
        fails_only(&ev, &[("thresholds", "has no severity")]);

        let mut ev = evidence();
        ev.alert_configuration[2].routes.clear();
        fails_only(&ev, &[("thresholds", "tied to no route"), ("notifications", "notifies no route")]);

        let mut ev = evidence();
        ev.validations.records.retain(|r| r.kind != "routes-test");
        fails_only(
            &ev,
            &[("notifications", "run `watchkeep routes test`"), ("validate", "no routes-test record")],
        );

        let mut ev = evidence();
        ev.validations.records[2].outcome = "fail".into();
        fails_only(&ev, &[("notifications", "failed")]);

        let mut ev = evidence();
        ev.dashboards.pop();
        fails_only(&ev, &[("dashboards", "`db-1`")]);

        let mut ev = evidence();
        ev.dashboards.clear();
        fails_only(&ev, &[("dashboards", "no dashboard picture")]);

        let mut ev = evidence();
        ev.alert_log.incidents[1].notes.clear();
        fails_only(&ev, &[("respond", "watchkeep alerts note cloudwatch_metric_alarm.db_1_cpu")]);

        let mut ev = evidence();
        ev.alert_log.incidents.clear();
        fails_only(&ev, &[("respond", "no sample of a triggered alert")]);

        let mut ev = evidence();
        ev.alert_log.notes_chain.intact = false;
        ev.alert_log.notes_chain.problems = vec!["note 2 removed".into()];
        fails_only(&ev, &[("respond", "note 2 removed")]);

        let mut ev = evidence();
        ev.validations.chain.intact = false;
        fails_only(&ev, &[("validate", "hash chain is broken")]);

        let mut ev = evidence();
        ev.scope.coverage_gaps.push(ScopeGap {
            category: "route_contact".into(),
            subject: "route.oncall".into(),
            metric: None,
            message: "route `oncall` has no on-call contact".into(),
        });
        fails_only(&ev, &[("notifications", "no on-call contact")]);

        let mut ev = evidence();
        ev.problems.push(Problem { area: "dashboards".into(), message: "Datadog's snapshot failed".into() });
        fails_only(&ev, &[("dashboards", "snapshot failed")]);
    }
}
