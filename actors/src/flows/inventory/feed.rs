//! A stock feed after intake. The HTTP API and the CSV drop validate what they receive and
//! store it as items of kind [`KIND_LEVELS`], each holding one [`Chunk`] of at most
//! [`CHUNK_LEVELS`] levels, so that a 100,000-level feed is neither one huge value in the
//! store nor one item that must succeed or fail as a whole.

use serde::{Deserialize, Serialize};

/// The flow's name, in config, items and logs.
pub const FLOW: &str = "inventory";
/// Item kind: a chunk of an accepted feed.
pub const KIND_LEVELS: &str = "levels";
/// Item kind (held as an exception): levels whose SKUs Shopify does not know.
pub const KIND_UNKNOWN_SKUS: &str = "unknown_skus";
/// Item kind (held as an exception): levels Shopify refused one by one (a `userErrors`
/// entry), or whose location is unknown.
pub const KIND_LEVEL_FAILED: &str = "level_failed";
/// Levels per stored chunk: small enough for a quick store write, large enough that a big
/// feed is a few hundred items, not tens of thousands.
pub const CHUNK_LEVELS: usize = 1000;

/// How a feed relates to what Shopify holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// These levels changed: write each (compare-and-set against the last known level).
    Delta,
    /// The full stock of the SKUs listed: read Shopify's levels and write only what differs.
    /// SKUs absent from a snapshot are left alone (a feed that forgets a SKU must not zero it).
    Snapshot,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Delta => "delta",
            Mode::Snapshot => "snapshot",
        }
    }
}

/// One stock level: `available` units of `sku` at `location`, as of a point in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub sku: String,
    /// The back office's location name (mapped to a Shopify location by config or by name).
    pub location: String,
    pub available: i64,
    /// Milliseconds since the Unix epoch: the feed's `as_of`, or when it was received.
    pub as_of: i64,
}

/// The payload of a [`KIND_LEVELS`] item (and of the exception kinds, so that an operator's
/// retry feeds the same levels back in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Who sent the feed (`wms-eu`, `csv:stock.csv`).
    pub source: String,
    pub mode: Mode,
    /// The feed's id (the first item id of its chunks, or the drop file's name): names the
    /// feed in Shopify's `referenceDocumentUri`.
    pub feed: String,
    pub levels: Vec<Level>,
}

impl Chunk {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(payload: &[u8]) -> Result<Chunk, String> {
        serde_json::from_slice(payload).map_err(|e| format!("not an inventory chunk: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip() {
        let c = Chunk {
            source: "wms".into(),
            mode: Mode::Snapshot,
            feed: "f1".into(),
            levels: vec![Level {
                sku: "A".into(),
                location: "Main".into(),
                available: 3,
                as_of: 1_000,
            }],
        };
        assert_eq!(Chunk::decode(&c.encode()).unwrap(), c);
        assert!(Chunk::decode(b"{}").is_err());
    }
}
