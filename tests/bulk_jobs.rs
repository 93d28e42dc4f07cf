//! Bulk actions as jobs in the real daemon: 30,000 exceptions resolved by one job through the
//! CLI, a job SIGKILLed mid-run that finishes after the restart with exact counts, a cancel,
//! and Ctrl-C on the CLI, which stops only the waiting.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::Value;
use xconnector_actors::item::{ItemId, ItemState, NewItem};
use xconnector_actors::store::{ItemDb, JobState};

/// A daemon's config over `dir/data`, whose store holds `n` exceptions of flow `orders`
/// (created straight in the store: fast, and the same store the daemon opens). `control` is
/// added to the `[control]` section.
fn store_of_exceptions(dir: &Path, n: usize, control: &str) -> (PathBuf, Vec<ItemId>) {
    let config = write_config(dir, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[control]\n", &format!("[control]\n{control}\n"));
    std::fs::write(&config, text).unwrap();
    let mut db = ItemDb::open(&dir.join("data")).unwrap();
    let mut ids = Vec::with_capacity(n);
    for chunk in 0..n.div_ceil(5_000) {
        let items: Vec<NewItem> = (chunk * 5_000..n.min((chunk + 1) * 5_000))
            .map(|i| {
                NewItem::new("orders", "orders/create", format!("#{i}"), b"{}".to_vec())
                    .held("address: missing")
            })
            .collect();
        ids.extend(db.enqueue(items, 1).unwrap().iter().map(|e| e.id));
    }
    db.sync().unwrap();
    (config, ids)
}

fn cli(config: &Path, args: &[&str]) -> Output {
    xconnector()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn job_json(config: &Path, id: u64) -> Value {
    cli_json(
        &["jobs", "show", &id.to_string(), "--json", "--config"],
        config,
    )
}

fn counts(job: &Value) -> [u64; 4] {
    ["matched", "changed", "skipped", "failed"].map(|k| job[k].as_u64().unwrap())
}

/// After the daemon stopped: how often each item was resolved (by its history) and audited,
/// and the job audit entries by action.
struct Ledger {
    resolved: BTreeMap<ItemId, usize>,
    audited: BTreeMap<String, usize>,
    job_entries: BTreeMap<String, Vec<Option<String>>>,
}

fn ledger(data: &Path, ids: &[ItemId]) -> Ledger {
    let db = ItemDb::open(data).unwrap();
    let resolved = ids
        .iter()
        .map(|id| {
            let n = db
                .history(*id)
                .unwrap()
                .iter()
                .filter(|h| h.to == ItemState::Resolved)
                .count();
            (*id, n)
        })
        .collect();
    let mut audited: BTreeMap<String, usize> = BTreeMap::new();
    let mut job_entries: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for e in db.audit_log(usize::MAX).unwrap() {
        if e.target.starts_with("item ") {
            *audited.entry(e.target).or_default() += 1;
        } else {
            job_entries.entry(e.action).or_default().push(e.note);
        }
    }
    Ledger {
        resolved,
        audited,
        job_entries,
    }
}

fn stop(mut daemon: Daemon) {
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit().code(), Some(0), "{}", daemon.all_logs());
}

#[test]
fn thirty_thousand_exceptions_are_resolved_by_one_job_through_the_cli() {
    const N: usize = 30_000;
    let dir = tempfile::tempdir().unwrap();
    let (config, ids) = store_of_exceptions(dir.path(), N, "");
    let (daemon, _) = run_ready(&config);

    let out = cli(
        &config,
        &[
            "items",
            "act",
            "resolve",
            "--flow",
            "orders",
            "--state",
            "exception",
            "--note",
            "cleanup",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "resolve: 30000 changed, 0 skipped, 0 failed of 30000 matching items (job 1)\n"
    );

    // The counts in the status are refreshed every so often; the jobs are read at once.
    let status = eventually("the status to count them", || {
        let s = status_json(&config);
        (s["totals"]["resolved"] == N).then_some(s)
    });
    assert_eq!(
        status["totals"]["exception"].as_u64().unwrap_or(0),
        0,
        "{status}"
    );
    let job = &status["jobs"][0];
    assert_eq!(
        (job["id"].as_u64(), job["state"].as_str()),
        (Some(1), Some("finished"))
    );
    assert_eq!(counts(job), [30_000, 30_000, 0, 0]);
    assert_eq!(job["user"], "root");
    let listed = cli(&config, &["jobs", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.lines().nth(1).is_some_and(|l| l.contains("finished")
            && l.contains("resolve")
            && l.contains("flow orders, state exception")
            && l.contains("30000")),
        "{text}"
    );
    // Nothing is left to act on: a second job finds nothing and says so.
    let again = cli(
        &config,
        &[
            "items",
            "act",
            "resolve",
            "--flow",
            "orders",
            "--state",
            "exception",
            "--json",
        ],
    );
    assert_eq!(again.status.code(), Some(0));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (again["id"].as_u64(), counts(&again)),
        (Some(2), [0, 0, 0, 0])
    );
    stop(daemon);

    let l = ledger(&dir.path().join("data"), &ids);
    assert!(
        l.resolved.values().all(|n| *n == 1),
        "each item resolved once"
    );
    assert_eq!(l.audited.len(), N);
    assert!(
        l.audited.values().all(|n| *n == 1),
        "each item audited once"
    );
    assert_eq!(l.job_entries["bulk resolve"].len(), 2, "both jobs' starts");
    assert_eq!(
        l.job_entries["bulk resolve finished"],
        [
            Some("0 changed, 0 skipped, 0 failed of 0 matching items".to_string()),
            Some("30000 changed, 0 skipped, 0 failed of 30000 matching items".to_string()),
        ]
    );
}

#[test]
fn a_job_killed_mid_run_finishes_after_the_restart_with_exact_counts() {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Slow enough that the kill lands mid-run: 200 steps, 50 ms apart.
    let (config, ids) =
        store_of_exceptions(dir.path(), N, "bulk_batch = 100\nbulk_pause = \"50ms\"");
    let (mut daemon, _) = run_ready(&config);
    let started = cli_json(
        &[
            "items",
            "act",
            "resolve",
            "--flow",
            "orders",
            "--state",
            "exception",
            "--detach",
            "--json",
            "--config",
        ],
        &config,
    );
    assert_eq!(
        (started["id"].as_u64(), started["expected"].as_u64()),
        (Some(1), Some(N as u64))
    );
    eventually("the job under way", || {
        (job_json(&config, 1)["matched"].as_u64()? >= 500).then_some(())
    });
    daemon.signal("KILL");
    daemon.wait_exit();

    // What the crash left: the job's counts are exactly the items it changed.
    {
        let db = ItemDb::open(&data).unwrap();
        let job = db.job(1).unwrap().unwrap();
        assert_eq!(job.state, JobState::Running, "killed mid-run");
        assert!(job.matched > 0 && job.matched < N as u64, "{job:?}");
        assert_eq!(job.matched, job.changed);
        assert_eq!(db.count("orders", ItemState::Resolved), job.changed);
        assert_eq!(
            db.count("orders", ItemState::Exception),
            N as u64 - job.changed
        );
    }

    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("bulk_pause = \"50ms\"", "bulk_pause = \"0s\"");
    std::fs::write(&config, text).unwrap();
    let (daemon, _) = run_ready(&config);
    let out = cli(&config, &["jobs", "follow", "1", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["state"], "finished");
    assert_eq!(counts(&job), [N as u64, N as u64, 0, 0]);
    assert!(
        daemon
            .all_logs()
            .contains("bulk job resumed where it stopped")
    );
    stop(daemon);

    let l = ledger(&data, &ids);
    assert!(
        l.resolved.values().all(|n| *n == 1),
        "each item resolved once"
    );
    assert_eq!(l.audited.len(), N);
    assert!(l.audited.values().all(|n| *n == 1), "no item audited twice");
    assert_eq!(l.job_entries["bulk resolve"].len(), 1);
    assert_eq!(
        l.job_entries["bulk resolve finished"],
        [Some(
            "20000 changed, 0 skipped, 0 failed of 20000 matching items".to_string()
        )]
    );
}

#[test]
fn a_cancelled_job_stops_and_its_counts_are_what_it_did_and_ctrl_c_only_stops_the_waiting() {
    const N: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = store_of_exceptions(dir.path(), N, "bulk_batch = 100\nbulk_pause = \"50ms\"");
    let (daemon, _) = run_ready(&config);

    // Ctrl-C on the waiting CLI: the job goes on.
    let waiting = xconnector()
        .args([
            "items",
            "act",
            "cancel",
            "--flow",
            "orders",
            "--state",
            "exception",
        ])
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually("the job under way", || {
        let out = cli(&config, &["jobs", "show", "1", "--json"]);
        let job: Value = serde_json::from_slice(&out.stdout).ok()?;
        (job["matched"].as_u64()? >= 200).then_some(())
    });
    let ok = Command::new("kill")
        .args(["-INT", &waiting.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = waiting.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stopped waiting; job 1 goes on in the daemon"),
        "{stderr}"
    );
    let job = job_json(&config, 1);
    assert_eq!(job["state"], "running");

    let cancelled = cli_json(&["jobs", "cancel", "1", "--json", "--config"], &config);
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(cancelled["cancelled_by"], "root");
    let [matched, changed, skipped, failed] = counts(&cancelled);
    assert!(matched >= 200 && matched < N as u64, "{cancelled}");
    assert_eq!((changed, skipped, failed), (matched, 0, 0));
    daemon.wait_for_log("bulk job over");
    assert_eq!(job_json(&config, 1), cancelled);

    // Following a job that is over answers at once, and a cancelled one is not a success.
    let out = cli(&config, &["jobs", "follow", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "cancel: cancelled by root: {changed} changed, 0 skipped, 0 failed of {changed} matching items (job 1)\n"
        )
    );
    // A second cancel, an unknown job and a bad filter are refused with what is wrong.
    let out = cli(&config, &["jobs", "cancel", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("job 1 is cancelled: it cannot be cancelled"),
        "{out:?}"
    );
    let out = cli(&config, &["jobs", "show", "42"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("job 42 not found (HTTP 404)"));
    let out = cli(
        &config,
        &[
            "items", "act", "resolve", "--flow", "orders", "--state", "lost",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown state \"lost\""));
    stop(daemon);

    // What the items show is what the job counted: nothing changed after the cancel.
    let db = ItemDb::open(&dir.path().join("data")).unwrap();
    assert_eq!(db.count("orders", ItemState::Cancelled), changed);
    assert_eq!(db.count("orders", ItemState::Exception), N as u64 - changed);
}
