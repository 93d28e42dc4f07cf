//! The typed client of the store: the only way other actors and the binary talk to it.

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorRef, RpcReplyPort};

use super::changes::Changes;
use super::jobs::{BulkJob, JobId, JobSpec};
use super::messages::{StoreMsg, Waker};
use super::rollups::{Contribution, Counters, RollupWrite};
use super::{ItemFilter, PruneStep, Pruned, StoreError, StoreStats};
use crate::item::{
    AuditEntry, Claimed, Completion, Enqueued, HistoryEntry, Item, ItemId, Millis, NewItem,
    OperatorAction,
};

#[derive(Clone)]
pub struct StoreHandle {
    actor: ActorRef<StoreMsg>,
    /// How long a caller waits for a reply; generous, because a reply waits for an fsync.
    timeout: Duration,
}

impl StoreHandle {
    pub fn new(actor: ActorRef<StoreMsg>) -> StoreHandle {
        StoreHandle {
            actor,
            timeout: Duration::from_secs(30),
        }
    }

    pub fn actor(&self) -> &ActorRef<StoreMsg> {
        &self.actor
    }

    async fn request<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<Result<T, StoreError>>) -> StoreMsg,
    ) -> Result<T, StoreError> {
        match self.actor.call(build, Some(self.timeout)).await {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(StoreError::Timeout(self.timeout)),
            Ok(CallResult::SenderError) | Err(_) => Err(StoreError::Unavailable),
        }
    }

    /// Stores the items durably; a dedupe key seen before returns the first item's id.
    pub async fn enqueue(&self, items: Vec<NewItem>) -> Result<Vec<Enqueued>, StoreError> {
        self.request(|reply| StoreMsg::Enqueue(items, reply)).await
    }

    pub async fn claim(
        &self,
        flow: &str,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        let (flow, lease) = (flow.to_string(), lease.as_millis() as Millis);
        self.request(|reply| StoreMsg::Claim {
            flow,
            max,
            lease,
            reply,
        })
        .await
    }

    pub async fn complete(
        &self,
        id: ItemId,
        attempt: u32,
        completion: Completion,
    ) -> Result<Item, StoreError> {
        self.request(|reply| StoreMsg::Complete {
            id,
            attempt,
            completion,
            reply,
        })
        .await
    }

    pub async fn operate(
        &self,
        id: ItemId,
        action: OperatorAction,
        who: &str,
        note: Option<String>,
    ) -> Result<Item, StoreError> {
        let who = who.to_string();
        self.request(|reply| StoreMsg::Operate {
            id,
            action,
            who,
            note,
            reply,
        })
        .await
    }

    pub async fn release(&self, flow: &str) -> Result<usize, StoreError> {
        let flow = flow.to_string();
        self.request(|reply| StoreMsg::Release { flow, reply })
            .await
    }

    /// Makes retrying items whose last error starts with `prefix` due now.
    pub async fn wake(&self, prefix: &str) -> Result<usize, StoreError> {
        let prefix = prefix.to_string();
        self.request(|reply| StoreMsg::Wake { prefix, reply }).await
    }

    pub async fn get(&self, id: ItemId) -> Result<Option<(Item, Vec<u8>)>, StoreError> {
        self.request(|reply| StoreMsg::Get(id, reply)).await
    }

    pub async fn history(&self, id: ItemId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.request(|reply| StoreMsg::History(id, reply)).await
    }

    pub async fn list(
        &self,
        filter: ItemFilter,
        after: Option<ItemId>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        self.request(|reply| StoreMsg::List {
            filter,
            after,
            limit,
            reply,
        })
        .await
    }

    pub async fn stats(&self) -> Result<StoreStats, StoreError> {
        self.request(StoreMsg::Stats).await
    }

    pub async fn cursor(&self, flow: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (flow, name) = (flow.to_string(), name.to_string());
        self.request(|reply| StoreMsg::Cursor { flow, name, reply })
            .await
    }

    pub async fn set_cursor(
        &self,
        flow: &str,
        name: &str,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        let (flow, name) = (flow.to_string(), name.to_string());
        self.request(|reply| StoreMsg::SetCursor {
            flow,
            name,
            value,
            reply,
        })
        .await
    }

    pub async fn mappings(
        &self,
        namespace: &str,
        keys: Vec<String>,
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let namespace = namespace.to_string();
        self.request(|reply| StoreMsg::Mappings {
            namespace,
            keys,
            reply,
        })
        .await
    }

    pub async fn set_mappings(
        &self,
        namespace: &str,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let namespace = namespace.to_string();
        self.request(|reply| StoreMsg::SetMappings {
            namespace,
            pairs,
            reply,
        })
        .await
    }

    pub async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.request(|reply| StoreMsg::Audit(entry, reply)).await
    }

    pub async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.request(|reply| StoreMsg::AuditLog(limit, reply)).await
    }

    /// Stores a new bulk job (running) and audits its start; [`crate::jobs::Jobs`] runs it.
    pub async fn create_job(&self, spec: JobSpec) -> Result<BulkJob, StoreError> {
        self.request(|reply| StoreMsg::CreateJob(spec, reply)).await
    }

    /// Acts on the next `budget` items of a running job, durably with its progress.
    pub async fn job_step(&self, id: JobId, budget: usize) -> Result<BulkJob, StoreError> {
        self.request(|reply| StoreMsg::JobStep { id, budget, reply })
            .await
    }

    pub async fn cancel_job(&self, id: JobId, who: &str) -> Result<BulkJob, StoreError> {
        let who = who.to_string();
        self.request(|reply| StoreMsg::CancelJob { id, who, reply })
            .await
    }

    pub async fn fail_job(&self, id: JobId, error: String) -> Result<BulkJob, StoreError> {
        self.request(|reply| StoreMsg::FailJob { id, error, reply })
            .await
    }

    pub async fn job(&self, id: JobId) -> Result<Option<BulkJob>, StoreError> {
        self.request(|reply| StoreMsg::Job(id, reply)).await
    }

    /// The newest `limit` jobs, newest first.
    pub async fn jobs(&self, limit: usize) -> Result<Vec<BulkJob>, StoreError> {
        self.request(|reply| StoreMsg::Jobs(limit, reply)).await
    }

    pub async fn running_jobs(&self) -> Result<Vec<BulkJob>, StoreError> {
        self.request(StoreMsg::RunningJobs).await
    }

    /// One bounded step of retiring finished work.
    pub async fn prune(&self, step: PruneStep) -> Result<Pruned, StoreError> {
        self.request(|reply| StoreMsg::Prune { step, reply }).await
    }

    /// Makes `entity` count as `contribution` in the report rollups; true if a bucket changed.
    pub async fn rollup(
        &self,
        entity: &str,
        contribution: Contribution,
    ) -> Result<bool, StoreError> {
        let entity = entity.to_string();
        self.rollup_writes(vec![RollupWrite::Count {
            entity,
            contribution,
        }])
        .await
    }

    /// Counts `writes` in the report rollups; true if a bucket may change.
    pub async fn rollup_writes(&self, writes: Vec<RollupWrite>) -> Result<bool, StoreError> {
        if writes.is_empty() {
            return Ok(false);
        }
        self.request(|reply| StoreMsg::Rollup {
            writes,
            reply: Some(reply),
        })
        .await
    }

    /// Counts `writes` in the report rollups without waiting for the store: a flow's hot path,
    /// where a round trip per item would cost as much as the count. The count is journaled
    /// ahead of every write the sender makes after its next reply from the store (so a flow
    /// that writes for an item, as the orders flow saves its record, completes the item after
    /// the count; see the store writer's `apply_group`). If the store cannot take it, those
    /// writes fail too and the item is retried, counting again.
    pub fn count(&self, writes: Vec<RollupWrite>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.actor
            .cast(StoreMsg::Rollup {
                writes,
                reply: None,
            })
            .map_err(|_| StoreError::Unavailable)
    }

    /// The rollup buckets named, each as stored (`None` where nothing is).
    pub async fn rollup_get(
        &self,
        buckets: Vec<String>,
    ) -> Result<Vec<Option<Counters>>, StoreError> {
        self.request(|reply| StoreMsg::RollupGet { buckets, reply })
            .await
    }

    /// The rollup buckets from `from` to `to` (a prefix: every bucket starting with it is in).
    pub async fn rollup_range(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, Counters)>, StoreError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.request(|reply| StoreMsg::RollupRange { from, to, reply })
            .await
    }

    /// What every committed write changes from now on, each notice sent once it is durable.
    pub async fn watch_changes(
        &self,
    ) -> Result<tokio::sync::broadcast::Receiver<std::sync::Arc<Changes>>, StoreError> {
        match self
            .actor
            .call(StoreMsg::WatchChanges, Some(self.timeout))
            .await
        {
            Ok(CallResult::Success(rx)) => Ok(rx),
            Ok(CallResult::Timeout) => Err(StoreError::Timeout(self.timeout)),
            Ok(CallResult::SenderError) | Err(_) => Err(StoreError::Unavailable),
        }
    }

    /// Asks the store to call `waker` whenever `flow` has new due work, so items start within
    /// milliseconds instead of at the flow's next poll.
    pub fn subscribe(&self, flow: &str, waker: Waker) {
        let _ = self.actor.cast(StoreMsg::Subscribe {
            flow: flow.to_string(),
            waker,
        });
    }
}
