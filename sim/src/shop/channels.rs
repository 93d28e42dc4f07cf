//! Collections and publications: where products are grouped and sold.

use super::*;

/// The online store's publication, where new products are published.
pub const ONLINE_STORE: &str = "Online Store";
/// The point of sale's publication.
pub const POINT_OF_SALE: &str = "Point of Sale";

impl Shop {
    /// A new custom collection (no event: collection webhooks are not emitted).
    pub fn add_collection(&mut self, handle: &str, title: &str) -> Id {
        let id = self.next_id();
        let now = self.now();
        self.collections.insert(
            id,
            Collection {
                id,
                handle: handle.to_string(),
                title: title.to_string(),
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    pub fn collection_by_handle(&self, handle: &str) -> Option<&Collection> {
        self.collections.values().find(|c| c.handle == handle)
    }

    /// A new publication (sales channel).
    pub fn add_publication(&mut self, name: &str) -> Id {
        let id = self.next_id();
        self.publications.insert(
            id,
            Publication {
                id,
                name: name.to_string(),
            },
        );
        id
    }

    pub fn publication_by_name(&self, name: &str) -> Option<Id> {
        self.publications
            .values()
            .find(|p| p.name == name)
            .map(|p| p.id)
    }
}
