//! The fields of Shopify's REST order payload (`orders/create`, `orders/updated`, …) that
//! reports count; the rest of an order is not read here.

use std::borrow::Cow;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct MoneySet {
    pub shop_money: Money,
}

#[derive(Debug, Deserialize)]
pub struct Money {
    pub amount: String,
}

/// `'a`: the orders flow's reading of an order lends its lines' text rather than copying it
/// (see `canonical::from_rest_counted`); parsed on its own, an order owns all of it.
#[derive(Debug, Deserialize)]
pub struct RestOrder<'a> {
    pub id: u64,
    pub admin_graphql_api_id: Option<String>,
    pub created_at: String,
    /// The version: the rollups keep it, so that an older one never replaces it.
    pub updated_at: Option<String>,
    pub processed_at: Option<String>,
    pub source_name: Option<String>,
    pub currency: String,
    pub total_line_items_price: String,
    pub total_discounts: Option<String>,
    pub total_tax: Option<String>,
    pub total_shipping_price_set: Option<MoneySet>,
    #[serde(default)]
    pub line_items: Vec<RestLine<'a>>,
    #[serde(default)]
    pub refunds: Vec<RestRefund>,
    #[serde(default)]
    pub test: bool,
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub fulfillments: Vec<RestFulfillment>,
    /// `null` for a guest checkout.
    pub customer: Option<RestCustomer>,
}

#[derive(Debug, Deserialize)]
pub struct RestCustomer {
    pub id: u64,
    pub admin_graphql_api_id: Option<String>,
}

impl RestCustomer {
    pub fn gid(&self) -> String {
        self.admin_graphql_api_id
            .clone()
            .unwrap_or_else(|| format!("gid://shopify/Customer/{}", self.id))
    }
}

#[derive(Debug, Deserialize)]
pub struct RestLine<'a> {
    pub quantity: i64,
    /// The variant's SKU when it was ordered; `null` or empty for lines without one.
    pub sku: Option<Cow<'a, str>>,
    /// The unit price, in the order's currency.
    pub price: Option<Cow<'a, str>>,
    /// Discounts allocated to the line, in the order's currency.
    pub total_discount: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct RestRefund {
    pub created_at: String,
    #[serde(default)]
    pub refund_line_items: Vec<RestRefundLine>,
}

#[derive(Debug, Deserialize)]
pub struct RestRefundLine {
    pub quantity: i64,
    pub subtotal_set: MoneySet,
    pub total_tax_set: Option<MoneySet>,
}

impl RestOrder<'_> {
    /// When the order was placed: `processed_at` (an import's own date), else `created_at`.
    pub fn placed(&self) -> &str {
        self.processed_at.as_deref().unwrap_or(&self.created_at)
    }

    /// The version, `updated_at` in milliseconds, if it has a readable one.
    pub fn version(&self) -> Option<u64> {
        let at = chrono::DateTime::parse_from_rfc3339(self.updated_at.as_deref()?).ok()?;
        u64::try_from(at.timestamp_millis()).ok()
    }

    pub fn gid(&self) -> String {
        self.admin_graphql_api_id
            .clone()
            .unwrap_or_else(|| format!("gid://shopify/Order/{}", self.id))
    }
}

#[derive(Debug, Deserialize)]
pub struct RestFulfillment {
    pub created_at: String,
    pub updated_at: Option<String>,
    /// `cancelled`, `error` and `failure` fulfilments shipped nothing.
    pub status: Option<String>,
    pub location_id: Option<u64>,
    pub tracking_company: Option<String>,
    /// `delivered` once the carrier said so; Shopify's REST fulfilment has no delivery time,
    /// so `updated_at` of a delivered fulfilment stands for it.
    pub shipment_status: Option<String>,
}
