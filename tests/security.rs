//! Security against the real binary: unsigned and mis-signed webhooks and feeds without the
//! right bearer token are refused and counted; no credential ever reaches the logs (at debug,
//! through refusals, deliveries and failing Shopify calls) nor `check-config`'s output; the
//! control socket admits only the daemon's own user; a flood of unsigned bodies holds bounded
//! memory.

mod common;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;
use xconnector::sim::backoffice::BackOffice;
use xconnector_actors::signature::shopify_signature;

/// Distinctive credentials, each with a tail no log line has a reason to contain.
const ACCESS_TOKEN: &str = "shpat_SECRET_access_QvZkWmTr";
const WEBHOOK_SECRET: &str = "whsec_SECRET_webhook_JxPoLnVa";
const API_TOKEN: &str = "feedtok_SECRET_api_HbYcRuQe";
/// Only in the environment, referenced from the file as `${…}`.
const ENV_API_TOKEN: &str = "feedtok_SECRET_env_MzKaTwSo";
const SIGNING_SECRET: &str = "epsign_SECRET_endpoint_GdXeFiUy";
const ENDPOINT_TOKEN: &str = "erphdr_SECRET_header_NbCqViEk";
const SECRETS: [&str; 7] = [
    ACCESS_TOKEN,
    WEBHOOK_SECRET,
    HOOK_SECRET,
    API_TOKEN,
    ENV_API_TOKEN,
    SIGNING_SECRET,
    ENDPOINT_TOKEN,
];

/// Tokens presented by clients that are refused: not secrets of ours, but whoever sent them
/// may have mistyped a real one, so they must not be logged either.
const PRESENTED: [&str; 2] = [
    "presented_WRONG_token_LsEwQaZt",
    "presented_BARE_token_UoRiYpAm",
];

/// The daemon with every kind of credential configured, logging at debug (config and
/// `RUST_LOG`), with an order target in the simulated back office and Shopify unreachable.
struct Rig {
    daemon: Daemon,
    addr: SocketAddr,
    socket: PathBuf,
    office: BackOffice,
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn config_text(office: &BackOffice) -> String {
    format!(
        r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "{ACCESS_TOKEN}"
webhook_secrets = ["{WEBHOOK_SECRET}", "{HOOK_SECRET}"]
# Nothing listens here: every Shopify call fails.
base_url = "http://127.0.0.1:9"
# Makes the daemon call Shopify at start (to check its subscriptions).
webhook_address = "https://xconnector.example.com/webhooks/shopify"

[endpoints.erp]
kind = "http"
url = "{erp}"
headers = {{ Authorization = "Bearer {ENDPOINT_TOKEN}" }}
signing_secret = "{SIGNING_SECRET}"
timeout = "5s"

[flows.orders]
targets = ["erp"]

[flows.inventory]
max_levels = 10

[daemon]
# The inventory flow is stuck retrying Shopify: no need to wait long for it at SIGTERM.
shutdown_grace = "1s"
"#,
        erp = office.url("erp"),
    )
}

/// `write_config`'s file with `[server] api_tokens` and `[log] level = "debug"`.
fn write_secret_config(dir: &Path, extra: &str) -> PathBuf {
    let path = write_config(dir, extra);
    let text = std::fs::read_to_string(&path).unwrap();
    let server = "[server]\nlisten = \"127.0.0.1:0\"\n";
    let level = "level = \"info\"";
    assert!(
        text.contains(server) && text.contains(level),
        "write_config changed: {text}"
    );
    let text = text
        .replace(
            server,
            &format!("{server}api_tokens = [\"{API_TOKEN}\", \"${{XC_SECURITY_API_TOKEN}}\"]\n"),
        )
        .replace(level, "level = \"debug\"");
    std::fs::write(&path, text).unwrap();
    path
}

fn start() -> Rig {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let office = rt
        .block_on(BackOffice::start("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_secret_config(dir.path(), &config_text(&office));
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"])
        .arg(&config)
        .env("XC_SECURITY_API_TOKEN", ENV_API_TOKEN)
        // The binary lets RUST_LOG win over the file: debug for every crate, not only ours.
        .env("RUST_LOG", "debug");
    let daemon = Daemon::start(cmd);
    let addr = daemon.http_addr();
    daemon.wait_for_log("xconnector ready");
    Rig {
        daemon,
        addr,
        socket: dir.path().join("data/xconnector.sock"),
        office,
        _rt: rt,
        _dir: dir,
    }
}

/// Shopify's documented `orders/create` payload, as order `id` and not cancelled (the sample
/// is, and a cancelled order that was never released goes nowhere).
fn order(id: u64) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/shopify/webhooks-2026-07/orders/create.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["response"]["id"] = id.into();
    doc["response"]["name"] = format!("#{id}").into();
    doc["response"]["cancelled_at"] = Value::Null;
    doc["response"]["cancel_reason"] = Value::Null;
    serde_json::to_vec(&doc["response"]).unwrap()
}

fn webhook(addr: SocketAddr, id: &str, body: &[u8], hmac: Option<String>) -> u16 {
    let mut headers = vec![
        ("Content-Type", "application/json".to_string()),
        ("X-Shopify-Topic", "orders/create".to_string()),
        ("X-Shopify-Shop-Domain", "demo.myshopify.com".to_string()),
        ("X-Shopify-Webhook-Id", id.to_string()),
    ];
    if let Some(hmac) = hmac {
        headers.push(("X-Shopify-Hmac-Sha256", hmac));
    }
    request(addr, "POST", "/webhooks/shopify", &headers, body).0
}

fn feed(addr: SocketAddr, authorization: Option<String>, body: &str) -> (u16, String) {
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    if let Some(auth) = authorization {
        headers.push(("Authorization", auth));
    }
    request(addr, "POST", "/api/v1/inventory", &headers, body.as_bytes())
}

const GOOD_FEED: &str =
    r#"{"source":"wms-eu","levels":[{"sku":"A-1","location":"Main","available":12}]}"#;

/// Items in the store, all flows.
fn stored(socket: &Path) -> usize {
    let args = ["items", "list", "--json", "--limit", "1000", "--socket"];
    cli_json(&args, socket)["items"]
        .as_array()
        .map_or(0, Vec::len)
}

fn metrics(addr: SocketAddr) -> String {
    let (status, text) = get(addr, "/metrics");
    assert_eq!(status, 200, "{text}");
    text
}

fn sample(text: &str, name: &str) -> f64 {
    metric(text, name).unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
}

/// Four ways to get a webhook's signature wrong; each must be a 401 that stores nothing.
fn refused_webhooks(rig: &Rig) {
    let body = order(7001);
    let signed_elsewhere = shopify_signature(WEBHOOK_SECRET, &order(7002));
    for (what, hmac) in [
        ("no signature", None),
        ("the signature of another body", Some(signed_elsewhere)),
        (
            "a signature made with another secret",
            Some(shopify_signature("not-our-secret", &body)),
        ),
        ("a signature that is not base64", Some("not base64!".into())),
    ] {
        assert_eq!(webhook(rig.addr, "refused", &body, hmac), 401, "{what}");
    }
}

/// Five ways to present the wrong credentials; each must be a 401 that stores nothing.
fn refused_feeds(rig: &Rig) {
    for (what, auth) in [
        ("no Authorization header", None),
        ("a wrong token", Some(format!("Bearer {}", PRESENTED[0]))),
        ("another scheme", Some(format!("Basic {API_TOKEN}"))),
        (
            "the right token without a scheme",
            Some(API_TOKEN.to_string()),
        ),
    ] {
        let (status, body) = feed(rig.addr, auth, GOOD_FEED);
        assert_eq!(status, 401, "{what}: {body}");
    }
    let (status, body) = feed(rig.addr, Some(PRESENTED[1].to_string()), GOOD_FEED);
    assert_eq!(status, 401, "a bare unknown token: {body}");
}

#[test]
fn webhooks_with_a_missing_or_wrong_signature_are_refused_and_counted() {
    let rig = start();
    let before = stored(&rig.socket);
    refused_webhooks(&rig);
    assert_eq!(stored(&rig.socket), before, "a refused webhook was stored");
    let text = metrics(rig.addr);
    assert_eq!(
        sample(
            &text,
            r#"xconnector_webhooks_total{outcome="rejected_signature"}"#
        ),
        4.0
    );
    assert_eq!(
        sample(&text, r#"xconnector_webhooks_total{outcome="accepted"}"#),
        0.0
    );

    // Either secret of a rotation is accepted, and counted as such.
    assert_eq!(post_webhook(rig.addr, "w1", &order(7101)), 200);
    let body = order(7102);
    let hmac = shopify_signature(WEBHOOK_SECRET, &body);
    assert_eq!(webhook(rig.addr, "w2", &body, Some(hmac)), 200);
    assert_eq!(stored(&rig.socket), before + 2);
    let text = metrics(rig.addr);
    assert_eq!(
        sample(&text, r#"xconnector_webhooks_total{outcome="accepted"}"#),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            r#"xconnector_webhooks_total{outcome="rejected_signature"}"#
        ),
        4.0
    );
}

#[test]
fn inventory_feeds_without_the_right_bearer_are_refused_and_counted() {
    let rig = start();
    let before = stored(&rig.socket);
    refused_feeds(&rig);
    assert_eq!(stored(&rig.socket), before, "a refused feed was stored");
    let count = |text: &str, outcome: &str| {
        sample(
            text,
            &format!(
                r#"xconnector_api_requests_total{{endpoint="inventory",outcome="{outcome}"}}"#
            ),
        )
    };
    let text = metrics(rig.addr);
    assert!(
        text.contains("# TYPE xconnector_api_requests_total counter\n"),
        "{text}"
    );
    assert_eq!(count(&text, "rejected_token"), 5.0);
    assert_eq!(count(&text, "accepted"), 0.0);

    // Both configured tokens, the file's and the one from the environment, are accepted.
    for token in [API_TOKEN, ENV_API_TOKEN] {
        let (status, body) = feed(rig.addr, Some(format!("Bearer {token}")), GOOD_FEED);
        assert_eq!(status, 202, "{body}");
    }
    let (status, body) = feed(
        rig.addr,
        Some(format!("Bearer {API_TOKEN}")),
        r#"{"source":"wms-eu","levels":[{"sku":"A-1"}]}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(stored(&rig.socket), before + 2);
    let text = metrics(rig.addr);
    assert_eq!(count(&text, "rejected_token"), 5.0);
    assert_eq!(count(&text, "accepted"), 2.0);
    assert_eq!(count(&text, "bad_request"), 1.0);
    assert_eq!(count(&text, "too_large"), 0.0);
    assert_eq!(count(&text, "unavailable"), 0.0);

    // A refusal is a warning that says why, not with what; repeats of one reason are counted,
    // not each logged, so a flood of bad tokens cannot flood the journal: three reasons, three
    // lines, while /metrics counted all five. (Logged before the answer, but read from the
    // daemon's stderr by another thread: waited for.)
    let refusals = || -> Vec<String> {
        rig.daemon
            .all_logs()
            .lines()
            .filter(|l| l.contains(r#""level":"WARN""#) && l.contains("inbound request refused: "))
            .map(str::to_string)
            .collect()
    };
    let warnings = eventually("three refusals logged", || {
        let w = refusals();
        (w.len() >= 3).then_some(w)
    });
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    for line in &warnings {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["level"], "WARN", "{line}");
    }
    for reason in [
        "no Authorization header",
        "the Authorization header is not a Bearer token",
        "the bearer token is not one of [server] api_tokens",
    ] {
        assert!(
            warnings.iter().any(|l| l.contains(reason)),
            "no refusal for {reason:?}: {warnings:#?}"
        );
    }
}

/// Every line that contains one of `needles`, and which.
fn leaks<'a>(text: &'a str, needles: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    text.lines()
        .flat_map(|line| {
            needles
                .iter()
                .filter(move |n| line.contains(**n))
                .map(move |n| (*n, line))
        })
        .collect()
}

/// Each secret, and its tail in case something logs a truncated or partly masked one.
fn needles() -> Vec<&'static str> {
    SECRETS
        .iter()
        .chain(&PRESENTED)
        .flat_map(|s| {
            let tail = &s[s.len() - 8..];
            // The shared test secret is a plain word: only the whole of it counts.
            if *s == HOOK_SECRET {
                vec![*s]
            } else {
                vec![*s, tail]
            }
        })
        .collect()
}

#[test]
fn secrets_never_reach_the_logs() {
    let mut rig = start();
    refused_webhooks(&rig);
    refused_feeds(&rig);
    // Accepted ones: an order delivered to the signed endpoint, a feed for the inventory flow
    // (whose Shopify calls fail).
    assert_eq!(post_webhook(rig.addr, "w1", &order(7201)), 200);
    let body = order(7202);
    let hmac = shopify_signature(WEBHOOK_SECRET, &body);
    assert_eq!(webhook(rig.addr, "w2", &body, Some(hmac)), 200);
    let (status, body) = feed(rig.addr, Some(format!("Bearer {API_TOKEN}")), GOOD_FEED);
    assert_eq!(status, 202, "{body}");
    let (status, body) = feed(
        rig.addr,
        Some(format!("Bearer {ENV_API_TOKEN}")),
        r#"{"source":"wms-eu","levels":[{"sku":"A-1","available":-1}]}"#,
    );
    assert_eq!(status, 400, "{body}");

    let delivered = eventually("both orders delivered to the endpoint", || {
        let got = rig.office.received("erp");
        (got.len() >= 2).then_some(got)
    });
    assert!(
        delivered.iter().all(|d| d.signature.is_some()),
        "the signing secret was not used: {delivered:?}"
    );
    // Failing Shopify calls, their errors logged: the subscription check at start, the
    // orders flow's reconciliation poll.
    eventually("a failing Shopify call logged", || {
        let logs = rig.daemon.all_logs();
        ["WebhookSubscriptions", "OrderVersions"]
            .iter()
            .all(|op| {
                logs.lines()
                    .any(|l| l.contains("shopify call failed") && l.contains(op))
            })
            .then_some(())
    });
    // The inventory flow has tried Shopify with the feed too.
    eventually("the feed's item attempted", || {
        let out = xconnector()
            .args(["items", "list", "--flow", "inventory", "--json", "--socket"])
            .arg(&rig.socket)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v["items"]
            .as_array()?
            .iter()
            .any(|i| i["attempts"].as_u64() > Some(0))
            .then_some(())
    });
    let text = metrics(rig.addr);
    assert!(leaks(&text, &needles()).is_empty(), "{text}");

    rig.daemon.signal("TERM");
    assert!(rig.daemon.wait_exit().success());
    // Its last line, once the thread reading stderr has caught up.
    let logs = eventually("the daemon's last log line", || {
        let logs = rig.daemon.all_logs();
        logs.contains(r#""message":"stopped""#).then_some(logs)
    });
    // The run was logged at debug, from this crate and others.
    for needle in [r#""level":"DEBUG""#, "xconnector_actors::", "hyper"] {
        assert!(logs.contains(needle), "no {needle:?} in the logs:\n{logs}");
    }
    let found = leaks(&logs, &needles());
    assert!(found.is_empty(), "secrets in the logs: {found:#?}");
}

#[test]
fn check_config_never_prints_a_secret() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let office = rt
        .block_on(BackOffice::start("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |path: &Path| {
        let out = xconnector()
            .args(["check-config", "--config"])
            .arg(path)
            .env("XC_SECURITY_API_TOKEN", ENV_API_TOKEN)
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let good = write_secret_config(dir.path(), &config_text(&office));
    let (code, out) = run(&good);
    assert_eq!((code, out.trim()), (Some(0), "ok"), "{out}");

    // A broken file: secrets in misspelt keys, of the wrong shape, next to real mistakes.
    let text = std::fs::read_to_string(&good)
        .unwrap()
        .replace("signing_secret =", "signing_secrett =")
        .replace(
            &format!("webhook_secrets = [\"{WEBHOOK_SECRET}\", \"{HOOK_SECRET}\"]"),
            &format!("webhook_secrets = \"{WEBHOOK_SECRET}\""),
        )
        .replace("targets = [\"erp\"]", "targets = [\"nowhere\"]");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let (code, out) = run(&bad);
    assert_eq!(code, Some(2), "{out}");
    for expected in ["signing_secrett", "webhook_secrets", "nowhere"] {
        assert!(out.contains(expected), "no {expected:?} in:\n{out}");
    }
    let found = leaks(&out, &needles());
    assert!(found.is_empty(), "secrets printed: {found:#?}");
}

/// What a connection attempt by another user ended in, from the forked child's exit code.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Connected,
    Refused(i32),
    SetupFailed(&'static str),
}

/// Connects to `socket` from a forked child, as `uid` if given. Only async-signal-safe calls
/// happen in the child: everything it needs is prepared before the fork.
fn connect_as(socket: &Path, uid: Option<libc::uid_t>) -> Attempt {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(socket.as_os_str().as_bytes()).unwrap();
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes_with_nul();
    assert!(bytes.len() <= addr.sun_path.len(), "socket path too long");
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: the child only calls async-signal-safe functions and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        unsafe {
            if let Some(uid) = uid
                && (libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(uid as libc::gid_t) != 0
                    || libc::setuid(uid) != 0)
            {
                libc::_exit(2);
            }
            // The socket must be reachable (directories searchable), so that only its own
            // mode can stand in the way.
            let mut st: libc::stat = std::mem::zeroed();
            if libc::stat(path.as_ptr(), &mut st) != 0 {
                libc::_exit(3);
            }
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            if fd < 0 {
                libc::_exit(4);
            }
            let rc = libc::connect(
                fd,
                &addr as *const libc::sockaddr_un as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            );
            if rc == 0 {
                libc::_exit(0);
            }
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            libc::_exit(100 + errno.min(100));
        }
    }
    let mut status = 0;
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child died: {status}");
    match libc::WEXITSTATUS(status) {
        0 => Attempt::Connected,
        2 => Attempt::SetupFailed("setuid"),
        3 => Attempt::SetupFailed("stat: the socket is out of reach"),
        4 => Attempt::SetupFailed("socket"),
        n => Attempt::Refused(n - 100),
    }
}

#[test]
fn the_control_socket_admits_only_the_daemons_user() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let socket = dir.path().join("data/xconnector.sock");
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"]).arg(&config);
    let daemon = Daemon::start(cmd);
    daemon.wait_for_log("control socket listening");

    // tests/control.rs checks the same on its daemon; here it is the premise of what follows.
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), unsafe {
        libc::geteuid()
    });
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: another user's connection is not tried");
        return;
    }
    // Open the way to the socket, so that only the socket's own mode can refuse.
    for d in [dir.path(), &dir.path().join("data")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The same child, as the daemon's user, does connect: the refusal below is the mode's.
    assert_eq!(connect_as(&socket, None), Attempt::Connected);
    assert_eq!(
        connect_as(&socket, Some(65534)),
        Attempt::Refused(libc::EACCES),
        "nobody (uid 65534) must not reach the control socket"
    );
    // The daemon is unaffected.
    let (code, _, err) = {
        let out = xconnector()
            .args(["status", "--socket"])
            .arg(&socket)
            .output()
            .unwrap();
        (
            out.status.code(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{err}");
}

/// #13: what strangers posting unsigned 5 MiB webhooks and holding them open can make the
/// daemon hold stays within a budget, comes back down after they let go, and does not keep
/// Shopify's signed deliveries out meanwhile: `xconnector bench intake-flood --check` on a
/// smaller flood (200 connections, then 64 streams of one HTTP/2 connection). It measures
/// the daemon's resident memory, never time.
#[test]
fn an_unsigned_flood_holds_bounded_memory_and_signed_deliveries_go_through() {
    let dir = tempfile::tempdir().unwrap();
    let out = xconnector()
        .args([
            "bench",
            "intake-flood",
            "--connections",
            "200",
            "--streams",
            "64",
            "--signed",
            "10",
            "--budget-mib",
            "300",
            "--settle",
            "30",
            "--check",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("targets met"), "{text}");
}
