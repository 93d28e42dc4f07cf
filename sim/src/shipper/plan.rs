//! What the WMS posts, as pure functions of a canonical order and a seeded generator: the
//! shipments of one order ([`plan_shipments`]: boxes, carrier, tracking numbers, how lines are
//! named) and a later status of one shipment ([`status_update`]).

use serde_json::{Map, Value, json};

/// Carrier names as the WMS writes them: Shopify's own spellings ("UPS", "FedEx", "USPS",
/// "DHL Express", "Canada Post"), others a daemon must normalise ("ups", "Fedex"), and one no
/// one knows ("Acme Freight"). Weighted in [`carrier`].
pub const CARRIERS: &[&str] = &[
    "UPS",
    "ups",
    "FedEx",
    "Fedex",
    "USPS",
    "DHL Express",
    "Canada Post",
    "Acme Freight",
];
const CARRIER_WEIGHTS: &[u32] = &[25, 8, 18, 6, 15, 10, 13, 5];

/// Every status the WMS sends.
pub const STATUSES: &[&str] = &[
    "label_printed",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "attempted_delivery",
    "failure",
    "exception",
];

/// Share of orders (of two units or more) shipped in two boxes.
pub const SPLIT_SHARE: f64 = 0.2;

/// A later status of a shipment already posted: the same `id` and `order`, no lines.
pub fn status_update(shipment_id: &str, order_ref: &Value, status: &str, at: &str) -> Value {
    json!({"id": shipment_id, "order": order_ref, "status": status, "happened_at": at})
}

/// A carrier name from [`CARRIERS`], by weight.
pub fn carrier(rng: &mut fastrand::Rng) -> &'static str {
    let total: u32 = CARRIER_WEIGHTS.iter().sum();
    let mut pick = rng.u32(0..total);
    for (name, weight) in CARRIERS.iter().zip(CARRIER_WEIGHTS) {
        if pick < *weight {
            return name;
        }
        pick -= weight;
    }
    CARRIERS[0]
}

fn digits(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n).map(|_| rng.digit(10)).collect()
}

/// A tracking number shaped like the carrier's (`1Z` + 16 for UPS, 12 digits for FedEx, 22
/// from `9400` for USPS, 10 for DHL Express, 16 for Canada Post).
pub fn tracking_number(carrier: &str, rng: &mut fastrand::Rng) -> String {
    match carrier.to_ascii_lowercase().as_str() {
        "ups" => {
            let shipper: String = (0..6)
                .map(|_| rng.alphanumeric().to_ascii_uppercase())
                .collect();
            format!("1Z{shipper}{}", digits(rng, 10))
        }
        "fedex" => digits(rng, 12),
        "usps" => format!("9400{}", digits(rng, 18)),
        "dhl express" => digits(rng, 10),
        "canada post" => digits(rng, 16),
        _ => format!("ACME-{}", digits(rng, 8)),
    }
}

/// A line as the WMS names it, with its units.
struct Shippable {
    /// `("sku", "RS-S")` or `("line_item_id", "gid://shopify/LineItem/1")`.
    name: (&'static str, String),
    quantity: u64,
}

/// The lines of a canonical order that ship: those requiring shipping with units. A line
/// is named by SKU when it is the order's only line with that SKU (and now and then by its
/// id anyway), by its id otherwise.
fn shippable(order: &Value, rng: &mut fastrand::Rng) -> Vec<Shippable> {
    let empty = Vec::new();
    let lines = order["lines"].as_array().unwrap_or(&empty);
    fn sku_of(l: &Value) -> Option<&str> {
        l["sku"].as_str().filter(|s| !s.trim().is_empty())
    }
    lines
        .iter()
        .filter(|l| l["requires_shipping"].as_bool().unwrap_or(true))
        .filter_map(|l| {
            let quantity = l["quantity"].as_u64().filter(|q| *q > 0)?;
            let sku = sku_of(l);
            let unique =
                sku.is_some_and(|s| lines.iter().filter(|x| sku_of(x) == Some(s)).count() == 1);
            let id = l["id"].as_str();
            let name = match (sku, id) {
                (Some(s), _) if unique && rng.u8(0..10) < 8 => ("sku", s.to_string()),
                (_, Some(id)) => ("line_item_id", id.to_string()),
                (Some(s), None) if unique => ("sku", s.to_string()),
                _ => return None,
            };
            Some(Shippable { name, quantity })
        })
        .collect()
}

fn line_entries(lines: &[(usize, u64)], shippable: &[Shippable]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|(i, quantity)| {
            let s = shippable.get(*i)?;
            let mut m = Map::new();
            m.insert(s.name.0.to_string(), json!(s.name.1));
            m.insert("quantity".into(), json!(quantity));
            Some(Value::Object(m))
        })
        .collect()
}

/// The shipment id prefix of an order: `SHP-1001` from `#1001`.
fn shipment_prefix(order: &Value) -> String {
    let tail = order["name"]
        .as_str()
        .map(|n| n.trim_start_matches('#'))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()))
        .or_else(|| order["id"].as_str().and_then(|g| g.rsplit('/').next()))
        .unwrap_or("0");
    format!("SHP-{tail}")
}

/// How the shipments name the order: by name mostly, by Shopify id now and then.
fn order_ref(order: &Value, rng: &mut fastrand::Rng) -> Option<Value> {
    let name = order["name"].as_str();
    let id = order["id"].as_str();
    match (name, id) {
        (Some(n), Some(_)) if rng.u8(0..10) < 8 => Some(json!({"name": n})),
        (_, Some(id)) => Some(json!({"shopify_id": id})),
        (Some(n), None) => Some(json!({"name": n})),
        (None, None) => None,
    }
}

/// The shipments of one canonical order (`xconnector.order.v1`), leaving at `at` (RFC 3339):
/// one box, or two for about [`SPLIT_SHARE`] of orders of two units or more. Every shipping
/// line's units are in exactly one box (all of them when `lines` is left out). Empty when
/// nothing ships.
pub fn plan_shipments(order: &Value, rng: &mut fastrand::Rng, at: &str) -> Vec<Value> {
    let lines = shippable(order, rng);
    let Some(reference) = order_ref(order, rng) else {
        return Vec::new();
    };
    if lines.is_empty() {
        return Vec::new();
    }
    let units: u64 = lines.iter().map(|l| l.quantity).sum();
    let all: Vec<(usize, u64)> = lines.iter().map(|l| l.quantity).enumerate().collect();
    let boxes: Vec<Vec<(usize, u64)>> = if units >= 2 && rng.f64() < SPLIT_SHARE {
        let splittable: Vec<usize> = (0..lines.len())
            .filter(|i| lines[*i].quantity >= 2)
            .collect();
        if lines.len() >= 2 && (splittable.is_empty() || rng.bool()) {
            let cut = rng.usize(1..lines.len());
            vec![all[..cut].to_vec(), all[cut..].to_vec()]
        } else {
            // One line's units in both boxes (there is one with two or more: units ≥ 2).
            let i = splittable[rng.usize(..splittable.len())];
            let first = rng.u64(1..lines[i].quantity);
            let mut one = all.clone();
            one[i].1 = first;
            vec![one, vec![(i, lines[i].quantity - first)]]
        }
    } else {
        vec![all]
    };
    let carrier = carrier(rng);
    let single = boxes.len() == 1;
    let prefix = shipment_prefix(order);
    boxes
        .iter()
        .enumerate()
        .map(|(k, b)| {
            let parcels = if rng.u8(0..20) == 0 { 2 } else { 1 };
            let numbers: Vec<String> = (0..parcels)
                .map(|_| tracking_number(carrier, rng))
                .collect();
            // Shopify builds URLs for carriers it knows; the WMS gives one for the one it does not.
            let urls: Vec<String> = if carrier == "Acme Freight" {
                numbers
                    .iter()
                    .map(|n| format!("https://track.acme-freight.example/{n}"))
                    .collect()
            } else {
                Vec::new()
            };
            let mut m = Map::new();
            m.insert("id".into(), json!(format!("{prefix}-{}", k + 1)));
            m.insert("order".into(), reference.clone());
            if !(single && rng.u8(0..4) == 0) {
                m.insert("lines".into(), json!(line_entries(b, &lines)));
            }
            m.insert("carrier".into(), json!(carrier));
            m.insert("tracking_numbers".into(), json!(numbers));
            m.insert("tracking_urls".into(), json!(urls));
            m.insert("notify_customer".into(), json!(rng.u8(0..10) < 9));
            match rng.u8(0..10) {
                0..=4 => {}
                5..=8 => {
                    m.insert("status".into(), json!("picked_up"));
                }
                _ => {
                    m.insert("status".into(), json!("label_printed"));
                }
            }
            m.insert("happened_at".into(), json!(at));
            Value::Object(m)
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::shipper::ORDER_SCHEMA;
    use std::collections::{HashMap, HashSet};

    /// A canonical order with `lines` of (sku, quantity); a `None` SKU is a line without one.
    pub(in crate::shipper) fn order(n: u64, lines: &[(Option<&str>, u64)]) -> Value {
        let lines: Vec<Value> = lines
            .iter()
            .enumerate()
            .map(|(i, (sku, q))| {
                json!({"id": format!("gid://shopify/LineItem/{}", n * 100 + i as u64),
                    "sku": sku, "quantity": q, "requires_shipping": true, "title": "Tee"})
            })
            .collect();
        json!({"schema": ORDER_SCHEMA, "event": "upsert",
            "id": format!("gid://shopify/Order/{n}"), "legacy_id": n,
            "name": format!("#{}", 1000 + n), "lines": lines,
            "fulfillment_status": null, "cancelled_at": null})
    }

    /// Random orders: 1 to 4 lines of 1 to 3 units, SKUs sometimes repeated or missing.
    fn random_order(rng: &mut fastrand::Rng, n: u64) -> Value {
        let skus = ["RS-S", "RS-M", "RS-L", "CAP", "MUG"];
        let lines: Vec<(Option<&str>, u64)> = (0..rng.usize(1..=4))
            .map(|_| {
                let sku = (rng.u8(0..10) > 0).then(|| skus[rng.usize(..skus.len())]);
                (sku, rng.u64(1..=3))
            })
            .collect();
        order(n, &lines)
    }

    /// Units per line item id that a plan ships.
    fn shipped_units(order: &Value, plan: &[Value]) -> HashMap<String, u64> {
        let lines = order["lines"].as_array().unwrap();
        let mut units = HashMap::new();
        for s in plan {
            match s.get("lines") {
                None => {
                    assert_eq!(plan.len(), 1, "lines left out only for a single box");
                    for l in lines {
                        *units
                            .entry(l["id"].as_str().unwrap().to_string())
                            .or_default() += l["quantity"].as_u64().unwrap();
                    }
                }
                Some(named) => {
                    for n in named.as_array().unwrap() {
                        let id = match (n.get("sku"), n.get("line_item_id")) {
                            (Some(sku), None) => {
                                let matching: Vec<&Value> =
                                    lines.iter().filter(|l| l["sku"] == *sku).collect();
                                assert_eq!(matching.len(), 1, "a SKU names one line: {n}");
                                matching[0]["id"].as_str().unwrap().to_string()
                            }
                            (None, Some(id)) => id.as_str().unwrap().to_string(),
                            _ => panic!("a line names a sku or a line item: {n}"),
                        };
                        let q = n["quantity"].as_u64().unwrap();
                        assert!(q > 0, "{n}");
                        *units.entry(id).or_default() += q;
                    }
                }
            }
        }
        units
    }

    #[test]
    fn plans_ship_every_line_exactly_once_and_split_about_a_fifth() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut orders = fastrand::Rng::with_seed(8);
        let (mut eligible, mut split, mut omitted) = (0, 0, 0);
        let mut carriers = HashSet::new();
        for n in 1..=2000u64 {
            let o = random_order(&mut orders, n);
            let plan = plan_shipments(&o, &mut rng, "2026-12-02T10:00:00Z");
            assert!(plan.len() == 1 || plan.len() == 2);
            let units = shipped_units(&o, &plan);
            for l in o["lines"].as_array().unwrap() {
                assert_eq!(
                    units.get(l["id"].as_str().unwrap()).copied(),
                    l["quantity"].as_u64(),
                    "{o}\n{plan:?}"
                );
            }
            let total: u64 = o["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["quantity"].as_u64().unwrap())
                .sum();
            if total >= 2 {
                eligible += 1;
                split += usize::from(plan.len() == 2);
            }
            for (k, s) in plan.iter().enumerate() {
                assert_eq!(s["id"], json!(format!("SHP-{}-{}", 1000 + n, k + 1)));
                let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
                for key in keys {
                    assert!(
                        [
                            "id",
                            "order",
                            "lines",
                            "carrier",
                            "tracking_numbers",
                            "tracking_urls",
                            "notify_customer",
                            "status",
                            "happened_at"
                        ]
                        .contains(&key.as_str()),
                        "{key}"
                    );
                }
                let r = s["order"].as_object().unwrap();
                assert!(r.get("name") == Some(&o["name"]) || r.get("shopify_id") == Some(&o["id"]));
                let c = s["carrier"].as_str().unwrap();
                carriers.insert(c.to_string());
                assert!(!s["tracking_numbers"].as_array().unwrap().is_empty());
                if c.eq_ignore_ascii_case("ups") {
                    assert!(s["tracking_numbers"][0].as_str().unwrap().starts_with("1Z"));
                }
                if let Some(status) = s.get("status") {
                    assert!(STATUSES.contains(&status.as_str().unwrap()));
                }
                assert_eq!(plan[0]["carrier"], s["carrier"], "one carrier per order");
                omitted += usize::from(s.get("lines").is_none());
            }
        }
        let share = split as f64 / eligible as f64;
        assert!((0.15..0.25).contains(&share), "split share {share}");
        assert!(omitted > 100, "lines left out now and then: {omitted}");
        assert_eq!(carriers.len(), CARRIERS.len(), "{carriers:?}");
        assert!(plan_shipments(&order(1, &[]), &mut rng, "x").is_empty());
        // The same seed, the same plans.
        let o = random_order(&mut orders, 1);
        let a = plan_shipments(&o, &mut fastrand::Rng::with_seed(3), "t");
        let b = plan_shipments(&o, &mut fastrand::Rng::with_seed(3), "t");
        assert_eq!(a, b);
    }
}
