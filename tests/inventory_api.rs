//! `POST /api/v1/inventory` against the real binary: bearer tokens, a 400 naming every bad
//! entry with nothing stored, a 202 once the feed is stored.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::{Daemon, run_ready, write_config};
use serde_json::Value;

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
api_tokens = ["feed-token"]

[shopify]
shop_domain = "demo.myshopify.com"
access_token = "t"
webhook_secrets = ["s"]
# Nothing listens here: the feeds are stored and wait; this test is about intake.
base_url = "http://127.0.0.1:9"

[flows.inventory]
max_levels = 5
"#;

fn post(addr: SocketAddr, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    headers.extend(token.map(|t| ("Authorization", format!("Bearer {t}"))));
    let (status, body) =
        common::request(addr, "POST", "/api/v1/inventory", &headers, body.as_bytes());
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The daemon with [`CONFIG`], ready, and its HTTP address.
fn start() -> (tempfile::TempDir, Daemon, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    // write_config's [server] would clash with ours: give it the whole text instead.
    let config = write_config(dir.path(), "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[server]\nlisten = \"127.0.0.1:0\"\n", "");
    std::fs::write(&config, format!("{text}\n{CONFIG}")).unwrap();
    let (daemon, addr) = run_ready(&config);
    (dir, daemon, addr)
}

fn stored(socket: &Path) -> usize {
    let args = ["items", "list", "--flow", "inventory", "--json", "--socket"];
    common::cli_json(&args, socket)["items"]
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn bad_feeds_are_refused_entry_by_entry_and_good_ones_stored() {
    let (dir, _daemon, addr) = start();
    let socket = dir.path().join("data/xconnector.sock");

    let good = r#"{"source":"wms-eu","mode":"delta","levels":[
        {"sku":"A-1","location":"Main","available":12,"as_of":"2026-11-27T10:00:00Z"},
        {"sku":"A-2","location":"Main","available":0}]}"#;
    assert_eq!(post(addr, None, good).0, 401);
    assert_eq!(post(addr, Some("wrong"), good).0, 401);

    let bad = r#"{"source":"wms-eu","mode":"delta","shop":"x","levels":[
        {"sku":"A-1","location":"Main","available":12},
        {"location":"Main","available":3},
        {"sku":"A-3","location":"Main","available":-1},
        {"sku":"A-4","location":"Main","available":2.5,"bin":"7"}]}"#;
    let (status, body) = post(addr, Some("feed-token"), bad);
    assert_eq!(status, 400, "{body}");
    let errors: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        errors,
        [
            "shop: unknown field; expected source, mode, levels",
            "levels[1].sku: missing",
            "levels[2].available: must not be negative, found -1",
            "levels[3].bin: unknown field; expected sku, location, available, as_of",
            "levels[3].available: must be a whole number, found 2.5",
        ]
    );
    assert_eq!(body["error_count"], 5);
    let (status, body) = post(
        addr,
        Some("feed-token"),
        "{\"source\": \"wms\", \"levels\": [",
    );
    assert_eq!(status, 400, "{body}");
    let too_many = format!(
        r#"{{"source":"w","levels":[{}]}}"#,
        [r#"{"sku":"A","location":"M","available":1}"#; 6].join(",")
    );
    let (status, body) = post(addr, Some("feed-token"), &too_many);
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0],
        "levels: more than 5 levels; split the feed"
    );
    assert_eq!(stored(&socket), 0, "a refused feed stores nothing");

    let (status, body) = post(addr, Some("feed-token"), good);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["levels"], 2);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(stored(&socket), 1);
}

fn post_keyed(addr: SocketAddr, key: &str, body: &str) -> (u16, Value) {
    let headers = [
        ("Content-Type", "application/json".to_string()),
        ("Authorization", "Bearer feed-token".to_string()),
        ("Idempotency-Key", key.to_string()),
    ];
    let (status, body) =
        common::request(addr, "POST", "/api/v1/inventory", &headers, body.as_bytes());
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn an_idempotency_key_answers_a_repeat_like_the_first_and_the_request_can_be_looked_up() {
    let (dir, _daemon, addr) = start();
    let socket = dir.path().join("data/xconnector.sock");

    // No as_of: the level is stamped on receipt, yet the repeat is still the same request.
    let feed = r#"{"source":"wms-eu","levels":[{"sku":"A-1","location":"Main","available":4}]}"#;
    let (status, first) = post_keyed(addr, "feed-2026-12-02-1", feed);
    assert_eq!(status, 202, "{first}");
    let request_id = first["request_id"].as_str().unwrap().to_string();
    assert_eq!(first["accepted"], 1);
    let (status, again) = post_keyed(addr, "feed-2026-12-02-1", feed);
    assert_eq!(
        (status, &again),
        (202, &first),
        "answered like the first time"
    );
    assert_eq!(stored(&socket), 1, "and nothing new stored");

    let other = r#"{"source":"wms-eu","levels":[{"sku":"A-1","location":"Main","available":5}]}"#;
    let (status, body) = post_keyed(addr, "feed-2026-12-02-1", other);
    assert_eq!(status, 409, "{body}");
    assert_eq!(stored(&socket), 1);
    // The same key from another source is another request.
    let elsewhere = feed.replace("wms-eu", "wms-us");
    assert_eq!(post_keyed(addr, "feed-2026-12-02-1", &elsewhere).0, 202);
    assert_eq!(stored(&socket), 2);
    assert_eq!(post_keyed(addr, "bad key with spaces", feed).0, 400);

    let lookup = |id: &str, token: &str| {
        let headers = [("Authorization", format!("Bearer {token}"))];
        let (status, body) = common::request(
            addr,
            "GET",
            &format!("/api/v1/requests/{id}"),
            &headers,
            b"",
        );
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
        )
    };
    assert_eq!(lookup(&request_id, "wrong").0, 401);
    assert_eq!(lookup("no-such-request", "feed-token").0, 404);
    let (status, report) = lookup(&request_id, "feed-token");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["source"], "wms-eu");
    assert_eq!(report["items"][0]["id"], first["items"][0]);
    // Shopify is unreachable here: the levels wait their turn.
    let state = report["items"][0]["state"].as_str().unwrap();
    assert!(
        ["pending", "in_flight", "retrying"].contains(&state),
        "{report}"
    );
}
