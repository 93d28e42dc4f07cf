//! Hidden diagnostic commands, used by the crash tests to drive the store through its public
//! path from a process that can be killed.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use xconnector_actors::item::NewItem;
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

pub struct StoreWriter {
    pub dir: PathBuf,
    pub flow: String,
    pub count: u64,
    pub writers: u64,
    pub claim_every: u64,
    pub lease_ms: u64,
    pub payload: usize,
}

/// Enqueues items `k0…k{count-1}` (each its own dedupe key) from several writers and prints
/// `ack KEY ID` once each is durable, plus `claimed ID` for the items it leases.
pub async fn store_writer(args: StoreWriter) -> anyhow::Result<()> {
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: args.dir.clone(),
        pruning: Default::default(),
        flows: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: None,
        endpoints: Vec::new(),
    })
    .await?;
    let next = Arc::new(AtomicU64::new(0));
    let args = Arc::new(args);
    let mut tasks = Vec::new();
    for _ in 0..args.writers.max(1) {
        let (store, next, args) = (engine.store().clone(), next.clone(), args.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= args.count {
                    return anyhow::Ok(());
                }
                let key = format!("k{i}");
                let item = NewItem {
                    flow: args.flow.clone(),
                    kind: "debug".into(),
                    key: key.clone(),
                    payload: vec![b'x'; args.payload],
                    dedupe_key: Some(key.clone()),
                    exception: None,
                    flow_resolves: false,
                };
                let id = store.enqueue(vec![item]).await?[0].id;
                println!("ack {key} {id}");
                if args.claim_every > 0 && i % args.claim_every == 0 {
                    for c in store
                        .claim(&args.flow, 1, Duration::from_millis(args.lease_ms))
                        .await?
                    {
                        println!("claimed {}", c.item.id);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    engine.shutdown(Duration::from_secs(1)).await?;
    Ok(())
}
