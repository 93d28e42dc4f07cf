//! Returns, refunds and transactions as value trees: `Return` (its lines, reverse fulfillment
//! order, fees, refunds), `Refund` (lines, shipping lines, transactions), `OrderTransaction`,
//! `ReturnReasonDefinition`, and the fields that depend on arguments or on the whole shop:
//! `Return.returnLineItems(processingStatus:)`, `Return.suggestedFinancialOutcome(…)`,
//! `Order.returns(query:)`, `Order.returnStatus`, `Order.transactions(capturable:)`,
//! `Order.totalRefundedShippingSet`, `Order.refundable` and `Order.suggestedRefund(…)`.
//!
//! The suggested outcome is computed by the shop (`Shop::suggest_return_outcome`), from the
//! same numbers `returnProcess` and `refundCreate` record, so a client that refunds what was
//! suggested finds exactly that amount in the refund.

use serde_json::{Map, Value, json};

use super::fulfillment_trees::fulfillment_line_tree;
use super::objects::{legacy, line_item_tree, money_bag, money_v2, opt_ts, ref_to, tree, ts};
use crate::gid::{self, gid};
use crate::project::connection;
use crate::search::{self, FieldValue, Searchable};
use crate::shop::{
    Id, Money, ReasonDefinition, Refund, RefundError, RefundOutcome, Return, ReturnError,
    ReturnLine, ReturnStatus, ShippingRefund, Shop, Transaction, TransactionKind,
    TransactionStatus, definition_of, line_money, reason_definition, units_money,
};

impl Searchable for Return {
    fn search_fields() -> &'static [&'static str] {
        &["status", "created_at", "updated_at", "id", "name"]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        match field {
            "status" => vec![FieldValue::Text(self.status.as_rest())],
            "created_at" => vec![FieldValue::Time(self.created_at)],
            "updated_at" => vec![FieldValue::Time(self.updated_at)],
            "id" => vec![FieldValue::Int(self.id as i64)],
            "name" => vec![FieldValue::Text(self.name.clone())],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        vec![self.name.clone()]
    }
}

pub fn reason_definition_tree(d: &ReasonDefinition) -> Value {
    tree!("ReturnReasonDefinition";
        "id" => gid("ReturnReasonDefinition", d.id),
        "handle" => d.handle,
        "name" => d.name,
        "deleted" => false,
    )
}

/// The currency of an order's money (the shop's when the order is gone).
fn currency_of(shop: &Shop, order_id: Id) -> String {
    shop.orders
        .get(&order_id)
        .map_or_else(|| shop.currency.clone(), |o| o.currency.clone())
}

/// The embedded `FulfillmentLineItem` of a return line.
fn returned_fulfillment_line(shop: &Shop, order_id: Id, rl: &ReturnLine) -> Value {
    let currency = currency_of(shop, order_id);
    let line = shop
        .orders
        .get(&order_id)
        .and_then(|o| o.line_items.iter().find(|l| l.id == rl.line_item_id));
    match (
        line,
        shop.fulfillment_line(order_id, rl.fulfillment_line_item_id),
    ) {
        (Some(line), Some((_, fl))) => fulfillment_line_tree(line, fl, &currency),
        _ => Value::Null,
    }
}

fn return_line_tree(shop: &Shop, r: &Return, rl: &ReturnLine) -> Value {
    let currency = currency_of(shop, r.order_id);
    let order = shop.orders.get(&r.order_id);
    // The units' price after every discount: their share of the line's discounted total.
    let (discounted, grams) = order
        .and_then(|o| {
            let index = o.line_items.iter().position(|l| l.id == rl.line_item_id)?;
            let money = line_money(o);
            let units = units_money(&money[index], 0, rl.quantity);
            Some((units.subtotal, o.line_items[index].grams))
        })
        .unwrap_or((Money::ZERO, 0));
    let definition = rl
        .reason_definition_id
        .and_then(reason_definition)
        .or_else(|| definition_of(rl.reason));
    tree!("ReturnLineItem";
        "id" => gid("ReturnLineItem", rl.id),
        "quantity" => rl.quantity,
        "returnReason" => rl.reason.as_graphql(),
        "returnReasonNote" => "",
        "returnReasonDefinition" => definition.map_or(Value::Null, reason_definition_tree),
        "customerNote" => rl.customer_note,
        "processableQuantity" => rl.unprocessed(),
        "processedQuantity" => rl.processed_quantity,
        "unprocessedQuantity" => rl.unprocessed(),
        "refundableQuantity" => rl.refundable(),
        "refundedQuantity" => rl.refunded_quantity,
        "restockingFee" => Value::Null,
        "totalWeight" => json!({"__typename": "Weight", "unit": "GRAMS",
            "value": f64::from(grams) * f64::from(rl.quantity)}),
        "withCodeDiscountedTotalPriceSet" => money_bag(discounted, &currency),
        "fulfillmentLineItem" => returned_fulfillment_line(shop, r.order_id, rl),
    )
}

fn reverse_fulfillment_order_tree(shop: &Shop, r: &Return, id: Id) -> Value {
    let lines: Vec<Value> = r
        .line_items
        .iter()
        .filter_map(|rl| {
            let reverse = rl.reverse_line_id?;
            Some(tree!("ReverseFulfillmentOrderLineItem";
                "id" => gid("ReverseFulfillmentOrderLineItem", reverse),
                "totalQuantity" => rl.quantity,
                "fulfillmentLineItem" => returned_fulfillment_line(shop, r.order_id, rl),
                "dispositions" => rl.dispositions.iter().map(|d| tree!("ReverseFulfillmentOrderDisposition";
                    "id" => gid("ReverseFulfillmentOrderDisposition", d.id),
                    "createdAt" => ts(d.created_at),
                    "quantity" => d.quantity,
                    "type" => d.kind.as_graphql(),
                    "location" => d.location_id.map_or(Value::Null, |l| ref_to("Location", l)),
                )).collect::<Vec<_>>(),
            ))
        })
        .collect();
    tree!("ReverseFulfillmentOrder";
        "id" => gid("ReverseFulfillmentOrder", id),
        "status" => r.reverse_status(),
        "order" => ref_to("Order", r.order_id),
        "lineItems" => connection(lines),
        "reverseDeliveries" => connection(Vec::new()),
        "thirdPartyConfirmation" => Value::Null,
    )
}

/// A return's reverse fulfillment order, found by its id.
pub fn reverse_fulfillment_order_by_id(shop: &Shop, id: Id) -> Option<Value> {
    shop.returns
        .values()
        .find(|r| r.reverse_fulfillment_order_id == Some(id))
        .map(|r| reverse_fulfillment_order_tree(shop, r, id))
}

pub fn return_tree(shop: &Shop, r: &Return) -> Value {
    let currency = currency_of(shop, r.order_id);
    let refunds: Vec<&Refund> = shop.refunds_of_return(r).collect();
    let transactions: Vec<Value> = refunds
        .iter()
        .flat_map(|f| &f.transaction_ids)
        .map(|&t| ref_to("OrderTransaction", t))
        .collect();
    tree!("Return";
        "id" => gid("Return", r.id),
        "name" => r.name,
        "status" => r.status.as_graphql(),
        "createdAt" => ts(r.created_at),
        "closedAt" => opt_ts(r.closed_at),
        "requestApprovedAt" => opt_ts(r.approved_at),
        "decline" => r.decline.as_ref().map_or(Value::Null, |d| tree!("ReturnDecline";
            "reason" => d.reason.as_graphql(),
            "note" => d.note,
        )),
        "totalQuantity" => r.total_quantity(),
        "order" => ref_to("Order", r.order_id),
        "returnLineItems" => connection(r.line_items.iter().map(|rl| return_line_tree(shop, r, rl)).collect()),
        "refunds" => connection(refunds.iter().map(|f| ref_to("Refund", f.id)).collect()),
        "transactions" => connection(transactions),
        "returnShippingFees" => r.shipping_fee.iter().map(|f| tree!("ReturnShippingFee";
            "id" => gid("ReturnShippingFee", f.id),
            "amountSet" => money_bag(f.amount, &currency),
        )).collect::<Vec<_>>(),
        "reverseFulfillmentOrders" => connection(r.reverse_fulfillment_order_id
            .map(|id| reverse_fulfillment_order_tree(shop, r, id)).into_iter().collect()),
        "exchangeLineItems" => connection(Vec::new()),
        "staffMember" => Value::Null,
    )
}

/// What a refund gave back: the amounts of its transactions that succeeded.
pub fn refund_total(shop: &Shop, f: &Refund) -> Money {
    f.transaction_ids
        .iter()
        .filter_map(|t| shop.transactions.get(t))
        .filter(|t| t.status == TransactionStatus::Success)
        .map(|t| t.amount)
        .sum()
}

pub fn refund_tree(shop: &Shop, f: &Refund) -> Value {
    let order = shop.orders.get(&f.order_id);
    let currency = currency_of(shop, f.order_id);
    let lines: Vec<Value> = f
        .line_items
        .iter()
        .map(|rl| {
            let line = order.and_then(|o| o.line_items.iter().find(|l| l.id == rl.line_item_id));
            let price = line.map_or(Money::ZERO, |l| l.price);
            tree!("RefundLineItem";
                "id" => gid("RefundLineItem", rl.id),
                "quantity" => rl.quantity,
                "restockType" => rl.restock_type.as_graphql(),
                "restocked" => rl.restocked,
                "lineItem" => line.map_or(Value::Null, |l| line_item_tree(l, &currency)),
                "location" => rl.location_id.map_or(Value::Null, |l| ref_to("Location", l)),
                "price" => price.to_fixed2(),
                "priceSet" => money_bag(price, &currency),
                "subtotal" => rl.subtotal.to_fixed2(),
                "subtotalSet" => money_bag(rl.subtotal, &currency),
                "totalTax" => rl.total_tax.to_fixed2(),
                "totalTaxSet" => money_bag(rl.total_tax, &currency),
            )
        })
        .collect();
    let shipping_lines: Vec<Value> = f
        .shipping_lines
        .iter()
        .map(|s| {
            let line = order
                .and_then(|o| o.shipping_lines.iter().find(|l| l.id == s.shipping_line_id))
                .map_or(Value::Null, |l| {
                    tree!("ShippingLine";
                        "id" => gid("ShippingLine", l.id),
                        "title" => l.title,
                        "code" => l.code,
                        "source" => l.source,
                        "originalPriceSet" => money_bag(l.price, &currency),
                        "discountedPriceSet" => money_bag(l.price, &currency),
                    )
                });
            tree!("RefundShippingLine";
                "id" => gid("RefundShippingLine", s.id),
                "shippingLine" => line,
                "subtotalAmountSet" => money_bag(s.subtotal, &currency),
                "taxAmountSet" => money_bag(s.tax, &currency),
            )
        })
        .collect();
    let total = refund_total(shop, f);
    tree!("Refund";
        "id" => gid("Refund", f.id),
        "legacyResourceId" => legacy(f.id),
        "note" => f.note,
        "createdAt" => ts(f.created_at),
        "processedAt" => ts(f.processed_at),
        "updatedAt" => ts(f.updated_at),
        "order" => ref_to("Order", f.order_id),
        "return" => f.return_id.map_or(Value::Null, |r| ref_to("Return", r)),
        "staffMember" => Value::Null,
        "totalRefunded" => money_v2(total, &currency),
        "totalRefundedSet" => money_bag(total, &currency),
        "refundLineItems" => connection(lines),
        "refundShippingLines" => connection(shipping_lines),
        "transactions" => connection(f.transaction_ids.iter().map(|&t| ref_to("OrderTransaction", t)).collect()),
        "orderAdjustments" => connection(Vec::new()),
        "duties" => json!([]),
    )
}

/// `Shopify Payments` for `shopify_payments`, as the admin names gateways.
fn formatted_gateway(gateway: &str) -> String {
    gateway
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_uppercase().collect::<String>() + c.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn transaction_tree(shop: &Shop, t: &Transaction) -> Value {
    let currency = currency_of(shop, t.order_id);
    let refundable = t.kind.is_payment().then(|| shop.payment_refundable(t));
    let receipt = match &t.message {
        Some(m) => json!({"message": m}),
        None => json!({}),
    };
    tree!("OrderTransaction";
        "id" => gid("OrderTransaction", t.id),
        "kind" => t.kind.as_graphql(),
        "status" => t.status.as_graphql(),
        "gateway" => t.gateway,
        "formattedGateway" => formatted_gateway(&t.gateway),
        "amount" => t.amount.to_fixed2(),
        "amountSet" => money_bag(t.amount, &currency),
        "amountV2" => money_v2(t.amount, &currency),
        "createdAt" => ts(t.created_at),
        "processedAt" => ts(t.processed_at),
        "errorCode" => t.error_code,
        "receiptJson" => receipt.to_string(),
        "test" => t.test,
        "paymentId" => format!("{}.{}", t.order_id, t.id),
        "parentTransaction" => t.parent_id.map_or(Value::Null, |p| ref_to("OrderTransaction", p)),
        "order" => ref_to("Order", t.order_id),
        "manualPaymentGateway" => t.gateway == "manual",
        "manuallyCapturable" => false,
        "multiCapturable" => false,
        "maximumRefundable" => refundable.map(|m| m.to_fixed2()),
        "maximumRefundableV2" => refundable.map_or(Value::Null, |m| money_v2(m, &currency)),
        "totalUnsettled" => Money::ZERO.to_fixed2(),
        "totalUnsettledSet" => money_bag(Money::ZERO, &currency),
        "totalUnsettledV2" => money_v2(Money::ZERO, &currency),
        "accountNumber" => Value::Null,
        "authorizationCode" => Value::Null,
        "authorizationExpiresAt" => Value::Null,
        "amountRoundingSet" => Value::Null,
        "currencyExchangeAdjustment" => Value::Null,
        "settlementCurrency" => Value::Null,
        "settlementCurrencyRate" => Value::Null,
        "shopifyPaymentsSet" => Value::Null,
        "paymentDetails" => Value::Null,
        "paymentIcon" => Value::Null,
        "location" => Value::Null,
        "device" => Value::Null,
        "user" => Value::Null,
        "fees" => json!([]),
    )
}

/// A `MoneyInput` or `Money`/`Decimal` value (a string, or a number from a lax client).
pub(super) fn money_arg(value: Option<&Value>) -> Option<Money> {
    match value? {
        Value::String(s) => Money::parse(s),
        Value::Number(n) => Money::parse(&n.to_string()),
        Value::Object(m) => money_arg(m.get("amount")),
        _ => None,
    }
}

/// `RefundShippingInput` (`fullRefund`, `shippingRefundAmount`), as `refundShipping:`.
pub(super) fn refund_shipping_arg(value: Option<&Value>) -> Option<ShippingRefund> {
    let input = value?.as_object()?;
    if input.get("fullRefund").and_then(|v| v.as_bool()) == Some(true) {
        return Some(ShippingRefund::Full);
    }
    money_arg(input.get("shippingRefundAmount")).map(ShippingRefund::Amount)
}

/// The payments a suggested refund goes back through (`SuggestedOrderTransaction`).
fn suggested_transactions(shop: &Shop, outcome: &RefundOutcome, currency: &str) -> Vec<Value> {
    let bag = |m: Money| money_bag(m, currency);
    outcome
        .transactions
        .iter()
        .filter_map(|(payment, amount, room)| {
            let t = shop.transactions.get(payment)?;
            Some(tree!("SuggestedOrderTransaction";
                "kind" => TransactionKind::SuggestedRefund.as_graphql(),
                "amount" => amount.to_fixed2(),
                "amountSet" => bag(*amount),
                "maximumRefundable" => room.to_fixed2(),
                "maximumRefundableSet" => bag(*room),
                "gateway" => t.gateway,
                "formattedGateway" => formatted_gateway(&t.gateway),
                "parentTransaction" => ref_to("OrderTransaction", t.id),
                "accountNumber" => Value::Null,
                "paymentDetails" => Value::Null,
            ))
        })
        .collect()
}

/// `ShippingRefund` of a suggestion.
fn shipping_refund_tree(outcome: &RefundOutcome, currency: &str) -> Value {
    let bag = |m: Money| money_bag(m, currency);
    tree!("ShippingRefund";
        "amount" => outcome.shipping.to_fixed2(),
        "amountSet" => bag(outcome.shipping),
        "maximumRefundable" => outcome.shipping_refundable.to_fixed2(),
        "maximumRefundableSet" => bag(outcome.shipping_refundable),
        "tax" => Money::ZERO.to_fixed2(),
        "taxSet" => bag(Money::ZERO),
    )
}

/// `Order.suggestedRefund(refundLineItems:, refundShipping:, shippingAmount:,
/// suggestFullRefund:, refundDuties:, refundMethodAllocation:)`: what `refundCreate` of those
/// units would record, and through which payments.
fn suggested_refund(shop: &Shop, order_id: Id, args: &Map<String, Value>) -> Result<Value, String> {
    let order = shop.orders.get(&order_id).ok_or("Order does not exist.")?;
    if args
        .get("refundDuties")
        .and_then(|v| v.as_array())
        .is_some_and(|d| !d.is_empty())
    {
        return Err("Duty does not exist: the order has no duties.".into());
    }
    if args.get("refundMethodAllocation").and_then(|v| v.as_str()) == Some("STORE_CREDIT") {
        return Err("Store credit refunds are not enabled for this shop.".into());
    }
    let full = args.get("suggestFullRefund").and_then(|v| v.as_bool()) == Some(true);
    // (line item, units, restock type, location).
    let mut wanted: Vec<(Id, u32, String, Option<Id>)> = Vec::new();
    if full {
        wanted = order
            .line_items
            .iter()
            .filter(|l| l.refundable() > 0)
            .map(|l| (l.id, l.refundable(), "NO_RESTOCK".to_string(), None))
            .collect();
    } else {
        for entry in args
            .get("refundLineItems")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
        {
            let id = entry
                .get("lineItemId")
                .and_then(|v| v.as_str())
                .and_then(|t| gid::parse_kind(t, "LineItem"))
                .ok_or("Line item does not exist.")?;
            let quantity = entry
                .get("quantity")
                .and_then(|v| v.as_i64())
                .and_then(|q| u32::try_from(q).ok())
                .unwrap_or(0);
            let restock = entry
                .get("restockType")
                .and_then(|v| v.as_str())
                .unwrap_or("NO_RESTOCK")
                .to_string();
            let location = entry
                .get("locationId")
                .and_then(|v| v.as_str())
                .and_then(|t| gid::parse_kind(t, "Location"));
            wanted.push((id, quantity, restock, location));
        }
    }
    let shipping = if full || args.get("refundShipping").and_then(|v| v.as_bool()) == Some(true) {
        Some(ShippingRefund::Full)
    } else {
        money_arg(args.get("shippingAmount")).map(ShippingRefund::Amount)
    };
    let units: Vec<(Id, u32)> = wanted.iter().map(|(id, q, _, _)| (*id, *q)).collect();
    let outcome = shop
        .suggest_refund(order_id, &units, shipping, Money::ZERO)
        .map_err(|e| match e {
            RefundError::UnknownLine { .. } => "Line item does not exist.".to_string(),
            RefundError::ZeroQuantity { .. } => "Quantity must be greater than 0.".to_string(),
            RefundError::TooMany { .. } => {
                "Quantity cannot refund more items than were purchased.".to_string()
            }
            other => other.to_string(),
        })?;
    let currency = order.currency.as_str();
    let bag = |m: Money| money_bag(m, currency);
    let lines: Vec<Value> = outcome
        .lines
        .iter()
        .zip(&wanted)
        .filter_map(|((id, quantity, units), (_, _, restock, location))| {
            let line = order.line_items.iter().find(|l| l.id == *id)?;
            Some(tree!("RefundLineItem";
                "id" => Value::Null,
                "quantity" => quantity,
                "restockType" => restock,
                "restocked" => false,
                "lineItem" => line_item_tree(line, currency),
                "location" => location.map_or(Value::Null, |l| ref_to("Location", l)),
                "price" => line.price.to_fixed2(),
                "priceSet" => bag(line.price),
                "subtotal" => units.subtotal.to_fixed2(),
                "subtotalSet" => bag(units.subtotal),
                "totalTax" => units.tax.to_fixed2(),
                "totalTaxSet" => bag(units.tax),
            ))
        })
        .collect();
    Ok(tree!("SuggestedRefund";
        "amount" => outcome.amount.to_fixed2(),
        "amountSet" => bag(outcome.amount),
        "discountedSubtotalSet" => bag(outcome.subtotal),
        "subtotal" => outcome.subtotal.to_fixed2(),
        "subtotalSet" => bag(outcome.subtotal),
        "totalCartDiscountAmountSet" => bag(outcome.cart_discount),
        "totalTaxes" => outcome.tax.to_fixed2(),
        "totalTaxSet" => bag(outcome.tax),
        "totalDutiesSet" => bag(Money::ZERO),
        "maximumRefundable" => outcome.maximum_refundable.to_fixed2(),
        "maximumRefundableSet" => bag(outcome.maximum_refundable),
        "refundDuties" => json!([]),
        "refundLineItems" => lines,
        "shipping" => shipping_refund_tree(&outcome, currency),
        "suggestedTransactions" => suggested_transactions(shop, &outcome, currency),
        "suggestedRefundMethods" => json!([]),
    ))
}

/// `Return.suggestedFinancialOutcome(returnLineItems:, exchangeLineItems:, refundShipping:,
/// refundDuties:, refundMethodAllocation:)`.
fn suggested_outcome(
    shop: &Shop,
    return_id: Id,
    args: &Map<String, Value>,
) -> Result<Value, String> {
    let list = |name: &str| {
        args.get(name)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    };
    if !list("exchangeLineItems").is_empty() {
        return Err("Exchange line items are not supported: the return has none.".into());
    }
    if !list("refundDuties").is_empty() {
        return Err("Duty does not exist: the order has no duties.".into());
    }
    if args.get("refundMethodAllocation").and_then(|v| v.as_str()) == Some("STORE_CREDIT") {
        return Err("Store credit refunds are not enabled for this shop.".into());
    }
    let mut lines = Vec::new();
    for entry in list("returnLineItems") {
        let id = entry
            .get("id")
            .and_then(|v| v.as_str())
            .and_then(|t| gid::parse_kind(t, "ReturnLineItem"))
            .ok_or("Return line item does not exist.")?;
        let quantity = entry.get("quantity").and_then(|v| v.as_i64()).unwrap_or(0);
        let quantity = u32::try_from(quantity)
            .ok()
            .filter(|q| *q > 0)
            .ok_or("Quantity must be greater than 0.")?;
        lines.push((id, quantity));
    }
    let shipping = refund_shipping_arg(args.get("refundShipping"));
    let outcome = shop
        .suggest_return_outcome(return_id, &lines, shipping)
        .map_err(|e| match e {
            ReturnError::UnknownReturnLine { .. } => "Return line item does not exist.".to_string(),
            ReturnError::NotRefundable { refundable, .. } => format!(
                "Quantity can't be more than the {refundable} refundable units of the return line item."
            ),
            ReturnError::NotFound(_) => "Return does not exist.".to_string(),
            other => other.to_string(),
        })?;
    let currency = shop
        .returns
        .get(&return_id)
        .map_or_else(|| shop.currency.clone(), |r| currency_of(shop, r.order_id));
    let bag = |m: Money| money_bag(m, &currency);
    let transfer = if outcome.amount > Money::ZERO {
        let suggested = suggested_transactions(shop, &outcome, &currency);
        tree!("RefundReturnOutcome";
            "amount" => bag(outcome.amount),
            "suggestedTransactions" => suggested,
            "suggestedRefundMethods" => json!([]),
        )
    } else {
        Value::Null
    };
    Ok(tree!("SuggestedReturnFinancialOutcome";
        "discountedSubtotal" => bag(outcome.subtotal),
        "totalCartDiscountAmount" => bag(outcome.cart_discount),
        "totalTax" => bag(outcome.tax),
        "totalDuties" => bag(Money::ZERO),
        "totalAdditionalFees" => bag(Money::ZERO),
        "maximumRefundable" => bag(outcome.maximum_refundable),
        "refundDuties" => json!([]),
        "shipping" => shipping_refund_tree(&outcome, &currency),
        "financialTransfer" => transfer,
    ))
}

/// The return fields that depend on their arguments.
pub(super) fn resolve_return_field(
    shop: &Shop,
    return_id: Id,
    field: &str,
    args: &Map<String, Value>,
) -> Option<Result<Value, String>> {
    let r = shop.returns.get(&return_id)?;
    Some(match field {
        "returnLineItems" => {
            let status = args.get("processingStatus").and_then(|v| v.as_str());
            Ok(connection(
                r.line_items
                    .iter()
                    .filter(|rl| match status {
                        Some("PROCESSABLE") => rl.unprocessed() > 0,
                        Some("PROCESSED") => rl.processed_quantity > 0,
                        _ => true,
                    })
                    .map(|rl| return_line_tree(shop, r, rl))
                    .collect(),
            ))
        }
        "suggestedFinancialOutcome" => suggested_outcome(shop, return_id, args),
        _ => return None,
    })
}

/// `Order.returnStatus`: the most pressing state among its returns.
fn order_return_status(returns: &[&Return]) -> &'static str {
    let any = |s: ReturnStatus| returns.iter().any(|r| r.status == s);
    if any(ReturnStatus::Requested) {
        "RETURN_REQUESTED"
    } else if any(ReturnStatus::Open) {
        "IN_PROGRESS"
    } else if returns
        .iter()
        .any(|r| r.status == ReturnStatus::Closed && r.work_done())
    {
        "RETURNED"
    } else {
        "NO_RETURN"
    }
}

/// The order fields about returns, refunds and payments.
pub(super) fn resolve_order_field(
    shop: &Shop,
    order_id: Id,
    field: &str,
    args: &Map<String, Value>,
) -> Option<Result<Value, String>> {
    let order = shop.orders.get(&order_id)?;
    Some(Ok(match field {
        "returns" => {
            let query = search::parse(args.get("query").and_then(|q| q.as_str()).unwrap_or(""));
            connection(
                shop.returns_of(order_id)
                    .into_iter()
                    .filter(|r| query.matches(*r))
                    .map(|r| ref_to("Return", r.id))
                    .collect(),
            )
        }
        "returnStatus" => Value::from(order_return_status(&shop.returns_of(order_id))),
        "transactions" => {
            let capturable = args.get("capturable").and_then(|v| v.as_bool()) == Some(true);
            let open_auth = shop.open_authorization_id(order_id);
            Value::Array(
                shop.transactions_of(order_id)
                    .into_iter()
                    .filter(|t| !capturable || Some(t.id) == open_auth)
                    .map(|t| ref_to("OrderTransaction", t.id))
                    .collect(),
            )
        }
        "transactionsCount" => json!({"__typename": "Count",
            "count": order.transaction_ids.len(), "precision": "EXACT"}),
        "totalRefundedShippingSet" => {
            let refunded = order.total_shipping - shop.refundable_shipping(order);
            money_bag(refunded, &order.currency)
        }
        "refundable" => Value::Bool(shop.refundable_money(order_id) > Money::ZERO),
        "suggestedRefund" => return Some(suggested_refund(shop, order_id, args)),
        _ => return None,
    }))
}
