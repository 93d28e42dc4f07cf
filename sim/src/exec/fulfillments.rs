//! Fulfilling through the API: `fulfillmentOrder`, `fulfillmentOrders`, `fulfillment`, and the
//! mutations `fulfillmentCreate`, `fulfillmentTrackingInfoUpdate`, `fulfillmentEventCreate`,
//! `fulfillmentOrderHold` and `fulfillmentOrderReleaseHold` (the deprecated `…V2` forms are not
//! served).
//!
//! The shop does the work (`shop/fulfillments.rs`, one path for every caller); this file reads
//! the inputs and words the refusals as Shopify does. `fulfillmentCreate`'s user errors, as
//! observed from Shopify, name `["fulfillment"]`:
//! - an unknown fulfillment order: "Fulfillment order does not exist.";
//! - one on hold, closed or cancelled: "Fulfillment order 123 has an unfulfillable status=
//!   on_hold." (the numeric id, the status in lower case);
//! - an unknown fulfillment order line, more than remains of one (over-fulfilment, also a
//!   repeat of a fulfilment that already happened): "Invalid fulfillment order line item
//!   quantity requested.";
//! - fulfillment orders of two orders, or at two locations: "All fulfillment orders must
//!   belong to the same order." / "Fulfillment orders must belong to the same location.";
//!
//! and a quantity below 1 names the input: `["fulfillment", "lineItemsByFulfillmentOrder", "0",
//! "fulfillmentOrderLineItems", "1", "quantity"]`, "Quantity must be greater than 0"; an empty
//! `lineItemsByFulfillmentOrder` is `["fulfillment", "lineItemsByFulfillmentOrder"]`, "Line
//! items by fulfillment order can't be blank". An unknown fulfillment is `["fulfillmentId"]`
//! (tracking) or `["fulfillmentEvent", "fulfillmentId"]` (events), "Fulfillment does not
//! exist.". Any user error means nothing was written.
//!
//! None of these takes `@idempotent` (Shopify documents idempotency for none of them): a key
//! is accepted and ignored, as for every mutation outside `IDEMPOTENCY_REQUIRED`, so a retried
//! `fulfillmentCreate` meets the over-fulfilment error, as on Shopify.

use serde_json::{Map, Value, json};

use super::customers::{internal, object_arg, strings};
use super::objects::{
    fulfillment_event_tree, fulfillment_hold_tree, fulfillment_order_tree, fulfillment_tree,
};
use super::{RootCtx, RootError};
use crate::gid;
use crate::pagination::{SortKey, SortValue};
use crate::search::{FieldValue, Searchable};
use crate::shop::{
    FulfillError, FulfillRequest, Fulfillment, FulfillmentEventSpec, FulfillmentEventStatus,
    FulfillmentHoldReason, FulfillmentOrder, HoldError, HoldSpec, Id, OriginAddress, Shop,
    TrackingInfo, tracking_infos,
};
use crate::time::Timestamp;

/// Shopify's limit on a hold's handle.
const MAX_HANDLE: usize = 64;

impl Searchable for FulfillmentOrder {
    fn search_fields() -> &'static [&'static str] {
        &["status", "assigned_location_id", "id", "updated_at"]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        match field {
            "status" => vec![FieldValue::Text(self.status.as_rest())],
            "assigned_location_id" => vec![FieldValue::Int(self.location_id as i64)],
            "id" => vec![FieldValue::Int(self.id as i64)],
            "updated_at" => vec![FieldValue::Time(self.updated_at)],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        Vec::new()
    }
}

impl Searchable for Fulfillment {
    fn search_fields() -> &'static [&'static str] {
        &["created_at", "updated_at", "id"]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        match field {
            "created_at" => vec![FieldValue::Time(self.created_at)],
            "updated_at" => vec![FieldValue::Time(self.updated_at)],
            "id" => vec![FieldValue::Int(self.id as i64)],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        vec![self.name.clone()]
    }
}

pub(super) fn fulfillment_order(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "FulfillmentOrder")?
        .and_then(|id| shop.fulfillment_orders.get(&id))
        .map_or(Value::Null, |f| fulfillment_order_tree(shop, f)))
}

pub(super) fn fulfillment(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "Fulfillment")?
        .and_then(|id| shop.fulfillments.get(&id))
        .map_or(Value::Null, |f| fulfillment_tree(shop, f)))
}

/// The shop's fulfillment orders; closed and cancelled ones only with `includeClosed: true`.
pub(super) fn fulfillment_orders(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let include_closed = ctx
        .args
        .get("includeClosed")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let by_updated = ctx.args.get("sortKey").and_then(|v| v.as_str()) == Some("UPDATED_AT");
    let sort = move |f: &FulfillmentOrder| -> SortKey {
        if by_updated {
            (SortValue::Int(f.updated_at.0), f.id)
        } else {
            (SortValue::Int(f.id as i64), f.id)
        }
    };
    let items = shop
        .fulfillment_orders
        .values()
        .filter(move |f| include_closed || !f.status.is_done());
    ctx.search_connection(items, sort, |f| fulfillment_order_tree(shop, f))
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// A `UserError` (no `code`).
fn user_error(field: Vec<String>, message: &str) -> Value {
    json!({"__typename": "UserError", "field": field, "message": message})
}

fn text(input: &Map<String, Value>, key: &str) -> Option<String> {
    input.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

/// The tracking infos of a `FulfillmentTrackingInput` (`number`/`numbers`, `url`/`urls`).
fn tracking(input: &Map<String, Value>) -> Vec<TrackingInfo> {
    let either = |one: &str, many: &str| {
        let many = strings(input.get(many));
        if many.is_empty() {
            text(input, one).into_iter().collect()
        } else {
            many
        }
    };
    tracking_infos(
        input.get("company").and_then(|v| v.as_str()),
        &either("number", "numbers"),
        &either("url", "urls"),
    )
}

const QUANTITY_INVALID: &str = "Invalid fulfillment order line item quantity requested.";
const FULFILLMENT_ORDER_MISSING: &str = "Fulfillment order does not exist.";
const FULFILLMENT_MISSING: &str = "Fulfillment does not exist.";

/// The `FulfillmentInput` as a request, or the first user error in it.
fn fulfill_request(input: &Map<String, Value>) -> Result<FulfillRequest, Value> {
    let empty = Vec::new();
    let entries = input
        .get("lineItemsByFulfillmentOrder")
        .and_then(|v| v.as_array())
        .unwrap_or(&empty);
    if entries.is_empty() {
        return Err(user_error(
            path(&["fulfillment", "lineItemsByFulfillmentOrder"]),
            "Line items by fulfillment order can't be blank",
        ));
    }
    let mut request = FulfillRequest::default();
    for (i, entry) in entries.iter().enumerate() {
        let fo = entry
            .get("fulfillmentOrderId")
            .and_then(|v| v.as_str())
            .and_then(|t| gid::parse_kind(t, "FulfillmentOrder"))
            .ok_or_else(|| user_error(path(&["fulfillment"]), FULFILLMENT_ORDER_MISSING))?;
        let mut lines = Vec::new();
        let named = entry
            .get("fulfillmentOrderLineItems")
            .and_then(|v| v.as_array())
            .unwrap_or(&empty);
        for (j, line) in named.iter().enumerate() {
            let quantity = line.get("quantity").and_then(|v| v.as_i64()).unwrap_or(0);
            if quantity < 1 {
                return Err(user_error(
                    path(&[
                        "fulfillment",
                        "lineItemsByFulfillmentOrder",
                        &i.to_string(),
                        "fulfillmentOrderLineItems",
                        &j.to_string(),
                        "quantity",
                    ]),
                    "Quantity must be greater than 0",
                ));
            }
            let id = line
                .get("id")
                .and_then(|v| v.as_str())
                .and_then(|t| gid::parse_kind(t, "FulfillmentOrderLineItem"));
            let (Some(id), Ok(quantity)) = (id, u32::try_from(quantity)) else {
                return Err(user_error(path(&["fulfillment"]), QUANTITY_INVALID));
            };
            lines.push((id, quantity));
        }
        request.fulfillment_orders.push((fo, lines));
    }
    request.tracking = input
        .get("trackingInfo")
        .and_then(|v| v.as_object())
        .map(tracking)
        .unwrap_or_default();
    request.notify_customer = input
        .get("notifyCustomer")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    request.origin_address = input
        .get("originAddress")
        .and_then(|v| v.as_object())
        .map(|a| OriginAddress {
            address1: text(a, "address1"),
            address2: text(a, "address2"),
            city: text(a, "city"),
            zip: text(a, "zip"),
            province_code: text(a, "provinceCode"),
            country_code: text(a, "countryCode").unwrap_or_default(),
        });
    Ok(request)
}

/// A refusal of the shop as Shopify words it.
fn fulfill_error(e: &FulfillError) -> Value {
    let at = path(&["fulfillment"]);
    match e {
        FulfillError::Empty => user_error(
            path(&["fulfillment", "lineItemsByFulfillmentOrder"]),
            "Line items by fulfillment order can't be blank",
        ),
        FulfillError::UnknownFulfillmentOrder { .. } => user_error(at, FULFILLMENT_ORDER_MISSING),
        FulfillError::DifferentOrders { .. } => {
            user_error(at, "All fulfillment orders must belong to the same order.")
        }
        FulfillError::DifferentLocations { .. } => {
            user_error(at, "Fulfillment orders must belong to the same location.")
        }
        FulfillError::Unfulfillable { id, status, .. } => user_error(
            at,
            &format!(
                "Fulfillment order {id} has an unfulfillable status= {}.",
                status.as_rest()
            ),
        ),
        FulfillError::ZeroQuantity { entry, line } => user_error(
            path(&[
                "fulfillment",
                "lineItemsByFulfillmentOrder",
                &entry.to_string(),
                "fulfillmentOrderLineItems",
                &line.to_string(),
                "quantity",
            ]),
            "Quantity must be greater than 0",
        ),
        FulfillError::UnknownLine { .. }
        | FulfillError::OverFulfilled { .. }
        | FulfillError::NothingToFulfil { .. } => user_error(at, QUANTITY_INVALID),
    }
}

pub(super) fn fulfillment_create(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    let input = object_arg(ctx, "fulfillment");
    let (id, errors) = match fulfill_request(&input) {
        Err(error) => (None, vec![error]),
        Ok(request) => match shop.fulfill(request) {
            Ok(id) => (Some(id), Vec::new()),
            Err(e) => (None, vec![fulfill_error(&e)]),
        },
    };
    Ok(json!({
        "__typename": "FulfillmentCreatePayload",
        "fulfillment": fulfillment_value(shop, id),
        "userErrors": errors,
    }))
}

fn fulfillment_value(shop: &Shop, id: Option<Id>) -> Value {
    id.and_then(|id| shop.fulfillments.get(&id))
        .map_or(Value::Null, |f| fulfillment_tree(shop, f))
}

/// A fulfillment of the shop named by a GID.
fn existing_fulfillment(shop: &Shop, value: Option<&Value>) -> Option<Id> {
    value
        .and_then(|v| v.as_str())
        .and_then(|t| gid::parse_kind(t, "Fulfillment"))
        .filter(|id| shop.fulfillments.contains_key(id))
}

pub(super) fn tracking_info_update(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    let payload = |shop: &Shop, id: Option<Id>, errors: Vec<Value>| {
        json!({
            "__typename": "FulfillmentTrackingInfoUpdatePayload",
            "fulfillment": fulfillment_value(shop, id),
            "userErrors": errors,
        })
    };
    let Some(id) = existing_fulfillment(shop, ctx.args.get("fulfillmentId")) else {
        let error = user_error(path(&["fulfillmentId"]), FULFILLMENT_MISSING);
        return Ok(payload(shop, None, vec![error]));
    };
    let input = object_arg(ctx, "trackingInfoInput");
    let notify = ctx
        .args
        .get("notifyCustomer")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    shop.update_tracking(id, tracking(&input), notify)
        .map_err(internal)?;
    Ok(payload(shop, Some(id), Vec::new()))
}

pub(super) fn event_create(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let payload = |event: Value, errors: Vec<Value>| {
        json!({
            "__typename": "FulfillmentEventCreatePayload",
            "fulfillmentEvent": event,
            "userErrors": errors,
        })
    };
    let input = object_arg(ctx, "fulfillmentEvent");
    let Some(fulfillment) = existing_fulfillment(shop, input.get("fulfillmentId")) else {
        let error = user_error(
            path(&["fulfillmentEvent", "fulfillmentId"]),
            FULFILLMENT_MISSING,
        );
        return Ok(payload(Value::Null, vec![error]));
    };
    let Some(status) = input
        .get("status")
        .and_then(|v| v.as_str())
        .and_then(FulfillmentEventStatus::from_graphql)
    else {
        let error = user_error(path(&["fulfillmentEvent", "status"]), "Status is invalid");
        return Ok(payload(Value::Null, vec![error]));
    };
    // `DateTime` inputs: absent or null is none; anything else must be a date and time.
    let mut errors = Vec::new();
    let mut time = |key: &str, label: &str| -> Option<Timestamp> {
        let raw = input.get(key).and_then(|v| v.as_str())?;
        let parsed = Timestamp::parse(raw);
        if parsed.is_none() {
            errors.push(user_error(
                path(&["fulfillmentEvent", key]),
                &format!("{label} is invalid"),
            ));
        }
        parsed
    };
    let happened_at = time("happenedAt", "Happened at");
    let estimated_delivery_at = time("estimatedDeliveryAt", "Estimated delivery at");
    if !errors.is_empty() {
        return Ok(payload(Value::Null, errors));
    }
    let number = |key: &str| input.get(key).and_then(|v| v.as_f64());
    let spec = FulfillmentEventSpec {
        status,
        happened_at,
        estimated_delivery_at,
        message: text(&input, "message"),
        address1: text(&input, "address1"),
        city: text(&input, "city"),
        province: text(&input, "province"),
        zip: text(&input, "zip"),
        country: text(&input, "country"),
        latitude: number("latitude"),
        longitude: number("longitude"),
    };
    let id = shop
        .create_fulfillment_event(fulfillment, spec)
        .map_err(internal)?;
    let event = shop
        .fulfillments
        .get(&fulfillment)
        .and_then(|f| f.events.iter().find(|e| e.id == id))
        .map_or(Value::Null, fulfillment_event_tree);
    Ok(payload(event, Vec::new()))
}

/// A user error of the hold mutations (`FulfillmentOrderHoldUserError` and
/// `FulfillmentOrderReleaseHoldUserError` have a `code`).
fn hold_error(typename: &str, e: &HoldError) -> Value {
    let (field, message, code) = match e {
        HoldError::NotFound(_) => (
            path(&["id"]),
            FULFILLMENT_ORDER_MISSING.to_string(),
            Some("FULFILLMENT_ORDER_NOT_FOUND"),
        ),
        HoldError::NotHoldable { status, .. } => (
            path(&["id"]),
            format!(
                "Fulfillment order with status {} cannot be placed on hold.",
                status.as_rest()
            ),
            None,
        ),
        HoldError::DuplicateHandle(_) => (
            path(&["fulfillmentHold", "handle"]),
            "The handle provided for the fulfillment hold is already in use by this app for \
             another hold on this fulfillment order."
                .to_string(),
            Some("DUPLICATE_FULFILLMENT_HOLD_HANDLE"),
        ),
        HoldError::LimitReached => (
            path(&["id"]),
            "The maximum number of fulfillment holds for this fulfillment order has been \
             reached for this app. An app can only have up to 10 holds on a single fulfillment \
             order at any one time."
                .to_string(),
            Some("FULFILLMENT_ORDER_HOLD_LIMIT_REACHED"),
        ),
        HoldError::NotOnHold(_) => (
            path(&["id"]),
            "The fulfillment order is not on hold.".to_string(),
            None,
        ),
    };
    json!({"__typename": typename, "field": field, "message": message, "code": code})
}

fn fulfillment_order_value(shop: &Shop, id: Option<Id>) -> Value {
    id.and_then(|id| shop.fulfillment_orders.get(&id))
        .map_or(Value::Null, |f| fulfillment_order_tree(shop, f))
}

/// The `id:` argument of the hold mutations. A malformed id is taken as 0, which names no
/// fulfillment order (ids start above a million), so it is refused as an unknown one.
fn fulfillment_order_id(ctx: &RootCtx<'_>) -> Id {
    ctx.args
        .get("id")
        .and_then(|v| v.as_str())
        .and_then(|t| gid::parse_kind(t, "FulfillmentOrder"))
        .unwrap_or(0)
}

pub(super) fn hold(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    const ERROR: &str = "FulfillmentOrderHoldUserError";
    let payload = |shop: &Shop, fo: Option<Id>, hold: Option<Id>, errors: Vec<Value>| {
        let hold = fo
            .zip(hold)
            .and_then(|(fo, hold)| {
                shop.fulfillment_orders
                    .get(&fo)?
                    .holds
                    .iter()
                    .find(|h| h.id == hold)
            })
            .map_or(Value::Null, fulfillment_hold_tree);
        json!({
            "__typename": "FulfillmentOrderHoldPayload",
            "fulfillmentHold": hold,
            "fulfillmentOrder": fulfillment_order_value(shop, fo),
            "remainingFulfillmentOrder": Value::Null,
            "userErrors": errors,
        })
    };
    let fo = fulfillment_order_id(ctx);
    let input = object_arg(ctx, "fulfillmentHold");
    let handle = text(&input, "handle").unwrap_or_default();
    let reason = input
        .get("reason")
        .and_then(|v| v.as_str())
        .and_then(FulfillmentHoldReason::from_graphql)
        .unwrap_or(FulfillmentHoldReason::Other);
    if handle.chars().count() > MAX_HANDLE {
        let error = json!({"__typename": ERROR, "field": ["fulfillmentHold", "handle"],
            "message": "Handle is too long (maximum is 64 characters)", "code": Value::Null});
        return Ok(payload(shop, None, None, vec![error]));
    }
    // Holding some lines splits the fulfillment order on Shopify; the simulator holds whole
    // fulfillment orders only.
    let partial = input
        .get("fulfillmentOrderLineItems")
        .and_then(|v| v.as_array())
        .is_some_and(|a| !a.is_empty());
    if partial {
        let error = json!({"__typename": ERROR,
            "field": ["fulfillmentHold", "fulfillmentOrderLineItems"],
            "message": "The fulfillment order is not in a splittable state.",
            "code": "FULFILLMENT_ORDER_NOT_SPLITTABLE"});
        return Ok(payload(shop, None, None, vec![error]));
    }
    let spec = HoldSpec {
        reason,
        reason_notes: text(&input, "reasonNotes"),
        handle,
    };
    Ok(match shop.place_hold(fo, spec) {
        Ok(hold) => payload(shop, Some(fo), Some(hold), Vec::new()),
        Err(e) => payload(shop, None, None, vec![hold_error(ERROR, &e)]),
    })
}

pub(super) fn release_hold(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let fo = fulfillment_order_id(ctx);
    let hold_ids: Option<Vec<Id>> = ctx.args.get("holdIds").and_then(|v| v.as_array()).map(|a| {
        a.iter()
            .filter_map(|v| {
                v.as_str()
                    .and_then(|t| gid::parse_kind(t, "FulfillmentHold"))
            })
            .collect()
    });
    let (fo, errors) = match shop.release_holds(fo, hold_ids.as_deref()) {
        Ok(()) => (Some(fo), Vec::new()),
        Err(e) => (
            None,
            vec![hold_error("FulfillmentOrderReleaseHoldUserError", &e)],
        ),
    };
    Ok(json!({
        "__typename": "FulfillmentOrderReleaseHoldPayload",
        "fulfillmentOrder": fulfillment_order_value(shop, fo),
        "userErrors": errors,
    }))
}
