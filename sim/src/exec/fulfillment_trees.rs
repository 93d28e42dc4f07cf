//! The fulfillment resources as value trees: `FulfillmentOrder` (its line items, holds,
//! assigned location and the actions its status allows), `Fulfillment` (tracking, lines,
//! events) and `FulfillmentEvent`, plus the fields of orders and fulfillments that depend on
//! their arguments (`Order.fulfillmentOrders(query:)`, `Order.fulfillments(query:)`,
//! `Fulfillment.events(sortKey:)`).

use serde_json::{Map, Value, json};

use super::objects::{legacy, line_item_tree, money_bag, opt_ts, ref_to, tree, ts};
use crate::gid::gid;
use crate::project::connection;
use crate::search::{self, Searchable};
use crate::shop::{
    Fulfillment, FulfillmentEvent, FulfillmentEventStatus, FulfillmentHold, FulfillmentLine,
    FulfillmentOrder, FulfillmentOrderStatus, FulfillmentState, Id, LineItem, Shop,
};

/// `FulfillmentOrder.supportedActions` by status: a merchant-managed fulfillment order can be
/// fulfilled and held while it is open or in progress, only released while on hold, and
/// nothing once closed or cancelled.
pub fn supported_actions(status: FulfillmentOrderStatus) -> &'static [&'static str] {
    match status {
        FulfillmentOrderStatus::Open => &[
            "CREATE_FULFILLMENT",
            "REPORT_PROGRESS",
            "MOVE",
            "HOLD",
            "SPLIT",
        ],
        FulfillmentOrderStatus::InProgress => {
            &["CREATE_FULFILLMENT", "REPORT_PROGRESS", "HOLD", "SPLIT"]
        }
        FulfillmentOrderStatus::OnHold => &["RELEASE_HOLD", "HOLD", "MOVE"],
        FulfillmentOrderStatus::Scheduled => &["MARK_AS_OPEN"],
        FulfillmentOrderStatus::Incomplete
        | FulfillmentOrderStatus::Closed
        | FulfillmentOrderStatus::Cancelled => &[],
    }
}

/// A `Weight` in grams.
fn grams(g: u64) -> Value {
    json!({"__typename": "Weight", "unit": "GRAMS", "value": g as f64})
}

/// A connection of references to resources of one type.
fn refs(kind: &str, ids: &[Id]) -> Value {
    connection(ids.iter().map(|&id| ref_to(kind, id)).collect())
}

pub fn fulfillment_hold_tree(h: &FulfillmentHold) -> Value {
    tree!("FulfillmentHold";
        "id" => gid("FulfillmentHold", h.id),
        "reason" => h.reason.as_graphql(),
        "reasonNotes" => h.reason_notes,
        "displayReason" => h.reason.display(),
        "handle" => h.handle,
        "heldByApp" => Value::Null,
        "heldByRequestingApp" => true,
    )
}

pub fn fulfillment_order_tree(shop: &Shop, fo: &FulfillmentOrder) -> Value {
    let order = shop.orders.get(&fo.order_id);
    let currency = order.map_or(shop.currency.as_str(), |o| o.currency.as_str());
    let location = shop.locations.get(&fo.location_id);
    let mut remaining_grams = 0u64;
    let lines: Vec<Value> = fo
        .line_items
        .iter()
        .filter_map(|l| {
            let line = order?.line_items.iter().find(|x| x.id == l.line_item_id)?;
            remaining_grams += u64::from(line.grams) * u64::from(l.remaining_quantity);
            let item = line
                .variant_id
                .and_then(|v| shop.variants.get(&v))
                .map(|v| gid("InventoryItem", v.inventory_item_id));
            Some(tree!("FulfillmentOrderLineItem";
                "id" => gid("FulfillmentOrderLineItem", l.id),
                "totalQuantity" => l.total_quantity,
                "remainingQuantity" => l.remaining_quantity,
                "sku" => line.sku,
                "productTitle" => line.title,
                "variantTitle" => line.variant_title,
                "vendor" => line.vendor,
                "requiresShipping" => line.requires_shipping,
                "inventoryItemId" => item,
                "variant" => line.variant_id.map_or(Value::Null, |v| ref_to("ProductVariant", v)),
                "lineItem" => line_item_tree(line, currency),
                "originalUnitPriceSet" => money_bag(line.price, currency),
                "weight" => grams(u64::from(line.grams)),
                "image" => Value::Null,
                "shippingLine" => Value::Null,
                "warnings" => json!([]),
                "financialSummaries" => json!([]),
            ))
        })
        .collect();
    let destination = order
        .and_then(|o| o.shipping_address.as_ref().map(|a| (o, a)))
        .map_or(Value::Null, |(o, a)| {
            tree!("FulfillmentOrderDestination";
                "id" => gid("FulfillmentOrderDestination", fo.id),
                "firstName" => a.first_name,
                "lastName" => a.last_name,
                "company" => a.company,
                "address1" => a.address1,
                "address2" => a.address2,
                "city" => a.city,
                "province" => a.province,
                "zip" => a.zip,
                "countryCode" => a.country_code,
                "phone" => a.phone,
                "email" => o.email,
                "location" => Value::Null,
            )
        });
    let assigned = tree!("FulfillmentOrderAssignedLocation";
        "name" => location.map_or_else(String::new, |l| l.name.clone()),
        "address1" => location.map(|l| l.address1.clone()),
        "address2" => Value::Null,
        "city" => location.map(|l| l.city.clone()),
        "province" => location.map(|l| l.province_code.clone()),
        "zip" => location.map(|l| l.zip.clone()),
        "countryCode" => location.map_or_else(|| "US".to_string(), |l| l.country_code.clone()),
        "phone" => Value::Null,
        "location" => location.map_or(Value::Null, |l| ref_to("Location", l.id)),
    );
    tree!("FulfillmentOrder";
        "id" => gid("FulfillmentOrder", fo.id),
        "status" => fo.status.as_graphql(),
        "requestStatus" => "UNSUBMITTED",
        "createdAt" => ts(fo.created_at),
        "updatedAt" => ts(fo.updated_at),
        "fulfillAt" => ts(fo.created_at),
        "fulfillBy" => Value::Null,
        "channelId" => Value::Null,
        "orderId" => gid("Order", fo.order_id),
        "orderName" => order.map_or_else(String::new, |o| o.name.clone()),
        "orderProcessedAt" => ts(order.map_or(fo.created_at, |o| o.processed_at)),
        "order" => ref_to("Order", fo.order_id),
        "assignedLocation" => assigned,
        "destination" => destination,
        "deliveryMethod" => Value::Null,
        "internationalDuties" => Value::Null,
        "fulfillmentHolds" => fo.holds.iter().map(fulfillment_hold_tree).collect::<Vec<_>>(),
        "supportedActions" => supported_actions(fo.status).iter().map(|a| json!({
            "__typename": "FulfillmentOrderSupportedAction", "action": a, "externalUrl": Value::Null,
        })).collect::<Vec<_>>(),
        "lineItems" => connection(lines),
        "fulfillments" => refs("Fulfillment", &fo.fulfillment_ids),
        "remainingLineItemsWeight" => grams(remaining_grams),
        "fulfillmentOrdersForMerge" => connection(Vec::new()),
        "locationsForMove" => connection(Vec::new()),
        "merchantRequests" => connection(Vec::new()),
    )
}

pub fn fulfillment_event_tree(e: &FulfillmentEvent) -> Value {
    tree!("FulfillmentEvent";
        "id" => gid("FulfillmentEvent", e.id),
        "status" => e.status.as_graphql(),
        "happenedAt" => ts(e.happened_at),
        "createdAt" => ts(e.created_at),
        "estimatedDeliveryAt" => opt_ts(e.estimated_delivery_at),
        "message" => e.message,
        "address1" => e.address1,
        "city" => e.city,
        "province" => e.province,
        "zip" => e.zip,
        "country" => e.country,
        "latitude" => e.latitude,
        "longitude" => e.longitude,
    )
}

/// `Fulfillment.displayStatus`: the latest carrier event's status (every
/// `FulfillmentEventStatus` is also a display status), `FULFILLED` before any.
fn display_status(f: &Fulfillment) -> &'static str {
    match (f.status, f.shipment_status()) {
        (FulfillmentState::Cancelled, _) => "CANCELED",
        (_, Some(status)) => status.as_graphql(),
        (_, None) => "FULFILLED",
    }
}

/// One line of a fulfillment (`FulfillmentLineItem`, which is not a node: returns embed it).
pub fn fulfillment_line_tree(line: &LineItem, fl: &FulfillmentLine, currency: &str) -> Value {
    let total = line.price * fl.quantity;
    tree!("FulfillmentLineItem";
        "id" => gid("FulfillmentLineItem", fl.id),
        "quantity" => fl.quantity,
        "lineItem" => line_item_tree(line, currency),
        "originalTotal" => total.to_fixed2(),
        "originalTotalSet" => money_bag(total, currency),
        "discountedTotal" => total.to_fixed2(),
        "discountedTotalSet" => money_bag(total, currency),
    )
}

pub fn fulfillment_tree(shop: &Shop, f: &Fulfillment) -> Value {
    let order = shop.orders.get(&f.order_id);
    let currency = order.map_or(shop.currency.as_str(), |o| o.currency.as_str());
    let lines: Vec<Value> = f
        .line_items
        .iter()
        .filter_map(|fl| {
            let line = order?.line_items.iter().find(|l| l.id == fl.line_item_id)?;
            Some(fulfillment_line_tree(line, fl, currency))
        })
        .collect();
    let happened = |status: FulfillmentEventStatus, last: bool| {
        let mut matching = f.events.iter().filter(|e| e.status == status);
        let found = if last {
            matching.next_back()
        } else {
            matching.next()
        };
        opt_ts(found.map(|e| e.happened_at))
    };
    let estimated = f.events.iter().rev().find_map(|e| e.estimated_delivery_at);
    let origin = f.origin_address.as_ref().map_or(Value::Null, |a| {
        tree!("FulfillmentOriginAddress";
            "address1" => a.address1,
            "address2" => a.address2,
            "city" => a.city,
            "zip" => a.zip,
            "provinceCode" => a.province_code,
            "countryCode" => a.country_code,
        )
    });
    tree!("Fulfillment";
        "id" => gid("Fulfillment", f.id),
        "legacyResourceId" => legacy(f.id),
        "name" => f.name,
        "status" => f.status.as_graphql(),
        "displayStatus" => display_status(f),
        "createdAt" => ts(f.created_at),
        "updatedAt" => ts(f.updated_at),
        "deliveredAt" => happened(FulfillmentEventStatus::Delivered, true),
        "inTransitAt" => happened(FulfillmentEventStatus::InTransit, false),
        "estimatedDeliveryAt" => opt_ts(estimated),
        "requiresShipping" => true,
        "totalQuantity" => f.total_quantity(),
        "trackingInfo" => f.tracking.iter().map(|t| json!({
            "__typename": "FulfillmentTrackingInfo",
            "company": t.company, "number": t.number, "url": t.url,
        })).collect::<Vec<_>>(),
        "location" => f.location_id.map_or(Value::Null, |l| ref_to("Location", l)),
        "order" => ref_to("Order", f.order_id),
        "fulfillmentLineItems" => connection(lines),
        "fulfillmentOrders" => refs("FulfillmentOrder", &f.fulfillment_order_ids),
        "events" => connection(f.events.iter().map(fulfillment_event_tree).collect()),
        "originAddress" => origin,
        "service" => Value::Null,
    )
}

/// Items of `items` that the `query:` argument keeps (all without one; unknown fields match
/// everything, as on Shopify).
fn filtered<'a, T: Searchable + 'a>(
    items: impl Iterator<Item = &'a T>,
    args: &Map<String, Value>,
) -> Vec<&'a T> {
    let query = search::parse(args.get("query").and_then(|q| q.as_str()).unwrap_or(""));
    items.filter(|item| query.matches(*item)).collect()
}

/// The order fields about fulfilling.
pub(super) fn resolve_order_field(
    shop: &Shop,
    order: Id,
    field: &str,
    args: &Map<String, Value>,
) -> Option<Result<Value, String>> {
    let fulfillment_orders = shop.fulfillment_orders_of(order);
    let fulfillments = || {
        shop.orders
            .get(&order)
            .map(|o| {
                o.fulfillment_ids
                    .iter()
                    .filter_map(|id| shop.fulfillments.get(id))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    Some(Ok(match field {
        "fulfillmentOrders" => connection(
            filtered(fulfillment_orders.into_iter(), args)
                .into_iter()
                .map(|f| fulfillment_order_tree(shop, f))
                .collect(),
        ),
        // A plain list (the projector cuts it to `first`), filtered by `query:`.
        "fulfillments" => Value::Array(
            filtered(fulfillments().into_iter(), args)
                .into_iter()
                .map(|f| fulfillment_tree(shop, f))
                .collect(),
        ),
        "fulfillmentsCount" => {
            json!({"__typename": "Count", "count": fulfillments().len(), "precision": "EXACT"})
        }
        "fulfillable" => Value::Bool(
            fulfillment_orders
                .iter()
                .any(|f| f.status.is_fulfillable() && f.remaining() > 0),
        ),
        _ => return None,
    }))
}

/// `Fulfillment.events(sortKey:)`: by `happenedAt` (the default) or by id, i.e. the order
/// they were recorded in; `reverse` is applied by the pagination.
pub(super) fn resolve_fulfillment_field(
    shop: &Shop,
    fulfillment: Id,
    field: &str,
    args: &Map<String, Value>,
) -> Option<Result<Value, String>> {
    if field != "events" {
        return None;
    }
    let mut events: Vec<&FulfillmentEvent> = shop
        .fulfillments
        .get(&fulfillment)
        .map(|f| f.events.iter().collect())
        .unwrap_or_default();
    match args.get("sortKey").and_then(|v| v.as_str()) {
        Some("ID") => events.sort_by_key(|e| e.id),
        _ => events.sort_by_key(|e| (e.happened_at, e.id)),
    }
    Some(Ok(connection(
        events.into_iter().map(fulfillment_event_tree).collect(),
    )))
}
