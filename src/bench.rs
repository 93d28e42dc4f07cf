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
        jobs: Default::default(),
        store_dir: dir.to_path_buf(),
        pruning: Default::default(),
        flows: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: None,
        endpoints: Vec::new(),
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
                    exception: None,
                    flow_resolves: false,
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

/// `xconnector bench tui`: fills a store with `items` items, serves it on a control socket as
/// the daemon does, and measures what an attached operator feels and costs.
pub async fn tui(dir: Option<PathBuf>, items: u64, seconds: f64) -> anyhow::Result<()> {
    use std::sync::atomic::AtomicBool;

    use crate::control::api::{ControlState, ItemPage, Status, router};
    use crate::control::client::ControlClient;
    use crate::control::server;
    use xconnector_actors::item::Completion;
    use xconnector_actors::store::ItemDb;

    let base = dir
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("xconnector-bench-tui-{}", std::process::id()));
    let store_dir = base.join("data");
    std::fs::create_dir_all(&store_dir)?;
    let fill_started = Instant::now();
    {
        // Filled directly, in big batches: this measures reading, not writing.
        let mut db = ItemDb::open(&store_dir)?;
        let flows = ["orders", "inventory", "customers", "products"];
        let now = xconnector_actors::item::now_ms();
        let mut n = 0u64;
        while n < items {
            let batch = (items - n).min(5_000);
            let new: Vec<NewItem> = (0..batch)
                .map(|i| {
                    let k = n + i;
                    NewItem::new(
                        flows[(k % 4) as usize],
                        "bench",
                        format!("#{k}"),
                        br#"{"bench":true}"#.to_vec(),
                    )
                })
                .collect();
            db.enqueue(new, now)?;
            n += batch;
        }
        // Some history of work: a slice claimed and finished, a few exceptions.
        for flow in flows {
            let claimed = db.claim(flow, 2_000, 60_000, now)?;
            for (i, c) in claimed.into_iter().enumerate() {
                let done = if i % 20 == 0 {
                    Completion::Exception {
                        reason: "bench: rejected".into(),
                    }
                } else {
                    Completion::Done
                };
                db.complete(c.item.id, c.attempt(), done, now)?;
            }
        }
        db.sync()?;
    }
    println!(
        "tui benchmark: {items} items filled in {:.1} s",
        fill_started.elapsed().as_secs_f64()
    );

    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: store_dir.clone(),
        pruning: Default::default(),
        flows: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: None,
        endpoints: Vec::new(),
    })
    .await?;
    let engine = Arc::new(engine);
    let socket = base.join("bench.sock");
    let listener = server::bind(&socket).await?;
    let state = ControlState {
        engine: engine.clone(),
        ready: Arc::new(AtomicBool::new(true)),
        logs: crate::logging::RecentLogs::default(),
        reporting: None,
        backfill: None,
    };
    let serve = tokio::spawn(server::serve(
        listener,
        socket.clone(),
        router(state),
        std::future::pending(),
    ));
    let client = ControlClient::new(&socket)?;

    // First screen: what the TUI fetches on opening the items view.
    let mut first = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let _: Status = client.get("/v1/status").await?;
        let _: ItemPage = client.get("/v1/items?limit=200").await?;
        first.push(t.elapsed());
    }
    // Paging through: 50 pages of 200, each from the last cursor.
    let mut pages = Vec::new();
    let mut after: Option<u64> = None;
    for _ in 0..50 {
        let t = Instant::now();
        let query = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let page: ItemPage = client.get(&format!("/v1/items?limit=200{query}")).await?;
        pages.push(t.elapsed());
        after = page.next;
    }
    // A filtered page: exceptions only, from a million items.
    let t = Instant::now();
    let exceptions: ItemPage = client.get("/v1/items?state=exception&limit=200").await?;
    let filtered = t.elapsed();

    // CPU: the process's CPU time while idle, then while serving one TUI: following the event
    // stream (what the TUI does), and polling status and logs (its fallback, and what it did
    // before the stream).
    let span = Duration::from_secs_f64(seconds.max(1.0));
    let idle = cpu_share(span, async { tokio::time::sleep(span).await }).await;
    let mut events = 0;
    let streaming = cpu_share(span, async {
        let deadline = tokio::time::Instant::now() + span;
        if let Ok(mut stream) = client.events().await {
            while let Ok(Ok(Some(_))) = tokio::time::timeout_at(deadline, stream.next()).await {
                events += 1;
            }
        }
    })
    .await;
    let busy = cpu_share(span, async {
        let deadline = Instant::now() + span;
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        while Instant::now() < deadline {
            tick.tick().await;
            let _: Result<Status, _> = client.get("/v1/status").await;
            let _: Result<Vec<crate::logging::LogLine>, _> = client.get("/v1/logs?after=0").await;
        }
    })
    .await;
    serve.abort();
    engine.shutdown(Duration::from_secs(5)).await?;
    let _ = std::fs::remove_dir_all(&base);

    let p = |v: &mut Vec<Duration>, q: f64| {
        v.sort_unstable();
        v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3
    };
    println!(
        "first items screen (status + 200 items): p50 {:.1} ms, p99 {:.1} ms (target < 100 ms)",
        p(&mut first, 0.5),
        p(&mut first, 0.99)
    );
    println!(
        "next page of 200 items: p50 {:.1} ms, p99 {:.1} ms",
        p(&mut pages, 0.5),
        p(&mut pages, 0.99)
    );
    println!(
        "exceptions page ({} found among {items}): {:.1} ms",
        exceptions.items.len(),
        filtered.as_secs_f64() * 1e3
    );
    println!(
        "daemon CPU while serving one attached TUI (event stream, {events} events): {:.2}% of one core in total (the same process idle: {:.2}%; target < 2%)",
        streaming * 100.0,
        idle * 100.0
    );
    println!(
        "the same, polling status + logs every 500 ms (the fallback): {:.2}% of one core",
        busy * 100.0,
    );
    Ok(())
}

/// CPU time of this process over `work`, as a share of one core's wall time.
async fn cpu_share(span: Duration, work: impl std::future::Future<Output = ()>) -> f64 {
    let cpu = || {
        // SAFETY: getrusage only writes the struct we hand it.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    };
    let (c0, w0) = (cpu(), Instant::now());
    work.await;
    let wall = w0.elapsed().max(span).as_secs_f64();
    (cpu() - c0) / wall
}

/// A query of known cost for the benchmark: `2 + first` points requested, and as many charged
/// when the shop has that many variants.
struct BenchVariants;

#[derive(serde::Serialize)]
struct BenchVariables {
    first: u32,
}

impl xconnector_actors::shopify::operations::Operation for BenchVariants {
    const NAME: &'static str = "BenchVariants";
    const DOCUMENT: &'static str = "query BenchVariants($first: Int!) { productVariants(first: $first) { nodes { id sku price } } }";
    type Variables = BenchVariables;
    type Response = serde_json::Value;

    fn estimate(v: &BenchVariables) -> f64 {
        2.0 + f64::from(v.first)
    }

    /// Each page size has its own cost.
    fn cost_key(v: &BenchVariables) -> String {
        format!("{}:{}", Self::NAME, v.first)
    }
}

/// `xconnector bench shopify`: four flows (one per lane) call the simulated shop as fast as the
/// rate limiter lets them, against a Standard-plan bucket (2000 points, 100/s) on a clock
/// `scale` times faster, for `seconds` simulated seconds.
pub async fn shopify(seconds: f64, scale: f64) -> anyhow::Result<()> {
    use xconnector_actors::rate_limiter::Lane;
    use xconnector_actors::shopify::operations::Operation;
    use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig};

    use crate::sim::seed::SeedSize;
    use crate::sim::{BucketConfig, SimConfig, Simulator};

    apollo_compiler::ExecutableDocument::parse_and_validate(
        crate::shopify_schema::admin_schema(),
        BenchVariants::DOCUMENT,
        "bench.graphql",
    )
    .map_err(|e| anyhow::anyhow!("the benchmark's document does not validate: {}", e.errors))?;
    let bucket = BucketConfig {
        clock_scale: scale,
        ..BucketConfig::standard()
    };
    let size = SeedSize {
        products: 100,
        variants_per_product: 2,
        ..SeedSize::small()
    };
    let sim = Simulator::start(
        SimConfig {
            bucket: bucket.clone(),
            size,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("xconnector-bench-shopify-{}", std::process::id()));
    let client = ShopifyClientConfig::new(
        "demo.myshopify.com",
        sim.base_url(),
        "2026-10",
        AccessToken::new("sim-token"),
    );
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: dir.clone(),
        pruning: Default::default(),
        flows: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: Some(client),
        endpoints: Vec::new(),
    })
    .await?;
    let shopify = engine
        .shopify()
        .ok_or_else(|| anyhow::anyhow!("no Shopify client"))?
        .clone();

    let real = Duration::from_secs_f64(seconds / scale);
    let started = Instant::now();
    let end = started + real;
    let mut tasks = Vec::new();
    for (lane, first) in [
        (Lane::Orders, 48),
        (Lane::Customers, 98),
        (Lane::Products, 148),
        (Lane::Reporting, 198),
    ] {
        let shopify = shopify.clone();
        tasks.push(tokio::spawn(async move {
            let mut calls = 0u64;
            while Instant::now() < end {
                shopify
                    .run::<BenchVariants>(lane, &BenchVariables { first })
                    .await?;
                calls += 1;
            }
            anyhow::Ok((lane, calls))
        }));
    }
    let mut per_lane = Vec::new();
    for t in tasks {
        per_lane.push(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64() * scale;
    let stats = sim.stats();
    let status = sim.throttle_status();
    let limiter = shopify.rate_limiter().stats().await;
    engine.shutdown(Duration::from_secs(5)).await?;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    // What the bucket held at the start is a one-off burst, not a sustainable rate.
    let burst = bucket.maximum_available - status.currently_available;
    let sustained = (stats.points_spent as f64 - burst) / elapsed;
    println!(
        "shopify benchmark: Standard plan (2000 points, 100 points/s), clock ×{scale}, {elapsed:.0} simulated seconds"
    );
    for (lane, calls) in &per_lane {
        println!("  {lane:?}: {calls} calls");
    }
    println!(
        "points spent: {} ({} requested), sustained {:.1} points/s after the initial {:.0}-point burst",
        stats.points_spent, stats.points_requested, sustained, burst
    );
    println!(
        "utilisation of the restore rate: {:.1}% (target >= 95%)",
        sustained / 100.0 * 100.0
    );
    println!("THROTTLED answers: {} (target 0)", stats.throttled);
    if let Some(l) = limiter {
        println!("THROTTLED answers the rate limiter saw: {}", l.throttled);
    }
    Ok(())
}

/// `xconnector bench inventory`: a `skus`-SKU delta feed (SKUs unknown to xconnector) into a
/// simulated Standard-plan shop, once as xconnector does it (bulk warm-up of the SKU map,
/// coalescing, 250 quantities per call) and once as a naive integration does (one lookup and
/// one mutation per SKU), each in a fresh shop and store. The bucket's clock runs `scale`
/// times faster for both runs alike.
pub async fn inventory(skus: usize, scale: f64) -> anyhow::Result<()> {
    use xconnector_actors::flows::inventory::InventorySettings;

    // `RUST_LOG=info xconnector bench inventory` shows the flow's rounds.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    println!(
        "inventory benchmark: {skus} SKUs (unknown to xconnector) at 1 location, Standard plan (2000 points, 100 points/s), bucket clock x{scale}"
    );
    let fast = inventory_run(skus, scale, InventorySettings::default()).await?;
    let naive = inventory_run(skus, scale, InventorySettings::default().naive()).await?;
    println!(
        "{:>10} {:>10} {:>10} {:>12} {:>10} {:>10} {:>10}",
        "run", "wall s", "calls", "points", "THROTTLED", "writes", "correct"
    );
    for (name, r) in [("xconnector", &fast), ("naive", &naive)] {
        println!(
            "{:>10} {:>10.2} {:>10} {:>12} {:>10} {:>10} {:>10}",
            name,
            r.wall.as_secs_f64(),
            r.calls,
            r.points,
            r.throttled,
            r.written,
            if r.mismatches == 0 {
                "yes".to_string()
            } else {
                format!("{} off", r.mismatches)
            }
        );
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::INFINITY };
    println!(
        "naive / xconnector: {:.1}x the points (target >= 50x), {:.1}x the wall time (target >= 20x), {:.1}x the calls",
        ratio(naive.points as f64, fast.points as f64),
        ratio(naive.wall.as_secs_f64(), fast.wall.as_secs_f64()),
        ratio(naive.calls as f64, fast.calls as f64),
    );
    println!(
        "at real rates (clock x1) the naive run would need about {:.0} minutes of bucket refill",
        naive.points as f64 / 100.0 / 60.0
    );
    Ok(())
}

struct InventoryRun {
    wall: Duration,
    calls: u64,
    points: u64,
    throttled: u64,
    written: u64,
    mismatches: usize,
}

async fn inventory_run(
    skus: usize,
    scale: f64,
    settings: xconnector_actors::flows::inventory::InventorySettings,
) -> anyhow::Result<InventoryRun> {
    use xconnector_actors::flows::inventory::InventoryFlow;
    use xconnector_actors::flows::inventory::feed::{FLOW, Level, Mode};
    use xconnector_actors::flows::{FlowSettings, FlowSpec};
    use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig};

    use crate::sim::{BucketConfig, SimConfig, Simulator};
    use xconnector_actors::flows::inventory::inbound::feed;

    let sim = Simulator::start(
        SimConfig {
            bucket: BucketConfig {
                clock_scale: scale,
                ..BucketConfig::standard()
            },
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    let (all, location, location_id) = sim.shop().with(|shop| {
        let all = crate::sim::warehouse::stock_catalog(shop, skus, "BENCH-");
        let (id, name) = shop
            .locations
            .values()
            .map(|l| (l.id, l.name.clone()))
            .next()
            .unwrap_or_default();
        (all, name, id)
    });
    let dir = std::env::temp_dir().join(format!(
        "xconnector-bench-inventory-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let client = ShopifyClientConfig::new(
        "demo.myshopify.com",
        sim.base_url(),
        "2026-10",
        AccessToken::new("sim-token"),
    );
    let flow = FlowSpec::new(
        FLOW,
        FlowSettings {
            concurrency: 256,
            lease: Duration::from_secs(3600),
            ..FlowSettings::default()
        },
        InventoryFlow::new(settings),
    );
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: dir.clone(),
        pruning: Default::default(),
        flows: vec![flow],
        endpoints: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: Some(client),
    })
    .await?;
    let mut rng = fastrand::Rng::with_seed(11);
    let levels: Vec<Level> = all
        .iter()
        .map(|sku| Level {
            sku: sku.clone(),
            location: location.clone(),
            available: rng.i64(1..1000),
            as_of: 1,
        })
        .collect();
    let expected: Vec<(String, i64)> = levels
        .iter()
        .map(|l| (l.sku.clone(), l.available))
        .collect();
    let started = Instant::now();
    crate::intake::requests::store(
        engine.store(),
        "inventory",
        feed("bench", Mode::Delta, levels),
        "bench",
        None,
    )
    .await?;
    drained(engine.store(), FLOW).await?;
    let wall = started.elapsed();
    let stats = sim.stats();
    let mismatches = sim.shop().with(|shop| {
        expected
            .iter()
            .filter(|(sku, available)| {
                let level = shop
                    .inventory_item_by_sku(sku)
                    .and_then(|i| shop.inventory_level(i.id, location_id));
                level.map(|l| l.available) != Some(*available)
            })
            .count()
    });
    engine.shutdown(Duration::from_secs(5)).await?;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(InventoryRun {
        wall,
        calls: stats.requests,
        points: stats.points_spent,
        throttled: stats.throttled,
        written: stats.inventory_quantities_written,
        mismatches,
    })
}

/// Waits until `flow` has nothing pending, in flight or retrying.
pub(crate) async fn drained(
    store: &xconnector_actors::store::StoreHandle,
    flow: &str,
) -> anyhow::Result<()> {
    use xconnector_actors::item::ItemState;
    loop {
        let stats = store.stats().await?;
        let busy: u64 = stats
            .counts
            .iter()
            .filter(|(f, s, _)| {
                f == flow
                    && matches!(
                        s,
                        ItemState::Pending | ItemState::InFlight | ItemState::Retrying
                    )
            })
            .map(|(_, _, n)| n)
            .sum();
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
