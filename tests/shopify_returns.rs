//! The returns and refunds operations (`xconnector_actors::shopify::operations::returns`)
//! against the simulated shop over HTTP: each document runs, its variables are taken as sent
//! and its answer reads into the typed response, through a return's whole life (requested,
//! read, approved, read again with its reverse fulfillment order lines, priced, processed with
//! its refund, refund read, found by the reconciliation poll), a declined one, `refundCreate`
//! replayed by its key, and both mutations through the client actor when answers are lost.

use std::time::Duration;

use serde_json::{Value, json};
use xconnector::sim::shop::{
    FulfillmentEventSpec, FulfillmentEventStatus, FulfillmentSpec, Id, LineSpec, Money, OrderSpec,
};
use xconnector::sim::{Faults, SimConfig, Simulator};
use xconnector_actors::rate_limiter::Lane;
use xconnector_actors::retry::Backoff;
use xconnector_actors::shopify::gid::{
    FulfillmentLineItemId, LineItemId, LocationId, OrderId, RefundId, ReturnId,
};
use xconnector_actors::shopify::operations::Operation;
use xconnector_actors::shopify::operations::returns::{
    ApproveInput, ApproveVariables, DeclineInput, DeclineReason, DeclineVariables, DisposeInput,
    DispositionType, FinancialTransfer, IssueRefund, OrdersReturnsSince,
    OrdersReturnsSinceVariables, ProcessFinancialTransfer, ProcessInput, ProcessLine,
    ProcessVariables, RefundCreate, RefundCreateVariables, RefundInput, RefundLineInput,
    RefundRead, RefundReadVariables, RestockType, ReturnApproveRequest, ReturnDeclineRequest,
    ReturnLineQuantity, ReturnProcess, ReturnRead, ReturnReadVariables, ReturnStatus,
    ReturnSuggestedOutcome, ShippingRefundInput, ShopifyReturn, SuggestedOutcomeVariables,
    TransactionInput, TransactionKind, TransactionStatus,
};
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig, ShopifyError};
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

async fn sim() -> Simulator {
    Simulator::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

/// Runs an operation as the client sends it (its document, its operation name, its variables
/// serialized), asserts Shopify answered without top-level errors, and reads `data` into the
/// operation's response type. Also returns the requested cost Shopify reported.
async fn call<O: Operation>(sim: &Simulator, variables: &O::Variables) -> (O::Response, u64) {
    let body = json!({"query": O::DOCUMENT, "operationName": O::NAME,
        "variables": serde_json::to_value(variables).unwrap()});
    let raw = raw(sim, &body).await;
    assert!(raw.get("errors").is_none(), "{}: {raw:#}", O::NAME);
    let cost = raw["extensions"]["cost"]["requestedQueryCost"]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: no cost in {raw:#}", O::NAME));
    assert_eq!(
        O::estimate(variables),
        cost as f64,
        "{}: the estimate is the requested cost",
        O::NAME
    );
    let data = raw["data"].clone();
    let typed = serde_json::from_value(data.clone())
        .unwrap_or_else(|e| panic!("{}: {e} in {data:#}", O::NAME));
    (typed, cost)
}

async fn raw(sim: &Simulator, body: &Value) -> Value {
    let response = xconnector_actors::http_client::builder()
        .build()
        .unwrap()
        .post(sim.graphql_url())
        .header("X-Shopify-Access-Token", "sim-token")
        .json(body)
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status(), 200);
    response.json().await.expect("a JSON body")
}

/// A document of the test's own: `returnRequest` is what a customer does, not the daemon.
const REQUEST: &str = r#"mutation ReturnRequest($input: ReturnRequestInput!) {
    returnRequest(input: $input) { return { id status } userErrors { field message code } }
}"#;

/// A delivered order of a seeded customer: SKU-0001-S × 3 and SKU-0001-M × 2 with a
/// discount, tax and shipping, shipped in one fulfillment the carrier reported delivered.
struct Delivered {
    order: Id,
    /// Fulfillment line items, in line order.
    fli: Vec<Id>,
    lines: Vec<Id>,
    location: Id,
}

fn delivered(sim: &Simulator) -> Delivered {
    sim.shop().with(|s| {
        let small = s.variant_by_sku("SKU-0001-S").unwrap().id;
        let medium = s.variant_by_sku("SKU-0001-M").unwrap().id;
        let location = *s.locations.keys().next().unwrap();
        let customer = *s.customers.keys().next().unwrap();
        let order = s.create_order(OrderSpec {
            customer_id: Some(customer),
            line_items: vec![
                LineSpec::variant(small, 3).at(location),
                LineSpec::variant(medium, 2).at(location),
            ],
            discount: Money(1000),
            tax_rate_bps: 825,
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
        Delivered {
            order,
            fli: s.fulfillments[&fulfillment]
                .line_items
                .iter()
                .map(|l| l.id)
                .collect(),
            lines: s.orders[&order].line_items.iter().map(|l| l.id).collect(),
            location,
        }
    })
}

async fn request(sim: &Simulator, d: &Delivered, lines: &[(usize, u32)]) -> ReturnId {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(i, q)| {
            json!({"fulfillmentLineItemId": FulfillmentLineItemId::new(d.fli[*i]).to_string(),
                "quantity": q, "returnReasonDefinitionId": "gid://shopify/ReturnReasonDefinition/6",
                "customerNote": "Too small"})
        })
        .collect();
    let body = json!({"query": REQUEST, "variables": {"input": {
        "orderId": OrderId::new(d.order).to_string(), "returnLineItems": lines}}});
    let answer = raw(sim, &body).await;
    let payload = &answer["data"]["returnRequest"];
    assert_eq!(payload["userErrors"], json!([]), "{answer:#}");
    ReturnId::parse(payload["return"]["id"].as_str().unwrap()).unwrap()
}

async fn read(sim: &Simulator, id: &ReturnId) -> (ShopifyReturn, u64) {
    let (r, cost) = call::<ReturnRead>(sim, &ReturnReadVariables { id: id.clone() }).await;
    (r.return_.expect("the return exists"), cost)
}

fn dollars(amount: &str) -> Money {
    Money::parse(amount).unwrap()
}

/// Requested costs seen, by operation, printed at the end of the main test.
#[derive(Default)]
struct Costs(Vec<(&'static str, u64)>);

impl Costs {
    fn note<O: Operation>(&mut self, cost: u64) {
        assert!(
            cost <= 1000,
            "{}: {cost} passes the 1,000-point cap",
            O::NAME
        );
        if !self.0.iter().any(|(n, _)| *n == O::NAME) {
            self.0.push((O::NAME, cost));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_is_read_approved_priced_processed_with_its_refund_and_found_by_the_poll() {
    let sim = sim().await;
    let d = delivered(&sim);
    let mut costs = Costs::default();
    let id = request(&sim, &d, &[(0, 2), (1, 1)]).await;

    // Requested: the lines, their products and the fulfillment that shipped them; no reverse
    // fulfillment order yet.
    let (r, cost) = read(&sim, &id).await;
    costs.note::<ReturnRead>(cost);
    assert_eq!(r.id, id);
    assert_eq!(r.status, ReturnStatus::Requested);
    assert_eq!(r.total_quantity, 3);
    assert!(r.request_approved_at.is_none() && r.decline.is_none());
    assert_eq!(r.order.id, OrderId::new(d.order));
    let customer = r
        .order
        .customer
        .as_ref()
        .expect("a seeded customer's order");
    assert!(customer.default_email_address.is_some());
    assert!(r.reverse_fulfillment_orders.nodes.is_empty());
    assert_eq!(r.return_line_items.nodes.len(), 2);
    let line = &r.return_line_items.nodes[0];
    assert_eq!(
        (
            line.quantity,
            line.processed_quantity,
            line.unprocessed_quantity
        ),
        (2, 0, 2)
    );
    assert_eq!(line.customer_note.as_deref(), Some("Too small"));
    assert_eq!(
        line.return_reason_definition.as_ref().unwrap().handle,
        "too-small"
    );
    assert!(
        dollars(
            &line
                .with_code_discounted_total_price_set
                .as_ref()
                .unwrap()
                .shop_money
                .amount
        ) > Money::ZERO
    );
    let fli = line.fulfillment_line_item.as_ref().unwrap();
    assert_eq!(fli.id, FulfillmentLineItemId::new(d.fli[0]));
    assert_eq!(fli.line_item.id, LineItemId::new(d.lines[0]));
    assert_eq!(fli.line_item.sku.as_deref(), Some("SKU-0001-S"));
    assert!(fli.line_item.product.is_some());
    let shipped = r
        .fulfillment_of(&fli.id)
        .expect("the fulfillment that shipped it");
    assert!(shipped.delivered_at.is_some(), "{shipped:?}");
    assert!(r.reverse_line_for(&fli.id).is_none(), "not before approval");

    // Approved: OPEN, and the reverse fulfillment order lines appear.
    let (a, cost) = call::<ReturnApproveRequest>(
        &sim,
        &ApproveVariables {
            input: ApproveInput {
                id: id.clone(),
                notify_customer: false,
            },
        },
    )
    .await;
    costs.note::<ReturnApproveRequest>(cost);
    let a = a.return_approve_request.unwrap();
    assert!(a.user_errors.is_empty(), "{:?}", a.user_errors);
    let approved = a.return_.unwrap();
    assert_eq!(approved.status, ReturnStatus::Open);
    assert!(approved.request_approved_at.is_some());
    let (r, _) = read(&sim, &id).await;
    assert_eq!(r.status, ReturnStatus::Open);
    let reverse: Vec<_> = r
        .return_line_items
        .nodes
        .iter()
        .map(|l| {
            let fli = &l.fulfillment_line_item.as_ref().unwrap().id;
            let reverse = r
                .reverse_line_for(fli)
                .expect("a reverse line per return line");
            assert_eq!(reverse.total_quantity, l.quantity);
            assert!(reverse.dispositions.is_empty());
            reverse.id.clone()
        })
        .collect();

    // What Shopify suggests refunding for all of it, then processing with that refund.
    let wanted: Vec<ReturnLineQuantity> = r
        .return_line_items
        .nodes
        .iter()
        .map(|l| ReturnLineQuantity {
            id: l.id.clone(),
            quantity: l.quantity,
        })
        .collect();
    let (s, cost) = call::<ReturnSuggestedOutcome>(
        &sim,
        &SuggestedOutcomeVariables {
            id: id.clone(),
            return_line_items: wanted,
            refund_shipping: None,
        },
    )
    .await;
    costs.note::<ReturnSuggestedOutcome>(cost);
    let outcome = s.return_.unwrap().suggested_financial_outcome.unwrap();
    let Some(FinancialTransfer::RefundReturnOutcome {
        amount,
        suggested_transactions,
    }) = &outcome.financial_transfer
    else {
        panic!("a refund is suggested: {outcome:?}");
    };
    assert_eq!(
        suggested_transactions[0].kind,
        TransactionKind::SuggestedRefund
    );
    assert_eq!(
        dollars(&amount.shop_money.amount),
        dollars(&outcome.discounted_subtotal.shop_money.amount)
            + dollars(&outcome.total_tax.shop_money.amount)
    );
    let transactions = outcome
        .refund_transactions()
        .expect("payments to refund through");
    let lines = &r.return_line_items.nodes;
    let process = ProcessVariables {
        input: ProcessInput {
            return_id: id.clone(),
            return_line_items: vec![
                ProcessLine {
                    id: lines[0].id.clone(),
                    quantity: 2,
                    dispositions: vec![
                        DisposeInput {
                            reverse_fulfillment_order_line_item_id: reverse[0].clone(),
                            quantity: 1,
                            disposition_type: DispositionType::Restocked,
                            location_id: Some(LocationId::new(d.location)),
                        },
                        DisposeInput {
                            reverse_fulfillment_order_line_item_id: reverse[0].clone(),
                            quantity: 1,
                            disposition_type: DispositionType::NotRestocked,
                            location_id: None,
                        },
                    ],
                },
                ProcessLine {
                    id: lines[1].id.clone(),
                    quantity: 1,
                    dispositions: vec![DisposeInput {
                        reverse_fulfillment_order_line_item_id: reverse[1].clone(),
                        quantity: 1,
                        disposition_type: DispositionType::Missing,
                        location_id: None,
                    }],
                },
            ],
            refund_shipping: None,
            financial_transfer: Some(ProcessFinancialTransfer {
                issue_refund: IssueRefund {
                    order_transactions: transactions,
                },
            }),
            notify_customer: false,
            note: Some("Checked in by the warehouse".into()),
        },
    };
    let (p, cost) = call::<ReturnProcess>(&sim, &process).await;
    costs.note::<ReturnProcess>(cost);
    let p = p.return_process.unwrap();
    assert!(p.user_errors.is_empty(), "{:?}", p.user_errors);
    let processed = p.return_.unwrap();
    assert_eq!(processed.status, ReturnStatus::Closed);
    assert!(processed.closed_at.is_some());
    assert!(
        processed
            .return_line_items
            .nodes
            .iter()
            .all(|l| l.unprocessed_quantity == 0 && l.refunded_quantity == l.processed_quantity)
    );
    assert_eq!(processed.refunds.nodes.len(), 1);
    let refund_id = processed.refunds.nodes[0].id.clone();

    // Not idempotent: the same call again is refused, and nothing more is refunded.
    let (again, _) = call::<ReturnProcess>(&sim, &process).await;
    let again = again.return_process.unwrap();
    assert!(again.return_.is_none());
    assert_eq!(again.user_errors[0].code.as_deref(), Some("INVALID_STATE"));

    // The return read again shows the dispositions and its refund.
    let (r, _) = read(&sim, &id).await;
    assert_eq!(r.status, ReturnStatus::Closed);
    assert_eq!(r.refunds.nodes[0].id, refund_id);
    let first = r
        .reverse_line_for(&FulfillmentLineItemId::new(d.fli[0]))
        .unwrap();
    let kinds: Vec<_> = first
        .dispositions
        .iter()
        .map(|x| (x.kind, x.quantity))
        .collect();
    assert_eq!(
        kinds,
        [
            (DispositionType::Restocked, 1),
            (DispositionType::NotRestocked, 1)
        ]
    );
    assert_eq!(
        first.dispositions[0].location.as_ref().unwrap().id,
        LocationId::new(d.location)
    );

    // The refund, as accounting is told it.
    let (f, cost) = call::<RefundRead>(
        &sim,
        &RefundReadVariables {
            id: refund_id.clone(),
        },
    )
    .await;
    costs.note::<RefundRead>(cost);
    let f = f.refund.unwrap();
    assert_eq!(f.id, refund_id);
    assert_eq!(f.return_.as_ref().unwrap().id, id);
    assert_eq!(f.order.id, OrderId::new(d.order));
    assert_eq!(f.order.currency_code, "USD");
    assert_eq!(
        dollars(&f.total_refunded_set.shop_money.amount),
        dollars(&amount.shop_money.amount),
        "the refund is what was suggested"
    );
    assert_eq!(f.refund_line_items.nodes.len(), 2);
    assert_eq!(f.refund_line_items.nodes[0].quantity, 2);
    let tx = &f.transactions.nodes[0];
    assert_eq!(
        (tx.kind, tx.status, tx.gateway.as_deref()),
        (
            TransactionKind::Refund,
            TransactionStatus::Success,
            Some("shopify_payments")
        )
    );
    assert!(tx.parent_transaction.is_some());

    // The reconciliation poll finds the order with its return and refund.
    let since = "2000-01-01T00:00:00Z";
    let (o, cost) = call::<OrdersReturnsSince>(
        &sim,
        &OrdersReturnsSinceVariables::since(since, 50, None).unwrap(),
    )
    .await;
    costs.note::<OrdersReturnsSince>(cost);
    let mut found = o
        .orders
        .nodes
        .iter()
        .find(|o| o.id == OrderId::new(d.order));
    let mut after = o.orders.page_info.end_cursor.clone();
    let mut more = o.orders.page_info.has_next_page;
    let mut pages = Vec::new();
    while found.is_none() && more {
        let (o, _) = call::<OrdersReturnsSince>(
            &sim,
            &OrdersReturnsSinceVariables::since(since, 50, after.clone()).unwrap(),
        )
        .await;
        after = o.orders.page_info.end_cursor.clone();
        more = o.orders.page_info.has_next_page;
        pages.push(o);
        found = pages
            .last()
            .unwrap()
            .orders
            .nodes
            .iter()
            .find(|o| o.id == OrderId::new(d.order));
    }
    let order = found.expect("the order is in the poll");
    assert_eq!(order.returns.nodes[0].id, id);
    assert_eq!(order.returns.nodes[0].status, ReturnStatus::Closed);
    assert_eq!(order.refunds[0].id, refund_id);
    assert_eq!(order.return_status.as_deref(), Some("RETURNED"));

    let (_, small) = call::<OrdersReturnsSince>(
        &sim,
        &OrdersReturnsSinceVariables::since(since, 10, None).unwrap(),
    )
    .await;
    for (name, cost) in &costs.0 {
        eprintln!("requested cost {name}: {cost}");
    }
    eprintln!("requested cost OrdersReturnsSince (first 10): {small}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_return_says_why_and_cannot_be_approved() {
    let sim = sim().await;
    let d = delivered(&sim);
    let id = request(&sim, &d, &[(0, 3)]).await;
    let decline = |note: String| DeclineVariables {
        input: DeclineInput {
            id: id.clone(),
            decline_reason: DeclineReason::FinalSale,
            decline_note: Some(note),
            notify_customer: true,
        },
    };
    let (refused, _) = call::<ReturnDeclineRequest>(&sim, &decline("x".repeat(501))).await;
    let refused = refused.return_decline_request.unwrap();
    assert!(refused.return_.is_none());
    assert_eq!(refused.user_errors[0].code.as_deref(), Some("TOO_LONG"));
    assert_eq!(refused.user_errors[0].field, ["input", "declineNote"]);

    let (p, cost) = call::<ReturnDeclineRequest>(&sim, &decline("Final sale item".into())).await;
    eprintln!("requested cost ReturnDeclineRequest: {cost}");
    let p = p.return_decline_request.unwrap();
    assert!(p.user_errors.is_empty(), "{:?}", p.user_errors);
    let declined = p.return_.unwrap();
    assert_eq!(declined.status, ReturnStatus::Declined);
    let why = declined.decline.unwrap();
    assert_eq!(
        (why.reason, why.note.as_deref()),
        (DeclineReason::FinalSale, Some("Final sale item"))
    );
    let (r, _) = read(&sim, &id).await;
    assert_eq!(r.status, ReturnStatus::Declined);
    assert_eq!(r.decline.unwrap().reason, DeclineReason::FinalSale);

    let (a, _) = call::<ReturnApproveRequest>(
        &sim,
        &ApproveVariables {
            input: ApproveInput {
                id: id.clone(),
                notify_customer: false,
            },
        },
    )
    .await;
    let a = a.return_approve_request.unwrap();
    assert!(a.return_.is_none());
    assert_eq!(a.user_errors[0].code.as_deref(), Some("INVALID_STATE"));
    // An unknown return reads as None.
    let (none, _) = call::<ReturnRead>(
        &sim,
        &ReturnReadVariables {
            id: ReturnId::new(1),
        },
    )
    .await;
    assert!(none.return_.is_none());
    sim.shutdown().await;
}

fn refund_input(d: &Delivered, amount: &str) -> RefundInput {
    RefundInput {
        order_id: OrderId::new(d.order),
        note: Some("Damaged in transit".into()),
        notify: false,
        refund_line_items: vec![RefundLineInput {
            line_item_id: LineItemId::new(d.lines[1]),
            quantity: 1,
            restock_type: RestockType::Return,
            location_id: Some(LocationId::new(d.location)),
        }],
        shipping: Some(ShippingRefundInput::Amount("4.00".into())),
        transactions: vec![TransactionInput {
            order_id: OrderId::new(d.order),
            gateway: "shopify_payments".into(),
            kind: TransactionKind::Refund,
            amount: amount.into(),
            parent_id: None,
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_create_twice_with_one_key_makes_one_refund() {
    let sim = sim().await;
    let d = delivered(&sim);
    let vars = RefundCreateVariables {
        input: refund_input(&d, "14.00"),
        idempotency_key: "refund-decision-1".into(),
    };
    let (first, cost) = call::<RefundCreate>(&sim, &vars).await;
    eprintln!("requested cost RefundCreate: {cost}");
    let first = first.refund_create.unwrap();
    assert!(first.user_errors.is_empty(), "{:?}", first.user_errors);
    let refund = first.refund.clone().unwrap();
    assert!(refund.return_.is_none());
    assert_eq!(refund.note.as_deref(), Some("Damaged in transit"));
    assert_eq!(
        dollars(&refund.total_refunded_set.shop_money.amount),
        Money(1400)
    );
    let line = &refund.refund_line_items.nodes[0];
    assert_eq!(
        (line.quantity, line.restock_type, line.line_item.id.clone()),
        (1, RestockType::Return, LineItemId::new(d.lines[1]))
    );
    assert_eq!(
        dollars(
            &refund.refund_shipping_lines.nodes[0]
                .subtotal_amount_set
                .shop_money
                .amount
        ),
        Money(400)
    );
    assert!(refund.duties.is_empty());
    assert_eq!(
        refund.transactions.nodes[0].status,
        TransactionStatus::Success
    );
    assert_eq!(
        first
            .order
            .as_ref()
            .unwrap()
            .display_financial_status
            .as_deref(),
        Some("PARTIALLY_REFUNDED")
    );

    let (again, _) = call::<RefundCreate>(&sim, &vars).await;
    let again = again.refund_create.unwrap();
    assert_eq!(again, first, "the replay is answered with the first refund");
    assert_eq!(sim.shop().with(|s| s.refunds.len()), 1);

    // The same key with other input is refused, with a plain UserError.
    let other = RefundCreateVariables {
        input: refund_input(&d, "15.00"),
        idempotency_key: "refund-decision-1".into(),
    };
    let (mismatch, _) = call::<RefundCreate>(&sim, &other).await;
    let mismatch = mismatch.refund_create.unwrap();
    assert!(mismatch.refund.is_none());
    assert!(mismatch.user_errors[0].field.is_empty());
    assert_eq!(mismatch.user_errors[0].code, None);
    assert_eq!(sim.shop().with(|s| s.refunds.len()), 1);

    // A refund the gateway fails reads with Shopify's message.
    sim.set_faults(Faults {
        refund_failure: 1.0,
        ..Faults::none()
    });
    let failing = RefundCreateVariables {
        input: refund_input(&d, "1.00"),
        idempotency_key: "refund-decision-2".into(),
    };
    let (failed, _) = call::<RefundCreate>(&sim, &failing).await;
    let failed = failed.refund_create.unwrap().refund.unwrap();
    let (read, _) = call::<RefundRead>(
        &sim,
        &RefundReadVariables {
            id: failed.id.clone(),
        },
    )
    .await;
    let tx = &read.refund.unwrap().transactions.nodes[0];
    assert_eq!(tx.status, TransactionStatus::Failure);
    assert!(tx.error_code.is_some());
    assert!(
        tx.receipt_message().is_some_and(|m| !m.is_empty()),
        "{:?}",
        tx.receipt_json
    );
    let (none, _) = call::<RefundRead>(
        &sim,
        &RefundReadVariables {
            id: RefundId::new(1),
        },
    )
    .await;
    assert!(none.refund.is_none());
    sim.shutdown().await;
}

async fn engine(sim: &Simulator, dir: &tempfile::TempDir) -> Engine {
    let mut cfg = ShopifyClientConfig::new(
        "demo.myshopify.com",
        sim.base_url(),
        "2026-10",
        AccessToken::new("sim-token"),
    );
    cfg.request_timeout = Duration::from_secs(2);
    cfg.deadline = Duration::from_secs(30);
    cfg.backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(200));
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: dir.path().join("data"),
        pruning: Default::default(),
        flows: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: Some(cfg),
        endpoints: Vec::new(),
    })
    .await
    .unwrap();
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_client_a_lost_refund_answer_is_retried_by_key_and_a_lost_process_is_not() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&sim, &dir).await;
    let shopify = engine.shopify().unwrap().clone();
    let d = delivered(&sim);

    // Every answer is lost (Shopify ran the request, the client never hears) until we stop it.
    sim.set_faults(Faults {
        drop_connection: 1.0,
        ..Faults::none()
    });
    let vars = RefundCreateVariables {
        input: refund_input(&d, "14.00"),
        idempotency_key: "refund-lost-answer".into(),
    };
    let client = shopify.clone();
    let call = tokio::spawn(async move { client.run::<RefundCreate>(Lane::Orders, &vars).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while sim.stats().dropped_connections < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no retry seen");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.set_faults(Faults::none());
    let answer = call
        .await
        .unwrap()
        .expect("the retry is answered by its key");
    let refund = answer.refund_create.unwrap().refund.unwrap();
    assert_eq!(
        sim.shop()
            .with(|s| s.refunds.keys().copied().collect::<Vec<_>>()),
        [refund.id.id()],
        "one refund in the shop"
    );

    // returnProcess is not sent again after an answer that may have come after it ran.
    let id = request(&sim, &d, &[(0, 1)]).await;
    let approved = shopify
        .run::<ReturnApproveRequest>(
            Lane::Orders,
            &ApproveVariables {
                input: ApproveInput {
                    id: id.clone(),
                    notify_customer: false,
                },
            },
        )
        .await
        .unwrap();
    assert!(
        approved
            .return_approve_request
            .unwrap()
            .user_errors
            .is_empty()
    );
    let r = shopify
        .run::<ReturnRead>(Lane::Orders, &ReturnReadVariables { id: id.clone() })
        .await
        .unwrap()
        .return_
        .unwrap();
    let line = &r.return_line_items.nodes[0];
    let process = ProcessVariables {
        input: ProcessInput {
            return_id: id.clone(),
            return_line_items: vec![ProcessLine {
                id: line.id.clone(),
                quantity: 1,
                dispositions: vec![DisposeInput {
                    reverse_fulfillment_order_line_item_id: r
                        .reverse_line_for(&line.fulfillment_line_item.as_ref().unwrap().id)
                        .unwrap()
                        .id
                        .clone(),
                    quantity: 1,
                    disposition_type: DispositionType::NotRestocked,
                    location_id: None,
                }],
            }],
            refund_shipping: None,
            financial_transfer: None,
            notify_customer: false,
            note: None,
        },
    };
    let dropped = sim.stats().dropped_connections;
    sim.set_faults(Faults {
        drop_connection: 1.0,
        ..Faults::none()
    });
    let lost = shopify.run::<ReturnProcess>(Lane::Orders, &process).await;
    sim.set_faults(Faults::none());
    assert!(
        matches!(lost, Err(ShopifyError::Transport { .. })),
        "{lost:?}"
    );
    assert_eq!(sim.stats().dropped_connections, dropped + 1, "sent once");
    // What the caller reads before trying again: it was processed, once.
    let r = shopify
        .run::<ReturnRead>(Lane::Orders, &ReturnReadVariables { id })
        .await
        .unwrap()
        .return_
        .unwrap();
    assert_eq!(r.return_line_items.nodes[0].processed_quantity, 1);
    assert_eq!(r.status, ReturnStatus::Closed);
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
    sim.shutdown().await;
}
