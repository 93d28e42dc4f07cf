//! Counters of what the simulator saw and did, for tests and benchmarks ("how many points did
//! the daemon spend per order?", "was it ever throttled?").

use std::collections::BTreeMap;

/// A snapshot of the simulator's counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimStats {
    /// HTTP requests to the GraphQL endpoint, whatever became of them.
    pub requests: u64,
    /// Refused for a missing or wrong access token (401).
    pub unauthorized: u64,
    /// Refused for an unreadable body (400).
    pub bad_requests: u64,
    /// Documents that did not parse or validate, or whose variables did not coerce.
    pub invalid_documents: u64,
    /// Answered THROTTLED (bucket too low for the requested cost).
    pub throttled: u64,
    /// Answered MAX_COST_EXCEEDED (requested cost over 1000).
    pub max_cost_exceeded: u64,
    /// Σ requested cost of executed operations.
    pub points_requested: u64,
    /// Σ actual cost of executed operations: what the bucket was really charged.
    pub points_spent: u64,
    /// Executions per root field name (`orders`, `inventorySetQuantities`, …).
    pub root_fields: BTreeMap<String, u64>,
    /// Inventory quantities written by mutations (idempotent replays write none).
    pub inventory_quantities_written: u64,
    /// Variable lines run by bulk mutations: each did what one call of its mutation does,
    /// without being counted in `root_fields` or charged to the bucket.
    pub bulk_mutation_lines: u64,
    /// Injected faults.
    pub injected_5xx: u64,
    pub injected_429: u64,
    pub dropped_connections: u64,
}
