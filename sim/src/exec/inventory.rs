//! `inventoryItems`, `inventoryItem`, `inventoryLevel`, `locations`, `location`.
//!
//! `inventoryItems(query:)` understands `sku`, `id`, `created_at`, `updated_at`;
//! `locations(query:)` understands `name`, `id`. Inactive locations are left out unless
//! `includeInactive: true`, as on Shopify.

use serde_json::Value;

use super::objects::{inventory_item_tree, inventory_level_tree, location_tree};
use super::{RootCtx, RootError};
use crate::pagination::{SortKey, SortValue};
use crate::search::{FieldValue, Searchable};
use crate::shop::{InventoryItem, Location, Shop};

impl Searchable for InventoryItem {
    fn search_fields() -> &'static [&'static str] {
        &["sku", "id", "created_at", "updated_at"]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        match field {
            "sku" => vec![FieldValue::Text(self.sku.clone())],
            "id" => vec![FieldValue::Int(self.id as i64)],
            "created_at" => vec![FieldValue::Time(self.created_at)],
            "updated_at" => vec![FieldValue::Time(self.updated_at)],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        vec![self.sku.clone()]
    }
}

impl Searchable for Location {
    fn search_fields() -> &'static [&'static str] {
        &["name", "id"]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        match field {
            "name" => vec![FieldValue::Text(self.name.clone())],
            "id" => vec![FieldValue::Int(self.id as i64)],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        vec![self.name.clone()]
    }
}

pub(super) fn inventory_items(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let sort = |i: &InventoryItem| -> SortKey { (SortValue::Int(i.id as i64), i.id) };
    ctx.search_connection(shop.inventory_items.values(), sort, |i| {
        inventory_item_tree(shop, i)
    })
}

pub(super) fn inventory_item(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "InventoryItem")?
        .and_then(|id| shop.inventory_items.get(&id))
        .map_or(Value::Null, |i| inventory_item_tree(shop, i)))
}

pub(super) fn inventory_level(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "InventoryLevel")?
        .and_then(|id| shop.inventory_level_by_id(id))
        .map_or(Value::Null, inventory_level_tree))
}

pub(super) fn locations(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let include_inactive = ctx
        .args
        .get("includeInactive")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let by_name = ctx
        .args
        .get("sortKey")
        .and_then(|v| v.as_str())
        .unwrap_or("NAME")
        == "NAME";
    let sort = move |l: &Location| -> SortKey {
        if by_name {
            (SortValue::Text(l.name.clone()), l.id)
        } else {
            (SortValue::Int(l.id as i64), l.id)
        }
    };
    let visible = shop
        .locations
        .values()
        .filter(move |l| include_inactive || l.active);
    ctx.search_connection(visible, sort, location_tree)
}

pub(super) fn location(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    // `location` without an id is the shop's primary location.
    if ctx.args.get("id").is_none_or(Value::is_null) {
        return Ok(shop
            .locations
            .values()
            .find(|l| l.active)
            .map_or(Value::Null, location_tree));
    }
    Ok(ctx
        .id_arg("id", "Location")?
        .and_then(|id| shop.locations.get(&id))
        .map_or(Value::Null, location_tree))
}
