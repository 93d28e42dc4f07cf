//! Reporting across the flows: each flow counts what it sees into rollups in the store as it
//! processes items (see [`crate::store::rollups`]), and reports read them back, a range of
//! days at a time.
//!
//! - [`sales`]: what an order version counts (the orders flow counts every version it takes).
//! - [`report`]: the sales report over a range, by day, week or channel.

pub mod report;
pub mod sales;
