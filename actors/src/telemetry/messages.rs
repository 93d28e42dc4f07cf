//! Messages to the telemetry actor.

use ractor::RpcReplyPort;

use super::Snapshot;

/// Messages to the telemetry actor: counters in, snapshots out.
pub enum TelemetryMsg {
    /// Poll the store and roll the rates forward.
    Tick,
    /// A flow counted an event.
    Counted {
        flow: String,
        event: &'static str,
        n: u64,
    },
    Restarted {
        actor: String,
    },
    Snapshot(RpcReplyPort<Snapshot>),
}
