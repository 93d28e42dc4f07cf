//! `xconnector bench soak`: a long run of signed `orders/create` webhooks of Shopify's
//! documented shape through the daemon as operators run it (this binary, `run --headless`, a
//! child process with its own data directory), the orders flow delivering each to a receiver
//! in this process that only counts. Every `every` orders it prints the daemon's resident
//! memory (its own `/proc/PID/status`, nothing of the load generator's), the data directory's
//! size on disk and the store's items by state; at the end, how much the daemon's memory grew
//! after the first 200,000 orders, against the target of less than 10%.

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
use xconnector_actors::signature::shopify_signature;

use crate::sim::{SeedSize, SimConfig, Simulator};

const SECRET: &str = "soak-secret";
const SHOP: &str = "demo.myshopify.com";
/// Shopify's documented `orders/create` payload (API 2026-07), the one the tests use.
const FIXTURE: &str = include_str!("../tests/fixtures/shopify/webhooks-2026-07/orders/create.json");
/// Growth of the daemon's memory after the baseline that still meets the target.
const TARGET_GROWTH: f64 = 0.10;

/// What `xconnector bench soak` was asked for.
pub struct Soak {
    pub orders: u64,
    pub every: u64,
    pub baseline: u64,
    pub concurrency: usize,
    pub backlog: u64,
    pub dir: Option<PathBuf>,
    pub keep: bool,
    /// `[store.retention]` done and closed; `None` leaves the section out.
    pub retention: Option<String>,
    pub prune_every: String,
    pub wrap: Option<String>,
}

/// One line of the report.
#[derive(Debug, Clone, Default)]
struct Sample {
    orders: u64,
    delivered: u64,
    rate: f64,
    rss_mib: f64,
    /// The highest resident size since the previous line (sampled four times a second).
    rss_max_mib: f64,
    store_mib: f64,
    waiting: u64,
    in_flight: u64,
    done: u64,
    other: u64,
    /// Removed by retention so far.
    retired: u64,
}

pub async fn soak(args: Soak) -> anyhow::Result<()> {
    let base = args
        .dir
        .clone()
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("xconnector-bench-soak-{}", std::process::id()));
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    let result = run(&base, &args).await;
    if args.keep {
        println!("kept: {}", base.display());
    } else {
        let _ = std::fs::remove_dir_all(&base);
    }
    result
}

async fn run(base: &Path, args: &Soak) -> anyhow::Result<()> {
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
    std::fs::write(&config, config_text(&data, &sim.base_url(), receiver, args))?;
    let log = base.join("daemon.log");
    let mut daemon = Daemon::start(&config, &log, args.wrap.as_deref()).await?;
    let result = push(&daemon, &data, &delivered, args).await;
    daemon.stop().await;
    sim.shutdown().await;
    if result.is_err() {
        eprintln!("the daemon's log ({}), last lines:", log.display());
        eprintln!("{}", tail(&log, 20));
    }
    result
}

async fn push(
    daemon: &Daemon,
    data: &Path,
    delivered: &AtomicU64,
    args: &Soak,
) -> anyhow::Result<()> {
    let client = xconnector_actors::http_client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let metrics = format!("http://{}/metrics", daemon.addr);
    let peak = Arc::new(AtomicU64::new(0));
    let watch = tokio::spawn(watch_rss(daemon.pid, peak.clone()));
    let result = load(daemon, data, delivered, args, &client, &metrics, &peak).await;
    watch.abort();
    result
}

/// The daemon's highest resident size into `peak` (KiB), four times a second.
async fn watch_rss(pid: u32, peak: Arc<AtomicU64>) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    loop {
        every.tick().await;
        if let Some(kib) = rss_kib(pid) {
            peak.fetch_max(kib, Ordering::Relaxed);
        }
    }
}

async fn load(
    daemon: &Daemon,
    data: &Path,
    delivered: &AtomicU64,
    args: &Soak,
    client: &reqwest::Client,
    metrics: &str,
    peak: &AtomicU64,
) -> anyhow::Result<()> {
    let template = Template::from_fixture()?;
    let url = format!("http://{}/webhooks/shopify", daemon.addr);
    let sample_body = template.render(1);
    println!(
        "soak benchmark: {} signed orders/create webhooks ({:.1} KiB, Shopify's documented shape) → daemon (pid {}) → orders flow → 1 HTTP receiver",
        args.orders,
        sample_body.len() as f64 / 1024.0,
        daemon.pid
    );
    match &args.retention {
        Some(r) => println!(
            "retention: done and closed items removed {r} after they finished, a prune step every {}",
            args.prune_every
        ),
        None => println!("retention: the daemon's defaults"),
    }
    println!(
        "{:>9} {:>10} {:>11} {:>8} {:>8} {:>10} {:>8} {:>9} {:>9} {:>7} {:>9}",
        "orders",
        "delivered",
        "webhooks/s",
        "rss MiB",
        "rss max",
        "store MiB",
        "waiting",
        "in flight",
        "done",
        "other",
        "retired"
    );
    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let mut last = (0u64, Instant::now());
    let mut tasks = tokio::task::JoinSet::new();
    let mut refused = 0u64;
    let every = args.every.max(1);
    for n in 1..=args.orders {
        while tasks.len() >= args.concurrency.max(1) {
            refused += joined(tasks.join_next().await);
        }
        // Bounded: the store buffers what the flow has not delivered yet, and a backlog that
        // only grows would measure the backlog, not the daemon.
        while n.saturating_sub(delivered.load(Ordering::Relaxed)) > args.backlog.max(1) {
            tokio::time::sleep(Duration::from_millis(5)).await;
            while let Some(done) = tasks.try_join_next() {
                refused += joined(Some(done));
            }
        }
        let body = template.render(n);
        let sig = shopify_signature(SECRET, &body);
        let (http, url) = (client.clone(), url.clone());
        tasks.spawn(async move { post_webhook(&http, &url, n, body, sig).await });
        if n % every == 0 || n == args.orders {
            while let Some(done) = tasks.join_next().await {
                refused += joined(Some(done));
            }
            if refused > 0 {
                bail!(
                    "{refused} webhooks were refused or unanswered for 10 s (the daemon stopped?)"
                );
            }
            let rate = (n - last.0) as f64 / last.1.elapsed().as_secs_f64().max(1e-9);
            last = (n, Instant::now());
            let s = sample(daemon, data, client, metrics, n, delivered, rate, peak).await;
            print_sample(&s);
            samples.push(s);
        }
    }
    // The tail: everything accepted reaches the receiver.
    let deadline = Instant::now() + Duration::from_secs(120);
    while delivered.load(Ordering::Relaxed) < args.orders && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    let end = sample(
        daemon,
        data,
        client,
        metrics,
        args.orders,
        delivered,
        0.0,
        peak,
    )
    .await;
    println!(
        "all delivered: {} of {} orders after {:.0} s ({:.0} webhooks/s overall); daemon rss {:.1} MiB, store {:.1} MiB",
        end.delivered,
        args.orders,
        wall,
        args.orders as f64 / wall.max(1e-9),
        end.rss_mib,
        end.store_mib
    );
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Ok(());
    };
    // The highest resident size of each stretch of `every` orders: the one up to `baseline`
    // orders against the highest after it.
    let baseline = samples
        .iter()
        .find(|s| s.orders >= args.baseline && s.orders < last.orders)
        .unwrap_or(first);
    let most = samples
        .iter()
        .filter(|s| s.orders > baseline.orders)
        .map(|s| s.rss_max_mib)
        .fold(baseline.rss_max_mib, f64::max);
    let growth = most / baseline.rss_max_mib.max(1e-9) - 1.0;
    println!(
        "daemon rss, highest per {every} orders: {:.1} MiB up to {} orders, {:.1} MiB at most after ({:+.1}%; target < {:.0}%): {}; {:.1} MiB at {} orders",
        baseline.rss_max_mib,
        baseline.orders,
        most,
        growth * 100.0,
        TARGET_GROWTH * 100.0,
        if growth < TARGET_GROWTH {
            "met"
        } else {
            "MISSED"
        },
        last.rss_mib,
        last.orders,
    );
    let store_most = samples
        .iter()
        .map(|s| s.store_mib)
        .fold(end.store_mib, f64::max);
    println!(
        "store size: {:.1} MiB at {} orders, {:.1} MiB at most, {:.1} MiB at the end",
        baseline.store_mib, baseline.orders, store_most, end.store_mib
    );
    Ok(())
}

/// 1 when a post task failed for good.
fn joined(done: Option<Result<bool, tokio::task::JoinError>>) -> u64 {
    u64::from(!matches!(done, Some(Ok(true)) | None))
}

fn print_sample(s: &Sample) {
    println!(
        "{:>9} {:>10} {:>11.0} {:>8.1} {:>8.1} {:>10.1} {:>8} {:>9} {:>9} {:>7} {:>9}",
        s.orders,
        s.delivered,
        s.rate,
        s.rss_mib,
        s.rss_max_mib,
        s.store_mib,
        s.waiting,
        s.in_flight,
        s.done,
        s.other,
        s.retired
    );
}

#[allow(clippy::too_many_arguments)]
async fn sample(
    daemon: &Daemon,
    data: &Path,
    client: &reqwest::Client,
    metrics: &str,
    orders: u64,
    delivered: &AtomicU64,
    rate: f64,
    peak: &AtomicU64,
) -> Sample {
    let now = rss_kib(daemon.pid).unwrap_or(0);
    let mut s = Sample {
        orders,
        delivered: delivered.load(Ordering::Relaxed),
        rate,
        rss_mib: now as f64 / 1024.0,
        rss_max_mib: peak.swap(0, Ordering::Relaxed).max(now) as f64 / 1024.0,
        store_mib: disk_usage(data) as f64 / (1024.0 * 1024.0),
        ..Sample::default()
    };
    let text = match client.get(metrics).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    s.retired = retired(&text);
    for (state, n) in item_counts(&text) {
        match state.as_str() {
            "pending" | "retrying" => s.waiting += n,
            "in_flight" => s.in_flight += n,
            "done" => s.done += n,
            _ => s.other += n,
        }
    }
    s
}

/// (state, items) of every `xconnector_items{flow,state}` sample in a scrape.
fn item_counts(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("xconnector_items{")?;
            let (labels, value) = rest.split_once("} ")?;
            let state = labels
                .split(',')
                .find_map(|l| l.strip_prefix("state=\""))?
                .trim_end_matches('"');
            Some((state.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// Items retention removed, all flows (`xconnector_items_retired_total`).
fn retired(text: &str) -> u64 {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("xconnector_items_retired_total")?;
            rest.rsplit_once(' ')?.1.trim().parse::<u64>().ok()
        })
        .sum()
}

/// Posts one delivery as Shopify does, again (as Shopify would) while the daemon refuses it;
/// false after 10 s of refusals.
async fn post_webhook(
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
async fn start_receiver(count: Arc<AtomicU64>) -> anyhow::Result<SocketAddr> {
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
/// poll against the (empty) simulated shop, and retention short enough to prune during the run.
fn config_text(data: &Path, shop: &str, receiver: SocketAddr, args: &Soak) -> String {
    let retention = match &args.retention {
        Some(keep) => format!(
            "\n[store.retention]\ndone = \"{keep}\"\nclosed = \"{keep}\"\nprune_every = \"{}\"\nprune_batch = 20000\n",
            args.prune_every
        ),
        None => String::new(),
    };
    format!(
        r#"[server]
listen = "127.0.0.1:0"

[store]
dir = "{data}"
{retention}
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
"#,
        data = data.display(),
    )
}

/// The daemon as a child process, its log in a file.
struct Daemon {
    child: Child,
    /// The daemon itself (the child, or under `--wrap` the child's descendant running this
    /// binary): whose memory is measured and who is asked to stop.
    pid: u32,
    addr: SocketAddr,
}

impl Daemon {
    async fn start(config: &Path, log: &Path, wrap: Option<&str>) -> anyhow::Result<Daemon> {
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
    async fn stop(&mut self) {
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
fn ready_addr(log: &Path) -> Option<SocketAddr> {
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
fn daemon_pid(root: u32, exe: &Path) -> Option<u32> {
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
fn rss_kib(pid: u32) -> Option<u64> {
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
fn disk_usage(dir: &Path) -> u64 {
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

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The fixture as a template: each order gets its own id, name, number, customer and time,
/// put into the serialized body without building a JSON tree per order.
struct Template {
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
    fn from_fixture() -> anyhow::Result<Template> {
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
    fn render(&self, n: u64) -> Vec<u8> {
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

    #[test]
    fn item_counts_are_read_from_a_scrape() {
        let text = "# HELP xconnector_items Items\n\
                    xconnector_items{flow=\"orders\",state=\"done\"} 12\n\
                    xconnector_items{flow=\"orders\",state=\"pending\"} 3\n\
                    xconnector_items_enqueued_total 15\n\
                    xconnector_items_retired_total{flow=\"orders\"} 7\n";
        assert_eq!(
            item_counts(text),
            vec![("done".to_string(), 12), ("pending".to_string(), 3)]
        );
        assert_eq!(retired(text), 7);
    }
}
