//! In: a batch of product master records written to Shopify, each product concurrently (the
//! rate limiter's products lane paces them).
//!
//! For each record, the last one of the batch for its product:
//! 1. Its digest is compared with the last one written: the same record is not written again.
//! 2. A product with no record here (a first push, or a lost store) is looked for by handle,
//!    the batch's handles in one search per 50 (a record without a handle: by the external-id
//!    metafield, `customId`); one found is read for its variant and image ids, so the write
//!    updates them in place and leaves what Shopify owns alone.
//! 3. One `productSet` with the whole product ([`super::desired`]), synchronous for a small
//!    product, asynchronous for a large one and then followed until Shopify completes it.
//!    Metafields of an existing product go by `metafieldsSet`, which adds without deleting.
//! 4. The ids Shopify gave the variants and images are kept for the next write, the external id
//!    is mapped, and each group Shopify owns that the write set goes into the echo log under
//!    the sending system, so the `products/update` it causes is not sent back. Images Shopify
//!    could not fetch become warnings in the item's note.
//!
//! A write is the whole desired state, so a retry after a lost answer writes the same product
//! again and never a second one: productSet finds it by id, external id or handle.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use tracing::debug;

use super::canonical::{Group, Product};
use super::inbound::{Identity, Master, combination};
use super::record::{self, Applied, EXTERNAL_IDS, digest};
use super::{FLOW, Settings, desired};
use crate::flows::both_ways::{given, needs_shopify};
use crate::flows::write::echo::{ANY_SYSTEM, entry};
use crate::flows::write::{EchoLog, Failed, IdMap, write_metafields};
use crate::flows::{FlowContext, Outcome};
use crate::item::Claimed;
use crate::rate_limiter::Lane;
use crate::shopify::gid::ProductId;
use crate::shopify::operations::Operation;
use crate::shopify::operations::bulk::BulkStatus;
use crate::shopify::operations::customers::{CustomId, MetafieldInput};
use crate::shopify::operations::products::{
    HandlesVariables, IdVariables, LookupVariables, MAX_HANDLES, OperationVariables, OwnedProduct,
    ProductByIdentifier, ProductMetafield, ProductOperation, ProductSet, ProductVariantIds,
    ProductWrittenById, ProductsByHandle, SetIdentifier, SetPayload, SetResponse, SetVariables,
    VariantIds, VariantPageVariables, WrittenProduct,
};
use crate::shopify::operations::{next_page, search_quote};
use crate::shopify::{ShopifyError, ShopifyHandle};

/// How often, and how long, an asynchronous productSet is followed before the item retries.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);
const FOLLOW_MAX: Duration = Duration::from_secs(2);
const FOLLOW_POLLS: usize = 120;

/// What became of one record.
enum Wrote {
    /// The same record as last written: nothing sent.
    Unchanged {
        product: u64,
    },
    Written(Box<Written>),
}

struct Written {
    applied: Applied,
    /// What Shopify owns of the product after the write.
    owned: OwnedProduct,
    created: bool,
    /// The groups the write set (all of them for a product it created).
    set: Vec<Group>,
    note: String,
}

pub(super) async fn apply(
    settings: &Settings,
    ctx: &FlowContext,
    items: &[&Claimed],
) -> Vec<Outcome> {
    let Some(shopify) = &ctx.shopify else {
        return needs_shopify(items, FLOW);
    };
    let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
    let mut masters: Vec<Option<Master>> = Vec::with_capacity(items.len());
    // The last record of the batch for each product is the one that counts.
    let mut latest: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        match Master::decode_payload(&item.payload) {
            Ok(m) => {
                if let Some(earlier) = latest.insert(m.identity().key(), i) {
                    outcomes[earlier] = Some(Outcome::Noted {
                        note: format!(
                            "superseded by a later record of the same product (item {})",
                            items[i].item.id
                        ),
                    });
                }
                masters.push(Some(m));
            }
            Err(reason) => {
                outcomes[i] = Some(Outcome::Exception { reason });
                masters.push(None);
            }
        }
    }
    let keys: Vec<String> = latest.keys().cloned().collect();
    let applied = match record::load_applied(&ctx.store, keys.clone()).await {
        Ok(a) => a,
        Err(e) => return vec![Outcome::from(e); items.len()],
    };
    let unknown: Vec<&str> = latest
        .values()
        .zip(&applied)
        .filter(|(_, a)| a.product == 0)
        .filter_map(|(&i, _)| masters[i].as_ref()?.handle.as_deref())
        .collect();
    let by_handle = match by_handle(shopify, &unknown).await {
        Ok(found) => found,
        Err(e) => return vec![Outcome::from(&e); items.len()],
    };
    // Products new to Shopify (no record, none under their handle): many at once go in one
    // bulk mutation, which Shopify meters as one call; the rest one productSet each.
    let jobs: Vec<(usize, &Master, Applied, Option<u64>)> = latest
        .values()
        .zip(applied)
        .filter_map(|(&i, applied)| {
            let master = masters[i].as_ref()?;
            let found = master
                .handle
                .as_ref()
                .and_then(|h| by_handle.get(h))
                .copied();
            Some((i, master, applied, found))
        })
        .collect();
    let new = |(_, m, a, f): &(usize, &Master, Applied, Option<u64>)| {
        a.product == 0 && f.is_none() && m.handle.is_some()
    };
    let fresh = jobs.iter().filter(|j| new(j)).count();
    let bulk_now = settings.bulk_over > 0 && fresh >= settings.bulk_over;
    let (bulk_jobs, one_by_one): (Vec<_>, Vec<_>) =
        jobs.into_iter().partition(|j| bulk_now && new(j));
    let writes = one_by_one
        .into_iter()
        .map(|(i, master, applied, found)| async move {
            (
                i,
                write_one(settings, shopify, master, applied, found).await,
            )
        });
    let mut results = join_all(writes).await;
    if !bulk_jobs.is_empty() {
        let jobs: Vec<(usize, &Master)> = bulk_jobs.iter().map(|(i, m, _, _)| (*i, *m)).collect();
        results.extend(bulk_create(settings, shopify, &jobs).await);
    }
    let mut saved: Vec<(String, Applied)> = Vec::new();
    let mut mapped: Vec<(String, u64)> = Vec::new();
    let mut echoes: Vec<(String, String)> = Vec::new();
    let mut notes: BTreeMap<usize, Outcome> = BTreeMap::new();
    for (i, result) in results {
        let Some(master) = masters[i].as_ref() else {
            continue;
        };
        match result {
            Ok(Wrote::Unchanged { product }) => {
                notes.insert(
                    i,
                    Outcome::Noted {
                        note: format!(
                            "product gid://shopify/Product/{product}: unchanged since the last write; nothing sent"
                        ),
                    },
                );
            }
            Ok(Wrote::Written(w)) => {
                let id = w.owned.id.id();
                if let Some(external) = &master.external_id {
                    mapped.push((format!("{}\u{1f}{external}", master.source), id));
                }
                let now = Product::from_graphql(&w.owned, &settings.external_namespace);
                for g in &w.set {
                    let fp = now.fingerprint(*g);
                    for system in [master.source.as_str(), ANY_SYSTEM] {
                        echoes.push(entry(id, system, g.name(), fp));
                    }
                }
                saved.push((master.identity().key(), w.applied));
                notes.insert(i, Outcome::Noted { note: w.note });
                if w.created {
                    debug!(product = id, "product created");
                }
            }
            Err(f) => {
                notes.insert(i, f.outcome());
            }
        }
    }
    // What was written is remembered before any item is done: a crash in between writes the
    // same products again, which changes nothing.
    let remembered = async {
        if !mapped.is_empty() {
            IdMap::new(EXTERNAL_IDS).record(&ctx.store, &mapped).await?;
        }
        EchoLog::new(FLOW).record(&ctx.store, &echoes).await?;
        let refs: Vec<(String, &Applied)> = saved.iter().map(|(k, a)| (k.clone(), a)).collect();
        record::save_applied(&ctx.store, &refs).await
    };
    if let Err(e) = remembered.await {
        return vec![Outcome::from(e); items.len()];
    }
    for (i, o) in notes {
        outcomes[i] = Some(o);
    }
    outcomes.into_iter().map(given).collect()
}

/// `found`: the product Shopify has under the record's handle, when the flow has no record.
async fn write_one(
    settings: &Settings,
    shopify: &ShopifyHandle,
    master: &Master,
    applied: Applied,
    found: Option<u64>,
) -> Result<Wrote, Failed> {
    let digest = digest(master);
    if applied.product != 0 && applied.digest == digest {
        return Ok(Wrote::Unchanged {
            product: applied.product,
        });
    }
    let mut known = applied;
    // A product found with this record's external id was made by this system's own write,
    // whose record a crash lost: its groups are as that write left them, echoes included.
    let mut ours = false;
    if known.product == 0
        && let Some(found) = find(settings, shopify, master, found).await?
    {
        ours = master.external_id.is_some()
            && external_id(settings, master, &found) == master.external_id;
        known = ids_of(shopify, &found).await?;
    }
    match set(settings, shopify, master, &known, &digest, ours).await {
        // Deleted in Shopify since the last write: made again, found by what names it.
        Err(Failed::Refused(reason)) if known.product != 0 && reason.contains("NOT_FOUND") => {
            debug!(
                product = known.product,
                "product gone from Shopify; writing it anew"
            );
            set(
                settings,
                shopify,
                master,
                &Applied::default(),
                &digest,
                false,
            )
            .await
        }
        other => other,
    }
}

/// A record's productSet, ready to send.
struct Prepared {
    variables: SetVariables,
    exists: bool,
    /// The groups the write sets (see [`Written::set`]).
    set: Vec<Group>,
    variants: usize,
    images: usize,
}

fn prepare(settings: &Settings, master: &Master, known: &Applied, ours: bool) -> Prepared {
    let exists = known.product != 0;
    let input = desired::input(settings, master, known, exists);
    let synchronous = input.variants.len() + input.files.len() <= settings.async_over;
    let identifier = if exists {
        SetIdentifier::Id(ProductId::new(known.product))
    } else {
        identifier(settings, &master.identity())
    };
    let set: Vec<Group> = Group::ALL
        .into_iter()
        .filter(|g| match g {
            // A product this write creates is in every group as the write left it.
            _ if !exists || ours => true,
            Group::Tags => input.tags.is_some(),
            Group::Seo => input.seo.is_some(),
            Group::Status => input.status.is_some(),
            Group::Metafields => input.metafields.is_some(),
            Group::Collections | Group::Publications => false,
        })
        .collect();
    Prepared {
        exists,
        set,
        variants: input.variants.len(),
        images: input.files.len(),
        variables: SetVariables {
            identifier: Some(identifier),
            input,
            synchronous,
        },
    }
}

/// Writes the record with productSet and what follows it.
async fn set(
    settings: &Settings,
    shopify: &ShopifyHandle,
    master: &Master,
    known: &Applied,
    digest: &str,
    ours: bool,
) -> Result<Wrote, Failed> {
    let prepared = prepare(settings, master, known, ours);
    let answer = shopify
        .run::<ProductSet>(Lane::Products, &prepared.variables)
        .await
        .map_err(|e| Failed::from(&e))?;
    let payload = answer
        .payload
        .ok_or_else(|| Failed::Refused("shopify: productSet returned nothing".into()))?;
    if !payload.user_errors.is_empty() {
        return Err(refused(master, &payload.user_errors));
    }
    let product = match (payload.product, payload.product_set_operation) {
        (Some(p), _) => p,
        (None, Some(op)) => follow(shopify, master, &op.id).await?,
        (None, None) => {
            return Err(Failed::Refused(
                "shopify: productSet returned neither a product nor an operation".into(),
            ));
        }
    };
    let how = if prepared.variables.synchronous {
        ""
    } else {
        " (asynchronous)"
    };
    finish(
        settings, shopify, master, known, digest, prepared, product, how,
    )
    .await
}

/// After a record's productSet: the ids it left, the metafields of an existing product, the
/// images Shopify could not fetch, and what to remember.
#[allow(clippy::too_many_arguments)]
async fn finish(
    settings: &Settings,
    shopify: &ShopifyHandle,
    master: &Master,
    known: &Applied,
    digest: &str,
    prepared: Prepared,
    mut product: WrittenProduct,
    how: &str,
) -> Result<Wrote, Failed> {
    let Prepared {
        exists,
        mut set,
        variants: variant_count,
        images: image_count,
        ..
    } = prepared;
    let variants = all_variants(shopify, &product).await?;
    // The metafields of an existing product, when they changed.
    let wanted = desired::metafields(settings, master);
    let metafields_fp = desired::metafields_fingerprint(&wanted);
    if exists && !wanted.is_empty() && metafields_fp != known.metafields {
        let owner = product.owned.id.to_string();
        let inputs = wanted
            .iter()
            .map(|m| {
                (
                    0u64,
                    MetafieldInput {
                        owner_id: owner.clone(),
                        namespace: m.namespace.clone(),
                        key: m.key.clone(),
                        kind: m.kind.clone(),
                        value: m.value.clone(),
                        compare_digest: None,
                    },
                )
            })
            .collect();
        if let Some(f) = write_metafields(shopify, Lane::Products, inputs)
            .await
            .into_values()
            .next()
        {
            return Err(f);
        }
        merge_metafields(&mut product.owned, &wanted);
        set.push(Group::Metafields);
    }
    let mut media = BTreeMap::new();
    let mut warnings = Vec::new();
    for image in product.images() {
        let url = image
            .original_source
            .as_ref()
            .and_then(|s| s.url.clone())
            .unwrap_or_default();
        if image.status == "FAILED" {
            let why: Vec<String> = image
                .media_errors
                .iter()
                .map(|e| format!("{} ({})", e.message, e.code))
                .collect();
            warnings.push(format!("image {url} failed: {}", why.join("; ")));
        } else if !url.is_empty() {
            media.insert(url, image.id);
        }
    }
    let id = product.owned.id.id();
    let removed = known
        .variants
        .keys()
        .filter(|k| !variants.contains_key(*k))
        .count();
    let mapped = master
        .external_id
        .as_ref()
        .map(|x| format!(" ({} id {x})", master.source))
        .unwrap_or_default();
    let mut note = format!(
        "product gid://shopify/Product/{id}{mapped}: {} with productSet{how}, {variant_count} variants ({removed} removed), {image_count} images",
        if exists { "updated" } else { "created" },
    );
    if !warnings.is_empty() {
        note.push_str("; warnings: ");
        note.push_str(&warnings.join("; "));
    }
    Ok(Wrote::Written(Box::new(Written {
        applied: Applied {
            product: id,
            digest: digest.to_string(),
            variants,
            media,
            metafields: metafields_fp,
        },
        owned: product.owned,
        created: !exists,
        set,
        note,
    })))
}

/// Creates new products with one bulk mutation of productSet (which Shopify runs
/// synchronously inside it), then finishes each as [`set`] does. A failure of the operation as
/// a whole retries every record of it; a line Shopify refused fails its record alone.
async fn bulk_create(
    settings: &Settings,
    shopify: &ShopifyHandle,
    jobs: &[(usize, &Master)],
) -> Vec<(usize, Result<Wrote, Failed>)> {
    let fail_all = |f: Failed| jobs.iter().map(|(i, _)| (*i, Err(f.clone()))).collect();
    let known = Applied::default();
    let mut prepared: Vec<Prepared> = jobs
        .iter()
        .map(|(_, m)| prepare(settings, m, &known, false))
        .collect();
    let mut lines = Vec::new();
    for p in &mut prepared {
        p.variables.synchronous = true;
        match serde_json::to_vec(&p.variables) {
            Ok(line) => {
                lines.extend(line);
                lines.push(b'\n');
            }
            Err(e) => return fail_all(Failed::Refused(format!("cannot encode a product: {e}"))),
        }
    }
    let results = match run_bulk(shopify, lines).await {
        Ok(r) => r,
        Err(f) => return fail_all(f),
    };
    let mut out = Vec::with_capacity(jobs.len());
    let finishing = jobs
        .iter()
        .zip(prepared)
        .enumerate()
        .map(|(n, ((i, master), p))| {
            let line = results.get(&n).cloned();
            let known = &known;
            async move {
                let result = match line {
                    None => Err(Failed::Transient(Outcome::Retry {
                        error: "the bulk operation has no result for this product".into(),
                        after: None,
                    })),
                    Some(payload) if !payload.user_errors.is_empty() => {
                        Err(refused(master, &payload.user_errors))
                    }
                    Some(payload) => match payload.product {
                        Some(product) => {
                            let digest = digest(master);
                            finish(
                                settings,
                                shopify,
                                master,
                                known,
                                &digest,
                                p,
                                product,
                                " (in a bulk operation)",
                            )
                            .await
                        }
                        None => Err(Failed::Refused(
                            "shopify: the bulk productSet returned no product".into(),
                        )),
                    },
                };
                (*i, result)
            }
        });
    out.extend(join_all(finishing).await);
    out
}

/// Stages `lines`, runs the productSet bulk mutation over them, waits for it, and reads its
/// result: line number → that line's productSet payload.
async fn run_bulk(
    shopify: &ShopifyHandle,
    lines: Vec<u8>,
) -> Result<BTreeMap<usize, SetPayload>, Failed> {
    let id = shopify
        .start_bulk_mutation(Lane::Products, ProductSet::DOCUMENT, lines)
        .await
        .map_err(|e| Failed::from(&e))?;
    let mut wait = FOLLOW_EVERY;
    let mut state = None;
    for _ in 0..FOLLOW_POLLS {
        let read = shopify
            .bulk_operation(Lane::Products, &id)
            .await
            .map_err(|e| Failed::from(&e))?;
        match read {
            Some(op) if op.status.is_final() => {
                state = Some(op);
                break;
            }
            Some(_) => {}
            None => {
                return Err(Failed::Transient(Outcome::Retry {
                    error: format!("bulk operation {id} is unknown to Shopify"),
                    after: None,
                }));
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(FOLLOW_MAX);
    }
    let Some(op) = state else {
        return Err(Failed::Transient(Outcome::Retry {
            error: format!("bulk operation {id} still running; writing again later"),
            after: None,
        }));
    };
    if op.status != BulkStatus::Completed {
        return Err(Failed::Transient(Outcome::Retry {
            error: format!(
                "bulk operation {id} ended {:?} ({})",
                op.status,
                op.error_code.as_deref().unwrap_or("no error code")
            ),
            after: None,
        }));
    }
    let Some(url) = op.url else {
        return Ok(BTreeMap::new());
    };
    let text = shopify
        .bulk_result(&url)
        .await
        .map_err(|e| Failed::from(&e))?;
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(result) = serde_json::from_str::<BulkLine>(line) else {
            continue;
        };
        if let Some(payload) = result.data.and_then(|d| d.payload) {
            out.insert(result.line_number, payload);
        }
    }
    Ok(out)
}

/// One line of a bulk mutation's result.
#[derive(serde::Deserialize)]
struct BulkLine {
    #[serde(default)]
    data: Option<SetResponse>,
    #[serde(rename = "__lineNumber")]
    line_number: usize,
}

/// How productSet finds a product the flow has no id for.
fn identifier(settings: &Settings, identity: &Identity) -> SetIdentifier {
    match identity {
        Identity::External { system, id } => SetIdentifier::CustomId(CustomId {
            namespace: settings.external_namespace.clone(),
            key: system.clone(),
            value: id.clone(),
        }),
        Identity::Handle(h) => SetIdentifier::Handle(h.clone()),
    }
}

/// The products Shopify has under any of `handles`: handle → product id.
async fn by_handle(
    shopify: &ShopifyHandle,
    handles: &[&str],
) -> Result<BTreeMap<String, u64>, ShopifyError> {
    let mut found = BTreeMap::new();
    for chunk in handles.chunks(MAX_HANDLES) {
        let any: Vec<String> = chunk
            .iter()
            .map(|h| format!("handle:{}", search_quote(h)))
            .collect();
        let variables = HandlesVariables {
            first: chunk.len() as u32,
            query: format!(
                "({}) AND (status:active OR status:draft OR status:archived OR status:unlisted)",
                any.join(" OR ")
            ),
        };
        let page = shopify
            .run::<ProductsByHandle>(Lane::Products, &variables)
            .await?;
        for p in page.products.nodes {
            found.insert(p.handle, p.id.id());
        }
    }
    Ok(found)
}

/// The product Shopify has for a record the flow has no record of writing: the one found under
/// its handle, or, for a record without a handle, the one its external id names.
async fn find(
    settings: &Settings,
    shopify: &ShopifyHandle,
    master: &Master,
    found: Option<u64>,
) -> Result<Option<WrittenProduct>, Failed> {
    let id = match (found, &master.handle) {
        (Some(id), _) => id,
        (None, Some(_)) => return Ok(None),
        (None, None) => {
            let identifier = identifier(settings, &master.identity());
            let by_id = shopify
                .run::<ProductByIdentifier>(Lane::Products, &LookupVariables { identifier })
                .await
                .map_err(|e| Failed::from(&e))?;
            match by_id.product_by_identifier {
                Some(p) => p.id.id(),
                None => return Ok(None),
            }
        }
    };
    let read = shopify
        .run::<ProductWrittenById>(
            Lane::Products,
            &IdVariables {
                id: ProductId::new(id),
            },
        )
        .await
        .map_err(|e| Failed::from(&e))?;
    // A product this system knows by another id is not this record's: writing to it would
    // merge two of the PIM's products (the write by external id then meets the handle taken,
    // and Shopify's refusal says so).
    let theirs = read
        .product
        .as_ref()
        .and_then(|p| external_id(settings, master, p));
    if let (Some(theirs), Some(ours)) = (theirs, &master.external_id)
        && theirs != *ours
    {
        return Ok(None);
    }
    Ok(read.product)
}

/// The id the record's system has for a product, from its external-id metafield.
fn external_id(settings: &Settings, master: &Master, p: &WrittenProduct) -> Option<String> {
    p.owned
        .metafields
        .iter()
        .flat_map(|c| &c.nodes)
        .find(|m| m.namespace == settings.external_namespace && m.key == master.source)
        .map(|m| m.value.clone())
}

/// The ids a found product already has, as a record of it.
async fn ids_of(shopify: &ShopifyHandle, found: &WrittenProduct) -> Result<Applied, Failed> {
    let media = found
        .images()
        .into_iter()
        .filter(|i| i.status != "FAILED")
        .filter_map(|i| Some((i.original_source?.url?, i.id)))
        .collect();
    Ok(Applied {
        product: found.owned.id.id(),
        digest: String::new(),
        variants: all_variants(shopify, found).await?,
        media,
        metafields: 0,
    })
}

/// Every variant of a written product by its option values, reading past the first page.
async fn all_variants(
    shopify: &ShopifyHandle,
    product: &WrittenProduct,
) -> Result<BTreeMap<String, String>, Failed> {
    let mut out = BTreeMap::new();
    let add = |out: &mut BTreeMap<String, String>, nodes: &[VariantIds]| {
        for v in nodes {
            let key = combination(
                v.selected_options
                    .iter()
                    .map(|o| (o.name.as_str(), o.value.as_str())),
            );
            out.insert(key, v.id.to_string());
        }
    };
    add(&mut out, &product.variants.nodes);
    let mut after = next_page(&product.variants.page_info);
    while let Some(cursor) = after {
        let page = shopify
            .run::<ProductVariantIds>(
                Lane::Products,
                &VariantPageVariables {
                    id: product.owned.id.clone(),
                    after: Some(cursor),
                },
            )
            .await
            .map_err(|e| Failed::from(&e))?;
        let Some(page) = page.product else { break };
        add(&mut out, &page.variants.nodes);
        after = next_page(&page.variants.page_info);
    }
    Ok(out)
}

/// Follows an asynchronous productSet until Shopify completes it.
async fn follow(
    shopify: &ShopifyHandle,
    master: &Master,
    operation: &str,
) -> Result<WrittenProduct, Failed> {
    let mut wait = FOLLOW_EVERY;
    for _ in 0..FOLLOW_POLLS {
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(FOLLOW_MAX);
        let read = shopify
            .run::<ProductOperation>(
                Lane::Products,
                &OperationVariables {
                    id: operation.to_string(),
                },
            )
            .await
            .map_err(|e: ShopifyError| Failed::from(&e))?;
        let Some(op) = read.product_operation else {
            return Err(Failed::Refused(format!(
                "shopify: productSet operation {operation} is unknown"
            )));
        };
        if op.status.as_deref() != Some("COMPLETE") {
            continue;
        }
        if !op.user_errors.is_empty() {
            return Err(refused(master, &op.user_errors));
        }
        return op.product.ok_or_else(|| {
            Failed::Refused(format!(
                "shopify: productSet operation {operation} completed without a product"
            ))
        });
    }
    Err(Failed::Transient(Outcome::Retry {
        error: format!("productSet operation {operation} still running; writing again later"),
        after: None,
    }))
}

/// Shopify's refusal, naming the product.
fn refused(master: &Master, errors: &[crate::shopify::error::UserError]) -> Failed {
    match Failed::refused("productSet", errors) {
        Failed::Refused(reason) => Failed::Refused(format!(
            "{} ({}): {reason}",
            master.title,
            master.identity()
        )),
        other => other,
    }
}

/// The product's metafields as they are after a `metafieldsSet` of `written`.
fn merge_metafields(
    owned: &mut OwnedProduct,
    written: &[crate::shopify::operations::products::MetafieldSetInput],
) {
    let list = owned
        .metafields
        .get_or_insert_with(|| crate::shopify::operations::Connection {
            nodes: Vec::new(),
            page_info: Default::default(),
        });
    for m in written {
        list.nodes
            .retain(|n| !(n.namespace == m.namespace && n.key == m.key));
        list.nodes.push(ProductMetafield {
            namespace: m.namespace.clone(),
            key: m.key.clone(),
            kind: m.kind.clone(),
            value: m.value.clone(),
        });
    }
}
