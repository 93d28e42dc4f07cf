//! The Shopify client against a stub of the Admin API that plays back canned answers:
//! what is retried (and with exactly the same body), what is returned at once, the
//! deadline, concurrency, restarts, and that the access token never leaks.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ractor::Actor;
use serde_json::{Value, json};
use xconnector_actors::rate_limiter::{Lane, RateLimiter, RateLimiterConfig, RateLimiterHandle};
use xconnector_actors::retry::Backoff;
use xconnector_actors::shopify::gid::{InventoryItemId, LocationId};
use xconnector_actors::shopify::operations::inventory::{
    QuantityInput, QuantityName, SetQuantitiesInput,
};
use xconnector_actors::shopify::{
    AccessToken, ShopifyActor, ShopifyArgs, ShopifyClientConfig, ShopifyError, ShopifyHandle,
    TransportKind,
};
use xconnector_actors::supervisor::RestartPolicy;
use xconnector_actors::{Engine, EngineConfig};

const TOKEN: &str = "shpat_TOP-SECRET-0123456789";

/// One canned answer.
#[derive(Clone)]
struct Canned {
    status: u16,
    body: Value,
    retry_after: Option<&'static str>,
    delay: Duration,
}

fn ok(data: Value) -> Canned {
    Canned {
        status: 200,
        body: json!({"data": data, "extensions": {"cost": cost(10.0, Some(10.0), 1990.0)}}),
        retry_after: None,
        delay: Duration::ZERO,
    }
}

fn status(code: u16, body: Value) -> Canned {
    Canned {
        status: code,
        body,
        retry_after: None,
        delay: Duration::ZERO,
    }
}

fn cost(requested: f64, actual: Option<f64>, available: f64) -> Value {
    json!({"requestedQueryCost": requested, "actualQueryCost": actual,
           "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": available, "restoreRate": 100.0}})
}

fn throttled() -> Canned {
    status(
        200,
        json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
               "extensions": {"cost": cost(10.0, None, 2.0)}}),
    )
}

/// What the stub saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    token: Option<String>,
    path: String,
    body: Vec<u8>,
}

#[derive(Clone)]
struct Stub {
    script: Arc<Mutex<VecDeque<Canned>>>,
    /// Answers once the script is used up.
    fallback: Arc<Mutex<Canned>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    async fn start(script: Vec<Canned>, fallback: Canned) -> (Stub, SocketAddr) {
        let stub = Stub {
            script: Arc::new(Mutex::new(script.into())),
            fallback: Arc::new(Mutex::new(fallback)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let app = Router::new()
            .route("/admin/api/{version}/graphql.json", post(answer))
            .with_state(stub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (stub, addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn answer(
    State(stub): State<Stub>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    stub.seen.lock().unwrap().push(Seen {
        token: headers
            .get("x-shopify-access-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        path: uri.path().to_string(),
        body: body.to_vec(),
    });
    let canned = {
        let next = stub.script.lock().unwrap().pop_front();
        next.unwrap_or_else(|| stub.fallback.lock().unwrap().clone())
    };
    if !canned.delay.is_zero() {
        tokio::time::sleep(canned.delay).await;
    }
    let mut response = (
        StatusCode::from_u16(canned.status).unwrap(),
        [("content-type", "application/json")],
        canned.body.to_string(),
    )
        .into_response();
    if let Some(after) = canned.retry_after {
        response
            .headers_mut()
            .insert("retry-after", after.parse().unwrap());
    }
    response
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn config(addr: SocketAddr) -> ShopifyClientConfig {
    let mut c = ShopifyClientConfig::new(
        "test.myshopify.com",
        format!("http://{addr}/"),
        "2026-10",
        AccessToken::new(TOKEN),
    );
    c.request_timeout = Duration::from_millis(300);
    c.deadline = Duration::from_secs(3);
    // Short pauses: a test that takes longer than these proves another wait was honoured.
    c.backoff = Backoff::new(Duration::from_millis(5), Duration::from_millis(40));
    // A roomy model, so that pacing does not get in the way of what is tested here.
    c.limiter = RateLimiterConfig {
        initial_maximum: 1000.0,
        initial_restore_rate: 1000.0,
        ..RateLimiterConfig::default()
    };
    c
}

/// A rate limiter and a client actor of their own, and a handle on them.
async fn client(config: ShopifyClientConfig) -> ShopifyHandle {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let limiter = RateLimiterHandle::named(format!("client-test-limiter-{n}"));
    Actor::spawn(
        Some(limiter.name().to_string()),
        RateLimiter,
        config.limiter,
    )
    .await
    .unwrap();
    let name = format!("client-test-shopify-{n}");
    let deadline = config.deadline;
    Actor::spawn(
        Some(name.clone()),
        ShopifyActor,
        ShopifyArgs {
            config,
            limiter: limiter.clone(),
        },
    )
    .await
    .unwrap();
    ShopifyHandle::named(name, limiter, deadline)
}

fn set_input() -> SetQuantitiesInput {
    SetQuantitiesInput {
        name: QuantityName::Available,
        reason: "correction".into(),
        reference_document_uri: Some("xconnector://inventory/42".into()),
        quantities: vec![QuantityInput {
            inventory_item_id: InventoryItemId::new(30322695),
            location_id: LocationId::new(124656943),
            quantity: 11,
            change_from_quantity: Some(10),
        }],
    }
}

fn set_ok() -> Canned {
    ok(json!({"inventorySetQuantities": {
        "inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/5",
            "createdAt": "2026-10-01T00:00:00Z", "reason": "correction",
            "referenceDocumentUri": "xconnector://inventory/42",
            "changes": [{"name": "available", "delta": 1, "quantityAfterChange": 11,
                         "item": {"id": "gid://shopify/InventoryItem/30322695"},
                         "location": {"id": "gid://shopify/Location/124656943"}}]},
        "userErrors": []}}))
}

fn locations_ok() -> Canned {
    ok(
        json!({"locations": {"nodes": [{"id": "gid://shopify/Location/1", "name": "Warehouse",
        "isActive": true, "fulfillsOnlineOrders": true}],
        "pageInfo": {"hasNextPage": false, "endCursor": null}}}),
    )
}

fn unavailable() -> Canned {
    status(503, json!({"errors": "Service Unavailable"}))
}

/// Every rendering of an error a log line or a user could see.
fn renderings(e: &ShopifyError) -> String {
    format!("{e} | {e:?} | {e:#?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_mutation_is_retried_with_the_same_body_and_idempotency_key() {
    let (stub, addr) = Stub::start(vec![throttled(), set_ok()], unavailable()).await;
    let shopify = client(config(addr)).await;
    let group = shopify
        .set_inventory(Lane::Customers, set_input(), "item-42-attempt-key")
        .await
        .unwrap();
    assert_eq!(group.changes[0].quantity_after_change, Some(11));

    let seen = stub.seen();
    assert_eq!(seen.len(), 2, "throttled once, then accepted");
    assert_eq!(
        seen[0].body, seen[1].body,
        "the retry resends the same body"
    );
    assert_eq!(seen[0].path, "/admin/api/2026-10/graphql.json");
    assert!(seen.iter().all(|s| s.token.as_deref() == Some(TOKEN)));
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["operationName"], "InventorySetQuantities");
    assert_eq!(body["variables"]["idempotencyKey"], "item-42-attempt-key");
    assert_eq!(
        body["variables"]["input"]["quantities"][0]["changeFromQuantity"],
        10
    );
    assert!(
        body["query"]
            .as_str()
            .unwrap()
            .contains("@idempotent(key: $idempotencyKey)")
    );

    // Both answers' costs reached the limiter: it knows Shopify's bucket and the throttle.
    let stats = shopify.rate_limiter().stats().await.unwrap();
    assert_eq!(stats.throttled, 1);
    assert!(stats.learned);
    assert_eq!(stats.maximum, 2000.0);
    assert_eq!(stats.in_flight, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_waits_for_retry_after() {
    let mut too_many = status(429, json!({"errors": "Exceeded 2 calls per second"}));
    too_many.retry_after = Some("0.4");
    let (stub, addr) = Stub::start(vec![too_many, locations_ok()], unavailable()).await;
    let shopify = client(config(addr)).await;
    let started = Instant::now();
    let locations = shopify.locations(Lane::Operator).await.unwrap();
    assert_eq!(locations[0].id, LocationId::new(1));
    assert_eq!(stub.seen().len(), 2);
    // The backoff alone would have retried within 40 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_retried() {
    let (stub, addr) = Stub::start(
        vec![unavailable(), unavailable(), locations_ok()],
        unavailable(),
    )
    .await;
    let shopify = client(config(addr)).await;
    assert_eq!(shopify.locations(Lane::Reporting).await.unwrap().len(), 1);
    assert_eq!(stub.seen().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_retried_within_the_deadline() {
    let mut slow = locations_ok();
    slow.delay = Duration::from_secs(5);
    let (stub, addr) = Stub::start(vec![slow, locations_ok()], unavailable()).await;
    let shopify = client(config(addr)).await;
    let started = Instant::now();
    assert_eq!(shopify.locations(Lane::Orders).await.unwrap().len(), 1);
    assert_eq!(stub.seen().len(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up on the slow answer after the request timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_return_at_once_and_typed() {
    // userErrors of a mutation.
    let refused = ok(
        json!({"inventorySetQuantities": {"inventoryAdjustmentGroup": null,
        "userErrors": [{"field": ["input", "quantities", "0", "changeFromQuantity"],
                        "message": "The quantity changed", "code": "CHANGE_FROM_QUANTITY_STALE"}]}}),
    );
    let (stub, addr) = Stub::start(vec![refused], unavailable()).await;
    let shopify = client(config(addr)).await;
    let e = shopify
        .set_inventory(Lane::Customers, set_input(), "k1")
        .await
        .unwrap_err();
    match &e {
        ShopifyError::UserErrors { operation, errors } => {
            assert_eq!(*operation, "InventorySetQuantities");
            assert_eq!(
                errors[0].code.as_deref(),
                Some("CHANGE_FROM_QUANTITY_STALE")
            );
            assert_eq!(
                errors[0].field,
                ["input", "quantities", "0", "changeFromQuantity"]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_transient());
    assert_eq!(stub.seen().len(), 1);

    // HTTP 400, and an HTTP 401 whose body quotes the token back.
    let (stub, addr) = Stub::start(
        vec![
            status(400, json!({"errors": "Bad Request"})),
            status(
                401,
                json!({"errors": format!("[API] Invalid API key or access token ({TOKEN})")}),
            ),
        ],
        unavailable(),
    )
    .await;
    let shopify = client(config(addr)).await;
    let e = shopify.locations(Lane::Orders).await.unwrap_err();
    assert!(
        matches!(&e, ShopifyError::Http { status: 400, .. }),
        "{e:?}"
    );
    assert_eq!(stub.seen().len(), 1, "not retried");
    let e = shopify.locations(Lane::Orders).await.unwrap_err();
    assert!(
        matches!(&e, ShopifyError::Http { status: 401, body, .. } if body.contains("***")),
        "{e:?}"
    );
    assert!(!renderings(&e).contains(TOKEN), "{e:?}");
    assert_eq!(stub.seen().len(), 2);

    // GraphQL errors with HTTP 200.
    let denied = status(
        200,
        json!({"errors": [{"message": "Access denied for locations field.",
                           "extensions": {"code": "ACCESS_DENIED"}, "path": ["locations"]}]}),
    );
    let (stub, addr) = Stub::start(vec![denied], unavailable()).await;
    let shopify = client(config(addr)).await;
    match shopify.locations(Lane::Orders).await.unwrap_err() {
        ShopifyError::Graphql { errors } => {
            assert_eq!(errors[0].code.as_deref(), Some("ACCESS_DENIED"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(stub.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_deadline_the_call_fails_typed() {
    let (stub, addr) = Stub::start(vec![], unavailable()).await;
    let mut c = config(addr);
    c.deadline = Duration::from_millis(400);
    let shopify = client(c).await;
    let started = Instant::now();
    let e = shopify.locations(Lane::Orders).await.unwrap_err();
    match &e {
        ShopifyError::DeadlineExceeded {
            attempts,
            last: Some(last),
            ..
        } => {
            assert!(*attempts >= 2, "{attempts}");
            assert!(
                matches!(**last, ShopifyError::Http { status: 503, .. }),
                "{last:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_transient(), "the flow retries the item later");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(stub.seen().len() as u32, attempts_of(&e));
}

fn attempts_of(e: &ShopifyError) -> u32 {
    match e {
        ShopifyError::DeadlineExceeded { attempts, .. } => *attempts,
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_errors_are_transient_and_name_no_secret() {
    // Bind and drop: nothing listens there any more.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut c = config(addr);
    c.deadline = Duration::from_millis(200);
    let debug_config = format!("{c:?}");
    let shopify = client(c).await;
    let e = shopify.locations(Lane::Orders).await.unwrap_err();
    match &e {
        ShopifyError::DeadlineExceeded {
            last: Some(last), ..
        } => assert!(
            matches!(
                **last,
                ShopifyError::Transport {
                    kind: TransportKind::Connect,
                    ..
                }
            ),
            "{last:?}"
        ),
        other => panic!("{other:?}"),
    }
    for text in [renderings(&e), format!("{shopify:?}"), debug_config] {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_from_several_flows_run_concurrently() {
    let mut slow = locations_ok();
    slow.delay = Duration::from_millis(250);
    let (stub, addr) = Stub::start(vec![], slow).await;
    let shopify = client(config(addr)).await;
    let started = Instant::now();
    let calls = (0..4).map(|_| {
        let s = shopify.clone();
        tokio::spawn(async move { s.locations(Lane::Orders).await })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap().len(), 1);
    }
    assert_eq!(stub.seen().len(), 4);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "four 250 ms calls were serialized: {:?}",
        started.elapsed()
    );
}

/// Polls `check` until it returns Some, or fails after a generous deadline.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_runs_the_client_and_handles_survive_restarts() {
    let (_stub, addr) = Stub::start(vec![], locations_ok()).await;
    let dir = tempfile::tempdir().unwrap();
    let (engine, _fatal) = Engine::start(EngineConfig {
        jobs: Default::default(),
        store_dir: dir.path().into(),
        pruning: Default::default(),
        flows: Vec::new(),
        policy: RestartPolicy {
            max_restarts: 5,
            window: Duration::from_secs(60),
            backoff: Backoff::new(Duration::from_millis(5), Duration::from_millis(20)),
        },
        shopify: Some(config(addr)),
        endpoints: Vec::new(),
    })
    .await
    .unwrap();
    let shopify = engine.shopify().unwrap().clone();
    assert_eq!(shopify.locations(Lane::Operator).await.unwrap().len(), 1);

    // Kill both actors; the supervisor restarts them under the same names.
    let old_client = shopify.actor().unwrap().get_id();
    let old_limiter = shopify.rate_limiter().actor().unwrap().get_id();
    shopify.actor().unwrap().kill();
    shopify.rate_limiter().actor().unwrap().kill();
    eventually("both actors to be restarted", || async {
        let client = shopify.actor()?.get_id();
        let limiter = shopify.rate_limiter().actor()?.get_id();
        (client != old_client && limiter != old_limiter).then_some(())
    })
    .await;
    // The handle taken before the restart still works.
    assert_eq!(shopify.locations(Lane::Operator).await.unwrap().len(), 1);

    let snapshot = eventually("rate-limiter stats in the snapshot", || async {
        engine
            .snapshot()
            .await
            .ok()
            .filter(|s| s.rate_limiter.as_ref().is_some_and(|r| r.learned))
    })
    .await;
    let restarts = &snapshot.restarts;
    assert_eq!(restarts.get("shopify"), Some(&1), "{restarts:?}");
    assert_eq!(restarts.get("rate_limiter"), Some(&1), "{restarts:?}");
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(shopify.actor().is_none(), "stopped with the engine");
}
