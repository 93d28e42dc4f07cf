//! `[flows.inventory]`: stock feeds from the back office into Shopify.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use super::inbound::StockFeed;
use super::kind;
use super::{InventoryFlow, InventorySettings};
use crate::config::{KeyPath, Problems, duration};
use crate::flows::FlowSpec;
use crate::flows::module::{BuildCx, CheckCx, Common, FlowModule, Section, Topic};
use crate::inbound::{DropDir, Inbound, Served};
use crate::shopify::gid::LocationId;

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
    /// are matched against Shopify's active locations by name. The file may give the whole GID,
    /// the number, or the number as a string.
    #[serde(deserialize_with = "location_ids")]
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

/// What a `[flows.inventory.locations]` value may be, for the message when it is none of them.
const LOCATION_FORMS: &str = "a Shopify location id: its GID (\"gid://shopify/Location/1001\") \
                              or the number at its end (1001 or \"1001\")";

/// `[flows.inventory.locations]`: each value a location's GID or its number. The Admin API gives
/// the GID, the admin's URL for a location the number; either is taken as pasted.
fn location_ids<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, u64>, D::Error> {
    let ids = BTreeMap::<String, ConfiguredLocation>::deserialize(d)?;
    Ok(ids.into_iter().map(|(name, id)| (name, id.0)).collect())
}

/// One value of `[flows.inventory.locations]`, read into the number of its GID.
struct ConfiguredLocation(u64);

impl<'de> Deserialize<'de> for ConfiguredLocation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LocationVisitor)
    }
}

struct LocationVisitor;

impl LocationVisitor {
    fn id<E: de::Error>(
        id: Option<u64>,
        shown: &dyn fmt::Display,
    ) -> Result<ConfiguredLocation, E> {
        match id {
            Some(id) if id > 0 => Ok(ConfiguredLocation(id)),
            _ => Err(E::custom(format!("{shown} is not {LOCATION_FORMS}"))),
        }
    }
}

impl<'de> Visitor<'de> for LocationVisitor {
    type Value = ConfiguredLocation;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(LOCATION_FORMS)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConfiguredLocation, E> {
        Self::id(u64::try_from(v).ok(), &v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConfiguredLocation, E> {
        Self::id(Some(v), &v)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<ConfiguredLocation, E> {
        Self::id(u64::try_from(v).ok(), &v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfiguredLocation, E> {
        let id = if v.starts_with("gid:") {
            LocationId::parse(v).ok().map(|gid| gid.id())
        } else if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse().ok()
        } else {
            None
        };
        Self::id(id, &format_args!("{v:?}"))
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
        // Ids were checked as they were read; only the names are left.
        for name in inventory.locations.keys() {
            if name.trim().is_empty() {
                problems.push(
                    path.key("locations").key(name),
                    "a location needs a name (the back office's name for it)",
                );
            }
        }
    }

    fn build(section: &Section<InventoryConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        Some(FlowSpec::new(
            Self::NAME,
            cx.settings(&section.common),
            InventoryFlow::new(InventorySettings {
                count_in_reports: cx
                    .flows
                    .enabled::<crate::flows::reporting::module::ReportingModule>()
                    .is_some(),
                ..section.config.settings()
            }),
        ))
    }
}
