//! Reporting across the flows: each flow counts what it sees into rollups in the store as it
//! processes items (see [`crate::store::rollups`]), and reports read them back, a range of
//! days at a time.
//!
//! - [`module`]: `[flows.reporting]`, which turns the counting on.
//! - [`payload`]: the fields of Shopify's order payload that count.
//! - [`sales`]: what an order version counts in sales (the orders flow counts every version it
//!   takes); [`report`] reads the sales report back by day, week or channel.
//! - [`fulfilment`]: what an order version counts in fulfilment performance (its first
//!   fulfilment and delivery), and the fulfilment report by day, week, location or carrier.
//! - [`customers`]: orders and revenue per customer (counted by the orders flow), and the
//!   report of new and returning customers, repeat purchases and top customers.
//! - [`inventory`]: units sold per SKU (counted by the orders flow) and the stock levels the
//!   inventory flow records, and the turnover report by SKU or location.
//! - [`health`]: the integration health report, from what the store counts as items move
//!   (received, done, exceptions opened and closed, hours to close) per flow and UTC day.
//! - [`live`]: the shop's "today" and the figures `/metrics` shows.
//! - [`backfill`]: the rollups filled from Shopify's order history (a bulk query), at go-live
//!   and on demand.
//! - [`schedule`] and [`deliver`]: the reports delivered to BI endpoints once per period.

pub mod backfill;
pub mod costs;
pub mod customers;
pub mod deliver;
pub mod fulfilment;
pub mod health;
pub mod inventory;
pub mod live;
pub mod module;
pub mod payload;
pub mod report;
pub mod sales;
pub mod schedule;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::store::{Contribution, Counters, RollupWrite, StoreError, StoreHandle};

/// How the rows of a report are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Day,
    Week,
    Channel,
    Location,
    Carrier,
    Flow,
    Sku,
    /// Flow and kind of item (the exceptions flow's kinds are the rules that held orders).
    Kind,
}

impl By {
    /// `s` as a grouping that one of `allowed` names.
    pub fn parse(s: &str, allowed: &[By]) -> Result<By, String> {
        allowed
            .iter()
            .copied()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|b| b.as_str()).collect();
                format!("by: {s:?} is not one of {}", names.join(", "))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            By::Day => "day",
            By::Week => "week",
            By::Channel => "channel",
            By::Location => "location",
            By::Carrier => "carrier",
            By::Flow => "flow",
            By::Sku => "sku",
            By::Kind => "kind",
        }
    }
}

/// The groupings of the sales report.
pub const SALES_BY: &[By] = &[By::Day, By::Week, By::Channel];
/// The groupings of the fulfilment report.
pub const FULFILMENT_BY: &[By] = &[By::Day, By::Week, By::Location, By::Carrier];
/// The groupings of the customers report.
pub const CUSTOMERS_BY: &[By] = &[By::Day, By::Week];
/// The groupings of the inventory report.
pub const INVENTORY_BY: &[By] = &[By::Sku, By::Location];
/// The groupings of the integration health report.
pub const HEALTH_BY: &[By] = &[By::Day, By::Week, By::Flow, By::Kind];

/// What a REST order payload (`orders/create`, `orders/updated`, `orders/paid`,
/// `orders/cancelled`, `orders/fulfilled`) counts, in sales, fulfilment, inventory and
/// customers: the order's entity and its contribution.
pub fn contribution(payload: &[u8]) -> Result<(String, Contribution), String> {
    let o: payload::RestOrder =
        serde_json::from_slice(payload).map_err(|e| format!("not an order payload: {e}"))?;
    order_contribution(&o)
}

/// What a REST order payload counts, as the rollup write of its version (its `updated_at`),
/// so that an older version arriving later (a late webhook, a backfill) cannot replace it.
pub fn order_write(payload: &[u8]) -> Result<RollupWrite, String> {
    let o: payload::RestOrder =
        serde_json::from_slice(payload).map_err(|e| format!("not an order payload: {e}"))?;
    order_rollup(&o)
}

/// The rollup write of an order (versioned when it has an `updated_at`): what the live path
/// and the backfill both count.
pub fn order_rollup(o: &payload::RestOrder) -> Result<RollupWrite, String> {
    let (entity, contribution) = order_contribution(o)?;
    Ok(match o.version() {
        Some(version) => RollupWrite::Versioned {
            entity,
            version,
            contribution,
        },
        None => RollupWrite::Count {
            entity,
            contribution,
        },
    })
}

/// What an order counts, however it was read (a webhook's payload, a bulk query's lines).
pub fn order_contribution(o: &payload::RestOrder) -> Result<(String, Contribution), String> {
    let mut c = Contribution::default();
    sales::count(o, &mut c)?;
    fulfilment::count(o, &mut c)?;
    inventory::count(o, &mut c)?;
    customers::count(o, &mut c)?;
    Ok((format!("order:{}", o.gid()), c))
}

/// The day buckets of `report` from `from` to `to`, in order: one scan.
pub async fn read_days(
    store: &StoreHandle,
    report: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, Counters)>, StoreError> {
    store
        .rollup_range(
            &format!("{report}/day/{from}"),
            &format!("{report}/day/{to}"),
        )
        .await
}

/// A day bucket read back (`REPORT/day/DAY/A/B`): its day and its two dimensions (channel and
/// currency for sales, location and carrier for fulfilment).
pub struct DayBucket<'a> {
    pub date: NaiveDate,
    pub dims: [&'a str; 2],
    pub counters: &'a Counters,
}

impl DayBucket<'_> {
    /// The row key of the day's group when grouped by day or by ISO week (`2026-W49`).
    pub fn time_key(&self, by: By) -> Option<String> {
        match by {
            By::Day => Some(self.date.to_string()),
            By::Week => {
                let w = self.date.iso_week();
                Some(format!("{}-W{:02}", w.year(), w.week()))
            }
            _ => None,
        }
    }
}

/// The day buckets among `buckets`; names of another shape are skipped.
pub fn days(buckets: &[(String, Counters)]) -> impl Iterator<Item = DayBucket<'_>> {
    buckets.iter().filter_map(|(name, counters)| {
        let mut parts = name.splitn(5, '/');
        let (_, _, day, a, b) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        Some(DayBucket {
            date: NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
            dims: [a, b],
            counters,
        })
    })
}

/// A share in per mille as a percentage with one decimal: `975` → `97.5%`, `-5` → `-0.5%`.
pub fn percent(permille: i64) -> String {
    let sign = if permille < 0 { "-" } else { "" };
    let p = permille.unsigned_abs();
    format!("{sign}{}.{}%", p / 10, p % 10)
}

/// Adds every counter of `from` into `into`.
pub fn add(into: &mut Counters, from: &Counters) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// The histogram of `prefix` in `c`: hours → how many.
pub fn histogram(c: &Counters, prefix: &str) -> BTreeMap<i64, i64> {
    c.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.parse().ok()?, *v)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// The smallest hour by which a share `p` of what the histogram counts had happened.
pub fn percentile(h: &BTreeMap<i64, i64>, p: f64) -> Option<i64> {
    let n: i64 = h.values().sum();
    if n == 0 {
        return None;
    }
    let rank = ((p * n as f64).ceil() as i64).max(1);
    let mut seen = 0;
    for (hour, count) in h {
        seen += count;
        if seen >= rank {
            return Some(*hour);
        }
    }
    h.keys().next_back().copied()
}
