//! What xconnector knows about each order, shared by the orders and exceptions flows: the
//! newest version seen, whether it was released to fulfilment, its open exception, and the
//! newest version each target has. A version is the order's `updated_at` in milliseconds.
//!
//! Both flows change a record only while holding that order's lock, so two versions of one
//! order (a webhook and a retry, an operator's resolve and a newer webhook) are never decided
//! at once; and a target is only sent a version newer than the one it has, so it never sees an
//! older version after a newer one.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::MutexGuard;

use crate::flows::fan_out::Deliveries;
use crate::flows::stripes::Stripes;
use crate::flows::write::records;
use crate::item::{ItemId, ItemState, Millis, OperatorAction};
use crate::store::{StoreError, StoreHandle};

/// The store namespace of the records.
const NAMESPACE: &str = "orders";

/// Who the audit log names when xconnector itself closes an exception.
pub const SYSTEM: &str = "xconnector";

/// The dedupe key of one version of an order: a webhook and a poll that bring the same
/// version make one item, so its id is the one idempotency key of that version.
pub fn version_key(order_id: u64, version: Millis) -> String {
    format!("order:{order_id}:{version}")
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The newest version processed; older ones are stale.
    pub seen: Millis,
    /// Passed the rules (or an operator released it): every later version goes to the
    /// targets unchecked.
    pub released: bool,
    /// The exception item holding the order, while it is held.
    pub held: Option<ItemId>,
    /// An operator cancelled the held order: nothing of it is ever sent.
    pub withdrawn: bool,
    /// Target → the newest version it has.
    pub delivered: Deliveries,
}

/// The per-order locks and the records in the store.
#[derive(Default)]
pub struct OrderBook {
    stripes: Stripes,
}

impl OrderBook {
    /// Waits for `order`'s lock.
    pub async fn lock(&self, order: u64) -> MutexGuard<'_, ()> {
        self.stripes.lock(order).await
    }

    pub async fn load(&self, store: &StoreHandle, order: u64) -> Result<OrderRecord, StoreError> {
        Ok(self
            .load_many(store, &[order])
            .await?
            .pop()
            .unwrap_or_default())
    }

    /// The records of many orders at once (the reconciliation poll).
    pub async fn load_many(
        &self,
        store: &StoreHandle,
        orders: &[u64],
    ) -> Result<Vec<OrderRecord>, StoreError> {
        records::load_many(
            store,
            NAMESPACE,
            orders.iter().map(u64::to_string).collect(),
        )
        .await
    }

    pub async fn save(
        &self,
        store: &StoreHandle,
        order: u64,
        record: &OrderRecord,
    ) -> Result<(), StoreError> {
        records::save_by_id(store, NAMESPACE, &[(order, record)]).await
    }
}

/// Closes an exception item that no longer stands (a newer version replaced it, the order
/// was released or cancelled), as cancelled with `why`. An item that is being processed at
/// this moment is given a moment to finish; if it does not, it closes itself when it next
/// runs (the record no longer names it).
pub async fn close_exception(store: &StoreHandle, id: ItemId, why: &str) {
    for _ in 0..40 {
        match store.get(id).await {
            Ok(Some((item, _))) if item.state.is_terminal() => return,
            Ok(Some((item, _))) if item.state == ItemState::InFlight => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Ok(Some(_)) => {
                let _ = store
                    .operate(id, OperatorAction::Cancel, SYSTEM, Some(why.to_string()))
                    .await;
                return;
            }
            _ => return,
        }
    }
}
