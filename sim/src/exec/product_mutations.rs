//! The product mutations a merchant's tools and naive integrations use, one resource at a
//! time: `productCreate` (one variant: the first value of each option, as Shopify creates),
//! `productUpdate` (no variants), `productDelete`, `productVariantsBulkCreate` and
//! `productVariantsBulkUpdate`. Each announces `products/create`, `products/update` or
//! `products/delete`, and writes nothing when it reports a user error (except
//! `allowPartialUpdates`, which writes the valid variants).
//!
//! `productCreate` and `productUpdate` report `UserError`s, whose paths name the input field
//! (`["title"]`); the bulk mutations name the argument (`["variants", "0", "price"]`).

use serde_json::{Map, Value, json};

use super::customers::{internal, object_arg};
use super::objects::{product_tree, shop_tree, variant_tree};
use super::product_input::{
    Check, OptionRule, read_collections, read_media, read_metafields, read_options, read_scalars,
    read_variant,
};
use super::{RootCtx, RootError};
use crate::gid::{self, gid};
use crate::shop::{
    FileDraft, Id, MetafieldSpec, Product, ProductDraft, ProductUserError, Shop, VariantDraft,
};

fn user_errors(typename: &str, errors: &[ProductUserError], with_code: bool) -> Vec<Value> {
    errors
        .iter()
        .map(|e| {
            let mut v = json!({"__typename": typename, "field": e.field, "message": e.message});
            if with_code {
                v["code"] = json!(e.code);
            }
            v
        })
        .collect()
}

fn product_value(shop: &Shop, id: Option<Id>) -> Value {
    id.and_then(|id| shop.products.get(&id))
        .map_or(Value::Null, |p| product_tree(shop, p))
}

/// `productCreate(product:, media:)`; the deprecated `input:` is read the same way.
pub(super) fn product_create(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let input = match ctx.args.get("product") {
        Some(Value::Object(p)) => p.clone(),
        _ => object_arg(ctx, "input"),
    };
    let mut errors = Vec::new();
    let mut check = Check {
        errors: &mut errors,
        prefix: Vec::new(),
    };
    let mut draft = read_scalars(shop, &input, None, &mut check);
    let list = |key: &str| input.get(key).and_then(|v| v.as_array());
    if let Some(options) = list("productOptions") {
        draft.options = read_options(options, &mut check);
    }
    if let Some(metafields) = list("metafields") {
        draft.metafields = read_metafields(metafields, None, &mut check);
    }
    if let Some(collections) = list("collectionsToJoin") {
        draft.collections = read_collections(shop, collections, "collectionsToJoin", &mut check);
    }
    let media = ctx.args.get("media").and_then(|v| v.as_array());
    if let Some(media) = media {
        let mut at = Check {
            errors: &mut *check.errors,
            prefix: Vec::new(),
        };
        draft.files = Some(read_media(media, &mut at));
    }
    let id = errors.is_empty().then(|| shop.create_product(draft));
    Ok(json!({
        "__typename": "ProductCreatePayload",
        "product": product_value(shop, id),
        "shop": shop_tree(shop),
        "userErrors": user_errors("UserError", &errors, false),
    }))
}

/// The product an `id` input names.
fn product_arg(shop: &Shop, value: Option<&Value>) -> Option<Id> {
    value
        .and_then(|v| v.as_str())
        .and_then(|t| gid::parse_kind(t, "Product"))
        .filter(|id| shop.products.contains_key(id))
}

/// `productUpdate(product:, media:)`: the fields given; metafields are written (others
/// stay), collections joined and left, media added.
pub(super) fn product_update(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let input = match ctx.args.get("product") {
        Some(Value::Object(p)) => p.clone(),
        _ => object_arg(ctx, "input"),
    };
    let payload = |shop: &Shop, id: Option<Id>, errors: &[ProductUserError]| {
        json!({
            "__typename": "ProductUpdatePayload",
            "product": product_value(shop, id),
            "userErrors": user_errors("UserError", errors, false),
        })
    };
    let Some(id) = product_arg(shop, input.get("id")) else {
        let errors = [ProductUserError {
            field: vec!["id".into()],
            message: "Product does not exist".into(),
            code: "PRODUCT_DOES_NOT_EXIST",
        }];
        return Ok(payload(shop, None, &errors));
    };
    let Some(product) = shop.products.get(&id).cloned() else {
        return Ok(payload(shop, None, &[]));
    };
    let mut errors = Vec::new();
    let mut check = Check {
        errors: &mut errors,
        prefix: Vec::new(),
    };
    let mut draft = read_scalars(shop, &input, Some(&product), &mut check);
    let list = |key: &str| input.get(key).and_then(|v| v.as_array());
    if let Some(metafields) = list("metafields")
        && let Some(specs) = read_metafields(metafields, Some(&product), &mut check)
    {
        draft.metafields = Some(merged_metafields(&product, specs));
    }
    let join = list("collectionsToJoin")
        .and_then(|l| read_collections(shop, l, "collectionsToJoin", &mut check));
    let leave = list("collectionsToLeave")
        .and_then(|l| read_collections(shop, l, "collectionsToLeave", &mut check));
    if join.is_some() || leave.is_some() {
        let mut ids = product.collection_ids.clone();
        ids.extend(join.unwrap_or_default());
        let leave = leave.unwrap_or_default();
        ids.retain(|c| !leave.contains(c));
        draft.collections = Some(ids);
    }
    if let Some(media) = ctx.args.get("media").and_then(|v| v.as_array()) {
        let added = read_media(media, &mut check);
        let mut files: Vec<FileDraft> = product
            .media
            .iter()
            .map(|&id| FileDraft::Keep { id, alt: None })
            .collect();
        files.extend(added);
        draft.files = Some(files);
    }
    if !errors.is_empty() {
        return Ok(payload(shop, None, &errors));
    }
    shop.set_product(id, draft).map_err(internal)?;
    Ok(payload(shop, Some(id), &errors))
}

/// The product's metafields with `specs` written over them.
fn merged_metafields(product: &Product, specs: Vec<MetafieldSpec>) -> Vec<MetafieldSpec> {
    let mut all: Vec<MetafieldSpec> = product
        .metafields
        .iter()
        .filter(|((ns, key), _)| !specs.iter().any(|s| s.namespace == *ns && s.key == *key))
        .map(|((ns, key), m)| MetafieldSpec::new(ns, key, &m.r#type, &m.value))
        .collect();
    all.extend(specs);
    all
}

pub(super) fn product_delete(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let input = object_arg(ctx, "input");
    let mut errors = Vec::new();
    let deleted = match product_arg(shop, input.get("id")) {
        Some(id) => {
            shop.delete_product(id).map_err(internal)?;
            Value::String(gid("Product", id))
        }
        None => {
            errors.push(ProductUserError {
                field: vec!["id".into()],
                message: "Product does not exist".into(),
                code: "PRODUCT_DOES_NOT_EXIST",
            });
            Value::Null
        }
    };
    Ok(json!({
        "__typename": "ProductDeletePayload",
        "deletedProductId": deleted,
        "productDeleteOperation": Value::Null,
        "shop": shop_tree(shop),
        "userErrors": user_errors("UserError", &errors, false),
    }))
}

/// The code of a `productSet` problem in the bulk mutations' enums (`create` or update).
fn bulk_code(code: &'static str, create: bool) -> &'static str {
    match (code, create) {
        ("OPTION_DOES_NOT_EXIST", true) => "OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS",
        ("OPTION_DOES_NOT_EXIST", false) => "OPTION_DOES_NOT_EXIST",
        ("INVALID_VARIANT", false) => "INVALID_INPUT",
        (_, true) => "INVALID",
        (_, false) => "INVALID_INPUT",
    }
}

fn product_options(product: &Product) -> Vec<(String, Vec<String>)> {
    product
        .options
        .iter()
        .map(|o| {
            (
                o.name.clone(),
                o.values.iter().map(|v| v.name.clone()).collect(),
            )
        })
        .collect()
}

/// The product's variants, unchanged, as drafts (a bulk write lists them all).
fn current_variants(product: &Product) -> Vec<VariantDraft> {
    product
        .variant_ids
        .iter()
        .map(|&id| VariantDraft {
            id: Some(id),
            ..VariantDraft::default()
        })
        .collect()
}

fn option_values_of(shop: &Shop, id: Id) -> Vec<(String, String)> {
    shop.variants
        .get(&id)
        .map(|v| v.option_values.clone())
        .unwrap_or_default()
}

fn bulk_payload(
    typename: &str,
    error_type: &str,
    shop: &Shop,
    product: Option<Id>,
    variants: &[Id],
    errors: &[ProductUserError],
) -> Value {
    let variants: Vec<Value> = variants
        .iter()
        .filter_map(|id| shop.variants.get(id))
        .map(|v| variant_tree(shop, v))
        .collect();
    json!({
        "__typename": typename,
        "product": product_value(shop, product),
        "productVariants": if product.is_some() { Value::Array(variants) } else { Value::Null },
        "userErrors": user_errors(error_type, errors, true),
    })
}

fn not_found_error() -> ProductUserError {
    ProductUserError {
        field: vec!["productId".into()],
        message: "Product does not exist".into(),
        code: "PRODUCT_DOES_NOT_EXIST",
    }
}

/// The variant inputs of a bulk mutation, read against the product's options (extended by
/// new values). Each problem is mapped to the bulk enum.
fn read_bulk(
    list: &[Value],
    product: &Product,
    options: &mut [(String, Vec<String>)],
    create: bool,
    errors: &mut Vec<ProductUserError>,
) -> Vec<Option<VariantDraft>> {
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let input: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
        let mut found = Vec::new();
        let mut check = Check {
            errors: &mut found,
            prefix: vec!["variants".into(), i.to_string()],
        };
        let draft = read_variant(
            &input,
            options,
            Some(product),
            OptionRule::Extend,
            &mut check,
        );
        if create && input.get("id").is_some_and(|v| !v.is_null()) {
            check.fail(
                &["id"],
                "An id cannot be given to a new variant",
                "INVALID_VARIANT",
            );
        }
        if !create && input.get("id").is_none_or(Value::is_null) {
            found.push(ProductUserError {
                field: vec!["variants".into(), i.to_string(), "id".into()],
                message: "Product variant is missing ID attribute".into(),
                code: "PRODUCT_VARIANT_ID_MISSING",
            });
        }
        if create && draft.as_ref().is_some_and(|d| d.option_values.is_empty()) {
            found.push(ProductUserError {
                field: vec!["variants".into(), i.to_string(), "optionValues".into()],
                message: "You need to add option values for each option".into(),
                code: "NEED_TO_ADD_OPTION_VALUES",
            });
        }
        let ok = found.is_empty();
        for mut e in found {
            e.code = match e.code {
                "PRODUCT_VARIANT_ID_MISSING" | "NEED_TO_ADD_OPTION_VALUES" => e.code,
                "INVALID_VARIANT" if !create && e.field.last().is_some_and(|f| f == "id") => {
                    "PRODUCT_VARIANT_DOES_NOT_EXIST"
                }
                code => bulk_code(code, create),
            };
            errors.push(e);
        }
        out.push(draft.filter(|_| ok));
    }
    out
}

fn duplicate_error(i: usize, values: &[(String, String)]) -> ProductUserError {
    ProductUserError {
        field: vec!["variants".into(), i.to_string()],
        message: format!(
            "The variant '{}' already exists.",
            crate::shop::Variant::title_of(values)
        ),
        code: "VARIANT_ALREADY_EXISTS",
    }
}

/// `productVariantsBulkCreate(productId, variants, strategy)`. The standalone variant (the
/// product's only one) is removed when it is `Default Title` (`DEFAULT`) or always
/// (`REMOVE_STANDALONE_VARIANT`), kept under `PRESERVE_STANDALONE_VARIANT`.
pub(super) fn variants_bulk_create(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    const PAYLOAD: &str = "ProductVariantsBulkCreatePayload";
    const ERROR: &str = "ProductVariantsBulkCreateUserError";
    let Some(product) = product_arg(shop, ctx.args.get("productId"))
        .and_then(|id| shop.products.get(&id))
        .cloned()
    else {
        return Ok(bulk_payload(
            PAYLOAD,
            ERROR,
            shop,
            None,
            &[],
            &[not_found_error()],
        ));
    };
    let list = ctx
        .args
        .get("variants")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let strategy = ctx
        .args
        .get("strategy")
        .and_then(|v| v.as_str())
        .unwrap_or("DEFAULT");
    let standalone = match product.variant_ids.as_slice() {
        [only] => match strategy {
            "REMOVE_STANDALONE_VARIANT" => Some(*only),
            "PRESERVE_STANDALONE_VARIANT" => None,
            _ => shop
                .variants
                .get(only)
                .filter(|v| v.title == "Default Title")
                .map(|v| v.id),
        },
        _ => None,
    };
    let mut options = product_options(&product);
    // New variants of a product that had only the default variant name real options.
    if standalone.is_some() && options.len() == 1 && options[0].0 == "Title" {
        options = first_input_options(&list);
    }
    let mut errors = Vec::new();
    let drafts = read_bulk(&list, &product, &mut options, true, &mut errors);
    let mut variants: Vec<VariantDraft> = current_variants(&product)
        .into_iter()
        .filter(|d| d.id != standalone)
        .collect();
    let mut taken: Vec<Vec<(String, String)>> = variants
        .iter()
        .filter_map(|d| d.id)
        .map(|id| option_values_of(shop, id))
        .collect();
    for (i, draft) in drafts.into_iter().enumerate() {
        let Some(draft) = draft else { continue };
        if taken.iter().any(|t| same(t, &draft.option_values)) {
            errors.push(duplicate_error(i, &draft.option_values));
            continue;
        }
        taken.push(draft.option_values.clone());
        variants.push(draft);
    }
    if !errors.is_empty() {
        return Ok(bulk_payload(PAYLOAD, ERROR, shop, None, &[], &errors));
    }
    let before: Vec<Id> = product.variant_ids.clone();
    let draft = ProductDraft {
        options: Some(options),
        variants: Some(variants),
        ..ProductDraft::default()
    };
    shop.set_product(product.id, draft).map_err(internal)?;
    let created: Vec<Id> = shop
        .products
        .get(&product.id)
        .map(|p| {
            p.variant_ids
                .iter()
                .copied()
                .filter(|v| !before.contains(v))
                .collect()
        })
        .unwrap_or_default();
    Ok(bulk_payload(
        PAYLOAD,
        ERROR,
        shop,
        Some(product.id),
        &created,
        &errors,
    ))
}

fn same(a: &[(String, String)], b: &[(String, String)]) -> bool {
    a.len() == b.len() && a.iter().all(|p| b.contains(p))
}

/// The options named by the first variant input, for a product that only had `Title`.
fn first_input_options(list: &[Value]) -> Vec<(String, Vec<String>)> {
    let names: Vec<String> = list
        .first()
        .and_then(|v| v.get("optionValues"))
        .and_then(|v| v.as_array())
        .map(|values| {
            values
                .iter()
                .filter_map(|v| v.get("optionName").and_then(|n| n.as_str()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    names.into_iter().map(|n| (n, Vec::new())).collect()
}

/// `productVariantsBulkUpdate(productId, variants, allowPartialUpdates)`.
pub(super) fn variants_bulk_update(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    const PAYLOAD: &str = "ProductVariantsBulkUpdatePayload";
    const ERROR: &str = "ProductVariantsBulkUpdateUserError";
    let Some(product) = product_arg(shop, ctx.args.get("productId"))
        .and_then(|id| shop.products.get(&id))
        .cloned()
    else {
        return Ok(bulk_payload(
            PAYLOAD,
            ERROR,
            shop,
            None,
            &[],
            &[not_found_error()],
        ));
    };
    let list = ctx
        .args
        .get("variants")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let partial = ctx
        .args
        .get("allowPartialUpdates")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let mut options = product_options(&product);
    let mut errors = Vec::new();
    let drafts = read_bulk(&list, &product, &mut options, false, &mut errors);
    let mut variants = current_variants(&product);
    let mut updated: Vec<Id> = Vec::new();
    for (i, draft) in drafts.into_iter().enumerate() {
        let Some(draft) = draft else { continue };
        let Some(id) = draft.id else { continue };
        if !draft.option_values.is_empty() {
            let clash = product.variant_ids.iter().any(|&other| {
                other != id && same(&option_values_of(shop, other), &draft.option_values)
            });
            if clash {
                errors.push(duplicate_error(i, &draft.option_values));
                continue;
            }
        }
        if let Some(slot) = variants.iter_mut().find(|d| d.id == Some(id)) {
            *slot = draft;
            updated.push(id);
        }
    }
    if !errors.is_empty() && (!partial || updated.is_empty()) {
        return Ok(bulk_payload(PAYLOAD, ERROR, shop, None, &[], &errors));
    }
    let draft = ProductDraft {
        options: Some(options),
        variants: Some(variants),
        ..ProductDraft::default()
    };
    shop.set_product(product.id, draft).map_err(internal)?;
    Ok(bulk_payload(
        PAYLOAD,
        ERROR,
        shop,
        Some(product.id),
        &updated,
        &errors,
    ))
}
