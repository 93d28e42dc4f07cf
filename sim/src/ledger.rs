//! What a simulated shop keeps across restarts: its [`Counters`] (the next id, order number,
//! event id and sign-up number) and how many times it started, in one small JSON file.
//!
//! The shop itself is not kept: every start seeds it again from the seed, the same products,
//! locations, customers and orders with the same ids. What the traffic and the API made is
//! gone, but nothing made after a restart reuses an id or an order number of anything made
//! before it, so a daemon that remembers the last run (its dedupe keys, its id maps, what its
//! targets were sent) never takes a new order for an old one.
//!
//! The file is written ahead: it holds every counter a block past what was handed out, and is
//! rewritten (to a temporary file, fsync'd, renamed, the directory fsync'd) whenever a counter
//! reaches it, before what that counter numbered is seen by anyone. A crash therefore never
//! makes a counter go back, at the price of skipping up to a block at the next start; a clean
//! stop writes the counters as they are, so after one nothing is skipped.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::shop::Counters;

/// How far ahead of the counters the file is written: a write per this many ids (about a
/// thousand orders' worth), orders, events or sign-ups.
const AHEAD: Counters = Counters {
    next_id: 10_000,
    next_order_number: 100,
    next_event_id: 10_000,
    next_signup: 100,
};

/// The file's content. A counter it lacks (from before the counter existed) starts over.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    /// Starts of a shop with this file, the one that wrote it included.
    starts: u64,
    /// What the shop is seeded from: another seed or size is another shop.
    shop: String,
    counters: Counters,
}

/// A shop's state file, open.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    shop: String,
    /// What the file held at open; none on a first start.
    saved: Option<Counters>,
    restarts: u64,
    /// What the file holds (or was last meant to): every counter handed out is below it.
    covered: Counters,
    /// The last write failed; said once until one succeeds.
    failing: bool,
}

impl Ledger {
    /// Reads the state file at `path` of a shop seeded as `shop` says ("seed 1, 50 products…");
    /// no file there is a first start. A file that cannot be read or understood is an error:
    /// starting over from the first numbers would repeat the ones it recorded.
    pub fn open(path: &Path, shop: &str) -> anyhow::Result<Ledger> {
        let saved = match std::fs::read(path) {
            Ok(bytes) => Some(serde_json::from_slice::<Saved>(&bytes).with_context(|| {
                format!(
                    "{}: not the simulated shop's state; move it aside to number the shop \
                     afresh (the daemon may then take new orders for ones it has seen)",
                    path.display()
                )
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", path.display()));
            }
        };
        if let Some(saved) = saved.as_ref().filter(|s| s.shop != shop) {
            warn!(
                file = %path.display(),
                before = %saved.shop,
                now = %shop,
                "the simulated shop is seeded differently than before: its seeded ids may name \
                 what the last run made; start with a fresh data directory for a new shop"
            );
        }
        Ok(Ledger {
            path: path.to_path_buf(),
            shop: shop.to_string(),
            restarts: saved.as_ref().map_or(0, |s| s.starts),
            saved: saved.map(|s| s.counters),
            covered: Counters::default(),
            failing: false,
        })
    }

    /// How many times a shop started with this file before this start.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The counters to go on from, `seeded` (where seeding left them) raised to what the file
    /// held; writes this start down, a block ahead.
    pub(crate) fn resume(&mut self, seeded: Counters) -> Counters {
        let now = self.saved.map_or(seeded, |saved| seeded.max(saved));
        self.write(ahead(now));
        now
    }

    /// Make sure the file covers `now`, the counters just moved.
    pub(crate) fn cover(&mut self, now: Counters) {
        if !self.covered.covers(&now) {
            self.write(ahead(now));
        }
    }

    /// Write `now` as it is (a clean stop).
    pub(crate) fn settle(&mut self, now: Counters) {
        self.write(now);
    }

    fn write(&mut self, counters: Counters) {
        let saved = Saved {
            starts: self.restarts + 1,
            shop: self.shop.clone(),
            counters,
        };
        match write_atomically(&self.path, &saved) {
            Ok(()) if self.failing => {
                self.failing = false;
                info!(file = %self.path.display(), "the simulated shop's state is written again");
            }
            Ok(()) => {}
            Err(e) if !self.failing => {
                self.failing = true;
                warn!(
                    file = %self.path.display(),
                    error = %e,
                    "cannot write the simulated shop's state: after a restart its ids and order \
                     numbers may repeat ones the daemon has seen"
                );
            }
            Err(_) => {}
        }
        // Also after a failure: tried again a block later rather than at every id.
        self.covered = counters;
    }
}

fn ahead(c: Counters) -> Counters {
    Counters {
        next_id: c.next_id.saturating_add(AHEAD.next_id),
        next_order_number: c.next_order_number.saturating_add(AHEAD.next_order_number),
        next_event_id: c.next_event_id.saturating_add(AHEAD.next_event_id),
        next_signup: c.next_signup.saturating_add(AHEAD.next_signup),
    }
}

/// Replaces `path` with `saved` so that a crash at any moment leaves the old file or the new
/// one, whole.
fn write_atomically(path: &Path, saved: &Saved) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(saved)?)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shop::{Shop, ShopEvent};

    fn shop() -> Shop {
        let mut shop = Shop::seed(3, &crate::SeedSize::small());
        shop.set_clock(crate::time::Timestamp::parse("2026-10-01T00:00:00Z"));
        shop
    }

    /// Places one order; its name, id and the event ids it caused.
    fn order(shop: &mut Shop) -> (String, u64, Vec<u64>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ShopEvent>();
        shop.set_event_sender(Some(tx));
        let variant = *shop.variants.keys().next().unwrap();
        let id = shop.create_order(crate::shop::OrderSpec {
            line_items: vec![crate::shop::LineSpec::variant(variant, 1)],
            ..Default::default()
        });
        let events = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.event_id)
            .collect();
        (shop.orders[&id].name.clone(), id, events)
    }

    fn number(name: &str) -> u64 {
        name.trim_start_matches('#').parse().unwrap()
    }

    #[test]
    fn a_restarted_shop_numbers_on_from_where_the_last_one_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/simulator.json");

        let mut first = shop();
        let seeded = first.counters();
        let ledger = Ledger::open(&path, "seed 3").unwrap();
        assert_eq!(ledger.restarts(), 0);
        first.keep_counters(ledger);
        let mut made = vec![order(&mut first), order(&mut first)];
        first.save_counters();
        drop(first);

        // A clean stop: on from the next number, nothing skipped.
        let mut second = shop();
        assert_eq!(
            second.counters(),
            seeded,
            "seeding does not depend on the file"
        );
        let ledger = Ledger::open(&path, "seed 3").unwrap();
        assert_eq!(ledger.restarts(), 1);
        second.keep_counters(ledger);
        let next = order(&mut second);
        assert_eq!(number(&next.0), number(&made[1].0) + 1);
        assert!(next.1 > made[1].1);
        assert!(next.2[0] > *made[1].2.last().unwrap());
        made.push(next);
        // A crash: the file was written ahead of everything handed out.
        for _ in 0..150 {
            made.push(order(&mut second));
        }
        drop(second);

        let mut third = shop();
        let ledger = Ledger::open(&path, "seed 3").unwrap();
        assert_eq!(ledger.restarts(), 2);
        third.keep_counters(ledger);
        let next = order(&mut third);
        let last = made.last().unwrap();
        assert!(
            number(&next.0) > number(&last.0),
            "{} after {}",
            next.0,
            last.0
        );
        assert!(next.1 > last.1);
        assert!(next.2[0] > *last.2.last().unwrap());
    }

    #[test]
    fn a_file_that_is_not_the_shops_state_is_refused_not_started_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("simulator.json");
        std::fs::write(&path, "{\"starts\": 1").unwrap();
        let err = format!("{:#}", Ledger::open(&path, "seed 3").unwrap_err());
        assert!(err.contains("move it aside"), "{err}");
    }
}
