//! `productByIdentifier` and `productOperation`.

use serde_json::Value;

use super::customers::{object_arg, one_of};
use super::objects::{APP_NAMESPACE, product_tree};
use super::product_trees::product_operation_tree;
use super::{RootCtx, RootError};
use crate::gid;
use crate::shop::Shop;

/// The product with this id, handle or custom id (`customId.namespace` defaults to `$app`);
/// null when there is none.
pub(super) fn product_by_identifier(
    shop: &Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    let identifier = object_arg(ctx, "identifier");
    let (kind, value) = one_of(&identifier, "ProductIdentifierInput")?;
    let text = value.as_str().unwrap_or_default();
    let found = match kind {
        "id" => {
            let Some(g) = gid::parse(text) else {
                return Err(RootError::new(
                    "argumentLiteralsIncompatible",
                    format!("Invalid global id '{text}'"),
                ));
            };
            (g.kind == "Product")
                .then(|| shop.products.get(&g.id))
                .flatten()
        }
        "handle" => shop.product_by_handle(text),
        _ => {
            let field = |k: &str| value.get(k).and_then(|v| v.as_str());
            shop.product_by_metafield(
                field("namespace").unwrap_or(APP_NAMESPACE),
                field("key").unwrap_or_default(),
                field("value").unwrap_or_default(),
            )
        }
    };
    Ok(found.map_or(Value::Null, |p| product_tree(shop, p)))
}

/// A `productSet` operation. Reading it is what moves it on (`ACTIVE`, then `COMPLETE`), so
/// this query needs the shop mutably.
pub(super) fn product_operation(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    let Some(id) = ctx.id_arg("id", "ProductSetOperation")? else {
        return Ok(Value::Null);
    };
    Ok(shop
        .read_product_operation(id)
        .map_or(Value::Null, |op| product_operation_tree(shop, &op, false)))
}
