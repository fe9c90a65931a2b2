//! The README's HCL snippets: every one parses, and the `maintenance` / `datadog_downtime`
//! snippets load and compile against a small inventory (so the documented attributes are the
//! ones the loader accepts).

use std::path::Path;

use watchkeep::config::{format_source, load, LoadOptions};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README.md")
}

/// The text of every ```hcl fenced block, with its first line number.
fn hcl_snippets(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```hcl") => current = Some((i + 2, String::new())),
            Some(_) if line.trim_start().starts_with("```") => out.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_readme_hcl_snippet_parses() {
    let snippets = hcl_snippets(&readme());
    assert!(snippets.len() >= 3, "found {} snippets", snippets.len());
    for (line, text) in &snippets {
        if let Err(d) = format_source(text, Path::new("README.md")) {
            panic!("README.md snippet at line {line} does not parse: {d:?}\n{text}");
        }
    }
}

#[test]
fn readme_maintenance_snippets_load_and_compile() {
    let snippets = hcl_snippets(&readme());
    let pick = |needle: &str| -> String {
        snippets.iter().find(|(_, t)| t.contains(needle)).map(|(_, t)| t.clone()).unwrap_or_else(|| {
            panic!("no README snippet with `{needle}`");
        })
    };
    let window = pick("maintenance \"patch_window\"");
    let downtime = pick("resource \"datadog_downtime\"");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.hcl"),
        r#"
provider "datadog" {}
inventory "production" {}
component "web-1" {
  inventory = inventory.production
  kind      = "server"
  provider  = "datadog"
}
baseline "soc2" { scope = inventory.production }
alert "cpu_saturated" {
  scope  = inventory.production
  metric = "cpu"
  above  = 95
}
"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("window.hcl"), window).unwrap();
    std::fs::write(dir.path().join("downtime.hcl"), downtime).unwrap();
    let (cfg, _) = load(&LoadOptions::new(dir.path())).unwrap_or_else(|d| panic!("{d:?}"));
    let objects = watchkeep::compile::compile(&cfg).unwrap_or_else(|d| panic!("{d:?}"));
    let raw = objects.iter().find(|o| o.address == "datadog_downtime.db_upgrade").expect("raw downtime");
    assert_eq!(raw.attrs["monitor_identifier"]["monitor_tags"][0], "service:orders-db");
    assert_eq!(raw.attrs["schedule"]["end"], "2026-12-06T03:00:00Z");
    let compiled: Vec<&str> = objects
        .iter()
        .filter(|o| o.origin.as_deref() == Some("maintenance.patch_window"))
        .map(|o| o.address.as_str())
        .collect();
    assert_eq!(
        compiled,
        [
            r#"maintenance.patch_window["web-1"].alert.cpu_saturated"#,
            r#"maintenance.patch_window["web-1"].baseline.soc2"#
        ]
    );
}

/// Issue 15: the intro snippet once had `pagerduty { service = "…"  routing_key = … }`, two
/// attributes in a one-line block, which HCL rejects. The check above catches that form, in a
/// top-level fence and in an indented one (list items).
#[test]
fn the_snippet_check_catches_a_one_line_block_with_two_attributes() {
    let bad = "route \"oncall\" {\n  pagerduty { service = \"platform-oncall\"  routing_key = var.key }\n}\n";
    let good = "route \"oncall\" {\n  pagerduty {\n    service     = \"platform-oncall\"\n    routing_key = var.key\n  }\n}\n";
    let text = format!("intro\n\n```hcl\n{bad}```\n\n- item:\n\n  ```hcl\n  {good}  ```\n");
    let snippets = hcl_snippets(&text);
    assert_eq!(snippets.len(), 2);
    assert_eq!(snippets[0].0, 4, "first line of the first snippet");
    assert!(
        format_source(&snippets[0].1, Path::new("README.md")).is_err(),
        "two attributes on one line must fail"
    );
    assert!(format_source(good, Path::new("README.md")).is_ok());
}
