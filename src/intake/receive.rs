//! `POST /api/v1/{resource}`: one handler for every resource. The body is parsed as it
//! streams in: a blocking task reads the frames through a small channel and decodes each entry
//! as it passes, keeping only the decoded records, never the whole body or a JSON tree of it.

use std::io::Read;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::json;
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};
use xconnector_actors::item::now_ms;
use xconnector_actors::signature::Fingerprinter;

use super::auth::{authorize, drain, unauthorized};
use super::requests::{self, Key};
use super::stats::Counter;
use super::{Endpoint, Intake, MAX_BODY, error};

/// Answers one request and counts its outcome.
pub async fn receive(
    intake: &Intake,
    endpoint: &Endpoint,
    headers: HeaderMap,
    params: Vec<(String, String)>,
    body: Body,
) -> Response {
    let (counter, response) = handle(intake, endpoint, &headers, params, body).await;
    counter(&endpoint.stats).fetch_add(1, Ordering::Relaxed);
    response
}

async fn handle(
    intake: &Intake,
    endpoint: &Endpoint,
    headers: &HeaderMap,
    params: Vec<(String, String)>,
    body: Body,
) -> (Counter, Response) {
    let path = endpoint.resource.path();
    let noun = endpoint.resource.noun();
    if !intake.ready.load(Ordering::SeqCst) {
        return (
            |s| &s.unavailable,
            error(StatusCode::SERVICE_UNAVAILABLE, "shutting down; retry"),
        );
    }
    if let Err(refusal) = authorize(&intake.tokens, headers) {
        debug!(
            resource = path,
            reason = refusal.as_str(),
            "inbound request refused: a valid bearer token is required"
        );
        crate::refusals::refused(refusal.log_line(), path);
        drain(body).await;
        return (|s| &s.rejected_token, unauthorized());
    }
    let received_at = now_ms();
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let resource = endpoint.resource.clone();
    let parser = tokio::task::spawn_blocking(move || {
        resource.json(&mut ChannelReader::new(rx), received_at as i64, &params)
    });
    let key = requests::idempotency_key(headers);
    let mut body = body;
    // The body as sent is what a repeated Idempotency-Key must match (hashed only then).
    let mut body_print = matches!(key, Ok(Some(_))).then(Fingerprinter::default);
    let mut size = 0usize;
    let mut too_big = false;
    let mut broken = None;
    let mut parser_done = false;
    while let Some(frame) = body.frame().await {
        match frame.map(|f| f.into_data()) {
            Ok(Err(_trailers)) => {}
            Ok(Ok(bytes)) => {
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
                let late = crate::serve::caused_by::<crate::serve::BodyTimeout>(&e);
                broken = Some((e.to_string(), late));
                break;
            }
        }
    }
    drop(tx);
    let parsed = parser.await;
    if too_big {
        // Read to the end (up to as much again) so that the client gets the 413, not a reset.
        let _ = crate::body_budget::drain(&mut body, MAX_BODY).await;
        warn!(
            resource = path,
            limit = MAX_BODY,
            "inbound body too large; refused"
        );
        return (
            |s| &s.too_large,
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is larger than {MAX_BODY} bytes"),
            ),
        );
    }
    if let Some((e, late)) = broken {
        warn!(resource = path, error = %e, "inbound body could not be read; refused");
        let status = if late {
            StatusCode::REQUEST_TIMEOUT
        } else {
            StatusCode::BAD_REQUEST
        };
        return (
            |s| &s.bad_request,
            error(status, &format!("the body could not be read: {e}")),
        );
    }
    let parsed = match parsed {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(report)) => {
            warn!(
                resource = path,
                errors = report.count,
                "inbound request refused"
            );
            return (
                |s| &s.bad_request,
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({
                        "error": format!("invalid {path} {noun}; nothing was stored"),
                        "error_count": report.count,
                        "errors": report.errors,
                    })),
                )
                    .into_response(),
            );
        }
        Err(e) => {
            error!(resource = path, error = %e, "the inbound parser failed");
            return (
                |s| &s.internal_error,
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("the {noun} parser failed: {e}"),
                ),
            );
        }
    };
    let key = match key {
        Ok(key) => key.zip(body_print.map(Fingerprinter::finish)),
        Err(message) => return (|s| &s.bad_request, error(StatusCode::BAD_REQUEST, &message)),
    };
    let source = parsed.source.clone();
    let key = key.as_ref().map(|(key, fingerprint)| Key {
        resource: path,
        source: &source,
        key,
        fingerprint,
    });
    let unavailable = |e: &dyn std::fmt::Display| -> (Counter, Response) {
        error!(resource = path, error = %e, "cannot store an inbound request; the sender should retry");
        (
            |s| &s.unavailable,
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("the {noun} could not be stored; retry: {e}"),
            ),
        )
    };
    if let Some(key) = &key {
        match requests::remembered(&intake.store, key).await {
            Ok(Some(first)) if first.fingerprint == key.fingerprint => {
                info!(resource = path, source = %key.source, "request repeated under its Idempotency-Key; answered as the first time");
                return (
                    |s| &s.replayed,
                    (StatusCode::ACCEPTED, axum::Json(first.answer)).into_response(),
                );
            }
            Ok(Some(_)) => {
                warn!(resource = path, source = %key.source, "Idempotency-Key reused for a different body; refused");
                return (
                    |s| &s.conflict,
                    error(
                        StatusCode::CONFLICT,
                        &format!(
                            "this Idempotency-Key was already used for a different {noun}; nothing was stored"
                        ),
                    ),
                );
            }
            Ok(None) => {}
            Err(e) => return unavailable(&e),
        }
    }
    let id = requests::new_id(received_at);
    match requests::store(&intake.store, path, parsed, &id, key.as_ref()).await {
        Ok(answer) => (
            |s| &s.accepted,
            (StatusCode::ACCEPTED, axum::Json(answer)).into_response(),
        ),
        Err(e) => unavailable(&e),
    }
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
