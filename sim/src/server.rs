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
//! Beside the API, the simulator plays two storage buckets, without access token (Shopify's
//! URLs are signed instead) and without faults: `GET /bulk/{id}.jsonl` serves bulk operation
//! results, `POST /staged-uploads` takes the multipart form of a staged upload as Google Cloud
//! Storage does (`GET /staged-uploads/{key}` reads a file back).
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
use axum::extract::DefaultBodyLimit;
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
use super::multipart;
use crate::bulk::STAGED_UPLOAD_LIMIT;
use crate::schema::VERSION;

/// The body Shopify sends with a 401.
pub const UNAUTHORIZED_BODY: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";

/// The router over the shared state.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/admin/api/{version}/graphql.json", post(graphql))
        .route("/bulk/{file}", axum::routing::get(bulk_result))
        .route(
            "/staged-uploads",
            post(staged_upload).layer(DefaultBodyLimit::max(
                STAGED_UPLOAD_LIMIT + FORM_OVERHEAD_LIMIT,
            )),
        )
        .route("/staged-uploads/{*key}", axum::routing::get(staged_file))
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

/// Room for the form's fields and part headers beside the file itself.
const FORM_OVERHEAD_LIMIT: usize = 1024 * 1024;

/// What a stored upload answers with.
struct Stored {
    key: String,
    etag: String,
    /// The form's `success_action_status`.
    status: Option<String>,
}

/// A staged upload, as GCS takes a POST policy form: the `key` field names the object, the
/// `file` part is its content. With `success_action_status` 201 the answer is a
/// `<PostResponse>`, with 200 an empty 200, otherwise an empty 204. A form without `key` or
/// `file`, or not a form at all, is a 400 with a GCS `<Error>`. The policy and signature are
/// not checked.
async fn staged_upload(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Reading up to 100 MiB of form is CPU work: off the async workers.
    let worker_state = state.clone();
    let stored =
        tokio::task::spawn_blocking(move || store_upload(&worker_state.shop, &content_type, &body))
            .await;
    let stored = match stored {
        Ok(Ok(stored)) => stored,
        Ok(Err((code, message))) => return xml_error(StatusCode::BAD_REQUEST, code, &message),
        Err(e) => {
            tracing::error!(error = %e, "simulator: storing a staged upload panicked");
            return xml_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            );
        }
    };
    let location = state
        .shop
        .with(|shop| shop.bulk.staged_upload_url())
        .map(|url| format!("{url}/{}", stored.key))
        .unwrap_or_default();
    let mut response = match stored.status.as_deref() {
        Some("201") => (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/xml; charset=UTF-8")],
            format!(
                "<?xml version='1.0' encoding='UTF-8'?><PostResponse><Location>{}</Location>\
                 <Bucket>shopify-staged-uploads</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
                xml_escape(&location),
                xml_escape(&stored.key),
                xml_escape(&stored.etag)
            ),
        )
            .into_response(),
        Some("200") => StatusCode::OK.into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&stored.etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// Read the form and keep its file in the shop; `Err` is a GCS error code and message.
fn store_upload(
    shop: &super::ShopHandle,
    content_type: &str,
    body: &[u8],
) -> Result<Stored, (&'static str, String)> {
    let invalid = |message: String| ("InvalidArgument", message);
    let boundary = multipart::boundary(content_type).ok_or_else(|| {
        invalid(format!(
            "POST requires a multipart/form-data body with a boundary, not '{content_type}'."
        ))
    })?;
    let parts = multipart::parse(body, &boundary)
        .map_err(|e| invalid(format!("Cannot read the multipart form: {e}.")))?;
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .and_then(|p| std::str::from_utf8(p.body).ok())
            .map(str::to_string)
    };
    let key = field("key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| invalid("Bucket POST must contain a field named 'key'.".into()))?;
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .ok_or_else(|| invalid("Bucket POST must contain a file field named 'file'.".into()))?;
    if file.body.len() > STAGED_UPLOAD_LIMIT {
        return Err((
            "EntityTooLarge",
            format!(
                "Your proposed upload is larger than the maximum object size specified in your Policy Document ({STAGED_UPLOAD_LIMIT} bytes)."
            ),
        ));
    }
    let etag = format!("\"{:016x}\"", fnv1a(file.body));
    let bytes = file.body.to_vec();
    shop.with(|shop| shop.bulk.staged.insert(key.clone(), bytes));
    Ok(Stored {
        key,
        etag,
        status: field("success_action_status"),
    })
}

/// A staged file read back, as the bucket would serve it to a signed GET.
async fn staged_file(State(state): State<Arc<SimState>>, Path(key): Path<String>) -> Response {
    match state.shop.with(|shop| shop.bulk.staged.get(&key).cloned()) {
        Some(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            bytes,
        )
            .into_response(),
        None => xml_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
    }
}

/// GCS's error body.
fn xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/xml; charset=UTF-8")],
        format!(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{}</Code><Message>{}</Message></Error>",
            xml_escape(code),
            xml_escape(message)
        ),
    )
        .into_response()
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An ETag: any stable digest of the content does (GCS uses MD5, not worth a dependency).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
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

    mod staged {
        use serde_json::{Value, json};
        use xconnector_actors::shopify::operations::Operation;
        use xconnector_actors::shopify::operations::products::ProductSet;

        use crate::shop::topics;
        use crate::{SimConfig, Simulator};

        fn client() -> reqwest::Client {
            xconnector_actors::http_client::builder().build().unwrap()
        }

        async fn graphql(sim: &Simulator, query: &str, variables: Value) -> Value {
            client()
                .post(sim.graphql_url())
                .header("x-shopify-access-token", "sim-token")
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        }

        /// The form's url and fields, in order.
        async fn target(sim: &Simulator) -> (String, Vec<(String, String)>) {
            let body = graphql(
                sim,
                "mutation S($input: [StagedUploadInput!]!) { stagedUploadsCreate(input: $input) {
                    stagedTargets { url resourceUrl parameters { name value } }
                    userErrors { field message } } }",
                json!({"input": [{"resource": "BULK_MUTATION_VARIABLES", "filename": "bulk_op_vars.jsonl",
                    "mimeType": "text/jsonl", "httpMethod": "POST"}]}),
            )
            .await;
            let target = &body["data"]["stagedUploadsCreate"]["stagedTargets"][0];
            let params = target["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        p["value"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (target["url"].as_str().unwrap().to_string(), params)
        }

        /// A multipart body as a browser would send it: the fields, then the file.
        fn form(boundary: &str, fields: &[(String, String)], file: Option<&[u8]>) -> Vec<u8> {
            let mut body = Vec::new();
            for (name, value) in fields {
                body.extend_from_slice(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                    )
                    .as_bytes(),
                );
            }
            if let Some(file) = file {
                body.extend_from_slice(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bulk_op_vars.jsonl\"\r\n\
                         Content-Type: text/jsonl\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(file);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            body
        }

        fn product_line(n: u32) -> String {
            json!({
                "identifier": {"handle": format!("staged-{n}")},
                "input": {"title": format!("Staged {n}"),
                    "productOptions": [{"name": "Size", "values": [{"name": "S"}]}],
                    "variants": [{"optionValues": [{"optionName": "Size", "name": "S"}],
                        "sku": format!("STAGED-{n}"), "price": "5.00"}]},
                "synchronous": true,
            })
            .to_string()
        }

        #[tokio::test]
        async fn a_bulk_mutation_runs_from_a_staged_upload_over_http() {
            let sim = Simulator::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            let mut events = sim.take_events().unwrap();
            let (url, fields) = target(&sim).await;
            assert_eq!(url, format!("{}/staged-uploads", sim.base_url()));
            let key = fields[0].1.clone();
            let file = (1..=3).map(|n| product_line(n) + "\n").collect::<String>();
            let http = client();
            let response = http
                .post(&url)
                .header("content-type", "multipart/form-data; boundary=----sim4f2a")
                .body(form("----sim4f2a", &fields, Some(file.as_bytes())))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/xml")
            );
            let xml = response.text().await.unwrap();
            assert!(xml.contains(&format!("<Key>{key}</Key>")), "{xml}");
            let stored = http
                .get(format!("{url}/{key}"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(stored, file.as_bytes());

            let body = graphql(
                &sim,
                "mutation R($m: String!, $p: String!) { bulkOperationRunMutation(mutation: $m, stagedUploadPath: $p) {
                    bulkOperation { id status } userErrors { field message code } } }",
                json!({"m": ProductSet::DOCUMENT, "p": key}),
            )
            .await;
            let payload = &body["data"]["bulkOperationRunMutation"];
            assert_eq!(payload["userErrors"], json!([]), "{body}");
            assert_eq!(body["extensions"]["cost"]["actualQueryCost"], 10);
            let op = graphql(
                &sim,
                "query B($id: ID!) { bulkOperation(id: $id) { status objectCount url } }",
                json!({"id": payload["bulkOperation"]["id"]}),
            )
            .await;
            let op = &op["data"]["bulkOperation"];
            assert_eq!(op["status"], "COMPLETED");
            assert_eq!(op["objectCount"], "3");
            let result = http
                .get(op["url"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let lines: Vec<Value> = result
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(lines.len(), 3);
            let mut ids = Vec::new();
            for (i, line) in lines.iter().enumerate() {
                assert_eq!(line["__lineNumber"], i);
                let gid = line["data"]["productSet"]["product"]["id"]
                    .as_str()
                    .unwrap();
                ids.push(crate::gid::parse_kind(gid, "Product").unwrap());
            }
            let created: Vec<u64> = std::iter::from_fn(|| events.try_recv().ok())
                .filter(|e| e.topic == topics::PRODUCTS_CREATE)
                .map(|e| e.resource_id)
                .collect();
            assert_eq!(created, ids);
            let stats = sim.stats();
            assert_eq!(stats.bulk_mutation_lines, 3);
            assert_eq!(stats.root_fields.get("productSet"), None);
            assert_eq!(stats.root_fields["bulkOperationRunMutation"], 1);
            sim.shutdown().await;
        }

        #[tokio::test]
        async fn reqwest_forms_are_stored_and_broken_forms_refused() {
            let sim = Simulator::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            let (url, fields) = target(&sim).await;
            let key = fields[0].1.clone();
            let http = client();
            let mut multipart = reqwest::multipart::Form::new();
            for (name, value) in fields.clone() {
                multipart = multipart.text(name, value);
            }
            let file = reqwest::multipart::Part::bytes(b"{\"a\": 1}\r\n".to_vec())
                .file_name("bulk_op_vars.jsonl")
                .mime_str("text/jsonl")
                .unwrap();
            let response = http
                .post(&url)
                .multipart(multipart.part("file", file))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            let stored = sim.shop().with(|s| s.bulk.staged.get(&key).cloned());
            assert_eq!(stored.as_deref(), Some(b"{\"a\": 1}\r\n".as_slice()));

            let without_key: Vec<_> = fields.iter().filter(|f| f.0 != "key").cloned().collect();
            for (content_type, body) in [
                (
                    "multipart/form-data; boundary=b",
                    form("b", &without_key, Some(b"{}")),
                ),
                ("multipart/form-data; boundary=b", form("b", &fields, None)),
                ("multipart/form-data; boundary=b", b"garbage".to_vec()),
                ("application/json", b"{}".to_vec()),
            ] {
                let response = http
                    .post(&url)
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 400);
                let xml = response.text().await.unwrap();
                assert!(xml.contains("<Code>InvalidArgument</Code>"), "{xml}");
            }
            sim.shutdown().await;
        }
    }
}
