//! Orders: Shopify → the back office's fulfilment targets (ERP, WMS, 3PL).
//!
//! In: the `orders/*` webhooks, and a reconciliation poll that catches versions no webhook
//! brought. Each item is one version of one order. Under the order's lock (see
//! [`record`]): a version older than one already processed is dropped; an order not
//! yet released passes the rules first, and one that breaks a rule becomes an exception item
//! of the `exceptions` flow instead of going anywhere; a released order (and every later
//! version of it, cancellations included) goes to each target that does not have it yet.

use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info, warn};

pub mod canonical;
mod module;
pub mod record;
pub mod rules;

pub use module::{OrdersConfig, OrdersModule};

use super::exceptions::ExceptionsModule;
use super::fan_out::fan_out;
use super::module::FlowModule;
pub use super::reconcile::Reconcile;
use super::reconcile::ReconcileError;
use super::{Flow, FlowContext, Outcome};
use crate::item::{Claimed, ItemState, Millis, NewItem, OperatorAction, now_ms};
use crate::rate_limiter::Lane;
use crate::shopify::gid::OrderId;
use crate::shopify::operations::orders::{
    FinancialStatus, MAX_ORDER_LINES, RiskLevel as ShopifyRisk, RiskRecommendation, ShopifyOrder,
};
use crate::shopify::{ShopifyError, ShopifyHandle};
use crate::store::{RollupWrite, StoreError};
use canonical::{Order, OrderEvent};
use record::{OrderBook, OrderRecord, SYSTEM, version_key};
use rules::{Facts, Rules, StockFact, Violation, parse_time};

/// The kind of items the reconciliation poll makes (their payload is the GraphQL order).
pub const RECONCILE_KIND: &str = "orders/reconcile";
/// Webhook topic (and item kind): Shopify reassessed an order's risk.
pub const RISK_CHANGED: &str = "orders/risk_assessment_changed";

/// What an exception item carries: the order as it was held, why, and what Shopify said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hold {
    /// `xconnector.order_exception.v1`
    pub schema: String,
    pub order: Order,
    pub violations: Vec<Violation>,
    pub facts: Facts,
}

pub const HOLD_SCHEMA: &str = "xconnector.order_exception.v1";

pub struct OrdersFlow {
    /// `[endpoints.NAME]`s every released order goes to.
    pub targets: Vec<String>,
    /// `None`: no `[flows.exceptions]`, every order is released as it comes.
    pub rules: Option<Arc<Rules>>,
    pub book: Arc<OrderBook>,
    pub reconcile: Option<Reconcile>,
    /// `[flows.reporting]` is on: every version taken is counted in the report rollups.
    pub count_reports: bool,
}

/// A version of an order, ready to decide on.
struct Version {
    order: Order,
    at: Millis,
    /// What it counts in the reports, when they count it (see [`count_in_reports`]).
    counted: Option<Result<RollupWrite, String>>,
}

impl Flow for OrdersFlow {
    async fn process(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        if item.item.kind == RISK_CHANGED {
            return self.risk_changed(item, ctx).await;
        }
        let mut version = match parse(item, self.count_reports) {
            Ok(v) => v,
            Err(reason) => return Outcome::Exception { reason },
        };
        let id = version.order.legacy_id;
        let _lock = self.book.lock(id).await;
        let mut record = match self.book.load(&ctx.store, id).await {
            Ok(r) => r,
            Err(e) => return Outcome::from(e),
        };
        if version.at < record.seen {
            debug!(order = %version.order.name, "stale version dropped: a newer one was processed");
            return Outcome::Done;
        }
        record.seen = version.at;
        if let Err(e) = count_in_reports(item, &mut version, ctx) {
            return Outcome::from(e);
        }
        let outcome = self.decide(item, ctx, &version, &mut record).await;
        match self.book.save(&ctx.store, id, &record).await {
            Ok(()) => outcome,
            Err(e) => Outcome::from(e),
        }
    }

    fn tick_every(&self) -> Option<Duration> {
        self.reconcile.as_ref().map(|r| r.every)
    }

    async fn tick(&self, ctx: &FlowContext) {
        let (Some(reconcile), Some(shopify)) = (&self.reconcile, &ctx.shopify) else {
            return;
        };
        match self.reconcile(reconcile, shopify, ctx).await {
            Ok(0) => debug!("reconciliation: every order version is known"),
            Ok(n) => info!(
                orders = n,
                "reconciliation found versions no webhook brought"
            ),
            Err(e) => warn!(error = %e, "reconciliation poll failed; next poll retries"),
        }
    }
}

impl OrdersFlow {
    /// Hold, release or pass on one version; `record` is saved by the caller.
    async fn decide(
        &self,
        item: &Claimed,
        ctx: &FlowContext,
        version: &Version,
        record: &mut OrderRecord,
    ) -> Outcome {
        let order = &version.order;
        if record.withdrawn {
            return Outcome::Done;
        }
        if !record.released {
            if let Some(held) = record.held {
                // An operator who cancelled the held order withdrew it for good.
                if let Ok(Some((h, _))) = ctx.store.get(held).await
                    && h.state == ItemState::Cancelled
                {
                    record.withdrawn = true;
                    record.held = None;
                    info!(order = %order.name, "order was cancelled by an operator; not sent");
                    return Outcome::Done;
                }
            }
            if order.event == OrderEvent::Cancel {
                // Never released: nothing to take back from the targets.
                if let Some(held) = record.held.take() {
                    record::close_exception(&ctx.store, held, "the order was cancelled in Shopify")
                        .await;
                }
                record.withdrawn = true;
                return Outcome::Done;
            }
            if let Some(rules) = &self.rules {
                let facts = if rules.needs_facts() {
                    match facts(ctx.shopify.as_ref(), order).await {
                        Ok(f) => f,
                        Err(outcome) => return outcome,
                    }
                } else {
                    Facts::default()
                };
                let violations = rules.evaluate(order, &facts, now_ms());
                if !violations.is_empty() {
                    return self.hold(ctx, version, record, violations, facts).await;
                }
            }
            record.released = true;
            if let Some(held) = record.held.take() {
                record::close_exception(
                    &ctx.store,
                    held,
                    &format!(
                        "superseded: a newer version (item {}) passed the rules and was released",
                        item.item.id
                    ),
                )
                .await;
            }
            if self.rules.is_some() {
                // Released is a decision: a crash while delivering must not make it again.
                if let Err(e) = self.book.save(&ctx.store, order.legacy_id, record).await {
                    return Outcome::from(e);
                }
            }
        }
        fan_out(
            &ctx.endpoints,
            &self.targets,
            &mut record.delivered,
            version.at,
            item,
            order,
        )
        .await
    }

    async fn hold(
        &self,
        ctx: &FlowContext,
        version: &Version,
        record: &mut OrderRecord,
        violations: Vec<Violation>,
        facts: Facts,
    ) -> Outcome {
        let order = &version.order;
        let rules: Vec<&str> = violations.iter().map(|v| v.rule.as_str()).collect();
        let hold = Hold {
            schema: HOLD_SCHEMA.into(),
            order: order.clone(),
            violations: violations.clone(),
            facts,
        };
        let payload = match serde_json::to_vec(&hold) {
            Ok(p) => p,
            Err(e) => {
                return Outcome::Exception {
                    reason: format!("cannot encode the held order: {e}"),
                };
            }
        };
        let new = NewItem::new(
            ExceptionsModule::NAME,
            rules.join("+"),
            order.name.clone(),
            payload,
        )
        .dedupe(format!("held:{}", version_key(order.legacy_id, version.at)))
        .resolved_by_flow();
        let id = match ctx.store.enqueue(vec![new]).await {
            Ok(out) => match out.first() {
                Some(e) => e.id,
                None => return Outcome::from(StoreError::Unavailable),
            },
            Err(e) => return Outcome::from(e),
        };
        if let Some(old) = record.held.filter(|old| *old != id) {
            record::close_exception(
                &ctx.store,
                old,
                &format!("superseded by a newer version of the order (item {id})"),
            )
            .await;
        }
        record.held = Some(id);
        info!(order = %order.name, rules = %rules.join(", "), exception = %id, "order held");
        Outcome::Done
    }

    /// A new risk assessment: a held order is looked at again (its exception re-evaluates the
    /// rules); a released one is past the point where the rules apply.
    async fn risk_changed(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        let order_id = serde_json::from_slice::<serde_json::Value>(&item.payload)
            .ok()
            .and_then(|v| v.get("order_id").and_then(|i| i.as_u64()));
        let Some(order_id) = order_id else {
            return Outcome::Done;
        };
        let _lock = self.book.lock(order_id).await;
        let record = match self.book.load(&ctx.store, order_id).await {
            Ok(r) => r,
            Err(e) => return Outcome::from(e),
        };
        if let (Some(held), false) = (record.held, record.released) {
            let _ = ctx
                .store
                .operate(
                    held,
                    OperatorAction::Retry,
                    SYSTEM,
                    Some("Shopify's risk assessment changed".into()),
                )
                .await;
        }
        Outcome::Done
    }

    /// Lists the orders changed since the last poll (cheaply: ids and times), and fetches and
    /// enqueues the versions not yet processed. Returns how many it enqueued.
    async fn reconcile(
        &self,
        reconcile: &Reconcile,
        shopify: &ShopifyHandle,
        ctx: &FlowContext,
    ) -> Result<usize, ReconcileError> {
        let (last, since) = reconcile.start(ctx).await?;
        let mut newest = last;
        let mut after = None;
        let mut found = 0;
        loop {
            let page = shopify
                .order_versions(Lane::Reporting, &since, after.take(), 100)
                .await?;
            let ids: Vec<u64> = page.nodes.iter().map(|v| v.id.id()).collect();
            let records = self.book.load_many(&ctx.store, &ids).await?;
            let mut items = Vec::new();
            for (v, record) in page.nodes.iter().zip(records) {
                let Some(at) = parse_time(&v.updated_at) else {
                    continue;
                };
                newest = newest.max(at);
                if at <= record.seen {
                    continue;
                }
                let Some(order) = full_order(shopify, &v.id).await? else {
                    continue;
                };
                let payload = serde_json::to_vec(&order).map_err(|e| {
                    ReconcileError::Shopify(ShopifyError::InvalidResponse(e.to_string()))
                })?;
                let at = parse_time(&order.updated_at).unwrap_or(at);
                items.push(
                    NewItem::new(&*ctx.name, RECONCILE_KIND, order.name.clone(), payload)
                        .dedupe(version_key(order.id.id(), at)),
                );
            }
            if !items.is_empty() {
                let out = ctx.store.enqueue(items).await?;
                found += out.iter().filter(|e| !e.duplicate).count();
            }
            // The cursor moves only past what is stored.
            reconcile.advance(ctx, newest).await?;
            match page.page_info.end_cursor {
                Some(c) if page.page_info.has_next_page => after = Some(c),
                _ => return Ok(found),
            }
        }
    }
}

/// The whole order: a first try with the lines most orders fit in, all of them if not.
async fn full_order(
    shopify: &ShopifyHandle,
    id: &OrderId,
) -> Result<Option<ShopifyOrder>, ShopifyError> {
    let first = shopify.order(Lane::Reporting, id, 50).await?;
    match first {
        Some(o) if o.line_items.page_info.has_next_page => {
            shopify.order(Lane::Reporting, id, MAX_ORDER_LINES).await
        }
        other => Ok(other),
    }
}

/// Counts the version in the report rollups (the newest version of an order is what it counts;
/// a replay counts nothing), without waiting for the store: the item's completion follows it.
/// Sent before the order is decided on, so that the store counts it while the flow works.
fn count_in_reports(
    item: &Claimed,
    version: &mut Version,
    ctx: &FlowContext,
) -> Result<(), crate::store::StoreError> {
    // Versioned by `updated_at`: a backfill that read the order earlier cannot move it back.
    match version.counted.take() {
        None => Ok(()),
        Some(Ok(write)) => ctx.store.count(vec![write]),
        Some(Err(e)) => {
            debug!(order = %item.item.key, error = %e, "not counted in reports");
            Ok(())
        }
    }
}

/// Reads the item's version of its order, and with `count` what the reports count of it.
/// Reconciliation finds versions through GraphQL without their refunds, fulfilments and
/// channel: those are left to the webhook that brings the same version.
fn parse(item: &Claimed, count: bool) -> Result<Version, String> {
    let (order, counted) = if item.item.kind == RECONCILE_KIND {
        let order = serde_json::from_slice::<ShopifyOrder>(&item.payload)
            .map(|o| canonical::from_graphql(&o))
            .map_err(|e| format!("not a Shopify order: {e}"))?;
        (order, None)
    } else {
        let (topic, body) = (&item.item.kind, &item.payload);
        let read = if count {
            canonical::from_rest_counted(topic, body).map(|(o, counted)| (o, Some(counted)))
        } else {
            canonical::from_rest(topic, body).map(|o| (o, None))
        };
        read.map_err(|e| format!("{topic} payload is {e}"))?
    };
    let at = parse_time(&order.updated_at).ok_or_else(|| {
        format!(
            "order {} has an unreadable updated_at {:?}",
            order.name, order.updated_at
        )
    })?;
    Ok(Version { order, at, counted })
}

/// What Shopify says about the order now, for the rules that need it.
pub(crate) async fn facts(
    shopify: Option<&ShopifyHandle>,
    order: &Order,
) -> Result<Facts, Outcome> {
    let Some(shopify) = shopify else {
        return Ok(Facts::default());
    };
    let lines = u32::try_from(order.lines.len()).unwrap_or(250).max(1);
    let checked = shopify
        .order_checks(Lane::Orders, &OrderId::new(order.legacy_id), lines)
        .await
        .map_err(|e| Outcome::from(&e))?;
    let Some(c) = checked else {
        return Ok(Facts::default());
    };
    let risk_level = c.risk.highest().and_then(|l| match l {
        ShopifyRisk::None => Some(rules::RiskLevel::None),
        ShopifyRisk::Low => Some(rules::RiskLevel::Low),
        ShopifyRisk::Medium => Some(rules::RiskLevel::Medium),
        ShopifyRisk::High => Some(rules::RiskLevel::High),
        ShopifyRisk::Pending | ShopifyRisk::Other => None,
    });
    Ok(Facts {
        financial_status: c.display_financial_status.and_then(status_name),
        risk_level,
        recommend_cancel: c.risk.recommendation == RiskRecommendation::Cancel,
        stock: c
            .line_items
            .nodes
            .iter()
            .filter_map(|l| {
                let v = l.variant.as_ref()?;
                let available = v.inventory_quantity.filter(|_| v.inventory_item.tracked)?;
                Some(StockFact {
                    sku: l.sku.clone().unwrap_or_else(|| v.id.to_string()),
                    ordered: l.quantity,
                    available_after: available,
                })
            })
            .collect(),
    })
}

fn status_name(s: FinancialStatus) -> Option<String> {
    match serde_json::to_value(s) {
        Ok(serde_json::Value::String(name)) if s != FinancialStatus::Other => Some(name),
        _ => None,
    }
}
