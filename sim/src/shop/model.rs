//! The shop's resources: plain data with public fields and numeric ids.

use std::collections::BTreeMap;

use super::enums::*;
use super::money::Money;
use super::{Id, topics};
use crate::time::Timestamp;

/// A stock location.
#[derive(Clone, Debug, PartialEq)]
pub struct Location {
    pub id: Id,
    pub name: String,
    /// Inactive locations are invisible to `locations` by default and cannot be stocked.
    pub active: bool,
    pub address1: String,
    pub city: String,
    pub province_code: String,
    pub zip: String,
    pub country_code: String,
    pub fulfills_online_orders: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The quantity names `InventoryLevel.quantities(names:)` knows.
pub const QUANTITY_NAMES: &[&str] = &[
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
];

/// Stock of one item at one location, per inventory state. `on_hand` is derived, as in Shopify:
/// available + committed + the unavailable states (reserved, damaged, quality control, safety
/// stock); `incoming` is not on hand.
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryLevel {
    pub id: Id,
    pub item_id: Id,
    pub location_id: Id,
    pub available: i64,
    pub committed: i64,
    pub reserved: i64,
    pub damaged: i64,
    pub quality_control: i64,
    pub safety_stock: i64,
    pub incoming: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl InventoryLevel {
    pub fn on_hand(&self) -> i64 {
        self.available
            + self.committed
            + self.reserved
            + self.damaged
            + self.quality_control
            + self.safety_stock
    }

    /// The quantity for one of [`QUANTITY_NAMES`].
    pub fn quantity(&self, name: &str) -> Option<i64> {
        Some(match name {
            "available" => self.available,
            "committed" => self.committed,
            "damaged" => self.damaged,
            "incoming" => self.incoming,
            "on_hand" => self.on_hand(),
            "quality_control" => self.quality_control,
            "reserved" => self.reserved,
            "safety_stock" => self.safety_stock,
            _ => return None,
        })
    }
}

/// A postal address (`MailingAddress`), used for orders and customers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Address {
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
    pub country_code: Option<String>,
    pub phone: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl Address {
    /// "First Last", as Shopify's `name`.
    pub fn name(&self) -> Option<String> {
        let parts: Vec<&str> = [&self.first_name, &self.last_name]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .filter(|p| !p.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    pub id: Id,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub tags: Vec<String>,
    pub tax_exempt: bool,
    /// `TaxExemption` enum values, e.g. `CA_STATUS_CARD_EXEMPTION`.
    pub tax_exemptions: Vec<String>,
    pub note: Option<String>,
    pub state: CustomerState,
    pub verified_email: bool,
    /// Email marketing consent (`defaultEmailAddress.marketingState`, …).
    pub email_consent: MarketingConsent,
    /// SMS marketing consent (`defaultPhoneNumber.smsMarketingConsent`).
    pub sms_consent: MarketingConsent,
    pub locale: String,
    pub default_address: Option<Address>,
    /// Keyed by (namespace, key).
    pub metafields: BTreeMap<(String, String), Metafield>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Customer {
    /// Subscribed to email marketing (REST's old `accepts_marketing`, an order's
    /// `buyer_accepts_marketing`).
    pub fn accepts_marketing(&self) -> bool {
        self.email_consent.state == MarketingState::Subscribed
    }

    pub fn metafield(&self, namespace: &str, key: &str) -> Option<&Metafield> {
        self.metafields
            .get(&(namespace.to_string(), key.to_string()))
    }
}

/// A marketing consent (email or SMS).
#[derive(Clone, Debug, PartialEq)]
pub struct MarketingConsent {
    pub state: MarketingState,
    pub opt_in_level: Option<MarketingOptInLevel>,
    /// When the customer gave or withdrew consent (`consentUpdatedAt`).
    pub updated_at: Option<Timestamp>,
    /// Where the consent was collected; Shopify reports it for SMS only.
    pub collected_from: Option<ConsentCollectedFrom>,
}

impl Default for MarketingConsent {
    fn default() -> Self {
        MarketingConsent {
            state: MarketingState::NotSubscribed,
            opt_in_level: None,
            updated_at: None,
            collected_from: None,
        }
    }
}

/// A metafield value on a resource. The simulator has no metafield definitions: the type is
/// fixed by the first write.
#[derive(Clone, Debug, PartialEq)]
pub struct Metafield {
    pub id: Id,
    /// `single_line_text_field`, `boolean`, `number_integer`, `json`, …
    pub r#type: String,
    pub value: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Metafield {
    /// `Metafield.compareDigest`: the hex SHA-256 of the value, what `metafieldsSet` compares
    /// a `compareDigest` input with.
    pub fn digest(&self) -> String {
        metafield_digest(&self.value)
    }
}

/// The [`Metafield::digest`] of a value.
pub fn metafield_digest(value: &str) -> String {
    xconnector_actors::signature::fingerprint(value.as_bytes())
}

/// One `customers/merge`: what `Shop::merge_customers` did, kept to render the webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerMerge {
    pub id: Id,
    pub kept: Id,
    pub deleted: Id,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LineItem {
    pub id: Id,
    pub variant_id: Option<Id>,
    pub product_id: Option<Id>,
    pub sku: Option<String>,
    pub title: String,
    pub variant_title: Option<String>,
    pub vendor: Option<String>,
    pub quantity: u32,
    /// The original unit price.
    pub price: Money,
    pub total_discount: Money,
    pub grams: u32,
    pub taxable: bool,
    pub requires_shipping: bool,
    pub gift_card: bool,
    /// Units not yet fulfilled (REST `fulfillable_quantity`).
    pub fulfillable_quantity: u32,
    /// Where the order committed stock for this line, to release or ship it later.
    pub location_id: Option<Id>,
    /// Units refunded, whatever became of them (`currentQuantity` is what is left).
    pub refunded_quantity: u32,
    /// Units refunded before they shipped (restock type `CANCEL`): no longer to fulfil and
    /// never shipped.
    pub removed_quantity: u32,
}

impl LineItem {
    /// Units shipped so far.
    pub fn shipped(&self) -> u32 {
        self.quantity
            .saturating_sub(self.removed_quantity)
            .saturating_sub(self.fulfillable_quantity)
    }

    /// Units that may still be refunded (`refundableQuantity`).
    pub fn refundable(&self) -> u32 {
        self.quantity.saturating_sub(self.refunded_quantity)
    }

    /// "Title - Variant", as Shopify's `name`.
    pub fn name(&self) -> String {
        match &self.variant_title {
            Some(v) if !v.is_empty() => format!("{} - {v}", self.title),
            _ => self.title.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShippingLine {
    pub id: Id,
    pub title: String,
    pub code: String,
    pub source: String,
    pub price: Money,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DiscountCode {
    pub code: String,
    pub amount: Money,
    /// `fixed_amount`, `percentage` or `shipping`.
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RiskFact {
    pub description: String,
    pub sentiment: Sentiment,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RiskAssessment {
    pub level: RiskLevel,
    pub facts: Vec<RiskFact>,
}

/// `OrderRiskSummary`.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRisk {
    pub recommendation: RiskRecommendation,
    pub assessments: Vec<RiskAssessment>,
}

impl Default for OrderRisk {
    fn default() -> Self {
        OrderRisk {
            recommendation: RiskRecommendation::Accept,
            assessments: vec![RiskAssessment {
                level: RiskLevel::Low,
                facts: vec![RiskFact {
                    description: "Billing address matches the card's billing address".into(),
                    sentiment: Sentiment::Positive,
                }],
            }],
        }
    }
}

/// An order, with every field the REST `orders/create` payload carries (the rest are
/// constants or derived in the renderer: presentment money equals shop money, no duties, …).
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub id: Id,
    /// `order_number`, from 1001: GraphQL `Order.number`, the number in `name`. (REST's
    /// `number` is this − 1000.)
    pub number: u64,
    /// `#1001`.
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub customer_id: Option<Id>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub processed_at: Timestamp,
    pub cancelled_at: Option<Timestamp>,
    pub cancel_reason: Option<CancelReason>,
    pub closed_at: Option<Timestamp>,
    pub currency: String,
    pub presentment_currency: String,
    pub financial_status: FinancialStatus,
    pub fulfillment_status: FulfillmentStatus,
    pub total_discounts: Money,
    pub total_shipping: Money,
    pub total_tax: Money,
    /// The tax rate behind `total_tax`, in basis points (REST `tax_lines[].rate`).
    pub tax_rate_bps: u32,
    pub total_refunded: Money,
    pub taxes_included: bool,
    pub tax_exempt: bool,
    pub test: bool,
    pub confirmed: bool,
    pub source_name: String,
    pub payment_gateway_names: Vec<String>,
    pub customer_locale: String,
    pub buyer_accepts_marketing: bool,
    /// The checkout token (REST `token`).
    pub token: String,
    pub confirmation_number: String,
    pub browser_ip: Option<String>,
    pub landing_site: Option<String>,
    pub referring_site: Option<String>,
    pub po_number: Option<String>,
    pub note: Option<String>,
    pub note_attributes: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub discount_codes: Vec<DiscountCode>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub line_items: Vec<LineItem>,
    pub shipping_lines: Vec<ShippingLine>,
    pub risk: OrderRisk,
    /// Its fulfillment orders, one per location that ships some of it, oldest first.
    pub fulfillment_order_ids: Vec<Id>,
    pub fulfillment_ids: Vec<Id>,
    pub return_ids: Vec<Id>,
    pub refund_ids: Vec<Id>,
    /// Its payments and refunds, oldest first (`Shop::transactions`).
    pub transaction_ids: Vec<Id>,
}

impl Order {
    /// Σ unit price × quantity (REST `total_line_items_price`).
    pub fn line_items_total(&self) -> Money {
        self.line_items.iter().map(|l| l.price * l.quantity).sum()
    }

    /// Line items after discounts (REST `subtotal_price`).
    pub fn subtotal(&self) -> Money {
        self.line_items_total() - self.total_discounts
    }

    /// What the customer pays (REST `total_price`).
    pub fn total(&self) -> Money {
        let tax = if self.taxes_included {
            Money::ZERO
        } else {
            self.total_tax
        };
        self.subtotal() + self.total_shipping + tax
    }

    /// After refunds (REST `current_total_price`).
    pub fn current_total(&self) -> Money {
        self.total() - self.total_refunded
    }

    /// Still to be paid (REST `total_outstanding`).
    pub fn total_outstanding(&self) -> Money {
        match self.financial_status {
            FinancialStatus::Paid
            | FinancialStatus::PartiallyRefunded
            | FinancialStatus::Refunded
            | FinancialStatus::Voided => Money::ZERO,
            _ => self.total(),
        }
    }

    pub fn total_weight_grams(&self) -> u64 {
        self.line_items
            .iter()
            .map(|l| u64::from(l.grams) * u64::from(l.quantity))
            .sum()
    }

    pub fn total_quantity(&self) -> u64 {
        self.line_items.iter().map(|l| u64::from(l.quantity)).sum()
    }
}

/// Where the webhook sender delivers a topic.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookSubscription {
    pub id: Id,
    /// The GraphQL enum value, e.g. `ORDERS_CREATE` (see [`topics::to_enum`]).
    pub topic: String,
    /// Delivery address (`uri`; `callbackUrl` in older versions).
    pub uri: String,
    /// `JSON` or `XML`.
    pub format: String,
    pub filter: Option<String>,
    pub include_fields: Vec<String>,
    pub name: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl WebhookSubscription {
    /// Whether this subscription wants events of `topic` (`orders/create` form).
    pub fn wants(&self, topic: &str) -> bool {
        self.topic == topics::to_enum(topic)
    }
}

/// One `InventoryChange` of an adjustment group.
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryChange {
    pub name: String,
    pub delta: i64,
    pub quantity_after: i64,
    pub item_id: Id,
    pub location_id: Id,
}

/// What one inventory mutation did (`InventoryAdjustmentGroup`).
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryAdjustmentGroup {
    pub id: Id,
    pub created_at: Timestamp,
    pub reason: String,
    pub reference_document_uri: Option<String>,
    pub changes: Vec<InventoryChange>,
}
