//! Returns and refunds both ways (`[flows.returns]`).
//!
//! Out of Shopify: a return a customer asks for (`returns/request`, or found by the
//! reconciliation poll) is read and judged by the rules ([`rules`]): approved or declined in
//! Shopify at once, or held for a person, who decides it from the console, the CLI or
//! `POST /api/v1/returns/{id}/decision` ([`decide`]). Every refund, whoever made it, is read
//! and delivered to accounting as the canonical refund, once ([`accounting`], [`canonical`]).
//!
//! Into Shopify: what the warehouse received (`POST /api/v1/returns/{id}/received`) is
//! processed with its dispositions and, as the receipt asks, refunded at the amounts Shopify
//! suggests ([`receive`]). The other `returns/*` topics keep the return's status.

pub mod accounting;
pub mod canonical;
pub mod decide;
pub mod inbound;
mod module;
pub mod receive;
mod reconcile;
pub mod record;
pub mod request;
pub mod rules;

use std::sync::Arc;
use std::time::Duration;

pub use module::{ReturnsConfig, ReturnsModule};

use super::stripes::Stripes;
use super::{Flow, FlowContext, Outcome};
use crate::item::Claimed;

/// The flow's name, and its section's: `[flows.returns]`.
pub const FLOW: &str = "returns";

/// The webhook topics the flow consumes.
pub mod topics {
    pub const REQUEST: &str = "returns/request";
    pub const REFUND: &str = "refunds/create";
    /// Status changes: kept on the return's record.
    pub const STATUS: [&str; 7] = [
        "returns/approve",
        "returns/decline",
        "returns/process",
        "returns/close",
        "returns/cancel",
        "returns/reopen",
        "returns/update",
    ];
}

/// How the flow runs, from `[flows.returns]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Endpoints that receive the canonical refund.
    pub accounting: Vec<String>,
    /// Endpoints told of a return held for a person.
    pub review: Vec<String>,
    pub notify_customer: bool,
    pub rules: rules::Rules,
    /// Where restocked units go when a receipt does not say (a location's numeric id).
    pub restock_location: Option<u64>,
    pub reconcile: Option<reconcile::Poll>,
}

pub struct ReturnsFlow {
    settings: Arc<Settings>,
    /// Two items of one return are never worked on at once.
    locks: Stripes,
}

impl ReturnsFlow {
    pub fn new(settings: Settings) -> ReturnsFlow {
        ReturnsFlow {
            settings: Arc::new(settings),
            locks: Stripes::default(),
        }
    }
}

/// What a webhook payload names: its `admin_graphql_api_id`.
pub(crate) fn named(payload: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    v.get("admin_graphql_api_id")?.as_str().map(str::to_string)
}

impl Flow for ReturnsFlow {
    async fn process(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        let Some(shopify) = &ctx.shopify else {
            return Outcome::Exception {
                reason: "the returns flow needs [shopify] configured".into(),
            };
        };
        let s = &self.settings;
        let kind = item.item.kind.as_str();
        match kind {
            inbound::DECISION => {
                let request: inbound::DecisionRequest = match serde_json::from_slice(&item.payload)
                {
                    Ok(r) => r,
                    Err(e) => {
                        return Outcome::Exception {
                            reason: format!("not a decision: {e}"),
                        };
                    }
                };
                let _guard = self.locks.lock_key(&request.return_id).await;
                decide::from_request(ctx, shopify, &request, s.notify_customer).await
            }
            inbound::RECEIVED => {
                let receipt: inbound::Receipt = match serde_json::from_slice(&item.payload) {
                    Ok(r) => r,
                    Err(e) => {
                        return Outcome::Exception {
                            reason: format!("not a receipt: {e}"),
                        };
                    }
                };
                let _guard = self.locks.lock_key(&receipt.return_id).await;
                receive::process(s, ctx, shopify, item, &receipt).await
            }
            topics::REQUEST => {
                let Some(id) = named(&item.payload) else {
                    return Outcome::Exception {
                        reason: "the returns/request payload names no return".into(),
                    };
                };
                let _guard = self.locks.lock_key(&id).await;
                request::judge(s, ctx, shopify, item, &id).await
            }
            topics::REFUND => {
                let Some(id) = named(&item.payload) else {
                    return Outcome::Exception {
                        reason: "the refunds/create payload names no refund".into(),
                    };
                };
                accounting::deliver(s, ctx, shopify, item, &id).await
            }
            t if topics::STATUS.contains(&t) => status(ctx, t, &item.payload).await,
            other => Outcome::Exception {
                reason: format!("the returns flow has no work of kind {other:?}"),
            },
        }
    }

    fn tick_every(&self) -> Option<Duration> {
        self.settings.reconcile.as_ref().map(|p| p.every)
    }

    async fn tick(&self, ctx: &FlowContext) {
        if let (Some(poll), Some(shopify)) = (&self.settings.reconcile, &ctx.shopify) {
            poll.run(ctx, shopify).await;
        }
    }
}

/// A status change keeps the return's record up to date. (`returns/process` may name no
/// return: Shopify's documented example is `{}`.)
async fn status(ctx: &FlowContext, topic: &str, payload: &[u8]) -> Outcome {
    let Some(id) = named(payload) else {
        return Outcome::Noted {
            note: format!("{topic} names no return; nothing to keep"),
        };
    };
    let status = serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v.get("status")?.as_str().map(str::to_ascii_uppercase))
        .unwrap_or_default();
    let mut record = match record::load(&ctx.store, &id).await {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    if status.is_empty() || record.status == status {
        return Outcome::Done;
    }
    record.status = status.clone();
    match record::save(&ctx.store, &id, &record).await {
        Ok(()) => Outcome::Noted {
            note: format!("return {id} is {status}"),
        },
        Err(e) => e.into(),
    }
}
