//! The C allocator's share of the daemon's memory. The heap the daemon uses stays level under a
//! steady load (the store's memtables and cache are bounded by `[store]`, and nothing else
//! keeps per-order state), but glibc's malloc keeps what was freed: one arena per thread that
//! ever contended (up to eight per core), and freed pages inside an arena are only given back
//! by `malloc_trim`. Under a long stream of webhooks the resident size then crept up by about
//! 40 bytes per order with the live heap flat (`xconnector bench soak`). Two arenas and a trim
//! every few seconds keep the resident size near the heap.

use std::time::Duration;

/// How often freed memory is handed back to the system.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// At most two malloc arenas; call before the runtime starts its threads.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tuning parameter of glibc's allocator; it is called
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Gives the pages malloc holds free back to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes the allocator's own locks and only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims every [`TRIM_EVERY`], forever (the daemon aborts it at shutdown).
pub async fn trim_periodically() {
    let mut every = tokio::time::interval(TRIM_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // Off the async workers: it walks the heap's free lists.
        let _ = tokio::task::spawn_blocking(trim).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn trimming_is_harmless_at_any_time() {
        super::limit_arenas();
        let held: Vec<Vec<u8>> = (0..1_000).map(|n| vec![n as u8; 4096]).collect();
        super::trim();
        assert!(held.iter().enumerate().all(|(n, v)| v[4095] == n as u8));
        drop(held);
        super::trim();
    }
}
