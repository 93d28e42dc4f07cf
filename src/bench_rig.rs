//! An orders daemon as the operators run it, for the benchmarks that load it from outside:
//! this binary's `run --headless` as a child process with its own data directory and log, the
//! orders flow delivering to a receiver in this process that only counts, an empty simulated
//! shop for its reconciliation poll, and signed `orders/create` webhooks of Shopify's
//! documented shape. What is measured is the child's own memory (`/proc/PID/status`), none of
//! the load generator's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;

use crate::sim::{SeedSize, SimConfig, Simulator};

pub(crate) const SECRET: &str = "soak-secret";
pub(crate) const SHOP: &str = "demo.myshopify.com";
/// Shopify's documented `orders/create` payload (API 2026-07), the one the tests use.
const FIXTURE: &str = include_str!("../tests/fixtures/shopify/webhooks-2026-07/orders/create.json");

/// The daemon, its simulated shop and the receiver's count of delivered orders.
pub(crate) struct Rig {
    pub(crate) daemon: Daemon,
    pub(crate) delivered: Arc<AtomicU64>,
    pub(crate) data: std::path::PathBuf,
    pub(crate) log: std::path::PathBuf,
    sim: Simulator,
}

impl Rig {
    /// Starts everything under `base`; `extra` is added to the daemon's config (see
    /// [`config_text`]).
    pub(crate) async fn start(base: &Path, extra: &str, wrap: Option<&str>) -> anyhow::Result<Rig> {
        // The orders flow needs a shop for its reconciliation poll: an empty simulated one.
        let sim = Simulator::start(
            SimConfig {
                size: SeedSize {
                    locations: 1,
                    products: 1,
                    variants_per_product: 1,
                    customers: 0,
                    orders: 0,
                },
                ..SimConfig::default()
            },
            "127.0.0.1:0".parse()?,
        )
        .await?;
        let delivered = Arc::new(AtomicU64::new(0));
        let receiver = start_receiver(delivered.clone()).await?;
        let data = base.join("data");
        let config = base.join("config.toml");
        std::fs::write(
            &config,
            config_text(&data, &sim.base_url(), receiver, extra),
        )?;
        let log = base.join("daemon.log");
        let daemon = match Daemon::start(&config, &log, wrap).await {
            Ok(d) => d,
            Err(e) => {
                sim.shutdown().await;
                return Err(e);
            }
        };
        Ok(Rig {
            daemon,
            delivered,
            data,
            log,
            sim,
        })
    }

    /// Stops the daemon and the shop; after a failure, shows the end of the daemon's log.
    pub(crate) async fn stop(mut self, failed: bool) {
        self.daemon.stop().await;
        self.sim.shutdown().await;
        if failed {
            eprintln!("the daemon's log ({}), last lines:", self.log.display());
            eprintln!("{}", tail(&self.log, 20));
        }
    }
}

/// Runs `f` in a fresh directory for this benchmark (under `dir`, else the system's temp dir),
/// removed afterwards unless `keep`.
pub(crate) async fn workdir<F, Fut>(
    kind: &str,
    dir: Option<&Path>,
    keep: bool,
    f: F,
) -> anyhow::Result<()>
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let base = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("xconnector-bench-{kind}-{}", std::process::id()));
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    let result = f(base.clone()).await;
    if keep {
        println!("kept: {}", base.display());
    } else {
        let _ = std::fs::remove_dir_all(&base);
    }
    result
}

/// The daemon's highest resident size into `peak` (KiB), four times a second.
pub(crate) async fn watch_rss(pid: u32, peak: Arc<AtomicU64>) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    loop {
        every.tick().await;
        if let Some(kib) = rss_kib(pid) {
            peak.fetch_max(kib, Ordering::Relaxed);
        }
    }
}

/// Posts one delivery as Shopify does, again (as Shopify would) while the daemon refuses it;
/// false after 10 s of refusals.
pub(crate) async fn post_webhook(
    client: &reqwest::Client,
    url: &str,
    n: u64,
    body: Vec<u8>,
    sig: String,
) -> bool {
    let body = Bytes::from(body);
    for _ in 0..200 {
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-shopify-topic", "orders/create")
            .header("x-shopify-shop-domain", SHOP)
            .header("x-shopify-api-version", "2026-07")
            .header("x-shopify-webhook-id", format!("soak-{n}"))
            .header("x-shopify-hmac-sha256", &sig)
            .body(body.clone())
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The receiver: answers 200 to every delivery and counts them, keeping nothing else.
pub(crate) async fn start_receiver(count: Arc<AtomicU64>) -> anyhow::Result<SocketAddr> {
    let app = Router::new()
        .route(
            "/erp",
            post(
                |State(count): State<Arc<AtomicU64>>, _body: Bytes| async move {
                    count.fetch_add(1, Ordering::Relaxed);
                    "ok"
                },
            ),
        )
        .with_state(count);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The daemon's configuration: the orders flow alone, to the receiver, with the reconciliation
/// poll against the (empty) simulated shop; `extra` is added at its end (sections other than
/// `[server]`, `[store]`, `[control]`, `[log]` and `[shopify]`, or their subsections).
fn config_text(data: &Path, shop: &str, receiver: SocketAddr, extra: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"

[store]
dir = "{data}"

[control]
socket = "{data}/xconnector.sock"

[log]
format = "json"
level = "info"

[shopify]
shop_domain = "{SHOP}"
access_token = "sim-token"
webhook_secrets = ["{SECRET}"]
base_url = "{shop}"

[endpoints.erp]
kind = "http"
url = "http://{receiver}/erp"
timeout = "10s"

[flows.orders]
targets = ["erp"]
reconcile_every = "1h"
{extra}"#,
        data = data.display(),
    )
}

/// The daemon as a child process, its log in a file.
pub(crate) struct Daemon {
    child: Child,
    /// The daemon itself (the child, or under `--wrap` the child's descendant running this
    /// binary): whose memory is measured and who is asked to stop.
    pub(crate) pid: u32,
    pub(crate) addr: SocketAddr,
}

impl Daemon {
    pub(crate) async fn start(
        config: &Path,
        log: &Path,
        wrap: Option<&str>,
    ) -> anyhow::Result<Daemon> {
        let exe = std::env::current_exe().context("cannot find this program's path")?;
        let mut words: Vec<String> = wrap
            .map(|w| w.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        words.push(exe.display().to_string());
        let mut cmd = std::process::Command::new(&words[0]);
        cmd.args(&words[1..])
            .args(["run", "--headless", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", words.join(" ")))?;
        let deadline = Instant::now() + Duration::from_secs(120);
        let addr = loop {
            if let Some(status) = child.try_wait()? {
                bail!("the daemon exited at start ({status}):\n{}", tail(log, 20));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("the daemon did not become ready:\n{}", tail(log, 20));
            }
            if let Some(addr) = ready_addr(log) {
                break addr;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let pid = daemon_pid(child.id(), &exe).unwrap_or(child.id());
        Ok(Daemon { child, pid, addr })
    }

    /// SIGTERM, then up to 30 s for a clean stop (a profiler's wrapper writes its file after).
    pub(crate) async fn stop(&mut self) {
        // SAFETY: kill only sends a signal to the process we started (or its descendant).
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The HTTP address the daemon announced, once it also said it is ready.
pub(crate) fn ready_addr(log: &Path) -> Option<SocketAddr> {
    let text = std::fs::read_to_string(log).ok()?;
    if !text.contains("xconnector ready") {
        return None;
    }
    text.lines()
        .filter(|l| l.contains("http listening"))
        .find_map(|l| {
            serde_json::from_str::<Value>(l).ok()?["addr"]
                .as_str()?
                .parse()
                .ok()
        })
}

/// `root` or its first descendant running `exe`.
pub(crate) fn daemon_pid(root: u32, exe: &Path) -> Option<u32> {
    let mut queue = vec![root];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let mut i = 0;
        while let Some(&pid) = queue.get(i) {
            if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe) {
                return Some(pid);
            }
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            queue.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
            i += 1;
        }
        queue.truncate(1);
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// VmRSS of a process, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// What a directory takes on disk (allocated blocks, as `du` counts them).
pub(crate) fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The fixture as a template: each order gets its own id, name, number, customer and time,
/// put into the serialized body without building a JSON tree per order.
pub(crate) struct Template {
    parts: Vec<Part>,
}

enum Part {
    Text(Vec<u8>),
    OrderId,
    OrderNumber,
    CustomerId,
    Time,
}

/// Placeholders put into the fixture, then cut out of its serialized text.
const MARKS: [(&str, bool); 4] = [
    ("@@ORDER_ID@@", true),
    ("@@ORDER_NUMBER@@", true),
    ("@@CUSTOMER_ID@@", true),
    ("@@TIME@@", false),
];

impl Template {
    pub(crate) fn from_fixture() -> anyhow::Result<Template> {
        let doc: Value = serde_json::from_str(FIXTURE).context("the orders/create fixture")?;
        let mut order = doc
            .get("response")
            .cloned()
            .context("the orders/create fixture has no response")?;
        let set = |v: &mut Value, key: &str, to: &str| {
            if let Some(slot) = v.get_mut(key) {
                *slot = Value::String(to.to_string());
            }
        };
        set(&mut order, "id", "@@ORDER_ID@@");
        set(
            &mut order,
            "admin_graphql_api_id",
            "gid://shopify/Order/@@ORDER_ID@@",
        );
        set(&mut order, "name", "#@@ORDER_NUMBER@@");
        set(&mut order, "order_number", "@@ORDER_NUMBER@@");
        set(&mut order, "number", "@@ORDER_NUMBER@@");
        for key in ["created_at", "updated_at", "processed_at"] {
            set(&mut order, key, "@@TIME@@");
        }
        // Not cancelled (the sample is): a cancelled order never released goes nowhere.
        order["cancelled_at"] = Value::Null;
        order["cancel_reason"] = Value::Null;
        if let Some(customer) = order.get_mut("customer") {
            set(customer, "id", "@@CUSTOMER_ID@@");
            set(
                customer,
                "admin_graphql_api_id",
                "gid://shopify/Customer/@@CUSTOMER_ID@@",
            );
        }
        let mut text = serde_json::to_string(&order)?;
        // Numbers: the placeholder replaces the quoted string.
        for (mark, number) in MARKS {
            if number {
                text = text.replace(&format!("\"{mark}\""), mark);
            }
        }
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        loop {
            let next = MARKS
                .iter()
                .enumerate()
                .filter_map(|(i, (m, _))| rest.find(m).map(|at| (at, i, m.len())))
                .min();
            let Some((at, i, len)) = next else {
                parts.push(Part::Text(rest.as_bytes().to_vec()));
                break;
            };
            parts.push(Part::Text(rest.as_bytes()[..at].to_vec()));
            parts.push(match i {
                0 => Part::OrderId,
                1 => Part::OrderNumber,
                2 => Part::CustomerId,
                _ => Part::Time,
            });
            rest = &rest[at + len..];
        }
        Ok(Template { parts })
    }

    /// Order `n`'s body: its own order id, number and customer, and a time of its own (one
    /// second apart), so each is a new order and a new version.
    pub(crate) fn render(&self, n: u64) -> Vec<u8> {
        use std::io::Write;
        let mut out = Vec::with_capacity(18 * 1024);
        let time = chrono::DateTime::from_timestamp(1_795_000_000 + n as i64, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for part in &self.parts {
            let _ = match part {
                Part::Text(t) => out.write_all(t),
                Part::OrderId => write!(out, "{}", 5_000_000_000_000 + n),
                Part::OrderNumber => write!(out, "{}", 1000 + n),
                Part::CustomerId => write!(out, "{}", 7_000_000_000_000 + n),
                Part::Time => out.write_all(time.as_bytes()),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_order_is_its_own_valid_order_of_the_fixture_shape() {
        let t = Template::from_fixture().unwrap();
        let a: Value = serde_json::from_slice(&t.render(1)).unwrap();
        let b: Value = serde_json::from_slice(&t.render(2)).unwrap();
        let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
        assert_eq!(a["id"], 5_000_000_000_001u64);
        assert_eq!(
            a["admin_graphql_api_id"],
            "gid://shopify/Order/5000000000001"
        );
        assert_eq!(a["name"], "#1001");
        assert_eq!(b["customer"]["id"], 7_000_000_000_002u64);
        assert_eq!(a["cancelled_at"], Value::Null);
        assert_ne!(a["updated_at"], b["updated_at"]);
        // Everything else is Shopify's sample.
        assert_eq!(a["line_items"], fixture["response"]["line_items"]);
        let keys = |v: &Value| v.as_object().map(|o| o.len());
        assert_eq!(keys(&a), keys(&fixture["response"]));
        // The orders flow takes it as an order version.
        let version =
            xconnector_actors::flows::orders::rules::parse_time(a["updated_at"].as_str().unwrap());
        assert!(version.is_some());
    }
}
