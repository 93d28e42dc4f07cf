//! `xconnector run` at a terminal: the daemon runs as a child process (logging to a file in its
//! store directory) and this process shows the terminal UI attached to it. The daemon never
//! shares a process with the terminal, so no actor panic can leave the terminal broken;
//! quitting the UI stops the daemon the same way systemd would, with SIGTERM, or leaves it
//! running headless if the operator detaches.

use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::RunArgs;
use crate::{config, daemon, tui};

/// How long the daemon may take to open its store and socket before we give up on it.
const STARTUP: Duration = Duration::from_secs(60);

pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = match config::load(&args.config) {
        Ok(c) => daemon::apply_overrides(c, &args),
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    std::fs::create_dir_all(&config.store.dir)
        .with_context(|| format!("cannot create {}", config.store.dir.display()))?;
    let log_path = config.store.dir.join("xconnector.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("run")
        .arg("--headless")
        .arg("--config")
        .arg(&args.config);
    cmd.arg("--data-dir")
        .arg(&config.store.dir)
        .arg("--socket")
        .arg(&config.control.socket)
        .arg("--listen")
        .arg(config.server.listen.to_string());
    // Its own process group: a detached daemon must not get the terminal's signals (Ctrl-C in
    // the shell, the hang-up when the window closes).
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .context("cannot start the daemon")?;

    if let Some(code) = wait_until_up(&mut child, &config.control.socket).await? {
        eprintln!(
            "xconnector: the daemon stopped during startup; the end of {}:",
            log_path.display()
        );
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(15)..] {
            eprintln!("  {line}");
        }
        return Ok(code);
    }
    let ui = tui::run(config.control.socket.clone(), tui::Mode::Owned, false).await;
    if let Ok(tui::Exit::Detach) = ui {
        eprintln!(
            "xconnector: detached; the daemon (pid {pid}) keeps running headless.\n  \
             attach again: xconnector tui --socket {socket}\n  \
             stop it:      kill {pid}   (it drains in-flight work, then exits)\n  \
             its log:      {log}",
            pid = child.id(),
            socket = config.control.socket.display(),
            log = log_path.display(),
        );
        return Ok(ExitCode::SUCCESS);
    }
    // SIGTERM: the daemon drains in-flight work within its grace period, then exits.
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a pid we spawned and still own (not yet waited for).
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let status = tokio::task::spawn_blocking(move || child.wait()).await??;
    ui?;
    eprintln!(
        "xconnector: daemon stopped ({status}); its log is {}",
        log_path.display()
    );
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Waits until the control socket answers. `Some(code)` if the daemon exited instead.
async fn wait_until_up(child: &mut Child, socket: &PathBuf) -> anyhow::Result<Option<ExitCode>> {
    let deadline = Instant::now() + STARTUP;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(ExitCode::from(
                status.code().unwrap_or(1).clamp(1, 255) as u8,
            )));
        }
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            return Ok(None);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!(
                "the daemon did not open {} within {STARTUP:?}",
                socket.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
