//! The world around a daemon under test: the simulated shop (placing orders, sending their
//! webhooks as Shopify does), the simulated back office (counting deliveries by idempotency
//! key), and the real `xconnector` binary on a fixed port, so it can be killed and restarted
//! while the shop and the back office keep retrying at the same address.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use xconnector::sim::backoffice::BackOffice;
use xconnector::sim::pump::{self, Targets};
use xconnector::sim::shop::Id;
use xconnector::sim::traffic::{OrderKind, Traffic};
use xconnector::sim::warehouse::stock_catalog;
use xconnector::sim::webhooks::{SenderConfig, WebhookSender};
use xconnector::sim::{BucketConfig, SeedSize, SimConfig, Simulator};

use super::{DEADLINE, Daemon, HOOK_SECRET, write_config, xconnector};

/// Each exception rule and the team it is routed to.
pub const TEAMS: [(&str, &str); 4] = [
    ("address", "support"),
    ("payment", "finance"),
    ("fraud", "risk"),
    ("stock", "purchasing"),
];

/// The bearer token of the rig's `[server] api_tokens`.
pub const API_TOKEN: &str = "feed-token";

/// What the rig is made of.
pub struct RigOptions {
    /// Where the shop sends its webhooks; none for a shop that never sends any.
    pub webhook_url: Option<String>,
    pub duplicate_share: f64,
    pub reorder_share: f64,
    /// SKUs of extra products kept for inventory feeds (orders never sell them).
    pub stock_skus: usize,
    /// Keep every acknowledged webhook (see `WebhookSender::acknowledged`).
    pub record_acks: bool,
}

impl RigOptions {
    pub fn webhooks_to(url: String) -> RigOptions {
        RigOptions {
            webhook_url: Some(url),
            duplicate_share: 0.0,
            reorder_share: 0.0,
            stock_skus: 0,
            record_acks: false,
        }
    }
}

/// The simulated shop, its webhook pump and the simulated back office.
pub struct Rig {
    pub sim: Simulator,
    pub office: BackOffice,
    pub pump: Option<JoinHandle<()>>,
    pub sender: Option<WebhookSender>,
    /// The variants orders may sell.
    pub sellable: Vec<Id>,
    /// The SKUs kept for inventory feeds.
    pub stock: Vec<String>,
    /// Endpoints served by a receiver of their own rather than `office`.
    moved: std::sync::Mutex<BTreeMap<String, BackOffice>>,
}

impl Rig {
    /// A shop big enough that a thousand orders rarely meet on one variant, with a bucket that
    /// lets the rules' checks run at test speed.
    pub async fn start(options: RigOptions) -> Rig {
        let config = SimConfig {
            seed: 11,
            size: SeedSize {
                locations: 2,
                products: 400,
                variants_per_product: 3,
                customers: 50,
                orders: 0,
            },
            bucket: BucketConfig {
                maximum_available: 100_000.0,
                restore_rate: 50_000.0,
                clock_scale: 1.0,
            },
            ..SimConfig::default()
        };
        let sim = Simulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let (sellable, stock) = sim.shop().with(|shop| {
            let sellable: Vec<Id> = shop.variants.keys().copied().collect();
            (sellable, stock_catalog(shop, options.stock_skus, "INV-"))
        });
        let events = sim.take_events().unwrap();
        let mut sender = None;
        let pump = options.webhook_url.map(|url| {
            let mut config = SenderConfig::new(url.clone(), HOOK_SECRET, "demo.myshopify.com");
            config.duplicate_share = options.duplicate_share;
            config.reorder_share = options.reorder_share;
            config.record_acks = options.record_acks;
            config.seed = 5;
            let started = WebhookSender::start(config).unwrap();
            sender = Some(started.clone());
            pump::spawn(sim.shop(), events, started, Targets::Fixed(url))
        });
        let office = BackOffice::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Rig {
            sim,
            office,
            pump,
            sender,
            sellable,
            stock,
            moved: Default::default(),
        }
    }

    /// From now on `endpoint`'s deliveries are counted at `office`.
    pub fn move_endpoint(&self, endpoint: &str, office: BackOffice) {
        self.moved
            .lock()
            .unwrap()
            .insert(endpoint.to_string(), office);
    }

    /// The receiver that counts `endpoint`'s deliveries.
    pub fn office_for(&self, endpoint: &str) -> BackOffice {
        self.moved
            .lock()
            .unwrap()
            .get(endpoint)
            .cloned()
            .unwrap_or_else(|| self.office.clone())
    }

    /// A traffic generator that sells only the rig's sellable variants.
    pub fn traffic(&self, seed: u64, bad_share: f64) -> Traffic {
        Traffic::new(seed, bad_share).selling_only(self.sellable.clone())
    }

    /// Lines of one unit each of `n` sellable variants with at least `available` in stock at
    /// `location` (fewer if the shop has fewer).
    pub fn stocked_lines(
        &self,
        shop: &xconnector::sim::Shop,
        location: Id,
        n: usize,
        available: i64,
    ) -> Vec<xconnector::sim::shop::LineSpec> {
        self.sellable
            .iter()
            .filter(|v| {
                let item = shop.variants[v].inventory_item_id;
                shop.inventory_level(item, location)
                    .is_some_and(|l| l.available >= available)
            })
            .take(n)
            .map(|v| xconnector::sim::shop::LineSpec::variant(*v, 1).at(location))
            .collect()
    }

    /// Location names of the shop.
    pub fn locations(&self) -> Vec<String> {
        self.sim
            .shop()
            .with(|shop| shop.locations.values().map(|l| l.name.clone()).collect())
    }

    /// `available` of `sku` at the location named `location`, if the shop has that level.
    pub fn level(&self, sku: &str, location: &str) -> Option<i64> {
        self.sim.shop().with(|shop| {
            let item = shop.inventory_item_by_sku(sku)?.id;
            let loc = shop.locations.values().find(|l| l.name == location)?.id;
            shop.inventory_level(item, loc).map(|l| l.available)
        })
    }
}

/// A port that was free a moment ago: the daemon keeps one address across restarts, so the
/// shop's retries find it again.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The daemon's config: the rig's shop and back office, the orders and exceptions flows, and
/// `extra` TOML (more flows, `[daemon]` keys) appended.
pub fn daemon_config(
    dir: &Path,
    port: u16,
    rig: &Rig,
    reconcile_every: &str,
    extra: &str,
) -> PathBuf {
    let mut endpoints = String::new();
    for name in [
        "erp",
        "wms",
        "support",
        "finance",
        "risk",
        "purchasing",
        "crm",
        "pim",
    ] {
        endpoints.push_str(&format!(
            "[endpoints.{name}]\nkind = \"http\"\nurl = \"{}\"\ntimeout = \"2s\"\nmax_attempts = 1000\n\n",
            rig.office.url(name)
        ));
    }
    let mut rules = String::new();
    for (rule, team) in TEAMS {
        rules.push_str(&format!(
            "[flows.exceptions.{rule}]\nroute_to = \"{team}\"\n\n"
        ));
    }
    let config = write_config(
        dir,
        &format!(
            r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "sim-token"
webhook_secrets = ["{HOOK_SECRET}"]
base_url = "{base}"

{endpoints}
[flows.orders]
targets = ["erp", "wms"]
reconcile_every = "{reconcile_every}"
reconcile_overlap = "10s"

[flows.exceptions]
{rules}
{extra}
"#,
            base = rig.sim.base_url(),
        ),
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\"\napi_tokens = [\"{API_TOKEN}\"]"),
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// Starts the daemon and waits until it listens.
pub fn start_daemon(config: &Path) -> Daemon {
    let mut cmd = xconnector();
    cmd.arg("run").arg("--headless").arg("--config").arg(config);
    let daemon = Daemon::start(cmd);
    daemon.wait_for_log("http listening");
    daemon
}

/// Polls `check` until it answers, for up to three deadlines.
pub async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE * 3;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for quiescence: every webhook copy the shop sent was answered or given up, and the
/// daemon of `config` has nothing pending, retrying or in flight. What the receivers hold then
/// is all they will get, so it can be counted.
pub async fn quiescent(rig: &Rig, config: &Path) {
    until("the shop and the daemon to settle", || async {
        let sent = rig.sender.as_ref().is_none_or(|s| s.stats().settled());
        let status = crate::common::status_json(config);
        let busy: u64 = ["pending", "retrying", "in_flight"]
            .iter()
            .map(|state| status["totals"][state].as_u64().unwrap_or(0))
            .sum();
        (sent && busy == 0).then_some(())
    })
    .await
}

/// Order name → the idempotency keys `endpoint` accepted for it, with how often each came.
pub fn received(office: &BackOffice, endpoint: &str) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in office.received(endpoint) {
        let name = r.body["name"]
            .as_str()
            .or_else(|| r.body["order"]["name"].as_str())
            .unwrap_or("?")
            .to_string();
        *out.entry(name)
            .or_default()
            .entry(r.idempotency_key)
            .or_default() += 1;
    }
    out
}

/// An order the shop took.
pub struct Placed {
    pub name: String,
    pub kind: OrderKind,
    pub variants: BTreeSet<Id>,
}

/// Places `n` orders in the shop (its webhooks follow through the pump).
pub fn place(rig: &Rig, traffic: &mut Traffic, n: usize) -> Vec<Placed> {
    let mut placed = Vec::new();
    while placed.len() < n {
        let order = rig.sim.shop().with(|shop| {
            let (id, kind) = traffic.place_order(shop)?;
            let o = &shop.orders[&id];
            Some(Placed {
                name: o.name.clone(),
                kind,
                variants: o.line_items.iter().filter_map(|l| l.variant_id).collect(),
            })
        });
        placed.extend(order);
    }
    placed
}

/// Whether every placed order has reached the ERP and the WMS.
pub fn at_both_targets(rig: &Rig, placed: &[Placed]) -> bool {
    let (erp, wms) = (received(&rig.office, "erp"), received(&rig.office, "wms"));
    placed
        .iter()
        .all(|p| erp.contains_key(&p.name) && wms.contains_key(&p.name))
}

pub fn rule_of(kind: OrderKind) -> &'static str {
    match kind {
        OrderKind::MissingAddress => "address",
        OrderKind::PendingPayment => "payment",
        OrderKind::HighRisk => "fraud",
        OrderKind::OverStock => "stock",
        OrderKind::Good => "none",
    }
}

pub fn team_of(rule: &str) -> &'static str {
    TEAMS
        .iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, t)| *t)
        .unwrap_or("?")
}

/// What the back office's feeds did.
#[derive(Default)]
pub struct FeedLog {
    pub acked: AtomicU64,
    /// Answers other than 202 (the daemon down, starting or stopping), retried.
    pub refused: AtomicU64,
    /// (SKU, location) → the `available` of the newest acknowledged level.
    /// Milliseconds past the first `as_of`, for the next feed.
    pub clock: std::sync::atomic::AtomicI64,
    pub expected: std::sync::Mutex<BTreeMap<(String, String), i64>>,
}

impl FeedLog {
    /// (SKU, location) → the newest acknowledged `available`.
    pub fn expected(&self) -> BTreeMap<(String, String), i64> {
        self.expected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Levels in each feed [`post_feeds`] sends.
pub const LEVELS_PER_FEED: usize = 3;

/// One back-office system: posts feeds for its own SKUs one at a time, each until it is
/// acknowledged (a client that retries), so the newest acknowledged level is the last sent.
pub async fn post_feeds(
    port: u16,
    skus: Vec<String>,
    locations: Vec<String>,
    feeds: usize,
    seed: u64,
    log: Arc<FeedLog>,
) {
    let http = xconnector_actors::http_client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/api/v1/inventory");
    let mut rng = fastrand::Rng::with_seed(seed);
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z").unwrap();
    for _ in 0..feeds {
        // One clock for every poster of the log: a later feed is always the newer one.
        let as_of =
            start + chrono::Duration::milliseconds(log.clock.fetch_add(1, Ordering::SeqCst));
        let levels: Vec<(String, String, i64)> = (0..LEVELS_PER_FEED)
            .map(|_| {
                (
                    skus[rng.usize(0..skus.len())].clone(),
                    locations[rng.usize(0..locations.len())].clone(),
                    rng.i64(0..1000),
                )
            })
            .collect();
        let body = serde_json::json!({
            "source": format!("wms-{seed}"),
            "mode": "delta",
            "levels": levels.iter().map(|(sku, location, available)| serde_json::json!({
                "sku": sku, "location": location, "available": available,
                "as_of": as_of.to_rfc3339(),
            })).collect::<Vec<_>>(),
        });
        loop {
            let sent = http
                .post(&url)
                .bearer_auth(API_TOKEN)
                .json(&body)
                .send()
                .await;
            match sent.map(|r| r.status().as_u16()) {
                Ok(202) => break,
                Ok(code @ (400 | 401 | 413)) => panic!("feed refused with {code}: {body}"),
                _ => {
                    log.refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        let mut expected = log.expected.lock().unwrap();
        for (sku, location, available) in levels {
            expected.insert((sku, location), available);
        }
        drop(expected);
        log.acked.fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits until every order in `orders` (name → kind) is where it belongs (a good one at the
/// ERP and the WMS, a bad one at its rule's team) and every level in `levels` is in the shop;
/// fails naming what is missing when that does not happen.
pub async fn conserved(
    rig: &Rig,
    config: &Path,
    orders: &BTreeMap<String, OrderKind>,
    levels: &BTreeMap<(String, String), i64>,
) {
    let deadline = Instant::now() + DEADLINE * 3;
    loop {
        let at = |endpoint: &str| received(&rig.office_for(endpoint), endpoint);
        let (erp, wms) = (at("erp"), at("wms"));
        let teams: BTreeMap<&str, _> = TEAMS.iter().map(|(_, t)| (*t, at(t))).collect();
        let lost: Vec<&String> = orders
            .iter()
            .filter(|(name, kind)| match kind {
                // A good order placed just before an over-stock one on the same variant may be
                // held for stock: in the exception queue, which is where it must then be.
                OrderKind::Good => {
                    let delivered = erp.contains_key(*name) && wms.contains_key(*name);
                    let held = teams["purchasing"].contains_key(*name);
                    !delivered && !held
                }
                bad => !teams[team_of(rule_of(**bad))].contains_key(*name),
            })
            .map(|(name, _)| name)
            .collect();
        let wrong: Vec<_> = levels
            .iter()
            .filter(|((sku, loc), want)| rig.level(sku, loc) != Some(**want))
            .collect();
        if lost.is_empty() && wrong.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            // Where each lost order did arrive, and what the daemon holds unfinished: enough
            // to tell a lost item from one stuck or delivered to only some of its targets.
            let arrived: Vec<String> = lost
                .iter()
                .take(20)
                .map(|name| {
                    let mut at: Vec<&str> = [("erp", &erp), ("wms", &wms)]
                        .into_iter()
                        .chain(teams.iter().map(|(t, r)| (*t, r)))
                        .filter(|(_, r)| r.contains_key(*name))
                        .map(|(t, _)| t)
                        .collect();
                    if at.is_empty() {
                        at.push("nowhere");
                    }
                    format!("{name} ({:?}) at {}", orders[*name], at.join("+"))
                })
                .collect();
            let unfinished: Vec<String> = ["pending", "in_flight", "retrying", "exception"]
                .into_iter()
                .flat_map(|state| {
                    let args = ["items", "list", "--json", "--limit", "50", "--state", state];
                    let out = xconnector().args(args).arg("--config").arg(config).output();
                    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
                    text.ok()
                })
                .collect();
            panic!(
                "{} acknowledged orders not delivered: {}; {} acknowledged stock levels not in \
                 the shop, e.g. {:?}; unfinished items: {}",
                lost.len(),
                arrived.join(", "),
                wrong.len(),
                &wrong[..wrong.len().min(10)],
                unfinished.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
