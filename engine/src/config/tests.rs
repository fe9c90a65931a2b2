//! End-to-end tests of the loader: HCL in a temporary directory → model or diagnostics.

use std::path::Path;

use serde_json::json;

use super::*;
use crate::diag::Diagnostics;
use crate::graph::BlockGraph;

fn write_all(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, text).unwrap();
    }
}

fn load_with(
    files: &[(&str, &str)],
    tweak: impl FnOnce(&mut LoadOptions),
) -> Result<(Config, Diagnostics), Diagnostics> {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), files);
    let mut opts = LoadOptions::new(dir.path());
    tweak(&mut opts);
    load(&opts)
}

fn ok_with(files: &[(&str, &str)], tweak: impl FnOnce(&mut LoadOptions)) -> Config {
    match load_with(files, tweak) {
        Ok((cfg, _)) => cfg,
        Err(d) => panic!("expected success, got:\n{}", d.render(&[], false)),
    }
}

fn ok(main: &str) -> Config {
    ok_with(&[("main.hcl", main)], |_| {})
}

fn err_with(files: &[(&str, &str)], tweak: impl FnOnce(&mut LoadOptions)) -> Diagnostics {
    match load_with(files, tweak) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d,
    }
}

fn err(main: &str) -> Diagnostics {
    err_with(&[("main.hcl", main)], |_| {})
}

/// The single error whose summary contains `needle` (panics listing all errors otherwise).
fn find<'d>(d: &'d Diagnostics, needle: &str) -> &'d crate::diag::Diagnostic {
    d.iter()
        .find(|x| x.summary.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}` in:\n{}", d.render(&[], false)))
}

/// (line, col) of the first occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    let start = text.find(needle).unwrap_or_else(|| panic!("`{needle}` not in text"));
    let before = &text[..start];
    (before.matches('\n').count() + 1, before.rsplit('\n').next().unwrap_or("").chars().count() + 1)
}

fn at(d: &crate::diag::Diagnostic) -> (usize, usize) {
    let s = d.span.as_ref().expect("diagnostic has a span");
    (s.line, s.col)
}

const FULL: &str = r##"
watchkeep {
  state "local" { path = ".watchkeep/prod.json" }
}

variable "pagerduty_routing_key" {
  type      = string
  sensitive = true
}

variable "cpu_limit" {
  type    = number
  default = 85
}

provider "datadog" {
  site    = "datadoghq.eu"
  api_url = "http://localhost:1234"
}

inventory "production" {
  source      = "inventory.csv"
  reviewed_on = "2026-11-01"
  reviewed_by = "platform-lead@example.com"

  component "edge-lb" {
    kind       = "cloud_service"
    provider   = "cloudwatch"
    identifier = { LoadBalancer = "app/edge/123" }
  }
}

component "orders-db" {
  inventory   = inventory.production
  kind        = "database"
  provider    = "cloudwatch"
  environment = "production"
  identifier  = { DBInstanceIdentifier = "orders-prod" }
  tags        = { team = "orders" }
}

route "oncall" {
  pagerduty { routing_key = var.pagerduty_routing_key }
  slack {
    channel = "#ops-alerts"
    account = "acme"
  }
  email { to = ["oncall@example.com"] }
}

route "team" {
  webhook {
    name = "team-hook"
    url  = "https://hooks.example.com/x"
  }
}

alert "cpu_high" {
  scope      = inventory.production
  kinds      = ["server"]
  components = [component.web-1]
  metric     = "cpu"
  above      = var.cpu_limit
  warning    = 70
  for        = "5m"
  severity   = "critical"
  routes     = [route.oncall, route.team]
  runbook    = "https://wiki.example.com/runbooks/cpu"
  message    = "CPU high on ${component.web-1.identifier.host}"
}

alert "queue" {
  metric   = metric.queue_depth
  below    = 1
  route    = route.oncall
  severity = "low"
}

baseline "soc2" {
  scope = inventory.production
  route = route.oncall
  override "disk" {
    above   = 90
    warning = 80
    for     = "10m"
  }
  override "network" { enabled = false }
}

metric "queue_depth" {
  unit       = "count"
  datadog    { query = "avg:rabbitmq.queue.messages{$scope}" }
  cloudwatch {
    namespace   = "AWS/SQS"
    metric_name = "ApproximateNumberOfMessagesVisible"
  }
  newrelic { nrql = "SELECT max(queue.messages) FROM RabbitmqQueueSample WHERE $scope" }
}

dashboard "infrastructure" { scope = inventory.production }

resource "datadog_monitor" "checkout_latency" {
  name    = "Checkout p99 latency"
  type    = "query alert"
  query   = "avg(last_5m):p99:trace.http.request{service:checkout} > 2"
  message = "Checkout is slow. @pagerduty-checkout"
  tags    = ["team:checkout"]
  options {
    thresholds { critical = 2 }
    notify_no_data = false
  }
}
"##;

const CSV: &str = "name,kind,environment,owner,provider,identifier,tags\n\
web-1,server,production,web-team,datadog,web-1,tier=1;critical\n\
web-2,server,production,web-team,datadog,host=web-2;region=eu,\n";

fn full() -> Config {
    ok_with(&[("main.hcl", FULL), ("inventory.csv", CSV)], |o| {
        o.vars.push("pagerduty_routing_key=R0UTING-KEY".into());
    })
}

#[test]
fn loads_every_block_type() {
    let cfg = full();
    assert_eq!(cfg.settings.state_path.as_deref(), Some(".watchkeep/prod.json"));
    assert_eq!(cfg.variables["cpu_limit"].value, json!(85));
    assert_eq!(cfg.providers["datadog"].attrs["site"], "datadoghq.eu");

    let inv = &cfg.inventories["production"];
    assert_eq!(inv.source.as_deref(), Some("inventory.csv"));
    assert_eq!(inv.reviewed_on.as_deref(), Some("2026-11-01"));
    assert_eq!(inv.reviewed_by.as_deref(), Some("platform-lead@example.com"));
    assert_eq!(inv.components, vec!["web-1", "web-2", "edge-lb", "orders-db"]);

    let web1 = &cfg.components["web-1"];
    assert_eq!(web1.inventory.as_deref(), Some("production"));
    assert_eq!(web1.identifier["host"], "web-1");
    assert_eq!(web1.tags["tier"], "1");
    assert_eq!(web1.owner.as_deref(), Some("web-team"));
    assert_eq!(web1.span.line, 2, "CSV row");
    assert_eq!(cfg.components["web-2"].identifier["region"], "eu");
    assert_eq!(cfg.components["edge-lb"].kind, "cloud_service");
    let db = &cfg.components["orders-db"];
    assert_eq!((db.kind.as_str(), db.provider.as_str()), ("database", "cloudwatch"));
    assert_eq!(db.tags["team"], "orders");

    let oncall = &cfg.routes["oncall"];
    assert_eq!(oncall.pagerduty[0].routing_key.as_deref(), Some("R0UTING-KEY"));
    assert_eq!(oncall.slack[0].channel, "#ops-alerts");
    assert_eq!(oncall.slack[0].account.as_deref(), Some("acme"));
    assert_eq!(oncall.email[0].to, vec!["oncall@example.com"]);
    assert_eq!(cfg.routes["team"].webhook[0].name.as_deref(), Some("team-hook"));

    let cpu = &cfg.alerts["cpu_high"];
    assert_eq!(cpu.scope.as_deref(), Some("production"));
    assert_eq!(cpu.kinds, vec!["server"]);
    assert_eq!(cpu.components, vec!["web-1"]);
    assert_eq!(cpu.metric, "cpu");
    assert_eq!(cpu.threshold.above, Some(85.0));
    assert_eq!(cpu.threshold.warning, Some(70.0));
    assert_eq!(cpu.threshold.for_duration.as_deref(), Some("5m"));
    assert_eq!(cpu.threshold.severity.as_deref(), Some("critical"));
    assert_eq!(cpu.routes, vec!["oncall", "team"]);
    assert_eq!(cpu.message.as_deref(), Some("CPU high on web-1"));
    let queue = &cfg.alerts["queue"];
    assert_eq!(queue.metric, "queue_depth");
    assert_eq!(queue.threshold.below, Some(1.0));
    assert_eq!(queue.routes, vec!["oncall"]);

    let soc2 = &cfg.baselines["soc2"];
    assert_eq!(soc2.overrides["disk"].threshold.above, Some(90.0));
    assert_eq!(soc2.overrides["disk"].threshold.for_duration.as_deref(), Some("10m"));
    assert_eq!(soc2.overrides["network"].enabled, Some(false));

    let qd = &cfg.metrics["queue_depth"];
    assert_eq!(qd.unit.as_deref(), Some("count"));
    assert_eq!(qd.datadog_query.as_deref(), Some("avg:rabbitmq.queue.messages{$scope}"));
    assert_eq!(qd.cloudwatch.as_ref().unwrap()["namespace"], "AWS/SQS");
    assert!(qd.newrelic.as_ref().unwrap()["nrql"].as_str().unwrap().starts_with("SELECT"));
    assert_eq!(cfg.dashboards["infrastructure"].scope.as_deref(), Some("production"));

    let m = &cfg.resources["datadog_monitor.checkout_latency"];
    assert_eq!(m.resource_type, "datadog_monitor");
    assert_eq!(m.attrs["options"], json!({"thresholds": {"critical": 2}, "notify_no_data": false}));
    assert_eq!(m.attrs["tags"], json!(["team:checkout"]));

    assert!(cfg.sensitive_values.contains(&"R0UTING-KEY".to_string()));
    assert_eq!(cfg.files.len(), 1);
}

#[test]
fn records_edges_and_builds_the_graph() {
    let cfg = full();
    let has = |from: &str, to: &str| cfg.edges.iter().any(|e| e.from == from && e.to == to);
    assert!(has("alert.cpu_high", "route.oncall"));
    assert!(has("alert.cpu_high", "inventory.production"));
    assert!(has("alert.cpu_high", "component.web-1"));
    assert!(has("alert.cpu_high", "var.cpu_limit"));
    assert!(has("alert.queue", "metric.queue_depth"));
    assert!(has("route.oncall", "var.pagerduty_routing_key"));
    assert!(has("component.orders-db", "inventory.production"));
    assert!(has("component.web-1", "inventory.production"), "CSV membership");
    let e = cfg.edges.iter().find(|e| e.from == "alert.cpu_high" && e.to == "route.team").unwrap();
    assert_eq!((e.span.line, e.span.col), pos(FULL, "route.team"));

    let g = BlockGraph::from_config(&cfg);
    let order = g.topo_order();
    let idx = |a: &str| order.iter().position(|x| x == a).unwrap_or_else(|| panic!("{a} not in {order:?}"));
    assert!(idx("var.pagerduty_routing_key") < idx("route.oncall"));
    assert!(idx("route.oncall") < idx("alert.cpu_high"));
    assert!(idx("provider.datadog") < idx("datadog_monitor.checkout_latency"));
    assert!(g.to_dot().contains("\"alert.cpu_high\" -> \"route.oncall\";"));
}

#[test]
fn malformed_hcl_reports_file_line_col() {
    let text = "alert \"x\" {\n  metric = \n}\n";
    let d = err(text);
    let e = find(&d, "syntax error");
    assert_eq!(at(e), (2, 12), "right after `metric =`");
    assert!(e.span.as_ref().unwrap().file.ends_with("main.hcl"));
    let rendered = d.render(&[], false);
    assert!(rendered.contains("main.hcl:2:12"), "{rendered}");
    assert!(rendered.contains("hint:"), "{rendered}");
}

#[test]
fn unknown_reference_points_at_the_reference() {
    let text = "route \"pagerduty\" {\n  email { to = [\"a@b.c\"] }\n}\nalert \"a\" {\n  metric = \"cpu\"\n  above  = 1\n  route  = route.pager\n}\n";
    let d = err(text);
    let e = find(&d, "unknown reference `route.pager`");
    assert_eq!(at(e), pos(text, "route.pager"));
    assert_eq!(e.span.as_ref().unwrap().end - e.span.as_ref().unwrap().start, "route.pager".len());
    assert_eq!(e.hint.as_deref(), Some("did you mean `route.pagerduty`?"));
    let file = SourceFile { path: e.span.as_ref().unwrap().file.clone(), text: text.to_string() };
    let rendered = d.render(&[file], false);
    assert!(rendered.contains("  route  = route.pager"), "{rendered}");
    assert!(rendered.contains("^^^^^^^^^^^"), "{rendered}");
}

#[test]
fn cycle_in_locals_is_named() {
    let text = "locals {\n  a = local.b\n  b = local.c\n  c = \"${local.a}-x\"\n  ok = 1\n}\n";
    let d = err(text);
    let e = find(&d, "cycle:");
    assert_eq!(e.summary, "cycle: local.a → local.b → local.c → local.a");
    assert_eq!(at(e), pos(text, "local.a}"));
    let self_ref = err("locals {\n  a = local.a\n}\n");
    assert_eq!(find(&self_ref, "cycle").summary, "cycle: local.a → local.a");
}

#[test]
fn bad_variable_value_names_variable_source_and_types() {
    let files = [("main.hcl", "variable \"count\" { type = number }\nlocals { x = var.count }\n")];
    // Issue 15: a -var value is sensitive unless the operator lists it as public; then it is shown.
    let d = err_with(&files, |o| {
        o.vars.push("count=abc".into());
        o.env.insert("WATCHKEEP_PUBLIC_VARS".into(), "count".into());
    });
    let e = find(&d, "invalid value for variable `count`");
    assert!(e.summary.contains("expected number, got string \"abc\""), "{}", e.summary);
    assert_eq!(e.detail.as_deref(), Some("the value comes from -var count=abc"));
    let hidden = err_with(&files, |o| o.vars.push("count=abc".into()));
    let e = find(&hidden, "invalid value for variable `count`");
    assert!(!e.summary.contains("abc") && !e.detail.as_deref().unwrap_or("").contains("abc"), "{e:?}");
    assert_eq!(at(e), (1, 1));
    // Conversion like Terraform: "5" is a fine number.
    let cfg = ok_with(&files, |o| o.vars.push("count=5".into()));
    assert_eq!(cfg.locals["x"], json!(5));
}

#[test]
fn variable_values_from_every_source_with_precedence() {
    let main = r##"
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
variable "f" { default = "default" }
variable "hosts" { type = list(string) }
"##;
    let files = [
        ("main.hcl", main),
        (
            "watchkeep.wkvars",
            "b = \"wkvars\"\nc = \"wkvars\"\nd = \"wkvars\"\ne = \"wkvars\"\nf = \"wkvars\"\nhosts = []\n",
        ),
        ("x.auto.wkvars", "c = \"auto-x\"\nd = \"auto-x\"\n"),
        ("a.auto.wkvars", "c = \"auto-a\"\nd = \"auto-a\"\ne = \"auto-a\"\nf = \"auto-a\"\n"),
        ("extra.vars", "d = \"var-file\"\ne = \"var-file\"\nf = \"var-file\"\n"),
    ];
    let cfg = ok_with(&files, |o| {
        o.var_files.push(o.dir.join("extra.vars"));
        o.env.insert("WATCHKEEP_VAR_e".into(), "env".into());
        o.env.insert("WATCHKEEP_VAR_f".into(), "env".into());
        o.vars.push("f=cli-1".into());
        o.vars.push("f=cli-2".into());
        o.vars.push("hosts=[\"a\",\"b\"]".into());
    });
    let v = |n: &str| cfg.variables[n].value.clone();
    assert_eq!(v("a"), "default");
    assert_eq!(v("b"), "wkvars");
    assert_eq!(v("c"), "auto-x", "auto files are sorted; later wins");
    assert_eq!(v("d"), "var-file");
    assert_eq!(v("e"), "env");
    assert_eq!(v("f"), "cli-2");
    assert_eq!(v("hosts"), json!(["a", "b"]));
}

#[test]
fn missing_and_undeclared_variables() {
    let files = [("main.hcl", "variable \"token\" {}\n")];
    let d = err_with(&files, |o| o.vars.push("tokne=1".into()));
    let missing = find(&d, "variable `token` is required");
    assert!(missing
        .hint
        .as_deref()
        .unwrap()
        .contains("-var token=…, WATCHKEEP_VAR_token, or a .wkvars file"));
    assert_eq!(at(missing), (1, 1));
    let undeclared = find(&d, "-var sets `tokne`");
    assert!(undeclared.hint.as_deref().unwrap().contains("did you mean `token`?"));
    // Undeclared in a file is only a warning.
    let (_, warnings) = load_with(
        &[("main.hcl", "variable \"a\" { default = 1 }\n"), ("watchkeep.wkvars", "b = 2\n")],
        |_| {},
    )
    .unwrap();
    assert!(warnings.iter().any(|w| w.summary.contains("undeclared variable `b`")));
}

#[test]
fn sensitive_values_are_collected() {
    let main = r##"
variable "key" { sensitive = true }
variable "map" {
  type      = map(string)
  sensitive = true
  default   = { a = "s3cret" }
}
variable "plain" { default = "visible" }
"##;
    let cfg = ok_with(&[("main.hcl", main)], |o| {
        o.env.insert("WATCHKEEP_VAR_key".into(), "hunter2".into());
    });
    assert!(cfg.variables["key"].sensitive);
    assert!(cfg.sensitive_values.contains(&"hunter2".to_string()));
    assert!(cfg.sensitive_values.contains(&"s3cret".to_string()));
    assert!(cfg.sensitive_values.contains(&r#"{"a":"s3cret"}"#.to_string()));
    assert!(!cfg.sensitive_values.contains(&"visible".to_string()));
    // A bad sensitive value is not echoed.
    let d = err_with(&[("main.hcl", "variable \"n\" {\n  type = number\n  sensitive = true\n}\n")], |o| {
        o.vars.push("n=topsecret".into());
    });
    let rendered = d.render(&[], false);
    assert!(!rendered.contains("topsecret"), "{rendered}");
}

#[test]
fn csv_inventory_errors_name_file_and_row() {
    let csv = "name,kind,provider,identifier\nweb-1,server,datadog,web-1\nweb-2,sever,datadog,web-2\n";
    let d = err_with(
        &[
            ("main.hcl", "inventory \"p\" {\n  source = \"hosts.csv\"\n  reviewed_on = \"2026-13-01\"\n}\n"),
            ("hosts.csv", csv),
        ],
        |_| {},
    );
    let kind = find(&d, "invalid kind `sever`");
    let span = kind.span.as_ref().unwrap();
    assert!(span.file.ends_with("hosts.csv"));
    assert_eq!(span.line, 3);
    assert!(kind.hint.as_deref().unwrap().contains("did you mean `server`?"));
    let date = find(&d, "not a valid date");
    assert!(date.hint.as_deref().unwrap().contains("YYYY-MM-DD"));
    let missing = err_with(&[("main.hcl", "inventory \"p\" { source = \"nope.csv\" }\n")], |_| {});
    assert!(find(&missing, "cannot read inventory source").span.is_some());
}

#[test]
fn json_inventory() {
    let json_src = r#"[
  {"name": "db-1", "kind": "database", "provider": "cloudwatch", "identifier": {"DBInstanceIdentifier": "db-1"}},
  {"name": "c-1", "kind": "container", "provider": "newrelic", "identifier": "c-1", "owner": "ops"}
]"#;
    let cfg = ok_with(
        &[("main.hcl", "inventory \"p\" { source = \"inv.json\" }\n"), ("inv.json", json_src)],
        |_| {},
    );
    assert_eq!(cfg.components["db-1"].identifier["DBInstanceIdentifier"], "db-1");
    assert_eq!(cfg.components["c-1"].identifier["host"], "c-1");
    assert_eq!(cfg.components["c-1"].inventory.as_deref(), Some("p"));
}

#[test]
fn for_each_components() {
    let main = r##"
locals {
  hosts = { "web-1" = "eu", "web-2" = "us" }
}
inventory "p" {}
component "web" {
  for_each   = local.hosts
  inventory  = inventory.p
  kind       = "server"
  provider   = "datadog"
  identifier = { host = each.key }
  tags       = { region = each.value }
}
component "db" {
  for_each = toset(["db-a", "db-b", "db-a"])
  name     = "pg-${each.value}"
  kind     = "database"
  provider = "cloudwatch"
}
alert "a" {
  components = [component.web-2, component.pg-db-a]
  metric     = "cpu"
  above      = 1
}
"##;
    let cfg = ok(main);
    assert_eq!(cfg.components["web-1"].tags["region"], "eu");
    assert_eq!(cfg.components["web-2"].identifier["host"], "web-2");
    assert!(cfg.components.contains_key("pg-db-a") && cfg.components.contains_key("pg-db-b"));
    assert_eq!(cfg.components.len(), 4);
    assert_eq!(cfg.inventories["p"].components, vec!["web-1", "web-2"]);
    assert_eq!(cfg.alerts["a"].components, vec!["web-2", "pg-db-a"]);
    assert!(cfg.edges.iter().any(|e| e.from == "component.web-1" && e.to == "local.hosts"));
    let d = err("component \"x\" {\n  for_each = 5\n  kind = \"server\"\n  provider = \"datadog\"\n}\n");
    find(&d, "`for_each` needs a map or a set of strings");
}

#[test]
fn duplicate_component_names_show_both_places() {
    let d = err_with(
        &[
            ("main.hcl", "inventory \"p\" { source = \"inv.csv\" }\ncomponent \"web-1\" {\n  kind = \"server\"\n  provider = \"datadog\"\n}\n"),
            ("inv.csv", "name,kind,provider\nweb-1,server,datadog\n"),
        ],
        |_| {},
    );
    let e = find(&d, "component `web-1` is defined more than once");
    assert!(e.detail.as_deref().unwrap().contains("inv.csv:2:1"), "{:?}", e.detail);
    assert!(e.span.as_ref().unwrap().file.ends_with("main.hcl"));
}

#[test]
fn component_validation_lists_allowed_values() {
    let d = err("component \"x\" {\n  kind = \"vm\"\n  provider = \"datadgo\"\n}\n");
    let kind = find(&d, "invalid kind `vm`");
    assert!(kind
        .hint
        .as_deref()
        .unwrap()
        .contains("`server`, `database`, `container`, `cloud_service`, `custom`"));
    let provider = find(&d, "invalid provider `datadgo`");
    assert!(provider.hint.as_deref().unwrap().starts_with("did you mean `datadog`?"));
    assert_eq!(at(provider), (3, 14));
}

#[test]
fn unknown_attribute_and_block_suggestions() {
    let text = "alert \"a\" {\n  metric = \"cpu\"\n  above = 1\n  severty = \"high\"\n}\nalret \"b\" {}\nroute \"r\" {\n  slak { channel = \"#x\" }\n}\n";
    let d = err(text);
    let attr = find(&d, "unknown attribute `severty`");
    assert_eq!(at(attr), pos(text, "severty"));
    assert!(attr.hint.as_deref().unwrap().starts_with("did you mean `severity`?"), "{:?}", attr.hint);
    let block = find(&d, "unknown block type `alret`");
    assert!(block.hint.as_deref().unwrap().starts_with("did you mean `alert`?"));
    let nested = find(&d, "unknown block `slak`");
    assert!(nested.hint.as_deref().unwrap().starts_with("did you mean `slack`?"));
}

#[test]
fn alert_and_route_validation() {
    let d = err(r##"
route "empty" {}
alert "both" {
  metric = "cpu"
  above  = 1
  below  = 2
}
alert "none" { metric = "cpu" }
alert "dur" {
  metric   = "cpu"
  above    = 90
  warning  = 95
  for      = "5 minutes"
  severity = "urgent"
}
alert "missing" { above = 1 }
"##);
    find(&d, "route `empty` has no targets");
    find(&d, "set either `above` or `below`, not both");
    find(&d, "an alert needs a threshold");
    find(&d, "invalid duration \"5 minutes\"");
    find(&d, "invalid severity `urgent`");
    find(&d, "missing the required attribute `metric`");
    let d = err("alert \"w\" {\n  metric = \"cpu\"\n  above = 90\n  warning = 95\n}\n");
    find(&d, "the warning threshold (95) must be lower than `above` (90)");
}

#[test]
fn state_backend_and_unknown_blocks() {
    // `s3` exists since issue 14: a missing key is a located error; an unknown backend still is one.
    let d = err("watchkeep {\n  state \"s3\" { bucket = \"x\" }\n}\n");
    let e = find(&d, "`state \"s3\"` needs a non-empty `key`");
    assert!(e.hint.as_deref().unwrap().contains("key = \"team/watchkeep.json\""));
    let d = err("watchkeep {\n  state \"gcs\" { bucket = \"x\" }\n}\n");
    let e = find(&d, "unknown state backend `gcs`");
    assert!(e.hint.as_deref().unwrap().contains("s3"), "{:?}", e.hint);
    let d = err(
        "watchkeep {\n  state \"s3\" {\n    bucket = \"x\"\n    key = \"a.json\"\n    path = \"p\"\n  }\n}\n",
    );
    let e = find(&d, "`path` is not an attribute of `state \"s3\"`");
    assert!(e.hint.as_deref().unwrap().contains("belongs to `state \"local\"`"), "{:?}", e.hint);
    let d = err("resource \"datadog_monitr\" \"x\" {}\n");
    let e = find(&d, "unknown resource type `datadog_monitr`");
    assert!(e.summary.contains("known: datadog_monitor, datadog_dashboard"));
    assert!(e.hint.as_deref().unwrap().starts_with("did you mean `datadog_monitor`?"));
    let d = err("provider \"pagerduty\" {}\nfoo = 1\n");
    find(&d, "unknown provider `pagerduty`");
    find(&d, "attribute `foo` is not allowed at the top level");
    let d = err("locals { a = 1 }\nlocals { a = 2 }\n");
    let dup = find(&d, "`local.a` is declared more than once");
    assert!(dup.detail.as_deref().unwrap().contains("main.hcl:1:10"));
}

#[test]
fn raw_resources_for_each_count_depends_on() {
    let main = r##"
resource "datadog_monitor" "base" {
  name  = "base"
  type  = "metric alert"
  query = "avg(last_5m):avg:system.load.1{*} > 2"
}
resource "datadog_monitor" "per_env" {
  for_each   = toset(["prod", "staging"])
  name       = "cpu ${each.key}"
  type       = "metric alert"
  query      = "avg(last_5m):avg:system.cpu.user{env:${each.value}} > 90"
  depends_on = [datadog_monitor.base]
}
resource "datadog_monitor" "numbered" {
  count = 2
  name  = "n${count.index}"
  type  = "metric alert"
  query = "x"
  monitor_thresholds {
    critical = 2
  }
  tag { k = "a" }
  tag { k = "b" }
}
resource "datadog_dashboard" "d" {
  title       = "Dash"
  layout_type = "ordered"
  widgets     = [{ note_definition = { content = datadog_monitor.per_env["prod"].address } }]
  widget {
    note_definition { content = "a" }
  }
  widget {
    note_definition { content = "b" }
  }
}
"##;
    let cfg = ok(main);
    let prod = &cfg.resources["datadog_monitor.per_env[\"prod\"]"];
    assert_eq!(prod.key.as_deref(), Some("prod"));
    assert_eq!(prod.attrs["name"], "cpu prod");
    assert_eq!(prod.depends_on, vec!["datadog_monitor.base"]);
    assert!(prod.attrs.get("depends_on").is_none() && prod.attrs.get("for_each").is_none());
    assert!(cfg.resources.contains_key("datadog_monitor.per_env[\"staging\"]"));
    let n1 = &cfg.resources["datadog_monitor.numbered[1]"];
    assert_eq!(n1.attrs["name"], "n1");
    assert_eq!(n1.attrs["monitor_thresholds"], json!({"critical": 2}));
    assert_eq!(n1.attrs["tag"], json!([{"k": "a"}, {"k": "b"}]));
    let d = &cfg.resources["datadog_dashboard.d"];
    assert_eq!(d.attrs["widgets"][0]["note_definition"]["content"], "datadog_monitor.per_env[\"prod\"]");
    assert_eq!(
        d.attrs["widget"],
        json!([{"note_definition": {"content": "a"}}, {"note_definition": {"content": "b"}}])
    );
    assert!(cfg
        .edges
        .iter()
        .any(|e| e.from == "datadog_monitor.per_env[\"prod\"]" && e.to == "datadog_monitor.base"));
    assert!(cfg
        .edges
        .iter()
        .any(|e| e.from == "datadog_dashboard.d" && e.to == "datadog_monitor.per_env[\"prod\"]"));
}

#[test]
fn resource_id_is_not_known_until_apply() {
    let text = "resource \"cloudwatch_metric_alarm\" \"a\" { AlarmName = \"a\" }\nresource \"cloudwatch_metric_alarm\" \"b\" {\n  AlarmName = \"b\"\n  AlarmDescription = \"${cloudwatch_metric_alarm.a.id}\"\n}\n";
    let d = err(text);
    let e = find(&d, "`cloudwatch_metric_alarm.a.id` is not known until apply; not supported yet");
    assert_eq!(at(e), pos(text, "cloudwatch_metric_alarm.a.id"));
    // A Datadog composite monitor names other monitors by id: a link the executor resolves.
    let cfg = ok("resource \"datadog_monitor\" \"a\" { name = \"a\" }\nresource \"datadog_monitor\" \"b\" {\n  name = \"b\"\n  type = \"composite\"\n  query = \"${datadog_monitor.a.id} && !${datadog_monitor.a.id}\"\n}\n");
    assert_eq!(
        cfg.resources["datadog_monitor.b"].attrs["query"],
        "ref:datadog_monitor.a && !ref:datadog_monitor.a"
    );
    assert!(cfg.edges.iter().any(|e| e.from == "datadog_monitor.b" && e.to == "datadog_monitor.a"));
    let d =
        err("resource \"datadog_monitor\" \"a\" { name = \"a\" }\nlocals { q = datadog_monitor.a.query }\n");
    find(&d, "`datadog_monitor.a.query` is not available at load time");
}

#[test]
fn new_relic_ids_are_references_the_provider_resolves() {
    let cfg = ok(r#"
resource "newrelic_alert_policy" "main" { name = "Checkout" }
resource "newrelic_nrql_condition" "latency" {
  policyId = newrelic_alert_policy.main.id
  name     = "Checkout latency"
}
"#);
    let c = &cfg.resources["newrelic_nrql_condition.latency"];
    assert_eq!(c.attrs["policyId"], "ref:newrelic_alert_policy.main");
    assert!(cfg
        .edges
        .iter()
        .any(|e| e.from == "newrelic_nrql_condition.latency" && e.to == "newrelic_alert_policy.main"));
    let objs = crate::compile::compile(&cfg).unwrap();
    let cond = objs.iter().find(|o| o.address == "newrelic_nrql_condition.latency").unwrap();
    assert_eq!(cond.provider, "newrelic");
    assert_eq!(cond.depends_on, vec!["newrelic_alert_policy.main".to_string()]);
}

#[test]
fn expressions_and_functions_end_to_end() {
    let main = r##"
variable "envs" { default = ["prod", "staging"] }
locals {
  msg       = file("message.txt")
  rows      = csvdecode(file("extra.csv"))
  decoded   = jsondecode("{\"a\": 1}")
  encoded   = jsonencode({ b = [1, 2] })
  upper_env = [for e in var.envs : upper(e) if e != "staging"]
  by_name   = { for r in local.rows : r.name => r.kind }
  first     = local.rows[0].name
  names     = local.rows[*].name
  total     = length(var.envs) * 10 + 1
  cond      = length(var.envs) > 1 ? "many" : "one"
  joined    = join("-", concat(var.envs, ["dev"]))
  merged    = merge({ a = 1 }, { b = lookup({ x = "y" }, "x", "z") })
  misc      = [format("%s=%d", "n", 3), lower("A"), trimspace(" t "), replace("a.b", ".", "_"), tostring(1), tonumber("2")]
  sets      = [distinct(["a", "a"]), flatten([["a"], ["b"]]), toset(["x", "x"]), range(2), keys({ k = 1 }), values({ k = 1 }), split(",", "a,b")]
  checks    = [contains(["a"], "a"), coalesce("", "c")]
  here      = path.module != ""
  doc       = <<-EOT
    Hosts: %{ for e in var.envs }${e} %{ endfor }
      indented
    EOT
}
"##;
    let cfg = ok_with(
        &[
            ("main.hcl", main),
            ("message.txt", "hello"),
            ("extra.csv", "name,kind\nweb-1,server\nweb-2,server\n"),
        ],
        |_| {},
    );
    let l = |k: &str| cfg.locals[k].clone();
    assert_eq!(l("msg"), "hello");
    assert_eq!(l("decoded"), json!({"a": 1}));
    assert_eq!(l("encoded"), r#"{"b":[1,2]}"#);
    assert_eq!(l("upper_env"), json!(["PROD"]));
    assert_eq!(l("by_name"), json!({"web-1": "server", "web-2": "server"}));
    assert_eq!(l("first"), "web-1");
    assert_eq!(l("names"), json!(["web-1", "web-2"]));
    assert_eq!(l("total"), json!(21));
    assert_eq!(l("cond"), "many");
    assert_eq!(l("joined"), "prod-staging-dev");
    assert_eq!(l("merged"), json!({"a": 1, "b": "y"}));
    assert_eq!(l("misc"), json!(["n=3", "a", "t", "a_b", "1", 2]));
    assert_eq!(l("sets"), json!([["a"], ["a", "b"], ["x"], [0, 1], ["k"], [1], ["a", "b"]]));
    assert_eq!(l("checks"), json!([true, "c"]));
    assert_eq!(l("here"), json!(true));
    assert_eq!(l("doc"), "Hosts: prod staging \n  indented\n");
}

#[test]
fn unknown_function_and_evaluation_errors_are_located() {
    let text = "locals {\n  a = uper(\"x\")\n  b = lookup({}, \"k\")\n  c = each.key\n  d = foo\n}\n";
    let d = err(text);
    let f = find(&d, "unknown function `uper`");
    assert_eq!(at(f), pos(text, "uper"));
    assert_eq!(f.hint.as_deref(), Some("did you mean `upper`?"));
    let call = find(&d, "call to `lookup` failed");
    assert_eq!(at(call), pos(text, "lookup"));
    find(&d, "`each` is only available in a block that sets `for_each`");
    let name = find(&d, "unknown name `foo`");
    assert_eq!(at(name), pos(text, "foo"));
}

#[test]
fn unknown_component_from_inventory_file() {
    let d = err_with(
        &[
            ("main.hcl", "inventory \"p\" { source = \"inv.csv\" }\nalert \"a\" {\n  components = [component.web-3]\n  metric = \"cpu\"\n  above = 1\n}\n"),
            ("inv.csv", "name,kind,provider\nweb-1,server,datadog\n"),
        ],
        |_| {},
    );
    let e = find(&d, "unknown reference `component.web-3`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `component.web-1`?"));
}

#[test]
fn modules_prefix_addresses() {
    let root = r##"
variable "key" { default = "k" }
module "team" {
  source  = "./modules/team"
  channel = "#team"
  key     = var.key
}
alert "uses_module" {
  metric = "cpu"
  above  = 1
  route  = module.team.route
}
"##;
    let module = r##"
variable "channel" {}
variable "key" {}
route "team" {
  slack { channel = var.channel }
  pagerduty { routing_key = var.key }
}
alert "cpu" {
  metric = "cpu"
  above  = 90
  route  = route.team
}
output "route" { value = route.team }
"##;
    let cfg = ok_with(&[("main.hcl", root), ("modules/team/main.hcl", module)], |_| {});
    let route = &cfg.routes["module.team.team"];
    assert_eq!(route.slack[0].channel, "#team");
    assert_eq!(cfg.alerts["module.team.cpu"].routes, vec!["module.team.team"]);
    assert_eq!(cfg.alerts["uses_module"].routes, vec!["module.team.team"]);
    assert!(cfg.addresses.contains_key("module.team.alert.cpu"));
    assert!(cfg.edges.iter().any(|e| e.from == "module.team.alert.cpu" && e.to == "module.team.route.team"));
    assert!(cfg.edges.iter().any(|e| e.from == "alert.uses_module" && e.to == "module.team.output.route"));
    assert_eq!(cfg.files.len(), 2);
    let d = err_with(
        &[
            ("main.hcl", "module \"m\" {\n  source = \"./m\"\n  chanel = 1\n}\n"),
            ("m/main.hcl", "variable \"channel\" {}\n"),
        ],
        |_| {},
    );
    let e = find(&d, "module `m` has no variable `chanel`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `channel`?"));
}

#[test]
fn empty_directory_and_render_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = load(&LoadOptions::new(dir.path())).unwrap_err();
    find(&d, "no *.hcl files");
    let d = err("alert \"a\" {\n  metric = \"cpu\"\n  above  = \"high\"\n}\n");
    let e = find(&d, "`above` must be a number");
    assert_eq!(at(e), (3, 12));
    let rendered = d.render(&[], false);
    assert!(rendered.starts_with("error: `above` must be a number, got string \"high\""), "{rendered}");
    assert!(rendered.contains("main.hcl:3:12"), "{rendered}");
    assert!(rendered.contains("= hint: write above = 85"), "{rendered}");
}

#[test]
fn format_source_is_idempotent_and_keeps_meaning() {
    let text = full_unformatted();
    let path = Path::new("main.hcl");
    let once = format_source(&text, path).unwrap();
    let twice = format_source(&once, path).unwrap();
    assert_eq!(once, twice);
    let a = hcl::Body::from(hcl::edit::parser::parse_body(&text).unwrap());
    let b = hcl::Body::from(hcl::edit::parser::parse_body(&once).unwrap());
    assert_eq!(a, b);
    assert!(once.contains("  site    = \"datadoghq.eu\"\n"), "{once}");
    let d = format_source("a = {\n", path).unwrap_err();
    assert!(d.iter().next().unwrap().span.is_some());
}

/// FULL with its layout scrambled.
fn full_unformatted() -> String {
    FULL.lines()
        .map(|l| {
            let t = l.trim_start();
            let t = t.replacen(" = ", "=", 1);
            format!("{}{t}   ", " ".repeat(t.len() % 5))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn schema_is_json() {
    let s = config_schema();
    assert_eq!(s["type"], "object");
    assert!(s["$defs"]["component"]["properties"]["kind"]["enum"].is_array());
}

#[test]
fn collects_many_diagnostics_at_once() {
    let text = "variable \"count\" { type = number }\nroute \"pagerduty\" {\n  email { to = [\"a@b.c\"] }\n}\nalert \"a\" {\n  metric = \"cpu\"\n  above  = var.count\n  route  = route.pager\n  severty = \"high\"\n}\nlocals {\n  a = local.b\n  b = upper(local.a)\n  c = lookup({}, \"x\")\n}\ncomponent \"x\" {\n  kind = \"vm\"\n  provider = \"datadog\"\n}\n";
    let d = err_with(&[("main.hcl", text)], |o| o.vars.push("count=abc".into()));
    for needle in [
        "invalid value for variable `count`",
        "unknown reference `route.pager`",
        "unknown attribute `severty`",
        "cycle: local.a → local.b → local.a",
        "call to `lookup` failed",
        "invalid kind `vm`",
    ] {
        let e = find(&d, needle);
        assert!(e.span.is_some() && e.hint.is_some(), "{needle}: every error has a location and a hint");
    }
    // Sorted by position.
    let lines: Vec<usize> = d.iter().filter_map(|e| e.span.as_ref().map(|s| s.line)).collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted);
}

#[test]
fn component_name_override_and_empty_instances() {
    let main = r#"
component "primary" {
  name     = "db-primary"
  kind     = "database"
  provider = "cloudwatch"
}
alert "a" {
  components = [component.primary, component.db-primary]
  metric     = "cpu"
  above      = 1
}
resource "datadog_monitor" "none" {
  count = 0
  name  = "x"
}
"#;
    let cfg = ok(main);
    assert_eq!(cfg.alerts["a"].components, vec!["db-primary", "db-primary"]);
    assert!(cfg.edges.iter().all(|e| e.to != "component.primary"));
    assert!(cfg.edges.iter().any(|e| e.from == "alert.a" && e.to == "component.db-primary"));
    assert!(cfg.resources.is_empty());
    assert!(cfg.addresses.contains_key("datadog_monitor.none"));
}

#[test]
fn module_source_errors() {
    let d = err("module \"me\" { source = \"./\" }\nmodule \"remote\" { source = \"git::https://x\" }\n");
    find(&d, "module `me` includes itself");
    find(&d, "module source `git::https://x` is not a local path");
    let d = err_with(
        &[("main.hcl", "module \"m\" { source = \"./m\" }\n"), ("m/main.hcl", "provider \"datadog\" {}\n")],
        |_| {},
    );
    find(&d, "`provider` blocks are only allowed in the root module");
}

#[test]
fn an_explicit_top_level_null_in_a_raw_resource_is_kept() {
    let cfg = ok("resource \"datadog_monitor\" \"a\" {\n  name = \"a\"\n  priority = null\n  options = { thresholds = { warning = null } }\n}\n");
    let attrs = &cfg.resources["datadog_monitor.a"].attrs;
    assert!(attrs.as_object().unwrap().contains_key("priority") && attrs["priority"].is_null(), "{attrs}");
    assert!(attrs["options"]["thresholds"]["warning"].is_null());
}

#[test]
fn email_smtp_block_is_decoded_and_its_password_must_be_sensitive() {
    let main = r##"
variable "smtp_password" { sensitive = true }
route "oncall" {
  email {
    to = ["oncall@example.com"]
    smtp {
      host     = "smtp.example.com"
      starttls = "opportunistic"
      username = "watchkeep"
      password = var.smtp_password
      from     = "watchkeep@example.com"
    }
  }
  pagerduty {
    routing_key = "k"
    events_url  = "http://127.0.0.1:9/v2/enqueue"
  }
}
"##;
    let cfg = ok_with(&[("main.hcl", main)], |o| {
        o.env.insert("WATCHKEEP_VAR_smtp_password".into(), "hunter2".into());
    });
    let smtp = cfg.routes["oncall"].email[0].smtp.clone().unwrap();
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.starttls.as_str()),
        ("smtp.example.com", 587, "opportunistic")
    );
    assert_eq!(smtp.password.as_deref(), Some("hunter2"));
    assert_eq!(
        cfg.routes["oncall"].pagerduty[0].events_url.as_deref(),
        Some("http://127.0.0.1:9/v2/enqueue")
    );

    // A password written in the configuration (or from a variable not marked sensitive) is refused.
    let plain = main.replace("password = var.smtp_password", "password = \"hunter2\"");
    let d = err_with(&[("main.hcl", plain.as_str())], |o| {
        o.env.insert("WATCHKEEP_VAR_smtp_password".into(), "other".into());
    });
    let rendered = d.render(&[], false);
    assert!(rendered.contains("the SMTP password must be the value of a sensitive variable"), "{rendered}");
    // Unknown attributes and bad values inside smtp are located errors.
    for (from, to, want) in [
        ("starttls = \"opportunistic\"", "prot = 25", "unknown attribute `prot` in the `smtp` block"),
        ("starttls = \"opportunistic\"", "starttls = \"always\"", "invalid starttls `always`"),
        ("username = \"watchkeep\"", "", "SMTP `username` and `password` go together"),
    ] {
        let bad = main.replace(from, to);
        let d = err_with(&[("main.hcl", bad.as_str())], |o| {
            o.env.insert("WATCHKEEP_VAR_smtp_password".into(), "hunter2".into());
        });
        let rendered = d.render(&[], false);
        assert!(rendered.contains(want) && !rendered.contains("hunter2"), "{rendered}");
    }
}

#[test]
fn state_s3_settings_are_read() {
    let cfg = ok("watchkeep {\n  state \"s3\" {\n    bucket = \"acme-state\"\n    key = \"team/watchkeep.json\"\n    region = \"eu-west-1\"\n    endpoint_url = \"http://127.0.0.1:9000\"\n    force_path_style = true\n  }\n}\n");
    let s3 = cfg.settings.state_s3.expect("s3 settings");
    assert_eq!((s3.bucket.as_str(), s3.key.as_str()), ("acme-state", "team/watchkeep.json"));
    assert_eq!(s3.region.as_deref(), Some("eu-west-1"));
    assert_eq!(s3.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
    assert!(s3.force_path_style);
    assert_eq!(cfg.settings.state_path, None);
    let d = err("watchkeep {\n  state \"s3\" {\n    bucket = \"b\"\n    key = \"k.json\"\n    endpoint_url = \"localhost:9000\"\n  }\n}\n");
    find(&d, "is not an http:// or https:// URL");
}

#[test]
fn a_utf8_bom_at_the_start_of_a_file_is_accepted() {
    let cfg = ok_with(
        &[
            ("main.hcl", "\u{feff}variable \"v\" { default = \"x\" }\n"),
            ("a.auto.wkvars", "\u{feff}v = \"from-wkvars\"\n"),
        ],
        |_| {},
    );
    assert_eq!(cfg.variables["v"].value, json!("from-wkvars"));
    // The text is kept as it is on disk, so spans stay byte offsets of the file.
    assert!(cfg.files[0].text.starts_with('\u{feff}'));
    let d = err_with(&[("main.hcl", "\u{feff}variable \"v\" { default = nope }\n")], |_| {});
    let e = d.iter().next().unwrap();
    let span = e.span.as_ref().unwrap();
    assert_eq!(&"\u{feff}variable \"v\" { default = nope }\n"[span.start..span.end], "nope", "{e:?}");
}

#[test]
fn configuration_files_are_confined_and_never_quoted_from_outside() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(dir.path().join("outside.csv"), "name,kind,provider\nTOPSECRET,server,datadog\n").unwrap();
    std::fs::write(conf.join("main.hcl"), "inventory \"p\" {\n  source = \"../outside.csv\"\n}\n").unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", conf.join("env.auto.wkvars")).unwrap();
    let d = load(&LoadOptions::new(&conf)).expect_err("refused");
    let rendered = d.render(&[], false);
    assert!(!rendered.contains("TOPSECRET") && !rendered.contains("PATH="), "{rendered}");
    let e = find(&d, "cannot read inventory source");
    assert!(
        e.summary.contains("outside the configuration")
            && e.hint.as_deref().unwrap().contains("WATCHKEEP_ALLOW_READ")
    );
    assert_eq!(at(e).0, 2, "located at the `source` attribute");
    find(&d, "never reads /proc");
    // The operator may allow the directory (not the configuration).
    std::fs::remove_file(conf.join("env.auto.wkvars")).unwrap();
    let mut opts = LoadOptions::new(&conf);
    opts.env.insert("WATCHKEEP_ALLOW_READ".into(), dir.path().display().to_string());
    let (cfg, _) = load(&opts).unwrap_or_else(|d| panic!("{}", d.render(&[], false)));
    assert!(cfg.components.contains_key("TOPSECRET"));
}

#[test]
fn a_fifo_named_like_a_configuration_file_is_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hcl"), "variable \"v\" { default = 1 }\n").unwrap();
    assert!(std::process::Command::new("mkfifo").arg(dir.path().join("x.hcl")).status().unwrap().success());
    let d = load(&LoadOptions::new(dir.path())).expect_err("refused");
    let e = find(&d, "cannot read `");
    assert!(e.summary.contains("x.hcl") && e.summary.contains("a FIFO"), "{}", e.summary);
}

#[test]
fn a_module_outside_the_configuration_is_refused_where_it_is_called() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    write_all(
        dir.path(),
        &[
            ("conf/main.hcl", "module \"m\" {\n  source = \"../mod\"\n}\n"),
            ("mod/main.hcl", "locals {\n  a = 1\n}\n"),
        ],
    );
    let d = load(&LoadOptions::new(&conf)).expect_err("refused");
    let e = find(&d, "cannot read module `m` from `../mod`");
    assert!(e.summary.contains("outside the configuration"), "{}", e.summary);
    assert_eq!(at(e), (2, 12));
    // In a git work tree (a repository's shared modules), it loads.
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    load(&LoadOptions::new(&conf)).unwrap_or_else(|d| panic!("{}", d.render(&[], false)));
}
