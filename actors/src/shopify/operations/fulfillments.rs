//! The fulfillments flow's operations: an order's fulfillment orders (what is left to ship,
//! where), orders by name, `fulfillmentCreate`, `fulfillmentTrackingInfoUpdate`,
//! `fulfillmentEventCreate`, and the two reads that find what a write whose answer was lost
//! did (a fulfillment order's newest fulfillments, a fulfillment's events).

use serde::{Deserialize, Serialize};

use super::{Connection, Errors, Operation, nullable_vec};
use crate::shopify::error::UserError;
use crate::shopify::gid::{
    FulfillmentId, FulfillmentOrderId, FulfillmentOrderLineItemId, LineItemId, LocationId, OrderId,
};

/// Lines read per fulfillment when looking for one a lost answer made.
pub const LINES: u32 = 50;
/// The newest fulfillments of a fulfillment order read when looking for one a lost answer made.
pub const FULFILLMENTS: u32 = 5;

// ---- OrderFulfillmentOrders ----

pub enum OrderFulfillmentOrders {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderFulfillmentOrdersVariables {
    pub id: OrderId,
    pub orders: u32,
    pub lines: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderFulfillmentOrdersResponse {
    pub order: Option<OrderWithFulfillmentOrders>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderWithFulfillmentOrders {
    pub id: OrderId,
    pub name: String,
    pub fulfillment_orders: Connection<FulfillmentOrder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrder {
    pub id: FulfillmentOrderId,
    /// `OPEN`, `IN_PROGRESS`, `ON_HOLD`, `SCHEDULED`, `INCOMPLETE`, `CLOSED`, `CANCELLED`.
    pub status: String,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub supported_actions: Vec<SupportedAction>,
    pub assigned_location: AssignedLocation,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub fulfillment_holds: Vec<Hold>,
    pub line_items: Connection<FulfillmentOrderLine>,
}

impl FulfillmentOrder {
    /// Shopify would accept a fulfillment of it now.
    pub fn can_fulfil(&self) -> bool {
        self.supported_actions
            .iter()
            .any(|a| a.action == "CREATE_FULFILLMENT")
    }

    /// Its location's numeric id (0 when Shopify withholds the location).
    pub fn location(&self) -> u64 {
        self.assigned_location
            .location
            .as_ref()
            .map_or(0, |l| l.id.id())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SupportedAction {
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AssignedLocation {
    pub name: String,
    #[serde(default)]
    pub location: Option<super::Ref<LocationId>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub reason: String,
    #[serde(default)]
    pub reason_notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderLine {
    pub id: FulfillmentOrderLineItemId,
    pub remaining_quantity: u32,
    pub total_quantity: u32,
    #[serde(default)]
    pub sku: Option<String>,
    pub line_item: super::Ref<LineItemId>,
}

impl Operation for OrderFulfillmentOrders {
    const NAME: &'static str = "OrderFulfillmentOrders";
    const DOCUMENT: &'static str = include_str!("order_fulfillment_orders.graphql");
    type Variables = OrderFulfillmentOrdersVariables;
    type Response = OrderFulfillmentOrdersResponse;

    /// Shopify's requested cost of the document: 3, and per fulfillment order 7 (itself, its
    /// location, actions and holds) and 2 per line (the line and its line item).
    fn estimate(v: &OrderFulfillmentOrdersVariables) -> f64 {
        3.0 + f64::from(v.orders) * (7.0 + 2.0 * f64::from(v.lines))
    }

    fn cost_key(v: &OrderFulfillmentOrdersVariables) -> String {
        format!("OrderFulfillmentOrders/{}x{}", v.orders, v.lines)
    }
}

// ---- FulfillmentOrderFulfillments ----

pub enum FulfillmentOrderFulfillments {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FulfillmentOrderFulfillmentsVariables {
    pub id: FulfillmentOrderId,
    pub fulfillments: u32,
    pub lines: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderFulfillmentsResponse {
    pub fulfillment_order: Option<FulfillmentOrderWithFulfillments>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FulfillmentOrderWithFulfillments {
    pub id: FulfillmentOrderId,
    pub fulfillments: Connection<Fulfillment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fulfillment {
    pub id: FulfillmentId,
    pub status: String,
    pub created_at: String,
    #[serde(default)]
    pub location: Option<super::Ref<LocationId>>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub tracking_info: Vec<TrackingInfo>,
    pub fulfillment_line_items: Connection<FulfilledLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfilledLine {
    #[serde(default)]
    pub quantity: Option<u32>,
    pub line_item: super::Ref<LineItemId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingInfo {
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

impl Operation for FulfillmentOrderFulfillments {
    const NAME: &'static str = "FulfillmentOrderFulfillments";
    const DOCUMENT: &'static str = include_str!("fulfillment_order_fulfillments.graphql");
    type Variables = FulfillmentOrderFulfillmentsVariables;
    type Response = FulfillmentOrderFulfillmentsResponse;

    fn estimate(_: &FulfillmentOrderFulfillmentsVariables) -> f64 {
        20.0
    }
}

// ---- OrdersByName ----

pub enum OrdersByName {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrdersByNameVariables {
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrdersByNameResponse {
    pub orders: Connection<NamedOrder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NamedOrder {
    pub id: OrderId,
    pub name: String,
}

impl Operation for OrdersByName {
    const NAME: &'static str = "OrdersByName";
    const DOCUMENT: &'static str = include_str!("orders_by_name.graphql");
    type Variables = OrdersByNameVariables;
    type Response = OrdersByNameResponse;

    fn estimate(_: &OrdersByNameVariables) -> f64 {
        7.0
    }
}

// ---- fulfillmentCreate ----

pub enum FulfillmentCreate {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FulfillmentCreateVariables {
    pub fulfillment: FulfillmentInput,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentInput {
    pub line_items_by_fulfillment_order: Vec<LinesOfFulfillmentOrder>,
    pub tracking_info: TrackingInput,
    pub notify_customer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinesOfFulfillmentOrder {
    pub fulfillment_order_id: FulfillmentOrderId,
    pub fulfillment_order_line_items: Vec<FulfillmentOrderLineInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FulfillmentOrderLineInput {
    pub id: FulfillmentOrderLineItemId,
    pub quantity: u32,
}

/// `FulfillmentTrackingInput`: `numbers` and `urls` carry every parcel of a shipment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrackingInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub numbers: Vec<String>,
    pub urls: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentCreateResponse {
    pub fulfillment_create: Option<FulfillmentCreatePayload>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentCreatePayload {
    #[serde(default)]
    pub fulfillment: Option<CreatedFulfillment>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedFulfillment {
    pub id: FulfillmentId,
    pub name: String,
    pub status: String,
    pub created_at: String,
    #[serde(default)]
    pub location: Option<super::Ref<LocationId>>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub tracking_info: Vec<TrackingInfo>,
}

impl Operation for FulfillmentCreate {
    const NAME: &'static str = "FulfillmentCreate";
    const DOCUMENT: &'static str = include_str!("fulfillment_create.graphql");
    const AT_MOST_ONCE: bool = true;
    type Variables = FulfillmentCreateVariables;
    type Response = FulfillmentCreateResponse;

    fn estimate(_: &FulfillmentCreateVariables) -> f64 {
        11.0
    }
}

// ---- fulfillmentTrackingInfoUpdate ----

pub enum FulfillmentTrackingInfoUpdate {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingUpdateVariables {
    pub fulfillment_id: FulfillmentId,
    pub tracking_info_input: TrackingInput,
    pub notify_customer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingUpdateResponse {
    pub fulfillment_tracking_info_update: Option<Errors>,
}

impl Operation for FulfillmentTrackingInfoUpdate {
    const NAME: &'static str = "FulfillmentTrackingInfoUpdate";
    const DOCUMENT: &'static str = include_str!("fulfillment_tracking_info_update.graphql");
    type Variables = TrackingUpdateVariables;
    type Response = TrackingUpdateResponse;

    fn estimate(_: &TrackingUpdateVariables) -> f64 {
        11.0
    }
}

// ---- fulfillmentEventCreate ----

pub enum FulfillmentEventCreate {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCreateVariables {
    pub fulfillment_event: FulfillmentEventInput,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentEventInput {
    pub fulfillment_id: FulfillmentId,
    /// A `FulfillmentEventStatus`.
    pub status: String,
    /// RFC 3339.
    pub happened_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCreateResponse {
    pub fulfillment_event_create: Option<Errors>,
}

impl Operation for FulfillmentEventCreate {
    const NAME: &'static str = "FulfillmentEventCreate";
    const DOCUMENT: &'static str = include_str!("fulfillment_event_create.graphql");
    const AT_MOST_ONCE: bool = true;
    type Variables = EventCreateVariables;
    type Response = EventCreateResponse;

    fn estimate(_: &EventCreateVariables) -> f64 {
        10.0
    }
}

// ---- FulfillmentEvents ----

pub enum FulfillmentEvents {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FulfillmentEventsVariables {
    pub id: FulfillmentId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FulfillmentEventsResponse {
    pub fulfillment: Option<FulfillmentWithEvents>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FulfillmentWithEvents {
    pub id: FulfillmentId,
    pub events: Connection<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub status: String,
    pub happened_at: String,
}

impl Operation for FulfillmentEvents {
    const NAME: &'static str = "FulfillmentEvents";
    const DOCUMENT: &'static str = include_str!("fulfillment_events.graphql");
    type Variables = FulfillmentEventsVariables;
    type Response = FulfillmentEventsResponse;

    fn estimate(_: &FulfillmentEventsVariables) -> f64 {
        5.0
    }
}
