//! One shipment entry, carried out: the order found, the shipment fulfilled (once), its
//! tracking corrected, its status given, and the targets told. Every step reads the record
//! first, so an entry processed again (a retry, a resend, a restart) does only what is left.

use chrono::DateTime;
use tracing::{debug, info};

use super::inbound::{OrderRef, Shipment};
use super::plan::{Allocation, plan};
use super::record::{self, Planned, ShipmentRecord, Tracking};
use super::status::{Applied, Status, advances};
use super::{Settings, canonical, carrier};
use crate::flows::fan_out::fan_out;
use crate::flows::write::Failed;
use crate::flows::{FlowContext, Outcome};
use crate::item::{Claimed, now_ms};
use crate::rate_limiter::Lane;
use crate::shopify::ShopifyHandle;
use crate::shopify::gid::{FulfillmentId, FulfillmentOrderId, FulfillmentOrderLineItemId, OrderId};
use crate::shopify::operations::fulfillments::{
    self as ops, FULFILLMENTS, FulfillmentCreate, FulfillmentEventCreate, FulfillmentEvents,
    FulfillmentInput, FulfillmentOrderFulfillments, FulfillmentOrderLineInput,
    FulfillmentTrackingInfoUpdate, LINES, LinesOfFulfillmentOrder, OrderFulfillmentOrders,
    OrderWithFulfillmentOrders, OrdersByName, TrackingInput,
};
use crate::shopify::operations::search_quote;

/// How long before its attempt a fulfillment found in Shopify may have been made by it
/// (clocks differ).
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

pub(super) struct Ship<'a> {
    pub settings: &'a Settings,
    pub ctx: &'a FlowContext,
    pub shopify: &'a ShopifyHandle,
    pub item: &'a Claimed,
    pub system: &'a str,
    pub key: &'a str,
}

/// A step stopped the entry: the outcome says why.
type Step<T> = Result<T, Outcome>;

fn shopify_failed(e: &crate::shopify::ShopifyError) -> Outcome {
    Outcome::from(e)
}

/// A time of the inbound API (ms, which may be before 1970 in a bad clock) as RFC 3339.
fn rfc3339(ms: i64) -> String {
    crate::flows::reconcile::rfc3339(ms.max(0) as u64)
}

impl Ship<'_> {
    pub async fn run(&self, shipment: &Shipment) -> Outcome {
        match self.steps(shipment).await {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }

    async fn steps(&self, shipment: &Shipment) -> Step<Outcome> {
        let mut rec = record::load(&self.ctx.store, self.key).await?;
        let mut notes = Vec::new();
        if rec.order.is_none() {
            let (id, name) = self.resolve(&shipment.order).await?;
            rec.order = Some(id);
            rec.order_name = Some(name);
        }
        if !rec.shipped() {
            if shipment.is_status_only() {
                return Err(self.wait(format!(
                    "a status for shipment {} of {}, which has not shipped yet",
                    shipment.id,
                    rec.order_name.as_deref().unwrap_or("its order")
                )));
            }
            self.fulfil(shipment, &mut rec).await?;
        } else if shipment.has_tracking() {
            let tracking = tracking_of(shipment);
            if tracking != rec.tracking {
                self.correct(shipment, &mut rec, tracking).await?;
            }
        }
        if let Some(status) = shipment.status {
            let applied = Applied {
                status,
                at: shipment.happened_at,
            };
            if advances(rec.status, status, shipment.happened_at) {
                self.give_status(shipment, &mut rec, applied).await?;
            } else if let Some(last) = rec.status.filter(|l| *l != applied) {
                self.ctx.events.count("stale_status", 1);
                notes.push(format!(
                    "status {} of {} not given: the shipment is already {} (since {})",
                    status.name(),
                    rfc3339(shipment.happened_at),
                    last.status.name(),
                    rfc3339(last.at)
                ));
            }
        }
        let item = self.item.item.id.0;
        if notes.is_empty() && !rec.unsent.iter().any(|u| u.item == item) {
            notes.push("nothing new: the shipment already has this".into());
        }
        self.tell_targets(shipment, &mut rec).await?;
        let fulfillments: Vec<String> = rec.fulfillments().map(|f| f.to_string()).collect();
        notes.insert(
            0,
            format!(
                "{} → fulfillment {}",
                rec.order_name.as_deref().unwrap_or("?"),
                fulfillments.join(", ")
            ),
        );
        Ok(Outcome::Noted {
            note: notes.join("; "),
        })
    }

    /// Retries until `order_wait` has passed since the entry came in, then an exception.
    fn wait(&self, what: String) -> Outcome {
        let age = now_ms().saturating_sub(self.item.item.created_at);
        let wait = self.settings.order_wait.as_millis() as u64;
        if age >= wait {
            return Outcome::Exception {
                reason: format!(
                    "{what}, {}s after it came in (order_wait)",
                    self.settings.order_wait.as_secs()
                ),
            };
        }
        // Often at first (a webhook's order may be seconds away), then every two minutes.
        let after = (age / 4).clamp(1_000, 120_000).min(wait - age);
        Outcome::Retry {
            error: what,
            after: Some(std::time::Duration::from_millis(after)),
        }
    }

    async fn resolve(&self, order: &OrderRef) -> Step<(u64, String)> {
        match order {
            OrderRef::ShopifyId(id) => {
                // The name comes with the fulfillment orders; the id is enough to read them.
                Ok((*id, format!("gid://shopify/Order/{id}")))
            }
            OrderRef::Name(name) => {
                let vars = ops::OrdersByNameVariables {
                    query: format!("name:{}", search_quote(name)),
                };
                let found = self
                    .shopify
                    .run::<OrdersByName>(Lane::Orders, &vars)
                    .await
                    .map_err(|e| shopify_failed(&e))?;
                let wanted = name.trim_start_matches('#');
                found
                    .orders
                    .nodes
                    .into_iter()
                    .find(|o| o.name.trim_start_matches('#') == wanted)
                    .map(|o| (o.id.id(), o.name))
                    .ok_or_else(|| self.wait(format!("order {name} is not in Shopify")))
            }
        }
    }

    /// Plans the shipment's fulfillments (once) and makes each that is not made yet.
    async fn fulfil(&self, shipment: &Shipment, rec: &mut ShipmentRecord) -> Step<()> {
        let order = rec.order.unwrap_or_default();
        if rec.plan.is_empty() {
            let Some(found) = self.fulfillment_orders(order).await? else {
                rec.order = None;
                return Err(self.wait(format!(
                    "order gid://shopify/Order/{order} is not in Shopify"
                )));
            };
            rec.order_name = Some(found.name.clone());
            if truncated(&found) {
                let (orders, lines) = PAGES[PAGES.len() - 1];
                return Err(Outcome::Exception {
                    reason: format!(
                        "shipment {}: {} has more than {orders} fulfillment orders or {lines} lines in one, more than xconnector matches shipments against",
                        shipment.id, found.name
                    ),
                });
            }
            let allocations = plan(
                shipment.lines.as_deref(),
                shipment.location.as_ref(),
                &found.name,
                &found.fulfillment_orders.nodes,
            )
            .map_err(|reason| Outcome::Exception {
                reason: format!("shipment {}: {reason}", shipment.id),
            })?;
            rec.plan = allocations
                .into_iter()
                .map(|allocation| Planned {
                    allocation,
                    attempted_at: None,
                    made: None,
                })
                .collect();
        }
        let tracking = tracking_of(shipment);
        let notify = shipment
            .notify_customer
            .unwrap_or(self.settings.notify_customer);
        for i in 0..rec.plan.len() {
            if rec.plan[i].made.is_some() {
                continue;
            }
            if let Some(at) = rec.plan[i].attempted_at
                && let Some(made) = self.find_made(rec, i, at, &tracking).await?
            {
                info!(shipment = %shipment.id, fulfillment = made, "a fulfillment whose answer was lost is found in Shopify");
                rec.plan[i].made = Some(made);
                rec.changed(self.item.item.id.0, "shipped");
                record::save(&self.ctx.store, self.key, rec).await?;
                continue;
            }
            rec.plan[i].attempted_at = Some(now_ms() as i64);
            record::save(&self.ctx.store, self.key, rec).await?;
            let made = self
                .create(&rec.plan[i].allocation, &tracking, notify)
                .await;
            match made {
                Ok(id) => {
                    rec.plan[i].made = Some(id);
                    rec.changed(self.item.item.id.0, "shipped");
                    record::save(&self.ctx.store, self.key, rec).await?;
                }
                Err(Failed::Refused(reason)) => {
                    // Nothing made yet: the next try plans again (a hold released, a line moved).
                    if rec.fulfillments().next().is_none() {
                        rec.plan.clear();
                        record::save(&self.ctx.store, self.key, rec).await?;
                    }
                    return Err(Outcome::Exception {
                        reason: format!("shipment {}: {reason}", shipment.id),
                    });
                }
                Err(Failed::Transient(outcome)) => return Err(outcome),
            }
        }
        rec.tracking = tracking;
        rec.shipped_at = Some(shipment.shipped_at.unwrap_or(shipment.happened_at));
        record::save(&self.ctx.store, self.key, rec).await?;
        Ok(())
    }

    /// The order's fulfillment orders: a small read first (Shopify reserves the requested cost
    /// of the page sizes, not what comes back), a larger one only for an order it did not hold.
    async fn fulfillment_orders(&self, order: u64) -> Step<Option<OrderWithFulfillmentOrders>> {
        let mut found = None;
        for (orders, lines) in PAGES {
            let vars = ops::OrderFulfillmentOrdersVariables {
                id: OrderId::new(order),
                orders,
                lines,
            };
            let read = self
                .shopify
                .run::<OrderFulfillmentOrders>(Lane::Orders, &vars)
                .await
                .map_err(|e| shopify_failed(&e))?;
            found = read.order;
            if !found.as_ref().is_some_and(truncated) {
                break;
            }
        }
        Ok(found)
    }

    async fn create(
        &self,
        allocation: &Allocation,
        tracking: &Tracking,
        notify: bool,
    ) -> Result<u64, Failed> {
        let vars = ops::FulfillmentCreateVariables {
            fulfillment: FulfillmentInput {
                line_items_by_fulfillment_order: allocation
                    .takes
                    .iter()
                    .map(|t| LinesOfFulfillmentOrder {
                        fulfillment_order_id: FulfillmentOrderId::new(t.order),
                        fulfillment_order_line_items: t
                            .lines
                            .iter()
                            .map(|l| FulfillmentOrderLineInput {
                                id: FulfillmentOrderLineItemId::new(l.id),
                                quantity: l.quantity,
                            })
                            .collect(),
                    })
                    .collect(),
                tracking_info: tracking_input(tracking),
                notify_customer: notify,
            },
        };
        let answer = self
            .shopify
            .run::<FulfillmentCreate>(Lane::Orders, &vars)
            .await
            .map_err(|e| Failed::from(&e))?;
        let payload = answer
            .fulfillment_create
            .ok_or_else(|| Failed::Refused("shopify: fulfillmentCreate answered nothing".into()))?;
        if !payload.user_errors.is_empty() {
            return Err(Failed::refused("fulfillmentCreate", &payload.user_errors));
        }
        payload
            .fulfillment
            .map(|f| f.id.id())
            .ok_or_else(|| Failed::Refused("shopify: fulfillmentCreate made no fulfillment".into()))
    }

    /// The fulfillment an attempt at `rec.plan[i]` may have made: one at its location, not
    /// another of this shipment's, carrying its tracking number, or (without tracking numbers)
    /// made since the attempt with exactly its lines.
    async fn find_made(
        &self,
        rec: &ShipmentRecord,
        i: usize,
        attempted_at: i64,
        tracking: &Tracking,
    ) -> Step<Option<u64>> {
        let allocation = &rec.plan[i].allocation;
        // Its first fulfillment order's newest fulfillments: a fulfillment it made is one of them.
        let Some(first) = allocation.takes.first() else {
            return Ok(None);
        };
        let vars = ops::FulfillmentOrderFulfillmentsVariables {
            id: FulfillmentOrderId::new(first.order),
            fulfillments: FULFILLMENTS,
            lines: LINES,
        };
        let read = self
            .shopify
            .run::<FulfillmentOrderFulfillments>(Lane::Orders, &vars)
            .await
            .map_err(|e| shopify_failed(&e))?;
        let ours: Vec<u64> = rec.fulfillments().collect();
        let wanted = allocation.line_items();
        let found = read
            .fulfillment_order
            .into_iter()
            .flat_map(|o| o.fulfillments.nodes)
            .filter(|f| f.status == "SUCCESS" && !ours.contains(&f.id.id()))
            .filter(|f| {
                f.location
                    .as_ref()
                    .is_none_or(|l| l.id.id() == allocation.location)
            })
            .find(|f| {
                if tracking.numbers.is_empty() {
                    let made_after = DateTime::parse_from_rfc3339(&f.created_at)
                        .is_ok_and(|t| t.timestamp_millis() >= attempted_at - CLOCK_SKEW_MS);
                    let mut lines: Vec<(u64, u32)> = f
                        .fulfillment_line_items
                        .nodes
                        .iter()
                        .map(|l| (l.line_item.id.id(), l.quantity.unwrap_or(0)))
                        .collect();
                    lines.sort_unstable();
                    made_after && lines == wanted
                } else {
                    f.tracking_info.iter().any(|t| {
                        t.number
                            .as_ref()
                            .is_some_and(|n| tracking.numbers.contains(n))
                    })
                }
            });
        Ok(found.map(|f| f.id.id()))
    }

    /// New carrier, numbers or URLs for every fulfillment of the shipment.
    async fn correct(
        &self,
        shipment: &Shipment,
        rec: &mut ShipmentRecord,
        tracking: Tracking,
    ) -> Step<()> {
        let notify = shipment.notify_customer.unwrap_or(false);
        for id in rec.fulfillments().collect::<Vec<_>>() {
            let vars = ops::TrackingUpdateVariables {
                fulfillment_id: FulfillmentId::new(id),
                tracking_info_input: tracking_input(&tracking),
                notify_customer: notify,
            };
            let answer = self
                .shopify
                .run::<FulfillmentTrackingInfoUpdate>(Lane::Orders, &vars)
                .await
                .map_err(|e| shopify_failed(&e))?;
            if let Some(p) = answer.fulfillment_tracking_info_update
                && !p.user_errors.is_empty()
            {
                return Err(
                    Failed::refused("fulfillmentTrackingInfoUpdate", &p.user_errors).outcome(),
                );
            }
        }
        debug!(shipment = %shipment.id, "tracking corrected");
        rec.tracking = tracking;
        rec.changed(self.item.item.id.0, "tracking");
        record::save(&self.ctx.store, self.key, rec).await?;
        Ok(())
    }

    /// One event per fulfillment of the shipment. An attempt whose answers were lost is
    /// checked against the events Shopify has, so no fulfillment gets an event twice.
    async fn give_status(
        &self,
        shipment: &Shipment,
        rec: &mut ShipmentRecord,
        applied: Applied,
    ) -> Step<()> {
        let retried = rec.status_attempt == Some(applied);
        if !retried {
            rec.status_attempt = Some(applied);
            record::save(&self.ctx.store, self.key, rec).await?;
        }
        let happened_at = rfc3339(applied.at);
        for id in rec.fulfillments().collect::<Vec<_>>() {
            let fulfillment = FulfillmentId::new(id);
            if retried && self.has_event(&fulfillment, applied).await? {
                continue;
            }
            let vars = ops::EventCreateVariables {
                fulfillment_event: ops::FulfillmentEventInput {
                    fulfillment_id: fulfillment,
                    status: applied.status.shopify().to_string(),
                    happened_at: happened_at.clone(),
                    message: shipment.message.clone(),
                },
            };
            let answer = self
                .shopify
                .run::<FulfillmentEventCreate>(Lane::Orders, &vars)
                .await
                .map_err(|e| shopify_failed(&e))?;
            if let Some(p) = answer.fulfillment_event_create
                && !p.user_errors.is_empty()
            {
                return Err(Failed::refused("fulfillmentEventCreate", &p.user_errors).outcome());
            }
        }
        rec.status = Some(applied);
        rec.status_attempt = None;
        rec.changed(self.item.item.id.0, "status");
        if applied.status == Status::Delivered {
            rec.delivered_at = Some(applied.at);
        }
        record::save(&self.ctx.store, self.key, rec).await?;
        Ok(())
    }

    async fn has_event(&self, id: &FulfillmentId, applied: Applied) -> Step<bool> {
        let vars = ops::FulfillmentEventsVariables { id: id.clone() };
        let read = self
            .shopify
            .run::<FulfillmentEvents>(Lane::Orders, &vars)
            .await
            .map_err(|e| shopify_failed(&e))?;
        Ok(read.fulfillment.is_some_and(|f| {
            f.events.nodes.iter().any(|e| {
                e.status == applied.status.shopify()
                    && DateTime::parse_from_rfc3339(&e.happened_at)
                        .is_ok_and(|t| t.timestamp_millis() / 1000 == applied.at / 1000)
            })
        }))
    }

    /// The canonical shipment to every target but the sender, when this entry changed
    /// something (noted in the record with the change, so a retry after a crash or a failed
    /// delivery still sends it, and only to the targets still missing it).
    async fn tell_targets(&self, shipment: &Shipment, rec: &mut ShipmentRecord) -> Step<()> {
        let item = self.item.item.id.0;
        let Some(i) = rec.unsent.iter().position(|u| u.item == item) else {
            return Ok(());
        };
        let targets: Vec<String> = self
            .settings
            .targets
            .iter()
            .filter(|t| t.as_str() != self.system)
            .cloned()
            .collect();
        if targets.is_empty() {
            rec.unsent.remove(i);
            return record::save(&self.ctx.store, self.key, rec)
                .await
                .map_err(Outcome::from);
        }
        if rec.unsent[i].version == 0 {
            rec.version += 1;
            rec.unsent[i].version = rec.version;
        }
        let (version, changes) = (rec.unsent[i].version, rec.unsent[i].changes.clone());
        let body = canonical::build(self.system, shipment, rec, changes);
        let outcome = fan_out(
            &self.ctx.endpoints,
            &targets,
            &mut rec.delivered,
            version,
            self.item,
            &body,
        )
        .await;
        if matches!(outcome, Outcome::Done | Outcome::Noted { .. }) {
            rec.unsent.retain(|u| u.item != item);
        }
        record::save(&self.ctx.store, self.key, rec).await?;
        match outcome {
            Outcome::Done | Outcome::Noted { .. } => Ok(()),
            other => Err(other),
        }
    }
}

/// (fulfillment orders, lines of each) per read of an order's fulfillment orders: most orders
/// fit the first; the last stays within Shopify's 1,000 points per query.
const PAGES: [(u32, u32); 2] = [(5, 20), (8, 50)];

/// Some fulfillment orders or lines of them were left out of the read.
fn truncated(order: &OrderWithFulfillmentOrders) -> bool {
    let fos = &order.fulfillment_orders;
    fos.page_info.has_next_page
        || fos
            .nodes
            .iter()
            .any(|fo| fo.line_items.page_info.has_next_page)
}

/// The shipment's tracking as Shopify should have it: the carrier by Shopify's name.
fn tracking_of(shipment: &Shipment) -> Tracking {
    Tracking {
        company: shipment.carrier.as_deref().map(carrier::normalise),
        numbers: shipment.tracking_numbers.clone(),
        urls: shipment.tracking_urls.clone(),
    }
}

fn tracking_input(t: &Tracking) -> TrackingInput {
    TrackingInput {
        company: t.company.clone(),
        numbers: t.numbers.clone(),
        urls: t.urls.clone(),
    }
}
