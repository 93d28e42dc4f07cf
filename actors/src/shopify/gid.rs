//! Shopify's global ids, typed by the resource they name.
//!
//! A GID is `gid://shopify/{Type}/{id}`, sometimes with parameters:
//! `gid://shopify/InventoryLevel/548380009?inventory_item_id=49148385` is what webhook payloads
//! carry in `admin_graphql_api_id` for an inventory level. Sending that to a field that expects
//! an InventoryItem is a classic integration bug ("Invalid id", dead-lettered events), so the
//! resource is part of the Rust type: a [`Gid<kind::InventoryLevel>`] is not a
//! [`Gid<kind::InventoryItem>`], and parsing (or deserializing) a string of one type as the
//! other fails with [`GidError::WrongType`]. Prefer building GIDs from numeric ids
//! ([`Gid::new`]); parse only what Shopify sent.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const PREFIX: &str = "gid://shopify/";

/// A Shopify resource type, named as in its GIDs.
pub trait Resource: 'static {
    const NAME: &'static str;
}

/// Marker types, one per resource the daemon names by id.
pub mod kind {
    macro_rules! kinds {
        ($($name:ident),* $(,)?) => {$(
            #[doc = concat!("`gid://shopify/", stringify!($name), "/…`")]
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum $name {}
            impl super::Resource for $name {
                const NAME: &'static str = stringify!($name);
            }
        )*};
    }
    kinds!(
        BulkOperation,
        Customer,
        Fulfillment,
        FulfillmentOrder,
        FulfillmentLineItem,
        FulfillmentOrderLineItem,
        InventoryAdjustmentGroup,
        InventoryItem,
        InventoryLevel,
        LineItem,
        Location,
        MailingAddress,
        Order,
        OrderTransaction,
        Product,
        ProductVariant,
        Refund,
        Return,
        ReturnLineItem,
        ReverseFulfillmentOrder,
        ReverseFulfillmentOrderLineItem,
        WebhookSubscription,
    );
}

pub type BulkOperationId = Gid<kind::BulkOperation>;
pub type CustomerId = Gid<kind::Customer>;
pub type FulfillmentId = Gid<kind::Fulfillment>;
pub type FulfillmentLineItemId = Gid<kind::FulfillmentLineItem>;
pub type FulfillmentOrderId = Gid<kind::FulfillmentOrder>;
pub type FulfillmentOrderLineItemId = Gid<kind::FulfillmentOrderLineItem>;
pub type InventoryItemId = Gid<kind::InventoryItem>;
pub type InventoryLevelId = Gid<kind::InventoryLevel>;
pub type LineItemId = Gid<kind::LineItem>;
pub type LocationId = Gid<kind::Location>;
pub type OrderId = Gid<kind::Order>;
pub type OrderTransactionId = Gid<kind::OrderTransaction>;
pub type ProductId = Gid<kind::Product>;
pub type ProductVariantId = Gid<kind::ProductVariant>;
pub type RefundId = Gid<kind::Refund>;
pub type ReturnId = Gid<kind::Return>;
pub type ReturnLineItemId = Gid<kind::ReturnLineItem>;
pub type ReverseFulfillmentOrderId = Gid<kind::ReverseFulfillmentOrder>;
pub type ReverseFulfillmentOrderLineItemId = Gid<kind::ReverseFulfillmentOrderLineItem>;
pub type WebhookSubscriptionId = Gid<kind::WebhookSubscription>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GidError {
    #[error("{0:?} is not a Shopify GID (expected gid://shopify/Type/123)")]
    Malformed(String),
    #[error("{gid:?} is a {found} GID; expected {expected}")]
    WrongType {
        gid: String,
        expected: &'static str,
        found: String,
    },
    #[error("{0:?} does not end in a numeric id")]
    BadId(String),
}

/// A GID whose type is only known at run time (e.g. a webhook's `admin_graphql_api_id`); turn
/// it into a typed one with [`AnyGid::typed`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnyGid {
    kind: String,
    id: u64,
    /// The raw parameters after `?`, kept so that the GID round-trips unchanged.
    params: Option<String>,
}

impl AnyGid {
    pub fn parse(s: &str) -> Result<AnyGid, GidError> {
        let malformed = || GidError::Malformed(s.to_string());
        let rest = s.strip_prefix(PREFIX).ok_or_else(malformed)?;
        let (path, params) = match rest.split_once('?') {
            Some((path, params)) => (path, Some(params)),
            None => (rest, None),
        };
        let (kind, id) = path.split_once('/').ok_or_else(malformed)?;
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(malformed());
        }
        // Digits only: u64::from_str would also take a leading '+'.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GidError::BadId(s.to_string()));
        }
        let id = id.parse().map_err(|_| GidError::BadId(s.to_string()))?;
        if params.is_some_and(|p| p.is_empty() || p.contains(char::is_whitespace)) {
            return Err(malformed());
        }
        Ok(AnyGid {
            kind: kind.to_string(),
            id,
            params: params.map(str::to_string),
        })
    }

    /// The resource type, e.g. `"InventoryLevel"`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn typed<T: Resource>(self) -> Result<Gid<T>, GidError> {
        if self.kind != T::NAME {
            return Err(GidError::WrongType {
                gid: self.to_string(),
                expected: T::NAME,
                found: self.kind,
            });
        }
        Ok(Gid {
            id: self.id,
            params: self.params,
            _kind: PhantomData,
        })
    }
}

impl fmt::Display for AnyGid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_gid(f, &self.kind, self.id, self.params.as_deref())
    }
}

/// The GID of a `T`.
pub struct Gid<T: Resource> {
    id: u64,
    params: Option<String>,
    _kind: PhantomData<fn() -> T>,
}

impl<T: Resource> Gid<T> {
    /// The GID of the `T` with this numeric (REST / legacy resource) id.
    pub fn new(id: u64) -> Gid<T> {
        Gid {
            id,
            params: None,
            _kind: PhantomData,
        }
    }

    pub fn parse(s: &str) -> Result<Gid<T>, GidError> {
        AnyGid::parse(s)?.typed()
    }

    /// The numeric id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The value of parameter `name` (`inventory_item_id` in an InventoryLevel GID).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .as_deref()?
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

impl Gid<kind::InventoryLevel> {
    /// The inventory item this level belongs to, when the GID says (webhook payloads do).
    pub fn inventory_item(&self) -> Option<InventoryItemId> {
        let id = self.param("inventory_item_id")?;
        if !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        id.parse().ok().map(Gid::new)
    }
}

fn write_gid(f: &mut fmt::Formatter<'_>, kind: &str, id: u64, params: Option<&str>) -> fmt::Result {
    write!(f, "{PREFIX}{kind}/{id}")?;
    if let Some(p) = params {
        write!(f, "?{p}")?;
    }
    Ok(())
}

impl<T: Resource> fmt::Display for Gid<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_gid(f, T::NAME, self.id, self.params.as_deref())
    }
}

impl<T: Resource> fmt::Debug for Gid<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gid({self})")
    }
}

impl<T: Resource> FromStr for Gid<T> {
    type Err = GidError;
    fn from_str(s: &str) -> Result<Self, GidError> {
        Gid::parse(s)
    }
}

// Manual impls: derives would demand the marker type implement them too.
impl<T: Resource> Clone for Gid<T> {
    fn clone(&self) -> Self {
        Gid {
            id: self.id,
            params: self.params.clone(),
            _kind: PhantomData,
        }
    }
}

impl<T: Resource> PartialEq for Gid<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.params == other.params
    }
}

impl<T: Resource> Eq for Gid<T> {}

impl<T: Resource> Hash for Gid<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.params.hash(state);
    }
}

impl<T: Resource> PartialOrd for Gid<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Resource> Ord for Gid<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.id, &self.params).cmp(&(other.id, &other.params))
    }
}

impl<T: Resource> Serialize for Gid<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, T: Resource> Deserialize<'de> for Gid<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Gid::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for AnyGid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AnyGid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        AnyGid::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses_plain_gids() {
        let order = OrderId::new(123);
        assert_eq!(order.to_string(), "gid://shopify/Order/123");
        assert_eq!(OrderId::parse("gid://shopify/Order/123"), Ok(order));
        assert_eq!(
            "gid://shopify/Location/9"
                .parse::<LocationId>()
                .map(|g| g.id()),
            Ok(9)
        );
    }

    #[test]
    fn an_inventory_level_gid_with_parameters_is_never_an_inventory_item() {
        let raw = "gid://shopify/InventoryLevel/548380009?inventory_item_id=49148385";
        let level = InventoryLevelId::parse(raw).unwrap();
        assert_eq!(level.id(), 548380009);
        assert_eq!(level.to_string(), raw, "round-trips with its parameters");
        assert_eq!(level.param("inventory_item_id"), Some("49148385"));
        assert_eq!(
            level.inventory_item(),
            Some(InventoryItemId::new(49148385)),
            "the item comes from the parameter, built from the numeric id"
        );

        let err = InventoryItemId::parse(raw).unwrap_err();
        assert!(
            matches!(&err, GidError::WrongType { expected: "InventoryItem", found, .. } if found == "InventoryLevel"),
            "{err:?}"
        );
        // Nor through serde, which is how responses and payloads arrive.
        let json = format!("{{\"id\":\"{raw}\"}}");
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Payload {
            id: InventoryItemId,
        }
        let err = serde_json::from_str::<Payload>(&json).unwrap_err();
        assert!(
            err.to_string()
                .contains("is a InventoryLevel GID; expected InventoryItem"),
            "{err}"
        );
        #[derive(Deserialize, Debug)]
        struct LevelPayload {
            id: InventoryLevelId,
        }
        assert_eq!(
            serde_json::from_str::<LevelPayload>(&json).unwrap().id,
            level
        );
    }

    #[test]
    fn rejects_malformed_input_without_panicking() {
        for bad in [
            "",
            "123",
            "gid://shopify/",
            "gid://shopify/Order",
            "gid://shopify/Order/",
            "gid://shopify//123",
            "gid://other/Order/123",
            "gid://shopify/Order/12a",
            "gid://shopify/Order/+12",
            "gid://shopify/Order/-1",
            "gid://shopify/Order/99999999999999999999999",
            "gid://shopify/Or der/1",
            "gid://shopify/Order/1?",
            "gid://shopify/Order/1/2",
            "GID://SHOPIFY/Order/1",
        ] {
            assert!(OrderId::parse(bad).is_err(), "{bad:?} was accepted");
            assert!(AnyGid::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(matches!(
            OrderId::parse("gid://shopify/Customer/1"),
            Err(GidError::WrongType { .. })
        ));
    }

    #[test]
    fn untyped_gids_become_typed_ones() {
        let any = AnyGid::parse("gid://shopify/ProductVariant/42").unwrap();
        assert_eq!(any.kind(), "ProductVariant");
        assert_eq!(
            any.clone().typed::<kind::ProductVariant>().unwrap().id(),
            42
        );
        assert!(any.typed::<kind::Product>().is_err());
    }

    #[test]
    fn serializes_as_the_gid_string() {
        let id = LocationId::new(7);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"gid://shopify/Location/7\""
        );
        let back: LocationId = serde_json::from_str("\"gid://shopify/Location/7\"").unwrap();
        assert_eq!(back, id);
    }
}
