//! `refundCreate` end to end: the idempotency key Shopify requires since 2026-04 and its
//! replays, refunds with restocking, shipping and money, refusals, and refunds whose
//! transaction the gateway leaves pending or fails.

use serde_json::{Value, json};

use super::Harness;
use super::returns::{delivered, gid, listen, topics_of};
use crate::shop::{
    LineSpec, Money, OrderSpec, REFUND_FAILURE_MESSAGE, RefundFaults, TransactionStatus, topics,
};

/// The refund fields the daemon's accounting reads.
const CREATE: &str = r#"mutation($input: RefundInput!, $key: String!) {
    refundCreate(input: $input) @idempotent(key: $key) {
        refund { id createdAt note
            totalRefundedSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
            refundLineItems(first: 50) { nodes { lineItem { id sku } quantity restockType
                subtotalSet { shopMoney { amount currencyCode } } } }
            transactions(first: 10) { nodes { id kind status gateway errorCode
                amountSet { shopMoney { amount currencyCode } } } }
            refundShippingLines(first: 5) { nodes { subtotalAmountSet { shopMoney { amount } } } }
            duties { amountSet { shopMoney { amount } } }
            order { id name }
        }
        order { id displayFinancialStatus totalRefundedSet { shopMoney { amount } } }
        userErrors { field message }
    }
}"#;

fn create(h: &Harness, key: &str, input: Value) -> Value {
    h.data(CREATE, json!({"key": key, "input": input}))["refundCreate"].clone()
}

fn money(amount: &str) -> Money {
    Money::parse(amount).unwrap()
}

fn refund_input(order: u64, line: u64, quantity: u32, amount: &str) -> Value {
    json!({"orderId": gid("Order", order), "note": "Damaged",
        "refundLineItems": [{"lineItemId": gid("LineItem", line), "quantity": quantity,
            "restockType": "NO_RESTOCK"}],
        "transactions": [{"orderId": gid("Order", order), "gateway": "shopify_payments",
            "kind": "REFUND", "amount": amount}]})
}

#[test]
fn refund_create_needs_a_key_and_a_replay_creates_nothing() {
    let h = Harness::new();
    let d = delivered(&h);
    let input = refund_input(d.order, d.lines[0], 1, "10.00");
    let body = h.run(
        r#"mutation($input: RefundInput!) { refundCreate(input: $input) { refund { id } userErrors { message } } }"#,
        json!({"input": input}),
    );
    assert_eq!(body["data"], json!({"refundCreate": null}));
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "IDEMPOTENCY_KEY_REQUIRED"
    );
    let blank = h.run(CREATE, json!({"key": "  ", "input": input}));
    assert_eq!(blank["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    assert!(h.shop.with(|s| s.refunds.is_empty()));

    let mut rx = listen(&h);
    let first = create(&h, "refund-1", input.clone());
    assert_eq!(first["userErrors"], json!([]));
    let sent = topics_of(&mut rx);
    assert_eq!(
        sent.iter()
            .filter(|t| **t == topics::REFUNDS_CREATE)
            .count(),
        1
    );
    // The answer was lost; the client retries with the same key: the same refund, no other.
    let replay = create(&h, "refund-1", input.clone());
    assert_eq!(replay, first);
    assert!(topics_of(&mut rx).is_empty(), "a replay announces nothing");
    assert_eq!(h.shop.with(|s| s.refunds.len()), 1);
    // The same key for another refund is refused; a new key makes a new refund.
    let other = refund_input(d.order, d.lines[0], 1, "11.00");
    let mismatch = create(&h, "refund-1", other.clone());
    assert_eq!(
        mismatch,
        json!({"refund": null, "order": null, "userErrors": [{"field": null,
            "message": "The same idempotency key cannot be used with different operation parameters."}]})
    );
    assert_eq!(h.shop.with(|s| s.refunds.len()), 1);
    assert_eq!(create(&h, "refund-2", other)["userErrors"], json!([]));
    assert_eq!(h.shop.with(|s| s.refunds.len()), 2);
}

#[test]
fn a_refund_gives_back_units_shipping_and_money_and_restocks_returns() {
    let h = Harness::new();
    let d = delivered(&h);
    let item = h
        .shop
        .with(|s| s.variant_by_sku("SKU-0001-M").unwrap().inventory_item_id);
    let available = || {
        h.shop
            .with(|s| s.inventory_level(item, d.location).unwrap().available)
    };
    let before = available();
    let (total, name) = h
        .shop
        .with(|s| (s.orders[&d.order].total(), s.orders[&d.order].name.clone()));
    let mut rx = listen(&h);
    let p = create(
        &h,
        "k",
        json!({"orderId": gid("Order", d.order), "note": "Came back by post", "notify": true,
            "refundLineItems": [{"lineItemId": gid("LineItem", d.lines[1]), "quantity": 2,
                "restockType": "RETURN", "locationId": gid("Location", d.location)}],
            "shipping": {"amount": "4.00"},
            "transactions": [{"orderId": gid("Order", d.order), "gateway": "shopify_payments",
                "kind": "REFUND", "amount": "20.00"}]}),
    );
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    let refund = &p["refund"];
    assert_eq!(refund["note"], "Came back by post");
    assert_eq!(
        refund["order"],
        json!({"id": gid("Order", d.order), "name": name})
    );
    assert_eq!(
        refund["totalRefundedSet"]["shopMoney"],
        json!({"amount": "20.0", "currencyCode": "USD"})
    );
    let line = &refund["refundLineItems"]["nodes"][0];
    assert_eq!(
        line["lineItem"],
        json!({"id": gid("LineItem", d.lines[1]), "sku": "SKU-0001-M"})
    );
    assert_eq!(
        (&line["quantity"], &line["restockType"]),
        (&json!(2), &json!("RETURN"))
    );
    let expected = h.shop.with(|s| {
        let o = &s.orders[&d.order];
        crate::shop::units_money(&crate::shop::line_money(o)[1], 0, 2).subtotal
    });
    assert_eq!(
        money(line["subtotalSet"]["shopMoney"]["amount"].as_str().unwrap()),
        expected
    );
    let tx = &refund["transactions"]["nodes"][0];
    assert_eq!(
        (&tx["kind"], &tx["status"], &tx["gateway"], &tx["errorCode"]),
        (
            &json!("REFUND"),
            &json!("SUCCESS"),
            &json!("shopify_payments"),
            &Value::Null
        )
    );
    assert_eq!(
        refund["refundShippingLines"]["nodes"][0]["subtotalAmountSet"]["shopMoney"]["amount"],
        "4.0"
    );
    assert_eq!(refund["duties"], json!([]));
    assert_eq!(p["order"]["displayFinancialStatus"], "PARTIALLY_REFUNDED");
    assert_eq!(available(), before + 2, "returned units are restocked");
    let sent = topics_of(&mut rx);
    assert_eq!(
        sent,
        [
            topics::INVENTORY_LEVELS_UPDATE,
            topics::ORDERS_UPDATED,
            topics::REFUNDS_CREATE
        ]
    );
    h.shop.with(|s| {
        let o = &s.orders[&d.order];
        assert_eq!(o.total_refunded, Money(2000));
        assert_eq!(o.line_items[1].refunded_quantity, 2);
        assert_eq!(s.refundable_money(d.order), total - Money(2000));
    });
}

#[test]
fn refused_refunds_say_why_and_write_nothing() {
    let h = Harness::new();
    let d = delivered(&h);
    let order = gid("Order", d.order);
    let line = gid("LineItem", d.lines[0]);
    let mut rx = listen(&h);
    let mut n = 0;
    let mut error = |input: Value| {
        n += 1;
        create(&h, &format!("bad-{n}"), input)["userErrors"][0].clone()
    };
    let with_line = |quantity: i64, restock: &str| {
        json!({"orderId": order, "refundLineItems": [{"lineItemId": line, "quantity": quantity,
            "restockType": restock}]})
    };
    assert_eq!(
        error(with_line(4, "NO_RESTOCK")),
        json!({"field": ["input", "refundLineItems", "0", "quantity"],
            "message": "Quantity cannot refund more items than were purchased."})
    );
    assert_eq!(
        error(with_line(0, "NO_RESTOCK"))["message"],
        "Quantity must be greater than 0."
    );
    assert_eq!(
        error(with_line(1, "LEGACY_RESTOCK"))["field"],
        json!(["input", "refundLineItems", "0", "restockType"])
    );
    assert_eq!(
        error(with_line(1, "CANCEL"))["message"],
        "Quantity cannot cancel more items than the 0 unfulfilled."
    );
    assert_eq!(
        error(json!({"orderId": "gid://shopify/Order/1", "refundLineItems": []})),
        json!({"field": ["input", "orderId"], "message": "Order does not exist."})
    );
    assert_eq!(
        error(json!({"orderId": order, "refundLineItems": [
            {"lineItemId": "gid://shopify/LineItem/1", "quantity": 1}]}))["field"],
        json!(["input", "refundLineItems", "0", "lineItemId"])
    );
    assert_eq!(
        error(json!({"orderId": order, "shipping": {"amount": "10.01"}})),
        json!({"field": ["input", "shipping", "amount"],
            "message": "Shipping refund amount must be less than or equal to 10.00, the refundable shipping."})
    );
    let tx = |amount: &str, kind: &str| {
        json!({"orderId": order, "transactions": [{"orderId": order,
            "gateway": "shopify_payments", "kind": kind, "amount": amount}]})
    };
    assert_eq!(
        error(tx("1.00", "SALE"))["field"],
        json!(["input", "transactions", "0", "kind"])
    );
    let total = h.shop.with(|s| s.orders[&d.order].total());
    let over = (total + Money(1)).to_fixed2();
    assert_eq!(
        error(tx(&over, "REFUND")),
        json!({"field": ["input", "transactions", "0", "amount"],
            "message": format!("Refund amount exceeds the refundable amount of {}.", total.to_fixed2())})
    );
    let mut wrong_gateway = tx("1.00", "REFUND");
    wrong_gateway["transactions"][0]["parentId"] = json!("gid://shopify/OrderTransaction/1");
    assert_eq!(
        error(wrong_gateway)["field"],
        json!(["input", "transactions", "0", "parentId"])
    );
    assert_eq!(
        error(json!({"orderId": order, "currency": "EUR", "shipping": {"fullRefund": true}}))["field"],
        json!(["input", "currency"])
    );
    assert!(topics_of(&mut rx).is_empty(), "refusals send nothing");
    assert!(h.shop.with(|s| s.refunds.is_empty()));
    // Over-refunding is allowed when asked for.
    let mut allowed = tx(&over, "REFUND");
    allowed["allowOverRefunding"] = json!(true);
    assert_eq!(create(&h, "over", allowed)["userErrors"], json!([]));
}

#[test]
fn the_gateway_can_fail_or_hold_a_refund_and_settle_it_later() {
    let h = Harness::new();
    let d = delivered(&h);
    h.shop.with(|s| {
        s.refund_faults = RefundFaults {
            pending: 0.0,
            failure: 1.0,
        }
    });
    let mut rx = listen(&h);
    let failed = create(&h, "fail", refund_input(d.order, d.lines[0], 1, "10.00"));
    assert_eq!(failed["userErrors"], json!([]));
    let tx = &failed["refund"]["transactions"]["nodes"][0];
    assert_eq!(
        (&tx["status"], &tx["errorCode"]),
        (&json!("FAILURE"), &json!("GENERIC_ERROR"))
    );
    assert_eq!(
        failed["refund"]["totalRefundedSet"]["shopMoney"]["amount"],
        "0.0"
    );
    assert_eq!(failed["order"]["displayFinancialStatus"], "PAID");
    assert!(
        topics_of(&mut rx).contains(&topics::REFUNDS_CREATE),
        "a refund is made all the same"
    );
    let receipt = h.data(
        "query($id: ID!) { node(id: $id) { ... on OrderTransaction { receiptJson status } } }",
        json!({"id": tx["id"]}),
    );
    let receipt: Value =
        serde_json::from_str(receipt["node"]["receiptJson"].as_str().unwrap()).unwrap();
    assert_eq!(receipt["message"], REFUND_FAILURE_MESSAGE);
    let payload = h.shop.with(|s| {
        let refund = *s.refunds.keys().next().unwrap();
        crate::rest::render_topic(s, topics::REFUNDS_CREATE, refund).unwrap()
    });
    assert_eq!(payload["transactions"][0]["status"], "failure");
    assert_eq!(
        payload["transactions"][0]["message"],
        REFUND_FAILURE_MESSAGE
    );
    assert_eq!(payload["transactions"][0]["error_code"], "generic_error");

    // A pending refund counts against what can be refunded, and settles later.
    h.shop.with(|s| {
        s.refund_faults = RefundFaults {
            pending: 1.0,
            failure: 0.0,
        }
    });
    let pending = create(&h, "pend", refund_input(d.order, d.lines[0], 1, "10.00"));
    let tx = pending["refund"]["transactions"]["nodes"][0].clone();
    assert_eq!(tx["status"], "PENDING");
    let id = crate::gid::parse_kind(tx["id"].as_str().unwrap(), "OrderTransaction").unwrap();
    h.shop.with(|s| {
        let total = s.orders[&d.order].total();
        assert_eq!(s.refundable_money(d.order), total - Money(1000));
        assert_eq!(s.orders[&d.order].total_refunded, Money::ZERO);
        s.settle_transaction(id, TransactionStatus::Success, None)
            .unwrap();
        assert_eq!(s.orders[&d.order].total_refunded, Money(1000));
        assert!(
            s.settle_transaction(id, TransactionStatus::Success, None)
                .is_err()
        );
    });
}

#[test]
fn cancelling_unshipped_units_releases_their_stock_and_fulfillment_order() {
    let h = Harness::new();
    let (order, line, item, location) = h.shop.with(|s| {
        let v = s
            .variant_by_sku("SKU-0002-BLA")
            .map(|v| (v.id, v.inventory_item_id));
        let (variant, item) = v.unwrap();
        let location = *s.locations.keys().next().unwrap();
        let order = s.create_order(OrderSpec {
            line_items: vec![LineSpec::variant(variant, 2).at(location)],
            ..OrderSpec::default()
        });
        (order, s.orders[&order].line_items[0].id, item, location)
    });
    let level = || {
        h.shop.with(|s| {
            let l = s.inventory_level(item, location).unwrap();
            (l.available, l.committed)
        })
    };
    let (available, committed) = level();
    let p = create(
        &h,
        "cancel",
        json!({"orderId": gid("Order", order), "refundLineItems": [{"lineItemId": gid("LineItem", line),
            "quantity": 2, "restockType": "CANCEL"}],
            "transactions": [{"orderId": gid("Order", order), "gateway": "shopify_payments",
                "kind": "REFUND", "amount": "1.00"}]}),
    );
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    assert_eq!(level(), (available + 2, committed - 2));
    let data = h.data(
        r#"query($id: ID!) { order(id: $id) { displayFulfillmentStatus fulfillable
            lineItems(first: 5) { nodes { currentQuantity refundableQuantity unfulfilledQuantity } }
            fulfillmentOrders(first: 5) { nodes { status } } } }"#,
        json!({"id": gid("Order", order)}),
    );
    let o = &data["order"];
    assert_eq!(o["fulfillable"], false);
    assert_eq!(o["displayFulfillmentStatus"], "UNFULFILLED");
    assert_eq!(
        o["lineItems"]["nodes"][0],
        json!({"currentQuantity": 0, "refundableQuantity": 0, "unfulfilledQuantity": 0})
    );
    assert_eq!(o["fulfillmentOrders"]["nodes"][0]["status"], "CLOSED");
}

#[test]
fn a_refund_of_what_the_order_suggests_records_exactly_that() {
    let h = Harness::new();
    let d = delivered(&h);
    let suggest = |lines: Value, full: bool| {
        h.data(
            r#"query($id: ID!, $lines: [RefundLineItemInput!], $full: Boolean) { order(id: $id) {
                suggestedRefund(refundLineItems: $lines, refundShipping: true, suggestFullRefund: $full) {
                    amountSet { shopMoney { amount } }
                    subtotalSet { shopMoney { amount } }
                    totalTaxSet { shopMoney { amount } }
                    shipping { amountSet { shopMoney { amount } } }
                    refundLineItems { quantity restockType lineItem { id } subtotalSet { shopMoney { amount } } }
                    suggestedTransactions { gateway kind amountSet { shopMoney { amount } } parentTransaction { id } }
                } } }"#,
            json!({"id": gid("Order", d.order), "lines": lines, "full": full}),
        )["order"]["suggestedRefund"]
            .clone()
    };
    let total = h.shop.with(|s| s.orders[&d.order].total());
    let everything = suggest(Value::Null, true);
    assert_eq!(
        money(
            everything["amountSet"]["shopMoney"]["amount"]
                .as_str()
                .unwrap()
        ),
        total
    );
    let s = suggest(
        json!([{"lineItemId": gid("LineItem", d.lines[0]), "quantity": 1, "restockType": "RETURN",
            "locationId": gid("Location", d.location)}]),
        false,
    );
    assert_eq!(s["refundLineItems"][0]["restockType"], "RETURN");
    let amount = s["amountSet"]["shopMoney"]["amount"]
        .as_str()
        .unwrap()
        .to_string();
    let tx = &s["suggestedTransactions"][0];
    assert_eq!(tx["kind"], "SUGGESTED_REFUND");
    let p = create(
        &h,
        "suggested",
        json!({"orderId": gid("Order", d.order), "shipping": {"fullRefund": true},
            "refundLineItems": [{"lineItemId": gid("LineItem", d.lines[0]), "quantity": 1,
                "restockType": "RETURN", "locationId": gid("Location", d.location)}],
            "transactions": [{"orderId": gid("Order", d.order), "gateway": tx["gateway"],
                "kind": "REFUND", "parentId": tx["parentTransaction"]["id"],
                "amount": tx["amountSet"]["shopMoney"]["amount"]}]}),
    );
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    assert_eq!(
        money(
            p["refund"]["totalRefundedSet"]["shopMoney"]["amount"]
                .as_str()
                .unwrap()
        ),
        money(&amount)
    );
    assert_eq!(
        p["refund"]["refundLineItems"]["nodes"][0]["subtotalSet"]["shopMoney"]["amount"],
        s["refundLineItems"][0]["subtotalSet"]["shopMoney"]["amount"]
    );
}
