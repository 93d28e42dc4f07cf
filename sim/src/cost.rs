//! Shopify's calculated query cost, requested (from the document, before execution) and actual
//! (from the response, after execution).
//!
//! The rules (shopify.dev "GraphQL Admin API rate limits", SHOPIFY-NOTES §2.1):
//! - a scalar or enum field costs 0, `__typename` too;
//! - an object, interface or union field costs 1 plus its selection; for an abstract type, the
//!   type-specific fragments count as the most expensive one of them, not their sum;
//! - a connection (a field with `first`/`last` whose type has `pageInfo`) costs
//!   [`connection_cost`]`(first or last, cost of the node's selection)`;
//! - a list of objects that is not a connection costs like one object (Shopify prices these by
//!   hand; one is the common case);
//! - each mutation root field costs [`MUTATION_COST`], whatever it selects; `productSet` costs
//!   that plus a share per variant, file and metafield of its input (`product_set_cost`).
//!
//! The actual cost applies the same rules to what the response holds: a connection that
//! returned 3 of the 50 requested nodes is charged for 3, and a null object for nothing. The
//! bucket refunds requested − actual. Actual never exceeds requested.

use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::response::JsonValue;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{ExecutableDocument, Node, Schema};
use serde_json::{Map, Value};

use super::document::{arguments, included, int_argument};

/// A single query may not request more than this.
pub const MAX_QUERY_COST: u64 = 1000;

/// What a mutation root field costs.
pub const MUTATION_COST: u64 = 10;

/// The cost of a connection field: a fixed 2 (the connection and its `pageInfo`) plus, per
/// requested node, 1 for the node and the cost of what is selected inside it.
/// `orders(first: 10) { edges { node { id name } } }` costs 2 + 10 × (1 + 0) = 12, as on Shopify;
/// nesting multiplies: `products(first: 10) { nodes { variants(first: 5) { nodes { id } } } }`
/// costs 2 + 10 × (1 + (2 + 5 × 1)) = 82.
pub fn connection_cost(page_size: u64, per_node_selection: u64) -> u64 {
    2u64.saturating_add(page_size.saturating_mul(1u64.saturating_add(per_node_selection)))
}

/// Everything the calculation reads.
pub struct CostContext<'a> {
    pub schema: &'a Schema,
    pub document: &'a ExecutableDocument,
    pub variables: &'a Map<String, Value>,
}

impl CostContext<'_> {
    /// The requested cost of an operation's root selection.
    pub fn requested(&self, root: &SelectionSet, is_mutation: bool) -> u64 {
        if is_mutation {
            return self
                .root_fields(root)
                .iter()
                .filter(|f| !f.name.starts_with("__"))
                .map(|f| self.mutation_cost(f))
                .sum();
        }
        self.selection_cost(root, &mut |ctx, field| ctx.requested_field(field))
    }

    /// The actual cost, given the response's `data`.
    pub fn actual(&self, root: &SelectionSet, is_mutation: bool, data: &JsonValue) -> u64 {
        if is_mutation {
            return self.requested(root, true);
        }
        self.actual_selection(root, data)
    }

    /// [`MUTATION_COST`], except for mutations priced by their input (`productSet`).
    fn mutation_cost(&self, field: &Field) -> u64 {
        match field.name.as_str() {
            "productSet" => crate::exec::product_set_cost(&arguments(field, self.variables)),
            _ => MUTATION_COST,
        }
    }

    fn root_fields(&self, set: &SelectionSet) -> Vec<Node<Field>> {
        let mut out = Vec::new();
        collect_fields(self, set, &mut out);
        out
    }

    fn requested_field(&self, field: &Field) -> u64 {
        if !self.is_composite(field) {
            return 0;
        }
        if let Some(size) = self.page_size(field) {
            let per_node = self.node_selections(&field.selection_set, None);
            return connection_cost(size, per_node);
        }
        1u64.saturating_add(
            self.selection_cost(&field.selection_set, &mut |ctx, f| ctx.requested_field(f)),
        )
    }

    /// The cost of a node's selection inside a connection: the dearer of `edges { node }` and
    /// `nodes` (both read the same records). With `data`, over the actual nodes instead.
    fn node_selections(&self, connection: &SelectionSet, data: Option<&JsonValue>) -> u64 {
        let mut fields = Vec::new();
        collect_fields(self, connection, &mut fields);
        let mut best = 0u64;
        for f in fields {
            match (f.name.as_str(), data) {
                ("nodes", None) => {
                    best = best.max(
                        self.selection_cost(&f.selection_set, &mut |ctx, g| ctx.requested_field(g)),
                    )
                }
                ("edges", None) => {
                    let mut edge_fields = Vec::new();
                    collect_fields(self, &f.selection_set, &mut edge_fields);
                    for e in edge_fields.iter().filter(|e| e.name == "node") {
                        best = best.max(self.selection_cost(&e.selection_set, &mut |ctx, g| {
                            ctx.requested_field(g)
                        }));
                    }
                }
                ("nodes", Some(conn)) => {
                    let nodes = conn
                        .get(f.response_key().as_str())
                        .and_then(|v| v.as_array());
                    let sum = nodes.map_or(0, |ns| {
                        ns.iter().fold(0u64, |acc, n| {
                            acc.saturating_add(1)
                                .saturating_add(self.actual_selection(&f.selection_set, n))
                        })
                    });
                    best = best.max(sum);
                }
                ("edges", Some(conn)) => {
                    let edges = conn
                        .get(f.response_key().as_str())
                        .and_then(|v| v.as_array());
                    let mut edge_fields = Vec::new();
                    collect_fields(self, &f.selection_set, &mut edge_fields);
                    for e in edge_fields.iter().filter(|e| e.name == "node") {
                        let sum = edges.map_or(0, |es| {
                            es.iter().fold(0u64, |acc, edge| {
                                let node = edge.get(e.response_key().as_str());
                                let inner =
                                    node.map_or(0, |n| self.actual_selection(&e.selection_set, n));
                                acc.saturating_add(1).saturating_add(inner)
                            })
                        });
                        best = best.max(sum);
                    }
                }
                _ => {}
            }
        }
        best
    }

    fn actual_selection(&self, set: &SelectionSet, data: &JsonValue) -> u64 {
        let Some(object) = data.as_object() else {
            return 0;
        };
        let typename = object.get("__typename").and_then(|t| t.as_str());
        self.selection_cost_filtered(set, typename, &mut |ctx, field| {
            let value = object.get(field.response_key().as_str());
            ctx.actual_field(field, value)
        })
    }

    fn actual_field(&self, field: &Field, value: Option<&JsonValue>) -> u64 {
        let Some(value) = value else { return 0 };
        if value.is_null() || !self.is_composite(field) {
            return 0;
        }
        if self.page_size(field).is_some() {
            return 2u64.saturating_add(self.node_selections(&field.selection_set, Some(value)));
        }
        let inner = match value.as_array() {
            Some(items) => items
                .iter()
                .map(|item| self.actual_selection(&field.selection_set, item))
                .max()
                .unwrap_or(0),
            None => self.actual_selection(&field.selection_set, value),
        };
        1u64.saturating_add(inner)
    }

    /// Σ field costs of a selection set; fragments on the set's own type (or, for an object
    /// type, on anything it implements) add up, fragments on narrower types of an abstract
    /// parent count as the dearest one.
    fn selection_cost(
        &self,
        set: &SelectionSet,
        cost: &mut dyn FnMut(&Self, &Field) -> u64,
    ) -> u64 {
        self.selection_cost_filtered(set, None, cost)
    }

    fn selection_cost_filtered(
        &self,
        set: &SelectionSet,
        runtime_type: Option<&str>,
        cost: &mut dyn FnMut(&Self, &Field) -> u64,
    ) -> u64 {
        let parent = set.ty.as_str();
        let parent_is_object = self.schema.get_object(parent).is_some();
        let mut common = 0u64;
        let mut branches: Vec<(String, u64)> = Vec::new();
        for selection in &set.selections {
            let (condition, inner) = match selection {
                Selection::Field(f) => {
                    if included(&f.directives, self.variables) {
                        common = common.saturating_add(cost(self, f));
                    }
                    continue;
                }
                Selection::InlineFragment(frag) => {
                    if !included(&frag.directives, self.variables) {
                        continue;
                    }
                    (
                        frag.type_condition.as_ref().map(|t| t.to_string()),
                        &frag.selection_set,
                    )
                }
                Selection::FragmentSpread(spread) => {
                    if !included(&spread.directives, self.variables) {
                        continue;
                    }
                    let Some(fragment) = self.document.fragments.get(&spread.fragment_name) else {
                        continue;
                    };
                    (
                        Some(fragment.selection_set.ty.to_string()),
                        &fragment.selection_set,
                    )
                }
            };
            let condition = condition.unwrap_or_else(|| parent.to_string());
            if let Some(rt) = runtime_type {
                if condition == rt || self.schema.is_subtype(&condition, rt) {
                    common = common.saturating_add(self.selection_cost_filtered(
                        inner,
                        runtime_type,
                        cost,
                    ));
                }
                continue;
            }
            let sub = self.selection_cost_filtered(inner, None, cost);
            if condition == parent || parent_is_object {
                common = common.saturating_add(sub);
            } else {
                match branches.iter_mut().find(|(c, _)| *c == condition) {
                    Some((_, total)) => *total = total.saturating_add(sub),
                    None => branches.push((condition, sub)),
                }
            }
        }
        common.saturating_add(branches.iter().map(|(_, c)| *c).max().unwrap_or(0))
    }

    fn is_composite(&self, field: &Field) -> bool {
        matches!(
            self.schema
                .types
                .get(field.definition.ty.inner_named_type()),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_))
        )
    }

    /// `Some(first or last)` for a connection field; `None` for anything else. A connection
    /// without either argument is priced as 0 nodes (execution rejects it anyway).
    fn page_size(&self, field: &Field) -> Option<u64> {
        let ty = field.definition.ty.inner_named_type();
        let is_connection = self
            .schema
            .get_object(ty)
            .is_some_and(|o| o.fields.contains_key("pageInfo"))
            && (field.definition.argument_by_name("first").is_some()
                || field.definition.argument_by_name("last").is_some());
        if !is_connection {
            return None;
        }
        let first = int_argument(field, "first", self.variables);
        let last = int_argument(field, "last", self.variables);
        Some(first.or(last).unwrap_or(0).max(0) as u64)
    }
}

/// The fields of a selection set with fragments flattened (for the root and connections,
/// whose fragments can only be on the same type). `Node`s are reference-counted handles, so
/// collecting them is cheap and frees the result from the borrow of the fragment definitions.
fn collect_fields(ctx: &CostContext<'_>, set: &SelectionSet, out: &mut Vec<Node<Field>>) {
    for selection in &set.selections {
        match selection {
            Selection::Field(f) => {
                if included(&f.directives, ctx.variables) {
                    out.push(f.clone());
                }
            }
            Selection::InlineFragment(frag) => {
                if included(&frag.directives, ctx.variables) {
                    collect_fields(ctx, &frag.selection_set, out);
                }
            }
            Selection::FragmentSpread(spread) => {
                if included(&spread.directives, ctx.variables)
                    && let Some(fragment) = ctx.document.fragments.get(&spread.fragment_name)
                {
                    collect_fields(ctx, &fragment.selection_set, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{GraphqlRequest, prepare};
    use crate::schema::admin_schema;
    use serde_json::json;

    fn requested(query: &str, variables: Value) -> u64 {
        let prepared = prepare(&GraphqlRequest {
            query: query.into(),
            variables: variables.as_object().cloned().unwrap_or_default(),
            operation_name: None,
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        let ctx = CostContext {
            schema: admin_schema(),
            document: &prepared.document,
            variables: &prepared.variables,
        };
        ctx.requested(&prepared.operation.selection_set, prepared.is_mutation())
    }

    #[test]
    fn requested_costs_of_known_documents() {
        assert_eq!(requested("{ shop { name currencyCode } }", json!({})), 1);
        assert_eq!(
            requested(
                "{ orders(first: 10) { edges { cursor node { id name } } pageInfo { hasNextPage } } }",
                json!({})
            ),
            12
        );
        assert_eq!(
            requested(
                "{ products(first: 10) { nodes { id variants(first: 5) { nodes { id } } } } }",
                json!({})
            ),
            82
        );
        assert_eq!(
            requested(
                "query Q($n: Int) { orders(first: $n) { nodes { id } } }",
                json!({"n": 100})
            ),
            102
        );
        // Fragments count once for an object type; @skip removes a field.
        let fragments = r#"query { order(id: "gid://shopify/Order/1") { ...F customer { id } } }
            fragment F on Order { billingAddress { city } shippingAddress @skip(if: true) { city } }"#;
        assert_eq!(requested(fragments, json!({})), 3);
        // An interface: the dearest of the type-specific branches.
        let node = r#"{ node(id: "gid://shopify/Order/1") {
            id
            ... on Order { customer { id } }
            ... on Product { variants(first: 3) { nodes { id } } }
        } }"#;
        assert_eq!(requested(node, json!({})), 1 + 5);
        // Mutations cost 10 whatever they select.
        let mutation = r#"mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE,
            webhookSubscription: {uri: "https://example.com/h"}) {
            webhookSubscription { id } userErrors { field message } } }"#;
        assert_eq!(requested(mutation, json!({})), MUTATION_COST);
        assert_eq!(connection_cost(250, 0), 252);
        assert_eq!(connection_cost(u64::MAX, 3), u64::MAX, "saturates");
    }

    #[test]
    fn actual_cost_counts_what_came_back() {
        let prepared = prepare(&GraphqlRequest {
            query: "{ orders(first: 10) { nodes { id customer { id } } } shop { name } }".into(),
            ..GraphqlRequest::default()
        })
        .unwrap();
        let ctx = CostContext {
            schema: admin_schema(),
            document: &prepared.document,
            variables: &prepared.variables,
        };
        let root = &prepared.operation.selection_set;
        assert_eq!(ctx.requested(root, false), 2 + 10 * 2 + 1);
        let data = JsonValue::from(json!({
            "orders": {"nodes": [{"id": "a", "customer": {"id": "c"}}, {"id": "b", "customer": null}]},
            "shop": {"name": "Demo"}
        }));
        // 2 + (1 + 1) + (1 + 0) for the orders, 1 for the shop.
        assert_eq!(ctx.actual(root, false, &data), 2 + 2 + 1 + 1);
    }
}
