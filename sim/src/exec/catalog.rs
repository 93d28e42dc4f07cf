//! `products`, `product`, `productVariants`, `productVariant`.
//!
//! `productVariants(query:)` understands `sku` (exact, case-insensitive; `sku:ABC*` for a
//! prefix), `barcode`, `product_id`, `title`, `id`, `updated_at`, `created_at`; several SKUs
//! are asked for with OR: `sku:A OR sku:B`. `products(query:)` understands `title`, `vendor`,
//! `product_type`, `tag`, `status`, `handle`, `sku` (any variant's, exact), `id`,
//! `updated_at`, `created_at`.

use serde_json::Value;

use super::objects::{product_tree, variant_tree};
use super::{RootCtx, RootError};
use crate::pagination::{SortKey, SortValue};
use crate::search::{FieldValue, Searchable};
use crate::shop::{Product, Shop, Variant};

impl Searchable for Variant {
    fn search_fields() -> &'static [&'static str] {
        &[
            "sku",
            "barcode",
            "product_id",
            "title",
            "id",
            "updated_at",
            "created_at",
        ]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        match field {
            "sku" => vec![FieldValue::Text(self.sku.clone())],
            "barcode" => self
                .barcode
                .iter()
                .map(|b| FieldValue::Text(b.clone()))
                .collect(),
            "product_id" => vec![FieldValue::Int(self.product_id as i64)],
            "title" => vec![FieldValue::Text(self.title.clone())],
            "id" => vec![FieldValue::Int(self.id as i64)],
            "updated_at" => vec![FieldValue::Time(self.updated_at)],
            "created_at" => vec![FieldValue::Time(self.created_at)],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        vec![self.sku.clone(), self.title.clone()]
    }
}

/// A product with its shop, so that `sku:` can look at its variants.
struct ProductRow<'a> {
    shop: &'a Shop,
    product: &'a Product,
}

impl Searchable for ProductRow<'_> {
    fn search_fields() -> &'static [&'static str] {
        &[
            "title",
            "vendor",
            "product_type",
            "tag",
            "status",
            "handle",
            "sku",
            "id",
            "updated_at",
            "created_at",
        ]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        match field {
            "sku" => self
                .product
                .variant_ids
                .iter()
                .filter_map(|id| self.shop.variants.get(id))
                .filter(|v| !v.sku.is_empty())
                .map(|v| FieldValue::Text(v.sku.clone()))
                .collect(),
            _ => self.product.field_values(field),
        }
    }

    fn default_text(&self) -> Vec<String> {
        self.product.default_text()
    }
}

impl Searchable for Product {
    fn search_fields() -> &'static [&'static str] {
        &[
            "title",
            "vendor",
            "product_type",
            "tag",
            "status",
            "handle",
            "id",
            "updated_at",
            "created_at",
        ]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        let text = |s: &str| FieldValue::Text(s.to_string());
        match field {
            "title" => vec![text(&self.title)],
            "vendor" => vec![text(&self.vendor)],
            "product_type" => vec![text(&self.product_type)],
            "tag" => self.tags.iter().map(|t| text(t)).collect(),
            "status" => vec![FieldValue::Text(self.status.as_rest())],
            "handle" => vec![text(&self.handle)],
            "id" => vec![FieldValue::Int(self.id as i64)],
            "updated_at" => vec![FieldValue::Time(self.updated_at)],
            "created_at" => vec![FieldValue::Time(self.created_at)],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        vec![
            self.title.clone(),
            self.vendor.clone(),
            self.product_type.clone(),
        ]
    }
}

pub(super) fn product_variants(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let sort_key = ctx
        .args
        .get("sortKey")
        .and_then(|v| v.as_str())
        .unwrap_or("ID")
        .to_string();
    let sort = move |v: &Variant| -> SortKey {
        let value = match sort_key.as_str() {
            "SKU" => SortValue::Text(v.sku.clone()),
            "TITLE" | "FULL_TITLE" | "NAME" => SortValue::Text(v.title.clone()),
            "POSITION" => SortValue::Int(i64::from(v.position)),
            _ => SortValue::Int(v.id as i64),
        };
        (value, v.id)
    };
    ctx.search_connection(shop.variants.values(), sort, |v| variant_tree(shop, v))
}

pub(super) fn product_variant(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "ProductVariant")?
        .and_then(|id| shop.variants.get(&id))
        .map_or(Value::Null, |v| variant_tree(shop, v)))
}

pub(super) fn products(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let sort_key = ctx
        .args
        .get("sortKey")
        .and_then(|v| v.as_str())
        .unwrap_or("ID")
        .to_string();
    let sort = move |p: &Product| -> SortKey {
        let value = match sort_key.as_str() {
            "TITLE" => SortValue::Text(p.title.clone()),
            "UPDATED_AT" => SortValue::Int(p.updated_at.0),
            "CREATED_AT" => SortValue::Int(p.created_at.0),
            "VENDOR" => SortValue::Text(p.vendor.clone()),
            "PRODUCT_TYPE" => SortValue::Text(p.product_type.clone()),
            _ => SortValue::Int(p.id as i64),
        };
        (value, p.id)
    };
    let rows: Vec<ProductRow<'_>> = shop
        .products
        .values()
        .map(|product| ProductRow { shop, product })
        .collect();
    ctx.search_connection(
        rows.iter(),
        |row| sort(row.product),
        |row| product_tree(shop, row.product),
    )
}

pub(super) fn product(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "Product")?
        .and_then(|id| shop.products.get(&id))
        .map_or(Value::Null, |p| product_tree(shop, p)))
}
