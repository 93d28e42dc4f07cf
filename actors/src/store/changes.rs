//! What the store changed, for whoever watches live (the control API's event stream, and
//! through it the TUI): one notice per committed group, sent only after its fsync, so a watcher
//! that reads an item on hearing of it reads what was made durable.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::item::ItemId;

/// Ids kept per notice; past this a notice only names its flows, like a flow-wide change.
pub const MAX_IDS: usize = 1000;

/// Notices buffered per watcher; a watcher that falls further behind hears
/// [`Changes::everything`] instead of what it missed.
const BUFFER: usize = 256;

/// Items that changed (created, claimed, completed, acted on, pruned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Every flow with a changed item. Empty with `ids: None`: anything may have changed.
    pub flows: BTreeSet<String>,
    /// The changed items, when known; `None` when any item of `flows` may have changed (a
    /// flow-wide step such as a release, a bulk job or a prune, or too many to name).
    pub ids: Option<BTreeSet<ItemId>>,
}

impl Changes {
    pub fn everything() -> Changes {
        Changes {
            flows: BTreeSet::new(),
            ids: None,
        }
    }

    pub fn known() -> Changes {
        Changes {
            flows: BTreeSet::new(),
            ids: Some(BTreeSet::new()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty() && self.ids.as_ref().is_some_and(|i| i.is_empty())
    }

    /// Everything changed: no flow is named and ids are unknown.
    pub fn is_everything(&self) -> bool {
        self.flows.is_empty() && self.ids.is_none()
    }

    pub fn item(&mut self, flow: &str, id: ItemId) {
        if self.is_everything() {
            return;
        }
        self.flows.insert(flow.to_string());
        if let Some(ids) = &mut self.ids {
            ids.insert(id);
            if ids.len() > MAX_IDS {
                self.ids = None;
            }
        }
    }

    /// Any item of `flow` may have changed.
    pub fn flow(&mut self, flow: &str) {
        if self.is_everything() {
            return;
        }
        self.flows.insert(flow.to_string());
        self.ids = None;
    }

    /// Adds `other`; a flow-wide change anywhere makes the ids unknown for every flow named
    /// (a watcher then re-reads a little more than it must, never less).
    pub fn merge(&mut self, other: &Changes) {
        if self.is_everything() {
            return;
        }
        if other.is_everything() {
            *self = Changes::everything();
            return;
        }
        self.flows.extend(other.flows.iter().cloned());
        match (&mut self.ids, &other.ids) {
            (Some(mine), Some(theirs)) => {
                mine.extend(theirs.iter().copied());
                if mine.len() > MAX_IDS {
                    self.ids = None;
                }
            }
            _ => self.ids = None,
        }
    }

    /// Whether `id` of `flow` may be among the changes.
    pub fn touches(&self, flow: &str, id: ItemId) -> bool {
        if self.is_everything() {
            return true;
        }
        self.flows.contains(flow) && self.ids.as_ref().is_none_or(|ids| ids.contains(&id))
    }

    /// Whether any item of `flow` (any flow, for `None`) may be among the changes.
    pub fn touches_flow(&self, flow: Option<&str>) -> bool {
        self.is_everything() || (!self.is_empty() && flow.is_none_or(|f| self.flows.contains(f)))
    }
}

/// The writer's side: collects a group's changes and publishes them after the fsync.
pub struct ChangeFeed {
    tx: broadcast::Sender<Arc<Changes>>,
    pending: Changes,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        ChangeFeed {
            tx: broadcast::channel(BUFFER).0,
            pending: Changes::known(),
        }
    }
}

impl ChangeFeed {
    pub fn watch(&self) -> broadcast::Receiver<Arc<Changes>> {
        self.tx.subscribe()
    }

    /// Whether anyone listens: nothing is collected otherwise.
    pub fn watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn pending(&mut self) -> Option<&mut Changes> {
        self.watched().then_some(&mut self.pending)
    }

    /// Sends what the group changed; called once it is durable.
    pub fn publish(&mut self) {
        let changes = std::mem::replace(&mut self.pending, Changes::known());
        if !changes.is_empty() {
            let _ = self.tx.send(Arc::new(changes));
        }
    }

    /// The group was not made durable: nothing of it happened.
    pub fn discard(&mut self) {
        self.pending = Changes::known();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_items_stay_named_until_a_flow_wide_change() {
        let mut c = Changes::known();
        c.item("orders", ItemId(1));
        assert!(c.touches("orders", ItemId(1)));
        assert!(!c.touches("orders", ItemId(2)));
        assert!(!c.touches("inventory", ItemId(1)));
        assert!(c.touches_flow(Some("orders")));
        assert!(!c.touches_flow(Some("inventory")));
        assert!(c.touches_flow(None));
        c.flow("orders");
        assert!(c.touches("orders", ItemId(2)));
        assert!(!c.touches("inventory", ItemId(2)));
    }

    #[test]
    fn too_many_ids_become_their_flows() {
        let mut c = Changes::known();
        for i in 0..=MAX_IDS as u64 {
            c.item("orders", ItemId(i));
        }
        assert_eq!(c.ids, None);
        assert!(c.touches("orders", ItemId(u64::MAX)));
        assert!(!c.touches("inventory", ItemId(1)));
    }

    #[test]
    fn merging_keeps_the_wider_of_the_two() {
        let mut a = Changes::known();
        a.item("orders", ItemId(1));
        let mut b = Changes::known();
        b.item("customers", ItemId(2));
        a.merge(&b);
        assert!(a.touches("customers", ItemId(2)) && a.touches("orders", ItemId(1)));
        assert!(!a.touches("orders", ItemId(3)) && !a.touches("inventory", ItemId(1)));
        a.merge(&Changes::everything());
        assert!(a.is_everything() && a.touches("returns", ItemId(9)));
        let mut empty = Changes::known();
        assert!(empty.is_empty() && !empty.touches_flow(None));
        empty.merge(&b);
        assert!(!empty.is_empty());
    }

    #[test]
    fn nothing_is_published_without_a_watcher_or_a_change() {
        let mut feed = ChangeFeed::default();
        assert!(feed.pending().is_none());
        let mut rx = feed.watch();
        feed.publish();
        assert!(rx.try_recv().is_err());
        if let Some(p) = feed.pending() {
            p.item("orders", ItemId(7));
        }
        feed.publish();
        let got = rx.try_recv().expect("a notice");
        assert!(got.touches("orders", ItemId(7)));
        if let Some(p) = feed.pending() {
            p.item("orders", ItemId(8));
        }
        feed.discard();
        feed.publish();
        assert!(rx.try_recv().is_err());
    }
}
