//! Helpers shared by the provider's test binaries.
#![allow(dead_code)]

use serde_json::{json, Value};
use watchkeep_cloudwatch::CloudWatchProvider;
use watchkeep_provider::{LiveObject, Provider};

pub const KEY_ID: &str = "testing";
pub const SECRET: &str = "testing-secret";

/// A provider talking to `endpoint` in `region` with dummy static credentials.
pub fn provider(endpoint: &str, region: &str) -> CloudWatchProvider {
    let env = |k: &str| match k {
        "AWS_ACCESS_KEY_ID" => Some(KEY_ID.to_string()),
        "AWS_SECRET_ACCESS_KEY" => Some(SECRET.to_string()),
        _ => None,
    };
    let attrs = json!({ "region": region, "endpoint_url": endpoint, "timeout_seconds": 20 });
    CloudWatchProvider::from_block(attrs.as_object().unwrap(), &env).expect("valid provider block")
}

fn http_client() -> aws_sdk_cloudwatch::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// A plain SDK CloudWatch client, for objects watchkeep did not make.
pub fn cw_client(endpoint: &str, region: &str) -> aws_sdk_cloudwatch::Client {
    let conf = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatch::config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            KEY_ID, SECRET, None, None, "test",
        ))
        .http_client(http_client())
        .build();
    aws_sdk_cloudwatch::Client::from_conf(conf)
}

/// A plain SDK SNS client.
pub fn sns_client(endpoint: &str, region: &str) -> aws_sdk_sns::Client {
    let conf = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sns::config::Credentials::new(KEY_ID, SECRET, None, None, "test"))
        .http_client(http_client())
        .build();
    aws_sdk_sns::Client::from_conf(conf)
}

/// `attrs` with watchkeep's marker for `address`, as the engine sends them.
pub fn marked(p: &CloudWatchProvider, resource_type: &str, mut attrs: Value, address: &str) -> Value {
    p.mark(resource_type, &mut attrs, address);
    attrs
}

pub fn find<'a>(objects: &'a [LiveObject], id: &str) -> &'a LiveObject {
    objects.iter().find(|o| o.id == id).unwrap_or_else(|| panic!("object {id} not listed"))
}

/// Asserts that the live object compares equal to the desired attributes (no perpetual diff).
pub fn assert_no_diff(p: &CloudWatchProvider, resource_type: &str, live: &LiveObject, desired: &Value) {
    let want = p.normalize(resource_type, desired);
    assert_eq!(
        live.attrs,
        want,
        "{resource_type} {} differs from the desired attributes\nlive:    {}\ndesired: {}",
        live.id,
        serde_json::to_string_pretty(&live.attrs).unwrap(),
        serde_json::to_string_pretty(&want).unwrap()
    );
    assert_eq!(p.normalize(resource_type, &live.attrs), live.attrs, "normalising twice changes nothing");
}
