//! The headless daemon as systemd and an operator see it: readiness over `NOTIFY_SOCKET`,
//! health, readiness and metrics over HTTP, and a clean stop on SIGTERM with items in flight.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::*;
use xconnector_actors::item::ItemState;
use xconnector_actors::store::ItemDb;

const ITEMS: u64 = 40;

#[test]
fn sigterm_with_items_in_flight_exits_zero_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Work waiting for the placeholder flow, put there through the store actor.
    let seeded = xconnector()
        .args([
            "debug",
            "store-writer",
            "--flow",
            "log",
            "--count",
            &ITEMS.to_string(),
            "--dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );

    let config = write_config(
        dir.path(),
        "[daemon]\nshutdown_grace = \"30s\"\n\n[flows.log]\nwork_time = \"300ms\"\nconcurrency = 4\n",
    );
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(DEADLINE)).unwrap();

    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify_path);
    let mut daemon = Daemon::start(cmd);

    let mut buf = [0u8; 4096];
    let n = notify.recv(&mut buf).expect("READY=1 from the daemon");
    let ready = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(ready.contains("READY=1"), "{ready}");
    assert!(ready.contains("STATUS=ready"), "{ready}");

    let addr = daemon.http_addr();
    assert_eq!(get(addr, "/healthz"), (200, "ok\n".to_string()));
    assert_eq!(get(addr, "/readyz").0, 200);
    let metrics = get(addr, "/metrics").1;
    assert_eq!(metric(&metrics, "xconnector_ready"), Some(1.0), "{metrics}");

    eventually("items in flight", || {
        let m = get(addr, "/metrics").1;
        (metric(&m, r#"xconnector_items{flow="log",state="in_flight"}"#)? > 0.0).then_some(())
    });
    daemon.signal("TERM");
    let status = daemon.wait_exit();
    let logs = daemon.all_logs();
    assert_eq!(status.code(), Some(0), "logs:\n{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(logs.contains("all in-flight work finished"), "{logs}");

    let mut saw_stopping = false;
    notify
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    while let Ok(n) = notify.recv(&mut buf) {
        saw_stopping |= String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1");
    }
    assert!(saw_stopping, "systemd is told the daemon is stopping");

    let db = ItemDb::open(&data).unwrap();
    let done = db.count("log", ItemState::Done);
    let pending = db.count("log", ItemState::Pending);
    assert_eq!(
        db.count("log", ItemState::InFlight),
        0,
        "in-flight items finished within the grace period"
    );
    assert!(done >= 1);
    assert_eq!(
        done + pending,
        ITEMS,
        "every item is done or still waiting: none lost"
    );
}

#[test]
fn a_bad_config_stops_the_daemon_before_it_starts_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[flows.log]\nconcurency = 4\n");
    let out = xconnector()
        .args(["run", "--headless", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml:16: flows.log.concurency: unknown key"),
        "{stderr}"
    );
}

#[test]
fn a_second_daemon_on_the_same_store_or_socket_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"]).arg(&config);
    let first = Daemon::start(cmd);
    first.wait_for_log("xconnector ready");

    let same_socket = xconnector()
        .args(["run", "--headless", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(same_socket.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&same_socket.stderr);
    assert!(
        stderr.contains("another xconnector is already listening on"),
        "{stderr}"
    );

    let other_socket = xconnector()
        .args(["run", "--headless", "--config"])
        .arg(&config)
        .arg("--socket")
        .arg(dir.path().join("other.sock"))
        .output()
        .unwrap();
    assert_eq!(other_socket.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&other_socket.stderr);
    assert!(
        stderr.contains("in use by another xconnector process"),
        "{stderr}"
    );
}

/// `--socket` naming a file that is not a socket (a mistyped path) is refused, and the file
/// is left as it was.
#[test]
fn a_socket_path_naming_an_ordinary_file_is_refused_and_the_file_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let out = xconnector()
        .args(["run", "--headless", "--config"])
        .arg(&config)
        .arg("--socket")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exists and is not a socket; refusing to replace it"),
        "{stderr}"
    );
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("[server]"),
        "the file named was changed"
    );
}

/// Everything under a new data directory is its user's only: the directory 0700, the store's
/// files and the socket without group or other bits. A data directory already open to others
/// is named at start.
#[test]
fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(dir.path(), "");
    let data = dir.path().join("data");
    let (daemon, _addr) = common::run_ready(&config);
    assert_eq!(mode(&data), 0o700);
    let mut open = Vec::new();
    let mut walk = vec![data.clone()];
    while let Some(d) = walk.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk.push(path.clone());
            }
            if mode(&path) & 0o077 != 0 {
                open.push(format!("{} {:o}", path.display(), mode(&path)));
            }
        }
    }
    assert!(open.is_empty(), "readable by others: {open:?}");
    assert!(
        !daemon.all_logs().contains("open to other users"),
        "{}",
        daemon.all_logs()
    );
    drop(daemon);

    // Opened up by hand: said at the next start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (daemon, _addr) = common::run_ready(&config);
    // Said before the store opens, so it is in the logs once the daemon is ready.
    assert!(
        daemon
            .all_logs()
            .contains("the data directory is open to other users"),
        "{}",
        daemon.all_logs()
    );
}

/// Idle sockets cannot starve the daemon: with 256 file descriptors and 600 connections that
/// send nothing, connections past `max_connections` are closed as they come and the rest after
/// `header_timeout`, so `/healthz` is answered while every idle socket is still open on our
/// side.
#[test]
fn idle_connections_cannot_starve_the_listener() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[server]\n",
        "[server]\nheader_timeout = \"1s\"\nbody_timeout = \"1s\"\nmax_connections = 64\n",
    );
    std::fs::write(&config, text).unwrap();
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"]).arg(&config);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let daemon = Daemon::start(cmd);
    let addr = daemon.http_addr();
    daemon.wait_for_log("xconnector ready");

    // 2,000 sockets of our own need the descriptors: raise this process's soft limit.
    // SAFETY: getrlimit/setrlimit only read and change this process's descriptor limit.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < 4096 {
            limit.rlim_cur = limit.rlim_max.min(4096);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    let idle: Vec<std::net::TcpStream> = (0..2000)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        .collect();
    assert!(idle.len() > 256, "only {} idle sockets opened", idle.len());
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        let answered = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .ok()
            .and_then(|mut s| {
                use std::io::{Read, Write};
                s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .ok()?;
                let mut answer = String::new();
                s.read_to_string(&mut answer).ok()?;
                Some(answer)
            })
            .is_some_and(|a| a.starts_with("HTTP/1.1 200"));
        if answered {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/healthz never answered beside {} idle sockets:\n{}",
            idle.len(),
            daemon.all_logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(idle);

    // Idle on keep-alive after a request, and headers that never end: both closed.
    use std::io::{Read, Write};
    for (what, send) in [
        (
            "keep-alive idle",
            &b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        ),
        (
            "headers that never end",
            &b"GET /healthz HTTP/1.1\r\nHos"[..],
        ),
    ] {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        s.write_all(send).unwrap();
        let mut got = Vec::new();
        let read = s.read_to_end(&mut got);
        assert!(read.is_ok(), "{what}: not closed by the daemon: {read:?}");
    }

    // A body that stops short of its Content-Length is answered 408 once body_timeout passed.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s.write_all(
        b"POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"id\":",
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
}

/// One `GET /healthz` on a kept-alive connection: true when it is answered.
fn healthz(s: &mut std::net::TcpStream) -> bool {
    use std::io::{Read, Write};
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.ends_with(b"\r\n\r\nok\n") {
        match s.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => return false,
        }
    }
    got.starts_with(b"HTTP/1.1 200")
}

/// At `[server] max_connections` a new connection is served by closing the one idle the
/// longest; when every connection is in the middle of a request, the new one is closed.
#[test]
fn a_full_server_closes_its_idlest_connection_for_a_new_one() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[server]\n",
        "[server]\nheader_timeout = \"60s\"\nbody_timeout = \"60s\"\nmax_connections = 3\n",
    );
    std::fs::write(&config, text).unwrap();
    let mut cmd = xconnector();
    cmd.args(["run", "--headless", "--config"]).arg(&config);
    let daemon = Daemon::start(cmd);
    let addr = daemon.http_addr();
    daemon.wait_for_log("xconnector ready");
    let connect = || {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        s
    };
    // Three connections, idle after a request each, a the longest.
    let mut open: Vec<_> = (0..3).map(|_| connect()).collect();
    for s in &mut open {
        assert!(healthz(s));
    }
    let mut d = connect();
    assert!(healthz(&mut d), "a fourth connection is served");
    let mut rest = Vec::new();
    assert_eq!(
        open[0].read_to_end(&mut rest).map(|_| rest.len()).ok(),
        Some(0),
        "the connection idle the longest was closed"
    );
    assert!(
        healthz(&mut open[1]) && healthz(&mut open[2]),
        "the others are open"
    );

    // Now every connection is in the middle of a request: a new one is closed unanswered.
    let [_, b, c] = &mut open[..] else {
        unreachable!()
    };
    for s in [b, c, &mut d] {
        // The interim 100 Continue comes once the handler reads the body: then it is busy.
        s.write_all(
            b"POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\nX-Shopify-Hmac-Sha256: AAAA\r\n\
              Content-Length: 100\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") && s.read(&mut byte).is_ok_and(|n| n == 1) {
            got.push(byte[0]);
        }
        assert!(
            got.starts_with(b"HTTP/1.1 100"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
    }
    let mut e = connect();
    let _ = e.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    let _ = e.read_to_end(&mut answer);
    assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    daemon.wait_for_log("every connection busy");
}

/// The storage library logs each table it writes at info; a start is not the place for it
/// (#14): its targets default to warn unless the configured filter names them.
#[test]
fn the_storage_library_keeps_quiet_at_info() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let (daemon, _) = run_ready(&config);
    let logs = daemon.all_logs();
    let chatty: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("lsm_tree") && l.contains("\"level\":\"INFO\""))
        .collect();
    assert!(chatty.is_empty(), "{}", chatty.join("\n"));
}
