//! The HTTP listener: health, readiness and Prometheus metrics. (Webhooks and the inbound
//! back-office API join this router as their flows land.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use xconnector_actors::Engine;
use xconnector_actors::telemetry::prometheus;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// True from the moment every actor is up until shutdown begins: load balancers and
    /// Shopify's retries should go elsewhere while it is false.
    pub ready: Arc<AtomicBool>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: starting or shutting down\n",
        )
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match state.engine.snapshot().await {
        Ok(snapshot) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            prometheus::render(&snapshot, state.ready.load(Ordering::SeqCst)),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("metrics unavailable: {e}\n"),
        )
            .into_response(),
    }
}
