//! Phase timings on stderr when `WATCHKEEP_TIMINGS=1` (for profiling large configurations).

use std::time::Instant;

/// One timed phase; [`Phase::done`] writes its line.
pub struct Phase {
    name: &'static str,
    start: Option<Instant>,
}

impl Phase {
    pub fn start(name: &'static str) -> Phase {
        let on = std::env::var_os("WATCHKEEP_TIMINGS").is_some_and(|v| v == "1");
        Phase { name, start: on.then(Instant::now) }
    }
    pub fn done(self) {
        if let Some(s) = self.start {
            eprintln!(
                "timing: {:<12} {:>8.1} ms  (peak RSS {} MB)",
                self.name,
                s.elapsed().as_secs_f64() * 1000.0,
                super::providers::peak_rss().unwrap_or(0) / 1_000_000
            );
        }
    }
}
