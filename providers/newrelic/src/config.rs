//! Provider settings: the `provider "newrelic" {}` block plus the environment.
//!
//! Resolution is pure apart from the `env` lookup the caller passes in, so it is tested with plain
//! maps. The API key comes only from the environment: it must never sit in HCL files, state or
//! plans.

use std::time::Duration;

use serde_json::{Map, Value};
use watchkeep_provider::config::{env_value, integer_attr, invalid, reject_unknown, string_attr, type_name};
use watchkeep_provider::ProviderError;

/// Attributes the `provider "newrelic"` block accepts.
pub const KNOWN_ATTRIBUTES: &[&str] =
    &["account_id", "region", "api_url", "timeout_seconds", "max_concurrency"];

/// Environment variable holding the user API key (`NRAK-...`).
pub const ENV_API_KEY: &str = "NEW_RELIC_API_KEY";
/// Environment fallback for `account_id`.
pub const ENV_ACCOUNT_ID: &str = "NEW_RELIC_ACCOUNT_ID";
/// Environment fallback for `region`.
pub const ENV_REGION: &str = "NEW_RELIC_REGION";

/// NerdGraph endpoint of the US region.
pub const US_ENDPOINT: &str = "https://api.newrelic.com/graphql";
/// NerdGraph endpoint of the EU region.
pub const EU_ENDPOINT: &str = "https://api.eu.newrelic.com/graphql";

/// Default `timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// New Relic allows 25 concurrent NerdGraph requests per user: the default and the maximum of
/// `max_concurrency`.
pub const MAX_CONCURRENCY: usize = 25;

/// A credential that prints as `***` (one type for every provider).
pub use watchkeep_provider::Secret;

/// New Relic data-centre region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Us,
    Eu,
}

/// Resolved provider settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRelicConfig {
    account_id: i64,
    pub region: Region,
    /// The full NerdGraph URL every request is POSTed to (`.../graphql`).
    pub endpoint: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Requests in flight at once (1..=25).
    pub max_concurrency: usize,
    /// `NEW_RELIC_API_KEY`, sent as the `API-Key` header.
    pub api_key: Secret,
}

impl NewRelicConfig {
    /// Resolves the provider block's attributes, falling back to the environment
    /// (`NEW_RELIC_ACCOUNT_ID`, `NEW_RELIC_REGION`); the key comes only from `NEW_RELIC_API_KEY`.
    pub fn from_block(
        attrs: &Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ProviderError> {
        reject_unknown(attrs, KNOWN_ATTRIBUTES, "newrelic")?;

        let account_id = match attrs.get("account_id") {
            None | Some(Value::Null) => match env_value(env, ENV_ACCOUNT_ID) {
                Some(v) => parse_account_id(&v, &format!("the `{ENV_ACCOUNT_ID}` environment variable"))?,
                None => {
                    return Err(invalid(format!(
                    "no New Relic account id\nhint: set `account_id` in the `provider \"newrelic\"` block \
                         or the `{ENV_ACCOUNT_ID}` environment variable"
                )))
                }
            },
            Some(Value::Number(n)) => match n.as_i64() {
                Some(id) if id > 0 => id,
                _ => return Err(invalid(format!("`account_id` must be a positive whole number (got {n})"))),
            },
            Some(Value::String(s)) => parse_account_id(s, "the `account_id` attribute")?,
            Some(other) => {
                return Err(invalid(format!("`account_id` must be a number (got {})", type_name(other))))
            }
        };

        let region = match string_attr(attrs, "region")? {
            Some(r) => parse_region(&r, "the `region` attribute")?,
            None => match env_value(env, ENV_REGION) {
                Some(r) => parse_region(&r, &format!("the `{ENV_REGION}` environment variable"))?,
                None => Region::Us,
            },
        };

        let endpoint = match string_attr(attrs, "api_url")? {
            Some(u) => parse_api_url(&u)?,
            None => match region {
                Region::Us => US_ENDPOINT.to_string(),
                Region::Eu => EU_ENDPOINT.to_string(),
            },
        };

        let timeout_seconds = match integer_attr(attrs, "timeout_seconds")? {
            None => DEFAULT_TIMEOUT_SECONDS,
            Some(t) if t >= 1 => t,
            Some(t) => return Err(invalid(format!("`timeout_seconds` must be at least 1 (got {t})"))),
        };

        let max_concurrency = match integer_attr(attrs, "max_concurrency")? {
            None => MAX_CONCURRENCY,
            Some(c) if (1..=MAX_CONCURRENCY as u64).contains(&c) => c as usize,
            Some(c) => {
                return Err(invalid(format!(
                    "`max_concurrency` must be between 1 and {MAX_CONCURRENCY} (got {c}); New Relic allows \
                     {MAX_CONCURRENCY} concurrent requests per user"
                )))
            }
        };

        let Some(api_key) = env_value(env, ENV_API_KEY) else {
            return Err(invalid(format!(
                "no New Relic API key found\nhint: set the `{ENV_API_KEY}` environment variable to a user key \
                 (`NRAK-...`); keys are never read from HCL files"
            )));
        };

        Ok(NewRelicConfig {
            account_id,
            region,
            endpoint,
            timeout: Duration::from_secs(timeout_seconds),
            max_concurrency,
            api_key: Secret::new(api_key),
        })
    }

    /// Issue 15: the key goes only to New Relic's own hosts (`api.newrelic.com`,
    /// `api.eu.newrelic.com`: <https://docs.newrelic.com/docs/apis/nerdgraph/get-started/introduction-new-relic-nerdgraph/>;
    /// any `*.newrelic.com` host over https) or to endpoints the operator allows outside the
    /// configuration ([`watchkeep_provider::endpoint::ENV_ALLOW_ENDPOINTS`]).
    pub fn check_endpoint(
        &self,
        attrs: &Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ProviderError> {
        if matches!(attrs.get("api_url"), None | Some(Value::Null)) {
            return Ok(());
        }
        let official = |host: &str| watchkeep_provider::endpoint::within(host, "newrelic.com");
        watchkeep_provider::endpoint::check(
            "New Relic",
            "the `api_url` attribute",
            &self.endpoint,
            &official,
            env,
        )
    }

    /// The account every object is created in and read from.
    pub fn account_id(&self) -> i64 {
        self.account_id
    }
}

fn parse_account_id(raw: &str, source: &str) -> Result<i64, ProviderError> {
    match raw.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(invalid(format!("{source} must be a positive whole number (got `{}`)", raw.trim()))),
    }
}

fn parse_region(raw: &str, source: &str) -> Result<Region, ProviderError> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "US" => Ok(Region::Us),
        "EU" => Ok(Region::Eu),
        _ => Err(invalid(format!("unknown New Relic region `{raw}` in {source}\nhint: use `US` or `EU`"))),
    }
}

/// `http(s)://host[:port]`, optionally followed by `/` or `/graphql`; returns the `/graphql` URL.
fn parse_api_url(raw: &str) -> Result<String, ProviderError> {
    let hint = "hint: write it as `https://api.newrelic.com/graphql` or `http://127.0.0.1:8080`";
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{}", raw.trim_start_matches('/'))
    };
    let url = reqwest::Url::parse(&with_scheme)
        .map_err(|e| invalid(format!("`api_url` is not a valid URL ({e})\n{hint}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(format!(
            "`api_url` must not contain credentials\nhint: set `{ENV_API_KEY}` instead"
        )));
    }
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid(format!("`api_url` must use http or https (got `{}://`)\n{hint}", url.scheme())));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(invalid(format!("`api_url` has no host: `{raw}`\n{hint}")));
    };
    if !matches!(url.path(), "" | "/" | "/graphql" | "/graphql/")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(invalid(format!(
            "`api_url` must be a scheme, host and port, optionally followed by `/graphql` (got `{raw}`)\n{hint}"
        )));
    }
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}/graphql", url.scheme()),
        None => format!("{}://{host}/graphql", url.scheme()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    const KEY: &str = "NRAK-SECRET0123456789";

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    fn block(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_us_region() {
        let c = NewRelicConfig::from_block(&block(json!({"account_id": 42})), &env_of(&[(ENV_API_KEY, KEY)]))
            .unwrap();
        assert_eq!(c.account_id(), 42);
        assert_eq!(c.region, Region::Us);
        assert_eq!(c.endpoint, US_ENDPOINT);
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.max_concurrency, 25);
    }

    #[test]
    fn eu_region_from_block_and_env() {
        let env = env_of(&[(ENV_API_KEY, KEY)]);
        let c = NewRelicConfig::from_block(&block(json!({"account_id": 1, "region": "eu"})), &env).unwrap();
        assert_eq!((c.region, c.endpoint.as_str()), (Region::Eu, EU_ENDPOINT));
        let env = env_of(&[(ENV_API_KEY, KEY), (ENV_REGION, "EU"), (ENV_ACCOUNT_ID, "77")]);
        let c = NewRelicConfig::from_block(&Map::new(), &env).unwrap();
        assert_eq!((c.region, c.account_id()), (Region::Eu, 77));
        let err =
            NewRelicConfig::from_block(&block(json!({"account_id": 1, "region": "APAC"})), &env).unwrap_err();
        assert!(err.to_string().contains("`US` or `EU`"), "{err}");
    }

    #[test]
    fn api_url_with_or_without_graphql() {
        let env = env_of(&[(ENV_API_KEY, KEY)]);
        for u in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/graphql"] {
            let c = NewRelicConfig::from_block(&block(json!({"account_id": 1, "api_url": u})), &env).unwrap();
            assert_eq!(c.endpoint, "http://127.0.0.1:8080/graphql");
        }
        for bad in ["ftp://x", "http://u:p@host", "http://host/other"] {
            assert!(
                NewRelicConfig::from_block(&block(json!({"account_id": 1, "api_url": bad})), &env).is_err()
            );
        }
    }

    #[test]
    fn unknown_attribute_lists_known_ones() {
        let env = env_of(&[(ENV_API_KEY, KEY)]);
        let err =
            NewRelicConfig::from_block(&block(json!({"account_id": 1, "api_key": "x"})), &env).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ProviderError::InvalidConfig { .. }));
        assert!(
            text.contains("`api_key`") && text.contains("`account_id`") && text.contains("`region`"),
            "{text}"
        );
    }

    #[test]
    fn missing_key_or_account() {
        let err = NewRelicConfig::from_block(&block(json!({"account_id": 1})), &env_of(&[])).unwrap_err();
        assert!(err.to_string().contains(ENV_API_KEY), "{err}");
        let err = NewRelicConfig::from_block(&Map::new(), &env_of(&[(ENV_API_KEY, KEY)])).unwrap_err();
        assert!(err.to_string().contains(ENV_ACCOUNT_ID), "{err}");
        let err =
            NewRelicConfig::from_block(&block(json!({"account_id": -3})), &env_of(&[(ENV_API_KEY, KEY)]))
                .unwrap_err();
        assert!(err.to_string().contains("positive"), "{err}");
        let err = NewRelicConfig::from_block(
            &block(json!({"account_id": 1, "max_concurrency": 26})),
            &env_of(&[(ENV_API_KEY, KEY)]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("25"), "{err}");
    }

    #[test]
    fn debug_hides_the_key() {
        let c = NewRelicConfig::from_block(&block(json!({"account_id": 5})), &env_of(&[(ENV_API_KEY, KEY)]))
            .unwrap();
        let out = format!("{c:?} {c:#?} {}", c.api_key);
        assert!(!out.contains(KEY) && out.contains("***"), "{out}");
        assert_eq!(c.api_key.expose(), KEY);
    }
}
