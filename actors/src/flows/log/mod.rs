//! A placeholder flow that logs each item and marks it done. It exercises the engine end to end
//! (store, claims, leases, supervision, shutdown) until the real flows land; `work_time`
//! simulates per-item processing so that items are visibly in flight.

use std::time::Duration;

use tracing::info;

mod module;

pub use module::{LogConfig, LogModule};

use super::{Flow, FlowContext, Outcome};
use crate::item::Claimed;

pub struct LogFlow {
    pub work_time: Duration,
}

impl Flow for LogFlow {
    async fn process(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        if !self.work_time.is_zero() {
            tokio::time::sleep(self.work_time).await;
        }
        info!(
            flow = %ctx.name,
            item = %item.item.id,
            kind = %item.item.kind,
            key = %item.item.key,
            bytes = item.payload.len(),
            attempt = item.attempt(),
            "item processed"
        );
        Outcome::Done
    }
}
