//! `WebhookSubscriptions` and `WebhookSubscriptionCreate`: keep the subscriptions the daemon
//! relies on in place (Shopify deletes a subscription after repeated failed deliveries).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Connection, Operation, nullable_vec};
use crate::shopify::error::UserError;
use crate::shopify::gid::WebhookSubscriptionId;

/// A `WebhookSubscriptionTopic` value, e.g. `ORDERS_CREATE`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookTopic(String);

impl WebhookTopic {
    /// From the GraphQL enum name (`ORDERS_CREATE`).
    pub fn new(name: impl Into<String>) -> WebhookTopic {
        WebhookTopic(name.into())
    }

    /// From the topic as webhooks carry it in `X-Shopify-Topic` (`orders/create`).
    pub fn from_header(topic: &str) -> WebhookTopic {
        WebhookTopic(topic.replace('/', "_").to_ascii_uppercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscription {
    pub id: WebhookSubscriptionId,
    pub topic: WebhookTopic,
    pub uri: String,
    /// `JSON` or `XML`.
    pub format: String,
    pub filter: Option<String>,
    #[serde(deserialize_with = "nullable_vec")]
    pub include_fields: Vec<String>,
}

pub enum WebhookSubscriptions {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookSubscriptionsVariables {
    pub first: u32,
    pub after: Option<String>,
    /// `None` lists every topic.
    pub topics: Option<Vec<WebhookTopic>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionsResponse {
    pub webhook_subscriptions: Connection<WebhookSubscription>,
}

impl Operation for WebhookSubscriptions {
    const NAME: &'static str = "WebhookSubscriptions";
    const DOCUMENT: &'static str = include_str!("webhook_subscriptions.graphql");
    type Variables = WebhookSubscriptionsVariables;
    type Response = WebhookSubscriptionsResponse;

    fn estimate(v: &WebhookSubscriptionsVariables) -> f64 {
        2.0 + f64::from(v.first)
    }

    fn cost_key(v: &WebhookSubscriptionsVariables) -> String {
        format!("WebhookSubscriptions/{}", v.first)
    }
}

pub enum WebhookSubscriptionCreate {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionCreateVariables {
    pub topic: WebhookTopic,
    pub webhook_subscription: WebhookSubscriptionInput,
}

/// `WebhookSubscriptionInput` (`uri` replaces the deprecated `callbackUrl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionInput {
    pub uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_fields: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionCreateResponse {
    pub webhook_subscription_create: Option<WebhookSubscriptionCreatePayload>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionCreatePayload {
    pub webhook_subscription: Option<WebhookSubscription>,
    #[serde(deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

impl Operation for WebhookSubscriptionCreate {
    const NAME: &'static str = "WebhookSubscriptionCreate";
    const DOCUMENT: &'static str = include_str!("webhook_subscription_create.graphql");
    type Variables = WebhookSubscriptionCreateVariables;
    type Response = WebhookSubscriptionCreateResponse;

    fn estimate(_: &WebhookSubscriptionCreateVariables) -> f64 {
        10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_from_headers() {
        assert_eq!(
            WebhookTopic::from_header("orders/create").as_str(),
            "ORDERS_CREATE"
        );
        assert_eq!(
            WebhookTopic::from_header("inventory_levels/update").as_str(),
            "INVENTORY_LEVELS_UPDATE"
        );
    }
}
