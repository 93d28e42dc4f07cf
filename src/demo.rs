//! The demo's simulated shop in one call: the simulator from `[simulator]`, the event pump
//! delivering its webhooks, and the traffic generator. Used by `xconnector sim` and by
//! `xconnector run` when `[simulator] enabled = true`.

use std::net::SocketAddr;
use std::path::Path;

use tokio::task::JoinHandle;
use tracing::info;

use crate::config::SimulatorConfig;
use crate::sim::backoffice::BackOffice;
use crate::sim::pump::{self, Targets};
use crate::sim::traffic::{self, TrafficSpec};
use crate::sim::webhooks::{SenderConfig, SenderStats, WebhookSender};
use crate::sim::{BucketConfig, Faults, SeedSize, SimConfig, Simulator};

/// A running simulated shop with its webhooks and traffic.
pub struct RunningSim {
    pub sim: Simulator,
    pub sender: WebhookSender,
    pub targets: Targets,
    /// The simulated back office, when `[simulator] back_office` is on.
    pub back_office: Option<BackOffice>,
    pump: JoinHandle<()>,
    traffic: JoinHandle<()>,
}

/// The simulated shop's counters, in the daemon's data directory.
pub const STATE_FILE: &str = "simulator.json";

/// How `[simulator]` becomes a [`SimConfig`]; with `data_dir`, the shop keeps its counters there
/// across restarts.
pub fn sim_config(c: &SimulatorConfig, data_dir: Option<&Path>) -> SimConfig {
    SimConfig {
        shop_domain: c.shop_domain.clone(),
        access_token: c.access_token.expose().to_string(),
        seed: c.seed,
        size: SeedSize {
            locations: c.locations as usize,
            products: c.products as usize,
            variants_per_product: 3,
            customers: c.customers as usize,
            orders: c.orders as usize,
        },
        bucket: BucketConfig {
            maximum_available: c.bucket_size,
            restore_rate: c.restore_rate,
            clock_scale: 1.0,
        },
        faults: Faults {
            latency: c.faults.latency,
            error_5xx: c.faults.error_5xx,
            error_429: c.faults.error_429,
            retry_after_secs: 2,
            drop_connection: c.faults.drop_connection,
            media_fetch_failure: c.faults.media_fetch_failure,
            // Refunds the payment gateway holds or fails: none in the demo.
            ..Faults::none()
        },
        state_file: data_dir.map(|dir| dir.join(STATE_FILE)),
    }
}

/// Where webhooks go: `[simulator] webhook_url` when set; otherwise `fallback` (the daemon's
/// own `/webhooks/shopify` under `run`, the shop's webhook subscriptions under `sim`).
pub fn targets(c: &SimulatorConfig, fallback: Targets) -> Targets {
    let url = c.webhook_url.trim();
    if url.is_empty() {
        fallback
    } else {
        Targets::Fixed(url.to_string())
    }
}

/// Start simulator, pump and traffic on `listen` (port 0 picks a free port). With `data_dir`
/// (the daemon's), a restarted shop goes on numbering from where the last one was, so that the
/// daemon, which remembers the last run, never mistakes a new order for one it has seen.
pub async fn start(
    c: &SimulatorConfig,
    data_dir: Option<&Path>,
    listen: SocketAddr,
    targets: Targets,
) -> anyhow::Result<RunningSim> {
    let sim = Simulator::start(sim_config(c, data_dir), listen).await?;
    // Webhook ids are drawn at random from the seed: a restart that drew the last run's again
    // would have its webhooks dropped by the daemon as deliveries it already has.
    let seed = c.seed ^ sim.restarts().wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let events = sim
        .take_events()
        .ok_or_else(|| anyhow::anyhow!("simulator: events already taken"))?;
    let mut sender_config = SenderConfig::new(
        match &targets {
            Targets::Fixed(url) => url.clone(),
            Targets::Subscriptions => String::new(),
        },
        c.webhook_secret.expose(),
        c.shop_domain.clone(),
    );
    sender_config.duplicate_share = c.duplicate_share;
    sender_config.reorder_share = c.reorder_share;
    sender_config.seed = seed;
    let sender = WebhookSender::start(sender_config)?;
    let pump = pump::spawn(sim.shop(), events, sender.clone(), targets.clone());
    let traffic = traffic::spawn(
        sim.shop(),
        TrafficSpec {
            orders_per_second: c.traffic.orders_per_second,
            bad_share: c.traffic.bad_share,
            stock_changes_per_second: c.traffic.stock_changes_per_second,
            customer_changes_per_second: c.traffic.customer_changes_per_second,
            merchandising_edits_per_second: c.traffic.merchandising_edits_per_second,
            seed,
        },
    );
    let back_office = if c.back_office {
        let office = BackOffice::start(c.back_office_listen).await?;
        info!(url = %office.url("NAME"), "simulator: back office receiving");
        Some(office)
    } else {
        None
    };
    match &targets {
        Targets::Fixed(url) => info!(webhook_url = %url, "simulator: webhooks go to a fixed URL"),
        Targets::Subscriptions => {
            info!("simulator: webhooks go to the shop's webhook subscriptions")
        }
    }
    info!(
        orders_per_second = c.traffic.orders_per_second,
        bad_share = c.traffic.bad_share,
        stock_changes_per_second = c.traffic.stock_changes_per_second,
        "simulator: traffic started"
    );
    Ok(RunningSim {
        sim,
        sender,
        targets,
        back_office,
        pump,
        traffic,
    })
}

impl RunningSim {
    /// Stop the traffic, then the pump, then the server.
    pub async fn shutdown(self) {
        self.traffic.abort();
        self.pump.abort();
        info!("simulator: {}", webhook_summary(&self.sender.stats()));
        self.sim.shutdown().await;
    }
}

/// The sender's counts as one sentence that adds up. Deliveries outnumber webhooks because the
/// simulator sends a share of them twice on purpose (`duplicate_share`, as Shopify does) and
/// each copy is delivered on its own; retries of a failed attempt are not extra deliveries.
pub fn webhook_summary(s: &SenderStats) -> String {
    let copies = s.queued.saturating_sub(s.suppressed) + s.duplicated;
    let unfinished = copies.saturating_sub(s.delivered + s.given_up);
    let dropped = if s.suppressed > 0 {
        format!("; {} dropped unsent while delivery was off", s.suppressed)
    } else {
        String::new()
    };
    format!(
        "webhooks: {} queued; {copies} deliveries to make ({} sent twice on purpose, as Shopify \
         does{dropped}); {} delivered, {} given up, {unfinished} unfinished at shutdown; {} \
         failed attempts retried",
        s.queued, s.duplicated, s.delivered, s.given_up, s.retried
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_summary_says_why_deliveries_outnumber_webhooks() {
        let stats = SenderStats {
            queued: 207,
            delivered: 217,
            duplicated: 10,
            retried: 4,
            ..SenderStats::default()
        };
        assert_eq!(
            webhook_summary(&stats),
            "webhooks: 207 queued; 217 deliveries to make (10 sent twice on purpose, as Shopify \
             does); 217 delivered, 0 given up, 0 unfinished at shutdown; 4 failed attempts retried"
        );
        let stats = SenderStats {
            queued: 20,
            suppressed: 5,
            duplicated: 1,
            delivered: 12,
            given_up: 1,
            ..SenderStats::default()
        };
        assert_eq!(
            webhook_summary(&stats),
            "webhooks: 20 queued; 16 deliveries to make (1 sent twice on purpose, as Shopify \
             does; 5 dropped unsent while delivery was off); 12 delivered, 1 given up, 3 \
             unfinished at shutdown; 0 failed attempts retried"
        );
    }
}
