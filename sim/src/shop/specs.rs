//! What callers pass to create things: orders, customers, products, fulfillments.

use super::Id;
use super::enums::{FinancialStatus, FulfillmentEventStatus, FulfillmentHoldReason};
use super::fulfillment_model::{OriginAddress, TrackingInfo};
use super::model::{Address, MarketingConsent, OrderRisk};
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
    /// Where the line's stock is committed and so which fulfillment order ships it; `None`
    /// for the first active location that stocks the item.
    pub location_id: Option<Id>,
}

impl LineSpec {
    pub fn variant(variant_id: Id, quantity: u32) -> LineSpec {
        LineSpec {
            variant_id: Some(variant_id),
            quantity,
            title: None,
            sku: None,
            price: None,
            location_id: None,
        }
    }

    pub fn custom(title: &str, sku: &str, price: Money, quantity: u32) -> LineSpec {
        LineSpec {
            variant_id: None,
            quantity,
            title: Some(title.to_string()),
            sku: Some(sku.to_string()),
            price: Some(price),
            location_id: None,
        }
    }

    /// Commit the line's stock at `location_id` (stocking the item there if it is not), so
    /// that it ships from there: lines at two locations make two fulfillment orders. An
    /// unknown location is ignored.
    pub fn at(mut self, location_id: Id) -> LineSpec {
        self.location_id = Some(location_id);
        self
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

/// A shipment of some or all of an order's unfulfilled units, named by order line items
/// ([`Shop::create_fulfillment`]); it goes through the order's fulfillment orders.
///
/// [`Shop::create_fulfillment`]: super::Shop::create_fulfillment
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FulfillmentSpec {
    /// (line item id, quantity); empty means everything still unfulfilled.
    pub line_items: Vec<(Id, u32)>,
    pub tracking: Option<TrackingInfo>,
}

/// A shipment named by fulfillment orders, as `fulfillmentCreate` takes it
/// ([`Shop::fulfill`]).
///
/// [`Shop::fulfill`]: super::Shop::fulfill
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FulfillRequest {
    /// Per fulfillment order: its id and (fulfillment order line id, quantity) pairs; no
    /// pairs means everything it still has.
    pub fulfillment_orders: Vec<(Id, Vec<(Id, u32)>)>,
    pub tracking: Vec<TrackingInfo>,
    pub notify_customer: bool,
    pub origin_address: Option<OriginAddress>,
}

/// A carrier event for a fulfillment (`FulfillmentEventInput`).
#[derive(Clone, Debug, PartialEq)]
pub struct FulfillmentEventSpec {
    pub status: FulfillmentEventStatus,
    /// Defaults to now.
    pub happened_at: Option<Timestamp>,
    pub estimated_delivery_at: Option<Timestamp>,
    pub message: Option<String>,
    pub address1: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl FulfillmentEventSpec {
    /// An event with only its status (happened now).
    pub fn new(status: FulfillmentEventStatus) -> FulfillmentEventSpec {
        FulfillmentEventSpec {
            status,
            happened_at: None,
            estimated_delivery_at: None,
            message: None,
            address1: None,
            city: None,
            province: None,
            zip: None,
            country: None,
            latitude: None,
            longitude: None,
        }
    }
}

/// A hold on a fulfillment order (`FulfillmentOrderHoldInput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldSpec {
    pub reason: FulfillmentHoldReason,
    pub reason_notes: Option<String>,
    /// Unique among the holds of the fulfillment order; empty by default.
    pub handle: String,
}

impl HoldSpec {
    pub fn new(reason: FulfillmentHoldReason) -> HoldSpec {
        HoldSpec {
            reason,
            reason_notes: None,
            handle: String::new(),
        }
    }
}
