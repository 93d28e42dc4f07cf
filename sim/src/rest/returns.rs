//! The returns and refunds topics, in the documented shapes
//! (`tests/fixtures/shopify/webhooks-2026-07/returns/*.json`, `refunds/create.json`):
//!
//! - `returns/request`, `returns/approve` (and `returns/update`, which has no documented
//!   example: it is the same resource, so the same shape): the return with its order, line
//!   counts, shipping fees and (empty) exchange lines; the documented examples show
//!   `return_line_items` empty, the simulator fills it with each line's id, fulfillment line
//!   item, quantity, reason and note;
//! - `returns/decline`: the return's id, status and order, with `decline {reason, note}`;
//! - `returns/close` (and `returns/cancel`, `returns/reopen`, undocumented, whose scopes are
//!   close's): `{id, admin_graphql_api_id, order_id, status}`;
//! - `returns/process`: the documented example body is `{}`; the simulator sends close's
//!   shape so the client learns which return was processed, or `{}` with
//!   `Shop::bare_returns_process`;
//! - `refunds/create`: the refund with its line items (`subtotal` a JSON number), shipping
//!   lines and transactions (`total_unsettled_set` keyed `currency`, not `currency_code`).

use serde_json::{Value, json};

use super::{line_item, money, money_set, ts};
use crate::gid::gid;
use crate::shop::{Id, Money, Refund, Return, Shop, Transaction, topics};

/// The payload of a returns topic for the return `id`.
pub(super) fn render(shop: &Shop, topic: &str, id: Id) -> Option<Value> {
    let r = shop.returns.get(&id)?;
    Some(match topic {
        topics::RETURNS_DECLINE => json!({
            "id": r.id,
            "admin_graphql_api_id": gid("Return", r.id),
            "status": r.status.as_rest(),
            "order": order_ref(r.order_id),
            "decline": r.decline.as_ref().map(|d| json!({
                "reason": d.reason.as_rest(),
                "note": d.note,
            })),
        }),
        topics::RETURNS_PROCESS if shop.bare_returns_process => json!({}),
        topics::RETURNS_CLOSE
        | topics::RETURNS_CANCEL
        | topics::RETURNS_REOPEN
        | topics::RETURNS_PROCESS => json!({
            "id": r.id,
            "admin_graphql_api_id": gid("Return", r.id),
            "order_id": r.order_id,
            "status": r.status.as_rest(),
        }),
        _ => full_return(shop, r),
    })
}

fn order_ref(id: Id) -> Value {
    json!({"id": id, "admin_graphql_api_id": gid("Order", id)})
}

/// `returns/request`, `returns/approve`, `returns/update`.
fn full_return(shop: &Shop, r: &Return) -> Value {
    let currency = shop
        .orders
        .get(&r.order_id)
        .map_or(shop.currency.as_str(), |o| o.currency.as_str());
    let lines: Vec<Value> = r
        .line_items
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "admin_graphql_api_id": gid("ReturnLineItem", l.id),
                "fulfillment_line_item": {
                    "id": l.fulfillment_line_item_id,
                    "admin_graphql_api_id": gid("FulfillmentLineItem", l.fulfillment_line_item_id),
                    "line_item": {
                        "id": l.line_item_id,
                        "admin_graphql_api_id": gid("LineItem", l.line_item_id),
                    },
                },
                "quantity": l.quantity,
                "return_reason": l.reason.as_rest(),
                "customer_note": l.customer_note,
            })
        })
        .collect();
    let fees: Vec<Value> = r
        .shipping_fee
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "admin_graphql_api_id": gid("ReturnShippingFee", f.id),
                "price": money_set(f.amount, currency),
            })
        })
        .collect();
    json!({
        "id": r.id,
        "admin_graphql_api_id": gid("Return", r.id),
        "status": r.status.as_rest(),
        "order": order_ref(r.order_id),
        "total_return_line_items": r.line_items.len(),
        "name": r.name,
        "return_line_items": lines,
        "return_shipping_fees": fees,
        "exchange_line_items": [],
        "total_exchange_line_items": 0,
    })
}

/// A REST money amount as a JSON number (`refund_line_items[].subtotal`).
fn number(m: Money) -> f64 {
    m.0 as f64 / 100.0
}

fn transaction(t: &Transaction, currency: &str) -> Value {
    let unsettled = json!({"amount": "0.0", "currency": currency});
    json!({
        "id": t.id,
        "order_id": t.order_id,
        "kind": t.kind.as_rest(),
        "gateway": t.gateway,
        "status": t.status.as_rest(),
        "message": t.message,
        "created_at": ts(t.created_at),
        "test": t.test,
        "authorization": Value::Null,
        "location_id": Value::Null,
        "user_id": Value::Null,
        "parent_id": t.parent_id,
        "processed_at": ts(t.processed_at),
        "device_id": Value::Null,
        "error_code": t.error_code.as_ref().map(|c| c.to_ascii_lowercase()),
        "source_name": "web",
        "receipt": {},
        "amount": money(t.amount),
        "currency": currency,
        "payment_id": format!("{}.{}", t.order_id, t.id),
        "total_unsettled_set": {"presentment_money": unsettled.clone(), "shop_money": unsettled},
        "manual_payment_gateway": t.gateway == "manual",
        "amount_rounding": Value::Null,
        "admin_graphql_api_id": gid("OrderTransaction", t.id),
    })
}

/// `refunds/create`, and each of an order's `refunds`.
pub(super) fn refund(shop: &Shop, r: &Refund) -> Value {
    let order = shop.orders.get(&r.order_id);
    let cur = order.map_or(shop.currency.as_str(), |o| o.currency.as_str());
    let lines: Vec<Value> = r
        .line_items
        .iter()
        .map(|l| {
            let line = order.and_then(|o| o.line_items.iter().find(|x| x.id == l.line_item_id));
            json!({
                "id": l.id,
                "quantity": l.quantity,
                "line_item_id": l.line_item_id,
                "location_id": l.location_id,
                "restock_type": l.restock_type.as_rest(),
                "subtotal": number(l.subtotal),
                "total_tax": number(l.total_tax),
                "subtotal_set": money_set(l.subtotal, cur),
                "total_tax_set": money_set(l.total_tax, cur),
                "line_item": line.map(|x| line_item(x, cur)),
            })
        })
        .collect();
    let shipping: Vec<Value> = r
        .shipping_lines
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "shipping_line_id": s.shipping_line_id,
                "subtotal_amount_set": money_set(s.subtotal, cur),
                "tax_amount_set": money_set(s.tax, cur),
            })
        })
        .collect();
    let transactions: Vec<Value> = r
        .transaction_ids
        .iter()
        .filter_map(|id| shop.transactions.get(id))
        .map(|t| transaction(t, cur))
        .collect();
    json!({
        "id": r.id,
        "order_id": r.order_id,
        "created_at": ts(r.created_at),
        "note": r.note,
        "user_id": Value::Null,
        "processed_at": ts(r.processed_at),
        "duties": [],
        "total_duties_set": money_set(Money::ZERO, cur),
        "return": r.return_id.map(|id| json!({"id": id, "admin_graphql_api_id": gid("Return", id)})),
        "refund_shipping_lines": shipping,
        "restock": r.line_items.iter().any(|l| l.restocked),
        "admin_graphql_api_id": gid("Refund", r.id),
        "order_adjustments": [],
        "refund_line_items": lines,
        "transactions": transactions,
    })
}
