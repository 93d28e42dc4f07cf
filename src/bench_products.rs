//! `xconnector bench products`: a PIM's catalogue of `count` products (1 to 9 variants, 5 on
//! average, 0 to 3 images) pushed into a simulated Standard-plan shop, then the whole catalogue
//! pushed again with 2% of the products changed, through the products flow (as configured by
//! default, and with `bulk_over = 0`, so that the run shows which way a first load should go)
//! and as a naive integration does it (productCreate and one productVariantsBulkCreate per variant;
//! then, for every product, a read, a productUpdate and one productVariantsBulkUpdate per
//! variant, changed or not), each in a fresh shop. Points, calls, wall time and their ratios,
//! per push, measured in the same run.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use xconnector_actors::flows::products::inbound::ProductMasters;
use xconnector_actors::flows::products::{FLOW, ProductsConfig, ProductsFlow};
use xconnector_actors::flows::{FlowSettings, FlowSpec};
use xconnector_actors::inbound::{Parsed, json as inbound_json};
use xconnector_actors::rate_limiter::Lane;
use xconnector_actors::shopify::operations::Operation;
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig, ShopifyHandle};
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

use crate::sim::{BucketConfig, SimConfig, Simulator, pim};

const MAX_VARIANTS: usize = 9;
const SEED: u64 = 17;

/// The catalogue of push `push` (0: first; 1: 2% of the products at their next version).
fn catalogue(count: usize, push: u32) -> Vec<Value> {
    (1..=count)
        .map(|n| {
            let version = if push > 0 && n % 50 == 7 { push } else { 0 };
            pim::product(n, version, MAX_VARIANTS, SEED)
        })
        .collect()
}

#[derive(Default, Clone, Copy)]
struct Push {
    wall: Duration,
    calls: u64,
    points: u64,
    throttled: u64,
}

struct Run {
    pushes: [Push; 2],
    wrong: usize,
}

/// How a run writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    /// The products flow as configured by default: a first load in bulk mutations.
    Flow,
    /// The products flow with `bulk_over = 0`: one productSet per product.
    OneByOne,
    Naive,
}

pub async fn products(count: usize, scale: f64) -> anyhow::Result<()> {
    let variants: usize = catalogue(count, 0)
        .iter()
        .map(|p| p["variants"].as_array().map_or(0, Vec::len))
        .sum();
    println!(
        "products benchmark: a PIM catalogue of {count} products ({variants} variants, {:.1} per product), then pushed again with 2% changed; Standard plan (2000 points, 100 points/s), bucket clock x{scale}",
        variants as f64 / count.max(1) as f64
    );
    let fast = run(count, scale, Way::Flow).await?;
    let single = run(count, scale, Way::OneByOne).await?;
    let naive = run(count, scale, Way::Naive).await?;
    println!(
        "{:>10} {:>8} {:>10} {:>10} {:>12} {:>10} {:>10}",
        "run", "push", "wall s", "calls", "points", "THROTTLED", "correct"
    );
    for (name, r) in [
        ("xconnector", &fast),
        ("productSet", &single),
        ("naive", &naive),
    ] {
        for (push, p) in ["first", "again"].iter().zip(&r.pushes) {
            println!(
                "{:>10} {:>8} {:>10.2} {:>10} {:>12} {:>10} {:>10}",
                name,
                push,
                p.wall.as_secs_f64(),
                p.calls,
                p.points,
                p.throttled,
                if r.wrong == 0 {
                    "yes".to_string()
                } else {
                    format!("{} off", r.wrong)
                }
            );
        }
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::INFINITY };
    for (i, (push, target)) in [("first load", 10), ("re-push", 40)].iter().enumerate() {
        let (f, n) = (fast.pushes[i], naive.pushes[i]);
        println!(
            "{push}: naive / xconnector: {:.1}x the points (target >= {target}x), {:.1}x the calls, {:.1}x the wall time",
            ratio(n.points as f64, f.points as f64),
            ratio(n.calls as f64, f.calls as f64),
            ratio(n.wall.as_secs_f64(), f.wall.as_secs_f64()),
        );
    }
    println!(
        "first load in bulk mutations / one productSet per product (bulk_over = 0): {:.1}x fewer points, {:.1}x fewer calls, {:.1}x the speed",
        ratio(single.pushes[0].points as f64, fast.pushes[0].points as f64),
        ratio(single.pushes[0].calls as f64, fast.pushes[0].calls as f64),
        ratio(
            single.pushes[0].wall.as_secs_f64(),
            fast.pushes[0].wall.as_secs_f64()
        ),
    );
    Ok(())
}

async fn run(count: usize, scale: f64, way: Way) -> anyhow::Result<Run> {
    let naive = way == Way::Naive;
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
    let dir = std::env::temp_dir().join(format!(
        "xconnector-bench-products-{}-{}",
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
            concurrency: 64,
            lease: Duration::from_secs(3600),
            ..FlowSettings::default()
        },
        ProductsFlow {
            settings: std::sync::Arc::new(
                ProductsConfig {
                    bulk_over: match way {
                        Way::OneByOne => 0,
                        _ => ProductsConfig::default().bulk_over,
                    },
                    ..ProductsConfig::default()
                }
                .settings(None),
            ),
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
    let shopify = engine
        .shopify()
        .ok_or_else(|| anyhow::anyhow!("no Shopify client"))?
        .clone();
    let mut pushes = [Push::default(); 2];
    for (push, slot) in pushes.iter_mut().enumerate() {
        let records = catalogue(count, push as u32);
        let before = sim.stats();
        let started = Instant::now();
        if naive {
            let results: Vec<anyhow::Result<()>> = futures::stream::iter(records.iter())
                .map(|r| naive_push(&shopify, r, push > 0))
                .buffer_unordered(16)
                .collect()
                .await;
            results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
        } else {
            for (i, chunk) in records.chunks(500).enumerate() {
                let body = serde_json::to_vec(&json!({"source": "pim", "products": chunk}))?;
                let accepted = inbound_json::parse::<ProductMasters>(body.as_slice(), 500, 0)
                    .map_err(|r| anyhow::anyhow!("the catalogue is invalid: {}", r.lines()))?;
                crate::intake::requests::store(
                    engine.store(),
                    "products",
                    Parsed::new(accepted),
                    &format!("bench-{push}-{i}"),
                    None,
                )
                .await?;
            }
            crate::bench::drained(engine.store(), FLOW).await?;
        }
        let wall = started.elapsed();
        let after = sim.stats();
        *slot = Push {
            wall,
            calls: after.requests - before.requests,
            points: after.points_spent - before.points_spent,
            throttled: after.throttled - before.throttled,
        };
    }
    let last = catalogue(count, 1);
    let wrong = sim.shop().with(|shop| {
        last.iter()
            .filter(|r| {
                let handle = r["handle"].as_str().unwrap_or_default();
                let Some(p) = shop.product_by_handle(handle) else {
                    return true;
                };
                let want = r["variants"].as_array().cloned().unwrap_or_default();
                p.variant_ids.len() != want.len()
                    || want.iter().any(|v| {
                        let sku = v["sku"].as_str().unwrap_or_default();
                        let price = v["price"].as_str().unwrap_or_default();
                        !p.variant_ids
                            .iter()
                            .filter_map(|id| shop.variants.get(id))
                            .any(|s| s.sku == sku && s.price.cents() == cents(price))
                    })
            })
            .count()
    });
    engine.shutdown(Duration::from_secs(5)).await?;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Run { pushes, wrong })
}

fn cents(text: &str) -> i64 {
    (text.parse::<f64>().unwrap_or(-1.0) * 100.0).round() as i64
}

/// The naive integration: on the first push, `productCreate` with the images, then one
/// `productVariantsBulkCreate` per variant; on a later push, for every product, whether it
/// changed or not, a read, a `productUpdate` and one `productVariantsBulkUpdate` per variant.
async fn naive_push(shopify: &ShopifyHandle, r: &Value, again: bool) -> anyhow::Result<()> {
    let handle = r["handle"].as_str().unwrap_or_default();
    let variants = r["variants"].as_array().cloned().unwrap_or_default();
    let options = |v: &Value| -> Vec<Value> {
        v["options"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| json!({"optionName": k, "name": v}))
                    .collect()
            })
            .unwrap_or_default()
    };
    let product_fields = json!({
        "title": r["title"], "handle": handle, "descriptionHtml": r["description_html"],
        "vendor": r["vendor"], "productType": r["product_type"], "status": r["status"],
        "tags": r["tags"],
    });
    if !again {
        let media: Vec<Value> = r["images"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| json!({"originalSource": i["url"], "alt": i["alt"], "mediaContentType": "IMAGE"}))
            .collect();
        let created = shopify
            .run::<NaiveCreate>(
                Lane::Products,
                &json!({"product": product_fields, "media": media}),
            )
            .await?;
        let id = created["productCreate"]["product"]["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("productCreate refused {handle}: {}", created))?
            .to_string();
        for v in &variants {
            let variant = json!({
                "optionValues": options(v), "price": v["price"], "compareAtPrice": v["compare_at_price"],
                "barcode": v["barcode"], "inventoryItem": {"sku": v["sku"], "cost": v["cost"]},
            });
            let done = shopify
                .run::<NaiveVariantCreate>(
                    Lane::Products,
                    &json!({"productId": id, "variants": [variant]}),
                )
                .await?;
            let errors = &done["productVariantsBulkCreate"]["userErrors"];
            anyhow::ensure!(
                errors.as_array().is_none_or(Vec::is_empty),
                "productVariantsBulkCreate refused {handle}: {errors}"
            );
        }
        return Ok(());
    }
    let read = shopify
        .run::<NaiveRead>(
            Lane::Products,
            &json!({"query": format!("handle:{handle}")}),
        )
        .await?;
    let product = &read["products"]["nodes"][0];
    let id = product["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("{handle} is not in the shop"))?
        .to_string();
    let mut fields = product_fields.clone();
    fields["id"] = json!(id);
    shopify
        .run::<NaiveUpdate>(Lane::Products, &json!({"product": fields}))
        .await?;
    let known = product["variants"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for v in &variants {
        let Some(existing) = known.iter().find(|k| k["sku"] == v["sku"]) else {
            continue;
        };
        let variant = json!({"id": existing["id"], "price": v["price"],
            "compareAtPrice": v["compare_at_price"], "barcode": v["barcode"]});
        shopify
            .run::<NaiveVariantUpdate>(
                Lane::Products,
                &json!({"productId": id, "variants": [variant]}),
            )
            .await?;
    }
    Ok(())
}

/// The naive integration's operations: each takes and gives plain JSON.
macro_rules! naive {
    ($op:ident, $name:literal, $estimate:expr, $doc:literal) => {
        enum $op {}

        impl Operation for $op {
            const NAME: &'static str = $name;
            const DOCUMENT: &'static str = $doc;
            type Variables = Value;
            type Response = Value;

            fn estimate(_: &Value) -> f64 {
                $estimate
            }
        }
    };
}

naive!(
    NaiveCreate,
    "NaiveCreate",
    10.0,
    "mutation NaiveCreate($product: ProductCreateInput!, $media: [CreateMediaInput!]) {
  productCreate(product: $product, media: $media) { product { id } userErrors { field message } }
}"
);
naive!(
    NaiveVariantCreate,
    "NaiveVariantCreate",
    10.0,
    "mutation NaiveVariantCreate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkCreate(productId: $productId, variants: $variants) { userErrors { field message } }
}"
);
naive!(
    NaiveRead,
    "NaiveRead",
    205.0,
    "query NaiveRead($query: String!) {
  products(first: 1, query: $query) { nodes { id variants(first: 100) { nodes { id sku } } } }
}"
);
naive!(
    NaiveUpdate,
    "NaiveUpdate",
    10.0,
    "mutation NaiveUpdate($product: ProductUpdateInput!) {
  productUpdate(product: $product) { userErrors { field message } }
}"
);
naive!(
    NaiveVariantUpdate,
    "NaiveVariantUpdate",
    10.0,
    "mutation NaiveVariantUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) { userErrors { field message } }
}"
);
