//! The rate budget: one pacer per vendor endpoint family (`datadog:monitor`), fed by what the
//! vendor says about its limits, shared by every concurrent operation of a run.
//!
//! Terraform's providers send as fast as their parallelism allows and then back off from 429s;
//! on a large account that is a storm of rejected requests. Here every request first takes a
//! slot from its family's budget:
//! - the first request of a family goes alone (a probe), so its response can say what the limit
//!   is before anything else is sent;
//! - once `X-RateLimit-Limit`/`-Period` are known, requests are spaced to a fraction (95 %) of the
//!   allowed rate, so a fixed-window limit is never exceeded by this client alone;
//! - `X-RateLimit-Remaining: 0` or a 429 blocks the whole family until the reset, instead of
//!   letting every in-flight operation discover the limit on its own.
//!
//! Vendors that send no rate headers (or families never limited) are not paced at all, unless
//! the vendor publishes fixed quotas instead (AWS CloudWatch: PutMetricAlarm 3/s per account and
//! region): [`RateBudget::set_fixed_rate`] gives such a family its rate before the first request,
//! so it is paced from the start, with no probe. A throttling answer still blocks the family.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::{ProviderError, RateLimit};

/// Share of the vendor's allowed rate this client aims for, leaving room for clock skew between
/// our pacing and the vendor's windows.
pub const DEFAULT_TARGET_FRACTION: f64 = 0.95;

/// How long a family stays blocked after the vendor says its window is used up but gives no
/// reset time (or `Reset: 0`, i.e. "within this second").
const MIN_BLOCK: Duration = Duration::from_millis(200);

/// The longest watchkeep waits because a vendor asked it to (a rate-limit reset, a
/// `Retry-After`). Vendors' windows are a second to a minute (Datadog's monitor API: 10 s;
/// New Relic and AWS: seconds), so a longer answer is either a very long window or a garbage
/// header (`X-RateLimit-Reset: 18446744073709551615`). Asked for more than this, watchkeep does
/// not wait at all: the family's calls fail at once with [`RateBudget::refusal`]'s error, since
/// waiting the cap would only meet the same limit again.
pub const MAX_VENDOR_WAIT: Duration = Duration::from_secs(300);

/// Waits longer than this are announced on stderr (once per block), so a run never sits silent.
pub const ANNOUNCE_WAIT: Duration = Duration::from_secs(5);

/// A vendor's number of seconds to wait, clamped: `None` when it is beyond [`MAX_VENDOR_WAIT`].
pub fn vendor_wait(seconds: u64) -> Option<Duration> {
    (seconds <= MAX_VENDOR_WAIT.as_secs()).then(|| Duration::from_secs(seconds))
}

/// `now + d` without overflow (an `Instant` plus a huge duration panics): at most
/// [`MAX_VENDOR_WAIT`] ahead.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d.min(MAX_VENDOR_WAIT)).unwrap_or(now)
}

/// How a family's vendor reads in messages: `datadog:monitor` → `Datadog`, `monitor`.
fn describe(family: &str) -> (String, &str) {
    let (vendor, api) = family.split_once(':').unwrap_or(("the vendor", family));
    let vendor = match vendor {
        "datadog" => "Datadog".to_string(),
        "newrelic" => "New Relic".to_string(),
        "cloudwatch" | "cw" | "aws" => "AWS".to_string(),
        "sns" => "AWS SNS".to_string(),
        other => other.to_string(),
    };
    (vendor, api)
}

#[derive(Debug, Default)]
struct Family {
    /// Minimum spacing between requests, once the limit is known.
    interval: Option<Duration>,
    /// The next free slot.
    next_slot: Option<Instant>,
    blocked_until: Option<Instant>,
    /// Whether any response (with or without rate headers) has been seen.
    known: bool,
    probe_in_flight: bool,
    probe_started: Option<Instant>,
    throttled: u64,
    waited: Duration,
    /// Requests sent and not yet answered.
    in_flight: u64,
    /// What the vendor last said of the current window: requests left, and when it ends.
    window: Option<(u64, Instant)>,
    /// The vendor asked for a wait beyond [`MAX_VENDOR_WAIT`]: the seconds it asked for, and
    /// until when calls of this family fail at once instead of being sent.
    refused: Option<(u64, Instant)>,
    /// The end of the last block announced on stderr (each block is announced once).
    announced: Option<Instant>,
}

/// Pacing state for every endpoint family of one vendor.
#[derive(Debug)]
pub struct RateBudget {
    families: Mutex<HashMap<String, Family>>,
    fraction: f64,
    notify: tokio::sync::Notify,
}

impl Default for RateBudget {
    fn default() -> Self {
        RateBudget::new(DEFAULT_TARGET_FRACTION)
    }
}

/// Figures for reports and benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetStats {
    /// 429s the vendor answered.
    pub throttled: u64,
    /// Total time requests waited for a slot.
    pub waited: Duration,
    /// Requests per second currently allowed, per family (after the target fraction).
    pub rates: Vec<(String, f64)>,
}

impl RateBudget {
    pub fn new(fraction: f64) -> RateBudget {
        RateBudget {
            families: Mutex::new(HashMap::new()),
            fraction: fraction.clamp(0.05, 1.0),
            notify: tokio::sync::Notify::new(),
        }
    }

    fn with<T>(&self, family: &str, f: impl FnOnce(&mut Family) -> T) -> T {
        let mut map = self.families.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(family.to_string()).or_default())
    }

    /// Gives `family` a rate the vendor publishes rather than announces (`per_second` requests
    /// per second; paced to the target fraction of it). The family counts as known: no probe is
    /// sent alone first. Rate headers, should the vendor ever send some, still take over.
    /// Non-positive or non-finite rates are ignored (the family stays unpaced).
    pub fn set_fixed_rate(&self, family: &str, per_second: f64) {
        if !(per_second.is_finite() && per_second > 0.0) {
            return;
        }
        let target = per_second * self.fraction;
        self.with(family, |f| {
            f.known = true;
            f.interval = Some(Duration::from_secs_f64(1.0 / target));
        });
    }

    /// Waits until this request may be sent, and counts it in flight until [`Self::observe`].
    pub async fn acquire(&self, family: &str) {
        enum Next {
            /// Send now.
            Go,
            /// A paced slot is reserved (already counted in flight): send after this sleep.
            GoAfter(Duration),
            /// Nothing reserved: wait, then decide again.
            Retry(Duration),
            /// Wait for the probe's answer.
            AwaitProbe,
        }
        let started = Instant::now();
        loop {
            let notified = self.notify.notified();
            let now = Instant::now();
            let next = self.with(family, |f| {
                if f.refused.is_some_and(|(_, until)| until > now) {
                    // The caller meets the refusal ([`Self::acquire_or_refuse`]).
                    f.in_flight += 1;
                    return Next::Go;
                }
                if let Some(until) = f.blocked_until {
                    if until > now {
                        announce(f, family, now, until);
                        return Next::Retry(until - now);
                    }
                    f.blocked_until = None;
                }
                if !f.known {
                    // A probe that never answers must not stall the family for ever.
                    let stale =
                        f.probe_started.is_some_and(|s| now.duration_since(s) > Duration::from_secs(5));
                    if f.probe_in_flight && !stale {
                        return Next::AwaitProbe;
                    }
                    f.probe_in_flight = true;
                    f.probe_started = Some(now);
                    f.in_flight += 1;
                    return Next::Go;
                }
                // Never have more requests in flight than the window has left: requests paced on
                // departure can still arrive bunched, and a fixed window counts arrivals.
                if let Some((remaining, end)) = f.window {
                    if now >= end {
                        f.window = None;
                    } else if f.in_flight >= remaining {
                        return Next::Retry(end - now);
                    }
                }
                f.in_flight += 1;
                let Some(interval) = f.interval else { return Next::Go };
                let slot = f.next_slot.map_or(now, |s| s.max(now));
                f.next_slot = Some(slot + interval);
                if slot > now {
                    Next::GoAfter(slot - now)
                } else {
                    Next::Go
                }
            });
            match next {
                Next::Go => break,
                Next::GoAfter(d) => {
                    tokio::time::sleep(d).await;
                    break;
                }
                // Woken early when the vendor answers (a refusal releases the waiters).
                Next::Retry(d) => {
                    let _ = tokio::time::timeout(d, notified).await;
                }
                Next::AwaitProbe => {
                    let _ = tokio::time::timeout(Duration::from_millis(250), notified).await;
                }
            }
        }
        let waited = started.elapsed();
        self.with(family, |f| f.waited += waited);
    }

    /// [`Self::acquire`], unless the vendor asked for a wait beyond [`MAX_VENDOR_WAIT`]: then the
    /// call must not be sent, and this is the error to return (nothing is counted in flight).
    pub async fn acquire_or_refuse(&self, family: &str) -> Result<(), ProviderError> {
        if let Some(e) = self.refusal(family) {
            return Err(e);
        }
        self.acquire(family).await;
        if let Some(e) = self.refusal(family) {
            self.with(family, |f| f.in_flight = f.in_flight.saturating_sub(1));
            return Err(e);
        }
        Ok(())
    }

    /// Records a response's rate-limit headers (or their absence). Call after every request,
    /// whatever its outcome, so a probe always releases the requests queued behind it.
    pub fn observe(&self, family: &str, rl: Option<&RateLimit>) {
        let fraction = self.fraction;
        self.with(family, |f| {
            f.known = true;
            f.probe_in_flight = false;
            f.in_flight = f.in_flight.saturating_sub(1);
            if let Some(rl) = rl {
                let now = Instant::now();
                if let (Some(remaining), Some(reset)) = (rl.remaining, rl.reset) {
                    // `Reset` counts whole seconds; a window said to end "now" ends within one.
                    // Clamped: a reset beyond the cap is remembered as a window of the cap.
                    let end = later(now, Duration::from_secs(reset).max(MIN_BLOCK));
                    f.window = Some((remaining, end));
                }
                if let (Some(limit), Some(period)) = (rl.limit, rl.period) {
                    if limit > 0 && period > 0 {
                        // At most one request per MAX_VENDOR_WAIT, whatever the headers say
                        // (`Limit: 1`, `Period: 18446744073709551615` would overflow a Duration).
                        let per_second = limit as f64 / period as f64 * fraction;
                        let secs = (1.0 / per_second).min(MAX_VENDOR_WAIT.as_secs_f64());
                        if secs.is_finite() && secs >= 0.0 {
                            f.interval = Some(Duration::from_secs_f64(secs));
                        }
                    }
                }
                if rl.remaining == Some(0) {
                    match rl.reset {
                        Some(reset) if vendor_wait(reset).is_none() => refuse(f, now, reset),
                        reset => {
                            block(f, reset.map(Duration::from_secs).unwrap_or_default().max(MIN_BLOCK));
                            if let Some(until) = f.blocked_until {
                                announce(f, family, now, until);
                            }
                        }
                    }
                }
            }
        });
        self.notify.notify_waiters();
    }

    /// Records a 429: the whole family waits out `retry_after` (at most [`MAX_VENDOR_WAIT`];
    /// asked for longer, the family is refused instead: see [`Self::refusal`]).
    pub fn throttled(&self, family: &str, retry_after: Option<Duration>) {
        self.with(family, |f| {
            f.throttled += 1;
            let d = retry_after.unwrap_or(Duration::from_secs(1));
            if d > MAX_VENDOR_WAIT {
                refuse(f, Instant::now(), d.as_secs());
            } else {
                block(f, d.max(MIN_BLOCK));
                if let Some(until) = f.blocked_until {
                    announce(f, family, Instant::now(), until);
                }
            }
        });
        self.notify.notify_waiters();
    }

    /// The error every call of `family` fails with, without being sent, while the vendor's last
    /// answer asked for a wait beyond [`MAX_VENDOR_WAIT`] (for that long at most). Not retryable.
    pub fn refusal(&self, family: &str) -> Option<ProviderError> {
        let now = Instant::now();
        let asked = self.with(family, |f| match f.refused {
            Some((asked, until)) if until > now => Some(asked),
            Some(_) => {
                f.refused = None;
                None
            }
            None => None,
        })?;
        Some(too_long(family, asked))
    }

    pub fn stats(&self) -> BudgetStats {
        let map = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let mut rates: Vec<(String, f64)> =
            map.iter().filter_map(|(k, f)| f.interval.map(|i| (k.clone(), 1.0 / i.as_secs_f64()))).collect();
        rates.sort_by(|a, b| a.0.cmp(&b.0));
        BudgetStats {
            throttled: map.values().map(|f| f.throttled).sum(),
            waited: map.values().map(|f| f.waited).sum(),
            rates,
        }
    }
}

/// The error for a wait of `asked` seconds, beyond the cap.
pub fn too_long(family: &str, asked: u64) -> ProviderError {
    let (vendor, api) = describe(family);
    ProviderError::Api {
        status: 429,
        body: format!(
            "{vendor} asked to wait {asked} s (rate limit of {api}), longer than watchkeep waits for a \
             vendor ({} s); nothing more was sent to this API\nhint: run again once the vendor's \
             rate-limit window has reset",
            MAX_VENDOR_WAIT.as_secs()
        ),
    }
}

/// Says on stderr that the family waits until `until`, when that is more than [`ANNOUNCE_WAIT`]
/// away and not already said (within a second) for this block: a long wait is never silent,
/// and the many requests meeting one block print one line.
fn announce(f: &mut Family, family: &str, now: Instant, until: Instant) {
    let wait = until.saturating_duration_since(now);
    if wait <= ANNOUNCE_WAIT || f.announced.is_some_and(|a| until <= a + Duration::from_secs(1)) {
        return;
    }
    f.announced = Some(until);
    let (vendor, api) = describe(family);
    eprintln!(
        "{vendor} asked to wait {} s (rate limit of {api}); waiting…",
        wait.as_secs_f64().round() as u64
    );
}

fn refuse(f: &mut Family, now: Instant, asked: u64) {
    f.refused = Some((asked, later(now, MAX_VENDOR_WAIT)));
    // Requests already waiting for a slot are released: they meet the refusal at once.
    f.blocked_until = None;
}

fn block(f: &mut Family, d: Duration) {
    let until = later(Instant::now(), d);
    f.blocked_until = Some(f.blocked_until.map_or(until, |b| b.max(until)));
    // After the block, pacing resumes from the block's end, not from a backlog of slots.
    f.next_slot = f.blocked_until;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn rl(limit: u64, period: u64, remaining: u64, reset: u64) -> RateLimit {
        RateLimit {
            limit: Some(limit),
            period: Some(period),
            remaining: Some(remaining),
            reset: Some(reset),
            name: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn paces_to_the_allowed_rate_after_the_probe() {
        let b = Arc::new(RateBudget::new(1.0));
        b.acquire("dd:monitor").await;
        b.observe("dd:monitor", Some(&rl(10, 1, 9, 1)));
        let start = tokio::time::Instant::now();
        for _ in 0..10 {
            b.acquire("dd:monitor").await;
        }
        // 10 per second: the 10th request waits ~0.9 s.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(850) && took <= Duration::from_millis(1000), "{took:?}");
        assert_eq!(b.stats().rates.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_probe_goes_alone() {
        let b = Arc::new(RateBudget::default());
        b.acquire("f").await;
        let b2 = b.clone();
        let waiter = tokio::spawn(async move { b2.acquire("f").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished(), "a second request must wait for the probe's answer");
        b.observe("f", None);
        tokio::time::timeout(Duration::from_secs(1), waiter).await.expect("released").expect("join");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_blocks_the_family_until_the_reset() {
        let b = RateBudget::default();
        b.acquire("f").await;
        b.observe("f", None);
        b.throttled("f", Some(Duration::from_secs(2)));
        let start = tokio::time::Instant::now();
        b.acquire("f").await;
        assert!(start.elapsed() >= Duration::from_secs(2));
        assert_eq!(b.stats().throttled, 1);
        // Other families are not affected.
        let start = tokio::time::Instant::now();
        b.acquire("g").await;
        assert!(start.elapsed() < Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn remaining_zero_waits_for_the_reset() {
        let b = RateBudget::default();
        b.acquire("f").await;
        b.observe("f", Some(&rl(100, 10, 0, 3)));
        let start = tokio::time::Instant::now();
        b.acquire("f").await;
        assert!(start.elapsed() >= Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_in_flight_than_the_window_has_left() {
        let b = Arc::new(RateBudget::new(1.0));
        b.acquire("f").await;
        // 1000 per 10 s would allow a request every 10 ms, but only 2 are left in this window.
        b.observe("f", Some(&rl(1000, 10, 2, 3)));
        b.acquire("f").await;
        b.acquire("f").await;
        let b2 = b.clone();
        let third = tokio::spawn(async move { b2.acquire("f").await });
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!third.is_finished(), "the window is used up by requests in flight");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(third.is_finished(), "released when the window resets");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_rate_paces_from_the_first_request_without_a_probe() {
        let b = Arc::new(RateBudget::new(0.95));
        b.set_fixed_rate("cw:PutMetricAlarm", 3.0);
        let start = tokio::time::Instant::now();
        // No probe: two acquires without any observe in between do not block on each other's
        // answer, they are only spaced.
        for _ in 0..4 {
            b.acquire("cw:PutMetricAlarm").await;
        }
        // 3 intervals of 1 / 2.85 s.
        let took = start.elapsed().as_secs_f64();
        assert!((took - 3.0 / 2.85).abs() < 0.01, "{took}");
        let stats = b.stats();
        assert_eq!(stats.rates.len(), 1);
        assert!((stats.rates[0].1 - 2.85).abs() < 1e-9, "{:?}", stats.rates);
        // A throttling answer still blocks the family.
        b.throttled("cw:PutMetricAlarm", Some(Duration::from_secs(2)));
        let start = tokio::time::Instant::now();
        b.acquire("cw:PutMetricAlarm").await;
        assert!(start.elapsed() >= Duration::from_secs(2));
        // Nonsense rates leave the family unpaced (and unknown: it probes).
        b.set_fixed_rate("g", 0.0);
        b.set_fixed_rate("g", f64::NAN);
        assert!(b.stats().rates.iter().all(|(k, _)| k != "g"));
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_vendors_are_not_paced() {
        let b = RateBudget::default();
        b.acquire("f").await;
        b.observe("f", None);
        let start = tokio::time::Instant::now();
        for _ in 0..100 {
            b.acquire("f").await;
        }
        assert!(start.elapsed() < Duration::from_millis(10));
    }

    /// Issue 15: `X-RateLimit-Reset: 18446744073709551615` overflowed `Instant + Duration`.
    #[tokio::test(start_paused = true)]
    async fn a_huge_reset_is_refused_at_once_not_waited_and_never_panics() {
        let b = RateBudget::default();
        b.acquire("datadog:monitor").await;
        b.observe("datadog:monitor", Some(&rl(100, 10, 0, u64::MAX)));
        let start = tokio::time::Instant::now();
        let e = b.acquire_or_refuse("datadog:monitor").await.unwrap_err();
        assert!(start.elapsed() < Duration::from_millis(10), "{:?}", start.elapsed());
        let msg = e.to_string();
        assert!(
            msg.contains("Datadog asked to wait 18446744073709551615 s (rate limit of monitor)")
                && msg.contains("300 s")
                && msg.contains("hint:"),
            "{msg}"
        );
        assert!(!e.is_retryable(), "waiting would only meet the same limit");
        // A 429 asking for an hour is refused the same way.
        b.throttled("datadog:dashboard", Some(Duration::from_secs(3600)));
        let msg = b.acquire_or_refuse("datadog:dashboard").await.unwrap_err().to_string();
        assert!(msg.contains("asked to wait 3600 s (rate limit of dashboard)"), "{msg}");
        b.throttled("datadog:hosts", Some(Duration::MAX));
        assert!(b.acquire_or_refuse("datadog:hosts").await.is_err());
        // The refusal lasts at most the cap; then the family is tried again.
        tokio::time::sleep(MAX_VENDOR_WAIT + Duration::from_secs(1)).await;
        assert!(b.acquire_or_refuse("datadog:dashboard").await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_within_the_cap_is_waited_and_requests_already_queued_are_released_by_a_refusal() {
        let b = Arc::new(RateBudget::default());
        b.acquire("f").await;
        b.observe("f", None);
        b.throttled("f", Some(Duration::from_secs(60)));
        let start = tokio::time::Instant::now();
        b.acquire_or_refuse("f").await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(60) && start.elapsed() < Duration::from_secs(61));

        b.throttled("g", Some(Duration::from_secs(60)));
        let b2 = b.clone();
        let queued = tokio::spawn(async move { b2.acquire_or_refuse("g").await });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!queued.is_finished());
        b.throttled("g", Some(Duration::from_secs(u64::MAX)));
        let got = tokio::time::timeout(Duration::from_millis(10), queued).await.expect("released").unwrap();
        assert!(got.is_err());
    }

    /// Every extreme a header can carry: no panic, and every acquire ends within the cap.
    #[tokio::test(start_paused = true)]
    async fn extreme_header_values_never_panic_and_never_wait_beyond_the_cap() {
        let extremes =
            [0, 1, 2, 299, 300, 301, 3600, u64::from(u32::MAX), u64::MAX / 2, u64::MAX - 1, u64::MAX];
        for &limit in &extremes {
            for &period in &extremes {
                for &remaining in &[0, 1, u64::MAX] {
                    for &reset in &extremes {
                        let b = RateBudget::new(0.95);
                        b.acquire("f").await;
                        let rl = RateLimit {
                            limit: Some(limit),
                            period: Some(period),
                            remaining: Some(remaining),
                            reset: Some(reset),
                            name: None,
                        };
                        b.observe("f", Some(&rl));
                        let start = tokio::time::Instant::now();
                        for _ in 0..2 {
                            let _ = b.acquire_or_refuse("f").await;
                        }
                        assert!(
                            start.elapsed() <= MAX_VENDOR_WAIT * 2,
                            "{rl:?}: waited {:?}",
                            start.elapsed()
                        );
                        let _ = b.stats();
                    }
                }
            }
        }
        for d in [Duration::ZERO, Duration::from_nanos(1), Duration::from_secs(u64::MAX), Duration::MAX] {
            let b = RateBudget::default();
            b.throttled("f", Some(d));
            let _ = b.acquire_or_refuse("f").await;
        }
        assert_eq!(vendor_wait(300), Some(MAX_VENDOR_WAIT));
        assert_eq!(vendor_wait(301), None);
        assert_eq!(vendor_wait(u64::MAX), None);
    }
}
