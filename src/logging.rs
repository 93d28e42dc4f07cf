//! Log output through tracing: human-readable or JSON lines on stderr, plus the recent lines
//! (info and above) kept in memory for operators (`/v1/logs`, the TUI's log pane).

use std::collections::VecDeque;
use std::fmt::Write;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};
use xconnector_actors::item::{Millis, now_ms};

use crate::config::LogFormat;

/// Recent lines kept for operators; older ones are in the daemon's log.
const RECENT: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub seq: u64,
    pub at: Millis,
    pub level: String,
    pub target: String,
    pub message: String,
}

/// The recent log lines at info and above, shared by the logging layer and the control API.
#[derive(Clone, Default)]
pub struct RecentLogs(Arc<Mutex<(u64, VecDeque<LogLine>)>>);

impl RecentLogs {
    /// Lines after `seq`, oldest first.
    pub fn since(&self, seq: u64) -> Vec<LogLine> {
        self.since_at(seq, Level::INFO)
    }

    /// Lines after `seq` at `level` or more severe, oldest first.
    pub fn since_at(&self, seq: u64, level: Level) -> Vec<LogLine> {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .1
            .iter()
            .filter(|l| l.seq > seq && l.level.parse::<Level>().is_ok_and(|l| l <= level))
            .cloned()
            .collect()
    }

    fn push(&self, level: &Level, target: &str, message: String) {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard.0 += 1;
        let seq = guard.0;
        guard.1.push_back(LogLine {
            seq,
            at: now_ms(),
            level: level.to_string(),
            target: target.to_string(),
            message,
        });
        while guard.1.len() > RECENT {
            guard.1.pop_front();
        }
    }
}

/// Formats an event's message and fields into one line.
struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for RecentLogs {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = event.metadata().level();
        if *level <= Level::INFO {
            let mut line = Line(String::new());
            event.record(&mut line);
            self.push(level, event.metadata().target(), line.0);
        }
    }
}

/// Where this process's full log goes, in words for an operator: a file's path, the journal,
/// or a terminal. Worked out once, from what stderr is.
pub fn destination() -> &'static str {
    static WHERE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    WHERE.get_or_init(|| {
        let target = std::fs::read_link("/proc/self/fd/2")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if std::env::var_os("JOURNAL_STREAM").is_some() && target.starts_with("socket:") {
            "the systemd journal (journalctl -u xconnector)".into()
        } else if target.starts_with("/dev/pts/") || target.starts_with("/dev/tty") {
            format!("the daemon's terminal ({target})")
        } else if target.starts_with('/') && !target.starts_with("/dev/") {
            target
        } else {
            "the daemon's stderr".into()
        }
    })
}

/// The storage library's own targets: it logs every table it flushes or compacts at info.
const STORAGE_TARGETS: [&str; 2] = ["lsm_tree", "fjall"];

/// `spec` with the storage library at warn, unless `spec` names it.
fn quiet_storage(spec: &str) -> String {
    let mut spec = spec.trim().to_string();
    for target in STORAGE_TARGETS {
        if !spec.contains(target) {
            spec = if spec.is_empty() {
                format!("{target}=warn")
            } else {
                format!("{spec},{target}=warn")
            };
        }
    }
    spec
}

/// Installs the global subscriber. `RUST_LOG`, when set, wins over the configured level.
pub fn init(level: &str, format: LogFormat) -> anyhow::Result<RecentLogs> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.trim().is_empty() => EnvFilter::try_new(quiet_storage(&env))
            .map_err(|e| anyhow::anyhow!("RUST_LOG: invalid filter {env:?}: {e}"))?,
        _ => EnvFilter::try_new(quiet_storage(level))
            .map_err(|e| anyhow::anyhow!("log.level: invalid filter {level:?}: {e}"))?,
    };
    // Colour only for a person at a terminal who has not asked for none (no-color.org).
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let recent = RecentLogs::default();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let fmt = match format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(recent.clone())
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))?;
    Ok(recent)
}

#[cfg(test)]
mod tests {
    use super::quiet_storage;

    #[test]
    fn the_storage_library_is_at_warn_unless_asked_for() {
        assert_eq!(quiet_storage("info"), "info,lsm_tree=warn,fjall=warn");
        assert_eq!(quiet_storage(""), "lsm_tree=warn,fjall=warn");
        assert_eq!(
            quiet_storage("info,lsm_tree=debug"),
            "info,lsm_tree=debug,fjall=warn"
        );
    }
}
