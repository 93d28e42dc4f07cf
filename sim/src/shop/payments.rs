//! The order's ledger: the customer's payment and the refunds that go back through it.
//!
//! A paid order has a `SALE`; an authorized one an `AUTHORIZATION`, captured by
//! [`Shop::mark_paid`]. A refund's money moves in `REFUND` transactions whose parent is one of
//! those payments; what a payment can still give back is its amount less the refunds through
//! it that succeeded or are pending. The gateway's answer to a refund is `SUCCESS` unless
//! [`RefundFaults`] says otherwise: tests and the demo make some refunds pend or fail, as a
//! card network does, to see that the daemon reports what really happened.
//!
//! The order's `total_refunded` and financial status follow the refunds that succeeded: a
//! pending refund has not given anything back yet ([`Shop::settle_transaction`] decides it).

use super::*;

/// What the simulated payment gateway does with refunds: shares (0 to 1) of refund
/// transactions that stay `PENDING` or end `FAILURE`. Which transaction is drawn from its id,
/// so a run is reproducible; 1.0 makes every refund pend or fail.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RefundFaults {
    pub pending: f64,
    pub failure: f64,
}

/// What a failed refund transaction carries (`errorCode` and the gateway's message).
pub const REFUND_FAILURE_CODE: &str = "GENERIC_ERROR";
pub const REFUND_FAILURE_MESSAGE: &str =
    "The refund was declined by the payment provider: the original card is closed.";

/// A number in [0, 1) drawn from an id: splitmix64, so neighbouring ids are unrelated.
fn draw(id: Id, salt: u64) -> f64 {
    let mut z = id ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl Shop {
    /// The first payment of a new order, by its financial status: a `SALE` of the total when
    /// paid (half of it when partly paid), an `AUTHORIZATION` when authorized, none when
    /// pending. No event: the order's own events announce it.
    pub(super) fn record_payment(&mut self, order_id: Id) {
        let Some(order) = self.orders.get(&order_id) else {
            return;
        };
        let (kind, amount) = match order.financial_status {
            FinancialStatus::Paid => (TransactionKind::Sale, order.total()),
            FinancialStatus::PartiallyPaid => (TransactionKind::Sale, Money(order.total().0 / 2)),
            FinancialStatus::Authorized => (TransactionKind::Authorization, order.total()),
            _ => return,
        };
        let at = order.processed_at;
        self.push_transaction(order_id, kind, amount, None, at);
    }

    /// Add a successful transaction to an order's ledger.
    pub(super) fn push_transaction(
        &mut self,
        order_id: Id,
        kind: TransactionKind,
        amount: Money,
        parent_id: Option<Id>,
        at: Timestamp,
    ) -> Id {
        let id = self.next_id();
        let (gateway, test) = self.orders.get(&order_id).map_or_else(
            || ("manual".to_string(), false),
            |o| {
                let gateway = o.payment_gateway_names.first().cloned();
                (gateway.unwrap_or_else(|| "manual".into()), o.test)
            },
        );
        self.transactions.insert(
            id,
            Transaction {
                id,
                order_id,
                kind,
                status: TransactionStatus::Success,
                gateway,
                amount,
                parent_id,
                refund_id: None,
                error_code: None,
                message: None,
                test,
                created_at: at,
                processed_at: at,
            },
        );
        if let Some(o) = self.orders.get_mut(&order_id) {
            o.transaction_ids.push(id);
        }
        id
    }

    /// The authorization of an order being captured, if any.
    pub(super) fn open_authorization(&self, order_id: Id) -> Option<&Transaction> {
        self.transactions_of(order_id).into_iter().find(|t| {
            t.kind == TransactionKind::Authorization
                && t.status == TransactionStatus::Success
                && !self
                    .transactions_of(order_id)
                    .iter()
                    .any(|c| c.kind == TransactionKind::Capture && c.parent_id == Some(t.id))
        })
    }

    /// The id of an order's authorization still to capture (`Order.transactions(capturable:
    /// true)`).
    pub fn open_authorization_id(&self, order_id: Id) -> Option<Id> {
        self.open_authorization(order_id).map(|t| t.id)
    }

    /// An order's transactions, oldest first.
    pub fn transactions_of(&self, order_id: Id) -> Vec<&Transaction> {
        self.orders
            .get(&order_id)
            .map(|o| {
                o.transaction_ids
                    .iter()
                    .filter_map(|id| self.transactions.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Money received from the customer: successful sales and captures.
    pub fn received(&self, order_id: Id) -> Money {
        self.transactions_of(order_id)
            .iter()
            .filter(|t| t.kind.is_payment() && t.status == TransactionStatus::Success)
            .map(|t| t.amount)
            .sum()
    }

    /// Money given back or on its way back: refunds that succeeded or are pending.
    pub fn refunded_or_pending(&self, order_id: Id) -> Money {
        self.transactions_of(order_id)
            .iter()
            .filter(|t| t.kind == TransactionKind::Refund && t.counts())
            .map(|t| t.amount)
            .sum()
    }

    /// What an order can still give back (`maximumRefundable`).
    pub fn refundable_money(&self, order_id: Id) -> Money {
        Money(
            (self.received(order_id) - self.refunded_or_pending(order_id))
                .0
                .max(0),
        )
    }

    /// What one payment can still give back.
    pub fn payment_refundable(&self, payment: &Transaction) -> Money {
        let back: Money = self
            .transactions_of(payment.order_id)
            .iter()
            .filter(|t| {
                t.kind == TransactionKind::Refund && t.parent_id == Some(payment.id) && t.counts()
            })
            .map(|t| t.amount)
            .sum();
        Money((payment.amount - back).0.max(0))
    }

    /// The payments a refund can go back through, with what each can still give.
    pub fn refundable_payments(&self, order_id: Id) -> Vec<(&Transaction, Money)> {
        self.transactions_of(order_id)
            .into_iter()
            .filter(|t| t.kind.is_payment() && t.status == TransactionStatus::Success)
            .map(|t| (t, self.payment_refundable(t)))
            .filter(|(_, left)| *left > Money::ZERO)
            .collect()
    }

    /// The gateway's answer to a new refund transaction.
    pub(super) fn refund_outcome(
        &self,
        transaction_id: Id,
    ) -> (TransactionStatus, Option<String>, Option<String>) {
        let faults = self.refund_faults;
        if faults.failure > 0.0 && draw(transaction_id, 1) < faults.failure {
            return (
                TransactionStatus::Failure,
                Some(REFUND_FAILURE_CODE.into()),
                Some(REFUND_FAILURE_MESSAGE.into()),
            );
        }
        if faults.pending > 0.0 && draw(transaction_id, 2) < faults.pending {
            return (TransactionStatus::Pending, None, None);
        }
        (TransactionStatus::Success, None, None)
    }

    /// Bring an order's `total_refunded` and financial status in line with its ledger: what
    /// succeeded is refunded; all of what was received makes it `REFUNDED`. Returns whether
    /// anything changed (the caller touches the order).
    pub(super) fn refresh_refund_totals(&mut self, order_id: Id) -> bool {
        let received = self.received(order_id);
        let refunded: Money = self
            .transactions_of(order_id)
            .iter()
            .filter(|t| t.kind == TransactionKind::Refund && t.status == TransactionStatus::Success)
            .map(|t| t.amount)
            .sum();
        let Some(o) = self.orders.get_mut(&order_id) else {
            return false;
        };
        let status = if refunded == Money::ZERO {
            o.financial_status
        } else if refunded >= received {
            FinancialStatus::Refunded
        } else {
            FinancialStatus::PartiallyRefunded
        };
        let changed = o.total_refunded != refunded || o.financial_status != status;
        o.total_refunded = refunded;
        o.financial_status = status;
        changed
    }

    /// Settle a pending refund transaction as the gateway finally answers: `SUCCESS` or
    /// `FAILURE` (with its message). Announces `orders/updated` (Shopify has no refund topic
    /// for it; clients read the transaction's status).
    pub fn settle_transaction(
        &mut self,
        id: Id,
        status: TransactionStatus,
        message: Option<&str>,
    ) -> Result<(), ShopError> {
        let t = self
            .transactions
            .get(&id)
            .ok_or(not_found("transaction", id))?;
        if t.status != TransactionStatus::Pending {
            return Err(ShopError::Invalid(format!(
                "transaction {id} is {} and cannot be settled",
                t.status.as_rest()
            )));
        }
        let order_id = t.order_id;
        let now = self.now();
        if let Some(t) = self.transactions.get_mut(&id) {
            t.status = status;
            t.processed_at = now;
            if status == TransactionStatus::Failure {
                t.error_code = Some(REFUND_FAILURE_CODE.into());
                t.message = Some(message.unwrap_or(REFUND_FAILURE_MESSAGE).to_string());
            }
        }
        self.refresh_refund_totals(order_id);
        self.update_order(order_id, |_| {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_spread_over_the_unit_interval() {
        let draws: Vec<f64> = (1_000_000..1_010_000).map(|id| draw(id, 1)).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let low = draws.iter().filter(|d| **d < 0.25).count();
        assert!((2_000..3_000).contains(&low), "{low}");
    }
}
