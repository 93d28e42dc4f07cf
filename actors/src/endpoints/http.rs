//! Delivery over HTTP: POST the canonical JSON with an `Idempotency-Key`, and sign it when a
//! secret is set. The answer decides: 2xx done; 408, 429, 5xx and no answer are transient;
//! any other status is a rejection a person must look at.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

use super::HttpSpec;
use crate::item::Outcome;
use crate::signature::delivery_signature;

/// How much of a rejecting answer's body goes into the exception's reason.
const REASON_BYTES: usize = 1024;

pub async fn deliver(
    client: &reqwest::Client,
    endpoint: &str,
    spec: &HttpSpec,
    key: &str,
    body: &[u8],
) -> Outcome {
    let mut req = client
        .post(&spec.url)
        .timeout(spec.timeout)
        .header("content-type", "application/json")
        .header("idempotency-key", key);
    for (name, value) in &spec.headers {
        req = req.header(name.as_str(), value.as_str());
    }
    if let Some(secret) = &spec.signing_secret {
        req = req.header("x-xconnector-signature", delivery_signature(secret, body));
    }
    let resp = match req.body(body.to_vec()).send().await {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "no answer"
            };
            // reqwest's error text carries the URL, never a header value.
            return Outcome::Retry {
                error: format!("{endpoint}: {what} ({e})"),
                after: None,
            };
        }
    };
    let status = resp.status();
    if status.is_success() {
        return Outcome::Done;
    }
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)));
    if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        return Outcome::Retry {
            error: format!("{endpoint}: HTTP {status}"),
            after: retry_after,
        };
    }
    let text = resp.bytes().await.unwrap_or_default();
    let excerpt = String::from_utf8_lossy(&text[..text.len().min(REASON_BYTES)]).into_owned();
    Outcome::Exception {
        reason: format!("{endpoint} rejected it: HTTP {status}: {excerpt}"),
    }
}
