//! A return a customer asked for (`returns/request`, or one the reconciliation poll found):
//! read from Shopify, judged by the rules, and approved, declined, or held for a person. A
//! held return is an exception of this item, told to the section's `review` endpoints; a
//! person decides it from the console, the CLI or the API, which resolves this item.

use tracing::info;

use super::Settings;
use super::decide::{self, Decision, status_name};
use super::record::{self, ReturnRecord};
use super::rules::{Amount, Decision as Verdict, Line, ReturnRequest};
use crate::flows::fan_out::fan_out;
use crate::flows::orders::rules::parse_time;
use crate::flows::{FlowContext, Outcome};
use crate::item::{Claimed, now_ms};
use crate::shopify::ShopifyHandle;
use crate::shopify::gid::ReturnId;
use crate::shopify::operations::returns::{ReturnStatus, ShopifyReturn};

pub async fn judge(
    settings: &Settings,
    ctx: &FlowContext,
    shopify: &ShopifyHandle,
    item: &Claimed,
    id: &str,
) -> Outcome {
    let Ok(return_id) = ReturnId::parse(id) else {
        return Outcome::Exception {
            reason: format!("{id:?} is not a return's GID"),
        };
    };
    let mut record = match record::load(&ctx.store, id).await {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    if let Some(d) = &record.decided {
        return Outcome::Noted {
            note: format!(
                "already {} by {}",
                if d.approve { "approved" } else { "declined" },
                d.by
            ),
        };
    }
    let ret = match decide::read(shopify, &return_id).await {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
    let outcome = judge_read(settings, ctx, shopify, item, &ret, &mut record).await;
    match record::save(&ctx.store, id, &record).await {
        Ok(()) => outcome,
        Err(e) => e.into(),
    }
}

async fn judge_read(
    settings: &Settings,
    ctx: &FlowContext,
    shopify: &ShopifyHandle,
    item: &Claimed,
    ret: &ShopifyReturn,
    record: &mut ReturnRecord,
) -> Outcome {
    record.status = status_name(ret.status).into();
    if ret.status != ReturnStatus::Requested {
        // Decided in Shopify's admin (or by an earlier attempt whose record was lost).
        return Outcome::Noted {
            note: format!("return {} is already {}", ret.name, status_name(ret.status)),
        };
    }
    let requested_at = parse_time(&ret.created_at).unwrap_or_else(now_ms);
    let mut earlier = Vec::new();
    if let Some(customer) = &ret.order.customer {
        let key = customer.id.to_string();
        let mut returns = match record::customer_returns(&ctx.store, &key).await {
            Ok(r) => r,
            Err(e) => return e.into(),
        };
        let this = ret.id.to_string();
        earlier = returns
            .iter()
            .filter(|(id, _)| **id != this)
            .map(|(_, at)| *at)
            .collect();
        if let Err(e) =
            record::add_customer_return(&ctx.store, &key, &mut returns, &this, requested_at).await
        {
            return e.into();
        }
    }
    let request = ReturnRequest {
        lines: lines(ret),
        requested_at,
        earlier_returns: earlier,
    };
    let (verdict, findings) = settings.rules.judge(&request);
    let decision = match verdict {
        Verdict::Approve => Decision {
            approve: true,
            reason: None,
            note: None,
            notify_customer: settings.notify_customer,
            by: "rules".into(),
        },
        Verdict::Decline { reason, note } => Decision {
            approve: false,
            reason: Some(reason),
            note: Some(note),
            notify_customer: settings.notify_customer,
            by: "rules".into(),
        },
        Verdict::Hold { why } => {
            record.held = Some(item.item.id);
            let notice = serde_json::json!({
                "schema": "xconnector.return_held.v1",
                "return_id": ret.id.to_string(),
                "return": ret.name,
                "order": ret.order.name,
                "why": why,
                "findings": findings,
                "item": item.item.id,
                "lines": request.lines.iter().map(|l| serde_json::json!({
                    "label": l.label, "quantity": l.quantity, "amount": l.amount.to_string(),
                })).collect::<Vec<_>>(),
            });
            let told = fan_out(
                &ctx.endpoints,
                &settings.review,
                &mut record.review,
                item.item.id.0,
                item,
                &notice,
            )
            .await;
            if let Outcome::Retry { .. } = told {
                return told;
            }
            info!(r#return = %ret.name, %why, "return held for a person");
            return Outcome::Exception {
                reason: format!(
                    "return {} of {} held for a person: {why} (approve or decline it)",
                    ret.name, ret.order.name
                ),
            };
        }
    };
    decide::carry_out(ctx, shopify, ret, record, &decision).await
}

/// The return's lines as the rules see them.
fn lines(ret: &ShopifyReturn) -> Vec<Line> {
    ret.return_line_items
        .nodes
        .iter()
        .map(|l| {
            let fli = l.fulfillment_line_item.as_ref();
            let item = fli.map(|f| &f.line_item);
            let fulfillment = fli.and_then(|f| ret.fulfillment_of(&f.id));
            let product = item.and_then(|i| i.product.as_ref());
            Line {
                label: item
                    .map(|i| {
                        i.sku
                            .clone()
                            .filter(|s| !s.is_empty())
                            .unwrap_or(i.name.clone())
                    })
                    .unwrap_or_else(|| l.id.to_string()),
                quantity: l.quantity,
                amount: l
                    .with_code_discounted_total_price_set
                    .as_ref()
                    .and_then(|m| Amount::parse(&m.shop_money.amount))
                    .unwrap_or_default(),
                product_type: product.map(|p| p.product_type.clone()).unwrap_or_default(),
                tags: product.map(|p| p.tags.clone()).unwrap_or_default(),
                fulfilled_at: fulfillment.and_then(|f| parse_time(&f.created_at)),
                delivered_at: fulfillment
                    .and_then(|f| f.delivered_at.as_deref())
                    .and_then(parse_time),
            }
        })
        .collect()
}
