//! Refused requests, logged in aggregate. Anyone who can reach the port can send unsigned
//! webhooks or bad tokens; a line for each would let them flood the journal (10,000 lines in
//! minutes). The first refusal of a kind from a source is said at once, the rest are counted
//! and said once per interval with their count; each one's detail is at debug level. The
//! counters on `/metrics` count every refusal exactly, whatever is logged.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

/// How often the counts of repeated refusals are said.
pub const EVERY: Duration = Duration::from_secs(60);
/// Sources told apart per interval; refusals from more than this many share one line.
const SOURCES: usize = 64;
/// Longest source kept (it comes from a header).
const SOURCE_CHARS: usize = 64;

/// A refusal's kind and where it came from.
type Key = (&'static str, String);

/// Counts of one interval.
#[derive(Debug, Default)]
pub struct Tally {
    counts: BTreeMap<Key, u64>,
}

impl Tally {
    /// Counts one refusal; true when it is the first of its key this interval (to be said now).
    pub fn note(&mut self, what: &'static str, source: &str) -> bool {
        let mut source: String = source.chars().take(SOURCE_CHARS).collect();
        if !self.counts.contains_key(&(what, source.clone())) && self.counts.len() >= SOURCES {
            source = "(other sources)".into();
        }
        let n = self.counts.entry((what, source)).or_default();
        *n += 1;
        *n == 1
    }

    /// The refusals not yet said (beyond each key's first), and a fresh interval.
    pub fn take(&mut self) -> Vec<(Key, u64)> {
        std::mem::take(&mut self.counts)
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, n)| (k, n - 1))
            .collect()
    }
}

struct Log {
    tally: Tally,
    since: Instant,
}

static LOG: Mutex<Option<Log>> = Mutex::new(None);

/// Logs a refusal of kind `what` (a fixed phrase) from `source` (a shop domain, an API
/// resource): at once if it is the first of its kind this interval, else in the next count.
pub fn refused(what: &'static str, source: &str) {
    let mut log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    let log = log.get_or_insert_with(|| Log {
        tally: Tally::default(),
        since: Instant::now(),
    });
    if log.since.elapsed() >= EVERY {
        say(log.tally.take());
        log.since = Instant::now();
    }
    if log.tally.note(what, source) {
        warn!(source, "{what} (repeats are counted, one line a minute)");
    }
}

/// Says the counts of the interval so far (the daemon calls it every [`EVERY`]).
pub fn flush() {
    let mut log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(log) = log.as_mut() {
        say(log.tally.take());
        log.since = Instant::now();
    }
}

fn say(counts: Vec<(Key, u64)>) {
    for ((what, source), count) in counts {
        warn!(source, count, "{what}: {count} more in the last minute");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_a_kind_is_said_the_rest_counted_per_interval() {
        let mut t = Tally::default();
        assert!(t.note("webhook signature refused", "a.myshopify.com"));
        for _ in 0..4 {
            assert!(!t.note("webhook signature refused", "a.myshopify.com"));
        }
        assert!(t.note("webhook signature refused", "b.myshopify.com"));
        assert!(t.note("bearer token refused", "inventory"));
        assert_eq!(
            t.take(),
            [(
                ("webhook signature refused", "a.myshopify.com".to_string()),
                4
            )]
        );
        // A new interval: the first is said again.
        assert!(t.note("webhook signature refused", "a.myshopify.com"));
        assert!(t.take().is_empty());
    }

    #[test]
    fn many_sources_share_a_line_and_long_ones_are_cut() {
        let mut t = Tally::default();
        for i in 0..SOURCES + 10 {
            t.note("bearer token refused", &format!("source-{i}"));
        }
        assert!(!t.note("bearer token refused", "yet another"));
        let long = "x".repeat(1000);
        let mut t = Tally::default();
        t.note("webhook signature refused", &long);
        t.note("webhook signature refused", &long);
        let said = t.take();
        assert_eq!(said[0].0.1.len(), SOURCE_CHARS);
    }
}
