//! Which fulfillment order lines a shipment fulfils. Shopify fulfils fulfillment orders, not
//! orders: an order split across locations has one per location, each with what it still has
//! to ship. A shipment's lines (by SKU or line item) are matched to those, across fulfillment
//! orders and locations, the origin location first; one `fulfillmentCreate` per location
//! follows. A line that cannot ship (more than is left, a fulfillment order on hold, closed or
//! cancelled, not on the order) is refused with the line and the reason, and nothing of the
//! shipment is written: a person decides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::inbound::{Line, LineRef, Origin};
use crate::shopify::operations::fulfillments::{FulfillmentOrder, FulfillmentOrderLine};

/// The lines of one fulfillment order that one fulfillment takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Take {
    /// Fulfillment order (numeric id).
    pub order: u64,
    pub lines: Vec<TakeLine>,
}

/// Units of one fulfillment order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakeLine {
    /// The fulfillment order line (numeric id).
    pub id: u64,
    /// Its order line item (numeric id).
    pub item: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub quantity: u32,
}

/// One fulfillment to create: what it takes at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub location: u64,
    pub takes: Vec<Take>,
}

impl Allocation {
    /// (line item, quantity), summed per line item, sorted: what the fulfillment ships.
    pub fn line_items(&self) -> Vec<(u64, u32)> {
        let mut sum: BTreeMap<u64, u32> = BTreeMap::new();
        for take in &self.takes {
            for l in &take.lines {
                *sum.entry(l.item).or_default() += l.quantity;
            }
        }
        sum.into_iter().collect()
    }
}

fn matches(line: &LineRef, fo_line: &FulfillmentOrderLine) -> bool {
    match line {
        LineRef::Sku(sku) => fo_line.sku.as_deref() == Some(sku.as_str()),
        LineRef::LineItem(id) => fo_line.line_item.id.id() == *id,
    }
}

fn at_origin(fo: &FulfillmentOrder, origin: Option<&Origin>) -> bool {
    match origin {
        Some(Origin::Location(id)) => fo.location() == *id,
        Some(Origin::Name(name)) => fo.assigned_location.name.eq_ignore_ascii_case(name),
        None => false,
    }
}

/// Why a fulfillment order cannot ship now.
fn blocked(fo: &FulfillmentOrder) -> String {
    let mut why = format!(
        "fulfillment order {} at {} is {}",
        fo.id, fo.assigned_location.name, fo.status
    );
    if let Some(hold) = fo.fulfillment_holds.first() {
        why.push_str(&format!(" ({}", hold.reason));
        if let Some(notes) = hold.reason_notes.as_deref().filter(|n| !n.is_empty()) {
            why.push_str(&format!(": {notes}"));
        }
        why.push(')');
    }
    why
}

/// The fulfillments `lines` (`None`: everything still to fulfil) become on an order with
/// fulfillment orders `fos`, or every reason they cannot, for a person.
pub fn plan(
    lines: Option<&[Line]>,
    origin: Option<&Origin>,
    order_name: &str,
    fos: &[FulfillmentOrder],
) -> Result<Vec<Allocation>, String> {
    // The origin's fulfillment orders first, then Shopify's order.
    let mut ordered: Vec<&FulfillmentOrder> = fos.iter().collect();
    ordered.sort_by_key(|fo| !at_origin(fo, origin));
    let mut takes: Vec<(u64, Take)> = Vec::new();
    let mut take = |fo: &FulfillmentOrder, line: &FulfillmentOrderLine, q: u32| {
        let id = fo.id.id();
        let new = TakeLine {
            id: line.id.id(),
            item: line.line_item.id.id(),
            sku: line.sku.clone(),
            quantity: q,
        };
        match takes.iter_mut().find(|(_, t)| t.order == id) {
            Some((_, t)) => match t.lines.iter_mut().find(|l| l.id == new.id) {
                Some(l) => l.quantity += q,
                None => t.lines.push(new),
            },
            None => takes.push((
                fo.location(),
                Take {
                    order: id,
                    lines: vec![new],
                },
            )),
        }
    };
    let mut problems = Vec::new();
    match lines {
        None => {
            for fo in &ordered {
                let left: u32 = fo
                    .line_items
                    .nodes
                    .iter()
                    .map(|l| l.remaining_quantity)
                    .sum();
                if left == 0 {
                    continue;
                }
                if !fo.can_fulfil() {
                    problems.push(format!("{left} units cannot ship: {}", blocked(fo)));
                    continue;
                }
                for l in fo
                    .line_items
                    .nodes
                    .iter()
                    .filter(|l| l.remaining_quantity > 0)
                {
                    take(fo, l, l.remaining_quantity);
                }
            }
            if problems.is_empty() && takes.is_empty() {
                problems.push(format!("nothing is left to fulfil on {order_name}"));
            }
        }
        Some(lines) => {
            // What is left per fulfillment order line, as this shipment's lines use it up.
            let mut left: BTreeMap<u64, u32> = BTreeMap::new();
            for fo in &ordered {
                for l in &fo.line_items.nodes {
                    left.insert(l.id.id(), l.remaining_quantity);
                }
            }
            for (i, line) in lines.iter().enumerate() {
                let mut need = line.quantity;
                let mut found = false;
                let mut held = Vec::new();
                let mut closed = Vec::new();
                for fo in &ordered {
                    for l in fo
                        .line_items
                        .nodes
                        .iter()
                        .filter(|l| matches(&line.item, l))
                    {
                        found = true;
                        let rest = left.get(&l.id.id()).copied().unwrap_or(0);
                        if rest == 0 {
                            continue;
                        }
                        if !fo.can_fulfil() {
                            if fo.status == "CLOSED" || fo.status == "CANCELLED" {
                                closed.push(blocked(fo));
                            } else {
                                held.push(blocked(fo));
                            }
                            continue;
                        }
                        let q = rest.min(need);
                        if q == 0 {
                            continue;
                        }
                        left.insert(l.id.id(), rest - q);
                        take(fo, l, q);
                        need -= q;
                    }
                }
                let what = format!("lines[{i}] ({})", line.item);
                if !found {
                    problems.push(format!("{what}: not on {order_name}"));
                } else if need > 0 {
                    let shipped = line.quantity - need;
                    let reason = if let Some(h) = held.first().or(closed.first()) {
                        format!("{need} of {} cannot ship: {h}", line.quantity)
                    } else {
                        format!(
                            "ships {}, but only {shipped} {} left to fulfil on {order_name}",
                            line.quantity,
                            if shipped == 1 { "is" } else { "are" }
                        )
                    };
                    problems.push(format!("{what}: {reason}"));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let mut by_location: Vec<Allocation> = Vec::new();
    for (location, take) in takes {
        match by_location.iter_mut().find(|a| a.location == location) {
            Some(a) => a.takes.push(take),
            None => by_location.push(Allocation {
                location,
                takes: vec![take],
            }),
        }
    }
    Ok(by_location)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fo(
        id: u64,
        location: u64,
        status: &str,
        lines: &[(u64, u64, &str, u32)],
    ) -> FulfillmentOrder {
        let actions: Vec<_> = match status {
            "OPEN" | "IN_PROGRESS" => vec![json!({"action": "CREATE_FULFILLMENT"})],
            _ => vec![json!({"action": "RELEASE_HOLD"})],
        };
        serde_json::from_value(json!({
            "id": format!("gid://shopify/FulfillmentOrder/{id}"),
            "status": status,
            "supportedActions": actions,
            "assignedLocation": {"name": format!("Loc {location}"), "location": {"id": format!("gid://shopify/Location/{location}")}},
            "fulfillmentHolds": if status == "ON_HOLD" { json!([{"reason": "INCORRECT_ADDRESS", "reasonNotes": "check the street"}]) } else { json!([]) },
            "lineItems": {"nodes": lines.iter().map(|(id, item, sku, left)| json!({
                "id": format!("gid://shopify/FulfillmentOrderLineItem/{id}"),
                "remainingQuantity": left, "totalQuantity": 5, "sku": sku,
                "lineItem": {"id": format!("gid://shopify/LineItem/{item}")}
            })).collect::<Vec<_>>(), "pageInfo": {"hasNextPage": false}}
        }))
        .unwrap()
    }

    fn sku(s: &str, q: u32) -> Line {
        Line {
            item: LineRef::Sku(s.into()),
            quantity: q,
        }
    }

    #[test]
    fn lines_are_matched_across_locations_and_grouped_per_location() {
        let fos = [
            fo(1, 10, "OPEN", &[(11, 101, "A", 2), (12, 102, "B", 1)]),
            fo(2, 20, "OPEN", &[(21, 103, "C", 3)]),
        ];
        let plan = plan(Some(&[sku("A", 2), sku("C", 1)]), None, "#1001", &fos).unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].location, 10);
        assert_eq!(plan[0].takes[0].lines[0].id, 11);
        assert_eq!(plan[0].line_items(), vec![(101, 2)]);
        assert_eq!(plan[1].location, 20);
        assert_eq!(plan[1].line_items(), vec![(103, 1)]);
        let all = super::plan(None, None, "#1001", &fos).unwrap();
        assert_eq!(all[0].line_items(), vec![(101, 2), (102, 1)]);
        assert_eq!(all[1].line_items(), vec![(103, 3)]);
    }

    #[test]
    fn one_sku_at_two_locations_ships_from_the_origin_first() {
        let fos = [
            fo(1, 10, "OPEN", &[(11, 101, "A", 2)]),
            fo(2, 20, "OPEN", &[(21, 102, "A", 2)]),
        ];
        let plan = plan(
            Some(&[sku("A", 3)]),
            Some(&Origin::Name("loc 20".into())),
            "#1",
            &fos,
        )
        .unwrap();
        assert_eq!(plan[0].location, 20);
        assert_eq!(plan[0].line_items(), vec![(102, 2)]);
        assert_eq!(plan[1].line_items(), vec![(101, 1)]);
    }

    #[test]
    fn lines_that_cannot_ship_are_each_named_with_the_reason() {
        let fos = [
            fo(1, 10, "OPEN", &[(11, 101, "A", 1)]),
            fo(2, 20, "ON_HOLD", &[(21, 102, "B", 2)]),
            fo(3, 30, "CLOSED", &[(31, 103, "D", 0)]),
        ];
        let err = plan(
            Some(&[sku("A", 3), sku("B", 1), sku("X", 1), sku("D", 1)]),
            None,
            "#1001",
            &fos,
        )
        .unwrap_err();
        assert!(
            err.contains("lines[0] (SKU A): ships 3, but only 1 is left to fulfil on #1001"),
            "{err}"
        );
        assert!(
            err.contains("lines[1] (SKU B): 1 of 1 cannot ship: fulfillment order gid://shopify/FulfillmentOrder/2 at Loc 20 is ON_HOLD (INCORRECT_ADDRESS: check the street)"),
            "{err}"
        );
        assert!(err.contains("lines[2] (SKU X): not on #1001"), "{err}");
        assert!(
            err.contains("lines[3] (SKU D): ships 1, but only 0 are left"),
            "{err}"
        );
        let all = plan(None, None, "#1001", &fos).unwrap_err();
        assert!(all.contains("2 units cannot ship"), "{all}");
        let done = [fo(1, 10, "CLOSED", &[(11, 101, "A", 0)])];
        assert_eq!(
            plan(None, None, "#9", &done).unwrap_err(),
            "nothing is left to fulfil on #9"
        );
    }

    #[test]
    fn two_lines_of_one_sku_do_not_take_the_same_units_twice() {
        let fos = [fo(1, 10, "OPEN", &[(11, 101, "A", 2)])];
        assert!(plan(Some(&[sku("A", 1), sku("A", 1)]), None, "#1", &fos).is_ok());
        let err = plan(Some(&[sku("A", 2), sku("A", 1)]), None, "#1", &fos).unwrap_err();
        assert!(
            err.starts_with("lines[1] (SKU A): ships 1, but only 0"),
            "{err}"
        );
    }
}
