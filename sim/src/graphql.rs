//! One GraphQL request through Shopify's pipeline, without HTTP:
//!
//! 1. parse and validate the document, pick the operation, coerce variables
//!    (failure: the errors, nothing charged);
//! 2. price it; over 1000 points → `MAX_COST_EXCEEDED`, nothing charged;
//! 3. take the requested cost from the bucket; not enough → `THROTTLED`, nothing charged;
//! 4. execute under the shop's lock;
//! 5. price what was returned and refund requested − actual.
//!
//! Every response carries `extensions.cost` with the bucket's state after the request.

use std::sync::Mutex;

use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::ShopHandle;
use super::bucket::{Bucket, ThrottleStatus};
use super::cost::{CostContext, MAX_QUERY_COST};
use super::document::{GraphqlRequest, prepare};
use super::exec::execute;
use super::project::Out;
use super::stats::SimStats;
use crate::schema::admin_schema;

/// Where rate-limit errors point clients.
pub const RATE_LIMIT_DOCS: &str = "https://shopify.dev/api/usage/limits#rate-limits";

/// The parts of the simulator a request touches.
pub(crate) struct Pipeline<'a> {
    pub shop: &'a ShopHandle,
    pub bucket: &'a Mutex<Bucket>,
    pub stats: &'a Mutex<SimStats>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Pipeline<'_> {
    /// Run one request; the response body.
    pub fn run(&self, request: &GraphqlRequest) -> Out {
        let prepared = match prepare(request) {
            Ok(p) => p,
            Err(errors) => {
                lock(self.stats).invalid_documents += 1;
                let status = self.status();
                return response(None, errors, Vec::new(), Some(0), Some(0), status);
            }
        };
        let schema = admin_schema();
        let costs = CostContext {
            schema,
            document: &prepared.document,
            variables: &prepared.variables,
        };
        let root = &prepared.operation.selection_set;
        let requested = costs.requested(root, prepared.is_mutation());
        if requested > MAX_QUERY_COST {
            lock(self.stats).max_cost_exceeded += 1;
            let mut error = GraphQLError {
                message: format!(
                    "Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST})."
                ),
                locations: Vec::new(),
                path: Vec::new(),
                extensions: JsonMap::new(),
            };
            error.extensions.insert("code", "MAX_COST_EXCEEDED".into());
            error.extensions.insert("cost", JsonValue::from(requested));
            error
                .extensions
                .insert("maxCost", JsonValue::from(MAX_QUERY_COST));
            let status = self.status();
            return response(None, vec![error], Vec::new(), Some(requested), None, status);
        }
        let taken = lock(self.bucket).try_take(requested, Instant::now());
        if let Err(status) = taken {
            lock(self.stats).throttled += 1;
            let mut error = GraphQLError {
                message: "Throttled".into(),
                locations: Vec::new(),
                path: Vec::new(),
                extensions: JsonMap::new(),
            };
            error.extensions.insert("code", "THROTTLED".into());
            error
                .extensions
                .insert("documentation", RATE_LIMIT_DOCS.into());
            return response(None, vec![error], Vec::new(), Some(requested), None, status);
        }
        let outcome = {
            let mut shop = self.shop.lock();
            execute(&mut shop, &prepared)
        };
        let actual = costs
            .actual(root, prepared.is_mutation(), &outcome.data)
            .min(requested);
        let status = lock(self.bucket).refund(requested - actual, Instant::now());
        {
            let mut stats = lock(self.stats);
            stats.points_requested += requested;
            stats.points_spent += actual;
            stats.inventory_quantities_written += outcome.quantities_written;
            stats.bulk_mutation_lines += outcome.bulk_mutation_lines;
            for name in &outcome.root_fields {
                *stats.root_fields.entry(name.clone()).or_default() += 1;
            }
        }
        response(
            Some(outcome.data),
            outcome.errors,
            outcome.search,
            Some(requested),
            Some(actual),
            status,
        )
    }

    fn status(&self) -> ThrottleStatus {
        lock(self.bucket).status(Instant::now())
    }
}

/// `{errors?, data?, extensions: {cost, search?}}`. `data` is left out when the request
/// failed before execution, as Shopify does.
fn response(
    data: Option<Out>,
    errors: Vec<GraphQLError>,
    search: Vec<Value>,
    requested: Option<u64>,
    actual: Option<u64>,
    status: ThrottleStatus,
) -> Out {
    let mut body = JsonMap::new();
    if !errors.is_empty() {
        let errors = serde_json::to_value(&errors).unwrap_or(Value::Array(Vec::new()));
        body.insert("errors", JsonValue::from(errors));
    }
    if let Some(data) = data {
        body.insert("data", data);
    }
    let mut extensions = json!({
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": status.to_json(),
        }
    });
    if !search.is_empty() {
        extensions["search"] = Value::Array(search);
    }
    body.insert("extensions", JsonValue::from(extensions));
    JsonValue::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket::BucketConfig;
    use crate::seed::SeedSize;
    use crate::shop::Shop;

    fn pipeline_parts(max: f64) -> (ShopHandle, Mutex<Bucket>, Mutex<SimStats>) {
        let shop = ShopHandle::new(Shop::seed(1, &SeedSize::small()));
        let bucket = Bucket::new(
            BucketConfig {
                maximum_available: max,
                restore_rate: 0.0,
                clock_scale: 1.0,
            },
            Instant::now(),
        );
        (shop, Mutex::new(bucket), Mutex::new(SimStats::default()))
    }

    fn run(parts: &(ShopHandle, Mutex<Bucket>, Mutex<SimStats>), query: &str) -> Value {
        let pipeline = Pipeline {
            shop: &parts.0,
            bucket: &parts.1,
            stats: &parts.2,
        };
        let out = pipeline.run(&GraphqlRequest {
            query: query.into(),
            ..GraphqlRequest::default()
        });
        serde_json::to_value(out).unwrap()
    }

    #[test]
    fn charges_actual_cost_and_refunds_the_rest() {
        let parts = pipeline_parts(1000.0);
        // 2 + 50 × 1 requested; the shop has 12 × 3 = 36 variants: 2 + 36 actual.
        let body = run(
            &parts,
            "{ productVariants(first: 50) { nodes { id sku } } }",
        );
        let cost = &body["extensions"]["cost"];
        assert_eq!(cost["requestedQueryCost"], 52);
        assert_eq!(cost["actualQueryCost"], 38);
        assert_eq!(cost["throttleStatus"]["currentlyAvailable"], 1000 - 38);
        assert_eq!(
            body["data"]["productVariants"]["nodes"]
                .as_array()
                .unwrap()
                .len(),
            36
        );
        let stats = parts.2.lock().unwrap().clone();
        assert_eq!(stats.points_spent, 38);
        assert_eq!(stats.root_fields["productVariants"], 1);
    }

    #[test]
    fn throttles_without_charging_and_rejects_expensive_queries() {
        let parts = pipeline_parts(30.0);
        let body = run(&parts, "{ orders(first: 20) { nodes { id } } }");
        assert_eq!(
            body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"],
            8
        );
        let body = run(&parts, "{ orders(first: 20) { nodes { id } } }");
        assert_eq!(body["errors"][0]["extensions"]["code"], "THROTTLED");
        assert!(body.get("data").is_none());
        assert_eq!(body["extensions"]["cost"]["actualQueryCost"], Value::Null);
        assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 22);
        let body = run(
            &parts,
            "{ orders(first: 250) { nodes { lineItems(first: 10) { nodes { id } } } } }",
        );
        assert_eq!(body["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED");
        assert_eq!(body["errors"][0]["extensions"]["cost"], 2 + 250 * (1 + 12));
        assert_eq!(
            body["errors"][0]["message"],
            "Query cost is 3252, which exceeds the single query max cost limit (1000)."
        );
        let stats = parts.2.lock().unwrap().clone();
        assert_eq!((stats.throttled, stats.max_cost_exceeded), (1, 1));
    }
}
