//! Group commit: one thread owns the [`ItemDb`], takes every request that queued up while the
//! previous fsync ran, applies them in order, fsyncs once, and only then replies to all of them.
//! Under load a group grows to match the writers, so throughput tracks concurrency instead of
//! collapsing to the disk's fsync rate; an idle store commits a lone request at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use ractor::RpcReplyPort;
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::changes::{ChangeFeed, Changes};
use super::db::{PruneStep, Retention, Tuning};
use super::messages::{StoreMsg, Waker};
use super::{ItemDb, StoreError};
use crate::item::{ItemState, Millis, now_ms};

/// Upper bound on one group, so one fsync never holds back replies for too long.
const MAX_GROUP: usize = 1024;

/// How long a dedupe key is remembered. Shopify retries a failed webhook delivery for at most
/// four hours and back-office systems retry within minutes; a week leaves a wide margin.
pub const DEDUPE_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How finished work is retired: the windows, and the bounded steps that do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruning {
    pub retention: Retention,
    /// fjall's memory (not pruning, but the store's other bound on growth).
    pub tuning: Tuning,
    /// How long dedupe keys are remembered.
    pub dedupe: Duration,
    /// Between two steps while nothing more is due.
    pub every: Duration,
    /// Keys one step looks at, at most: the longest a step holds back the writes queued
    /// behind it.
    pub batch: usize,
    /// The free space the store keeps on its volume.
    pub disk: DiskRoom,
}

/// `[store] min_free_mib` and `resume_free_mib`, in bytes; `None`: scaled to the volume (see
/// [`Room::for_volume`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskRoom {
    /// Below this much free space writes are refused.
    pub min_free: Option<u64>,
    /// A store refusing writes resumes once this much is free.
    pub resume_free: Option<u64>,
}

impl Default for Pruning {
    /// Nothing retired (tests and benchmarks that count every item); dedupe keys for a week.
    fn default() -> Self {
        Pruning {
            retention: Retention::default(),
            tuning: Tuning::default(),
            dedupe: DEDUPE_RETENTION,
            every: Duration::from_secs(60),
            batch: 2_000,
            disk: DiskRoom::default(),
        }
    }
}

/// What the last prune step that removed something did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastPrune {
    pub at: Millis,
    pub items: u64,
    pub audit: u64,
}

/// While the store cannot write, how soon it tries to reopen the database: quickly at first,
/// since a disk that filled up is often freed within seconds, then at this pace.
const REOPEN_FIRST: Duration = Duration::from_millis(250);
const REOPEN_MAX: Duration = Duration::from_secs(5);

/// The probe written after a reopen: about a large webhook's size, so that a disk with a few
/// bytes left over does not count as recovered only to fail on the next real write.
const PROBE_BYTES: usize = 64 << 10;

/// The free space a failed store waits for before it writes again, on a volume of 128 MiB or
/// more; a smaller volume waits for an eighth of its size, so that one of 16 MiB recovers too.
const HEADROOM: u64 = 16 << 20;

/// Below this much free space the store refuses writes rather than let fjall fail on a full
/// disk mid-write (on a volume of 64 MiB or more; a 64th of a smaller one); well under the
/// headroom, so it does not flap between the two.
const LOW_WATER: u64 = 1 << 20;

/// How much free space the store keeps on the volume holding its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Room {
    /// Writes are refused below this.
    low_water: u64,
    /// Writes resume once this much is free again.
    headroom: u64,
}

impl Room {
    /// The thresholds for a volume of `total` bytes (`None`: unknown, the full-size ones),
    /// or as configured; the headroom always leaves room for the probe above the low water.
    fn for_volume(total: Option<u64>, configured: DiskRoom) -> Room {
        let total = total.unwrap_or(u64::MAX);
        let low_water = configured.min_free.unwrap_or(LOW_WATER.min(total / 64));
        Room {
            low_water,
            headroom: configured
                .resume_free
                .unwrap_or(HEADROOM.min(total / 8))
                .max(low_water * 2 + PROBE_BYTES as u64),
        }
    }
}

/// Bytes available to this process on the filesystem holding `dir`; `None` if unknown.
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    volume(dir).map(|(free, _)| free)
}

/// Bytes available to this process and the size of the filesystem holding `dir`.
fn volume(dir: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a valid NUL-terminated string and `st` is written by a successful call
    // before it is read.
    let st = unsafe {
        if libc::statvfs(path.as_ptr(), st.as_mut_ptr()) != 0 {
            return None;
        }
        st.assume_init()
    };
    // The field types differ between platforms (u32 on some, u64 here).
    #[allow(clippy::useless_conversion)]
    let (blocks, total, size) = (
        u64::from(st.f_bavail),
        u64::from(st.f_blocks),
        u64::from(st.f_frsize),
    );
    Some((blocks.saturating_mul(size), total.saturating_mul(size)))
}

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
    /// Set while the store cannot write (disk full, read-only, I/O errors): nothing new is
    /// acknowledged until it can again.
    #[serde(default)]
    pub failing: Option<StoreFailure>,
    /// Items retired per flow, so far.
    #[serde(default)]
    pub retired: Vec<(String, u64)>,
    /// The database's size on disk.
    #[serde(default)]
    pub disk_bytes: u64,
    /// When the oldest item kept was created.
    #[serde(default)]
    pub oldest_item: Option<Millis>,
    #[serde(default)]
    pub last_prune: Option<LastPrune>,
}

/// Why the store cannot write, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreFailure {
    pub reason: String,
    pub since: Millis,
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
    dir: PathBuf,
    pruning: Pruning,
    /// Where the next step over the dedupe keys starts.
    dedupe_from: Vec<u8>,
    room: Room,
    subscribers: BTreeMap<String, Waker>,
    stats: StoreStats,
    completed: BTreeMap<(String, ItemState), u64>,
    changes: ChangeFeed,
}

impl Writer {
    /// A writer for the database in `dir` (which [`Writer::run`] is given open).
    pub fn new(dir: PathBuf, pruning: Pruning) -> Writer {
        Writer {
            pruning,
            dedupe_from: Vec::new(),
            room: Room::for_volume(volume(&dir).map(|(_, total)| total), pruning.disk),
            dir,
            subscribers: BTreeMap::new(),
            stats: StoreStats::default(),
            completed: BTreeMap::new(),
            changes: ChangeFeed::default(),
        }
    }

    /// Runs until every sender is gone, then makes the last writes durable.
    ///
    /// A storage failure (disk full, read-only, an I/O error) poisons fjall: the database is
    /// closed and the writer refuses every request, so that nothing is acknowledged that
    /// could be lost, and reopens it as soon as a probe write succeeds again.
    pub fn run(mut self, mut db: ItemDb, rx: Receiver<StoreMsg>) -> Result<(), StoreError> {
        loop {
            match self.serve(&mut db, &rx) {
                Ok(()) => return db.sync(),
                Err(e) => {
                    drop(db);
                    match self.recover(&rx, e) {
                        Some(reopened) => db = reopened,
                        None => return Ok(()),
                    }
                }
            }
        }
    }

    /// Serves requests until every sender is gone (`Ok`) or storage fails (`Err`).
    fn serve(&mut self, db: &mut ItemDb, rx: &Receiver<StoreMsg>) -> Result<(), StoreError> {
        // The first step soon after start: a daemon restarted daily still retires.
        let mut retire_at = Instant::now() + Duration::from_secs(1).min(self.pruning.every);
        loop {
            if Instant::now() >= retire_at {
                let more = self.retire(db)?;
                // While more is due, a step after every group of writes; else wait.
                retire_at = Instant::now()
                    + if more {
                        Duration::ZERO
                    } else {
                        self.pruning.every
                    };
            }
            let wait = retire_at.saturating_duration_since(Instant::now());
            let first = match rx.recv_timeout(wait) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(msg) => group.push(msg),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            // Refused before fjall meets the full disk mid-write and poisons itself.
            if let Some(free) = free_bytes(&self.dir).filter(|f| *f < self.room.low_water) {
                if !self.low_on_space(db, rx, group, free)? {
                    return Ok(());
                }
                continue;
            }
            self.apply_group(db, group)?;
        }
    }

    /// The disk is nearly full but the database is sound: reads are answered (an operator can
    /// still list and inspect items), writes refused, until the headroom is free again and a
    /// probe write is durable. `Ok(false)`: every sender went away meanwhile.
    fn low_on_space(
        &mut self,
        db: &mut ItemDb,
        rx: &Receiver<StoreMsg>,
        group: Vec<StoreMsg>,
        free: u64,
    ) -> Result<bool, StoreError> {
        let cause = format!(
            "No space left on device: {} KiB free, below the {} KiB the store keeps; writing again once {} KiB are free",
            free >> 10,
            self.room.low_water >> 10,
            self.room.headroom >> 10
        );
        error!(error = %cause, dir = %self.dir.display(),
            "the store cannot write: webhooks and feeds get 503 until it can; reads still answered");
        let since = now_ms();
        self.stats.failing = Some(StoreFailure {
            reason: cause,
            since,
        });
        self.read_or_refuse(db, group)?;
        let mut wait = REOPEN_FIRST;
        let mut next = Instant::now() + wait;
        loop {
            match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Ok(first) => {
                    let mut group = vec![first];
                    while let Ok(msg) = rx.try_recv() {
                        group.push(msg);
                    }
                    self.read_or_refuse(db, group)?;
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(false),
                Err(RecvTimeoutError::Timeout) => {
                    let room = free_bytes(&self.dir).is_none_or(|f| f >= self.room.headroom);
                    if room && db.probe(PROBE_BYTES).is_ok() {
                        self.resumed(since);
                        return Ok(true);
                    }
                    wait = (wait * 2).min(REOPEN_MAX);
                    next = Instant::now() + wait;
                }
            }
        }
    }

    /// Writes work again (the store failed `since`): said, and every flow nudged, since what
    /// came due meanwhile was refused to them.
    fn resumed(&mut self, since: Millis) {
        info!(
            failed_for_ms = now_ms().saturating_sub(since),
            "the store can write again; resuming"
        );
        self.stats.failing = None;
        for waker in self.subscribers.values() {
            waker.wake();
        }
    }

    /// Answers the reads of `group` from the open database and refuses its writes.
    fn read_or_refuse(&mut self, db: &mut ItemDb, group: Vec<StoreMsg>) -> Result<(), StoreError> {
        let (reads, writes): (Vec<_>, Vec<_>) = group.into_iter().partition(StoreMsg::is_read);
        writes.into_iter().for_each(|msg| self.refuse(msg));
        if reads.is_empty() {
            return Ok(());
        }
        self.apply_group(db, reads)
    }

    /// Refuses requests while trying to reopen the database; returns it once a probe write
    /// is durable, or `None` if every sender went away meanwhile.
    fn recover(&mut self, rx: &Receiver<StoreMsg>, cause: StoreError) -> Option<ItemDb> {
        error!(error = %cause, dir = %self.dir.display(),
            "the store cannot write: webhooks and feeds get 503 until it can; retrying");
        let since = now_ms();
        self.stats.failing = Some(StoreFailure {
            reason: cause.to_string(),
            since,
        });
        let mut wait = REOPEN_FIRST;
        let mut next = Instant::now() + wait;
        loop {
            match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Ok(msg) => self.refuse(msg),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => match self.reopen() {
                    Ok(db) => {
                        self.resumed(since);
                        return Some(db);
                    }
                    Err(e) => {
                        let reason = e.to_string();
                        if self.stats.failing.as_ref().map(|f| &f.reason) != Some(&reason) {
                            warn!(error = %e, "the store still cannot write");
                        }
                        self.stats.failing = Some(StoreFailure { reason, since });
                        wait = (wait * 2).min(REOPEN_MAX);
                        next = Instant::now() + wait;
                    }
                },
            }
        }
    }

    /// Opens the database again if the disk has room and a probe write is durable.
    fn reopen(&self) -> Result<ItemDb, StoreError> {
        // Freeing a failed write can leave a little room that the next webhook fills again:
        // wait for real headroom, so the store does not flap between failing and accepting.
        match free_bytes(&self.dir) {
            Some(free) if free < self.room.headroom => {
                return Err(StoreError::Io(format!(
                    "No space left on device: {} KiB free, waiting for {} KiB",
                    free >> 10,
                    self.room.headroom >> 10
                )));
            }
            _ => {}
        }
        let db = ItemDb::open_tuned(&self.dir, self.pruning.tuning)?;
        db.probe(PROBE_BYTES)?;
        Ok(db)
    }

    /// Answers a request while the database is closed: reads and writes alike are refused
    /// with the reason; statistics (with the failure) and subscriptions still work.
    fn refuse(&mut self, msg: StoreMsg) {
        let reason = self
            .stats
            .failing
            .as_ref()
            .map_or_else(String::new, |f| f.reason.clone());
        let err = || StoreError::Failing(reason.clone());
        match msg {
            StoreMsg::Enqueue(_, reply) => drop(reply.send(Err(err()))),
            StoreMsg::Claim { reply, .. } => drop(reply.send(Err(err()))),
            StoreMsg::Complete { reply, .. } | StoreMsg::Operate { reply, .. } => {
                drop(reply.send(Err(err())))
            }
            StoreMsg::Release { reply, .. } | StoreMsg::Wake { reply, .. } => {
                drop(reply.send(Err(err())))
            }
            StoreMsg::Get(_, reply) => drop(reply.send(Err(err()))),
            StoreMsg::History(_, reply) => drop(reply.send(Err(err()))),
            StoreMsg::List { reply, .. } => drop(reply.send(Err(err()))),
            StoreMsg::Stats(reply) => drop(reply.send(Ok(self.stats_now()))),
            StoreMsg::Cursor { reply, .. } => drop(reply.send(Err(err()))),
            StoreMsg::SetCursor { reply, .. }
            | StoreMsg::SetMappings { reply, .. }
            | StoreMsg::Audit(_, reply) => drop(reply.send(Err(err()))),
            StoreMsg::Mappings { reply, .. } => drop(reply.send(Err(err()))),
            StoreMsg::AuditLog(_, reply) => drop(reply.send(Err(err()))),
            StoreMsg::Prune { reply, .. } => drop(reply.send(Err(err()))),
            StoreMsg::CreateJob(_, reply)
            | StoreMsg::JobStep { reply, .. }
            | StoreMsg::CancelJob { reply, .. }
            | StoreMsg::FailJob { reply, .. } => drop(reply.send(Err(err()))),
            StoreMsg::Job(_, reply) => drop(reply.send(Err(err()))),
            StoreMsg::Jobs(_, reply) | StoreMsg::RunningJobs(reply) => drop(reply.send(Err(err()))),
            StoreMsg::Rollup { reply, .. } => match reply {
                Some(reply) => drop(reply.send(Err(err()))),
                None => tracing::warn!("report counts lost: the store cannot write"),
            },
            StoreMsg::RollupRange { reply, .. } => drop(reply.send(Err(err()))),
            StoreMsg::RollupGet { reply, .. } => drop(reply.send(Err(err()))),
            StoreMsg::Subscribe { flow, waker } => {
                self.subscribers.insert(flow, waker);
            }
            // Watching needs no disk: answered while refusing, so the console stays live.
            StoreMsg::WatchChanges(reply) => {
                let _ = reply.send(self.changes.watch());
            }
        }
    }

    /// The statistics with the completion counters filled in; `counts` is what the last
    /// [`StoreMsg::Stats`] found while the database was open.
    fn stats_now(&self) -> StoreStats {
        let mut stats = self.stats.clone();
        stats.completed = self
            .completed
            .iter()
            .map(|((f, s), n)| (f.clone(), *s, *n))
            .collect();
        stats
    }

    /// One bounded step of retiring finished work and expired dedupe keys; true if more is
    /// due now.
    fn retire(&mut self, db: &mut ItemDb) -> Result<bool, StoreError> {
        let dedupe_more = self.prune(db)?;
        let r = self.pruning.retention;
        if r == Retention::default() {
            return Ok(dedupe_more);
        }
        let step = PruneStep {
            retention: r,
            budget: self.pruning.batch,
            dry: false,
            fresh: false,
        };
        let now = now_ms();
        match db.prune(now, step).and_then(|p| db.sync().map(|()| p)) {
            Ok(p) => {
                if p.items > 0
                    && let Some(c) = self.changes.pending()
                {
                    c.merge(&Changes::everything());
                    self.changes.publish();
                }
                if p.items + p.audit > 0 {
                    tracing::debug!(items = p.items, audit = p.audit, "finished work retired");
                    self.stats.last_prune = Some(LastPrune {
                        at: now,
                        items: p.items,
                        audit: p.audit,
                    });
                }
                Ok(p.more || dedupe_more)
            }
            Err(e) if e.is_fatal() => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "cannot retire finished items");
                Ok(false)
            }
        }
    }

    /// One step over the dedupe keys, dropping expired ones; true if the walk goes on.
    fn prune(&mut self, db: &mut ItemDb) -> Result<bool, StoreError> {
        let cutoff = now_ms().saturating_sub(self.pruning.dedupe.as_millis() as u64);
        match db.prune_dedupe_step(cutoff, &self.dedupe_from, self.pruning.batch) {
            Ok((n, next)) => {
                if n > 0 {
                    tracing::debug!(keys = n, "expired dedupe keys pruned");
                }
                let more = next.is_some();
                self.dedupe_from = next.unwrap_or_default();
                Ok(more)
            }
            Err(e) if e.is_fatal() => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "cannot prune dedupe keys");
                Ok(false)
            }
        }
    }

    fn apply_group(&mut self, db: &mut ItemDb, group: Vec<StoreMsg>) -> Result<(), StoreError> {
        let now = now_ms();
        let size = group.len() as u64;
        let mut replies: Vec<Deferred> = Vec::with_capacity(group.len());
        let mut durable = false;
        let mut nudge: BTreeSet<String> = BTreeSet::new();
        let mut fatal = None;
        // The group's counts are taken after its replies have gone, so that counting never
        // holds back a reply (it is most of a count's cost), and written before the next
        // group: each bucket once per group, however many orders land on it. A count reaches
        // the journal ahead of every write its sender makes after a reply from the store (the
        // item's completion: a flow completes an item after its own writes for it came back),
        // and that write's fsync makes the count durable too. A count written after an
        // unrelated write changes nothing: a crash between them redoes an item whose recount
        // changes nothing.
        let (counts, rest): (Vec<StoreMsg>, Vec<StoreMsg>) = group
            .into_iter()
            .partition(|m| matches!(m, StoreMsg::Rollup { .. }));
        for msg in rest {
            // Counts left from a flush that failed go first.
            if !msg.is_read()
                && let Err(e) = self.flush_rollups(db)
            {
                fatal.get_or_insert(e);
            }
            let (reply, needs_sync) = self.apply(db, msg, now, &mut nudge);
            durable |= needs_sync;
            replies.push(reply.0);
            // The first failure is the cause; fjall answers the rest of the group "poisoned".
            if fatal.is_none() {
                fatal = reply.1;
            }
        }
        self.stats.requests += size;
        let synced = if durable {
            let started = Instant::now();
            let r = db.sync();
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
        if let (Err(e), None) = (&synced, &fatal) {
            fatal = Some(e.clone());
        }
        // Nudges first: once a writer hears its items are stored, the flow has been told, so
        // "enqueued, then asked the flow" always finds the nudge handled.
        if synced.is_ok() {
            self.changes.publish();
            for flow in nudge {
                if let Some(waker) = self.subscribers.get(&flow) {
                    waker.wake();
                }
            }
        }
        if synced.is_err() {
            self.changes.discard();
        }
        for reply in replies {
            reply(synced.clone());
        }
        for msg in counts {
            match (&fatal, &synced) {
                (None, Ok(())) => {
                    let ((reply, error), _) = self.apply(db, msg, now, &mut BTreeSet::new());
                    reply(Ok(()));
                    fatal = error;
                }
                // Refused as the group's writes were: their senders retry, and count again.
                (Some(e), _) | (None, Err(e)) => {
                    if let StoreMsg::Rollup {
                        reply: Some(reply), ..
                    } = msg
                    {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
        if fatal.is_none()
            && let Err(e) = self.flush_rollups(db)
        {
            fatal = Some(e);
        }
        match fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Writes the report counts gathered so far. Only a fatal storage error is returned: a
    /// bucket that cannot be read back is not a reason to stop the store.
    fn flush_rollups(&mut self, db: &mut ItemDb) -> Result<(), StoreError> {
        match db.flush_rollups() {
            Ok(()) => Ok(()),
            Err(e) if e.is_fatal() => Err(e),
            Err(e) => {
                tracing::error!(error = %e, "report counts lost: a rollup bucket is unreadable");
                db.discard_rollups();
                Ok(())
            }
        }
    }

    /// Applies one request. Returns its deferred reply, any fatal storage error it hit, and
    /// whether it wrote something that its caller expects to be durable.
    fn apply(
        &mut self,
        db: &mut ItemDb,
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
        match msg {
            StoreMsg::Enqueue(items, reply) => {
                let flows: BTreeSet<String> = items.iter().map(|i| i.flow.clone()).collect();
                let item_flows: Vec<String> = match self.changes.watched() {
                    true => items.iter().map(|i| i.flow.clone()).collect(),
                    false => Vec::new(),
                };
                let result = db.enqueue(items, now);
                if let Ok(out) = &result {
                    self.stats.enqueued += out.iter().filter(|e| !e.duplicate).count() as u64;
                    nudge.extend(flows);
                    if let Some(c) = self.changes.pending() {
                        for (e, flow) in out.iter().zip(&item_flows) {
                            if !e.duplicate {
                                c.item(flow, e.id);
                            }
                        }
                    }
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
            } => {
                let result = db.claim(&flow, max, lease, now);
                if let (Ok(claimed), Some(c)) = (&result, self.changes.pending()) {
                    for cl in claimed {
                        c.item(&flow, cl.item.id);
                    }
                }
                done!(reply, result, false)
            }
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
                    if let Some(c) = self.changes.pending() {
                        c.item(&item.flow, item.id);
                    }
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
                    if let Some(c) = self.changes.pending() {
                        c.item(&item.flow, item.id);
                    }
                }
                done!(reply, result, true)
            }
            StoreMsg::Release { flow, reply } => {
                let result = db.release(&flow, now);
                if let Some(c) = self.changes.pending() {
                    c.flow(&flow);
                }
                nudge.insert(flow);
                done!(reply, result, true)
            }
            StoreMsg::Wake { prefix, reply } => {
                let result = db.wake(&prefix, now);
                if let Ok(flows) = &result {
                    if let Some(c) = self.changes.pending() {
                        flows.iter().for_each(|f| c.flow(f));
                    }
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
                // Kept, so that the counts can still be shown while the store is failing.
                self.stats.counts = db
                    .counts()
                    .iter()
                    .map(|((f, s), n)| (f.clone(), *s, *n))
                    .collect();
                self.stats.retired = db.retired().iter().map(|(f, n)| (f.clone(), *n)).collect();
                self.stats.disk_bytes = db.disk_space();
                self.stats.oldest_item = db.oldest().ok().flatten();
                done!(reply, Ok(self.stats_now()), false)
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
            StoreMsg::Prune { step, reply } => {
                let result = db.prune(now, step);
                if let Ok(p) = &result
                    && !step.dry
                    && p.items > 0
                    && let Some(c) = self.changes.pending()
                {
                    c.merge(&Changes::everything());
                }
                if let Ok(p) = &result
                    && !step.dry
                    && p.items + p.audit > 0
                {
                    self.stats.last_prune = Some(LastPrune {
                        at: now,
                        items: p.items,
                        audit: p.audit,
                    });
                }
                done!(reply, result, !step.dry)
            }
            StoreMsg::CreateJob(spec, reply) => done!(reply, db.create_job(spec, now), true),
            StoreMsg::JobStep { id, budget, reply } => {
                let result = db.job_step(id, budget, now).map(|(job, woken)| {
                    nudge.extend(woken);
                    job
                });
                if let (Ok(job), Some(c)) = (&result, self.changes.pending())
                    && job.changed > 0
                {
                    match &job.filter.flow {
                        Some(flow) => c.flow(flow),
                        None => c.merge(&Changes::everything()),
                    }
                }
                done!(reply, result, true)
            }
            StoreMsg::CancelJob { id, who, reply } => {
                done!(reply, db.cancel_job(id, &who, now), true)
            }
            StoreMsg::FailJob { id, error, reply } => {
                done!(reply, db.fail_job(id, error, now), true)
            }
            StoreMsg::Job(id, reply) => done!(reply, db.job(id), false),
            StoreMsg::Jobs(limit, reply) => done!(reply, db.jobs(limit), false),
            StoreMsg::RunningJobs(reply) => done!(reply, db.running_jobs(), false),
            StoreMsg::WatchChanges(reply) => {
                let _ = reply.send(self.changes.watch());
                ((Box::new(|_| {}), None), false)
            }
            // Taken after the group's replies and written before the next group (see
            // apply_group): the fsync that makes the sender's completion durable makes the count
            // durable too (one journal, replayed in order). A crash before loses both, or keeps
            // the count and redoes the item, whose recount changes nothing.
            StoreMsg::Rollup { writes, reply } => {
                let result = db.rollup_writes(writes);
                let fatal = fatal_of(&result);
                match (reply, result) {
                    (Some(reply), result) => drop(reply.send(result)),
                    (None, Err(e)) => tracing::error!(error = %e, "report counts lost"),
                    (None, Ok(_)) => {}
                }
                ((Box::new(|_| {}), fatal), false)
            }
            StoreMsg::RollupRange { from, to, reply } => {
                done!(reply, db.rollup_range(&from, &to), false)
            }
            StoreMsg::RollupGet { buckets, reply } => {
                done!(reply, db.rollup_get(&buckets), false)
            }
            StoreMsg::Subscribe { flow, waker } => {
                self.subscribers.insert(flow.clone(), waker);
                nudge.insert(flow);
                ((Box::new(|_| {}), None), false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_space_kept_shrinks_with_a_small_volume_and_stays_below_the_headroom() {
        let full = Room::for_volume(Some(100 << 30), DiskRoom::default());
        assert_eq!((full.low_water, full.headroom), (LOW_WATER, HEADROOM));
        assert_eq!(Room::for_volume(None, DiskRoom::default()), full);
        let small = Room::for_volume(Some(16 << 20), DiskRoom::default());
        assert_eq!((small.low_water, small.headroom), (256 << 10, 2 << 20));
        // A tiny volume still leaves room for the probe between the two thresholds.
        let tiny = Room::for_volume(Some(1 << 20), DiskRoom::default());
        assert!(tiny.headroom >= tiny.low_water * 2 + PROBE_BYTES as u64);
        assert!(tiny.headroom < 1 << 20);
    }

    #[test]
    fn the_space_kept_can_be_configured_and_still_leaves_room_for_the_probe() {
        let set = DiskRoom {
            min_free: Some(4 << 20),
            resume_free: Some(64 << 20),
        };
        let room = Room::for_volume(Some(16 << 20), set);
        assert_eq!((room.low_water, room.headroom), (4 << 20, 64 << 20));
        // A resume threshold below the refusal one is raised above it.
        let low = Room::for_volume(
            Some(100 << 30),
            DiskRoom {
                min_free: Some(8 << 20),
                resume_free: Some(1 << 20),
            },
        );
        assert_eq!(low.headroom, (16 << 20) + PROBE_BYTES as u64);
        // One of the two set: the other is scaled as usual.
        let only_min = Room::for_volume(
            Some(100 << 30),
            DiskRoom {
                min_free: Some(2 << 20),
                resume_free: None,
            },
        );
        assert_eq!((only_min.low_water, only_min.headroom), (2 << 20, HEADROOM));
    }
}
