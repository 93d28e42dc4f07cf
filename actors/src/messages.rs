//! Every message the actors exchange, in one place. Each actor has one enum; replies travel
//! through `RpcReplyPort`s. Nobody shares mutable state with anybody else.

use std::collections::BTreeMap;
use std::time::Duration;

use ractor::{ActorRef, RpcReplyPort};
use serde::{Deserialize, Serialize};

use crate::item::{
    AuditEntry, Claimed, Completion, Enqueued, HistoryEntry, Item, ItemId, ItemState, Millis,
    NewItem, OperatorAction,
};
use crate::rate_limiter::{Grant, Lane, Observation, RateLimiterStats};
use crate::shopify::ShopifyHandle;
use crate::shopify::client::Call;
use crate::shopify::error::ShopifyError;
use crate::store::{ItemFilter, StoreError, StoreHandle, StoreStats};

pub type Reply<T> = RpcReplyPort<Result<T, StoreError>>;

/// Requests to the persistence actor. Every write is durable (fsync'd) before its reply.
pub enum StoreMsg {
    Enqueue(Vec<NewItem>, Reply<Vec<Enqueued>>),
    Claim {
        flow: String,
        max: usize,
        lease: Millis,
        reply: Reply<Vec<Claimed>>,
    },
    Complete {
        id: ItemId,
        attempt: u32,
        completion: Completion,
        reply: Reply<Item>,
    },
    Operate {
        id: ItemId,
        action: OperatorAction,
        who: String,
        note: Option<String>,
        reply: Reply<Item>,
    },
    /// Makes the in-flight items of a flow due now (its actor stopped or was restarted).
    Release {
        flow: String,
        reply: Reply<usize>,
    },
    Get(ItemId, Reply<Option<(Item, Vec<u8>)>>),
    History(ItemId, Reply<Vec<HistoryEntry>>),
    List {
        filter: ItemFilter,
        after: Option<ItemId>,
        limit: usize,
        reply: Reply<Vec<Item>>,
    },
    Stats(Reply<StoreStats>),
    Cursor {
        flow: String,
        name: String,
        reply: Reply<Option<Vec<u8>>>,
    },
    SetCursor {
        flow: String,
        name: String,
        value: Vec<u8>,
        reply: Reply<()>,
    },
    Mappings {
        namespace: String,
        keys: Vec<String>,
        reply: Reply<Vec<Option<Vec<u8>>>>,
    },
    SetMappings {
        namespace: String,
        pairs: Vec<(String, Vec<u8>)>,
        reply: Reply<()>,
    },
    Audit(AuditEntry, Reply<()>),
    AuditLog(usize, Reply<Vec<AuditEntry>>),
    /// Asks the store to nudge `flow` whenever it has new due work, so items start within
    /// milliseconds instead of at the flow's next poll.
    Subscribe {
        flow: String,
        actor: ActorRef<FlowMsg>,
    },
}

/// Messages to a flow actor.
pub enum FlowMsg {
    /// Claim due items if there is capacity.
    Pump,
    /// A processing task finished and recorded its completion in the store.
    Finished {
        id: ItemId,
    },
    /// A processing task panicked (`what`: "item 17", "tick"): the actor fails so that the
    /// supervisor restarts it and the store releases what it held.
    Panicked {
        what: String,
        message: String,
    },
    /// Run the flow's periodic work, unless it is already running.
    Tick,
    /// The periodic work finished.
    Ticked,
    Pause,
    Resume,
    /// Stop claiming; reply once nothing is in flight.
    Drain(RpcReplyPort<()>),
    Status(RpcReplyPort<FlowStatus>),
}

/// What a flow actor reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStatus {
    pub name: String,
    pub paused: bool,
    pub draining: bool,
    pub in_flight: usize,
    pub capacity: usize,
}

/// Messages to the endpoints actor (delivery to the back office).
pub enum EndpointMsg {
    /// Deliver `body` to `endpoint` with `key` as the idempotency key; the reply is the
    /// outcome for the flow's retry policy.
    Deliver {
        endpoint: String,
        key: String,
        body: Vec<u8>,
        /// Which attempt this is and when the first was made: past the endpoint's
        /// `max_attempts` or `max_age`, a transient failure becomes an exception.
        attempt: u32,
        since: crate::item::Millis,
        reply: RpcReplyPort<crate::flows::Outcome>,
    },
    /// A delivery task finished; updates the endpoint's breaker and counters.
    Finished {
        endpoint: String,
        outcome: crate::flows::Outcome,
    },
    Status(RpcReplyPort<Vec<crate::endpoints::EndpointStatus>>),
}

/// Messages to the telemetry actor: counters in, snapshots out.
pub enum TelemetryMsg {
    /// Poll the store and roll the rates forward.
    Tick,
    Restarted {
        actor: String,
    },
    Snapshot(RpcReplyPort<crate::telemetry::Snapshot>),
}

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

/// The state of a stored item, as counted per flow.
pub type StateCounts = BTreeMap<(String, ItemState), u64>;

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

/// Messages to the Shopify client actor.
pub enum ShopifyMsg {
    /// Run one GraphQL call (grant, POST, retries) in a task of the actor; the reply carries
    /// the response's `data`.
    Execute {
        call: Call,
        reply: RpcReplyPort<Result<serde_json::Value, ShopifyError>>,
    },
    /// A call task finished.
    Finished,
}
