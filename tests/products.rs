//! The products flow both ways, end to end: the real daemon binary, the simulated PIM's
//! catalogue posted to `POST /api/v1/products`, the simulated shop as the judge of what was
//! written, its `products/*` webhooks coming back, and the simulated back office counting what
//! the PIM is sent.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::rig::{
    API_TOKEN, Rig, RigOptions, daemon_config, free_port, quiescent, start_daemon, until,
};
use serde_json::{Value, json};
use xconnector::sim::pim;
use xconnector::sim::shop::{Merch, Shop};

const PRODUCTS: &str = r#"
[flows.products]
targets = ["pim"]
reconcile_every = "1h"
linger = "20ms"
"#;

const SEED: u64 = 3;

/// Posts `products` in requests of 100, and waits until every one of their items has finished
/// (written, unchanged, or held as an exception).
async fn post(port: u16, products: &[Value]) {
    let ids = send(port, products).await;
    finished(port, &ids).await;
}

async fn send(port: u16, products: &[Value]) -> Vec<String> {
    let http = xconnector_actors::http_client::builder().build().unwrap();
    let mut ids = Vec::new();
    for chunk in products.chunks(100) {
        let resp = http
            .post(format!("http://127.0.0.1:{port}/api/v1/products"))
            .bearer_auth(API_TOKEN)
            .json(&json!({"source": "pim", "products": chunk}))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 202, "{body}");
        ids.push(body["request_id"].as_str().unwrap().to_string());
    }
    ids
}

async fn finished(port: u16, requests: &[String]) {
    let http = xconnector_actors::http_client::builder().build().unwrap();
    until("the requests' items finished", || async {
        for id in requests {
            let status: Value = http
                .get(format!("http://127.0.0.1:{port}/api/v1/requests/{id}"))
                .bearer_auth(API_TOKEN)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let open = status["items"].as_array()?.iter().any(|i| {
                !matches!(
                    i["state"].as_str(),
                    Some("applied" | "exception" | "cancelled")
                )
            });
            if open {
                return None;
            }
        }
        Some(())
    })
    .await
}

/// What the shop has of a PIM product, as the PIM record would say it: variants by SKU with
/// their price, compare-at price and barcode, and the image URLs it fetched.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    title: String,
    variants: BTreeMap<String, (String, Option<String>, Option<String>)>,
    images: BTreeSet<String>,
}

fn wanted(record: &Value) -> Seen {
    let variants = record["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let text = |k: &str| v[k].as_str().map(str::to_string);
            (
                text("sku").unwrap(),
                (
                    text("price").unwrap(),
                    text("compare_at_price"),
                    text("barcode"),
                ),
            )
        })
        .collect();
    let images = record["images"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["url"].as_str())
        .filter(|u| !u.contains("/broken/"))
        .map(str::to_string)
        .collect();
    Seen {
        title: record["title"].as_str().unwrap().to_string(),
        variants,
        images,
    }
}

fn seen(shop: &Shop, handle: &str) -> Option<Seen> {
    let p = shop.product_by_handle(handle)?;
    let variants = p
        .variant_ids
        .iter()
        .filter_map(|id| shop.variants.get(id))
        .map(|v| {
            (
                v.sku.clone(),
                (
                    v.price.to_fixed2(),
                    v.compare_at_price.map(|m| m.to_fixed2()),
                    v.barcode.clone(),
                ),
            )
        })
        .collect();
    let images = p
        .media
        .iter()
        .filter_map(|id| shop.media.get(id))
        .filter(|m| m.status == xconnector::sim::shop::MediaStatus::Ready)
        .map(|m| m.original_url.clone())
        .collect();
    Some(Seen {
        title: p.title.clone(),
        variants,
        images,
    })
}

/// Prices as the shop prints them (`19.9` may come back `19.90`): compared as cents.
fn same(a: &Seen, b: &Seen) -> bool {
    let cents = |s: &str| (s.parse::<f64>().unwrap_or(-1.0) * 100.0).round() as i64;
    a.title == b.title
        && a.images == b.images
        && a.variants.len() == b.variants.len()
        && a.variants.iter().all(|(sku, (price, compare, barcode))| {
            b.variants.get(sku).is_some_and(|(p, c, bc)| {
                cents(p) == cents(price)
                    && c.as_deref().map(cents) == compare.as_deref().map(cents)
                    && bc == barcode
            })
        })
}

/// The history of the products item with `key` (`pim: pim-7`), as `items show --json` prints
/// it: the newest such item.
fn history_of(config: &std::path::Path, key: &str) -> String {
    let mut after = String::from("0");
    let mut found = None;
    loop {
        let page = common::cli_json(
            &[
                "items", "list", "--json", "--flow", "products", "--limit", "500", "--after",
                &after, "--config",
            ],
            config,
        );
        for i in page["items"].as_array().into_iter().flatten() {
            if i["key"] == key {
                found = Some(i["id"].to_string());
            }
        }
        match page["next"].as_u64() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    let id = found.unwrap_or_else(|| panic!("no item {key}"));
    common::cli_json(&["items", "show", &id, "--json", "--config"], config).to_string()
}

fn product_sets(rig: &Rig) -> u64 {
    rig.sim
        .stats()
        .root_fields
        .get("productSet")
        .copied()
        .unwrap_or(0)
}

/// Handle → how many products the shop has under it, for the PIM's handles.
fn by_handle(shop: &Shop) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for p in shop
        .products
        .values()
        .filter(|p| p.handle.starts_with("pim-"))
    {
        *out.entry(p.handle.clone()).or_default() += 1;
    }
    out
}

async fn matches_catalogue(rig: &Rig, catalogue: &[Value]) {
    until("the catalogue in the shop", || async {
        rig.sim
            .shop()
            .with(|shop| {
                catalogue.iter().all(|r| {
                    let handle = r["handle"].as_str().unwrap();
                    seen(shop, handle).is_some_and(|s| same(&wanted(r), &s))
                })
            })
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_catalogue_lands_exactly_a_second_push_writes_nothing_and_a_dropped_variant_goes() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rig = Rig::start(RigOptions::webhooks_to(format!(
        "http://127.0.0.1:{port}/webhooks/shopify"
    )))
    .await;
    let config = daemon_config(dir.path(), port, &rig, "1h", PRODUCTS);
    let _daemon = start_daemon(&config);

    // 1,000 products of up to 100 variants each.
    let catalogue = pim::catalogue(1_000, 100, SEED);
    post(port, &catalogue).await;
    matches_catalogue(&rig, &catalogue).await;
    quiescent(&rig, &config).await;
    let counts = rig.sim.shop().with(|shop| by_handle(shop));
    assert_eq!(counts.len(), 1_000);
    assert!(counts.values().all(|n| *n == 1), "a handle twice");
    // Shopify's echoes of those writes went nowhere: the PIM wrote them.
    assert_eq!(
        rig.office.received("pim").len(),
        0,
        "echoes reached the PIM"
    );

    // A first load goes in bulk mutations (metered as one call each), not a productSet per
    // product; images Shopify could not fetch are warnings in their product's item.
    let stats = rig.sim.stats();
    let bulk = stats
        .root_fields
        .get("bulkOperationRunMutation")
        .copied()
        .unwrap_or(0);
    assert!(bulk > 0, "no bulk mutation for a first load");
    assert!(
        stats.bulk_mutation_lines >= 900,
        "{} products went in bulk",
        stats.bulk_mutation_lines
    );
    let broken = catalogue
        .iter()
        .find(|r| r["images"].to_string().contains("/broken/"))
        .expect("a product with a broken image");
    let shown = history_of(
        &config,
        &format!("pim: {}", broken["handle"].as_str().unwrap()),
    );
    assert!(
        shown.contains("warnings: image https://cdn.example.com/broken/"),
        "{shown}"
    );

    // The same catalogue again: nothing is written.
    let before = product_sets(&rig);
    post(port, &catalogue).await;
    quiescent(&rig, &config).await;
    assert_eq!(
        product_sets(&rig),
        before,
        "an unchanged record was written"
    );

    // A record that drops a variant removes exactly that variant; the others keep their ids.
    // (A large one: written asynchronously and followed to completion.)
    let mut record = catalogue
        .iter()
        .find(|r| {
            r["variants"].as_array().unwrap().len() + r["images"].as_array().map_or(0, Vec::len)
                > 102
        })
        .expect("a product of more than 100 variants and images")
        .clone();
    let followed = rig
        .sim
        .stats()
        .root_fields
        .get("productOperation")
        .copied()
        .unwrap_or(0);
    let handle = record["handle"].as_str().unwrap().to_string();
    let kept_before: BTreeMap<String, u64> = rig.sim.shop().with(|shop| {
        let p = shop.product_by_handle(&handle).unwrap();
        p.variant_ids
            .iter()
            .map(|id| (shop.variants[id].sku.clone(), *id))
            .collect()
    });
    let dropped = record["variants"].as_array_mut().unwrap().remove(1);
    let dropped_sku = dropped["sku"].as_str().unwrap().to_string();
    post(port, std::slice::from_ref(&record)).await;
    until("the variant removed", || async {
        rig.sim
            .shop()
            .with(|shop| seen(shop, &handle).is_some_and(|s| same(&wanted(&record), &s)))
            .then_some(())
    })
    .await;
    assert!(
        rig.sim
            .stats()
            .root_fields
            .get("productOperation")
            .copied()
            .unwrap_or(0)
            > followed,
        "the large product was not written asynchronously"
    );
    let kept_after: BTreeMap<String, u64> = rig.sim.shop().with(|shop| {
        let p = shop.product_by_handle(&handle).unwrap();
        p.variant_ids
            .iter()
            .map(|id| (shop.variants[id].sku.clone(), *id))
            .collect()
    });
    let mut expected = kept_before.clone();
    expected.remove(&dropped_sku);
    assert_eq!(
        kept_after, expected,
        "exactly {dropped_sku} removed, the rest in place"
    );

    // Merchandisers tag 50 products in Shopify: each change reaches the PIM once, flagged.
    let quiet = rig.office.received("pim").len();
    let tagged: Vec<u64> = rig.sim.shop().with(|shop| {
        let ids: Vec<u64> = shop
            .products
            .values()
            .filter(|p| p.handle.starts_with("pim-"))
            .map(|p| p.id)
            .take(50)
            .collect();
        for id in &ids {
            assert!(
                shop.merchandise(*id, Merch::AddTag("staff-pick".into()))
                    .unwrap()
            );
        }
        ids
    });
    until("the tag edits at the PIM", || async {
        (rig.office.received("pim").len() >= quiet + 50).then_some(())
    })
    .await;
    quiescent(&rig, &config).await;
    let got: Vec<Value> = rig.office.received("pim")[quiet..]
        .iter()
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(got.len(), 50, "one delivery per edit: {got:?}");
    let ids: BTreeSet<u64> = got.iter().filter_map(|b| b["legacy_id"].as_u64()).collect();
    assert_eq!(ids, tagged.iter().copied().collect());
    for b in &got {
        assert_eq!(b["schema"], "xconnector.product.v1");
        assert_eq!(b["changed"], json!(["tags"]), "{b}");
        assert!(b["tags"].as_array().unwrap().contains(&json!("staff-pick")));
        assert!(b["external_ids"]["pim"].as_str().unwrap().starts_with("P-"));
    }

    // The mapping is queryable.
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (code, body) = common::request(
        addr,
        "GET",
        "/api/v1/products/pim/P-1",
        &[("authorization", format!("Bearer {API_TOKEN}"))],
        b"",
    );
    assert_eq!(code, 200, "{body}");
    let found: Value = serde_json::from_str(&body).unwrap();
    let id = rig
        .sim
        .shop()
        .with(|shop| shop.product_by_handle("pim-1").map(|p| p.id))
        .unwrap();
    assert_eq!(found["shopify_id"], format!("gid://shopify/Product/{id}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_mid_catalogue_loses_no_product_and_duplicates_none() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rig = Rig::start(RigOptions::webhooks_to(format!(
        "http://127.0.0.1:{port}/webhooks/shopify"
    )))
    .await;
    let config = daemon_config(dir.path(), port, &rig, "1h", PRODUCTS);
    let daemon = start_daemon(&config);
    let catalogue = pim::catalogue(400, 12, SEED + 1);
    send(port, &catalogue).await;
    // Killed once some of it is in the shop, none of it acknowledged on purpose.
    until("some products written", || async {
        (rig.sim.shop().with(|shop| by_handle(shop).len()) >= 40).then_some(())
    })
    .await;
    daemon.signal("KILL");
    drop(daemon);
    let _daemon = start_daemon(&config);
    matches_catalogue(&rig, &catalogue).await;
    quiescent(&rig, &config).await;
    let counts = rig.sim.shop().with(|shop| by_handle(shop));
    assert_eq!(counts.len(), 400, "a product missing");
    let twice: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(h, _)| h)
        .collect();
    assert!(twice.is_empty(), "handles made twice: {twice:?}");
    let leaked: Vec<Value> = rig
        .office
        .received("pim")
        .iter()
        .map(|r| r.body.clone())
        .collect();
    assert!(leaked.is_empty(), "echoes reached the PIM: {leaked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_are_named_before_the_202_and_shopify_refusals_become_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rig = Rig::start(RigOptions::webhooks_to(format!(
        "http://127.0.0.1:{port}/webhooks/shopify"
    )))
    .await;
    let drops = dir.path().join("drops");
    let with_drops = format!(
        "{PRODUCTS}watch_dir = \"{}\"\nwatch_every = \"50ms\"\n",
        drops.display()
    );
    let config = daemon_config(dir.path(), port, &rig, "1h", &with_drops);
    let _daemon = start_daemon(&config);
    let http = xconnector_actors::http_client::builder().build().unwrap();

    // A JSON file dropped in the watch directory is a request like a POST: applied whole, or
    // not at all with a report naming each problem.
    std::fs::create_dir_all(&drops).unwrap();
    let good = json!({"source": "pim", "products": [pim::product(901, 0, 4, SEED)]});
    std::fs::write(drops.join("catalogue.json.part"), good.to_string()).unwrap();
    std::fs::rename(
        drops.join("catalogue.json.part"),
        drops.join("catalogue.json"),
    )
    .unwrap();
    let broken = json!({"source": "pim", "products": [{"handle": "x", "title": "X", "variants": [{"price": "free"}]}]});
    std::fs::write(drops.join("broken.json"), broken.to_string()).unwrap();
    until("the dropped product in the shop", || async {
        rig.sim
            .shop()
            .with(|shop| shop.product_by_handle("pim-901").is_some())
            .then_some(())
    })
    .await;
    let report = until("the broken drop's report", || async {
        let failed = std::fs::read_dir(drops.join("failed")).ok()?;
        failed
            .flatten()
            .find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .ends_with("broken.json.report.txt")
            })
            .and_then(|e| std::fs::read_to_string(e.path()).ok())
    })
    .await;
    assert!(report.contains("products[0].variants[0].price"), "{report}");
    assert!(
        rig.sim
            .shop()
            .with(|shop| shop.product_by_handle("x").is_none())
    );

    // `xconnector products load`: a JSON Lines catalogue through the running daemon.
    let lines: Vec<String> = (950..955)
        .map(|n| pim::product(n, 0, 3, SEED).to_string())
        .collect();
    let file = dir.path().join("catalogue.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = common::xconnector()
        .args(["products", "load"])
        .arg(&file)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("5 products: 5 written or unchanged, 0 exceptions"),
        "{said}"
    );
    assert!(
        rig.sim
            .shop()
            .with(|shop| (950..955).all(|n| shop.product_by_handle(&format!("pim-{n}")).is_some()))
    );

    let bad = json!({"source": "pim", "products": [
        {"handle": "ok-1", "title": "Fine", "variants": [{"price": "1.00"}]},
        {"handle": "dup", "title": "Dup", "options": [{"name": "Size", "values": ["S"]}],
         "variants": [{"sku": "D", "options": {"Size": "S"}, "price": "1"}, {"sku": "D", "options": {"Size": "S"}, "price": "nope"}]}]});
    let resp = http
        .post(format!("http://127.0.0.1:{port}/api/v1/products"))
        .bearer_auth(API_TOKEN)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let text = resp.text().await.unwrap();
    assert!(text.contains("products[1].variants[1].price"), "{text}");
    assert!(
        rig.sim
            .shop()
            .with(|shop| shop.product_by_handle("ok-1").is_none())
    );

    // A product made in Shopify by hand (the seeded catalogue), named by a PIM record's
    // handle: found and adopted, not made twice.
    let seeded = rig
        .sim
        .shop()
        .with(|shop| shop.products.values().next().map(|p| p.handle.clone()))
        .unwrap();
    let adopt = json!({"source": "pim", "products": [
        {"handle": seeded, "external_id": "P-ADOPT", "title": "Adopted", "variants": [{"price": "2.00"}]},
        {"handle": "pim-other", "external_id": "P-OTHER", "title": "Other", "variants": [{"price": "2.00"}]}]});
    post(port, adopt["products"].as_array().unwrap()).await;
    quiescent(&rig, &config).await;
    rig.sim.shop().with(|shop| {
        let p = shop.product_by_handle(&seeded).unwrap();
        assert_eq!(p.title, "Adopted");
        assert_eq!(
            shop.product_by_metafield("xconnector", "pim", "P-ADOPT")
                .map(|q| q.id),
            Some(p.id)
        );
        let under: usize = shop
            .products
            .values()
            .filter(|q| q.handle == seeded)
            .count();
        assert_eq!(under, 1);
    });

    // Another PIM product's handle under a new external id: not adopted (it is P-OTHER's);
    // Shopify refuses the handle, and the item is an exception naming the product and why.
    let clash = json!({"handle": "pim-other", "external_id": "P-CLASH", "title": "Clash", "variants": [{"price": "2.00"}]});
    post(port, std::slice::from_ref(&clash)).await;
    let reason = until("the clash held", || async {
        let page = common::cli_json(
            &[
                "items",
                "list",
                "--json",
                "--flow",
                "products",
                "--state",
                "exception",
                "--config",
            ],
            &config,
        );
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|i| i["last_error"].as_str().map(str::to_string))
    })
    .await;
    assert!(
        reason.contains("Clash (pim id P-CLASH)") && reason.contains("HANDLE_NOT_UNIQUE"),
        "{reason}"
    );
    rig.sim.shop().with(|shop| {
        assert_eq!(shop.product_by_handle("pim-other").unwrap().title, "Other");
    });

    // Too many variants for Shopify's options: a record Shopify refuses is an exception that
    // names the product and Shopify's message.
    let sizes: Vec<String> = (0..45).map(|i| format!("S{i}")).collect();
    let colours: Vec<String> = (0..46).map(|i| format!("C{i}")).collect();
    let mut variants = Vec::new();
    for s in &sizes {
        for c in &colours {
            variants.push(json!({"sku": format!("BIG-{s}-{c}"), "options": {"Size": s, "Colour": c}, "price": "3.00"}));
        }
    }
    let big = json!({"source": "pim", "products": [{"handle": "too-big", "title": "Too big",
        "options": [{"name": "Size", "values": sizes}, {"name": "Colour", "values": colours}],
        "variants": variants}]});
    let resp = http
        .post(format!("http://127.0.0.1:{port}/api/v1/products"))
        .bearer_auth(API_TOKEN)
        .json(&big)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(
        status, 400,
        "2070 variants are more than Shopify takes: {text}"
    );
    assert!(text.contains("at most 2048 variants"), "{text}");
}
