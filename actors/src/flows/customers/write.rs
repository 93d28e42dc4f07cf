//! In: a batch of back-office updates written to Shopify.
//!
//! 1. Each entry's customer is found: a Shopify id as given, an external id through the id map
//!    (then `customerByIdentifier(customId)` on the metafield that keeps it), emails in one
//!    search per 50, phones by identifier. A customer that is not found is created only when
//!    the entry says `create_if_missing`, with `customerSet` by the same identifier, so a
//!    retry finds the first try's customer instead of making a second.
//! 2. The batch's customers are read in one `nodes` call per 250, and each customer's
//!    entries, in order, fold into the state they ask for.
//! 3. Only the difference is written, each part with the narrowest mutation: `tagsAdd` and
//!    `tagsRemove` (never the whole list, which others' tags are in), `customerUpdate` for the
//!    note and `taxExempt`, `customerReplaceTaxExemptions`, the consent mutation, and
//!    `metafieldsSet` 25 at a time across customers (with the digest read, so a concurrent
//!    change is refused rather than overwritten). Nothing changes: nothing is written.
//! 4. The customers written are read again, and each field group the write changed goes into
//!    the echo log under the writing system, so the webhook it causes is not sent back.
//!
//! A refused entry (`userErrors`, an unknown customer) is an exception with Shopify's message;
//! a transient failure retries the entries of the customers it touched. Writes are
//! differences from what was just read, so a retry never applies anything twice.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;

use super::canonical::{Customer, Group, Mapping};
use super::inbound::{CustomerRef, Update};
use super::publish::{ANY_SYSTEM, echo_entry, fetch};
use super::record::{EXTERNAL_IDS, external_key};
use super::{FLOW, Owner, Settings};
use crate::flows::both_ways::needs_shopify;
use crate::flows::orders::rules::parse_time;
use crate::flows::write::{EchoLog, Failed, IdMap, write_metafields};
use crate::flows::{FlowContext, Outcome};
use crate::item::Claimed;
use crate::rate_limiter::Lane;
use crate::shopify::error::UserError;
use crate::shopify::gid::CustomerId;
use crate::shopify::operations::customers::{
    CustomId, CustomerByIdentifier, CustomerEmailConsentUpdate, CustomerReplaceTaxExemptions,
    CustomerScalars, CustomerSet, CustomerSetVariables, CustomerUpdate, CustomerUpdateVariables,
    CustomersByEmail, EmailConsent, EmailConsentInput, EmailConsentVariables, EmailVariables,
    Identifier, IdentifierVariables, MAX_EMAILS, MetafieldInput, SetIdentifier, ShopifyCustomer,
    TagsAdd, TagsRemove, TagsVariables, TaxExemptionsVariables,
};
use crate::shopify::operations::search_quote;
use crate::shopify::{ShopifyError, ShopifyHandle};

pub(super) async fn apply(
    settings: &Settings,
    ctx: &FlowContext,
    items: &[&Claimed],
) -> Vec<Outcome> {
    let Some(shopify) = &ctx.shopify else {
        return needs_shopify(items, FLOW);
    };
    let mut result: Vec<Option<Failed>> = vec![None; items.len()];
    let mut updates: Vec<Option<Update>> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match Update::decode_payload(&item.payload) {
            Ok(u) if u.customer.is_some() => updates.push(Some(u)),
            Ok(_) => {
                result[i] = Some(Failed::Refused("the update names no customer".into()));
                updates.push(None);
            }
            Err(reason) => {
                result[i] = Some(Failed::Refused(reason));
                updates.push(None);
            }
        }
    }
    let mut resolved = resolve(settings, ctx, shopify, &updates).await;
    create_missing(settings, shopify, &updates, &mut resolved).await;
    let mut owners: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, r) in resolved.into_iter().enumerate() {
        match r {
            Resolved::Found(id) => owners.entry(id).or_default().push(i),
            Resolved::Failed(f) => result[i] = Some(f),
            Resolved::Skipped => {}
        }
    }
    let ids: Vec<u64> = owners.keys().copied().collect();
    let before = match fetch(shopify, &ids).await {
        Ok(found) => found,
        Err(e) => return vec![Outcome::from(&e); items.len()],
    };
    // Each customer's entries, folded in order into its wanted state, and the writes it needs.
    let mut plans: BTreeMap<u64, Plan> = BTreeMap::new();
    for (id, entries) in &owners {
        let Some(current) = before.get(id) else {
            for &i in entries {
                result[i] = Some(Failed::Refused(format!(
                    "customer gid://shopify/Customer/{id} does not exist in Shopify (deleted?)"
                )));
            }
            continue;
        };
        let asks: Vec<&Update> = entries
            .iter()
            .filter_map(|&i| updates[i].as_ref())
            .collect();
        let plan = Plan::new(settings, current, &asks);
        if plan.skipped_stale > 0 {
            ctx.events.count("stale_skipped", plan.skipped_stale);
        }
        plans.insert(*id, plan);
    }
    // The customer's own mutations, all customers at once (the rate limiter paces them).
    let failures = join_all(plans.iter().map(|(id, plan)| plan.write_own(shopify, *id))).await;
    let mut failed: BTreeMap<u64, Failed> = plans
        .keys()
        .copied()
        .zip(failures)
        .filter_map(|(id, f)| Some((id, f?)))
        .collect();
    let metafields: Vec<(u64, MetafieldInput)> = plans
        .iter()
        .filter(|(id, _)| !failed.contains_key(id))
        .flat_map(|(id, p)| p.metafields.iter().map(move |m| (*id, m.clone())))
        .collect();
    for (id, f) in write_metafields(shopify, Lane::Customers, metafields).await {
        failed.entry(id).or_insert(f);
    }
    for (id, f) in &failed {
        for &i in &owners[id] {
            result[i] = Some(f.clone());
        }
    }
    let written: Vec<u64> = plans
        .iter()
        .filter(|(_, p)| p.writes() > 0)
        .map(|(id, _)| *id)
        .collect();
    if let Err(f) = remember(settings, ctx, shopify, &owners, &updates, &before, &written).await {
        return vec![f.outcome(); items.len()];
    }
    // What became of each landed entry, for its history: the customer it resolved to (the id
    // mapping) and what was written.
    let mut notes: Vec<Option<String>> = vec![None; items.len()];
    for (id, entries) in &owners {
        let Some(plan) = plans.get(id) else { continue };
        let wrote = plan.summary();
        for &i in entries {
            let mapped = updates[i]
                .as_ref()
                .and_then(|u| Some(format!(" ({} id {})", u.source, u.external_id.as_ref()?)))
                .unwrap_or_default();
            notes[i] = Some(format!(
                "customer gid://shopify/Customer/{id}{mapped}: {wrote}"
            ));
        }
    }
    result
        .into_iter()
        .zip(notes)
        .map(|(f, note)| match (f, note) {
            (Some(f), _) => f.outcome(),
            (None, Some(note)) => Outcome::Noted { note },
            (None, None) => Outcome::Done,
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Resolved {
    Found(u64),
    Failed(Failed),
    /// The entry was not readable (its failure is already noted).
    Skipped,
}

/// Finds each entry's customer.
async fn resolve(
    settings: &Settings,
    ctx: &FlowContext,
    shopify: &ShopifyHandle,
    updates: &[Option<Update>],
) -> Vec<Resolved> {
    let mut out: Vec<Resolved> = vec![Resolved::Skipped; updates.len()];
    let mut emails: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut externals: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut lookups: Vec<(usize, Identifier)> = Vec::new();
    for (i, u) in updates.iter().enumerate() {
        match u.as_ref().and_then(|u| u.customer.as_ref()) {
            Some(CustomerRef::ShopifyId(id)) => out[i] = Resolved::Found(*id),
            Some(CustomerRef::Email(e)) => emails.entry(e.to_lowercase()).or_default().push(i),
            Some(CustomerRef::Phone(p)) => lookups.push((i, Identifier::PhoneNumber(p.clone()))),
            Some(CustomerRef::External { system, id }) => externals
                .entry(external_key(system, id))
                .or_default()
                .push(i),
            None => {}
        }
    }
    if !externals.is_empty() {
        let mut map = IdMap::new(EXTERNAL_IDS);
        match map.known(&ctx.store, externals.keys()).await {
            Ok(known) => {
                for (key, entries) in &externals {
                    match known.get(key) {
                        Some(id) => entries.iter().for_each(|&i| out[i] = Resolved::Found(*id)),
                        None => {
                            let (system, id) = key.split_once('\u{1f}').unwrap_or((key, ""));
                            for &i in entries {
                                lookups.push((
                                    i,
                                    Identifier::CustomId(CustomId {
                                        namespace: settings.mapping.external_namespace.clone(),
                                        key: system.to_string(),
                                        value: id.to_string(),
                                    }),
                                ));
                            }
                        }
                    }
                }
            }
            Err(e) => {
                for &i in externals.values().flatten() {
                    out[i] = Resolved::Failed(Failed::Transient(Outcome::from(e.clone())));
                }
            }
        }
    }
    let addresses: Vec<&String> = emails.keys().collect();
    for chunk in addresses.chunks(MAX_EMAILS) {
        let query = chunk
            .iter()
            .map(|e| format!("email:{}", search_quote(e)))
            .collect::<Vec<_>>()
            .join(" OR ");
        let variables = EmailVariables {
            first: 2 * chunk.len() as u32,
            query,
        };
        match shopify
            .run::<CustomersByEmail>(Lane::Customers, &variables)
            .await
        {
            Ok(page) => {
                for c in page.customers.nodes {
                    let email = c
                        .default_email_address
                        .and_then(|e| e.email_address)
                        .map(|e| e.to_lowercase());
                    if let Some(entries) = email.and_then(|e| emails.get(&e)) {
                        entries
                            .iter()
                            .for_each(|&i| out[i] = Resolved::Found(c.id.id()));
                    }
                }
            }
            Err(e) => {
                for email in chunk {
                    for &i in &emails[*email] {
                        out[i] = Resolved::Failed(Failed::from(&e));
                    }
                }
            }
        }
    }
    let variables: Vec<IdentifierVariables> = lookups
        .iter()
        .map(|(_, identifier)| IdentifierVariables {
            identifier: identifier.clone(),
        })
        .collect();
    let answers = join_all(
        variables
            .iter()
            .map(|v| shopify.run::<CustomerByIdentifier>(Lane::Customers, v)),
    )
    .await;
    let mut mapped = Vec::new();
    for ((i, identifier), answer) in lookups.iter().zip(answers) {
        out[*i] = match answer {
            Ok(r) => match r.customer_by_identifier {
                Some(c) => {
                    if let Identifier::CustomId(custom) = identifier {
                        mapped.push((external_key(&custom.key, &custom.value), c.id.id()));
                    }
                    Resolved::Found(c.id.id())
                }
                None => not_found(updates, *i),
            },
            Err(e) => Resolved::Failed(Failed::from(&e)),
        };
    }
    for (i, r) in out.iter_mut().enumerate() {
        if matches!(r, Resolved::Skipped) && updates[i].is_some() {
            *r = not_found(updates, i);
        }
    }
    if !mapped.is_empty()
        && let Err(e) = IdMap::new(EXTERNAL_IDS).record(&ctx.store, &mapped).await
    {
        tracing::warn!(error = %e, "could not remember external ids; they are looked up again next time");
    }
    out
}

fn not_found(updates: &[Option<Update>], i: usize) -> Resolved {
    let Some(u) = updates[i].as_ref() else {
        return Resolved::Skipped;
    };
    let who = u.customer.as_ref().map_or("?".into(), |r| r.to_string());
    if u.create_if_missing {
        return Resolved::Skipped; // created next
    }
    Resolved::Failed(Failed::Refused(format!(
        "no customer in Shopify matches {who} (send create_if_missing: true to create it)"
    )))
}

/// Creates the customers that were not found and are to be created.
async fn create_missing(
    settings: &Settings,
    shopify: &ShopifyHandle,
    updates: &[Option<Update>],
    resolved: &mut [Resolved],
) {
    for (i, r) in resolved.iter_mut().enumerate() {
        let Some(u) = updates[i].as_ref() else {
            continue;
        };
        if !matches!(r, Resolved::Skipped) || !u.create_if_missing {
            continue;
        }
        let mut input = serde_json::Map::new();
        let identifier = match u.customer.as_ref() {
            Some(CustomerRef::Email(e)) => {
                input.insert("email".into(), e.clone().into());
                SetIdentifier::Email(e.clone())
            }
            Some(CustomerRef::Phone(p)) => {
                input.insert("phone".into(), p.clone().into());
                SetIdentifier::Phone(p.clone())
            }
            Some(CustomerRef::External { system, id }) => SetIdentifier::CustomId(CustomId {
                namespace: settings.mapping.external_namespace.clone(),
                key: system.clone(),
                value: id.clone(),
            }),
            _ => continue,
        };
        // The rest (tags, exemptions, metafields) is written as an update of the new customer.
        let variables = CustomerSetVariables {
            identifier,
            input: serde_json::Value::Object(input),
        };
        *r = match shopify
            .run::<CustomerSet>(Lane::Customers, &variables)
            .await
        {
            Ok(done) => match done.payload {
                Some(p) if !p.user_errors.is_empty() => {
                    Resolved::Failed(Failed::refused("customerSet", &p.user_errors))
                }
                Some(p) => match p.customer {
                    Some(c) => Resolved::Found(c.id.id()),
                    None => Resolved::Failed(Failed::Refused(
                        "shopify: customerSet created no customer".into(),
                    )),
                },
                None => Resolved::Failed(Failed::Refused(
                    "shopify: customerSet returned nothing".into(),
                )),
            },
            Err(e) => Resolved::Failed(Failed::from(&e)),
        };
    }
}

/// What one customer's entries need written.
#[derive(Debug, Default)]
struct Plan {
    tags_add: Vec<String>,
    tags_remove: Vec<String>,
    scalars: CustomerScalars,
    exemptions: Option<Vec<String>>,
    consent: Option<String>,
    metafields: Vec<MetafieldInput>,
    /// Field changes left out because Shopify's version is newer (fields both sides own).
    skipped_stale: u64,
}

impl Plan {
    fn new(settings: &Settings, current: &ShopifyCustomer, asks: &[&Update]) -> Plan {
        let mapping = &settings.mapping;
        let updated_at = parse_time(&current.updated_at);
        let mut plan = Plan::default();
        let mut tags: Vec<String> = current.tags.clone();
        let mut note = current.note.clone();
        let mut tax_exempt = current.tax_exempt;
        let mut exemptions: Vec<String> = current.tax_exemptions.clone();
        let mut consent = current
            .default_email_address
            .as_ref()
            .and_then(|e| e.marketing_state.clone());
        let mut metafields: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
        for u in asks {
            // A field both sides own is last-writer-wins: a change older than Shopify's
            // newest loses.
            let stale = |g: Group| {
                settings.owner(g) == Owner::Both
                    && matches!((u.as_of, updated_at), (Some(at), Some(shop)) if (at as u64) < shop)
            };
            let mut take = |g: Group| {
                let ok = !stale(g);
                if !ok {
                    plan.skipped_stale += 1;
                }
                ok
            };
            if (!u.tags_add.is_empty() || !u.tags_remove.is_empty()) && take(Group::Tags) {
                for t in &u.tags_remove {
                    tags.retain(|have| !have.eq_ignore_ascii_case(t));
                }
                for t in &u.tags_add {
                    add_tag(&mut tags, t);
                }
            }
            if let Some(status) = &u.account_status
                && take(Group::AccountStatus)
            {
                replace_prefixed(&mut tags, &mapping.status_prefix, status);
            }
            if let Some(segment) = &u.segment
                && take(Group::Segment)
            {
                match &mapping.segment_metafield {
                    Some((ns, key)) => {
                        metafields.insert(
                            (ns.clone(), key.clone()),
                            ("single_line_text_field".into(), segment.clone()),
                        );
                    }
                    None => replace_prefixed(&mut tags, &mapping.segment_prefix, segment),
                }
            }
            if let Some(n) = &u.note
                && take(Group::Note)
            {
                note = Some(n.clone());
            }
            if (u.tax_exempt.is_some() || u.tax_exemptions.is_some()) && take(Group::Tax) {
                if let Some(t) = u.tax_exempt {
                    tax_exempt = t;
                }
                if let Some(e) = &u.tax_exemptions {
                    exemptions = e.clone();
                }
            }
            if let Some(state) = &u.email_marketing
                && take(Group::Marketing)
            {
                consent = Some(state.clone());
            }
            if !u.metafields.is_empty() && take(Group::Metafields) {
                for m in &u.metafields {
                    metafields.insert(
                        (m.namespace.clone(), m.key.clone()),
                        (m.kind.clone(), m.value.clone()),
                    );
                }
            }
            if let Some(external) = &u.external_id {
                metafields.insert(
                    (mapping.external_namespace.clone(), u.source.clone()),
                    ("single_line_text_field".into(), external.clone()),
                );
            }
        }
        let has = |list: &[String], t: &str| list.iter().any(|x| x.eq_ignore_ascii_case(t));
        plan.tags_add = tags
            .iter()
            .filter(|t| !has(&current.tags, t))
            .cloned()
            .collect();
        plan.tags_remove = current
            .tags
            .iter()
            .filter(|t| !has(&tags, t))
            .cloned()
            .collect();
        if note != current.note {
            plan.scalars.note = Some(note.unwrap_or_default());
        }
        if tax_exempt != current.tax_exempt {
            plan.scalars.tax_exempt = Some(tax_exempt);
        }
        if plan.scalars.note.is_some() || plan.scalars.tax_exempt.is_some() {
            plan.scalars.id = Some(current.id.clone());
        }
        let set = |l: &[String]| l.iter().cloned().collect::<BTreeSet<String>>();
        if set(&exemptions) != set(&current.tax_exemptions) {
            plan.exemptions = Some(exemptions);
        }
        let current_consent = current
            .default_email_address
            .as_ref()
            .and_then(|e| e.marketing_state.clone());
        if consent != current_consent {
            plan.consent = consent;
        }
        for ((namespace, key), (kind, value)) in metafields {
            let have = current.metafield(&namespace, &key);
            if have.is_some_and(|m| m.value == value) {
                continue;
            }
            plan.metafields.push(MetafieldInput {
                owner_id: current.id.to_string(),
                namespace,
                key,
                kind: have.map_or(kind, |m| m.kind.clone()),
                value,
                compare_digest: have.and_then(|m| m.compare_digest.clone()),
            });
        }
        plan
    }

    /// What the plan writes, in a line.
    fn summary(&self) -> String {
        let mut parts = Vec::new();
        if !self.tags_add.is_empty() {
            parts.push(format!("tags added {}", self.tags_add.join(", ")));
        }
        if !self.tags_remove.is_empty() {
            parts.push(format!("tags removed {}", self.tags_remove.join(", ")));
        }
        if self.scalars.note.is_some() {
            parts.push("note".to_string());
        }
        if let Some(t) = self.scalars.tax_exempt {
            parts.push(format!("tax exempt {t}"));
        }
        if let Some(e) = &self.exemptions {
            parts.push(format!("tax exemptions [{}]", e.join(", ")));
        }
        if let Some(c) = &self.consent {
            parts.push(format!("email consent {c}"));
        }
        if !self.metafields.is_empty() {
            let keys: Vec<String> = self
                .metafields
                .iter()
                .map(|m| format!("{}.{}", m.namespace, m.key))
                .collect();
            parts.push(format!("metafields {}", keys.join(", ")));
        }
        if parts.is_empty() {
            "nothing to change: Shopify already had it".to_string()
        } else {
            format!("wrote {}", parts.join("; "))
        }
    }

    /// Mutations this plan sends.
    fn writes(&self) -> usize {
        usize::from(!self.tags_add.is_empty())
            + usize::from(!self.tags_remove.is_empty())
            + usize::from(self.scalars.id.is_some())
            + usize::from(self.exemptions.is_some())
            + usize::from(self.consent.is_some())
            + self.metafields.len()
    }

    /// The customer's own mutations (everything but metafields), in order; the first failure
    /// stops them.
    async fn write_own(&self, shopify: &ShopifyHandle, id: u64) -> Option<Failed> {
        let gid = CustomerId::new(id);
        let lane = Lane::Customers;
        if !self.tags_add.is_empty() {
            let v = TagsVariables {
                id: gid.clone(),
                tags: self.tags_add.clone(),
            };
            if let Err(f) = errors_of(
                "tagsAdd",
                shopify
                    .run::<TagsAdd>(lane, &v)
                    .await
                    .map(|r| r.payload.map(|p| p.user_errors)),
            ) {
                return Some(f);
            }
        }
        if !self.tags_remove.is_empty() {
            let v = TagsVariables {
                id: gid.clone(),
                tags: self.tags_remove.clone(),
            };
            if let Err(f) = errors_of(
                "tagsRemove",
                shopify
                    .run::<TagsRemove>(lane, &v)
                    .await
                    .map(|r| r.payload.map(|p| p.user_errors)),
            ) {
                return Some(f);
            }
        }
        if self.scalars.id.is_some() {
            let v = CustomerUpdateVariables {
                input: self.scalars.clone(),
            };
            if let Err(f) = errors_of(
                "customerUpdate",
                shopify
                    .run::<CustomerUpdate>(lane, &v)
                    .await
                    .map(|r| r.payload.map(|p| p.user_errors)),
            ) {
                return Some(f);
            }
        }
        if let Some(exemptions) = &self.exemptions {
            let v = TaxExemptionsVariables {
                customer_id: gid.clone(),
                tax_exemptions: exemptions.clone(),
            };
            if let Err(f) = errors_of(
                "customerReplaceTaxExemptions",
                shopify
                    .run::<CustomerReplaceTaxExemptions>(lane, &v)
                    .await
                    .map(|r| r.payload.map(|p| p.user_errors)),
            ) {
                return Some(f);
            }
        }
        if let Some(state) = &self.consent {
            let v = EmailConsentVariables {
                input: EmailConsentInput {
                    customer_id: gid.clone(),
                    email_marketing_consent: EmailConsent {
                        marketing_state: state.clone(),
                        marketing_opt_in_level: Some("SINGLE_OPT_IN".into()),
                        consent_updated_at: None,
                    },
                },
            };
            if let Err(f) = errors_of(
                "customerEmailMarketingConsentUpdate",
                shopify
                    .run::<CustomerEmailConsentUpdate>(lane, &v)
                    .await
                    .map(|r| r.payload.map(|p| p.user_errors)),
            ) {
                return Some(f);
            }
        }
        None
    }
}

fn errors_of(
    operation: &str,
    answer: Result<Option<Vec<UserError>>, ShopifyError>,
) -> Result<(), Failed> {
    match answer {
        Ok(Some(errors)) if errors.is_empty() => Ok(()),
        Ok(Some(errors)) => Err(Failed::refused(operation, &errors)),
        Ok(None) => Err(Failed::Refused(format!(
            "shopify: {operation} returned nothing"
        ))),
        Err(e) => Err(Failed::from(&e)),
    }
}

fn add_tag(tags: &mut Vec<String>, tag: &str) {
    if !tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
        tags.push(tag.to_string());
    }
}

/// Sets the one tag with `prefix` to `prefix + value`, removing the others with that prefix
/// (only those: the rest of the tags are someone else's).
fn replace_prefixed(tags: &mut Vec<String>, prefix: &str, value: &str) {
    let wanted = format!("{prefix}{value}");
    tags.retain(|t| {
        t.eq_ignore_ascii_case(&wanted)
            || !(t.len() >= prefix.len()
                && t.is_char_boundary(prefix.len())
                && t[..prefix.len()].eq_ignore_ascii_case(prefix))
    });
    add_tag(tags, &wanted);
}

/// After the writes: the external ids the entries named are remembered, and what changed in
/// each written customer goes into the echo log under each system that wrote it.
async fn remember(
    settings: &Settings,
    ctx: &FlowContext,
    shopify: &ShopifyHandle,
    owners: &BTreeMap<u64, Vec<usize>>,
    updates: &[Option<Update>],
    before: &BTreeMap<u64, ShopifyCustomer>,
    written: &[u64],
) -> Result<(), Failed> {
    let mut mapped = Vec::new();
    for (id, entries) in owners {
        for u in entries.iter().filter_map(|&i| updates[i].as_ref()) {
            if let Some(external) = &u.external_id {
                mapped.push((external_key(&u.source, external), *id));
            }
        }
    }
    if !mapped.is_empty() {
        IdMap::new(EXTERNAL_IDS)
            .record(&ctx.store, &mapped)
            .await
            .map_err(|e| Failed::Transient(Outcome::from(e)))?;
    }
    if written.is_empty() {
        return Ok(());
    }
    let after = fetch(shopify, written)
        .await
        .map_err(|e| Failed::from(&e))?;
    let mapping: &Mapping = &settings.mapping;
    let mut echoes = Vec::new();
    for id in written {
        let (Some(was), Some(now)) = (before.get(id), after.get(id)) else {
            continue;
        };
        let (was, now) = (
            Customer::from_graphql(was, mapping),
            Customer::from_graphql(now, mapping),
        );
        let systems: BTreeSet<&str> = owners[id]
            .iter()
            .filter_map(|&i| updates[i].as_ref())
            .map(|u| u.source.as_str())
            .collect();
        for g in Group::ALL {
            let fp = now.fingerprint(g);
            if fp == was.fingerprint(g) {
                continue;
            }
            for system in systems.iter().copied().chain([ANY_SYSTEM]) {
                echoes.push(echo_entry(*id, system, g, fp));
            }
        }
    }
    EchoLog::new(FLOW)
        .record(&ctx.store, &echoes)
        .await
        .map_err(|e| Failed::Transient(Outcome::from(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(tags: &[&str]) -> ShopifyCustomer {
        serde_json::from_value(serde_json::json!({
            "id": "gid://shopify/Customer/3", "legacyResourceId": "3", "state": "ENABLED",
            "tags": tags, "taxExempt": false, "taxExemptions": [], "note": "old",
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-06-01T00:00:00Z",
            "defaultEmailAddress": {"emailAddress": "a@b.c", "marketingState": "NOT_SUBSCRIBED"},
            "metafields": {"nodes": [{"namespace": "crm", "key": "tier", "type": "single_line_text_field", "value": "gold", "compareDigest": "dg"}]}
        }))
        .unwrap()
    }

    fn settings() -> Settings {
        Settings {
            targets: vec!["crm".into()],
            subscriptions: BTreeMap::new(),
            ownership: BTreeMap::new(),
            on_conflict: super::super::OnConflict::Flag,
            mapping: Mapping::default(),
            reconcile: None,
            linger: std::time::Duration::ZERO,
        }
    }

    fn update(f: impl FnOnce(&mut Update)) -> Update {
        let mut u = Update {
            source: "crm".into(),
            customer: Some(CustomerRef::ShopifyId(3)),
            ..Update::default()
        };
        f(&mut u);
        u
    }

    #[test]
    fn only_the_difference_is_planned() {
        let current = customer(&["Staff-Pick", "status:active", "prospect"]);
        let asks = [
            update(|u| {
                u.tags_add = vec!["vip".into(), "staff-pick".into()];
                u.tags_remove = vec!["PROSPECT".into()];
                u.account_status = Some("on-hold".into());
            }),
            update(|u| {
                u.note = Some("old".into());
                u.tax_exempt = Some(true);
                u.metafields = vec![
                    super::super::inbound::MetafieldValue {
                        namespace: "crm".into(),
                        key: "tier".into(),
                        kind: "single_line_text_field".into(),
                        value: "gold".into(),
                    },
                    super::super::inbound::MetafieldValue {
                        namespace: "crm".into(),
                        key: "score".into(),
                        kind: "number_integer".into(),
                        value: "7".into(),
                    },
                ];
                u.external_id = Some("C-3".into());
            }),
        ];
        let asks: Vec<&Update> = asks.iter().collect();
        let plan = Plan::new(&settings(), &current, &asks);
        assert_eq!(plan.tags_add, ["vip", "status:on-hold"]);
        assert_eq!(plan.tags_remove, ["status:active", "prospect"]);
        assert_eq!(plan.scalars.note, None, "the note is already what is asked");
        assert_eq!(plan.scalars.tax_exempt, Some(true));
        let keys: Vec<String> = plan
            .metafields
            .iter()
            .map(|m| format!("{}.{}={}", m.namespace, m.key, m.value))
            .collect();
        assert_eq!(
            keys,
            ["crm.score=7", "xconnector.crm=C-3"],
            "the unchanged tier is not written"
        );
        assert_eq!(plan.consent, None);
        assert_eq!(plan.writes(), 5);
        let nothing = Plan::new(
            &settings(),
            &current,
            &[&update(|u| u.note = Some("old".into()))],
        );
        assert_eq!(nothing.writes(), 0);
    }

    #[test]
    fn an_older_change_loses_to_shopify_on_fields_both_sides_own() {
        let current = customer(&[]);
        let old = update(|u| {
            u.note = Some("from the crm".into());
            u.tax_exempt = Some(true);
            u.as_of = Some(parse_time("2026-05-01T00:00:00Z").unwrap() as i64);
        });
        let mut s = settings();
        s.ownership.insert(Group::Tax, Owner::Backoffice);
        let plan = Plan::new(&s, &current, &[&old]);
        assert_eq!(
            plan.scalars.note, None,
            "note is owned by both: Shopify's newer value stays"
        );
        assert_eq!(
            plan.scalars.tax_exempt,
            Some(true),
            "tax is the back office's"
        );
        assert_eq!(plan.skipped_stale, 1);
    }

    #[test]
    fn status_tags_replace_only_their_own_kind() {
        let mut tags = vec![
            "vip".to_string(),
            "Status:active".to_string(),
            "statusquo".to_string(),
        ];
        replace_prefixed(&mut tags, "status:", "churned");
        assert_eq!(tags, ["vip", "statusquo", "status:churned"]);
    }
}
