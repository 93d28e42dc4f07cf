//! The demo's customers sending back what they received, and the merchant refunding in the
//! Shopify admin now and then.
//!
//! Each delivered fulfillment (its carrier's last event `DELIVERED`: the simulated WMS reports
//! deliveries through the daemon) is looked at once. For a share of them
//! ([`ReturnsSpec::share`]) the customer asks for a return (`returnRequest`, so
//! `returns/request` goes out), varied so that a return-rules engine has every path to take:
//!
//! - [`ReturnKind::Ordinary`]: one unit of a line, an everyday reason (too small, style,
//!   changed mind): what typical rules approve on their own;
//! - [`ReturnKind::Large`]: every unit the fulfillment shipped, as "defective" or "not as
//!   described": a high amount that rules hold for a person;
//! - [`ReturnKind::FinalSale`]: a line whose product is tagged [`FINAL_SALE_TAG`] (a share of
//!   the catalogue is tagged when the generator starts): what rules decline;
//! - [`ReturnKind::Late`]: a unit of an order fulfilled more than [`LATE_AFTER_DAYS`] ago (the
//!   seeded shop's history), past a typical return window.
//!
//! For another share ([`ReturnsSpec::admin_refund_share`]) the merchant refunds in the admin
//! without a return (`refundCreate`'s path, so `refunds/create` goes out): a unit as a goodwill
//! gesture, or the shipping. Deterministic from the seed; nothing runs unless the daemon's
//! wiring starts it ([`spawn`]) when its returns flow is enabled.

use std::collections::HashSet;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::ShopHandle;
use super::shop::{
    FulfillmentEventStatus, Id, Money, RefundLineSpec, RefundSpec, RefundTransactionSpec,
    RestockType, ReturnLineSpec, ReturnReason, ReturnSpec, ShippingRefund, Shop, TransactionKind,
    definition_of, line_money, units_money,
};

/// The tag that marks a product as final sale.
pub const FINAL_SALE_TAG: &str = "final-sale";

/// How old a fulfillment must be for a [`ReturnKind::Late`] return: past a 30-day window.
pub const LATE_AFTER_DAYS: i64 = 30;

/// How the customers behave.
#[derive(Clone, Debug, PartialEq)]
pub struct ReturnsSpec {
    /// Between two looks at the shop.
    pub every: Duration,
    /// Share (0 to 1) of delivered fulfillments whose customer asks for a return.
    pub share: f64,
    /// Share of returns asked for on an old order instead ([`ReturnKind::Late`]).
    pub late_share: f64,
    /// Share of delivered fulfillments the merchant refunds in the admin without a return.
    pub admin_refund_share: f64,
    /// Share of the catalogue tagged [`FINAL_SALE_TAG`] when the generator starts.
    pub final_sale_share: f64,
    pub seed: u64,
}

impl Default for ReturnsSpec {
    /// A quarter of deliveries come back (a tenth of those late), 3 % are refunded in the
    /// admin, a fifth of the catalogue is final sale; a look every 2 s.
    fn default() -> Self {
        ReturnsSpec {
            every: Duration::from_secs(2),
            share: 0.25,
            late_share: 0.1,
            admin_refund_share: 0.03,
            final_sale_share: 0.2,
            seed: 1,
        }
    }
}

/// Which rule path a requested return was made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReturnKind {
    Ordinary,
    Large,
    FinalSale,
    Late,
}

/// What the generator did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerAction {
    Requested { return_id: Id, kind: ReturnKind },
    AdminRefund { refund_id: Id },
}

const EVERYDAY: &[ReturnReason] = &[
    ReturnReason::SizeTooSmall,
    ReturnReason::SizeTooLarge,
    ReturnReason::Style,
    ReturnReason::Color,
    ReturnReason::Unwanted,
];
const FAULTY: &[ReturnReason] = &[
    ReturnReason::Defective,
    ReturnReason::NotAsDescribed,
    ReturnReason::WrongItem,
];
const NOTES: &[&str] = &[
    "Fits smaller than expected.",
    "Arrived with a scratch on the side.",
    "Colour is not what the photos show.",
    "Bought two by mistake.",
];

/// The generator's state, without a clock, so tests drive it directly.
pub struct Returns {
    spec: ReturnsSpec,
    rng: fastrand::Rng,
    /// Fulfillments already looked at: each delivery is considered once.
    seen: HashSet<Id>,
    marked: bool,
}

impl Returns {
    pub fn new(spec: ReturnsSpec) -> Returns {
        Returns {
            rng: fastrand::Rng::with_seed(spec.seed ^ 0x7e70_2a5e),
            spec,
            seen: HashSet::new(),
            marked: false,
        }
    }

    /// Tag every n-th product [`FINAL_SALE_TAG`] (n from the share); products the PIM owns
    /// (`pim-` handles) are left alone. Returns the products tagged now.
    pub fn mark_final_sale(&mut self, shop: &mut Shop) -> Vec<Id> {
        self.marked = true;
        if self.spec.final_sale_share <= 0.0 {
            return Vec::new();
        }
        let every = (1.0 / self.spec.final_sale_share.min(1.0)).round().max(1.0) as usize;
        let ids: Vec<Id> = shop
            .products
            .values()
            .filter(|p| !p.handle.starts_with("pim-"))
            .map(|p| p.id)
            .enumerate()
            .filter(|(i, _)| i % every == 0)
            .map(|(_, id)| id)
            .collect();
        let mut tagged = Vec::new();
        for id in ids {
            let has = shop
                .products
                .get(&id)
                .is_some_and(|p| p.tags.iter().any(|t| t == FINAL_SALE_TAG));
            if !has
                && shop
                    .update_product(id, |p| p.tags.push(FINAL_SALE_TAG.into()))
                    .is_ok()
            {
                tagged.push(id);
            }
        }
        tagged
    }

    /// One look at the shop: every fulfillment delivered since the last look is considered.
    pub fn step(&mut self, shop: &mut Shop) -> Vec<CustomerAction> {
        if !self.marked {
            self.mark_final_sale(shop);
        }
        let delivered: Vec<(Id, Id)> = shop
            .fulfillments
            .values()
            .filter(|f| !self.seen.contains(&f.id))
            .filter(|f| f.shipment_status() == Some(FulfillmentEventStatus::Delivered))
            .map(|f| (f.id, f.order_id))
            .collect();
        let mut done = Vec::new();
        for (fulfillment, order) in delivered {
            self.seen.insert(fulfillment);
            let roll = self.rng.f64();
            if roll < self.spec.admin_refund_share {
                if let Some(refund_id) = self.admin_refund(shop, order) {
                    done.push(CustomerAction::AdminRefund { refund_id });
                }
            } else if roll < self.spec.admin_refund_share + self.spec.share {
                let action = if self.rng.f64() < self.spec.late_share {
                    self.late_return(shop)
                } else {
                    self.request(shop, fulfillment)
                };
                done.extend(action);
            }
        }
        done
    }

    fn reason(&mut self, reasons: &[ReturnReason]) -> ReturnLineSpec {
        let reason = reasons[self.rng.usize(0..reasons.len())];
        let mut line = ReturnLineSpec::new(0, 1, reason);
        // Half the customers' apps send the newer reason definitions.
        if self.rng.bool() {
            line.reason_definition_id = definition_of(reason).map(|d| d.id);
        }
        if self.rng.u8(0..3) == 0 {
            line.customer_note = Some(NOTES[self.rng.usize(0..NOTES.len())].to_string());
        }
        line
    }

    /// A return of what a delivered fulfillment shipped.
    fn request(&mut self, shop: &mut Shop, fulfillment: Id) -> Option<CustomerAction> {
        let f = shop.fulfillments.get(&fulfillment)?;
        let order_id = f.order_id;
        // (fulfillment line, units still returnable, final sale).
        let lines: Vec<(Id, u32, bool)> = f
            .line_items
            .iter()
            .map(|fl| {
                let final_sale = shop
                    .orders
                    .get(&order_id)
                    .and_then(|o| o.line_items.iter().find(|l| l.id == fl.line_item_id))
                    .and_then(|l| l.product_id)
                    .and_then(|p| shop.products.get(&p))
                    .is_some_and(|p| p.tags.iter().any(|t| t == FINAL_SALE_TAG));
                (fl.id, shop.returnable(order_id, fl.id), final_sale)
            })
            .filter(|(_, n, _)| *n > 0)
            .collect();
        if lines.is_empty() {
            return None;
        }
        let final_sale: Vec<&(Id, u32, bool)> = lines.iter().filter(|l| l.2).collect();
        let regular: Vec<&(Id, u32, bool)> = lines.iter().filter(|l| !l.2).collect();
        let roll = self.rng.u8(0..100);
        let (kind, specs) = if !final_sale.is_empty() && (regular.is_empty() || roll < 40) {
            let (id, _, _) = *final_sale[self.rng.usize(0..final_sale.len())];
            let mut line = self.reason(EVERYDAY);
            line.fulfillment_line_item_id = id;
            (ReturnKind::FinalSale, vec![line])
        } else if roll < 65 {
            let specs = lines
                .iter()
                .map(|(id, n, _)| {
                    let mut line = self.reason(FAULTY);
                    line.fulfillment_line_item_id = *id;
                    line.quantity = *n;
                    line
                })
                .collect();
            (ReturnKind::Large, specs)
        } else {
            let (id, _, _) = *regular[self.rng.usize(0..regular.len())];
            let mut line = self.reason(EVERYDAY);
            line.fulfillment_line_item_id = id;
            (ReturnKind::Ordinary, vec![line])
        };
        let return_id = shop
            .request_return(ReturnSpec {
                order_id,
                lines: specs,
                shipping_fee: None,
            })
            .ok()?;
        Some(CustomerAction::Requested { return_id, kind })
    }

    /// A unit of an order fulfilled long ago.
    fn late_return(&mut self, shop: &mut Shop) -> Option<CustomerAction> {
        let cutoff = shop.now().plus_secs(-LATE_AFTER_DAYS * 86_400);
        let old: Vec<(Id, Id)> = shop
            .fulfillments
            .values()
            .filter(|f| f.created_at < cutoff && !self.seen.contains(&f.id))
            .flat_map(|f| f.line_items.iter().map(move |l| (f.order_id, l.id)))
            .filter(|(order, fli)| shop.returnable(*order, *fli) > 0)
            .collect();
        if old.is_empty() {
            return None;
        }
        let (order_id, fli) = old[self.rng.usize(0..old.len())];
        let mut line = self.reason(EVERYDAY);
        line.fulfillment_line_item_id = fli;
        let return_id = shop
            .request_return(ReturnSpec {
                order_id,
                lines: vec![line],
                shipping_fee: None,
            })
            .ok()?;
        Some(CustomerAction::Requested {
            return_id,
            kind: ReturnKind::Late,
        })
    }

    /// A refund made in the admin: a unit as a goodwill gesture, or the shipping, with the
    /// money through the order's payment.
    fn admin_refund(&mut self, shop: &mut Shop, order_id: Id) -> Option<Id> {
        let order = shop.orders.get(&order_id)?;
        let room = shop.refundable_money(order_id);
        if room == Money::ZERO {
            return None;
        }
        let shipping = shop.refundable_shipping(order);
        let (lines, shipping, amount, note) = if shipping > Money::ZERO && self.rng.bool() {
            (
                Vec::new(),
                Some(ShippingRefund::Full),
                shipping,
                "Shipping refunded: the parcel arrived late",
            )
        } else {
            let money = line_money(order);
            let (index, line) = order
                .line_items
                .iter()
                .enumerate()
                .find(|(_, l)| l.refundable() > 0)?;
            let worth = units_money(&money[index], line.refunded_quantity, 1);
            (
                vec![RefundLineSpec::new(line.id, 1, RestockType::NoRestock)],
                None,
                worth.subtotal + worth.tax,
                "Goodwill refund: item arrived damaged, customer keeps it",
            )
        };
        let amount = amount.min(room);
        let transactions = if amount > Money::ZERO {
            vec![RefundTransactionSpec {
                order_id,
                parent_id: None,
                gateway: String::new(),
                kind: TransactionKind::Refund,
                amount,
            }]
        } else {
            Vec::new()
        };
        shop.create_refund(RefundSpec {
            order_id,
            lines,
            shipping,
            transactions,
            note: Some(note.into()),
            notify: true,
            ..RefundSpec::default()
        })
        .ok()
    }
}

/// Run the customers on the shop until the task is aborted (dropping the handle does not stop
/// it: abort it). Does nothing when both shares are 0.
pub fn spawn(shop: ShopHandle, spec: ReturnsSpec) -> JoinHandle<()> {
    tokio::spawn(async move {
        if spec.share <= 0.0 && spec.admin_refund_share <= 0.0 {
            return;
        }
        let mut every = tokio::time::interval(spec.every.max(Duration::from_millis(10)));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut returns = Returns::new(spec);
        loop {
            every.tick().await;
            let done = shop.with(|s| returns.step(s));
            if !done.is_empty() {
                tracing::debug!(
                    actions = done.len(),
                    "simulated customers: returns and refunds"
                );
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeedSize;
    use crate::seed::SEED_EPOCH;
    use crate::shop::{FulfillRequest, FulfillmentEventSpec, ReturnStatus};
    use crate::traffic::Traffic;
    use std::collections::HashMap;

    /// A seeded shop 40 days after its history, with `n` new orders shipped and delivered.
    fn shop_with_deliveries(n: usize) -> Shop {
        let mut shop = Shop::seed(9, &SeedSize::small());
        shop.set_clock(Some(SEED_EPOCH.plus_secs(40 * 86_400)));
        let mut traffic = Traffic::new(9, 0.0);
        for _ in 0..n {
            let Some((order, _)) = traffic.place_order(&mut shop) else {
                continue;
            };
            let fos: Vec<Id> = shop
                .fulfillment_orders_of(order)
                .iter()
                .map(|f| f.id)
                .collect();
            for fo in fos {
                let f = shop
                    .fulfill(FulfillRequest {
                        fulfillment_orders: vec![(fo, Vec::new())],
                        ..FulfillRequest::default()
                    })
                    .unwrap();
                shop.create_fulfillment_event(
                    f,
                    FulfillmentEventSpec::new(FulfillmentEventStatus::Delivered),
                )
                .unwrap();
            }
        }
        shop
    }

    fn spec() -> ReturnsSpec {
        ReturnsSpec {
            share: 0.6,
            late_share: 0.15,
            admin_refund_share: 0.08,
            seed: 3,
            ..ReturnsSpec::default()
        }
    }

    #[test]
    fn customers_return_along_every_rule_path_and_the_admin_refunds() {
        let mut shop = shop_with_deliveries(150);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        shop.set_event_sender(Some(tx));
        let mut returns = Returns::new(spec());
        let done = returns.step(&mut shop);
        assert!(
            returns.step(&mut shop).is_empty(),
            "each delivery is looked at once"
        );
        let final_sale = |shop: &Shop, line_item: Id, order: Id| {
            shop.orders[&order]
                .line_items
                .iter()
                .find(|l| l.id == line_item)
                .and_then(|l| l.product_id)
                .is_some_and(|p| shop.products[&p].tags.iter().any(|t| t == FINAL_SALE_TAG))
        };
        let mut kinds: HashMap<ReturnKind, usize> = HashMap::new();
        let mut admin = 0;
        let cutoff = shop.now().plus_secs(-LATE_AFTER_DAYS * 86_400);
        for action in &done {
            match *action {
                CustomerAction::Requested { return_id, kind } => {
                    *kinds.entry(kind).or_default() += 1;
                    let r = &shop.returns[&return_id];
                    assert_eq!(r.status, ReturnStatus::Requested);
                    let f = &shop.fulfillments[&r.line_items[0].fulfillment_id];
                    match kind {
                        ReturnKind::Late => assert!(f.created_at < cutoff),
                        ReturnKind::FinalSale => {
                            assert!(final_sale(&shop, r.line_items[0].line_item_id, r.order_id))
                        }
                        ReturnKind::Ordinary => {
                            assert_eq!(r.total_quantity(), 1);
                            assert!(!final_sale(&shop, r.line_items[0].line_item_id, r.order_id));
                        }
                        ReturnKind::Large => {
                            assert_eq!(r.total_quantity(), f.total_quantity());
                        }
                    }
                    if kind != ReturnKind::Late {
                        assert!(f.created_at >= cutoff);
                    }
                }
                CustomerAction::AdminRefund { refund_id } => {
                    admin += 1;
                    let refund = &shop.refunds[&refund_id];
                    assert_eq!(refund.return_id, None);
                    assert_eq!(refund.transaction_ids.len(), 1);
                }
            }
        }
        for kind in [
            ReturnKind::Ordinary,
            ReturnKind::Large,
            ReturnKind::FinalSale,
            ReturnKind::Late,
        ] {
            assert!(
                kinds.get(&kind).copied().unwrap_or(0) > 0,
                "{kind:?}: {kinds:?}"
            );
        }
        assert!(admin > 0, "{done:?}");
        let requested: usize = kinds.values().sum();
        assert!((40..=120).contains(&requested), "{kinds:?}");
        let topics: Vec<&str> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.topic)
            .collect();
        assert_eq!(
            topics
                .iter()
                .filter(|t| **t == crate::shop::topics::RETURNS_REQUEST)
                .count(),
            requested
        );
        assert_eq!(
            topics
                .iter()
                .filter(|t| **t == crate::shop::topics::REFUNDS_CREATE)
                .count(),
            admin
        );
        // Same seed, same returns.
        let mut again = shop_with_deliveries(150);
        let replay = Returns::new(spec()).step(&mut again);
        assert_eq!(replay, done);
    }

    /// Webhooks a receiver got: (topic, signature header, body).
    type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>)>>>;

    async fn receiver() -> (String, Received) {
        use axum::body::Bytes;
        use axum::extract::State;
        use axum::http::HeaderMap;
        let got: Received = Default::default();
        let app = axum::Router::new()
            .route(
                "/webhooks",
                axum::routing::post(
                    |State(got): State<Received>, headers: HeaderMap, body: Bytes| async move {
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string()
                        };
                        got.lock().unwrap().push((
                            header("x-shopify-topic"),
                            header("x-shopify-hmac-sha256"),
                            body.to_vec(),
                        ));
                        "ok"
                    },
                ),
            )
            .with_state(got.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (url, got)
    }

    #[tokio::test]
    async fn a_customers_return_and_its_decision_reach_the_daemon_signed() {
        use crate::pump::{self, Targets};
        use crate::shop::topics;
        use crate::webhooks::{SenderConfig, WebhookSender};
        let (url, got) = receiver().await;
        let mut shop = shop_with_deliveries(12);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        shop.set_event_sender(Some(tx));
        let handle = ShopHandle::new(shop);
        let sender =
            WebhookSender::start(SenderConfig::new(&url, "shh", "demo.myshopify.com")).unwrap();
        let pumping = pump::spawn(handle.clone(), rx, sender.clone(), Targets::Fixed(url));
        let mut returns = Returns::new(ReturnsSpec {
            share: 1.0,
            late_share: 0.0,
            admin_refund_share: 0.0,
            ..ReturnsSpec::default()
        });
        let done = handle.with(|s| returns.step(s));
        let Some(CustomerAction::Requested { return_id, .. }) = done.first().copied() else {
            panic!("no return requested: {done:?}");
        };
        handle.with(|s| s.approve_return(return_id, true)).unwrap();
        let wanted = [
            topics::RETURNS_REQUEST,
            topics::RETURNS_APPROVE,
            topics::RETURNS_UPDATE,
        ];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mine = |got: &Received| -> Vec<(String, String, Vec<u8>)> {
            got.lock()
                .unwrap()
                .iter()
                .filter(|(topic, _, body)| {
                    wanted.contains(&topic.as_str())
                        && serde_json::from_slice::<serde_json::Value>(body)
                            .is_ok_and(|v| v["id"] == serde_json::json!(return_id))
                })
                .cloned()
                .collect()
        };
        while mine(&got).len() < wanted.len() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mine = mine(&got);
        let topics: HashSet<&str> = mine.iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(topics, wanted.into_iter().collect(), "{mine:?}");
        for (topic, signature, body) in &mine {
            assert!(
                xconnector_actors::signature::verify_shopify(&["shh"], body, signature),
                "{topic} is signed with the app secret"
            );
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(
                v["admin_graphql_api_id"],
                format!("gid://shopify/Return/{return_id}")
            );
        }
        pumping.abort();
    }
}
