//! The xconnector engine: everything between Shopify and the back office that is not a
//! terminal, a command-line flag or a socket. The binary composes it.
//!
//! - [`item`]: the work item and its states.
//! - each actor's messages sit beside it (`store::messages`, `flows::messages`, …).
//! - [`jobs`]: bulk jobs (an operator's action on every item matching a filter), run in steps.
//! - [`store`]: the persistence actor over fjall, the single source of truth, with group commit.
//! - [`flows`]: the flow framework, the flow modules' plug-in point, and one folder per flow.
//! - [`config`]: what flow sections are made of (durations, key paths, problems).
//! - [`inbound`]: what back-office requests are made of: resources, decoding, JSON and CSV.
//! - [`supervisor`]: the root of the actor tree; restarts, give-up, ordered shutdown.
//! - [`shopify`]: the Admin GraphQL client actor: typed GIDs, operations, errors, retries.
//! - [`rate_limiter`]: Shopify's cost bucket, modelled per shop; grants by priority lane.
//! - [`telemetry`]: counters into snapshots, and their Prometheus rendering.
//! - [`retry`]: the one backoff policy.
//! - [`engine`]: start, query and stop the whole tree.

pub mod config;
pub mod endpoints;
pub mod engine;
pub mod flows;
pub mod http_client;
pub mod inbound;
pub mod item;
pub mod jobs;
pub mod rate_limiter;
pub mod retry;
pub mod shopify;
pub mod signature;
pub mod store;
pub mod supervisor;
pub mod telemetry;

pub use engine::{Engine, EngineConfig, EngineError, Fatal};
