//! Cutting writes into `inventorySetQuantities` calls.
//!
//! **Size.** A call sets at most [`MAX_BATCH`] quantities (Shopify's input-array limit). A
//! mutation is priced at a flat 10 points whatever its input, and what we select back is
//! small, so the cost cap (1,000 per query) never binds for this mutation: the biggest batch
//! is also the cheapest per quantity.
//!
//! **Idempotency.** The key is a hash of what the call sets (and the compare-and-set values),
//! so a call retried after a lost answer, or redone after a crash from the same stored items,
//! carries the same key and Shopify applies it once; a different change gets a different key.

use sha2::{Digest, Sha256};

use crate::shopify::operations::inventory::{MAX_BATCH, QuantityInput};

/// The batch size to use: the configured one within 1..=[`MAX_BATCH`].
pub fn batch_size(configured: usize) -> usize {
    configured.clamp(1, MAX_BATCH)
}

/// The idempotency key of one call.
pub fn idempotency_key(reference_uri: &str, quantities: &[QuantityInput]) -> String {
    let mut h = Sha256::new();
    h.update(reference_uri.as_bytes());
    for q in quantities {
        h.update(q.inventory_item_id.id().to_be_bytes());
        h.update(q.location_id.id().to_be_bytes());
        h.update(q.quantity.to_be_bytes());
        match q.change_from_quantity {
            Some(c) => {
                h.update([1]);
                h.update(c.to_be_bytes());
            }
            None => h.update([0]),
        }
    }
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("xc-inv-{hex}")
}

/// `referenceDocumentUri` for a call carrying levels of these feeds (sorted, deduplicated by
/// the caller): the feed itself when there is one, else the first and last of them.
pub fn reference_uri(feeds: &[&str]) -> String {
    match feeds {
        [] => "xconnector://inventory/feed".to_string(),
        [one] => format!("xconnector://inventory/feed/{}", uri_safe(one)),
        [first, .., last] => format!(
            "xconnector://inventory/feeds/{}..{}",
            uri_safe(first),
            uri_safe(last)
        ),
    }
}

/// Feed ids come from outside (file names): keep URI-safe characters only.
fn uri_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether a snapshot level must be written: Shopify's current level differs, or the item is
/// not stocked at the location yet (`None`).
pub fn differs(target: i64, current: Option<i64>) -> bool {
    current != Some(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shopify::gid::{InventoryItemId, LocationId};

    fn q(item: u64, qty: i64, from: Option<i64>) -> QuantityInput {
        QuantityInput {
            inventory_item_id: InventoryItemId::new(item),
            location_id: LocationId::new(1),
            quantity: qty,
            change_from_quantity: from,
        }
    }

    #[test]
    fn the_key_follows_the_content() {
        let a = idempotency_key("u", &[q(1, 5, None)]);
        assert_eq!(a, idempotency_key("u", &[q(1, 5, None)]));
        assert_ne!(a, idempotency_key("u", &[q(1, 6, None)]));
        assert_ne!(a, idempotency_key("u", &[q(1, 5, Some(5))]));
        assert_ne!(a, idempotency_key("v", &[q(1, 5, None)]));
        assert!(a.starts_with("xc-inv-") && a.len() == 7 + 32);
    }

    #[test]
    fn names_feeds_and_sizes_batches() {
        assert_eq!(reference_uri(&["42"]), "xconnector://inventory/feed/42");
        assert_eq!(
            reference_uri(&["a b", "c", "d"]),
            "xconnector://inventory/feeds/a_b..d"
        );
        assert_eq!(batch_size(0), 1);
        assert_eq!(batch_size(10_000), 250);
        assert!(differs(3, None) && differs(3, Some(2)) && !differs(3, Some(3)));
    }
}
