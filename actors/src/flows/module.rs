//! The plug-in point. A flow is a [`FlowModule`]: its name, its `[flows.NAME]` section, the
//! webhook topics it consumes, the inbound API resources it serves, the checks its section needs and how it becomes a running
//! [`FlowSpec`]. The binary's registry lists the modules; [`Flows`] is what one configuration
//! made of them, and the daemon, config validation, webhook routing, `/metrics` and the console
//! all read it. Adding a flow is one folder under `flows/` and one line in the registry.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{FlowSettings, FlowSpec};
use crate::config::{KeyPath, Problems};
use crate::inbound::Inbound;

/// A flow, as the registry knows it.
pub trait FlowModule: Send + Sync + 'static {
    /// `[flows.NAME]`, and the flow's name in the store, status, metrics and logs.
    const NAME: &'static str;
    /// What the flow does, in a line (status, console).
    const ABOUT: &'static str;
    /// The flow needs a `[shopify]` section to run.
    const NEEDS_SHOPIFY: bool = false;
    /// The events it counts with `FlowContext::events` (`xconnector_flow_events_total`).
    const EVENTS: &'static [&'static str] = &[];
    /// The section's own keys; the shared ones ([`Common`]) are read once, by the registry.
    type Config: DeserializeOwned + Default + Clone + fmt::Debug + Send + Sync + 'static;

    /// This flow's defaults for the shared keys.
    fn common() -> Common {
        Common::default()
    }

    /// The webhook topics the flow consumes: each delivery of one becomes an item of this flow.
    fn topics() -> &'static [Topic] {
        &[]
    }

    /// The inbound API resources the flow serves (`POST /api/v1/{path}`, CSV drops), for an
    /// enabled section.
    fn inbound(section: &Section<Self::Config>) -> Vec<Arc<dyn Inbound>> {
        let _ = section;
        Vec::new()
    }

    /// Checks needing more than one value's type (ranges, references to endpoints or other
    /// flows). Paths are relative to the section.
    fn check(section: &Section<Self::Config>, cx: &CheckCx<'_>, problems: &mut Problems) {
        let _ = (section, cx, problems);
    }

    /// The running flow, for an enabled section that passed its checks; `None` when there is
    /// nothing to run (the flow it serves is off).
    fn build(section: &Section<Self::Config>, cx: &mut BuildCx<'_>) -> Option<FlowSpec>;
}

/// The keys every `[flows.NAME]` has, written once and defaulted per flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    pub enabled: bool,
    /// Items processed at once, 1..=1024.
    pub concurrency: u32,
    /// How long a claimed item stays invisible to other claims; `None`: `store.lease`.
    pub lease: Option<Duration>,
    /// Attempts before a transient failure becomes an exception, >= 1.
    pub max_attempts: u32,
}

impl Common {
    /// The shared keys, as they are spelled in a section.
    pub const KEYS: [&'static str; 4] = ["enabled", "concurrency", "lease", "max_attempts"];
}

impl Default for Common {
    fn default() -> Self {
        Common {
            enabled: true,
            concurrency: 8,
            lease: None,
            max_attempts: 10,
        }
    }
}

/// `[flows.NAME]` as read: the shared keys and the flow's own.
#[derive(Debug, Clone)]
pub struct Section<C> {
    pub common: Common,
    pub config: C,
}

/// A webhook topic a flow consumes.
pub struct Topic {
    /// As in `X-Shopify-Topic`: `orders/create`.
    pub name: &'static str,
    /// The dedupe key of what the payload describes (one version of one order), so that the
    /// same change arriving by several topics is stored once. `None`: each delivery is its own.
    pub version: Option<fn(&WebhookHead) -> Option<String>>,
}

impl Topic {
    pub const fn new(name: &'static str) -> Topic {
        Topic {
            name,
            version: None,
        }
    }

    pub const fn versioned(
        name: &'static str,
        version: fn(&WebhookHead) -> Option<String>,
    ) -> Topic {
        Topic {
            name,
            version: Some(version),
        }
    }
}

/// The top-level fields of a webhook payload that name what it is about; the intake reads only
/// these, without building a tree of a 20 KiB order.
#[derive(Debug, Default, serde::Deserialize)]
pub struct WebhookHead {
    #[serde(default)]
    pub name: Option<serde_json::Value>,
    #[serde(default)]
    pub admin_graphql_api_id: Option<serde_json::Value>,
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    pub updated_at: Option<serde_json::Value>,
}

/// What a check can look at beyond its own section.
pub struct CheckCx<'a> {
    /// `[shopify]` is configured.
    pub shopify: bool,
    /// The `[endpoints.NAME]` tables present in the file, valid or not.
    pub endpoints: &'a BTreeSet<String>,
    /// Every configured flow.
    pub flows: &'a Flows,
}

/// What building a flow can use: the other sections, the store-wide defaults, and things the
/// flows of one configuration share (created by the first that asks).
pub struct BuildCx<'a> {
    pub flows: &'a Flows,
    /// `store.lease`: the lease of a flow that does not set its own.
    pub store_lease: Duration,
    /// `[shopify] shop_domain`, when configured.
    pub shop: Option<&'a str>,
    shared: BTreeMap<&'static str, Arc<dyn Any + Send + Sync>>,
}

impl<'a> BuildCx<'a> {
    pub fn new(flows: &'a Flows, store_lease: Duration, shop: Option<&'a str>) -> BuildCx<'a> {
        BuildCx {
            flows,
            store_lease,
            shop,
            shared: BTreeMap::new(),
        }
    }

    /// The settings the shared keys make, over the framework's defaults.
    pub fn settings(&self, common: &Common) -> FlowSettings {
        FlowSettings {
            concurrency: common.concurrency as usize,
            lease: common.lease.unwrap_or(self.store_lease),
            max_attempts: common.max_attempts,
            ..FlowSettings::default()
        }
    }

    /// Makes `value` the `T` that [`BuildCx::shared`] gives: something the daemon made and
    /// keeps using (the shop's clock), shared with the flows it builds.
    pub fn share<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.shared.insert(std::any::type_name::<T>(), value);
    }

    /// One `T` for every flow of this configuration that asks for it.
    pub fn shared<T: Default + Send + Sync + 'static>(&mut self) -> Arc<T> {
        let entry = self
            .shared
            .entry(std::any::type_name::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        // The key is T's own name, so the downcast cannot miss; a fresh value if it ever did.
        entry.clone().downcast::<T>().unwrap_or_default()
    }
}

/// A section read for a registered module, with its type erased so that flows of every kind
/// sit in one list.
pub trait Configured: Send + Sync + fmt::Debug {
    fn name(&self) -> &'static str;
    fn about(&self) -> &'static str;
    fn common(&self) -> &Common;
    fn topics(&self) -> &'static [Topic];
    fn inbound(&self) -> Vec<Arc<dyn Inbound>>;
    fn check(&self, cx: &CheckCx<'_>, problems: &mut Problems);
    fn build(&self, cx: &mut BuildCx<'_>) -> Option<FlowSpec>;
    fn as_any(&self) -> &dyn Any;
}

/// A module's section; made by the registry.
pub struct Loaded<M: FlowModule>(pub Section<M::Config>);

impl<M: FlowModule> fmt::Debug for Loaded<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(M::NAME)
            .field("common", &self.0.common)
            .field("config", &self.0.config)
            .finish()
    }
}

impl<M: FlowModule> Configured for Loaded<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn about(&self) -> &'static str {
        M::ABOUT
    }

    fn common(&self) -> &Common {
        &self.0.common
    }

    fn topics(&self) -> &'static [Topic] {
        M::topics()
    }

    fn inbound(&self) -> Vec<Arc<dyn Inbound>> {
        M::inbound(&self.0)
    }

    fn check(&self, cx: &CheckCx<'_>, problems: &mut Problems) {
        let c = &self.0.common;
        let root = KeyPath::root();
        if c.enabled && M::NEEDS_SHOPIFY && !cx.shopify {
            problems.push(
                root.clone(),
                format!(
                    "the {} flow needs a [shopify] section (or set enabled = false)",
                    M::NAME
                ),
            );
        }
        problems.concurrency(root.key("concurrency"), c.concurrency);
        problems.max_attempts(root.key("max_attempts"), c.max_attempts);
        if let Some(lease) = c.lease {
            problems.positive(root.key("lease"), lease);
        }
        M::check(&self.0, cx, problems);
    }

    fn build(&self, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        M::build(&self.0, cx).map(|spec| FlowSpec {
            events: M::EVENTS,
            ..spec
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The flows one configuration describes: every `[flows.NAME]` section, in registry order,
/// and the topics of every registered flow (a topic no registered flow consumes is unknown; one
/// whose flow is not enabled is only unrouted).
#[derive(Clone, Default, Debug)]
pub struct Flows {
    sections: Vec<Arc<dyn Configured>>,
    known_topics: BTreeSet<&'static str>,
}

impl Flows {
    pub fn new(sections: Vec<Arc<dyn Configured>>, known_topics: BTreeSet<&'static str>) -> Flows {
        Flows {
            sections,
            known_topics,
        }
    }

    /// `M`'s section, when the file has one.
    pub fn get<M: FlowModule>(&self) -> Option<&Section<M::Config>> {
        self.sections
            .iter()
            .find_map(|s| s.as_any().downcast_ref::<Loaded<M>>())
            .map(|l| &l.0)
    }

    /// `M`'s section, when the file has one that is enabled.
    pub fn enabled<M: FlowModule>(&self) -> Option<&Section<M::Config>> {
        self.get::<M>().filter(|s| s.common.enabled)
    }

    pub fn sections(&self) -> impl Iterator<Item = &Arc<dyn Configured>> {
        self.sections.iter()
    }

    /// The section named `name`.
    pub fn named(&self, name: &str) -> Option<&Arc<dyn Configured>> {
        self.sections.iter().find(|s| s.name() == name)
    }

    pub fn is_known_topic(&self, topic: &str) -> bool {
        self.known_topics.contains(topic)
    }

    /// Every check of every section; paths are under `flows.NAME`.
    pub fn check(&self, shopify: bool, endpoints: &BTreeSet<String>) -> Problems {
        let cx = CheckCx {
            shopify,
            endpoints,
            flows: self,
        };
        let mut all = Problems::new();
        for section in &self.sections {
            let mut problems = Problems::under(KeyPath::root().key("flows").key(section.name()));
            section.check(&cx, &mut problems);
            all.extend(problems);
        }
        all
    }

    /// The flows to run: every enabled section that has something to run.
    pub fn build(&self, store_lease: Duration, shop: Option<&str>) -> Vec<FlowSpec> {
        self.build_in(&mut BuildCx::new(self, store_lease, shop))
    }

    /// [`Flows::build`] in a context the caller prepared (with values it [shares](BuildCx::share)).
    pub fn build_in(&self, cx: &mut BuildCx<'_>) -> Vec<FlowSpec> {
        self.sections
            .iter()
            .filter(|s| s.common().enabled)
            .filter_map(|s| s.build(cx))
            .collect()
    }

    /// The inbound API resources of the enabled flows.
    pub fn inbound(&self) -> Vec<Arc<dyn Inbound>> {
        self.sections
            .iter()
            .filter(|s| s.common().enabled)
            .flat_map(|s| s.inbound())
            .collect()
    }

    /// Topic → the enabled flow consuming it.
    pub fn routes(&self) -> BTreeMap<&'static str, (&'static str, &'static Topic)> {
        let mut routes = BTreeMap::new();
        for section in self.sections.iter().filter(|s| s.common().enabled) {
            for topic in section.topics() {
                routes.insert(topic.name, (section.name(), topic));
            }
        }
        routes
    }
}
