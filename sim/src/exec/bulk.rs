//! `bulkOperationRunQuery` (mutation), `bulkOperation(id:)` and `currentBulkOperation`.
//!
//! The inner query is parsed and validated against the schema like any request, must be a
//! query with exactly one root connection (Shopify's rule), and may nest connections within
//! Shopify's limits (see `bulk_nested.rs`). The root connection is read to the end 250 nodes
//! at a time through the same resolvers and projector as ordinary requests (nested
//! connections read whole); each node becomes one JSONL line, and each node of a nested
//! connection a line of its own with `__parentId`, after its parent or, with
//! `ChildOrder::Scattered`, anywhere. What a bulk query reads is not charged to the bucket:
//! only the mutation's flat cost is.

use apollo_compiler::executable::{Selection, SelectionSet};
use serde_json::{Map, Value, json};

use super::bulk_nested;
use super::objects::ShopResolver;
use super::{RootCtx, RootError, run_query};
use crate::bulk::{BulkOp, ChildOrder};
use crate::document::{GraphqlRequest, PathSegment, arguments, prepare};
use crate::project::Projector;
use crate::schema::admin_schema;
use crate::shop::{Id, Shop};

const PAGE: i64 = 250;

fn user_error(field: &[&str], message: impl Into<String>, code: &str) -> Value {
    json!({
        "__typename": "BulkOperationUserError",
        "field": field,
        "message": message.into(),
        "code": code,
    })
}

fn payload(op: Value, errors: Vec<Value>) -> Value {
    json!({
        "__typename": "BulkOperationRunQueryPayload",
        "bulkOperation": op,
        "userErrors": errors,
    })
}

pub(super) fn run_query_mutation(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    let query = ctx
        .args
        .get("query")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    match run(shop, &query) {
        Ok(id) => Ok(payload(created_tree(shop, id), Vec::new())),
        Err(message) => Ok(payload(
            Value::Null,
            vec![user_error(&["query"], message, "INVALID")],
        )),
    }
}

pub(super) fn bulk_operation(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "BulkOperation")?
        .and_then(|id| shop.bulk.ops.get(&id))
        .map_or(Value::Null, |op| op_tree(shop, op)))
}

pub(super) fn current_bulk_operation(
    shop: &Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    let kind = ctx
        .args
        .get("type")
        .and_then(|v| v.as_str())
        .unwrap_or("QUERY");
    Ok(shop
        .bulk
        .current(kind)
        .map_or(Value::Null, |op| op_tree(shop, op)))
}

/// An operation as `bulkOperationRun*` answers it: it exists, not yet run.
pub(super) fn created_tree(shop: &Shop, id: Id) -> Value {
    shop.bulk.ops.get(&id).map_or(Value::Null, |op| {
        let mut tree = op_tree(shop, op);
        tree["status"] = Value::from("CREATED");
        tree["url"] = Value::Null;
        tree["completedAt"] = Value::Null;
        tree
    })
}

fn op_tree(shop: &Shop, op: &BulkOp) -> Value {
    json!({
        "__typename": "BulkOperation",
        "id": format!("gid://shopify/BulkOperation/{}", op.id),
        "status": op.status,
        "errorCode": op.error_code,
        "createdAt": op.created_at.to_rfc3339(),
        "completedAt": op.completed_at.to_rfc3339(),
        "objectCount": op.object_count.to_string(),
        "rootObjectCount": op.root_object_count.to_string(),
        "fileSize": op.result.len().to_string(),
        "url": shop.bulk.url(op.id),
        "partialDataUrl": Value::Null,
        "query": op.query,
        "type": op.kind,
    })
}

/// Validates and runs the inner query; records the operation. `Err` is a user error.
fn run(shop: &mut Shop, query: &str) -> Result<Id, String> {
    let inner = prepare(&GraphqlRequest {
        query: query.to_string(),
        ..GraphqlRequest::default()
    })
    .map_err(|errors| {
        errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    if inner.is_mutation() {
        return Err("Bulk queries cannot contain mutations; use bulkOperationRunMutation.".into());
    }
    let schema = admin_schema();
    let groups = {
        let resolver = ShopResolver { shop };
        Projector::new(schema, &inner.document, &inner.variables, &resolver)
            .collect(&[&inner.operation.selection_set], "QueryRoot")
    };
    let connection = |name: &str| name.ends_with("Connection");
    let mut roots = groups.into_iter().filter(|(_, g)| {
        g.first()
            .is_some_and(|f| connection(f.definition.ty.inner_named_type().as_str()))
    });
    let (Some((key, group)), None) = (roots.next(), roots.next()) else {
        return Err("Bulk queries must contain exactly one top-level connection field.".into());
    };
    let Some(field) = group.first().cloned() else {
        return Err("Bulk queries must contain exactly one top-level connection field.".into());
    };
    // Where the nested connections are, checked against Shopify's limits before anything runs.
    let node_shape = {
        let node_sets = connection_node_sets(&field.selection_set, &inner.document);
        bulk_nested::shape(&node_sets, &inner.document)
    };
    bulk_nested::check(&node_shape)?;
    let scattered = shop.bulk.children == ChildOrder::Scattered;
    let mut lines = String::new();
    let (mut count, mut roots) = (0u64, 0u64);
    let mut after: Option<String> = None;
    loop {
        let mut args: Map<String, Value> = arguments(&field, &inner.variables);
        args.insert("first".into(), Value::from(PAGE));
        if let Some(cursor) = &after {
            args.insert("after".into(), Value::from(cursor.clone()));
        }
        let (mut search, mut written, mut bulk_lines) = (Vec::new(), 0u64, 0u64);
        let value = {
            let mut ctx = RootCtx {
                field: &field,
                args,
                prepared: &inner,
                search: &mut search,
                quantities_written: &mut written,
                bulk_lines: &mut bulk_lines,
                in_bulk: true,
            };
            run_query(shop, &mut ctx).map_err(|e| e.message)?
        };
        let page = &value["__page"];
        let has_next = page["hasNextPage"].as_bool().unwrap_or(false);
        let cursor = page["edges"]
            .as_array()
            .and_then(|edges| edges.last())
            .and_then(|edge| edge["cursor"].as_str())
            .map(str::to_string);
        let projected = {
            let resolver = ShopResolver { shop };
            let mut projector =
                Projector::new(schema, &inner.document, &inner.variables, &resolver);
            projector.whole_connections = true;
            let mut path = vec![PathSegment::Key(key.clone())];
            projector
                .complete(&field.definition.ty, &group, value, &mut path)
                .map_err(|_| "the bulk query's root connection resolved to null".to_string())?
        };
        let projected = serde_json::to_value(projected).map_err(|e| e.to_string())?;
        let nodes: Vec<Value> = match (projected.get("nodes"), projected.get("edges")) {
            (Some(Value::Array(nodes)), _) => nodes.clone(),
            (_, Some(Value::Array(edges))) => edges
                .iter()
                .filter_map(|e| e.get("node").cloned())
                .collect(),
            _ => Vec::new(),
        };
        let (mut parents, mut children) = (Vec::new(), Vec::new());
        for node in nodes {
            let mut split = bulk_nested::split(node, &node_shape)?.into_iter();
            roots += 1;
            if scattered {
                parents.extend(split.next());
                children.extend(split);
            } else {
                parents.extend(split);
            }
        }
        // Scattered: the page's children first, last to first, then their parents.
        for line in children.iter().rev().chain(&parents) {
            lines.push_str(&line.to_string());
            lines.push('\n');
            count += 1;
        }
        match cursor {
            Some(c) if has_next => after = Some(c),
            _ => break,
        }
    }
    let id = shop.next_id();
    let now = shop.now();
    shop.bulk.ops.insert(
        id,
        BulkOp {
            id,
            kind: "QUERY",
            query: query.to_string(),
            status: "COMPLETED",
            error_code: None,
            created_at: now,
            completed_at: now,
            object_count: count,
            root_object_count: roots,
            result: lines,
        },
    );
    Ok(id)
}

/// The selection sets of the root connection's nodes (`edges { node }` or `nodes`).
fn connection_node_sets<'a>(
    set: &'a SelectionSet,
    doc: &'a apollo_compiler::ExecutableDocument,
) -> Vec<&'a SelectionSet> {
    let mut out = Vec::new();
    for s in &set.selections {
        match s {
            Selection::Field(f) if f.name == "nodes" => out.push(&f.selection_set),
            Selection::Field(f) if f.name == "edges" => {
                out.extend(f.selection_set.selections.iter().filter_map(|n| match n {
                    Selection::Field(n) if n.name == "node" => Some(&n.selection_set),
                    _ => None,
                }));
            }
            Selection::Field(_) => {}
            Selection::InlineFragment(i) => out.extend(connection_node_sets(&i.selection_set, doc)),
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = doc.fragments.get(&spread.fragment_name) {
                    out.extend(connection_node_sets(&fragment.selection_set, doc));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::{Value, json};
    use tokio::time::Instant;

    use crate::ShopHandle;
    use crate::bucket::{Bucket, BucketConfig};
    use crate::document::GraphqlRequest;
    use crate::graphql::Pipeline;
    use crate::seed::SeedSize;
    use crate::shop::Shop;
    use crate::stats::SimStats;

    fn run(shop: &ShopHandle, query: &str, variables: Value) -> Value {
        let bucket = Mutex::new(Bucket::new(BucketConfig::standard(), Instant::now()));
        let stats = Mutex::new(SimStats::default());
        let pipeline = Pipeline {
            shop,
            bucket: &bucket,
            stats: &stats,
        };
        let out = pipeline.run(&GraphqlRequest {
            query: query.into(),
            variables: variables.as_object().cloned().unwrap_or_default(),
            operation_name: None,
        });
        serde_json::to_value(out).unwrap()
    }

    const RUN: &str = "mutation R($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: false) { bulkOperation { id status } userErrors { field message code } } }";

    #[tokio::test]
    async fn a_bulk_query_maps_every_inventory_item_in_jsonl() {
        let size = SeedSize {
            products: 100,
            ..SeedSize::small()
        };
        let mut shop = Shop::seed(1, &size);
        shop.bulk.base_url = Some("http://sim".into());
        let items = shop.inventory_items.len();
        assert!(items > 250, "pages must be crossed: {items}");
        let shop = ShopHandle::new(shop);
        let body = run(
            &shop,
            RUN,
            json!({"q": xconnector_actors::shopify::operations::bulk::SKU_MAP_QUERY}),
        );
        let payload = &body["data"]["bulkOperationRunQuery"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        assert_eq!(payload["bulkOperation"]["status"], "CREATED");
        let id = payload["bulkOperation"]["id"].as_str().unwrap().to_string();
        // What the bulk query read was not charged: only the mutation's 10.
        assert_eq!(body["extensions"]["cost"]["actualQueryCost"], 10);
        let body = run(
            &shop,
            "query B($id: ID!) { bulkOperation(id: $id) { id status objectCount url } }",
            json!({"id": id}),
        );
        let op = &body["data"]["bulkOperation"];
        assert_eq!(op["status"], "COMPLETED", "{body}");
        assert_eq!(op["objectCount"], items.to_string());
        let n: u64 = id.rsplit('/').next().unwrap().parse().unwrap();
        assert_eq!(op["url"], format!("http://sim/bulk/{n}.jsonl"));
        let result = shop.with(|s| s.bulk.ops[&n].result.clone());
        let lines: Vec<Value> = result
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), items);
        assert!(
            lines[0]["id"]
                .as_str()
                .unwrap_or_default()
                .starts_with("gid://shopify/InventoryItem/"),
            "{}",
            lines[0]
        );
        assert!(lines[0]["sku"].is_string());
    }

    #[tokio::test]
    async fn bad_bulk_queries_are_user_errors() {
        let shop = ShopHandle::new(Shop::seed(1, &SeedSize::small()));
        for (query, needle) in [
            ("{ shop { name } }", "exactly one top-level connection"),
            ("{ inventoryItems { edges { node { bogus } } } }", "bogus"),
            (
                "{ orders { edges { node { id customer { id orders { edges { node { id lineItems { nodes { id } } } } } } } } } }",
                "nesting depth greater than 2",
            ),
            (
                "{ orders { nodes { id a: lineItems { nodes { id } } b: lineItems { nodes { id } } c: lineItems { nodes { id } } d: shippingLines { nodes { id } } e: returns { nodes { id } } } } }",
                "more than 5 connections",
            ),
            (
                "{ orders { nodes { id refunds { id refundLineItems { nodes { quantity } } } } } }",
                "within a list field",
            ),
        ] {
            let body = run(&shop, RUN, json!({ "q": query }));
            let errors = &body["data"]["bulkOperationRunQuery"]["userErrors"];
            assert!(
                errors[0]["message"].as_str().unwrap().contains(needle),
                "{query}: {body}"
            );
            assert_eq!(errors[0]["code"], "INVALID");
        }
    }

    /// The lines of the bulk operation `body` answered for.
    fn result_lines(shop: &ShopHandle, body: &Value) -> Vec<Value> {
        let payload = &body["data"]["bulkOperationRunQuery"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        let id = payload["bulkOperation"]["id"].as_str().unwrap();
        let n: u64 = id.rsplit('/').next().unwrap().parse().unwrap();
        let result = shop.with(|s| s.bulk.ops[&n].result.clone());
        result
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    const ORDERS_WITH_LINES: &str = "{ orders { edges { node { id name refunds { createdAt } lineItems { edges { node { id quantity sku } } } } } } }";

    #[tokio::test]
    async fn nested_connections_become_lines_of_their_own_after_their_parent() {
        let shop = Shop::seed(1, &SeedSize::small());
        let (orders, line_items): (usize, usize) = (
            shop.orders.len(),
            shop.orders.values().map(|o| o.line_items.len()).sum(),
        );
        assert!(line_items > orders, "{line_items} lines of {orders} orders");
        let shop = ShopHandle::new(shop);
        let body = run(&shop, RUN, json!({ "q": ORDERS_WITH_LINES }));
        let lines = result_lines(&shop, &body);
        assert_eq!(lines.len(), orders + line_items);
        let mut parent: Option<&str> = None;
        let mut children = 0;
        for line in &lines {
            let id = line["id"].as_str().unwrap();
            match line.get("__parentId") {
                None => {
                    assert!(id.starts_with("gid://shopify/Order/"), "{line}");
                    // The connection left the order's line; its plain list stayed.
                    assert!(line.get("lineItems").is_none(), "{line}");
                    assert!(line["refunds"].is_array(), "{line}");
                    parent = Some(id);
                }
                Some(p) => {
                    assert!(id.starts_with("gid://shopify/LineItem/"), "{line}");
                    assert_eq!(Some(p.as_str().unwrap()), parent, "right after its order");
                    assert!(line["quantity"].is_u64() && line.get("node").is_none());
                    children += 1;
                }
            }
        }
        assert_eq!(children, line_items);
        // The operation counts every line, and its roots apart.
        let id = body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"].clone();
        let body = run(
            &shop,
            "query B($id: ID!) { bulkOperation(id: $id) { objectCount rootObjectCount } }",
            json!({ "id": id }),
        );
        let op = &body["data"]["bulkOperation"];
        assert_eq!(op["objectCount"], (orders + line_items).to_string());
        assert_eq!(op["rootObjectCount"], orders.to_string());
    }

    #[tokio::test]
    async fn scattered_children_come_before_and_between_their_parents() {
        let mut shop = Shop::seed(1, &SeedSize::small());
        shop.bulk.children = crate::bulk::ChildOrder::Scattered;
        let shop = ShopHandle::new(shop);
        let lines = result_lines(&shop, &run(&shop, RUN, json!({ "q": ORDERS_WITH_LINES })));
        let position = |id: &str| lines.iter().position(|l| l["id"] == id).unwrap();
        let mut before = 0;
        let mut parents = std::collections::BTreeSet::new();
        for (i, line) in lines.iter().enumerate() {
            if let Some(p) = line["__parentId"].as_str() {
                parents.insert(p.to_string());
                if i < position(p) {
                    before += 1;
                }
            }
        }
        assert!(parents.len() > 1);
        assert!(before > 0, "some children come before their parent");
        // Still every child of every order, each naming its order.
        let lines_of = |p: &str| lines.iter().filter(|l| l["__parentId"] == p).count();
        shop.with(|s| {
            for o in s.orders.values() {
                assert_eq!(
                    lines_of(&format!("gid://shopify/Order/{}", o.id)),
                    o.line_items.len()
                );
            }
        });
    }
}
