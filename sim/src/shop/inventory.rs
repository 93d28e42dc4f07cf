//! Stock levels: setting quantities, committing stock to orders, adjustment groups.

use super::*;

impl Shop {
    /// Set `available` at a location (stocking the item there if needed), as a back-office
    /// stock count would; announces `inventory_levels/update`.
    pub fn set_inventory(
        &mut self,
        item_id: Id,
        location_id: Id,
        available: i64,
    ) -> Result<(), ShopError> {
        if !self.inventory_items.contains_key(&item_id) {
            return Err(not_found("inventory item", item_id));
        }
        if !self.locations.contains_key(&location_id) {
            return Err(not_found("location", location_id));
        }
        self.apply_quantity(item_id, location_id, "available", available);
        Ok(())
    }

    /// Set one named quantity (`available` or `on_hand`) and return (delta, quantity after)
    /// for it. Setting `on_hand` moves `available` by the same delta (the other states are
    /// unchanged), as Shopify does. Emits `inventory_levels/update` when something changed.
    pub(crate) fn apply_quantity(
        &mut self,
        item_id: Id,
        location_id: Id,
        name: &str,
        quantity: i64,
    ) -> (i64, i64) {
        if !self.inventory_levels.contains_key(&(item_id, location_id)) {
            self.insert_level(item_id, location_id, 0);
        }
        let Some(previous) = self
            .inventory_levels
            .get(&(item_id, location_id))
            .map(|l| l.updated_at)
        else {
            return (0, 0);
        };
        let next = self.touch(previous);
        let Some(level) = self.inventory_levels.get_mut(&(item_id, location_id)) else {
            return (0, 0);
        };
        let before = if name == "on_hand" {
            level.on_hand()
        } else {
            level.available
        };
        let delta = quantity - before;
        level.available += delta;
        let level_id = level.id;
        if delta != 0 {
            level.updated_at = next;
            self.emit(topics::INVENTORY_LEVELS_UPDATE, level_id);
        }
        (delta, quantity)
    }

    /// Record an adjustment group (what `inventorySetQuantities` returns).
    pub(crate) fn record_adjustment(
        &mut self,
        reason: &str,
        reference_document_uri: Option<String>,
        changes: Vec<InventoryChange>,
    ) -> Id {
        let id = self.next_id();
        let created_at = self.now();
        self.adjustment_groups.insert(
            id,
            InventoryAdjustmentGroup {
                id,
                created_at,
                reason: reason.to_string(),
                reference_document_uri,
                changes,
            },
        );
        id
    }

    /// Move `qty` of an item between `available` and `committed` at the first active location
    /// that stocks it; returns that location. Negative `qty` releases.
    pub(super) fn commit_stock(
        &mut self,
        item_id: Id,
        location: Option<Id>,
        qty: i64,
    ) -> Option<Id> {
        let location_id = match location {
            Some(l) => l,
            None => self
                .inventory_levels
                .range((item_id, 0)..=(item_id, Id::MAX))
                .map(|(_, l)| l.location_id)
                .find(|l| self.locations.get(l).is_some_and(|l| l.active))?,
        };
        let previous = self
            .inventory_levels
            .get(&(item_id, location_id))?
            .updated_at;
        let next = self.touch(previous);
        let level = self.inventory_levels.get_mut(&(item_id, location_id))?;
        level.available -= qty;
        level.committed += qty;
        level.updated_at = next;
        let level_id = level.id;
        self.emit(topics::INVENTORY_LEVELS_UPDATE, level_id);
        Some(location_id)
    }
}
