//! The canonical refund (`xconnector.refund.v1`, `docs/canonical-refund.md`): what accounting
//! receives of every refund, made by Shopify or by xconnector, once.

use serde::Serialize;

use crate::shopify::operations::MoneyBag;
use crate::shopify::operations::returns::{
    RestockType, ShopifyRefund, TransactionKind, TransactionStatus,
};

pub const SCHEMA: &str = "xconnector.refund.v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    pub schema: &'static str,
    /// The refund's GID and its number.
    pub id: String,
    pub legacy_id: String,
    pub order: Order,
    /// The return it refunds, when it came of one.
    pub return_id: Option<String>,
    pub created_at: Option<String>,
    pub processed_at: String,
    pub note: Option<String>,
    /// The shop's currency; every amount below is in it (decimal strings).
    pub currency: String,
    /// What the customer got back: the successful refund transactions.
    pub total_refunded: String,
    /// `succeeded` (every refund transaction did), `pending` (one still is), `failed` (one
    /// failed and none is pending), `none` (units only, no money moved).
    pub status: &'static str,
    pub lines: Vec<Line>,
    pub shipping: Vec<Shipping>,
    pub duties: Vec<String>,
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    pub id: String,
    pub name: String,
    pub legacy_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub line_item_id: String,
    pub sku: Option<String>,
    pub name: String,
    pub quantity: u32,
    /// `no_restock`, `cancel`, `return`, `legacy_restock`.
    pub restock_type: &'static str,
    pub restocked: bool,
    pub location_id: Option<String>,
    pub subtotal: String,
    pub tax: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shipping {
    pub subtotal: String,
    pub tax: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transaction {
    pub id: String,
    /// `refund` mostly; `void` for an authorization released.
    pub kind: &'static str,
    /// `success`, `pending`, `failure`, `error`, …
    pub status: &'static str,
    pub gateway: Option<String>,
    pub amount: String,
    pub parent_id: Option<String>,
    pub error_code: Option<String>,
    /// The gateway's message, when it gave one (a failure's reason).
    pub message: Option<String>,
    pub processed_at: Option<String>,
}

fn amount(m: &MoneyBag) -> String {
    m.shop_money.amount.clone()
}

fn restock(t: RestockType) -> &'static str {
    match t {
        RestockType::NoRestock => "no_restock",
        RestockType::Cancel => "cancel",
        RestockType::Return => "return",
        RestockType::LegacyRestock => "legacy_restock",
        RestockType::Unknown => "unknown",
    }
}

fn kind(k: TransactionKind) -> &'static str {
    match k {
        TransactionKind::Refund => "refund",
        TransactionKind::Void => "void",
        TransactionKind::Sale => "sale",
        TransactionKind::Capture => "capture",
        TransactionKind::Authorization => "authorization",
        TransactionKind::Change => "change",
        TransactionKind::EmvAuthorization => "emv_authorization",
        TransactionKind::SuggestedRefund => "suggested_refund",
        TransactionKind::Other => "other",
    }
}

pub fn status(s: TransactionStatus) -> &'static str {
    match s {
        TransactionStatus::Success => "success",
        TransactionStatus::Pending => "pending",
        TransactionStatus::AwaitingResponse => "awaiting_response",
        TransactionStatus::Failure => "failure",
        TransactionStatus::Error => "error",
        TransactionStatus::Unknown => "unknown",
        TransactionStatus::Other => "other",
    }
}

impl Refund {
    pub fn of(r: &ShopifyRefund) -> Refund {
        let transactions: Vec<Transaction> = r
            .transactions
            .nodes
            .iter()
            .map(|t| Transaction {
                id: t.id.to_string(),
                kind: kind(t.kind),
                status: status(t.status),
                gateway: t.gateway.clone(),
                amount: amount(&t.amount_set),
                parent_id: t.parent_transaction.as_ref().map(|p| p.id.to_string()),
                error_code: t.error_code.clone(),
                message: t.receipt_message(),
                processed_at: t.processed_at.clone(),
            })
            .collect();
        let pending = r.transactions.nodes.iter().any(|t| {
            matches!(
                t.status,
                TransactionStatus::Pending | TransactionStatus::AwaitingResponse
            )
        });
        let failed = r.transactions.nodes.iter().any(|t| {
            matches!(
                t.status,
                TransactionStatus::Failure | TransactionStatus::Error
            )
        });
        let status = match () {
            _ if transactions.is_empty() => "none",
            _ if pending => "pending",
            _ if failed => "failed",
            _ => "succeeded",
        };
        Refund {
            schema: SCHEMA,
            id: r.id.to_string(),
            legacy_id: r.legacy_resource_id.clone(),
            order: Order {
                id: r.order.id.to_string(),
                name: r.order.name.clone(),
                legacy_id: r.order.legacy_resource_id.clone(),
            },
            return_id: r.return_.as_ref().map(|x| x.id.to_string()),
            created_at: r.created_at.clone(),
            processed_at: r.processed_at.clone(),
            note: r.note.clone(),
            currency: r.total_refunded_set.shop_money.currency_code.clone(),
            total_refunded: amount(&r.total_refunded_set),
            status,
            lines: r
                .refund_line_items
                .nodes
                .iter()
                .map(|l| Line {
                    line_item_id: l.line_item.id.to_string(),
                    sku: l.line_item.sku.clone(),
                    name: l.line_item.name.clone(),
                    quantity: l.quantity,
                    restock_type: restock(l.restock_type),
                    restocked: l.restocked,
                    location_id: l.location.as_ref().map(|x| x.id.to_string()),
                    subtotal: amount(&l.subtotal_set),
                    tax: amount(&l.total_tax_set),
                })
                .collect(),
            shipping: r
                .refund_shipping_lines
                .nodes
                .iter()
                .map(|s| Shipping {
                    subtotal: amount(&s.subtotal_amount_set),
                    tax: amount(&s.tax_amount_set),
                })
                .collect(),
            duties: r.duties.iter().map(|d| amount(&d.amount_set)).collect(),
            transactions,
        }
    }

    /// The item's note: the refund's amount and status, with a failure's message.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "refund {} on {}: {} {} {}",
            self.legacy_id, self.order.name, self.total_refunded, self.currency, self.status
        );
        for t in &self.transactions {
            if t.status != "success" {
                s.push_str(&format!(
                    "; {} {} {}{}",
                    t.amount,
                    t.gateway.as_deref().unwrap_or("?"),
                    t.status,
                    t.message
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                ));
            }
        }
        s
    }
}
