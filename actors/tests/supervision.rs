//! The actor tree under failure: a panicking flow is restarted and its item retried, a flow
//! that keeps failing stops the engine with its name, pause holds work back, and shutdown
//! drains or releases what is in flight, and a batching flow is given its items in batches, one
//! batch at a time.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use xconnector_actors::flows::{Batching, Flow, FlowContext, FlowSettings, FlowSpec, Outcome};
use xconnector_actors::item::{Claimed, ItemId, ItemState, NewItem};
use xconnector_actors::retry::Backoff;
use xconnector_actors::store::{ItemDb, StoreHandle};
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::telemetry::prometheus;
use xconnector_actors::{Engine, EngineConfig};

/// Panics on its first `panics` calls, then succeeds after `work`.
struct Flaky {
    panics: u32,
    calls: Arc<AtomicU32>,
    work: Duration,
}

impl Flow for Flaky {
    async fn process(&self, _item: &Claimed, _ctx: &FlowContext) -> Outcome {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.work).await;
        if n < self.panics {
            panic!("simulated bug on call {n}");
        }
        Outcome::Done
    }
}

fn settings() -> FlowSettings {
    FlowSettings {
        concurrency: 4,
        lease: Duration::from_secs(30),
        poll_every: Duration::from_millis(50),
        ..FlowSettings::default()
    }
}

fn fast_policy(max_restarts: u32) -> RestartPolicy {
    RestartPolicy {
        max_restarts,
        window: Duration::from_secs(60),
        backoff: Backoff::new(Duration::from_millis(5), Duration::from_millis(20)),
    }
}

async fn enqueue(store: &StoreHandle, flow: &str, n: usize) -> Vec<ItemId> {
    let items = (0..n)
        .map(|i| NewItem {
            flow: flow.into(),
            kind: "test".into(),
            key: format!("k{i}"),
            payload: vec![1; 16],
            dedupe_key: None,
            exception: None,
            flow_resolves: false,
        })
        .collect();
    store
        .enqueue(items)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect()
}

/// Polls `check` until it returns Some, or fails after a generous deadline.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn state_of(store: &StoreHandle, id: ItemId) -> ItemState {
    store.get(id).await.unwrap().unwrap().0.state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_flow_is_restarted_and_its_item_retried() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let flow = Flaky {
        panics: 1,
        calls: calls.clone(),
        work: Duration::ZERO,
    };
    let (engine, _fatal) = Engine::start(EngineConfig {
        store_dir: dir.path().into(),
        pruning: Default::default(),
        flows: vec![FlowSpec::new("flaky", settings(), flow)],
        policy: fast_policy(5),
        shopify: None,
        endpoints: Vec::new(),
        jobs: Default::default(),
    })
    .await
    .unwrap();
    let store = engine.store().clone();
    let id = enqueue(&store, "flaky", 1).await[0];

    eventually("the item to be done", || async {
        (state_of(&store, id).await == ItemState::Done).then_some(())
    })
    .await;
    let (item, _) = store.get(id).await.unwrap().unwrap();
    assert_eq!(
        item.attempts, 2,
        "claimed once by the actor that panicked, once by its successor"
    );
    let path: Vec<ItemState> = store
        .history(id)
        .await
        .unwrap()
        .iter()
        .map(|h| h.to)
        .collect();
    assert_eq!(
        path,
        [
            ItemState::Pending,
            ItemState::InFlight,
            ItemState::Pending,
            ItemState::InFlight,
            ItemState::Done
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let snapshot = eventually("the restart in telemetry", || async {
        let s = engine.snapshot().await.ok()?;
        (s.restarts.get("flow:flaky") == Some(&1)).then_some(s)
    })
    .await;
    let text = prometheus::render(&snapshot, true);
    assert!(
        text.contains("xconnector_actor_restarts_total{actor=\"flow:flaky\"} 1\n"),
        "{text}"
    );
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_that_keeps_failing_stops_the_engine_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let flow = Flaky {
        panics: u32::MAX,
        calls: Arc::new(AtomicU32::new(0)),
        work: Duration::ZERO,
    };
    let (engine, mut fatal) = Engine::start(EngineConfig {
        store_dir: dir.path().into(),
        pruning: Default::default(),
        flows: vec![FlowSpec::new("doomed", settings(), flow)],
        policy: fast_policy(2),
        shopify: None,
        endpoints: Vec::new(),
        jobs: Default::default(),
    })
    .await
    .unwrap();
    enqueue(engine.store(), "doomed", 1).await;
    let reason = tokio::time::timeout(Duration::from_secs(20), fatal.wait())
        .await
        .expect("the supervisor gives up");
    assert!(reason.contains("flow:doomed"), "{reason}");
    assert!(reason.contains("failed 3 times"), "{reason}");
    assert!(reason.contains("simulated bug"), "{reason}");
    engine.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_flow_claims_nothing_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let flow = Flaky {
        panics: 0,
        calls: Arc::new(AtomicU32::new(0)),
        work: Duration::ZERO,
    };
    let (engine, _fatal) = Engine::start(EngineConfig {
        store_dir: dir.path().into(),
        pruning: Default::default(),
        flows: vec![FlowSpec::new("steady", settings(), flow)],
        policy: fast_policy(5),
        shopify: None,
        endpoints: Vec::new(),
        jobs: Default::default(),
    })
    .await
    .unwrap();
    engine.pause("steady").await.unwrap();
    eventually("the pause to apply", || async {
        engine
            .flow_status("steady")
            .await
            .ok()?
            .paused
            .then_some(())
    })
    .await;
    let ids = enqueue(engine.store(), "steady", 3).await;
    // The store nudged the flow before it acknowledged the items, so by the time the flow
    // answers this, it has handled the nudge: and, paused, claimed nothing.
    engine.flow_status("steady").await.unwrap();
    for id in &ids {
        assert_eq!(state_of(engine.store(), *id).await, ItemState::Pending);
    }
    engine.resume("steady").await.unwrap();
    for id in ids {
        eventually("resumed work", || async {
            (state_of(engine.store(), id).await == ItemState::Done).then_some(())
        })
        .await;
    }
    assert!(engine.pause("nope").await.is_err());
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_items_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let flow = Flaky {
        panics: 0,
        calls: Arc::new(AtomicU32::new(0)),
        work: Duration::from_millis(300),
    };
    let (engine, _fatal) = Engine::start(EngineConfig {
        store_dir: dir.path().into(),
        pruning: Default::default(),
        flows: vec![FlowSpec::new("slow", settings(), flow)],
        policy: fast_policy(5),
        shopify: None,
        endpoints: Vec::new(),
        jobs: Default::default(),
    })
    .await
    .unwrap();
    let ids = enqueue(engine.store(), "slow", 10).await;
    eventually("items in flight", || async {
        (engine.flow_status("slow").await.ok()?.in_flight > 0).then_some(())
    })
    .await;
    let report = engine.shutdown(Duration::from_secs(10)).await.unwrap();
    assert!(report.drained);
    assert_eq!(report.released, 0);

    let db = ItemDb::open(dir.path()).unwrap();
    let done = db.count("slow", ItemState::Done);
    let pending = db.count("slow", ItemState::Pending);
    assert!(done >= 1, "the in-flight items finished");
    assert_eq!(
        done + pending,
        ids.len() as u64,
        "nothing lost, nothing left in flight"
    );
    assert_eq!(db.count("slow", ItemState::InFlight), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_still_in_flight_at_the_deadline_are_released() {
    let dir = tempfile::tempdir().unwrap();
    let flow = Flaky {
        panics: 0,
        calls: Arc::new(AtomicU32::new(0)),
        work: Duration::from_secs(60),
    };
    let (engine, _fatal) = Engine::start(EngineConfig {
        store_dir: dir.path().into(),
        pruning: Default::default(),
        flows: vec![FlowSpec::new("stuck", settings(), flow)],
        policy: fast_policy(5),
        shopify: None,
        endpoints: Vec::new(),
        jobs: Default::default(),
    })
    .await
    .unwrap();
    enqueue(engine.store(), "stuck", 2).await;
    eventually("items in flight", || async {
        (engine.flow_status("stuck").await.ok()?.in_flight == 2).then_some(())
    })
    .await;
    let report = engine.shutdown(Duration::from_millis(200)).await.unwrap();
    assert!(!report.drained);
    assert_eq!(report.released, 2);
    let db = ItemDb::open(dir.path()).unwrap();
    assert_eq!(
        db.count("stuck", ItemState::Pending),
        2,
        "due again at the next start, not lost"
    );
}

/// Enqueues one item per tick and counts ticks; the first ticks panic.
struct Ticker {
    ticks: Arc<AtomicU32>,
    panics: u32,
}

impl Flow for Ticker {
    async fn process(&self, _item: &Claimed, _ctx: &FlowContext) -> Outcome {
        Outcome::Done
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(20))
    }

    async fn tick(&self, ctx: &FlowContext) {
        let n = self.ticks.fetch_add(1, Ordering::SeqCst);
        if n < self.panics {
            panic!("simulated bug in tick {n}");
        }
        enqueue(&ctx.store, &ctx.name, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_work_runs_its_items_survives_a_panic_and_stops_while_paused() {
    let dir = tempfile::tempdir().unwrap();
    let ticks = Arc::new(AtomicU32::new(0));
    let flow = Ticker {
        ticks: ticks.clone(),
        panics: 1,
    };
    let (engine, _fatal) = Engine::start(EngineConfig {
        policy: fast_policy(5),
        ..EngineConfig::new(dir.path(), vec![FlowSpec::new("ticker", settings(), flow)])
    })
    .await
    .unwrap();
    let store = engine.store().clone();
    eventually("ticks to make items that are processed", || async {
        let done = engine
            .snapshot()
            .await
            .ok()?
            .count("ticker", ItemState::Done);
        (done >= 3).then_some(())
    })
    .await;
    let metrics = prometheus::render(&engine.snapshot().await.unwrap(), true);
    assert!(
        metrics.contains("actor=\"flow:ticker\"} 1"),
        "the panicking tick restarted the flow once:\n{metrics}"
    );
    engine.pause("ticker").await.unwrap();
    // Paused and no tick running: from here on a tick could only start by ignoring the pause.
    let held = eventually(
        "the pause to take effect and a running tick to end",
        || async {
            let s = engine.flow_status("ticker").await.ok()?;
            (s.paused && !s.ticking).then_some(s.ticks_held)
        },
    )
    .await;
    let (items, ticked) = (
        store.stats().await.unwrap().enqueued,
        ticks.load(Ordering::SeqCst),
    );
    eventually("three ticks to come while paused", || async {
        let s = engine.flow_status("ticker").await.ok()?;
        (s.ticks_held >= held + 3).then_some(())
    })
    .await;
    assert_eq!(store.stats().await.unwrap().enqueued, items);
    assert_eq!(
        ticks.load(Ordering::SeqCst),
        ticked,
        "no ticks while paused"
    );
}

/// Each batch a batching flow was given: (item, attempt) per item.
type Batches = Arc<std::sync::Mutex<Vec<Vec<(ItemId, u32)>>>>;

/// A batching flow that records its batches (item ids and attempts) and how many ran at once;
/// a batch is answered with one outcome fewer than it has items while `short` lasts.
#[derive(Clone, Default)]
struct Batcher {
    linger: Duration,
    batches: Batches,
    running: Arc<AtomicU32>,
    most_at_once: Arc<AtomicU32>,
    short: Arc<AtomicU32>,
}

impl Batcher {
    fn batches(&self) -> Vec<Vec<(ItemId, u32)>> {
        self.batches.lock().unwrap().clone()
    }
}

impl Flow for Batcher {
    fn batching(&self) -> Option<Batching> {
        Some(Batching {
            linger: self.linger,
        })
    }

    async fn process(&self, _item: &Claimed, _ctx: &FlowContext) -> Outcome {
        unreachable!("a batching flow is given batches")
    }

    async fn process_batch(&self, items: &[Claimed], _ctx: &FlowContext) -> Vec<Outcome> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        // Give a second batch the chance to overlap, if the framework allowed it.
        tokio::task::yield_now().await;
        self.batches
            .lock()
            .unwrap()
            .push(items.iter().map(|i| (i.item.id, i.attempt())).collect());
        let mut outcomes = vec![Outcome::Done; items.len()];
        if self.short.load(Ordering::SeqCst) > 0 {
            self.short.fetch_sub(1, Ordering::SeqCst);
            outcomes.pop();
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        outcomes
    }
}

async fn batching_engine(dir: &std::path::Path, flow: Batcher, concurrency: usize) -> Engine {
    let settings = FlowSettings {
        concurrency,
        ..settings()
    };
    let (engine, _fatal) = Engine::start(EngineConfig {
        store_dir: dir.into(),
        pruning: Default::default(),
        flows: vec![FlowSpec::new("batcher", settings, flow)],
        policy: fast_policy(5),
        shopify: None,
        endpoints: Vec::new(),
        jobs: Default::default(),
    })
    .await
    .unwrap();
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batching_flow_gathers_due_items_into_batches_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    // A linger no test waits out: a batch starts because it is full, or because of a drain.
    let flow = Batcher {
        linger: Duration::from_secs(3600),
        ..Batcher::default()
    };
    let engine = batching_engine(dir.path(), flow.clone(), 3).await;
    let store = engine.store().clone();

    // Two due items are gathered (claimed, in flight) and wait for a third.
    let first = enqueue(&store, "batcher", 2).await;
    eventually("two items gathered", || async {
        (engine.flow_status("batcher").await.unwrap().in_flight == 2).then_some(())
    })
    .await;
    assert!(
        flow.batches().is_empty(),
        "a batch started before it was full"
    );

    // Four more: the first batch fills up; the rest make a second one.
    let more = enqueue(&store, "batcher", 4).await;
    eventually("six items done", || async {
        let mut done = 0;
        for id in first.iter().chain(&more) {
            done += usize::from(state_of(&store, *id).await == ItemState::Done);
        }
        (done == 6).then_some(())
    })
    .await;
    let batches = flow.batches();
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3]);
    assert!(
        first
            .iter()
            .all(|id| batches[0].iter().any(|(b, _)| b == id))
    );
    assert_eq!(flow.most_at_once.load(Ordering::SeqCst), 1);

    // One more is gathered; a shutdown does not wait out the linger: it runs the batch.
    let last = enqueue(&store, "batcher", 1).await[0];
    eventually("the last item gathered", || async {
        (engine.flow_status("batcher").await.unwrap().in_flight == 1).then_some(())
    })
    .await;
    let report = engine.shutdown(Duration::from_secs(10)).await.unwrap();
    assert!(report.drained);
    assert_eq!(flow.batches().last().unwrap(), &vec![(last, 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_a_batch_gives_no_outcome_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let flow = Batcher {
        short: Arc::new(AtomicU32::new(1)),
        ..Batcher::default()
    };
    let engine = batching_engine(dir.path(), flow.clone(), 8).await;
    let store = engine.store().clone();
    let ids = enqueue(&store, "batcher", 3).await;
    eventually("all three done", || async {
        let mut done = 0;
        for id in &ids {
            done += usize::from(state_of(&store, *id).await == ItemState::Done);
        }
        (done == 3).then_some(())
    })
    .await;
    // The item left without an outcome came back for a second attempt; the others did not.
    let attempts: Vec<(ItemId, u32)> = flow.batches().concat();
    let retried: Vec<_> = attempts.iter().filter(|(_, a)| *a == 2).collect();
    assert_eq!(retried.len(), 1, "{attempts:?}");
    assert_eq!(attempts.len(), ids.len() + 1, "{attempts:?}");
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
}
