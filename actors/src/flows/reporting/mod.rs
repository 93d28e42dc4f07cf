//! Reporting across the flows: each flow counts what it sees into rollups in the store as it
//! processes items (see [`crate::store::rollups`]), and reports read them back, a range of
//! days at a time.
//!
//! - [`module`]: `[flows.reporting]`, which turns the counting on.
//! - [`payload`]: the fields of Shopify's order payload that count.
//! - [`sales`]: what an order version counts in sales (the orders flow counts every version it
//!   takes); [`report`] reads the sales report back by day, week or channel.
//! - [`fulfilment`]: what an order version counts in fulfilment performance (its first
//!   fulfilment and delivery), and the fulfilment report by day, week, location or carrier.
//! - [`live`]: the shop's "today" and the figures `/metrics` shows.

pub mod fulfilment;
pub mod live;
pub mod module;
pub mod payload;
pub mod report;
pub mod sales;

use serde::{Deserialize, Serialize};

use crate::store::Contribution;

/// How the rows of a report are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Day,
    Week,
    Channel,
    Location,
    Carrier,
}

impl By {
    /// `s` as a grouping that one of `allowed` names.
    pub fn parse(s: &str, allowed: &[By]) -> Result<By, String> {
        allowed
            .iter()
            .copied()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|b| b.as_str()).collect();
                format!("by: {s:?} is not one of {}", names.join(", "))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            By::Day => "day",
            By::Week => "week",
            By::Channel => "channel",
            By::Location => "location",
            By::Carrier => "carrier",
        }
    }
}

/// The groupings of the sales report.
pub const SALES_BY: &[By] = &[By::Day, By::Week, By::Channel];
/// The groupings of the fulfilment report.
pub const FULFILMENT_BY: &[By] = &[By::Day, By::Week, By::Location, By::Carrier];

/// What a REST order payload (`orders/create`, `orders/updated`, `orders/paid`,
/// `orders/cancelled`, `orders/fulfilled`) counts, in sales and in fulfilment: the order's
/// entity and its contribution.
pub fn contribution(payload: &[u8]) -> Result<(String, Contribution), String> {
    let o: payload::RestOrder =
        serde_json::from_slice(payload).map_err(|e| format!("not an order payload: {e}"))?;
    let mut c = Contribution::default();
    sales::count(&o, &mut c)?;
    fulfilment::count(&o, &mut c)?;
    Ok((format!("order:{}", o.gid()), c))
}
