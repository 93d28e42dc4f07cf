//! The `/v1` control API. Every answer is JSON; every error is `{"error": "…"}` with a 4xx or
//! 5xx status that says whose fault it is; every change is audited with the peer's OS user.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use xconnector_actors::flows::reporting::backfill::{Backfill, BackfillError, Progress};
use xconnector_actors::flows::reporting::customers::CustomersReport;
use xconnector_actors::flows::reporting::fulfilment::FulfilmentReport;
use xconnector_actors::flows::reporting::health::HealthReport;
use xconnector_actors::flows::reporting::inventory::InventoryReport;
use xconnector_actors::flows::reporting::live::Reporting;
use xconnector_actors::flows::reporting::report::SalesReport;
use xconnector_actors::flows::reporting::{self, By};
use xconnector_actors::item::{
    AuditEntry, HistoryEntry, Item, ItemId, ItemState, OperatorAction, now_ms,
};
use xconnector_actors::store::{
    BulkJob, Changes, ItemFilter, JobFilter, JobId, JobSpec, StoreError,
};
use xconnector_actors::{Engine, EngineError};

use super::Peer;

#[derive(Clone)]
pub struct ControlState {
    pub engine: Arc<Engine>,
    pub ready: Arc<AtomicBool>,
    /// Recent warnings and errors for operators.
    pub logs: crate::logging::RecentLogs,
    /// `[flows.reporting]`, when on: the flows count what reports read.
    pub reporting: Option<Arc<Reporting>>,
    /// What fills the rollups from Shopify's history, when reporting is on and Shopify is
    /// configured.
    pub backfill: Option<Arc<Backfill>>,
}

pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/items", get(list))
        .route("/v1/items/{id}", get(show))
        .route("/v1/items/{id}/{action}", post(act))
        .route("/v1/bulk/{action}", post(bulk))
        .route("/v1/jobs", get(jobs))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/jobs/{id}/cancel", post(cancel_job))
        .route("/v1/flows/{name}/{action}", post(flow_action))
        .route("/v1/store/prune", post(prune))
        .route("/v1/audit", get(audit))
        .route("/v1/reports/sales", get(sales_report))
        .route("/v1/reports/fulfilment", get(fulfilment_report))
        .route("/v1/reports/inventory", get(inventory_report))
        .route("/v1/reports/customers", get(customers_report))
        .route("/v1/reports/health", get(health_report))
        .route(
            "/v1/reports/backfill",
            get(backfill_progress).post(start_backfill),
        )
        .route("/v1/logs", get(logs))
        .route("/v1/events", get(events))
        .fallback(|| async {
            ApiError(
                StatusCode::NOT_FOUND,
                "no such endpoint; see /v1/status".into(),
            )
        })
        .with_state(state)
}

/// An error answer: the status and a sentence for the operator.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match e {
            StoreError::NotFound(_) | StoreError::JobNotFound(_) => StatusCode::NOT_FOUND,
            StoreError::InvalidAction { .. } | StoreError::JobOver { .. } => StatusCode::CONFLICT,
            StoreError::RetryOfFinished { id, .. } => {
                let how = insist(&id.to_string());
                return ApiError(StatusCode::CONFLICT, format!("{e}; {how}"));
            }
            StoreError::BadName(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError(status, e.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::UnknownFlow(_) => ApiError(StatusCode::NOT_FOUND, e.to_string()),
            _ => ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        ApiError(e.status(), format!("bad request body: {}", e.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("bad query: {}", e.body_text()),
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub ready: bool,
    pub flows: Vec<FlowRow>,
    /// Items per state over all flows.
    pub totals: BTreeMap<String, u64>,
    pub enqueue_rate: f64,
    pub restarts: BTreeMap<String, u64>,
    /// The Shopify rate budget, when a shop is configured.
    #[serde(default)]
    pub shopify: Option<xconnector_actors::rate_limiter::RateLimiterStats>,
    /// Each back-office endpoint's health and counters.
    #[serde(default)]
    pub endpoints: Vec<xconnector_actors::endpoints::EndpointStatus>,
    /// Set while the store cannot write: nothing new is accepted until it can.
    #[serde(default)]
    pub store_failing: Option<xconnector_actors::store::StoreFailure>,
    /// The store's size and what retention left in it.
    #[serde(default)]
    pub store: StoreRow,
    /// The newest bulk jobs (running or over), newest first.
    #[serde(default)]
    pub jobs: Vec<BulkJob>,
    /// Where the daemon's full log goes (a file, the journal), for the TUI's log pane.
    #[serde(default)]
    pub log_to: String,
}

/// Bulk jobs in the status: enough to show what runs and what just ended.
const STATUS_JOBS: usize = 5;

/// The store's footprint: its size on disk, the oldest item it keeps, what was retired.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoreRow {
    pub disk_bytes: u64,
    pub oldest_item: Option<xconnector_actors::item::Millis>,
    /// Items retired per flow, so far.
    pub retired: BTreeMap<String, u64>,
    pub last_prune: Option<xconnector_actors::store::LastPrune>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowRow {
    pub name: String,
    /// False for a flow that has items but is not running in this daemon.
    pub running: bool,
    pub paused: bool,
    pub in_flight: usize,
    pub capacity: usize,
    pub counts: BTreeMap<String, u64>,
    /// When the oldest item still waiting (pending or retrying) was accepted.
    #[serde(default)]
    pub oldest_waiting: Option<xconnector_actors::item::Millis>,
    /// Its finished items retired by retention, so far: what came in is `counts` plus these.
    #[serde(default)]
    pub retired: u64,
}

async fn status(State(st): State<ControlState>) -> Result<Json<Status>, ApiError> {
    Ok(Json(build_status(&st).await?))
}

pub async fn build_status(st: &ControlState) -> Result<Status, ApiError> {
    let snapshot = st.engine.snapshot().await?;
    let running = st.engine.flows().await?;
    let mut rows: BTreeMap<String, FlowRow> = BTreeMap::new();
    for name in &running {
        let s = st.engine.flow_status(name).await?;
        rows.insert(
            name.clone(),
            FlowRow {
                name: name.clone(),
                running: true,
                paused: s.paused,
                in_flight: s.in_flight,
                capacity: s.capacity,
                counts: BTreeMap::new(),
                oldest_waiting: None,
                retired: 0,
            },
        );
    }
    let mut totals = BTreeMap::new();
    for (flow, state, n) in &snapshot.store.counts {
        let row = rows.entry(flow.clone()).or_insert_with(|| FlowRow {
            name: flow.clone(),
            running: false,
            paused: false,
            in_flight: 0,
            capacity: 0,
            counts: BTreeMap::new(),
            oldest_waiting: None,
            retired: 0,
        });
        row.counts.insert(state.as_str().to_string(), *n);
        *totals.entry(state.as_str().to_string()).or_insert(0) += n;
    }
    for (flow, n) in &snapshot.store.retired {
        if let Some(row) = rows.get_mut(flow) {
            row.retired = *n;
        }
    }
    // Ids grow with age, so the first id in each waiting state is the oldest: two short range
    // scans per flow, whatever the backlog. A failing store cannot be read; the status still
    // answers, with the failure.
    let readable = snapshot.store.failing.is_none();
    for row in rows.values_mut().filter(|_| readable) {
        for state in [ItemState::Pending, ItemState::Retrying] {
            let waiting = row.counts.get(state.as_str()).copied().unwrap_or(0);
            if waiting == 0 {
                continue;
            }
            let filter = ItemFilter {
                flow: Some(row.name.clone()),
                state: Some(state),
                ..ItemFilter::default()
            };
            if let Some(first) = st.engine.store().list(filter, None, 1).await?.first() {
                row.oldest_waiting = Some(
                    row.oldest_waiting
                        .map_or(first.created_at, |o| o.min(first.created_at)),
                );
            }
        }
    }
    let jobs = if readable {
        st.engine.store().jobs(STATUS_JOBS).await?
    } else {
        Vec::new()
    };
    Ok(Status {
        jobs,
        log_to: crate::logging::destination().to_string(),
        ready: st.ready.load(Ordering::SeqCst) && readable,
        flows: rows.into_values().collect(),
        totals,
        enqueue_rate: snapshot.enqueue_rate,
        restarts: snapshot.restarts,
        shopify: snapshot.rate_limiter,
        endpoints: snapshot.endpoints,
        store: StoreRow {
            disk_bytes: snapshot.store.disk_bytes,
            oldest_item: snapshot.store.oldest_item,
            retired: snapshot.store.retired.iter().cloned().collect(),
            last_prune: snapshot.store.last_prune,
        },
        store_failing: snapshot.store.failing,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub flow: Option<String>,
    pub state: Option<String>,
    /// Part of the business key (order name, SKU), case-insensitive.
    pub key: Option<String>,
    /// Only items unchanged for at least this many seconds.
    pub older_than: Option<u64>,
    pub after: Option<u64>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemPage {
    pub items: Vec<Item>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<u64>,
}

const MAX_PAGE: usize = 1000;

/// A filter of items by flow and state; an unknown state, or a flow that neither runs nor has
/// items in the store, is a 400 that names what exists (an empty list would pass for "none").
async fn filter_of(
    st: &ControlState,
    flow: Option<String>,
    state: Option<&str>,
) -> Result<ItemFilter, ApiError> {
    if let Some(f) = &flow {
        let mut known: std::collections::BTreeSet<String> =
            st.engine.flows().await?.into_iter().collect();
        let snapshot = st.engine.snapshot().await?;
        known.extend(snapshot.store.counts.iter().map(|(f, _, _)| f.clone()));
        if !known.contains(f) {
            let names: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("unknown flow {f:?}; expected one of {}", names.join(", ")),
            ));
        }
    }
    let state = state
        .map(|s| {
            s.parse::<ItemState>()
                .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))
        })
        .transpose()?;
    Ok(ItemFilter {
        flow,
        state,
        ..ItemFilter::default()
    })
}

async fn list(
    State(st): State<ControlState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ItemPage>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let mut filter = filter_of(&st, q.flow, q.state.as_deref()).await?;
    filter.key = q.key.filter(|k| !k.is_empty());
    filter.updated_before = q
        .older_than
        .map(|s| now_ms().saturating_sub(s.saturating_mul(1000)));
    let items = st
        .engine
        .store()
        .list(filter, q.after.map(ItemId), limit)
        .await?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|i| i.id.0))
        .flatten();
    Ok(Json(ItemPage { items, next }))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemDetail {
    pub item: Item,
    /// The payload as JSON when it is JSON, else as text.
    pub payload: serde_json::Value,
    pub history: Vec<HistoryEntry>,
}

fn parse_id(id: &str) -> Result<ItemId, ApiError> {
    id.parse()
        .map(ItemId)
        .map_err(|_| ApiError(StatusCode::BAD_REQUEST, format!("{id:?} is not an item id")))
}

async fn show(
    State(st): State<ControlState>,
    Path(id): Path<String>,
) -> Result<Json<ItemDetail>, ApiError> {
    let id = parse_id(&id)?;
    let (item, payload) = st.engine.store().get(id).await?.ok_or(ApiError(
        StatusCode::NOT_FOUND,
        format!("item {id} not found"),
    ))?;
    let history = st.engine.store().history(id).await?;
    let payload = serde_json::from_slice(&payload).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&payload).into_owned())
    });
    Ok(Json(ItemDetail {
        item,
        payload,
        history,
    }))
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub note: Option<String>,
}

fn action_of(name: &str) -> Result<OperatorAction, ApiError> {
    match name {
        "retry" => Ok(OperatorAction::Retry),
        "resolve" => Ok(OperatorAction::Resolve),
        "cancel" => Ok(OperatorAction::Cancel),
        other => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("unknown action {other:?}; use retry, resolve, cancel, approve or decline"),
        )),
    }
}

/// How an operator asks for finished work to be done again, for the refusal of a plain retry
/// of `what` (the CLI's ids or filter): both ways, as people on the CLI and scripts on the API
/// read the same message.
fn insist(what: &str) -> String {
    format!(
        "to do that on purpose, retry with --again (`xconnector items act retry --again {what}`; \
         API: {{\"again\": true}})"
    )
}

/// The body of a retry, resolve or cancel: `{"note": "…"}`, and for a retry `"again": true`
/// to re-run finished work.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActBody {
    note: Option<String>,
    #[serde(default)]
    again: bool,
}

/// The operator action `name` asks for, `again` or not; `again` is for retries only.
fn action_with(name: &str, again: bool) -> Result<OperatorAction, ApiError> {
    match (action_of(name)?, again) {
        (OperatorAction::Retry, true) => Ok(OperatorAction::RetryAgain),
        (action, false) => Ok(action),
        (action, true) => Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("\"again\" is for retry only, not {}", action.as_str()),
        )),
    }
}

/// An optional JSON body `{"note": "…"}`: absent or empty means no note.
fn note_of(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let n: Note = serde_json::from_slice(body)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("bad request body: {e}")))?;
    Ok(n.note.filter(|n| !n.trim().is_empty()))
}

async fn act(
    State(st): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Item>, ApiError> {
    if let approve @ ("approve" | "decline") = action.as_str() {
        return decide(&st, &peer, &id, approve == "approve", &body).await;
    }
    let id = parse_id(&id)?;
    let body: ActBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("bad request body: {e}")))?
    };
    let action = action_with(&action, body.again)?;
    let note = body.note.filter(|n| !n.trim().is_empty());
    Ok(Json(
        st.engine
            .store()
            .operate(id, action, &peer.user, note)
            .await?,
    ))
}

/// The body of a decision on a held return: `{"note": "…", "reason": "FINAL_SALE"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    note: Option<String>,
    reason: Option<String>,
}

/// `POST /v1/items/{id}/approve|decline`: a person's decision on a return held for one. It is
/// stored as a decision item of the returns flow, carried out like the API's (which resolves
/// the held item), and audited here.
async fn decide(
    st: &ControlState,
    peer: &Peer,
    id: &str,
    approve: bool,
    body: &[u8],
) -> Result<Json<Item>, ApiError> {
    use xconnector_actors::flows::returns::decide::by_operator;
    let id = parse_id(id)?;
    let body: DecisionBody = if body.iter().all(u8::is_ascii_whitespace) {
        DecisionBody::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("bad request body: {e}")))?
    };
    let store = st.engine.store();
    let (item, payload) = store
        .get(id)
        .await?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no item {id}")))?;
    let note = body.note.filter(|n| !n.trim().is_empty());
    let decision = by_operator(
        &item,
        &payload,
        &peer.user,
        approve,
        body.reason.as_deref(),
        note,
    )
    .map_err(|e| ApiError(StatusCode::CONFLICT, e))?;
    let said = String::from_utf8_lossy(&decision.payload).into_owned();
    let made = store.enqueue(vec![decision]).await?;
    let Some(made) = made.first() else {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the decision was not stored".into(),
        ));
    };
    store
        .audit(AuditEntry {
            at: now_ms(),
            who: peer.user.clone(),
            action: if approve { "approve" } else { "decline" }.into(),
            target: format!("item {id}"),
            note: Some(format!("decision item {}: {said}", made.id)),
        })
        .await?;
    let (decision, _) = store.get(made.id).await?.ok_or_else(|| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the decision was stored but cannot be read back".into(),
        )
    })?;
    Ok(Json(decision))
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    pub flow: Option<String>,
    pub state: Option<String>,
    pub note: Option<String>,
    /// A retry that re-runs finished items too (done, resolved, cancelled); without it they
    /// are skipped.
    #[serde(default)]
    pub again: bool,
}

/// `POST /v1/bulk/{action}`: starts a bulk job over every item matching the filter and answers
/// 202 with it once it is stored; the daemon runs it to the end (`/v1/jobs/{id}` follows it).
async fn bulk(
    State(st): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(action): Path<String>,
    body: Result<Json<BulkRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<BulkJob>), ApiError> {
    let Json(req) = body?;
    let action = action_with(&action, req.again)?;
    if req.flow.is_none() && req.state.is_none() {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "a bulk action needs a filter: flow, state or both".into(),
        ));
    }
    let filter = filter_of(&st, req.flow, req.state.as_deref()).await?;
    // Every item such a job matches would be skipped: say why now rather than with counts.
    if let (OperatorAction::Retry, Some(state)) = (action, filter.state)
        && state.is_terminal()
    {
        let what = match &filter.flow {
            Some(f) => format!("--flow {f} --state {state}"),
            None => format!("--state {state}"),
        };
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!(
                "{state} items are finished, and a retry would do their work again; {}",
                insist(&what)
            ),
        ));
    }
    let spec = JobSpec {
        action,
        filter: JobFilter {
            flow: filter.flow,
            state: filter.state,
        },
        note: req.note.filter(|n| !n.trim().is_empty()),
        user: peer.user,
    };
    let job = st.engine.jobs().start(spec).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    pub limit: Option<usize>,
}

/// `GET /v1/jobs`: the newest bulk jobs, newest first.
async fn jobs(
    State(st): State<ControlState>,
    query: Result<Query<JobsQuery>, QueryRejection>,
) -> Result<Json<Vec<BulkJob>>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(20).clamp(1, MAX_PAGE);
    Ok(Json(st.engine.store().jobs(limit).await?))
}

fn parse_job_id(id: &str) -> Result<JobId, ApiError> {
    id.parse()
        .map_err(|_| ApiError(StatusCode::BAD_REQUEST, format!("{id:?} is not a job id")))
}

async fn job(
    State(st): State<ControlState>,
    Path(id): Path<String>,
) -> Result<Json<BulkJob>, ApiError> {
    let id = parse_job_id(&id)?;
    let job = st.engine.store().job(id).await?;
    Ok(Json(job.ok_or(StoreError::JobNotFound(id))?))
}

/// `POST /v1/jobs/{id}/cancel`: no item is changed by the job after this answers; the job's
/// counts are what it did.
async fn cancel_job(
    State(st): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(id): Path<String>,
) -> Result<Json<BulkJob>, ApiError> {
    let id = parse_job_id(&id)?;
    Ok(Json(st.engine.jobs().cancel(id, &peer.user).await?))
}

async fn flow_action(
    State(st): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<xconnector_actors::flows::FlowStatus>, ApiError> {
    let note = note_of(&body)?;
    match action.as_str() {
        "pause" => st.engine.pause(&name).await?,
        "resume" => st.engine.resume(&name).await?,
        other => {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("unknown action {other:?}; use pause or resume"),
            ));
        }
    }
    st.engine
        .store()
        .audit(AuditEntry {
            at: now_ms(),
            who: peer.user,
            action: action.clone(),
            target: format!("flow {name}"),
            note,
        })
        .await?;
    // Pause and resume travel as messages; the status read after them reflects them.
    Ok(Json(st.engine.flow_status(&name).await?))
}

/// `POST /v1/store/prune`: one bounded step of retiring finished items older than
/// `older_than` (and audit entries past the configured window); the CLI repeats it while
/// `more`, showing progress.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneRequest {
    /// `7d`, `12h`: finished (done, resolved, cancelled) longer ago than this.
    pub older_than: String,
    #[serde(default)]
    pub dry_run: bool,
    /// The first step of a run.
    #[serde(default)]
    pub first: bool,
}

/// Keys one operator's step looks at.
const PRUNE_STEP: usize = 5_000;

async fn prune(
    State(st): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    body: Result<Json<PruneRequest>, JsonRejection>,
) -> Result<Json<xconnector_actors::store::Pruned>, ApiError> {
    let Json(req) = body?;
    let window = xconnector_actors::config::duration::parse(&req.older_than)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("older_than: {e}")))?;
    if window.is_zero() {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "older_than: must be greater than 0s".into(),
        ));
    }
    let ms = window.as_millis() as u64;
    let step = xconnector_actors::store::PruneStep {
        retention: xconnector_actors::store::Retention {
            done: ms,
            closed: ms,
            audit: 0,
        },
        budget: PRUNE_STEP,
        dry: req.dry_run,
        fresh: req.first,
    };
    let pruned = st.engine.store().prune(step).await?;
    if req.first && !req.dry_run {
        st.engine
            .store()
            .audit(AuditEntry {
                at: now_ms(),
                who: peer.user,
                action: "prune".into(),
                target: format!("finished items older than {}", req.older_than),
                note: None,
            })
            .await?;
    }
    Ok(Json(pruned))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// Only lines after this sequence number (what the last call returned).
    pub after: Option<u64>,
    /// The least severe level returned: `error`, `warn` (the default) or `info`.
    pub level: Option<String>,
}

async fn logs(
    State(st): State<ControlState>,
    query: Result<Query<LogsQuery>, QueryRejection>,
) -> Result<Json<Vec<crate::logging::LogLine>>, ApiError> {
    let Query(q) = query?;
    let level = match q.level.as_deref().unwrap_or("warn") {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "info" => tracing::Level::INFO,
        other => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("level: {other:?} is not one of error, warn, info"),
            ));
        }
    };
    Ok(Json(st.logs.since_at(q.after.unwrap_or(0), level)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub limit: Option<usize>,
}

async fn audit(
    State(st): State<ControlState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let Query(q) = query?;
    Ok(Json(
        st.engine
            .store()
            .audit_log(q.limit.unwrap_or(100).clamp(1, MAX_PAGE))
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The first day, `YYYY-MM-DD` (the shop's days); default: 29 days before `to`.
    pub from: Option<String>,
    /// The last day, included; default: the shop's today.
    pub to: Option<String>,
    /// `day` (default), `week` or `channel`.
    pub by: Option<String>,
}

/// The longest range a report reads, in days: ten years of day buckets is a short scan.
const REPORT_DAYS: i64 = 3660;

fn report_day(what: &str, s: &str) -> Result<chrono::NaiveDate, ApiError> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("{what}: {s:?} is not a day (YYYY-MM-DD)"),
        )
    })
}

/// A report's settings and range from its query: refused when reporting is off, when a day is
/// not one, when `from` is after `to` or the range longer than [`REPORT_DAYS`].
fn report_range(
    st: &ControlState,
    q: &ReportQuery,
    allowed: &[By],
) -> Result<(Arc<Reporting>, chrono::NaiveDate, chrono::NaiveDate, By), ApiError> {
    let reporting = reporting_on(st)?;
    let (from, to, by) = range(q, allowed, reporting.today())?;
    Ok((reporting, from, to, by))
}

/// `[flows.reporting]` of the running daemon; a 409 that says how to turn it on when off.
fn reporting_on(st: &ControlState) -> Result<Arc<Reporting>, ApiError> {
    st.reporting.clone().ok_or_else(|| {
        ApiError(
            StatusCode::CONFLICT,
            "reporting is off: add a [flows.reporting] section to the config and restart; \
             orders are counted from then on"
                .into(),
        )
    })
}

/// The days and grouping a report's query asks for; `to` is `today` unless given.
fn range(
    q: &ReportQuery,
    allowed: &[By],
    today: chrono::NaiveDate,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate, By), ApiError> {
    let to = match &q.to {
        Some(s) => report_day("to", s)?,
        None => today,
    };
    let from = match &q.from {
        Some(s) => report_day("from", s)?,
        None => to - chrono::Duration::days(29),
    };
    if from > to {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("from ({from}) is after to ({to})"),
        ));
    }
    if (to - from).num_days() > REPORT_DAYS {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("from {from} to {to} is longer than {REPORT_DAYS} days"),
        ));
    }
    let by = By::parse(q.by.as_deref().unwrap_or(allowed[0].as_str()), allowed)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
    Ok((from, to, by))
}

/// `GET /v1/reports/health?from=&to=&by=day|week|flow`: what the store counted as items
/// moved, per UTC day; kept whether or not `[flows.reporting]` is on.
async fn health_report(
    State(st): State<ControlState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<HealthReport>, ApiError> {
    let Query(q) = query?;
    let (from, to, by) = range(&q, reporting::HEALTH_BY, chrono::Utc::now().date_naive())?;
    Ok(Json(
        reporting::health::report(st.engine.store(), from, to, by).await?,
    ))
}

/// `GET /v1/reports/sales?from=&to=&by=day|week|channel`.
async fn sales_report(
    State(st): State<ControlState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<SalesReport>, ApiError> {
    let Query(q) = query?;
    let (_, from, to, by) = report_range(&st, &q, reporting::SALES_BY)?;
    Ok(Json(
        reporting::report::sales(st.engine.store(), from, to, by).await?,
    ))
}

/// `GET /v1/reports/fulfilment?from=&to=&by=day|week|location|carrier`: orders placed in the
/// range, how soon they shipped and were delivered, against `[flows.reporting] ship_within`.
async fn fulfilment_report(
    State(st): State<ControlState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<FulfilmentReport>, ApiError> {
    let Query(q) = query?;
    let (r, from, to, by) = report_range(&st, &q, reporting::FULFILMENT_BY)?;
    Ok(Json(
        reporting::fulfilment::report(
            st.engine.store(),
            from,
            to,
            by,
            r.config.ship_within_hours(),
        )
        .await?,
    ))
}

/// `GET /v1/reports/customers?from=&to=&by=day|week`: new and returning customers, repeat
/// purchases and the top customers by revenue.
async fn customers_report(
    State(st): State<ControlState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<CustomersReport>, ApiError> {
    let Query(q) = query?;
    let (_, from, to, by) = report_range(&st, &q, reporting::CUSTOMERS_BY)?;
    Ok(Json(
        reporting::customers::report(st.engine.store(), from, to, by).await?,
    ))
}

/// `GET /v1/reports/inventory?from=&to=&by=sku|location`: units sold against stock on hand
/// per SKU or location, in UTC days.
async fn inventory_report(
    State(st): State<ControlState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<InventoryReport>, ApiError> {
    let Query(q) = query?;
    let r = reporting_on(&st)?;
    // Inventory counts in UTC days: its default range ends on UTC's today.
    let now = chrono::Utc::now();
    let (from, to, by) = range(&q, reporting::INVENTORY_BY, now.date_naive())?;
    Ok(Json(
        reporting::inventory::report(
            st.engine.store(),
            from,
            to,
            by,
            r.config.stale_after_ms(),
            now.timestamp_millis(),
        )
        .await?,
    ))
}

/// How often a subscriber gets a status snapshot; the API promises at most 10 per second.
pub const EVENT_EVERY: Duration = Duration::from_millis(500);

/// Server-sent events, one batch per tick: `items` (what changed since the last tick, as
/// [`Changes`], when anything did), `log` (the new recent log lines, when any) and `status`
/// (the body of `/v1/status`). A watcher re-reads what it shows when `items` touches it.
async fn events(
    State(st): State<ControlState>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let changes = st.engine.store().watch_changes().await?;
    let mut tick = tokio::time::interval(EVENT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let watch = Watch {
        st,
        changes,
        tick,
        last_log: 0,
    };
    let stream = futures::stream::unfold(watch, |mut w| async move {
        let batch = w.next_batch().await;
        Some((futures::stream::iter(batch.into_iter().map(Ok)), w))
    })
    .flatten();
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One subscriber's place in the event stream.
struct Watch {
    st: ControlState,
    changes: tokio::sync::broadcast::Receiver<Arc<Changes>>,
    tick: tokio::time::Interval,
    last_log: u64,
}

impl Watch {
    /// Waits for the next tick, collecting changes meanwhile, and returns its events.
    async fn next_batch(&mut self) -> Vec<Event> {
        use tokio::sync::broadcast::error::RecvError;
        let mut changed = Changes::known();
        loop {
            tokio::select! {
                _ = self.tick.tick() => break,
                got = self.changes.recv() => match got {
                    Ok(c) => changed.merge(&c),
                    // Missed notices: anything may have changed.
                    Err(RecvError::Lagged(_)) => changed.merge(&Changes::everything()),
                    // The store is gone (shutting down); the status says the rest.
                    Err(RecvError::Closed) => {
                        self.tick.tick().await;
                        break;
                    }
                },
            }
        }
        let mut batch = Vec::new();
        if !changed.is_empty() {
            batch.push(json_event("items", &changed));
        }
        let lines = self.st.logs.since(self.last_log);
        if let Some(last) = lines.last() {
            self.last_log = last.seq;
            batch.push(json_event("log", &lines));
        }
        batch.push(match build_status(&self.st).await {
            Ok(status) => json_event("status", &status),
            Err(ApiError(_, msg)) => Event::default().event("error").data(msg),
        });
        batch
    }
}

fn json_event(name: &str, body: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(body)
        .unwrap_or_else(|_| Event::default().comment("unserializable"))
}

/// `POST /v1/reports/backfill`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    /// `90d` (days back from the shop's today) or a day, `2026-09-01`.
    pub since: String,
    /// Also give the orders flow the orders it never saw.
    #[serde(default)]
    pub deliver: bool,
}

fn backfill_of(st: &ControlState) -> Result<(Arc<Reporting>, Arc<Backfill>), ApiError> {
    match (&st.reporting, &st.backfill) {
        (Some(r), Some(b)) => Ok((r.clone(), b.clone())),
        (None, _) => Err(ApiError(
            StatusCode::CONFLICT,
            "reporting is off: add a [flows.reporting] section to the config and restart".into(),
        )),
        (Some(_), None) => Err(ApiError(
            StatusCode::CONFLICT,
            "a backfill reads Shopify: configure [shopify] and restart".into(),
        )),
    }
}

/// `POST /v1/reports/backfill {"since": "90d", "deliver": false}`: starts filling the rollups
/// from Shopify's history (409 while one runs); answers its progress.
async fn start_backfill(
    State(st): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    body: Result<Json<BackfillRequest>, JsonRejection>,
) -> Result<Json<Progress>, ApiError> {
    let Json(req) = body?;
    let (reporting, backfill) = backfill_of(&st)?;
    let since = reporting::backfill::parse_since(&req.since, reporting.today())
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("since: {e}")))?
        .ok_or_else(|| ApiError(StatusCode::BAD_REQUEST, "since: must name a day".into()))?;
    let progress = backfill
        .start(since, req.deliver)
        .await
        .map_err(|e| match e {
            BackfillError::Running => ApiError(StatusCode::CONFLICT, e.to_string()),
            BackfillError::NoOrdersFlow => ApiError(StatusCode::BAD_REQUEST, e.to_string()),
            e => ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        })?;
    st.engine
        .store()
        .audit(AuditEntry {
            at: now_ms(),
            who: peer.user,
            action: "report backfill".into(),
            target: format!(
                "orders since {since}{}",
                if req.deliver { ", delivered" } else { "" }
            ),
            note: None,
        })
        .await?;
    Ok(Json(progress))
}

/// `GET /v1/reports/backfill`: the latest backfill's progress (404 if there never was one).
async fn backfill_progress(State(st): State<ControlState>) -> Result<Json<Progress>, ApiError> {
    let (_, backfill) = backfill_of(&st)?;
    backfill
        .progress()
        .await?
        .map(Json)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "no backfill has run".into()))
}
