//! Provider settings: the `provider "datadog" {}` block plus the environment.
//!
//! Resolution is pure apart from the `env` lookup the caller passes in, so it is tested with plain
//! maps. Keys come only from the environment: they must never sit in HCL files, state or plans.

use std::time::Duration;

use serde_json::{Map, Value};
use watchkeep_provider::config::{
    env_value, integer_attr, invalid, quoted_list, reject_unknown, string_attr,
};
use watchkeep_provider::{endpoint, ProviderError};

/// Datadog sites (regions) the provider accepts for `site` / `DD_SITE`.
pub const SITES: &[&str] = &[
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "datadoghq.eu",
    "ddog-gov.com",
];

/// Attributes the `provider "datadog"` block accepts.
pub const KNOWN_ATTRIBUTES: &[&str] = &["site", "api_url", "timeout_seconds", "page_size"];

/// Default `site`.
pub const DEFAULT_SITE: &str = "datadoghq.com";
/// Default `timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// Default (and maximum) `page_size`: the most monitors Datadog returns per list page.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Environment variable holding the API key.
pub const ENV_API_KEY: &str = "DD_API_KEY";
/// Environment variable holding the application key.
pub const ENV_APP_KEY: &str = "DD_APP_KEY";
/// Alternative name for [`ENV_APP_KEY`], used by Datadog's own tools.
pub const ENV_APPLICATION_KEY: &str = "DD_APPLICATION_KEY";
/// Environment fallback for `site`.
pub const ENV_SITE: &str = "DD_SITE";
/// Environment fallback for `api_url`.
pub const ENV_HOST: &str = "DD_HOST";

/// A credential that prints as `***` (one type for every provider).
pub use watchkeep_provider::Secret;

/// Resolved provider settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DatadogConfig {
    /// The Datadog site, e.g. `datadoghq.eu`.
    pub site: String,
    /// Scheme, host and port every request goes to, without a trailing slash
    /// (`https://api.datadoghq.com`, or the `api_url` override).
    pub base_url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Objects per list page (1..=1000).
    pub page_size: u32,
    /// `DD_API_KEY`.
    pub api_key: Secret,
    /// `DD_APP_KEY` (or `DD_APPLICATION_KEY`).
    pub app_key: Secret,
}

impl DatadogConfig {
    /// Resolves the provider block's attributes, falling back to the environment
    /// (`DD_SITE`, `DD_HOST`) for unset ones; keys come only from `DD_API_KEY` and
    /// `DD_APP_KEY` / `DD_APPLICATION_KEY`.
    pub fn from_block(
        attrs: &Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DatadogConfig, ProviderError> {
        let settings = Settings::resolve(attrs, env)?;
        let api_key = env_value(env, ENV_API_KEY);
        let app_key = env_value(env, ENV_APP_KEY).or_else(|| env_value(env, ENV_APPLICATION_KEY));
        let (api_key, app_key) = match (api_key, app_key) {
            (Some(api), Some(app)) => (api, app),
            (None, Some(_)) => {
                return Err(invalid(format!(
                    "no Datadog API key found\nhint: set the `{ENV_API_KEY}` environment variable \
                     (keys are never read from HCL files)"
                )))
            }
            (Some(_), None) => {
                return Err(invalid(format!(
                    "no Datadog application key found\nhint: set the `{ENV_APP_KEY}` (or \
                     `{ENV_APPLICATION_KEY}`) environment variable (keys are never read from HCL files)"
                )))
            }
            (None, None) => {
                return Err(invalid(format!(
                    "no Datadog API key or application key found\nhint: set the `{ENV_API_KEY}` and \
                     `{ENV_APP_KEY}` environment variables (keys are never read from HCL files)"
                )))
            }
        };
        Ok(DatadogConfig {
            site: settings.site,
            base_url: settings.base_url,
            timeout: settings.timeout,
            page_size: settings.page_size,
            api_key: Secret::new(api_key),
            app_key: Secret::new(app_key),
        })
    }

    /// Issue 15: the keys go only to Datadog's own hosts (`api.<site>` and the rest of each
    /// site's domain, over https; the sites are Datadog's list,
    /// <https://docs.datadoghq.com/getting_started/site/>) or to endpoints the operator allows
    /// outside the configuration ([`watchkeep_provider::endpoint::ENV_ALLOW_ENDPOINTS`]). Only an
    /// `api_url` written in the block is checked: `site` can only name Datadog's sites, and
    /// `DD_HOST` is the operator's own environment.
    pub fn check_endpoint(
        &self,
        attrs: &Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ProviderError> {
        if matches!(attrs.get("api_url"), None | Some(Value::Null)) {
            return Ok(());
        }
        let official = |host: &str| SITES.iter().any(|site| endpoint::within(host, site));
        endpoint::check("Datadog", "the `api_url` attribute", &self.base_url, &official, env)
    }

    /// Checks the provider block's attributes alone: no environment, no credentials, no network.
    /// For `watchkeep validate`, which must work without keys.
    pub fn validate_block(attrs: &Map<String, Value>) -> Result<(), ProviderError> {
        Settings::resolve(attrs, &|_| None).map(|_| ())
    }
}

/// Everything except the keys.
struct Settings {
    site: String,
    base_url: String,
    timeout: Duration,
    page_size: u32,
}

impl Settings {
    fn resolve(
        attrs: &Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ProviderError> {
        reject_unknown(attrs, KNOWN_ATTRIBUTES, "datadog")?;

        let site = match string_attr(attrs, "site")? {
            Some(s) => parse_site(&s, "the `site` attribute")?,
            None => match env_value(env, ENV_SITE) {
                Some(s) => parse_site(&s, &format!("the `{ENV_SITE}` environment variable"))?,
                None => DEFAULT_SITE.to_string(),
            },
        };

        let base_url = match string_attr(attrs, "api_url")? {
            Some(u) => parse_api_url(&u, "the `api_url` attribute")?,
            None => match env_value(env, ENV_HOST) {
                Some(u) => parse_api_url(&u, &format!("the `{ENV_HOST}` environment variable"))?,
                None => format!("https://api.{site}"),
            },
        };

        let timeout_seconds = match integer_attr(attrs, "timeout_seconds")? {
            None => DEFAULT_TIMEOUT_SECONDS,
            Some(t) if t >= 1 => t,
            Some(t) => {
                return Err(invalid(format!("`timeout_seconds` must be at least 1 (got {t})")));
            }
        };

        let page_size = match integer_attr(attrs, "page_size")? {
            None => MAX_PAGE_SIZE,
            Some(p) if (1..=u64::from(MAX_PAGE_SIZE)).contains(&p) => p as u32,
            Some(p) => {
                return Err(invalid(format!(
                    "`page_size` must be between 1 and {MAX_PAGE_SIZE} (got {p}); Datadog returns at \
                     most {MAX_PAGE_SIZE} monitors per page"
                )));
            }
        };

        Ok(Settings { site, base_url, timeout: Duration::from_secs(timeout_seconds), page_size })
    }
}

fn parse_site(raw: &str, source: &str) -> Result<String, ProviderError> {
    let site = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    if SITES.contains(&site.as_str()) {
        Ok(site)
    } else {
        Err(invalid(format!(
            "unknown Datadog site `{raw}` in {source}\nhint: use one of {}; to reach another host, \
             set `api_url`",
            quoted_list(SITES)
        )))
    }
}

/// Accepts `http(s)://host[:port]`, optionally followed by `/` or `/api` or `/api/`; a bare host
/// (`api.datadoghq.eu`, `127.0.0.1:8080`) gets `https://`. Returns `scheme://host[:port]`.
fn parse_api_url(raw: &str, source: &str) -> Result<String, ProviderError> {
    let hint = "hint: write it as `https://api.datadoghq.com` (scheme, host and optional port)";
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{}", raw.trim_start_matches('/'))
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| {
        // The text is echoed back, but only after checking it holds no credentials.
        invalid(format!("{source} is not a valid URL ({e}): `{}`\n{hint}", redact_userinfo(raw)))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(format!(
            "{source} must not contain credentials\nhint: set `{ENV_API_KEY}` and `{ENV_APP_KEY}` instead"
        )));
    }
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid(format!("{source} must use http or https (got `{}://`)\n{hint}", url.scheme())));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(invalid(format!("{source} has no host: `{raw}`\n{hint}")));
    };
    if !matches!(url.path(), "" | "/" | "/api" | "/api/") || url.query().is_some() || url.fragment().is_some()
    {
        return Err(invalid(format!(
            "{source} must be only a scheme, host and port, optionally followed by `/api` (got `{raw}`)\n{hint}"
        )));
    }
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

fn redact_userinfo(raw: &str) -> String {
    match (raw.find("://"), raw.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &raw[..s], &raw[at + 1..]),
        (None, Some(at)) => format!("***@{}", &raw[at + 1..]),
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    const API: &str = "0123456789abcdef0123456789abcdef";
    const APP: &str = "fedcba9876543210fedcba9876543210fedcba98";

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    fn keys() -> Vec<(&'static str, &'static str)> {
        vec![("DD_API_KEY", API), ("DD_APP_KEY", APP)]
    }

    fn block(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn resolve(attrs: Value, env: &[(&str, &str)]) -> Result<DatadogConfig, ProviderError> {
        DatadogConfig::from_block(&block(attrs), &env_of(env))
    }

    fn err_message(r: Result<DatadogConfig, ProviderError>) -> String {
        match r {
            Err(ProviderError::InvalidConfig { message }) => message,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let cfg = resolve(json!({}), &keys()).unwrap();
        assert_eq!(cfg.site, "datadoghq.com");
        assert_eq!(cfg.base_url, "https://api.datadoghq.com");
        assert_eq!(cfg.timeout, Duration::from_secs(30));
        assert_eq!(cfg.page_size, 1000);
        assert_eq!(cfg.api_key.expose(), API);
        assert_eq!(cfg.app_key.expose(), APP);
    }

    #[test]
    fn every_known_site_maps_to_its_api_host() {
        for site in SITES {
            let cfg = resolve(json!({ "site": site }), &keys()).unwrap();
            assert_eq!(cfg.base_url, format!("https://api.{site}"));
        }
        let cfg = resolve(json!({ "site": " DatadogHQ.eu " }), &keys()).unwrap();
        assert_eq!(cfg.base_url, "https://api.datadoghq.eu");
    }

    #[test]
    fn site_falls_back_to_dd_site_and_attribute_wins() {
        let mut env = keys();
        env.push(("DD_SITE", "us5.datadoghq.com"));
        assert_eq!(resolve(json!({}), &env).unwrap().base_url, "https://api.us5.datadoghq.com");
        assert_eq!(
            resolve(json!({ "site": "ap1.datadoghq.com" }), &env).unwrap().base_url,
            "https://api.ap1.datadoghq.com"
        );
        // An empty variable is unset.
        let mut env = keys();
        env.push(("DD_SITE", ""));
        assert_eq!(resolve(json!({}), &env).unwrap().site, "datadoghq.com");
    }

    #[test]
    fn unknown_site_names_the_allowed_ones() {
        let msg = err_message(resolve(json!({ "site": "datadoghq.org" }), &keys()));
        assert!(msg.contains("datadoghq.org"), "{msg}");
        for site in SITES {
            assert!(msg.contains(site), "{msg} should list {site}");
        }
        let mut env = keys();
        env.push(("DD_SITE", "nope.example"));
        let msg = err_message(resolve(json!({}), &env));
        assert!(msg.contains("DD_SITE"), "{msg}");
    }

    #[test]
    fn api_url_forms() {
        let cases = [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/api", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/api/", "http://127.0.0.1:8080"),
            ("https://api.datadoghq.eu", "https://api.datadoghq.eu"),
            ("https://api.datadoghq.eu/", "https://api.datadoghq.eu"),
            ("https://api.datadoghq.eu:443/api", "https://api.datadoghq.eu"),
            ("https://dd.internal:8443/api/", "https://dd.internal:8443"),
            ("api.datadoghq.eu", "https://api.datadoghq.eu"),
            ("api.datadoghq.eu/api", "https://api.datadoghq.eu"),
            ("localhost:9000", "https://localhost:9000"),
            ("  HTTP://LocalHost:9000/  ", "http://localhost:9000"),
        ];
        for (input, want) in cases {
            let cfg =
                resolve(json!({ "api_url": input }), &keys()).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(cfg.base_url, want, "api_url = {input}");
        }
    }

    #[test]
    fn api_url_overrides_site_and_dd_host_is_the_fallback() {
        let cfg =
            resolve(json!({ "site": "datadoghq.eu", "api_url": "http://127.0.0.1:1" }), &keys()).unwrap();
        assert_eq!(cfg.site, "datadoghq.eu");
        assert_eq!(cfg.base_url, "http://127.0.0.1:1");

        let mut env = keys();
        env.push(("DD_HOST", "https://api.us3.datadoghq.com/"));
        assert_eq!(resolve(json!({}), &env).unwrap().base_url, "https://api.us3.datadoghq.com");
        assert_eq!(
            resolve(json!({ "api_url": "http://127.0.0.1:2" }), &env).unwrap().base_url,
            "http://127.0.0.1:2"
        );
    }

    #[test]
    fn bad_api_urls_are_rejected() {
        for bad in [
            "ftp://example.com",
            "https://example.com/v1/monitor",
            "https://example.com/?x=1",
            "http://",
            "https://user:hunter2@example.com",
        ] {
            let msg = err_message(resolve(json!({ "api_url": bad }), &keys()));
            assert!(msg.contains("api_url"), "{bad}: {msg}");
            assert!(!msg.contains("hunter2"), "credentials echoed: {msg}");
        }
        let msg = err_message(resolve(json!({ "api_url": 42 }), &keys()));
        assert!(msg.contains("must be a string"), "{msg}");
    }

    #[test]
    fn timeout_and_page_size() {
        let cfg = resolve(json!({ "timeout_seconds": 5, "page_size": 250 }), &keys()).unwrap();
        assert_eq!(cfg.timeout, Duration::from_secs(5));
        assert_eq!(cfg.page_size, 250);
        let cfg = resolve(json!({ "timeout_seconds": 7.0, "page_size": 1000 }), &keys()).unwrap();
        assert_eq!(cfg.timeout, Duration::from_secs(7));
        assert_eq!(cfg.page_size, 1000);
        for bad in [json!({ "page_size": 1001 }), json!({ "page_size": 0 }), json!({ "page_size": -5 })] {
            assert!(err_message(resolve(bad, &keys())).contains("page_size"));
        }
        for bad in [
            json!({ "timeout_seconds": 0 }),
            json!({ "timeout_seconds": 1.5 }),
            json!({ "timeout_seconds": "30" }),
        ] {
            assert!(err_message(resolve(bad, &keys())).contains("timeout_seconds"));
        }
    }

    #[test]
    fn unknown_attributes_list_the_known_ones() {
        let msg = err_message(resolve(json!({ "api_key": "x", "sit": "datadoghq.com" }), &keys()));
        assert!(msg.contains("`api_key`") && msg.contains("`sit`"), "{msg}");
        for known in KNOWN_ATTRIBUTES {
            assert!(msg.contains(known), "{msg} should list {known}");
        }
        assert!(!msg.contains("\"x\""), "attribute values must not be echoed: {msg}");
    }

    #[test]
    fn missing_keys_say_which_variable_to_set() {
        let msg = err_message(resolve(json!({}), &[("DD_APP_KEY", APP)]));
        assert!(msg.contains("DD_API_KEY") && !msg.contains(APP), "{msg}");

        let msg = err_message(resolve(json!({}), &[("DD_API_KEY", API)]));
        assert!(msg.contains("DD_APP_KEY") && msg.contains("DD_APPLICATION_KEY"), "{msg}");
        assert!(!msg.contains(API), "{msg}");

        let msg = err_message(resolve(json!({}), &[]));
        assert!(msg.contains("DD_API_KEY") && msg.contains("DD_APP_KEY"), "{msg}");

        // Empty values count as missing.
        let msg = err_message(resolve(json!({}), &[("DD_API_KEY", "  "), ("DD_APP_KEY", APP)]));
        assert!(msg.contains("DD_API_KEY"), "{msg}");
    }

    #[test]
    fn application_key_alias() {
        let cfg = resolve(json!({}), &[("DD_API_KEY", API), ("DD_APPLICATION_KEY", APP)]).unwrap();
        assert_eq!(cfg.app_key.expose(), APP);
        // DD_APP_KEY wins when both are set.
        let cfg =
            resolve(json!({}), &[("DD_API_KEY", API), ("DD_APP_KEY", "a1"), ("DD_APPLICATION_KEY", "a2")])
                .unwrap();
        assert_eq!(cfg.app_key.expose(), "a1");
    }

    #[test]
    fn keys_never_show_in_debug_or_display() {
        let cfg = resolve(json!({ "site": "datadoghq.eu" }), &keys()).unwrap();
        let debug = format!("{cfg:?}");
        let pretty = format!("{cfg:#?}");
        for out in [&debug, &pretty, &format!("{}", cfg.api_key), &format!("{:?}", cfg.app_key)] {
            assert!(!out.contains(API) && !out.contains(APP), "key leaked: {out}");
        }
        assert!(debug.contains("***"), "{debug}");
        assert_eq!(cfg.api_key.to_string(), "***");
    }

    #[test]
    fn validate_block_needs_no_keys() {
        assert!(DatadogConfig::validate_block(&block(json!({ "site": "datadoghq.eu" }))).is_ok());
        assert!(DatadogConfig::validate_block(&block(json!({ "site": "moon" }))).is_err());
        assert!(DatadogConfig::validate_block(&block(json!({ "bogus": 1 }))).is_err());
    }
}
