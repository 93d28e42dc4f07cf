//! The flow registry: the flows this build has, and each `[flows.NAME]` read by its flow's
//! module. The shared keys (`enabled`, `concurrency`, `lease`, `max_attempts`) are read here,
//! once, over the module's defaults; the rest of the section is the module's own type, read
//! with the same line-numbered errors as the rest of the file.

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;
use toml::de::DeValue;
use xconnector_actors::config::KeyPath;
use xconnector_actors::flows::customers::CustomersModule;
use xconnector_actors::flows::exceptions::ExceptionsModule;
use xconnector_actors::flows::fulfillments::FulfillmentsModule;
use xconnector_actors::flows::inventory::InventoryModule;
use xconnector_actors::flows::log::LogModule;
use xconnector_actors::flows::module::{
    Common, Configured, FlowModule, Flows, Loaded, Section, Topic,
};
use xconnector_actors::flows::orders::OrdersModule;
use xconnector_actors::flows::products::ProductsModule;
use xconnector_actors::flows::reporting::module::ReportingModule;
use xconnector_actors::flows::returns::ReturnsModule;

use super::de::{self, DeError, Kind};
use super::duration;

/// Every flow this build can run, in the order they start and are listed.
pub struct Registry {
    modules: Vec<Box<dyn Module>>,
}

impl Registry {
    pub fn empty() -> Registry {
        Registry {
            modules: Vec::new(),
        }
    }

    /// The flows of this build. A new flow is one `.with::<…>()` here.
    pub fn standard() -> Registry {
        Registry::empty()
            .with::<LogModule>()
            .with::<OrdersModule>()
            .with::<ExceptionsModule>()
            .with::<InventoryModule>()
            .with::<CustomersModule>()
            .with::<ProductsModule>()
            .with::<FulfillmentsModule>()
            .with::<ReturnsModule>()
            .with::<ReportingModule>()
    }

    pub fn with<M: FlowModule>(mut self) -> Registry {
        self.modules.push(Box::new(Entry::<M>(PhantomData)));
        self
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.modules.iter().map(|m| m.name()).collect()
    }

    /// Every topic a registered flow consumes, with that flow's name.
    pub fn topics(&self) -> Vec<(&'static str, &'static str)> {
        self.modules
            .iter()
            .flat_map(|m| m.topics().iter().map(|t| (t.name, m.name())))
            .collect()
    }

    fn known_topics(&self) -> BTreeSet<&'static str> {
        self.topics().into_iter().map(|(topic, _)| topic).collect()
    }

    /// The flows named in `names` with every key at its default, as an empty `[flows.NAME]`
    /// section makes them (for the benchmarks and tests that assemble a daemon by hand).
    pub fn defaults(&self, names: &[&str]) -> Flows {
        let sections = self
            .modules
            .iter()
            .filter(|m| names.contains(&m.name()))
            .map(|m| m.defaults())
            .collect();
        Flows::new(sections, self.known_topics())
    }

    /// Reads `flows.*` of `root`: one section per registered flow present, errors for the rest.
    pub(crate) fn load(&self, root: &Spanned<DeValue<'_>>, max_errors: usize) -> Read {
        let mut out = Read {
            flows: Flows::default(),
            errors: Vec::new(),
            skipped: BTreeSet::new(),
        };
        let known_topics = self.known_topics();
        let path = KeyPath::root().key("flows");
        let table = match root.get_ref().get("flows") {
            None => {
                out.flows = Flows::new(Vec::new(), known_topics);
                return out;
            }
            Some(node) => match node.get_ref() {
                DeValue::Table(table) => table,
                _ => {
                    out.errors.push(DeError {
                        path: Some(path.clone()),
                        span: Some(node.span()),
                        kind: Kind::Other("expected a table of flows ([flows.NAME])".into()),
                    });
                    out.flows = Flows::new(Vec::new(), known_topics);
                    return out;
                }
            },
        };
        for (key, _) in table.iter() {
            let name = key.get_ref().as_ref();
            if !self.modules.iter().any(|m| m.name() == name) {
                out.errors.push(DeError {
                    path: Some(path.key(name)),
                    span: Some(key.span()),
                    kind: Kind::UnknownKey {
                        expected: self.names(),
                        noun: "flow",
                    },
                });
            }
        }
        let mut sections = Vec::new();
        for module in &self.modules {
            if let Some(node) = table.get(module.name()) {
                let section = path.key(module.name());
                if let Some(loaded) = module.load(node, &section, max_errors, &mut out) {
                    sections.push(loaded);
                }
            }
        }
        out.flows = Flows::new(sections, known_topics);
        out
    }
}

/// What reading the flow sections gave.
pub(crate) struct Read {
    pub(crate) flows: Flows,
    pub(crate) errors: Vec<DeError>,
    /// Keys dropped during recovery (their values are defaults; later checks skip them).
    pub(crate) skipped: BTreeSet<KeyPath>,
}

/// A registered module with its type erased, so that modules of every kind sit in one list.
trait Module: Send + Sync {
    fn name(&self) -> &'static str;
    fn topics(&self) -> &'static [Topic];
    fn defaults(&self) -> Arc<dyn Configured>;
    fn load(
        &self,
        node: &Spanned<DeValue<'_>>,
        path: &KeyPath,
        max_errors: usize,
        out: &mut Read,
    ) -> Option<Arc<dyn Configured>>;
}

struct Entry<M>(PhantomData<fn() -> M>);

impl<M: FlowModule> Module for Entry<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn topics(&self) -> &'static [Topic] {
        M::topics()
    }

    fn defaults(&self) -> Arc<dyn Configured> {
        Arc::new(Loaded::<M>(Section {
            common: M::common(),
            config: M::Config::default(),
        }))
    }

    fn load(
        &self,
        node: &Spanned<DeValue<'_>>,
        path: &KeyPath,
        max_errors: usize,
        out: &mut Read,
    ) -> Option<Arc<dyn Configured>> {
        let shared = de::deserialize_at::<SharedKeys>(node, path, &[], max_errors);
        let own = de::deserialize_at::<M::Config>(node, path, &Common::KEYS, max_errors);
        out.errors.extend(shared.errors);
        out.skipped.extend(shared.skipped);
        out.skipped.extend(own.skipped);
        for mut error in own.errors {
            // The module's type does not know the shared keys; the reader should hear of them.
            if let Kind::UnknownKey { expected, .. } = &mut error.kind
                && error
                    .path
                    .as_ref()
                    .is_some_and(|p| p == path || p.parent() == *path)
            {
                let mut all = Common::KEYS.to_vec();
                all.append(expected);
                *expected = all;
            }
            out.errors.push(error);
        }
        let (shared, config) = (shared.value?, own.value?);
        let defaults = M::common();
        let common = Common {
            enabled: shared.enabled.unwrap_or(defaults.enabled),
            concurrency: shared.concurrency.unwrap_or(defaults.concurrency),
            lease: shared.lease.or(defaults.lease),
            max_attempts: shared.max_attempts.unwrap_or(defaults.max_attempts),
        };
        Some(Arc::new(Loaded::<M>(Section { common, config })))
    }
}

/// The shared keys as written; unset ones take the module's defaults.
#[derive(Default, Deserialize)]
#[serde(default)]
struct SharedKeys {
    enabled: Option<bool>,
    concurrency: Option<u32>,
    #[serde(deserialize_with = "duration::deserialize_option")]
    lease: Option<Duration>,
    max_attempts: Option<u32>,
}

/// `Config::flows` while the rest of the file is read: the registry reads the sections after.
pub(crate) fn placeholder<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Flows, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer)?;
    Ok(Flows::default())
}
