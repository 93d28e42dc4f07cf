//! `metafieldsSet` for any flow: the metafields of many owners in as few calls as Shopify
//! allows, one bad input failing only its owner.

use std::collections::BTreeMap;

use super::{Failed, user_error_text};
use crate::rate_limiter::Lane;
use crate::shopify::ShopifyHandle;
use crate::shopify::error::UserError;
use crate::shopify::operations::customers::{
    MAX_METAFIELDS, MetafieldInput, MetafieldsSet, MetafieldsVariables,
};

/// Writes metafields of many owners (customers, products), 25 per call. Shopify applies a call all or nothing,
/// so an input it refuses fails its owner and the rest of the call is sent again without that
/// owner's inputs. Returns the owners that failed.
pub async fn write_metafields(
    shopify: &ShopifyHandle,
    lane: Lane,
    inputs: Vec<(u64, MetafieldInput)>,
) -> BTreeMap<u64, Failed> {
    let mut failed: BTreeMap<u64, Failed> = BTreeMap::new();
    let mut pending: Vec<(u64, MetafieldInput)> = inputs;
    while !pending.is_empty() {
        let take = pending.len().min(MAX_METAFIELDS);
        let mut chunk: Vec<(u64, MetafieldInput)> = pending.drain(..take).collect();
        loop {
            chunk.retain(|(id, _)| !failed.contains_key(id));
            if chunk.is_empty() {
                break;
            }
            let variables = MetafieldsVariables {
                metafields: chunk.iter().map(|(_, m)| m.clone()).collect(),
            };
            let errors = match shopify.run::<MetafieldsSet>(lane, &variables).await {
                Ok(r) => match r.payload {
                    Some(p) => p.user_errors,
                    None => {
                        chunk.iter().for_each(|(id, _)| {
                            failed.insert(
                                *id,
                                Failed::Refused("shopify: metafieldsSet returned nothing".into()),
                            );
                        });
                        break;
                    }
                },
                Err(e) => {
                    let f = Failed::from(&e);
                    chunk.iter().for_each(|(id, _)| {
                        failed.insert(*id, f.clone());
                    });
                    break;
                }
            };
            if errors.is_empty() {
                break;
            }
            let mut blamed = false;
            for e in &errors {
                let index = e
                    .element_index
                    .or_else(|| e.error.field.get(1).and_then(|i| i.parse().ok()));
                if let Some((id, m)) = index.and_then(|i| chunk.get(i)) {
                    blamed = true;
                    failed.entry(*id).or_insert_with(|| {
                        Failed::Refused(format!(
                            "shopify: metafieldsSet refused {}.{}: {}",
                            m.namespace,
                            m.key,
                            user_error_text(&e.error)
                        ))
                    });
                }
            }
            if !blamed {
                // No input to blame: the call as a whole was refused.
                let errs: Vec<UserError> = errors.iter().map(|e| e.error.clone()).collect();
                let f = Failed::refused("metafieldsSet", &errs);
                chunk.iter().for_each(|(id, _)| {
                    failed.insert(*id, f.clone());
                });
                break;
            }
        }
    }
    failed
}
