//! The traffic generator: the simulated shop's customers place orders (a share of them bad in
//! one of four ways), the back office changes stock, customers sign up and change their
//! details, and merchandisers edit the PIM's products in the admin, at configured rates. Deterministic from the seed; changes go through the `Shop`
//! methods, so events and webhooks follow.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::ShopHandle;
use super::shop::{
    Address, CustomerSpec, FinancialStatus, Id, LineSpec, MarketingConsent, MarketingOptInLevel,
    MarketingState, Merch, OrderRisk, OrderSpec, RiskAssessment, RiskFact, RiskLevel,
    RiskRecommendation, Sentiment, Shop,
};

/// What kind of order the generator placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderKind {
    Good,
    /// The shipping address has no `address1` and no `zip`.
    MissingAddress,
    /// Financial status `PENDING`.
    PendingPayment,
    /// Risk `HIGH`, recommendation `CANCEL`.
    HighRisk,
    /// More units of a SKU than the shop has in stock.
    OverStock,
}

impl OrderKind {
    pub const BAD: [OrderKind; 4] = [
        OrderKind::MissingAddress,
        OrderKind::PendingPayment,
        OrderKind::HighRisk,
        OrderKind::OverStock,
    ];
}

/// Rates and shares (from `[simulator.traffic]`).
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficSpec {
    pub orders_per_second: f64,
    /// 0 to 1.
    pub bad_share: f64,
    pub stock_changes_per_second: f64,
    /// Customer sign-ups and edits ([`Traffic::change_customer`]); 0 for none.
    pub customer_changes_per_second: f64,
    /// Merchandiser edits of PIM products ([`Traffic::merchandise`]); 0 for none.
    pub merchandising_edits_per_second: f64,
    pub seed: u64,
}

impl Default for TrafficSpec {
    /// No traffic at all: callers set the rates they want.
    fn default() -> Self {
        TrafficSpec {
            orders_per_second: 0.0,
            bad_share: 0.0,
            stock_changes_per_second: 0.0,
            customer_changes_per_second: 0.0,
            merchandising_edits_per_second: 0.0,
            seed: 1,
        }
    }
}

/// What [`Traffic::change_customer`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CustomerChange {
    /// A new customer (`customers/create`).
    Created,
    /// Name, phone, note or address changed (`customers/update`).
    Edited,
    /// Disabled and enabled again (`customers/disable`, `customers/enable`).
    DisabledAndEnabled,
    /// Email marketing consent changed (`customers_email_marketing_consent/update`).
    EmailConsent,
    /// Two customers merged (`customers/merge`).
    Merged,
    /// A customer without orders deleted (`customers/delete`).
    Deleted,
}

/// The generator's decisions, separate from the clock so tests drive it directly.
pub struct Traffic {
    rng: fastrand::Rng,
    /// Draws the sales channel apart, so that adding channels left every other decision of a
    /// seed as it was.
    channels: fastrand::Rng,
    bad_share: f64,
    /// Only these variants are sold, when set (stock that another test owns stays out).
    only: Option<Vec<Id>>,
}

impl Traffic {
    pub fn new(seed: u64, bad_share: f64) -> Traffic {
        Traffic {
            rng: fastrand::Rng::with_seed(seed ^ 0x7aff_1c00),
            channels: fastrand::Rng::with_seed(seed ^ 0xc4a7_7e15),
            bad_share: bad_share.clamp(0.0, 1.0),
            only: None,
        }
    }

    /// Shopify's `source_name` of a new order: mostly the online store, some point of sale and
    /// draft orders, so that reports by channel have something to tell apart.
    fn channel(&mut self) -> &'static str {
        match self.channels.u32(0..100) {
            0..75 => "web",
            75..92 => "pos",
            _ => "shopify_draft_order",
        }
    }

    /// Sells only `variants`.
    pub fn selling_only(mut self, variants: Vec<Id>) -> Traffic {
        self.only = Some(variants);
        self
    }

    /// Place one order; `None` if the shop has nothing to sell.
    pub fn place_order(&mut self, shop: &mut Shop) -> Option<(Id, OrderKind)> {
        let variants: Vec<Id> = match &self.only {
            Some(only) => only.clone(),
            None => shop.variants.keys().copied().collect(),
        };
        if variants.is_empty() {
            return None;
        }
        let kind = if self.rng.f64() < self.bad_share {
            OrderKind::BAD[self.rng.usize(0..OrderKind::BAD.len())]
        } else {
            OrderKind::Good
        };
        let customers: Vec<Id> = shop.customers.keys().copied().collect();
        let customer_id =
            (!customers.is_empty()).then(|| customers[self.rng.usize(0..customers.len())]);
        let lines = self.rng.usize(1..=3);
        let mut line_items = Vec::new();
        for _ in 0..lines {
            let variant = variants[self.rng.usize(0..variants.len())];
            if line_items
                .iter()
                .any(|l: &LineSpec| l.variant_id == Some(variant))
            {
                continue;
            }
            let stock = available(shop, variant);
            if stock < 1 && kind != OrderKind::OverStock {
                // Only the over-stock kind sells what is not there.
                continue;
            }
            let qty = self
                .rng
                .u32(1..=3)
                .min(u32::try_from(stock.max(1)).unwrap_or(1));
            line_items.push(LineSpec::variant(variant, qty));
        }
        if line_items.is_empty() {
            return None;
        }
        let mut spec = OrderSpec {
            customer_id,
            line_items,
            tax_rate_bps: 825,
            tags: vec!["sim".into()],
            source_name: self.channel().into(),
            ..OrderSpec::default()
        };
        match kind {
            OrderKind::Good => {}
            OrderKind::MissingAddress => {
                let mut address = customer_id
                    .and_then(|c| shop.customers.get(&c))
                    .and_then(|c| c.default_address.clone())
                    .unwrap_or_default();
                address.address1 = None;
                address.zip = None;
                spec.shipping_address = Some(address.clone());
                spec.billing_address = Some(address);
            }
            OrderKind::PendingPayment => spec.financial_status = FinancialStatus::Pending,
            OrderKind::HighRisk => {
                spec.risk = OrderRisk {
                    recommendation: RiskRecommendation::Cancel,
                    assessments: vec![RiskAssessment {
                        level: RiskLevel::High,
                        facts: vec![RiskFact {
                            description: "Card was declined several times before succeeding".into(),
                            sentiment: Sentiment::Negative,
                        }],
                    }],
                }
            }
            OrderKind::OverStock => {
                if let Some(line) = spec.line_items.first_mut()
                    && let Some(variant) = line.variant_id
                {
                    let stock = available(shop, variant).max(0);
                    line.quantity =
                        u32::try_from(stock).unwrap_or(u32::MAX - 10) + self.rng.u32(1..=5);
                }
            }
        }
        Some((shop.create_order(spec), kind))
    }

    /// Set one random stock level (at an active location) to a new `available`.
    pub fn change_stock(&mut self, shop: &mut Shop) -> Option<Id> {
        let levels: Vec<(Id, Id)> = shop
            .inventory_levels
            .keys()
            .filter(|(_, loc)| shop.locations.get(loc).is_some_and(|l| l.active))
            .copied()
            .collect();
        if levels.is_empty() {
            return None;
        }
        let (item, location) = levels[self.rng.usize(0..levels.len())];
        let quantity = self.rng.i64(0..=60);
        shop.set_inventory(item, location, quantity).ok()?;
        shop.inventory_level(item, location).map(|l| l.id)
    }
}

impl Traffic {
    /// One customer change: mostly edits, now and then a sign-up, rarely a disable/enable or
    /// a consent change, very rarely (1 % each) a merge or a deletion. `None` when the shop
    /// had no customer to change.
    pub fn change_customer(&mut self, shop: &mut Shop) -> Option<(Id, CustomerChange)> {
        let customers: Vec<Id> = shop.customers.keys().copied().collect();
        let roll = self.rng.u32(0..100);
        if customers.is_empty() || roll < 15 {
            return Some((self.sign_up(shop), CustomerChange::Created));
        }
        let id = customers[self.rng.usize(0..customers.len())];
        match roll {
            15..=84 => {
                let pick = self.rng.u8(0..4);
                let n = self.rng.u32(0..10_000);
                let first = FIRST_NAMES[self.rng.usize(0..FIRST_NAMES.len())];
                let city = CITIES[self.rng.usize(0..CITIES.len())];
                let phone = format!("+1613556{n:04}");
                // Phones are unique per customer: leave the phone alone if this one is taken.
                let phone_free = shop.customer_by_phone(&phone).is_none();
                let changed = shop.update_customer_if_changed(id, |c| match pick {
                    0 => c.first_name = Some(first.to_string()),
                    1 if phone_free => c.phone = Some(phone),
                    2 => c.note = Some(format!("Called on {n}")),
                    _ => {
                        let address = c.default_address.get_or_insert_with(Address::default);
                        address.address1 = Some(format!("{} Market Street", n % 400 + 1));
                        address.city = Some(city.to_string());
                    }
                });
                // A value drawn equal to the current one is no change, and no webhook.
                changed.ok()?.then_some((id, CustomerChange::Edited))
            }
            85..=91 => {
                shop.disable_customer(id).ok()?;
                shop.enable_customer(id).ok()?;
                Some((id, CustomerChange::DisabledAndEnabled))
            }
            92..=97 => {
                let has_email = shop.customers.get(&id).is_some_and(|c| c.email.is_some());
                if !has_email {
                    return None;
                }
                let state = if shop
                    .customers
                    .get(&id)
                    .is_some_and(|c| c.email_consent.state == MarketingState::Subscribed)
                {
                    MarketingState::Unsubscribed
                } else {
                    MarketingState::Subscribed
                };
                let consent = MarketingConsent {
                    state,
                    opt_in_level: Some(MarketingOptInLevel::SingleOptIn),
                    updated_at: Some(shop.now()),
                    collected_from: None,
                };
                shop.set_email_marketing_consent(id, consent).ok()?;
                Some((id, CustomerChange::EmailConsent))
            }
            98 => {
                let other = customers[self.rng.usize(0..customers.len())];
                if other == id {
                    return None;
                }
                shop.merge_customers(id, other).ok()?;
                Some((id, CustomerChange::Merged))
            }
            _ => {
                // Shopify refuses to delete a customer with orders: pick one without.
                let orderless: Vec<Id> = customers
                    .iter()
                    .copied()
                    .filter(|c| !shop.orders.values().any(|o| o.customer_id == Some(*c)))
                    .collect();
                if orderless.is_empty() {
                    return None;
                }
                let victim = orderless[self.rng.usize(0..orderless.len())];
                shop.delete_customer(victim).ok()?;
                Some((victim, CustomerChange::Deleted))
            }
        }
    }

    fn sign_up(&mut self, shop: &mut Shop) -> Id {
        let first = FIRST_NAMES[self.rng.usize(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[self.rng.usize(0..LAST_NAMES.len())];
        // Numbered by the shop, whose counters outlive a restart: a back office that knows
        // customers by email never meets one of an earlier run's sign-ups again.
        let email = loop {
            let email = format!(
                "{}.{}.signup{}@example.com",
                first.to_lowercase(),
                last.to_lowercase(),
                shop.next_signup()
            );
            if shop.customer_by_email(&email).is_none() {
                break email;
            }
        };
        shop.create_customer(CustomerSpec {
            email: Some(email),
            first_name: Some(first.to_string()),
            last_name: Some(last.to_string()),
            tags: vec!["sim-signup".into()],
            ..CustomerSpec::default()
        })
    }
}

impl Traffic {
    /// One merchandiser edit of a random product whose handle starts with `pim-` (what the PIM
    /// sends): a tag added or removed, a new SEO title, or a collection joined. `None` when
    /// there is no such product or the edit changed nothing.
    pub fn merchandise(&mut self, shop: &mut Shop) -> Option<(Id, Merch)> {
        let products: Vec<Id> = shop
            .products
            .values()
            .filter(|p| p.handle.starts_with("pim-"))
            .map(|p| p.id)
            .collect();
        if products.is_empty() {
            return None;
        }
        let id = products[self.rng.usize(0..products.len())];
        let collections: Vec<Id> = shop.collections.keys().copied().collect();
        let merch = match self.rng.u8(0..4) {
            0 => Merch::AddTag(MERCH_TAGS[self.rng.usize(0..MERCH_TAGS.len())].to_string()),
            1 => {
                let tags = shop
                    .products
                    .get(&id)
                    .map(|p| p.tags.clone())
                    .unwrap_or_default();
                if tags.is_empty() {
                    return None;
                }
                Merch::RemoveTag(tags[self.rng.usize(0..tags.len())].clone())
            }
            2 => Merch::SeoTitle(format!(
                "{} | Demo Store",
                SEO_WORDS[self.rng.usize(0..SEO_WORDS.len())]
            )),
            _ if !collections.is_empty() => {
                Merch::AddToCollection(collections[self.rng.usize(0..collections.len())])
            }
            _ => return None,
        };
        shop.merchandise(id, merch.clone())
            .ok()?
            .then_some((id, merch))
    }
}

const MERCH_TAGS: &[&str] = &["featured", "clearance", "staff-pick", "gift-idea"];
const SEO_WORDS: &[&str] = &["Best seller", "New season", "Limited edition", "Top rated"];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth",
];
const CITIES: &[&str] = &["Ottawa", "Toronto", "Montreal", "Boston", "Denver"];

/// Units of the variant's inventory item available at active locations.
fn available(shop: &Shop, variant: Id) -> i64 {
    let Some(item) = shop.variants.get(&variant).map(|v| v.inventory_item_id) else {
        return 0;
    };
    shop.inventory_levels
        .range((item, 0)..=(item, Id::MAX))
        .filter(|(_, l)| {
            shop.locations
                .get(&l.location_id)
                .is_some_and(|loc| loc.active)
        })
        .map(|(_, l)| l.available)
        .sum()
}

fn period(per_second: f64) -> Option<Duration> {
    (per_second.is_finite() && per_second > 0.0)
        .then(|| Duration::from_secs_f64((1.0 / per_second).max(0.001)))
}

/// Runs the generator on the shop until the task is aborted (dropping the handle does not
/// stop it: abort it). Does nothing when every rate is 0.
pub fn spawn(shop: ShopHandle, spec: TrafficSpec) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut traffic = Traffic::new(spec.seed, spec.bad_share);
        let order_every = period(spec.orders_per_second);
        let stock_every = period(spec.stock_changes_per_second);
        let customer_every = period(spec.customer_changes_per_second);
        let merch_every = period(spec.merchandising_edits_per_second);
        if order_every.is_none()
            && stock_every.is_none()
            && customer_every.is_none()
            && merch_every.is_none()
        {
            return;
        }
        let ticker = |p: Option<Duration>| {
            let mut t = tokio::time::interval(p.unwrap_or(Duration::from_secs(3600)));
            t.set_missed_tick_behavior(MissedTickBehavior::Delay);
            t
        };
        let (mut orders, mut stock) = (ticker(order_every), ticker(stock_every));
        let mut customers = ticker(customer_every);
        let mut merch = ticker(merch_every);
        // The first tick of an interval is immediate; skip it so traffic starts one period in.
        orders.tick().await;
        stock.tick().await;
        customers.tick().await;
        merch.tick().await;
        loop {
            tokio::select! {
                _ = orders.tick(), if order_every.is_some() => {
                    shop.with(|s| traffic.place_order(s));
                }
                _ = stock.tick(), if stock_every.is_some() => {
                    shop.with(|s| traffic.change_stock(s));
                }
                _ = customers.tick(), if customer_every.is_some() => {
                    shop.with(|s| traffic.change_customer(s));
                }
                _ = merch.tick(), if merch_every.is_some() => {
                    shop.with(|s| traffic.merchandise(s));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeedSize;
    use std::collections::HashMap;

    #[test]
    fn bad_share_is_roughly_kept_and_every_kind_of_bad_occurs() {
        let mut shop = Shop::seed(7, &SeedSize::small());
        let mut traffic = Traffic::new(7, 0.3);
        let mut kinds: HashMap<OrderKind, usize> = HashMap::new();
        let n = 600;
        for _ in 0..n {
            let Some((id, kind)) = traffic.place_order(&mut shop) else {
                continue;
            };
            *kinds.entry(kind).or_default() += 1;
            let order = &shop.orders[&id];
            match kind {
                OrderKind::MissingAddress => {
                    let a = order.shipping_address.as_ref().unwrap();
                    assert!(a.address1.is_none() && a.zip.is_none());
                }
                OrderKind::PendingPayment => {
                    assert_eq!(order.financial_status, FinancialStatus::Pending)
                }
                OrderKind::HighRisk => {
                    assert_eq!(order.risk.recommendation, RiskRecommendation::Cancel);
                    assert_eq!(order.risk.assessments[0].level, RiskLevel::High);
                }
                OrderKind::OverStock | OrderKind::Good => {}
            }
            traffic.change_stock(&mut shop);
        }
        let placed: usize = kinds.values().sum();
        assert!(placed > n * 9 / 10, "{placed} of {n} placed");
        let bad = placed - kinds.get(&OrderKind::Good).copied().unwrap_or(0);
        let share = bad as f64 / placed as f64;
        assert!((0.22..=0.38).contains(&share), "bad share {share}");
        for kind in OrderKind::BAD {
            assert!(
                kinds.get(&kind).copied().unwrap_or(0) > 10,
                "{kind:?}: {kinds:?}"
            );
        }
        // Same seed, same traffic.
        let mut a = Shop::seed(7, &SeedSize::small());
        let mut b = Shop::seed(7, &SeedSize::small());
        let (mut ta, mut tb) = (Traffic::new(3, 0.5), Traffic::new(3, 0.5));
        for _ in 0..50 {
            assert_eq!(
                ta.place_order(&mut a).map(|x| x.1),
                tb.place_order(&mut b).map(|x| x.1)
            );
        }
    }

    #[test]
    fn customer_changes_are_mostly_edits_with_rare_merges_and_deletes() {
        let mut shop = Shop::seed(5, &SeedSize::small());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        shop.set_event_sender(Some(tx));
        let mut traffic = Traffic::new(5, 0.0);
        let mut kinds: HashMap<CustomerChange, usize> = HashMap::new();
        let n = 2000;
        for _ in 0..n {
            if let Some((_, kind)) = traffic.change_customer(&mut shop) {
                *kinds.entry(kind).or_default() += 1;
            }
        }
        let done: usize = kinds.values().sum();
        assert!(done > n * 9 / 10, "{kinds:?}");
        let count = |k| kinds.get(&k).copied().unwrap_or(0);
        assert!(count(CustomerChange::Edited) > done / 2, "{kinds:?}");
        for k in [
            CustomerChange::Created,
            CustomerChange::DisabledAndEnabled,
            CustomerChange::EmailConsent,
            CustomerChange::Merged,
            CustomerChange::Deleted,
        ] {
            assert!(count(k) > 0, "{k:?} never happened: {kinds:?}");
        }
        assert!(
            (count(CustomerChange::Merged) + count(CustomerChange::Deleted)) * 50 < done,
            "merges and deletes stay under 2 %: {kinds:?}"
        );
        let mut emails: Vec<String> = shop
            .customers
            .values()
            .filter_map(|c| c.email.as_ref().map(|e| e.to_lowercase()))
            .collect();
        let all = emails.len();
        emails.sort();
        emails.dedup();
        assert_eq!(emails.len(), all, "emails stay unique");
        let topics: std::collections::HashSet<&str> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.topic)
            .collect();
        for t in [
            "customers/create",
            "customers/update",
            "customers/disable",
            "customers/enable",
            "customers/merge",
            "customers/delete",
            "customers_email_marketing_consent/update",
        ] {
            assert!(topics.contains(t), "{t}");
        }
    }

    #[test]
    fn merchandisers_edit_only_pim_products() {
        let mut shop = Shop::seed(4, &SeedSize::small());
        let mut traffic = Traffic::new(4, 0.0);
        assert!(
            traffic.merchandise(&mut shop).is_none(),
            "no PIM product yet"
        );
        let pim: Vec<Id> = (1..=3)
            .map(|n| {
                shop.create_product(crate::shop::ProductDraft {
                    title: Some(format!("PIM {n}")),
                    handle: Some(format!("pim-{n}")),
                    tags: Some(vec!["pim".into()]),
                    ..crate::shop::ProductDraft::default()
                })
            })
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        shop.set_event_sender(Some(tx));
        let mut kinds = std::collections::HashSet::new();
        for _ in 0..100 {
            if let Some((id, merch)) = traffic.merchandise(&mut shop) {
                assert!(pim.contains(&id));
                kinds.insert(std::mem::discriminant(&merch));
            }
        }
        assert!(kinds.len() >= 3, "{kinds:?}");
        let events: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert!(!events.is_empty());
        assert!(
            events
                .iter()
                .all(|e| e.topic == "products/update" && pim.contains(&e.resource_id))
        );
    }

    #[test]
    fn an_over_stock_order_wants_more_than_the_shop_has() {
        let mut shop = Shop::seed(3, &SeedSize::small());
        let mut traffic = Traffic::new(3, 1.0);
        let mut seen = false;
        for _ in 0..200 {
            let before: HashMap<Id, i64> = shop
                .variants
                .keys()
                .map(|v| (*v, available(&shop, *v)))
                .collect();
            let Some((id, kind)) = traffic.place_order(&mut shop) else {
                continue;
            };
            if kind == OrderKind::OverStock {
                let line = &shop.orders[&id].line_items[0];
                let variant = line.variant_id.unwrap();
                assert!(i64::from(line.quantity) > before[&variant]);
                seen = true;
            }
        }
        assert!(seen);
    }
}
