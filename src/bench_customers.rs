//! `xconnector bench customers`: a CRM's nightly sync of `count` customers (status, segment,
//! score and tax exemption for every one; only a few of them changed) into a simulated
//! Standard-plan shop, once through the customers flow and once as a naive integration does it
//! (fetch each customer, then one `customerUpdate` with its whole tag list and metafields), each
//! in a fresh shop. Points, calls, wall time and their ratios, measured in the same run.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use xconnector_actors::flows::customers::inbound::{
    CustomerRef, CustomerUpdates, MetafieldValue, Update,
};
use xconnector_actors::flows::customers::{CustomersConfig, CustomersFlow, FLOW};
use xconnector_actors::flows::{FlowSettings, FlowSpec};
use xconnector_actors::inbound::{Accepted, NoHead, Parsed};
use xconnector_actors::rate_limiter::Lane;
use xconnector_actors::shopify::gid::CustomerId;
use xconnector_actors::shopify::operations::Operation;
use xconnector_actors::shopify::operations::customers::{CustomersById, IdsVariables};
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig, ShopifyHandle};
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

use crate::sim::shop::{CustomerSpec, MetafieldSpec};
use crate::sim::{BucketConfig, SimConfig, Simulator};

/// What the CRM wants for customer `i` of the sync: most of it is what the shop already has.
struct Wanted {
    status: &'static str,
    segment: &'static str,
    score: String,
}

fn wanted(i: usize) -> Wanted {
    Wanted {
        // 2% moved to on-hold, 3% to wholesale, 20% got a new score.
        status: if i % 50 == 7 { "on-hold" } else { "active" },
        segment: if i % 33 == 5 { "wholesale" } else { "retail" },
        score: if i.is_multiple_of(5) {
            format!("{}", 60 + i % 40)
        } else {
            "50".into()
        },
    }
}

pub async fn customers(count: usize, scale: f64) -> anyhow::Result<()> {
    println!(
        "customers benchmark: a nightly CRM sync of {count} customers (2% status, 3% segment, 20% score changed), Standard plan (2000 points, 100 points/s), bucket clock x{scale}"
    );
    let fast = run(count, scale, false).await?;
    let naive = run(count, scale, true).await?;
    println!(
        "{:>10} {:>10} {:>10} {:>12} {:>10} {:>10}",
        "run", "wall s", "calls", "points", "THROTTLED", "correct"
    );
    for (name, r) in [("xconnector", &fast), ("naive", &naive)] {
        println!(
            "{:>10} {:>10.2} {:>10} {:>12} {:>10} {:>10}",
            name,
            r.wall.as_secs_f64(),
            r.calls,
            r.points,
            r.throttled,
            if r.wrong == 0 {
                "yes".to_string()
            } else {
                format!("{} off", r.wrong)
            }
        );
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::INFINITY };
    println!(
        "naive / xconnector: {:.1}x the points (target >= 10x), {:.1}x the calls, {:.1}x the wall time",
        ratio(naive.points as f64, fast.points as f64),
        ratio(naive.calls as f64, fast.calls as f64),
        ratio(naive.wall.as_secs_f64(), fast.wall.as_secs_f64()),
    );
    Ok(())
}

struct Run {
    wall: Duration,
    calls: u64,
    points: u64,
    throttled: u64,
    wrong: usize,
}

async fn run(count: usize, scale: f64, naive: bool) -> anyhow::Result<Run> {
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
    let ids: Vec<u64> = sim.shop().with(|shop| {
        (0..count)
            .map(|i| {
                shop.create_customer(CustomerSpec {
                    email: Some(format!("bench{i}@example.com")),
                    tags: vec![
                        "staff-pick".into(),
                        "status:active".into(),
                        "segment:retail".into(),
                    ],
                    metafields: vec![MetafieldSpec {
                        namespace: "crm".into(),
                        key: "score".into(),
                        r#type: "number_integer".into(),
                        value: "50".into(),
                    }],
                    ..CustomerSpec::default()
                })
            })
            .collect()
    });
    let before = sim.stats();
    let dir = std::env::temp_dir().join(format!(
        "xconnector-bench-customers-{}-{}",
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
        CustomersFlow {
            settings: std::sync::Arc::new(CustomersConfig::default().settings(None)),
        },
    );
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: dir.clone(),
        pruning: Default::default(),
        flows: if naive { Vec::new() } else { vec![flow] },
        endpoints: Vec::new(),
        policy: RestartPolicy::default(),
        shopify: Some(client),
    })
    .await?;
    let started = Instant::now();
    if naive {
        let shopify = engine
            .shopify()
            .ok_or_else(|| anyhow::anyhow!("no Shopify client"))?
            .clone();
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(ids.iter().enumerate())
            .map(|(i, id)| naive_update(&shopify, *id, wanted(i)))
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    } else {
        let entries = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let w = wanted(i);
                Update {
                    customer: Some(CustomerRef::ShopifyId(*id)),
                    account_status: Some(w.status.into()),
                    segment: Some(w.segment.into()),
                    tax_exempt: Some(false),
                    metafields: vec![MetafieldValue {
                        namespace: "crm".into(),
                        key: "score".into(),
                        kind: "number_integer".into(),
                        value: w.score,
                    }],
                    ..Update::default()
                }
            })
            .collect::<Vec<_>>();
        for chunk in entries.chunks(1000) {
            let parsed = Parsed::new(Accepted::<CustomerUpdates> {
                source: "crm".into(),
                head: NoHead,
                entries: chunk.to_vec(),
            });
            crate::intake::requests::store(engine.store(), "customers", parsed, "bench", None)
                .await?;
        }
        crate::bench::drained(engine.store(), FLOW).await?;
    }
    let wall = started.elapsed();
    let after = sim.stats();
    let wrong = sim.shop().with(|shop| {
        ids.iter()
            .enumerate()
            .filter(|(i, id)| {
                let w = wanted(*i);
                let Some(c) = shop.customers.get(id) else {
                    return true;
                };
                let has = |t: &str| c.tags.iter().any(|x| x == t);
                let score = c
                    .metafields
                    .get(&("crm".to_string(), "score".to_string()))
                    .map(|m| m.value.as_str());
                !(has("staff-pick")
                    && has(&format!("status:{}", w.status))
                    && has(&format!("segment:{}", w.segment))
                    && c.tags.len() == 3
                    && score == Some(w.score.as_str()))
            })
            .count()
    });
    engine.shutdown(Duration::from_secs(5)).await?;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Run {
        wall,
        calls: after.requests - before.requests,
        points: after.points_spent - before.points_spent,
        throttled: after.throttled - before.throttled,
        wrong,
    })
}

/// The naive integration: read the customer, then write everything the CRM sent in one
/// `customerUpdate`, whether it changed or not (the whole tag list, so others' tags survive
/// only because it was just read).
async fn naive_update(shopify: &ShopifyHandle, id: u64, w: Wanted) -> anyhow::Result<()> {
    let read = shopify
        .run::<CustomersById>(
            Lane::Customers,
            &IdsVariables {
                ids: vec![CustomerId::new(id)],
            },
        )
        .await?;
    let Some(Some(c)) = read.nodes.into_iter().next() else {
        anyhow::bail!("customer {id} is gone");
    };
    let mut tags: Vec<String> = c
        .tags
        .into_iter()
        .filter(|t| !t.starts_with("status:") && !t.starts_with("segment:"))
        .collect();
    tags.push(format!("status:{}", w.status));
    tags.push(format!("segment:{}", w.segment));
    let input = NaiveInput {
        id: CustomerId::new(id),
        tags,
        tax_exempt: false,
        metafields: vec![NaiveMetafield {
            namespace: "crm",
            key: "score",
            kind: "number_integer",
            value: w.score,
        }],
    };
    let done = shopify
        .run::<NaiveCustomerUpdate>(Lane::Customers, &NaiveVariables { input })
        .await?;
    let errors = done
        .customer_update
        .map(|p| p.user_errors)
        .unwrap_or_default();
    anyhow::ensure!(errors.is_empty(), "customerUpdate refused: {errors:?}");
    Ok(())
}

enum NaiveCustomerUpdate {}

#[derive(Serialize)]
struct NaiveVariables {
    input: NaiveInput,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NaiveInput {
    id: CustomerId,
    tags: Vec<String>,
    tax_exempt: bool,
    metafields: Vec<NaiveMetafield>,
}

#[derive(Serialize)]
struct NaiveMetafield {
    namespace: &'static str,
    key: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    value: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NaiveResponse {
    customer_update: Option<NaivePayload>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NaivePayload {
    user_errors: Vec<serde_json::Value>,
}

impl Operation for NaiveCustomerUpdate {
    const NAME: &'static str = "NaiveCustomerUpdate";
    const DOCUMENT: &'static str = "mutation NaiveCustomerUpdate($input: CustomerInput!) {
  customerUpdate(input: $input) { userErrors { field message } }
}";
    type Variables = NaiveVariables;
    type Response = NaiveResponse;

    fn estimate(_: &NaiveVariables) -> f64 {
        10.0
    }
}
