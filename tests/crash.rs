//! Crash safety: a process writing through the store actor is killed with SIGKILL mid-stream,
//! several times, on the same store. Every acknowledged item must be there exactly once (its
//! dedupe key maps to the id that was acknowledged, also when re-sent after the crash), and
//! items that were in flight at the crash must be due again.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc::channel;
use std::thread;
use std::time::Instant;

use common::*;
use xconnector_actors::item::{ItemId, ItemState, now_ms};
use xconnector_actors::store::{ItemDb, ItemFilter};

const ROUNDS: usize = 5;

#[test]
fn sigkill_loses_no_acknowledged_item_and_in_flight_items_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut acked: BTreeMap<String, ItemId> = BTreeMap::new();
    let mut claimed: BTreeSet<ItemId> = BTreeSet::new();

    for round in 0..ROUNDS {
        let mut child = xconnector()
            .args([
                "debug",
                "store-writer",
                "--flow",
                "crash",
                "--count",
                "1000000",
                "--writers",
                "16",
            ])
            .args([
                "--claim-every",
                "7",
                "--lease-ms",
                "60000",
                "--payload",
                "2048",
                "--dir",
            ])
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        // Read on a thread so the child never blocks on a full pipe.
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Kill once this round has acknowledged a varying number of new items.
        let target = acked.len() + 500 + round * 397;
        let deadline = Instant::now() + DEADLINE;
        let mut record = |line: String, acked: &mut BTreeMap<String, ItemId>| {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["ack", key, id] => {
                    let id = ItemId(id.parse().unwrap());
                    if let Some(first) = acked.insert(key.to_string(), id) {
                        assert_eq!(first, id, "{key} was acknowledged as two different items");
                    }
                }
                ["claimed", id] => {
                    claimed.insert(ItemId(id.parse().unwrap()));
                }
                _ => panic!("unexpected output {line:?}"),
            }
        };
        while acked.len() < target {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).expect("the writer makes progress");
            record(line, &mut acked);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        // Acknowledgements printed before the kill count too.
        while let Ok(line) = rx.try_recv() {
            record(line, &mut acked);
        }
    }

    let db = ItemDb::open(&data).unwrap();
    let all = db
        .list(
            &ItemFilter {
                flow: Some("crash".into()),
                ..ItemFilter::default()
            },
            None,
            usize::MAX,
        )
        .unwrap();
    let mut by_key: BTreeMap<String, Vec<ItemId>> = BTreeMap::new();
    for item in &all {
        by_key
            .entry(item.dedupe_key.clone().unwrap())
            .or_default()
            .push(item.id);
    }
    assert!(
        by_key.values().all(|ids| ids.len() == 1),
        "a dedupe key stored twice"
    );
    for (key, id) in &acked {
        assert_eq!(
            by_key.get(key),
            Some(&vec![*id]),
            "acknowledged {key} is missing or changed"
        );
    }
    assert!(
        acked.len() >= 500 * ROUNDS,
        "the test exercised enough items"
    );

    // Leases taken before a crash expire; then every unfinished item is claimable again.
    let claimable = db.count("crash", ItemState::Pending) + db.count("crash", ItemState::InFlight);
    assert_eq!(
        claimable,
        all.len() as u64,
        "nothing was completed, so everything is waiting"
    );
    let mut db = db;
    let later = now_ms() + 10 * 60 * 1000;
    let reclaimed: BTreeSet<ItemId> = db
        .claim("crash", usize::MAX, 1000, later)
        .unwrap()
        .iter()
        .map(|c| c.item.id)
        .collect();
    assert_eq!(reclaimed.len(), all.len());
    assert!(
        claimed.is_subset(&reclaimed),
        "an item in flight at a crash was not due again"
    );
    assert!(!claimed.is_empty());
}
