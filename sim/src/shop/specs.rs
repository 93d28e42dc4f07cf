//! What callers pass to create things: orders, customers, products, fulfillments.

use super::Id;
use super::enums::FinancialStatus;
use super::model::{Address, MarketingConsent, OrderRisk, TrackingInfo};
use super::money::Money;
use crate::time::Timestamp;

/// A line of a new order: a catalogue variant, or a custom item.
#[derive(Clone, Debug, PartialEq)]
pub struct LineSpec {
    /// Price, title and SKU come from the variant unless given here.
    pub variant_id: Option<Id>,
    pub quantity: u32,
    pub title: Option<String>,
    pub sku: Option<String>,
    pub price: Option<Money>,
}

impl LineSpec {
    pub fn variant(variant_id: Id, quantity: u32) -> LineSpec {
        LineSpec {
            variant_id: Some(variant_id),
            quantity,
            title: None,
            sku: None,
            price: None,
        }
    }

    pub fn custom(title: &str, sku: &str, price: Money, quantity: u32) -> LineSpec {
        LineSpec {
            variant_id: None,
            quantity,
            title: Some(title.to_string()),
            sku: Some(sku.to_string()),
            price: Some(price),
        }
    }
}

/// Everything needed to place an order; [`Default`] gives a paid, unfulfilled, low-risk order
/// with no lines.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderSpec {
    pub customer_id: Option<Id>,
    /// Defaults to the customer's email.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub line_items: Vec<LineSpec>,
    /// Defaults to the customer's default address.
    pub shipping_address: Option<Address>,
    /// Defaults to the shipping address.
    pub billing_address: Option<Address>,
    pub shipping: Money,
    pub discount: Money,
    /// Tax on the subtotal, in basis points (825 = 8.25 %).
    pub tax_rate_bps: u32,
    pub financial_status: FinancialStatus,
    pub tags: Vec<String>,
    pub note: Option<String>,
    pub risk: OrderRisk,
    pub source_name: String,
    pub test: bool,
    /// Defaults to now.
    pub processed_at: Option<Timestamp>,
}

impl Default for OrderSpec {
    fn default() -> Self {
        OrderSpec {
            customer_id: None,
            email: None,
            phone: None,
            line_items: Vec::new(),
            shipping_address: None,
            billing_address: None,
            shipping: Money(1000),
            discount: Money::ZERO,
            tax_rate_bps: 0,
            financial_status: FinancialStatus::Paid,
            tags: Vec::new(),
            note: None,
            risk: OrderRisk::default(),
            source_name: "web".into(),
            test: false,
            processed_at: None,
        }
    }
}

/// A new customer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerSpec {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub tags: Vec<String>,
    pub tax_exempt: bool,
    pub tax_exemptions: Vec<String>,
    pub note: Option<String>,
    pub default_address: Option<Address>,
    /// Defaults to `en`.
    pub locale: Option<String>,
    pub email_consent: MarketingConsent,
    pub sms_consent: MarketingConsent,
    /// Written with the customer, so `customers/create` already carries them.
    pub metafields: Vec<MetafieldSpec>,
}

/// One metafield write (`metafieldsSet`, `CustomerInput.metafields`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetafieldSpec {
    pub namespace: String,
    pub key: String,
    pub r#type: String,
    pub value: String,
}

impl MetafieldSpec {
    pub fn new(namespace: &str, key: &str, r#type: &str, value: &str) -> MetafieldSpec {
        MetafieldSpec {
            namespace: namespace.to_string(),
            key: key.to_string(),
            r#type: r#type.to_string(),
            value: value.to_string(),
        }
    }
}

/// A new product with its variants; each variant gets an inventory item stocked at every
/// active location with `stock_per_location` available.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductSpec {
    pub title: String,
    pub vendor: String,
    pub product_type: String,
    pub tags: Vec<String>,
    pub variants: Vec<VariantSpec>,
    pub stock_per_location: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VariantSpec {
    pub title: String,
    pub sku: String,
    pub price: Money,
    pub grams: u32,
}

/// A shipment of some or all of an order's unfulfilled units.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FulfillmentSpec {
    /// (line item id, quantity); empty means everything still unfulfilled.
    pub line_items: Vec<(Id, u32)>,
    pub tracking: Option<TrackingInfo>,
}
