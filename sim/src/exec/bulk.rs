//! `bulkOperationRunQuery` (mutation), `bulkOperation(id:)` and `currentBulkOperation`.
//!
//! The inner query is parsed and validated against the schema like any request, must be a
//! query with exactly one root connection (Shopify's rule) and, in this simulator, no nested
//! connection (Shopify flattens those into `__parentId` lines; nothing here needs them). The
//! root connection is read to the end 250 nodes at a time through the same resolvers and
//! projector as ordinary requests, and each node becomes one JSONL line. What a bulk query
//! reads is not charged to the bucket: only the mutation's flat cost is.

use apollo_compiler::executable::{Selection, SelectionSet};
use serde_json::{Map, Value, json};

use super::objects::ShopResolver;
use super::{RootCtx, RootError, run_query};
use crate::bulk::BulkOp;
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
        "rootObjectCount": op.object_count.to_string(),
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
    if has_nested_connection(&field.selection_set) {
        return Err(
            "The xconnector simulator supports bulk queries without nested connections only."
                .into(),
        );
    }
    let mut lines = String::new();
    let mut count = 0u64;
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
        for node in nodes {
            lines.push_str(&node.to_string());
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
            result: lines,
        },
    );
    Ok(id)
}

fn has_nested_connection(set: &SelectionSet) -> bool {
    set.selections.iter().any(|s| match s {
        Selection::Field(f) => {
            f.definition
                .ty
                .inner_named_type()
                .as_str()
                .ends_with("Connection")
                || has_nested_connection(&f.selection_set)
        }
        Selection::InlineFragment(i) => has_nested_connection(&i.selection_set),
        // Named fragments are checked through their own selection sets.
        Selection::FragmentSpread(_) => false,
    })
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
                "{ products { edges { node { variants { edges { node { id } } } } } } }",
                "without nested connections",
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
}
