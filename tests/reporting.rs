//! Reporting against a real daemon: a fixture of orders and a refund, sent as Shopify's
//! webhooks, gives the sales report worked out by hand below, to the cent; sending everything
//! again, processing an order version again and restarting change nothing; the CLI prints the
//! report as a table, CSV and JSON.

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

const CONFIG: &str = r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "token"
webhook_secrets = ["hook-secret"]
base_url = "http://127.0.0.1:9"

[flows.orders]
enabled = true

[flows.reporting]
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

fn report(socket: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["report", "sales", "--format", "json"];
    args.extend(extra);
    let (code, out, err) = cli(socket, &args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// A REST order webhook body of a shop in New York (-05:00): `lines` as (quantity, price).
#[allow(clippy::too_many_arguments)]
fn order(
    id: u64,
    placed: &str,
    updated: &str,
    source: &str,
    currency: &str,
    lines: &[(u32, &str)],
    money: [&str; 4],
    refunds: Value,
    test: bool,
) -> Vec<u8> {
    let [items, discounts, shipping, tax] = money;
    let line_items: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(n, (quantity, price))| {
            json!({"id": id * 10 + n as u64, "sku": format!("SKU-{n}"), "title": "Thing",
                   "quantity": quantity, "price": price, "requires_shipping": true})
        })
        .collect();
    serde_json::to_vec(&json!({
        "id": id,
        "admin_graphql_api_id": format!("gid://shopify/Order/{id}"),
        "name": format!("#{}", 1000 + id),
        "created_at": placed,
        "processed_at": placed,
        "updated_at": updated,
        "source_name": source,
        "currency": currency,
        "total_line_items_price": items,
        "total_discounts": discounts,
        "total_tax": tax,
        "total_shipping_price_set": {"shop_money": {"amount": shipping, "currency_code": currency}},
        "line_items": line_items,
        "refunds": refunds,
        "test": test,
        "email": "buyer@example.com",
    }))
    .unwrap()
}

/// The fixture, as (topic, body):
/// - A, web, USD, 10:00 on Nov 2: 2 × 25.00 + 1 × 50.00 = 100.00, less 10.00 discount,
///   5.00 shipping, 7.20 tax; 3 units.
/// - B, pos, USD, 23:30 on Nov 2 in New York (04:30 on Nov 3 in UTC: the shop's day counts):
///   1 × 19.99, 1.60 tax.
/// - C, web, EUR, Nov 3: 4 × 12.50 = 50.00, less 5.00, 4.95 shipping, 9.00 tax.
/// - D, web, USD, Nov 3, a test order: counts nothing.
/// - E, web, USD, Nov 3: 3 × 10.00 = 30.00, less 3.00, 2.16 tax.
/// - A again, updated Nov 4 with a refund that day of one 25.00 unit: 22.50 (its share of the
///   discount stays with the shop), 1.62 tax back.
fn fixture() -> Vec<(&'static str, Vec<u8>)> {
    let a_placed = "2026-11-02T10:00:00-05:00";
    let a = |updated: &str, refunds: Value| {
        order(
            1,
            a_placed,
            updated,
            "web",
            "USD",
            &[(2, "25.00"), (1, "50.00")],
            ["100.00", "10.00", "5.00", "7.20"],
            refunds,
            false,
        )
    };
    let refund = json!([{
        "id": 77,
        "created_at": "2026-11-04T08:00:00-05:00",
        "refund_line_items": [{
            "quantity": 1,
            "line_item_id": 10,
            "subtotal_set": {"shop_money": {"amount": "22.50", "currency_code": "USD"}},
            "total_tax_set": {"shop_money": {"amount": "1.62", "currency_code": "USD"}},
        }],
    }]);
    let at = |s: &'static str| (s, s);
    let (b, c, d, e) = (
        at("2026-11-02T23:30:00-05:00"),
        at("2026-11-03T09:00:00-05:00"),
        at("2026-11-03T11:00:00-05:00"),
        at("2026-11-03T12:00:00-05:00"),
    );
    vec![
        ("orders/create", a(a_placed, json!([]))),
        (
            "orders/create",
            order(
                2,
                b.0,
                b.1,
                "pos",
                "USD",
                &[(1, "19.99")],
                ["19.99", "0.00", "0.00", "1.60"],
                json!([]),
                false,
            ),
        ),
        (
            "orders/create",
            order(
                3,
                c.0,
                c.1,
                "web",
                "EUR",
                &[(4, "12.50")],
                ["50.00", "5.00", "4.95", "9.00"],
                json!([]),
                false,
            ),
        ),
        (
            "orders/create",
            order(
                4,
                d.0,
                d.1,
                "web",
                "USD",
                &[(2, "100.00")],
                ["200.00", "0.00", "0.00", "0.00"],
                json!([]),
                true,
            ),
        ),
        (
            "orders/create",
            order(
                5,
                e.0,
                e.1,
                "web",
                "USD",
                &[(3, "10.00")],
                ["30.00", "3.00", "0.00", "2.16"],
                json!([]),
                false,
            ),
        ),
        ("orders/updated", a("2026-11-04T08:00:00-05:00", refund)),
    ]
}

/// A row as the API writes it: key, currency, orders, units, units returned, then gross,
/// discounts, returns, net, shipping, tax, total, average order value.
fn row(key: &str, currency: &str, counts: [i64; 3], money: [&str; 8]) -> Value {
    let [orders, units, units_returned] = counts;
    let [gross, discounts, returns, net, shipping, tax, total, aov] = money;
    json!({"key": key, "currency": currency, "orders": orders, "units": units,
           "units_returned": units_returned, "gross": gross, "discounts": discounts,
           "returns": returns, "net": net, "shipping": shipping, "tax": tax, "total": total,
           "average_order_value": aov})
}

/// Worked out by hand from the fixture.
fn expected_by_day() -> Value {
    json!({
        "from": "2026-11-01", "to": "2026-11-30", "by": "day",
        "rows": [
            // A and B: 100.00 + 19.99 gross, 10.00 off: net 109.99; tax 7.20 + 1.60;
            // total 109.99 + 5.00 + 8.80 = 123.79; AOV 109.99 / 2 = 54.995, to 55.00.
            row("2026-11-02", "USD", [2, 4, 0],
                ["119.99", "10.00", "0.00", "109.99", "5.00", "8.80", "123.79", "55.00"]),
            // C: 50.00 - 5.00 = 45.00; 45.00 + 4.95 + 9.00 = 58.95.
            row("2026-11-03", "EUR", [1, 4, 0],
                ["50.00", "5.00", "0.00", "45.00", "4.95", "9.00", "58.95", "45.00"]),
            // E (D is a test order): 30.00 - 3.00 = 27.00; 27.00 + 2.16 = 29.16.
            row("2026-11-03", "USD", [1, 3, 0],
                ["30.00", "3.00", "0.00", "27.00", "0.00", "2.16", "29.16", "27.00"]),
            // A's refund, on its own day: -22.50 net, -1.62 tax; no orders, so no AOV.
            row("2026-11-04", "USD", [0, 0, 1],
                ["0.00", "0.00", "22.50", "-22.50", "0.00", "-1.62", "-24.12", ""]),
        ],
        "totals": [
            row("total", "EUR", [1, 4, 0],
                ["50.00", "5.00", "0.00", "45.00", "4.95", "9.00", "58.95", "45.00"]),
            // 149.99 - 13.00 - 22.50 = 114.49; tax 8.80 + 2.16 - 1.62 = 9.34;
            // total 114.49 + 5.00 + 9.34 = 128.83; AOV (149.99 - 13.00) / 3 = 45.663, to 45.66.
            row("total", "USD", [3, 7, 1],
                ["149.99", "13.00", "22.50", "114.49", "5.00", "9.34", "128.83", "45.66"]),
        ],
    })
}

fn expected_by_channel() -> Value {
    let mut v = expected_by_day();
    v["by"] = json!("channel");
    v["rows"] = json!([
        // B alone: 19.99 + 1.60 = 21.59.
        row(
            "pos",
            "USD",
            [1, 1, 0],
            [
                "19.99", "0.00", "0.00", "19.99", "0.00", "1.60", "21.59", "19.99"
            ]
        ),
        row(
            "web",
            "EUR",
            [1, 4, 0],
            [
                "50.00", "5.00", "0.00", "45.00", "4.95", "9.00", "58.95", "45.00"
            ]
        ),
        // A, E and A's refund: 130.00 - 13.00 - 22.50 = 94.50; tax 7.20 + 2.16 - 1.62 = 7.74;
        // total 94.50 + 5.00 + 7.74 = 107.24; AOV 117.00 / 2 = 58.50.
        row(
            "web",
            "USD",
            [2, 6, 1],
            [
                "130.00", "13.00", "22.50", "94.50", "5.00", "7.74", "107.24", "58.50"
            ]
        ),
    ]);
    v
}

const NOVEMBER: [&str; 4] = ["--from", "2026-11-01", "--to", "2026-11-30"];

fn wait_done(socket: &Path, n: u64) {
    eventually("the orders processed", || {
        let s = status_json_at(socket);
        let orders = s["flows"]
            .as_array()?
            .iter()
            .find(|f| f["name"] == "orders")?
            .clone();
        let done = orders["counts"]["done"].as_u64().unwrap_or(0);
        let busy: u64 = ["pending", "retrying", "in_flight"]
            .iter()
            .map(|k| orders["counts"][k].as_u64().unwrap_or(0))
            .sum();
        (done >= n && busy == 0).then_some(())
    });
}

fn status_json_at(socket: &Path) -> Value {
    let (code, out, err) = cli(socket, &["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_sales_report_matches_the_hand_worked_figures_and_replays_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let socket = dir.path().join("data/xconnector.sock");
    let (mut daemon, addr) = run_ready(&config);

    let fixture = fixture();
    for (n, (topic, body)) in fixture.iter().enumerate() {
        assert_eq!(post_topic(addr, topic, &format!("w{n}"), body), 200);
    }
    // Six versions of five orders (the test order is an item like any other).
    wait_done(&socket, 6);
    let by_day = expected_by_day();
    assert_eq!(report(&socket, &NOVEMBER), by_day);
    assert_eq!(
        report(&socket, &[&NOVEMBER[..], &["--by", "channel"]].concat()),
        expected_by_channel()
    );

    // Shopify delivers again, under the same and under new webhook ids, the stale creation of A
    // after its update among them: nothing counts twice, nothing goes back.
    for (n, (topic, body)) in fixture.iter().enumerate() {
        assert_eq!(post_topic(addr, topic, &format!("w{n}"), body), 200);
        assert_eq!(post_topic(addr, topic, &format!("again{n}"), body), 200);
    }
    // An operator sends A's refunded version again: processed once more, counted once.
    let page = serde_json::from_str::<Value>(
        &cli(&socket, &["items", "list", "--flow", "orders", "--json"]).1,
    )
    .unwrap();
    let updated = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "orders/updated")
        .expect("A's update is an item")["id"]
        .to_string();
    let history = |id: &str| -> Option<(Value, usize)> {
        let (_, out, _) = cli(&socket, &["items", "show", id, "--json"]);
        let item: Value = serde_json::from_str(&out).ok()?;
        Some((
            item["item"]["state"].clone(),
            item["history"].as_array()?.len(),
        ))
    };
    let (_, before) = history(&updated).unwrap();
    let (code, _, err) = cli(&socket, &["items", "act", "retry", "--again", &updated]);
    assert_eq!(code, 0, "{err}");
    // The retry and the completion each add to the item's history.
    eventually("the retried version processed again", || {
        let (state, len) = history(&updated)?;
        (state == "done" && len >= before + 2).then_some(())
    });
    wait_done(&socket, 6);
    assert_eq!(report(&socket, &NOVEMBER), by_day);

    // The rollups are in the store: a restarted daemon reports the same.
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success());
    let (_daemon, _) = run_ready(&config);
    assert_eq!(report(&socket, &NOVEMBER), by_day);
    // A range that cuts through: the refund's day alone.
    let refund_day = report(&socket, &["--from", "2026-11-04", "--to", "2026-11-04"]);
    assert_eq!(refund_day["rows"], json!([by_day["rows"][3]]));
}

#[test]
fn the_report_cli_prints_a_table_csv_and_json_and_refuses_bad_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let socket = dir.path().join("data/xconnector.sock");
    let (_daemon, addr) = run_ready(&config);
    for (n, (topic, body)) in fixture().iter().enumerate() {
        assert_eq!(post_topic(addr, topic, &format!("w{n}"), body), 200);
    }
    wait_done(&socket, 6);

    let (code, csv, err) = cli(
        &socket,
        &[
            &["report", "sales", "--format", "csv", "--by", "week"][..],
            &NOVEMBER,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        csv,
        "week,currency,orders,units,units_returned,gross,discounts,returns,net,shipping,tax,total,average_order_value\n\
         2026-W45,EUR,1,4,0,50.00,5.00,0.00,45.00,4.95,9.00,58.95,45.00\n\
         2026-W45,USD,3,7,1,149.99,13.00,22.50,114.49,5.00,9.34,128.83,45.66\n\
         total,EUR,1,4,0,50.00,5.00,0.00,45.00,4.95,9.00,58.95,45.00\n\
         total,USD,3,7,1,149.99,13.00,22.50,114.49,5.00,9.34,128.83,45.66\n"
    );

    let (code, table, err) = cli(&socket, &[&["report", "sales"][..], &NOVEMBER].concat());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "sales from 2026-11-01 to 2026-11-30 by day");
    let cells = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        cells(lines[1]),
        [
            "DAY",
            "CURRENCY",
            "ORDERS",
            "UNITS",
            "RETURNED",
            "GROSS",
            "DISCOUNTS",
            "RETURNS",
            "NET",
            "SHIPPING",
            "TAX",
            "TOTAL",
            "AOV"
        ]
    );
    assert_eq!(
        cells(lines[2]),
        [
            "2026-11-02",
            "USD",
            "2",
            "4",
            "0",
            "119.99",
            "10.00",
            "0.00",
            "109.99",
            "5.00",
            "8.80",
            "123.79",
            "55.00"
        ]
    );
    assert_eq!(
        cells(lines.last().unwrap()),
        [
            "total", "USD", "3", "7", "1", "149.99", "13.00", "22.50", "114.49", "5.00", "9.34",
            "128.83", "45.66"
        ]
    );
    // Figures line up on the right: each ends where its header does.
    let end = |l: &str, cell: &str| l.find(cell).unwrap() + cell.len();
    assert_eq!(end(lines[1], "NET"), end(lines[2], "109.99"));

    let (code, out, _) = cli(
        &socket,
        &[
            "report",
            "sales",
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-31",
        ],
    );
    assert_eq!(
        (code, out.lines().nth(1)),
        (0, Some("no sales counted in this range"))
    );

    // Bad ranges: refused before or by the daemon, with what is wrong.
    let (code, _, err) = cli(&socket, &["report", "sales", "--from", "Nov 1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("\"Nov 1\" is not a day; write it as YYYY-MM-DD"),
        "{err}"
    );
    let (code, _, err) = cli(
        &socket,
        &[
            "report",
            "sales",
            "--from",
            "2026-11-30",
            "--to",
            "2026-11-01",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("from (2026-11-30) is after to (2026-11-01)"),
        "{err}"
    );
}

#[test]
fn without_the_reporting_section_the_report_says_how_to_turn_it_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &CONFIG.replace("[flows.reporting]\nenabled = true\n", ""),
    );
    let socket = dir.path().join("data/xconnector.sock");
    let (_daemon, _) = run_ready(&config);
    let (code, _, err) = cli(&socket, &["report", "sales"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("reporting is off: add a [flows.reporting] section"),
        "{err}"
    );
}
