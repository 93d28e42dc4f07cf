//! Bearer tokens from `[server] api_tokens`, for every route of the inbound API.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// How much of a request without a valid token is read (and dropped) before the 401.
const DRAIN_UNAUTHORIZED: usize = 1 << 20;

/// Why a request was refused before its body was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    NotBearer,
    UnknownToken,
}

impl Refusal {
    /// What the log says. Deliberately never the header's value, nor its first word: a client
    /// that sends its token without the `Bearer ` scheme would otherwise have it logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Missing => "no Authorization header",
            Refusal::NotBearer => "the Authorization header is not a Bearer token",
            Refusal::UnknownToken => "the bearer token is not one of [server] api_tokens",
        }
    }

    /// The log line of a refused request.
    pub fn log_line(self) -> &'static str {
        match self {
            Refusal::Missing => "inbound request refused: no Authorization header",
            Refusal::NotBearer => {
                "inbound request refused: the Authorization header is not a Bearer token"
            }
            Refusal::UnknownToken => {
                "inbound request refused: the bearer token is not one of [server] api_tokens"
            }
        }
    }
}

/// Whether `headers` carry `Authorization: Bearer T` with `T` one of `tokens`.
pub fn authorize(tokens: &[String], headers: &HeaderMap) -> Result<(), Refusal> {
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

/// 401, for every route behind the bearer tokens.
pub fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({"error": "a valid bearer token from [server] api_tokens is required"})),
    )
        .into_response()
}

/// Reads and drops up to [`DRAIN_UNAUTHORIZED`] of a refused request's body (see
/// [`crate::body_budget::drain`]).
pub async fn drain(mut body: Body) {
    let _ = crate::body_budget::drain(&mut body, DRAIN_UNAUTHORIZED).await;
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn bearer_tokens_compare_exactly() {
        use xconnector_actors::signature::same_secret;
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("abc", ""));
    }
}
