//! The inventory flow's pure parts, apart from the flow (`flows/inventory.rs`) that drives
//! them against the store and Shopify:
//! - [`feed`]: what a stock feed is once accepted: levels in chunks, as stored in items;
//! - [`coalesce`]: the table of levels waiting to be written, newest `as_of` wins;
//! - [`batch`]: cutting writes into `inventorySetQuantities` calls, their idempotency keys,
//!   and snapshot diffs against Shopify's current levels.

pub mod batch;
pub mod coalesce;
pub mod feed;

pub use feed::{Chunk, Level, Mode};
