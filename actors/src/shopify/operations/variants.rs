//! `ProductVariantsBySku`: which variant and inventory item a back-office SKU is.

use serde::{Deserialize, Serialize};

use super::{Connection, Operation, Ref, search_quote};
use crate::shopify::gid::{InventoryItemId, ProductVariantId};

/// SKUs per query: keeps the search string short and the page (two variants per SKU) ≤ 250.
pub const SKUS_PER_QUERY: usize = 50;

pub enum ProductVariantsBySku {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantsBySkuVariables {
    pub first: u32,
    pub after: Option<String>,
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantsBySkuResponse {
    pub product_variants: Connection<VariantBySku>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantBySku {
    pub id: ProductVariantId,
    pub sku: Option<String>,
    pub inventory_item: Ref<InventoryItemId>,
}

impl Operation for ProductVariantsBySku {
    const NAME: &'static str = "ProductVariantsBySku";
    const DOCUMENT: &'static str = include_str!("product_variants_by_sku.graphql");
    type Variables = VariantsBySkuVariables;
    type Response = VariantsBySkuResponse;

    fn estimate(v: &VariantsBySkuVariables) -> f64 {
        2.0 + 2.0 * f64::from(v.first)
    }

    fn cost_key(v: &VariantsBySkuVariables) -> String {
        format!("ProductVariantsBySku/{}", v.first)
    }
}

/// `sku:"A" OR sku:"B" …`
pub fn sku_query(skus: &[String]) -> String {
    skus.iter()
        .map(|s| format!("sku:{}", search_quote(s)))
        .collect::<Vec<_>>()
        .join(" OR ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_sku_search() {
        assert_eq!(
            sku_query(&["A-1".into(), "B \"2\"".into()]),
            r#"sku:"A-1" OR sku:"B \"2\"""#
        );
    }
}
