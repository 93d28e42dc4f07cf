//! One HTTP exchange with the Admin GraphQL endpoint: POST the body, classify the answer, and
//! read `extensions.cost` from every response that has one, throttled or not, so that the rate
//! limiter's model always follows what Shopify last said.
//!
//! No retries here: the client decides (see `client.rs`). The access token goes into one
//! header, marked sensitive, and nowhere else.

use crate::rate_limiter::QueryCost;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use serde::Deserialize;
use serde_json::Value;

use super::error::{GraphqlError, ShopifyError, TransportKind};
use super::operations::bulk::StagedTarget;
use super::{AccessToken, ShopifyClientConfig};

/// What one POST produced: the cost report (when there was one) and the `data` or the error.
#[derive(Debug)]
pub struct Exchange {
    pub cost: Option<QueryCost>,
    pub result: Result<Value, ShopifyError>,
}

/// The longest piece of a response body quoted in an error.
const EXCERPT: usize = 512;

pub struct Transport {
    client: reqwest::Client,
    /// For bulk operation results: signed URLs on another host, which must never see the token.
    downloads: reqwest::Client,
    url: String,
    token: AccessToken,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("url", &self.url)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub fn new(config: &ShopifyClientConfig) -> Result<Transport, ShopifyError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("xconnector/", env!("CARGO_PKG_VERSION"))),
        );
        let mut token = HeaderValue::from_str(config.access_token.expose()).map_err(|_| {
            ShopifyError::InvalidInput(
                "the access token contains characters not allowed in an HTTP header".into(),
            )
        })?;
        token.set_sensitive(true);
        headers.insert("X-Shopify-Access-Token", token);
        let client = crate::http_client::builder()
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| {
                ShopifyError::InvalidInput(format!("cannot build the HTTP client: {e}"))
            })?;
        let downloads = crate::http_client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| {
                ShopifyError::InvalidInput(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Transport {
            client,
            downloads,
            url: config.endpoint(),
            token: config.access_token.clone(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// GETs the result file of a bulk operation (`url` from `bulkOperation.url`) within
    /// `timeout`, without Shopify's credentials. Errors never quote the URL: it is a bearer
    /// credential for the file until it expires.
    pub async fn download(&self, url: &str, timeout: Duration) -> Result<String, ShopifyError> {
        let response = self
            .downloads
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| classify(&e.without_url(), timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ShopifyError::Http {
                status: status.as_u16(),
                retry_after: None,
                body: "the bulk operation result could not be fetched".into(),
            });
        }
        response
            .text()
            .await
            .map_err(|e| classify(&e.without_url(), timeout))
    }

    /// POSTs `file` to a staged upload target, as a form of the target's parameters followed
    /// by the file, without Shopify's credentials. Errors never quote the URL: it is signed.
    pub async fn upload(
        &self,
        target: &StagedTarget,
        file: Vec<u8>,
        timeout: Duration,
    ) -> Result<(), ShopifyError> {
        let url = target
            .url
            .as_deref()
            .ok_or_else(|| ShopifyError::InvalidResponse("a staged target without a url".into()))?;
        let mut form = reqwest::multipart::Form::new();
        for p in &target.parameters {
            form = form.text(p.name.clone(), p.value.clone());
        }
        let part = reqwest::multipart::Part::bytes(file)
            .file_name("variables.jsonl")
            .mime_str("text/jsonl")
            .map_err(|e| ShopifyError::InvalidResponse(format!("upload part: {e}")))?;
        form = form.part("file", part);
        let response = self
            .downloads
            .post(url)
            .multipart(form)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| classify(&e.without_url(), timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ShopifyError::Http {
                status: status.as_u16(),
                retry_after: None,
                body: "the staged upload was refused".into(),
            });
        }
        Ok(())
    }

    /// POSTs `body` (a serialized `{query, variables, operationName}`) once, within `timeout`.
    pub async fn post(&self, body: Vec<u8>, timeout: Duration) -> Exchange {
        let response = match self
            .client
            .post(&self.url)
            .body(body)
            .timeout(timeout)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return failed(classify(&e, timeout)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return failed(classify(&e, timeout)),
        };
        let envelope = serde_json::from_slice::<Envelope>(&bytes).ok();
        let cost = envelope
            .as_ref()
            .and_then(|e| e.extensions.as_ref())
            .and_then(|x| x.cost);
        if !(200..300).contains(&status) {
            return Exchange {
                cost,
                result: Err(ShopifyError::Http {
                    status,
                    retry_after,
                    body: self.excerpt(&bytes),
                }),
            };
        }
        let Some(envelope) = envelope else {
            return failed(ShopifyError::InvalidResponse(format!(
                "HTTP {status} with a body that is not a GraphQL response: {}",
                self.excerpt(&bytes)
            )));
        };
        Exchange {
            cost,
            result: interpret(envelope, cost),
        }
    }

    /// The start of a body, fit for an error message: lossy UTF-8, token redacted, bounded.
    fn excerpt(&self, bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
        let token = self.token.expose();
        let text = if token.is_empty() {
            text.into_owned()
        } else {
            text.replace(token, "***")
        };
        let mut out: String = text.chars().take(EXCERPT).collect();
        if out.len() < text.len() {
            out.push('…');
        }
        out
    }
}

fn failed(e: ShopifyError) -> Exchange {
    Exchange {
        cost: None,
        result: Err(e),
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<Value>,
    /// Usually a list of `{message, path, extensions: {code}}`; some endpoints send a string.
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    #[serde(default)]
    cost: Option<QueryCost>,
}

fn interpret(envelope: Envelope, cost: Option<QueryCost>) -> Result<Value, ShopifyError> {
    let errors = graphql_errors(envelope.errors);
    if !errors.is_empty() {
        if errors
            .iter()
            .any(|e| e.code.as_deref() == Some("THROTTLED"))
        {
            let requested = cost.and_then(|c| c.requested_query_cost).unwrap_or(0.0);
            let available = cost
                .and_then(|c| c.throttle_status)
                .map(|t| t.currently_available)
                .unwrap_or(0.0);
            return Err(ShopifyError::Throttled {
                requested,
                available,
            });
        }
        if let Some(e) = errors
            .iter()
            .find(|e| e.code.as_deref() == Some("MAX_COST_EXCEEDED"))
        {
            return Err(ShopifyError::MaxCostExceeded {
                message: e.message.clone(),
            });
        }
        return Err(ShopifyError::Graphql { errors });
    }
    match envelope.data {
        Some(data) if !data.is_null() => Ok(data),
        _ => Err(ShopifyError::InvalidResponse(
            "a response with neither data nor errors".into(),
        )),
    }
}

fn graphql_errors(raw: Option<Value>) -> Vec<GraphqlError> {
    match raw {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(message)) => vec![GraphqlError {
            message,
            code: None,
            path: Vec::new(),
        }],
        Some(Value::Array(items)) => items.into_iter().map(graphql_error).collect(),
        Some(other) => vec![GraphqlError {
            message: other.to_string(),
            code: None,
            path: Vec::new(),
        }],
    }
}

fn graphql_error(item: Value) -> GraphqlError {
    let message = item
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("(no message)")
        .to_string();
    let code = item
        .get("extensions")
        .and_then(|x| x.get("code"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let path = item
        .get("path")
        .and_then(Value::as_array)
        .map(|p| {
            p.iter()
                .map(|seg| match seg {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    GraphqlError {
        message,
        code,
        path,
    }
}

fn classify(e: &reqwest::Error, timeout: Duration) -> ShopifyError {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Broken
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    if kind == TransportKind::Timeout {
        detail = format!("no answer within {timeout:?} ({detail})");
    }
    ShopifyError::transport(kind, detail)
}

/// `Retry-After` in seconds, which Shopify may send fractional (`"2.0"`). HTTP dates are not
/// used by Shopify and are ignored (the backoff applies instead).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limiter::ThrottleStatus;

    fn envelope(json: &str) -> Envelope {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_the_cost_and_the_throttled_error() {
        let json = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"x"}}],
            "extensions":{"cost":{"requestedQueryCost":70,"actualQueryCost":null,
            "throttleStatus":{"maximumAvailable":1000,"currentlyAvailable":66,"restoreRate":50}}}}"#;
        let env = envelope(json);
        let cost = env.extensions.as_ref().and_then(|x| x.cost);
        assert_eq!(
            cost,
            Some(QueryCost {
                requested_query_cost: Some(70.0),
                actual_query_cost: None,
                throttle_status: Some(ThrottleStatus {
                    maximum_available: 1000.0,
                    currently_available: 66.0,
                    restore_rate: 50.0
                })
            })
        );
        let err = interpret(env, cost).unwrap_err();
        assert!(
            matches!(err, ShopifyError::Throttled { requested, available } if requested == 70.0 && available == 66.0)
        );
    }

    #[test]
    fn maps_errors_and_data() {
        let env = envelope(r#"{"data":{"shop":{"name":"x"}}}"#);
        assert_eq!(interpret(env, None).unwrap()["shop"]["name"], "x");
        let env = envelope(
            r#"{"errors":[{"message":"Field 'cart' doesn't exist","path":["query",0],"extensions":{"code":"undefinedField"}}]}"#,
        );
        match interpret(env, None) {
            Err(ShopifyError::Graphql { errors }) => {
                assert_eq!(errors[0].code.as_deref(), Some("undefinedField"));
                assert_eq!(errors[0].path, ["query", "0"]);
            }
            other => panic!("{other:?}"),
        }
        let env = envelope(
            r#"{"errors":[{"message":"Query cost is 1200, which exceeds the single query max cost limit (1000)","extensions":{"code":"MAX_COST_EXCEEDED"}}]}"#,
        );
        assert!(matches!(
            interpret(env, None),
            Err(ShopifyError::MaxCostExceeded { .. })
        ));
        let env = envelope(r#"{"errors":"Not Found"}"#);
        assert!(matches!(
            interpret(env, None),
            Err(ShopifyError::Graphql { .. })
        ));
        let env = envelope(r#"{"data":null}"#);
        assert!(matches!(
            interpret(env, None),
            Err(ShopifyError::InvalidResponse(_))
        ));
    }

    #[test]
    fn parses_retry_after_seconds() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 2.5 "),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }
}
