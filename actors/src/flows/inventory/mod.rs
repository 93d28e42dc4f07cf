//! The inventory flow: stock levels from the back office into Shopify, coalesced and batched.
//!
//! **Shape.** Feeds arrive as items of kind `levels` (chunks of up to 1,000 levels, stored by
//! the HTTP API or the CSV drop before they were acknowledged). The flow is a
//! [batching](crate::flows::Flow::batching) one: the framework hands it every chunk that came
//! due (within `linger`, or while the previous batch was being written), up to `concurrency`
//! chunks, and one round writes all their levels at once: updates of the same (SKU, location)
//! are merged there (newest `as_of` wins), and the round's writes go out 250 quantities per
//! `inventorySetQuantities` call. An item is done only once each of its levels
//! was written, found unnecessary, or moved into an exception item of its own; a crash before
//! that leaves the item in flight, so its lease expires and it is processed again (the writes
//! are absolute, idempotent and guarded by `as_of`, so doing them twice is harmless).
//!
//! **A round.** 1. Locations: `[flows.inventory.locations]`, else Shopify's active locations by
//! name. 2. SKUs → inventory items: memory, then the store (`inventory.sku` mappings), then,
//! when many are unknown, one bulk query (not rate-limited) that maps every SKU of the shop,
//! then batched `productVariants(query: "sku:…")` lookups; SKUs still unknown become one
//! exception item listing them. 3. The `as_of` guard: a level older than the one last applied
//! to the same (item, location) (`inventory.applied` mappings) is dropped. 4. Snapshot levels
//! are compared with Shopify's current levels (read in batches) and only differences are
//! written. 5. Writes carry `changeFromQuantity` when the current level is known (a snapshot
//! read, an earlier write, an `inventory_levels/update` webhook); a stale one is re-read and
//! retried. A `userErrors` entry fails only its own (SKU, location): it becomes an exception
//! item with Shopify's message, and the rest of the call is sent again without it (Shopify
//! applies a call all or nothing).
//!
//! **Webhooks.** `inventory_levels/update` refreshes the known level; the echo log
//! ([`crate::flows::write::EchoLog`]) tells the echo of our own writes from a change made in Shopify.
//! `inventory_items/update` refreshes the SKU map, and `bulk_operations/finish` needs nothing
//! (the round polls its bulk operation). Webhooks are items of the same batches, taken before
//! the round so that what they say serves it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{debug, info, warn};

pub mod batch;
pub mod coalesce;
pub mod feed;
pub mod inbound;
pub mod kind;
mod module;

pub use feed::{Chunk, Level, Mode};
pub use module::{InventoryConfig, InventoryModule};

use crate::flows::bounded::Bounded;
use crate::flows::write::{Applied, EchoLog, IdMap, UserErrors, superseded, user_error_text};
use crate::flows::{Batching, Flow, FlowContext, Outcome};
use crate::inbound::requests;
use crate::item::{Claimed, ItemId, NewItem};
use crate::rate_limiter::Lane;
use crate::shopify::ShopifyHandle;
use crate::shopify::gid::{InventoryItemId, LocationId};
use crate::shopify::operations::bulk::{BulkStatus, SKU_MAP_QUERY, SkuMapLine};
use crate::shopify::operations::inventory::{QuantityInput, QuantityName, SetQuantitiesInput};
use crate::shopify::{ShopifyError, UserError};
use batch::{differs, idempotency_key, reference_uri};
use coalesce::{Entry, Table};
use feed::{FLOW, KIND_LEVEL_FAILED, KIND_UNKNOWN_SKUS};
use kind::Kind;

/// Store mappings: SKU → inventory item id.
const NS_SKU: &str = "inventory.sku";
/// Levels whose value in Shopify is kept for compare-and-set, at most (about 6 MiB).
const KNOWN_LEVELS: usize = 200_000;
/// Store mappings: "item:location" → `as_of` (ms) of the level last applied.
const APPLIED: Applied = Applied::new("inventory.applied");
/// A stale compare-and-set is re-read and retried this many times before the level becomes
/// an exception (someone keeps changing it).
const CAS_ATTEMPTS: usize = 5;
/// Unknown SKUs listed in an exception's reason (the payload holds all of them).
const LISTED: usize = 50;

/// How the flow works; `[flows.inventory]` in config. The `false`/`1` settings exist for the
/// benchmark's naive run.
#[derive(Debug, Clone)]
pub struct InventorySettings {
    /// `reason` of every `inventorySetQuantities` call (`correction`, `cycle_count_available`…).
    pub reason: String,
    /// Back-office location name → Shopify location id; names not here are looked up among
    /// Shopify's active locations by name.
    pub locations: BTreeMap<String, u64>,
    /// Quantities per `inventorySetQuantities` call (1..=250).
    pub batch_size: usize,
    /// SKUs per `productVariants` lookup (the client sends at most 50 per query).
    pub lookup_batch: usize,
    /// Keep the SKU → inventory item map (memory and store) between rounds.
    pub sku_cache: bool,
    /// Merge waiting updates of the same (SKU, location).
    pub coalesce: bool,
    /// With at least this many SKUs unknown in a round, warm the SKU map with one bulk query
    /// first; 0 turns bulk warm-ups off.
    pub bulk_threshold: usize,
    /// How long a bulk warm-up may take before the round falls back to lookups.
    pub bulk_timeout: Duration,
    /// How long a batch waits after its first chunk for more to come due (the framework's
    /// [`Batching::linger`]).
    pub linger: Duration,
    /// The rate limiter's lane for every call of this flow.
    pub lane: Lane,
    /// Record each level in the inventory report's rollups (`[flows.reporting]` is on).
    pub count_in_reports: bool,
}

impl Default for InventorySettings {
    fn default() -> Self {
        InventorySettings {
            reason: "correction".into(),
            locations: BTreeMap::new(),
            batch_size: 250,
            lookup_batch: 50,
            sku_cache: true,
            coalesce: true,
            bulk_threshold: 500,
            bulk_timeout: Duration::from_secs(600),
            linger: Duration::from_millis(100),
            lane: Lane::Inventory,
            count_in_reports: false,
        }
    }
}

impl InventorySettings {
    /// The benchmark's naive integration: one lookup and one mutation per level, nothing
    /// cached, nothing merged.
    pub fn naive(self) -> InventorySettings {
        InventorySettings {
            batch_size: 1,
            lookup_batch: 1,
            sku_cache: false,
            coalesce: false,
            bulk_threshold: 0,
            linger: Duration::ZERO,
            ..self
        }
    }
}

pub struct InventoryFlow {
    settings: Arc<InventorySettings>,
    /// What the flow keeps between batches. The framework runs one batch at a time, so the
    /// lock is never contended; it is what lets a batch borrow the state mutably.
    writer: Mutex<Writer>,
}

impl InventoryFlow {
    pub fn new(settings: InventorySettings) -> InventoryFlow {
        let settings = Arc::new(settings);
        InventoryFlow {
            writer: Mutex::new(Writer::new(settings.clone())),
            settings,
        }
    }
}

impl Flow for InventoryFlow {
    fn batching(&self) -> Option<Batching> {
        Some(Batching {
            linger: self.settings.linger,
        })
    }

    async fn process(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        let mut outcomes = self.process_batch(std::slice::from_ref(item), ctx).await;
        outcomes.pop().unwrap_or_else(|| Outcome::Retry {
            error: "the inventory round gave no outcome".into(),
            after: None,
        })
    }

    /// Webhooks first (what they say about Shopify's levels and SKUs serves this batch's
    /// round), then one round that writes every level of every chunk in the batch.
    async fn process_batch(&self, items: &[Claimed], ctx: &FlowContext) -> Vec<Outcome> {
        let mut writer = self.writer.lock().await;
        writer.begin();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
        let mut levels = Vec::new();
        let mut skus = Vec::new();
        for (i, item) in items.iter().enumerate() {
            outcomes[i] = match Kind::decode(&item.item.kind, &item.payload) {
                Ok(Kind::Chunk(chunk)) if chunk.levels.is_empty() => Some(Outcome::Done),
                Ok(Kind::Chunk(chunk)) => {
                    writer.submit(i as SubId, chunk);
                    None
                }
                Ok(Kind::Level {
                    item,
                    location,
                    available: Some(available),
                }) => {
                    levels.push((i, (item, location), available));
                    None
                }
                Ok(Kind::Sku {
                    item,
                    sku: Some(sku),
                }) => {
                    skus.push((i, sku, item));
                    None
                }
                Ok(Kind::Level { .. } | Kind::Sku { .. } | Kind::BulkFinished) => {
                    Some(Outcome::Done)
                }
                Err(reason) => Some(Outcome::Exception { reason }),
            };
        }
        let seen = writer.observe_levels(ctx, &levels).await;
        for (i, _, _) in &levels {
            outcomes[*i] = Some(seen.clone());
        }
        let mapped = writer.observe_skus(ctx, &skus).await;
        for (i, _, _) in &skus {
            outcomes[*i] = Some(mapped.clone());
        }
        writer.round(ctx).await;
        for (i, outcome) in writer.outcomes() {
            outcomes[i as usize] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Retry {
                    error: "the inventory round did not settle these levels".into(),
                    after: None,
                })
            })
            .collect()
    }
}

type SubId = u64;

/// One submitted chunk waiting for its levels.
struct Sub {
    remaining: usize,
    outcome: Settle,
}

/// How one level ended, as its chunk sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Settle {
    /// Written, unnecessary, or moved into an exception item of its own.
    Done,
    /// Try the chunk again later (Shopify or the store is unavailable).
    Retry(String),
}

impl Settle {
    fn rank(&self) -> u8 {
        match self {
            Settle::Done => 0,
            Settle::Retry(_) => 1,
        }
    }
}

/// A level ready to be written.
struct Work {
    entry: Entry<SubId>,
    item: u64,
    location: u64,
    from: Option<i64>,
    /// Times this level was refused as stale (or its item unknown) in this round: held after
    /// [`CAS_ATTEMPTS`]. Counted per level, so that a busy SKU cannot use up its neighbours'.
    tries: usize,
}

/// A failure that ends the round: every level not yet settled is retried later.
struct Abort(String);

impl From<ShopifyError> for Abort {
    fn from(e: ShopifyError) -> Abort {
        Abort(e.to_string())
    }
}

impl From<crate::store::StoreError> for Abort {
    fn from(e: crate::store::StoreError) -> Abort {
        Abort(format!("store: {e}"))
    }
}

struct Writer {
    /// Every level is recorded here before it is written.
    echo: EchoLog,
    settings: Arc<InventorySettings>,
    // This batch's: the levels waiting, the chunks they came in, and what was written.
    table: Table<SubId>,
    subs: HashMap<SubId, Sub>,
    /// Levels written this round, and the `as_of` to record for each: recorded in one store
    /// write at the end of the round (or when it stops), and only then are they settled, so a
    /// done item always means its levels' `as_of` is on disk.
    written: Vec<(String, i64, Entry<SubId>)>,
    // Kept between batches, as caches of what Shopify and the store hold:
    /// The SKU map (store mappings `inventory.sku`, mirrored in memory).
    skus: IdMap,
    /// The last level known to be in Shopify per (item, location): the compare-and-set value
    /// (bounded: a level not kept is written without one, as a first write is).
    known: Bounded<(u64, u64), i64>,
    /// Shopify's active locations by name, and how many there are (for level reads).
    locations: Option<(HashMap<String, u64>, u32)>,
    /// When the last bulk warm-up ran: not again within `bulk_timeout`, so that a feed full of
    /// SKUs the shop does not have falls back to lookups instead of re-reading the catalogue.
    last_warmup: Option<Instant>,
}

impl Writer {
    fn new(settings: Arc<InventorySettings>) -> Writer {
        Writer {
            echo: EchoLog::new(FLOW),
            table: Table::new(settings.coalesce),
            settings,
            subs: HashMap::new(),
            written: Vec::new(),
            skus: IdMap::new(NS_SKU),
            known: Bounded::new(KNOWN_LEVELS),
            locations: None,
            last_warmup: None,
        }
    }

    /// A new batch. Whatever an interrupted batch left (its task aborted when the flow actor
    /// failed) is dropped: its items were released and come again.
    fn begin(&mut self) {
        self.table.take();
        self.subs.clear();
        self.written.clear();
    }

    fn submit(&mut self, id: SubId, chunk: Chunk) {
        self.subs.insert(
            id,
            Sub {
                remaining: chunk.levels.len(),
                outcome: Settle::Done,
            },
        );
        for level in chunk.levels {
            self.table
                .merge(level, chunk.mode, &chunk.source, &chunk.feed, id);
        }
    }

    /// `inventory_levels/update` webhooks: each level becomes the known compare-and-set value,
    /// and is counted as the echo of our write or a change made in Shopify.
    async fn observe_levels(
        &mut self,
        ctx: &FlowContext,
        levels: &[(usize, (u64, u64), i64)],
    ) -> Outcome {
        if levels.is_empty() {
            return Outcome::Done;
        }
        let asked: Vec<(String, String)> = levels
            .iter()
            .map(|(_, (item, location), available)| {
                (applied_key(*item, *location), available.to_string())
            })
            .collect();
        let echoes = match self.echo.echoes(&ctx.store, &asked).await {
            Ok(e) => e,
            Err(e) => return Outcome::from(e),
        };
        let mut counts = [0u64; 2];
        for ((_, key, available), echo) in levels.iter().zip(echoes) {
            counts[usize::from(!echo)] += 1;
            debug!(flow = FLOW, level = ?key, available, echo, "level reported by Shopify");
            self.known.insert(*key, *available);
        }
        for (event, n) in ["echo", "changed_in_shopify"].into_iter().zip(counts) {
            if n > 0 {
                ctx.events.count(event, n);
            }
        }
        Outcome::Done
    }

    /// `inventory_items/update` webhooks: the SKU map follows Shopify's.
    async fn observe_skus(&mut self, ctx: &FlowContext, skus: &[(usize, String, u64)]) -> Outcome {
        if skus.is_empty() || !self.settings.sku_cache {
            return Outcome::Done;
        }
        let pairs: Vec<(String, u64)> =
            skus.iter().map(|(_, sku, id)| (sku.clone(), *id)).collect();
        match self.skus.record(&ctx.store, &pairs).await {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Retry {
                error: format!("cannot record the SKU map: {e}"),
                after: None,
            },
        }
    }

    /// Records how one entry ended for every chunk waiting on it.
    fn settle(&mut self, entry: &Entry<SubId>, how: &Settle) {
        for waiter in &entry.waiters {
            if let Some(sub) = self.subs.get_mut(waiter) {
                sub.remaining = sub.remaining.saturating_sub(1);
                if how.rank() > sub.outcome.rank() {
                    sub.outcome = how.clone();
                }
            }
        }
    }

    /// Each submitted chunk's outcome, once the round is over; a chunk with a level the round
    /// did not settle is retried.
    fn outcomes(&mut self) -> impl Iterator<Item = (SubId, Outcome)> + use<> {
        let subs = std::mem::take(&mut self.subs);
        subs.into_iter().map(|(id, sub)| {
            let outcome = match sub.outcome {
                Settle::Done if sub.remaining == 0 => Outcome::Done,
                Settle::Done => Outcome::Retry {
                    error: format!("{} level(s) not settled by the round", sub.remaining),
                    after: None,
                },
                Settle::Retry(error) => Outcome::Retry { error, after: None },
            };
            (id, outcome)
        })
    }

    async fn round(&mut self, ctx: &FlowContext) {
        let entries = self.table.take();
        let total = entries.len();
        if total == 0 {
            return;
        }
        let Some(shopify) = ctx.shopify.clone() else {
            let how = Settle::Retry("no Shopify client: configure [shopify]".into());
            for e in &entries {
                self.settle(e, &how);
            }
            return;
        };
        let started = Instant::now();
        let mut pending = entries;
        let mut stats = RoundStats::default();
        let result = self
            .write_all(ctx, &shopify, &mut pending, &mut stats)
            .await;
        self.record_written(ctx).await;
        if let Err(Abort(error)) = result {
            warn!(flow = FLOW, error = %error, left = pending.len(), "inventory round stopped; its levels will be retried");
            let how = Settle::Retry(error);
            for e in std::mem::take(&mut pending) {
                self.settle(&e, &how);
            }
        }
        info!(
            flow = FLOW,
            levels = total,
            written = stats.written,
            unchanged = stats.unchanged,
            older = stats.older,
            held = stats.held,
            calls = stats.calls,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "inventory round done"
        );
    }

    /// Records each level that passed the `as_of` guard as its SKU's stock at its location in
    /// the report rollups, with Shopify's level when known (below zero: an oversell). A store
    /// that cannot count is the store failing, which the round's own writes will meet; the
    /// levels are still written.
    async fn count_in_reports(
        &mut self,
        ctx: &FlowContext,
        works: &[Work],
        current: &HashMap<(u64, u64), i64>,
    ) {
        let mut writes = Vec::with_capacity(works.len());
        for w in works {
            let key = (w.item, w.location);
            let shopify = current.get(&key).copied().or_else(|| self.known.get(&key));
            let level = &w.entry.level;
            writes.extend(crate::flows::reporting::inventory::reading(
                &level.sku,
                w.location,
                level.available,
                level.as_of,
                shopify,
            ));
        }
        if let Err(e) = ctx.store.rollup_writes(writes).await {
            warn!(flow = FLOW, error = %e, "stock levels not counted in reports");
        }
    }

    /// Records the `as_of` of the levels written so far, then settles them (as retried if
    /// the store cannot record it: rewriting the same values is harmless).
    async fn record_written(&mut self, ctx: &FlowContext) {
        let written = std::mem::take(&mut self.written);
        if written.is_empty() {
            return;
        }
        let pairs: Vec<(String, i64)> = written.iter().map(|(k, v, _)| (k.clone(), *v)).collect();
        let how = match APPLIED.record(&ctx.store, &pairs).await {
            Ok(()) => Settle::Done,
            Err(e) => Settle::Retry(format!("written, but the store cannot record it: {e}")),
        };
        for (_, _, entry) in &written {
            self.settle(entry, &how);
        }
    }

    /// The round's stages. `pending` holds the entries not settled yet: on `Err` the caller
    /// retries them, so each stage removes what it settles.
    async fn write_all(
        &mut self,
        ctx: &FlowContext,
        shopify: &ShopifyHandle,
        pending: &mut Vec<Entry<SubId>>,
        stats: &mut RoundStats,
    ) -> Result<(), Abort> {
        let lane = self.settings.lane;
        // 1. Locations.
        let mut location_ids = HashMap::new();
        let names: BTreeSet<String> = pending.iter().map(|e| e.level.location.clone()).collect();
        for name in names {
            if let Some(id) = self.location_id(shopify, &name).await? {
                location_ids.insert(name, id);
            }
        }
        let (unplaced, rest): (Vec<_>, Vec<_>) = std::mem::take(pending)
            .into_iter()
            .partition(|e| !location_ids.contains_key(&e.level.location));
        *pending = rest;
        if !unplaced.is_empty() {
            let names: BTreeSet<&str> =
                unplaced.iter().map(|e| e.level.location.as_str()).collect();
            let reason = format!(
                "unknown location(s) {}: not in [flows.inventory.locations] nor among Shopify's active locations",
                names.into_iter().collect::<Vec<_>>().join(", ")
            );
            self.hold(ctx, KIND_LEVEL_FAILED, "locations", &unplaced, &reason)
                .await?;
            stats.held += unplaced.len();
            for e in &unplaced {
                self.settle(e, &Settle::Done);
            }
        }

        // 2. SKUs.
        let wanted: BTreeSet<String> = pending.iter().map(|e| e.level.sku.clone()).collect();
        let items = self.resolve_skus(ctx, shopify, &wanted, stats).await?;
        let (unknown, rest): (Vec<_>, Vec<_>) = std::mem::take(pending)
            .into_iter()
            .partition(|e| !items.contains_key(&e.level.sku));
        *pending = rest;
        self.hold_unknown(ctx, &unknown).await?;
        stats.held += unknown.len();
        for e in &unknown {
            self.settle(e, &Settle::Done);
        }

        // 3. The as_of guard.
        let keys: Vec<String> = pending
            .iter()
            .map(|e| applied_key(items[&e.level.sku], location_ids[&e.level.location]))
            .collect();
        let applied = APPLIED.versions(&ctx.store, keys).await?;
        let mut works = Vec::with_capacity(pending.len());
        for (e, applied) in std::mem::take(pending).into_iter().zip(applied) {
            if superseded(e.level.as_of, applied) {
                stats.older += 1;
                self.settle(&e, &Settle::Done);
                continue;
            }
            let (item, location) = (items[&e.level.sku], location_ids[&e.level.location]);
            works.push(Work {
                item,
                location,
                from: None,
                entry: e,
                tries: 0,
            });
        }

        // 4. Snapshot diff and compare-and-set values.
        let snapshot_items: Vec<u64> = works
            .iter()
            .filter(|w| w.entry.mode == Mode::Snapshot)
            .map(|w| w.item)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut current = HashMap::new();
        if !snapshot_items.is_empty() {
            match self.read_levels(shopify, &snapshot_items).await {
                Ok(levels) => current = levels,
                Err(e) => {
                    pending.extend(works.into_iter().map(|w| w.entry));
                    return Err(e);
                }
            }
        }
        if self.settings.count_in_reports {
            self.count_in_reports(ctx, &works, &current).await;
        }
        let mut writes = Vec::with_capacity(works.len());
        for mut w in works {
            let key = (w.item, w.location);
            if w.entry.mode == Mode::Snapshot {
                let now = current.get(&key).copied();
                if !differs(w.entry.level.available, now) {
                    stats.unchanged += 1;
                    self.settle(&w.entry, &Settle::Done);
                    continue;
                }
                w.from = now;
            } else {
                w.from = self.known.get(&key);
            }
            writes.push(w);
        }

        // 5. Writes, grouped by feed so that each call names as few feeds as possible.
        writes.sort_by(|a, b| {
            (&a.entry.feed, &a.entry.level.sku, a.location).cmp(&(
                &b.entry.feed,
                &b.entry.level.sku,
                b.location,
            ))
        });
        let size = batch::batch_size(self.settings.batch_size);
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            let batch: Vec<Work> = writes.by_ref().take(size).collect();
            if let Err(e) = self.write_batch(ctx, shopify, lane, batch, stats).await {
                match e {
                    BatchAbort::Retry(error, left) => {
                        pending.extend(left.into_iter().map(|w| w.entry));
                        pending.extend(writes.map(|w| w.entry));
                        return Err(Abort(error));
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes one batch, re-reading stale levels and setting aside refused ones.
    ///
    /// Shopify refuses a whole call when one of its quantities is stale, so after a refusal the
    /// levels that were fine go again on their own, ahead of the re-read ones: a SKU that keeps
    /// selling while we write is held after [`CAS_ATTEMPTS`] tries of its own, and never takes
    /// the rest of its batch with it.
    async fn write_batch(
        &mut self,
        ctx: &FlowContext,
        shopify: &ShopifyHandle,
        lane: Lane,
        batch: Vec<Work>,
        stats: &mut RoundStats,
    ) -> Result<(), BatchAbort> {
        let mut queue: VecDeque<Vec<Work>> = VecDeque::from([batch]);
        // Everything not yet written or held, for a round that has to stop here.
        let left = |now: Vec<Work>, queue: VecDeque<Vec<Work>>| -> Vec<Work> {
            now.into_iter().chain(queue.into_iter().flatten()).collect()
        };
        while let Some(batch) = queue.pop_front() {
            if batch.is_empty() {
                continue;
            }
            let feeds: BTreeSet<&str> = batch.iter().map(|w| w.entry.feed.as_str()).collect();
            let uri = reference_uri(&feeds.into_iter().collect::<Vec<_>>());
            let quantities: Vec<QuantityInput> = batch
                .iter()
                .map(|w| QuantityInput {
                    inventory_item_id: InventoryItemId::new(w.item),
                    location_id: LocationId::new(w.location),
                    quantity: w.entry.level.available,
                    change_from_quantity: w.from,
                })
                .collect();
            let key = idempotency_key(&uri, &quantities);
            let input = SetQuantitiesInput {
                name: QuantityName::Available,
                reason: self.settings.reason.clone(),
                reference_document_uri: Some(uri),
                quantities,
            };
            // Into the echo log before the write: its webhook may come before its answer.
            let echoes: Vec<(String, String)> = batch
                .iter()
                .map(|w| {
                    let value = w.entry.level.available.to_string();
                    (applied_key(w.item, w.location), value)
                })
                .collect();
            if let Err(e) = self.echo.record(&ctx.store, &echoes).await {
                let error = format!("cannot record the echo log: {e}");
                return Err(BatchAbort::Retry(error, left(batch, queue)));
            }
            stats.calls += 1;
            match shopify.set_inventory_quietly(lane, input, &key).await {
                Ok(()) => {
                    stats.written += batch.len();
                    for w in batch {
                        self.known
                            .insert((w.item, w.location), w.entry.level.available);
                        self.written.push((
                            applied_key(w.item, w.location),
                            w.entry.level.as_of,
                            w.entry,
                        ));
                    }
                }
                Err(ShopifyError::UserErrors { errors, .. }) => {
                    let split = UserErrors::split(&errors, &["input", "quantities"], batch.len());
                    if let Some(whole) = split.whole_reason() {
                        // Not about one quantity (a bad reason, an idempotency clash): the
                        // whole call is refused, every level of it goes to an exception.
                        let reason = format!("Shopify refused the change: {whole}");
                        let entries: Vec<_> = batch.into_iter().map(|w| w.entry).collect();
                        if let Err(Abort(e)) = self.hold_each(ctx, &entries, &reason).await {
                            return Err(BatchAbort::Retry(e, left(Vec::new(), queue)));
                        }
                        stats.held += entries.len();
                        continue;
                    }
                    // Per quantity: refused for good unless every error of it is a stale
                    // compare-and-set value (re-read it) or an unknown item (look it up again).
                    let mut stale = HashSet::new();
                    let mut unknown_item = HashSet::new();
                    let mut refused: HashMap<usize, String> = HashMap::new();
                    for (i, errs) in &split.inputs {
                        if let Some(e) = errs.iter().find(|e| {
                            !matches!(
                                code(e),
                                "CHANGE_FROM_QUANTITY_STALE"
                                    | "COMPARE_QUANTITY_STALE"
                                    | "INVALID_INVENTORY_ITEM"
                            )
                        }) {
                            refused.insert(*i, user_error_text(e));
                        } else if errs.iter().any(|e| code(e) != "INVALID_INVENTORY_ITEM") {
                            stale.insert(*i);
                        } else {
                            unknown_item.insert(*i);
                        }
                    }
                    let mut keep = Vec::with_capacity(batch.len());
                    let mut reread = Vec::new();
                    let mut relookup = Vec::new();
                    let mut worn = Vec::new();
                    for (i, mut w) in batch.into_iter().enumerate() {
                        let again = stale.contains(&i) || unknown_item.contains(&i);
                        if again {
                            w.tries += 1;
                        }
                        if again && w.tries >= CAS_ATTEMPTS {
                            worn.push(w.entry);
                        } else if let Some(reason) = refused.remove(&i) {
                            let reason = format!(
                                "Shopify refused {} at {}: {reason}",
                                w.entry.level.sku, w.entry.level.location
                            );
                            if let Err(Abort(e)) = self
                                .hold_each(ctx, std::slice::from_ref(&w.entry), &reason)
                                .await
                            {
                                keep.push(w);
                                return Err(BatchAbort::Retry(e, left(keep, queue)));
                            }
                            stats.held += 1;
                        } else if stale.contains(&i) {
                            reread.push(w);
                        } else if unknown_item.contains(&i) {
                            relookup.push(w);
                        } else {
                            keep.push(w);
                        }
                    }
                    if !reread.is_empty() {
                        let items: Vec<u64> = reread.iter().map(|w| w.item).collect();
                        match self.read_levels(shopify, &items).await {
                            Ok(now) => {
                                for w in &mut reread {
                                    let current = now.get(&(w.item, w.location)).copied();
                                    if let Some(c) = current {
                                        self.known.insert((w.item, w.location), c);
                                    }
                                    debug!(flow = FLOW, sku = %w.entry.level.sku, ?current, "stale level re-read");
                                    w.from = current;
                                }
                            }
                            Err(Abort(e)) => {
                                keep.extend(reread);
                                keep.extend(relookup);
                                return Err(BatchAbort::Retry(e, left(keep, queue)));
                            }
                        }
                    }
                    if !relookup.is_empty() {
                        // Shopify no longer knows the item we mapped the SKU to: forget the
                        // mapping and ask again.
                        let skus: BTreeSet<String> =
                            relookup.iter().map(|w| w.entry.level.sku.clone()).collect();
                        let skus: Vec<String> = skus.into_iter().collect();
                        let fresh = async {
                            self.skus.forget(&ctx.store, &skus).await?;
                            self.lookup(ctx, shopify, &skus).await
                        }
                        .await;
                        match fresh {
                            Ok(found) => {
                                let mut lost = Vec::new();
                                for mut w in relookup {
                                    match found.get(&w.entry.level.sku) {
                                        Some(&item) if item != w.item => {
                                            w.item = item;
                                            w.from = None;
                                            keep.push(w);
                                        }
                                        _ => lost.push(w.entry),
                                    }
                                }
                                if let Err(Abort(e)) = self.hold_unknown(ctx, &lost).await {
                                    keep.extend(reread);
                                    return Err(BatchAbort::Retry(e, left(keep, queue)));
                                }
                                stats.held += lost.len();
                                for e in &lost {
                                    self.settle(e, &Settle::Done);
                                }
                            }
                            Err(Abort(e)) => {
                                keep.extend(reread);
                                keep.extend(relookup);
                                return Err(BatchAbort::Retry(e, left(keep, queue)));
                            }
                        }
                    }
                    if !worn.is_empty() {
                        let reason = format!(
                            "the level kept changing in Shopify during {CAS_ATTEMPTS} compare-and-set attempts"
                        );
                        if let Err(Abort(e)) = self.hold_each(ctx, &worn, &reason).await {
                            keep.extend(reread);
                            return Err(BatchAbort::Retry(e, left(keep, queue)));
                        }
                        stats.held += worn.len();
                    }
                    // Levels set aside above are settled (they have their own items now). The
                    // ones that were fine go first, alone; the re-read ones after them.
                    debug!(
                        flow = FLOW,
                        fine = keep.len(),
                        reread = reread.len(),
                        "resending a refused batch"
                    );
                    queue.push_front(reread);
                    queue.push_front(keep);
                }
                Err(e) if e.is_transient() => {
                    return Err(BatchAbort::Retry(e.to_string(), left(batch, queue)));
                }
                Err(e) => {
                    let reason = format!("cannot set inventory: {e}");
                    let entries: Vec<_> = batch.into_iter().map(|w| w.entry).collect();
                    if let Err(Abort(e)) = self.hold_each(ctx, &entries, &reason).await {
                        return Err(BatchAbort::Retry(e, left(Vec::new(), queue)));
                    }
                    stats.held += entries.len();
                }
            }
        }
        Ok(())
    }

    /// A location name's Shopify id: config first, then Shopify's active locations (read once,
    /// and again when a name is not among them).
    async fn location_id(
        &mut self,
        shopify: &ShopifyHandle,
        name: &str,
    ) -> Result<Option<u64>, Abort> {
        if let Some(id) = self.settings.locations.get(name) {
            return Ok(Some(*id));
        }
        if let Some(id) = self.locations.as_ref().and_then(|(m, _)| m.get(name)) {
            return Ok(Some(*id));
        }
        self.refresh_locations(shopify).await?;
        Ok(self
            .locations
            .as_ref()
            .and_then(|(m, _)| m.get(name).copied()))
    }

    async fn refresh_locations(&mut self, shopify: &ShopifyHandle) -> Result<u32, Abort> {
        let all = shopify.locations(self.settings.lane).await?;
        let count = all.len().max(1) as u32;
        let map = all
            .into_iter()
            .filter(|l| l.is_active)
            .map(|l| (l.name, l.id.id()))
            .collect();
        self.locations = Some((map, count));
        Ok(count)
    }

    /// Current `available` per (item, location) of `items`, read in batches; also refreshes
    /// the known levels.
    async fn read_levels(
        &mut self,
        shopify: &ShopifyHandle,
        items: &[u64],
    ) -> Result<HashMap<(u64, u64), i64>, Abort> {
        let count = match &self.locations {
            Some((_, n)) => *n,
            None => self.refresh_locations(shopify).await?,
        };
        let ids: Vec<InventoryItemId> = items
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(InventoryItemId::new)
            .collect();
        let levels = shopify
            .inventory_levels(self.settings.lane, &ids, &["available"], count)
            .await?;
        let mut out = HashMap::new();
        for item in levels {
            for level in &item.inventory_levels.nodes {
                if let Some(q) = level.quantities.iter().find(|q| q.name == "available") {
                    let key = (item.id.id(), level.location.id.id());
                    out.insert(key, q.quantity);
                    self.known.insert(key, q.quantity);
                }
            }
        }
        Ok(out)
    }

    /// SKU → inventory item id for `wanted`: memory, store, bulk warm-up, lookups. SKUs
    /// Shopify does not know are absent from the answer.
    async fn resolve_skus(
        &mut self,
        ctx: &FlowContext,
        shopify: &ShopifyHandle,
        wanted: &BTreeSet<String>,
        stats: &mut RoundStats,
    ) -> Result<HashMap<String, u64>, Abort> {
        let mut found = HashMap::new();
        if !self.settings.sku_cache {
            // The naive way: one lookup per SKU, every time.
            for sku in wanted {
                let one = self.lookup(ctx, shopify, std::slice::from_ref(sku)).await?;
                found.extend(one);
            }
            return Ok(found);
        }
        found = self.skus.known(&ctx.store, wanted).await?;
        let mut missing: Vec<String> = wanted
            .iter()
            .filter(|sku| !found.contains_key(*sku))
            .cloned()
            .collect();
        let threshold = self.settings.bulk_threshold;
        let recently = self
            .last_warmup
            .is_some_and(|t| t.elapsed() < self.settings.bulk_timeout);
        if threshold > 0 && missing.len() >= threshold && !recently {
            self.last_warmup = Some(Instant::now());
            match self.warm_up(ctx, shopify).await {
                Ok(n) => {
                    stats.warmed = n;
                    // From the store: a catalogue larger than the map's memory is not all
                    // in memory after the warm-up.
                    let warmed = self.skus.known(&ctx.store, &missing).await?;
                    missing.retain(|sku| !warmed.contains_key(sku));
                    found.extend(warmed);
                }
                Err(Abort(e)) => {
                    warn!(flow = FLOW, error = %e, "SKU map warm-up by bulk query failed; looking SKUs up instead");
                }
            }
        }
        if !missing.is_empty() {
            found.extend(self.lookup(ctx, shopify, &missing).await?);
        }
        Ok(found)
    }

    /// Batched `productVariants(query: "sku:…")` lookups; remembers what it finds.
    async fn lookup(
        &mut self,
        ctx: &FlowContext,
        shopify: &ShopifyHandle,
        skus: &[String],
    ) -> Result<HashMap<String, u64>, Abort> {
        let mut found = HashMap::new();
        for chunk in skus.chunks(self.settings.lookup_batch.max(1)) {
            for v in shopify.variants_by_skus(self.settings.lane, chunk).await? {
                if let Some(sku) = v.sku {
                    // Several variants with one SKU: the first found wins, consistently.
                    found.entry(sku).or_insert(v.inventory_item.id.id());
                }
            }
        }
        if self.settings.sku_cache && !found.is_empty() {
            let pairs: Vec<(String, u64)> = found.iter().map(|(s, id)| (s.clone(), *id)).collect();
            self.skus.record(&ctx.store, &pairs).await?;
        }
        Ok(found)
    }

    /// Maps every SKU of the shop with one bulk query; returns how many it learned.
    async fn warm_up(
        &mut self,
        ctx: &FlowContext,
        shopify: &ShopifyHandle,
    ) -> Result<usize, Abort> {
        let lane = self.settings.lane;
        let started = Instant::now();
        let id = shopify.start_bulk_query(lane, SKU_MAP_QUERY).await?;
        let mut pause = Duration::from_millis(50);
        let url = loop {
            let state = shopify
                .bulk_operation(lane, &id)
                .await?
                .ok_or_else(|| Abort(format!("Shopify forgot bulk operation {id}")))?;
            if state.status.is_final() {
                if state.status != BulkStatus::Completed {
                    return Err(Abort(format!(
                        "bulk operation {id} ended {:?} ({})",
                        state.status,
                        state.error_code.as_deref().unwrap_or("no error code")
                    )));
                }
                match state.url {
                    Some(url) => break url,
                    None => return Ok(0), // the shop has no variants
                }
            }
            if started.elapsed() + pause > self.settings.bulk_timeout {
                return Err(Abort(format!("bulk operation {id} still running")));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        };
        let text = shopify
            .bulk_result(&url)
            .await
            .map_err(|e| Abort(format!("cannot download the bulk result: {e}")))?;
        let mut pairs = Vec::new();
        let mut seen = HashSet::new();
        let mut unreadable = 0usize;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(parsed) = serde_json::from_str::<SkuMapLine>(line) else {
                unreadable += 1;
                continue;
            };
            // Several variants with one SKU: the first wins, as with lookups.
            if let Some(sku) = parsed.sku.filter(|s| !s.is_empty())
                && seen.insert(sku.clone())
            {
                pairs.push((sku, parsed.id.id()));
            }
        }
        if unreadable > 0 {
            warn!(
                flow = FLOW,
                unreadable, "bulk result lines not understood; those SKUs are looked up instead"
            );
        }
        self.skus.record(&ctx.store, &pairs).await?;
        let n = pairs.len();
        info!(
            flow = FLOW,
            skus = n,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "SKU map warmed by a bulk query"
        );
        Ok(n)
    }

    /// Unknown SKUs: one exception item per source, listing them; its payload is the levels,
    /// so an operator's retry (after fixing the catalogue) writes them.
    async fn hold_unknown(&self, ctx: &FlowContext, entries: &[Entry<SubId>]) -> Result<(), Abort> {
        let mut by_source: BTreeMap<&str, Vec<&Entry<SubId>>> = BTreeMap::new();
        for e in entries {
            by_source.entry(e.source.as_str()).or_default().push(e);
        }
        let mut items = Vec::new();
        for (source, entries) in by_source {
            let skus: BTreeSet<&str> = entries.iter().map(|e| e.level.sku.as_str()).collect();
            let listed: Vec<&str> = skus.iter().copied().take(LISTED).collect();
            let more = skus.len().saturating_sub(LISTED);
            let reason = format!(
                "{} SKU(s) not found in Shopify: {}{}",
                skus.len(),
                listed.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
            warn!(
                flow = FLOW,
                source,
                count = skus.len(),
                "unknown SKUs held as an exception"
            );
            let chunk = chunk_of(source, entries.iter().copied());
            let item = NewItem::new(FLOW, KIND_UNKNOWN_SKUS, source, chunk.encode()).held(reason);
            items.push((item, feeds(entries.iter().copied())));
        }
        enqueue_held(ctx, items).await
    }

    /// One exception item for these levels, with `reason`.
    async fn hold(
        &self,
        ctx: &FlowContext,
        kind: &str,
        key: &str,
        entries: &[Entry<SubId>],
        reason: &str,
    ) -> Result<(), Abort> {
        let source = entries.first().map_or("", |e| e.source.as_str());
        let chunk = chunk_of(source, entries.iter());
        let item = NewItem::new(FLOW, kind, key, chunk.encode()).held(reason);
        enqueue_held(ctx, vec![(item, feeds(entries.iter()))]).await
    }

    /// One exception item per level (each is its own problem), then settle them.
    async fn hold_each(
        &mut self,
        ctx: &FlowContext,
        entries: &[Entry<SubId>],
        reason: &str,
    ) -> Result<(), Abort> {
        let items = entries
            .iter()
            .map(|e| {
                let key = format!("{}@{}", e.level.sku, e.level.location);
                let chunk = chunk_of(&e.source, std::iter::once(e));
                let item = NewItem::new(FLOW, KIND_LEVEL_FAILED, key, chunk.encode()).held(reason);
                (item, feeds(std::iter::once(e)))
            })
            .collect();
        enqueue_held(ctx, items).await?;
        warn!(
            flow = FLOW,
            levels = entries.len(),
            reason,
            "inventory levels held as exceptions"
        );
        for e in entries {
            self.settle(e, &Settle::Done);
        }
        Ok(())
    }
}

enum BatchAbort {
    /// Transient: these works (not settled) and the rest of the round are retried.
    Retry(String, Vec<Work>),
}

#[derive(Default)]
struct RoundStats {
    written: usize,
    unchanged: usize,
    older: usize,
    held: usize,
    calls: usize,
    warmed: usize,
}

/// Stores exception items of held levels, each linked to the feeds (requests) its levels came
/// from, so that a sender asking what became of its feed is told of them.
async fn enqueue_held(
    ctx: &FlowContext,
    held: Vec<(NewItem, BTreeSet<String>)>,
) -> Result<(), Abort> {
    if held.is_empty() {
        return Ok(());
    }
    let (items, feeds): (Vec<NewItem>, Vec<_>) = held.into_iter().unzip();
    let stored = ctx.store.enqueue(items).await?;
    let mut links: BTreeMap<String, Vec<ItemId>> = BTreeMap::new();
    for (item, feeds) in stored.iter().zip(feeds) {
        for feed in feeds.into_iter().filter(|f| !f.is_empty()) {
            links.entry(feed).or_default().push(item.id);
        }
    }
    requests::link(&ctx.store, &links).await?;
    Ok(())
}

/// The feeds these levels came from.
fn feeds<'a>(entries: impl Iterator<Item = &'a Entry<SubId>>) -> BTreeSet<String> {
    entries.map(|e| e.feed.clone()).collect()
}

fn chunk_of<'a>(source: &str, entries: impl Iterator<Item = &'a Entry<SubId>>) -> Chunk {
    let mut feed = String::new();
    let mut mode = Mode::Delta;
    let levels: Vec<Level> = entries
        .map(|e| {
            feed.clone_from(&e.feed);
            mode = e.mode;
            e.level.clone()
        })
        .collect();
    Chunk {
        source: source.to_string(),
        mode,
        feed,
        levels,
    }
}

/// A `userErrors` entry's code, or "" when it has none.
fn code(e: &UserError) -> &str {
    e.code.as_deref().unwrap_or("")
}

fn applied_key(item: u64, location: u64) -> String {
    format!("{item}:{location}")
}
