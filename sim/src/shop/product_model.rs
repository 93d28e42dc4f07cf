//! The catalogue's resources: products with their options, variants, inventory items, media,
//! collections and publications, and the records of asynchronous `productSet` operations.

use std::collections::BTreeMap;

use super::Id;
use super::enums::{MediaStatus, ProductStatus, WeightUnit};
use super::model::Metafield;
use super::money::Money;
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub id: Id,
    pub title: String,
    pub handle: String,
    pub vendor: String,
    pub product_type: String,
    pub status: ProductStatus,
    pub tags: Vec<String>,
    /// The description as the merchant wrote it (`descriptionHtml`, REST `body_html`); the
    /// plain-text `description` is derived from it.
    pub description_html: String,
    /// At most three (Shopify's limit), in position order.
    pub options: Vec<ProductOption>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    /// A `TaxonomyCategory` GID (`gid://shopify/TaxonomyCategory/aa-1`): taxonomy ids are not
    /// numeric, so the GID itself is kept.
    pub category: Option<String>,
    /// Keyed by (namespace, key).
    pub metafields: BTreeMap<(String, String), Metafield>,
    /// `MediaImage` ids ([`super::Shop::media`]), in display order.
    pub media: Vec<Id>,
    pub collection_ids: Vec<Id>,
    /// The shop's publications (sales channels) the product is published on.
    pub publication_ids: Vec<Id>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// In display order.
    pub variant_ids: Vec<Id>,
}

impl Product {
    pub fn metafield(&self, namespace: &str, key: &str) -> Option<&Metafield> {
        self.metafields
            .get(&(namespace.to_string(), key.to_string()))
    }

    /// The plain-text `description`: the HTML without its tags, entities decoded, whitespace
    /// collapsed.
    pub fn description(&self) -> String {
        plain_text(&self.description_html)
    }
}

/// HTML to the text a reader sees, as Shopify's `description` renders it.
pub fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                // Block boundaries separate words even when the HTML has no space there.
                text.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let decoded = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The name of a taxonomy category (its GID's last segment is the id). The simulator has no
/// taxonomy: a few well-known ids are named, others get a name derived from the id.
pub fn category_name(category_gid: &str) -> String {
    let id = category_gid.rsplit('/').next().unwrap_or_default();
    match id {
        "aa" => "Apparel & Accessories".to_string(),
        "aa-1" => "Clothing".to_string(),
        "aa-1-13" => "Clothing Tops".to_string(),
        "aa-2" => "Clothing Accessories".to_string(),
        "hg" => "Home & Garden".to_string(),
        "sg" => "Sporting Goods".to_string(),
        other => format!("Category {other}"),
    }
}

/// A product option (`ProductOption`): Size with S, M, L.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductOption {
    pub id: Id,
    pub name: String,
    /// From 1.
    pub position: u32,
    pub values: Vec<OptionValue>,
}

/// `ProductOptionValue`.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionValue {
    pub id: Id,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    pub id: Id,
    pub product_id: Id,
    /// The option values joined by " / " (`Default Title` for a product without options).
    pub title: String,
    /// (option name, value), one per product option, in the options' order.
    pub option_values: Vec<(String, String)>,
    pub sku: String,
    pub price: Money,
    pub compare_at_price: Option<Money>,
    pub barcode: Option<String>,
    pub position: u32,
    pub inventory_item_id: Id,
    pub taxable: bool,
    /// The inventory item's weight in grams, what orders' line items carry.
    pub grams: u32,
    /// `DENY` or `CONTINUE` (selling when out of stock).
    pub inventory_policy: &'static str,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Variant {
    /// The title of a variant with these option values.
    pub fn title_of(option_values: &[(String, String)]) -> String {
        let values: Vec<&str> = option_values.iter().map(|(_, v)| v.as_str()).collect();
        values.join(" / ")
    }

    /// The value of one option (`option1`..`option3` in REST payloads).
    pub fn option_value(&self, position: usize) -> Option<&str> {
        self.option_values.get(position).map(|(_, v)| v.as_str())
    }
}

/// `Weight`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weight {
    pub value: f64,
    pub unit: WeightUnit,
}

impl Weight {
    pub fn grams(grams: u32) -> Weight {
        Weight {
            value: f64::from(grams),
            unit: WeightUnit::Grams,
        }
    }

    /// The weight in whole grams (line items and REST `grams` have no finer unit).
    pub fn in_grams(&self) -> u32 {
        let factor = match self.unit {
            WeightUnit::Grams => 1.0,
            WeightUnit::Kilograms => 1000.0,
            WeightUnit::Ounces => 28.349_523_125,
            WeightUnit::Pounds => 453.592_37,
        };
        let grams = (self.value * factor).round();
        if grams.is_finite() && grams > 0.0 {
            grams.min(f64::from(u32::MAX)) as u32
        } else {
            0
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct InventoryItem {
    pub id: Id,
    pub variant_id: Id,
    pub sku: String,
    pub tracked: bool,
    pub requires_shipping: bool,
    pub cost: Option<Money>,
    /// `measurement.weight`, in the unit it was given in.
    pub weight: Weight,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A product image (`MediaImage`). Fetching the original is simulated when it is attached:
/// see [`super::media_fetch_fails`].
#[derive(Clone, Debug, PartialEq)]
pub struct MediaImage {
    pub id: Id,
    pub product_id: Id,
    pub alt: Option<String>,
    pub original_url: String,
    pub status: MediaStatus,
    /// (`MediaErrorCode`, message) when the status is `FAILED`.
    pub errors: Vec<(String, String)>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A custom collection.
#[derive(Clone, Debug, PartialEq)]
pub struct Collection {
    pub id: Id,
    pub handle: String,
    pub title: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A sales channel's publication (`Online Store`, `Point of Sale`).
#[derive(Clone, Debug, PartialEq)]
pub struct Publication {
    pub id: Id,
    pub name: String,
}

/// One `productSet` user error (`ProductSetUserError`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductUserError {
    pub field: Vec<String>,
    pub message: String,
    /// A `ProductSetUserErrorCode` value.
    pub code: &'static str,
}

/// An asynchronous `productSet` (`ProductSetOperation`). Its changes are applied when it is
/// created; reads report it `ACTIVE` once, then `COMPLETE`, so a client's polling loop runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductOperation {
    pub id: Id,
    /// The product written; `None` when the operation failed.
    pub product_id: Option<Id>,
    pub errors: Vec<ProductUserError>,
    /// `productOperation` reads so far.
    pub reads: u32,
}
