//! The simulated WMS's returns desk: it receives the parcels of approved returns and tells
//! the daemon's `POST /api/v1/returns/{id}/received` what came back, as a warehouse would.
//!
//! The body is exactly:
//! ```json
//! {"source": "wms", "lines": [{"sku": "RS-S", "quantity": 1, "disposition": "RESTOCKED"}],
//!   "refund": true}
//! ```
//! `{id}` is the return's GID (percent-encoded in the path).
//!
//! What it does: a return is noticed once it is `OPEN` (approved) with units still to
//! process and nothing processed yet; its parcel arrives a simulated transit later (between
//! half and one and a half times [`ReceiverSpec::transit`]). What the parcel holds is drawn
//! from the seed and the return's id alone ([`plan_receipt`]), so the same return gets the
//! same receipt whenever it arrives:
//!
//! - each unit's disposition: mostly `RESTOCKED`, some `NOT_RESTOCKED` (worn, damaged), a few
//!   `MISSING` (listed, not in the box) and rarely `PROCESSING_REQUIRED` ([`DISPOSITIONS`]);
//! - `refund`: true, now and then false ([`NO_REFUND_SHARE`]);
//! - now and then ([`SHORT_SHARE`], only returns of two units or more) fewer units than
//!   were approved: the rest never arrives and the return stays open.
//!
//! Lines whose item has no SKU cannot be named in a receipt and are left out.
//!
//! Each return is posted once: a 2xx answer, or a 4xx other than 429 (logged), ends it; any
//! other failure is retried later with a growing delay. [`Receiver`] is the state without
//! HTTP (time is a `Duration` since it started), [`run`] posts until aborted.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::ShopHandle;
use super::gid::gid;
use super::shop::{Id, Return, ReturnStatus, Shop};

/// `source` of every post.
pub const SOURCE: &str = "wms";

/// What a unit becomes, with its weight in 100.
pub const DISPOSITIONS: &[(&str, u8)] = &[
    ("RESTOCKED", 78),
    ("NOT_RESTOCKED", 12),
    ("MISSING", 7),
    ("PROCESSING_REQUIRED", 3),
];

/// Share of receipts that ask for no refund (the dispositions alone).
pub const NO_REFUND_SHARE: f64 = 0.1;

/// Share of returns of two units or more whose parcel holds fewer units than were approved.
pub const SHORT_SHARE: f64 = 0.2;

/// Returns remembered as received, so that none is posted twice.
const MAX_REMEMBERED: usize = 100_000;

/// The longest wait before a failed post is tried again.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// How the returns desk behaves.
#[derive(Clone, Debug)]
pub struct ReceiverSpec {
    /// The daemon's base URL (`http://HOST:PORT`); posts go to
    /// `{api_url}/api/v1/returns/{id}/received`.
    pub api_url: String,
    /// A bearer token from the daemon's `[server] api_tokens`.
    pub token: String,
    /// Between two looks at the shop (and posts).
    pub every: Duration,
    pub seed: u64,
    /// From approval to the parcel's arrival (each one between half and one and a half times
    /// this).
    pub transit: Duration,
}

impl ReceiverSpec {
    /// A returns desk for the daemon at `api_url`: a look every 2 s, parcels arriving about
    /// 5 s after approval.
    pub fn new(api_url: &str, token: &str) -> ReceiverSpec {
        ReceiverSpec {
            api_url: api_url.to_string(),
            token: token.to_string(),
            every: Duration::from_secs(2),
            seed: 1,
            transit: Duration::from_secs(5),
        }
    }
}

/// The endpoint for a return (a trailing `/` on the base URL is tolerated); the GID is
/// percent-encoded into one path segment.
pub fn received_url(api_url: &str, return_gid: &str) -> String {
    let segment: String = return_gid
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(
        "{}/api/v1/returns/{segment}/received",
        api_url.trim_end_matches('/')
    )
}

/// The generator of one return's draws: the seed and the return's id, nothing else.
fn rng_for(seed: u64, return_id: Id) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed ^ 0x2e7a_11ed ^ return_id.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// When a return approved at `now` arrives.
fn arrival(seed: u64, return_id: Id, now: Duration, transit: Duration) -> Duration {
    // Its own stream, so the receipt's draws do not depend on the transit's.
    let mut rng = rng_for(seed ^ 0x7a4e_5175, return_id);
    now + transit.mul_f64(0.5 + rng.f64())
}

fn disposition(rng: &mut fastrand::Rng) -> &'static str {
    let total: u32 = DISPOSITIONS.iter().map(|(_, w)| u32::from(*w)).sum();
    let mut pick = rng.u32(0..total);
    for (name, weight) in DISPOSITIONS {
        if pick < u32::from(*weight) {
            return name;
        }
        pick -= u32::from(*weight);
    }
    DISPOSITIONS[0].0
}

/// The units of a return still to process, by SKU, in the return's line order (lines of
/// items without a SKU left out).
fn receivable(shop: &Shop, r: &Return) -> Vec<(String, u32)> {
    let order = shop.orders.get(&r.order_id);
    r.line_items
        .iter()
        .filter(|l| l.unprocessed() > 0)
        .filter_map(|l| {
            let sku = order?
                .line_items
                .iter()
                .find(|li| li.id == l.line_item_id)?
                .sku
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())?;
            Some((sku.to_string(), l.unprocessed()))
        })
        .collect()
}

/// What the warehouse finds in the parcel of return `r`: the body to post, or `None` when
/// nothing of it can be named (no unit left, or none with a SKU). Deterministic from `seed`,
/// the return's id and its units.
pub fn plan_receipt(shop: &Shop, r: &Return, seed: u64) -> Option<Value> {
    let mut units = receivable(shop, r);
    let total: u32 = units.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mut rng = rng_for(seed, r.id);
    if total >= 2 && rng.f64() < SHORT_SHARE {
        // Some units never arrive: taken one by one from lines that still have some.
        for _ in 0..rng.u32(1..total) {
            let with: Vec<usize> = (0..units.len()).filter(|i| units[*i].1 > 0).collect();
            let i = with[rng.usize(..with.len())];
            units[i].1 -= 1;
        }
    }
    let mut lines: Vec<(String, u32, &'static str)> = Vec::new();
    for (sku, n) in &units {
        for _ in 0..*n {
            let d = disposition(&mut rng);
            match lines.iter_mut().find(|(s, _, x)| s == sku && *x == d) {
                Some(line) => line.1 += 1,
                None => lines.push((sku.clone(), 1, d)),
            }
        }
    }
    let refund = rng.f64() >= NO_REFUND_SHARE;
    let lines: Vec<Value> = lines
        .into_iter()
        .map(|(sku, quantity, disposition)| {
            json!({"sku": sku, "quantity": quantity, "disposition": disposition})
        })
        .collect();
    Some(json!({"source": SOURCE, "lines": lines, "refund": refund}))
}

/// A receipt waiting to be posted.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub return_id: Id,
    /// `gid://shopify/Return/N`.
    pub gid: String,
    pub body: Value,
    /// Not to be tried before this.
    not_before: Duration,
    /// Failed posts so far.
    pub attempts: u32,
}

/// The returns desk's state: parcels on their way, receipts to post, returns done with.
pub struct Receiver {
    seed: u64,
    transit: Duration,
    /// Return id → when its parcel arrives.
    travelling: BTreeMap<Id, Duration>,
    outbox: Vec<Receipt>,
    /// Every return noticed (travelling, to post, posted or given up), oldest first in
    /// `known_order`: none is received twice.
    known: HashSet<Id>,
    known_order: VecDeque<Id>,
}

impl Receiver {
    pub fn new(seed: u64, transit: Duration) -> Receiver {
        Receiver {
            seed,
            transit,
            travelling: BTreeMap::new(),
            outbox: Vec::new(),
            known: HashSet::new(),
            known_order: VecDeque::new(),
        }
    }

    fn remember(&mut self, id: Id) {
        if self.known.insert(id) {
            self.known_order.push_back(id);
        }
        while self.known_order.len() > MAX_REMEMBERED {
            if let Some(old) = self.known_order.pop_front() {
                self.known.remove(&old);
            }
        }
    }

    /// One look at the shop at `now`: returns newly open start travelling, and the parcels
    /// that arrived become receipts (from what the return still has to process then; a return
    /// no longer open, or with nothing left, is dropped).
    pub fn step(&mut self, shop: &Shop, now: Duration) {
        let opened: Vec<Id> = shop
            .returns
            .values()
            .filter(|r| r.status == ReturnStatus::Open && !r.work_done())
            .filter(|r| !self.known.contains(&r.id))
            .map(|r| r.id)
            .collect();
        for id in opened {
            self.remember(id);
            self.travelling
                .insert(id, arrival(self.seed, id, now, self.transit));
        }
        let arrived: Vec<Id> = self
            .travelling
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in arrived {
            self.travelling.remove(&id);
            let Some(r) = shop
                .returns
                .get(&id)
                .filter(|r| r.status == ReturnStatus::Open)
            else {
                continue;
            };
            match plan_receipt(shop, r, self.seed) {
                Some(body) => self.outbox.push(Receipt {
                    return_id: id,
                    gid: gid("Return", id),
                    body,
                    not_before: now,
                    attempts: 0,
                }),
                None => debug!(return_id = id, "simulated WMS: nothing to name in a return"),
            }
        }
    }

    /// Receipts to post at `now`, oldest first.
    pub fn due(&self, now: Duration) -> Vec<Receipt> {
        self.outbox
            .iter()
            .filter(|r| r.not_before <= now)
            .cloned()
            .collect()
    }

    /// Every receipt not yet posted (due or waiting for a retry).
    pub fn outbox(&self) -> &[Receipt] {
        &self.outbox
    }

    /// The receipt of `return_id` was accepted, or refused for good: done with.
    pub fn sent(&mut self, return_id: Id) {
        self.outbox.retain(|r| r.return_id != return_id);
    }

    /// The receipt of `return_id` failed at `now`: tried again after `every`, doubled at each
    /// failure up to a minute.
    pub fn failed(&mut self, return_id: Id, now: Duration, every: Duration) {
        if let Some(r) = self.outbox.iter_mut().find(|r| r.return_id == return_id) {
            r.attempts += 1;
            let doublings = r.attempts.min(6).saturating_sub(1);
            let wait = every.saturating_mul(1u32 << doublings).min(MAX_RETRY);
            r.not_before = now + wait;
        }
    }

    /// Parcels on their way and receipts not yet posted.
    pub fn in_flight(&self) -> (usize, usize) {
        (self.travelling.len(), self.outbox.len())
    }
}

/// What became of one post.
enum Posted {
    Done,
    Refused,
    Later,
    Unreachable,
}

/// Receives returns until the task is aborted. A receipt the daemon refuses (a 4xx other
/// than 429) is logged and given up; a 429 or 5xx is retried later; when the daemon cannot be
/// reached, the round ends and everything waits for the next.
pub async fn run(shop: ShopHandle, spec: ReceiverSpec) {
    let client = match xconnector_actors::http_client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "simulated WMS: no HTTP client; not receiving returns");
            return;
        }
    };
    let mut receiver = Receiver::new(spec.seed, spec.transit);
    let start = tokio::time::Instant::now();
    info!(api = %spec.api_url, every = ?spec.every, transit = ?spec.transit,
        "simulated WMS receiving returned parcels");
    loop {
        tokio::time::sleep(spec.every).await;
        let now = start.elapsed();
        shop.with(|s| receiver.step(s, now));
        for receipt in receiver.due(now) {
            let url = received_url(&spec.api_url, &receipt.gid);
            let post = client
                .post(&url)
                .bearer_auth(&spec.token)
                .json(&receipt.body)
                .send()
                .await;
            let posted = match post {
                Ok(r) if r.status().is_success() => {
                    debug!(return_id = %receipt.gid, "simulated WMS: return received");
                    Posted::Done
                }
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                    let status = r.status();
                    let answer = r.text().await.unwrap_or_default();
                    let answer: String = answer.chars().take(300).collect();
                    warn!(return_id = %receipt.gid, %status, %answer,
                        "simulated WMS: receipt refused; given up");
                    Posted::Refused
                }
                Ok(r) => {
                    let status = r.status();
                    warn!(return_id = %receipt.gid, %status,
                        "simulated WMS: receipt not taken; retrying later");
                    Posted::Later
                }
                Err(e) => {
                    let error = e.without_url();
                    warn!(%error, "simulated WMS: receipts not delivered; retrying later");
                    Posted::Unreachable
                }
            };
            match posted {
                Posted::Done | Posted::Refused => receiver.sent(receipt.return_id),
                Posted::Later => receiver.failed(receipt.return_id, now, spec.every),
                Posted::Unreachable => {
                    receiver.failed(receipt.return_id, now, spec.every);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeedSize;
    use crate::shop::{
        DispositionSpec, DispositionType, FulfillRequest, ProcessLineSpec, ProcessSpec,
        ReturnLineSpec, ReturnReason, ReturnSpec,
    };
    use crate::traffic::Traffic;
    use std::collections::HashMap;

    /// A seeded shop with `n` new orders fulfilled and a return asked for each, of every
    /// unit shipped (every third of one unit only). Returns the shop and the returns.
    fn shop_with_returns(n: usize) -> (Shop, Vec<Id>) {
        let mut shop = Shop::seed(11, &SeedSize::small());
        let mut traffic = Traffic::new(11, 0.0);
        let mut returns = Vec::new();
        for k in 0..n {
            let Some((order, _)) = traffic.place_order(&mut shop) else {
                continue;
            };
            let fos: Vec<Id> = shop
                .fulfillment_orders_of(order)
                .iter()
                .map(|f| f.id)
                .collect();
            let mut lines = Vec::new();
            for fo in fos {
                let Ok(f) = shop.fulfill(FulfillRequest {
                    fulfillment_orders: vec![(fo, Vec::new())],
                    ..FulfillRequest::default()
                }) else {
                    continue;
                };
                for l in &shop.fulfillments[&f].line_items {
                    let q = if k % 3 == 0 { 1 } else { l.quantity };
                    lines.push(ReturnLineSpec::new(l.id, q, ReturnReason::Unwanted));
                }
            }
            if let Ok(id) = shop.request_return(ReturnSpec {
                order_id: order,
                lines,
                shipping_fee: None,
            }) {
                returns.push(id);
            }
        }
        (shop, returns)
    }

    fn units(body: &Value) -> u32 {
        body["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["quantity"].as_u64().unwrap() as u32)
            .sum()
    }

    /// Units by SKU a return still has to process.
    fn left(shop: &Shop, r: &Return) -> HashMap<String, u32> {
        let mut m = HashMap::new();
        for (sku, n) in receivable(shop, r) {
            *m.entry(sku).or_default() += n;
        }
        m
    }

    #[test]
    fn receipts_are_drawn_from_the_seed_and_never_exceed_what_was_approved() {
        let (mut shop, returns) = shop_with_returns(400);
        assert!(returns.len() > 300, "{}", returns.len());
        for id in &returns {
            shop.approve_return(*id, false).unwrap();
        }
        let mut counts: HashMap<String, u32> = HashMap::new();
        let (mut short, mut multi, mut no_refund) = (0, 0, 0);
        for id in &returns {
            let r = &shop.returns[id];
            let body = plan_receipt(&shop, r, 5).unwrap();
            assert_eq!(
                body,
                plan_receipt(&shop, r, 5).unwrap(),
                "same seed, same receipt"
            );
            let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 3, "{body}");
            assert_eq!(body["source"], "wms");
            no_refund += usize::from(body["refund"] == false);
            let wanted = left(&shop, r);
            let mut got: HashMap<String, u32> = HashMap::new();
            for l in body["lines"].as_array().unwrap() {
                assert_eq!(l.as_object().unwrap().len(), 3, "{l}");
                let d = l["disposition"].as_str().unwrap();
                assert!(DISPOSITIONS.iter().any(|(x, _)| *x == d), "{d}");
                let q = l["quantity"].as_u64().unwrap() as u32;
                assert!(q > 0);
                *counts.entry(d.to_string()).or_default() += q;
                *got.entry(l["sku"].as_str().unwrap().to_string())
                    .or_default() += q;
            }
            for (sku, q) in &got {
                assert!(wanted.get(sku).is_some_and(|w| q <= w), "{sku}: {body}");
            }
            let total: u32 = wanted.values().sum();
            let received = units(&body);
            assert!(received >= 1);
            if total >= 2 {
                multi += 1;
                short += usize::from(received < total);
            } else {
                assert_eq!(received, total, "a single unit always arrives");
            }
        }
        let all: u32 = counts.values().sum();
        assert!(
            counts["RESTOCKED"] * 10 > all * 6,
            "mostly restocked: {counts:?}"
        );
        for d in ["NOT_RESTOCKED", "MISSING"] {
            assert!(counts.get(d).is_some_and(|n| *n > 0), "{counts:?}");
        }
        let share = short as f64 / multi as f64;
        assert!(
            (0.1..0.3).contains(&share),
            "short share {share} of {multi}"
        );
        let share = no_refund as f64 / returns.len() as f64;
        assert!((0.04..0.18).contains(&share), "no-refund share {share}");
        // Another seed, other receipts.
        let differ = returns
            .iter()
            .filter(|id| {
                let r = &shop.returns[*id];
                plan_receipt(&shop, r, 5) != plan_receipt(&shop, r, 6)
            })
            .count();
        assert!(differ > returns.len() / 10, "{differ}");
    }

    #[test]
    fn each_approved_return_is_received_once_after_its_transit() {
        let secs = Duration::from_secs;
        let (mut shop, returns) = shop_with_returns(30);
        let (approved, pending) = returns.split_at(20);
        for id in approved {
            shop.approve_return(*id, false).unwrap();
        }
        let mut rx = Receiver::new(3, secs(10));
        rx.step(&shop, secs(0));
        assert_eq!(
            rx.in_flight(),
            (20, 0),
            "requested returns are not received"
        );
        rx.step(&shop, secs(4));
        assert!(
            rx.due(secs(4)).is_empty(),
            "nothing arrives before half the transit"
        );
        // One is cancelled on the way: its parcel is never received.
        shop.cancel_return(approved[0], false).unwrap();
        rx.step(&shop, secs(15));
        rx.step(&shop, secs(16));
        assert_eq!(rx.in_flight(), (0, 19));
        let due = rx.due(secs(16));
        assert_eq!(due.len(), 19);
        let ids: HashSet<Id> = due.iter().map(|r| r.return_id).collect();
        assert_eq!(ids.len(), 19, "one receipt per return");
        assert!(!ids.contains(&approved[0]));
        for r in &due {
            assert_eq!(r.gid, format!("gid://shopify/Return/{}", r.return_id));
        }
        // The warehouse's receipts are processed in the shop as the daemon would: a short
        // receipt leaves its return open with units unprocessed.
        for r in &due {
            process(&mut shop, r);
            rx.sent(r.return_id);
        }
        assert_eq!(rx.in_flight(), (0, 0));
        let still_open = due
            .iter()
            .filter(|r| shop.returns[&r.return_id].status == ReturnStatus::Open)
            .count();
        assert!(still_open > 0, "some receipts are short");
        for t in 17..60 {
            rx.step(&shop, secs(t));
        }
        assert_eq!(rx.in_flight(), (0, 0), "a return is received once");
        // The rest are approved later and received in turn; a failed post is retried later.
        for id in pending {
            shop.approve_return(*id, false).unwrap();
        }
        rx.step(&shop, secs(60));
        rx.step(&shop, secs(80));
        let due = rx.due(secs(80));
        assert_eq!(due.len(), pending.len());
        rx.failed(due[0].return_id, secs(80), secs(2));
        assert_eq!(rx.due(secs(81)).len(), pending.len() - 1);
        assert_eq!(rx.due(secs(82)).len(), pending.len());
        rx.failed(due[0].return_id, secs(82), secs(2));
        assert_eq!(
            rx.due(secs(85)).len(),
            pending.len() - 1,
            "the wait doubles"
        );
        assert_eq!(rx.due(secs(86)).len(), pending.len());
        assert_eq!(rx.outbox()[0].attempts, 2);
    }

    /// Process a receipt in the shop (every unit NOT_RESTOCKED, nothing refunded).
    fn process(shop: &mut Shop, receipt: &Receipt) {
        let r = shop.returns[&receipt.return_id].clone();
        let order = shop.orders[&r.order_id].clone();
        let mut want: HashMap<String, u32> = HashMap::new();
        for l in receipt.body["lines"].as_array().unwrap() {
            *want.entry(l["sku"].as_str().unwrap().into()).or_default() +=
                l["quantity"].as_u64().unwrap() as u32;
        }
        let mut lines = Vec::new();
        for l in &r.line_items {
            let sku = order
                .line_items
                .iter()
                .find(|li| li.id == l.line_item_id)
                .and_then(|li| li.sku.clone())
                .unwrap_or_default();
            let w = want.entry(sku).or_default();
            let q = (*w).min(l.unprocessed());
            if q == 0 {
                continue;
            }
            *w -= q;
            lines.push(ProcessLineSpec {
                return_line_id: l.id,
                quantity: q,
                dispositions: vec![DispositionSpec {
                    reverse_line_id: l.reverse_line_id.unwrap(),
                    quantity: q,
                    kind: DispositionType::NotRestocked,
                    location_id: None,
                }],
            });
        }
        shop.process_return(ProcessSpec {
            return_id: r.id,
            lines,
            ..ProcessSpec::default()
        })
        .unwrap();
    }

    #[test]
    fn the_gid_is_one_path_segment() {
        assert_eq!(
            received_url("http://127.0.0.1:8080/", "gid://shopify/Return/42"),
            "http://127.0.0.1:8080/api/v1/returns/gid%3A%2F%2Fshopify%2FReturn%2F42/received"
        );
    }

    #[tokio::test]
    async fn run_posts_each_return_once_retries_a_503_and_gives_up_on_a_422() {
        use axum::extract::{RawPathParams, State};
        use axum::http::{HeaderMap, StatusCode};
        use std::sync::{Arc, Mutex};

        /// (return id from the path, authorization, body).
        type Posts = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;
        #[derive(Clone)]
        struct Daemon {
            posts: Posts,
            /// The return answered 503 on its first post.
            busy: String,
            /// The return always answered 422.
            refused: String,
        }
        async fn take(
            State(d): State<Daemon>,
            params: RawPathParams,
            headers: HeaderMap,
            axum::Json(body): axum::Json<Value>,
        ) -> StatusCode {
            let id = params
                .iter()
                .find(|(k, _)| *k == "id")
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let mut posts = d.posts.lock().unwrap();
            let before = posts.iter().filter(|(x, _, _)| *x == id).count();
            posts.push((id.clone(), auth, body));
            if id == d.refused {
                StatusCode::UNPROCESSABLE_ENTITY
            } else if id == d.busy && before == 0 {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::ACCEPTED
            }
        }

        let (mut shop, returns) = shop_with_returns(6);
        for id in &returns {
            shop.approve_return(*id, false).unwrap();
        }
        let busy = gid("Return", returns[0]);
        let refused = gid("Return", returns[1]);
        let posts: Posts = Arc::default();
        let app = axum::Router::new()
            .route("/api/v1/returns/{id}/received", axum::routing::post(take))
            .with_state(Daemon {
                posts: posts.clone(),
                busy: busy.clone(),
                refused: refused.clone(),
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let daemon = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let handle = ShopHandle::new(shop);
        let spec = ReceiverSpec {
            every: Duration::from_millis(20),
            transit: Duration::from_millis(40),
            seed: 2,
            ..ReceiverSpec::new(&format!("{daemon}/"), "secret")
        };
        let task = tokio::spawn(run(handle.clone(), spec));
        let accepted = |posts: &Posts| {
            let posts = posts.lock().unwrap();
            returns
                .iter()
                .map(|id| gid("Return", *id))
                .all(|g| posts.iter().filter(|(x, _, _)| *x == g).count() > usize::from(g == busy))
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !accepted(&posts) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{:?}",
                posts.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A few more rounds: nothing is posted again.
        tokio::time::sleep(Duration::from_millis(300)).await;
        task.abort();
        let posts = posts.lock().unwrap().clone();
        for id in &returns {
            let g = gid("Return", *id);
            let mine: Vec<&(String, Option<String>, Value)> =
                posts.iter().filter(|(x, _, _)| *x == g).collect();
            let expected = if g == busy { 2 } else { 1 };
            assert_eq!(mine.len(), expected, "{g}: {mine:?}");
            assert!(
                mine.iter().all(|(_, _, b)| *b == mine[0].2),
                "the same receipt each time"
            );
            let (_, auth, body) = mine[0];
            assert_eq!(auth.as_deref(), Some("Bearer secret"));
            assert_eq!(body["source"], "wms");
            assert!(body["refund"].is_boolean());
            let line = &body["lines"][0];
            assert!(line["sku"].is_string() && line["quantity"].as_u64() >= Some(1));
            assert!(line["disposition"].is_string());
            let expected = handle.with(|s| plan_receipt(s, &s.returns[id], 2));
            assert_eq!(Some(body.clone()), expected);
        }
    }
}
