//! The shop's resources as schema-shaped value trees, and the [`Resolve`] implementation that
//! expands references and argument-dependent fields.
//!
//! Each `*_tree` function renders one resource with the schema's field names. Relations to
//! other resources are `__ref` markers and lists are `__connection` markers (see
//! `project.rs`), so a tree is small and finite; the projector follows only what the client
//! selected. Money follows Shopify: `MoneyV2.amount` is a `Decimal` ("75.0"), the `Money`
//! scalar has two decimals ("75.00"); `UnsignedInt64` is a string.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::gid::{self, gid, inventory_level_gid};
use crate::project::{Resolve, connection, reference};
use crate::shop::{
    Address, Customer, Id, InventoryAdjustmentGroup, InventoryItem, InventoryLevel, LineItem,
    Location, MarketingOptInLevel, MarketingState, Metafield, Money, Order, QUANTITY_NAMES, Shop,
    WebhookSubscription, reason_definition,
};
use crate::time::Timestamp;

pub use super::fulfillment_trees::{
    fulfillment_event_tree, fulfillment_hold_tree, fulfillment_order_tree, fulfillment_tree,
};
pub use super::product_trees::{
    collection_tree, media_tree, product_tree, publication_tree, variant_tree,
};
pub use super::return_trees::{
    reason_definition_tree, refund_tree, return_tree, reverse_fulfillment_order_by_id,
    transaction_tree,
};

/// An object tree: `tree!("Order"; "id" => …, "name" => …)`. Each value is any serializable
/// expression (JSON literals go through `json!`). One insert per field, so large types do not run into
/// `json!`'s recursion limit.
macro_rules! tree {
    ($typename:expr; $($key:literal => $value:expr),* $(,)?) => {{
        let mut map = serde_json::Map::new();
        map.insert("__typename".to_string(), serde_json::Value::from($typename));
        $( map.insert($key.to_string(), serde_json::json!($value)); )*
        serde_json::Value::Object(map)
    }};
}
pub(super) use tree;

/// The API version this simulator speaks.
pub const API_VERSION: &str = crate::schema::VERSION;

pub(super) fn ts(t: Timestamp) -> Value {
    Value::String(t.to_rfc3339())
}

pub(super) fn opt_ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, ts)
}

pub(super) fn legacy(id: Id) -> Value {
    Value::String(id.to_string())
}

pub(super) fn ref_to(kind: &str, id: Id) -> Value {
    reference(gid(kind, id))
}

pub fn money_v2(m: Money, currency: &str) -> Value {
    json!({"__typename": "MoneyV2", "amount": m.to_decimal(), "currencyCode": currency})
}

pub fn money_bag(m: Money, currency: &str) -> Value {
    let money = money_v2(m, currency);
    json!({"__typename": "MoneyBag", "shopMoney": money.clone(), "presentmentMoney": money})
}

fn address_tree(a: &Address, id: String) -> Value {
    let formatted: Vec<String> = [
        a.address1.clone(),
        a.address2.clone(),
        Some(
            [a.city.clone(), a.province_code.clone(), a.zip.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        a.country.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|l| !l.is_empty())
    .collect();
    tree!("MailingAddress";
        "id" => id,
        "firstName" => a.first_name,
        "lastName" => a.last_name,
        "name" => a.name(),
        "company" => a.company,
        "address1" => a.address1,
        "address2" => a.address2,
        "city" => a.city,
        "province" => a.province,
        "provinceCode" => a.province_code,
        "zip" => a.zip,
        "country" => a.country,
        "countryCode" => a.country_code,
        "countryCodeV2" => a.country_code,
        "phone" => a.phone,
        "latitude" => a.latitude,
        "longitude" => a.longitude,
        "coordinatesValidated" => false,
        "formatted" => formatted,
        "formattedArea" => ([a.city.clone(), a.province_code.clone(), a.country.clone()]
            .into_iter().flatten().collect::<Vec<_>>().join(", ")),
        "timeZone" => Value::Null,
        "validationResultSummary" => Value::Null,
    )
}

fn address_id(owner: Id, kind: &str) -> String {
    format!("gid://shopify/MailingAddress/{owner}?model_name={kind}")
}

pub fn line_item_tree(line: &LineItem, currency: &str) -> Value {
    let bag = |m: Money| money_bag(m, currency);
    let total = line.price * line.quantity;
    let unfulfilled = line.price * line.fulfillable_quantity;
    tree!("LineItem";
        "id" => gid("LineItem", line.id),
        "name" => line.name(),
        "title" => line.title,
        "variantTitle" => line.variant_title,
        "vendor" => line.vendor,
        "sku" => line.sku,
        "quantity" => line.quantity,
        "currentQuantity" => line.refundable(),
        "unfulfilledQuantity" => line.fulfillable_quantity,
        "fulfillableQuantity" => line.fulfillable_quantity,
        "refundableQuantity" => line.refundable(),
        "nonFulfillableQuantity" => line.removed_quantity,
        "fulfillmentStatus" => if line.fulfillable_quantity == 0 { "fulfilled" } else { "unfulfilled" },
        "requiresShipping" => line.requires_shipping,
        "taxable" => line.taxable,
        "isGiftCard" => line.gift_card,
        "restockable" => true,
        "merchantEditable" => true,
        "customAttributes" => json!([]),
        "discountAllocations" => json!([]),
        "duties" => json!([]),
        "taxLines" => json!([]),
        "originalUnitPrice" => line.price.to_fixed2(),
        "originalUnitPriceSet" => bag(line.price),
        "discountedUnitPriceSet" => bag(line.price),
        "discountedUnitPriceAfterAllDiscountsSet" => bag(line.price),
        "originalTotal" => total.to_fixed2(),
        "originalTotalSet" => bag(total),
        "discountedTotal" => (total - line.total_discount).to_fixed2(),
        "discountedTotalSet" => bag(total - line.total_discount),
        "priceAfterAllDiscountsBeforeTaxesSet" => bag(total - line.total_discount),
        "totalDiscount" => line.total_discount.to_fixed2(),
        "totalDiscountSet" => bag(line.total_discount),
        "unfulfilledOriginalTotalSet" => bag(unfulfilled),
        "unfulfilledDiscountedTotalSet" => bag(unfulfilled),
        "weight" => json!({"__typename": "Weight", "unit": "GRAMS", "value": f64::from(line.grams)}),
        "variant" => line.variant_id.map_or(Value::Null, |v| ref_to("ProductVariant", v)),
        "product" => line.product_id.map_or(Value::Null, |p| ref_to("Product", p)),
        "image" => Value::Null,
    )
}

pub fn order_tree(order: &Order) -> Value {
    let c = order.currency.as_str();
    let bag = |m: Money| money_bag(m, c);
    let paid = order.total() - order.total_outstanding();
    let risk = tree!("OrderRiskSummary";
        "recommendation" => order.risk.recommendation.as_graphql(),
        "assessments" => order.risk.assessments.iter().map(|a| json!({
            "__typename": "OrderRiskAssessment",
            "riskLevel": a.level.as_graphql(),
            "provider": Value::Null,
            "facts": a.facts.iter().map(|f| json!({
                "__typename": "RiskFact",
                "description": f.description,
                "sentiment": f.sentiment.as_graphql(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    );
    let shipping_lines: Vec<Value> = order
        .shipping_lines
        .iter()
        .map(|s| {
            tree!("ShippingLine";
                "id" => gid("ShippingLine", s.id),
                "title" => s.title,
                "code" => s.code,
                "source" => s.source,
                "carrierIdentifier" => Value::Null,
                "deliveryCategory" => Value::Null,
                "phone" => Value::Null,
                "shippingRateHandle" => Value::Null,
                "custom" => false,
                "isRemoved" => false,
                "price" => s.price.to_fixed2(),
                "originalPriceSet" => bag(s.price),
                "discountedPriceSet" => bag(s.price),
                "currentDiscountedPriceSet" => bag(s.price),
                "discountAllocations" => json!([]),
                "taxLines" => json!([]),
            )
        })
        .collect();
    tree!("Order";
        "id" => gid("Order", order.id),
        "legacyResourceId" => legacy(order.id),
        "name" => order.name,
        "number" => order.number,
        "confirmationNumber" => order.confirmation_number,
        "email" => order.email,
        "phone" => order.phone,
        "createdAt" => ts(order.created_at),
        "updatedAt" => ts(order.updated_at),
        "processedAt" => ts(order.processed_at),
        "cancelledAt" => opt_ts(order.cancelled_at),
        "cancelReason" => order.cancel_reason.map(|r| r.as_graphql()),
        "closedAt" => opt_ts(order.closed_at),
        "closed" => order.closed_at.is_some(),
        "confirmed" => order.confirmed,
        "test" => order.test,
        "currencyCode" => order.currency,
        "presentmentCurrencyCode" => order.presentment_currency,
        "displayFinancialStatus" => order.financial_status.as_graphql(),
        "displayFulfillmentStatus" => order.fulfillment_status.as_graphql(),
        "fullyPaid" => order.total_outstanding() == Money::ZERO && paid > Money::ZERO,
        "unpaid" => paid == Money::ZERO,
        "subtotalPriceSet" => bag(order.subtotal()),
        "currentSubtotalPriceSet" => bag(order.subtotal()),
        "totalPriceSet" => bag(order.total()),
        "currentTotalPriceSet" => bag(order.current_total()),
        "totalTaxSet" => bag(order.total_tax),
        "currentTotalTaxSet" => bag(order.total_tax),
        "totalShippingPriceSet" => bag(order.total_shipping),
        "totalDiscountsSet" => bag(order.total_discounts),
        "totalOutstandingSet" => bag(order.total_outstanding()),
        "totalReceivedSet" => bag(paid),
        "totalRefundedSet" => bag(order.total_refunded),
        "netPaymentSet" => bag(paid - order.total_refunded),
        "taxesIncluded" => order.taxes_included,
        "taxExempt" => order.tax_exempt,
        "totalWeight" => order.total_weight_grams().to_string(),
        "sourceName" => order.source_name,
        "paymentGatewayNames" => order.payment_gateway_names,
        "customerLocale" => order.customer_locale,
        "discountCodes" => order.discount_codes.iter().map(|d| d.code.clone()).collect::<Vec<_>>(),
        "tags" => order.tags,
        "note" => order.note,
        "poNumber" => order.po_number,
        "statusPageUrl" => format!("https://demo.myshopify.com/{}/orders/{}/authenticate", order.id, order.token),
        "shippingAddress" => order.shipping_address.as_ref().map_or(Value::Null, |a| address_tree(a, address_id(order.id, "Order&type=shipping"))),
        "billingAddress" => order.billing_address.as_ref().map_or(Value::Null, |a| address_tree(a, address_id(order.id, "Order&type=billing"))),
        "customer" => order.customer_id.map_or(Value::Null, |id| ref_to("Customer", id)),
        "lineItems" => connection(order.line_items.iter().map(|l| line_item_tree(l, c)).collect()),
        "shippingLines" => connection(shipping_lines),
        "risk" => risk,
        "fulfillments" => order.fulfillment_ids.iter().map(|&id| ref_to("Fulfillment", id)).collect::<Vec<_>>(),
        "returns" => connection(order.return_ids.iter().map(|&id| ref_to("Return", id)).collect()),
        "refunds" => order.refund_ids.iter().map(|&id| ref_to("Refund", id)).collect::<Vec<_>>(),
    )
}

pub fn customer_tree(c: &Customer) -> Value {
    let display = [c.first_name.clone(), c.last_name.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let display = if display.is_empty() {
        c.email.clone().unwrap_or_default()
    } else {
        display
    };
    let address = c
        .default_address
        .as_ref()
        .map(|a| address_tree(a, address_id(c.id, "CustomerAddress")));
    tree!("Customer";
        "id" => gid("Customer", c.id),
        "legacyResourceId" => legacy(c.id),
        "email" => c.email,
        "firstName" => c.first_name,
        "lastName" => c.last_name,
        "displayName" => display,
        "phone" => c.phone,
        "tags" => c.tags,
        "taxExempt" => c.tax_exempt,
        "taxExemptions" => c.tax_exemptions,
        "note" => c.note,
        "state" => c.state.as_graphql(),
        "verifiedEmail" => c.verified_email,
        "validEmailAddress" => c.email.is_some(),
        "locale" => c.locale,
        "createdAt" => ts(c.created_at),
        "updatedAt" => ts(c.updated_at),
        "dataSaleOptOut" => false,
        "multipassIdentifier" => Value::Null,
        "defaultAddress" => address.clone().unwrap_or(Value::Null),
        "addresses" => address.clone().into_iter().collect::<Vec<_>>(),
        "addressesV2" => connection(address.into_iter().collect()),
        "emailMarketingConsent" => c.email.as_ref().map_or(Value::Null, |_| json!({
            "__typename": "CustomerEmailMarketingConsentState",
            "marketingState": c.email_consent.state.as_graphql(),
            "marketingOptInLevel": c.email_consent.opt_in_level.map(|l| l.as_graphql()),
            "consentUpdatedAt": opt_ts(c.email_consent.updated_at),
            "sourceLocation": Value::Null,
        })),
        "smsMarketingConsent" => c.phone.as_ref().map_or(Value::Null, |_| sms_consent_state(c)),
        "defaultEmailAddress" => c.email.as_ref().map_or(Value::Null, |e| json!({
            "__typename": "CustomerEmailAddress",
            "emailAddress": e,
            "marketingState": email_address_state(c.email_consent.state),
            "marketingOptInLevel": c.email_consent.opt_in_level.map(|l| l.as_graphql()),
            "marketingUpdatedAt": opt_ts(c.email_consent.updated_at),
            "marketingUnsubscribeUrl": format!("https://demo.myshopify.com/unsubscribe?c={}", c.id),
            "openTrackingLevel": "UNKNOWN",
            "openTrackingUrl": format!("https://demo.myshopify.com/open-tracking?c={}", c.id),
            "sourceLocation": Value::Null,
            "validFormat": e.contains('@'),
        })),
        "defaultPhoneNumber" => c.phone.as_ref().map_or(Value::Null, |p| json!({
            "__typename": "CustomerPhoneNumber",
            "phoneNumber": p,
            "marketingState": sms_state(c.sms_consent.state),
            "marketingOptInLevel": c.sms_consent.opt_in_level.map(|l| l.as_graphql()),
            "marketingUpdatedAt": opt_ts(c.sms_consent.updated_at),
            "marketingCollectedFrom": c.sms_consent.collected_from.map(|f| f.as_graphql()),
            "sourceLocation": Value::Null,
            "smsMarketingConsent": {
                "__typename": "CustomerSmsMarketingConsent",
                "state": consent_state(c.sms_consent.state),
                "optInLevel": c.sms_consent.opt_in_level.map(|l| l.as_graphql()),
                "updatedAt": opt_ts(c.sms_consent.updated_at),
                "collectedFrom": c.sms_consent.collected_from.map(|f| f.as_graphql()),
                "sourceLocation": Value::Null,
            },
        })),
    )
}

/// `Customer.smsMarketingConsent` (`CustomerSmsMarketingConsentState`).
fn sms_consent_state(c: &Customer) -> Value {
    json!({
        "__typename": "CustomerSmsMarketingConsentState",
        "marketingState": sms_state(c.sms_consent.state),
        // Non-null in the schema: a customer who never chose has an unknown level.
        "marketingOptInLevel": c.sms_consent.opt_in_level.unwrap_or(MarketingOptInLevel::Unknown).as_graphql(),
        "consentUpdatedAt": opt_ts(c.sms_consent.updated_at),
        "consentCollectedFrom": c.sms_consent.collected_from.map(|f| f.as_graphql()),
        "sourceLocation": Value::Null,
    })
}

/// `CustomerEmailAddressMarketingState` has no `REDACTED`: a redacted address is not subscribed.
fn email_address_state(state: MarketingState) -> &'static str {
    match state {
        MarketingState::Redacted => "NOT_SUBSCRIBED",
        s => s.as_graphql(),
    }
}

/// `CustomerSmsMarketingState` has no `INVALID`.
fn sms_state(state: MarketingState) -> &'static str {
    match state {
        MarketingState::Invalid => "NOT_SUBSCRIBED",
        s => s.as_graphql(),
    }
}

/// `CustomerMarketingConsentState` (of `CustomerPhoneNumber.smsMarketingConsent`) calls
/// "not subscribed" `NEVER_SUBSCRIBED`.
fn consent_state(state: MarketingState) -> &'static str {
    match state {
        MarketingState::NotSubscribed | MarketingState::Invalid => "NEVER_SUBSCRIBED",
        s => s.as_graphql(),
    }
}

/// The namespace of a metafield written or read without one: the app's reserved namespace.
pub const APP_NAMESPACE: &str = "$app";

/// A metafield of the customer `owner`.
pub fn metafield_tree(owner: Id, namespace: &str, key: &str, m: &Metafield) -> Value {
    owned_metafield_tree("Customer", owner, namespace, key, m)
}

/// A metafield of `owner`, a resource of type `owner_kind` (`Customer`, `Product`).
pub fn owned_metafield_tree(
    owner_kind: &str,
    owner: Id,
    namespace: &str,
    key: &str,
    m: &Metafield,
) -> Value {
    let json_value = match m.r#type.as_str() {
        "boolean" => Value::Bool(m.value == "true"),
        "number_integer" => m
            .value
            .parse::<i64>()
            .map_or_else(|_| Value::String(m.value.clone()), Value::from),
        "number_decimal" => m
            .value
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(m.value.clone()), Value::Number),
        t if t == "json" || t.starts_with("list.") => {
            serde_json::from_str(&m.value).unwrap_or_else(|_| Value::String(m.value.clone()))
        }
        _ => Value::String(m.value.clone()),
    };
    tree!("Metafield";
        "id" => gid("Metafield", m.id),
        "legacyResourceId" => legacy(m.id),
        "namespace" => namespace,
        "key" => key,
        "type" => m.r#type,
        "value" => m.value,
        "jsonValue" => json_value,
        "compareDigest" => m.digest(),
        "createdAt" => ts(m.created_at),
        "updatedAt" => ts(m.updated_at),
        "description" => Value::Null,
        "definition" => Value::Null,
        "reference" => Value::Null,
        "ownerType" => owner_kind.to_ascii_uppercase(),
        "owner" => ref_to(owner_kind, owner),
        "sizeInBytes" => m.value.len(),
    )
}

pub fn inventory_item_tree(shop: &Shop, item: &InventoryItem) -> Value {
    let levels: Vec<Value> = shop
        .inventory_levels
        .range((item.id, 0)..=(item.id, Id::MAX))
        .map(|(_, l)| inventory_level_tree(l))
        .collect();
    tree!("InventoryItem";
        "id" => gid("InventoryItem", item.id),
        "legacyResourceId" => legacy(item.id),
        "sku" => item.sku,
        "tracked" => item.tracked,
        "requiresShipping" => item.requires_shipping,
        "createdAt" => ts(item.created_at),
        "updatedAt" => ts(item.updated_at),
        "unitCost" => item.cost.map_or(Value::Null, |m| money_v2(m, &shop.currency)),
        "countryCodeOfOrigin" => Value::Null,
        "provinceCodeOfOrigin" => Value::Null,
        "harmonizedSystemCode" => Value::Null,
        "duplicateSkuCount" => 0,
        "inventoryHistoryUrl" => Value::Null,
        "locationsCount" => json!({"__typename": "Count", "count": levels.len(), "precision": "EXACT"}),
        "measurement" => json!({"__typename": "InventoryItemMeasurement",
            "id": gid("InventoryItemMeasurement", item.id),
            "weight": {"__typename": "Weight", "unit": item.weight.unit.as_graphql(), "value": item.weight.value}}),
        "variant" => ref_to("ProductVariant", item.variant_id),
        "variants" => connection(vec![ref_to("ProductVariant", item.variant_id)]),
        "inventoryLevels" => connection(levels),
    )
}

pub fn inventory_level_tree(l: &InventoryLevel) -> Value {
    tree!("InventoryLevel";
        "id" => inventory_level_gid(l.id, l.item_id),
        "isActive" => true,
        "canDeactivate" => l.on_hand() == 0 && l.committed == 0,
        "deactivationAlert" => Value::Null,
        "createdAt" => ts(l.created_at),
        "updatedAt" => ts(l.updated_at),
        "item" => ref_to("InventoryItem", l.item_id),
        "location" => ref_to("Location", l.location_id),
    )
}

fn quantity_tree(l: &InventoryLevel, name: &str, quantity: i64) -> Value {
    tree!("InventoryQuantity";
        "id" => format!("gid://shopify/InventoryQuantity/{}?inventory_item_id={}&name={name}", l.id, l.item_id),
        "name" => name,
        "quantity" => quantity,
        "updatedAt" => ts(l.updated_at),
    )
}

pub fn location_tree(l: &Location) -> Value {
    tree!("Location";
        "id" => gid("Location", l.id),
        "legacyResourceId" => legacy(l.id),
        "name" => l.name,
        "isActive" => l.active,
        "activatable" => !l.active,
        "deactivatable" => l.active,
        "deletable" => !l.active,
        "deactivatedAt" => Value::Null,
        "fulfillsOnlineOrders" => l.fulfills_online_orders,
        "hasActiveInventory" => true,
        "hasUnfulfilledOrders" => false,
        "shipsInventory" => true,
        "isFulfillmentService" => false,
        "isPrimary" => false,
        "addressVerified" => true,
        "createdAt" => ts(l.created_at),
        "updatedAt" => ts(l.updated_at),
        "address" => json!({
            "__typename": "LocationAddress",
            "address1": l.address1, "address2": Value::Null, "city": l.city,
            "province": Value::Null, "provinceCode": l.province_code, "zip": l.zip,
            "country": Value::Null, "countryCode": l.country_code, "phone": Value::Null,
            "latitude": Value::Null, "longitude": Value::Null,
            "formatted": [l.address1.clone(), format!("{} {} {}", l.city, l.province_code, l.zip), l.country_code.clone()],
        }),
    )
}

pub fn webhook_subscription_tree(s: &WebhookSubscription) -> Value {
    let endpoint = if let Some(rest) = s.uri.strip_prefix("pubsub://") {
        let (project, topic) = rest.split_once(':').unwrap_or((rest, ""));
        json!({"__typename": "WebhookPubSubEndpoint", "pubSubProject": project, "pubSubTopic": topic})
    } else if s.uri.starts_with("arn:") {
        json!({"__typename": "WebhookEventBridgeEndpoint", "arn": s.uri})
    } else {
        json!({"__typename": "WebhookHttpEndpoint", "callbackUrl": s.uri})
    };
    tree!("WebhookSubscription";
        "id" => gid("WebhookSubscription", s.id),
        "legacyResourceId" => legacy(s.id),
        "topic" => s.topic,
        "uri" => s.uri,
        "callbackUrl" => s.uri,
        "endpoint" => endpoint,
        "format" => s.format,
        "filter" => s.filter,
        "includeFields" => s.include_fields,
        "metafieldNamespaces" => json!([]),
        "metafields" => json!([]),
        "name" => s.name,
        "createdAt" => ts(s.created_at),
        "updatedAt" => ts(s.updated_at),
        "apiVersion" => json!({"__typename": "ApiVersion", "handle": API_VERSION, "displayName": API_VERSION, "supported": true}),
    )
}

pub fn adjustment_group_tree(g: &InventoryAdjustmentGroup) -> Value {
    tree!("InventoryAdjustmentGroup";
        "id" => gid("InventoryAdjustmentGroup", g.id),
        "createdAt" => ts(g.created_at),
        "reason" => g.reason,
        "referenceDocumentUri" => g.reference_document_uri,
        "app" => Value::Null,
        "staffMember" => Value::Null,
        "changes" => g.changes.iter().map(|c| json!({
            "__typename": "InventoryChange",
            "name": c.name,
            "delta": c.delta,
            "quantityAfterChange": c.quantity_after,
            "ledgerDocumentUri": Value::Null,
            "item": ref_to("InventoryItem", c.item_id),
            "location": ref_to("Location", c.location_id),
        })).collect::<Vec<_>>(),
    )
}

/// The simulated shop's offset from UTC: New York in winter (the simulator keeps no DST).
pub const SHOP_OFFSET_MINUTES: i64 = -300;

pub fn shop_tree(shop: &Shop) -> Value {
    tree!("Shop";
        "id" => gid("Shop", 1),
        "name" => shop.name,
        "myshopifyDomain" => shop.domain,
        "email" => shop.email,
        "contactEmail" => shop.email,
        "currencyCode" => shop.currency,
        "ianaTimezone" => "America/New_York",
        "timezoneAbbreviation" => "EST",
        "timezoneOffset" => "-0500",
        "timezoneOffsetMinutes" => SHOP_OFFSET_MINUTES,
        "weightUnit" => "GRAMS",
        "taxesIncluded" => false,
        "setupRequired" => false,
        "checkoutApiSupported" => true,
        "plan" => json!({"__typename": "ShopPlan", "displayName": "Basic", "publicDisplayName": "Basic",
            "partnerDevelopment": false, "shopifyPlus": false}),
        "primaryDomain" => json!({"__typename": "Domain", "id": gid("Domain", 1), "host": shop.domain,
            "url": format!("https://{}", shop.domain), "sslEnabled": true}),
    )
}

type Metafields = BTreeMap<(String, String), Metafield>;

/// `metafield(namespace:, key:)` of an owner; the namespace defaults to the app's.
pub(super) fn metafield_field(
    kind: &str,
    owner: Id,
    metafields: Option<&Metafields>,
    args: &Map<String, Value>,
) -> Value {
    let namespace = args
        .get("namespace")
        .and_then(|v| v.as_str())
        .unwrap_or(APP_NAMESPACE);
    let key = args.get("key").and_then(|v| v.as_str()).unwrap_or_default();
    metafields
        .and_then(|m| m.get(&(namespace.to_string(), key.to_string())))
        .map_or(Value::Null, |m| {
            owned_metafield_tree(kind, owner, namespace, key, m)
        })
}

/// `metafields(namespace:, keys:)` of an owner, as a connection.
pub(super) fn metafields_field(
    kind: &str,
    owner: Id,
    metafields: Option<&Metafields>,
    args: &Map<String, Value>,
) -> Value {
    let namespace = args.get("namespace").and_then(|v| v.as_str());
    // `keys` are `namespace.key`; a bare key is taken in `namespace` when given.
    let keys: Option<Vec<(Option<String>, String)>> =
        args.get("keys").and_then(|v| v.as_array()).map(|ks| {
            ks.iter()
                .filter_map(|k| k.as_str())
                .map(|k| match k.split_once('.') {
                    Some((ns, key)) => (Some(ns.to_string()), key.to_string()),
                    None => (None, k.to_string()),
                })
                .collect()
        });
    let nodes = metafields
        .map(|m| {
            m.iter()
                .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
                .filter(|((ns, key), _)| {
                    keys.as_ref().is_none_or(|ks| {
                        ks.iter().any(|(kns, k)| {
                            k == key && kns.as_deref().or(namespace).is_none_or(|n| n == ns)
                        })
                    })
                })
                .map(|((ns, key), m)| owned_metafield_tree(kind, owner, ns, key, m))
                .collect()
        })
        .unwrap_or_default();
    connection(nodes)
}

/// Resolves references and argument-dependent fields against the shop.
pub struct ShopResolver<'a> {
    pub shop: &'a Shop,
}

impl ShopResolver<'_> {
    /// The tree for a GID (any supported type), or `None`.
    pub fn node(&self, id: &str) -> Option<Value> {
        let shop = self.shop;
        let g = gid::parse(id)?;
        match g.kind {
            "Order" => shop.orders.get(&g.id).map(order_tree),
            "Customer" => shop.customers.get(&g.id).map(customer_tree),
            "Product" => shop.products.get(&g.id).map(|p| product_tree(shop, p)),
            "ProductVariant" => shop.variants.get(&g.id).map(|v| variant_tree(shop, v)),
            "InventoryItem" => shop
                .inventory_items
                .get(&g.id)
                .map(|i| inventory_item_tree(shop, i)),
            "InventoryLevel" => shop.inventory_level_by_id(g.id).map(inventory_level_tree),
            "Location" => shop.locations.get(&g.id).map(location_tree),
            "Fulfillment" => shop
                .fulfillments
                .get(&g.id)
                .map(|f| fulfillment_tree(shop, f)),
            "FulfillmentOrder" => shop
                .fulfillment_orders
                .get(&g.id)
                .map(|f| fulfillment_order_tree(shop, f)),
            "Return" => shop.returns.get(&g.id).map(|r| return_tree(shop, r)),
            "Refund" => shop.refunds.get(&g.id).map(|r| refund_tree(shop, r)),
            "OrderTransaction" => shop
                .transactions
                .get(&g.id)
                .map(|t| transaction_tree(shop, t)),
            "ReverseFulfillmentOrder" => reverse_fulfillment_order_by_id(shop, g.id),
            "ReturnReasonDefinition" => reason_definition(g.id).map(reason_definition_tree),
            "WebhookSubscription" => shop
                .webhook_subscriptions
                .get(&g.id)
                .map(webhook_subscription_tree),
            "InventoryAdjustmentGroup" => {
                shop.adjustment_groups.get(&g.id).map(adjustment_group_tree)
            }
            "Metafield" => shop
                .customers
                .values()
                .find_map(|c| {
                    c.metafields
                        .iter()
                        .find(|(_, m)| m.id == g.id)
                        .map(|((ns, key), m)| metafield_tree(c.id, ns, key, m))
                })
                .or_else(|| {
                    shop.products.values().find_map(|p| {
                        p.metafields
                            .iter()
                            .find(|(_, m)| m.id == g.id)
                            .map(|((ns, key), m)| owned_metafield_tree("Product", p.id, ns, key, m))
                    })
                }),
            "MediaImage" => shop.media.get(&g.id).map(media_tree),
            "Collection" => shop
                .collections
                .get(&g.id)
                .map(|c| collection_tree(shop, c)),
            "Publication" => shop.publications.get(&g.id).map(publication_tree),
            "LineItem" => shop.orders.values().find_map(|o| {
                o.line_items
                    .iter()
                    .find(|l| l.id == g.id)
                    .map(|l| line_item_tree(l, &o.currency))
            }),
            _ => None,
        }
    }

    fn parent_id(parent: &Map<String, Value>, kind: &str) -> Option<Id> {
        gid::parse_kind(parent.get("id")?.as_str()?, kind)
    }
}

impl Resolve for ShopResolver<'_> {
    fn resolve_ref(&self, key: &str) -> Option<Value> {
        self.node(key)
    }

    fn resolve_field(
        &self,
        typename: &str,
        parent: &Map<String, Value>,
        field: &str,
        args: &Map<String, Value>,
    ) -> Option<Result<Value, String>> {
        let shop = self.shop;
        let arg_id = |name: &str, kind: &str| -> Option<Id> {
            gid::parse_kind(args.get(name)?.as_str()?, kind)
        };
        Some(match (typename, field) {
            ("InventoryLevel", "quantities") => {
                let level = Self::parent_id(parent, "InventoryLevel")
                    .and_then(|id| shop.inventory_level_by_id(id));
                let Some(level) = level else {
                    return Some(Ok(Value::Array(Vec::new())));
                };
                let names: Vec<String> = args
                    .get("names")
                    .and_then(|n| n.as_array())
                    .map(|ns| {
                        ns.iter()
                            .filter_map(|n| n.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut out = Vec::new();
                for name in names {
                    match level.quantity(&name) {
                        Some(q) => out.push(quantity_tree(level, &name, q)),
                        None => {
                            return Some(Err(format!(
                                "Invalid quantity name '{name}'. Valid names are: {}",
                                QUANTITY_NAMES.join(", ")
                            )));
                        }
                    }
                }
                Ok(Value::Array(out))
            }
            ("InventoryItem", "inventoryLevel") => {
                let item = Self::parent_id(parent, "InventoryItem")?;
                let level = arg_id("locationId", "Location")
                    .and_then(|loc| shop.inventory_level(item, loc));
                Ok(level.map_or(Value::Null, inventory_level_tree))
            }
            ("Location", "inventoryLevel") => {
                let location = Self::parent_id(parent, "Location")?;
                let level = arg_id("inventoryItemId", "InventoryItem")
                    .and_then(|item| shop.inventory_level(item, location));
                Ok(level.map_or(Value::Null, inventory_level_tree))
            }
            ("Location", "inventoryLevels") => {
                let location = Self::parent_id(parent, "Location")?;
                Ok(connection(
                    shop.inventory_levels
                        .values()
                        .filter(|l| l.location_id == location)
                        .map(inventory_level_tree)
                        .collect(),
                ))
            }
            ("InventoryAdjustmentGroup", "changes") => {
                let wanted = |arg: &str| -> Option<Vec<String>> {
                    args.get(arg)?.as_array().map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                };
                let (names, items, locations) = (
                    wanted("quantityNames"),
                    wanted("inventoryItemIds"),
                    wanted("locationIds"),
                );
                let keep = |change: &Value, key: &str, filter: &Option<Vec<String>>| {
                    filter.as_ref().is_none_or(|f| {
                        let v = if key == "name" {
                            change.get("name").and_then(|n| n.as_str())
                        } else {
                            change
                                .get(key)
                                .and_then(|r| r.get("__ref"))
                                .and_then(|r| r.as_str())
                        };
                        v.is_some_and(|v| f.iter().any(|w| w == v))
                    })
                };
                let changes = parent
                    .get("changes")
                    .and_then(|c| c.as_array())
                    .map(|cs| {
                        cs.iter()
                            .filter(|c| {
                                keep(c, "name", &names)
                                    && keep(c, "item", &items)
                                    && keep(c, "location", &locations)
                            })
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Value::Array(changes))
            }
            ("Customer", "orders") => {
                let customer = Self::parent_id(parent, "Customer")?;
                Ok(connection(
                    shop.orders
                        .values()
                        .filter(|o| o.customer_id == Some(customer))
                        .map(|o| ref_to("Order", o.id))
                        .collect(),
                ))
            }
            ("Customer", "metafield") => {
                let customer = Self::parent_id(parent, "Customer")?;
                let metafields = shop.customers.get(&customer).map(|c| &c.metafields);
                Ok(metafield_field("Customer", customer, metafields, args))
            }
            ("Customer", "metafields") => {
                let customer = Self::parent_id(parent, "Customer")?;
                let metafields = shop.customers.get(&customer).map(|c| &c.metafields);
                Ok(metafields_field("Customer", customer, metafields, args))
            }
            ("Product", _) => {
                let product = Self::parent_id(parent, "Product")?;
                return super::product_trees::resolve_product_field(shop, product, field, args);
            }
            (
                "Order",
                "fulfillmentOrders" | "fulfillments" | "fulfillmentsCount" | "fulfillable",
            ) => {
                let order = Self::parent_id(parent, "Order")?;
                return super::fulfillment_trees::resolve_order_field(shop, order, field, args);
            }
            (
                "Order",
                "returns"
                | "returnStatus"
                | "transactions"
                | "transactionsCount"
                | "totalRefundedShippingSet"
                | "refundable"
                | "suggestedRefund",
            ) => {
                let order = Self::parent_id(parent, "Order")?;
                return super::return_trees::resolve_order_field(shop, order, field, args);
            }
            ("Return", "returnLineItems" | "suggestedFinancialOutcome") => {
                let id = Self::parent_id(parent, "Return")?;
                return super::return_trees::resolve_return_field(shop, id, field, args);
            }
            ("Fulfillment", "events") => {
                let fulfillment = Self::parent_id(parent, "Fulfillment")?;
                return super::fulfillment_trees::resolve_fulfillment_field(
                    shop,
                    fulfillment,
                    field,
                    args,
                );
            }
            ("Customer", "canDelete") => {
                let customer = Self::parent_id(parent, "Customer")?;
                Ok(Value::Bool(
                    !shop
                        .orders
                        .values()
                        .any(|o| o.customer_id == Some(customer)),
                ))
            }
            ("Customer", "numberOfOrders") => {
                let customer = Self::parent_id(parent, "Customer")?;
                let n = shop
                    .orders
                    .values()
                    .filter(|o| o.customer_id == Some(customer))
                    .count();
                Ok(Value::String(n.to_string()))
            }
            ("Customer", "amountSpent") => {
                let customer = Self::parent_id(parent, "Customer")?;
                let spent: Money = shop
                    .orders
                    .values()
                    .filter(|o| o.customer_id == Some(customer) && o.cancelled_at.is_none())
                    .map(|o| o.current_total())
                    .sum();
                Ok(money_v2(spent, &shop.currency))
            }
            ("Customer", "lastOrder") => {
                let customer = Self::parent_id(parent, "Customer")?;
                Ok(shop
                    .orders
                    .values()
                    .filter(|o| o.customer_id == Some(customer))
                    .max_by_key(|o| (o.created_at, o.id))
                    .map_or(Value::Null, |o| ref_to("Order", o.id)))
            }
            _ => return None,
        })
    }
}
