//! Fuzzing the endpoint check (issue 15, item 10): keys go only to the host that was checked.
//!
//! `endpoint::check` decides whether a provider block's `api_url` / `endpoint_url` (written in
//! the configuration, which a pull request controls) may receive the vendor's keys. The HTTP
//! client (reqwest, which parses with the `url` crate) then sends requests to that URL plus a
//! path. Property `endpoints_reach_only_the_checked_host`: official hosts mutated with hostile
//! fragments (another host before or after, `@`, `\`, percent escapes, tabs and newlines, `#`,
//! `?`, ports, IPv6 and numeric IPv4 forms, user info, case, trailing and Unicode dots, IDNA,
//! spaces); whenever the check says Ok, the URL the client builds parses, is https, and its
//! host is within the vendor's official domain. With the operator's allow list
//! `http://127.0.0.1:PORT`, an Ok may also be exactly that host and port over http.
//!
//! Same knobs and output as the engine's harness (`engine/tests/fuzz.rs`): `WATCHKEEP_FUZZ_CASES`
//! (default [`DEFAULT_CASES`]), `WATCHKEEP_FUZZ_SEED`; the number of cases is printed to stderr;
//! on failure the input is shrunk to a minimal URL (add it to the unit test
//! `the_host_checked_is_the_host_the_client_connects_to` in `src/endpoint.rs`).

use std::cell::Cell;
use std::io::Write as _;
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{
    Config as RunnerConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use watchkeep_provider::endpoint::{self, ENV_ALLOW_ENDPOINTS};

/// Cases when `WATCHKEEP_FUZZ_CASES` is not set: a check takes microseconds (about 1 s in all).
const DEFAULT_CASES: u32 = 100_000;
/// Seed when `WATCHKEEP_FUZZ_SEED` is not set: fixed, so CI runs are reproducible.
const DEFAULT_SEED: u64 = 0x5eed_3a7c_4ee9_2026;
/// The loopback port the operator allows in the second half of the property.
const PORT: u16 = 8126;

fn env_number(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok()?;
    match raw.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name} must be a whole number, got {raw:?}"),
    }
}

/// One vendor: its name, its official domains (as the provider's `official` closure checks
/// them: `providers/datadog/src/config.rs` SITES, `providers/newrelic/src/config.rs`,
/// `providers/cloudwatch/src/config.rs`) and a host of each to mutate.
struct Vendor {
    name: &'static str,
    domains: &'static [&'static str],
    hosts: &'static [&'static str],
}

const VENDORS: &[Vendor] = &[
    Vendor {
        name: "Datadog",
        domains: &[
            "datadoghq.com",
            "us3.datadoghq.com",
            "us5.datadoghq.com",
            "ap1.datadoghq.com",
            "ap2.datadoghq.com",
            "datadoghq.eu",
            "ddog-gov.com",
        ],
        hosts: &["api.datadoghq.com", "api.datadoghq.eu", "api.us5.datadoghq.com"],
    },
    Vendor {
        name: "New Relic",
        domains: &["newrelic.com"],
        hosts: &["api.newrelic.com", "api.eu.newrelic.com"],
    },
    Vendor {
        name: "AWS",
        domains: &["amazonaws.com", "amazonaws.com.cn", "api.aws"],
        hosts: &["monitoring.us-east-1.amazonaws.com", "monitoring.cn-north-1.amazonaws.com.cn"],
    },
];

fn official(v: &Vendor, host: &str) -> bool {
    v.domains.iter().any(|d| endpoint::within(host, d))
}

const SCHEMES: &[&str] = &[
    "https://",
    "https://",
    "https://",
    "http://",
    "HTTPS://",
    "hTtPs://",
    "https:/",
    "https:",
    "//",
    "",
    "https:\\\\",
    "https://\t",
];

/// Hostile fragments, inserted anywhere in the URL.
const FRAGMENTS: &[&str] = &[
    "evil.io",
    "evil.io.",
    ".evil.io",
    "evil.io/",
    "/evil.io",
    "@",
    "@evil.io",
    "evil.io@",
    "user:pw@",
    "user@",
    ":pw@",
    "\\",
    "\\evil.io",
    "evil.io\\",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "%2e",
    "%2E",
    "%40",
    "%23",
    "%3f",
    "%00",
    "%",
    "\t",
    "\n",
    "\r",
    " ",
    "#",
    "#evil.io",
    "?",
    "?evil.io",
    ":",
    ":443",
    ":80",
    ":8126",
    ":0",
    ":65536",
    ":-1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[",
    "]",
    "..",
    ".",
    "/..",
    "/../",
    "\u{3002}",
    "\u{ff0e}",
    "\u{ff61}",
    "xn--",
    "xn--evil-",
    "xn--80ak6aa92e.",
    "127.1",
    "0x7f.1",
    "0177.0.0.1",
    "2130706433",
    "127.0.0.1",
    "localhost",
    "\u{ad}",
    "\u{200b}",
    "\u{a0}",
    "\u{3000}",
    "\u{ff45}vil.io",
    "\u{24d4}vil.io",
    "\u{0}",
    "/",
    "//",
    ".datadoghq.com",
    "datadoghq.com.",
    ".newrelic.com",
    ".amazonaws.com",
    "api.aws",
];

#[derive(Clone, Debug)]
enum Edit {
    /// Inserts a fragment at a position (a character boundary).
    Insert(Index, &'static str),
    /// Deletes the character at a position.
    Delete(Index),
    /// Upper-cases the whole URL.
    Upper,
    /// Replaces the character at a position by a fragment.
    Replace(Index, &'static str),
}

fn edit() -> BoxedStrategy<Edit> {
    prop_oneof![
        6 => (any::<Index>(), select(FRAGMENTS)).prop_map(|(i, f)| Edit::Insert(i, f)),
        2 => any::<Index>().prop_map(Edit::Delete),
        1 => Just(Edit::Upper),
        2 => (any::<Index>(), select(FRAGMENTS)).prop_map(|(i, f)| Edit::Replace(i, f)),
    ]
    .boxed()
}

fn apply(url: &str, e: &Edit) -> String {
    let bounds: Vec<usize> = url.char_indices().map(|(i, _)| i).chain([url.len()]).collect();
    match e {
        Edit::Insert(i, f) => {
            let at = bounds[i.index(bounds.len())];
            format!("{}{f}{}", &url[..at], &url[at..])
        }
        Edit::Delete(i) | Edit::Replace(i, _) if url.is_empty() => url.to_string(),
        Edit::Delete(i) => {
            let k = i.index(bounds.len() - 1);
            format!("{}{}", &url[..bounds[k]], &url[bounds[k + 1]..])
        }
        Edit::Replace(i, f) => {
            let k = i.index(bounds.len() - 1);
            format!("{}{f}{}", &url[..bounds[k]], &url[bounds[k + 1]..])
        }
        Edit::Upper => url.to_uppercase(),
    }
}

/// (vendor index, URL, whether the operator allows `http://127.0.0.1:PORT`).
fn case() -> BoxedStrategy<(usize, String, bool)> {
    (
        0..VENDORS.len(),
        any::<Index>(),
        select(SCHEMES),
        any::<bool>(),
        any::<bool>(),
        vec(edit(), 0..5),
        any::<bool>(),
    )
        .prop_map(|(v, host, scheme, loopback_base, with_path, edits, allow)| {
            let hosts = VENDORS[v].hosts;
            let base = if loopback_base && allow {
                format!("127.0.0.1:{PORT}")
            } else {
                hosts[host.index(hosts.len())].to_string()
            };
            let mut url = format!("{scheme}{base}{}", if with_path { "/" } else { "" });
            for e in &edits {
                url = apply(&url, e);
            }
            (v, url, allow)
        })
        .boxed()
}

/// What the client would connect to when `check` accepted `url`, or why that is wrong.
fn check_case(v: &Vendor, url: &str, allow: bool) -> Result<bool, String> {
    let allowed = format!("http://127.0.0.1:{PORT}");
    let env = |k: &str| (allow && k == ENV_ALLOW_ENDPOINTS).then(|| allowed.clone());
    if endpoint::check(v.name, "x", url, &|h| official(v, h), &env).is_err() {
        return Ok(false);
    }
    // How the providers build a request: the base URL without its trailing slash, plus a path.
    let request = format!("{}/api/v1/monitor", url.trim_end_matches('/'));
    let parsed = url::Url::parse(&request)
        .map_err(|e| format!("accepted, but the client cannot parse the request URL {request:?}: {e}"))?;
    let host = parsed.host_str().unwrap_or("");
    let to_official = parsed.scheme() == "https" && official(v, host);
    let to_allowed = allow
        && parsed.scheme() == "http"
        && host == "127.0.0.1"
        && parsed.port_or_known_default() == Some(PORT);
    if !(to_official || to_allowed) {
        return Err(format!(
            "accepted, but the client would send the {} keys to {}://{host}{} (request URL {request:?})",
            v.name,
            parsed.scheme(),
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("accepted, but the request URL {request:?} carries user info"));
    }
    Ok(true)
}

#[test]
fn endpoints_reach_only_the_checked_host() {
    let seed = env_number("WATCHKEEP_FUZZ_SEED").unwrap_or(DEFAULT_SEED) ^ 0x00e4_d901_4750_u64;
    let cases =
        env_number("WATCHKEEP_FUZZ_CASES").map_or(DEFAULT_CASES, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let mut bytes = [0u8; 32];
    let mut x = seed;
    for chunk in bytes.chunks_mut(8) {
        // splitmix64, as the engine's harness derives its generators.
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    let config =
        RunnerConfig { cases, failure_persistence: None, max_shrink_iters: 2_000, ..RunnerConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let (inputs, accepted) = (Cell::new(0usize), Cell::new(0usize));
    let start = Instant::now();
    let result = runner.run(&case(), |(v, url, allow)| {
        inputs.set(inputs.get() + 1);
        match check_case(&VENDORS[v], &url, allow) {
            Ok(ok) => {
                accepted.set(accepted.get() + usize::from(ok));
                Ok(())
            }
            Err(e) => Err(TestCaseError::fail(e)),
        }
    });
    let _ = writeln!(
        std::io::stderr(),
        "fuzz endpoints: {} inputs in {:.1} s ({} accepted; seed {seed:#x})",
        inputs.get(),
        start.elapsed().as_secs_f64(),
        accepted.get()
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, (v, url, allow))) => panic!(
            "fuzz property `endpoints` failed: {reason}\n\nminimal input: vendor {}, url {url:?}, allow list {}",
            VENDORS[v].name,
            if allow { format!("http://127.0.0.1:{PORT}") } else { "empty".to_string() }
        ),
        Err(TestError::Abort(reason)) => panic!("fuzz property `endpoints` aborted: {reason}"),
    }
}

/// The checker itself: a URL the client would send elsewhere is caught, an official one passes.
#[test]
fn the_property_tells_a_leak_from_an_official_host() {
    let dd = &VENDORS[0];
    assert_eq!(check_case(dd, "https://api.datadoghq.com", false), Ok(true));
    assert_eq!(check_case(dd, "https://evil.io", false), Ok(false), "refused by the check");
    assert_eq!(check_case(dd, &format!("http://127.0.0.1:{PORT}"), true), Ok(true));
    // What the property would say if the check ever accepted these.
    let client_host = |u: &str| {
        url::Url::parse(&format!("{u}/api/v1/monitor")).ok().and_then(|p| p.host_str().map(str::to_string))
    };
    assert_eq!(client_host("https://evil.io\\.datadoghq.com").as_deref(), Some("evil.io"));
    assert!(
        !official(dd, "evil.io") && official(dd, "api.datadoghq.com.") && !official(dd, "evildatadoghq.com")
    );
}
