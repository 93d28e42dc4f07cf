//! `[flows.customers]`: customers both ways, its section, checks and wiring.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::canonical::{Group, Mapping};
use super::inbound::{CustomerUpdates, Update};
use super::record;
use super::{CustomersFlow, FLOW, Reconcile, Settings, topics, version_key};
use crate::config::{KeyPath, Problems, duration};
use crate::endpoints::DELIVERY_BACKOFF;
use crate::flows::module::{BuildCx, CheckCx, Common, FlowModule, Section, Topic, WebhookHead};
use crate::flows::orders::rules::parse_time;
use crate::flows::write::Owner;
use crate::flows::{FlowSettings, FlowSpec};
use crate::inbound::{Accepted, Inbound, Report, Served, by_system_and_id};
use crate::shopify::gid::CustomerId;

pub struct CustomersModule;

/// What a conflict does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Delivered with `conflicts` set, and counted.
    #[default]
    Flag,
    /// Also held as an exception for a person.
    Hold,
}

/// `[flows.customers.inbound]`: how the back office's attributes map onto Shopify's fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboundMapping {
    /// `account_status = "active"` is the tag `{status_prefix}active`, replacing the other
    /// tags with that prefix (only those).
    pub status_prefix: String,
    /// The segment as a tag with this prefix …
    pub segment_prefix: String,
    /// … or, when set, as this metafield (`namespace.key`).
    pub segment_metafield: Option<String>,
    /// External ids are kept in metafields of this namespace, keyed by the system's name, so
    /// the mapping survives a lost store (`customerByIdentifier(customId:)` finds them; give
    /// them a metafield definition with unique values in Shopify).
    pub external_id_namespace: String,
}

impl Default for InboundMapping {
    fn default() -> Self {
        let m = Mapping::default();
        InboundMapping {
            status_prefix: m.status_prefix,
            segment_prefix: m.segment_prefix,
            segment_metafield: None,
            external_id_namespace: m.external_namespace,
        }
    }
}

/// The section's own keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomersConfig {
    /// Names of `[endpoints.NAME]` each customer change goes to. An inbound request's
    /// `source` is the name of the target that is that system.
    pub targets: Vec<String>,
    /// Target → the field groups whose changes it receives; a target not listed gets every
    /// change.
    pub subscriptions: BTreeMap<String, Vec<String>>,
    /// Field group → `shopify`, `backoffice` or `both`.
    pub ownership: BTreeMap<String, Owner>,
    pub on_conflict: OnConflict,
    #[serde(deserialize_with = "duration::deserialize")]
    pub reconcile_every: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub reconcile_overlap: Duration,
    /// How long a batch waits after its first item for more.
    #[serde(deserialize_with = "duration::deserialize")]
    pub linger: Duration,
    /// Entries accepted in one `POST /api/v1/customers`, 1..=10000.
    pub max_entries: u32,
    pub inbound: InboundMapping,
}

impl Default for CustomersConfig {
    fn default() -> Self {
        CustomersConfig {
            targets: Vec::new(),
            subscriptions: BTreeMap::new(),
            ownership: BTreeMap::new(),
            on_conflict: OnConflict::Flag,
            reconcile_every: Duration::from_secs(300),
            reconcile_overlap: Duration::from_secs(60),
            linger: Duration::from_millis(50),
            max_entries: 1_000,
            inbound: InboundMapping::default(),
        }
    }
}

/// Who owns what when the section does not say.
pub fn default_owner(group: Group) -> Owner {
    match group {
        Group::Identity | Group::Addresses | Group::State | Group::Stats => Owner::Shopify,
        Group::AccountStatus | Group::Segment | Group::Tax => Owner::Backoffice,
        Group::Tags | Group::Note | Group::Metafields | Group::Marketing => Owner::Both,
    }
}

impl CustomersConfig {
    pub fn settings(&self, shop: Option<&str>) -> Settings {
        let ownership = Group::ALL
            .into_iter()
            .map(|g| {
                let owner = self
                    .ownership
                    .get(g.name())
                    .copied()
                    .unwrap_or(default_owner(g));
                (g, owner)
            })
            .collect();
        let subscriptions = self
            .subscriptions
            .iter()
            .map(|(t, groups)| {
                (
                    t.clone(),
                    groups.iter().filter_map(|g| Group::named(g)).collect(),
                )
            })
            .collect();
        let m = &self.inbound;
        Settings {
            targets: self.targets.clone(),
            subscriptions,
            ownership,
            on_conflict: self.on_conflict,
            mapping: Mapping {
                status_prefix: m.status_prefix.clone(),
                segment_prefix: m.segment_prefix.clone(),
                segment_metafield: m.segment_metafield.as_deref().and_then(split_metafield),
                external_namespace: m.external_id_namespace.clone(),
            },
            reconcile: shop.map(|shop| Reconcile {
                every: self.reconcile_every,
                overlap: self.reconcile_overlap,
                shop: shop.to_string(),
            }),
            linger: self.linger,
        }
    }
}

fn split_metafield(text: &str) -> Option<(String, String)> {
    let (ns, key) = text.split_once('.')?;
    (ns.len() >= 3 && key.len() >= 2 && !key.contains('.'))
        .then(|| (ns.to_string(), key.to_string()))
}

/// One version of a customer is one item, whichever webhook (or the poll) brought it.
fn customer_version(head: &WebhookHead) -> Option<String> {
    let id = CustomerId::parse(head.admin_graphql_api_id.as_ref()?.as_str()?).ok()?;
    let at = parse_time(head.updated_at.as_ref()?.as_str()?)?;
    Some(version_key(id.id(), at))
}

const TOPICS: &[Topic] = &[
    Topic::versioned(topics::CREATE, customer_version),
    Topic::versioned(topics::UPDATE, customer_version),
    Topic::versioned(topics::ENABLE, customer_version),
    Topic::versioned(topics::DISABLE, customer_version),
    Topic::new(topics::DELETE),
    Topic::new(topics::MERGE),
    Topic::new(topics::EMAIL_CONSENT),
    Topic::new(topics::SMS_CONSENT),
];

/// The request fields of each group, for the ownership check's messages.
fn fields_of(group: &str) -> &'static [&'static str] {
    match group {
        "tags" => &["tags_add", "tags_remove"],
        "tax" => &["tax_exempt", "tax_exemptions"],
        "marketing" => &["email_marketing"],
        "account_status" => &["account_status"],
        "segment" => &["segment"],
        "note" => &["note"],
        "metafields" => &["metafields"],
        _ => &[],
    }
}

/// Refuses entries that change what Shopify owns.
fn ownership_check(settings: Arc<Settings>) -> crate::inbound::Check<CustomerUpdates> {
    Arc::new(
        move |request: &Accepted<CustomerUpdates>, report: &mut Report| {
            for (i, u) in request.entries.iter().enumerate() {
                check_entry(&settings, i, u, report);
            }
        },
    )
}

fn check_entry(settings: &Settings, i: usize, u: &Update, report: &mut Report) {
    for group in u.touches() {
        let Some(g) = Group::named(group) else {
            continue;
        };
        if settings.owner(g) == Owner::Shopify {
            let field = fields_of(group).join("/");
            report.push(format!(
                "customers[{i}].{field}: owned by Shopify ([flows.customers.ownership] {group} = \"shopify\"); the back office cannot change it"
            ));
        }
    }
}

impl FlowModule for CustomersModule {
    const NAME: &'static str = FLOW;
    const ABOUT: &'static str =
        "customers both ways: Shopify to CRM/support/finance, attributes back";
    const NEEDS_SHOPIFY: bool = true;
    /// `echo`: a change not sent back to the system whose write it was; `conflict`: Shopify
    /// changed a field the back office owns; `protected_data_null`: a customer published
    /// without name, email or phone (Shopify withholds protected data without approval);
    /// `stale_skipped`: a field change older than Shopify's newest, not written.
    const EVENTS: &'static [&'static str] =
        &["echo", "conflict", "protected_data_null", "stale_skipped"];
    type Config = CustomersConfig;

    fn common() -> Common {
        Common {
            concurrency: 256,
            lease: Some(Duration::from_secs(600)),
            max_attempts: 25,
            ..Common::default()
        }
    }

    fn topics() -> &'static [Topic] {
        TOPICS
    }

    fn inbound(section: &Section<CustomersConfig>) -> Vec<Arc<dyn Inbound>> {
        let settings = Arc::new(section.config.settings(None));
        vec![Arc::new(
            Served::<CustomerUpdates>::new(section.config.max_entries as usize, None)
                .with_check(ownership_check(settings))
                .with_lookup(by_system_and_id(|store, system, id| async move {
                    record::lookup(&store, &system, &id).await
                })),
        )]
    }

    fn check(section: &Section<CustomersConfig>, cx: &CheckCx<'_>, problems: &mut Problems) {
        let c = &section.config;
        let root = KeyPath::root();
        problems.positive(root.key("reconcile_every"), c.reconcile_every);
        problems.targets(&root.key("targets"), &c.targets, cx.endpoints);
        problems.between_1_and(root.key("max_entries"), c.max_entries, 10_000);
        let groups = Group::names().join(", ");
        for (target, subscribed) in &c.subscriptions {
            let path = root.key("subscriptions").key(target);
            if !c.targets.contains(target) {
                problems.push(path.clone(), format!("{target:?} is not one of targets"));
            }
            for (i, g) in subscribed.iter().enumerate() {
                if Group::named(g).is_none() {
                    problems.push_at(
                        path.clone(),
                        vec![path.index(i)],
                        format!("unknown field group {g:?}; expected one of {groups}"),
                    );
                }
            }
        }
        for group in c.ownership.keys() {
            if Group::named(group).is_none() {
                problems.push(
                    root.key("ownership").key(group),
                    format!("unknown field group; expected one of {groups}"),
                );
            }
        }
        let m = &c.inbound;
        let inbound = root.key("inbound");
        for (key, value) in [
            ("status_prefix", &m.status_prefix),
            ("segment_prefix", &m.segment_prefix),
        ] {
            if value.trim().is_empty() || value.contains(',') {
                problems.push(
                    inbound.key(key),
                    "must be a non-empty tag prefix without commas",
                );
            }
        }
        if m.external_id_namespace.len() < 3 {
            problems.push(
                inbound.key("external_id_namespace"),
                "must be a metafield namespace of 3 to 255 characters",
            );
        }
        if let Some(s) = &m.segment_metafield
            && split_metafield(s).is_none()
        {
            problems.push(
                inbound.key("segment_metafield"),
                format!("{s:?}: expected namespace.key (namespace 3+ characters, key 2+)"),
            );
        }
    }

    fn build(section: &Section<CustomersConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        let settings = FlowSettings {
            backoff: DELIVERY_BACKOFF,
            ..cx.settings(&section.common)
        };
        Some(FlowSpec::new(
            Self::NAME,
            settings,
            CustomersFlow {
                settings: Arc::new(section.config.settings(cx.shop)),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_to_what_shopify_owns_is_refused_by_name() {
        let mut config = CustomersConfig::default();
        config.ownership.insert("note".into(), Owner::Shopify);
        let served = Served::<CustomerUpdates>::new(100, None)
            .with_check(ownership_check(Arc::new(config.settings(None))));
        let body = br#"{"source": "crm", "customers": [
            {"ref": {"email": "a@b.c"}, "tags_add": ["x"]},
            {"ref": {"email": "a@b.c"}, "note": "mine"}]}"#;
        let report = served.json(&mut body.as_slice(), 0, &[]).err().unwrap();
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert!(
            report.errors[0].starts_with("customers[1].note: owned by Shopify"),
            "{:?}",
            report.errors
        );
        let ok =
            br#"{"source": "crm", "customers": [{"ref": {"email": "a@b.c"}, "tags_add": ["x"]}]}"#;
        assert!(served.json(&mut ok.as_slice(), 0, &[]).is_ok());
    }
}
