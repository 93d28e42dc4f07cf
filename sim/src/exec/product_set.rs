//! `productSet`: create or update a whole product from an external source, with Shopify's
//! semantics (see `shop/products.rs`): scalars given replace, omitted stay; list fields given
//! replace the product's; any user error writes nothing. `synchronous: false` records a
//! `ProductSetOperation` that `productOperation` reports `ACTIVE`, then `COMPLETE`.
//!
//! Every successful call announces `products/create` or `products/update`, even when nothing
//! changed, because Shopify does: clients must cope with their own echoes.

use serde_json::{Map, Value, json};

use super::customers::{internal, object_arg, one_of};
use super::objects::{APP_NAMESPACE, product_tree};
use super::product_input::{
    Check, read_collections, read_files, read_metafields, read_options, read_scalars, read_variants,
};
use super::product_trees::product_operation_tree;
use super::{RootCtx, RootError};
use crate::gid;
use crate::shop::{Id, ProductDraft, ProductUserError, Shop};

/// The product a `productSet` writes.
enum Target {
    Update(Id),
    Create,
}

fn error(field: &[&str], message: impl Into<String>, code: &'static str) -> ProductUserError {
    ProductUserError {
        field: field.iter().map(|f| f.to_string()).collect(),
        message: message.into(),
        code,
    }
}

/// Which product the identifier (or `input.id`) names; `Create` when it names none that can be
/// created (a handle or custom id not found), an error when an id is not found.
fn target(
    shop: &Shop,
    identifier: Option<&Map<String, Value>>,
    input: &Map<String, Value>,
    errors: &mut Vec<ProductUserError>,
) -> Result<(Target, Option<String>), RootError> {
    let input_id = input.get("id").filter(|v| !v.is_null());
    let by_id =
        |text: &str, field: &[&str], errors: &mut Vec<ProductUserError>| match gid::parse_kind(
            text, "Product",
        )
        .filter(|id| shop.products.contains_key(id))
        {
            Some(id) => Target::Update(id),
            None => {
                errors.push(error(field, "Product does not exist", "NOT_FOUND"));
                Target::Create
            }
        };
    let Some(identifier) = identifier else {
        return Ok(match input_id.and_then(|v| v.as_str()) {
            Some(id) => (by_id(id, &["input", "id"], errors), None),
            None => (Target::Create, None),
        });
    };
    if input_id.is_some() {
        errors.push(error(
            &["input", "id"],
            "The id field is not allowed if identifier is provided.",
            "ID_NOT_ALLOWED",
        ));
        return Ok((Target::Create, None));
    }
    let (kind, value) = one_of(identifier, "ProductSetIdentifiers")?;
    Ok(match kind {
        "id" => (
            by_id(
                value.as_str().unwrap_or_default(),
                &["identifier", "id"],
                errors,
            ),
            None,
        ),
        "handle" => {
            let handle = value.as_str().unwrap_or_default();
            if let Some(given) = input.get("handle").and_then(|v| v.as_str())
                && given != handle
            {
                errors.push(error(
                    &["input", "handle"],
                    "The input handle must match the identifier's handle",
                    "INPUT_MISMATCH",
                ));
            }
            match shop.product_by_handle(handle) {
                Some(p) => (Target::Update(p.id), None),
                None => (Target::Create, Some(handle.to_string())),
            }
        }
        _ => {
            let field = |k: &str| value.get(k).and_then(|v| v.as_str());
            let found = shop.product_by_metafield(
                field("namespace").unwrap_or(APP_NAMESPACE),
                field("key").unwrap_or_default(),
                field("value").unwrap_or_default(),
            );
            match found {
                Some(p) => (Target::Update(p.id), None),
                None => (Target::Create, None),
            }
        }
    })
}

/// Read and check the whole input; the draft when it is valid.
fn plan(
    shop: &Shop,
    input: &Map<String, Value>,
    target: Option<Id>,
    errors: &mut Vec<ProductUserError>,
) -> Option<ProductDraft> {
    let product = target.and_then(|id| shop.products.get(&id));
    let mut check = Check {
        errors,
        prefix: vec!["input".to_string()],
    };
    let mut draft = read_scalars(shop, input, product, &mut check);
    let list = |key: &str| input.get(key).and_then(|v| v.as_array());
    let mut options = match list("productOptions") {
        Some(given) => read_options(given, &mut check),
        None => None,
    };
    if let Some(variants) = list("variants") {
        if list("productOptions").is_none() {
            check.fail(
                &["productOptions"],
                "Must specify product options when updating variants.",
                "PRODUCT_OPTIONS_INPUT_MISSING",
            );
        } else if let Some(opts) = options.as_mut() {
            draft.variants = read_variants(variants, opts, product, &mut check);
        }
    } else if list("productOptions").is_some() {
        check.fail(
            &["variants"],
            "Must specify variants when updating options.",
            "VARIANTS_INPUT_MISSING",
        );
    }
    draft.options = options;
    if let Some(metafields) = list("metafields") {
        draft.metafields = read_metafields(metafields, product, &mut check);
    }
    if let Some(collections) = list("collections") {
        draft.collections = read_collections(shop, collections, "collections", &mut check);
    }
    if let Some(files) = list("files") {
        draft.files = read_files(files, product, &mut check);
    }
    check.errors.is_empty().then_some(draft)
}

fn payload(product: Value, operation: Value, errors: &[ProductUserError]) -> Value {
    json!({
        "__typename": "ProductSetPayload",
        "product": product,
        "productSetOperation": operation,
        "userErrors": errors.iter().map(|e| json!({
            "__typename": "ProductSetUserError",
            "field": e.field,
            "message": e.message,
            "code": e.code,
        })).collect::<Vec<_>>(),
    })
}

pub(super) fn product_set(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let identifier = ctx
        .args
        .get("identifier")
        .and_then(|v| v.as_object())
        .cloned();
    let input = object_arg(ctx, "input");
    // Inside a bulk mutation Shopify runs productSet synchronously whatever was asked: the
    // operation itself is the asynchronous part.
    let synchronous = ctx.in_bulk
        || ctx
            .args
            .get("synchronous")
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
    let mut errors = Vec::new();
    let (found, identifier_handle) = target(shop, identifier.as_ref(), &input, &mut errors)?;
    let target_id = match found {
        Target::Update(id) => Some(id),
        Target::Create => None,
    };
    let draft = if errors.is_empty() {
        plan(shop, &input, target_id, &mut errors)
    } else {
        None
    };
    let written = match draft {
        Some(mut draft) => Some(match target_id {
            Some(id) => {
                shop.set_product(id, draft).map_err(internal)?;
                id
            }
            None => {
                // Created from a handle identifier: the product gets that handle.
                if draft.handle.is_none() {
                    draft.handle = identifier_handle;
                }
                shop.create_product(draft)
            }
        }),
        None => None,
    };
    if synchronous {
        let product = written
            .and_then(|id| shop.products.get(&id))
            .map_or(Value::Null, |p| product_tree(shop, p));
        return Ok(payload(product, Value::Null, &errors));
    }
    let op = shop.record_product_operation(written, errors);
    let tree = shop
        .product_operations
        .get(&op)
        .map_or(Value::Null, |o| product_operation_tree(shop, o, true));
    Ok(payload(Value::Null, tree, &[]))
}

/// `productSet`'s cost: 10 plus, rounded up, 0.2 per variant, 1.9 per file and 0.4 per
/// metafield of the input (the per-item costs the schema documents).
pub fn product_set_cost(args: &Map<String, Value>) -> u64 {
    let input = args.get("input");
    let count = |key: &str| {
        input
            .and_then(|i| i.get(key))
            .and_then(|v| v.as_array())
            .map_or(0, Vec::len) as u64
    };
    let tenths = 2 * count("variants") + 19 * count("files") + 4 * count("metafields");
    crate::cost::MUTATION_COST + tenths.div_ceil(10)
}
