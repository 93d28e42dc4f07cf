//! The Shopify client actor and its typed handle.
//!
//! **One place talks to Shopify: this actor.** It owns the HTTP client and the access token.
//! Flows call [`ShopifyHandle`] methods; each sends one `Execute` message, and the actor
//! immediately starts a task for it and goes back to its mailbox. The task asks the rate
//! limiter for a grant, POSTs, reports `extensions.cost` to the limiter, retries transient
//! failures, and replies. So calls from several flows run concurrently, paced only by the
//! limiter (which orders them by lane), never serialized behind this actor's mailbox.
//!
//! **Retries.** Transient failures (THROTTLED, 429, 5xx, timeouts, connection errors) are
//! retried with the same request body, byte for byte, so a mutation keeps its idempotency key.
//! The pause is Shopify's `Retry-After` when given, none after THROTTLED (the limiter's model
//! now holds Shopify's bucket, so the next grant waits exactly long enough), and otherwise the
//! one backoff policy ([`crate::retry::Backoff`]). All of it runs under the call's deadline;
//! past it the call fails with [`ShopifyError::DeadlineExceeded`]. Permanent errors return at
//! once. A mutation that must not run twice and has no idempotency key
//! ([`Operation::AT_MOST_ONCE`](super::operations::Operation::AT_MOST_ONCE)) is retried only
//! after failures that prove it did not run (throttled, 429, no connection).
//!
//! **Restarts.** Handles name the actor (and the limiter) instead of holding references: every
//! call looks up the actor currently registered under the name, so handles given to flows keep
//! working after the supervisor restarts either actor. Calls in flight when the client actor
//! dies are aborted with it; their callers get [`ShopifyError::Unavailable`], which is
//! transient, and the flow retries the item. A restarted limiter starts from the conservative
//! model again and learns the bucket from the next response.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::ShopifyClientConfig;
use super::error::{ShopifyError, UserError};
use super::gid::BulkOperationId;
use super::gid::{InventoryItemId, OrderId};
use super::messages::ShopifyMsg;
use super::operations::bulk::{
    BulkOperationState, BulkOperationVariables, RunMutationVariables, RunQueryVariables,
    StagedUploadsVariables,
};
use super::operations::inventory::{
    AdjustmentGroup, InventoryItemLevels, InventoryLevelsVariables, MAX_BATCH, SetQuantitiesInput,
    SetQuantitiesVariables,
};
use super::operations::locations::{Location, LocationsVariables};
use super::operations::orders::{
    CheckedOrder, LINE_ITEMS, MAX_ORDER_LINES, OrderChecksVariables, OrderVariables, OrderVersion,
    OrderVersionsVariables, OrdersVariables, ShopifyOrder, updated_since_query,
};
use super::operations::variants::{
    SKUS_PER_QUERY, VariantBySku, VariantsBySkuVariables, sku_query,
};
use super::operations::webhooks::{
    WebhookSubscription, WebhookSubscriptionCreateVariables, WebhookSubscriptionInput,
    WebhookSubscriptionsVariables, WebhookTopic,
};
use super::operations::{
    BulkOperation, BulkOperationRunMutation, BulkOperationRunQuery, Connection, InventoryLevels,
    InventorySetQuantities, InventorySetQuantitiesLean, Locations, Operation, Order, OrderChecks,
    OrderVersions, Orders, ProductVariantsBySku, StagedUploadsCreate, WebhookSubscriptionCreate,
    WebhookSubscriptions,
};
use super::transport::Transport;
use crate::rate_limiter::{GrantError, Lane, Observation, RateLimiterHandle};
use crate::retry::Backoff;

/// One GraphQL call, ready to send.
pub struct Call {
    /// The operation's name, for logs.
    pub operation: &'static str,
    /// Under which the limiter learns the call's cost.
    pub cost_key: String,
    /// The expected cost before Shopify has priced `cost_key`.
    pub estimate: f64,
    pub lane: Lane,
    /// The serialized `{query, variables, operationName}`: every attempt sends these bytes.
    pub body: Vec<u8>,
    /// A mutation without an idempotency key that must not run twice: a failure that may
    /// have come after Shopify ran it is the caller's to resolve, not retried here.
    pub at_most_once: bool,
}

pub struct ShopifyArgs {
    pub config: ShopifyClientConfig,
    pub limiter: RateLimiterHandle,
}

pub struct ShopifyActor;

/// A bulk result of a large catalogue is tens of megabytes.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

pub struct ShopifyState {
    runner: Arc<Runner>,
    /// The calls in progress. Dropped with the state if the actor dies, which aborts them.
    tasks: JoinSet<()>,
}

impl Actor for ShopifyActor {
    type Msg = ShopifyMsg;
    type State = ShopifyState;
    type Arguments = ShopifyArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<ShopifyMsg>,
        args: ShopifyArgs,
    ) -> Result<ShopifyState, ActorProcessingErr> {
        let transport = Transport::new(&args.config).map_err(|e| format!("shopify client: {e}"))?;
        debug!(shop = %args.config.shop, url = transport.url(), "shopify client started");
        Ok(ShopifyState {
            runner: Arc::new(Runner {
                shop: args.config.shop,
                transport,
                limiter: args.limiter,
                backoff: args.config.backoff,
                request_timeout: args.config.request_timeout,
                deadline: args.config.deadline,
            }),
            tasks: JoinSet::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<ShopifyMsg>,
        msg: ShopifyMsg,
        st: &mut ShopifyState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ShopifyMsg::Execute { call, reply } => {
                let runner = st.runner.clone();
                st.tasks.spawn(async move {
                    let result = runner.run(call).await;
                    let _ = reply.send(result);
                    let _ = myself.cast(ShopifyMsg::Finished);
                });
            }
            ShopifyMsg::Download { url, reply } => {
                let runner = st.runner.clone();
                st.tasks.spawn(async move {
                    let result = runner.transport.download(&url, DOWNLOAD_TIMEOUT).await;
                    let _ = reply.send(result);
                    let _ = myself.cast(ShopifyMsg::Finished);
                });
            }
            ShopifyMsg::Upload {
                target,
                file,
                reply,
            } => {
                let runner = st.runner.clone();
                st.tasks.spawn(async move {
                    let result = runner
                        .transport
                        .upload(&target, file, DOWNLOAD_TIMEOUT)
                        .await;
                    let _ = reply.send(result);
                    let _ = myself.cast(ShopifyMsg::Finished);
                });
            }
            ShopifyMsg::Finished => while st.tasks.try_join_next().is_some() {},
        }
        Ok(())
    }
}

/// What a call task needs; shared by all of them.
struct Runner {
    shop: String,
    transport: Transport,
    limiter: RateLimiterHandle,
    backoff: Backoff,
    request_timeout: Duration,
    deadline: Duration,
}

impl Runner {
    async fn run(&self, call: Call) -> Result<Value, ShopifyError> {
        let started = Instant::now();
        let deadline = started + self.deadline;
        let mut attempts = 0u32;
        let mut failures = 0u32;
        let mut last: Option<ShopifyError> = None;
        let exceeded = |attempts, last: Option<ShopifyError>| ShopifyError::DeadlineExceeded {
            after: started.elapsed(),
            attempts,
            last: last.map(Box::new),
        };
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(exceeded(attempts, last));
            }
            let grant = match self
                .limiter
                .grant(call.lane, &call.cost_key, call.estimate, remaining)
                .await
            {
                Ok(grant) => grant,
                Err(GrantError::Timeout(_)) => return Err(exceeded(attempts, last)),
                Err(GrantError::Unavailable) => {
                    // The limiter is being restarted; wait as after any transient failure.
                    failures += 1;
                    let e = ShopifyError::Unavailable("the rate limiter is not running".into());
                    let pause = self.backoff.delay(failures);
                    if Instant::now() + pause >= deadline {
                        return Err(exceeded(attempts, Some(e)));
                    }
                    tokio::time::sleep(pause).await;
                    last = Some(e);
                    continue;
                }
            };
            attempts += 1;
            let timeout = self
                .request_timeout
                .min(deadline.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(1));
            let exchange = self.transport.post(call.body.clone(), timeout).await;
            let throttled = matches!(exchange.result, Err(ShopifyError::Throttled { .. }));
            self.limiter.observe(Observation {
                ticket: grant.ticket,
                key: call.cost_key.clone(),
                cost: exchange.cost,
                throttled,
            });
            let error = match exchange.result {
                Ok(data) => {
                    debug!(shop = %self.shop, operation = call.operation, attempts, cost = grant.cost, waited = ?grant.waited, "shopify call done");
                    return Ok(data);
                }
                Err(e) if !e.is_transient() => return Err(e),
                // Sent again it might run twice: the caller looks in Shopify first.
                Err(e) if call.at_most_once && !e.surely_not_run() => return Err(e),
                Err(e) => e,
            };
            failures += 1;
            let model_knows =
                throttled && exchange.cost.is_some_and(|c| c.throttle_status.is_some());
            let pause = if model_knows {
                Duration::ZERO
            } else {
                error
                    .retry_after()
                    .unwrap_or_else(|| self.backoff.delay(failures))
            };
            if Instant::now() + pause >= deadline {
                return Err(exceeded(attempts, Some(error)));
            }
            warn!(shop = %self.shop, operation = call.operation, attempt = attempts, retry_in = ?pause, error = %error, "shopify call failed; retrying");
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            last = Some(error);
        }
    }
}

/// The body Shopify expects.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a, V> {
    query: &'static str,
    variables: &'a V,
    operation_name: &'static str,
}

/// The typed API to Shopify. Cheap to clone; valid across restarts of the actors it names.
#[derive(Clone)]
pub struct ShopifyHandle {
    name: Arc<str>,
    limiter: RateLimiterHandle,
    /// How long to wait for the actor's answer: the call deadline plus a margin.
    wait: Duration,
}

impl fmt::Debug for ShopifyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopifyHandle")
            .field("actor", &self.name)
            .field("limiter", &self.limiter)
            .finish()
    }
}

/// The variables of an inventory change, refused before any call when they cannot be right.
fn set_quantities_variables(
    input: SetQuantitiesInput,
    idempotency_key: &str,
) -> Result<SetQuantitiesVariables, ShopifyError> {
    if idempotency_key.is_empty() {
        return Err(ShopifyError::InvalidInput(
            "an inventory change needs an idempotency key".into(),
        ));
    }
    if input.quantities.is_empty() || input.quantities.len() > MAX_BATCH {
        return Err(ShopifyError::InvalidInput(format!(
            "an inventory change sets 1 to {MAX_BATCH} quantities, not {}",
            input.quantities.len()
        )));
    }
    Ok(SetQuantitiesVariables {
        input,
        idempotency_key: idempotency_key.to_string(),
    })
}

impl ShopifyHandle {
    /// A handle on the client actor registered as `name`, whose calls take at most `deadline`.
    pub fn named(
        name: impl Into<Arc<str>>,
        limiter: RateLimiterHandle,
        deadline: Duration,
    ) -> ShopifyHandle {
        ShopifyHandle {
            name: name.into(),
            limiter,
            wait: deadline + Duration::from_secs(5),
        }
    }

    /// The name the client actor is registered under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client actor currently registered under the handle's name.
    pub fn actor(&self) -> Option<ActorRef<ShopifyMsg>> {
        ActorRef::where_is(&*self.name)
    }

    pub fn rate_limiter(&self) -> &RateLimiterHandle {
        &self.limiter
    }

    /// Runs any operation: the building block of the methods below.
    pub async fn run<O: Operation>(
        &self,
        lane: Lane,
        variables: &O::Variables,
    ) -> Result<O::Response, ShopifyError> {
        let body = serde_json::to_vec(&Request {
            query: O::DOCUMENT,
            variables,
            operation_name: O::NAME,
        })
        .map_err(|e| ShopifyError::InvalidInput(format!("{}: {e}", O::NAME)))?;
        let call = Call {
            operation: O::NAME,
            cost_key: O::cost_key(variables),
            estimate: O::estimate(variables),
            lane,
            body,
            at_most_once: O::AT_MOST_ONCE,
        };
        let data = self.execute(call).await?;
        serde_json::from_value(data)
            .map_err(|e| ShopifyError::InvalidResponse(format!("{}: {e}", O::NAME)))
    }

    async fn execute(&self, call: Call) -> Result<Value, ShopifyError> {
        let actor = self
            .actor()
            .ok_or_else(|| ShopifyError::Unavailable("the client actor is not running".into()))?;
        match actor
            .call(|reply| ShopifyMsg::Execute { call, reply }, Some(self.wait))
            .await
        {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(ShopifyError::DeadlineExceeded {
                after: self.wait,
                attempts: 0,
                last: None,
            }),
            Ok(CallResult::SenderError) | Err(_) => Err(ShopifyError::Unavailable(
                "the client actor stopped during the call".into(),
            )),
        }
    }

    /// One page of orders updated at or after `since` (RFC 3339, e.g. the last seen
    /// `updatedAt`), oldest change first, with up to 100 line items each. Pass the previous
    /// page's `end_cursor` as `after`. Mind the cost: about 412 points per order, and a query
    /// may not request more than 1,000, so `first` ≤ 2.
    pub async fn orders_updated_since(
        &self,
        lane: Lane,
        since: &str,
        after: Option<String>,
        first: u32,
    ) -> Result<Connection<ShopifyOrder>, ShopifyError> {
        let variables = OrdersVariables {
            first: first.clamp(1, 250),
            after,
            query: Some(updated_since_query(since)?),
            line_items: LINE_ITEMS,
        };
        Ok(self.run::<Orders>(lane, &variables).await?.orders)
    }

    /// One order (`None` if Shopify does not know it, or no longer shows it), with up to
    /// `line_items` line items (at most 240: more would pass the 1,000-point cap).
    pub async fn order(
        &self,
        lane: Lane,
        id: &OrderId,
        line_items: u32,
    ) -> Result<Option<ShopifyOrder>, ShopifyError> {
        let variables = OrderVariables {
            id: id.clone(),
            line_items: line_items.clamp(1, MAX_ORDER_LINES),
        };
        Ok(self.run::<Order>(lane, &variables).await?.order)
    }

    /// What the order rules need to know about an order now; ask for as many line items as
    /// it has (a line beyond them is not checked).
    pub async fn order_checks(
        &self,
        lane: Lane,
        id: &OrderId,
        line_items: u32,
    ) -> Result<Option<CheckedOrder>, ShopifyError> {
        let variables = OrderChecksVariables {
            id: id.clone(),
            line_items: line_items.clamp(1, 250),
        };
        Ok(self.run::<OrderChecks>(lane, &variables).await?.order)
    }

    /// One page of (id, updatedAt) of orders updated at or after `since` (RFC 3339), oldest
    /// change first; about `first` + 2 points.
    pub async fn order_versions(
        &self,
        lane: Lane,
        since: &str,
        after: Option<String>,
        first: u32,
    ) -> Result<Connection<OrderVersion>, ShopifyError> {
        let variables = OrderVersionsVariables {
            first: first.clamp(1, 250),
            after,
            query: Some(updated_since_query(since)?),
        };
        Ok(self.run::<OrderVersions>(lane, &variables).await?.orders)
    }

    /// The variants whose SKU is exactly one of `skus` (several per SKU if the shop has
    /// duplicates), with their inventory items.
    pub async fn variants_by_skus(
        &self,
        lane: Lane,
        skus: &[String],
    ) -> Result<Vec<VariantBySku>, ShopifyError> {
        let mut wanted: Vec<&String> = skus.iter().filter(|s| !s.is_empty()).collect();
        wanted.sort();
        wanted.dedup();
        let mut found = Vec::new();
        for chunk in wanted.chunks(SKUS_PER_QUERY) {
            let chunk: Vec<String> = chunk.iter().map(|s| s.to_string()).collect();
            let mut variables = VariantsBySkuVariables {
                first: (chunk.len() as u32 * 2).min(250),
                after: None,
                query: sku_query(&chunk),
            };
            loop {
                let page = self
                    .run::<ProductVariantsBySku>(lane, &variables)
                    .await?
                    .product_variants;
                found.extend(page.nodes.into_iter().filter(|v| {
                    v.sku
                        .as_ref()
                        .is_some_and(|sku| chunk.binary_search(sku).is_ok())
                }));
                match page.page_info.end_cursor {
                    Some(cursor) if page.page_info.has_next_page => variables.after = Some(cursor),
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    /// Quantities (`names`, e.g. `["available"]`) per location of each item Shopify knows,
    /// reading up to `locations` locations per item (use the shop's location count).
    pub async fn inventory_levels(
        &self,
        lane: Lane,
        items: &[InventoryItemId],
        names: &[&str],
        locations: u32,
    ) -> Result<Vec<InventoryItemLevels>, ShopifyError> {
        let locations = locations.clamp(1, 250);
        // Keep each query well under Shopify's 1,000-point cap.
        let per_item = 3 + 3 * locations as usize;
        let batch = (900 / per_item).clamp(1, MAX_BATCH);
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(batch) {
            let variables = InventoryLevelsVariables {
                ids: chunk.to_vec(),
                names: names.clone(),
                locations,
            };
            let response = self.run::<InventoryLevels>(lane, &variables).await?;
            out.extend(response.nodes.into_iter().flatten());
        }
        Ok(out)
    }

    /// The shop's time zone and its offset from UTC now.
    pub async fn shop_time(
        &self,
        lane: Lane,
    ) -> Result<super::operations::shop::ShopTimeZone, ShopifyError> {
        Ok(self
            .run::<super::operations::shop::ShopTime>(
                lane,
                &super::operations::shop::ShopTimeVariables {},
            )
            .await?
            .shop)
    }

    /// The shop's active locations.
    pub async fn locations(&self, lane: Lane) -> Result<Vec<Location>, ShopifyError> {
        let mut variables = LocationsVariables {
            first: 100,
            after: None,
        };
        let mut out = Vec::new();
        loop {
            let page = self.run::<Locations>(lane, &variables).await?.locations;
            out.extend(page.nodes);
            match page.page_info.end_cursor {
                Some(cursor) if page.page_info.has_next_page => variables.after = Some(cursor),
                _ => return Ok(out),
            }
        }
    }

    /// Sets quantities (compare-and-set through each `change_from_quantity`). The same
    /// `idempotency_key` must be used for every attempt at the same change (it is the item id
    /// for a flow), and a different one for a different change. `userErrors` come back as
    /// [`ShopifyError::UserErrors`].
    pub async fn set_inventory(
        &self,
        lane: Lane,
        input: SetQuantitiesInput,
        idempotency_key: &str,
    ) -> Result<AdjustmentGroup, ShopifyError> {
        let variables = set_quantities_variables(input, idempotency_key)?;
        let payload = self
            .run::<InventorySetQuantities>(lane, &variables)
            .await?
            .inventory_set_quantities;
        made(
            InventorySetQuantities::NAME,
            payload.map(|p| (p.user_errors, p.inventory_adjustment_group)),
        )
    }

    /// Starts a bulk query (`query` is the inner document, without `first`), returning its id.
    /// Shopify meters only this mutation, not what the operation reads.
    pub async fn start_bulk_query(
        &self,
        lane: Lane,
        query: &str,
    ) -> Result<BulkOperationId, ShopifyError> {
        let variables = RunQueryVariables {
            query: query.to_string(),
            group_objects: false,
        };
        let payload = self
            .run::<BulkOperationRunQuery>(lane, &variables)
            .await?
            .bulk_operation_run_query;
        made(
            BulkOperationRunQuery::NAME,
            payload.map(|p| (p.user_errors, p.bulk_operation.map(|op| op.id))),
        )
    }

    /// The result file of a finished bulk operation (`BulkOperationState::url`), as JSON Lines.
    pub async fn bulk_result(&self, url: &str) -> Result<String, ShopifyError> {
        let actor = self
            .actor()
            .ok_or_else(|| ShopifyError::Unavailable("the client actor is not running".into()))?;
        let wait = DOWNLOAD_TIMEOUT + Duration::from_secs(5);
        let url = url.to_string();
        match actor
            .call(|reply| ShopifyMsg::Download { url, reply }, Some(wait))
            .await
        {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(ShopifyError::DeadlineExceeded {
                after: wait,
                attempts: 1,
                last: None,
            }),
            Ok(CallResult::SenderError) | Err(_) => Err(ShopifyError::Unavailable(
                "the client actor stopped during the download".into(),
            )),
        }
    }

    /// Starts a bulk mutation: `mutation` (one mutation document) run once per line of
    /// `lines` (its variables, as JSON Lines), which are staged first. Shopify meters only the
    /// staging and this mutation, not the mutations the operation runs.
    pub async fn start_bulk_mutation(
        &self,
        lane: Lane,
        mutation: &str,
        lines: Vec<u8>,
    ) -> Result<BulkOperationId, ShopifyError> {
        let staged = self
            .run::<StagedUploadsCreate>(lane, &StagedUploadsVariables::bulk_variables(lines.len()))
            .await?
            .staged_uploads_create;
        let target = made(
            StagedUploadsCreate::NAME,
            staged.map(|p| (p.user_errors, p.staged_targets.into_iter().next())),
        )?;
        let path = target
            .key()
            .ok_or_else(|| ShopifyError::Unavailable("the staged target has no key".into()))?
            .to_string();
        let actor = self
            .actor()
            .ok_or_else(|| ShopifyError::Unavailable("the client actor is not running".into()))?;
        let wait = DOWNLOAD_TIMEOUT + Duration::from_secs(5);
        match actor
            .call(
                |reply| ShopifyMsg::Upload {
                    target,
                    file: lines,
                    reply,
                },
                Some(wait),
            )
            .await
        {
            Ok(CallResult::Success(result)) => result?,
            Ok(CallResult::Timeout) => {
                return Err(ShopifyError::DeadlineExceeded {
                    after: wait,
                    attempts: 1,
                    last: None,
                });
            }
            Ok(CallResult::SenderError) | Err(_) => {
                return Err(ShopifyError::Unavailable(
                    "the client actor stopped during the upload".into(),
                ));
            }
        }
        let variables = RunMutationVariables {
            mutation: mutation.to_string(),
            staged_upload_path: path,
        };
        let payload = self
            .run::<BulkOperationRunMutation>(lane, &variables)
            .await?
            .bulk_operation_run_mutation;
        made(
            BulkOperationRunMutation::NAME,
            payload.map(|p| (p.user_errors, p.bulk_operation.map(|op| op.id))),
        )
    }

    /// A bulk operation's state (`None` if Shopify does not know the id).
    pub async fn bulk_operation(
        &self,
        lane: Lane,
        id: &BulkOperationId,
    ) -> Result<Option<BulkOperationState>, ShopifyError> {
        let variables = BulkOperationVariables { id: id.clone() };
        Ok(self
            .run::<BulkOperation>(lane, &variables)
            .await?
            .bulk_operation)
    }

    /// [`Self::set_inventory`] without reading the change back: `Ok(())` once applied. For
    /// batches, whose 250 quantities would come back as 500 change objects.
    pub async fn set_inventory_quietly(
        &self,
        lane: Lane,
        input: SetQuantitiesInput,
        idempotency_key: &str,
    ) -> Result<(), ShopifyError> {
        let variables = set_quantities_variables(input, idempotency_key)?;
        let payload = self
            .run::<InventorySetQuantitiesLean>(lane, &variables)
            .await?
            .inventory_set_quantities;
        made(
            InventorySetQuantitiesLean::NAME,
            payload.map(|p| (p.user_errors, p.inventory_adjustment_group.map(|_| ()))),
        )
    }

    /// The app's webhook subscriptions to `topics` (all topics if empty).
    pub async fn webhook_subscriptions(
        &self,
        lane: Lane,
        topics: &[WebhookTopic],
    ) -> Result<Vec<WebhookSubscription>, ShopifyError> {
        let mut variables = WebhookSubscriptionsVariables {
            first: 100,
            after: None,
            topics: (!topics.is_empty()).then(|| topics.to_vec()),
        };
        let mut out = Vec::new();
        loop {
            let page = self
                .run::<WebhookSubscriptions>(lane, &variables)
                .await?
                .webhook_subscriptions;
            out.extend(page.nodes);
            match page.page_info.end_cursor {
                Some(cursor) if page.page_info.has_next_page => variables.after = Some(cursor),
                _ => return Ok(out),
            }
        }
    }

    /// Subscribes `uri` (https://…) to `topic`, JSON format.
    pub async fn create_webhook_subscription(
        &self,
        lane: Lane,
        topic: &WebhookTopic,
        uri: &str,
    ) -> Result<WebhookSubscription, ShopifyError> {
        let variables = WebhookSubscriptionCreateVariables {
            topic: topic.clone(),
            webhook_subscription: WebhookSubscriptionInput {
                uri: uri.to_string(),
                format: Some("JSON".into()),
                filter: None,
                include_fields: None,
            },
        };
        let payload = self
            .run::<WebhookSubscriptionCreate>(lane, &variables)
            .await?
            .webhook_subscription_create;
        made(
            WebhookSubscriptionCreate::NAME,
            payload.map(|p| (p.user_errors, p.webhook_subscription)),
        )
    }
}

/// What a mutation made, from its payload as (`userErrors`, result): the errors if there are
/// any, else the result; a null payload, or one with neither, is an invalid response.
fn made<T>(
    operation: &'static str,
    payload: Option<(Vec<UserError>, Option<T>)>,
) -> Result<T, ShopifyError> {
    let (errors, result) = payload
        .ok_or_else(|| ShopifyError::InvalidResponse(format!("{operation}: null payload")))?;
    if !errors.is_empty() {
        return Err(ShopifyError::UserErrors { operation, errors });
    }
    result.ok_or_else(|| {
        ShopifyError::InvalidResponse(format!("{operation}: neither a result nor userErrors"))
    })
}
