//! The event pump: every [`ShopEvent`] the shop emits becomes a REST webhook, rendered from the
//! shop's state ([`super::rest`]) and handed to the [`WebhookSender`] for every webhook
//! subscription that wants the topic, or, with a fixed URL, to that URL for every topic.

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;
use tracing::debug;

use super::webhooks::WebhookSender;
use super::{ShopEvent, ShopHandle, rest};

/// Where the pump delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    /// Each subscription's `uri` (`Shop::subscriptions_for`), as Shopify does.
    Subscriptions,
    /// This URL, for every topic (`[simulator] webhook_url`).
    Fixed(String),
}

/// The URLs an event of `topic` goes to.
pub fn urls_for(shop: &ShopHandle, targets: &Targets, topic: &str) -> Vec<String> {
    match targets {
        Targets::Fixed(url) => vec![url.clone()],
        Targets::Subscriptions => shop.with(|s| {
            let mut urls: Vec<String> = s.subscriptions_for(topic).map(|w| w.uri.clone()).collect();
            urls.dedup();
            urls
        }),
    }
}

/// Runs until the event channel closes (the shop is dropped) or the task is aborted.
pub fn spawn(
    shop: ShopHandle,
    mut events: UnboundedReceiver<ShopEvent>,
    sender: WebhookSender,
    targets: Targets,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let urls = urls_for(&shop, &targets, event.topic);
            if urls.is_empty() {
                continue;
            }
            let Some(payload) = shop.with(|s| rest::render(s, &event)) else {
                debug!(
                    topic = event.topic,
                    id = event.resource_id,
                    "no payload for event"
                );
                continue;
            };
            for url in &urls {
                sender.send_to(url, event.topic, &payload);
            }
        }
    })
}
