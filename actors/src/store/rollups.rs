//! Report rollups: counters per time bucket, kept up to date as flows process items, so that a
//! report over a range is one scan of its buckets.
//!
//! Each counted entity (an order) records what it contributed, per bucket. Counting a newer
//! version applies only the difference, and counting the same version again changes nothing:
//! a webhook replayed after a crash, or a reconciliation that finds the order again, cannot
//! count it twice. Counts gather in memory for the length of one store group and are written
//! at its end, contributions and bucket changes in one write batch.
//!
//! Two more kinds of write serve facts that are not an entity's contribution
//! ([`RollupWrite`]): a *level* sets counters of a bucket that one writer owns (the stock on
//! hand of a SKU on a day), unless the bucket already holds a newer one, so a replay or an older
//! reading changes nothing; an *add* counts events as they happen (Shopify points spent), for
//! figures where a count lost or doubled by a crash is tolerable and an entity per event is not.
//!
//! An entity may also be counted at a version ([`RollupWrite::Versioned`], an order's
//! `updated_at`): a contribution of an older version than the one kept is refused, so history
//! read later (a backfill from a bulk query) never moves an order back behind what the live
//! path counted, and a late webhook of an old version never moves it behind the backfill,
//! whichever arrives first.
//!
//! Keys (keyspace `rollups`): `b{bucket}` → the bucket's counters, `c{entity}` → what the
//! entity counted, after the version it was counted at if any (see [`Counted`]). A bucket's
//! name starts with its report and resolution and then its time
//! (`sales/day/2026-12-07/web/USD`), so a range of days is a range of keys.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::StoreError;
use super::counted::Counted;
use super::db::ItemDb;

/// Named counters: money in ten-thousandths of the currency unit, counts as they are.
pub type Counters = BTreeMap<String, i64>;

/// What one entity counts, per bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution(pub BTreeMap<String, Counters>);

impl Contribution {
    /// Adds `n` to `counter` of `bucket`.
    pub fn add(&mut self, bucket: &str, counter: &str, n: i64) {
        if n == 0 {
            return;
        }
        // Names are copied only the first time they are seen: an order adds to each of its
        // buckets several times, and the orders flow counts every order it takes.
        match self.0.get_mut(bucket) {
            Some(counters) => bump(counters, counter, n),
            None => {
                self.0.insert(
                    bucket.to_string(),
                    Counters::from([(counter.to_string(), n)]),
                );
            }
        }
    }

    /// Adds each of `counts` to `bucket`, whose name it takes: for a caller that builds a
    /// bucket's name to count several things in it.
    pub fn add_all(&mut self, bucket: String, counts: &[(&str, i64)]) {
        if counts.iter().all(|(_, n)| *n == 0) {
            return;
        }
        let counters = self.0.entry(bucket).or_default();
        for (counter, n) in counts.iter().filter(|(_, n)| *n != 0) {
            bump(counters, counter, *n);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|c| c.values().all(|v| *v == 0))
    }
}

/// Adds `n` to `counter`, copying its name only if it is new.
fn bump(counters: &mut Counters, counter: &str, n: i64) {
    match counters.get_mut(counter) {
        Some(v) => *v += n,
        None => {
            counters.insert(counter.to_string(), n);
        }
    }
}

/// Per bucket and counter: `new - old`, without zeros.
fn difference(old: &Contribution, new: &Contribution) -> BTreeMap<String, Counters> {
    let mut out: BTreeMap<String, Counters> = BTreeMap::new();
    for (bucket, counters) in &new.0 {
        for (name, v) in counters {
            *out.entry(bucket.clone())
                .or_default()
                .entry(name.clone())
                .or_default() += v;
        }
    }
    for (bucket, counters) in &old.0 {
        for (name, v) in counters {
            *out.entry(bucket.clone())
                .or_default()
                .entry(name.clone())
                .or_default() -= v;
        }
    }
    for c in out.values_mut() {
        c.retain(|_, v| *v != 0);
    }
    out.retain(|_, c| !c.is_empty());
    out
}

fn bucket_key(bucket: &str) -> Vec<u8> {
    [b"b", bucket.as_bytes()].concat()
}

fn entity_key(entity: &str) -> Vec<u8> {
    [b"c", entity.as_bytes()].concat()
}

fn corrupt(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("rollup {what}: {e}"))
}

/// The counter of a level that orders it: a level replaces the bucket's counters only if it is
/// at least as new as what the bucket holds.
pub const LEVEL_AS_OF: &str = "as_of";

/// One rollup write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollupWrite {
    /// `entity` counts as this now: buckets change by the difference from what it counted.
    Count {
        entity: String,
        contribution: Contribution,
    },
    /// These counters of `bucket` become these values, unless the bucket holds a newer
    /// [`LEVEL_AS_OF`]. A counter at zero is removed (absent reads as zero).
    Level { bucket: String, counters: Counters },
    /// Adds to counters of `bucket`, as events happen.
    Add { bucket: String, counters: Counters },
    /// [`RollupWrite::Count`] of the entity's `version`: nothing changes if it was counted at
    /// a newer one.
    Versioned {
        entity: String,
        version: u64,
        contribution: Contribution,
    },
}

/// Rollups counted but not yet written: the buckets' changes summed, the newest level of each
/// bucket, and what each entity counts now. The store writer flushes them once per group,
/// before the group's fsync, so a group of orders landing on the same day and hour reads and
/// writes each bucket once.
#[derive(Debug, Default)]
pub struct Pending {
    buckets: HashMap<String, Counters>,
    levels: BTreeMap<String, Counters>,
    entities: BTreeMap<String, Counted>,
    /// Buckets as last written: the flush is their only writer, so a bucket is read from disk
    /// once rather than at every flush that changes it (the day's buckets change in nearly
    /// every group). Emptied when it outgrows [`KNOWN_BUCKETS`], so memory stays flat. The
    /// [`HEALTH`] buckets are written with each transition instead, never through here.
    known: HashMap<String, Counters>,
}

/// Buckets kept as written, at most: a day's sales, fulfilment and customers buckets and a
/// few thousand SKUs' with room to spare, some megabytes.
const KNOWN_BUCKETS: usize = 16_384;

impl Pending {
    fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.levels.is_empty() && self.entities.is_empty()
    }

    /// After a flush: the counts are written, and the buckets are as `written` says.
    fn written(&mut self, written: Vec<(String, Counters)>) {
        self.buckets.clear();
        self.levels.clear();
        self.entities.clear();
        if self.known.len() + written.len() > KNOWN_BUCKETS {
            self.known.clear();
        }
        self.known.extend(written);
    }

    /// Adds `changes` to what `bucket` will change by; names are copied only when new to the
    /// group, which most are not (a group's orders land on the same days and SKUs).
    fn add<'a>(&mut self, bucket: &str, changes: impl IntoIterator<Item = (&'a String, i64)>) {
        if !self.buckets.contains_key(bucket) {
            self.buckets.insert(bucket.to_string(), Counters::new());
        }
        if let Some(counters) = self.buckets.get_mut(bucket) {
            for (name, d) in changes {
                bump(counters, name, d);
            }
        }
    }
}

fn as_of(c: &Counters) -> i64 {
    c.get(LEVEL_AS_OF).copied().unwrap_or(i64::MIN)
}

/// The integration health report's buckets: per UTC day, flow and kind of item, what the store
/// saw happen to items. Counted in the batch of the transition itself, so exact.
pub const HEALTH: &str = "health";

pub mod health {
    /// Items stored.
    pub const RECEIVED: &str = "received";
    pub const DONE: &str = "done";
    /// Items that became exceptions.
    pub const EXCEPTIONS: &str = "exceptions";
    /// Exceptions an operator (or the flow) moved on: retried, resolved or cancelled.
    pub const CLOSED: &str = "closed";
    pub const RESOLVED: &str = "resolved";
    /// Whole hours an exception stayed open before it closed: `close_h{N}`.
    pub const CLOSE_HOURS: &str = "close_h";
    /// Hours at and beyond this share the last histogram counter.
    pub const MAX_HOURS: u64 = 720;
}

/// The health buckets of one day, as written: the store is their only writer, so after the
/// first read of a bucket the copy here is the truth.
#[derive(Debug, Default)]
pub struct HealthDay {
    /// `2026-12-07`, and the milliseconds it spans, `[start, end)` (UTC).
    day: String,
    start: u64,
    end: u64,
    /// Bucket name → its counters.
    buckets: BTreeMap<String, Counters>,
}

const DAY_MS: u64 = 86_400_000;

impl HealthDay {
    /// The day `at` falls in (UTC), with nothing counted yet.
    fn of(at: u64) -> HealthDay {
        let start = at - at % DAY_MS;
        let day = chrono::DateTime::from_timestamp_millis(i64::try_from(start).unwrap_or(0))
            .map(|t| t.date_naive().to_string())
            .unwrap_or_default();
        HealthDay {
            day,
            start,
            end: start + DAY_MS,
            buckets: BTreeMap::new(),
        }
    }
}

impl ItemDb {
    /// Counts what the move of `item` from `from` to `to` tells the health report, in the
    /// transition's own batch. `item` is as it was before the move.
    pub(super) fn count_health(
        &mut self,
        batch: &mut fjall::OwnedWriteBatch,
        item: &crate::item::Item,
        from: Option<crate::item::ItemState>,
        to: crate::item::ItemState,
        now: u64,
    ) -> Result<(), StoreError> {
        use crate::item::ItemState as S;
        let mut events: Vec<(String, i64)> = Vec::new();
        if from.is_none() {
            events.push((health::RECEIVED.into(), 1));
        }
        match (from, to) {
            (Some(S::Exception), S::Exception) => {}
            (_, S::Exception) => events.push((health::EXCEPTIONS.into(), 1)),
            (Some(S::Exception), to) => {
                // An exception keeps the time it became one: nothing else moves it.
                let hours =
                    (now.saturating_sub(item.updated_at) / 3_600_000).min(health::MAX_HOURS);
                events.push((health::CLOSED.into(), 1));
                events.push((format!("{}{hours}", health::CLOSE_HOURS), 1));
                if to == S::Resolved {
                    events.push((health::RESOLVED.into(), 1));
                }
            }
            _ => {}
        }
        if to == S::Done && from != Some(S::Done) {
            events.push((health::DONE.into(), 1));
        }
        if events.is_empty() {
            return Ok(());
        }
        if !(self.health.start..self.health.end).contains(&now) {
            self.health = HealthDay::of(now);
        }
        // Per flow and kind: the exceptions flow's kinds are the rules that held an order.
        let bucket = format!(
            "{HEALTH}/day/{}/{}/{}",
            self.health.day, item.flow, item.kind
        );
        let key = bucket_key(&bucket);
        if !self.health.buckets.contains_key(&bucket) {
            let stored = self.stored_bucket(&key)?.unwrap_or_default();
            self.health.buckets.insert(bucket.clone(), stored);
        }
        let counters = self.health.buckets.entry(bucket).or_default();
        for (name, n) in events {
            *counters.entry(name).or_default() += n;
        }
        let bytes = serde_json::to_vec(counters).map_err(|e| corrupt("bucket", e))?;
        batch.insert(&self.rollups, key, bytes);
        Ok(())
    }

    /// Makes `entity` count as `new`: the difference from what it counted before joins the
    /// pending rollups. Returns whether any bucket changes. Written by
    /// [`ItemDb::flush_rollups`].
    pub fn rollup(&mut self, entity: &str, new: Contribution) -> Result<bool, StoreError> {
        self.rollup_at(entity, None, new)
    }

    /// [`ItemDb::rollup`] of the entity's `version`: refused (nothing changes, `false`) when
    /// the entity was counted at a newer version.
    pub fn rollup_version(
        &mut self,
        entity: &str,
        version: u64,
        new: Contribution,
    ) -> Result<bool, StoreError> {
        self.rollup_at(entity, Some(version), new)
    }

    fn rollup_at(
        &mut self,
        entity: &str,
        version: Option<u64>,
        new: Contribution,
    ) -> Result<bool, StoreError> {
        // Taken out rather than cloned: it is replaced below, or put back as it was.
        let (old, was_pending) = match self.pending_rollups.entities.remove(entity) {
            Some(pending) => (pending, true),
            None => (self.stored(entity)?.unwrap_or_default(), false),
        };
        let refused = matches!((old.version, version), (Some(kept), Some(v)) if kept > v);
        let version = version.or(old.version);
        if refused || (old.contribution == new && version == old.version) {
            if was_pending {
                self.pending_rollups
                    .entities
                    .insert(entity.to_string(), old);
            }
            return Ok(false);
        }
        let changed = old.contribution != new;
        if old.contribution.0.is_empty() {
            // The common case, an entity counted for the first time: its counts are the change.
            for (bucket, counters) in &new.0 {
                self.pending_rollups
                    .add(bucket, counters.iter().map(|(n, v)| (n, *v)));
            }
        } else {
            for (bucket, changes) in difference(&old.contribution, &new) {
                self.pending_rollups
                    .add(&bucket, changes.iter().map(|(n, v)| (n, *v)));
            }
        }
        self.pending_rollups.entities.insert(
            entity.to_string(),
            Counted {
                version,
                contribution: new,
            },
        );
        Ok(changed)
    }

    /// What `entity` counted, as stored.
    fn stored(&self, entity: &str) -> Result<Option<Counted>, StoreError> {
        self.rollups
            .get(entity_key(entity))?
            .map(|v| Counted::decode(&v))
            .transpose()
    }

    /// The version `entity` was counted at, if it was counted with one.
    pub fn counted_version(&self, entity: &str) -> Result<Option<u64>, StoreError> {
        match self.pending_rollups.entities.get(entity) {
            Some(pending) => Ok(pending.version),
            None => Ok(self.stored(entity)?.and_then(|c| c.version)),
        }
    }

    /// Applies `writes` to the pending rollups; true if any of them may change a bucket.
    pub fn rollup_writes(&mut self, writes: Vec<RollupWrite>) -> Result<bool, StoreError> {
        let mut changed = false;
        for w in writes {
            match w {
                RollupWrite::Count {
                    entity,
                    contribution,
                } => changed |= self.rollup(&entity, contribution)?,
                RollupWrite::Level { bucket, counters } => {
                    let pending = self.pending_rollups.levels.entry(bucket).or_default();
                    if as_of(&counters) >= as_of(pending) {
                        *pending = counters;
                        changed = true;
                    }
                }
                RollupWrite::Versioned {
                    entity,
                    version,
                    contribution,
                } => changed |= self.rollup_version(&entity, version, contribution)?,
                RollupWrite::Add { bucket, counters } => {
                    if counters.values().any(|v| *v != 0) {
                        self.pending_rollups
                            .add(&bucket, counters.iter().map(|(n, v)| (n, *v)));
                        changed = true;
                    }
                }
            }
        }
        Ok(changed)
    }

    /// Writes the pending rollups in one batch: each changed bucket read once and written
    /// (removed when nothing is left in it), each entity's contribution beside them. On an
    /// error they stay pending, for the next flush.
    pub fn flush_rollups(&mut self) -> Result<(), StoreError> {
        if self.pending_rollups.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending_rollups);
        let result = self
            .write_pending(&mut pending)
            .map(|written| pending.written(written));
        self.pending_rollups = pending;
        result
    }

    /// One batch of the pending counts; the buckets as written, once it is committed. A bucket
    /// taken from the known ones and not written is read from disk again next time.
    fn write_pending(&self, pending: &mut Pending) -> Result<Vec<(String, Counters)>, StoreError> {
        let Pending {
            buckets,
            levels,
            entities,
            known,
        } = pending;
        let mut batch = self.batch();
        let touched: std::collections::BTreeSet<&String> =
            buckets.keys().chain(levels.keys()).collect();
        let mut written = Vec::with_capacity(touched.len());
        for bucket in touched {
            let key = bucket_key(bucket);
            let mut counters = match known.remove(bucket.as_str()) {
                Some(counters) => counters,
                None => self.stored_bucket(&key)?.unwrap_or_default(),
            };
            for (name, d) in buckets.get(bucket).into_iter().flatten() {
                bump(&mut counters, name, *d);
            }
            if let Some(level) = levels.get(bucket)
                && as_of(level) >= as_of(&counters)
            {
                for (name, v) in level {
                    counters.insert(name.clone(), *v);
                }
            }
            counters.retain(|_, v| *v != 0);
            if counters.is_empty() {
                batch.remove(&self.rollups, key);
            } else {
                let bytes = serde_json::to_vec(&counters).map_err(|e| corrupt("bucket", e))?;
                batch.insert(&self.rollups, key, bytes);
            }
            written.push((bucket.clone(), counters));
        }
        for (entity, c) in entities.iter() {
            // An entity counting nothing keeps its record only for its version.
            if c.contribution.is_empty() && c.version.is_none() {
                batch.remove(&self.rollups, entity_key(entity));
            } else {
                batch.insert(&self.rollups, entity_key(entity), c.encode());
            }
        }
        self.commit(batch)?;
        Ok(written)
    }

    /// Forgets the pending rollups (after a flush that cannot succeed).
    pub fn discard_rollups(&mut self) {
        self.pending_rollups = Pending::default();
    }

    /// The buckets from `from` to `to` (both bucket names, `to` inclusive as a prefix: every
    /// bucket that starts with it is in), in order.
    pub fn rollup_range(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, Counters)>, StoreError> {
        let mut end = bucket_key(to);
        end.push(0xff);
        let mut out = Vec::new();
        for kv in self.rollups.range(bucket_key(from)..end) {
            let (k, v) = kv.into_inner()?;
            let name = String::from_utf8_lossy(&k[1..]).into_owned();
            let counters: Counters =
                serde_json::from_slice(&v).map_err(|e| corrupt("bucket", e))?;
            out.push((name, counters));
        }
        Ok(out)
    }

    /// The buckets named, each as stored (`None` if it holds nothing).
    pub fn rollup_get(&self, buckets: &[String]) -> Result<Vec<Option<Counters>>, StoreError> {
        buckets
            .iter()
            .map(|b| self.stored_bucket(&bucket_key(b)))
            .collect()
    }

    /// The counters stored under a bucket's key, if any.
    fn stored_bucket(&self, key: &[u8]) -> Result<Option<Counters>, StoreError> {
        self.rollups
            .get(key)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt("bucket", e)))
            .transpose()
    }

    /// What `entity` counts now, if anything.
    pub fn contribution(&self, entity: &str) -> Result<Option<Contribution>, StoreError> {
        Ok(self
            .stored(entity)?
            .map(|c| c.contribution)
            .filter(|c| !c.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(day: &str, gross: i64, units: i64) -> Contribution {
        let mut c = Contribution::default();
        let bucket = format!("sales/day/{day}/web/USD");
        c.add(&bucket, "orders", 1);
        c.add(&bucket, "gross", gross);
        c.add(&bucket, "units", units);
        c
    }

    #[test]
    fn buckets_stay_right_when_the_ones_kept_in_memory_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = ItemDb::open(dir.path()).unwrap();
        let one = |bucket: &str| {
            let mut c = Contribution::default();
            c.add(bucket, "orders", 1);
            c
        };
        db.rollup("order:1", one("a")).unwrap();
        db.flush_rollups().unwrap();
        // More buckets than are kept: the ones in memory are dropped, "a" among them.
        let mut wide = Contribution::default();
        for n in 0..KNOWN_BUCKETS + 10 {
            wide.add(&format!("w/{n}"), "orders", 1);
        }
        db.rollup("order:2", wide).unwrap();
        db.flush_rollups().unwrap();
        db.rollup("order:3", one("a")).unwrap();
        db.flush_rollups().unwrap();
        // "w/0" was written before the ones kept were dropped, so it is read back from disk.
        db.rollup("order:4", one("w/0")).unwrap();
        db.flush_rollups().unwrap();
        let got = db
            .rollup_get(&["a".into(), "w/0".into(), format!("w/{}", KNOWN_BUCKETS + 9)])
            .unwrap();
        let orders: Vec<i64> = got.iter().map(|c| c.as_ref().unwrap()["orders"]).collect();
        assert_eq!(orders, [2, 2, 1]);
        // Counted again, in memory now: still right.
        db.rollup("order:5", one("a")).unwrap();
        db.flush_rollups().unwrap();
        assert_eq!(
            db.rollup_get(&["a".into()]).unwrap()[0].as_ref().unwrap()["orders"],
            3
        );
    }

    #[test]
    fn a_version_counts_its_difference_and_a_replay_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = ItemDb::open(dir.path()).unwrap();
        assert!(
            db.rollup("order:1", order("2026-12-01", 100_0000, 2))
                .unwrap()
        );
        assert!(
            db.rollup("order:2", order("2026-12-01", 50_0000, 1))
                .unwrap()
        );
        assert!(
            !db.rollup("order:1", order("2026-12-01", 100_0000, 2))
                .unwrap(),
            "a replay"
        );
        // Written at the end of the store's group, not before.
        assert!(
            db.rollup_range("sales/day/2026-12-01", "sales/day/2026-12-01")
                .unwrap()
                .is_empty()
        );
        db.flush_rollups().unwrap();
        assert!(
            !db.rollup("order:1", order("2026-12-01", 100_0000, 2))
                .unwrap(),
            "a replay after the write"
        );
        // A newer version of order 1: one more unit, 20 more.
        assert!(
            db.rollup("order:1", order("2026-12-01", 120_0000, 3))
                .unwrap()
        );
        db.flush_rollups().unwrap();
        let day = db
            .rollup_range("sales/day/2026-12-01", "sales/day/2026-12-01")
            .unwrap();
        assert_eq!(day.len(), 1);
        let c = &day[0].1;
        assert_eq!((c["orders"], c["gross"], c["units"]), (2, 170_0000, 4));
        // Moved to another day (processed later): the first day loses it whole.
        db.rollup("order:2", order("2026-12-02", 50_0000, 1))
            .unwrap();
        db.flush_rollups().unwrap();
        let both = db
            .rollup_range("sales/day/2026-12-01", "sales/day/2026-12-02")
            .unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(both[0].1["orders"], 1);
        assert_eq!(both[1].1["gross"], 50_0000);
        // Counting nothing (a cancelled order) takes it out, and an empty bucket goes.
        db.rollup("order:2", Contribution::default()).unwrap();
        db.flush_rollups().unwrap();
        assert_eq!(
            db.rollup_range("sales/day/2026-12-02", "sales/day/2026-12-02")
                .unwrap(),
            vec![]
        );
        assert_eq!(db.contribution("order:2").unwrap(), None);
        // The range stays inside its report and days.
        assert!(
            db.rollup_range("sales/day/2026-11-01", "sales/day/2026-11-30")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_level_keeps_the_newest_reading_beside_counted_sales_and_adds_add() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = ItemDb::open(dir.path()).unwrap();
        let bucket = "inventory/day/2026-12-01/A/1";
        let level = |on_hand: i64, as_of: i64| RollupWrite::Level {
            bucket: bucket.into(),
            counters: Counters::from([("on_hand".into(), on_hand), (LEVEL_AS_OF.into(), as_of)]),
        };
        let mut sold = Contribution::default();
        sold.add(bucket, "sold", 3);
        let sale = RollupWrite::Count {
            entity: "order:1".into(),
            contribution: sold,
        };
        // The newer reading wins within a group, whatever the order they came in.
        assert!(db.rollup_writes(vec![level(7, 200), sale.clone()]).unwrap());
        assert!(!db.rollup_writes(vec![level(9, 100)]).unwrap());
        db.flush_rollups().unwrap();
        let read = |db: &ItemDb| db.rollup_get(&[bucket.to_string()]).unwrap()[0].clone();
        let c = read(&db).unwrap();
        assert_eq!((c["on_hand"], c["as_of"], c["sold"]), (7, 200, 3));
        // And across groups: an older reading, or a replay, changes nothing; a sale replayed
        // neither.
        db.rollup_writes(vec![level(9, 100), level(7, 200), sale])
            .unwrap();
        db.flush_rollups().unwrap();
        assert_eq!(read(&db).unwrap(), c);
        // A newer level of zero: the counter goes, the reading stays.
        db.rollup_writes(vec![level(0, 300)]).unwrap();
        let add = RollupWrite::Add {
            bucket: "shopify/day/2026-12-01/orders".into(),
            counters: Counters::from([("points".into(), 10)]),
        };
        db.rollup_writes(vec![add.clone(), add]).unwrap();
        db.flush_rollups().unwrap();
        let c = read(&db).unwrap();
        assert_eq!((c.get("on_hand"), c["as_of"], c["sold"]), (None, 300, 3));
        let points = db
            .rollup_get(&["shopify/day/2026-12-01/orders".into(), "nothing".into()])
            .unwrap();
        assert_eq!(points[0].as_ref().unwrap()["points"], 20);
        assert_eq!(points[1], None);
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = ItemDb::open(dir.path()).unwrap();
        let day = |db: &ItemDb| {
            db.rollup_range("sales/day/2026-12-01", "sales/day/2026-12-01")
                .unwrap()[0]
                .1
                .clone()
        };
        let at = |version: u64, gross: i64| RollupWrite::Versioned {
            entity: "order:1".into(),
            version,
            contribution: order("2026-12-01", gross, 3),
        };
        assert!(db.rollup_writes(vec![at(20, 120_0000)]).unwrap());
        db.flush_rollups().unwrap();
        // Older history arriving later (a backfill, a late webhook) is refused.
        assert!(!db.rollup_writes(vec![at(10, 100_0000)]).unwrap());
        // The same version again changes nothing; a newer one counts its difference.
        assert!(!db.rollup_writes(vec![at(20, 120_0000)]).unwrap());
        assert!(db.rollup_writes(vec![at(30, 130_0000)]).unwrap());
        assert!(
            !db.rollup_writes(vec![at(25, 1)]).unwrap(),
            "refused while still pending"
        );
        db.flush_rollups().unwrap();
        drop(db);
        let db = ItemDb::open(dir.path()).unwrap();
        assert_eq!((day(&db)["gross"], day(&db)["orders"]), (130_0000, 1));
        assert_eq!(db.counted_version("order:1").unwrap(), Some(30));
        // A version that counts nothing (cancelled, a test order) empties the buckets and
        // keeps its version: an older one that counted still cannot come back.
        let mut db = db;
        let nothing = RollupWrite::Versioned {
            entity: "order:1".into(),
            version: 40,
            contribution: Contribution::default(),
        };
        assert!(db.rollup_writes(vec![nothing]).unwrap());
        db.flush_rollups().unwrap();
        assert!(!db.rollup_writes(vec![at(35, 130_0000)]).unwrap());
        db.flush_rollups().unwrap();
        assert!(
            db.rollup_range("sales/day/2026-12-01", "sales/day/2026-12-01")
                .unwrap()
                .is_empty()
        );
        assert_eq!(db.contribution("order:1").unwrap(), None);
        assert_eq!(db.counted_version("order:1").unwrap(), Some(40));
    }

    #[test]
    fn the_store_counts_what_happens_to_items_per_flow_and_day() {
        use crate::item::{Completion, NewItem, OperatorAction};
        let dir = tempfile::tempdir().unwrap();
        let mut db = ItemDb::open(dir.path()).unwrap();
        let hour = 3_600_000;
        // 2026-12-07T00:00:00Z, and three orders stored then.
        let t0 = 1_796_601_600_000;
        let ids: Vec<_> = db
            .enqueue(
                (0..3)
                    .map(|n| NewItem::new("orders", "orders/create", format!("#{n}"), vec![]))
                    .collect(),
                t0,
            )
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        let claimed = db.claim("orders", 3, hour, t0).unwrap();
        assert_eq!(claimed.len(), 3);
        // One done; two held for a person at 01:00.
        db.complete(ids[0], 1, Completion::Done, t0 + hour).unwrap();
        for id in &ids[1..] {
            let held = Completion::Exception {
                reason: "address".into(),
            };
            db.complete(*id, 1, held, t0 + hour).unwrap();
        }
        // Resolved 2 h 30 min later, and retried after 5 h, then done.
        db.operate(
            ids[1],
            OperatorAction::Resolve,
            "ops",
            None,
            t0 + 3 * hour + hour / 2,
        )
        .unwrap();
        db.operate(ids[2], OperatorAction::Retry, "ops", None, t0 + 6 * hour)
            .unwrap();
        let again = db.claim("orders", 1, hour, t0 + 6 * hour).unwrap();
        db.complete(
            ids[2],
            again[0].item.attempts,
            Completion::Done,
            t0 + 7 * hour,
        )
        .unwrap();
        let day = db
            .rollup_range("health/day/2026-12-07", "health/day/2026-12-07")
            .unwrap();
        assert_eq!(day.len(), 1);
        assert_eq!(day[0].0, "health/day/2026-12-07/orders/orders/create");
        let c = &day[0].1;
        let n = |k: &str| c.get(k).copied().unwrap_or(0);
        assert_eq!(
            (
                n("received"),
                n("done"),
                n("exceptions"),
                n("closed"),
                n("resolved")
            ),
            (3, 2, 2, 2, 1)
        );
        assert_eq!((n("close_h2"), n("close_h5")), (1, 1));
        // The copy in memory and the store agree after a reopen: counting goes on from there.
        drop(db);
        let mut db = ItemDb::open(dir.path()).unwrap();
        db.enqueue(
            vec![NewItem::new("orders", "orders/create", "#9", vec![])],
            t0 + 8 * hour,
        )
        .unwrap();
        let day = db
            .rollup_range("health/day/2026-12-07", "health/day/2026-12-07")
            .unwrap();
        assert_eq!(day[0].1["received"], 4);
    }
}
