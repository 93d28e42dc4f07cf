//! The GraphQL operations the daemon sends, one named document per `.graphql` file, each with
//! typed variables and a typed response. Every document is validated against Shopify's
//! published schema, deprecated fields included, by `tests/graphql_documents.rs` at the root
//! of the workspace, through [`all_documents`].
//!
//! To add one: write `name.graphql` (one named operation), add an [`Operation`] impl next to
//! its siblings, list it in [`all_documents`], and give [`crate::shopify::ShopifyHandle`] a
//! method if flows call it often.

pub mod bulk;
pub mod customers;
pub mod fulfillments;
pub mod inventory;
pub mod locations;
pub mod orders;
pub mod products;
pub mod returns;
pub mod shop;
pub mod variants;
pub mod webhooks;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

pub use bulk::{
    BulkOperation, BulkOperationRunMutation, BulkOperationRunQuery, StagedUploadsCreate,
};
pub use inventory::{InventoryLevels, InventorySetQuantities, InventorySetQuantitiesLean};
pub use locations::Locations;
pub use orders::{Order, OrderChecks, OrderVersions, Orders};
pub use variants::ProductVariantsBySku;
pub use webhooks::{WebhookSubscriptionCreate, WebhookSubscriptions};

/// A named GraphQL document with its types.
pub trait Operation: Send + Sync + 'static {
    /// The operation's name in the document, sent as `operationName`; also the key under
    /// which the rate limiter learns its cost.
    const NAME: &'static str;
    const DOCUMENT: &'static str;
    type Variables: Serialize + Send + Sync;
    /// The shape of `data`.
    type Response: DeserializeOwned + Send + 'static;

    /// A mutation that must not run twice and takes no idempotency key (`fulfillmentCreate`):
    /// the client does not send it again after a failure that may have come after Shopify ran
    /// it, and the caller looks in Shopify for what it made before trying again.
    const AT_MOST_ONCE: bool = false;

    /// The requested cost to expect before Shopify has priced this operation once.
    fn estimate(variables: &Self::Variables) -> f64;

    /// Which learned cost applies to these variables: operations whose cost grows with page
    /// sizes include the sizes, so that a page of 2 and a page of 250 are learned apart.
    fn cost_key(_variables: &Self::Variables) -> String {
        Self::NAME.to_string()
    }
}

/// Every document the client sends, as `(operation name, text)`.
pub fn all_documents() -> &'static [(&'static str, &'static str)] {
    const fn doc<O: Operation>() -> (&'static str, &'static str) {
        (O::NAME, O::DOCUMENT)
    }
    static DOCUMENTS: [(&str, &str); 50] = [
        doc::<Orders>(),
        doc::<Order>(),
        doc::<OrderChecks>(),
        doc::<OrderVersions>(),
        doc::<ProductVariantsBySku>(),
        doc::<InventoryLevels>(),
        doc::<Locations>(),
        doc::<InventorySetQuantities>(),
        doc::<InventorySetQuantitiesLean>(),
        doc::<WebhookSubscriptions>(),
        doc::<WebhookSubscriptionCreate>(),
        doc::<BulkOperationRunQuery>(),
        doc::<BulkOperation>(),
        doc::<StagedUploadsCreate>(),
        doc::<BulkOperationRunMutation>(),
        doc::<customers::CustomersById>(),
        doc::<customers::CustomerVersions>(),
        doc::<customers::CustomersByEmail>(),
        doc::<customers::CustomerByIdentifier>(),
        doc::<customers::TagsAdd>(),
        doc::<customers::TagsRemove>(),
        doc::<customers::MetafieldsSet>(),
        doc::<customers::CustomerUpdate>(),
        doc::<customers::CustomerReplaceTaxExemptions>(),
        doc::<customers::CustomerEmailConsentUpdate>(),
        doc::<customers::CustomerSet>(),
        doc::<products::ProductSet>(),
        doc::<products::ProductOperation>(),
        doc::<products::ProductByIdentifier>(),
        doc::<products::ProductWrittenById>(),
        doc::<products::ProductsByHandle>(),
        doc::<products::ProductVariantIds>(),
        doc::<products::ProductsById>(),
        doc::<products::ProductVersions>(),
        doc::<fulfillments::OrderFulfillmentOrders>(),
        doc::<fulfillments::FulfillmentOrderFulfillments>(),
        doc::<fulfillments::OrdersByName>(),
        doc::<fulfillments::FulfillmentCreate>(),
        doc::<fulfillments::FulfillmentTrackingInfoUpdate>(),
        doc::<fulfillments::FulfillmentEventCreate>(),
        doc::<fulfillments::FulfillmentEvents>(),
        doc::<returns::ReturnRead>(),
        doc::<returns::ReturnSuggestedOutcome>(),
        doc::<returns::ReturnApproveRequest>(),
        doc::<returns::ReturnDeclineRequest>(),
        doc::<returns::ReturnProcess>(),
        doc::<returns::RefundCreate>(),
        doc::<returns::RefundRead>(),
        doc::<returns::OrdersReturnsSince>(),
        doc::<shop::ShopTime>(),
    ];
    &DOCUMENTS
}

// ---- shapes shared by several operations ----

/// `MoneyV2`. The amount stays a decimal string: no float ever touches money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub amount: String,
    pub currency_code: String,
}

/// `MoneyBag`: the shop's currency and the customer's (absent where not selected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyBag {
    pub shop_money: Money,
    #[serde(default)]
    pub presentment_money: Option<Money>,
}

/// A mutation payload that only reports `userErrors`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Errors {
    #[serde(deserialize_with = "nullable_vec")]
    pub user_errors: Vec<crate::shopify::error::UserError>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    #[serde(default)]
    pub end_cursor: Option<String>,
}

/// A connection read through `nodes` and `pageInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
    #[serde(default)]
    pub page_info: PageInfo,
}

/// `{ id }` of a related object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref<I> {
    pub id: I,
}

/// A list that Shopify may send as `null`.
pub(crate) fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `nodes(ids:)` read as one typed object per id asked, in order: `None` for one that no longer
/// exists (null), and for a node of another type (an empty object, which does not read as a
/// `T`).
pub(crate) fn objects_or_none<'de, D, T>(d: D) -> Result<Vec<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let raw = Vec::<serde_json::Value>::deserialize(d)?;
    raw.into_iter()
        .map(|v| match v {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::Object(m) if m.is_empty() => Ok(None),
            other => serde_json::from_value(other)
                .map(Some)
                .map_err(serde::de::Error::custom),
        })
        .collect()
}

/// The cursor of a connection's next page, if it has one.
pub fn next_page(info: &PageInfo) -> Option<String> {
    info.end_cursor.clone().filter(|_| info.has_next_page)
}

/// Quotes a value for Shopify's search syntax (`sku:"A-1"`): backslashes and quotes escaped.
pub fn search_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_holds_the_operation_it_is_named_for() {
        for (name, text) in all_documents() {
            let kind = if text.contains(&format!("mutation {name}(")) {
                "mutation"
            } else {
                "query"
            };
            assert!(
                text.contains(&format!("{kind} {name}("))
                    || text.contains(&format!("{kind} {name} {{")),
                "{name} is not defined in its document"
            );
            let operations = text
                .lines()
                .filter(|l| l.starts_with("query ") || l.starts_with("mutation "))
                .count();
            assert_eq!(operations, 1, "{name}: one operation per document");
        }
    }

    #[test]
    fn quotes_search_values() {
        assert_eq!(search_quote("A-1"), "\"A-1\"");
        assert_eq!(search_quote(r#"x"y\z"#), r#""x\"y\\z""#);
    }
}
