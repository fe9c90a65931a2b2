//! Human-readable plans, in Terraform's habits: one block per changed object, per-attribute
//! changes, and line diffs for long strings such as queries and messages; and the human text of
//! every other command's report.

use serde_json::Value;

use crate::plan::{Action, AttrChange, Plan, ResourceChange};
use crate::run::report::{
    AlertLog, ApplyOutput, DriftReport, ForceUnlockOutput, StateListItem, StateRmOutput, VersionOutput,
};
use crate::state::{HistoryEntry, ResourceState, State};

/// Strings longer than this (or multi-line) are shown as a text diff.
const LONG: usize = 60;

pub fn plan(p: &Plan) -> String {
    let mut out = String::new();
    if !p.refreshed {
        out.push_str("Note: planned without refreshing live state (-refresh=false).\n\n");
    }
    let changed: Vec<&ResourceChange> = p.actionable().collect();
    if changed.is_empty() {
        out.push_str(&format!(
            "No changes. Your monitoring matches the configuration ({} objects).\n",
            p.summary.no_op
        ));
        return out;
    }
    out.push_str("watchkeep will perform the following actions:\n\n");
    for c in changed {
        render_change(&mut out, c);
        out.push('\n');
    }
    let s = &p.summary;
    out.push_str(&format!(
        "Plan: {} to create, {} to update, {} to replace, {} to destroy ({} unchanged).\n",
        s.create, s.update, s.replace, s.delete, s.no_op
    ));
    out
}

pub fn headline(c: &ResourceChange) -> String {
    let id = c.id.as_deref().map(|i| format!(" [id {i}]")).unwrap_or_default();
    let what = match (c.action, c.adopt) {
        (Action::NoOp, true) => "will be adopted into state".to_string(),
        (Action::Update, true) => "will be adopted and updated in place".to_string(),
        (Action::Delete, _) if c.already_gone => "will be removed from state".to_string(),
        (a, _) => format!("will be {}", a.verb()),
    };
    format!("{} ({}){id} {what}", c.address, c.resource_type)
}

fn render_change(out: &mut String, c: &ResourceChange) {
    out.push_str(&format!("  # {}\n", headline(c)));
    if let Some(r) = &c.reason {
        out.push_str(&format!("  # ({r})\n"));
    }
    if let Some(o) = &c.origin {
        out.push_str(&format!("  # from {o}\n"));
    }
    let sym = c.action.symbol();
    out.push_str(&format!("  {sym} {} {{\n", c.resource_type));
    match c.action {
        Action::Create => {
            for a in &c.attribute_changes {
                attr_line(out, "+", &a.path, a.after.as_ref());
            }
        }
        Action::Delete => {
            for a in &c.attribute_changes {
                attr_line(out, "-", &a.path, a.before.as_ref());
            }
        }
        _ => {
            for a in &c.attribute_changes {
                change_line(out, a);
            }
        }
    }
    out.push_str("    }\n");
}

fn fmt_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn is_long(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::String(s)) if s.len() > LONG || s.contains('\n'))
}

fn attr_line(out: &mut String, sym: &str, path: &str, v: Option<&Value>) {
    match v {
        Some(Value::String(s)) if s.contains('\n') => {
            out.push_str(&format!("      {sym} {path} = <<-EOT\n"));
            for l in s.lines() {
                out.push_str(&format!("            {l}\n"));
            }
            out.push_str("        EOT\n");
        }
        Some(v) => out.push_str(&format!("      {sym} {path} = {}\n", fmt_value(v))),
        None => {}
    }
}

fn change_line(out: &mut String, a: &AttrChange) {
    let forces = if a.replace { " # forces replacement" } else { "" };
    match (&a.before, &a.after) {
        (None, Some(v)) => {
            attr_line(out, "+", &a.path, Some(v));
        }
        (Some(v), None) => {
            attr_line(out, "-", &a.path, Some(v));
        }
        (Some(b), Some(n)) if is_long(Some(b)) || is_long(Some(n)) => {
            let (bs, ns) = (
                b.as_str().map(str::to_string).unwrap_or_else(|| b.to_string()),
                n.as_str().map(str::to_string).unwrap_or_else(|| n.to_string()),
            );
            out.push_str(&format!("      ~ {}:{forces}\n", a.path));
            out.push_str(&text_diff(&bs, &ns, "          "));
        }
        (Some(b), Some(n)) => {
            out.push_str(&format!("      ~ {} = {} -> {}{forces}\n", a.path, fmt_value(b), fmt_value(n)));
        }
        (None, None) => {}
    }
}

/// A line diff (multi-line strings) or a -/+ pair (long single lines), indented.
pub fn text_diff(before: &str, after: &str, indent: &str) -> String {
    let mut out = String::new();
    if !before.contains('\n') && !after.contains('\n') {
        out.push_str(&format!("{indent}- {before}\n{indent}+ {after}\n"));
        return out;
    }
    let diff = similar::TextDiff::from_lines(before, after);
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => " ",
        };
        out.push_str(&format!("{indent}{sign} {}", change.value()));
        if change.missing_newline() {
            out.push('\n');
        }
    }
    out
}

/// The closing lines of `apply` / `destroy`.
pub fn apply_summary(out: &ApplyOutput, interrupted: bool, destroy: bool) -> String {
    let partial = !out.errors.is_empty() || interrupted;
    let c = &out.counts;
    let head = if interrupted {
        "Apply interrupted"
    } else if partial {
        "Apply finished with errors"
    } else if destroy {
        "Destroy complete"
    } else {
        "Apply complete"
    };
    let mut text = format!(
        "\n{head}! Resources: {} created, {} updated, {} replaced, {} destroyed.\n",
        c.create, c.update, c.replace, c.delete
    );
    if let Some(v) = out.history_version {
        text.push_str(&format!("State serial {} recorded as history version {v}.\n", out.serial));
    }
    text
}

/// What did not complete in a partial apply (for stderr).
pub fn apply_errors(out: &ApplyOutput, interrupted: bool) -> String {
    let mut msg = String::new();
    for e in &out.errors {
        msg.push_str(&format!("  {}: {}\n", e.address, e.message));
    }
    if interrupted {
        msg.push_str("  interrupted before every change was made\n");
    }
    format!(
        "Error: {} operation(s) did not complete:\n{msg}State holds exactly what was done; fix the cause and run `watchkeep apply` again to converge.\n",
        out.errors.len() + usize::from(interrupted && out.errors.is_empty())
    )
}

fn short(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(Value::String(s)) if s.len() > 60 || s.contains('\n') => {
            let first = s.lines().next().unwrap_or("");
            format!("\"{}…\"", first.chars().take(57).collect::<String>())
        }
        Some(v) => v.to_string(),
    }
}

/// Both sides of a changed value, shortened. Two long strings are cut around where they first
/// differ (shown as `…` on each cut side, newlines as `\n`), so a change past the 57th character
/// does not read as two identical strings.
fn short_pair(before: &Option<Value>, after: &Option<Value>) -> (String, String) {
    const WIDTH: usize = 57;
    const CONTEXT: usize = 20;
    let (Some(Value::String(a)), Some(Value::String(b))) = (before, after) else {
        return (short(before), short(after));
    };
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() <= WIDTH && b.len() <= WIDTH && !a.contains(&'\n') && !b.contains(&'\n') {
        return (short(before), short(after));
    }
    let first_diff = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let start = first_diff.saturating_sub(CONTEXT);
    let window = |s: &[char]| {
        let end = (start + WIDTH).min(s.len());
        let text: String = s[start.min(s.len())..end]
            .iter()
            .map(|c| if *c == '\n' { "\\n".to_string() } else { c.to_string() })
            .collect();
        format!("\"{}{text}{}\"", if start > 0 { "…" } else { "" }, if end < s.len() { "…" } else { "" })
    };
    (window(&a), window(&b))
}

/// The drift report.
pub fn drift(r: &DriftReport) -> String {
    let mut out = String::new();
    if !r.drift {
        out.push_str(&format!("No drift: all {} managed objects match the vendors.\n", r.in_sync));
        return out;
    }
    out.push_str(&format!(
        "Drift detected: {} edited, {} deleted, {} unmanaged ({} in sync).\n\n",
        r.edited.len(),
        r.deleted.len(),
        r.unmanaged.len(),
        r.in_sync
    ));
    for e in &r.edited {
        out.push_str(&format!(
            "  ~ {} ({} {}) was edited outside watchkeep\n",
            e.address, e.resource_type, e.id
        ));
        for c in &e.attribute_changes {
            let (before, after) = short_pair(&c.before, &c.after);
            out.push_str(&format!("      ~ {}: {before} -> {after}\n", c.path));
        }
    }
    for d in &r.deleted {
        out.push_str(&format!(
            "  - {} ({} {}) was deleted outside watchkeep\n",
            d.address, d.resource_type, d.id
        ));
    }
    for u in &r.unmanaged {
        let name = u.name.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
        let why = match u
            .marker
            .as_deref()
            .filter(|_| u.has_watchkeep_marker)
            .map(watchkeep_provider::split_marker)
        {
            Some((Some(owner), _)) => {
                format!("carries the marker of watchkeep state {owner} and is not in this state")
            }
            Some((None, _)) | None if u.has_watchkeep_marker => {
                "carries watchkeep's marker but is not in this state".to_string()
            }
            _ => "is not managed by watchkeep".to_string(),
        };
        out.push_str(&format!("  ? {} {}{name} {why}\n", u.resource_type, u.id));
    }
    out.push_str(
        "\nRun `watchkeep plan` to see how watchkeep would restore the edited and deleted objects.\n",
    );
    out
}

/// The alert log.
pub fn alerts(log: &AlertLog) -> String {
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

/// `show` without a plan file: a summary of the state.
pub fn state_summary(state: Option<&State>) -> String {
    let Some(s) = state else {
        return "No state yet. Run `watchkeep apply` to create it.\n".to_string();
    };
    let mut out =
        format!("# state serial {}, lineage {}, {} resources\n", s.serial, s.lineage, s.resources.len());
    for r in &s.resources {
        out.push_str(&format!("{}  {} {}  (changed {})\n", r.address, r.resource_type, r.id, r.changed_at));
    }
    out
}

/// One history version in full.
pub fn history_entry(e: &HistoryEntry) -> String {
    let mut out = format!(
        "version {}  {}  {} by {}  serial {}  outcome {}\n",
        e.version, e.timestamp, e.operation, e.actor, e.serial, e.outcome
    );
    if let Some(r) = &e.source_revision {
        out.push_str(&format!("source revision {r}\n"));
    }
    out.push_str(&format!(
        "{} created, {} updated, {} replaced, {} destroyed\n",
        e.counts.create, e.counts.update, e.counts.replace, e.counts.delete
    ));
    for c in &e.changes {
        let attrs = if c.changed_attributes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", c.changed_attributes.join(", "))
        };
        out.push_str(&format!("  {:<8} {} {}{attrs}\n", c.action, c.address, c.id.as_deref().unwrap_or("")));
    }
    out
}

/// The list of history versions.
pub fn history(entries: &[HistoryEntry]) -> String {
    if entries.is_empty() {
        return "No history yet.\n".to_string();
    }
    let mut out = format!(
        "{:<8} {:<26} {:<10} {:<7} {:<28} changes\n",
        "version", "timestamp", "operation", "serial", "actor"
    );
    for e in entries {
        let c = &e.counts;
        out.push_str(&format!(
            "{:<8} {:<26} {:<10} {:<7} {:<28} +{} ~{} -/+{} -{}{}\n",
            e.version,
            e.timestamp,
            e.operation,
            e.serial,
            e.actor,
            c.create,
            c.update,
            c.replace,
            c.delete,
            if e.outcome == "complete" { String::new() } else { format!(" ({})", e.outcome) }
        ));
    }
    out
}

/// `state list`: one address a line.
pub fn state_list(items: &[StateListItem]) -> String {
    items.iter().map(|i| format!("{}\n", i.address)).collect()
}

/// `state show`: one resource.
pub fn state_show(r: &ResourceState) -> String {
    let mut out = format!("# {} ({} {})\n", r.address, r.resource_type, r.id);
    if let Some(o) = &r.origin {
        out.push_str(&format!("origin           = {o}\n"));
    }
    out.push_str(&format!("provider         = {}\n", r.provider));
    out.push_str(&format!("changed_at       = {}\n", r.changed_at));
    if let Some(m) = &r.vendor_modified {
        out.push_str(&format!("vendor_modified  = {m}\n"));
    }
    out.push_str(&format!(
        "attrs            = {}\n",
        serde_json::to_string_pretty(&r.attrs).unwrap_or_default()
    ));
    out
}

/// `state rm`: one line per forgotten resource.
pub fn state_rm(out: &StateRmOutput) -> String {
    out.removed
        .iter()
        .map(|r| {
            format!(
                "Removed {} from state (the vendor object {} was left alone).\n",
                r.address,
                r.id.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

/// `force-unlock`.
pub fn force_unlock(out: &ForceUnlockOutput) -> String {
    match &out.removed {
        None => "The state is not locked.\n".to_string(),
        Some(l) => format!("Removed lock {} held by {} since {}.\n", l.id, l.holder, l.created),
    }
}

/// `version`.
pub fn version(v: &VersionOutput) -> String {
    format!(
        "watchkeep v{}\nstate format {}, plan format {}; providers: {}\n",
        v.version,
        v.state_format_version,
        v.plan_format_version,
        v.providers.join(", ")
    )
}

/// The validation records and the state of their hash chain.
pub fn validations(r: &crate::run::report::ChainReport) -> String {
    let mut out = String::new();
    if r.records.is_empty() {
        out.push_str(&format!("No validation records yet in {}.\n", r.dir));
    } else {
        out.push_str(&format!(
            "{:<8} {:<25} {:<12} {:<8} summary\n",
            "record", "recorded at", "kind", "outcome"
        ));
        for rec in &r.records {
            out.push_str(&format!(
                "{:<8} {:<25} {:<12} {:<8} {}\n",
                rec.sequence.map(|s| format!("{s:06}")).unwrap_or_else(|| "legacy".into()),
                rec.recorded_at.as_deref().unwrap_or("-"),
                rec.kind,
                rec.outcome,
                rec.summary
            ));
        }
    }
    if r.chain_intact {
        out.push_str(&format!("\nChain intact: {} records in {}.\n", r.records.len(), r.dir));
    } else {
        out.push_str(&format!("\nChain BROKEN in {}:\n", r.dir));
        for p in &r.problems {
            out.push_str(&format!("  - {p}\n"));
        }
    }
    out
}

/// `evidence`: what the bundle holds and where to start reading it.
pub fn evidence(o: &crate::run::report::EvidenceOutput) -> String {
    let c = &o.counts;
    let mut out = format!(
        "Evidence for {} … {} written to {} ({} files).\n",
        o.period.from,
        o.period.to,
        o.out,
        o.files.len()
    );
    out.push_str(&format!(
        "  scope:               {} components, {}\n",
        c.components,
        if c.coverage_gaps == 0 {
            "coverage complete".to_string()
        } else {
            format!("{} coverage gaps", c.coverage_gaps)
        }
    ));
    out.push_str(&format!("  alert configuration: {} alerts\n", c.alerts));
    out.push_str(&format!("  changes:             {} history entries in the period\n", c.changes));
    out.push_str(&format!(
        "  alert log:           {} incidents ({} resolved, {} with notes), {} state changes\n",
        c.incidents, c.resolved_incidents, c.incidents_with_notes, c.alert_events
    ));
    out.push_str(&format!("  validations:         {} records in the period\n", c.validation_records));
    out.push_str(&format!("  dashboards:          {} dated pictures\n", c.dashboards));
    if o.problems.is_empty() {
        out.push_str("Complete: every chain intact, every vendor answered.\n");
    } else {
        out.push_str(&format!("INCOMPLETE: {} problems (listed first in the index):\n", o.problems.len()));
        for p in &o.problems {
            out.push_str(&format!("  - {}: {}\n", p.area, p.message));
        }
    }
    out.push_str(&format!("Start reading at {} (or {}).\n", o.index_html, o.index_md));
    out
}

/// `alerts note`: the note as recorded.
pub fn note(o: &crate::run::notes::NoteOutput) -> String {
    format!(
        "Noted on {} at {} by {} (record {:06}):\n  {}\n",
        o.note.address,
        o.noted_at,
        o.note.author,
        o.sequence,
        o.note.text.replace('\n', "\n  ")
    )
}

/// `watchkeep import`: what was (or would be) imported, skipped and refused; the HCL on a dry run.
pub fn import(o: &crate::run::report::ImportOutput) -> String {
    let mut text = String::new();
    if o.dry_run && !o.hcl.is_empty() {
        text.push_str(&format!("# {} (not written: --dry-run)\n", o.file));
        text.push_str(&o.hcl);
        text.push('\n');
    }
    let verb = if o.dry_run { "Would import" } else { "Imported" };
    text.push_str(&format!("{verb} {} object(s)", o.imported.len()));
    if !o.dry_run && !o.imported.is_empty() {
        text.push_str(&format!(" into {}", o.file));
    }
    text.push_str(":\n");
    for i in &o.imported {
        text.push_str(&format!("  + {} (id {}, {:?})\n", i.address, i.id, i.name));
        if let Some(n) = &i.note {
            text.push_str(&format!("      note: {n}\n"));
        }
    }
    if !o.skipped.is_empty() {
        text.push_str(&format!("Skipped {} object(s):\n", o.skipped.len()));
        for s in &o.skipped {
            text.push_str(&format!("  = {} {} ({:?}): {}\n", s.resource_type, s.id, s.name, s.reason));
        }
    }
    if !o.refused.is_empty() {
        text.push_str(&format!("Refused {} object(s) owned by another watchkeep state:\n", o.refused.len()));
        for s in &o.refused {
            text.push_str(&format!("  ! {} {} ({:?}): {}\n", s.resource_type, s.id, s.name, s.reason));
        }
    }
    for n in &o.notes {
        text.push_str(&format!("Note: {n}\n"));
    }
    let p = &o.plan;
    text.push_str(&format!(
        "Plan: {} to adopt ({} updated in place to carry this state's marker, {} unchanged).\n",
        p.update + p.no_op,
        p.update,
        p.no_op
    ));
    if let Some(v) = o.history_version {
        text.push_str(&format!(
            "Recorded as history version {v} (operation import). `watchkeep plan` now shows no changes.\n"
        ));
    }
    for e in &o.errors {
        text.push_str(&format!("  error: {}: {}\n", e.address, e.message));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_strings_are_cut_where_they_differ() {
        let before = Some(json!("avg(last_5m):100 - 100 * avg:system.mem.pct_usable{host:web-1} > 90"));
        let after = Some(json!("avg(last_5m):100 - 100 * avg:system.mem.pct_usable{host:web-1} > 97"));
        let (b, a) = short_pair(&before, &after);
        assert_ne!(b, a, "the shown parts must differ");
        assert!(b.ends_with("> 90\"") && a.ends_with("> 97\""), "{b} / {a}");
        assert!(b.starts_with("\"…"), "{b}");
        // Short values and non-strings are shown whole.
        assert_eq!(short_pair(&Some(json!("a")), &Some(json!("b"))), ("\"a\"".into(), "\"b\"".into()));
        assert_eq!(short_pair(&Some(json!(90)), &None), ("90".into(), "(absent)".into()));
        // A difference after a newline shows the newline escaped.
        let (b, a) = short_pair(&Some(json!("line one\nline two x")), &Some(json!("line one\nline two y")));
        assert!(b.contains("\\n") && b.contains('x') && a.contains('y'), "{b} / {a}");
    }
}
