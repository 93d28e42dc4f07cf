//! Reporting across the flows: each flow counts what it sees into rollups in the store as it
//! processes items (see [`crate::store::rollups`]), and reports read them back, a range of
//! days at a time.
//!
//! - [`module`]: `[flows.reporting]`, which turns the counting on.
//! - [`sales`]: what an order version counts (the orders flow counts every version it takes).
//! - [`report`]: the sales report over a range, by day, week or channel.

pub mod module;
pub mod report;
pub mod sales;
