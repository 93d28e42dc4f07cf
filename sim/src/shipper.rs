//! The simulated WMS's shipping desk: it ships the orders the daemon delivered to the back
//! office's `wms` receiver and tells the daemon's `POST /api/v1/shipments`, as a warehouse
//! would: the shipment when it leaves, then the carrier's statuses over the following time.
//!
//! The body is exactly:
//! ```json
//! {"source": "wms", "shipments": [{"id": "SHP-1001-1", "order": {"name": "#1001"},
//!   "lines": [{"sku": "RS-S", "quantity": 1}],
//!   "carrier": "UPS", "tracking_numbers": ["1Z…"], "tracking_urls": [], "notify_customer": true,
//!   "status": "picked_up", "happened_at": "2026-12-02T10:00:00Z"}]}
//! ```
//! `order` is `{"name": "#1001"}` or now and then `{"shopify_id": "gid://shopify/Order/N"}`; a
//! line names a `sku` (when one line of the order has it) or a `line_item_id` (GID); `lines`
//! left out (a quarter of single-box orders) means everything still to fulfil; `status` is
//! left out or `picked_up` (now and then `label_printed`). A status update is
//! `{"id", "order", "status", "happened_at"}` for a shipment already posted: `in_transit`,
//! `out_for_delivery`, `delivered`, now and then `attempted_delivery` or an `exception`, and
//! rarely a stale repeat of an earlier status with its original `happened_at` (carrier feeds
//! do that; the daemon must not let it move a shipment backwards).
//!
//! What it does: an order is shipped once, a while after it arrived
//! ([`ShipperSpec::ship_after`]), never when it was cancelled first or is already fulfilled;
//! about one order in five ([`SPLIT_SHARE`]) goes in two boxes (its lines split between them,
//! or one line's quantity); carriers are drawn from [`CARRIERS`], some spelt as the daemon
//! must normalise, one it cannot know. It remembers an order until its last shipment is
//! delivered, and only the ids of a bounded number of shipped orders after that.
//!
//! [`plan_shipments`] and [`status_update`] are pure, [`Shipper`] is the state without HTTP
//! (time is a `Duration` since it started), [`run`] posts until aborted.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::backoffice::BackOffice;

mod plan;

pub use plan::{
    CARRIERS, SPLIT_SHARE, STATUSES, carrier, plan_shipments, status_update, tracking_number,
};

/// `source` of every post.
pub const SOURCE: &str = "wms";

/// The canonical order's schema, the only deliveries the shipper reads.
pub const ORDER_SCHEMA: &str = "xconnector.order.v1";

/// Shipped orders remembered after delivery, so a late upsert of one is not shipped again.
const MAX_REMEMBERED: usize = 100_000;

/// Entries waiting to be posted; beyond this (the daemon long unreachable) the oldest go.
const MAX_OUTBOX: usize = 10_000;

/// Entries per post.
const BATCH: usize = 100;

/// How the shipper behaves.
#[derive(Clone, Debug)]
pub struct ShipperSpec {
    /// The daemon's base URL (`http://HOST:PORT`); posts go to `{api_url}/api/v1/shipments`.
    pub api_url: String,
    /// A bearer token from the daemon's `[server] api_tokens`.
    pub token: String,
    /// Between two looks at the back office (and posts).
    pub every: Duration,
    pub seed: u64,
    /// How long an order waits before it ships (each one between half and one and a half
    /// times this).
    pub ship_after: Duration,
    /// From shipping to delivery (each shipment within ±20 % of this); the statuses in
    /// between are spread over it.
    pub deliver_after: Duration,
    /// The back-office receiver whose deliveries are the orders to ship.
    pub receiver: String,
}

impl ShipperSpec {
    /// A shipper for the daemon at `api_url`: every 2 s, orders ship after about 5 s and are
    /// delivered about a minute later, from the `wms` receiver.
    pub fn new(api_url: &str, token: &str) -> ShipperSpec {
        ShipperSpec {
            api_url: api_url.to_string(),
            token: token.to_string(),
            every: Duration::from_secs(2),
            seed: 1,
            ship_after: Duration::from_secs(5),
            deliver_after: Duration::from_secs(60),
            receiver: SOURCE.to_string(),
        }
    }
}

/// The endpoint for a daemon base URL (a trailing `/` is tolerated).
pub fn shipments_url(api_url: &str) -> String {
    format!("{}/api/v1/shipments", api_url.trim_end_matches('/'))
}

/// A post of `shipments` (entries of [`plan_shipments`] and [`status_update`]).
pub fn body(shipments: &[Value]) -> Value {
    json!({"source": SOURCE, "shipments": shipments})
}

/// One status a shipment will report, `at` after the start.
#[derive(Clone, Debug)]
struct Step {
    at: Duration,
    status: &'static str,
    /// A repeat of an earlier report of `status`, with that report's `happened_at`.
    stale: bool,
}

/// The statuses of a shipment that left at `start` and arrives `trip` later: in transit, out
/// for delivery, delivered; now and then a failed attempt, an exception on the way, or a
/// stale in-transit report after it was out for delivery.
fn status_plan(rng: &mut fastrand::Rng, start: Duration, trip: Duration) -> VecDeque<Step> {
    let at = |share: f64| start + trip.mul_f64(share);
    let step = |share: f64, status: &'static str| Step {
        at: at(share),
        status,
        stale: false,
    };
    let mut steps = vec![step(0.3, "in_transit")];
    match rng.u8(0..100) {
        0..=4 => steps.extend([
            step(0.7, "out_for_delivery"),
            step(0.8, "attempted_delivery"),
            step(0.9, "out_for_delivery"),
        ]),
        5..=7 => steps.extend([
            step(0.45, "exception"),
            step(0.6, "in_transit"),
            step(0.8, "out_for_delivery"),
        ]),
        8..=12 => steps.extend([
            step(0.7, "out_for_delivery"),
            Step {
                at: at(0.8),
                status: "in_transit",
                stale: true,
            },
        ]),
        _ => steps.push(step(0.7, "out_for_delivery")),
    }
    steps.push(step(1.0, "delivered"));
    steps.into()
}

/// A shipment posted and not yet delivered.
struct Moving {
    shipment_id: String,
    order_id: String,
    order_ref: Value,
    steps: VecDeque<Step>,
    /// Statuses reported so far, with their `happened_at`.
    reported: Vec<(&'static str, String)>,
}

struct Waiting {
    due: Duration,
    order: Value,
}

/// The shipper's state: orders waiting to ship, shipments on their way, entries to post.
pub struct Shipper {
    rng: fastrand::Rng,
    ship_after: Duration,
    deliver_after: Duration,
    /// By order GID: a newer version of a waiting order replaces it.
    waiting: BTreeMap<String, Waiting>,
    moving: Vec<Moving>,
    outbox: Vec<Value>,
    /// Orders shipped (or shipping), oldest first in `shipped_order`: never shipped twice.
    shipped: HashSet<String>,
    shipped_order: VecDeque<String>,
    /// Entries dropped because the outbox overflowed.
    pub dropped: u64,
}

impl Shipper {
    pub fn new(seed: u64, ship_after: Duration, deliver_after: Duration) -> Shipper {
        Shipper {
            rng: fastrand::Rng::with_seed(seed ^ 0x5410_9e55),
            ship_after,
            deliver_after,
            waiting: BTreeMap::new(),
            moving: Vec::new(),
            outbox: Vec::new(),
            shipped: HashSet::new(),
            shipped_order: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Take one delivery of the `wms` receiver at `now`: an order to ship later, a newer
    /// version of one waiting, or a cancellation (a waiting order is then never shipped).
    /// Orders shipped before, already fulfilled (or partly, by someone else), with nothing to
    /// ship, and anything that is not a canonical order are ignored.
    pub fn receive(&mut self, delivery: &Value, now: Duration) {
        if delivery["schema"].as_str() != Some(ORDER_SCHEMA) {
            return;
        }
        let Some(id) = delivery["id"].as_str() else {
            return;
        };
        let cancelled =
            delivery["event"].as_str() == Some("cancel") || !delivery["cancelled_at"].is_null();
        let fulfilled = matches!(
            delivery["fulfillment_status"].as_str(),
            Some("fulfilled" | "partial" | "restocked")
        );
        if cancelled || fulfilled {
            self.waiting.remove(id);
            return;
        }
        if self.shipped.contains(id) {
            return;
        }
        match self.waiting.get_mut(id) {
            Some(w) => w.order = delivery.clone(),
            None => {
                let due = now + self.ship_after.mul_f64(0.5 + self.rng.f64());
                self.waiting.insert(
                    id.to_string(),
                    Waiting {
                        due,
                        order: delivery.clone(),
                    },
                );
            }
        }
    }

    fn remember(&mut self, order_id: &str) {
        if self.shipped.insert(order_id.to_string()) {
            self.shipped_order.push_back(order_id.to_string());
        }
        while self.shipped_order.len() > MAX_REMEMBERED {
            if let Some(old) = self.shipped_order.pop_front() {
                self.shipped.remove(&old);
            }
        }
    }

    /// Ship what is due at `now` and report the statuses due, into the outbox; `at` is now
    /// as RFC 3339, the `happened_at` of what happens now.
    pub fn tick(&mut self, now: Duration, at: &str) {
        let due: Vec<String> = self
            .waiting
            .iter()
            .filter(|(_, w)| w.due <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let Some(w) = self.waiting.remove(&id) else {
                continue;
            };
            let shipments = plan_shipments(&w.order, &mut self.rng, at);
            if shipments.is_empty() {
                continue;
            }
            self.remember(&id);
            for s in shipments {
                let trip = self.deliver_after.mul_f64(0.8 + 0.4 * self.rng.f64());
                self.moving.push(Moving {
                    shipment_id: s["id"].as_str().unwrap_or_default().to_string(),
                    order_id: id.clone(),
                    order_ref: s["order"].clone(),
                    steps: status_plan(&mut self.rng, now, trip),
                    reported: Vec::new(),
                });
                self.outbox.push(s);
            }
        }
        for m in &mut self.moving {
            while let Some(step) = m.steps.front().filter(|s| s.at <= now).cloned() {
                m.steps.pop_front();
                let happened_at = if step.stale {
                    m.reported
                        .iter()
                        .find(|(s, _)| *s == step.status)
                        .map_or_else(|| at.to_string(), |(_, a)| a.clone())
                } else {
                    m.reported.push((step.status, at.to_string()));
                    at.to_string()
                };
                self.outbox.push(status_update(
                    &m.shipment_id,
                    &m.order_ref,
                    step.status,
                    &happened_at,
                ));
            }
        }
        // Delivered: forgotten (the order's id stays in `shipped`).
        self.moving.retain(|m| !m.steps.is_empty());
        if self.outbox.len() > MAX_OUTBOX {
            let extra = self.outbox.len() - MAX_OUTBOX;
            self.outbox.drain(..extra);
            self.dropped += extra as u64;
        }
    }

    /// Entries to post, oldest first.
    pub fn outbox(&self) -> &[Value] {
        &self.outbox
    }

    /// The first `n` entries of the outbox were posted (or refused for good).
    pub fn sent(&mut self, n: usize) {
        self.outbox.drain(..n.min(self.outbox.len()));
    }

    /// Orders waiting to ship and shipments on their way: what the shipper holds in memory
    /// besides the ids of shipped orders.
    pub fn in_flight(&self) -> (usize, usize) {
        (self.waiting.len(), self.moving.len())
    }

    /// Whether an order's shipments are still on their way.
    pub fn is_moving(&self, order_id: &str) -> bool {
        self.moving.iter().any(|m| m.order_id == order_id)
    }
}

/// Ships until the task is aborted. A post the daemon refuses as malformed (400, 413, 422) is
/// logged and dropped; any other failure (the daemon not up yet, 5xx, 429) is retried on the
/// next round, in order.
pub async fn run(back_office: BackOffice, spec: ShipperSpec) {
    let client = match xconnector_actors::http_client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "simulated WMS: no HTTP client; not sending shipments");
            return;
        }
    };
    let url = shipments_url(&spec.api_url);
    let mut shipper = Shipper::new(spec.seed, spec.ship_after, spec.deliver_after);
    let start = tokio::time::Instant::now();
    let mut seen = 0usize;
    let mut dropped = 0u64;
    info!(url = %url, every = ?spec.every, "simulated WMS shipping orders");
    loop {
        tokio::time::sleep(spec.every).await;
        let now = start.elapsed();
        let new = back_office.received_from(&spec.receiver, seen);
        seen += new.len();
        for r in &new {
            shipper.receive(&r.body, now);
        }
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        shipper.tick(now, &at);
        if shipper.dropped > dropped {
            warn!(
                dropped = shipper.dropped - dropped,
                "simulated WMS: too much unsent; oldest shipments dropped"
            );
            dropped = shipper.dropped;
        }
        while !shipper.outbox().is_empty() {
            let n = shipper.outbox().len().min(BATCH);
            let post = client
                .post(&url)
                .bearer_auth(&spec.token)
                .json(&body(&shipper.outbox()[..n]))
                .send()
                .await;
            match post {
                Ok(r) if r.status().is_success() => {
                    debug!(entries = n, "simulated WMS: shipments accepted");
                    shipper.sent(n);
                }
                Ok(r) if matches!(r.status().as_u16(), 400 | 413 | 422) => {
                    let status = r.status();
                    warn!(%status, entries = n, "simulated WMS: shipments refused; dropped");
                    shipper.sent(n);
                }
                Ok(r) => {
                    let status = r.status();
                    warn!(%status, "simulated WMS: shipments not taken; retrying later");
                    break;
                }
                Err(e) => {
                    let error = e.without_url();
                    warn!(%error, "simulated WMS: shipments not delivered; retrying later");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plan::tests::order;
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_shipper_ships_once_never_a_cancelled_order_and_forgets_the_delivered() {
        let secs = Duration::from_secs;
        let mut s = Shipper::new(1, secs(10), secs(100));
        let kept = order(1, &[(Some("RS-S"), 1)]);
        let cancelled = order(2, &[(Some("RS-M"), 2)]);
        let done = {
            let mut o = order(3, &[(Some("CAP"), 1)]);
            o["fulfillment_status"] = json!("fulfilled");
            o
        };
        for o in [&kept, &cancelled, &done] {
            s.receive(o, secs(0));
        }
        s.receive(
            &json!({"schema": "xconnector.customer.v1", "id": "x"}),
            secs(0),
        );
        let mut cancel = cancelled.clone();
        cancel["event"] = json!("cancel");
        cancel["cancelled_at"] = json!("2026-12-01T00:00:00Z");
        s.receive(&cancel, secs(1));
        assert_eq!(s.in_flight(), (1, 0));
        s.tick(secs(4), "2026-12-01T00:00:04Z");
        assert!(s.outbox().is_empty(), "not due before half of ship_after");
        s.tick(secs(16), "2026-12-01T00:00:16Z");
        let shipped: Vec<Value> = s.outbox().to_vec();
        assert_eq!(shipped.len(), 1);
        assert_eq!(shipped[0]["id"], "SHP-1001-1");
        assert_eq!(shipped[0]["happened_at"], "2026-12-01T00:00:16Z");
        s.sent(1);
        // A later version of the same order (the daemon saw it change) ships nothing more.
        s.receive(&kept, secs(20));
        let mut statuses = Vec::new();
        for t in (20..=200).step_by(5) {
            s.tick(secs(t), &format!("t{t}"));
            for e in s.outbox() {
                assert_eq!(e["id"], "SHP-1001-1");
                assert_eq!(e["order"], shipped[0]["order"]);
                assert!(e.get("lines").is_none() && e.get("carrier").is_none());
                statuses.push(e["status"].as_str().unwrap().to_string());
            }
            let n = s.outbox().len();
            s.sent(n);
        }
        assert_eq!(statuses.first().map(String::as_str), Some("in_transit"));
        assert_eq!(statuses.last().map(String::as_str), Some("delivered"));
        assert!(statuses.iter().all(|x| STATUSES.contains(&x.as_str())));
        assert_eq!(s.in_flight(), (0, 0), "delivered shipments are forgotten");
        assert!(!s.is_moving("gid://shopify/Order/1"));
        s.receive(&kept, secs(300));
        assert_eq!(
            s.in_flight(),
            (0, 0),
            "a shipped order is not shipped again"
        );
    }

    #[test]
    fn some_shipments_report_late_and_stale_statuses_with_their_first_time() {
        let secs = Duration::from_secs;
        let mut s = Shipper::new(5, secs(1), secs(100));
        for n in 1..=200 {
            s.receive(&order(n, &[(Some("RS-S"), 1)]), secs(0));
        }
        let mut stale = 0;
        let mut first_in_transit: HashMap<String, String> = HashMap::new();
        for t in 0..=400 {
            s.tick(secs(t), &format!("t{t:03}"));
            for e in s.outbox() {
                if e["status"] == "in_transit" {
                    let id = e["id"].as_str().unwrap().to_string();
                    let at = e["happened_at"].as_str().unwrap().to_string();
                    match first_in_transit.get(&id) {
                        Some(first) if *first == at => stale += 1,
                        Some(_) => {}
                        None => {
                            first_in_transit.insert(id, at);
                        }
                    }
                }
            }
            let n = s.outbox().len();
            s.sent(n);
        }
        assert!(stale > 0, "a stale repeat carries its first happened_at");
        assert_eq!(s.in_flight(), (0, 0));
    }

    #[tokio::test]
    async fn run_posts_shipments_then_statuses_to_the_daemon() {
        use axum::extract::State;
        use axum::http::HeaderMap;
        use std::sync::{Arc, Mutex};

        type Posts = Arc<Mutex<Vec<(Option<String>, Value)>>>;
        let posts: Posts = Arc::default();
        async fn take(
            State(posts): State<Posts>,
            headers: HeaderMap,
            axum::Json(body): axum::Json<Value>,
        ) -> &'static str {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            posts.lock().unwrap().push((auth, body));
            "ok"
        }
        let app = axum::Router::new()
            .route("/api/v1/shipments", axum::routing::post(take))
            .with_state(posts.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let daemon = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let office = BackOffice::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let client = xconnector_actors::http_client::builder().build().unwrap();
        client
            .post(office.url("wms"))
            .header("idempotency-key", "k1")
            .json(&order(1, &[(Some("RS-S"), 1)]))
            .send()
            .await
            .unwrap();
        let spec = ShipperSpec {
            every: Duration::from_millis(20),
            ship_after: Duration::ZERO,
            deliver_after: Duration::from_millis(200),
            ..ShipperSpec::new(&format!("{daemon}/"), "secret")
        };
        let task = tokio::spawn(run(office.clone(), spec));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let delivered = loop {
            let entries: Vec<Value> = posts
                .lock()
                .unwrap()
                .iter()
                .flat_map(|(_, b)| b["shipments"].as_array().cloned().unwrap_or_default())
                .collect();
            if entries.iter().any(|e| e["status"] == "delivered") {
                break entries;
            }
            assert!(tokio::time::Instant::now() < deadline, "{entries:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        task.abort();
        assert_eq!(delivered[0]["id"], "SHP-1001-1");
        assert!(delivered[0].get("carrier").is_some());
        let (auth, body) = posts.lock().unwrap()[0].clone();
        assert_eq!(auth.as_deref(), Some("Bearer secret"));
        assert_eq!(body["source"], "wms");
    }
}
