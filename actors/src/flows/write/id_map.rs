//! Back-office key → Shopify id, remembered.

use std::collections::HashMap;

use crate::flows::bounded::Bounded;
use crate::store::{StoreError, StoreHandle};

/// Writes per store request when recording a whole catalogue's map.
const CHUNK: usize = 5_000;

/// Keys kept in memory at most (about 10 MiB of SKUs); the rest are read from the store again
/// when they come up.
pub const IN_MEMORY: usize = 100_000;

/// A map from a back-office key to the numeric id of a Shopify object, in memory and in the
/// store (namespace `namespace`, values 8 bytes big-endian; an empty value is a forgotten key).
/// Memory caches the store, filled on demand and bounded ([`IN_MEMORY`] keys, those in use
/// kept): what is recorded goes to the store first.
#[derive(Debug)]
pub struct IdMap {
    namespace: &'static str,
    memory: Bounded<String, u64>,
}

impl IdMap {
    pub fn new(namespace: &'static str) -> IdMap {
        IdMap::with_capacity(namespace, IN_MEMORY)
    }

    /// A map that keeps at most `keys` keys in memory.
    pub fn with_capacity(namespace: &'static str, keys: usize) -> IdMap {
        IdMap {
            namespace,
            memory: Bounded::new(keys),
        }
    }

    /// The id of `key` if memory still has it (the store may have it even so: see
    /// [`IdMap::known`]).
    pub fn get(&mut self, key: &str) -> Option<u64> {
        self.memory.get(key)
    }

    /// The ids of `keys` known in memory or the store; keys neither knows are left out.
    pub async fn known<'k>(
        &mut self,
        store: &StoreHandle,
        keys: impl IntoIterator<Item = &'k String>,
    ) -> Result<HashMap<String, u64>, StoreError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for key in keys {
            match self.memory.get(key.as_str()) {
                Some(id) => {
                    found.insert(key.clone(), id);
                }
                None => missing.push(key.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let stored = store.mappings(self.namespace, missing.clone()).await?;
        for (key, value) in missing.into_iter().zip(stored) {
            if let Some(id) = value.as_deref().and_then(be_u64) {
                self.memory.insert(key.clone(), id);
                found.insert(key, id);
            }
        }
        Ok(found)
    }

    /// Records `pairs` (a later pair of the same key wins), in the store and then in memory.
    pub async fn record(
        &mut self,
        store: &StoreHandle,
        pairs: &[(String, u64)],
    ) -> Result<(), StoreError> {
        for chunk in pairs.chunks(CHUNK) {
            let values = chunk
                .iter()
                .map(|(key, id)| (key.clone(), id.to_be_bytes().to_vec()))
                .collect();
            store.set_mappings(self.namespace, values).await?;
        }
        self.memory.extend(pairs.iter().cloned());
        Ok(())
    }

    /// Forgets `keys` (Shopify no longer has the objects they mapped to).
    pub async fn forget(&mut self, store: &StoreHandle, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            self.memory.remove(key.as_str());
        }
        let values = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        store.set_mappings(self.namespace, values).await
    }
}

fn be_u64(b: &[u8]) -> Option<u64> {
    b.try_into().ok().map(u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::TestStore;

    #[tokio::test]
    async fn what_is_recorded_survives_a_new_map_and_forgetting_removes_it() {
        let test = TestStore::start().await;
        let store = test.store();
        let mut map = IdMap::new("test.sku");
        map.record(store, &[("A".into(), 1), ("B".into(), 2), ("A".into(), 3)])
            .await
            .unwrap();
        assert_eq!(map.get("A"), Some(3));
        // A new map (a restarted flow) finds them in the store.
        let mut fresh = IdMap::new("test.sku");
        let keys = ["A".to_string(), "B".to_string(), "C".to_string()];
        let known = fresh.known(store, &keys).await.unwrap();
        assert_eq!(known, HashMap::from([("A".into(), 3), ("B".into(), 2)]));
        assert_eq!(fresh.get("B"), Some(2));
        fresh.forget(store, &["B".to_string()]).await.unwrap();
        assert_eq!(fresh.get("B"), None);
        let again = IdMap::new("test.sku").known(store, &keys).await.unwrap();
        assert_eq!(again, HashMap::from([("A".into(), 3)]));
        // Memory keeps only so many keys; the store still answers for the others.
        let mut small = IdMap::with_capacity("test.many", 10);
        let pairs: Vec<(String, u64)> = (0..100).map(|n| (format!("SKU-{n}"), n)).collect();
        small.record(store, &pairs).await.unwrap();
        assert!(
            small.memory.len() <= 10,
            "{} keys in memory",
            small.memory.len()
        );
        assert_eq!(small.get("SKU-0"), None);
        let wanted: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
        let known = small.known(store, &wanted).await.unwrap();
        assert_eq!(known.len(), 100);
        assert_eq!(known["SKU-0"], 0);
        assert!(small.memory.len() <= 10);
        // Another namespace is another map.
        assert!(
            IdMap::new("other.sku")
                .known(store, &keys)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
