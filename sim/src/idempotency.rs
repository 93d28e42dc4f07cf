//! `@idempotent(key:)` bookkeeping: (mutation, key) → (fingerprint of the arguments, payload).
//!
//! A replay with the same key and the same arguments gets the stored payload back and changes
//! nothing; the same key with other arguments is `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`. The
//! whole mutation runs under the shop's lock, so a request can never see another one with the
//! same key in flight (`IDEMPOTENCY_CONCURRENT_REQUEST` cannot happen here). Failed attempts
//! (payloads with user errors) are stored too: a replay returns the same failure.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

use super::time::Timestamp;

/// How long a key is remembered. Shopify does not publish its window; 24 h is the common
/// assumption (SHOPIFY-NOTES §5).
pub const RETENTION_SECS: i64 = 24 * 3600;

/// Bound on remembered keys, so a long benchmark cannot grow memory without limit.
const MAX_ENTRIES: usize = 200_000;

#[derive(Debug, Default)]
pub(crate) struct IdempotencyStore {
    entries: HashMap<(String, String), Entry>,
    /// Insertion order, for expiry.
    order: VecDeque<((String, String), Timestamp)>,
}

#[derive(Debug)]
struct Entry {
    fingerprint: String,
    payload: Value,
    at: Timestamp,
}

/// What a key means for a new request.
#[derive(Debug, PartialEq)]
pub(crate) enum Lookup {
    /// Unknown key: execute and record.
    Miss,
    /// Seen with the same arguments: answer with this payload, apply nothing.
    Replay(Value),
    /// Seen with other arguments.
    Mismatch,
}

impl IdempotencyStore {
    pub(crate) fn lookup(
        &self,
        mutation: &str,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Lookup {
        match self.entries.get(&(mutation.to_string(), key.to_string())) {
            Some(e) if now.0 - e.at.0 <= RETENTION_SECS => {
                if e.fingerprint == fingerprint {
                    Lookup::Replay(e.payload.clone())
                } else {
                    Lookup::Mismatch
                }
            }
            _ => Lookup::Miss,
        }
    }

    pub(crate) fn record(
        &mut self,
        mutation: &str,
        key: &str,
        fingerprint: String,
        payload: Value,
        now: Timestamp,
    ) {
        while let Some((k, at)) = self.order.front() {
            if now.0 - at.0 > RETENTION_SECS || self.order.len() >= MAX_ENTRIES {
                if self.entries.get(k).is_some_and(|e| e.at == *at) {
                    self.entries.remove(k);
                }
                self.order.pop_front();
            } else {
                break;
            }
        }
        let k = (mutation.to_string(), key.to_string());
        self.order.push_back((k.clone(), now));
        self.entries.insert(
            k,
            Entry {
                fingerprint,
                payload,
                at: now,
            },
        );
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A canonical text of a JSON value (object keys sorted at every level), so that the same
/// arguments sent with keys in another order have the same fingerprint.
pub(crate) fn fingerprint(value: &Value) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), canonical(&map[k]));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    canonical(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replays_same_arguments_and_rejects_others_until_expiry() {
        let mut store = IdempotencyStore::default();
        let t0 = Timestamp(1_000_000);
        let fp = fingerprint(&json!({"b": 1, "a": [{"y": 2, "x": 1}]}));
        assert_eq!(fp, fingerprint(&json!({"a": [{"x": 1, "y": 2}], "b": 1})));
        assert_eq!(store.lookup("m", "k", &fp, t0), Lookup::Miss);
        store.record("m", "k", fp.clone(), json!({"ok": true}), t0);
        assert_eq!(
            store.lookup("m", "k", &fp, t0),
            Lookup::Replay(json!({"ok": true}))
        );
        assert_eq!(store.lookup("m", "k", "other", t0), Lookup::Mismatch);
        assert_eq!(store.lookup("other", "k", &fp, t0), Lookup::Miss);
        let later = t0.plus_secs(RETENTION_SECS + 1);
        assert_eq!(store.lookup("m", "k", &fp, later), Lookup::Miss);
        store.record("m", "k2", fp, json!(1), later);
        assert_eq!(store.len(), 1);
    }
}
