//! Reading the sales rollups back: rows per day, ISO week or channel, each currency apart, with
//! the totals per currency. Money leaves as decimal strings, computed in integers.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use super::By;
use super::sales::{REPORT, counter};
use super::{add, days, read_days};
use crate::flows::returns::rules::Amount;
use crate::store::{Counters, StoreError, StoreHandle};

/// One row: a day, week or channel in one currency (or a currency's total).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesRow {
    /// `2026-12-07`, `2026-W49`, `web`; `total` in the totals.
    pub key: String,
    pub currency: String,
    pub orders: i64,
    pub units: i64,
    pub units_returned: i64,
    /// Lines at their price, before discounts.
    pub gross: String,
    pub discounts: String,
    /// What refunds gave back for lines, on the day of the refund.
    pub returns: String,
    /// Gross less discounts and returns.
    pub net: String,
    pub shipping: String,
    pub tax: String,
    /// Net sales, shipping and tax.
    pub total: String,
    /// (Gross less discounts) per order; empty without orders.
    pub average_order_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: By,
    pub rows: Vec<SalesRow>,
    /// One row per currency over the whole range.
    pub totals: Vec<SalesRow>,
}

/// Ten-thousandths of a unit as a decimal, as [`Amount`] writes it: two places, more only
/// when they are not zero.
pub fn money(units: i64) -> String {
    Amount(units).to_string()
}

/// `sold / orders`, rounded half away from zero to the cent; empty without orders.
pub fn average(sold: i64, orders: i64) -> String {
    if orders == 0 {
        return String::new();
    }
    let (n, d) = (sold as i128, 100 * orders as i128);
    let (q, r) = (n / d, n % d);
    let cents = if 2 * r.abs() >= d { q + n.signum() } else { q };
    money(cents as i64 * 100)
}

fn row(key: String, currency: String, c: &Counters) -> SalesRow {
    let n = |k: &str| c.get(k).copied().unwrap_or(0);
    let (gross, discounts, returns) = (
        n(counter::GROSS),
        n(counter::DISCOUNTS),
        n(counter::RETURNS),
    );
    let net = gross - discounts - returns;
    let (shipping, tax) = (n(counter::SHIPPING), n(counter::TAX));
    SalesRow {
        key,
        currency,
        orders: n(counter::ORDERS),
        units: n(counter::UNITS),
        units_returned: n(counter::UNITS_RETURNED),
        gross: money(gross),
        discounts: money(discounts),
        returns: money(returns),
        net: money(net),
        shipping: money(shipping),
        tax: money(tax),
        total: money(net + shipping + tax),
        average_order_value: average(gross - discounts, n(counter::ORDERS)),
    }
}

/// The sales report over `from..=to` (the shop's days).
pub async fn sales(
    store: &StoreHandle,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> Result<SalesReport, StoreError> {
    let buckets = read_days(store, REPORT, from, to).await?;
    Ok(sales_from(&buckets, from, to, by))
}

/// The report from day buckets (`sales/day/DAY/CHANNEL/CURRENCY`).
pub fn sales_from(
    buckets: &[(String, Counters)],
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> SalesReport {
    let mut groups: BTreeMap<(String, String), Counters> = BTreeMap::new();
    let mut totals: BTreeMap<String, Counters> = BTreeMap::new();
    for day in days(buckets) {
        let [channel, currency] = day.dims;
        // Sales have no location nor carrier: the API asks only for what this report has.
        let key = day.time_key(by).unwrap_or_else(|| channel.to_string());
        add(
            groups.entry((key, currency.to_string())).or_default(),
            day.counters,
        );
        add(
            totals.entry(currency.to_string()).or_default(),
            day.counters,
        );
    }
    SalesReport {
        from,
        to,
        by,
        rows: groups
            .into_iter()
            .map(|((key, currency), c)| row(key, currency, &c))
            .collect(),
        totals: totals
            .into_iter()
            .map(|(currency, c)| row("total".into(), currency, &c))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_every_cent_and_more_only_when_there() {
        assert_eq!(money(123_4500), "123.45");
        assert_eq!(money(-5_0000), "-5.00");
        assert_eq!(money(1_2345), "1.2345");
        assert_eq!(money(0), "0.00");
        assert_eq!(average(100_0000, 3), "33.33");
        assert_eq!(average(200_0000, 3), "66.67");
        assert_eq!(average(0, 0), "");
    }
}
