//! Sales, as the orders flow sees them: what one order version counts, per day and hour in the
//! shop's time zone, per channel and currency.
//!
//! The figures follow Shopify's sales report: gross sales are the lines at their price before
//! discounts; returns are what refunds gave back for lines, on the day of the refund; net sales
//! are gross less discounts and returns; shipping and tax are apart, and the tax of returned
//! lines comes off the tax on the refund's day. Test orders count nothing.
//! An order's refunds come with its versions (`orders/updated` carries them), so the order is
//! the one thing counted, and counting a newer version applies only the difference.

use super::payload::RestOrder;
use crate::flows::returns::rules::Amount;
use crate::store::Contribution;

pub const REPORT: &str = "sales";

/// Counters of a sales bucket.
pub mod counter {
    pub const ORDERS: &str = "orders";
    pub const UNITS: &str = "units";
    pub const GROSS: &str = "gross";
    pub const DISCOUNTS: &str = "discounts";
    pub const SHIPPING: &str = "shipping";
    pub const TAX: &str = "tax";
    pub const RETURNS: &str = "returns";
    pub const UNITS_RETURNED: &str = "units_returned";
    pub const REFUNDS: &str = "refunds";
}

/// `2026-12-07` and `2026-12-07T10` of a Shopify timestamp, in the offset it was written in
/// (Shopify writes the shop's), or `None` if it is not one.
pub fn day_and_hour(at: &str) -> Option<(&str, &str)> {
    chrono::DateTime::parse_from_rfc3339(at).ok()?;
    Some((at.get(..10)?, at.get(..13)?))
}

/// The bucket of `report` for a `time` (`2026-12-07`, `2026-12-07T10`) and its dimensions.
pub fn bucket(resolution: &str, time: &str, channel: &str, currency: &str) -> String {
    format!("{REPORT}/{resolution}/{time}/{channel}/{currency}")
}

/// `s` (a Shopify amount, `"12.50"`) in ten-thousandths; `what` names it in the error.
pub fn amount(s: &str, what: &str) -> Result<i64, String> {
    Amount::parse(s)
        .map(|a| a.0)
        .ok_or_else(|| format!("{what} {s:?} is not an amount"))
}

/// What an order counts in the sales buckets (a test order counts nothing).
pub fn count(o: &RestOrder, c: &mut Contribution) -> Result<(), String> {
    if o.test {
        return Ok(());
    }
    let placed = o.placed();
    let (day, hour) =
        day_and_hour(placed).ok_or_else(|| format!("processed_at {placed:?} is not a time"))?;
    // `web`, `pos`, `shopify_draft_order`, or an app's id: Shopify's channel of the order.
    let channel = o
        .source_name
        .as_deref()
        .filter(|s| !s.is_empty() && !s.contains('/'))
        .unwrap_or("unknown");
    let currency = o.currency.as_str();
    let units: i64 = o.line_items.iter().map(|l| l.quantity).sum();
    let gross = amount(&o.total_line_items_price, "total_line_items_price")?;
    let discounts = amount(
        o.total_discounts.as_deref().unwrap_or("0"),
        "total_discounts",
    )?;
    let tax = amount(o.total_tax.as_deref().unwrap_or("0"), "total_tax")?;
    let shipping = match &o.total_shipping_price_set {
        Some(s) => amount(&s.shop_money.amount, "total_shipping_price_set")?,
        None => 0,
    };
    for bucket in [
        bucket("day", day, channel, currency),
        bucket("hour", hour, channel, currency),
    ] {
        c.add(&bucket, counter::ORDERS, 1);
        c.add(&bucket, counter::UNITS, units);
        c.add(&bucket, counter::GROSS, gross);
        c.add(&bucket, counter::DISCOUNTS, discounts);
        c.add(&bucket, counter::TAX, tax);
        c.add(&bucket, counter::SHIPPING, shipping);
    }
    for r in &o.refunds {
        let (day, hour) = day_and_hour(&r.created_at)
            .ok_or_else(|| format!("refund created_at {:?} is not a time", r.created_at))?;
        let (mut returned, mut units, mut tax) = (0, 0, 0);
        for l in &r.refund_line_items {
            returned += amount(&l.subtotal_set.shop_money.amount, "refund subtotal")?;
            units += l.quantity;
            if let Some(t) = &l.total_tax_set {
                tax += amount(&t.shop_money.amount, "refund total_tax")?;
            }
        }
        for bucket in [
            bucket("day", day, channel, currency),
            bucket("hour", hour, channel, currency),
        ] {
            c.add(&bucket, counter::REFUNDS, 1);
            c.add(&bucket, counter::RETURNS, returned);
            c.add(&bucket, counter::UNITS_RETURNED, units);
            c.add(&bucket, counter::TAX, -tax);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::contribution;

    #[test]
    fn an_order_counts_on_its_day_and_its_refund_on_the_refunds() {
        let body = br#"{
            "id": 7, "admin_graphql_api_id": "gid://shopify/Order/7",
            "created_at": "2026-12-01T23:30:00-05:00", "processed_at": "2026-12-01T23:30:00-05:00",
            "source_name": "web", "currency": "USD",
            "total_line_items_price": "100.00", "total_discounts": "10.00", "total_tax": "7.20",
            "total_shipping_price_set": {"shop_money": {"amount": "5.00", "currency_code": "USD"}},
            "line_items": [{"quantity": 2}, {"quantity": 1}],
            "refunds": [{"created_at": "2026-12-03T09:15:00-05:00", "refund_line_items": [
                {"quantity": 1, "subtotal": 30.0,
                 "subtotal_set": {"shop_money": {"amount": "30.00", "currency_code": "USD"}},
                 "total_tax_set": {"shop_money": {"amount": "2.16", "currency_code": "USD"}}}]}]
        }"#;
        let (entity, c) = contribution(body).unwrap();
        assert_eq!(entity, "order:gid://shopify/Order/7");
        // The shop's day: 23:30 on the 1st in New York, though the 2nd in UTC.
        let day = &c.0["sales/day/2026-12-01/web/USD"];
        assert_eq!(day["orders"], 1);
        assert_eq!(day["units"], 3);
        assert_eq!(day["gross"], 100_0000);
        assert_eq!(day["discounts"], 10_0000);
        assert_eq!(day["tax"], 7_2000);
        assert_eq!(day["shipping"], 5_0000);
        let refund_day = &c.0["sales/day/2026-12-03/web/USD"];
        assert_eq!(
            (
                refund_day["returns"],
                refund_day["units_returned"],
                refund_day["refunds"],
                refund_day["tax"]
            ),
            (30_0000, 1, 1, -2_1600)
        );
        assert!(c.0.contains_key("sales/hour/2026-12-01T23/web/USD"));
    }

    #[test]
    fn test_orders_count_nothing_and_bad_amounts_are_named() {
        let test = br#"{"id": 1, "created_at": "2026-12-01T10:00:00Z", "currency": "USD",
            "total_line_items_price": "5.00", "test": true}"#;
        assert!(contribution(test).unwrap().1.is_empty());
        let bad = br#"{"id": 1, "created_at": "2026-12-01T10:00:00Z", "currency": "USD",
            "total_line_items_price": "five"}"#;
        assert_eq!(
            contribution(bad).unwrap_err(),
            "total_line_items_price \"five\" is not an amount"
        );
    }
}
