//! The HTTP listener: health, readiness, Prometheus metrics, Shopify's webhooks and the
//! inbound back-office API.

use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};
use xconnector_actors::flows::reporting::live::Reporting;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use xconnector_actors::Engine;
use xconnector_actors::telemetry::prometheus::{self, Exposition};

use crate::intake::Intake;
use crate::webhooks::WebhookIntake;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// True from the moment every actor is up until shutdown begins: load balancers and
    /// Shopify's retries should go elsewhere while it is false.
    pub ready: Arc<AtomicBool>,
    pub webhooks: Arc<WebhookIntake>,
    /// The inbound back-office API of the enabled flows.
    pub intake: Arc<Intake>,
    /// `[flows.reporting]`, when on: its live figures join `/metrics`.
    pub reporting: Option<Arc<Reporting>>,
}

impl AppState {
    /// The state of a listener that serves no inbound API (tools and tests).
    pub fn new(
        engine: Arc<Engine>,
        ready: Arc<AtomicBool>,
        webhooks: Arc<WebhookIntake>,
    ) -> AppState {
        let intake = Intake::new(
            Vec::new(),
            engine.store().clone(),
            ready.clone(),
            Vec::new(),
        );
        AppState {
            engine,
            ready,
            webhooks,
            intake: Arc::new(intake),
            reporting: None,
        }
    }
}

pub fn router(state: AppState) -> Router {
    let api = crate::intake::router(state.intake.clone());
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // The intake enforces its own limit so that it can count and log refusals.
        .route(
            "/webhooks/shopify",
            post(webhook).layer(DefaultBodyLimit::disable()),
        )
        .with_state(state)
        .merge(api)
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let busy = |why: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
    };
    if !state.ready.load(Ordering::SeqCst) {
        return busy("starting or shutting down".into());
    }
    match state.engine.store().stats().await {
        Ok(stats) => match stats.failing {
            None => (StatusCode::OK, "ready\n".into()),
            Some(f) => busy(format!("the store cannot write: {}", f.reason)),
        },
        Err(e) => busy(format!("the store does not answer: {e}")),
    }
}

async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> impl IntoResponse {
    // While shutting down nothing new is accepted: Shopify retries later, at the next start.
    if !state.ready.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down; retry\n");
    }
    state.webhooks.receive(&headers, body).await
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match state.engine.snapshot().await {
        Ok(snapshot) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            {
                let mut m = Exposition::default();
                prometheus::snapshot(&mut m, &snapshot, state.ready.load(Ordering::SeqCst));
                state.webhooks.render_metrics(&mut m);
                state.intake.render_metrics(&mut m);
                if let Some(r) = &state.reporting
                    && let Err(e) = r.render_metrics(state.engine.store(), &mut m).await
                {
                    // The rest of the scrape stands; the store's trouble shows in its own gauges.
                    tracing::debug!(error = %e, "report figures left out of /metrics");
                }
                m.finish()
            },
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("metrics unavailable: {e}\n"),
        )
            .into_response(),
    }
}
