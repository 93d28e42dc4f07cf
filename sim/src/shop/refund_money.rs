//! What units are worth when they go back: each line's share of the order's discount and tax.
//!
//! The order's cart discount is spread over its lines in proportion to their price, and its
//! tax in proportion to their discounted price; within a line, over its units. Each share is
//! the difference of two rounded cumulative amounts (what the first `n + k` units are worth
//! minus what the first `n` are), so refunding a line unit by unit, or in any split, adds up
//! to exactly what refunding it at once does, and refunding every unit of every line gives
//! back exactly the order's subtotal and tax. The suggested outcome of a return and the
//! refund that `returnProcess` or `refundCreate` then makes use the same numbers.

use super::model::Order;
use super::money::Money;

/// One line's part of the order's money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineMoney {
    pub quantity: u32,
    /// Unit price × quantity.
    pub gross: Money,
    /// The line's own discount plus its share of the cart discount.
    pub discount: Money,
    /// Its share of the cart (order-level) discount alone.
    pub cart_discount: Money,
    pub tax: Money,
}

/// What some units of a line are worth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnitsMoney {
    /// Price after discounts, before tax.
    pub subtotal: Money,
    pub cart_discount: Money,
    pub tax: Money,
}

impl std::ops::Add for UnitsMoney {
    type Output = UnitsMoney;
    fn add(self, o: UnitsMoney) -> UnitsMoney {
        UnitsMoney {
            subtotal: self.subtotal + o.subtotal,
            cart_discount: self.cart_discount + o.cart_discount,
            tax: self.tax + o.tax,
        }
    }
}

/// `total × part / whole`, rounded half up (whole > 0, amounts ≥ 0).
fn share(total: Money, part: i64, whole: i64) -> Money {
    if whole <= 0 {
        return Money::ZERO;
    }
    let n = i128::from(total.0) * i128::from(part);
    let w = i128::from(whole);
    Money(((2 * n + w) / (2 * w)) as i64)
}

/// Spread `total` over `weights` in proportion; the last weighted entry takes the rounding
/// remainder so the parts add up to `total`.
fn allocate(total: Money, weights: &[i64]) -> Vec<Money> {
    let sum: i64 = weights.iter().sum();
    let mut parts: Vec<Money> = weights.iter().map(|&w| share(total, w, sum)).collect();
    let allocated: Money = parts.iter().copied().sum();
    if let Some(last) = weights.iter().rposition(|&w| w > 0) {
        parts[last] = parts[last] + (total - allocated);
    }
    parts
}

/// Every line's part of the order's money, in line order.
pub fn line_money(order: &Order) -> Vec<LineMoney> {
    let gross: Vec<i64> = order
        .line_items
        .iter()
        .map(|l| (l.price * l.quantity).0)
        .collect();
    let own: Money = order.line_items.iter().map(|l| l.total_discount).sum();
    let cart = Money((order.total_discounts - own).0.max(0));
    let cart_parts = allocate(cart, &gross);
    let discounted: Vec<i64> = order
        .line_items
        .iter()
        .zip(&cart_parts)
        .map(|(l, c)| ((l.price * l.quantity) - l.total_discount - *c).0.max(0))
        .collect();
    let tax_parts = allocate(order.total_tax, &discounted);
    order
        .line_items
        .iter()
        .enumerate()
        .map(|(i, l)| LineMoney {
            quantity: l.quantity,
            gross: Money(gross[i]),
            discount: l.total_discount + cart_parts[i],
            cart_discount: cart_parts[i],
            tax: tax_parts[i],
        })
        .collect()
}

/// What `count` units of a line are worth after `already` of its units went back.
pub fn units_money(line: &LineMoney, already: u32, count: u32) -> UnitsMoney {
    let q = i64::from(line.quantity);
    let from = i64::from(already.min(line.quantity));
    let to = i64::from(already.saturating_add(count).min(line.quantity));
    let part = |total: Money| share(total, to, q) - share(total, from, q);
    UnitsMoney {
        subtotal: part(line.gross) - part(line.discount),
        cart_discount: part(line.cart_discount),
        tax: part(line.tax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shop::{LineSpec, OrderSpec, Shop};

    #[test]
    fn every_split_of_the_units_adds_up_to_the_order() {
        let mut shop = Shop::new("Demo", "demo.myshopify.com", "USD");
        let id = shop.create_order(OrderSpec {
            line_items: vec![
                LineSpec::custom("A", "A", Money(1999), 3),
                LineSpec::custom("B", "B", Money(501), 7),
                LineSpec::custom("C", "C", Money(3333), 1),
            ],
            discount: Money(1000),
            tax_rate_bps: 825,
            ..OrderSpec::default()
        });
        let order = &shop.orders[&id];
        let lines = line_money(order);
        let discount: Money = lines.iter().map(|l| l.discount).sum();
        let tax: Money = lines.iter().map(|l| l.tax).sum();
        assert_eq!((discount, tax), (order.total_discounts, order.total_tax));
        for (l, line) in lines.iter().zip(&order.line_items) {
            let whole = units_money(l, 0, line.quantity);
            let mut pieces = UnitsMoney::default();
            for n in 0..line.quantity {
                pieces = pieces + units_money(l, n, 1);
            }
            assert_eq!(whole, pieces);
            assert_eq!(whole.subtotal, l.gross - l.discount);
            // Asking past the end is worth nothing more.
            assert_eq!(units_money(l, line.quantity, 2), UnitsMoney::default());
        }
        let subtotal: Money = lines
            .iter()
            .map(|l| units_money(l, 0, l.quantity).subtotal)
            .sum();
        assert_eq!(subtotal, order.subtotal());
    }
}
