//! Provider settings: the `provider "cloudwatch" {}` block plus the environment.
//!
//! Resolution is pure apart from the `env` lookup the caller passes in, so it is tested with plain
//! maps. Credentials are never read from HCL: they come from `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`) as seen through `env`, else from AWS's standard
//! credential chain (profile files, SSO, web identity, container and instance metadata).

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};
use watchkeep_provider::config::{env_value, integer_attr, invalid, reject_unknown, string_attr};
pub(crate) use watchkeep_provider::config::{quoted_list, type_name as value_type};
use watchkeep_provider::ProviderError;

use crate::quota::Quotas;

/// Attributes the `provider "cloudwatch"` block accepts.
pub const KNOWN_ATTRIBUTES: &[&str] = &["region", "endpoint_url", "profile", "timeout_seconds", "quotas"];

/// Default `timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// Environment variables consulted for the region, in order.
pub const ENV_REGION: &[&str] = &["AWS_REGION", "AWS_DEFAULT_REGION"];
/// Environment variable holding the access key id.
pub const ENV_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// Environment variable holding the secret access key.
pub const ENV_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// Environment variable holding a session token (temporary credentials).
pub const ENV_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// Environment variable naming a profile (used when the block sets no `profile`).
pub const ENV_PROFILE: &str = "AWS_PROFILE";

/// A credential that prints as `***` (one type for every provider).
pub use watchkeep_provider::Secret;

/// Where request signing credentials come from.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`) from the environment.
    Static { access_key_id: Secret, secret_access_key: Secret, session_token: Option<Secret> },
    /// A named profile from `~/.aws/config` / `~/.aws/credentials`.
    Profile(String),
    /// AWS's standard chain (profile files, SSO, web identity, ECS/EKS, instance metadata).
    DefaultChain,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Even the access key id stays out: it identifies the account's user.
            Credentials::Static { session_token, .. } => f
                .debug_struct("Static")
                .field("access_key_id", &"***")
                .field("secret_access_key", &"***")
                .field("session_token", &session_token.as_ref().map(|_| "***"))
                .finish(),
            Credentials::Profile(p) => f.debug_tuple("Profile").field(p).finish(),
            Credentials::DefaultChain => f.write_str("DefaultChain"),
        }
    }
}

/// Resolved provider settings. `Debug` never shows a credential.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchConfig {
    pub(crate) region: String,
    pub(crate) endpoint_url: Option<String>,
    pub(crate) credentials: Credentials,
    pub(crate) timeout: Duration,
    pub(crate) quotas: Quotas,
}

impl CloudWatchConfig {
    /// Resolves the provider block's attributes, falling back to the environment for the region
    /// (`AWS_REGION`, then `AWS_DEFAULT_REGION`), the profile (`AWS_PROFILE`) and static keys.
    ///
    /// An explicit `profile` wins over keys in the environment (as with the AWS CLI's
    /// `--profile`); without either, the SDK's standard chain is used when a request is first
    /// made.
    pub fn from_block(
        attrs: &Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ProviderError> {
        reject_unknown(attrs, KNOWN_ATTRIBUTES, "cloudwatch")?;

        let region = match string_attr(attrs, "region")? {
            Some(r) => parse_region(&r, "the `region` attribute")?,
            None => match ENV_REGION.iter().find_map(|name| env_value(env, name).map(|v| (*name, v))) {
                Some((name, r)) => parse_region(&r, &format!("the `{name}` environment variable"))?,
                None => {
                    return Err(invalid(
                        "no AWS region configured\nhint: set `region = \"us-east-1\"` (for example) in \
                         the cloudwatch provider block, or the `AWS_REGION` environment variable"
                            .to_string(),
                    ))
                }
            },
        };

        let endpoint_url = match string_attr(attrs, "endpoint_url")? {
            Some(u) => Some(parse_endpoint_url(&u)?),
            None => None,
        };

        let profile = match string_attr(attrs, "profile")? {
            Some(p) if p.is_empty() => return Err(invalid("`profile` must not be empty")),
            Some(p) => Some(p),
            None => None,
        };

        let timeout_seconds = match integer_attr(attrs, "timeout_seconds")? {
            None => DEFAULT_TIMEOUT_SECONDS,
            Some(t) if t >= 1 => t,
            Some(t) => return Err(invalid(format!("`timeout_seconds` must be at least 1 (got {t})"))),
        };

        let quotas = Quotas::from_attr(attrs.get("quotas"))?;

        let credentials = match profile {
            Some(p) => Credentials::Profile(p),
            None => static_credentials(env)?.unwrap_or_else(|| match env_value(env, ENV_PROFILE) {
                Some(p) => Credentials::Profile(p),
                None => Credentials::DefaultChain,
            }),
        };

        Ok(CloudWatchConfig {
            region,
            endpoint_url,
            credentials,
            timeout: Duration::from_secs(timeout_seconds),
            quotas,
        })
    }

    /// Issue 15: requests signed with the AWS credentials go only to AWS's own hosts
    /// (`*.amazonaws.com`, `*.amazonaws.com.cn`, `*.api.aws` over https:
    /// <https://docs.aws.amazon.com/general/latest/gr/cw_region.html>) or to endpoints the
    /// operator allows outside the configuration
    /// ([`watchkeep_provider::endpoint::ENV_ALLOW_ENDPOINTS`]). No `endpoint_url`: the SDK's own.
    pub fn check_endpoint(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ProviderError> {
        let Some(url) = &self.endpoint_url else { return Ok(()) };
        watchkeep_provider::endpoint::check(
            "AWS",
            "the `endpoint_url` attribute",
            url,
            &watchkeep_provider::endpoint::aws_host,
            env,
        )
    }

    /// The AWS region every request goes to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The `endpoint_url` override, if any (`scheme://host[:port]`).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// Per-operation timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The API quotas requests are paced to (AWS's published figures, with `quotas` overrides).
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// Where credentials come from (prints no secret).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
}

fn static_credentials(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Credentials>, ProviderError> {
    match (env_value(env, ENV_ACCESS_KEY_ID), env_value(env, ENV_SECRET_ACCESS_KEY)) {
        (Some(id), Some(secret)) => Ok(Some(Credentials::Static {
            access_key_id: Secret::new(id),
            secret_access_key: Secret::new(secret),
            session_token: env_value(env, ENV_SESSION_TOKEN).map(Secret::new),
        })),
        (Some(_), None) => Err(invalid(format!(
            "`{ENV_ACCESS_KEY_ID}` is set but `{ENV_SECRET_ACCESS_KEY}` is not\nhint: set both, or \
             neither to use a profile or AWS's standard credential chain"
        ))),
        (None, Some(_)) => Err(invalid(format!(
            "`{ENV_SECRET_ACCESS_KEY}` is set but `{ENV_ACCESS_KEY_ID}` is not\nhint: set both, or \
             neither to use a profile or AWS's standard credential chain"
        ))),
        (None, None) => Ok(None),
    }
}

/// Region names are lowercase letters, digits and dashes (`us-east-1`, `eu-central-2`,
/// `us-gov-west-1`); anything else would end up in a host name.
fn parse_region(raw: &str, source: &str) -> Result<String, ProviderError> {
    let region = raw.trim().to_ascii_lowercase();
    let ok = !region.is_empty()
        && region.len() <= 64
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if ok {
        Ok(region)
    } else {
        Err(invalid(format!(
            "{source} is not an AWS region name: `{raw}`\nhint: write it like `us-east-1` or `eu-west-2`"
        )))
    }
}

/// `http(s)://host[:port]` with an optional trailing `/`; no credentials, path or query.
fn parse_endpoint_url(raw: &str) -> Result<String, ProviderError> {
    let hint = "hint: write it as `http://127.0.0.1:5000` (scheme, host and optional port); the same \
                URL serves CloudWatch and SNS";
    let Some((scheme, rest)) = raw.split_once("://") else {
        return Err(invalid(format!("`endpoint_url` must start with `http://` or `https://`\n{hint}")));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(invalid(format!("`endpoint_url` must use http or https (got `{scheme}://`)\n{hint}")));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        // Never echo it: the part before `@` is a credential.
        return Err(invalid(format!(
            "`endpoint_url` must not contain credentials\nhint: use `{ENV_ACCESS_KEY_ID}` and \
             `{ENV_SECRET_ACCESS_KEY}`, or a profile"
        )));
    }
    if authority.is_empty() {
        return Err(invalid(format!("`endpoint_url` has no host: `{raw}`\n{hint}")));
    }
    if authority.contains(['/', '?', '#', ' ']) {
        return Err(invalid(format!(
            "`endpoint_url` must be only a scheme, host and port (got `{raw}`)\n{hint}"
        )));
    }
    let port = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, rest)) if !host.is_empty() => match rest {
                "" => None,
                _ => match rest.strip_prefix(':') {
                    Some(port) => Some(port),
                    None => {
                        return Err(invalid(format!("`endpoint_url` has an invalid host: `{raw}`\n{hint}")))
                    }
                },
            },
            _ => return Err(invalid(format!("`endpoint_url` has an invalid host: `{raw}`\n{hint}"))),
        }
    } else {
        match authority.split_once(':') {
            Some(("", _)) => return Err(invalid(format!("`endpoint_url` has no host: `{raw}`\n{hint}"))),
            Some((_, port)) => Some(port),
            None => None,
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
            return Err(invalid(format!("`endpoint_url` has an invalid port: `{raw}`\n{hint}")));
        }
    }
    Ok(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    const KEY_ID: &str = "AKIAEXAMPLEKEYID0001";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    fn resolve(attrs: Value, env: &[(&str, &str)]) -> Result<CloudWatchConfig, ProviderError> {
        CloudWatchConfig::from_block(attrs.as_object().unwrap(), &env_of(env))
    }

    fn err_message(r: Result<CloudWatchConfig, ProviderError>) -> String {
        match r {
            Err(ProviderError::InvalidConfig { message }) => message,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_region_sources() {
        let cfg = resolve(json!({ "region": "eu-west-1" }), &[]).unwrap();
        assert_eq!(cfg.region(), "eu-west-1");
        assert_eq!(cfg.endpoint_url(), None);
        assert_eq!(cfg.timeout(), Duration::from_secs(30));
        assert_eq!(cfg.credentials(), &Credentials::DefaultChain);

        let env = [("AWS_REGION", "us-west-2"), ("AWS_DEFAULT_REGION", "eu-north-1")];
        assert_eq!(resolve(json!({}), &env).unwrap().region(), "us-west-2");
        assert_eq!(resolve(json!({}), &env[1..]).unwrap().region(), "eu-north-1");
        assert_eq!(resolve(json!({ "region": " AP-South-1 " }), &env).unwrap().region(), "ap-south-1");
        // Empty variables are unset.
        assert_eq!(resolve(json!({}), &[("AWS_REGION", " "), env[1]]).unwrap().region(), "eu-north-1");
    }

    #[test]
    fn missing_region_has_a_hint() {
        let msg = err_message(resolve(json!({}), &[]));
        assert!(
            msg.contains("no AWS region") && msg.contains("hint:") && msg.contains("AWS_REGION"),
            "{msg}"
        );
        let msg = err_message(resolve(json!({ "region": "us east 1" }), &[]));
        assert!(msg.contains("`region`"), "{msg}");
        let msg = err_message(resolve(json!({}), &[("AWS_DEFAULT_REGION", "x/y")]));
        assert!(msg.contains("AWS_DEFAULT_REGION"), "{msg}");
    }

    #[test]
    fn unknown_attributes_list_the_known_ones() {
        let msg =
            err_message(resolve(json!({ "region": "us-east-1", "secret_key": "zzz", "regoin": 1 }), &[]));
        assert!(msg.contains("`secret_key`") && msg.contains("`regoin`"), "{msg}");
        for known in KNOWN_ATTRIBUTES {
            assert!(msg.contains(known), "{msg} should list {known}");
        }
        assert!(!msg.contains("zzz"), "values must not be echoed: {msg}");
    }

    #[test]
    fn wrong_types_are_named() {
        let msg = err_message(resolve(json!({ "region": 5 }), &[]));
        assert!(msg.contains("`region` must be a string (got a number)"), "{msg}");
        let msg = err_message(resolve(json!({ "region": "us-east-1", "timeout_seconds": "30" }), &[]));
        assert!(msg.contains("`timeout_seconds` must be a number (got a string)"), "{msg}");
        for bad in [json!(0), json!(1.5), json!(-3)] {
            let msg = err_message(resolve(json!({ "region": "us-east-1", "timeout_seconds": bad }), &[]));
            assert!(msg.contains("timeout_seconds"), "{msg}");
        }
        let cfg = resolve(json!({ "region": "us-east-1", "timeout_seconds": 7.0 }), &[]).unwrap();
        assert_eq!(cfg.timeout(), Duration::from_secs(7));
        let msg = err_message(resolve(json!({ "region": "us-east-1", "profile": ["a"] }), &[]));
        assert!(msg.contains("`profile` must be a string (got a list)"), "{msg}");
    }

    #[test]
    fn endpoint_url_forms() {
        let ok = [
            ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
            ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
            ("HTTPS://monitoring.example.com", "https://monitoring.example.com"),
            ("http://[::1]:4566", "http://[::1]:4566"),
            ("http://localhost", "http://localhost"),
        ];
        for (input, want) in ok {
            let cfg = resolve(json!({ "region": "us-east-1", "endpoint_url": input }), &[])
                .unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(cfg.endpoint_url(), Some(want));
        }
        for bad in [
            "127.0.0.1:5000",
            "ftp://x",
            "http://",
            "http://h/path",
            "http://h:99999",
            "http://h:port",
            "https://AKIA:hunter2@example.com",
        ] {
            let msg = err_message(resolve(json!({ "region": "us-east-1", "endpoint_url": bad }), &[]));
            assert!(msg.contains("endpoint_url"), "{bad}: {msg}");
            assert!(!msg.contains("hunter2"), "credential echoed: {msg}");
        }
    }

    #[test]
    fn credential_sources() {
        let keys =
            [("AWS_ACCESS_KEY_ID", KEY_ID), ("AWS_SECRET_ACCESS_KEY", SECRET), ("AWS_SESSION_TOKEN", TOKEN)];
        let cfg = resolve(json!({ "region": "us-east-1" }), &keys).unwrap();
        match cfg.credentials() {
            Credentials::Static { access_key_id, secret_access_key, session_token } => {
                assert_eq!(access_key_id.expose(), KEY_ID);
                assert_eq!(secret_access_key.expose(), SECRET);
                assert_eq!(session_token.as_ref().map(Secret::expose), Some(TOKEN));
            }
            other => panic!("{other:?}"),
        }
        // An explicit profile wins over keys in the environment; AWS_PROFILE does not.
        let cfg = resolve(json!({ "region": "us-east-1", "profile": "ops" }), &keys).unwrap();
        assert_eq!(cfg.credentials(), &Credentials::Profile("ops".into()));
        let mut env = keys.to_vec();
        env.push(("AWS_PROFILE", "dev"));
        assert!(matches!(
            resolve(json!({ "region": "us-east-1" }), &env).unwrap().credentials(),
            Credentials::Static { .. }
        ));
        let cfg = resolve(json!({ "region": "us-east-1" }), &[("AWS_PROFILE", "dev")]).unwrap();
        assert_eq!(cfg.credentials(), &Credentials::Profile("dev".into()));

        let msg = err_message(resolve(json!({ "region": "us-east-1" }), &keys[..1]));
        assert!(msg.contains("AWS_SECRET_ACCESS_KEY") && !msg.contains(KEY_ID), "{msg}");
        let msg = err_message(resolve(json!({ "region": "us-east-1" }), &keys[1..2]));
        assert!(msg.contains("AWS_ACCESS_KEY_ID") && !msg.contains(SECRET), "{msg}");
    }

    #[test]
    fn debug_never_shows_a_credential() {
        let keys =
            [("AWS_ACCESS_KEY_ID", KEY_ID), ("AWS_SECRET_ACCESS_KEY", SECRET), ("AWS_SESSION_TOKEN", TOKEN)];
        let cfg =
            resolve(json!({ "region": "us-east-1", "endpoint_url": "http://127.0.0.1:1" }), &keys).unwrap();
        for out in [format!("{cfg:?}"), format!("{cfg:#?}")] {
            for secret in [KEY_ID, SECRET, TOKEN] {
                assert!(!out.contains(secret), "credential leaked: {out}");
            }
            assert!(out.contains("***") && out.contains("us-east-1"), "{out}");
        }
    }
}
