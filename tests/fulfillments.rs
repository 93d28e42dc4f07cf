//! Shipment tracking into Shopify, end to end: the real daemon binary, orders placed in the
//! simulated shop and delivered to the simulated WMS by the orders flow, shipments for them
//! posted back as a WMS would (split orders, orders in two boxes, resends, a SIGKILL midway),
//! and the shop itself as the judge of what was fulfilled.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::rig::{
    API_TOKEN, Rig, RigOptions, daemon_config, free_port, quiescent, start_daemon, until,
};
use serde_json::{Value, json};
use xconnector::sim::Faults;
use xconnector::sim::shop::{
    FulfillmentEventStatus, FulfillmentHoldReason, Id, LineSpec, OrderSpec,
};

const FULFILLMENTS: &str = r#"
[flows.fulfillments]
targets = ["support", "wms"]
order_wait = "3s"
"#;

/// Carriers as a WMS spells them, and as Shopify should get them.
const CARRIERS: [(&str, &str); 4] = [
    ("ups", "UPS"),
    ("Fedex", "FedEx"),
    ("DHL", "DHL Express"),
    ("Acme Freight", "Acme Freight"),
];

/// An order the test placed: its lines (line item id, SKU, quantity, location).
struct Placed {
    id: Id,
    name: String,
    lines: Vec<(Id, String, u32, Id)>,
}

/// Places `n` paid orders of stocked variants; every third has its two lines at two
/// locations, and every fifth has at least two lines (it ships in two boxes).
fn place_orders(rig: &Rig, n: usize) -> Vec<Placed> {
    rig.sim.shop().with(|shop| {
        let mut locations: Vec<Id> = shop
            .locations
            .values()
            .filter(|l| l.active)
            .map(|l| l.id)
            .collect();
        locations.sort_unstable();
        let customers: Vec<Id> = shop.customers.keys().copied().collect();
        let mut rng = fastrand::Rng::with_seed(17);
        let mut placed = Vec::new();
        for i in 0..n {
            let split = i % 3 == 0;
            let lines = if split || i % 5 == 0 { 2 } else { 1 + i % 2 };
            let mut specs: Vec<LineSpec> = Vec::new();
            while specs.len() < lines {
                let location = locations[if split { specs.len() } else { 0 }];
                let variant = rig.sellable[rng.usize(0..rig.sellable.len())];
                let item = shop.variants[&variant].inventory_item_id;
                let stocked = shop
                    .inventory_level(item, location)
                    .is_some_and(|l| l.available >= 10);
                if !stocked || specs.iter().any(|s| s.variant_id == Some(variant)) {
                    continue;
                }
                specs.push(LineSpec::variant(variant, 1 + (i % 3) as u32).at(location));
            }
            let id = shop.create_order(OrderSpec {
                customer_id: Some(customers[i % customers.len()]),
                line_items: specs,
                tax_rate_bps: 825,
                ..OrderSpec::default()
            });
            let order = &shop.orders[&id];
            placed.push(Placed {
                id,
                name: order.name.clone(),
                lines: order
                    .line_items
                    .iter()
                    .map(|l| {
                        (
                            l.id,
                            l.sku.clone().unwrap_or_default(),
                            l.quantity,
                            l.location_id.unwrap_or(0),
                        )
                    })
                    .collect(),
            });
        }
        placed
    })
}

/// The shipments a WMS sends for a canonical order it received: one box with everything
/// (lines listed, or left out), or (every fifth order) two boxes of a line each.
fn shipments_for(i: usize, order: &Value) -> Vec<Value> {
    let name = order["name"].as_str().unwrap();
    let lines: Vec<Value> = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({"sku": l["sku"], "quantity": l["quantity"]}))
        .collect();
    let (carrier, _) = CARRIERS[i % CARRIERS.len()];
    let shipment = |part: usize, lines: Option<Vec<Value>>| {
        let mut s = json!({
            "id": format!("SHP-{name}-{part}"),
            "order": {"name": name},
            "carrier": carrier,
            "tracking_numbers": [format!("TRK{}{part}", name.trim_start_matches('#'))],
            "status": "picked_up",
            "happened_at": "2026-12-02T10:00:00Z",
        });
        if let Some(lines) = lines {
            s["lines"] = Value::Array(lines);
        }
        s
    };
    if i.is_multiple_of(5) {
        lines
            .iter()
            .enumerate()
            .map(|(part, l)| shipment(part + 1, Some(vec![l.clone()])))
            .collect()
    } else if i.is_multiple_of(2) {
        vec![shipment(1, None)]
    } else {
        vec![shipment(1, Some(lines))]
    }
}

/// Posts shipments in requests of 50; returns the request ids.
async fn post(port: u16, shipments: &[Value]) -> Vec<String> {
    let http = xconnector_actors::http_client::builder().build().unwrap();
    let mut ids = Vec::new();
    for chunk in shipments.chunks(50) {
        let (status, body) = send(&http, port, &json!({"source": "wms", "shipments": chunk})).await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["request_id"].as_str().unwrap().to_string());
    }
    ids
}

async fn send(http: &reqwest::Client, port: u16, body: &Value) -> (u16, Value) {
    let resp = http
        .post(format!("http://127.0.0.1:{port}/api/v1/shipments"))
        .bearer_auth(API_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `GET /api/v1/{path}` with the rig's token: the answer's JSON, or null.
async fn api_get(port: u16, path: &str) -> Value {
    let http = xconnector_actors::http_client::builder().build().unwrap();
    http.get(format!("http://127.0.0.1:{port}/api/v1/{path}"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null)
}

/// What became of each item of request `id`: (state, reason).
async fn request_items(port: u16, id: &str) -> Vec<(String, String)> {
    let status = api_get(port, &format!("requests/{id}")).await;
    status["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["state"].as_str().unwrap_or("?").to_string(),
                i["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Waits until every item of `requests` is finished (applied or an exception).
async fn finished(port: u16, requests: &[String]) {
    until("the shipments' items to finish", || async {
        for id in requests {
            let items = request_items(port, id).await;
            if items.is_empty()
                || items
                    .iter()
                    .any(|(s, _)| !matches!(s.as_str(), "applied" | "exception" | "cancelled"))
            {
                return None;
            }
        }
        Some(())
    })
    .await
}

/// The shop's fulfillments of `order`: (tracking numbers, companies, line item → quantity,
/// notifications, events).
type Seen = (
    Vec<String>,
    BTreeSet<String>,
    BTreeMap<Id, u32>,
    u32,
    Vec<FulfillmentEventStatus>,
);

fn fulfillments_of(rig: &Rig, order: Id) -> Vec<Seen> {
    rig.sim.shop().with(|shop| {
        let mut out: Vec<Seen> = shop
            .fulfillments
            .values()
            .filter(|f| f.order_id == order)
            .map(|f| {
                let mut lines = BTreeMap::new();
                for l in &f.line_items {
                    *lines.entry(l.line_item_id).or_default() += l.quantity;
                }
                (
                    f.tracking.iter().filter_map(|t| t.number.clone()).collect(),
                    f.tracking
                        .iter()
                        .filter_map(|t| t.company.clone())
                        .collect(),
                    lines,
                    f.notifications,
                    f.events.iter().map(|e| e.status).collect(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}

/// Every fulfillment the shop has, by id: its events.
fn all_fulfillments(rig: &Rig) -> BTreeMap<Id, usize> {
    rig.sim.shop().with(|shop| {
        shop.fulfillments
            .iter()
            .map(|(id, f)| (*id, f.events.len()))
            .collect()
    })
}

/// Shipment id → idempotency keys of the canonical shipments `endpoint` received, with the
/// changes each said.
fn canonical_at(rig: &Rig, endpoint: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for r in rig.office.received(endpoint) {
        if r.body["schema"] != "xconnector.shipment.v1" {
            continue;
        }
        let changes = r.body["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect();
        out.entry(r.body["shipment_id"].as_str().unwrap_or("?").to_string())
            .or_default()
            .insert(r.idempotency_key, changes);
    }
    out
}

/// The shop sending its webhooks to a daemon (not started) on `port`, with the section.
async fn world(dir: &Path) -> (Rig, u16, std::path::PathBuf) {
    let port = free_port();
    let rig = Rig::start(RigOptions::webhooks_to(format!(
        "http://127.0.0.1:{port}/webhooks/shopify"
    )))
    .await;
    let config = daemon_config(dir, port, &rig, "1h", FULFILLMENTS);
    (rig, port, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_shipped_orders_are_fulfilled_exactly_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (rig, port, config) = world(dir.path()).await;
    let daemon = start_daemon(&config);
    let placed = place_orders(&rig, 500);
    let index: BTreeMap<&str, usize> = placed
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    // The orders reach the WMS through the orders flow; the WMS ships what it received.
    let at_wms = until("every order at the WMS", || async {
        let mut orders: BTreeMap<String, Value> = BTreeMap::new();
        for r in rig.office.received("wms") {
            if r.body["schema"] == "xconnector.order.v1" {
                orders.insert(r.body["name"].as_str().unwrap_or("?").into(), r.body);
            }
        }
        (orders.len() == placed.len()).then_some(orders)
    })
    .await;
    let mut shipments = Vec::new();
    for (name, order) in &at_wms {
        shipments.extend(shipments_for(index[name.as_str()], order));
    }
    let split = placed
        .iter()
        .filter(|p| p.lines.iter().map(|l| l.3).collect::<BTreeSet<_>>().len() > 1)
        .count();
    assert!(split >= 160, "a third of the orders are split: {split}");
    assert!(
        shipments.len() >= 600,
        "a fifth in two boxes: {}",
        shipments.len()
    );
    let points_before = rig.sim.stats().points_spent;

    // Half, then a SIGKILL with items in flight, then the rest, then everything again.
    let half = shipments.len() / 2;
    let mut requests = post(port, &shipments[..half]).await;
    daemon.signal("KILL");
    drop(daemon);
    let _daemon = start_daemon(&config);
    // The rest with answers lost: a tenth of Shopify's connections close after it ran the
    // call, so a fulfillment may exist that the daemon never heard of.
    rig.sim.set_faults(Faults {
        drop_connection: 0.1,
        ..Faults::none()
    });
    requests.extend(post(port, &shipments[half..]).await);
    finished(port, &requests).await;
    rig.sim.set_faults(Faults::none());
    quiescent(&rig, &config).await;
    let dropped = rig.sim.stats().dropped_connections;
    assert!(dropped > 20, "answers were lost: {dropped}");
    let fulfilled = all_fulfillments(&rig);
    let points = rig.sim.stats().points_spent - points_before;
    let resent = post(port, &shipments).await;
    finished(port, &resent).await;
    quiescent(&rig, &config).await;
    assert_eq!(
        all_fulfillments(&rig),
        fulfilled,
        "shipments sent again created or changed nothing"
    );

    let mut made = 0;
    for (i, order) in placed.iter().enumerate() {
        let seen = fulfillments_of(&rig, order.id);
        // Every line fulfilled exactly its quantity.
        let mut shipped: BTreeMap<Id, u32> = BTreeMap::new();
        for (_, _, lines, notified, events) in &seen {
            for (line, q) in lines {
                *shipped.entry(*line).or_default() += q;
            }
            assert_eq!(
                *notified, 1,
                "{}: one notification per fulfillment",
                order.name
            );
            assert_eq!(
                events,
                &[FulfillmentEventStatus::CarrierPickedUp],
                "{}: one status event",
                order.name
            );
        }
        let want: BTreeMap<Id, u32> = order.lines.iter().map(|l| (l.0, l.2)).collect();
        assert_eq!(shipped, want, "{}: fulfilled quantities", order.name);
        // One fulfillment per box and location, each with its box's tracking.
        let locations = order
            .lines
            .iter()
            .map(|l| l.3)
            .collect::<BTreeSet<_>>()
            .len();
        let expected = if i % 5 == 0 {
            order.lines.len()
        } else {
            locations
        };
        assert_eq!(seen.len(), expected, "{}: fulfillments", order.name);
        let (_, company) = CARRIERS[i % CARRIERS.len()];
        for (numbers, companies, ..) in &seen {
            assert_eq!(numbers.len(), 1, "{}: {numbers:?}", order.name);
            assert!(
                numbers[0].starts_with(&format!("TRK{}", order.name.trim_start_matches('#'))),
                "{}: {numbers:?}",
                order.name
            );
            assert_eq!(
                companies,
                &BTreeSet::from([company.to_string()]),
                "{}",
                order.name
            );
        }
        made += seen.len();
    }
    // Support hears of each shipment once; the WMS is not sent its own shipments back.
    let support = canonical_at(&rig, "support");
    assert_eq!(
        support.len(),
        shipments.len(),
        "every shipment told to support"
    );
    for (id, keys) in &support {
        assert_eq!(keys.len(), 1, "{id}: told once, got {keys:?}");
        let changes = keys.values().next().unwrap();
        assert_eq!(changes, &["shipped", "status"], "{id}");
    }
    assert!(canonical_at(&rig, "wms").is_empty());
    eprintln!(
        "fulfillments: {made} fulfillments of {} shipments for {} orders cost {points} points: {:.1} points per fulfillment",
        shipments.len(),
        placed.len(),
        points as f64 / made as f64
    );
}

/// The items of the newest request with an exception: its reason.
async fn exception_of(port: u16, request: &str) -> String {
    until("the shipment to become an exception", || async {
        let items = request_items(port, request).await;
        items
            .into_iter()
            .find(|(s, _)| s == "exception")
            .map(|(_, reason)| reason)
    })
    .await
}

fn item_ids(config: &Path, state: &str) -> Vec<String> {
    let page = common::cli_json(
        &[
            "items",
            "list",
            "--json",
            "--flow",
            "fulfillments",
            "--state",
            state,
            "--config",
        ],
        config,
    );
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i["id"].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shipments_that_cannot_ship_are_exceptions_until_an_operator_retries_them() {
    let dir = tempfile::tempdir().unwrap();
    let (rig, port, config) = world(dir.path()).await;
    let _daemon = start_daemon(&config);
    let placed = place_orders(&rig, 3);
    let http = xconnector_actors::http_client::builder().build().unwrap();
    let post_one = |shipment: Value| {
        let http = http.clone();
        async move {
            let (status, body) = send(
                &http,
                port,
                &json!({"source": "wms", "shipments": [shipment]}),
            )
            .await;
            assert_eq!(status, 202, "{body}");
            body["request_id"].as_str().unwrap().to_string()
        }
    };

    // Over-shipment: more than the order has left.
    let (_, sku, qty, _) = placed[1].lines[0].clone();
    let over = post_one(json!({"id": "OVER", "order": {"name": placed[1].name},
        "lines": [{"sku": sku, "quantity": qty + 2}], "carrier": "UPS", "tracking_numbers": ["1"]}))
    .await;
    let reason = exception_of(port, &over).await;
    assert!(
        reason.contains(&format!(
            "lines[0] (SKU {sku}): ships {}, but only {qty} {} left to fulfil on {}",
            qty + 2,
            if qty == 1 { "is" } else { "are" },
            placed[1].name
        )),
        "{reason}"
    );

    // An order Shopify does not have: retried, then an exception after order_wait.
    let unknown = post_one(json!({"id": "LOST", "order": {"name": "#999999"}})).await;
    let reason = exception_of(port, &unknown).await;
    assert!(
        reason.contains("order #999999 is not in Shopify") && reason.contains("order_wait"),
        "{reason}"
    );

    // A held fulfillment order: the line and the hold's reason; released and retried, it ships.
    let held_order = &placed[2];
    let fo = rig.sim.shop().with(|shop| {
        let fo = shop.fulfillment_orders_of(held_order.id)[0].id;
        shop.hold_fulfillment_order(fo, FulfillmentHoldReason::IncorrectAddress)
            .unwrap();
        fo
    });
    let (_, sku, qty, _) = held_order.lines[0].clone();
    let held = post_one(json!({"id": "HELD", "order": {"name": held_order.name},
        "lines": [{"sku": sku, "quantity": qty}], "carrier": "ups", "tracking_numbers": ["H1"]}))
    .await;
    let reason = exception_of(port, &held).await;
    assert!(
        reason.contains(&format!("lines[0] (SKU {sku}): {qty} of {qty} cannot ship"))
            && reason.contains("is ON_HOLD (INCORRECT_ADDRESS)"),
        "{reason}"
    );
    assert!(fulfillments_of(&rig, held_order.id).is_empty());
    rig.sim
        .shop()
        .with(|shop| shop.release_fulfillment_order(fo).unwrap());
    let exceptions = item_ids(&config, "exception");
    assert_eq!(exceptions.len(), 3, "{exceptions:?}");
    let retried = common::xconnector()
        .args(["items", "act", "retry"])
        .args(&exceptions)
        .args(["--note", "hold released", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(retried.status.success(), "{retried:?}");
    until("the released shipment fulfilled", || async {
        let seen = fulfillments_of(&rig, held_order.id);
        (seen.len() == 1).then_some(())
    })
    .await;
    let seen = fulfillments_of(&rig, held_order.id);
    assert_eq!(seen[0].0, ["H1"]);
    assert_eq!(seen[0].1, BTreeSet::from(["UPS".to_string()]));
    assert_eq!(seen[0].2, BTreeMap::from([(held_order.lines[0].0, qty)]));
    // The other two are exceptions again, for the same reasons.
    until("the others held again", || async {
        let again = item_ids(&config, "exception");
        (again.len() == 2).then_some(())
    })
    .await;
    assert!(fulfillments_of(&rig, placed[1].id).is_empty());

    // An order of more lines than the first read of its fulfillment orders holds.
    let big = rig.sim.shop().with(|shop| {
        let location = shop.locations.values().find(|l| l.active).unwrap().id;
        let lines = rig.stocked_lines(shop, location, 24, 10);
        assert_eq!(lines.len(), 24);
        let id = shop.create_order(OrderSpec {
            customer_id: shop.customers.keys().next().copied(),
            line_items: lines,
            ..OrderSpec::default()
        });
        (id, shop.orders[&id].name.clone())
    });
    let whole = post_one(json!({"id": "BIG", "order": {"name": big.1}, "carrier": "UPS", "tracking_numbers": ["B1"]})).await;
    finished(port, std::slice::from_ref(&whole)).await;
    let seen = fulfillments_of(&rig, big.0);
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].2.len(),
        24,
        "every line of a 24-line order fulfilled"
    );

    // Refused before the 202, by name: a bad body never becomes an item.
    let (status, body) = send(
        &http,
        port,
        &json!({"source": "wms", "shipments": [{"id": "X", "order": {"name": "#1"}, "lines": [{"sku": "A", "quantity": -1}], "status": "teleported"}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let text = body.to_string();
    assert!(text.contains("shipments[0].lines[0].quantity"), "{text}");
    assert!(
        text.contains("shipments[0].status: \\\"teleported\\\" is not a shipment status"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn carrier_statuses_out_of_order_never_move_a_shipment_back() {
    let dir = tempfile::tempdir().unwrap();
    let (rig, port, config) = world(dir.path()).await;
    let _daemon = start_daemon(&config);
    // A split order: one shipment of everything is two fulfillments, and both get each status.
    let order = place_orders(&rig, 1).remove(0);
    let name = order.name.clone();
    let update = |status: &str, at: &str| json!({"id": "S1", "order": {"name": name}, "status": status, "happened_at": at});
    // A status before the shipment itself: it waits for the shipment.
    let early = post(port, &[update("in_transit", "2026-12-02T12:00:00Z")]).await;
    let shipped = post(
        port,
        &[json!({"id": "S1", "order": {"name": name}, "carrier": "usps", "tracking_numbers": ["9400"]})],
    )
    .await;
    finished(port, &shipped).await;
    finished(port, &early).await;
    // Delivered, then (late) out for delivery and in transit again, and delivered resent:
    // none goes back. One after another, so the arrival order is the test's.
    let mut late = Vec::new();
    for (status, at) in [
        ("delivered", "2026-12-03T15:00:00Z"),
        ("out_for_delivery", "2026-12-03T09:00:00Z"),
        ("in_transit", "2026-12-04T09:00:00Z"),
        ("delivered", "2026-12-03T15:00:00Z"),
    ] {
        let request = post(port, &[update(status, at)]).await;
        finished(port, &request).await;
        late.extend(request);
    }
    let seen = fulfillments_of(&rig, order.id);
    assert_eq!(seen.len(), 2, "one fulfillment per location");
    for (numbers, companies, _, notified, events) in &seen {
        assert_eq!(numbers, &["9400"]);
        assert_eq!(companies, &BTreeSet::from(["USPS".to_string()]));
        assert_eq!(*notified, 1);
        assert_eq!(
            events,
            &[
                FulfillmentEventStatus::InTransit,
                FulfillmentEventStatus::Delivered
            ]
        );
    }
    for request in &late {
        let items = request_items(port, request).await;
        assert!(items.iter().all(|(s, _)| s == "applied"), "{items:?}");
    }

    // A tracking correction reaches every fulfillment, without a second notification.
    let fixed = post(
        port,
        &[json!({"id": "S1", "order": {"name": name}, "carrier": "USPS", "tracking_numbers": ["9401"]})],
    )
    .await;
    finished(port, &fixed).await;
    for (numbers, _, _, notified, _) in fulfillments_of(&rig, order.id) {
        assert_eq!(numbers, ["9401"]);
        assert_eq!(notified, 1);
    }
    quiescent(&rig, &config).await;
    let support = canonical_at(&rig, "support");
    let told: Vec<&Vec<String>> = support["S1"].values().collect();
    assert!(told.contains(&&vec!["shipped".to_string()]), "{told:?}");
    assert!(told.contains(&&vec!["tracking".to_string()]), "{told:?}");
    assert_eq!(
        told.len(),
        4,
        "shipped, in transit, delivered, tracking: {told:?}"
    );
    // What the daemon knows of the shipment, by the WMS's id.
    let known = api_get(port, "shipments/wms/S1").await;
    assert_eq!(known["order_name"], name.as_str(), "{known}");
    assert_eq!(known["status"], "delivered", "{known}");
    assert_eq!(
        known["fulfillments"].as_array().map(Vec::len),
        Some(2),
        "{known}"
    );
    assert_eq!(known["tracking"]["numbers"], json!(["9401"]), "{known}");
}
