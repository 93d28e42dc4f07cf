//! Requests to the persistence actor; replies travel through `RpcReplyPort`s.

use std::sync::Arc;

use ractor::RpcReplyPort;
use tokio::sync::broadcast;

use super::changes::Changes;
use super::rollups::{Counters, RollupWrite};

use super::db::{PruneStep, Pruned};
use super::jobs::{BulkJob, JobId, JobSpec};
use super::{ItemFilter, StoreError, StoreStats};
use crate::item::{
    AuditEntry, Claimed, Completion, Enqueued, HistoryEntry, Item, ItemId, Millis, NewItem,
    OperatorAction,
};

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
    /// Makes retrying items whose last error starts with `prefix` due now (see
    /// `ItemDb::wake`); replies with how many flows got due work.
    Wake {
        prefix: String,
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
    /// One bounded step of retiring finished work (an operator's prune; the store also runs
    /// its own on a schedule).
    Prune {
        step: PruneStep,
        reply: Reply<Pruned>,
    },
    AuditLog(usize, Reply<Vec<AuditEntry>>),
    /// Stores a new bulk job as running, audited.
    CreateJob(JobSpec, Reply<BulkJob>),
    /// One page of a bulk job, written with the job's progress (see `ItemDb::job_step`).
    JobStep {
        id: JobId,
        budget: usize,
        reply: Reply<BulkJob>,
    },
    CancelJob {
        id: JobId,
        who: String,
        reply: Reply<BulkJob>,
    },
    /// Ends a job that cannot go on, with the reason.
    FailJob {
        id: JobId,
        error: String,
        reply: Reply<BulkJob>,
    },
    Job(JobId, Reply<Option<BulkJob>>),
    /// The newest jobs, newest first.
    Jobs(usize, Reply<Vec<BulkJob>>),
    /// Jobs still running, oldest first.
    RunningJobs(Reply<Vec<BulkJob>>),
    /// Asks the store to nudge `flow` whenever it has new due work, so items start within
    /// milliseconds instead of at the flow's next poll.
    Subscribe {
        flow: String,
        waker: Waker,
    },
    /// Counts these in the report rollups (see [`super::rollups`]). Without a reply, the
    /// sender does not wait: an error is logged, and its next write tells it the store failed.
    Rollup {
        writes: Vec<RollupWrite>,
        reply: Option<Reply<bool>>,
    },
    /// The rollup buckets named, each as stored.
    RollupGet {
        buckets: Vec<String>,
        reply: Reply<Vec<Option<Counters>>>,
    },
    /// The rollup buckets from `from` to `to`.
    RollupRange {
        from: String,
        to: String,
        reply: Reply<Vec<(String, Counters)>>,
    },
    /// A feed of what every committed group changed, for live views.
    WatchChanges(RpcReplyPort<broadcast::Receiver<Arc<Changes>>>),
}

impl StoreMsg {
    /// Writes nothing: answered even while the disk is too full to write.
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            StoreMsg::Get(..)
                | StoreMsg::History(..)
                | StoreMsg::List { .. }
                | StoreMsg::Stats(_)
                | StoreMsg::Cursor { .. }
                | StoreMsg::Mappings { .. }
                | StoreMsg::AuditLog(..)
                | StoreMsg::Job(..)
                | StoreMsg::Jobs(..)
                | StoreMsg::RunningJobs(_)
                | StoreMsg::Subscribe { .. }
                | StoreMsg::WatchChanges(_)
                | StoreMsg::RollupRange { .. }
                | StoreMsg::RollupGet { .. }
                | StoreMsg::Prune {
                    step: PruneStep { dry: true, .. },
                    ..
                }
        )
    }
}

/// How the store tells a flow it has new due work. A callback rather than the flow's actor
/// reference, so that the store does not depend on the flow framework.
pub struct Waker(Box<dyn Fn() + Send + Sync>);

impl Waker {
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Waker {
        Waker(Box::new(wake))
    }

    pub fn wake(&self) {
        (self.0)()
    }
}
