//! The return lifecycle: requesting, deciding, processing, closing (`return_model.rs` has the
//! states and why they move).
//!
//! Every caller goes through these methods, whether a GraphQL mutation or a simulated
//! customer, so every change is announced the same way: the return's own topic
//! (`returns/request`, `returns/approve`, …) and, for every change after the request,
//! `returns/update` ("occurs whenever a return is updated"), with the order touched
//! (`orders/updated`) so that a poll of `orders(query: "updated_at:>…")` finds it. A refused
//! change changed nothing.
//!
//! What a return may take: units of a fulfillment line item that shipped and that no other
//! return still holds, and no more than its order line has left once refunds are counted
//! (units refunded outside a return are gone; units refunded through a return stay with it).

use super::*;

/// Why a return change was refused. `line` is the position in the input's lines and
/// `disposition` in that line's dispositions, so the API can name the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReturnError {
    #[error("order {0} does not exist")]
    OrderNotFound(Id),
    #[error("return {0} does not exist")]
    NotFound(Id),
    #[error("a return needs at least one line")]
    NoLines,
    #[error("fulfillment line item {id} is not a shipped line of the order")]
    UnknownFulfillmentLine { line: usize, id: Id },
    #[error("fulfillment line item {id} is named twice")]
    DuplicateLine { line: usize, id: Id },
    #[error("quantity must be greater than 0")]
    ZeroQuantity { line: usize },
    #[error(
        "{returnable} units of fulfillment line item {id} can be returned, {requested} requested"
    )]
    NotReturnable {
        line: usize,
        id: Id,
        returnable: u32,
        requested: u32,
    },
    #[error("the customer note is longer than {MAX_CUSTOMER_NOTE} characters")]
    NoteTooLong { line: usize },
    #[error("return reason definition {id} does not exist")]
    UnknownReason { line: usize, id: Id },
    #[error("the return shipping fee cannot be negative")]
    NegativeFee,
    #[error("return {id} is {} and cannot be {action}", .status.as_rest())]
    InvalidState {
        id: Id,
        status: ReturnStatus,
        action: &'static str,
    },
    #[error("return {0} was processed or refunded already and cannot be canceled")]
    WorkDone(Id),
    #[error("the decline note is longer than {MAX_DECLINE_NOTE} characters")]
    DeclineNoteTooLong,
    #[error("return line item {id} is not a line of the return")]
    UnknownReturnLine { line: usize, id: Id },
    #[error(
        "{unprocessed} units of return line item {id} are left to process, {requested} requested"
    )]
    NotProcessable {
        line: usize,
        id: Id,
        unprocessed: u32,
        requested: u32,
    },
    #[error("reverse fulfillment order line item {id} is not the return line's")]
    UnknownReverseLine {
        line: usize,
        disposition: usize,
        id: Id,
    },
    #[error("the dispositions name {disposed} units, the line processes {quantity}")]
    TooManyDisposed {
        line: usize,
        quantity: u32,
        disposed: u32,
    },
    #[error("a disposition's quantity must be greater than 0")]
    ZeroDisposition { line: usize, disposition: usize },
    #[error("a RESTOCKED disposition needs a location")]
    RestockWithoutLocation { line: usize, disposition: usize },
    #[error("location {id} does not exist or is not active")]
    UnknownLocation {
        line: usize,
        disposition: usize,
        id: Id,
    },
    #[error(
        "{refundable} units of return line item {id} are left to refund, {requested} requested"
    )]
    NotRefundable {
        line: usize,
        id: Id,
        refundable: u32,
        requested: u32,
    },
    #[error(transparent)]
    Refund(#[from] RefundError),
}

impl Shop {
    /// A return of an order, by id.
    pub fn returns_of(&self, order_id: Id) -> Vec<&Return> {
        self.orders
            .get(&order_id)
            .map(|o| {
                o.return_ids
                    .iter()
                    .filter_map(|id| self.returns.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The refunds made through a return, oldest first.
    pub fn refunds_of_return<'a>(&'a self, r: &'a Return) -> impl Iterator<Item = &'a Refund> + 'a {
        self.orders
            .get(&r.order_id)
            .into_iter()
            .flat_map(|o| &o.refund_ids)
            .filter_map(|id| self.refunds.get(id))
            .filter(move |f| f.return_id == Some(r.id))
    }

    /// A fulfillment line item of an order: (fulfillment, line).
    pub fn fulfillment_line(
        &self,
        order_id: Id,
        id: Id,
    ) -> Option<(&Fulfillment, &FulfillmentLine)> {
        self.orders
            .get(&order_id)?
            .fulfillment_ids
            .iter()
            .find_map(|f| {
                let f = self.fulfillments.get(f)?;
                f.line_items.iter().find(|l| l.id == id).map(|l| (f, l))
            })
    }

    /// Units of a fulfillment line item a new return may take.
    pub fn returnable(&self, order_id: Id, fulfillment_line_item_id: Id) -> u32 {
        let Some((_, fl)) = self.fulfillment_line(order_id, fulfillment_line_item_id) else {
            return 0;
        };
        let Some(line) = self
            .orders
            .get(&order_id)
            .and_then(|o| o.line_items.iter().find(|l| l.id == fl.line_item_id))
        else {
            return 0;
        };
        let holding: Vec<&ReturnLine> = self
            .returns_of(order_id)
            .into_iter()
            .filter(|r| r.holds_units())
            .flat_map(|r| &r.line_items)
            .collect();
        let on_this: u32 = holding
            .iter()
            .filter(|r| r.fulfillment_line_item_id == fl.id)
            .map(|r| r.quantity)
            .sum();
        // Units of the line still with the customer: shipped, less what was refunded after
        // shipping, less what returns hold and have not refunded yet (refunded return units
        // are counted once, among the refunded).
        let refunded_shipped = line.refunded_quantity.saturating_sub(line.removed_quantity);
        let held_unrefunded: u32 = holding
            .iter()
            .filter(|r| r.line_item_id == line.id)
            .map(|r| r.refundable())
            .sum();
        let by_line = line
            .shipped()
            .saturating_sub(refunded_shipped)
            .saturating_sub(held_unrefunded);
        fl.quantity.saturating_sub(on_this).min(by_line)
    }

    /// A customer asks to return units (`returnRequest`): status `REQUESTED`. Announces
    /// `orders/updated` and `returns/request`.
    pub fn request_return(&mut self, spec: ReturnSpec) -> Result<Id, ReturnError> {
        let order = self
            .orders
            .get(&spec.order_id)
            .ok_or(ReturnError::OrderNotFound(spec.order_id))?;
        if spec.lines.is_empty() {
            return Err(ReturnError::NoLines);
        }
        if spec.shipping_fee.is_some_and(|f| f < Money::ZERO) {
            return Err(ReturnError::NegativeFee);
        }
        let mut lines = Vec::new();
        for (i, l) in spec.lines.iter().enumerate() {
            let id = l.fulfillment_line_item_id;
            let (fulfillment, fl) = self
                .fulfillment_line(order.id, id)
                .ok_or(ReturnError::UnknownFulfillmentLine { line: i, id })?;
            if spec.lines[..i]
                .iter()
                .any(|x| x.fulfillment_line_item_id == id)
            {
                return Err(ReturnError::DuplicateLine { line: i, id });
            }
            if l.quantity == 0 {
                return Err(ReturnError::ZeroQuantity { line: i });
            }
            let returnable = self.returnable(order.id, id);
            if l.quantity > returnable {
                return Err(ReturnError::NotReturnable {
                    line: i,
                    id,
                    returnable,
                    requested: l.quantity,
                });
            }
            if l.customer_note
                .as_ref()
                .is_some_and(|n| n.chars().count() > MAX_CUSTOMER_NOTE)
            {
                return Err(ReturnError::NoteTooLong { line: i });
            }
            let reason = match l.reason_definition_id {
                Some(d) => {
                    reason_definition(d)
                        .ok_or(ReturnError::UnknownReason { line: i, id: d })?
                        .reason
                }
                None => l.reason,
            };
            lines.push((fulfillment.id, fl.id, fl.line_item_id, reason, l));
        }
        let name = format!("{}-R{}", order.name, order.return_ids.len() + 1);
        let order_id = order.id;
        let id = self.next_id();
        let line_items = lines
            .into_iter()
            .map(
                |(fulfillment_id, fli, line_item_id, reason, l)| ReturnLine {
                    id: self.next_id(),
                    fulfillment_id,
                    fulfillment_line_item_id: fli,
                    line_item_id,
                    quantity: l.quantity,
                    reason,
                    reason_definition_id: l.reason_definition_id,
                    customer_note: l.customer_note.clone(),
                    processed_quantity: 0,
                    refunded_quantity: 0,
                    reverse_line_id: None,
                    dispositions: Vec::new(),
                },
            )
            .collect();
        let shipping_fee = spec.shipping_fee.map(|amount| ReturnShippingFee {
            id: self.next_id(),
            amount,
        });
        let now = self.now();
        self.returns.insert(
            id,
            Return {
                id,
                order_id,
                name,
                status: ReturnStatus::Requested,
                line_items,
                decline: None,
                shipping_fee,
                reverse_fulfillment_order_id: None,
                notifications: 0,
                created_at: now,
                updated_at: now,
                approved_at: None,
                closed_at: None,
            },
        );
        // The order exists: it was read above.
        let _ = self.update_order(order_id, |o| o.return_ids.push(id));
        self.emit(topics::RETURNS_REQUEST, id);
        Ok(id)
    }

    /// The return in one of `allowed` statuses, or why not.
    fn return_in(
        &self,
        id: Id,
        allowed: &[ReturnStatus],
        action: &'static str,
    ) -> Result<&Return, ReturnError> {
        let r = self.returns.get(&id).ok_or(ReturnError::NotFound(id))?;
        if !allowed.contains(&r.status) {
            return Err(ReturnError::InvalidState {
                id,
                status: r.status,
                action,
            });
        }
        Ok(r)
    }

    /// Change a return, move its `updated_at` forward, touch its order, and announce `topics`
    /// then `returns/update`.
    fn change_return(&mut self, id: Id, topics: &[&'static str], f: impl FnOnce(&mut Return)) {
        let Some(previous) = self.returns.get(&id).map(|r| r.updated_at) else {
            return;
        };
        let next = self.touch(previous);
        let Some(r) = self.returns.get_mut(&id) else {
            return;
        };
        f(r);
        r.updated_at = next;
        let order_id = r.order_id;
        let _ = self.update_order(order_id, |_| {});
        for topic in topics {
            self.emit(topic, id);
        }
        self.emit(topics::RETURNS_UPDATE, id);
    }

    /// Approve a requested return (`returnApproveRequest`): `OPEN`, with a reverse
    /// fulfillment order to receive the units. Announces `returns/approve`.
    pub fn approve_return(&mut self, id: Id, notify_customer: bool) -> Result<(), ReturnError> {
        let lines = self
            .return_in(id, &[ReturnStatus::Requested], "approved")?
            .line_items
            .len();
        let rfo = self.next_id();
        let reverse_lines: Vec<Id> = (0..lines).map(|_| self.next_id()).collect();
        let now = self.now();
        self.change_return(id, &[topics::RETURNS_APPROVE], |r| {
            r.status = ReturnStatus::Open;
            r.approved_at = Some(now);
            r.reverse_fulfillment_order_id = Some(rfo);
            for (line, reverse) in r.line_items.iter_mut().zip(reverse_lines) {
                line.reverse_line_id = Some(reverse);
            }
            r.notifications += u32::from(notify_customer);
        });
        Ok(())
    }

    /// Decline a requested return (`returnDeclineRequest`): `DECLINED`, its units free to be
    /// asked for again. Announces `returns/decline`.
    pub fn decline_return(
        &mut self,
        id: Id,
        reason: ReturnDeclineReason,
        note: Option<String>,
        notify_customer: bool,
    ) -> Result<(), ReturnError> {
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_DECLINE_NOTE)
        {
            return Err(ReturnError::DeclineNoteTooLong);
        }
        self.return_in(id, &[ReturnStatus::Requested], "declined")?;
        self.change_return(id, &[topics::RETURNS_DECLINE], |r| {
            r.status = ReturnStatus::Declined;
            r.decline = Some(ReturnDecline { reason, note });
            r.notifications += u32::from(notify_customer);
        });
        Ok(())
    }

    /// Cancel an open return before any work was done on it (`returnCancel`): `CANCELED`,
    /// its units back to being fulfilled. Announces `returns/cancel`.
    pub fn cancel_return(&mut self, id: Id, notify_customer: bool) -> Result<(), ReturnError> {
        if self
            .return_in(id, &[ReturnStatus::Open], "canceled")?
            .work_done()
        {
            return Err(ReturnError::WorkDone(id));
        }
        self.change_return(id, &[topics::RETURNS_CANCEL], |r| {
            r.status = ReturnStatus::Canceled;
            r.notifications += u32::from(notify_customer);
        });
        Ok(())
    }

    /// Close an open return (`returnClose`): the merchant says it is complete. Announces
    /// `returns/close`.
    pub fn close_return(&mut self, id: Id) -> Result<(), ReturnError> {
        self.return_in(id, &[ReturnStatus::Open], "closed")?;
        let now = self.now();
        self.change_return(id, &[topics::RETURNS_CLOSE], |r| {
            r.status = ReturnStatus::Closed;
            r.closed_at = Some(now);
        });
        Ok(())
    }

    /// Reopen a closed return (`returnReopen`). Announces `returns/reopen`.
    pub fn reopen_return(&mut self, id: Id) -> Result<(), ReturnError> {
        self.return_in(id, &[ReturnStatus::Closed], "reopened")?;
        self.change_return(id, &[topics::RETURNS_REOPEN], |r| {
            r.status = ReturnStatus::Open;
            r.closed_at = None;
        });
        Ok(())
    }

    /// What refunding `lines` ((return line, units)) of a return would give back, with
    /// `shipping` (`suggestedFinancialOutcome`): the numbers `returnProcess` then records. The
    /// return's shipping fee is kept out of its first refund.
    pub fn suggest_return_outcome(
        &self,
        id: Id,
        lines: &[(Id, u32)],
        shipping: Option<ShippingRefund>,
    ) -> Result<RefundOutcome, ReturnError> {
        let r = self.returns.get(&id).ok_or(ReturnError::NotFound(id))?;
        let mut units: Vec<(Id, u32)> = Vec::new();
        for (i, (line_id, qty)) in lines.iter().enumerate() {
            let rl = r.line(*line_id).ok_or(ReturnError::UnknownReturnLine {
                line: i,
                id: *line_id,
            })?;
            let earlier: u32 = lines[..i]
                .iter()
                .filter(|(l, _)| l == line_id)
                .map(|(_, q)| q)
                .sum();
            if earlier + qty > rl.refundable() {
                return Err(ReturnError::NotRefundable {
                    line: i,
                    id: *line_id,
                    refundable: rl.refundable(),
                    requested: earlier + qty,
                });
            }
            units.push((rl.line_item_id, *qty));
        }
        let refunded_before = self.refunds_of_return(r).next().is_some();
        let fee = match (&r.shipping_fee, refunded_before) {
            (Some(fee), false) => fee.amount,
            _ => Money::ZERO,
        };
        Ok(self.suggest_refund(r.order_id, &units, shipping, fee)?)
    }

    /// Confirm received units of an open return (`returnProcess`): what became of them
    /// (restocked units go back to `available` where named), and with `refund`, a refund of
    /// them through the order's payments. Once every unit is processed the return closes.
    /// Announces `inventory_levels/update` for restocks, `refunds/create` for the refund,
    /// `returns/process`, `returns/close` when it closed, and `returns/update`. Returns the
    /// refund's id.
    pub fn process_return(&mut self, spec: ProcessSpec) -> Result<Option<Id>, ReturnError> {
        let r = self.return_in(spec.return_id, &[ReturnStatus::Open], "processed")?;
        if spec.lines.is_empty() {
            return Err(ReturnError::NoLines);
        }
        let mut restocks: Vec<(Id, Id, u32)> = Vec::new();
        let mut refund_lines = Vec::new();
        for (i, l) in spec.lines.iter().enumerate() {
            let rl = r
                .line(l.return_line_id)
                .ok_or(ReturnError::UnknownReturnLine {
                    line: i,
                    id: l.return_line_id,
                })?;
            if l.quantity == 0 {
                return Err(ReturnError::ZeroQuantity { line: i });
            }
            let earlier: u32 = spec.lines[..i]
                .iter()
                .filter(|x| x.return_line_id == rl.id)
                .map(|x| x.quantity)
                .sum();
            if earlier + l.quantity > rl.unprocessed() {
                return Err(ReturnError::NotProcessable {
                    line: i,
                    id: rl.id,
                    unprocessed: rl.unprocessed(),
                    requested: earlier + l.quantity,
                });
            }
            if spec.refund.is_some() && earlier + l.quantity > rl.refundable() {
                return Err(ReturnError::NotRefundable {
                    line: i,
                    id: rl.id,
                    refundable: rl.refundable(),
                    requested: earlier + l.quantity,
                });
            }
            let mut disposed = 0;
            let mut restocked_at = None;
            for (j, d) in l.dispositions.iter().enumerate() {
                if rl.reverse_line_id != Some(d.reverse_line_id) {
                    return Err(ReturnError::UnknownReverseLine {
                        line: i,
                        disposition: j,
                        id: d.reverse_line_id,
                    });
                }
                if d.quantity == 0 {
                    return Err(ReturnError::ZeroDisposition {
                        line: i,
                        disposition: j,
                    });
                }
                disposed += d.quantity;
                if d.kind == DispositionType::Restocked {
                    let location = d.location_id.ok_or(ReturnError::RestockWithoutLocation {
                        line: i,
                        disposition: j,
                    })?;
                    if !self.locations.get(&location).is_some_and(|l| l.active) {
                        return Err(ReturnError::UnknownLocation {
                            line: i,
                            disposition: j,
                            id: location,
                        });
                    }
                    let item = self
                        .orders
                        .get(&r.order_id)
                        .and_then(|o| o.line_items.iter().find(|x| x.id == rl.line_item_id))
                        .and_then(|x| x.variant_id)
                        .and_then(|v| self.variants.get(&v))
                        .map(|v| v.inventory_item_id);
                    if let Some(item) = item {
                        restocks.push((item, location, d.quantity));
                    }
                    restocked_at = Some(location);
                }
            }
            if disposed > l.quantity {
                return Err(ReturnError::TooManyDisposed {
                    line: i,
                    quantity: l.quantity,
                    disposed,
                });
            }
            refund_lines.push(RefundLineSpec {
                line_item_id: rl.line_item_id,
                quantity: l.quantity,
                restock_type: if restocked_at.is_some() {
                    RestockType::Return
                } else {
                    RestockType::NoRestock
                },
                location_id: restocked_at,
            });
        }
        let order_id = r.order_id;
        // Every unit processed once this call is applied: the return closes.
        let closes = r.line_items.iter().all(|rl| {
            let now: u32 = spec
                .lines
                .iter()
                .filter(|l| l.return_line_id == rl.id)
                .map(|l| l.quantity)
                .sum();
            rl.processed_quantity + now >= rl.quantity
        });
        let refund_plan = match &spec.refund {
            None => None,
            Some(issue) => {
                let transactions = issue
                    .transactions
                    .iter()
                    .map(|t| RefundTransactionSpec {
                        order_id,
                        parent_id: Some(t.parent_id),
                        gateway: String::new(),
                        kind: TransactionKind::Refund,
                        amount: t.amount,
                    })
                    .collect();
                let refund = RefundSpec {
                    order_id,
                    lines: refund_lines,
                    shipping: spec.refund_shipping,
                    transactions,
                    note: spec.note.clone(),
                    notify: spec.notify_customer,
                    allow_over_refunding: issue.allow_over_refunding,
                    processed_at: None,
                };
                Some(self.plan_refund(&refund, Some(spec.return_id))?)
            }
        };
        // Checked: now apply.
        for (item, location, qty) in restocks {
            let available = self
                .inventory_level(item, location)
                .map_or(0, |l| l.available);
            self.apply_quantity(item, location, "available", available + i64::from(qty));
        }
        let refund = refund_plan.map(|plan| self.apply_refund(plan));
        let now = self.now();
        let disposed = spec.lines.iter().map(|l| l.dispositions.len()).sum();
        let mut ids: Vec<Id> = (0..disposed).map(|_| self.next_id()).collect();
        ids.reverse();
        let topics_sent: &[&'static str] = if closes {
            &[topics::RETURNS_PROCESS, topics::RETURNS_CLOSE]
        } else {
            &[topics::RETURNS_PROCESS]
        };
        self.change_return(spec.return_id, topics_sent, |r| {
            for l in &spec.lines {
                let Some(rl) = r.line_items.iter_mut().find(|x| x.id == l.return_line_id) else {
                    continue;
                };
                rl.processed_quantity += l.quantity;
                if refund.is_some() {
                    rl.refunded_quantity += l.quantity;
                }
                for d in &l.dispositions {
                    rl.dispositions.push(Disposition {
                        id: ids.pop().unwrap_or_default(),
                        kind: d.kind,
                        quantity: d.quantity,
                        location_id: d
                            .location_id
                            .filter(|_| d.kind == DispositionType::Restocked),
                        created_at: now,
                    });
                }
            }
            if closes {
                r.status = ReturnStatus::Closed;
                r.closed_at = Some(now);
            }
            r.notifications += u32::from(spec.notify_customer);
        });
        Ok(refund)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shop with one order of 3 units, shipped: (shop, order, fulfillment line, line item).
    fn shipped() -> (Shop, Id, Id, Id) {
        let mut shop = Shop::new("Demo", "demo.myshopify.com", "USD");
        shop.set_clock(Timestamp::parse("2026-10-01T00:00:00Z"));
        shop.add_location("Main");
        let product = shop.add_product(ProductSpec {
            title: "Shirt".into(),
            vendor: "Acme".into(),
            product_type: "Shirts".into(),
            tags: vec![],
            variants: vec![VariantSpec {
                title: "M".into(),
                sku: "SHIRT-M".into(),
                price: Money(2500),
                grams: 200,
            }],
            stock_per_location: 10,
        });
        let variant = shop.products[&product].variant_ids[0];
        let order = shop.create_order(OrderSpec {
            line_items: vec![LineSpec::variant(variant, 3)],
            ..OrderSpec::default()
        });
        let f = shop
            .create_fulfillment(order, FulfillmentSpec::default())
            .unwrap();
        let fli = shop.fulfillments[&f].line_items[0].id;
        let line = shop.orders[&order].line_items[0].id;
        (shop, order, fli, line)
    }

    fn ask(shop: &mut Shop, order: Id, fli: Id, quantity: u32) -> Result<Id, ReturnError> {
        shop.request_return(ReturnSpec {
            order_id: order,
            lines: vec![ReturnLineSpec::new(fli, quantity, ReturnReason::Unwanted)],
            shipping_fee: None,
        })
    }

    #[test]
    fn units_are_returnable_once_whatever_was_refunded_or_declined() {
        let (mut shop, order, fli, line) = shipped();
        assert_eq!(shop.returnable(order, fli), 3);
        // A unit refunded in the admin stays with the customer but cannot come back for money.
        shop.create_refund(RefundSpec {
            order_id: order,
            lines: vec![RefundLineSpec::new(line, 1, RestockType::NoRestock)],
            ..RefundSpec::default()
        })
        .unwrap();
        assert_eq!(shop.returnable(order, fli), 2);
        let first = ask(&mut shop, order, fli, 2).unwrap();
        assert_eq!(shop.returnable(order, fli), 0);
        assert!(matches!(
            ask(&mut shop, order, fli, 1),
            Err(ReturnError::NotReturnable { returnable: 0, .. })
        ));
        shop.decline_return(first, ReturnDeclineReason::Other, None, false)
            .unwrap();
        assert_eq!(
            shop.returnable(order, fli),
            2,
            "declined units are free again"
        );
        let second = ask(&mut shop, order, fli, 2).unwrap();
        shop.approve_return(second, false).unwrap();
        let rl = &shop.returns[&second].line_items[0];
        let (rl, reverse) = (rl.id, rl.reverse_line_id.unwrap());
        let outcome = shop
            .suggest_return_outcome(second, &[(rl, 2)], None)
            .unwrap();
        assert_eq!(outcome.subtotal, Money(5000));
        let refund = shop
            .process_return(ProcessSpec {
                return_id: second,
                lines: vec![ProcessLineSpec {
                    return_line_id: rl,
                    quantity: 2,
                    dispositions: vec![DispositionSpec {
                        reverse_line_id: reverse,
                        quantity: 2,
                        kind: DispositionType::NotRestocked,
                        location_id: None,
                    }],
                }],
                refund: Some(IssueRefund {
                    transactions: outcome
                        .transactions
                        .iter()
                        .map(|(parent_id, amount, _)| ParentAmount {
                            parent_id: *parent_id,
                            amount: *amount,
                        })
                        .collect(),
                    allow_over_refunding: false,
                }),
                ..ProcessSpec::default()
            })
            .unwrap()
            .unwrap();
        assert_eq!(shop.returns[&second].status, ReturnStatus::Closed);
        assert_eq!(shop.refunds[&refund].return_id, Some(second));
        assert_eq!(shop.orders[&order].line_items[0].refunded_quantity, 3);
        // Refunded return units are counted once: nothing is returnable, nothing below zero.
        assert_eq!(shop.returnable(order, fli), 0);
        assert!(matches!(
            shop.process_return(ProcessSpec {
                return_id: second,
                lines: vec![ProcessLineSpec {
                    return_line_id: rl,
                    quantity: 1,
                    dispositions: Vec::new(),
                }],
                ..ProcessSpec::default()
            }),
            Err(ReturnError::InvalidState { .. })
        ));
    }
}
