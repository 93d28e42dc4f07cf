//! What xconnector knows about each return (by its GID) and each refund, and the return
//! requests of each customer (for the per-customer rule). A `returnProcess` is recorded as
//! attempted before it is sent, with the quantities processed before it, so that a retry whose
//! answer was lost can tell from the return whether it ran.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::flows::fan_out::Deliveries;
use crate::flows::write::records;
use crate::item::{ItemId, Millis};
use crate::store::{StoreError, StoreHandle};

const RETURNS: &str = "returns";
const REFUNDS: &str = "returns.refunds";
const CUSTOMERS: &str = "returns.customers";

/// How a return was decided, and by whom (`rules`, `operator:ada`, `api:erp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {
    pub approve: bool,
    pub by: String,
    pub at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A `returnProcess` of one receipt (the item that brought it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processing {
    pub receipt: ItemId,
    pub attempted_at: Millis,
    /// Return line → units processed before the attempt, and units it processes.
    pub lines: BTreeMap<String, (u32, u32)>,
    #[serde(default)]
    pub done: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRecord {
    /// Shopify's status as last seen (`REQUESTED`, `OPEN`, …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided: Option<Decided>,
    /// The item held for a person, while it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<ItemId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processing: Vec<Processing>,
    /// The `review` endpoints told of its hold.
    #[serde(default)]
    pub review: Deliveries,
}

/// A refund told to accounting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecord {
    #[serde(default)]
    pub delivered: Deliveries,
}

pub async fn load(store: &StoreHandle, id: &str) -> Result<ReturnRecord, StoreError> {
    Ok(records::load_many(store, RETURNS, vec![id.to_string()])
        .await?
        .pop()
        .unwrap_or_default())
}

pub async fn save(store: &StoreHandle, id: &str, record: &ReturnRecord) -> Result<(), StoreError> {
    records::save_many(store, RETURNS, &[(id.to_string(), record)]).await
}

pub async fn load_refund(store: &StoreHandle, id: &str) -> Result<RefundRecord, StoreError> {
    Ok(records::load_many(store, REFUNDS, vec![id.to_string()])
        .await?
        .pop()
        .unwrap_or_default())
}

pub async fn save_refund(
    store: &StoreHandle,
    id: &str,
    record: &RefundRecord,
) -> Result<(), StoreError> {
    records::save_many(store, REFUNDS, &[(id.to_string(), record)]).await
}

/// Whether the refunds with these GIDs were told to accounting (in order).
pub async fn refunds_known(store: &StoreHandle, ids: &[String]) -> Result<Vec<bool>, StoreError> {
    let raw = store.mappings(REFUNDS, ids.to_vec()).await?;
    Ok(raw.into_iter().map(|r| r.is_some()).collect())
}

/// Whether these returns have a record (in order).
pub async fn returns_known(store: &StoreHandle, ids: &[String]) -> Result<Vec<bool>, StoreError> {
    let raw = store.mappings(RETURNS, ids.to_vec()).await?;
    Ok(raw.into_iter().map(|r| r.is_some()).collect())
}

/// A customer's return requests: return GID → when it was requested.
pub type CustomerReturns = BTreeMap<String, Millis>;

pub async fn customer_returns(
    store: &StoreHandle,
    customer: &str,
) -> Result<CustomerReturns, StoreError> {
    Ok(
        records::load_many(store, CUSTOMERS, vec![customer.to_string()])
            .await?
            .pop()
            .unwrap_or_default(),
    )
}

/// Adds a request to the customer's (keeping the newest 100).
pub async fn add_customer_return(
    store: &StoreHandle,
    customer: &str,
    returns: &mut CustomerReturns,
    id: &str,
    at: Millis,
) -> Result<(), StoreError> {
    if returns.insert(id.to_string(), at).is_some() {
        return Ok(());
    }
    while returns.len() > 100 {
        let oldest = returns
            .iter()
            .min_by_key(|(_, at)| **at)
            .map(|(id, _)| id.clone());
        match oldest {
            Some(id) => returns.remove(&id),
            None => break,
        };
    }
    records::save_many(store, CUSTOMERS, &[(customer.to_string(), &*returns)]).await
}
