//! `customer`, `customers`, `node`, `nodes` (and `shop`, rendered directly by `objects`).
//!
//! `customers(query:)` understands `email`, `first_name`, `last_name`, `phone`, `tag`,
//! `tax_exempt`, `id`, `created_at`, `updated_at`.

use serde_json::Value;

use super::objects::{ShopResolver, customer_tree};
use super::{RootCtx, RootError};
use crate::pagination::{SortKey, SortValue};
use crate::search::{FieldValue, Searchable};
use crate::shop::{Customer, Shop};

impl Searchable for Customer {
    fn search_fields() -> &'static [&'static str] {
        &[
            "email",
            "first_name",
            "last_name",
            "phone",
            "tag",
            "tax_exempt",
            "id",
            "created_at",
            "updated_at",
        ]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        let texts = |v: &Option<String>| v.iter().map(|s| FieldValue::Text(s.clone())).collect();
        match field {
            "email" => texts(&self.email),
            "first_name" => texts(&self.first_name),
            "last_name" => texts(&self.last_name),
            "phone" => texts(&self.phone),
            "tag" => self
                .tags
                .iter()
                .map(|t| FieldValue::Text(t.clone()))
                .collect(),
            "tax_exempt" => vec![FieldValue::Text(self.tax_exempt.to_string())],
            "id" => vec![FieldValue::Int(self.id as i64)],
            "created_at" => vec![FieldValue::Time(self.created_at)],
            "updated_at" => vec![FieldValue::Time(self.updated_at)],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        [&self.email, &self.first_name, &self.last_name]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

pub(super) fn customer(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "Customer")?
        .and_then(|id| shop.customers.get(&id))
        .map_or(Value::Null, customer_tree))
}

pub(super) fn customers(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let sort_key = ctx
        .args
        .get("sortKey")
        .and_then(|v| v.as_str())
        .unwrap_or("ID")
        .to_string();
    let sort = move |c: &Customer| -> SortKey {
        let value = match sort_key.as_str() {
            "UPDATED_AT" => SortValue::Int(c.updated_at.0),
            "CREATED_AT" => SortValue::Int(c.created_at.0),
            "NAME" => SortValue::Text(format!(
                "{} {}",
                c.first_name.as_deref().unwrap_or(""),
                c.last_name.as_deref().unwrap_or("")
            )),
            _ => SortValue::Int(c.id as i64),
        };
        (value, c.id)
    };
    ctx.search_connection(shop.customers.values(), sort, customer_tree)
}

pub(super) fn node(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let id = ctx
        .args
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if crate::gid::parse(id).is_none() {
        return Err(RootError::new(
            "argumentLiteralsIncompatible",
            format!("Invalid global id '{id}'"),
        ));
    }
    Ok(ShopResolver { shop }.node(id).unwrap_or(Value::Null))
}

pub(super) fn nodes(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let ids: Vec<String> = ctx
        .args
        .get("ids")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = ids.iter().find(|id| crate::gid::parse(id).is_none()) {
        return Err(RootError::new(
            "argumentLiteralsIncompatible",
            format!("Invalid global id '{bad}'"),
        ));
    }
    let resolver = ShopResolver { shop };
    Ok(Value::Array(
        ids.iter()
            .map(|id| resolver.node(id).unwrap_or(Value::Null))
            .collect(),
    ))
}
