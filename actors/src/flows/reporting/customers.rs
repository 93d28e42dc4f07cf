//! Customer activity, as the orders flow sees it: each order counts, on the shop's day it was
//! placed, for its customer (guest checkouts apart), with its revenue: gross less discounts
//! and less what its refunds gave back for lines, so that a customer's revenue is what they
//! kept. Each customer also keeps the days they ordered on (`customers/first/ID`), so a report
//! knows who ordered for the first time ever in its range (new) and who had ordered before
//! (returning), whatever range it asks for. Cancelled and test orders count nothing.
//!
//! The report, per day or ISO week and currency: customers who ordered, new and returning,
//! orders (and guest orders), revenue, orders and revenue per customer, and the repeat-purchase
//! rate (customers with two orders or more in the period, over customers); with the top
//! customers of the range by revenue.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
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
    /// In a customer's first-seen bucket: `d2026-12-07` → orders that day.
    pub const DAY: &str = "d";
}

pub fn bucket(day: &str, customer: &str, currency: &str) -> String {
    format!("{REPORT}/day/{day}/{customer}/{currency}")
}

/// The bucket of the days customer `id` ordered on.
pub fn first_bucket(id: &str) -> String {
    format!("{REPORT}/first/{id}")
}

/// The number at the end of a customer's GID, the key of its buckets.
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
    let gid = o.customer.as_ref().map(|c| c.gid());
    let customer = gid.as_deref().map(customer_id).unwrap_or(GUEST);
    let b = bucket(day, customer, &o.currency);
    c.add(&b, counter::ORDERS, 1);
    c.add(&b, counter::REVENUE, revenue);
    if customer != GUEST {
        c.add(
            &first_bucket(customer),
            &format!("{}{day}", counter::DAY),
            1,
        );
    }
    Ok(())
}

/// The first day a first-seen bucket counts an order on.
pub fn first_day(c: &Counters) -> Option<NaiveDate> {
    c.iter()
        .filter(|(_, n)| **n > 0)
        .filter_map(|(k, _)| k.strip_prefix(counter::DAY)?.parse().ok())
        .min()
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

/// The customers report over `from..=to` (the shop's days): one scan of the range, then one
/// read of each customer's first-seen bucket.
pub async fn report(
    store: &StoreHandle,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> Result<CustomersReport, StoreError> {
    let buckets = read_days(store, REPORT, from, to).await?;
    let ids: Vec<String> = days(&buckets)
        .map(|d| d.dims[0])
        .filter(|c| *c != GUEST)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_string)
        .collect();
    let firsts = store
        .rollup_get(ids.iter().map(|id| first_bucket(id)).collect())
        .await?;
    let first: HashMap<String, NaiveDate> = ids
        .into_iter()
        .zip(firsts)
        .filter_map(|(id, c)| Some((id, first_day(&c?)?)))
        .collect();
    Ok(report_from(&buckets, &first, from, to, by))
}

/// Orders and revenue of one customer (or of the guests) in one period.
#[derive(Debug, Default, Clone, Copy)]
struct Spend {
    orders: i64,
    revenue: i64,
}

/// A period's (or the range's) customers in one currency.
#[derive(Debug, Default)]
struct Group {
    customers: BTreeMap<String, Spend>,
    guests: Spend,
}

pub fn report_from(
    buckets: &[(String, Counters)],
    first: &HashMap<String, NaiveDate>,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
) -> CustomersReport {
    let mut rows: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut totals: BTreeMap<String, Group> = BTreeMap::new();
    // When a customer first ordered: the store's record, else the first day seen here.
    let mut first_seen: HashMap<&str, NaiveDate> = HashMap::new();
    for day in days(buckets) {
        let [customer, currency] = day.dims;
        let n = |k: &str| day.counters.get(k).copied().unwrap_or(0);
        let spend = Spend {
            orders: n(counter::ORDERS),
            revenue: n(counter::REVENUE),
        };
        let key = day.time_key(by).unwrap_or_else(|| day.date.to_string());
        for g in [
            rows.entry((key, currency.to_string())).or_default(),
            totals.entry(currency.to_string()).or_default(),
        ] {
            let at = if customer == GUEST {
                &mut g.guests
            } else {
                g.customers.entry(customer.to_string()).or_default()
            };
            at.orders += spend.orders;
            at.revenue += spend.revenue;
        }
        if customer != GUEST {
            first_seen.entry(customer).or_insert(day.date);
        }
    }
    let first_of = |c: &str| first.get(c).copied().or(first_seen.get(c).copied());
    let new_in = |key: &str, c: &str| {
        first_of(c).is_some_and(|d| match by {
            By::Week => {
                let w = chrono::Datelike::iso_week(&d);
                format!("{}-W{:02}", w.year(), w.week()) == key
            }
            _ => d.to_string() == key,
        })
    };
    let in_range = |c: &str| first_of(c).is_some_and(|d| d >= from && d <= to);
    let mut top: Vec<TopCustomer> = totals
        .iter()
        .flat_map(|(currency, g)| g.customers.iter().map(move |(c, s)| (c, currency, *s)))
        .map(|(c, currency, s)| TopCustomer {
            customer: format!("gid://shopify/Customer/{c}"),
            currency: currency.clone(),
            orders: s.orders,
            revenue: money(s.revenue),
            first_order: first_of(c),
        })
        .collect();
    // By revenue, then orders; the revenue compared as a number, not as its text.
    let revenue_of = |t: &TopCustomer| {
        crate::flows::returns::rules::Amount::parse(&t.revenue)
            .map(|a| a.0)
            .unwrap_or(0)
    };
    top.sort_by(|a, b| {
        (revenue_of(b), b.orders, &a.customer).cmp(&(revenue_of(a), a.orders, &b.customer))
    });
    top.truncate(TOP);
    CustomersReport {
        from,
        to,
        by,
        rows: rows
            .iter()
            .map(|((key, currency), g)| row(key, currency, g, |c| new_in(key, c)))
            .collect(),
        totals: totals
            .iter()
            .map(|(currency, g)| row("total", currency, g, in_range))
            .collect(),
        top,
    }
}

fn row(key: &str, currency: &str, g: &Group, is_new: impl Fn(&str) -> bool) -> CustomersRow {
    let customers = g.customers.len() as i64;
    let new = g.customers.keys().filter(|c| is_new(c)).count() as i64;
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
        let in_range: Vec<(String, Counters)> = all
            .iter()
            .filter(|(b, _)| b.as_str() >= "customers/day/2026-12-01")
            .filter(|(b, _)| b.starts_with("customers/day/"))
            .cloned()
            .collect();
        let first: HashMap<String, NaiveDate> = all
            .iter()
            .filter_map(|(b, c)| {
                Some((
                    b.strip_prefix("customers/first/")?.to_string(),
                    first_day(c)?,
                ))
            })
            .collect();
        assert_eq!(first["1"].to_string(), "2026-11-20");
        let r = report_from(
            &in_range,
            &first,
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
