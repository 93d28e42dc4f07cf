//! A circuit breaker per endpoint: after `threshold` transient failures in a row the endpoint
//! is left alone for a cool-down (which doubles while it stays down), then one probe decides.
//! A rejection (4xx) is an answer, so it counts as the endpoint being up.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    pub threshold: u32,
    pub cooldown: Duration,
    pub max_cooldown: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            threshold: 5,
            cooldown: Duration::from_secs(10),
            // A dead endpoint is probed at least once a minute: when it is back, the probe's
            // success wakes every delivery waiting for it.
            max_cooldown: Duration::from_secs(60),
        }
    }
}

/// How an endpoint looks from here, for telemetry and the TUI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Up,
    /// Recent failures, still trying.
    Retrying,
    /// Not called until the cool-down ends.
    CircuitOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open {
        until: Instant,
    },
    /// Cool-down over; one probe is in flight and everybody else waits for its answer.
    Probing,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
    failures: u32,
    /// Consecutive openings: the cool-down doubles with each.
    openings: u32,
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Breaker {
        Breaker {
            settings,
            state: State::Closed,
            failures: 0,
            openings: 0,
        }
    }

    /// May a call go out now? `Err(wait)` says how long until one may.
    pub fn allow(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            State::Closed => Ok(()),
            State::Open { until } if now >= until => {
                self.state = State::Probing;
                Ok(())
            }
            State::Open { until } => Err(until - now),
            State::Probing => Err(self.settings.cooldown.min(Duration::from_secs(1))),
        }
    }

    /// Records the answer of a call that `allow` let through.
    pub fn record(&mut self, now: Instant, up: bool) {
        if up {
            self.state = State::Closed;
            self.failures = 0;
            self.openings = 0;
            return;
        }
        self.failures += 1;
        if self.state == State::Probing || self.failures >= self.settings.threshold {
            self.openings += 1;
            let factor = 1u32 << (self.openings - 1).min(16);
            let cooldown = self
                .settings
                .cooldown
                .saturating_mul(factor)
                .min(self.settings.max_cooldown);
            self.state = State::Open {
                until: now + cooldown,
            };
        }
    }

    pub fn health(&self) -> Health {
        match self.state {
            State::Closed if self.failures == 0 => Health::Up,
            State::Closed => Health::Retrying,
            State::Open { .. } | State::Probing => Health::CircuitOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_probes_after_cooldown_and_backs_off() {
        let s = BreakerSettings {
            threshold: 3,
            cooldown: Duration::from_secs(10),
            max_cooldown: Duration::from_secs(25),
        };
        let mut b = Breaker::new(s);
        let t0 = Instant::now();
        for _ in 0..2 {
            assert!(b.allow(t0).is_ok());
            b.record(t0, false);
        }
        assert_eq!(b.health(), Health::Retrying);
        b.record(t0, false);
        assert_eq!(b.health(), Health::CircuitOpen);
        assert_eq!(
            b.allow(t0 + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
        // The probe fails: open again, twice as long.
        let t1 = t0 + Duration::from_secs(10);
        assert!(b.allow(t1).is_ok());
        assert!(b.allow(t1).is_err(), "only one probe at a time");
        b.record(t1, false);
        assert_eq!(b.allow(t1), Err(Duration::from_secs(20)));
        // Capped, then a successful probe closes it.
        let t2 = t1 + Duration::from_secs(20);
        assert!(b.allow(t2).is_ok());
        b.record(t2, false);
        assert_eq!(b.allow(t2), Err(Duration::from_secs(25)));
        let t3 = t2 + Duration::from_secs(25);
        assert!(b.allow(t3).is_ok());
        b.record(t3, true);
        assert_eq!(b.health(), Health::Up);
        assert!(b.allow(t3).is_ok());
    }
}
