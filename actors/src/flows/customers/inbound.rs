//! `POST /api/v1/customers`: attribute updates from the back office (the shape is fixed in
//! `docs/DESIGN.md`, "The inbound API"):
//!
//! ```json
//! {"source": "crm", "customers": [{"ref": {"email": "ada@example.com"},
//!   "tags_add": ["vip"], "tags_remove": ["prospect"], "account_status": "active",
//!   "segment": "wholesale", "tax_exempt": true, "tax_exemptions": ["CA_STATUS_CARD_EXEMPTION"],
//!   "note": "…", "metafields": [{"namespace": "crm", "key": "tier", "type": "single_line_text_field", "value": "gold"}],
//!   "external_id": "C-1", "create_if_missing": false}]}
//! ```
//!
//! `ref` is one of `{"shopify_id": "gid://shopify/Customer/1"}`, `{"email": …}`,
//! `{"phone": …}`, `{"external": {"system": "crm", "id": "C-1"}}`. Beyond the fixed shape:
//! `email_marketing` (`subscribed`, `unsubscribed` or `pending`) and `as_of` (when the back
//! office made the change, for fields both sides own). Each entry becomes one item.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FLOW;
use super::tax::is_tax_exemption;
pub use crate::inbound::MetafieldValue;
use crate::inbound::{Accepted, Decode, Fields, NoHead, Resource};
use crate::item::NewItem;
use crate::shopify::gid::CustomerId;

/// The kind of an inbound update item.
pub const KIND_UPDATE: &str = "customers/update_request";

const MAX_TEXT: usize = 255;
const MAX_NOTE: usize = 5_000;
const MAX_TAGS: usize = 250;
/// Metafields per entry: one `metafieldsSet` call's worth.
const MAX_METAFIELDS: usize = 25;

/// How an entry names the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerRef {
    /// The numeric id of `gid://shopify/Customer/N`.
    ShopifyId(u64),
    Email(String),
    Phone(String),
    External {
        system: String,
        id: String,
    },
}

impl std::fmt::Display for CustomerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CustomerRef::ShopifyId(id) => write!(f, "gid://shopify/Customer/{id}"),
            CustomerRef::Email(e) => write!(f, "email {e}"),
            CustomerRef::Phone(p) => write!(f, "phone {p}"),
            CustomerRef::External { system, id } => write!(f, "{system} id {id}"),
        }
    }
}

/// One entry: what the back office wants changed on one customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// The sending system (`crm`): the one target that does not hear the echo of this write.
    pub source: String,
    #[serde(rename = "ref")]
    pub customer: Option<CustomerRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_remove: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_exempt: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_exemptions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metafields: Vec<MetafieldValue>,
    /// `SUBSCRIBED`, `UNSUBSCRIBED` or `PENDING` (as Shopify spells them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_marketing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub create_if_missing: bool,
    /// When the back office made the change (ms): for fields both sides own, an older change
    /// than Shopify's last does not overwrite it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<i64>,
}

impl Update {
    pub fn decode_payload(payload: &[u8]) -> Result<Update, String> {
        serde_json::from_slice(payload).map_err(|e| format!("not a customer update: {e}"))
    }

    /// The field groups the entry changes.
    pub fn touches(&self) -> Vec<&'static str> {
        let mut groups = Vec::new();
        let mut add = |cond: bool, g: &'static str| {
            if cond {
                groups.push(g)
            }
        };
        add(
            !self.tags_add.is_empty() || !self.tags_remove.is_empty(),
            "tags",
        );
        add(self.account_status.is_some(), "account_status");
        add(self.segment.is_some(), "segment");
        add(
            self.tax_exempt.is_some() || self.tax_exemptions.is_some(),
            "tax",
        );
        add(self.note.is_some(), "note");
        add(!self.metafields.is_empty(), "metafields");
        add(self.email_marketing.is_some(), "marketing");
        groups
    }
}

/// The customers API's resource.
pub struct CustomerUpdates;

impl Decode for CustomerRef {
    const FIELDS: &'static [&'static str] = &["shopify_id", "email", "phone", "external"];

    fn decode(f: &mut Fields<'_>) -> Option<CustomerRef> {
        let shopify_id = f.take("shopify_id");
        let email = f.opt_text("email", MAX_TEXT);
        let phone = f.opt_text("phone", MAX_TEXT);
        let external = f.take("external");
        let given = [
            shopify_id.is_some(),
            email.is_some(),
            phone.is_some(),
            external.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            f.problem(
                "",
                "expected exactly one of shopify_id, email, phone or external",
            );
            return None;
        }
        if let Some(id) = shopify_id {
            let parsed = match &id {
                Value::String(s) => CustomerId::parse(s).ok().map(|g| g.id()),
                _ => None,
            };
            return match parsed {
                Some(n) => Some(CustomerRef::ShopifyId(n)),
                None => {
                    f.problem(
                        "shopify_id",
                        format_args!(
                            "expected a customer GID such as \"gid://shopify/Customer/1\", found {}",
                            crate::inbound::describe(&id)
                        ),
                    );
                    None
                }
            };
        }
        if let Some(email) = email {
            if !email.contains('@') || email.contains(char::is_whitespace) {
                f.problem("email", format_args!("{email:?} is not an email address"));
                return None;
            }
            return Some(CustomerRef::Email(email));
        }
        if let Some(phone) = phone {
            let digits = phone.chars().filter(char::is_ascii_digit).count();
            if digits < 5
                || !phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || "+-() .".contains(c))
            {
                f.problem("phone", format_args!("{phone:?} is not a phone number"));
                return None;
            }
            return Some(CustomerRef::Phone(phone));
        }
        let external = external?;
        f.nested("external", external, &["system", "id"], |f| {
            let system = f.text("system", MAX_TEXT);
            let id = f.text("id", MAX_TEXT);
            Some(CustomerRef::External {
                system: system?,
                id: id?,
            })
        })
    }
}

impl Decode for Update {
    const FIELDS: &'static [&'static str] = &[
        "ref",
        "tags_add",
        "tags_remove",
        "account_status",
        "segment",
        "tax_exempt",
        "tax_exemptions",
        "note",
        "metafields",
        "email_marketing",
        "external_id",
        "create_if_missing",
        "as_of",
    ];

    fn decode(f: &mut Fields<'_>) -> Option<Update> {
        let customer = match f.take("ref") {
            Some(r) => f.nested("ref", r, CustomerRef::FIELDS, CustomerRef::decode),
            None => {
                f.problem(
                    "ref",
                    "missing: name the customer by shopify_id, email, phone or external",
                );
                None
            }
        };
        let tags_add = f.opt_texts("tags_add", MAX_TEXT, MAX_TAGS);
        let tags_remove = f.opt_texts("tags_remove", MAX_TEXT, MAX_TAGS);
        for (field, tags) in [("tags_add", &tags_add), ("tags_remove", &tags_remove)] {
            for (i, tag) in tags.iter().flatten().enumerate() {
                if tag.contains(',') {
                    f.problem(&format!("{field}[{i}]"), "a tag cannot contain a comma");
                }
            }
        }
        let account_status = f.opt_text("account_status", MAX_TEXT);
        let segment = f.opt_text("segment", MAX_TEXT);
        let tax_exempt = f.opt_bool("tax_exempt");
        let tax_exemptions = f.opt_texts("tax_exemptions", MAX_TEXT, 100);
        for (i, e) in tax_exemptions.iter().flatten().enumerate() {
            if !is_tax_exemption(e) {
                f.problem(
                    &format!("tax_exemptions[{i}]"),
                    format_args!("{e:?} is not one of Shopify's TaxExemption values (such as CA_STATUS_CARD_EXEMPTION or EU_REVERSE_CHARGE_EXEMPTION_RULE)"),
                );
            }
        }
        let note = match f.take("note") {
            Some(Value::String(s)) if s.len() <= MAX_NOTE => Some(s),
            None => None,
            Some(other) => {
                f.problem(
                    "note",
                    format_args!(
                        "expected a string of at most {MAX_NOTE} characters, found {}",
                        crate::inbound::describe(&other)
                    ),
                );
                None
            }
        };
        let metafields = f
            .opt_objects::<MetafieldValue>("metafields", MAX_METAFIELDS, "per customer")
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        let email_marketing = f.opt_choice(
            "email_marketing",
            &[
                ("subscribed", "SUBSCRIBED"),
                ("unsubscribed", "UNSUBSCRIBED"),
                ("pending", "PENDING"),
            ],
        );
        let external_id = f.opt_text("external_id", MAX_TEXT);
        let create_if_missing = f.opt_bool("create_if_missing");
        let as_of = f.opt_time("as_of");
        f.ok()?;
        let update = Update {
            source: String::new(),
            customer,
            tags_add: tags_add.unwrap_or_default(),
            tags_remove: tags_remove.unwrap_or_default(),
            account_status,
            segment,
            tax_exempt,
            tax_exemptions,
            note,
            metafields,
            email_marketing: email_marketing.map(str::to_string),
            external_id,
            create_if_missing: create_if_missing.unwrap_or(false),
            as_of,
        };
        if update.touches().is_empty() && update.external_id.is_none() && !update.create_if_missing
        {
            f.problem("", "nothing to change: give at least one field to update");
            return None;
        }
        if update.create_if_missing && matches!(update.customer, Some(CustomerRef::ShopifyId(_))) {
            f.problem(
                "create_if_missing",
                "a customer named by shopify_id cannot be created; name it by email, phone or external id",
            );
            return None;
        }
        Some(update)
    }
}

impl Resource for CustomerUpdates {
    const PATH: &'static str = "customers";
    const LIST: &'static str = "customers";
    const NOUN: &'static str = "update";
    type Head = NoHead;
    type Entry = Update;

    fn items(request: Accepted<CustomerUpdates>, id: &str) -> Vec<NewItem> {
        request
            .entries
            .into_iter()
            .enumerate()
            .map(|(i, mut update)| {
                update.source = request.source.clone();
                let key = match &update.customer {
                    Some(r) => format!("{}: {r}", request.source),
                    None => format!("{}/{id}#{i}", request.source),
                };
                let payload = serde_json::to_vec(&update).unwrap_or_default();
                NewItem::new(FLOW, KIND_UPDATE, key, payload)
            })
            .collect()
    }

    fn answer(request: &Accepted<CustomerUpdates>, answer: &mut Map<String, Value>) {
        answer.insert("customers".into(), request.entries.len().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::json;

    fn parse(text: &str) -> Result<Accepted<CustomerUpdates>, crate::inbound::Report> {
        json::parse::<CustomerUpdates>(text.as_bytes(), 1000, 7)
    }

    #[test]
    fn the_documented_request_is_accepted_as_one_item_per_entry() {
        let text = r#"{"source": "crm", "customers": [{"ref": {"email": "ada@example.com"},
          "tags_add": ["vip"], "tags_remove": ["prospect"], "account_status": "active",
          "segment": "wholesale", "tax_exempt": true, "tax_exemptions": ["CA_STATUS_CARD_EXEMPTION"],
          "note": "…", "metafields": [{"namespace": "crm", "key": "tier", "type": "single_line_text_field", "value": "gold"}],
          "external_id": "C-1", "create_if_missing": false},
          {"ref": {"external": {"system": "crm", "id": "C-2"}}, "segment": "retail"},
          {"ref": {"shopify_id": "gid://shopify/Customer/5"}, "email_marketing": "subscribed"}]}"#;
        let request = parse(text).unwrap();
        assert_eq!(request.entries.len(), 3);
        let items = CustomerUpdates::items(request, "r1");
        assert_eq!(items.len(), 3);
        let first = Update::decode_payload(&items[0].payload).unwrap();
        assert_eq!(first.source, "crm");
        assert_eq!(
            first.customer,
            Some(CustomerRef::Email("ada@example.com".into()))
        );
        assert_eq!(first.metafields[0].value, "gold");
        assert_eq!(
            first.touches(),
            [
                "tags",
                "account_status",
                "segment",
                "tax",
                "note",
                "metafields"
            ]
        );
        let third = Update::decode_payload(&items[2].payload).unwrap();
        assert_eq!(third.customer, Some(CustomerRef::ShopifyId(5)));
        assert_eq!(third.email_marketing.as_deref(), Some("SUBSCRIBED"));
        assert_eq!(items[1].key, "crm: crm id C-2");
    }

    #[test]
    fn every_bad_entry_is_named_with_its_index_and_field() {
        let text = r#"{"source": "crm", "customers": [
          {"ref": {"email": "ada@example.com"}, "tags_add": ["ok"]},
          {"ref": {"email": "nope"}, "tax_exemptions": ["CA_STATUS_CARD_EXEMPTION", "MOON_EXEMPTION"]},
          {"ref": {"email": "a@b.c", "phone": "+15550001"}, "note": "x"},
          {"tags_add": ["a,b"], "tags_remove": [""], "tax_exempt": "yes"},
          {"ref": {"shopify_id": "gid://shopify/Order/1"}, "metafields": [{"namespace": "x", "key": "k", "value": 3}]},
          {"ref": {"external": {"system": "crm"}}, "colour": "red", "email_marketing": "maybe"},
          {"ref": {"phone": "+15550001"}}
        ]}"#;
        let report = parse(text).err().unwrap();
        let all = report.errors.join("\n");
        for needle in [
            "customers[1].ref.email: \"nope\" is not an email address",
            "customers[1].tax_exemptions[1]: \"MOON_EXEMPTION\" is not one of Shopify's TaxExemption values",
            "customers[2].ref: expected exactly one of shopify_id, email, phone or external",
            "customers[3].ref: missing",
            "customers[3].tags_add[0]: a tag cannot contain a comma",
            "customers[3].tags_remove[0]: expected a non-empty string",
            "customers[3].tax_exempt: expected true or false",
            "customers[4].ref.shopify_id: expected a customer GID",
            "customers[4].metafields[0].namespace: must be 3 to 255 characters",
            "customers[4].metafields[0].key: must be 2 to 64 characters",
            "customers[4].metafields[0].value: expected a string",
            "customers[5].ref.external.id: missing",
            "customers[5].colour: unknown field",
            "customers[5].email_marketing: expected \"subscribed\", \"unsubscribed\" or \"pending\"",
            "customers[6]: nothing to change",
        ] {
            assert!(all.contains(needle), "{needle:?} missing from:\n{all}");
        }
        assert!(!all.contains("customers[0]"), "{all}");
    }
}
