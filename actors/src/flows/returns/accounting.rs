//! Every refund to accounting, once: read from Shopify by its id (a `refunds/create` webhook,
//! or one the reconciliation poll found), made canonical and delivered to the section's
//! `accounting` endpoints, which each get it with the same idempotency key however often
//! this is tried. The refund's status, and a failure's message, stay on the item.

use super::Settings;
use super::canonical::Refund;
use super::record;
use crate::flows::fan_out::fan_out;
use crate::flows::{FlowContext, Outcome};
use crate::item::Claimed;
use crate::rate_limiter::Lane;
use crate::shopify::ShopifyHandle;
use crate::shopify::gid::RefundId;
use crate::shopify::operations::returns::{RefundRead, RefundReadVariables};

pub async fn deliver(
    settings: &Settings,
    ctx: &FlowContext,
    shopify: &ShopifyHandle,
    item: &Claimed,
    id: &str,
) -> Outcome {
    let Ok(refund_id) = RefundId::parse(id) else {
        return Outcome::Exception {
            reason: format!("{id:?} is not a refund's GID"),
        };
    };
    let read = shopify
        .run::<RefundRead>(Lane::Orders, &RefundReadVariables { id: refund_id })
        .await;
    let refund = match read {
        Ok(r) => match r.refund {
            Some(r) => r,
            None => {
                return Outcome::Exception {
                    reason: format!("Shopify has no refund {id}"),
                };
            }
        },
        Err(e) => return Outcome::from(&e),
    };
    let canonical = Refund::of(&refund);
    let mut rec = match record::load_refund(&ctx.store, id).await {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let outcome = fan_out(
        &ctx.endpoints,
        &settings.accounting,
        &mut rec.delivered,
        1,
        item,
        &canonical,
    )
    .await;
    if let Err(e) = record::save_refund(&ctx.store, id, &rec).await {
        return e.into();
    }
    match outcome {
        Outcome::Done | Outcome::Noted { .. } => {
            let event = match canonical.status {
                "failed" => "refund_failed",
                "pending" => "refund_pending",
                _ => "refund",
            };
            ctx.events.count(event, 1);
            Outcome::Noted {
                note: canonical.summary(),
            }
        }
        other => other,
    }
}
