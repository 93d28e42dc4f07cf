//! The real binary's terminal UI in a real pseudo-terminal (tmux): attach to a headless daemon,
//! watch a counter move, retry an exception, detach; the daemon keeps running.

mod common;

use std::process::Command;

use common::*;

const CONFIG: &str = r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "token"
webhook_secrets = ["hook-secret"]
base_url = "http://127.0.0.1:9"

[flows.orders]
enabled = true
"#;

struct Tmux {
    server: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.server]);
        c
    }
    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "tui"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn keys(&self, keys: &str) {
        assert!(
            self.cmd()
                .args(["send-keys", "-t", "tui", keys])
                .status()
                .unwrap()
                .success()
        );
    }
    fn wait_for(&self, what: &str) -> String {
        eventually(what, || {
            let s = self.screen();
            s.contains(what).then_some(s)
        })
    }
    fn alive(&self) -> bool {
        self.cmd()
            .args(["has-session", "-t", "tui"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

fn webhook(addr: std::net::SocketAddr, id: &str, body: &[u8]) {
    assert_eq!(post_webhook(addr, id, body), 200);
}

#[test]
fn attach_watch_retry_detach() {
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!("tmux is needed for this test (.ci/run installs it)");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let socket = dir.path().join("data/xconnector.sock");
    let (_daemon, addr) = run_ready(&config);
    // Paused, so that the orders wait where the screen can show them.
    let paused = xconnector()
        .args(["flows", "pause", "orders", "--socket"])
        .arg(&socket)
        .status()
        .unwrap();
    assert!(paused.success());
    webhook(addr, "good-1", br##"{"id": 1, "name": "#1001"}"##);
    webhook(addr, "bad-1", b"{\"id\": ");

    let tmux = Tmux {
        server: format!("xc-test-{}", std::process::id()),
    };
    let ui = format!("NO_COLOR=1 {BIN} tui --socket {}", socket.display());
    let started = tmux
        .cmd()
        .args([
            "new-session",
            "-d",
            "-s",
            "tui",
            "-x",
            "120",
            "-y",
            "32",
            &ui,
        ])
        .status()
        .unwrap();
    assert!(started.success());
    tmux.wait_for("connected");
    tmux.wait_for("all flows: 1 waiting");

    // A new order arrives: the counter moves without a key press.
    webhook(addr, "good-2", br##"{"id": 2, "name": "#1002"}"##);
    tmux.wait_for("all flows: 2 waiting");

    tmux.keys("3");
    let screen = tmux.wait_for("Exceptions [state:exception] page 1: 1 shown");
    assert!(
        screen.contains("webhook from demo.myshopify.com"),
        "{screen}"
    );
    tmux.keys("r");
    tmux.wait_for("retry: 1 item(s)");
    tmux.keys("1");
    tmux.wait_for("all flows: 3 waiting");

    tmux.keys("q");
    eventually("the UI to detach", || (!tmux.alive()).then_some(()));
    assert_eq!(
        get(addr, "/healthz").0,
        200,
        "the daemon keeps running after the UI quits"
    );
}
