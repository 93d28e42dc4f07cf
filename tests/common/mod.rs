//! The harness shared by the black-box tests: run the real `xconnector` binary in a temp dir,
//! read its logs, talk HTTP to it, signal it.

#![allow(dead_code)]

pub mod rig;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_xconnector");

/// Generous: CI machines are shared and slow; tests wait on signals, never on this.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub fn xconnector() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "0")
        .env("NO_COLOR", "1");
    cmd
}

/// A config for a daemon of its own: port 0, everything under `dir`, JSON logs.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[store]
dir = "{data}"

[control]
socket = "{data}/xconnector.sock"

[log]
format = "json"
level = "info"

{extra}
"#,
        data = dir.join("data").display()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `xconnector run --headless --config CONFIG`, once it is ready, and its HTTP address.
pub fn run_ready(config: &Path) -> (Daemon, SocketAddr) {
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"]).arg(config);
    let daemon = Daemon::start(cmd);
    let addr = daemon.http_addr();
    daemon.wait_for_log("xconnector ready");
    (daemon, addr)
}

/// A running daemon whose stderr is collected line by line.
pub struct Daemon {
    pub child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    lines: Receiver<String>,
}

impl Daemon {
    pub fn start(mut cmd: Command) -> Daemon {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn xconnector");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = channel();
        let sink = logs.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        Daemon { child, logs, lines }
    }

    /// Waits for a log line containing `needle`, and returns it.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no log line with {needle:?}; logs:\n{}",
                    self.logs.lock().unwrap().join("\n")
                ),
            }
        }
    }

    /// The HTTP address the daemon announced.
    pub fn http_addr(&self) -> SocketAddr {
        let line = self.wait_for_log("http listening");
        let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        v["addr"]
            .as_str()
            .expect("addr field")
            .parse()
            .expect("a socket address")
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not exit; logs:\n{}",
                self.all_logs()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn all_logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `xconnector ARGS PATH` (a CLI command whose last flag, `--config` or `--socket`,
/// takes `path`) and returns its JSON output; fails the test if the command fails.
pub fn cli_json(args: &[&str], path: &Path) -> serde_json::Value {
    let out = xconnector().args(args).arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "xconnector {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `xconnector ARGS --socket SOCKET`: its exit status, stdout and stderr.
pub fn cli(socket: &Path, args: &[&str]) -> (i32, String, String) {
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

/// `xconnector status --json` against the daemon of `config`.
pub fn status_json(config: &Path) -> serde_json::Value {
    cli_json(&["status", "--json", "--config"], config)
}

/// One HTTP/1.1 request with exactly these headers (plus Host, Connection: close and
/// Content-Length); the status and the (de-chunked) body of the answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_string()
        },
    )
}

/// A plain HTTP/1.1 GET: status and body.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path, &[], b"")
}

/// Undoes chunked transfer encoding.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let (size, tail) = rest.split_once("\r\n").expect("a chunk size line");
        let n = usize::from_str_radix(size.trim(), 16).expect("a hex chunk size");
        if n == 0 {
            return out;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
}

/// The value of one Prometheus sample line, if present.
pub fn metric(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Polls until `f` returns Some.
pub fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Secret of the test configs' `[shopify] webhook_secrets`.
pub const HOOK_SECRET: &str = "hook-secret";

/// Posts a signed `orders/create` webhook for demo.myshopify.com; returns the status.
pub fn post_webhook(addr: SocketAddr, id: &str, body: &[u8]) -> u16 {
    post_topic(addr, "orders/create", id, body)
}

/// Posts a signed webhook of `topic` for demo.myshopify.com; returns the status.
pub fn post_topic(addr: SocketAddr, topic: &str, id: &str, body: &[u8]) -> u16 {
    let sig = xconnector_actors::signature::shopify_signature(HOOK_SECRET, body);
    let headers = [
        ("Content-Type", "application/json".to_string()),
        ("X-Shopify-Topic", topic.to_string()),
        ("X-Shopify-Shop-Domain", "demo.myshopify.com".to_string()),
        ("X-Shopify-Webhook-Id", id.to_string()),
        ("X-Shopify-Hmac-Sha256", sig),
    ];
    request(addr, "POST", "/webhooks/shopify", &headers, body).0
}
