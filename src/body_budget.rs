//! Memory for request bodies read before anything says who sent them. A webhook's signature
//! covers its whole body, so the body must be in memory before it can be checked; without a
//! bound, strangers holding large unsigned bodies open made the daemon hold gigabytes. Each
//! body is read into memory taken from a budget (`[server] body_memory_mib`), as much as it
//! declares up front (exactly that is allocated), or piece by piece when it declares nothing.
//! A body that cannot get its memory within [`WAIT`] is answered 503, which Shopify retries.
//!
//! Small bodies (what Shopify sends: an order is a few KiB to a few hundred) draw from their
//! own quarter of the budget, so that a flood of large bodies, which is all an attacker gains
//! by, cannot keep Shopify's deliveries out.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bodies that declare at most this many bytes draw from the small bodies' share.
pub const SMALL_BODY: u64 = 256 * 1024;
/// How long a body waits for memory before it is answered 503.
pub const WAIT: Duration = Duration::from_secs(1);
/// How much more memory a body of undeclared length takes at a time.
const STEP: usize = 64 * 1024;

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("no memory for the body within {WAIT:?}")]
    Busy,
    #[error("the body did not arrive in time")]
    TimedOut,
    #[error("the body could not be read: {0}")]
    Unreadable(String),
}

/// The memory for bodies being read, shared by every connection.
#[derive(Clone)]
pub struct BodyBudget {
    small: Arc<Semaphore>,
    large: Arc<Semaphore>,
}

/// A body in memory, holding its share of the budget until it is dropped.
pub struct HeldBody {
    pub bytes: Vec<u8>,
    _memory: OwnedSemaphorePermit,
}

impl BodyBudget {
    /// A budget of `bytes`, a quarter of it for small bodies.
    pub fn new(bytes: usize) -> BodyBudget {
        let small = bytes / 4;
        BodyBudget {
            small: Arc::new(Semaphore::new(small)),
            large: Arc::new(Semaphore::new(bytes - small)),
        }
    }

    /// Bytes of the budget not taken now (for `/metrics`).
    pub fn available(&self) -> usize {
        self.small.available_permits() + self.large.available_permits()
    }

    /// Reads `body`, of at most `max` bytes, into memory from the budget, handing each piece
    /// to `each` as it comes (a signature is computed while the body streams). After an error
    /// the rest of `body` is left unread.
    pub async fn read(
        &self,
        body: &mut Body,
        declared: Option<u64>,
        max: usize,
        mut each: impl FnMut(&[u8]),
    ) -> Result<HeldBody, BodyError> {
        if declared.is_some_and(|n| n > max as u64) {
            return Err(BodyError::TooLarge(max));
        }
        let (pool, first) = match declared {
            Some(n) if n <= SMALL_BODY => (&self.small, n as usize),
            Some(n) => (&self.large, n as usize),
            None => (&self.large, STEP),
        };
        let mut memory = take(pool, first).await?;
        let mut bytes = Vec::with_capacity(first);
        while let Some(frame) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)).await
        {
            let frame = frame.map_err(|e| {
                if crate::serve::caused_by::<crate::serve::BodyTimeout>(&e) {
                    BodyError::TimedOut
                } else {
                    BodyError::Unreadable(e.to_string())
                }
            })?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            if bytes.len() + data.len() > max {
                return Err(BodyError::TooLarge(max));
            }
            if bytes.len() + data.len() > bytes.capacity() {
                // Undeclared length (a declared one is held to by hyper): grow by steps,
                // each one paid for before it is allocated.
                let more = (bytes.len() + data.len() - bytes.capacity()).next_multiple_of(STEP);
                memory.merge(take(pool, more).await?);
                bytes.reserve_exact(more);
            }
            each(&data);
            bytes.extend_from_slice(&data);
        }
        Ok(HeldBody {
            bytes,
            _memory: memory,
        })
    }
}

/// Reads and drops up to `limit` bytes of a refused request's body, using no memory for it. A
/// socket closed with some of the body unread is reset, and the reset can reach the client
/// before the answer does: it would see a broken connection instead of the 401, 413 or 503.
/// Fails with [`BodyError::TimedOut`] when the body stopped coming (`[server] body_timeout`).
pub async fn drain(body: &mut Body, limit: usize) -> Result<(), BodyError> {
    let mut drained = 0;
    while drained < limit {
        match std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)).await {
            Some(Ok(frame)) => drained += frame.data_ref().map_or(0, |d| d.len()),
            Some(Err(e)) if crate::serve::caused_by::<crate::serve::BodyTimeout>(&e) => {
                return Err(BodyError::TimedOut);
            }
            _ => break,
        }
    }
    Ok(())
}

async fn take(pool: &Arc<Semaphore>, bytes: usize) -> Result<OwnedSemaphorePermit, BodyError> {
    // A body larger than the whole pool could never be read; `max` keeps them well below.
    let n = u32::try_from(bytes.max(1)).map_err(|_| BodyError::Busy)?;
    match tokio::time::timeout(WAIT, pool.clone().acquire_many_owned(n)).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(BodyError::Busy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    fn chunked(parts: &[&'static [u8]]) -> Body {
        let stream = futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok::<_, std::io::Error>(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        );
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn a_body_is_read_whole_and_streamed_to_its_observer() {
        let budget = BodyBudget::new(1 << 20);
        let mut seen = Vec::new();
        let held = budget
            .read(&mut chunked(&[b"ab", b"cd"]), None, 100, |p| {
                seen.extend_from_slice(p)
            })
            .await
            .unwrap();
        assert_eq!(held.bytes, b"abcd");
        assert_eq!(seen, b"abcd");
        assert!(budget.available() < 1 << 20, "held memory is taken");
        drop(held);
        assert_eq!(budget.available(), 1 << 20, "and given back");
    }

    #[tokio::test]
    async fn too_large_is_refused_before_and_while_reading() {
        let budget = BodyBudget::new(1 << 20);
        let declared = budget
            .read(&mut Body::from("x"), Some(101), 100, |_| {})
            .await;
        assert!(matches!(declared, Err(BodyError::TooLarge(100))));
        let streamed = budget
            .read(&mut chunked(&[&[b'x'; 60], &[b'x'; 60]]), None, 100, |_| {})
            .await;
        assert!(matches!(streamed, Err(BodyError::TooLarge(100))));
        assert_eq!(budget.available(), 1 << 20);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_budget_answers_busy_and_small_bodies_have_their_share() {
        // 4 MiB: 1 MiB for small bodies, 3 MiB for large ones.
        let budget = BodyBudget::new(4 << 20);
        let big = vec![b'x'; 3 << 20];
        let held = budget
            .read(&mut Body::from(big.clone()), Some(3 << 20), 5 << 20, |_| {})
            .await
            .unwrap();
        let next = budget
            .read(&mut Body::from(big), Some(3 << 20), 5 << 20, |_| {})
            .await;
        assert!(matches!(next, Err(BodyError::Busy)), "large share is spent");
        let small = budget
            .read(&mut Body::from("{}"), Some(2), 5 << 20, |_| {})
            .await
            .unwrap();
        assert_eq!(small.bytes, b"{}");
        drop(held);
        let again = budget
            .read(
                &mut Body::from(vec![b'x'; 3 << 20]),
                Some(3 << 20),
                5 << 20,
                |_| {},
            )
            .await;
        assert!(again.is_ok(), "memory given back is used again");
    }
}
