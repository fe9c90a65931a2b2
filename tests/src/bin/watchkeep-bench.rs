//! Benchmark: a no-change plan over N monitors against the Datadog stand-in with per-request
//! latency, measured with the real `watchkeep` binary; the same refresh done the way Terraform
//! does it (one GET per object, 10 at a time) for comparison; and config load + compile alone.
//!
//! Run (release build of both binaries first):
//!   cargo build --release --workspace --bins && target/release/watchkeep-bench
//!   target/release/watchkeep-bench --sizes 1000,10000 --latency-ms 20

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::Value;
use watchkeep_tests::{DatadogStandIn, StandInOptions};

#[derive(Parser)]
#[command(about = "Measure watchkeep's no-change plan against the Datadog stand-in")]
struct Args {
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
    #[arg(long, default_value_t = 100)]
    apply_limit: u64,
    /// Window of the emulated limit in seconds: the vendor allows `apply_limit × apply_period`
    /// requests per window (Datadog counts per multi-second period and reports the reset in
    /// whole seconds).
    #[arg(long, default_value_t = 10)]
    apply_period: u64,
}

const API_KEY: &str = "bench-api-key";

fn main() {
    let args = Args::parse();
    let bin = match watchkeep_bin() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    println!("watchkeep no-change plan benchmark (stand-in latency {} ms per request)", args.latency_ms);
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
    println!(
        "\n| objects | plan API calls | plan wall (s) | plan peak RSS (MB) | load+compile (s) | Terraform-style refresh calls | Terraform-style wall (s) | speed-up |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.2} | {} | {:.2} | {:.0}× |",
            r.n,
            r.plan_calls,
            r.plan_wall.as_secs_f64(),
            r.plan_rss as f64 / 1e6,
            r.compile_wall.as_secs_f64(),
            r.tf_calls,
            r.tf_wall.as_secs_f64(),
            r.tf_wall.as_secs_f64() / r.plan_wall.as_secs_f64().max(1e-9)
        );
    }
    println!("\ntargets for 10,000 objects: under 20 API calls, under 2 s, under 200 MB");

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
    write_config(dir.path(), n.div_ceil(5)).map_err(|e| e.to_string())?;
    let standin = DatadogStandIn::start(StandInOptions {
        latency: Duration::from_millis(args.latency_ms),
        rate_limit: Some((args.apply_limit * args.apply_period, args.apply_period)),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    eprint!("N = {n}: apply under {} req/s … ", args.apply_limit);
    let (_, out, wall) =
        watchkeep(bin, dir.path(), &standin.base_url(), &["apply", "-auto-approve", "--json"])?;
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

fn write_config(dir: &Path, servers: usize) -> std::io::Result<()> {
    let mut csv = String::from("name,kind,environment,owner,provider,identifier\n");
    for i in 0..servers {
        csv.push_str(&format!(
            "host-{i:05},server,production,team-{}@example.com,datadog,host=host-{i:05}\n",
            i % 7
        ));
    }
    std::fs::write(dir.join("inventory.csv"), csv)?;
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

fn watchkeep(bin: &Path, dir: &Path, url: &str, args: &[&str]) -> Result<(i32, Value, Duration), String> {
    let t = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env("DD_API_KEY", API_KEY)
        .env("DD_APP_KEY", "bench-app-key")
        .env("WATCHKEEP_VAR_datadog_api_url", url)
        .output()
        .map_err(|e| e.to_string())?;
    let wall = t.elapsed();
    let code = out.status.code().unwrap_or(-1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if code == 1 {
        return Err(format!("watchkeep {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok((code, v, wall))
}

fn run_size(bin: &Path, n: usize, args: &Args) -> Result<Row, String> {
    let servers = n.div_ceil(5);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    write_config(dir.path(), servers).map_err(|e| e.to_string())?;
    let standin = DatadogStandIn::start(StandInOptions {
        latency: Duration::from_millis(args.latency_ms),
        rate_limit: None,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let url = standin.base_url();

    eprint!("N = {n}: apply (setup) … ");
    let (_, applied, wall) =
        watchkeep(bin, dir.path(), &url, &["apply", "-auto-approve", "-parallelism=64", "--json"])?;
    eprintln!("{} created in {:.1} s", applied["counts"]["create"], wall.as_secs_f64());

    eprint!("N = {n}: config load + compile … ");
    let (_, v, compile_wall) = watchkeep(bin, dir.path(), &url, &["validate", "--json"])?;
    eprintln!("{} objects in {:.2} s", v["objects"], compile_wall.as_secs_f64());

    eprint!("N = {n}: no-change plan … ");
    standin.reset_request_count();
    let (code, plan, plan_wall) =
        watchkeep(bin, dir.path(), &url, &["plan", "-detailed-exitcode", "--json"])?;
    if code != 0 {
        return Err(format!("the plan after apply was not empty (exit {code})"));
    }
    let plan_calls = standin.request_count();
    let reported = plan["stats"]["api_calls"].as_u64().unwrap_or(0);
    let rss = plan["stats"]["peak_rss_bytes"].as_u64().unwrap_or(0);
    eprintln!("{plan_calls} calls (watchkeep counted {reported}), {:.2} s", plan_wall.as_secs_f64());

    eprint!("N = {n}: Terraform-style refresh (GET per object, {} at a time) … ", args.terraform_parallelism);
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".watchkeep/state.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let ids: Vec<String> = state["resources"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_str().map(String::from)).collect())
        .unwrap_or_default();
    standin.reset_request_count();
    let tf_wall = terraform_style(&url, &ids, args.terraform_parallelism)?;
    let tf_calls = standin.request_count();
    eprintln!("{tf_calls} calls, {:.2} s", tf_wall.as_secs_f64());

    Ok(Row { n, plan_calls, plan_wall, plan_rss: rss, compile_wall, tf_calls, tf_wall })
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
