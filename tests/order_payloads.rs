//! Shopify's documented order webhook payloads become canonical orders.

use std::path::Path;

use xconnector_actors::flows::orders::canonical::{OrderEvent, from_rest};

fn fixture(topic: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/shopify/webhooks-2026-07")
        .join(format!("{topic}.json"));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    serde_json::to_vec(&doc["response"]).unwrap()
}

#[test]
fn the_documented_orders_create_payload_becomes_a_canonical_order() {
    let o = from_rest("orders/create", &fixture("orders/create")).unwrap();
    // Shopify's example is an order that was later cancelled: it travels as a cancellation.
    assert!(o.cancelled_at.is_some());
    assert_eq!(o.event, OrderEvent::Cancel);
    assert_eq!(o.name, "#9999");
    assert!(o.id.starts_with("gid://shopify/Order/"));
    assert_eq!(o.currency, "USD");
    assert_eq!(o.totals.total, "404.95");
    assert_eq!(o.totals.shipping, "10.00");
    assert_eq!(o.tags, ["tag1", "tag2"]);
    assert_eq!(o.financial_status.as_deref(), Some("voided"));
    let ship = o.shipping_address.as_ref().unwrap();
    assert_eq!(ship.country_code.as_deref(), Some("US"));
    assert_eq!(ship.address1.as_deref(), Some("123 Shipping Street"));
    assert!(!o.lines.is_empty());
    assert_eq!(o.lines[0].sku.as_deref(), Some("SKU2006-001"));
    assert_eq!(o.lines[0].unit_price, "89.99");
    // The canonical JSON round-trips.
    let json = serde_json::to_vec(&o).unwrap();
    assert_eq!(
        serde_json::from_slice::<xconnector_actors::flows::orders::canonical::Order>(&json)
            .unwrap(),
        o
    );
}

#[test]
fn every_order_topic_parses_and_cancellations_are_cancellations() {
    for topic in [
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/fulfilled",
        "orders/cancelled",
    ] {
        let o = from_rest(topic, &fixture(topic)).unwrap_or_else(|e| panic!("{topic}: {e}"));
        assert_eq!(
            o.event == OrderEvent::Cancel,
            topic == "orders/cancelled" || o.cancelled_at.is_some(),
            "{topic}"
        );
    }
    let c = from_rest("orders/cancelled", &fixture("orders/cancelled")).unwrap();
    assert_eq!(c.event, OrderEvent::Cancel);
}
