//! `watchkeep coverage` as text: gaps first and named (component, metric, why), then a compact
//! table per component, the inventories' reviews, the contact list and what the vendors said;
//! and as Markdown for pull-request comments.

use crate::run::report::{ComponentCoverage, CoverageReport, MetricCoverage};

fn headline(r: &CoverageReport) -> String {
    let cells: usize = r.components.iter().map(|c| c.metrics.len()).sum();
    let covered = r.components.iter().flat_map(|c| &c.metrics).filter(|m| m.status == "covered").count();
    let na = r.components.iter().flat_map(|c| &c.metrics).filter(|m| m.status == "not_applicable").count();
    let what = format!(
        "{} components, {cells} required metrics ({covered} covered, {na} not applicable), {} inventories, {} routes",
        r.components.len(),
        r.inventories.len(),
        r.contacts.len()
    );
    if r.passed {
        format!("Coverage complete: {what}.")
    } else {
        format!("Coverage gaps: {} ({what}).", r.gaps.len())
    }
}

/// `covered by baseline.soc2: above 90 (explicit) for 5m (catalog default), high → oncall`.
fn cell_detail(m: &MetricCoverage) -> String {
    match m.status.as_str() {
        "covered" => {
            let c = m.covered_by.iter().find(|c| c.problems.is_empty()).unwrap_or(&m.covered_by[0]);
            format!(
                "{} {} {} ({}) for {} ({}), {} ({}) -> {}",
                c.origin,
                c.direction,
                number(c.threshold),
                c.threshold_source,
                c.window,
                c.window_source,
                c.severity,
                c.severity_source,
                c.routes.join(", ")
            )
        }
        _ => m.reasons.join("; "),
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn status_word(s: &str) -> &'static str {
    match s {
        "covered" => "ok",
        "not_applicable" => "n/a",
        _ => "GAP",
    }
}

fn component_line(c: &ComponentCoverage) -> String {
    let inv =
        c.inventory.as_deref().map(|i| format!("inventory {i}")).unwrap_or_else(|| "in no inventory".into());
    format!("{} ({}, {}, {inv})", c.name, c.kind, c.provider)
}

pub fn human(r: &CoverageReport) -> String {
    let mut out = format!("{}\n", headline(r));
    if !r.gaps.is_empty() {
        out.push_str("\nGaps:\n");
        for g in &r.gaps {
            let metric = g.metric.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
            out.push_str(&format!("  x {}{metric} [{}]: {}\n", g.subject, g.category, g.message));
        }
    }
    // Components with a gap first, then the rest; names within each group.
    let mut comps: Vec<&ComponentCoverage> = r.components.iter().collect();
    comps.sort_by_key(|c| (!c.metrics.iter().any(|m| m.status == "gap"), c.name.clone()));
    if !comps.is_empty() {
        out.push_str("\nComponents:\n");
    }
    for c in comps {
        out.push_str(&format!("  {}\n", component_line(c)));
        let width = c.metrics.iter().map(|m| m.metric.len()).max().unwrap_or(0);
        for m in &c.metrics {
            // Gaps are spelt out above; the table names their kind only.
            let detail = if m.status == "gap" {
                let mut cats: Vec<&str> = r
                    .gaps
                    .iter()
                    .filter(|g| g.subject == c.name && g.metric.as_deref() == Some(m.metric.as_str()))
                    .map(|g| g.category.as_str())
                    .collect();
                cats.dedup();
                format!("{} (see above)", cats.join(", "))
            } else {
                cell_detail(m)
            };
            out.push_str(&format!("    {:<4} {:<width$}  {detail}\n", status_word(&m.status), m.metric));
        }
    }
    if !r.inventories.is_empty() {
        out.push_str("\nInventories:\n");
        for i in &r.inventories {
            let when = match (&i.reviewed_on, i.age_days) {
                (Some(d), Some(a)) => format!("reviewed {d} ({a} days ago)"),
                _ => "never reviewed".to_string(),
            };
            let by = i.reviewed_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
            let ok = if i.current { "ok" } else { "GAP" };
            out.push_str(&format!(
                "  {ok:<4} {}: {when}{by}; interval {}\n",
                i.name, r.requirements.review_interval
            ));
        }
    }
    if !r.contacts.is_empty() {
        out.push_str("\nContacts:\n");
        for c in &r.contacts {
            let owner = c.owner.as_deref().unwrap_or("(no owner)");
            let used = if c.used_by.is_empty() {
                "used by no alert".to_string()
            } else {
                format!("used by {}", c.used_by.join(", "))
            };
            out.push_str(&format!("  route.{}: owner {owner}; {}; {used}\n", c.route, c.targets.join(", ")));
            for (n, l) in c.escalation.iter().enumerate() {
                let mut who = Vec::new();
                if let Some(rot) = &l.rotation {
                    who.push(format!("rotation {rot}"));
                }
                if !l.people.is_empty() {
                    who.push(l.people.join(", "));
                }
                out.push_str(&format!("    {}. after {}: {}\n", n + 1, l.after, who.join("; ")));
            }
        }
    }
    if let Some(live) = &r.live {
        out.push_str(&format!("\nVendors (reporting within {}):\n", live.window));
        for v in &live.vendors {
            if v.status == "cannot_tell" {
                out.push_str(&format!(
                    "  {}: cannot tell (this provider cannot report what it sees yet)\n",
                    v.vendor
                ));
                continue;
            }
            let reporting = v.components.iter().filter(|c| c.reporting).count();
            out.push_str(&format!(
                "  {}: {reporting} of {} components reporting, {} unknown, {} alerts in No Data\n",
                v.vendor,
                v.components.len(),
                v.unknown.len(),
                v.no_data.len()
            ));
        }
    }
    out
}

fn cell(s: &str) -> String {
    // `<` would open an HTML tag in a pull-request comment.
    s.replace('|', "\\|").replace('\n', " ").replace('<', "&lt;")
}

pub fn markdown(r: &CoverageReport) -> String {
    let mut out = format!("### watchkeep coverage: {}\n\n", if r.passed { "no gaps" } else { "gaps found" });
    out.push_str(&format!("{}\n", headline(r)));
    if !r.gaps.is_empty() {
        out.push_str("\n| What | Metric | Gap | Why |\n|---|---|---|---|\n");
        for g in &r.gaps {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                cell(&g.subject),
                g.metric.as_deref().unwrap_or(""),
                g.category,
                cell(&g.message)
            ));
        }
    }
    out.push_str("\n<details><summary>Every component</summary>\n\n| Component | Kind | Vendor | Metric | Status | Detail |\n|---|---|---|---|---|---|\n");
    for c in &r.components {
        for m in &c.metrics {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                cell(&c.name),
                c.kind,
                c.provider,
                m.metric,
                status_word(&m.status),
                cell(&cell_detail(m))
            ));
        }
    }
    out.push_str("\n</details>\n");
    if !r.contacts.is_empty() {
        out.push_str(
            "\n<details><summary>Contact list</summary>\n\n| Route | Owner | Escalation |\n|---|---|---|\n",
        );
        for c in &r.contacts {
            let levels: Vec<String> = c
                .escalation
                .iter()
                .map(|l| {
                    let mut who =
                        l.rotation.clone().map(|r| vec![format!("rotation {r}")]).unwrap_or_default();
                    who.extend(l.people.iter().cloned());
                    format!("{}: {}", l.after, who.join(", "))
                })
                .collect();
            out.push_str(&format!(
                "| `route.{}` | {} | {} |\n",
                cell(&c.route),
                cell(c.owner.as_deref().unwrap_or("**none**")),
                cell(&if levels.is_empty() { "**none**".to_string() } else { levels.join("; ") })
            ));
        }
        out.push_str("\n</details>\n");
    }
    out
}
