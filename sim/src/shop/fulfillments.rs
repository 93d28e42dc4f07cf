//! Fulfilling: the fulfillment orders an order gets when it is placed, shipping lines of them,
//! holds, and what a carrier reports afterwards (tracking updates, events).
//!
//! `fulfillmentCreate` ([`Shop::fulfill`]) and the older [`Shop::create_fulfillment`] (by order
//! line items, used by the seed and tests) are one path: the latter names the fulfillment
//! orders of the lines and calls the former. What holds after every change here:
//! - an order line item is in exactly one fulfillment order, the one of the location that
//!   committed its stock, and its `fulfillable_quantity` is that line's remaining quantity;
//! - a fulfillment ships lines of one order from one location; it takes the units out of the
//!   remaining quantities (closing what has nothing left, marking the rest `IN_PROGRESS`) and
//!   out of `committed` stock (and so `on_hand`; `available` does not change);
//! - a fulfillment order on hold, closed or cancelled does not ship;
//! - the order's display status follows: fulfilled, partially fulfilled, on hold (everything
//!   still to ship is held) or unfulfilled.

use super::*;

/// Holds one app may place on one fulfillment order (Shopify's limit).
pub const MAX_HOLDS: usize = 10;

/// Why a fulfillment was refused. `entry` is the position in
/// [`FulfillRequest::fulfillment_orders`] and `line` in that entry's lines, so the GraphQL
/// layer can name the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FulfillError {
    #[error("no fulfillment order to fulfil")]
    Empty,
    #[error("fulfillment order {id} does not exist")]
    UnknownFulfillmentOrder { entry: usize, id: Id },
    #[error("fulfillment order {id} belongs to another order than the first one named")]
    DifferentOrders { entry: usize, id: Id },
    #[error("fulfillment order {id} is assigned to another location than the first one named")]
    DifferentLocations { entry: usize, id: Id },
    #[error("fulfillment order {id} has an unfulfillable status= {}", .status.as_rest())]
    Unfulfillable {
        entry: usize,
        id: Id,
        status: FulfillmentOrderStatus,
    },
    #[error("line {id} is not a line of fulfillment order {fulfillment_order}")]
    UnknownLine {
        entry: usize,
        line: usize,
        id: Id,
        fulfillment_order: Id,
    },
    #[error("quantity must be greater than 0")]
    ZeroQuantity { entry: usize, line: usize },
    #[error("fulfillment order line {id} has {remaining} left to fulfil, {requested} requested")]
    OverFulfilled {
        entry: usize,
        id: Id,
        remaining: u32,
        requested: u64,
    },
    #[error("fulfillment order {id} has nothing left to fulfil")]
    NothingToFulfil { entry: usize, id: Id },
}

/// Why a hold could not be placed or released.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HoldError {
    #[error("fulfillment order {0} does not exist")]
    NotFound(Id),
    #[error("fulfillment order {id} is {} and cannot be held", .status.as_rest())]
    NotHoldable {
        id: Id,
        status: FulfillmentOrderStatus,
    },
    #[error("a hold with handle {0:?} is already on the fulfillment order")]
    DuplicateHandle(String),
    #[error("the fulfillment order already has {MAX_HOLDS} holds")]
    LimitReached,
    #[error("fulfillment order {0} is not on hold")]
    NotOnHold(Id),
}

/// A checked fulfillment, ready to apply.
struct Planned {
    order_id: Id,
    location_id: Id,
    /// (fulfillment order, its line, the order line item, units), in request order.
    lines: Vec<(Id, Id, Id, u32)>,
    fulfillment_orders: Vec<Id>,
}

/// The order's display fulfillment status from its lines, and whether everything it still
/// has to ship is on hold.
fn display_status(lines: &[LineItem], all_held: bool) -> FulfillmentStatus {
    let shipped = lines.iter().any(|l| l.shipped() > 0);
    if shipped && lines.iter().all(|l| l.fulfillable_quantity == 0) {
        FulfillmentStatus::Fulfilled
    } else if shipped {
        FulfillmentStatus::PartiallyFulfilled
    } else if all_held {
        FulfillmentStatus::OnHold
    } else {
        FulfillmentStatus::Unfulfilled
    }
}

impl Shop {
    /// An order's fulfillment orders, oldest first.
    pub fn fulfillment_orders_of(&self, order_id: Id) -> Vec<&FulfillmentOrder> {
        self.orders
            .get(&order_id)
            .map(|o| {
                o.fulfillment_order_ids
                    .iter()
                    .filter_map(|id| self.fulfillment_orders.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Shipping notifications sent to customers, over all fulfillments.
    pub fn customer_notifications(&self) -> u64 {
        self.fulfillments
            .values()
            .map(|f| u64::from(f.notifications))
            .sum()
    }

    /// The fulfillment orders of a new order: its lines grouped by the location that
    /// committed their stock, lines without one (custom items, items stocked nowhere) at the
    /// shop's first active location. No event: Shopify routes orders silently.
    pub(super) fn create_fulfillment_orders(
        &mut self,
        order_id: Id,
        lines: &[LineItem],
        at: Timestamp,
    ) -> Vec<Id> {
        let default = self
            .locations
            .values()
            .find(|l| l.active)
            .or_else(|| self.locations.values().next())
            .map(|l| l.id);
        let mut groups: Vec<(Id, Vec<(Id, u32)>)> = Vec::new();
        for line in lines.iter().filter(|l| l.quantity > 0) {
            // Only a shop with no location at all leaves a line without a fulfillment order.
            let Some(location) = line.location_id.or(default) else {
                continue;
            };
            match groups.iter_mut().find(|(l, _)| *l == location) {
                Some((_, group)) => group.push((line.id, line.quantity)),
                None => groups.push((location, vec![(line.id, line.quantity)])),
            }
        }
        let mut ids = Vec::new();
        for (location_id, group) in groups {
            let id = self.next_id();
            let line_items = group
                .into_iter()
                .map(|(line_item_id, quantity)| FulfillmentOrderLine {
                    id: self.next_id(),
                    line_item_id,
                    total_quantity: quantity,
                    remaining_quantity: quantity,
                })
                .collect();
            self.fulfillment_orders.insert(
                id,
                FulfillmentOrder {
                    id,
                    order_id,
                    location_id,
                    status: FulfillmentOrderStatus::Open,
                    line_items,
                    holds: Vec::new(),
                    fulfillment_ids: Vec::new(),
                    created_at: at,
                    updated_at: at,
                },
            );
            ids.push(id);
        }
        ids
    }

    /// A cancelled order's fulfillment orders still to ship: cancelled, or closed when part of
    /// them shipped already (that part stays shipped). Nothing remains on them afterwards.
    pub(super) fn cancel_fulfillment_orders(&mut self, order_id: Id) {
        let ids: Vec<Id> = self
            .orders
            .get(&order_id)
            .map(|o| o.fulfillment_order_ids.clone())
            .unwrap_or_default();
        for id in ids {
            let Some(previous) = self
                .fulfillment_orders
                .get(&id)
                .filter(|f| !f.status.is_done())
                .map(|f| f.updated_at)
            else {
                continue;
            };
            let next = self.touch(previous);
            if let Some(fo) = self.fulfillment_orders.get_mut(&id) {
                fo.status = if fo.partly_fulfilled() {
                    FulfillmentOrderStatus::Closed
                } else {
                    FulfillmentOrderStatus::Cancelled
                };
                for line in &mut fo.line_items {
                    line.remaining_quantity = 0;
                }
                fo.holds.clear();
                fo.updated_at = next;
            }
        }
    }

    /// Ship lines of fulfillment orders (`fulfillmentCreate`): all of one order and one
    /// location, each `OPEN` or `IN_PROGRESS`, no more of a line than remains. Nothing is
    /// changed when anything is wrong. Announces `orders/updated`, `fulfillments/create` and
    /// `orders/fulfilled` or `orders/partially_fulfilled`.
    pub fn fulfill(&mut self, request: FulfillRequest) -> Result<Id, FulfillError> {
        let plan = self.plan_fulfillment(&request)?;
        Ok(self.apply_fulfillment(plan, request))
    }

    /// Ship units of an order named by its line items (empty: everything still unfulfilled),
    /// through the fulfillment orders that hold them ([`Shop::fulfill`]). A shipment leaves
    /// from one location: with lines at several, name the lines and call once per location.
    pub fn create_fulfillment(
        &mut self,
        order_id: Id,
        spec: FulfillmentSpec,
    ) -> Result<Id, ShopError> {
        let order = self
            .orders
            .get(&order_id)
            .ok_or(not_found("order", order_id))?;
        if order.cancelled_at.is_some() {
            return Err(ShopError::Invalid(format!(
                "order {} is cancelled",
                order.name
            )));
        }
        let fulfillment_orders: Vec<&FulfillmentOrder> = order
            .fulfillment_order_ids
            .iter()
            .filter_map(|id| self.fulfillment_orders.get(id))
            .collect();
        let mut entries: Vec<(Id, Vec<(Id, u32)>)> = Vec::new();
        if spec.line_items.is_empty() {
            entries = fulfillment_orders
                .iter()
                .filter(|f| !f.status.is_done() && f.remaining() > 0)
                .map(|f| (f.id, Vec::new()))
                .collect();
            if entries.is_empty() {
                return Err(ShopError::Invalid(format!(
                    "order {} has nothing left to fulfill",
                    order.name
                )));
            }
        }
        for (i, (line_id, qty)) in spec.line_items.iter().enumerate() {
            if spec.line_items[..i].iter().any(|(l, _)| l == line_id) {
                return Err(ShopError::Invalid(format!(
                    "line item {line_id} is listed twice"
                )));
            }
            let (fo, fo_line) = fulfillment_orders
                .iter()
                .find_map(|f| {
                    f.line_items
                        .iter()
                        .find(|l| l.line_item_id == *line_id)
                        .map(|l| (f.id, l.id))
                })
                .ok_or(not_found("line item", *line_id))?;
            match entries.iter_mut().find(|(f, _)| *f == fo) {
                Some((_, lines)) => lines.push((fo_line, *qty)),
                None => entries.push((fo, vec![(fo_line, *qty)])),
            }
        }
        let request = FulfillRequest {
            fulfillment_orders: entries,
            tracking: spec.tracking.into_iter().collect(),
            ..FulfillRequest::default()
        };
        Ok(self.fulfill(request)?)
    }

    /// Check a request against the shop; the units per fulfillment order line, summed over
    /// the request (a line named twice counts twice).
    fn plan_fulfillment(&self, request: &FulfillRequest) -> Result<Planned, FulfillError> {
        let mut plan: Option<Planned> = None;
        for (entry, (fo_id, lines)) in request.fulfillment_orders.iter().enumerate() {
            let fo = self
                .fulfillment_orders
                .get(fo_id)
                .ok_or(FulfillError::UnknownFulfillmentOrder { entry, id: *fo_id })?;
            let current = plan.get_or_insert_with(|| Planned {
                order_id: fo.order_id,
                location_id: fo.location_id,
                lines: Vec::new(),
                fulfillment_orders: Vec::new(),
            });
            if fo.order_id != current.order_id {
                return Err(FulfillError::DifferentOrders { entry, id: fo.id });
            }
            if fo.location_id != current.location_id {
                return Err(FulfillError::DifferentLocations { entry, id: fo.id });
            }
            if !fo.status.is_fulfillable() {
                return Err(FulfillError::Unfulfillable {
                    entry,
                    id: fo.id,
                    status: fo.status,
                });
            }
            if !current.fulfillment_orders.contains(&fo.id) {
                current.fulfillment_orders.push(fo.id);
            }
            let named: Vec<(&FulfillmentOrderLine, u32)> = if lines.is_empty() {
                let all: Vec<_> = fo
                    .line_items
                    .iter()
                    .filter(|l| l.remaining_quantity > 0)
                    .map(|l| (l, l.remaining_quantity))
                    .collect();
                if all.is_empty() {
                    return Err(FulfillError::NothingToFulfil { entry, id: fo.id });
                }
                all
            } else {
                let mut named = Vec::new();
                for (line, (id, qty)) in lines.iter().enumerate() {
                    if *qty == 0 {
                        return Err(FulfillError::ZeroQuantity { entry, line });
                    }
                    let l = fo.line(*id).ok_or(FulfillError::UnknownLine {
                        entry,
                        line,
                        id: *id,
                        fulfillment_order: fo.id,
                    })?;
                    named.push((l, *qty));
                }
                named
            };
            for (l, qty) in named {
                let already: u64 = current
                    .lines
                    .iter()
                    .filter(|p| p.1 == l.id)
                    .map(|p| u64::from(p.3))
                    .sum();
                let requested = already + u64::from(qty);
                if requested > u64::from(l.remaining_quantity) {
                    return Err(FulfillError::OverFulfilled {
                        entry,
                        id: l.id,
                        remaining: l.remaining_quantity,
                        requested,
                    });
                }
                current.lines.push((fo.id, l.id, l.line_item_id, qty));
            }
        }
        plan.ok_or(FulfillError::Empty)
    }

    fn apply_fulfillment(&mut self, plan: Planned, request: FulfillRequest) -> Id {
        let id = self.next_id();
        let now = self.now();
        for fo_id in &plan.fulfillment_orders {
            let Some(previous) = self.fulfillment_orders.get(fo_id).map(|f| f.updated_at) else {
                continue;
            };
            let next = self.touch(previous);
            if let Some(fo) = self.fulfillment_orders.get_mut(fo_id) {
                for (_, line_id, _, qty) in plan.lines.iter().filter(|p| p.0 == *fo_id) {
                    if let Some(line) = fo.line_items.iter_mut().find(|l| l.id == *line_id) {
                        line.remaining_quantity = line.remaining_quantity.saturating_sub(*qty);
                    }
                }
                // It was fulfillable, so nothing holds it.
                fo.status = fo.unheld_status();
                fo.fulfillment_ids.push(id);
                fo.updated_at = next;
            }
        }
        // Shipped units leave `committed` (and so `on_hand`) where the order committed them.
        let shipped_stock: Vec<(Id, Id, u32)> = self
            .orders
            .get(&plan.order_id)
            .map(|o| {
                plan.lines
                    .iter()
                    .filter_map(|(_, _, line_item, qty)| {
                        let line = o.line_items.iter().find(|l| l.id == *line_item)?;
                        let item = self.variants.get(&line.variant_id?)?.inventory_item_id;
                        Some((item, line.location_id?, *qty))
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (item, location, qty) in shipped_stock {
            if let Some(level) = self.inventory_levels.get_mut(&(item, location)) {
                level.committed -= i64::from(qty);
            }
        }
        let line_items: Vec<FulfillmentLine> = plan
            .lines
            .iter()
            .map(|(fo, _, line_item, qty)| FulfillmentLine {
                id: self.next_id(),
                line_item_id: *line_item,
                fulfillment_order_id: *fo,
                quantity: *qty,
            })
            .collect();
        let name = self.orders.get(&plan.order_id).map_or_else(
            || format!("#{id}"),
            |o| format!("{}.{}", o.name, o.fulfillment_ids.len() + 1),
        );
        self.fulfillments.insert(
            id,
            Fulfillment {
                id,
                order_id: plan.order_id,
                name,
                status: FulfillmentState::Success,
                tracking: request.tracking,
                location_id: Some(plan.location_id),
                line_items,
                fulfillment_order_ids: plan.fulfillment_orders.clone(),
                events: Vec::new(),
                notify_customer: request.notify_customer,
                notifications: u32::from(request.notify_customer),
                origin_address: request.origin_address,
                created_at: now,
                updated_at: now,
            },
        );
        let all_held = self.all_held(plan.order_id);
        let mut fully = false;
        // The order exists: the plan was made from its fulfillment orders.
        let _ = self.update_order(plan.order_id, |o| {
            for (_, _, line_item, qty) in &plan.lines {
                if let Some(l) = o.line_items.iter_mut().find(|l| l.id == *line_item) {
                    l.fulfillable_quantity = l.fulfillable_quantity.saturating_sub(*qty);
                }
            }
            o.fulfillment_status = display_status(&o.line_items, all_held);
            fully = o.fulfillment_status == FulfillmentStatus::Fulfilled;
            o.fulfillment_ids.push(id);
        });
        self.emit(topics::FULFILLMENTS_CREATE, id);
        if fully {
            self.emit(topics::ORDERS_FULFILLED, plan.order_id);
        } else {
            self.emit(topics::ORDERS_PARTIALLY_FULFILLED, plan.order_id);
        }
        id
    }

    /// Whether everything the order still has to ship is on hold (and something is).
    fn all_held(&self, order_id: Id) -> bool {
        let open: Vec<&FulfillmentOrder> = self
            .fulfillment_orders_of(order_id)
            .into_iter()
            .filter(|f| !f.status.is_done())
            .collect();
        !open.is_empty()
            && open
                .iter()
                .all(|f| f.status == FulfillmentOrderStatus::OnHold)
    }

    /// Bring the order's display status in line with its fulfillment orders; announces
    /// `orders/updated` only when it changed.
    pub(super) fn refresh_fulfillment_status(&mut self, order_id: Id) {
        let all_held = self.all_held(order_id);
        let Some(order) = self.orders.get(&order_id) else {
            return;
        };
        let status = display_status(&order.line_items, all_held);
        if order.cancelled_at.is_none() && status != order.fulfillment_status {
            let _ = self.update_order(order_id, |o| o.fulfillment_status = status);
        }
    }

    /// Put a fulfillment order on hold with no notes or handle ([`Shop::place_hold`]).
    pub fn hold_fulfillment_order(
        &mut self,
        id: Id,
        reason: FulfillmentHoldReason,
    ) -> Result<Id, HoldError> {
        self.place_hold(id, HoldSpec::new(reason))
    }

    /// Put a hold on a fulfillment order that is still to ship (one already on hold may get
    /// more, each with its own handle): it is `ON_HOLD` and cannot ship until every hold is
    /// released. Returns the hold's id.
    pub fn place_hold(&mut self, id: Id, spec: HoldSpec) -> Result<Id, HoldError> {
        let fo = self
            .fulfillment_orders
            .get(&id)
            .ok_or(HoldError::NotFound(id))?;
        if fo.status.is_done() {
            return Err(HoldError::NotHoldable {
                id,
                status: fo.status,
            });
        }
        if fo.holds.iter().any(|h| h.handle == spec.handle) {
            return Err(HoldError::DuplicateHandle(spec.handle));
        }
        if fo.holds.len() >= MAX_HOLDS {
            return Err(HoldError::LimitReached);
        }
        let (order_id, next) = (fo.order_id, self.touch(fo.updated_at));
        let hold_id = self.next_id();
        let now = self.now();
        if let Some(fo) = self.fulfillment_orders.get_mut(&id) {
            fo.holds.push(FulfillmentHold {
                id: hold_id,
                reason: spec.reason,
                reason_notes: spec.reason_notes,
                handle: spec.handle,
                created_at: now,
            });
            fo.status = FulfillmentOrderStatus::OnHold;
            fo.updated_at = next;
        }
        self.refresh_fulfillment_status(order_id);
        Ok(hold_id)
    }

    /// Release every hold of a fulfillment order ([`Shop::release_holds`]).
    pub fn release_fulfillment_order(&mut self, id: Id) -> Result<(), HoldError> {
        self.release_holds(id, None)
    }

    /// Release holds of a fulfillment order on hold: those named, or all. Once none is left
    /// it is `OPEN` again, or `IN_PROGRESS` when part of it shipped.
    pub fn release_holds(&mut self, id: Id, hold_ids: Option<&[Id]>) -> Result<(), HoldError> {
        let fo = self
            .fulfillment_orders
            .get(&id)
            .ok_or(HoldError::NotFound(id))?;
        if fo.status != FulfillmentOrderStatus::OnHold {
            return Err(HoldError::NotOnHold(id));
        }
        let (order_id, next) = (fo.order_id, self.touch(fo.updated_at));
        if let Some(fo) = self.fulfillment_orders.get_mut(&id) {
            fo.holds
                .retain(|h| hold_ids.is_some_and(|ids| !ids.contains(&h.id)));
            if fo.holds.is_empty() {
                fo.status = fo.unheld_status();
            }
            fo.updated_at = next;
        }
        self.refresh_fulfillment_status(order_id);
        Ok(())
    }

    /// Replace a fulfillment's tracking (`fulfillmentTrackingInfoUpdate`); with
    /// `notify_customer`, the customer is told again. Announces `fulfillments/update`.
    pub fn update_tracking(
        &mut self,
        fulfillment_id: Id,
        tracking: Vec<TrackingInfo>,
        notify_customer: bool,
    ) -> Result<(), ShopError> {
        let previous = self
            .fulfillments
            .get(&fulfillment_id)
            .ok_or(not_found("fulfillment", fulfillment_id))?
            .updated_at;
        let next = self.touch(previous);
        let f = self
            .fulfillments
            .get_mut(&fulfillment_id)
            .ok_or(not_found("fulfillment", fulfillment_id))?;
        f.tracking = tracking;
        if notify_customer {
            f.notifications += 1;
        }
        f.updated_at = next;
        self.emit(topics::FULFILLMENTS_UPDATE, fulfillment_id);
        Ok(())
    }

    /// Record a carrier event on a fulfillment (`fulfillmentEventCreate`), in any order: the
    /// latest recorded sets `shipment_status`. Announces `fulfillments/update`.
    pub fn create_fulfillment_event(
        &mut self,
        fulfillment_id: Id,
        spec: FulfillmentEventSpec,
    ) -> Result<Id, ShopError> {
        let previous = self
            .fulfillments
            .get(&fulfillment_id)
            .ok_or(not_found("fulfillment", fulfillment_id))?
            .updated_at;
        let next = self.touch(previous);
        let id = self.next_id();
        let now = self.now();
        let f = self
            .fulfillments
            .get_mut(&fulfillment_id)
            .ok_or(not_found("fulfillment", fulfillment_id))?;
        f.events.push(FulfillmentEvent {
            id,
            status: spec.status,
            happened_at: spec.happened_at.unwrap_or(now),
            created_at: now,
            estimated_delivery_at: spec.estimated_delivery_at,
            message: spec.message,
            address1: spec.address1,
            city: spec.city,
            province: spec.province,
            zip: spec.zip,
            country: spec.country,
            latitude: spec.latitude,
            longitude: spec.longitude,
        });
        f.updated_at = next;
        self.emit(topics::FULFILLMENTS_UPDATE, fulfillment_id);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shop with two active locations and one product stocked at both; an order of two
    /// lines, the second placed at the second location.
    fn split_order() -> (Shop, Id, [Id; 2], [Id; 2]) {
        let mut shop = Shop::new("Demo", "demo.myshopify.com", "USD");
        shop.set_clock(Timestamp::parse("2026-10-01T00:00:00Z"));
        let main = shop.add_location("Main");
        let east = shop.add_location("East");
        let product = shop.add_product(ProductSpec {
            title: "Shirt".into(),
            vendor: "Acme".into(),
            product_type: "Shirts".into(),
            tags: vec![],
            variants: vec![
                VariantSpec {
                    title: "S".into(),
                    sku: "SHIRT-S".into(),
                    price: Money(2500),
                    grams: 200,
                },
                VariantSpec {
                    title: "M".into(),
                    sku: "SHIRT-M".into(),
                    price: Money(2500),
                    grams: 200,
                },
            ],
            stock_per_location: 10,
        });
        let [s, m] = [0, 1].map(|i| shop.products[&product].variant_ids[i]);
        let order = shop.create_order(OrderSpec {
            line_items: vec![LineSpec::variant(s, 3), LineSpec::variant(m, 2).at(east)],
            ..OrderSpec::default()
        });
        let lines = [0, 1].map(|i| shop.orders[&order].line_items[i].id);
        (shop, order, lines, [main, east])
    }

    #[test]
    fn an_order_gets_one_fulfillment_order_per_committing_location() {
        let (shop, order, lines, [main, east]) = split_order();
        let fos = shop.fulfillment_orders_of(order);
        assert_eq!(fos.len(), 2);
        assert_eq!((fos[0].location_id, fos[1].location_id), (main, east));
        assert_eq!(fos[0].line_items[0].line_item_id, lines[0]);
        assert_eq!(fos[1].line_items[0].remaining_quantity, 2);
        let item =
            shop.variants[&shop.orders[&order].line_items[1].variant_id.unwrap()].inventory_item_id;
        assert_eq!(shop.inventory_level(item, east).unwrap().committed, 2);
        assert_eq!(shop.inventory_level(item, main).unwrap().committed, 0);
    }

    #[test]
    fn one_path_for_both_apis_and_the_location_rule() {
        let (mut shop, order, lines, _) = split_order();
        // Everything at once would leave from two locations.
        let err = shop
            .create_fulfillment(order, FulfillmentSpec::default())
            .unwrap_err();
        assert!(
            matches!(
                err,
                ShopError::Fulfill(FulfillError::DifferentLocations { entry: 1, .. })
            ),
            "{err}"
        );
        let first = shop
            .create_fulfillment(
                order,
                FulfillmentSpec {
                    line_items: vec![(lines[0], 1)],
                    ..FulfillmentSpec::default()
                },
            )
            .unwrap();
        let fos = shop.fulfillment_orders_of(order);
        assert_eq!(fos[0].status, FulfillmentOrderStatus::InProgress);
        assert_eq!(fos[0].line_items[0].remaining_quantity, 2);
        assert_eq!(shop.orders[&order].line_items[0].fulfillable_quantity, 2);
        assert_eq!(shop.fulfillments[&first].name, "#1001.1");
        assert_eq!(
            shop.orders[&order].fulfillment_status,
            FulfillmentStatus::PartiallyFulfilled
        );
        let fo = fos[0].id;
        let over = shop.fulfill(FulfillRequest {
            fulfillment_orders: vec![(fo, vec![(fos[0].line_items[0].id, 3)])],
            ..FulfillRequest::default()
        });
        assert!(matches!(
            over,
            Err(FulfillError::OverFulfilled {
                remaining: 2,
                requested: 3,
                ..
            })
        ));
        for fo in shop
            .fulfillment_orders_of(order)
            .iter()
            .map(|f| f.id)
            .collect::<Vec<_>>()
        {
            shop.fulfill(FulfillRequest {
                fulfillment_orders: vec![(fo, Vec::new())],
                ..FulfillRequest::default()
            })
            .unwrap();
        }
        assert!(
            shop.fulfillment_orders_of(order)
                .iter()
                .all(|f| f.status == FulfillmentOrderStatus::Closed)
        );
        assert_eq!(
            shop.orders[&order].fulfillment_status,
            FulfillmentStatus::Fulfilled
        );
        assert!(
            shop.create_fulfillment(order, FulfillmentSpec::default())
                .is_err()
        );
    }

    #[test]
    fn holds_stop_shipping_until_released_and_cancelling_ends_what_is_left() {
        let (mut shop, order, lines, _) = split_order();
        let fo = shop.fulfillment_orders_of(order)[0].id;
        shop.hold_fulfillment_order(fo, FulfillmentHoldReason::IncorrectAddress)
            .unwrap();
        assert_eq!(
            shop.hold_fulfillment_order(fo, FulfillmentHoldReason::Other),
            Err(HoldError::DuplicateHandle(String::new()))
        );
        let held = shop.fulfill(FulfillRequest {
            fulfillment_orders: vec![(fo, Vec::new())],
            ..FulfillRequest::default()
        });
        assert_eq!(
            held.unwrap_err().to_string(),
            format!("fulfillment order {fo} has an unfulfillable status= on_hold")
        );
        assert_eq!(shop.release_fulfillment_order(fo), Ok(()));
        assert_eq!(
            shop.fulfillment_orders[&fo].status,
            FulfillmentOrderStatus::Open
        );
        assert_eq!(
            shop.release_fulfillment_order(fo),
            Err(HoldError::NotOnHold(fo))
        );
        shop.create_fulfillment(
            order,
            FulfillmentSpec {
                line_items: vec![(lines[0], 1)],
                ..FulfillmentSpec::default()
            },
        )
        .unwrap();
        shop.cancel_order(order, CancelReason::Customer).unwrap();
        let fos: Vec<(Id, FulfillmentOrderStatus)> = shop
            .fulfillment_orders_of(order)
            .iter()
            .map(|f| (f.id, f.status))
            .collect();
        assert_eq!(fos[0].1, FulfillmentOrderStatus::Closed);
        assert_eq!(fos[1].1, FulfillmentOrderStatus::Cancelled);
        assert_eq!(
            shop.hold_fulfillment_order(fos[1].0, FulfillmentHoldReason::Other),
            Err(HoldError::NotHoldable {
                id: fos[1].0,
                status: FulfillmentOrderStatus::Cancelled
            })
        );
    }
}
