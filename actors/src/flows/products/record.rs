//! What xconnector keeps per product:
//! - per product master (by its identity: the sender's external id, else the handle), what was
//!   last written: the record's digest, so an unchanged record is not written again, and the
//!   ids Shopify gave its variants and images, so the next write updates them in place;
//! - per Shopify product, what was last published: the newest version processed, each
//!   target's newest version, and the fingerprints of the groups sent.
//!
//! Only the products flow writes these, one batch at a time, so no lock guards them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::canonical::Product;
use super::inbound::Master;
use crate::flows::fan_out::Deliveries;
use crate::flows::write::{IdMap, records};
use crate::item::Millis;
use crate::store::{StoreError, StoreHandle};

const APPLIED: &str = "products.applied";
const PUBLISHED: &str = "products";
/// External id (`system` + `\u{1f}` + id) → the product's numeric id.
pub const EXTERNAL_IDS: &str = "products.external";

/// The last write of one product master.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The product's numeric id; 0 before the first write.
    pub product: u64,
    /// [`digest`] of the record last written.
    pub digest: String,
    /// Variant (by [`super::inbound::combination`]) → its GID.
    pub variants: BTreeMap<String, String>,
    /// Image URL → its media GID.
    pub media: BTreeMap<String, String>,
    /// Fingerprint of the metafields last written (external id included).
    pub metafields: u64,
}

/// The SHA-256 of a record (hex): the same record, the same digest, so a nightly full push
/// writes only what changed.
pub fn digest(master: &Master) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(master).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub async fn load_applied(
    store: &StoreHandle,
    keys: Vec<String>,
) -> Result<Vec<Applied>, StoreError> {
    records::load_many(store, APPLIED, keys).await
}

pub async fn save_applied(
    store: &StoreHandle,
    saved: &[(String, &Applied)],
) -> Result<(), StoreError> {
    records::save_many(store, APPLIED, saved).await
}

/// What was last published of one Shopify product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The newest version processed (Shopify's `updatedAt`, ms); older ones are stale.
    pub seen: Millis,
    pub delivered: Deliveries,
    /// Group → fingerprint of the value last published.
    pub groups: BTreeMap<String, u64>,
    /// The product as last published (what Shopify owns of it: small).
    pub last: Option<Product>,
}

pub async fn load_published(
    store: &StoreHandle,
    ids: &[u64],
) -> Result<Vec<Published>, StoreError> {
    records::load_by_id(store, PUBLISHED, ids).await
}

pub async fn save_published(
    store: &StoreHandle,
    saved: &[(u64, &Published)],
) -> Result<(), StoreError> {
    records::save_by_id(store, PUBLISHED, saved).await
}

/// `GET /api/v1/products/{system}/{id}`: the Shopify product mapped to that external id, what
/// was last written of it and what was last published, or `None` when the id is not mapped.
pub async fn lookup(
    store: &StoreHandle,
    system: &str,
    id: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    let key = format!("{system}\u{1f}{id}");
    let mut map = IdMap::new(EXTERNAL_IDS);
    let Some(product) = map.known(store, [&key]).await?.get(&key).copied() else {
        return Ok(None);
    };
    let identity = super::inbound::Identity::External {
        system: system.to_string(),
        id: id.to_string(),
    };
    let applied = load_applied(store, vec![identity.key()])
        .await?
        .pop()
        .unwrap_or_default();
    let published = load_published(store, &[product])
        .await?
        .pop()
        .unwrap_or_default();
    Ok(Some(serde_json::json!({
        "system": system,
        "id": id,
        "shopify_id": format!("gid://shopify/Product/{product}"),
        "digest": applied.digest,
        "variants": applied.variants.len(),
        "images": applied.media.len(),
        "version": published.seen,
        "delivered": published.delivered,
        "product": published.last,
    })))
}
