//! `[flows.orders]`: the orders flow's section, checks and wiring.

use std::time::Duration;

use serde::Deserialize;

use super::record::{OrderBook, version_key};
use super::rules::parse_time;
use super::{OrdersFlow, Reconcile};
use crate::config::{KeyPath, Problems, duration};
use crate::endpoints::DELIVERY_BACKOFF;
use crate::flows::exceptions::ExceptionsModule;
use crate::flows::module::{BuildCx, CheckCx, Common, FlowModule, Section, Topic, WebhookHead};
use crate::flows::{FlowSettings, FlowSpec};

pub struct OrdersModule;

/// The section's own keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrdersConfig {
    /// Names of `[endpoints.NAME]` each order is delivered to.
    pub targets: Vec<String>,
    /// How often to poll Shopify for orders whose webhooks never arrived.
    #[serde(deserialize_with = "duration::deserialize")]
    pub reconcile_every: Duration,
    /// How far each poll reaches back before the newest change the last one saw.
    #[serde(deserialize_with = "duration::deserialize")]
    pub reconcile_overlap: Duration,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            targets: Vec::new(),
            reconcile_every: Duration::from_secs(300),
            reconcile_overlap: Duration::from_secs(60),
        }
    }
}

/// One version of an order is one item, whichever webhook (or poll) brought it: `orders/create`
/// and `orders/updated` for the same change, and redeliveries, are stored once.
fn order_version(head: &WebhookHead) -> Option<String> {
    let id = head.id.as_ref()?.as_u64()?;
    let at = parse_time(head.updated_at.as_ref()?.as_str()?)?;
    Some(version_key(id, at))
}

const TOPICS: &[Topic] = &[
    Topic::versioned("orders/create", order_version),
    Topic::versioned("orders/updated", order_version),
    Topic::versioned("orders/cancelled", order_version),
    Topic::versioned("orders/paid", order_version),
    Topic::versioned("orders/fulfilled", order_version),
    // Its payload is the order id and the assessment, not an order version.
    Topic::new(super::RISK_CHANGED),
];

impl FlowModule for OrdersModule {
    const NAME: &'static str = "orders";
    const ABOUT: &'static str = "Shopify orders to the fulfilment targets";
    const NEEDS_SHOPIFY: bool = true;
    type Config = OrdersConfig;

    fn common() -> Common {
        Common {
            concurrency: 256,
            max_attempts: 25,
            ..Common::default()
        }
    }

    fn topics() -> &'static [Topic] {
        TOPICS
    }

    fn check(section: &Section<OrdersConfig>, cx: &CheckCx<'_>, problems: &mut Problems) {
        let orders = &section.config;
        let root = KeyPath::root();
        problems.positive(root.key("reconcile_every"), orders.reconcile_every);
        problems.targets(&root.key("targets"), &orders.targets, cx.endpoints);
    }

    fn build(section: &Section<OrdersConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        let orders = &section.config;
        let rules = cx
            .flows
            .enabled::<ExceptionsModule>()
            .map(|e| std::sync::Arc::new(e.config.rules()));
        let reconcile = cx.shop.map(|shop| Reconcile {
            every: orders.reconcile_every,
            overlap: orders.reconcile_overlap,
            shop: shop.to_string(),
        });
        let settings = FlowSettings {
            backoff: DELIVERY_BACKOFF,
            ..cx.settings(&section.common)
        };
        Some(FlowSpec::new(
            Self::NAME,
            settings,
            OrdersFlow {
                targets: orders.targets.clone(),
                rules,
                count_reports: cx
                    .flows
                    .enabled::<crate::flows::reporting::module::ReportingModule>()
                    .is_some(),
                // Shared with the exceptions flow, which releases the orders it held.
                book: cx.shared::<OrderBook>(),
                reconcile,
            },
        ))
    }
}
