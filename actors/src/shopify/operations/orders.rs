//! `Orders` (changed since, for reconciliation) and `Order` (one by id), sharing the fields of
//! `order_fields.graphql`.

use serde::{Deserialize, Serialize};

use super::{Connection, MoneyBag, Operation, Ref, nullable_vec};
use crate::shopify::error::ShopifyError;
use crate::shopify::gid::{CustomerId, LineItemId, OrderId, ProductVariantId};

/// Line items fetched with each order of a page.
pub const LINE_ITEMS: u32 = 100;

/// The most line items one order query can ask for within Shopify's 1,000-point cap.
pub const MAX_ORDER_LINES: u32 = 240;

/// The estimated requested cost of one order with `line_items` line items (see the fragment).
fn order_cost(line_items: u32) -> f64 {
    12.0 + 4.0 * f64::from(line_items)
}

pub enum Orders {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdersVariables {
    pub first: u32,
    pub after: Option<String>,
    pub query: Option<String>,
    pub line_items: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrdersResponse {
    pub orders: Connection<ShopifyOrder>,
}

impl Operation for Orders {
    const NAME: &'static str = "Orders";
    const DOCUMENT: &'static str = concat!(
        include_str!("orders.graphql"),
        "\n",
        include_str!("order_fields.graphql")
    );
    type Variables = OrdersVariables;
    type Response = OrdersResponse;

    fn estimate(v: &OrdersVariables) -> f64 {
        2.0 + f64::from(v.first) * order_cost(v.line_items)
    }

    fn cost_key(v: &OrdersVariables) -> String {
        format!("Orders/{}x{}", v.first, v.line_items)
    }
}

pub enum Order {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderVariables {
    pub id: OrderId,
    pub line_items: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderResponse {
    pub order: Option<ShopifyOrder>,
}

impl Operation for Order {
    const NAME: &'static str = "Order";
    const DOCUMENT: &'static str = concat!(
        include_str!("order.graphql"),
        "\n",
        include_str!("order_fields.graphql")
    );
    type Variables = OrderVariables;
    type Response = OrderResponse;

    fn estimate(v: &OrderVariables) -> f64 {
        1.0 + order_cost(v.line_items)
    }

    fn cost_key(v: &OrderVariables) -> String {
        format!("Order/{}", v.line_items)
    }
}

/// The rules' view of one order now (see `order_checks.graphql`).
pub enum OrderChecks {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderChecksVariables {
    pub id: OrderId,
    pub line_items: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderChecksResponse {
    pub order: Option<CheckedOrder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedOrder {
    pub id: OrderId,
    pub updated_at: String,
    pub display_financial_status: Option<FinancialStatus>,
    pub risk: Risk,
    pub line_items: Connection<CheckedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedLine {
    pub sku: Option<String>,
    pub quantity: i64,
    pub variant: Option<CheckedVariant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedVariant {
    pub id: ProductVariantId,
    pub inventory_quantity: Option<i64>,
    pub inventory_item: TrackedItem,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TrackedItem {
    pub tracked: bool,
}

impl Operation for OrderChecks {
    const NAME: &'static str = "OrderChecks";
    const DOCUMENT: &'static str = include_str!("order_checks.graphql");
    type Variables = OrderChecksVariables;
    type Response = OrderChecksResponse;

    fn estimate(v: &OrderChecksVariables) -> f64 {
        3.0 + 3.0 * f64::from(v.line_items)
    }

    fn cost_key(v: &OrderChecksVariables) -> String {
        format!("OrderChecks/{}", v.line_items)
    }
}

/// Ids and `updatedAt` of orders changed since a time (see `order_versions.graphql`).
pub enum OrderVersions {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderVersionsVariables {
    pub first: u32,
    pub after: Option<String>,
    pub query: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderVersionsResponse {
    pub orders: Connection<OrderVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderVersion {
    pub id: OrderId,
    pub updated_at: String,
}

impl Operation for OrderVersions {
    const NAME: &'static str = "OrderVersions";
    const DOCUMENT: &'static str = include_str!("order_versions.graphql");
    type Variables = OrderVersionsVariables;
    type Response = OrderVersionsResponse;

    fn estimate(v: &OrderVersionsVariables) -> f64 {
        2.0 + f64::from(v.first)
    }

    fn cost_key(v: &OrderVersionsVariables) -> String {
        format!("OrderVersions/{}", v.first)
    }
}

/// The search filter for orders updated at or after `since` (an RFC 3339 timestamp, e.g. an
/// order's `updatedAt`). Refuses anything else rather than splice it into a query.
pub fn updated_since_query(since: &str) -> Result<String, ShopifyError> {
    let plausible = since.len() >= 10
        && since.len() <= 40
        && since.starts_with(|c: char| c.is_ascii_digit())
        && since
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | '.' | '+' | 'T' | 'Z'));
    if !plausible {
        return Err(ShopifyError::InvalidInput(format!(
            "{since:?} is not an RFC 3339 timestamp"
        )));
    }
    Ok(format!("updated_at:>'{since}'"))
}

/// An order as the flows see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyOrder {
    pub id: OrderId,
    /// `#1001`
    pub name: String,
    pub email: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    pub cancelled_at: Option<String>,
    pub cancel_reason: Option<String>,
    pub closed: bool,
    pub test: bool,
    pub currency_code: String,
    pub total_price_set: MoneyBag,
    pub subtotal_price_set: Option<MoneyBag>,
    pub total_tax_set: Option<MoneyBag>,
    pub total_shipping_price_set: MoneyBag,
    pub total_discounts_set: Option<MoneyBag>,
    pub display_financial_status: Option<FinancialStatus>,
    pub display_fulfillment_status: FulfillmentStatus,
    #[serde(deserialize_with = "nullable_vec")]
    pub tags: Vec<String>,
    pub note: Option<String>,
    pub customer: Option<Customer>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub line_items: Connection<LineItem>,
    pub risk: Risk,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: CustomerId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub default_email_address: Option<EmailAddress>,
}

impl Customer {
    pub fn email(&self) -> Option<&str> {
        self.default_email_address
            .as_ref()
            .map(|e| e.email_address.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddress {
    pub email_address: String,
}

/// `MailingAddress`, the fields a warehouse or an address check needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
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
    /// ISO 3166-1 alpha-2.
    pub country_code_v2: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub id: LineItemId,
    pub sku: Option<String>,
    pub quantity: i64,
    pub title: String,
    pub variant: Option<Ref<ProductVariantId>>,
    pub original_unit_price_set: MoneyBag,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    pub recommendation: RiskRecommendation,
    #[serde(deserialize_with = "nullable_vec")]
    pub assessments: Vec<RiskAssessment>,
}

impl Risk {
    /// The highest level any provider assessed.
    pub fn highest(&self) -> Option<RiskLevel> {
        self.assessments
            .iter()
            .map(|a| a.risk_level)
            .max_by_key(|l| l.rank())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskAssessment {
    pub risk_level: RiskLevel,
}

/// `RiskAssessmentResult`. Values added in later API versions read as `Other` rather than
/// failing the whole page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiskLevel {
    None,
    Pending,
    Low,
    Medium,
    High,
    #[serde(other)]
    Other,
}

impl RiskLevel {
    /// Severity, harmless to high; an unknown level ranks above low, below medium.
    pub fn rank(self) -> u8 {
        match self {
            RiskLevel::None => 0,
            RiskLevel::Pending => 1,
            RiskLevel::Low => 2,
            RiskLevel::Other => 3,
            RiskLevel::Medium => 4,
            RiskLevel::High => 5,
        }
    }
}

/// `OrderRiskRecommendationResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiskRecommendation {
    Accept,
    Investigate,
    Cancel,
    None,
    #[serde(other)]
    Other,
}

/// `OrderDisplayFinancialStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FinancialStatus {
    Authorized,
    Expired,
    Paid,
    PartiallyPaid,
    PartiallyRefunded,
    Pending,
    Refunded,
    Voided,
    #[serde(other)]
    Other,
}

/// `OrderDisplayFulfillmentStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FulfillmentStatus {
    Fulfilled,
    FulfillmentNotRequired,
    InProgress,
    OnHold,
    Open,
    PartiallyFulfilled,
    PendingFulfillment,
    RequestDeclined,
    Restocked,
    Scheduled,
    Unfulfilled,
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const ORDER_JSON: &str = r##"{
        "id": "gid://shopify/Order/1001", "name": "#1001", "email": "a@example.com",
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z",
        "cancelledAt": null, "cancelReason": null, "closed": false, "test": true,
        "currencyCode": "EUR",
        "totalPriceSet": {"shopMoney": {"amount": "12.50", "currencyCode": "EUR"},
                          "presentmentMoney": {"amount": "12.50", "currencyCode": "EUR"}},
        "subtotalPriceSet": null, "totalTaxSet": null,
        "totalShippingPriceSet": {"shopMoney": {"amount": "0.0", "currencyCode": "EUR"},
                                  "presentmentMoney": {"amount": "0.0", "currencyCode": "EUR"}},
        "displayFinancialStatus": "PAID", "displayFulfillmentStatus": "UNFULFILLED",
        "tags": ["vip"], "note": null,
        "customer": {"id": "gid://shopify/Customer/5", "firstName": "A", "lastName": "B",
                     "defaultEmailAddress": {"emailAddress": "a@example.com"}},
        "shippingAddress": {"address1": "Main 1", "city": "Berlin", "countryCodeV2": "DE"},
        "billingAddress": null,
        "lineItems": {"nodes": [{"id": "gid://shopify/LineItem/9", "sku": "SKU-1", "quantity": 2,
                       "title": "Thing", "variant": {"id": "gid://shopify/ProductVariant/3"},
                       "originalUnitPriceSet": {"shopMoney": {"amount": "6.25", "currencyCode": "EUR"}}}],
                      "pageInfo": {"hasNextPage": false, "endCursor": null}},
        "risk": {"recommendation": "ACCEPT", "assessments": [{"riskLevel": "LOW"}, {"riskLevel": "SOMETHING_NEW"}]}
    }"##;

    #[test]
    fn parses_an_order() {
        let order: ShopifyOrder = serde_json::from_str(ORDER_JSON).unwrap();
        assert_eq!(order.id, OrderId::new(1001));
        assert_eq!(
            order.customer.as_ref().and_then(Customer::email),
            Some("a@example.com")
        );
        assert_eq!(order.line_items.nodes[0].quantity, 2);
        assert_eq!(order.display_financial_status, Some(FinancialStatus::Paid));
        assert_eq!(order.risk.highest(), Some(RiskLevel::Other));
        assert_eq!(
            order.shipping_address.unwrap().country_code_v2.as_deref(),
            Some("DE")
        );
    }

    #[test]
    fn builds_the_updated_since_filter() {
        assert_eq!(
            updated_since_query("2026-01-02T03:04:05Z").unwrap(),
            "updated_at:>'2026-01-02T03:04:05Z'"
        );
        assert!(updated_since_query("2026-01-02' OR status:any").is_err());
        assert!(updated_since_query("").is_err());
    }
}
