//! The vocabulary of configuration that flows share with the binary's loader: durations as
//! `config.toml` writes them, key paths, and the problems a check reports. The loader (TOML,
//! spans, line numbers) is the binary's; what a flow's section means is the flow's.

pub mod duration;
mod key_path;

use std::collections::BTreeSet;
use std::time::Duration;

pub use key_path::{KeyPath, Seg};

/// Items in flight at once, for any flow or endpoint.
pub const CONCURRENCY: std::ops::RangeInclusive<u32> = 1..=1024;

/// One thing wrong with a configuration, named by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key the message is about.
    pub path: KeyPath,
    /// Where to point for the line, in order of preference, when `path` is not the best place
    /// (an array element; the other key of a pair when this one is unset). The first one
    /// present in the file wins.
    pub at: Vec<KeyPath>,
    pub message: String,
}

/// The problems a check found, with paths relative to where it was pointed (`under`).
#[derive(Debug, Default)]
pub struct Problems {
    under: KeyPath,
    found: Vec<Problem>,
}

impl Problems {
    pub fn new() -> Problems {
        Problems::default()
    }

    /// Problems whose paths are relative to `under` (a flow's `flows.NAME`).
    pub fn under(under: KeyPath) -> Problems {
        Problems {
            under,
            found: Vec::new(),
        }
    }

    pub fn push(&mut self, path: KeyPath, message: impl Into<String>) {
        self.push_at(path, Vec::new(), message);
    }

    pub fn push_at(&mut self, path: KeyPath, at: Vec<KeyPath>, message: impl Into<String>) {
        self.found.push(Problem {
            path: self.under.join(&path),
            at: at.iter().map(|a| self.under.join(a)).collect(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    pub fn into_vec(self) -> Vec<Problem> {
        self.found
    }

    pub fn extend(&mut self, other: Problems) {
        self.found.extend(other.found);
    }

    pub fn positive(&mut self, path: KeyPath, value: Duration) {
        if value.is_zero() {
            self.push(path, "must be greater than 0s");
        }
    }

    pub fn concurrency(&mut self, path: KeyPath, value: u32) {
        if !CONCURRENCY.contains(&value) {
            self.push(
                path,
                format!(
                    "{value} is out of range; expected {} to {}",
                    CONCURRENCY.start(),
                    CONCURRENCY.end()
                ),
            );
        }
    }

    /// A count that must be 1 to `max` (entries per request, calls per batch).
    pub fn between_1_and(&mut self, path: KeyPath, value: u32, max: u32) {
        if !(1..=max).contains(&value) {
            self.push(path, format!("must be 1 to {max}, not {value}"));
        }
    }

    /// A resource's drop directory (`watch_dir`, optional) and how often it is scanned
    /// (`watch_every`), under `section`.
    pub fn drop_dir(&mut self, section: &KeyPath, dir: Option<&std::path::Path>, every: Duration) {
        self.positive(section.key("watch_every"), every);
        if dir.is_some_and(|d| d.as_os_str().is_empty()) {
            self.push(
                section.key("watch_dir"),
                "must not be empty (leave it out to watch nothing)",
            );
        }
    }

    pub fn max_attempts(&mut self, path: KeyPath, value: u32) {
        if value == 0 {
            self.push(path, "must be at least 1");
        }
    }

    /// Checks that `name` is one of `endpoints` (the `[endpoints.NAME]` tables of the file,
    /// valid or not, so that a broken endpoint does not also make every reference to it
    /// unknown); true if it is.
    pub fn endpoint_ref(
        &mut self,
        path: &KeyPath,
        at: Vec<KeyPath>,
        name: &str,
        endpoints: &BTreeSet<String>,
    ) -> bool {
        if endpoints.contains(name) {
            return true;
        }
        let known = if endpoints.is_empty() {
            "no endpoints are defined".to_owned()
        } else {
            let names: Vec<&str> = endpoints.iter().map(String::as_str).collect();
            format!("defined endpoints: {}", names.join(", "))
        };
        self.push_at(
            path.clone(),
            at,
            format!("unknown endpoint {name:?} ({known})"),
        );
        false
    }

    /// Checks a flow's `targets` list: each one a defined endpoint, none listed twice.
    pub fn targets(&mut self, path: &KeyPath, targets: &[String], endpoints: &BTreeSet<String>) {
        let mut seen = BTreeSet::new();
        for (i, target) in targets.iter().enumerate() {
            let at = vec![path.index(i)];
            if self.endpoint_ref(path, at.clone(), target, endpoints) && !seen.insert(target) {
                self.push_at(
                    path.clone(),
                    at,
                    format!("endpoint {target:?} is listed twice"),
                );
            }
        }
    }
}
