//! Direct test notifications for `watchkeep routes test`: one function per channel, each sending
//! one notification marked as a test (`[watchkeep route test] …`) and then resolving it where the
//! channel has a resolve. Each returns a typed [`Outcome`]: delivered, rejected (the channel refused
//! it; not retried) or failed (unreachable, or still failing after a few bounded retries), with the
//! channel's answer, the dedup key and the number of requests sent.
//!
//! Secrets (routing keys, webhook URLs, SMTP passwords) are taken as [`Secret`]s and never appear
//! in an outcome: HTTP errors are stripped of their URL, and every answer is scrubbed of the
//! secrets the call was given before it is returned. Targets are described by [`describe`]
//! helpers that show no part of a key and only the host of a URL.

use std::time::Duration;

pub use watchkeep_provider::Secret;

mod email;
mod http;

pub use email::{email, EmailTarget, SmtpSettings, StartTls};
pub use http::{pagerduty, slack, webhook, PAGERDUTY_EVENTS_URL};

/// What happened to one test notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The channel accepted the test (and the resolve, where it has one).
    Delivered,
    /// The channel refused the request as invalid or forbidden; not retried.
    Rejected,
    /// The channel could not be reached, kept failing after the retries, or accepted the test
    /// but refused its resolve.
    Failed,
}

/// The result of testing one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    /// The channel's answer, short, secrets removed (`202 Event processed`, `410 channel_is_archived`).
    pub answer: String,
    /// The key tying the test and its resolve together (PagerDuty's `dedup_key`, the webhook
    /// payload's `dedup_key`, the test mail's Message-ID).
    pub dedup_key: Option<String>,
    /// Requests (or SMTP transactions) sent, test and resolve together, retries included.
    pub attempts: u32,
    /// Whether the resolve was accepted; `None` when the channel has no resolve (Slack) or the
    /// test itself was not delivered.
    pub resolved: Option<bool>,
}

/// What every test notification says.
#[derive(Debug, Clone)]
pub struct TestMessage {
    /// The route's name.
    pub route: String,
    /// The target, described without secrets.
    pub target: String,
    /// Where it comes from (PagerDuty's `payload.source`), e.g. `watchkeep@build-host`.
    pub source: String,
    /// Ties test and resolve together; unique per target per run.
    pub dedup_key: String,
}

impl TestMessage {
    /// A message for `target` of `route`, with a fresh dedup key.
    pub fn new(route: &str, target: &str, source: &str) -> Self {
        TestMessage {
            route: route.to_string(),
            target: target.to_string(),
            source: source.to_string(),
            dedup_key: format!("watchkeep-route-test-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// `[watchkeep route test] route oncall: test notification to <target>`.
    pub fn summary(&self) -> String {
        format!("{TEST_MARK} route {}: test notification to {}", self.route, self.target)
    }

    /// The resolve's summary.
    pub fn resolved_summary(&self) -> String {
        format!("{TEST_MARK} route {}: resolved (test notification to {})", self.route, self.target)
    }
}

/// The mark every test notification carries.
pub const TEST_MARK: &str = "[watchkeep route test]";

/// Timeouts and retries. Retries are bounded: at most `max_attempts` requests per step, with
/// exponential back-off from `backoff`, and a `Retry-After` honoured only up to `max_wait`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Per request (HTTP) or per SMTP command.
    pub timeout: Duration,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub max_wait: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(10),
        }
    }
}

impl Options {
    /// The wait before attempt `n + 1` (n ≥ 1), or the channel's `Retry-After`, both capped.
    fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self.backoff.saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        retry_after.unwrap_or(exp).min(self.max_wait)
    }
}

/// Replaces every secret in `text` by `(redacted)` and shortens it.
fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.len() >= 4 {
            out = out.replace(s, "(redacted)");
        }
    }
    watchkeep_provider::shorten(out.trim())
}

/// `https://hooks.slack.com/…`: the scheme and host of a URL, never its path or query (which
/// hold the secret of an incoming webhook). Not a URL: `(url redacted)`.
pub fn url_host(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}/…", u.scheme()),
            (Some(h), None) => format!("{}://{h}/…", u.scheme()),
            _ => "(url redacted)".to_string(),
        },
        Err(_) => "(url redacted)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_host_shows_no_path_query_or_credentials() {
        assert_eq!(url_host("https://hooks.slack.com/services/T0/B0/XXXX"), "https://hooks.slack.com/…");
        assert_eq!(url_host("http://user:pw@127.0.0.1:8080/hook?k=v"), "http://127.0.0.1:8080/…");
        assert_eq!(url_host("not a url T0/B0/XXXX"), "(url redacted)");
    }

    #[test]
    fn scrub_removes_secrets() {
        assert_eq!(scrub("bad key abcd1234 here", &["abcd1234"]), "bad key (redacted) here");
    }

    #[test]
    fn waits_are_bounded() {
        let o = Options {
            backoff: Duration::from_millis(100),
            max_wait: Duration::from_secs(1),
            ..Options::default()
        };
        assert_eq!(o.wait(1, None), Duration::from_millis(100));
        assert_eq!(o.wait(3, None), Duration::from_millis(400));
        assert_eq!(o.wait(30, None), Duration::from_secs(1));
        assert_eq!(o.wait(1, Some(Duration::from_secs(3600))), Duration::from_secs(1));
    }
}
