//! `watchkeep-sandbox`: the Datadog and New Relic stand-ins as one local server, for trying
//! watchkeep without an account: the Datadog API under `/api`, New Relic's NerdGraph at
//! `/graphql`.
//!
//! Datadog monitors fire and recover while the sandbox runs: `POST /api/v1/series` (as an agent
//! sends metric points) evaluates the org's metric monitors on the points received, and
//! `GET /api/v1/events` lists their state changes, as Datadog's event stream does.
//!
//! For `coverage --live`, the sandbox starts with hosts and entities that report: on the Datadog
//! side the quickstart inventory's hosts `web-1`, `web-2`, `db-1` and a `web-3` the inventory
//! lacks (their agents keep reporting while the sandbox runs; `POST /api/v1/series` with a `host`
//! makes more hosts report); on the New Relic side the `examples/newrelic` inventory's entities
//! and a `web-3` host it lacks (`POST /_sandbox/newrelic/entities` seeds more). `--no-inventory`
//! starts without them, `--demo-hosts N` with hosts `web-1..web-N` instead.
//!
//! New Relic conditions fire and recover while the sandbox runs: post events to
//! `/v1/accounts/<account>/events` (New Relic's Event API, with the user key in `Api-Key`) and
//! the account's conditions are evaluated over them, opening and closing incidents; or call
//! `POST /_sandbox/newrelic/incidents {"conditionId": "…", "action": "open" | "close"}`. Snapshot
//! URLs from `dashboardCreateSnapshotUrl` serve a PDF, or a PNG with `format=PNG`. See the
//! `watchkeep_tests::newrelic` module docs.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use watchkeep_tests::newrelic::EntitySeed;
use watchkeep_tests::{
    DatadogStandIn, FaultRule, NerdGraphFaultRule, NewRelicOptions, NewRelicStandIn, StandInOptions,
};

/// Datadog hosts reporting in every org: `examples/quickstart/inventory.csv`'s, then one it lacks.
const DATADOG_HOSTS: &[&str] = &["web-1", "web-2", "db-1", "web-3"];
/// Datadog hosts not in the quickstart's inventory (said so in the banner).
const DATADOG_UNKNOWN: &[&str] = &["web-3"];

/// New Relic entities reporting in every account: `examples/newrelic/inventory.csv`'s (matched by
/// their identifiers' tags), then one it lacks. `(name, entity type, tag key, unknown)`.
const NEWRELIC_ENTITIES: &[(&str, &str, &str, bool)] = &[
    ("web-1", "HOST", "hostname", false),
    ("web-2", "HOST", "hostname", false),
    ("orders-prod", "AWSRDSDBINSTANCE", "displayName", false),
    ("checkout", "CONTAINER", "containerName", false),
    ("web-3", "HOST", "hostname", true),
];

fn newrelic_entities() -> Vec<EntitySeed> {
    NEWRELIC_ENTITIES.iter().map(|(name, ty, tag, _)| EntitySeed::new(name, ty).with_tag(tag, name)).collect()
}

/// A local, stateful stand-in for Datadog's v1 API (monitors, dashboards, downtimes, hosts,
/// metric points that monitors are evaluated on, monitor events, graph snapshots) and New Relic's
/// NerdGraph (alert policies, NRQL conditions, notifications, workflows, dashboards and their
/// snapshot URLs, hosts, incidents) with its Event API.
#[derive(Debug, Parser)]
#[command(name = "watchkeep-sandbox", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8126")]
    listen: SocketAddr,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Requests allowed per org and API per period (default: unlimited).
    #[arg(long)]
    rate_limit: Option<u64>,
    /// Length of a rate-limit window, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    rate_period: u64,
    /// Seed hosts web-1..web-N into every Datadog org and every New Relic account, instead of the
    /// examples' inventory hosts and entities.
    #[arg(long, default_value_t = 0)]
    demo_hosts: usize,
    /// Inject a fault (repeatable; rules are tried in order):
    /// `KIND[:ARG] [METHOD] [PATH_PREFIX] [skip=N] [times=N]`. KIND is `rate-limit[:SECS]`, a
    /// 4xx/5xx status such as `503`, `slow:DURATION` (`300ms`, `5s`), `reset`, `acted-but-lost`,
    /// `malformed` or `truncated`. E.g. `--fault "503 POST /api/v1/monitor skip=2 times=1"`.
    /// Change faults while running with `POST`/`DELETE /_sandbox/faults`.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<FaultRule>,
    /// Inject a NerdGraph fault (repeatable): `KIND[:ARG] [ROOT_FIELD|query|mutation] [skip=N]
    /// [times=N]`. KIND is `error:CLASS` (an error in the GraphQL body, e.g. `error:TIMEOUT`),
    /// `acted-error:CLASS` (the same after the operation ran), or one of the `--fault` kinds.
    /// E.g. `--newrelic-fault "error:TIMEOUT alertsNrqlConditionStaticCreate times=1"`. Change
    /// them while running with `POST`/`DELETE /_sandbox/newrelic/faults`.
    #[arg(long = "newrelic-fault", value_name = "SPEC")]
    newrelic_faults: Vec<NerdGraphFaultRule>,
    /// Start without the reporting hosts and entities the examples' inventories name (and the
    /// extra `web-3` they lack).
    #[arg(long)]
    no_inventory: bool,
    /// Print the New Relic account id the sandbox gives this user key (for
    /// `NEW_RELIC_ACCOUNT_ID`) and exit. A real key sees the accounts `{ actor { accounts { id } } }`
    /// lists.
    #[arg(long, value_name = "NRAK_KEY")]
    newrelic_account_for: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(key) = &args.newrelic_account_for {
        println!("{}", watchkeep_tests::newrelic::default_account_id(key));
        return ExitCode::SUCCESS;
    }
    let opts = StandInOptions {
        latency: Duration::from_millis(args.latency_ms),
        rate_limit: args.rate_limit.map(|limit| (limit, args.rate_period)),
        faults: args.faults.clone(),
    };
    let nr_opts = NewRelicOptions {
        latency: Duration::from_millis(args.latency_ms),
        faults: args.newrelic_faults.clone(),
        ..NewRelicOptions::default()
    };
    let seeded = !args.no_inventory && args.demo_hosts == 0;
    let (agents, entities) = if !seeded {
        (Vec::new(), Vec::new())
    } else {
        (DATADOG_HOSTS.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(), newrelic_entities())
    };
    let nerdgraph = match NewRelicStandIn::sandbox_router_with_entities(nr_opts, args.demo_hosts, entities) {
        Ok(router) => Some(router),
        Err(e) => {
            eprintln!("watchkeep-sandbox: warning: New Relic stand-in disabled: {e}");
            None
        }
    };
    let serves_nerdgraph = nerdgraph.is_some();
    // Receivers for `watchkeep routes test` (PagerDuty Events v2, Slack webhooks, webhooks,
    // SMTP), each on its own loopback port; what they receive is logged on stderr.
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let receivers = watchkeep_tests::receivers::HttpReceivers::start_on(loopback, true);
    let smtp = watchkeep_tests::receivers::SmtpReceiver::start_on(
        loopback,
        watchkeep_tests::receivers::SmtpReceiverOptions { echo: true, ..Default::default() },
    );
    let receiver_banner: Vec<String> = match (&receivers, &smtp) {
        (Ok(r), Ok(m)) => vec![
            format!("PagerDuty Events API v2 receiver at {} (events_url)", r.pagerduty_url()),
            format!(
                "Slack webhook receiver at {} (answers ok); {} answers 410 channel_is_archived",
                r.slack_hook(
                    "T0SANDBOX/B0SANDBOX/sandboxtoken",
                    watchkeep_tests::receivers::SlackBehaviour::Ok
                ),
                r.slack_hook(
                    "T0SANDBOX/B0ARCHIVED/archivedtoken",
                    watchkeep_tests::receivers::SlackBehaviour::Fail(410, "channel_is_archived".into())
                )
            ),
            format!("webhook receiver at {}", r.webhook_url("<name>")),
            format!("SMTP receiver at 127.0.0.1:{} (starttls = \"none\", no authentication)", m.port()),
        ],
        (r, m) => {
            let e = r.as_ref().err().or(m.as_ref().err()).map(ToString::to_string).unwrap_or_default();
            eprintln!("watchkeep-sandbox: warning: route-test receivers disabled: {e}");
            Vec::new()
        }
    };
    let served = DatadogStandIn::serve_until_signal_with_agents(
        args.listen,
        opts,
        args.demo_hosts,
        agents,
        nerdgraph,
        |addr| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "watchkeep-sandbox: Datadog API at http://{addr}/api (Ctrl-C to stop)");
            if serves_nerdgraph {
                let _ = writeln!(out, "watchkeep-sandbox: New Relic NerdGraph at http://{addr}/graphql");
            }
            for rule in &args.faults {
                let _ = writeln!(out, "watchkeep-sandbox: injecting fault: {rule}");
            }
            for rule in &args.newrelic_faults {
                let _ = writeln!(out, "watchkeep-sandbox: injecting New Relic fault: {rule}");
            }
            if seeded {
                let hosts: Vec<String> = DATADOG_HOSTS
                    .iter()
                    .map(|h| {
                        if DATADOG_UNKNOWN.contains(h) {
                            format!("{h} (not in examples/quickstart/inventory.csv)")
                        } else {
                            (*h).to_owned()
                        }
                    })
                    .collect();
                let _ = writeln!(out, "watchkeep-sandbox: Datadog hosts reporting: {}", hosts.join(", "));
                if serves_nerdgraph {
                    let entities: Vec<String> = NEWRELIC_ENTITIES
                        .iter()
                        .map(|(name, ty, tag, unknown)| {
                            let note = if *unknown { ", not in examples/newrelic/inventory.csv" } else { "" };
                            format!("{name} ({ty}, {tag}={name}{note})")
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "watchkeep-sandbox: New Relic entities reporting: {}",
                        entities.join(", ")
                    );
                }
            }
            for line in &receiver_banner {
                let _ = writeln!(out, "watchkeep-sandbox: {line}");
            }
            if serves_nerdgraph {
                let _ = writeln!(
                    out,
                    "watchkeep-sandbox: New Relic events: POST http://{addr}/v1/accounts/<account>/events (Api-Key: your NRAK- key) make conditions fire and recover; or POST http://{addr}/_sandbox/newrelic/incidents {{\"conditionId\", \"action\": \"open\"|\"close\"}}"
                );
            }
            let _ = out.flush();
        },
    )
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("watchkeep-sandbox: cannot serve on {}: {e}", args.listen);
            ExitCode::FAILURE
        }
    }
}
