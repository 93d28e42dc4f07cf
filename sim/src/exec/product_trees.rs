//! The catalogue's value trees: products (options, SEO, category, media, collections,
//! publications), variants, media images, collections, publications and `productSet`
//! operations, plus the product fields that depend on their arguments.

use serde_json::{Map, Value, json};

use super::objects::{legacy, metafield_field, metafields_field, opt_ts, ref_to, tree, ts};
use crate::gid::{self, gid};
use crate::project::connection;
use crate::shop::{
    Collection, Id, MediaImage, MediaStatus, ONLINE_STORE, Product, ProductOperation,
    ProductUserError, Publication, Shop, Variant, category_name,
};

/// Units available at every location for an inventory item.
pub(super) fn available_total(shop: &Shop, item_id: Id) -> i64 {
    shop.inventory_levels
        .range((item_id, 0)..=(item_id, Id::MAX))
        .map(|(_, l)| l.available)
        .sum()
}

/// A `TaxonomyCategory` from its GID (named by [`category_name`]).
fn category_tree(category_gid: &str) -> Value {
    let id = category_gid.rsplit('/').next().unwrap_or_default();
    let name = category_name(category_gid);
    let parts: Vec<&str> = id.split('-').collect();
    let ancestors: Vec<String> = (1..parts.len())
        .map(|n| format!("gid://shopify/TaxonomyCategory/{}", parts[..n].join("-")))
        .collect();
    tree!("TaxonomyCategory";
        "id" => category_gid,
        "name" => name.clone(),
        "fullName" => name,
        "isArchived" => false,
        "isLeaf" => true,
        "isRoot" => parts.len() == 1,
        "level" => parts.len(),
        "parentId" => ancestors.last(),
        "ancestorIds" => ancestors,
        "childrenIds" => json!([]),
    )
}

fn option_trees(shop: &Shop, p: &Product) -> Vec<Value> {
    let variants: Vec<&Variant> = p
        .variant_ids
        .iter()
        .filter_map(|id| shop.variants.get(id))
        .collect();
    p.options
        .iter()
        .map(|o| {
            let has = |value: &str| {
                variants
                    .iter()
                    .any(|v| v.option_values.iter().any(|(n, x)| *n == o.name && x == value))
            };
            let values: Vec<Value> = o
                .values
                .iter()
                .map(|v| {
                    tree!("ProductOptionValue";
                        "id" => gid("ProductOptionValue", v.id),
                        "name" => v.name,
                        "hasVariants" => has(&v.name),
                        "linkedMetafieldValue" => Value::Null,
                        "swatch" => Value::Null,
                        "translations" => json!([]),
                    )
                })
                .collect();
            tree!("ProductOption";
                "id" => gid("ProductOption", o.id),
                "name" => o.name,
                "position" => o.position,
                // `values` lists only the values some variant has.
                "values" => o.values.iter().filter(|v| has(&v.name)).map(|v| v.name.clone()).collect::<Vec<_>>(),
                "optionValues" => values,
                "linkedMetafield" => Value::Null,
                "translations" => json!([]),
            )
        })
        .collect()
}

pub fn product_tree(shop: &Shop, p: &Product) -> Value {
    let variants: Vec<&Variant> = p
        .variant_ids
        .iter()
        .filter_map(|id| shop.variants.get(id))
        .collect();
    let stock: Vec<i64> = variants
        .iter()
        .map(|v| available_total(shop, v.inventory_item_id))
        .collect();
    let media: Vec<Value> = p
        .media
        .iter()
        .filter_map(|id| shop.media.get(id))
        .map(media_tree)
        .collect();
    let online = shop
        .publication_by_name(ONLINE_STORE)
        .is_some_and(|id| p.publication_ids.contains(&id));
    let default_only = variants.len() == 1
        && p.options.len() == 1
        && p.options[0].name == "Title"
        && variants[0].title == "Default Title";
    tree!("Product";
        "id" => gid("Product", p.id),
        "legacyResourceId" => legacy(p.id),
        "title" => p.title,
        "handle" => p.handle,
        "vendor" => p.vendor,
        "productType" => p.product_type,
        "status" => p.status.as_graphql(),
        "tags" => p.tags,
        "description" => p.description(),
        "descriptionHtml" => p.description_html,
        "createdAt" => ts(p.created_at),
        "updatedAt" => ts(p.updated_at),
        "publishedAt" => if online { ts(p.created_at) } else { Value::Null },
        "totalInventory" => stock.iter().sum::<i64>(),
        "tracksInventory" => true,
        "hasOnlyDefaultVariant" => default_only,
        "hasOutOfStockVariants" => stock.iter().any(|s| *s <= 0),
        "hasVariantsThatRequiresComponents" => false,
        "isGiftCard" => false,
        "requiresSellingPlan" => false,
        "templateSuffix" => Value::Null,
        "giftCardTemplateSuffix" => Value::Null,
        "combinedListingRole" => Value::Null,
        "onlineStoreUrl" => Value::Null,
        "onlineStorePreviewUrl" => Value::Null,
        "category" => p.category.as_deref().map_or(Value::Null, category_tree),
        "seo" => json!({"__typename": "SEO", "title": p.seo_title, "description": p.seo_description}),
        "options" => option_trees(shop, p),
        "variants" => connection(p.variant_ids.iter().map(|&v| ref_to("ProductVariant", v)).collect()),
        "variantsCount" => json!({"__typename": "Count", "count": p.variant_ids.len(), "precision": "EXACT"}),
        "featuredMedia" => media.first().cloned().unwrap_or(Value::Null),
        "mediaCount" => json!({"__typename": "Count", "count": media.len(), "precision": "EXACT"}),
        "media" => connection(media),
        "collections" => connection(p.collection_ids.iter().map(|&c| ref_to("Collection", c)).collect()),
    )
}

pub fn variant_tree(shop: &Shop, v: &Variant) -> Value {
    let product = shop.products.get(&v.product_id);
    let product_title = product.map_or_else(String::new, |p| p.title.clone());
    let inventory = available_total(shop, v.inventory_item_id);
    let selected: Vec<Value> = v
        .option_values
        .iter()
        .map(|(name, value)| {
            let id = product
                .and_then(|p| p.options.iter().find(|o| o.name == *name))
                .and_then(|o| o.values.iter().find(|x| x.name == *value))
                .map_or(0, |x| x.id);
            json!({
                "__typename": "SelectedOption",
                "name": name,
                "value": value,
                "optionValue": {
                    "__typename": "ProductOptionValue",
                    "id": gid("ProductOptionValue", id),
                    "name": value,
                    "hasVariants": true,
                    "linkedMetafieldValue": Value::Null,
                    "swatch": Value::Null,
                    "translations": [],
                },
            })
        })
        .collect();
    tree!("ProductVariant";
        "id" => gid("ProductVariant", v.id),
        "legacyResourceId" => legacy(v.id),
        "title" => v.title,
        "displayName" => format!("{product_title} - {}", v.title),
        "sku" => (!v.sku.is_empty()).then_some(&v.sku),
        "price" => v.price.to_fixed2(),
        "compareAtPrice" => v.compare_at_price.map(|m| m.to_fixed2()),
        "barcode" => v.barcode,
        "position" => v.position,
        "taxable" => v.taxable,
        "taxCode" => Value::Null,
        "inventoryPolicy" => v.inventory_policy,
        "inventoryQuantity" => inventory,
        "sellableOnlineQuantity" => inventory.max(0),
        "availableForSale" => inventory > 0 || v.inventory_policy == "CONTINUE",
        "requiresComponents" => false,
        "showUnitPrice" => false,
        "createdAt" => ts(v.created_at),
        "updatedAt" => ts(v.updated_at),
        "selectedOptions" => selected,
        "product" => ref_to("Product", v.product_id),
        "inventoryItem" => ref_to("InventoryItem", v.inventory_item_id),
        "media" => connection(Vec::new()),
        "image" => Value::Null,
    )
}

pub fn media_tree(m: &MediaImage) -> Value {
    let ready = m.status == MediaStatus::Ready;
    let image = ready.then(|| {
        json!({
            "__typename": "Image",
            "id": gid("ImageSource", m.id),
            "url": m.original_url,
            "altText": m.alt,
            "width": 1024,
            "height": 1024,
            "thumbhash": Value::Null,
            "translations": [],
        })
    });
    tree!("MediaImage";
        "id" => gid("MediaImage", m.id),
        "alt" => m.alt,
        "status" => m.status.as_graphql(),
        "fileStatus" => m.status.as_graphql(),
        "mediaContentType" => "IMAGE",
        "mediaErrors" => m.errors.iter().map(|(code, message)| json!({
            "__typename": "MediaError", "code": code, "message": message, "details": Value::Null,
        })).collect::<Vec<_>>(),
        "mediaWarnings" => json!([]),
        "fileErrors" => json!([]),
        "mimeType" => "image/jpeg",
        "createdAt" => ts(m.created_at),
        "updatedAt" => ts(m.updated_at),
        "originalSource" => json!({"__typename": "MediaImageOriginalSource", "url": m.original_url, "fileSize": Value::Null}),
        "image" => image.clone(),
        "preview" => json!({"__typename": "MediaPreviewImage", "image": image, "status": m.status.as_graphql()}),
        "translations" => json!([]),
    )
}

pub fn collection_tree(shop: &Shop, c: &Collection) -> Value {
    let count = shop
        .products
        .values()
        .filter(|p| p.collection_ids.contains(&c.id))
        .count();
    tree!("Collection";
        "id" => gid("Collection", c.id),
        "legacyResourceId" => legacy(c.id),
        "handle" => c.handle,
        "title" => c.title,
        "description" => "",
        "descriptionHtml" => "",
        "sortOrder" => "MANUAL",
        "templateSuffix" => Value::Null,
        "updatedAt" => ts(c.updated_at),
        "seo" => json!({"__typename": "SEO", "title": Value::Null, "description": Value::Null}),
        "image" => Value::Null,
        "ruleSet" => Value::Null,
        "productsCount" => json!({"__typename": "Count", "count": count, "precision": "EXACT"}),
    )
}

pub fn publication_tree(p: &Publication) -> Value {
    tree!("Publication";
        "id" => gid("Publication", p.id),
        "name" => p.name,
        "autoPublish" => false,
        "supportsFuturePublishing" => false,
        // A sales channel's publication has an app catalog; its title is the channel's name
        // (`Publication.name` is deprecated for it).
        "catalog" => tree!("AppCatalog";
            "id" => gid("AppCatalog", p.id),
            "title" => p.name,
            "status" => "ACTIVE",
        ),
    )
}

fn user_error_tree(e: &ProductUserError) -> Value {
    json!({"__typename": "ProductSetUserError", "field": e.field, "message": e.message, "code": e.code})
}

/// A `ProductSetOperation` as a read at `op.reads` sees it: `CREATED` in the mutation's own
/// response (`created`), `ACTIVE` at the first read, `COMPLETE` after.
pub fn product_operation_tree(shop: &Shop, op: &ProductOperation, created: bool) -> Value {
    let status = if created {
        "CREATED"
    } else if op.reads == 0 {
        "ACTIVE"
    } else {
        "COMPLETE"
    };
    let done = status == "COMPLETE";
    let product = op
        .product_id
        .filter(|_| done)
        .and_then(|id| shop.products.get(&id))
        .map_or(Value::Null, |p| product_tree(shop, p));
    let errors: Vec<Value> = if done {
        op.errors.iter().map(user_error_tree).collect()
    } else {
        Vec::new()
    };
    tree!("ProductSetOperation";
        "id" => gid("ProductSetOperation", op.id),
        "status" => status,
        "product" => product,
        "userErrors" => errors,
    )
}

/// The product fields computed from their arguments or on demand; `None` reads the tree.
pub(super) fn resolve_product_field(
    shop: &Shop,
    product: Id,
    field: &str,
    args: &Map<String, Value>,
) -> Option<Result<Value, String>> {
    let p = shop.products.get(&product);
    let published = |publication: Id| p.is_some_and(|p| p.publication_ids.contains(&publication));
    Some(Ok(match field {
        "metafield" => metafield_field("Product", product, p.map(|p| &p.metafields), args),
        "metafields" => metafields_field("Product", product, p.map(|p| &p.metafields), args),
        "resourcePublications" | "resourcePublicationsCount" => {
            let only_published = args
                .get("onlyPublished")
                .and_then(|v| v.as_bool())
                .unwrap_or(true);
            let nodes: Vec<Value> = shop
                .publications
                .values()
                .filter(|publication| !only_published || published(publication.id))
                .map(|publication| {
                    json!({
                        "__typename": "ResourcePublication",
                        "isPublished": published(publication.id),
                        "publication": publication_tree(publication),
                        "publishDate": opt_ts(p.map(|p| p.created_at)),
                        "publishable": ref_to("Product", product),
                    })
                })
                .collect();
            if field == "resourcePublicationsCount" {
                json!({"__typename": "Count", "count": nodes.len(), "precision": "EXACT"})
            } else {
                connection(nodes)
            }
        }
        "publishedOnPublication" => {
            let id = args
                .get("publicationId")
                .and_then(|v| v.as_str())
                .and_then(|t| gid::parse_kind(t, "Publication"));
            Value::Bool(id.is_some_and(published))
        }
        "inCollection" => {
            let id = args
                .get("id")
                .and_then(|v| v.as_str())
                .and_then(|t| gid::parse_kind(t, "Collection"));
            Value::Bool(id.is_some_and(|c| p.is_some_and(|p| p.collection_ids.contains(&c))))
        }
        _ => return None,
    }))
}
