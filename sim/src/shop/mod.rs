//! The simulated shop's state: plain data, numeric ids, and the mutating methods that tests, the
//! traffic generator and the GraphQL mutations use.
//!
//! Three rules hold for every change made through a method here:
//! - it pushes a [`ShopEvent`] (the webhook topic and the resource id) to the event sender, so
//!   the webhook sender can render the REST payload from this state and deliver it;
//! - it moves the resource's `updated_at` strictly forward (see [`Shop::touch`]), because clients
//!   reconcile with `updated_at:>…` and must never see a change without a newer timestamp;
//! - it keeps derived numbers consistent (stock committed by an order, `on_hand`, totals).
//!
//! Fields are public so tests and the traffic generator can read anything; change state through
//! the methods when the change should be visible as an event.
//!
//! Here: the [`Shop`] itself, its clock, ids and events. The data types are in `model`
//! (resources), `enums`, `money` and `specs` (what callers pass to create things); the methods
//! that change the shop are grouped by subject in `catalog`, `inventory`, `customers`,
//! `orders` and `fulfillments` (fulfillment orders, fulfilling, holds, tracking and carrier
//! events, with their types in `fulfillment_model`), `returns` (the return lifecycle),
//! `refunds` (refunding, with what units are worth in `refund_money`) and `payments` (the
//! order's transactions), their types in `return_model` and `return_specs`; the catalogue's own types are in
//! `product_model`, and the product writes in
//! `products` (`productSet` and friends), `media`, `channels` (collections and publications)
//! and `merch` (what a merchandiser does in the admin).

mod catalog;
mod channels;
mod customers;
mod enums;
mod fulfillment_model;
mod fulfillments;
mod inventory;
mod media;
mod merch;
mod model;
mod money;
mod orders;
mod payments;
mod product_model;
mod products;
mod refund_money;
mod refunds;
mod return_model;
mod return_specs;
mod returns;
mod specs;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

pub use channels::{ONLINE_STORE, POINT_OF_SALE};
pub use customers::{normalize_phone, normalize_tags};
pub use enums::*;
pub use fulfillment_model::*;
pub use fulfillments::{FulfillError, HoldError};
pub use media::media_fetch_fails;
pub use merch::Merch;
pub use model::*;
pub use money::Money;
pub use payments::{REFUND_FAILURE_CODE, REFUND_FAILURE_MESSAGE, RefundFaults};
pub use product_model::*;
pub use products::{FileDraft, MAX_OPTIONS, MAX_VARIANTS, ProductDraft, VariantDraft, handleize};
pub use refund_money::{LineMoney, UnitsMoney, line_money, units_money};
pub use refunds::{RefundError, RefundOutcome};
pub use return_model::*;
pub use return_specs::*;
pub use returns::ReturnError;
pub use specs::*;

use super::idempotency::IdempotencyStore;
use super::ledger::Ledger;
use super::time::Timestamp;

/// Numeric resource id (the GID's last segment, REST's `id`).
pub type Id = u64;

/// What the shop numbers things with: what a restarted shop continues from (see
/// [`crate::ledger`]), so that nothing it hands out names something from before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    /// One sequence for every resource type, so an id names exactly one resource.
    pub next_id: Id,
    pub next_order_number: u64,
    pub next_event_id: u64,
    /// Numbers the emails of customers the traffic signs up.
    pub next_signup: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            next_id: 1_000_001,
            next_order_number: 1001,
            next_event_id: 1,
            next_signup: 1,
        }
    }
}

impl Counters {
    /// Each counter at the larger of the two.
    pub fn max(self, other: Counters) -> Counters {
        Counters {
            next_id: self.next_id.max(other.next_id),
            next_order_number: self.next_order_number.max(other.next_order_number),
            next_event_id: self.next_event_id.max(other.next_event_id),
            next_signup: self.next_signup.max(other.next_signup),
        }
    }

    /// Every counter at or past `other`'s.
    pub fn covers(&self, other: &Counters) -> bool {
        self.max(*other) == *self
    }
}

/// One state change, named by its webhook topic. The webhook sender renders the payload from
/// the shop's state when it receives this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopEvent {
    /// The webhook topic, e.g. `"orders/create"` (see [`topics`]).
    pub topic: &'static str,
    /// The changed resource's numeric id. For `inventory_levels/update` this is the level's id
    /// ([`Shop::inventory_level_by_id`]); for `refunds/create` the refund's, and so on.
    pub resource_id: Id,
    /// Unique per event, for `X-Shopify-Event-Id`.
    pub event_id: u64,
    /// When the change happened, for `X-Shopify-Triggered-At`.
    pub triggered_at: Timestamp,
}

/// The webhook topics the shop emits.
pub mod topics {
    pub const ORDERS_CREATE: &str = "orders/create";
    pub const ORDERS_UPDATED: &str = "orders/updated";
    pub const ORDERS_CANCELLED: &str = "orders/cancelled";
    pub const ORDERS_PAID: &str = "orders/paid";
    pub const ORDERS_FULFILLED: &str = "orders/fulfilled";
    pub const ORDERS_PARTIALLY_FULFILLED: &str = "orders/partially_fulfilled";
    pub const INVENTORY_LEVELS_UPDATE: &str = "inventory_levels/update";
    pub const CUSTOMERS_CREATE: &str = "customers/create";
    pub const CUSTOMERS_UPDATE: &str = "customers/update";
    /// The resource id is the deleted customer's (see [`super::Shop::deleted_customers`]).
    pub const CUSTOMERS_DELETE: &str = "customers/delete";
    pub const CUSTOMERS_ENABLE: &str = "customers/enable";
    pub const CUSTOMERS_DISABLE: &str = "customers/disable";
    /// The resource id is the merge's (see [`super::Shop::customer_merges`]).
    pub const CUSTOMERS_MERGE: &str = "customers/merge";
    pub const CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE: &str =
        "customers_email_marketing_consent/update";
    /// SMS marketing consent (Shopify's name for the topic predates email having its own).
    pub const CUSTOMERS_MARKETING_CONSENT_UPDATE: &str = "customers_marketing_consent/update";
    pub const PRODUCTS_CREATE: &str = "products/create";
    pub const PRODUCTS_UPDATE: &str = "products/update";
    /// The resource id is the deleted product's (see [`super::Shop::deleted_products`]).
    pub const PRODUCTS_DELETE: &str = "products/delete";
    pub const FULFILLMENTS_CREATE: &str = "fulfillments/create";
    /// Tracking changed or a carrier event was recorded.
    pub const FULFILLMENTS_UPDATE: &str = "fulfillments/update";
    pub const RETURNS_REQUEST: &str = "returns/request";
    pub const RETURNS_APPROVE: &str = "returns/approve";
    pub const RETURNS_DECLINE: &str = "returns/decline";
    /// Units of an open return were processed (the resource id is the return's).
    pub const RETURNS_PROCESS: &str = "returns/process";
    pub const RETURNS_CLOSE: &str = "returns/close";
    pub const RETURNS_CANCEL: &str = "returns/cancel";
    pub const RETURNS_REOPEN: &str = "returns/reopen";
    /// Any change to a return after its request, sent after the change's own topic.
    pub const RETURNS_UPDATE: &str = "returns/update";
    pub const REFUNDS_CREATE: &str = "refunds/create";

    /// The GraphQL `WebhookSubscriptionTopic` value for a topic: `orders/create` → `ORDERS_CREATE`.
    pub fn to_enum(topic: &str) -> String {
        topic.replace('/', "_").to_ascii_uppercase()
    }
}

/// Why a shop method refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShopError {
    #[error("no {kind} with id {id}")]
    NotFound { kind: &'static str, id: Id },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Fulfill(#[from] FulfillError),
    #[error(transparent)]
    Return(#[from] ReturnError),
    #[error(transparent)]
    Refund(#[from] RefundError),
}

fn not_found(kind: &'static str, id: Id) -> ShopError {
    ShopError::NotFound { kind, id }
}

/// The whole shop.
#[derive(Debug)]
pub struct Shop {
    /// `shop { name }`.
    pub name: String,
    /// `name.myshopify.com`.
    pub domain: String,
    /// ISO currency of all money (the simulator has no multi-currency).
    pub currency: String,
    pub email: String,
    pub locations: BTreeMap<Id, Location>,
    pub products: BTreeMap<Id, Product>,
    /// Products deleted: `products/delete` is rendered from the id alone.
    pub deleted_products: BTreeSet<Id>,
    pub variants: BTreeMap<Id, Variant>,
    /// Product images, by id.
    pub media: BTreeMap<Id, MediaImage>,
    pub collections: BTreeMap<Id, Collection>,
    pub publications: BTreeMap<Id, Publication>,
    /// Asynchronous `productSet` operations, for `productOperation`.
    pub product_operations: BTreeMap<Id, ProductOperation>,
    /// Share (0 to 1) of image URLs whose download fails: [`Faults::media_fetch_failure`],
    /// copied here because media are fetched while a mutation runs under the shop's lock.
    ///
    /// [`Faults::media_fetch_failure`]: crate::Faults::media_fetch_failure
    pub media_fetch_failure: f64,
    pub inventory_items: BTreeMap<Id, InventoryItem>,
    /// Keyed by (inventory item id, location id): what the inventory mutations address.
    pub inventory_levels: BTreeMap<(Id, Id), InventoryLevel>,
    pub customers: BTreeMap<Id, Customer>,
    /// Customers deleted (or merged away): `customers/delete` is rendered after the customer
    /// is gone, from the id alone.
    pub deleted_customers: BTreeSet<Id>,
    /// By merge id, the resource id of `customers/merge` events.
    pub customer_merges: BTreeMap<Id, CustomerMerge>,
    pub orders: BTreeMap<Id, Order>,
    pub fulfillment_orders: BTreeMap<Id, FulfillmentOrder>,
    pub fulfillments: BTreeMap<Id, Fulfillment>,
    pub returns: BTreeMap<Id, Return>,
    pub refunds: BTreeMap<Id, Refund>,
    /// Payments and refunds of every order (`Order::transaction_ids` says whose).
    pub transactions: BTreeMap<Id, Transaction>,
    /// What the simulated payment gateway does with refunds: [`Faults::refund_pending`] and
    /// [`Faults::refund_failure`], copied here because refunds are made under the shop's lock.
    ///
    /// [`Faults::refund_pending`]: crate::Faults::refund_pending
    /// [`Faults::refund_failure`]: crate::Faults::refund_failure
    pub refund_faults: RefundFaults,
    /// SKUs that sell a unit ahead of every write naming them ([`crate::Faults`]).
    pub selling_while_written: BTreeSet<String>,
    /// Render `returns/process` as Shopify's documented example body, `{}`, so a client's
    /// path for a payload that names nothing can be tested. Off: the body names the return.
    pub bare_returns_process: bool,
    pub webhook_subscriptions: BTreeMap<Id, WebhookSubscription>,
    pub adjustment_groups: BTreeMap<Id, InventoryAdjustmentGroup>,
    /// `bulkOperationRunQuery` results.
    pub bulk: crate::bulk::BulkOperations,
    /// Level id → (item, location): levels are addressed by id in GIDs and events, by the
    /// pair everywhere else.
    level_index: std::collections::HashMap<Id, (Id, Id)>,
    /// Results of `@idempotent` mutations, so a replayed key is answered, not applied.
    pub(crate) idempotency: IdempotencyStore,
    counters: Counters,
    /// Where the counters are kept across restarts; none: the shop starts over every time.
    ledger: Option<Ledger>,
    /// A pinned clock for tests; `None` follows the wall clock.
    clock: Option<Timestamp>,
    events: Option<UnboundedSender<ShopEvent>>,
}

impl Shop {
    /// An empty shop.
    pub fn new(name: &str, domain: &str, currency: &str) -> Shop {
        Shop {
            name: name.to_string(),
            domain: domain.to_string(),
            currency: currency.to_string(),
            email: format!("owner@{domain}"),
            locations: BTreeMap::new(),
            products: BTreeMap::new(),
            deleted_products: BTreeSet::new(),
            variants: BTreeMap::new(),
            media: BTreeMap::new(),
            collections: BTreeMap::new(),
            publications: BTreeMap::new(),
            product_operations: BTreeMap::new(),
            media_fetch_failure: 0.0,
            inventory_items: BTreeMap::new(),
            inventory_levels: BTreeMap::new(),
            customers: BTreeMap::new(),
            deleted_customers: BTreeSet::new(),
            customer_merges: BTreeMap::new(),
            orders: BTreeMap::new(),
            fulfillment_orders: BTreeMap::new(),
            fulfillments: BTreeMap::new(),
            returns: BTreeMap::new(),
            refunds: BTreeMap::new(),
            transactions: BTreeMap::new(),
            refund_faults: RefundFaults::default(),
            selling_while_written: BTreeSet::new(),
            bare_returns_process: false,
            webhook_subscriptions: BTreeMap::new(),
            adjustment_groups: BTreeMap::new(),
            bulk: Default::default(),
            level_index: std::collections::HashMap::new(),
            idempotency: IdempotencyStore::default(),
            counters: Counters::default(),
            ledger: None,
            clock: None,
            events: None,
        }
    }

    /// Where events go from now on (the simulator attaches its channel at start).
    pub fn set_event_sender(&mut self, sender: Option<UnboundedSender<ShopEvent>>) {
        self.events = sender;
    }

    /// Pin the clock (tests), or `None` to follow the wall clock.
    pub fn set_clock(&mut self, now: Option<Timestamp>) {
        self.clock = now;
    }

    /// Advance a pinned clock (no effect when following the wall clock).
    pub fn advance_clock(&mut self, secs: i64) {
        if let Some(now) = self.clock.as_mut() {
            *now = now.plus_secs(secs);
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.unwrap_or_else(Timestamp::now)
    }

    /// The next `updated_at` for a resource last updated at `previous`: now, or one second
    /// after `previous` if the clock has not moved past it. Keeps `updated_at` strictly
    /// increasing per resource even with second precision and several changes per second.
    pub fn touch(&self, previous: Timestamp) -> Timestamp {
        let now = self.now();
        if now > previous {
            now
        } else {
            previous.plus_secs(1)
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Keep the counters in `ledger` from now on: continue from what it holds (never below
    /// where the seed left them), and have it written ahead of whatever is handed out.
    pub fn keep_counters(&mut self, mut ledger: Ledger) {
        self.counters = ledger.resume(self.counters);
        self.ledger = Some(ledger);
    }

    /// Write the counters as they are, at a clean stop: the next start continues without a gap.
    pub fn save_counters(&mut self) {
        let counters = self.counters;
        if let Some(ledger) = &mut self.ledger {
            ledger.settle(counters);
        }
    }

    /// Called after every counter moves, before what it numbered is seen by anyone.
    fn counted(&mut self) {
        let counters = self.counters;
        if let Some(ledger) = &mut self.ledger {
            ledger.cover(counters);
        }
    }

    pub(crate) fn next_id(&mut self) -> Id {
        let id = self.counters.next_id;
        self.counters.next_id += 1;
        self.counted();
        id
    }

    pub(crate) fn next_order_number(&mut self) -> u64 {
        let number = self.counters.next_order_number;
        self.counters.next_order_number += 1;
        self.counted();
        number
    }

    pub(crate) fn next_signup(&mut self) -> u64 {
        let number = self.counters.next_signup;
        self.counters.next_signup += 1;
        self.counted();
        number
    }

    /// Push an event, if anyone listens. A closed receiver is not an error: the shop keeps
    /// working without a webhook sender.
    pub(crate) fn emit(&mut self, topic: &'static str, resource_id: Id) {
        let event_id = self.counters.next_event_id;
        self.counters.next_event_id += 1;
        self.counted();
        if let Some(tx) = &self.events {
            let _ = tx.send(ShopEvent {
                topic,
                resource_id,
                event_id,
                triggered_at: self.now(),
            });
        }
    }

    // Lookups.

    pub fn variant_by_sku(&self, sku: &str) -> Option<&Variant> {
        self.variants.values().find(|v| v.sku == sku)
    }

    pub fn inventory_item_by_sku(&self, sku: &str) -> Option<&InventoryItem> {
        self.inventory_items.values().find(|i| i.sku == sku)
    }

    pub fn order_by_name(&self, name: &str) -> Option<&Order> {
        self.orders.values().find(|o| o.name == name)
    }

    /// The level an `inventory_levels/update` event names.
    pub fn inventory_level_by_id(&self, level_id: Id) -> Option<&InventoryLevel> {
        // The index is kept by `insert_level`; a level inserted into the public map directly
        // is still found by the scan.
        self.level_index
            .get(&level_id)
            .and_then(|key| self.inventory_levels.get(key))
            .filter(|l| l.id == level_id)
            .or_else(|| self.inventory_levels.values().find(|l| l.id == level_id))
    }

    pub fn inventory_level(&self, item_id: Id, location_id: Id) -> Option<&InventoryLevel> {
        self.inventory_levels.get(&(item_id, location_id))
    }

    /// Subscriptions that want `topic` (`orders/create` form): where the webhook sender delivers.
    pub fn subscriptions_for<'a>(
        &'a self,
        topic: &'a str,
    ) -> impl Iterator<Item = &'a WebhookSubscription> + 'a {
        self.webhook_subscriptions
            .values()
            .filter(move |s| s.wants(topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop_with_stock() -> (Shop, Id, Id) {
        let mut shop = Shop::new("Demo", "demo.myshopify.com", "USD");
        shop.set_clock(Timestamp::parse("2026-10-01T00:00:00Z"));
        let loc = shop.add_location("Main");
        let product = shop.add_product(ProductSpec {
            title: "Blue Shirt".into(),
            vendor: "Acme".into(),
            product_type: "Shirts".into(),
            tags: vec![],
            variants: vec![VariantSpec {
                title: "M".into(),
                sku: "SHIRT-M".into(),
                price: Money(2500),
                grams: 200,
            }],
            stock_per_location: 10,
        });
        let variant = shop.products[&product].variant_ids[0];
        (shop, loc, variant)
    }

    #[test]
    fn money_renders_like_shopify() {
        assert_eq!(Money(1230).to_fixed2(), "12.30");
        assert_eq!(Money(1230).to_decimal(), "12.3");
        assert_eq!(Money(7500).to_decimal(), "75.0");
        assert_eq!(Money(-5).to_fixed2(), "-0.05");
        assert_eq!(Money::parse("12.3"), Some(Money(1230)));
        assert_eq!(Money::parse("12.345"), None);
        assert_eq!(Money::parse("abc"), None);
    }

    #[test]
    fn orders_commit_stock_and_updates_move_updated_at_forward() {
        let (mut shop, loc, variant) = shop_with_stock();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        shop.set_event_sender(Some(tx));
        let id = shop.create_order(OrderSpec {
            line_items: vec![LineSpec::variant(variant, 3)],
            tax_rate_bps: 1000,
            ..OrderSpec::default()
        });
        let order = &shop.orders[&id];
        assert_eq!(order.name, "#1001");
        assert_eq!(order.subtotal(), Money(7500));
        assert_eq!(order.total_tax, Money(750));
        assert_eq!(order.total(), Money(7500 + 750 + 1000));
        let item = shop.variants[&variant].inventory_item_id;
        let level = shop.inventory_level(item, loc).unwrap();
        assert_eq!(
            (level.available, level.committed, level.on_hand()),
            (7, 3, 10)
        );

        let created = shop.orders[&id].updated_at;
        shop.update_order(id, |o| o.note = Some("a".into()))
            .unwrap();
        shop.update_order(id, |o| o.note = Some("b".into()))
            .unwrap();
        assert_eq!(shop.orders[&id].updated_at, created.plus_secs(2));

        shop.create_fulfillment(id, FulfillmentSpec::default())
            .unwrap();
        let level = shop.inventory_level(item, loc).unwrap();
        assert_eq!(
            (level.available, level.committed, level.on_hand()),
            (7, 0, 7)
        );
        assert_eq!(
            shop.orders[&id].fulfillment_status,
            FulfillmentStatus::Fulfilled
        );

        let topics: Vec<&str> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.topic)
            .collect();
        assert_eq!(
            topics,
            [
                "inventory_levels/update",
                "orders/create",
                "orders/paid",
                "orders/updated",
                "orders/updated",
                "orders/updated",
                "fulfillments/create",
                "orders/fulfilled"
            ]
        );
    }

    #[test]
    fn cancelling_releases_committed_stock() {
        let (mut shop, loc, variant) = shop_with_stock();
        let id = shop.create_order(OrderSpec {
            line_items: vec![LineSpec::variant(variant, 4)],
            financial_status: FinancialStatus::Authorized,
            ..OrderSpec::default()
        });
        shop.cancel_order(id, CancelReason::Customer).unwrap();
        let item = shop.variants[&variant].inventory_item_id;
        let level = shop.inventory_level(item, loc).unwrap();
        assert_eq!((level.available, level.committed), (10, 0));
        assert_eq!(shop.orders[&id].financial_status, FinancialStatus::Voided);
        assert!(shop.cancel_order(id, CancelReason::Customer).is_err());
    }

    #[test]
    fn setting_on_hand_moves_available_by_the_same_delta() {
        let (mut shop, loc, variant) = shop_with_stock();
        let item = shop.variants[&variant].inventory_item_id;
        shop.create_order(OrderSpec {
            line_items: vec![LineSpec::variant(variant, 2)],
            ..OrderSpec::default()
        });
        assert_eq!(shop.apply_quantity(item, loc, "on_hand", 15), (5, 15));
        let level = shop.inventory_level(item, loc).unwrap();
        assert_eq!(
            (level.available, level.committed, level.on_hand()),
            (13, 2, 15)
        );
    }
}
