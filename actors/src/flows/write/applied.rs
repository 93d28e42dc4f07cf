//! The applied-version guard: never write an older change over a newer one.

use crate::store::{StoreError, StoreHandle};

/// Per resource (a key such as `item:location`), the version (a time in ms, e.g. a feed's
/// `as_of`) of the last change written to Shopify, in the store (namespace `namespace`, values
/// 8 bytes big-endian).
#[derive(Debug, Clone)]
pub struct Applied {
    namespace: &'static str,
}

impl Applied {
    pub const fn new(namespace: &'static str) -> Applied {
        Applied { namespace }
    }

    /// The last applied version of each of `keys`, in order (`None`: never written).
    pub async fn versions(
        &self,
        store: &StoreHandle,
        keys: Vec<String>,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let raw = store.mappings(self.namespace, keys).await?;
        Ok(raw
            .into_iter()
            .map(|v| v.as_deref().and_then(be_i64))
            .collect())
    }

    /// Records versions just written. Call it before reporting the writes done, so that a done
    /// item always means its versions are on disk.
    pub async fn record(
        &self,
        store: &StoreHandle,
        written: &[(String, i64)],
    ) -> Result<(), StoreError> {
        let values = written
            .iter()
            .map(|(key, version)| (key.clone(), version.to_be_bytes().to_vec()))
            .collect();
        store.set_mappings(self.namespace, values).await
    }
}

/// True when a change of `version` is older than the one already applied: drop it.
pub fn superseded(version: i64, applied: Option<i64>) -> bool {
    applied.is_some_and(|a| version < a)
}

fn be_i64(b: &[u8]) -> Option<i64> {
    b.try_into().ok().map(i64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::TestStore;

    #[tokio::test]
    async fn recorded_versions_come_back_and_older_changes_are_superseded() {
        let test = TestStore::start().await;
        let store = test.store();
        let applied = Applied::new("test.applied");
        applied
            .record(store, &[("1:2".into(), 50), ("1:3".into(), 7)])
            .await
            .unwrap();
        let got = applied
            .versions(store, vec!["1:2".into(), "9:9".into(), "1:3".into()])
            .await
            .unwrap();
        assert_eq!(got, [Some(50), None, Some(7)]);
        assert!(superseded(49, got[0]));
        assert!(
            !superseded(50, got[0]),
            "the same version again is not older"
        );
        assert!(!superseded(1, got[1]), "nothing applied yet");
    }
}
