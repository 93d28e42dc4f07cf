//! `POST /api/v1/products` (and JSON files in `[flows.products] watch_dir`): product master
//! records from a PIM or ERP. The shape is fixed in `docs/DESIGN.md`, "The inbound API":
//!
//! ```json
//! {"source": "pim", "products": [{"handle": "red-shirt", "external_id": "P-1", "title": "Red shirt",
//!   "description_html": "<p>…</p>", "vendor": "Acme", "product_type": "Shirt", "status": "ACTIVE",
//!   "tags": ["summer"], "options": [{"name": "Size", "values": ["S", "M"]}],
//!   "variants": [{"sku": "RS-S", "options": {"Size": "S"}, "price": "19.99", "compare_at_price": null, "barcode": "…"}],
//!   "images": [{"url": "https://…/red.jpg", "alt": "Red shirt"}]}]}
//! ```
//!
//! Beyond the fixed shape: `category` (a `TaxonomyCategory` GID), `seo` (`title`,
//! `description`), `metafields`, and per variant `inventory_policy` (`deny` or `continue`),
//! `weight` (`{"value": 0.2, "unit": "KILOGRAMS"}`) and `cost`. A record is the whole product:
//! a variant left out is a variant to delete. Each entry becomes one item.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FLOW;
use crate::inbound::{Accepted, Decode, Fields, MetafieldValue, NoHead, Resource, describe};
use crate::item::NewItem;

/// Shopify's option of a product without options, and its value.
const DEFAULT_OPTION: &str = "Title";
const DEFAULT_VALUE: &str = "Default Title";

/// The kind of an inbound product item.
pub const KIND_MASTER: &str = "products/master";

const MAX_TEXT: usize = 255;
const MAX_DESCRIPTION: usize = 512 * 1024;
const MAX_TAGS: usize = 250;
/// Shopify's limits.
pub const MAX_OPTIONS: usize = 3;
pub const MAX_VARIANTS: usize = 2_048;
const MAX_IMAGES: usize = 250;
const MAX_METAFIELDS: usize = 100;

/// `ProductStatus`.
const STATUSES: &[(&str, &str)] = &[
    ("ACTIVE", "ACTIVE"),
    ("DRAFT", "DRAFT"),
    ("ARCHIVED", "ARCHIVED"),
    ("UNLISTED", "UNLISTED"),
    ("active", "ACTIVE"),
    ("draft", "DRAFT"),
    ("archived", "ARCHIVED"),
    ("unlisted", "UNLISTED"),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOption {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A weight as Shopify takes it; the value is kept as the decimal text it came as, so a
/// record hashes the same every time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weight {
    pub value: String,
    /// `GRAMS`, `KILOGRAMS`, `OUNCES`, `POUNDS`.
    pub unit: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Option name → value; every option of the product, once.
    pub options: BTreeMap<String, String>,
    pub price: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_at_price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    /// `DENY` or `CONTINUE`.
    pub inventory_policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Weight>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// One product master record: the whole product as the PIM wants it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Master {
    /// The sending system (`pim`): the key of its external ids, and the one target that does
    /// not hear the echo of this write.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seo: Option<Seo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ProductOption>,
    pub variants: Vec<Variant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metafields: Vec<MetafieldValue>,
}

/// How a record names its product, the most stable way it can: the sender's external id
/// (kept in a metafield, found again with `customId`), else the handle.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Identity {
    External { system: String, id: String },
    Handle(String),
}

impl Identity {
    /// Its key in the flow's records.
    pub fn key(&self) -> String {
        match self {
            Identity::External { system, id } => format!("x\u{1f}{system}\u{1f}{id}"),
            Identity::Handle(h) => format!("h\u{1f}{h}"),
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Identity::External { system, id } => write!(f, "{system} id {id}"),
            Identity::Handle(h) => write!(f, "handle {h}"),
        }
    }
}

impl Master {
    pub fn decode_payload(payload: &[u8]) -> Result<Master, String> {
        serde_json::from_slice(payload).map_err(|e| format!("not a product record: {e}"))
    }

    pub fn identity(&self) -> Identity {
        match (&self.external_id, &self.handle) {
            (Some(id), _) => Identity::External {
                system: self.source.clone(),
                id: id.clone(),
            },
            (None, Some(h)) => Identity::Handle(h.clone()),
            (None, None) => Identity::Handle(String::new()),
        }
    }

    /// The variant's option values in the product's option order: its key among the
    /// product's variants (`Size=S`, `Colour=Red`).
    pub fn combination(&self, v: &Variant) -> String {
        combination(self.option_values(v).into_iter())
    }

    /// The product's options as Shopify has them: a product without options has Shopify's
    /// one, `Title`, whose one value `Default Title` its only variant has.
    pub fn shopify_options(&self) -> Vec<ProductOption> {
        if self.options.is_empty() {
            return vec![ProductOption {
                name: DEFAULT_OPTION.into(),
                values: vec![DEFAULT_VALUE.into()],
            }];
        }
        self.options.clone()
    }

    /// The variant's (option, value) pairs in the product's option order.
    pub fn option_values<'a>(&'a self, v: &'a Variant) -> Vec<(&'a str, &'a str)> {
        if self.options.is_empty() {
            return vec![(DEFAULT_OPTION, DEFAULT_VALUE)];
        }
        self.options
            .iter()
            .map(|o| {
                (
                    o.name.as_str(),
                    v.options.get(&o.name).map_or("", String::as_str),
                )
            })
            .collect()
    }
}

/// The key of a variant by its option values, given in the product's option order.
pub fn combination<'a>(values: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let parts: Vec<String> = values.map(|(n, v)| format!("{n}={v}")).collect();
    parts.join("\u{1f}")
}

/// The product master API's resource.
pub struct ProductMasters;

/// A money amount as Shopify's `Money` takes it: a plain decimal with at most 3 places (a
/// JSON number is read as the decimal it spells).
fn money(f: &mut Fields<'_>, field: &str, required: bool) -> Option<String> {
    let value = match f.take(field) {
        None if required => {
            f.problem(field, "missing");
            return None;
        }
        None => return None,
        Some(v) => v,
    };
    let text = match &value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 15
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 3
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(text.contains('.') && frac.is_empty());
    if ok {
        Some(text)
    } else {
        f.problem(
            field,
            format_args!(
                "expected a money amount such as \"19.99\" (not negative, at most 3 decimals), found {}",
                describe(&value)
            ),
        );
        None
    }
}

impl Decode for ProductOption {
    const FIELDS: &'static [&'static str] = &["name", "values"];

    fn decode(f: &mut Fields<'_>) -> Option<ProductOption> {
        let name = f.text("name", MAX_TEXT);
        let values = f.opt_texts("values", MAX_TEXT, MAX_VARIANTS);
        match &values {
            None => f.problem("values", "missing: list the option's values"),
            Some(v) if v.is_empty() => f.problem("values", "an option needs at least one value"),
            Some(v) => {
                let mut seen = BTreeSet::new();
                for (i, value) in v.iter().enumerate() {
                    if !seen.insert(value.to_lowercase()) {
                        f.problem(
                            &format!("values[{i}]"),
                            format_args!("{value:?} is listed twice"),
                        );
                    }
                }
            }
        }
        f.ok()?;
        Some(ProductOption {
            name: name?,
            values: values?,
        })
    }
}

impl Decode for Seo {
    const FIELDS: &'static [&'static str] = &["title", "description"];

    fn decode(f: &mut Fields<'_>) -> Option<Seo> {
        let title = f.opt_text("title", 255);
        let description = f.opt_text("description", 320);
        f.ok()?;
        Some(Seo { title, description })
    }
}

impl Decode for Weight {
    const FIELDS: &'static [&'static str] = &["value", "unit"];

    fn decode(f: &mut Fields<'_>) -> Option<Weight> {
        let value = match f.take("value") {
            Some(Value::Number(n)) if n.as_f64().is_some_and(|x| x >= 0.0 && x.is_finite()) => {
                Some(n.to_string())
            }
            Some(other) => {
                f.problem(
                    "value",
                    format_args!("expected a number not below 0, found {}", describe(&other)),
                );
                None
            }
            None => {
                f.problem("value", "missing");
                None
            }
        };
        let unit = f.opt_choice(
            "unit",
            &[
                ("GRAMS", "GRAMS"),
                ("KILOGRAMS", "KILOGRAMS"),
                ("OUNCES", "OUNCES"),
                ("POUNDS", "POUNDS"),
            ],
        );
        if unit.is_none() && f.ok().is_some() {
            f.problem("unit", "missing: GRAMS, KILOGRAMS, OUNCES or POUNDS");
        }
        f.ok()?;
        Some(Weight {
            value: value?,
            unit: unit?.to_string(),
        })
    }
}

impl Decode for Variant {
    const FIELDS: &'static [&'static str] = &[
        "sku",
        "options",
        "price",
        "compare_at_price",
        "barcode",
        "inventory_policy",
        "weight",
        "cost",
    ];

    fn decode(f: &mut Fields<'_>) -> Option<Variant> {
        let sku = f.opt_text("sku", MAX_TEXT);
        let options = match f.take("options") {
            None => BTreeMap::new(),
            Some(Value::Object(map)) => {
                let mut out = BTreeMap::new();
                for (name, value) in map {
                    match value {
                        Value::String(s) if !s.trim().is_empty() && s.len() <= MAX_TEXT => {
                            out.insert(name, s);
                        }
                        other => f.problem(
                            &format!("options.{name}"),
                            format_args!("expected the option's value, found {}", describe(&other)),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                f.problem(
                    "options",
                    format_args!(
                        "expected an object of option name to value, such as {{\"Size\": \"S\"}}; found {}",
                        describe(&other)
                    ),
                );
                BTreeMap::new()
            }
        };
        let price = money(f, "price", true);
        let compare_at_price = money(f, "compare_at_price", false);
        let barcode = f.opt_text("barcode", MAX_TEXT);
        let inventory_policy = f
            .opt_choice(
                "inventory_policy",
                &[
                    ("deny", "DENY"),
                    ("continue", "CONTINUE"),
                    ("DENY", "DENY"),
                    ("CONTINUE", "CONTINUE"),
                ],
            )
            .unwrap_or("DENY");
        let weight = f
            .take("weight")
            .and_then(|w| f.nested("weight", w, Weight::FIELDS, Weight::decode));
        let cost = money(f, "cost", false);
        f.ok()?;
        Some(Variant {
            sku,
            options,
            price: price?,
            compare_at_price,
            barcode,
            inventory_policy: inventory_policy.to_string(),
            weight,
            cost,
        })
    }
}

impl Decode for Image {
    const FIELDS: &'static [&'static str] = &["url", "alt"];

    fn decode(f: &mut Fields<'_>) -> Option<Image> {
        let url = f.text("url", 2048);
        if let Some(u) = &url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            f.problem("url", format_args!("{u:?} is not an http(s) URL"));
        }
        let alt = f.opt_text("alt", 512);
        f.ok()?;
        Some(Image { url: url?, alt })
    }
}

impl Decode for Master {
    const FIELDS: &'static [&'static str] = &[
        "handle",
        "external_id",
        "title",
        "description_html",
        "vendor",
        "product_type",
        "status",
        "tags",
        "category",
        "seo",
        "options",
        "variants",
        "images",
        "metafields",
    ];

    fn decode(f: &mut Fields<'_>) -> Option<Master> {
        let handle = f.opt_text("handle", MAX_TEXT);
        if let Some(h) = &handle
            && !h
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            f.problem(
                "handle",
                format_args!("{h:?}: a handle is lowercase letters, digits, - and _"),
            );
        }
        let external_id = f.opt_text("external_id", MAX_TEXT);
        if handle.is_none() && external_id.is_none() {
            f.problem("", "name the product by handle or external_id (or both)");
        }
        let title = f.text("title", MAX_TEXT);
        let description_html = match f.take("description_html") {
            None => None,
            Some(Value::String(s)) if s.len() <= MAX_DESCRIPTION => Some(s),
            Some(other) => {
                f.problem(
                    "description_html",
                    format_args!(
                        "expected a string of at most {MAX_DESCRIPTION} bytes, found {}",
                        describe(&other)
                    ),
                );
                None
            }
        };
        let vendor = f.opt_text("vendor", MAX_TEXT);
        let product_type = f.opt_text("product_type", MAX_TEXT);
        let status = f.opt_choice("status", STATUSES);
        let tags = f.opt_texts("tags", MAX_TEXT, MAX_TAGS);
        for (i, tag) in tags.iter().flatten().enumerate() {
            if tag.contains(',') {
                f.problem(&format!("tags[{i}]"), "a tag cannot contain a comma");
            }
        }
        let category = f.opt_text("category", MAX_TEXT);
        if let Some(c) = &category
            && !c.starts_with("gid://shopify/TaxonomyCategory/")
        {
            f.problem(
                "category",
                format_args!(
                    "{c:?}: expected a taxonomy category GID such as \"gid://shopify/TaxonomyCategory/aa-1\""
                ),
            );
        }
        let seo = f
            .take("seo")
            .and_then(|s| f.nested("seo", s, Seo::FIELDS, Seo::decode));
        let options: Vec<ProductOption> = f
            .opt_objects(
                "options",
                MAX_OPTIONS,
                "options per product (Shopify's limit)",
            )
            .into_iter()
            .flatten()
            .collect();
        let variants: Vec<Option<Variant>> = f.opt_objects(
            "variants",
            MAX_VARIANTS,
            "variants per product (Shopify's limit)",
        );
        let images = f
            .opt_objects("images", MAX_IMAGES, "images per product")
            .into_iter()
            .flatten()
            .collect();
        let metafields = f
            .opt_objects("metafields", MAX_METAFIELDS, "metafields per product")
            .into_iter()
            .flatten()
            .collect();
        check_options(f, &options, &variants);
        f.ok()?;
        Some(Master {
            source: String::new(),
            handle,
            external_id,
            title: title?,
            description_html,
            vendor,
            product_type,
            status: status.map(str::to_string),
            tags,
            category,
            seo,
            options,
            variants: variants.into_iter().flatten().collect(),
            images,
            metafields,
        })
    }
}

/// What only the whole record can say: every variant names each option once with one of its
/// values, no two variants are the same combination, no SKU is used twice.
fn check_options(f: &mut Fields<'_>, options: &[ProductOption], variants: &[Option<Variant>]) {
    let mut names = BTreeSet::new();
    for (i, o) in options.iter().enumerate() {
        if !names.insert(o.name.to_lowercase()) {
            f.problem(
                &format!("options[{i}].name"),
                format_args!("{:?} is already an option", o.name),
            );
        }
    }
    if variants.is_empty() {
        f.problem("variants", "missing: a product needs at least one variant");
    }
    if options.is_empty() && variants.len() > 1 {
        f.problem(
            "options",
            format_args!(
                "missing: {} variants need options to tell them apart",
                variants.len()
            ),
        );
    }
    let mut combinations: BTreeMap<Vec<&str>, usize> = BTreeMap::new();
    let mut skus: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, v) in variants.iter().enumerate() {
        let Some(v) = v else { continue };
        if let Some(sku) = v.sku.as_deref()
            && let Some(first) = skus.insert(sku, i)
        {
            f.problem(
                &format!("variants[{i}].sku"),
                format_args!("{sku:?} is also the SKU of variants[{first}]"),
            );
        }
        if !options.is_empty() && v.options.is_empty() {
            f.problem(
                &format!("variants[{i}].options"),
                "missing: a variant needs a value for each option",
            );
            continue;
        }
        for name in v.options.keys() {
            if !options.iter().any(|o| &o.name == name) {
                f.problem(
                    &format!("variants[{i}].options.{name}"),
                    "not one of the product's options",
                );
            }
        }
        let mut combination = Vec::new();
        for o in options {
            match v.options.get(&o.name) {
                None => f.problem(
                    &format!("variants[{i}].options"),
                    format_args!("no value for option {:?}", o.name),
                ),
                Some(value) if !o.values.contains(value) => f.problem(
                    &format!("variants[{i}].options.{}", o.name),
                    format_args!(
                        "{value:?} is not one of the option's values ({})",
                        o.values.join(", ")
                    ),
                ),
                Some(value) => combination.push(value.as_str()),
            }
        }
        if !options.is_empty()
            && combination.len() == options.len()
            && let Some(first) = combinations.insert(combination.clone(), i)
        {
            f.problem(
                &format!("variants[{i}]"),
                format_args!(
                    "the same options as variants[{first}] ({})",
                    combination.join(" / ")
                ),
            );
        }
    }
}

impl Resource for ProductMasters {
    const PATH: &'static str = "products";
    const LIST: &'static str = "products";
    const NOUN: &'static str = "catalogue";
    type Head = NoHead;
    type Entry = Master;

    fn items(request: Accepted<ProductMasters>, id: &str) -> Vec<NewItem> {
        request
            .entries
            .into_iter()
            .enumerate()
            .map(|(i, mut master)| {
                master.source = request.source.clone();
                let key = match (&master.handle, &master.external_id) {
                    (Some(h), _) => format!("{}: {h}", request.source),
                    (None, Some(x)) => format!("{}: id {x}", request.source),
                    (None, None) => format!("{}/{id}#{i}", request.source),
                };
                let payload = serde_json::to_vec(&master).unwrap_or_default();
                NewItem::new(FLOW, KIND_MASTER, key, payload)
            })
            .collect()
    }

    fn answer(request: &Accepted<ProductMasters>, answer: &mut Map<String, Value>) {
        answer.insert("products".into(), request.entries.len().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::json;

    fn parse(text: &str) -> Result<Accepted<ProductMasters>, crate::inbound::Report> {
        json::parse::<ProductMasters>(text.as_bytes(), 1000, 7)
    }

    #[test]
    fn the_documented_request_is_accepted_as_one_item_per_entry() {
        let text = r#"{"source": "pim", "products": [{"handle": "red-shirt", "external_id": "P-1", "title": "Red shirt",
          "description_html": "<p>…</p>", "vendor": "Acme", "product_type": "Shirt", "status": "ACTIVE",
          "tags": ["summer"], "options": [{"name": "Size", "values": ["S", "M"]}],
          "variants": [{"sku": "RS-S", "options": {"Size": "S"}, "price": "19.99", "compare_at_price": null, "barcode": "…"}],
          "images": [{"url": "https://cdn.example.com/red.jpg", "alt": "Red shirt"}]},
          {"handle": "mug", "title": "Mug", "variants": [{"price": 7.5, "weight": {"value": 0.3, "unit": "KILOGRAMS"}, "inventory_policy": "continue"}]}]}"#;
        let request = parse(text).unwrap();
        let items = ProductMasters::items(request, "r1");
        assert_eq!(items.len(), 2);
        let first = Master::decode_payload(&items[0].payload).unwrap();
        assert_eq!(first.source, "pim");
        assert_eq!(
            first.identity(),
            Identity::External {
                system: "pim".into(),
                id: "P-1".into()
            }
        );
        assert_eq!(first.variants[0].inventory_policy, "DENY");
        assert_eq!(first.combination(&first.variants[0]), "Size=S");
        let mug = Master::decode_payload(&items[1].payload).unwrap();
        assert_eq!(mug.identity(), Identity::Handle("mug".into()));
        assert_eq!(mug.variants[0].price, "7.5");
        assert_eq!(mug.variants[0].inventory_policy, "CONTINUE");
        assert_eq!(items[1].key, "pim: mug");
    }

    #[test]
    fn every_bad_entry_is_named_with_its_index_and_field() {
        let text = r#"{"source": "pim", "products": [
          {"handle": "ok", "title": "Fine", "variants": [{"price": "1.00"}]},
          {"handle": "four", "title": "Too many", "options": [{"name": "A", "values": ["1"]}, {"name": "B", "values": ["1"]}, {"name": "C", "values": ["1"]}, {"name": "D", "values": ["1"]}], "variants": [{"price": "1"}]},
          {"handle": "opts", "title": "Options", "options": [{"name": "Size", "values": ["S", "M"]}],
           "variants": [{"sku": "A", "price": "1"}, {"sku": "A", "options": {"Size": "S"}, "price": "1"}, {"sku": "B", "options": {"Size": "S"}, "price": "2"},
                        {"options": {"Size": "XL"}, "price": "3"}, {"options": {"Size": "M", "Colour": "Red"}, "price": "1.2"},
                        {"options": {"Size": "M"}, "price": "-3"}, {"options": {"Size": "M"}, "price": "1.2345"}]},
          {"title": "No name", "variants": [{"price": "1"}], "status": "LIVE"},
          {"handle": "Bad Handle", "title": "", "variants": [], "images": [{"url": "ftp://x"}], "category": "shirts"},
          {"handle": "two", "title": "Two", "variants": [{"price": "1"}, {"price": "2"}]}
        ]}"#;
        let report = parse(text).err().unwrap();
        let all = report.errors.join("\n");
        for needle in [
            "products[1].options: at most 3 options per product",
            "products[2].variants[0].options: missing: a variant needs a value for each option",
            "products[2].variants[1].sku: \"A\" is also the SKU of variants[0]",
            "products[2].variants[2]: the same options as variants[1] (S)",
            "products[2].variants[3].options.Size: \"XL\" is not one of the option's values (S, M)",
            "products[2].variants[4].options.Colour: not one of the product's options",
            "products[2].variants[5].price: expected a money amount",
            "products[2].variants[6].price: expected a money amount",
            "products[3]: name the product by handle or external_id",
            "products[3].status: expected \"ACTIVE\"",
            "products[4].handle: \"Bad Handle\": a handle is lowercase",
            "products[4].title: expected a non-empty string",
            "products[4].variants: missing: a product needs at least one variant",
            "products[4].images[0].url: \"ftp://x\" is not an http(s) URL",
            "products[4].category: \"shirts\": expected a taxonomy category GID",
            "products[5].options: missing: 2 variants need options",
        ] {
            assert!(all.contains(needle), "{needle:?} missing from:\n{all}");
        }
        assert!(!all.contains("products[0]"), "{all}");
    }
}
