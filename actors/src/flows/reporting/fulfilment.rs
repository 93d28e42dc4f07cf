//! Fulfilment performance, as the orders flow sees it: each order version counts, on the day
//! it was placed, under the location and carrier of its first fulfilment: whether it shipped,
//! whole hours from placed to that fulfilment, whether it was delivered and the hours to
//! delivery. Orders that have not shipped count under location and carrier `none`.
//!
//! Hours are a histogram of whole hours (`ship_h{N}`, `deliver_h{N}`; 720 and beyond in
//! `…_h720`), so percentiles and the share shipped within any service level of whole hours
//! read back exact to the hour. An order version replayed counts nothing more (the rollups keep
//! what each order counted), and a later version moves the order out of `none` when it ships.
//!
//! Shopify's REST fulfilment carries no delivery time: a `delivered` fulfilment's `updated_at`
//! stands for it.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::payload::{RestFulfillment, RestOrder};
use super::{By, add, days, histogram, percentile, read_days};
use crate::store::{Contribution, Counters, StoreError, StoreHandle};

pub const REPORT: &str = "fulfilment";
/// Hours at and beyond this share the last histogram counter.
pub const MAX_HOURS: i64 = 720;
/// Location and carrier of orders without a fulfilment.
pub const NONE: &str = "none";

pub mod counter {
    pub const ORDERS: &str = "orders";
    pub const SHIPPED: &str = "shipped";
    pub const CANCELLED: &str = "cancelled";
    pub const DELIVERED: &str = "delivered";
    pub const SHIP_HOURS: &str = "ship_h";
    pub const DELIVER_HOURS: &str = "deliver_h";
}

fn time(s: &str, what: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s).map_err(|_| format!("{what} {s:?} is not a time"))
}

fn hours(from: DateTime<FixedOffset>, to: DateTime<FixedOffset>) -> i64 {
    ((to - from).num_minutes() / 60).clamp(0, MAX_HOURS)
}

/// A dimension as a bucket name part: no `/`, never empty.
fn part(s: Option<&str>) -> String {
    match s.map(str::trim) {
        Some(s) if !s.is_empty() => s.replace('/', "-"),
        _ => NONE.into(),
    }
}

/// Whether a fulfilment shipped anything.
pub fn shipped(f: &RestFulfillment) -> bool {
    !matches!(f.status.as_deref(), Some("cancelled" | "error" | "failure"))
}

/// What an order counts in the fulfilment buckets (a test order counts nothing).
pub fn count(o: &RestOrder, c: &mut Contribution) -> Result<(), String> {
    if o.test {
        return Ok(());
    }
    let placed_at = o.placed();
    let placed = time(placed_at, "processed_at")?;
    // The shop's day: the offset Shopify wrote the time in.
    let day = &placed_at[..10];
    let mut first: Option<(DateTime<FixedOffset>, &RestFulfillment)> = None;
    for f in o.fulfillments.iter().filter(|f| shipped(f)) {
        let at = time(&f.created_at, "fulfillment created_at")?;
        if first.is_none_or(|(t, _)| at < t) {
            first = Some((at, f));
        }
    }
    let Some((at, f)) = first else {
        let b = bucket(day, NONE, NONE);
        c.add(&b, counter::ORDERS, 1);
        if o.cancelled_at.is_some() {
            c.add(&b, counter::CANCELLED, 1);
        }
        return Ok(());
    };
    let location = f.location_id.map(|l| l.to_string());
    let b = bucket(
        day,
        &part(location.as_deref()),
        &part(f.tracking_company.as_deref()),
    );
    c.add(&b, counter::ORDERS, 1);
    c.add(&b, counter::SHIPPED, 1);
    let h = hours(placed, at);
    c.add(&b, &format!("{}{h}", counter::SHIP_HOURS), 1);
    if f.shipment_status.as_deref() == Some("delivered") {
        let delivered = time(
            f.updated_at.as_deref().unwrap_or(&f.created_at),
            "fulfillment updated_at",
        )?;
        c.add(&b, counter::DELIVERED, 1);
        let h = hours(placed, delivered);
        c.add(&b, &format!("{}{h}", counter::DELIVER_HOURS), 1);
    }
    Ok(())
}

pub fn bucket(day: &str, location: &str, carrier: &str) -> String {
    format!("{REPORT}/day/{day}/{location}/{carrier}")
}

/// One row: a day, week, location or carrier (`total` in the totals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentRow {
    pub key: String,
    pub orders: i64,
    pub shipped: i64,
    pub cancelled: i64,
    /// Neither shipped nor cancelled.
    pub waiting: i64,
    /// Whole hours from placed to the first fulfilment; `None` without shipped orders.
    pub ship_p50_h: Option<i64>,
    pub ship_p90_h: Option<i64>,
    /// 720 stands for 30 days or more.
    pub ship_max_h: Option<i64>,
    /// Shipped within the service level, of those shipped, in percent to one place.
    pub within_sla: String,
    pub delivered: i64,
    pub deliver_p50_h: Option<i64>,
    pub deliver_p90_h: Option<i64>,
    pub deliver_max_h: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: By,
    /// The service level: shipped within this many hours of the order.
    pub sla_hours: i64,
    pub rows: Vec<FulfilmentRow>,
    pub total: FulfilmentRow,
    /// The day of the oldest order still waiting, if any wait.
    pub oldest_waiting: Option<NaiveDate>,
}

fn row(key: String, c: &Counters, sla_hours: i64) -> FulfilmentRow {
    let n = |k: &str| c.get(k).copied().unwrap_or(0);
    let ship = histogram(c, counter::SHIP_HOURS);
    let deliver = histogram(c, counter::DELIVER_HOURS);
    let shipped = n(counter::SHIPPED);
    let within: i64 = ship.range(..sla_hours).map(|(_, v)| v).sum();
    FulfilmentRow {
        key,
        orders: n(counter::ORDERS),
        shipped,
        cancelled: n(counter::CANCELLED),
        waiting: n(counter::ORDERS) - shipped - n(counter::CANCELLED),
        ship_p50_h: percentile(&ship, 0.5),
        ship_p90_h: percentile(&ship, 0.9),
        ship_max_h: ship.keys().next_back().copied(),
        within_sla: if shipped == 0 {
            String::new()
        } else {
            // Tenths of a percent, rounded half up, in integers.
            let tenths = (within * 2000 + shipped) / (2 * shipped);
            format!("{}.{}%", tenths / 10, tenths % 10)
        },
        delivered: n(counter::DELIVERED),
        deliver_p50_h: percentile(&deliver, 0.5),
        deliver_p90_h: percentile(&deliver, 0.9),
        deliver_max_h: deliver.keys().next_back().copied(),
    }
}

/// The fulfilment report over `from..=to` (the days the orders were placed).
pub async fn report(
    store: &StoreHandle,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
    sla_hours: i64,
) -> Result<FulfilmentReport, StoreError> {
    let buckets = read_days(store, REPORT, from, to).await?;
    Ok(report_from(&buckets, from, to, by, sla_hours))
}

/// The report from day buckets (`fulfilment/day/DAY/LOCATION/CARRIER`).
pub fn report_from(
    buckets: &[(String, Counters)],
    from: NaiveDate,
    to: NaiveDate,
    by: By,
    sla_hours: i64,
) -> FulfilmentReport {
    let mut groups: BTreeMap<String, Counters> = BTreeMap::new();
    let mut total = Counters::new();
    let mut oldest_waiting = None;
    for day in days(buckets) {
        let [location, carrier] = day.dims;
        let key = day.time_key(by).unwrap_or_else(|| match by {
            By::Location if location != NONE => format!("gid://shopify/Location/{location}"),
            By::Location => NONE.to_string(),
            _ => carrier.to_string(),
        });
        add(groups.entry(key).or_default(), day.counters);
        add(&mut total, day.counters);
        let n = |k: &str| day.counters.get(k).copied().unwrap_or(0);
        if oldest_waiting.is_none()
            && n(counter::ORDERS) - n(counter::SHIPPED) - n(counter::CANCELLED) > 0
        {
            oldest_waiting = Some(day.date);
        }
    }
    FulfilmentReport {
        from,
        to,
        by,
        sla_hours,
        rows: groups
            .into_iter()
            .map(|(key, c)| row(key, &c, sla_hours))
            .collect(),
        total: row("total".into(), &total, sla_hours),
        oldest_waiting,
    }
}

#[cfg(test)]
mod tests {
    use super::super::contribution;
    use super::*;

    #[test]
    fn an_order_counts_its_first_fulfilment_and_its_delivery_in_whole_hours() {
        let body = br#"{
            "id": 7, "created_at": "2026-12-01T23:30:00-05:00", "currency": "USD",
            "total_line_items_price": "10.00",
            "fulfillments": [
                {"created_at": "2026-12-03T09:00:00-05:00", "updated_at": "2026-12-03T09:00:00-05:00",
                 "status": "success", "location_id": 2, "tracking_company": "FedEx"},
                {"created_at": "2026-12-02T10:15:00-05:00", "updated_at": "2026-12-05T11:40:00-05:00",
                 "status": "success", "location_id": 1, "tracking_company": "UPS",
                 "shipment_status": "delivered"},
                {"created_at": "2026-12-02T00:00:00-05:00", "status": "cancelled", "location_id": 3}
            ]
        }"#;
        let (_, c) = contribution(body).unwrap();
        // The first that shipped: location 1, 10 h 45 min after the order; delivered 84 h 10 min
        // after it. The cancelled one shipped nothing.
        let b = &c.0["fulfilment/day/2026-12-01/1/UPS"];
        assert_eq!(
            (
                b["orders"],
                b["shipped"],
                b["ship_h10"],
                b["delivered"],
                b["deliver_h84"]
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(
            c.0.keys().filter(|k| k.starts_with("fulfilment/")).count(),
            1
        );

        let waiting = br#"{"id": 8, "created_at": "2026-12-01T08:00:00-05:00", "currency": "USD",
            "total_line_items_price": "10.00", "cancelled_at": "2026-12-01T09:00:00-05:00"}"#;
        let (_, c) = contribution(waiting).unwrap();
        let b = &c.0["fulfilment/day/2026-12-01/none/none"];
        assert_eq!((b["orders"], b["cancelled"]), (1, 1));
    }

    #[test]
    fn percentiles_and_the_service_level_read_the_histogram() {
        // Ten shipped orders: 2 within the hour, 5 at 5 h, 2 at 30 h, 1 at 80 h; 3 waiting.
        let c: Counters = [
            ("orders", 13),
            ("shipped", 10),
            ("ship_h0", 2),
            ("ship_h5", 5),
            ("ship_h30", 2),
            ("ship_h80", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let r = row("x".into(), &c, 24);
        // p50: the 5th order (2 at 0 h, then 5 at 5 h); p90: the 9th (7 by 5 h, 9 by 30 h).
        assert_eq!(
            (r.ship_p50_h, r.ship_p90_h, r.ship_max_h),
            (Some(5), Some(30), Some(80))
        );
        // Within 24 h: 7 of 10.
        assert_eq!(r.within_sla, "70.0%");
        assert_eq!(r.waiting, 3);
        assert_eq!(row("x".into(), &c, 31).within_sla, "90.0%");
        assert_eq!((r.deliver_p50_h, r.delivered), (None, 0));
    }
}
