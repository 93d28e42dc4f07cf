//! Request ids and `Idempotency-Key`s: every accepted request is kept under its id with the
//! items it became, so that `GET /api/v1/requests/{id}` can say what became of each; a key is
//! kept with the fingerprint of the body first sent under it and what that was answered.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::info;
use xconnector_actors::inbound::{Parsed, requests};
use xconnector_actors::item::{ItemId, ItemState, Millis, now_ms};
use xconnector_actors::store::{StoreError, StoreHandle};

/// The store namespace of requests: `id:{request id}` → the items it became, and
/// `key:{resource}\n{source}\n{Idempotency-Key}` → the first body's fingerprint and answer. One
/// namespace, so that both are one durable write; flows link the items they derive from a
/// request's beside them ([`requests::link`]).
const NS_REQUESTS: &str = requests::NAMESPACE;
/// Longest `Idempotency-Key` accepted.
const MAX_KEY: usize = 200;

/// An `Idempotency-Key` as sent to one resource by one source.
pub struct Key<'a> {
    pub resource: &'a str,
    pub source: &'a str,
    pub key: &'a str,
    /// Of the body sent with it.
    pub fingerprint: &'a str,
}

impl Key<'_> {
    fn stored_as(&self) -> String {
        format!("key:{}\n{}\n{}", self.resource, self.source, self.key)
    }
}

/// What a key was first used for.
#[derive(Serialize, Deserialize)]
pub struct Remembered {
    pub fingerprint: String,
    pub answer: Value,
}

#[derive(Serialize, Deserialize)]
struct RequestRecord {
    source: String,
    received_at: Millis,
    items: Vec<u64>,
}

/// The `Idempotency-Key` header: absent, or 1 to 200 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str().map(str::trim) {
        Ok(key)
            if !key.is_empty()
                && key.len() <= MAX_KEY
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key.to_string()))
        }
        _ => Err(format!(
            "Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters"
        )),
    }
}

/// A fresh request id: when it was received, and a random part.
pub fn new_id(received_at: Millis) -> String {
    format!("{received_at}-{:08x}", fastrand::u32(..))
}

fn id_of(request: &str) -> String {
    format!("id:{request}")
}

/// What `key` was first used for, if it was.
pub async fn remembered(
    store: &StoreHandle,
    key: &Key<'_>,
) -> Result<Option<Remembered>, StoreError> {
    let raw = store
        .mappings(NS_REQUESTS, vec![key.stored_as()])
        .await?
        .into_iter()
        .next()
        .flatten();
    Ok(raw.and_then(|r| serde_json::from_slice(&r).ok()))
}

/// Stores an accepted request as its items in one durable write, then its record (and its key's)
/// in another; what the 202 says. With a key, the items carry it as their dedupe key, so two
/// requests racing with one key store one set of items.
pub async fn store(
    store: &StoreHandle,
    resource: &str,
    parsed: Parsed,
    id: &str,
    key: Option<&Key<'_>>,
) -> Result<Value, StoreError> {
    let source = parsed.source.clone();
    let accepted = parsed.accepted;
    let mut answer = json!({"request_id": id, "accepted": accepted, "source": source});
    if let Value::Object(fields) = &mut answer {
        fields.extend(parsed.answer.clone());
    }
    let items: Vec<_> = parsed
        .into_items(id)
        .into_iter()
        .enumerate()
        .map(|(i, item)| match key {
            Some(key) => item.dedupe(format!("request:{}#{i}", key.stored_as())),
            None => item,
        })
        .collect();
    let count = items.len();
    let stored = if items.is_empty() {
        Vec::new()
    } else {
        store.enqueue(items).await?
    };
    info!(resource, source = %source, request = id, accepted, items = count, "request accepted");
    let ids: Vec<u64> = stored.iter().map(|e| e.id.0).collect();
    answer["items"] = json!(ids);
    let record = RequestRecord {
        source,
        received_at: now_ms(),
        items: ids,
    };
    // Plain records of strings and numbers: serializing them cannot fail.
    let mut pairs = vec![(id_of(id), serde_json::to_vec(&record).unwrap_or_default())];
    if let Some(key) = key {
        let first = Remembered {
            fingerprint: key.fingerprint.to_string(),
            answer: answer.clone(),
        };
        pairs.push((
            key.stored_as(),
            serde_json::to_vec(&first).unwrap_or_default(),
        ));
    }
    store.set_mappings(NS_REQUESTS, pairs).await?;
    Ok(answer)
}

/// What became of each item request `id` was stored as; `None`: no such request.
pub async fn status(store: &StoreHandle, id: &str) -> Result<Option<Value>, StoreError> {
    let raw = store
        .mappings(NS_REQUESTS, vec![id_of(id)])
        .await?
        .into_iter()
        .next()
        .flatten();
    let Some(record) = raw.and_then(|r| serde_json::from_slice::<RequestRecord>(&r).ok()) else {
        return Ok(None);
    };
    let mut items = Vec::new();
    let mut summary = BTreeMap::<String, u64>::new();
    // Its own items, then those a flow made of parts of them (levels held as exceptions).
    let derived = requests::derived(store, id).await?;
    let own = record.items.into_iter().map(|i| (ItemId(i), false));
    for (item, from_flow) in own.chain(derived.into_iter().map(|i| (i, true))) {
        let mut entry = match store.get(item).await? {
            Some((found, _)) => {
                let state = match found.state {
                    ItemState::Done | ItemState::Resolved => "applied",
                    other => other.as_str(),
                };
                *summary.entry(state.to_string()).or_default() += 1;
                json!({"id": item.0, "state": state, "reason": found.last_error})
            }
            None => json!({"id": item.0, "state": "unknown"}),
        };
        if from_flow {
            entry["derived"] = true.into();
        }
        items.push(entry);
    }
    Ok(Some(json!({
        "request_id": id,
        "source": record.source,
        "received_at": record.received_at,
        "items": items,
        "summary": summary,
    })))
}
