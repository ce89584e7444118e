//! The engine's clock, passed in rather than read from the system, so that what depends on time
//! (re-signing past half-life, `revalidate_after`, `removal_grace`, the per-name upstream budget,
//! retention) can be tested by setting the time instead of sleeping.
//!
//! Two readings: wall-clock time for what is signed or stored (expiry dates, `checked_at`), and a
//! monotonic reading for windows measured in this process (a wall clock that steps back must not
//! reopen a spent budget). Tokio's timers (batch windows, request timeouts) stay on real time: they
//! bound waiting, not decisions.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Where the engine reads the time. Implementations are shared by every part of a mirror
/// (`Send + Sync`); both readings must never go backwards for the monotonic one.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Wall-clock time (UTC).
    fn now(&self) -> OffsetDateTime;
    /// A monotonic reading: only differences between two readings mean anything.
    fn monotonic(&self) -> Duration;

    /// Wall-clock time in Unix seconds.
    fn now_unix(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

/// The system's clocks: what the daemon and `tufmirror sync` use.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// The system clock, shared.
    pub fn shared() -> Arc<dyn Clock> {
        Arc::new(SystemClock { origin: Instant::now() })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to: for tests. Both readings advance together.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<(OffsetDateTime, Duration)>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn at(start: OffsetDateTime) -> Arc<ManualClock> {
        Arc::new(ManualClock { state: Mutex::new((start, Duration::ZERO)) })
    }

    /// A clock standing at the system's current time, in whole seconds (as metadata dates are).
    pub fn starting_now() -> Arc<ManualClock> {
        let now = OffsetDateTime::now_utc();
        Self::at(now.replace_nanosecond(0).unwrap_or(now))
    }

    /// Moves both readings forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 += by;
        state.1 += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    fn monotonic(&self) -> Duration {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_both_readings_together() {
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let clock = ManualClock::at(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.monotonic(), Duration::ZERO);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now_unix(), 1_700_000_090);
        assert_eq!(clock.monotonic(), Duration::from_secs(90));
    }
}
