//! The echo log: what a flow wrote to Shopify, per resource, so that the webhook Shopify sends
//! about that write (its echo) is told from a change someone made in Shopify. A both-way flow
//! needs it: without it, every write would come back as a change, go out to the back office,
//! and come back in as a write.
//!
//! Kept in the store (namespace `echo.FLOW`), so a restart between a write and its echo still
//! recognises it. Each resource remembers its last few writes for a day: Shopify may deliver
//! the echoes of a burst of writes out of order, and late.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::item::{Millis, now_ms};
use crate::store::{StoreError, StoreHandle};

/// Writes remembered per resource.
const KEEP: usize = 8;
/// How long a write can still come back as an echo.
const TTL: Millis = 24 * 3600 * 1000;

/// Recorded beside the writing system: some system's write explains the change.
pub const ANY_SYSTEM: &str = "*";

/// The echo log's entry for a write by `system` that left field group `group` of record `id`
/// at fingerprint `fp`: one resource per record and group, so that a write changing many
/// groups does not push the log's older entries out.
pub fn entry(id: u64, system: &str, group: &str, fp: u64) -> (String, String) {
    (format!("{id}:{group}"), format!("{system}|{fp:016x}"))
}

/// A fingerprint of a value, stable across builds (fingerprints are stored): the first 8 bytes
/// of the SHA-256 of its JSON.
pub fn fingerprint(value: &serde_json::Value) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(value.to_string().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// One flow's echo log.
#[derive(Debug, Clone)]
pub struct EchoLog {
    namespace: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Written {
    /// The fingerprint of the value written.
    value: String,
    at: Millis,
}

impl EchoLog {
    pub fn new(flow: &str) -> EchoLog {
        EchoLog {
            namespace: format!("echo.{flow}"),
        }
    }

    /// Records that `writes` (resource key, value written) just reached Shopify. Only the
    /// flow's own writer records, one round at a time, so the read-modify-write below never
    /// races another recorder.
    pub async fn record(
        &self,
        store: &StoreHandle,
        writes: &[(String, String)],
    ) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        // One list per resource, however many of this call's writes are about it.
        let mut lists: BTreeMap<&str, Vec<Written>> = BTreeMap::new();
        let keys: Vec<String> = writes
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let known = store.mappings(&self.namespace, keys.clone()).await?;
        for (key, raw) in keys.iter().zip(known) {
            lists.insert(key, decode(raw.as_deref()));
        }
        for (key, value) in writes {
            let Some(list) = lists.get_mut(key.as_str()) else {
                continue;
            };
            list.retain(|w| now.saturating_sub(w.at) < TTL && w.value != *value);
            list.push(Written {
                value: value.clone(),
                at: now,
            });
            if list.len() > KEEP {
                list.drain(..list.len() - KEEP);
            }
        }
        let pairs = lists
            .into_iter()
            .map(|(key, list)| {
                (
                    key.to_string(),
                    serde_json::to_vec(&list).unwrap_or_default(),
                )
            })
            .collect();
        store.set_mappings(&self.namespace, pairs).await
    }

    /// True when `value` of resource `key`, as a webhook reports it, is one this flow wrote
    /// recently: the webhook is an echo, not a change made in Shopify.
    pub async fn is_echo(
        &self,
        store: &StoreHandle,
        key: &str,
        value: &str,
    ) -> Result<bool, StoreError> {
        let reported = [(key.to_string(), value.to_string())];
        Ok(self.echoes(store, &reported).await?.first() == Some(&true))
    }

    /// [`EchoLog::is_echo`] for many reports (resource key, value) at once: one store read.
    pub async fn echoes(
        &self,
        store: &StoreHandle,
        reported: &[(String, String)],
    ) -> Result<Vec<bool>, StoreError> {
        let keys = reported.iter().map(|(k, _)| k.clone()).collect();
        let known = store.mappings(&self.namespace, keys).await?;
        let now = now_ms();
        Ok(reported
            .iter()
            .zip(known)
            .map(|((_, value), raw)| {
                decode(raw.as_deref())
                    .iter()
                    .any(|w| w.value == *value && now.saturating_sub(w.at) < TTL)
            })
            .collect())
    }
    /// Of `reported` (resource key, value), the ones that are echoes: [`EchoLog::echoes`] as
    /// the set a publisher looks its reports up in.
    pub async fn echoed(
        &self,
        store: &StoreHandle,
        reported: Vec<(String, String)>,
    ) -> Result<std::collections::BTreeSet<(String, String)>, StoreError> {
        let flags = self.echoes(store, &reported).await?;
        Ok(reported
            .into_iter()
            .zip(flags)
            .filter(|(_, echo)| *echo)
            .map(|(r, _)| r)
            .collect())
    }
}

/// An unreadable entry is an empty one: the worst case is an echo taken for a change.
fn decode(raw: Option<&[u8]>) -> Vec<Written> {
    raw.and_then(|r| serde_json::from_slice(r).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::TestStore;

    #[tokio::test]
    async fn recognises_recent_writes_of_a_resource_and_nothing_else() {
        let test = TestStore::start().await;
        let store = test.store();
        let log = EchoLog::new("inventory");
        let w = |k: &str, v: &str| (k.to_string(), v.to_string());
        log.record(store, &[w("1:2", "7"), w("1:3", "0")])
            .await
            .unwrap();
        log.record(store, &[w("1:2", "9")]).await.unwrap();
        // Several writes of one resource in one call are all kept.
        log.record(store, &[w("6:1", "a"), w("6:1", "b")])
            .await
            .unwrap();
        assert!(log.is_echo(store, "6:1", "a").await.unwrap());
        assert!(log.is_echo(store, "6:1", "b").await.unwrap());
        // Both writes of 1:2 may still echo, in either order.
        assert!(log.is_echo(store, "1:2", "9").await.unwrap());
        assert!(log.is_echo(store, "1:2", "7").await.unwrap());
        assert!(log.is_echo(store, "1:3", "0").await.unwrap());
        // A value never written, or another resource, is a change made in Shopify.
        assert!(!log.is_echo(store, "1:2", "8").await.unwrap());
        assert!(!log.is_echo(store, "5:2", "7").await.unwrap());
        // Another flow's log is its own.
        assert!(
            !EchoLog::new("products")
                .is_echo(store, "1:2", "9")
                .await
                .unwrap()
        );
        // Only the last KEEP writes are remembered.
        for v in 0..KEEP + 2 {
            log.record(store, &[w("4:4", &v.to_string())])
                .await
                .unwrap();
        }
        assert!(!log.is_echo(store, "4:4", "0").await.unwrap());
        assert!(!log.is_echo(store, "4:4", "1").await.unwrap());
        assert!(log.is_echo(store, "4:4", "2").await.unwrap());
        assert!(
            log.is_echo(store, "4:4", &(KEEP + 1).to_string())
                .await
                .unwrap()
        );
    }
}
