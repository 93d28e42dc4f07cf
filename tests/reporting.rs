//! Reporting against a real daemon: a fixture of orders, fulfilments and a refund, sent as
//! Shopify's webhooks, gives the sales and fulfilment reports worked out by hand below, to the
//! cent and the hour; sending everything again, processing an order version again and
//! restarting change nothing; the CLI prints the reports as a table, CSV and JSON.

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

fn report(socket: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["report", "sales", "--format", "json"];
    args.extend(extra);
    let (code, out, err) = cli(socket, &args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// An order of a shop in New York (-05:00): `lines` as (quantity, price), `money` as the
/// lines' total, discounts, shipping and tax.
struct Spec {
    id: u64,
    placed: &'static str,
    source: &'static str,
    currency: &'static str,
    lines: &'static [(u32, &'static str)],
    money: [&'static str; 4],
    test: bool,
    /// The customer's id; `None` for a guest checkout.
    customer: Option<u64>,
}

impl Spec {
    /// Its REST webhook body as of `updated`, with these refunds and fulfillments.
    fn version(&self, updated: &str, refunds: Value, fulfillments: Value) -> Vec<u8> {
        let [items, discounts, shipping, tax] = self.money;
        let line_items: Vec<Value> = self
            .lines
            .iter()
            .enumerate()
            .map(|(n, (quantity, price))| {
                json!({"id": self.id * 10 + n as u64, "sku": format!("SKU-{n}"), "title": "Thing",
                       "quantity": quantity, "price": price, "requires_shipping": true})
            })
            .collect();
        serde_json::to_vec(&json!({
            "id": self.id,
            "admin_graphql_api_id": format!("gid://shopify/Order/{}", self.id),
            "name": format!("#{}", 1000 + self.id),
            "created_at": self.placed,
            "processed_at": self.placed,
            "updated_at": updated,
            "source_name": self.source,
            "currency": self.currency,
            "total_line_items_price": items,
            "total_discounts": discounts,
            "total_tax": tax,
            "total_shipping_price_set": {"shop_money": {"amount": shipping, "currency_code": self.currency}},
            "line_items": line_items,
            "refunds": refunds,
            "fulfillments": fulfillments,
            "test": self.test,
            "email": "buyer@example.com",
            "customer": self.customer.map(|c| json!({
                "id": c, "admin_graphql_api_id": format!("gid://shopify/Customer/{c}")})),
        }))
        .unwrap()
    }

    fn placed(&self) -> Vec<u8> {
        self.version(self.placed, json!([]), json!([]))
    }
}

/// A fulfillment as Shopify's order payload carries it.
fn shipped(created: &str, location: u64, carrier: &str, delivered: Option<&str>) -> Value {
    json!({"id": location * 1000, "status": "success", "created_at": created,
           "updated_at": delivered.unwrap_or(created), "location_id": location,
           "tracking_company": carrier,
           "shipment_status": delivered.map(|_| "delivered")})
}

/// The fixture, as (topic, body), in the order Shopify sends it:
/// - A, web, USD, 10:00 on Nov 2: 2 × 25.00 + 1 × 50.00 = 100.00, less 10.00 discount,
///   5.00 shipping, 7.20 tax; 3 units. Shipped from location 1 by UPS at 08:00 on Nov 3
///   (22 h later); refunded on Nov 4 one 25.00 unit: 22.50 (its share of the discount stays
///   with the shop), 1.62 tax back; delivered at 10:00 on Nov 5 (72 h after the order).
/// - B, pos, USD, 23:30 on Nov 2 in New York (04:30 on Nov 3 in UTC: the shop's day counts):
///   1 × 19.99, 1.60 tax. Not shipped.
/// - C, web, EUR, 09:00 on Nov 3: 4 × 12.50 = 50.00, less 5.00, 4.95 shipping, 9.00 tax.
///   Shipped from location 2 by FedEx at 09:30 on Nov 6 (72 h 30 min: 72 whole hours).
/// - D, web, USD, Nov 3, a test order: counts nothing.
/// - E, web, USD, 12:00 on Nov 3: 3 × 10.00 = 30.00, less 3.00, 2.16 tax. Shipped from
///   location 1 by UPS at 14:00 (2 h), delivered at 12:00 on Nov 4 (24 h).
/// - Customers: A and E are customer 501's (their first orders ever), B a guest's, C customer
///   502's, who first ordered Z, 20.00 in EUR, on Oct 15.
fn fixture() -> Vec<(&'static str, Vec<u8>)> {
    let a = Spec {
        id: 1,
        placed: "2026-11-02T10:00:00-05:00",
        source: "web",
        currency: "USD",
        lines: &[(2, "25.00"), (1, "50.00")],
        money: ["100.00", "10.00", "5.00", "7.20"],
        test: false,
        customer: Some(501),
    };
    let b = Spec {
        id: 2,
        placed: "2026-11-02T23:30:00-05:00",
        source: "pos",
        lines: &[(1, "19.99")],
        money: ["19.99", "0.00", "0.00", "1.60"],
        customer: None,
        ..a
    };
    let c = Spec {
        id: 3,
        placed: "2026-11-03T09:00:00-05:00",
        currency: "EUR",
        lines: &[(4, "12.50")],
        money: ["50.00", "5.00", "4.95", "9.00"],
        customer: Some(502),
        ..a
    };
    // Customer 502's first order, in October: outside every November figure but the customers
    // report's returning customers.
    let z = Spec {
        id: 6,
        placed: "2026-10-15T09:00:00-05:00",
        currency: "EUR",
        lines: &[(1, "20.00")],
        money: ["20.00", "0.00", "0.00", "0.00"],
        customer: Some(502),
        ..a
    };
    let d = Spec {
        id: 4,
        placed: "2026-11-03T11:00:00-05:00",
        lines: &[(2, "100.00")],
        money: ["200.00", "0.00", "0.00", "0.00"],
        test: true,
        ..a
    };
    let e = Spec {
        id: 5,
        placed: "2026-11-03T12:00:00-05:00",
        lines: &[(3, "10.00")],
        money: ["30.00", "3.00", "0.00", "2.16"],
        ..a
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
    let a_shipped = "2026-11-03T08:00:00-05:00";
    let a_delivered = "2026-11-05T10:00:00-05:00";
    let e_shipped = "2026-11-03T14:00:00-05:00";
    let e_delivered = "2026-11-04T12:00:00-05:00";
    let c_shipped = "2026-11-06T09:30:00-05:00";
    vec![
        ("orders/create", z.placed()),
        ("orders/create", a.placed()),
        ("orders/create", b.placed()),
        ("orders/create", c.placed()),
        ("orders/create", d.placed()),
        ("orders/create", e.placed()),
        (
            "orders/updated",
            a.version(
                a_shipped,
                json!([]),
                json!([shipped(a_shipped, 1, "UPS", None)]),
            ),
        ),
        (
            "orders/updated",
            e.version(
                e_shipped,
                json!([]),
                json!([shipped(e_shipped, 1, "UPS", None)]),
            ),
        ),
        (
            "orders/updated",
            a.version(
                "2026-11-04T08:00:00-05:00",
                refund.clone(),
                json!([shipped(a_shipped, 1, "UPS", None)]),
            ),
        ),
        (
            "orders/updated",
            e.version(
                e_delivered,
                json!([]),
                json!([shipped(e_shipped, 1, "UPS", Some(e_delivered))]),
            ),
        ),
        (
            "orders/updated",
            c.version(
                c_shipped,
                json!([]),
                json!([shipped(c_shipped, 2, "FedEx", None)]),
            ),
        ),
        // Last, so that it is the newest orders/updated item (the test retries it).
        (
            "orders/updated",
            a.version(
                a_delivered,
                refund,
                json!([shipped(a_shipped, 1, "UPS", Some(a_delivered))]),
            ),
        ),
    ]
}

/// Versions in the fixture: every order's creation and each update.
const VERSIONS: u64 = 12;

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

/// A customers row: customers, new, returning, orders, guest orders; revenue, orders per
/// customer, revenue per customer, repeat rate.
fn people(
    key: &str,
    currency: &str,
    counts: [i64; 5],
    money: [&str; 2],
    per: f64,
    repeat: f64,
) -> Value {
    let [customers, new, returning, orders, guests] = counts;
    json!({"key": key, "currency": currency, "customers": customers, "new_customers": new,
           "returning_customers": returning, "orders": orders, "guest_orders": guests,
           "revenue": money[0], "orders_per_customer": per, "revenue_per_customer": money[1],
           "repeat_rate": repeat})
}

/// Worked out by hand from the fixture: revenue is what an order kept, on its own day (A:
/// 100.00 - 10.00 - 22.50 refunded = 67.50; B 19.99; C 45.00; E 27.00).
fn expected_customers_by_day() -> Value {
    json!({
        "from": "2026-11-01", "to": "2026-11-30", "by": "day",
        "rows": [
            // 501's first order ever (A) and a guest's (B): 67.50 + 19.99 = 87.49.
            people("2026-11-02", "USD", [1, 1, 0, 1, 1], ["87.49", "67.50"], 1.0, 0.0),
            // 502 had ordered in October: returning.
            people("2026-11-03", "EUR", [1, 0, 1, 1, 0], ["45.00", "45.00"], 1.0, 0.0),
            // 501 again: returning on the day, though new in the month.
            people("2026-11-03", "USD", [1, 0, 1, 1, 0], ["27.00", "27.00"], 1.0, 0.0),
        ],
        "totals": [
            people("total", "EUR", [1, 0, 1, 1, 0], ["45.00", "45.00"], 1.0, 0.0),
            // 501: new in November, two orders (A, E): 94.50 and a repeat rate of 1 in 1; with
            // B, revenue 67.50 + 27.00 + 19.99 = 114.49.
            people("total", "USD", [1, 1, 0, 2, 1], ["114.49", "94.50"], 2.0, 1.0),
        ],
        "top": [
            {"customer": "gid://shopify/Customer/501", "currency": "USD", "orders": 2,
             "revenue": "94.50", "first_order": "2026-11-02"},
            {"customer": "gid://shopify/Customer/502", "currency": "EUR", "orders": 1,
             "revenue": "45.00", "first_order": "2026-10-15"},
        ],
    })
}

/// A fulfilment row: orders, shipped, cancelled, waiting; ship p50, p90, max hours; the share
/// within the service level; delivered; delivery p50, p90, max hours.
fn shipping(
    key: &str,
    counts: [i64; 4],
    ship: [Option<i64>; 3],
    sla: &str,
    delivered: i64,
    deliver: [Option<i64>; 3],
) -> Value {
    let [orders, shipped, cancelled, waiting] = counts;
    json!({"key": key, "orders": orders, "shipped": shipped, "cancelled": cancelled,
           "waiting": waiting, "ship_p50_h": ship[0], "ship_p90_h": ship[1], "ship_max_h": ship[2],
           "within_sla": sla, "delivered": delivered, "deliver_p50_h": deliver[0],
           "deliver_p90_h": deliver[1], "deliver_max_h": deliver[2]})
}

/// Worked out by hand from the fixture (orders placed in November, shipped within 48 h).
fn expected_fulfilment_by_location() -> Value {
    const NO: [Option<i64>; 3] = [None, None, None];
    json!({
        "from": "2026-11-01", "to": "2026-11-30", "by": "location", "sla_hours": 48,
        "rows": [
            // A (22 h, delivered at 72 h) and E (2 h, delivered at 24 h). Of two, the p50 is
            // the first (rank ⌈0.5 × 2⌉ = 1) and the p90 the second (⌈1.8⌉ = 2).
            shipping("gid://shopify/Location/1", [2, 2, 0, 0], [Some(2), Some(22), Some(22)],
                     "100.0%", 2, [Some(24), Some(72), Some(72)]),
            // C: 72 h 30 min is 72 whole hours, beyond 48.
            shipping("gid://shopify/Location/2", [1, 1, 0, 0], [Some(72), Some(72), Some(72)],
                     "0.0%", 0, NO),
            // B waits.
            shipping("none", [1, 0, 0, 1], NO, "", 0, NO),
        ],
        // Shipped at 2, 22 and 72 h: p50 rank ⌈1.5⌉ = 2 → 22, p90 rank ⌈2.7⌉ = 3 → 72;
        // 2 of 3 within 48 h is 66.7%. Delivered at 24 and 72 h.
        "total": shipping("total", [4, 3, 0, 1], [Some(22), Some(72), Some(72)], "66.7%", 2,
                          [Some(24), Some(72), Some(72)]),
        "oldest_waiting": "2026-11-02",
    })
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
fn sales_and_fulfilment_reports_match_the_hand_worked_figures_and_replays_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let socket = dir.path().join("data/xconnector.sock");
    let (mut daemon, addr) = run_ready(&config);

    let fixture = fixture();
    for (n, (topic, body)) in fixture.iter().enumerate() {
        assert_eq!(post_topic(addr, topic, &format!("w{n}"), body), 200);
    }
    // The test order is an item like any other.
    wait_done(&socket, VERSIONS);
    let by_day = expected_by_day();
    assert_eq!(report(&socket, &NOVEMBER), by_day);
    assert_eq!(
        report(&socket, &[&NOVEMBER[..], &["--by", "channel"]].concat()),
        expected_by_channel()
    );
    let shipping_by_location = || {
        let mut args = vec![
            "report",
            "fulfilment",
            "--format",
            "json",
            "--by",
            "location",
        ];
        args.extend(NOVEMBER);
        let (code, out, err) = cli(&socket, &args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    assert_eq!(shipping_by_location(), expected_fulfilment_by_location());
    let customers = || {
        let mut args = vec!["report", "customers", "--format", "json"];
        args.extend(NOVEMBER);
        let (code, out, err) = cli(&socket, &args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    assert_eq!(customers(), expected_customers_by_day());

    // Shopify delivers again, under the same and under new webhook ids, the stale creation of A
    // after its update among them: nothing counts twice, nothing goes back.
    for (n, (topic, body)) in fixture.iter().enumerate() {
        assert_eq!(post_topic(addr, topic, &format!("w{n}"), body), 200);
        assert_eq!(post_topic(addr, topic, &format!("again{n}"), body), 200);
    }
    // An operator sends A's newest version again: processed once more, counted once.
    let page = serde_json::from_str::<Value>(
        &cli(&socket, &["items", "list", "--flow", "orders", "--json"]).1,
    )
    .unwrap();
    // The newest orders/updated item: A delivered, with its refund.
    let updated = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "orders/updated")
        .filter_map(|i| i["id"].as_u64())
        .max()
        .expect("A's updates are items")
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
    wait_done(&socket, VERSIONS);
    assert_eq!(report(&socket, &NOVEMBER), by_day);
    assert_eq!(shipping_by_location(), expected_fulfilment_by_location());
    assert_eq!(customers(), expected_customers_by_day());

    // The rollups are in the store: a restarted daemon reports the same.
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success());
    let (_daemon, _) = run_ready(&config);
    assert_eq!(report(&socket, &NOVEMBER), by_day);
    assert_eq!(shipping_by_location(), expected_fulfilment_by_location());
    assert_eq!(customers(), expected_customers_by_day());
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
    wait_done(&socket, VERSIONS);

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

    // Units sold per SKU, under the location that shipped them, in UTC days: A sold 2 of SKU-0
    // and 1 of SKU-1, E 3 of SKU-0 (location 1); C 4 of SKU-0 (location 2); B 1 of SKU-0, not
    // shipped. No stock levels were fed: no turnover.
    let inventory = |by: &str| {
        let args = [
            &["report", "inventory", "--format", "csv", "--by", by][..],
            &NOVEMBER,
        ]
        .concat();
        let (code, csv, err) = cli(&socket, &args);
        assert_eq!(code, 0, "{err}");
        csv
    };
    let head = "stockout_days,oversold_days,stale\n";
    assert_eq!(
        inventory("sku"),
        format!(
            "sku,sold,avg_on_hand,on_hand,turnover,days_of_cover,{head}\
             SKU-0,10,,,,,0,0,0\nSKU-1,1,,,,,0,0,0\ntotal,11,,,,,0,0,0\n"
        )
    );
    assert_eq!(
        inventory("location"),
        format!(
            "location,sold,avg_on_hand,on_hand,turnover,days_of_cover,{head}\
             gid://shopify/Location/1,6,,,,,0,0,0\ngid://shopify/Location/2,4,,,,,0,0,0\n\
             none,1,,,,,0,0,0\ntotal,11,,,,,0,0,0\n"
        )
    );
    // Customers: a table, with the top customers under it.
    let (code, table, err) = cli(&socket, &[&["report", "customers"][..], &NOVEMBER].concat());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "customers from 2026-11-01 to 2026-11-30 by day");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        [
            "DAY",
            "CURRENCY",
            "CUSTOMERS",
            "NEW",
            "RETURNING",
            "ORDERS",
            "GUESTS",
            "REVENUE",
            "ORD/CUST",
            "REV/CUST",
            "REPEAT"
        ],
        "{table}"
    );
    let top = lines
        .iter()
        .position(|l| *l == "top customers by revenue")
        .unwrap();
    assert_eq!(
        lines[top + 1],
        " 1. gid://shopify/Customer/501  94.50 USD  2 orders  first 2026-11-02"
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
        (0, Some("nothing counted in this range"))
    );

    // Fulfilment by day: Nov 2 has A (22 h) and B (waiting); Nov 3 has C (72 h) and E (2 h,
    // delivered at 24 h), one of two within 48 h.
    let (code, table, err) = cli(
        &socket,
        &[&["report", "fulfilment"][..], &NOVEMBER].concat(),
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "fulfilment of orders placed from 2026-11-01 to 2026-11-30 by day (hours from the order; service level 48 h)"
    );
    assert_eq!(
        cells(lines[1]),
        [
            "DAY",
            "ORDERS",
            "SHIPPED",
            "WAITING",
            "CANCELLED",
            "SHIP",
            "P50",
            "P90",
            "MAX",
            "IN",
            "SLA",
            "DELIVERED",
            "DELIV",
            "P50",
            "P90",
            "MAX"
        ]
    );
    assert_eq!(
        cells(lines[2]),
        [
            "2026-11-02",
            "2",
            "1",
            "1",
            "0",
            "22",
            "22",
            "22",
            "100.0%",
            "1",
            "72",
            "72",
            "72"
        ]
    );
    assert_eq!(
        cells(lines[3]),
        [
            "2026-11-03",
            "2",
            "2",
            "0",
            "0",
            "2",
            "72",
            "72",
            "50.0%",
            "1",
            "24",
            "24",
            "24"
        ]
    );
    assert_eq!(
        lines.last(),
        Some(&"oldest order waiting to ship: placed 2026-11-02")
    );
    // Health, per flow over the UTC days up to today: the store counted every version.
    let (code, table, err) = cli(&socket, &["report", "health", "--by", "flow"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        cells(lines[1]),
        [
            "FLOW",
            "RECEIVED",
            "DONE",
            "EXCEPTIONS",
            "CLOSED",
            "RESOLVED",
            "OPEN",
            "P50",
            "P90",
            "MAX"
        ]
    );
    assert_eq!(cells(lines[2]), ["orders", "12", "12", "0", "0", "0"]);
    // By kind of item: six creations and six updates.
    let (code, out, err) = cli(
        &socket,
        &["report", "health", "--by", "kind", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let kinds: Vec<(String, i64)> = serde_json::from_str::<Value>(&out).unwrap()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["done"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("orders orders/create".to_string(), 6),
            ("orders orders/updated".to_string(), 6)
        ]
    );

    // A grouping the report does not have.
    let (code, _, err) = cli(&socket, &["report", "sales", "--by", "carrier"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("by: \"carrier\" is not one of day, week, channel"),
        "{err}"
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

#[test]
fn metrics_show_todays_orders_and_sales_and_what_waits_to_ship() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let socket = dir.path().join("data/xconnector.sock");
    let (_daemon, addr) = run_ready(&config);
    // This test's Shopify does not answer, so the shop's day is UTC's: an order placed now
    // in UTC is today's.
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let placed: &'static str = Box::leak(now.into_boxed_str());
    let order = Spec {
        id: 9,
        placed,
        source: "web",
        currency: "USD",
        lines: &[(2, "15.00")],
        money: ["30.00", "5.00", "4.00", "2.06"],
        test: false,
        customer: None,
    };
    assert_eq!(
        post_topic(addr, "orders/create", "now", &order.placed()),
        200
    );
    wait_done(&socket, 1);
    let (status, text) = get(addr, "/metrics");
    assert_eq!(status, 200);
    // 30.00 less 5.00 of discounts.
    assert_eq!(
        metric(&text, r#"xconnector_report_orders_today{currency="USD"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"xconnector_report_net_sales_today{currency="USD"}"#
        ),
        Some(25.0)
    );
    assert_eq!(metric(&text, "xconnector_report_orders_waiting"), Some(1.0));
    // Nothing has shipped yet: no percentile to show.
    assert_eq!(metric(&text, "xconnector_report_ship_p90_hours"), None);
}

/// `POST /api/v1/costs` and the inventory report's gross margin, worked out by hand from the
/// fixture (UTC days): SKU-0 costs 10.00 in USD from Nov 1 and 12.00 from Nov 3.
/// - SKU-0 in USD: A sold 2 for 50.00 on Nov 2 (cost 2 × 10.00); B 1 for 19.99 and E 3 for
///   30.00 on Nov 3 (4 × 12.00): 6 units, 99.99, cost 68.00, margin 31.99 (31.9%).
/// - SKU-0 in EUR (C, 4 for 50.00) and SKU-1 (A, 1 for 50.00) have no cost: counted, not
///   costed. Z sold in October: outside the range.
#[test]
fn unit_costs_from_the_erp_give_the_gross_margin() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "listen = \"127.0.0.1:0\"\n",
        "listen = \"127.0.0.1:0\"\napi_tokens = [\"erp-token\"]\n",
        1,
    );
    std::fs::write(&config, text).unwrap();
    let socket = dir.path().join("data/xconnector.sock");
    let (_daemon, addr) = run_ready(&config);
    let post = |body: &str| {
        let headers = [
            ("Content-Type", "application/json".to_string()),
            ("Authorization", "Bearer erp-token".to_string()),
        ];
        let (status, body) =
            common::request(addr, "POST", "/api/v1/costs", &headers, body.as_bytes());
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
        )
    };
    // Every bad entry named, nothing stored.
    let (status, body) = post(
        r#"{"source": "erp", "costs": [
            {"sku": "SKU-0", "unit_cost": "-1", "currency": "USD"},
            {"sku": "SKU-0", "unit_cost": "10.00", "currency": "dollars", "from": "Nov 1"}]}"#,
    );
    assert_eq!(status, 400, "{body}");
    let errors = body["errors"].to_string();
    for field in ["costs[0].unit_cost", "costs[1].currency", "costs[1].from"] {
        assert!(errors.contains(field), "{field}: {errors}");
    }
    let costs = r#"{"source": "erp", "costs": [
        {"sku": "SKU-0", "unit_cost": "10.00", "currency": "USD", "from": "2026-11-01"},
        {"sku": "SKU-0", "unit_cost": 12, "currency": "usd", "from": "2026-11-03"}]}"#;
    let (status, body) = post(costs);
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (202, Some(2)),
        "{body}"
    );
    for (n, (topic, body)) in fixture().iter().enumerate() {
        assert_eq!(post_topic(addr, topic, &format!("w{n}"), body), 200);
    }
    wait_done(&socket, VERSIONS);
    let margins = || {
        eventually("the costs recorded", || {
            let args = [&["report", "inventory", "--format", "json"][..], &NOVEMBER].concat();
            let (code, out, err) = cli(&socket, &args);
            assert_eq!(code, 0, "{err}");
            let r: Value = serde_json::from_str(&out).unwrap();
            (r["margin_totals"][1]["costed_units"] == 6).then_some(r)
        })
    };
    let r = margins();
    let margin = |key: &str,
                  cur: &str,
                  units: i64,
                  revenue: &str,
                  costed: (i64, &str, &str),
                  permille: Option<i64>| {
        json!({"key": key, "currency": cur, "units": units, "revenue": revenue,
               "costed_units": costed.0, "cost_of_goods": costed.1, "gross_margin": costed.2,
               "margin_permille": permille})
    };
    assert_eq!(
        r["margins"],
        json!([
            margin("SKU-0", "EUR", 4, "50.00", (0, "0.00", "0.00"), None),
            margin("SKU-0", "USD", 6, "99.99", (6, "68.00", "31.99"), Some(319)),
            margin("SKU-1", "USD", 1, "50.00", (0, "0.00", "0.00"), None),
        ])
    );
    assert_eq!(
        r["margin_totals"],
        json!([
            margin("total", "EUR", 4, "50.00", (0, "0.00", "0.00"), None),
            margin(
                "total",
                "USD",
                7,
                "149.99",
                (6, "68.00", "31.99"),
                Some(319)
            ),
        ])
    );
    // The same costs again change nothing.
    assert_eq!(post(costs).0, 202);
    let (code, table, err) = cli(&socket, &[&["report", "inventory"][..], &NOVEMBER].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains("SKU-0 USD: sold 6 for 99.99; 6 costed at 68.00: margin 31.99 (31.9%)"),
        "{table}"
    );
    assert_eq!(margins(), r);
}
