//! Issue 15, items 4 and 5: sensitivity flows through evaluation, and hostile configurations
//! are refused within limits, with located errors.

use std::time::{Duration, Instant};

use super::*;
use crate::diag::Diagnostics;
use crate::redact::Redactor;

fn load_in(files: &[(String, String)], tweak: impl FnOnce(&mut LoadOptions)) -> Result<Config, Diagnostics> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let mut opts = LoadOptions::new(dir.path());
    tweak(&mut opts);
    load(&opts).map(|(c, _)| c)
}

fn main_only(text: &str) -> Vec<(String, String)> {
    vec![("main.hcl".to_string(), text.to_string())]
}

/// Loads, expecting an error containing `needle` located in `file` at `line`, within 2 s.
fn refused(files: &[(String, String)], needle: &str, file: &str, line: usize) {
    let t = Instant::now();
    let d = load_in(files, |_| {}).expect_err("expected the configuration to be refused");
    let elapsed = t.elapsed();
    let e = d
        .iter()
        .find(|x| x.summary.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}` in:\n{}", d.render(&[], false)));
    let span = e.span.as_ref().unwrap_or_else(|| panic!("`{}` has no location", e.summary));
    assert!(span.file.ends_with(file), "{} is not in {file}", span.file.display());
    assert_eq!(span.line, line, "{}", e.summary);
    assert!(elapsed < Duration::from_secs(2), "refused after {elapsed:?}");
}

#[test]
fn forty_locals_each_doubling_a_string_are_refused_at_the_one_over_the_limit() {
    let mut text = "locals {\n  s0 = \"xxxxxxxxxxxxxxxx\"\n".to_string();
    for i in 1..=40 {
        text.push_str(&format!("  s{i} = \"${{local.s{}}}${{local.s{}}}\"\n", i - 1, i - 1));
    }
    text.push_str("}\n");
    // 16 bytes doubled 17 times is 2 MiB: s17, on line 19.
    refused(&main_only(&text), "exceeds the limit of 1048576 bytes", "main.hcl", 19);
}

#[test]
fn nested_for_over_a_million_twice_is_refused() {
    let text = "locals {\n  grid = [for i in range(1000000) : [for j in range(1000000) : i * j]]\n}\n";
    refused(&main_only(text), "range would produce more than", "main.hcl", 2);
}

#[test]
fn nested_loops_are_counted_together() {
    // Each range is allowed; their product is not.
    let text = "locals {\n  ok = 1\n  grid = [for i in range(100000) : [for j in range(100000) : i]]\n}\n";
    refused(&main_only(text), "would iterate more than", "main.hcl", 3);
}

#[test]
fn a_small_string_repeated_by_loops_is_refused_by_the_bytes_produced() {
    let text = "locals {\n  big = join(\"\", [for i in range(10000) : \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"])\n  s = [for i in range(200) : [for j in range(1000) : local.big]]\n}\n";
    refused(&main_only(text), "would produce more than 64 MiB", "main.hcl", 3);
}

#[test]
fn eight_module_folders_each_calling_the_next_eight_times_are_refused() {
    let calls = |src: &str| {
        (0..8).map(|j| format!("module \"m{j}\" {{\n  source = \"{src}\"\n}}\n")).collect::<String>()
    };
    let mut files = vec![("main.hcl".to_string(), calls("./m1"))];
    for k in 1..=8 {
        let body =
            if k < 8 { calls(&format!("../m{}", k + 1)) } else { "locals {\n  x = 1\n}\n".to_string() };
        files.push((format!("m{k}/main.hcl"), body));
    }
    let t = Instant::now();
    let d = load_in(&files, |_| {}).expect_err("refused");
    assert!(t.elapsed() < Duration::from_secs(2));
    let e = d.iter().find(|x| x.summary.contains("module instances")).expect("module count error");
    assert!(e.span.as_ref().is_some_and(|s| s.file.ends_with("main.hcl")), "{e:?}");
}

#[test]
fn modules_nested_too_deep_say_so_rather_than_recursion() {
    let mut files = vec![("main.hcl".to_string(), "module \"a\" {\n  source = \"./m1\"\n}\n".to_string())];
    for k in 1..=10 {
        files
            .push((format!("m{k}/main.hcl"), format!("module \"a\" {{\n  source = \"../m{}\"\n}}\n", k + 1)));
    }
    files.push(("m11/main.hcl".to_string(), "locals {\n  x = 1\n}\n".to_string()));
    let d = load_in(&files, |_| {}).expect_err("refused");
    assert!(d.iter().any(|x| x.summary.contains("deeper than 8 levels")), "{}", d.render(&[], false));
    assert!(!d.iter().any(|x| x.summary.contains("includes itself")));
}

#[test]
fn an_inventory_over_the_row_limit_is_refused_at_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("name,kind,provider\n");
    for i in 0..(limits::MAX_INVENTORY_ROWS + 5) {
        csv.push_str(&format!("h{i},server,datadog\n"));
    }
    std::fs::write(dir.path().join("hosts.csv"), csv).unwrap();
    std::fs::write(dir.path().join("main.hcl"), "inventory \"hosts\" {\n  source = \"hosts.csv\"\n}\n")
        .unwrap();
    let t = Instant::now();
    let d = load(&LoadOptions::new(dir.path())).expect_err("refused");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let e = d.iter().find(|x| x.summary.contains("more than 200000 rows")).expect("row limit");
    let span = e.span.as_ref().expect("located");
    assert!(span.file.ends_with("hosts.csv"));
    assert_eq!(span.line, limits::MAX_INVENTORY_ROWS + 2);
}

fn masked_everywhere(cfg: &Config, needles: &[&str]) {
    let r = Redactor::new(&cfg.sensitive_values, "lineage");
    let dump = r.str(&format!("{:?}{:?}", cfg.locals, cfg.resources)).into_owned();
    for n in needles {
        assert!(!dump.contains(n), "`{n}` survives redaction");
    }
}

#[test]
fn values_derived_from_a_sensitive_variable_are_sensitive() {
    let text = r#"variable "key" {
  sensitive = true
}
locals {
  up       = upper(var.key)
  swapped  = replace(var.key, "marker", "MaRkEr")
  part     = substr(var.key, 2, 8)
  rejoined = join("+", split("-", var.key))
  templ    = "t/${var.key}/t"
  cond     = var.key == "" ? "empty-branch" : "chosen-branch"
  looped   = [for p in split("-", var.key) : "p:${p}"]
  keyed    = { for p in split("-", var.key) : "k_${p}" => "v" }
  mixed    = { url = upper(var.key), team = "visible-team" }
  again    = lower(local.up)
}
"#;
    let cfg = load_in(&main_only(text), |o| {
        o.vars.push("key=abmarker-zz-tail".to_string());
    })
    .unwrap();
    masked_everywhere(
        &cfg,
        &[
            "ABMARKER",
            "abMaRkEr",
            "marker-z",
            "abmarker+zz",
            "t/abmarker",
            "chosen-branch",
            "p:abmarker",
            "k_tail",
        ],
    );
    assert!(format!("{:?}", cfg.locals).contains("visible-team"));
    assert!(!cfg.sensitive_values.iter().any(|s| s == "visible-team"), "a sibling literal is not tainted");
    assert!(!cfg.sensitive_values.iter().any(|s| s == "empty-branch"), "only the value computed");
}

#[test]
fn outside_values_are_sensitive_unless_the_operator_says_public() {
    let text = "variable \"x\" {\n  sensitive = false\n}\nvariable \"api_url\" {}\nlocals {\n  m = upper(var.x)\n}\n";
    let cfg = load_in(&main_only(text), |o| {
        o.env.insert("WATCHKEEP_VAR_x".into(), "envmarker".into());
        o.env.insert("WATCHKEEP_VAR_api_url".into(), "http://127.0.0.1:9/".into());
        o.env.insert("WATCHKEEP_PUBLIC_VARS".into(), "api_url, other".into());
    })
    .unwrap();
    assert!(cfg.variables["x"].sensitive, "`sensitive = false` in the configuration does not unmask it");
    assert!(cfg.sensitive_values.contains(&"envmarker".to_string()));
    assert!(cfg.sensitive_values.contains(&"ENVMARKER".to_string()));
    assert!(!cfg.variables["api_url"].sensitive, "listed public by the operator");
    assert!(!cfg.sensitive_values.iter().any(|s| s.contains("127.0.0.1")));

    // -var, too; a default written in the configuration is not outside.
    let text = "variable \"y\" {\n  default = \"in-config\"\n}\nvariable \"z\" {}\n";
    let cfg = load_in(&main_only(text), |o| o.vars.push("z=cli-value".into())).unwrap();
    assert!(!cfg.variables["y"].sensitive);
    assert!(cfg.variables["z"].sensitive);
}

#[test]
fn a_var_file_outside_the_directory_is_outside_one_inside_is_not() {
    let outside = tempfile::tempdir().unwrap();
    let f = outside.path().join("ci.wkvars");
    std::fs::write(&f, "a = \"from-outside\"\n").unwrap();
    let files = vec![
        ("main.hcl".to_string(), "variable \"a\" {}\nvariable \"b\" {}\n".to_string()),
        ("watchkeep.wkvars".to_string(), "b = \"from-inside\"\n".to_string()),
    ];
    let cfg = load_in(&files, |o| o.var_files.push(f.clone())).unwrap();
    assert!(cfg.variables["a"].sensitive);
    assert!(!cfg.variables["b"].sensitive);
}

#[test]
fn for_each_keys_derived_from_a_secret_are_refused_values_stay_sensitive() {
    let text = |for_each: &str| {
        format!(
            r#"variable "k" {{
  sensitive = true
}}
resource "datadog_monitor" "m" {{
  for_each = {for_each}
  name     = "n ${{each.key}}"
  type     = "metric alert"
  query    = "avg(last_5m):avg:system.cpu.user{{*}} > 90"
  message  = upper(each.value)
}}
"#
        )
    };
    // Keys would become addresses, shown everywhere: refused at the for_each, without the value.
    let d = load_in(&main_only(&text(r#"toset([for p in split(",", var.k) : "svc-${p}"])"#)), |o| {
        o.vars.push("k=alpha1,beta22".into())
    })
    .expect_err("refused");
    let e = d.iter().find(|x| x.summary.contains("`for_each` key is a sensitive value")).expect("error");
    assert_eq!(e.span.as_ref().map(|s| s.line), Some(5));
    assert!(!d.render(&[], false).contains("alpha1"));
    // A map keyed by literals with secret values is fine; what each.value computes is secret.
    let cfg = load_in(&main_only(&text(r#"{ a = var.k, b = "plain-b" }"#)), |o| {
        o.vars.push("k=alpha1,beta22".into())
    })
    .unwrap();
    assert!(cfg.sensitive_values.contains(&"ALPHA1,BETA22".to_string()));
    assert!(!cfg.sensitive_values.contains(&"PLAIN-B".to_string()));
    masked_everywhere(&cfg, &["ALPHA1"]);
}

#[test]
fn an_error_about_a_derived_secret_does_not_print_it() {
    let text = "variable \"k\" {\n  sensitive = true\n}\nlocals {\n  n = tonumber(upper(var.k))\n}\n";
    let d = load_in(&main_only(text), |o| o.vars.push("k=abc-secret-xyz".into())).expect_err("refused");
    let all = d.render(&[], false);
    assert!(all.contains("tonumber"), "{all}");
    assert!(!all.to_lowercase().contains("abc-secret-xyz"), "{all}");
}

#[test]
fn numbers_and_booleans_computed_from_a_secret_are_refused_where_computed() {
    // Each would put part of the key in the plan as a number or a boolean, which cannot be masked.
    for (expr, line) in [
        ("tonumber(substr(var.k, 2, 2))", 5),
        ("length(var.k)", 5),
        ("substr(var.k, 0, 1) == \"a\"", 5),
        ("var.k == \"\" ? 1 : 2", 5),
        ("[for c in split(\"\", var.k) : c == \"a\"]", 5),
        ("{ n = length(var.k), s = \"plain\" }", 5),
        ("lookup({ a = 1, b = 2 }, substr(var.k, 0, 1), 3)", 5),
        ("tonumber(\"${length(var.k)}\")", 5),
    ] {
        let text = format!("variable \"k\" {{\n  sensitive = true\n}}\nlocals {{\n  n = {expr}\n}}\n");
        let d = load_in(&main_only(&text), |o| o.vars.push("k=ab12-secret-xyz".into()))
            .expect_err(&format!("`{expr}` must be refused"));
        let e = d
            .iter()
            .find(|x| x.summary.contains("number or boolean is computed from a sensitive value"))
            .unwrap_or_else(|| panic!("{expr}: {}", d.render(&[], false)));
        assert_eq!(e.span.as_ref().map(|s| s.line), Some(line), "{expr}");
        assert!(!d.render(&[], false).contains("secret-xyz"), "{expr}");
    }
    // Through a local that holds it as a string, then converted.
    let text = "variable \"k\" {\n  sensitive = true\n}\nlocals {\n  s = \"n${tonumber(substr(var.k, 2, 2)) + 1}\"\n  n = tonumber(trimprefix(local.s, \"n\"))\n}\n";
    let d = load_in(&main_only(text), |o| o.vars.push("k=ab12-secret-xyz".into())).expect_err("refused");
    let e = d.iter().find(|x| x.summary.contains("number or boolean")).expect("error");
    assert_eq!(e.span.as_ref().map(|s| s.line), Some(6));

    // Not refused: numbers beside a secret in an object literal, numbers of a `for_each` instance
    // whose other fields are secret, and a secret used inside a string.
    let text = r#"variable "k" {
  sensitive = true
}
locals {
  route = { url = var.k, priority = 2, on = true }
  services = { web = { hook = var.k, threshold = 90 } }
  text = "length ${length(var.k)}"
}
resource "datadog_monitor" "m" {
  for_each = local.services
  name     = "n ${each.key}"
  type     = "metric alert"
  query    = "avg(last_5m):avg:system.cpu.user{*} > ${each.value.threshold * 1}"
  message  = "to ${each.value.hook}"
}
"#;
    let cfg = load_in(&main_only(text), |o| o.vars.push("k=ab12-secret-xyz".into())).unwrap();
    masked_everywhere(&cfg, &["ab12-secret-xyz"]);
}

#[test]
fn the_parts_of_a_derived_value_are_sensitive_too() {
    // A provider may trim a heredoc's final newline, or a compiled block split a message: the
    // interpolated parts must stay masked without the whole string they were computed in.
    let text = "variable \"k\" {\n  sensitive = true\n}\nlocals {\n  h = <<-EOT\n    key ${lower(var.k)}\n    EOT\n  f = format(\"%s!\", join(\"+\", [upper(var.k), \"public\"]))\n  o = { msg = \"a ${substr(var.k, 2, 9)} b\", n = 3 }\n}\n";
    let cfg = load_in(&main_only(text), |o| o.vars.push("k=AbSecretValue77".into())).unwrap();
    for part in ["absecretvalue77", "ABSECRETVALUE77", "ABSECRETVALUE77+public", "SecretVal"] {
        assert!(cfg.sensitive_values.iter().any(|s| s == part), "`{part}` not registered");
    }
    let r = Redactor::new(&cfg.sensitive_values, "lineage");
    assert!(!r.str("message: key absecretvalue77").contains("absecretvalue77"));
    assert!(!cfg.sensitive_values.iter().any(|s| s == "public"), "a literal part is not tainted");
}

#[test]
fn a_computed_key_from_a_secret_is_sensitive_and_its_literal_value_is_not_refused() {
    let text = "variable \"k\" {\n  sensitive = true\n}\nlocals {\n  o = { (\"zz-${var.k}\") = 1, (\"aa-${\"plain\"}\") = 2, mm = 3 }\n}\n";
    let cfg = load_in(&main_only(text), |o| o.vars.push("k=keysecret42".into())).unwrap();
    assert!(cfg.sensitive_values.iter().any(|s| s == "zz-keysecret42"), "{:?}", cfg.sensitive_values);
    assert!(!cfg.sensitive_values.iter().any(|s| s == "aa-plain"), "{:?}", cfg.sensitive_values);
    // A value under a computed key that reads a secret is still refused.
    let text = "variable \"k\" {\n  sensitive = true\n}\nlocals {\n  o = { (\"a\") = length(var.k) }\n}\n";
    assert!(load_in(&main_only(text), |o| o.vars.push("k=keysecret42".into())).is_err());
}
