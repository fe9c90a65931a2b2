//! `watchkeep routes test` against local receivers: a PagerDuty Events v2 receiver, a Slack
//! incoming-webhook receiver, a generic webhook receiver and a real SMTP server (STARTTLS with a
//! self-signed certificate, AUTH), all on loopback.

use serde_json::Value;
use watchkeep_tests::receivers::{HttpReceivers, SlackBehaviour, SmtpReceiver, SmtpReceiverOptions};

use crate::support::{assert_matches_schema, Workspace};

const PD_KEY: &str = "e2e0pagerduty0routing0key0abcdef"; // 32 characters, as PagerDuty requires
const SLACK_TOKEN: &str = "T0E2E/B0E2E/slacksecrettoken0e2e";
const HOOK_SECRET: &str = "hooksecret0e2e0path";
const SMTP_PASSWORD: &str = "smtp-e2e-password-0451";

struct Setup {
    ws: Workspace,
    http: HttpReceivers,
    smtp: SmtpReceiver,
}

/// A workspace with one route `oncall` reaching every kind of receiver; `slack` says what the
/// Slack webhook answers, `pd_key` is the routing key sent.
fn setup(name: &str, slack: SlackBehaviour, pd_key: &str, extra_route: &str) -> Setup {
    assert_eq!(PD_KEY.len(), 32);
    let http = HttpReceivers::start().expect("start HTTP receivers");
    let smtp = SmtpReceiver::start(SmtpReceiverOptions {
        starttls: true,
        auth: Some(("watchkeep".into(), SMTP_PASSWORD.into())),
        echo: false,
    })
    .expect("start SMTP receiver");
    let slack_url = http.slack_hook(SLACK_TOKEN, slack);
    let hook_url = http.webhook_url(&format!("incident-bot/{HOOK_SECRET}"));
    let config = format!(
        r##"
variable "pd_key" {{ sensitive = true }}
variable "slack_url" {{ sensitive = true }}
variable "hook_url" {{ sensitive = true }}
variable "smtp_password" {{ sensitive = true }}

route "oncall" {{
  pagerduty {{
    service     = "platform-oncall"
    routing_key = var.pd_key
    events_url  = "{pd}"
  }}
  slack {{
    channel     = "#ops-alerts"
    webhook_url = var.slack_url
  }}
  email {{
    to = ["oncall@example.com", "lead@example.com"]
    smtp {{
      host     = "127.0.0.1"
      port     = {port}
      starttls = "required"
      username = "watchkeep"
      password = var.smtp_password
      from     = "watchkeep@example.com"
      ca_file  = "smtp-ca.pem"
    }}
  }}
  webhook {{
    name = "incident-bot"
    url  = var.hook_url
  }}
}}
{extra_route}
"##,
        pd = http.pagerduty_url(),
        port = smtp.port(),
    );
    let ws = Workspace::new(name)
        .env("WATCHKEEP_VAR_pd_key", pd_key)
        .env("WATCHKEEP_VAR_slack_url", &slack_url)
        .env("WATCHKEEP_VAR_hook_url", &hook_url)
        .env("WATCHKEEP_VAR_smtp_password", SMTP_PASSWORD);
    ws.write("main.hcl", &config);
    ws.write("smtp-ca.pem", smtp.cert_pem().expect("certificate"));
    Setup { ws, http, smtp }
}

/// The validation records written so far, newest last.
fn records(ws: &Workspace) -> Vec<Value> {
    let dir = ws.path().join(".watchkeep/validations");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.retain(|n| n.ends_with(".json") && !n.starts_with('.'));
    names.sort();
    names
        .iter()
        .map(|n| {
            serde_json::from_str(&std::fs::read_to_string(dir.join(n)).expect("record")).expect("record JSON")
        })
        .collect()
}

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    for secret in [PD_KEY, SLACK_TOKEN, "slacksecrettoken0e2e", HOOK_SECRET, SMTP_PASSWORD] {
        assert!(!text.contains(secret), "{what} contains the secret `{secret}`:\n{text}");
    }
}

#[test]
fn routes_test_sends_one_test_and_one_resolve_per_target_and_records_it() {
    let s = setup("routes-ok", SlackBehaviour::Ok, PD_KEY, "");
    let run = s.ws.run(&["routes", "test"]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(out.contains("Routes verified: all 4 targets delivered"), "{out}");
    assert!(out.contains("pagerduty service platform-oncall"), "{out}");
    assert!(out.contains("slack #ops-alerts via webhook http://127.0.0.1:"), "{out}");

    // PagerDuty: exactly one trigger and one resolve, with one dedup key.
    let pd = s.http.received_by("pagerduty");
    assert_eq!(pd.len(), 2, "{pd:#?}");
    assert_eq!(pd[0].body["event_action"], "trigger");
    assert_eq!(pd[1].body["event_action"], "resolve");
    assert_eq!(pd[0].body["dedup_key"], pd[1].body["dedup_key"]);
    assert!(pd.iter().all(|r| r.status == 202));
    let summary = pd[0].body["payload"]["summary"].as_str().unwrap_or_default();
    assert!(summary.starts_with("[watchkeep route test] route oncall"), "{summary}");
    assert_eq!(pd[0].body["payload"]["custom_details"]["watchkeep_test"], true);

    // Slack: one test (it has no resolve).
    let slack = s.http.received_by("slack");
    assert_eq!(slack.len(), 1, "{slack:#?}");
    assert!(slack[0].body["text"].as_str().unwrap_or_default().starts_with("[watchkeep route test]"));

    // Webhook: a trigger and a resolve, marked as a test.
    let hooks = s.http.received_by("webhook");
    assert_eq!(hooks.len(), 2, "{hooks:#?}");
    assert_eq!(
        hooks.iter().map(|h| h.body["event_action"].as_str().unwrap_or_default()).collect::<Vec<_>>(),
        ["trigger", "resolve"]
    );
    assert!(hooks.iter().all(|h| h.body["watchkeep_test"] == true));
    assert_eq!(hooks[0].body["dedup_key"], hooks[1].body["dedup_key"]);

    // Email: one test mail and one resolved mail in its thread, over STARTTLS, authenticated.
    let mails = s.smtp.mails();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    for m in &mails {
        assert!(m.tls, "mail sent without STARTTLS");
        assert_eq!(m.authenticated_as.as_deref(), Some("watchkeep"));
        assert_eq!(m.from, "watchkeep@example.com");
        assert_eq!(m.to, ["oncall@example.com", "lead@example.com"]);
    }
    let test_id = mails[0].header("Message-ID").expect("Message-ID");
    assert_eq!(mails[1].header("In-Reply-To").as_deref(), Some(test_id.as_str()));
    assert_eq!(mails[1].header("References").as_deref(), Some(test_id.as_str()));
    assert!(mails[0].header("Subject").unwrap_or_default().starts_with("[watchkeep route test]"));
    assert_eq!(s.smtp.auth_failures(), 0);

    // Recorded, and no secret anywhere.
    let recs = records(&s.ws);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["kind"], "routes-test");
    assert_eq!(recs[0]["outcome"], "pass");
    let targets = recs[0]["report"]["routes"][0]["targets"].as_array().cloned().unwrap_or_default();
    assert_eq!(targets.len(), 4);
    let pd_rec = targets.iter().find(|t| t["channel"] == "pagerduty").expect("pagerduty in the record");
    assert_eq!(pd_rec["dedup_key"], pd[0].body["dedup_key"]);
    assert_eq!(pd_rec["attempts"], 2);
    assert_eq!(pd_rec["resolved"], true);
    assert_no_secret("stdout", &out);
    assert_no_secret("stderr", &run.stderr());
    assert_no_secret("files written", &s.ws.all_written_text());

    // --json matches its schema; --format markdown is a table.
    let json = s.ws.run(&["routes", "test", "oncall", "--json"]);
    json.expect_code(0);
    let v = json.json();
    assert_matches_schema("routes-test.schema.json", &v);
    assert_eq!(v["passed"], true);
    assert_eq!(v["counts"]["delivered"], 4);
    assert_no_secret("--json", &json.stdout());
    let md = s.ws.run(&["routes", "test", "--format", "markdown"]);
    md.expect_code(0);
    assert!(md.stdout().contains("| route | target | status |"), "{}", md.stdout());
    assert_eq!(records(&s.ws).len(), 3);
    assert_eq!(s.http.received_by("pagerduty").len(), 6);
}

#[test]
fn archived_slack_channel_and_invalid_pagerduty_key_fail_without_retries() {
    let short_key = &PD_KEY[..31];
    let s = setup(
        "routes-fail",
        SlackBehaviour::Fail(410, "channel_is_archived".into()),
        short_key,
        "route \"chat\" {\n  slack { channel = \"#team\" }\n}\n",
    );
    let run = s.ws.run(&["routes", "test", "--json"]);
    run.expect_code(1);
    let v = run.json();
    assert_matches_schema("routes-test.schema.json", &v);
    assert_eq!(v["passed"], false);
    let find = |route: &str, channel: &str| -> Value {
        v["routes"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["route"] == route))
            .and_then(|r| r["targets"].as_array())
            .and_then(|ts| ts.iter().find(|t| t["channel"] == channel).cloned())
            .unwrap_or(Value::Null)
    };
    let slack = find("oncall", "slack");
    assert_eq!(slack["status"], "rejected", "{slack}");
    assert_eq!(slack["answer"], "410 channel_is_archived");
    assert_eq!(slack["attempts"], 1);
    // PagerDuty's 400 is not retried: one request, its errors reported.
    let pd = find("oncall", "pagerduty");
    assert_eq!(pd["status"], "rejected", "{pd}");
    assert_eq!(pd["attempts"], 1);
    assert!(pd["answer"].as_str().unwrap_or_default().contains("should be 32 characters"), "{pd}");
    assert_eq!(s.http.received_by("pagerduty").len(), 1);
    // A Slack target delivered by a vendor integration cannot be tested: untested, not verified.
    let chat = find("chat", "slack");
    assert_eq!(chat["status"], "untested", "{chat}");
    assert!(chat["answer"].as_str().unwrap_or_default().starts_with("no webhook_url"), "{chat}");
    assert_eq!(v["counts"]["delivered"], 2);
    assert_eq!(v["counts"]["rejected"], 2);
    assert_eq!(v["counts"]["untested"], 1);
    let summary = v["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("route.oncall slack #ops-alerts") && summary.contains("untested"), "{summary}");

    let recs = records(&s.ws);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["outcome"], "fail");
    assert!(recs[0]["summary"].as_str().unwrap_or_default().contains("rejected"), "{}", recs[0]["summary"]);
    assert_eq!(recs[0]["report"]["routes"], v["routes"]);
    assert_no_secret("stdout", &run.stdout());
    assert_no_secret("stderr", &run.stderr());
    assert_no_secret("files written", &s.ws.all_written_text());

    // Human output says what failed.
    let human = s.ws.run(&["routes", "test", "oncall"]);
    human.expect_code(1);
    assert!(human.stdout().contains("slack #ops-alerts via webhook http://127.0.0.1:"), "{}", human.stdout());
    assert!(human.stdout().contains("REJECTED") && human.stdout().contains("410 channel_is_archived"));
    assert!(human.stdout().contains("Routes NOT verified"), "{}", human.stdout());
}

#[test]
fn pagerduty_rate_limit_and_server_error_are_retried_then_delivered() {
    let s = setup("routes-retry", SlackBehaviour::Ok, PD_KEY, "");
    s.http.script_pagerduty(&[429, 500]);
    let run = s.ws.run(&["routes", "test", "oncall", "--json"]);
    run.expect_code(0);
    let v = run.json();
    let pd = v["routes"][0]["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["channel"] == "pagerduty").cloned())
        .unwrap_or(Value::Null);
    assert_eq!(pd["status"], "delivered", "{pd}");
    assert_eq!(pd["attempts"], 4, "429, 500, then 202 for the trigger, 202 for the resolve: {pd}");
    let got = s.http.received_by("pagerduty");
    assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 500, 202, 202]);
    assert!(got[..3]
        .iter()
        .all(|r| r.body["event_action"] == "trigger" && r.body["dedup_key"] == got[3].body["dedup_key"]));
    assert_eq!(got[3].body["event_action"], "resolve");
}

#[test]
fn unknown_route_name_is_an_error_with_did_you_mean() {
    let s = setup("routes-unknown", SlackBehaviour::Ok, PD_KEY, "");
    let run = s.ws.run(&["routes", "test", "oncal"]);
    run.expect_code(1);
    assert!(run.stderr().contains("no route named `oncal`"), "{}", run.stderr());
    assert!(run.stderr().contains("did you mean `oncall`?"), "{}", run.stderr());
    assert!(s.http.received().is_empty() && s.smtp.mails().is_empty(), "nothing is sent");
}

#[test]
fn smtp_without_starttls_on_loopback_and_a_refused_password() {
    // `starttls = "none"` against a plain relay on loopback, no authentication.
    let smtp = SmtpReceiver::start(SmtpReceiverOptions::default()).expect("start SMTP receiver");
    let ws = Workspace::new("routes-smtp-plain");
    ws.write(
        "main.hcl",
        &format!(
            "route \"mail\" {{\n  email {{\n    to = [\"ops@example.com\"]\n    smtp {{\n      host = \"127.0.0.1\"\n      port = {}\n      starttls = \"none\"\n      from = \"watchkeep@example.com\"\n    }}\n  }}\n}}\n",
            smtp.port()
        ),
    );
    ws.run(&["routes", "test"]).expect_code(0);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    assert!(!mails[0].tls && mails[0].authenticated_as.is_none());

    // `starttls = "required"` against a relay that does not offer it: failed, not sent in clear.
    ws.write(
        "main.hcl",
        &std::fs::read_to_string(ws.path().join("main.hcl")).unwrap().replace("\"none\"", "\"required\""),
    );
    let run = ws.run(&["routes", "test", "--json"]);
    run.expect_code(1);
    let t = &run.json()["routes"][0]["targets"][0];
    assert_eq!(t["status"], "failed", "{t}");
    assert_eq!(smtp.mails().len(), 2, "nothing more was sent");

    // A wrong password is refused by the server and reported, never printed.
    let tls = SmtpReceiver::start(SmtpReceiverOptions {
        starttls: true,
        auth: Some(("watchkeep".into(), "right-password".into())),
        echo: false,
    })
    .expect("start SMTP receiver");
    let ws = Workspace::new("routes-smtp-auth").env("WATCHKEEP_VAR_pw", SMTP_PASSWORD);
    ws.write("smtp-ca.pem", tls.cert_pem().expect("cert"));
    ws.write(
        "main.hcl",
        &format!(
            "variable \"pw\" {{ sensitive = true }}\nroute \"mail\" {{\n  email {{\n    to = [\"ops@example.com\"]\n    smtp {{\n      host = \"127.0.0.1\"\n      port = {}\n      username = \"watchkeep\"\n      password = var.pw\n      from = \"watchkeep@example.com\"\n      ca_file = \"smtp-ca.pem\"\n    }}\n  }}\n}}\n",
            tls.port()
        ),
    );
    let run = ws.run(&["routes", "test", "--json"]);
    run.expect_code(1);
    let t = &run.json()["routes"][0]["targets"][0];
    assert_eq!(t["status"], "rejected", "{t}");
    assert!(t["answer"].as_str().unwrap_or_default().contains("535"), "{t}");
    assert_eq!(tls.auth_failures(), 1);
    assert!(tls.mails().is_empty());
    assert_no_secret("stdout", &run.stdout());
    assert_no_secret("stderr", &run.stderr());
    assert_no_secret("files written", &ws.all_written_text());
}

/// A CloudWatch route compiles to an SNS topic with subscriptions; `routes test` publishes one
/// marked test (and its OK resolve) to the topic on moto, which delivers both to the route's
/// webhook subscriber, besides the direct test of that webhook.
#[test]
fn routes_test_publishes_to_the_sns_topic_of_a_cloudwatch_route() {
    let http = HttpReceivers::start().expect("start HTTP receivers");
    let hook_url = http.webhook_url(&format!("incident-bot/{HOOK_SECRET}"));
    let ws = Workspace::new("routes-sns")
        .env("WATCHKEEP_VAR_endpoint", &crate::support::moto().endpoint_url())
        .env("WATCHKEEP_VAR_hook_url", &hook_url);
    ws.write(
        "main.hcl",
        r#"
variable "endpoint" { type = string }
variable "hook_url" { sensitive = true }

provider "cloudwatch" {
  region       = "eu-west-3"
  endpoint_url = var.endpoint
}

component "web-1" {
  kind       = "server"
  provider   = "cloudwatch"
  identifier = { InstanceId = "i-0aaaabbbbccccdddd" }
}

route "oncall" {
  webhook {
    name = "incident-bot"
    url  = var.hook_url
  }
}

alert "cpu" {
  metric = "cpu"
  above  = 90
  route  = route.oncall
}
"#,
    );
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let run = ws.run(&["routes", "test", "--json"]);
    let v = run.json();
    assert_eq!(run.code(), 0, "{v:#}\n{}", run.stderr());
    assert_matches_schema("routes-test.schema.json", &v);
    let text = v.to_string();
    assert!(text.contains("SNS") || text.contains("sns"), "{v:#}");
    assert_no_secret("routes test --json", &text);

    let hooks = http.received_by("webhook");
    // Direct: a trigger and a resolve marked as a test.
    let direct: Vec<_> = hooks.iter().filter(|h| h.body["watchkeep_test"] == true).collect();
    assert_eq!(direct.len(), 2, "{hooks:#?}");
    // Through SNS: one ALARM and one OK notification, as the alarm's own would arrive.
    let via_sns: Vec<_> = hooks.iter().filter(|h| h.body["Type"] == "Notification").collect();
    assert_eq!(via_sns.len(), 2, "{hooks:#?}");
    let messages: Vec<String> =
        via_sns.iter().map(|h| h.body["Message"].as_str().unwrap_or_default().to_string()).collect();
    assert!(messages[0].contains("ALARM") && messages[1].contains("OK"), "{messages:#?}");
    assert!(
        via_sns
            .iter()
            .all(|h| h.body["Subject"].as_str().unwrap_or_default().starts_with("[watchkeep route test]")),
        "{via_sns:#?}"
    );
    assert_eq!(hooks.len(), 4, "{hooks:#?}");
}
