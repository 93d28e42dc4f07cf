//! The terminal UI without a terminal: every view rendered from fixed data at 80×24 and
//! 160×48 (snapshots), and the key → request state machine.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use xconnector::cli::ItemAction;
use xconnector::control::api::{FlowRow, ItemDetail, ItemPage, Status};
use xconnector::logging::LogLine;
use xconnector::tui::app::{App, Exit, ListKind, Mode, Reply, Request, View};
use xconnector::tui::components::prompt::Prompt;
use xconnector::tui::view::{Theme, draw, sparkline};
use xconnector_actors::endpoints::{EndpointStatus, Health};
use xconnector_actors::item::{HistoryEntry, Item, ItemId, ItemState, OperatorAction};
use xconnector_actors::store::{BulkJob, JobFilter, JobState};

const NOW: u64 = 1_800_000_000_000;

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn status(done: u64) -> Status {
    Status {
        ready: true,
        flows: vec![
            FlowRow {
                name: "inventory".into(),
                running: true,
                paused: true,
                in_flight: 0,
                capacity: 8,
                counts: counts(&[("pending", 120), ("done", 4000)]),
                oldest_waiting: Some(NOW - 5_400_000),
                retired: 0,
            },
            FlowRow {
                name: "log".into(),
                running: true,
                paused: false,
                in_flight: 2,
                capacity: 8,
                counts: counts(&[("in_flight", 2), ("done", done)]),
                oldest_waiting: Some(NOW - 5_400_000),
                retired: 0,
            },
            FlowRow {
                name: "orders".into(),
                running: true,
                paused: false,
                in_flight: 3,
                capacity: 8,
                counts: counts(&[
                    ("pending", 5),
                    ("retrying", 2),
                    ("in_flight", 3),
                    ("exception", 4),
                    ("done", 1500),
                ]),
                oldest_waiting: Some(NOW - 5_400_000),
                retired: 0,
            },
        ],
        totals: counts(&[
            ("pending", 125),
            ("retrying", 2),
            ("in_flight", 5),
            ("exception", 4),
            ("done", 5500 + done),
        ]),
        enqueue_rate: 42.5,
        restarts: counts(&[("flow:orders", 1)]),
        shopify: Some(xconnector_actors::rate_limiter::RateLimiterStats {
            available: 1234.0,
            maximum: 2000.0,
            restore_rate: 100.0,
            learned: true,
            points_per_second: 87.0,
            utilisation: 0.87,
            ..Default::default()
        }),
        endpoints: vec![
            endpoint("erp", Health::Up, 5480),
            endpoint("wms", Health::CircuitOpen, 5312),
            endpoint("support", Health::Retrying, 40),
        ],
        store_failing: None,
        store: Default::default(),
        jobs: Vec::new(),
        log_to: "/var/lib/xconnector/xconnector.log".into(),
    }
}

/// Bulk job `id` over the orders flow's exceptions, `matched` of 30,000 looked at.
fn job(id: u64, state: JobState, matched: u64) -> BulkJob {
    BulkJob {
        id,
        action: OperatorAction::Resolve,
        filter: JobFilter {
            flow: Some("orders".into()),
            state: Some(ItemState::Exception),
        },
        note: None,
        user: "alice".into(),
        created_at: NOW - 120_000,
        state,
        expected: 30_000,
        matched,
        changed: matched - 2,
        skipped: 2,
        failed: 0,
        after: Some(ItemId(matched)),
        until: ItemId(30_001),
        finished_at: state.is_over().then_some(NOW - 60_000),
        cancelled_by: None,
        last_error: None,
    }
}

fn endpoint(name: &str, health: Health, delivered: u64) -> EndpointStatus {
    EndpointStatus {
        name: name.into(),
        health,
        in_flight: 0,
        delivered,
        failed: 3,
        rejected: 0,
    }
}

fn item(id: u64, flow: &str, state: ItemState, key: &str, error: Option<&str>) -> Item {
    Item {
        id: ItemId(id),
        flow: flow.into(),
        kind: "orders/create".into(),
        key: key.into(),
        state,
        attempts: 2,
        created_at: NOW - 7_200_000,
        updated_at: NOW - 90_000,
        due_at: NOW,
        last_error: error.map(str::to_string),
        dedupe_key: None,
        flow_resolves: false,
        resolving: false,
    }
}

fn exceptions() -> Vec<Item> {
    vec![
        item(
            11,
            "orders",
            ItemState::Exception,
            "#1001",
            Some("address: zip is missing"),
        ),
        item(
            12,
            "orders",
            ItemState::Exception,
            "#1002",
            Some("address: country XX not allowed"),
        ),
        item(
            13,
            "orders",
            ItemState::Exception,
            "#1003",
            Some("fraud: risk HIGH"),
        ),
        item(
            14,
            "orders",
            ItemState::Exception,
            "#1004",
            Some("wms rejected it: HTTP 422: unknown SKU"),
        ),
    ]
}

fn app_with_data() -> App {
    let mut app = App::new(Mode::Attached, false);
    for done in [100, 110, 130, 120, 160] {
        app.on_reply(Reply::Status(status(done)));
    }
    app.on_reply(Reply::Page {
        list: ListKind::Items,
        page: ItemPage {
            items: vec![
                item(7, "orders", ItemState::Pending, "#0998", None),
                item(
                    8,
                    "orders",
                    ItemState::Retrying,
                    "#0999",
                    Some("erp: HTTP 503 Service Unavailable"),
                ),
                item(
                    11,
                    "orders",
                    ItemState::Exception,
                    "#1001",
                    Some("address: zip is missing"),
                ),
            ],
            next: Some(11),
        },
    });
    app.on_reply(Reply::Page {
        list: ListKind::Exceptions,
        page: ItemPage {
            items: exceptions(),
            next: None,
        },
    });
    app.on_reply(Reply::Logs(vec![LogLine {
        seq: 1,
        at: NOW - 5_000,
        level: "WARN".into(),
        target: "xconnector::webhooks".into(),
        message: "webhook with a missing or wrong signature refused shop=evil.myshopify.com".into(),
    }]));
    app
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| draw(f, app, NOW, Theme { color: false }))
        .unwrap();
    terminal.backend().to_string()
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

#[test]
fn every_view_renders_at_80x24_and_160x48() {
    let mut app = app_with_data();
    for (w, h) in [(80, 24), (160, 48)] {
        app.view = View::Overview;
        insta::assert_snapshot!(format!("overview_{w}x{h}"), render(&app, w, h));
        app.view = View::Items;
        insta::assert_snapshot!(format!("items_{w}x{h}"), render(&app, w, h));
        app.view = View::Exceptions;
        insta::assert_snapshot!(format!("exceptions_{w}x{h}"), render(&app, w, h));
    }
    app.view = View::Items;
    app.on_key(code(KeyCode::Enter));
    app.on_reply(Reply::Detail(ItemDetail {
        item: item(7, "orders", ItemState::Pending, "#0998", None),
        payload: serde_json::json!({"id": 998, "name": "#0998", "line_items": [{"sku": "ABC-1", "quantity": 2}]}),
        history: vec![
            HistoryEntry { at: NOW - 7_200_000, from: None, to: ItemState::Pending, note: None },
            HistoryEntry { at: NOW - 60_000, from: Some(ItemState::Exception), to: ItemState::Pending, note: Some("retry by alice: paid now".into()) },
        ],
    }));
    insta::assert_snapshot!("detail_80x24", render(&app, 80, 24));
    app.on_key(key('?'));
    insta::assert_snapshot!("help_80x24", render(&app, 80, 24));
}

#[test]
fn a_store_that_cannot_write_is_shown_on_the_overview() {
    let mut app = app_with_data();
    let mut failing = status(10);
    failing.ready = false;
    failing.store_failing = Some(xconnector_actors::store::StoreFailure {
        reason: "I/O error: No space left on device (os error 28)".into(),
        since: NOW - 95_000,
    });
    app.on_reply(Reply::Status(failing));
    app.view = View::Overview;
    let screen = render(&app, 160, 48);
    assert!(
        screen.contains("STORE CANNOT WRITE for 1m: I/O error: No space left on device"),
        "{screen}"
    );
    insta::assert_snapshot!("overview_store_failing_160x48", screen);
}

#[test]
fn bulk_jobs_show_on_the_overview_while_they_run_and_for_a_while_after() {
    let mut app = app_with_data();
    app.view = View::Overview;
    let mut running = status(10);
    running.jobs = vec![
        job(2, JobState::Running, 12_000),
        job(1, JobState::Finished, 30_000),
    ];
    app.on_reply(Reply::Status(running));
    let screen = render(&app, 160, 48);
    assert!(
        screen.contains(
            "job 2 resolve orders/exception 40% of 30000: 11998 changed, 2 skipped, 0 failed"
        ),
        "{screen}"
    );
    assert!(
        !screen.contains("job 1 "),
        "only running jobs while one runs"
    );
    insta::assert_snapshot!("overview_job_running_80x24", render(&app, 80, 24));

    let mut ended = status(10);
    ended.jobs = vec![job(1, JobState::Cancelled, 30_000)];
    app.on_reply(Reply::Status(ended.clone()));
    assert!(
        render(&app, 160, 48)
            .contains("job 1 resolve orders/exception cancelled 1m ago: 29998 changed, 2 skipped")
    );
    ended.jobs[0].finished_at = Some(NOW - 3_600_000);
    app.on_reply(Reply::Status(ended));
    assert!(
        !render(&app, 160, 48).contains("job 1"),
        "gone after ten minutes"
    );
}

#[test]
fn a_lost_daemon_shows_and_the_last_data_stays() {
    let mut app = app_with_data();
    app.on_reply(Reply::Disconnected(
        "no daemon on data/xconnector.sock".into(),
    ));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("DISCONNECTED, retrying"), "{screen}");
    assert!(
        screen.contains("connection lost: no daemon on data/xconnector.sock"),
        "{screen}"
    );
    assert!(
        screen.contains("orders"),
        "the last known numbers stay on screen"
    );
    let fresh = App::new(Mode::Attached, true);
    let screen = render(&fresh, 80, 24);
    assert!(screen.contains("Waiting for the daemon"), "{screen}");
    assert!(screen.contains("read-only"));
}

#[test]
fn keys_become_requests() {
    let mut app = app_with_data();
    // Overview: the selected flow opens its items; p pauses or resumes it.
    app.on_key(code(KeyCode::Down));
    app.on_key(code(KeyCode::Down));
    assert_eq!(
        app.on_key(key('p')),
        vec![Request::Flow {
            name: "orders".into(),
            pause: true
        }]
    );
    app.on_key(code(KeyCode::Up));
    app.on_key(code(KeyCode::Up));
    assert_eq!(
        app.on_key(key('p')),
        vec![Request::Flow {
            name: "inventory".into(),
            pause: false
        }]
    );
    let open = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        open,
        vec![Request::List {
            list: ListKind::Items,
            query: "limit=200&flow=inventory".into()
        }]
    );
    assert_eq!(app.view, View::Items);

    // A filter typed after / is parsed into the query.
    app.on_key(key('/'));
    for _ in 0..20 {
        app.on_key(code(KeyCode::Backspace));
    }
    for c in "flow:orders state:exception age>1h #10".chars() {
        app.on_key(key(c));
    }
    let reqs = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        reqs,
        vec![Request::List {
            list: ListKind::Items,
            query: "limit=200&flow=orders&state=exception&older_than=3600&key=%2310".into()
        }]
    );
    let bad = {
        app.on_key(key('/'));
        for c in "age>soon".chars() {
            app.on_key(key(c));
        }
        app.on_key(code(KeyCode::Enter))
    };
    assert!(bad.is_empty(), "a bad filter is not applied");
    match &app.prompt {
        Some(Prompt::Filter { prompt, .. }) => assert!(
            prompt
                .error
                .as_deref()
                .is_some_and(|e| e.contains("age>soon")),
            "{:?}",
            prompt.error
        ),
        other => panic!("the prompt stays open with its error: {other:?}"),
    }
    app.on_key(code(KeyCode::Esc));
    assert!(app.prompt.is_none());

    // Exceptions: mark two, retry both; resolve asks for a note first.
    app.on_key(key('3'));
    app.on_reply(Reply::Page {
        list: ListKind::Exceptions,
        page: ItemPage {
            items: exceptions(),
            next: None,
        },
    });
    app.on_key(key(' '));
    app.on_key(key(' '));
    assert_eq!(
        app.on_key(key('r')),
        vec![Request::Act {
            action: ItemAction::Retry,
            ids: vec![11, 12],
            note: None
        }]
    );
    assert!(app.on_key(key('x')).is_empty());
    assert!(matches!(
        app.prompt,
        Some(Prompt::Note {
            action: ItemAction::Resolve,
            ..
        })
    ));
    for c in "shipped by hand".chars() {
        app.on_key(key(c));
    }
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        vec![Request::Act {
            action: ItemAction::Resolve,
            ids: vec![11, 12],
            note: Some("shipped by hand".into())
        }]
    );
    let after = app.on_reply(Reply::Done("resolve: 2 item(s)".into()));
    assert_eq!(after.len(), 1, "the list reloads after a change");
    assert!(app.exceptions.marked.is_empty());

    // A held return: d asks for "REASON: note", and says so; a approves with a note.
    app.on_reply(Reply::Page {
        list: ListKind::Exceptions,
        page: ItemPage {
            items: exceptions(),
            next: None,
        },
    });
    assert!(app.on_key(key('d')).is_empty());
    let shown = render(&app, 120, 24);
    assert!(
        shown.contains("[FINAL_SALE|RETURN_PERIOD_ENDED|OTHER:] note"),
        "{shown}"
    );
    for c in "FINAL_SALE: clearance".chars() {
        app.on_key(key(c));
    }
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        vec![Request::Act {
            action: ItemAction::Decline,
            ids: vec![13],
            note: Some("FINAL_SALE: clearance".into())
        }]
    );
    assert!(app.on_key(key('a')).is_empty());
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        vec![Request::Act {
            action: ItemAction::Approve,
            ids: vec![13],
            note: None
        }]
    );

    // Bulk: states the count and needs a y.
    assert!(app.on_key(key('C')).is_empty());
    match &app.prompt {
        Some(Prompt::Confirm { count, .. }) => assert_eq!(count, "4"),
        other => panic!("{other:?}"),
    }
    assert!(
        render(&app, 80, 24)
            .contains("cancel ALL 4 items matching [state:exception]? y to confirm")
    );
    let bulk = app.on_key(key('y'));
    assert_eq!(
        bulk,
        vec![Request::Bulk {
            action: ItemAction::Cancel,
            flow: None,
            state: Some("exception".into()),
            note: Some("bulk action from the TUI".into())
        }]
    );
    app.on_reply(Reply::Bulk {
        action: ItemAction::Cancel,
        job: BulkJob {
            action: OperatorAction::Cancel,
            expected: 4,
            ..job(7, JobState::Running, 2)
        },
    });
    assert!(render(&app, 80, 24).contains("cancel: job 7 started over 4 matching items"));

    // Read-only hides every change.
    let mut ro = app_with_data();
    ro.readonly = true;
    ro.on_key(key('3'));
    assert!(ro.on_key(key('r')).is_empty());
    assert!(ro.on_key(key('p')).is_empty());
    assert!(!render(&ro, 160, 48).contains("r retry"));

    ro.on_key(key('q'));
    assert_eq!(ro.exit, Some(Exit::Detach), "xconnector tui: q detaches");
}

#[test]
fn sparklines_scale_to_the_window() {
    assert_eq!(sparkline(&[0, 1, 2, 4, 8], 5), " ▁▂▄█");
    assert_eq!(sparkline(&[3], 4), "   █");
    assert_eq!(sparkline(&[], 3), "   ");
}

#[test]
fn repeated_exceptions_of_one_order_collapse_to_the_newest() {
    use xconnector::tui::components::item_list::newest_per_entity;
    let items = vec![
        item(
            20,
            "orders",
            ItemState::Exception,
            "#2001",
            Some("fraud: risk HIGH"),
        ),
        item(
            21,
            "orders",
            ItemState::Exception,
            "#2002",
            Some("address: zip is missing"),
        ),
        item(
            25,
            "orders",
            ItemState::Exception,
            "#2001",
            Some("fraud: risk HIGH"),
        ),
        item(
            26,
            "orders",
            ItemState::Exception,
            "",
            Some("not valid JSON"),
        ),
        item(
            27,
            "orders",
            ItemState::Exception,
            "",
            Some("not valid JSON"),
        ),
    ];
    let ids: Vec<u64> = newest_per_entity(items).iter().map(|i| i.id.0).collect();
    assert_eq!(ids, [21, 25, 26, 27]);
}

#[test]
fn live_changes_reload_what_is_shown_and_the_selection_follows_its_item() {
    use xconnector_actors::store::Changes;
    let mut app = app_with_data();
    app.on_key(key('2'));
    app.on_reply(Reply::Page {
        list: ListKind::Items,
        page: ItemPage {
            items: vec![
                item(7, "orders", ItemState::Pending, "#0998", None),
                item(8, "orders", ItemState::Retrying, "#0999", None),
            ],
            next: None,
        },
    });
    app.on_key(code(KeyCode::Down));
    assert_eq!(app.items.selected, 1);
    let mut orders = Changes::known();
    orders.item("orders", ItemId(8));
    let mut inventory = Changes::known();
    inventory.item("inventory", ItemId(99));

    // A change in another flow leaves a flow-filtered list alone; one in its flow reloads it,
    // and the selection stays on item 8 when a new row comes in above it.
    app.items.filter.flow = Some("orders".into());
    assert!(app.on_reply(Reply::Changes(inventory.clone())).is_empty());
    let reload = app.on_reply(Reply::Changes(orders.clone()));
    assert!(
        matches!(
            &reload[..],
            [Request::List {
                list: ListKind::Items,
                ..
            }]
        ),
        "{reload:?}"
    );
    assert!(
        app.on_reply(Reply::Changes(orders.clone())).is_empty(),
        "one read at a time; the change is remembered"
    );
    let again = app.on_reply(Reply::Page {
        list: ListKind::Items,
        page: ItemPage {
            items: vec![
                item(9, "orders", ItemState::Pending, "#1000", None),
                item(7, "orders", ItemState::Pending, "#0998", None),
                item(8, "orders", ItemState::Done, "#0999", None),
            ],
            next: None,
        },
    });
    assert_eq!(again.len(), 1, "what changed meanwhile is read again");
    assert_eq!(app.items.selected, 2, "still on item 8");
    assert_eq!(app.items.items[2].id, ItemId(8));

    // The detail re-reads its item when the item changes, not when another does.
    app.on_reply(Reply::Page {
        list: ListKind::Items,
        page: ItemPage {
            items: app.items.items.clone(),
            next: None,
        },
    });
    assert_eq!(app.on_key(code(KeyCode::Enter)), vec![Request::Show(8)]);
    app.on_reply(Reply::Detail(ItemDetail {
        item: item(
            8,
            "orders",
            ItemState::Exception,
            "#0999",
            Some("erp: HTTP 422"),
        ),
        payload: serde_json::json!({}),
        history: Vec::new(),
    }));
    let mut other = Changes::known();
    other.item("orders", ItemId(7));
    assert!(app.on_reply(Reply::Changes(other)).is_empty());
    assert_eq!(app.on_reply(Reply::Changes(orders)), vec![Request::Show(8)]);
    app.on_reply(Reply::Detail(ItemDetail {
        item: item(8, "orders", ItemState::Resolved, "#0999", None),
        payload: serde_json::json!({}),
        history: Vec::new(),
    }));
    let screen = render(&app, 100, 24);
    assert!(screen.contains("state resolved"), "{screen}");
    assert!(
        !screen.contains("due "),
        "a resolved item is not due: {screen}"
    );

    // Back in the list, it is read again: it did not follow while hidden.
    let back = app.on_key(code(KeyCode::Esc));
    assert!(
        matches!(
            &back[..],
            [Request::List {
                list: ListKind::Items,
                ..
            }]
        ),
        "{back:?}"
    );
}

#[test]
fn a_reconnect_reads_the_view_again_and_the_log_afresh() {
    let mut app = app_with_data();
    app.on_key(key('3'));
    app.on_reply(Reply::Page {
        list: ListKind::Exceptions,
        page: ItemPage {
            items: exceptions(),
            next: None,
        },
    });
    app.on_reply(Reply::Disconnected(
        "no daemon on data/xconnector.sock".into(),
    ));
    let after = app.on_reply(Reply::Connected);
    assert!(
        matches!(
            &after[..],
            [Request::List {
                list: ListKind::Exceptions,
                ..
            }]
        ),
        "{after:?}"
    );
    assert!(
        app.logs.lines.is_empty(),
        "the new stream sends the recent lines again"
    );
}

#[test]
fn the_demo_asks_before_stopping_its_daemon_and_can_detach() {
    let mut app = App::new(Mode::Owned, false);
    app.on_reply(Reply::Status(status(1)));
    app.on_key(key('?'));
    let help = render(&app, 100, 30);
    assert!(
        help.contains("stop the daemon and exit (asks first)"),
        "{help}"
    );
    assert!(!help.contains("detach; the daemon keeps running"), "{help}");
    app.on_key(key('?'));

    app.on_key(key('q'));
    assert_eq!(app.exit, None, "q asks first");
    let asked = render(&app, 160, 24);
    assert!(
        asked.contains("Stop the daemon and exit? y stop · d detach"),
        "{asked}"
    );
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.exit, None, "esc stays");
    app.on_key(key('q'));
    app.on_key(key('d'));
    assert_eq!(app.exit, Some(Exit::Detach));

    let mut app = App::new(Mode::Owned, false);
    app.on_key(key('q'));
    app.on_key(key('y'));
    assert_eq!(app.exit, Some(Exit::Stop));

    // xconnector tui: the help says q detaches, and it does at once.
    let mut attached = app_with_data();
    attached.on_key(key('?'));
    assert!(render(&attached, 100, 30).contains("quit: detach; the daemon keeps running"));
}

#[test]
fn the_log_pane_cycles_its_level_and_says_where_the_full_log_is() {
    let mut app = app_with_data();
    app.on_reply(Reply::Logs(vec![LogLine {
        seq: 2,
        at: NOW - 1_000,
        level: "INFO".into(),
        target: "xconnector::daemon".into(),
        message: "flow started flow=orders".into(),
    }]));
    let warn = render(&app, 160, 48);
    assert!(
        warn.contains("Log (warn and up; L: level) · all: /var/lib/xconnector/xconnector.log"),
        "{warn}"
    );
    assert!(warn.contains("missing or wrong signature") && !warn.contains("flow started"));
    app.on_key(key('L'));
    let info = render(&app, 160, 48);
    assert!(
        info.contains("Log (info and up") && info.contains("flow started flow=orders"),
        "{info}"
    );
    app.on_key(key('L'));
    let errors = render(&app, 160, 48);
    assert!(
        errors.contains("Log (nothing at errors") && !errors.contains("missing or wrong signature"),
        "{errors}"
    );
}

#[test]
fn columns_fit_their_content_and_gids_lose_their_prefix() {
    let mut app = app_with_data();
    app.on_key(key('2'));
    let mut ret = item(
        40,
        "returns",
        ItemState::Exception,
        "gid://shopify/Return/9000000001",
        Some("held: over the approval threshold"),
    );
    ret.kind = "returns/request".into();
    app.on_reply(Reply::Page {
        list: ListKind::Items,
        page: ItemPage {
            items: vec![ret],
            next: None,
        },
    });
    let screen = render(&app, 140, 20);
    assert!(
        screen.contains("returns/request Return/9000000001 "),
        "{screen}"
    );
    assert!(
        screen.contains("held: over the approval threshold"),
        "{screen}"
    );
    assert!(screen.contains("AGE  CHANGED"), "{screen}");
}

#[test]
fn the_filter_prompt_adds_to_the_filter_and_shows_errors_while_typing() {
    let mut app = app_with_data();
    app.on_key(key('2'));
    app.items.filter.flow = Some("orders".into());
    app.on_key(key('/'));
    for c in "state:exception".chars() {
        app.on_key(key(c));
    }
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        vec![Request::List {
            list: ListKind::Items,
            query: "limit=200&flow=orders&state=exception".into()
        }]
    );
    app.on_key(key('/'));
    app.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    for c in "flow:nosuch".chars() {
        app.on_key(key(c));
    }
    let screen = render(&app, 120, 24);
    assert!(
        screen.contains("no flow \"nosuch\"; flows: inventory, log, orders"),
        "{screen}"
    );
    app.on_key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
    let screen = render(&app, 120, 24);
    assert!(
        !screen.contains("no flow"),
        "the error goes once the line is valid: {screen}"
    );
    // ↑ brings back the filter applied before.
    app.on_key(code(KeyCode::Up));
    match &app.prompt {
        Some(Prompt::Filter { prompt, .. }) => {
            assert_eq!(prompt.editor.value(), "flow:orders state:exception")
        }
        other => panic!("{other:?}"),
    }
}

// The reports view: a fixed sales report, its empty and error states, and the range keys.

use chrono::NaiveDate;
use xconnector::tui::components::reports::{Kind, Report, Reports};
use xconnector_actors::flows::reporting::report::{By, SalesReport, SalesRow, money};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A row with `orders` orders of two units each, `net` in hundredths after 5% discounts and
/// `returned` in hundredths given back.
fn sales_row(key: &str, currency: &str, orders: i64, net: i64, returned: i64) -> SalesRow {
    let sold = net + returned;
    let gross = sold * 100 / 95;
    let (shipping, tax) = (orders * 490, net / 5);
    let m = |cents: i64| money(cents * 100);
    SalesRow {
        key: key.into(),
        currency: currency.into(),
        orders,
        units: orders * 2,
        units_returned: i64::from(returned > 0),
        gross: m(gross),
        discounts: m(gross - sold),
        returns: m(returned),
        net: m(net),
        shipping: m(shipping),
        tax: m(tax),
        total: m(net + shipping + tax),
        average_order_value: if orders == 0 {
            String::new()
        } else {
            m(sold / orders)
        },
    }
}

/// 2026-11-11 to 2026-12-10 by day: EUR on eight days, USD on three.
fn sales_report() -> SalesReport {
    let eur = [
        ("2026-11-14", 3, 18_450, 0),
        ("2026-11-20", 5, 31_200, 0),
        ("2026-11-27", 12, 96_480, 4_990),
        ("2026-11-28", 9, 71_020, 0),
        ("2026-12-01", 4, 25_600, 0),
        ("2026-12-05", 7, 48_930, 2_500),
        ("2026-12-08", 6, 39_990, 0),
        ("2026-12-10", 2, 11_980, 0),
    ];
    let usd = [
        ("2026-11-27", 2, 21_000, 0),
        ("2026-12-02", 1, 8_990, 0),
        ("2026-12-09", 3, 27_450, 0),
    ];
    let rows_of = |currency: &str, days: &[(&str, i64, i64, i64)]| -> Vec<SalesRow> {
        days.iter()
            .map(|(d, o, n, r)| sales_row(d, currency, *o, *n, *r))
            .collect()
    };
    let total = |currency: &str, days: &[(&str, i64, i64, i64)]| {
        let sum = |f: fn(&(&str, i64, i64, i64)) -> i64| days.iter().map(f).sum::<i64>();
        sales_row("total", currency, sum(|d| d.1), sum(|d| d.2), sum(|d| d.3))
    };
    let mut rows = rows_of("EUR", &eur);
    rows.extend(rows_of("USD", &usd));
    rows.sort_by(|a, b| (&a.key, &a.currency).cmp(&(&b.key, &b.currency)));
    SalesReport {
        from: day("2026-11-11"),
        to: day("2026-12-10"),
        by: By::Day,
        rows,
        totals: vec![total("EUR", &eur), total("USD", &usd)],
    }
}

/// The app on the reports view with `today` fixed; what opening it asked for.
fn on_reports(today: &str) -> (App, Vec<Request>) {
    let mut app = app_with_data();
    app.reports = Reports::new(day(today));
    let asked = app.on_key(key('4'));
    (app, asked)
}

/// The path of the sales report over `query`.
fn sales_path(query: &str) -> String {
    format!("/v1/reports/sales?{query}")
}

fn report_request(query: &str) -> Vec<Request> {
    path_request(&sales_path(query))
}

fn path_request(path: &str) -> Vec<Request> {
    vec![Request::Report { path: path.into() }]
}

#[test]
fn the_reports_view_charts_net_sales_over_a_table_per_currency() {
    let (mut app, asked) = on_reports("2026-12-10");
    assert_eq!(app.view, View::Reports);
    assert_eq!(
        asked,
        report_request("from=2026-11-11&to=2026-12-10&by=day"),
        "the last 30 days, by day, when the view opens"
    );
    let loading = render(&app, 100, 30);
    assert!(loading.contains("reading the sales report"), "{loading}");
    app.on_reply(Reply::Report {
        path: sales_path("from=2026-11-11&to=2026-12-10&by=day"),
        report: Ok(Report::Sales(sales_report())),
    });
    let screen = render(&app, 100, 30);
    assert!(screen.contains("net EUR per day"), "{screen}");
    assert!(screen.contains("also USD (c)"), "{screen}");
    assert!(
        screen.contains("total EUR") && screen.contains("total USD"),
        "{screen}"
    );
    insta::assert_snapshot!("reports_100x30", screen);
    insta::assert_snapshot!("reports_80x24", render(&app, 80, 24));

    // c: the chart and the rows in the other currency.
    assert!(
        app.on_key(key('c')).is_empty(),
        "the same report, another currency"
    );
    let usd = render(&app, 100, 30);
    assert!(usd.contains("net USD per day"), "{usd}");
    assert!(usd.contains("also EUR (c)"), "{usd}");
    assert!(
        usd.contains("2026-12-09") && !usd.contains("2026-12-08"),
        "{usd}"
    );
    insta::assert_snapshot!("reports_usd_100x30", usd);

    // The help lists the view's keys, and the hint bar the main ones.
    app.on_key(key('?'));
    let help = render(&app, 100, 30);
    for k in [
        "span: 7, 30 or 90 days",
        "by: day, week, then channel, location, carrier, flow or SKU",
        "view: sales / fulfilment / health / inventory / customers",
        "4  reports",
    ] {
        assert!(help.contains(k), "{k}: {help}");
    }
    app.on_key(key('?'));
    let hints = render(&app, 80, 24);
    assert!(
        hints.contains("v view  ←/h earlier  →/l later  s span  b by  g reload"),
        "{hints}"
    );
}

#[test]
fn the_reports_view_says_when_nothing_sold_and_what_the_daemon_refused() {
    let query = "from=2026-11-11&to=2026-12-10&by=day";
    let (mut app, _) = on_reports("2026-12-10");
    app.on_reply(Reply::Report {
        path: sales_path(query),
        report: Ok(Report::Sales(SalesReport {
            rows: Vec::new(),
            totals: Vec::new(),
            ..sales_report()
        })),
    });
    let empty = render(&app, 100, 30);
    assert!(
        empty.contains("no sales from 2026-11-11 to 2026-12-10"),
        "{empty}"
    );
    insta::assert_snapshot!("reports_empty_100x30", empty);

    let (mut app, _) = on_reports("2026-12-10");
    app.on_reply(Reply::Report {
        path: sales_path(query),
        report: Err(
            "reporting is off: add a [flows.reporting] section to the config and \
                     restart; sales are counted from then on (HTTP 409)"
                .into(),
        ),
    });
    let refused = render(&app, 100, 30);
    assert!(refused.contains("reporting is off"), "{refused}");
    insta::assert_snapshot!("reports_error_100x30", refused);

    // A failed read again leaves the report there, under the error.
    app.on_reply(Reply::Report {
        path: sales_path(query),
        report: Ok(Report::Sales(sales_report())),
    });
    app.on_reply(Reply::Report {
        path: sales_path(query),
        report: Err("no daemon on data/xconnector.sock".into()),
    });
    let both = render(&app, 80, 24);
    assert!(both.contains("no daemon on data/xconnector.sock"), "{both}");
    assert!(both.contains("total EUR"), "{both}");
}

#[test]
fn range_keys_change_the_query_the_reports_view_asks_for() {
    let (mut app, _) = on_reports("2026-12-10");
    let mut press = |c: char| -> Vec<Request> { app.on_key(key(c)) };
    // s: 30 → 90 → 7 → 30 days, still ending on the same day.
    assert_eq!(
        press('s'),
        report_request("from=2026-09-12&to=2026-12-10&by=day")
    );
    assert_eq!(
        press('s'),
        report_request("from=2026-12-04&to=2026-12-10&by=day")
    );
    // ←/h: a span earlier; →/l: a span later, never past today.
    assert_eq!(
        press('h'),
        report_request("from=2026-11-27&to=2026-12-03&by=day")
    );
    assert_eq!(
        app.on_key(code(KeyCode::Left)),
        report_request("from=2026-11-20&to=2026-11-26&by=day")
    );
    let mut press = |c: char| -> Vec<Request> { app.on_key(key(c)) };
    assert_eq!(
        press('l'),
        report_request("from=2026-11-27&to=2026-12-03&by=day")
    );
    assert_eq!(
        press('s'),
        report_request("from=2026-11-04&to=2026-12-03&by=day")
    );
    assert_eq!(
        press('l'),
        report_request("from=2026-11-11&to=2026-12-10&by=day"),
        "later stops at today"
    );
    assert!(press('l').is_empty(), "nothing after today");
    // b: by week, by channel, by day again.
    assert_eq!(
        press('b'),
        report_request("from=2026-11-11&to=2026-12-10&by=week")
    );
    assert_eq!(
        press('b'),
        report_request("from=2026-11-11&to=2026-12-10&by=channel")
    );
    assert_eq!(
        press('h'),
        report_request("from=2026-10-12&to=2026-11-10&by=channel")
    );
    // t: back to the range ending today; g: read again now.
    assert_eq!(
        press('t'),
        report_request("from=2026-11-11&to=2026-12-10&by=channel")
    );
    assert_eq!(
        press('g'),
        report_request("from=2026-11-11&to=2026-12-10&by=channel")
    );
    assert_eq!(
        app.reports.query(),
        "from=2026-11-11&to=2026-12-10&by=channel"
    );

    // An answer for a range left since is dropped.
    app.on_reply(Reply::Report {
        path: sales_path("from=2026-10-12&to=2026-11-10&by=channel"),
        report: Ok(Report::Sales(sales_report())),
    });
    assert!(app.reports.report.is_none() && app.reports.loading);

    // v: the next report, over the same range; a grouping it does not have falls back to day.
    let range = "from=2026-11-11&to=2026-12-10";
    let mut press = |c: char| -> Vec<Request> { app.on_key(key(c)) };
    let fulfilment = |by: &str| path_request(&format!("/v1/reports/fulfilment?{range}&by={by}"));
    let health = |by: &str| path_request(&format!("/v1/reports/health?{range}&by={by}"));
    assert_eq!(press('v'), fulfilment("day"), "no fulfilment by channel");
    // b: only the fulfilment report's groupings.
    assert_eq!(press('b'), fulfilment("week"));
    assert_eq!(press('b'), fulfilment("location"));
    assert_eq!(press('b'), fulfilment("carrier"));
    assert_eq!(press('b'), fulfilment("day"));
    assert_eq!(press('b'), fulfilment("week"));
    assert_eq!(
        app.reports.path(),
        format!("/v1/reports/fulfilment?{range}&by=week")
    );
    // The sales answer still on its way is not this report's.
    app.on_reply(Reply::Report {
        path: sales_path(&format!("{range}&by=channel")),
        report: Ok(Report::Sales(sales_report())),
    });
    assert!(app.reports.report.is_none() && app.reports.loading);
    let mut press = |c: char| -> Vec<Request> { app.on_key(key(c)) };
    assert_eq!(press('v'), health("week"), "by week stays");
    assert_eq!(press('b'), health("flow"));
    assert_eq!(press('b'), health("kind"));
    assert_eq!(press('b'), health("day"));
    assert_eq!(press('b'), health("week"));
    assert_eq!(press('b'), health("flow"));
    // The inventory has no days: by SKU, its first; the customers by day, back from SKUs.
    let inventory = |by: &str| path_request(&format!("/v1/reports/inventory?{range}&by={by}"));
    let customers = |by: &str| path_request(&format!("/v1/reports/customers?{range}&by={by}"));
    assert_eq!(press('v'), inventory("sku"), "no inventory by flow");
    assert_eq!(press('b'), inventory("location"));
    assert_eq!(press('b'), inventory("sku"));
    assert_eq!(press('v'), customers("day"), "no customers by SKU");
    assert_eq!(press('b'), customers("week"));
    assert_eq!(press('b'), customers("day"));
    assert_eq!(
        press('v'),
        report_request(&format!("{range}&by=day")),
        "back to sales"
    );
    assert_eq!(press('b'), report_request(&format!("{range}&by=week")));
    assert_eq!(press('b'), report_request(&format!("{range}&by=channel")));
    assert_eq!(press('b'), report_request(&format!("{range}&by=day")));
}

#[test]
fn the_reports_view_reads_again_every_five_seconds_only_while_shown() {
    let query = "from=2026-11-11&to=2026-12-10&by=day";
    let today = day("2026-12-10");
    let (mut app, _) = on_reports("2026-12-10");
    assert!(app.tick(NOW, today).is_empty(), "a read is on its way");
    app.on_reply(Reply::Report {
        path: sales_path(query),
        report: Ok(Report::Sales(sales_report())),
    });
    assert!(
        app.tick(NOW, today).is_empty(),
        "the clock starts at the answer"
    );
    assert!(app.tick(NOW + 4_000, today).is_empty());
    assert_eq!(app.tick(NOW + 5_000, today), report_request(query));
    assert!(
        app.tick(NOW + 20_000, today).is_empty(),
        "one read at a time"
    );
    app.on_reply(Reply::Report {
        path: sales_path(query),
        report: Ok(Report::Sales(sales_report())),
    });

    // Not while another view is shown, nor while the daemon is away; opening it reads.
    app.on_key(key('1'));
    assert!(app.tick(NOW + 60_000, today).is_empty());
    assert_eq!(app.on_key(key('4')), report_request(query));
    app.on_reply(Reply::Report {
        path: sales_path(query),
        report: Ok(Report::Sales(sales_report())),
    });
    app.on_reply(Reply::Disconnected("no daemon".into()));
    app.tick(NOW + 70_000, today);
    assert!(app.tick(NOW + 80_000, today).is_empty());
    assert_eq!(
        app.on_reply(Reply::Connected),
        report_request(query),
        "a reconnect reads it again"
    );

    // Past midnight a range that ended today moves on with it.
    app.on_reply(Reply::Report {
        path: sales_path(query),
        report: Ok(Report::Sales(sales_report())),
    });
    assert_eq!(
        app.tick(NOW + 90_000, day("2026-12-11")),
        report_request("from=2026-11-12&to=2026-12-11&by=day")
    );
}

use xconnector_actors::flows::reporting::fulfilment::{FulfilmentReport, FulfilmentRow};
use xconnector_actors::flows::reporting::health::{
    EndpointRow, HealthReport, HealthRow, PointsRow,
};

/// A fulfilment row: `orders` placed, `shipped` of them and `cancelled`, shipping hours
/// (p50, p90, max), the share within the SLA, `delivered` and delivery hours (p50, p90, max).
fn fulfilment_row(
    key: &str,
    (orders, shipped, cancelled): (i64, i64, i64),
    ship: Option<(i64, i64, i64)>,
    within_sla: &str,
    delivered: i64,
    deliver: Option<(i64, i64, i64)>,
) -> FulfilmentRow {
    FulfilmentRow {
        key: key.into(),
        orders,
        shipped,
        cancelled,
        waiting: orders - shipped - cancelled,
        ship_p50_h: ship.map(|s| s.0),
        ship_p90_h: ship.map(|s| s.1),
        ship_max_h: ship.map(|s| s.2),
        within_sla: within_sla.into(),
        delivered,
        deliver_p50_h: deliver.map(|d| d.0),
        deliver_p90_h: deliver.map(|d| d.1),
        deliver_max_h: deliver.map(|d| d.2),
    }
}

/// 2026-11-11 to 2026-12-10 by day, a 48 h service level: orders on seven days, two still
/// waiting since 2026-12-08.
fn fulfilment_report() -> FulfilmentReport {
    let rows = vec![
        fulfilment_row(
            "2026-11-14",
            (3, 3, 0),
            Some((20, 30, 31)),
            "100.0%",
            3,
            Some((70, 90, 96)),
        ),
        fulfilment_row(
            "2026-11-20",
            (5, 4, 1),
            Some((26, 60, 61)),
            "75.0%",
            4,
            Some((80, 110, 120)),
        ),
        fulfilment_row(
            "2026-11-27",
            (12, 12, 0),
            Some((30, 70, 96)),
            "66.7%",
            10,
            Some((72, 100, 130)),
        ),
        fulfilment_row(
            "2026-11-28",
            (9, 9, 0),
            Some((22, 47, 50)),
            "88.9%",
            8,
            Some((66, 90, 98)),
        ),
        fulfilment_row(
            "2026-12-01",
            (4, 4, 0),
            Some((12, 20, 22)),
            "100.0%",
            3,
            Some((50, 60, 61)),
        ),
        fulfilment_row(
            "2026-12-05",
            (7, 6, 0),
            Some((18, 40, 44)),
            "100.0%",
            2,
            Some((48, 52, 52)),
        ),
        fulfilment_row(
            "2026-12-08",
            (6, 4, 0),
            Some((10, 16, 18)),
            "100.0%",
            0,
            None,
        ),
        fulfilment_row("2026-12-10", (2, 0, 0), None, "", 0, None),
    ];
    FulfilmentReport {
        from: day("2026-11-11"),
        to: day("2026-12-10"),
        by: By::Day,
        sla_hours: 48,
        rows,
        total: fulfilment_row(
            "total",
            (48, 42, 1),
            Some((22, 60, 96)),
            "88.1%",
            30,
            Some((68, 100, 130)),
        ),
        oldest_waiting: Some(day("2026-12-05")),
    }
}

fn health_row(
    key: &str,
    received: i64,
    done: i64,
    exceptions: i64,
    closed: i64,
    resolved: i64,
    close: Option<(i64, i64, i64)>,
) -> HealthRow {
    HealthRow {
        key: key.into(),
        received,
        done,
        exceptions,
        closed,
        resolved,
        close_p50_h: close.map(|c| c.0),
        close_p90_h: close.map(|c| c.1),
        close_max_h: close.map(|c| c.2),
    }
}

/// 2026-11-11 to 2026-12-10 by flow: four flows.
fn health_report() -> HealthReport {
    HealthReport {
        from: day("2026-11-11"),
        to: day("2026-12-10"),
        by: By::Flow,
        rows: vec![
            health_row("fulfilments", 310, 305, 4, 4, 1, Some((2, 9, 11))),
            health_row("inventory", 5_120, 5_118, 2, 1, 1, Some((30, 30, 30))),
            health_row("orders", 1_204, 1_190, 17, 15, 6, Some((3, 26, 200))),
            health_row("returns", 42, 39, 3, 0, 0, None),
        ],
        total: health_row("total", 6_676, 6_652, 26, 20, 8, Some((3, 26, 200))),
        endpoints: vec![],
        shopify: vec![],
    }
}

#[test]
fn the_reports_view_shows_fulfilment_and_integration_health() {
    let range = "from=2026-11-11&to=2026-12-10";
    let (mut app, _) = on_reports("2026-12-10");
    let fulfilment = format!("/v1/reports/fulfilment?{range}&by=day");
    assert_eq!(app.on_key(key('v')), path_request(&fulfilment));
    let loading = render(&app, 100, 30);
    assert!(
        loading.contains("reading the fulfilment report"),
        "{loading}"
    );
    app.on_reply(Reply::Report {
        path: fulfilment.clone(),
        report: Ok(Report::Fulfilment(fulfilment_report())),
    });
    let screen = render(&app, 100, 30);
    for want in [
        " Fulfilment 2026-11-11 to 2026-12-10 (30 days) by day",
        "orders shipped per day · total 42 of 48 shipped · 88.1% within 48h",
        "5 waiting since 2026-12-05",
        "SHIP P50",
        "IN SLA",
    ] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
    insta::assert_snapshot!("reports_fulfilment_100x30", screen);
    let small = render(&app, 80, 24);
    assert!(small.contains("orders shipped per day"), "{small}");
    assert!(small.contains("88.1%"), "{small}");

    // By location: the GIDs without their prefix, the most orders first.
    app.on_key(key('b'));
    let by_location = format!("/v1/reports/fulfilment?{range}&by=location");
    assert_eq!(app.on_key(key('b')), path_request(&by_location));
    app.on_reply(Reply::Report {
        path: by_location,
        report: Ok(Report::Fulfilment(FulfilmentReport {
            by: By::Location,
            rows: vec![
                fulfilment_row(
                    "gid://shopify/Location/7",
                    (12, 12, 0),
                    Some((20, 30, 40)),
                    "100.0%",
                    9,
                    Some((70, 80, 90)),
                ),
                fulfilment_row(
                    "gid://shopify/Location/3",
                    (34, 30, 1),
                    Some((24, 66, 96)),
                    "83.3%",
                    21,
                    Some((66, 100, 130)),
                ),
                fulfilment_row("none", (2, 0, 0), None, "", 0, None),
            ],
            ..fulfilment_report()
        })),
    });
    let locations = render(&app, 100, 30);
    let (three, seven) = (
        locations.find("Location/3").unwrap(),
        locations.find("Location/7").unwrap(),
    );
    assert!(
        three < seven && !locations.contains("gid://"),
        "{locations}"
    );

    // v: integration health, by day (it has no locations), then by flow.
    app.on_key(key('v'));
    app.on_key(key('b'));
    app.on_key(key('b'));
    let health = format!("/v1/reports/health?{range}&by=flow");
    assert_eq!(app.reports.path(), health);
    app.on_reply(Reply::Report {
        path: health,
        report: Ok(Report::Health(health_report())),
    });
    let screen = render(&app, 100, 30);
    for want in [
        " Health 2026-11-11 to 2026-12-10 (30 days) by flow",
        "items done per flow · total 6652 done of 6676 received",
        "OPEN P90",
        "inventory",
    ] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
    insta::assert_snapshot!("reports_health_100x30", screen);
    let small = render(&app, 80, 24);
    assert!(
        small.contains("EXCEPTIONS") && small.contains("OPEN MAX"),
        "{small}"
    );
    // The least available endpoint and the Shopify points spent, when telemetry counted them.
    let endpoint = |name: &str, permille: i64| EndpointRow {
        endpoint: name.into(),
        delivered: permille,
        failed: 1000 - permille,
        rejected: 0,
        availability_permille: Some(permille),
    };
    app.on_reply(Reply::Report {
        path: app.reports.path(),
        report: Ok(Report::Health(HealthReport {
            endpoints: vec![endpoint("bi", 1000), endpoint("erp", 975)],
            shopify: vec![PointsRow {
                lane: "orders".into(),
                points: 340,
            }],
            ..health_report()
        })),
    });
    let wide = render(&app, 180, 30);
    assert!(
        wide.contains("· erp 97.5% up · 340 Shopify points"),
        "{wide}"
    );

    // Nothing received in the range (by kind first, then by day).
    app.on_key(key('b'));
    app.on_key(key('b'));
    let by_day = format!("/v1/reports/health?{range}&by=day");
    app.on_reply(Reply::Report {
        path: by_day,
        report: Ok(Report::Health(HealthReport {
            by: By::Day,
            rows: Vec::new(),
            ..health_report()
        })),
    });
    let empty = render(&app, 100, 30);
    assert!(
        empty.contains("nothing received from 2026-11-11 to 2026-12-10"),
        "{empty}"
    );
    assert!(
        app.on_key(key('c')).is_empty()
            && app
                .message
                .as_ref()
                .is_some_and(|(m, _)| m.contains("only the sales report")),
        "{:?}",
        app.message
    );
}

use xconnector_actors::flows::reporting::customers::{CustomersReport, CustomersRow, TopCustomer};
use xconnector_actors::flows::reporting::inventory::{InventoryReport, InventoryRow};

/// An inventory row: `sold`, the average and last levels, turnover and days of cover (as
/// the daemon rounds them), stock-out days, oversold days and stale feeds.
fn inventory_row(
    key: &str,
    sold: i64,
    levels: Option<(f64, i64)>,
    (turnover, days_of_cover): (Option<f64>, Option<f64>),
    (stockout_days, oversold_days, stale): (i64, i64, i64),
) -> InventoryRow {
    InventoryRow {
        key: key.into(),
        sold,
        avg_on_hand: levels.map(|l| l.0),
        on_hand: levels.map(|l| l.1),
        turnover,
        days_of_cover,
        stockout_days,
        oversold_days,
        stale,
    }
}

/// 2026-11-11 to 2026-12-10 by SKU, in the daemon's order (by key): six SKUs, one sold
/// without any stock level, one not sold at all, two whose feed went stale.
fn inventory_report() -> InventoryReport {
    InventoryReport {
        from: day("2026-11-11"),
        to: day("2026-12-10"),
        by: By::Sku,
        rows: vec![
            inventory_row("CAP-RED", 5, None, (None, None), (0, 0, 0)),
            inventory_row(
                "HOODIE-GRY-XL",
                18,
                Some((45.2, 40)),
                (Some(0.4), Some(66.67)),
                (0, 0, 1),
            ),
            inventory_row(
                "MUG-LOGO",
                0,
                Some((200.0, 200)),
                (Some(0.0), None),
                (0, 0, 1),
            ),
            inventory_row(
                "SOCKS-3PK",
                240,
                Some((60.0, 30)),
                (Some(4.0), Some(3.75)),
                (0, 0, 0),
            ),
            inventory_row(
                "TEE-BLK-M",
                120,
                Some((40.0, 22)),
                (Some(3.0), Some(5.5)),
                (0, 0, 0),
            ),
            inventory_row(
                "TEE-WHT-L",
                64,
                Some((32.5, 0)),
                (Some(1.97), Some(0.0)),
                (3, 1, 0),
            ),
        ],
        total: inventory_row(
            "total",
            447,
            Some((377.7, 292)),
            (Some(1.18), Some(19.6)),
            (3, 1, 2),
        ),
        margins: vec![],
        margin_totals: vec![],
    }
}

/// A customers row: customers (new, returning), orders (of customers, of guests), revenue,
/// revenue per customer and the repeat rate.
fn customers_row(
    key: &str,
    currency: &str,
    (new, returning): (i64, i64),
    (orders, guest_orders): (i64, i64),
    (revenue, per_customer): (&str, &str),
    repeat_rate: Option<f64>,
) -> CustomersRow {
    let customers = new + returning;
    CustomersRow {
        key: key.into(),
        currency: currency.into(),
        customers,
        new_customers: new,
        returning_customers: returning,
        orders,
        guest_orders,
        revenue: revenue.into(),
        orders_per_customer: (customers > 0)
            .then(|| (orders as f64 / customers as f64 * 10_000.0).round() / 10_000.0),
        revenue_per_customer: per_customer.into(),
        repeat_rate,
    }
}

fn top_customer(id: u64, currency: &str, orders: i64, revenue: &str, first: &str) -> TopCustomer {
    TopCustomer {
        customer: format!("gid://shopify/Customer/{id}"),
        currency: currency.into(),
        orders,
        revenue: revenue.into(),
        first_order: Some(day(first)),
    }
}

/// 2026-11-11 to 2026-12-10 by day: EUR customers on seven days, USD on two.
fn customers_report() -> CustomersReport {
    let eur = |key, customers, orders, money, repeat| {
        customers_row(key, "EUR", customers, orders, money, repeat)
    };
    let usd = |key, customers, orders, money, repeat| {
        customers_row(key, "USD", customers, orders, money, repeat)
    };
    let mut rows = vec![
        eur("2026-11-14", (2, 1), (3, 0), ("184.50", "61.50"), Some(0.0)),
        eur(
            "2026-11-20",
            (3, 1),
            (5, 1),
            ("350.20", "80.05"),
            Some(0.25),
        ),
        eur(
            "2026-11-27",
            (5, 6),
            (12, 2),
            ("1014.70", "84.56"),
            Some(0.0909),
        ),
        eur(
            "2026-11-28",
            (4, 4),
            (9, 0),
            ("710.20", "88.78"),
            Some(0.125),
        ),
        eur("2026-12-01", (1, 3), (4, 0), ("256.00", "64.00"), Some(0.0)),
        eur(
            "2026-12-05",
            (2, 4),
            (7, 1),
            ("514.30", "77.57"),
            Some(0.1667),
        ),
        eur("2026-12-08", (0, 5), (6, 0), ("399.90", "66.65"), Some(0.2)),
        usd(
            "2026-11-27",
            (2, 0),
            (2, 0),
            ("210.00", "105.00"),
            Some(0.0),
        ),
        usd(
            "2026-12-09",
            (1, 1),
            (3, 0),
            ("274.50", "137.25"),
            Some(0.5),
        ),
    ];
    rows.sort_by(|a, b| (&a.key, &a.currency).cmp(&(&b.key, &b.currency)));
    CustomersReport {
        from: day("2026-11-11"),
        to: day("2026-12-10"),
        by: By::Day,
        rows,
        totals: vec![
            eur(
                "total",
                (14, 12),
                (46, 4),
                ("3429.80", "122.50"),
                Some(0.3462),
            ),
            usd("total", (3, 0), (5, 0), ("484.50", "161.50"), Some(0.6667)),
        ],
        top: vec![
            top_customer(7012345678901, "EUR", 6, "512.40", "2025-03-02"),
            top_customer(7012345678902, "USD", 3, "274.50", "2026-11-27"),
            top_customer(7012345678903, "EUR", 3, "301.10", "2026-11-20"),
            top_customer(7012345678904, "EUR", 2, "244.00", "2024-12-24"),
            top_customer(7012345678905, "EUR", 4, "198.75", "2026-12-05"),
        ],
    }
}

#[test]
fn the_reports_view_shows_inventory_turnover_and_customers() {
    let range = "from=2026-11-11&to=2026-12-10";
    let (mut app, _) = on_reports("2026-12-10");
    app.on_key(key('v'));
    app.on_key(key('v'));
    let inventory = format!("/v1/reports/inventory?{range}&by=sku");
    assert_eq!(app.on_key(key('v')), path_request(&inventory), "by SKU");
    let loading = render(&app, 100, 30);
    assert!(
        loading.contains("reading the inventory report"),
        "{loading}"
    );
    app.on_reply(Reply::Report {
        path: inventory.clone(),
        report: Ok(Report::Inventory(inventory_report())),
    });
    let screen = render(&app, 100, 30);
    for want in [
        " Inventory 2026-11-11 to 2026-12-10 (30 days) by sku",
        "top SKUs by turnover = units sold ÷ average units on hand",
        "2 of 6 SKUs stale",
        "AVG ON HAND",
        "COVER DAYS",
    ] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
    // The fastest first, in the chart and the table; no turnover (no stock known) last.
    let at = |s: &str, what: &str| s.rfind(what).unwrap_or_else(|| panic!("{what}: {s}"));
    assert!(
        at(&screen, "SOCKS-3PK") < at(&screen, "TEE-BLK-M")
            && at(&screen, "TEE-BLK-M") < at(&screen, "TEE-WHT-L")
            && at(&screen, "MUG-LOGO") < at(&screen, "CAP-RED"),
        "{screen}"
    );
    insta::assert_snapshot!("reports_inventory_100x30", screen);
    insta::assert_snapshot!("reports_inventory_80x24", render(&app, 80, 24));

    // By location: the GIDs without their prefix; the range keys still move it.
    let by_location = format!("/v1/reports/inventory?{range}&by=location");
    assert_eq!(app.on_key(key('b')), path_request(&by_location));
    app.on_reply(Reply::Report {
        path: by_location,
        report: Ok(Report::Inventory(InventoryReport {
            by: By::Location,
            rows: vec![
                inventory_row(
                    "gid://shopify/Location/3",
                    300,
                    Some((250.0, 210)),
                    (Some(1.2), Some(21.0)),
                    (3, 1, 2),
                ),
                inventory_row(
                    "gid://shopify/Location/7",
                    142,
                    Some((127.7, 82)),
                    (Some(1.11), Some(17.32)),
                    (0, 0, 0),
                ),
                inventory_row("none", 5, None, (None, None), (0, 0, 0)),
            ],
            ..inventory_report()
        })),
    });
    let locations = render(&app, 100, 30);
    for want in [
        "top locations by turnover",
        "2 SKU/location feeds stale",
        "Location/3",
        "LOCATION",
    ] {
        assert!(locations.contains(want), "{want}: {locations}");
    }
    assert!(!locations.contains("gid://"), "{locations}");
    assert_eq!(
        app.on_key(key('h')),
        path_request("/v1/reports/inventory?from=2026-10-12&to=2026-11-10&by=location")
    );
    app.on_reply(Reply::Report {
        path: "/v1/reports/inventory?from=2026-10-12&to=2026-11-10&by=location".into(),
        report: Ok(Report::Inventory(InventoryReport {
            from: day("2026-10-12"),
            to: day("2026-11-10"),
            by: By::Location,
            rows: Vec::new(),
            total: inventory_row("total", 0, None, (None, None), (0, 0, 0)),
            margins: vec![],
            margin_totals: vec![],
        })),
    });
    let empty = render(&app, 100, 30);
    assert!(
        empty.contains("no stock levels or sales counted from 2026-10-12 to 2026-11-10"),
        "{empty}"
    );
    app.on_key(key('t'));

    // v: the customers, by day (it has no locations), in the first currency.
    let customers = format!("/v1/reports/customers?{range}&by=day");
    assert_eq!(app.on_key(key('v')), path_request(&customers));
    app.on_reply(Reply::Report {
        path: customers.clone(),
        report: Ok(Report::Customers(customers_report())),
    });
    let screen = render(&app, 100, 30);
    for want in [
        " Customers 2026-11-11 to 2026-12-10 (30 days) by day",
        "customers per day: █ new ░ returning",
        "total 26, 14 new, 12 returning · repeat 34.6%",
        "also USD (c)",
        "TOP CUSTOMER",
        "Customer/7012345678901",
        "RETURNING",
        "total EUR",
    ] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
    assert!(
        !screen.contains("Customer/7012345678902"),
        "a USD customer: {screen}"
    );
    insta::assert_snapshot!("reports_customers_100x30", screen);
    let small = render(&app, 80, 24);
    assert!(small.contains("customers per day"), "{small}");
    insta::assert_snapshot!("reports_customers_80x24", small);

    // c: the same report in USD, its rows and its top customers.
    assert!(app.on_key(key('c')).is_empty(), "no read for a currency");
    let usd = render(&app, 100, 30);
    for want in [
        "Customer/7012345678902",
        "also EUR (c)",
        "2026-12-09",
        "USD, newest first",
    ] {
        assert!(usd.contains(want), "{want}: {usd}");
    }
    assert!(!usd.contains("2026-12-08 "), "{usd}");

    // No customers in the range.
    let by_week = format!("/v1/reports/customers?{range}&by=week");
    assert_eq!(app.on_key(key('b')), path_request(&by_week));
    app.on_reply(Reply::Report {
        path: by_week,
        report: Ok(Report::Customers(CustomersReport {
            by: By::Week,
            rows: Vec::new(),
            totals: Vec::new(),
            top: Vec::new(),
            ..customers_report()
        })),
    });
    let empty = render(&app, 100, 30);
    assert!(
        empty.contains("no orders from customers between 2026-11-11 and 2026-12-10"),
        "{empty}"
    );

    // The inventory has no currencies to switch (last: the message stays on screen).
    for _ in 0..4 {
        app.on_key(key('v'));
    }
    assert_eq!(app.reports.kind, Kind::Inventory);
    assert!(
        app.on_key(key('c')).is_empty()
            && app
                .message
                .as_ref()
                .is_some_and(|(m, _)| m.contains("only the sales report and the customers")),
        "{:?}",
        app.message
    );
}
