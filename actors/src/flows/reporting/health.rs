//! The integration health report: per flow and day (UTC: the store's clock), the items
//! received and done, the exceptions opened, closed (retried, resolved or cancelled) and
//! resolved, and how many whole hours they stayed open (p50, p90, max). The store counts these
//! in the batch of each move ([`crate::store::rollups::HEALTH`]), so they are exact.

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
    Ok(report_from(&buckets, from, to, by))
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
        let [flow, _] = day.dims;
        let key = day.time_key(by).unwrap_or_else(|| flow.to_string());
        add(groups.entry(key).or_default(), day.counters);
        add(&mut total, day.counters);
    }
    HealthReport {
        from,
        to,
        by,
        rows: groups.into_iter().map(|(k, c)| row(k, &c)).collect(),
        total: row("total".into(), &total),
    }
}
