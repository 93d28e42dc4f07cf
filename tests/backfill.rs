//! Report backfill against the simulator: the rollups a backfill fills from the shop's bulk
//! query (its children deliberately out of order) are exactly those the live path counts from
//! the same orders' webhooks; a backfill stopped as a crash would, then resumed, counts nothing
//! twice; `deliver` gives the orders flow each order it never saw, once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;

use chrono::NaiveDate;
use xconnector::sim::bucket::BucketConfig;
use xconnector::sim::bulk::ChildOrder;
use xconnector::sim::faults::Faults;
use xconnector::sim::shop::{FulfillmentEventSpec, FulfillmentEventStatus};
use xconnector::sim::{SeedSize, SimConfig, Simulator};
use xconnector_actors::flows::orders::record::{OrderBook, OrderRecord};
use xconnector_actors::flows::reporting::backfill::{Backfill, BackfillError, Progress, State};
use xconnector_actors::flows::reporting::order_write;
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig};
use xconnector_actors::store::{Counters, ItemFilter, StoreHandle};
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

/// A shop with history: `orders` orders, some fulfilled, a third of those delivered, some
/// cancelled and refunded; bulk results with children before their parents. Its cost bucket
/// refills 20 times as fast as Shopify's (a backfill reads refunds and, delivering, orders one
/// by one).
async fn shop_with_history(orders: usize) -> Simulator {
    let config = SimConfig {
        size: SeedSize {
            orders,
            ..SeedSize::small()
        },
        bucket: BucketConfig {
            clock_scale: 20.0,
            ..BucketConfig::standard()
        },
        ..SimConfig::default()
    };
    let sim = Simulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    sim.shop().with(|s| {
        s.bulk.children = ChildOrder::Scattered;
        let fulfillments: Vec<_> = s.fulfillments.keys().copied().step_by(3).collect();
        for f in fulfillments {
            s.create_fulfillment_event(
                f,
                FulfillmentEventSpec::new(FulfillmentEventStatus::Delivered),
            )
            .unwrap();
        }
    });
    sim
}

async fn engine(sim: &Simulator, dir: &std::path::Path) -> Engine {
    let client = ShopifyClientConfig::new(
        "demo.myshopify.com",
        sim.base_url(),
        "2026-10",
        AccessToken::new("sim-token"),
    );
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: dir.join("data"),
        pruning: Default::default(),
        flows: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: Some(client),
        endpoints: Vec::new(),
    })
    .await
    .unwrap();
    engine
}

/// Counts every order of the shop as the orders flow does: its `orders/updated` webhook.
async fn count_live(sim: &Simulator, store: &StoreHandle) {
    let payloads: Vec<Vec<u8>> = sim.shop().with(|s| {
        s.orders
            .keys()
            .map(|id| {
                let body = xconnector::sim::rest::render_topic(s, "orders/updated", *id).unwrap();
                serde_json::to_vec(&body).unwrap()
            })
            .collect()
    });
    for p in payloads {
        store
            .rollup_writes(vec![order_write(&p).unwrap()])
            .await
            .unwrap();
    }
}

/// The buckets that differ between two sets, for a readable failure.
fn differ(a: &[(String, Counters)], b: &[(String, Counters)]) -> Vec<String> {
    let a: std::collections::BTreeMap<_, _> = a.iter().cloned().collect();
    let b: std::collections::BTreeMap<_, _> = b.iter().cloned().collect();
    a.keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {:?} vs {:?}", a.get(k), b.get(k)))
        .collect()
}

/// Every bucket orders count in (sales, fulfilment, inventory, customers; by day and hour),
/// not those of the daemon's own activity (its items' health, the Shopify points it spent).
async fn buckets(store: &StoreHandle) -> Vec<(String, Counters)> {
    let mut all = store.rollup_range("", "~").await.unwrap();
    all.retain(|(b, _)| !b.starts_with("health/") && !b.starts_with("shopify/"));
    all
}

fn since() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()
}

async fn finished(b: &Backfill) -> Progress {
    b.wait().await;
    b.progress().await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_counts_what_the_live_path_counts() {
    let sim = shop_with_history(450).await;
    let (live_dir, backfill_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let live = engine(&sim, live_dir.path()).await;
    count_live(&sim, live.store()).await;
    let expected = buckets(live.store()).await;
    let counter = |name: &str| -> i64 {
        expected
            .iter()
            .filter(|(b, _)| b.contains("/day/"))
            .filter_map(|(_, c)| c.get(name))
            .sum()
    };
    // The history has what each part of the counting reads.
    assert!(
        counter("orders") > 0 && counter("refunds") > 0,
        "{expected:?}"
    );
    assert!(counter("delivered") > 0 && counter("cancelled") > 0);

    let fresh = engine(&sim, backfill_dir.path()).await;
    let b = Arc::new(Backfill::new(
        fresh.store().clone(),
        fresh.shopify().unwrap().clone(),
        None,
        None,
    ));
    b.start(since(), false).await.unwrap();
    let done = finished(&b).await;
    assert_eq!(done.state, State::Done, "{done:?}");
    let orders = sim.shop().with(|s| s.orders.len()) as u64;
    assert_eq!(
        (done.orders_total, done.orders_counted),
        (Some(orders), orders)
    );
    assert_eq!(done.unreadable, 0);
    assert!(
        done.lines_read > orders,
        "the lines came apart from their orders"
    );
    let backfilled = buckets(fresh.store()).await;
    assert!(
        backfilled == expected,
        "{:#?}",
        differ(&backfilled, &expected)
    );

    // The live path and the backfill agree, whichever comes first: counting live after the
    // backfill changes nothing either.
    count_live(&sim, fresh.store()).await;
    let after = buckets(fresh.store()).await;
    assert!(after == expected, "{:#?}", differ(&after, &expected));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_resumed_after_a_crash_counts_nothing_twice() {
    // Three chunks of orders.
    let sim = shop_with_history(450).await;
    let (live_dir, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let live = engine(&sim, live_dir.path()).await;
    count_live(&sim, live.store()).await;
    let expected = buckets(live.store()).await;

    let e = engine(&sim, dir.path()).await;
    let shopify = e.shopify().unwrap().clone();
    // Two chunks counted; the second one's progress never saved, as if the daemon died
    // between its counts and its progress.
    let mut first = Backfill::new(e.store().clone(), shopify.clone(), None, None);
    first.crash_after_chunks = Some(2);
    let first = Arc::new(first);
    first.start(since(), false).await.unwrap();
    first.wait().await;
    let stopped = Backfill::new(e.store().clone(), shopify.clone(), None, None);
    let stopped = stopped.progress().await.unwrap().unwrap();
    assert_eq!(stopped.state, State::Running);
    assert_eq!(stopped.orders_counted, 200, "{stopped:?}");
    assert_ne!(buckets(e.store()).await, expected, "stopped half way");

    // The next start goes on with the same bulk operation, from the last saved chunk.
    let next = Arc::new(Backfill::new(e.store().clone(), shopify, None, None));
    let resumed = next.resume(Some(since())).await.unwrap().unwrap();
    assert_eq!(resumed.bulk_operation, stopped.bulk_operation);
    let done = finished(&next).await;
    assert_eq!(done.state, State::Done, "{done:?}");
    assert_eq!(done.bulk_operation, stopped.bulk_operation);
    let resumed = buckets(e.store()).await;
    assert!(resumed == expected, "{:#?}", differ(&resumed, &expected));
    // Done is remembered: a later start is no go-live.
    assert!(next.resume(Some(since())).await.unwrap().is_none());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_gives_the_orders_flow_each_order_it_never_saw_once() {
    let sim = shop_with_history(60).await;
    let dir = tempfile::tempdir().unwrap();
    let e = engine(&sim, dir.path()).await;
    let orders: Vec<u64> = sim.shop().with(|s| s.orders.keys().copied().collect());
    // The orders flow already processed one order.
    OrderBook::default()
        .save(
            e.store(),
            orders[0],
            &OrderRecord {
                seen: 1,
                ..OrderRecord::default()
            },
        )
        .await
        .unwrap();
    let b = Arc::new(Backfill::new(
        e.store().clone(),
        e.shopify().unwrap().clone(),
        None,
        Some("orders".into()),
    ));
    b.start(since(), true).await.unwrap();
    let done = finished(&b).await;
    assert_eq!(done.state, State::Done, "{done:?}");
    assert_eq!(done.orders_delivered, orders.len() as u64 - 1);
    let filter = ItemFilter {
        flow: Some("orders".into()),
        ..ItemFilter::default()
    };
    let items = e.store().list(filter.clone(), None, 1000).await.unwrap();
    assert_eq!(items.len(), orders.len() - 1);
    assert!(items.iter().all(|i| i.kind == "orders/reconcile"));
    // Again: nothing more.
    b.start(since(), true).await.unwrap();
    assert_eq!(finished(&b).await.orders_delivered, 0);
    assert_eq!(
        e.store().list(filter, None, 1000).await.unwrap().len(),
        orders.len() - 1
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_backfill_runs_at_a_time() {
    let sim = shop_with_history(60).await;
    // Every request takes a while: the first backfill is still at its bulk query when the
    // second is asked for.
    sim.set_faults(Faults {
        latency: Duration::from_millis(300),
        ..Faults::none()
    });
    let dir = tempfile::tempdir().unwrap();
    let e = engine(&sim, dir.path()).await;
    let b = Arc::new(Backfill::new(
        e.store().clone(),
        e.shopify().unwrap().clone(),
        None,
        None,
    ));
    b.start(since(), false).await.unwrap();
    assert!(matches!(
        b.start(since(), false).await,
        Err(BackfillError::Running)
    ));
    assert!(matches!(
        b.start(since(), true).await,
        Err(BackfillError::Running | BackfillError::NoOrdersFlow)
    ));
    assert_eq!(finished(&b).await.state, State::Done);
    sim.shutdown().await;
}

/// Sales totals of a daemon's report over the shop's history, as the CLI prints them.
fn sales_totals(socket: &std::path::Path) -> serde_json::Value {
    let (code, out, err) = cli(
        socket,
        &[
            "report",
            "sales",
            "--format",
            "json",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
        ],
    );
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["totals"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_live_fills_the_first_report_and_the_cli_shows_a_backfill_to_its_end() {
    let sim = shop_with_history(60).await;
    let orders = sim
        .shop()
        .with(|s| s.orders.values().filter(|o| !o.test).count()) as u64;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "sim-token"
webhook_secrets = ["hook-secret"]
base_url = "{}"

[flows.orders]
enabled = true

[flows.reporting]
enabled = true
backfill = "2026-01-01"
"#,
            sim.base_url()
        ),
    );
    let socket = dir.path().join("data/xconnector.sock");
    let (daemon, _) = run_ready(&config);
    // Go-live: the daemon backfills on its own, and the first report has the history.
    daemon.wait_for_log("report backfill done");
    let totals = sales_totals(&socket);
    assert_eq!(totals[0]["orders"], orders, "{totals}");

    // On demand, from the CLI: progress on stderr (plain lines: not a terminal) to the end,
    // and nothing counted twice.
    let (code, _, err) = cli(
        &socket,
        &["report", "backfill", "--since", "2026-01-01", "--deliver"],
    );
    assert_eq!(code, 0, "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("done, {orders} orders counted")) || orders == 0,
        "{err}"
    );
    assert!(last.contains("given to the orders flow"), "{err}");
    assert_eq!(sales_totals(&socket), totals);
    // A bad since is refused, naming it.
    let (code, _, err) = cli(&socket, &["report", "backfill", "--since", "ninety"]);
    assert_ne!(code, 0);
    assert!(err.contains("since: \"ninety\""), "{err}");
    drop(daemon);
    sim.shutdown().await;
}
