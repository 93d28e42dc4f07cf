//! The return rules (`[flows.returns.rules]`): whether a return a customer asked for is
//! approved, declined (with Shopify's `ReturnDeclineReason` and a note the customer reads) or
//! held for a person. Pure functions of what the return asks, what Shopify says about its
//! lines, the customer's earlier returns and the time, so that every rule and boundary is
//! tested without a shop.
//!
//! A decline wins over a hold, a hold over an approval: a final-sale line is declined even on
//! a return large enough to need a person, since the person could only decline it too.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::item::Millis;

/// Shopify's `ReturnDeclineReason`.
pub use crate::shopify::operations::returns::DeclineReason;

impl DeclineReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineReason::FinalSale => "FINAL_SALE",
            DeclineReason::ReturnPeriodEnded => "RETURN_PERIOD_ENDED",
            DeclineReason::Other => "OTHER",
        }
    }

    /// The reason named as Shopify names it, in any case.
    pub fn parse(s: &str) -> Option<DeclineReason> {
        match s.trim().to_ascii_uppercase().as_str() {
            "FINAL_SALE" => Some(DeclineReason::FinalSale),
            "RETURN_PERIOD_ENDED" => Some(DeclineReason::ReturnPeriodEnded),
            "OTHER" => Some(DeclineReason::Other),
            _ => None,
        }
    }
}

/// What is done with a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Decline {
        reason: DeclineReason,
        note: String,
    },
    /// Held for a person, who approves or declines it; `why` says what to look at.
    Hold {
        why: String,
    },
}

/// The configured rules; a rule that is `None` (or empty) is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Days after a line was delivered (or fulfilled, when Shopify has no delivery) within
    /// which it may come back; the whole last day counts.
    pub window: Option<Window>,
    /// Lines of products with any of these tags, or of these product types, are final sale.
    pub final_sale_tags: Vec<String>,
    pub final_sale_product_types: Vec<String>,
    /// Returns worth more than this (in the shop's currency, as a decimal) wait for a person.
    pub approval_threshold: Option<Amount>,
    /// More than `max` returns by one customer within `period` (this one included) wait for a
    /// person.
    pub per_customer: Option<PerCustomer>,
    /// What becomes of a return of units Shopify has not fulfilled.
    pub unfulfilled: UnfulfilledRule,
    /// Approve what no rule stops; false: every return waits for a person.
    pub auto_approve: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            window: Some(Window {
                days: 30,
                from_delivery: true,
            }),
            final_sale_tags: vec!["final-sale".into()],
            final_sale_product_types: Vec::new(),
            approval_threshold: None,
            per_customer: None,
            unfulfilled: UnfulfilledRule::Decline,
            auto_approve: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub days: u32,
    /// Counted from the delivery when Shopify knows it (else from the fulfillment); false:
    /// always from the fulfillment.
    pub from_delivery: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerCustomer {
    pub max: u32,
    pub period: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnfulfilledRule {
    Decline,
    Hold,
}

/// A money amount in ten-thousandths of the currency unit: exact for every currency's
/// decimals, compared without floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Amount(pub i64);

impl Amount {
    const SCALE: i64 = 10_000;

    /// `"12.5"`, `"12.50"`, `"-3"`; `None` for anything else (or more than four decimals).
    pub fn parse(s: &str) -> Option<Amount> {
        let s = s.trim();
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty()
            || fraction.len() > 4
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        // Right-padded to four digits: "5" is 5000 ten-thousandths.
        let fraction = fraction
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(4)
            .fold(0i64, |n, b| n * 10 + i64::from(b - b'0'));
        let units = whole.checked_mul(Self::SCALE)?.checked_add(fraction)?;
        Some(Amount(if negative { -units } else { units }))
    }

    pub fn plus(self, other: Amount) -> Amount {
        Amount(self.0.saturating_add(other.0))
    }
}

impl std::fmt::Display for Amount {
    /// Two decimals at least, four at most: `12.50`, `0.1250`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / Self::SCALE as u64;
        let mut fraction = format!("{:04}", abs % Self::SCALE as u64);
        while fraction.len() > 2 && fraction.ends_with('0') {
            fraction.pop();
        }
        write!(f, "{sign}{whole}.{fraction}")
    }
}

/// One line of a return, with what Shopify says about what it returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Line {
    /// What an operator recognises the line by (its SKU, else its title).
    pub label: String,
    pub quantity: u32,
    /// The line's worth at what the customer paid (discounts taken off).
    pub amount: Amount,
    pub product_type: String,
    pub tags: Vec<String>,
    /// When its fulfillment was made and delivered, as far as Shopify knows.
    pub fulfilled_at: Option<Millis>,
    pub delivered_at: Option<Millis>,
}

/// What the rules judge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReturnRequest {
    pub lines: Vec<Line>,
    pub requested_at: Millis,
    /// When the customer's returns before this one were requested (any status).
    pub earlier_returns: Vec<Millis>,
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

impl Rules {
    /// The decision, and every finding that led to it (for the item's note and the TUI).
    pub fn judge(&self, r: &ReturnRequest) -> (Decision, Vec<String>) {
        let mut declines: Vec<(DeclineReason, String)> = Vec::new();
        let mut holds: Vec<String> = Vec::new();
        for line in &r.lines {
            if let Some(why) = self.final_sale(line) {
                declines.push((DeclineReason::FinalSale, why));
            }
            match line.fulfilled_at {
                None => {
                    let why = format!("{}: not fulfilled yet", line.label);
                    match self.unfulfilled {
                        UnfulfilledRule::Decline => declines.push((DeclineReason::Other, why)),
                        UnfulfilledRule::Hold => holds.push(why),
                    }
                }
                Some(fulfilled) => {
                    if let Some(why) = self.window_ended(line, fulfilled, r.requested_at) {
                        declines.push((DeclineReason::ReturnPeriodEnded, why));
                    }
                }
            }
        }
        let total = r.lines.iter().fold(Amount(0), |sum, l| sum.plus(l.amount));
        if let Some(threshold) = self.approval_threshold
            && total > threshold
        {
            holds.push(format!(
                "worth {total}, above the approval threshold of {threshold}"
            ));
        }
        if let Some(p) = self.per_customer {
            let since = r.requested_at.saturating_sub(p.period.as_millis() as u64);
            let recent = r
                .earlier_returns
                .iter()
                .filter(|&&at| at > since && at <= r.requested_at)
                .count()
                + 1;
            if recent > p.max as usize {
                holds.push(format!(
                    "the customer's return number {recent} within {} days (at most {} without a person)",
                    p.period.as_secs() / 86_400,
                    p.max
                ));
            }
        }
        if let Some((reason, _)) = declines.first() {
            let reason = *reason;
            let note = declines
                .iter()
                .filter(|(r, _)| *r == reason)
                .map(|(_, why)| why.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let mut findings: Vec<String> = declines.into_iter().map(|(_, w)| w).collect();
            findings.extend(holds);
            return (Decision::Decline { reason, note }, findings);
        }
        if !holds.is_empty() {
            return (
                Decision::Hold {
                    why: holds.join("; "),
                },
                holds,
            );
        }
        if !self.auto_approve {
            let why = "returns wait for a person ([flows.returns.rules] auto_approve = false)";
            return (Decision::Hold { why: why.into() }, vec![why.into()]);
        }
        (Decision::Approve, Vec::new())
    }

    fn final_sale(&self, line: &Line) -> Option<String> {
        let tag = line.tags.iter().find(|t| {
            self.final_sale_tags
                .iter()
                .any(|f| f.eq_ignore_ascii_case(t.trim()))
        });
        if let Some(tag) = tag {
            return Some(format!("{}: final sale (tagged {tag})", line.label));
        }
        self.final_sale_product_types
            .iter()
            .any(|p| p.eq_ignore_ascii_case(line.product_type.trim()))
            .then(|| {
                format!(
                    "{}: final sale (product type {})",
                    line.label, line.product_type
                )
            })
    }

    /// The window is counted in whole days: a line delivered at any time on day 0 may come
    /// back until the end of day `days` (in UTC).
    fn window_ended(&self, line: &Line, fulfilled: Millis, requested: Millis) -> Option<String> {
        let w = self.window?;
        let (from, what) = match line.delivered_at {
            Some(delivered) if w.from_delivery => (delivered, "delivered"),
            _ => (fulfilled, "fulfilled"),
        };
        let last_day = from / DAY_MS + u64::from(w.days);
        let day = requested / DAY_MS;
        (day > last_day).then(|| {
            format!(
                "{}: {what} {} days before the request, past the {}-day return window",
                line.label,
                day.saturating_sub(from / DAY_MS),
                w.days
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-01T12:00:00Z.
    const DELIVERED: Millis = 1_793_534_400_000;

    fn line(label: &str, amount: &str) -> Line {
        Line {
            label: label.into(),
            quantity: 1,
            amount: Amount::parse(amount).unwrap(),
            product_type: "Shirt".into(),
            tags: Vec::new(),
            fulfilled_at: Some(DELIVERED - 2 * DAY_MS),
            delivered_at: Some(DELIVERED),
        }
    }

    fn request(lines: Vec<Line>, days_after: f64) -> ReturnRequest {
        ReturnRequest {
            lines,
            requested_at: DELIVERED + (days_after * DAY_MS as f64) as u64,
            earlier_returns: Vec::new(),
        }
    }

    #[test]
    fn amounts_are_exact_decimals() {
        assert_eq!(Amount::parse("12.5"), Some(Amount(125_000)));
        assert_eq!(Amount::parse("12.50"), Amount::parse("12.5"));
        assert_eq!(Amount::parse("-0.01"), Some(Amount(-100)));
        assert_eq!(Amount::parse("7"), Some(Amount(70_000)));
        for bad in ["", "1.23456", "1e3", "abc", "1.2.3", ".5", "1,00"] {
            assert_eq!(Amount::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Amount(125_000).to_string(), "12.50");
        assert_eq!(Amount(1_250).to_string(), "0.125");
        assert_eq!(Amount(-100).to_string(), "-0.01");
    }

    #[test]
    fn an_ordinary_return_is_approved() {
        let (decision, findings) =
            Rules::default().judge(&request(vec![line("RS-S", "19.99")], 3.0));
        assert_eq!(decision, Decision::Approve);
        assert!(findings.is_empty());
    }

    #[test]
    fn the_window_includes_its_whole_last_day() {
        let rules = Rules::default();
        // Delivered at noon on day 0: the end of day 30 is still in, day 31 is not.
        let last = request(vec![line("RS-S", "19.99")], 30.0 + 11.99 / 24.0);
        assert_eq!(rules.judge(&last).0, Decision::Approve);
        let late = request(vec![line("RS-S", "19.99")], 30.0 + 12.01 / 24.0);
        match rules.judge(&late).0 {
            Decision::Decline { reason, note } => {
                assert_eq!(reason, DeclineReason::ReturnPeriodEnded);
                assert!(note.contains("RS-S: delivered 31 days before"), "{note}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_window_counts_from_the_fulfillment_without_a_delivery_or_when_told() {
        let mut undelivered = line("RS-S", "19.99");
        undelivered.delivered_at = None;
        // Fulfilled two days before the delivery date used above.
        let r = request(vec![undelivered], 29.0);
        assert!(matches!(
            Rules::default().judge(&r).0,
            Decision::Decline {
                reason: DeclineReason::ReturnPeriodEnded,
                ..
            }
        ));
        let from_fulfillment = Rules {
            window: Some(Window {
                days: 30,
                from_delivery: false,
            }),
            ..Rules::default()
        };
        let r = request(vec![line("RS-S", "19.99")], 29.0);
        assert!(matches!(
            from_fulfillment.judge(&r).0,
            Decision::Decline { .. }
        ));
        let no_window = Rules {
            window: None,
            ..Rules::default()
        };
        assert_eq!(
            no_window.judge(&request(vec![line("X", "1")], 900.0)).0,
            Decision::Approve
        );
    }

    #[test]
    fn final_sale_by_tag_or_type_is_declined_even_when_a_person_would_be_asked() {
        let rules = Rules {
            final_sale_product_types: vec!["Gift card".into()],
            approval_threshold: Amount::parse("100"),
            ..Rules::default()
        };
        let mut tagged = line("SALE-1", "500.00");
        tagged.tags = vec!["summer".into(), "Final-Sale".into()];
        match rules.judge(&request(vec![line("RS-S", "5"), tagged], 1.0)) {
            (Decision::Decline { reason, note }, findings) => {
                assert_eq!(reason, DeclineReason::FinalSale);
                assert_eq!(note, "SALE-1: final sale (tagged Final-Sale)");
                assert_eq!(findings.len(), 2, "the hold is still told: {findings:?}");
            }
            other => panic!("{other:?}"),
        }
        let mut card = line("GC-50", "50");
        card.product_type = "gift card".into();
        assert!(matches!(
            rules.judge(&request(vec![card], 1.0)).0,
            Decision::Decline {
                reason: DeclineReason::FinalSale,
                ..
            }
        ));
    }

    #[test]
    fn the_threshold_holds_what_is_above_it_and_not_what_is_exactly_it() {
        let rules = Rules {
            approval_threshold: Amount::parse("200.00"),
            ..Rules::default()
        };
        let exactly = request(vec![line("A", "150.00"), line("B", "50.00")], 1.0);
        assert_eq!(rules.judge(&exactly).0, Decision::Approve);
        let above = request(vec![line("A", "150.00"), line("B", "50.01")], 1.0);
        assert_eq!(
            rules.judge(&above).0,
            Decision::Hold {
                why: "worth 200.01, above the approval threshold of 200.00".into()
            }
        );
    }

    #[test]
    fn too_many_returns_by_one_customer_wait_for_a_person() {
        let rules = Rules {
            per_customer: Some(PerCustomer {
                max: 2,
                period: Duration::from_secs(90 * 86_400),
            }),
            ..Rules::default()
        };
        let mut r = request(vec![line("A", "10")], 1.0);
        // One earlier return inside the period: this is the second, allowed.
        r.earlier_returns = vec![r.requested_at - 10 * DAY_MS];
        assert_eq!(rules.judge(&r).0, Decision::Approve);
        // Another one exactly 90 days back is outside (the period is the 90 days before).
        r.earlier_returns.push(r.requested_at - 90 * DAY_MS);
        assert_eq!(rules.judge(&r).0, Decision::Approve);
        // A third inside it: held.
        r.earlier_returns.push(r.requested_at - 90 * DAY_MS + 1);
        match rules.judge(&r).0 {
            Decision::Hold { why } => assert!(why.contains("return number 3 within 90 days")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unfulfilled_units_are_declined_or_held_as_configured() {
        let mut open = line("PRE-1", "10");
        open.fulfilled_at = None;
        open.delivered_at = None;
        let r = request(vec![open], 1.0);
        assert_eq!(
            Rules::default().judge(&r).0,
            Decision::Decline {
                reason: DeclineReason::Other,
                note: "PRE-1: not fulfilled yet".into()
            }
        );
        let hold = Rules {
            unfulfilled: UnfulfilledRule::Hold,
            ..Rules::default()
        };
        assert!(matches!(hold.judge(&r).0, Decision::Hold { .. }));
    }

    #[test]
    fn without_auto_approval_every_clean_return_waits() {
        let rules = Rules {
            auto_approve: false,
            ..Rules::default()
        };
        assert!(matches!(
            rules.judge(&request(vec![line("A", "1")], 1.0)).0,
            Decision::Hold { .. }
        ));
    }

    #[test]
    fn decline_reasons_parse_as_shopify_names_them() {
        assert_eq!(
            DeclineReason::parse("final_sale"),
            Some(DeclineReason::FinalSale)
        );
        assert_eq!(
            DeclineReason::parse(" RETURN_PERIOD_ENDED "),
            Some(DeclineReason::ReturnPeriodEnded)
        );
        assert_eq!(DeclineReason::parse("lost"), None);
        assert_eq!(
            serde_json::to_value(DeclineReason::Other).unwrap(),
            serde_json::json!("OTHER")
        );
    }
}
