//! The HTTP face: `POST /admin/api/{version}/graphql.json`, as Shopify serves it.
//!
//! - `X-Shopify-Access-Token` must match, or 401 with Shopify's body;
//! - every response carries a random `x-request-id` (clients print it in error reports);
//! - a body that is not a GraphQL request is a 400; `Content-Type: application/graphql`
//!   takes the raw document, anything else JSON `{query, variables, operationName}`;
//! - any `{version}` is served with the one schema there is, as Shopify "falls forward" from
//!   unknown versions; `X-Shopify-API-Version` says which one answered;
//! - injected faults ([`Faults`]) come first: latency, then a dropped connection, a 502/503 or
//!   a 429 with `Retry-After`.
//!
//! Dropping a connection for real: the listener wraps each TCP stream with a kill switch
//! ([`KillableStream`]) that handlers reach through `ConnectInfo`. A handler that wants the
//! connection dropped flips the switch; hyper's next write of the response then fails, hyper
//! abandons the connection and the socket closes without a byte of response — the client
//! sees a connection error, exactly like a reset in the wild.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::SimState;
use super::document::GraphqlRequest;
use super::faults::Decision;
use super::graphql::Pipeline;
use crate::schema::VERSION;

/// The body Shopify sends with a 401.
pub const UNAUTHORIZED_BODY: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";

/// The router over the shared state.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/admin/api/{version}/graphql.json", post(graphql))
        .route("/bulk/{file}", axum::routing::get(bulk_result))
        .fallback(not_found)
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// The JSONL result of a bulk operation (`{id}.jsonl`), as Shopify's storage serves it.
async fn bulk_result(State(state): State<Arc<SimState>>, Path(file): Path<String>) -> Response {
    let id = file
        .strip_suffix(".jsonl")
        .and_then(|id| id.parse::<u64>().ok());
    let body = id.and_then(|id| {
        state.shop.with(|shop| {
            shop.bulk
                .ops
                .get(&id)
                .filter(|op| op.status == "COMPLETED")
                .map(|op| op.result.clone())
        })
    });
    match body {
        Some(text) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/jsonl")],
            text,
        )
            .into_response(),
        None => not_found().await,
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"errors": "Not Found"})),
    )
        .into_response()
}

/// Stamp every response with a fresh `x-request-id`.
async fn request_id(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        fastrand::u16(0x8000..0xc000),
        fastrand::u64(..1 << 48)
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body.clone())).into_response()
}

async fn graphql(
    State(state): State<Arc<SimState>>,
    ConnectInfo(conn): ConnectInfo<ConnKill>,
    Path(_version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.stats_mut(|s| s.requests += 1);
    let faults = state.faults();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let decision = state.with_rng(|rng| faults.decide(rng));
    match decision {
        Decision::ServerError(code) => {
            state.stats_mut(|s| s.injected_5xx += 1);
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let reason = status.canonical_reason().unwrap_or("Service Unavailable");
            return json_response(status, &json!({"errors": reason}));
        }
        Decision::TooManyRequests => {
            state.stats_mut(|s| s.injected_429 += 1);
            let mut response = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("{}.0", faults.retry_after_secs)) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
        Decision::Serve | Decision::Drop => {}
    }

    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(state.access_token.as_str()) {
        state.stats_mut(|s| s.unauthorized += 1);
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"errors": UNAUTHORIZED_BODY}),
        );
    }

    let request = match parse_body(&headers, &body) {
        Ok(r) => r,
        Err(body) => {
            state.stats_mut(|s| s.bad_requests += 1);
            return json_response(StatusCode::BAD_REQUEST, &body);
        }
    };

    // Execution is synchronous CPU work under locks: keep it off the async workers' hot path.
    let worker_state = state.clone();
    let result = tokio::task::spawn_blocking(move || {
        let pipeline = Pipeline {
            shop: &worker_state.shop,
            bucket: &worker_state.bucket,
            stats: &worker_state.stats,
        };
        serde_json::to_vec(&pipeline.run(&request))
    })
    .await;
    let body = match result {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "simulator: cannot serialize a response");
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"errors": "Internal error"}),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "simulator: request execution panicked");
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"errors": "Internal error"}),
            );
        }
    };

    if decision == Decision::Drop {
        // Executed, but the client never hears about it.
        state.stats_mut(|s| s.dropped_connections += 1);
        conn.kill();
    }
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response();
    response
        .headers_mut()
        .insert("x-shopify-api-version", HeaderValue::from_static(VERSION));
    response
}

/// The request in the body, or a 400 body saying what is wrong.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<GraphqlRequest, Value> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/graphql") {
        let query = std::str::from_utf8(body)
            .map_err(|_| json!({"errors": "The request body is not valid UTF-8"}))?;
        return Ok(GraphqlRequest {
            query: query.to_string(),
            ..GraphqlRequest::default()
        });
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| json!({"errors": format!("The request body is not valid JSON: {e}")}))?;
    let Value::Object(mut object) = value else {
        return Err(json!({"errors": "The request body must be a JSON object"}));
    };
    let query = match object.remove("query") {
        Some(Value::String(q)) if !q.trim().is_empty() => q,
        _ => return Err(json!({"errors": {"query": "Required parameter missing or invalid"}})),
    };
    let variables = match object.remove("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(v)) => v,
        // Some clients send the variables as a JSON string.
        Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(v)) => v,
            _ => return Err(json!({"errors": {"variables": "must be a JSON object"}})),
        },
        Some(_) => return Err(json!({"errors": {"variables": "must be a JSON object"}})),
    };
    let operation_name = match object.remove("operationName") {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        None | Some(Value::Null) | Some(Value::String(_)) => None,
        Some(_) => return Err(json!({"errors": {"operationName": "must be a string"}})),
    };
    Ok(GraphqlRequest {
        query,
        variables,
        operation_name,
    })
}

/// A TCP listener whose connections can be dropped by their handler.
pub(crate) struct SimListener {
    inner: TcpListener,
}

impl SimListener {
    pub(crate) fn new(inner: TcpListener) -> SimListener {
        SimListener { inner }
    }
}

impl axum::serve::Listener for SimListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        KillableStream {
                            inner: stream,
                            killed: Arc::new(AtomicBool::new(false)),
                        },
                        addr,
                    );
                }
                // Per-connection errors (reset before accept, …) do not stop the listener;
                // resource exhaustion (EMFILE) gets a pause, as axum's own listener does.
                Err(e) => {
                    tracing::debug!(error = %e, "simulator: accept failed");
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionRefused
                    ) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream with a kill switch: once killed, writes fail and reads end, so hyper drops the
/// connection without sending anything more.
pub(crate) struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection dropped by fault injection",
            )));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The kill switch of the connection a request came on (axum `ConnectInfo`).
#[derive(Clone)]
pub(crate) struct ConnKill(Arc<AtomicBool>);

impl ConnKill {
    fn kill(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Connected<axum::serve::IncomingStream<'_, SimListener>> for ConnKill {
    fn connect_info(stream: axum::serve::IncomingStream<'_, SimListener>) -> Self {
        ConnKill(stream.io().killed.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        h
    }

    #[test]
    fn bodies_are_read_like_shopify_reads_them() {
        let json = headers("application/json");
        let r = parse_body(
            &json,
            br#"{"query":"{ shop { name } }","variables":"{\"a\":1}","operationName":""}"#,
        )
        .unwrap();
        assert_eq!(r.variables["a"], 1);
        assert_eq!(r.operation_name, None);
        assert!(parse_body(&json, b"{").is_err());
        assert_eq!(
            parse_body(&json, br#"{"variables":{}}"#).unwrap_err(),
            json!({"errors": {"query": "Required parameter missing or invalid"}})
        );
        assert!(parse_body(&json, br#"{"query":"x","variables":[1]}"#).is_err());
        let raw = parse_body(&headers("application/graphql"), b"{ shop { name } }").unwrap();
        assert_eq!(raw.query, "{ shop { name } }");
    }
}
