//! On start the daemon makes sure the shop sends the topics its flows need: missing webhook
//! subscriptions are created through the Admin API, existing ones are left alone.

use std::time::Duration;

use xconnector::sim::{SimConfig, Simulator};
use xconnector::webhooks::ensure_subscriptions;
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig};
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_subscriptions_are_created_once() {
    let sim = Simulator::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = ShopifyClientConfig::new(
        "demo.myshopify.com",
        sim.base_url(),
        "2026-10",
        AccessToken::new("sim-token"),
    );
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: dir.path().join("data"),
        pruning: Default::default(),
        flows: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: Some(client),
        endpoints: Vec::new(),
    })
    .await
    .unwrap();
    let shopify = engine.shopify().unwrap();
    let address = "http://127.0.0.1:8080/webhooks/shopify";
    let topics = [
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "orders/paid",
    ];
    assert_eq!(
        ensure_subscriptions(shopify, &topics, address)
            .await
            .unwrap(),
        (4, 0)
    );
    assert_eq!(
        ensure_subscriptions(shopify, &topics, address)
            .await
            .unwrap(),
        (0, 4),
        "a restart creates nothing twice"
    );
    let in_shop: Vec<String> = sim.shop().with(|shop| {
        shop.subscriptions_for("orders/paid")
            .map(|s| s.uri.clone())
            .collect()
    });
    assert_eq!(in_shop, [address]);
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}
