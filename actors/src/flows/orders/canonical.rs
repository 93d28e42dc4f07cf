//! The canonical order, built from Shopify's REST webhook payload (`orders/create`,
//! `orders/updated`, `orders/paid`, `orders/cancelled`). Amounts stay decimal strings as
//! Shopify sends them: money never passes through a float.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::flows::reporting::payload as report;
use crate::store::RollupWrite;

use crate::shopify::operations::MoneyBag;
use crate::shopify::operations::orders::{Address as GqlAddress, ShopifyOrder};

/// Version of the record's shape; bumped on any incompatible change.
pub const SCHEMA: &str = "xconnector.order.v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub schema: String,
    /// `upsert` for a new or changed order, `cancel` for a cancellation.
    pub event: OrderEvent,
    /// Shopify's GID, e.g. `gid://shopify/Order/450789469`.
    pub id: String,
    /// The numeric id (REST and older systems use it).
    pub legacy_id: u64,
    /// What people call it: `#1001`.
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    pub cancelled_at: Option<String>,
    pub cancel_reason: Option<String>,
    pub currency: String,
    pub totals: Totals,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub customer: Option<Customer>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub lines: Vec<Line>,
    pub shipping_lines: Vec<ShippingLine>,
    /// Shopify's financial status, lowercase: pending, authorized, paid, partially_paid,
    /// refunded, partially_refunded, voided, expired.
    pub financial_status: Option<String>,
    /// null (unfulfilled), partial, fulfilled, restocked.
    pub fulfillment_status: Option<String>,
    pub tags: Vec<String>,
    pub note: Option<String>,
    /// Filled from Shopify's risk assessment when known: none, low, medium, high, pending.
    pub risk_level: Option<String>,
    pub test: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    Upsert,
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub subtotal: String,
    pub tax: String,
    pub shipping: String,
    pub discounts: String,
    pub total: String,
    pub outstanding: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub id: String,
    pub sku: Option<String>,
    pub title: String,
    pub variant_title: Option<String>,
    pub quantity: u32,
    pub unit_price: String,
    pub total_discount: String,
    pub variant_id: Option<String>,
    pub product_id: Option<String>,
    pub requires_shipping: bool,
    pub grams: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingLine {
    pub title: String,
    pub code: Option<String>,
    pub price: String,
}

/// Why a payload could not become an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderParseError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("not an order payload: {0}")]
    Shape(String),
}

/// The REST webhook payload, as much of it as the canonical order needs. Unknown fields are
/// ignored: Shopify adds fields in every version.
#[derive(Debug, Deserialize)]
struct RestOrder {
    id: u64,
    admin_graphql_api_id: Option<String>,
    name: String,
    created_at: String,
    updated_at: String,
    cancelled_at: Option<String>,
    cancel_reason: Option<String>,
    currency: String,
    #[serde(default)]
    subtotal_price: Option<String>,
    #[serde(default)]
    total_tax: Option<String>,
    #[serde(default)]
    total_discounts: Option<String>,
    #[serde(default)]
    total_price: Option<String>,
    #[serde(default)]
    total_outstanding: Option<String>,
    total_shipping_price_set: Option<MoneySet>,
    email: Option<String>,
    phone: Option<String>,
    customer: Option<RestCustomer>,
    shipping_address: Option<Address>,
    billing_address: Option<Address>,
    #[serde(default)]
    line_items: Vec<RestLine>,
    #[serde(default)]
    shipping_lines: Vec<RestShippingLine>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    #[serde(default)]
    tags: String,
    note: Option<String>,
    #[serde(default)]
    test: bool,
    // What only the reports read (see [`from_rest_counted`]); the rest is ignored by them.
    processed_at: Option<String>,
    source_name: Option<String>,
    total_line_items_price: Option<String>,
    /// Kept as they came: read only when counted, so that a refund or fulfilment the reports
    /// cannot read never stops the order itself.
    refunds: Option<Box<RawValue>>,
    fulfillments: Option<Box<RawValue>>,
}

#[derive(Debug, Deserialize)]
struct MoneySet {
    shop_money: Money,
}

#[derive(Debug, Deserialize)]
struct Money {
    amount: String,
}

#[derive(Debug, Deserialize)]
struct RestCustomer {
    id: Option<u64>,
    admin_graphql_api_id: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RestLine {
    id: u64,
    sku: Option<String>,
    #[serde(default)]
    title: String,
    variant_title: Option<String>,
    quantity: u32,
    price: String,
    #[serde(default)]
    total_discount: Option<String>,
    variant_id: Option<u64>,
    product_id: Option<u64>,
    #[serde(default)]
    requires_shipping: bool,
    #[serde(default)]
    grams: u64,
}

#[derive(Debug, Deserialize)]
struct RestShippingLine {
    #[serde(default)]
    title: String,
    code: Option<String>,
    price: String,
}

fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// Builds the canonical order from a REST webhook body. `topic` decides the event:
/// `orders/cancelled` (or a cancelled order) is a cancellation.
pub fn from_rest(topic: &str, body: &[u8]) -> Result<Order, OrderParseError> {
    Ok(canonical(topic, parse_rest(body)?))
}

/// [`from_rest`], and what the order counts in the reports, from the same single pass over
/// the payload: an order is some 20 KiB, and the orders flow counts every one it takes. The
/// count is an error (saying why) where the reports cannot read the payload; the order stands
/// anyway.
pub fn from_rest_counted(
    topic: &str,
    body: &[u8],
) -> Result<(Order, Result<RollupWrite, String>), OrderParseError> {
    let o = parse_rest(body)?;
    let counted = report_view(&o).and_then(|view| crate::flows::reporting::order_rollup(&view));
    Ok((canonical(topic, o), counted))
}

fn parse_rest(body: &[u8]) -> Result<RestOrder, OrderParseError> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            OrderParseError::Json(e.to_string())
        }
        _ => OrderParseError::Shape(e.to_string()),
    })
}

/// The reports' reading of the payload, as [`report::RestOrder`] would read it alone.
fn report_view(o: &RestOrder) -> Result<report::RestOrder<'_>, String> {
    fn listed<T: serde::de::DeserializeOwned>(
        raw: &Option<Box<RawValue>>,
        what: &str,
    ) -> Result<Vec<T>, String> {
        match raw.as_deref().map(RawValue::get) {
            None | Some("null") => Ok(Vec::new()),
            Some(json) => serde_json::from_str(json).map_err(|e| format!("{what}: {e}")),
        }
    }
    Ok(report::RestOrder {
        id: o.id,
        admin_graphql_api_id: o.admin_graphql_api_id.clone(),
        created_at: o.created_at.clone(),
        updated_at: Some(o.updated_at.clone()),
        processed_at: o.processed_at.clone(),
        source_name: o.source_name.clone(),
        currency: o.currency.clone(),
        total_line_items_price: o
            .total_line_items_price
            .clone()
            .ok_or("missing field `total_line_items_price`")?,
        total_discounts: o.total_discounts.clone(),
        total_tax: o.total_tax.clone(),
        total_shipping_price_set: o
            .total_shipping_price_set
            .as_ref()
            .map(|m| report::MoneySet {
                shop_money: report::Money {
                    amount: m.shop_money.amount.clone(),
                },
            }),
        line_items: o
            .line_items
            .iter()
            .map(|l| report::RestLine {
                quantity: i64::from(l.quantity),
                sku: l.sku.as_deref().map(Cow::Borrowed),
                price: Some(Cow::Borrowed(&l.price)),
                total_discount: l.total_discount.as_deref().map(Cow::Borrowed),
            })
            .collect(),
        refunds: listed(&o.refunds, "refunds")?,
        test: o.test,
        cancelled_at: o.cancelled_at.clone(),
        fulfillments: listed(&o.fulfillments, "fulfillments")?,
        customer: match &o.customer {
            None => None,
            Some(c) => Some(report::RestCustomer {
                id: c.id.ok_or("a customer without an id")?,
                admin_graphql_api_id: c.admin_graphql_api_id.clone(),
            }),
        },
    })
}

fn canonical(topic: &str, o: RestOrder) -> Order {
    let zero = || "0.00".to_string();
    let cancelled = topic == "orders/cancelled" || o.cancelled_at.is_some();
    let blank = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    Order {
        schema: SCHEMA.into(),
        event: if cancelled {
            OrderEvent::Cancel
        } else {
            OrderEvent::Upsert
        },
        id: o.admin_graphql_api_id.unwrap_or_else(|| gid("Order", o.id)),
        legacy_id: o.id,
        name: o.name,
        created_at: o.created_at,
        updated_at: o.updated_at,
        cancelled_at: o.cancelled_at,
        cancel_reason: o.cancel_reason,
        currency: o.currency,
        totals: Totals {
            subtotal: o.subtotal_price.unwrap_or_else(zero),
            tax: o.total_tax.unwrap_or_else(zero),
            shipping: o
                .total_shipping_price_set
                .map(|m| m.shop_money.amount)
                .unwrap_or_else(zero),
            discounts: o.total_discounts.unwrap_or_else(zero),
            total: o.total_price.unwrap_or_else(zero),
            outstanding: o.total_outstanding,
        },
        email: blank(o.email),
        phone: blank(o.phone),
        customer: o.customer.map(|c| Customer {
            id: c
                .admin_graphql_api_id
                .or(c.id.map(|id| gid("Customer", id))),
            email: c.email,
            first_name: c.first_name,
            last_name: c.last_name,
            phone: c.phone,
        }),
        shipping_address: o.shipping_address,
        billing_address: o.billing_address,
        lines: o
            .line_items
            .into_iter()
            .map(|l| Line {
                id: gid("LineItem", l.id),
                sku: blank(l.sku),
                title: l.title,
                variant_title: l.variant_title,
                quantity: l.quantity,
                unit_price: l.price,
                total_discount: l.total_discount.unwrap_or_else(zero),
                variant_id: l.variant_id.map(|v| gid("ProductVariant", v)),
                product_id: l.product_id.map(|p| gid("Product", p)),
                requires_shipping: l.requires_shipping,
                grams: l.grams,
            })
            .collect(),
        shipping_lines: o
            .shipping_lines
            .into_iter()
            .map(|s| ShippingLine {
                title: s.title,
                code: s.code,
                price: s.price,
            })
            .collect(),
        financial_status: o.financial_status,
        fulfillment_status: o.fulfillment_status,
        tags: o
            .tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        note: blank(o.note),
        risk_level: None,
        test: o.test,
    }
}

/// Builds the canonical order from the GraphQL order (the reconciliation poll's source), so
/// that an order a webhook never brought reaches the back office in the same shape.
pub fn from_graphql(o: &ShopifyOrder) -> Order {
    use crate::shopify::operations::orders::{FinancialStatus as F, FulfillmentStatus as S};
    let zero = || "0.00".to_string();
    let amount = |m: &Option<MoneyBag>| {
        m.as_ref()
            .map(|b| b.shop_money.amount.clone())
            .unwrap_or_else(zero)
    };
    let address = |a: &Option<GqlAddress>| {
        a.as_ref().map(|a| Address {
            name: match (&a.first_name, &a.last_name) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (f, l) => f.clone().or(l.clone()),
            },
            first_name: a.first_name.clone(),
            last_name: a.last_name.clone(),
            company: a.company.clone(),
            address1: a.address1.clone(),
            address2: a.address2.clone(),
            city: a.city.clone(),
            province: a.province.clone(),
            province_code: a.province_code.clone(),
            zip: a.zip.clone(),
            country: a.country.clone(),
            country_code: a.country_code_v2.clone(),
            phone: a.phone.clone(),
        })
    };
    let financial_status = o.display_financial_status.and_then(|s| {
        Some(
            match s {
                F::Authorized => "authorized",
                F::Expired => "expired",
                F::Paid => "paid",
                F::PartiallyPaid => "partially_paid",
                F::PartiallyRefunded => "partially_refunded",
                F::Pending => "pending",
                F::Refunded => "refunded",
                F::Voided => "voided",
                F::Other => return None,
            }
            .to_string(),
        )
    });
    let fulfillment_status = match o.display_fulfillment_status {
        S::Fulfilled => Some("fulfilled"),
        S::PartiallyFulfilled => Some("partial"),
        S::Restocked => Some("restocked"),
        _ => None,
    }
    .map(str::to_string);
    let cancelled = o.cancelled_at.is_some();
    Order {
        schema: SCHEMA.into(),
        event: if cancelled {
            OrderEvent::Cancel
        } else {
            OrderEvent::Upsert
        },
        id: o.id.to_string(),
        legacy_id: o.id.id(),
        name: o.name.clone(),
        created_at: o.created_at.clone(),
        updated_at: o.updated_at.clone(),
        cancelled_at: o.cancelled_at.clone(),
        cancel_reason: o.cancel_reason.clone(),
        currency: o.currency_code.clone(),
        totals: Totals {
            subtotal: amount(&o.subtotal_price_set),
            tax: amount(&o.total_tax_set),
            shipping: o.total_shipping_price_set.shop_money.amount.clone(),
            discounts: amount(&o.total_discounts_set),
            total: o.total_price_set.shop_money.amount.clone(),
            outstanding: None,
        },
        email: o.email.clone(),
        phone: None,
        customer: o.customer.as_ref().map(|c| Customer {
            id: Some(c.id.to_string()),
            email: c.email().map(str::to_string),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            phone: None,
        }),
        shipping_address: address(&o.shipping_address),
        billing_address: address(&o.billing_address),
        lines: o
            .line_items
            .nodes
            .iter()
            .map(|l| Line {
                id: l.id.to_string(),
                sku: l.sku.clone().filter(|s| !s.trim().is_empty()),
                title: l.title.clone(),
                variant_title: None,
                quantity: u32::try_from(l.quantity).unwrap_or(0),
                unit_price: l.original_unit_price_set.shop_money.amount.clone(),
                total_discount: zero(),
                variant_id: l.variant.as_ref().map(|v| v.id.to_string()),
                product_id: None,
                // The poll does not ask; shipping is the safe assumption for fulfilment.
                requires_shipping: true,
                grams: 0,
            })
            .collect(),
        shipping_lines: Vec::new(),
        financial_status,
        fulfillment_status,
        tags: o.tags.clone(),
        note: o.note.clone().filter(|n| !n.trim().is_empty()),
        risk_level: o
            .risk
            .highest()
            .map(|l| format!("{l:?}").to_ascii_lowercase()),
        test: o.test,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            from_rest("orders/create", b"{"),
            Err(OrderParseError::Json(_))
        ));
        assert!(matches!(
            from_rest("orders/create", b"{\"id\": \"x\"}"),
            Err(OrderParseError::Shape(_))
        ));
        assert!(matches!(
            from_rest("orders/create", b"[]"),
            Err(OrderParseError::Shape(_))
        ));
    }
}
