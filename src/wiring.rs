//! Turns the configuration into the engine's configuration: which flows run, with what settings.

use tracing::warn;
use xconnector_actors::EngineConfig;
use xconnector_actors::flows::log::LogFlow;
use xconnector_actors::flows::{FlowSettings, FlowSpec};
use xconnector_actors::retry::Backoff;
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig};
use xconnector_actors::supervisor::RestartPolicy;

use crate::config::{Config, ShopifyConfig};

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
    if config.flows.orders.as_ref().is_some_and(|f| f.enabled) {
        warn!(
            "flows.orders is configured, but this build has no orders flow yet; it is not started"
        );
    }
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
    use xconnector_actors::inventory::flow::{InventoryFlow, InventorySettings};
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
