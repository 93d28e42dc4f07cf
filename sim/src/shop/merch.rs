//! What a merchandiser does to a product in the admin, between two syncs from the PIM: the
//! changes a connector must not overwrite blindly.

use super::*;

/// One merchandiser edit ([`Shop::merchandise`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Merch {
    AddTag(String),
    RemoveTag(String),
    SeoTitle(String),
    /// A collection id ([`Shop::collections`]).
    AddToCollection(Id),
    UnpublishFromPointOfSale,
}

impl Shop {
    /// Apply a merchandiser's edit; `products/update` when it changed the product, `Ok(false)`
    /// (no event) when it was already so.
    pub fn merchandise(&mut self, product_id: Id, merch: Merch) -> Result<bool, ShopError> {
        if let Merch::AddToCollection(collection) = merch
            && !self.collections.contains_key(&collection)
        {
            return Err(not_found("collection", collection));
        }
        let pos = self.publication_by_name(POINT_OF_SALE);
        self.update_product_if_changed(product_id, |p| match merch {
            Merch::AddTag(tag) => {
                let mut tags = p.tags.clone();
                tags.push(tag);
                p.tags = normalize_tags(&tags);
            }
            Merch::RemoveTag(tag) => p.tags.retain(|t| !t.eq_ignore_ascii_case(tag.trim())),
            Merch::SeoTitle(title) => p.seo_title = Some(title),
            Merch::AddToCollection(collection) => {
                if !p.collection_ids.contains(&collection) {
                    p.collection_ids.push(collection);
                }
            }
            Merch::UnpublishFromPointOfSale => p.publication_ids.retain(|id| Some(*id) != pos),
        })
    }
}
