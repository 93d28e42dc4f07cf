//! What callers pass to request, process and refund: the shop-side forms of
//! `ReturnRequestInput`, `ReturnProcessInput` and `RefundInput`, with ids already parsed.

use super::Id;
use super::enums::{DispositionType, RestockType, ReturnReason, TransactionKind};
use super::money::Money;
use crate::time::Timestamp;

/// One line of a return request: units of a fulfillment line item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnLineSpec {
    pub fulfillment_line_item_id: Id,
    pub quantity: u32,
    pub reason: ReturnReason,
    /// A `ReturnReasonDefinition`; its reason replaces `reason`.
    pub reason_definition_id: Option<Id>,
    pub customer_note: Option<String>,
}

impl ReturnLineSpec {
    pub fn new(fulfillment_line_item_id: Id, quantity: u32, reason: ReturnReason) -> Self {
        ReturnLineSpec {
            fulfillment_line_item_id,
            quantity,
            reason,
            reason_definition_id: None,
            customer_note: None,
        }
    }
}

/// A return request (`returnRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReturnSpec {
    pub order_id: Id,
    pub lines: Vec<ReturnLineSpec>,
    /// A fee the customer pays for shipping the return.
    pub shipping_fee: Option<Money>,
}

/// Shipping given back: everything still refundable, or an amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShippingRefund {
    Full,
    Amount(Money),
}

/// What became of some units of a return line (`ReverseFulfillmentOrderDisposeInput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispositionSpec {
    pub reverse_line_id: Id,
    pub quantity: u32,
    pub kind: DispositionType,
    /// Required for `RESTOCKED`.
    pub location_id: Option<Id>,
}

/// Units of a return line confirmed as received (`ReturnProcessReturnLineItemInput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessLineSpec {
    pub return_line_id: Id,
    pub quantity: u32,
    pub dispositions: Vec<DispositionSpec>,
}

/// Money going back through a payment: (`parentId`, `transactionAmount`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParentAmount {
    pub parent_id: Id,
    pub amount: Money,
}

/// `financialTransfer.issueRefund`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssueRefund {
    pub transactions: Vec<ParentAmount>,
    pub allow_over_refunding: bool,
}

/// A `returnProcess`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessSpec {
    pub return_id: Id,
    pub lines: Vec<ProcessLineSpec>,
    pub refund_shipping: Option<ShippingRefund>,
    /// `None`: the units are processed and nothing is refunded.
    pub refund: Option<IssueRefund>,
    pub note: Option<String>,
    pub notify_customer: bool,
}

/// One line of a refund (`RefundLineItemInput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundLineSpec {
    pub line_item_id: Id,
    pub quantity: u32,
    pub restock_type: RestockType,
    /// Where `RETURN` units are restocked; the line's location when `None`.
    pub location_id: Option<Id>,
}

impl RefundLineSpec {
    pub fn new(line_item_id: Id, quantity: u32, restock_type: RestockType) -> RefundLineSpec {
        RefundLineSpec {
            line_item_id,
            quantity,
            restock_type,
            location_id: None,
        }
    }
}

/// One transaction of a refund (`OrderTransactionInput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundTransactionSpec {
    pub order_id: Id,
    /// The payment it goes back through; the first one with room left when `None`.
    pub parent_id: Option<Id>,
    pub gateway: String,
    pub kind: TransactionKind,
    pub amount: Money,
}

/// A refund (`refundCreate`, or the refund of a `returnProcess`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundSpec {
    pub order_id: Id,
    pub lines: Vec<RefundLineSpec>,
    pub shipping: Option<ShippingRefund>,
    /// Without transactions a refund moves no money (as on Shopify: it records units only).
    pub transactions: Vec<RefundTransactionSpec>,
    pub note: Option<String>,
    pub notify: bool,
    pub allow_over_refunding: bool,
    /// Defaults to now.
    pub processed_at: Option<Timestamp>,
}
