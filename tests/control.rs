//! The control socket against a real daemon: permissions, status, listing, detail, retry,
//! retry of finished work (only with --again), bulk cancel, pause, the audit trail with the
//! peer's user, malformed requests, and the CLI's exit statuses.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

use common::*;
use serde_json::Value;
use xconnector_actors::item::{Completion, ItemId, NewItem, OperatorAction, now_ms};
use xconnector_actors::store::ItemDb;

const CONFIG: &str = r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "token"
webhook_secrets = ["hook-secret"]
base_url = "http://127.0.0.1:9"

[flows.orders]
enabled = true

[flows.log]
enabled = true
"#;

fn json(socket: &Path, args: &[&str]) -> Value {
    let (code, out, err) = cli(socket, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// A raw request over the socket, to see exactly what a broken client gets.
fn raw(socket: &Path, request: &str) -> String {
    let mut s = UnixStream::connect(socket).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn operators_watch_and_steer_the_daemon_through_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let socket = dir.path().join("data/xconnector.sock");
    let (_daemon, addr) = run_ready(&config);

    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only the daemon's user may connect");
    // Paused, so that the items wait for the operator's hand below.
    let (code, _, err) = cli(&socket, &["flows", "pause", "orders"]);
    assert_eq!(code, 0, "{err}");

    for n in 0..3 {
        let body = format!(r##"{{"id": {n}, "name": "#{}"}}"##, 1001 + n);
        assert_eq!(post_webhook(addr, &format!("w{n}"), body.as_bytes()), 200);
    }
    assert_eq!(post_webhook(addr, "broken", b"{\"id\": "), 200);

    let status = eventually("counts in status", || {
        let s = json(&socket, &["status", "--json"]);
        let orders = s["flows"]
            .as_array()?
            .iter()
            .find(|f| f["name"] == "orders")?
            .clone();
        (orders["counts"]["pending"] == 3 && orders["counts"]["exception"] == 1).then_some(s)
    });
    assert_eq!(status["ready"], true);
    let (code, text, _) = cli(&socket, &["status"]);
    assert_eq!(code, 0);
    assert!(text.contains("orders") && text.contains("paused"), "{text}");

    let page = json(
        &socket,
        &[
            "items",
            "list",
            "--flow",
            "orders",
            "--state",
            "exception",
            "--json",
        ],
    );
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let id = items[0]["id"].as_u64().unwrap().to_string();
    let detail = json(&socket, &["items", "show", &id, "--json"]);
    assert_eq!(detail["payload"], "{\"id\": ");
    // For a person, the history's times are RFC 3339 (#14); --json keeps milliseconds.
    assert!(detail["history"][0]["at"].is_u64());
    let (code, shown, _) = cli(&socket, &["items", "show", &id]);
    assert_eq!(code, 0);
    let first = shown.lines().find(|l| l.contains(" -> ")).unwrap_or("");
    assert!(
        first.trim_start().len() > 24
            && chrono::DateTime::parse_from_rfc3339(&first.trim_start()[..24]).is_ok(),
        "{shown}"
    );
    assert!(
        detail["item"]["last_error"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    let retried = json(
        &socket,
        &[
            "items",
            "act",
            "retry",
            &id,
            "--note",
            "fixed upstream",
            "--json",
        ],
    );
    assert_eq!(retried["state"], "pending");
    let detail = json(&socket, &["items", "show", &id, "--json"]);
    let last = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["note"], "retry by root: fixed upstream",
        "the audit names the peer's OS user"
    );

    let (code, text, _) = cli(
        &socket,
        &[
            "items",
            "act",
            "cancel",
            "--flow",
            "orders",
            "--state",
            "pending",
            "--note",
            "test data",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        text,
        "cancel: 4 changed, 0 skipped, 0 failed of 4 matching items (job 1)\n"
    );

    let (code, text, _) = cli(&socket, &["flows", "pause", "log", "--note", "maintenance"]);
    assert_eq!((code, text.as_str()), (0, "log: paused\n"));
    let s = json(&socket, &["status", "--json"]);
    let log = s["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "log")
        .unwrap()
        .clone();
    assert_eq!(log["paused"], true);

    // Malformed requests get a 4xx with a message, not a dropped connection.
    let bad = raw(
        &socket,
        "POST /v1/items/1/retry HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{oops",
    );
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    assert!(bad.contains("\"error\""), "{bad}");
    let unknown = raw(
        &socket,
        "GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    let bad_state = raw(
        &socket,
        "GET /v1/items?state=lost HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        bad_state.starts_with("HTTP/1.1 400") && bad_state.contains("unknown state"),
        "{bad_state}"
    );
    // A flow that does not exist is said so, not answered with an empty list.
    let (code, _, err) = cli(&socket, &["items", "list", "--flow", "nosuch"]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("unknown flow \"nosuch\"; expected one of"),
        "{err}"
    );

    let (code, _, err) = cli(&socket, &["items", "act", "resolve", "999999"]);
    assert_eq!(code, 1);
    assert!(err.contains("item 999999 not found"), "{err}");

    // Recent warnings are there for the TUI's log pane.
    let logs = raw(
        &socket,
        "GET /v1/logs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        logs.contains("unreadable body kept as an exception"),
        "{logs}"
    );

    // The audit log holds every change, with who did it.
    let audit = raw(
        &socket,
        "GET /v1/audit HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        audit.contains("\"who\":\"root\"") && audit.contains("\"action\":\"pause\""),
        "{audit}"
    );
}

#[test]
fn the_cli_says_clearly_when_no_daemon_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = cli(&dir.path().join("none.sock"), &["status"]);
    assert_eq!(code, 3);
    assert!(err.contains("no daemon is listening on"), "{err}");
}

/// A store of flow `orders` (no flow runs on it, so states stay put) with two items done, an
/// exception, one cancelled and one resolved: their ids in that order.
fn store_of_finished_work(data: &Path) -> [ItemId; 5] {
    let mut db = ItemDb::open(data).unwrap();
    let now = now_ms();
    let order = |n: u32| NewItem::new("orders", "orders/create", format!("#{n}"), b"{}".to_vec());
    let done: Vec<ItemId> = db
        .enqueue(vec![order(1), order(2)], now)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    for c in db.claim("orders", 2, 60_000, now).unwrap() {
        db.complete(c.item.id, c.attempt(), Completion::Done, now)
            .unwrap();
    }
    let rest: Vec<ItemId> = db
        .enqueue(
            vec![order(3).held("address: missing"), order(4), order(5)],
            now,
        )
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    db.operate(rest[1], OperatorAction::Cancel, "setup", None, now)
        .unwrap();
    db.operate(rest[2], OperatorAction::Resolve, "setup", None, now)
        .unwrap();
    db.sync().unwrap();
    [done[0], done[1], rest[0], rest[1], rest[2]]
}

fn state_of(socket: &Path, id: ItemId) -> Value {
    json(socket, &["items", "show", &id.to_string(), "--json"])["item"]["state"].clone()
}

fn last_note(socket: &Path, id: ItemId) -> String {
    let detail = json(socket, &["items", "show", &id.to_string(), "--json"]);
    let history = detail["history"].as_array().unwrap();
    history.last().unwrap()["note"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn a_retry_does_finished_work_again_only_when_asked_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let socket = dir.path().join("data/xconnector.sock");
    let [done, other_done, held, cancelled, resolved] =
        store_of_finished_work(&dir.path().join("data"));
    let (_daemon, _) = run_ready(&config);

    // A plain retry refuses finished work, and says how to insist.
    for (id, state) in [
        (done, "done"),
        (cancelled, "cancelled"),
        (resolved, "resolved"),
    ] {
        let (code, out, err) = cli(&socket, &["items", "act", "retry", &id.to_string()]);
        assert_eq!(code, 1, "retry of a {state} item: {out}{err}");
        assert!(
            err.contains(&format!("item {id} is {state}: its work is over"))
                && err.contains(&format!("xconnector items act retry --again {id}")),
            "{err}"
        );
        assert_eq!(state_of(&socket, id), state);
    }
    let refused = raw(
        &socket,
        &format!(
            "POST /v1/items/{done}/retry HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
        ),
    );
    assert!(
        refused.starts_with("HTTP/1.1 409") && refused.contains(r#"{\"again\": true}"#),
        "{refused}"
    );
    let (code, _, err) = cli(
        &socket,
        &["items", "act", "resolve", "--again", &held.to_string()],
    );
    assert_eq!(code, 2, "{err}");

    // Asked again: done over, and recorded as a deliberate re-run.
    let again = json(
        &socket,
        &[
            "items",
            "act",
            "retry",
            "--again",
            &done.to_string(),
            "--note",
            "the ERP lost it",
            "--json",
        ],
    );
    assert_eq!(again["state"], "pending");
    let note = last_note(&socket, done);
    assert!(
        note.starts_with("retry-again by ") && note.ends_with(": the ERP lost it"),
        "{note}"
    );

    // A bulk retry asked for finished items only is refused outright …
    let (code, _, err) = cli(
        &socket,
        &[
            "items", "act", "retry", "--flow", "orders", "--state", "done",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("done items are finished")
            && err.contains("retry --again --flow orders --state done"),
        "{err}"
    );
    // … and over a whole flow it retries what is open and leaves what is finished.
    let (code, out, err) = cli(&socket, &["items", "act", "retry", "--flow", "orders"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("retry: 1 changed, 4 skipped, 0 failed of 5 matching items (job 1)\n")
            && out.contains("re-runs only with --again"),
        "{out}"
    );
    assert_eq!(state_of(&socket, held), "pending");
    for (id, state) in [
        (other_done, "done"),
        (cancelled, "cancelled"),
        (resolved, "resolved"),
    ] {
        assert_eq!(state_of(&socket, id), state, "item {id}");
    }
    let (code, out, err) = cli(
        &socket,
        &[
            "items", "act", "retry", "--again", "--flow", "orders", "--state", "done",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "retry-again: 1 changed, 0 skipped, 0 failed of 1 matching items (job 2)\n"
    );
    assert_eq!(state_of(&socket, other_done), "pending");
    assert!(
        last_note(&socket, other_done).starts_with("retry-again by "),
        "{}",
        last_note(&socket, other_done)
    );

    let audit: Value = serde_json::from_str(
        raw(
            &socket,
            "GET /v1/audit HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .split_once("\r\n\r\n")
        .unwrap()
        .1,
    )
    .unwrap();
    let actions: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or("").to_string(),
                a["target"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (action, target) in [
        ("retry-again", format!("item {done}")),
        ("retry-again", format!("item {other_done}")),
        ("retry", format!("item {held}")),
    ] {
        assert!(
            actions.contains(&(action.to_string(), target.clone())),
            "{action} {target}: {actions:?}"
        );
    }
    assert!(
        actions.iter().any(|(a, _)| a == "bulk retry-again"),
        "{actions:?}"
    );
}
