//! Telemetry: counters in, snapshots out. The actor polls the store once a second and keeps the
//! latest [`Snapshot`], which `/metrics`, the control socket and systemd's `STATUS=` all read.

pub mod prometheus;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde::{Deserialize, Serialize};
use tracing::warn;

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
