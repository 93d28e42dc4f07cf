//! The order rules: what makes an order unfit to go to fulfilment as it stands. Pure functions
//! of the canonical order, what Shopify says about it now ([`Facts`]) and the time, so that
//! every rule and boundary is tested without a shop.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::canonical::{Address, Order, OrderEvent};
use crate::item::Millis;

/// The rule that an order broke; each routes to its own team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Address,
    Payment,
    Fraud,
    Stock,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Address => "address",
            Rule::Payment => "payment",
            Rule::Fraud => "fraud",
            Rule::Stock => "stock",
        }
    }
}

/// One broken rule, said so that the team it goes to can act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: Rule,
    pub reason: String,
    /// The endpoint of the team that fixes this (`route_to`), if any.
    pub route_to: Option<String>,
}

/// The configured rules; a rule that is `None` is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub address: Option<AddressRule>,
    pub payment: Option<PaymentRule>,
    pub fraud: Option<FraudRule>,
    pub stock: Option<StockRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRule {
    pub route_to: Option<String>,
    /// Canonical address fields that must be non-blank: name, address1, city, zip,
    /// country_code, province_code, phone.
    pub required: Vec<String>,
    /// ISO 3166-1 alpha-2 codes; empty: every country.
    pub allowed_countries: Vec<String>,
    pub forbid_po_box: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRule {
    pub route_to: Option<String>,
    /// Shopify's `displayFinancialStatus` values that hold an order (upper case).
    pub hold: Vec<String>,
    /// An `AUTHORIZED` order older than this is held: the authorization may lapse before
    /// it is captured.
    pub authorization_grace: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudRule {
    pub route_to: Option<String>,
    /// Held at or above this level: `LOW`, `MEDIUM` or `HIGH`.
    pub max_risk: RiskLevel,
    /// Held when Shopify recommends cancelling, whatever the level.
    pub hold_on_cancel_recommendation: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRule {
    pub route_to: Option<String>,
}

/// Risk levels in rising order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiskLevel {
    None,
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub fn parse(s: &str) -> Option<RiskLevel> {
        match s.to_ascii_uppercase().as_str() {
            "NONE" => Some(RiskLevel::None),
            "LOW" => Some(RiskLevel::Low),
            "MEDIUM" => Some(RiskLevel::Medium),
            "HIGH" => Some(RiskLevel::High),
            _ => None,
        }
    }
}

/// What Shopify says about the order now, beyond its payload. Unknown facts pass their rule:
/// a rule holds an order for what is known to be wrong, not for what could not be asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// `displayFinancialStatus`, fresher than the payload's.
    pub financial_status: Option<String>,
    pub risk_level: Option<RiskLevel>,
    pub recommend_cancel: bool,
    /// Per line with a tracked variant: SKU, quantity ordered, and the variant's
    /// `inventoryQuantity` now (after Shopify committed this order's units).
    pub stock: Vec<StockFact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockFact {
    pub sku: String,
    pub ordered: i64,
    pub available_after: i64,
}

impl Rules {
    /// True when some rule needs facts only Shopify has.
    pub fn needs_facts(&self) -> bool {
        self.fraud.is_some() || self.stock.is_some() || self.payment.is_some()
    }

    /// Every rule the order breaks (empty: release it). Cancellations are never held.
    pub fn evaluate(&self, order: &Order, facts: &Facts, now: Millis) -> Vec<Violation> {
        let mut out = Vec::new();
        if order.event == OrderEvent::Cancel {
            return out;
        }
        if let Some(rule) = &self.address
            && let Some(reason) = check_address(rule, order)
        {
            out.push(Violation {
                rule: Rule::Address,
                reason,
                route_to: rule.route_to.clone(),
            });
        }
        if let Some(rule) = &self.payment
            && let Some(reason) = check_payment(rule, order, facts, now)
        {
            out.push(Violation {
                rule: Rule::Payment,
                reason,
                route_to: rule.route_to.clone(),
            });
        }
        if let Some(rule) = &self.fraud
            && let Some(reason) = check_fraud(rule, facts)
        {
            out.push(Violation {
                rule: Rule::Fraud,
                reason,
                route_to: rule.route_to.clone(),
            });
        }
        if let Some(rule) = &self.stock
            && let Some(reason) = check_stock(facts)
        {
            out.push(Violation {
                rule: Rule::Stock,
                reason,
                route_to: rule.route_to.clone(),
            });
        }
        out
    }
}

fn check_address(rule: &AddressRule, order: &Order) -> Option<String> {
    let needs_shipping = order.lines.iter().any(|l| l.requires_shipping) || order.lines.is_empty();
    let Some(a) = &order.shipping_address else {
        return needs_shipping.then(|| "no shipping address".to_string());
    };
    let missing: Vec<&str> = rule
        .required
        .iter()
        .filter(|f| blank(address_field(a, f)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "shipping address is missing {}",
            missing.join(", ")
        ));
    }
    if !rule.allowed_countries.is_empty() {
        let country = a.country_code.as_deref().unwrap_or("").trim();
        if !rule
            .allowed_countries
            .iter()
            .any(|c| c.eq_ignore_ascii_case(country))
        {
            return Some(format!(
                "ships to {}, which is not among the allowed countries ({})",
                if country.is_empty() {
                    "no country"
                } else {
                    country
                },
                rule.allowed_countries.join(", ")
            ));
        }
    }
    if rule.forbid_po_box {
        for line in [&a.address1, &a.address2].into_iter().flatten() {
            if is_po_box(line) {
                return Some(format!(
                    "ships to a PO box ({line:?}), which carriers refuse"
                ));
            }
        }
    }
    None
}

fn address_field<'a>(a: &'a Address, field: &str) -> Option<&'a str> {
    match field {
        "name" => a.name.as_deref().or(a.last_name.as_deref()),
        "address1" => a.address1.as_deref(),
        "city" => a.city.as_deref(),
        "zip" => a.zip.as_deref(),
        "country_code" => a.country_code.as_deref(),
        "province_code" => a.province_code.as_deref(),
        "phone" => a.phone.as_deref(),
        _ => None,
    }
}

/// The fields `required` may name.
pub const ADDRESS_FIELDS: [&str; 7] = [
    "name",
    "address1",
    "city",
    "zip",
    "country_code",
    "province_code",
    "phone",
];

fn blank(v: Option<&str>) -> bool {
    v.is_none_or(|s| s.trim().is_empty())
}

/// "PO Box 12", "P.O. Box", "p o box", "POBox", "Post Office Box": the spellings carriers see.
pub fn is_po_box(line: &str) -> bool {
    let words: String = line
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let text = format!(
        " {} ",
        words.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    [" po box", " p o box", " pobox", " post office box"]
        .iter()
        .any(|p| text.contains(p))
}

fn check_payment(rule: &PaymentRule, order: &Order, facts: &Facts, now: Millis) -> Option<String> {
    let status = facts
        .financial_status
        .clone()
        .or_else(|| order.financial_status.clone())?
        .to_ascii_uppercase();
    if rule.hold.iter().any(|h| h.eq_ignore_ascii_case(&status)) {
        return Some(format!("payment is {status}"));
    }
    if status == "AUTHORIZED" {
        let created = parse_time(&order.created_at)?;
        let age = Duration::from_millis(now.saturating_sub(created));
        if age > rule.authorization_grace {
            return Some(format!(
                "payment only AUTHORIZED {}h after the order (grace {}h): capture it before it lapses",
                age.as_secs() / 3600,
                rule.authorization_grace.as_secs() / 3600
            ));
        }
    }
    None
}

fn check_fraud(rule: &FraudRule, facts: &Facts) -> Option<String> {
    if rule.hold_on_cancel_recommendation && facts.recommend_cancel {
        let level = facts
            .risk_level
            .map(|l| format!(" (risk {l:?})").to_uppercase())
            .unwrap_or_default();
        return Some(format!("Shopify recommends cancelling this order{level}"));
    }
    match facts.risk_level {
        Some(level) if level >= rule.max_risk => Some(format!(
            "fraud risk {} is at or above {}",
            format!("{level:?}").to_uppercase(),
            format!("{:?}", rule.max_risk).to_uppercase()
        )),
        _ => None,
    }
}

fn check_stock(facts: &Facts) -> Option<String> {
    let short: Vec<String> = facts
        .stock
        .iter()
        .filter(|s| s.available_after < 0)
        .map(|s| {
            format!(
                "{} ordered {} but only {} in stock",
                s.sku,
                s.ordered,
                (s.available_after + s.ordered).max(0)
            )
        })
        .collect();
    (!short.is_empty()).then(|| short.join("; "))
}

/// RFC 3339 → milliseconds since the epoch.
pub fn parse_time(s: &str) -> Option<Millis> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
}

#[cfg(test)]
pub(crate) mod tests;
