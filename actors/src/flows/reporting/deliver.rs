//! Scheduled delivery of the reports (`[flows.reporting] schedule`, `deliver_to`, `reports`)
//! to BI endpoints, through the one delivery path every flow uses ([`fan_out`]).
//!
//! Once per period, however often the tick runs and across restarts:
//! - The tick (every minute, and at start) works out, in the shop's time, the periods whose
//!   report is due ([`Schedule::due`]) after the last one it enqueued (a cursor in the store per
//!   report), and enqueues one item per report and period, keyed `sales:day:2026-12-06` with
//!   that as its dedupe key; then moves the cursor. A crash between the two finds the dedupe
//!   key; the cursor outlives the dedupe key's retention.
//! - Processing that item reads the report for the period and enqueues one item per row
//!   (dedupe key: report, period and the row's own key), in one batch.
//! - Processing a row item sends the row to each target that lacks it ([`fan_out`], the row
//!   item's id as the idempotency key); which targets have it is kept in the store, so a retry
//!   never sends twice what landed.
//!
//! Catch-up: a daemon that was down sends every missed period when it comes back, oldest
//! first, up to [`MAX_CATCH_UP`] of them (older ones are skipped, with a warning). The first run
//! sends only the last period that is due: turning a schedule on does not replay history.
//! While Shopify has not yet told the shop's time zone nothing is scheduled (sending a shop day
//! that has not ended there would be wrong); without `[shopify]` the shop's time is UTC.
//!
//! What a BI team receives: one record per row, flat, so the same record is a JSON Lines line,
//! a CSV row or an HTTP JSON body (`POST`, one per row, with `Idempotency-Key`):
//!
//! ```json
//! {"report":"sales","period":"day:2026-12-06","from":"2026-12-06","to":"2026-12-06",
//!  "by":"channel","key":"web","currency":"USD","orders":3,"net":"112.50", …}
//! ```
//!
//! - `sales` by channel, one row per channel and currency, then a `total` row per currency
//!   (a period without sales has one `total` row of zeros, currency empty, so that "no sales"
//!   is told apart from "not delivered");
//! - `fulfilment` by location (orders placed in the period), then a `total` row, with
//!   `sla_hours`;
//! - `health` by flow (UTC days: the store counts in UTC; delivered once the UTC days have
//!   ended too), then a `total` row, then each endpoint's deliveries (`part` `endpoints`) and
//!   the Shopify points per lane (`part` `shopify`);
//! - `inventory` by SKU (UTC days; `part` `stock`), then a `total` row, then the gross
//!   margin per SKU and currency and its totals (`part` `margin`);
//! - `customers` by day and currency (`part` `customers`), then a `total` row per currency
//!   (zeros without any), then the top customers of the period (`part` `top`, the key the
//!   customer's GID).
//!
//! Rows go as items, several at once, so they arrive in no set order. The upsert key for a
//! BI table is (`report`, `period`, `part`, `key`, `currency`). A CSV endpoint
//! lists the columns it wants (e.g. `report,period,key,currency,orders,net`); a column a row
//! lacks is empty, so one endpoint can take every report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::{debug, info, warn};

use super::live::Reporting;
use super::report::SalesRow;
use super::schedule::{MAX_CATCH_UP, Period, Schedule};
use super::{By, costs, customers, fulfilment, health, inventory, report};
use crate::flows::fan_out::{Deliveries, fan_out};
use crate::flows::write::records;
use crate::flows::{Flow, FlowContext, Outcome};
use crate::item::{Claimed, NewItem};
use crate::rate_limiter::Lane;
use crate::store::{StoreError, StoreHandle};

/// The flow's name (the section's).
pub const FLOW: &str = "reporting";
/// An item per report and period: payload a [`PeriodItem`].
pub const KIND_PERIOD: &str = "reporting/period";
/// An item per row of a report: payload the row as delivered.
pub const KIND_ROW: &str = "reporting/row";
/// Where a row item's deliveries (target → delivered) are kept, by item id.
const DELIVERED: &str = "reporting.delivered";
/// How often the tick looks whether a period is due: a report lands within a minute of its
/// time.
const TICK: Duration = Duration::from_secs(60);

/// A report that can be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheduled {
    Sales,
    Fulfilment,
    Health,
    Inventory,
    Customers,
}

impl Scheduled {
    pub const ALL: [Scheduled; 5] = [
        Scheduled::Sales,
        Scheduled::Fulfilment,
        Scheduled::Health,
        Scheduled::Inventory,
        Scheduled::Customers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheduled::Sales => "sales",
            Scheduled::Fulfilment => "fulfilment",
            Scheduled::Health => "health",
            Scheduled::Inventory => "inventory",
            Scheduled::Customers => "customers",
        }
    }

    pub fn parse(s: &str) -> Option<Scheduled> {
        Scheduled::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The grouping its rows are delivered by: the period is already the time.
    fn by(self) -> By {
        match self {
            Scheduled::Sales => By::Channel,
            Scheduled::Fulfilment => By::Location,
            Scheduled::Health => By::Flow,
            Scheduled::Inventory => By::Sku,
            Scheduled::Customers => By::Day,
        }
    }

    /// The cursor naming the last period enqueued.
    fn cursor(self) -> String {
        format!("sent:{}", self.as_str())
    }
}

/// How the flow runs, from `[flows.reporting]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: no scheduled delivery; the flow only records the unit costs the ERP sends.
    pub schedule: Option<Schedule>,
    pub targets: Vec<String>,
    pub reports: Vec<Scheduled>,
    /// The fulfilment report's service level.
    pub sla_hours: i64,
    /// The inventory report's `stale_after`.
    pub stale_after_ms: i64,
}

/// What a period item asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodItem {
    pub report: Scheduled,
    /// [`Period::key`].
    pub period: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot encode a report row: {0}")]
    Encode(#[from] serde_json::Error),
}

pub struct ReportingFlow {
    settings: Arc<Settings>,
    /// The shop's clock (its offset from UTC), shared with the daemon that keeps it current.
    clock: Arc<Reporting>,
    /// The schedule was told in the log (once per start, for the operator).
    told: AtomicBool,
}

impl ReportingFlow {
    pub fn new(settings: Settings, clock: Arc<Reporting>) -> ReportingFlow {
        ReportingFlow {
            settings: Arc::new(settings),
            clock,
            told: AtomicBool::new(false),
        }
    }
}

impl Flow for ReportingFlow {
    async fn process(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        match item.item.kind.as_str() {
            KIND_PERIOD => match serde_json::from_slice::<PeriodItem>(&item.payload) {
                Ok(p) => self.split(ctx, &p).await,
                Err(e) => Outcome::Exception {
                    reason: format!("not a report period: {e}"),
                },
            },
            KIND_ROW => match serde_json::from_slice::<Value>(&item.payload) {
                Ok(row) => self.deliver(ctx, item, &row).await,
                Err(e) => Outcome::Exception {
                    reason: format!("not a report row: {e}"),
                },
            },
            costs::KIND_COST => match costs::Cost::decode_payload(&item.payload) {
                Ok(cost) => match ctx.store.rollup_writes(vec![cost.write()]).await {
                    Ok(_) => Outcome::Done,
                    Err(e) => Outcome::from(e),
                },
                Err(reason) => Outcome::Exception { reason },
            },
            other => Outcome::Exception {
                reason: format!("the reporting flow has no items of kind {other:?}"),
            },
        }
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(TICK)
    }

    async fn tick(&self, ctx: &FlowContext) {
        let Some(plan) = &self.settings.schedule else {
            return;
        };
        // Until Shopify tells the shop's zone, "yesterday" is not known: ask (the daemon's
        // clock may not have yet, at start), else wait for the next tick.
        let offset = match (self.clock.offset_minutes(), &ctx.shopify) {
            (Some(m), _) => m,
            (None, None) => 0,
            (None, Some(shopify)) => match shopify.shop_time(Lane::Reporting).await {
                Ok(zone) => {
                    self.clock.set_offset(zone.timezone_offset_minutes);
                    zone.timezone_offset_minutes
                }
                Err(e) => {
                    warn!(error = %e, "scheduled reports wait for the shop's time zone");
                    return;
                }
            },
        };
        let utc = Utc::now().naive_utc();
        let shop = utc + chrono::Duration::minutes(i64::from(offset));
        let tell = !self.told.swap(true, Ordering::Relaxed);
        for &report in &self.settings.reports {
            // Health counts in UTC days: due once the day has ended both in UTC and the shop.
            let now = if report == Scheduled::Health {
                shop.min(utc)
            } else {
                shop
            };
            match self.schedule(&ctx.store, plan, report, now).await {
                Ok(last) if tell => {
                    let next = plan.due_at(last.next());
                    info!(report = report.as_str(), last = %last, next_due = %next, offset_minutes = offset, "report schedule");
                }
                Ok(_) => {}
                Err(e) => {
                    // Told again at the next tick that works.
                    self.told.store(false, Ordering::Relaxed);
                    warn!(report = report.as_str(), error = %e, "cannot schedule the report; the next tick retries");
                }
            }
        }
    }
}

impl ReportingFlow {
    /// Enqueues `report` for each period due at `now` (the shop's time) not yet enqueued;
    /// returns the last period enqueued, now or before.
    async fn schedule(
        &self,
        store: &StoreHandle,
        plan: &Schedule,
        report: Scheduled,
        now: NaiveDateTime,
    ) -> Result<Period, DeliverError> {
        let cursor = report.cursor();
        let sent = store
            .cursor(FLOW, &cursor)
            .await?
            .and_then(|raw| Period::parse(std::str::from_utf8(&raw).ok()?));
        let due = plan.due(now, sent);
        if due.skipped > 0 {
            warn!(
                report = report.as_str(),
                skipped = due.skipped,
                max = MAX_CATCH_UP,
                "down for longer than the catch-up: only the newest missed periods are delivered"
            );
        }
        let Some(last) = due.periods.last().copied() else {
            // Nothing due: the cursor (without one `due` always has a period) is the last.
            return Ok(sent.unwrap_or_else(|| plan.last_due(now)));
        };
        let mut items = Vec::with_capacity(due.periods.len());
        for period in &due.periods {
            let key = format!("{}:{}", report.as_str(), period.key());
            let payload = serde_json::to_vec(&PeriodItem {
                report,
                period: period.key(),
            })?;
            items.push(NewItem::new(FLOW, KIND_PERIOD, key.clone(), payload).dedupe(key));
        }
        let enqueued = store.enqueue(items).await?;
        store
            .set_cursor(FLOW, &cursor, last.key().into_bytes())
            .await?;
        let new = enqueued.iter().filter(|e| !e.duplicate).count();
        if new > 0 {
            info!(report = report.as_str(), periods = new, last = %last, "scheduled report due");
        }
        Ok(last)
    }

    /// Reads the report of a period and makes one item per row.
    async fn split(&self, ctx: &FlowContext, p: &PeriodItem) -> Outcome {
        let Some(period) = Period::parse(&p.period) else {
            return Outcome::Exception {
                reason: format!("{:?} is not a report period", p.period),
            };
        };
        let rows = match rows(&ctx.store, p.report, period, &self.settings).await {
            Ok(rows) => rows,
            Err(DeliverError::Store(e)) => return Outcome::from(e),
            Err(e) => {
                return Outcome::Exception {
                    reason: e.to_string(),
                };
            }
        };
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let key = row_key(p.report, period, row);
            let payload = match serde_json::to_vec(row) {
                Ok(b) => b,
                Err(e) => {
                    return Outcome::Exception {
                        reason: format!("cannot encode a report row: {e}"),
                    };
                }
            };
            items.push(NewItem::new(FLOW, KIND_ROW, key.clone(), payload).dedupe(key));
        }
        let n = items.len();
        match ctx.store.enqueue(items).await {
            Ok(_) => {
                debug!(report = p.report.as_str(), period = %period, rows = n, "report rows to deliver");
                Outcome::Done
            }
            Err(e) => Outcome::from(e),
        }
    }

    /// Sends one row to the targets that lack it.
    async fn deliver(&self, ctx: &FlowContext, item: &Claimed, row: &Value) -> Outcome {
        let id = item.item.id.to_string();
        let loaded = records::load_many::<Deliveries>(&ctx.store, DELIVERED, vec![id.clone()]);
        let mut deliveries = match loaded.await {
            Ok(mut d) => d.pop().unwrap_or_default(),
            Err(e) => return Outcome::from(e),
        };
        let before = deliveries.clone();
        // One version per row: a row is delivered once, never updated.
        let outcome = fan_out(
            &ctx.endpoints,
            &self.settings.targets,
            &mut deliveries,
            1,
            item,
            row,
        )
        .await;
        // Only a partial landing needs remembering: a done item is never processed again.
        if deliveries != before
            && outcome != Outcome::Done
            && let Err(e) = records::save_many(&ctx.store, DELIVERED, &[(id, &deliveries)]).await
        {
            return Outcome::from(e);
        }
        outcome
    }
}

/// The dedupe key of a row: report, period, the row's part (if the report has several), key
/// and currency.
fn row_key(report: Scheduled, period: Period, row: &Map<String, Value>) -> String {
    let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut key = format!("{}:{}:", report.as_str(), period.key());
    if row.contains_key("part") {
        key.push_str(text("part"));
        key.push(':');
    }
    key.push_str(text("key"));
    if row.contains_key("currency") {
        key.push(':');
        key.push_str(text("currency"));
    }
    key
}

/// The rows of `report` over `period`, flat, each with the report, period and grouping.
pub async fn rows(
    store: &StoreHandle,
    report: Scheduled,
    period: Period,
    settings: &Settings,
) -> Result<Vec<Map<String, Value>>, DeliverError> {
    let (from, to, by) = (period.from(), period.to(), report.by());
    let sla_hours = settings.sla_hours;
    let (rows, extra): (Vec<Value>, Option<(&str, Value)>) = match report {
        Scheduled::Sales => {
            let r = report::sales(store, from, to, by).await?;
            let mut totals = r.totals;
            if totals.is_empty() {
                totals.push(zero_sales());
            }
            let all = r.rows.iter().chain(&totals);
            (
                all.map(serde_json::to_value).collect::<Result<_, _>>()?,
                None,
            )
        }
        Scheduled::Fulfilment => {
            let r = fulfilment::report(store, from, to, by, sla_hours).await?;
            let all = r.rows.iter().chain(std::iter::once(&r.total));
            let rows = all.map(serde_json::to_value).collect::<Result<_, _>>()?;
            (rows, Some(("sla_hours", Value::from(sla_hours))))
        }
        Scheduled::Health => {
            let r = health::report(store, from, to, by).await?;
            let all = r.rows.iter().chain(std::iter::once(&r.total));
            let mut rows = parts("flows", all)?;
            rows.extend(parts("endpoints", r.endpoints.iter())?);
            rows.extend(parts("shopify", r.shopify.iter())?);
            (rows, None)
        }
        Scheduled::Inventory => {
            let now = Utc::now().timestamp_millis();
            let r = inventory::report(store, from, to, by, settings.stale_after_ms, now).await?;
            let mut rows = parts("stock", r.rows.iter().chain(std::iter::once(&r.total)))?;
            rows.extend(parts("margin", r.margins.iter().chain(&r.margin_totals))?);
            (rows, None)
        }
        Scheduled::Customers => {
            let r = customers::report(store, from, to, by).await?;
            let mut totals = r.totals;
            if totals.is_empty() {
                totals.push(zero_customers());
            }
            let mut rows = parts("customers", r.rows.iter().chain(&totals))?;
            rows.extend(parts("top", r.top.iter())?);
            (rows, None)
        }
    };
    Ok(rows
        .into_iter()
        .map(|fields| {
            let mut row = Map::new();
            row.insert("report".into(), report.as_str().into());
            row.insert("period".into(), period.key().into());
            row.insert("from".into(), from.to_string().into());
            row.insert("to".into(), to.to_string().into());
            row.insert("by".into(), by.as_str().into());
            if let Some((k, v)) = &extra {
                row.insert((*k).into(), v.clone());
            }
            if let Value::Object(fields) = fields {
                row.extend(fields);
            }
            row
        })
        .collect())
}

/// `rows` as JSON objects with `part` (the report's section) and a `key` (a top customer's
/// is the customer, an endpoint's its name, a lane's its name).
fn parts<'a, T: Serialize + 'a>(
    part: &str,
    rows: impl Iterator<Item = &'a T>,
) -> Result<Vec<Value>, serde_json::Error> {
    rows.map(|r| {
        let mut v = serde_json::to_value(r)?;
        if let Value::Object(m) = &mut v {
            for name in ["customer", "endpoint", "lane"] {
                if !m.contains_key("key")
                    && let Some(k) = m.get(name).cloned()
                {
                    m.insert("key".into(), k);
                }
            }
            m.insert("part".into(), part.into());
        }
        Ok(v)
    })
    .collect()
}

/// The total of a period without orders from customers.
fn zero_customers() -> super::customers::CustomersRow {
    super::customers::CustomersRow {
        key: "total".into(),
        currency: String::new(),
        customers: 0,
        new_customers: 0,
        returning_customers: 0,
        orders: 0,
        guest_orders: 0,
        revenue: report::money(0),
        orders_per_customer: None,
        revenue_per_customer: String::new(),
        repeat_rate: None,
    }
}

/// The total of a period without sales.
fn zero_sales() -> SalesRow {
    let zero = || report::money(0);
    SalesRow {
        key: "total".into(),
        currency: String::new(),
        orders: 0,
        units: 0,
        units_returned: 0,
        gross: zero(),
        discounts: zero(),
        returns: zero(),
        net: zero(),
        shipping: zero(),
        tax: zero(),
        total: zero(),
        average_order_value: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_keyed_by_report_period_key_and_currency() {
        let period = Period::parse("day:2026-12-06").unwrap();
        let mut row = Map::new();
        row.insert("key".into(), "web".into());
        row.insert("currency".into(), "USD".into());
        assert_eq!(
            row_key(Scheduled::Sales, period, &row),
            "sales:day:2026-12-06:web:USD"
        );
        row.remove("currency");
        assert_eq!(
            row_key(Scheduled::Health, period, &row),
            "health:day:2026-12-06:web"
        );
    }

    fn flow(schedule: &str) -> ReportingFlow {
        let settings = Settings {
            schedule: Some(schedule.parse().unwrap()),
            targets: vec!["bi".into()],
            reports: vec![Scheduled::Health],
            sla_hours: 48,
            stale_after_ms: 86_400_000,
        };
        ReportingFlow::new(settings, Arc::default())
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    /// The period items in the store, by key.
    async fn periods(store: &StoreHandle) -> Vec<String> {
        let filter = crate::store::ItemFilter {
            flow: Some(FLOW.into()),
            ..Default::default()
        };
        let mut keys: Vec<String> = store
            .list(filter, None, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.kind == KIND_PERIOD)
            .map(|i| i.key)
            .collect();
        keys.sort();
        keys
    }

    /// The tick at any time, any number of times, across a lost cursor: once per period; a
    /// daemon back after days catches up the missed ones, at most MAX_CATCH_UP.
    #[tokio::test]
    async fn each_period_is_enqueued_once_and_missed_ones_are_caught_up() {
        let t = crate::engine::TestStore::start().await;
        let store = t.store();
        let f = flow("daily 06:00");
        let plan = &"daily 06:00".parse::<Schedule>().unwrap();
        let last = f
            .schedule(store, plan, Scheduled::Health, at("2026-12-07 05:00"))
            .await
            .unwrap();
        assert_eq!(last.key(), "day:2026-12-05");
        for now in ["2026-12-07 06:00", "2026-12-07 06:01", "2026-12-07 23:59"] {
            f.schedule(store, plan, Scheduled::Health, at(now))
                .await
                .unwrap();
        }
        assert_eq!(
            periods(store).await,
            ["health:day:2026-12-05", "health:day:2026-12-06"]
        );
        // Down from Dec 7 to Dec 10 07:00: the three days missed, once.
        f.schedule(store, plan, Scheduled::Health, at("2026-12-10 07:00"))
            .await
            .unwrap();
        assert_eq!(periods(store).await.len(), 5);
        // Even with the cursor lost (back to Dec 5), the dedupe keys keep each period once.
        store
            .set_cursor(FLOW, "sent:health", b"day:2026-12-05".to_vec())
            .await
            .unwrap();
        f.schedule(store, plan, Scheduled::Health, at("2026-12-10 07:00"))
            .await
            .unwrap();
        assert_eq!(periods(store).await.len(), 5);
        // Down for three weeks: only the newest MAX_CATCH_UP days.
        let last = f
            .schedule(store, plan, Scheduled::Health, at("2026-12-31 07:00"))
            .await
            .unwrap();
        assert_eq!(last.key(), "day:2026-12-30");
        let keys = periods(store).await;
        assert_eq!(keys.len(), 5 + MAX_CATCH_UP, "{keys:?}");
        assert!(keys.contains(&"health:day:2026-12-24".to_string()));
        assert!(!keys.contains(&"health:day:2026-12-23".to_string()));
    }

    /// Every report of an empty period still has rows: its totals, flat, with the period.
    #[tokio::test]
    async fn an_empty_period_delivers_its_totals() {
        let t = crate::engine::TestStore::start().await;
        let period = Period::parse("day:2026-12-06").unwrap();
        let settings = flow("daily 06:00").settings;
        for report in Scheduled::ALL {
            let rows = rows(t.store(), report, period, &settings).await.unwrap();
            assert_eq!(rows.len(), 1, "{report:?}: {rows:?}");
            let row = &rows[0];
            assert_eq!(row["report"], report.as_str());
            assert_eq!(row["period"], "day:2026-12-06");
            assert_eq!(
                (&row["from"], &row["to"]),
                (&"2026-12-06".into(), &"2026-12-06".into())
            );
            assert_eq!(row["key"], "total");
            assert!(
                row.values().all(|v| !v.is_object() && !v.is_array()),
                "{row:?}"
            );
        }
    }

    #[test]
    fn reports_parse_by_name() {
        for r in Scheduled::ALL {
            assert_eq!(Scheduled::parse(r.as_str()), Some(r));
        }
        assert_eq!(Scheduled::parse("stock"), None);
    }
}
