//! Markdown plans for pull-request comments: a summary line, a table, and the details folded.
//!
//! Everything that comes from the configuration or a vendor (addresses, `for_each` keys, ids,
//! types, reasons, the details) is written so that it cannot become Markdown or HTML in the
//! comment: table cells are code spans whose backtick fence is longer than any run inside, or
//! text with every Markdown punctuation character escaped and `@` kept from making a mention;
//! the details block's fence is longer than any backtick run in it.

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
            "| {action} | {} | {} | {} | {} |\n",
            code_cell(&c.address),
            code_cell(&c.resource_type),
            c.id.as_deref().map(code_cell).unwrap_or_default(),
            text(c.reason.as_deref().unwrap_or(""))
        ));
    }
    let human = super::human::plan(p);
    let fence = "`".repeat(longest_backtick_run(&human).max(2) + 1);
    out.push_str(&format!("\n<details><summary>Details</summary>\n\n{fence}diff\n"));
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
    out.push_str(&format!("{fence}\n\n</details>\n"));
    out
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `s` as a code span in a table cell: one line, fenced by more backticks than any run inside
/// (padded with spaces, as CommonMark strips one from each side), `|` escaped as GFM tables need
/// even inside code spans.
fn code_cell(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let fence = "`".repeat(longest_backtick_run(&one_line) + 1);
    // A space on each side keeps a leading or trailing backtick off the fence (stripped again).
    let pad = if one_line.starts_with('`') || one_line.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", one_line.replace('|', "\\|"))
}

/// `s` as plain text: every ASCII punctuation character that Markdown or HTML could give a
/// meaning is backslash-escaped, control characters become spaces, and a zero-width space
/// after `@` keeps GitHub from turning `@name` into a mention.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '@' => out.push_str("@\u{200B}"),
            c if c.is_control() => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use pulldown_cmark::{Event, Options, Parser, Tag};

    use super::*;
    use crate::plan::{ResourceChange, Summary};

    const HOSTILE: &str = "x` **bold** @admin ![i](http://e/x.png) [l](http://e) <img src=x> | ```";

    fn change(address: &str, action: Action) -> ResourceChange {
        ResourceChange {
            address: address.into(),
            resource_type: "datadog_monitor".into(),
            provider: "datadog".into(),
            origin: None,
            action,
            id: Some(format!("1{HOSTILE}")),
            reason: Some(format!("changed outside watchkeep: {HOSTILE}")),
            adopt: false,
            already_gone: false,
            before: None,
            after: Some(serde_json::json!({ "message": HOSTILE })),
            attribute_changes: Vec::new(),
            after_hash: None,
            sensitive_paths: Vec::new(),
            links: Vec::new(),
        }
    }

    /// A `for_each` key, an id, a reason and a body full of Markdown: rendered as GitHub would
    /// parse it, none of it is emphasis, a link, an image or HTML, and `@admin` is no mention.
    #[test]
    fn content_from_configuration_or_vendors_stays_text() {
        let plan = Plan {
            format_version: 1,
            watchkeep_version: "0".into(),
            created: "now".into(),
            lineage: None,
            serial: 0,
            destroy: false,
            refreshed: true,
            targets: Vec::new(),
            summary: Summary { create: 1, update: 1, ..Summary::default() },
            changes: vec![
                change(&format!("resource.datadog_monitor.m[\"{HOSTILE}\"]"), Action::Create),
                change("resource.datadog_monitor.n", Action::Update),
            ],
            conflicts: Vec::new(),
            endpoints: Default::default(),
        };
        let md = super::plan(&plan);
        let mut opts = Options::empty();
        opts.insert(Options::ENABLE_TABLES);
        let mut rows = 0;
        let mut code_blocks = 0;
        let mut in_block = false;
        for event in Parser::new_ext(&md, opts) {
            match event {
                Event::Start(Tag::Emphasis | Tag::Strong | Tag::Link { .. } | Tag::Image { .. }) => {
                    panic!("content became Markdown: {event:?}\n{md}")
                }
                Event::Html(h) | Event::InlineHtml(h) => {
                    let h = h.trim();
                    assert!(
                        matches!(h, "<details>" | "<summary>" | "</summary>" | "</details>")
                            || h.starts_with("<details><summary>"),
                        "content became HTML: {h}\n{md}"
                    );
                }
                // GitHub makes no mentions inside code; elsewhere the zero-width space prevents it.
                Event::Text(t) if !in_block => assert!(!t.contains("@admin"), "a mention: {t}"),
                Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_block = false,
                Event::Start(Tag::TableRow) => rows += 1,
                Event::Start(Tag::CodeBlock(_)) => {
                    code_blocks += 1;
                    in_block = true;
                }
                _ => {}
            }
        }
        assert_eq!(rows, 2, "one row per change, none broken by `|` or a newline:\n{md}");
        assert_eq!(code_blocks, 1, "the details stay one block:\n{md}");
        // The test can fail: the same content written naively is Markdown.
        let naive = format!("| `{HOSTILE}` |");
        assert!(
            Parser::new_ext(&naive, opts).any(|e| matches!(e, Event::Start(Tag::Strong | Tag::Image { .. })))
        );
    }
}
