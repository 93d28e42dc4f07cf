//! The table of levels waiting to be written. Updates for the same (SKU, location) that are
//! still waiting are merged into one entry: the newest `as_of` wins, and on equal `as_of` the
//! later arrival wins (a resent feed corrects the one before). Every submission whose level
//! was merged stays attached to the entry as a waiter, so it learns the outcome of the write
//! that made its own level obsolete.
//!
//! With coalescing off (the benchmark's naive run), every level is its own entry.

use std::collections::BTreeMap;

use super::feed::{Level, Mode};

/// An entry's key: (SKU, location, sequence). The sequence is 0 when coalescing, a running
/// number otherwise, so that uncoalesced levels never share an entry.
pub type Key = (String, String, u64);

/// A level waiting to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<W> {
    pub level: Level,
    /// The mode of the feed whose level won.
    pub mode: Mode,
    pub source: String,
    pub feed: String,
    /// Everyone waiting for this entry's outcome (one per merged level).
    pub waiters: Vec<W>,
}

/// What a merge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// No entry waited for this (SKU, location).
    New,
    /// The new level replaced a waiting older one.
    Replaced,
    /// A newer level was already waiting: the new one only waits for its outcome.
    Superseded,
}

#[derive(Debug)]
pub struct Table<W> {
    entries: BTreeMap<Key, Entry<W>>,
    coalesce: bool,
    seq: u64,
}

impl<W> Table<W> {
    pub fn new(coalesce: bool) -> Table<W> {
        Table {
            entries: BTreeMap::new(),
            coalesce,
            seq: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn merge(
        &mut self,
        level: Level,
        mode: Mode,
        source: &str,
        feed: &str,
        waiter: W,
    ) -> Merge {
        let seq = if self.coalesce {
            0
        } else {
            self.seq += 1;
            self.seq
        };
        let key = (level.sku.clone(), level.location.clone(), seq);
        match self.entries.get_mut(&key) {
            None => {
                self.entries.insert(
                    key,
                    Entry {
                        level,
                        mode,
                        source: source.to_string(),
                        feed: feed.to_string(),
                        waiters: vec![waiter],
                    },
                );
                Merge::New
            }
            Some(entry) => {
                entry.waiters.push(waiter);
                if level.as_of >= entry.level.as_of {
                    entry.level = level;
                    entry.mode = mode;
                    entry.source = source.to_string();
                    entry.feed = feed.to_string();
                    Merge::Replaced
                } else {
                    Merge::Superseded
                }
            }
        }
    }

    /// Everything waiting, in (SKU, location) order; the table is left empty.
    pub fn take(&mut self) -> Vec<Entry<W>> {
        std::mem::take(&mut self.entries).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(sku: &str, available: i64, as_of: i64) -> Level {
        Level {
            sku: sku.into(),
            location: "Main".into(),
            available,
            as_of,
        }
    }

    #[test]
    fn newest_as_of_wins_whatever_the_arrival_order() {
        let mut t = Table::new(true);
        assert_eq!(
            t.merge(level("A", 5, 20), Mode::Delta, "s", "f1", 1),
            Merge::New
        );
        assert_eq!(
            t.merge(level("A", 9, 10), Mode::Delta, "s", "f2", 2),
            Merge::Superseded
        );
        assert_eq!(
            t.merge(level("A", 7, 30), Mode::Snapshot, "s", "f3", 3),
            Merge::Replaced
        );
        assert_eq!(
            t.merge(level("B", 1, 5), Mode::Delta, "s", "f3", 4),
            Merge::New
        );
        let entries = t.take();
        assert!(t.is_empty());
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].level.available, 7);
        assert_eq!(entries[0].mode, Mode::Snapshot);
        assert_eq!(entries[0].feed, "f3");
        assert_eq!(entries[0].waiters, vec![1, 2, 3]);
        assert_eq!(entries[1].waiters, vec![4]);
    }

    #[test]
    fn equal_as_of_takes_the_later_arrival() {
        let mut t = Table::new(true);
        t.merge(level("A", 5, 20), Mode::Delta, "s", "f1", ());
        t.merge(level("A", 6, 20), Mode::Delta, "s", "f2", ());
        assert_eq!(t.take()[0].level.available, 6);
    }

    #[test]
    fn without_coalescing_every_level_is_written() {
        let mut t = Table::new(false);
        t.merge(level("A", 5, 20), Mode::Delta, "s", "f1", ());
        t.merge(level("A", 6, 10), Mode::Delta, "s", "f2", ());
        assert_eq!(t.len(), 2);
    }
}
