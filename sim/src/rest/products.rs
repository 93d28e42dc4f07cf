//! `products/create` and `products/update`: the documented product payload, with options,
//! the first 100 variants in full (`option1`..`option3` from their option values), every
//! variant's id in `variant_gids` (most recently updated first), and the images.

use serde_json::{Value, json};

use super::{money, tags, ts};
use crate::gid::gid;
use crate::shop::{Id, MediaStatus, Product, Shop, Variant, category_name};

/// Shopify's webhooks carry full details for this many variants.
pub const FULL_VARIANTS: usize = 100;

fn variant(shop: &Shop, v: &Variant) -> Value {
    let stock: i64 = shop
        .inventory_levels
        .range((v.inventory_item_id, 0)..=(v.inventory_item_id, Id::MAX))
        .map(|(_, l)| l.available)
        .sum();
    json!({
        "admin_graphql_api_id": gid("ProductVariant", v.id),
        "barcode": v.barcode,
        "compare_at_price": v.compare_at_price.map(money),
        "created_at": ts(v.created_at),
        "id": v.id,
        "inventory_policy": v.inventory_policy.to_ascii_lowercase(),
        "position": v.position,
        "price": money(v.price),
        "product_id": v.product_id,
        "sku": (!v.sku.is_empty()).then_some(&v.sku),
        "taxable": v.taxable,
        "title": v.title,
        "updated_at": ts(v.updated_at),
        "option1": v.option_value(0),
        "option2": v.option_value(1),
        "option3": v.option_value(2),
        "image_id": null,
        "inventory_item_id": v.inventory_item_id,
        "inventory_quantity": stock,
        "old_inventory_quantity": stock,
    })
}

pub(super) fn product(shop: &Shop, p: &Product) -> Value {
    let all: Vec<&Variant> = p
        .variant_ids
        .iter()
        .filter_map(|id| shop.variants.get(id))
        .collect();
    let variants: Vec<Value> = all
        .iter()
        .take(FULL_VARIANTS)
        .map(|v| variant(shop, v))
        .collect();
    let mut recent = all.clone();
    recent.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
    let variant_gids: Vec<Value> = recent
        .iter()
        .map(|v| json!({"admin_graphql_api_id": gid("ProductVariant", v.id), "updated_at": ts(v.updated_at)}))
        .collect();
    let options: Vec<Value> = p
        .options
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "product_id": p.id,
                "name": o.name,
                "position": o.position,
                "values": o.values.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let media: Vec<_> = p.media.iter().filter_map(|id| shop.media.get(id)).collect();
    // Only images that could be fetched have a picture to show.
    let images: Vec<Value> = media
        .iter()
        .filter(|m| m.status == MediaStatus::Ready)
        .enumerate()
        .map(|(i, m)| {
            json!({
                "id": m.id,
                "product_id": p.id,
                "position": i + 1,
                "created_at": ts(m.created_at),
                "updated_at": ts(m.updated_at),
                "alt": m.alt,
                "width": 1024,
                "height": 1024,
                "src": m.original_url,
                "variant_ids": [],
                "admin_graphql_api_id": gid("ProductImage", m.id),
            })
        })
        .collect();
    let media: Vec<Value> = media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({
                "id": m.id,
                "product_id": p.id,
                "position": i + 1,
                "created_at": ts(m.created_at),
                "updated_at": ts(m.updated_at),
                "alt": m.alt,
                "status": m.status.as_rest(),
                "media_content_type": "IMAGE",
                "preview_image": (m.status == MediaStatus::Ready).then(|| json!({
                    "width": 1024, "height": 1024, "src": m.original_url, "status": "ready",
                })),
                "variant_ids": [],
                "admin_graphql_api_id": gid("MediaImage", m.id),
            })
        })
        .collect();
    let category = p.category.as_ref().map(|c| {
        let name = category_name(c);
        json!({"admin_graphql_api_id": c, "name": name, "full_name": name})
    });
    let online = shop
        .publication_by_name(crate::shop::ONLINE_STORE)
        .is_some_and(|id| p.publication_ids.contains(&id));
    json!({
        "admin_graphql_api_id": gid("Product", p.id),
        "body_html": p.description_html,
        "created_at": ts(p.created_at),
        "handle": p.handle,
        "id": p.id,
        "product_type": p.product_type,
        "published_at": online.then(|| ts(p.created_at)),
        "template_suffix": null,
        "title": p.title,
        "updated_at": ts(p.updated_at),
        "vendor": p.vendor,
        "status": p.status.as_rest(),
        "published_scope": "global",
        "tags": tags(&p.tags),
        "variants": variants,
        "options": options,
        "image": images.first().cloned(),
        "images": images,
        "media": media,
        "variant_gids": variant_gids,
        "has_variants_that_requires_components": false,
        "category": category,
    })
}
