//! Returns, refunds and the payment transactions money moves through.
//!
//! A return is a customer's intent to send fulfilled units back, line by line, each tied to
//! the fulfillment line item that shipped them. Its status moves as Shopify's does:
//!
//! ```text
//! REQUESTED ──approve──▶ OPEN ──process everything / close──▶ CLOSED ──reopen──▶ OPEN
//!     │                   │
//!     └──decline──▶ DECLINED   └──cancel (nothing processed or refunded yet)──▶ CANCELED
//! ```
//!
//! Approving opens a reverse fulfillment order with one line per return line: what
//! `returnProcess` names when it records what became of the units (dispositions). A refund
//! is the record of money and units going back; its money moves through transactions whose
//! parent is the order's sale or capture. Transactions are kept by the shop, not inside the
//! refund, because an order's payments and refunds are one ledger (`Order.transactions`).

use super::Id;
use super::enums::{
    DispositionType, RestockType, ReturnDeclineReason, ReturnReason, ReturnStatus, TransactionKind,
    TransactionStatus,
};
use super::money::Money;
use crate::time::Timestamp;

/// Why a declined return was declined (`ReturnDecline`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnDecline {
    pub reason: ReturnDeclineReason,
    pub note: Option<String>,
}

/// A fee the customer pays for the return's shipping (`ReturnShippingFee`); it is kept out
/// of the refund the return suggests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnShippingFee {
    pub id: Id,
    pub amount: Money,
}

/// What became of returned units (`ReverseFulfillmentOrderDisposition`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disposition {
    pub id: Id,
    pub kind: DispositionType,
    pub quantity: u32,
    /// Where restocked units went; `None` for the other kinds.
    pub location_id: Option<Id>,
    pub created_at: Timestamp,
}

/// Units of one fulfillment line item the customer sends back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnLine {
    pub id: Id,
    /// The fulfillment that shipped the units, and its line.
    pub fulfillment_id: Id,
    pub fulfillment_line_item_id: Id,
    pub line_item_id: Id,
    pub quantity: u32,
    pub reason: ReturnReason,
    /// The `ReturnReasonDefinition` the request named, if it named one.
    pub reason_definition_id: Option<Id>,
    /// At most [`MAX_CUSTOMER_NOTE`] characters.
    pub customer_note: Option<String>,
    /// Units `returnProcess` confirmed.
    pub processed_quantity: u32,
    /// Units refunded through the return.
    pub refunded_quantity: u32,
    /// Its `ReverseFulfillmentOrderLineItem`, from the moment the return opens.
    pub reverse_line_id: Option<Id>,
    pub dispositions: Vec<Disposition>,
}

impl ReturnLine {
    /// Units still to process (`unprocessedQuantity`, `processableQuantity`).
    pub fn unprocessed(&self) -> u32 {
        self.quantity.saturating_sub(self.processed_quantity)
    }

    /// Units that may still be refunded through the return (`refundableQuantity`).
    pub fn refundable(&self) -> u32 {
        self.quantity.saturating_sub(self.refunded_quantity)
    }
}

/// Shopify's limit on `ReturnRequestLineItemInput.customerNote`.
pub const MAX_CUSTOMER_NOTE: usize = 300;
/// Shopify's limit on `ReturnDeclineRequestInput.declineNote`.
pub const MAX_DECLINE_NOTE: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return {
    pub id: Id,
    pub order_id: Id,
    /// `#1001-R1`.
    pub name: String,
    pub status: ReturnStatus,
    pub line_items: Vec<ReturnLine>,
    pub decline: Option<ReturnDecline>,
    pub shipping_fee: Option<ReturnShippingFee>,
    /// Made when the return opens; its status follows the return's.
    pub reverse_fulfillment_order_id: Option<Id>,
    /// Notifications sent to the customer about it (decisions, processing).
    pub notifications: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// `requestApprovedAt`.
    pub approved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

impl Return {
    /// A return that holds its units: declined and cancelled ones give them back, so they
    /// can be asked for again.
    pub fn holds_units(&self) -> bool {
        !matches!(self.status, ReturnStatus::Declined | ReturnStatus::Canceled)
    }

    pub fn line(&self, id: Id) -> Option<&ReturnLine> {
        self.line_items.iter().find(|l| l.id == id)
    }

    /// Every unit processed: the return closes.
    pub fn fully_processed(&self) -> bool {
        self.line_items.iter().all(|l| l.unprocessed() == 0)
    }

    /// Something was processed or refunded: too late to cancel.
    pub fn work_done(&self) -> bool {
        self.line_items
            .iter()
            .any(|l| l.processed_quantity > 0 || l.refunded_quantity > 0)
    }

    pub fn total_quantity(&self) -> u64 {
        self.line_items.iter().map(|l| u64::from(l.quantity)).sum()
    }

    /// `ReverseFulfillmentOrder.status`: open while the return is, then closed or cancelled
    /// with it.
    pub fn reverse_status(&self) -> &'static str {
        match self.status {
            ReturnStatus::Closed => "CLOSED",
            ReturnStatus::Canceled | ReturnStatus::Declined => "CANCELED",
            ReturnStatus::Open | ReturnStatus::Requested => "OPEN",
        }
    }
}

/// One entry of Shopify's library of return reasons (`ReturnReasonDefinition`): a stable
/// handle and the deprecated `ReturnReason` it corresponds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReasonDefinition {
    pub id: Id,
    pub handle: &'static str,
    pub name: &'static str,
    pub reason: ReturnReason,
}

/// The simulator's library: one definition per `ReturnReason` (Shopify's has many more, each
/// mapping onto one of these).
pub const REASON_DEFINITIONS: &[ReasonDefinition] = &[
    ReasonDefinition {
        id: 1,
        handle: "color",
        name: "Color",
        reason: ReturnReason::Color,
    },
    ReasonDefinition {
        id: 2,
        handle: "defective",
        name: "Damaged or defective",
        reason: ReturnReason::Defective,
    },
    ReasonDefinition {
        id: 3,
        handle: "not-as-described",
        name: "Not as described",
        reason: ReturnReason::NotAsDescribed,
    },
    ReasonDefinition {
        id: 4,
        handle: "other",
        name: "Other",
        reason: ReturnReason::Other,
    },
    ReasonDefinition {
        id: 5,
        handle: "too-large",
        name: "Too large",
        reason: ReturnReason::SizeTooLarge,
    },
    ReasonDefinition {
        id: 6,
        handle: "too-small",
        name: "Too small",
        reason: ReturnReason::SizeTooSmall,
    },
    ReasonDefinition {
        id: 7,
        handle: "style",
        name: "Style",
        reason: ReturnReason::Style,
    },
    ReasonDefinition {
        id: 8,
        handle: "unknown",
        name: "Unknown",
        reason: ReturnReason::Unknown,
    },
    ReasonDefinition {
        id: 9,
        handle: "changed-mind",
        name: "Changed mind",
        reason: ReturnReason::Unwanted,
    },
    ReasonDefinition {
        id: 10,
        handle: "wrong-item",
        name: "Received the wrong item",
        reason: ReturnReason::WrongItem,
    },
];

pub fn reason_definition(id: Id) -> Option<&'static ReasonDefinition> {
    REASON_DEFINITIONS.iter().find(|d| d.id == id)
}

/// The definition of a reason (every reason has one).
pub fn definition_of(reason: ReturnReason) -> Option<&'static ReasonDefinition> {
    REASON_DEFINITIONS.iter().find(|d| d.reason == reason)
}

/// Units of one line item a refund gave back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundLine {
    pub id: Id,
    pub line_item_id: Id,
    pub quantity: u32,
    pub restock_type: RestockType,
    /// Where units were restocked (for `RETURN` and `CANCEL`).
    pub location_id: Option<Id>,
    /// The units' price after their share of the discounts, without tax.
    pub subtotal: Money,
    pub total_tax: Money,
    /// Whether stock went back.
    pub restocked: bool,
}

/// Shipping given back (`RefundShippingLine`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundShippingLine {
    pub id: Id,
    pub shipping_line_id: Id,
    pub subtotal: Money,
    pub tax: Money,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub id: Id,
    pub order_id: Id,
    /// The return it was made through (`returnProcess`); `None` for `refundCreate`.
    pub return_id: Option<Id>,
    pub note: Option<String>,
    pub line_items: Vec<RefundLine>,
    pub shipping_lines: Vec<RefundShippingLine>,
    /// Its `REFUND` transactions, in input order.
    pub transaction_ids: Vec<Id>,
    /// Whether the customer was notified.
    pub notify: bool,
    pub created_at: Timestamp,
    pub processed_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Refund {
    pub fn shipping(&self) -> Money {
        self.shipping_lines.iter().map(|s| s.subtotal + s.tax).sum()
    }
}

/// A movement of money on an order (`OrderTransaction`): the customer's payment (`SALE`, or
/// `AUTHORIZATION` then `CAPTURE`) and the refunds that go back through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub id: Id,
    pub order_id: Id,
    pub kind: TransactionKind,
    pub status: TransactionStatus,
    pub gateway: String,
    pub amount: Money,
    pub parent_id: Option<Id>,
    /// The refund it belongs to (`REFUND` transactions).
    pub refund_id: Option<Id>,
    /// `OrderTransactionErrorCode` of a failed transaction.
    pub error_code: Option<String>,
    /// The gateway's message (REST `message`; GraphQL has it in `receiptJson`).
    pub message: Option<String>,
    pub test: bool,
    pub created_at: Timestamp,
    pub processed_at: Timestamp,
}

impl Transaction {
    /// Money that moved or is on its way: a failed transaction moved none.
    pub fn counts(&self) -> bool {
        matches!(
            self.status,
            TransactionStatus::Success | TransactionStatus::Pending
        )
    }
}
