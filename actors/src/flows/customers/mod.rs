//! Customers, both ways.
//!
//! Out (Shopify → CRM, support, finance): the `customers/*` webhooks and a reconciliation poll
//! become items naming a customer; the flow reads the customer's current state from Shopify
//! (the documented webhook payloads lack tags and consent), turns it into the canonical
//! customer (`docs/canonical-customer.md`) and sends it to each target that lacks this version
//! and subscribes to a field group that changed ([`publish`]). A target is not sent the echo
//! of its own write.
//!
//! In (back office → Shopify): `POST /api/v1/customers` entries become items; the flow
//! resolves each entry's customer, compares what it asks with what Shopify has, and writes
//! only the difference with the narrowest mutations, metafields batched across customers
//! ([`write`]). What it wrote goes into the echo log.
//!
//! Both kinds are batched: one batch at a time, its writes first and its publications after,
//! so a publication never reads a customer halfway through a write of this flow, and the
//! records (only this flow writes them) need no lock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info, warn};

pub mod canonical;
pub mod inbound;
mod module;
mod publish;
pub mod record;
pub mod tax;
mod write;

pub use crate::flows::write::Owner;
pub use module::{CustomersConfig, CustomersModule, OnConflict};

use super::both_ways::{given, write_then_publish};
pub use super::reconcile::Reconcile;
use super::{Batching, Flow, FlowContext, Outcome};
use crate::item::{Claimed, Millis};
use canonical::{Group, Mapping};

/// The flow's name.
pub const FLOW: &str = "customers";
/// The kind of the items the reconciliation poll makes (payload `{"id": N}`).
pub const RECONCILE_KIND: &str = "customers/reconcile";

pub mod topics {
    pub const CREATE: &str = "customers/create";
    pub const UPDATE: &str = "customers/update";
    pub const DELETE: &str = "customers/delete";
    pub const ENABLE: &str = "customers/enable";
    pub const DISABLE: &str = "customers/disable";
    pub const MERGE: &str = "customers/merge";
    pub const EMAIL_CONSENT: &str = "customers_email_marketing_consent/update";
    /// SMS consent (Shopify's name for the topic says only "marketing").
    pub const SMS_CONSENT: &str = "customers_marketing_consent/update";
}

/// The dedupe key of one version of a customer: a webhook and a poll bringing the same
/// version make one item.
pub fn version_key(customer: u64, version: Millis) -> String {
    format!("customer:{customer}:{version}")
}

/// How the flow runs, from `[flows.customers]`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub targets: Vec<String>,
    /// Target → the groups whose changes it receives; a target not listed receives all.
    pub subscriptions: BTreeMap<String, BTreeSet<Group>>,
    pub ownership: BTreeMap<Group, Owner>,
    pub on_conflict: OnConflict,
    pub mapping: Mapping,
    pub reconcile: Option<Reconcile>,
    pub linger: Duration,
}

impl Settings {
    pub fn owner(&self, group: Group) -> Owner {
        self.ownership.get(&group).copied().unwrap_or(Owner::Both)
    }

    fn subscribes(&self, target: &str, group: Group) -> bool {
        self.subscriptions
            .get(target)
            .is_none_or(|groups| groups.contains(&group))
    }
}

pub struct CustomersFlow {
    pub settings: Arc<Settings>,
}

impl Flow for CustomersFlow {
    async fn process(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        let mut outcomes = self.process_batch(std::slice::from_ref(item), ctx).await;
        given(outcomes.pop())
    }

    fn batching(&self) -> Option<Batching> {
        Some(Batching {
            linger: self.settings.linger,
        })
    }

    async fn process_batch(&self, items: &[Claimed], ctx: &FlowContext) -> Vec<Outcome> {
        write_then_publish(
            items,
            inbound::KIND_UPDATE,
            |batch| async move { write::apply(&self.settings, ctx, &batch).await },
            |batch| async move { publish::publish(&self.settings, ctx, &batch).await },
        )
        .await
    }

    fn tick_every(&self) -> Option<Duration> {
        self.settings.reconcile.as_ref().map(|r| r.every)
    }

    async fn tick(&self, ctx: &FlowContext) {
        let (Some(reconcile), Some(shopify)) = (&self.settings.reconcile, &ctx.shopify) else {
            return;
        };
        match publish::reconcile(reconcile, shopify, ctx).await {
            Ok(0) => debug!("customers reconciliation: every version is known"),
            Ok(n) => info!(
                customers = n,
                "customers reconciliation found versions no webhook brought"
            ),
            Err(e) => {
                warn!(error = %e, "customers reconciliation poll failed; the next poll retries")
            }
        }
    }
}
