//! Where vendor keys may go (issue 15): a provider block's `api_url` / `endpoint_url` is written
//! in the configuration, which a pull request can change, while the keys come from the
//! operator's environment. So the keys are sent only to
//! - the vendor's official hosts, over https (each provider passes its list), or
//! - endpoints the OPERATOR allows outside the configuration, in the environment variable
//!   [`ENV_ALLOW_ENDPOINTS`] (comma-separated `scheme://host[:port]`; without a port, any port
//!   of that host), e.g. a corporate proxy or a local stand-in;
//! - and plain `http://` only to loopback (127.0.0.0/8, ::1, localhost), and only when allowed.
//!
//! Anything else is a configuration error that names the host and says how to allow it, raised
//! before any client exists, so nothing is sent.

use std::net::IpAddr;

use crate::ProviderError;

/// The operator's allow list: `http://127.0.0.1:8126,https://dd.proxy.corp`.
pub const ENV_ALLOW_ENDPOINTS: &str = "WATCHKEEP_ALLOW_ENDPOINTS";

/// `scheme://host[:port]` split, lowercased; IPv6 hosts without brackets.
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    scheme: String,
    host: String,
    port: Option<u16>,
}

/// `url` without what the `url` crate strips from its ends (C0 controls and spaces), and nothing
/// more: `str::trim` also strips Unicode spaces (U+00A0, U+3000), which the client keeps, so a
/// URL starting with one passed the check but named no host the client could reach.
fn client_trim(url: &str) -> &str {
    url.trim_matches(|c: char| c <= ' ')
}

fn split(url: &str) -> Option<Parts> {
    let (scheme, rest) = client_trim(url).split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.parse().ok()?)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let port = match (scheme.as_str(), port) {
        ("https", Some(443)) | ("http", Some(80)) => None,
        (_, p) => p,
    };
    Some(Parts { scheme, host: host.to_ascii_lowercase(), port })
}

/// Whether the `url` crate (what reqwest parses requests with) reads `url` as `p`.
fn agrees_with_client(url: &str, p: &Parts) -> bool {
    let Ok(u) = url::Url::parse(client_trim(url)) else { return false };
    let host = u.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase());
    u.username().is_empty()
        && u.password().is_none()
        && u.query().is_none()
        && u.fragment().is_none()
        && u.scheme() == p.scheme
        && host.as_deref() == Some(p.host.as_str())
        && u.port() == p.port
}

/// 127.0.0.0/8, ::1 (and ::ffff:127.x), `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
}

/// AWS's own hosts (`*.amazonaws.com`, `*.amazonaws.com.cn`, `*.api.aws`:
/// <https://docs.aws.amazon.com/general/latest/gr/rande.html>), for requests signed with the AWS
/// credentials (CloudWatch, SNS, the S3 state backend).
pub fn aws_host(host: &str) -> bool {
    ["amazonaws.com", "amazonaws.com.cn", "api.aws"].iter().any(|d| within(host, d))
}

/// Whether `host` is `domain` or a subdomain of it.
pub fn within(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == domain || host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.'))
}

fn shown(p: &Parts) -> String {
    let host = if p.host.contains(':') { format!("[{}]", p.host) } else { p.host.clone() };
    match p.port {
        Some(port) => format!("{}://{host}:{port}", p.scheme),
        None => format!("{}://{host}", p.scheme),
    }
}

/// Checks that `url` (an endpoint already normalised by the provider, `scheme://host[:port]`
/// with an optional path) may receive `vendor`'s keys. `source` names where it was written
/// (`` the `api_url` attribute ``); `official` says whether a host is one of the vendor's own.
pub fn check(
    vendor: &str,
    source: &str,
    url: &str,
    official: &dyn Fn(&str) -> bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ProviderError> {
    let invalid = |message: String| ProviderError::InvalidConfig { message };
    // The host checked must be the host the HTTP client connects to: reqwest parses with the
    // `url` crate (WHATWG rules: `\\` ends the authority, tabs vanish, escapes are decoded), so
    // the plain split and that parser must agree, with no user info, query or fragment.
    // Spaces and control characters other than tab, CR and LF (which the client drops anywhere)
    // are refused even at the ends, which the client trims: a provider appends the request's
    // path to the URL, which puts them inside it (`https://api.datadoghq.com\0/api/v1/monitor`).
    let stray = url.chars().any(|c| (c <= ' ' || c == '\u{7f}') && !matches!(c, '\t' | '\n' | '\r'));
    let Some(p) = split(url).filter(|p| !stray && agrees_with_client(url, p)) else {
        return Err(invalid(format!(
            "{source} is not a plain `scheme://host[:port]` URL (no user info, escapes, backslashes, \
             query or fragment)\nhint: write the endpoint as `https://host[:port]`"
        )));
    };
    let allowed = env(ENV_ALLOW_ENDPOINTS).unwrap_or_default();
    let operator_allows = allowed
        .split(',')
        .filter_map(|e| split(e.trim()))
        .any(|a| a.scheme == p.scheme && a.host == p.host && (a.port.is_none() || a.port == p.port));
    let loopback = is_loopback(&p.host);
    let at = shown(&p);
    if p.scheme == "http" && !loopback {
        return Err(invalid(format!(
            "{source} points at `{at}` over plain http; watchkeep sends {vendor} keys over http only \
             to loopback (127.0.0.1, ::1, localhost)\nhint: use `https://{}`",
            at.trim_start_matches("http://")
        )));
    }
    if p.scheme == "https" && official(&p.host) {
        return Ok(());
    }
    if operator_allows {
        return Ok(());
    }
    Err(invalid(format!(
        "{source} points at `{at}`, which is not one of {vendor}'s own endpoints; watchkeep sends the \
         {vendor} keys only there, or to endpoints the operator allows outside the configuration\n\
         hint: if `{at}` is yours (a proxy, a local stand-in), allow it where the configuration cannot: \
         `export {ENV_ALLOW_ENDPOINTS}={at}` (comma-separated; without a port, any port of that host)"
    )))
}

/// The error for a 3xx answer: its clients never follow redirects (one would carry the key
/// headers to wherever `Location` says). Names the location's scheme, host and port, never its
/// path or query (which may hold anything).
pub fn redirect_error(vendor: &str, what: &str, status: u16, location: Option<&str>) -> ProviderError {
    let to = match location.map(str::trim) {
        Some(l) if l.contains("://") => match split(l) {
            Some(p) => format!("`{}`", shown(&p)),
            None => "an unreadable location".to_string(),
        },
        Some(l) if !l.is_empty() => "another path on the same host".to_string(),
        _ => "no location".to_string(),
    };
    ProviderError::Api {
        status,
        body: format!(
            "{vendor} answered HTTP {status} to {what}, a redirect to {to}; watchkeep does not follow \
             redirects (they would carry the keys elsewhere)\nhint: point the provider at the final \
             endpoint"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(allow: &'static str) -> impl Fn(&str) -> Option<String> {
        move |k| (k == ENV_ALLOW_ENDPOINTS).then(|| allow.to_string())
    }

    fn dd(host: &str) -> bool {
        within(host, "datadoghq.com")
    }

    #[test]
    fn official_https_hosts_need_nothing() {
        for url in ["https://api.datadoghq.com", "https://api.us5.datadoghq.com:443"] {
            check("Datadog", "`api_url`", url, &dd, &env("")).unwrap();
        }
        // Not a subdomain, only a suffix.
        let e = check("Datadog", "`api_url`", "https://evildatadoghq.com", &dd, &env("")).unwrap_err();
        assert!(e.to_string().contains("`https://evildatadoghq.com`"), "{e}");
        let e =
            check("Datadog", "`api_url`", "https://api.datadoghq.com.evil.io", &dd, &env("")).unwrap_err();
        assert!(e.to_string().contains(ENV_ALLOW_ENDPOINTS), "{e}");
    }

    #[test]
    fn other_hosts_need_the_operator() {
        let e = check("Datadog", "the `api_url` attribute", "https://collector.evil.io", &dd, &env(""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the `api_url` attribute points at `https://collector.evil.io`")
                && e.contains("export WATCHKEEP_ALLOW_ENDPOINTS=https://collector.evil.io"),
            "{e}"
        );
        check("Datadog", "x", "https://dd.proxy.corp", &dd, &env("https://dd.proxy.corp")).unwrap();
        check(
            "Datadog",
            "x",
            "https://dd.proxy.corp:8443",
            &dd,
            &env(" https://other , https://DD.proxy.corp"),
        )
        .unwrap();
        // A port in the allow list pins it; the scheme always counts.
        assert!(check("Datadog", "x", "https://dd.proxy.corp:8443", &dd, &env("https://dd.proxy.corp:9443"))
            .is_err());
        assert!(check("Datadog", "x", "http://127.0.0.1:8126", &dd, &env("https://127.0.0.1:8126")).is_err());
    }

    #[test]
    fn plain_http_only_to_allowed_loopback() {
        for url in ["http://127.0.0.1:8126", "http://127.9.9.9:1", "http://localhost:1", "http://[::1]:1"] {
            assert!(check("Datadog", "x", url, &dd, &env("")).is_err(), "{url} needs the operator");
            check(
                "Datadog",
                "x",
                url,
                &dd,
                &env("http://127.0.0.1,http://127.9.9.9,http://localhost,http://[::1]"),
            )
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        // Even allowed, even official: never plain http elsewhere.
        for url in ["http://dd.proxy.corp", "http://api.datadoghq.com", "http://10.0.0.1:80"] {
            let e = check(
                "Datadog",
                "x",
                url,
                &dd,
                &env("http://dd.proxy.corp,http://api.datadoghq.com,http://10.0.0.1"),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("plain http") && e.contains("loopback"), "{e}");
        }
    }

    /// The host checked must be the host the HTTP client connects to. reqwest parses URLs the
    /// WHATWG way (the `url` crate): a backslash ends the authority, tabs and newlines vanish,
    /// percent-escapes in a host are decoded. Each URL here once passed a hand-written split as
    /// a Datadog host while the client would have sent the keys to evil.io.
    #[test]
    fn the_host_checked_is_the_host_the_client_connects_to() {
        for url in [
            "https://evil.io\\.datadoghq.com",
            "https://evil.io\\@api.datadoghq.com",
            "https://api.datadoghq.com@evil.io",
            "https://api.datadoghq.com:443@evil.io",
            "https://user:pw@api.datadoghq.com",
            "https://evil.io%2f.datadoghq.com",
            "https://evil.io%5c.datadoghq.com",
            "https://evil.io\t/.datadoghq.com",
            "https://evil.io#.datadoghq.com",
            "https://evil.io?.datadoghq.com",
            "https:/evil.io/.datadoghq.com",
            "https:evil.io.datadoghq.com",
            "//api.datadoghq.com",
            "https://",
            // Found by endpoints_reach_only_the_checked_host (tests/endpoint_fuzz.rs): a Unicode
            // space the check trimmed and the client does not.
            "\u{a0}https://api.datadoghq.com",
            "https://api.datadoghq.com\u{3000}",
            // The client trims these at the end, but the request's path comes after them.
            "https://api.datadoghq.com\0",
            "https://api.datadoghq.com ",
            " https://api.datadoghq.com",
        ] {
            assert!(check("Datadog", "x", url, &dd, &env("")).is_err(), "{url:?} must be refused");
        }
        // What the client would connect to is what is named.
        let e = check("Datadog", "x", "https://evil.io\\.datadoghq.com", &dd, &env("")).unwrap_err();
        assert!(e.to_string().contains("not a plain"), "{e}");
        // Case and a trailing dot or slash are fine.
        for url in [
            "https://API.DatadogHQ.com",
            "https://api.datadoghq.com/",
            "HTTPS://api.datadoghq.com",
            "https://api.datadoghq.com\n",
            "\thttps://api.datadoghq.com\r\n",
        ] {
            check("Datadog", "x", url, &dd, &env("")).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }

    #[test]
    fn loopback_and_domains() {
        for h in ["127.0.0.1", "127.255.0.1", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["128.0.0.1", "0.0.0.0", "10.0.0.1", "localhost.evil.io", "::2", "example.com"] {
            assert!(!is_loopback(h), "{h}");
        }
        assert!(within("api.datadoghq.com", "datadoghq.com") && within("datadoghq.com", "datadoghq.com"));
        assert!(!within("xdatadoghq.com", "datadoghq.com"));
    }
}
