//! REST webhook payloads rendered from the shop's state, shaped like Shopify's documented
//! examples (`tests/fixtures/shopify/webhooks-2026-07/`): numeric ids plus
//! `admin_graphql_api_id`, money as `"12.30"` strings, `tags` as one comma-separated string,
//! RFC 3339 timestamps. Only field names the documented payload of the topic has are used;
//! fields the simulated shop has no data for are left out rather than invented.

mod products;
mod returns;

use serde_json::{Map, Value, json};

use super::gid::{gid, inventory_level_gid};
use super::shop::{
    Address, Customer, Fulfillment, Id, LineItem, MarketingConsent, Money, Order, Shop, ShopEvent,
    topics,
};
use super::time::Timestamp;

/// The payload for `event`, or `None` when the topic is not rendered or the resource is gone.
pub fn render(shop: &Shop, event: &ShopEvent) -> Option<Value> {
    render_topic(shop, event.topic, event.resource_id)
}

/// The payload of `topic` for the resource `id` (see [`ShopEvent::resource_id`]).
pub fn render_topic(shop: &Shop, topic: &str, id: Id) -> Option<Value> {
    match topic {
        topics::ORDERS_CREATE
        | topics::ORDERS_UPDATED
        | topics::ORDERS_PAID
        | topics::ORDERS_CANCELLED
        | topics::ORDERS_FULFILLED
        | topics::ORDERS_PARTIALLY_FULFILLED => shop.orders.get(&id).map(|o| order(shop, o)),
        topics::INVENTORY_LEVELS_UPDATE => shop.inventory_level_by_id(id).map(|l| {
            json!({
                "inventory_item_id": l.item_id,
                "location_id": l.location_id,
                "available": l.available,
                "updated_at": ts(l.updated_at),
                "admin_graphql_api_id": inventory_level_gid(l.id, l.item_id),
            })
        }),
        topics::CUSTOMERS_CREATE
        | topics::CUSTOMERS_UPDATE
        | topics::CUSTOMERS_ENABLE
        | topics::CUSTOMERS_DISABLE => shop.customers.get(&id).map(|c| customer(shop, c)),
        // The documented payload carries no tax exemptions either, whatever the customer had.
        topics::CUSTOMERS_DELETE => shop.deleted_customers.contains(&id).then(|| {
            json!({
                "id": id,
                "tax_exemptions": [],
                "admin_graphql_api_id": gid("Customer", id),
            })
        }),
        topics::CUSTOMERS_MERGE => shop.customer_merges.get(&id).map(|m| {
            json!({
                "admin_graphql_api_customer_kept_id": gid("Customer", m.kept),
                "admin_graphql_api_customer_deleted_id": gid("Customer", m.deleted),
                "admin_graphql_api_job_id": Value::Null,
                "status": "COMPLETED",
                "errors": [],
            })
        }),
        topics::CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE => shop.customers.get(&id).map(|c| {
            json!({
                "customer_id": c.id,
                "email_address": c.email,
                "email_marketing_consent": consent(&c.email_consent, false),
            })
        }),
        topics::CUSTOMERS_MARKETING_CONSENT_UPDATE => shop.customers.get(&id).map(|c| {
            json!({
                "id": c.id,
                "phone": c.phone,
                "sms_marketing_consent": consent(&c.sms_consent, true),
            })
        }),
        topics::PRODUCTS_CREATE | topics::PRODUCTS_UPDATE => {
            shop.products.get(&id).map(|p| products::product(shop, p))
        }
        topics::PRODUCTS_DELETE => shop
            .deleted_products
            .contains(&id)
            .then(|| json!({"id": id})),
        topics::FULFILLMENTS_CREATE | topics::FULFILLMENTS_UPDATE => {
            shop.fulfillments.get(&id).map(|f| fulfillment(shop, f))
        }
        topics::REFUNDS_CREATE => shop.refunds.get(&id).map(|r| returns::refund(shop, r)),
        topics::RETURNS_REQUEST
        | topics::RETURNS_APPROVE
        | topics::RETURNS_DECLINE
        | topics::RETURNS_PROCESS
        | topics::RETURNS_CLOSE
        | topics::RETURNS_CANCEL
        | topics::RETURNS_REOPEN
        | topics::RETURNS_UPDATE => returns::render(shop, topic, id),
        _ => None,
    }
}

/// A REST time: in the shop's zone, as Shopify writes REST payloads (the shop is in New York,
/// `shop.timezoneOffsetMinutes`), so a day in a payload is the shop's day.
pub(crate) fn ts(t: Timestamp) -> String {
    t.to_rfc3339_at(crate::exec::objects::SHOP_OFFSET_MINUTES)
}

pub(crate) fn money(m: Money) -> String {
    m.to_fixed2()
}

/// `{"shop_money": …, "presentment_money": …}`: the simulator has one currency.
fn money_set(m: Money, currency: &str) -> Value {
    let one = json!({"amount": money(m), "currency_code": currency});
    json!({"shop_money": one.clone(), "presentment_money": one})
}

pub(crate) fn tags(tags: &[String]) -> String {
    tags.join(", ")
}

fn address(a: &Address) -> Value {
    json!({
        "first_name": a.first_name,
        "address1": a.address1,
        "phone": a.phone,
        "city": a.city,
        "zip": a.zip,
        "province": a.province,
        "country": a.country,
        "last_name": a.last_name,
        "address2": a.address2,
        "company": a.company,
        "latitude": a.latitude,
        "longitude": a.longitude,
        "name": a.name(),
        "country_code": a.country_code,
        "province_code": a.province_code,
    })
}

/// A customer's default address (`customer.default_address`), which carries its own id.
fn customer_address(c: &Customer, a: &Address) -> Value {
    let mut v = address(a);
    if let Value::Object(m) = &mut v {
        m.remove("latitude");
        m.remove("longitude");
        // The address has no id of its own in the simulator: derive a stable one.
        m.insert("id".into(), json!(c.id * 10 + 1));
        m.insert("customer_id".into(), json!(c.id));
        m.insert("country_name".into(), json!(a.country));
        m.insert("default".into(), json!(true));
    }
    v
}

fn customer_fields(c: &Customer, currency: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id));
    m.insert("created_at".into(), json!(ts(c.created_at)));
    m.insert("updated_at".into(), json!(ts(c.updated_at)));
    m.insert("first_name".into(), json!(c.first_name));
    m.insert("last_name".into(), json!(c.last_name));
    m.insert("state".into(), json!(c.state.as_rest()));
    m.insert("note".into(), json!(c.note));
    m.insert("verified_email".into(), json!(c.verified_email));
    m.insert("multipass_identifier".into(), Value::Null);
    m.insert("tax_exempt".into(), json!(c.tax_exempt));
    m.insert("email".into(), json!(c.email));
    m.insert("phone".into(), json!(c.phone));
    m.insert("currency".into(), json!(currency));
    m.insert("tax_exemptions".into(), json!(c.tax_exemptions));
    m.insert("admin_graphql_api_id".into(), json!(gid("Customer", c.id)));
    m.insert(
        "default_address".into(),
        c.default_address
            .as_ref()
            .map_or(Value::Null, |a| customer_address(c, a)),
    );
    m
}

fn customer(shop: &Shop, c: &Customer) -> Value {
    let mut m = customer_fields(c, &shop.currency);
    let addresses: Vec<Value> = c
        .default_address
        .iter()
        .map(|a| customer_address(c, a))
        .collect();
    m.insert("addresses".into(), json!(addresses));
    Value::Object(m)
}

/// A marketing consent as the consent webhooks carry it: lower-case states and levels;
/// `consent_collected_from` (upper case, as documented) for SMS only.
fn consent(c: &MarketingConsent, sms: bool) -> Value {
    let mut m = Map::new();
    m.insert("state".into(), json!(c.state.as_rest()));
    m.insert(
        "opt_in_level".into(),
        json!(c.opt_in_level.map(|l| l.as_rest())),
    );
    m.insert("consent_updated_at".into(), json!(c.updated_at.map(ts)));
    if sms {
        m.insert(
            "consent_collected_from".into(),
            json!(c.collected_from.map(|f| f.as_graphql())),
        );
    }
    Value::Object(m)
}

fn line_item(l: &LineItem, currency: &str) -> Value {
    json!({
        "id": l.id,
        "admin_graphql_api_id": gid("LineItem", l.id),
        "current_quantity": l.refundable(),
        "fulfillable_quantity": l.fulfillable_quantity,
        "fulfillment_service": "manual",
        "fulfillment_status": (l.fulfillable_quantity == 0).then_some("fulfilled"),
        "gift_card": l.gift_card,
        "grams": l.grams,
        "name": l.name(),
        "price": money(l.price),
        "price_set": money_set(l.price, currency),
        "product_exists": l.product_id.is_some(),
        "product_id": l.product_id,
        "properties": [],
        "quantity": l.quantity,
        "requires_shipping": l.requires_shipping,
        "sku": l.sku,
        "taxable": l.taxable,
        "title": l.title,
        "total_discount": money(l.total_discount),
        "total_discount_set": money_set(l.total_discount, currency),
        "variant_id": l.variant_id,
        "variant_inventory_management": l.variant_id.map(|_| "shopify"),
        "variant_title": l.variant_title,
        "vendor": l.vendor,
        "tax_lines": [],
        "duties": [],
        "discount_allocations": [],
    })
}

fn order(shop: &Shop, o: &Order) -> Value {
    let cur = o.currency.as_str();
    let set = |m: Money| money_set(m, cur);
    let tax_lines: Vec<Value> = if o.total_tax > Money::ZERO {
        vec![json!({
            "price": money(o.total_tax),
            "rate": f64::from(o.tax_rate_bps) / 10_000.0,
            "title": "Tax",
            "price_set": set(o.total_tax),
            "channel_liable": false,
        })]
    } else {
        Vec::new()
    };
    let current_tax = if o.total_refunded >= o.total() && o.total_refunded > Money::ZERO {
        Money::ZERO
    } else {
        o.total_tax
    };
    let lines: Vec<Value> = o.line_items.iter().map(|l| line_item(l, cur)).collect();
    let shipping_lines: Vec<Value> = o
        .shipping_lines
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "carrier_identifier": null,
                "code": s.code,
                "discounted_price": money(s.price),
                "discounted_price_set": set(s.price),
                "is_removed": false,
                "phone": null,
                "price": money(s.price),
                "price_set": set(s.price),
                "requested_fulfillment_service_id": null,
                "source": s.source,
                "title": s.title,
                "tax_lines": [],
                "discount_allocations": [],
            })
        })
        .collect();
    let discount_codes: Vec<Value> = o
        .discount_codes
        .iter()
        .map(|d| json!({"code": d.code, "amount": money(d.amount), "type": d.kind}))
        .collect();
    let customer = o
        .customer_id
        .and_then(|id| shop.customers.get(&id))
        .map_or(Value::Null, |c| Value::Object(customer_fields(c, cur)));
    let fulfillments: Vec<Value> = o
        .fulfillment_ids
        .iter()
        .filter_map(|id| shop.fulfillments.get(id))
        .map(|f| fulfillment(shop, f))
        .collect();
    let refunds: Vec<Value> = o
        .refund_ids
        .iter()
        .filter_map(|id| shop.refunds.get(id))
        .map(|r| returns::refund(shop, r))
        .collect();
    let note_attributes: Vec<Value> = o
        .note_attributes
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    // Two halves: one `json!` of every field exceeds the macro's recursion limit.
    let mut head = json!({
        "id": o.id,
        "admin_graphql_api_id": gid("Order", o.id),
        "browser_ip": o.browser_ip,
        "buyer_accepts_marketing": o.buyer_accepts_marketing,
        "cancel_reason": o.cancel_reason.map(|r| r.as_rest()),
        "cancelled_at": o.cancelled_at.map(ts),
        "checkout_token": o.token,
        "closed_at": o.closed_at.map(ts),
        "confirmation_number": o.confirmation_number,
        "confirmed": o.confirmed,
        "contact_email": o.email,
        "created_at": ts(o.created_at),
        "currency": cur,
        "current_shipping_price_set": set(o.total_shipping),
        "current_subtotal_price": money(o.subtotal()),
        "current_subtotal_price_set": set(o.subtotal()),
        "current_total_discounts": money(o.total_discounts),
        "current_total_discounts_set": set(o.total_discounts),
        "current_total_price": money(o.current_total()),
        "current_total_price_set": set(o.current_total()),
        "current_total_tax": money(current_tax),
        "current_total_tax_set": set(current_tax),
        "customer_locale": o.customer_locale,
        "discount_codes": discount_codes,
        "duties_included": false,
        "email": o.email,
        "estimated_taxes": false,
        "financial_status": o.financial_status.as_rest(),
        "fulfillment_status": o.fulfillment_status.as_rest_order_status(),
        "landing_site": o.landing_site,
    });
    let tail = json!({
        "name": o.name,
        "note": o.note,
        "note_attributes": note_attributes,
        "number": o.number.saturating_sub(1000),
        "order_number": o.number,
        "order_status_url": format!("https://{}/orders/{}/authenticate?key={}", shop.domain, o.token, o.token),
        "payment_gateway_names": o.payment_gateway_names,
        "phone": o.phone,
        "po_number": o.po_number,
        "presentment_currency": o.presentment_currency,
        "processed_at": ts(o.processed_at),
        "referring_site": o.referring_site,
        "source_name": o.source_name,
        "subtotal_price": money(o.subtotal()),
        "subtotal_price_set": set(o.subtotal()),
        "tags": tags(&o.tags),
        "tax_exempt": o.tax_exempt,
        "tax_lines": tax_lines,
        "taxes_included": o.taxes_included,
        "test": o.test,
        "token": o.token,
        "total_discounts": money(o.total_discounts),
        "total_discounts_set": set(o.total_discounts),
        "total_line_items_price": money(o.line_items_total()),
        "total_line_items_price_set": set(o.line_items_total()),
        "total_outstanding": money(o.total_outstanding()),
        "total_price": money(o.total()),
        "total_price_set": set(o.total()),
        "total_shipping_price_set": set(o.total_shipping),
        "total_tax": money(o.total_tax),
        "total_tax_set": set(o.total_tax),
        "total_tip_received": "0.00",
        "total_weight": o.total_weight_grams(),
        "updated_at": ts(o.updated_at),
        "billing_address": o.billing_address.as_ref().map(address),
        "customer": customer,
        "fulfillments": fulfillments,
        "line_items": lines,
        "refunds": refunds,
        "shipping_address": o.shipping_address.as_ref().map(address),
        "shipping_lines": shipping_lines,
    });
    if let (Value::Object(h), Value::Object(t)) = (&mut head, tail) {
        h.extend(t);
    }
    head
}

/// A line item as a fulfillment carries it: the documented fields of the fulfillments
/// topics (no `current_quantity`), `quantity` being the units this fulfillment shipped.
fn fulfillment_line(l: &LineItem, quantity: u32, currency: &str) -> Value {
    let mut v = line_item(l, currency);
    if let Value::Object(m) = &mut v {
        m.remove("current_quantity");
        m.insert("quantity".into(), json!(quantity));
    }
    v
}

/// `fulfillments/create` and `fulfillments/update`: the documented shape.
/// `shipment_status` is the latest carrier event's status in REST spelling (`in_transit`,
/// `delivered`, …), null before any.
fn fulfillment(shop: &Shop, f: &Fulfillment) -> Value {
    let order = shop.orders.get(&f.order_id);
    let cur = order.map_or(shop.currency.as_str(), |o| o.currency.as_str());
    let lines: Vec<Value> = f
        .line_items
        .iter()
        .filter_map(|fl| {
            let line = order?.line_items.iter().find(|l| l.id == fl.line_item_id)?;
            Some(fulfillment_line(line, fl.quantity, cur))
        })
        .collect();
    let first = f.tracking.first();
    let origin = f.origin_address.as_ref().map(|a| {
        json!({
            "address1": a.address1,
            "address2": a.address2,
            "city": a.city,
            "zip": a.zip,
            "province_code": a.province_code,
            "country_code": a.country_code,
        })
    });
    json!({
        "id": f.id,
        "order_id": f.order_id,
        "status": f.status.as_rest(),
        "created_at": ts(f.created_at),
        "service": "manual",
        "updated_at": ts(f.updated_at),
        "tracking_company": first.and_then(|t| t.company.clone()),
        "shipment_status": f.shipment_status().map(|s| s.as_rest()),
        "location_id": f.location_id,
        "origin_address": origin,
        "email": order.and_then(|o| o.email.clone()),
        "destination": order.and_then(|o| o.shipping_address.as_ref()).map(address),
        "line_items": lines,
        "tracking_number": first.and_then(|t| t.number.clone()),
        "tracking_numbers": f.tracking.iter().filter_map(|t| t.number.clone()).collect::<Vec<_>>(),
        "tracking_url": first.and_then(|t| t.url.clone()),
        "tracking_urls": f.tracking.iter().filter_map(|t| t.url.clone()).collect::<Vec<_>>(),
        "receipt": {},
        "name": f.name,
        "admin_graphql_api_id": gid("Fulfillment", f.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeedSize;
    use crate::shop::{
        Address, CancelReason, CustomerSpec, DispositionSpec, DispositionType, FileDraft,
        FulfillmentSpec, IssueRefund, LineSpec, MarketingOptInLevel, MarketingState, OrderSpec,
        ParentAmount, ProcessLineSpec, ProcessSpec, ProductDraft, RefundLineSpec, RefundSpec,
        RefundTransactionSpec, RestockType, ReturnDeclineReason, ReturnLineSpec, ReturnReason,
        ReturnSpec, TransactionKind,
    };

    fn fixture_keys(topic: &str) -> Vec<String> {
        let path = format!(
            "{}/../tests/fixtures/shopify/webhooks-2026-07/{topic}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        v["response"].as_object().unwrap().keys().cloned().collect()
    }

    fn address() -> Address {
        Address {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            address1: Some("12 Analytical Row".into()),
            city: Some("Toronto".into()),
            province: Some("Ontario".into()),
            province_code: Some("ON".into()),
            zip: Some("M5V 2T6".into()),
            country: Some("Canada".into()),
            country_code: Some("CA".into()),
            ..Address::default()
        }
    }

    /// A seeded shop in which every rendered topic happened once, with its events.
    fn busy_shop() -> (Shop, Vec<ShopEvent>, Id) {
        let mut shop = Shop::seed(5, &SeedSize::small());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        shop.set_event_sender(Some(tx));
        let customer = shop.create_customer(CustomerSpec {
            email: Some("ada@example.com".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            tags: vec!["vip".into(), "wholesale".into()],
            default_address: Some(address()),
            ..CustomerSpec::default()
        });
        shop.update_customer(customer, |c| c.note = Some("likes tea".into()))
            .unwrap();
        let product = *shop.products.keys().next().unwrap();
        shop.update_product(product, |p| p.tags.push("sale".into()))
            .unwrap();
        shop.create_product(ProductDraft {
            title: Some("Fresh Tee".into()),
            files: Some(vec![FileDraft::Add {
                url: "https://cdn.example.com/fresh.jpg".into(),
                alt: None,
            }]),
            ..ProductDraft::default()
        });
        let doomed = shop.create_product(ProductDraft {
            title: Some("Doomed Tee".into()),
            ..ProductDraft::default()
        });
        shop.delete_product(doomed).unwrap();
        let variants: Vec<Id> = shop.variants.keys().copied().take(2).collect();
        let order = shop.create_order(OrderSpec {
            customer_id: Some(customer),
            line_items: vec![
                LineSpec::variant(variants[0], 2),
                LineSpec::variant(variants[1], 1),
            ],
            tax_rate_bps: 1000,
            tags: vec!["sim".into(), "first".into()],
            ..OrderSpec::default()
        });
        let fulfillment = shop
            .create_fulfillment(order, FulfillmentSpec::default())
            .unwrap();
        returns_and_refunds(&mut shop, order, fulfillment);
        let other = shop.create_order(OrderSpec {
            customer_id: Some(customer),
            line_items: vec![LineSpec::variant(variants[1], 1)],
            ..OrderSpec::default()
        });
        shop.cancel_order(other, CancelReason::Customer).unwrap();
        let passing = shop.create_customer(CustomerSpec {
            email: Some("passing@example.com".into()),
            tax_exemptions: vec!["CA_STATUS_CARD_EXEMPTION".into()],
            ..CustomerSpec::default()
        });
        shop.delete_customer(passing).unwrap();
        let events = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        (shop, events, order)
    }

    /// Every returns topic and `refunds/create` on a fulfilled order of two lines (2 + 1
    /// units): a return processed with a refund, closed, reopened and closed again; one
    /// declined; one approved and cancelled; a refund made in the admin.
    fn returns_and_refunds(shop: &mut Shop, order: Id, fulfillment: Id) {
        let fl: Vec<Id> = shop.fulfillments[&fulfillment]
            .line_items
            .iter()
            .map(|l| l.id)
            .collect();
        let request = |shop: &mut Shop, fli: Id, reason: ReturnReason| {
            let mut line = ReturnLineSpec::new(fli, 1, reason);
            line.customer_note = Some("Not what I hoped".into());
            shop.request_return(ReturnSpec {
                order_id: order,
                lines: vec![line],
                shipping_fee: Some(Money(500)),
            })
            .unwrap()
        };
        let first = request(shop, fl[0], ReturnReason::Defective);
        shop.approve_return(first, true).unwrap();
        let r = &shop.returns[&first];
        let (line, reverse) = (r.line_items[0].id, r.line_items[0].reverse_line_id.unwrap());
        let outcome = shop
            .suggest_return_outcome(first, &[(line, 1)], None)
            .unwrap();
        let location = *shop.locations.keys().next().unwrap();
        shop.process_return(ProcessSpec {
            return_id: first,
            lines: vec![ProcessLineSpec {
                return_line_id: line,
                quantity: 1,
                dispositions: vec![DispositionSpec {
                    reverse_line_id: reverse,
                    quantity: 1,
                    kind: DispositionType::Restocked,
                    location_id: Some(location),
                }],
            }],
            refund: Some(IssueRefund {
                transactions: outcome
                    .transactions
                    .iter()
                    .map(|(parent_id, amount, _)| ParentAmount {
                        parent_id: *parent_id,
                        amount: *amount,
                    })
                    .collect(),
                allow_over_refunding: false,
            }),
            ..ProcessSpec::default()
        })
        .unwrap();
        shop.reopen_return(first).unwrap();
        shop.close_return(first).unwrap();
        let second = request(shop, fl[1], ReturnReason::SizeTooSmall);
        shop.decline_return(
            second,
            ReturnDeclineReason::FinalSale,
            Some("Final sale items cannot be returned.".into()),
            true,
        )
        .unwrap();
        let third = request(shop, fl[0], ReturnReason::Unwanted);
        shop.approve_return(third, false).unwrap();
        shop.cancel_return(third, false).unwrap();
        let line_item = shop.orders[&order].line_items[1].id;
        shop.create_refund(RefundSpec {
            order_id: order,
            lines: vec![RefundLineSpec::new(line_item, 1, RestockType::NoRestock)],
            transactions: vec![RefundTransactionSpec {
                order_id: order,
                parent_id: None,
                gateway: String::new(),
                kind: TransactionKind::Refund,
                amount: Money(1000),
            }],
            note: Some("broken".into()),
            ..RefundSpec::default()
        })
        .unwrap();
    }

    #[test]
    fn rendered_orders_create_parses_as_a_canonical_order() {
        let (shop, _, id) = busy_shop();
        let payload = render_topic(&shop, topics::ORDERS_CREATE, id).unwrap();
        let body = serde_json::to_vec(&payload).unwrap();
        let order =
            xconnector_actors::flows::orders::canonical::from_rest("orders/create", &body).unwrap();
        let o = &shop.orders[&id];
        assert_eq!(order.name, o.name);
        assert_eq!(order.legacy_id, id);
        assert_eq!(order.id, format!("gid://shopify/Order/{id}"));
        assert_eq!(order.totals.total, o.total().to_fixed2());
        assert_eq!(order.totals.subtotal, o.subtotal().to_fixed2());
        assert_eq!(order.totals.tax, o.total_tax.to_fixed2());
        assert_eq!(order.totals.shipping, "10.00");
        assert_eq!(order.lines.len(), 2);
        assert_eq!(order.lines[0].quantity, 2);
        assert_eq!(order.lines[0].sku, o.line_items[0].sku);
        assert_eq!(order.lines[0].unit_price, o.line_items[0].price.to_fixed2());
        let ship = order.shipping_address.unwrap();
        assert_eq!(ship.address1.as_deref(), Some("12 Analytical Row"));
        assert_eq!(ship.country_code.as_deref(), Some("CA"));
        assert_eq!(ship.province_code.as_deref(), Some("ON"));
        assert_eq!(ship.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(order.tags, ["sim", "first"]);
        assert_eq!(payload["tags"], "sim, first");
        // REST writes times in the shop's zone (New York), GraphQL in UTC.
        assert!(payload["created_at"].as_str().unwrap().ends_with("-05:00"));
        assert_eq!(
            order.customer.unwrap().email.as_deref(),
            Some("ada@example.com")
        );
    }

    #[test]
    fn every_topic_renders_only_field_names_of_the_documented_payload() {
        let (shop, events, _) = busy_shop();
        let wanted = [
            topics::ORDERS_CREATE,
            topics::ORDERS_UPDATED,
            topics::ORDERS_PAID,
            topics::ORDERS_CANCELLED,
            topics::ORDERS_FULFILLED,
            topics::INVENTORY_LEVELS_UPDATE,
            topics::CUSTOMERS_CREATE,
            topics::CUSTOMERS_UPDATE,
            topics::CUSTOMERS_DELETE,
            topics::PRODUCTS_CREATE,
            topics::PRODUCTS_UPDATE,
            topics::PRODUCTS_DELETE,
            topics::FULFILLMENTS_CREATE,
            topics::REFUNDS_CREATE,
            topics::RETURNS_REQUEST,
            topics::RETURNS_APPROVE,
            topics::RETURNS_DECLINE,
            topics::RETURNS_CLOSE,
        ];
        for topic in wanted {
            let event = events
                .iter()
                .find(|e| e.topic == topic)
                .unwrap_or_else(|| panic!("no {topic} event"));
            let payload = render(&shop, event).unwrap_or_else(|| panic!("{topic} not rendered"));
            let keys = fixture_keys(topic);
            let extra: Vec<&String> = payload
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| !keys.contains(k))
                .collect();
            assert!(extra.is_empty(), "{topic}: invented fields {extra:?}");
            if topic != topics::PRODUCTS_DELETE {
                assert!(payload.get("admin_graphql_api_id").is_some(), "{topic}");
            }
        }
    }

    fn fixture(topic: &str) -> Value {
        let path = format!(
            "{}/../tests/fixtures/shopify/webhooks-2026-07/{topic}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["response"].clone()
    }

    /// The keys of an object, sorted.
    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    #[test]
    fn returns_and_refunds_topics_render_their_documented_shapes() {
        let (mut shop, events, order) = busy_shop();
        let payloads = |shop: &Shop, topic: &str| -> Vec<Value> {
            events
                .iter()
                .filter(|e| e.topic == topic)
                .map(|e| render(shop, e).unwrap_or_else(|| panic!("{topic} not rendered")))
                .collect()
        };
        let one = |shop: &Shop, topic: &str| payloads(shop, topic)[0].clone();
        // Request and approve carry the whole documented shape, down to the shipping fees.
        for topic in [topics::RETURNS_REQUEST, topics::RETURNS_APPROVE] {
            let p = one(&shop, topic);
            let documented = fixture(topic);
            assert_eq!(keys(&p), keys(&documented), "{topic}");
            assert_eq!(
                p["order"],
                json!({"id": order, "admin_graphql_api_id": gid("Order", order)})
            );
            assert_eq!(p["total_return_line_items"], 1);
            let fee = &p["return_shipping_fees"][0];
            let documented_fee = &fixture(topics::RETURNS_APPROVE)["return_shipping_fees"][0];
            assert_eq!(keys(fee), keys(documented_fee));
            assert_eq!(
                keys(&fee["price"]["shop_money"]),
                ["amount", "currency_code"]
            );
            assert_eq!(fee["price"]["shop_money"]["amount"], "5.00");
            assert_eq!(p["return_line_items"][0]["return_reason"], "defective");
        }
        // Payloads are rendered from the state when sent: the first return is closed by now.
        assert_eq!(one(&shop, topics::RETURNS_REQUEST)["status"], "closed");
        let decline = one(&shop, topics::RETURNS_DECLINE);
        assert_eq!(keys(&decline), keys(&fixture(topics::RETURNS_DECLINE)));
        assert_eq!(
            decline["decline"],
            json!({"reason": "final_sale", "note": "Final sale items cannot be returned."})
        );
        assert_eq!(decline["status"], "declined");
        let close = fixture(topics::RETURNS_CLOSE);
        for topic in [
            topics::RETURNS_CLOSE,
            topics::RETURNS_CANCEL,
            topics::RETURNS_REOPEN,
            topics::RETURNS_PROCESS,
        ] {
            let p = one(&shop, topic);
            assert_eq!(keys(&p), keys(&close), "{topic} has close's shape");
            assert_eq!(p["order_id"], json!(order));
        }
        assert_eq!(
            payloads(&shop, topics::RETURNS_CANCEL)[0]["status"],
            "canceled"
        );
        for p in payloads(&shop, topics::RETURNS_UPDATE) {
            assert_eq!(keys(&p), keys(&fixture(topics::RETURNS_APPROVE)));
        }
        // The documented example of returns/process is `{}`, on request.
        shop.bare_returns_process = true;
        assert_eq!(one(&shop, topics::RETURNS_PROCESS), json!({}));
        shop.bare_returns_process = false;

        // refunds/create: one through the return, one from the admin.
        let refunds = payloads(&shop, topics::REFUNDS_CREATE);
        assert_eq!(refunds.len(), 2);
        let documented = fixture(topics::REFUNDS_CREATE);
        let through_return = &refunds[0];
        assert_eq!(keys(through_return), keys(&documented));
        assert!(through_return["return"]["admin_graphql_api_id"].is_string());
        assert_eq!(through_return["restock"], true);
        let line = &through_return["refund_line_items"][0];
        assert_eq!(keys(line), keys(&documented["refund_line_items"][0]));
        assert!(line["subtotal"].is_f64(), "subtotal is a JSON number");
        assert_eq!(line["restock_type"], "return");
        let tx = &through_return["transactions"][0];
        assert_eq!(keys(tx), keys(&documented["transactions"][0]));
        assert_eq!(
            keys(&tx["total_unsettled_set"]["shop_money"]),
            ["amount", "currency"]
        );
        assert_eq!(
            (&tx["kind"], &tx["status"]),
            (&json!("refund"), &json!("success"))
        );
        assert!(tx["parent_id"].is_u64());
        let admin = &refunds[1];
        assert_eq!(admin["return"], Value::Null);
        assert_eq!(admin["note"], "broken");
        assert_eq!(admin["transactions"][0]["amount"], "10.00");
    }

    #[test]
    fn customer_lifecycle_topics_render_their_documented_shapes() {
        let (mut shop, _, _) = busy_shop();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        shop.set_event_sender(Some(tx));
        let keep = shop.customer_by_email("ada@example.com").unwrap().id;
        let gone = shop.create_customer(CustomerSpec {
            email: Some("dup@example.com".into()),
            tax_exemptions: vec!["CA_STATUS_CARD_EXEMPTION".into()],
            ..CustomerSpec::default()
        });
        shop.disable_customer(keep).unwrap();
        shop.enable_customer(keep).unwrap();
        shop.set_email_marketing_consent(
            keep,
            MarketingConsent {
                state: MarketingState::Subscribed,
                opt_in_level: Some(MarketingOptInLevel::SingleOptIn),
                updated_at: Timestamp::parse("2026-10-01T12:00:00Z"),
                collected_from: None,
            },
        )
        .unwrap();
        let merge = shop.merge_customers(keep, gone).unwrap();
        let events: Vec<ShopEvent> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        let payload = |topic: &str| {
            let e = events
                .iter()
                .find(|e| e.topic == topic)
                .unwrap_or_else(|| panic!("no {topic}"));
            render(&shop, e).unwrap_or_else(|| panic!("{topic} not rendered"))
        };
        assert_eq!(
            payload(topics::CUSTOMERS_MERGE),
            json!({
                "admin_graphql_api_customer_kept_id": gid("Customer", keep),
                "admin_graphql_api_customer_deleted_id": gid("Customer", gone),
                "admin_graphql_api_job_id": null,
                "status": "COMPLETED",
                "errors": [],
            })
        );
        assert_eq!(
            events
                .iter()
                .find(|e| e.topic == topics::CUSTOMERS_MERGE)
                .map(|e| e.resource_id),
            Some(merge)
        );
        assert_eq!(
            payload(topics::CUSTOMERS_DELETE),
            json!({"id": gone, "tax_exemptions": [], "admin_graphql_api_id": gid("Customer", gone)})
        );
        assert_eq!(
            payload(topics::CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE),
            json!({
                "customer_id": keep,
                "email_address": "ada@example.com",
                "email_marketing_consent": {
                    "state": "subscribed",
                    "opt_in_level": "single_opt_in",
                    "consent_updated_at": "2026-10-01T07:00:00-05:00",
                },
            })
        );
        let update_keys = fixture_keys(topics::CUSTOMERS_UPDATE);
        for topic in [
            topics::CUSTOMERS_DISABLE,
            topics::CUSTOMERS_ENABLE,
            topics::CUSTOMERS_UPDATE,
        ] {
            let p = payload(topic);
            assert_eq!(p["id"], json!(keep), "{topic}");
            let keys: Vec<String> = p.as_object().unwrap().keys().cloned().collect();
            assert!(
                keys.iter().all(|k| update_keys.contains(k)),
                "{topic}: {keys:?}"
            );
            assert!(p.get("tags").is_none() && p.get("email_marketing_consent").is_none());
        }
        assert_eq!(payload(topics::CUSTOMERS_ENABLE)["state"], "enabled");
    }
}
