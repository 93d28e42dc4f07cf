//! The simulated back office: one HTTP receiver per endpoint name (`POST /{name}`) that records
//! what it got, counted by idempotency key, and can be told to fail, slow down or reject — so
//! tests and the demo can see every delivery and what a receiver makes of it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;

/// How a receiver answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// Answer with this status (e.g. 503), without recording.
    Fail(u16),
    /// 429 with this Retry-After in seconds.
    Throttle(u64),
    /// Wait, then accept.
    Slow(Duration),
    /// A permanent rejection (e.g. 422) with a body that says why.
    Reject(u16, String),
}

/// One accepted delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub idempotency_key: String,
    pub signature: Option<String>,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Receivers {
    modes: BTreeMap<String, Mode>,
    received: BTreeMap<String, Vec<Received>>,
    refused: BTreeMap<String, u64>,
}

#[derive(Clone)]
pub struct BackOffice {
    addr: SocketAddr,
    state: Arc<Mutex<Receivers>>,
}

impl BackOffice {
    pub async fn start(listen: SocketAddr) -> anyhow::Result<BackOffice> {
        let state = Arc::new(Mutex::new(Receivers::default()));
        let app = Router::new()
            .route("/{name}", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(BackOffice { addr, state })
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    pub fn set_mode(&self, name: &str, mode: Mode) {
        self.lock().modes.insert(name.to_string(), mode);
    }

    pub fn received(&self, name: &str) -> Vec<Received> {
        self.lock().received.get(name).cloned().unwrap_or_default()
    }

    /// What `name` accepted from the `start`-th delivery on: a reader that remembers how far
    /// it got (the simulated shipper) copies only what is new.
    pub fn received_from(&self, name: &str, start: usize) -> Vec<Received> {
        self.lock()
            .received
            .get(name)
            .and_then(|r| r.get(start..))
            .map(<[Received]>::to_vec)
            .unwrap_or_default()
    }

    /// Accepted deliveries per idempotency key: exactly-once means every count is 1.
    pub fn count_by_key(&self, name: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for r in self.received(name) {
            *counts.entry(r.idempotency_key).or_insert(0) += 1;
        }
        counts
    }

    /// Requests answered with a failure or rejection.
    pub fn refused(&self, name: &str) -> u64 {
        self.lock().refused.get(name).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Receivers> {
        // A panic while holding this lock can only come from a bug in this file; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn receive(
    State(state): State<Arc<Mutex<Receivers>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mode = {
        let s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.modes.get(&name).cloned().unwrap_or(Mode::Accept)
    };
    let refuse = |status: StatusCode, text: String| {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        *s.refused.entry(name.clone()).or_insert(0) += 1;
        (status, text).into_response()
    };
    match mode {
        Mode::Fail(code) => {
            return refuse(
                StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                "unavailable".into(),
            );
        }
        Mode::Throttle(secs) => {
            let mut r = refuse(StatusCode::TOO_MANY_REQUESTS, "slow down".into());
            if let Ok(v) = secs.to_string().parse() {
                r.headers_mut().insert("retry-after", v);
            }
            return r;
        }
        Mode::Reject(code, why) => {
            return refuse(
                StatusCode::from_u16(code).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
                why,
            );
        }
        Mode::Slow(d) => tokio::time::sleep(d).await,
        Mode::Accept => {}
    }
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "missing Idempotency-Key".into());
    };
    let Ok(body) = serde_json::from_slice(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "body is not JSON".into());
    };
    let signature = headers
        .get("x-xconnector-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.received.entry(name).or_default().push(Received {
        idempotency_key: key.to_string(),
        signature,
        body,
    });
    (StatusCode::OK, "ok").into_response()
}
