//! Customer activity, as the orders flow sees it: each order counts, on the shop's day it was
//! placed, for its customer, with its revenue: gross less discounts and less what its refunds
//! gave back for lines, so that a customer's revenue is what they kept. Cancelled and test
//! orders count nothing.
//!
//! A customer's orders are kept in one bucket of their own (`customers/id/ID`: per day and
//! currency, orders and revenue), so an order writes one key, and the customer's whole
//! history is there: a report knows who ordered for the first time ever in its range (new)
//! and who had ordered before (returning), whatever range it asks for. Guest checkouts count
//! per day (`customers/day/DAY/guest/CURRENCY`). A report reads every customer's bucket once
//! (one scan of `customers/id/`), which grows with the customers, not with the orders.
//!
//! The report, per day or ISO week and currency: customers who ordered, new and returning,
//! orders (and guest orders), revenue, orders and revenue per customer, and the repeat-purchase
//! rate (customers with two orders or more in the period, over customers); with the top
//! customers of the range by revenue.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::payload::RestOrder;
use super::report::{average, money};
use super::sales::{amount, day_and_hour};
use super::{By, days, read_days};
use crate::store::{Contribution, Counters, StoreError, StoreHandle};

pub const REPORT: &str = "customers";
/// The customer of a guest checkout.
pub const GUEST: &str = "guest";
/// How many customers the top list holds.
pub const TOP: usize = 10;

pub mod counter {
    pub const ORDERS: &str = "orders";
    pub const REVENUE: &str = "revenue";
}

/// The bucket of guest checkouts on `day`.
pub fn guest_bucket(day: &str, currency: &str) -> String {
    format!("{REPORT}/day/{day}/{GUEST}/{currency}")
}

/// The bucket of customer `id`'s orders.
pub fn customer_bucket(id: &str) -> String {
    format!("{REPORT}/id/{id}")
}

/// The prefix of every customer's bucket.
pub const CUSTOMERS_PREFIX: &str = "customers/id/";

/// In a customer's bucket: `2026-12-07/USD/o` (orders) and `…/r` (revenue).
fn counter_name(day: &str, currency: &str, what: char) -> String {
    format!("{day}/{currency}/{what}")
}

/// The number at the end of a customer's GID, the key of its bucket.
fn customer_id(gid: &str) -> &str {
    gid.rsplit('/').next().unwrap_or(gid)
}

/// What an order counts in the customer buckets.
pub fn count(o: &RestOrder, c: &mut Contribution) -> Result<(), String> {
    if o.test || o.cancelled_at.is_some() {
        return Ok(());
    }
    let placed = o.placed();
    let (day, _) =
        day_and_hour(placed).ok_or_else(|| format!("processed_at {placed:?} is not a time"))?;
    let mut revenue = amount(&o.total_line_items_price, "total_line_items_price")?
        - amount(
            o.total_discounts.as_deref().unwrap_or("0"),
            "total_discounts",
        )?;
    for r in &o.refunds {
        for l in &r.refund_line_items {
            revenue -= amount(&l.subtotal_set.shop_money.amount, "refund subtotal")?;
        }
    }
    match o.customer.as_ref().map(|c| c.gid()) {
        Some(gid) => {
            let b = customer_bucket(customer_id(&gid));
            c.add(&b, &counter_name(day, &o.currency, 'o'), 1);
            c.add(&b, &counter_name(day, &o.currency, 'r'), revenue);
        }
        None => {
            let b = guest_bucket(day, &o.currency);
            c.add(&b, counter::ORDERS, 1);
            c.add(&b, counter::REVENUE, revenue);
        }
    }
    Ok(())
}

/// One customer's orders as their bucket holds them: (day, currency) → (orders, revenue).
pub fn history(c: &Counters) -> BTreeMap<(NaiveDate, &str), Spend> {
    let mut out: BTreeMap<(NaiveDate, &str), Spend> = BTreeMap::new();
    for (name, n) in c {
        let mut parts = name.splitn(3, '/');
        let (Some(day), Some(currency), Some(what)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(day) = day.parse::<NaiveDate>() else {
            continue;
        };
        let at = out.entry((day, currency)).or_default();
        match what {
            "o" => at.orders += n,
            "r" => at.revenue += n,
            _ => {}
        }
    }
    out.retain(|_, s| s.orders > 0);
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomersRow {
    /// A day or a week; `total` in the totals.
    pub key: String,
    pub currency: String,
    /// Customers who ordered (guests apart).
    pub customers: i64,
    /// Of them, those whose first order ever was in this period.
    pub new_customers: i64,
    pub returning_customers: i64,
    /// Orders of customers, and of guests.
    pub orders: i64,
    pub guest_orders: i64,
    /// Revenue of every order, guests' included.
    pub revenue: String,
    pub orders_per_customer: Option<f64>,
    pub revenue_per_customer: String,
    /// Customers with two orders or more in the period, over customers.
    pub repeat_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopCustomer {
    pub customer: String,
    pub currency: String,
    pub orders: i64,
    pub revenue: String,
    pub first_order: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomersReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: By,
    pub rows: Vec<CustomersRow>,
    pub totals: Vec<CustomersRow>,
    pub top: Vec<TopCustomer>,
}

/// The customers report over `from..=to` (the shop's days): the guests' days, and one scan
/// of every customer's bucket.
pub async fn report(
    store: &StoreHandle,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> Result<CustomersReport, StoreError> {
    let guests = read_days(store, REPORT, from, to).await?;
    let customers = store
        .rollup_range(CUSTOMERS_PREFIX, CUSTOMERS_PREFIX)
        .await?;
    Ok(report_from(&guests, &customers, from, to, by))
}

/// Orders and revenue of one customer (or of the guests) in one period.
#[derive(Debug, Default, Clone, Copy)]
pub struct Spend {
    pub orders: i64,
    pub revenue: i64,
}

/// A period's (or the range's) customers in one currency.
#[derive(Debug, Default)]
struct Group<'a> {
    customers: BTreeMap<&'a str, Spend>,
    /// Of them, those whose first order ever was in the period.
    new: usize,
    guests: Spend,
}

/// The row key of `day` grouped `by`.
fn period(day: NaiveDate, by: By) -> String {
    match by {
        By::Week => {
            let w = day.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        _ => day.to_string(),
    }
}

pub fn report_from(
    guests: &[(String, Counters)],
    customers: &[(String, Counters)],
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> CustomersReport {
    let mut rows: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut totals: BTreeMap<String, Group> = BTreeMap::new();
    let mut firsts: BTreeMap<&str, NaiveDate> = BTreeMap::new();
    for (name, counters) in customers {
        let Some(id) = name.strip_prefix(CUSTOMERS_PREFIX) else {
            continue;
        };
        let history = history(counters);
        let Some(first) = history.keys().map(|(d, _)| *d).min() else {
            continue;
        };
        firsts.insert(id, first);
        for (&(day, currency), spend) in history.range((from, "")..) {
            if day > to {
                break;
            }
            let key = period(day, by);
            let new_in_period = period(first, by) == key;
            for (g, new) in [
                (
                    rows.entry((key, currency.to_string())).or_default(),
                    new_in_period,
                ),
                (
                    totals.entry(currency.to_string()).or_default(),
                    first >= from,
                ),
            ] {
                let at = g.customers.entry(id).or_default();
                if at.orders == 0 && new {
                    g.new += 1;
                }
                at.orders += spend.orders;
                at.revenue += spend.revenue;
            }
        }
    }
    for day in days(guests).filter(|d| d.dims[0] == GUEST) {
        let n = |k: &str| day.counters.get(k).copied().unwrap_or(0);
        let currency = day.dims[1].to_string();
        for g in [
            rows.entry((period(day.date, by), currency.clone()))
                .or_default(),
            totals.entry(currency).or_default(),
        ] {
            g.guests.orders += n(counter::ORDERS);
            g.guests.revenue += n(counter::REVENUE);
        }
    }
    let mut top: Vec<(i64, i64, &str, &str)> = totals
        .iter()
        .flat_map(|(currency, g)| {
            g.customers
                .iter()
                .map(move |(id, s)| (s.revenue, s.orders, *id, currency.as_str()))
        })
        .collect();
    // By revenue, then orders, then the customer.
    top.sort_by(|a, b| (b.0, b.1, a.2).cmp(&(a.0, a.1, b.2)));
    top.truncate(TOP);
    CustomersReport {
        from,
        to,
        by,
        rows: rows
            .iter()
            .map(|((key, currency), g)| row(key, currency, g))
            .collect(),
        totals: totals
            .iter()
            .map(|(currency, g)| row("total", currency, g))
            .collect(),
        top: top
            .into_iter()
            .map(|(revenue, orders, id, currency)| TopCustomer {
                customer: format!("gid://shopify/Customer/{id}"),
                currency: currency.to_string(),
                orders,
                revenue: money(revenue),
                first_order: firsts.get(id).copied(),
            })
            .collect(),
    }
}

fn row(key: &str, currency: &str, g: &Group) -> CustomersRow {
    let customers = g.customers.len() as i64;
    let new = g.new as i64;
    let orders: i64 = g.customers.values().map(|s| s.orders).sum();
    let revenue: i64 = g.customers.values().map(|s| s.revenue).sum();
    let repeat = g.customers.values().filter(|s| s.orders >= 2).count();
    let share =
        |n: f64| (customers > 0).then(|| (n / customers as f64 * 10_000.0).round() / 10_000.0);
    CustomersRow {
        key: key.to_string(),
        currency: currency.to_string(),
        customers,
        new_customers: new,
        returning_customers: customers - new,
        orders,
        guest_orders: g.guests.orders,
        revenue: money(revenue + g.guests.revenue),
        orders_per_customer: share(orders as f64),
        revenue_per_customer: average(revenue, customers),
        repeat_rate: share(repeat as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::super::contribution;
    use super::*;

    fn order(id: u64, customer: Option<u64>, day: &str, gross: &str) -> Vec<u8> {
        let customer = match customer {
            Some(c) => {
                format!(r#"{{"id": {c}, "admin_graphql_api_id": "gid://shopify/Customer/{c}"}}"#)
            }
            None => "null".into(),
        };
        format!(
            r#"{{"id": {id}, "created_at": "{day}T10:00:00-05:00", "currency": "USD",
                "total_line_items_price": "{gross}", "total_discounts": "0.00",
                "customer": {customer}, "line_items": [{{"quantity": 1, "sku": "A"}}]}}"#
        )
        .into_bytes()
    }

    fn rollups(orders: &[Vec<u8>]) -> Vec<(String, Counters)> {
        let mut buckets: BTreeMap<String, Counters> = BTreeMap::new();
        for o in orders {
            let (_, c) = contribution(o).unwrap();
            for (b, counters) in c.0 {
                super::super::add(buckets.entry(b).or_default(), &counters);
            }
        }
        buckets.into_iter().collect()
    }

    #[test]
    fn new_returning_repeat_and_top_customers() {
        let all = rollups(&[
            // Customer 1 first ordered on Nov 20, before the range; twice in it.
            order(1, Some(1), "2026-11-20", "10.00"),
            order(2, Some(1), "2026-12-01", "30.00"),
            order(3, Some(1), "2026-12-02", "20.00"),
            // Customer 2 is new on Dec 2; a guest orders on Dec 1.
            order(4, Some(2), "2026-12-02", "70.00"),
            order(5, None, "2026-12-01", "5.00"),
        ]);
        let guests: Vec<(String, Counters)> = all
            .iter()
            .filter(|(b, _)| b.starts_with("customers/day/"))
            .cloned()
            .collect();
        let customers: Vec<(String, Counters)> = all
            .iter()
            .filter(|(b, _)| b.starts_with(CUSTOMERS_PREFIX))
            .cloned()
            .collect();
        // One bucket per customer, whatever the days.
        assert_eq!(customers.len(), 2);
        let r = report_from(
            &guests,
            &customers,
            "2026-12-01".parse().unwrap(),
            "2026-12-02".parse().unwrap(),
            By::Day,
        );
        let t = &r.totals[0];
        // Two customers: 1 returning (first order Nov 20), 2 new. Customer 1 ordered twice:
        // repeat rate 1 / 2. Orders 3 of customers (+1 guest); revenue 30 + 20 + 70 + 5 = 125,
        // per customer (30 + 20 + 70) / 2 = 60.
        assert_eq!(
            (
                t.customers,
                t.new_customers,
                t.returning_customers,
                t.orders,
                t.guest_orders
            ),
            (2, 1, 1, 3, 1)
        );
        assert_eq!(
            (t.revenue.as_str(), t.revenue_per_customer.as_str()),
            ("125.00", "60.00")
        );
        assert_eq!(
            (t.orders_per_customer, t.repeat_rate),
            (Some(1.5), Some(0.5))
        );
        let dec2 = &r.rows[1];
        assert_eq!(dec2.key, "2026-12-02");
        assert_eq!((dec2.customers, dec2.new_customers), (2, 1));
        let top: Vec<(&str, &str)> = r
            .top
            .iter()
            .map(|t| (t.customer.as_str(), t.revenue.as_str()))
            .collect();
        assert_eq!(
            top,
            [
                ("gid://shopify/Customer/2", "70.00"),
                ("gid://shopify/Customer/1", "50.00")
            ]
        );
    }
}
