//! The root of the actor tree. It starts the store, the Shopify rate limiter and client (when
//! configured), telemetry and one actor per flow, restarts a failed child with backoff (after
//! releasing the items a flow held, so they are retried), gives up when one child fails too
//! often, and shuts the tree down in order: flows drain, then the Shopify actors and telemetry
//! stop, then the store makes its last writes durable.
//!
//! The Shopify actors are registered under names unique to this supervisor; flows hold
//! handles that look the actors up by name on every call, so a restart is invisible to them
//! (see `shopify::client`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use ractor::rpc::CallResult;
use ractor::{
    Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr,
    SupervisionEvent,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tracing::{error, info, warn};

use crate::endpoints::EndpointMsg;
use crate::endpoints::{EndpointSpec, EndpointsActor, EndpointsArgs, EndpointsHandle};
use crate::flows::FlowMsg;
use crate::flows::{EventSink, FlowSpec, Reach};
use crate::rate_limiter::RateLimiterMsg;
use crate::rate_limiter::{RateLimiter, RateLimiterHandle};
use crate::retry::Backoff;
use crate::shopify::messages::ShopifyMsg;
use crate::shopify::{ShopifyActor, ShopifyArgs, ShopifyClientConfig, ShopifyHandle};
use crate::store::messages::StoreMsg;
use crate::store::{Pruning, StoreActor, StoreHandle};
use crate::telemetry::TelemetryMsg;
use crate::telemetry::{FlowEvents, TelemetryActor, TelemetryArgs, add_event};

/// Messages to the root supervisor.
pub enum SupervisorMsg {
    /// Respawn a failed child once its backoff has passed.
    Restart {
        child: String,
    },
    /// Forward a command to a flow (pause, resume, status) by name.
    ToFlow {
        flow: String,
        msg: FlowMsg,
    },
    /// A flow counted an event (see `flows::Events`); kept here so that a restarted telemetry
    /// actor starts from the totals.
    Count {
        flow: String,
        event: &'static str,
        n: u64,
    },
    /// Names of the configured flows.
    Flows(RpcReplyPort<Vec<String>>),
    Store(RpcReplyPort<StoreHandle>),
    /// The current telemetry actor (it may have been restarted since last asked).
    Telemetry(RpcReplyPort<ActorRef<TelemetryMsg>>),
    /// The Shopify client handle, when Shopify is configured (valid across restarts).
    Shopify(RpcReplyPort<Option<ShopifyHandle>>),
    /// Drain the flows for up to `grace`, then stop every child, the store last.
    Shutdown {
        grace: Duration,
        reply: RpcReplyPort<ShutdownReport>,
    },
}

/// What a shutdown did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownReport {
    /// True when every flow finished its in-flight items within the grace period.
    pub drained: bool,
    /// Items still in flight at the deadline, made due again for the next start.
    pub released: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct RestartPolicy {
    /// More restarts than this within `window` stop the daemon.
    pub max_restarts: u32,
    pub window: Duration,
    pub backoff: Backoff,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            max_restarts: 5,
            window: Duration::from_secs(60),
            backoff: Backoff::new(Duration::from_millis(250), Duration::from_secs(10)),
        }
    }
}

pub struct SupervisorArgs {
    pub store_dir: PathBuf,
    /// How the store retires finished work.
    pub pruning: Pruning,
    pub flows: Vec<FlowSpec>,
    pub policy: RestartPolicy,
    /// Where the supervisor says it gave up; the daemon then shuts down and exits non-zero.
    pub fatal: UnboundedSender<String>,
    /// Starts the rate limiter and the Shopify client when set.
    pub shopify: Option<ShopifyClientConfig>,
    /// The back office's endpoints.
    pub endpoints: Vec<EndpointSpec>,
}

pub struct Supervisor;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Child {
    Store,
    Telemetry,
    RateLimiter,
    Shopify,
    Endpoints,
    Flow(String),
}

impl Child {
    fn label(&self) -> String {
        match self {
            Child::Store => "store".into(),
            Child::Telemetry => "telemetry".into(),
            Child::RateLimiter => "rate_limiter".into(),
            Child::Shopify => "shopify".into(),
            Child::Endpoints => "endpoints".into(),
            Child::Flow(name) => format!("flow:{name}"),
        }
    }
}

/// The Shopify client and its rate limiter.
struct ShopifySlot {
    config: ShopifyClientConfig,
    /// What flows hold; stable across restarts because it resolves the actors by name.
    handle: ShopifyHandle,
    /// None while waiting out a restart backoff.
    limiter: Option<ActorRef<RateLimiterMsg>>,
    client: Option<ActorRef<ShopifyMsg>>,
}

impl ShopifySlot {
    fn limiter_handle(&self) -> &RateLimiterHandle {
        self.handle.rate_limiter()
    }

    async fn spawn_limiter(
        &mut self,
        supervisor: ActorCell,
    ) -> Result<ActorRef<RateLimiterMsg>, SpawnErr> {
        let name = self.limiter_handle().name().to_string();
        let (actor, _) =
            Actor::spawn_linked(Some(name), RateLimiter, self.config.limiter, supervisor).await?;
        self.limiter = Some(actor.clone());
        Ok(actor)
    }

    async fn spawn_client(
        &mut self,
        supervisor: ActorCell,
    ) -> Result<ActorRef<ShopifyMsg>, SpawnErr> {
        let name = self.handle.name().to_string();
        let args = ShopifyArgs {
            config: self.config.clone(),
            limiter: self.limiter_handle().clone(),
        };
        let (actor, _) = Actor::spawn_linked(Some(name), ShopifyActor, args, supervisor).await?;
        self.client = Some(actor.clone());
        Ok(actor)
    }
}

/// Distinguishes the actor names of several engines in one process (tests run many).
static INSTANCE: AtomicU64 = AtomicU64::new(1);

struct FlowSlot {
    spec: FlowSpec,
    /// None while waiting out a restart backoff.
    actor: Option<ActorRef<FlowMsg>>,
    /// Survives restarts: an operator's pause must not be undone by a crash.
    paused: bool,
}

pub struct SupervisorState {
    store_actor: ActorRef<StoreMsg>,
    store: StoreHandle,
    telemetry: ActorRef<TelemetryMsg>,
    shopify: Option<ShopifySlot>,
    endpoint_specs: Vec<EndpointSpec>,
    endpoints: EndpointsHandle,
    /// None while waiting out a restart backoff.
    endpoints_actor: Option<ActorRef<EndpointMsg>>,
    flows: BTreeMap<String, FlowSlot>,
    children: HashMap<ActorId, Child>,
    /// Recent restart times per child, to apply the policy's window.
    recent: HashMap<String, VecDeque<Instant>>,
    /// Restarts since start per child, to seed a restarted telemetry actor.
    totals: BTreeMap<String, u64>,
    /// Flow events since start, likewise.
    events: FlowEvents,
    policy: RestartPolicy,
    fatal: UnboundedSender<String>,
    /// Shutting down or given up: exits are expected and nothing is restarted.
    stopping: bool,
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<SupervisorMsg>,
        args: SupervisorArgs,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let (store_actor, _) = Actor::spawn_linked(
            None,
            StoreActor,
            (args.store_dir, args.pruning),
            myself.get_cell(),
        )
        .await
        .map_err(|e| startup_error(&e))?;
        let store = StoreHandle::new(store_actor.clone());
        let mut children = HashMap::new();
        children.insert(store_actor.get_id(), Child::Store);
        let instance = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let endpoints = EndpointsHandle::named(format!("xc{instance}:endpoints"));
        let endpoints_actor =
            spawn_endpoints(&endpoints, &args.endpoints, &store, myself.get_cell())
                .await
                .map_err(|e| format!("endpoints: {}", startup_error(&e)))?;
        children.insert(endpoints_actor.get_id(), Child::Endpoints);
        let mut shopify = None;
        if let Some(config) = args.shopify {
            let limiter =
                RateLimiterHandle::named(format!("xc{instance}:rate_limiter:{}", config.shop));
            let handle = ShopifyHandle::named(
                format!("xc{instance}:shopify:{}", config.shop),
                limiter,
                config.deadline,
            );
            let mut slot = ShopifySlot {
                config,
                handle,
                limiter: None,
                client: None,
            };
            let limiter = slot
                .spawn_limiter(myself.get_cell())
                .await
                .map_err(|e| format!("rate limiter: {}", startup_error(&e)))?;
            children.insert(limiter.get_id(), Child::RateLimiter);
            let client = slot
                .spawn_client(myself.get_cell())
                .await
                .map_err(|e| format!("shopify client: {}", startup_error(&e)))?;
            children.insert(client.get_id(), Child::Shopify);
            info!(shop = %slot.config.shop, url = %slot.config.endpoint(), "shopify client started");
            shopify = Some(slot);
        }
        let shopify_handle = shopify.as_ref().map(|s| s.handle.clone());
        // Every declared event shows from the start, at 0.
        let mut events = FlowEvents::new();
        for spec in &args.flows {
            let counts = events.entry(spec.name.clone()).or_default();
            for event in spec.events {
                counts.insert(event.to_string(), 0);
            }
        }
        let (telemetry, _) = Actor::spawn_linked(
            None,
            TelemetryActor,
            TelemetryArgs {
                store: store.clone(),
                restarts: BTreeMap::new(),
                rate_limiter: shopify.as_ref().map(|s| s.limiter_handle().clone()),
                endpoints: endpoints.clone(),
                flow_events: events.clone(),
            },
            myself.get_cell(),
        )
        .await
        .map_err(|e| startup_error(&e))?;
        children.insert(telemetry.get_id(), Child::Telemetry);
        let mut flows = BTreeMap::new();
        let reach = Reach {
            store: store.clone(),
            shopify: shopify_handle,
            endpoints: endpoints.clone(),
            events: event_sink(&myself),
        };
        // This process holds the store's lock, so every lease in it was taken by a process
        // that died (SIGKILL, power loss): those items are due now, not when the lease ends.
        for spec in &args.flows {
            match store.release(&spec.name).await {
                Ok(0) => {}
                Ok(n) => {
                    info!(flow = %spec.name, items = n, "items in flight when the last run ended are due again")
                }
                Err(e) => {
                    warn!(flow = %spec.name, error = %e, "cannot release the last run's in-flight items; they are due when their lease expires")
                }
            }
        }
        for spec in args.flows {
            let actor = spec
                .spawn(reach.clone(), false, myself.get_cell())
                .await
                .map_err(|e| format!("flow {}: {}", spec.name, startup_error(&e)))?;
            children.insert(actor.get_id(), Child::Flow(spec.name.clone()));
            info!(flow = %spec.name, "flow started");
            flows.insert(
                spec.name.clone(),
                FlowSlot {
                    spec,
                    actor: Some(actor),
                    paused: false,
                },
            );
        }
        Ok(SupervisorState {
            store_actor,
            store,
            telemetry,
            shopify,
            endpoint_specs: args.endpoints,
            endpoints,
            endpoints_actor: Some(endpoints_actor),
            flows,
            children,
            recent: HashMap::new(),
            totals: BTreeMap::new(),
            events,
            policy: args.policy,
            fatal: args.fatal,
            stopping: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        st: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Restart { child } => {
                if !st.stopping {
                    restart(&myself, st, child).await;
                }
            }
            SupervisorMsg::ToFlow { flow, msg } => {
                if let Some(slot) = st.flows.get_mut(&flow) {
                    match msg {
                        FlowMsg::Pause => slot.paused = true,
                        FlowMsg::Resume => slot.paused = false,
                        _ => {}
                    }
                    if let Some(actor) = &slot.actor {
                        let _ = actor.cast(msg);
                    }
                }
            }
            SupervisorMsg::Count { flow, event, n } => {
                add_event(&mut st.events, flow.clone(), event, n);
                let _ = st.telemetry.cast(TelemetryMsg::Counted { flow, event, n });
            }
            SupervisorMsg::Flows(reply) => {
                let _ = reply.send(st.flows.keys().cloned().collect());
            }
            SupervisorMsg::Store(reply) => {
                let _ = reply.send(st.store.clone());
            }
            SupervisorMsg::Telemetry(reply) => {
                let _ = reply.send(st.telemetry.clone());
            }
            SupervisorMsg::Shopify(reply) => {
                let _ = reply.send(st.shopify.as_ref().map(|s| s.handle.clone()));
            }
            SupervisorMsg::Shutdown { grace, reply } => {
                let report = shutdown(st, grace).await;
                let _ = reply.send(report);
                myself.stop(Some("shutdown".into()));
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        evt: SupervisionEvent,
        st: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        // Overridden because the default stops the supervisor when any child exits.
        let (id, why) = match &evt {
            SupervisionEvent::ActorFailed(cell, err) => (cell.get_id(), err.to_string()),
            SupervisionEvent::ActorTerminated(cell, _, reason) => (
                cell.get_id(),
                reason.clone().unwrap_or_else(|| "stopped".into()),
            ),
            _ => return Ok(()),
        };
        let Some(child) = st.children.remove(&id) else {
            return Ok(());
        };
        if st.stopping {
            return Ok(());
        }
        let label = child.label();
        error!(actor = %label, reason = %why, "actor exited");
        if child == Child::Store {
            give_up(
                st,
                format!("the store stopped ({why}); refusing to run without durable storage"),
            );
            return Ok(());
        }
        match (&child, st.shopify.as_mut()) {
            (Child::RateLimiter, Some(slot)) => slot.limiter = None,
            (Child::Shopify, Some(slot)) => slot.client = None,
            (Child::Endpoints, _) => st.endpoints_actor = None,
            _ => {}
        }
        if let Child::Flow(name) = &child {
            if let Some(slot) = st.flows.get_mut(name) {
                slot.actor = None;
            }
            match st.store.release(name).await {
                Ok(n) if n > 0 => {
                    info!(flow = %name, items = n, "items held by the failed flow are due again")
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(flow = %name, error = %e, "cannot release the failed flow's items; they are due when their lease expires")
                }
            }
        }
        let now = Instant::now();
        let recent = st.recent.entry(label.clone()).or_default();
        recent.push_back(now);
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > st.policy.window)
        {
            recent.pop_front();
        }
        let count = recent.len() as u32;
        if count > st.policy.max_restarts {
            give_up(
                st,
                format!(
                    "actor {label} failed {count} times within {:?} (last: {why}); giving up",
                    st.policy.window
                ),
            );
            return Ok(());
        }
        *st.totals.entry(label.clone()).or_default() += 1;
        let _ = st.telemetry.cast(TelemetryMsg::Restarted {
            actor: label.clone(),
        });
        let delay = st.policy.backoff.delay(count);
        warn!(actor = %label, restart_in = ?delay, "restarting actor");
        myself.send_after(delay, move || SupervisorMsg::Restart { child: label });
        Ok(())
    }
}

fn give_up(st: &mut SupervisorState, reason: String) {
    error!(%reason, "supervisor gives up");
    st.stopping = true;
    let _ = st.fatal.send(reason);
}

/// Starts the endpoints actor under the name `handle` looks up.
async fn spawn_endpoints(
    handle: &EndpointsHandle,
    specs: &[EndpointSpec],
    store: &StoreHandle,
    supervisor: ActorCell,
) -> Result<ActorRef<EndpointMsg>, SpawnErr> {
    let name = handle.name().to_string();
    let args = EndpointsArgs {
        specs: specs.to_vec(),
        store: Some(store.clone()),
    };
    let (actor, _) = Actor::spawn_linked(Some(name), EndpointsActor, args, supervisor).await?;
    Ok(actor)
}

/// Flows count their events through the supervisor, which outlives every one of them.
fn event_sink(supervisor: &ActorRef<SupervisorMsg>) -> EventSink {
    let supervisor = supervisor.clone();
    Arc::new(move |flow: &str, event: &'static str, n: u64| {
        let _ = supervisor.cast(SupervisorMsg::Count {
            flow: flow.to_string(),
            event,
            n,
        });
    })
}

async fn restart(myself: &ActorRef<SupervisorMsg>, st: &mut SupervisorState, label: String) {
    let reach = Reach {
        store: st.store.clone(),
        shopify: st.shopify.as_ref().map(|s| s.handle.clone()),
        endpoints: st.endpoints.clone(),
        events: event_sink(myself),
    };
    let spawned: Result<(ActorId, Child), SpawnErr> = if label == "telemetry" {
        Actor::spawn_linked(
            None,
            TelemetryActor,
            TelemetryArgs {
                store: st.store.clone(),
                restarts: st.totals.clone(),
                rate_limiter: st.shopify.as_ref().map(|s| s.limiter_handle().clone()),
                endpoints: st.endpoints.clone(),
                flow_events: st.events.clone(),
            },
            myself.get_cell(),
        )
        .await
        .map(|(actor, _)| {
            st.telemetry = actor.clone();
            (actor.get_id(), Child::Telemetry)
        })
    } else if label == "endpoints" {
        spawn_endpoints(
            &st.endpoints,
            &st.endpoint_specs,
            &st.store,
            myself.get_cell(),
        )
        .await
        .map(|actor| {
            st.endpoints_actor = Some(actor.clone());
            (actor.get_id(), Child::Endpoints)
        })
    } else if let (Some(slot), "rate_limiter") = (st.shopify.as_mut(), label.as_str()) {
        slot.spawn_limiter(myself.get_cell())
            .await
            .map(|actor| (actor.get_id(), Child::RateLimiter))
    } else if let (Some(slot), "shopify") = (st.shopify.as_mut(), label.as_str()) {
        slot.spawn_client(myself.get_cell())
            .await
            .map(|actor| (actor.get_id(), Child::Shopify))
    } else if let Some(slot) = label
        .strip_prefix("flow:")
        .and_then(|n| st.flows.get_mut(n))
    {
        slot.spec
            .spawn(reach, slot.paused, myself.get_cell())
            .await
            .map(|actor| {
                slot.actor = Some(actor.clone());
                (actor.get_id(), Child::Flow(slot.spec.name.clone()))
            })
    } else {
        return;
    };
    match spawned {
        Ok((id, child)) => {
            info!(actor = %label, "actor restarted");
            st.children.insert(id, child);
        }
        Err(e) => give_up(
            st,
            format!("actor {label} cannot be restarted: {}", startup_error(&e)),
        ),
    }
}

async fn shutdown(st: &mut SupervisorState, grace: Duration) -> ShutdownReport {
    st.stopping = true;
    let actors: Vec<(String, ActorRef<FlowMsg>)> = st
        .flows
        .iter()
        .filter_map(|(name, slot)| slot.actor.clone().map(|a| (name.clone(), a)))
        .collect();
    info!(flows = actors.len(), ?grace, "draining flows");
    let drains = actors
        .iter()
        .map(|(_, a)| a.call(FlowMsg::Drain, Some(grace)));
    let drained = join_all(drains)
        .await
        .into_iter()
        .all(|r| matches!(r, Ok(CallResult::Success(()))));
    for (_, actor) in &actors {
        let _ = actor
            .stop_and_wait(Some("shutdown".into()), Some(Duration::from_secs(5)))
            .await;
    }
    let mut released = 0;
    for name in st.flows.keys() {
        match st.store.release(name).await {
            Ok(n) => released += n,
            Err(e) => {
                warn!(flow = %name, error = %e, "cannot release in-flight items; they are due when their lease expires")
            }
        }
    }
    if released > 0 {
        warn!(
            items = released,
            "items still in flight at the end of the grace period will be retried on the next start"
        );
    }
    // The flows are stopped: nothing waits for these any more.
    if let Some(endpoints) = &st.endpoints_actor {
        let _ = endpoints
            .stop_and_wait(None, Some(Duration::from_secs(5)))
            .await;
    }
    if let Some(slot) = &st.shopify {
        if let Some(client) = &slot.client {
            let _ = client
                .stop_and_wait(None, Some(Duration::from_secs(5)))
                .await;
        }
        if let Some(limiter) = &slot.limiter {
            let _ = limiter
                .stop_and_wait(None, Some(Duration::from_secs(5)))
                .await;
        }
    }
    let _ = st
        .telemetry
        .stop_and_wait(None, Some(Duration::from_secs(5)))
        .await;
    let _ = st
        .store_actor
        .stop_and_wait(None, Some(Duration::from_secs(30)))
        .await;
    ShutdownReport { drained, released }
}

/// The root cause of a failed spawn, without ractor's "panicked during startup" wrapping.
pub fn startup_error(e: &SpawnErr) -> String {
    match e {
        SpawnErr::StartupFailed(inner) => match inner.downcast_ref::<SpawnErr>() {
            Some(nested) => startup_error(nested),
            None => inner.to_string(),
        },
        other => other.to_string(),
    }
}
