//! Returns and refunds both ways (`[flows.returns]`): return requests judged by the rules and
//! approved, declined or held for a person; what the warehouse received processed in Shopify
//! with its refund; every refund told to accounting once.

pub mod inbound;
pub mod rules;

/// The flow's name, and its section's: `[flows.returns]`.
pub const FLOW: &str = "returns";
