//! Refunding: units and shipping given back, money moved through the order's payments, stock
//! restocked where the restock type says so.
//!
//! One path for `refundCreate` ([`Shop::create_refund`]) and the refund of a `returnProcess`
//! (`returns.rs`): a refund is checked whole against the shop ([`Shop::plan_refund`]) and only
//! then applied, so a refused refund changed nothing. What holds afterwards:
//! - a line never gives back more units than it has (`refundableQuantity`); `CANCEL` takes
//!   units that have not shipped (they leave the fulfillment orders and `committed` goes back
//!   to `available`), `RETURN` units that have (they go back to `available` where named);
//! - money moves only through the transactions given (a refund without any records units
//!   only, as on Shopify), each through a sale or capture of the order, never more than a
//!   payment or the order can still give back unless `allowOverRefunding`;
//! - the units' amounts are the order's own (`refund_money.rs`), so what a return suggests is
//!   what its refund records.

use super::refund_money::{UnitsMoney, line_money, units_money};
use super::*;

/// Why a refund was refused. `line` is the position in [`RefundSpec::lines`] and `transaction`
/// in [`RefundSpec::transactions`], so the API can name the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RefundError {
    #[error("order {0} does not exist")]
    OrderNotFound(Id),
    #[error("a refund needs line items, shipping or transactions")]
    Empty,
    #[error("line item {id} is not a line of the order")]
    UnknownLine { line: usize, id: Id },
    #[error("quantity must be greater than 0")]
    ZeroQuantity { line: usize },
    #[error("line item {id} has {refundable} units left to refund, {requested} requested")]
    TooMany {
        line: usize,
        id: Id,
        refundable: u32,
        requested: u32,
    },
    #[error("line item {id} has {unfulfilled} unfulfilled units to cancel, {requested} requested")]
    CancelTooMany {
        line: usize,
        id: Id,
        unfulfilled: u32,
        requested: u32,
    },
    #[error("line item {id} has {shipped} shipped units to return, {requested} requested")]
    ReturnTooMany {
        line: usize,
        id: Id,
        shipped: u32,
        requested: u32,
    },
    #[error("restock type LEGACY_RESTOCK is not accepted for new refunds")]
    LegacyRestock { line: usize },
    #[error("location {id} does not exist")]
    UnknownLocation { line: usize, id: Id },
    #[error("shipping of {} requested, {} refundable", .requested.to_fixed2(), .refundable.to_fixed2())]
    ShippingTooMuch { refundable: Money, requested: Money },
    #[error("the transaction is for another order")]
    TransactionOrder { transaction: usize },
    #[error("a refund's transactions must be of kind REFUND")]
    TransactionKind { transaction: usize },
    #[error("the amount must be greater than 0")]
    TransactionAmount { transaction: usize },
    #[error("no sale or capture {id} of the order to refund through")]
    UnknownParent { transaction: usize, id: Id },
    #[error("the order has no sale or capture left to refund through")]
    NoPayment { transaction: usize },
    #[error("gateway {gateway} is not the parent transaction's")]
    GatewayMismatch { transaction: usize, gateway: String },
    #[error("{} requested, {} refundable", .requested.to_fixed2(), .refundable.to_fixed2())]
    OverRefund {
        transaction: usize,
        refundable: Money,
        requested: Money,
    },
}

/// What a refund would be (`SuggestedRefund`, `SuggestedReturnFinancialOutcome`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundOutcome {
    /// Per line: (line item, units, what they are worth).
    pub lines: Vec<(Id, u32, UnitsMoney)>,
    /// Units' prices after discounts, before tax.
    pub subtotal: Money,
    pub cart_discount: Money,
    pub tax: Money,
    /// Shipping given back, and what could be.
    pub shipping: Money,
    pub shipping_refundable: Money,
    /// A fee kept by the merchant (a return's shipping fee).
    pub fee: Money,
    /// What the order can still give back.
    pub maximum_refundable: Money,
    /// What goes back: subtotal + tax + shipping − fee, within the maximum.
    pub amount: Money,
    /// (payment, what goes back through it, what it could still give).
    pub transactions: Vec<(Id, Money, Money)>,
}

/// A checked refund line.
pub(super) struct PlannedLine {
    pub line_item_id: Id,
    pub quantity: u32,
    pub restock_type: RestockType,
    pub location_id: Option<Id>,
    pub money: UnitsMoney,
    /// (inventory item, location) to restock, when stock moves with the refund.
    pub restock: Option<(Id, Id)>,
}

/// A checked refund, ready to apply.
pub(super) struct PlannedRefund {
    pub order_id: Id,
    pub return_id: Option<Id>,
    pub lines: Vec<PlannedLine>,
    /// (shipping line, amount).
    pub shipping: Option<(Id, Money)>,
    /// (parent payment, gateway, amount).
    pub transactions: Vec<(Id, String, Money)>,
    pub note: Option<String>,
    pub notify: bool,
    pub processed_at: Option<Timestamp>,
}

impl Shop {
    /// Refund units, shipping and money of an order (`refundCreate`). Announces
    /// `inventory_levels/update` for restocked stock, `orders/updated` and `refunds/create`.
    pub fn create_refund(&mut self, spec: RefundSpec) -> Result<Id, RefundError> {
        let plan = self.plan_refund(&spec, None)?;
        Ok(self.apply_refund(plan))
    }

    /// What giving back `lines` ((line item, units)) and `shipping` of an order would be
    /// worth, less `fee`, and through which payments: the amounts a refund of them records.
    pub fn suggest_refund(
        &self,
        order_id: Id,
        lines: &[(Id, u32)],
        shipping: Option<ShippingRefund>,
        fee: Money,
    ) -> Result<RefundOutcome, RefundError> {
        let order = self
            .orders
            .get(&order_id)
            .ok_or(RefundError::OrderNotFound(order_id))?;
        let money = line_money(order);
        let mut out = RefundOutcome::default();
        for (i, (line_id, qty)) in lines.iter().enumerate() {
            let (index, line) = order
                .line_items
                .iter()
                .enumerate()
                .find(|(_, l)| l.id == *line_id)
                .ok_or(RefundError::UnknownLine {
                    line: i,
                    id: *line_id,
                })?;
            if *qty == 0 {
                return Err(RefundError::ZeroQuantity { line: i });
            }
            let earlier: u32 = out
                .lines
                .iter()
                .filter(|(l, _, _)| l == line_id)
                .map(|(_, q, _)| q)
                .sum();
            if earlier + qty > line.refundable() {
                return Err(RefundError::TooMany {
                    line: i,
                    id: line.id,
                    refundable: line.refundable(),
                    requested: earlier + qty,
                });
            }
            let units = units_money(&money[index], line.refunded_quantity + earlier, *qty);
            out.subtotal = out.subtotal + units.subtotal;
            out.cart_discount = out.cart_discount + units.cart_discount;
            out.tax = out.tax + units.tax;
            out.lines.push((line.id, *qty, units));
        }
        out.shipping_refundable = self.refundable_shipping(order);
        out.shipping = match shipping {
            None => Money::ZERO,
            Some(ShippingRefund::Full) => out.shipping_refundable,
            Some(ShippingRefund::Amount(a)) => a.min(out.shipping_refundable).max(Money::ZERO),
        };
        out.fee = fee;
        out.maximum_refundable = self.refundable_money(order.id);
        let gross = out.subtotal + out.tax + out.shipping - out.fee;
        out.amount = Money(gross.0.max(0)).min(out.maximum_refundable);
        let mut left = out.amount;
        for (payment, room) in self.refundable_payments(order.id) {
            if left == Money::ZERO {
                break;
            }
            let take = left.min(room);
            out.transactions.push((payment.id, take, room));
            left = left - take;
        }
        Ok(out)
    }

    /// Shipping still refundable on an order.
    pub fn refundable_shipping(&self, order: &Order) -> Money {
        let back: Money = order
            .refund_ids
            .iter()
            .filter_map(|id| self.refunds.get(id))
            .flat_map(|r| &r.shipping_lines)
            .map(|s| s.subtotal)
            .sum();
        Money((order.total_shipping - back).0.max(0))
    }

    /// Check a refund against the shop. With `through_return`, the units come back through
    /// that return, whose dispositions move the stock: the refund moves none itself.
    pub(super) fn plan_refund(
        &self,
        spec: &RefundSpec,
        through_return: Option<Id>,
    ) -> Result<PlannedRefund, RefundError> {
        let order = self
            .orders
            .get(&spec.order_id)
            .ok_or(RefundError::OrderNotFound(spec.order_id))?;
        if spec.lines.is_empty() && spec.shipping.is_none() && spec.transactions.is_empty() {
            return Err(RefundError::Empty);
        }
        let money = line_money(order);
        let mut lines: Vec<PlannedLine> = Vec::new();
        for (i, l) in spec.lines.iter().enumerate() {
            let (index, line) = order
                .line_items
                .iter()
                .enumerate()
                .find(|(_, x)| x.id == l.line_item_id)
                .ok_or(RefundError::UnknownLine {
                    line: i,
                    id: l.line_item_id,
                })?;
            if l.quantity == 0 {
                return Err(RefundError::ZeroQuantity { line: i });
            }
            if l.restock_type == RestockType::LegacyRestock {
                return Err(RefundError::LegacyRestock { line: i });
            }
            // Units of the line already planned in this refund (a line named twice).
            let planned = |restock: Option<RestockType>| -> u32 {
                lines
                    .iter()
                    .filter(|p| p.line_item_id == line.id)
                    .filter(|p| restock.is_none_or(|r| p.restock_type == r))
                    .map(|p| p.quantity)
                    .sum()
            };
            let requested = planned(None) + l.quantity;
            if requested > line.refundable() {
                return Err(RefundError::TooMany {
                    line: i,
                    id: line.id,
                    refundable: line.refundable(),
                    requested,
                });
            }
            match l.restock_type {
                RestockType::Cancel => {
                    let requested = planned(Some(RestockType::Cancel)) + l.quantity;
                    if requested > line.fulfillable_quantity {
                        return Err(RefundError::CancelTooMany {
                            line: i,
                            id: line.id,
                            unfulfilled: line.fulfillable_quantity,
                            requested,
                        });
                    }
                }
                RestockType::Return => {
                    let requested = planned(Some(RestockType::Return)) + l.quantity;
                    if requested > line.shipped() {
                        return Err(RefundError::ReturnTooMany {
                            line: i,
                            id: line.id,
                            shipped: line.shipped(),
                            requested,
                        });
                    }
                }
                _ => {}
            }
            if let Some(location) = l.location_id
                && !self.locations.contains_key(&location)
            {
                return Err(RefundError::UnknownLocation {
                    line: i,
                    id: location,
                });
            }
            let item = line
                .variant_id
                .and_then(|v| self.variants.get(&v))
                .map(|v| v.inventory_item_id);
            let location_id = match l.restock_type {
                RestockType::NoRestock => None,
                // Cancelled units were committed where the order placed them.
                RestockType::Cancel => line.location_id,
                _ => l.location_id.or(line.location_id),
            };
            let restock = match (l.restock_type, through_return) {
                (RestockType::Return | RestockType::Cancel, None) => item.zip(location_id),
                _ => None,
            };
            let already = line.refunded_quantity + planned(None);
            lines.push(PlannedLine {
                line_item_id: line.id,
                quantity: l.quantity,
                restock_type: l.restock_type,
                location_id,
                money: units_money(&money[index], already, l.quantity),
                restock,
            });
        }
        let shipping = match spec.shipping {
            None => None,
            Some(requested) => {
                let refundable = self.refundable_shipping(order);
                let amount = match requested {
                    ShippingRefund::Full => refundable,
                    ShippingRefund::Amount(a) => a,
                };
                if amount > refundable || amount < Money::ZERO {
                    return Err(RefundError::ShippingTooMuch {
                        refundable,
                        requested: amount,
                    });
                }
                match order.shipping_lines.first() {
                    Some(s) if amount > Money::ZERO => Some((s.id, amount)),
                    _ => None,
                }
            }
        };
        let transactions = self.plan_transactions(spec, order)?;
        Ok(PlannedRefund {
            order_id: order.id,
            return_id: through_return,
            lines,
            shipping,
            transactions,
            note: spec.note.clone(),
            notify: spec.notify,
            processed_at: spec.processed_at,
        })
    }

    /// The refund's transactions, each with the payment it goes back through.
    fn plan_transactions(
        &self,
        spec: &RefundSpec,
        order: &Order,
    ) -> Result<Vec<(Id, String, Money)>, RefundError> {
        let mut planned: Vec<(Id, String, Money)> = Vec::new();
        let payments = self.refundable_payments(order.id);
        let mut total = Money::ZERO;
        for (i, t) in spec.transactions.iter().enumerate() {
            if t.order_id != order.id {
                return Err(RefundError::TransactionOrder { transaction: i });
            }
            if t.kind != TransactionKind::Refund {
                return Err(RefundError::TransactionKind { transaction: i });
            }
            if t.amount <= Money::ZERO {
                return Err(RefundError::TransactionAmount { transaction: i });
            }
            // What a payment can still give, less what this refund already takes from it.
            let left = |payment: &Transaction| {
                let taken: Money = planned
                    .iter()
                    .filter(|p| p.0 == payment.id)
                    .map(|p| p.2)
                    .sum();
                self.payment_refundable(payment) - taken
            };
            let parent = match t.parent_id {
                Some(id) => self
                    .transactions
                    .get(&id)
                    .filter(|p| {
                        p.order_id == order.id
                            && p.kind.is_payment()
                            && p.status == TransactionStatus::Success
                    })
                    .ok_or(RefundError::UnknownParent { transaction: i, id })?,
                None => payments
                    .iter()
                    .map(|(p, _)| *p)
                    .find(|p| {
                        (t.gateway.is_empty() || p.gateway == t.gateway) && left(p) > Money::ZERO
                    })
                    .ok_or(RefundError::NoPayment { transaction: i })?,
            };
            if !t.gateway.is_empty() && t.gateway != parent.gateway {
                return Err(RefundError::GatewayMismatch {
                    transaction: i,
                    gateway: t.gateway.clone(),
                });
            }
            let room = left(parent);
            if t.amount > room && !spec.allow_over_refunding {
                return Err(RefundError::OverRefund {
                    transaction: i,
                    refundable: room,
                    requested: t.amount,
                });
            }
            total = total + t.amount;
            let order_room = self.refundable_money(order.id);
            if total > order_room && !spec.allow_over_refunding {
                return Err(RefundError::OverRefund {
                    transaction: i,
                    refundable: order_room,
                    requested: total,
                });
            }
            planned.push((parent.id, parent.gateway.clone(), t.amount));
        }
        Ok(planned)
    }

    /// Apply a checked refund. Announces what [`Shop::create_refund`] does.
    pub(super) fn apply_refund(&mut self, plan: PlannedRefund) -> Id {
        let id = self.next_id();
        let now = self.now();
        let mut refund_lines = Vec::new();
        for l in &plan.lines {
            if let Some((item, location)) = l.restock {
                let qty = i64::from(l.quantity);
                if l.restock_type == RestockType::Cancel {
                    // Committed for the order, never shipped: back to available.
                    self.commit_stock(item, Some(location), -qty);
                } else {
                    let available = self
                        .inventory_level(item, location)
                        .map_or(0, |lv| lv.available);
                    self.apply_quantity(item, location, "available", available + qty);
                }
            }
            if l.restock_type == RestockType::Cancel {
                self.remove_unfulfilled(plan.order_id, l.line_item_id, l.quantity);
            }
            refund_lines.push(RefundLine {
                id: self.next_id(),
                line_item_id: l.line_item_id,
                quantity: l.quantity,
                restock_type: l.restock_type,
                location_id: l.location_id,
                subtotal: l.money.subtotal,
                total_tax: l.money.tax,
                restocked: l.restock_type != RestockType::NoRestock,
            });
        }
        let shipping_lines = plan
            .shipping
            .map(|(shipping_line_id, amount)| RefundShippingLine {
                id: self.next_id(),
                shipping_line_id,
                subtotal: amount,
                tax: Money::ZERO,
            })
            .into_iter()
            .collect();
        let processed_at = plan.processed_at.unwrap_or(now);
        let mut transaction_ids = Vec::new();
        for (parent, gateway, amount) in plan.transactions {
            let tx = self.push_transaction(
                plan.order_id,
                TransactionKind::Refund,
                amount,
                Some(parent),
                now,
            );
            let (status, code, message) = self.refund_outcome(tx);
            if let Some(t) = self.transactions.get_mut(&tx) {
                t.gateway = gateway;
                t.status = status;
                t.error_code = code;
                t.message = message;
                t.refund_id = Some(id);
                t.processed_at = processed_at;
            }
            transaction_ids.push(tx);
        }
        self.refunds.insert(
            id,
            Refund {
                id,
                order_id: plan.order_id,
                return_id: plan.return_id,
                note: plan.note,
                line_items: refund_lines,
                shipping_lines,
                transaction_ids,
                notify: plan.notify,
                created_at: now,
                processed_at,
                updated_at: now,
            },
        );
        self.refresh_refund_totals(plan.order_id);
        // The order exists: the plan was made from it.
        let _ = self.update_order(plan.order_id, |o| {
            for l in &plan.lines {
                if let Some(line) = o.line_items.iter_mut().find(|x| x.id == l.line_item_id) {
                    line.refunded_quantity += l.quantity;
                }
            }
            o.refund_ids.push(id);
        });
        self.emit(topics::REFUNDS_CREATE, id);
        id
    }

    /// Units of a line refunded before shipping leave its fulfillment order (and the order's
    /// units to fulfil); a fulfillment order left with nothing closes.
    fn remove_unfulfilled(&mut self, order_id: Id, line_item_id: Id, quantity: u32) {
        let fos: Vec<Id> = self
            .orders
            .get(&order_id)
            .map(|o| o.fulfillment_order_ids.clone())
            .unwrap_or_default();
        let mut left = quantity;
        for fo_id in fos {
            if left == 0 {
                break;
            }
            let Some(previous) = self.fulfillment_orders.get(&fo_id).map(|f| f.updated_at) else {
                continue;
            };
            let next = self.touch(previous);
            let Some(fo) = self.fulfillment_orders.get_mut(&fo_id) else {
                continue;
            };
            let Some(line) = fo
                .line_items
                .iter_mut()
                .find(|l| l.line_item_id == line_item_id && l.remaining_quantity > 0)
            else {
                continue;
            };
            let take = left.min(line.remaining_quantity);
            line.remaining_quantity -= take;
            line.total_quantity -= take;
            left -= take;
            if fo.remaining() == 0 && !fo.status.is_done() {
                fo.status = FulfillmentOrderStatus::Closed;
                fo.holds.clear();
            }
            fo.updated_at = next;
        }
        if let Some(line) = self
            .orders
            .get_mut(&order_id)
            .and_then(|o| o.line_items.iter_mut().find(|l| l.id == line_item_id))
        {
            line.fulfillable_quantity = line.fulfillable_quantity.saturating_sub(quantity);
            line.removed_quantity += quantity;
        }
        self.refresh_fulfillment_status(order_id);
    }
}
