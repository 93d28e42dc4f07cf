//! The simulated Shopify Admin API over real HTTP, as a client sees it.

use std::net::SocketAddr;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use xconnector::sim::{BucketConfig, Faults, SimConfig, Simulator};

fn client() -> reqwest::Client {
    xconnector_actors::http_client::builder()
        .build()
        .expect("an HTTP client")
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start(config: SimConfig) -> Simulator {
    Simulator::start(config, any_port())
        .await
        .expect("simulator starts")
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn post(sim: &Simulator, token: Option<&str>, body: Value) -> Reply {
    let mut request = client().post(sim.graphql_url()).json(&body);
    if let Some(token) = token {
        request = request.header("X-Shopify-Access-Token", token);
    }
    let response = request.send().await.expect("a response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

async fn gql(sim: &Simulator, query: &str, variables: Value) -> Value {
    let reply = post(
        sim,
        Some("sim-token"),
        json!({"query": query, "variables": variables}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    reply.body
}

fn assert_cost_extension(body: &Value) {
    let cost = &body["extensions"]["cost"];
    assert!(cost.get("requestedQueryCost").is_some(), "{body:#}");
    assert!(cost.get("actualQueryCost").is_some(), "{body:#}");
    let status = &cost["throttleStatus"];
    assert!(status["maximumAvailable"].is_number(), "{body:#}");
    assert!(status["currentlyAvailable"].is_number(), "{body:#}");
    assert!(status["restoreRate"].is_number(), "{body:#}");
}

#[tokio::test]
async fn tokens_request_ids_and_bad_bodies() {
    let sim = start(SimConfig::default()).await;
    let query = json!({"query": "{ shop { name } }"});

    let none = post(&sim, None, query.clone()).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.body,
        json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    );
    assert!(none.headers.contains_key("x-request-id"));
    let wrong = post(&sim, Some("nope"), query.clone()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let ok = post(&sim, Some("sim-token"), query.clone()).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["data"]["shop"]["name"], "Demo Store");
    let id = ok.headers["x-request-id"].to_str().unwrap().to_string();
    let again = post(&sim, Some("sim-token"), query).await;
    assert_ne!(
        again.headers["x-request-id"].to_str().unwrap(),
        id,
        "a fresh id each time"
    );
    assert_eq!(ok.headers["x-shopify-api-version"], "2026-10");

    let bad = client()
        .post(sim.graphql_url())
        .header("X-Shopify-Access-Token", "sim-token")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.headers().contains_key("x-request-id"));
    let missing = post(&sim, Some("sim-token"), json!({"variables": {}})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);

    let elsewhere = client()
        .get(format!("{}/nothing", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    assert!(elsewhere.headers().contains_key("x-request-id"));

    let stats = sim.stats();
    assert_eq!((stats.unauthorized, stats.bad_requests), (2, 2));
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_documents_name_the_bad_field_and_every_response_has_cost() {
    let sim = start(SimConfig::default()).await;
    let body = gql(&sim, "query Q {\n  shop { name nmae }\n}", json!({})).await;
    assert!(body.get("data").is_none());
    let error = &body["errors"][0];
    assert!(
        error["message"].as_str().unwrap().contains("nmae"),
        "{body:#}"
    );
    assert_eq!(error["extensions"]["code"], "undefinedField");
    assert_eq!(error["locations"][0]["line"], 2);
    assert_cost_extension(&body);

    let syntax = gql(&sim, "{ shop { name }", json!({})).await;
    assert_eq!(syntax["errors"][0]["extensions"]["code"], "parseError");
    assert_cost_extension(&syntax);

    let ok = gql(&sim, "{ shop { name } }", json!({})).await;
    assert_cost_extension(&ok);
    assert_eq!(ok["extensions"]["cost"]["requestedQueryCost"], 1);
    assert_eq!(ok["extensions"]["cost"]["actualQueryCost"], 1);
    assert_eq!(
        ok["extensions"]["cost"]["throttleStatus"]["maximumAvailable"],
        2000.0
    );
    sim.shutdown().await;
}

const ORDERS: &str = r#"query Orders($after: String, $since: String!) {
    orders(first: 10, after: $after, sortKey: UPDATED_AT, query: $since) {
        edges { cursor node { id name updatedAt } }
        pageInfo { hasNextPage endCursor }
    }
}"#;

async fn orders_since(sim: &Simulator, since: &str) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let filter = format!("updated_at:>'{since}'");
        let body = gql(sim, ORDERS, json!({"after": after, "since": filter})).await;
        assert_cost_extension(&body);
        let connection = &body["data"]["orders"];
        for edge in connection["edges"].as_array().unwrap() {
            let node = &edge["node"];
            seen.push((
                node["name"].as_str().unwrap().to_string(),
                node["updatedAt"].as_str().unwrap().to_string(),
            ));
        }
        if connection["pageInfo"]["hasNextPage"] != json!(true) {
            return seen;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn orders_page_by_updated_at_and_new_orders_show_up() {
    let sim = start(SimConfig::default()).await;
    let mut events = sim.take_events().expect("events, once");
    assert!(sim.take_events().is_none());
    let since = "2026-09-15T00:00:00Z";
    let seen = orders_since(&sim, since).await;
    let expected = sim.shop().with(|shop| {
        shop.orders
            .values()
            .filter(|o| o.updated_at.to_rfc3339().as_str() > since)
            .count()
    });
    assert_eq!(seen.len(), expected);
    assert!(seen.len() > 10, "several pages");
    assert!(
        seen.windows(2).all(|w| w[0].1 <= w[1].1),
        "ascending updatedAt"
    );
    let mut names: Vec<&String> = seen.iter().map(|(n, _)| n).collect();
    names.dedup();
    assert_eq!(names.len(), seen.len(), "no order twice");

    // A new order, placed by the traffic generator, is found by the next poll.
    let last = seen.last().unwrap().1.clone();
    let variant = sim
        .shop()
        .with(|s| s.variant_by_sku("SKU-0001-S").unwrap().id);
    let id = sim.shop().with(|s| {
        s.create_order(xconnector::sim::shop::OrderSpec {
            line_items: vec![xconnector::sim::shop::LineSpec::variant(variant, 1)],
            ..Default::default()
        })
    });
    let fresh = orders_since(&sim, &last).await;
    let name = sim.shop().with(|s| s.orders[&id].name.clone());
    assert!(fresh.iter().any(|(n, _)| *n == name), "{fresh:?}");
    let topics: Vec<&str> = std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| e.topic)
        .collect();
    assert!(topics.contains(&"orders/create"), "{topics:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn product_variants_by_several_skus() {
    let sim = start(SimConfig::default()).await;
    let body = gql(
        &sim,
        r#"query($q: String!) { productVariants(first: 10, query: $q) {
            edges { node { sku inventoryItem { id } } } } }"#,
        json!({"q": "sku:SKU-0001-S OR sku:SKU-0001-M OR sku:SKU-0003-SMA"}),
    )
    .await;
    let mut skus: Vec<String> = body["data"]["productVariants"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["sku"].as_str().unwrap().to_string())
        .collect();
    skus.sort();
    assert_eq!(skus, ["SKU-0001-M", "SKU-0001-S", "SKU-0003-SMA"]);
    sim.shutdown().await;
}

const SET: &str = r#"mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
    inventorySetQuantities(input: $input) @idempotent(key: $key) {
        inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
        userErrors { field message code }
    }
}"#;

struct Stock {
    item: String,
    location: String,
    item_id: u64,
    location_id: u64,
}

fn stock(sim: &Simulator, sku: &str) -> Stock {
    sim.shop().with(|s| {
        let item_id = s.variant_by_sku(sku).unwrap().inventory_item_id;
        let location_id = *s.locations.keys().next().unwrap();
        Stock {
            item: format!("gid://shopify/InventoryItem/{item_id}"),
            location: format!("gid://shopify/Location/{location_id}"),
            item_id,
            location_id,
        }
    })
}

fn available(sim: &Simulator, s: &Stock) -> i64 {
    sim.shop().with(|shop| {
        shop.inventory_level(s.item_id, s.location_id)
            .unwrap()
            .available
    })
}

fn set_input(s: &Stock, quantity: i64, change_from: Value) -> Value {
    json!({"name": "available", "reason": "correction", "referenceDocumentUri": "gid://xconnector/Sync/1",
        "quantities": [{"inventoryItemId": s.item, "locationId": s.location,
            "quantity": quantity, "changeFromQuantity": change_from}]})
}

#[tokio::test]
async fn inventory_set_quantities_cas_idempotency_and_the_required_directive() {
    let sim = start(SimConfig::default()).await;
    let s = stock(&sim, "SKU-0002-BLA");
    let before = available(&sim, &s);

    let body = gql(
        &sim,
        SET,
        json!({"key": "sync-1", "input": set_input(&s, before + 7, json!(before))}),
    )
    .await;
    let payload = &body["data"]["inventorySetQuantities"];
    assert_eq!(payload["userErrors"], json!([]), "{body:#}");
    assert_eq!(
        payload["inventoryAdjustmentGroup"]["changes"][0],
        json!({"name": "available", "delta": 7, "quantityAfterChange": before + 7})
    );
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 10);
    assert_eq!(available(&sim, &s), before + 7);

    // Replayed (say, after a timeout): same answer, applied once.
    let replay = gql(
        &sim,
        SET,
        json!({"key": "sync-1", "input": set_input(&s, before + 7, json!(before))}),
    )
    .await;
    assert_eq!(replay["data"], body["data"]);
    assert_eq!(available(&sim, &s), before + 7);
    assert_eq!(sim.stats().inventory_quantities_written, 1);

    // Compare-and-swap against a stale quantity.
    let stale = gql(
        &sim,
        SET,
        json!({"key": "sync-2", "input": set_input(&s, 0, json!(before))}),
    )
    .await;
    let error = &stale["data"]["inventorySetQuantities"]["userErrors"][0];
    assert_eq!(error["code"], "CHANGE_FROM_QUANTITY_STALE");
    assert_eq!(
        error["field"],
        json!(["input", "quantities", "0", "changeFromQuantity"])
    );
    assert_eq!(available(&sim, &s), before + 7);

    // Without @idempotent (mandatory since 2026-04).
    let bare = gql(
        &sim,
        r#"mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }"#,
        json!({"input": set_input(&s, 1, Value::Null)}),
    )
    .await;
    assert_eq!(bare["data"]["inventorySetQuantities"], Value::Null);
    assert_eq!(
        bare["errors"][0]["extensions"]["code"],
        "IDEMPOTENCY_KEY_REQUIRED"
    );
    assert!(
        bare["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("@idempotent")
    );
    assert_cost_extension(&bare);
    assert_eq!(available(&sim, &s), before + 7);
    sim.shutdown().await;
}

#[tokio::test]
async fn max_cost_exceeded_and_throttled() {
    let sim = start(SimConfig {
        bucket: BucketConfig {
            maximum_available: 50.0,
            restore_rate: 1.0,
            clock_scale: 1.0,
        },
        ..SimConfig::default()
    })
    .await;
    let expensive = gql(
        &sim,
        "{ orders(first: 100) { nodes { lineItems(first: 20) { nodes { sku } } } } }",
        json!({}),
    )
    .await;
    let error = &expensive["errors"][0];
    assert_eq!(error["extensions"]["code"], "MAX_COST_EXCEEDED");
    assert_eq!(error["extensions"]["cost"], 2 + 100 * (1 + 22));
    assert_eq!(error["extensions"]["maxCost"], 1000);
    assert_eq!(
        error["message"],
        "Query cost is 2302, which exceeds the single query max cost limit (1000)."
    );
    assert!(expensive.get("data").is_none());
    assert_cost_extension(&expensive);

    // 2 + 40 = 42 of 50: fine once, then the bucket is too low.
    let query = "{ orders(first: 40) { nodes { id } } }";
    let first = gql(&sim, query, json!({})).await;
    assert_eq!(
        first["data"]["orders"]["nodes"].as_array().unwrap().len(),
        40
    );
    let second = gql(&sim, query, json!({})).await;
    assert_eq!(second["errors"][0]["message"], "Throttled");
    assert_eq!(second["errors"][0]["extensions"]["code"], "THROTTLED");
    assert_eq!(
        second["errors"][0]["extensions"]["documentation"],
        "https://shopify.dev/api/usage/limits#rate-limits"
    );
    assert!(second.get("data").is_none());
    let cost = &second["extensions"]["cost"];
    assert_eq!(cost["requestedQueryCost"], 42);
    assert_eq!(cost["actualQueryCost"], Value::Null);
    assert!(
        cost["throttleStatus"]["currentlyAvailable"]
            .as_i64()
            .unwrap()
            < 42
    );
    let stats = sim.stats();
    assert_eq!((stats.throttled, stats.max_cost_exceeded), (1, 1));
    assert_eq!(stats.points_spent, 42);
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_5xx_429_and_dropped_connections() {
    let sim = start(SimConfig::default()).await;
    let query = json!({"query": "{ shop { name } }"});

    sim.set_faults(Faults {
        error_5xx: 1.0,
        ..Faults::none()
    });
    let reply = post(&sim, Some("sim-token"), query.clone()).await;
    assert!(
        matches!(
            reply.status,
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE
        ),
        "{}",
        reply.status
    );
    assert!(reply.headers.contains_key("x-request-id"));

    sim.set_faults(Faults {
        error_429: 1.0,
        retry_after_secs: 2,
        ..Faults::none()
    });
    let reply = post(&sim, Some("sim-token"), query.clone()).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.headers["retry-after"], "2.0");

    // The connection drops after the mutation ran: the client gets an error, the retry with
    // the same key gets the original answer, and the stock moved once.
    let s = stock(&sim, "SKU-0004-S");
    let before = available(&sim, &s);
    let body = json!({"query": SET, "variables": {"key": "lost-1", "input": set_input(&s, before + 3, Value::Null)}});
    sim.set_faults(Faults {
        drop_connection: 1.0,
        ..Faults::none()
    });
    let dropped = client()
        .post(sim.graphql_url())
        .header("X-Shopify-Access-Token", "sim-token")
        .json(&body)
        .send()
        .await;
    assert!(dropped.is_err(), "the connection must fail: {dropped:?}");
    assert_eq!(available(&sim, &s), before + 3, "it did run");

    sim.set_faults(Faults::none());
    let retry = post(&sim, Some("sim-token"), body).await;
    assert_eq!(retry.status, StatusCode::OK);
    let changes =
        &retry.body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"];
    assert_eq!(changes[0]["quantityAfterChange"], before + 3);
    assert_eq!(available(&sim, &s), before + 3);

    let stats = sim.stats();
    assert_eq!(
        (
            stats.injected_5xx,
            stats.injected_429,
            stats.dropped_connections
        ),
        (1, 1, 1)
    );
    assert_eq!(stats.inventory_quantities_written, 1);
    sim.shutdown().await;
}
