//! `xconnector bench store`: durable enqueue throughput and acknowledgement latency, next to the
//! raw fsync rate of the same disk measured in the same run, so the group-commit gain is visible.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use xconnector_actors::item::NewItem;
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

pub async fn store(dir: Option<PathBuf>, seconds: f64) -> anyhow::Result<()> {
    let base = dir
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("xconnector-bench-{}", std::process::id()));
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    let span = Duration::from_secs_f64(seconds.max(0.5));
    let result = run_all(&base, span).await;
    let _ = std::fs::remove_dir_all(&base);
    result
}

async fn run_all(base: &Path, span: Duration) -> anyhow::Result<()> {
    let raw = raw_fsync_rate(&base.join("fsync-probe"), span)?;
    println!(
        "store benchmark in {} ({:.1} s per run)",
        base.display(),
        span.as_secs_f64()
    );
    println!("raw fsync rate: {raw:.0} fsyncs/s (4 KiB write + fdatasync, one writer)");
    println!();
    println!(
        "{:>8} {:>8} {:>12} {:>9} {:>9} {:>12} {:>10}",
        "payload", "writers", "items/s", "p50 ms", "p99 ms", "items/fsync", "vs raw"
    );
    for payload in [1024usize, 16 * 1024] {
        for writers in [1usize, 8, 64] {
            let dir = base.join(format!("store-{payload}-{writers}"));
            let r = enqueue_run(&dir, payload, writers, span).await?;
            let _ = std::fs::remove_dir_all(&dir);
            println!(
                "{:>7}K {:>8} {:>12.0} {:>9.2} {:>9.2} {:>12.1} {:>9.1}x",
                payload / 1024,
                writers,
                r.items_per_sec,
                r.p50.as_secs_f64() * 1e3,
                r.p99.as_secs_f64() * 1e3,
                r.items_per_fsync,
                r.items_per_sec / raw
            );
        }
    }
    Ok(())
}

/// Synchronous writes of one block, each followed by fdatasync: what a store without group
/// commit could at best acknowledge per second.
fn raw_fsync_rate(path: &Path, span: Duration) -> anyhow::Result<f64> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)?;
    let block = vec![0x5a_u8; 4096];
    file.write_all(&block)?;
    file.sync_all()?;
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < span {
        file.write_all_at(&block, (n % 16) * 4096)?;
        file.sync_data()?;
        n += 1;
    }
    let _ = std::fs::remove_file(path);
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

struct RunResult {
    items_per_sec: f64,
    p50: Duration,
    p99: Duration,
    items_per_fsync: f64,
}

/// `writers` tasks each enqueue one item at a time through the store actor and wait for its
/// durable acknowledgement, for `span`.
async fn enqueue_run(
    dir: &Path,
    payload: usize,
    writers: usize,
    span: Duration,
) -> anyhow::Result<RunResult> {
    let (engine, _fatal) = Engine::start(EngineConfig {
        store_dir: dir.to_path_buf(),
        flows: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: None,
    })
    .await?;
    let engine = Arc::new(engine);
    let body: Arc<Vec<u8>> = Arc::new((0..payload).map(|i| b'a' + (i % 26) as u8).collect());
    let started = Instant::now();
    let deadline = started + span;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = engine.store().clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let item = NewItem {
                    flow: "bench".into(),
                    kind: "bench".into(),
                    key: format!("w{w}-{i}"),
                    payload: body.to_vec(),
                    dedupe_key: None,
                };
                let t = Instant::now();
                store.enqueue(vec![item]).await?;
                latencies.push(t.elapsed());
                i += 1;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = started.elapsed();
    let stats = engine.store().stats().await?;
    engine.shutdown(Duration::from_secs(5)).await?;
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Ok(RunResult {
        items_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
        items_per_fsync: stats.synced_requests as f64 / stats.fsyncs.max(1) as f64,
    })
}
