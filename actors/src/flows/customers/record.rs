//! What xconnector knows about each customer: the newest version processed, each target's
//! newest version, the fingerprints of the field groups last published, and the last state,
//! which `GET /api/v1/customers/{system}/{id}` answers with. Only the customers flow writes
//! these, one batch at a time, so no lock guards them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::canonical::Customer;
use crate::flows::fan_out::Deliveries;
use crate::flows::write::{IdMap, records};
use crate::item::Millis;
use crate::store::{StoreError, StoreHandle};

/// The store namespace of the records (key: the customer's numeric id).
const NAMESPACE: &str = "customers";
/// External id (`system` + `\u{1f}` + id) → the customer's numeric id.
pub const EXTERNAL_IDS: &str = "customers.external";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    /// The newest version processed (Shopify's `updatedAt`, ms); older ones are stale.
    pub seen: Millis,
    /// Target → the newest version it has.
    pub delivered: Deliveries,
    /// Field group → fingerprint of the value last published.
    pub published: BTreeMap<String, u64>,
    /// The customer as last published.
    pub last: Option<Customer>,
}

/// The key of an external id in [`EXTERNAL_IDS`].
pub fn external_key(system: &str, id: &str) -> String {
    format!("{system}\u{1f}{id}")
}

pub async fn load_many(
    store: &StoreHandle,
    ids: &[u64],
) -> Result<Vec<CustomerRecord>, StoreError> {
    records::load_by_id(store, NAMESPACE, ids).await
}

pub async fn save_many(
    store: &StoreHandle,
    saved: &[(u64, &CustomerRecord)],
) -> Result<(), StoreError> {
    records::save_by_id(store, NAMESPACE, saved).await
}

/// What `GET /api/v1/customers/{system}/{id}` answers: the Shopify id mapped to that external
/// id and the last state xconnector knows, or `None` when the id is not mapped.
pub async fn lookup(
    store: &StoreHandle,
    system: &str,
    id: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    let key = external_key(system, id);
    let mut map = IdMap::new(EXTERNAL_IDS);
    let Some(customer) = map.known(store, [&key]).await?.get(&key).copied() else {
        return Ok(None);
    };
    let record = load_many(store, &[customer])
        .await?
        .pop()
        .unwrap_or_default();
    Ok(Some(serde_json::json!({
        "system": system,
        "id": id,
        "shopify_id": format!("gid://shopify/Customer/{customer}"),
        "version": record.seen,
        "delivered": record.delivered,
        "customer": record.last,
    })))
}
