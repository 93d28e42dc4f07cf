//! Liveness after faults: while orders and stock feeds keep coming, the WMS is first
//! unreachable (connection refused), then answers 503, then answers slowly, and the simulated
//! Shopify throws 5xx, 429 and THROTTLED. Once the faults stop, the backlog must drain to
//! zero and new work must flow, in the same daemon process, with nothing lost.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::rig::*;
use serde_json::Value;
use xconnector::sim::backoffice::{BackOffice, Mode};
use xconnector::sim::faults::Faults;
use xconnector::sim::traffic::OrderKind;
use xconnector::sim::{BucketConfig, SimStats};

fn status(config: &Path) -> Value {
    common::status_json(config)
}

/// Items still to do (pending, retrying, in flight) over all flows.
fn backlog(status: &Value) -> u64 {
    ["pending", "retrying", "in_flight"]
        .iter()
        .map(|s| status["totals"][s].as_u64().unwrap_or(0))
        .sum()
}

fn endpoint<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["endpoints"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["name"] == name))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_endpoint_and_shopify_faults_the_backlog_drains_and_new_work_flows() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rig = Rig::start(RigOptions {
        stock_skus: 100,
        ..RigOptions::webhooks_to(format!("http://127.0.0.1:{port}/webhooks/shopify"))
    })
    .await;
    // The WMS has an address of its own, where nothing listens yet.
    let wms_port = free_port();
    let config = daemon_config(
        dir.path(),
        port,
        &rig,
        "1h",
        "[flows.inventory]\nlinger = \"20ms\"\n",
    );
    // Short cool-downs: the breaker opens and probes several times within the test.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("url = \"{}\"", rig.office.url("wms")),
        &format!(
            "url = \"http://127.0.0.1:{wms_port}/wms\"\nbreaker_cooldown = \"200ms\"\n\
             breaker_cooldown_max = \"2s\""
        ),
    );
    std::fs::write(&config, text).unwrap();
    let mut daemon = start_daemon(&config);
    let pid = daemon.child.id();
    let mut traffic = rig.traffic(31, 0.1);
    let feeds = Arc::new(FeedLog::default());
    let locations = rig.locations();
    let feed = |n: usize, seed: u64| {
        tokio::spawn(post_feeds(
            port,
            rig.stock.clone(),
            locations.clone(),
            n,
            seed,
            feeds.clone(),
        ))
    };

    // 1. The WMS refuses connections.
    let mut placed = place(&rig, &mut traffic, 60);
    until("the WMS to be seen failing", || async {
        let s = status(&config);
        (endpoint(&s, "wms")["failed"].as_u64() > Some(0)).then_some(())
    })
    .await;
    let refused_connections = endpoint(&status(&config), "wms")["failed"]
        .as_u64()
        .unwrap_or(0);

    // 2. It answers 503.
    let wms = BackOffice::start(format!("127.0.0.1:{wms_port}").parse().unwrap())
        .await
        .unwrap();
    wms.set_mode("wms", Mode::Fail(503));
    rig.move_endpoint("wms", wms.clone());
    placed.extend(place(&rig, &mut traffic, 60));
    until("the WMS to answer 503 to the breaker's probes", || async {
        (wms.refused("wms") >= 3).then_some(())
    })
    .await;

    // 3. It answers slowly, and Shopify fails: 5xx, 429, and a bucket far smaller than the
    //    daemon has learnt, so that its requests come back THROTTLED until it relearns.
    wms.set_mode("wms", Mode::Slow(Duration::from_millis(300)));
    let before = rig.sim.stats();
    rig.sim.set_faults(Faults {
        error_5xx: 0.2,
        error_429: 0.2,
        retry_after_secs: 1,
        ..Faults::none()
    });
    rig.sim.set_bucket(BucketConfig {
        maximum_available: 200.0,
        restore_rate: 100.0,
        clock_scale: 1.0,
    });
    let feeding = feed(100, 7);
    placed.extend(place(&rig, &mut traffic, 60));
    let injected = |s: &SimStats| {
        (
            s.injected_5xx - before.injected_5xx,
            s.injected_429 - before.injected_429,
            s.throttled - before.throttled,
        )
    };
    until(
        "Shopify's faults to be felt and the slow WMS to take orders",
        || async {
            let (e5, e4, th) = injected(&rig.sim.stats());
            (e5 > 0 && e4 > 0 && th > 0 && !wms.received("wms").is_empty()).then_some(())
        },
    )
    .await;
    feeding.await.unwrap();

    // The faults stop.
    let faults = injected(&rig.sim.stats());
    let wms_503 = wms.refused("wms");
    rig.sim.set_faults(Faults::none());
    rig.sim.set_bucket(BucketConfig {
        maximum_available: 100_000.0,
        restore_rate: 50_000.0,
        clock_scale: 1.0,
    });
    wms.set_mode("wms", Mode::Accept);

    // The backlog drains, without a restart.
    let kinds = |placed: &[Placed]| -> BTreeMap<String, OrderKind> {
        placed.iter().map(|p| (p.name.clone(), p.kind)).collect()
    };
    let drained = {
        let deadline = std::time::Instant::now() + common::DEADLINE * 3;
        loop {
            let s = status(&config);
            if backlog(&s) == 0 {
                break s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the backlog did not drain: {}",
                s["totals"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    conserved(&rig, &config, &kinds(&placed), &feeds.expected()).await;

    // New work flows.
    let fresh = place(&rig, &mut traffic, 20);
    feed(20, 8).await.unwrap();
    let fresh_kinds = kinds(&fresh);
    let mut all = kinds(&placed);
    all.extend(fresh_kinds);
    until("new orders to reach the WMS", || async {
        fresh
            .iter()
            .filter(|p| p.kind == OrderKind::Good)
            .all(|p| received(&wms, "wms").contains_key(&p.name))
            .then_some(())
    })
    .await;
    conserved(&rig, &config, &all, &feeds.expected()).await;

    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the daemon exited"
    );
    assert_eq!(daemon.child.id(), pid);
    let restarts: u64 = drained["restarts"]
        .as_object()
        .map_or(0, |r| r.values().filter_map(Value::as_u64).sum());
    assert_eq!(restarts, 0, "an actor restarted: {}", drained["restarts"]);
    println!(
        "faults: WMS connection refused {refused_connections}×, 503 {wms_503}×, slow 300 ms; \
         Shopify 5xx {}×, 429 {}×, THROTTLED {}×; {} orders and {} feeds ({} levels) \
         acknowledged, all delivered; backlog drained to 0 without a restart",
        faults.0,
        faults.1,
        faults.2,
        all.len(),
        feeds.acked.load(Ordering::Relaxed),
        feeds.acked.load(Ordering::Relaxed) * LEVELS_PER_FEED as u64,
    );
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success());
}
