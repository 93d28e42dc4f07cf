//! The flow framework. A flow is one folder here: a [`module::FlowModule`] (its config section,
//! webhook topics, checks and wiring, read by the binary's registry) and a [`Flow`]: how to
//! process claimed items. [`FlowActor`] runs any flow the same way: it pulls due items from the
//! store when it has capacity, processes up to `concurrency` of them at once (or, for a
//! [batching](Flow::batching) flow, takes up to `concurrency` of them as one batch, one batch at
//! a time), applies the one retry policy to each outcome, and records the results in the store
//! before taking more.

pub mod both_ways;
pub mod bounded;
pub mod customers;
pub mod exceptions;
pub mod fan_out;
pub mod fulfillments;
pub mod inventory;
pub mod log;
pub mod module;
pub mod orders;
pub mod products;
pub mod reconcile;
pub mod reporting;
pub mod returns;
pub mod stripes;
pub mod write;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SpawnErr};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::endpoints::EndpointsHandle;
/// What a flow decided about one item (the item module's, so endpoints need not know flows).
pub use crate::item::Outcome;
use crate::item::{Claimed, Completion, Millis, now_ms};
mod messages;

use crate::retry::Backoff;
use crate::shopify::{ShopifyError, ShopifyHandle};
use crate::store::messages::Waker;
use crate::store::{StoreError, StoreHandle};
pub use messages::{FlowMsg, FlowStatus};

/// A Shopify error, as every flow treats it: retried when it may pass, an exception for a
/// person when it will not.
impl From<&ShopifyError> for Outcome {
    fn from(e: &ShopifyError) -> Outcome {
        if e.is_transient() {
            Outcome::Retry {
                error: format!("shopify: {e}"),
                after: e.retry_after(),
            }
        } else {
            Outcome::Exception {
                reason: format!("shopify: {e}"),
            }
        }
    }
}

/// The store could not answer: the item is safe where it is and is tried again.
impl From<StoreError> for Outcome {
    fn from(e: StoreError) -> Outcome {
        Outcome::Retry {
            error: format!("store: {e}"),
            after: None,
        }
    }
}

/// One integration flow's logic. Everything else (claiming, leases, retries, concurrency,
/// batching, pause, drain, restarts) is the framework's.
pub trait Flow: Send + Sync + 'static {
    fn process(&self, item: &Claimed, ctx: &FlowContext) -> impl Future<Output = Outcome> + Send;

    /// `Some`: the flow processes its due items in batches, through [`Flow::process_batch`],
    /// one batch at a time: a writer that coalesces what waits and sends it in few calls.
    /// `None` (the default): items one by one, `concurrency` at once.
    fn batching(&self) -> Option<Batching> {
        None
    }

    /// Processes a batch of claimed items (at most `concurrency`), returning one outcome per
    /// item, in order; an item given no outcome is retried. Items that came due while a batch
    /// ran wait in the store for the next one, so they coalesce there.
    fn process_batch(
        &self,
        items: &[Claimed],
        ctx: &FlowContext,
    ) -> impl Future<Output = Vec<Outcome>> + Send {
        futures::future::join_all(items.iter().map(move |item| self.process(item, ctx)))
    }

    /// How often [`Flow::tick`] runs, for work no item triggers (reconciliation polls,
    /// batching). `None`: never.
    fn tick_every(&self) -> Option<Duration> {
        None
    }

    /// Periodic work. Never runs twice at once, nor while the flow is paused or draining;
    /// what it finds becomes items in the store, so a crash mid-tick loses nothing.
    fn tick(&self, ctx: &FlowContext) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }
}

/// How a batching flow gathers its batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// After the first due item, how long to wait for more before the batch starts (unless
    /// it is full sooner). Zero: start with what is due.
    pub linger: Duration,
}

/// What a flow can reach while processing.
#[derive(Clone)]
pub struct FlowContext {
    pub name: Arc<str>,
    pub store: StoreHandle,
    /// The Shopify client, when `[shopify]` is configured. Valid across restarts of the
    /// client and rate-limiter actors.
    pub shopify: Option<ShopifyHandle>,
    /// Delivery to the back office's endpoints. Valid across restarts of the endpoints actor.
    pub endpoints: EndpointsHandle,
    /// The flow's own counters, shown on `/metrics`.
    pub events: Events,
}

/// Where a flow's event counts go (the supervisor, which keeps them across restarts).
pub(crate) type EventSink = Arc<dyn Fn(&str, &'static str, u64) + Send + Sync>;

/// Counts events of one flow (`echo`, `delivered`) into `xconnector_flow_events_total`. A cast
/// to the supervisor: cheap, never waits.
#[derive(Clone)]
pub struct Events {
    flow: Arc<str>,
    sink: EventSink,
}

impl Events {
    pub fn count(&self, event: &'static str, n: u64) {
        (self.sink)(&self.flow, event, n);
    }
}

#[derive(Debug, Clone)]
pub struct FlowSettings {
    /// Items processed at once.
    pub concurrency: usize,
    /// How long a claimed item stays invisible to other claims; after a crash it is due again
    /// once this passes.
    pub lease: Duration,
    /// Attempts before a transient failure becomes an exception.
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// How often the flow looks for due work without being nudged (retries coming due).
    pub poll_every: Duration,
}

impl Default for FlowSettings {
    fn default() -> Self {
        FlowSettings {
            concurrency: 8,
            lease: Duration::from_secs(30),
            max_attempts: 10,
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(600)),
            poll_every: Duration::from_millis(250),
        }
    }
}

/// A flow ready to be spawned (and respawned) by the supervisor.
#[derive(Clone)]
pub struct FlowSpec {
    pub name: String,
    pub settings: FlowSettings,
    /// The events it counts, shown (at 0) before the first one happens.
    pub events: &'static [&'static str],
    spawner: Arc<dyn Spawn>,
}

impl FlowSpec {
    pub fn new<F: Flow>(name: impl Into<String>, settings: FlowSettings, flow: F) -> FlowSpec {
        FlowSpec {
            name: name.into(),
            settings,
            events: &[],
            spawner: Arc::new(Arc::new(flow)),
        }
    }

    pub(crate) fn spawn(
        &self,
        reach: Reach,
        paused: bool,
        supervisor: ActorCell,
    ) -> BoxFuture<'static, Result<ActorRef<FlowMsg>, SpawnErr>> {
        let args = FlowArgs {
            ctx: FlowContext {
                name: self.name.as_str().into(),
                store: reach.store,
                shopify: reach.shopify,
                endpoints: reach.endpoints,
                events: Events {
                    flow: self.name.as_str().into(),
                    sink: reach.events,
                },
            },
            settings: self.settings.clone(),
            paused,
        };
        self.spawner.spawn(args, supervisor)
    }
}

/// The handles the supervisor gives every flow it spawns.
#[derive(Clone)]
pub(crate) struct Reach {
    pub store: StoreHandle,
    pub shopify: Option<ShopifyHandle>,
    pub endpoints: EndpointsHandle,
    pub events: EventSink,
}

trait Spawn: Send + Sync {
    fn spawn(
        &self,
        args: FlowArgs,
        supervisor: ActorCell,
    ) -> BoxFuture<'static, Result<ActorRef<FlowMsg>, SpawnErr>>;
}

impl<F: Flow> Spawn for Arc<F> {
    fn spawn(
        &self,
        args: FlowArgs,
        supervisor: ActorCell,
    ) -> BoxFuture<'static, Result<ActorRef<FlowMsg>, SpawnErr>> {
        let actor = FlowActor { flow: self.clone() };
        Box::pin(async move { Ok(Actor::spawn_linked(None, actor, args, supervisor).await?.0) })
    }
}

pub struct FlowArgs {
    ctx: FlowContext,
    settings: FlowSettings,
    paused: bool,
}

/// Runs one flow.
pub struct FlowActor<F> {
    flow: Arc<F>,
}

pub struct FlowState {
    ctx: FlowContext,
    settings: FlowSettings,
    paused: bool,
    /// Set while shutting down: no new claims; answered when the last item finishes.
    draining: Option<ractor::RpcReplyPort<()>>,
    in_flight: usize,
    /// A tick is running (ticks never overlap).
    ticking: bool,
    /// Ticks that came while paused or draining and were let pass.
    ticks_held: u64,
    /// The last claim failed (the store is failing): said once, not at every poll.
    claim_failing: bool,
    /// A batching flow's claimed items waiting for the batch to start (counted in flight).
    gathering: Vec<Claimed>,
    /// A [`FlowMsg::Gather`] is on its way.
    gather_due: bool,
    /// A batch is being processed (a batching flow runs one at a time).
    batch_running: bool,
    /// The processing tasks. Dropped with the state when the actor fails, which aborts them:
    /// their items are released by the supervisor and must not be finished twice.
    tasks: JoinSet<()>,
}

impl<F: Flow> Actor for FlowActor<F> {
    type Msg = FlowMsg;
    type State = FlowState;
    type Arguments = FlowArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<FlowMsg>,
        args: FlowArgs,
    ) -> Result<FlowState, ActorProcessingErr> {
        let me = myself.clone();
        args.ctx.store.subscribe(
            &args.ctx.name,
            Waker::new(move || {
                let _ = me.cast(FlowMsg::Pump);
            }),
        );
        myself.send_interval(args.settings.poll_every, || FlowMsg::Pump);
        if let Some(every) = self.flow.tick_every() {
            myself.send_interval(every, || FlowMsg::Tick);
            // The first tick right away: a reconciliation poll after a restart should not
            // wait a whole period.
            let _ = myself.cast(FlowMsg::Tick);
        }
        Ok(FlowState {
            ctx: args.ctx,
            settings: args.settings,
            paused: args.paused,
            draining: None,
            in_flight: 0,
            ticking: false,
            ticks_held: 0,
            claim_failing: false,
            gathering: Vec::new(),
            gather_due: false,
            batch_running: false,
            tasks: JoinSet::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<FlowMsg>,
        msg: FlowMsg,
        st: &mut FlowState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            FlowMsg::Pump => self.pump(&myself, st).await,
            FlowMsg::Finished { id } => {
                debug!(flow = %st.ctx.name, item = %id, "item finished");
                self.finished(&myself, st, 1).await;
            }
            FlowMsg::Gather => {
                st.gather_due = false;
                self.start_batch(&myself, st);
            }
            FlowMsg::BatchFinished { n } => {
                debug!(flow = %st.ctx.name, items = n, "batch finished");
                st.batch_running = false;
                self.finished(&myself, st, n).await;
            }
            FlowMsg::Panicked { what, message } => {
                return Err(format!("flow {} panicked in {what}: {message}", st.ctx.name).into());
            }
            FlowMsg::Tick if st.paused || st.draining.is_some() => st.ticks_held += 1,
            FlowMsg::Tick => {
                if !st.ticking {
                    st.ticking = true;
                    let (flow, ctx, me) = (self.flow.clone(), st.ctx.clone(), myself.clone());
                    st.tasks.spawn(async move {
                        let what = || "its periodic work".to_string();
                        if unless_panics(flow.tick(&ctx), &me, what).await.is_some() {
                            let _ = me.cast(FlowMsg::Ticked);
                        }
                    });
                }
            }
            FlowMsg::Ticked => {
                st.ticking = false;
                while st.tasks.try_join_next().is_some() {}
                // What the tick found is in the store now.
                self.pump(&myself, st).await;
            }
            FlowMsg::Pause => st.paused = true,
            FlowMsg::Resume => {
                st.paused = false;
                self.pump(&myself, st).await;
            }
            FlowMsg::Drain(reply) => {
                // Gathered items are in flight: their batch starts now rather than after linger.
                self.start_batch(&myself, st);
                if st.in_flight == 0 {
                    let _ = reply.send(());
                    st.paused = true;
                } else {
                    st.draining = Some(reply);
                }
            }
            FlowMsg::Status(reply) => {
                let _ = reply.send(FlowStatus {
                    name: st.ctx.name.to_string(),
                    paused: st.paused,
                    draining: st.draining.is_some(),
                    in_flight: st.in_flight,
                    capacity: st.settings.concurrency,
                    ticking: st.ticking,
                    ticks_held: st.ticks_held,
                });
            }
        }
        Ok(())
    }
}

impl<F: Flow> FlowActor<F> {
    /// `n` items are recorded in the store: answer a drain once nothing is left, and take more.
    async fn finished(&self, myself: &ActorRef<FlowMsg>, st: &mut FlowState, n: usize) {
        st.in_flight = st.in_flight.saturating_sub(n);
        while st.tasks.try_join_next().is_some() {}
        if st.in_flight == 0
            && let Some(reply) = st.draining.take()
        {
            let _ = reply.send(());
            // Keep refusing new work until stopped.
            st.paused = true;
        }
        // Claim in batches: wait until half the capacity is free.
        if st.in_flight <= st.settings.concurrency / 2 {
            self.pump(myself, st).await;
        }
    }

    async fn pump(&self, myself: &ActorRef<FlowMsg>, st: &mut FlowState) {
        if st.paused || st.draining.is_some() {
            return;
        }
        match self.flow.batching() {
            None => self.pump_items(myself, st).await,
            Some(batching) => self.pump_batch(myself, st, batching).await,
        }
    }

    /// Up to `room` due items, or none while the store is failing (said once).
    async fn claim(&self, st: &mut FlowState, room: usize) -> Vec<Claimed> {
        match st
            .ctx
            .store
            .claim(&st.ctx.name, room, st.settings.lease)
            .await
        {
            Ok(c) => {
                if std::mem::take(&mut st.claim_failing) {
                    info!(flow = %st.ctx.name, "claiming items again");
                }
                c
            }
            Err(e) => {
                if !std::mem::replace(&mut st.claim_failing, true) {
                    warn!(flow = %st.ctx.name, error = %e, "cannot claim items; retrying at every poll");
                }
                Vec::new()
            }
        }
    }

    async fn pump_items(&self, myself: &ActorRef<FlowMsg>, st: &mut FlowState) {
        if st.in_flight >= st.settings.concurrency {
            return;
        }
        let room = st.settings.concurrency - st.in_flight;
        for item in self.claim(st, room).await {
            st.in_flight += 1;
            let flow = self.flow.clone();
            let ctx = st.ctx.clone();
            let settings = st.settings.clone();
            let me = myself.clone();
            st.tasks.spawn(async move {
                let id = item.item.id;
                let work = flow.process(&item, &ctx);
                let Some(outcome) = unless_panics(work, &me, || format!("item {id}")).await else {
                    return;
                };
                record(&ctx, &settings, &item, outcome).await;
                let _ = me.cast(FlowMsg::Finished { id });
            });
        }
    }

    /// Gathers due items into the next batch: it starts when full, when `linger` has passed
    /// since the first one, or at once when nothing lingers.
    async fn pump_batch(&self, myself: &ActorRef<FlowMsg>, st: &mut FlowState, batching: Batching) {
        if st.batch_running {
            return;
        }
        let room = st.settings.concurrency.saturating_sub(st.gathering.len());
        if room > 0 {
            let claimed = self.claim(st, room).await;
            st.in_flight += claimed.len();
            st.gathering.extend(claimed);
        }
        if st.gathering.is_empty() {
            return;
        }
        if st.gathering.len() >= st.settings.concurrency || batching.linger.is_zero() {
            self.start_batch(myself, st);
        } else if !st.gather_due {
            st.gather_due = true;
            myself.send_after(batching.linger, || FlowMsg::Gather);
        }
    }

    /// Processes the gathered items as one batch, unless one is running or none are gathered.
    fn start_batch(&self, myself: &ActorRef<FlowMsg>, st: &mut FlowState) {
        if st.batch_running || st.gathering.is_empty() {
            return;
        }
        st.batch_running = true;
        let items = std::mem::take(&mut st.gathering);
        let flow = self.flow.clone();
        let ctx = st.ctx.clone();
        let settings = st.settings.clone();
        let me = myself.clone();
        st.tasks.spawn(async move {
            let work = flow.process_batch(&items, &ctx);
            let what = || format!("a batch of {} items", items.len());
            let Some(outcomes) = unless_panics(work, &me, what).await else {
                return;
            };
            let mut outcomes = outcomes.into_iter();
            // One store request per item, all at once: the store commits them together.
            futures::future::join_all(items.iter().map(|item| {
                let outcome = outcomes.next().unwrap_or_else(|| Outcome::Retry {
                    error: "the flow returned no outcome for this item".into(),
                    after: None,
                });
                record(&ctx, &settings, item, outcome)
            }))
            .await;
            let _ = me.cast(FlowMsg::BatchFinished { n: items.len() });
        });
    }
}

/// Records an item's outcome in the store, through the retry policy.
async fn record(ctx: &FlowContext, settings: &FlowSettings, item: &Claimed, outcome: Outcome) {
    let (id, attempt) = (item.item.id, item.attempt());
    let completion = settle(outcome, attempt, settings, now_ms());
    if let Err(e) = ctx.store.complete(id, attempt, completion).await {
        // The lease was lost (the item is someone else's now) or the store is down: either way
        // the item is still safe in the store and will be retried.
        warn!(flow = %ctx.name, item = %id, error = %e, "cannot record the outcome");
    }
}

/// Turns a flow's outcome into what the store records, applying the retry policy.
pub fn settle(outcome: Outcome, attempt: u32, settings: &FlowSettings, now: Millis) -> Completion {
    match outcome {
        Outcome::Done => Completion::Done,
        Outcome::Noted { note } => Completion::Noted { note },
        Outcome::Exception { reason } => Completion::Exception { reason },
        Outcome::Retry { error, .. } if attempt >= settings.max_attempts => Completion::Exception {
            reason: format!("gave up after {attempt} attempts: {error}"),
        },
        Outcome::Retry { error, after } => {
            let delay = after.unwrap_or_else(|| settings.backoff.delay(attempt));
            Completion::Retry {
                at: now + delay.as_millis() as Millis,
                error,
            }
        }
    }
}

/// Runs a flow's code; if it panics, tells the actor (which then fails, so the supervisor
/// restarts it) and returns `None`.
async fn unless_panics<T>(
    work: impl Future<Output = T>,
    me: &ActorRef<FlowMsg>,
    what: impl FnOnce() -> String,
) -> Option<T> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(done) => Some(done),
        Err(panic) => {
            let _ = me.cast(FlowMsg::Panicked {
                what: what(),
                message: panic_message(&*panic),
            });
            None
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_become_exceptions_after_max_attempts() {
        let s = FlowSettings {
            max_attempts: 3,
            ..FlowSettings::default()
        };
        let retry = || Outcome::Retry {
            error: "503".into(),
            after: None,
        };
        assert!(matches!(
            settle(retry(), 2, &s, 0),
            Completion::Retry { .. }
        ));
        assert_eq!(
            settle(retry(), 3, &s, 0),
            Completion::Exception {
                reason: "gave up after 3 attempts: 503".into()
            }
        );
        let after = Outcome::Retry {
            error: "429".into(),
            after: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            settle(after, 1, &s, 1000),
            Completion::Retry {
                at: 8000,
                error: "429".into()
            }
        );
    }
}
