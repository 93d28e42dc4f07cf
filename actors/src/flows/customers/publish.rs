//! Out: the customers that webhooks and the reconciliation poll name, read from Shopify and
//! sent to the targets.
//!
//! For each customer of a batch, once: its current state (one `nodes` read for the whole
//! batch), compared with the record. A version older than the newest processed is dropped;
//! the field groups that changed since the last publication decide who hears of it:
//! - a target that subscribes to none of them is not sent this version;
//! - a target whose own write every one of them echoes (the echo log) is not sent it back;
//! - a change to a group the back office owns that no system's write explains is a conflict:
//!   flagged in the record, counted, and held as an exception when `on_conflict = "hold"`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tracing::debug;

use super::canonical::{Customer, Event, Group};
use super::record::{self, CustomerRecord, EXTERNAL_IDS, external_key};
use super::{FLOW, OnConflict, Owner, RECONCILE_KIND, Settings, topics, version_key};
use crate::flows::both_ways::needs_shopify;
use crate::flows::fan_out::fan_out;
use crate::flows::orders::rules::parse_time;
use crate::flows::reconcile::{Page, Reconcile, ReconcileError, Versioned};
use crate::flows::write::{EchoLog, IdMap};
use crate::flows::{FlowContext, Outcome};
use crate::item::{Claimed, Millis, now_ms};
use crate::rate_limiter::Lane;
use crate::shopify::gid::CustomerId;
use crate::shopify::operations::customers::{
    CustomerVersions, CustomersById, IdsVariables, MAX_IDS, ShopifyCustomer, VersionsVariables,
    next_page,
};
use crate::shopify::{ShopifyError, ShopifyHandle};

/// What an item says happened to which customer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    /// Changed (or created): read it.
    Changed(u64),
    /// Deleted, or merged into the GID given.
    Gone {
        id: u64,
        merged_into: Option<String>,
    },
}

/// The subjects of one item, from its webhook payload (or poll payload).
fn subjects(item: &Claimed) -> Result<Vec<Subject>, String> {
    let v: Value = serde_json::from_slice(&item.payload)
        .map_err(|e| format!("{} payload is not JSON: {e}", item.item.kind))?;
    let gid = |field: &str| -> Result<u64, String> {
        let text = v.get(field).and_then(Value::as_str).unwrap_or_default();
        CustomerId::parse(text).map(|g| g.id()).map_err(|_| {
            format!(
                "{} payload has no customer {field} (found {text:?})",
                item.item.kind
            )
        })
    };
    Ok(match item.item.kind.as_str() {
        RECONCILE_KIND => vec![Subject::Changed(
            v.get("id")
                .and_then(Value::as_u64)
                .ok_or("a reconciliation item without an id")?,
        )],
        topics::DELETE => vec![Subject::Gone {
            id: gid("admin_graphql_api_id")?,
            merged_into: None,
        }],
        topics::MERGE => {
            let kept = gid("admin_graphql_api_customer_kept_id")?;
            let deleted = gid("admin_graphql_api_customer_deleted_id")?;
            vec![
                Subject::Gone {
                    id: deleted,
                    merged_into: Some(CustomerId::new(kept).to_string()),
                },
                Subject::Changed(kept),
            ]
        }
        topics::EMAIL_CONSENT => {
            let id = v
                .get("customer_id")
                .and_then(|i| i.as_u64().or_else(|| i.as_str()?.parse().ok()))
                .ok_or("a consent payload without customer_id")?;
            vec![Subject::Changed(id)]
        }
        topics::SMS_CONSENT => {
            let id = v
                .get("id")
                .and_then(|i| i.as_u64().or_else(|| i.as_str()?.parse().ok()))
                .ok_or("an SMS consent payload without id")?;
            vec![Subject::Changed(id)]
        }
        _ => vec![Subject::Changed(gid("admin_graphql_api_id")?)],
    })
}

/// Reads `ids` (any number) from Shopify: id → the customer, absent when it no longer exists.
pub(super) async fn fetch(
    shopify: &ShopifyHandle,
    ids: &[u64],
) -> Result<BTreeMap<u64, ShopifyCustomer>, ShopifyError> {
    let mut found = BTreeMap::new();
    for chunk in ids.chunks(MAX_IDS) {
        let variables = IdsVariables {
            ids: chunk.iter().map(|&id| CustomerId::new(id)).collect(),
        };
        let page = shopify
            .run::<CustomersById>(Lane::Customers, &variables)
            .await?;
        for c in page.nodes.into_iter().flatten() {
            found.insert(c.id.id(), c);
        }
    }
    Ok(found)
}

/// One customer's publication in this batch.
struct Publication {
    customer: Customer,
    /// Its groups' fingerprints, computed once.
    fingerprints: BTreeMap<String, u64>,
    version: Millis,
    /// The last item that named it: its id is the deliveries' idempotency key.
    carrier: usize,
}

pub(super) async fn publish(
    settings: &Settings,
    ctx: &FlowContext,
    items: &[&Claimed],
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = vec![Outcome::Done; items.len()];
    let mut named: Vec<(usize, Subject)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match subjects(item) {
            Ok(s) => named.extend(s.into_iter().map(|s| (i, s))),
            Err(reason) => outcomes[i] = Outcome::Exception { reason },
        }
    }
    let Some(shopify) = &ctx.shopify else {
        return needs_shopify(items, FLOW);
    };
    let changed: BTreeSet<u64> = named
        .iter()
        .filter_map(|(_, s)| match s {
            Subject::Changed(id) => Some(*id),
            Subject::Gone { .. } => None,
        })
        .collect();
    let changed: Vec<u64> = changed.into_iter().collect();
    let current = match fetch(shopify, &changed).await {
        Ok(c) => c,
        Err(e) => return vec![Outcome::from(&e); items.len()],
    };
    let ids: BTreeSet<u64> = named
        .iter()
        .map(|(_, s)| match s {
            Subject::Changed(id) | Subject::Gone { id, .. } => *id,
        })
        .collect();
    let ids: Vec<u64> = ids.into_iter().collect();
    let mut records: BTreeMap<u64, CustomerRecord> = match record::load_many(&ctx.store, &ids).await
    {
        Ok(r) => ids.iter().copied().zip(r).collect(),
        Err(e) => return vec![Outcome::from(e); items.len()],
    };
    // One publication per customer: the last subject naming it decides (a merge's
    // deletion wins over an earlier change of the same customer).
    let mut publications: BTreeMap<u64, Publication> = BTreeMap::new();
    for (i, subject) in named {
        let (id, customer, version) = match subject {
            Subject::Changed(id) => {
                let Some(c) = current.get(&id) else {
                    // Deleted since: its customers/delete (or merge) says so.
                    debug!(
                        customer = id,
                        "customer no longer in Shopify; its deletion will be published"
                    );
                    continue;
                };
                let customer = Customer::from_graphql(c, &settings.mapping);
                let Some(version) = parse_time(&c.updated_at) else {
                    outcomes[i] = Outcome::Exception {
                        reason: format!(
                            "customer {id} has an unreadable updatedAt {:?}",
                            c.updated_at
                        ),
                    };
                    continue;
                };
                (id, customer, version)
            }
            Subject::Gone { id, merged_into } => {
                let record = records.get(&id);
                if record
                    .and_then(|r| r.last.as_ref())
                    .is_some_and(|c| c.deleted)
                {
                    continue; // already published as gone
                }
                let known = record.and_then(|r| r.last.as_ref());
                let seen = record.map_or(0, |r| r.seen);
                (
                    id,
                    Customer::gone(id, merged_into, known),
                    now_ms().max(seen + 1),
                )
            }
        };
        publications.insert(
            id,
            Publication {
                fingerprints: customer.fingerprints(),
                customer,
                version,
                carrier: i,
            },
        );
    }
    let echo_log = EchoLog::new(FLOW);
    let mut asked = Vec::new();
    for (id, p) in &publications {
        for g in Group::ALL {
            let fp = p.fingerprints[g.name()];
            for system in settings
                .targets
                .iter()
                .map(String::as_str)
                .chain([ANY_SYSTEM])
            {
                asked.push(echo_entry(*id, system, g, fp));
            }
        }
    }
    let echoes = match echo_log.echoed(&ctx.store, asked).await {
        Ok(e) => e,
        Err(e) => return vec![Outcome::from(e); items.len()],
    };
    let mut external = Vec::new();
    for (id, mut p) in publications {
        let Some(rec) = records.get_mut(&id) else {
            continue;
        };
        if p.version < rec.seen {
            debug!(
                customer = id,
                "stale version dropped: a newer one was published"
            );
            continue;
        }
        let fingerprints = std::mem::take(&mut p.fingerprints);
        let first = rec.published.is_empty();
        let changes: Vec<Group> = Group::ALL
            .into_iter()
            .filter(|g| rec.published.get(g.name()) != fingerprints.get(g.name()))
            .collect();
        let echo_of = |system: &str, g: Group| {
            echoes.contains(&echo_entry(id, system, g, fingerprints[g.name()]))
        };
        if !first {
            let conflicts: Vec<String> = changes
                .iter()
                .filter(|g| settings.owner(**g) == Owner::Backoffice)
                .filter(|g| !echo_of(ANY_SYSTEM, **g))
                .map(|g| g.name().to_string())
                .collect();
            if !conflicts.is_empty() {
                ctx.events.count("conflict", 1);
            }
            p.customer.conflicts = conflicts;
        }
        for target in &settings.targets {
            let relevant: Vec<Group> = changes
                .iter()
                .copied()
                .filter(|g| settings.subscribes(target, *g))
                .collect();
            let own: Vec<Group> = relevant
                .iter()
                .copied()
                .filter(|g| echo_of(target, *g))
                .collect();
            if relevant.len() == own.len() {
                if !own.is_empty() && !rec.delivered.has(target, p.version) {
                    ctx.events.count("echo", 1);
                }
                rec.delivered.landed(target, p.version);
            }
        }
        if p.customer.protected_data_withheld() {
            ctx.events.count("protected_data_null", 1);
        }
        let known_ids = rec.last.as_ref().map(|c| &c.external_ids);
        if p.customer.event == Event::Upsert && known_ids != Some(&p.customer.external_ids) {
            for (system, ext) in &p.customer.external_ids {
                external.push((external_key(system, ext), id));
            }
        }
        rec.seen = rec.seen.max(p.version);
        let outcome = fan_out(
            &ctx.endpoints,
            &settings.targets,
            &mut rec.delivered,
            p.version,
            items[p.carrier],
            &p.customer,
        )
        .await;
        if outcome == Outcome::Done {
            rec.published = fingerprints;
            let conflicts = p.customer.conflicts.clone();
            rec.last = Some(p.customer);
            if !conflicts.is_empty() && settings.on_conflict == OnConflict::Hold {
                outcomes[p.carrier] = Outcome::Exception {
                    reason: format!(
                        "changed in Shopify although the back office owns it: {} (delivered, flagged as a conflict)",
                        conflicts.join(", ")
                    ),
                };
                continue;
            }
        }
        outcomes[p.carrier] = outcome;
    }
    if !external.is_empty()
        && let Err(e) = IdMap::new(EXTERNAL_IDS).record(&ctx.store, &external).await
    {
        return vec![Outcome::from(e); items.len()];
    }
    let saved: Vec<(u64, &CustomerRecord)> = records.iter().map(|(id, r)| (*id, r)).collect();
    if let Err(e) = record::save_many(&ctx.store, &saved).await {
        return vec![Outcome::from(e); items.len()];
    }
    outcomes
}

pub(super) use crate::flows::write::echo::ANY_SYSTEM;

/// The echo log's entry of group `g` of customer `id`.
pub(super) fn echo_entry(id: u64, system: &str, g: Group, fp: u64) -> (String, String) {
    crate::flows::write::echo::entry(id, system, g.name(), fp)
}

/// Lists the customers changed since the last poll (ids and times), and enqueues the
/// versions not yet processed. Returns how many it enqueued.
pub(super) async fn reconcile(
    reconcile: &Reconcile,
    shopify: &ShopifyHandle,
    ctx: &FlowContext,
) -> Result<usize, ReconcileError> {
    let what = Versioned {
        kind: RECONCILE_KIND,
        noun: "customer",
        key: version_key,
    };
    let page = |since: String, after: Option<String>| async move {
        let variables = VersionsVariables {
            first: 100,
            after,
            query: format!("updated_at:>'{since}'"),
        };
        let page = shopify
            .run::<CustomerVersions>(Lane::Reporting, &variables)
            .await?;
        Ok(Page {
            versions: page
                .customers
                .nodes
                .iter()
                .filter_map(|v| Some((v.id.id(), parse_time(&v.updated_at)?)))
                .collect(),
            next: next_page(&page.customers.page_info),
        })
    };
    let seen = |ids: Vec<u64>| async move {
        Ok(record::load_many(&ctx.store, &ids)
            .await?
            .iter()
            .map(|r| r.seen)
            .collect())
    };
    reconcile.poll(ctx, &what, page, seen).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{Item, ItemId, ItemState};

    fn claimed(kind: &str, payload: &str) -> Claimed {
        Claimed {
            item: Item {
                id: ItemId(1),
                flow: FLOW.into(),
                kind: kind.into(),
                key: "k".into(),
                state: ItemState::InFlight,
                attempts: 1,
                created_at: 0,
                updated_at: 0,
                due_at: 0,
                last_error: None,
                dedupe_key: None,
                flow_resolves: false,
                resolving: false,
            },
            payload: payload.as_bytes().to_vec(),
        }
    }

    #[test]
    fn subjects_come_from_the_documented_payloads() {
        let fixture = |name: &str| {
            let path = format!(
                "{}/../tests/fixtures/shopify/webhooks-2026-07/customers/{name}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            doc["response"].to_string()
        };
        // The numeric ids of the examples are rounded past 2^53: the GID is what counts.
        for topic in [topics::CREATE, topics::UPDATE] {
            let name = topic.rsplit('/').next().unwrap();
            let got = subjects(&claimed(topic, &fixture(name))).unwrap();
            assert_eq!(got, [Subject::Changed(706405506930370084)], "{topic}");
        }
        let got = subjects(&claimed(topics::DELETE, &fixture("delete"))).unwrap();
        assert_eq!(
            got,
            [Subject::Gone {
                id: 706405506930370084,
                merged_into: None
            }]
        );
        let merge = r#"{"admin_graphql_api_customer_kept_id": "gid://shopify/Customer/1",
            "admin_graphql_api_customer_deleted_id": "gid://shopify/Customer/2", "status": "COMPLETED"}"#;
        assert_eq!(
            subjects(&claimed(topics::MERGE, merge)).unwrap(),
            [
                Subject::Gone {
                    id: 2,
                    merged_into: Some("gid://shopify/Customer/1".into())
                },
                Subject::Changed(1)
            ]
        );
        let sms = r#"{"id": 8, "phone": "+15550001"}"#;
        assert_eq!(
            subjects(&claimed(topics::SMS_CONSENT, sms)).unwrap(),
            [Subject::Changed(8)]
        );
        let consent = r#"{"customer_id": 7, "email_address": "a@b.c"}"#;
        assert_eq!(
            subjects(&claimed(topics::EMAIL_CONSENT, consent)).unwrap(),
            [Subject::Changed(7)]
        );
        assert!(subjects(&claimed(topics::UPDATE, r#"{"id": 1}"#)).is_err());
        assert!(subjects(&claimed(topics::UPDATE, "not json")).is_err());
    }
}
