//! Model-based test of the store's item state machine: random sequences of enqueue, claim,
//! complete, operator actions, lease expiry, retention and restarts run against the real fjall-backed
//! store and against a plain in-memory model; after every step both must agree on every item,
//! every count and every answer.

use std::collections::BTreeMap;

use proptest::prelude::*;
use xconnector_actors::item::{AuditEntry, Completion, ItemId, ItemState, NewItem, OperatorAction};
use xconnector_actors::store::{ItemDb, ItemFilter, PruneStep, Retention, StoreError};

const FLOWS: [&str; 2] = ["orders", "inventory"];
const LEASE: u64 = 500;

#[derive(Debug, Clone)]
enum Op {
    Enqueue {
        flow: usize,
        dedupe: Option<u8>,
        held: bool,
    },
    Claim {
        flow: usize,
        max: usize,
    },
    Complete {
        token: usize,
        how: How,
    },
    Operate {
        item: usize,
        action: OperatorAction,
    },
    Release {
        flow: usize,
    },
    Advance {
        ms: u64,
    },
    /// Retire finished items unchanged for `window` ms, from the oldest (a fresh run).
    Prune {
        window: u64,
    },
    Restart,
}

#[derive(Debug, Clone, Copy)]
enum How {
    Done,
    Retry(u64),
    Exception,
}

fn op() -> impl Strategy<Value = Op> {
    let action = prop_oneof![
        Just(OperatorAction::Retry),
        Just(OperatorAction::RetryAgain),
        Just(OperatorAction::Resolve),
        Just(OperatorAction::Cancel)
    ];
    let how = prop_oneof![
        Just(How::Done),
        (0u64..1500).prop_map(How::Retry),
        Just(How::Exception)
    ];
    prop_oneof![
        4 => (0..2usize, proptest::option::of(0u8..6), proptest::bool::weighted(0.1)).prop_map(|(flow, dedupe, held)| Op::Enqueue { flow, dedupe, held }),
        4 => (0..2usize, 1..4usize).prop_map(|(flow, max)| Op::Claim { flow, max }),
        4 => (0..64usize, how).prop_map(|(token, how)| Op::Complete { token, how }),
        2 => (0..64usize, action).prop_map(|(item, action)| Op::Operate { item, action }),
        1 => (0..2usize).prop_map(|flow| Op::Release { flow }),
        2 => (0u64..1200).prop_map(|ms| Op::Advance { ms }),
        1 => (1u64..2000).prop_map(|window| Op::Prune { window }),
        1 => Just(Op::Restart),
    ]
}

#[derive(Debug, Clone)]
struct Model {
    flow: &'static str,
    state: ItemState,
    attempts: u32,
    due_at: u64,
    /// When its state last changed.
    changed: u64,
}

fn due_state(s: ItemState) -> bool {
    matches!(
        s,
        ItemState::Pending | ItemState::Retrying | ItemState::InFlight
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Some(ItemDb::open(dir.path()).unwrap());
        let mut model: BTreeMap<ItemId, Model> = BTreeMap::new();
        let mut dedupe: BTreeMap<(usize, u8), ItemId> = BTreeMap::new();
        let mut tokens: Vec<(ItemId, u32)> = Vec::new();
        let mut now = 1_000u64;

        for op in ops {
            let store = db.as_mut().unwrap();
            match op {
                Op::Enqueue { flow, dedupe: key, held } => {
                    let out = store.enqueue(vec![NewItem {
                        flow: FLOWS[flow].into(),
                        kind: "test".into(),
                        key: format!("k{}", model.len()),
                        payload: vec![7; 3],
                        dedupe_key: key.map(|k| format!("d{k}")),
 exception: held.then(|| "unreadable".to_string()),
 flow_resolves: false,
                    }], now).unwrap();
                    let got = out[0];
                    match key.and_then(|k| dedupe.get(&(flow, k))) {
                        Some(first) => {
                            prop_assert!(got.duplicate);
                            prop_assert_eq!(got.id, *first);
                        }
                        None => {
                            prop_assert!(!got.duplicate);
                            prop_assert!(!model.contains_key(&got.id));
                            let state = if held { ItemState::Exception } else { ItemState::Pending };
                            model.insert(got.id, Model { flow: FLOWS[flow], state, attempts: 0, due_at: now, changed: now });
                            if let Some(k) = key { dedupe.insert((flow, k), got.id); }
                        }
                    }
                }
                Op::Claim { flow, max } => {
                    let mut expect: Vec<(u64, ItemId)> = model.iter()
                        .filter(|(_, m)| m.flow == FLOWS[flow] && due_state(m.state) && m.due_at <= now)
                        .map(|(id, m)| (m.due_at, *id))
                        .collect();
                    expect.sort();
                    expect.truncate(max);
                    let got = store.claim(FLOWS[flow], max, LEASE, now).unwrap();
                    let got_ids: Vec<ItemId> = got.iter().map(|c| c.item.id).collect();
                    let want_ids: Vec<ItemId> = expect.iter().map(|(_, id)| *id).collect();
                    prop_assert_eq!(&got_ids, &want_ids);
                    for c in got {
                        let m = model.get_mut(&c.item.id).unwrap();
                        m.state = ItemState::InFlight;
                        m.attempts += 1;
                        m.due_at = now + LEASE;
                        m.changed = now;
                        prop_assert_eq!(c.attempt(), m.attempts);
                        prop_assert_eq!(&c.payload, &vec![7u8; 3]);
                        tokens.push((c.item.id, c.attempt()));
                    }
                }
                Op::Complete { token, how } => {
                    if tokens.is_empty() { continue; }
                    let (id, attempt) = tokens[token % tokens.len()];
                    let completion = match how {
                        How::Done => Completion::Done,
                        How::Retry(ms) => Completion::Retry { at: now + ms, error: "transient".into() },
                        How::Exception => Completion::Exception { reason: "bad".into() },
                    };
                    let result = store.complete(id, attempt, completion, now);
                    let Some(m) = model.get_mut(&id) else {
                        // Finished and retired since this claim.
                        prop_assert_eq!(result, Err(StoreError::NotFound(id)));
                        continue;
                    };
                    if m.state != ItemState::InFlight || m.attempts != attempt {
                        prop_assert_eq!(result, Err(StoreError::StaleLease { id, attempt }));
                    } else {
                        let item = result.unwrap();
                        let (state, due) = match how {
                            How::Done => (ItemState::Done, now),
                            How::Retry(ms) => (ItemState::Retrying, now + ms),
                            How::Exception => (ItemState::Exception, now),
                        };
                        m.state = state;
                        m.due_at = due;
                        m.changed = now;
                        prop_assert_eq!(item.state, state);
                    }
                }
                Op::Operate { item, action } => {
                    if model.is_empty() { continue; }
                    let id = *model.keys().nth(item % model.len()).unwrap();
                    let result = store.operate(id, action, "tester", Some("model".into()), now);
                    let m = model.get_mut(&id).unwrap();
                    if action == OperatorAction::Retry && m.state.is_terminal() {
                        prop_assert_eq!(result, Err(StoreError::RetryOfFinished { id, state: m.state }));
                        continue;
                    }
                    let to = match (action, m.state) {
                        (_, ItemState::InFlight) => None,
                        (OperatorAction::Retry | OperatorAction::RetryAgain, s) if s != ItemState::Pending => Some(ItemState::Pending),
                        (OperatorAction::Resolve, ItemState::Exception | ItemState::Retrying | ItemState::Pending) => Some(ItemState::Resolved),
                        (OperatorAction::Cancel, s) if !s.is_terminal() => Some(ItemState::Cancelled),
                        _ => None,
                    };
                    match to {
                        Some(to) => {
                            prop_assert_eq!(result.unwrap().state, to);
                            m.state = to;
                            m.due_at = now;
                            m.changed = now;
                            if matches!(action, OperatorAction::Retry | OperatorAction::RetryAgain) { m.attempts = 0; }
                        }
                        None => { let invalid = matches!(result, Err(StoreError::InvalidAction { .. })); prop_assert!(invalid, "expected InvalidAction, got {:?}", result) }
                    }
                }
                Op::Release { flow } => {
                    let n = store.release(FLOWS[flow], now).unwrap();
                    let mut expect = 0;
                    for m in model.values_mut().filter(|m| m.flow == FLOWS[flow] && m.state == ItemState::InFlight) {
                        m.state = ItemState::Pending;
                        m.due_at = now;
                        m.changed = now;
                        expect += 1;
                    }
                    prop_assert_eq!(n, expect);
                }
                Op::Advance { ms } => now += ms,
                Op::Prune { window } => {
                    // Per flow and finished state, in id order, up to the first still young.
                    let mut gone = Vec::new();
                    for flow in FLOWS {
                        for state in [ItemState::Done, ItemState::Resolved, ItemState::Cancelled] {
                            for (id, m) in model.iter().filter(|(_, m)| m.flow == flow && m.state == state) {
                                if m.changed + window > now { break; }
                                gone.push(*id);
                            }
                        }
                    }
                    let step = PruneStep {
                        retention: Retention { done: window, closed: window, audit: 0 },
                        budget: usize::MAX,
                        dry: false,
                        fresh: true,
                    };
                    let pruned = store.prune(now, step).unwrap();
                    prop_assert_eq!(pruned.items, gone.len() as u64);
                    for id in gone {
                        model.remove(&id);
                        prop_assert!(store.get(id).unwrap().is_none(), "item {} retired", id);
                    }
                }
                Op::Restart => {
                    db.take().unwrap().sync().unwrap();
                    db = Some(ItemDb::open(dir.path()).unwrap());
                }
            }

            // After every step: every item, every count and every listing agree with the model.
            let store = db.as_ref().unwrap();
            for (id, m) in &model {
                let (item, _) = store.get(*id).unwrap().unwrap();
                prop_assert_eq!(item.state, m.state, "item {}", id);
                prop_assert_eq!(item.attempts, m.attempts, "item {}", id);
                prop_assert_eq!(&item.flow, m.flow);
            }
            for flow in FLOWS {
                for state in ItemState::ALL {
                    let want: Vec<ItemId> = model.iter().filter(|(_, m)| m.flow == flow && m.state == state).map(|(id, _)| *id).collect();
                    prop_assert_eq!(store.count(flow, state), want.len() as u64, "count {} {}", flow, state);
                    let filter = ItemFilter { flow: Some(flow.into()), state: Some(state), ..ItemFilter::default() };
                    let listed: Vec<ItemId> = store.list(&filter, None, usize::MAX).unwrap().iter().map(|i| i.id).collect();
                    prop_assert_eq!(listed, want);
                }
            }
        }
    }
}

#[test]
fn history_and_audit_record_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    let id = db
        .enqueue(
            vec![NewItem {
                flow: "orders".into(),
                kind: "orders/create".into(),
                key: "#1001".into(),
                payload: b"{}".to_vec(),
                dedupe_key: None,
                exception: None,
                flow_resolves: false,
            }],
            10,
        )
        .unwrap()[0]
        .id;
    let c = db.claim("orders", 10, LEASE, 20).unwrap();
    db.complete(
        id,
        c[0].attempt(),
        Completion::Exception {
            reason: "address missing".into(),
        },
        30,
    )
    .unwrap();
    db.operate(
        id,
        OperatorAction::Resolve,
        "alice",
        Some("shipped by hand".into()),
        40,
    )
    .unwrap();
    let states: Vec<ItemState> = db.history(id).unwrap().iter().map(|h| h.to).collect();
    assert_eq!(
        states,
        [
            ItemState::Pending,
            ItemState::InFlight,
            ItemState::Exception,
            ItemState::Resolved
        ]
    );
    let audit = db.audit_log(10).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].who, "alice");
    assert_eq!(audit[0].action, "resolve");
    assert_eq!(audit[0].note.as_deref(), Some("shipped by hand"));
    // Paging with `after` continues where the last page ended.
    for n in 0..5 {
        db.enqueue(
            vec![NewItem {
                flow: "orders".into(),
                kind: "k".into(),
                key: format!("{n}"),
                payload: vec![],
                dedupe_key: None,
                exception: None,
                flow_resolves: false,
            }],
            50,
        )
        .unwrap();
    }
    let filter = ItemFilter {
        flow: Some("orders".into()),
        ..ItemFilter::default()
    };
    let first = db.list(&filter, None, 3).unwrap();
    let rest = db.list(&filter, Some(first[2].id), 10).unwrap();
    assert_eq!(first.len() + rest.len(), 6);
    assert!(first.last().unwrap().id < rest[0].id);
}

#[test]
fn a_resolve_the_flow_carries_out_comes_back_to_the_flow_and_ends_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    let held = NewItem::new("exceptions", "hold", "#1001", b"{}".to_vec()).resolved_by_flow();
    let id = db.enqueue(vec![held], 10).unwrap()[0].id;
    let c = db.claim("exceptions", 10, LEASE, 20).unwrap();
    let reason = Completion::Exception {
        reason: "address: zip missing".into(),
    };
    db.complete(id, c[0].attempt(), reason.clone(), 30).unwrap();
    // Resolve: due again for the flow, flagged, not closed.
    let item = db
        .operate(id, OperatorAction::Resolve, "alice", Some("ok".into()), 40)
        .unwrap();
    assert_eq!(item.state, ItemState::Pending);
    assert!(item.resolving);
    let c = db.claim("exceptions", 10, LEASE, 50).unwrap();
    assert!(c[0].item.resolving);
    // A transient failure keeps the resolution pending.
    let retry = Completion::Retry {
        at: 60,
        error: "wms down".into(),
    };
    let item = db.complete(id, c[0].attempt(), retry, 55).unwrap();
    assert!(item.resolving);
    let c = db.claim("exceptions", 10, LEASE, 60).unwrap();
    let item = db
        .complete(id, c[0].attempt(), Completion::Done, 70)
        .unwrap();
    assert_eq!(item.state, ItemState::Resolved);
    // An operator's retry of such an item clears a pending resolution.
    let other = NewItem::new("exceptions", "hold", "#1002", vec![]).resolved_by_flow();
    let id = db.enqueue(vec![other], 80).unwrap()[0].id;
    let c = db.claim("exceptions", 10, LEASE, 90).unwrap();
    db.complete(id, c[0].attempt(), reason, 95).unwrap();
    db.operate(id, OperatorAction::Resolve, "alice", None, 100)
        .unwrap();
    let item = db
        .operate(id, OperatorAction::Retry, "bob", None, 110)
        .unwrap();
    assert!(!item.resolving);
    // Plain items still close on resolve.
    let plain = NewItem::new("orders", "orders/create", "#1003", vec![]);
    let id = db.enqueue(vec![plain], 120).unwrap()[0].id;
    let item = db
        .operate(id, OperatorAction::Resolve, "alice", None, 130)
        .unwrap();
    assert_eq!(item.state, ItemState::Resolved);
}

#[test]
fn finished_work_is_retried_only_again_and_recorded_as_a_re_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    let items = vec![
        NewItem::new("orders", "orders/create", "#1", vec![]),
        NewItem::new("orders", "orders/create", "#2", vec![]).held("address: missing"),
    ];
    let ids: Vec<ItemId> = db
        .enqueue(items, 10)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let (done, held) = (ids[0], ids[1]);
    let c = db.claim("orders", 10, LEASE, 20).unwrap();
    db.complete(done, c[0].attempt(), Completion::Done, 30)
        .unwrap();
    let refused = |state| Err(StoreError::RetryOfFinished { id: done, state });

    assert_eq!(
        db.operate(done, OperatorAction::Retry, "alice", None, 40),
        refused(ItemState::Done)
    );
    let item = db
        .operate(
            done,
            OperatorAction::RetryAgain,
            "alice",
            Some("lost".into()),
            50,
        )
        .unwrap();
    assert_eq!((item.state, item.attempts), (ItemState::Pending, 0));
    let last = db.history(done).unwrap().pop().unwrap();
    assert_eq!(last.note.as_deref(), Some("retry-again by alice: lost"));
    // Again on an item still open is the plain retry it amounts to.
    db.operate(held, OperatorAction::RetryAgain, "bob", None, 60)
        .unwrap();
    let last = db.history(held).unwrap().pop().unwrap();
    assert_eq!(last.note.as_deref(), Some("retry by bob"));
    // What a person closed is finished work too.
    db.operate(done, OperatorAction::Cancel, "alice", None, 70)
        .unwrap();
    assert_eq!(
        db.operate(done, OperatorAction::Retry, "alice", None, 80),
        refused(ItemState::Cancelled)
    );
    let audit: Vec<String> = db
        .audit_log(10)
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(audit, ["cancel", "retry", "retry-again"]);
}

#[test]
fn waking_an_endpoint_makes_only_the_deliveries_waiting_for_it_due() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    let items = (0..3)
        .map(|n| NewItem::new("orders", "orders/create", format!("#{n}"), vec![]))
        .collect();
    db.enqueue(items, 10).unwrap();
    let claimed = db.claim("orders", 10, LEASE, 20).unwrap();
    for (c, error) in claimed
        .iter()
        .zip(["wms: HTTP 503", "erp: HTTP 503", "wms: circuit open"])
    {
        let retry = Completion::Retry {
            at: 1_000_000,
            error: error.into(),
        };
        db.complete(c.item.id, c.attempt(), retry, 30).unwrap();
    }
    assert!(db.claim("orders", 10, LEASE, 40).unwrap().is_empty());
    assert_eq!(db.wake("wms:", 50).unwrap(), ["orders"]);
    let due: Vec<String> = db
        .claim("orders", 10, LEASE, 60)
        .unwrap()
        .into_iter()
        .map(|c| c.item.key)
        .collect();
    assert_eq!(due, ["#0", "#2"]);
    assert!(db.wake("wms:", 70).unwrap().is_empty());
}

#[test]
fn a_store_of_another_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = fjall::Database::builder(dir.path()).open().unwrap();
        let meta = db
            .keyspace("meta", fjall::KeyspaceCreateOptions::default)
            .unwrap();
        meta.insert("format", 99u64.to_be_bytes()).unwrap();
    }
    let err = ItemDb::open(dir.path()).err().unwrap();
    assert_eq!(
        err,
        StoreError::Incompatible {
            found: 99,
            expected: 1
        }
    );
    assert!(err.to_string().contains("move the data directory aside"));
}

#[test]
fn dedupe_keys_expire_after_the_retention_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    let item = |k: &str| NewItem::new("orders", "orders/create", k, vec![]).dedupe(k);
    let old = db.enqueue(vec![item("w1")], 1_000).unwrap()[0];
    let new = db.enqueue(vec![item("w2")], 5_000).unwrap()[0];
    assert_eq!(db.prune_dedupe(2_000).unwrap(), 1);
    let again = db.enqueue(vec![item("w1"), item("w2")], 6_000).unwrap();
    assert!(
        !again[0].duplicate && again[0].id != old.id,
        "an expired key is new again"
    );
    assert!(
        again[1].duplicate && again[1].id == new.id,
        "a fresh key still dedupes"
    );
}

#[test]
fn listings_filter_by_key_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    for (n, key) in ["#1001", "#1002", "SKU-ABC-1", "#2001"].iter().enumerate() {
        db.enqueue(
            vec![NewItem::new("orders", "k", *key, vec![])],
            1_000 + n as u64 * 1_000,
        )
        .unwrap();
    }
    let keys = |f: ItemFilter, limit| -> Vec<String> {
        db.list(&f, None, limit)
            .unwrap()
            .into_iter()
            .map(|i| i.key)
            .collect()
    };
    let by_key = ItemFilter {
        key: Some("#10".into()),
        ..ItemFilter::default()
    };
    assert_eq!(keys(by_key.clone(), 10), ["#1001", "#1002"]);
    assert_eq!(keys(by_key, 1), ["#1001"]);
    assert_eq!(
        keys(
            ItemFilter {
                key: Some("abc".into()),
                ..ItemFilter::default()
            },
            10
        ),
        ["SKU-ABC-1"]
    );
    let old = ItemFilter {
        updated_before: Some(2_500),
        ..ItemFilter::default()
    };
    assert_eq!(keys(old, 10), ["#1001", "#1002"]);
}

/// Finishes item `id` (claimed at `now`) with `completion`.
fn finish(db: &mut ItemDb, flow: &str, now: u64, completion: Completion) -> ItemId {
    let claimed = db.claim(flow, 1, 1_000, now).unwrap().remove(0);
    let id = claimed.item.id;
    db.complete(id, claimed.item.attempts, completion, now)
        .unwrap();
    id
}

fn step(done: u64, closed: u64, audit: u64, budget: usize, dry: bool) -> PruneStep {
    PruneStep {
        retention: Retention {
            done,
            closed,
            audit,
        },
        budget,
        dry,
        fresh: false,
    }
}

#[test]
fn finished_items_past_their_window_are_retired_and_open_work_never_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    let item = |k: &str| NewItem::new("orders", "orders/create", k, b"payload".to_vec()).dedupe(k);
    // Ten items finished at t = 1,000 (old), one exception and one retrying item just as old,
    // and two items finished at t = 90,000 (young).
    db.enqueue((0..14).map(|i| item(&format!("w{i}"))).collect(), 1_000)
        .unwrap();
    let old: Vec<ItemId> = (0..10)
        .map(|_| finish(&mut db, "orders", 1_000, Completion::Done))
        .collect();
    let held = finish(
        &mut db,
        "orders",
        1_000,
        Completion::Exception {
            reason: "held".into(),
        },
    );
    let retrying = finish(
        &mut db,
        "orders",
        1_000,
        Completion::Retry {
            at: 10_000_000,
            error: "503".into(),
        },
    );
    let young: Vec<ItemId> = (0..2)
        .map(|_| finish(&mut db, "orders", 90_000, Completion::Done))
        .collect();
    db.audit(AuditEntry {
        at: 1_000,
        who: "ops".into(),
        action: "pause".into(),
        target: "orders".into(),
        note: None,
    })
    .unwrap();
    let now = 100_000;
    let window = 50_000;

    // A dry run counts without removing; a step stops at its budget and says more is due.
    let dry = db
        .prune(now, step(window, window, window, 100, true))
        .unwrap();
    assert_eq!((dry.items, dry.audit), (10, 1));
    assert_eq!(db.count("orders", ItemState::Done), 12);
    let first = db
        .prune(now, step(window, window, window, 4, false))
        .unwrap();
    assert_eq!((first.items, first.more), (4, true));
    let mut total = first.items;
    loop {
        let p = db
            .prune(now, step(window, window, window, 4, false))
            .unwrap();
        total += p.items;
        if !p.more {
            assert_eq!(p.audit, 1, "the old audit entry goes too");
            break;
        }
    }
    assert_eq!(total, 10);
    for id in &old {
        assert!(db.get(*id).unwrap().is_none(), "item {id} retired");
        assert!(db.history(*id).unwrap().is_empty(), "its history too");
    }
    for id in young.iter().chain([&held, &retrying]) {
        assert!(db.get(*id).unwrap().is_some(), "item {id} kept");
    }
    assert_eq!(db.count("orders", ItemState::Done), 2);
    assert_eq!(db.count("orders", ItemState::Exception), 1);
    assert_eq!(db.count("orders", ItemState::Retrying), 1);
    assert_eq!(db.retired().get("orders"), Some(&10));
    assert!(db.audit_log(10).unwrap().is_empty());
    // The counts and the retired tally survive a reopen; dedupe keys outlive their items.
    drop(db);
    let mut db = ItemDb::open(dir.path()).unwrap();
    assert_eq!(db.count("orders", ItemState::Done), 2);
    assert_eq!(db.retired().get("orders"), Some(&10));
    let again = db.enqueue(vec![item("w0")], now).unwrap();
    assert!(
        again[0].duplicate,
        "a retired item's webhook is still a duplicate"
    );
    // Nothing more to do, and a window of 0 keeps everything.
    let idle = db
        .prune(now, step(window, window, window, 100, false))
        .unwrap();
    assert_eq!((idle.items, idle.audit, idle.more), (0, 0, false));
    let forever = db.prune(now * 10, step(0, 0, 0, 100, false)).unwrap();
    assert_eq!(forever.items, 0);
    // An item that finishes late (created before the floor) is still reached by a fresh run.
    let late = db
        .prune(
            now * 10,
            PruneStep {
                fresh: true,
                ..step(1, 1, 1, 100, false)
            },
        )
        .unwrap();
    assert_eq!(late.items, 2, "the young ones, old now");
}
