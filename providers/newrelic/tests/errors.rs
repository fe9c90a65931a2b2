mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use watchkeep_provider::{Provider, ProviderError};
use watchkeep_tests::newrelic::{NerdGraphFaultRule, NewRelicOptions};

const POLICY: &str = "newrelic_alert_policy";

fn rule(spec: &str) -> NerdGraphFaultRule {
    spec.parse().expect("fault spec")
}

#[tokio::test]
async fn graphql_error_classes_and_http_statuses_are_typed() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let attrs = json!({"name": "E"});

    nr.set_faults(vec![rule("error:TIMEOUT alertsPolicyCreate times=1")]);
    let err = p.create(POLICY, &attrs).await.unwrap_err();
    assert!(matches!(err, ProviderError::Transient { .. }), "{err:?}");
    assert!(err.is_retryable());

    nr.set_faults(vec![rule("error:TOO_MANY_REQUESTS query times=1")]);
    let err = p.list(POLICY, false).await.unwrap_err();
    assert!(matches!(err, ProviderError::RateLimited { .. }), "{err:?}");

    nr.set_faults(vec![rule("429 query times=1")]);
    match p.list(POLICY, false).await.unwrap_err() {
        ProviderError::RateLimited { retry_after } => assert_eq!(retry_after, Some(Duration::from_secs(1))),
        other => panic!("{other:?}"),
    }

    nr.set_faults(vec![rule("503 query times=1")]);
    assert!(matches!(p.list(POLICY, false).await.unwrap_err(), ProviderError::Transient { .. }));

    nr.set_faults(vec![rule("error:INTERNAL_SERVER_ERROR mutation times=1")]);
    assert!(matches!(p.create(POLICY, &attrs).await.unwrap_err(), ProviderError::Transient { .. }));

    nr.set_faults(Vec::new());
    // A business-rule refusal in the top-level errors (BAD_USER_INPUT) is an Api error.
    match p.create(POLICY, &json!({"name": "x".repeat(80)})).await.unwrap_err() {
        ProviderError::Api { body, .. } => assert!(body.contains("length must be between"), "{body}"),
        other => panic!("{other:?}"),
    }
    // After the faults, it works.
    p.create(POLICY, &attrs).await.unwrap();
    assert_all_valid(&nr);
}

#[tokio::test]
async fn bad_key_is_auth_and_never_printed() {
    let nr = start(NewRelicOptions::default());
    let p = provider_with_key(&nr, "not-a-user-key");
    let err = p.list(POLICY, false).await.unwrap_err();
    assert!(matches!(err, ProviderError::Auth { .. }), "{err:?}");
    assert!(!format!("{err} {err:?} {p:?}").contains("not-a-user-key"));
    // Another key's account is refused as well.
    let other = provider_with_key(&nr, "NRAK-SOMEONEELSE1");
    let err = other.list(POLICY, false).await.unwrap_err();
    assert!(matches!(err, ProviderError::Auth { .. }), "{err:?}");
    assert_all_valid(&nr);
}

#[tokio::test]
async fn concurrency_stays_within_the_limit() {
    let nr = start(NewRelicOptions { latency: Duration::from_millis(100), ..NewRelicOptions::default() });
    let p = std::sync::Arc::new(provider(&nr));
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move { p.create(POLICY, &json!({"name": format!("c{i}")})).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("no request beyond the 25-in-flight limit");
    }
    assert_eq!(nr.throttled_count(), 0);
    assert_eq!(p.api_calls(), 60);
    assert_all_valid(&nr);
}
