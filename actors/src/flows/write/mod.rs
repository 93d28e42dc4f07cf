//! The Shopify-writer toolkit: what a flow that writes to Shopify needs around the call itself,
//! so that inventory, customers, products, shipments and refunds each do it the same way.
//!
//! - [`IdMap`]: the back office's key (a SKU, an external id) → the Shopify id it maps to, in
//!   memory and in the store, so a restart does not look everything up again.
//! - [`Applied`]: per resource, the version of the last change written, so an older change
//!   that arrives late (a replay, a slow feed) is not written over a newer one.
//! - [`UserErrors`]: a mutation's `userErrors` split back onto the inputs they are about, so one
//!   bad input fails alone and the rest of the call can be sent again without it (Shopify
//!   applies a call all or nothing). A failed input is held as an exception item of its own
//!   (`NewItem::held`) with Shopify's message.
//! - [`EchoLog`]: what was written, so the webhook that echoes a write is not taken for a change
//!   made in Shopify.

mod applied;
pub mod echo;
mod failed;
mod id_map;
mod metafields;
mod owner;
pub mod records;
mod user_errors;

pub use applied::{Applied, superseded};
pub use echo::EchoLog;
pub use failed::Failed;
pub use id_map::IdMap;
pub use metafields::write_metafields;
pub use owner::Owner;
pub use user_errors::{UserErrors, text as user_error_text};
