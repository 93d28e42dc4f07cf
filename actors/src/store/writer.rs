//! Group commit: one thread owns the [`ItemDb`], takes every request that queued up while the
//! previous fsync ran, applies them in order, fsyncs once, and only then replies to all of them.
//! Under load a group grows to match the writers, so throughput tracks concurrency instead of
//! collapsing to the disk's fsync rate; an idle store commits a lone request at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use ractor::{ActorRef, RpcReplyPort};
use serde::{Deserialize, Serialize};

use super::{ItemDb, StoreError};
use crate::item::{ItemState, now_ms};
use crate::messages::{FlowMsg, StoreMsg};

/// Upper bound on one group, so one fsync never holds back replies for too long.
const MAX_GROUP: usize = 1024;

/// How long a dedupe key is remembered. Shopify retries a failed webhook delivery for at most
/// four hours and back-office systems retry within minutes; a week leaves a wide margin.
pub const DEDUPE_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often expired dedupe keys are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Histogram buckets (upper bounds) for the number of requests made durable by one fsync.
pub const BATCH_BUCKETS: [u64; 8] = [1, 2, 4, 8, 16, 64, 256, 1024];

/// Counters of the store, as shown in telemetry and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreStats {
    pub counts: Vec<(String, ItemState, u64)>,
    pub enqueued: u64,
    /// Completions per flow and the state they led to (done, retrying, exception).
    pub completed: Vec<(String, ItemState, u64)>,
    pub requests: u64,
    pub fsyncs: u64,
    pub fsync_seconds: f64,
    /// Requests made durable by all fsyncs together (the histogram's sum).
    pub synced_requests: u64,
    /// Count of fsyncs per [`BATCH_BUCKETS`] bucket (non-cumulative).
    pub fsync_batches: [u64; 8],
}

/// A reply held back until the group's fsync: sent with the request's result, or with the
/// fsync's error if the data did not reach the disk.
type Deferred = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

fn defer<T: Send + 'static>(
    reply: RpcReplyPort<Result<T, StoreError>>,
    result: Result<T, StoreError>,
) -> Deferred {
    Box::new(move |synced| {
        let _ = reply.send(synced.and(result));
    })
}

pub struct Writer {
    db: ItemDb,
    subscribers: BTreeMap<String, ActorRef<FlowMsg>>,
    stats: StoreStats,
    completed: BTreeMap<(String, ItemState), u64>,
}

impl Writer {
    pub fn new(db: ItemDb) -> Writer {
        Writer {
            db,
            subscribers: BTreeMap::new(),
            stats: StoreStats::default(),
            completed: BTreeMap::new(),
        }
    }

    /// Runs until every sender is gone, then makes the last writes durable. A storage failure
    /// ends the loop with the error: fjall is poisoned and the process must restart.
    pub fn run(mut self, rx: Receiver<StoreMsg>) -> Result<(), StoreError> {
        let mut pruned = Instant::now();
        loop {
            if pruned.elapsed() >= PRUNE_EVERY {
                self.prune()?;
                pruned = Instant::now();
            }
            let first = match rx.recv_timeout(PRUNE_EVERY) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(msg) => group.push(msg),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            self.apply_group(group)?;
        }
        self.db.sync()
    }

    fn prune(&mut self) -> Result<(), StoreError> {
        let cutoff = now_ms().saturating_sub(DEDUPE_RETENTION.as_millis() as u64);
        match self.db.prune_dedupe(cutoff) {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(keys = n, "expired dedupe keys pruned");
                }
                Ok(())
            }
            Err(e) if e.is_fatal() => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "cannot prune dedupe keys");
                Ok(())
            }
        }
    }

    fn apply_group(&mut self, group: Vec<StoreMsg>) -> Result<(), StoreError> {
        let now = now_ms();
        let size = group.len() as u64;
        let mut replies: Vec<Deferred> = Vec::with_capacity(group.len());
        let mut durable = false;
        let mut nudge: BTreeSet<String> = BTreeSet::new();
        let mut fatal = None;
        for msg in group {
            let (reply, needs_sync) = self.apply(msg, now, &mut nudge);
            durable |= needs_sync;
            replies.push(reply.0);
            if let Some(e) = reply.1 {
                fatal = Some(e);
            }
        }
        self.stats.requests += size;
        let synced = if durable {
            let started = Instant::now();
            let r = self.db.sync();
            self.stats.fsyncs += 1;
            self.stats.fsync_seconds += started.elapsed().as_secs_f64();
            let bucket = BATCH_BUCKETS
                .iter()
                .position(|b| size <= *b)
                .unwrap_or(BATCH_BUCKETS.len() - 1);
            self.stats.fsync_batches[bucket] += 1;
            self.stats.synced_requests += size;
            r
        } else {
            Ok(())
        };
        if let Err(e) = &synced {
            fatal = Some(e.clone());
        }
        for reply in replies {
            reply(synced.clone());
        }
        if synced.is_ok() {
            for flow in nudge {
                if let Some(actor) = self.subscribers.get(&flow) {
                    let _ = actor.cast(FlowMsg::Pump);
                }
            }
        }
        match fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Applies one request. Returns its deferred reply, any fatal storage error it hit, and
    /// whether it wrote something that its caller expects to be durable.
    fn apply(
        &mut self,
        msg: StoreMsg,
        now: u64,
        nudge: &mut BTreeSet<String>,
    ) -> ((Deferred, Option<StoreError>), bool) {
        fn fatal_of<T>(r: &Result<T, StoreError>) -> Option<StoreError> {
            r.as_ref().err().filter(|e| e.is_fatal()).cloned()
        }
        macro_rules! done {
            ($reply:expr, $result:expr, $sync:expr) => {{
                let result = $result;
                let fatal = fatal_of(&result);
                ((defer($reply, result), fatal), $sync)
            }};
        }
        let db = &mut self.db;
        match msg {
            StoreMsg::Enqueue(items, reply) => {
                let flows: BTreeSet<String> = items.iter().map(|i| i.flow.clone()).collect();
                let result = db.enqueue(items, now);
                if let Ok(out) = &result {
                    self.stats.enqueued += out.iter().filter(|e| !e.duplicate).count() as u64;
                    nudge.extend(flows);
                }
                done!(reply, result, true)
            }
            // A claim needs no fsync of its own: if it is lost in a crash the item is simply
            // still pending. Its reply still waits for the group, so nobody processes an item
            // whose enqueue is not yet durable.
            StoreMsg::Claim {
                flow,
                max,
                lease,
                reply,
            } => done!(reply, db.claim(&flow, max, lease, now), false),
            StoreMsg::Complete {
                id,
                attempt,
                completion,
                reply,
            } => {
                let result = db.complete(id, attempt, completion, now);
                if let Ok(item) = &result {
                    *self
                        .completed
                        .entry((item.flow.clone(), item.state))
                        .or_default() += 1;
                }
                done!(reply, result, true)
            }
            StoreMsg::Operate {
                id,
                action,
                who,
                note,
                reply,
            } => {
                let result = db.operate(id, action, &who, note, now);
                if let Ok(item) = &result {
                    if item.state == ItemState::Pending {
                        nudge.insert(item.flow.clone());
                    }
                }
                done!(reply, result, true)
            }
            StoreMsg::Release { flow, reply } => {
                let result = db.release(&flow, now);
                nudge.insert(flow);
                done!(reply, result, true)
            }
            StoreMsg::Wake { prefix, reply } => {
                let result = db.wake(&prefix, now);
                if let Ok(flows) = &result {
                    nudge.extend(flows.iter().cloned());
                }
                done!(reply, result.map(|f| f.len()), true)
            }
            StoreMsg::Get(id, reply) => done!(reply, db.get(id), false),
            StoreMsg::History(id, reply) => done!(reply, db.history(id), false),
            StoreMsg::List {
                filter,
                after,
                limit,
                reply,
            } => done!(reply, db.list(&filter, after, limit), false),
            StoreMsg::Stats(reply) => {
                let mut stats = self.stats.clone();
                stats.counts = db
                    .counts()
                    .iter()
                    .map(|((f, s), n)| (f.clone(), *s, *n))
                    .collect();
                stats.completed = self
                    .completed
                    .iter()
                    .map(|((f, s), n)| (f.clone(), *s, *n))
                    .collect();
                done!(reply, Ok(stats), false)
            }
            StoreMsg::Cursor { flow, name, reply } => done!(reply, db.cursor(&flow, &name), false),
            StoreMsg::SetCursor {
                flow,
                name,
                value,
                reply,
            } => done!(reply, db.set_cursor(&flow, &name, value), true),
            StoreMsg::Mappings {
                namespace,
                keys,
                reply,
            } => done!(reply, db.mappings(&namespace, &keys), false),
            StoreMsg::SetMappings {
                namespace,
                pairs,
                reply,
            } => done!(reply, db.set_mappings(&namespace, pairs), true),
            StoreMsg::Audit(entry, reply) => done!(reply, db.audit(entry), true),
            StoreMsg::AuditLog(limit, reply) => done!(reply, db.audit_log(limit), false),
            StoreMsg::Subscribe { flow, actor } => {
                self.subscribers.insert(flow.clone(), actor);
                nudge.insert(flow);
                ((Box::new(|_| {}), None), false)
            }
        }
    }
}
