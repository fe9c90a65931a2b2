mod common;

use common::*;
use serde_json::json;
use watchkeep_provider::Provider;
use watchkeep_tests::newrelic::{NewRelicOptions, ObjectKind};

const POLICY: &str = "newrelic_alert_policy";
const DEST: &str = "newrelic_notification_destination";
const CHAN: &str = "newrelic_notification_channel";
const WF: &str = "newrelic_workflow";
const DASH: &str = "newrelic_dashboard";
const SECRET: &str = "pd-integration-key-OLD-1234";
const ROTATED: &str = "pd-integration-key-NEW-5678";

#[tokio::test]
async fn destination_channel_workflow_with_references_and_secrets() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (pol, pol_norm) = prepare(&p, POLICY, "route.oncall", json!({"name": "Oncall"}));
    let (dest, dest_norm) = prepare(
        &p,
        DEST,
        "route.oncall.pd",
        json!({"name": "PagerDuty", "type": "PAGERDUTY_SERVICE_INTEGRATION", "properties": [],
               "auth": {"type": "TOKEN", "token": {"token": SECRET}}}),
    );
    // The engine links objects by sending the ids of the ones created before them.
    let policy = p.create(POLICY, &pol).await.unwrap();
    let d = p.create(DEST, &dest).await.unwrap();
    let (chan, chan_norm) = prepare(
        &p,
        CHAN,
        "route.oncall.channel",
        json!({"name": "pd channel", "type": "PAGERDUTY_SERVICE_INTEGRATION", "destinationId": d.id,
               "properties": [{"key": "summary", "value": "{{ annotations.title }}"}]}),
    );
    let c = p.create(CHAN, &chan).await.unwrap();
    let (wf, wf_norm) = prepare(
        &p,
        WF,
        "route.oncall.workflow",
        json!({"name": "Oncall workflow", "enabled": true, "mutingRulesHandling": "DONT_NOTIFY_FULLY_MUTED_ISSUES",
               "issuesFilter": {"type": "FILTER", "predicates": [{"attribute": "labels.policyIds", "operator": "EXACTLY_MATCHES", "values": [policy.id]}]},
               "destinationConfigurations": [{"channelId": c.id, "notificationTriggers": ["ACTIVATED", "CLOSED"]}]}),
    );
    assert!(!dest_norm.to_string().contains(SECRET));

    let w = p.create(WF, &wf).await.unwrap();
    assert_eq!(
        (d.attrs.clone(), c.attrs.clone(), w.attrs.clone()),
        (dest_norm.clone(), chan_norm.clone(), wf_norm.clone())
    );
    assert_eq!(nr.destination_secrets(KEY, &d.id).unwrap()["auth"]["token"], json!(SECRET));
    let stored_wf = nr.object(KEY, ObjectKind::Workflow, &w.id).unwrap();
    assert_eq!(stored_wf["issuesFilter"]["predicates"][0]["values"], json!([policy.id]));
    assert_eq!(stored_wf["destinationConfigurations"][0]["channelId"], json!(c.id));

    // After a restart: same configuration, fresh provider → everything lists equal.
    let p2 = provider(&nr);
    let (_, pol_norm2) = prepare(&p2, POLICY, "route.oncall", json!({"name": "Oncall"}));
    let (dest2, dest_norm2) = prepare(&p2, DEST, "route.oncall.pd", dest.clone());
    let (_, chan_norm2) = prepare(&p2, CHAN, "route.oncall.channel", chan.clone());
    let (wf2, wf_norm2) = prepare(&p2, WF, "route.oncall.workflow", wf.clone());
    assert_eq!(listed(&p2, POLICY, &policy.id).await.attrs, pol_norm2);
    let ld = listed(&p2, DEST, &d.id).await;
    assert_eq!(ld.attrs, dest_norm2);
    assert_eq!(listed(&p2, CHAN, &c.id).await.attrs, chan_norm2);
    let lw = listed(&p2, WF, &w.id).await;
    assert_eq!(lw.attrs, wf_norm2);
    assert_eq!(lw.marker.as_deref(), Some("route.oncall.workflow"));
    assert_eq!((pol_norm, chan_norm), (pol_norm2, chan_norm2));
    assert_eq!(wf_norm, wf_norm2);

    // Rotating the secret is a change, and the update sends the new value.
    let mut rotated = dest2.clone();
    rotated["auth"]["token"]["token"] = json!(ROTATED);
    let rotated_norm = p2.normalize(DEST, &rotated);
    assert_ne!(rotated_norm, ld.attrs);
    let up = p2.update(DEST, &d.id, &rotated).await.unwrap();
    assert_eq!(up.attrs, rotated_norm);
    assert_eq!(nr.destination_secrets(KEY, &d.id).unwrap()["auth"]["token"], json!(ROTATED));
    assert_eq!(listed(&p2, DEST, &d.id).await.attrs, rotated_norm);

    // The secret never shows in live objects, debug output or errors.
    for rtype in [DEST, CHAN, WF] {
        for o in p2.list(rtype, false).await.unwrap() {
            let text = format!("{o:?}");
            assert!(!text.contains(SECRET) && !text.contains(ROTATED), "{text}");
        }
    }
    let mut bad = rotated.clone();
    bad["auth"] = json!({"type": "BASIC", "basic": {"user": "u", "password": ROTATED}});
    let err = p2.update(DEST, &d.id, &bad).await.unwrap_err();
    let text = format!("{err} {err:?} {p2:?}");
    assert!(!text.contains(ROTATED) && !text.contains(KEY), "{text}");
    assert!(matches!(err, watchkeep_provider::ProviderError::Api { .. }), "{err:?}");

    // Workflow and channel updates in place keep the references.
    let mut wf3 = wf2.clone();
    wf3["workflowEnabled"] = json!(false);
    wf3["destinationConfigurations"][0]["notificationTriggers"] = json!(["ACTIVATED"]);
    let uw = p2.update(WF, &w.id, &wf3).await.unwrap();
    assert_eq!(uw.attrs, p2.normalize(WF, &wf3));
    assert_eq!(listed(&p2, WF, &w.id).await.attrs, p2.normalize(WF, &wf3));
    assert_eq!(
        nr.object(KEY, ObjectKind::Workflow, &w.id).unwrap()["issuesFilter"]["id"],
        stored_wf["issuesFilter"]["id"]
    );
    let mut chan3 = chan.clone();
    chan3["properties"] = json!([{"key": "summary", "value": "changed"}]);
    p2.mark(CHAN, &mut chan3, "route.oncall.channel");
    let uc = p2.update(CHAN, &c.id, &chan3).await.unwrap();
    assert_eq!(uc.attrs, p2.normalize(CHAN, &chan3));
    assert!(nr.object(KEY, ObjectKind::Channel, &c.id).is_some(), "updating the workflow kept its channel");

    // Delete in reverse order; deleting twice is fine; the workflow leaves its channel alone.
    p2.delete(WF, &w.id).await.unwrap();
    assert!(nr.object(KEY, ObjectKind::Channel, &c.id).is_some());
    p2.delete(WF, &w.id).await.unwrap();
    p2.delete(CHAN, &c.id).await.unwrap();
    p2.delete(CHAN, &c.id).await.unwrap();
    p2.delete(DEST, &d.id).await.unwrap();
    p2.delete(DEST, &d.id).await.unwrap();
    assert!(p2.read(DEST, &d.id).await.unwrap().is_none());
    assert!(nr.destination_secrets(KEY, &d.id).is_none());
    assert_all_valid(&nr);
}

#[tokio::test]
async fn webhook_with_basic_auth_and_email_destination() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (hook, hook_norm) = prepare(
        &p,
        DEST,
        "hooks.main",
        json!({"name": "hook", "type": "webhook", "properties": [{"key": "url", "value": "https://example.com/hook"}],
               "auth": {"type": "BASIC", "basic": {"user": "bot", "password": "pa55word-xyz"}}}),
    );
    let h = p.create(DEST, &hook).await.unwrap();
    assert_eq!(listed(&p, DEST, &h.id).await.attrs, hook_norm);
    assert!(!format!("{:?}", listed(&p, DEST, &h.id).await).contains("pa55word-xyz"));
    let (mail, mail_norm) = prepare(
        &p,
        DEST,
        "hooks.mail",
        json!({"name": "mail", "type": "EMAIL", "properties": [{"key": "email", "value": "ops@example.com"}]}),
    );
    let m = p.create(DEST, &mail).await.unwrap();
    assert_eq!(listed(&p, DEST, &m.id).await.attrs, mail_norm);
    assert!(mail_norm.get("secretSha256").is_none());
    // A typed error inside `data` (EMAIL takes no auth) is an Api error with its message.
    let mut bad = mail.clone();
    bad["name"] = json!("mail2");
    bad["auth"] = json!({"type": "TOKEN", "token": {"token": "x"}});
    match p.create(DEST, &bad).await.unwrap_err() {
        watchkeep_provider::ProviderError::Api { body, .. } => {
            assert!(body.contains("EMAIL destinations take no auth"), "{body}")
        }
        other => panic!("{other:?}"),
    }
    assert_all_valid(&nr);
}

#[tokio::test]
async fn dashboard_lifecycle() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let account = nr.account_id(KEY);
    let (dash, norm) = prepare(
        &p,
        DASH,
        "dash.main",
        json!({"name": "Main", "description": "Service overview", "permissions": "PUBLIC_READ_ONLY",
               "pages": [{"name": "Page 1", "widgets": [{"title": "CPU", "layout": {"column": 1, "row": 1, "width": 6, "height": 3},
                 "visualization": {"id": "viz.line"},
                 "rawConfiguration": {"nrqlQueries": [{"accountIds": [account], "query": "SELECT average(cpuPercent) FROM SystemSample TIMESERIES"}]}}]}]}),
    );
    let d = p.create(DASH, &dash).await.unwrap();
    assert_eq!(d.attrs, norm);
    assert_eq!(d.marker.as_deref(), Some("dash.main"));
    let l = listed(&p, DASH, &d.id).await;
    assert_eq!(l.attrs, norm);
    let mut changed = dash.clone();
    changed["pages"][0]["widgets"][0]["title"] = json!("CPU %");
    let u = p.update(DASH, &d.id, &changed).await.unwrap();
    assert_eq!(u.attrs, p.normalize(DASH, &changed));
    assert_eq!(listed(&p, DASH, &d.id).await.attrs, p.normalize(DASH, &changed));
    p.delete(DASH, &d.id).await.unwrap();
    p.delete(DASH, &d.id).await.unwrap();
    assert!(p.list(DASH, false).await.unwrap().is_empty());
    assert_all_valid(&nr);
}
