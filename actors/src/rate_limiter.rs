//! The rate limiter: one actor per shop that decides when the next Shopify call may go out,
//! so that the daemon runs near Shopify's restore rate and is (almost) never throttled.
//!
//! **The model.** Shopify meters each app on each shop with a leaky bucket of query-cost
//! points. The limiter keeps a model of it: `available` points out of `maximum`, refilled at
//! `restore_rate` points per second. It never hard-codes the bucket: until the first response
//! it assumes a small one ([`RateLimiterConfig::default`]: 100 points, 50/s), then every
//! response's `extensions.cost.throttleStatus` (throttled ones too) resets the model to what
//! Shopify reported, minus what we granted after that request and have not yet heard back
//! about (Shopify cannot have counted those). Between observations it refills at the restore
//! rate. Responses can arrive out of order; only an observation newer (by grant order) than the
//! last one applied moves the level, older ones only teach bucket size, rate and costs.
//!
//! **Grants.** Before every call the client asks for a [`Grant`] with an expected cost: the
//! `requestedQueryCost` Shopify last reported for the same cost key (operation and page sizes),
//! or the caller's estimate before the first response. The reply is held (its `RpcReplyPort`
//! stored) until the model can pay; then the cost is debited and the reply sent. When the next
//! request cannot be paid, one timer (`send_after`) wakes the actor when refill will suffice:
//! no polling. A cost larger than the whole bucket is granted once the bucket is full (and
//! debits the bucket empty), so it cannot wait forever; Shopify then reports the real size.
//!
//! **Priorities.** [`Lane`]s, highest first: Operator > Orders > Customers > Inventory >
//! Products > Reporting. Within a lane, first come first served, and the head of the chosen lane waits
//! for its cost even if a cheaper request behind it could go (no overtaking, so big requests
//! are not starved by small ones). **Minimum share:** every waiting lane counts the grants
//! that went to other lanes since it last got one; once that count reaches `fair_every`
//! (default 4), that lane goes next (the most passed-over first, ties to the higher lane). So
//! under any sustained load a waiting lane gets at least one grant in every `fair_every + k`
//! (k = the number of other starving lanes), e.g. ≥ 1 in 5 for Reporting against Orders alone.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, MessagingErr, RpcReplyPort};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::debug;

/// `extensions.cost` of a response.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCost {
    /// What the query could cost at most; checked against the bucket before execution.
    #[serde(default)]
    pub requested_query_cost: Option<f64>,
    /// What it did cost; `null` when throttled.
    #[serde(default)]
    pub actual_query_cost: Option<f64>,
    #[serde(default)]
    pub throttle_status: Option<ThrottleStatus>,
}

/// The bucket as Shopify saw it when it answered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

/// Messages to the rate limiter (one per shop).
pub enum RateLimiterMsg {
    /// Permission to send a request; answered when the modelled bucket can pay for it.
    Grant {
        lane: Lane,
        /// The cost key: the limiter remembers Shopify's `requestedQueryCost` under it.
        key: String,
        /// The expected cost until Shopify has priced `key` once.
        estimate: f64,
        reply: RpcReplyPort<Grant>,
    },
    /// What came of a granted request: Shopify's cost report, if any.
    Observe(Observation),
    /// The timer: refill should now pay for the next waiting grant.
    Wake,
    Stats(RpcReplyPort<RateLimiterStats>),
}

/// Who is asking, in priority order (highest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    /// An operator waiting at a terminal.
    Operator,
    /// Orders, fulfillments, returns: customers are waiting for their parcels.
    Orders,
    /// Customers.
    Customers,
    /// Stock levels. Below customers (one write each, a person may be waiting) because stock
    /// feeds are the biggest spender of the budget and are batched: a batch waiting a little
    /// longer costs less than a customer update waiting behind 250 quantities. Above products,
    /// because stale stock oversells while a stale description does not.
    Inventory,
    /// The product catalogue.
    Products,
    /// Reports and reconciliation that can wait.
    Reporting,
}

impl Lane {
    pub const ALL: [Lane; 6] = [
        Lane::Operator,
        Lane::Orders,
        Lane::Customers,
        Lane::Inventory,
        Lane::Products,
        Lane::Reporting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Operator => "operator",
            Lane::Orders => "orders",
            Lane::Customers => "customers",
            Lane::Inventory => "inventory",
            Lane::Products => "products",
            Lane::Reporting => "reporting",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimiterConfig {
    /// The bucket size assumed until Shopify reports one.
    pub initial_maximum: f64,
    /// The restore rate (points/s) assumed until Shopify reports one.
    pub initial_restore_rate: f64,
    /// A waiting lane passed over this many times goes next (see the module docs).
    pub fair_every: u32,
}

impl Default for RateLimiterConfig {
    /// Conservative: smaller than any real plan, so the first requests cannot be throttled;
    /// the first response replaces both numbers.
    fn default() -> Self {
        RateLimiterConfig {
            initial_maximum: 100.0,
            initial_restore_rate: 50.0,
            fair_every: 4,
        }
    }
}

/// Permission to send one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// Grants are numbered in the order given; report the outcome under this number.
    pub ticket: u64,
    pub lane: Lane,
    /// The points debited from the model.
    pub cost: f64,
    /// The modelled bucket right after the debit (never negative).
    pub available_after: f64,
    /// How long the request waited for its grant.
    pub waited: Duration,
}

/// What came of a granted request.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub ticket: u64,
    /// The cost key the grant was asked under, to learn the requested cost.
    pub key: String,
    /// `extensions.cost`, when the response had one (not on transport errors, rarely on 5xx).
    pub cost: Option<QueryCost>,
    /// Shopify answered THROTTLED.
    pub throttled: bool,
}

/// The limiter as telemetry sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimiterStats {
    /// The modelled points available now (negative while granted requests are unaccounted).
    pub available: f64,
    pub maximum: f64,
    pub restore_rate: f64,
    /// Whether the model has seen a throttle status from Shopify yet.
    pub learned: bool,
    /// Points Shopify charged (`actualQueryCost`) per second over the last 10 seconds.
    pub points_per_second: f64,
    /// `points_per_second / restore_rate`: 1.0 is running at the sustainable maximum.
    pub utilisation: f64,
    /// Requests waiting for a grant, per lane.
    pub waiting: BTreeMap<Lane, u64>,
    /// Grants given since start, per lane.
    pub granted: BTreeMap<Lane, u64>,
    /// Granted requests not yet reported back.
    pub in_flight: u64,
    /// THROTTLED answers since start (the goal is 0).
    pub throttled: u64,
    /// Points Shopify charged since start.
    pub points_spent: f64,
    /// Of them, per lane (a grant forgotten before its answer came is in the total only).
    #[serde(default)]
    pub points_by_lane: BTreeMap<Lane, f64>,
}

/// The typed client of the limiter. It names the actor rather than holding a reference, so it
/// keeps working after the supervisor restarts the limiter under the same name.
#[derive(Clone)]
pub struct RateLimiterHandle {
    name: Arc<str>,
}

impl fmt::Debug for RateLimiterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RateLimiterHandle({})", self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("no grant within {0:?}")]
    Timeout(Duration),
    #[error("the rate limiter is not running")]
    Unavailable,
}

impl RateLimiterHandle {
    /// A handle on the limiter registered as `name`.
    pub fn named(name: impl Into<Arc<str>>) -> RateLimiterHandle {
        RateLimiterHandle { name: name.into() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limiter currently registered under the handle's name.
    pub fn actor(&self) -> Option<ActorRef<RateLimiterMsg>> {
        ActorRef::where_is(&*self.name)
    }

    /// Waits up to `timeout` for permission to send a request expected to cost `estimate`
    /// (unless Shopify already priced `key`).
    pub async fn grant(
        &self,
        lane: Lane,
        key: &str,
        estimate: f64,
        timeout: Duration,
    ) -> Result<Grant, GrantError> {
        let actor = self.actor().ok_or(GrantError::Unavailable)?;
        let key = key.to_string();
        match actor
            .call(
                |reply| RateLimiterMsg::Grant {
                    lane,
                    key,
                    estimate,
                    reply,
                },
                Some(timeout),
            )
            .await
        {
            Ok(CallResult::Success(grant)) => Ok(grant),
            Ok(CallResult::Timeout) => Err(GrantError::Timeout(timeout)),
            Ok(CallResult::SenderError) | Err(_) => Err(GrantError::Unavailable),
        }
    }

    /// Reports what came of a granted request (fire and forget).
    pub fn observe(&self, observation: Observation) {
        if let Some(actor) = self.actor() {
            let _ = actor.cast(RateLimiterMsg::Observe(observation));
        }
    }

    pub async fn stats(&self) -> Option<RateLimiterStats> {
        let actor = self.actor()?;
        match actor
            .call(RateLimiterMsg::Stats, Some(Duration::from_secs(2)))
            .await
        {
            Ok(CallResult::Success(s)) => Some(s),
            _ => None,
        }
    }
}

/// The window over which `points_per_second` is averaged.
const WINDOW: Duration = Duration::from_secs(10);
/// Granted requests never reported back (their caller vanished) are forgotten after this.
const FORGET_AFTER: Duration = Duration::from_secs(600);

pub struct RateLimiter;

struct Waiting {
    key: String,
    estimate: f64,
    reply: RpcReplyPort<Grant>,
    since: Instant,
}

struct Bucket {
    available: f64,
    maximum: f64,
    restore_rate: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        if self.available < self.maximum {
            self.available = (self.available + elapsed * self.restore_rate).min(self.maximum);
        }
        self.at = now;
    }

    /// How long until `cost` points are available.
    fn wait_for(&self, cost: f64) -> Duration {
        let missing = (cost - self.available).max(0.0);
        // Rounded up by a millisecond so that the wake finds enough, not 99.9999%.
        Duration::from_secs_f64(missing / self.restore_rate.max(0.001)) + Duration::from_millis(1)
    }
}

pub struct RateLimiterState {
    config: RateLimiterConfig,
    bucket: Bucket,
    learned: bool,
    queues: [VecDeque<Waiting>; Lane::ALL.len()],
    /// Per lane: grants to other lanes since this lane's last grant, while it waited.
    passed: [u32; Lane::ALL.len()],
    next_ticket: u64,
    /// Granted, not yet observed: ticket → (points debited, when).
    outstanding: BTreeMap<u64, (f64, Instant, Lane)>,
    /// The newest ticket whose observation set the level.
    applied: u64,
    /// The requested cost Shopify last reported per cost key.
    costs: HashMap<String, f64>,
    /// The one pending wake-up, re-armed whenever the head of the queue changes.
    timer: Option<JoinHandle<Result<(), MessagingErr<RateLimiterMsg>>>>,
    spent: VecDeque<(Instant, f64)>,
    started: Instant,
    stats: RateLimiterStats,
}

impl Actor for RateLimiter {
    type Msg = RateLimiterMsg;
    type State = RateLimiterState;
    type Arguments = RateLimiterConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<RateLimiterMsg>,
        config: RateLimiterConfig,
    ) -> Result<RateLimiterState, ActorProcessingErr> {
        let now = Instant::now();
        // Tickets continue above any a predecessor (before a restart) can have handed out, so
        // that late reports from calls it granted are recognised as old: they still teach
        // bucket size, rate and costs, but do not set the level.
        let first_ticket = crate::item::now_ms().saturating_mul(1000).max(1);
        Ok(RateLimiterState {
            bucket: Bucket {
                available: config.initial_maximum,
                maximum: config.initial_maximum,
                restore_rate: config.initial_restore_rate,
                at: now,
            },
            config,
            learned: false,
            queues: Default::default(),
            passed: [0; Lane::ALL.len()],
            next_ticket: first_ticket,
            outstanding: BTreeMap::new(),
            applied: first_ticket - 1,
            costs: HashMap::new(),
            timer: None,
            spent: VecDeque::new(),
            started: now,
            stats: RateLimiterStats::default(),
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<RateLimiterMsg>,
        st: &mut RateLimiterState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(timer) = st.timer.take() {
            timer.abort();
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<RateLimiterMsg>,
        msg: RateLimiterMsg,
        st: &mut RateLimiterState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RateLimiterMsg::Grant {
                lane,
                key,
                estimate,
                reply,
            } => {
                st.queues[lane.index()].push_back(Waiting {
                    key,
                    estimate,
                    reply,
                    since: Instant::now(),
                });
                st.dispatch(&myself);
            }
            RateLimiterMsg::Observe(observation) => {
                st.observe(observation);
                st.dispatch(&myself);
            }
            RateLimiterMsg::Wake => {
                st.timer = None;
                st.dispatch(&myself);
            }
            RateLimiterMsg::Stats(reply) => {
                let _ = reply.send(st.snapshot());
            }
        }
        Ok(())
    }
}

impl RateLimiterState {
    /// Grants what the model can pay, in lane order; arms the timer for the rest.
    fn dispatch(&mut self, myself: &ActorRef<RateLimiterMsg>) {
        for (lane, queue) in self.queues.iter_mut().enumerate() {
            // Callers that gave up (timed out) no longer wait.
            queue.retain(|w| !w.reply.is_closed());
            if queue.is_empty() {
                self.passed[lane] = 0;
            }
        }
        loop {
            let Some(lane) = self.pick() else {
                self.disarm();
                return;
            };
            let now = Instant::now();
            self.bucket.refill(now);
            let Some(head) = self.queues[lane].front() else {
                return;
            };
            let cost = self
                .costs
                .get(&head.key)
                .copied()
                .unwrap_or(head.estimate)
                .max(0.0)
                .min(self.bucket.maximum);
            if self.bucket.available < cost {
                let wait = self.bucket.wait_for(cost);
                self.arm(myself, wait);
                return;
            }
            let Some(waiting) = self.queues[lane].pop_front() else {
                return;
            };
            self.bucket.available -= cost;
            let ticket = self.next_ticket;
            self.next_ticket += 1;
            let grant = Grant {
                ticket,
                lane: Lane::ALL[lane],
                cost,
                available_after: self.bucket.available,
                waited: now.saturating_duration_since(waiting.since),
            };
            if waiting.reply.send(grant).is_err() {
                // The caller left between the check and now: nothing was spent.
                self.bucket.available += cost;
                continue;
            }
            self.outstanding
                .insert(ticket, (cost, now, Lane::ALL[lane]));
            *self.stats.granted.entry(Lane::ALL[lane]).or_default() += 1;
            self.passed[lane] = 0;
            for (other, queue) in self.queues.iter().enumerate() {
                if other != lane && !queue.is_empty() {
                    self.passed[other] += 1;
                }
            }
            if self.queues[lane].is_empty() {
                self.passed[lane] = 0;
            }
        }
    }

    /// The lane whose head goes next: a starving lane (passed over `fair_every` times; the
    /// most passed-over first), else the highest lane with anyone waiting.
    fn pick(&self) -> Option<usize> {
        let waiting = || (0..self.queues.len()).filter(|&l| !self.queues[l].is_empty());
        let starving = waiting()
            .filter(|&l| self.passed[l] >= self.config.fair_every.max(1))
            // max_by_key keeps the last maximum; iterate from the lowest lane so that ties
            // go to the higher one.
            .rev()
            .max_by_key(|&l| self.passed[l]);
        starving.or_else(|| waiting().next())
    }

    fn arm(&mut self, myself: &ActorRef<RateLimiterMsg>, wait: Duration) {
        self.disarm();
        self.timer = Some(myself.send_after(wait, || RateLimiterMsg::Wake));
    }

    fn disarm(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
    }

    fn observe(&mut self, o: Observation) {
        let now = Instant::now();
        let lane = self.outstanding.remove(&o.ticket).map(|(_, _, lane)| lane);
        self.outstanding
            .retain(|_, (_, at, _)| now.saturating_duration_since(*at) < FORGET_AFTER);
        if o.throttled {
            self.stats.throttled += 1;
        }
        let Some(cost) = o.cost else {
            return;
        };
        if let Some(requested) = cost.requested_query_cost {
            self.costs.insert(o.key, requested);
        }
        if let Some(actual) = cost.actual_query_cost {
            self.spent.push_back((now, actual));
            self.stats.points_spent += actual;
            if let Some(lane) = lane {
                *self.stats.points_by_lane.entry(lane).or_default() += actual;
            }
        }
        let Some(status) = cost.throttle_status else {
            return;
        };
        self.bucket.refill(now);
        self.bucket.maximum = status.maximum_available.max(1.0);
        self.bucket.restore_rate = status.restore_rate.max(0.001);
        self.learned = true;
        if o.ticket > self.applied {
            // Requests still unanswered may not have reached Shopify when it answered this one
            // (concurrent requests arrive in any order), so all of them count as unseen. If
            // Shopify had in fact charged some, the model is briefly too low, never too high:
            // a later answer corrects it, and nothing is throttled meanwhile.
            let unseen: f64 = self.outstanding.values().map(|(c, _, _)| c).sum();
            self.applied = o.ticket;
            self.bucket.available = (status.currently_available - unseen)
                .min(self.bucket.maximum)
                .max(-self.bucket.maximum);
            debug!(
                available = self.bucket.available,
                reported = status.currently_available,
                unseen,
                "rate model follows Shopify"
            );
        } else {
            self.bucket.available = self.bucket.available.min(self.bucket.maximum);
        }
    }

    fn snapshot(&mut self) -> RateLimiterStats {
        let now = Instant::now();
        self.bucket.refill(now);
        while self
            .spent
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > WINDOW)
        {
            self.spent.pop_front();
        }
        let span = now
            .saturating_duration_since(self.started)
            .min(WINDOW)
            .as_secs_f64()
            .max(1.0);
        // A fold from +0.0: an empty float `sum` is -0.0, which would print as "-0".
        let points_per_second = self.spent.iter().fold(0.0, |acc, (_, c)| acc + c) / span;
        let mut stats = self.stats.clone();
        stats.available = self.bucket.available;
        stats.maximum = self.bucket.maximum;
        stats.restore_rate = self.bucket.restore_rate;
        stats.learned = self.learned;
        stats.points_per_second = points_per_second;
        stats.utilisation = points_per_second / self.bucket.restore_rate;
        stats.waiting = Lane::ALL
            .iter()
            .map(|l| (*l, self.queues[l.index()].len() as u64))
            .collect();
        for lane in Lane::ALL {
            stats.granted.entry(lane).or_default();
        }
        stats.in_flight = self.outstanding.len() as u64;
        stats
    }
}
