//! `[flows.exceptions]`: the rules every order passes before it is released to the orders
//! flow's targets, each with the endpoint of the team a failing order is routed to.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::ExceptionsFlow;
use crate::config::{KeyPath, Problems, duration};
use crate::endpoints::DELIVERY_BACKOFF;
use crate::flows::module::{BuildCx, CheckCx, Common, FlowModule, Section};
use crate::flows::orders::OrdersModule;
use crate::flows::orders::record::OrderBook;
use crate::flows::orders::rules::{
    ADDRESS_FIELDS, AddressRule, FraudRule, PaymentRule, RiskLevel, Rules, StockRule,
};
use crate::flows::{FlowSettings, FlowSpec};

pub struct ExceptionsModule;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExceptionsConfig {
    pub address: AddressRuleConfig,
    pub payment: PaymentRuleConfig,
    pub fraud: FraudRuleConfig,
    pub stock: StockRuleConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AddressRuleConfig {
    pub enabled: bool,
    pub route_to: Option<String>,
    pub required: Vec<String>,
    pub allowed_countries: Vec<String>,
    pub forbid_po_box: bool,
}

impl Default for AddressRuleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            route_to: None,
            required: ["name", "address1", "city", "zip", "country_code"]
                .map(String::from)
                .to_vec(),
            allowed_countries: Vec::new(),
            forbid_po_box: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentRuleConfig {
    pub enabled: bool,
    pub route_to: Option<String>,
    pub hold: Vec<String>,
    #[serde(deserialize_with = "duration::deserialize")]
    pub authorization_grace: Duration,
}

impl Default for PaymentRuleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            route_to: None,
            hold: ["PENDING", "VOIDED", "EXPIRED"].map(String::from).to_vec(),
            authorization_grace: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FraudRuleConfig {
    pub enabled: bool,
    pub route_to: Option<String>,
    pub max_risk: String,
    pub hold_on_cancel_recommendation: bool,
}

impl Default for FraudRuleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            route_to: None,
            max_risk: "HIGH".into(),
            hold_on_cancel_recommendation: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StockRuleConfig {
    pub enabled: bool,
    pub route_to: Option<String>,
}

impl Default for StockRuleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            route_to: None,
        }
    }
}

/// Shopify's `OrderDisplayFinancialStatus` values.
const FINANCIAL_STATUSES: [&str; 8] = [
    "PENDING",
    "AUTHORIZED",
    "PARTIALLY_PAID",
    "PAID",
    "PARTIALLY_REFUNDED",
    "REFUNDED",
    "VOIDED",
    "EXPIRED",
];

impl ExceptionsConfig {
    /// The rules this section turns on.
    pub fn rules(&self) -> Rules {
        let e = self;
        Rules {
            address: e.address.enabled.then(|| AddressRule {
                route_to: e.address.route_to.clone(),
                required: e.address.required.clone(),
                allowed_countries: e.address.allowed_countries.clone(),
                forbid_po_box: e.address.forbid_po_box,
            }),
            payment: e.payment.enabled.then(|| PaymentRule {
                route_to: e.payment.route_to.clone(),
                hold: e
                    .payment
                    .hold
                    .iter()
                    .map(|s| s.to_ascii_uppercase())
                    .collect(),
                authorization_grace: e.payment.authorization_grace,
            }),
            fraud: e.fraud.enabled.then(|| FraudRule {
                route_to: e.fraud.route_to.clone(),
                // Checked: one of LOW, MEDIUM, HIGH.
                max_risk: RiskLevel::parse(&e.fraud.max_risk).unwrap_or(RiskLevel::High),
                hold_on_cancel_recommendation: e.fraud.hold_on_cancel_recommendation,
            }),
            stock: e.stock.enabled.then(|| StockRule {
                route_to: e.stock.route_to.clone(),
            }),
        }
    }
}

impl FlowModule for ExceptionsModule {
    const NAME: &'static str = "exceptions";
    const ABOUT: &'static str =
        "orders breaking a rule, held and routed to the team that fixes them";
    type Config = ExceptionsConfig;

    fn common() -> Common {
        Common {
            concurrency: 8,
            max_attempts: 25,
            ..Common::default()
        }
    }

    fn check(section: &Section<ExceptionsConfig>, cx: &CheckCx<'_>, problems: &mut Problems) {
        let ex = &section.config;
        let path = KeyPath::root();
        if section.common.enabled && cx.flows.enabled::<OrdersModule>().is_none() {
            problems.push(
                path.clone(),
                "the exceptions flow checks the orders of [flows.orders], which is not enabled",
            );
        }
        for (rule, route_to) in [
            ("address", &ex.address.route_to),
            ("payment", &ex.payment.route_to),
            ("fraud", &ex.fraud.route_to),
            ("stock", &ex.stock.route_to),
        ] {
            if let Some(name) = route_to {
                let key = path.key(rule).key("route_to");
                problems.endpoint_ref(&key, Vec::new(), name, cx.endpoints);
            }
        }
        let address = path.key("address");
        for (i, field) in ex.address.required.iter().enumerate() {
            if !ADDRESS_FIELDS.contains(&field.as_str()) {
                problems.push_at(
                    address.key("required"),
                    vec![address.key("required").index(i)],
                    format!(
                        "unknown address field {field:?}; expected one of {}",
                        ADDRESS_FIELDS.join(", ")
                    ),
                );
            }
        }
        for (i, c) in ex.address.allowed_countries.iter().enumerate() {
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                problems.push_at(
                    address.key("allowed_countries"),
                    vec![address.key("allowed_countries").index(i)],
                    format!("{c:?} is not a two-letter country code (ISO 3166-1 alpha-2)"),
                );
            }
        }
        let payment = path.key("payment");
        for (i, status) in ex.payment.hold.iter().enumerate() {
            if !FINANCIAL_STATUSES.contains(&status.to_ascii_uppercase().as_str()) {
                problems.push_at(
                    payment.key("hold"),
                    vec![payment.key("hold").index(i)],
                    format!(
                        "unknown financial status {status:?}; expected one of {}",
                        FINANCIAL_STATUSES.join(", ")
                    ),
                );
            }
        }
        if RiskLevel::parse(&ex.fraud.max_risk).is_none()
            || ex.fraud.max_risk.eq_ignore_ascii_case("none")
        {
            problems.push(
                path.key("fraud").key("max_risk"),
                format!(
                    "{:?} is not a risk level; expected LOW, MEDIUM or HIGH",
                    ex.fraud.max_risk
                ),
            );
        }
    }

    fn build(section: &Section<ExceptionsConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        // It holds the orders flow's orders: nothing to do without it.
        let orders = cx.flows.enabled::<OrdersModule>()?;
        let targets = orders.config.targets.clone();
        let settings = FlowSettings {
            backoff: DELIVERY_BACKOFF,
            ..cx.settings(&section.common)
        };
        Some(FlowSpec::new(
            Self::NAME,
            settings,
            ExceptionsFlow {
                rules: Arc::new(section.config.rules()),
                targets,
                book: cx.shared::<OrderBook>(),
            },
        ))
    }
}
