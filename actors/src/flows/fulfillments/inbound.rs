//! `POST /api/v1/shipments` and CSV drops: shipments from a WMS or 3PL (the shape is fixed in
//! `docs/DESIGN.md`, "The inbound API"):
//!
//! ```json
//! {"source": "wms", "shipments": [{"id": "SHP-1", "order": {"name": "#1001"},
//!   "lines": [{"sku": "RS-S", "quantity": 1}],
//!   "carrier": "UPS", "tracking_numbers": ["1Z…"], "tracking_urls": [], "notify_customer": true,
//!   "status": "in_transit", "happened_at": "2026-12-02T10:00:00Z"}]}
//! ```
//!
//! `order` is `{"name": "#1001"}`, `{"shopify_id": "gid://shopify/Order/1"}` or
//! `{"legacy_id": 1}` (the `legacy_id` the orders flow delivered); a line names a `sku` or a
//! `line_item_id` (GID). `lines` left out: everything still to fulfil. Beyond the fixed shape:
//! `shipped_at`, `location` (the origin: a location GID or name, preferred when a line could
//! ship from several) and `message` (on the status event).
//!
//! A later entry with the same `id` updates the shipment: a new `carrier` or tracking corrects
//! it, a `status` adds a carrier event. An entry with only `id`, `order`, `status` and
//! `happened_at` is a status update and never creates a fulfillment.
//!
//! CSV: one row per line, columns `id,order,sku,quantity,carrier,tracking_numbers,
//! tracking_urls,status,happened_at,notify_customer,…` (or a header naming them); `order` is a
//! name (`#1001`), a GID or a number; several numbers or URLs in a cell are separated by
//! spaces or `;`; consecutive rows of one shipment are one shipment.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FLOW;
use super::status::Status;
use crate::inbound::{Accepted, Decode, Fields, NoHead, Resource, describe};
use crate::item::NewItem;
use crate::shopify::gid::{LineItemId, LocationId, OrderId};

/// The kind of a shipment item.
pub const KIND: &str = "fulfillments/shipment";

const MAX_TEXT: usize = 255;
const MAX_LINES: usize = 512;
const MAX_TRACKING: usize = 100;
const MAX_QUANTITY: i64 = 1_000_000;

/// How a shipment names its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderRef {
    /// The numeric id of `gid://shopify/Order/N` (also the canonical order's `legacy_id`).
    ShopifyId(u64),
    /// `#1001`.
    Name(String),
}

impl std::fmt::Display for OrderRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderRef::ShopifyId(id) => write!(f, "gid://shopify/Order/{id}"),
            OrderRef::Name(name) => write!(f, "order {name}"),
        }
    }
}

/// How a line names what shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineRef {
    Sku(String),
    /// The numeric id of `gid://shopify/LineItem/N`.
    LineItem(u64),
}

impl std::fmt::Display for LineRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineRef::Sku(sku) => write!(f, "SKU {sku}"),
            LineRef::LineItem(id) => write!(f, "line item gid://shopify/LineItem/{id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    #[serde(flatten)]
    pub item: LineRef,
    pub quantity: u32,
}

/// Where the parcel left from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Location(u64),
    Name(String),
}

/// One entry: a shipment, or an update of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// The sending system (`wms`).
    pub source: String,
    /// The sender's shipment id.
    pub id: String,
    pub order: OrderRef,
    /// `None`: everything still to fulfil.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<Line>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking_urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_customer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// When the status happened (ms); the time the entry was received when not given.
    pub happened_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Origin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The lines came as a CSV row's `sku`/`line_item_id` and `quantity` (rows of one
    /// shipment are merged); never stored.
    #[serde(skip)]
    row_line: bool,
}

impl Shipment {
    pub fn decode_payload(payload: &[u8]) -> Result<Shipment, String> {
        serde_json::from_slice(payload).map_err(|e| format!("not a shipment: {e}"))
    }

    /// Only a status (no lines, carrier or tracking): an update that never creates a
    /// fulfillment.
    pub fn is_status_only(&self) -> bool {
        self.status.is_some()
            && self.lines.is_none()
            && self.carrier.is_none()
            && self.tracking_numbers.is_empty()
            && self.tracking_urls.is_empty()
    }

    /// Carries tracking (a carrier, numbers or URLs).
    pub fn has_tracking(&self) -> bool {
        self.carrier.is_some()
            || !self.tracking_numbers.is_empty()
            || !self.tracking_urls.is_empty()
    }
}

/// The shipments API's resource.
pub struct Shipments;

fn decode_order(f: &mut Fields<'_>, value: Value) -> Option<OrderRef> {
    match value {
        // A CSV cell, or a bare string in JSON: a name, a GID or a number.
        Value::String(s) => order_from_text(f, s.trim()),
        Value::Number(n) => match n.as_u64() {
            Some(id) if id > 0 => Some(OrderRef::ShopifyId(id)),
            _ => {
                f.problem("order", format_args!("{n} is not an order id"));
                None
            }
        },
        Value::Object(_) => f.nested(
            "order",
            value,
            &["name", "shopify_id", "legacy_id"],
            |f| {
                let name = f.opt_text("name", MAX_TEXT);
                let gid = f.opt_text("shopify_id", MAX_TEXT);
                let legacy = match f.take("legacy_id") {
                    None => None,
                    Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => n.as_u64(),
                    Some(Value::String(s)) if s.parse::<u64>().is_ok_and(|n| n > 0) => s.parse().ok(),
                    Some(other) => {
                        f.problem(
                            "legacy_id",
                            format_args!("expected an order's numeric id, found {}", describe(&other)),
                        );
                        return None;
                    }
                };
                let given = [name.is_some(), gid.is_some(), legacy.is_some()]
                    .iter()
                    .filter(|g| **g)
                    .count();
                if given != 1 {
                    f.problem("", "expected exactly one of name, shopify_id or legacy_id");
                    return None;
                }
                if let Some(id) = legacy {
                    return Some(OrderRef::ShopifyId(id));
                }
                if let Some(gid) = gid {
                    return match OrderId::parse(&gid) {
                        Ok(id) => Some(OrderRef::ShopifyId(id.id())),
                        Err(_) => {
                            f.problem(
                                "shopify_id",
                                format_args!(
                                    "expected an order GID such as \"gid://shopify/Order/1\", found {gid:?}"
                                ),
                            );
                            None
                        }
                    };
                }
                name.map(OrderRef::Name)
            },
        ),
        other => {
            f.problem(
                "order",
                format_args!(
                    "expected {{\"name\": \"#1001\"}}, {{\"shopify_id\": gid}} or {{\"legacy_id\": n}}, found {}",
                    describe(&other)
                ),
            );
            None
        }
    }
}

fn order_from_text(f: &mut Fields<'_>, s: &str) -> Option<OrderRef> {
    if s.starts_with("gid://") {
        return match OrderId::parse(s) {
            Ok(id) => Some(OrderRef::ShopifyId(id.id())),
            Err(e) => {
                f.problem("order", e);
                None
            }
        };
    }
    if let Ok(id) = s.parse::<u64>()
        && id > 0
    {
        return Some(OrderRef::ShopifyId(id));
    }
    if s.is_empty() || s.len() > MAX_TEXT {
        f.problem(
            "order",
            "expected an order name such as #1001, a GID or an id",
        );
        return None;
    }
    Some(OrderRef::Name(s.to_string()))
}

/// A line item GID (or its numeric id, in a CSV cell).
fn line_item_id(f: &mut Fields<'_>, field: &str, value: Value) -> Option<u64> {
    let parsed = match &value {
        Value::String(s) => LineItemId::parse(s)
            .map(|g| g.id())
            .ok()
            .or_else(|| s.parse::<u64>().ok()),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    if parsed.is_none() {
        f.problem(
            field,
            format_args!(
                "expected a line item GID such as \"gid://shopify/LineItem/1\", found {}",
                describe(&value)
            ),
        );
    }
    parsed
}

impl Decode for Line {
    const FIELDS: &'static [&'static str] = &["sku", "line_item_id", "quantity"];

    fn decode(f: &mut Fields<'_>) -> Option<Line> {
        let sku = f.opt_text("sku", MAX_TEXT);
        let line_item = f
            .take("line_item_id")
            .and_then(|v| line_item_id(f, "line_item_id", v));
        let quantity = f.whole("quantity", 1..=MAX_QUANTITY);
        let item = match (sku, line_item) {
            (Some(sku), None) => LineRef::Sku(sku),
            (None, Some(id)) => LineRef::LineItem(id),
            (Some(_), Some(_)) => {
                f.problem("", "give sku or line_item_id, not both");
                return None;
            }
            (None, None) => {
                f.ok()?;
                f.problem("", "missing: name the line by sku or line_item_id");
                return None;
            }
        };
        f.ok()?;
        Some(Line {
            item,
            quantity: u32::try_from(quantity?).ok()?,
        })
    }
}

/// A list of strings, or (a CSV cell) one string of them separated by spaces or `;`.
fn texts(f: &mut Fields<'_>, field: &str) -> Vec<String> {
    let items = match f.take(field) {
        None => return Vec::new(),
        Some(Value::String(s)) => s
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| Value::String(t.to_string()))
            .collect(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            f.problem(
                field,
                format_args!("expected a list of strings, found {}", describe(&other)),
            );
            return Vec::new();
        }
    };
    if items.len() > MAX_TRACKING {
        f.problem(
            field,
            format_args!("at most {MAX_TRACKING} entries, found {}", items.len()),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Value::String(s) if !s.trim().is_empty() && s.len() <= MAX_TEXT => {
                out.push(s.trim().to_string())
            }
            other => f.problem(
                &format!("{field}[{i}]"),
                format_args!(
                    "expected a non-empty string of at most {MAX_TEXT} characters, found {}",
                    describe(&other)
                ),
            ),
        }
    }
    out
}

impl Decode for Shipment {
    /// In a headerless CSV row's order: the first two are required.
    const FIELDS: &'static [&'static str] = &[
        "id",
        "order",
        "sku",
        "quantity",
        "carrier",
        "tracking_numbers",
        "tracking_urls",
        "status",
        "happened_at",
        "notify_customer",
        "line_item_id",
        "shipped_at",
        "location",
        "message",
        "lines",
    ];

    fn decode(f: &mut Fields<'_>) -> Option<Shipment> {
        let id = f.text("id", MAX_TEXT);
        let order = match f.take("order") {
            Some(v) => decode_order(f, v),
            None => {
                f.problem(
                    "order",
                    "missing: name the order by name, shopify_id or legacy_id",
                );
                None
            }
        };
        let listed = f.take("lines").map(|v| match v {
            Value::Array(items) if items.len() > MAX_LINES => {
                f.problem(
                    "lines",
                    format_args!("at most {MAX_LINES} lines, found {}", items.len()),
                );
                Vec::new()
            }
            Value::Array(items) if items.is_empty() => {
                f.problem(
                    "lines",
                    "empty: leave lines out to ship everything still to fulfil",
                );
                Vec::new()
            }
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    f.nested(&format!("lines[{i}]"), item, Line::FIELDS, Line::decode)
                })
                .collect(),
            other => {
                f.problem(
                    "lines",
                    format_args!("expected a list of lines, found {}", describe(&other)),
                );
                Vec::new()
            }
        });
        // A CSV row's line, at the top level (where a cell's number is read as a number).
        let row_sku = f.opt_text("sku", MAX_TEXT);
        let row_item = f
            .take("line_item_id")
            .and_then(|v| line_item_id(f, "line_item_id", v));
        let row_line = row_sku.is_some() || row_item.is_some();
        let mut lines = listed;
        if row_line {
            if lines.is_some() {
                f.problem(
                    "lines",
                    "give lines, or sku/line_item_id and quantity, not both",
                );
            }
            if row_sku.is_some() && row_item.is_some() {
                f.problem("sku", "give sku or line_item_id, not both");
            }
            let quantity = f.whole("quantity", 1..=MAX_QUANTITY);
            let item = row_sku
                .map(LineRef::Sku)
                .or(row_item.map(LineRef::LineItem));
            lines = match (item, quantity.and_then(|q| u32::try_from(q).ok())) {
                (Some(item), Some(quantity)) => Some(vec![Line { item, quantity }]),
                _ => None,
            };
        } else if f.take("quantity").is_some() {
            f.problem("quantity", "a quantity needs a sku or line_item_id");
        }
        let carrier = f.opt_text("carrier", MAX_TEXT);
        let tracking_numbers = texts(f, "tracking_numbers");
        let tracking_urls = texts(f, "tracking_urls");
        for (i, url) in tracking_urls.iter().enumerate() {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                f.problem(
                    &format!("tracking_urls[{i}]"),
                    format_args!("{url:?} is not an http(s) URL"),
                );
            }
        }
        let notify_customer = f.opt_bool("notify_customer");
        let status = f.take("status").and_then(|v| match &v {
            Value::String(s) => match Status::parse(s) {
                Some(status) => Some(status),
                None => {
                    f.problem(
                        "status",
                        format_args!(
                            "{s:?} is not a shipment status; expected one of {}",
                            Status::names()
                        ),
                    );
                    None
                }
            },
            other => {
                f.problem(
                    "status",
                    format_args!("expected a string, found {}", describe(other)),
                );
                None
            }
        });
        let happened_at = f.opt_time("happened_at");
        let shipped_at = f.opt_time("shipped_at");
        let location = f
            .opt_text("location", MAX_TEXT)
            .map(|l| match LocationId::parse(&l) {
                Ok(id) => Origin::Location(id.id()),
                Err(_) => Origin::Name(l),
            });
        let message = f.opt_text("message", MAX_TEXT);
        f.ok()?;
        let shipment = Shipment {
            source: String::new(),
            id: id?,
            order: order?,
            lines,
            carrier,
            tracking_numbers,
            tracking_urls,
            notify_customer,
            status,
            happened_at: happened_at.unwrap_or(f.received_at()),
            shipped_at,
            location,
            message,
            row_line,
        };
        Some(shipment)
    }
}

impl Resource for Shipments {
    const PATH: &'static str = "shipments";
    const LIST: &'static str = "shipments";
    const NOUN: &'static str = "request";
    const CSV_REQUIRED: usize = 2;
    type Head = NoHead;
    type Entry = Shipment;

    fn csv_head(_file: &str) -> Option<NoHead> {
        Some(NoHead)
    }

    fn items(request: Accepted<Shipments>, _id: &str) -> Vec<NewItem> {
        merge_rows(request.entries)
            .into_iter()
            .map(|mut shipment| {
                shipment.source = request.source.clone();
                let key = format!("{} {} {}", shipment.source, shipment.id, shipment.order);
                let payload = serde_json::to_vec(&shipment).unwrap_or_default();
                NewItem::new(FLOW, KIND, key, payload)
            })
            .collect()
    }

    fn answer(request: &Accepted<Shipments>, answer: &mut Map<String, Value>) {
        answer.insert("shipments".into(), request.entries.len().into());
    }
}

/// Consecutive CSV rows of one shipment (same id and order, each with one line) become one
/// shipment with all their lines.
fn merge_rows(entries: Vec<Shipment>) -> Vec<Shipment> {
    let mut out: Vec<Shipment> = Vec::with_capacity(entries.len());
    for entry in entries {
        if let Some(last) = out.last_mut()
            && entry.row_line
            && last.row_line
            && last.id == entry.id
            && last.order == entry.order
            && let (Some(lines), Some(more)) = (&mut last.lines, entry.lines.clone())
        {
            lines.extend(more);
            if last.carrier.is_none() {
                last.carrier = entry.carrier;
            }
            for n in entry.tracking_numbers {
                if !last.tracking_numbers.contains(&n) {
                    last.tracking_numbers.push(n);
                }
            }
            for u in entry.tracking_urls {
                if !last.tracking_urls.contains(&u) {
                    last.tracking_urls.push(u);
                }
            }
            continue;
        }
        out.push(entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::{csv, json};

    fn parse(text: &str) -> Result<Accepted<Shipments>, crate::inbound::Report> {
        json::parse::<Shipments>(text.as_bytes(), 1000, 7)
    }

    #[test]
    fn the_documented_request_is_one_item_per_shipment() {
        let text = r##"{"source": "wms", "shipments": [{"id": "SHP-1", "order": {"name": "#1001"},
          "lines": [{"sku": "RS-S", "quantity": 1}],
          "carrier": "UPS", "tracking_numbers": ["1Z999"], "tracking_urls": [], "notify_customer": true,
          "status": "in_transit", "happened_at": "2026-12-02T10:00:00Z"},
          {"id": "SHP-2", "order": {"shopify_id": "gid://shopify/Order/7"}},
          {"id": "SHP-1", "order": {"legacy_id": 7}, "status": "delivered"}]}"##;
        let request = parse(text).unwrap();
        let items = Shipments::items(request, "r1");
        assert_eq!(items.len(), 3);
        let first = Shipment::decode_payload(&items[0].payload).unwrap();
        assert_eq!(first.source, "wms");
        assert_eq!(first.order, OrderRef::Name("#1001".into()));
        assert_eq!(
            first.lines,
            Some(vec![Line {
                item: LineRef::Sku("RS-S".into()),
                quantity: 1
            }])
        );
        assert_eq!(first.status, Some(Status::InTransit));
        assert_eq!(first.happened_at, 1_796_205_600_000);
        assert!(!first.is_status_only());
        let second = Shipment::decode_payload(&items[1].payload).unwrap();
        assert_eq!(second.order, OrderRef::ShopifyId(7));
        assert_eq!(second.lines, None);
        assert_eq!(second.happened_at, 7, "received_at when not given");
        let third = Shipment::decode_payload(&items[2].payload).unwrap();
        assert!(third.is_status_only());
        assert_eq!(items[0].key, "wms SHP-1 order #1001");
    }

    #[test]
    fn every_bad_entry_is_named_with_its_index_and_field() {
        let text = r##"{"source": "wms", "shipments": [
          {"id": "ok", "order": {"name": "#1"}},
          {"order": {"name": "#1", "shopify_id": "gid://shopify/Order/1"}},
          {"id": "x", "order": {"shopify_id": "gid://shopify/Customer/1"}, "lines": []},
          {"id": "x", "order": "#1", "lines": [{"sku": "A", "quantity": 0}, {"quantity": 1}, {"sku": "A", "line_item_id": "gid://shopify/LineItem/1", "quantity": 1}]},
          {"id": "x", "order": "#1", "status": "lost in space", "tracking_urls": ["ftp://x"], "happened_at": "yesterday", "colour": "red"}
        ]}"##;
        let all = parse(text).err().unwrap().errors.join("\n");
        for needle in [
            "shipments[1].id: missing",
            "shipments[1].order: expected exactly one of name, shopify_id or legacy_id",
            "shipments[2].order.shopify_id: expected an order GID",
            "shipments[2].lines: empty",
            "shipments[3].lines[0].quantity: must be at least 1, found 0",
            "shipments[3].lines[1]: missing: name the line by sku or line_item_id",
            "shipments[3].lines[2]: give sku or line_item_id, not both",
            "shipments[4].status: \"lost in space\" is not a shipment status",
            "shipments[4].tracking_urls[0]: \"ftp://x\" is not an http(s) URL",
            "shipments[4].happened_at: expected an RFC 3339 time",
            "shipments[4].colour: unknown field",
        ] {
            assert!(all.contains(needle), "{needle:?} missing from:\n{all}");
        }
        assert!(!all.contains("shipments[0]"), "{all}");
    }

    #[test]
    fn csv_rows_of_one_shipment_are_one_shipment() {
        let text = "id,order,sku,quantity,carrier,tracking_numbers\n\
                    S1,#1001,A,1,UPS,1Z1 1Z2\n\
                    S1,#1001,B,2,,\n\
                    S2,gid://shopify/Order/5,A,1,fedex,77;78\n\
                    S3,#1002,,,,\n\
                    S4,#1003,C,zero,,\n";
        let (request, report) =
            csv::parse::<Shipments>(text.as_bytes(), "csv:ship.csv".into(), NoHead, 7);
        let errors = report.errors.join("\n");
        assert!(
            errors.contains("line 6: quantity: expected a whole number"),
            "{errors}"
        );
        let items = Shipments::items(request.unwrap(), "r");
        assert_eq!(items.len(), 3, "{items:?}");
        let s1 = Shipment::decode_payload(&items[0].payload).unwrap();
        assert_eq!(s1.lines.as_ref().map(Vec::len), Some(2));
        assert_eq!(s1.tracking_numbers, ["1Z1", "1Z2"]);
        let s2 = Shipment::decode_payload(&items[1].payload).unwrap();
        assert_eq!(s2.order, OrderRef::ShopifyId(5));
        assert_eq!(s2.tracking_numbers, ["77", "78"]);
        let s3 = Shipment::decode_payload(&items[2].payload).unwrap();
        assert_eq!(s3.lines, None, "no line: everything still to fulfil");
    }
}
