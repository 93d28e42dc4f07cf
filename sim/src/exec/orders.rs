//! `orders(first, after, query, sortKey, reverse)` and `order(id:)`.
//!
//! `query:` understands `updated_at`, `created_at`, `processed_at` (with `>`, `>=`, `<`, `<=`,
//! quoted or not), `name`, `email`, `financial_status`, `fulfillment_status`, `status`
//! (`open`/`closed`/`cancelled`), `tag`, `sku`, `customer_id`, `id` and `test`.
//! `sortKey` supports `PROCESSED_AT` (the schema default), `UPDATED_AT`, `CREATED_AT`, `ID` and
//! `ORDER_NUMBER`; other keys sort by `ID`. `>` is strict here (PostHog reported it behaving
//! like `>=` on Shopify; clients overlap their windows either way).

use serde_json::Value;

use super::objects::order_tree;
use super::{RootCtx, RootError};
use crate::pagination::{SortKey, SortValue};
use crate::search::{FieldValue, Searchable};
use crate::shop::{FulfillmentStatus, Order, Shop};

impl Searchable for Order {
    fn search_fields() -> &'static [&'static str] {
        &[
            "updated_at",
            "created_at",
            "processed_at",
            "name",
            "email",
            "financial_status",
            "fulfillment_status",
            "status",
            "tag",
            "sku",
            "customer_id",
            "id",
            "test",
        ]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        let text = |s: &str| FieldValue::Text(s.to_string());
        match field {
            "updated_at" => vec![FieldValue::Time(self.updated_at)],
            "created_at" => vec![FieldValue::Time(self.created_at)],
            "processed_at" => vec![FieldValue::Time(self.processed_at)],
            // `name:1001` and `name:#1001` both find #1001.
            "name" => vec![text(&self.name), text(self.name.trim_start_matches('#'))],
            "email" => self.email.iter().map(|e| text(e)).collect(),
            "financial_status" => vec![FieldValue::Text(self.financial_status.as_rest())],
            "fulfillment_status" => match self.fulfillment_status {
                FulfillmentStatus::Fulfilled => vec![text("fulfilled"), text("shipped")],
                FulfillmentStatus::PartiallyFulfilled => {
                    vec![text("partial"), text("partially_fulfilled")]
                }
                FulfillmentStatus::Unfulfilled => vec![text("unfulfilled"), text("unshipped")],
                other => vec![FieldValue::Text(other.as_rest())],
            },
            "status" => {
                let status = if self.cancelled_at.is_some() {
                    "cancelled"
                } else if self.closed_at.is_some() {
                    "closed"
                } else {
                    "open"
                };
                vec![text(status), text("any")]
            }
            "tag" => self.tags.iter().map(|t| text(t)).collect(),
            "sku" => self
                .line_items
                .iter()
                .filter_map(|l| l.sku.as_deref())
                .map(text)
                .collect(),
            "customer_id" => self
                .customer_id
                .map(|c| FieldValue::Int(c as i64))
                .into_iter()
                .collect(),
            "id" => vec![FieldValue::Int(self.id as i64)],
            "test" => vec![text(if self.test { "true" } else { "false" })],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        let mut out = vec![self.name.clone()];
        out.extend(self.email.clone());
        out
    }
}

pub(super) fn orders(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let sort_key = ctx
        .args
        .get("sortKey")
        .and_then(|v| v.as_str())
        .unwrap_or("PROCESSED_AT")
        .to_string();
    let sort = move |o: &Order| -> SortKey {
        let value = match sort_key.as_str() {
            "UPDATED_AT" => SortValue::Int(o.updated_at.0),
            "CREATED_AT" => SortValue::Int(o.created_at.0),
            "PROCESSED_AT" => SortValue::Int(o.processed_at.0),
            "ORDER_NUMBER" => SortValue::Int(o.number as i64),
            _ => SortValue::Int(o.id as i64),
        };
        (value, o.id)
    };
    ctx.search_connection(shop.orders.values(), sort, order_tree)
}

pub(super) fn order(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "Order")?
        .and_then(|id| shop.orders.get(&id))
        .map_or(Value::Null, order_tree))
}
