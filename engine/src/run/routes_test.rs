//! `routes test`: one real test notification through every target of every route (or of the
//! named ones), marked as a test and resolved where the channel has a resolve.
//!
//! Direct channels (PagerDuty Events API v2 with a `routing_key`, Slack with a `webhook_url`,
//! `webhook { url }`, `email` with an `smtp { }` block) are sent by watchkeep itself through
//! `watchkeep_notify`. Then every vendor-side object of the route in state (address or origin
//! under `route.<name>`: an SNS topic, New Relic destinations and channels) is tested through
//! its provider's `Provider::test_delivery`. A target that can be tested neither way (a Slack
//! target delivered by Datadog's integration, say) is reported `untested`, which counts as not
//! verified. Every run is kept as a `routes-test` validation record beside the state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use watchkeep_notify as notify;
use watchkeep_provider::{DeliveryStatus, Provider};

use super::providers::configure_one;
use super::report::{RouteTestCounts, RouteTestResult, RoutesTestReport, TargetTestResult, TargetTestStatus};
use super::{Error, Vars, Workspace};
use crate::config::model::{Config, Route};
use crate::redact::Redactor;
use crate::state::{now_rfc3339, State};

/// What `routes test` is asked for.
#[derive(Debug, Clone, Default)]
pub struct RoutesTestInput {
    pub vars: Vars,
    /// Route names; empty means every route.
    pub routes: Vec<String>,
    /// Timeouts and retries of the direct channels (`Options::default()` for the CLI).
    pub options: Option<notify::Options>,
}

/// The report, and where its validation record was written (or why it could not be).
#[derive(Debug)]
pub struct RoutesTestRun {
    pub report: RoutesTestReport,
    pub record: std::io::Result<PathBuf>,
}

/// One direct test to run.
enum Direct {
    PagerDuty { url: String, key: notify::Secret },
    Slack { url: notify::Secret },
    Webhook { url: notify::Secret },
    Email { smtp: Box<notify::SmtpSettings>, target: notify::EmailTarget },
}

/// A target of a route as the report names it, with how to test it (or why it cannot be).
struct Planned {
    route: String,
    channel: &'static str,
    target: String,
    how: Result<Direct, String>,
}

pub async fn routes_test(ws: &Workspace, input: &RoutesTestInput) -> Result<RoutesTestRun, Error> {
    let (cfg, warnings) = ws.load(&input.vars)?;
    ws.print_warnings(&warnings, &cfg.files);
    let selected = select(&cfg, &input.routes)?;
    let backend = ws.backend(Some(&cfg));
    let state = backend.load()?.unwrap_or_else(State::new);
    let redactor = Redactor::new(&cfg.sensitive_values, &state.lineage);
    let opts = input.options.clone().unwrap_or_default();
    let tested_at = now_rfc3339();
    let source = format!("watchkeep@{}", gethostname::gethostname().to_string_lossy());

    let mut planned = Vec::new();
    for route in &selected {
        planned.extend(plan_route(&cfg, route));
    }
    // Every direct test at once: they go to different channels, and each waits on its own.
    let direct = futures::future::join_all(planned.into_iter().map(|p| {
        let opts = opts.clone();
        let source = source.clone();
        async move {
            let outcome = match &p.how {
                Err(reason) => None.ok_or(reason.clone()),
                Ok(how) => {
                    let msg = notify::TestMessage::new(&p.route, &p.target, &source);
                    Ok(match how {
                        Direct::PagerDuty { url, key } => notify::pagerduty(url, key, &msg, &opts).await,
                        Direct::Slack { url } => notify::slack(url, &msg, &opts).await,
                        Direct::Webhook { url } => notify::webhook(url, &msg, &opts).await,
                        Direct::Email { smtp, target } => notify::email(smtp, target, &msg, &opts).await,
                    })
                }
            };
            (p, outcome, now_rfc3339())
        }
    }))
    .await;

    let mut results: BTreeMap<String, Vec<TargetTestResult>> =
        selected.iter().map(|r| (r.name.clone(), Vec::new())).collect();
    let mut untestable: BTreeMap<String, Vec<TargetTestResult>> = BTreeMap::new();
    for (p, outcome, at) in direct {
        let r = match outcome {
            Ok(o) => TargetTestResult {
                channel: p.channel.to_string(),
                via: "direct".to_string(),
                target: p.target,
                address: None,
                status: match o.status {
                    notify::Status::Delivered => TargetTestStatus::Delivered,
                    notify::Status::Rejected => TargetTestStatus::Rejected,
                    notify::Status::Failed => TargetTestStatus::Failed,
                },
                answer: redactor.str(&o.answer).into_owned(),
                dedup_key: o.dedup_key,
                attempts: o.attempts,
                resolved: o.resolved,
                at,
            },
            Err(reason) => {
                let r = untested(p.channel, &p.target, None, reason, at);
                untestable.entry(p.route).or_default().push(r);
                continue;
            }
        };
        results.entry(p.route).or_default().push(r);
    }

    // Vendor-side objects of the selected routes, tested through their providers.
    let empty = serde_json::Map::new();
    let configure = |name: &str| {
        let attrs = cfg.providers.get(name).map(|p| &p.attrs).unwrap_or(&empty);
        let env = |k: &str| ws.env.get(k).cloned();
        configure_one(name, attrs, &env).map_err(|e| format!("cannot configure provider `{name}`: {e}"))
    };
    let vendor = vendor_side(&configure, &state, &selected, &redactor).await;
    for route in &selected {
        let tested = vendor.get(&route.name).cloned().unwrap_or_default();
        let covered = !tested.is_empty();
        let list = results.entry(route.name.clone()).or_default();
        list.extend(tested);
        // A target watchkeep cannot reach directly is verified by the vendor-side test of the
        // route when there is one (an SNS email subscription, a New Relic email destination);
        // without one it stays untested.
        if let Some(u) = untestable.remove(&route.name) {
            if !covered {
                list.extend(u);
            }
        }
    }

    let mut counts = RouteTestCounts::default();
    let mut bad = Vec::new();
    for (route, targets) in &results {
        for t in targets {
            match t.status {
                TargetTestStatus::Delivered => counts.delivered += 1,
                TargetTestStatus::Rejected => counts.rejected += 1,
                TargetTestStatus::Failed => counts.failed += 1,
                TargetTestStatus::NotDelivering => counts.not_delivering += 1,
                TargetTestStatus::Untested => counts.untested += 1,
            }
            if t.status != TargetTestStatus::Delivered {
                let what = match t.status {
                    TargetTestStatus::Rejected => "rejected",
                    TargetTestStatus::Failed => "failed",
                    TargetTestStatus::NotDelivering => "not delivering",
                    _ => "untested",
                };
                bad.push(format!("route.{route} {}: {what}", t.target));
            }
        }
    }
    let passed = bad.is_empty() && counts.delivered > 0;
    let total = counts.delivered + counts.rejected + counts.failed + counts.not_delivering + counts.untested;
    let summary = if passed {
        format!("all {total} targets delivered")
    } else {
        format!(
            "{} of {total} targets delivered; {} failed, {} not delivering, {} untested: {}",
            counts.delivered,
            counts.rejected + counts.failed,
            counts.not_delivering,
            counts.untested,
            bad.join("; ")
        )
    };
    let report = RoutesTestReport {
        format_version: 1,
        tested_at,
        passed,
        summary: summary.clone(),
        counts,
        routes: results.into_iter().map(|(route, targets)| RouteTestResult { route, targets }).collect(),
    };
    let vdir = backend.side_dir("validations");
    let record =
        super::validations::append_in(backend.folder(&vdir), "routes-test", passed, &summary, &report);
    Ok(RoutesTestRun { report, record })
}

/// The routes asked for (all when none named); an unknown name is an error with the closest one.
fn select<'a>(cfg: &'a Config, names: &[String]) -> Result<Vec<&'a Route>, Error> {
    if cfg.routes.is_empty() {
        return Err(Error::msg(
            "the configuration declares no routes: nothing to test\nhint: add a route \"oncall\" { pagerduty { … } } block",
        ));
    }
    if names.is_empty() {
        return Ok(cfg.routes.values().collect());
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for n in names {
        let name = n.strip_prefix("route.").unwrap_or(n);
        match cfg.routes.get(name) {
            Some(r) => {
                if seen.insert(name) {
                    out.push(r);
                }
            }
            None => {
                let known: Vec<&str> = cfg.routes.keys().map(String::as_str).collect();
                let hint = match crate::config::suggest::closest(name, known.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`? routes: {}", crate::config::suggest::list(known)),
                    None => format!("routes: {}", crate::config::suggest::list(known)),
                };
                return Err(Error::msg(format!(
                    "no route named `{name}` in the configuration\nhint: {hint}"
                )));
            }
        }
    }
    Ok(out)
}

/// Each target of `route`, described without secrets (`pagerduty service oncall`,
/// `slack #ops via webhook hooks.slack.com`), as `routes test` and the evidence bundle name them.
pub fn route_targets(cfg: &Config, route: &Route) -> Vec<String> {
    plan_route(cfg, route).into_iter().map(|p| p.target).collect()
}

/// Each target of `route`, described without secrets, with how it can be tested directly.
fn plan_route(cfg: &Config, route: &Route) -> Vec<Planned> {
    let mut out = Vec::new();
    let name = route.name.clone();
    for pd in &route.pagerduty {
        let service = pd.service.clone().unwrap_or_else(|| route.name.clone());
        let how = match &pd.routing_key {
            Some(key) => Ok(Direct::PagerDuty {
                url: pd.events_url.clone().unwrap_or_else(|| notify::PAGERDUTY_EVENTS_URL.to_string()),
                key: notify::Secret::new(key.clone()),
            }),
            None => Err(format!(
                "no routing_key: PagerDuty service `{service}` is paged by the vendor's integration, which watchkeep cannot trigger; set routing_key (a sensitive variable) to test it"
            )),
        };
        let at =
            pd.events_url.as_deref().map(|u| format!(" via {}", notify::url_host(u))).unwrap_or_default();
        out.push(Planned {
            route: name.clone(),
            channel: "pagerduty",
            target: format!("pagerduty service {service}{at}"),
            how,
        });
    }
    for s in &route.slack {
        let channel = format!("#{}", s.channel.trim_start_matches('#'));
        let (target, how) = match &s.webhook_url {
            Some(url) => (
                format!("slack {channel} via webhook {}", notify::url_host(url)),
                Ok(Direct::Slack { url: notify::Secret::new(url.clone()) }),
            ),
            None => (
                format!("slack {channel}"),
                Err(format!(
                    "no webhook_url: {channel} is posted to by the vendor's Slack integration, which watchkeep cannot test; set webhook_url (a sensitive variable) to test it"
                )),
            ),
        };
        out.push(Planned { route: name.clone(), channel: "slack", target, how });
    }
    for e in &route.email {
        let to = e.to.join(", ");
        let (target, how) = match &e.smtp {
            Some(smtp) => (
                format!("email {to} via smtp {}:{}", smtp.host, smtp.port),
                smtp_settings(cfg, smtp).map(|s| Direct::Email {
                    smtp: Box::new(s),
                    target: notify::EmailTarget { to: e.to.clone() },
                }),
            ),
            None => (
                format!("email {to}"),
                Err("no smtp { } block: mail is sent by the vendor, which watchkeep cannot trigger; add smtp { host, from, … } to the email target to test it".to_string()),
            ),
        };
        out.push(Planned { route: name.clone(), channel: "email", target, how });
    }
    for w in &route.webhook {
        let wname = w.name.clone().unwrap_or_else(|| route.name.clone());
        let (target, how) = match &w.url {
            Some(url) => (
                format!("webhook {wname} {}", notify::url_host(url)),
                Ok(Direct::Webhook { url: notify::Secret::new(url.clone()) }),
            ),
            None => (
                format!("webhook {wname}"),
                Err(format!("no url: webhook `{wname}` is called by the vendor, which watchkeep cannot trigger; set url to test it")),
            ),
        };
        out.push(Planned { route: name.clone(), channel: "webhook", target, how });
    }
    out
}

fn smtp_settings(cfg: &Config, s: &crate::config::model::Smtp) -> Result<notify::SmtpSettings, String> {
    let starttls = match s.starttls.as_str() {
        "opportunistic" => notify::StartTls::Opportunistic,
        "none" => notify::StartTls::None,
        _ => notify::StartTls::Required,
    };
    let ca_pem = match &s.ca_file {
        None => None,
        Some(f) => {
            let path = cfg.root.join(f);
            // Confined like every file the configuration names (issue 15): no /proc, no FIFO,
            // nothing outside the configuration unless WATCHKEEP_ALLOW_READ allows it.
            let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
            let policy = crate::config::confine::Policy::new(&cfg.root, &env);
            let pem =
                crate::config::confine::read_text(&path, crate::config::confine::MAX_SOURCE_BYTES, &policy)
                    .map_err(|e| {
                    format!("cannot read the SMTP ca_file {}: {}; {}", path.display(), e.reason(), e.hint())
                })?;
            Some(pem.into_bytes())
        }
    };
    Ok(notify::SmtpSettings {
        host: s.host.clone(),
        port: s.port,
        starttls,
        username: s.username.clone(),
        password: s.password.clone().map(notify::Secret::new),
        from: s.from.clone(),
        ca_pem,
    })
}

fn untested(
    channel: &str,
    target: &str,
    address: Option<String>,
    reason: String,
    at: String,
) -> TargetTestResult {
    TargetTestResult {
        channel: channel.to_string(),
        via: if address.is_some() { "vendor" } else { "direct" }.to_string(),
        target: target.to_string(),
        address,
        status: TargetTestStatus::Untested,
        answer: reason,
        dedup_key: None,
        attempts: 0,
        resolved: None,
        at,
    }
}

/// Configures a provider by name, or says why it cannot be.
type ConfigureProvider<'a> = dyn Fn(&str) -> Result<Arc<dyn Provider>, String> + 'a;

/// Tests every vendor-side object of the selected routes in state through its provider. A
/// provider that cannot be configured leaves its objects untested, with the reason.
async fn vendor_side(
    configure: &ConfigureProvider<'_>,
    state: &State,
    routes: &[&Route],
    redactor: &Redactor,
) -> BTreeMap<String, Vec<TargetTestResult>> {
    let mut out: BTreeMap<String, Vec<TargetTestResult>> = BTreeMap::new();
    let mut providers: BTreeMap<String, Result<Arc<dyn Provider>, String>> = BTreeMap::new();
    for route in routes {
        let prefix = format!("route.{}", route.name);
        let objects = state.resources.iter().filter(|r| {
            r.origin.as_deref() == Some(prefix.as_str())
                || r.address == prefix
                || r.address.starts_with(&format!("{prefix}."))
        });
        for obj in objects {
            let provider = providers.entry(obj.provider.clone()).or_insert_with(|| configure(&obj.provider));
            let p = match provider {
                Ok(p) => p.clone(),
                Err(e) => {
                    let r = untested(
                        &obj.resource_type,
                        &obj.address,
                        Some(obj.address.clone()),
                        e.clone(),
                        now_rfc3339(),
                    );
                    out.entry(route.name.clone()).or_default().push(r);
                    continue;
                }
            };
            let results = match p.test_delivery(&obj.resource_type, &obj.id, &obj.attrs).await {
                Ok(None) => continue,
                Ok(Some(deliveries)) => deliveries
                    .into_iter()
                    .map(|d| TargetTestResult {
                        channel: obj.resource_type.clone(),
                        via: "vendor".to_string(),
                        target: redactor.str(&d.target).into_owned(),
                        address: Some(obj.address.clone()),
                        status: match d.status {
                            DeliveryStatus::Delivered => TargetTestStatus::Delivered,
                            DeliveryStatus::Failed => TargetTestStatus::Failed,
                            DeliveryStatus::NotDelivering => TargetTestStatus::NotDelivering,
                        },
                        answer: redactor.str(&d.answer).into_owned(),
                        dedup_key: d.dedup_key,
                        attempts: 1,
                        resolved: d.resolved,
                        at: now_rfc3339(),
                    })
                    .collect(),
                Err(e) => vec![TargetTestResult {
                    channel: obj.resource_type.clone(),
                    via: "vendor".to_string(),
                    target: obj.address.clone(),
                    address: Some(obj.address.clone()),
                    status: TargetTestStatus::Failed,
                    answer: redactor.str(&format!("the vendor refused the test: {e}")).into_owned(),
                    dedup_key: None,
                    attempts: 1,
                    resolved: None,
                    at: now_rfc3339(),
                }],
            };
            out.entry(route.name.clone()).or_default().extend(results);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{PagerDutyTarget, SlackTarget, WebhookTarget};

    #[test]
    fn the_smtp_ca_file_is_confined_to_the_configuration() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
        let c = Config { root: d.path().to_path_buf(), ..Config::default() };
        let smtp =
            |f: &str| crate::config::model::Smtp { ca_file: Some(f.to_string()), ..Default::default() };
        assert!(smtp_settings(&c, &smtp("ca.pem")).unwrap().ca_pem.is_some());
        let e = smtp_settings(&c, &smtp("/proc/self/environ")).err().unwrap();
        assert!(e.contains("never reads /proc") && !e.contains("PATH="), "{e}");
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("ca.pem"), "x").unwrap();
        let e = smtp_settings(&c, &smtp(&other.path().join("ca.pem").display().to_string())).err().unwrap();
        assert!(e.contains("outside the configuration") && e.contains("WATCHKEEP_ALLOW_READ"), "{e}");
    }

    fn cfg() -> Config {
        let mut c = Config::default();
        let route = Route {
            name: "oncall".into(),
            pagerduty: vec![PagerDutyTarget {
                service: Some("platform".into()),
                routing_key: Some("0123456789abcdef0123456789abcdef".into()),
                events_url: None,
            }],
            slack: vec![
                SlackTarget { channel: "ops".into(), account: None, webhook_url: None },
                SlackTarget {
                    channel: "#alerts".into(),
                    account: None,
                    webhook_url: Some("https://hooks.slack.com/services/T0/B0/SECRETTOKEN".into()),
                },
            ],
            webhook: vec![WebhookTarget {
                name: None,
                url: Some("https://hooks.example.com/x/SECRETPATH".into()),
            }],
            ..Route::default()
        };
        c.routes.insert("oncall".into(), route);
        c
    }

    #[test]
    fn targets_are_described_without_secrets_and_untestable_ones_say_why() {
        let c = cfg();
        let planned = plan_route(&c, &c.routes["oncall"]);
        let described: Vec<&str> = planned.iter().map(|p| p.target.as_str()).collect();
        assert_eq!(
            described,
            [
                "pagerduty service platform",
                "slack #ops",
                "slack #alerts via webhook https://hooks.slack.com/…",
                "webhook oncall https://hooks.example.com/…"
            ]
        );
        for p in &planned {
            assert!(!p.target.contains("SECRET") && !p.target.contains("0123456789abcdef"), "{}", p.target);
        }
        let slack_untested = planned[1].how.as_ref().err().map(String::as_str).unwrap_or_default();
        assert!(slack_untested.starts_with("no webhook_url"), "{slack_untested}");
        assert!(planned[0].how.is_ok() && planned[2].how.is_ok() && planned[3].how.is_ok());
    }

    #[test]
    fn unknown_route_says_did_you_mean() {
        let c = cfg();
        let e = select(&c, &["oncal".to_string()]).err().map(|e| e.render(false)).unwrap_or_default();
        assert!(e.contains("no route named `oncal`") && e.contains("did you mean `oncall`?"), "{e}");
        assert_eq!(select(&c, &["route.oncall".to_string()]).map(|v| v.len()).ok(), Some(1));
        assert_eq!(select(&c, &[]).map(|v| v.len()).ok(), Some(1));
    }

    /// Answers `test_delivery` for SNS topics only, like the CloudWatch provider.
    struct Topics;

    #[async_trait::async_trait]
    impl Provider for Topics {
        fn name(&self) -> &'static str {
            "cloudwatch"
        }
        fn resource_types(&self) -> &'static [&'static str] {
            &["aws_sns_topic", "aws_sns_topic_subscription"]
        }
        async fn list(
            &self,
            _: &str,
            _: bool,
        ) -> watchkeep_provider::Result<Vec<watchkeep_provider::LiveObject>> {
            Ok(Vec::new())
        }
        async fn read(
            &self,
            _: &str,
            _: &str,
        ) -> watchkeep_provider::Result<Option<watchkeep_provider::LiveObject>> {
            Ok(None)
        }
        fn normalize(&self, _: &str, attrs: &serde_json::Value) -> serde_json::Value {
            attrs.clone()
        }
        fn mark(&self, _: &str, _: &mut serde_json::Value, _: &str) {}
        fn update_kind(&self, _: &str, _: &str) -> watchkeep_provider::UpdateKind {
            watchkeep_provider::UpdateKind::InPlace
        }
        async fn create(
            &self,
            _: &str,
            _: &serde_json::Value,
        ) -> watchkeep_provider::Result<watchkeep_provider::LiveObject> {
            unreachable!("routes test writes nothing")
        }
        async fn update(
            &self,
            _: &str,
            _: &str,
            _: &serde_json::Value,
        ) -> watchkeep_provider::Result<watchkeep_provider::LiveObject> {
            unreachable!("routes test writes nothing")
        }
        async fn delete(&self, _: &str, _: &str) -> watchkeep_provider::Result<()> {
            unreachable!("routes test writes nothing")
        }
        async fn test_delivery(
            &self,
            resource_type: &str,
            id: &str,
            _attrs: &serde_json::Value,
        ) -> watchkeep_provider::Result<Option<Vec<watchkeep_provider::Delivery>>> {
            if resource_type != "aws_sns_topic" {
                return Ok(None);
            }
            Ok(Some(vec![
                watchkeep_provider::Delivery {
                    target: format!("SNS topic {id} -> email o***@example.com"),
                    status: DeliveryStatus::NotDelivering,
                    answer: "subscription PendingConfirmation".into(),
                    dedup_key: None,
                    resolved: None,
                },
                watchkeep_provider::Delivery {
                    target: format!("SNS topic {id} -> https hooks.example.com"),
                    status: DeliveryStatus::Delivered,
                    answer: "MessageId m-1 to https://hooks.example.com/x/SECRETPATH".into(),
                    dedup_key: Some("m-1".into()),
                    resolved: None,
                },
            ]))
        }
        fn api_calls(&self) -> u64 {
            0
        }
    }

    fn resource(address: &str, resource_type: &str, provider: &str) -> crate::state::ResourceState {
        crate::state::ResourceState {
            address: address.into(),
            resource_type: resource_type.into(),
            provider: provider.into(),
            id: format!("id-of-{address}"),
            origin: Some(address.rsplit_once('.').map(|(o, _)| o.to_string()).unwrap_or_default()),
            attrs: serde_json::json!({}),
            vendor_modified: None,
            changed_at: "2026-12-01T00:00:00Z".into(),
            sensitive_paths: vec![],
            depends_on: vec![],
            configured: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn vendor_side_objects_of_the_selected_routes_are_tested_through_their_provider() {
        let mut state = State::new();
        state.upsert(resource("route.oncall.sns_topic", "aws_sns_topic", "cloudwatch"));
        state.upsert(resource("route.oncall.email_0", "aws_sns_topic_subscription", "cloudwatch"));
        state.upsert(resource("route.other.sns_topic", "aws_sns_topic", "cloudwatch"));
        state.upsert(resource("route.oncall.nr_destination", "newrelic_destination", "newrelic"));
        let c = cfg();
        let routes = vec![&c.routes["oncall"]];
        let redactor = Redactor::new(&["https://hooks.example.com/x/SECRETPATH".to_string()], "k");
        let configure = |name: &str| -> Result<Arc<dyn Provider>, String> {
            match name {
                "cloudwatch" => Ok(Arc::new(Topics)),
                other => Err(format!("cannot configure provider `{other}`: NEW_RELIC_API_KEY is not set")),
            }
        };
        let out = vendor_side(&configure, &state, &routes, &redactor).await;
        assert_eq!(out.keys().collect::<Vec<_>>(), ["oncall"], "route.other was not asked for");
        let got = &out["oncall"];
        // The subscription answered `Ok(None)` (skipped); the topic's two deliveries are listed;
        // the New Relic object whose provider cannot be configured is untested, with the reason.
        let summary: Vec<(String, TargetTestStatus)> =
            got.iter().map(|t| (t.target.clone(), t.status)).collect();
        assert_eq!(
            summary,
            [
                ("route.oncall.nr_destination".to_string(), TargetTestStatus::Untested),
                (
                    "SNS topic id-of-route.oncall.sns_topic -> email o***@example.com".to_string(),
                    TargetTestStatus::NotDelivering
                ),
                (
                    "SNS topic id-of-route.oncall.sns_topic -> https hooks.example.com".to_string(),
                    TargetTestStatus::Delivered
                ),
            ]
        );
        assert!(got[0].answer.contains("NEW_RELIC_API_KEY is not set"), "{}", got[0].answer);
        assert!(got.iter().all(|t| !t.answer.contains("SECRETPATH")), "{got:#?}");
        assert!(got[1..]
            .iter()
            .all(|t| t.via == "vendor" && t.address.as_deref() == Some("route.oncall.sns_topic")));
    }
}
