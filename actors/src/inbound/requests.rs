//! Items a flow makes later from a request's items, linked to the request: a feed chunk done
//! with some of its levels held as exceptions of their own must not read as simply applied
//! when the sender asks `GET /api/v1/requests/{id}` what became of it.
//!
//! The intake keeps each request's own items under `id:{request}` in [`NAMESPACE`]; the items
//! derived from them are kept apart, under `derived:{request}`, so that the intake and a
//! flow never write the same key (the intake writes its record once; each flow's writer
//! processes one batch at a time, so its read-modify-write below never races itself).

use std::collections::BTreeMap;

use crate::item::ItemId;
use crate::store::{StoreError, StoreHandle};

/// The store namespace of requests.
pub const NAMESPACE: &str = "requests";

fn derived_key(request: &str) -> String {
    format!("derived:{request}")
}

/// The items derived from request `request`'s, oldest first.
pub async fn derived(store: &StoreHandle, request: &str) -> Result<Vec<ItemId>, StoreError> {
    let raw = store
        .mappings(NAMESPACE, vec![derived_key(request)])
        .await?
        .into_iter()
        .next()
        .flatten();
    Ok(decode(raw.as_deref()))
}

/// Links items to the requests they were derived from (request id → new items).
pub async fn link(
    store: &StoreHandle,
    links: &BTreeMap<String, Vec<ItemId>>,
) -> Result<(), StoreError> {
    if links.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = links.keys().map(|r| derived_key(r)).collect();
    let known = store.mappings(NAMESPACE, keys.clone()).await?;
    let pairs = keys
        .into_iter()
        .zip(known)
        .zip(links.values())
        .map(|((key, raw), new)| {
            let mut ids = decode(raw.as_deref());
            ids.extend(
                new.iter()
                    .filter(|id| !ids.contains(id))
                    .collect::<Vec<_>>(),
            );
            let ids: Vec<u64> = ids.iter().map(|i| i.0).collect();
            (key, serde_json::to_vec(&ids).unwrap_or_default())
        })
        .collect();
    store.set_mappings(NAMESPACE, pairs).await
}

fn decode(raw: Option<&[u8]>) -> Vec<ItemId> {
    raw.and_then(|r| serde_json::from_slice::<Vec<u64>>(r).ok())
        .unwrap_or_default()
        .into_iter()
        .map(ItemId)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::TestStore;

    #[tokio::test]
    async fn links_add_up_per_request_once_each() {
        let test = TestStore::start().await;
        let store = test.store();
        let links = |pairs: &[(&str, &[u64])]| -> BTreeMap<String, Vec<ItemId>> {
            pairs
                .iter()
                .map(|(r, ids)| (r.to_string(), ids.iter().copied().map(ItemId).collect()))
                .collect()
        };
        link(store, &links(&[("r1", &[5, 6]), ("r2", &[7])]))
            .await
            .unwrap();
        link(store, &links(&[("r1", &[6, 9])])).await.unwrap();
        assert_eq!(derived(store, "r1").await.unwrap(), [5, 6, 9].map(ItemId));
        assert_eq!(derived(store, "r2").await.unwrap(), [ItemId(7)]);
        assert!(derived(store, "r3").await.unwrap().is_empty());
    }
}
