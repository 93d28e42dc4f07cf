//! Fulfillment orders, fulfillments, holds, tracking and carrier events end to end through the
//! pipeline, with the shop's events captured for the webhooks each call would send.

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use super::Harness;
use crate::shop::{Id, LineSpec, OrderSpec, ShopEvent, topics};

fn listen(h: &Harness) -> UnboundedReceiver<ShopEvent> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    h.shop.with(|s| s.set_event_sender(Some(tx)));
    rx
}

fn events(rx: &mut UnboundedReceiver<ShopEvent>) -> Vec<(&'static str, Id)> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| (e.topic, e.resource_id))
        .collect()
}

fn gid(kind: &str, id: Id) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// A new order of SKU-0001-S × 3 at the shop's first location and, with `split`,
/// SKU-0001-M × 2 at its second; (order id, location ids).
fn order(h: &Harness, split: bool) -> (Id, [Id; 2]) {
    h.shop.with(|s| {
        let locations: Vec<Id> = s.locations.keys().copied().take(2).collect();
        let small = s.variant_by_sku("SKU-0001-S").unwrap().id;
        let medium = s.variant_by_sku("SKU-0001-M").unwrap().id;
        let mut lines = vec![LineSpec::variant(small, 3)];
        if split {
            lines.push(LineSpec::variant(medium, 2).at(locations[1]));
        }
        let id = s.create_order(OrderSpec {
            line_items: lines,
            email: Some("ada@example.com".into()),
            ..OrderSpec::default()
        });
        (id, [locations[0], locations[1]])
    })
}

const FULFILLMENT_ORDERS: &str = r#"query($id: ID!) { order(id: $id) {
    displayFulfillmentStatus fulfillable
    fulfillmentOrders(first: 5) { nodes {
        id status
        supportedActions { action }
        assignedLocation { name location { id } }
        fulfillmentHolds { reason reasonNotes }
        lineItems(first: 5) { nodes { id totalQuantity remainingQuantity sku
            lineItem { id sku quantity } } }
    } }
} }"#;

fn fulfillment_orders(h: &Harness, order: Id) -> Value {
    let data = h.data(FULFILLMENT_ORDERS, json!({"id": gid("Order", order)}));
    data["order"].clone()
}

const CREATE: &str = r#"mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
    fulfillment { id name status displayStatus location { id }
        trackingInfo(first: 5) { company number url }
        fulfillmentLineItems(first: 5) { nodes { quantity lineItem { id sku } } }
        fulfillmentOrders(first: 5) { nodes { id status } } }
    userErrors { field message }
} }"#;

fn create(h: &Harness, input: Value) -> Value {
    h.data(CREATE, json!({"f": input}))["fulfillmentCreate"].clone()
}

/// The first line of the first fulfillment order: (fulfillment order GID, its line's GID).
fn first_line(fos: &Value, index: usize) -> (String, String) {
    let fo = &fos["fulfillmentOrders"]["nodes"][index];
    (
        fo["id"].as_str().unwrap().to_string(),
        fo["lineItems"]["nodes"][0]["id"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn actions(fo: &Value) -> Vec<String> {
    fo["supportedActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_split_order_has_a_fulfillment_order_per_location() {
    let h = Harness::new();
    let (id, [main, east]) = order(&h, true);
    let o = fulfillment_orders(&h, id);
    assert_eq!(o["displayFulfillmentStatus"], "UNFULFILLED");
    assert_eq!(o["fulfillable"], true);
    let fos = o["fulfillmentOrders"]["nodes"].as_array().unwrap();
    assert_eq!(fos.len(), 2);
    assert_eq!(
        fos[0]["assignedLocation"]["location"]["id"],
        gid("Location", main)
    );
    assert_eq!(
        fos[1]["assignedLocation"]["location"]["id"],
        gid("Location", east)
    );
    for fo in fos {
        assert_eq!(fo["status"], "OPEN");
        assert!(actions(fo).contains(&"CREATE_FULFILLMENT".to_string()));
        assert!(actions(fo).contains(&"HOLD".to_string()));
        assert_eq!(fo["fulfillmentHolds"], json!([]));
    }
    let line = &fos[1]["lineItems"]["nodes"][0];
    assert_eq!(line["sku"], "SKU-0001-M");
    assert_eq!(
        (&line["totalQuantity"], &line["remainingQuantity"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(line["lineItem"]["quantity"], 2);

    // The same fulfillment order by id, through node, and in the shop-wide list.
    let fo_id = fos[1]["id"].as_str().unwrap();
    let data = h.data(
        r#"query($id: ID!) { fulfillmentOrder(id: $id) { id orderName order { id } }
            node(id: $id) { __typename ... on FulfillmentOrder { status } }
            fulfillmentOrders(first: 250, query: "status:open") { nodes { id } } }"#,
        json!({"id": fo_id}),
    );
    assert_eq!(data["fulfillmentOrder"]["order"]["id"], gid("Order", id));
    assert_eq!(data["node"]["__typename"], "FulfillmentOrder");
    assert!(
        data["fulfillmentOrders"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == fo_id)
    );
}

#[test]
fn fulfilling_part_then_the_rest_closes_the_fulfillment_order() {
    let h = Harness::new();
    let (id, [main, _]) = order(&h, true);
    let (fo, line) = first_line(&fulfillment_orders(&h, id), 0);
    let committed = || {
        h.shop.with(|s| {
            let item = s.variant_by_sku("SKU-0001-S").unwrap().inventory_item_id;
            s.inventory_level(item, main).unwrap().committed
        })
    };
    let committed_before = committed();
    let mut rx = listen(&h);
    let body = h.run(
        CREATE,
        json!({"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo,
            "fulfillmentOrderLineItems": [{"id": line, "quantity": 1}]}],
            "trackingInfo": {"company": "UPS", "number": "1Z999AA10123456784"},
            "notifyCustomer": true}}),
    );
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 10);
    let p = &body["data"]["fulfillmentCreate"];
    assert_eq!(p["userErrors"], json!([]));
    let f = &p["fulfillment"];
    assert_eq!(f["status"], "SUCCESS");
    assert_eq!(f["displayStatus"], "FULFILLED");
    assert_eq!(f["location"]["id"], gid("Location", main));
    let name = h.shop.with(|s| format!("{}.1", s.orders[&id].name));
    assert_eq!(f["name"], json!(name));
    assert_eq!(f["trackingInfo"][0]["company"], "UPS");
    assert!(
        f["trackingInfo"][0]["url"]
            .as_str()
            .unwrap()
            .contains("1Z999AA10123456784"),
        "Shopify builds the URL of a carrier it knows"
    );
    assert_eq!(f["fulfillmentLineItems"]["nodes"][0]["quantity"], 1);
    assert_eq!(
        f["fulfillmentLineItems"]["nodes"][0]["lineItem"]["sku"],
        "SKU-0001-S"
    );
    assert_eq!(
        f["fulfillmentOrders"]["nodes"],
        json!([{"id": fo, "status": "IN_PROGRESS"}])
    );
    let fulfillment: Id = crate::gid::parse_kind(f["id"].as_str().unwrap(), "Fulfillment").unwrap();
    assert_eq!(
        events(&mut rx),
        [
            (topics::ORDERS_UPDATED, id),
            (topics::FULFILLMENTS_CREATE, fulfillment),
            (topics::ORDERS_PARTIALLY_FULFILLED, id),
        ]
    );
    assert_eq!(
        h.shop.with(|s| s.fulfillments[&fulfillment].notifications),
        1
    );
    let o = fulfillment_orders(&h, id);
    assert_eq!(o["displayFulfillmentStatus"], "PARTIALLY_FULFILLED");
    let first = &o["fulfillmentOrders"]["nodes"][0];
    assert_eq!(first["status"], "IN_PROGRESS");
    assert_eq!(first["lineItems"]["nodes"][0]["remainingQuantity"], 2);
    assert_eq!(first["lineItems"]["nodes"][0]["lineItem"]["quantity"], 3);

    // The rest of it: an entry without lines takes everything that remains.
    let p = create(
        &h,
        json!({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}]}),
    );
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(
        p["fulfillment"]["fulfillmentLineItems"]["nodes"][0]["quantity"],
        2
    );
    let o = fulfillment_orders(&h, id);
    let first = &o["fulfillmentOrders"]["nodes"][0];
    assert_eq!(first["status"], "CLOSED");
    assert!(actions(first).is_empty());
    assert_eq!(o["displayFulfillmentStatus"], "PARTIALLY_FULFILLED");

    // The other location's fulfillment order completes the order.
    let (east, _) = first_line(&o, 1);
    events(&mut rx);
    let p = create(
        &h,
        json!({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": east}]}),
    );
    assert_eq!(p["userErrors"], json!([]));
    let o = fulfillment_orders(&h, id);
    assert_eq!(o["displayFulfillmentStatus"], "FULFILLED");
    assert_eq!(o["fulfillable"], false);
    assert!(events(&mut rx).contains(&(topics::ORDERS_FULFILLED, id)));
    let data = h.data(
        "query($id: ID!) { order(id: $id) { fulfillments(first: 2) { name totalQuantity } } }",
        json!({"id": gid("Order", id)}),
    );
    assert_eq!(data["order"]["fulfillments"].as_array().unwrap().len(), 2);
    h.shop.with(|s| {
        let o = &s.orders[&id];
        assert!(o.line_items.iter().all(|l| l.fulfillable_quantity == 0));
    });
    assert_eq!(
        committed(),
        committed_before - 3,
        "shipped units leave committed"
    );
}

#[test]
fn refused_fulfillments_say_why_and_write_nothing() {
    let h = Harness::new();
    let (id, _) = order(&h, true);
    let fos = fulfillment_orders(&h, id);
    let (fo, line) = first_line(&fos, 0);
    let (east, _) = first_line(&fos, 1);
    let (other, _) = {
        let (other_order, _) = order(&h, false);
        first_line(&fulfillment_orders(&h, other_order), 0)
    };
    let before = h.shop.with(|s| s.fulfillments.len());
    let error = |input: Value| create(&h, input)["userErrors"][0].clone();
    let one = |fo: &str, line: &str, quantity: i64| {
        json!({"fulfillmentOrderId": fo,
            "fulfillmentOrderLineItems": [{"id": line, "quantity": quantity}]})
    };
    assert_eq!(
        error(json!({"lineItemsByFulfillmentOrder": [one(&fo, &line, 4)]})),
        json!({"field": ["fulfillment"],
            "message": "Invalid fulfillment order line item quantity requested."})
    );
    assert_eq!(
        error(json!({"lineItemsByFulfillmentOrder": [one(&fo, &line, 2), one(&fo, &line, 2)]}))["message"],
        "Invalid fulfillment order line item quantity requested.",
        "a line named twice counts twice"
    );
    assert_eq!(
        error(json!({"lineItemsByFulfillmentOrder": [one(&fo, &line, 0)]})),
        json!({"field": ["fulfillment", "lineItemsByFulfillmentOrder", "0",
            "fulfillmentOrderLineItems", "0", "quantity"],
            "message": "Quantity must be greater than 0"})
    );
    assert_eq!(
        error(
            json!({"lineItemsByFulfillmentOrder": [one(&fo, "gid://shopify/FulfillmentOrderLineItem/1", 1)]})
        )["message"],
        "Invalid fulfillment order line item quantity requested."
    );
    assert_eq!(
        error(
            json!({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1"}]})
        ),
        json!({"field": ["fulfillment"], "message": "Fulfillment order does not exist."})
    );
    assert_eq!(
        error(
            json!({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}, {"fulfillmentOrderId": other}]})
        )["message"],
        "All fulfillment orders must belong to the same order."
    );
    assert_eq!(
        error(
            json!({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}, {"fulfillmentOrderId": east}]})
        )["message"],
        "Fulfillment orders must belong to the same location."
    );
    assert_eq!(
        error(json!({"lineItemsByFulfillmentOrder": []})),
        json!({"field": ["fulfillment", "lineItemsByFulfillmentOrder"],
            "message": "Line items by fulfillment order can't be blank"})
    );
    assert_eq!(h.shop.with(|s| s.fulfillments.len()), before);
    let o = fulfillment_orders(&h, id);
    assert_eq!(
        o["fulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"][0]["remainingQuantity"],
        3
    );
}

const HOLD: &str = r#"mutation($id: ID!, $hold: FulfillmentOrderHoldInput!) {
    fulfillmentOrderHold(id: $id, fulfillmentHold: $hold) {
        fulfillmentHold { id reason reasonNotes displayReason handle }
        fulfillmentOrder { id status supportedActions { action } }
        remainingFulfillmentOrder { id }
        userErrors { field message code }
    } }"#;

const RELEASE: &str = r#"mutation($id: ID!) { fulfillmentOrderReleaseHold(id: $id) {
    fulfillmentOrder { id status } userErrors { field message code } } }"#;

#[test]
fn a_held_fulfillment_order_does_not_ship_until_released() {
    let h = Harness::new();
    let (id, _) = order(&h, false);
    let (fo, _) = first_line(&fulfillment_orders(&h, id), 0);
    let held = h.data(
        HOLD,
        json!({"id": fo, "hold": {"reason": "INCORRECT_ADDRESS", "reasonNotes": "No such street"}}),
    )["fulfillmentOrderHold"]
        .clone();
    assert_eq!(held["userErrors"], json!([]));
    assert_eq!(held["fulfillmentHold"]["reason"], "INCORRECT_ADDRESS");
    assert_eq!(
        held["fulfillmentHold"]["displayReason"],
        "Incorrect address"
    );
    assert_eq!(held["fulfillmentOrder"]["status"], "ON_HOLD");
    let acts = actions(&held["fulfillmentOrder"]);
    assert!(acts.contains(&"RELEASE_HOLD".to_string()));
    assert!(!acts.contains(&"CREATE_FULFILLMENT".to_string()));
    let o = fulfillment_orders(&h, id);
    assert_eq!(o["displayFulfillmentStatus"], "ON_HOLD");
    assert_eq!(
        o["fulfillmentOrders"]["nodes"][0]["fulfillmentHolds"],
        json!([{"reason": "INCORRECT_ADDRESS", "reasonNotes": "No such street"}])
    );

    // A second hold needs its own handle.
    let dup = h.data(HOLD, json!({"id": fo, "hold": {"reason": "OTHER"}}));
    assert_eq!(
        dup["fulfillmentOrderHold"]["userErrors"][0]["code"],
        "DUPLICATE_FULFILLMENT_HOLD_HANDLE"
    );

    let numeric = crate::gid::parse_kind(&fo, "FulfillmentOrder").unwrap();
    let refused = create(
        &h,
        json!({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}]}),
    );
    assert_eq!(
        refused["userErrors"],
        json!([{"field": ["fulfillment"],
            "message": format!("Fulfillment order {numeric} has an unfulfillable status= on_hold.")}])
    );
    assert_eq!(refused["fulfillment"], Value::Null);

    let released = h.data(RELEASE, json!({"id": fo}))["fulfillmentOrderReleaseHold"].clone();
    assert_eq!(
        released,
        json!({"fulfillmentOrder": {"id": fo, "status": "OPEN"}, "userErrors": []})
    );
    assert_eq!(
        fulfillment_orders(&h, id)["displayFulfillmentStatus"],
        "UNFULFILLED"
    );
    let again = h.data(RELEASE, json!({"id": fo}))["fulfillmentOrderReleaseHold"].clone();
    assert_eq!(
        again["userErrors"][0]["message"],
        "The fulfillment order is not on hold."
    );
    let unknown = h.data(RELEASE, json!({"id": "gid://shopify/FulfillmentOrder/1"}));
    assert_eq!(
        unknown["fulfillmentOrderReleaseHold"]["userErrors"][0]["code"],
        "FULFILLMENT_ORDER_NOT_FOUND"
    );
    let shipped = create(
        &h,
        json!({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}]}),
    );
    assert_eq!(shipped["userErrors"], json!([]));

    // Closed now: no hold, and the status says so.
    let closed = h.data(
        HOLD,
        json!({"id": fo, "hold": {"reason": "OTHER", "handle": "x"}}),
    );
    assert_eq!(
        closed["fulfillmentOrderHold"]["userErrors"][0]["field"],
        json!(["id"])
    );
}

/// A fulfilled order and its fulfillment's id.
fn shipped(h: &Harness) -> (Id, Id) {
    let (id, _) = order(h, false);
    let (fo, _) = first_line(&fulfillment_orders(h, id), 0);
    let p = create(
        h,
        json!({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}],
            "trackingInfo": {"company": "Acme Freight", "number": "ACME-1"}, "notifyCustomer": true}),
    );
    let f =
        crate::gid::parse_kind(p["fulfillment"]["id"].as_str().unwrap(), "Fulfillment").unwrap();
    (id, f)
}

#[test]
fn tracking_updates_replace_the_numbers_and_notify_when_asked() {
    let h = Harness::new();
    let (_, f) = shipped(&h);
    assert_eq!(
        h.shop.with(|s| s.fulfillments[&f].tracking[0].url.clone()),
        None,
        "no URL for a carrier Shopify does not know"
    );
    let mut rx = listen(&h);
    let update = r#"mutation($id: ID!, $t: FulfillmentTrackingInput!, $n: Boolean) {
        fulfillmentTrackingInfoUpdate(fulfillmentId: $id, trackingInfoInput: $t, notifyCustomer: $n) {
            fulfillment { id trackingInfo(first: 5) { company number url } }
            userErrors { field message } } }"#;
    let p = h.data(
        update,
        json!({"id": gid("Fulfillment", f), "n": true, "t": {"company": "FedEx",
            "numbers": ["123456789012", "123456789013"],
            "urls": ["https://track.example/1"]}}),
    )["fulfillmentTrackingInfoUpdate"]
        .clone();
    assert_eq!(p["userErrors"], json!([]));
    let infos = p["fulfillment"]["trackingInfo"].as_array().unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[0]["url"], "https://track.example/1");
    assert_eq!(infos[1]["number"], "123456789013");
    assert!(infos[1]["url"].as_str().unwrap().contains("fedex.com"));
    assert_eq!(events(&mut rx), [(topics::FULFILLMENTS_UPDATE, f)]);
    assert_eq!(h.shop.with(|s| s.fulfillments[&f].notifications), 2);
    // Without notifyCustomer: no notification.
    h.data(
        update,
        json!({"id": gid("Fulfillment", f), "t": {"company": "FedEx", "number": "123456789014"}}),
    );
    assert_eq!(h.shop.with(|s| s.fulfillments[&f].notifications), 2);
    assert!(h.shop.with(|s| s.customer_notifications() >= 2));
    let unknown = h.data(
        update,
        json!({"id": "gid://shopify/Fulfillment/1", "t": {"number": "x"}}),
    );
    assert_eq!(
        unknown["fulfillmentTrackingInfoUpdate"],
        json!({"fulfillment": null, "userErrors": [{"field": ["fulfillmentId"],
            "message": "Fulfillment does not exist."}]})
    );
}

const EVENT: &str = r#"mutation($e: FulfillmentEventInput!) { fulfillmentEventCreate(fulfillmentEvent: $e) {
    fulfillmentEvent { id status happenedAt message estimatedDeliveryAt }
    userErrors { field message } } }"#;

#[test]
fn carrier_events_are_recorded_in_the_order_given() {
    let h = Harness::new();
    let (_, f) = shipped(&h);
    let mut rx = listen(&h);
    let fid = gid("Fulfillment", f);
    let posted = [
        ("IN_TRANSIT", "2026-12-02T10:00:00Z"),
        ("DELIVERED", "2026-12-04T15:30:00Z"),
        // Late and out of order: Shopify records it, and it becomes the latest.
        ("IN_TRANSIT", "2026-12-01T09:00:00Z"),
    ];
    for (status, at) in posted {
        let p = h.data(
            EVENT,
            json!({"e": {"fulfillmentId": fid, "status": status, "happenedAt": at,
                "message": "carrier scan", "estimatedDeliveryAt": "2026-12-05T00:00:00Z"}}),
        )["fulfillmentEventCreate"]
            .clone();
        assert_eq!(p["userErrors"], json!([]));
        assert_eq!(p["fulfillmentEvent"]["status"], status);
        assert_eq!(p["fulfillmentEvent"]["happenedAt"], at);
    }
    assert_eq!(events(&mut rx), [(topics::FULFILLMENTS_UPDATE, f); 3]);
    let data = h.data(
        r#"query($id: ID!) { fulfillment(id: $id) { displayStatus deliveredAt inTransitAt
            byId: events(first: 10, sortKey: ID) { nodes { status happenedAt } }
            byTime: events(first: 10) { nodes { happenedAt } } } }"#,
        json!({"id": fid}),
    );
    let f_tree = &data["fulfillment"];
    let by_id: Vec<(Value, Value)> = f_tree["byId"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["status"].clone(), n["happenedAt"].clone()))
        .collect();
    assert_eq!(
        by_id,
        posted
            .iter()
            .map(|(s, a)| (json!(s), json!(a)))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        f_tree["byTime"]["nodes"],
        json!([{"happenedAt": "2026-12-01T09:00:00Z"}, {"happenedAt": "2026-12-02T10:00:00Z"},
            {"happenedAt": "2026-12-04T15:30:00Z"}])
    );
    assert_eq!(f_tree["displayStatus"], "IN_TRANSIT");
    assert_eq!(f_tree["deliveredAt"], "2026-12-04T15:30:00Z");
    let payload = h
        .shop
        .with(|s| crate::rest::render_topic(s, topics::FULFILLMENTS_UPDATE, f))
        .unwrap();
    assert_eq!(payload["shipment_status"], "in_transit");

    let unknown = h.data(
        EVENT,
        json!({"e": {"fulfillmentId": "gid://shopify/Fulfillment/1", "status": "DELIVERED"}}),
    );
    assert_eq!(
        unknown["fulfillmentEventCreate"]["userErrors"],
        json!([{"field": ["fulfillmentEvent", "fulfillmentId"],
            "message": "Fulfillment does not exist."}])
    );
    let bad_time = h.data(
        EVENT,
        json!({"e": {"fulfillmentId": fid, "status": "DELIVERED", "happenedAt": "yesterday"}}),
    );
    assert_eq!(
        bad_time["fulfillmentEventCreate"]["userErrors"][0]["field"],
        json!(["fulfillmentEvent", "happenedAt"])
    );
    assert_eq!(h.shop.with(|s| s.fulfillments[&f].events.len()), 3);
}

/// The keys of a documented webhook sample's payload, and of its first line item.
fn sample_keys(topic: &str) -> (Vec<String>, Vec<String>) {
    let path = format!(
        "{}/../tests/fixtures/shopify/webhooks-2026-07/{topic}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    (keys(&v["response"]), keys(&v["response"]["line_items"][0]))
}

#[test]
fn fulfillment_webhooks_have_exactly_the_documented_keys() {
    let h = Harness::new();
    let (order_id, f) = shipped(&h);
    h.data(
        EVENT,
        json!({"e": {"fulfillmentId": gid("Fulfillment", f), "status": "OUT_FOR_DELIVERY"}}),
    );
    for topic in [topics::FULFILLMENTS_CREATE, topics::FULFILLMENTS_UPDATE] {
        let payload = h
            .shop
            .with(|s| crate::rest::render_topic(s, topic, f))
            .unwrap();
        let (keys, line_keys) = sample_keys(topic);
        let (got, got_lines) = {
            let mut k: Vec<String> = payload.as_object().unwrap().keys().cloned().collect();
            k.sort();
            let mut l: Vec<String> = payload["line_items"][0]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            l.sort();
            (k, l)
        };
        assert_eq!(got, keys, "{topic}");
        assert_eq!(got_lines, line_keys, "{topic}");
        assert_eq!(payload["order_id"], json!(order_id));
        assert_eq!(payload["status"], "success");
        assert_eq!(payload["shipment_status"], "out_for_delivery");
        assert_eq!(payload["tracking_company"], "Acme Freight");
        assert_eq!(payload["tracking_numbers"], json!(["ACME-1"]));
        assert_eq!(payload["line_items"][0]["quantity"], 3);
        assert_eq!(
            payload["admin_graphql_api_id"],
            json!(gid("Fulfillment", f))
        );
    }
    let partially = h
        .shop
        .with(|s| crate::rest::render_topic(s, topics::ORDERS_PARTIALLY_FULFILLED, order_id));
    assert!(partially.is_some());
}
