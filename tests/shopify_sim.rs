//! The Shopify client actor and rate limiter against the simulated shop over real HTTP: faults
//! (5xx, 429 with Retry-After, dropped answers, timeouts) are retried to success within the
//! deadline or end in a typed error; a retried mutation reuses its idempotency key and applies
//! once; sustained concurrent load from several lanes is never throttled.

use std::time::Duration;

use xconnector::sim::{BucketConfig, Faults, SimConfig, Simulator};
use xconnector_actors::rate_limiter::Lane;
use xconnector_actors::retry::Backoff;
use xconnector_actors::shopify::gid::Gid;
use xconnector_actors::shopify::operations::inventory::{
    QuantityInput, QuantityName, SetQuantitiesInput,
};
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig, ShopifyError};
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

async fn sim(bucket: BucketConfig) -> Simulator {
    Simulator::start(
        SimConfig {
            bucket,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

async fn engine(
    sim: &Simulator,
    dir: &tempfile::TempDir,
    request_timeout: Duration,
    deadline: Duration,
) -> Engine {
    let mut cfg = ShopifyClientConfig::new(
        "demo.myshopify.com",
        sim.base_url(),
        "2026-10",
        AccessToken::new("sim-token"),
    );
    cfg.request_timeout = request_timeout;
    cfg.deadline = deadline;
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

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_5xx_429_and_dropped_answers_are_retried_to_success() {
    let sim = sim(BucketConfig::standard()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&sim, &dir, Duration::from_secs(2), Duration::from_secs(30)).await;
    let shopify = engine.shopify().unwrap().clone();
    sim.set_faults(Faults {
        error_5xx: 0.25,
        error_429: 0.15,
        retry_after_secs: 1,
        drop_connection: 0.15,
        ..Faults::none()
    });
    for _ in 0..12 {
        let locations = shopify
            .locations(Lane::Orders)
            .await
            .expect("retried to success");
        assert_eq!(locations.len(), 2);
    }
    let s = sim.stats();
    assert!(
        s.injected_5xx + s.injected_429 + s.dropped_connections > 0,
        "faults were injected: {s:?}"
    );
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_whose_answer_was_lost_is_retried_with_its_key_and_applied_once() {
    let sim = sim(BucketConfig::standard()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&sim, &dir, Duration::from_secs(2), Duration::from_secs(30)).await;
    let shopify = engine.shopify().unwrap().clone();
    let (item, location, before) = sim.shop().with(|shop| {
        let level = shop.inventory_levels.values().next().unwrap();
        (level.item_id, level.location_id, level.available)
    });
    // Every answer is lost (the change is applied, the client never hears it) until we stop it.
    sim.set_faults(Faults {
        drop_connection: 1.0,
        ..Faults::none()
    });
    let call = tokio::spawn(async move {
        let input = SetQuantitiesInput {
            name: QuantityName::Available,
            reason: "correction".into(),
            reference_document_uri: Some("xconnector://test/lost-answer".into()),
            quantities: vec![QuantityInput {
                inventory_item_id: Gid::new(item),
                location_id: Gid::new(location),
                quantity: before + 7,
                change_from_quantity: Some(before),
            }],
        };
        shopify
            .set_inventory(Lane::Customers, input, "item-4242")
            .await
    });
    until("a lost answer and a retry", || {
        sim.stats().dropped_connections >= 2
    })
    .await;
    sim.set_faults(Faults::none());
    call.await
        .unwrap()
        .expect("the retry succeeds: same key, stored result");
    let after = sim
        .shop()
        .with(|shop| shop.inventory_level(item, location).unwrap().available);
    assert_eq!(after, before + 7);
    assert_eq!(
        sim.stats().inventory_quantities_written,
        1,
        "applied once although sent several times"
    );
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_retried_and_a_missed_deadline_is_a_typed_error() {
    let sim = sim(BucketConfig::standard()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&sim, &dir, Duration::from_secs(1), Duration::from_secs(4)).await;
    let shopify = engine.shopify().unwrap().clone();
    // One answered call teaches the limiter the real bucket; until then it paces itself on a
    // small assumed one.
    shopify.locations(Lane::Orders).await.unwrap();
    sim.set_faults(Faults {
        latency: Duration::from_secs(5),
        ..Faults::none()
    });
    match shopify.locations(Lane::Orders).await {
        Err(e @ ShopifyError::DeadlineExceeded { attempts, .. }) => {
            assert!(attempts >= 2, "timed-out attempts are retried: {e}");
            assert!(e.is_transient(), "{e}");
        }
        other => panic!("expected DeadlineExceeded, got {other:?}"),
    }
    let slow = shopify.clone();
    let call = tokio::spawn(async move { slow.locations(Lane::Orders).await });
    let before = sim.stats().requests;
    until("a timed-out attempt and its retry", || {
        sim.stats().requests > before + 1
    })
    .await;
    sim.set_faults(Faults::none());
    assert_eq!(
        call.await
            .unwrap()
            .expect("succeeds once the latency is gone")
            .len(),
        2
    );
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sustained_load_from_several_lanes_is_never_throttled() {
    // A Standard bucket on a clock 20× fast: 10 s of real time are 200 s of Shopify's.
    let sim = sim(BucketConfig {
        clock_scale: 20.0,
        ..BucketConfig::standard()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&sim, &dir, Duration::from_secs(5), Duration::from_secs(60)).await;
    let shopify = engine.shopify().unwrap().clone();
    let end = tokio::time::Instant::now() + Duration::from_secs(4);
    let mut tasks = Vec::new();
    for lane in [
        Lane::Orders,
        Lane::Orders,
        Lane::Customers,
        Lane::Products,
        Lane::Reporting,
    ] {
        let shopify = shopify.clone();
        tasks.push(tokio::spawn(async move {
            let mut calls = 0;
            while tokio::time::Instant::now() < end {
                shopify
                    .orders_updated_since(lane, "2020-01-01T00:00:00Z", None, 2)
                    .await
                    .expect("no call fails");
                calls += 1;
            }
            calls
        }));
    }
    let mut calls = 0;
    for t in tasks {
        calls += t.await.unwrap();
    }
    let s = sim.stats();
    assert!(
        calls > 20 && s.points_requested > 4_000,
        "the load was real: {calls} calls, {s:?}"
    );
    assert_eq!(s.throttled, 0, "never throttled: {s:?}");
    let limiter = shopify.rate_limiter().stats().await.unwrap();
    assert_eq!(limiter.throttled, 0);
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_learn_the_shops_day_from_its_time_zone() {
    use xconnector_actors::flows::reporting::live::Reporting;
    use xconnector_actors::flows::reporting::module::ReportingConfig;

    let sim = sim(BucketConfig::standard()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&sim, &dir, Duration::from_secs(2), Duration::from_secs(30)).await;
    let shopify = engine.shopify().unwrap().clone();
    let zone = shopify.shop_time(Lane::Reporting).await.unwrap();
    // The simulated shop is in New York, in winter.
    assert_eq!(
        (zone.iana_timezone.as_str(), zone.timezone_offset_minutes),
        ("America/New_York", -300)
    );
    let reporting = std::sync::Arc::new(Reporting::new(ReportingConfig::default()));
    assert_eq!(
        reporting.offset_minutes(),
        None,
        "UTC's days until Shopify tells"
    );
    let keeping = tokio::spawn(reporting.clone().keep_time(shopify));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while reporting.offset_minutes().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the shop's time zone never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reporting.offset_minutes(), Some(-300));
    keeping.abort();
}
