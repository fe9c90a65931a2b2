#![allow(dead_code)]

use serde_json::{json, Value};
use watchkeep_newrelic::NewRelicProvider;
use watchkeep_provider::{LiveObject, Provider};
use watchkeep_tests::newrelic::{NewRelicOptions, NewRelicStandIn};

pub const KEY: &str = "NRAK-TESTKEY0123456789";

pub fn start(opts: NewRelicOptions) -> NewRelicStandIn {
    NewRelicStandIn::start(opts).expect("stand-in starts")
}

pub fn provider_with_key(nr: &NewRelicStandIn, key: &str) -> NewRelicProvider {
    let account = nr.account_id(KEY);
    let key = key.to_string();
    let env = move |k: &str| (k == "NEW_RELIC_API_KEY").then(|| key.clone());
    let attrs = json!({"account_id": account, "api_url": nr.base_url(), "timeout_seconds": 10});
    NewRelicProvider::from_block(attrs.as_object().unwrap(), &env).expect("provider")
}

pub fn provider(nr: &NewRelicStandIn) -> NewRelicProvider {
    provider_with_key(nr, KEY)
}

/// What the engine does before create: mark, then normalise for the plan.
pub fn prepare(p: &NewRelicProvider, rtype: &str, address: &str, attrs: Value) -> (Value, Value) {
    let mut marked = attrs;
    p.mark(rtype, &mut marked, address);
    let normalized = p.normalize(rtype, &marked);
    (marked, normalized)
}

pub async fn listed(p: &NewRelicProvider, rtype: &str, id: &str) -> LiveObject {
    p.list(rtype, false)
        .await
        .expect("list")
        .into_iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("{rtype} {id} listed"))
}

pub fn assert_all_valid(nr: &NewRelicStandIn) {
    let bad = nr.invalid_documents();
    assert!(bad.is_empty(), "invalid documents sent: {bad:#?}");
}
