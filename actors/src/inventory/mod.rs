//! The inventory flow's pure parts, apart from the flow (`flows/inventory.rs`) that drives
//! them against the store and Shopify:
//! - [`feed`]: what a stock feed is once accepted: levels in chunks, as stored in items;
//! - [`coalesce`]: the table of levels waiting to be written, newest `as_of` wins;
//! - [`batch`]: cutting writes into `inventorySetQuantities` calls, their idempotency keys,
//!   and snapshot diffs against Shopify's current levels.

pub mod batch;
pub mod coalesce;
pub mod feed;

// The flow itself lives with the other flows (`flows/inventory.rs`); it is declared here so
// that the flow framework's module (`flows/mod.rs`) stays untouched by this change. When the
// two branches meet, `flows/mod.rs` can declare it as `pub mod inventory;` instead.
#[path = "../flows/inventory.rs"]
pub mod flow;

pub use feed::{Chunk, Level, Mode};
