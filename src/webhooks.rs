//! Shopify webhook intake (`POST /webhooks/shopify`). A delivery is verified as its body is
//! read (into memory bounded by [`BodyBudget`]) and before any of it is parsed, deduplicated on (shop, webhook id), stored durably as an item of the flow that
//! owns its topic, and only then acknowledged: a 200 means it survives `kill -9`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use tracing::{debug, error, info, warn};
use xconnector_actors::flows::module::{Flows, Topic, WebhookHead};
use xconnector_actors::item::NewItem;
use xconnector_actors::store::StoreHandle;
use xconnector_actors::telemetry::prometheus::{Exposition, Kind};

use crate::body_budget::{BodyBudget, BodyError, drain};
use crate::config::Secret;
use crate::refusals;
use xconnector_actors::signature;

/// Largest body accepted. Shopify's biggest payloads (orders with hundreds of lines) stay well
/// below; anything larger is not from Shopify.
pub const MAX_BODY: usize = 5 * 1024 * 1024;

/// How much of a refused delivery's body is read and dropped before the answer, so that the
/// sender sees the answer rather than a reset (it costs time, not memory).
const DRAIN: usize = 2 * MAX_BODY;

/// `[server] body_memory_mib`'s default, in bytes.
pub const DEFAULT_BODY_MEMORY: usize = 64 * 1024 * 1024;

/// Shopify gives up on a delivery after 5 s; answering 503 before that makes it retry rather
/// than count a timeout.
const STORE_WAIT: Duration = Duration::from_secs(4);

/// Where signed deliveries that no flow can take are kept for a person to look at.
pub const INTAKE_FLOW: &str = "intake";

pub struct WebhookIntake {
    secrets: Vec<Secret>,
    /// The shop this daemon serves; deliveries for another shop are refused.
    shop_domain: Option<String>,
    /// Topic → the enabled flow consuming it.
    routes: BTreeMap<&'static str, (&'static str, &'static Topic)>,
    /// The flows this build has, for telling an unknown topic from one whose flow is off.
    flows: Flows,
    store: StoreHandle,
    /// The memory bodies are read into before their signature is known.
    budget: BodyBudget,
    budget_bytes: usize,
    pub stats: IntakeStats,
}

/// Counters for `/metrics`; every delivery lands in exactly one of the outcome counters.
#[derive(Default)]
pub struct IntakeStats {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected_signature: AtomicU64,
    pub rejected_shop: AtomicU64,
    pub too_large: AtomicU64,
    pub bad_request: AtomicU64,
    pub malformed: AtomicU64,
    pub unknown_topic: AtomicU64,
    pub unrouted: AtomicU64,
    pub unavailable: AtomicU64,
    /// Refused with 503 for want of memory to read the body into ([`BodyBudget`]).
    pub busy: AtomicU64,
}

impl WebhookIntake {
    pub fn new(
        secrets: Vec<Secret>,
        shop_domain: Option<String>,
        flows: &Flows,
        store: StoreHandle,
    ) -> WebhookIntake {
        WebhookIntake {
            secrets,
            shop_domain,
            routes: flows.routes(),
            flows: flows.clone(),
            store,
            budget: BodyBudget::new(DEFAULT_BODY_MEMORY),
            budget_bytes: DEFAULT_BODY_MEMORY,
            stats: IntakeStats::default(),
        }
    }

    /// Reads bodies into at most `bytes` of memory at once (`[server] body_memory_mib`).
    pub fn with_body_memory(mut self, bytes: usize) -> WebhookIntake {
        self.budget = BodyBudget::new(bytes);
        self.budget_bytes = bytes;
        self
    }

    /// Topics the enabled flows need: the subscriptions the daemon makes sure exist.
    pub fn subscribed_topics(&self) -> Vec<&'static str> {
        self.routes.keys().copied().collect()
    }

    /// Handles one delivery; returns the status for Shopify and a short body.
    pub async fn receive(&self, headers: &HeaderMap, mut body: Body) -> (StatusCode, &'static str) {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let topic = header("x-shopify-topic").unwrap_or("");
        let shop = header("x-shopify-shop-domain")
            .or(self.shop_domain.as_deref())
            .unwrap_or("");

        // Authenticity first: a delivery without a signature is refused unread, and a signed
        // one is checked as its body streams in, before any of it is parsed or stored.
        let verifier = header("x-shopify-hmac-sha256")
            .and_then(|sig| signature::ShopifyVerifier::new(&self.secrets, sig));
        let Some(mut verifier) = verifier else {
            return match drain(&mut body, DRAIN).await {
                Err(e) => self.unreadable(e),
                Ok(()) => self.unsigned(shop, topic),
            };
        };
        let declared = header("content-length").and_then(|n| n.parse::<u64>().ok());
        let mut held = match self
            .budget
            .read(&mut body, declared, MAX_BODY, |piece| {
                verifier.update(piece)
            })
            .await
        {
            Ok(held) => held,
            Err(e @ (BodyError::TooLarge(_) | BodyError::Busy)) => {
                return match drain(&mut body, DRAIN).await {
                    Err(e) => self.unreadable(e),
                    Ok(()) => self.refused_unread(e, shop, topic),
                };
            }
            Err(e) => return self.unreadable(e),
        };
        if !verifier.verify() {
            return self.unsigned(shop, topic);
        }
        // The body moves on into the item; `held` keeps its memory counted until the store has
        // it.
        let body = std::mem::take(&mut held.bytes);
        if let Some(ours) = &self.shop_domain
            && !shop.eq_ignore_ascii_case(ours)
        {
            self.stats.rejected_shop.fetch_add(1, Ordering::Relaxed);
            debug!(%shop, %topic, expected = %ours, "webhook for another shop refused");
            refusals::refused("webhook for another shop refused", shop);
            return (StatusCode::UNAUTHORIZED, "unknown shop\n");
        }
        if topic.is_empty() {
            self.stats.bad_request.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::BAD_REQUEST, "missing X-Shopify-Topic\n");
        }
        let known = self.flows.is_known_topic(topic);
        let route = self.routes.get(topic).copied();
        if !known {
            self.stats.unknown_topic.fetch_add(1, Ordering::Relaxed);
            info!(%shop, %topic, "webhook for a topic no flow consumes; acknowledged and dropped");
            return (StatusCode::OK, "ignored: unknown topic\n");
        }
        // Only the few top-level fields the intake needs are kept; the parse still checks that
        // the whole body is JSON, without building a tree of a 20 KiB order.
        let parsed = match serde_json::from_slice::<WebhookHead>(&body) {
            // JSON, but not an object: nothing to name it by, still the flow's to judge.
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                Ok(WebhookHead::default())
            }
            other => other,
        };
        let Some((flow, route)) = route else {
            if parsed.is_ok() {
                self.stats.unrouted.fetch_add(1, Ordering::Relaxed);
                debug!(%shop, %topic, "webhook for a flow that is not enabled; acknowledged and dropped");
                return (StatusCode::OK, "ignored: flow not enabled\n");
            }
            return self
                .store(
                    NewItem::new(INTAKE_FLOW, topic, shop, body),
                    headers,
                    shop,
                    parsed.err(),
                )
                .await;
        };
        let key = parsed.as_ref().ok().map(business_key).unwrap_or_default();
        let mut item = NewItem::new(flow, topic, key, body);
        let version = route.version.zip(parsed.as_ref().ok());
        if let Some(version) = version.and_then(|(version, head)| version(head)) {
            item = item.dedupe(version);
        }
        self.store(item, headers, shop, parsed.err()).await
    }

    /// A body that did not arrive in time (408) or could not be read (400).
    fn unreadable(&self, e: BodyError) -> (StatusCode, &'static str) {
        self.stats.bad_request.fetch_add(1, Ordering::Relaxed);
        if let BodyError::TimedOut = e {
            debug!("webhook body too slow; refused");
            return (
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time\n",
            );
        }
        (StatusCode::BAD_REQUEST, "cannot read the body\n")
    }

    /// A delivery refused before its body was read: too large, or no memory for it now.
    fn refused_unread(&self, e: BodyError, shop: &str, topic: &str) -> (StatusCode, &'static str) {
        if let BodyError::Busy = e {
            self.stats.busy.fetch_add(1, Ordering::Relaxed);
            debug!(%shop, %topic, "no memory for another webhook body now; answered 503");
            refusals::refused(
                "webhook bodies in flight use all of [server] body_memory_mib; answered 503",
                "",
            );
            return (StatusCode::SERVICE_UNAVAILABLE, "busy; retry\n");
        }
        self.stats.too_large.fetch_add(1, Ordering::Relaxed);
        debug!(limit = MAX_BODY, "webhook body too large; refused");
        refusals::refused("webhook body too large; refused", "");
        (StatusCode::PAYLOAD_TOO_LARGE, "body too large\n")
    }

    /// A delivery with a missing or wrong signature: 401.
    fn unsigned(&self, shop: &str, topic: &str) -> (StatusCode, &'static str) {
        self.stats
            .rejected_signature
            .fetch_add(1, Ordering::Relaxed);
        debug!(%shop, %topic, secrets = self.secrets.len(), "webhook with a missing or wrong signature refused");
        refusals::refused("webhook with a missing or wrong signature refused", shop);
        (StatusCode::UNAUTHORIZED, "invalid signature\n")
    }

    async fn store(
        &self,
        item: NewItem,
        headers: &HeaderMap,
        shop: &str,
        malformed: Option<serde_json::Error>,
    ) -> (StatusCode, &'static str) {
        let topic = item.kind.clone();
        let delivery = headers
            .get("x-shopify-webhook-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            // Without a delivery id, the body itself identifies a redelivery.
            .unwrap_or_else(|| format!("sha256:{}", signature::fingerprint(&item.payload)));
        let mut item = match item.dedupe_key {
            Some(_) => item,
            None => item.dedupe(format!("webhook:{shop}:{delivery}")),
        };
        if let Some(e) = &malformed {
            item = item.held(format!(
                "{topic} webhook from {shop} is not valid JSON ({e}); the raw body is kept"
            ));
        }
        match tokio::time::timeout(STORE_WAIT, self.store.enqueue(vec![item])).await {
            Ok(Ok(out)) if out.first().is_some_and(|e| e.duplicate) => {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                debug!(%shop, %topic, %delivery, "duplicate webhook delivery");
                (StatusCode::OK, "duplicate\n")
            }
            Ok(Ok(_)) => {
                if malformed.is_some() {
                    self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                    warn!(%shop, %topic, %delivery, "signed webhook with an unreadable body kept as an exception");
                } else {
                    self.stats.accepted.fetch_add(1, Ordering::Relaxed);
                }
                (StatusCode::OK, "ok\n")
            }
            Ok(Err(e)) => {
                self.stats.unavailable.fetch_add(1, Ordering::Relaxed);
                error!(%shop, %topic, error = %e, "cannot store a webhook; Shopify will retry");
                (StatusCode::SERVICE_UNAVAILABLE, "cannot store now; retry\n")
            }
            Err(_) => {
                self.stats.unavailable.fetch_add(1, Ordering::Relaxed);
                error!(%shop, %topic, "storing a webhook took too long; Shopify will retry");
                (StatusCode::SERVICE_UNAVAILABLE, "cannot store now; retry\n")
            }
        }
    }

    /// Prometheus lines for the intake counters.
    pub fn render_metrics(&self, m: &mut Exposition) {
        let s = &self.stats;
        let mut f = m.family(
            "xconnector_webhooks_total",
            Kind::Counter,
            "Shopify webhook deliveries by outcome.",
        );
        for (outcome, n) in [
            ("accepted", &s.accepted),
            ("duplicate", &s.duplicates),
            ("rejected_signature", &s.rejected_signature),
            ("rejected_shop", &s.rejected_shop),
            ("too_large", &s.too_large),
            ("bad_request", &s.bad_request),
            ("malformed", &s.malformed),
            ("unknown_topic", &s.unknown_topic),
            ("unrouted", &s.unrouted),
            ("unavailable", &s.unavailable),
            ("busy", &s.busy),
        ] {
            f.sample(&[("outcome", outcome)], n.load(Ordering::Relaxed));
        }
        m.family(
            "xconnector_webhook_body_bytes",
            Kind::Gauge,
            "Memory taken now by webhook bodies being read, of [server] body_memory_mib.",
        )
        .sample(&[], (self.budget_bytes - self.budget.available()) as u64);
    }
}

/// What an operator searches by: an order's name (`#1001`), else the resource's id.
fn business_key(v: &WebhookHead) -> String {
    for field in [&v.name, &v.admin_graphql_api_id, &v.id] {
        match field {
            Some(serde_json::Value::String(s)) if !s.is_empty() => return s.clone(),
            Some(serde_json::Value::Number(n)) => return n.to_string(),
            _ => {}
        }
    }
    String::new()
}

/// Makes sure the shop sends every topic in `topics` (`orders/create` form) to `address`:
/// lists the app's subscriptions and creates the missing ones. Returns (created, already there).
pub async fn ensure_subscriptions(
    shopify: &xconnector_actors::shopify::ShopifyHandle,
    topics: &[&str],
    address: &str,
) -> Result<(usize, usize), xconnector_actors::shopify::ShopifyError> {
    use xconnector_actors::rate_limiter::Lane;
    use xconnector_actors::shopify::operations::webhooks::WebhookTopic;

    let wanted: Vec<WebhookTopic> = topics
        .iter()
        .map(|t| WebhookTopic::from_header(t))
        .collect();
    let existing = shopify
        .webhook_subscriptions(Lane::Operator, &wanted)
        .await?;
    let (mut created, mut present) = (0, 0);
    for topic in &wanted {
        if existing
            .iter()
            .any(|s| s.topic == *topic && s.uri == address)
        {
            present += 1;
            continue;
        }
        shopify
            .create_webhook_subscription(Lane::Operator, topic, address)
            .await?;
        info!(topic = topic.as_str(), %address, "webhook subscription created");
        created += 1;
    }
    Ok((created, present))
}
