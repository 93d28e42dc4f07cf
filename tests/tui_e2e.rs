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

impl Tmux {
    /// A TUI on `socket` in a 120×32 window.
    fn start(socket: &std::path::Path, name: &str) -> Tmux {
        let tmux = Tmux {
            server: format!("xc-test-{name}-{}", std::process::id()),
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
        tmux
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

    let tmux = Tmux::start(&socket, "retry");
    tmux.wait_for("live");
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

    // The reports view asks the daemon for its sales report; this one does not count sales
    // ([flows.reporting] is off) and the view says so.
    tmux.keys("4");
    let screen = tmux.wait_for("reporting is off");
    assert!(screen.contains("Sales "), "{screen}");

    tmux.keys("q");
    eventually("the UI to detach", || (!tmux.alive()).then_some(()));
    assert_eq!(
        get(addr, "/healthz").0,
        200,
        "the daemon keeps running after the UI quits"
    );
}

/// Another operator resolves items from the CLI while this one watches: the list and the open
/// detail follow without a key press (the TUI follows the daemon's event stream).
#[test]
fn a_resolve_elsewhere_shows_live_in_the_list_and_the_detail() {
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!("tmux is needed for this test (.ci/run installs it)");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let socket = dir.path().join("data/xconnector.sock");
    let (_daemon, addr) = run_ready(&config);
    webhook(addr, "bad-1", b"{\"id\": ");
    webhook(addr, "bad-2", b"{\"id\": 2");
    let ids: Vec<String> = {
        let page = cli_json(
            &[
                "items",
                "list",
                "--state",
                "exception",
                "--json",
                "--socket",
            ],
            &socket,
        );
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_u64().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids.len(), 2);
    let resolve = |id: &str| {
        let out = xconnector()
            .args([
                "items",
                "act",
                "resolve",
                id,
                "--note",
                "fixed by hand",
                "--socket",
            ])
            .arg(&socket)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    let tmux = Tmux::start(&socket, "live");
    tmux.wait_for("live");
    tmux.keys("3");
    tmux.wait_for("Exceptions [state:exception] page 1: 2 shown");

    // The list: one resolved elsewhere leaves it without a key press.
    resolve(&ids[0]);
    tmux.wait_for("Exceptions [state:exception] page 1: 1 shown");

    // The detail: open the other one, resolve it elsewhere, watch its state change.
    tmux.keys("Enter");
    let detail = tmux.wait_for("state exception");
    assert!(detail.contains(&format!("item {}", ids[1])), "{detail}");
    resolve(&ids[1]);
    let detail = tmux.wait_for("state resolved");
    assert!(
        detail.contains("exception → resolved  resolve by"),
        "{detail}"
    );
    assert!(!detail.contains("due "), "{detail}");

    // And the list it came from, on the way back.
    tmux.keys("Escape");
    tmux.wait_for("Exceptions [state:exception] page 1: 0 shown");
    tmux.keys("q");
    eventually("the UI to detach", || (!tmux.alive()).then_some(()));
}

/// Kills a daemon the test left running on purpose, even when the test fails.
struct Reap(Option<i32>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

/// `xconnector run` at a terminal owns its daemon: `q` asks; `d` detaches and leaves it
/// running headless (and says how to reach it), `y` stops it.
#[test]
fn the_demo_asks_before_stopping_and_can_leave_its_daemon_running() {
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!("tmux is needed for this test (.ci/run installs it)");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let socket = dir.path().join("data/xconnector.sock");
    let run = |name: &str| {
        let tmux = Tmux {
            server: format!("xc-test-{name}-{}", std::process::id()),
        };
        // The shell stays after xconnector exits, so that what it printed can be read.
        let cmd = format!(
            "NO_COLOR=1 {BIN} run --config {}; echo EXITED $?; sleep 600",
            config.display()
        );
        let started = tmux
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                "tui",
                "-x",
                "160",
                "-y",
                "32",
                &cmd,
            ])
            .status()
            .unwrap();
        assert!(started.success());
        tmux.wait_for("live");
        assert!(tmux.screen().contains("demo"));
        tmux.keys("q");
        tmux.wait_for("Stop the daemon and exit? y stop · d detach");
        tmux
    };
    let status_ok = || {
        xconnector()
            .args(["status", "--socket"])
            .arg(&socket)
            .output()
            .unwrap()
            .status
            .success()
    };

    let tmux = run("detach");
    tmux.keys("d");
    let screen = tmux.wait_for("EXITED 0");
    assert!(screen.contains("keeps running headless"), "{screen}");
    assert!(
        screen.contains("attach again: xconnector tui --socket"),
        "{screen}"
    );
    let pid: i32 = screen
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {screen}"));
    let _reap = Reap(Some(pid));
    drop(tmux);
    assert!(status_ok(), "the detached daemon still answers");
    assert!(
        Command::new("kill")
            .arg(pid.to_string())
            .status()
            .unwrap()
            .success()
    );
    eventually("the detached daemon to stop", || {
        (!status_ok()).then_some(())
    });

    let tmux = run("stop");
    tmux.keys("y");
    let screen = tmux.wait_for("EXITED 0");
    assert!(screen.contains("daemon stopped"), "{screen}");
    assert!(!status_ok(), "y stops the daemon");
}

#[test]
fn the_tui_without_a_terminal_says_what_to_use_instead() {
    let dir = tempfile::tempdir().unwrap();
    let out = xconnector()
        .args(["tui", "--socket"])
        .arg(dir.path().join("none.sock"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the TUI needs a terminal"), "{err}");
    assert!(
        err.contains("xconnector status") && err.contains("ssh -t"),
        "{err}"
    );
    assert!(!err.contains("os error 6"), "{err}");
}
