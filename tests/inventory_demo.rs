//! The default demo's stock: with `[simulator]` and `[flows.inventory]` enabled, the simulated
//! warehouse sends feeds to the daemon's `/api/v1/inventory` and the inventory flow writes them
//! into the simulated shop.

mod common;

use common::*;

#[test]
fn the_simulated_warehouse_feeds_land_in_the_simulated_shop() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "sim-token"
webhook_secrets = ["sim-webhook-secret"]

[flows.inventory]
linger = "10ms"

[simulator]
enabled = true
listen = "127.0.0.1:0"
"#,
    );
    // The warehouse needs a bearer token: add one to write_config's [server].
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[server]\nlisten = \"127.0.0.1:0\"\n",
        "[server]\nlisten = \"127.0.0.1:0\"\napi_tokens = [\"demo-token\"]\n",
    );
    std::fs::write(&config, text).unwrap();
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"]).arg(&config);
    let daemon = Daemon::start(cmd);
    let addr = daemon.http_addr();
    daemon.wait_for_log("simulated warehouse sending stock feeds");
    let line = daemon.wait_for_log("inventory round done");
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    let fields = if v["fields"].is_object() {
        &v["fields"]
    } else {
        &v
    };
    assert!(
        fields["written"].as_u64().unwrap_or(0) >= 1,
        "{line}\n{}",
        daemon.all_logs()
    );
    assert_eq!(fields["held"].as_u64(), Some(0), "{line}");
    assert!(
        daemon.all_logs().contains("request accepted"),
        "{}",
        daemon.all_logs()
    );
    // The shop's inventory_levels/update webhooks about what the flow wrote come back, and the
    // echo log knows them for what they are.
    eventually("the echoes of our writes", || {
        let (_, text) = get(addr, "/metrics");
        let echoes = metric(
            &text,
            "xconnector_flow_events_total{flow=\"inventory\",event=\"echo\"}",
        )?;
        (echoes >= 1.0).then_some(())
    });
    daemon.signal("TERM");
}
