use super::*;
use crate::flows::orders::canonical::from_rest;

const DAY: Millis = 24 * 3600 * 1000;

/// Shopify's documented `orders/create` example, with the fields the rules look at set (also
/// the exceptions flow's test order).
pub(crate) fn order(edit: impl FnOnce(&mut serde_json::Value)) -> Order {
    let mut v = serde_json::json!({
        "id": 450789469,
        "admin_graphql_api_id": "gid://shopify/Order/450789469",
        "name": "#1001",
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-20T10:00:00Z",
        "cancelled_at": null,
        "cancel_reason": null,
        "currency": "USD",
        "financial_status": "paid",
        "fulfillment_status": null,
        "shipping_address": {
            "name": "Bob Norman", "first_name": "Bob", "last_name": "Norman",
            "address1": "Chestnut Street 92", "address2": "", "city": "Louisville",
            "province": "Kentucky", "province_code": "KY", "zip": "40202",
            "country": "United States", "country_code": "US", "phone": "+1-555-555-5555"
        },
        "line_items": [
            {"id": 1, "sku": "IPOD-342-N", "title": "IPod Nano", "quantity": 1, "price": "199.00",
             "variant_id": 808950810, "product_id": 632910392, "requires_shipping": true}
        ]
    });
    edit(&mut v);
    from_rest("orders/create", &serde_json::to_vec(&v).unwrap()).unwrap()
}

fn now() -> Millis {
    parse_time("2026-11-20T12:00:00Z").unwrap()
}

fn all_rules() -> Rules {
    Rules {
        address: Some(AddressRule {
            route_to: Some("support".into()),
            required: vec![
                "name".into(),
                "address1".into(),
                "city".into(),
                "zip".into(),
                "country_code".into(),
            ],
            allowed_countries: vec!["US".into(), "CA".into()],
            forbid_po_box: true,
        }),
        payment: Some(PaymentRule {
            route_to: Some("finance".into()),
            hold: vec!["PENDING".into(), "VOIDED".into(), "EXPIRED".into()],
            authorization_grace: Duration::from_secs(7 * 24 * 3600),
        }),
        fraud: Some(FraudRule {
            route_to: Some("fraud".into()),
            max_risk: RiskLevel::High,
            hold_on_cancel_recommendation: true,
        }),
        stock: Some(StockRule {
            route_to: Some("wms".into()),
        }),
    }
}

fn rules_broken(order: &Order, facts: &Facts, now: Millis) -> Vec<Rule> {
    all_rules()
        .evaluate(order, facts, now)
        .into_iter()
        .map(|v| v.rule)
        .collect()
}

#[test]
fn a_good_order_passes() {
    assert!(rules_broken(&order(|_| {}), &Facts::default(), now()).is_empty());
}

#[test]
fn address_rules_and_their_boundaries() {
    let missing = order(|o| {
        o["shipping_address"]["address1"] = serde_json::Value::Null;
        o["shipping_address"]["zip"] = " ".into();
    });
    let v = all_rules().evaluate(&missing, &Facts::default(), now());
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].rule, Rule::Address);
    assert_eq!(v[0].route_to.as_deref(), Some("support"));
    assert!(v[0].reason.contains("address1, zip"), "{}", v[0].reason);

    let abroad = order(|o| o["shipping_address"]["country_code"] = "FR".into());
    assert_eq!(
        rules_broken(&abroad, &Facts::default(), now()),
        [Rule::Address]
    );
    let lower_case = order(|o| o["shipping_address"]["country_code"] = "ca".into());
    assert!(rules_broken(&lower_case, &Facts::default(), now()).is_empty());

    for po in [
        "PO Box 12",
        "P.O. Box 7",
        "p o box 3",
        "POBox 9",
        "Post Office Box 1",
    ] {
        let o = order(|o| o["shipping_address"]["address1"] = po.into());
        assert_eq!(
            rules_broken(&o, &Facts::default(), now()),
            [Rule::Address],
            "{po}"
        );
    }
    for fine in [
        "12 Boxwood Lane",
        "Pole Street 4",
        "Depot Boxes Ltd, 3 Main St",
    ] {
        let o = order(|o| o["shipping_address"]["address1"] = fine.into());
        assert!(
            rules_broken(&o, &Facts::default(), now()).is_empty(),
            "{fine}"
        );
    }
    let no_address = order(|o| o["shipping_address"] = serde_json::Value::Null);
    assert_eq!(
        rules_broken(&no_address, &Facts::default(), now()),
        [Rule::Address]
    );
    // A gift card needs no shipping address.
    let digital = order(|o| {
        o["shipping_address"] = serde_json::Value::Null;
        o["line_items"][0]["requires_shipping"] = false.into();
    });
    assert!(rules_broken(&digital, &Facts::default(), now()).is_empty());
}

#[test]
fn payment_rules_and_the_authorization_grace() {
    for (status, held) in [
        ("pending", true),
        ("voided", true),
        ("expired", true),
        ("paid", false),
        ("partially_paid", false),
        ("authorized", false),
    ] {
        let o = order(|o| o["financial_status"] = status.into());
        assert_eq!(
            rules_broken(&o, &Facts::default(), now()) == [Rule::Payment],
            held,
            "{status}"
        );
    }
    // Shopify's current status wins over the payload's.
    let o = order(|o| o["financial_status"] = "pending".into());
    let paid_now = Facts {
        financial_status: Some("PAID".into()),
        ..Facts::default()
    };
    assert!(rules_broken(&o, &paid_now, now()).is_empty());
    // AUTHORIZED: fine within the grace, held after it (7 days exactly is still fine).
    let created = parse_time("2026-11-20T10:00:00Z").unwrap();
    let authorized = order(|o| o["financial_status"] = "authorized".into());
    assert!(rules_broken(&authorized, &Facts::default(), created + 7 * DAY).is_empty());
    assert_eq!(
        rules_broken(&authorized, &Facts::default(), created + 7 * DAY + 1000),
        [Rule::Payment]
    );
}

#[test]
fn fraud_rules_at_the_threshold_and_on_a_cancel_recommendation() {
    let o = order(|_| {});
    for (level, held) in [
        (RiskLevel::None, false),
        (RiskLevel::Low, false),
        (RiskLevel::Medium, false),
        (RiskLevel::High, true),
    ] {
        let f = Facts {
            risk_level: Some(level),
            ..Facts::default()
        };
        assert_eq!(
            rules_broken(&o, &f, now()) == [Rule::Fraud],
            held,
            "{level:?}"
        );
    }
    let mut rules = all_rules();
    if let Some(f) = rules.fraud.as_mut() {
        f.max_risk = RiskLevel::Medium;
    }
    let medium = Facts {
        risk_level: Some(RiskLevel::Medium),
        ..Facts::default()
    };
    assert_eq!(rules.evaluate(&o, &medium, now()).len(), 1);
    let cancel = Facts {
        risk_level: Some(RiskLevel::Low),
        recommend_cancel: true,
        ..Facts::default()
    };
    let v = all_rules().evaluate(&o, &cancel, now());
    assert_eq!(v[0].rule, Rule::Fraud);
    assert!(
        v[0].reason.contains("recommends cancelling"),
        "{}",
        v[0].reason
    );
}

#[test]
fn stock_rule_holds_only_lines_beyond_what_was_there() {
    let o = order(|_| {});
    let fact = |after| Facts {
        stock: vec![StockFact {
            sku: "IPOD-342-N".into(),
            ordered: 3,
            available_after: after,
        }],
        ..Facts::default()
    };
    // Exactly the last 3 units: fine.
    assert!(rules_broken(&o, &fact(0), now()).is_empty());
    let v = all_rules().evaluate(&o, &fact(-1), now());
    assert_eq!(v[0].rule, Rule::Stock);
    assert_eq!(v[0].reason, "IPOD-342-N ordered 3 but only 2 in stock");
}

#[test]
fn cancellations_are_never_held_and_rules_that_are_off_never_fire() {
    let cancelled = order(|o| {
        o["cancelled_at"] = "2026-11-20T11:00:00Z".into();
        o["financial_status"] = "voided".into();
    });
    assert!(rules_broken(&cancelled, &Facts::default(), now()).is_empty());
    let bad = order(|o| {
        o["financial_status"] = "pending".into();
        o["shipping_address"]["zip"] = serde_json::Value::Null;
    });
    assert_eq!(
        rules_broken(&bad, &Facts::default(), now()),
        [Rule::Address, Rule::Payment]
    );
    assert!(
        Rules::default()
            .evaluate(&bad, &Facts::default(), now())
            .is_empty()
    );
}
