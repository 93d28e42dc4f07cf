//! The canonical product (`docs/canonical-product.md`): what Shopify owns of a product, sent to
//! the PIM and the other targets when it changes. The catalogue the PIM owns (title,
//! description, variants, prices, media) is never sent back: only the merchandising done in
//! Shopify, in field groups, the unit of ownership and echo suppression.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::flows::write::echo::fingerprint;
use crate::shopify::operations::products::OwnedProduct;

pub const SCHEMA: &str = "xconnector.product.v1";

/// A field group of what Shopify owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Tags,
    Seo,
    Status,
    Collections,
    Publications,
    Metafields,
}

impl Group {
    pub const ALL: [Group; 6] = [
        Group::Tags,
        Group::Seo,
        Group::Status,
        Group::Collections,
        Group::Publications,
        Group::Metafields,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Group::Tags => "tags",
            Group::Seo => "seo",
            Group::Status => "status",
            Group::Collections => "collections",
            Group::Publications => "publications",
            Group::Metafields => "metafields",
        }
    }

    pub fn named(name: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        Group::ALL.iter().map(|g| g.name()).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Created or changed: the record is its current state.
    Upsert,
    /// Deleted in Shopify; only the ids (and the last known handle) are known.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// `xconnector.product.v1`
    pub schema: String,
    pub event: Event,
    /// `gid://shopify/Product/N`
    pub shopify_id: String,
    pub legacy_id: u64,
    pub handle: Option<String>,
    pub title: Option<String>,
    /// Back-office system → its id for this product, as xconnector knows them.
    pub external_ids: BTreeMap<String, String>,
    pub updated_at: Option<String>,
    /// The groups that changed since the last publication (all of them, the first time).
    pub changed: Vec<String>,
    pub tags: Vec<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    /// `active`, `draft`, `archived`, `unlisted`.
    pub status: Option<String>,
    /// Handles of the collections it is in.
    pub collections: Vec<String>,
    /// Names of the publications (sales channels) it is published on.
    pub publications: Vec<String>,
    /// Metafields other than xconnector's external ids, `namespace.key` → value.
    pub metafields: BTreeMap<String, String>,
}

impl Product {
    /// What Shopify owns of `p`; metafields in `external_namespace` are the external ids.
    pub fn from_graphql(p: &OwnedProduct, external_namespace: &str) -> Product {
        let mut external_ids = BTreeMap::new();
        let mut metafields = BTreeMap::new();
        for m in p.metafields.iter().flat_map(|c| &c.nodes) {
            if m.namespace == external_namespace {
                external_ids.insert(m.key.clone(), m.value.clone());
            } else {
                metafields.insert(format!("{}.{}", m.namespace, m.key), m.value.clone());
            }
        }
        let mut tags = p.tags.clone();
        tags.sort_by_key(|t| t.to_lowercase());
        let mut collections: Vec<String> = p
            .collections
            .iter()
            .flat_map(|c| &c.nodes)
            .map(|c| c.handle.clone())
            .collect();
        collections.sort();
        let mut publications: Vec<String> = p
            .resource_publications
            .iter()
            .flat_map(|c| &c.nodes)
            .filter(|r| r.is_published)
            .filter_map(|r| Some(r.publication.catalog.as_ref()?.title.clone()))
            .collect();
        publications.sort();
        let seo = p.seo.clone().unwrap_or_default();
        Product {
            schema: SCHEMA.into(),
            event: Event::Upsert,
            shopify_id: p.id.to_string(),
            legacy_id: p.id.id(),
            handle: Some(p.handle.clone()),
            title: Some(p.title.clone()),
            external_ids,
            updated_at: Some(p.updated_at.clone()),
            changed: Vec::new(),
            tags,
            seo_title: seo.title.filter(|t| !t.is_empty()),
            seo_description: seo.description.filter(|t| !t.is_empty()),
            status: Some(p.status.to_lowercase()),
            collections,
            publications,
            metafields,
        }
    }

    /// A deleted product, with what was last known of it.
    pub fn gone(id: u64, known: Option<&Product>) -> Product {
        Product {
            schema: SCHEMA.into(),
            event: Event::Deleted,
            shopify_id: format!("gid://shopify/Product/{id}"),
            legacy_id: id,
            handle: known.and_then(|k| k.handle.clone()),
            title: known.and_then(|k| k.title.clone()),
            external_ids: known.map(|k| k.external_ids.clone()).unwrap_or_default(),
            updated_at: None,
            changed: Vec::new(),
            tags: Vec::new(),
            seo_title: None,
            seo_description: None,
            status: None,
            collections: Vec::new(),
            publications: Vec::new(),
            metafields: BTreeMap::new(),
        }
    }

    pub fn fingerprints(&self) -> BTreeMap<String, u64> {
        Group::ALL
            .iter()
            .map(|g| (g.name().to_string(), self.fingerprint(*g)))
            .collect()
    }

    /// One group's fingerprint; tags compare without regard to case, as Shopify's do.
    pub fn fingerprint(&self, group: Group) -> u64 {
        let value = match group {
            Group::Tags => {
                let tags: Vec<String> = self.tags.iter().map(|t| t.to_lowercase()).collect();
                json!(tags)
            }
            Group::Seo => json!([self.seo_title, self.seo_description]),
            Group::Status => json!([self.event, self.status]),
            Group::Collections => json!(self.collections),
            Group::Publications => json!(self.publications),
            Group::Metafields => json!(self.metafields),
        };
        fingerprint(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(tags: &[&str]) -> OwnedProduct {
        serde_json::from_value(json!({
            "id": "gid://shopify/Product/9", "legacyResourceId": "9", "handle": "red-shirt",
            "title": "Red shirt", "updatedAt": "2026-06-01T00:00:00Z", "status": "ACTIVE",
            "tags": tags, "seo": {"title": null, "description": ""},
            "metafields": {"nodes": [
                {"namespace": "xconnector", "key": "pim", "type": "single_line_text_field", "value": "P-1"},
                {"namespace": "custom", "key": "badge", "type": "single_line_text_field", "value": "new"}]},
            "collections": {"nodes": [{"handle": "summer", "title": "Summer"}]},
            "resourcePublications": {"nodes": [
                {"isPublished": true, "publication": {"catalog": {"title": "Online Store"}}},
                {"isPublished": false, "publication": {"catalog": {"title": "Point of Sale"}}}]}
        }))
        .unwrap()
    }

    #[test]
    fn the_external_ids_are_not_merchandising_and_groups_change_alone() {
        let p = Product::from_graphql(&owned(&["b", "A"]), "xconnector");
        assert_eq!(p.external_ids["pim"], "P-1");
        assert_eq!(p.metafields.len(), 1);
        assert_eq!(p.publications, ["Online Store"]);
        assert_eq!(p.seo_description, None, "an empty SEO text is none");
        let q = Product::from_graphql(&owned(&["a", "B"]), "xconnector");
        assert_eq!(p.fingerprints(), q.fingerprints(), "tag case and order");
        let r = Product::from_graphql(&owned(&["a", "b", "sale"]), "xconnector");
        let changed: Vec<&str> = Group::ALL
            .into_iter()
            .filter(|g| p.fingerprint(*g) != r.fingerprint(*g))
            .map(Group::name)
            .collect();
        assert_eq!(changed, ["tags"]);
    }
}
