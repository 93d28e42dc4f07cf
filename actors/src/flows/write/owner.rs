//! Which side owns a field group of a record both Shopify and a back-office system change.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// Changed in Shopify: the back office may not change it (customers), or only sets it on
    /// a record it creates (products).
    Shopify,
    /// Changed by the back office: a change made in Shopify is a conflict, or not sent back.
    Backoffice,
    /// Either; the later change wins.
    Both,
}
