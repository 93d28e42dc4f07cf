//! Shipment tracking into Shopify.
//!
//! A WMS or 3PL posts shipments (`POST /api/v1/shipments`, or CSV files in a drop directory;
//! [`inbound`]). Each entry is one item. The flow finds the shipment's order, matches its lines
//! to the order's open fulfillment orders ([`plan`]), and fulfils them with one
//! `fulfillmentCreate` per location, with the tracking (carrier names as Shopify knows them,
//! [`carrier`]) and the customer told. Later entries for the same shipment correct its tracking
//! (`fulfillmentTrackingInfoUpdate`) or add the carrier's status (`fulfillmentEventCreate`),
//! never moving it backwards ([`status`]). What was done goes to the section's targets as the
//! canonical shipment ([`canonical`]).
//!
//! Exactly once: each write is recorded as attempted before it is sent ([`record`]); a retry
//! after a lost answer first looks in Shopify for what that write made. A shipment sent again
//! finds its record and writes nothing.

pub mod canonical;
pub mod carrier;
pub mod inbound;
mod module;
pub mod plan;
pub mod record;
mod ship;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

pub use module::{FulfillmentsConfig, FulfillmentsModule};

use super::stripes::Stripes;
use super::{Flow, FlowContext, Outcome};
use crate::item::Claimed;

/// The flow's name.
pub const FLOW: &str = "fulfillments";

/// How the flow runs, from `[flows.fulfillments]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Endpoints that receive the canonical shipment.
    pub targets: Vec<String>,
    /// Tell the customer of a new fulfillment when the shipment does not say.
    pub notify_customer: bool,
    /// How long a shipment waits for its order to appear in Shopify before it is an exception.
    pub order_wait: Duration,
    /// The system CSV drops come from (their records are keyed under it).
    pub drop_source: String,
}

impl Settings {
    /// The system a shipment's source names: a CSV drop (`csv:FILE`) is the drop source.
    pub fn system<'a>(&'a self, source: &'a str) -> &'a str {
        if source.starts_with("csv:") {
            &self.drop_source
        } else {
            source
        }
    }
}

pub struct FulfillmentsFlow {
    pub settings: Arc<Settings>,
    /// Two entries of one shipment are never worked on at once.
    locks: Stripes,
}

impl FulfillmentsFlow {
    pub fn new(settings: Settings) -> FulfillmentsFlow {
        FulfillmentsFlow {
            settings: Arc::new(settings),
            locks: Stripes::default(),
        }
    }
}

impl Flow for FulfillmentsFlow {
    async fn process(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        let shipment = match inbound::Shipment::decode_payload(&item.payload) {
            Ok(s) => s,
            Err(reason) => return Outcome::Exception { reason },
        };
        let Some(shopify) = &ctx.shopify else {
            return Outcome::Exception {
                reason: "the fulfillments flow needs [shopify] configured".into(),
            };
        };
        let system = self.settings.system(&shipment.source);
        let key = record::key(system, &shipment.id);
        let _guard = self.locks.lock_key(&key).await;
        ship::Ship {
            settings: &self.settings,
            ctx,
            shopify,
            item,
            system,
            key: &key,
        }
        .run(&shipment)
        .await
    }
}
