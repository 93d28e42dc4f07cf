//! Global IDs: `gid://shopify/{Type}/{id}`, optionally with parameters
//! (`gid://shopify/InventoryLevel/9?inventory_item_id=5`). The simulator's state uses plain
//! numeric ids; GIDs exist only at the API edge, rendered and parsed here.

/// Render `gid://shopify/{kind}/{id}`.
pub fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// Shopify's parameterized GID for an inventory level (what webhooks carry as
/// `admin_graphql_api_id` and what `InventoryLevel.id` returns).
pub fn inventory_level_gid(level_id: u64, item_id: u64) -> String {
    format!("gid://shopify/InventoryLevel/{level_id}?inventory_item_id={item_id}")
}

/// A parsed GID: the type name and the numeric id (parameters are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gid<'a> {
    pub kind: &'a str,
    pub id: u64,
}

/// Parse `gid://shopify/{kind}/{id}[?params]`; `None` if the text is not a Shopify GID.
pub fn parse(text: &str) -> Option<Gid<'_>> {
    let rest = text.strip_prefix("gid://shopify/")?;
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    let (kind, id) = rest.split_once('/')?;
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Gid {
        kind,
        id: id.parse().ok()?,
    })
}

/// The numeric id of a GID of the given type; `None` for another type or a malformed GID.
pub fn parse_kind(text: &str, kind: &str) -> Option<u64> {
    parse(text).filter(|g| g.kind == kind).map(|g| g.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_parameterized_gids() {
        assert_eq!(parse_kind("gid://shopify/Order/12", "Order"), Some(12));
        assert_eq!(parse_kind("gid://shopify/Order/12", "Customer"), None);
        let level = inventory_level_gid(9, 5);
        assert_eq!(
            parse(&level),
            Some(Gid {
                kind: "InventoryLevel",
                id: 9
            })
        );
        assert_eq!(parse("gid://shopify/Order/"), None);
        assert_eq!(parse("gid://shopify/Order/1x"), None);
        assert_eq!(parse("12"), None);
        assert_eq!(parse("gid://shopify/Order/99999999999999999999999"), None);
    }
}
