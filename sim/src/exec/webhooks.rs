//! `webhookSubscriptions`, `webhookSubscription`, `webhookSubscriptionCreate`,
//! `webhookSubscriptionDelete`: where the webhook sender delivers each topic.
//!
//! Addresses follow Shopify's rules — HTTPS, `pubsub://project:topic` or an EventBridge ARN —
//! with one allowance for a local simulator: plain `http://` to a loopback host
//! (`127.0.0.1`, `localhost`, `[::1]`), so tests and the demo can receive webhooks without TLS.

use serde_json::{Value, json};

use super::objects::webhook_subscription_tree;
use super::{RootCtx, RootError};
use crate::gid::{self, gid};
use crate::pagination::{SortKey, SortValue};
use crate::search::{FieldValue, Searchable};
use crate::shop::{Shop, WebhookSubscription};

impl Searchable for WebhookSubscription {
    fn search_fields() -> &'static [&'static str] {
        &["topic", "id", "created_at", "updated_at"]
    }

    fn field_values(&self, field: &str) -> Vec<FieldValue> {
        match field {
            "topic" => vec![FieldValue::Text(self.topic.clone())],
            "id" => vec![FieldValue::Int(self.id as i64)],
            "created_at" => vec![FieldValue::Time(self.created_at)],
            "updated_at" => vec![FieldValue::Time(self.updated_at)],
            _ => Vec::new(),
        }
    }

    fn default_text(&self) -> Vec<String> {
        vec![self.topic.clone(), self.uri.clone()]
    }
}

pub(super) fn subscriptions(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let topics: Option<Vec<String>> = ctx.args.get("topics").and_then(|t| t.as_array()).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    });
    let uri = ctx
        .args
        .get("uri")
        .or_else(|| ctx.args.get("callbackUrl"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let format = ctx
        .args
        .get("format")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let by_id = ctx.args.get("sortKey").and_then(|v| v.as_str()) == Some("ID");
    let sort = move |s: &WebhookSubscription| -> SortKey {
        if by_id {
            (SortValue::Int(s.id as i64), s.id)
        } else {
            (SortValue::Int(s.created_at.0), s.id)
        }
    };
    let matching = shop.webhook_subscriptions.values().filter(move |s| {
        topics.as_ref().is_none_or(|t| t.contains(&s.topic))
            && uri.as_ref().is_none_or(|u| *u == s.uri)
            && format.as_ref().is_none_or(|f| *f == s.format)
    });
    ctx.search_connection(matching, sort, webhook_subscription_tree)
}

pub(super) fn subscription(shop: &Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    Ok(ctx
        .id_arg("id", "WebhookSubscription")?
        .and_then(|id| shop.webhook_subscriptions.get(&id))
        .map_or(Value::Null, webhook_subscription_tree))
}

fn user_error(field: &[&str], message: &str) -> Value {
    json!({"__typename": "UserError", "field": field, "message": message})
}

/// Why an address is refused, if it is.
fn address_problem(uri: &str) -> Option<&'static str> {
    if uri.trim().is_empty() {
        return Some("Address can't be blank");
    }
    if uri.chars().any(char::is_whitespace) {
        return Some("Address is invalid");
    }
    if let Some(rest) = uri.strip_prefix("https://") {
        return host(rest).is_none().then_some("Address is invalid");
    }
    if let Some(rest) = uri.strip_prefix("http://") {
        return match host(rest) {
            Some("127.0.0.1" | "localhost" | "[::1]") => None,
            Some(_) => Some("Address protocol http:// is not supported"),
            None => Some("Address is invalid"),
        };
    }
    if let Some(rest) = uri.strip_prefix("pubsub://") {
        let ok = rest
            .split_once(':')
            .is_some_and(|(p, t)| !p.is_empty() && !t.is_empty());
        return (!ok).then_some("Address is invalid");
    }
    if uri.starts_with("arn:aws:events:") {
        return None;
    }
    Some("Address is invalid")
}

/// The host of `host[:port][/path]`, without the port.
fn host(rest: &str) -> Option<&str> {
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

pub(super) fn create(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let topic = ctx
        .args
        .get("topic")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let input = ctx
        .args
        .get("webhookSubscription")
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default();
    let text = |k: &str| input.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let (uri, uri_field) = match (text("uri"), text("callbackUrl")) {
        (Some(u), _) => (u, "uri"),
        (None, Some(u)) => (u, "callbackUrl"),
        (None, None) => (String::new(), "uri"),
    };
    let name = text("name");
    let mut errors = Vec::new();
    if let Some(problem) = address_problem(&uri) {
        errors.push(user_error(&["webhookSubscription", uri_field], problem));
    } else if shop
        .webhook_subscriptions
        .values()
        .any(|s| s.topic == topic && s.uri == uri)
    {
        errors.push(user_error(
            &["webhookSubscription", uri_field],
            "Address for this topic has already been taken",
        ));
    }
    if let Some(n) = &name {
        let valid = !n.is_empty()
            && n.len() <= 50
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            errors.push(user_error(
                &["webhookSubscription", "name"],
                "Name can only contain letters, numbers, hyphens and underscores, up to 50 characters",
            ));
        }
    }
    if !errors.is_empty() {
        return Ok(json!({
            "__typename": "WebhookSubscriptionCreatePayload",
            "webhookSubscription": Value::Null,
            "userErrors": errors,
        }));
    }
    let id = shop.create_webhook_subscription(&topic, &uri);
    if let Some(sub) = shop.webhook_subscriptions.get_mut(&id) {
        sub.name = name;
        sub.filter = text("filter");
        if let Some(format) = text("format") {
            sub.format = format;
        }
        sub.include_fields = input
            .get("includeFields")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
    }
    let tree = shop
        .webhook_subscriptions
        .get(&id)
        .map_or(Value::Null, webhook_subscription_tree);
    Ok(json!({
        "__typename": "WebhookSubscriptionCreatePayload",
        "webhookSubscription": tree,
        "userErrors": [],
    }))
}

pub(super) fn delete(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let text = ctx
        .args
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let deleted = gid::parse_kind(text, "WebhookSubscription")
        .and_then(|id| shop.delete_webhook_subscription(id).ok());
    Ok(match deleted {
        Some(sub) => json!({
            "__typename": "WebhookSubscriptionDeletePayload",
            "deletedWebhookSubscriptionId": gid("WebhookSubscription", sub.id),
            "userErrors": [],
        }),
        None => json!({
            "__typename": "WebhookSubscriptionDeletePayload",
            "deletedWebhookSubscriptionId": Value::Null,
            "userErrors": [user_error(&["id"], "Webhook subscription does not exist")],
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_shopify_with_a_loopback_allowance() {
        assert_eq!(address_problem("https://example.com/hooks"), None);
        assert_eq!(
            address_problem("http://127.0.0.1:8080/webhooks/shopify"),
            None
        );
        assert_eq!(address_problem("http://localhost/x"), None);
        assert!(address_problem("http://example.com/x").is_some());
        assert_eq!(address_problem("pubsub://proj:topic"), None);
        assert!(address_problem("pubsub://proj").is_some());
        assert!(address_problem("ftp://x").is_some());
        assert!(address_problem("").is_some());
        assert!(address_problem("https://").is_some());
    }
}
