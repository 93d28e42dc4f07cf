//! Scheduled report delivery against a real daemon (`[flows.reporting] schedule`): each
//! period's reports arrive once at a file endpoint (JSON Lines or CSV) and at an HTTP endpoint,
//! and a restart sends nothing again; with Shopify, the shop's days count; a bad schedule is a
//! config error naming its key and line.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{Duration as Days, FixedOffset, Utc};
use common::*;
use serde_json::{Value, json};

/// What a test receiver got: (path, Idempotency-Key, body).
type Received = Arc<Mutex<Vec<(String, String, Value)>>>;

/// An HTTP receiver on port 0 that records every POST; for `/graphql` paths it answers as a
/// Shopify shop in New York (-05:00) would to the shop time query.
struct Receiver {
    addr: SocketAddr,
    got: Received,
    _rt: tokio::runtime::Runtime,
}

fn receiver() -> Receiver {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got: Received = Arc::default();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    async fn receive(
        State(got): State<Received>,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> (StatusCode, String) {
        let path = uri.path().to_string();
        if path.ends_with("graphql.json") {
            if !String::from_utf8_lossy(&body).contains("ShopTime") {
                return (StatusCode::NOT_FOUND, String::new());
            }
            let shop = json!({"data": {"shop": {"ianaTimezone": "America/New_York",
                "timezoneOffsetMinutes": -300}}});
            return (StatusCode::OK, shop.to_string());
        }
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        got.lock().unwrap().push((path, key, body));
        (StatusCode::OK, String::new())
    }
    let app = Router::new().fallback(receive).with_state(got.clone());
    rt.spawn(async move { axum::serve(listener, app).await });
    Receiver { addr, got, _rt: rt }
}

/// Every line of every file in `dir`, parsed (JSON Lines).
fn jsonl(dir: &Path) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.ends_with('}'))
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

/// (report, period, key, currency) → how many times it arrived.
fn counts<'a>(rows: impl Iterator<Item = &'a Value>) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for r in rows {
        let id = format!(
            "{}|{}|{}|{}",
            r["report"].as_str().unwrap_or("?"),
            r["period"].as_str().unwrap_or("?"),
            r["key"].as_str().unwrap_or("?"),
            r["currency"].as_str().unwrap_or("-"),
        );
        *n.entry(id).or_default() += 1;
    }
    n
}

/// The logs, once the schedule was told for `n` reports (the flows start before the daemon
/// says where it listens, so these lines come before any `wait_for_log` could see them).
fn told(daemon: &Daemon, n: usize) -> String {
    eventually("the report schedule told", || {
        let logs = daemon.all_logs();
        (logs.matches("\"report schedule\"").count() >= n).then_some(logs)
    })
}

fn stop(mut daemon: Daemon) {
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success(), "{}", daemon.all_logs());
}

/// Each report's row keys of one period, as the test config delivers them (every report's
/// total for an empty period).
const TOTALS: usize = 5;

#[test]
fn each_period_arrives_once_at_a_file_and_an_http_endpoint_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let bi = receiver();
    let files = dir.path().join("bi");
    let extra = format!(
        r#"
[endpoints.bi_files]
kind = "file"
dir = "{files}"

[endpoints.bi]
kind = "http"
url = "http://{addr}/bi"

[flows.reporting]
enabled = true
schedule = "daily 00:00"
deliver_to = ["bi_files", "bi"]
"#,
        files = files.display(),
        addr = bi.addr,
    );
    let config = write_config(dir.path(), &extra);

    let (daemon, _) = run_ready(&config);
    // Without [shopify] the shop's time is UTC; a fresh store sends the last period due:
    // yesterday, whatever the time of day (00:00).
    let lines = eventually("the reports at the file endpoint", || {
        let lines = jsonl(&files);
        (lines.len() >= TOTALS).then_some(lines)
    });
    eventually("the reports at the http endpoint", || {
        (bi.got.lock().unwrap().len() >= TOTALS).then_some(())
    });
    let yesterday = (Utc::now().date_naive() - Days::days(1)).to_string();
    let first = &lines[0];
    assert!(
        first["period"]
            .as_str()
            .is_some_and(|p| p.starts_with("day:")),
        "{first}"
    );
    let reports: Vec<&str> = lines.iter().filter_map(|l| l["report"].as_str()).collect();
    for r in ["sales", "fulfilment", "health", "inventory", "customers"] {
        assert!(reports.contains(&r), "{r} missing: {lines:?}");
    }
    // An empty day still tells its totals: zeros, not silence.
    let sales = lines.iter().find(|l| l["report"] == "sales").unwrap();
    assert_eq!(
        (sales["key"].as_str(), sales["orders"].as_i64()),
        (Some("total"), Some(0)),
        "{sales}"
    );
    assert!(sales["idempotency_key"].is_string(), "{sales}");
    assert_eq!(sales["by"], "channel");
    let logs = told(&daemon, 1);
    assert!(logs.contains("\"last\":\"day:"), "{logs}");
    // The health report tells each endpoint's availability, counted as deliveries happen.
    let socket = dir.path().join("data/xconnector.sock");
    let endpoints = eventually("the deliveries in the health report", || {
        let (code, out, _) = cli(&socket, &["report", "health", "--format", "json"]);
        let r: Value = serde_json::from_str(&out).ok()?;
        let rows = r["endpoints"].as_array()?.clone();
        let delivered = |name: &str| {
            rows.iter()
                .find(|e| e["endpoint"] == name)
                .and_then(|e| e["delivered"].as_u64())
                .unwrap_or(0)
        };
        (code == 0 && delivered("bi") >= TOTALS as u64 && delivered("bi_files") >= TOTALS as u64)
            .then_some(rows)
    });
    for e in &endpoints {
        assert_eq!(e["availability_permille"], 1000, "{e}");
        assert_eq!(
            (e["failed"].as_u64(), e["rejected"].as_u64()),
            (Some(0), Some(0)),
            "{e}"
        );
    }
    stop(daemon);

    // A restart: the first tick runs at once and finds every period sent. What it enqueued
    // it would say ("scheduled report due") before telling the schedule.
    let (daemon, _) = run_ready(&config);
    told(&daemon, TOTALS);
    let again = daemon.all_logs().contains("scheduled report due");
    stop(daemon);
    let still = (Utc::now().date_naive() - Days::days(1)).to_string();
    assert!(
        !again || still != yesterday,
        "a period sent again after the restart"
    );

    let lines = jsonl(&files);
    let at_file = counts(lines.iter());
    let http: Vec<Value> = bi
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, b)| b.clone())
        .collect();
    let at_http = counts(http.iter());
    assert!(at_file.values().all(|&n| n == 1), "{at_file:?}");
    assert!(at_http.values().all(|&n| n == 1), "{at_http:?}");
    // Once per period: only a day that ended while the test ran (midnight) adds a period.
    let periods: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|l| l["period"].as_str()).collect();
    assert_eq!(lines.len(), TOTALS * periods.len(), "{lines:?}");
    assert!(
        periods.contains(format!("day:{yesterday}").as_str()) || periods.len() > 1,
        "{periods:?}"
    );
    assert_eq!(at_file, at_http);
    // The HTTP receiver's idempotency keys are one per row.
    let keys: std::collections::BTreeSet<String> = bi
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, k, _)| k.clone())
        .collect();
    assert_eq!(keys.len(), http.len());
}

/// With Shopify the shop's days count: an order placed late yesterday in New York (already
/// today in UTC) is in yesterday's sales, delivered as a CSV row.
#[test]
fn the_shops_day_counts_and_csv_rows_are_flat() {
    let dir = tempfile::tempdir().unwrap();
    let shop = receiver();
    let files = dir.path().join("bi");
    let shopify = format!(
        r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "token"
webhook_secrets = ["hook-secret"]
base_url = "http://{addr}"

[flows.orders]
enabled = true

[endpoints.bi]
kind = "file"
dir = "{files}"
format = "csv"
columns = ["report", "period", "key", "currency", "orders", "gross", "net", "idempotency_key"]
"#,
        addr = shop.addr,
        files = files.display(),
    );
    let ny = FixedOffset::west_opt(5 * 3600).unwrap();
    let yesterday = Utc::now().with_timezone(&ny).date_naive() - Days::days(1);
    let placed = format!("{yesterday}T23:30:00-05:00");
    let order = json!({
        "id": 7, "admin_graphql_api_id": "gid://shopify/Order/7", "name": "#1007",
        "created_at": placed, "processed_at": placed, "updated_at": placed,
        "source_name": "web", "currency": "USD", "total_line_items_price": "40.00",
        "total_discounts": "0.00", "total_tax": "0.00",
        "line_items": [{"id": 70, "sku": "A", "title": "Thing", "quantity": 2,
                        "price": "20.00", "requires_shipping": true}],
        "refunds": [], "fulfillments": [], "test": false,
    });

    // First counted, with no schedule yet: turning one on later sends the last period due.
    let counting = write_config(
        dir.path(),
        &format!("{shopify}\n[flows.reporting]\nenabled = true\n"),
    );
    let (daemon, addr) = run_ready(&counting);
    let body = serde_json::to_vec(&order).unwrap();
    assert_eq!(post_webhook(addr, "hook-1", &body), 200);
    eventually("the order counted", || {
        let (code, out, _) = cli(
            &dir.path().join("data/xconnector.sock"),
            &[
                "report",
                "sales",
                "--from",
                &yesterday.to_string(),
                "--format",
                "json",
            ],
        );
        let report: Value = serde_json::from_str(&out).ok()?;
        (code == 0 && report["totals"][0]["orders"] == 1).then_some(())
    });
    stop(daemon);

    let scheduled = write_config(
        dir.path(),
        &format!(
            "{shopify}\n[flows.reporting]\nenabled = true\nschedule = \"daily 00:00\"\n\
             deliver_to = [\"bi\"]\nreports = [\"sales\"]\n"
        ),
    );
    let (daemon, _) = run_ready(&scheduled);
    let logs = told(&daemon, 1);
    assert!(logs.contains("\"offset_minutes\":-300"), "{logs}");
    let text = eventually("the sales rows in CSV", || {
        let entries = std::fs::read_dir(&files).ok()?;
        let text: String = entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect();
        (text.lines().count() >= 3).then_some(text)
    });
    stop(daemon);
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "report,period,key,currency,orders,gross,net,idempotency_key"
    );
    // Rows are delivered as items, several at once: keyed, not ordered.
    lines[1..].sort();
    assert!(
        lines[1].starts_with(&format!("sales,day:{yesterday},total,USD,1,40.00,40.00,")),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!("sales,day:{yesterday},web,USD,1,40.00,40.00,")),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
}

#[test]
fn a_bad_schedule_is_a_config_error_naming_its_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[endpoints.bi]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/bi\"\n\n\
         [flows.reporting]\nschedule = \"daily 6am\"\ndeliver_to = [\"bi\", \"warehouse\"]\n\
         reports = [\"sales\", \"stock\"]\n",
    );
    let out = xconnector()
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&config).unwrap();
    let line = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    for (key, what) in [
        ("schedule", "\"6am\" is not a time of day"),
        ("deliver_to", "unknown endpoint \"warehouse\""),
        ("reports", "\"stock\" is not a report"),
    ] {
        let expected = format!("config.toml:{}: flows.reporting.{key}", line(key));
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&expected) && l.contains(what)),
            "{expected} … {what}:\n{stderr}"
        );
    }
}
