//! The inbound API's edge, once for every resource the enabled flows serve
//! ([`xconnector_actors::inbound`]): `POST /api/v1/{resource}` and the drop directories.
//!
//! - Bearer token from `[server] api_tokens` (constant-time comparison); none configured
//!   means the API is closed. A refused token is logged at `warn` without any part of the
//!   `Authorization` header.
//! - 503 while starting or shutting down; bodies up to [`MAX_BODY`], parsed as they stream in.
//! - Every bad entry is named (`levels[17].available: …`, up to `MAX_REPORTED` of them, then a
//!   count) in one 400, and nothing is stored. A valid request is stored (fsync'd) as its
//!   items before the 202 `{"request_id", "accepted", "items", …}`.
//! - `Idempotency-Key`: the same key and body again is answered like the first time and
//!   stores nothing; the same key with another body is a 409.
//! - `GET /api/v1/requests/{id}`: what became of each item of a request.
//! - Every request lands in exactly one outcome of
//!   `xconnector_api_requests_total{endpoint,outcome}`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{DefaultBodyLimit, Path, RawPathParams};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::watch;
use xconnector_actors::inbound::Inbound;
use xconnector_actors::store::StoreHandle;
use xconnector_actors::telemetry::prometheus::Exposition;

pub mod auth;
pub mod drop;
mod receive;
pub mod requests;
pub mod stats;

pub use stats::ApiStats;

/// The largest body accepted: generous for 100,000 levels with long SKUs and names.
pub const MAX_BODY: usize = 64 << 20;

/// One resource's endpoint.
pub struct Endpoint {
    pub resource: Arc<dyn Inbound>,
    pub stats: ApiStats,
}

/// Everything the inbound API needs.
pub struct Intake {
    tokens: Vec<String>,
    store: StoreHandle,
    /// False while starting or shutting down: new requests are refused with a 503.
    ready: Arc<AtomicBool>,
    endpoints: Vec<Endpoint>,
}

impl Intake {
    pub fn new(
        tokens: Vec<String>,
        store: StoreHandle,
        ready: Arc<AtomicBool>,
        resources: Vec<Arc<dyn Inbound>>,
    ) -> Intake {
        Intake {
            tokens: tokens.into_iter().filter(|t| !t.is_empty()).collect(),
            store,
            ready,
            endpoints: resources
                .into_iter()
                .map(|resource| Endpoint {
                    resource,
                    stats: ApiStats::default(),
                })
                .collect(),
        }
    }

    /// The endpoint of `POST /api/v1/{path}`.
    pub fn endpoint(&self, path: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.resource.path() == path)
    }

    /// The request counters; nothing when no resource is served.
    pub fn render_metrics(&self, m: &mut Exposition) {
        if !self.endpoints.is_empty() {
            stats::render(
                self.endpoints.iter().map(|e| (e.resource.path(), &e.stats)),
                m,
            );
        }
    }

    /// Watches every resource's drop directory until `stop` turns true.
    pub fn watch_drops(&self, stop: &watch::Receiver<bool>) {
        for endpoint in &self.endpoints {
            if endpoint.resource.drop_dir().is_some() {
                tokio::spawn(drop::watch(
                    endpoint.resource.clone(),
                    self.store.clone(),
                    stop.clone(),
                ));
            }
        }
    }
}

/// The routes of the served resources, and of their requests; none when nothing is served.
pub fn router(intake: Arc<Intake>) -> Router {
    if intake.endpoints.is_empty() {
        return Router::new();
    }
    let mut router = Router::new();
    for (index, endpoint) in intake.endpoints.iter().enumerate() {
        let intake = intake.clone();
        router = router.route(
            &format!("/api/v1/{}", endpoint.resource.path()),
            // The parser enforces its own limit while streaming.
            post(
                move |params: Result<RawPathParams, RawPathParamsRejection>,
                      headers: HeaderMap,
                      body: axum::body::Body| async move {
                    // A path without parameters has none to give.
                    let params = params
                        .map(|p| {
                            p.iter()
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                                .collect()
                        })
                        .unwrap_or_default();
                    receive::receive(&intake, &intake.endpoints[index], headers, params, body).await
                },
            )
            .layer(DefaultBodyLimit::disable()),
        );
    }
    for endpoint in intake.endpoints.iter() {
        let Some(lookup) = endpoint.resource.lookup().cloned() else {
            continue;
        };
        let intake = intake.clone();
        router = router.route(
            &format!("/api/v1/{}/{{*rest}}", endpoint.resource.path()),
            get(
                move |Path(rest): Path<String>, headers: HeaderMap| async move {
                    look_up(&intake, &lookup, &rest, &headers).await
                },
            ),
        );
    }
    router.route(
        "/api/v1/requests/{id}",
        get(
            move |Path(id): Path<String>, headers: HeaderMap| async move {
                request_status(&intake, &id, &headers).await
            },
        ),
    )
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// `GET /api/v1/requests/{id}`.
async fn request_status(intake: &Intake, id: &str, headers: &HeaderMap) -> Response {
    if auth::authorize(&intake.tokens, headers).is_err() {
        return auth::unauthorized();
    }
    match requests::status(&intake.store, id).await {
        Ok(Some(status)) => axum::Json(status).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no request {id:?}")),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the store cannot answer now; retry: {e}"),
        ),
    }
}

/// `GET /api/v1/{resource}/{rest…}`: a resource's lookup.
async fn look_up(
    intake: &Intake,
    lookup: &xconnector_actors::inbound::Lookup,
    rest: &str,
    headers: &HeaderMap,
) -> Response {
    if auth::authorize(&intake.tokens, headers).is_err() {
        return auth::unauthorized();
    }
    let parts: Vec<String> = rest.split('/').map(str::to_string).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return error(StatusCode::NOT_FOUND, &format!("nothing at {rest:?}"));
    }
    match lookup(intake.store.clone(), parts).await {
        Ok(Some(found)) => axum::Json(found).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("nothing known as {rest:?}")),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the store cannot answer now; retry: {e}"),
        ),
    }
}
