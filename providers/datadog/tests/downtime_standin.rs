//! `datadog_downtime` against the local stand-in's v2 downtime endpoints
//! (`watchkeep_tests::DatadogStandIn`): create, list, read, update, cancel, and no diff after
//! each write. Every test uses its own `DD-API-KEY` (its own org).

use serde_json::{json, Value};
use watchkeep_datadog::{DatadogConfig, DatadogProvider};
use watchkeep_provider::Provider;
use watchkeep_tests::{DatadogStandIn, StandInOptions};

const DOWNTIME: &str = "datadog_downtime";

fn provider(dd: &DatadogStandIn, api_key: &str, page_size: Option<u32>) -> DatadogProvider {
    let mut block = serde_json::Map::new();
    block.insert("api_url".into(), Value::String(dd.base_url()));
    if let Some(n) = page_size {
        block.insert("page_size".into(), json!(n));
    }
    let api_key = api_key.to_string();
    let env = move |name: &str| match name {
        "DD_API_KEY" => Some(api_key.clone()),
        "DD_APP_KEY" => Some("app-key".to_string()),
        _ => None,
    };
    DatadogProvider::new(DatadogConfig::from_block(&block, &env).expect("config")).expect("provider")
}

fn weekly(address: &str, p: &DatadogProvider) -> Value {
    let mut attrs = json!({
        "scope": "env:prod",
        "monitor_identifier": { "monitor_tags": ["watchkeep-address:alert.cpu", "managed-by:watchkeep"] },
        "schedule": {
            "recurrences": [{ "rrule": "FREQ=WEEKLY;BYDAY=SA", "duration": "2h", "start": "2026-12-05T02:00" }],
            "timezone": "Europe/Berlin",
        },
        "message": "Weekly patching",
        "display_timezone": "Europe/Berlin",
    });
    p.mark(DOWNTIME, &mut attrs, address);
    attrs
}

#[tokio::test]
async fn create_list_update_cancel_without_diffs() {
    let dd = DatadogStandIn::start(StandInOptions::default()).expect("stand-in");
    let p = provider(&dd, "dt-crud", None);
    let desired = weekly("maintenance.patch_window", &p);
    let created = p.create(DOWNTIME, &desired).await.expect("create");
    assert_eq!(
        created.attrs,
        p.normalize(DOWNTIME, &desired),
        "create answer normalises to the desired body"
    );
    assert!(created.owned);
    assert_eq!(created.marker.as_deref(), Some("maintenance.patch_window"));

    let listed = p.list(DOWNTIME, true).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].attrs, p.normalize(DOWNTIME, &desired), "plan after apply is clean");
    let read = p.read(DOWNTIME, &created.id).await.expect("read").expect("exists");
    assert_eq!(read.attrs, created.attrs);

    // One-time window, removed display_timezone: the update must reset it to the default.
    let mut changed = json!({
        "scope": "env:prod",
        "monitor_identifier": { "monitor_id": 12345 },
        "schedule": { "start": "2030-01-01T02:00:00Z", "end": "2030-01-01T04:00:00+00:00" },
        "notify_end_states": ["alert"],
    });
    p.mark(DOWNTIME, &mut changed, "maintenance.patch_window");
    let updated = p.update(DOWNTIME, &created.id, &changed).await.expect("update");
    assert_eq!(updated.attrs, p.normalize(DOWNTIME, &changed));
    let reread = p.read(DOWNTIME, &created.id).await.unwrap().unwrap();
    assert_eq!(reread.attrs, p.normalize(DOWNTIME, &changed), "no diff after update");
    assert!(reread.attrs.get("display_timezone").is_none());

    p.delete(DOWNTIME, &created.id).await.expect("cancel");
    assert!(p.read(DOWNTIME, &created.id).await.unwrap().is_none(), "a cancelled downtime counts as deleted");
    assert!(p.list(DOWNTIME, false).await.unwrap().is_empty());
    p.delete(DOWNTIME, &created.id).await.expect("cancelling twice succeeds");
    p.delete(DOWNTIME, "00000000-0000-1234-0000-000000000000").await.expect("unknown id: already gone");
    // Still there on the vendor, as canceled.
    assert_eq!(dd.downtimes("dt-crud")[0]["attributes"]["status"], "canceled");
}

#[tokio::test]
async fn list_pages_and_filters_ownership() {
    let dd = DatadogStandIn::start(StandInOptions::default()).expect("stand-in");
    let p = provider(&dd, "dt-pages", Some(2));
    for k in 0..5 {
        p.create(DOWNTIME, &weekly(&format!("maintenance.m{k}"), &p)).await.expect("create");
    }
    let foreign =
        json!({ "scope": "env:dev", "monitor_identifier": { "monitor_tags": ["*"] }, "message": "by hand" });
    p.create(DOWNTIME, &foreign).await.expect("create foreign");
    dd.reset_request_count();
    let owned = p.list(DOWNTIME, true).await.expect("list");
    assert_eq!(owned.len(), 5);
    assert_eq!(dd.requests_matching("GET", "/api/v2/downtime"), 4, "6 downtimes, 2 a page: 4 pages");
    assert_eq!(p.list(DOWNTIME, false).await.unwrap().len(), 6);
    let found = p.find_by_marker(DOWNTIME, "maintenance.m3").await.unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn vendor_errors_come_back_as_api_errors() {
    let dd = DatadogStandIn::start(StandInOptions::default()).expect("stand-in");
    let p = provider(&dd, "dt-errors", None);
    let bad = json!({ "scope": "BAD_SCOPE_MISSING_KEY_VALUE_FORMAT", "monitor_identifier": { "monitor_tags": ["cat:hat"] } });
    let err = p.create(DOWNTIME, &bad).await.unwrap_err();
    assert!(err.to_string().contains("All values must have a key"), "{err}");
    let err = p
        .create(
            DOWNTIME,
            &json!({ "scope": "a:b", "monitor_identifier": { "monitor_tags": ["x:y"] },
                     "schedule": { "start": "2030-01-02T00:00:00Z", "end": "2030-01-01T00:00:00Z" } }),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("end must be after start"), "{err}");
    assert!(p.read(DOWNTIME, "00000000-0000-1234-0000-000000000000").await.unwrap().is_none());
}
