//! The demo end to end: `xconnector run --headless` with `[simulator] enabled` starts the
//! simulated shop in-process (on a free port, `[shopify] base_url` following it), its traffic
//! places orders, and the signed webhooks it sends to the daemon's own `/webhooks/shopify`
//! pass the signature and shop checks.

mod common;

use std::collections::BTreeSet;

use common::*;

#[test]
fn simulated_shop_webhooks_reach_the_daemon_and_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "sim-token"
webhook_secrets = ["sim-webhook-secret"]

[flows.log]

[simulator]
enabled = true
listen = "127.0.0.1:0"
duplicate_share = 0.0
reorder_share = 0.0

[simulator.traffic]
orders_per_second = 20.0
bad_share = 0.2
stock_changes_per_second = 5.0
"#,
    );
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"]).arg(&config);
    let daemon = Daemon::start(cmd);
    // Logged before "http listening": the simulator starts before the engine.
    daemon.wait_for_log("shopify.base_url follows the in-process simulator");
    let addr = daemon.http_addr();
    let passed = eventually("signed webhooks from the simulated shop accepted", || {
        let (status, body) = get(addr, "/metrics");
        if status != 200 {
            return None;
        }
        let n = |outcome: &str| {
            metric(
                &body,
                &format!("xconnector_webhooks_total{{outcome=\"{outcome}\"}}"),
            )
            .unwrap_or(0.0)
        };
        assert_eq!(n("rejected_signature"), 0.0, "{body}");
        assert_eq!(n("rejected_shop"), 0.0, "{body}");
        let passed = n("accepted") + n("unrouted");
        (passed >= 5.0).then_some(passed)
    });
    assert!(passed >= 5.0);
    daemon.signal("TERM");
}

/// One webhook the receiver got.
#[derive(Clone, Debug)]
struct Hook {
    topic: String,
    webhook_id: String,
    body: serde_json::Value,
}

/// A webhook receiver: answers 200 to every POST and keeps what came.
struct Hooks {
    addr: std::net::SocketAddr,
    got: std::sync::Arc<std::sync::Mutex<Vec<Hook>>>,
}

impl Hooks {
    fn start() -> Hooks {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let sink = sink.clone();
                std::thread::spawn(move || serve(stream, &sink));
            }
        });
        Hooks { addr, got }
    }

    /// Everything received so far, forgetting it.
    fn take(&self) -> Vec<Hook> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }

    fn orders_created(&self) -> usize {
        let got = self.got.lock().unwrap();
        got.iter().filter(|h| h.topic == "orders/create").count()
    }
}

/// The requests of one connection, kept alive as the sender likes.
fn serve(stream: std::net::TcpStream, sink: &std::sync::Mutex<Vec<Hook>>) {
    use std::io::{BufRead, Read, Write};
    let mut out = stream.try_clone().unwrap();
    let mut reader = std::io::BufReader::new(stream);
    loop {
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            headers.push(line);
        }
        let header = |name: &str| {
            headers.iter().find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        sink.lock().unwrap().push(Hook {
            topic: header("x-shopify-topic").unwrap_or_default(),
            webhook_id: header("x-shopify-webhook-id").unwrap_or_default(),
            body: serde_json::from_slice(&body).unwrap_or_default(),
        });
        if out
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// The number and id (of its GID) of each order `hooks` announced created, in delivery order.
fn created(hooks: &[Hook]) -> Vec<(u64, u64)> {
    let orders: Vec<(u64, u64)> = hooks
        .iter()
        .filter(|h| h.topic == "orders/create")
        .map(|h| {
            let number = h.body["name"]
                .as_str()
                .and_then(|n| n.strip_prefix('#'))
                .and_then(|n| n.parse().ok());
            let id = h.body["admin_graphql_api_id"]
                .as_str()
                .and_then(|g| g.strip_prefix("gid://shopify/Order/"))
                .and_then(|n| n.parse().ok());
            match (number, id) {
                (Some(number), Some(id)) => (number, id),
                _ => panic!("an order without its #name or GID: {}", h.body),
            }
        })
        .collect();
    assert!(!orders.is_empty(), "no orders/create among {hooks:?}");
    orders
}

/// Three starts on one data directory, the second one ended by SIGKILL: each run's first new
/// order is numbered and identified past every order of the run before, and its webhooks carry
/// ids of their own, so a daemon that remembers the last run never takes them for old ones.
#[test]
fn a_restarted_demo_shop_numbers_on_past_the_last_run() {
    let hooks = Hooks::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "sim-token"
webhook_secrets = ["sim-webhook-secret"]

[flows.log]

[simulator]
enabled = true
listen = "127.0.0.1:0"
webhook_url = "http://{}/hooks"
duplicate_share = 0.0
reorder_share = 0.0

[simulator.traffic]
orders_per_second = 20.0
bad_share = 0.0
"#,
            hooks.addr
        ),
    );
    let run = |stop: &str| {
        let mut cmd = xconnector();
        cmd.args(["run", "--headless", "--config"]).arg(&config);
        let mut daemon = Daemon::start(cmd);
        daemon.wait_for_log("xconnector ready");
        eventually("a few orders placed by the traffic", || {
            (hooks.orders_created() >= 3).then_some(())
        });
        daemon.signal(stop);
        daemon.wait_exit();
        // Whatever it delivered before it stopped is in.
        hooks.take()
    };
    let mut before = run("TERM");
    for stop in ["KILL", "TERM"] {
        let now = run(stop);
        let last = created(&before);
        let (number, id) = created(&now)[0];
        let (last_number, last_id) = (
            last.iter().map(|o| o.0).max().unwrap_or(0),
            last.iter().map(|o| o.1).max().unwrap_or(0),
        );
        assert!(
            number > last_number && id > last_id,
            "the first new order (#{number}, id {id}) is not past the last run's (#{last_number}, id {last_id})"
        );
        let seen: BTreeSet<&str> = before.iter().map(|h| h.webhook_id.as_str()).collect();
        let again: Vec<&str> = now
            .iter()
            .map(|h| h.webhook_id.as_str())
            .filter(|id| seen.contains(id))
            .collect();
        assert!(
            again.is_empty(),
            "webhook ids of the last run sent again: {again:?}"
        );
        before = now;
    }
}
