//! Hostile files in a pull request (issue 15, item 3): a configuration that tries to read the
//! process environment or files outside itself through `*.hcl`, `*.auto.wkvars`, `file()` and an
//! inventory `source`, or to hang watchkeep on a FIFO. The real binary runs with `DD_API_KEY` set
//! to a marker; each attempt must be refused (exit 1, a message naming the file), quickly, and
//! the marker must appear in no output and no file.

use std::time::{Duration, Instant};

use crate::support::*;

/// Runs validate, fmt -check and plan on the workspace: each exits 1 naming `needle`, quickly,
/// and neither key appears anywhere.
fn refused_everywhere(ws: &Workspace, commands: &[&[&str]], needles: &[&str]) {
    let started = Instant::now();
    let mut seen = String::new();
    for args in commands {
        let (code, stdout, stderr) = run_bounded(ws, ws.path(), args);
        assert_eq!(code, 1, "watchkeep {args:?} exited {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        // The message names the file (text on stderr, or the `--json` report on stdout).
        let shown = format!("{stdout}{stderr}");
        for needle in needles {
            assert!(shown.contains(needle), "watchkeep {args:?}: no `{needle}` in\n{shown}");
        }
        seen.push_str(&stdout);
        seen.push_str(&stderr);
    }
    seen.push_str(&written_text(ws.path(), &[]));
    for key in [ws.api_key.as_str(), APP_KEY] {
        assert!(!seen.contains(key), "a key leaked:\n{seen}");
    }
    assert!(!seen.contains("DD_API_KEY="), "the environment leaked:\n{seen}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

const ALL: &[&[&str]] = &[&["validate"], &["validate", "--json"], &["plan"]];

#[test]
fn a_hcl_symlink_to_the_process_environment_is_refused_unread() {
    let ws = Workspace::new("hostile-hcl-link");
    ws.write("main.hcl", &raw_monitors_config(1, None));
    std::os::unix::fs::symlink("/proc/self/environ", ws.path().join("env.hcl")).unwrap();
    refused_everywhere(&ws, ALL, &["env.hcl", "never reads /proc"]);
    refused_everywhere(&ws, &[&["fmt", "-check"]], &["env.hcl", "never reads /proc"]);
}

#[test]
fn an_auto_wkvars_symlink_to_the_process_environment_is_refused_unread() {
    let ws = Workspace::new("hostile-wkvars-link");
    ws.write("main.hcl", &raw_monitors_config(1, None));
    std::os::unix::fs::symlink("/proc/self/environ", ws.path().join("x.auto.wkvars")).unwrap();
    refused_everywhere(&ws, ALL, &["x.auto.wkvars", "never reads /proc"]);
}

#[test]
fn file_of_the_process_environment_is_refused_with_its_location() {
    let ws = Workspace::new("hostile-file-fn");
    let main = raw_monitors_config(1, None).replace(
        "message = \"load is high on h0 @ops@example.com\"",
        "message = file(\"/proc/self/environ\")",
    );
    assert!(main.contains("file(\"/proc/self/environ\")"));
    ws.write("main.hcl", &main);
    refused_everywhere(&ws, ALL, &["main.hcl", "/proc/self/environ", "never reads /proc"]);
    let (_, _, stderr) = run_bounded(&ws, ws.path(), &["validate"]);
    assert!(stderr.contains("main.hcl:11:13"), "located at the call:\n{stderr}");
}

#[test]
fn an_inventory_source_outside_the_configuration_is_refused_unquoted() {
    let outside = tempfile::tempdir().unwrap();
    for source in ["/etc/shadow".to_string(), outside.path().join("inv.csv").display().to_string()] {
        let ws = Workspace::new("hostile-inventory");
        // The file outside holds the key, as a file an attacker would like quoted would.
        std::fs::write(
            outside.path().join("inv.csv"),
            format!("name,kind,provider\n{},server,datadog\n", ws.api_key),
        )
        .unwrap();
        ws.write(
            "main.hcl",
            &format!(
                "{}\ninventory \"p\" {{\n  source      = \"{source}\"\n  reviewed_on = \"2026-11-01\"\n  reviewed_by = \"a@example.com\"\n}}\n",
                raw_monitors_config(1, None)
            ),
        );
        refused_everywhere(
            &ws,
            ALL,
            &["cannot read inventory source", "outside the configuration", "WATCHKEEP_ALLOW_READ"],
        );
        let (code, _, stderr) = run_bounded(&ws, ws.path(), &["validate"]);
        assert!(code == 1 && stderr.contains("main.hcl:"), "located at the `source` attribute:\n{stderr}");
    }
}

#[test]
fn a_fifo_named_like_a_configuration_file_is_refused_without_hanging() {
    let ws = Workspace::new("hostile-fifo");
    ws.write("main.hcl", &raw_monitors_config(1, None));
    let status = std::process::Command::new("mkfifo").arg(ws.path().join("x.hcl")).status().unwrap();
    assert!(status.success());
    refused_everywhere(&ws, ALL, &["x.hcl", "a FIFO"]);
    refused_everywhere(&ws, &[&["fmt", "-check"]], &["x.hcl", "a FIFO"]);
}

#[test]
fn a_module_two_levels_up_a_bom_and_a_long_line_are_handled() {
    // A repository with the configuration in envs/prod and a module in shared/mod.
    let ws = Workspace::new("hostile-parser");
    let root = ws.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join("envs/prod")).unwrap();
    std::fs::create_dir_all(root.join("shared/mod")).unwrap();
    std::fs::write(root.join("shared/mod/main.hcl"), "variable \"n\" {}\nlocals {\n  twice = var.n * 2\n}\n")
        .unwrap();
    std::fs::write(
        root.join("envs/prod/main.hcl"),
        format!(
            "\u{feff}{}\nmodule \"shared\" {{\n  source = \"../../shared/mod\"\n  n      = 2\n}}\n",
            raw_monitors_config(1, None)
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = run_bounded(&ws, &root.join("envs/prod"), &["validate"]);
    assert_eq!(code, 0, "validate in envs/prod:\n{stdout}\n{stderr}");

    // A 400 KB line with an error in its middle: the snippet is cut around the column.
    let long =
        format!("locals {{\n  x = \"{}\" + nope.y + \"{}\"\n}}\n", "a".repeat(200_000), "b".repeat(200_000));
    std::fs::write(root.join("envs/prod/long.hcl"), long).unwrap();
    let (code, _, stderr) = run_bounded(&ws, &root.join("envs/prod"), &["validate"]);
    assert_eq!(code, 1, "{}", &stderr[..stderr.len().min(2000)]);
    assert!(stderr.len() < 8_000, "{} bytes of error output", stderr.len());
    assert!(stderr.contains("long.hcl:2:") && stderr.contains("nope.y") && stderr.contains('…'), "{stderr}");
}

#[test]
fn a_var_file_inside_the_configuration_that_links_outside_is_refused_one_outside_is_read() {
    let outside = tempfile::tempdir().unwrap();
    let ws = Workspace::new("hostile-var-file");
    ws.write("main.hcl", &raw_monitors_config(1, None));
    // Not HCL: were it read, the syntax error's snippet would quote it.
    std::fs::write(outside.path().join("secret.wkvars"), format!("{} !!\n", ws.api_key)).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.wkvars"), ws.path().join("pr.wkvars")).unwrap();
    refused_everywhere(
        &ws,
        &[&["validate", "-var-file", "pr.wkvars"]],
        &["pr.wkvars", "outside the configuration"],
    );
    // The operator's own file outside the configuration is read.
    std::fs::write(outside.path().join("ops.wkvars"), "datadog_api_url = \"http://127.0.0.1:1\"\n").unwrap();
    let ops = outside.path().join("ops.wkvars").display().to_string();
    let (code, stdout, stderr) = run_bounded(&ws, ws.path(), &["validate", "-var-file", &ops]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}
