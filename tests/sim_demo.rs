//! The demo end to end: `xconnector run --headless` with `[simulator] enabled` starts the
//! simulated shop in-process (on a free port, `[shopify] base_url` following it), its traffic
//! places orders, and the signed webhooks it sends to the daemon's own `/webhooks/shopify`
//! pass the signature and shop checks.

mod common;

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
