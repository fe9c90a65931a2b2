//! Benchmark: a no-change plan over N monitors against a vendor stand-in (Datadog, or New Relic's
//! NerdGraph) with per-request latency, measured with the real `watchkeep` binary; the same
//! refresh done the way Terraform does it (one read per object, 10 at a time) for comparison; and
//! config load + compile alone.
//!
//! Run (release build of both binaries first):
//!   cargo build --release --workspace --bins && target/release/watchkeep-bench
//!   target/release/watchkeep-bench --sizes 1000,10000 --latency-ms 20
//!   target/release/watchkeep-bench --vendor newrelic --sizes 1000,4000,10000 --latency-ms 20
//!   target/release/watchkeep-bench --vendor cloudwatch --sizes 1000
//!
//! `--vendor cloudwatch` instead applies N metric alarms to the awsQuery stand-in enforcing
//! CloudWatch's published API quotas (PutMetricAlarm 3/s, ...) and reports the achieved
//! PutMetricAlarm rate, the throttling answers, and the no-change plan after it.
//!
//! `WATCHKEEP_TIMINGS=1` in the bench's environment also echoes the plan's per-phase timings.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::{json, Value};
use watchkeep_tests::newrelic::PageSizes;
use watchkeep_tests::{DatadogStandIn, NewRelicOptions, NewRelicStandIn, StandInOptions};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Vendor {
    /// The Datadog stand-in (REST, one monitor per object).
    Datadog,
    /// The New Relic NerdGraph stand-in (GraphQL, one NRQL condition per object).
    Newrelic,
    /// The awsQuery CloudWatch stand-in enforcing AWS's published API quotas (apply of N alarms).
    Cloudwatch,
}

#[derive(Parser)]
#[command(about = "Measure watchkeep's no-change plan against the Datadog or New Relic stand-in")]
struct Args {
    /// Vendor (stand-in) to measure against.
    #[arg(long, value_enum, default_value_t = Vendor::Datadog)]
    vendor: Vendor,
    /// Numbers of monitors to measure (multiples of 5: each server gets the 5 core monitors).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    sizes: Vec<usize>,
    /// Latency the stand-in adds to every request.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Concurrency of the Terraform-style refresh.
    #[arg(long, default_value_t = 10)]
    terraform_parallelism: usize,
    /// Emulated vendor limit (requests per second) for the apply measurement; 0 skips it.
    /// Datadog only (the NerdGraph stand-in limits concurrency, not rate).
    #[arg(long, default_value_t = 100)]
    apply_limit: u64,
    /// Window of the emulated limit in seconds: the vendor allows `apply_limit × apply_period`
    /// requests per window (Datadog counts per multi-second period and reports the reset in
    /// whole seconds).
    #[arg(long, default_value_t = 10)]
    apply_period: u64,
}

const API_KEY: &str = "bench-api-key";
/// A New Relic user key as the NerdGraph stand-in accepts it (`NRAK-` and letters or digits).
const NR_API_KEY: &str = "NRAK-BENCH0001";
/// Concurrent requests New Relic allows per user; the setup apply uses as many.
const NR_PARALLELISM: usize = 25;

fn main() {
    let args = Args::parse();
    let bin = match watchkeep_bin() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    match args.vendor {
        Vendor::Datadog => println!(
            "watchkeep no-change plan benchmark (stand-in latency {} ms per request)",
            args.latency_ms
        ),
        Vendor::Newrelic => println!(
            "watchkeep no-change plan benchmark on New Relic (NerdGraph stand-in, latency {} ms per request)",
            args.latency_ms
        ),
        Vendor::Cloudwatch => println!(
            "watchkeep apply benchmark on CloudWatch (awsQuery stand-in enforcing AWS's published API quotas)"
        ),
    }
    if args.vendor == Vendor::Cloudwatch {
        cloudwatch_bench(&bin, &args);
        return;
    }
    println!("binary: {}\n", bin.display());
    let mut rows = Vec::new();
    for &n in &args.sizes {
        match run_size(&bin, n, &args) {
            Ok(r) => rows.push(r),
            Err(e) => {
                eprintln!("N = {n}: {e}");
                std::process::exit(1);
            }
        }
    }
    if args.vendor == Vendor::Newrelic {
        println!(
            "\nNew Relic (NerdGraph stand-in, {} ms per request; Terraform-style = one nrqlCondition query per condition, {} at a time):",
            args.latency_ms, args.terraform_parallelism
        );
    }
    println!(
        "\n| objects | plan API calls | plan wall (s) | plan peak RSS (MB) | load+compile (s) | Terraform-style refresh calls | Terraform-style wall (s) | speed-up |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let speed_up = r.tf_wall.as_secs_f64() / r.plan_wall.as_secs_f64().max(1e-9);
        // Whole numbers as before; a slow-down keeps its digits instead of printing `0×`.
        let speed_up = if speed_up >= 1.0 { format!("{speed_up:.0}") } else { format!("{speed_up:.2}") };
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.2} | {} | {:.2} | {speed_up}× |",
            r.n,
            r.plan_calls,
            r.plan_wall.as_secs_f64(),
            r.plan_rss as f64 / 1e6,
            r.compile_wall.as_secs_f64(),
            r.tf_calls,
            r.tf_wall.as_secs_f64(),
        );
    }
    match args.vendor {
        Vendor::Datadog => {
            println!("\ntargets for 10,000 objects: under 20 API calls, under 2 s, under 200 MB")
        }
        Vendor::Cloudwatch => unreachable!("measured by cloudwatch_bench"),
        Vendor::Newrelic => {
            let p = PageSizes::default();
            println!(
                "\nNerdGraph lists in cursor pages (stand-in page sizes: policies and NRQL conditions {}, \
                 destinations and channels {}, workflows {}, entities {}), so each search is read page \
                 after page:",
                p.alerts, p.notifications, p.workflows, p.entities
            );
            for r in &rows {
                println!("  {} objects: {} `actor` queries ({})", r.n, r.actor_queries, r.breakdown);
            }
        }
    }

    if args.vendor == Vendor::Newrelic {
        println!(
            "\napply under an emulated limit: skipped for New Relic (the NerdGraph stand-in limits \
             concurrency, {NR_PARALLELISM} requests in flight per user, not rate)"
        );
        return;
    }
    if args.apply_limit == 0 {
        return;
    }
    println!(
        "\napply of N creates under an emulated limit of {} requests per second ({} per {} s window; latency {} ms):",
        args.apply_limit,
        args.apply_limit * args.apply_period,
        args.apply_period,
        args.latency_ms
    );
    let mut rows = Vec::new();
    for &n in &args.sizes {
        match apply_under_limit(&bin, n, &args) {
            Ok(r) => rows.push(r),
            Err(e) => {
                eprintln!("N = {n}: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("\n| creates | wall (s) | requests | achieved req/s | share of the limit | 429s | 429 share |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let rps = r.requests as f64 / r.wall.as_secs_f64();
        println!(
            "| {} | {:.1} | {} | {:.1} | {:.0} % | {} | {:.2} % |",
            r.n,
            r.wall.as_secs_f64(),
            r.requests,
            rps,
            100.0 * rps / args.apply_limit as f64,
            r.throttled,
            100.0 * r.throttled as f64 / r.requests.max(1) as f64
        );
    }
    println!("\ntargets: at least 90 % of the allowed rate, 429s under 1 % of requests");
}

struct ApplyRow {
    n: usize,
    wall: Duration,
    requests: u64,
    throttled: u64,
}

fn apply_under_limit(bin: &Path, n: usize, args: &Args) -> Result<ApplyRow, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    write_config(dir.path(), n.div_ceil(5), Vendor::Datadog).map_err(|e| e.to_string())?;
    let standin = DatadogStandIn::start(StandInOptions {
        latency: Duration::from_millis(args.latency_ms),
        rate_limit: Some((args.apply_limit * args.apply_period, args.apply_period)),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    eprint!("N = {n}: apply under {} req/s … ", args.apply_limit);
    let env = datadog_env(&standin.base_url());
    let (_, out, wall) = watchkeep(bin, dir.path(), &env, &["apply", "-auto-approve", "--json"])?;
    if out["outcome"] != "complete" {
        return Err(format!("apply did not complete: {out}"));
    }
    let requests = standin.request_count();
    let throttled = standin.rate_limited_count();
    eprintln!(
        "{} created in {:.1} s, {requests} requests, {throttled} answered 429",
        out["counts"]["create"],
        wall.as_secs_f64()
    );
    Ok(ApplyRow { n, wall, requests, throttled })
}

struct Row {
    n: usize,
    plan_calls: u64,
    plan_wall: Duration,
    plan_rss: u64,
    compile_wall: Duration,
    tf_calls: u64,
    tf_wall: Duration,
    /// New Relic: documents of the plan asking for `actor`, and what they listed.
    actor_queries: u64,
    breakdown: String,
}

/// A running stand-in of either vendor.
enum StandIn {
    Datadog(DatadogStandIn),
    NewRelic(NewRelicStandIn),
}

impl StandIn {
    fn start(vendor: Vendor, latency: Duration) -> Result<StandIn, String> {
        match vendor {
            Vendor::Datadog => {
                DatadogStandIn::start(StandInOptions { latency, rate_limit: None, ..Default::default() })
                    .map(StandIn::Datadog)
            }
            Vendor::Newrelic => NewRelicStandIn::start(NewRelicOptions { latency, ..Default::default() })
                .map(StandIn::NewRelic),
            Vendor::Cloudwatch => return Err("measured by cloudwatch_bench".to_string()),
        }
        .map_err(|e| e.to_string())
    }

    /// The environment `watchkeep` needs to talk to this stand-in.
    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            StandIn::Datadog(s) => datadog_env(&s.base_url()),
            StandIn::NewRelic(s) => vec![
                ("NEW_RELIC_API_KEY", NR_API_KEY.to_string()),
                ("NEW_RELIC_ACCOUNT_ID", s.account_id(NR_API_KEY).to_string()),
                ("WATCHKEEP_VAR_newrelic_api_url", s.base_url()),
            ],
        }
    }

    fn request_count(&self) -> u64 {
        match self {
            StandIn::Datadog(s) => s.request_count(),
            StandIn::NewRelic(s) => s.request_count(),
        }
    }

    fn reset_request_count(&self) {
        match self {
            StandIn::Datadog(s) => s.reset_request_count(),
            StandIn::NewRelic(s) => s.reset_request_count(),
        }
    }
}

fn datadog_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DD_API_KEY", API_KEY.to_string()),
        ("DD_APP_KEY", "bench-app-key".to_string()),
        ("WATCHKEEP_VAR_datadog_api_url", url.to_string()),
    ]
}

fn watchkeep_bin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no exe dir")?;
    let bin = dir.join("watchkeep");
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} is missing: build it with `cargo build --release --workspace --bins`", bin.display()))
    }
}

fn write_config(dir: &Path, servers: usize, vendor: Vendor) -> std::io::Result<()> {
    match vendor {
        Vendor::Cloudwatch => Err(std::io::Error::other("CloudWatch uses write_cloudwatch_config")),
        Vendor::Datadog => {
            std::fs::write(dir.join("inventory.csv"), inventory_csv(0..servers, "datadog", "host"))?;
            std::fs::write(
                dir.join("main.hcl"),
                r##"
variable "datadog_api_url" { type = string }
provider "datadog" { api_url = var.datadog_api_url }
inventory "fleet" {
  source      = "inventory.csv"
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}
route "oncall" {
  slack { channel = "#ops" }
  email { to = ["oncall@example.com"] }
}
baseline "soc2" {
  scope = inventory.fleet
  route = route.oncall
}
"##,
            )
        }
        // New Relic holds at most 1,000 conditions per alert policy (one policy per block), so
        // the fleet is split into inventories of 200 servers, each with its baseline. Slack on
        // New Relic needs an incoming-webhook URL: email only.
        Vendor::Newrelic => {
            let mut main = String::from(
                r##"
variable "newrelic_api_url" { type = string }
provider "newrelic" { api_url = var.newrelic_api_url }
route "oncall" {
  email { to = ["oncall@example.com"] }
}
"##,
            );
            for (g, start) in (0..servers).step_by(200).enumerate() {
                let file = format!("fleet-{g:02}.csv");
                std::fs::write(
                    dir.join(&file),
                    inventory_csv(start..(start + 200).min(servers), "newrelic", "hostname"),
                )?;
                main.push_str(&format!(
                    r##"
inventory "fleet{g:02}" {{
  source      = "{file}"
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}}
baseline "soc2_{g:02}" {{
  scope = inventory.fleet{g:02}
  route = route.oncall
}}
"##
                ));
            }
            std::fs::write(dir.join("main.hcl"), main)
        }
    }
}

fn inventory_csv(hosts: std::ops::Range<usize>, provider: &str, id_key: &str) -> String {
    let mut csv = String::from("name,kind,environment,owner,provider,identifier\n");
    for i in hosts {
        csv.push_str(&format!(
            "host-{i:05},server,production,team-{}@example.com,{provider},{id_key}=host-{i:05}\n",
            i % 7
        ));
    }
    csv
}

fn watchkeep(
    bin: &Path,
    dir: &Path,
    env: &[(&'static str, String)],
    args: &[&str],
) -> Result<(i32, Value, Duration), String> {
    let mut cmd = Command::new(bin);
    cmd.args(args).current_dir(dir);
    // Never the caller's own vendor credentials or endpoints.
    for (k, _) in std::env::vars_os() {
        if k.to_str()
            .is_some_and(|k| k.starts_with("DD_") || k.starts_with("NEW_RELIC_") || k.starts_with("AWS_"))
        {
            cmd.env_remove(k);
        }
    }
    // The stand-ins listen on loopback: allowed by the operator, outside the configuration.
    cmd.env("WATCHKEEP_ALLOW_ENDPOINTS", "http://127.0.0.1,http://localhost,http://[::1]");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t = Instant::now();
    let out = cmd.output().map_err(|e| e.to_string())?;
    let wall = t.elapsed();
    let code = out.status.code().unwrap_or(-1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if code == 1 {
        return Err(format!("watchkeep {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    if args.first() == Some(&"plan") && std::env::var_os("WATCHKEEP_TIMINGS").is_some_and(|v| v == "1") {
        eprint!("\n{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((code, v, wall))
}

fn run_size(bin: &Path, n: usize, args: &Args) -> Result<Row, String> {
    let servers = n.div_ceil(5);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    write_config(dir.path(), servers, args.vendor).map_err(|e| e.to_string())?;
    let standin = StandIn::start(args.vendor, Duration::from_millis(args.latency_ms))?;
    let env = standin.env();

    eprint!("N = {n}: apply (setup) … ");
    let parallelism = match args.vendor {
        Vendor::Datadog => "-parallelism=64".to_string(),
        Vendor::Newrelic => format!("-parallelism={NR_PARALLELISM}"),
        Vendor::Cloudwatch => return Err("measured by cloudwatch_bench".to_string()),
    };
    let (_, applied, wall) =
        watchkeep(bin, dir.path(), &env, &["apply", "-auto-approve", &parallelism, "--json"])?;
    if args.vendor == Vendor::Newrelic && applied["outcome"] != "complete" {
        return Err(format!("apply did not complete after {:.1} s: {applied}", wall.as_secs_f64()));
    }
    eprintln!("{} created in {:.1} s", applied["counts"]["create"], wall.as_secs_f64());

    eprint!("N = {n}: config load + compile … ");
    let (_, v, compile_wall) = watchkeep(bin, dir.path(), &env, &["validate", "--json"])?;
    eprintln!("{} objects in {:.2} s", v["objects"], compile_wall.as_secs_f64());

    eprint!("N = {n}: no-change plan … ");
    standin.reset_request_count();
    let (code, plan, plan_wall) =
        watchkeep(bin, dir.path(), &env, &["plan", "-detailed-exitcode", "--json"])?;
    if code != 0 {
        return Err(format!("the plan after apply was not empty (exit {code})"));
    }
    let plan_calls = standin.request_count();
    let reported = plan["stats"]["api_calls"].as_u64().unwrap_or(0);
    let rss = plan["stats"]["peak_rss_bytes"].as_u64().unwrap_or(0);
    let (actor_queries, breakdown) = match &standin {
        StandIn::Datadog(_) => (0, String::new()),
        StandIn::NewRelic(s) => (s.requests_for("actor"), nerdgraph_breakdown(s)),
    };
    match args.vendor {
        Vendor::Datadog => eprintln!(
            "{plan_calls} calls (watchkeep counted {reported}), {:.2} s",
            plan_wall.as_secs_f64()
        ),
        Vendor::Newrelic => eprintln!(
            "{plan_calls} calls (watchkeep counted {reported}; {actor_queries} `actor` queries: {breakdown}), {:.2} s",
            plan_wall.as_secs_f64()
        ),
        Vendor::Cloudwatch => unreachable!("measured by cloudwatch_bench"),
    }

    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".watchkeep/state.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let resources = state["resources"].as_array().map(Vec::as_slice).unwrap_or_default();
    standin.reset_request_count();
    let tf_wall = match &standin {
        StandIn::Datadog(s) => {
            eprint!(
                "N = {n}: Terraform-style refresh (GET per object, {} at a time) … ",
                args.terraform_parallelism
            );
            let ids: Vec<String> =
                resources.iter().filter_map(|r| r["id"].as_str().map(String::from)).collect();
            terraform_style(&s.base_url(), &ids, args.terraform_parallelism)?
        }
        StandIn::NewRelic(s) => {
            eprint!(
                "N = {n}: Terraform-style refresh (nrqlCondition query per condition, {} at a time) … ",
                args.terraform_parallelism
            );
            let ids: Vec<String> = resources
                .iter()
                .filter(|r| r["resource_type"] == "newrelic_nrql_condition")
                .filter_map(|r| r["id"].as_str().map(String::from))
                .collect();
            terraform_style_newrelic(
                &s.base_url(),
                s.account_id(NR_API_KEY),
                &ids,
                args.terraform_parallelism,
            )?
        }
    };
    let tf_calls = standin.request_count();
    eprintln!("{tf_calls} calls, {:.2} s", tf_wall.as_secs_f64());

    Ok(Row {
        n,
        plan_calls,
        plan_wall,
        plan_rss: rss,
        compile_wall,
        tf_calls,
        tf_wall,
        actor_queries,
        breakdown,
    })
}

/// What the plan's NerdGraph documents asked for (by the list or lookup field they call), e.g.
/// `nrqlConditionsSearch 200, policiesSearch 3`.
fn nerdgraph_breakdown(standin: &NewRelicStandIn) -> String {
    const LISTS: [&str; 8] = [
        "nrqlConditionsSearch",
        "policiesSearch",
        "destinations",
        "channels",
        "workflows",
        "entitySearch",
        "incidents",
        "nrqlCondition",
    ];
    let mut counts = [0u64; LISTS.len() + 1];
    for d in standin.documents() {
        // The field called with arguments (`destinations(cursor: …)`), not a selection that
        // merely starts with the same word (`destinationsEnabled`).
        let called = |l: &&str| {
            d.query.match_indices(*l).any(|(i, _)| d.query[i + l.len()..].trim_start().starts_with('('))
        };
        let i = LISTS.iter().position(called).unwrap_or(LISTS.len());
        counts[i] += 1;
    }
    let mut parts: Vec<String> =
        LISTS.iter().zip(counts).filter(|(_, c)| *c > 0).map(|(l, c)| format!("{l} {c}")).collect();
    if counts[LISTS.len()] > 0 {
        parts.push(format!("other {}", counts[LISTS.len()]));
    }
    parts.join(", ")
}

fn terraform_style(url: &str, ids: &[String], parallelism: usize) -> Result<Duration, String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let client = reqwest::Client::new();
        let sem = Arc::new(tokio::sync::Semaphore::new(parallelism));
        let failures = Arc::new(AtomicU64::new(0));
        let t = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for id in ids {
            let (client, sem, failures) = (client.clone(), sem.clone(), failures.clone());
            let u = format!("{url}/api/v1/monitor/{id}");
            tasks.spawn(async move {
                let _permit = sem.acquire().await;
                let ok = client
                    .get(u)
                    .header("DD-API-KEY", API_KEY)
                    .header("DD-APPLICATION-KEY", "bench-app-key")
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        let wall = t.elapsed();
        match failures.load(Ordering::Relaxed) {
            0 => Ok(wall),
            f => Err(format!("{f} Terraform-style reads failed")),
        }
    })
}

/// The New Relic Terraform provider's refresh: one `nrqlCondition(id)` query per condition.
const NRQL_CONDITION_QUERY: &str = "query($a: Int!, $id: ID!) { actor { account(id: $a) { alerts { \
                                    nrqlCondition(id: $id) { id name } } } } }";

fn terraform_style_newrelic(
    url: &str,
    account_id: i64,
    ids: &[String],
    parallelism: usize,
) -> Result<Duration, String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let client = reqwest::Client::new();
        let sem = Arc::new(tokio::sync::Semaphore::new(parallelism));
        let failures = Arc::new(AtomicU64::new(0));
        let first_failure = Arc::new(std::sync::Mutex::new(None::<String>));
        let u = format!("{url}/graphql");
        let t = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for id in ids {
            let (client, sem, failures, first_failure, u) =
                (client.clone(), sem.clone(), failures.clone(), first_failure.clone(), u.clone());
            let body = json!({"query": NRQL_CONDITION_QUERY, "variables": {"a": account_id, "id": id}});
            let id = id.clone();
            tasks.spawn(async move {
                let _permit = sem.acquire().await;
                let answer = async {
                    let resp = client.post(u).header("API-Key", NR_API_KEY).json(&body).send().await;
                    let resp = resp.map_err(|e| e.to_string())?;
                    let status = resp.status();
                    let v: Value = resp.json().await.map_err(|e| e.to_string())?;
                    let found = &v["data"]["actor"]["account"]["alerts"]["nrqlCondition"]["id"];
                    if status.is_success() && v.get("errors").is_none() && found.as_str() == Some(id.as_str())
                    {
                        Ok(())
                    } else {
                        Err(format!("condition {id}: HTTP {status}: {v}"))
                    }
                }
                .await;
                if let Err(e) = answer {
                    failures.fetch_add(1, Ordering::Relaxed);
                    first_failure.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        let wall = t.elapsed();
        match failures.load(Ordering::Relaxed) {
            0 => Ok(wall),
            f => {
                let first =
                    first_failure.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
                Err(format!("{f} Terraform-style reads failed; the first: {first}"))
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// CloudWatch: an apply of N alarms paced to AWS's published quotas.

/// AWS's PutMetricAlarm quota (requests per second per account and region), as the stand-in
/// enforces it.
fn put_metric_alarm_quota() -> f64 {
    watchkeep_tests::aws::PUBLISHED_QUOTAS
        .iter()
        .find(|(action, _)| *action == "PutMetricAlarm")
        .map_or(3.0, |(_, q)| *q)
}

/// N metric alarms as one raw `resource "cloudwatch_metric_alarm"` block with `count`. Raw
/// alarms without actions rather than components with a route: a route on CloudWatch is SNS
/// topics and subscriptions, which the Query stand-in does not serve, and the point here is the
/// pace of PutMetricAlarm, not SNS.
fn write_cloudwatch_config(dir: &Path, n: usize) -> std::io::Result<()> {
    std::fs::write(
        dir.join("main.hcl"),
        format!(
            r##"
variable "cloudwatch_endpoint" {{ type = string }}
provider "cloudwatch" {{
  region       = "us-east-1"
  endpoint_url = var.cloudwatch_endpoint
}}
resource "cloudwatch_metric_alarm" "cpu" {{
  count              = {n}
  AlarmName          = "bench-cpu-${{count.index}}"
  AlarmDescription   = "CPU of bench instance ${{count.index}}"
  Namespace          = "AWS/EC2"
  MetricName         = "CPUUtilization"
  Dimensions         = [{{ Name = "InstanceId", Value = "i-bench-${{count.index}}" }}]
  Statistic          = "Average"
  Period             = 300
  EvaluationPeriods  = 2
  Threshold          = 80
  ComparisonOperator = "GreaterThanThreshold"
  TreatMissingData   = "missing"
}}
"##
        ),
    )
}

struct CloudWatchRow {
    n: usize,
    apply_wall: Duration,
    puts: u64,
    apply_requests: u64,
    throttled: u64,
    plan_calls: u64,
    plan_throttled: u64,
    plan_wall: Duration,
}

fn cloudwatch_bench(bin: &Path, args: &Args) {
    let quota = put_metric_alarm_quota();
    println!(
        "stand-in quotas (requests per second, token bucket of one second's worth): {}",
        watchkeep_tests::aws::PUBLISHED_QUOTAS
            .iter()
            .map(|(a, q)| format!("{a} {q}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("binary: {}\n", bin.display());
    let mut rows = Vec::new();
    for &n in &args.sizes {
        match cloudwatch_size(bin, n) {
            Ok(r) => rows.push(r),
            Err(e) => {
                eprintln!("N = {n}: {e}");
                std::process::exit(1);
            }
        }
    }
    println!(
        "\n| alarms | apply wall (s) | apply requests | PutMetricAlarm calls | PutMetricAlarm/s | share of the {quota}/s quota | throttling errors | no-change plan API calls | plan wall (s) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let rate = r.puts as f64 / r.apply_wall.as_secs_f64().max(1e-9);
        println!(
            "| {} | {:.1} | {} | {} | {:.2} | {:.0} % | {} | {} | {:.2} |",
            r.n,
            r.apply_wall.as_secs_f64(),
            r.apply_requests,
            r.puts,
            rate,
            100.0 * rate / quota,
            r.throttled + r.plan_throttled,
            r.plan_calls,
            r.plan_wall.as_secs_f64(),
        );
    }
    println!(
        "\ntargets: PutMetricAlarm at >= 90 % of its quota over the whole apply (wall time includes \
         start-up, refresh and the name checks), 0 throttling errors"
    );
}

fn cloudwatch_size(bin: &Path, n: usize) -> Result<CloudWatchRow, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    write_cloudwatch_config(dir.path(), n).map_err(|e| e.to_string())?;
    let standin =
        watchkeep_tests::aws::QueryStandIn::start_with_quotas(watchkeep_tests::aws::PUBLISHED_QUOTAS)
            .map_err(|e| e.to_string())?;
    let missing = dir.path().join("no-aws-config");
    let missing = missing.to_string_lossy().to_string();
    let env = vec![
        ("WATCHKEEP_VAR_cloudwatch_endpoint", standin.endpoint_url()),
        ("AWS_ACCESS_KEY_ID", "bench-access-key".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "bench-secret-key".to_string()),
        // Nothing from the caller's AWS set-up (profiles, instance metadata).
        ("AWS_CONFIG_FILE", missing.clone()),
        ("AWS_SHARED_CREDENTIALS_FILE", missing),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    let expected = n as f64 / (put_metric_alarm_quota() * 0.95);
    eprint!("N = {n}: apply (about {:.0} s at 95 % of the PutMetricAlarm quota) … ", expected);
    let (_, applied, apply_wall) = watchkeep(bin, dir.path(), &env, &["apply", "-auto-approve", "--json"])?;
    if applied["outcome"] != "complete" {
        return Err(format!("apply did not complete after {:.1} s: {applied}", apply_wall.as_secs_f64()));
    }
    let puts = standin.requests("PutMetricAlarm");
    let apply_requests = standin.request_count();
    let throttled = standin.throttled_total();
    eprintln!(
        "{} created in {:.1} s, {puts} PutMetricAlarm, {apply_requests} requests, {throttled} throttled",
        applied["counts"]["create"],
        apply_wall.as_secs_f64()
    );
    if standin.alarm_names().len() != n {
        return Err(format!("the stand-in holds {} alarms, not {n}", standin.alarm_names().len()));
    }

    eprint!("N = {n}: no-change plan … ");
    standin.reset_counts();
    let (code, _, plan_wall) = watchkeep(bin, dir.path(), &env, &["plan", "-detailed-exitcode", "--json"])?;
    if code != 0 {
        return Err(format!("the plan after apply was not empty (exit {code})"));
    }
    let plan_calls = standin.request_count();
    let plan_throttled = standin.throttled_total();
    eprintln!("{plan_calls} calls, {:.2} s", plan_wall.as_secs_f64());
    Ok(CloudWatchRow {
        n,
        apply_wall,
        puts,
        apply_requests,
        throttled,
        plan_calls,
        plan_throttled,
        plan_wall,
    })
}
