//! The canonical records xconnector hands to the back office: one documented shape per kind
//! (see `docs/canonical-order.md`), whatever Shopify shape (REST webhook payload or GraphQL
//! query result) it was built from.

pub mod order;
