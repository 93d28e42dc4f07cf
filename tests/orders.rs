//! The orders and exceptions flows end to end: the real daemon between the simulated shop
//! (placing orders, sending its webhooks duplicated and out of order) and the simulated back
//! office (counting deliveries by idempotency key), with an endpoint down for a while, a
//! restart mid-run, and webhooks that never come.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::rig::*;
use common::{DEADLINE, xconnector};
use xconnector::sim::backoffice::Mode;
use xconnector::sim::traffic::OrderKind;

/// The rig of these tests: the shop sends its webhooks to the daemon on `port`.
async fn rig(port: Option<u16>, duplicate_share: f64, reorder_share: f64) -> Rig {
    Rig::start(RigOptions {
        webhook_url: port.map(|p| format!("http://127.0.0.1:{p}/webhooks/shopify")),
        duplicate_share,
        reorder_share,
        stock_skus: 0,
        record_acks: false,
    })
    .await
}

/// Checks where every placed order ended up; returns the number of good orders that a later
/// over-stock order on one of their variants could legitimately have made stock-short.
fn check_outcome(rig: &Rig, placed: &[Placed]) -> usize {
    let erp = received(&rig.office, "erp");
    let wms = received(&rig.office, "wms");
    let teams: BTreeMap<&str, _> = TEAMS
        .iter()
        .map(|(_, t)| (*t, received(&rig.office, t)))
        .collect();
    // A good order placed before an over-stock order on the same variant may be checked after
    // it, when Shopify shows that variant oversold: the stock rule may then hold it too.
    let mut shadowed = 0;
    for (i, p) in placed.iter().enumerate() {
        let exposed = p.kind == OrderKind::Good
            && placed[i + 1..].iter().any(|later| {
                later.kind == OrderKind::OverStock && !later.variants.is_disjoint(&p.variants)
            });
        if p.kind == OrderKind::Good {
            let at_erp = erp.get(&p.name);
            let at_wms = wms.get(&p.name);
            if exposed && at_erp.is_none() && at_wms.is_none() {
                assert!(
                    teams["purchasing"].contains_key(&p.name),
                    "{} neither delivered nor held for stock",
                    p.name
                );
                shadowed += 1;
                continue;
            }
            for (target, got) in [("erp", at_erp), ("wms", at_wms)] {
                let got =
                    got.unwrap_or_else(|| panic!("good order {} never reached {target}", p.name));
                assert_eq!(
                    got.len(),
                    1,
                    "{} reached {target} under several keys: {got:?}",
                    p.name
                );
                assert!(
                    got.values().all(|n| *n == 1),
                    "{} accepted twice by {target}: {got:?}",
                    p.name
                );
            }
            for (team, got) in &teams {
                assert!(
                    !got.contains_key(&p.name),
                    "good order {} sent to {team}",
                    p.name
                );
            }
        } else {
            let rule = rule_of(p.kind);
            let team = team_of(rule);
            assert!(
                !erp.contains_key(&p.name) && !wms.contains_key(&p.name),
                "{:?} order {} reached a fulfilment target",
                p.kind,
                p.name
            );
            assert!(
                teams[team].contains_key(&p.name),
                "{:?} order {} never reached {team}",
                p.kind,
                p.name
            );
            for (other, got) in &teams {
                if *other != team {
                    assert!(
                        !got.contains_key(&p.name),
                        "{:?} order {} also sent to {other}",
                        p.kind,
                        p.name
                    );
                }
            }
        }
    }
    shadowed
}

/// The daemon's exception items, as (order name → kind, i.e. the rules it broke).
fn exceptions(config: &Path) -> BTreeMap<String, String> {
    let args = [
        "items",
        "list",
        "--flow",
        "exceptions",
        "--state",
        "exception",
    ];
    let args = [&args[..], &["--limit", "1000", "--json", "--config"]].concat();
    common::cli_json(&args, config)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap().to_string(),
                i["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_orders_reach_their_targets_once_and_bad_ones_only_their_team() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rig = rig(Some(port), 0.2, 0.2).await;
    let config = daemon_config(dir.path(), port, &rig, "1h", "");
    let mut daemon = start_daemon(&config);

    // The WMS is down for the first part of the run.
    rig.office.set_mode("wms", Mode::Fail(503));
    let mut traffic = rig.traffic(3, 0.1);
    let mut placed = place(&rig, &mut traffic, 400);
    until("the ERP to get orders while the WMS is down", || async {
        (rig.office.received("erp").len() > 50).then_some(())
    })
    .await;
    assert!(rig.office.received("wms").is_empty());
    rig.office.set_mode("wms", Mode::Accept);
    placed.extend(place(&rig, &mut traffic, 600));

    let good = placed.iter().filter(|p| p.kind == OrderKind::Good).count();
    let bad = placed.len() - good;
    assert!(bad >= 60, "a 10% share of bad orders: {bad}");
    let deadline = Instant::now() + DEADLINE * 3;
    loop {
        let delivered = received(&rig.office, "wms").len();
        let held: usize = TEAMS
            .iter()
            .map(|(_, t)| received(&rig.office, t).len())
            .sum();
        if delivered + held >= placed.len() {
            break;
        }
        if Instant::now() > deadline {
            let status = xconnector()
                .args(["status", "--config"])
                .arg(&config)
                .output()
                .unwrap();
            panic!(
                "{} placed ({bad} bad), {delivered} at the WMS, {} at the ERP, {held} held\n{}",
                placed.len(),
                received(&rig.office, "erp").len(),
                String::from_utf8_lossy(&status.stdout)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Stragglers (duplicates, retries) land before counting.
    quiescent(&rig, &config).await;
    let shadowed = check_outcome(&rig, &placed);
    assert!(shadowed <= 20, "{shadowed} good orders held for stock");

    // Every bad order is an exception item naming its rule.
    let held = exceptions(&config);
    for p in placed.iter().filter(|p| p.kind != OrderKind::Good) {
        let kind = held
            .get(&p.name)
            .unwrap_or_else(|| panic!("{} is not an exception", p.name));
        assert!(kind.contains(rule_of(p.kind)), "{}: {kind}", p.name);
    }
    assert!(rig.office.refused("wms") > 0, "the WMS outage was felt");
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_run_loses_nothing_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rig = rig(Some(port), 0.3, 0.3).await;
    let config = daemon_config(dir.path(), port, &rig, "1h", "");
    let mut daemon = start_daemon(&config);
    let mut traffic = rig.traffic(8, 0.0);
    let mut placed = place(&rig, &mut traffic, 150);
    until("some orders to be delivered", || async {
        (rig.office.received("wms").len() > 20).then_some(())
    })
    .await;
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success());
    // Orders placed while the daemon is down: the shop retries its webhooks.
    placed.extend(place(&rig, &mut traffic, 150));
    let mut daemon = start_daemon(&config);
    until("every order at both targets", || async {
        at_both_targets(&rig, &placed).then_some(())
    })
    .await;
    quiescent(&rig, &config).await;
    assert_eq!(check_outcome(&rig, &placed), 0);
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_webhooks_the_reconciliation_poll_brings_the_orders() {
    let dir = tempfile::tempdir().unwrap();
    let rig = rig(None, 0.0, 0.0).await;
    let config = daemon_config(dir.path(), free_port(), &rig, "1s", "");
    let mut daemon = start_daemon(&config);
    let mut traffic = rig.traffic(9, 0.0);
    let placed = place(&rig, &mut traffic, 30);
    until("the poll to bring every order to both targets", || async {
        at_both_targets(&rig, &placed).then_some(())
    })
    .await;
    assert_eq!(check_outcome(&rig, &placed), 0);
    assert!(rig.pump.is_none());
    daemon.wait_for_log("reconciliation found versions no webhook brought");
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success());
}
