//! CSV drops: stock files appearing in `[flows.inventory] watch_dir`.
//!
//! - Format: `sku,location,available[,as_of]` per line (RFC 4180 quoting allowed); a first
//!   line starting with `sku,` is a header. Files whose name starts with `snapshot` are
//!   snapshot feeds, all others deltas.
//! - A file being written is never read: names starting with `.` or ending in `.tmp` or
//!   `.part` are skipped (write under such a name, then rename), and any other file is read
//!   only once its size and modification time were the same on two scans in a row.
//! - The good lines are stored as a feed (like `POST /api/v1/inventory`), then the file moves
//!   to `done/`; if some lines were bad it moves to `failed/` instead, next to
//!   `NAME.report.txt` naming each bad line and how many good ones were applied. A file that
//!   cannot be stored (the store is down) stays where it is and is tried again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use tokio::sync::watch;
use tracing::{info, warn};
use xconnector_actors::flows::inventory::feed::{CHUNK_LEVELS, Mode};
use xconnector_actors::item::now_ms;
use xconnector_actors::store::StoreHandle;

use crate::inventory_api::{Feed, Report, check_level, store_feed};

/// Watches `dir` every `every` until `stop` turns true.
pub async fn watch(
    dir: PathBuf,
    every: Duration,
    store: StoreHandle,
    mut stop: watch::Receiver<bool>,
) {
    for sub in [dir.clone(), dir.join("done"), dir.join("failed")] {
        if let Err(e) = tokio::fs::create_dir_all(&sub).await {
            warn!(dir = %sub.display(), error = %e, "cannot create the inventory drop directory; CSV drops are off");
            return;
        }
    }
    info!(dir = %dir.display(), "watching for inventory CSV drops");
    let mut seen: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    loop {
        scan(&dir, &store, &mut seen).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// One pass over the directory: files stable since the last pass are processed.
pub async fn scan(dir: &Path, store: &StoreHandle, seen: &mut HashMap<PathBuf, (u64, SystemTime)>) {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(e) => e,
        Err(e) => {
            warn!(dir = %dir.display(), error = %e, "cannot list the inventory drop directory");
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
        if process(dir, &path, &name, store).await {
            seen.remove(&path);
        }
    }
    seen.retain(|p, _| present.contains(p));
}

/// Reads, stores and moves one file; false if it must be tried again.
async fn process(dir: &Path, path: &Path, name: &str, store: &StoreHandle) -> bool {
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) => {
            warn!(file = %path.display(), error = %e, "cannot read an inventory drop; trying again");
            return false;
        }
    };
    let received_at = now_ms() as i64;
    let mode = if name.to_ascii_lowercase().starts_with("snapshot") {
        Mode::Snapshot
    } else {
        Mode::Delta
    };
    let (feed, report) = match std::str::from_utf8(&bytes) {
        Ok(text) => parse_csv(text, &format!("csv:{name}"), mode, received_at),
        Err(e) => {
            let mut r = Report::default();
            r.push(format!("the file is not UTF-8 text: {e}"));
            (None, r)
        }
    };
    let applied = feed.as_ref().map_or(0, Feed::levels);
    if let Some(feed) = feed {
        let id = format!("{}-{received_at}", name.replace(['/', '\\'], "_"));
        if let Err(e) = store_feed(store, feed, &id).await {
            warn!(file = %path.display(), error = %e, "cannot store an inventory drop; trying again");
            return false;
        }
    }
    let stamped = format!("{received_at}-{name}");
    let target = if report.count == 0 {
        dir.join("done").join(&stamped)
    } else {
        let mut text = format!(
            "{name}: {} bad line(s); {applied} good level(s) were applied.\n",
            report.count
        );
        for e in &report.errors {
            text.push_str(e);
            text.push('\n');
        }
        if report.count > report.errors.len() {
            text.push_str(&format!(
                "… and {} more\n",
                report.count - report.errors.len()
            ));
        }
        let report_path = dir.join("failed").join(format!("{stamped}.report.txt"));
        if let Err(e) = tokio::fs::write(&report_path, text).await {
            warn!(file = %report_path.display(), error = %e, "cannot write a drop report");
        }
        warn!(file = %name, bad = report.count, applied, "inventory drop had bad lines");
        dir.join("failed").join(&stamped)
    };
    if let Err(e) = tokio::fs::rename(path, &target).await {
        // Stored already: leaving it would store it again next scan, so say so loudly.
        warn!(file = %path.display(), error = %e, "cannot move a processed inventory drop; remove it by hand");
        return true;
    }
    info!(file = %name, levels = applied, to = %target.display(), "inventory drop processed");
    true
}

/// Parses a drop: the feed of its good lines (if any) and the report of its bad ones.
pub fn parse_csv(text: &str, source: &str, mode: Mode, received_at: i64) -> (Option<Feed>, Report) {
    let mut report = Report::default();
    let mut chunks: Vec<Vec<_>> = Vec::new();
    let mut current = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || (i == 0 && line.to_ascii_lowercase().starts_with("sku,")) {
            continue;
        }
        let fields = match split_csv(line) {
            Ok(f) => f,
            Err(e) => {
                report.push(format!("line {number}: {e}"));
                continue;
            }
        };
        if !(3..=4).contains(&fields.len()) {
            report.push(format!(
                "line {number}: expected 3 or 4 fields (sku,location,available[,as_of]), found {}",
                fields.len()
            ));
            continue;
        }
        let mut object = Map::new();
        object.insert("sku".into(), Value::String(fields[0].trim().to_string()));
        object.insert(
            "location".into(),
            Value::String(fields[1].trim().to_string()),
        );
        let quantity = fields[2].trim();
        object.insert(
            "available".into(),
            serde_json::from_str::<serde_json::Number>(quantity)
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(quantity.to_string())),
        );
        if let Some(as_of) = fields.get(3).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            object.insert("as_of".into(), Value::String(as_of.to_string()));
        }
        let mut line_report = Report::default();
        match check_level(0, Value::Object(object), received_at, &mut line_report) {
            Some(level) => {
                current.push(level);
                if current.len() == CHUNK_LEVELS {
                    chunks.push(std::mem::take(&mut current));
                }
            }
            None => {
                for e in line_report.errors {
                    let e = e.strip_prefix("levels[0].").unwrap_or(&e);
                    report.push(format!("line {number}: {e}"));
                }
            }
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    let feed = (!chunks.is_empty()).then(|| Feed {
        source: source.to_string(),
        mode,
        chunks,
    });
    (feed, report)
}

/// Splits one CSV line, honouring double quotes (`"a,b"`, `"say ""hi"""`).
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines_are_kept_and_bad_ones_named() {
        let text = "sku,location,available,as_of\n\
                    A-1,Main,5\n\
                    A-2,Main,-1\n\
                    \"B,1\",Main,7,2026-11-27T10:00:00Z\n\
                    C-1,Main\n\
                    C-2,Main,3,not-a-time\n\
                    C-3,Main,2.5\n\
                    \"D,Main,1\n";
        let (feed, report) = parse_csv(text, "csv:x", Mode::Delta, 9);
        let feed = feed.unwrap();
        let levels: Vec<_> = feed.chunks.concat();
        assert_eq!(levels.len(), 2);
        assert_eq!(levels[0].sku, "A-1");
        assert_eq!(levels[0].as_of, 9);
        assert_eq!(levels[1].sku, "B,1");
        let all = report.errors.join("\n");
        for needle in [
            "line 3: available: must not be negative",
            "line 5: expected 3 or 4 fields",
            "line 6: as_of: expected an RFC 3339 time",
            "line 7: available: must be a whole number",
            "line 8: a quoted field is not closed",
        ] {
            assert!(all.contains(needle), "{needle:?} missing from:\n{all}");
        }
        assert_eq!(report.count, 5);
    }

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(
            split_csv(r#"a,"b ""c""",d"#).unwrap(),
            ["a", "b \"c\"", "d"]
        );
        assert_eq!(split_csv("a,,b").unwrap(), ["a", "", "b"]);
    }
}
