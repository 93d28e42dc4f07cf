//! The orders of a backfill: the bulk query that reads them, its JSONL put back together
//! (children by `__parentId`, in whatever order the lines come), and each order made into the
//! [`RestOrder`] the live path counts, so that an order version counts the same whether a
//! webhook or the backfill brought it.
//!
//! Shopify refuses a connection inside a list field in a bulk query, so `refunds` (a plain
//! list) come with their id and date only, and the lines of each refund are read apart
//! ([`RefundRead`]), for the few orders that have refunds.
//!
//! GraphQL writes times in UTC; REST webhooks write them in the shop's offset, and a report's
//! day is the day of the offset the time is written in. Times are rewritten in `offset` when
//! one is given (see [`super::Backfill::offset`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat};
use serde::Deserialize;
use serde_json::Value;

use crate::flows::reporting::payload::{
    Money, MoneySet, RestCustomer, RestFulfillment, RestLine, RestOrder, RestRefund, RestRefundLine,
};
use crate::flows::returns::rules::Amount;
use crate::shopify::operations::returns::ShopifyRefund;

/// The bulk query over the orders processed on or after `since`. Bulk queries take no
/// `first`: every order, and every line of each (the nested connection) is read.
pub fn query(since: NaiveDate) -> String {
    let money = "{ shopMoney { amount } }";
    format!(
        "{{ orders(query: \"processed_at:>={since}\") {{ edges {{ node {{ \
         id createdAt updatedAt processedAt cancelledAt test sourceName currencyCode \
         totalDiscountsSet {money} totalTaxSet {money} totalShippingPriceSet {money} \
         customer {{ id }} refunds {{ id createdAt }} \
         fulfillments {{ createdAt updatedAt status displayStatus location {{ legacyResourceId }} trackingInfo {{ company }} }} \
         lineItems {{ edges {{ node {{ id quantity sku originalUnitPriceSet {money} originalTotalSet {money} totalDiscountSet {money} }} }} }} \
         }} }} }} }}"
    )
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bag {
    shop_money: Amt,
}

#[derive(Debug, Clone, Deserialize)]
struct Amt {
    amount: String,
}

#[derive(Debug, Clone, Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyId {
    legacy_resource_id: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Company {
    company: Option<String>,
}

/// One order's line of the bulk result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOrder {
    pub id: String,
    created_at: String,
    updated_at: Option<String>,
    processed_at: Option<String>,
    cancelled_at: Option<String>,
    #[serde(default)]
    test: bool,
    source_name: Option<String>,
    currency_code: String,
    total_discounts_set: Option<Bag>,
    total_tax_set: Option<Bag>,
    total_shipping_price_set: Option<Bag>,
    customer: Option<IdOnly>,
    #[serde(default)]
    pub refunds: Vec<BulkRefund>,
    #[serde(default)]
    fulfillments: Vec<BulkFulfillment>,
    /// The `lineItems` children, put back.
    #[serde(skip)]
    lines: Vec<BulkLine>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRefund {
    pub id: String,
    created_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkFulfillment {
    created_at: String,
    updated_at: Option<String>,
    status: Option<String>,
    display_status: Option<String>,
    location: Option<LegacyId>,
    #[serde(default)]
    tracking_info: Vec<Company>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkLine {
    quantity: i64,
    sku: Option<String>,
    original_unit_price_set: Option<Bag>,
    original_total_set: Option<Bag>,
    total_discount_set: Option<Bag>,
}

impl BulkOrder {
    /// The order's number (`gid://shopify/Order/N`), if its id is one.
    pub fn legacy_id(&self) -> Option<u64> {
        self.id
            .strip_prefix("gid://shopify/Order/")?
            .split('?')
            .next()?
            .parse()
            .ok()
    }

    /// The version, `updatedAt` in milliseconds.
    pub fn version(&self) -> Option<u64> {
        let at = DateTime::parse_from_rfc3339(self.updated_at.as_deref()?).ok()?;
        u64::try_from(at.timestamp_millis()).ok()
    }
}

/// A bulk result read back: the orders, each with its lines, ordered by id (the same file
/// always gives the same order, which is what progress through it counts in).
#[derive(Debug, Default)]
pub struct Parsed {
    pub orders: Vec<BulkOrder>,
    pub lines_read: u64,
    /// Lines that were not JSON, not an order, or named a parent the file does not have.
    pub unreadable: u64,
}

/// Puts the JSONL back together. Children may come before their parent or anywhere after
/// it: all lines are read first, then each child joins its parent.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut children: HashMap<String, Vec<BulkLine>> = HashMap::new();
    let mut orders: BTreeMap<(u64, String), BulkOrder> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        parsed.lines_read += 1;
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            parsed.unreadable += 1;
            continue;
        };
        match value.get("__parentId").and_then(Value::as_str) {
            Some(parent) => {
                let parent = parent.to_string();
                match serde_json::from_value::<BulkLine>(value) {
                    Ok(l) => children.entry(parent).or_default().push(l),
                    Err(_) => parsed.unreadable += 1,
                }
            }
            None => match serde_json::from_value::<BulkOrder>(value) {
                Ok(o) => {
                    orders.insert((o.legacy_id().unwrap_or(u64::MAX), o.id.clone()), o);
                }
                Err(_) => parsed.unreadable += 1,
            },
        }
    }
    for o in orders.values_mut() {
        o.lines = children.remove(&o.id).unwrap_or_default();
    }
    parsed.unreadable += children.values().map(|c| c.len() as u64).sum::<u64>();
    parsed.orders = orders.into_values().collect();
    parsed
}

/// `at` in `offset` (as REST writes it), or as it is without one or if it is not a time.
fn local(at: &str, offset: Option<FixedOffset>) -> String {
    match (offset, DateTime::parse_from_rfc3339(at)) {
        (Some(offset), Ok(t)) => t
            .with_timezone(&offset)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        _ => at.to_string(),
    }
}

fn set(amount: String) -> MoneySet {
    MoneySet {
        shop_money: Money { amount },
    }
}

/// `FULFILLED` and the like say nothing of the carrier; the rest are REST's `shipment_status`.
fn shipment_status(display: Option<&str>) -> Option<String> {
    match display? {
        "FULFILLED" | "CANCELED" | "SUBMITTED" | "NOT_DELIVERED" => None,
        s => Some(s.to_ascii_lowercase()),
    }
}

/// The order as the REST payload of the same version says it: what the live path counts.
/// `refunds` are the order's refunds read apart (by id); a refund missing there counts
/// without lines.
pub fn to_rest(
    o: &BulkOrder,
    refunds: &HashMap<String, ShopifyRefund>,
    offset: Option<FixedOffset>,
) -> Result<RestOrder<'static>, String> {
    let at = |s: &str| local(s, offset);
    let amount = |b: &Option<Bag>| b.as_ref().map(|b| b.shop_money.amount.clone());
    // REST's `total_line_items_price`: the lines at their price before discounts.
    let mut gross = 0i64;
    for l in &o.lines {
        let total = amount(&l.original_total_set).unwrap_or_else(|| "0".into());
        gross += Amount::parse(&total)
            .ok_or_else(|| format!("line total {total:?} is not an amount"))?
            .0;
    }
    let refunds = o
        .refunds
        .iter()
        .map(|r| {
            let read = refunds.get(&r.id);
            let created = read
                .and_then(|f| f.created_at.clone())
                .or_else(|| r.created_at.clone())
                .unwrap_or_default();
            RestRefund {
                created_at: at(&created),
                refund_line_items: read
                    .map(|f| {
                        f.refund_line_items
                            .nodes
                            .iter()
                            .map(|l| RestRefundLine {
                                quantity: i64::from(l.quantity),
                                subtotal_set: set(l.subtotal_set.shop_money.amount.clone()),
                                total_tax_set: Some(set(l.total_tax_set.shop_money.amount.clone())),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(RestOrder {
        id: o
            .legacy_id()
            .ok_or_else(|| format!("{:?} is not an order id", o.id))?,
        admin_graphql_api_id: Some(o.id.clone()),
        created_at: at(&o.created_at),
        updated_at: o.updated_at.as_deref().map(at),
        processed_at: o.processed_at.as_deref().map(at),
        source_name: o.source_name.clone(),
        currency: o.currency_code.clone(),
        total_line_items_price: Amount(gross).to_string(),
        total_discounts: amount(&o.total_discounts_set),
        total_tax: amount(&o.total_tax_set),
        total_shipping_price_set: amount(&o.total_shipping_price_set).map(set),
        line_items: o
            .lines
            .iter()
            .map(|l| RestLine {
                quantity: l.quantity,
                sku: l.sku.clone().map(Cow::Owned),
                price: amount(&l.original_unit_price_set).map(Cow::Owned),
                total_discount: amount(&l.total_discount_set).map(Cow::Owned),
            })
            .collect(),
        refunds,
        test: o.test,
        cancelled_at: o.cancelled_at.as_deref().map(at),
        fulfillments: o
            .fulfillments
            .iter()
            .map(|f| RestFulfillment {
                created_at: at(&f.created_at),
                updated_at: f.updated_at.as_deref().map(at),
                status: f.status.as_deref().map(str::to_ascii_lowercase),
                location_id: f
                    .location
                    .as_ref()
                    .and_then(|l| l.legacy_resource_id.parse().ok()),
                tracking_company: f.tracking_info.first().and_then(|t| t.company.clone()),
                shipment_status: shipment_status(f.display_status.as_deref()),
            })
            .collect(),
        customer: o.customer.as_ref().and_then(|c| {
            let id = c.id.strip_prefix("gid://shopify/Customer/")?.parse().ok()?;
            Some(RestCustomer {
                id,
                admin_graphql_api_id: Some(c.id.clone()),
            })
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_join_their_parent_wherever_they_come() {
        let text = r#"{"quantity":2,"sku":"A","originalTotalSet":{"shopMoney":{"amount":"20.00"}},"__parentId":"gid://shopify/Order/2"}
{"id":"gid://shopify/Order/2","createdAt":"2026-12-01T10:00:00Z","updatedAt":"2026-12-02T10:00:00Z","currencyCode":"USD"}
{"id":"gid://shopify/Order/1","createdAt":"2026-12-01T09:00:00Z","currencyCode":"USD"}
not json
{"quantity":1,"sku":"B","originalTotalSet":{"shopMoney":{"amount":"5.50"}},"__parentId":"gid://shopify/Order/2"}
{"quantity":1,"__parentId":"gid://shopify/Order/9"}
{"quantity":3,"originalTotalSet":{"shopMoney":{"amount":"3.00"}},"__parentId":"gid://shopify/Order/1"}
"#;
        let parsed = parse(text);
        assert_eq!((parsed.lines_read, parsed.unreadable), (7, 2));
        let ids: Vec<_> = parsed.orders.iter().map(|o| o.legacy_id()).collect();
        assert_eq!(ids, vec![Some(1), Some(2)]);
        let two = to_rest(&parsed.orders[1], &HashMap::new(), None).unwrap();
        assert_eq!(two.total_line_items_price, "25.50");
        assert_eq!(two.line_items.len(), 3 - 1);
        assert_eq!(two.version(), parsed.orders[1].version());
        assert!(two.version().is_some());
    }

    #[test]
    fn times_are_written_in_the_offset_rest_uses() {
        let ny = FixedOffset::west_opt(5 * 3600);
        assert_eq!(
            local("2026-12-02T03:30:00Z", ny),
            "2026-12-01T22:30:00-05:00"
        );
        assert_eq!(local("2026-12-02T03:30:00Z", None), "2026-12-02T03:30:00Z");
        assert_eq!(local("soon", ny), "soon");
    }
}
