//! The reconciliation poll: orders updated since the last poll, with their returns and
//! refunds; a requested return or a refund the flow has no record of (its webhook lost)
//! becomes the same item its webhook would have made, deduplicated with it.

use std::time::Duration;

use serde_json::json;
use tracing::{debug, warn};

use super::{FLOW, record, topics};
use crate::flows::FlowContext;
use crate::flows::orders::rules::parse_time;
use crate::flows::reconcile::{Reconcile, ReconcileError};
use crate::item::NewItem;
use crate::rate_limiter::Lane;
use crate::shopify::ShopifyHandle;
use crate::shopify::operations::returns::{
    OrdersReturnsSince, OrdersReturnsSinceVariables, ReturnStatus,
};

/// Orders read per page.
const PAGE: u32 = 25;

#[derive(Debug, Clone)]
pub struct Poll {
    pub every: Duration,
    pub cursor: Reconcile,
}

/// The dedupe key of a return's request, shared by its webhook and the poll.
pub fn request_key(gid: &str) -> String {
    format!("return-request:{gid}")
}

/// The dedupe key of a refund, shared by its webhook and the poll: one item per refund.
pub fn refund_key(gid: &str) -> String {
    format!("refund:{gid}")
}

impl Poll {
    pub async fn run(&self, ctx: &FlowContext, shopify: &ShopifyHandle) {
        match self.poll(ctx, shopify).await {
            Ok(0) => {}
            Ok(n) => debug!(
                found = n,
                "returns reconciliation found what no webhook brought"
            ),
            Err(e) => warn!(error = %e, "returns reconciliation poll failed; the next one retries"),
        }
    }

    async fn poll(
        &self,
        ctx: &FlowContext,
        shopify: &ShopifyHandle,
    ) -> Result<usize, ReconcileError> {
        let (last, since) = self.cursor.start(ctx).await?;
        let (mut newest, mut found, mut after) = (last, 0, None);
        loop {
            let vars = OrdersReturnsSinceVariables::since(&since, PAGE, after)?;
            let page = shopify
                .run::<OrdersReturnsSince>(Lane::Orders, &vars)
                .await?
                .orders;
            let mut items = Vec::new();
            for order in &page.nodes {
                newest = parse_time(&order.updated_at).map_or(newest, |t| newest.max(t));
                let requested: Vec<String> = order
                    .returns
                    .nodes
                    .iter()
                    .filter(|r| r.status == ReturnStatus::Requested)
                    .map(|r| r.id.to_string())
                    .collect();
                let known = record::returns_known(&ctx.store, &requested).await?;
                for (gid, known) in requested.iter().zip(known) {
                    if !known {
                        items.push(item(topics::REQUEST, &order.name, gid, request_key(gid)));
                    }
                }
                let refunds: Vec<String> = order.refunds.iter().map(|r| r.id.to_string()).collect();
                let known = record::refunds_known(&ctx.store, &refunds).await?;
                for (gid, known) in refunds.iter().zip(known) {
                    if !known {
                        items.push(item(topics::REFUND, &order.name, gid, refund_key(gid)));
                    }
                }
            }
            if !items.is_empty() {
                found += ctx
                    .store
                    .enqueue(items)
                    .await?
                    .iter()
                    .filter(|e| !e.duplicate)
                    .count();
            }
            // The cursor moves only past what is stored.
            self.cursor.advance(ctx, newest).await?;
            match page
                .page_info
                .end_cursor
                .filter(|_| page.page_info.has_next_page)
            {
                Some(next) => after = Some(next),
                None => return Ok(found),
            }
        }
    }
}

fn item(kind: &str, order: &str, gid: &str, dedupe: String) -> NewItem {
    NewItem::new(
        FLOW,
        kind,
        order,
        serde_json::to_vec(&json!({ "admin_graphql_api_id": gid })).unwrap_or_default(),
    )
    .dedupe(dedupe)
}
