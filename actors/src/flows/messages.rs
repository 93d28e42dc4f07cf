//! Messages to a flow actor, and what it reports about itself.

use ractor::RpcReplyPort;
use serde::{Deserialize, Serialize};

use crate::item::ItemId;

/// Messages to a flow actor.
pub enum FlowMsg {
    /// Claim due items if there is capacity.
    Pump,
    /// A processing task finished and recorded its completion in the store.
    Finished {
        id: ItemId,
    },
    /// A batching flow's linger passed: start the batch with what is gathered.
    Gather,
    /// A batch finished and its `n` items' completions are recorded in the store.
    BatchFinished {
        n: usize,
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
    /// The flow's periodic work is running.
    #[serde(default)]
    pub ticking: bool,
    /// Periodic runs let pass because the flow was paused or draining (since it last started).
    #[serde(default)]
    pub ticks_held: u64,
}
