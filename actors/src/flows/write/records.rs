//! A flow's own records in the store, as JSON under a namespace of its name (`customers`,
//! `products.applied`): read many at once (a record never written, or unreadable after a
//! format change, reads as the default), written many at once.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::{StoreError, StoreHandle};

pub async fn load_many<T: DeserializeOwned + Default>(
    store: &StoreHandle,
    namespace: &str,
    keys: Vec<String>,
) -> Result<Vec<T>, StoreError> {
    Ok(store
        .mappings(namespace, keys)
        .await?
        .into_iter()
        .map(|raw| {
            raw.and_then(|r| serde_json::from_slice(&r).ok())
                .unwrap_or_default()
        })
        .collect())
}

pub async fn save_many<T: Serialize>(
    store: &StoreHandle,
    namespace: &str,
    records: &[(String, &T)],
) -> Result<(), StoreError> {
    let mut values = Vec::with_capacity(records.len());
    for (key, record) in records {
        let value = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        values.push((key.clone(), value));
    }
    store.set_mappings(namespace, values).await
}

/// [`load_many`] of records keyed by a Shopify record's numeric id.
pub async fn load_by_id<T: DeserializeOwned + Default>(
    store: &StoreHandle,
    namespace: &str,
    ids: &[u64],
) -> Result<Vec<T>, StoreError> {
    load_many(store, namespace, ids.iter().map(u64::to_string).collect()).await
}

/// [`save_many`] of records keyed by a Shopify record's numeric id.
pub async fn save_by_id<T: Serialize>(
    store: &StoreHandle,
    namespace: &str,
    records: &[(u64, &T)],
) -> Result<(), StoreError> {
    let keyed: Vec<(String, &T)> = records.iter().map(|(id, r)| (id.to_string(), *r)).collect();
    save_many(store, namespace, &keyed).await
}
