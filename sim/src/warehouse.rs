//! The simulated warehouse: the back-office side of stock. It knows the shop's SKUs and
//! location names and sends stock feeds to the daemon's `POST /api/v1/inventory`, as a WMS
//! would: frequent small deltas (a few SKUs counted or received) and now and then a snapshot
//! of everything. Also [`stock_catalog`], which gives a simulated shop a large catalogue for
//! the inventory tests and benchmark.

use std::time::Duration;

use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::ShopHandle;
use super::shop::{Money, ProductSpec, Shop, VariantSpec};

/// Adds `skus` variants (SKUs `{prefix}00001`, …), 100 per product, stocked at 0 at every
/// active location. Returns the SKUs in order.
pub fn stock_catalog(shop: &mut Shop, skus: usize, prefix: &str) -> Vec<String> {
    let all: Vec<String> = (1..=skus).map(|i| format!("{prefix}{i:05}")).collect();
    for (p, chunk) in all.chunks(100).enumerate() {
        shop.add_product(ProductSpec {
            title: format!("{prefix} bulk product {}", p + 1),
            vendor: "Simulated Warehouse".into(),
            product_type: "Stock".into(),
            tags: vec!["bulk".into()],
            variants: chunk
                .iter()
                .map(|sku| VariantSpec {
                    title: sku.clone(),
                    sku: sku.clone(),
                    price: Money(1_000),
                    grams: 100,
                })
                .collect(),
            stock_per_location: 0,
        });
    }
    all
}

/// How the warehouse behaves.
#[derive(Clone, Debug)]
pub struct WarehouseSpec {
    /// `http://HOST:PORT/api/v1/inventory` of the daemon.
    pub url: String,
    /// A bearer token from the daemon's `[server] api_tokens`.
    pub token: String,
    /// Between two feeds.
    pub every: Duration,
    /// Every this many feeds, a snapshot of all SKUs instead of a delta.
    pub snapshot_every: u32,
    pub seed: u64,
}

/// Sends feeds until the task is aborted. Failures (the daemon not up yet) are logged and
/// the next feed is tried on schedule.
pub async fn run(shop: ShopHandle, spec: WarehouseSpec) {
    let client = match xconnector_actors::http_client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "simulated warehouse: no HTTP client; not sending stock feeds");
            return;
        }
    };
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let mut sent = 0u32;
    info!(url = %spec.url, every = ?spec.every, "simulated warehouse sending stock feeds");
    loop {
        tokio::time::sleep(spec.every).await;
        sent += 1;
        let snapshot = spec.snapshot_every > 0 && sent.is_multiple_of(spec.snapshot_every);
        let feed = shop.with(|shop| feed(shop, &mut rng, snapshot));
        let Some(feed) = feed else { continue };
        let levels = feed["levels"].as_array().map_or(0, Vec::len);
        match client
            .post(&spec.url)
            .bearer_auth(&spec.token)
            .json(&feed)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                debug!(levels, snapshot, "simulated warehouse: feed accepted")
            }
            Ok(r) => warn!(status = %r.status(), "simulated warehouse: feed refused"),
            Err(e) => warn!(error = %e.without_url(), "simulated warehouse: feed not delivered"),
        }
    }
}

/// A feed from the shop's current catalogue: a few SKUs (delta) or all of them (snapshot),
/// with stock drifting from what the shop shows.
fn feed(shop: &Shop, rng: &mut fastrand::Rng, snapshot: bool) -> Option<Value> {
    let locations: Vec<(u64, String)> = shop
        .locations
        .values()
        .filter(|l| l.active)
        .map(|l| (l.id, l.name.clone()))
        .collect();
    let items: Vec<(u64, String)> = shop
        .inventory_items
        .values()
        .filter(|i| !i.sku.is_empty())
        .map(|i| (i.id, i.sku.clone()))
        .collect();
    if locations.is_empty() || items.is_empty() {
        return None;
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut levels = Vec::new();
    let picks: Vec<&(u64, String)> = if snapshot {
        items.iter().collect()
    } else {
        (0..rng.usize(1..=8))
            .map(|_| &items[rng.usize(..items.len())])
            .collect()
    };
    for (item, sku) in picks {
        for (location, name) in &locations {
            // An oversold level is negative in the shop; a warehouse counts what is on its
            // shelves, never less than nothing (and the inventory API refuses less).
            let current = shop
                .inventory_level(*item, *location)
                .map_or(0, |l| l.available)
                .max(0);
            // A snapshot mostly confirms what the shop shows; deltas are real changes.
            let available = if snapshot && rng.u8(..10) > 0 {
                current
            } else {
                (current + rng.i64(-5..=20)).max(0)
            };
            levels
                .push(json!({"sku": sku, "location": name, "available": available, "as_of": now}));
        }
    }
    Some(json!({
        "source": "sim-warehouse",
        "mode": if snapshot { "snapshot" } else { "delta" },
        "levels": levels,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_never_report_negative_stock_even_for_an_oversold_level() {
        let mut shop = Shop::seed(1, &crate::SeedSize::small());
        let skus = stock_catalog(&mut shop, 20, "W-");
        let location = shop.locations.values().find(|l| l.active).unwrap().id;
        for sku in &skus {
            let item = shop.inventory_item_by_sku(sku).unwrap().id;
            shop.set_inventory(item, location, -7).unwrap();
        }
        let mut rng = fastrand::Rng::with_seed(3);
        for snapshot in [true, false, true, false] {
            let feed = feed(&shop, &mut rng, snapshot).unwrap();
            for level in feed["levels"].as_array().unwrap() {
                assert!(level["available"].as_i64().unwrap() >= 0, "{level}");
            }
        }
    }
}
