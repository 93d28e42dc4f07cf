//! The canonical shipment (`xconnector.shipment.v1`, `docs/canonical-shipment.md`): what the
//! targets of `[flows.fulfillments]` receive when a shipment is fulfilled in Shopify, its
//! tracking corrected or its carrier status moves on.

use serde::Serialize;

use super::inbound::Shipment;
use super::record::{ShipmentRecord, Tracking};
use crate::flows::reconcile::rfc3339;

pub const SCHEMA: &str = "xconnector.shipment.v1";

#[derive(Debug, Clone, Serialize)]
pub struct CanonicalShipment {
    pub schema: &'static str,
    /// What changed: `shipped`, `tracking`, `status`.
    pub changes: Vec<String>,
    pub shipment_id: String,
    pub source: String,
    pub order: OrderRef,
    pub fulfillments: Vec<Fulfillment>,
    pub tracking: Tracking,
    pub status: Option<&'static str>,
    pub status_at: Option<String>,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderRef {
    pub id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fulfillment {
    pub id: String,
    pub location_id: String,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub line_item_id: String,
    pub sku: Option<String>,
    pub quantity: u32,
}

fn time(ms: Option<i64>) -> Option<String> {
    ms.map(|ms| rfc3339(ms.max(0) as u64))
}

pub fn build(
    system: &str,
    shipment: &Shipment,
    record: &ShipmentRecord,
    changes: Vec<String>,
) -> CanonicalShipment {
    CanonicalShipment {
        schema: SCHEMA,
        changes,
        shipment_id: shipment.id.clone(),
        source: system.to_string(),
        order: OrderRef {
            id: record.order.map(|id| format!("gid://shopify/Order/{id}")),
            name: record.order_name.clone(),
        },
        fulfillments: record
            .plan
            .iter()
            .filter_map(|p| {
                let id = p.made?;
                Some(Fulfillment {
                    id: format!("gid://shopify/Fulfillment/{id}"),
                    location_id: format!("gid://shopify/Location/{}", p.allocation.location),
                    lines: p
                        .allocation
                        .takes
                        .iter()
                        .flat_map(|t| &t.lines)
                        .map(|l| Line {
                            line_item_id: format!("gid://shopify/LineItem/{}", l.item),
                            sku: l.sku.clone(),
                            quantity: l.quantity,
                        })
                        .collect(),
                })
            })
            .collect(),
        tracking: record.tracking.clone(),
        status: record.status.map(|s| s.status.name()),
        status_at: time(record.status.map(|s| s.at)),
        shipped_at: time(record.shipped_at),
        delivered_at: time(record.delivered_at),
    }
}
