//! `[flows.fulfillments]`: shipment tracking into Shopify, its section, checks and wiring.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::inbound::Shipments;
use super::{FLOW, FulfillmentsFlow, Settings, record};
use crate::config::{KeyPath, Problems, duration};
use crate::endpoints::DELIVERY_BACKOFF;
use crate::flows::module::{BuildCx, CheckCx, Common, FlowModule, Section};
use crate::flows::{FlowSettings, FlowSpec};
use crate::inbound::{DropDir, Inbound, Served, by_system_and_id};

pub struct FulfillmentsModule;

/// The section's own keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FulfillmentsConfig {
    /// Names of `[endpoints.NAME]` that receive the canonical shipment (support, so agents see
    /// tracking). The system that sent a shipment is not sent it back.
    pub targets: Vec<String>,
    /// Tell the customer of a new fulfillment when a shipment does not say.
    pub notify_customer: bool,
    /// How long a shipment waits for its order to reach Shopify (or a status for its shipment)
    /// before it becomes an exception.
    #[serde(deserialize_with = "duration::deserialize")]
    pub order_wait: Duration,
    /// A directory watched for CSV (or JSON) shipment files; none if unset.
    pub watch_dir: Option<PathBuf>,
    #[serde(deserialize_with = "duration::deserialize")]
    pub watch_every: Duration,
    /// The system whose shipments arrive as drops (a shipment id is that system's).
    pub drop_source: String,
    /// Entries accepted in one `POST /api/v1/shipments`, 1..=10000.
    pub max_entries: u32,
}

impl Default for FulfillmentsConfig {
    fn default() -> Self {
        FulfillmentsConfig {
            targets: Vec::new(),
            notify_customer: true,
            order_wait: Duration::from_secs(30 * 60),
            watch_dir: None,
            watch_every: Duration::from_secs(1),
            drop_source: "3pl".into(),
            max_entries: 1_000,
        }
    }
}

impl FulfillmentsConfig {
    pub fn settings(&self) -> Settings {
        Settings {
            targets: self.targets.clone(),
            notify_customer: self.notify_customer,
            order_wait: self.order_wait,
            drop_source: self.drop_source.clone(),
        }
    }
}

impl FlowModule for FulfillmentsModule {
    const NAME: &'static str = FLOW;
    const ABOUT: &'static str =
        "shipments from the WMS/3PL into Shopify as fulfillments with tracking and carrier status";
    const NEEDS_SHOPIFY: bool = true;
    /// `stale_status`: a carrier status older than the one the shipment has, not given.
    const EVENTS: &'static [&'static str] = &["stale_status"];
    type Config = FulfillmentsConfig;

    fn common() -> Common {
        Common {
            concurrency: 32,
            lease: Some(Duration::from_secs(300)),
            // Waiting for an order (order_wait) retries about 25 times in 30 minutes.
            max_attempts: 60,
            ..Common::default()
        }
    }

    fn inbound(section: &Section<FulfillmentsConfig>) -> Vec<Arc<dyn Inbound>> {
        let c = &section.config;
        let drop = DropDir::configured(c.watch_dir.as_deref(), c.watch_every);
        vec![Arc::new(
            Served::<Shipments>::new(c.max_entries as usize, drop).with_lookup(by_system_and_id(
                |store, system, id| async move { record::lookup(&store, &system, &id).await },
            )),
        )]
    }

    fn check(section: &Section<FulfillmentsConfig>, cx: &CheckCx<'_>, problems: &mut Problems) {
        let c = &section.config;
        let root = KeyPath::root();
        problems.positive(root.key("order_wait"), c.order_wait);
        problems.drop_dir(&root, c.watch_dir.as_deref(), c.watch_every);
        problems.targets(&root.key("targets"), &c.targets, cx.endpoints);
        problems.between_1_and(root.key("max_entries"), c.max_entries, 10_000);
        if c.drop_source.trim().is_empty() {
            problems.push(root.key("drop_source"), "must name a system");
        }
    }

    fn build(section: &Section<FulfillmentsConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        let settings = FlowSettings {
            backoff: DELIVERY_BACKOFF,
            ..cx.settings(&section.common)
        };
        Some(FlowSpec::new(
            Self::NAME,
            settings,
            FulfillmentsFlow::new(section.config.settings()),
        ))
    }
}
