//! Sensitive values never reach plans, plan files, state, history or logs.

use crate::support::*;

const SECRET: &str = "pd-routing-9f8e7d6c5b4a";
const TOKEN: &str = "wh-token-0a1b2c3d4e5f";

#[test]
fn sensitive_values_stay_out_of_everything_watchkeep_writes() {
    let ws = Workspace::example("quickstart").env("WATCHKEEP_VAR_pagerduty_routing_key", SECRET);
    ws.write(
        "extra.hcl",
        r#"
variable "webhook_token" {
  type      = string
  sensitive = true
}

resource "datadog_monitor" "token_check" {
  name    = "Webhook token check"
  type    = "metric alert"
  query   = "avg(last_5m):avg:system.load.1{host:web-1} > 10"
  message = "Call https://hooks.example.com/notify?token=${var.webhook_token} @ops@example.com"
}
"#,
    );
    let ws = ws.env("WATCHKEEP_VAR_webhook_token", TOKEN);

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
            &["plan", "-detailed-exitcode"],
            &["drift", "--json"],
            &["history", "1"],
            &["state", "show", "datadog_monitor.token_check"],
        ],
    );
    let files = ws.all_written_text();
    for secret in [SECRET, TOKEN] {
        assert!(!logs.contains(secret), "secret in output");
        assert!(!files.contains(secret), "secret in a file watchkeep wrote");
    }
    assert!(logs.contains("(sensitive:"), "redaction marker expected in output");
    // The vendor itself did receive the real value.
    let sent = ws.monitors().into_iter().find(|m| m["name"] == "Webhook token check").expect("monitor");
    assert!(sent["message"].as_str().unwrap_or_default().contains(TOKEN));
    // And plan-after-apply is still empty although state only holds the redacted form.
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);

    // Rotating the secret is a change, shown without either value.
    let rotated = ws.env("WATCHKEEP_VAR_webhook_token", "wh-token-rotated-777");
    let plan = rotated.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(2);
    assert!(plan.stdout().contains("datadog_monitor.token_check"), "{}", plan.stdout());
    assert!(!plan.stdout().contains("wh-token-rotated-777") && !plan.stdout().contains(TOKEN));
}
