//! `[flows.products]`: products both ways, its section, checks and wiring.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::canonical::Group;
use super::inbound::ProductMasters;
use super::record;
use super::{FLOW, ProductsFlow, Reconcile, Settings, topics, version_key};
use crate::config::{KeyPath, Problems, duration};
use crate::endpoints::DELIVERY_BACKOFF;
use crate::flows::module::{BuildCx, CheckCx, Common, FlowModule, Section, Topic, WebhookHead};
use crate::flows::orders::rules::parse_time;
use crate::flows::write::Owner;
use crate::flows::{FlowSettings, FlowSpec};
use crate::inbound::{DropDir, Inbound, Served, by_system_and_id};
use crate::shopify::gid::ProductId;

pub struct ProductsModule;

/// The section's own keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProductsConfig {
    /// Names of `[endpoints.NAME]` changes made in Shopify go to. An inbound request's
    /// `source` is the name of the target that is that system.
    pub targets: Vec<String>,
    /// Group (`tags`, `seo`, `status`, `collections`, `publications`, `metafields`) →
    /// `shopify` (default: the PIM's value only seeds a new product; Shopify's changes are
    /// sent to the targets), `both` (the PIM's value is written on every change, and
    /// Shopify's changes are sent) or `backoffice` (written, never sent back).
    pub ownership: BTreeMap<String, Owner>,
    /// External ids are kept in metafields of this namespace, keyed by the system's name, so
    /// that `productSet(identifier: {customId})` finds a product after a lost store (give them
    /// a metafield definition with unique values in Shopify).
    pub external_id_namespace: String,
    /// Products with more variants and images than this are written asynchronously.
    pub async_over: u32,
    /// A batch with at least this many products new to Shopify (a first load) creates them
    /// with one `bulkOperationRunMutation` of productSet over a staged JSONL upload, which
    /// Shopify meters as one call; 0: always one productSet each.
    pub bulk_over: u32,
    /// A directory watched for JSON files shaped like a `POST /api/v1/products` body.
    pub watch_dir: Option<PathBuf>,
    #[serde(deserialize_with = "duration::deserialize")]
    pub watch_every: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub reconcile_every: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub reconcile_overlap: Duration,
    /// How long a batch waits after its first item for more.
    #[serde(deserialize_with = "duration::deserialize")]
    pub linger: Duration,
    /// Records accepted in one `POST /api/v1/products`, 1..=5000.
    pub max_entries: u32,
}

impl Default for ProductsConfig {
    fn default() -> Self {
        ProductsConfig {
            targets: Vec::new(),
            ownership: BTreeMap::new(),
            external_id_namespace: "xconnector".into(),
            async_over: 100,
            bulk_over: 20,
            watch_dir: None,
            watch_every: Duration::from_secs(1),
            reconcile_every: Duration::from_secs(300),
            reconcile_overlap: Duration::from_secs(60),
            linger: Duration::from_millis(50),
            max_entries: 500,
        }
    }
}

impl ProductsConfig {
    pub fn settings(&self, shop: Option<&str>) -> Settings {
        Settings {
            targets: self.targets.clone(),
            ownership: self
                .ownership
                .iter()
                .filter_map(|(g, o)| Some((Group::named(g)?, *o)))
                .collect(),
            external_namespace: self.external_id_namespace.clone(),
            async_over: self.async_over as usize,
            bulk_over: self.bulk_over as usize,
            reconcile: shop.map(|shop| Reconcile {
                every: self.reconcile_every,
                overlap: self.reconcile_overlap,
                shop: shop.to_string(),
            }),
            linger: self.linger,
        }
    }
}

/// One version of a product is one item, whichever webhook (or the poll) brought it.
fn product_version(head: &WebhookHead) -> Option<String> {
    let id = ProductId::parse(head.admin_graphql_api_id.as_ref()?.as_str()?).ok()?;
    let at = parse_time(head.updated_at.as_ref()?.as_str()?)?;
    Some(version_key(id.id(), at))
}

const TOPICS: &[Topic] = &[
    Topic::versioned(topics::CREATE, product_version),
    Topic::versioned(topics::UPDATE, product_version),
    Topic::new(topics::DELETE),
];

impl FlowModule for ProductsModule {
    const NAME: &'static str = FLOW;
    const ABOUT: &'static str =
        "products both ways: the PIM's catalogue into Shopify, merchandising back";
    const NEEDS_SHOPIFY: bool = true;
    /// `echo`: a change not sent back to the system whose write it was.
    const EVENTS: &'static [&'static str] = &["echo"];
    type Config = ProductsConfig;

    fn common() -> Common {
        Common {
            concurrency: 64,
            lease: Some(Duration::from_secs(900)),
            max_attempts: 25,
            ..Common::default()
        }
    }

    fn topics() -> &'static [Topic] {
        TOPICS
    }

    fn inbound(section: &Section<ProductsConfig>) -> Vec<Arc<dyn Inbound>> {
        let c = &section.config;
        let drop = DropDir::configured(c.watch_dir.as_deref(), c.watch_every);
        vec![Arc::new(
            Served::<ProductMasters>::new(c.max_entries as usize, drop).with_lookup(
                by_system_and_id(|store, system, id| async move {
                    record::lookup(&store, &system, &id).await
                }),
            ),
        )]
    }

    fn check(section: &Section<ProductsConfig>, cx: &CheckCx<'_>, problems: &mut Problems) {
        let c = &section.config;
        let root = KeyPath::root();
        problems.positive(root.key("reconcile_every"), c.reconcile_every);
        problems.drop_dir(&root, c.watch_dir.as_deref(), c.watch_every);
        problems.targets(&root.key("targets"), &c.targets, cx.endpoints);
        problems.between_1_and(root.key("max_entries"), c.max_entries, 5_000);
        if c.async_over > 2_048 + 250 {
            problems.push(
                root.key("async_over"),
                format!(
                    "must be at most 2298 (2048 variants and 250 images), not {}",
                    c.async_over
                ),
            );
        }
        let groups = Group::names().join(", ");
        for group in c.ownership.keys() {
            if Group::named(group).is_none() {
                problems.push(
                    root.key("ownership").key(group),
                    format!("unknown field group; expected one of {groups}"),
                );
            }
        }
        if c.external_id_namespace.len() < 3 || c.external_id_namespace.len() > 255 {
            problems.push(
                root.key("external_id_namespace"),
                "must be a metafield namespace of 3 to 255 characters",
            );
        }
    }

    fn build(section: &Section<ProductsConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        let settings = FlowSettings {
            backoff: DELIVERY_BACKOFF,
            ..cx.settings(&section.common)
        };
        Some(FlowSpec::new(
            Self::NAME,
            settings,
            ProductsFlow {
                settings: Arc::new(section.config.settings(cx.shop)),
            },
        ))
    }
}
