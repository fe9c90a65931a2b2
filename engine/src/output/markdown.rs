//! Markdown plans for pull-request comments: a summary line, a table, and the details folded.

use crate::plan::{Action, Plan};

pub fn plan(p: &Plan) -> String {
    let s = &p.summary;
    let mut out = String::new();
    if !p.has_changes() && p.actionable().next().is_none() {
        out.push_str(&format!(
            "### watchkeep plan: no changes\n\nYour monitoring matches the configuration ({} objects).\n",
            s.no_op
        ));
        return out;
    }
    out.push_str(&format!(
        "### watchkeep plan: {} to create, {} to update, {} to replace, {} to destroy\n\n",
        s.create, s.update, s.replace, s.delete
    ));
    out.push_str("| Action | Address | Type | Id | Why |\n|---|---|---|---|---|\n");
    for c in p.actionable() {
        let action = match (c.action, c.adopt) {
            (Action::NoOp, true) => "adopt",
            (Action::Create, _) => "create",
            (Action::Update, _) => "update",
            (Action::Replace, _) => "**replace**",
            (Action::Delete, _) => "**destroy**",
            (Action::NoOp, false) => "none",
        };
        out.push_str(&format!(
            "| {action} | `{}` | {} | {} | {} |\n",
            c.address.replace('|', "\\|"),
            c.resource_type,
            c.id.as_deref().unwrap_or(""),
            c.reason.as_deref().unwrap_or("").replace('|', "\\|")
        ));
    }
    out.push_str("\n<details><summary>Details</summary>\n\n```diff\n");
    let human = super::human::plan(p);
    for line in human.lines() {
        // `diff` highlighting keys on the first character.
        let t = line.trim_start();
        let lead = if t.starts_with("+ ") {
            "+"
        } else if t.starts_with("- ") {
            "-"
        } else if t.starts_with("~ ") || t.starts_with("-/+ ") {
            "!"
        } else {
            " "
        };
        out.push_str(lead);
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("```\n\n</details>\n");
    out
}
