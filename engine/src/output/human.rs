//! Human-readable plans, in Terraform's habits: one block per changed object, per-attribute
//! changes, and line diffs for long strings such as queries and messages.

use serde_json::Value;

use crate::plan::{Action, AttrChange, Plan, ResourceChange};

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
