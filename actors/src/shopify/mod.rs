//! Everything about Shopify's Admin GraphQL API, behind one actor.
//!
//! - [`gid`]: typed global ids (`gid://shopify/Order/123`), parsed strictly.
//! - [`operations`]: the named GraphQL documents (`.graphql` files) with typed variables and
//!   responses; every one is validated against the published schema by the workspace tests.
//! - [`error`]: [`ShopifyError`], and which errors are worth retrying.
//! - [`transport`]: one HTTP exchange: POST, classify, read `extensions.cost`.
//! - [`client`]: the client actor, which runs every call (rate-limiter grant, POST, cost report,
//!   retries under a deadline) in a task of its own, and [`ShopifyHandle`], the typed API flows
//!   use.
//!
//! The rate limiter that paces the calls is [`crate::rate_limiter`].

pub mod client;
pub mod error;
pub mod gid;
pub mod messages;
pub mod operations;
pub mod transport;

use std::fmt;
use std::time::Duration;

pub use crate::rate_limiter::{QueryCost, ThrottleStatus};
pub use client::{ShopifyActor, ShopifyArgs, ShopifyHandle};
pub use error::{GraphqlError, ShopifyError, TransportKind, UserError};

use crate::rate_limiter::RateLimiterConfig;
use crate::retry::Backoff;

/// The Admin API access token. `Debug` and `Display` print `***`; only the transport reads it.
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> AccessToken {
        AccessToken(token.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to reach one shop, and how patiently.
#[derive(Clone)]
pub struct ShopifyClientConfig {
    /// `name.myshopify.com`; names the shop's actors and labels the logs.
    pub shop: String,
    /// `https://name.myshopify.com`, or the simulator or a proxy; no trailing slash needed.
    pub base_url: String,
    /// `YYYY-MM`, the pinned Admin API version.
    pub api_version: String,
    pub access_token: AccessToken,
    /// For establishing a connection.
    pub connect_timeout: Duration,
    /// For one HTTP exchange, from sending to the last byte of the answer.
    pub request_timeout: Duration,
    /// For a whole call: waiting for grants, every attempt and every pause between them.
    /// Past it the call fails with [`ShopifyError::DeadlineExceeded`] (transient: the flow
    /// retries the item later).
    pub deadline: Duration,
    /// Pauses between attempts after transient failures without a `Retry-After`.
    pub backoff: Backoff,
    pub limiter: RateLimiterConfig,
}

impl ShopifyClientConfig {
    /// A configuration with the default timeouts: connect 5 s, request 30 s, deadline 2 min,
    /// backoff 0.5 s doubling to 30 s.
    pub fn new(
        shop: impl Into<String>,
        base_url: impl Into<String>,
        api_version: impl Into<String>,
        access_token: AccessToken,
    ) -> ShopifyClientConfig {
        ShopifyClientConfig {
            shop: shop.into(),
            base_url: base_url.into(),
            api_version: api_version.into(),
            access_token,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(120),
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
            limiter: RateLimiterConfig::default(),
        }
    }

    /// `{base_url}/admin/api/{api_version}/graphql.json`
    pub fn endpoint(&self) -> String {
        format!(
            "{}/admin/api/{}/graphql.json",
            self.base_url.trim_end_matches('/'),
            self.api_version
        )
    }
}

impl fmt::Debug for ShopifyClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopifyClientConfig")
            .field("shop", &self.shop)
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("access_token", &self.access_token)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("deadline", &self.deadline)
            .field("backoff", &self.backoff)
            .field("limiter", &self.limiter)
            .finish()
    }
}
