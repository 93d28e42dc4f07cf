//! The simulated Shopify Admin GraphQL API that the tests and the demo run against.
//!
//! A [`Simulator`] serves `POST /admin/api/{version}/graphql.json` over real HTTP for one shop,
//! with Shopify's query cost model, leaky bucket, errors, `userErrors`, idempotency keys and
//! compare-and-swap, plus injectable transport faults. Tests and the traffic generator change
//! the shop directly through a [`ShopHandle`]; every change becomes a [`ShopEvent`] for the
//! webhook sender.
//!
//! Map of the modules, in the order a request meets them:
//! - `server`: HTTP, auth, request ids, injected faults, dropping connections; also the
//!   staged-upload form (`multipart`) that bulk mutations read their variables from;
//! - `graphql`: one request through the pipeline (document → cost → bucket → execute → refund);
//! - `document`: parse/validate against Shopify's schema, operations, variables, arguments;
//! - `cost`: requested and actual query cost; `bucket`: the leaky bucket;
//! - `exec`: the root fields, one file per group, and the resource trees (`exec/objects`);
//! - `project`: selection sets over value trees (aliases, fragments, connections, nulls);
//! - `pagination`: cursors and pages; `search`: the `query:` syntax;
//! - `shop`: the state and its mutating methods; `seed`: a deterministic starting shop;
//!   `ledger`: the counters a restarted shop goes on from;
//! - `idempotency`, `faults`, `stats`, `gid`, `time`: small helpers.
//!
//! Beside the Admin API: `rest` renders the shop's events as REST webhook payloads, `pump`
//! hands them to `webhooks`, which delivers them signed; `traffic` places orders, changes
//! stock and edits customers on its own; `backoffice` plays the ERP/WMS/3PL receivers;
//! `warehouse` sends stock feeds to the daemon's inventory API, `crm` customer updates to
//! its customers API, `pim` product records to its products API, and `shipper` ships the
//! orders the back office's `wms` received and posts the shipments and their carrier
//! statuses to the daemon's shipments API; `customer_returns` has the shop's customers ask
//! for returns of what was delivered and the merchant refund in the admin, and
//! `return_receiver` receives the approved returns' parcels and posts what came back to the
//! daemon's returns API. (The daemon's `demo` starts all of it from `[simulator]`.) `schema`
//! is Shopify's published Admin schema, embedded.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use xconnector_sim::{Faults, SimConfig, Simulator};
//! use xconnector_sim::shop::{LineSpec, OrderSpec};
//!
//! let sim = Simulator::start(SimConfig::default(), "127.0.0.1:0".parse()?).await?;
//! // The client talks to sim.graphql_url() with X-Shopify-Access-Token: sim-token.
//! let mut events = sim.take_events().expect("first call");
//! let order = sim.shop().with(|shop| {
//!     let variant = shop.variant_by_sku("SKU-0001-S").map(|v| v.id);
//!     shop.create_order(OrderSpec {
//!         line_items: variant.map(|v| LineSpec::variant(v, 2)).into_iter().collect(),
//!         ..OrderSpec::default()
//!     })
//! });
//! while let Ok(event) = events.try_recv() {
//!     // "inventory_levels/update", "orders/create", "orders/paid": render and deliver.
//!     let _ = (event.topic, event.resource_id, order);
//! }
//! sim.set_faults(Faults { error_5xx: 0.1, ..Faults::none() });
//! println!("spent {} points", sim.stats().points_spent);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod backoffice;
pub mod bucket;
pub mod bulk;
pub mod cost;
pub mod crm;
pub mod customer_returns;
pub mod document;
pub mod erp_costs;
pub mod exec;
pub mod faults;
pub mod gid;
pub mod graphql;
pub(crate) mod idempotency;
pub mod ledger;
pub(crate) mod multipart;
pub mod pagination;
pub mod pim;
pub mod project;
pub mod pump;
pub mod rest;
pub mod return_receiver;
pub mod schema;
pub mod search;
pub mod seed;
mod server;
pub mod shipper;
pub mod shop;
pub mod stats;
pub mod time;
pub mod traffic;
pub mod warehouse;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::Context as _;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use bucket::{BucketConfig, ThrottleStatus};
pub use faults::Faults;
pub use seed::SeedSize;
pub use shop::{Shop, ShopEvent};
pub use stats::SimStats;

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// `name.myshopify.com`, reported by `shop { myshopifyDomain }`.
    pub shop_domain: String,
    /// The only `X-Shopify-Access-Token` accepted.
    pub access_token: String,
    /// Seed of the starting shop (same seed, same shop).
    pub seed: u64,
    pub size: SeedSize,
    /// The cost bucket (plan) and how fast simulated time runs.
    pub bucket: BucketConfig,
    pub faults: Faults,
    /// Where the shop keeps its counters across restarts ([`ledger`]); none: every start
    /// numbers from the beginning again.
    pub state_file: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            shop_domain: "demo.myshopify.com".into(),
            access_token: "sim-token".into(),
            seed: 1,
            size: SeedSize::small(),
            bucket: BucketConfig::standard(),
            faults: Faults::none(),
            state_file: None,
        }
    }
}

/// Shared, lock-protected access to the shop. The lock is a plain mutex held only for
/// synchronous work (never across `.await`), by requests and by whoever changes the shop.
#[derive(Clone, Debug)]
pub struct ShopHandle(Arc<Mutex<Shop>>);

impl ShopHandle {
    pub fn new(shop: Shop) -> ShopHandle {
        ShopHandle(Arc::new(Mutex::new(shop)))
    }

    /// Lock the shop. A panic while it was held does not make it unusable: the state is plain
    /// data, so the guard is recovered rather than poisoning every later request.
    pub fn lock(&self) -> MutexGuard<'_, Shop> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `f` with the shop locked.
    pub fn with<R>(&self, f: impl FnOnce(&mut Shop) -> R) -> R {
        f(&mut self.lock())
    }
}

/// Everything the HTTP handlers share.
pub(crate) struct SimState {
    pub shop: ShopHandle,
    pub access_token: String,
    pub faults: Mutex<Faults>,
    pub bucket: Mutex<bucket::Bucket>,
    pub stats: Mutex<SimStats>,
    /// Fault draws; seeded from the config so a run's faults can be replayed.
    pub rng: Mutex<fastrand::Rng>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimState {
    pub(crate) fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    pub(crate) fn stats_mut(&self, f: impl FnOnce(&mut SimStats)) {
        f(&mut lock(&self.stats));
    }

    pub(crate) fn with_rng<R>(&self, f: impl FnOnce(&mut fastrand::Rng) -> R) -> R {
        f(&mut lock(&self.rng))
    }
}

/// A running simulator.
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<SimState>,
    events: Mutex<Option<UnboundedReceiver<ShopEvent>>>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<()>,
    restarts: u64,
}

impl Simulator {
    /// Seed the shop and serve it on `listen` (`127.0.0.1:0` picks a free port).
    pub async fn start(config: SimConfig, listen: SocketAddr) -> anyhow::Result<Simulator> {
        // Seeding a large shop and parsing Shopify's schema take a while: not on an async
        // worker, and before the first request, so that no client's first call times out.
        let (seed, size) = (config.seed, config.size.clone());
        let ledger = match &config.state_file {
            Some(path) => Some(ledger::Ledger::open(
                path,
                &format!("seed {seed}, {size:?}"),
            )?),
            None => None,
        };
        let mut shop = tokio::task::spawn_blocking(move || {
            let _ = crate::schema::admin_schema();
            Shop::seed(seed, &size)
        })
        .await
        .context("simulator: seeding the shop failed")?;
        let restarts = ledger.as_ref().map_or(0, ledger::Ledger::restarts);
        if let Some(ledger) = ledger {
            let file = ledger.path().display().to_string();
            shop.keep_counters(ledger);
            let c = shop.counters();
            tracing::info!(
                %file,
                restarts,
                next_order_number = c.next_order_number,
                next_id = c.next_id,
                "simulator: the shop's numbering is kept across restarts"
            );
        }
        shop.domain = config.shop_domain.clone();
        shop.email = format!("owner@{}", config.shop_domain);
        shop.media_fetch_failure = config.faults.media_fetch_failure;
        shop.refund_faults = config.faults.refunds();
        shop.selling_while_written = config
            .faults
            .selling_while_written
            .iter()
            .cloned()
            .collect();
        let (events_tx, events_rx) = unbounded_channel();
        shop.set_event_sender(Some(events_tx));
        let state = Arc::new(SimState {
            shop: ShopHandle::new(shop),
            access_token: config.access_token.clone(),
            faults: Mutex::new(config.faults.clone()),
            bucket: Mutex::new(bucket::Bucket::new(config.bucket.clone(), Instant::now())),
            stats: Mutex::new(SimStats::default()),
            rng: Mutex::new(fastrand::Rng::with_seed(config.seed ^ 0x5eed_fa17)),
        });
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("simulator: cannot listen on {listen}"))?;
        let addr = listener
            .local_addr()
            .context("simulator: no local address")?;
        // Bulk results are downloaded from, and staged uploads posted to, the simulator itself.
        state
            .shop
            .with(|shop| shop.bulk.base_url = Some(format!("http://{addr}")));
        let app =
            server::router(state.clone()).into_make_service_with_connect_info::<server::ConnKill>();
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(server::SimListener::new(listener), app)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "simulator: server stopped with an error");
            }
        });
        tracing::info!(%addr, shop = %config.shop_domain, "simulated Shopify Admin API listening");
        Ok(Simulator {
            addr,
            state,
            events: Mutex::new(Some(events_rx)),
            shutdown,
            server,
            restarts,
        })
    }

    /// How many times a shop with this [`SimConfig::state_file`] started before this one (0
    /// without one): what is drawn at random per run (webhook ids) is seeded with it, so that a
    /// run does not repeat the last one's.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: what a client uses as its Shopify base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The GraphQL endpoint for the simulator's API version.
    pub fn graphql_url(&self) -> String {
        format!(
            "{}/admin/api/{}/graphql.json",
            self.base_url(),
            crate::schema::VERSION
        )
    }

    pub fn shop(&self) -> ShopHandle {
        self.state.shop.clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.state.shop.with(|shop| {
            shop.media_fetch_failure = faults.media_fetch_failure;
            shop.refund_faults = faults.refunds();
            shop.selling_while_written = faults.selling_while_written.iter().cloned().collect();
        });
        *lock(&self.state.faults) = faults;
    }

    /// Change the plan (bucket size, restore rate, clock scale) while running.
    pub fn set_bucket(&self, config: BucketConfig) {
        lock(&self.state.bucket).set_config(config, Instant::now());
    }

    /// The bucket now, as the next response would report it.
    pub fn throttle_status(&self) -> ThrottleStatus {
        lock(&self.state.bucket).status(Instant::now())
    }

    pub fn stats(&self) -> SimStats {
        lock(&self.state.stats).clone()
    }

    /// The shop's events (webhook topics), for the webhook sender. `Some` only the first time.
    pub fn take_events(&self) -> Option<UnboundedReceiver<ShopEvent>> {
        lock(&self.events).take()
    }

    /// Stop accepting, let requests in flight finish, and wait for the server to end (at most
    /// five seconds; then it is aborted); then write the counters as they are.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let mut server = self.server;
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
        self.state.shop.with(Shop::save_counters);
    }
}
