//! A shipment's carrier status: the names a WMS sends, Shopify's `FulfillmentEventStatus` for
//! each, and the order they come in, so an update that arrives late never moves a shipment
//! back (a scan "in transit" after "delivered" is history, not news).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    LabelPurchased,
    LabelPrinted,
    Confirmed,
    PickedUp,
    InTransit,
    Delayed,
    ReadyForPickup,
    OutForDelivery,
    AttemptedDelivery,
    Delivered,
    Failure,
}

impl Status {
    pub const ALL: [Status; 11] = [
        Status::LabelPurchased,
        Status::LabelPrinted,
        Status::Confirmed,
        Status::PickedUp,
        Status::InTransit,
        Status::Delayed,
        Status::ReadyForPickup,
        Status::OutForDelivery,
        Status::AttemptedDelivery,
        Status::Delivered,
        Status::Failure,
    ];

    /// As the inbound API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Status::LabelPurchased => "label_purchased",
            Status::LabelPrinted => "label_printed",
            Status::Confirmed => "confirmed",
            Status::PickedUp => "picked_up",
            Status::InTransit => "in_transit",
            Status::Delayed => "delayed",
            Status::ReadyForPickup => "ready_for_pickup",
            Status::OutForDelivery => "out_for_delivery",
            Status::AttemptedDelivery => "attempted_delivery",
            Status::Delivered => "delivered",
            Status::Failure => "failure",
        }
    }

    pub fn names() -> String {
        Status::ALL.map(Status::name).join(", ")
    }

    /// A sender's spelling: ours, Shopify's (`IN_TRANSIT`), or a common synonym (`failed
    /// attempt`, `exception`).
    pub fn parse(text: &str) -> Option<Status> {
        let norm: String = text
            .trim()
            .chars()
            .map(|c| match c {
                ' ' | '-' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        let alias = match norm.as_str() {
            "carrier_picked_up" | "pickup" | "shipped" => "picked_up",
            "failed_attempt" | "delivery_attempted" => "attempted_delivery",
            "exception" | "failed" | "returned_to_sender" => "failure",
            "out_for_pickup" => "ready_for_pickup",
            other => other,
        };
        Status::ALL.into_iter().find(|s| s.name() == alias)
    }

    /// Shopify's `FulfillmentEventStatus`.
    pub fn shopify(self) -> &'static str {
        match self {
            Status::LabelPurchased => "LABEL_PURCHASED",
            Status::LabelPrinted => "LABEL_PRINTED",
            Status::Confirmed => "CONFIRMED",
            Status::PickedUp => "CARRIER_PICKED_UP",
            Status::InTransit => "IN_TRANSIT",
            Status::Delayed => "DELAYED",
            Status::ReadyForPickup => "READY_FOR_PICKUP",
            Status::OutForDelivery => "OUT_FOR_DELIVERY",
            Status::AttemptedDelivery => "ATTEMPTED_DELIVERY",
            Status::Delivered => "DELIVERED",
            Status::Failure => "FAILURE",
        }
    }

    /// How far along a parcel is. Statuses of one stage may follow each other either way (a
    /// failed attempt, then out for delivery again); a later stage is never followed by an
    /// earlier one.
    pub fn stage(self) -> u8 {
        match self {
            Status::LabelPurchased | Status::LabelPrinted | Status::Confirmed => 0,
            Status::PickedUp => 1,
            Status::InTransit | Status::Delayed => 2,
            Status::ReadyForPickup | Status::OutForDelivery | Status::AttemptedDelivery => 3,
            Status::Delivered | Status::Failure => 4,
        }
    }
}

/// The last status a shipment's fulfillments were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub status: Status,
    /// ms since the epoch.
    pub at: i64,
}

/// Whether `status` at `at` moves a shipment forward from `last`: never to an earlier stage,
/// never to an older time, and never the same status again at the same time (a resend).
pub fn advances(last: Option<Applied>, status: Status, at: i64) -> bool {
    match last {
        None => true,
        Some(last) => {
            status.stage() >= last.status.stage()
                && at >= last.at
                && !(status == last.status && at == last.at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_senders_and_shopify_are_understood() {
        assert_eq!(Status::parse("in_transit"), Some(Status::InTransit));
        assert_eq!(Status::parse("IN_TRANSIT"), Some(Status::InTransit));
        assert_eq!(
            Status::parse("Out for delivery"),
            Some(Status::OutForDelivery)
        );
        assert_eq!(Status::parse("carrier_picked_up"), Some(Status::PickedUp));
        assert_eq!(
            Status::parse("failed attempt"),
            Some(Status::AttemptedDelivery)
        );
        assert_eq!(Status::parse("exception"), Some(Status::Failure));
        assert_eq!(Status::parse("lost"), None);
        for s in Status::ALL {
            assert_eq!(Status::parse(s.name()), Some(s));
            assert_eq!(Status::parse(s.shopify()), Some(s), "{s:?}");
        }
    }

    #[test]
    fn a_late_update_never_moves_a_shipment_back() {
        let delivered = Some(Applied {
            status: Status::Delivered,
            at: 100,
        });
        assert!(
            !advances(delivered, Status::InTransit, 200),
            "earlier stage"
        );
        assert!(!advances(delivered, Status::Delivered, 100), "a resend");
        let transit = Some(Applied {
            status: Status::InTransit,
            at: 100,
        });
        assert!(!advances(transit, Status::OutForDelivery, 50), "older time");
        assert!(advances(transit, Status::OutForDelivery, 150));
        assert!(advances(transit, Status::Delayed, 150), "same stage");
        let attempted = Some(Applied {
            status: Status::AttemptedDelivery,
            at: 100,
        });
        assert!(advances(attempted, Status::OutForDelivery, 200));
        assert!(advances(None, Status::Delivered, 0));
    }
}
