//! `stagedUploadsCreate` (for `BULK_MUTATION_VARIABLES`) and `bulkOperationRunMutation`.
//!
//! The upload target is a Google Cloud Storage POST form as Shopify hands it out: post the
//! parameters as form fields in order, then the file as `file`, to the target's `url` (the
//! simulator's `/staged-uploads`, see `server.rs`). The form's `key` is then the
//! `stagedUploadPath`.
//!
//! The mutation document is validated once, must hold a single mutation with a single root
//! field that Shopify allows in bulk, and is run once per JSONL line with that line as its
//! variables, through the same executor and projector as an ordinary request: each line
//! writes, emits webhooks and touches `updatedAt` exactly as one call would. Only the outer
//! mutation is charged to the bucket and counted among the root fields; the lines are counted
//! apart (`SimStats::bulk_mutation_lines`). The whole file runs at submission, under the
//! shop's lock, so no bulk mutation is ever still running when the next one arrives
//! (`OPERATION_IN_PROGRESS` never happens here).

use apollo_compiler::executable::Selection;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::bulk::created_tree;
use super::{RootCtx, RootError, execute_with};
use crate::bulk::{BulkOp, STAGED_UPLOAD_LIMIT};
use crate::document::{bind, parse};
use crate::shop::{Id, Shop};

/// The root fields a bulk mutation may run: those of Shopify's list that this simulator
/// implements.
const ALLOWED: &[&str] = &[
    "productSet",
    "productCreate",
    "productUpdate",
    "productDelete",
    "productVariantsBulkCreate",
    "productVariantsBulkUpdate",
    "metafieldsSet",
    "tagsAdd",
    "tagsRemove",
    "customerCreate",
    "customerUpdate",
    "customerSet",
];

const NO_SUCH_FILE: &str = "The JSONL file could not be found. Try uploading the file again, \
     and check that you've entered the URL correctly for the stagedUploadPath mutation argument.";

/// A `BulkMutationUserError`, before it becomes a tree.
struct Refusal {
    field: &'static str,
    message: String,
    code: &'static str,
}

fn refuse(field: &'static str, message: impl Into<String>, code: &'static str) -> Refusal {
    Refusal {
        field,
        message: message.into(),
        code,
    }
}

pub(super) fn staged_uploads_create(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    let inputs = ctx
        .args
        .get("input")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let error = |field: &str, message: String| {
            json!({
                "__typename": "UserError",
                "field": ["input", i.to_string(), field],
                "message": message,
            })
        };
        let resource = input["resource"].as_str().unwrap_or_default();
        if resource != "BULK_MUTATION_VARIABLES" {
            errors.push(error(
                "resource",
                format!(
                    "The xconnector simulator stages BULK_MUTATION_VARIABLES uploads only, not {resource}."
                ),
            ));
            continue;
        }
        let filename = input["filename"].as_str().unwrap_or_default().trim();
        if filename.is_empty() || filename.contains('/') {
            errors.push(error("filename", "Filename is invalid".into()));
            continue;
        }
        let mime_type = input["mimeType"].as_str().unwrap_or_default();
        // `httpMethod` is not read: its schema default (PUT) cannot be told from a PUT the
        // client asked for, and bulk variables are staged with a POST form on Shopify anyway.
        targets.push(bulk_variables_target(shop, filename, mime_type));
    }
    // All or nothing, so that targets stay in the order of the inputs.
    if !errors.is_empty() {
        targets.clear();
    }
    Ok(json!({
        "__typename": "StagedUploadsCreatePayload",
        "stagedTargets": targets,
        "userErrors": errors,
    }))
}

/// A GCS POST-policy form for one file. The policy and signature are opaque to clients, so
/// they only have to look like GCS's: nothing checks them on upload.
fn bulk_variables_target(shop: &mut Shop, filename: &str, mime_type: &str) -> Value {
    shop.bulk.staged_targets += 1;
    let key = format!(
        "tmp/1/bulk/{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}/{filename}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        fastrand::u16(0x8000..0xc000),
        shop.bulk.staged_targets
    );
    let now = shop.now();
    let date: String = now
        .to_rfc3339()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let day = date.get(..8).unwrap_or_default().to_string();
    let credential = format!(
        "merchant-assets@shopify-tiers.iam.gserviceaccount.com/{day}/auto/storage/goog4_request"
    );
    let policy = json!({
        "conditions": [
            {"Content-Type": mime_type},
            {"success_action_status": "201"},
            {"acl": "private"},
            ["content-length-range", 1, STAGED_UPLOAD_LIMIT],
            {"bucket": "shopify-staged-uploads"},
            {"key": key},
            {"x-goog-date": date},
            {"x-goog-credential": credential},
            {"x-goog-algorithm": "GOOG4-RSA-SHA256"},
        ],
        "expiration": now.plus_secs(7 * 86_400).to_rfc3339(),
    });
    let signature: String = (0..256)
        .map(|_| format!("{:02x}", fastrand::u8(..)))
        .collect();
    let parameter = |name: &str, value: &str| json!({"__typename": "StagedUploadParameter", "name": name, "value": value});
    json!({
        "__typename": "StagedMediaUploadTarget",
        "url": shop.bulk.staged_upload_url(),
        "resourceUrl": Value::Null,
        "parameters": [
            parameter("key", &key),
            parameter("Content-Type", mime_type),
            parameter("success_action_status", "201"),
            parameter("acl", "private"),
            parameter("policy", &STANDARD.encode(policy.to_string())),
            parameter("x-goog-credential", &credential),
            parameter("x-goog-algorithm", "GOOG4-RSA-SHA256"),
            parameter("x-goog-date", &date),
            parameter("x-goog-signature", &signature),
        ],
    })
}

pub(super) fn run_mutation(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let text = |name: &str| {
        ctx.args
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (mutation, path) = (text("mutation"), text("stagedUploadPath"));
    let (op, errors) = match run(shop, &mutation, &path) {
        Ok(ran) => {
            *ctx.bulk_lines += ran.lines;
            *ctx.quantities_written += ran.quantities_written;
            (created_tree(shop, ran.id), Vec::new())
        }
        Err(r) => (
            Value::Null,
            vec![json!({
                "__typename": "BulkMutationUserError",
                "field": [r.field],
                "message": r.message,
                "code": r.code,
            })],
        ),
    };
    Ok(json!({
        "__typename": "BulkOperationRunMutationPayload",
        "bulkOperation": op,
        "userErrors": errors,
    }))
}

/// What a completed bulk mutation leaves for the outer request's counters.
struct Ran {
    id: Id,
    lines: u64,
    quantities_written: u64,
}

/// Check the mutation and the file, run every line, record the operation.
fn run(shop: &mut Shop, mutation: &str, path: &str) -> Result<Ran, Refusal> {
    let invalid = |message: String| refuse("mutation", message, "INVALID_MUTATION");
    let document = parse(mutation).map_err(|errors| {
        invalid(
            errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let mut operations = document.operations.iter();
    let (Some(operation), None) = (operations.next(), operations.next()) else {
        return Err(invalid(
            "Bulk mutations must contain exactly one operation.".into(),
        ));
    };
    if operation.operation_type != apollo_compiler::ast::OperationType::Mutation {
        return Err(invalid(
            "Bulk mutations must be a mutation; run queries with bulkOperationRunQuery.".into(),
        ));
    }
    let root = match operation.selection_set.selections.as_slice() {
        [Selection::Field(field)] => field.name.as_str(),
        _ => {
            return Err(invalid(
                "Bulk mutations must contain exactly one top-level mutation field.".into(),
            ));
        }
    };
    if !ALLOWED.contains(&root) {
        return Err(invalid(format!(
            "{root} is not a mutation supported in bulk; supported: {}.",
            ALLOWED.join(", ")
        )));
    }
    let lines = variable_lines(shop, path)?;
    let mut result = String::new();
    let mut quantities_written = 0;
    for (number, variables) in &lines {
        let (data, errors) = match bind(document.clone(), None, variables) {
            Ok(prepared) => {
                let outcome = execute_with(shop, &prepared, true);
                quantities_written += outcome.quantities_written;
                (
                    serde_json::to_value(&outcome.data).unwrap_or(Value::Null),
                    outcome.errors,
                )
            }
            Err(errors) => (Value::Null, errors),
        };
        // Written by hand for Shopify's key order: data, errors, then the line number.
        result.push_str("{\"data\":");
        result.push_str(&data.to_string());
        if !errors.is_empty() {
            result.push_str(",\"errors\":");
            result.push_str(&serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into()));
        }
        result.push_str(&format!(",\"__lineNumber\":{number}}}\n"));
    }
    let id = shop.next_id();
    let now = shop.now();
    let count = lines.len() as u64;
    shop.bulk.ops.insert(
        id,
        BulkOp {
            id,
            kind: "MUTATION",
            query: mutation.to_string(),
            status: "COMPLETED",
            error_code: None,
            created_at: now,
            completed_at: now,
            object_count: count,
            root_object_count: count,
            result,
        },
    );
    Ok(Ran {
        id,
        lines: count,
        quantities_written,
    })
}

/// A line number and its variables.
type Line = (usize, Map<String, Value>);

/// The staged file's variable sets with their 0-based line numbers in the file; blank lines
/// are skipped. Every line is checked before any runs, so a bad file writes nothing.
fn variable_lines(shop: &Shop, path: &str) -> Result<Vec<Line>, Refusal> {
    let bad = |message: String| refuse("stagedUploadPath", message, "INVALID_STAGED_UPLOAD_FILE");
    let Some(bytes) = shop.bulk.staged.get(path) else {
        return Err(refuse("stagedUploadPath", NO_SUCH_FILE, "NO_SUCH_FILE"));
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| bad("The staged upload file is not valid UTF-8.".into()))?;
    let mut lines = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(variables)) => lines.push((number, variables)),
            _ => {
                return Err(bad(format!(
                    "Line {number} of the staged upload file is not a JSON object."
                )));
            }
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::{Value, json};
    use tokio::sync::mpsc::UnboundedReceiver;
    use tokio::time::Instant;
    use xconnector_actors::shopify::operations::Operation;
    use xconnector_actors::shopify::operations::products::ProductSet;

    use crate::ShopHandle;
    use crate::bucket::{Bucket, BucketConfig};
    use crate::document::GraphqlRequest;
    use crate::graphql::Pipeline;
    use crate::seed::SeedSize;
    use crate::shop::{Shop, ShopEvent, topics};
    use crate::stats::SimStats;

    struct Harness {
        shop: ShopHandle,
        bucket: Mutex<Bucket>,
        stats: Mutex<SimStats>,
        events: UnboundedReceiver<ShopEvent>,
    }

    impl Harness {
        fn new() -> Harness {
            let mut shop = Shop::seed(1, &SeedSize::small());
            shop.bulk.base_url = Some("http://sim".into());
            let (tx, events) = tokio::sync::mpsc::unbounded_channel();
            shop.set_event_sender(Some(tx));
            Harness {
                shop: ShopHandle::new(shop),
                // Nothing restored while the test runs, however slowly: the points it reads
                // back are what was charged, not what the machine's speed gave back.
                bucket: Mutex::new(Bucket::new(
                    BucketConfig {
                        restore_rate: 0.0,
                        ..BucketConfig::standard()
                    },
                    Instant::now(),
                )),
                stats: Mutex::new(SimStats::default()),
                events,
            }
        }

        fn run(&self, query: &str, variables: Value) -> Value {
            let pipeline = Pipeline {
                shop: &self.shop,
                bucket: &self.bucket,
                stats: &self.stats,
            };
            let out = pipeline.run(&GraphqlRequest {
                query: query.into(),
                variables: variables.as_object().cloned().unwrap_or_default(),
                operation_name: None,
            });
            serde_json::to_value(out).unwrap()
        }

        fn stage(&self, key: &str, lines: &[Value]) {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            self.shop
                .with(|s| s.bulk.staged.insert(key.into(), text.into_bytes()));
        }

        fn run_bulk(&self, mutation: &str, path: &str) -> Value {
            self.run(RUN, json!({"m": mutation, "path": path}))
        }

        fn topics(&mut self) -> Vec<(&'static str, u64)> {
            std::iter::from_fn(|| self.events.try_recv().ok())
                .map(|e| (e.topic, e.resource_id))
                .collect()
        }
    }

    const RUN: &str = "mutation R($m: String!, $path: String!) {
        bulkOperationRunMutation(mutation: $m, stagedUploadPath: $path, clientIdentifier: \"t\") {
            bulkOperation { id status type objectCount url errorCode }
            userErrors { field message code }
        } }";

    const STAGE: &str = "mutation S($input: [StagedUploadInput!]!) {
        stagedUploadsCreate(input: $input) {
            stagedTargets { url resourceUrl parameters { name value } }
            userErrors { field message }
        } }";

    fn product_line(n: u32) -> Value {
        let handle = format!("bulk-{n}");
        let variants: Vec<Value> = ["S", "M"]
            .iter()
            .map(|s| {
                json!({
                    "optionValues": [{"optionName": "Size", "name": s}],
                    "sku": format!("BULK-{n}-{s}"),
                    "price": "9.99",
                })
            })
            .collect();
        json!({
            "identifier": {"handle": handle},
            "input": {
                "handle": handle,
                "title": format!("Bulk product {n}"),
                "status": "ACTIVE",
                "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}],
                "variants": variants,
            },
            // Shopify runs productSet synchronously in bulk whatever this says.
            "synchronous": false,
        })
    }

    fn user_error(body: &Value) -> &Value {
        &body["data"]["bulkOperationRunMutation"]["userErrors"][0]
    }

    #[test]
    fn staged_upload_targets_are_gcs_post_forms() {
        let h = Harness::new();
        let body = h.run(
            STAGE,
            json!({"input": [{"resource": "BULK_MUTATION_VARIABLES", "filename": "vars.jsonl",
                "mimeType": "text/jsonl", "httpMethod": "POST"}]}),
        );
        let payload = &body["data"]["stagedUploadsCreate"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        let target = &payload["stagedTargets"][0];
        assert_eq!(target["url"], "http://sim/staged-uploads");
        assert_eq!(target["resourceUrl"], Value::Null);
        let params: Vec<(&str, &str)> = target["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
            .collect();
        let names: Vec<&str> = params.iter().map(|p| p.0).collect();
        assert_eq!(
            names,
            [
                "key",
                "Content-Type",
                "success_action_status",
                "acl",
                "policy",
                "x-goog-credential",
                "x-goog-algorithm",
                "x-goog-date",
                "x-goog-signature"
            ]
        );
        let key = params[0].1;
        assert!(
            key.starts_with("tmp/1/bulk/") && key.ends_with("/vars.jsonl"),
            "{key}"
        );
        assert_eq!(
            &params[1..4],
            [
                ("Content-Type", "text/jsonl"),
                ("success_action_status", "201"),
                ("acl", "private")
            ]
        );
        assert_eq!(body["extensions"]["cost"]["actualQueryCost"], 10);
        // Keys never repeat, and other resources are refused.
        let again = h.run(
            STAGE,
            json!({"input": [{"resource": "BULK_MUTATION_VARIABLES", "filename": "vars.jsonl", "mimeType": "text/jsonl"}]}),
        );
        assert_ne!(
            again["data"]["stagedUploadsCreate"]["stagedTargets"][0]["parameters"][0]["value"],
            key
        );
        let image = h.run(
            STAGE,
            json!({"input": [{"resource": "IMAGE", "filename": "a.png", "mimeType": "image/png"}]}),
        );
        let payload = &image["data"]["stagedUploadsCreate"];
        assert_eq!(payload["stagedTargets"], json!([]));
        assert_eq!(
            payload["userErrors"][0]["field"],
            json!(["input", "0", "resource"])
        );
    }

    #[test]
    fn a_bulk_product_set_writes_every_line_for_one_mutation_cost() {
        let mut h = Harness::new();
        h.stage(
            "tmp/1/bulk/a/vars.jsonl",
            &[product_line(1), product_line(2), product_line(3)],
        );
        let body = h.run_bulk(ProductSet::DOCUMENT, "tmp/1/bulk/a/vars.jsonl");
        let payload = &body["data"]["bulkOperationRunMutation"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        let op = &payload["bulkOperation"];
        assert_eq!(op["status"], "CREATED");
        assert_eq!(op["type"], "MUTATION");
        assert_eq!(op["url"], Value::Null);
        // Only the outer mutation is charged, not the 3 productSet lines.
        assert_eq!(body["extensions"]["cost"]["actualQueryCost"], 10);
        assert_eq!(
            body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"],
            BucketConfig::standard().maximum_available as u64 - 10
        );
        let stats = h.stats.lock().unwrap().clone();
        assert_eq!(stats.points_spent, 10);
        assert_eq!(stats.bulk_mutation_lines, 3);
        assert_eq!(stats.root_fields.get("productSet"), None);
        assert_eq!(stats.root_fields["bulkOperationRunMutation"], 1);

        let id = op["id"].as_str().unwrap().to_string();
        let n: u64 = crate::gid::parse_kind(&id, "BulkOperation").unwrap();
        let read = h.run(
            "query B($id: ID!) { bulkOperation(id: $id) { id status type objectCount url errorCode }
              currentBulkOperation(type: MUTATION) { id }
              q: currentBulkOperation { id } }",
            json!({"id": id}),
        );
        let op = &read["data"]["bulkOperation"];
        assert_eq!(op["status"], "COMPLETED", "{read}");
        assert_eq!(op["objectCount"], "3");
        assert_eq!(op["errorCode"], Value::Null);
        assert_eq!(op["url"], format!("http://sim/bulk/{n}.jsonl"));
        assert_eq!(read["data"]["currentBulkOperation"]["id"], id);
        assert_eq!(read["data"]["q"], Value::Null);

        let result = h.shop.with(|s| s.bulk.ops[&n].result.clone());
        let lines: Vec<Value> = result
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{result}");
        assert!(result.starts_with("{\"data\":"), "{result}");
        let mut created = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line["__lineNumber"], i, "{line}");
            assert!(line.get("errors").is_none(), "{line}");
            let set = &line["data"]["productSet"];
            assert_eq!(set["userErrors"], json!([]));
            assert_eq!(set["productSetOperation"], Value::Null);
            assert_eq!(set["product"]["handle"], format!("bulk-{}", i + 1));
            let gid = set["product"]["id"].as_str().unwrap();
            created.push(crate::gid::parse_kind(gid, "Product").unwrap());
        }
        h.shop.with(|s| {
            for (i, id) in created.iter().enumerate() {
                assert_eq!(s.products[id].title, format!("Bulk product {}", i + 1));
            }
        });
        let announced: Vec<u64> = h
            .topics()
            .into_iter()
            .filter(|(t, _)| *t == topics::PRODUCTS_CREATE)
            .map(|(_, id)| id)
            .collect();
        assert_eq!(announced, created);

        // The same file again updates the three products.
        let again = h.run_bulk(ProductSet::DOCUMENT, "tmp/1/bulk/a/vars.jsonl");
        assert_eq!(
            again["data"]["bulkOperationRunMutation"]["userErrors"],
            json!([])
        );
        let updated: Vec<u64> = h
            .topics()
            .into_iter()
            .filter(|(t, _)| *t == topics::PRODUCTS_UPDATE)
            .map(|(_, id)| id)
            .collect();
        assert_eq!(updated, created);
    }

    #[test]
    fn lines_that_fail_carry_their_errors() {
        let h = Harness::new();
        let tags = "mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) {
            node { id } userErrors { field message } } }";
        let customer = h.shop.with(|s| *s.customers.keys().next().unwrap());
        h.stage(
            "k",
            &[
                json!({"id": format!("gid://shopify/Customer/{customer}"), "tags": ["vip"]}),
                json!({"id": "gid://shopify/Customer/1"}),
            ],
        );
        let body = h.run_bulk(tags, "k");
        let id = body["data"]["bulkOperationRunMutation"]["bulkOperation"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let n = crate::gid::parse_kind(&id, "BulkOperation").unwrap();
        let result = h.shop.with(|s| s.bulk.ops[&n].result.clone());
        let lines: Vec<Value> = result
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["data"]["tagsAdd"]["userErrors"], json!([]));
        assert_eq!(lines[1]["data"], Value::Null);
        assert_eq!(
            lines[1]["errors"][0]["extensions"]["code"],
            "INVALID_VARIABLE"
        );
        assert_eq!(lines[1]["__lineNumber"], 1);
        h.shop
            .with(|s| assert!(s.customers[&customer].tags.contains(&"vip".to_string())));
    }

    #[test]
    fn bad_bulk_mutations_are_user_errors() {
        let h = Harness::new();
        h.stage("k", &[product_line(1)]);
        for (mutation, path, code, needle) in [
            (ProductSet::DOCUMENT, "tmp/missing", "NO_SUCH_FILE", "could not be found"),
            ("{ shop { name } }", "k", "INVALID_MUTATION", "must be a mutation"),
            ("mutation { bogus }", "k", "INVALID_MUTATION", "bogus"),
            (
                "mutation($t: [String!]!) { a: tagsAdd(id: \"gid://shopify/Customer/1\", tags: $t) { node { id } }
                  b: tagsAdd(id: \"gid://shopify/Customer/2\", tags: $t) { node { id } } }",
                "k",
                "INVALID_MUTATION",
                "exactly one top-level",
            ),
            (
                "mutation($q: String!) { bulkOperationRunQuery(query: $q) { userErrors { message } } }",
                "k",
                "INVALID_MUTATION",
                "not a mutation supported in bulk",
            ),
        ] {
            let body = h.run_bulk(mutation, path);
            let error = user_error(&body);
            assert_eq!(error["code"], code, "{mutation}: {body}");
            assert!(
                error["message"].as_str().unwrap().contains(needle),
                "{mutation}: {body}"
            );
            assert_eq!(
                body["data"]["bulkOperationRunMutation"]["bulkOperation"],
                Value::Null
            );
        }
        h.shop.with(|s| {
            s.bulk
                .staged
                .insert("bad".into(), b"{\"input\": {}}\n[1, 2]\n".to_vec())
        });
        let body = h.run_bulk(ProductSet::DOCUMENT, "bad");
        assert_eq!(user_error(&body)["code"], "INVALID_STAGED_UPLOAD_FILE");
        assert!(
            user_error(&body)["message"]
                .as_str()
                .unwrap()
                .contains("Line 1"),
            "{body}"
        );
        assert_eq!(user_error(&body)["field"], json!(["stagedUploadPath"]));
        // Nothing ran: no operation and no line counted.
        assert!(h.shop.with(|s| s.bulk.ops.is_empty()));
        assert_eq!(h.stats.lock().unwrap().bulk_mutation_lines, 0);
    }
}
