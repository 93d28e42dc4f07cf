//! `xconnector bench soak`: a long run of signed `orders/create` webhooks of Shopify's
//! documented shape through the daemon as operators run it (this binary, `run --headless`, a
//! child process with its own data directory), the orders flow delivering each to a receiver
//! in this process that only counts. Every `every` orders it prints the daemon's resident
//! memory (its own `/proc/PID/status`, nothing of the load generator's), the data directory's
//! size on disk and the store's items by state; at the end, how much the daemon's memory grew
//! after the first 200,000 orders, against the target of less than 10%.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use xconnector_actors::signature::shopify_signature;

use crate::bench_rig::{
    Daemon, Rig, SECRET, Template, disk_usage, post_webhook, rss_kib, watch_rss, workdir,
};

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
    workdir("soak", args.dir.as_deref(), args.keep, |base| {
        run(base, &args)
    })
    .await
}

async fn run(base: PathBuf, args: &Soak) -> anyhow::Result<()> {
    let retention = match &args.retention {
        Some(keep) => format!(
            "\n[store.retention]\ndone = \"{keep}\"\nclosed = \"{keep}\"\nprune_every = \"{}\"\nprune_batch = 20000\n",
            args.prune_every
        ),
        None => String::new(),
    };
    let rig = Rig::start(&base, &retention, args.wrap.as_deref()).await?;
    let result = push(&rig.daemon, &rig.data, &rig.delivered, args).await;
    rig.stop(result.is_err()).await;
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

#[cfg(test)]
mod tests {
    use super::*;

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
