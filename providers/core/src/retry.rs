//! Retry policy the engine applies around every provider call.

use std::future::Future;
use std::time::Duration;

use crate::ProviderError;

/// Exponential backoff that honours the vendor's `retry_after` (Datadog's `X-RateLimit-Reset`).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1` (attempt counts from 1) after `err`.
    pub fn delay(&self, attempt: u32, err: &ProviderError) -> Duration {
        if let ProviderError::RateLimited { retry_after: Some(d) } = err {
            // `X-RateLimit-Reset: 0` means "this second"; waiting nothing would burn every attempt
            // inside the same window.
            return (*d).max(self.base_delay).min(self.max_delay);
        }
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16).saturating_sub(1));
        exp.min(self.max_delay)
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or runs out of attempts.
pub async fn with_retries<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() && attempt < policy.max_attempts => {
                tokio::time::sleep(policy.delay(attempt, &e)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn retries_transient_then_succeeds() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let out = with_retries(&policy, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(ProviderError::Transient { message: "503".into() })
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(out.ok(), Some(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn does_not_retry_api_errors() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = with_retries(&RetryPolicy::default(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::Api { status: 400, body: "bad".into() })
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn honours_retry_after() {
        let p = RetryPolicy::default();
        let d = p.delay(1, &ProviderError::RateLimited { retry_after: Some(Duration::from_secs(3)) });
        assert_eq!(d, Duration::from_secs(3));
    }
}
