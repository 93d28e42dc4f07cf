//! Conservation under crashes: the shop streams signed order webhooks and the back office
//! streams inventory feeds while the daemon is killed with SIGKILL at moments picked from a
//! seeded random count of acknowledgements, restarted each time, and finally stopped with
//! SIGTERM under load. Afterwards every request that got a 2xx must have reached its
//! destination or an operator's exception queue, counted at the receivers by idempotency key
//! (orders) and at the simulated shop (stock levels): zero lost. Duplicates at the receivers
//! are counted and reported; they may come only from items in flight at a crash.
//!
//! `XC_SOAK=N` multiplies the load and the kills for a longer run by hand.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::rig::*;
use xconnector::sim::traffic::OrderKind;

const ORDERS: usize = 1_000;
const FEEDS: usize = 4_000;
const POSTERS: usize = 2;
const KILLS: usize = 5;
/// `[flows.orders] concurrency`: the most order items one crash can catch in flight.
const ORDER_CONCURRENCY: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_sigterm_under_load_lose_nothing_acknowledged() {
    let soak: usize = std::env::var("XC_SOAK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rig = Rig::start(RigOptions {
        webhook_url: Some(format!("http://127.0.0.1:{port}/webhooks/shopify")),
        duplicate_share: 0.1,
        reorder_share: 0.1,
        stock_skus: 400,
        record_acks: true,
    })
    .await;
    let config = daemon_config(
        dir.path(),
        port,
        &rig,
        "1h",
        "[flows.inventory]\nlinger = \"20ms\"\n\n[daemon]\nshutdown_grace = \"30s\"\n",
    );
    let config_text = std::fs::read_to_string(&config).unwrap().replace(
        "[flows.orders]\n",
        &format!("[flows.orders]\nconcurrency = {ORDER_CONCURRENCY}\n"),
    );
    std::fs::write(&config, config_text).unwrap();
    let mut daemon = start_daemon(&config);

    // The load: orders at a steady pace, and feeds from two back-office systems.
    let feeds = Arc::new(FeedLog::default());
    let locations = rig.locations();
    let half = rig.stock.len() / POSTERS;
    let posters: Vec<_> = (0..POSTERS)
        .map(|i| {
            tokio::spawn(post_feeds(
                port,
                rig.stock[i * half..(i + 1) * half].to_vec(),
                locations.clone(),
                FEEDS * soak / POSTERS,
                i as u64 + 1,
                feeds.clone(),
            ))
        })
        .collect();
    let mut traffic = rig.traffic(21, 0.1);
    let mut placed = Vec::new();

    let sender = rig.sender.clone().unwrap();
    // The crashes and the final SIGTERM fall at seeded random points of the order stream, so
    // they are spread over the whole run while feeds flow beside it.
    let total = ORDERS * soak;
    let mut rng = fastrand::Rng::with_seed(1234);
    let mut points: Vec<usize> = (0..=KILLS * soak)
        .map(|_| rng.usize(50..total - 50))
        .collect();
    points.sort_unstable();
    let mut points = points.into_iter().peekable();
    let mut kills = 0;
    let mut terminated = false;
    while placed.len() < total || posters.iter().any(|p| !p.is_finished()) {
        if placed.len() < total {
            placed.extend(place(&rig, &mut traffic, 2));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        if points.next_if(|p| placed.len() >= *p).is_none() {
            continue;
        }
        if kills < KILLS * soak {
            daemon.signal("KILL");
            assert!(!daemon.wait_exit().success());
            kills += 1;
        } else {
            // Graceful shutdown under load: in-flight work finishes within the grace period.
            daemon.signal("TERM");
            let status = daemon.wait_exit();
            assert!(status.success(), "SIGTERM: {status}\n{}", daemon.all_logs());
            assert!(
                daemon.all_logs().contains("all in-flight work finished"),
                "not drained within the grace period:\n{}",
                daemon.all_logs()
            );
            terminated = true;
        }
        daemon = start_daemon(&config);
    }
    assert_eq!(kills, KILLS * soak, "the load ended before every crash");
    assert!(terminated, "the load ended before the SIGTERM");

    // The shop keeps sending (its pump and retries lag the placing): wait until every placed
    // order has an acknowledged webhook, which is what the daemon must then account for.
    let kinds: BTreeMap<String, OrderKind> =
        placed.iter().map(|p| (p.name.clone(), p.kind)).collect();
    let (order_hooks, acked_orders) =
        until("every placed order's webhook to be acknowledged", || {
            let order_hooks: Vec<_> = sender
                .acknowledged()
                .into_iter()
                .filter(|a| a.topic.starts_with("orders/"))
                .collect();
            let acked: BTreeMap<String, OrderKind> = order_hooks
                .iter()
                .filter_map(|a| {
                    let v: serde_json::Value = serde_json::from_slice(&a.body).ok()?;
                    let name = v["name"].as_str()?.to_string();
                    let kind = *kinds.get(&name)?;
                    Some((name, kind))
                })
                .collect();
            let stats = sender.stats();
            assert_eq!(
                stats.given_up, 0,
                "the shop gave up on a webhook: {stats:?}"
            );
            let done = acked.len() == kinds.len();
            async move { done.then_some((order_hooks, acked)) }
        })
        .await;
    let stats = sender.stats();

    let expected = feeds.expected();
    conserved(&rig, &config, &acked_orders, &expected).await;
    // Stragglers (retries of duplicates) land before counting.
    quiescent(&rig, &config).await;

    let mut duplicates = 0;
    let mut delivered = 0;
    for endpoint in ["erp", "wms", "support", "finance", "risk", "purchasing"] {
        for n in rig.office.count_by_key(endpoint).values() {
            delivered += 1;
            duplicates += n - 1;
        }
    }
    // Every duplicate is an item caught in flight by one of the crashes.
    let bound = kills * ORDER_CONCURRENCY * 2;
    assert!(
        duplicates <= bound,
        "{duplicates} duplicate deliveries; at most {bound} items can be in flight at the crashes"
    );
    let requests = stats.delivered + feeds.acked.load(Ordering::Relaxed);
    println!(
        "conservation: {requests} requests acknowledged ({} order webhooks for {} orders, {} \
         other webhooks, {} feeds with {} levels), {delivered} order deliveries and exceptions \
         at the back office, {} stock levels exact in the shop, lost 0, duplicates \
         {duplicates}, SIGKILLs survived {kills}, SIGTERM under load 1, webhook retries {}, \
         feed retries {}",
        order_hooks.len(),
        placed.len(),
        stats.delivered - order_hooks.len() as u64,
        feeds.acked.load(Ordering::Relaxed),
        feeds.acked.load(Ordering::Relaxed) * LEVELS_PER_FEED as u64,
        expected.len(),
        stats.retried,
        feeds.refused.load(Ordering::Relaxed),
    );
    assert!(requests >= 5_000, "only {requests} requests acknowledged");
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success());
}
