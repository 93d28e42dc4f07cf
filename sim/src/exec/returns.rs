//! Returns through the API: `return(id:)`, `returnReasonDefinitions`, and the mutations
//! `returnRequest`, `returnApproveRequest`, `returnDeclineRequest`, `returnCancel`,
//! `returnClose`, `returnReopen` and `returnProcess` (the deprecated `returnRefund` is not
//! served: `returnProcess` replaces it).
//!
//! The shop does the work (`shop/returns.rs`, one path for every caller); this file reads the
//! inputs and words the refusals as `ReturnUserError`s with the schema's `ReturnErrorCode`:
//! an unknown id is `NOT_FOUND`, a transition the status does not allow `INVALID_STATE`
//! ("Return is open and cannot be approved."), a quantity below 1 `GREATER_THAN`, more than
//! can be returned, processed or refunded `LESS_THAN_OR_EQUAL_TO`, an empty list `BLANK`,
//! a note over its limit `TOO_LONG`. `field` names the argument and the input
//! (`["input", "returnLineItems", "0", "quantity"]`; `["id"]` for the mutations that take a
//! bare id). Any user error means nothing was written.
//!
//! None of these takes `@idempotent` (Shopify documents idempotency for none of them): a key
//! is accepted and ignored, so a retried `returnProcess` meets "quantity can't be more than
//! what is left to process", as on Shopify; a client looks at the return before retrying.

use serde_json::{Map, Value, json};

use super::customers::{object_arg, one_of};
use super::objects::{reason_definition_tree, return_tree};
use super::return_trees::{money_arg, refund_shipping_arg};
use super::{RootCtx, RootError};
use crate::gid;
use crate::project::connection;
use crate::shop::{
    DispositionSpec, DispositionType, Id, IssueRefund, ParentAmount, ProcessLineSpec, ProcessSpec,
    REASON_DEFINITIONS, RefundError, ReturnDeclineReason, ReturnError, ReturnLineSpec,
    ReturnReason, ReturnSpec, Shop,
};

pub(super) fn return_query(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "Return")?
        .and_then(|id| shop.returns.get(&id))
        .map_or(Value::Null, |r| return_tree(shop, r)))
}

/// The library of return reasons, filtered by `ids:` or `handles:`.
pub(super) fn reason_definitions(ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let wanted = |name: &str| -> Option<Vec<String>> {
        ctx.args.get(name).and_then(|v| v.as_array()).map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    };
    let (ids, handles) = (wanted("ids"), wanted("handles"));
    Ok(connection(
        REASON_DEFINITIONS
            .iter()
            .filter(|d| {
                ids.as_ref().is_none_or(|ids| {
                    ids.iter()
                        .any(|i| gid::parse_kind(i, "ReturnReasonDefinition") == Some(d.id))
                })
            })
            .filter(|d| {
                handles
                    .as_ref()
                    .is_none_or(|h| h.iter().any(|h| h == d.handle))
            })
            .map(reason_definition_tree)
            .collect(),
    ))
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// A `ReturnUserError`.
fn user_error(field: Vec<String>, message: impl Into<String>, code: &str) -> Value {
    json!({"__typename": "ReturnUserError", "field": field, "message": message.into(), "code": code})
}

/// A payload `{return, userErrors}` of the return mutations.
fn payload(typename: &str, shop: &Shop, id: Option<Id>, errors: Vec<Value>) -> Value {
    json!({
        "__typename": typename,
        "return": id.and_then(|id| shop.returns.get(&id)).map_or(Value::Null, |r| return_tree(shop, r)),
        "userErrors": errors,
    })
}

/// An `ID` input of the given type; a malformed one is taken as 0, which names nothing (ids
/// start above a million), so it is refused as unknown.
fn id_of(value: Option<&Value>, kind: &str) -> Id {
    value
        .and_then(|v| v.as_str())
        .and_then(|t| gid::parse_kind(t, kind))
        .unwrap_or(0)
}

fn text(input: &Map<String, Value>, key: &str) -> Option<String> {
    input.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

fn flag(input: &Map<String, Value>, key: &str) -> bool {
    input.get(key).and_then(|v| v.as_bool()).unwrap_or(false)
}

/// An `Int` quantity: below 1 (or beyond `u32`) is 0, which the shop refuses as such.
fn quantity(input: &Value) -> u32 {
    input
        .get("quantity")
        .and_then(|v| v.as_i64())
        .and_then(|q| u32::try_from(q).ok())
        .unwrap_or(0)
}

/// Where the mutation names its return: `["input", "id"]`, `["input", "returnId"]` or `["id"]`.
struct Names {
    id: &'static [&'static str],
}

/// A refusal of the shop as a `ReturnUserError`.
fn return_error(e: &ReturnError, names: &Names) -> Value {
    let lines = |i: &usize, rest: &[&str]| {
        let mut p = path(&["input", "returnLineItems", &i.to_string()]);
        p.extend(rest.iter().map(|s| s.to_string()));
        p
    };
    let disposition =
        |i: &usize, j: &usize, key: &str| lines(i, &["dispositions", &j.to_string(), key]);
    match e {
        ReturnError::OrderNotFound(_) => user_error(
            path(&["input", "orderId"]),
            "Order does not exist.",
            "NOT_FOUND",
        ),
        ReturnError::NotFound(_) => {
            user_error(path(names.id), "Return does not exist.", "NOT_FOUND")
        }
        ReturnError::NoLines => user_error(
            path(&["input", "returnLineItems"]),
            "Return line items can't be blank.",
            "BLANK",
        ),
        ReturnError::UnknownFulfillmentLine { line, .. } => user_error(
            lines(line, &["fulfillmentLineItemId"]),
            "Fulfillment line item does not exist.",
            "NOT_FOUND",
        ),
        ReturnError::DuplicateLine { line, .. } => user_error(
            lines(line, &["fulfillmentLineItemId"]),
            "Fulfillment line item has already been taken by another line of this return.",
            "TAKEN",
        ),
        ReturnError::ZeroQuantity { line } => user_error(
            lines(line, &["quantity"]),
            "Quantity must be greater than 0.",
            "GREATER_THAN",
        ),
        ReturnError::NotReturnable {
            line, returnable, ..
        } => user_error(
            lines(line, &["quantity"]),
            format!(
                "Quantity must be less than or equal to {returnable}, the returnable quantity of the fulfillment line item."
            ),
            "LESS_THAN_OR_EQUAL_TO",
        ),
        ReturnError::NoteTooLong { line } => user_error(
            lines(line, &["customerNote"]),
            "Customer note is too long (maximum is 300 characters).",
            "TOO_LONG",
        ),
        ReturnError::UnknownReason { line, .. } => user_error(
            lines(line, &["returnReasonDefinitionId"]),
            "Return reason definition does not exist.",
            "NOT_FOUND",
        ),
        ReturnError::NegativeFee => user_error(
            path(&["input", "returnShippingFee", "amount"]),
            "Return shipping fee must be greater than or equal to 0.",
            "GREATER_THAN_OR_EQUAL_TO",
        ),
        ReturnError::InvalidState { status, action, .. } => user_error(
            path(names.id),
            format!("Return is {} and cannot be {action}.", status.as_rest()),
            "INVALID_STATE",
        ),
        ReturnError::WorkDone(_) => user_error(
            path(names.id),
            "Return cannot be canceled: items of it were processed or refunded.",
            "INVALID_STATE",
        ),
        ReturnError::DeclineNoteTooLong => user_error(
            path(&["input", "declineNote"]),
            "Decline note is too long (maximum is 500 characters).",
            "TOO_LONG",
        ),
        ReturnError::UnknownReturnLine { line, .. } => user_error(
            lines(line, &["id"]),
            "Return line item does not exist.",
            "NOT_FOUND",
        ),
        ReturnError::NotProcessable {
            line, unprocessed, ..
        } => user_error(
            lines(line, &["quantity"]),
            format!(
                "Quantity must be less than or equal to {unprocessed}, the unprocessed quantity of the return line item."
            ),
            "LESS_THAN_OR_EQUAL_TO",
        ),
        ReturnError::NotRefundable {
            line, refundable, ..
        } => user_error(
            lines(line, &["quantity"]),
            format!(
                "Quantity must be less than or equal to {refundable}, the refundable quantity of the return line item."
            ),
            "LESS_THAN_OR_EQUAL_TO",
        ),
        ReturnError::UnknownReverseLine {
            line,
            disposition: j,
            ..
        } => user_error(
            disposition(line, j, "reverseFulfillmentOrderLineItemId"),
            "Reverse fulfillment order line item does not exist for this return line item.",
            "NOT_FOUND",
        ),
        ReturnError::TooManyDisposed { line, quantity, .. } => user_error(
            lines(line, &["dispositions"]),
            format!(
                "The dispositions' quantities must add up to at most {quantity}, the quantity processed."
            ),
            "LESS_THAN_OR_EQUAL_TO",
        ),
        ReturnError::ZeroDisposition {
            line,
            disposition: j,
        } => user_error(
            disposition(line, j, "quantity"),
            "Quantity must be greater than 0.",
            "GREATER_THAN",
        ),
        ReturnError::RestockWithoutLocation {
            line,
            disposition: j,
        } => user_error(
            disposition(line, j, "locationId"),
            "Location is required to restock items.",
            "BLANK",
        ),
        ReturnError::UnknownLocation {
            line,
            disposition: j,
            ..
        } => user_error(
            disposition(line, j, "locationId"),
            "Location does not exist or is not active.",
            "NOT_FOUND",
        ),
        ReturnError::Refund(e) => process_refund_error(e),
    }
}

/// A refusal of a `returnProcess`'s refund.
fn process_refund_error(e: &RefundError) -> Value {
    let tx = |i: &usize, key: &str| {
        path(&[
            "input",
            "financialTransfer",
            "issueRefund",
            "orderTransactions",
            &i.to_string(),
            key,
        ])
    };
    match e {
        RefundError::ShippingTooMuch { refundable, .. } => user_error(
            path(&["input", "refundShipping"]),
            format!(
                "Shipping refund amount must be less than or equal to {}, the refundable shipping.",
                refundable.to_fixed2()
            ),
            "LESS_THAN_OR_EQUAL_TO",
        ),
        RefundError::UnknownParent { transaction, .. } | RefundError::NoPayment { transaction } => {
            user_error(
                tx(transaction, "parentId"),
                "Parent transaction does not exist or is not a sale or capture of the order.",
                "NOT_FOUND",
            )
        }
        RefundError::TransactionAmount { transaction } => user_error(
            tx(transaction, "transactionAmount"),
            "Transaction amount must be greater than 0.",
            "GREATER_THAN",
        ),
        RefundError::OverRefund {
            transaction,
            refundable,
            ..
        } => user_error(
            tx(transaction, "transactionAmount"),
            format!(
                "Transaction amount must be less than or equal to {}, the refundable amount.",
                refundable.to_fixed2()
            ),
            "LESS_THAN_OR_EQUAL_TO",
        ),
        other => user_error(path(&["input"]), other.to_string(), "INVALID"),
    }
}

/// The `ReturnRequestInput` as a spec, or the first user error in it.
fn request_spec(shop: &Shop, input: &Map<String, Value>) -> Result<ReturnSpec, Value> {
    let order_id = id_of(input.get("orderId"), "Order");
    let mut spec = ReturnSpec {
        order_id,
        ..ReturnSpec::default()
    };
    let empty = Vec::new();
    let entries = input
        .get("returnLineItems")
        .and_then(|v| v.as_array())
        .unwrap_or(&empty);
    for (i, entry) in entries.iter().enumerate() {
        let Some(line) = entry.as_object() else {
            continue;
        };
        if line.get("restockingFee").is_some_and(|v| !v.is_null()) {
            return Err(user_error(
                path(&["input", "returnLineItems", &i.to_string(), "restockingFee"]),
                "Restocking fees are not enabled for this shop.",
                "FEATURE_NOT_ENABLED",
            ));
        }
        // A malformed id names no definition (0) and is refused as unknown.
        let definition = line
            .get("returnReasonDefinitionId")
            .and_then(|v| v.as_str())
            .map(|text| gid::parse_kind(text, "ReturnReasonDefinition").unwrap_or(0));
        spec.lines.push(ReturnLineSpec {
            fulfillment_line_item_id: id_of(
                line.get("fulfillmentLineItemId"),
                "FulfillmentLineItem",
            ),
            quantity: quantity(entry),
            reason: line
                .get("returnReason")
                .and_then(|v| v.as_str())
                .and_then(ReturnReason::from_graphql)
                .unwrap_or(ReturnReason::Unknown),
            reason_definition_id: definition,
            customer_note: text(line, "customerNote"),
        });
    }
    if let Some(fee) = input.get("returnShippingFee").and_then(|v| v.get("amount")) {
        let currency = fee.get("currencyCode").and_then(|v| v.as_str());
        let order_currency = shop.orders.get(&order_id).map(|o| o.currency.as_str());
        if order_currency.is_some() && currency != order_currency {
            return Err(user_error(
                path(&["input", "returnShippingFee", "amount", "currencyCode"]),
                "Currency must be the order's presentment currency.",
                "INVALID",
            ));
        }
        let amount = money_arg(Some(fee)).ok_or_else(|| {
            user_error(
                path(&["input", "returnShippingFee", "amount", "amount"]),
                "Amount is not a number.",
                "NOT_A_NUMBER",
            )
        })?;
        spec.shipping_fee = Some(amount);
    }
    Ok(spec)
}

pub(super) fn return_request(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    const PAYLOAD: &str = "ReturnRequestPayload";
    let input = object_arg(ctx, "input");
    let names = Names {
        id: &["input", "id"],
    };
    Ok(match request_spec(shop, &input) {
        Err(error) => payload(PAYLOAD, shop, None, vec![error]),
        Ok(spec) => match shop.request_return(spec) {
            Ok(id) => payload(PAYLOAD, shop, Some(id), Vec::new()),
            Err(e) => payload(PAYLOAD, shop, None, vec![return_error(&e, &names)]),
        },
    })
}

pub(super) fn approve_request(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let input = object_arg(ctx, "input");
    let id = id_of(input.get("id"), "Return");
    let names = Names {
        id: &["input", "id"],
    };
    let result = shop.approve_return(id, flag(&input, "notifyCustomer"));
    Ok(decided(
        "ReturnApproveRequestPayload",
        shop,
        id,
        result,
        &names,
    ))
}

/// The payload of a mutation that changed one return or was refused.
fn decided(
    typename: &str,
    shop: &Shop,
    id: Id,
    result: Result<(), ReturnError>,
    names: &Names,
) -> Value {
    match result {
        Ok(()) => payload(typename, shop, Some(id), Vec::new()),
        Err(e) => payload(typename, shop, None, vec![return_error(&e, names)]),
    }
}

pub(super) fn decline_request(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    const PAYLOAD: &str = "ReturnDeclineRequestPayload";
    let input = object_arg(ctx, "input");
    let id = id_of(input.get("id"), "Return");
    let names = Names {
        id: &["input", "id"],
    };
    let Some(reason) = input
        .get("declineReason")
        .and_then(|v| v.as_str())
        .and_then(ReturnDeclineReason::from_graphql)
    else {
        let error = user_error(
            path(&["input", "declineReason"]),
            "Decline reason is not included in the list.",
            "INCLUSION",
        );
        return Ok(payload(PAYLOAD, shop, None, vec![error]));
    };
    let result = shop.decline_return(
        id,
        reason,
        text(&input, "declineNote"),
        flag(&input, "notifyCustomer"),
    );
    Ok(decided(PAYLOAD, shop, id, result, &names))
}

pub(super) fn cancel(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let id = id_of(ctx.args.get("id"), "Return");
    let result = shop.cancel_return(id, flag(&ctx.args, "notifyCustomer"));
    Ok(decided(
        "ReturnCancelPayload",
        shop,
        id,
        result,
        &Names { id: &["id"] },
    ))
}

pub(super) fn close(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let id = id_of(ctx.args.get("id"), "Return");
    let result = shop.close_return(id);
    Ok(decided(
        "ReturnClosePayload",
        shop,
        id,
        result,
        &Names { id: &["id"] },
    ))
}

pub(super) fn reopen(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let id = id_of(ctx.args.get("id"), "Return");
    let result = shop.reopen_return(id);
    Ok(decided(
        "ReturnReopenPayload",
        shop,
        id,
        result,
        &Names { id: &["id"] },
    ))
}

/// The `ReturnProcessInput` as a spec, or the first user error in it (a malformed
/// `financialTransfer`, which is `@oneOf`, is a top-level error).
fn process_spec(
    shop: &Shop,
    input: &Map<String, Value>,
) -> Result<Result<ProcessSpec, Value>, RootError> {
    let return_id = id_of(input.get("returnId"), "Return");
    let mut spec = ProcessSpec {
        return_id,
        note: text(input, "note"),
        notify_customer: flag(input, "notifyCustomer"),
        refund_shipping: refund_shipping_arg(input.get("refundShipping")),
        ..ProcessSpec::default()
    };
    let list = |name: &str| {
        input
            .get(name)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    };
    if !list("exchangeLineItems").is_empty() {
        return Ok(Err(user_error(
            path(&["input", "exchangeLineItems", "0", "id"]),
            "Exchange line item does not exist.",
            "NOT_FOUND",
        )));
    }
    if !list("refundDuties").is_empty() {
        return Ok(Err(user_error(
            path(&["input", "refundDuties", "0", "dutyId"]),
            "Duty does not exist.",
            "NOT_FOUND",
        )));
    }
    for entry in list("returnLineItems") {
        let dispositions = entry
            .get("dispositions")
            .and_then(|v| v.as_array())
            .map(|ds| {
                ds.iter()
                    .map(|d| DispositionSpec {
                        reverse_line_id: id_of(
                            d.get("reverseFulfillmentOrderLineItemId"),
                            "ReverseFulfillmentOrderLineItem",
                        ),
                        quantity: quantity(d),
                        kind: d
                            .get("dispositionType")
                            .and_then(|v| v.as_str())
                            .and_then(DispositionType::from_graphql)
                            .unwrap_or(DispositionType::ProcessingRequired),
                        location_id: d
                            .get("locationId")
                            .and_then(|v| v.as_str())
                            .map(|t| gid::parse_kind(t, "Location").unwrap_or(0)),
                    })
                    .collect()
            })
            .unwrap_or_default();
        spec.lines.push(ProcessLineSpec {
            return_line_id: id_of(entry.get("id"), "ReturnLineItem"),
            quantity: quantity(&entry),
            dispositions,
        });
    }
    if let Some(transfer) = input.get("financialTransfer").and_then(|v| v.as_object()) {
        let (_, issue) = one_of(transfer, "ReturnProcessFinancialTransferInput")?;
        let empty = Map::new();
        let issue = issue.as_object().unwrap_or(&empty);
        if issue
            .get("refundMethods")
            .and_then(|v| v.as_array())
            .is_some_and(|m| !m.is_empty())
        {
            return Ok(Err(user_error(
                path(&["input", "financialTransfer", "issueRefund", "refundMethods"]),
                "Store credit refunds are not enabled for this shop.",
                "FEATURE_NOT_ENABLED",
            )));
        }
        let currency = shop
            .returns
            .get(&return_id)
            .and_then(|r| shop.orders.get(&r.order_id))
            .map(|o| o.presentment_currency.clone());
        let mut refund = IssueRefund {
            allow_over_refunding: flag(issue, "allowOverRefunding"),
            ..IssueRefund::default()
        };
        let transactions = issue
            .get("orderTransactions")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        for (i, t) in transactions.iter().enumerate() {
            let at = |key: &str| {
                path(&[
                    "input",
                    "financialTransfer",
                    "issueRefund",
                    "orderTransactions",
                    &i.to_string(),
                    "transactionAmount",
                    key,
                ])
            };
            let money = t.get("transactionAmount");
            let code = money
                .and_then(|m| m.get("currencyCode"))
                .and_then(|v| v.as_str());
            if currency.is_some() && code != currency.as_deref() {
                return Ok(Err(user_error(
                    at("currencyCode"),
                    "Currency must be the order's presentment currency.",
                    "INVALID",
                )));
            }
            let Some(amount) = money_arg(money) else {
                return Ok(Err(user_error(
                    at("amount"),
                    "Amount is not a number.",
                    "NOT_A_NUMBER",
                )));
            };
            refund.transactions.push(ParentAmount {
                parent_id: id_of(t.get("parentId"), "OrderTransaction"),
                amount,
            });
        }
        spec.refund = Some(refund);
    }
    Ok(Ok(spec))
}

pub(super) fn process(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    const PAYLOAD: &str = "ReturnProcessPayload";
    let input = object_arg(ctx, "input");
    let names = Names {
        id: &["input", "returnId"],
    };
    let spec = match process_spec(shop, &input)? {
        Ok(spec) => spec,
        Err(error) => return Ok(payload(PAYLOAD, shop, None, vec![error])),
    };
    let id = spec.return_id;
    Ok(match shop.process_return(spec) {
        Ok(_) => payload(PAYLOAD, shop, Some(id), Vec::new()),
        Err(e) => payload(PAYLOAD, shop, None, vec![return_error(&e, &names)]),
    })
}
