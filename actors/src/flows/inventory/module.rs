//! `[flows.inventory]`: stock feeds from the back office into Shopify.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::inbound::StockFeed;
use super::kind;
use super::{InventoryFlow, InventorySettings};
use crate::config::{KeyPath, Problems, duration};
use crate::flows::FlowSpec;
use crate::flows::module::{BuildCx, CheckCx, Common, FlowModule, Section, Topic};
use crate::inbound::{DropDir, Inbound, Served};

pub struct InventoryModule;

/// The section's own keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InventoryConfig {
    /// `reason` of every `inventorySetQuantities` call.
    pub reason: String,
    /// Quantities per `inventorySetQuantities` call, 1..=250.
    pub batch_size: u32,
    /// SKUs per `productVariants` lookup, 1..=50.
    pub lookup_batch: u32,
    /// Unknown SKUs in one round from which the SKU map is warmed by a bulk query; 0 = never.
    pub bulk_threshold: u32,
    /// How long a batch waits after its first chunk for more before its round starts.
    #[serde(deserialize_with = "duration::deserialize")]
    pub linger: Duration,
    /// Levels accepted in one `POST /api/v1/inventory`, 1..=100000.
    pub max_levels: u32,
    /// A directory watched for CSV drops (`sku,location,available[,as_of]`); none if unset.
    pub watch_dir: Option<PathBuf>,
    /// How often the watch directory is scanned.
    #[serde(deserialize_with = "duration::deserialize")]
    pub watch_every: Duration,
    /// Back-office location name → Shopify location id (the number of its GID); other names
    /// are matched against Shopify's active locations by name.
    pub locations: BTreeMap<String, u64>,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            reason: "correction".into(),
            batch_size: 250,
            lookup_batch: 50,
            bulk_threshold: 500,
            linger: Duration::from_millis(100),
            max_levels: 100_000,
            watch_dir: None,
            watch_every: Duration::from_secs(1),
            locations: BTreeMap::new(),
        }
    }
}

impl InventoryConfig {
    /// How the flow works with this section.
    pub fn settings(&self) -> InventorySettings {
        InventorySettings {
            reason: self.reason.clone(),
            locations: self.locations.clone(),
            batch_size: self.batch_size as usize,
            lookup_batch: self.lookup_batch as usize,
            bulk_threshold: self.bulk_threshold as usize,
            linger: self.linger,
            ..InventorySettings::default()
        }
    }
}

const TOPICS: &[Topic] = &[
    Topic::new(kind::LEVELS_UPDATE),
    Topic::new(kind::ITEMS_UPDATE),
    Topic::new(kind::BULK_FINISH),
];

impl FlowModule for InventoryModule {
    const NAME: &'static str = "inventory";
    const ABOUT: &'static str = "back-office stock levels into Shopify";
    const NEEDS_SHOPIFY: bool = true;
    /// `inventory_levels/update` webhooks: echoes of our writes, and changes made in Shopify.
    const EVENTS: &'static [&'static str] = &["echo", "changed_in_shopify"];
    type Config = InventoryConfig;

    /// Its items (feed chunks) are batched: up to `concurrency` join one round of writes, under a
    /// lease long enough for the round.
    fn common() -> Common {
        Common {
            concurrency: 256,
            lease: Some(Duration::from_secs(600)),
            max_attempts: 10,
            ..Common::default()
        }
    }

    fn topics() -> &'static [Topic] {
        TOPICS
    }

    fn inbound(section: &Section<InventoryConfig>) -> Vec<Arc<dyn Inbound>> {
        let c = &section.config;
        let drop = DropDir::configured(c.watch_dir.as_deref(), c.watch_every);
        vec![Arc::new(Served::<StockFeed>::new(
            c.max_levels as usize,
            drop,
        ))]
    }

    fn check(section: &Section<InventoryConfig>, _cx: &CheckCx<'_>, problems: &mut Problems) {
        let inventory = &section.config;
        let path = KeyPath::root();
        problems.drop_dir(&path, inventory.watch_dir.as_deref(), inventory.watch_every);
        for (key, value, max) in [
            ("batch_size", inventory.batch_size, 250),
            ("lookup_batch", inventory.lookup_batch, 50),
            ("max_levels", inventory.max_levels, 100_000),
        ] {
            problems.between_1_and(path.key(key), value, max);
        }
        if inventory.reason.trim().is_empty() {
            problems.push(path.key("reason"), "must not be empty");
        }
        for (name, id) in &inventory.locations {
            if name.trim().is_empty() || *id == 0 {
                problems.push(
                    path.key("locations"),
                    format!("{name:?} = {id}: a location needs a name and a Shopify location id (the number at the end of its gid://shopify/Location/…)"),
                );
            }
        }
    }

    fn build(section: &Section<InventoryConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        Some(FlowSpec::new(
            Self::NAME,
            cx.settings(&section.common),
            InventoryFlow::new(section.config.settings()),
        ))
    }
}
