//! Drop directories: files appearing in a resource's watched directory (`[flows.inventory]
//! watch_dir`, `[flows.products] watch_dir`). A `.json` file is a request body, as `POST
//! /api/v1/{resource}` takes it, accepted whole or not at all; any other file is CSV, one
//! entry per row, for the resources that take CSV.
//!
//! - A file being written is never read: names starting with `.` or ending in `.tmp` or
//!   `.part` are skipped (write under such a name, then rename), and any other file is read
//!   only once its size and modification time were the same on two scans in a row.
//! - The good rows are stored as a request (like `POST /api/v1/{resource}`, with a request id
//!   `GET /api/v1/requests/{id}` answers for), then the file moves to `done/`; if some rows were
//!   bad it moves to `failed/` instead, next to `NAME.report.txt` naming each bad line and how
//!   many good rows were applied. A file that cannot be stored (the store is down) stays where
//!   it is and is tried again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;
use tracing::{info, warn};
use xconnector_actors::inbound::{Inbound, Report};
use xconnector_actors::item::now_ms;
use xconnector_actors::store::StoreHandle;

use super::requests;

/// What the last scan saw of each file: its size and modification time.
pub type Seen = HashMap<PathBuf, (u64, SystemTime)>;

/// Watches `resource`'s drop directory until `stop` turns true.
pub async fn watch(
    resource: Arc<dyn Inbound>,
    store: StoreHandle,
    mut stop: watch::Receiver<bool>,
) {
    let Some(drop) = resource.drop_dir().cloned() else {
        return;
    };
    let dir = drop.dir;
    for sub in [dir.clone(), dir.join("done"), dir.join("failed")] {
        if let Err(e) = tokio::fs::create_dir_all(&sub).await {
            warn!(resource = resource.path(), dir = %sub.display(), error = %e, "cannot create the drop directory; drops are off");
            return;
        }
    }
    info!(resource = resource.path(), dir = %dir.display(), "watching for drops");
    let mut seen = Seen::new();
    loop {
        scan(&*resource, &dir, &store, &mut seen).await;
        tokio::select! {
            _ = tokio::time::sleep(drop.every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// One pass over `dir`: files stable since the last pass are processed.
pub async fn scan(resource: &dyn Inbound, dir: &Path, store: &StoreHandle, seen: &mut Seen) {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(e) => e,
        Err(e) => {
            warn!(resource = resource.path(), dir = %dir.display(), error = %e, "cannot list the drop directory");
            return;
        }
    };
    let mut present = Vec::new();
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part") {
            continue;
        }
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let stamp = (
            meta.len(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        );
        present.push(path.clone());
        if seen.get(&path) != Some(&stamp) {
            // New or still growing: look again next time.
            seen.insert(path, stamp);
            continue;
        }
        if process(resource, dir, &path, &name, store).await {
            seen.remove(&path);
        }
    }
    seen.retain(|p, _| present.contains(p));
}

/// Reads, stores and moves one file; false if it must be tried again.
async fn process(
    resource: &dyn Inbound,
    dir: &Path,
    path: &Path,
    name: &str,
    store: &StoreHandle,
) -> bool {
    let kind = resource.path();
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) => {
            warn!(resource = kind, file = %path.display(), error = %e, "cannot read a drop; trying again");
            return false;
        }
    };
    let received_at = now_ms();
    let (parsed, report) = if name.to_ascii_lowercase().ends_with(".json") {
        match resource.json(&mut bytes.as_slice(), received_at as i64, &[]) {
            Ok(parsed) => (Some(parsed), Report::default()),
            Err(report) => (None, report),
        }
    } else {
        resource
            .csv(name, &bytes, received_at as i64)
            .unwrap_or_else(|| {
                let mut r = Report::default();
                r.push(format!(
                    "the {kind} resource takes no CSV files; drop a .json request body instead"
                ));
                (None, r)
            })
    };
    let applied = parsed.as_ref().map_or(0, |p| p.accepted);
    if let Some(parsed) = parsed {
        let id = format!("{}-{received_at}", name.replace(['/', '\\'], "_"));
        if let Err(e) = requests::store(store, kind, parsed, &id, None).await {
            warn!(resource = kind, file = %path.display(), error = %e, "cannot store a drop; trying again");
            return false;
        }
    }
    let stamped = format!("{received_at}-{name}");
    let target = if report.is_empty() {
        dir.join("done").join(&stamped)
    } else {
        let text = format!(
            "{name}: {} problem(s); {applied} good entr(ies) were applied.\n{}",
            report.count,
            report.lines()
        );
        let report_path = dir.join("failed").join(format!("{stamped}.report.txt"));
        if let Err(e) = tokio::fs::write(&report_path, text).await {
            warn!(file = %report_path.display(), error = %e, "cannot write a drop report");
        }
        warn!(resource = kind, file = %name, bad = report.count, applied, "a drop had problems");
        dir.join("failed").join(&stamped)
    };
    if let Err(e) = tokio::fs::rename(path, &target).await {
        // Stored already: leaving it would store it again next scan, so say so loudly.
        warn!(resource = kind, file = %path.display(), error = %e, "cannot move a processed drop; remove it by hand");
        return true;
    }
    info!(resource = kind, file = %name, rows = applied, to = %target.display(), "drop processed");
    true
}
