//! What an inventory item is, decoded once from its kind and payload: the round works on
//! these, never on kind strings.

use serde::Deserialize;

use super::feed::{Chunk, KIND_LEVEL_FAILED, KIND_LEVELS, KIND_UNKNOWN_SKUS};

/// Webhook topic: a level changed in Shopify (our write's echo, or someone else's change).
pub const LEVELS_UPDATE: &str = "inventory_levels/update";
/// Webhook topic: an inventory item changed (its SKU may have).
pub const ITEMS_UPDATE: &str = "inventory_items/update";
/// Webhook topic: a bulk operation finished.
pub const BULK_FINISH: &str = "bulk_operations/finish";

/// One inventory item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Levels to write: a feed chunk, or an exception of held levels an operator retried.
    Chunk(Chunk),
    /// Shopify reports a level's `available`.
    Level {
        item: u64,
        location: u64,
        available: Option<i64>,
    },
    /// Shopify reports an inventory item's SKU.
    Sku { item: u64, sku: Option<String> },
    /// A bulk operation finished: the round polls its own, so nothing to do.
    BulkFinished,
}

/// `inventory_levels/update` (REST shape).
#[derive(Deserialize)]
struct LevelWebhook {
    inventory_item_id: u64,
    location_id: u64,
    available: Option<i64>,
}

/// `inventory_items/update` (REST shape).
#[derive(Deserialize)]
struct ItemWebhook {
    id: u64,
    sku: Option<String>,
}

impl Kind {
    /// The item's work, or why it cannot be done (an exception for a person).
    pub fn decode(kind: &str, payload: &[u8]) -> Result<Kind, String> {
        match kind {
            KIND_LEVELS | KIND_UNKNOWN_SKUS | KIND_LEVEL_FAILED => {
                Chunk::decode(payload).map(Kind::Chunk)
            }
            LEVELS_UPDATE => serde_json::from_slice::<LevelWebhook>(payload)
                .map(|w| Kind::Level {
                    item: w.inventory_item_id,
                    location: w.location_id,
                    available: w.available,
                })
                .map_err(|e| format!("{LEVELS_UPDATE} payload not understood: {e}")),
            ITEMS_UPDATE => serde_json::from_slice::<ItemWebhook>(payload)
                .map(|w| Kind::Sku {
                    item: w.id,
                    sku: w.sku.filter(|s| !s.is_empty()),
                })
                .map_err(|e| format!("{ITEMS_UPDATE} payload not understood: {e}")),
            BULK_FINISH => Ok(Kind::BulkFinished),
            other => Err(format!(
                "the inventory flow does not handle items of kind {other:?} (expected \
                 {KIND_LEVELS}, {KIND_UNKNOWN_SKUS}, {KIND_LEVEL_FAILED} or an inventory webhook)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_decode_from_shopifys_shapes_and_bad_ones_say_why() {
        let level = br#"{"inventory_item_id": 7, "location_id": 9, "available": 3, "updated_at": "2026-11-01T00:00:00Z"}"#;
        assert_eq!(
            Kind::decode(LEVELS_UPDATE, level),
            Ok(Kind::Level {
                item: 7,
                location: 9,
                available: Some(3)
            })
        );
        assert_eq!(
            Kind::decode(ITEMS_UPDATE, br#"{"id": 7, "sku": ""}"#),
            Ok(Kind::Sku { item: 7, sku: None })
        );
        let bad = Kind::decode(LEVELS_UPDATE, b"{}").unwrap_err();
        assert!(
            bad.starts_with("inventory_levels/update payload not understood"),
            "{bad}"
        );
        let other = Kind::decode("orders/create", b"{}").unwrap_err();
        assert!(other.contains("\"orders/create\""), "{other}");
    }
}
