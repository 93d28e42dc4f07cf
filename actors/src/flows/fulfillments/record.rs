//! What xconnector knows about each shipment, by sending system and shipment id: its order,
//! the fulfillments it became (planned, attempted, made), the tracking and status they carry,
//! and what each target has. A write is recorded as attempted before it is sent, so a retry
//! whose answer was lost looks in Shopify for what that write made before writing again.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::plan::Allocation;
use super::status::Applied;
use crate::flows::fan_out::Deliveries;
use crate::flows::write::records;
use crate::store::{StoreError, StoreHandle};

/// The store namespace of the records.
const NAMESPACE: &str = "fulfillments";

/// One fulfillment of the shipment: planned, then attempted, then made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub allocation: Allocation,
    /// When a `fulfillmentCreate` for it was last sent (ms): its answer may have been lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempted_at: Option<i64>,
    /// The fulfillment it made (numeric id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made: Option<u64>,
}

/// Carrier, numbers and URLs, as written to Shopify.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentRecord {
    /// The order (numeric id) and its name, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_name: Option<String>,
    /// The fulfillments, one per location shipped from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<Planned>,
    #[serde(default)]
    pub tracking: Tracking,
    /// The newest carrier status given to the fulfillments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Applied>,
    /// A status being given: its events' answers may have been lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_attempt: Option<Applied>,
    /// When it shipped and was delivered (ms): fulfilment-time figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<i64>,
    /// Changes made so far: the version the targets are sent of each (an entry's item id would
    /// not do: a status that waited for its shipment is older than the shipment's entry).
    #[serde(default)]
    pub version: u64,
    /// Target → the newest version it has.
    #[serde(default)]
    pub delivered: Deliveries,
    /// What an entry changed, kept until every target has heard of it: a retry of its
    /// delivery finds nothing left to change, but must still say what changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsent: Vec<Unsent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsent {
    /// The entry's item id.
    pub item: u64,
    /// The version the targets are sent; 0 until it is first sent.
    pub version: u64,
    pub changes: Vec<String>,
}

impl ShipmentRecord {
    /// Every planned fulfillment is made.
    pub fn shipped(&self) -> bool {
        !self.plan.is_empty() && self.plan.iter().all(|p| p.made.is_some())
    }

    /// Notes that entry `item` changed `change` (`shipped`, `tracking`, `status`), in the
    /// record saved with the change itself, so a retry after a crash still says it.
    pub fn changed(&mut self, item: u64, change: &str) {
        let i = match self.unsent.iter().position(|u| u.item == item) {
            Some(i) => i,
            None => {
                self.unsent.push(Unsent {
                    item,
                    version: 0,
                    changes: Vec::new(),
                });
                self.unsent.len() - 1
            }
        };
        let changes = &mut self.unsent[i].changes;
        if !changes.iter().any(|c| c == change) {
            changes.push(change.to_string());
        }
    }

    /// The fulfillments made (numeric ids).
    pub fn fulfillments(&self) -> impl Iterator<Item = u64> + '_ {
        self.plan.iter().filter_map(|p| p.made)
    }
}

/// The record's key: the sending system and its shipment id.
pub fn key(system: &str, shipment: &str) -> String {
    format!("{system}/{shipment}")
}

pub async fn load(store: &StoreHandle, key: &str) -> Result<ShipmentRecord, StoreError> {
    Ok(records::load_many(store, NAMESPACE, vec![key.to_string()])
        .await?
        .pop()
        .unwrap_or_default())
}

pub async fn save(
    store: &StoreHandle,
    key: &str,
    record: &ShipmentRecord,
) -> Result<(), StoreError> {
    records::save_many(store, NAMESPACE, &[(key.to_string(), record)]).await
}

/// `GET /api/v1/shipments/{system}/{id}`: the shipment's order, fulfillments, tracking and
/// status; `None` when nothing is known of it.
pub async fn lookup(
    store: &StoreHandle,
    system: &str,
    shipment: &str,
) -> Result<Option<Value>, StoreError> {
    let record = load(store, &key(system, shipment)).await?;
    if record == ShipmentRecord::default() {
        return Ok(None);
    }
    Ok(Some(json!({
        "system": system,
        "shipment_id": shipment,
        "order": record.order.map(|id| format!("gid://shopify/Order/{id}")),
        "order_name": record.order_name,
        "shipped": record.shipped(),
        "fulfillments": record.fulfillments().map(|id| format!("gid://shopify/Fulfillment/{id}")).collect::<Vec<_>>(),
        "tracking": record.tracking,
        "status": record.status.map(|s| s.status.name()),
        "delivered_to": record.delivered,
    })))
}
