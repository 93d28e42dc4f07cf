//! The item database: every state change of every item, as atomic fjall batches.
//!
//! This is synchronous and single-writer on purpose: the [writer](super::writer) thread owns it,
//! applies a group of requests, then makes them durable with one fsync. Each method commits its
//! own batch to the OS buffers (atomic and crash-safe against `kill -9`), so later requests in the
//! same group see earlier ones; only [`ItemDb::sync`] makes them survive power loss.

use std::collections::BTreeMap;
use std::path::Path;

use fjall::{
    Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions, OwnedWriteBatch as WriteBatch,
    PersistMode,
};

use serde::{Deserialize, Serialize};

use super::jobs::{BulkJob, JobId, JobSpec, JobState};
use super::{StoreError, keys};
use crate::item::{
    AuditEntry, Claimed, Completion, Enqueued, HistoryEntry, Item, ItemId, ItemState, Millis,
    NewItem, OperatorAction,
};

/// Bumped whenever the key layout or value encoding changes; a store written by another format
/// is refused rather than misread.
pub const FORMAT: u64 = 1;

/// Which items a listing wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    pub flow: Option<String>,
    pub state: Option<ItemState>,
    /// Only items whose business key contains this (case-insensitive).
    pub key: Option<String>,
    /// Only items last changed before this time (waiting for longer than …).
    pub updated_before: Option<Millis>,
}

/// How many items a filtered listing looks at before it answers with what it found, so that a
/// search over a million items cannot stall the store.
const SCAN_BUDGET: usize = 100_000;

/// The memory fjall may use, in bytes: a block cache for reads, and memtables and journals for
/// writes. Its own defaults let each of a dozen keyspaces hold a 64 MiB memtable (most of a
/// gigabyte together) and half a GiB of journal; these fit a 1 GiB VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    pub cache: u64,
    /// The memtables of all keyspaces together, shared out among them (fjall keeps each
    /// keyspace's size from its creation: a store created with other figures keeps those).
    pub write_buffer: u64,
    /// All journals together (at least 64 MiB).
    pub journal: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            cache: 32 << 20,
            write_buffer: 64 << 20,
            journal: 128 << 20,
        }
    }
}

/// The keyspaces the write buffer is shared among.
const KEYSPACES: u64 = 13;

/// A job step's history line and audit note name the job: `resolve by root (job 3): …`.
fn job_line(job: JobId) -> String {
    format!("job {job}")
}

/// How long finished work is kept (ms); 0 keeps it forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Retention {
    /// Done items, after they finished.
    pub done: Millis,
    /// Resolved and cancelled items, after they were closed.
    pub closed: Millis,
    /// Audit entries.
    pub audit: Millis,
}

impl Retention {
    /// The window of items in `state`, if such items are ever retired.
    fn window(&self, state: ItemState) -> Option<Millis> {
        let w = match state {
            ItemState::Done => self.done,
            ItemState::Resolved | ItemState::Cancelled => self.closed,
            _ => return None,
        };
        (w > 0).then_some(w)
    }
}

/// What one prune step did (or, dry, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Pruned {
    /// Finished items retired: their metadata, payload and history removed.
    pub items: u64,
    /// Audit entries removed.
    pub audit: u64,
    /// Keys looked at.
    pub scanned: u64,
    /// The step stopped at its budget: more may be due now.
    pub more: bool,
}

/// One step of a prune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneStep {
    pub retention: Retention,
    /// Keys looked at, at most.
    pub budget: usize,
    /// Count what would go, remove nothing.
    pub dry: bool,
    /// The first step of a run with windows of its own (an operator's `--older-than`): start
    /// from the oldest item rather than where the last run stopped.
    pub fresh: bool,
}

/// Prune floors are forgotten this often, so that an item that finished long after its
/// creation (below a floor) is still reached.
const FULL_PASS_EVERY: Millis = 3_600_000;

pub struct ItemDb {
    db: Database,
    items: Keyspace,
    payloads: Keyspace,
    due: Keyspace,
    states: Keyspace,
    counts: Keyspace,
    dedupe: Keyspace,
    history: Keyspace,
    cursors: Keyspace,
    mappings: Keyspace,
    audit: Keyspace,
    /// Bulk jobs by id (see [`super::jobs`]).
    jobs: Keyspace,
    /// Report rollups and what each entity counted in them (see [`super::rollups`]).
    pub(super) rollups: Keyspace,
    /// Rollups counted since the last [`ItemDb::flush_rollups`], written together.
    pub(super) pending_rollups: super::rollups::Pending,
    /// Today's integration health counters per flow, as written (see [`super::rollups`]).
    pub(super) health: super::rollups::HealthDay,
    meta: Keyspace,
    next_id: u64,
    /// Orders history and audit entries; persisted like `next_id` so keys never repeat.
    next_seq: u64,
    /// The authoritative counts, mirrored to the `counts` keyspace in the same batch as the
    /// change, so that counting stays O(flows × states) with millions of items.
    counts_mem: BTreeMap<(String, ItemState), u64>,
    /// Per flow, no live `due` entry is older than this. Claims scan from here rather than
    /// from the head of the flow's range, where the entries of claimed items lie deleted:
    /// fjall keeps those tombstones until compaction, and scanning them made every claim
    /// slower as the day went on. Lowered by every due entry written; unknown (0) after open.
    due_floor: BTreeMap<String, Millis>,
    /// Per flow and finished state, the id a prune step starts at: below it every item was
    /// retired or is young (finished within its window), so the tombstones of retired items
    /// are not scanned again. Forgotten every [`FULL_PASS_EVERY`] and at open.
    prune_floor: BTreeMap<(String, ItemState), u64>,
    /// The same for dry runs, which remove nothing.
    dry_floor: BTreeMap<(String, ItemState), u64>,
    /// The audit sequence number a prune step (real, dry) starts at.
    audit_floor: [u64; 2],
    prune_pass: Millis,
    /// Per flow, items retired so far (persisted in `meta`): a flow's items in = its count
    /// now plus these.
    retired: BTreeMap<String, u64>,
}

const NEXT_ID: &str = "next_id";
/// `retired 0x00 flow` in `meta`: items of the flow retired so far.
const RETIRED: &str = "retired";
const NEXT_SEQ: &str = "next_seq";
/// The id the next bulk job gets.
const NEXT_JOB: &str = "next_job";
const FORMAT_KEY: &str = "format";
const PROBE_KEY: &str = "probe";
/// A file beside the database, written when the store is created: an empty database with
/// this file present is a store that lost its data, not a new one.
const MARKER: &str = "xconnector-store";

impl ItemDb {
    pub fn open(dir: &Path) -> Result<ItemDb, StoreError> {
        ItemDb::open_tuned(dir, Tuning::default())
    }

    pub fn open_tuned(dir: &Path, tuning: Tuning) -> Result<ItemDb, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(e.to_string()))?;
        let db = Database::builder(dir)
            .cache_size(tuning.cache)
            .max_journaling_size(tuning.journal.max(64 << 20))
            .open()
            .map_err(|e| match e {
                fjall::Error::Io(_) | fjall::Error::Locked => StoreError::from(e),
                other => StoreError::Corrupt(format!(
                    "its files cannot be read ({other}): they are damaged or not an xconnector \
                 store; move the directory aside and restore it from a backup"
                )),
            })?;
        let memtable = (tuning.write_buffer / KEYSPACES).max(1 << 20);
        let options = move || KeyspaceCreateOptions::default().max_memtable_size(memtable);
        let ks = |name: &str| db.keyspace(name, options);
        let meta = ks("meta")?;
        let fresh = meta.get(FORMAT_KEY)?.is_none() && ks("items")?.first_key_value().is_none();
        let marker = dir.join(MARKER);
        let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", marker.display()));
        if fresh {
            // A database that comes up empty where one was created before lost its files:
            // starting afresh would silently drop every item that was acknowledged.
            if let Ok(created) = std::fs::read_to_string(&marker) {
                return Err(StoreError::Corrupt(format!(
                    "the store created {} is empty: its database files were lost or damaged; \
                     restore them from a backup, or move the directory aside to start afresh",
                    created.trim()
                )));
            }
            meta.insert(FORMAT_KEY, FORMAT.to_be_bytes())?;
            db.persist(PersistMode::SyncAll)?;
            let mut f = std::fs::File::create(&marker).map_err(io)?;
            std::io::Write::write_all(
                &mut f,
                format!("at {} ms, format {FORMAT}\n", crate::item::now_ms()).as_bytes(),
            )
            .and_then(|()| f.sync_all())
            .map_err(io)?;
        } else {
            let found = meta
                .get(FORMAT_KEY)?
                .and_then(|v| keys::read_u64(&v))
                .ok_or_else(|| {
                    StoreError::Corrupt("the store has items but no format marker".into())
                })?;
            if found != FORMAT {
                return Err(StoreError::Incompatible {
                    found,
                    expected: FORMAT,
                });
            }
        }
        let read_counter = |key: &str| -> Result<u64, StoreError> {
            Ok(meta.get(key)?.and_then(|v| keys::read_u64(&v)).unwrap_or(1))
        };
        let next_id = read_counter(NEXT_ID)?;
        let next_seq = read_counter(NEXT_SEQ)?;
        let counts = ks("counts")?;
        let mut counts_mem = BTreeMap::new();
        for kv in counts.iter() {
            let (k, v) = kv.into_inner()?;
            let key =
                keys::split_count(&k).ok_or_else(|| StoreError::Corrupt("bad count key".into()))?;
            counts_mem.insert(key, keys::read_u64(&v).unwrap_or(0));
        }
        let mut retired = BTreeMap::new();
        for kv in meta.prefix(keys::flow_prefix(RETIRED)) {
            let (k, v) = kv.into_inner()?;
            let flow = String::from_utf8_lossy(&k[RETIRED.len() + 1..]).into_owned();
            retired.insert(flow, keys::read_u64(&v).unwrap_or(0));
        }
        // Payloads are large and written once: kept in blob files apart from the LSM tree, so
        // that flushes and compactions move keys and small metadata, not 16 KiB bodies.
        let payloads = db.keyspace("payloads", || {
            options().with_kv_separation(Some(KvSeparationOptions::default()))
        })?;
        Ok(ItemDb {
            items: ks("items")?,
            payloads,
            due: ks("due")?,
            states: ks("states")?,
            dedupe: ks("dedupe")?,
            history: ks("history")?,
            cursors: ks("cursors")?,
            mappings: ks("mappings")?,
            audit: ks("audit")?,
            jobs: ks("jobs")?,
            rollups: ks("rollups")?,
            pending_rollups: Default::default(),
            health: Default::default(),
            counts,
            meta,
            db,
            next_id,
            next_seq,
            counts_mem,
            due_floor: BTreeMap::new(),
            prune_floor: BTreeMap::new(),
            dry_floor: BTreeMap::new(),
            audit_floor: [0; 2],
            prune_pass: 0,
            retired,
        })
    }

    /// Writes `bytes` of filler under one meta key and makes it durable: proof that the store
    /// can write again after a failure.
    pub fn probe(&self, bytes: usize) -> Result<(), StoreError> {
        self.meta.insert(PROBE_KEY, vec![0u8; bytes])?;
        self.sync()
    }

    /// Makes everything committed so far durable (fdatasync of the journal).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.persist(PersistMode::SyncData)?;
        Ok(())
    }

    pub fn enqueue(&mut self, new: Vec<NewItem>, now: Millis) -> Result<Vec<Enqueued>, StoreError> {
        let mut out = Vec::with_capacity(new.len());
        let mut batch = self.db.batch();
        // Dedupe keys first stored earlier in this same call are not yet readable from disk.
        let mut fresh: BTreeMap<(String, String), ItemId> = BTreeMap::new();
        for n in new {
            validate_flow(&n.flow)?;
            if let Some(d) = &n.dedupe_key {
                let known = match fresh.get(&(n.flow.clone(), d.clone())) {
                    Some(id) => Some(*id),
                    None => self
                        .dedupe
                        .get(keys::named(&n.flow, d))?
                        .and_then(|v| keys::read_u64(&v))
                        .map(ItemId),
                };
                if let Some(id) = known {
                    out.push(Enqueued {
                        id,
                        duplicate: true,
                    });
                    continue;
                }
            }
            let id = ItemId(self.next_id);
            self.next_id += 1;
            let mut item = Item {
                id,
                flow: n.flow,
                kind: n.kind,
                key: n.key,
                state: ItemState::Pending,
                attempts: 0,
                created_at: now,
                updated_at: now,
                due_at: now,
                last_error: None,
                dedupe_key: n.dedupe_key,
                flow_resolves: n.flow_resolves,
                resolving: false,
            };
            if let Some(d) = &item.dedupe_key {
                // The time is kept beside the id so that old keys can be pruned.
                let mut value = keys::id(id).to_vec();
                value.extend_from_slice(&now.to_be_bytes());
                batch.insert(&self.dedupe, keys::named(&item.flow, d), value);
                fresh.insert((item.flow.clone(), d.clone()), id);
            }
            batch.insert(&self.payloads, keys::id(id), n.payload);
            let (state, note) = match n.exception {
                Some(reason) => {
                    item.last_error = Some(reason.clone());
                    (ItemState::Exception, Some(reason))
                }
                None => (ItemState::Pending, None),
            };
            self.transition(&mut batch, &mut item, None, state, now, now, note)?;
            out.push(Enqueued {
                id,
                duplicate: false,
            });
        }
        batch.insert(&self.meta, NEXT_ID, self.next_id.to_be_bytes());
        self.commit(batch)?;
        Ok(out)
    }

    /// Leases up to `max` due items of `flow` until `now + lease`. An item whose lease expires
    /// (its holder crashed or hung) is due again and may be claimed by the next holder.
    pub fn claim(
        &mut self,
        flow: &str,
        max: usize,
        lease: Millis,
        now: Millis,
    ) -> Result<Vec<Claimed>, StoreError> {
        let floor = self.due_floor.get(flow).copied().unwrap_or(0);
        let start = keys::due(flow, floor, ItemId(0));
        let end = keys::due(flow, now, ItemId(u64::MAX));
        let found: Vec<(Millis, ItemId)> = self
            .due
            .range(start..=end)
            .take(max)
            .map(|kv| {
                let k = kv.key()?;
                keys::split_due(&k).ok_or_else(|| StoreError::Corrupt("bad due key".into()))
            })
            .collect::<Result<_, StoreError>>()?;
        // Everything before the last item taken is claimed now; with fewer than asked for,
        // nothing due up to `now` is left. (Writes below lower the floor again as needed.)
        let next_floor = if found.len() < max {
            now
        } else {
            found.last().map_or(floor, |(at, _)| *at)
        };
        self.due_floor
            .insert(flow.to_string(), next_floor.max(floor));
        let due: Vec<ItemId> = found.into_iter().map(|(_, id)| id).collect();
        let mut batch = self.db.batch();
        let mut claimed = Vec::with_capacity(due.len());
        for id in due {
            let mut item = self.load(id)?;
            let from = item.state;
            let note = (from == ItemState::InFlight).then(|| "lease expired".to_string());
            item.attempts += 1;
            self.transition(
                &mut batch,
                &mut item,
                Some(from),
                ItemState::InFlight,
                now + lease,
                now,
                note,
            )?;
            let payload = self
                .payloads
                .get(keys::id(id))?
                .map(|v| v.to_vec())
                .unwrap_or_default();
            claimed.push(Claimed { item, payload });
        }
        self.commit(batch)?;
        Ok(claimed)
    }

    /// Records how processing ended. `attempt` must be the attempt the caller claimed: a holder
    /// whose lease expired and was taken over must not overwrite the new holder's result.
    pub fn complete(
        &mut self,
        id: ItemId,
        attempt: u32,
        done: Completion,
        now: Millis,
    ) -> Result<Item, StoreError> {
        let mut item = self.load(id)?;
        if item.state != ItemState::InFlight || item.attempts != attempt {
            return Err(StoreError::StaleLease { id, attempt });
        }
        let mut batch = self.db.batch();
        let (to, due, note) = match done {
            Completion::Done if item.resolving => (
                ItemState::Resolved,
                now,
                Some("resolution carried out".to_string()),
            ),
            Completion::Done => (ItemState::Done, now, None),
            Completion::Noted { note } if item.resolving => (
                ItemState::Resolved,
                now,
                Some(format!("resolution carried out: {note}")),
            ),
            Completion::Noted { note } => (ItemState::Done, now, Some(note)),
            Completion::Retry { at, error } => {
                item.last_error = Some(error.clone());
                (ItemState::Retrying, at.max(now), Some(error))
            }
            Completion::Exception { reason } => {
                item.last_error = Some(reason.clone());
                (ItemState::Exception, now, Some(reason))
            }
        };
        self.transition(
            &mut batch,
            &mut item,
            Some(ItemState::InFlight),
            to,
            due,
            now,
            note,
        )?;
        self.commit(batch)?;
        Ok(item)
    }

    /// An operator's retry, resolve or cancel, recorded in the item's history and the audit log.
    pub fn operate(
        &mut self,
        id: ItemId,
        action: OperatorAction,
        who: &str,
        note: Option<String>,
        now: Millis,
    ) -> Result<Item, StoreError> {
        let mut batch = self.db.batch();
        let item = self.operate_in(&mut batch, id, action, who, note, None, now)?;
        self.commit(batch)?;
        Ok(item)
    }

    /// The rules of an operator's action on one item, written into `batch`: the one path of
    /// [`ItemDb::operate`] and of every item of a bulk job. An action the item's state does not
    /// allow is refused before anything is written.
    #[allow(clippy::too_many_arguments)]
    fn operate_in(
        &mut self,
        batch: &mut WriteBatch,
        id: ItemId,
        action: OperatorAction,
        who: &str,
        note: Option<String>,
        job: Option<JobId>,
        now: Millis,
    ) -> Result<Item, StoreError> {
        let mut item = self.load(id)?;
        let from = item.state;
        let to = match (action, from) {
            (_, ItemState::InFlight) => None,
            // Finished work (an order delivered, an exception closed by a person, a version
            // superseded) would be done a second time: only on purpose.
            (OperatorAction::Retry, s) if s.is_terminal() => {
                return Err(StoreError::RetryOfFinished { id, state: s });
            }
            (OperatorAction::Retry | OperatorAction::RetryAgain, s)
                if s != ItemState::Pending || item.resolving =>
            {
                // (A pending resolution can be taken back by a retry.)
                Some(ItemState::Pending)
            }
            (
                OperatorAction::Resolve,
                ItemState::Exception | ItemState::Retrying | ItemState::Pending,
            ) => Some(ItemState::Resolved),
            (OperatorAction::Cancel, s) if !s.is_terminal() => Some(ItemState::Cancelled),
            _ => None,
        };
        let mut to = to.ok_or(StoreError::InvalidAction {
            id,
            action,
            state: from,
        })?;
        match action {
            OperatorAction::Retry | OperatorAction::RetryAgain => {
                item.attempts = 0;
                item.resolving = false;
            }
            OperatorAction::Resolve if item.flow_resolves => {
                // The flow carries the resolution out; it is due now.
                item.attempts = 0;
                item.resolving = true;
                to = ItemState::Pending;
            }
            _ => {}
        }
        // `retry-again` marks only a re-run of finished work; on an item still open it is
        // the plain retry it amounts to.
        let recorded = match action {
            OperatorAction::RetryAgain if !from.is_terminal() => OperatorAction::Retry,
            other => other,
        };
        let line = format!(
            "{} by {who}{}{}",
            recorded.as_str(),
            job.map(|j| format!(" ({})", job_line(j)))
                .unwrap_or_default(),
            note.as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        );
        self.transition(batch, &mut item, Some(from), to, now, now, Some(line))?;
        let note = match job {
            Some(j) => Some(match note {
                Some(n) => format!("{}: {n}", job_line(j)),
                None => job_line(j),
            }),
            None => note,
        };
        let entry = AuditEntry {
            at: now,
            who: who.to_string(),
            action: recorded.as_str().to_string(),
            target: format!("item {id}"),
            note,
        };
        self.push_audit(batch, &entry)?;
        Ok(item)
    }

    /// Starts a bulk job: stored as running, with the number of items its filter matches now
    /// and the first item id it will not touch, and audited, in one batch.
    pub fn create_job(&mut self, spec: JobSpec, now: Millis) -> Result<BulkJob, StoreError> {
        if let Some(flow) = &spec.filter.flow {
            validate_flow(flow)?;
        }
        let id = self
            .meta
            .get(NEXT_JOB)?
            .and_then(|v| keys::read_u64(&v))
            .unwrap_or(1);
        let expected = self
            .counts_mem
            .iter()
            .filter(|((flow, state), _)| {
                spec.filter.flow.as_ref().is_none_or(|f| f == flow)
                    && spec.filter.state.is_none_or(|s| s == *state)
            })
            .map(|(_, n)| *n)
            .sum();
        let job = BulkJob {
            id,
            action: spec.action,
            filter: spec.filter,
            note: spec.note,
            user: spec.user,
            created_at: now,
            state: JobState::Running,
            expected,
            matched: 0,
            changed: 0,
            skipped: 0,
            failed: 0,
            after: None,
            until: ItemId(self.next_id),
            finished_at: None,
            cancelled_by: None,
            last_error: None,
        };
        let mut batch = self.db.batch();
        batch.insert(&self.meta, NEXT_JOB, (id + 1).to_be_bytes());
        batch.insert(&self.jobs, id.to_be_bytes(), encode(&job)?);
        let entry = AuditEntry {
            at: now,
            who: job.user.clone(),
            action: format!("bulk {}", job.action.as_str()),
            target: format!(
                "{} ({}: {expected} items)",
                job_line(id),
                job.filter.describe()
            ),
            note: job.note.clone(),
        };
        self.push_audit(&mut batch, &entry)?;
        self.commit(batch)?;
        Ok(job)
    }

    /// One step of a running job: the next `budget` items matching its filter (after the last
    /// one it looked at, created before it started) are acted on as [`ItemDb::operate`] would,
    /// and the job's progress is written in the same batch; the step that finds no more items
    /// ends the job and audits its counts. A job that is over is returned as it is. Also
    /// returns the flows that got due work (items sent back to them).
    pub fn job_step(
        &mut self,
        id: JobId,
        budget: usize,
        now: Millis,
    ) -> Result<(BulkJob, Vec<String>), StoreError> {
        let mut job = self.job(id)?.ok_or(StoreError::JobNotFound(id))?;
        if job.state.is_over() {
            return Ok((job, Vec::new()));
        }
        let budget = budget.max(1);
        let flows: Vec<String> = match &job.filter.flow {
            Some(f) => vec![f.clone()],
            None => self.flows(),
        };
        let states: Vec<ItemState> = match job.filter.state {
            Some(s) => vec![s],
            None => ItemState::ALL.to_vec(),
        };
        // Each state index is in id order, so the page's ids are among the first `budget` of
        // each (as in `list`).
        let mut ids = Vec::new();
        for flow in &flows {
            for state in &states {
                ids.extend(
                    self.ids_in_state(flow, *state, job.after, budget)?
                        .into_iter()
                        .filter(|i| *i < job.until),
                );
            }
        }
        ids.sort_unstable();
        let last_page = ids.len() < budget;
        ids.truncate(budget);
        let mut batch = self.db.batch();
        let mut woken = Vec::new();
        for item in &ids {
            match self.operate_in(
                &mut batch,
                *item,
                job.action,
                &job.user,
                job.note.clone(),
                Some(id),
                now,
            ) {
                Ok(changed) => {
                    job.changed += 1;
                    if changed.state == ItemState::Pending && !woken.contains(&changed.flow) {
                        woken.push(changed.flow);
                    }
                }
                Err(StoreError::InvalidAction { .. } | StoreError::RetryOfFinished { .. }) => {
                    job.skipped += 1
                }
                // The batch cannot be written: nothing of this step happened.
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => {
                    job.failed += 1;
                    job.last_error = Some(format!("item {item}: {e}"));
                }
            }
            job.matched += 1;
            job.after = Some(*item);
        }
        if last_page {
            self.end_job(&mut batch, &mut job, JobState::Finished, None, now)?;
        } else {
            batch.insert(&self.jobs, id.to_be_bytes(), encode(&job)?);
        }
        self.commit(batch)?;
        Ok((job, woken))
    }

    /// Cancels a running job at once: no later step changes an item, so its counts are what
    /// it did.
    pub fn cancel_job(&mut self, id: JobId, who: &str, now: Millis) -> Result<BulkJob, StoreError> {
        let mut job = self.job(id)?.ok_or(StoreError::JobNotFound(id))?;
        if job.state.is_over() {
            return Err(StoreError::JobOver {
                id,
                state: job.state,
            });
        }
        let mut batch = self.db.batch();
        self.end_job(&mut batch, &mut job, JobState::Cancelled, Some(who), now)?;
        self.commit(batch)?;
        Ok(job)
    }

    /// Ends a running job that cannot go on, with the reason; a job that is over is returned
    /// as it is.
    pub fn fail_job(
        &mut self,
        id: JobId,
        error: String,
        now: Millis,
    ) -> Result<BulkJob, StoreError> {
        let mut job = self.job(id)?.ok_or(StoreError::JobNotFound(id))?;
        if job.state.is_over() {
            return Ok(job);
        }
        job.last_error = Some(error);
        let mut batch = self.db.batch();
        self.end_job(&mut batch, &mut job, JobState::Failed, None, now)?;
        self.commit(batch)?;
        Ok(job)
    }

    /// Writes `job` as over, with the audit entry that says how it ended and what it did.
    fn end_job(
        &mut self,
        batch: &mut WriteBatch,
        job: &mut BulkJob,
        state: JobState,
        by: Option<&str>,
        now: Millis,
    ) -> Result<(), StoreError> {
        job.state = state;
        job.finished_at = Some(now);
        job.cancelled_by = by.map(str::to_string);
        batch.insert(&self.jobs, job.id.to_be_bytes(), encode(&*job)?);
        let mut note = job.counts();
        if let (JobState::Failed, Some(e)) = (state, &job.last_error) {
            note.push_str(&format!("; {e}"));
        }
        let entry = AuditEntry {
            at: now,
            who: by.unwrap_or(&job.user).to_string(),
            action: format!("bulk {} {}", job.action.as_str(), state.as_str()),
            target: format!("{} ({})", job_line(job.id), job.filter.describe()),
            note: Some(note),
        };
        self.push_audit(batch, &entry)
    }

    pub fn job(&self, id: JobId) -> Result<Option<BulkJob>, StoreError> {
        self.jobs
            .get(id.to_be_bytes())?
            .map(|raw| decode(&raw))
            .transpose()
    }

    /// The newest `limit` jobs, newest first.
    pub fn jobs(&self, limit: usize) -> Result<Vec<BulkJob>, StoreError> {
        self.jobs
            .iter()
            .rev()
            .take(limit)
            .map(|kv| decode(&kv.value()?))
            .collect()
    }

    /// Jobs still running (to resume after a restart), oldest first.
    pub fn running_jobs(&self) -> Result<Vec<BulkJob>, StoreError> {
        let mut running = Vec::new();
        for kv in self.jobs.iter() {
            let job: BulkJob = decode(&kv.value()?)?;
            if !job.state.is_over() {
                running.push(job);
            }
        }
        Ok(running)
    }

    /// Makes every retrying item (of any flow) whose last error starts with `prefix` due now:
    /// what it was waiting for (an endpoint, named in its errors as `name: …`) is back, so
    /// waiting out the backoff would only delay it. Returns the flows that got due work.
    pub fn wake(&mut self, prefix: &str, now: Millis) -> Result<Vec<String>, StoreError> {
        let mut woken = Vec::new();
        let mut batch = self.db.batch();
        for flow in self.flows() {
            let mut any = false;
            for id in self.ids_in_state(&flow, ItemState::Retrying, None, usize::MAX)? {
                let mut item = self.load(id)?;
                let waiting = item.due_at > now
                    && item
                        .last_error
                        .as_deref()
                        .is_some_and(|e| e.starts_with(prefix));
                if waiting {
                    let note = format!("{} is reachable again", prefix.trim_end_matches(':'));
                    self.transition(
                        &mut batch,
                        &mut item,
                        Some(ItemState::Retrying),
                        ItemState::Retrying,
                        now,
                        now,
                        Some(note),
                    )?;
                    any = true;
                }
            }
            if any {
                woken.push(flow);
            }
        }
        self.commit(batch)?;
        Ok(woken)
    }

    /// Makes every in-flight item of `flow` due now: its holder is gone (crashed and restarted),
    /// so waiting for the lease to expire would only delay the retry.
    pub fn release(&mut self, flow: &str, now: Millis) -> Result<usize, StoreError> {
        let ids = self.ids_in_state(flow, ItemState::InFlight, None, usize::MAX)?;
        let mut batch = self.db.batch();
        for id in &ids {
            let mut item = self.load(*id)?;
            self.transition(
                &mut batch,
                &mut item,
                Some(ItemState::InFlight),
                ItemState::Pending,
                now,
                now,
                Some("released: its holder stopped".into()),
            )?;
        }
        self.commit(batch)?;
        Ok(ids.len())
    }

    pub fn get(&self, id: ItemId) -> Result<Option<(Item, Vec<u8>)>, StoreError> {
        let Some(raw) = self.items.get(keys::id(id))? else {
            return Ok(None);
        };
        let item = decode(&raw)?;
        let payload = self
            .payloads
            .get(keys::id(id))?
            .map(|v| v.to_vec())
            .unwrap_or_default();
        Ok(Some((item, payload)))
    }

    pub fn history(&self, id: ItemId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.history
            .prefix(keys::id(id))
            .map(|kv| decode(&kv.value()?))
            .collect()
    }

    /// Items matching `filter` with ids above `after`, oldest first, at most `limit`.
    pub fn list(
        &self,
        filter: &ItemFilter,
        after: Option<ItemId>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let flows: Vec<String> = match &filter.flow {
            Some(f) => vec![f.clone()],
            None => self.flows(),
        };
        let states: Vec<ItemState> = match filter.state {
            Some(s) => vec![s],
            None => ItemState::ALL.to_vec(),
        };
        let needle = filter.key.as_ref().map(|k| k.to_lowercase());
        let refined = needle.is_some() || filter.updated_before.is_some();
        // Unrefined, the indexes answer exactly; refined, candidates are read in id order
        // until enough match or the scan budget is spent.
        let want = if refined { SCAN_BUDGET } else { limit };
        let mut ids = Vec::new();
        for flow in &flows {
            for state in &states {
                ids.extend(self.ids_in_state(flow, *state, after, want)?);
            }
        }
        ids.sort_unstable();
        ids.truncate(want);
        let mut out = Vec::with_capacity(limit.min(ids.len()));
        for id in ids {
            if out.len() >= limit {
                break;
            }
            let item = self.load(id)?;
            let key_ok = needle
                .as_ref()
                .is_none_or(|n| item.key.to_lowercase().contains(n.as_str()));
            let age_ok = filter.updated_before.is_none_or(|t| item.updated_at < t);
            if key_ok && age_ok {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// Every flow that has ever held an item.
    pub fn flows(&self) -> Vec<String> {
        let mut flows: Vec<String> = self.counts_mem.keys().map(|(f, _)| f.clone()).collect();
        flows.dedup();
        flows
    }

    pub fn counts(&self) -> &BTreeMap<(String, ItemState), u64> {
        &self.counts_mem
    }

    pub fn count(&self, flow: &str, state: ItemState) -> u64 {
        self.counts_mem
            .get(&(flow.to_string(), state))
            .copied()
            .unwrap_or(0)
    }

    /// When the earliest waiting item of `flow` is due, if any.
    pub fn next_due(&self, flow: &str) -> Result<Option<Millis>, StoreError> {
        let floor = self.due_floor.get(flow).copied().unwrap_or(0);
        let start = keys::due(flow, floor, ItemId(0));
        let end = keys::due(flow, Millis::MAX, ItemId(u64::MAX));
        match self.due.range(start..=end).next() {
            Some(kv) => Ok(keys::split_due(&kv.key()?).map(|(at, _)| at)),
            None => Ok(None),
        }
    }

    pub fn cursor(&self, flow: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .cursors
            .get(keys::named(flow, name))?
            .map(|v| v.to_vec()))
    }

    pub fn set_cursor(&mut self, flow: &str, name: &str, value: Vec<u8>) -> Result<(), StoreError> {
        validate_flow(flow)?;
        let mut batch = self.db.batch();
        batch.insert(&self.cursors, keys::named(flow, name), value);
        self.commit(batch)
    }

    pub fn mappings(
        &self,
        namespace: &str,
        keys_wanted: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys_wanted
            .iter()
            .map(|k| {
                Ok(self
                    .mappings
                    .get(keys::named(namespace, k))?
                    .map(|v| v.to_vec()))
            })
            .collect()
    }

    pub fn set_mappings(
        &mut self,
        namespace: &str,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        validate_flow(namespace)?;
        let mut batch = self.db.batch();
        for (k, v) in pairs {
            batch.insert(&self.mappings, keys::named(namespace, &k), v);
        }
        self.commit(batch)
    }

    /// Forgets dedupe keys recorded before `cutoff`, so the dedupe index stays bounded. A
    /// sender that retries after that is treated as new. Returns how many were dropped.
    pub fn prune_dedupe(&mut self, cutoff: Millis) -> Result<usize, StoreError> {
        let mut n = 0;
        let mut from = Vec::new();
        loop {
            let (dropped, next) = self.prune_dedupe_step(cutoff, &from, 10_000)?;
            n += dropped;
            match next {
                Some(next) => from = next,
                None => return Ok(n),
            }
        }
    }

    /// [`ItemDb::prune_dedupe`] in a bounded step: up to `budget` keys from `from` (keys are
    /// not in time order, so the whole index is walked, a step at a time). Returns how many
    /// were dropped and where the next step starts (`None`: the walk is complete).
    pub fn prune_dedupe_step(
        &mut self,
        cutoff: Millis,
        from: &[u8],
        budget: usize,
    ) -> Result<(usize, Option<Vec<u8>>), StoreError> {
        let mut batch = self.db.batch();
        let mut n = 0;
        let mut next = None;
        for (i, kv) in self.dedupe.range(from.to_vec()..).enumerate() {
            let (k, v) = kv.into_inner()?;
            if i == budget {
                next = Some(k.to_vec());
                break;
            }
            // Entries without a timestamp predate retention; they are kept.
            if let Some(at) = v.get(8..).and_then(keys::read_u64)
                && at < cutoff
            {
                batch.remove(&self.dedupe, k);
                n += 1;
            }
        }
        self.commit(batch)?;
        Ok((n, next))
    }

    /// Retires finished items whose window has passed (done, resolved, cancelled: never an
    /// open exception or work still due), oldest first, and audit entries past theirs,
    /// looking at no more than `budget` keys: one bounded step, one atomic batch, so a crash
    /// mid-prune leaves every item whole or gone. `dry` counts without removing. An item's
    /// dedupe key stays until its own expiry, and a flow's records (an order's versions, id
    /// maps) are not items: they stay.
    pub fn prune(&mut self, now: Millis, step: PruneStep) -> Result<Pruned, StoreError> {
        let PruneStep {
            retention,
            budget,
            dry,
            fresh,
        } = step;
        if now.saturating_sub(self.prune_pass) >= FULL_PASS_EVERY {
            self.prune_floor.clear();
            self.prune_pass = now;
        }
        if fresh {
            self.floors(dry).clear();
            self.audit_floor[usize::from(dry)] = 0;
        }
        let mut batch = self.db.batch();
        let mut done = Pruned::default();
        let candidates: Vec<(String, ItemState)> = self
            .counts_mem
            .iter()
            .filter(|((_, state), n)| **n > 0 && retention.window(*state).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        let mut retired: BTreeMap<String, u64> = BTreeMap::new();
        for (flow, state) in candidates {
            let Some(window) = retention.window(state) else {
                continue;
            };
            let floor = self
                .floors(dry)
                .get(&(flow.clone(), state))
                .copied()
                .unwrap_or(0);
            let start = keys::state(&flow, state, ItemId(floor));
            let end = keys::prefix_end(&keys::state_prefix(&flow, state));
            let mut next_floor = None;
            for kv in self.states.range(start..end) {
                if done.scanned as usize >= budget {
                    done.more = true;
                    break;
                }
                done.scanned += 1;
                let id = keys::state_item(&kv.key()?)
                    .ok_or_else(|| StoreError::Corrupt("bad state key".into()))?;
                let item = self.load(id)?;
                if item.updated_at.saturating_add(window) > now {
                    // Items are in creation order; finished ones mostly in the same order, so
                    // the rest are young too. A straggler is reached by the next full pass.
                    next_floor = Some(id.0);
                    break;
                }
                next_floor = Some(id.0 + 1);
                done.items += 1;
                if dry {
                    continue;
                }
                batch.remove(&self.items, keys::id(id));
                batch.remove(&self.payloads, keys::id(id));
                batch.remove(&self.states, keys::state(&flow, state, id));
                let from = keys::history(id, 0);
                let to = keys::history(ItemId(id.0 + 1), 0);
                for h in self.history.range(from..to) {
                    batch.remove(&self.history, h.key()?);
                }
                self.bump(&mut batch, &flow, state, -1);
                *retired.entry(flow.clone()).or_default() += 1;
            }
            if let Some(f) = next_floor {
                self.floors(dry).insert((flow, state), f);
            }
            if done.more {
                break;
            }
        }
        if retention.audit > 0 && !done.more {
            let floor = self.audit_floor[usize::from(dry)];
            for kv in self.audit.range(floor.to_be_bytes()..) {
                if done.scanned as usize >= budget {
                    done.more = true;
                    break;
                }
                let (k, v) = kv.into_inner()?;
                let entry: AuditEntry = decode(&v)?;
                if entry.at.saturating_add(retention.audit) > now {
                    break;
                }
                done.scanned += 1;
                done.audit += 1;
                self.audit_floor[usize::from(dry)] = keys::read_u64(&k).unwrap_or(0) + 1;
                if !dry {
                    batch.remove(&self.audit, k);
                }
            }
        }
        if dry {
            return Ok(done);
        }
        if retention.audit > 0 && !done.more {
            // A job's record goes with its audit entries; there are a few a day, so all are
            // looked at.
            for kv in self.jobs.iter() {
                let (k, v) = kv.into_inner()?;
                let job: BulkJob = decode(&v)?;
                if job
                    .finished_at
                    .is_some_and(|at| at.saturating_add(retention.audit) <= now)
                {
                    batch.remove(&self.jobs, k);
                }
            }
        }
        for (flow, n) in retired {
            let total = self.retired.entry(flow.clone()).or_default();
            *total += n;
            batch.insert(&self.meta, keys::named(RETIRED, &flow), total.to_be_bytes());
        }
        self.commit(batch)?;
        Ok(done)
    }

    fn floors(&mut self, dry: bool) -> &mut BTreeMap<(String, ItemState), u64> {
        if dry {
            &mut self.dry_floor
        } else {
            &mut self.prune_floor
        }
    }

    /// Items retired so far, per flow.
    pub fn retired(&self) -> &BTreeMap<String, u64> {
        &self.retired
    }

    /// When the oldest item still kept was created, if any is.
    pub fn oldest(&self) -> Result<Option<Millis>, StoreError> {
        match self.items.first_key_value() {
            Some(kv) => {
                let item: Item = decode(&kv.value()?)?;
                Ok(Some(item.created_at))
            }
            None => Ok(None),
        }
    }

    /// The database's size on disk, in bytes.
    pub fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }

    /// Records an operator action that is not tied to one item (pausing a flow, a bulk retry).
    pub fn audit(&mut self, entry: AuditEntry) -> Result<(), StoreError> {
        let mut batch = self.db.batch();
        self.push_audit(&mut batch, &entry)?;
        self.commit(batch)
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit
            .iter()
            .rev()
            .take(limit)
            .map(|kv| decode(&kv.value()?))
            .collect()
    }

    fn ids_in_state(
        &self,
        flow: &str,
        state: ItemState,
        after: Option<ItemId>,
        limit: usize,
    ) -> Result<Vec<ItemId>, StoreError> {
        let prefix = keys::state_prefix(flow, state);
        let start = match after {
            Some(a) => keys::state(flow, state, ItemId(a.0.saturating_add(1))),
            None => prefix.clone(),
        };
        let end = keys::prefix_end(&prefix);
        self.states
            .range(start..end)
            .take(limit)
            .map(|kv| {
                keys::state_item(&kv.key()?)
                    .ok_or_else(|| StoreError::Corrupt("bad state key".into()))
            })
            .collect()
    }

    fn load(&self, id: ItemId) -> Result<Item, StoreError> {
        let raw = self
            .items
            .get(keys::id(id))?
            .ok_or(StoreError::NotFound(id))?;
        decode(&raw)
    }

    /// Moves `item` to `to`, keeping the indexes, the counts and the history in step, all in
    /// `batch` so that a crash leaves either the old state everywhere or the new one.
    #[allow(clippy::too_many_arguments)]
    fn transition(
        &mut self,
        batch: &mut WriteBatch,
        item: &mut Item,
        from: Option<ItemState>,
        to: ItemState,
        due_at: Millis,
        now: Millis,
        note: Option<String>,
    ) -> Result<(), StoreError> {
        self.count_health(batch, item, from, to, now)?;
        if let Some(from) = from {
            if is_due_state(from) {
                batch.remove(&self.due, keys::due(&item.flow, item.due_at, item.id));
            }
            batch.remove(&self.states, keys::state(&item.flow, from, item.id));
            self.bump(batch, &item.flow, from, -1);
        }
        item.state = to;
        item.updated_at = now;
        item.due_at = due_at;
        if is_due_state(to) {
            batch.insert(&self.due, keys::due(&item.flow, due_at, item.id), []);
            if let Some(floor) = self.due_floor.get_mut(&item.flow) {
                *floor = (*floor).min(due_at);
            }
        }
        batch.insert(&self.states, keys::state(&item.flow, to, item.id), []);
        self.bump(batch, &item.flow, to, 1);
        batch.insert(&self.items, keys::id(item.id), encode(item)?);
        let entry = HistoryEntry {
            at: now,
            from,
            to,
            note,
        };
        batch.insert(
            &self.history,
            keys::history(item.id, self.next_seq),
            encode(&entry)?,
        );
        self.next_seq += 1;
        batch.insert(&self.meta, NEXT_SEQ, self.next_seq.to_be_bytes());
        Ok(())
    }

    fn bump(&mut self, batch: &mut WriteBatch, flow: &str, state: ItemState, delta: i64) {
        let n = self
            .counts_mem
            .entry((flow.to_string(), state))
            .or_insert(0);
        *n = n.saturating_add_signed(delta);
        let mut key = keys::flow_prefix(flow);
        key.push(state as u8);
        batch.insert(&self.counts, key, n.to_be_bytes());
    }

    fn push_audit(&mut self, batch: &mut WriteBatch, entry: &AuditEntry) -> Result<(), StoreError> {
        batch.insert(&self.audit, self.next_seq.to_be_bytes(), encode(entry)?);
        self.next_seq += 1;
        batch.insert(&self.meta, NEXT_SEQ, self.next_seq.to_be_bytes());
        Ok(())
    }

    pub(super) fn batch(&self) -> WriteBatch {
        self.db.batch()
    }

    pub(super) fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        batch.commit()?;
        Ok(())
    }
}

/// States whose items wait in the `due` index: claimable now or when their time (retry or
/// lease expiry) comes.
fn is_due_state(s: ItemState) -> bool {
    matches!(
        s,
        ItemState::Pending | ItemState::Retrying | ItemState::InFlight
    )
}

fn validate_flow(flow: &str) -> Result<(), StoreError> {
    if flow.is_empty() || flow.contains('\0') {
        return Err(StoreError::BadName(flow.to_string()));
    }
    Ok(())
}

fn encode<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}
