//! Per-record locks for a flow whose items may name the same record at once (two versions of
//! one order, two updates of one shipment): a fixed table of mutexes, record `n` guarded by
//! stripe `n % STRIPES`. Far more stripes than items worked on at once (a flow's
//! `concurrency`, at most 1,024), so two records rarely share one, and a table that never
//! grows, needs no pruning and no lock of its own.

use tokio::sync::{Mutex, MutexGuard};

const STRIPES: usize = 4096;

pub struct Stripes {
    locks: Box<[Mutex<()>]>,
}

impl Default for Stripes {
    fn default() -> Self {
        Stripes {
            locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl Stripes {
    /// Waits for record `n`'s lock.
    pub async fn lock(&self, n: u64) -> MutexGuard<'_, ()> {
        self.locks[(n % STRIPES as u64) as usize].lock().await
    }

    /// The lock of the record named `key` (a shipment's key, a return's GID).
    pub async fn lock_key(&self, key: &str) -> MutexGuard<'_, ()> {
        // FNV-1a: a stable spread of keys over the stripes.
        let n = key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        self.lock(n).await
    }
}
