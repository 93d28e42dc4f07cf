//! The configuration schema: what `config.toml` may contain, with the defaults
//! that apply when a key or a whole section is left out.
//!
//! These types are deserialized through `de.rs` (see `parse`), which reports every
//! error with its key path and line. `EndpointConfig` relies on that deserializer's
//! `kind` tag convention, so feeding these types to another serde deserializer is
//! not supported.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use xconnector_actors::flows::module::Flows;

use super::{addr, duration, secret::Secret};

/// The whole file. Every section may be omitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub control: ControlConfig,
    pub log: LogConfig,
    pub daemon: DaemonConfig,
    /// `None`: the daemon runs without a Shopify connection.
    pub shopify: Option<ShopifyConfig>,
    pub endpoints: BTreeMap<String, EndpointConfig>,
    /// `[flows.NAME]`: read by the flow registry (`flows.rs`) once the rest is read.
    #[serde(deserialize_with = "super::flows::placeholder")]
    pub flows: Flows,
    pub simulator: SimulatorConfig,
}

/// `[server]`: the HTTP listener (webhooks, /api/v1, /metrics, /healthz, /readyz).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(deserialize_with = "addr::deserialize")]
    pub listen: SocketAddr,
    /// Bearer tokens accepted on /api/v1. Empty: /api/v1 rejects every request.
    pub api_tokens: Vec<Secret>,
    /// How long a connection may take to send a request's headers, and may stay idle between
    /// requests, before it is closed.
    #[serde(deserialize_with = "duration::deserialize")]
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive in full; a slower one is answered 408.
    #[serde(deserialize_with = "duration::deserialize")]
    pub body_timeout: Duration,
    /// Connections served at once; past it the connection idle the longest is closed, or the
    /// new one when none is idle.
    pub max_connections: u32,
    /// Memory for webhook bodies being read before their signature is checked, in MiB; a
    /// delivery that finds none free within a second is answered 503 (Shopify retries).
    pub body_memory_mib: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            api_tokens: Vec::new(),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_connections: 1024,
            body_memory_mib: 64,
        }
    }
}

/// `[store]`: the fjall database.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub dir: PathBuf,
    /// How long a claimed item stays invisible before it is due again (after a crash).
    #[serde(deserialize_with = "duration::deserialize")]
    pub lease: Duration,
    /// fjall's block cache, in MiB.
    pub cache_mib: u32,
    /// All memtables together, in MiB: past it the largest is flushed to disk.
    pub write_buffer_mib: u32,
    /// All journals together, in MiB (at least 64).
    pub journal_mib: u32,
    /// Below this much free space on the store's volume writes are refused (reads go on), in
    /// MiB; unset: 1 MiB, or a 64th of a smaller volume.
    pub min_free_mib: Option<u32>,
    /// A store refusing writes resumes once this much is free, in MiB; unset: 16 MiB, or an
    /// eighth of a smaller volume.
    pub resume_free_mib: Option<u32>,
    pub retention: RetentionConfig,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data"),
            lease: Duration::from_secs(30),
            cache_mib: 32,
            write_buffer_mib: 64,
            journal_mib: 128,
            min_free_mib: None,
            resume_free_mib: None,
            retention: RetentionConfig::default(),
        }
    }
}

/// `[store.retention]`: how long finished work is kept ("0s": forever).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Done items, after they finished.
    #[serde(deserialize_with = "duration::deserialize")]
    pub done: Duration,
    /// Resolved and cancelled items, after they were closed.
    #[serde(deserialize_with = "duration::deserialize")]
    pub closed: Duration,
    /// Entries of the audit log.
    #[serde(deserialize_with = "duration::deserialize")]
    pub audit: Duration,
    /// Webhook and request dedupe keys.
    #[serde(deserialize_with = "duration::deserialize")]
    pub dedupe: Duration,
    /// How often a prune step runs while nothing more is due.
    #[serde(deserialize_with = "duration::deserialize")]
    pub prune_every: Duration,
    /// Keys one step looks at, at most.
    pub prune_batch: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            done: Duration::from_secs(14 * DAY),
            closed: Duration::from_secs(90 * DAY),
            audit: Duration::from_secs(365 * DAY),
            dedupe: Duration::from_secs(7 * DAY),
            prune_every: Duration::from_secs(60),
            prune_batch: 2_000,
        }
    }
}

impl StoreConfig {
    /// How the store bounds its growth: retention and fjall's memory.
    pub fn pruning(&self) -> xconnector_actors::store::Pruning {
        let mib = |n: u32| u64::from(n) << 20;
        xconnector_actors::store::Pruning {
            tuning: xconnector_actors::store::Tuning {
                cache: mib(self.cache_mib),
                write_buffer: mib(self.write_buffer_mib),
                journal: mib(self.journal_mib),
            },
            disk: xconnector_actors::store::DiskRoom {
                min_free: self.min_free_mib.map(mib),
                resume_free: self.resume_free_mib.map(mib),
            },
            ..self.retention.pruning()
        }
    }
}

impl RetentionConfig {
    pub fn pruning(&self) -> xconnector_actors::store::Pruning {
        let ms = |d: Duration| d.as_millis() as u64;
        xconnector_actors::store::Pruning {
            retention: xconnector_actors::store::Retention {
                done: ms(self.done),
                closed: ms(self.closed),
                audit: ms(self.audit),
            },
            dedupe: self.dedupe,
            every: self.prune_every,
            batch: self.prune_batch as usize,
            ..Default::default()
        }
    }
}

/// `[control]`: the Unix control socket used by the TUI and the CLI.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlConfig {
    pub socket: PathBuf,
    /// Items one step of a bulk job (`items act ACTION --flow F --state S`) acts on: one
    /// durable write each, and the longest a step holds back the writes queued behind it.
    pub bulk_batch: u32,
    /// A rest between two steps of a bulk job, leaving the store to the flows while a large
    /// one runs.
    #[serde(deserialize_with = "duration::deserialize")]
    pub bulk_pause: Duration,
}

impl Default for ControlConfig {
    fn default() -> Self {
        let pace = xconnector_actors::jobs::JobPace::default();
        Self {
            socket: PathBuf::from("data/xconnector.sock"),
            bulk_batch: pace.batch as u32,
            bulk_pause: pace.pause,
        }
    }
}

impl ControlConfig {
    /// How fast bulk jobs go.
    pub fn job_pace(&self) -> xconnector_actors::jobs::JobPace {
        xconnector_actors::jobs::JobPace {
            batch: self.bulk_batch as usize,
            pause: self.bulk_pause,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing `EnvFilter` directive string; `RUST_LOG` overrides it. Checked by
    /// tracing-subscriber at startup, not here, so the syntax has one owner.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `[daemon]`: supervision and shutdown.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    #[serde(deserialize_with = "duration::deserialize")]
    pub shutdown_grace: Duration,
    /// More than this many restarts of one child within `restart_window` stops the daemon.
    pub max_restarts: u32,
    #[serde(deserialize_with = "duration::deserialize")]
    pub restart_window: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub restart_backoff: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub restart_backoff_max: Duration,
    /// systemd watchdog pings (only when systemd asks for them).
    pub watchdog: bool,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            shutdown_grace: Duration::from_secs(10),
            max_restarts: 5,
            restart_window: Duration::from_secs(60),
            restart_backoff: Duration::from_millis(250),
            restart_backoff_max: Duration::from_secs(10),
            watchdog: true,
        }
    }
}

/// `[shopify]`. No `Default`: a shop domain and an access token have no sensible
/// default, and leaving the section out is how one runs without Shopify.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopifyConfig {
    /// `NAME.myshopify.com`
    pub shop_domain: String,
    /// `YYYY-MM`, a quarterly Admin API release (month 01, 04, 07 or 10).
    #[serde(default = "default_api_version")]
    pub api_version: String,
    pub access_token: Secret,
    /// Several during rotation; a webhook signed with any of them is accepted.
    #[serde(default)]
    pub webhook_secrets: Vec<Secret>,
    /// Defaults to `https://{shop_domain}`; the demo points it at the simulator.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The shop's plan, only a hint for rate-limit expectations.
    #[serde(default)]
    pub plan: Option<String>,
    /// This daemon's `/webhooks/shopify` as Shopify reaches it (public https URL). When set
    /// (and `manage_webhooks` is on), the daemon subscribes it on start to every topic its
    /// enabled flows consume.
    #[serde(default)]
    pub webhook_address: Option<String>,
    #[serde(default = "default_true")]
    pub manage_webhooks: bool,
}

fn default_true() -> bool {
    true
}

pub const DEFAULT_API_VERSION: &str = "2026-10";

fn default_api_version() -> String {
    DEFAULT_API_VERSION.into()
}

impl ShopifyConfig {
    /// `base_url`, or `https://{shop_domain}` when unset, without a trailing slash.
    pub fn effective_base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}", self.shop_domain),
        }
    }
}

/// `[endpoints.NAME]`, tagged by `kind = "http" | "file"`.
///
/// The rename is not a display name: it tells `de.rs` that this enum is selected
/// by the table's `kind` key (serde's own `tag = "kind"` would buffer the table and
/// lose the line numbers of everything inside it).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename = "$tag:kind", rename_all = "lowercase")]
pub enum EndpointConfig {
    Http(HttpEndpoint),
    File(FileEndpoint),
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpEndpoint {
    pub url: String,
    /// Extra request headers. Values often carry credentials (`${VAR}`), so the
    /// `Debug` impl below prints only the names.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// When set, each request carries an HMAC-SHA256 signature of its body.
    #[serde(default)]
    pub signing_secret: Option<Secret>,
    #[serde(
        default = "default_http_timeout",
        deserialize_with = "duration::deserialize"
    )]
    pub timeout: Duration,
    /// Requests in flight at once, 1..=1024.
    #[serde(default = "default_http_concurrency")]
    pub concurrency: u32,
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(
        default = "default_max_age",
        deserialize_with = "duration::deserialize"
    )]
    pub max_age: Duration,
    /// Transient failures in a row after which the endpoint is left alone for a cool-down.
    #[serde(default = "default_breaker_threshold")]
    pub breaker_threshold: u32,
    /// The first cool-down; it doubles while probes fail, up to `breaker_cooldown_max`.
    #[serde(
        default = "default_breaker_cooldown",
        deserialize_with = "duration::deserialize"
    )]
    pub breaker_cooldown: Duration,
    #[serde(
        default = "default_breaker_cooldown_max",
        deserialize_with = "duration::deserialize"
    )]
    pub breaker_cooldown_max: Duration,
}

fn default_breaker_threshold() -> u32 {
    5
}

fn default_breaker_cooldown() -> Duration {
    Duration::from_secs(10)
}

/// A dead endpoint is probed at least this often: the probe that finds it back wakes every
/// delivery waiting for it.
fn default_breaker_cooldown_max() -> Duration {
    Duration::from_secs(60)
}

fn default_http_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_http_concurrency() -> u32 {
    16
}

/// Transient failures of one delivery before it becomes an exception.
fn default_max_attempts() -> u32 {
    10
}

/// How long one delivery keeps being retried before it becomes an exception.
fn default_max_age() -> Duration {
    Duration::from_secs(24 * 3600)
}

fn default_file_mode() -> String {
    "0640".into()
}

/// A file mode written in octal ("0640", "640"), at most 0777.
pub fn parse_mode(text: &str) -> Option<u32> {
    let digits = text.trim();
    let digits = digits.strip_prefix("0o").unwrap_or(digits);
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777 && !digits.is_empty())
}

fn default_rotate_bytes() -> u64 {
    64 * 1024 * 1024
}

impl fmt::Debug for HttpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: BTreeMap<&str, Secret> = self
            .headers
            .keys()
            .map(|name| (name.as_str(), Secret::default()))
            .collect();
        f.debug_struct("HttpEndpoint")
            .field("url", &self.url)
            .field("headers", &headers)
            .field("signing_secret", &self.signing_secret)
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .field("max_attempts", &self.max_attempts)
            .field("max_age", &self.max_age)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .field("breaker_cooldown_max", &self.breaker_cooldown_max)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEndpoint {
    pub dir: PathBuf,
    #[serde(default)]
    pub format: FileFormat,
    /// CSV columns: top-level fields or dotted paths of the record (`customer.email`), and
    /// `idempotency_key`. Required with `format = "csv"`.
    #[serde(default)]
    pub columns: Vec<String>,
    /// A file is rotated before it would grow past this many bytes (and daily).
    #[serde(default = "default_rotate_bytes")]
    pub rotate_bytes: u64,
    /// Permissions of the files written, an octal mode such as "0640" (the directory, when the
    /// endpoint creates it, gets the matching search bits: 0750).
    #[serde(default = "default_file_mode")]
    pub mode: String,
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(
        default = "default_max_age",
        deserialize_with = "duration::deserialize"
    )]
    pub max_age: Duration,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    #[default]
    Jsonl,
    Csv,
}

/// `[simulator]`: the built-in simulated shop and back office, started inside the daemon for
/// the demo (and by `xconnector sim` on its own).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorConfig {
    pub enabled: bool,
    /// Where the simulated Admin API listens; `[shopify] base_url` points here in the demo.
    #[serde(deserialize_with = "addr::deserialize")]
    pub listen: SocketAddr,
    pub shop_domain: String,
    /// The token the simulated shop accepts (`[shopify] access_token` must match).
    pub access_token: Secret,
    /// The secret the simulated shop signs webhooks with (one of `[shopify] webhook_secrets`).
    pub webhook_secret: Secret,
    /// Where the simulated shop delivers webhooks; empty: to this daemon's own listener.
    pub webhook_url: String,
    /// Deterministic seed data: same seed and sizes, same shop.
    pub seed: u64,
    pub products: u32,
    pub locations: u32,
    pub customers: u32,
    pub orders: u32,
    /// Share of webhook deliveries sent twice, and held back to arrive after a later one.
    pub duplicate_share: f64,
    pub reorder_share: f64,
    /// The cost bucket: Standard plan 2000 points refilled at 100 points/s.
    pub bucket_size: f64,
    pub restore_rate: f64,
    pub traffic: TrafficConfig,
    pub faults: FaultsConfig,
    /// Also run the simulated back office: one receiver per endpoint name at
    /// `http://{back_office_listen}/{name}`, recording what it gets.
    pub back_office: bool,
    #[serde(deserialize_with = "addr::deserialize")]
    pub back_office_listen: SocketAddr,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8081)),
            shop_domain: "demo.myshopify.com".into(),
            access_token: Secret::new("sim-token"),
            webhook_secret: Secret::new("sim-webhook-secret"),
            webhook_url: String::new(),
            seed: 1,
            products: 50,
            locations: 2,
            customers: 30,
            orders: 20,
            duplicate_share: 0.05,
            reorder_share: 0.05,
            bucket_size: 2000.0,
            restore_rate: 100.0,
            traffic: TrafficConfig::default(),
            faults: FaultsConfig::default(),
            back_office: false,
            back_office_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 9100)),
        }
    }
}

/// `[simulator.traffic]`: what the simulated shop does on its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrafficConfig {
    /// New orders per second (0: none).
    pub orders_per_second: f64,
    /// Share of new orders that something is wrong with: missing address fields, pending
    /// payment, high fraud risk, more quantity than stock.
    pub bad_share: f64,
    /// Stock level changes per second made in the shop (0: none).
    pub stock_changes_per_second: f64,
    /// Customers created or edited per second in the shop (0: none).
    pub customer_changes_per_second: f64,
    /// Merchandisers' edits per second to the PIM's products in the shop (0: none).
    pub merchandising_edits_per_second: f64,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        Self {
            orders_per_second: 0.0,
            bad_share: 0.1,
            stock_changes_per_second: 0.0,
            customer_changes_per_second: 0.0,
            merchandising_edits_per_second: 0.0,
        }
    }
}

/// `[simulator.faults]`: trouble the simulated Admin API makes on purpose.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsConfig {
    #[serde(deserialize_with = "duration::deserialize")]
    pub latency: Duration,
    /// Shares (0 to 1) of requests answered 503, answered 429 with Retry-After, or dropped.
    pub error_5xx: f64,
    pub error_429: f64,
    pub drop_connection: f64,
    /// Share (0 to 1) of image URLs the shop fails to fetch.
    pub media_fetch_failure: f64,
}

impl Default for FaultsConfig {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            error_5xx: 0.0,
            error_429: 0.0,
            drop_connection: 0.0,
            media_fetch_failure: 0.0,
        }
    }
}
