//! The integration health report: per flow (or flow and kind of item) and day (UTC: the
//! store's clock), the items received and done, the exceptions opened, closed (retried,
//! resolved or cancelled) and resolved, and how many whole hours they stayed open (p50, p90,
//! max). The store counts these in the batch of each move ([`crate::store::rollups::HEALTH`]),
//! so they are exact. By kind, the exceptions flow's rows are the orders held per rule and how
//! long they took to resolve.
//!
//! Beside them, what telemetry counts as it happens: each endpoint's deliveries (its
//! availability) and the Shopify points each lane spent.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{By, add, days, histogram, percentile, read_days};
use crate::store::rollups::{HEALTH, health as counter};
use crate::store::{Counters, StoreError, StoreHandle};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthRow {
    /// A day, a week or a flow; `total` in the total.
    pub key: String,
    pub received: i64,
    pub done: i64,
    pub exceptions: i64,
    pub closed: i64,
    pub resolved: i64,
    /// Whole hours from an exception to its close; `None` without closed ones.
    pub close_p50_h: Option<i64>,
    pub close_p90_h: Option<i64>,
    pub close_max_h: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: By,
    pub rows: Vec<HealthRow>,
    pub total: HealthRow,
    /// Each back-office endpoint's deliveries over the range.
    #[serde(default)]
    pub endpoints: Vec<EndpointRow>,
    /// Shopify's query cost points spent per rate-limiter lane (one per flow) over the range.
    #[serde(default)]
    pub shopify: Vec<PointsRow>,
}

/// The buckets of what telemetry counts per UTC day as it happens: endpoint deliveries
/// (`endpoints/day/DAY/NAME/-`) and Shopify points per lane (`shopify/day/DAY/LANE/-`). A
/// crash loses at most the last second's counts.
pub const ENDPOINTS: &str = "endpoints";
pub const SHOPIFY: &str = "shopify";

pub mod telemetry_counter {
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
    pub const REJECTED: &str = "rejected";
    pub const POINTS: &str = "points";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub endpoint: String,
    pub delivered: i64,
    /// Attempts that failed and were retried (timeouts, 5xx, a closed breaker).
    pub failed: i64,
    /// Deliveries the endpoint refused for good (4xx).
    pub rejected: i64,
    /// Delivered over attempts, in per mille; `None` without attempts.
    pub availability_permille: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsRow {
    pub lane: String,
    pub points: i64,
}

fn row(key: String, c: &Counters) -> HealthRow {
    let n = |k: &str| c.get(k).copied().unwrap_or(0);
    let close = histogram(c, counter::CLOSE_HOURS);
    HealthRow {
        key,
        received: n(counter::RECEIVED),
        done: n(counter::DONE),
        exceptions: n(counter::EXCEPTIONS),
        closed: n(counter::CLOSED),
        resolved: n(counter::RESOLVED),
        close_p50_h: percentile(&close, 0.5),
        close_p90_h: percentile(&close, 0.9),
        close_max_h: close.keys().next_back().copied(),
    }
}

/// The health report over `from..=to` (UTC days).
pub async fn report(
    store: &StoreHandle,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> Result<HealthReport, StoreError> {
    let buckets = read_days(store, HEALTH, from, to).await?;
    let mut r = report_from(&buckets, from, to, by);
    let endpoints = read_days(store, ENDPOINTS, from, to).await?;
    let shopify = read_days(store, SHOPIFY, from, to).await?;
    (r.endpoints, r.shopify) = telemetry_from(&endpoints, &shopify);
    Ok(r)
}

/// Endpoint and Shopify rows from their day buckets, summed over the range.
pub fn telemetry_from(
    endpoints: &[(String, Counters)],
    shopify: &[(String, Counters)],
) -> (Vec<EndpointRow>, Vec<PointsRow>) {
    use telemetry_counter as t;
    let sum = |buckets: &[(String, Counters)]| {
        let mut by: BTreeMap<String, Counters> = BTreeMap::new();
        for day in days(buckets) {
            add(by.entry(day.dims[0].to_string()).or_default(), day.counters);
        }
        by
    };
    let n = |c: &Counters, k: &str| c.get(k).copied().unwrap_or(0);
    let endpoints = sum(endpoints)
        .into_iter()
        .map(|(endpoint, c)| {
            let (ok, failed, rejected) =
                (n(&c, t::DELIVERED), n(&c, t::FAILED), n(&c, t::REJECTED));
            let attempts = ok + failed + rejected;
            EndpointRow {
                endpoint,
                delivered: ok,
                failed,
                rejected,
                availability_permille: (attempts > 0).then(|| ok * 1000 / attempts),
            }
        })
        .collect();
    let shopify = sum(shopify)
        .into_iter()
        .map(|(lane, c)| PointsRow {
            lane,
            points: n(&c, t::POINTS),
        })
        .collect();
    (endpoints, shopify)
}

/// The report from day buckets (`health/day/DAY/FLOW/-`).
pub fn report_from(
    buckets: &[(String, Counters)],
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> HealthReport {
    let mut groups: BTreeMap<String, Counters> = BTreeMap::new();
    let mut total = Counters::new();
    for day in days(buckets) {
        let [flow, kind] = day.dims;
        let key = match by {
            // Days counted before kinds were have `-`.
            By::Kind if kind != "-" => format!("{flow} {kind}"),
            By::Kind | By::Flow => flow.to_string(),
            _ => day.time_key(by).unwrap_or_else(|| flow.to_string()),
        };
        add(groups.entry(key).or_default(), day.counters);
        add(&mut total, day.counters);
    }
    HealthReport {
        from,
        to,
        by,
        rows: groups.into_iter().map(|(k, c)| row(k, &c)).collect(),
        total: row("total".into(), &total),
        endpoints: Vec::new(),
        shopify: Vec::new(),
    }
}
