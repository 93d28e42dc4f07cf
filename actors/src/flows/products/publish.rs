//! Out: the products that `products/*` webhooks and the reconciliation poll name, read from
//! Shopify and sent to the targets when what Shopify owns of them changed.
//!
//! For each product of a batch, once: what Shopify owns of it now (one `nodes` read per 16
//! products), compared with what was last published. Only the groups the configuration lets
//! Shopify change (`shopify` or `both`) are delivered, and only when one of them changed; a
//! target whose own write explains every changed group (the echo log) is not sent it back.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tracing::debug;

use super::canonical::{Group, Product};
use super::record::{self, Published};
use super::{FLOW, RECONCILE_KIND, Settings, topics, version_key};
use crate::flows::both_ways::needs_shopify;
use crate::flows::fan_out::fan_out;
use crate::flows::orders::rules::parse_time;
use crate::flows::reconcile::{Page, Reconcile, ReconcileError, Versioned};
use crate::flows::write::EchoLog;
use crate::flows::write::echo::entry;
use crate::flows::{FlowContext, Outcome};
use crate::item::{Claimed, Millis, now_ms};
use crate::rate_limiter::Lane;
use crate::shopify::gid::ProductId;
use crate::shopify::operations::next_page;
use crate::shopify::operations::products::{
    IdsVariables, MAX_IDS, OwnedProduct, ProductVersions, ProductsById, VersionsVariables,
};
use crate::shopify::{ShopifyError, ShopifyHandle};

/// What an item says happened to which product.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Changed(u64),
    Gone(u64),
}

fn subject(item: &Claimed) -> Result<Subject, String> {
    let v: Value = serde_json::from_slice(&item.payload)
        .map_err(|e| format!("{} payload is not JSON: {e}", item.item.kind))?;
    match item.item.kind.as_str() {
        RECONCILE_KIND => v
            .get("id")
            .and_then(Value::as_u64)
            .map(Subject::Changed)
            .ok_or_else(|| "a reconciliation item without an id".into()),
        // The documented body is only `{"id": N}`.
        topics::DELETE => v
            .get("id")
            .and_then(|i| i.as_u64().or_else(|| i.as_str()?.parse().ok()))
            .map(Subject::Gone)
            .ok_or_else(|| "a products/delete payload without id".into()),
        _ => {
            let text = v
                .get("admin_graphql_api_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            ProductId::parse(text)
                .map(|g| Subject::Changed(g.id()))
                .map_err(|_| {
                    format!(
                        "{} payload has no product admin_graphql_api_id (found {text:?})",
                        item.item.kind
                    )
                })
        }
    }
}

/// Reads what Shopify owns of `ids`: id → the product, absent when it no longer exists.
async fn fetch(
    shopify: &ShopifyHandle,
    ids: &[u64],
) -> Result<BTreeMap<u64, OwnedProduct>, ShopifyError> {
    let mut found = BTreeMap::new();
    for chunk in ids.chunks(MAX_IDS) {
        let variables = IdsVariables {
            ids: chunk.iter().map(|&id| ProductId::new(id)).collect(),
        };
        let page = shopify
            .run::<ProductsById>(Lane::Products, &variables)
            .await?;
        for p in page.nodes.into_iter().flatten() {
            found.insert(p.id.id(), p);
        }
    }
    Ok(found)
}

struct Publication {
    product: Product,
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
        match subject(item) {
            Ok(s) => named.push((i, s)),
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
            Subject::Gone(_) => None,
        })
        .collect();
    let changed: Vec<u64> = changed.into_iter().collect();
    let current = match fetch(shopify, &changed).await {
        Ok(c) => c,
        Err(e) => return vec![Outcome::from(&e); items.len()],
    };
    let ids: Vec<u64> = named
        .iter()
        .map(|(_, s)| match s {
            Subject::Changed(id) | Subject::Gone(id) => *id,
        })
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .collect();
    let mut records: BTreeMap<u64, Published> = match record::load_published(&ctx.store, &ids).await
    {
        Ok(r) => ids.iter().copied().zip(r).collect(),
        Err(e) => return vec![Outcome::from(e); items.len()],
    };
    let mut publications: BTreeMap<u64, Publication> = BTreeMap::new();
    for (i, subject) in named {
        let (id, product, version) = match subject {
            Subject::Changed(id) => {
                let Some(p) = current.get(&id) else {
                    debug!(
                        product = id,
                        "product no longer in Shopify; its products/delete says so"
                    );
                    continue;
                };
                let Some(version) = parse_time(&p.updated_at) else {
                    outcomes[i] = Outcome::Exception {
                        reason: format!(
                            "product {id} has an unreadable updatedAt {:?}",
                            p.updated_at
                        ),
                    };
                    continue;
                };
                (
                    id,
                    Product::from_graphql(p, &settings.external_namespace),
                    version,
                )
            }
            Subject::Gone(id) => {
                let record = records.get(&id);
                let known = record.and_then(|r| r.last.as_ref());
                if known.is_some_and(|p| p.event == super::canonical::Event::Deleted) {
                    continue;
                }
                let seen = record.map_or(0, |r| r.seen);
                (id, Product::gone(id, known), now_ms().max(seen + 1))
            }
        };
        publications.insert(
            id,
            Publication {
                fingerprints: product.fingerprints(),
                product,
                version,
                carrier: i,
            },
        );
    }
    let delivered = settings.delivered_groups();
    let mut asked = Vec::new();
    for (id, p) in &publications {
        for g in &delivered {
            let fp = p.fingerprints[g.name()];
            for system in settings.targets.iter().map(String::as_str) {
                asked.push(entry(*id, system, g.name(), fp));
            }
        }
    }
    let echoes = match EchoLog::new(FLOW).echoed(&ctx.store, asked).await {
        Ok(e) => e,
        Err(e) => return vec![Outcome::from(e); items.len()],
    };
    for (id, mut p) in publications {
        let Some(rec) = records.get_mut(&id) else {
            continue;
        };
        if p.version < rec.seen {
            debug!(
                product = id,
                "stale version dropped: a newer one was published"
            );
            continue;
        }
        let fingerprints = std::mem::take(&mut p.fingerprints);
        let changes: Vec<Group> = delivered
            .iter()
            .copied()
            .filter(|g| rec.groups.get(g.name()) != fingerprints.get(g.name()))
            .collect();
        p.product.changed = changes.iter().map(|g| g.name().to_string()).collect();
        // The first publication of a product that carries a target's own external id was
        // made by that system's record: what it holds came from there (even when a crash lost
        // the echo log's entry of that write, and its webhook comes before the write is
        // redone).
        let first = rec.groups.is_empty();
        for target in &settings.targets {
            let made_there = first && p.product.external_ids.contains_key(target);
            let own = changes
                .iter()
                .filter(|g| {
                    made_there
                        || echoes.contains(&entry(id, target, g.name(), fingerprints[g.name()]))
                })
                .count();
            if own == changes.len() {
                if own > 0 && !rec.delivered.has(target, p.version) {
                    ctx.events.count("echo", 1);
                }
                rec.delivered.landed(target, p.version);
            }
        }
        rec.seen = rec.seen.max(p.version);
        let outcome = fan_out(
            &ctx.endpoints,
            &settings.targets,
            &mut rec.delivered,
            p.version,
            items[p.carrier],
            &p.product,
        )
        .await;
        if outcome == Outcome::Done {
            rec.groups = fingerprints;
            rec.last = Some(p.product);
        }
        outcomes[p.carrier] = outcome;
    }
    let saved: Vec<(u64, &Published)> = records.iter().map(|(id, r)| (*id, r)).collect();
    if let Err(e) = record::save_published(&ctx.store, &saved).await {
        return vec![Outcome::from(e); items.len()];
    }
    outcomes
}

/// Lists the products changed since the last poll, in every status, and enqueues the versions
/// not yet processed. Returns how many it enqueued.
pub(super) async fn reconcile(
    reconcile: &Reconcile,
    shopify: &ShopifyHandle,
    ctx: &FlowContext,
) -> Result<usize, ReconcileError> {
    let what = Versioned {
        kind: RECONCILE_KIND,
        noun: "product",
        key: version_key,
    };
    let page = |since: String, after: Option<String>| async move {
        let variables = VersionsVariables {
            first: 100,
            after,
            query: format!(
                "updated_at:>'{since}' AND (status:active OR status:draft OR status:archived OR status:unlisted)"
            ),
        };
        let page = shopify
            .run::<ProductVersions>(Lane::Reporting, &variables)
            .await?;
        Ok(Page {
            versions: page
                .products
                .nodes
                .iter()
                .filter_map(|v| Some((v.id.id(), parse_time(&v.updated_at)?)))
                .collect(),
            next: next_page(&page.products.page_info),
        })
    };
    let seen = |ids: Vec<u64>| async move {
        Ok(record::load_published(&ctx.store, &ids)
            .await?
            .iter()
            .map(|r| r.seen)
            .collect())
    };
    reconcile.poll(ctx, &what, page, seen).await
}
