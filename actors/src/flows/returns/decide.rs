//! A decision carried out in Shopify: `returnApproveRequest` or `returnDeclineRequest`, once.
//! The return is read first: one already decided the same way is done (a retry whose answer
//! was lost, or a person who decided in Shopify's admin), one decided the other way is an
//! exception for a person. A return held for a person is released from its hold by whatever
//! decided it.

use tracing::info;

use super::record::{self, Decided, ReturnRecord};
use super::rules::DeclineReason;
use crate::flows::write::Failed;
use crate::flows::{FlowContext, Outcome};
use crate::item::{OperatorAction, now_ms};
use crate::rate_limiter::Lane;
use crate::shopify::ShopifyHandle;
use crate::shopify::gid::ReturnId;
use crate::shopify::operations::returns::{
    self as ops, ApproveInput, ApproveVariables, DeclineInput, DeclineVariables,
    ReturnApproveRequest, ReturnDeclineRequest, ReturnStatus, ShopifyReturn,
};

/// What to do with a return, and who says so.
#[derive(Debug, Clone)]
pub struct Decision {
    pub approve: bool,
    pub reason: Option<DeclineReason>,
    pub note: Option<String>,
    pub notify_customer: bool,
    /// `rules`, `operator:ada`, `api:erp`.
    pub by: String,
}

impl Decision {
    fn says(&self) -> String {
        if self.approve {
            format!("approved by {}", self.by)
        } else {
            format!(
                "declined ({}) by {}{}",
                self.reason.unwrap_or(DeclineReason::Other).as_str(),
                self.by,
                self.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            )
        }
    }
}

/// Carries `decision` out on the return `ret` (as just read), recording it in `record`.
pub async fn carry_out(
    ctx: &FlowContext,
    shopify: &ShopifyHandle,
    ret: &ShopifyReturn,
    record: &mut ReturnRecord,
    decision: &Decision,
) -> Outcome {
    let wanted = if decision.approve {
        ReturnStatus::Open
    } else {
        ReturnStatus::Declined
    };
    match ret.status {
        ReturnStatus::Requested => {}
        s if s == wanted || (decision.approve && s == ReturnStatus::Closed) => {
            record.status = status_name(s).into();
            remember(record, decision);
            release_hold(ctx, record, decision).await;
            return Outcome::Noted {
                note: format!("return {} was already {}", ret.name, status_name(s)),
            };
        }
        s => {
            return Outcome::Exception {
                reason: format!(
                    "return {} is {} in Shopify; it cannot be {}",
                    ret.name,
                    status_name(s),
                    if decision.approve {
                        "approved"
                    } else {
                        "declined"
                    }
                ),
            };
        }
    }
    let answered = if decision.approve {
        let vars = ApproveVariables {
            input: ApproveInput {
                id: ret.id.clone(),
                notify_customer: decision.notify_customer,
            },
        };
        shopify
            .run::<ReturnApproveRequest>(Lane::Orders, &vars)
            .await
            .map(|r| r.return_approve_request)
    } else {
        let vars = DeclineVariables {
            input: DeclineInput {
                id: ret.id.clone(),
                decline_reason: decision.reason.unwrap_or(DeclineReason::Other),
                decline_note: decision.note.clone(),
                notify_customer: decision.notify_customer,
            },
        };
        shopify
            .run::<ReturnDeclineRequest>(Lane::Orders, &vars)
            .await
            .map(|r| r.return_decline_request)
    };
    let payload = match answered {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Outcome::Retry {
                error: "shopify answered the decision without a payload".into(),
                after: None,
            };
        }
        Err(e) => return Outcome::from(&e),
    };
    if !payload.user_errors.is_empty() {
        let operation = if decision.approve {
            "returnApproveRequest"
        } else {
            "returnDeclineRequest"
        };
        return Failed::refused(operation, &payload.user_errors).outcome();
    }
    record.status = status_name(wanted).into();
    remember(record, decision);
    release_hold(ctx, record, decision).await;
    info!(r#return = %ret.name, decision = %decision.says(), "return decided");
    Outcome::Noted {
        note: format!("return {} {}", ret.name, decision.says()),
    }
}

fn remember(record: &mut ReturnRecord, decision: &Decision) {
    if record.decided.is_none() {
        record.decided = Some(Decided {
            approve: decision.approve,
            by: decision.by.clone(),
            at: now_ms(),
            reason: decision.reason.map(|r| r.as_str().to_string()),
            note: decision.note.clone(),
        });
    }
}

/// The held item, if any, is resolved: the decision is made (audited as its maker).
async fn release_hold(ctx: &FlowContext, record: &mut ReturnRecord, decision: &Decision) {
    let Some(held) = record.held.take() else {
        return;
    };
    // Already resolved or retried by the person who decided: nothing to do.
    let _ = ctx
        .store
        .operate(
            held,
            OperatorAction::Resolve,
            &decision.by,
            Some(decision.says()),
        )
        .await;
}

/// Shopify's name of a status.
pub fn status_name(s: ReturnStatus) -> &'static str {
    match s {
        ReturnStatus::Requested => "REQUESTED",
        ReturnStatus::Open => "OPEN",
        ReturnStatus::Declined => "DECLINED",
        ReturnStatus::Closed => "CLOSED",
        ReturnStatus::Canceled => "CANCELED",
        ReturnStatus::Other => "in a status this version does not know",
    }
}

/// The return `id`, read; `Err` is the outcome when it cannot be. A return of more lines than
/// one read brings is for a person: judged or processed on some of its lines, it would be
/// judged or processed wrong.
pub async fn read(shopify: &ShopifyHandle, id: &ReturnId) -> Result<ShopifyReturn, Outcome> {
    let ret = match shopify
        .run::<ops::ReturnRead>(Lane::Orders, &ops::ReturnReadVariables { id: id.clone() })
        .await
    {
        Ok(r) => r.return_.ok_or_else(|| Outcome::Exception {
            reason: format!("Shopify has no return {id}"),
        })?,
        Err(e) => return Err(Outcome::from(&e)),
    };
    if ret.return_line_items.page_info.has_next_page {
        return Err(Outcome::Exception {
            reason: format!(
                "return {} has more than {} lines, more than xconnector reads at once; decide and process it in Shopify",
                ret.name,
                ret.return_line_items.nodes.len()
            ),
        });
    }
    Ok(ret)
}

/// A decision item (API or operator) carried out.
pub async fn from_request(
    ctx: &FlowContext,
    shopify: &ShopifyHandle,
    request: &super::inbound::DecisionRequest,
    notify_default: bool,
) -> Outcome {
    let id = match ReturnId::parse(&request.return_id) {
        Ok(id) => id,
        Err(e) => {
            return Outcome::Exception {
                reason: e.to_string(),
            };
        }
    };
    let mut record = match record::load(&ctx.store, &request.return_id).await {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let ret = match read(shopify, &id).await {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
    let decision = Decision {
        approve: request.approve,
        reason: request.reason,
        note: request.note.clone(),
        notify_customer: request.notify_customer.unwrap_or(notify_default),
        by: if request.source.contains(':') {
            request.source.clone()
        } else {
            format!("api:{}", request.source)
        },
    };
    let outcome = carry_out(ctx, shopify, &ret, &mut record, &decision).await;
    match record::save(&ctx.store, &request.return_id, &record).await {
        Ok(()) => outcome,
        Err(e) => e.into(),
    }
}

/// A person's decision on a held return (the console, `items act approve|decline`): the
/// decision item to store, carried out like the API's. `item` must be a return held for a
/// person; a decline needs a reason (Shopify's name), which may also lead the note
/// (`FINAL_SALE: worn`), as the console's one-line prompt gives it.
pub fn by_operator(
    item: &crate::item::Item,
    payload: &[u8],
    user: &str,
    approve: bool,
    reason: Option<&str>,
    note: Option<String>,
) -> Result<crate::item::NewItem, String> {
    use super::inbound::{DECISION, DecisionRequest};
    use crate::item::ItemState;
    if item.flow != super::FLOW || item.kind != super::topics::REQUEST {
        return Err(format!(
            "item {} is not a return request (it is {} of flow {}); only a held return is approved or declined",
            item.id, item.kind, item.flow
        ));
    }
    if item.state != ItemState::Exception {
        return Err(format!(
            "item {} is {}, not held for a person",
            item.id,
            item.state.as_str()
        ));
    }
    let return_id =
        super::named(payload).ok_or_else(|| format!("item {} names no return", item.id))?;
    let (reason, note) = if approve {
        if reason.is_some() {
            return Err("only a decline takes a reason".into());
        }
        (None, note)
    } else {
        match reason {
            Some(r) => (
                Some(DeclineReason::parse(r).ok_or_else(|| {
                    format!(
                        "{r:?} is not a decline reason: FINAL_SALE, RETURN_PERIOD_ENDED or OTHER"
                    )
                })?),
                note,
            ),
            None => {
                let (lead, rest) = note
                    .as_deref()
                    .map(|n| n.split_once(':').unwrap_or((n, "")))
                    .unwrap_or(("", ""));
                match DeclineReason::parse(lead) {
                    Some(r) => (
                        Some(r),
                        Some(rest.trim().to_string()).filter(|n| !n.is_empty()),
                    ),
                    None => (Some(DeclineReason::Other), note),
                }
            }
        }
    };
    let request = DecisionRequest {
        source: format!("operator:{user}"),
        return_id,
        approve,
        reason,
        note,
        notify_customer: None,
    };
    let payload = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
    Ok(crate::item::NewItem::new(
        super::FLOW,
        DECISION,
        request.return_id.clone(),
        payload,
    ))
}
