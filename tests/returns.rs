//! Returns and refunds, end to end: the real daemon binary against the simulated shop, 300
//! returns asked for by customers across the rules' paths (ordinary, final sale, past the
//! window, worth more than the threshold), the held ones decided by a person through the
//! control socket and by a back-office system through the API, what came back received
//! through the API and refunded (some answers lost on the way, a SIGKILL midway), refunds made
//! in Shopify's admin too (one failing at the gateway), webhooks lost and found again by the
//! reconciliation poll, and the shop and the accounting endpoint as the judges.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::rig::{API_TOKEN, Rig, RigOptions, daemon_config, free_port, start_daemon, until};
use common::{cli_json, xconnector};
use serde_json::{Value, json};
use xconnector::sim::Faults;
use xconnector::sim::shop::{
    FulfillmentEventSpec, FulfillmentEventStatus, FulfillmentSpec, Id, LineSpec, Money, OrderSpec,
    RefundSpec, RefundTransactionSpec, ReturnDeclineReason, ReturnLineSpec, ReturnReason,
    ReturnSpec, ReturnStatus, TransactionKind,
};
use xconnector::sim::time::Timestamp;

const RETURNS: &str = r#"
[flows.returns]
accounting = ["finance"]
review = ["support"]
reconcile_every = "2s"
reconcile_overlap = "30s"

[flows.returns.rules]
window_days = 30
final_sale_tags = ["final-sale"]
approval_threshold = "150.00"
"#;

/// The rule path a return was made to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Path {
    Ordinary,
    FinalSale,
    Late,
    Held,
}

struct Case {
    id: Id,
    path: Path,
    sku: String,
    quantity: u32,
}

fn gid(id: Id) -> String {
    format!("gid://shopify/Return/{id}")
}

/// A delivered order of one line and a return of it, along `path`: a cheap line for the
/// ordinary ones, a product tagged final-sale, a delivery 40 days ago, or a line worth more
/// than the threshold.
fn make_returns(rig: &Rig, n: usize) -> Vec<Case> {
    rig.sim.shop().with(|shop| {
        let location = shop
            .locations
            .values()
            .filter(|l| l.active)
            .map(|l| l.id)
            .min()
            .unwrap();
        let customers: Vec<Id> = shop.customers.keys().copied().collect();
        // Variants by price, stocked at the location, each product used by one path only.
        let mut variants: Vec<(Id, Id, i64)> = rig
            .sellable
            .iter()
            .map(|v| {
                let variant = &shop.variants[v];
                (*v, variant.product_id, variant.price.cents())
            })
            .filter(|(v, _, _)| {
                let item = shop.variants[v].inventory_item_id;
                shop.inventory_level(item, location)
                    .is_some_and(|l| l.available >= 20)
            })
            .collect();
        variants.sort_by_key(|(v, _, _)| *v);
        let cheap: Vec<&(Id, Id, i64)> = variants.iter().filter(|v| v.2 <= 5_000).collect();
        let dear: Vec<&(Id, Id, i64)> = variants.iter().filter(|v| v.2 > 16_000).collect();
        assert!(
            cheap.len() > 20 && dear.len() > 5,
            "the seeded catalogue has cheap and dear variants"
        );
        // The final-sale products: every fourth cheap product.
        let final_sale: BTreeSet<Id> = cheap.iter().step_by(4).map(|v| v.1).collect();
        for p in &final_sale {
            if let Some(product) = shop.products.get_mut(p) {
                product.tags.push("final-sale".into());
            }
        }
        let forty_days_ago = Timestamp(Timestamp::now().0 - 40 * 86_400);
        let mut cases = Vec::new();
        for i in 0..n {
            let path = match i % 5 {
                0 | 1 => Path::Ordinary,
                2 => Path::FinalSale,
                3 => Path::Late,
                _ => Path::Held,
            };
            let pool: Vec<&&(Id, Id, i64)> = match path {
                Path::FinalSale => cheap.iter().filter(|v| final_sale.contains(&v.1)).collect(),
                Path::Held => dear.iter().collect(),
                _ => cheap
                    .iter()
                    .filter(|v| !final_sale.contains(&v.1))
                    .collect(),
            };
            let (variant, _, _) = **pool[i % pool.len()];
            let quantity = 1;
            let order = shop.create_order(OrderSpec {
                customer_id: Some(customers[i % customers.len()]),
                line_items: vec![LineSpec::variant(variant, quantity).at(location)],
                tax_rate_bps: 825,
                ..OrderSpec::default()
            });
            let fulfillment = shop
                .create_fulfillment(order, FulfillmentSpec::default())
                .unwrap();
            let mut delivered = FulfillmentEventSpec::new(FulfillmentEventStatus::Delivered);
            if path == Path::Late {
                delivered.happened_at = Some(forty_days_ago);
            }
            shop.create_fulfillment_event(fulfillment, delivered)
                .unwrap();
            let fli = shop.fulfillments[&fulfillment].line_items[0].id;
            let id = shop
                .request_return(ReturnSpec {
                    order_id: order,
                    lines: vec![ReturnLineSpec::new(
                        fli,
                        quantity,
                        ReturnReason::SizeTooSmall,
                    )],
                    ..ReturnSpec::default()
                })
                .unwrap();
            let sku = shop.variants[&variant].sku.clone();
            cases.push(Case {
                id,
                path,
                sku,
                quantity,
            });
        }
        cases
    })
}

/// A refund of `cents` a person makes in Shopify's admin on the order of return `of`, without
/// a return.
fn admin_refund(rig: &Rig, of: Id, cents: i64) -> Id {
    rig.sim.shop().with(|shop| {
        let order = shop.returns[&of].order_id;
        shop.create_refund(RefundSpec {
            order_id: order,
            transactions: vec![RefundTransactionSpec {
                order_id: order,
                parent_id: None,
                gateway: String::new(),
                kind: TransactionKind::Refund,
                amount: Money(cents),
            }],
            note: Some("goodwill".into()),
            ..RefundSpec::default()
        })
        .unwrap()
    })
}

/// Return → (status, decline reason).
fn statuses(rig: &Rig) -> BTreeMap<Id, (ReturnStatus, Option<ReturnDeclineReason>)> {
    rig.sim.shop().with(|shop| {
        shop.returns
            .values()
            .map(|r| (r.id, (r.status, r.decline.as_ref().map(|d| d.reason))))
            .collect()
    })
}

async fn api(port: u16, path: &str, body: &Value) -> (u16, Value) {
    let http = xconnector_actors::http_client::builder().build().unwrap();
    let r = http
        .post(format!("http://127.0.0.1:{port}/api/v1/{path}"))
        .bearer_auth(API_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The returns items held for a person (in exception): return GID → (item id, why).
fn held(config: &std::path::Path) -> BTreeMap<String, (u64, String)> {
    let page = cli_json(
        &[
            "items",
            "list",
            "--flow",
            "returns",
            "--state",
            "exception",
            "--limit",
            "1000",
            "--json",
            "--config",
        ],
        config,
    );
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "returns/request")
        .filter_map(|i| {
            let id = i["id"].as_u64()?;
            let detail = cli_json(
                &["items", "show", &id.to_string(), "--json", "--config"],
                config,
            );
            let gid = detail["payload"]["admin_graphql_api_id"]
                .as_str()?
                .to_string();
            Some((
                gid,
                (id, i["last_error"].as_str().unwrap_or("").to_string()),
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_are_judged_decided_received_and_each_refund_reaches_accounting_once() {
    let port = free_port();
    let rig = Rig::start(RigOptions::webhooks_to(format!(
        "http://127.0.0.1:{port}/webhooks/shopify"
    )))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_config(dir.path(), port, &rig, "1h", RETURNS);
    let mut daemon = start_daemon(&config);
    daemon.wait_for_log("xconnector ready");

    let cases = make_returns(&rig, 300);
    let by_path = |p: Path| cases.iter().filter(move |c| c.path == p);

    // Every return is decided by the rules, or held for a person.
    let held_count = by_path(Path::Held).count();
    until("every return judged", || async {
        let s = statuses(&rig);
        let decided = cases
            .iter()
            .filter(|c| c.path != Path::Held)
            .all(|c| s[&c.id].0 != ReturnStatus::Requested);
        (decided && held(&config).len() == held_count).then_some(())
    })
    .await;
    let s = statuses(&rig);
    for c in &cases {
        let expected = match c.path {
            Path::Ordinary => (ReturnStatus::Open, None),
            Path::FinalSale => (ReturnStatus::Declined, Some(ReturnDeclineReason::FinalSale)),
            Path::Late => (
                ReturnStatus::Declined,
                Some(ReturnDeclineReason::ReturnPeriodEnded),
            ),
            Path::Held => (ReturnStatus::Requested, None),
        };
        assert_eq!(s[&c.id], expected, "return {} ({:?})", c.id, c.path);
    }
    // The support team was told of each held return once.
    let told: BTreeSet<String> = rig
        .office_for("support")
        .received("support")
        .iter()
        .filter(|r| r.body["schema"] == "xconnector.return_held.v1")
        .filter_map(|r| r.body["return_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(told.len(), held_count);

    // A person approves half of the held ones at the console; the ERP declines the rest.
    let held_items = held(&config);
    let mut approved_by_person = BTreeSet::new();
    let mut declined_by_api = BTreeSet::new();
    for (i, c) in by_path(Path::Held).enumerate() {
        let gid = gid(c.id);
        if i % 2 == 0 {
            let item = held_items[&gid].0;
            let out = xconnector()
                .args([
                    "items",
                    "act",
                    "approve",
                    &item.to_string(),
                    "--note",
                    "good customer",
                    "--json",
                    "--config",
                ])
                .arg(&config)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            approved_by_person.insert(c.id);
        } else {
            let (status, answer) = api(
                port,
                &format!("returns/{}/decision", c.id),
                &json!({"source": "erp", "decision": "decline", "reason": "OTHER", "note": "worn"}),
            )
            .await;
            assert_eq!(status, 202, "{answer}");
            declined_by_api.insert(c.id);
        }
    }
    // A decline without a reason is refused, naming the field.
    let (status, answer) = api(
        port,
        "returns/1/decision",
        &json!({"source": "erp", "decision": "decline"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer.to_string().contains("reason: required to decline"),
        "{answer}"
    );
    until("the people's decisions carried out", || async {
        let s = statuses(&rig);
        let done = approved_by_person
            .iter()
            .all(|id| s[id].0 == ReturnStatus::Open)
            && declined_by_api
                .iter()
                .all(|id| s[id] == (ReturnStatus::Declined, Some(ReturnDeclineReason::Other)));
        (done && held(&config).is_empty()).then_some(())
    })
    .await;

    // What came back is received; a fifth of Shopify's answers are lost after it ran them,
    // and the daemon is killed halfway.
    let open: Vec<&Case> = cases
        .iter()
        .filter(|c| c.path == Path::Ordinary || approved_by_person.contains(&c.id))
        .collect();
    rig.sim.set_faults(Faults {
        drop_connection: 0.2,
        ..Faults::none()
    });
    for (i, c) in open.iter().enumerate() {
        if i == open.len() / 2 {
            drop(daemon); // SIGKILL
            daemon = start_daemon(&config);
        }
        let disposition = if i % 7 == 0 {
            "NOT_RESTOCKED"
        } else {
            "RESTOCKED"
        };
        let (status, answer) = api(
            port,
            &format!("returns/gid%3A%2F%2Fshopify%2FReturn%2F{}/received", c.id),
            &json!({"source": "wms", "lines": [{"sku": c.sku, "quantity": c.quantity, "disposition": disposition}]}),
        )
        .await;
        assert_eq!(status, 202, "{answer}");
    }
    // The merchant also refunds a few orders in the admin, without a return.
    let admin_refunds: Vec<Id> = cases
        .iter()
        .filter(|c| c.path == Path::FinalSale)
        .take(10)
        .map(|c| admin_refund(&rig, c.id, 100))
        .collect();
    until("every received return closed and refunded", || async {
        let s = statuses(&rig);
        open.iter()
            .all(|c| s[&c.id].0 == ReturnStatus::Closed)
            .then_some(())
    })
    .await;
    rig.sim.set_faults(Faults::none());

    // One refund per return however many answers were lost: the shop is the judge.
    let refunds: BTreeMap<Id, Option<Id>> = rig
        .sim
        .shop()
        .with(|shop| shop.refunds.values().map(|r| (r.id, r.return_id)).collect());
    let mut per_return: BTreeMap<Id, usize> = BTreeMap::new();
    for r in refunds.values().flatten() {
        *per_return.entry(*r).or_default() += 1;
    }
    for c in &open {
        assert_eq!(
            per_return.get(&c.id),
            Some(&1),
            "return {} refunded once",
            c.id
        );
    }
    assert_eq!(refunds.len(), open.len() + admin_refunds.len());
    // And no receipt needed a person: a process whose answer was lost was found done in
    // Shopify, not sent again (the shop would have refused a second one).
    let stuck = cli_json(
        &[
            "items",
            "list",
            "--flow",
            "returns",
            "--state",
            "exception",
            "--json",
            "--config",
        ],
        &config,
    );
    assert_eq!(stuck["items"], json!([]), "{stuck:#}");

    // Accounting gets every refund, under one idempotency key each.
    let finance = rig.office_for("finance");
    until("accounting told of every refund", || async {
        let got: BTreeSet<String> = finance
            .received("finance")
            .iter()
            .filter_map(|r| r.body["id"].as_str().map(str::to_string))
            .collect();
        (got.len() == refunds.len()).then_some(())
    })
    .await;
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in finance.received("finance") {
        assert_eq!(r.body["schema"], "xconnector.refund.v1");
        keys.entry(r.body["id"].as_str().unwrap().to_string())
            .or_default()
            .insert(r.idempotency_key.clone());
    }
    for refund in refunds.keys() {
        let id = format!("gid://shopify/Refund/{refund}");
        assert_eq!(
            keys.get(&id).map(BTreeSet::len),
            Some(1),
            "refund {id} reached accounting under one key"
        );
    }
    let sample = finance
        .received("finance")
        .into_iter()
        .find(|r| r.body["return_id"].is_string())
        .unwrap();
    assert_eq!(sample.body["status"], "succeeded", "{:#}", sample.body);
    assert!(
        sample.body["lines"][0]["quantity"].as_u64() == Some(1),
        "{:#}",
        sample.body
    );

    // A refund whose money did not move is still told, with the gateway's message, and its
    // status is on the item.
    rig.sim.set_faults(Faults {
        refund_failure: 1.0,
        ..Faults::none()
    });
    let failed = admin_refund(&rig, by_path(Path::Late).next().unwrap().id, 250);
    let failed = format!("gid://shopify/Refund/{failed}");
    let told = until("the failed refund told", || async {
        finance
            .received("finance")
            .into_iter()
            .find(|r| r.body["id"] == failed.as_str())
    })
    .await;
    assert_eq!(told.body["status"], "failed", "{:#}", told.body);
    assert_eq!(told.body["transactions"][0]["status"], "failure");
    assert!(
        told.body["transactions"][0]["message"].is_string(),
        "{:#}",
        told.body
    );
    // The newest refund item (items come oldest first, a page at a time).
    let (mut newest, mut after) = (0, None::<u64>);
    loop {
        let mut args = vec![
            "items", "list", "--flow", "returns", "--limit", "1000", "--json",
        ];
        let from = after.map(|a| a.to_string());
        if let Some(a) = &from {
            args.extend(["--after", a.as_str()]);
        }
        args.push("--config");
        let page = cli_json(&args, &config);
        for i in page["items"].as_array().unwrap() {
            if i["kind"] == "refunds/create" {
                newest = newest.max(i["id"].as_u64().unwrap());
            }
        }
        match page["next"].as_u64() {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let shown = cli_json(
        &["items", "show", &newest.to_string(), "--json", "--config"],
        &config,
    );
    assert!(shown["history"].to_string().contains("failed"), "{shown:#}");
    rig.sim.set_faults(Faults::none());

    // Webhooks lost: the reconciliation poll finds the returns and the refund they would have
    // brought.
    let sender = rig.sender.clone().unwrap();
    sender.set_enabled(false);
    let unseen = make_returns(&rig, 2);
    let refund = format!(
        "gid://shopify/Refund/{}",
        admin_refund(&rig, unseen[0].id, 100)
    );
    until("the poll to find the returns and the refund", || async {
        let s = statuses(&rig);
        let judged = unseen.iter().all(|c| s[&c.id].0 == ReturnStatus::Open);
        let told = finance
            .received("finance")
            .iter()
            .any(|r| r.body["id"] == refund.as_str());
        (judged && told).then_some(())
    })
    .await;
    sender.set_enabled(true);

    // A return of more lines than one read brings is left to a person, not judged on some.
    let wide = rig.sim.shop().with(|shop| {
        let location = *shop.locations.keys().min().unwrap();
        let lines = rig.stocked_lines(shop, location, 12, 5);
        let order = shop.create_order(OrderSpec {
            customer_id: shop.customers.keys().next().copied(),
            line_items: lines,
            ..OrderSpec::default()
        });
        let fulfillment = shop
            .create_fulfillment(order, FulfillmentSpec::default())
            .unwrap();
        let lines = shop.fulfillments[&fulfillment]
            .line_items
            .iter()
            .map(|l| ReturnLineSpec::new(l.id, 1, ReturnReason::Unwanted))
            .collect();
        shop.request_return(ReturnSpec {
            order_id: order,
            lines,
            ..ReturnSpec::default()
        })
        .unwrap()
    });
    let wide = gid(wide);
    let reason = until("the wide return left to a person", || async {
        held(&config).remove(&wide).map(|(_, why)| why)
    })
    .await;
    assert!(reason.contains("more than 10 lines"), "{reason}");
    drop(daemon);
}
