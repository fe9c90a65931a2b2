//! Issue 15, items 4 and 5 end to end: the memory bombs of the issue are refused by `validate`
//! with a located error in under 2 s and 200 MB (peak RSS of the real binary, read from
//! `/proc/<pid>/status` while it runs), and a value derived from an environment variable never
//! reaches any output or file although the configuration does not mark it sensitive.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// Peak resident set size (VmHWM) of a running process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct Measured {
    code: Option<i32>,
    stderr: String,
    wall: Duration,
    peak_kib: u64,
}

/// Runs `watchkeep validate` in `dir`, polling its peak RSS until it exits.
fn validate_measured(ws: &Workspace) -> Measured {
    let mut cmd = ws.command(&["validate"]);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn watchkeep");
    let pid = child.id();
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Some(k) = vm_hwm_kib(pid) {
            peak = peak.max(k);
        }
        match child.try_wait().expect("wait") {
            Some(s) => break s,
            // Polling, not sleeping for a result: the process's own exit ends the loop.
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    };
    let wall = start.elapsed();
    Measured { code: status.code(), stderr: reader.join().unwrap_or_default(), wall, peak_kib: peak }
}

fn write_tree(root: &Path, files: &[(String, String)]) {
    for (name, text) in files {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn assert_refused(name: &str, files: &[(String, String)], needle: &str, location: &str) {
    let ws = Workspace::new(name);
    write_tree(ws.path(), files);
    let m = validate_measured(&ws);
    println!(
        "bomb {name}: exit {:?}, {:.3} s, peak RSS {:.1} MB",
        m.code,
        m.wall.as_secs_f64(),
        m.peak_kib as f64 / 1024.0
    );
    assert_eq!(m.code, Some(1), "{}", m.stderr);
    assert!(m.stderr.contains(needle), "{name}: no `{needle}` in:\n{}", m.stderr);
    assert!(m.stderr.contains(location), "{name}: not located at {location}:\n{}", m.stderr);
    assert!(m.wall < Duration::from_secs(2), "{name}: took {:?}", m.wall);
    assert!(m.peak_kib > 0, "{name}: RSS was never read");
    assert!(m.peak_kib < 200 * 1024, "{name}: peak RSS {} KiB", m.peak_kib);
}

#[test]
fn forty_locals_each_doubling_a_string() {
    let mut text = "locals {\n  s0 = \"xxxxxxxxxxxxxxxx\"\n".to_string();
    for i in 1..=40 {
        text.push_str(&format!("  s{i} = \"${{local.s{}}}${{local.s{}}}\"\n", i - 1, i - 1));
    }
    text.push_str("}\n");
    assert_refused("bomb-strings", &[("main.hcl".into(), text)], "1 MiB", "main.hcl:19:");
}

#[test]
fn forty_locals_each_doubling_a_list() {
    let mut text = format!("locals {{\n  s0 = \"{}\"\n", "x".repeat(100));
    for i in 1..=40 {
        text.push_str(&format!("  s{i} = concat([local.s{}], [local.s{}])\n", i - 1, i - 1));
    }
    text.push_str("}\n");
    assert_refused("bomb-lists", &[("main.hcl".into(), text)], "MiB per value", "main.hcl:");
}

#[test]
fn nested_for_over_range_a_million_twice() {
    let text = "locals {\n  grid = [for i in range(1000000) : [for j in range(1000000) : i * j]]\n}\n";
    assert_refused(
        "bomb-loops",
        &[("main.hcl".into(), text.into())],
        "range would produce more than",
        "main.hcl:2:",
    );
    // Below the range limit, the product of the loops is what is refused.
    let text = "locals {\n  grid = [for i in range(100000) : [for j in range(100000) : i * j]]\n}\n";
    assert_refused(
        "bomb-loops-product",
        &[("main.hcl".into(), text.into())],
        "would iterate more than",
        "main.hcl:2:",
    );
}

#[test]
fn eight_module_folders_each_calling_the_next_eight_times() {
    let calls = |src: &str| {
        (0..8).map(|j| format!("module \"m{j}\" {{\n  source = \"{src}\"\n}}\n")).collect::<String>()
    };
    let mut files = vec![("main.hcl".to_string(), calls("./m1"))];
    for k in 1..=8 {
        let body =
            if k < 8 { calls(&format!("../m{}", k + 1)) } else { "locals {\n  x = 1\n}\n".to_string() };
        files.push((format!("m{k}/main.hcl"), body));
    }
    assert_refused("bomb-modules", &files, "module instances", "/main.hcl:");
}

#[test]
fn an_inventory_of_a_million_rows() {
    let mut csv = String::from("name,kind,provider\n");
    for i in 0..1_000_000 {
        csv.push_str(&format!("host-{i},server,datadog\n"));
    }
    let files = vec![
        ("main.hcl".to_string(), "inventory \"hosts\" {\n  source = \"hosts.csv\"\n}\n".to_string()),
        ("hosts.csv".to_string(), csv),
    ];
    assert_refused("bomb-inventory", &files, "more than 200000 rows", "hosts.csv:200002:");
}

#[test]
fn a_value_derived_from_an_environment_variable_reaches_no_output_or_file() {
    const MARKER: &str = "envmarker7q";
    let ws = Workspace::example("quickstart");
    ws.write(
        "derived.hcl",
        r#"
variable "x" {
  type = string
}

resource "datadog_monitor" "derived" {
  name    = "Derived check"
  type    = "metric alert"
  query   = "avg(last_5m):avg:system.load.1{host:web-1} > 10"
  message = "token ${upper(var.x)} and ${replace(var.x, "7", "-")} @ops@example.com"
}
"#,
    );
    let ws = ws.env("WATCHKEEP_VAR_x", MARKER);
    let logs = outputs_of(
        &ws,
        &[
            &["validate"],
            &["plan"],
            &["plan", "--json"],
            &["plan", "--format", "markdown"],
            &["plan", "-out", "p.wkplan"],
            &["show", "p.wkplan"],
            &["apply", "p.wkplan"],
            &["state", "show", "datadog_monitor.derived"],
        ],
    );
    let files = ws.all_written_text();
    for form in [MARKER.to_string(), MARKER.to_uppercase(), MARKER.replace('7', "-")] {
        assert!(
            !logs.contains(&form),
            "`{form}` in the output: {}",
            logs.lines().filter(|l| l.contains(&form)).take(5).collect::<Vec<_>>().join("\n")
        );
        assert!(!files.contains(&form), "`{form}` in a file watchkeep wrote");
    }
    assert!(logs.contains("(sensitive:"), "the message is shown masked");
    // The vendor received the real value.
    let sent = ws.monitors().into_iter().find(|m| m["name"] == "Derived check").expect("monitor");
    assert!(sent["message"].as_str().unwrap_or_default().contains(&MARKER.to_uppercase()));
}

#[test]
fn a_for_each_key_derived_from_an_environment_variable_is_refused_without_showing_it() {
    const MARKER: &str = "keymarker9z";
    let ws = Workspace::example("quickstart");
    ws.write(
        "keyed.hcl",
        r#"
variable "x" {
  type = string
}

resource "datadog_monitor" "keyed" {
  for_each = toset(["k-${var.x}"])
  name     = "Keyed check"
  type     = "metric alert"
  query    = "avg(last_5m):avg:system.load.1{host:web-2} > 10"
  message  = "keyed @ops@example.com"
}
"#,
    );
    let ws = ws.env("WATCHKEEP_VAR_x", MARKER);
    for args in [vec!["validate"], vec!["plan"]] {
        let run = ws.run(&args);
        run.expect_code(1);
        let text = format!("{}{}", run.stdout(), run.stderr());
        assert!(text.contains("`for_each` key is a sensitive value"), "{text}");
        assert!(text.contains("keyed.hcl:7:"), "{text}");
        assert!(!text.contains(MARKER), "{text}");
    }
    assert!(!ws.all_written_text().contains(MARKER));
}
