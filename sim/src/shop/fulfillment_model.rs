//! Fulfillment orders and fulfillments: what an order still has to ship from each location,
//! and what shipped, with the carrier's tracking and events.
//!
//! Shopify splits every order into fulfillment orders, one per location that is to ship some
//! of it; a fulfillment ships lines of one or more fulfillment orders of one order at one
//! location. The order's line items keep `fulfillable_quantity` in step with the fulfillment
//! orders' remaining quantities (see `fulfillments.rs`).

use super::Id;
use super::enums::{
    FulfillmentEventStatus, FulfillmentHoldReason, FulfillmentOrderStatus, FulfillmentState,
};
use crate::time::Timestamp;

/// The work of shipping some of an order's lines from one location.
#[derive(Clone, Debug, PartialEq)]
pub struct FulfillmentOrder {
    pub id: Id,
    pub order_id: Id,
    /// Where it ships from: the location that committed the lines' stock.
    pub location_id: Id,
    pub status: FulfillmentOrderStatus,
    pub line_items: Vec<FulfillmentOrderLine>,
    /// Active holds; not empty exactly when the status is `ON_HOLD`.
    pub holds: Vec<FulfillmentHold>,
    /// Fulfillments that shipped some of it, oldest first.
    pub fulfillment_ids: Vec<Id>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FulfillmentOrder {
    /// Units still to ship.
    pub fn remaining(&self) -> u64 {
        self.line_items
            .iter()
            .map(|l| u64::from(l.remaining_quantity))
            .sum()
    }

    /// Whether some of it shipped already (a released hold goes back to `IN_PROGRESS`).
    pub fn partly_fulfilled(&self) -> bool {
        self.line_items
            .iter()
            .any(|l| l.remaining_quantity < l.total_quantity)
    }

    pub fn line(&self, id: Id) -> Option<&FulfillmentOrderLine> {
        self.line_items.iter().find(|l| l.id == id)
    }

    /// The status it has when nothing holds it: closed once nothing remains, in progress once
    /// something shipped, open before.
    pub fn unheld_status(&self) -> FulfillmentOrderStatus {
        if self.remaining() == 0 {
            FulfillmentOrderStatus::Closed
        } else if self.partly_fulfilled() {
            FulfillmentOrderStatus::InProgress
        } else {
            FulfillmentOrderStatus::Open
        }
    }
}

/// One order line item's share of a fulfillment order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfillmentOrderLine {
    pub id: Id,
    pub line_item_id: Id,
    pub total_quantity: u32,
    pub remaining_quantity: u32,
}

/// Why a fulfillment order must not ship yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfillmentHold {
    pub id: Id,
    pub reason: FulfillmentHoldReason,
    pub reason_notes: Option<String>,
    /// The placing app's name for the hold, unique per fulfillment order (empty by default).
    pub handle: String,
    pub created_at: Timestamp,
}

/// One tracking number of a fulfillment, with its carrier and URL.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackingInfo {
    pub company: Option<String>,
    pub number: Option<String>,
    pub url: Option<String>,
}

/// Shopify's tracking URL for carriers it knows, matched exactly (capitalisation matters, as
/// Shopify's documentation warns): "UPS" gets a URL, "ups" does not.
pub fn known_tracking_url(company: &str, number: &str) -> Option<String> {
    let base = match company {
        "UPS" => "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=",
        "FedEx" => "https://www.fedex.com/fedextrack/?trknbr=",
        "USPS" => "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
        "DHL Express" => "https://www.dhl.com/en/express/tracking.html?AWB=",
        "Canada Post" => "https://www.canadapost-postescanada.ca/track-reperage/en#/details/",
        _ => return None,
    };
    Some(format!("{base}{number}"))
}

/// The tracking infos of a `FulfillmentTrackingInput`: one per number (URLs matched by
/// position; a known carrier's URL built for a number without one), or one with only the
/// company or URL when no number is given; none when nothing is.
pub fn tracking_infos(
    company: Option<&str>,
    numbers: &[String],
    urls: &[String],
) -> Vec<TrackingInfo> {
    let company = company.map(str::trim).filter(|c| !c.is_empty());
    if numbers.is_empty() {
        if company.is_none() && urls.is_empty() {
            return Vec::new();
        }
        return vec![TrackingInfo {
            company: company.map(str::to_string),
            number: None,
            url: urls.first().cloned(),
        }];
    }
    numbers
        .iter()
        .enumerate()
        .map(|(i, number)| TrackingInfo {
            company: company.map(str::to_string),
            number: Some(number.clone()),
            url: urls
                .get(i)
                .cloned()
                .or_else(|| company.and_then(|c| known_tracking_url(c, number))),
        })
        .collect()
}

/// `FulfillmentOriginAddress`: where a fulfillment says it left from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OriginAddress {
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub province_code: Option<String>,
    pub country_code: String,
}

/// Units of one line item a fulfillment shipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfillmentLine {
    /// `FulfillmentLineItem.id`.
    pub id: Id,
    pub line_item_id: Id,
    pub fulfillment_order_id: Id,
    pub quantity: u32,
}

/// A carrier's report on a fulfillment (`fulfillmentEventCreate`).
#[derive(Clone, Debug, PartialEq)]
pub struct FulfillmentEvent {
    pub id: Id,
    pub status: FulfillmentEventStatus,
    /// When it happened, as the carrier says (defaults to when it was recorded).
    pub happened_at: Timestamp,
    pub created_at: Timestamp,
    pub estimated_delivery_at: Option<Timestamp>,
    pub message: Option<String>,
    pub address1: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// A shipment of lines of one order's fulfillment orders at one location.
#[derive(Clone, Debug, PartialEq)]
pub struct Fulfillment {
    pub id: Id,
    pub order_id: Id,
    /// `#1001.1`.
    pub name: String,
    pub status: FulfillmentState,
    pub tracking: Vec<TrackingInfo>,
    pub location_id: Option<Id>,
    pub line_items: Vec<FulfillmentLine>,
    /// The fulfillment orders it shipped from.
    pub fulfillment_order_ids: Vec<Id>,
    /// Every event recorded, in the order they were created (not sorted by `happened_at`:
    /// Shopify accepts them in any order, and so does the simulator).
    pub events: Vec<FulfillmentEvent>,
    /// What `fulfillmentCreate` was asked (`notifyCustomer`).
    pub notify_customer: bool,
    /// Shipping notifications sent to the customer for it: one for a `fulfillmentCreate` and
    /// one for each tracking update made with `notifyCustomer: true`.
    pub notifications: u32,
    pub origin_address: Option<OriginAddress>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Fulfillment {
    /// REST `shipment_status` and the base of `displayStatus`: the status of the event created
    /// last, whatever its `happened_at` (an older event posted late still wins, as on Shopify).
    pub fn shipment_status(&self) -> Option<FulfillmentEventStatus> {
        self.events.last().map(|e| e.status)
    }

    pub fn total_quantity(&self) -> u64 {
        self.line_items.iter().map(|l| u64::from(l.quantity)).sum()
    }

    /// The units it shipped of one line item.
    pub fn quantity_of(&self, line_item_id: Id) -> u32 {
        self.line_items
            .iter()
            .filter(|l| l.line_item_id == line_item_id)
            .map(|l| l.quantity)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_urls_are_built_only_for_carriers_spelt_as_shopify_knows_them() {
        let numbers = vec!["1Z999".to_string(), "1Z998".to_string()];
        let infos = tracking_infos(Some("UPS"), &numbers, &["https://x.test/1".into()]);
        assert_eq!(infos.len(), 2);
        assert_eq!(infos[0].url.as_deref(), Some("https://x.test/1"));
        assert!(
            infos[1]
                .url
                .as_deref()
                .unwrap()
                .ends_with("trackNums=1Z998")
        );
        let lower = tracking_infos(Some("ups"), &numbers[..1], &[]);
        assert_eq!(lower[0].url, None);
        assert_eq!(lower[0].company.as_deref(), Some("ups"));
        assert!(tracking_infos(None, &[], &[]).is_empty());
        let only_company = tracking_infos(Some("Acme Freight"), &[], &[]);
        assert_eq!(only_company[0].number, None);
    }
}
