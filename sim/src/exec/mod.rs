//! Execution: run an operation's root fields against the shop and project the results.
//!
//! Root fields run one after another (mutations must, and queries may as well: the shop is
//! locked for the whole request, so every response is a consistent snapshot). Each root
//! resolver returns a value tree (see `project.rs`); the projector turns it into the
//! response. One file per group of root fields:
//! - `orders.rs`: `orders`, `order`;
//! - `catalog.rs`: `products`, `product`, `productVariants`, `productVariant`;
//! - `inventory.rs`: `inventoryItems`, `inventoryItem`, `inventoryLevel`, `locations`, `location`;
//! - `inventory_set.rs`: the `inventorySetQuantities` mutation;
//! - `bulk.rs`: `bulkOperationRunQuery`, `bulkOperation`, `currentBulkOperation`, with
//!   nested connections split into lines in `bulk_nested.rs`;
//! - `bulk_mutation.rs`: `stagedUploadsCreate` and `bulkOperationRunMutation`;
//! - `webhooks.rs`: `webhookSubscriptions`, `webhookSubscription` and their mutations;
//! - `misc.rs`: `shop`, `customer`, `customers`, `node`, `nodes`;
//! - `fulfillments.rs`: `fulfillmentOrder`, `fulfillmentOrders`, `fulfillment` and the
//!   mutations `fulfillmentCreate`, `fulfillmentTrackingInfoUpdate`, `fulfillmentEventCreate`,
//!   `fulfillmentOrderHold`, `fulfillmentOrderReleaseHold`;
//! - `customers.rs`: `customerByIdentifier` and the customer mutations (`customerCreate`,
//!   `customerUpdate`, `customerSet`, `customerDelete`, `tagsAdd`, `tagsRemove`,
//!   `metafieldsSet`, the tax exemption and marketing consent mutations);
//! - `products.rs`: `productByIdentifier`, `productOperation`;
//! - `product_set.rs`: the `productSet` mutation (and its cost);
//! - `product_mutations.rs`: `productCreate`, `productUpdate`, `productDelete`,
//!   `productVariantsBulkCreate`, `productVariantsBulkUpdate`;
//! - `product_input.rs`: reading and checking the product inputs those share;
//! - `returns.rs`: `return`, `returnReasonDefinitions` and the return mutations
//!   (`returnRequest`, `returnApproveRequest`, `returnDeclineRequest`, `returnCancel`,
//!   `returnClose`, `returnReopen`, `returnProcess`);
//! - `refunds.rs`: `refund` and `refundCreate` (`@idempotent`);
//! - `objects.rs`: the resource trees and the reference resolver shared by all of them, with
//!   the catalogue's trees in `product_trees.rs`, the fulfillment orders', fulfillments'
//!   and their events' in `fulfillment_trees.rs`, and the returns', refunds' and
//!   transactions' in `return_trees.rs`.

mod bulk;
mod bulk_mutation;
mod bulk_nested;
mod catalog;
mod customers;
mod fulfillment_trees;
mod fulfillments;
mod inventory;
mod inventory_set;
mod misc;
pub mod objects;
mod orders;
mod product_input;
mod product_mutations;
mod product_set;
mod product_trees;
mod products;
mod refunds;
mod return_trees;
mod returns;
#[cfg(test)]
mod tests;
mod webhooks;

use apollo_compiler::Node;
use apollo_compiler::executable::Field;
use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue};
use serde_json::{Map, Value, json};

use super::document::{
    PathSegment, Prepared, arguments, directive_argument, error_at, path_segments,
};
use super::pagination::{PageArgs, SortKey, paginate};
use super::project::{Bubble, Out, Projector};
use super::search::{self, Searchable};
use super::shop::Shop;
use crate::schema::admin_schema;
use objects::ShopResolver;
pub use product_set::product_set_cost;

/// Shopify's limit on the length of any input list.
pub const MAX_INPUT_LIST: usize = 250;

/// Mutations that, since 2026-04, fail without `@idempotent(key:)`.
const IDEMPOTENCY_REQUIRED: &[&str] = &[
    "inventorySetQuantities",
    "inventoryAdjustQuantities",
    "inventoryMoveQuantities",
    "inventorySetOnHandQuantities",
    "refundCreate",
];

/// What running an operation produced.
#[derive(Debug)]
pub struct Outcome {
    /// `data`: an object, or null when a non-null root field failed.
    pub data: Out,
    pub errors: Vec<GraphQLError>,
    /// `extensions.search`: warnings about unknown search fields.
    pub search: Vec<Value>,
    /// Root field names executed (for statistics).
    pub root_fields: Vec<String>,
    /// Inventory quantities actually written (replays and failures write none).
    pub quantities_written: u64,
    /// Variable lines run by bulk mutations.
    pub bulk_mutation_lines: u64,
}

/// A root resolver's failure: becomes a field error at the root field.
#[derive(Debug)]
pub(crate) struct RootError {
    pub message: String,
    pub code: &'static str,
}

impl RootError {
    pub fn new(code: &'static str, message: impl Into<String>) -> RootError {
        RootError {
            message: message.into(),
            code,
        }
    }
}

/// What a root resolver gets.
pub(crate) struct RootCtx<'a> {
    pub field: &'a Node<Field>,
    pub args: Map<String, Value>,
    pub prepared: &'a Prepared,
    /// `extensions.search` entries.
    pub search: &'a mut Vec<Value>,
    pub quantities_written: &'a mut u64,
    /// Variable lines run by `bulkOperationRunMutation`.
    pub bulk_lines: &'a mut u64,
    /// Running inside a bulk operation, where Shopify runs `productSet` synchronously.
    pub in_bulk: bool,
}

impl RootCtx<'_> {
    /// The response key, for paths.
    pub fn key(&self) -> String {
        self.field.response_key().to_string()
    }

    /// A required ID argument of the given type: `Ok(None)` when it is a well-formed GID of
    /// another type or unknown id (the field is then null), an error when it is not a GID.
    pub fn id_arg(&self, name: &str, kind: &str) -> Result<Option<u64>, RootError> {
        let text = self
            .args
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        match super::gid::parse(text) {
            Some(g) if g.kind == kind => Ok(Some(g.id)),
            Some(_) => Ok(None),
            None => Err(RootError::new(
                "argumentLiteralsIncompatible",
                format!("Invalid global id '{text}'"),
            )),
        }
    }

    /// Filter `items` with the `query:` argument, sort them by `sort`, page them, render
    /// each with `tree`: a root connection.
    pub fn search_connection<'t, T: Searchable + 't>(
        &mut self,
        items: impl Iterator<Item = &'t T>,
        sort: impl Fn(&T) -> SortKey,
        tree: impl Fn(&T) -> Value,
    ) -> Result<Value, RootError> {
        let page_args =
            PageArgs::from_args(&self.args).map_err(|m| RootError::new("BAD_REQUEST", m))?;
        let query_text = self
            .args
            .get("query")
            .and_then(|q| q.as_str())
            .unwrap_or("");
        let query = search::parse(query_text);
        let unknown = query.unknown_fields::<T>();
        if !unknown.is_empty() {
            self.search.push(json!({
                "path": [self.key()],
                "query": query_text,
                "warnings": unknown.iter().map(|f| json!({
                    "field": f,
                    "message": "Invalid search field for this query.",
                })).collect::<Vec<_>>(),
            }));
        }
        let keyed: Vec<(SortKey, &T)> = items
            .filter(|item| query.matches(*item))
            .map(|item| (sort(item), item))
            .collect();
        let page = paginate(keyed, &page_args).map_err(|m| RootError::new("BAD_REQUEST", m))?;
        let page = super::pagination::Page {
            edges: page
                .edges
                .into_iter()
                .map(|(c, item)| (c, tree(item)))
                .collect(),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
        };
        Ok(page.into_marker())
    }
}

/// Run the prepared operation against the shop.
pub fn execute(shop: &mut Shop, prepared: &Prepared) -> Outcome {
    execute_with(shop, prepared, false)
}

/// [`execute`], or one line of a bulk mutation with `in_bulk`.
fn execute_with(shop: &mut Shop, prepared: &Prepared, in_bulk: bool) -> Outcome {
    let schema = admin_schema();
    let document = &prepared.document;
    let root_type = match prepared.operation.operation_type {
        apollo_compiler::ast::OperationType::Mutation => "Mutation",
        _ => "QueryRoot",
    };
    let mut outcome = Outcome {
        data: JsonValue::Null,
        errors: Vec::new(),
        search: Vec::new(),
        root_fields: Vec::new(),
        quantities_written: 0,
        bulk_mutation_lines: 0,
    };
    let groups = {
        let resolver = ShopResolver { shop };
        let projector = Projector::new(schema, document, &prepared.variables, &resolver);
        projector.collect(&[&prepared.operation.selection_set], root_type)
    };
    let mut data = JsonMap::new();
    let mut data_is_null = false;
    for (key, group) in groups {
        // Groups are never empty: each was created with its first field.
        let Some(field) = group.first() else { continue };
        let mut path = vec![PathSegment::Key(key.clone())];
        if field.name == "__typename" {
            data.insert(key.as_str(), JsonValue::from(root_type));
            continue;
        }
        outcome.root_fields.push(field.name.to_string());
        let resolved = {
            let mut ctx = RootCtx {
                field,
                args: arguments(field, &prepared.variables),
                prepared,
                search: &mut outcome.search,
                quantities_written: &mut outcome.quantities_written,
                bulk_lines: &mut outcome.bulk_mutation_lines,
                in_bulk,
            };
            check_input_lists(&ctx.args, field.name.as_str()).and_then(|()| {
                if prepared.is_mutation() {
                    run_mutation(shop, &mut ctx)
                } else {
                    run_query(shop, &mut ctx)
                }
            })
        };
        let completed = match resolved {
            Ok(value) => {
                let resolver = ShopResolver { shop };
                let mut projector =
                    Projector::new(schema, document, &prepared.variables, &resolver);
                let done = projector.complete(&field.definition.ty, &group, value, &mut path);
                outcome.errors.append(&mut projector.errors);
                done
            }
            Err(e) => {
                let mut error = error_at(e.message, field.location(), &document.sources, e.code);
                error.path = path_segments(&path);
                outcome.errors.push(error);
                if field.definition.ty.is_non_null() {
                    Err(Bubble)
                } else {
                    Ok(JsonValue::Null)
                }
            }
        };
        match completed {
            Ok(v) => {
                data.insert(key.as_str(), v);
            }
            Err(Bubble) => data_is_null = true,
        }
    }
    if !data_is_null {
        outcome.data = JsonValue::Object(data);
    }
    outcome
}

fn run_query(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let name = ctx.field.name.as_str();
    if name == "productOperation" {
        return products::product_operation(shop, ctx);
    }
    let shop: &Shop = shop;
    match name {
        "orders" => orders::orders(shop, ctx),
        "order" => orders::order(shop, ctx),
        "products" => catalog::products(shop, ctx),
        "product" => catalog::product(shop, ctx),
        "productVariants" => catalog::product_variants(shop, ctx),
        "productVariant" => catalog::product_variant(shop, ctx),
        "inventoryItems" => inventory::inventory_items(shop, ctx),
        "inventoryItem" => inventory::inventory_item(shop, ctx),
        "inventoryLevel" => inventory::inventory_level(shop, ctx),
        "locations" => inventory::locations(shop, ctx),
        "location" => inventory::location(shop, ctx),
        "bulkOperation" => bulk::bulk_operation(shop, ctx),
        "currentBulkOperation" => bulk::current_bulk_operation(shop, ctx),
        "webhookSubscriptions" => webhooks::subscriptions(shop, ctx),
        "webhookSubscription" => webhooks::subscription(shop, ctx),
        "shop" => Ok(objects::shop_tree(shop)),
        "customer" => misc::customer(shop, ctx),
        "customers" => misc::customers(shop, ctx),
        "customerByIdentifier" => customers::customer_by_identifier(shop, ctx),
        "productByIdentifier" => products::product_by_identifier(shop, ctx),
        "fulfillmentOrder" => fulfillments::fulfillment_order(shop, ctx),
        "fulfillmentOrders" => fulfillments::fulfillment_orders(shop, ctx),
        "fulfillment" => fulfillments::fulfillment(shop, ctx),
        "return" => returns::return_query(shop, ctx),
        "returnReasonDefinitions" => returns::reason_definitions(ctx),
        "refund" => refunds::refund_query(shop, ctx),
        "node" => misc::node(shop, ctx),
        "nodes" => misc::nodes(shop, ctx),
        _ => Err(not_implemented(name)),
    }
}

fn run_mutation(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let name = ctx.field.name.as_str();
    let key = idempotency_key(ctx)?;
    match name {
        "inventorySetQuantities" => {
            inventory_set::inventory_set_quantities(shop, ctx, key.as_deref())
        }
        "bulkOperationRunQuery" => bulk::run_query_mutation(shop, ctx),
        "bulkOperationRunMutation" => bulk_mutation::run_mutation(shop, ctx),
        "stagedUploadsCreate" => bulk_mutation::staged_uploads_create(shop, ctx),
        "webhookSubscriptionCreate" => webhooks::create(shop, ctx),
        "webhookSubscriptionDelete" => webhooks::delete(shop, ctx),
        "customerCreate" => customers::customer_create(shop, ctx),
        "customerUpdate" => customers::customer_update(shop, ctx),
        "customerSet" => customers::customer_set(shop, ctx),
        "customerDelete" => customers::customer_delete(shop, ctx),
        "tagsAdd" => customers::tags(shop, ctx, true),
        "tagsRemove" => customers::tags(shop, ctx, false),
        "metafieldsSet" => customers::metafields_set(shop, ctx),
        "customerReplaceTaxExemptions" => {
            customers::tax_exemptions(shop, ctx, customers::ExemptionChange::Replace)
        }
        "customerAddTaxExemptions" => {
            customers::tax_exemptions(shop, ctx, customers::ExemptionChange::Add)
        }
        "customerRemoveTaxExemptions" => {
            customers::tax_exemptions(shop, ctx, customers::ExemptionChange::Remove)
        }
        "customerEmailMarketingConsentUpdate" => customers::consent_update(shop, ctx, false),
        "customerSmsMarketingConsentUpdate" => customers::consent_update(shop, ctx, true),
        "fulfillmentCreate" => fulfillments::fulfillment_create(shop, ctx),
        "fulfillmentTrackingInfoUpdate" => fulfillments::tracking_info_update(shop, ctx),
        "fulfillmentEventCreate" => fulfillments::event_create(shop, ctx),
        "fulfillmentOrderHold" => fulfillments::hold(shop, ctx),
        "fulfillmentOrderReleaseHold" => fulfillments::release_hold(shop, ctx),
        "returnRequest" => returns::return_request(shop, ctx),
        "returnApproveRequest" => returns::approve_request(shop, ctx),
        "returnDeclineRequest" => returns::decline_request(shop, ctx),
        "returnCancel" => returns::cancel(shop, ctx),
        "returnClose" => returns::close(shop, ctx),
        "returnReopen" => returns::reopen(shop, ctx),
        "returnProcess" => returns::process(shop, ctx),
        "refundCreate" => refunds::refund_create(shop, ctx, key.as_deref()),
        "productSet" => product_set::product_set(shop, ctx),
        "productCreate" => product_mutations::product_create(shop, ctx),
        "productUpdate" => product_mutations::product_update(shop, ctx),
        "productDelete" => product_mutations::product_delete(shop, ctx),
        "productVariantsBulkCreate" => product_mutations::variants_bulk_create(shop, ctx),
        "productVariantsBulkUpdate" => product_mutations::variants_bulk_update(shop, ctx),
        _ => Err(not_implemented(name)),
    }
}

fn not_implemented(name: &str) -> RootError {
    RootError::new(
        "NOT_IMPLEMENTED",
        format!("xconnector simulator does not implement field {name}"),
    )
}

/// The `@idempotent(key:)` of a mutation field; an error when a mutation that requires it
/// (2026-04+) lacks it, or the key is blank.
fn idempotency_key(ctx: &RootCtx<'_>) -> Result<Option<String>, RootError> {
    let name = ctx.field.name.as_str();
    let key = directive_argument(
        &ctx.field.directives,
        "idempotent",
        "key",
        &ctx.prepared.variables,
    )
    .and_then(|k| k.as_str().map(str::to_string));
    match key {
        Some(k) if k.trim().is_empty() => Err(RootError::new(
            "BAD_REQUEST",
            "The idempotency key cannot be an empty string or whitespace only.",
        )),
        Some(k) => Ok(Some(k)),
        None if IDEMPOTENCY_REQUIRED.contains(&name) => Err(RootError::new(
            "IDEMPOTENCY_KEY_REQUIRED",
            format!(
                "An idempotency key is required for {name} as of API version 2026-04. \
                 Add @idempotent(key: \"<unique key>\") to the mutation field."
            ),
        )),
        None => Ok(None),
    }
}

/// Lists exempt from [`MAX_INPUT_LIST`]: (root field, argument path). `productSet` takes up to
/// 2048 variants, the per-product limit.
const LONG_INPUT_LISTS: &[(&str, &str)] = &[("productSet", "input.variants")];

/// Shopify rejects any input list longer than 250 items before executing.
fn check_input_lists(args: &Map<String, Value>, root: &str) -> Result<(), RootError> {
    let exempt = |path: &[String]| {
        let path = path.join(".");
        LONG_INPUT_LISTS
            .iter()
            .any(|(field, list)| *field == root && *list == path)
    };
    fn walk(
        value: &Value,
        path: &mut Vec<String>,
        exempt: &dyn Fn(&[String]) -> bool,
    ) -> Result<(), RootError> {
        match value {
            Value::Array(items) => {
                if items.len() > MAX_INPUT_LIST && !exempt(path) {
                    return Err(RootError::new(
                        "MAX_INPUT_SIZE_EXCEEDED",
                        format!(
                            "The input array size of {} is greater than the maximum allowed of {MAX_INPUT_LIST}.",
                            items.len()
                        ),
                    )
                    .at(path));
                }
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(item, path, exempt)?;
                    path.pop();
                }
                Ok(())
            }
            Value::Object(fields) => {
                for (k, v) in fields {
                    path.push(k.clone());
                    walk(v, path, exempt)?;
                    path.pop();
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    let mut path = Vec::new();
    for (k, v) in args {
        path.push(k.clone());
        walk(v, &mut path, &exempt)?;
        path.pop();
    }
    Ok(())
}

impl RootError {
    /// Name the offending input in the message (`input.quantities`).
    fn at(mut self, path: &[String]) -> RootError {
        self.message = format!("{} (argument: {})", self.message, path.join("."));
        self
    }
}
