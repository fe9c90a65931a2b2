//! `routes test` as human text and Markdown.

use crate::run::report::{RoutesTestReport, TargetTestResult, TargetTestStatus};

fn status_word(s: TargetTestStatus) -> &'static str {
    match s {
        TargetTestStatus::Delivered => "delivered",
        TargetTestStatus::Rejected => "REJECTED",
        TargetTestStatus::Failed => "FAILED",
        TargetTestStatus::NotDelivering => "NOT DELIVERING",
        TargetTestStatus::Untested => "UNTESTED",
    }
}

fn details(t: &TargetTestResult) -> String {
    let mut parts = Vec::new();
    if let Some(k) = &t.dedup_key {
        parts.push(format!("dedup_key {k}"));
    }
    if t.attempts > 0 {
        parts.push(format!("{} request{}", t.attempts, if t.attempts == 1 { "" } else { "s" }));
    }
    match t.resolved {
        Some(true) => parts.push("resolved".to_string()),
        Some(false) => parts.push("resolve refused".to_string()),
        None => {}
    }
    if let Some(a) = &t.address {
        parts.push(format!("via {a}"));
    }
    parts.join(", ")
}

/// Human text: one line per target, then the summary.
pub fn human(r: &RoutesTestReport) -> String {
    let mut out = String::new();
    for route in &r.routes {
        out.push_str(&format!("route.{}\n", route.route));
        for t in &route.targets {
            let mark = if t.status == TargetTestStatus::Delivered { "✓" } else { "✗" };
            out.push_str(&format!("  {mark} {}: {}\n", t.target, status_word(t.status)));
            out.push_str(&format!("      {}\n", t.answer));
            let d = details(t);
            if !d.is_empty() {
                out.push_str(&format!("      ({d})\n"));
            }
        }
    }
    out.push('\n');
    out.push_str(&format!(
        "{}: {}\n",
        if r.passed { "Routes verified" } else { "Routes NOT verified" },
        r.summary
    ));
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown: a table per run, for a pull-request comment or the evidence folder.
pub fn markdown(r: &RoutesTestReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "### watchkeep routes test: {}\n\n{}\n\n",
        if r.passed { "all targets delivered" } else { "NOT verified" },
        cell(&r.summary)
    ));
    out.push_str("| route | target | status | answer | dedup key | requests | resolved |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for route in &r.routes {
        for t in &route.targets {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                cell(&route.route),
                cell(&t.target),
                status_word(t.status),
                cell(&t.answer),
                t.dedup_key.as_deref().map(|k| format!("`{}`", cell(k))).unwrap_or_default(),
                t.attempts,
                match t.resolved {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "n/a",
                }
            ));
        }
    }
    out.push_str(&format!("\nTested at {}.\n", r.tested_at));
    out
}
