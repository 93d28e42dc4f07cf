//! Turns the configuration into the engine's configuration: the flows its sections build, the
//! endpoints, the Shopify client and the supervision policy.

use std::sync::Arc;

use xconnector_actors::EngineConfig;
use xconnector_actors::endpoints::{
    BreakerSettings, EndpointKind, EndpointSpec, FileFormat as EndpointFileFormat, FileSpec,
    HttpSpec,
};
use xconnector_actors::flows::module::BuildCx;
use xconnector_actors::flows::reporting::live::Reporting;
use xconnector_actors::retry::Backoff;
use xconnector_actors::shopify::{AccessToken, ShopifyClientConfig};
use xconnector_actors::supervisor::RestartPolicy;

use crate::config::{Config, EndpointConfig, FileFormat, ShopifyConfig};

pub fn engine_config(config: &Config) -> EngineConfig {
    engine_config_with(config, None)
}

/// [`engine_config`], its flows sharing `reporting`: the daemon's shop clock, which it keeps
/// current, so that scheduled reports count in the shop's days.
pub fn engine_config_with(config: &Config, reporting: Option<Arc<Reporting>>) -> EngineConfig {
    let shop = config.shopify.as_ref().map(|s| s.shop_domain.as_str());
    let d = &config.daemon;
    let mut cx = BuildCx::new(&config.flows, config.store.lease, shop);
    if let Some(r) = reporting {
        cx.share(r);
    }
    EngineConfig {
        store_dir: config.store.dir.clone(),
        pruning: config.store.pruning(),
        flows: config.flows.build_in(&mut cx),
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
        jobs: config.control.job_pace(),
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
                mode: crate::config::parse_mode(&f.mode).unwrap_or(0o640),
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

/// The webhook intake for this configuration.
pub fn webhook_intake(
    config: &Config,
    store: xconnector_actors::store::StoreHandle,
) -> crate::webhooks::WebhookIntake {
    let (secrets, shop) = match &config.shopify {
        Some(s) => (s.webhook_secrets.clone(), Some(s.shop_domain.clone())),
        None => (Vec::new(), None),
    };
    crate::webhooks::WebhookIntake::new(secrets, shop, &config.flows, store)
        .with_body_memory(config.server.body_memory_mib as usize * 1024 * 1024)
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
