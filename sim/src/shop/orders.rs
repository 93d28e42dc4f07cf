//! The order lifecycle: placing, updating, paying, cancelling (fulfilling is in
//! `fulfillments.rs`, returning in `returns.rs`, refunding in `refunds.rs`, the payments in
//! `payments.rs`).

use super::*;

impl Shop {
    /// Place an order: lines priced from their variants, stock committed at the first active
    /// location that stocks each item, totals computed. Announces `orders/create` (and
    /// `inventory_levels/update` for each committed level; `orders/paid` if paid).
    pub fn create_order(&mut self, spec: OrderSpec) -> Id {
        let paid = spec.financial_status == FinancialStatus::Paid;
        let id = self.insert_order(spec);
        self.emit(topics::ORDERS_CREATE, id);
        if paid {
            self.emit(topics::ORDERS_PAID, id);
        }
        id
    }

    /// `create_order` without the order events (the seed uses it before anyone listens).
    pub(crate) fn insert_order(&mut self, spec: OrderSpec) -> Id {
        let now = self.now();
        let id = self.next_id();
        let number = self.next_order_number();
        let customer = spec
            .customer_id
            .and_then(|c| self.customers.get(&c))
            .cloned();
        let mut line_items = Vec::new();
        for line in &spec.line_items {
            let variant = line.variant_id.and_then(|v| self.variants.get(&v)).cloned();
            let product = variant
                .as_ref()
                .and_then(|v| self.products.get(&v.product_id))
                .cloned();
            let line_id = self.next_id();
            // A line placed `at` a location commits its stock there (stocking the item there
            // first if need be, so the commitment shows); others at the first active location
            // that stocks the item.
            let at = line.location_id.filter(|l| self.locations.contains_key(l));
            let location_id = match &variant {
                Some(v) => {
                    if let Some(l) = at
                        && !self
                            .inventory_levels
                            .contains_key(&(v.inventory_item_id, l))
                    {
                        self.insert_level(v.inventory_item_id, l, 0);
                    }
                    self.commit_stock(v.inventory_item_id, at, i64::from(line.quantity))
                }
                None => at,
            };
            line_items.push(LineItem {
                id: line_id,
                variant_id: variant.as_ref().map(|v| v.id),
                product_id: variant.as_ref().map(|v| v.product_id),
                sku: line
                    .sku
                    .clone()
                    .or_else(|| variant.as_ref().map(|v| v.sku.clone())),
                title: line
                    .title
                    .clone()
                    .or_else(|| product.as_ref().map(|p| p.title.clone()))
                    .unwrap_or_else(|| "Custom item".into()),
                variant_title: variant.as_ref().map(|v| v.title.clone()),
                vendor: product.as_ref().map(|p| p.vendor.clone()),
                quantity: line.quantity,
                price: line
                    .price
                    .or_else(|| variant.as_ref().map(|v| v.price))
                    .unwrap_or(Money::ZERO),
                total_discount: Money::ZERO,
                grams: variant.as_ref().map_or(0, |v| v.grams),
                taxable: true,
                requires_shipping: true,
                gift_card: false,
                fulfillable_quantity: line.quantity,
                location_id,
                refunded_quantity: 0,
                removed_quantity: 0,
            });
        }
        let shipping_address = spec
            .shipping_address
            .or_else(|| customer.as_ref().and_then(|c| c.default_address.clone()));
        let billing_address = spec.billing_address.or_else(|| shipping_address.clone());
        let processed_at = spec.processed_at.unwrap_or(now);
        let mut order = Order {
            id,
            number,
            name: format!("#{number}"),
            email: spec
                .email
                .or_else(|| customer.as_ref().and_then(|c| c.email.clone())),
            phone: spec.phone,
            customer_id: customer.as_ref().map(|c| c.id),
            created_at: processed_at,
            updated_at: processed_at,
            processed_at,
            cancelled_at: None,
            cancel_reason: None,
            closed_at: None,
            currency: self.currency.clone(),
            presentment_currency: self.currency.clone(),
            financial_status: spec.financial_status,
            fulfillment_status: FulfillmentStatus::Unfulfilled,
            total_discounts: spec.discount,
            total_shipping: spec.shipping,
            total_tax: Money::ZERO,
            tax_rate_bps: spec.tax_rate_bps,
            total_refunded: Money::ZERO,
            taxes_included: false,
            tax_exempt: customer.as_ref().is_some_and(|c| c.tax_exempt),
            test: spec.test,
            confirmed: true,
            source_name: spec.source_name,
            payment_gateway_names: vec!["shopify_payments".into()],
            customer_locale: customer
                .as_ref()
                .map_or_else(|| "en".to_string(), |c| c.locale.clone()),
            buyer_accepts_marketing: customer.as_ref().is_some_and(|c| c.accepts_marketing()),
            token: format!("{:032x}", u128::from(id) * 0x9e37_79b9_7f4a_7c15),
            confirmation_number: confirmation_number(id),
            browser_ip: Some("203.0.113.7".into()),
            landing_site: Some("/".into()),
            referring_site: None,
            po_number: None,
            note: spec.note,
            note_attributes: Vec::new(),
            tags: spec.tags,
            discount_codes: Vec::new(),
            shipping_address,
            billing_address,
            line_items,
            shipping_lines: Vec::new(),
            risk: spec.risk,
            fulfillment_order_ids: Vec::new(),
            fulfillment_ids: Vec::new(),
            return_ids: Vec::new(),
            refund_ids: Vec::new(),
            transaction_ids: Vec::new(),
        };
        if spec.shipping > Money::ZERO {
            let line_id = self.next_id();
            order.shipping_lines.push(ShippingLine {
                id: line_id,
                title: "Standard Shipping".into(),
                code: "STANDARD".into(),
                source: "shopify".into(),
                price: spec.shipping,
            });
        }
        if spec.discount > Money::ZERO {
            order.discount_codes.push(DiscountCode {
                code: "WELCOME10".into(),
                amount: spec.discount,
                kind: "fixed_amount".into(),
            });
        }
        if !order.tax_exempt {
            order.total_tax = order.subtotal().times_bps(spec.tax_rate_bps);
        }
        order.fulfillment_order_ids =
            self.create_fulfillment_orders(id, &order.line_items, processed_at);
        self.orders.insert(id, order);
        self.record_payment(id);
        id
    }

    /// Change an order and announce `orders/updated`.
    pub fn update_order(&mut self, id: Id, f: impl FnOnce(&mut Order)) -> Result<(), ShopError> {
        let next = self.touch(
            self.orders
                .get(&id)
                .ok_or(not_found("order", id))?
                .updated_at,
        );
        let order = self.orders.get_mut(&id).ok_or(not_found("order", id))?;
        f(order);
        order.updated_at = next;
        self.emit(topics::ORDERS_UPDATED, id);
        Ok(())
    }

    /// Cancel an order: unfulfilled stock goes back to `available`, the order closes, payment
    /// is voided (or refunded if it was paid), its fulfillment orders still to ship are
    /// cancelled (closed when part of them shipped). Announces `orders/cancelled` and
    /// `orders/updated`.
    pub fn cancel_order(&mut self, id: Id, reason: CancelReason) -> Result<(), ShopError> {
        let order = self.orders.get(&id).ok_or(not_found("order", id))?;
        if order.cancelled_at.is_some() {
            return Err(ShopError::Invalid(format!(
                "order {} is already cancelled",
                order.name
            )));
        }
        let releases: Vec<(Id, Option<Id>, u32)> = order
            .line_items
            .iter()
            .filter_map(|l| {
                let item = self.variants.get(&l.variant_id?)?.inventory_item_id;
                Some((item, l.location_id, l.fulfillable_quantity))
            })
            .collect();
        for (item, location, qty) in releases {
            if qty > 0 && location.is_some() {
                self.commit_stock(item, location, -i64::from(qty));
            }
        }
        self.cancel_fulfillment_orders(id);
        let now = self.now();
        // Money received goes back through the payments. Shopify records a refund for it;
        // the simulator records the transactions only (no `refunds/create`), so the ledger
        // agrees with the order's totals.
        let payments: Vec<(Id, Money)> = self
            .refundable_payments(id)
            .into_iter()
            .map(|(p, left)| (p.id, left))
            .collect();
        for (parent, amount) in payments {
            self.push_transaction(id, TransactionKind::Refund, amount, Some(parent), now);
        }
        let refunded = self.refresh_refund_totals(id);
        self.update_order(id, |o| {
            o.cancelled_at = Some(now);
            o.cancel_reason = Some(reason);
            o.closed_at = Some(now);
            if !refunded {
                o.financial_status = match o.financial_status {
                    FinancialStatus::Refunded | FinancialStatus::PartiallyRefunded => {
                        o.financial_status
                    }
                    _ => FinancialStatus::Voided,
                };
            }
            for l in &mut o.line_items {
                l.removed_quantity += l.fulfillable_quantity;
                l.fulfillable_quantity = 0;
            }
        })?;
        self.emit(topics::ORDERS_CANCELLED, id);
        Ok(())
    }

    /// Capture payment: `PAID`. Announces `orders/paid` and `orders/updated`.
    pub fn mark_paid(&mut self, id: Id) -> Result<(), ShopError> {
        let order = self.orders.get(&id).ok_or(not_found("order", id))?;
        let (total, now) = (order.total(), self.now());
        let owed = Money((total - self.received(id)).0.max(0));
        if owed > Money::ZERO {
            match self.open_authorization(id).map(|a| a.id) {
                Some(auth) => {
                    self.push_transaction(id, TransactionKind::Capture, owed, Some(auth), now)
                }
                None => self.push_transaction(id, TransactionKind::Sale, owed, None, now),
            };
        }
        self.update_order(id, |o| o.financial_status = FinancialStatus::Paid)?;
        self.emit(topics::ORDERS_PAID, id);
        Ok(())
    }

    /// Replace the risk summary (a fraud app's assessment). Announces `orders/updated`.
    pub fn set_risk(&mut self, id: Id, risk: OrderRisk) -> Result<(), ShopError> {
        self.update_order(id, |o| o.risk = risk)
    }
}

/// Shopify's order confirmation numbers are 9 upper-case letters and digits.
fn confirmation_number(id: Id) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut n = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..9)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}
