//! The returns API (shapes fixed in `docs/DESIGN.md`, "The inbound API"):
//!
//! ```json
//! POST /api/v1/returns/{id}/decision
//! {"source": "erp", "decision": "approve" | "decline", "reason": "FINAL_SALE" | "RETURN_PERIOD_ENDED" | "OTHER", "note": "…"}
//!
//! POST /api/v1/returns/{id}/received
//! {"source": "wms", "lines": [{"sku": "RS-S", "quantity": 1, "disposition": "RESTOCKED"}], "refund": true}
//! ```
//!
//! `{id}` is the return's GID or its number. A decline needs a `reason`; an approval takes
//! none. `disposition` is Shopify's `ReverseFulfillmentOrderDispositionType`: RESTOCKED,
//! NOT_RESTOCKED, MISSING or PROCESSING_REQUIRED (RESTOCKED when left out). `refund` (default
//! true) refunds what came back, at the amounts Shopify suggests; false processes the
//! dispositions alone. Beyond the fixed shape: `notify_customer` on both, and `location` (a
//! location GID) where restocked units go, on `received`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FLOW;
use super::rules::DeclineReason;
use crate::inbound::{Accepted, Decode, Fields, NoHead, Resource, describe};
use crate::item::NewItem;
use crate::shopify::gid::LocationId;

/// The kinds of the items the API makes.
pub const DECISION: &str = "returns/decision";
pub const RECEIVED: &str = "returns/received";

const MAX_TEXT: usize = 255;
/// Shopify's limit on a decline note.
const MAX_NOTE: usize = 500;
const MAX_LINES: usize = 250;
const MAX_QUANTITY: i64 = 1_000_000;

/// The return a request names, as Shopify's GID.
fn return_id(f: &mut Fields<'_>) -> Option<String> {
    let id = f.text("id", MAX_TEXT)?;
    let number = id
        .strip_prefix("gid://shopify/Return/")
        .unwrap_or(&id)
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0);
    match number {
        Some(n) => Some(format!("gid://shopify/Return/{n}")),
        None => {
            f.problem(
                "id",
                format_args!(
                    "expected a return's GID (gid://shopify/Return/1) or its number, found {id:?}"
                ),
            );
            None
        }
    }
}

/// `approve` or `decline`, with what the customer is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequest {
    pub source: String,
    pub return_id: String,
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DeclineReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_customer: Option<bool>,
}

/// The head of a decision (the whole body but `source`).
pub struct DecisionHead {
    return_id: String,
    approve: bool,
    reason: Option<DeclineReason>,
    note: Option<String>,
    notify_customer: Option<bool>,
}

impl Decode for DecisionHead {
    const FIELDS: &'static [&'static str] =
        &["id", "decision", "reason", "note", "notify_customer"];

    fn decode(f: &mut Fields<'_>) -> Option<DecisionHead> {
        let return_id = return_id(f);
        let approve = match f.take("decision") {
            Some(Value::String(s)) if s == "approve" => Some(true),
            Some(Value::String(s)) if s == "decline" => Some(false),
            None => {
                f.problem("decision", "required: \"approve\" or \"decline\"");
                None
            }
            Some(other) => {
                f.problem(
                    "decision",
                    format_args!(
                        "expected \"approve\" or \"decline\", found {}",
                        describe(&other)
                    ),
                );
                None
            }
        };
        let reason = f.opt_choice(
            "reason",
            &[
                ("FINAL_SALE", DeclineReason::FinalSale),
                ("RETURN_PERIOD_ENDED", DeclineReason::ReturnPeriodEnded),
                ("OTHER", DeclineReason::Other),
            ],
        );
        let note = f.opt_text("note", MAX_NOTE);
        let notify_customer = f.opt_bool("notify_customer");
        match (approve, reason) {
            (Some(false), None) => {
                f.ok()?;
                f.problem(
                    "reason",
                    "required to decline: FINAL_SALE, RETURN_PERIOD_ENDED or OTHER",
                );
            }
            (Some(true), Some(_)) => f.problem("reason", "only a decline takes a reason"),
            _ => {}
        }
        f.ok()?;
        Some(DecisionHead {
            return_id: return_id?,
            approve: approve?,
            reason,
            note,
            notify_customer,
        })
    }
}

/// `POST /api/v1/returns/{id}/decision`.
pub struct Decisions;

impl Resource for Decisions {
    const PATH: &'static str = "returns/{id}/decision";
    const LIST: &'static str = "";
    const NOUN: &'static str = "decision";
    type Head = DecisionHead;
    type Entry = NoHead;

    fn items(request: Accepted<Self>, _id: &str) -> Vec<NewItem> {
        let h = request.head;
        let decision = DecisionRequest {
            source: request.source,
            return_id: h.return_id,
            approve: h.approve,
            reason: h.reason,
            note: h.note,
            notify_customer: h.notify_customer,
        };
        vec![NewItem::new(
            FLOW,
            DECISION,
            decision.return_id.clone(),
            serde_json::to_vec(&decision).unwrap_or_default(),
        )]
    }
}

/// Shopify's `ReverseFulfillmentOrderDispositionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Disposition {
    Restocked,
    NotRestocked,
    Missing,
    ProcessingRequired,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Restocked => "RESTOCKED",
            Disposition::NotRestocked => "NOT_RESTOCKED",
            Disposition::Missing => "MISSING",
            Disposition::ProcessingRequired => "PROCESSING_REQUIRED",
        }
    }
}

/// One line of what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedLine {
    pub sku: String,
    pub quantity: u32,
    pub disposition: Disposition,
}

impl Decode for ReceivedLine {
    const FIELDS: &'static [&'static str] = &["sku", "quantity", "disposition"];

    fn decode(f: &mut Fields<'_>) -> Option<ReceivedLine> {
        let sku = f.text("sku", MAX_TEXT);
        let quantity = f.whole("quantity", 1..=MAX_QUANTITY);
        let disposition = f
            .opt_choice(
                "disposition",
                &[
                    ("RESTOCKED", Disposition::Restocked),
                    ("NOT_RESTOCKED", Disposition::NotRestocked),
                    ("MISSING", Disposition::Missing),
                    ("PROCESSING_REQUIRED", Disposition::ProcessingRequired),
                ],
            )
            .unwrap_or(Disposition::Restocked);
        f.ok()?;
        Some(ReceivedLine {
            sku: sku?,
            quantity: u32::try_from(quantity?).ok()?,
            disposition,
        })
    }
}

/// What the warehouse confirms came back, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub source: String,
    pub return_id: String,
    pub lines: Vec<ReceivedLine>,
    pub refund: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_customer: Option<bool>,
    /// Where restocked units go (a location's numeric id); the return's own location if
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<u64>,
}

pub struct ReceiptHead {
    return_id: String,
    lines: Vec<ReceivedLine>,
    refund: bool,
    notify_customer: Option<bool>,
    location: Option<u64>,
}

impl Decode for ReceiptHead {
    const FIELDS: &'static [&'static str] =
        &["id", "lines", "refund", "notify_customer", "location"];

    fn decode(f: &mut Fields<'_>) -> Option<ReceiptHead> {
        let return_id = return_id(f);
        let given = f.has("lines");
        let lines: Vec<ReceivedLine> = f
            .opt_objects::<ReceivedLine>("lines", MAX_LINES, "lines")
            .into_iter()
            .flatten()
            .collect();
        if !given {
            f.problem("lines", "required (a list of {sku, quantity, disposition})");
        } else if lines.is_empty() && f.ok().is_some() {
            f.problem("lines", "at least one line");
        }
        let refund = f.opt_bool("refund").unwrap_or(true);
        let notify_customer = f.opt_bool("notify_customer");
        let location = f.opt_text("location", MAX_TEXT).and_then(|l| {
            match LocationId::parse(&l) {
                Ok(id) => Some(id.id()),
                Err(_) => {
                    f.problem(
                        "location",
                        format_args!("expected a location GID such as \"gid://shopify/Location/1\", found {l:?}"),
                    );
                    None
                }
            }
        });
        f.ok()?;
        Some(ReceiptHead {
            return_id: return_id?,
            lines,
            refund,
            notify_customer,
            location,
        })
    }
}

/// `POST /api/v1/returns/{id}/received`.
pub struct Receipts;

impl Resource for Receipts {
    const PATH: &'static str = "returns/{id}/received";
    const LIST: &'static str = "";
    const NOUN: &'static str = "receipt";
    type Head = ReceiptHead;
    type Entry = NoHead;

    fn items(request: Accepted<Self>, _id: &str) -> Vec<NewItem> {
        let h = request.head;
        let receipt = Receipt {
            source: request.source,
            return_id: h.return_id,
            lines: h.lines,
            refund: h.refund,
            notify_customer: h.notify_customer,
            location: h.location,
        };
        vec![NewItem::new(
            FLOW,
            RECEIVED,
            receipt.return_id.clone(),
            serde_json::to_vec(&receipt).unwrap_or_default(),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::json;

    fn params(id: &str) -> Vec<(String, String)> {
        vec![("id".to_string(), id.to_string())]
    }

    fn decision(body: &str, id: &str) -> Result<DecisionRequest, Vec<String>> {
        json::parse_at::<Decisions>(body.as_bytes(), 1, 7, &params(id))
            .map(|a| {
                let item = Decisions::items(a, "r").remove(0);
                serde_json::from_slice(&item.payload).unwrap()
            })
            .map_err(|r| r.errors)
    }

    fn receipt(body: &str, id: &str) -> Result<Receipt, Vec<String>> {
        json::parse_at::<Receipts>(body.as_bytes(), 1, 7, &params(id))
            .map(|a| {
                let item = Receipts::items(a, "r").remove(0);
                serde_json::from_slice(&item.payload).unwrap()
            })
            .map_err(|r| r.errors)
    }

    #[test]
    fn decisions_in_the_fixed_shape() {
        let d = decision(
            r#"{"source": "erp", "decision": "decline", "reason": "FINAL_SALE", "note": "sale item"}"#,
            "42",
        )
        .unwrap();
        assert_eq!(d.return_id, "gid://shopify/Return/42");
        assert!(!d.approve);
        assert_eq!(d.reason, Some(DeclineReason::FinalSale));
        assert_eq!(d.note.as_deref(), Some("sale item"));
        let a = decision(
            r#"{"source": "erp", "decision": "approve"}"#,
            "gid://shopify/Return/7",
        )
        .unwrap();
        assert!(a.approve);
        assert_eq!(a.return_id, "gid://shopify/Return/7");
    }

    #[test]
    fn bad_decisions_are_named() {
        let errors = decision(r#"{"source": "erp", "decision": "decline"}"#, "1").unwrap_err();
        assert_eq!(
            errors,
            vec!["reason: required to decline: FINAL_SALE, RETURN_PERIOD_ENDED or OTHER"]
        );
        let errors = decision(
            r#"{"source": "erp", "decision": "maybe", "reason": "LOST", "extra": 1}"#,
            "x",
        )
        .unwrap_err();
        assert!(
            errors.iter().any(|e| e.starts_with("extra: unknown field")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("decision: expected \"approve\" or \"decline\"")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.starts_with("reason: expected")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("id: expected a return's GID")),
            "{errors:?}"
        );
        let errors = decision(r#"{"decision": "approve", "reason": "OTHER"}"#, "3").unwrap_err();
        assert!(
            errors.contains(&"reason: only a decline takes a reason".to_string()),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.starts_with("source: required")),
            "{errors:?}"
        );
    }

    #[test]
    fn receipts_in_the_fixed_shape() {
        let r = receipt(
            r#"{"source": "wms", "lines": [{"sku": "RS-S", "quantity": 1, "disposition": "RESTOCKED"},
                {"sku": "RS-M", "quantity": 2, "disposition": "MISSING"}, {"sku": "RS-L", "quantity": 1}],
                "refund": false}"#,
            "9",
        )
        .unwrap();
        assert_eq!(r.return_id, "gid://shopify/Return/9");
        assert!(!r.refund);
        assert_eq!(r.lines.len(), 3);
        assert_eq!(r.lines[1].disposition, Disposition::Missing);
        assert_eq!(r.lines[2].disposition, Disposition::Restocked);
        let default = receipt(
            r#"{"source": "wms", "lines": [{"sku": "A", "quantity": 1}]}"#,
            "9",
        )
        .unwrap();
        assert!(default.refund, "refund by default");
    }

    #[test]
    fn bad_receipts_are_named() {
        let errors = receipt(
            r#"{"source": "wms", "lines": [{"sku": "A", "quantity": 0, "disposition": "LOST"}]}"#,
            "9",
        )
        .unwrap_err();
        assert!(
            errors.iter().any(|e| e.starts_with("lines[0].quantity")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("lines[0].disposition: expected")),
            "{errors:?}"
        );
        let errors = receipt(r#"{"source": "wms", "lines": []}"#, "9").unwrap_err();
        assert_eq!(errors, vec!["lines: at least one line"]);
        let errors = receipt(r#"{"source": "wms"}"#, "9").unwrap_err();
        assert_eq!(
            errors,
            vec!["lines: required (a list of {sku, quantity, disposition})"]
        );
    }
}
