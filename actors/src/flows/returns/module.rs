//! `[flows.returns]` and `[flows.returns.rules]`: the section, its checks and wiring.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::inbound::{Decisions, Receipts};
use super::reconcile::{Poll, refund_key, request_key};
use super::rules::{Amount, PerCustomer, Rules, UnfulfilledRule, Window};
use super::{FLOW, ReturnsFlow, Settings, topics};
use crate::config::{KeyPath, Problems, duration};
use crate::endpoints::DELIVERY_BACKOFF;
use crate::flows::module::{BuildCx, CheckCx, Common, FlowModule, Section, Topic, WebhookHead};
use crate::flows::reconcile::Reconcile;
use crate::flows::{FlowSettings, FlowSpec};
use crate::inbound::{Inbound, Served};
use crate::shopify::gid::LocationId;

pub struct ReturnsModule;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReturnsConfig {
    /// `[endpoints.NAME]` that receive every refund as the canonical refund (finance).
    pub accounting: Vec<String>,
    /// `[endpoints.NAME]` told of a return held for a person (support).
    pub review: Vec<String>,
    /// Tell the customer of a decision or a processed return unless the request says.
    pub notify_customer: bool,
    /// Where restocked units go when a receipt names no `location` (a location GID); the
    /// shop's first active location if unset.
    pub restock_location: Option<String>,
    /// How often Shopify is asked for returns and refunds no webhook brought.
    #[serde(deserialize_with = "duration::deserialize")]
    pub reconcile_every: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub reconcile_overlap: Duration,
    pub rules: RulesConfig,
}

impl Default for ReturnsConfig {
    fn default() -> Self {
        ReturnsConfig {
            accounting: Vec::new(),
            review: Vec::new(),
            notify_customer: true,
            restock_location: None,
            reconcile_every: Duration::from_secs(300),
            reconcile_overlap: Duration::from_secs(60),
            rules: RulesConfig::default(),
        }
    }
}

/// `[flows.returns.rules]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Days a line may come back after it was delivered; 0 turns the window off.
    pub window_days: u32,
    /// `delivery` (the fulfillment's date when Shopify knows no delivery) or `fulfillment`.
    pub window_from: String,
    pub final_sale_tags: Vec<String>,
    pub final_sale_product_types: Vec<String>,
    /// Returns worth more than this (a decimal in the shop's currency) wait for a person.
    pub approval_threshold: Option<String>,
    /// More returns than this by one customer within `per_customer_period` wait for a
    /// person; 0 turns the rule off.
    pub max_per_customer: u32,
    #[serde(deserialize_with = "duration::deserialize")]
    pub per_customer_period: Duration,
    /// `decline` or `hold`: a return of units Shopify has not fulfilled.
    pub unfulfilled: String,
    pub auto_approve: bool,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            window_days: 30,
            window_from: "delivery".into(),
            final_sale_tags: vec!["final-sale".into()],
            final_sale_product_types: Vec::new(),
            approval_threshold: None,
            max_per_customer: 0,
            per_customer_period: Duration::from_secs(90 * 86_400),
            unfulfilled: "decline".into(),
            auto_approve: true,
        }
    }
}

impl RulesConfig {
    fn rules(&self) -> Rules {
        Rules {
            window: (self.window_days > 0).then_some(Window {
                days: self.window_days,
                from_delivery: self.window_from != "fulfillment",
            }),
            final_sale_tags: self.final_sale_tags.clone(),
            final_sale_product_types: self.final_sale_product_types.clone(),
            approval_threshold: self.approval_threshold.as_deref().and_then(Amount::parse),
            per_customer: (self.max_per_customer > 0).then_some(PerCustomer {
                max: self.max_per_customer,
                period: self.per_customer_period,
            }),
            unfulfilled: if self.unfulfilled == "hold" {
                UnfulfilledRule::Hold
            } else {
                UnfulfilledRule::Decline
            },
            auto_approve: self.auto_approve,
        }
    }
}

impl ReturnsConfig {
    pub fn settings(&self, shop: Option<&str>) -> Settings {
        Settings {
            accounting: self.accounting.clone(),
            review: self.review.clone(),
            notify_customer: self.notify_customer,
            rules: self.rules.rules(),
            restock_location: self
                .restock_location
                .as_deref()
                .and_then(|l| LocationId::parse(l).ok())
                .map(|l| l.id()),
            reconcile: shop.map(|shop| Poll {
                every: self.reconcile_every,
                cursor: Reconcile {
                    every: self.reconcile_every,
                    overlap: self.reconcile_overlap,
                    shop: shop.to_string(),
                },
            }),
        }
    }
}

fn gid(head: &WebhookHead) -> Option<&str> {
    head.admin_graphql_api_id.as_ref()?.as_str()
}

fn request_version(head: &WebhookHead) -> Option<String> {
    gid(head).map(request_key)
}

fn refund_version(head: &WebhookHead) -> Option<String> {
    gid(head).map(refund_key)
}

static TOPICS: [Topic; 9] = [
    Topic::versioned(topics::REQUEST, request_version),
    Topic::versioned(topics::REFUND, refund_version),
    Topic::new(topics::STATUS[0]),
    Topic::new(topics::STATUS[1]),
    Topic::new(topics::STATUS[2]),
    Topic::new(topics::STATUS[3]),
    Topic::new(topics::STATUS[4]),
    Topic::new(topics::STATUS[5]),
    Topic::new(topics::STATUS[6]),
];

impl FlowModule for ReturnsModule {
    const NAME: &'static str = FLOW;
    const ABOUT: &'static str = "returns judged and decided, received returns processed and refunded, every refund to accounting once";
    const NEEDS_SHOPIFY: bool = true;
    /// `refund`, `refund_pending`, `refund_failed`: refunds told to accounting, by status.
    const EVENTS: &'static [&'static str] = &["refund", "refund_pending", "refund_failed"];
    type Config = ReturnsConfig;

    fn common() -> Common {
        Common {
            concurrency: 16,
            lease: Some(Duration::from_secs(300)),
            // A receipt waiting for its return's approval retries every 30 s for half an hour.
            max_attempts: 60,
            ..Common::default()
        }
    }

    fn topics() -> &'static [Topic] {
        &TOPICS
    }

    fn inbound(_section: &Section<ReturnsConfig>) -> Vec<Arc<dyn Inbound>> {
        vec![
            Arc::new(Served::<Decisions>::new(1, None)),
            Arc::new(Served::<Receipts>::new(1, None)),
        ]
    }

    fn check(section: &Section<ReturnsConfig>, cx: &CheckCx<'_>, problems: &mut Problems) {
        let c = &section.config;
        let root = KeyPath::root();
        problems.positive(root.key("reconcile_every"), c.reconcile_every);
        problems.targets(&root.key("accounting"), &c.accounting, cx.endpoints);
        problems.targets(&root.key("review"), &c.review, cx.endpoints);
        if let Some(l) = &c.restock_location
            && LocationId::parse(l).is_err()
        {
            problems.push(
                root.key("restock_location"),
                format!(
                    "expected a location GID such as \"gid://shopify/Location/1\", found {l:?}"
                ),
            );
        }
        let rules = root.key("rules");
        let r = &c.rules;
        if !["delivery", "fulfillment"].contains(&r.window_from.as_str()) {
            problems.push(
                rules.key("window_from"),
                format!(
                    "expected \"delivery\" or \"fulfillment\", found {:?}",
                    r.window_from
                ),
            );
        }
        if !["decline", "hold"].contains(&r.unfulfilled.as_str()) {
            problems.push(
                rules.key("unfulfilled"),
                format!(
                    "expected \"decline\" or \"hold\", found {:?}",
                    r.unfulfilled
                ),
            );
        }
        if let Some(t) = &r.approval_threshold
            && Amount::parse(t).is_none_or(|a| a.0 < 0)
        {
            problems.push(
                rules.key("approval_threshold"),
                format!("expected an amount such as \"200.00\", found {t:?}"),
            );
        }
        if r.max_per_customer > 0 {
            problems.positive(rules.key("per_customer_period"), r.per_customer_period);
        }
    }

    fn build(section: &Section<ReturnsConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        let settings = FlowSettings {
            backoff: DELIVERY_BACKOFF,
            ..cx.settings(&section.common)
        };
        Some(FlowSpec::new(
            Self::NAME,
            settings,
            ReturnsFlow::new(section.config.settings(cx.shop)),
        ))
    }
}
