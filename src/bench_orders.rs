//! `xconnector bench orders`: signed Shopify-sized `orders/create` webhooks at fixed offered
//! rates into the daemon's real HTTP intake (HMAC check, durable store, orders flow, canonical
//! transform) and out to one fast HTTP receiver; reports sustained orders/s and the latency
//! from posting the webhook to the receiver having the order, p50 and p99.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::json;
use xconnector_actors::endpoints::{BreakerSettings, EndpointKind, EndpointSpec, HttpSpec};
use xconnector_actors::flows::orders::OrdersFlow;
use xconnector_actors::flows::orders::record::OrderBook;
use xconnector_actors::flows::{FlowSettings, FlowSpec};
use xconnector_actors::signature::shopify_signature;
use xconnector_actors::{Engine, EngineConfig};

use crate::config::Secret;
use crate::http::{AppState, router};
use crate::webhooks::WebhookIntake;

const SECRET: &str = "bench-secret";
const SHOP: &str = "bench.myshopify.com";

/// When each order was posted, and what the receiver saw.
#[derive(Default)]
struct Clock {
    sent: HashMap<u64, Instant>,
    latencies: Vec<Duration>,
    last: Option<Instant>,
}

type Shared = Arc<Mutex<Clock>>;

pub async fn orders(rates: Vec<u32>, seconds: f64) -> anyhow::Result<()> {
    measure(rates, seconds, false).await.map(|_| ())
}

/// What one offered rate achieved.
pub struct RateFigure {
    pub rate: u32,
    pub delivered_per_s: f64,
    pub p99_ms: f64,
}

/// The benchmark in a store of its own, with or without the sales rollups counted
/// (`[flows.reporting]`); prints a line per rate and returns the figures.
pub async fn measure(
    rates: Vec<u32>,
    seconds: f64,
    count_reports: bool,
) -> anyhow::Result<Vec<RateFigure>> {
    let dir = std::env::temp_dir().join(format!(
        "xconnector-bench-orders-{}-{count_reports}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = run(&dir, rates, seconds, count_reports).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(
    dir: &std::path::Path,
    rates: Vec<u32>,
    seconds: f64,
    count_reports: bool,
) -> anyhow::Result<Vec<RateFigure>> {
    let clock: Shared = Arc::default();
    let receiver = start_receiver(clock.clone()).await?;
    let book = Arc::new(OrderBook::default());
    let flow = OrdersFlow {
        targets: vec!["erp".into()],
        rules: None,
        book,
        reconcile: None,
        count_reports,
    };
    let settings = FlowSettings {
        concurrency: 512,
        ..FlowSettings::default()
    };
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        endpoints: vec![EndpointSpec {
            name: "erp".into(),
            kind: EndpointKind::Http(HttpSpec {
                url: format!("http://{receiver}/erp"),
                headers: Vec::new(),
                signing_secret: None,
                timeout: Duration::from_secs(10),
            }),
            concurrency: 128,
            breaker: BreakerSettings::default(),
            max_attempts: 10,
            max_age: Duration::from_secs(3600),
        }],
        ..EngineConfig::new(dir, vec![FlowSpec::new("orders", settings, flow)])
    })
    .await?;
    let engine = Arc::new(engine);
    let intake = WebhookIntake::new(
        vec![Secret::new(SECRET)],
        Some(SHOP.into()),
        &crate::config::Registry::standard().defaults(&["orders"]),
        engine.store().clone(),
    );
    let app = router(AppState::new(
        engine.clone(),
        Arc::new(AtomicBool::new(true)),
        Arc::new(intake),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let daemon = listener.local_addr()?;
    // The daemon's own listener, with its default limits.
    let limits = crate::serve::Limits::from(&crate::config::ServerConfig::default());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(crate::serve::serve(listener, app, limits, stopped));
    let client = xconnector_actors::http_client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let sample = order_body(1, 0);
    println!(
        "orders benchmark: signed orders/create webhooks of {:.1} KiB → intake → store → orders flow{} → 1 HTTP receiver",
        sample.len() as f64 / 1024.0,
        if count_reports {
            " (counting report rollups)"
        } else {
            ""
        }
    );
    println!(
        "{:>8} {:>10} {:>12} {:>9} {:>9} {:>9}",
        "offered", "orders", "delivered/s", "p50 ms", "p99 ms", "max ms"
    );
    let mut next_id = 1u64;
    let mut figures = Vec::new();
    for rate in rates {
        let n = (f64::from(rate) * seconds).round().max(1.0) as u64;
        let bodies: Vec<(u64, Vec<u8>, String)> = (next_id..next_id + n)
            .map(|id| {
                let body = order_body(id, id);
                let sig = shopify_signature(SECRET, &body);
                (id, body, sig)
            })
            .collect();
        next_id += n;
        {
            let mut c = clock.lock().unwrap_or_else(|p| p.into_inner());
            c.sent.clear();
            c.latencies.clear();
            c.last = None;
        }
        let start = Instant::now();
        let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        let mut failed = 0u64;
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (id, body, sig)) in bodies.into_iter().enumerate() {
            let due = start + period.mul_f64(i as f64);
            tokio::time::sleep_until(due.into()).await;
            let (client, clock) = (client.clone(), clock.clone());
            tasks.spawn(async move {
                clock
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .sent
                    .insert(id, Instant::now());
                post_webhook(&client, daemon, id, body, sig).await
            });
            while let Some(done) = tasks.try_join_next() {
                if !matches!(done, Ok(true)) {
                    failed += 1;
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            if !matches!(done, Ok(true)) {
                failed += 1;
            }
        }
        // Wait for the tail to be delivered (or give up after a while).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = clock
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .latencies
                .len() as u64;
            if got + failed >= n || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let c = clock.lock().unwrap_or_else(|p| p.into_inner());
        let mut l = c.latencies.clone();
        l.sort();
        let q = |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let span = c
            .last
            .map_or(Duration::ZERO, |t| t.duration_since(start))
            .as_secs_f64()
            .max(1e-9);
        figures.push(RateFigure {
            rate,
            delivered_per_s: l.len() as f64 / span,
            p99_ms: q(0.99),
        });
        println!(
            "{:>6}/s {:>10} {:>12.0} {:>9.1} {:>9.1} {:>9.1}{}",
            rate,
            l.len(),
            l.len() as f64 / span,
            q(0.5),
            q(0.99),
            l.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            if failed > 0 {
                format!("  ({failed} webhooks refused)")
            } else {
                String::new()
            }
        );
    }
    let _ = engine.shutdown(Duration::from_secs(5)).await;
    Ok(figures)
}

async fn post_webhook(
    client: &reqwest::Client,
    daemon: SocketAddr,
    id: u64,
    body: Vec<u8>,
    sig: String,
) -> bool {
    client
        .post(format!("http://{daemon}/webhooks/shopify"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-shop-domain", SHOP)
        .header("x-shopify-webhook-id", format!("bench-{id}"))
        .header("x-shopify-hmac-sha256", sig)
        .body(body)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// The receiver: notes when each order arrives.
async fn start_receiver(clock: Shared) -> anyhow::Result<SocketAddr> {
    #[derive(serde::Deserialize)]
    struct Id {
        legacy_id: u64,
    }
    let app = Router::new()
        .route(
            "/erp",
            post(|State(clock): State<Shared>, body: Bytes| async move {
                let now = Instant::now();
                if let Ok(order) = serde_json::from_slice::<Id>(&body) {
                    let mut c = clock.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(sent) = c.sent.remove(&order.legacy_id) {
                        c.latencies.push(now.duration_since(sent));
                        c.last = Some(now);
                    }
                }
                "ok"
            }),
        )
        .with_state(clock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// A Shopify-sized `orders/create` payload (~16 KiB: 24 line items with their usual fields).
fn order_body(id: u64, seq: u64) -> Vec<u8> {
    let lines: Vec<serde_json::Value> = (0..24)
        .map(|n| {
            json!({
                "id": id * 100 + n, "admin_graphql_api_id": format!("gid://shopify/LineItem/{}", id * 100 + n),
                "sku": format!("SKU-{n:04}"), "title": "Organic cotton crew neck t-shirt", "variant_title": "Large / Forest green",
                "quantity": 1 + n % 3, "price": "24.00", "total_discount": "0.00",
                "variant_id": 40_000 + n, "product_id": 9_000 + n / 3, "requires_shipping": true, "grams": 180,
                "vendor": "Acme Apparel", "fulfillment_service": "manual", "taxable": true, "gift_card": false,
                "price_set": {"shop_money": {"amount": "24.00", "currency_code": "USD"}, "presentment_money": {"amount": "24.00", "currency_code": "USD"}},
                "tax_lines": [{"title": "State tax", "price": "1.98", "rate": 0.0825,
                    "price_set": {"shop_money": {"amount": "1.98", "currency_code": "USD"}, "presentment_money": {"amount": "1.98", "currency_code": "USD"}}}],
                "properties": [], "discount_allocations": [], "duties": []
            })
        })
        .collect();
    let address = json!({
        "name": "Bob Norman", "first_name": "Bob", "last_name": "Norman", "address1": "Chestnut Street 92",
        "address2": "", "city": "Louisville", "province": "Kentucky", "province_code": "KY", "zip": "40202",
        "country": "United States", "country_code": "US", "phone": "+1-555-555-5555", "company": null
    });
    let at = format!("2026-11-28T10:{:02}:{:02}Z", (seq / 60) % 60, seq % 60);
    serde_json::to_vec(&json!({
        "id": id, "admin_graphql_api_id": format!("gid://shopify/Order/{id}"), "name": format!("#{}", 1000 + id),
        "email": "bob.norman@example.com", "created_at": at, "updated_at": at, "cancelled_at": null, "cancel_reason": null,
        "processed_at": at, "source_name": "web", "total_line_items_price": "720.00",
        "currency": "USD", "subtotal_price": "720.00", "total_tax": "59.40", "total_discounts": "0.00",
        "total_price": "789.40", "total_outstanding": "0.00", "financial_status": "paid", "fulfillment_status": null,
        "total_shipping_price_set": {"shop_money": {"amount": "10.00", "currency_code": "USD"}},
        "customer": {"id": 115310627314723954u64, "email": "bob.norman@example.com", "first_name": "Bob", "last_name": "Norman"},
        "shipping_address": address, "billing_address": address, "line_items": lines,
        "shipping_lines": [{"title": "Standard", "code": "STD", "price": "10.00"}],
        "tags": "bench, wholesale", "note": "Leave at the back door, please.", "test": false
    }))
    .unwrap_or_default()
}
