//! The command line as scripts use it: exit statuses and messages.

mod common;

use common::*;

#[test]
fn the_shipped_config_passes_check_config() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let out = xconnector()
        .args(["check-config", "--config", shipped])
        .env_remove("XC_API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}

#[test]
fn check_config_lists_every_error_with_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = 8080\n\n[endpoints.erp]\nkind = \"http\"\nurl = \"http://127.0.0.1:9100/orders\"\n\n[shopify]\nshop_domain = \"demo.myshopify.com\"\naccess_token = \"${XC_TEST_UNSET_TOKEN}\"\n\n[flows.orders]\ntargets = [\"erpp\"]\n",
    )
    .unwrap();
    let out = xconnector()
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("XC_TEST_UNSET_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml:2: server.listen: expected a string"),
        "{stderr}"
    );
    assert!(stderr.contains("config.toml:10: shopify.access_token: environment variable XC_TEST_UNSET_TOKEN is not set"), "{stderr}");
    assert!(
        stderr.contains("config.toml:13: flows.orders.targets: unknown endpoint \"erpp\""),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let out = xconnector()
        .args(["check-config", "--config", "/nonexistent/xc.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/xc.toml"));
}

#[test]
fn the_example_configs_in_deploy_pass_check_config() {
    let deploy = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");
    let mut checked = 0;
    for entry in std::fs::read_dir(deploy).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out = xconnector()
                .args(["check-config", "--config"])
                .arg(&path)
                .env("XC_API_TOKEN", "t")
                .env("SHOPIFY_ACCESS_TOKEN", "t")
                .env("SHOPIFY_WEBHOOK_SECRET", "t")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 1);
}

#[test]
fn a_listen_flag_with_a_host_name_is_refused_with_what_is_accepted() {
    for command in ["run", "sim"] {
        let out = xconnector()
            .args([
                command,
                "--listen",
                "localhost:1",
                "--config",
                "/nonexistent/xc.toml",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        // The same words as for `server.listen` in the config file.
        assert!(
            stderr.contains(
                "invalid socket address \"localhost:1\": expected IP:PORT with a literal IP \
                 address, such as \"127.0.0.1:8080\""
            ),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn run_without_a_terminal_says_it_runs_headless_and_how_to_attach() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let mut cmd = xconnector();
    cmd.args(["run", "--config"]).arg(&config);
    // Its stdout is not a terminal here, as in `xconnector run | tee log`.
    let daemon = Daemon::start(cmd);
    let line = daemon.wait_for_log("running headless");
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    let socket = dir.path().join("data/xconnector.sock");
    let message = v["message"].as_str().unwrap_or("");
    assert!(
        message.contains("stdout is not a terminal")
            && message.contains(&format!("xconnector tui --socket {}", socket.display())),
        "{line}"
    );
}
