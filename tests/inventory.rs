//! The inventory flow against the simulated shop: the engine in-process with the real flow,
//! feeds stored the way the HTTP API and the CSV drop store them, and the simulator's levels
//! and counters as the judge.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use xconnector::intake::requests;
use xconnector::sim::warehouse::stock_catalog;
use xconnector::sim::{SimConfig, SimStats, Simulator};
use xconnector_actors::flows::inventory::feed::{
    FLOW, KIND_LEVEL_FAILED, KIND_UNKNOWN_SKUS, Level, Mode,
};
use xconnector_actors::flows::inventory::inbound::{StockFeed, feed};
use xconnector_actors::flows::inventory::{InventoryFlow, InventorySettings};
use xconnector_actors::flows::write::EchoLog;
use xconnector_actors::flows::{FlowSettings, FlowSpec};
use xconnector_actors::inbound::Served;
use xconnector_actors::item::{Item, ItemState};
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig};
use xconnector_actors::store::ItemFilter;
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

const DEADLINE: Duration = Duration::from_secs(120);

struct Setup {
    sim: Simulator,
    engine: Engine,
    _dir: tempfile::TempDir,
    /// Location names in id order.
    locations: Vec<(u64, String)>,
    feeds: u32,
}

impl Setup {
    async fn start(skus: usize, settings: InventorySettings) -> (Setup, Vec<String>) {
        let sim = Simulator::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let (all, locations) = sim.shop().with(|shop| {
            let all = stock_catalog(shop, skus, "INV-");
            let locations = shop
                .locations
                .values()
                .map(|l| (l.id, l.name.clone()))
                .collect::<Vec<_>>();
            (all, locations)
        });
        let dir = tempfile::tempdir().unwrap();
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
                lease: Duration::from_secs(600),
                ..FlowSettings::default()
            },
            InventoryFlow::new(settings),
        );
        let (engine, _fatal) = Engine::start(EngineConfig {
            jobs: Default::default(),
            store_dir: dir.path().join("data"),
            pruning: Default::default(),
            flows: vec![flow],
            endpoints: Vec::new(),
            policy: RestartPolicy::default(),
            shopify: Some(client),
        })
        .await
        .unwrap();
        (
            Setup {
                sim,
                engine,
                _dir: dir,
                locations,
                feeds: 0,
            },
            all,
        )
    }

    fn location(&self, i: usize) -> String {
        self.locations[i].1.clone()
    }

    /// Stores a feed as the API does and waits until the flow has settled all its items.
    async fn feed(&mut self, mode: Mode, levels: Vec<Level>) {
        self.feeds += 1;
        let id = format!("feed-{}", self.feeds);
        requests::store(
            self.engine.store(),
            "inventory",
            feed("test", mode, levels),
            &id,
            None,
        )
        .await
        .unwrap();
        self.settled().await;
    }

    /// Waits until no inventory item is pending, in flight or retrying.
    async fn settled(&self) {
        let started = Instant::now();
        loop {
            let stats = self.engine.store().stats().await.unwrap();
            let busy: u64 = stats
                .counts
                .iter()
                .filter(|(f, s, _)| {
                    f == FLOW
                        && matches!(
                            s,
                            ItemState::Pending | ItemState::InFlight | ItemState::Retrying
                        )
                })
                .map(|(_, _, n)| n)
                .sum();
            if busy == 0 {
                return;
            }
            assert!(started.elapsed() < DEADLINE, "inventory items not settled");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn exceptions(&self) -> Vec<Item> {
        self.engine
            .store()
            .list(
                ItemFilter {
                    flow: Some(FLOW.into()),
                    state: Some(ItemState::Exception),
                    ..ItemFilter::default()
                },
                None,
                1000,
            )
            .await
            .unwrap()
    }

    /// `available` per (SKU, location name) in the shop, for `skus`.
    fn shop_levels(&self, skus: &[String]) -> BTreeMap<(String, String), i64> {
        let names: HashMap<u64, String> = self.locations.iter().cloned().collect();
        self.sim.shop().with(|shop| {
            let mut out = BTreeMap::new();
            for sku in skus {
                let item = shop.inventory_item_by_sku(sku).unwrap().id;
                for (id, name) in &names {
                    if let Some(l) = shop.inventory_level(item, *id) {
                        out.insert((sku.clone(), name.clone()), l.available);
                    }
                }
            }
            out
        })
    }

    fn stats(&self) -> SimStats {
        self.sim.stats()
    }

    async fn stop(self) {
        self.engine.shutdown(Duration::from_secs(5)).await.unwrap();
        self.sim.shutdown().await;
    }
}

fn level(sku: &str, location: &str, available: i64, as_of: i64) -> Level {
    Level {
        sku: sku.into(),
        location: location.into(),
        available,
        as_of,
    }
}

fn writes(before: &SimStats, after: &SimStats) -> u64 {
    after.inventory_quantities_written - before.inventory_quantities_written
}

fn mutations(before: &SimStats, after: &SimStats) -> u64 {
    let n = |s: &SimStats| {
        s.root_fields
            .get("inventorySetQuantities")
            .copied()
            .unwrap_or(0)
    };
    n(after) - n(before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_of_10000_skus_at_2_locations_lands_exactly() {
    let (mut s, skus) = Setup::start(10_000, InventorySettings::default()).await;
    let mut rng = fastrand::Rng::with_seed(42);
    let mut expected = BTreeMap::new();
    let mut levels = Vec::new();
    for sku in &skus {
        for i in 0..2 {
            let available = rng.i64(0..500);
            expected.insert((sku.clone(), s.location(i)), available);
            levels.push(level(sku, &s.location(i), available, 1_000));
        }
    }
    s.feed(Mode::Delta, levels).await;
    assert!(s.exceptions().await.is_empty());
    assert_eq!(s.shop_levels(&skus), expected);
    let stats = s.stats();
    // 20,000 quantities in calls of 250, the SKU map from one bulk query.
    assert_eq!(stats.root_fields["inventorySetQuantities"], 80);
    assert_eq!(stats.root_fields["bulkOperationRunQuery"], 1);
    assert!(
        !stats.root_fields.contains_key("productVariants"),
        "{stats:?}"
    );
    assert_eq!(stats.throttled, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_deltas_end_at_the_newest_value() {
    let (mut s, skus) = Setup::start(20, InventorySettings::default()).await;
    let main = s.location(0);
    // 50 deltas for one SKU, as_of shuffled, stored as separate items in one go: they are
    // claimed together and coalesced into one write of the newest.
    let mut order: Vec<i64> = (1..=50).collect();
    fastrand::Rng::with_seed(7).shuffle(&mut order);
    let before = s.stats();
    let items = order
        .iter()
        .map(|&t| {
            xconnector_actors::item::NewItem::new(
                FLOW,
                "levels",
                "A",
                xconnector_actors::flows::inventory::Chunk {
                    source: "test".into(),
                    mode: Mode::Delta,
                    feed: format!("f{t}"),
                    levels: vec![level(&skus[0], &main, t * 10, t)],
                }
                .encode(),
            )
        })
        .collect();
    s.engine.store().enqueue(items).await.unwrap();
    s.settled().await;
    let after = s.stats();
    assert_eq!(
        s.shop_levels(&skus[..1])[&(skus[0].clone(), main.clone())],
        500
    );
    assert!(
        writes(&before, &after) < 50,
        "waiting deltas were not coalesced: {} writes",
        writes(&before, &after)
    );

    // Later, one at a time: an older as_of than the applied one changes nothing.
    s.feed(Mode::Delta, vec![level(&skus[0], &main, 7, 25)])
        .await;
    assert_eq!(
        s.shop_levels(&skus[..1])[&(skus[0].clone(), main.clone())],
        500
    );
    s.feed(Mode::Delta, vec![level(&skus[0], &main, 8, 51)])
        .await;
    assert_eq!(
        s.shop_levels(&skus[..1])[&(skus[0].clone(), main.clone())],
        8
    );
    assert!(s.exceptions().await.is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_writes_only_what_differs() {
    let (mut s, skus) = Setup::start(1_000, InventorySettings::default()).await;
    let mut levels = Vec::new();
    for (n, sku) in skus.iter().enumerate() {
        for i in 0..2 {
            levels.push(level(sku, &s.location(i), n as i64 % 37, 1_000));
        }
    }
    s.feed(Mode::Delta, levels.clone()).await;
    // The nightly snapshot: 2% of the 2,000 levels changed.
    let mut changed = 0;
    for (n, l) in levels.iter_mut().enumerate() {
        l.as_of = 2_000;
        if n % 50 == 0 {
            l.available += 1;
            changed += 1;
        }
    }
    let before = s.stats();
    s.feed(Mode::Snapshot, levels.clone()).await;
    let after = s.stats();
    assert_eq!(changed, 40);
    assert_eq!(writes(&before, &after), 40);
    assert_eq!(mutations(&before, &after), 1);
    let expected: BTreeMap<_, _> = levels
        .iter()
        .map(|l| ((l.sku.clone(), l.location.clone()), l.available))
        .collect();
    assert_eq!(s.shop_levels(&skus), expected);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_level_changed_behind_our_back_is_reread_and_set() {
    let (mut s, skus) = Setup::start(10, InventorySettings::default()).await;
    let main = s.location(0);
    s.feed(Mode::Delta, vec![level(&skus[0], &main, 10, 1)])
        .await;
    // Someone sells 7 in Shopify; no webhook reaches the flow.
    let (item, location) = (
        s.sim
            .shop()
            .with(|shop| shop.inventory_item_by_sku(&skus[0]).unwrap().id),
        s.locations[0].0,
    );
    s.sim
        .shop()
        .with(|shop| shop.set_inventory(item, location, 3))
        .unwrap();
    // The echo log holds our write (its webhook is an echo), not the sale made in Shopify.
    let echo = EchoLog::new("inventory");
    let key = format!("{item}:{location}");
    let store = s.engine.store();
    assert!(echo.is_echo(store, &key, "10").await.unwrap());
    assert!(!echo.is_echo(store, &key, "3").await.unwrap());
    let before = s.stats();
    s.feed(Mode::Delta, vec![level(&skus[0], &main, 7, 2)])
        .await;
    let after = s.stats();
    assert_eq!(
        s.shop_levels(&skus[..1])[&(skus[0].clone(), main.clone())],
        7
    );
    // The first write failed its compare-and-set (10 ≠ 3), the second, after a re-read, landed.
    assert_eq!(mutations(&before, &after), 2);
    assert_eq!(writes(&before, &after), 1);
    assert!(s.exceptions().await.is_empty());
    s.stop().await;
}

/// A SKU that sells between every read and write: Shopify refuses the whole call while it is
/// in it, so it is held after its own five tries and the rest of its batch lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sku_that_keeps_selling_is_held_alone_and_its_batch_lands() {
    let (mut s, skus) = Setup::start(10, InventorySettings::default()).await;
    let main = s.location(0);
    // Known levels first: the next writes compare against them.
    let levels: Vec<Level> = skus.iter().map(|sku| level(sku, &main, 30, 1)).collect();
    s.feed(Mode::Delta, levels).await;
    s.sim.set_faults(xconnector_sim::Faults {
        selling_while_written: vec![skus[3].clone()],
        ..xconnector_sim::Faults::none()
    });
    let levels: Vec<Level> = skus.iter().map(|sku| level(sku, &main, 40, 2)).collect();
    s.feed(Mode::Delta, levels).await;
    let landed = s.shop_levels(&skus);
    for sku in &skus {
        let at = landed[&(sku.clone(), main.clone())];
        if *sku == skus[3] {
            assert_ne!(at, 40, "the hot SKU never got a word in");
        } else {
            assert_eq!(at, 40, "{sku} landed");
        }
    }
    let held = s.exceptions().await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(
        held[0].last_error.as_deref().is_some_and(
            |e| e.contains("kept changing in Shopify during 5 compare-and-set attempts")
        ),
        "{held:?}"
    );
    assert!(held[0].key.contains(&skus[3]), "{held:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_levels_and_unknown_skus_become_exceptions_the_rest_lands() {
    let mut settings = InventorySettings::default();
    // A location Shopify does not have: its quantities come back as userErrors.
    settings.locations.insert("Ghost".into(), 999_999_999);
    let (mut s, skus) = Setup::start(10, settings).await;
    let main = s.location(0);
    s.feed(
        Mode::Delta,
        vec![
            level(&skus[0], &main, 4, 1),
            level(&skus[1], "Ghost", 5, 1),
            level(&skus[2], &main, 6, 1),
            level("NO-SUCH-SKU", &main, 1, 1),
            level("ALSO-MISSING", &main, 1, 1),
            level(&skus[3], "Nowhere", 1, 1),
        ],
    )
    .await;
    let shop = s.shop_levels(&skus[..3]);
    assert_eq!(shop[&(skus[0].clone(), main.clone())], 4);
    assert_eq!(shop[&(skus[2].clone(), main.clone())], 6);
    let exceptions = s.exceptions().await;
    let by_kind = |kind: &str| {
        exceptions
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| (i.key.clone(), i.last_error.clone().unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let unknown = by_kind(KIND_UNKNOWN_SKUS);
    assert_eq!(unknown.len(), 1, "{exceptions:#?}");
    assert!(
        unknown[0]
            .1
            .contains("2 SKU(s) not found in Shopify: ALSO-MISSING, NO-SUCH-SKU"),
        "{unknown:?}"
    );
    let failed = by_kind(KIND_LEVEL_FAILED);
    assert_eq!(failed.len(), 2, "{failed:?}");
    let ghost = failed
        .iter()
        .find(|(k, _)| k == &format!("{}@Ghost", skus[1]))
        .expect("the refused level");
    assert!(ghost.1.contains("INVALID_LOCATION"), "{ghost:?}");
    assert!(
        failed
            .iter()
            .any(|(_, r)| r.contains("unknown location(s) Nowhere")),
        "{failed:?}"
    );
    // The sender asking what became of its feed hears of the three exceptions, not only of
    // its chunk being done.
    let report = requests::status(s.engine.store(), "feed-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report["summary"]["applied"], 1, "{report}");
    assert_eq!(report["summary"]["exception"], 3, "{report}");
    let derived: Vec<&serde_json::Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["derived"] == true)
        .collect();
    assert_eq!(derived.len(), 3, "{report}");
    assert!(
        derived.iter().any(|i| i["reason"]
            .as_str()
            .is_some_and(|r| r.contains("NO-SUCH-SKU"))),
        "{report}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_drop_with_bad_lines_reports_them_and_applies_the_good_ones() {
    let (s, skus) = Setup::start(10, InventorySettings::default()).await;
    let drop = tempfile::tempdir().unwrap();
    for sub in ["done", "failed"] {
        std::fs::create_dir_all(drop.path().join(sub)).unwrap();
    }
    let (main, other) = (s.location(0), s.location(1));
    let text = format!(
        "sku,location,available,as_of\n{a},{main},11\n{a},{other},-2\n{b},{other},13,2026-11-27T10:00:00Z\nonly-two,fields\n{c},{main},x\n",
        a = skus[0],
        b = skus[1],
        c = skus[2],
    );
    // Written under a temporary name, as writers should: never read.
    std::fs::write(drop.path().join("stock.csv.tmp"), &text).unwrap();
    let mut seen = std::collections::HashMap::new();
    let stock = Served::<StockFeed>::new(100_000, None);
    xconnector::intake::drop::scan(&stock, drop.path(), s.engine.store(), &mut seen).await;
    xconnector::intake::drop::scan(&stock, drop.path(), s.engine.store(), &mut seen).await;
    assert!(drop.path().join("stock.csv.tmp").exists());
    std::fs::rename(
        drop.path().join("stock.csv.tmp"),
        drop.path().join("stock.csv"),
    )
    .unwrap();
    // First sight: not read yet (it could still be growing); the second scan takes it.
    xconnector::intake::drop::scan(&stock, drop.path(), s.engine.store(), &mut seen).await;
    assert!(drop.path().join("stock.csv").exists());
    xconnector::intake::drop::scan(&stock, drop.path(), s.engine.store(), &mut seen).await;
    assert!(!drop.path().join("stock.csv").exists());
    s.settled().await;

    let failed: Vec<_> = std::fs::read_dir(drop.path().join("failed"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    let report_name = failed.iter().find(|n| n.ends_with(".report.txt")).unwrap();
    let report = std::fs::read_to_string(drop.path().join("failed").join(report_name)).unwrap();
    for needle in [
        "3 problem(s); 2 good entr(ies) were applied",
        "line 3: available: must not be negative, found -2",
        "line 5: expected 3 or 4 fields",
        "line 6: available: expected a whole number, found \"x\"",
    ] {
        assert!(
            report.contains(needle),
            "{needle:?} missing from:\n{report}"
        );
    }
    let shop = s.shop_levels(&skus[..2]);
    assert_eq!(shop[&(skus[0].clone(), main.clone())], 11);
    assert_eq!(shop[&(skus[1].clone(), other.clone())], 13);
    assert_eq!(
        shop[&(skus[0].clone(), other.clone())],
        0,
        "the bad line changed nothing"
    );
    s.stop().await;
}

/// A REST order of `lines` (SKU, quantity) placed at `placed`, shipped from `location` if
/// given, cancelled if `cancelled`.
fn order(
    id: u64,
    placed: &str,
    lines: &[(&str, i64)],
    location: Option<u64>,
    cancelled: bool,
) -> Vec<u8> {
    let line_items: Vec<serde_json::Value> = lines
        .iter()
        .map(|(sku, quantity)| serde_json::json!({"sku": sku, "quantity": quantity}))
        .collect();
    let fulfillments: Vec<serde_json::Value> = location
        .map(|l| serde_json::json!({"created_at": placed, "status": "success", "location_id": l}))
        .into_iter()
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "id": id, "admin_graphql_api_id": format!("gid://shopify/Order/{id}"),
        "created_at": placed, "currency": "USD", "total_line_items_price": "10.00",
        "line_items": line_items, "fulfillments": fulfillments,
        "cancelled_at": cancelled.then_some(placed),
    }))
    .unwrap()
}

fn ms(at: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .timestamp_millis()
}

/// The inventory report from the levels the flow records and the units orders sell (counted
/// the way the orders flow counts them), worked out by hand; feeding everything again changes
/// nothing. UTC days, Dec 1 to Dec 4, a feed stale after 24 h:
/// - SKU 0 at the main location: 10 on Dec 1; 4 and later 6 on Dec 2 (the day's newest
///   counts); 0 on Dec 3, carried to Dec 4: on hand (10 + 6 + 0 + 0) / 4 = 4.00. Sold 3 on
///   Dec 1 (shipped from main) and 2 on Dec 2 (not shipped): 5. Turnover 5 / 4 = 1.25; no
///   cover; out of stock on Dec 3 and 4; the newest level (Dec 3, 08:00) is 40 h older than
///   the range's end: stale.
/// - SKU 1 at main: 20 on Dec 1, carried to Dec 2, 20 again on Dec 3 (a snapshot that changes
///   nothing in Shopify is still a reading), 5 on Dec 4: (20 + 20 + 20 + 5) / 4 = 16.25. Sold
///   1 on Dec 3; a cancelled order of 4 sells nothing. Turnover 1 / 16.25 = 0.06; cover
///   5 / (1 / 4 days) = 20 days. Shopify sold it down to -2 before the Dec 4 snapshot: one
///   oversold day.
/// - Total: sold 6; on hand 4 + 16.25 = 20.25, at the end 0 + 5 = 5; turnover 6 / 20.25 =
///   0.30; cover 5 / (6 / 4) = 3.33 days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inventory_report_matches_hand_worked_turnover_and_replays_change_nothing() {
    use xconnector_actors::flows::reporting::{By, contribution, inventory};
    let settings = InventorySettings {
        count_in_reports: true,
        ..InventorySettings::default()
    };
    let (mut s, skus) = Setup::start(2, settings).await;
    let (main, main_id) = (s.location(0), s.locations[0].0);
    let (a, b) = (skus[0].as_str(), skus[1].as_str());
    let feeds = vec![
        (
            Mode::Delta,
            vec![
                level(a, &main, 10, ms("2026-12-01T08:00:00Z")),
                level(b, &main, 20, ms("2026-12-01T08:00:00Z")),
            ],
        ),
        (
            Mode::Delta,
            vec![level(a, &main, 4, ms("2026-12-02T08:00:00Z"))],
        ),
        (
            Mode::Delta,
            vec![level(a, &main, 6, ms("2026-12-02T18:00:00Z"))],
        ),
        (
            Mode::Delta,
            vec![level(a, &main, 0, ms("2026-12-03T08:00:00Z"))],
        ),
        (
            Mode::Snapshot,
            vec![level(b, &main, 20, ms("2026-12-03T08:00:00Z"))],
        ),
    ];
    for (mode, levels) in feeds.clone() {
        s.feed(mode, levels).await;
    }
    // Shopify sells SKU 1 below zero; the next snapshot reads that before it writes 5.
    let item_b = s
        .sim
        .shop()
        .with(|shop| shop.inventory_item_by_sku(b).unwrap().id);
    s.sim
        .shop()
        .with(|shop| shop.set_inventory(item_b, main_id, -2))
        .unwrap();
    let oversold = (
        Mode::Snapshot,
        vec![level(b, &main, 5, ms("2026-12-04T08:00:00Z"))],
    );
    s.feed(oversold.0, oversold.1.clone()).await;
    assert_eq!(s.shop_levels(&skus[1..])[&(b.to_string(), main.clone())], 5);
    let orders = [
        order(1, "2026-12-01T10:00:00Z", &[(a, 3)], Some(main_id), false),
        order(2, "2026-12-02T10:00:00Z", &[(a, 2)], None, false),
        order(3, "2026-12-03T10:00:00Z", &[(b, 1)], Some(main_id), false),
        order(4, "2026-12-03T11:00:00Z", &[(b, 4)], Some(main_id), true),
    ];
    let store = s.engine.store().clone();
    let count_orders = || async {
        for o in &orders {
            let (entity, c) = contribution(o).unwrap();
            store.rollup(&entity, c).await.unwrap();
        }
    };
    count_orders().await;
    let report = || async {
        inventory::report(
            &store,
            "2026-12-01".parse().unwrap(),
            "2026-12-04".parse().unwrap(),
            By::Sku,
            24 * 3_600_000,
            ms("2026-12-10T00:00:00Z"),
        )
        .await
        .unwrap()
    };
    let first = report().await;
    let row = |r: &inventory::InventoryRow| {
        (
            r.sold,
            r.avg_on_hand,
            r.on_hand,
            r.turnover,
            r.days_of_cover,
            r.stockout_days,
            r.oversold_days,
            r.stale,
        )
    };
    let rows: Vec<_> = first
        .rows
        .iter()
        .map(|r| (r.key.as_str(), row(r)))
        .collect();
    assert_eq!(
        rows,
        [
            (a, (5, Some(4.0), Some(0), Some(1.25), Some(0.0), 2, 0, 1)),
            (
                b,
                (1, Some(16.25), Some(5), Some(0.06), Some(20.0), 0, 1, 0)
            ),
        ]
    );
    assert_eq!(
        row(&first.total),
        (6, Some(20.25), Some(5), Some(0.3), Some(3.33), 2, 1, 1)
    );
    // Everything again: the flow drops the older levels, the store keeps the newest of each
    // day, and the orders count what they counted.
    for (mode, levels) in feeds.into_iter().chain([oversold]) {
        s.feed(mode, levels).await;
    }
    count_orders().await;
    assert_eq!(report().await, first);
    s.stop().await;
}
