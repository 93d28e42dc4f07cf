//! The simulated Shopify Admin GraphQL API that the tests and the demo run against.
//!
//! A [`Simulator`] serves `POST /admin/api/{version}/graphql.json` over real HTTP for one shop,
//! with Shopify's query cost model, leaky bucket, errors, `userErrors`, idempotency keys and
//! compare-and-swap, plus injectable transport faults. Tests and the traffic generator change
//! the shop directly through a [`ShopHandle`]; every change becomes a [`ShopEvent`] for the
//! webhook sender.
//!
//! Map of the modules, in the order a request meets them:
//! - `server`: HTTP, auth, request ids, injected faults, dropping connections;
//! - `graphql`: one request through the pipeline (document → cost → bucket → execute → refund);
//! - `document`: parse/validate against Shopify's schema, operations, variables, arguments;
//! - `cost`: requested and actual query cost; `bucket`: the leaky bucket;
//! - `exec`: the root fields, one file per group, and the resource trees (`exec/objects`);
//! - `project`: selection sets over value trees (aliases, fragments, connections, nulls);
//! - `pagination`: cursors and pages; `search`: the `query:` syntax;
//! - `shop`: the state and its mutating methods; `seed`: a deterministic starting shop;
//! - `idempotency`, `faults`, `stats`, `gid`, `time`: small helpers.

pub mod bucket;
pub mod cost;
pub mod document;
pub mod exec;
pub mod gid;
pub(crate) mod idempotency;
pub mod pagination;
pub mod project;
pub mod search;
pub mod seed;
pub mod shop;
pub mod time;

pub use bucket::{BucketConfig, ThrottleStatus};
pub use seed::SeedSize;
pub use shop::{Shop, ShopEvent};
