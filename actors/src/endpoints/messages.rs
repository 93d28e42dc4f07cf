//! Messages to the endpoints actor (delivery to the back office).

use ractor::RpcReplyPort;

use super::EndpointStatus;
use crate::item::{Millis, Outcome};

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
        since: Millis,
        reply: RpcReplyPort<Outcome>,
    },
    /// A delivery task finished; updates the endpoint's breaker and counters.
    Finished {
        endpoint: String,
        outcome: Outcome,
    },
    Status(RpcReplyPort<Vec<EndpointStatus>>),
}
