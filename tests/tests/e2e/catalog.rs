//! The full catalog end to end: one component of every kind on every vendor, from a raw
//! inventory CSV, under one baseline; applied to the Datadog stand-in, moto and the NerdGraph
//! stand-in, then planned again with nothing to change. Warnings reach `validate` and `plan`
//! (human and `--json`), and an unknown metric is one located error with the closest name.

use serde_json::{json, Value};
use watchkeep_tests::newrelic::ObjectKind;

use crate::support::*;

/// moto keeps state per region: no other test uses this one.
const REGION: &str = "eu-north-1";

/// Every kind × vendor, with the identifiers each vendor's rows read (Datadog tags, CloudWatch
/// dimensions, New Relic sample attributes).
const INVENTORY: &str = "\
name,kind,environment,owner,provider,identifier
dd-web,server,production,ops@example.com,datadog,host=dd-web
dd-db,database,production,data@example.com,datadog,dbinstanceidentifier=orders-prod
dd-app,container,production,ops@example.com,datadog,container_name=app
dd-lb,cloud_service,production,ops@example.com,datadog,loadbalancer=app/edge/50dc6c495c0c9188
cw-web,server,production,ops@example.com,cloudwatch,InstanceId=i-0123456789abcdef0
cw-db,database,production,data@example.com,cloudwatch,DBInstanceIdentifier=orders-prod
cw-app,container,production,ops@example.com,cloudwatch,ClusterName=prod;ServiceName=app
cw-lb,cloud_service,production,ops@example.com,cloudwatch,LoadBalancer=app/edge/50dc6c495c0c9188;TargetGroup=targetgroup/web/73e2d6bc24d8a067
nr-web,server,production,ops@example.com,newrelic,hostname=nr-web
nr-db,database,production,data@example.com,newrelic,displayName=orders-prod
nr-app,container,production,ops@example.com,newrelic,containerName=app
nr-lb,cloud_service,production,ops@example.com,newrelic,provider.loadBalancerName=edge
";

fn config() -> String {
    format!(
        r#"
variable "datadog_api_url" {{ type = string }}
variable "endpoint" {{ type = string }}
variable "newrelic_url" {{ type = string }}

provider "datadog" {{ api_url = var.datadog_api_url }}
provider "cloudwatch" {{
  region       = "{REGION}"
  endpoint_url = var.endpoint
}}
provider "newrelic" {{ api_url = var.newrelic_url }}

inventory "production" {{
  source      = "inventory.csv"
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}}

route "oncall" {{
  email {{ to = ["oncall@example.com"] }}
}}

baseline "soc2" {{
  scope = inventory.production
  route = route.oncall
}}
"#
    )
}

#[test]
fn every_kind_on_every_vendor_applies_and_the_next_plan_is_empty() {
    let (ws, nr_key) = Workspace::on_newrelic("catalog");
    let ws = ws.env("WATCHKEEP_VAR_endpoint", &moto().endpoint_url());
    ws.write("inventory.csv", INVENTORY).write("main.hcl", &config());

    // Every cell compiles without a warning: no kind lacks catalog rows.
    let v = ws.run(&["validate", "--json"]);
    v.expect_code(0);
    assert_eq!(v.json()["warning_count"], 0, "{}", v.stdout());

    let apply = ws.run(&["apply", "-auto-approve", "--json"]);
    apply.expect_code(0);
    let out = apply.json();
    assert_eq!(out["outcome"], "complete", "{out:#}");
    assert!(out["errors"].as_array().is_some_and(Vec::is_empty), "{out:#}");

    // One object per applicable cell: the baseline made exactly the catalog's core rows (and
    // its further rows) for each component, on each vendor.
    let addresses: Vec<String> = ws.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["address"].as_str().map(String::from))
        .collect();
    let core = |component: &str, applicable: &[&str], not: &[&str]| {
        for m in applicable {
            let a = format!("baseline.soc2[\"{component}\"].{m}");
            assert!(addresses.contains(&a), "{a} not applied: {addresses:#?}");
        }
        for m in not {
            let a = format!("baseline.soc2[\"{component}\"].{m}");
            assert!(!addresses.contains(&a), "{a} applied, but the catalog says not applicable");
        }
    };
    let all = ["cpu", "memory", "disk", "network", "uptime"];
    for c in ["dd-web", "dd-db", "cw-web", "cw-db", "cw-app", "nr-web", "nr-db"] {
        core(c, &all, &[]);
    }
    core("dd-app", &["cpu", "memory", "network", "uptime"], &["disk"]);
    core("nr-app", &["cpu", "memory", "network", "uptime"], &["disk"]);
    for c in ["dd-lb", "cw-lb", "nr-lb"] {
        core(c, &["network", "uptime"], &["cpu", "memory", "disk"]);
    }

    // The Datadog stand-in holds a monitor per Datadog cell (server 5, database 5, container 4,
    // load balancer 2), each accepted by its query validation.
    let monitors = ws.monitors();
    assert_eq!(monitors.len(), 16, "{monitors:#?}");
    let monitor_of = |addr_part: &str| -> &Value {
        monitors
            .iter()
            .find(|m| m["message"].as_str().is_some_and(|t| t.contains(addr_part)))
            .unwrap_or_else(|| panic!("no monitor for {addr_part}"))
    };
    let query_of = |addr_part: &str| monitor_of(addr_part)["query"].as_str().unwrap_or_default().to_string();
    // "Stopped reporting": alerts on no data after the `for` duration, never on a value.
    let rds_up = monitor_of("baseline.soc2[\"dd-db\"].uptime");
    assert_eq!(rds_up["options"]["notify_no_data"], true, "{rds_up:#}");
    assert_eq!(rds_up["options"]["no_data_timeframe"], 30, "{rds_up:#}");
    assert_eq!(rds_up["name"], "dd-db: RDS metrics not reporting for 30m", "{rds_up:#}");
    assert_eq!(
        query_of("baseline.soc2[\"dd-db\"].uptime"),
        "avg(last_30m):avg:aws.rds.cpuutilization{dbinstanceidentifier:orders-prod} < 0"
    );
    assert_eq!(
        query_of("baseline.soc2[\"dd-lb\"].uptime"),
        "min(last_5m):sum:aws.applicationelb.healthy_host_count{loadbalancer:app/edge/50dc6c495c0c9188} < 1"
    );
    let metric_monitors: Vec<&Value> = monitors.iter().filter(|m| m["type"] == "query alert").collect();
    assert_eq!(metric_monitors.len(), 15, "all but the host service check");
    for m in metric_monitors {
        let q = m["query"].as_str().unwrap();
        assert!(classic_metric_query(q), "not in the recorded monitor grammar: {q}");
    }
    // New Relic: one condition per New Relic cell (5 + 6 with connections + 4 + 2).
    let conditions = newrelic().objects(&nr_key, ObjectKind::NrqlCondition);
    assert_eq!(conditions.len(), 17, "{conditions:#?}");
    // Every NerdGraph document (each condition's NRQL included) passed the stand-in's schema
    // validation.
    let docs: Vec<_> = newrelic().documents().into_iter().filter(|d| d.api_key == nr_key).collect();
    assert!(!docs.is_empty());
    let bad: Vec<_> = docs.iter().filter(|d| !d.valid).collect();
    assert!(bad.is_empty(), "{bad:#?}");
    let nrql: Vec<&str> = conditions.iter().filter_map(|c| c["nrql"]["query"].as_str()).collect();
    assert!(
        nrql.contains(&"SELECT min(provider.healthyHostCount.Minimum) FROM LoadBalancerSample WHERE provider = 'AlbTargetGroup' AND `provider.loadBalancerName` = 'edge'"),
        "{nrql:#?}"
    );

    let again = ws.run(&["plan", "-detailed-exitcode", "--json"]);
    again.expect_code(0);
    let plan: Value = again.json();
    let changes: Vec<&Value> =
        plan["changes"].as_array().unwrap().iter().filter(|c| c["action"] != json!("no-op")).collect();
    assert!(changes.is_empty(), "perpetual diff: {changes:#?}");
}

/// A baseline over a `custom` component: the catalog's warning is printed by `validate` and
/// `plan`, and counted (and listed) by both with `--json`.
#[test]
fn warnings_are_printed_and_counted_by_validate_and_plan() {
    let ws = Workspace::new("catalog-warnings");
    ws.write(
        "inventory.csv",
        "name,kind,environment,owner,provider,identifier\nweb-1,server,production,ops@example.com,datadog,host=web-1\nqueue-1,custom,production,ops@example.com,datadog,queue=orders\n",
    )
    .write(
        "main.hcl",
        r#"
variable "datadog_api_url" { type = string }
provider "datadog" { api_url = var.datadog_api_url }
inventory "production" {
  source      = "inventory.csv"
  reviewed_on = "2026-11-01"
}
route "oncall" {
  email { to = ["oncall@example.com"] }
}
baseline "soc2" {
  scope = inventory.production
  route = route.oncall
}
"#,
    );
    let needle = "no core metrics for kind `custom` on datadog";

    let v = ws.run(&["validate"]);
    v.expect_code(0);
    assert!(v.stderr().contains(needle), "validate did not print the warning:\n{}", v.stderr());
    assert!(v.stderr().contains("inventory.csv:3:"), "{}", v.stderr());

    let vj = ws.run(&["validate", "--json"]);
    vj.expect_code(0);
    let out = vj.json();
    assert!(out["warning_count"].as_u64() >= Some(1), "{out:#}");
    assert!(out["diagnostics"].to_string().contains(needle), "{out:#}");
    assert_matches_schema("validate.schema.json", &out);

    let p = ws.run(&["plan"]);
    p.expect_code(0);
    assert!(p.stderr().contains(needle), "plan did not print the warning:\n{}", p.stderr());

    let pj = ws.run(&["plan", "--json"]);
    pj.expect_code(0);
    let out = pj.json();
    assert!(out["warning_count"].as_u64() >= Some(1), "{out:#}");
    assert_eq!(out["warning_count"].as_u64(), Some(out["warnings"].as_array().unwrap().len() as u64));
    assert!(out["warnings"].to_string().contains(needle), "{out:#}");
    assert_matches_schema("plan.schema.json", &out);
    // And on stderr, for whoever reads the JSON from stdout.
    assert!(pj.stderr().contains(needle), "{}", pj.stderr());

    // The nightly drift job says it too.
    let d = ws.run(&["drift"]);
    d.expect_code(0);
    assert!(
        d.stderr().contains(needle),
        "drift did not print the warning:
{}",
        d.stderr()
    );
}

/// Whether `q` has the shape of the classic metric monitor queries in the recorded cassettes
/// (PyPI `datadog-api-client` 2.62.0, `tests/*/cassettes/test_scenarios/`):
/// `avg(last_5m):sum:system.net.bytes_rcvd{host:host0} > 100`
/// (v2 `test_update_a_monitor_user_template_to_a_new_version_returns_ok_response.yaml`),
/// `avg(last_30m):avg:synthetics.pl.worker.remaining_slots{*} by {location_id} < 1.5` (v1
/// `test_monitors_search_returns_ok_response.yaml`), metrics with `.as_count()` (v1
/// `test_get_all_slos_returns_ok_response.yaml`; `.as_rate()` is its documented sibling, not
/// recorded), and arithmetic between terms as the server rows already send
/// (`100 - avg:system.cpu.idle{…}`).
fn classic_metric_query(q: &str) -> bool {
    let aggs = ["avg", "min", "max", "sum"];
    let Some((head, rest)) = q.split_once("):") else { return false };
    let Some((agg, window)) = head.split_once("(last_") else { return false };
    let unit_ok = window.len() > 1
        && window[..window.len() - 1].chars().all(|c| c.is_ascii_digit())
        && window.ends_with(['m', 'h', 'd']);
    if !aggs.contains(&agg) || !unit_ok {
        return false;
    }
    let Some((expr, threshold)) = rest.rsplit_once(' ') else { return false };
    let Some((expr, op)) = expr.rsplit_once(' ') else { return false };
    if threshold.parse::<f64>().is_err() || !["<", ">", "<=", ">="].contains(&op) {
        return false;
    }
    let expr = match expr.split_once(" by {") {
        Some((e, group)) if group.ends_with('}') && !group.contains(' ') => e,
        Some(_) => return false,
        None => expr,
    };
    let term = |t: &str| -> bool {
        if t.parse::<f64>().is_ok() {
            return true;
        }
        let t = t.strip_suffix(".as_rate()").or_else(|| t.strip_suffix(".as_count()")).unwrap_or(t);
        let Some((agg, metric)) = t.split_once(':') else { return false };
        let Some((name, scope)) = metric.split_once('{') else { return false };
        aggs.contains(&agg)
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            && scope.ends_with('}')
            && !scope[..scope.len() - 1].contains(['{', '}', ' '])
    };
    expr.split(' ')
        .enumerate()
        .all(|(i, t)| if i % 2 == 0 { term(t) } else { ["+", "-", "*", "/"].contains(&t) })
}

#[test]
fn the_grammar_check_refuses_what_datadog_would() {
    assert!(classic_metric_query("avg(last_5m):sum:system.net.bytes_rcvd{host:host0} > 100"));
    assert!(classic_metric_query(
        "avg(last_30m):avg:synthetics.pl.worker.remaining_slots{*} by {location_id} < 1.5"
    ));
    assert!(!classic_metric_query("avg(last_5m):sum:system.net.bytes_rcvd{host:host0}"));
    assert!(!classic_metric_query("avg(last_5x):sum:system.net.bytes_rcvd{host:host0} > 1"));
    assert!(!classic_metric_query("avg(last_5m):system.net.bytes_rcvd{host:host0} > 1"));
    assert!(!classic_metric_query("avg(last_5m):sum:a{x} ^ sum:b{y} > 1"));
}
