//! Refunds through the API: `refund(id:)` and `refundCreate(input:) @idempotent(key:)`.
//!
//! Since 2026-04 the idempotency key is required (checked before we get here: a missing key
//! is the top-level `IDEMPOTENCY_KEY_REQUIRED` error and nothing runs). A replay of a key with
//! the same input answers the recorded payload and creates nothing, whatever happened to the
//! shop since; a failure is recorded too, so its replay fails the same way. The same key with
//! another input is refused with a user error and creates nothing: `refundCreate`'s
//! `UserError` has no `code`, so the message says what `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`
//! says for the inventory mutations.
//!
//! The shop does the work (`shop/refunds.rs`); this file reads `RefundInput` and words the
//! refusals. `field` names the argument and the input (`["input", "refundLineItems", "0",
//! "quantity"]`). Any user error means nothing was written. A refund whose transaction the
//! gateway fails is still a refund (Shopify announces `refunds/create` "independent from the
//! movement of money"): the transaction says `FAILURE`, with its `errorCode`.

use serde_json::{Map, Value, json};

use super::customers::object_arg;
use super::objects::{order_tree, refund_tree};
use super::return_trees::money_arg;
use super::{RootCtx, RootError};
use crate::gid;
use crate::idempotency::{Lookup, fingerprint};
use crate::shop::{
    Id, RefundError, RefundLineSpec, RefundSpec, RefundTransactionSpec, RestockType,
    ShippingRefund, Shop, TransactionKind,
};
use crate::time::Timestamp;

const MUTATION: &str = "refundCreate";

/// What a reused key with another input is told.
pub const KEY_MISMATCH: &str =
    "The same idempotency key cannot be used with different operation parameters.";

pub(super) fn refund_query(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "Refund")?
        .and_then(|id| shop.refunds.get(&id))
        .map_or(Value::Null, |r| refund_tree(shop, r)))
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// A `UserError` (no `code`).
fn user_error(field: Option<Vec<String>>, message: impl Into<String>) -> Value {
    json!({"__typename": "UserError", "field": field, "message": message.into()})
}

fn payload(shop: &Shop, order: Option<Id>, refund: Option<Id>, errors: Vec<Value>) -> Value {
    json!({
        "__typename": "RefundCreatePayload",
        "order": order.and_then(|id| shop.orders.get(&id)).map_or(Value::Null, order_tree),
        "refund": refund.and_then(|id| shop.refunds.get(&id)).map_or(Value::Null, |r| refund_tree(shop, r)),
        "userErrors": errors,
    })
}

fn id_of(value: Option<&Value>, kind: &str) -> Id {
    value
        .and_then(|v| v.as_str())
        .and_then(|t| gid::parse_kind(t, kind))
        .unwrap_or(0)
}

/// The `RefundInput` as a spec, or the first user error in it.
fn refund_spec(shop: &Shop, input: &Map<String, Value>) -> Result<RefundSpec, Value> {
    let order_id = id_of(input.get("orderId"), "Order");
    let list = |name: &str| {
        input
            .get(name)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    };
    if !list("refundDuties").is_empty() {
        return Err(user_error(
            Some(path(&["input", "refundDuties", "0", "dutyId"])),
            "Duty does not exist.",
        ));
    }
    if !list("refundMethods").is_empty() {
        return Err(user_error(
            Some(path(&["input", "refundMethods"])),
            "Store credit refunds are not enabled for this shop.",
        ));
    }
    if let (Some(currency), Some(order)) = (
        input.get("currency").and_then(|v| v.as_str()),
        shop.orders.get(&order_id),
    ) && currency != order.presentment_currency
    {
        return Err(user_error(
            Some(path(&["input", "currency"])),
            "Currency must be the order's presentment currency.",
        ));
    }
    let mut spec = RefundSpec {
        order_id,
        note: input
            .get("note")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        notify: input
            .get("notify")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        allow_over_refunding: input
            .get("allowOverRefunding")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        ..RefundSpec::default()
    };
    if let Some(at) = input.get("processedAt").and_then(|v| v.as_str()) {
        spec.processed_at = Some(Timestamp::parse(at).ok_or_else(|| {
            user_error(
                Some(path(&["input", "processedAt"])),
                "Processed at is invalid.",
            )
        })?);
    }
    for entry in list("refundLineItems") {
        let quantity = entry
            .get("quantity")
            .and_then(|v| v.as_i64())
            .and_then(|q| u32::try_from(q).ok())
            .unwrap_or(0);
        spec.lines.push(RefundLineSpec {
            line_item_id: id_of(entry.get("lineItemId"), "LineItem"),
            quantity,
            restock_type: entry
                .get("restockType")
                .and_then(|v| v.as_str())
                .and_then(RestockType::from_graphql)
                .unwrap_or(RestockType::NoRestock),
            location_id: entry
                .get("locationId")
                .and_then(|v| v.as_str())
                .map(|t| gid::parse_kind(t, "Location").unwrap_or(0)),
        });
    }
    if let Some(shipping) = input.get("shipping").and_then(|v| v.as_object()) {
        if shipping.get("fullRefund").and_then(|v| v.as_bool()) == Some(true) {
            spec.shipping = Some(ShippingRefund::Full);
        } else if let Some(raw) = shipping.get("amount").filter(|v| !v.is_null()) {
            let amount = money_arg(Some(raw)).ok_or_else(|| {
                user_error(
                    Some(path(&["input", "shipping", "amount"])),
                    "Amount is not a number.",
                )
            })?;
            spec.shipping = Some(ShippingRefund::Amount(amount));
        }
    }
    for (i, t) in list("transactions").iter().enumerate() {
        let amount = money_arg(t.get("amount")).ok_or_else(|| {
            user_error(
                Some(path(&["input", "transactions", &i.to_string(), "amount"])),
                "Amount is not a number.",
            )
        })?;
        spec.transactions.push(RefundTransactionSpec {
            order_id: id_of(t.get("orderId"), "Order"),
            parent_id: t
                .get("parentId")
                .and_then(|v| v.as_str())
                .map(|text| gid::parse_kind(text, "OrderTransaction").unwrap_or(0)),
            gateway: t
                .get("gateway")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            kind: t
                .get("kind")
                .and_then(|v| v.as_str())
                .and_then(TransactionKind::from_graphql)
                .unwrap_or(TransactionKind::Refund),
            amount,
        });
    }
    Ok(spec)
}

/// A refusal of the shop as Shopify words it.
fn refund_error(e: &RefundError) -> Value {
    let line =
        |i: &usize, key: &str| Some(path(&["input", "refundLineItems", &i.to_string(), key]));
    let tx = |i: &usize, key: &str| Some(path(&["input", "transactions", &i.to_string(), key]));
    match e {
        RefundError::OrderNotFound(_) => {
            user_error(Some(path(&["input", "orderId"])), "Order does not exist.")
        }
        RefundError::Empty => user_error(
            Some(path(&["input"])),
            "A refund needs line items, shipping or transactions.",
        ),
        RefundError::UnknownLine { line: i, .. } => {
            user_error(line(i, "lineItemId"), "Line item does not exist.")
        }
        RefundError::ZeroQuantity { line: i } => {
            user_error(line(i, "quantity"), "Quantity must be greater than 0.")
        }
        RefundError::TooMany { line: i, .. } => user_error(
            line(i, "quantity"),
            "Quantity cannot refund more items than were purchased.",
        ),
        RefundError::CancelTooMany {
            line: i,
            unfulfilled,
            ..
        } => user_error(
            line(i, "quantity"),
            format!("Quantity cannot cancel more items than the {unfulfilled} unfulfilled."),
        ),
        RefundError::ReturnTooMany {
            line: i, shipped, ..
        } => user_error(
            line(i, "quantity"),
            format!("Quantity cannot return more items than the {shipped} fulfilled."),
        ),
        RefundError::LegacyRestock { line: i } => user_error(
            line(i, "restockType"),
            "Restock type LEGACY_RESTOCK is not accepted when creating refunds.",
        ),
        RefundError::UnknownLocation { line: i, .. } => {
            user_error(line(i, "locationId"), "Location does not exist.")
        }
        RefundError::ShippingTooMuch { refundable, .. } => user_error(
            Some(path(&["input", "shipping", "amount"])),
            format!(
                "Shipping refund amount must be less than or equal to {}, the refundable shipping.",
                refundable.to_fixed2()
            ),
        ),
        RefundError::TransactionOrder { transaction } => user_error(
            tx(transaction, "orderId"),
            "Transaction must belong to the refunded order.",
        ),
        RefundError::TransactionKind { transaction } => {
            user_error(tx(transaction, "kind"), "Kind must be REFUND.")
        }
        RefundError::TransactionAmount { transaction } => {
            user_error(tx(transaction, "amount"), "Amount must be greater than 0.")
        }
        RefundError::UnknownParent { transaction, .. } => user_error(
            tx(transaction, "parentId"),
            "Parent transaction does not exist or is not a sale or capture of the order.",
        ),
        RefundError::NoPayment { transaction } => user_error(
            tx(transaction, "parentId"),
            "The order has no sale or capture left to refund through.",
        ),
        RefundError::GatewayMismatch { transaction, .. } => user_error(
            tx(transaction, "gateway"),
            "Gateway must be the parent transaction's gateway.",
        ),
        RefundError::OverRefund {
            transaction,
            refundable,
            ..
        } => user_error(
            tx(transaction, "amount"),
            format!(
                "Refund amount exceeds the refundable amount of {}.",
                refundable.to_fixed2()
            ),
        ),
    }
}

pub(super) fn refund_create(
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
                    shop,
                    None,
                    None,
                    vec![user_error(None, KEY_MISMATCH)],
                ));
            }
            Lookup::Miss => {}
        }
    }
    let input = object_arg(ctx, "input");
    let result = match refund_spec(shop, &input) {
        Err(error) => payload(shop, None, None, vec![error]),
        Ok(spec) => {
            let order = spec.order_id;
            match shop.create_refund(spec) {
                Ok(id) => payload(shop, Some(order), Some(id), Vec::new()),
                Err(e) => payload(shop, None, None, vec![refund_error(&e)]),
            }
        }
    };
    if let Some(key) = key {
        shop.idempotency
            .record(MUTATION, key, print, result.clone(), now);
    }
    Ok(result)
}
