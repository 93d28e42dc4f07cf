//! Root fields end to end through the request pipeline (no HTTP), on the seeded shop.

use std::sync::Mutex;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::ShopHandle;
use crate::bucket::{Bucket, BucketConfig};
use crate::document::GraphqlRequest;
use crate::graphql::Pipeline;
use crate::seed::{SEED_EPOCH, SeedSize};
use crate::shop::Shop;
use crate::stats::SimStats;
use crate::time::Timestamp;

struct Harness {
    shop: ShopHandle,
    bucket: Mutex<Bucket>,
    stats: Mutex<SimStats>,
}

impl Harness {
    fn new() -> Harness {
        let mut shop = Shop::seed(1, &SeedSize::small());
        shop.set_clock(Some(SEED_EPOCH.plus_secs(86_400)));
        Harness {
            shop: ShopHandle::new(shop),
            bucket: Mutex::new(Bucket::new(BucketConfig::plus(), Instant::now())),
            stats: Mutex::new(SimStats::default()),
        }
    }

    fn run(&self, query: &str, variables: Value) -> Value {
        let pipeline = Pipeline {
            shop: &self.shop,
            bucket: &self.bucket,
            stats: &self.stats,
        };
        let out = pipeline.run(&GraphqlRequest {
            query: query.to_string(),
            variables: variables.as_object().cloned().unwrap_or_default(),
            operation_name: None,
        });
        serde_json::to_value(out).unwrap()
    }

    fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.run(query, variables);
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }
}

const ORDERS_PAGE: &str = r#"query Page($after: String, $q: String) {
    orders(first: 7, after: $after, sortKey: UPDATED_AT, query: $q) {
        edges { cursor node { name updatedAt } }
        pageInfo { hasNextPage endCursor }
    }
}"#;

fn all_pages(h: &Harness, q: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = h.data(ORDERS_PAGE, json!({"after": after, "q": q}));
        let conn = &data["orders"];
        for e in conn["edges"].as_array().unwrap() {
            names.push(e["node"]["name"].as_str().unwrap().to_string());
        }
        if conn["pageInfo"]["hasNextPage"] != json!(true) {
            return names;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

#[test]
fn orders_filter_by_updated_at_sort_and_page_with_cursors() {
    let h = Harness::new();
    {
        let shop = h.shop.lock();
        let mut times: Vec<Timestamp> = shop.orders.values().map(|o| o.updated_at).collect();
        times.sort();
        let cut = times[times.len() / 2];
        let mut list: Vec<(Timestamp, u64, String)> = shop
            .orders
            .values()
            .filter(|o| o.updated_at > cut)
            .map(|o| (o.updated_at, o.id, o.name.clone()))
            .collect();
        drop(shop);
        let q = format!("updated_at:>'{}'", cut.to_rfc3339());
        let got = all_pages(&h, &q);
        list.sort();
        assert_eq!(got, list.iter().map(|e| e.2.clone()).collect::<Vec<_>>());
        // The same with >= and without quotes includes the boundary order(s).
        let inclusive = all_pages(&h, &format!("updated_at:>={}", cut.to_rfc3339()));
        assert!(inclusive.len() > got.len());
    }
    // An order updated while paging moves to the end and is seen again there.
    let first_page = h.data(ORDERS_PAGE, json!({"q": "updated_at:>2026-01-01"}));
    let moved = first_page["orders"]["edges"][0]["node"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let cursor = first_page["orders"]["pageInfo"]["endCursor"].clone();
    h.shop.with(|shop| {
        let id = shop.order_by_name(&moved).unwrap().id;
        shop.update_order(id, |o| o.note = Some("changed".into()))
            .unwrap();
    });
    let mut rest = Vec::new();
    let mut after = cursor;
    loop {
        let data = h.data(
            ORDERS_PAGE,
            json!({"after": after, "q": "updated_at:>2026-01-01"}),
        );
        for e in data["orders"]["edges"].as_array().unwrap() {
            rest.push(e["node"]["name"].as_str().unwrap().to_string());
        }
        if data["orders"]["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = data["orders"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(rest.last(), Some(&moved));
}

#[test]
fn variants_by_several_skus_and_inventory_levels_by_location() {
    let h = Harness::new();
    let data = h.data(
        r#"{ productVariants(first: 10, query: "sku:SKU-0001-S OR sku:'SKU-0002-BLA' OR sku:NOPE") {
            nodes { sku price product { title } inventoryItem { id tracked
                inventoryLevels(first: 5) { edges { node { location { id name }
                    quantities(names: ["available", "on_hand"]) { name quantity } } } } } }
        } }"#,
        json!({}),
    );
    let nodes = data["productVariants"]["nodes"].as_array().unwrap();
    let skus: Vec<&str> = nodes.iter().map(|n| n["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["SKU-0001-S", "SKU-0002-BLA"]);
    assert_eq!(nodes[0]["product"]["title"], "Classic Tee");
    let levels = nodes[0]["inventoryItem"]["inventoryLevels"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(levels.len(), 2);
    let quantities = &levels[0]["node"]["quantities"];
    assert_eq!(quantities[0]["name"], "available");
    assert_eq!(quantities[1]["name"], "on_hand");

    let (item, location) = h.shop.with(|s| {
        let item = s.variant_by_sku("SKU-0001-S").unwrap().inventory_item_id;
        (item, *s.locations.keys().next().unwrap())
    });
    let data = h.data(
        r#"query($item: ID!, $loc: ID!) { inventoryItem(id: $item) { sku
            inventoryLevel(locationId: $loc) { location { name } quantities(names: ["available"]) { quantity } } } }"#,
        json!({"item": format!("gid://shopify/InventoryItem/{item}"), "loc": format!("gid://shopify/Location/{location}")}),
    );
    let expected = h
        .shop
        .with(|s| s.inventory_level(item, location).unwrap().available);
    assert_eq!(
        data["inventoryItem"]["inventoryLevel"]["quantities"][0]["quantity"],
        json!(expected)
    );
    let data = h.data(
        r#"{ inventoryItems(first: 3, query: "sku:SKU-0003*") { nodes { sku } } }"#,
        json!({}),
    );
    assert_eq!(data["inventoryItems"]["nodes"].as_array().unwrap().len(), 3);
}

const SET: &str = r#"mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
    inventorySetQuantities(input: $input) @idempotent(key: $key) {
        inventoryAdjustmentGroup { reason referenceDocumentUri
            changes { name delta quantityAfterChange item { id } location { id } } }
        userErrors { field message code }
    }
}"#;

fn ids(h: &Harness) -> (String, String, i64) {
    h.shop.with(|s| {
        let item = s.variant_by_sku("SKU-0001-M").unwrap().inventory_item_id;
        let location = *s.locations.keys().next().unwrap();
        let available = s.inventory_level(item, location).unwrap().available;
        (
            format!("gid://shopify/InventoryItem/{item}"),
            format!("gid://shopify/Location/{location}"),
            available,
        )
    })
}

fn input(item: &str, location: &str, quantity: i64, change_from: Value) -> Value {
    json!({"name": "available", "reason": "correction",
        "referenceDocumentUri": "gid://xconnector/StockSync/1",
        "quantities": [{"inventoryItemId": item, "locationId": location,
            "quantity": quantity, "changeFromQuantity": change_from}]})
}

#[test]
fn inventory_set_quantities_with_cas_and_idempotency() {
    let h = Harness::new();
    let (item, location, before) = ids(&h);

    let data = h.data(
        SET,
        json!({"key": "k1", "input": input(&item, &location, before + 5, json!(before))}),
    );
    let payload = &data["inventorySetQuantities"];
    assert_eq!(payload["userErrors"], json!([]));
    let changes = payload["inventoryAdjustmentGroup"]["changes"]
        .as_array()
        .unwrap();
    assert_eq!(
        changes[0],
        json!({"name": "available", "delta": 5, "quantityAfterChange": before + 5,
        "item": {"id": item}, "location": {"id": location}})
    );
    assert_eq!(changes[1]["name"], "on_hand");
    assert_eq!(ids(&h).2, before + 5);

    // The same key and input again: the same answer, nothing applied twice.
    let replay = h.data(
        SET,
        json!({"key": "k1", "input": input(&item, &location, before + 5, json!(before))}),
    );
    assert_eq!(replay, data);
    assert_eq!(ids(&h).2, before + 5);
    assert_eq!(h.stats.lock().unwrap().inventory_quantities_written, 1);

    // The same key with another input.
    let other = h.data(
        SET,
        json!({"key": "k1", "input": input(&item, &location, 1, Value::Null)}),
    );
    assert_eq!(
        other["inventorySetQuantities"]["userErrors"][0]["code"],
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    );

    // A stale changeFromQuantity is refused and nothing changes.
    let stale = h.data(
        SET,
        json!({"key": "k2", "input": input(&item, &location, 0, json!(before))}),
    );
    let p = &stale["inventorySetQuantities"];
    assert_eq!(p["inventoryAdjustmentGroup"], Value::Null);
    assert_eq!(p["userErrors"][0]["code"], "CHANGE_FROM_QUANTITY_STALE");
    assert_eq!(
        p["userErrors"][0]["field"],
        json!(["input", "quantities", "0", "changeFromQuantity"])
    );
    assert_eq!(ids(&h).2, before + 5);

    // null skips the check.
    let forced = h.data(
        SET,
        json!({"key": "k3", "input": input(&item, &location, 3, Value::Null)}),
    );
    assert_eq!(forced["inventorySetQuantities"]["userErrors"], json!([]));
    assert_eq!(ids(&h).2, 3);
}

#[test]
fn inventory_set_quantities_validates_the_whole_input() {
    let h = Harness::new();
    let (item, location, before) = ids(&h);
    let mut bad = input(&item, &location, 1, json!(before));
    bad["name"] = json!("committed");
    bad["reason"] = json!("because");
    bad["referenceDocumentUri"] = json!("gid://incomplete");
    let q = bad["quantities"][0].clone();
    let mut missing_cas = q.clone();
    missing_cas
        .as_object_mut()
        .unwrap()
        .remove("changeFromQuantity");
    missing_cas["inventoryItemId"] = json!(h.shop.with(|s| format!(
        "gid://shopify/InventoryItem/{}",
        s.variant_by_sku("SKU-0001-L").unwrap().inventory_item_id
    )));
    let mut unknown_item = q.clone();
    unknown_item["inventoryItemId"] = json!("gid://shopify/InventoryItem/1");
    let mut unknown_location = q.clone();
    unknown_location["locationId"] = json!("gid://shopify/Location/1");
    let mut too_high = q.clone();
    too_high["quantity"] = json!(1_000_000_001);
    too_high["locationId"] = json!(h.shop.with(|s| format!(
        "gid://shopify/Location/{}",
        s.locations.keys().nth(1).unwrap()
    )));
    bad["quantities"] = json!([q, q, missing_cas, unknown_item, unknown_location, too_high]);
    let data = h.data(SET, json!({"key": "bad", "input": bad}));
    let codes: Vec<Value> = data["inventorySetQuantities"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            json!("INVALID_NAME"),
            json!("INVALID_REASON"),
            json!("INVALID_REFERENCE_DOCUMENT"),
            json!("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"),
            Value::Null,
            json!("INVALID_INVENTORY_ITEM"),
            json!("INVALID_LOCATION"),
            json!("INVALID_QUANTITY_TOO_HIGH"),
        ]
    );
    assert_eq!(
        ids(&h).2,
        before,
        "nothing is written when anything is wrong"
    );

    // No @idempotent: a top-level error at the field, data null for it.
    let body = h.run(
        r#"mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }"#,
        json!({"input": input(&item, &location, 1, Value::Null)}),
    );
    assert_eq!(body["data"], json!({"inventorySetQuantities": null}));
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "IDEMPOTENCY_KEY_REQUIRED"
    );
    assert_eq!(body["errors"][0]["path"], json!(["inventorySetQuantities"]));

    // More than 250 quantities.
    let mut big = input(&item, &location, 1, Value::Null);
    big["quantities"] = Value::Array(vec![big["quantities"][0].clone(); 251]);
    let body = h.run(SET, json!({"key": "big", "input": big}));
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "MAX_INPUT_SIZE_EXCEEDED"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("251")
    );
}

#[test]
fn webhook_subscriptions_are_stored_for_the_sender() {
    let h = Harness::new();
    let create = r#"mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
        webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
            webhookSubscription { id topic uri endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
            userErrors { field message }
        } }"#;
    let uri = "http://127.0.0.1:9/webhooks/shopify";
    let data = h.data(create, json!({"topic": "ORDERS_CREATE", "uri": uri}));
    let sub = &data["webhookSubscriptionCreate"]["webhookSubscription"];
    assert_eq!(sub["topic"], "ORDERS_CREATE");
    assert_eq!(
        sub["endpoint"],
        json!({"__typename": "WebhookHttpEndpoint", "callbackUrl": uri})
    );
    assert_eq!(
        h.shop
            .with(|s| s.subscriptions_for("orders/create").count()),
        1
    );

    let dup = h.data(create, json!({"topic": "ORDERS_CREATE", "uri": uri}));
    assert_eq!(
        dup["webhookSubscriptionCreate"]["userErrors"][0]["message"],
        "Address for this topic has already been taken"
    );
    let bad = h.data(
        create,
        json!({"topic": "ORDERS_UPDATED", "uri": "http://example.com/x"}),
    );
    assert_eq!(
        bad["webhookSubscriptionCreate"]["userErrors"][0]["field"],
        json!(["webhookSubscription", "uri"])
    );
    h.data(
        create,
        json!({"topic": "INVENTORY_LEVELS_UPDATE", "uri": "https://example.com/inv"}),
    );
    let list = h.data(
        "{ webhookSubscriptions(first: 10, topics: [ORDERS_CREATE]) { nodes { topic uri } } }",
        json!({}),
    );
    assert_eq!(
        list["webhookSubscriptions"]["nodes"],
        json!([{"topic": "ORDERS_CREATE", "uri": uri}])
    );
    let id = sub["id"].as_str().unwrap();
    let deleted = h.data(
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }",
        json!({"id": id}),
    );
    assert_eq!(
        deleted["webhookSubscriptionDelete"]["deletedWebhookSubscriptionId"],
        json!(id)
    );
    assert_eq!(
        h.shop
            .with(|s| s.subscriptions_for("orders/create").count()),
        0
    );
}

#[test]
fn unsupported_fields_bad_ids_and_small_roots() {
    let h = Harness::new();
    let body = h.run(
        "{ draftOrders(first: 1) { nodes { id } } shop { name } }",
        json!({}),
    );
    assert_eq!(
        body["data"],
        Value::Null,
        "draftOrders is non-null: data becomes null"
    );
    assert_eq!(
        body["errors"][0]["message"],
        "xconnector simulator does not implement field draftOrders"
    );
    let body = h.run(r#"{ order(id: "42") { id } }"#, json!({}));
    assert_eq!(body["data"], json!({"order": null}));
    assert_eq!(body["errors"][0]["message"], "Invalid global id '42'");
    let body = h.run(
        r#"{ order(id: "gid://shopify/Order/1") { id } }"#,
        json!({}),
    );
    assert_eq!(body["data"], json!({"order": null}));
    assert!(body.get("errors").is_none());

    let (order_id, customer_id) = h.shop.with(|s| {
        let o = s.orders.values().find(|o| o.customer_id.is_some()).unwrap();
        (o.id, o.customer_id.unwrap())
    });
    let data = h.data(
        r#"query($o: ID!, $c: ID!) {
            kind: __typename
            shop { name myshopifyDomain currencyCode }
            order(id: $o) { name displayFinancialStatus totalPriceSet { shopMoney { amount currencyCode } }
                shippingAddress { city provinceCode zip countryCodeV2 }
                lineItems(first: 5) { nodes { sku quantity originalUnitPriceSet { shopMoney { amount } } } }
                risk { recommendation assessments { riskLevel facts { description sentiment } } }
                customer { id email taxExempt } }
            customer(id: $c) { email orders(first: 50) { nodes { id } } }
            nodes(ids: [$o, $c]) { __typename id }
            locations(first: 5) { nodes { name isActive } }
        }"#,
        json!({"o": format!("gid://shopify/Order/{order_id}"), "c": format!("gid://shopify/Customer/{customer_id}")}),
    );
    assert_eq!(data["kind"], "QueryRoot");
    assert_eq!(data["shop"]["currencyCode"], "USD");
    assert_eq!(
        data["order"]["customer"]["id"],
        json!(format!("gid://shopify/Customer/{customer_id}"))
    );
    assert!(
        !data["order"]["lineItems"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        data["customer"]["orders"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == json!(format!("gid://shopify/Order/{order_id}")))
    );
    assert_eq!(data["nodes"][0]["__typename"], "Order");
    assert_eq!(data["nodes"][1]["__typename"], "Customer");
    assert_eq!(data["locations"]["nodes"].as_array().unwrap().len(), 2);
}

mod customers;
mod fulfillments;
mod products;
mod refunds;
mod returns;
