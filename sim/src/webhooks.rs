//! The simulated shop's webhook delivery, as Shopify does it: a JSON body in the REST shape,
//! signed with the app secret (`X-Shopify-Hmac-Sha256`), the real header set, retries with
//! backoff on anything but 2xx, and on request the untidiness real deliveries have:
//! duplicates (the same `X-Shopify-Webhook-Id` twice) and reordering.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};
use tracing::{debug, warn};
use xconnector_actors::retry::Backoff;

use xconnector_actors::signature::shopify_signature;

#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Where [`WebhookSender::send`] POSTs (the daemon's `/webhooks/shopify`);
    /// [`WebhookSender::send_to`] names the URL per delivery instead.
    pub url: String,
    pub secret: String,
    pub shop_domain: String,
    pub api_version: String,
    pub duplicate_share: f64,
    pub reorder_share: f64,
    pub seed: u64,
    /// Shopify retries a failed delivery 8 times over 4 hours; the simulator keeps the count
    /// and shortens the waits.
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// Keep every acknowledged delivery for [`WebhookSender::acknowledged`] (tests only: it
    /// grows without bound).
    pub record_acks: bool,
}

impl SenderConfig {
    pub fn new(
        url: impl Into<String>,
        secret: impl Into<String>,
        shop_domain: impl Into<String>,
    ) -> SenderConfig {
        SenderConfig {
            url: url.into(),
            secret: secret.into(),
            shop_domain: shop_domain.into(),
            api_version: "2026-07".into(),
            duplicate_share: 0.0,
            reorder_share: 0.0,
            seed: 1,
            max_attempts: 9,
            backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(30)),
            record_acks: false,
        }
    }
}

/// What the sender did, for tests and the demo screen.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SenderStats {
    /// Webhooks handed to the sender.
    pub queued: u64,
    /// Deliveries answered 2xx (duplicates count once per copy).
    pub delivered: u64,
    pub duplicated: u64,
    pub reordered: u64,
    /// Attempts that failed (non-2xx or no answer) and were retried.
    pub retried: u64,
    /// Deliveries given up after `max_attempts`.
    pub given_up: u64,
    /// Held back while delivery was switched off.
    pub suppressed: u64,
}

impl SenderStats {
    /// Every copy handed to the sender (each webhook, and each duplicate of one) was answered
    /// 2xx or given up: nothing more is on its way.
    pub fn settled(&self) -> bool {
        self.delivered + self.given_up >= self.queued + self.duplicated
    }
}

/// A delivery the receiver answered 2xx.
#[derive(Debug, Clone)]
pub struct Acked {
    pub topic: String,
    pub webhook_id: String,
    pub body: Arc<Vec<u8>>,
}

#[derive(Default)]
struct Counters {
    acked: std::sync::Mutex<Vec<Acked>>,
    queued: AtomicU64,
    delivered: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    retried: AtomicU64,
    given_up: AtomicU64,
    suppressed: AtomicU64,
}

/// One webhook handed to the sender: (URL, topic, body).
type Queued = (String, String, Vec<u8>);

#[derive(Clone)]
pub struct WebhookSender {
    tx: mpsc::UnboundedSender<Queued>,
    default_url: String,
    counters: Arc<Counters>,
    enabled: Arc<AtomicBool>,
}

/// At most this many deliveries in flight at once, like a real sender's connection pool.
const IN_FLIGHT: usize = 32;

/// The longest a reordered delivery is held back waiting for the next one.
const HOLD_AT_MOST: Duration = Duration::from_millis(200);

impl WebhookSender {
    /// Starts the delivery task on the current tokio runtime.
    pub fn start(config: SenderConfig) -> anyhow::Result<WebhookSender> {
        let (tx, rx) = mpsc::unbounded_channel();
        let default_url = config.url.clone();
        let counters = Arc::new(Counters::default());
        let enabled = Arc::new(AtomicBool::new(true));
        let http = xconnector_actors::http_client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(5))
            .build()?;
        tokio::spawn(run(config, rx, http, counters.clone(), enabled.clone()));
        Ok(WebhookSender {
            tx,
            default_url,
            counters,
            enabled,
        })
    }

    /// Queues one webhook to the configured URL: `topic` like `orders/create`, `payload` in
    /// the REST shape.
    pub fn send(&self, topic: &str, payload: &serde_json::Value) {
        let url = self.default_url.clone();
        self.send_to(&url, topic, payload);
    }

    /// Queues one webhook to `url` (a subscription's URI). Same signing, retries, duplicates
    /// and reordering as [`WebhookSender::send`].
    pub fn send_to(&self, url: &str, topic: &str, payload: &serde_json::Value) {
        let body = serde_json::to_vec(payload).unwrap_or_default();
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        let _ = self.tx.send((url.to_string(), topic.to_string(), body));
    }

    /// Switches delivery off (webhooks are dropped, as when Shopify fails to deliver) or on.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
    }

    /// Every delivery answered 2xx so far (each copy of a duplicate), if `record_acks`.
    pub fn acknowledged(&self) -> Vec<Acked> {
        self.counters
            .acked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn stats(&self) -> SenderStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SenderStats {
            queued: get(&c.queued),
            delivered: get(&c.delivered),
            duplicated: get(&c.duplicated),
            reordered: get(&c.reordered),
            retried: get(&c.retried),
            given_up: get(&c.given_up),
            suppressed: get(&c.suppressed),
        }
    }
}

/// One delivery: its headers are fixed once, so a retry or a duplicate is the same delivery.
struct Delivery {
    url: String,
    topic: String,
    body: Arc<Vec<u8>>,
    webhook_id: String,
    event_id: String,
    triggered_at: String,
}

async fn run(
    config: SenderConfig,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    http: reqwest::Client,
    counters: Arc<Counters>,
    enabled: Arc<AtomicBool>,
) {
    let config = Arc::new(config);
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut held: Option<Delivery> = None;
    loop {
        // A held-back delivery goes out after the next one, or after a short while if none
        // comes: Shopify delays and reorders, it does not sit on a webhook for ever.
        let next = match held.take() {
            Some(h) => match tokio::time::timeout(HOLD_AT_MOST, rx.recv()).await {
                Ok(next) => {
                    held = Some(h);
                    next
                }
                Err(_) => {
                    dispatch(h, &mut rng, &config, &slots, &http, &counters).await;
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some((url, topic, body)) = next else {
            return;
        };
        if !enabled.load(Ordering::SeqCst) {
            counters.suppressed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let delivery = Delivery {
            url,
            topic,
            body: Arc::new(body),
            webhook_id: random_id(&mut rng),
            event_id: random_id(&mut rng),
            triggered_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        // Reordering: hold this one back and send it after the next.
        if held.is_none() && rng.f64() < config.reorder_share {
            counters.reordered.fetch_add(1, Ordering::Relaxed);
            held = Some(delivery);
            continue;
        }
        let mut batch = vec![delivery];
        batch.extend(held.take());
        for d in batch {
            dispatch(d, &mut rng, &config, &slots, &http, &counters).await;
        }
    }
}

/// Starts one delivery (two copies of it, for the duplicated share) once a slot is free.
async fn dispatch(
    d: Delivery,
    rng: &mut fastrand::Rng,
    config: &Arc<SenderConfig>,
    slots: &Arc<Semaphore>,
    http: &reqwest::Client,
    counters: &Arc<Counters>,
) {
    let copies = if rng.f64() < config.duplicate_share {
        counters.duplicated.fetch_add(1, Ordering::Relaxed);
        2
    } else {
        1
    };
    let d = Arc::new(d);
    for _ in 0..copies {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (http, config, counters, d) =
            (http.clone(), config.clone(), counters.clone(), d.clone());
        tokio::spawn(async move {
            deliver(&http, &config, &counters, &d).await;
            drop(permit);
        });
    }
}

async fn deliver(http: &reqwest::Client, config: &SenderConfig, counters: &Counters, d: &Delivery) {
    let signature = shopify_signature(&config.secret, &d.body);
    for attempt in 1..=config.max_attempts {
        let result = http
            .post(&d.url)
            .header("content-type", "application/json")
            .header("x-shopify-topic", &d.topic)
            .header("x-shopify-hmac-sha256", &signature)
            .header("x-shopify-shop-domain", &config.shop_domain)
            .header("x-shopify-api-version", &config.api_version)
            .header("x-shopify-webhook-id", &d.webhook_id)
            .header("x-shopify-event-id", &d.event_id)
            .header("x-shopify-triggered-at", &d.triggered_at)
            .body(d.body.to_vec())
            .send()
            .await;
        match result {
            Ok(resp) if resp.status().is_success() => {
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                if config.record_acks {
                    counters
                        .acked
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(Acked {
                            topic: d.topic.clone(),
                            webhook_id: d.webhook_id.clone(),
                            body: d.body.clone(),
                        });
                }
                debug!(topic = %d.topic, webhook = %d.webhook_id, "webhook delivered");
                return;
            }
            Ok(resp) => {
                debug!(topic = %d.topic, status = %resp.status(), attempt, "webhook refused")
            }
            Err(e) => debug!(topic = %d.topic, error = %e, attempt, "webhook not delivered"),
        }
        if attempt == config.max_attempts {
            break;
        }
        counters.retried.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(config.backoff.delay(attempt)).await;
    }
    counters.given_up.fetch_add(1, Ordering::Relaxed);
    warn!(topic = %d.topic, webhook = %d.webhook_id, attempts = config.max_attempts, "webhook delivery given up");
}

/// A UUID-shaped random id, like Shopify's webhook ids.
fn random_id(rng: &mut fastrand::Rng) -> String {
    let (a, b) = (rng.u64(..), rng.u64(..));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}
