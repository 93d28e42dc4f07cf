//! `inventorySetQuantities(input:) @idempotent(key:)` as of 2026-04+:
//!
//! - the idempotency key is required (checked before we get here); a replay of a key with the
//!   same input returns the recorded payload and writes nothing; the key with another input
//!   is `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`;
//! - `name` is `available` or `on_hand`; `reason` one of Shopify's reasons;
//!   `referenceDocumentUri`, if given, a URI with a scheme (a `gid://` needs app, type and id);
//! - every quantity must carry `changeFromQuantity` explicitly: an integer is compared with the
//!   stored quantity (`CHANGE_FROM_QUANTITY_STALE` on mismatch), `null` skips the check, and
//!   leaving it out is an error (the schema description says so);
//! - unknown item → `INVALID_INVENTORY_ITEM`, unknown or inactive location →
//!   `INVALID_LOCATION`, the same item and location twice →
//!   `NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR`, beyond ±1,000,000,000 →
//!   `INVALID_QUANTITY_TOO_HIGH`/`_TOO_LOW`, a negative `on_hand` → `INVALID_QUANTITY_NEGATIVE`;
//!   more than 250 quantities is refused before execution (`MAX_INPUT_SIZE_EXCEEDED`).
//!
//! The whole input is validated before anything is written, and any user error means nothing
//! is written (`inventoryAdjustmentGroup: null`): one call is one adjustment group, and a
//! partial write would leave the caller unable to tell which quantities to retry. Since
//! 2026-10 an item not yet stocked at a valid location is stocked by the call
//! (`ITEM_NOT_STOCKED_AT_LOCATION` was removed).
//!
//! `changes` lists, per quantity, the named change and the derived one (`available` moves
//! `on_hand` by the same delta and vice versa).

use serde_json::{Map, Value, json};

use super::objects::adjustment_group_tree;
use super::{RootCtx, RootError};
use crate::gid;
use crate::idempotency::{Lookup, fingerprint};
use crate::shop::{Id, InventoryChange, Shop};

const MUTATION: &str = "inventorySetQuantities";

/// Quantities beyond ±this are refused.
const QUANTITY_LIMIT: i64 = 1_000_000_000;

/// Shopify's inventory adjustment reasons.
pub const REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_canceled",
    "movement_created",
    "movement_received",
    "movement_updated",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

fn user_error(field: Vec<String>, message: &str, code: Option<&str>) -> Value {
    json!({
        "__typename": "InventorySetQuantitiesUserError",
        "field": field,
        "message": message,
        "code": code,
    })
}

fn payload(group: Value, errors: Vec<Value>) -> Value {
    json!({
        "__typename": "InventorySetQuantitiesPayload",
        "inventoryAdjustmentGroup": group,
        "userErrors": errors,
    })
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// The injected race: each hot SKU named in the call sells a unit just before it is checked.
fn sell_ahead(shop: &mut Shop, input: &Map<String, Value>) {
    let quantities = input.get("quantities").and_then(|v| v.as_array());
    for q in quantities.into_iter().flatten() {
        let id = |field: &str, kind: &str| {
            q.get(field)
                .and_then(|v| v.as_str())
                .and_then(|t| gid::parse_kind(t, kind))
        };
        let (Some(item), Some(location)) = (
            id("inventoryItemId", "InventoryItem"),
            id("locationId", "Location"),
        ) else {
            continue;
        };
        let hot = shop
            .inventory_items
            .get(&item)
            .is_some_and(|i| shop.selling_while_written.contains(&i.sku));
        if let (true, Some(level)) = (hot, shop.inventory_level(item, location)) {
            let sold = level.available - 1;
            let _ = shop.set_inventory(item, location, sold);
        }
    }
}

/// A checked quantity, ready to write.
struct Planned {
    item: Id,
    location: Id,
    quantity: i64,
}

pub(super) fn inventory_set_quantities(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
    key: Option<&str>,
) -> Result<Value, RootError> {
    let input = ctx.args.get("input").cloned().unwrap_or(Value::Null);
    let now = shop.now();
    let print = fingerprint(&input);
    if let Some(key) = key {
        match shop.idempotency.lookup(MUTATION, key, &print, now) {
            Lookup::Replay(recorded) => return Ok(recorded),
            Lookup::Mismatch => {
                return Ok(payload(
                    Value::Null,
                    vec![user_error(
                        Vec::new(),
                        "The same idempotency key cannot be used with different operation parameters.",
                        Some("IDEMPOTENCY_KEY_PARAMETER_MISMATCH"),
                    )],
                ));
            }
            Lookup::Miss => {}
        }
    }
    let empty = Map::new();
    let input = input.as_object().unwrap_or(&empty);
    if !shop.selling_while_written.is_empty() {
        sell_ahead(shop, input);
    }
    let result = match validate(shop, input) {
        Err(errors) => payload(Value::Null, errors),
        Ok((name, reason, uri, planned)) => {
            let mut changes = Vec::new();
            for p in &planned {
                let (delta, after) = shop.apply_quantity(p.item, p.location, &name, p.quantity);
                let level = shop.inventory_level(p.item, p.location);
                let (other, other_after) = if name == "available" {
                    ("on_hand", level.map_or(0, |l| l.on_hand()))
                } else {
                    ("available", level.map_or(0, |l| l.available))
                };
                changes.push(InventoryChange {
                    name: name.clone(),
                    delta,
                    quantity_after: after,
                    item_id: p.item,
                    location_id: p.location,
                });
                changes.push(InventoryChange {
                    name: other.to_string(),
                    delta,
                    quantity_after: other_after,
                    item_id: p.item,
                    location_id: p.location,
                });
            }
            *ctx.quantities_written += planned.len() as u64;
            let id = shop.record_adjustment(&reason, uri, changes);
            let group = shop
                .adjustment_groups
                .get(&id)
                .map_or(Value::Null, adjustment_group_tree);
            payload(group, Vec::new())
        }
    };
    if let Some(key) = key {
        shop.idempotency
            .record(MUTATION, key, print, result.clone(), now);
    }
    Ok(result)
}

type Valid = (String, String, Option<String>, Vec<Planned>);

/// Check everything; either the whole plan or every user error found.
fn validate(shop: &Shop, input: &Map<String, Value>) -> Result<Valid, Vec<Value>> {
    let mut errors = Vec::new();
    let name = input
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if name != "available" && name != "on_hand" {
        errors.push(user_error(
            path(&["input", "name"]),
            "The quantity name must be either 'available' or 'on_hand'.",
            Some("INVALID_NAME"),
        ));
    }
    let reason = input
        .get("reason")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if !REASONS.contains(&reason.as_str()) {
        errors.push(user_error(
            path(&["input", "reason"]),
            "The specified reason is invalid.",
            Some("INVALID_REASON"),
        ));
    }
    let uri = input
        .get("referenceDocumentUri")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    if uri.as_deref().is_some_and(|u| !valid_reference_uri(u)) {
        errors.push(user_error(
            path(&["input", "referenceDocumentUri"]),
            "The specified reference document is invalid.",
            Some("INVALID_REFERENCE_DOCUMENT"),
        ));
    }
    let quantities = input
        .get("quantities")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let mut planned: Vec<Planned> = Vec::new();
    let mut seen: Vec<(Id, Id)> = Vec::new();
    for (i, q) in quantities.iter().enumerate() {
        let index = i.to_string();
        let at = |field: &str| path(&["input", "quantities", &index, field]);
        let item = q
            .get("inventoryItemId")
            .and_then(|v| v.as_str())
            .and_then(|t| gid::parse_kind(t, "InventoryItem"))
            .filter(|id| shop.inventory_items.contains_key(id));
        let location = q
            .get("locationId")
            .and_then(|v| v.as_str())
            .and_then(|t| gid::parse_kind(t, "Location"))
            .filter(|id| shop.locations.get(id).is_some_and(|l| l.active));
        let quantity = q.get("quantity").and_then(|v| v.as_i64()).unwrap_or(0);
        let mut ok = true;
        if item.is_none() {
            ok = false;
            errors.push(user_error(
                at("inventoryItemId"),
                "The specified inventory item could not be found.",
                Some("INVALID_INVENTORY_ITEM"),
            ));
        }
        if location.is_none() {
            ok = false;
            errors.push(user_error(
                at("locationId"),
                "The specified location could not be found.",
                Some("INVALID_LOCATION"),
            ));
        }
        if quantity > QUANTITY_LIMIT {
            ok = false;
            errors.push(user_error(
                at("quantity"),
                "The total quantity can't be higher than 1,000,000,000.",
                Some("INVALID_QUANTITY_TOO_HIGH"),
            ));
        } else if quantity < -QUANTITY_LIMIT {
            ok = false;
            errors.push(user_error(
                at("quantity"),
                "The total quantity can't be lower than -1,000,000,000.",
                Some("INVALID_QUANTITY_TOO_LOW"),
            ));
        } else if quantity < 0 && name == "on_hand" {
            ok = false;
            errors.push(user_error(
                at("quantity"),
                "The quantity can't be negative.",
                Some("INVALID_QUANTITY_NEGATIVE"),
            ));
        }
        let (Some(item), Some(location)) = (item, location) else {
            continue;
        };
        if seen.contains(&(item, location)) {
            errors.push(user_error(
                path(&["input", "quantities", &index]),
                "The combination of inventoryItemId and locationId must be unique.",
                Some("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"),
            ));
            continue;
        }
        seen.push((item, location));
        let name_ok = name == "available" || name == "on_hand";
        match q.get("changeFromQuantity") {
            None => {
                ok = false;
                errors.push(user_error(
                    at("changeFromQuantity"),
                    "changeFromQuantity is required: pass the quantity you expect, or null to skip the check.",
                    None,
                ));
            }
            Some(Value::Null) => {}
            // The comparison only means something for a valid quantity name on an otherwise
            // valid entry.
            Some(_) if !name_ok || !ok => {}
            Some(expected) => {
                let current = shop
                    .inventory_level(item, location)
                    .and_then(|l| l.quantity(&name))
                    .unwrap_or(0);
                if expected.as_i64() != Some(current) {
                    ok = false;
                    errors.push(user_error(
                        at("changeFromQuantity"),
                        "The changeFromQuantity value does not match persisted value.",
                        Some("CHANGE_FROM_QUANTITY_STALE"),
                    ));
                }
            }
        }
        if ok {
            planned.push(Planned {
                item,
                location,
                quantity,
            });
        }
    }
    if errors.is_empty() {
        Ok((name, reason, uri, planned))
    } else {
        Err(errors)
    }
}

/// "Valid URI with scheme and content. For GID format, all components (app, entity, id) must be
/// present." (`InventorySetQuantitiesInput.referenceDocumentUri`).
fn valid_reference_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.is_empty() || uri.chars().any(char::is_whitespace) {
        return false;
    }
    if scheme.eq_ignore_ascii_case("gid") {
        let Some(path) = rest.strip_prefix("//") else {
            return false;
        };
        let parts: Vec<&str> = path.split('/').collect();
        return parts.len() >= 3 && parts.iter().all(|p| !p.is_empty());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_documents_need_a_scheme_and_complete_gids() {
        assert!(valid_reference_uri("gid://erp-connector/SyncJob/SYNC-1"));
        assert!(valid_reference_uri("https://erp.example.com/docs/1"));
        assert!(valid_reference_uri("custom-scheme://identifier"));
        assert!(!valid_reference_uri("gid://erp-connector/SyncJob"));
        assert!(!valid_reference_uri("no scheme"));
        assert!(!valid_reference_uri("plain"));
        assert!(!valid_reference_uri("1abc:x"));
    }
}
