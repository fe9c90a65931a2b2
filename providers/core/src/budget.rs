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

use crate::RateLimit;

/// Share of the vendor's allowed rate this client aims for, leaving room for clock skew between
/// our pacing and the vendor's windows.
pub const DEFAULT_TARGET_FRACTION: f64 = 0.95;

/// How long a family stays blocked after the vendor says its window is used up but gives no
/// reset time (or `Reset: 0`, i.e. "within this second").
const MIN_BLOCK: Duration = Duration::from_millis(200);

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
                if let Some(until) = f.blocked_until {
                    if until > now {
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
                Next::Retry(d) => tokio::time::sleep(d).await,
                Next::AwaitProbe => {
                    let _ = tokio::time::timeout(Duration::from_millis(250), notified).await;
                }
            }
        }
        let waited = started.elapsed();
        self.with(family, |f| f.waited += waited);
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
                if let (Some(remaining), Some(reset)) = (rl.remaining, rl.reset) {
                    // `Reset` counts whole seconds; a window said to end "now" ends within one.
                    let end = Instant::now() + Duration::from_secs(reset).max(MIN_BLOCK);
                    f.window = Some((remaining, end));
                }
                if let (Some(limit), Some(period)) = (rl.limit, rl.period) {
                    if limit > 0 && period > 0 {
                        let per_second = limit as f64 / period as f64 * fraction;
                        f.interval = Some(Duration::from_secs_f64(1.0 / per_second));
                    }
                }
                if rl.remaining == Some(0) {
                    let reset = rl.reset.map(Duration::from_secs).unwrap_or_default().max(MIN_BLOCK);
                    block(f, reset);
                }
            }
        });
        self.notify.notify_waiters();
    }

    /// Records a 429: the whole family waits out `retry_after`.
    pub fn throttled(&self, family: &str, retry_after: Option<Duration>) {
        self.with(family, |f| {
            f.throttled += 1;
            block(f, retry_after.unwrap_or(Duration::from_secs(1)).max(MIN_BLOCK));
        });
        self.notify.notify_waiters();
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

fn block(f: &mut Family, d: Duration) {
    let until = Instant::now() + d;
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
}
