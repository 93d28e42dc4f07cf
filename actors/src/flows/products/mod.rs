//! Products, both ways.
//!
//! In (PIM/ERP → Shopify): `POST /api/v1/products` entries, and JSON files dropped in
//! `watch_dir`, are product master records; each becomes an item, and the flow writes the whole
//! product with one `productSet` when the record differs from the one last written
//! ([`write`]).
//!
//! Out (Shopify → PIM/ERP): the `products/*` webhooks and a reconciliation poll become items
//! naming a product; the flow reads what Shopify owns of it (tags, SEO, status, collections,
//! publications, metafields) and sends the canonical product (`docs/canonical-product.md`) to
//! the targets when a group the configuration lets Shopify change did change, and not back to
//! the system whose write it was ([`publish`]).
//!
//! Both kinds are batched like the customers flow's: a batch's writes first, its publications
//! after, one batch at a time, so the records need no lock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info, warn};

pub mod canonical;
mod desired;
pub mod inbound;
mod module;
mod publish;
pub mod record;
mod write;

pub use module::{ProductsConfig, ProductsModule};

use super::both_ways::{given, write_then_publish};
use super::reconcile::Reconcile;
use super::write::Owner;
use super::{Batching, Flow, FlowContext, Outcome};
use crate::item::{Claimed, Millis};
use canonical::Group;

/// The flow's name.
pub const FLOW: &str = "products";
/// The kind of the items the reconciliation poll makes (payload `{"id": N}`).
pub const RECONCILE_KIND: &str = "products/reconcile";

pub mod topics {
    pub const CREATE: &str = "products/create";
    pub const UPDATE: &str = "products/update";
    pub const DELETE: &str = "products/delete";
}

/// The dedupe key of one version of a product: a webhook and a poll bringing the same version
/// make one item.
pub fn version_key(product: u64, version: Millis) -> String {
    format!("product:{product}:{version}")
}

/// How the flow runs, from `[flows.products]`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub targets: Vec<String>,
    pub ownership: BTreeMap<Group, Owner>,
    /// The metafield namespace external ids are kept in (key: the system's name).
    pub external_namespace: String,
    /// Products with more variants and images than this are written asynchronously.
    pub async_over: usize,
    /// A batch with at least this many products new to Shopify creates them with one bulk
    /// mutation; 0: never.
    pub bulk_over: usize,
    pub reconcile: Option<Reconcile>,
    pub linger: Duration,
}

impl Settings {
    pub fn owner(&self, group: Group) -> Owner {
        self.ownership
            .get(&group)
            .copied()
            .unwrap_or(Owner::Shopify)
    }

    /// The groups whose changes in Shopify are sent to the targets.
    pub fn delivered_groups(&self) -> Vec<Group> {
        Group::ALL
            .into_iter()
            .filter(|g| self.owner(*g) != Owner::Backoffice)
            .collect()
    }
}

pub struct ProductsFlow {
    pub settings: Arc<Settings>,
}

impl Flow for ProductsFlow {
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
            inbound::KIND_MASTER,
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
            Ok(0) => debug!("products reconciliation: every version is known"),
            Ok(n) => info!(
                products = n,
                "products reconciliation found versions no webhook brought"
            ),
            Err(e) => {
                warn!(error = %e, "products reconciliation poll failed; the next poll retries")
            }
        }
    }
}
