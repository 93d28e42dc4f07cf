//! The simulated PIM: the back office's product catalogue. It first sends its whole catalogue
//! to the daemon's `POST /api/v1/products` (at most 100 products a request), then, on a
//! schedule, edits a few products (a price, a compare-at price or a barcode) and sends each
//! edited product again in full, as a PIM always sends the whole record.
//!
//! The body is exactly (the project's design; the field names are fixed):
//! ```json
//! {"source": "pim", "products": [{"handle": "pim-1", "external_id": "P-1", "title": "…",
//!   "description_html": "<p>…</p>", "vendor": "Acme", "product_type": "Shirt",
//!   "status": "ACTIVE", "tags": ["summer"], "options": [{"name": "Size", "values": ["S", "M"]}],
//!   "variants": [{"sku": "P1-S-BLACK", "options": {"Size": "S", "Colour": "Black"},
//!     "price": "19.99", "compare_at_price": null, "barcode": "…", "inventory_policy": "deny",
//!     "weight": {"value": 0.2, "unit": "KILOGRAMS"}, "cost": "7.50"}],
//!   "images": [{"url": "https://cdn.example.com/pim/1/0.jpg", "alt": "…"}]}]}
//! ```
//! [`product`] and [`catalogue`] are pure, so tests and benchmarks can build the same records
//! the running PIM sends.

use std::time::Duration;

use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::ShopHandle;
use super::shop::Money;

/// How the PIM behaves.
#[derive(Clone, Debug)]
pub struct PimSpec {
    /// The daemon's base URL; the PIM posts to `{api_url}/api/v1/products`.
    pub api_url: String,
    /// A bearer token from the daemon's `[server] api_tokens`.
    pub token: String,
    /// Between two rounds of edits.
    pub every: Duration,
    /// Products in the catalogue (`pim-1` … `pim-{catalogue}`).
    pub catalogue: usize,
    /// Variants per product, at most (each product has 1 to this many).
    pub max_variants: usize,
    /// Products edited and sent again per round.
    pub edits: usize,
    pub seed: u64,
}

/// Products per request, at most.
pub const BATCH: usize = 100;
/// Before a failed post is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(2);

const SIZES: &[&str] = &["S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL"];
const COLOURS: &[&str] = &[
    "Black", "White", "Navy", "Red", "Green", "Grey", "Blue", "Olive", "Sand", "Pink",
];
const ADJECTIVES: &[&str] = &["Classic", "Trail", "Coastal", "Urban", "Alpine", "Studio"];
const NOUNS: &[(&str, &str)] = &[
    ("Shirt", "Shirts"),
    ("Hoodie", "Sweaters"),
    ("Jacket", "Outerwear"),
    ("Cap", "Hats"),
    ("Sock", "Socks"),
];
const VENDORS: &[&str] = &["Acme", "Northwind", "Maple & Co", "Blue Harbor"];
const TAGS: &[&str] = &[
    "summer",
    "winter",
    "organic",
    "bestseller",
    "new",
    "outdoor",
];

/// The endpoint for a daemon base URL (a trailing `/` is tolerated).
pub fn products_url(api_url: &str) -> String {
    format!("{}/api/v1/products", api_url.trim_end_matches('/'))
}

fn size_name(i: usize) -> String {
    SIZES
        .get(i)
        .map_or_else(|| format!("Size {}", i + 1), |s| s.to_string())
}

fn colour_name(i: usize) -> String {
    COLOURS
        .get(i)
        .map_or_else(|| format!("Colour {}", i + 1), |s| s.to_string())
}

fn sku_part(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Product `n` (from 1) of the catalogue at `version` (0 as first sent; each later version is
/// one edit: a price, then a compare-at price, then a barcode, in turn). Deterministic in all
/// its arguments.
pub fn product(n: usize, version: u32, max_variants: usize, seed: u64) -> Value {
    let mut rng = fastrand::Rng::with_seed(
        seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (n as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9),
    );
    let count = rng.usize(1..=max_variants.max(1));
    let colours = count.div_ceil(SIZES.len()).max(1);
    let sizes = count.div_ceil(colours);
    let combos: Vec<(usize, usize)> = (0..colours)
        .flat_map(|c| (0..sizes).map(move |s| (s, c)))
        .take(count)
        .collect();
    let (adjective, (noun, product_type)) = (
        ADJECTIVES[rng.usize(..ADJECTIVES.len())],
        NOUNS[rng.usize(..NOUNS.len())],
    );
    let title = format!("{adjective} {noun} {n}");
    let vendor = VENDORS[rng.usize(..VENDORS.len())];
    let mut tags = vec![TAGS[rng.usize(..TAGS.len())].to_string()];
    let second = TAGS[rng.usize(..TAGS.len())].to_string();
    if !tags.contains(&second) {
        tags.push(second);
    }
    let base = Money(rng.i64(10..120) * 100 - 1);
    let on_sale = rng.u8(0..4) == 0;
    let barcode_base = rng.u64(100_000_000_000..900_000_000_000);
    let grams = rng.u32(100..1_500);
    // Edits cycle price → compare-at price → barcode.
    let v = version as i64;
    let (price_bumps, compare_bumps, barcode_bumps) = ((v + 2) / 3, (v + 1) / 3, v / 3);
    let variants: Vec<Value> = combos
        .iter()
        .enumerate()
        .map(|(i, &(s, c))| {
            let (size, colour) = (size_name(s), colour_name(c));
            let price = Money(base.0 + 100 * s as i64 + 50 * price_bumps);
            let compare_at = (on_sale || compare_bumps > 0)
                .then(|| Money(price.0 + 1_000 + 100 * compare_bumps).to_fixed2());
            let bumps = if i == 0 { barcode_bumps as u64 } else { 0 };
            json!({
                "sku": format!("P{n}-{}-{}", sku_part(&size), sku_part(&colour)),
                "options": {"Size": size, "Colour": colour},
                "price": price.to_fixed2(),
                "compare_at_price": compare_at,
                "barcode": format!("{}", barcode_base + i as u64 * 1_000 + bumps),
                "inventory_policy": "deny",
                "weight": {"value": f64::from(grams + 10 * s as u32) / 1000.0, "unit": "KILOGRAMS"},
                "cost": Money(price.0 * 40 / 100).to_fixed2(),
            })
        })
        .collect();
    let size_values: Vec<String> = (0..sizes.min(count)).map(size_name).collect();
    let colour_values: Vec<String> = (0..colours).map(colour_name).collect();
    let mut images: Vec<Value> = (0..rng.usize(0..=3))
        .map(|i| json!({"url": format!("https://cdn.example.com/pim/{n}/{i}.jpg"), "alt": format!("{title} {}", i + 1)}))
        .collect();
    if rng.u8(0..50) == 0 {
        images
            .push(json!({"url": format!("https://cdn.example.com/broken/{n}.jpg"), "alt": title}));
    }
    json!({
        "handle": format!("pim-{n}"),
        "external_id": format!("P-{n}"),
        "title": title,
        "description_html": format!("<p>The {} {} by {vendor}.</p>", adjective.to_lowercase(), noun.to_lowercase()),
        "vendor": vendor,
        "product_type": product_type,
        "status": "ACTIVE",
        "tags": tags,
        "options": [
            {"name": "Size", "values": size_values},
            {"name": "Colour", "values": colour_values},
        ],
        "variants": variants,
        "images": images,
    })
}

/// Products 1 to `count` at version 0.
pub fn catalogue(count: usize, max_variants: usize, seed: u64) -> Vec<Value> {
    (1..=count)
        .map(|n| product(n, 0, max_variants, seed))
        .collect()
}

fn body(products: &[Value]) -> Value {
    json!({"source": "pim", "products": products})
}

/// Post until accepted (the daemon may not be up yet).
async fn post(client: &reqwest::Client, url: &str, token: &str, products: &[Value]) {
    loop {
        match client
            .post(url)
            .bearer_auth(token)
            .json(&body(products))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                debug!(
                    products = products.len(),
                    "simulated PIM: products accepted"
                );
                return;
            }
            Ok(r) => warn!(status = %r.status(), "simulated PIM: products refused; retrying"),
            Err(e) => {
                warn!(error = %e.without_url(), "simulated PIM: products not delivered; retrying")
            }
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

/// Sends the catalogue, then edits until the task is aborted.
pub async fn run(shop: ShopHandle, spec: PimSpec) {
    let client = match xconnector_actors::http_client::builder()
        .timeout(Duration::from_secs(60))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "simulated PIM: no HTTP client; not sending products");
            return;
        }
    };
    let url = products_url(&spec.api_url);
    info!(url = %url, products = spec.catalogue, "simulated PIM sending its catalogue");
    let all = catalogue(spec.catalogue, spec.max_variants, spec.seed);
    for chunk in all.chunks(BATCH) {
        post(&client, &url, &spec.token, chunk).await;
    }
    let mut versions = vec![0u32; spec.catalogue];
    let mut rng = fastrand::Rng::with_seed(spec.seed ^ 0x9172_ed17);
    loop {
        tokio::time::sleep(spec.every).await;
        if versions.is_empty() || spec.edits == 0 {
            continue;
        }
        let mut picked: Vec<usize> = Vec::new();
        for _ in 0..spec.edits.min(versions.len()) * 2 {
            let i = rng.usize(..versions.len());
            if !picked.contains(&i) {
                picked.push(i);
            }
            if picked.len() == spec.edits.min(versions.len()) {
                break;
            }
        }
        let edited: Vec<Value> = picked
            .iter()
            .map(|&i| {
                versions[i] += 1;
                product(i + 1, versions[i], spec.max_variants, spec.seed)
            })
            .collect();
        for chunk in edited.chunks(BATCH) {
            post(&client, &url, &spec.token, chunk).await;
        }
        let in_shop = shop.with(|s| {
            s.products
                .values()
                .filter(|p| p.handle.starts_with("pim-"))
                .count()
        });
        debug!(edited = edited.len(), in_shop, "simulated PIM: edits sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_deterministic_and_in_the_fixed_shape() {
        assert_eq!(product(7, 0, 12, 3), product(7, 0, 12, 3));
        assert_ne!(product(7, 0, 12, 3), product(8, 0, 12, 3));
        let keys = [
            "handle",
            "external_id",
            "title",
            "description_html",
            "vendor",
            "product_type",
            "status",
            "tags",
            "options",
            "variants",
            "images",
        ];
        let variant_keys = [
            "sku",
            "options",
            "price",
            "compare_at_price",
            "barcode",
            "inventory_policy",
            "weight",
            "cost",
        ];
        let all = catalogue(60, 12, 3);
        let mut broken = 0;
        for (i, p) in all.iter().enumerate() {
            let n = i + 1;
            let mut got: Vec<&str> = p.as_object().unwrap().keys().map(|k| k.as_str()).collect();
            got.sort_unstable();
            let mut want = keys.to_vec();
            want.sort_unstable();
            assert_eq!(got, want);
            assert_eq!(p["handle"], format!("pim-{n}"));
            assert_eq!(p["external_id"], format!("P-{n}"));
            assert_eq!(p["status"], "ACTIVE");
            let variants = p["variants"].as_array().unwrap();
            assert!((1..=12).contains(&variants.len()));
            let options = p["options"].as_array().unwrap();
            let mut combos = std::collections::HashSet::new();
            for v in variants {
                let vk: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
                assert!(vk.iter().all(|k| variant_keys.contains(k)), "{v}");
                assert!(Money::parse(v["price"].as_str().unwrap()).is_some());
                assert!(v["sku"].as_str().unwrap().starts_with(&format!("P{n}-")));
                for o in options {
                    let name = o["name"].as_str().unwrap();
                    let value = &v["options"][name];
                    assert!(o["values"].as_array().unwrap().contains(value), "{p}");
                }
                assert!(
                    combos.insert(v["options"].to_string()),
                    "unique combinations"
                );
            }
            for img in p["images"].as_array().unwrap() {
                broken += usize::from(img["url"].as_str().unwrap().contains("/broken/"));
            }
        }
        assert!(broken <= 5, "{broken}");
        // Versions edit prices, compare-at prices and barcodes in turn.
        let (v0, v1, v2, v3) = (
            product(5, 0, 4, 1),
            product(5, 1, 4, 1),
            product(5, 2, 4, 1),
            product(5, 3, 4, 1),
        );
        assert_ne!(v0["variants"][0]["price"], v1["variants"][0]["price"]);
        assert_eq!(v1["variants"][0]["price"], v2["variants"][0]["price"]);
        assert_ne!(
            v1["variants"][0]["compare_at_price"],
            v2["variants"][0]["compare_at_price"]
        );
        assert_ne!(v2["variants"][0]["barcode"], v3["variants"][0]["barcode"]);
        assert_eq!(v0["title"], v3["title"]);
        assert_eq!(
            products_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/api/v1/products"
        );
    }
}
