//! Webhook intake over real HTTP into a real store: signatures (valid, wrong secret, missing,
//! tampered, rotated), Shopify's documented example payloads for every topic a flow consumes,
//! duplicates stored once, size limit, unreadable bodies kept as exceptions, unknown topics.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use xconnector::config::Registry;
use xconnector::config::Secret;
use xconnector::http::{AppState, router};
use xconnector::webhooks::WebhookIntake;
use xconnector_actors::item::{Item, ItemState};
use xconnector_actors::signature::shopify_signature;
use xconnector_actors::store::ItemFilter;
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

const SHOP: &str = "demo.myshopify.com";
const FLOWS: [&str; 5] = ["orders", "inventory", "customers", "products", "returns"];

struct Harness {
    addr: SocketAddr,
    _stop: tokio::sync::watch::Sender<bool>,
    ready: Arc<AtomicBool>,
    engine: Arc<Engine>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start() -> Harness {
    start_with(xconnector::webhooks::DEFAULT_BODY_MEMORY).await
}

/// The intake with `body_memory` bytes for bodies, served by the daemon's own listener.
async fn start_with(body_memory: usize) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: dir.path().join("data"),
        pruning: Default::default(),
        flows: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: None,
        endpoints: Vec::new(),
    })
    .await
    .unwrap();
    let engine = Arc::new(engine);
    let flows = Registry::standard().defaults(&FLOWS);
    let secrets = vec![
        Secret::new("current-secret"),
        Secret::new("previous-secret"),
    ];
    let webhooks = Arc::new(
        WebhookIntake::new(secrets, Some(SHOP.into()), &flows, engine.store().clone())
            .with_body_memory(body_memory),
    );
    let ready = Arc::new(AtomicBool::new(true));
    let app = router(AppState::new(engine.clone(), ready.clone(), webhooks));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let limits = xconnector::serve::Limits {
        header_timeout: std::time::Duration::from_secs(10),
        body_timeout: std::time::Duration::from_secs(60),
        max_connections: 1024,
    };
    tokio::spawn(xconnector::serve::serve(listener, app, limits, stopped));
    Harness {
        addr,
        _stop: stop,
        ready,
        engine,
        http: xconnector_actors::http_client::builder().build().unwrap(),
        _dir: dir,
    }
}

impl Harness {
    async fn post(
        &self,
        topic: &str,
        body: &[u8],
        secret: Option<&str>,
        webhook_id: &str,
    ) -> (u16, String) {
        let mut req = self
            .http
            .post(format!("http://{}/webhooks/shopify", self.addr))
            .header("content-type", "application/json")
            .header("x-shopify-topic", topic)
            .header("x-shopify-shop-domain", SHOP)
            .header("x-shopify-api-version", "2026-07")
            .header("x-shopify-webhook-id", webhook_id)
            .header("x-shopify-event-id", format!("ev-{webhook_id}"))
            .header("x-shopify-triggered-at", "2026-11-27T10:00:00Z")
            .body(body.to_vec());
        if let Some(secret) = secret {
            req = req.header("x-shopify-hmac-sha256", shopify_signature(secret, body));
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn items(&self) -> Vec<Item> {
        self.engine
            .store()
            .list(ItemFilter::default(), None, usize::MAX)
            .await
            .unwrap()
    }

    async fn metrics(&self) -> String {
        self.http
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

fn fixture(topic: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/shopify/webhooks-2026-07")
        .join(format!("{topic}.json"));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    serde_json::to_vec(&doc["response"]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_payload_a_flow_consumes_is_stored_for_its_flow() {
    let h = start().await;
    let (mut expected, mut duplicates, mut undocumented) = (0, 0, 0);
    let topics = Registry::standard().topics();
    // Topics Shopify publishes no example payload for (SHOPIFY-FLOWS §1).
    const UNDOCUMENTED: &[&str] = &[
        "customers/enable",
        "customers/disable",
        "customers/merge",
        "customers_email_marketing_consent/update",
        "customers_marketing_consent/update",
        "returns/cancel",
        "returns/reopen",
        "returns/update",
    ];
    for (topic, flow) in &topics {
        if UNDOCUMENTED.contains(topic) {
            undocumented += 1;
            continue;
        }
        let body = fixture(topic);
        let (status, text) = h
            .post(topic, &body, Some("current-secret"), &format!("wh-{topic}"))
            .await;
        assert_eq!(status, 200, "{topic}");
        if text == "duplicate\n" {
            // The documented order payloads are all one version of one order, and the
            // customer ones of one customer: stored once.
            assert!(
                topic.starts_with("orders/")
                    || topic.starts_with("customers/")
                    || topic.starts_with("products/"),
                "{topic}"
            );
            duplicates += 1;
            continue;
        }
        expected += 1;
        let items = h.items().await;
        assert_eq!(items.len(), expected, "{topic}: {text:?}");
        let item = items.iter().find(|i| i.kind == *topic).unwrap();
        assert_eq!(item.flow, *flow, "{topic}");
        assert_eq!(item.state, ItemState::Pending);
        let (_, payload) = h.engine.store().get(item.id).await.unwrap().unwrap();
        assert_eq!(payload, body, "{topic}: the raw body is kept byte for byte");
    }
    let orders = h
        .items()
        .await
        .into_iter()
        .find(|i| i.kind == "orders/create")
        .unwrap();
    assert_eq!(orders.key, "#9999", "orders are found by their name");
    let m = h.metrics().await;
    assert!(
        m.contains(&format!(
            "xconnector_webhooks_total{{outcome=\"accepted\"}} {}\nxconnector_webhooks_total{{outcome=\"duplicate\"}} {duplicates}",
            topics.len() - duplicates - undocumented
        )),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_before_anything_is_stored() {
    let h = start().await;
    let body = fixture("orders/create");
    assert_eq!(
        h.post("orders/create", &body, Some("wrong-secret"), "a")
            .await
            .0,
        401
    );
    assert_eq!(h.post("orders/create", &body, None, "b").await.0, 401);
    // Signed, then tampered with in transit.
    let signature = shopify_signature("current-secret", &body);
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let resp = h
        .http
        .post(format!("http://{}/webhooks/shopify", h.addr))
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-shop-domain", SHOP)
        .header("x-shopify-webhook-id", "c")
        .header("x-shopify-hmac-sha256", signature)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(
        h.items().await.is_empty(),
        "nothing stored for a rejected delivery"
    );
    // During a rotation the previous secret is still accepted.
    assert_eq!(
        h.post("orders/create", &body, Some("previous-secret"), "d")
            .await
            .0,
        200
    );
    assert_eq!(h.items().await.len(), 1);
    let m = h.metrics().await;
    assert!(
        m.contains("xconnector_webhooks_total{outcome=\"rejected_signature\"} 3"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_is_acknowledged_and_stored_once() {
    let h = start().await;
    let body = fixture("orders/updated");
    assert_eq!(
        h.post(
            "orders/updated",
            &body,
            Some("current-secret"),
            "same-delivery"
        )
        .await,
        (200, "ok\n".into())
    );
    for _ in 0..2 {
        let again = h
            .post(
                "orders/updated",
                &body,
                Some("current-secret"),
                "same-delivery",
            )
            .await;
        assert_eq!(again, (200, "duplicate\n".into()));
    }
    assert_eq!(h.items().await.len(), 1);
    // Another webhook bringing the same version of the order (orders/paid and orders/updated
    // fire for one change) is the same work: one item per order version.
    assert_eq!(
        h.post(
            "orders/paid",
            &body,
            Some("current-secret"),
            "other-delivery"
        )
        .await,
        (200, "duplicate\n".into())
    );
    assert_eq!(h.items().await.len(), 1);
    // A newer version is new work.
    let mut newer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    newer["updated_at"] = "2030-01-01T00:00:00Z".into();
    let newer = serde_json::to_vec(&newer).unwrap();
    assert_eq!(
        h.post("orders/updated", &newer, Some("current-secret"), "third")
            .await
            .0,
        200
    );
    assert_eq!(h.items().await.len(), 2);
    // Other topics: another delivery of the same content is a new event.
    let level = fixture("inventory_levels/update");
    for id in ["c-1", "c-2"] {
        assert_eq!(
            h.post(
                "inventory_levels/update",
                &level,
                Some("current-secret"),
                id
            )
            .await
            .0,
            200
        );
    }
    assert_eq!(h.items().await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_oversized_unknown_and_foreign_deliveries() {
    let h = start().await;
    // Signed but not JSON: accepted so Shopify stops retrying, kept as an exception.
    let garbage = b"{\"id\": 1, \"name\": \"#10";
    assert_eq!(
        h.post("orders/create", garbage, Some("current-secret"), "g")
            .await
            .0,
        200
    );
    let items = h.items().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].state, ItemState::Exception);
    assert!(
        items[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("not valid JSON")
    );

    let huge = vec![b' '; xconnector::webhooks::MAX_BODY + 1];
    assert_eq!(
        h.post("orders/create", &huge, Some("current-secret"), "h")
            .await
            .0,
        413
    );

    let (status, text) = h
        .post("shop/update", b"{}", Some("current-secret"), "u")
        .await;
    assert_eq!((status, text.as_str()), (200, "ignored: unknown topic\n"));

    let body = fixture("orders/create");
    let resp = h
        .http
        .post(format!("http://{}/webhooks/shopify", h.addr))
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-shop-domain", "other.myshopify.com")
        .header("x-shopify-webhook-id", "f")
        .header(
            "x-shopify-hmac-sha256",
            shopify_signature("current-secret", &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(
        h.items().await.len(),
        1,
        "only the unreadable delivery was stored"
    );
    let m = h.metrics().await;
    for outcome in [
        "malformed\"} 1",
        "too_large\"} 1",
        "unknown_topic\"} 1",
        "rejected_shop\"} 1",
    ] {
        assert!(
            m.contains(&format!("xconnector_webhooks_total{{outcome=\"{outcome}")),
            "{outcome}: {m}"
        );
    }
}

/// A too-large body is answered 413 before it is read, as a response and not a reset, over
/// HTTP/1.1 and HTTP/2 alike; an unsigned one is refused without reading it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_before_the_body_is_read_are_answers_over_http1_and_http2() {
    let h = start().await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let huge = vec![b' '; xconnector::webhooks::MAX_BODY + 1];
    for (version, client) in [("HTTP/1.1", &h.http), ("HTTP/2", &h2)] {
        let post = |body: Vec<u8>, signed: bool| {
            let mut req = client
                .post(format!("http://{}/webhooks/shopify", h.addr))
                .header("x-shopify-topic", "orders/create")
                .header("x-shopify-shop-domain", SHOP)
                .body(body.clone());
            if signed {
                req = req.header(
                    "x-shopify-hmac-sha256",
                    shopify_signature("current-secret", &body),
                );
            }
            req.send()
        };
        let big = post(huge.clone(), true).await;
        assert_eq!(
            big.map(|r| r.status().as_u16())
                .map_err(|e| format!("{e:?}")),
            Ok(413),
            "{version}: a body over the limit"
        );
        let unsigned = post(vec![b' '; 2 << 20], false).await;
        assert_eq!(
            unsigned
                .map(|r| r.status().as_u16())
                .map_err(|e| format!("{e:?}")),
            Ok(401),
            "{version}: an unsigned body"
        );
    }
    let m = h.metrics().await;
    assert!(
        m.contains("xconnector_webhooks_total{outcome=\"too_large\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("xconnector_webhooks_total{outcome=\"rejected_signature\"} 2"),
        "{m}"
    );
    assert!(h.items().await.is_empty());
}

/// Bodies are read into a bounded budget: while large bodies hold the large share, another
/// large one is answered 503 (Shopify retries), and Shopify's small deliveries still go in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_in_flight_are_bounded_and_small_deliveries_keep_their_share() {
    use tokio::io::AsyncWriteExt;
    // 8 MiB: 2 MiB for small bodies, 6 MiB for large ones.
    let h = start_with(8 << 20).await;
    let large = 5 << 20;
    // A stranger holds a 5 MiB body open with its last byte unsent.
    let mut held = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let head = format!(
        "POST /webhooks/shopify HTTP/1.1\r\nhost: x\r\nx-shopify-topic: orders/create\r\n\
         x-shopify-hmac-sha256: {}\r\ncontent-length: {large}\r\n\r\n",
        shopify_signature("forged", b"x")
    );
    held.write_all(head.as_bytes()).await.unwrap();
    held.write_all(&vec![b' '; large - 1]).await.unwrap();
    // Once the daemon holds its memory, the next large body finds none.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let m = h.metrics().await;
        if m.contains(&format!("xconnector_webhook_body_bytes {large}")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the held body never counted: {m}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let body = vec![b' '; large];
    let (status, text) = h
        .post("orders/create", &body, Some("current-secret"), "big")
        .await;
    assert_eq!((status, text.as_str()), (503, "busy; retry\n"));
    let order = fixture("orders/create");
    let (status, _) = h
        .post("orders/create", &order, Some("current-secret"), "small")
        .await;
    assert_eq!(status, 200, "a small signed delivery is accepted meanwhile");
    // Released: the stranger's body is refused and its memory given back.
    held.write_all(b" ").await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !h
        .metrics()
        .await
        .contains("xconnector_webhook_body_bytes 0")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the memory was not given back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let m = h.metrics().await;
    assert!(
        m.contains("xconnector_webhooks_total{outcome=\"busy\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("xconnector_webhooks_total{outcome=\"rejected_signature\"} 1"),
        "{m}"
    );
    assert_eq!(
        h.items().await.len(),
        1,
        "only the small delivery was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_shop_delivers_with_duplicates_reordering_and_retries() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    use xconnector::sim::webhooks::{SenderConfig, WebhookSender};
    use xconnector_actors::retry::Backoff;

    let h = start().await;
    // Refused (503) until the daemon is ready: the sender must retry.
    h.ready.store(false, Ordering::SeqCst);
    let mut config = SenderConfig::new(
        format!("http://{}/webhooks/shopify", h.addr),
        "current-secret",
        SHOP,
    );
    config.duplicate_share = 1.0;
    config.reorder_share = 0.5;
    config.backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(100));
    config.max_attempts = 1000;
    let sender = WebhookSender::start(config).unwrap();
    for i in 0..20 {
        sender.send(
            "orders/create",
            &serde_json::json!({"id": i, "name": format!("#{}", 1000 + i)}),
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while sender.stats().retried == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no retry seen");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.ready.store(true, Ordering::SeqCst);
    while sender.stats().delivered < 40 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not delivered: {:?}",
            sender.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = sender.stats();
    assert_eq!(stats.duplicated, 20);
    assert!(stats.reordered > 0);
    assert_eq!(stats.given_up, 0);
    let mut keys: Vec<String> = h.items().await.into_iter().map(|i| i.key).collect();
    keys.sort();
    let want: Vec<String> = (0..20).map(|i| format!("#{}", 1000 + i)).collect();
    assert_eq!(keys, want, "every webhook stored exactly once");
    assert!(
        h.metrics()
            .await
            .contains("xconnector_webhooks_total{outcome=\"duplicate\"} 20")
    );
}
