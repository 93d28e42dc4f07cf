//! Retention end to end: the real daemon with windows of a second, orders from the simulated
//! shop, finished items retired on schedule while held ones stay, a replayed old webhook still
//! recognised as old once its item and dedupe key are gone, a SIGKILL in the middle of a prune,
//! and `xconnector store prune` for an operator.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::rig::{
    Rig, RigOptions, daemon_config, free_port, place, quiescent, start_daemon, until,
};

const RETENTION: &str = r#"
[store.retention]
done = "1s"
closed = "1s"
dedupe = "1s"
prune_every = "100ms"
prune_batch = 40
"#;

/// Items per state, and retired items, as `status --json` says.
fn tallies(config: &Path) -> (BTreeMap<String, u64>, u64) {
    let status = common::status_json(config);
    let totals = status["totals"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect();
    let retired = status["store"]["retired"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| v.as_u64())
        .sum();
    (totals, retired)
}

/// Items in `state` by listing them all: what the counts must agree with.
fn listed(config: &Path, state: &str) -> u64 {
    let mut after = String::from("0");
    let mut n = 0;
    loop {
        let page = common::cli_json(
            &[
                "items", "list", "--json", "--state", state, "--limit", "500", "--after", &after,
                "--config",
            ],
            config,
        );
        n += page["items"].as_array().map_or(0, Vec::len) as u64;
        match page["next"].as_u64() {
            Some(next) => after = next.to_string(),
            None => return n,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn finished_items_are_retired_held_ones_stay_and_old_webhooks_are_still_old() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rig = Rig::start(RigOptions {
        record_acks: true,
        ..RigOptions::webhooks_to(format!("http://127.0.0.1:{port}/webhooks/shopify"))
    })
    .await;
    let config = daemon_config(dir.path(), port, &rig, "1h", RETENTION);
    let mut daemon = start_daemon(&config);
    let mut traffic = rig.traffic(7, 0.1);
    let placed = place(&rig, &mut traffic, 300);
    // The shop sends its webhooks a moment later: until it has, the daemon is idle and the
    // shop has nothing queued, which would pass for quiet.
    let sender = rig.sender.clone().unwrap();
    until("the orders' webhooks delivered", || async {
        (sender.stats().delivered >= placed.len() as u64).then_some(())
    })
    .await;
    quiescent(&rig, &config).await;
    let held = placed
        .iter()
        .filter(|p| p.kind != xconnector::sim::traffic::OrderKind::Good)
        .count() as u64;
    // Every bad order held, and no more holds coming (a good order may be held for stock
    // behind an over-stock one a little later): the count is the same at two quiet moments.
    let last = std::cell::Cell::new(None);
    let exceptions = until("every hold made", || {
        let (rig, config, last) = (&rig, &config, &last);
        async move {
            quiescent(rig, config).await;
            let now = tallies(config).0.get("exception").copied().unwrap_or(0);
            let seen = last.replace(Some(now));
            (now >= held && seen == Some(now)).then_some(now)
        }
    })
    .await;

    // A SIGKILL while finished items are being retired, 40 keys a step.
    until("retirement under way", || async {
        let (totals, retired) = tallies(&config);
        (retired > 0 && totals.get("done").copied().unwrap_or(0) > 0).then_some(())
    })
    .await;
    daemon.signal("KILL");
    daemon.wait_exit();
    let _daemon = start_daemon(&config);
    // The retiring resumes until nothing finished is left …
    let retired = until("every finished item retired", || async {
        let (totals, retired) = tallies(&config);
        (totals.get("done").copied().unwrap_or(0) == 0).then_some(retired)
    })
    .await;
    quiescent(&rig, &config).await;
    // … and every prune step was whole: the counts agree with what a listing finds.
    let (totals, _) = tallies(&config);
    for state in ["done", "exception", "pending", "retrying", "in_flight"] {
        assert_eq!(
            totals.get(state).copied().unwrap_or(0),
            listed(&config, state),
            "{state}: counts and items agree after the kill"
        );
    }
    // Bad orders are held, and a good one may be held for stock behind an over-stock one.
    assert!(
        held > 10 && exceptions >= held,
        "held: {held}, exceptions: {exceptions}"
    );
    assert_eq!(
        totals.get("exception").copied().unwrap_or(0),
        exceptions,
        "held orders are open exceptions: never retired"
    );
    assert!(
        retired >= 300,
        "orders and their exception checks retired: {retired}"
    );
    assert_eq!(listed(&config, "done"), 0);

    // An old webhook sent again, after its item and its dedupe key are gone: the orders flow
    // still knows the version, and the ERP hears nothing new.
    let erp_before = rig.office.received("erp").len();
    let sent = rig.sender.as_ref().unwrap().acknowledged();
    let old = sent
        .iter()
        .find(|a| a.topic == "orders/create")
        .expect("an orders/create webhook");
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let enqueued = || {
        common::metric(
            &common::get(addr, "/metrics").1,
            "xconnector_items_enqueued_total",
        )
        .unwrap_or(0.0)
    };
    let enqueued_before = enqueued();
    assert_eq!(
        common::post_webhook(addr, "replayed-after-retention", &old.body),
        200
    );
    // Its dedupe key expired: the replay becomes an item, which the flow finds stale.
    until("the replay stored as an item", || async {
        (enqueued() > enqueued_before).then_some(())
    })
    .await;
    quiescent(&rig, &config).await;
    assert_eq!(
        rig.office.received("erp").len(),
        erp_before,
        "a replayed old order is not delivered again"
    );

    // An operator's prune retires at once, and a dry run counts without removing.
    let out = common::xconnector()
        .args([
            "store",
            "prune",
            "--older-than",
            "1s",
            "--dry-run",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("would retire "), "{text}");
    let out = common::xconnector()
        .args(["store", "prune", "--older-than", "1s", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("retired "),
        "{out:?}"
    );
    let bad = common::xconnector()
        .args(["store", "prune", "--older-than", "soon", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("older_than"),
        "{bad:?}"
    );
    let metrics = common::get(addr, "/metrics").1;
    assert!(
        common::metric(&metrics, "xconnector_items_retired_total{flow=\"orders\"}")
            .is_some_and(|n| n >= 250.0),
        "{metrics}"
    );
}
