//! `POST /api/v1/inventory`: stock feeds from the back office.
//!
//! ```json
//! {"source": "wms-eu", "mode": "delta" | "snapshot",
//!  "levels": [{"sku": "A-1", "location": "Main", "available": 12, "as_of": "2026-11-27T10:00:00Z"}]}
//! ```
//!
//! - Bearer token from `[server] api_tokens` (constant-time comparison); none configured
//!   means the API is closed.
//! - The body is parsed as it streams in: a blocking task reads the frames through a small
//!   channel and validates each level as it passes, keeping only the compact levels, never the
//!   whole body or a JSON tree of it. Up to `max_levels` levels per request.
//! - Every bad entry is reported (`levels[17].available: …`, up to [`MAX_REPORTED`] of them,
//!   then a count), with a 400, and nothing is stored. `mode` defaults to `delta`, `as_of` to
//!   the time of receipt.
//! - A valid feed is stored (fsync'd) as items of up to 1,000 levels each before the 202.
//! - Every request lands in exactly one outcome counter of
//!   `xconnector_api_requests_total{endpoint="inventory"}`; a refused token is logged at `warn`
//!   without any part of the `Authorization` header.

use std::fmt::Write;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::{error, info, warn};
use xconnector_actors::flows::inventory::feed::{
    CHUNK_LEVELS, Chunk, FLOW, KIND_LEVELS, Level, Mode,
};
use xconnector_actors::item::{ItemId, ItemState, Millis, NewItem, now_ms};
use xconnector_actors::signature::Fingerprinter;
use xconnector_actors::store::StoreHandle;

/// Bad entries named in one 400; the rest are counted.
pub const MAX_REPORTED: usize = 1000;
/// The largest body accepted: generous for 100,000 levels with long SKUs and names.
pub const MAX_BODY: usize = 64 << 20;

/// How much of a request without a valid token is read (and dropped) before the 401.
const DRAIN_UNAUTHORIZED: usize = 1 << 20;

/// What the endpoint needs.
pub struct InventoryIntake {
    tokens: Vec<String>,
    store: StoreHandle,
    max_levels: usize,
    /// False while starting or shutting down: new feeds are refused with a 503.
    ready: Arc<AtomicBool>,
    pub stats: ApiStats,
}

/// Counters for `/metrics`; every request lands in exactly one of them.
#[derive(Default)]
pub struct ApiStats {
    /// 202: stored.
    pub accepted: AtomicU64,
    /// 401: no `Authorization: Bearer` header, or a token not in `[server] api_tokens`.
    pub rejected_token: AtomicU64,
    /// 400: an invalid feed, or a body that could not be read.
    pub bad_request: AtomicU64,
    /// 413: a body over [`MAX_BODY`].
    pub too_large: AtomicU64,
    /// 503: starting, shutting down, or the store could not take the feed.
    pub unavailable: AtomicU64,
    /// 500: the parser itself failed (a bug, never the client's doing).
    pub internal_error: AtomicU64,
    /// 202 again for a repeated `Idempotency-Key` with the same feed: nothing new stored.
    pub replayed: AtomicU64,
    /// 409: an `Idempotency-Key` already used for a different feed.
    pub conflict: AtomicU64,
}

impl ApiStats {
    /// Prometheus lines for the request counters.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP xconnector_api_requests_total Requests to the inbound back-office API by endpoint and outcome.\n# TYPE xconnector_api_requests_total counter"
        );
        for (outcome, n) in [
            ("accepted", &self.accepted),
            ("rejected_token", &self.rejected_token),
            ("bad_request", &self.bad_request),
            ("too_large", &self.too_large),
            ("unavailable", &self.unavailable),
            ("internal_error", &self.internal_error),
            ("replayed", &self.replayed),
            ("conflict", &self.conflict),
        ] {
            let _ = writeln!(
                out,
                "xconnector_api_requests_total{{endpoint=\"inventory\",outcome=\"{outcome}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
    }
}

/// Why a request was refused before its body was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Missing,
    NotBearer,
    UnknownToken,
}

impl Refusal {
    /// What the log says. Deliberately never the header's value, nor its first word: a client
    /// that sends its token without the `Bearer ` scheme would otherwise have it logged.
    fn as_str(self) -> &'static str {
        match self {
            Refusal::Missing => "no Authorization header",
            Refusal::NotBearer => "the Authorization header is not a Bearer token",
            Refusal::UnknownToken => "the bearer token is not one of [server] api_tokens",
        }
    }
}

impl InventoryIntake {
    pub fn new(
        tokens: Vec<String>,
        store: StoreHandle,
        max_levels: usize,
        ready: Arc<AtomicBool>,
    ) -> InventoryIntake {
        InventoryIntake {
            tokens: tokens.into_iter().filter(|t| !t.is_empty()).collect(),
            store,
            max_levels,
            ready,
            stats: ApiStats::default(),
        }
    }

    /// Prometheus lines for the request counters (`xconnector_api_requests_total`).
    pub fn render_metrics(&self, out: &mut String) {
        self.stats.render(out);
    }
}

/// Whether `headers` carry `Authorization: Bearer T` with `T` one of `tokens`.
fn authorize(tokens: &[String], headers: &HeaderMap) -> Result<(), Refusal> {
    let value = headers.get(header::AUTHORIZATION).ok_or(Refusal::Missing)?;
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let given = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(Refusal::NotBearer)?;
    // Check every token, each in constant time, so timing reveals neither which nor how much.
    let known = tokens.iter().fold(false, |ok, t| {
        ok | xconnector_actors::signature::same_secret(t, given)
    });
    if known {
        Ok(())
    } else {
        Err(Refusal::UnknownToken)
    }
}

pub fn router(intake: Arc<InventoryIntake>) -> Router {
    Router::new()
        .route(
            "/api/v1/inventory",
            // The parser enforces its own limit while streaming.
            post(receive).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/requests/{id}", get(request_status))
        .with_state(intake)
}

/// 401, for every route behind the bearer tokens.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({"error": "a valid bearer token from [server] api_tokens is required"})),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

async fn receive(
    State(intake): State<Arc<InventoryIntake>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (counter, response) = handle(&intake, &headers, body).await;
    counter(&intake.stats).fetch_add(1, Ordering::Relaxed);
    response
}

/// The outcome's counter, and the answer.
type Answer = (fn(&ApiStats) -> &AtomicU64, Response);

async fn handle(intake: &InventoryIntake, headers: &HeaderMap, body: Body) -> Answer {
    if !intake.ready.load(Ordering::SeqCst) {
        return (
            |s| &s.unavailable,
            error(StatusCode::SERVICE_UNAVAILABLE, "shutting down; retry"),
        );
    }
    if let Err(refusal) = authorize(&intake.tokens, headers) {
        warn!(
            reason = refusal.as_str(),
            "inventory feed refused: a valid bearer token is required"
        );
        // A client still sending would get a reset connection instead of the 401 if the
        // socket closed with its body unread; a stranger gets no more than this read for free.
        let mut rest = body.into_data_stream();
        let mut drained = 0;
        while drained < DRAIN_UNAUTHORIZED {
            match rest.next().await {
                Some(Ok(bytes)) => drained += bytes.len(),
                _ => break,
            }
        }
        return (|s| &s.rejected_token, unauthorized());
    }
    let received_at = now_ms() as i64;
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let max_levels = intake.max_levels;
    let parser = tokio::task::spawn_blocking(move || {
        parse_feed(ChannelReader::new(rx), max_levels, received_at)
    });
    let key = idempotency_key(headers);
    let mut stream = body.into_data_stream();
    // The body as sent is what a repeated Idempotency-Key must match (hashed only then).
    let mut body_print = matches!(key, Ok(Some(_))).then(Fingerprinter::default);
    let mut size = 0usize;
    let mut too_big = false;
    let mut broken = None;
    let mut parser_done = false;
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(bytes) => {
                size += bytes.len();
                if let Some(print) = &mut body_print {
                    print.update(&bytes);
                }
                if size > MAX_BODY {
                    too_big = true;
                    break;
                }
                // Once the parser has stopped early (a fatal error) the rest is read and
                // dropped, so the client gets the 400 rather than a reset connection.
                if !parser_done && tx.send(bytes).await.is_err() {
                    parser_done = true;
                }
            }
            Err(e) => {
                broken = Some(e.to_string());
                break;
            }
        }
    }
    drop(tx);
    let parsed = parser.await;
    if too_big {
        warn!(limit = MAX_BODY, "inventory feed body too large; refused");
        return (
            |s| &s.too_large,
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is larger than {MAX_BODY} bytes"),
            ),
        );
    }
    if let Some(e) = broken {
        warn!(error = %e, "inventory feed body could not be read; refused");
        return (
            |s| &s.bad_request,
            error(
                StatusCode::BAD_REQUEST,
                &format!("the body could not be read: {e}"),
            ),
        );
    }
    let feed = match parsed {
        Ok(Ok(feed)) => feed,
        Ok(Err(report)) => {
            warn!(errors = report.count, "inventory feed refused");
            return (
                |s| &s.bad_request,
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({
                        "error": "invalid inventory feed; nothing was stored",
                        "error_count": report.count,
                        "errors": report.errors,
                    })),
                )
                    .into_response(),
            );
        }
        Err(e) => {
            error!(error = %e, "the inventory feed parser failed");
            return (
                |s| &s.internal_error,
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("the feed parser failed: {e}"),
                ),
            );
        }
    };
    let key = match key {
        Ok(key) => key.zip(body_print.map(Fingerprinter::finish)),
        Err(message) => return (|s| &s.bad_request, error(StatusCode::BAD_REQUEST, &message)),
    };
    if let Some((key, fingerprint)) = &key {
        match remembered(&intake.store, &feed.source, key).await {
            Ok(Some(first)) if first.fingerprint == *fingerprint => {
                info!(source = %feed.source, "inventory feed repeated under its Idempotency-Key; answered as the first time");
                return (
                    |s| &s.replayed,
                    (StatusCode::ACCEPTED, axum::Json(first.answer)).into_response(),
                );
            }
            Ok(Some(_)) => {
                warn!(source = %feed.source, "Idempotency-Key reused for a different feed; refused");
                return (
                    |s| &s.conflict,
                    error(
                        StatusCode::CONFLICT,
                        "this Idempotency-Key was already used for a different feed; nothing was stored",
                    ),
                );
            }
            Ok(None) => {}
            Err(e) => {
                return (
                    |s| &s.unavailable,
                    error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &format!("the feed could not be stored; retry: {e}"),
                    ),
                );
            }
        }
    }
    let request = Request {
        id: &format!("{received_at}-{:08x}", fastrand::u32(..)),
        key: key.as_ref().map(|(k, f)| (k.as_str(), f.as_str())),
    };
    match store_request(&intake.store, feed, &request).await {
        Ok(accepted) => (
            |s| &s.accepted,
            (StatusCode::ACCEPTED, axum::Json(accepted)).into_response(),
        ),
        Err(e) => {
            error!(error = %e, "cannot store an inventory feed; the sender should retry");
            (
                |s| &s.unavailable,
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("the feed could not be stored; retry: {e}"),
                ),
            )
        }
    }
}

/// A validated feed.
#[derive(Debug)]
pub struct Feed {
    pub source: String,
    pub mode: Mode,
    /// The levels in chunks of at most [`CHUNK_LEVELS`].
    pub chunks: Vec<Vec<Level>>,
}

impl Feed {
    pub fn levels(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }
}

/// Every problem found, the first [`MAX_REPORTED`] of them named.
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<String>,
    pub count: usize,
}

impl Report {
    pub fn push(&mut self, message: String) {
        self.count += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(message);
        }
    }
}

/// The store namespace of requests: `id:{request id}` → the items it became, and
/// `key:{source}\n{Idempotency-Key}` → the fingerprint of the first body sent with the key and
/// what it was answered. One namespace, so that both are one durable write.
const NS_REQUESTS: &str = "requests";
/// Longest `Idempotency-Key` accepted.
const MAX_KEY: usize = 200;

/// One accepted request, as it is stored.
struct Request<'a> {
    /// Also the feed id in its items.
    id: &'a str,
    /// The `Idempotency-Key` and the fingerprint of the body sent with it.
    key: Option<(&'a str, &'a str)>,
}

#[derive(Serialize, Deserialize)]
struct Remembered {
    fingerprint: String,
    answer: Value,
}

#[derive(Serialize, Deserialize)]
struct RequestRecord {
    source: String,
    received_at: Millis,
    items: Vec<u64>,
}

/// The `Idempotency-Key` header: absent, or 1 to 200 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str().map(str::trim) {
        Ok(key)
            if !key.is_empty()
                && key.len() <= MAX_KEY
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key.to_string()))
        }
        _ => Err(format!(
            "Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters"
        )),
    }
}

fn key_of(source: &str, key: &str) -> String {
    format!("key:{source}\n{key}")
}

fn id_of(request: &str) -> String {
    format!("id:{request}")
}

async fn remembered(
    store: &StoreHandle,
    source: &str,
    key: &str,
) -> Result<Option<Remembered>, xconnector_actors::store::StoreError> {
    let raw = store
        .mappings(NS_REQUESTS, vec![key_of(source, key)])
        .await?
        .into_iter()
        .next()
        .flatten();
    Ok(raw.and_then(|r| serde_json::from_slice(&r).ok()))
}

/// Stores a feed as items, one per chunk, in one durable write; what the 202 says.
pub async fn store_feed(store: &StoreHandle, feed: Feed, feed_id: &str) -> anyhow::Result<Value> {
    let request = Request {
        id: feed_id,
        key: None,
    };
    store_request(store, feed, &request).await
}

/// [`store_feed`] for a request: with an idempotency key, the items carry it as their dedupe
/// key (two requests racing with one key store one set of items), and the answer is kept for
/// the next time the key comes. The request's items are kept under its id for
/// `GET /api/v1/requests/{id}`.
async fn store_request(
    store: &StoreHandle,
    feed: Feed,
    request: &Request<'_>,
) -> anyhow::Result<Value> {
    let feed_id = request.id;
    let levels = feed.levels();
    let items: Vec<NewItem> = feed
        .chunks
        .into_iter()
        .enumerate()
        .map(|(i, levels)| {
            let chunk = Chunk {
                source: feed.source.clone(),
                mode: feed.mode,
                feed: feed_id.to_string(),
                levels,
            };
            let item = NewItem::new(
                FLOW,
                KIND_LEVELS,
                format!("{}/{feed_id}#{i}", feed.source),
                chunk.encode(),
            );
            match request.key {
                Some((key, _)) => item.dedupe(format!("request:{}#{i}", key_of(&feed.source, key))),
                None => item,
            }
        })
        .collect();
    let chunks = items.len();
    let stored = if items.is_empty() {
        Vec::new()
    } else {
        store.enqueue(items).await?
    };
    info!(source = %feed.source, mode = feed.mode.as_str(), feed = feed_id, levels, chunks, "inventory feed accepted");
    let ids: Vec<u64> = stored.iter().map(|e| e.id.0).collect();
    let answer = json!({
        "request_id": feed_id,
        "accepted": levels,
        "feed": feed_id,
        "source": feed.source,
        "mode": feed.mode.as_str(),
        "levels": levels,
        "items": ids,
    });
    let record = RequestRecord {
        source: feed.source.clone(),
        received_at: now_ms(),
        items: ids,
    };
    let mut pairs = vec![(id_of(feed_id), serde_json::to_vec(&record)?)];
    if let Some((key, fingerprint)) = request.key {
        let first = Remembered {
            fingerprint: fingerprint.to_string(),
            answer: answer.clone(),
        };
        pairs.push((key_of(&feed.source, key), serde_json::to_vec(&first)?));
    }
    store.set_mappings(NS_REQUESTS, pairs).await?;
    Ok(answer)
}

/// `GET /api/v1/requests/{id}`: what became of each item a request was stored as.
async fn request_status(
    State(intake): State<Arc<InventoryIntake>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if authorize(&intake.tokens, &headers).is_err() {
        return unauthorized();
    }
    let unavailable = |e: &dyn std::fmt::Display| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the store cannot answer now; retry: {e}"),
        )
    };
    let raw = match intake.store.mappings(NS_REQUESTS, vec![id_of(&id)]).await {
        Ok(raw) => raw.into_iter().next().flatten(),
        Err(e) => return unavailable(&e),
    };
    let Some(record) = raw.and_then(|r| serde_json::from_slice::<RequestRecord>(&r).ok()) else {
        return error(StatusCode::NOT_FOUND, &format!("no request {id:?}"));
    };
    let mut items = Vec::new();
    let mut summary = std::collections::BTreeMap::<String, u64>::new();
    for item in record.items {
        match intake.store.get(ItemId(item)).await {
            Ok(Some((found, _))) => {
                let state = match found.state {
                    ItemState::Done | ItemState::Resolved => "applied",
                    other => other.as_str(),
                };
                *summary.entry(state.to_string()).or_default() += 1;
                items.push(json!({"id": item, "state": state, "reason": found.last_error}));
            }
            Ok(None) => items.push(json!({"id": item, "state": "unknown"})),
            Err(e) => return unavailable(&e),
        }
    }
    axum::Json(json!({
        "request_id": id,
        "source": record.source,
        "received_at": record.received_at,
        "items": items,
        "summary": summary,
    }))
    .into_response()
}

/// Reads the frames the async side forwards.
struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl ChannelReader {
    fn new(rx: mpsc::Receiver<Bytes>) -> ChannelReader {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(bytes) => self.current = bytes,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Parses and validates a feed from `reader`. `received_at` (ms) is the `as_of` of levels
/// without one.
pub fn parse_feed(reader: impl Read, max_levels: usize, received_at: i64) -> Result<Feed, Report> {
    let mut report = Report::default();
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let mut state = FeedState {
        report: &mut report,
        source: None,
        mode: None,
        chunks: Vec::new(),
        levels_seen: false,
        max_levels,
        received_at,
    };
    let parsed = FeedSeed(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    let FeedState {
        source,
        mode,
        chunks,
        levels_seen,
        ..
    } = state;
    if let Err(e) = parsed {
        if !e.is_data() || report.count == 0 {
            report.push(format!("the body is not a valid feed: {e}"));
        }
        return Err(report);
    }
    let source = match source {
        Some(s) => Some(s),
        None => {
            report.push("source: required (the name of the sending system)".into());
            None
        }
    };
    if !levels_seen {
        report.push("levels: required (a list of {sku, location, available, as_of})".into());
    }
    match (source, report.count) {
        (Some(source), 0) => Ok(Feed {
            source,
            mode: mode.unwrap_or(Mode::Delta),
            chunks,
        }),
        _ => Err(report),
    }
}

struct FeedState<'r> {
    report: &'r mut Report,
    source: Option<String>,
    mode: Option<Mode>,
    chunks: Vec<Vec<Level>>,
    levels_seen: bool,
    max_levels: usize,
    received_at: i64,
}

struct FeedSeed<'a, 'r>(&'a mut FeedState<'r>);

impl<'de> DeserializeSeed<'de> for FeedSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FeedSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object with source, mode and levels")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "source" => match map.next_value::<Value>()? {
                    Value::String(s) if !s.trim().is_empty() && s.len() <= 200 => {
                        st.source = Some(s)
                    }
                    other => st.report.push(format!(
                        "source: expected a non-empty string of at most 200 characters, found {}",
                        describe(&other)
                    )),
                },
                "mode" => match map.next_value::<Value>()? {
                    Value::String(s) if s == "delta" => st.mode = Some(Mode::Delta),
                    Value::String(s) if s == "snapshot" => st.mode = Some(Mode::Snapshot),
                    other => st.report.push(format!(
                        "mode: expected \"delta\" or \"snapshot\", found {}",
                        describe(&other)
                    )),
                },
                "levels" => {
                    st.levels_seen = true;
                    map.next_value_seed(LevelsSeed(&mut *st))?;
                }
                other => {
                    map.next_value::<IgnoredAny>()?;
                    st.report.push(format!(
                        "{other}: unknown field; expected source, mode, levels"
                    ));
                }
            }
        }
        Ok(())
    }
}

struct LevelsSeed<'a, 'r>(&'a mut FeedState<'r>);

impl<'de> DeserializeSeed<'de> for LevelsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LevelsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of levels")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.0;
        let mut index = 0usize;
        let mut current: Vec<Level> = Vec::new();
        while let Some(value) = seq.next_element::<Value>()? {
            if index == st.max_levels {
                st.report.push(format!(
                    "levels: more than {} levels; split the feed",
                    st.max_levels
                ));
            }
            if index < st.max_levels
                && let Some(level) = check_level(index, value, st.received_at, st.report)
                // Once anything is wrong nothing is stored: stop keeping levels.
                && st.report.count == 0
            {
                current.push(level);
                if current.len() == CHUNK_LEVELS {
                    st.chunks.push(std::mem::take(&mut current));
                }
            }
            index += 1;
        }
        if !current.is_empty() && st.report.count == 0 {
            st.chunks.push(current);
        }
        if st.report.count > 0 {
            st.chunks.clear();
        }
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0
            .report
            .push("levels: expected a list, found null".into());
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.0
            .report
            .push("levels: expected a list, found an object".into());
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.0
            .report
            .push("levels: expected a list, found a string".into());
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.0
            .report
            .push("levels: expected a list, found a boolean".into());
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.0
            .report
            .push("levels: expected a list, found a number".into());
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.visit_i64(0)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.visit_i64(0)
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a long string".into(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Validates one level; every problem goes to `report` under `levels[i]`.
pub fn check_level(i: usize, value: Value, received_at: i64, report: &mut Report) -> Option<Level> {
    let at = |field: &str| format!("levels[{i}].{field}");
    let Value::Object(fields) = value else {
        report.push(format!(
            "levels[{i}]: expected an object with sku, location, available, as_of; found {}",
            describe(&value)
        ));
        return None;
    };
    let before = report.count;
    for key in fields.keys() {
        if !matches!(key.as_str(), "sku" | "location" | "available" | "as_of") {
            report.push(format!(
                "{}: unknown field; expected sku, location, available, as_of",
                at(key)
            ));
        }
    }
    let text = |name: &str, report: &mut Report| match fields.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 255 => Some(s.clone()),
        None => {
            report.push(format!("{}: missing", at(name)));
            None
        }
        Some(other) => {
            report.push(format!(
                "{}: expected a non-empty string of at most 255 characters, found {}",
                at(name),
                describe(other)
            ));
            None
        }
    };
    let sku = text("sku", report);
    let location = text("location", report);
    let available = match fields.get("available") {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(q) if (0..=1_000_000_000).contains(&q) => Some(q),
            Some(q) if q < 0 => {
                report.push(format!(
                    "{}: must not be negative, found {q}",
                    at("available")
                ));
                None
            }
            _ if n.is_f64() => {
                report.push(format!(
                    "{}: must be a whole number, found {n}",
                    at("available")
                ));
                None
            }
            _ => {
                report.push(format!(
                    "{}: must be at most 1000000000, found {n}",
                    at("available")
                ));
                None
            }
        },
        None => {
            report.push(format!("{}: missing", at("available")));
            None
        }
        Some(other) => {
            report.push(format!(
                "{}: expected a whole number, found {}",
                at("available"),
                describe(other)
            ));
            None
        }
    };
    let as_of = match fields.get("as_of") {
        None | Some(Value::Null) => Some(received_at),
        Some(Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.timestamp_millis()),
            Err(_) => {
                report.push(format!(
                    "{}: expected an RFC 3339 time such as 2026-11-27T10:00:00Z, found {}",
                    at("as_of"),
                    describe(&Value::String(s.clone()))
                ));
                None
            }
        },
        Some(other) => {
            report.push(format!(
                "{}: expected an RFC 3339 time, found {}",
                at("as_of"),
                describe(other)
            ));
            None
        }
    };
    if report.count > before {
        return None;
    }
    Some(Level {
        sku: sku?,
        location: location?,
        available: available?,
        as_of: as_of?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Feed, Report> {
        parse_feed(text.as_bytes(), 100_000, 7)
    }

    #[test]
    fn a_valid_feed_in_chunks() {
        let levels: Vec<String> = (0..2500)
            .map(|i| format!(r#"{{"sku":"S{i}","location":"Main","available":{i}}}"#))
            .collect();
        let text = format!(
            r#"{{"levels":[{}],"source":"wms","mode":"snapshot"}}"#,
            levels.join(",")
        );
        let feed = parse(&text).unwrap();
        assert_eq!(feed.source, "wms");
        assert_eq!(feed.mode, Mode::Snapshot);
        assert_eq!(
            feed.chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        assert_eq!(feed.chunks[2][499].available, 2499);
        assert_eq!(feed.chunks[0][0].as_of, 7);
    }

    #[test]
    fn names_every_bad_entry() {
        let text = r#"{"source":"wms","mode":"sometimes","extra":1,"levels":[
            {"sku":"A","location":"Main","available":1,"as_of":"2026-11-27T10:00:00+01:00"},
            {"location":"Main","available":-3},
            {"sku":"B","location":"Main","available":1.5,"colour":"red"},
            {"sku":"C","location":"","available":"7","as_of":"yesterday"},
            42
        ]}"#;
        let report = parse(text).unwrap_err();
        let all = report.errors.join("\n");
        for needle in [
            "mode: expected \"delta\" or \"snapshot\"",
            "extra: unknown field",
            "levels[1].sku: missing",
            "levels[1].available: must not be negative, found -3",
            "levels[2].available: must be a whole number, found 1.5",
            "levels[2].colour: unknown field",
            "levels[3].location: expected a non-empty string",
            "levels[3].available: expected a whole number, found \"7\"",
            "levels[3].as_of: expected an RFC 3339 time",
            "levels[4]: expected an object",
        ] {
            assert!(all.contains(needle), "{needle:?} missing from:\n{all}");
        }
        assert_eq!(report.count, report.errors.len());
        assert!(!all.contains("levels[0]"), "{all}");
    }

    #[test]
    fn refuses_broken_json_missing_parts_and_too_many_levels() {
        let r = parse(r#"{"source":"wms","levels":[{"sku":"A""#).unwrap_err();
        assert!(
            r.errors[0].starts_with("the body is not a valid feed"),
            "{r:?}"
        );
        let r = parse(r#"{"mode":"delta"}"#).unwrap_err();
        assert_eq!(r.count, 2, "{r:?}");
        let r = parse(r#"{"source":"wms","levels":{}}"#).unwrap_err();
        assert_eq!(r.errors, ["levels: expected a list, found an object"]);
        let r = parse_feed(
            br#"{"source":"w","levels":[{"sku":"A","location":"M","available":1},{"sku":"B","location":"M","available":1}]}"#
                .as_slice(),
            1,
            0,
        )
        .unwrap_err();
        assert_eq!(r.errors, ["levels: more than 1 levels; split the feed"]);
        let r = parse(r#"{"source":"wms","levels":[]} trailing"#).unwrap_err();
        assert!(r.errors[0].contains("trailing"), "{r:?}");
    }

    #[test]
    fn refused_tokens_are_told_apart_without_their_value() {
        let headers = |v: Option<&[u8]>| {
            let mut h = HeaderMap::new();
            if let Some(v) = v {
                h.insert(
                    header::AUTHORIZATION,
                    axum::http::HeaderValue::from_bytes(v).unwrap(),
                );
            }
            h
        };
        let check = |tokens: &[&str], h: &HeaderMap| {
            authorize(&tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>(), h)
        };
        let tokens = ["tok-a", "tok-b"];
        assert_eq!(check(&tokens, &headers(Some(b"Bearer tok-a"))), Ok(()));
        assert_eq!(check(&tokens, &headers(Some(b"Bearer tok-b"))), Ok(()));
        // The scheme is case-insensitive.
        assert_eq!(check(&tokens, &headers(Some(b"bearer tok-a"))), Ok(()));
        assert_eq!(check(&tokens, &headers(None)), Err(Refusal::Missing));
        for bad in [&b"tok-a"[..], b"Basic tok-a", b"Bearer\xfftok-a"] {
            assert_eq!(check(&tokens, &headers(Some(bad))), Err(Refusal::NotBearer));
        }
        for bad in [
            &b"Bearer tok-"[..],
            b"Bearer tok-ab",
            b"Bearer ",
            b"Bearer tok-c",
        ] {
            assert_eq!(
                check(&tokens, &headers(Some(bad))),
                Err(Refusal::UnknownToken)
            );
        }
        // No tokens configured: the API is closed.
        assert_eq!(
            check(&[], &headers(Some(b"Bearer "))),
            Err(Refusal::UnknownToken)
        );
    }

    #[test]
    fn every_outcome_is_rendered_for_prometheus() {
        let stats = ApiStats::default();
        stats.accepted.fetch_add(2, Ordering::Relaxed);
        stats.rejected_token.fetch_add(1, Ordering::Relaxed);
        let mut text = String::new();
        stats.render(&mut text);
        assert!(
            text.starts_with("# HELP xconnector_api_requests_total "),
            "{text}"
        );
        assert!(
            text.contains("\n# TYPE xconnector_api_requests_total counter\n"),
            "{text}"
        );
        for (outcome, n) in [
            ("accepted", 2),
            ("rejected_token", 1),
            ("bad_request", 0),
            ("too_large", 0),
            ("unavailable", 0),
            ("internal_error", 0),
            ("replayed", 0),
            ("conflict", 0),
        ] {
            let line = format!(
                "xconnector_api_requests_total{{endpoint=\"inventory\",outcome=\"{outcome}\"}} {n}\n"
            );
            assert!(text.contains(&line), "{line:?} missing from:\n{text}");
        }
        assert_eq!(text.lines().count(), 10, "{text}");
    }

    #[test]
    fn bearer_tokens_compare_exactly() {
        use xconnector_actors::signature::same_secret;
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("abc", ""));
    }
}
