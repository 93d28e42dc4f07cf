//! The control socket against a real daemon: permissions, status, listing, detail, retry,
//! bulk cancel, pause, the audit trail with the peer's user, malformed requests, and the CLI's
//! exit statuses.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

use common::*;
use serde_json::Value;

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

fn cli(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let out = xconnector()
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

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
