//! Turns the configuration into the engine's configuration: which flows run, with what settings.

use std::sync::Arc;
use std::time::Duration;

use xconnector_actors::EngineConfig;
use xconnector_actors::endpoints::{
    BreakerSettings, EndpointKind, EndpointSpec, FileFormat as EndpointFileFormat, FileSpec,
    HttpSpec,
};
use xconnector_actors::flows::exceptions::ExceptionsFlow;
use xconnector_actors::flows::log::LogFlow;
use xconnector_actors::flows::orders::{EXCEPTIONS_FLOW, OrdersFlow, Reconcile};
use xconnector_actors::flows::{FlowSettings, FlowSpec};
use xconnector_actors::order_book::OrderBook;
use xconnector_actors::retry::Backoff;
use xconnector_actors::rules::{AddressRule, FraudRule, PaymentRule, RiskLevel, Rules, StockRule};
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig};
use xconnector_actors::supervisor::RestartPolicy;

use crate::config::{Config, EndpointConfig, ExceptionsFlowConfig, FileFormat, ShopifyConfig};

pub fn engine_config(config: &Config) -> EngineConfig {
    let mut flows = Vec::new();
    if let Some(log) = config.flows.log.as_ref().filter(|f| f.enabled) {
        let settings = FlowSettings {
            concurrency: log.concurrency as usize,
            lease: log.effective_lease(&config.store),
            max_attempts: log.max_attempts,
            ..FlowSettings::default()
        };
        flows.push(FlowSpec::new(
            "log",
            settings,
            LogFlow {
                work_time: log.work_time,
            },
        ));
    }
    if let Some(inventory) = config.flows.inventory.as_ref().filter(|f| f.enabled) {
        flows.push(inventory_flow(inventory));
    }
    flows.extend(order_flows(config));
    let d = &config.daemon;
    EngineConfig {
        store_dir: config.store.dir.clone(),
        flows,
        policy: RestartPolicy {
            max_restarts: d.max_restarts,
            window: d.restart_window,
            backoff: Backoff::new(d.restart_backoff, d.restart_backoff_max),
        },
        shopify: config.shopify.as_ref().map(shopify_client),
        endpoints: config
            .endpoints
            .iter()
            .map(|(name, e)| endpoint_spec(name, e))
            .collect(),
    }
}

/// Retries of a delivery: a receiver back from an outage sees its backlog within a minute
/// (its circuit breaker keeps a dead one from being hammered meanwhile).
const DELIVERY_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));

/// The orders flow and, with `[flows.exceptions]`, the exceptions flow that holds the orders
/// breaking its rules. They share one order book.
fn order_flows(config: &Config) -> Vec<FlowSpec> {
    let Some(orders) = config.flows.orders.as_ref().filter(|f| f.enabled) else {
        return Vec::new();
    };
    let book = Arc::new(OrderBook::default());
    let rules = config
        .flows
        .exceptions
        .as_ref()
        .filter(|e| e.enabled)
        .map(|e| Arc::new(rules(e)));
    let reconcile = config.shopify.as_ref().map(|s| Reconcile {
        every: orders.reconcile_every,
        overlap: orders.reconcile_overlap,
        shop: s.shop_domain.clone(),
    });
    let mut specs = vec![FlowSpec::new(
        "orders",
        FlowSettings {
            concurrency: orders.concurrency as usize,
            lease: config.store.lease,
            max_attempts: orders.max_attempts,
            backoff: DELIVERY_BACKOFF,
            ..FlowSettings::default()
        },
        OrdersFlow {
            targets: orders.targets.clone(),
            rules: rules.clone(),
            book: book.clone(),
            reconcile,
        },
    )];
    if let (Some(rules), Some(ex)) = (rules, config.flows.exceptions.as_ref()) {
        specs.push(FlowSpec::new(
            EXCEPTIONS_FLOW,
            FlowSettings {
                concurrency: ex.concurrency as usize,
                lease: config.store.lease,
                max_attempts: ex.max_attempts,
                backoff: DELIVERY_BACKOFF,
                ..FlowSettings::default()
            },
            ExceptionsFlow {
                rules,
                targets: orders.targets.clone(),
                book,
            },
        ));
    }
    specs
}

fn rules(e: &ExceptionsFlowConfig) -> Rules {
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
            // Validated: one of LOW, MEDIUM, HIGH.
            max_risk: RiskLevel::parse(&e.fraud.max_risk).unwrap_or(RiskLevel::High),
            hold_on_cancel_recommendation: e.fraud.hold_on_cancel_recommendation,
        }),
        stock: e.stock.enabled.then(|| StockRule {
            route_to: e.stock.route_to.clone(),
        }),
    }
}

/// `[endpoints.NAME]` → the endpoints actor's spec.
fn endpoint_spec(name: &str, e: &EndpointConfig) -> EndpointSpec {
    let (kind, concurrency, max_attempts, max_age, breaker) = match e {
        EndpointConfig::Http(h) => (
            EndpointKind::Http(HttpSpec {
                url: h.url.clone(),
                headers: h
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                signing_secret: h.signing_secret.as_ref().map(|s| s.expose().to_string()),
                timeout: h.timeout,
            }),
            h.concurrency as usize,
            h.max_attempts,
            h.max_age,
            BreakerSettings {
                threshold: h.breaker_threshold,
                cooldown: h.breaker_cooldown,
                max_cooldown: h.breaker_cooldown_max,
            },
        ),
        EndpointConfig::File(f) => (
            EndpointKind::File(FileSpec {
                dir: f.dir.clone(),
                format: match f.format {
                    FileFormat::Jsonl => EndpointFileFormat::Jsonl,
                    FileFormat::Csv => EndpointFileFormat::Csv {
                        columns: f.columns.clone(),
                    },
                },
                max_bytes: f.rotate_bytes,
            }),
            1,
            f.max_attempts,
            f.max_age,
            BreakerSettings::default(),
        ),
    };
    EndpointSpec {
        name: name.to_string(),
        kind,
        concurrency,
        breaker,
        max_attempts,
        max_age,
    }
}

/// The flows the configuration enables, by name (also those this build cannot run yet: work
/// for them is stored and waits).
pub fn enabled_flows(config: &Config) -> Vec<String> {
    let f = &config.flows;
    let mut names = Vec::new();
    if f.log.as_ref().is_some_and(|c| c.enabled) {
        names.push("log".to_string());
    }
    if f.orders.as_ref().is_some_and(|c| c.enabled) {
        names.push("orders".to_string());
        if f.exceptions.as_ref().is_some_and(|c| c.enabled) {
            names.push(EXCEPTIONS_FLOW.to_string());
        }
    }
    if f.inventory.as_ref().is_some_and(|c| c.enabled) {
        names.push("inventory".to_string());
    }
    names
}

/// The webhook intake for this configuration.
pub fn webhook_intake(
    config: &Config,
    store: xconnector_actors::store::StoreHandle,
) -> crate::webhooks::WebhookIntake {
    let (secrets, shop) = match &config.shopify {
        Some(s) => (s.webhook_secrets.clone(), Some(s.shop_domain.clone())),
        None => (Vec::new(), None),
    };
    crate::webhooks::WebhookIntake::new(secrets, shop, &enabled_flows(config), store)
}

/// `[shopify]` → the client's configuration, with the engine's default timeouts, backoff and
/// initial rate-limit model (`plan` is only a hint; the limiter learns the real bucket).
fn shopify_client(shopify: &ShopifyConfig) -> ShopifyClientConfig {
    ShopifyClientConfig::new(
        shopify.shop_domain.clone(),
        shopify.effective_base_url(),
        shopify.api_version.clone(),
        AccessToken::new(shopify.access_token.expose()),
    )
}

/// `[flows.inventory]` → the inventory flow. Its items wait for a whole round of writes, so
/// many are in flight at once (`concurrency`) under a long lease.
pub fn inventory_flow(c: &crate::config::InventoryFlowConfig) -> FlowSpec {
    use xconnector_actors::flows::inventory::{InventoryFlow, InventorySettings};
    let settings = FlowSettings {
        concurrency: c.concurrency as usize,
        lease: c.lease,
        max_attempts: c.max_attempts,
        ..FlowSettings::default()
    };
    let flow = InventorySettings {
        reason: c.reason.clone(),
        locations: c.locations.clone(),
        batch_size: c.batch_size as usize,
        lookup_batch: c.lookup_batch as usize,
        bulk_threshold: c.bulk_threshold as usize,
        linger: c.linger,
        ..InventorySettings::default()
    };
    FlowSpec::new("inventory", settings, InventoryFlow::new(flow))
}
