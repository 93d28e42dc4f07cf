//! Inventory turnover, from two flows: the orders flow counts units sold per SKU on the day the
//! order was placed, under the location of its first fulfilment (`none` until it ships; a
//! cancelled order sells nothing); the inventory flow records each stock level the back office
//! sends as the SKU's level at that location on that day (a [`RollupWrite::Level`]: the newest
//! reading of the day wins, a replay changes nothing), and counts a day on which Shopify's
//! level was below zero when a feed came as an oversell.
//!
//! Days are UTC days here (the stock feed's `as_of` has no time zone of its own), so an order
//! placed late in the shop's evening may sell on the next UTC day; the sales report counts in
//! the shop's days.
//!
//! The report, per SKU or location over `from..=to`:
//! - units sold; average on hand: the mean over the days of the range of the day's level, a day
//!   without a reading keeping the last one (from up to [`LOOKBACK_DAYS`] before the range);
//!   days before any reading count for nothing;
//! - turnover = sold / average on hand; days of cover = the last level / sold per day;
//! - stock-out days (a level of zero or less), oversold days, and whether the SKU's feed is
//!   stale: its newest reading older than `stale_after` before the end of the range;
//! - gross margin per currency: what units sold for (price less line discounts) less their
//!   unit cost on the day they sold, from the costs the ERP sends ([`super::costs`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::costs::Costs;
use super::payload::RestOrder;
use super::report::money;
use super::sales::amount;
use super::{By, read_days};
use crate::store::rollups::LEVEL_AS_OF;
use crate::store::{Contribution, Counters, RollupWrite, StoreError, StoreHandle};

pub const REPORT: &str = "inventory";
/// The location of units sold by orders not shipped yet.
pub const NONE: &str = "none";
/// How far before a range a level is looked for, to know the stock on its first days.
pub const LOOKBACK_DAYS: u64 = 30;

pub mod counter {
    pub const ON_HAND: &str = "on_hand";
    pub const OVERSOLD: &str = "oversold";
    /// `units:USD`: units sold in orders of that currency; their sum is the units sold (an
    /// order counts no separate total: every order writes a bucket per SKU, so a counter
    /// fewer is a quarter less to write).
    pub const UNITS_IN: &str = "units:";
    /// `sales:USD`: what they sold for, in ten-thousandths.
    pub const SALES_IN: &str = "sales:";
}

pub fn bucket(day: &str, sku: &str, location: &str) -> String {
    let mut b = String::with_capacity(REPORT.len() + day.len() + sku.len() + location.len() + 8);
    for part in [REPORT, "/day/", day, "/"] {
        b.push_str(part);
    }
    // A `/` would split the name's parts: SKUs may hold one.
    b.extend(sku.chars().map(|c| if c == '/' { '-' } else { c }));
    b.push('/');
    b.push_str(location);
    b
}

/// The UTC day of a millisecond time.
pub fn utc_day(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_else(|| "1970-01-01".into())
}

/// What an order counts in the inventory buckets: its units per SKU.
pub fn count(o: &RestOrder, c: &mut Contribution) -> Result<(), String> {
    if o.test || o.cancelled_at.is_some() {
        return Ok(());
    }
    let placed = o.placed();
    let at = DateTime::parse_from_rfc3339(placed)
        .map_err(|_| format!("processed_at {placed:?} is not a time"))?;
    let day = at.to_utc().date_naive().to_string();
    let location = o
        .fulfillments
        .iter()
        .filter(|f| super::fulfilment::shipped(f))
        .min_by(|a, b| a.created_at.cmp(&b.created_at))
        .and_then(|f| f.location_id)
        .map(|l| l.to_string())
        .unwrap_or_else(|| NONE.into());
    let units_in = format!("{}{}", counter::UNITS_IN, o.currency);
    let sales_in = format!("{}{}", counter::SALES_IN, o.currency);
    for line in &o.line_items {
        if let Some(sku) = line.sku.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            // What the line sold for, for its margin: price × quantity less its discounts.
            let price = amount(line.price.as_deref().unwrap_or("0"), "line_items price")?;
            let discount = amount(
                line.total_discount.as_deref().unwrap_or("0"),
                "line_items total_discount",
            )?;
            c.add_all(
                bucket(&day, sku, &location),
                &[
                    (&units_in, line.quantity),
                    (&sales_in, price * line.quantity - discount),
                ],
            );
        }
    }
    Ok(())
}

/// A stock reading of the back office: `on_hand` of `sku` at Shopify location `location` as of
/// `as_of` (ms), and whether Shopify's own level was below zero then (an oversell).
pub fn reading(
    sku: &str,
    location: u64,
    on_hand: i64,
    as_of: i64,
    shopify_level: Option<i64>,
) -> Vec<RollupWrite> {
    let day = utc_day(as_of);
    let bucket = bucket(&day, sku, &location.to_string());
    let mut writes = vec![RollupWrite::Level {
        bucket: bucket.clone(),
        counters: Counters::from([
            (counter::ON_HAND.to_string(), on_hand),
            (LEVEL_AS_OF.to_string(), as_of),
        ]),
    }];
    if shopify_level.is_some_and(|l| l < 0) {
        let mut c = Contribution::default();
        c.add(&bucket, counter::OVERSOLD, 1);
        writes.push(RollupWrite::Count {
            entity: format!("oversold:{sku}@{location}:{day}"),
            contribution: c,
        });
    }
    writes
}

/// One row: a SKU or a location (`total` in the totals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryRow {
    pub key: String,
    pub sold: i64,
    /// Mean units on hand over the days a level was known; `None` without any.
    pub avg_on_hand: Option<f64>,
    /// The last level known, at the range's end.
    pub on_hand: Option<i64>,
    /// Sold over average on hand; `None` when nothing was on hand on average.
    pub turnover: Option<f64>,
    /// How many days the last level lasts at the range's rate of sale; `None` without sales.
    pub days_of_cover: Option<f64>,
    /// Days (per SKU and location) that ended at zero or below.
    pub stockout_days: i64,
    pub oversold_days: i64,
    /// SKU and location pairs whose newest reading is older than `stale_after`.
    pub stale: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: By,
    pub rows: Vec<InventoryRow>,
    pub total: InventoryRow,
    /// Gross margin per SKU or location and currency, from the unit costs the ERP sent.
    #[serde(default)]
    pub margins: Vec<MarginRow>,
    /// Per currency.
    #[serde(default)]
    pub margin_totals: Vec<MarginRow>,
}

/// Gross margin: what units sold for less their cost on the day they sold. Units sold on a
/// day without a cost for their SKU (in their currency) count in `units` and `revenue` only;
/// the margin is over the costed ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarginRow {
    pub key: String,
    pub currency: String,
    pub units: i64,
    pub revenue: String,
    pub costed_units: i64,
    pub cost_of_goods: String,
    /// Revenue of the costed units less their cost.
    pub gross_margin: String,
    /// Gross margin over the costed units' revenue, in per mille; `None` without any.
    pub margin_permille: Option<i64>,
}

/// Sums of one margin row.
#[derive(Debug, Default, Clone, Copy)]
struct Margin {
    units: i64,
    revenue: i64,
    costed_units: i64,
    costed_revenue: i64,
    cost: i64,
}

impl Margin {
    fn row(&self, key: String, currency: String) -> MarginRow {
        let margin = self.costed_revenue - self.cost;
        MarginRow {
            key,
            currency,
            units: self.units,
            revenue: money(self.revenue),
            costed_units: self.costed_units,
            cost_of_goods: money(self.cost),
            gross_margin: money(margin),
            margin_permille: (self.costed_revenue != 0)
                .then(|| (margin as i128 * 1000 / self.costed_revenue as i128) as i64),
        }
    }

    fn add(&mut self, o: &Margin) {
        self.units += o.units;
        self.revenue += o.revenue;
        self.costed_units += o.costed_units;
        self.costed_revenue += o.costed_revenue;
        self.cost += o.cost;
    }
}

/// The margins of the days in `from..=to`, grouped as the report is.
fn margins(
    buckets: &[(String, Counters)],
    costs: &HashMap<String, Costs>,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> (Vec<MarginRow>, Vec<MarginRow>) {
    let mut rows: BTreeMap<(String, String), Margin> = BTreeMap::new();
    let mut totals: BTreeMap<String, Margin> = BTreeMap::new();
    for day in super::days(buckets).filter(|d| d.date >= from && d.date <= to) {
        let [sku, location] = day.dims;
        for (name, units) in day.counters {
            let Some(currency) = name.strip_prefix(counter::UNITS_IN) else {
                continue;
            };
            let revenue = day
                .counters
                .get(&format!("{}{currency}", counter::SALES_IN))
                .copied()
                .unwrap_or(0);
            let mut m = Margin {
                units: *units,
                revenue,
                ..Margin::default()
            };
            if let Some(cost) = costs.get(sku).and_then(|c| c.on(day.date, currency)) {
                m.costed_units = *units;
                m.costed_revenue = revenue;
                m.cost = cost * units;
            }
            rows.entry((group_key(by, sku, location), currency.to_string()))
                .or_default()
                .add(&m);
            totals.entry(currency.to_string()).or_default().add(&m);
        }
    }
    (
        rows.into_iter()
            .map(|((k, cur), m)| m.row(k, cur))
            .collect(),
        totals
            .into_iter()
            .map(|(cur, m)| m.row("total".into(), cur))
            .collect(),
    )
}

/// A row's key: the SKU, or the location's GID.
fn group_key(by: By, sku: &str, location: &str) -> String {
    match by {
        By::Location if location != NONE => format!("gid://shopify/Location/{location}"),
        By::Location => NONE.to_string(),
        _ => sku.to_string(),
    }
}

/// What one SKU at one location did over the range.
#[derive(Debug, Default, Clone)]
struct Pair {
    sold: i64,
    on_hand_sum: i64,
    known_days: i64,
    last: Option<i64>,
    last_as_of: Option<i64>,
    stockout_days: i64,
    oversold_days: i64,
}

/// The inventory report over `from..=to`: a SKU's feed is stale when its newest reading is
/// older than `stale_after_ms` before the end of the range (or `now_ms`, if sooner).
pub async fn report(
    store: &StoreHandle,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
    stale_after_ms: i64,
    now_ms: i64,
) -> Result<InventoryReport, StoreError> {
    let start = from
        .checked_sub_days(Days::new(LOOKBACK_DAYS))
        .unwrap_or(from);
    let buckets = read_days(store, REPORT, start, to).await?;
    let skus: Vec<String> = super::days(&buckets)
        .filter(|d| d.date >= from && d.counters.keys().any(|k| k.starts_with(counter::UNITS_IN)))
        .map(|d| d.dims[0].to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let stored = store
        .rollup_get(skus.iter().map(|s| super::costs::bucket(s)).collect())
        .await?;
    let costs: HashMap<String, Costs> = skus
        .into_iter()
        .zip(stored)
        .filter_map(|(sku, c)| Some((sku, Costs::from_counters(&c?))))
        .collect();
    let mut r = report_from(&buckets, from, to, by, stale_after_ms, now_ms);
    (r.margins, r.margin_totals) = margins(&buckets, &costs, from, to, by);
    Ok(r)
}

pub fn report_from(
    buckets: &[(String, Counters)],
    from: NaiveDate,
    to: NaiveDate,
    by: By,
    stale_after_ms: i64,
    now_ms: i64,
) -> InventoryReport {
    // (sku, location) → day → counters, in day order.
    let mut pairs: BTreeMap<(&str, &str), BTreeMap<NaiveDate, &Counters>> = BTreeMap::new();
    for day in super::days(buckets) {
        let [sku, location] = day.dims;
        pairs
            .entry((sku, location))
            .or_default()
            .insert(day.date, day.counters);
    }
    let end_ms = to
        .checked_add_days(Days::new(1))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(i64::MAX)
        .min(now_ms);
    let mut groups: BTreeMap<String, Vec<Pair>> = BTreeMap::new();
    let mut all = Vec::new();
    for ((sku, location), by_day) in &pairs {
        let pair = walk(by_day, from, to);
        if pair.sold == 0 && pair.known_days == 0 && pair.oversold_days == 0 {
            continue;
        }
        let key = group_key(by, sku, location);
        groups.entry(key).or_default().push(pair.clone());
        all.push(pair);
    }
    let days = (to - from).num_days() + 1;
    let row = |key: String, pairs: &[Pair]| row(key, pairs, days, end_ms, stale_after_ms);
    InventoryReport {
        from,
        to,
        by,
        rows: groups.iter().map(|(k, p)| row(k.clone(), p)).collect(),
        total: row("total".into(), &all),
        margins: Vec::new(),
        margin_totals: Vec::new(),
    }
}

/// One pair's days from `from` to `to`, the level carried from day to day.
fn walk(by_day: &BTreeMap<NaiveDate, &Counters>, from: NaiveDate, to: NaiveDate) -> Pair {
    let n = |c: &Counters, k: &str| c.get(k).copied().unwrap_or(0);
    let mut p = Pair::default();
    let mut level: Option<i64> = None;
    // The level the range opens with: the last reading before it.
    for c in by_day.range(..from).map(|(_, c)| *c) {
        if let Some(&as_of) = c.get(LEVEL_AS_OF) {
            level = Some(n(c, counter::ON_HAND));
            p.last_as_of = Some(as_of);
        }
    }
    let mut day = from;
    while day <= to {
        if let Some(c) = by_day.get(&day) {
            p.sold += c
                .iter()
                .filter(|(k, _)| k.starts_with(counter::UNITS_IN))
                .map(|(_, v)| v)
                .sum::<i64>();
            p.oversold_days += n(c, counter::OVERSOLD);
            if let Some(&as_of) = c.get(LEVEL_AS_OF) {
                level = Some(n(c, counter::ON_HAND));
                p.last_as_of = Some(as_of);
            }
        }
        if let Some(l) = level {
            p.on_hand_sum += l;
            p.known_days += 1;
            if l <= 0 {
                p.stockout_days += 1;
            }
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    p.last = level;
    p
}

fn row(key: String, pairs: &[Pair], days: i64, end_ms: i64, stale_after_ms: i64) -> InventoryRow {
    let sold: i64 = pairs.iter().map(|p| p.sold).sum();
    // Average on hand of a group: the sum of its pairs' averages.
    let known: Vec<&Pair> = pairs.iter().filter(|p| p.known_days > 0).collect();
    let avg_on_hand = (!known.is_empty()).then(|| {
        known
            .iter()
            .map(|p| p.on_hand_sum as f64 / p.known_days as f64)
            .sum::<f64>()
    });
    let on_hand = (!known.is_empty()).then(|| known.iter().filter_map(|p| p.last).sum());
    InventoryRow {
        key,
        sold,
        avg_on_hand: avg_on_hand.map(round2),
        on_hand,
        turnover: avg_on_hand
            .filter(|a| *a > 0.0)
            .map(|a| round2(sold as f64 / a)),
        days_of_cover: on_hand
            .filter(|_| sold > 0)
            .map(|h: i64| round2(h.max(0) as f64 / (sold as f64 / days as f64))),
        stockout_days: pairs.iter().map(|p| p.stockout_days).sum(),
        oversold_days: pairs.iter().map(|p| p.oversold_days).sum(),
        stale: known
            .iter()
            .filter(|p| p.last_as_of.is_some_and(|t| end_ms - t > stale_after_ms))
            .count() as i64,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn turnover_cover_stockouts_and_staleness_from_sales_and_levels() {
        let mut b: BTreeMap<String, Counters> = BTreeMap::new();
        let mut put = |bucket: String, k: &str, v: i64| {
            b.entry(bucket).or_default().insert(k.into(), v);
        };
        // SKU A at location 1: 10 on hand before the range (Nov 28), 4 on Dec 2, 0 on Dec 3;
        // sold 3 on Dec 1 and 3 on Dec 2 (location 1), and 2 not shipped yet on Dec 3.
        put(bucket("2026-11-28", "A", "1"), "on_hand", 10);
        put(
            bucket("2026-11-28", "A", "1"),
            "as_of",
            ms("2026-11-28T08:00:00Z"),
        );
        put(bucket("2026-12-01", "A", "1"), "units:USD", 3);
        put(bucket("2026-12-02", "A", "1"), "units:USD", 3);
        put(bucket("2026-12-02", "A", "1"), "on_hand", 4);
        put(
            bucket("2026-12-02", "A", "1"),
            "as_of",
            ms("2026-12-02T08:00:00Z"),
        );
        put(
            bucket("2026-12-03", "A", "1"),
            "as_of",
            ms("2026-12-03T08:00:00Z"),
        );
        put(bucket("2026-12-03", "A", "1"), "oversold", 1);
        put(bucket("2026-12-03", "A", "none"), "units:USD", 2);
        let buckets: Vec<(String, Counters)> = b.into_iter().collect();
        let r = report_from(
            &buckets,
            day("2026-12-01"),
            day("2026-12-04"),
            By::Day,
            24 * 3_600_000,
            ms("2026-12-10T00:00:00Z"),
        );
        assert_eq!(r.rows.len(), 1);
        let a = &r.rows[0];
        assert_eq!(a.key, "A");
        // Sold: 3 + 3 + 2 = 8.
        assert_eq!(a.sold, 8);
        // Location 1's days: Dec 1 carries 10, Dec 2 is 4, Dec 3 and 4 are 0: (10+4+0+0)/4 =
        // 3.5. Location none has no level: it adds sales, not stock.
        assert_eq!(a.avg_on_hand, Some(3.5));
        assert_eq!(a.on_hand, Some(0));
        // 8 / 3.5 = 2.2857…
        assert_eq!(a.turnover, Some(2.29));
        assert_eq!(a.days_of_cover, Some(0.0));
        assert_eq!((a.stockout_days, a.oversold_days), (2, 1));
        // The newest reading (Dec 3 08:00) is older than a day before the range's end (Dec 5).
        assert_eq!(a.stale, 1);
        let by_location = report_from(
            &buckets,
            day("2026-12-01"),
            day("2026-12-02"),
            By::Location,
            7 * 24 * 3_600_000,
            ms("2026-12-10T00:00:00Z"),
        );
        let keys: Vec<&str> = by_location.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            ["gid://shopify/Location/1"],
            "nothing sold unshipped in those days"
        );
        // (10 + 4) / 2 = 7 on hand; 6 sold: cover 4 / (6 / 2) = 1.33 days.
        let one = &by_location.rows[0];
        assert_eq!(
            (one.avg_on_hand, one.days_of_cover),
            (Some(7.0), Some(1.33))
        );
        assert_eq!(one.stale, 0);
    }

    #[test]
    fn a_reading_below_zero_in_shopify_is_an_oversell_counted_once_per_day() {
        let w = reading("A/1", 7, 5, ms("2026-12-03T08:00:00Z"), Some(-2));
        assert_eq!(w.len(), 2);
        match &w[0] {
            RollupWrite::Level { bucket, counters } => {
                assert_eq!(bucket, "inventory/day/2026-12-03/A-1/7");
                assert_eq!(counters["on_hand"], 5);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&w[1], RollupWrite::Count { entity, .. } if entity == "oversold:A/1@7:2026-12-03")
        );
        assert_eq!(reading("A", 7, 5, 0, Some(0)).len(), 1);
    }
}
