//! Disk trouble, for real: the store lives on a small tmpfs that the test fills up under a
//! running daemon, and later remounts read-only. While the store cannot write the daemon must
//! stop acknowledging (503, so Shopify retries), say why in its logs, `/readyz`, `/metrics`
//! and the control API the TUI shows, and recover by itself once the disk can be written
//! again, with every acknowledged webhook stored once. A store from another format or with
//! damaged files must be refused with a clear message, never a panic or a silent reset.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::json;

/// A tmpfs mounted over a directory, unmounted on drop (also when the test fails).
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` where this process may not mount (not root, or no `CAP_SYS_ADMIN`).
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }

    fn remount(&self, how: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{how}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remount {how}");
    }

    /// Writes a filler file until the filesystem is full.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 << 10];
        while f.write_all(&chunk).is_ok() {}
        // Whatever fits in the last partial block, byte by byte.
        while f.write_all(&[0]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn config(dir: &Path) -> PathBuf {
    write_config(
        dir,
        &format!(
            r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "t"
webhook_secrets = ["{HOOK_SECRET}"]
# Nothing answers here: orders wait in the store, which is all this test looks at.
base_url = "http://127.0.0.1:9"

[endpoints.erp]
kind = "http"
url = "http://127.0.0.1:9/erp"

[flows.orders]
targets = ["erp"]
reconcile_every = "1h"
"#
        ),
    )
}

fn order(n: u64) -> Vec<u8> {
    // Enough to fill a disk's last pages quickly.
    order_with_note(n, 4000)
}

fn order_with_note(n: u64, note: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": 820_982_911_946_154_000u64 + n,
        "name": format!("#{n}"),
        "updated_at": "2026-11-28T10:00:00Z",
        "created_at": "2026-11-28T10:00:00Z",
        "line_items": [],
        // Random, so that no compression makes it small.
        "note": std::iter::repeat_with(fastrand::alphanumeric).take(note).collect::<String>(),
    }))
    .unwrap()
}

/// The ids of the webhooks the daemon has stored, from the control API.
fn stored(config: &Path) -> BTreeSet<String> {
    let args = [
        "items", "list", "--flow", "orders", "--limit", "10000", "--json", "--config",
    ];
    cli_json(&args, config)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Sends webhooks for orders `from..` until one is refused; returns the acknowledged ones and
/// the first refused one.
fn post_until_refused(addr: SocketAddr, from: u64, acked: &mut Vec<u64>) -> u64 {
    for n in from..from + 100_000 {
        match post_webhook(addr, &format!("hook-{n}"), &order(n)) {
            200 => acked.push(n),
            503 => return n,
            other => panic!("webhook {n}: status {other}"),
        }
    }
    panic!("the disk never refused a write");
}

/// Checks every way the daemon tells that its store cannot write, naming `cause`.
fn says_it_cannot_write(
    daemon: &Daemon,
    addr: SocketAddr,
    config: &Path,
    cause: &str,
    first: &str,
) {
    let (code, body) = get(addr, "/readyz");
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("the store cannot write") && body.contains(cause),
        "{body}"
    );
    // Telemetry refreshes on its own tick, so /metrics and the status follow within one.
    eventually("/metrics to show the failure", || {
        let (_, metrics) = get(addr, "/metrics");
        (metric(&metrics, "xconnector_store_failing") == Some(1.0)).then_some(())
    });
    // The status follows the latest reopen attempt; the log keeps what broke the store.
    let logs = daemon.all_logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("the store cannot write") && l.contains(first)),
        "no log line says the store cannot write because of {first:?}:\n{logs}"
    );
    let status = eventually("the status to show the failure", || {
        let status = status_json(config);
        status["store_failing"].is_object().then_some(status)
    });
    assert_eq!(status["ready"], false);
    let reason = status["store_failing"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains(cause), "{status}");
}

/// Waits for the daemon to recover by itself, then checks it says so and accepts again.
fn recovers(daemon: &Daemon, addr: SocketAddr, config: &Path) {
    eventually("/readyz to be 200 again", || {
        (get(addr, "/readyz").0 == 200).then_some(())
    });
    daemon.wait_for_log("the store can write again");
    eventually("/metrics and the status to show the recovery", || {
        let (_, metrics) = get(addr, "/metrics");
        (metric(&metrics, "xconnector_store_failing") == Some(0.0)
            && status_json(config)["store_failing"].is_null())
        .then_some(())
    });
}

#[test]
fn a_full_disk_stops_acknowledgements_and_recovers_without_a_restart_a_read_only_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&dir.path().join("data"), "64m") else {
        eprintln!("SKIPPED: this process may not mount a tmpfs (needs root)");
        return;
    };
    let config = config(dir.path());
    let (mut daemon, addr) = run_ready(&config);

    let mut acked = Vec::new();
    for n in 0..20 {
        assert_eq!(post_webhook(addr, &format!("hook-{n}"), &order(n)), 200);
        acked.push(n);
    }

    // Full: the store sees the disk nearly full and refuses before writing.
    let filler = disk.fill();
    let refused = post_until_refused(addr, 20, &mut acked);
    says_it_cannot_write(
        &daemon,
        addr,
        &config,
        "No space left on device",
        "0 KiB free, below the 1024 KiB the store keeps",
    );
    assert_eq!(
        post_webhook(addr, &format!("hook-{refused}"), &order(refused)),
        503,
        "still refused while full"
    );
    std::fs::remove_file(filler).unwrap();
    recovers(&daemon, addr, &config);
    // Shopify's retry of the refused delivery now lands.
    assert_eq!(
        post_webhook(addr, &format!("hook-{refused}"), &order(refused)),
        200
    );
    acked.push(refused);

    // A write that does not fit: a little room left, and one webhook bigger than it. fjall's
    // write fails and poisons the database; the store closes it, refuses, and reopens it.
    let filler = disk.fill();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap();
    let len = file.metadata().unwrap().len();
    // Just above the 1 MiB below which the store refuses before writing.
    file.set_len(len - (1 << 20) - (256 << 10)).unwrap();
    drop(file);
    let big = refused + 1;
    let body = order_with_note(big, 4_800_000);
    assert_eq!(post_webhook(addr, &format!("hook-{big}"), &body), 503);
    says_it_cannot_write(
        &daemon,
        addr,
        &config,
        "No space left on device",
        "No space left on device (os error 28)",
    );
    std::fs::remove_file(filler).unwrap();
    recovers(&daemon, addr, &config);
    assert_eq!(post_webhook(addr, &format!("hook-{big}"), &body), 200);
    acked.push(big);

    // Every acknowledged webhook is stored, once.
    let want: BTreeSet<String> = acked.iter().map(|n| format!("#{n}")).collect();
    let have = stored(&config);
    let lost: Vec<_> = want.difference(&have).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert_eq!(have.len(), want.len(), "stored more than acknowledged");

    daemon.signal("TERM");
    assert!(daemon.wait_exit().success(), "{}", daemon.all_logs());
    assert!(!daemon.all_logs().contains("panicked"));

    // Read-only. Linux refuses to remount a filesystem read-only while a file on it is open
    // for writing (the journal is), so this is the disk found read-only at a (re)start: the
    // daemon says so and exits for systemd to try again, and starts once it is writable.
    disk.remount("ro");
    let stderr = refuses_to_start(&config);
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    disk.remount("rw");
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"]).arg(&config);
    let mut daemon = Daemon::start(cmd);
    daemon.wait_for_log("xconnector ready");
    assert_eq!(stored(&config), have, "the same items after the restart");
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success(), "{}", daemon.all_logs());
}

/// On a volume of 16 MiB the thresholds shrink with it (a fixed 16 MiB of headroom would never
/// come back), and while the disk is full the store still answers reads.
#[test]
fn a_small_volume_recovers_too_and_its_items_can_be_read_while_it_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&dir.path().join("data"), "16m") else {
        eprintln!("SKIPPED: this process may not mount a tmpfs (needs root)");
        return;
    };
    let config = config(dir.path());
    let (mut daemon, addr) = run_ready(&config);
    let mut acked = Vec::new();
    for n in 0..10 {
        assert_eq!(post_webhook(addr, &format!("hook-{n}"), &order(n)), 200);
        acked.push(n);
    }
    let filler = disk.fill();
    let refused = post_until_refused(addr, 10, &mut acked);
    says_it_cannot_write(
        &daemon,
        addr,
        &config,
        "writing again once 2048 KiB are free",
        "0 KiB free, below the 256 KiB the store keeps",
    );
    // Full, yet an operator can still see what is stored.
    let want: BTreeSet<String> = acked.iter().map(|n| format!("#{n}")).collect();
    assert_eq!(stored(&config), want, "reads while the disk is full");
    std::fs::remove_file(filler).unwrap();
    recovers(&daemon, addr, &config);
    assert_eq!(
        post_webhook(addr, &format!("hook-{refused}"), &order(refused)),
        200
    );
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success(), "{}", daemon.all_logs());
}

/// Starts the daemon over `config`'s store and expects it to refuse to start.
fn refuses_to_start(config: &Path) -> String {
    let out = xconnector()
        .args(["run", "--headless", "--config"])
        .arg(config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "started over a bad store:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Runs the daemon once so that it creates its store, with one webhook in it.
fn make_store(config: &Path) {
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"]).arg(config);
    let mut daemon = Daemon::start(cmd);
    let addr = daemon.http_addr();
    daemon.wait_for_log("xconnector ready");
    assert_eq!(post_webhook(addr, "hook-1", &order(1)), 200);
    daemon.signal("TERM");
    assert!(daemon.wait_exit().success());
}

#[test]
fn a_store_of_another_format_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    make_store(&config);
    {
        let db = fjall::Database::builder(dir.path().join("data"))
            .open()
            .unwrap();
        let meta = db
            .keyspace("meta", fjall::KeyspaceCreateOptions::default)
            .unwrap();
        meta.insert("format", 0u64.to_be_bytes()).unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    let stderr = refuses_to_start(&config);
    assert!(
        stderr.contains("the store was written in format 0, this build reads format 1"),
        "{stderr}"
    );
    assert!(stderr.contains("move the data directory aside"), "{stderr}");
}

#[test]
fn a_store_with_damaged_files_is_refused_not_reset() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    make_store(&config);
    // Damage every file of the database in place, keeping the sizes.
    let mut damaged = 0;
    let mut stack = vec![dir.path().join("data")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_none_or(|e| e != "sock") {
                let len = std::fs::metadata(&path).unwrap().len() as usize;
                let junk: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8).collect();
                std::fs::write(&path, junk).unwrap();
                damaged += 1;
            }
        }
    }
    assert!(damaged > 0);
    let stderr = refuses_to_start(&config);
    assert!(
        stderr.contains("cannot open the store")
            && stderr.contains("the store is corrupt: its files cannot be read")
            && stderr.contains("restore it from a backup"),
        "{stderr}"
    );
}

#[test]
fn a_store_whose_database_files_are_gone_is_refused_not_started_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    make_store(&config);
    let data = dir.path().join("data");
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n != "xconnector-store") {
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    let stderr = refuses_to_start(&config);
    assert!(
        stderr.contains("is empty: its database files were lost or damaged"),
        "{stderr}"
    );
}
