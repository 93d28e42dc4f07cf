//! The simulated ERP's unit costs: it sends the cost of every SKU of the shop to the daemon's
//! `POST /api/v1/costs` once it starts, then now and then a new cost for a few SKUs from today,
//! as purchasing would when a supplier's price changes. Costs are 35–65% of the variant's
//! price, in the shop's currency, so the demo's inventory report shows a gross margin.

use std::time::Duration;

use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::ShopHandle;
use super::shop::Shop;

#[derive(Clone, Debug)]
pub struct CostsSpec {
    /// `http://HOST:PORT/api/v1/costs` of the daemon.
    pub url: String,
    /// A bearer token from the daemon's `[server] api_tokens`.
    pub token: String,
    /// Between two changes of cost.
    pub every: Duration,
    pub seed: u64,
}

/// Sends costs until the task is aborted; a request that fails is sent again at the next turn.
pub async fn run(shop: ShopHandle, spec: CostsSpec) {
    let client = match xconnector_actors::http_client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "simulated ERP: no HTTP client; not sending unit costs");
            return;
        }
    };
    let mut rng = fastrand::Rng::with_seed(spec.seed ^ 0xC057);
    let mut all_sent = false;
    info!(url = %spec.url, "simulated ERP sending unit costs");
    loop {
        // Every SKU until that landed once, then a few changes.
        let body = shop.with(|shop| costs(shop, &mut rng, !all_sent));
        if let Some(body) = body {
            let n = body["costs"].as_array().map_or(0, Vec::len);
            match client
                .post(&spec.url)
                .bearer_auth(&spec.token)
                .json(&body)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => {
                    all_sent = true;
                    debug!(costs = n, "simulated ERP: costs accepted");
                }
                Ok(r) => warn!(status = %r.status(), "simulated ERP: costs refused"),
                Err(e) => warn!(error = %e.without_url(), "simulated ERP: costs not delivered"),
            }
        }
        let wait = if all_sent {
            spec.every
        } else {
            Duration::from_secs(2)
        };
        tokio::time::sleep(wait).await;
    }
}

/// Costs of every SKU (`all`) or of up to five, from today (UTC).
fn costs(shop: &Shop, rng: &mut fastrand::Rng, all: bool) -> Option<Value> {
    let variants: Vec<(&str, i64)> = shop
        .variants
        .values()
        .filter(|v| !v.sku.is_empty())
        .map(|v| (v.sku.as_str(), v.price.cents()))
        .collect();
    if variants.is_empty() {
        return None;
    }
    let today = chrono::Utc::now().date_naive().to_string();
    let picks: Vec<&(&str, i64)> = if all {
        variants.iter().collect()
    } else {
        (0..rng.usize(1..=5))
            .map(|_| &variants[rng.usize(..variants.len())])
            .collect()
    };
    let entries: Vec<Value> = picks
        .into_iter()
        .map(|(sku, price)| {
            let cents = price * rng.i64(35..=65) / 100;
            json!({"sku": sku, "unit_cost": format!("{}.{:02}", cents / 100, cents % 100),
                   "currency": shop.currency, "from": today})
        })
        .collect();
    Some(json!({"source": "sim-erp", "costs": entries}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sku_then_a_few_each_below_its_price() {
        let shop = Shop::seed(1, &crate::SeedSize::small());
        let mut rng = fastrand::Rng::with_seed(1);
        let all = costs(&shop, &mut rng, true).unwrap();
        let skus = shop.variants.values().filter(|v| !v.sku.is_empty()).count();
        assert_eq!(all["costs"].as_array().unwrap().len(), skus);
        for c in all["costs"].as_array().unwrap() {
            let sku = c["sku"].as_str().unwrap();
            let price = shop.variants.values().find(|v| v.sku == sku).unwrap().price;
            let cost: f64 = c["unit_cost"].as_str().unwrap().parse().unwrap();
            assert!(cost * 100.0 <= price.cents() as f64 * 0.65 + 1.0, "{c}");
            assert_eq!(c["currency"], shop.currency.as_str());
        }
        let few = costs(&shop, &mut rng, false).unwrap();
        assert!((1..=5).contains(&few["costs"].as_array().unwrap().len()));
    }
}
