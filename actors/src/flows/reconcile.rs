//! The reconciliation poll's cursor, shared by every flow that polls Shopify for changes no
//! webhook brought (orders, customers): where the last poll got to, where the next one
//! starts (a little before, since Shopify's search index lags a change), and moving it on
//! only past what is stored.

use std::future::Future;
use std::time::Duration;

use super::FlowContext;
use crate::item::{Millis, NewItem, now_ms};
use crate::shopify::ShopifyError;
use crate::store::StoreError;

#[derive(Debug, Clone)]
pub struct Reconcile {
    pub every: Duration,
    /// How far before the last poll's newest change the next poll starts: Shopify's search
    /// index can lag behind a change for a little while.
    pub overlap: Duration,
    /// The shop, naming the poll's cursor.
    pub shop: String,
}

/// Why a poll stopped; the next one retries.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Shopify(#[from] ShopifyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Reconcile {
    fn cursor(&self) -> String {
        format!("reconcile:{}", self.shop)
    }

    /// The newest change the last poll saw (ms), and the `updated_at` the next poll asks
    /// from (RFC 3339, `overlap` earlier). The first poll looks back one period: the daemon
    /// does not backfill history.
    pub async fn start(&self, ctx: &FlowContext) -> Result<(Millis, String), StoreError> {
        let last = ctx
            .store
            .cursor(&ctx.name, &self.cursor())
            .await?
            .and_then(|raw| <[u8; 8]>::try_from(raw.as_slice()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or_else(|| now_ms().saturating_sub(self.every.as_millis() as Millis));
        let overlap = self.overlap.as_millis() as Millis;
        Ok((last, rfc3339(last.saturating_sub(overlap))))
    }

    /// Moves the cursor to `newest`; call it only once what the poll found is stored.
    pub async fn advance(&self, ctx: &FlowContext, newest: Millis) -> Result<(), StoreError> {
        ctx.store
            .set_cursor(&ctx.name, &self.cursor(), newest.to_be_bytes().to_vec())
            .await
    }
}

/// One page of a poll's listing: the versions on it (`(id, updatedAt in ms)`) and the next
/// page's cursor.
pub struct Page {
    pub versions: Vec<(u64, Millis)>,
    pub next: Option<String>,
}

/// The items a poll makes of the versions it finds: of `kind`, named `"{noun} {id}"`, each
/// deduplicated by `key(id, at)` with the webhook that brings the same version.
pub struct Versioned {
    pub kind: &'static str,
    pub noun: &'static str,
    pub key: fn(u64, Millis) -> String,
}

impl Reconcile {
    /// Lists, page by page (`page(since, after)`), what changed since the last poll, enqueues
    /// each version newer than the one the flow processed (`seen(ids)`), and moves the cursor
    /// on past each stored page. Returns how many versions were new.
    pub async fn poll<P, PF, S, SF>(
        &self,
        ctx: &FlowContext,
        what: &Versioned,
        mut page: P,
        seen: S,
    ) -> Result<usize, ReconcileError>
    where
        P: FnMut(String, Option<String>) -> PF,
        PF: Future<Output = Result<Page, ShopifyError>>,
        S: Fn(Vec<u64>) -> SF,
        SF: Future<Output = Result<Vec<Millis>, StoreError>>,
    {
        let (last, since) = self.start(ctx).await?;
        let (mut newest, mut found, mut after) = (last, 0, None);
        loop {
            let listed = page(since.clone(), after).await?;
            let ids = listed.versions.iter().map(|(id, _)| *id).collect();
            let seen = seen(ids).await?;
            newest = listed
                .versions
                .iter()
                .map(|(_, at)| *at)
                .fold(newest, Millis::max);
            found += enqueue_unseen(ctx, what, &listed.versions, &seen).await?;
            // The cursor moves only past what is stored.
            self.advance(ctx, newest).await?;
            match listed.next {
                Some(next) => after = Some(next),
                None => return Ok(found),
            }
        }
    }
}

/// Enqueues, of the versions a poll listed, those newer than the newest the flow processed
/// (`seen`, in the same order), with payload `{"id": N}`. Returns how many were new.
async fn enqueue_unseen(
    ctx: &FlowContext,
    what: &Versioned,
    versions: &[(u64, Millis)],
    seen: &[Millis],
) -> Result<usize, StoreError> {
    let items: Vec<NewItem> = versions
        .iter()
        .zip(seen)
        .filter(|((_, at), seen)| at > seen)
        .map(|(&(id, at), _)| {
            NewItem::new(
                &*ctx.name,
                what.kind,
                format!("{} {id}", what.noun),
                serde_json::to_vec(&serde_json::json!({"id": id})).unwrap_or_default(),
            )
            .dedupe((what.key)(id, at))
        })
        .collect();
    if items.is_empty() {
        return Ok(0);
    }
    Ok(ctx
        .store
        .enqueue(items)
        .await?
        .iter()
        .filter(|e| !e.duplicate)
        .count())
}

/// A time in ms as Shopify's search syntax takes it.
pub fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
