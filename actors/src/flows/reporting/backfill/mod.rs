//! Report backfill: the sales, fulfilment and inventory rollups filled from Shopify's order
//! history, so that the first report after go-live is not empty (and an operator can fill a
//! longer past on demand).
//!
//! One bulk query reads every order processed since a day ([`orders::query`]); its JSONL is
//! put back together and each order is counted exactly as the live path counts the REST
//! payload of the same version ([`super::order_rollup`]), a chunk of orders per store write.
//!
//! Never counted twice: an order counts as its entity (`order:GID`), so counting it again
//! (a chunk redone after a crash, a bulk query run again) applies only the difference, which is
//! nothing. Never moved back: each order is counted at its version (`updated_at`), and the store
//! refuses an older version than the one it counted ([`RollupWrite::Versioned`]), so an order
//! the live path counted after the bulk query read it keeps the live count, and a late webhook
//! of an old version cannot undo the backfill's newer one: the newest information wins,
//! whichever path brings it.
//!
//! Resumable: progress (the bulk operation, how many orders of its file are counted) is saved
//! in the store after each chunk, durably and after the chunk's counts, and a daemon that starts
//! with a backfill running goes on from there: with the same bulk operation while Shopify still
//! has it, else with a new one from the start (which the entity counts make harmless).
//!
//! With `deliver`, orders the orders flow has never seen (placed before xconnector was
//! installed) are also given to it, once each, as reconciliation finds versions webhooks did
//! not bring: the whole order read from Shopify, deduplicated by version.

pub mod orders;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::live::Reporting;
use super::order_rollup;
use crate::flows::orders::RECONCILE_KIND;
use crate::flows::orders::record::{OrderBook, version_key};
use crate::flows::orders::rules::parse_time;
use crate::item::NewItem;
use crate::rate_limiter::Lane;
use crate::shopify::ShopifyError;
use crate::shopify::client::ShopifyHandle;
use crate::shopify::gid::{BulkOperationId, OrderId, RefundId};
use crate::shopify::operations::bulk::BulkStatus;
use crate::shopify::operations::orders::MAX_ORDER_LINES;
use crate::shopify::operations::returns::{RefundRead, RefundReadVariables, ShopifyRefund};
use crate::store::{StoreError, StoreHandle};

/// Where the progress is kept: a cursor of the reporting "flow".
const CURSOR_FLOW: &str = "reporting";
const CURSOR_NAME: &str = "backfill";
/// Orders per store write and progress save.
pub const CHUNK: usize = 200;
/// The longest wait between two polls of the bulk operation.
const MAX_POLL: Duration = Duration::from_secs(5);
/// How long the backfill waits for another bulk query of the app to end before it fails.
const BUSY_FOR: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("a backfill is already running")]
    Running,
    #[error("deliver needs the orders flow, which is not configured")]
    NoOrdersFlow,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Shopify(#[from] ShopifyError),
    #[error("bulk operation {id} ended {status} ({code})")]
    Bulk {
        id: String,
        status: String,
        code: String,
    },
    /// The test hook's stop: what a crash leaves behind.
    #[error("stopped as a crash would")]
    Crashed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Running,
    Done,
    Failed,
}

/// Where a running backfill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Shopify runs the bulk query.
    Querying,
    /// The result is being counted.
    Counting,
    Finished,
}

/// A backfill's progress, as saved and as `GET /v1/reports/backfill` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub state: State,
    pub step: Step,
    /// Orders processed on or after this day.
    pub since: NaiveDate,
    pub deliver: bool,
    pub bulk_operation: Option<String>,
    pub lines_read: u64,
    /// The orders in the bulk result, once read.
    pub orders_total: Option<u64>,
    /// Orders of the result counted so far (the result's first ones, in its order).
    pub orders_counted: u64,
    /// Orders given to the orders flow (with `deliver`).
    pub orders_delivered: u64,
    /// Lines that could not be read, or orders that could not be counted.
    pub unreadable: u64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
}

impl Progress {
    fn new(since: NaiveDate, deliver: bool) -> Progress {
        Progress {
            state: State::Running,
            step: Step::Querying,
            since,
            deliver,
            bulk_operation: None,
            lines_read: 0,
            orders_total: None,
            orders_counted: 0,
            orders_delivered: 0,
            unreadable: 0,
            started_at: Utc::now().to_rfc3339(),
            finished_at: None,
            error: None,
        }
    }
}

/// `90d` (days back from today), `0`/`off` (none), or a day (`2026-09-01`).
pub fn parse_since(s: &str, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if matches!(s, "0" | "0d" | "off") {
        return Ok(None);
    }
    if let Some(days) = s.strip_suffix('d') {
        let days: u64 = days
            .parse()
            .map_err(|_| format!("{s:?} is not a number of days (\"90d\")"))?;
        return today
            .checked_sub_days(chrono::Days::new(days))
            .map(Some)
            .ok_or_else(|| format!("{s:?} is too far back"));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            format!("{s:?} is neither days back (\"90d\"), a day (\"2026-09-01\") nor \"off\"")
        })
}

/// What runs backfills: at most one at a time.
pub struct Backfill {
    store: StoreHandle,
    shopify: ShopifyHandle,
    /// The shop's clock, for the offset REST writes times in.
    clock: Option<Arc<Reporting>>,
    /// The orders flow's name, when it runs (`deliver` gives it orders).
    orders_flow: Option<String>,
    /// Tests: stop as a crash would after this many chunks, their counts written and the last
    /// one's progress not saved.
    pub crash_after_chunks: Option<usize>,
    current: Mutex<Option<Progress>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Backfill {
    pub fn new(
        store: StoreHandle,
        shopify: ShopifyHandle,
        clock: Option<Arc<Reporting>>,
        orders_flow: Option<String>,
    ) -> Backfill {
        Backfill {
            store,
            shopify,
            clock,
            orders_flow,
            crash_after_chunks: None,
            current: Mutex::new(None),
            task: Mutex::new(None),
        }
    }

    fn running(&self) -> bool {
        self.task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }

    /// Starts a backfill of the orders processed since `since`.
    pub async fn start(
        self: &Arc<Self>,
        since: NaiveDate,
        deliver: bool,
    ) -> Result<Progress, BackfillError> {
        if self.running() {
            return Err(BackfillError::Running);
        }
        if deliver && self.orders_flow.is_none() {
            return Err(BackfillError::NoOrdersFlow);
        }
        let progress = Progress::new(since, deliver);
        self.save(&progress).await?;
        info!(%since, deliver, "report backfill started");
        self.spawn(progress.clone());
        Ok(progress)
    }

    /// At the daemon's start: goes on with a backfill that was running, or, at go-live (no
    /// backfill ever recorded), starts one since `go_live` if given.
    pub async fn resume(
        self: &Arc<Self>,
        go_live: Option<NaiveDate>,
    ) -> Result<Option<Progress>, BackfillError> {
        match self.stored().await? {
            Some(p) if p.state == State::Running => {
                info!(since = %p.since, counted = p.orders_counted, "report backfill resumed");
                self.spawn(p.clone());
                Ok(Some(p))
            }
            Some(_) => Ok(None),
            None => match go_live {
                Some(since) => self.start(since, false).await.map(Some),
                None => Ok(None),
            },
        }
    }

    /// The latest backfill's progress, if there ever was one.
    pub async fn progress(&self) -> Result<Option<Progress>, StoreError> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match current {
            Some(p) => Ok(Some(p)),
            None => self.stored().await,
        }
    }

    /// Waits for the running backfill, if any, to end (tests, the CLI's daemon-less use).
    pub async fn wait(&self) {
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }

    async fn stored(&self) -> Result<Option<Progress>, StoreError> {
        let Some(bytes) = self.store.cursor(CURSOR_FLOW, CURSOR_NAME).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("backfill progress: {e}")))
    }

    /// Saves `p` durably (after every rollup write sent before it) and shows it.
    async fn save(&self, p: &Progress) -> Result<(), StoreError> {
        let bytes =
            serde_json::to_vec(p).map_err(|e| StoreError::Corrupt(format!("backfill: {e}")))?;
        self.store
            .set_cursor(CURSOR_FLOW, CURSOR_NAME, bytes)
            .await?;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(p.clone());
        Ok(())
    }

    fn show(&self, p: &Progress) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(p.clone());
    }

    fn spawn(self: &Arc<Self>, progress: Progress) {
        let me = self.clone();
        self.show(&progress);
        let task = tokio::spawn(async move { me.run(progress).await });
        *self.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
    }

    async fn run(&self, mut p: Progress) {
        match self.work(&mut p).await {
            Ok(()) => {
                p.state = State::Done;
                p.step = Step::Finished;
                info!(
                    orders = p.orders_counted,
                    delivered = p.orders_delivered,
                    "report backfill done"
                );
            }
            Err(BackfillError::Crashed) => {
                warn!("report backfill stopped by its test hook");
                return;
            }
            Err(e) => {
                warn!(error = %e, "report backfill failed; start it again to retry");
                p.state = State::Failed;
                p.error = Some(e.to_string());
            }
        }
        p.finished_at = Some(Utc::now().to_rfc3339());
        if let Err(e) = self.save(&p).await {
            warn!(error = %e, "cannot save the report backfill's end");
            self.show(&p);
        }
    }

    async fn work(&self, p: &mut Progress) -> Result<(), BackfillError> {
        let url = loop {
            let id = match p.bulk_operation.as_deref().map(BulkOperationId::parse) {
                Some(Ok(id)) => id,
                _ => {
                    let id = self.start_query(p.since).await?;
                    p.bulk_operation = Some(id.to_string());
                    // A new file: progress through the old one means nothing in it.
                    p.orders_counted = 0;
                    p.step = Step::Querying;
                    self.save(p).await?;
                    id
                }
            };
            match self.finished(&id).await? {
                Some(url) => break url,
                // Shopify no longer has it (expired): read again.
                None => p.bulk_operation = None,
            }
        };
        let text = match url {
            Some(url) => self.shopify.bulk_result(&url).await?,
            None => String::new(), // no order matched
        };
        let parsed = orders::parse(&text);
        // Read once the bulk query is done: at go-live the daemon has learned the shop's
        // time zone by then.
        let offset = self.offset().await;
        p.lines_read = parsed.lines_read;
        p.unreadable = parsed.unreadable;
        p.orders_total = Some(parsed.orders.len() as u64);
        p.step = Step::Counting;
        self.save(p).await?;
        let from = usize::try_from(p.orders_counted)
            .unwrap_or(usize::MAX)
            .min(parsed.orders.len());
        for (n, chunk) in parsed.orders[from..].chunks(CHUNK).enumerate() {
            let refunds = self.refunds(chunk).await?;
            let mut writes = Vec::with_capacity(chunk.len());
            for o in chunk {
                match orders::to_rest(o, &refunds, offset).and_then(|r| order_rollup(&r)) {
                    Ok(w) => writes.push(w),
                    Err(e) => {
                        warn!(order = %o.id, error = %e, "order not counted by the backfill");
                        p.unreadable += 1;
                    }
                }
            }
            self.store.rollup_writes(writes).await?;
            if p.deliver {
                p.orders_delivered += self.deliver(chunk).await?;
            }
            if self.crash_after_chunks == Some(n + 1) {
                return Err(BackfillError::Crashed);
            }
            p.orders_counted += chunk.len() as u64;
            self.save(p).await?;
        }
        Ok(())
    }

    /// Starts the bulk query. Shopify runs one bulk query of an app at a time: while another
    /// runs (the inventory flow's SKU map), it is tried again, for up to [`BUSY_FOR`].
    async fn start_query(&self, since: NaiveDate) -> Result<BulkOperationId, BackfillError> {
        let query = orders::query(since);
        let mut pause = Duration::from_secs(1);
        let mut waited = Duration::ZERO;
        loop {
            match self.shopify.start_bulk_query(Lane::Reporting, &query).await {
                Err(ShopifyError::UserErrors { errors, .. })
                    if waited < BUSY_FOR
                        && errors
                            .iter()
                            .any(|e| e.code.as_deref() == Some("OPERATION_IN_PROGRESS")) =>
                {
                    info!("another bulk query runs; the report backfill waits for it");
                    tokio::time::sleep(pause).await;
                    waited += pause;
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
                other => return Ok(other?),
            }
        }
    }

    /// Polls bulk operation `id` until it ends: `Some(url)` when completed (`None` inside when
    /// nothing matched), `None` when Shopify no longer has it.
    async fn finished(
        &self,
        id: &BulkOperationId,
    ) -> Result<Option<Option<String>>, BackfillError> {
        let mut pause = Duration::from_millis(50);
        loop {
            let Some(state) = self.shopify.bulk_operation(Lane::Reporting, id).await? else {
                return Ok(None);
            };
            match state.status {
                BulkStatus::Completed => return Ok(Some(state.url)),
                BulkStatus::Expired => return Ok(None),
                status if status.is_final() => {
                    return Err(BackfillError::Bulk {
                        id: id.to_string(),
                        status: format!("{status:?}"),
                        code: state.error_code.unwrap_or_else(|| "no error code".into()),
                    });
                }
                _ => {}
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// The refunds of a chunk's orders, read apart (a bulk query cannot nest their lines).
    async fn refunds(
        &self,
        chunk: &[orders::BulkOrder],
    ) -> Result<HashMap<String, ShopifyRefund>, BackfillError> {
        let mut out = HashMap::new();
        for r in chunk.iter().flat_map(|o| &o.refunds) {
            let Ok(id) = RefundId::parse(&r.id) else {
                continue;
            };
            let read = self
                .shopify
                .run::<RefundRead>(Lane::Reporting, &RefundReadVariables { id })
                .await?;
            if let Some(refund) = read.refund {
                if refund.refund_line_items.page_info.has_next_page {
                    warn!(refund = %r.id, "refund has more lines than one read gives; the backfill counts the first");
                }
                out.insert(r.id.clone(), refund);
            }
        }
        Ok(out)
    }

    /// Gives the orders flow the orders of `chunk` it has never seen; how many it took.
    async fn deliver(&self, chunk: &[orders::BulkOrder]) -> Result<u64, BackfillError> {
        let Some(flow) = &self.orders_flow else {
            return Ok(0);
        };
        let ids: Vec<u64> = chunk.iter().filter_map(|o| o.legacy_id()).collect();
        let records = OrderBook::default().load_many(&self.store, &ids).await?;
        let mut items = Vec::new();
        for (id, record) in ids.iter().zip(records) {
            if record.seen > 0 {
                continue;
            }
            let gid = OrderId::new(*id);
            let order = match self.shopify.order(Lane::Reporting, &gid, 50).await? {
                Some(o) if o.line_items.page_info.has_next_page => {
                    self.shopify
                        .order(Lane::Reporting, &gid, MAX_ORDER_LINES)
                        .await?
                }
                other => other,
            };
            let Some(order) = order else { continue };
            let Some(at) = parse_time(&order.updated_at) else {
                continue;
            };
            let payload = serde_json::to_vec(&order)
                .map_err(|e| ShopifyError::InvalidResponse(e.to_string()))?;
            items.push(
                NewItem::new(flow, RECONCILE_KIND, order.name.clone(), payload)
                    .dedupe(version_key(*id, at)),
            );
        }
        if items.is_empty() {
            return Ok(0);
        }
        let stored = self.store.enqueue(items).await?;
        Ok(stored.iter().filter(|e| !e.duplicate).count() as u64)
    }

    /// The offset REST writes this shop's times in, which reports' days follow: the shop's
    /// clock, else what Shopify says now; `None` (UTC) if neither can tell. An order placed
    /// before a daylight saving change is shifted by the offset of now: the hour after midnight
    /// may land on the day before, where its webhook would not have put it.
    async fn offset(&self) -> Option<FixedOffset> {
        let minutes = match self.clock.as_ref().and_then(|c| c.offset_minutes()) {
            Some(m) => m,
            None => match self.shopify.shop_time(Lane::Reporting).await {
                Ok(zone) => {
                    if let Some(clock) = &self.clock {
                        clock.set_offset(zone.timezone_offset_minutes);
                    }
                    zone.timezone_offset_minutes
                }
                Err(e) => {
                    warn!(error = %e, "cannot read the shop's time zone; the backfill counts in UTC days");
                    return None;
                }
            },
        };
        FixedOffset::east_opt(minutes * 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_days_back_a_day_or_off() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(
            parse_since("90d", today).unwrap(),
            NaiveDate::from_ymd_opt(2026, 9, 8)
        );
        assert_eq!(
            parse_since("2026-09-01", today).unwrap(),
            NaiveDate::from_ymd_opt(2026, 9, 1)
        );
        assert_eq!(parse_since("0", today).unwrap(), None);
        assert_eq!(parse_since("off", today).unwrap(), None);
        assert!(parse_since("ninety", today).unwrap_err().contains("ninety"));
    }
}
