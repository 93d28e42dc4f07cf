//! Returns end to end through the pipeline: requested, approved or declined, processed with a
//! refund, cancelled, closed and reopened, with the shop's events captured for the webhooks
//! each call would send. The documents are the shapes the daemon's returns flow sends.

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use super::Harness;
use crate::shop::{
    FulfillmentEventSpec, FulfillmentEventStatus, FulfillmentSpec, Id, LineSpec, Money, OrderSpec,
    ShopEvent, topics,
};

pub(super) fn listen(h: &Harness) -> UnboundedReceiver<ShopEvent> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    h.shop.with(|s| s.set_event_sender(Some(tx)));
    rx
}

pub(super) fn topics_of(rx: &mut UnboundedReceiver<ShopEvent>) -> Vec<&'static str> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| e.topic)
        .collect()
}

pub(super) fn gid(kind: &str, id: Id) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// A delivered order: SKU-0001-S × 3 and SKU-0001-M × 2, a 10.00 discount, 8.25 % tax and
/// 10.00 shipping, shipped in one fulfillment whose carrier reported it delivered.
pub(super) struct Delivered {
    pub order: Id,
    pub fulfillment: Id,
    /// Fulfillment line items, in line order.
    pub fli: Vec<Id>,
    pub lines: Vec<Id>,
    pub location: Id,
}

pub(super) fn delivered(h: &Harness) -> Delivered {
    h.shop.with(|s| {
        let small = s.variant_by_sku("SKU-0001-S").unwrap().id;
        let medium = s.variant_by_sku("SKU-0001-M").unwrap().id;
        let location = *s.locations.keys().next().unwrap();
        let order = s.create_order(OrderSpec {
            line_items: vec![
                LineSpec::variant(small, 3).at(location),
                LineSpec::variant(medium, 2).at(location),
            ],
            discount: Money(1000),
            tax_rate_bps: 825,
            email: Some("ada@example.com".into()),
            ..OrderSpec::default()
        });
        let fulfillment = s
            .create_fulfillment(order, FulfillmentSpec::default())
            .unwrap();
        s.create_fulfillment_event(
            fulfillment,
            FulfillmentEventSpec::new(FulfillmentEventStatus::Delivered),
        )
        .unwrap();
        let f = &s.fulfillments[&fulfillment];
        Delivered {
            order,
            fulfillment,
            fli: f.line_items.iter().map(|l| l.id).collect(),
            lines: s.orders[&order].line_items.iter().map(|l| l.id).collect(),
            location,
        }
    })
}

pub(super) const REQUEST: &str = r#"mutation($input: ReturnRequestInput!) {
    returnRequest(input: $input) { return { id status name } userErrors { field message code } }
}"#;

pub(super) fn request(h: &Harness, input: Value) -> Value {
    h.data(REQUEST, json!({"input": input}))["returnRequest"].clone()
}

/// Request a return of `(fulfillment line item, quantity)`s; its GID.
pub(super) fn requested(h: &Harness, d: &Delivered, lines: &[(Id, u32)]) -> String {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(fli, q)| {
            json!({"fulfillmentLineItemId": gid("FulfillmentLineItem", *fli),
            "quantity": q, "returnReasonDefinitionId": "gid://shopify/ReturnReasonDefinition/6"})
        })
        .collect();
    let p = request(
        h,
        json!({"orderId": gid("Order", d.order), "returnLineItems": lines}),
    );
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    p["return"]["id"].as_str().unwrap().to_string()
}

/// What the daemon reads of a return.
pub(super) const RETURN: &str = r#"query($id: ID!) { return(id: $id) {
    id name status createdAt closedAt requestApprovedAt totalQuantity
    decline { reason note }
    order { id name }
    returnLineItems(first: 10) { nodes {
        id quantity processedQuantity unprocessedQuantity refundableQuantity refundedQuantity
        customerNote returnReasonDefinition { handle name }
        ... on ReturnLineItem {
            returnReason
            withCodeDiscountedTotalPriceSet { shopMoney { amount currencyCode } }
            fulfillmentLineItem { id quantity lineItem { id sku quantity } }
        }
    } }
    reverseFulfillmentOrders(first: 2) { nodes { id status
        lineItems(first: 10) { nodes { id totalQuantity fulfillmentLineItem { id }
            dispositions { type quantity location { id } } } } } }
    returnShippingFees { amountSet { shopMoney { amount } } }
    refunds(first: 5) { nodes { id totalRefundedSet { shopMoney { amount } } } }
} }"#;

pub(super) fn read(h: &Harness, id: &str) -> Value {
    h.data(RETURN, json!({"id": id}))["return"].clone()
}

const APPROVE: &str = r#"mutation($input: ReturnApproveRequestInput!) {
    returnApproveRequest(input: $input) { return { id status } userErrors { field message code } }
}"#;

pub(super) fn approve(h: &Harness, id: &str) -> Value {
    h.data(
        APPROVE,
        json!({"input": {"id": id, "notifyCustomer": true}}),
    )["returnApproveRequest"]
        .clone()
}

const DECLINE: &str = r#"mutation($input: ReturnDeclineRequestInput!) {
    returnDeclineRequest(input: $input) { return { id status decline { reason note } }
        userErrors { field message code } }
}"#;

const SUGGEST: &str = r#"query($id: ID!, $lines: [SuggestedOutcomeReturnLineItemInput!]!,
        $shipping: RefundShippingInput) { return(id: $id) {
    suggestedFinancialOutcome(returnLineItems: $lines, exchangeLineItems: [],
            refundShipping: $shipping) {
        discountedSubtotal { shopMoney { amount currencyCode } }
        totalTax { shopMoney { amount } }
        totalCartDiscountAmount { shopMoney { amount } }
        shipping { amountSet { shopMoney { amount } } maximumRefundableSet { shopMoney { amount } } }
        maximumRefundable { shopMoney { amount } }
        financialTransfer { ... on RefundReturnOutcome {
            amount { shopMoney { amount currencyCode } }
            suggestedTransactions { amountSet { shopMoney { amount currencyCode } } gateway kind
                parentTransaction { id kind } } } }
    }
} }"#;

pub(super) fn suggest(h: &Harness, id: &str, lines: Value, shipping: Value) -> Value {
    h.data(
        SUGGEST,
        json!({"id": id, "lines": lines, "shipping": shipping}),
    )["return"]["suggestedFinancialOutcome"]
        .clone()
}

pub(super) const PROCESS: &str = r#"mutation($input: ReturnProcessInput!) {
    returnProcess(input: $input) { return { id status } userErrors { field message code } }
}"#;

pub(super) fn process(h: &Harness, input: Value) -> Value {
    h.data(PROCESS, json!({"input": input}))["returnProcess"].clone()
}

/// The suggested transactions as `orderTransactions` of an `issueRefund`.
pub(super) fn order_transactions(outcome: &Value) -> Value {
    let list = outcome["financialTransfer"]["suggestedTransactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            json!({"parentId": t["parentTransaction"]["id"],
                "transactionAmount": t["amountSet"]["shopMoney"]})
        })
        .collect::<Vec<_>>();
    Value::Array(list)
}

fn amount(v: &Value) -> Money {
    Money::parse(v["shopMoney"]["amount"].as_str().unwrap()).unwrap()
}

#[test]
fn a_return_is_requested_approved_processed_with_its_refund_and_closes() {
    let h = Harness::new();
    let d = delivered(&h);
    let mut rx = listen(&h);
    let p = request(
        &h,
        json!({"orderId": gid("Order", d.order), "returnLineItems": [
            {"fulfillmentLineItemId": gid("FulfillmentLineItem", d.fli[0]), "quantity": 2,
             "returnReasonDefinitionId": "gid://shopify/ReturnReasonDefinition/6",
             "customerNote": "Fits small"},
            {"fulfillmentLineItemId": gid("FulfillmentLineItem", d.fli[1]), "quantity": 1,
             "returnReason": "DEFECTIVE"},
        ]}),
    );
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(p["return"]["status"], "REQUESTED");
    let name = h.shop.with(|s| format!("{}-R1", s.orders[&d.order].name));
    assert_eq!(p["return"]["name"], json!(name));
    let id = p["return"]["id"].as_str().unwrap().to_string();
    let return_id = crate::gid::parse_kind(&id, "Return").unwrap();
    assert_eq!(
        topics_of(&mut rx),
        [topics::ORDERS_UPDATED, topics::RETURNS_REQUEST]
    );

    let r = read(&h, &id);
    assert_eq!(r["status"], "REQUESTED");
    assert_eq!(r["totalQuantity"], 3);
    assert_eq!(r["order"]["id"], gid("Order", d.order));
    assert_eq!(r["requestApprovedAt"], Value::Null);
    assert_eq!(r["reverseFulfillmentOrders"]["nodes"], json!([]));
    let lines = r["returnLineItems"]["nodes"].as_array().unwrap();
    assert_eq!(lines[0]["returnReason"], "SIZE_TOO_SMALL");
    assert_eq!(lines[0]["returnReasonDefinition"]["handle"], "too-small");
    assert_eq!(lines[0]["customerNote"], "Fits small");
    assert_eq!(
        lines[0]["fulfillmentLineItem"]["id"],
        gid("FulfillmentLineItem", d.fli[0])
    );
    assert_eq!(
        lines[0]["fulfillmentLineItem"]["lineItem"],
        json!({"id": gid("LineItem", d.lines[0]), "sku": "SKU-0001-S", "quantity": 3})
    );
    assert_eq!(lines[1]["returnReason"], "DEFECTIVE");
    assert_eq!(lines[1]["unprocessedQuantity"], 1);

    let a = approve(&h, &id);
    assert_eq!(a["userErrors"], json!([]));
    assert_eq!(a["return"]["status"], "OPEN");
    assert_eq!(
        topics_of(&mut rx),
        [
            topics::ORDERS_UPDATED,
            topics::RETURNS_APPROVE,
            topics::RETURNS_UPDATE
        ]
    );
    let r = read(&h, &id);
    assert!(r["requestApprovedAt"].is_string());
    let rfo = &r["reverseFulfillmentOrders"]["nodes"][0];
    assert_eq!(rfo["status"], "OPEN");
    let reverse: Vec<String> = rfo["lineItems"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reverse.len(), 2);
    let rli: Vec<String> = r["returnLineItems"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();

    // What the return's refund would be, then that refund.
    let all = json!([{"id": rli[0], "quantity": 2}, {"id": rli[1], "quantity": 1}]);
    let outcome = suggest(&h, &id, all.clone(), Value::Null);
    let expected = h.shop.with(|s| {
        s.suggest_return_outcome(
            return_id,
            &[
                (
                    crate::gid::parse_kind(&rli[0], "ReturnLineItem").unwrap(),
                    2,
                ),
                (
                    crate::gid::parse_kind(&rli[1], "ReturnLineItem").unwrap(),
                    1,
                ),
            ],
            None,
        )
        .unwrap()
    });
    assert_eq!(amount(&outcome["discountedSubtotal"]), expected.subtotal);
    assert_eq!(amount(&outcome["totalTax"]), expected.tax);
    assert!(expected.tax > Money::ZERO && expected.cart_discount > Money::ZERO);
    assert_eq!(
        amount(&outcome["financialTransfer"]["amount"]),
        expected.subtotal + expected.tax
    );
    let suggested = &outcome["financialTransfer"]["suggestedTransactions"][0];
    assert_eq!(suggested["kind"], "SUGGESTED_REFUND");
    assert_eq!(suggested["parentTransaction"]["kind"], "SALE");
    assert_eq!(suggested["gateway"], "shopify_payments");

    let item = h
        .shop
        .with(|s| s.variant_by_sku("SKU-0001-S").unwrap().inventory_item_id);
    let available = || {
        h.shop
            .with(|s| s.inventory_level(item, d.location).unwrap().available)
    };
    let before = available();
    let p = process(
        &h,
        json!({"returnId": id, "notifyCustomer": true,
            "returnLineItems": [
                {"id": rli[0], "quantity": 2, "dispositions": [
                    {"reverseFulfillmentOrderLineItemId": reverse[0], "quantity": 1,
                     "dispositionType": "RESTOCKED", "locationId": gid("Location", d.location)},
                    {"reverseFulfillmentOrderLineItemId": reverse[0], "quantity": 1,
                     "dispositionType": "NOT_RESTOCKED"}]},
                {"id": rli[1], "quantity": 1, "dispositions": [
                    {"reverseFulfillmentOrderLineItemId": reverse[1], "quantity": 1,
                     "dispositionType": "MISSING"}]}],
            "financialTransfer": {"issueRefund": {"orderTransactions": order_transactions(&outcome)}}}),
    );
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    assert_eq!(p["return"]["status"], "CLOSED");
    assert_eq!(available(), before + 1, "one unit restocked");
    let sent = topics_of(&mut rx);
    for topic in [
        topics::INVENTORY_LEVELS_UPDATE,
        topics::REFUNDS_CREATE,
        topics::RETURNS_PROCESS,
        topics::RETURNS_CLOSE,
        topics::RETURNS_UPDATE,
    ] {
        assert!(sent.contains(&topic), "{topic} in {sent:?}");
    }
    let r = read(&h, &id);
    assert!(r["closedAt"].is_string());
    assert_eq!(
        r["reverseFulfillmentOrders"]["nodes"][0]["status"],
        "CLOSED"
    );
    let dispositions =
        &r["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"][0]["dispositions"];
    assert_eq!(dispositions[0]["type"], "RESTOCKED");
    assert_eq!(
        dispositions[0]["location"]["id"],
        gid("Location", d.location)
    );
    assert_eq!(dispositions[1]["type"], "NOT_RESTOCKED");
    let line = &r["returnLineItems"]["nodes"][0];
    assert_eq!(
        (&line["processedQuantity"], &line["refundedQuantity"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(
        amount(&r["refunds"]["nodes"][0]["totalRefundedSet"]),
        expected.subtotal + expected.tax,
        "the refund is what was suggested"
    );

    // The order shows it: a poll of recently updated orders finds it with its return and refund.
    let data = h.data(
        r#"query($q: String!) { orders(first: 50, query: $q, sortKey: UPDATED_AT) { nodes {
            id updatedAt returnStatus displayFinancialStatus
            returns(first: 5) { nodes { id status } }
            refunds(first: 5) { id return { id } totalRefundedSet { shopMoney { amount } } }
            transactions(first: 5) { id kind status parentTransaction { id } }
        } } }"#,
        json!({"q": format!("updated_at:>'{}'", crate::seed::SEED_EPOCH.to_rfc3339())}),
    );
    let order = data["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == gid("Order", d.order))
        .cloned()
        .unwrap();
    assert_eq!(order["returnStatus"], "RETURNED");
    assert_eq!(order["displayFinancialStatus"], "PARTIALLY_REFUNDED");
    assert_eq!(
        order["returns"]["nodes"],
        json!([{"id": id, "status": "CLOSED"}])
    );
    assert_eq!(order["refunds"][0]["return"]["id"], json!(id));
    assert_eq!(order["transactions"][0]["kind"], "SALE");
    assert_eq!(order["transactions"][1]["kind"], "REFUND");
    assert_eq!(
        order["transactions"][1]["parentTransaction"]["id"],
        order["transactions"][0]["id"].clone()
    );
    let _ = d.fulfillment;
}

#[test]
fn everything_back_is_exactly_the_order_total() {
    let h = Harness::new();
    let d = delivered(&h);
    let id = requested(&h, &d, &[(d.fli[0], 3), (d.fli[1], 2)]);
    approve(&h, &id);
    let r = read(&h, &id);
    let rli: Vec<Value> = r["returnLineItems"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({"id": l["id"], "quantity": l["quantity"]}))
        .collect();
    let outcome = suggest(
        &h,
        &id,
        Value::Array(rli.clone()),
        json!({"fullRefund": true}),
    );
    let total = h.shop.with(|s| s.orders[&d.order].total());
    assert_eq!(amount(&outcome["financialTransfer"]["amount"]), total);
    assert_eq!(amount(&outcome["maximumRefundable"]), total);
    assert_eq!(amount(&outcome["shipping"]["amountSet"]), Money(1000));
    let p = process(
        &h,
        json!({"returnId": id, "returnLineItems": rli, "refundShipping": {"fullRefund": true},
            "financialTransfer": {"issueRefund": {"orderTransactions": order_transactions(&outcome)}}}),
    );
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    h.shop.with(|s| {
        let o = &s.orders[&d.order];
        assert_eq!(o.total_refunded, total);
        assert_eq!(o.financial_status.as_graphql(), "REFUNDED");
        let refund = &s.refunds[o.refund_ids.last().unwrap()];
        let lines: Money = refund
            .line_items
            .iter()
            .map(|l| l.subtotal + l.total_tax)
            .sum();
        assert_eq!(lines + refund.shipping(), total);
    });
    // Nothing is left to give back.
    let data = h.data(
        "query($id: ID!) { order(id: $id) { refundable totalRefundedShippingSet { shopMoney { amount } } } }",
        json!({"id": gid("Order", d.order)}),
    );
    assert_eq!(data["order"]["refundable"], false);
    assert_eq!(
        amount(&data["order"]["totalRefundedShippingSet"]),
        Money(1000)
    );
}

#[test]
fn partial_processing_keeps_the_return_open() {
    let h = Harness::new();
    let d = delivered(&h);
    let id = requested(&h, &d, &[(d.fli[0], 3)]);
    approve(&h, &id);
    let rli = read(&h, &id)["returnLineItems"]["nodes"][0]["id"].clone();
    let p = process(
        &h,
        json!({"returnId": id, "returnLineItems": [{"id": rli, "quantity": 1}]}),
    );
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(p["return"]["status"], "OPEN");
    let data = h.data(
        r#"query($id: ID!) { return(id: $id) {
            processable: returnLineItems(first: 5, processingStatus: PROCESSABLE) { nodes { id } }
            processed: returnLineItems(first: 5, processingStatus: PROCESSED) { nodes {
                processedQuantity refundedQuantity refundableQuantity } } } }"#,
        json!({"id": id}),
    );
    assert_eq!(data["return"]["processable"]["nodes"][0]["id"], rli);
    assert_eq!(
        data["return"]["processed"]["nodes"][0],
        json!({"processedQuantity": 1, "refundedQuantity": 0, "refundableQuantity": 3}),
        "processed without a financial transfer: nothing refunded"
    );
    // Processing it all closes it; once closed it can be reopened and closed by hand.
    let p = process(
        &h,
        json!({"returnId": id, "returnLineItems": [{"id": rli, "quantity": 2}]}),
    );
    assert_eq!(p["return"]["status"], "CLOSED");
    let reopen = h.data(
        "mutation($id: ID!) { returnReopen(id: $id) { return { status } userErrors { code } } }",
        json!({"id": id}),
    );
    assert_eq!(reopen["returnReopen"]["return"]["status"], "OPEN");
    let close = h.data(
        "mutation($id: ID!) { returnClose(id: $id) { return { status closedAt } userErrors { code } } }",
        json!({"id": id}),
    );
    assert_eq!(close["returnClose"]["return"]["status"], "CLOSED");
}

#[test]
fn declined_returns_say_why_and_free_their_units() {
    let h = Harness::new();
    let d = delivered(&h);
    let id = requested(&h, &d, &[(d.fli[0], 3)]);
    let mut rx = listen(&h);
    let decline =
        |input: Value| h.data(DECLINE, json!({"input": input}))["returnDeclineRequest"].clone();
    let long = "x".repeat(501);
    assert_eq!(
        decline(json!({"id": id, "declineReason": "FINAL_SALE", "declineNote": long}))["userErrors"],
        json!([{"field": ["input", "declineNote"],
            "message": "Decline note is too long (maximum is 500 characters).", "code": "TOO_LONG"}])
    );
    let p = decline(json!({"id": id, "declineReason": "RETURN_PERIOD_ENDED",
        "declineNote": "The 30-day return window has ended.", "notifyCustomer": true}));
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(
        p["return"],
        json!({"id": id, "status": "DECLINED", "decline": {"reason": "RETURN_PERIOD_ENDED",
            "note": "The 30-day return window has ended."}})
    );
    assert_eq!(
        topics_of(&mut rx),
        [
            topics::ORDERS_UPDATED,
            topics::RETURNS_DECLINE,
            topics::RETURNS_UPDATE
        ]
    );
    // A declined return cannot be approved, nor declined again.
    let again = approve(&h, &id);
    assert_eq!(
        again["userErrors"],
        json!([{"field": ["input", "id"], "message": "Return is declined and cannot be approved.",
            "code": "INVALID_STATE"}])
    );
    assert_eq!(again["return"], Value::Null);
    // Its units can be asked for again.
    requested(&h, &d, &[(d.fli[0], 3)]);
}

#[test]
fn refused_return_changes_say_why_with_codes_and_write_nothing() {
    let h = Harness::new();
    let d = delivered(&h);
    let fli = |i: usize| gid("FulfillmentLineItem", d.fli[i]);
    let order = gid("Order", d.order);
    let error = |input: Value| request(&h, input)["userErrors"][0].clone();
    let line = |fli: &str, q: i64| json!({"fulfillmentLineItemId": fli, "quantity": q});
    let mut rx = listen(&h);
    assert_eq!(
        error(json!({"orderId": "gid://shopify/Order/1", "returnLineItems": [line(&fli(0), 1)]})),
        json!({"field": ["input", "orderId"], "message": "Order does not exist.", "code": "NOT_FOUND"})
    );
    assert_eq!(
        error(json!({"orderId": order, "returnLineItems": []}))["code"],
        "BLANK"
    );
    assert_eq!(
        error(
            json!({"orderId": order, "returnLineItems": [line("gid://shopify/FulfillmentLineItem/1", 1)]})
        ),
        json!({"field": ["input", "returnLineItems", "0", "fulfillmentLineItemId"],
            "message": "Fulfillment line item does not exist.", "code": "NOT_FOUND"})
    );
    assert_eq!(
        error(json!({"orderId": order, "returnLineItems": [line(&fli(0), 0)]})),
        json!({"field": ["input", "returnLineItems", "0", "quantity"],
            "message": "Quantity must be greater than 0.", "code": "GREATER_THAN"})
    );
    assert_eq!(
        error(json!({"orderId": order, "returnLineItems": [line(&fli(1), 1), line(&fli(0), 4)]})),
        json!({"field": ["input", "returnLineItems", "1", "quantity"],
            "message": "Quantity must be less than or equal to 3, the returnable quantity of the fulfillment line item.",
            "code": "LESS_THAN_OR_EQUAL_TO"})
    );
    let mut noted = line(&fli(0), 1);
    noted["customerNote"] = json!("n".repeat(301));
    assert_eq!(
        error(json!({"orderId": order, "returnLineItems": [noted]}))["code"],
        "TOO_LONG"
    );
    let mut bad_reason = line(&fli(0), 1);
    bad_reason["returnReasonDefinitionId"] = json!("gid://shopify/ReturnReasonDefinition/999");
    assert_eq!(
        error(json!({"orderId": order, "returnLineItems": [bad_reason]}))["code"],
        "NOT_FOUND"
    );
    assert!(topics_of(&mut rx).is_empty(), "refusals send nothing");
    assert!(h.shop.with(|s| s.returns_of(d.order).is_empty()));

    // Units held by a return cannot be asked for twice.
    let id = requested(&h, &d, &[(d.fli[0], 2)]);
    assert_eq!(
        error(json!({"orderId": order, "returnLineItems": [line(&fli(0), 2)]}))["message"],
        "Quantity must be less than or equal to 1, the returnable quantity of the fulfillment line item."
    );
    // Transitions the status does not allow.
    let p = process(&h, json!({"returnId": id, "returnLineItems": []}));
    assert_eq!(
        p["userErrors"],
        json!([{"field": ["input", "returnId"], "message": "Return is requested and cannot be processed.",
            "code": "INVALID_STATE"}])
    );
    let cancel = |id: &str| {
        h.data(
            "mutation($id: ID!) { returnCancel(id: $id) { return { status } userErrors { field message code } } }",
            json!({"id": id}),
        )["returnCancel"]
            .clone()
    };
    assert_eq!(cancel(&id)["userErrors"][0]["code"], "INVALID_STATE");
    assert_eq!(
        cancel("gid://shopify/Return/1")["userErrors"],
        json!([{"field": ["id"], "message": "Return does not exist.", "code": "NOT_FOUND"}])
    );
    assert_eq!(
        approve(&h, "gid://shopify/Return/1")["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    assert_eq!(approve(&h, &id)["userErrors"], json!([]));
    assert_eq!(approve(&h, &id)["userErrors"][0]["code"], "INVALID_STATE");
    let declined = h.data(
        DECLINE,
        json!({"input": {"id": id, "declineReason": "OTHER"}}),
    );
    assert_eq!(
        declined["returnDeclineRequest"]["userErrors"][0]["message"],
        "Return is open and cannot be declined."
    );

    // returnProcess refusals.
    let r = read(&h, &id);
    let rli = r["returnLineItems"]["nodes"][0]["id"].clone();
    let reverse = r["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"][0]["id"].clone();
    let mut rx = listen(&h);
    let process_error = |lines: Value| {
        process(&h, json!({"returnId": id, "returnLineItems": lines}))["userErrors"][0].clone()
    };
    assert_eq!(
        process_error(json!([{"id": rli, "quantity": 3}])),
        json!({"field": ["input", "returnLineItems", "0", "quantity"],
            "message": "Quantity must be less than or equal to 2, the unprocessed quantity of the return line item.",
            "code": "LESS_THAN_OR_EQUAL_TO"})
    );
    assert_eq!(
        process_error(json!([{"id": "gid://shopify/ReturnLineItem/1", "quantity": 1}]))["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        process_error(json!([{"id": rli, "quantity": 1, "dispositions": [
            {"reverseFulfillmentOrderLineItemId": reverse, "quantity": 1, "dispositionType": "RESTOCKED"}]}])),
        json!({"field": ["input", "returnLineItems", "0", "dispositions", "0", "locationId"],
            "message": "Location is required to restock items.", "code": "BLANK"})
    );
    assert_eq!(
        process_error(json!([{"id": rli, "quantity": 1, "dispositions": [
            {"reverseFulfillmentOrderLineItemId": "gid://shopify/ReverseFulfillmentOrderLineItem/1",
             "quantity": 1, "dispositionType": "MISSING"}]}]))["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        process_error(json!([{"id": rli, "quantity": 1, "dispositions": [
            {"reverseFulfillmentOrderLineItemId": reverse, "quantity": 2, "dispositionType": "MISSING"}]}]))
            ["code"],
        "LESS_THAN_OR_EQUAL_TO"
    );
    let over = process(
        &h,
        json!({"returnId": id, "returnLineItems": [{"id": rli, "quantity": 1}],
            "financialTransfer": {"issueRefund": {"orderTransactions": [{
                "parentId": "gid://shopify/OrderTransaction/1",
                "transactionAmount": {"amount": "1.00", "currencyCode": "USD"}}]}}}),
    );
    assert_eq!(
        over["userErrors"][0]["field"],
        json!([
            "input",
            "financialTransfer",
            "issueRefund",
            "orderTransactions",
            "0",
            "parentId"
        ])
    );
    assert!(topics_of(&mut rx).is_empty(), "refusals send nothing");
    assert_eq!(
        read(&h, &id)["returnLineItems"]["nodes"][0]["processedQuantity"],
        0
    );
}

#[test]
fn an_open_return_is_cancelled_before_any_work_and_not_after() {
    let h = Harness::new();
    let d = delivered(&h);
    let cancel = |id: &str| {
        h.data(
            "mutation($id: ID!) { returnCancel(id: $id, notifyCustomer: true) { return { status } userErrors { message code } } }",
            json!({"id": id}),
        )["returnCancel"]
            .clone()
    };
    let id = requested(&h, &d, &[(d.fli[0], 3)]);
    approve(&h, &id);
    let mut rx = listen(&h);
    assert_eq!(cancel(&id)["return"]["status"], "CANCELED");
    assert_eq!(
        topics_of(&mut rx),
        [
            topics::ORDERS_UPDATED,
            topics::RETURNS_CANCEL,
            topics::RETURNS_UPDATE
        ]
    );
    assert_eq!(
        read(&h, &id)["reverseFulfillmentOrders"]["nodes"][0]["status"],
        "CANCELED"
    );
    // Its units are returnable again; once one is processed the return cannot be cancelled.
    let id = requested(&h, &d, &[(d.fli[0], 3)]);
    approve(&h, &id);
    let rli = read(&h, &id)["returnLineItems"]["nodes"][0]["id"].clone();
    process(
        &h,
        json!({"returnId": id, "returnLineItems": [{"id": rli, "quantity": 1}]}),
    );
    assert_eq!(
        cancel(&id)["userErrors"],
        json!([{"message": "Return cannot be canceled: items of it were processed or refunded.",
            "code": "INVALID_STATE"}])
    );
}

#[test]
fn reason_definitions_are_listed_and_found_by_handle() {
    let h = Harness::new();
    let data = h.data(
        r#"{ all: returnReasonDefinitions(first: 50) { nodes { id handle name deleted } }
            some: returnReasonDefinitions(first: 5, handles: ["defective", "too-small"]) { nodes { handle } } }"#,
        json!({}),
    );
    assert_eq!(data["all"]["nodes"].as_array().unwrap().len(), 10);
    assert_eq!(
        data["some"]["nodes"],
        json!([{"handle": "defective"}, {"handle": "too-small"}])
    );
}
