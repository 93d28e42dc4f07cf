//! What the warehouse received (`POST /api/v1/returns/{id}/received`): its lines matched by
//! SKU to the return's unprocessed lines, and one `returnProcess` with their dispositions and,
//! when the receipt asks for it, the refund at the amounts Shopify suggests for those units.
//!
//! Exactly once: `returnProcess` takes no idempotency key, so the attempt is recorded (with
//! the quantities the lines had processed before it) before it is sent, and the client does
//! not send it twice. A retry reads the return: if its lines went up by this receipt's
//! quantities, the lost answer was a success, and the refund came with it.

use std::collections::BTreeMap;

use super::Settings;
use super::decide::{self, status_name};
use super::inbound::{Disposition, Receipt};
use super::record::{self, Processing, ReturnRecord};
use crate::flows::write::Failed;
use crate::flows::{FlowContext, Outcome};
use crate::item::{Claimed, now_ms};
use crate::rate_limiter::Lane;
use crate::shopify::ShopifyHandle;
use crate::shopify::gid::{LocationId, ReturnId};
use crate::shopify::operations::Locations;
use crate::shopify::operations::locations::LocationsVariables;
use crate::shopify::operations::returns::{
    DisposeInput, DispositionType, IssueRefund, ProcessFinancialTransfer, ProcessInput,
    ProcessLine, ProcessVariables, ReturnLineQuantity, ReturnProcess, ReturnStatus,
    ReturnSuggestedOutcome, ShopifyReturn, SuggestedOutcomeVariables,
};

/// How long a receipt waits for its return to be approved before it is an exception.
const APPROVAL_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn process(
    settings: &Settings,
    ctx: &FlowContext,
    shopify: &ShopifyHandle,
    item: &Claimed,
    receipt: &Receipt,
) -> Outcome {
    let Ok(id) = ReturnId::parse(&receipt.return_id) else {
        return Outcome::Exception {
            reason: format!("{:?} is not a return's GID", receipt.return_id),
        };
    };
    let mut record = match record::load(&ctx.store, &receipt.return_id).await {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let ret = match decide::read(shopify, &id).await {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
    let outcome = run(settings, ctx, shopify, item, receipt, &ret, &mut record).await;
    match record::save(&ctx.store, &receipt.return_id, &record).await {
        Ok(()) => outcome,
        Err(e) => e.into(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    settings: &Settings,
    ctx: &FlowContext,
    shopify: &ShopifyHandle,
    item: &Claimed,
    receipt: &Receipt,
    ret: &ShopifyReturn,
    record: &mut ReturnRecord,
) -> Outcome {
    record.status = status_name(ret.status).into();
    match ret.status {
        ReturnStatus::Open | ReturnStatus::Closed => {}
        ReturnStatus::Requested => {
            return Outcome::Retry {
                error: format!(
                    "return {} is not approved yet; its receipt waits for the decision",
                    ret.name
                ),
                after: Some(APPROVAL_RETRY),
            };
        }
        s => {
            return Outcome::Exception {
                reason: format!(
                    "return {} is {}: nothing of it can be processed",
                    ret.name,
                    status_name(s)
                ),
            };
        }
    }
    let processed: BTreeMap<String, u32> = ret
        .return_line_items
        .nodes
        .iter()
        .map(|l| (l.id.to_string(), l.processed_quantity))
        .collect();
    if let Some(p) = record
        .processing
        .iter_mut()
        .find(|p| p.receipt == item.item.id)
    {
        let ran = p.lines.iter().all(|(line, (before, qty))| {
            processed.get(line).is_some_and(|now| *now >= before + qty)
        });
        if p.done || ran {
            p.done = true;
            return Outcome::Noted {
                note: format!(
                    "return {} processed (found in Shopify after a lost answer)",
                    ret.name
                ),
            };
        }
    }
    let plan = match plan(ret, receipt) {
        Ok(plan) => plan,
        Err(reason) => return Outcome::Exception { reason },
    };
    let location = match restock_location(settings, shopify, receipt, &plan).await {
        Ok(l) => l,
        Err(outcome) => return outcome,
    };
    let mut lines: Vec<ProcessLine> = Vec::new();
    for step in &plan {
        let disposition = DisposeInput {
            reverse_fulfillment_order_line_item_id: step.reverse_line.clone(),
            quantity: step.quantity,
            disposition_type: step.disposition,
            location_id: (step.disposition == DispositionType::Restocked)
                .then(|| location.clone())
                .flatten(),
        };
        match lines.iter_mut().find(|l| l.id.to_string() == step.line) {
            Some(l) => {
                l.quantity += step.quantity;
                l.dispositions.push(disposition);
            }
            None => lines.push(ProcessLine {
                id: step.line_id.clone(),
                quantity: step.quantity,
                dispositions: vec![disposition],
            }),
        }
    }
    let financial_transfer = if receipt.refund {
        match suggested_refund(shopify, ret, &lines).await {
            Ok(t) => t,
            Err(outcome) => return outcome,
        }
    } else {
        None
    };
    let refunding = financial_transfer.is_some();
    let attempt = Processing {
        receipt: item.item.id,
        attempted_at: now_ms(),
        lines: lines
            .iter()
            .map(|l| {
                let key = l.id.to_string();
                let before = processed.get(&key).copied().unwrap_or(0);
                (key, (before, l.quantity))
            })
            .collect(),
        done: false,
    };
    record.processing.retain(|p| p.receipt != item.item.id);
    record.processing.push(attempt);
    // Recorded as attempted before it is sent: the answer may be lost.
    if let Err(e) = record::save(&ctx.store, &receipt.return_id, record).await {
        return e.into();
    }
    let units: u32 = lines.iter().map(|l| l.quantity).sum();
    let vars = ProcessVariables {
        input: ProcessInput {
            return_id: ret.id.clone(),
            return_line_items: lines,
            refund_shipping: None,
            financial_transfer,
            notify_customer: receipt.notify_customer.unwrap_or(settings.notify_customer),
            note: None,
        },
    };
    let payload = match shopify.run::<ReturnProcess>(Lane::Orders, &vars).await {
        Ok(r) => r.return_process,
        Err(e) => return Outcome::from(&e),
    };
    let Some(payload) = payload else {
        return Outcome::Retry {
            error: "shopify answered returnProcess without a payload".into(),
            after: None,
        };
    };
    if !payload.user_errors.is_empty() {
        record.processing.retain(|p| p.receipt != item.item.id);
        return Failed::refused("returnProcess", &payload.user_errors).outcome();
    }
    if let Some(p) = record
        .processing
        .iter_mut()
        .find(|p| p.receipt == item.item.id)
    {
        p.done = true;
    }
    let status = payload
        .return_
        .as_ref()
        .map_or("", |r| status_name(r.status));
    Outcome::Noted {
        note: format!(
            "return {}: {units} units processed{}; now {status}",
            ret.name,
            if refunding {
                ", refund issued (accounting is told by its refunds/create)"
            } else {
                ", no refund"
            }
        ),
    }
}

/// One disposition of some units of a return line.
struct Step {
    line: String,
    line_id: crate::shopify::gid::ReturnLineItemId,
    reverse_line: crate::shopify::gid::ReverseFulfillmentOrderLineItemId,
    quantity: u32,
    disposition: DispositionType,
}

/// The receipt's lines matched by SKU to the return's unprocessed units.
fn plan(ret: &ShopifyReturn, receipt: &Receipt) -> Result<Vec<Step>, String> {
    let mut left: BTreeMap<String, u32> = ret
        .return_line_items
        .nodes
        .iter()
        .map(|l| (l.id.to_string(), l.unprocessed_quantity))
        .collect();
    let mut steps = Vec::new();
    let mut problems = Vec::new();
    for (i, got) in receipt.lines.iter().enumerate() {
        let mut want = got.quantity;
        for l in &ret.return_line_items.nodes {
            let Some(fli) = &l.fulfillment_line_item else {
                continue;
            };
            if want == 0 || fli.line_item.sku.as_deref() != Some(got.sku.as_str()) {
                continue;
            }
            let free = left.get_mut(&l.id.to_string()).map_or(0, |n| *n);
            let take = free.min(want);
            if take == 0 {
                continue;
            }
            let Some(reverse) = ret.reverse_line_for(&fli.id) else {
                problems.push(format!(
                    "lines[{i}] (SKU {}): Shopify has no reverse fulfillment line for it (is the return approved?)",
                    got.sku
                ));
                want = 0;
                break;
            };
            if let Some(n) = left.get_mut(&l.id.to_string()) {
                *n -= take;
            }
            want -= take;
            steps.push(Step {
                line: l.id.to_string(),
                line_id: l.id.clone(),
                reverse_line: reverse.id.clone(),
                quantity: take,
                disposition: match got.disposition {
                    Disposition::Restocked => DispositionType::Restocked,
                    Disposition::NotRestocked => DispositionType::NotRestocked,
                    Disposition::Missing => DispositionType::Missing,
                    Disposition::ProcessingRequired => DispositionType::ProcessingRequired,
                },
            });
        }
        if want > 0 {
            problems.push(format!(
                "lines[{i}] (SKU {}): {} received, {want} more than return {} has left to process",
                got.sku, got.quantity, ret.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(steps)
    } else {
        Err(problems.join("; "))
    }
}

/// Where restocked units go: the receipt's location, the section's, or the shop's first
/// active location.
async fn restock_location(
    settings: &Settings,
    shopify: &ShopifyHandle,
    receipt: &Receipt,
    plan: &[Step],
) -> Result<Option<LocationId>, Outcome> {
    if !plan
        .iter()
        .any(|s| s.disposition == DispositionType::Restocked)
    {
        return Ok(None);
    }
    if let Some(id) = receipt.location.or(settings.restock_location) {
        return Ok(Some(LocationId::new(id)));
    }
    let listed = shopify
        .run::<Locations>(
            Lane::Orders,
            &LocationsVariables {
                first: 10,
                after: None,
            },
        )
        .await
        .map_err(|e| Outcome::from(&e))?;
    match listed.locations.nodes.into_iter().find(|l| l.is_active) {
        Some(l) => Ok(Some(l.id)),
        None => Err(Outcome::Exception {
            reason: "the shop has no active location to restock returned units at; set [flows.returns] restock_location".into(),
        }),
    }
}

/// The refund Shopify suggests for these units, as `returnProcess`'s financial transfer;
/// `None` when there is nothing to refund.
async fn suggested_refund(
    shopify: &ShopifyHandle,
    ret: &ShopifyReturn,
    lines: &[ProcessLine],
) -> Result<Option<ProcessFinancialTransfer>, Outcome> {
    let vars = SuggestedOutcomeVariables {
        id: ret.id.clone(),
        return_line_items: lines
            .iter()
            .map(|l| ReturnLineQuantity {
                id: l.id.clone(),
                quantity: l.quantity,
            })
            .collect(),
        refund_shipping: None,
    };
    let answer = shopify
        .run::<ReturnSuggestedOutcome>(Lane::Orders, &vars)
        .await
        .map_err(|e| Outcome::from(&e))?;
    Ok(answer
        .return_
        .and_then(|r| r.suggested_financial_outcome)
        .and_then(|o| o.refund_transactions())
        .map(|order_transactions| ProcessFinancialTransfer {
            issue_refund: IssueRefund { order_transactions },
        }))
}
