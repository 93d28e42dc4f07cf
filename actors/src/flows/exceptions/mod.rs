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

use tracing::{info, warn};

mod module;

pub use module::{
    AddressRuleConfig, ExceptionsConfig, ExceptionsModule, FraudRuleConfig, PaymentRuleConfig,
    StockRuleConfig,
};

use super::fan_out::fan_out;
use super::orders::canonical::{self, Order};
use super::orders::record::{self, OrderBook, OrderRecord};
use super::orders::rules::{Rules, Violation, parse_time};
use super::orders::{HOLD_SCHEMA, Hold, facts};
use super::{Flow, FlowContext, Outcome};
use crate::item::{Claimed, ItemId, now_ms};
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
        match standing(&record, item.item.id) {
            Standing::Current => {}
            Standing::Superseded => {
                info!(order = %hold.order.name, item = %item.item.id, "hold superseded: a newer version of the order was decided");
                return Outcome::Done;
            }
            Standing::Unrecorded { replaces } => {
                warn!(order = %hold.order.name, item = %item.item.id, "hold missing from the order's record (the orders flow stopped before recording it); taken as the open hold");
                if let Some(old) = replaces {
                    let why = format!(
                        "superseded by a newer version of the order (item {})",
                        item.item.id
                    );
                    record::close_exception(&ctx.store, old, &why).await;
                }
                record.held = Some(item.item.id);
            }
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

/// Where a held item stands against its order's record.
#[derive(Debug, PartialEq, Eq)]
enum Standing {
    /// The record names it: the order's open hold.
    Current,
    /// The record does not name it, yet nothing newer was decided: the orders flow stored the
    /// hold and stopped (a crash, a failing store) before recording it, and will find this
    /// same item when it retries. It is the open hold, replacing the older one named.
    Unrecorded { replaces: Option<ItemId> },
    /// A newer version was decided (held again, released, or withdrawn).
    Superseded,
}

/// Holds are items, so a later one has a larger id: a hold the record does not name is
/// superseded only by a later hold or by a decision that ended holding.
fn standing(record: &OrderRecord, hold: ItemId) -> Standing {
    match record.held {
        Some(h) if h == hold => Standing::Current,
        _ if record.released || record.withdrawn => Standing::Superseded,
        Some(h) if h > hold => Standing::Superseded,
        replaces => Standing::Unrecorded { replaces },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_the_record_does_not_name_is_open_unless_something_newer_was_decided() {
        let (older, hold, newer) = (ItemId(4), ItemId(7), ItemId(9));
        let record = |held, released, withdrawn| OrderRecord {
            held,
            released,
            withdrawn,
            ..OrderRecord::default()
        };
        assert_eq!(
            standing(&record(Some(hold), false, false), hold),
            Standing::Current
        );
        // The orders flow stored the hold, then stopped before saving the record.
        assert_eq!(
            standing(&record(None, false, false), hold),
            Standing::Unrecorded { replaces: None }
        );
        assert_eq!(
            standing(&record(Some(older), false, false), hold),
            Standing::Unrecorded {
                replaces: Some(older)
            }
        );
        // A later version was held again, released, or withdrawn.
        assert_eq!(
            standing(&record(Some(newer), false, false), hold),
            Standing::Superseded
        );
        assert_eq!(
            standing(&record(None, true, false), hold),
            Standing::Superseded
        );
        assert_eq!(
            standing(&record(None, false, true), hold),
            Standing::Superseded
        );
    }

    /// The crash window for real: the orders flow stored a hold and stopped before its record
    /// named it. The hold must still reach its team and stay open for a person.
    #[tokio::test]
    async fn a_hold_stored_without_its_record_still_reaches_its_team() {
        use crate::endpoints::{BreakerSettings, EndpointKind, EndpointSpec, FileFormat, FileSpec};
        use crate::flows::orders::rules::AddressRule;
        use crate::flows::{FlowSettings, FlowSpec};
        use crate::item::{ItemState, NewItem};
        use crate::{Engine, EngineConfig};

        let dir = tempfile::tempdir().unwrap();
        let rules = Rules {
            address: Some(AddressRule {
                route_to: Some("support".into()),
                required: vec!["address1".into()],
                allowed_countries: Vec::new(),
                forbid_po_box: false,
            }),
            ..Rules::default()
        };
        let order = crate::flows::orders::rules::tests::order(|v| {
            v["shipping_address"]["address1"] = serde_json::Value::Null;
        });
        let violations = rules.evaluate(&order, &Default::default(), now_ms());
        assert_eq!(violations.len(), 1);
        let hold = Hold {
            schema: HOLD_SCHEMA.into(),
            order,
            violations,
            facts: Default::default(),
        };
        let support = dir.path().join("support");
        let flow = ExceptionsFlow {
            rules: Arc::new(rules),
            targets: Vec::new(),
            book: Arc::new(OrderBook::default()),
        };
        let mut config = EngineConfig::new(
            dir.path().join("store"),
            vec![FlowSpec::new("exceptions", FlowSettings::default(), flow)],
        );
        config.endpoints = vec![EndpointSpec {
            name: "support".into(),
            kind: EndpointKind::File(FileSpec {
                dir: support.clone(),
                format: FileFormat::Jsonl,
                max_bytes: 1 << 20,
                mode: 0o600,
            }),
            concurrency: 1,
            breaker: BreakerSettings::default(),
            max_attempts: 3,
            max_age: Duration::from_secs(3600),
        }];
        let (engine, _fatal) = Engine::start(config).await.unwrap();
        let store = engine.store();
        let new = NewItem::new(
            "exceptions",
            "address",
            "#1001",
            serde_json::to_vec(&hold).unwrap(),
        )
        .resolved_by_flow();
        let id = store.enqueue(vec![new]).await.unwrap()[0].id;

        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let state = loop {
            let state = store.get(id).await.unwrap().unwrap().0.state;
            if !matches!(state, ItemState::Pending | ItemState::InFlight) {
                break state;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the hold was never processed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(
            state,
            ItemState::Exception,
            "the hold was dropped as superseded"
        );
        let written: String = std::fs::read_dir(&support)
            .unwrap()
            .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
            .collect();
        assert!(
            written.contains("#1001"),
            "support heard nothing: {written:?}"
        );
        let book = OrderBook::default();
        assert_eq!(book.load(store, 450789469).await.unwrap().held, Some(id));
        engine.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}
