//! The simulated shop's state: plain data, numeric ids, and the mutating methods that tests, the
//! traffic generator and the GraphQL mutations use.
//!
//! Three rules hold for every change made through a method here:
//! - it pushes a [`ShopEvent`] (the webhook topic and the resource id) to the event sender, so
//!   the webhook sender can render the REST payload from this state and deliver it;
//! - it moves the resource's `updated_at` strictly forward (see [`Shop::touch`]), because clients
//!   reconcile with `updated_at:>…` and must never see a change without a newer timestamp;
//! - it keeps derived numbers consistent (stock committed by an order, `on_hand`, totals).
//!
//! Fields are public so tests and the traffic generator can read anything; change state through
//! the methods when the change should be visible as an event.

use std::collections::BTreeMap;

use tokio::sync::mpsc::UnboundedSender;

use super::idempotency::IdempotencyStore;
use super::time::Timestamp;

/// Numeric resource id (the GID's last segment, REST's `id`).
pub type Id = u64;

/// One state change, named by its webhook topic. The webhook sender renders the payload from
/// the shop's state when it receives this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopEvent {
    /// The webhook topic, e.g. `"orders/create"` (see [`topics`]).
    pub topic: &'static str,
    /// The changed resource's numeric id. For `inventory_levels/update` this is the level's id
    /// ([`Shop::inventory_level_by_id`]); for `refunds/create` the refund's, and so on.
    pub resource_id: Id,
    /// Unique per event, for `X-Shopify-Event-Id`.
    pub event_id: u64,
    /// When the change happened, for `X-Shopify-Triggered-At`.
    pub triggered_at: Timestamp,
}

/// The webhook topics the shop emits.
pub mod topics {
    pub const ORDERS_CREATE: &str = "orders/create";
    pub const ORDERS_UPDATED: &str = "orders/updated";
    pub const ORDERS_CANCELLED: &str = "orders/cancelled";
    pub const ORDERS_PAID: &str = "orders/paid";
    pub const ORDERS_FULFILLED: &str = "orders/fulfilled";
    pub const INVENTORY_LEVELS_UPDATE: &str = "inventory_levels/update";
    pub const CUSTOMERS_CREATE: &str = "customers/create";
    pub const CUSTOMERS_UPDATE: &str = "customers/update";
    pub const PRODUCTS_UPDATE: &str = "products/update";
    pub const FULFILLMENTS_CREATE: &str = "fulfillments/create";
    pub const RETURNS_REQUEST: &str = "returns/request";
    pub const REFUNDS_CREATE: &str = "refunds/create";

    /// The GraphQL `WebhookSubscriptionTopic` value for a topic: `orders/create` → `ORDERS_CREATE`.
    pub fn to_enum(topic: &str) -> String {
        topic.replace('/', "_").to_ascii_uppercase()
    }
}

/// An amount in minor units (cents), exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn cents(self) -> i64 {
        self.0
    }

    /// `"12.30"`: REST payloads and the GraphQL `Money` scalar.
    pub fn to_fixed2(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// `"12.3"`, `"75.0"`: the GraphQL `Decimal` in `MoneyV2.amount`.
    pub fn to_decimal(self) -> String {
        let fixed = self.to_fixed2();
        match fixed.strip_suffix('0') {
            Some(trimmed) if !trimmed.ends_with('.') => trimmed.to_string(),
            _ => fixed,
        }
    }

    /// Parse `"12"`, `"12.3"`, `"12.30"`, `"-1.5"`; `None` for more than two decimals or junk.
    pub fn parse(text: &str) -> Option<Money> {
        let t = text.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = if frac.is_empty() {
            0
        } else if frac.len() == 1 {
            frac.parse::<i64>().ok()? * 10
        } else {
            frac.parse().ok()?
        };
        let cents = whole.checked_mul(100)?.checked_add(frac)?;
        Some(Money(if neg { -cents } else { cents }))
    }

    /// `self × n / 10_000`, rounded half up: tax from a rate in basis points.
    pub fn times_bps(self, bps: u32) -> Money {
        Money((self.0 * i64::from(bps) + 5_000).div_euclid(10_000))
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

impl std::ops::Mul<u32> for Money {
    type Output = Money;
    fn mul(self, n: u32) -> Money {
        Money(self.0 * i64::from(n))
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

/// A GraphQL enum the shop stores, with its REST spelling (lower case).
macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $gql:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The GraphQL enum value.
            pub fn as_graphql(self) -> &'static str {
                match self { $($name::$variant => $gql),+ }
            }

            /// The REST / webhook spelling: the GraphQL value in lower case.
            pub fn as_rest(self) -> String {
                self.as_graphql().to_ascii_lowercase()
            }

            pub fn from_graphql(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_graphql() == text)
            }
        }
    };
}

api_enum!(
    /// `OrderDisplayFinancialStatus`.
    FinancialStatus {
        Pending => "PENDING",
        Authorized => "AUTHORIZED",
        PartiallyPaid => "PARTIALLY_PAID",
        Paid => "PAID",
        PartiallyRefunded => "PARTIALLY_REFUNDED",
        Refunded => "REFUNDED",
        Voided => "VOIDED",
        Expired => "EXPIRED",
    }
);

api_enum!(
    /// `OrderDisplayFulfillmentStatus`.
    FulfillmentStatus {
        Unfulfilled => "UNFULFILLED",
        PartiallyFulfilled => "PARTIALLY_FULFILLED",
        Fulfilled => "FULFILLED",
        InProgress => "IN_PROGRESS",
        OnHold => "ON_HOLD",
        Open => "OPEN",
        PendingFulfillment => "PENDING_FULFILLMENT",
        Restocked => "RESTOCKED",
        Scheduled => "SCHEDULED",
        RequestDeclined => "REQUEST_DECLINED",
        FulfillmentNotRequired => "FULFILLMENT_NOT_REQUIRED",
    }
);

impl FulfillmentStatus {
    /// REST `fulfillment_status`: `null`, `"partial"`, `"fulfilled"` or `"restocked"`.
    pub fn as_rest_order_status(self) -> Option<&'static str> {
        match self {
            FulfillmentStatus::Fulfilled => Some("fulfilled"),
            FulfillmentStatus::PartiallyFulfilled => Some("partial"),
            FulfillmentStatus::Restocked => Some("restocked"),
            _ => None,
        }
    }
}

api_enum!(
    /// `OrderCancelReason`.
    CancelReason {
        Customer => "CUSTOMER",
        Declined => "DECLINED",
        Fraud => "FRAUD",
        Inventory => "INVENTORY",
        Staff => "STAFF",
        Other => "OTHER",
    }
);

api_enum!(
    /// `RiskAssessmentResult`.
    RiskLevel {
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
        None => "NONE",
        Pending => "PENDING",
    }
);

api_enum!(
    /// `OrderRiskRecommendationResult`.
    RiskRecommendation {
        Accept => "ACCEPT",
        Investigate => "INVESTIGATE",
        Cancel => "CANCEL",
        None => "NONE",
    }
);

api_enum!(
    /// `RiskFactSentiment`.
    Sentiment {
        Positive => "POSITIVE",
        Neutral => "NEUTRAL",
        Negative => "NEGATIVE",
    }
);

api_enum!(
    /// `ReturnStatus`.
    ReturnStatus {
        Requested => "REQUESTED",
        Open => "OPEN",
        Closed => "CLOSED",
        Declined => "DECLINED",
        Canceled => "CANCELED",
    }
);

api_enum!(
    /// `RefundLineItemRestockType`.
    RestockType {
        NoRestock => "NO_RESTOCK",
        Cancel => "CANCEL",
        Return => "RETURN",
        LegacyRestock => "LEGACY_RESTOCK",
    }
);

api_enum!(
    /// `FulfillmentStatus` (of one fulfillment, not the order's display status).
    FulfillmentState {
        Success => "SUCCESS",
        Pending => "PENDING",
        Open => "OPEN",
        Cancelled => "CANCELLED",
        Error => "ERROR",
        Failure => "FAILURE",
    }
);

api_enum!(
    /// `CustomerState`.
    CustomerState {
        Disabled => "DISABLED",
        Invited => "INVITED",
        Enabled => "ENABLED",
        Declined => "DECLINED",
    }
);

api_enum!(
    /// `ProductStatus`.
    ProductStatus {
        Active => "ACTIVE",
        Archived => "ARCHIVED",
        Draft => "DRAFT",
        Unlisted => "UNLISTED",
    }
);

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

#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub id: Id,
    pub title: String,
    pub handle: String,
    pub vendor: String,
    pub product_type: String,
    pub status: ProductStatus,
    pub tags: Vec<String>,
    pub description: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// In display order.
    pub variant_ids: Vec<Id>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    pub id: Id,
    pub product_id: Id,
    pub title: String,
    pub sku: String,
    pub price: Money,
    pub compare_at_price: Option<Money>,
    pub barcode: Option<String>,
    pub position: u32,
    pub inventory_item_id: Id,
    pub taxable: bool,
    pub grams: u32,
    /// `DENY` or `CONTINUE` (selling when out of stock).
    pub inventory_policy: &'static str,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InventoryItem {
    pub id: Id,
    pub variant_id: Id,
    pub sku: String,
    pub tracked: bool,
    pub requires_shipping: bool,
    pub cost: Option<Money>,
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
    pub accepts_marketing: bool,
    pub locale: String,
    pub default_address: Option<Address>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
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
}

impl LineItem {
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
    /// `order_number`, from 1001 (REST `number` and GraphQL `Order.number` are this − 1000).
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
    pub fulfillment_ids: Vec<Id>,
    pub return_ids: Vec<Id>,
    pub refund_ids: Vec<Id>,
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

#[derive(Clone, Debug, PartialEq)]
pub struct TrackingInfo {
    pub company: Option<String>,
    pub number: Option<String>,
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fulfillment {
    pub id: Id,
    pub order_id: Id,
    /// `#1001.1`.
    pub name: String,
    pub status: FulfillmentState,
    /// REST `shipment_status` (`in_transit`, `delivered`, …).
    pub shipment_status: Option<String>,
    pub tracking: Vec<TrackingInfo>,
    pub location_id: Option<Id>,
    /// (line item id, quantity).
    pub line_items: Vec<(Id, u32)>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReturnLine {
    pub id: Id,
    pub line_item_id: Id,
    pub quantity: u32,
    /// `ReturnReason` value, e.g. `SIZE_TOO_SMALL`, `DEFECTIVE`, `WRONG_ITEM`, `OTHER`.
    pub reason: String,
    pub customer_note: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Return {
    pub id: Id,
    pub order_id: Id,
    /// `#1001-R1`.
    pub name: String,
    pub status: ReturnStatus,
    pub line_items: Vec<ReturnLine>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RefundLine {
    pub id: Id,
    pub line_item_id: Id,
    pub quantity: u32,
    pub restock_type: RestockType,
    pub location_id: Option<Id>,
    pub subtotal: Money,
    pub total_tax: Money,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Refund {
    pub id: Id,
    pub order_id: Id,
    pub return_id: Option<Id>,
    pub note: Option<String>,
    pub line_items: Vec<RefundLine>,
    pub shipping: Money,
    /// What went back to the customer (lines + shipping).
    pub total: Money,
    pub created_at: Timestamp,
    pub processed_at: Timestamp,
    pub updated_at: Timestamp,
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

/// Why a shop method refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShopError {
    #[error("no {kind} with id {id}")]
    NotFound { kind: &'static str, id: Id },
    #[error("{0}")]
    Invalid(String),
}

fn not_found(kind: &'static str, id: Id) -> ShopError {
    ShopError::NotFound { kind, id }
}

/// The whole shop.
#[derive(Debug)]
pub struct Shop {
    /// `shop { name }`.
    pub name: String,
    /// `name.myshopify.com`.
    pub domain: String,
    /// ISO currency of all money (the simulator has no multi-currency).
    pub currency: String,
    pub email: String,
    pub locations: BTreeMap<Id, Location>,
    pub products: BTreeMap<Id, Product>,
    pub variants: BTreeMap<Id, Variant>,
    pub inventory_items: BTreeMap<Id, InventoryItem>,
    /// Keyed by (inventory item id, location id): what the inventory mutations address.
    pub inventory_levels: BTreeMap<(Id, Id), InventoryLevel>,
    pub customers: BTreeMap<Id, Customer>,
    pub orders: BTreeMap<Id, Order>,
    pub fulfillments: BTreeMap<Id, Fulfillment>,
    pub returns: BTreeMap<Id, Return>,
    pub refunds: BTreeMap<Id, Refund>,
    pub webhook_subscriptions: BTreeMap<Id, WebhookSubscription>,
    pub adjustment_groups: BTreeMap<Id, InventoryAdjustmentGroup>,
    /// Results of `@idempotent` mutations, so a replayed key is answered, not applied.
    pub(crate) idempotency: IdempotencyStore,
    /// One counter for every resource type, so an id names exactly one resource.
    next_id: Id,
    next_order_number: u64,
    next_event_id: u64,
    /// A pinned clock for tests; `None` follows the wall clock.
    clock: Option<Timestamp>,
    events: Option<UnboundedSender<ShopEvent>>,
}

impl Shop {
    /// An empty shop.
    pub fn new(name: &str, domain: &str, currency: &str) -> Shop {
        Shop {
            name: name.to_string(),
            domain: domain.to_string(),
            currency: currency.to_string(),
            email: format!("owner@{domain}"),
            locations: BTreeMap::new(),
            products: BTreeMap::new(),
            variants: BTreeMap::new(),
            inventory_items: BTreeMap::new(),
            inventory_levels: BTreeMap::new(),
            customers: BTreeMap::new(),
            orders: BTreeMap::new(),
            fulfillments: BTreeMap::new(),
            returns: BTreeMap::new(),
            refunds: BTreeMap::new(),
            webhook_subscriptions: BTreeMap::new(),
            adjustment_groups: BTreeMap::new(),
            idempotency: IdempotencyStore::default(),
            next_id: 1_000_001,
            next_order_number: 1001,
            next_event_id: 1,
            clock: None,
            events: None,
        }
    }

    /// Where events go from now on (the simulator attaches its channel at start).
    pub fn set_event_sender(&mut self, sender: Option<UnboundedSender<ShopEvent>>) {
        self.events = sender;
    }

    /// Pin the clock (tests), or `None` to follow the wall clock.
    pub fn set_clock(&mut self, now: Option<Timestamp>) {
        self.clock = now;
    }

    /// Advance a pinned clock (no effect when following the wall clock).
    pub fn advance_clock(&mut self, secs: i64) {
        if let Some(now) = self.clock.as_mut() {
            *now = now.plus_secs(secs);
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.unwrap_or_else(Timestamp::now)
    }

    /// The next `updated_at` for a resource last updated at `previous`: now, or one second
    /// after `previous` if the clock has not moved past it. Keeps `updated_at` strictly
    /// increasing per resource even with second precision and several changes per second.
    pub fn touch(&self, previous: Timestamp) -> Timestamp {
        let now = self.now();
        if now > previous {
            now
        } else {
            previous.plus_secs(1)
        }
    }

    pub(crate) fn next_id(&mut self) -> Id {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Push an event, if anyone listens. A closed receiver is not an error: the shop keeps
    /// working without a webhook sender.
    pub(crate) fn emit(&mut self, topic: &'static str, resource_id: Id) {
        let event_id = self.next_event_id;
        self.next_event_id += 1;
        if let Some(tx) = &self.events {
            let _ = tx.send(ShopEvent {
                topic,
                resource_id,
                event_id,
                triggered_at: self.now(),
            });
        }
    }

    // ---- lookups ------------------------------------------------------------------------

    pub fn variant_by_sku(&self, sku: &str) -> Option<&Variant> {
        self.variants.values().find(|v| v.sku == sku)
    }

    pub fn inventory_item_by_sku(&self, sku: &str) -> Option<&InventoryItem> {
        self.inventory_items.values().find(|i| i.sku == sku)
    }

    pub fn order_by_name(&self, name: &str) -> Option<&Order> {
        self.orders.values().find(|o| o.name == name)
    }

    /// The level an `inventory_levels/update` event names.
    pub fn inventory_level_by_id(&self, level_id: Id) -> Option<&InventoryLevel> {
        self.inventory_levels.values().find(|l| l.id == level_id)
    }

    pub fn inventory_level(&self, item_id: Id, location_id: Id) -> Option<&InventoryLevel> {
        self.inventory_levels.get(&(item_id, location_id))
    }

    /// Subscriptions that want `topic` (`orders/create` form): where the webhook sender delivers.
    pub fn subscriptions_for<'a>(
        &'a self,
        topic: &'a str,
    ) -> impl Iterator<Item = &'a WebhookSubscription> + 'a {
        self.webhook_subscriptions
            .values()
            .filter(move |s| s.wants(topic))
    }

    // ---- catalogue and locations --------------------------------------------------------

    /// A new active location (no event: Shopify's `locations/create` is not one we emit).
    pub fn add_location(&mut self, name: &str) -> Id {
        let id = self.next_id();
        let now = self.now();
        self.locations.insert(
            id,
            Location {
                id,
                name: name.to_string(),
                active: true,
                address1: format!("{} Warehouse Road", 10 + self.locations.len()),
                city: "Ottawa".into(),
                province_code: "ON".into(),
                zip: "K2P 1L4".into(),
                country_code: "CA".into(),
                fulfills_online_orders: true,
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    /// A new product with variants, inventory items and levels (no event).
    pub fn add_product(&mut self, spec: ProductSpec) -> Id {
        let now = self.now();
        let product_id = self.next_id();
        let handle = spec
            .title
            .to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let active_locations: Vec<Id> = self
            .locations
            .values()
            .filter(|l| l.active)
            .map(|l| l.id)
            .collect();
        let mut variant_ids = Vec::new();
        for (i, v) in spec.variants.iter().enumerate() {
            let variant_id = self.next_id();
            let item_id = self.next_id();
            self.variants.insert(
                variant_id,
                Variant {
                    id: variant_id,
                    product_id,
                    title: v.title.clone(),
                    sku: v.sku.clone(),
                    price: v.price,
                    compare_at_price: None,
                    barcode: None,
                    position: i as u32 + 1,
                    inventory_item_id: item_id,
                    taxable: true,
                    grams: v.grams,
                    inventory_policy: "DENY",
                    created_at: now,
                    updated_at: now,
                },
            );
            self.inventory_items.insert(
                item_id,
                InventoryItem {
                    id: item_id,
                    variant_id,
                    sku: v.sku.clone(),
                    tracked: true,
                    requires_shipping: true,
                    cost: Some(Money(v.price.0 * 45 / 100)),
                    created_at: now,
                    updated_at: now,
                },
            );
            for &location_id in &active_locations {
                self.insert_level(item_id, location_id, spec.stock_per_location);
            }
            variant_ids.push(variant_id);
        }
        self.products.insert(
            product_id,
            Product {
                id: product_id,
                title: spec.title,
                handle,
                vendor: spec.vendor,
                product_type: spec.product_type,
                status: ProductStatus::Active,
                tags: spec.tags,
                description: String::new(),
                created_at: now,
                updated_at: now,
                variant_ids,
            },
        );
        product_id
    }

    fn insert_level(&mut self, item_id: Id, location_id: Id, available: i64) -> Id {
        let id = self.next_id();
        let now = self.now();
        self.inventory_levels.insert(
            (item_id, location_id),
            InventoryLevel {
                id,
                item_id,
                location_id,
                available,
                committed: 0,
                reserved: 0,
                damaged: 0,
                quality_control: 0,
                safety_stock: 0,
                incoming: 0,
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    /// Change a product (title, tags, …) and announce `products/update`.
    pub fn update_product(
        &mut self,
        id: Id,
        f: impl FnOnce(&mut Product),
    ) -> Result<(), ShopError> {
        let next = self.touch(
            self.products
                .get(&id)
                .ok_or(not_found("product", id))?
                .updated_at,
        );
        let product = self.products.get_mut(&id).ok_or(not_found("product", id))?;
        f(product);
        product.updated_at = next;
        self.emit(topics::PRODUCTS_UPDATE, id);
        Ok(())
    }

    /// Change a variant's price or SKU (the SKU follows to its inventory item) and announce
    /// `products/update` for its product.
    pub fn update_variant(
        &mut self,
        id: Id,
        f: impl FnOnce(&mut Variant),
    ) -> Result<(), ShopError> {
        let next = self.touch(
            self.variants
                .get(&id)
                .ok_or(not_found("variant", id))?
                .updated_at,
        );
        let variant = self.variants.get_mut(&id).ok_or(not_found("variant", id))?;
        f(variant);
        variant.updated_at = next;
        let (product_id, item_id, sku) = (
            variant.product_id,
            variant.inventory_item_id,
            variant.sku.clone(),
        );
        if let Some(item) = self.inventory_items.get_mut(&item_id) {
            item.sku = sku;
        }
        self.update_product(product_id, |_| {})
    }

    // ---- webhook subscriptions ----------------------------------------------------------

    /// Subscribe `uri` to `topic` (the GraphQL enum value, e.g. `ORDERS_CREATE`). No checks:
    /// `webhookSubscriptionCreate` validates before calling this.
    pub fn create_webhook_subscription(&mut self, topic: &str, uri: &str) -> Id {
        let id = self.next_id();
        let now = self.now();
        self.webhook_subscriptions.insert(
            id,
            WebhookSubscription {
                id,
                topic: topic.to_string(),
                uri: uri.to_string(),
                format: "JSON".into(),
                filter: None,
                include_fields: Vec::new(),
                name: None,
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    pub fn delete_webhook_subscription(
        &mut self,
        id: Id,
    ) -> Result<WebhookSubscription, ShopError> {
        self.webhook_subscriptions
            .remove(&id)
            .ok_or(not_found("webhook subscription", id))
    }

    // ---- inventory ----------------------------------------------------------------------

    /// Set `available` at a location (stocking the item there if needed), as a back-office
    /// stock count would; announces `inventory_levels/update`.
    pub fn set_inventory(
        &mut self,
        item_id: Id,
        location_id: Id,
        available: i64,
    ) -> Result<(), ShopError> {
        if !self.inventory_items.contains_key(&item_id) {
            return Err(not_found("inventory item", item_id));
        }
        if !self.locations.contains_key(&location_id) {
            return Err(not_found("location", location_id));
        }
        self.apply_quantity(item_id, location_id, "available", available);
        Ok(())
    }

    /// Set one named quantity (`available` or `on_hand`) and return (delta, quantity after)
    /// for it. Setting `on_hand` moves `available` by the same delta (the other states are
    /// unchanged), as Shopify does. Emits `inventory_levels/update` when something changed.
    pub(crate) fn apply_quantity(
        &mut self,
        item_id: Id,
        location_id: Id,
        name: &str,
        quantity: i64,
    ) -> (i64, i64) {
        if !self.inventory_levels.contains_key(&(item_id, location_id)) {
            self.insert_level(item_id, location_id, 0);
        }
        let Some(previous) = self
            .inventory_levels
            .get(&(item_id, location_id))
            .map(|l| l.updated_at)
        else {
            return (0, 0);
        };
        let next = self.touch(previous);
        let Some(level) = self.inventory_levels.get_mut(&(item_id, location_id)) else {
            return (0, 0);
        };
        let before = if name == "on_hand" {
            level.on_hand()
        } else {
            level.available
        };
        let delta = quantity - before;
        level.available += delta;
        let level_id = level.id;
        if delta != 0 {
            level.updated_at = next;
            self.emit(topics::INVENTORY_LEVELS_UPDATE, level_id);
        }
        (delta, quantity)
    }

    /// Record an adjustment group (what `inventorySetQuantities` returns).
    pub(crate) fn record_adjustment(
        &mut self,
        reason: &str,
        reference_document_uri: Option<String>,
        changes: Vec<InventoryChange>,
    ) -> Id {
        let id = self.next_id();
        let created_at = self.now();
        self.adjustment_groups.insert(
            id,
            InventoryAdjustmentGroup {
                id,
                created_at,
                reason: reason.to_string(),
                reference_document_uri,
                changes,
            },
        );
        id
    }

    /// Move `qty` of an item between `available` and `committed` at the first active location
    /// that stocks it; returns that location. Negative `qty` releases.
    fn commit_stock(&mut self, item_id: Id, location: Option<Id>, qty: i64) -> Option<Id> {
        let location_id = match location {
            Some(l) => l,
            None => self
                .inventory_levels
                .range((item_id, 0)..=(item_id, Id::MAX))
                .map(|(_, l)| l.location_id)
                .find(|l| self.locations.get(l).is_some_and(|l| l.active))?,
        };
        let previous = self
            .inventory_levels
            .get(&(item_id, location_id))?
            .updated_at;
        let next = self.touch(previous);
        let level = self.inventory_levels.get_mut(&(item_id, location_id))?;
        level.available -= qty;
        level.committed += qty;
        level.updated_at = next;
        let level_id = level.id;
        self.emit(topics::INVENTORY_LEVELS_UPDATE, level_id);
        Some(location_id)
    }

    // ---- customers ----------------------------------------------------------------------

    pub fn create_customer(&mut self, spec: CustomerSpec) -> Id {
        let id = self.insert_customer(spec);
        self.emit(topics::CUSTOMERS_CREATE, id);
        id
    }

    pub(crate) fn insert_customer(&mut self, spec: CustomerSpec) -> Id {
        let id = self.next_id();
        let now = self.now();
        self.customers.insert(
            id,
            Customer {
                id,
                email: spec.email,
                first_name: spec.first_name,
                last_name: spec.last_name,
                phone: spec.phone,
                tags: spec.tags,
                tax_exempt: spec.tax_exempt,
                tax_exemptions: spec.tax_exemptions,
                note: spec.note,
                state: CustomerState::Enabled,
                verified_email: true,
                accepts_marketing: false,
                locale: "en".into(),
                default_address: spec.default_address,
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    pub fn update_customer(
        &mut self,
        id: Id,
        f: impl FnOnce(&mut Customer),
    ) -> Result<(), ShopError> {
        let next = self.touch(
            self.customers
                .get(&id)
                .ok_or(not_found("customer", id))?
                .updated_at,
        );
        let customer = self
            .customers
            .get_mut(&id)
            .ok_or(not_found("customer", id))?;
        f(customer);
        customer.updated_at = next;
        self.emit(topics::CUSTOMERS_UPDATE, id);
        Ok(())
    }

    // ---- orders -------------------------------------------------------------------------

    /// Place an order: lines priced from their variants, stock committed at the first active
    /// location that stocks each item, totals computed. Announces `orders/create` (and
    /// `inventory_levels/update` for each committed level; `orders/paid` if paid).
    pub fn create_order(&mut self, spec: OrderSpec) -> Id {
        let paid = spec.financial_status == FinancialStatus::Paid;
        let id = self.insert_order(spec);
        self.emit(topics::ORDERS_CREATE, id);
        if paid {
            self.emit(topics::ORDERS_PAID, id);
        }
        id
    }

    /// `create_order` without the order events (the seed uses it before anyone listens).
    pub(crate) fn insert_order(&mut self, spec: OrderSpec) -> Id {
        let now = self.now();
        let id = self.next_id();
        let number = self.next_order_number;
        self.next_order_number += 1;
        let customer = spec
            .customer_id
            .and_then(|c| self.customers.get(&c))
            .cloned();
        let mut line_items = Vec::new();
        for line in &spec.line_items {
            let variant = line.variant_id.and_then(|v| self.variants.get(&v)).cloned();
            let product = variant
                .as_ref()
                .and_then(|v| self.products.get(&v.product_id))
                .cloned();
            let line_id = self.next_id();
            let location_id = match &variant {
                Some(v) => self.commit_stock(v.inventory_item_id, None, i64::from(line.quantity)),
                None => None,
            };
            line_items.push(LineItem {
                id: line_id,
                variant_id: variant.as_ref().map(|v| v.id),
                product_id: variant.as_ref().map(|v| v.product_id),
                sku: line
                    .sku
                    .clone()
                    .or_else(|| variant.as_ref().map(|v| v.sku.clone())),
                title: line
                    .title
                    .clone()
                    .or_else(|| product.as_ref().map(|p| p.title.clone()))
                    .unwrap_or_else(|| "Custom item".into()),
                variant_title: variant.as_ref().map(|v| v.title.clone()),
                vendor: product.as_ref().map(|p| p.vendor.clone()),
                quantity: line.quantity,
                price: line
                    .price
                    .or_else(|| variant.as_ref().map(|v| v.price))
                    .unwrap_or(Money::ZERO),
                total_discount: Money::ZERO,
                grams: variant.as_ref().map_or(0, |v| v.grams),
                taxable: true,
                requires_shipping: true,
                gift_card: false,
                fulfillable_quantity: line.quantity,
                location_id,
            });
        }
        let shipping_address = spec
            .shipping_address
            .or_else(|| customer.as_ref().and_then(|c| c.default_address.clone()));
        let billing_address = spec.billing_address.or_else(|| shipping_address.clone());
        let processed_at = spec.processed_at.unwrap_or(now);
        let mut order = Order {
            id,
            number,
            name: format!("#{number}"),
            email: spec
                .email
                .or_else(|| customer.as_ref().and_then(|c| c.email.clone())),
            phone: spec.phone,
            customer_id: customer.as_ref().map(|c| c.id),
            created_at: processed_at,
            updated_at: processed_at,
            processed_at,
            cancelled_at: None,
            cancel_reason: None,
            closed_at: None,
            currency: self.currency.clone(),
            presentment_currency: self.currency.clone(),
            financial_status: spec.financial_status,
            fulfillment_status: FulfillmentStatus::Unfulfilled,
            total_discounts: spec.discount,
            total_shipping: spec.shipping,
            total_tax: Money::ZERO,
            total_refunded: Money::ZERO,
            taxes_included: false,
            tax_exempt: customer.as_ref().is_some_and(|c| c.tax_exempt),
            test: spec.test,
            confirmed: true,
            source_name: spec.source_name,
            payment_gateway_names: vec!["shopify_payments".into()],
            customer_locale: customer
                .as_ref()
                .map_or_else(|| "en".to_string(), |c| c.locale.clone()),
            buyer_accepts_marketing: customer.as_ref().is_some_and(|c| c.accepts_marketing),
            token: format!("{:032x}", u128::from(id) * 0x9e37_79b9_7f4a_7c15),
            confirmation_number: confirmation_number(id),
            browser_ip: Some("203.0.113.7".into()),
            landing_site: Some("/".into()),
            referring_site: None,
            po_number: None,
            note: spec.note,
            note_attributes: Vec::new(),
            tags: spec.tags,
            discount_codes: Vec::new(),
            shipping_address,
            billing_address,
            line_items,
            shipping_lines: Vec::new(),
            risk: spec.risk,
            fulfillment_ids: Vec::new(),
            return_ids: Vec::new(),
            refund_ids: Vec::new(),
        };
        if spec.shipping > Money::ZERO {
            let line_id = self.next_id();
            order.shipping_lines.push(ShippingLine {
                id: line_id,
                title: "Standard Shipping".into(),
                code: "STANDARD".into(),
                source: "shopify".into(),
                price: spec.shipping,
            });
        }
        if spec.discount > Money::ZERO {
            order.discount_codes.push(DiscountCode {
                code: "WELCOME10".into(),
                amount: spec.discount,
                kind: "fixed_amount".into(),
            });
        }
        if !order.tax_exempt {
            order.total_tax = order.subtotal().times_bps(spec.tax_rate_bps);
        }
        self.orders.insert(id, order);
        id
    }

    /// Change an order and announce `orders/updated`.
    pub fn update_order(&mut self, id: Id, f: impl FnOnce(&mut Order)) -> Result<(), ShopError> {
        let next = self.touch(
            self.orders
                .get(&id)
                .ok_or(not_found("order", id))?
                .updated_at,
        );
        let order = self.orders.get_mut(&id).ok_or(not_found("order", id))?;
        f(order);
        order.updated_at = next;
        self.emit(topics::ORDERS_UPDATED, id);
        Ok(())
    }

    /// Cancel an order: unfulfilled stock goes back to `available`, the order closes, payment
    /// is voided (or refunded if it was paid). Announces `orders/cancelled` and `orders/updated`.
    pub fn cancel_order(&mut self, id: Id, reason: CancelReason) -> Result<(), ShopError> {
        let order = self.orders.get(&id).ok_or(not_found("order", id))?;
        if order.cancelled_at.is_some() {
            return Err(ShopError::Invalid(format!(
                "order {} is already cancelled",
                order.name
            )));
        }
        let releases: Vec<(Id, Option<Id>, u32)> = order
            .line_items
            .iter()
            .filter_map(|l| {
                let item = self.variants.get(&l.variant_id?)?.inventory_item_id;
                Some((item, l.location_id, l.fulfillable_quantity))
            })
            .collect();
        for (item, location, qty) in releases {
            if qty > 0 && location.is_some() {
                self.commit_stock(item, location, -i64::from(qty));
            }
        }
        let now = self.now();
        self.update_order(id, |o| {
            o.cancelled_at = Some(now);
            o.cancel_reason = Some(reason);
            o.closed_at = Some(now);
            o.financial_status = match o.financial_status {
                FinancialStatus::Paid | FinancialStatus::PartiallyPaid => {
                    o.total_refunded = o.total();
                    FinancialStatus::Refunded
                }
                FinancialStatus::Refunded => FinancialStatus::Refunded,
                _ => FinancialStatus::Voided,
            };
            for l in &mut o.line_items {
                l.fulfillable_quantity = 0;
            }
        })?;
        self.emit(topics::ORDERS_CANCELLED, id);
        Ok(())
    }

    /// Capture payment: `PAID`. Announces `orders/paid` and `orders/updated`.
    pub fn mark_paid(&mut self, id: Id) -> Result<(), ShopError> {
        self.update_order(id, |o| o.financial_status = FinancialStatus::Paid)?;
        self.emit(topics::ORDERS_PAID, id);
        Ok(())
    }

    /// Replace the risk summary (a fraud app's assessment). Announces `orders/updated`.
    pub fn set_risk(&mut self, id: Id, risk: OrderRisk) -> Result<(), ShopError> {
        self.update_order(id, |o| o.risk = risk)
    }

    /// Ship units of an order: committed stock leaves `on_hand`, line items' fulfillable
    /// quantities drop, the display status follows. Announces `fulfillments/create`,
    /// `orders/updated`, and `orders/fulfilled` when nothing is left.
    pub fn create_fulfillment(
        &mut self,
        order_id: Id,
        spec: FulfillmentSpec,
    ) -> Result<Id, ShopError> {
        let order = self
            .orders
            .get(&order_id)
            .ok_or(not_found("order", order_id))?;
        if order.cancelled_at.is_some() {
            return Err(ShopError::Invalid(format!(
                "order {} is cancelled",
                order.name
            )));
        }
        let wanted: Vec<(Id, u32)> = if spec.line_items.is_empty() {
            order
                .line_items
                .iter()
                .filter(|l| l.fulfillable_quantity > 0)
                .map(|l| (l.id, l.fulfillable_quantity))
                .collect()
        } else {
            spec.line_items.clone()
        };
        if wanted.is_empty() {
            return Err(ShopError::Invalid(format!(
                "order {} has nothing left to fulfill",
                order.name
            )));
        }
        let mut shipped = Vec::new();
        for (line_id, qty) in &wanted {
            let line = order
                .line_items
                .iter()
                .find(|l| l.id == *line_id)
                .ok_or(not_found("line item", *line_id))?;
            if *qty == 0 || *qty > line.fulfillable_quantity {
                return Err(ShopError::Invalid(format!(
                    "line item {line_id} has {} unfulfilled, cannot ship {qty}",
                    line.fulfillable_quantity
                )));
            }
            let item = line
                .variant_id
                .and_then(|v| self.variants.get(&v))
                .map(|v| v.inventory_item_id);
            shipped.push((item, line.location_id, *line_id, *qty));
        }
        let location_id = shipped.iter().find_map(|s| s.1);
        let name = format!("{}.{}", order.name, order.fulfillment_ids.len() + 1);
        for (item, location, _, qty) in &shipped {
            if let (Some(item), Some(location)) = (item, location) {
                // Shipped units leave `committed` (and so `on_hand`); `available` is unchanged.
                if let Some(level) = self.inventory_levels.get_mut(&(*item, *location)) {
                    level.committed -= i64::from(*qty);
                }
            }
        }
        let id = self.next_id();
        let now = self.now();
        self.fulfillments.insert(
            id,
            Fulfillment {
                id,
                order_id,
                name,
                status: FulfillmentState::Success,
                shipment_status: None,
                tracking: spec.tracking.into_iter().collect(),
                location_id,
                line_items: wanted.clone(),
                created_at: now,
                updated_at: now,
            },
        );
        let mut fully = false;
        self.update_order(order_id, |o| {
            for (line_id, qty) in &wanted {
                if let Some(l) = o.line_items.iter_mut().find(|l| l.id == *line_id) {
                    l.fulfillable_quantity -= qty;
                }
            }
            fully = o.line_items.iter().all(|l| l.fulfillable_quantity == 0);
            o.fulfillment_status = if fully {
                FulfillmentStatus::Fulfilled
            } else {
                FulfillmentStatus::PartiallyFulfilled
            };
            o.fulfillment_ids.push(id);
        })?;
        self.emit(topics::FULFILLMENTS_CREATE, id);
        if fully {
            self.emit(topics::ORDERS_FULFILLED, order_id);
        }
        Ok(id)
    }

    /// A customer asks to return units (status `REQUESTED`). Announces `returns/request`.
    /// `lines` are (line item id, quantity, `ReturnReason`).
    pub fn request_return(
        &mut self,
        order_id: Id,
        lines: &[(Id, u32, &str)],
    ) -> Result<Id, ShopError> {
        let order = self
            .orders
            .get(&order_id)
            .ok_or(not_found("order", order_id))?;
        if lines.is_empty() {
            return Err(ShopError::Invalid(
                "a return needs at least one line".into(),
            ));
        }
        for (line_id, qty, _) in lines {
            let line = order
                .line_items
                .iter()
                .find(|l| l.id == *line_id)
                .ok_or(not_found("line item", *line_id))?;
            let shipped = line.quantity - line.fulfillable_quantity;
            if *qty == 0 || *qty > shipped {
                return Err(ShopError::Invalid(format!(
                    "line item {line_id} has {shipped} fulfilled, cannot return {qty}"
                )));
            }
        }
        let name = format!("{}-R{}", order.name, order.return_ids.len() + 1);
        let id = self.next_id();
        let mut return_lines = Vec::new();
        for (line_id, qty, reason) in lines {
            return_lines.push(ReturnLine {
                id: self.next_id(),
                line_item_id: *line_id,
                quantity: *qty,
                reason: reason.to_string(),
                customer_note: None,
            });
        }
        let now = self.now();
        self.returns.insert(
            id,
            Return {
                id,
                order_id,
                name,
                status: ReturnStatus::Requested,
                line_items: return_lines,
                created_at: now,
                updated_at: now,
                closed_at: None,
            },
        );
        self.update_order(order_id, |o| o.return_ids.push(id))?;
        self.emit(topics::RETURNS_REQUEST, id);
        Ok(id)
    }

    /// Change a return's status (approve → `OPEN`, decline, close). No webhook topic of ours.
    pub fn set_return_status(&mut self, id: Id, status: ReturnStatus) -> Result<(), ShopError> {
        let next = self.touch(
            self.returns
                .get(&id)
                .ok_or(not_found("return", id))?
                .updated_at,
        );
        let now = self.now();
        let ret = self.returns.get_mut(&id).ok_or(not_found("return", id))?;
        ret.status = status;
        ret.updated_at = next;
        if status == ReturnStatus::Closed {
            ret.closed_at = Some(now);
        }
        Ok(())
    }

    /// Refund units (and optionally shipping) of an order; `lines` are (line item id, quantity).
    /// Announces `refunds/create` and `orders/updated`.
    pub fn create_refund(
        &mut self,
        order_id: Id,
        lines: &[(Id, u32)],
        shipping: Money,
        note: Option<&str>,
    ) -> Result<Id, ShopError> {
        let order = self
            .orders
            .get(&order_id)
            .ok_or(not_found("order", order_id))?;
        let mut refund_lines = Vec::new();
        let mut total = shipping;
        let tax_bps = if order.subtotal() > Money::ZERO {
            (order.total_tax.0 * 10_000 / order.subtotal().0.max(1)) as u32
        } else {
            0
        };
        for (line_id, qty) in lines {
            let line = order
                .line_items
                .iter()
                .find(|l| l.id == *line_id)
                .ok_or(not_found("line item", *line_id))?;
            if *qty == 0 || *qty > line.quantity {
                return Err(ShopError::Invalid(format!(
                    "line item {line_id} has {} units, cannot refund {qty}",
                    line.quantity
                )));
            }
            let subtotal = line.price * *qty;
            let tax = subtotal.times_bps(tax_bps);
            total = total + subtotal + tax;
            refund_lines.push((line.id, *qty, subtotal, tax, line.location_id));
        }
        if total > order.current_total() {
            return Err(ShopError::Invalid(format!(
                "refund of {} exceeds the refundable {}",
                total.to_fixed2(),
                order.current_total().to_fixed2()
            )));
        }
        let return_id = order.return_ids.iter().copied().find(|r| {
            self.returns
                .get(r)
                .is_some_and(|r| r.status != ReturnStatus::Closed)
        });
        let id = self.next_id();
        let mut lines_out = Vec::new();
        for (line_item_id, quantity, subtotal, total_tax, location_id) in refund_lines {
            lines_out.push(RefundLine {
                id: self.next_id(),
                line_item_id,
                quantity,
                restock_type: RestockType::NoRestock,
                location_id,
                subtotal,
                total_tax,
            });
        }
        let now = self.now();
        self.refunds.insert(
            id,
            Refund {
                id,
                order_id,
                return_id,
                note: note.map(str::to_string),
                line_items: lines_out,
                shipping,
                total,
                created_at: now,
                processed_at: now,
                updated_at: now,
            },
        );
        self.update_order(order_id, |o| {
            o.total_refunded = o.total_refunded + total;
            o.financial_status = if o.total_refunded >= o.total() {
                FinancialStatus::Refunded
            } else {
                FinancialStatus::PartiallyRefunded
            };
            o.refund_ids.push(id);
        })?;
        self.emit(topics::REFUNDS_CREATE, id);
        Ok(id)
    }
}

/// Shopify's order confirmation numbers are 9 upper-case letters and digits.
fn confirmation_number(id: Id) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut n = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..9)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop_with_stock() -> (Shop, Id, Id) {
        let mut shop = Shop::new("Demo", "demo.myshopify.com", "USD");
        shop.set_clock(Timestamp::parse("2026-10-01T00:00:00Z"));
        let loc = shop.add_location("Main");
        let product = shop.add_product(ProductSpec {
            title: "Blue Shirt".into(),
            vendor: "Acme".into(),
            product_type: "Shirts".into(),
            tags: vec![],
            variants: vec![VariantSpec {
                title: "M".into(),
                sku: "SHIRT-M".into(),
                price: Money(2500),
                grams: 200,
            }],
            stock_per_location: 10,
        });
        let variant = shop.products[&product].variant_ids[0];
        (shop, loc, variant)
    }

    #[test]
    fn money_renders_like_shopify() {
        assert_eq!(Money(1230).to_fixed2(), "12.30");
        assert_eq!(Money(1230).to_decimal(), "12.3");
        assert_eq!(Money(7500).to_decimal(), "75.0");
        assert_eq!(Money(-5).to_fixed2(), "-0.05");
        assert_eq!(Money::parse("12.3"), Some(Money(1230)));
        assert_eq!(Money::parse("12.345"), None);
        assert_eq!(Money::parse("abc"), None);
    }

    #[test]
    fn orders_commit_stock_and_updates_move_updated_at_forward() {
        let (mut shop, loc, variant) = shop_with_stock();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        shop.set_event_sender(Some(tx));
        let id = shop.create_order(OrderSpec {
            line_items: vec![LineSpec::variant(variant, 3)],
            tax_rate_bps: 1000,
            ..OrderSpec::default()
        });
        let order = &shop.orders[&id];
        assert_eq!(order.name, "#1001");
        assert_eq!(order.subtotal(), Money(7500));
        assert_eq!(order.total_tax, Money(750));
        assert_eq!(order.total(), Money(7500 + 750 + 1000));
        let item = shop.variants[&variant].inventory_item_id;
        let level = shop.inventory_level(item, loc).unwrap();
        assert_eq!(
            (level.available, level.committed, level.on_hand()),
            (7, 3, 10)
        );

        let created = shop.orders[&id].updated_at;
        shop.update_order(id, |o| o.note = Some("a".into()))
            .unwrap();
        shop.update_order(id, |o| o.note = Some("b".into()))
            .unwrap();
        assert_eq!(shop.orders[&id].updated_at, created.plus_secs(2));

        shop.create_fulfillment(id, FulfillmentSpec::default())
            .unwrap();
        let level = shop.inventory_level(item, loc).unwrap();
        assert_eq!(
            (level.available, level.committed, level.on_hand()),
            (7, 0, 7)
        );
        assert_eq!(
            shop.orders[&id].fulfillment_status,
            FulfillmentStatus::Fulfilled
        );

        let topics: Vec<&str> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.topic)
            .collect();
        assert_eq!(
            topics,
            [
                "inventory_levels/update",
                "orders/create",
                "orders/paid",
                "orders/updated",
                "orders/updated",
                "orders/updated",
                "fulfillments/create",
                "orders/fulfilled"
            ]
        );
    }

    #[test]
    fn cancelling_releases_committed_stock() {
        let (mut shop, loc, variant) = shop_with_stock();
        let id = shop.create_order(OrderSpec {
            line_items: vec![LineSpec::variant(variant, 4)],
            financial_status: FinancialStatus::Authorized,
            ..OrderSpec::default()
        });
        shop.cancel_order(id, CancelReason::Customer).unwrap();
        let item = shop.variants[&variant].inventory_item_id;
        let level = shop.inventory_level(item, loc).unwrap();
        assert_eq!((level.available, level.committed), (10, 0));
        assert_eq!(shop.orders[&id].financial_status, FinancialStatus::Voided);
        assert!(shop.cancel_order(id, CancelReason::Customer).is_err());
    }

    #[test]
    fn setting_on_hand_moves_available_by_the_same_delta() {
        let (mut shop, loc, variant) = shop_with_stock();
        let item = shop.variants[&variant].inventory_item_id;
        shop.create_order(OrderSpec {
            line_items: vec![LineSpec::variant(variant, 2)],
            ..OrderSpec::default()
        });
        assert_eq!(shop.apply_quantity(item, loc, "on_hand", 15), (5, 15));
        let level = shop.inventory_level(item, loc).unwrap();
        assert_eq!(
            (level.available, level.committed, level.on_hand()),
            (13, 2, 15)
        );
    }
}
