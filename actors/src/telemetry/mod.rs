//! Telemetry: counters in, snapshots out. The actor polls the store once a second and keeps the
//! latest [`Snapshot`], which `/metrics`, the control socket and systemd's `STATUS=` all read.

pub mod prometheus;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::endpoints::{EndpointStatus, EndpointsHandle};
use crate::item::{ItemState, Millis, now_ms};
mod messages;

use crate::rate_limiter::{RateLimiterHandle, RateLimiterStats};
use crate::store::{StoreHandle, StoreStats};
pub use messages::TelemetryMsg;

/// How often telemetry refreshes from the store.
pub const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub at: Millis,
    pub store: StoreStats,
    /// Items accepted per second over the last tick.
    pub enqueue_rate: f64,
    /// Restarts per actor since the daemon started.
    pub restarts: BTreeMap<String, u64>,
    /// The Shopify rate limiter, when Shopify is configured (and the limiter answered).
    #[serde(default)]
    pub rate_limiter: Option<RateLimiterStats>,
    /// Each back-office endpoint's health and counters.
    #[serde(default)]
    pub endpoints: Vec<EndpointStatus>,
    /// Flow → event → how often it happened (what flows count themselves).
    #[serde(default)]
    pub flow_events: FlowEvents,
}

/// Flow → event → count.
pub type FlowEvents = BTreeMap<String, BTreeMap<String, u64>>;

/// Adds `n` to `flow`'s `event`.
pub fn add_event(events: &mut FlowEvents, flow: String, event: &str, n: u64) {
    *events
        .entry(flow)
        .or_default()
        .entry(event.to_string())
        .or_default() += n;
}

impl Snapshot {
    /// Items of `flow` in `state` (0 when none).
    pub fn count(&self, flow: &str, state: ItemState) -> u64 {
        self.store
            .counts
            .iter()
            .find(|(f, s, _)| f == flow && *s == state)
            .map(|(_, _, n)| *n)
            .unwrap_or(0)
    }

    /// The one-line summary systemd shows in `systemctl status`.
    pub fn summary(&self) -> String {
        let sum = |pred: fn(ItemState) -> bool| -> u64 {
            self.store
                .counts
                .iter()
                .filter(|(_, s, _)| pred(*s))
                .map(|(_, _, n)| n)
                .sum()
        };
        format!(
            "{} waiting, {} in flight, {} exceptions, {} done; {:.0} items/s in",
            sum(|s| matches!(s, ItemState::Pending | ItemState::Retrying)),
            sum(|s| s == ItemState::InFlight),
            sum(|s| s == ItemState::Exception),
            sum(|s| s == ItemState::Done),
            self.enqueue_rate
        )
    }
}

pub struct TelemetryActor;

pub struct TelemetryArgs {
    pub store: StoreHandle,
    /// Restarts so far, so that a restarted telemetry actor keeps counting.
    pub restarts: BTreeMap<String, u64>,
    pub rate_limiter: Option<RateLimiterHandle>,
    pub endpoints: EndpointsHandle,
    /// Flow events so far, likewise.
    pub flow_events: FlowEvents,
}

pub struct TelemetryState {
    store: StoreHandle,
    rate_limiter: Option<RateLimiterHandle>,
    endpoints: EndpointsHandle,
    snapshot: Snapshot,
    last_tick: Instant,
    counted: Counted,
}

/// What telemetry last counted into the health report's rollups: the counters since start it
/// saw at the last tick, so each tick adds only what happened since.
#[derive(Debug, Default)]
struct Counted {
    endpoints: BTreeMap<String, [u64; 3]>,
    points: BTreeMap<crate::rate_limiter::Lane, f64>,
    /// Fractions of a point not written yet.
    carry: BTreeMap<crate::rate_limiter::Lane, f64>,
    limiter_seen: bool,
}

impl Counted {
    /// The health rollups' additions for what happened since the last tick (`day`: today,
    /// UTC). A counter that went back (its actor restarted and counts from zero) adds what it
    /// shows now. The endpoint and limiter actors start with the daemon, so a counter's first
    /// sight is taken as its baseline.
    fn since(
        &mut self,
        day: &str,
        endpoints: &[EndpointStatus],
        limiter: Option<&RateLimiterStats>,
    ) -> Vec<crate::store::RollupWrite> {
        use crate::flows::reporting::health::{ENDPOINTS, SHOPIFY, telemetry_counter as t};
        let grew = |now: u64, before: u64| if now >= before { now - before } else { now };
        let mut writes = Vec::new();
        for e in endpoints {
            let now = [e.delivered, e.failed, e.rejected];
            // The first sight is the baseline: a restarted telemetry actor must not count
            // again what the counters held before it (at the daemon's start they hold nothing).
            let Some(before) = self.endpoints.insert(e.name.clone(), now) else {
                continue;
            };
            let counters: crate::store::Counters = [t::DELIVERED, t::FAILED, t::REJECTED]
                .iter()
                .zip(now.iter().zip(before))
                .map(|(name, (n, b))| (name.to_string(), grew(*n, b) as i64))
                .filter(|(_, n)| *n > 0)
                .collect();
            if !counters.is_empty() {
                writes.push(crate::store::RollupWrite::Add {
                    bucket: format!("{ENDPOINTS}/day/{day}/{}/-", e.name),
                    counters,
                });
            }
        }
        let baseline = limiter.is_some() && !self.limiter_seen;
        self.limiter_seen |= limiter.is_some();
        for (lane, spent) in limiter.map(|l| &l.points_by_lane).into_iter().flatten() {
            // A lane first spends after the baseline was taken: it had spent nothing before.
            let before = self.points.insert(*lane, *spent).unwrap_or_default();
            if baseline {
                continue;
            }
            let fresh = if *spent >= before {
                spent - before
            } else {
                *spent
            };
            let carry = self.carry.entry(*lane).or_default();
            *carry += fresh;
            let whole = carry.floor();
            *carry -= whole;
            if whole >= 1.0 {
                writes.push(crate::store::RollupWrite::Add {
                    bucket: format!("{SHOPIFY}/day/{day}/{}/-", lane.as_str()),
                    counters: [(t::POINTS.to_string(), whole as i64)].into(),
                });
            }
        }
        writes
    }
}

impl Actor for TelemetryActor {
    type Msg = TelemetryMsg;
    type State = TelemetryState;
    type Arguments = TelemetryArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<TelemetryMsg>,
        args: TelemetryArgs,
    ) -> Result<TelemetryState, ActorProcessingErr> {
        myself.send_interval(TICK, || TelemetryMsg::Tick);
        let _ = myself.cast(TelemetryMsg::Tick);
        Ok(TelemetryState {
            store: args.store,
            rate_limiter: args.rate_limiter,
            endpoints: args.endpoints,
            snapshot: Snapshot {
                restarts: args.restarts,
                flow_events: args.flow_events,
                ..Snapshot::default()
            },
            last_tick: Instant::now(),
            counted: Counted::default(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<TelemetryMsg>,
        msg: TelemetryMsg,
        st: &mut TelemetryState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            TelemetryMsg::Tick => {
                if let Some(limiter) = &st.rate_limiter {
                    // None while the limiter restarts: the snapshot then shows no stats rather
                    // than stale ones.
                    st.snapshot.rate_limiter = limiter.stats().await;
                }
                st.snapshot.endpoints = st.endpoints.status().await;
                let day = chrono::Utc::now().date_naive().to_string();
                let writes = st.counted.since(
                    &day,
                    &st.snapshot.endpoints,
                    st.snapshot.rate_limiter.as_ref(),
                );
                if let Err(e) = st.store.rollup_writes(writes).await {
                    debug!(error = %e, "telemetry cannot count into the health report");
                }
                match st.store.stats().await {
                    Ok(stats) => {
                        let elapsed = st.last_tick.elapsed().as_secs_f64();
                        let fresh = stats.enqueued.saturating_sub(st.snapshot.store.enqueued);
                        if elapsed > 0.0 {
                            st.snapshot.enqueue_rate = fresh as f64 / elapsed;
                        }
                        st.last_tick = Instant::now();
                        st.snapshot.store = stats;
                        st.snapshot.at = now_ms();
                    }
                    Err(e) => warn!(error = %e, "telemetry cannot read the store"),
                }
            }
            TelemetryMsg::Counted { flow, event, n } => {
                add_event(&mut st.snapshot.flow_events, flow, event, n)
            }
            TelemetryMsg::Restarted { actor } => {
                *st.snapshot.restarts.entry(actor).or_default() += 1
            }
            TelemetryMsg::Snapshot(reply) => {
                let _ = reply.send(st.snapshot.clone());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::Health;
    use crate::rate_limiter::Lane;
    use crate::store::RollupWrite;

    fn endpoint(name: &str, delivered: u64, failed: u64, rejected: u64) -> EndpointStatus {
        EndpointStatus {
            name: name.into(),
            health: Health::Up,
            in_flight: 0,
            delivered,
            failed,
            rejected,
        }
    }

    fn limiter(points: &[(Lane, f64)]) -> RateLimiterStats {
        RateLimiterStats {
            points_by_lane: points.iter().copied().collect(),
            ..RateLimiterStats::default()
        }
    }

    fn adds(writes: &[RollupWrite]) -> Vec<(String, Vec<(String, i64)>)> {
        writes
            .iter()
            .map(|w| match w {
                RollupWrite::Add { bucket, counters } => (
                    bucket.clone(),
                    counters.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                ),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn each_tick_counts_what_happened_since_the_last_and_a_restart_counts_from_zero() {
        let mut c = Counted::default();
        let day = "2026-12-07";
        // The first sight is the baseline.
        let first = c.since(
            day,
            &[endpoint("erp", 5, 1, 0)],
            Some(&limiter(&[(Lane::Orders, 10.0)])),
        );
        assert!(first.is_empty());
        // 3 delivered, 2 failed; orders spent 12.5 points (12 now, the half carried), and the
        // inventory lane, new since the baseline, 4.
        let second = c.since(
            day,
            &[endpoint("erp", 8, 3, 0)],
            Some(&limiter(&[(Lane::Orders, 22.5), (Lane::Inventory, 4.0)])),
        );
        assert_eq!(
            adds(&second),
            [
                (
                    "endpoints/day/2026-12-07/erp/-".to_string(),
                    vec![("delivered".to_string(), 3), ("failed".to_string(), 2)]
                ),
                (
                    "shopify/day/2026-12-07/orders/-".to_string(),
                    vec![("points".to_string(), 12)]
                ),
                (
                    "shopify/day/2026-12-07/inventory/-".to_string(),
                    vec![("points".to_string(), 4)]
                ),
            ]
        );
        // Nothing new: nothing written. The limiter restarted: it counts from zero again.
        assert!(c.since(day, &[endpoint("erp", 8, 3, 0)], None).is_empty());
        let after_restart = c.since(
            day,
            &[endpoint("erp", 8, 3, 1)],
            Some(&limiter(&[(Lane::Orders, 1.5)])),
        );
        assert_eq!(
            adds(&after_restart),
            [
                (
                    "endpoints/day/2026-12-07/erp/-".to_string(),
                    vec![("rejected".to_string(), 1)]
                ),
                // 1.5 and the half carried before.
                (
                    "shopify/day/2026-12-07/orders/-".to_string(),
                    vec![("points".to_string(), 2)]
                ),
            ]
        );
    }
}
