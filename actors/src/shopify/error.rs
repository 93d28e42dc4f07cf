//! What can go wrong talking to Shopify, and whether trying again can help.
//!
//! Nothing here ever holds the access token: the transport puts it on the request and nowhere
//! else, and response bodies quoted in errors are redacted of it before they are kept.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One entry of a GraphQL response's top-level `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphqlError {
    pub message: String,
    /// `extensions.code`, e.g. `THROTTLED`, `MAX_COST_EXCEEDED`, `ACCESS_DENIED`, `undefinedField`.
    pub code: Option<String>,
    /// The response path the error belongs to, when GraphQL gives one.
    pub path: Vec<String>,
}

/// One entry of a mutation payload's `userErrors`: Shopify refused the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserError {
    /// The path to the input field at fault, e.g. `["input", "quantities", "0", "changeFromQuantity"]`.
    #[serde(default, deserialize_with = "nullable_list")]
    pub field: Vec<String>,
    pub message: String,
    /// The typed code where the mutation has one (`CHANGE_FROM_QUANTITY_STALE`); some payloads
    /// use the plain `UserError` without codes.
    #[serde(default)]
    pub code: Option<String>,
}

fn nullable_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// The kinds of transport failure, all transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Could not connect (refused, DNS, TLS handshake).
    Connect,
    /// No complete answer within the per-request timeout.
    Timeout,
    /// The connection broke while sending or reading (reset, truncated body).
    Broken,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ShopifyError {
    #[error("cannot reach Shopify ({kind}): {detail}")]
    Transport { kind: TransportKind, detail: String },

    #[error("Shopify answered HTTP {status}{}: {body}", retry_after_text(*retry_after))]
    Http {
        status: u16,
        /// `Retry-After`, in (possibly fractional) seconds, on 429 and some 503s.
        retry_after: Option<Duration>,
        /// The start of the body, redacted of the token.
        body: String,
    },

    #[error(
        "Shopify throttled the request (cost {requested}, {available} of the bucket available)"
    )]
    Throttled { requested: f64, available: f64 },

    #[error("the query costs more than Shopify allows in one request: {message}")]
    MaxCostExceeded { message: String },

    #[error("Shopify rejected the request: {}", list(errors))]
    Graphql { errors: Vec<GraphqlError> },

    #[error("{operation}: Shopify refused the input: {}", list(errors))]
    UserErrors {
        operation: &'static str,
        errors: Vec<UserError>,
    },

    #[error("unexpected response from Shopify: {0}")]
    InvalidResponse(String),

    /// The caller's input cannot be sent as it is (an empty batch, a malformed timestamp).
    #[error("invalid request: {0}")]
    InvalidInput(String),

    /// The overall deadline passed: retries (and waiting for the rate limiter) took too long.
    #[error(
        "no answer from Shopify within {after:?} ({attempts} attempts){}",
        last_text(last)
    )]
    DeadlineExceeded {
        after: Duration,
        attempts: u32,
        last: Option<Box<ShopifyError>>,
    },

    /// The client or rate-limiter actor is not running (restarting, or shut down).
    #[error("the Shopify client is not running: {0}")]
    Unavailable(String),
}

impl ShopifyError {
    /// Whether the same request may succeed later: throttling, 429, 5xx, timeouts, connection
    /// errors, an idempotent mutation still in progress. Everything else needs a different
    /// request or a person.
    pub fn is_transient(&self) -> bool {
        match self {
            ShopifyError::Transport { .. }
            | ShopifyError::Throttled { .. }
            | ShopifyError::DeadlineExceeded { .. }
            | ShopifyError::Unavailable(_) => true,
            ShopifyError::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            // Shopify reports its own hiccups as GraphQL errors with HTTP 200 too.
            ShopifyError::Graphql { errors } => errors.iter().any(|e| {
                matches!(
                    e.code.as_deref(),
                    Some("INTERNAL_SERVER_ERROR" | "SERVICE_UNAVAILABLE")
                )
            }),
            // "This request is currently in progress, please try again" (same key).
            ShopifyError::UserErrors { errors, .. } => errors
                .iter()
                .any(|e| e.code.as_deref() == Some("IDEMPOTENCY_CONCURRENT_REQUEST")),
            ShopifyError::MaxCostExceeded { .. }
            | ShopifyError::InvalidResponse(_)
            | ShopifyError::InvalidInput(_) => false,
        }
    }

    /// Shopify surely did not run the request: it was throttled or refused at the door, or
    /// never reached. (A timeout, a broken connection or a 5xx may come after it ran.)
    pub fn surely_not_run(&self) -> bool {
        match self {
            ShopifyError::Throttled { .. } | ShopifyError::Unavailable(_) => true,
            ShopifyError::Transport { kind, .. } => *kind == TransportKind::Connect,
            ShopifyError::Http { status, .. } => *status == 429,
            _ => false,
        }
    }

    /// How long Shopify asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ShopifyError::Http { retry_after, .. } => *retry_after,
            ShopifyError::DeadlineExceeded {
                last: Some(last), ..
            } => last.retry_after(),
            _ => None,
        }
    }

    /// The `userErrors` of a refused mutation (empty for any other error).
    pub fn user_errors(&self) -> &[UserError] {
        match self {
            ShopifyError::UserErrors { errors, .. } => errors,
            _ => &[],
        }
    }

    pub(crate) fn transport(kind: TransportKind, detail: impl Into<String>) -> ShopifyError {
        ShopifyError::Transport {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Broken => "connection broken",
        })
    }
}

impl fmt::Display for GraphqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        if !self.path.is_empty() {
            write!(f, " at {}", self.path.join("."))?;
        }
        Ok(())
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field.join("."))?;
        }
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        Ok(())
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "(no details)".into();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn retry_after_text(d: Option<Duration>) -> String {
    d.map(|d| format!(" (retry after {:.1}s)", d.as_secs_f64()))
        .unwrap_or_default()
}

fn last_text(last: &Option<Box<ShopifyError>>) -> String {
    last.as_ref()
        .map(|e| format!("; last error: {e}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> ShopifyError {
        ShopifyError::Http {
            status,
            retry_after: None,
            body: String::new(),
        }
    }

    #[test]
    fn classifies_transient_and_permanent_errors() {
        assert!(http(429).is_transient());
        assert!(http(503).is_transient());
        assert!(http(500).is_transient());
        assert!(!http(400).is_transient());
        assert!(!http(401).is_transient());
        assert!(!http(404).is_transient());
        assert!(ShopifyError::transport(TransportKind::Timeout, "t").is_transient());
        assert!(
            ShopifyError::Throttled {
                requested: 10.0,
                available: 1.0
            }
            .is_transient()
        );
        assert!(
            !ShopifyError::MaxCostExceeded {
                message: "m".into()
            }
            .is_transient()
        );
        let user = |code: &str| ShopifyError::UserErrors {
            operation: "X",
            errors: vec![UserError {
                field: vec![],
                message: "m".into(),
                code: Some(code.into()),
            }],
        };
        assert!(!user("CHANGE_FROM_QUANTITY_STALE").is_transient());
        assert!(user("IDEMPOTENCY_CONCURRENT_REQUEST").is_transient());
        let gql = |code: &str| ShopifyError::Graphql {
            errors: vec![GraphqlError {
                message: "m".into(),
                code: Some(code.into()),
                path: vec![],
            }],
        };
        assert!(!gql("ACCESS_DENIED").is_transient());
        assert!(gql("INTERNAL_SERVER_ERROR").is_transient());
    }

    #[test]
    fn messages_say_what_happened() {
        let e = ShopifyError::Http {
            status: 429,
            retry_after: Some(Duration::from_millis(2500)),
            body: "slow down".into(),
        };
        assert_eq!(
            e.to_string(),
            "Shopify answered HTTP 429 (retry after 2.5s): slow down"
        );
        assert_eq!(e.retry_after(), Some(Duration::from_millis(2500)));
        let e = ShopifyError::UserErrors {
            operation: "InventorySetQuantities",
            errors: vec![UserError {
                field: vec!["input".into(), "quantities".into(), "0".into()],
                message: "stale".into(),
                code: Some("CHANGE_FROM_QUANTITY_STALE".into()),
            }],
        };
        assert_eq!(
            e.to_string(),
            "InventorySetQuantities: Shopify refused the input: input.quantities.0: stale [CHANGE_FROM_QUANTITY_STALE]"
        );
    }
}
