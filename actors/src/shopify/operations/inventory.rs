//! `InventoryLevels` (read quantities per location) and `InventorySetQuantities` (write them,
//! compare-and-set, idempotent).

use serde::{Deserialize, Serialize};

use super::{Connection, Operation, Ref, nullable_vec};
use crate::shopify::error::UserError;
use crate::shopify::gid::Gid;
use crate::shopify::gid::{InventoryItemId, InventoryLevelId, LocationId, kind};

/// Shopify's input-array limit, which bounds ids per `nodes` query and quantities per mutation.
pub const MAX_BATCH: usize = 250;

pub enum InventoryLevels {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryLevelsVariables {
    pub ids: Vec<InventoryItemId>,
    /// Quantity names to read, e.g. `["available"]` or `["available", "on_hand"]`.
    pub names: Vec<String>,
    /// Levels (locations) per item read in this query.
    pub locations: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InventoryLevelsResponse {
    /// One entry per requested id, in order; `None` where the item does not exist (any more).
    pub nodes: Vec<Option<InventoryItemLevels>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryItemLevels {
    pub id: InventoryItemId,
    pub sku: Option<String>,
    pub tracked: bool,
    pub inventory_levels: Connection<InventoryLevel>,
}

impl InventoryItemLevels {
    /// The quantity called `name` at `location`, if the item is stocked there.
    pub fn quantity(&self, location: &LocationId, name: &str) -> Option<i64> {
        self.inventory_levels
            .nodes
            .iter()
            .find(|l| &l.location.id == location)?
            .quantities
            .iter()
            .find(|q| q.name == name)
            .map(|q| q.quantity)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryLevel {
    /// `gid://shopify/InventoryLevel/…?inventory_item_id=…`
    pub id: InventoryLevelId,
    pub location: Ref<LocationId>,
    #[serde(deserialize_with = "nullable_vec")]
    pub quantities: Vec<Quantity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quantity {
    pub name: String,
    pub quantity: i64,
}

impl Operation for InventoryLevels {
    const NAME: &'static str = "InventoryLevels";
    const DOCUMENT: &'static str = include_str!("inventory_levels.graphql");
    type Variables = InventoryLevelsVariables;
    type Response = InventoryLevelsResponse;

    fn estimate(v: &InventoryLevelsVariables) -> f64 {
        v.ids.len() as f64 * (3.0 + 3.0 * f64::from(v.locations))
    }

    fn cost_key(v: &InventoryLevelsVariables) -> String {
        format!("InventoryLevels/{}x{}", v.ids.len(), v.locations)
    }
}

pub enum InventorySetQuantities {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetQuantitiesVariables {
    pub input: SetQuantitiesInput,
    pub idempotency_key: String,
}

/// `InventorySetQuantitiesInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetQuantitiesInput {
    pub name: QuantityName,
    /// One of Shopify's reasons: `correction`, `cycle_count_available`, `received`,
    /// `restock`, `shrinkage`, `damaged`, `promotion`, `other`, …
    pub reason: String,
    /// Where the change comes from, e.g. `xconnector://inventory/ITEM-ID`; not `gid://shopify/…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_document_uri: Option<String>,
    pub quantities: Vec<QuantityInput>,
}

/// The quantities `inventorySetQuantities` may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityName {
    Available,
    OnHand,
}

impl QuantityName {
    pub fn as_str(self) -> &'static str {
        match self {
            QuantityName::Available => "available",
            QuantityName::OnHand => "on_hand",
        }
    }
}

/// `InventoryQuantityInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantityInput {
    pub inventory_item_id: InventoryItemId,
    pub location_id: LocationId,
    pub quantity: i64,
    /// The quantity we believe Shopify holds now (compare-and-set). Always serialized, as
    /// Shopify requires since 2026-04: `None` sends an explicit `null`, which skips the check.
    pub change_from_quantity: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetQuantitiesResponse {
    pub inventory_set_quantities: Option<SetQuantitiesPayload>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetQuantitiesPayload {
    pub inventory_adjustment_group: Option<AdjustmentGroup>,
    #[serde(deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

/// What Shopify recorded for one successful set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdjustmentGroup {
    pub id: Gid<kind::InventoryAdjustmentGroup>,
    pub created_at: String,
    pub reason: String,
    pub reference_document_uri: Option<String>,
    #[serde(deserialize_with = "nullable_vec")]
    pub changes: Vec<InventoryChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryChange {
    pub name: String,
    pub delta: i64,
    pub quantity_after_change: Option<i64>,
    pub item: Option<Ref<InventoryItemId>>,
    pub location: Option<Ref<LocationId>>,
}

impl Operation for InventorySetQuantities {
    const NAME: &'static str = "InventorySetQuantities";
    const DOCUMENT: &'static str = include_str!("inventory_set_quantities.graphql");
    type Variables = SetQuantitiesVariables;
    type Response = SetQuantitiesResponse;

    fn estimate(_: &SetQuantitiesVariables) -> f64 {
        10.0
    }
}

/// `inventorySetQuantities` selecting only the group's id and the user errors.
pub enum InventorySetQuantitiesLean {}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetQuantitiesLeanResponse {
    pub inventory_set_quantities: Option<SetQuantitiesLeanPayload>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetQuantitiesLeanPayload {
    pub inventory_adjustment_group: Option<Ref<Gid<kind::InventoryAdjustmentGroup>>>,
    #[serde(deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

impl Operation for InventorySetQuantitiesLean {
    const NAME: &'static str = "InventorySetQuantitiesLean";
    const DOCUMENT: &'static str = include_str!("inventory_set_quantities_lean.graphql");
    type Variables = SetQuantitiesVariables;
    type Response = SetQuantitiesLeanResponse;

    fn estimate(_: &SetQuantitiesVariables) -> f64 {
        10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_from_quantity_is_always_sent() {
        let v = SetQuantitiesVariables {
            input: SetQuantitiesInput {
                name: QuantityName::Available,
                reason: "correction".into(),
                reference_document_uri: None,
                quantities: vec![QuantityInput {
                    inventory_item_id: InventoryItemId::new(1),
                    location_id: LocationId::new(2),
                    quantity: 5,
                    change_from_quantity: None,
                }],
            },
            idempotency_key: "k".into(),
        };
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "input": {"name": "available", "reason": "correction", "quantities": [
                    {"inventoryItemId": "gid://shopify/InventoryItem/1",
                     "locationId": "gid://shopify/Location/2",
                     "quantity": 5, "changeFromQuantity": null}]},
                "idempotencyKey": "k"
            })
        );
    }

    #[test]
    fn reads_quantities_per_location() {
        let json = r#"{"nodes": [null, {"id": "gid://shopify/InventoryItem/1", "sku": "A", "tracked": true,
            "inventoryLevels": {"nodes": [{"id": "gid://shopify/InventoryLevel/7?inventory_item_id=1",
              "location": {"id": "gid://shopify/Location/2"},
              "quantities": [{"name": "available", "quantity": 4}]}],
              "pageInfo": {"hasNextPage": false, "endCursor": null}}}]}"#;
        let r: InventoryLevelsResponse = serde_json::from_str(json).unwrap();
        assert!(r.nodes[0].is_none());
        let item = r.nodes[1].as_ref().unwrap();
        assert_eq!(item.quantity(&LocationId::new(2), "available"), Some(4));
        assert_eq!(item.quantity(&LocationId::new(3), "available"), None);
    }
}
