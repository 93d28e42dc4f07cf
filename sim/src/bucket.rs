//! The leaky bucket that throttles GraphQL by calculated cost, per app and shop.
//!
//! The bucket holds up to `maximum_available` points and refills continuously at
//! `restore_rate` points per second. A request may start only if the bucket holds its whole
//! requested cost; the requested cost is taken before execution and the unused part
//! (requested − actual) given back after.
//!
//! Time is read from tokio's clock and passed in explicitly (`now`), so tests control it either
//! by passing instants or with `tokio::time::pause`/`advance`.

use std::time::Duration;

use tokio::time::Instant;

/// Bucket size and refill rate (a Shopify plan), and how fast simulated time runs.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketConfig {
    /// Points the bucket holds when full.
    pub maximum_available: f64,
    /// Points restored per (simulated) second.
    pub restore_rate: f64,
    /// Simulated seconds per real second: 50.0 refills 50× faster, so a benchmark can run an
    /// hour of Shopify pacing in 72 s. The rate reported in `throttleStatus` is the effective
    /// one (`restore_rate × clock_scale`), so a client pacing itself on the reported numbers
    /// stays in step with the bucket.
    pub clock_scale: f64,
}

impl BucketConfig {
    /// Standard plan: 2000 points, 100/s (observed in recent responses; SHOPIFY-NOTES §2.1).
    pub fn standard() -> BucketConfig {
        BucketConfig {
            maximum_available: 2_000.0,
            restore_rate: 100.0,
            clock_scale: 1.0,
        }
    }

    /// Advanced plan: 200/s, bucket inferred as 20 × rate.
    pub fn advanced() -> BucketConfig {
        BucketConfig {
            maximum_available: 4_000.0,
            restore_rate: 200.0,
            clock_scale: 1.0,
        }
    }

    /// Shopify Plus: 1000/s, bucket inferred as 20 × rate.
    pub fn plus() -> BucketConfig {
        BucketConfig {
            maximum_available: 20_000.0,
            restore_rate: 1_000.0,
            clock_scale: 1.0,
        }
    }

    /// Restore rate as the client experiences it.
    pub fn effective_rate(&self) -> f64 {
        self.restore_rate * self.clock_scale.max(0.0)
    }
}

impl Default for BucketConfig {
    fn default() -> Self {
        BucketConfig::standard()
    }
}

/// `extensions.cost.throttleStatus`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

impl ThrottleStatus {
    /// The JSON Shopify sends: floats for the limits, a whole number for what is available.
    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "maximumAvailable": self.maximum_available,
            "currentlyAvailable": self.currently_available.floor() as i64,
            "restoreRate": self.restore_rate,
        })
    }
}

/// One app's bucket on one shop.
#[derive(Clone, Debug)]
pub struct Bucket {
    config: BucketConfig,
    available: f64,
    /// When `available` was last brought up to date.
    as_of: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(config: BucketConfig, now: Instant) -> Bucket {
        Bucket {
            available: config.maximum_available,
            config,
            as_of: now,
        }
    }

    pub fn config(&self) -> &BucketConfig {
        &self.config
    }

    /// Change the plan; what is available is kept, capped at the new size.
    pub fn set_config(&mut self, config: BucketConfig, now: Instant) {
        self.refill(now);
        self.available = self.available.min(config.maximum_available);
        self.config = config;
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.as_of);
        self.as_of = now.max(self.as_of);
        let restored = elapsed.as_secs_f64() * self.config.effective_rate();
        self.available = (self.available + restored).min(self.config.maximum_available);
    }

    pub fn status(&mut self, now: Instant) -> ThrottleStatus {
        self.refill(now);
        ThrottleStatus {
            maximum_available: self.config.maximum_available,
            currently_available: self.available,
            restore_rate: self.config.effective_rate(),
        }
    }

    /// Take `cost` points if the bucket holds them all; otherwise take nothing and report
    /// the status for the THROTTLED response.
    pub fn try_take(&mut self, cost: u64, now: Instant) -> Result<ThrottleStatus, ThrottleStatus> {
        self.refill(now);
        let cost = cost as f64;
        if cost > self.available {
            return Err(self.status(now));
        }
        self.available -= cost;
        Ok(self.status(now))
    }

    /// Give back points a request did not use.
    pub fn refund(&mut self, points: u64, now: Instant) -> ThrottleStatus {
        self.refill(now);
        self.available = (self.available + points as f64).min(self.config.maximum_available);
        self.status(now)
    }

    /// How long until `cost` points are available (zero if they are): what a client should
    /// wait after THROTTLED.
    pub fn wait_for(&mut self, cost: u64, now: Instant) -> Duration {
        self.refill(now);
        let missing = cost as f64 - self.available;
        let rate = self.config.effective_rate();
        if missing <= 0.0 {
            Duration::ZERO
        } else if rate <= 0.0 {
            Duration::MAX
        } else {
            Duration::from_secs_f64(missing / rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max: f64, rate: f64) -> BucketConfig {
        BucketConfig {
            maximum_available: max,
            restore_rate: rate,
            clock_scale: 1.0,
        }
    }

    #[test]
    fn takes_refunds_and_throttles_with_explicit_instants() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(config(100.0, 10.0), t0);
        assert_eq!(bucket.try_take(80, t0).unwrap().currently_available, 20.0);
        // Not enough: nothing is taken.
        let status = bucket.try_take(30, t0).unwrap_err();
        assert_eq!(status.currently_available, 20.0);
        assert_eq!(bucket.wait_for(30, t0), Duration::from_secs(1));
        // A refund of the unused part makes room at once.
        assert_eq!(bucket.refund(50, t0).currently_available, 70.0);
        assert!(bucket.try_take(30, t0).is_ok());
        // Refill is capped at the maximum.
        assert_eq!(
            bucket
                .status(t0 + Duration::from_secs(60))
                .currently_available,
            100.0
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refills_at_the_restore_rate_under_paused_time() {
        let mut bucket = Bucket::new(config(2_000.0, 100.0), Instant::now());
        bucket.try_take(1_000, Instant::now()).unwrap();
        assert!(bucket.try_take(1_001, Instant::now()).is_err());
        tokio::time::advance(Duration::from_millis(2_500)).await;
        let status = bucket.status(Instant::now());
        assert_eq!(status.currently_available, 1_250.0);
        assert!(bucket.try_take(1_001, Instant::now()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn clock_scale_speeds_up_refill_and_is_reported() {
        let mut bucket = Bucket::new(
            BucketConfig {
                clock_scale: 50.0,
                ..config(2_000.0, 100.0)
            },
            Instant::now(),
        );
        bucket.try_take(2_000, Instant::now()).unwrap();
        tokio::time::advance(Duration::from_millis(100)).await;
        let status = bucket.status(Instant::now());
        assert_eq!(status.currently_available, 500.0);
        assert_eq!(status.restore_rate, 5_000.0);
        let json = status.to_json();
        assert_eq!(json["maximumAvailable"], serde_json::json!(2000.0));
        assert_eq!(json["currentlyAvailable"], serde_json::json!(500));
    }
}
