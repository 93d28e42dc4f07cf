//! Exceptions: orders that broke a rule, held back from fulfilment and routed to the team that
//! can fix them.
//!
//! The orders flow makes one item here per held version (its payload a [`Hold`]). Processing
//! it sends the hold to each team the broken rules route to, then leaves it in `exception`
//! for a person. What a person does next comes back here:
//! - retry: the rules are evaluated again on the order as Shopify has it now (payment may
//!   have come through); if it passes it is released to the targets, else the teams hear of
//!   it again;
//! - resolve: released to the targets as it is (the store hands the item back flagged
//!   `resolving`, and it ends `resolved`);
//! - cancel: never sent (the order's record is withdrawn the next time a version arrives).
//!
//! A newer version of the order that passes the rules releases it and closes the hold.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tracing::info;

mod module;

pub use module::{
    AddressRuleConfig, ExceptionsConfig, ExceptionsModule, FraudRuleConfig, PaymentRuleConfig,
    StockRuleConfig,
};

use super::fan_out::fan_out;
use super::orders::canonical::{self, Order};
use super::orders::record::{OrderBook, OrderRecord};
use super::orders::rules::{Rules, Violation, parse_time};
use super::orders::{HOLD_SCHEMA, Hold, facts};
use super::{Flow, FlowContext, Outcome};
use crate::item::{Claimed, now_ms};
use crate::rate_limiter::Lane;
use crate::shopify::gid::OrderId;

/// A hold this fresh is not re-evaluated on its first run: the orders flow has just done so.
const FRESH: Duration = Duration::from_secs(10);

pub struct ExceptionsFlow {
    pub rules: Arc<Rules>,
    /// The orders flow's targets, for releases.
    pub targets: Vec<String>,
    pub book: Arc<OrderBook>,
}

impl Flow for ExceptionsFlow {
    async fn process(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        let hold: Hold = match serde_json::from_slice(&item.payload) {
            Ok(h) => h,
            Err(e) => {
                return Outcome::Exception {
                    reason: format!("not a held order: {e}"),
                };
            }
        };
        let id = hold.order.legacy_id;
        let _lock = self.book.lock(id).await;
        let mut record = match self.book.load(&ctx.store, id).await {
            Ok(r) => r,
            Err(e) => return Outcome::from(e),
        };
        if record.held != Some(item.item.id) {
            info!(order = %hold.order.name, item = %item.item.id, "hold superseded: a newer version of the order was decided");
            return Outcome::Done;
        }
        let outcome = if item.item.resolving {
            info!(order = %hold.order.name, "released by an operator as it is");
            self.release(ctx, item, &mut record, &hold.order).await
        } else {
            self.evaluate(ctx, item, &mut record, hold).await
        };
        match self.book.save(&ctx.store, id, &record).await {
            Ok(()) => outcome,
            Err(e) => Outcome::from(e),
        }
    }
}

impl ExceptionsFlow {
    async fn evaluate(
        &self,
        ctx: &FlowContext,
        item: &Claimed,
        record: &mut OrderRecord,
        hold: Hold,
    ) -> Outcome {
        let fresh = item.attempt() <= 1
            && now_ms().saturating_sub(item.item.created_at) < FRESH.as_millis() as u64;
        let (order, violations) = if fresh {
            (hold.order, hold.violations)
        } else {
            let order = match current(ctx, &hold.order).await {
                Ok(o) => o,
                Err(outcome) => return outcome,
            };
            let facts = if self.rules.needs_facts() {
                match facts(ctx.shopify.as_ref(), &order).await {
                    Ok(f) => f,
                    Err(outcome) => return outcome,
                }
            } else {
                Default::default()
            };
            let violations = self.rules.evaluate(&order, &facts, now_ms());
            (order, violations)
        };
        if violations.is_empty() {
            info!(order = %order.name, "passes the rules now; released");
            return self.release(ctx, item, record, &order).await;
        }
        if let Some(outcome) = self.notify(ctx, item, &order, &violations).await {
            return outcome;
        }
        Outcome::Exception {
            reason: violations
                .iter()
                .map(|v| format!("{}: {}", v.rule.as_str(), v.reason))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// Sends the hold to each team a broken rule routes to; `Some` if that did not succeed.
    async fn notify(
        &self,
        ctx: &FlowContext,
        item: &Claimed,
        order: &Order,
        violations: &[Violation],
    ) -> Option<Outcome> {
        let teams: BTreeSet<&str> = violations
            .iter()
            .filter_map(|v| v.route_to.as_deref())
            .collect();
        let hold = Hold {
            schema: HOLD_SCHEMA.into(),
            order: order.clone(),
            violations: violations.to_vec(),
            facts: Default::default(),
        };
        let body = serde_json::to_vec(&hold).ok()?;
        for team in teams {
            // The item id as the key: a team hears of one hold once, however often it is
            // looked at again.
            let outcome = ctx
                .endpoints
                .deliver_attempt(
                    team,
                    &item.item.id.to_string(),
                    body.clone(),
                    item.attempt().max(1),
                    item.item.created_at,
                )
                .await;
            if outcome != Outcome::Done {
                return Some(outcome);
            }
        }
        None
    }

    async fn release(
        &self,
        ctx: &FlowContext,
        item: &Claimed,
        record: &mut OrderRecord,
        order: &Order,
    ) -> Outcome {
        record.released = true;
        record.held = None;
        // The decision is durable before anything is sent.
        if let Err(e) = self.book.save(&ctx.store, order.legacy_id, record).await {
            return Outcome::from(e);
        }
        let Some(version) = parse_time(&order.updated_at) else {
            return Outcome::Exception {
                reason: format!("order {} has an unreadable updated_at", order.name),
            };
        };
        fan_out(
            &ctx.endpoints,
            &self.targets,
            &mut record.delivered,
            version,
            item,
            order,
        )
        .await
    }
}

/// The order as Shopify has it now (the held copy if Shopify is not configured or no longer
/// shows it).
async fn current(ctx: &FlowContext, held: &Order) -> Result<Order, Outcome> {
    let Some(shopify) = &ctx.shopify else {
        return Ok(held.clone());
    };
    let lines = u32::try_from(held.lines.len()).unwrap_or(240).clamp(1, 240);
    match shopify
        .order(Lane::Orders, &OrderId::new(held.legacy_id), lines)
        .await
    {
        Ok(Some(o)) => Ok(canonical::from_graphql(&o)),
        Ok(None) => Ok(held.clone()),
        Err(e) => Err(Outcome::from(&e)),
    }
}
