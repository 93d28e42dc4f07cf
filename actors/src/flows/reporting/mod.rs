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
//! - [`health`]: the integration health report, from what the store counts as items move
//!   (received, done, exceptions opened and closed, hours to close) per flow and UTC day.
//! - [`live`]: the shop's "today" and the figures `/metrics` shows.

pub mod fulfilment;
pub mod health;
pub mod live;
pub mod module;
pub mod payload;
pub mod report;
pub mod sales;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::store::{Contribution, Counters, StoreError, StoreHandle};

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
        }
    }
}

/// The groupings of the sales report.
pub const SALES_BY: &[By] = &[By::Day, By::Week, By::Channel];
/// The groupings of the fulfilment report.
pub const FULFILMENT_BY: &[By] = &[By::Day, By::Week, By::Location, By::Carrier];
/// The groupings of the integration health report.
pub const HEALTH_BY: &[By] = &[By::Day, By::Week, By::Flow];

/// What a REST order payload (`orders/create`, `orders/updated`, `orders/paid`,
/// `orders/cancelled`, `orders/fulfilled`) counts, in sales and in fulfilment: the order's
/// entity and its contribution.
pub fn contribution(payload: &[u8]) -> Result<(String, Contribution), String> {
    let o: payload::RestOrder =
        serde_json::from_slice(payload).map_err(|e| format!("not an order payload: {e}"))?;
    let mut c = Contribution::default();
    sales::count(&o, &mut c)?;
    fulfilment::count(&o, &mut c)?;
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
