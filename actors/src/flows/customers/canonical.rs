//! The canonical customer (`docs/canonical-customer.md`): what every customers target receives,
//! built from the customer as Shopify's GraphQL API returns it, and its field groups, the unit
//! of subscriptions, ownership, conflicts and echo suppression.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The same address record as the canonical order's.
pub use crate::flows::orders::canonical::Address;
use crate::shopify::operations::customers::{Address as ShopifyAddress, ShopifyCustomer};

pub const SCHEMA: &str = "xconnector.customer.v1";

/// What happened to the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Created or changed: the record is its current state.
    Upsert,
    /// Deleted in Shopify; only the ids are known.
    Deleted,
    /// Merged into another customer (`merged_into`) and so deleted.
    Merged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// `xconnector.customer.v1`
    pub schema: String,
    pub event: Event,
    /// `gid://shopify/Customer/N`
    pub shopify_id: String,
    pub legacy_id: u64,
    /// Back-office system → its id for this customer, as xconnector knows them.
    pub external_ids: BTreeMap<String, String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub addresses: Vec<Address>,
    pub tags: Vec<String>,
    /// The value of the `status_prefix` tag (`status:active` → `active`).
    pub account_status: Option<String>,
    /// The value of the segment tag or metafield.
    pub segment: Option<String>,
    pub note: Option<String>,
    /// `enabled`, `disabled`, `invited`, `declined`.
    pub state: Option<String>,
    pub tax_exempt: bool,
    pub tax_exemptions: Vec<String>,
    pub email_marketing: Option<Consent>,
    pub sms_marketing: Option<Consent>,
    /// Metafields other than xconnector's external ids, `namespace.key` → value.
    pub metafields: BTreeMap<String, String>,
    pub amount_spent: Option<Money>,
    pub number_of_orders: Option<u64>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub deleted: bool,
    /// The surviving customer's GID, for a merged one.
    pub merged_into: Option<String>,
    /// Field groups changed in Shopify although the back office owns them.
    pub conflicts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Shopify's state, lower case: `subscribed`, `not_subscribed`, `unsubscribed`, `pending`, …
    pub state: String,
    pub opt_in_level: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// A decimal string: no float touches money.
    pub amount: String,
    pub currency: String,
}

/// How the flow reads tags and metafields into `account_status`, `segment` and `external_ids`.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub status_prefix: String,
    pub segment_prefix: String,
    /// `namespace.key` of the segment metafield; `None`: the segment is a tag.
    pub segment_metafield: Option<(String, String)>,
    /// The metafield namespace of external ids (key: the system's name).
    pub external_namespace: String,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            status_prefix: "status:".into(),
            segment_prefix: "segment:".into(),
            segment_metafield: None,
            external_namespace: "xconnector".into(),
        }
    }
}

impl Mapping {
    pub fn status_of(&self, tags: &[String]) -> Option<String> {
        prefixed(tags, &self.status_prefix)
    }

    pub fn segment_tag_of(&self, tags: &[String]) -> Option<String> {
        prefixed(tags, &self.segment_prefix)
    }
}

fn prefixed(tags: &[String], prefix: &str) -> Option<String> {
    tags.iter()
        .find(|t| {
            t.len() > prefix.len()
                && t.is_char_boundary(prefix.len())
                && t[..prefix.len()].eq_ignore_ascii_case(prefix)
        })
        .map(|t| t[prefix.len()..].to_string())
}

impl Customer {
    /// The customer as Shopify has it now.
    pub fn from_graphql(c: &ShopifyCustomer, mapping: &Mapping) -> Customer {
        let mut external_ids = BTreeMap::new();
        let mut metafields = BTreeMap::new();
        let mut segment = mapping.segment_tag_of(&c.tags);
        for m in c.metafields.iter().flat_map(|page| &page.nodes) {
            if m.namespace == mapping.external_namespace {
                external_ids.insert(m.key.clone(), m.value.clone());
                continue;
            }
            if let Some((ns, key)) = &mapping.segment_metafield
                && m.namespace == *ns
                && m.key == *key
            {
                segment = Some(m.value.clone());
            }
            metafields.insert(format!("{}.{}", m.namespace, m.key), m.value.clone());
        }
        let email = c.default_email_address.as_ref();
        let phone = c.default_phone_number.as_ref();
        Customer {
            schema: SCHEMA.into(),
            event: Event::Upsert,
            shopify_id: c.id.to_string(),
            legacy_id: c.id.id(),
            external_ids,
            email: email.and_then(|e| e.email_address.clone()),
            phone: phone.and_then(|p| p.phone_number.clone()),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            locale: c.locale.clone(),
            addresses: c
                .addresses_v2
                .iter()
                .flat_map(|page| &page.nodes)
                .map(address)
                .collect(),
            account_status: mapping.status_of(&c.tags),
            segment,
            tags: c.tags.clone(),
            note: c.note.clone(),
            state: Some(c.state.to_ascii_lowercase()),
            tax_exempt: c.tax_exempt,
            tax_exemptions: c.tax_exemptions.clone(),
            email_marketing: email.and_then(|e| {
                Some(Consent {
                    state: e.marketing_state.as_deref()?.to_ascii_lowercase(),
                    opt_in_level: e
                        .marketing_opt_in_level
                        .as_deref()
                        .map(str::to_ascii_lowercase),
                    updated_at: e.marketing_updated_at.clone(),
                })
            }),
            sms_marketing: phone
                .and_then(|p| p.sms_marketing_consent.as_ref())
                .and_then(|s| {
                    Some(Consent {
                        state: s.state.as_deref()?.to_ascii_lowercase(),
                        opt_in_level: s.opt_in_level.as_deref().map(str::to_ascii_lowercase),
                        updated_at: s.updated_at.clone(),
                    })
                }),
            metafields,
            amount_spent: c.amount_spent.as_ref().map(|m| Money {
                amount: m.amount.clone(),
                currency: m.currency_code.clone(),
            }),
            number_of_orders: c.number_of_orders.as_ref().and_then(|n| match n {
                serde_json::Value::String(s) => s.parse().ok(),
                other => other.as_u64(),
            }),
            created_at: Some(c.created_at.clone()),
            updated_at: Some(c.updated_at.clone()),
            deleted: false,
            merged_into: None,
            conflicts: Vec::new(),
        }
    }

    /// A customer deleted in Shopify (or merged into `merged_into`): the ids, and the external
    /// ids known before.
    pub fn gone(legacy_id: u64, merged_into: Option<String>, known: Option<&Customer>) -> Customer {
        Customer {
            schema: SCHEMA.into(),
            event: if merged_into.is_some() {
                Event::Merged
            } else {
                Event::Deleted
            },
            shopify_id: format!("gid://shopify/Customer/{legacy_id}"),
            legacy_id,
            external_ids: known.map(|k| k.external_ids.clone()).unwrap_or_default(),
            email: None,
            phone: None,
            first_name: None,
            last_name: None,
            locale: None,
            addresses: Vec::new(),
            tags: Vec::new(),
            account_status: None,
            segment: None,
            note: None,
            state: None,
            tax_exempt: false,
            tax_exemptions: Vec::new(),
            email_marketing: None,
            sms_marketing: None,
            metafields: BTreeMap::new(),
            amount_spent: None,
            number_of_orders: None,
            created_at: known.and_then(|k| k.created_at.clone()),
            updated_at: None,
            deleted: true,
            merged_into,
            conflicts: Vec::new(),
        }
    }

    /// Protected customer data came back null: no name, email or phone at all.
    pub fn protected_data_withheld(&self) -> bool {
        self.event == Event::Upsert
            && self.email.is_none()
            && self.phone.is_none()
            && self.first_name.is_none()
            && self.last_name.is_none()
    }

    /// A fingerprint of each field group's value.
    pub fn fingerprints(&self) -> BTreeMap<String, u64> {
        Group::ALL
            .iter()
            .map(|g| (g.name().to_string(), self.fingerprint(*g)))
            .collect()
    }

    /// A fingerprint of one group's value, stable across builds (it is stored): the first 8
    /// bytes of the SHA-256 of the value's JSON.
    pub fn fingerprint(&self, group: Group) -> u64 {
        use serde_json::json;
        let value = match group {
            Group::Identity => json!([
                self.email,
                self.phone,
                self.first_name,
                self.last_name,
                self.locale
            ]),
            Group::Addresses => json!(self.addresses),
            Group::State => json!([self.deleted, self.state, self.merged_into]),
            Group::AccountStatus => json!(self.account_status),
            Group::Segment => json!(self.segment),
            Group::Tags => {
                let mut tags: Vec<String> = self.tags.iter().map(|t| t.to_lowercase()).collect();
                tags.sort();
                json!(tags)
            }
            Group::Note => json!(self.note),
            Group::Tax => {
                let mut exemptions = self.tax_exemptions.clone();
                exemptions.sort();
                json!([self.tax_exempt, exemptions])
            }
            Group::Marketing => json!([
                self.email_marketing
                    .as_ref()
                    .map(|c| (&c.state, &c.opt_in_level)),
                self.sms_marketing
                    .as_ref()
                    .map(|c| (&c.state, &c.opt_in_level)),
            ]),
            Group::Metafields => json!(self.metafields),
            Group::Stats => json!([self.amount_spent, self.number_of_orders]),
        };
        crate::flows::write::echo::fingerprint(&value)
    }
}

fn address(a: &ShopifyAddress) -> Address {
    let name = [a.first_name.as_deref(), a.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Address {
        name: (!name.is_empty()).then_some(name),
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        company: a.company.clone(),
        address1: a.address1.clone(),
        address2: a.address2.clone(),
        city: a.city.clone(),
        province: a.province.clone(),
        province_code: a.province_code.clone(),
        zip: a.zip.clone(),
        country: a.country.clone(),
        country_code: a.country_code_v2.clone(),
        phone: a.phone.clone(),
    }
}

/// The field groups of a canonical customer: what targets subscribe to, what config gives an
/// owner, what a conflict and an echo are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// email, phone, names, locale
    Identity,
    Addresses,
    /// enabled/disabled/invited/declined, deleted, merged
    State,
    AccountStatus,
    Segment,
    Tags,
    Note,
    /// tax_exempt, tax_exemptions
    Tax,
    /// email and SMS consent
    Marketing,
    Metafields,
    /// amount_spent, number_of_orders
    Stats,
}

impl Group {
    pub const ALL: [Group; 11] = [
        Group::Identity,
        Group::Addresses,
        Group::State,
        Group::AccountStatus,
        Group::Segment,
        Group::Tags,
        Group::Note,
        Group::Tax,
        Group::Marketing,
        Group::Metafields,
        Group::Stats,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Group::Identity => "identity",
            Group::Addresses => "addresses",
            Group::State => "state",
            Group::AccountStatus => "account_status",
            Group::Segment => "segment",
            Group::Tags => "tags",
            Group::Note => "note",
            Group::Tax => "tax",
            Group::Marketing => "marketing",
            Group::Metafields => "metafields",
            Group::Stats => "stats",
        }
    }

    pub fn named(name: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        Group::ALL.iter().map(|g| g.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shopify(tags: &[&str]) -> ShopifyCustomer {
        serde_json::from_value(serde_json::json!({
            "id": "gid://shopify/Customer/9", "legacyResourceId": "9", "firstName": "Ada",
            "lastName": "L", "locale": "en", "note": "n", "state": "DISABLED", "tags": tags,
            "taxExempt": true, "taxExemptions": ["CA_STATUS_CARD_EXEMPTION"],
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z",
            "numberOfOrders": "4", "amountSpent": {"amount": "10.00", "currencyCode": "EUR"},
            "defaultEmailAddress": {"emailAddress": "ada@example.com", "marketingState": "SUBSCRIBED",
                "marketingOptInLevel": "SINGLE_OPT_IN", "marketingUpdatedAt": null},
            "defaultPhoneNumber": {"phoneNumber": "+15550001", "smsMarketingConsent":
                {"state": "NOT_SUBSCRIBED", "optInLevel": "UNKNOWN", "updatedAt": null}},
            "addressesV2": {"nodes": [{"id": "gid://shopify/MailingAddress/1", "city": "Ottawa", "countryCodeV2": "CA"}]},
            "metafields": {"nodes": [
                {"namespace": "xconnector", "key": "crm", "type": "single_line_text_field", "value": "C-9"},
                {"namespace": "crm", "key": "tier", "type": "single_line_text_field", "value": "gold"}]}
        }))
        .unwrap()
    }

    #[test]
    fn reads_every_field_and_the_mapped_ones() {
        let c = Customer::from_graphql(
            &shopify(&["vip", "Status:on-hold", "segment:wholesale"]),
            &Mapping::default(),
        );
        assert_eq!(c.legacy_id, 9);
        assert_eq!(c.external_ids["crm"], "C-9");
        assert_eq!(c.metafields["crm.tier"], "gold");
        assert!(!c.metafields.contains_key("xconnector.crm"));
        assert_eq!(c.account_status.as_deref(), Some("on-hold"));
        assert_eq!(c.segment.as_deref(), Some("wholesale"));
        assert_eq!(c.state.as_deref(), Some("disabled"));
        assert_eq!(c.email_marketing.as_ref().unwrap().state, "subscribed");
        assert_eq!(c.sms_marketing.as_ref().unwrap().state, "not_subscribed");
        assert_eq!(c.number_of_orders, Some(4));
        assert_eq!(c.addresses[0].country_code.as_deref(), Some("CA"));
        assert!(!c.protected_data_withheld());
    }

    #[test]
    fn fingerprints_change_only_with_their_group() {
        let m = Mapping::default();
        let a = Customer::from_graphql(&shopify(&["b", "a"]), &m);
        let b = Customer::from_graphql(&shopify(&["A", "b"]), &m);
        assert_eq!(
            a.fingerprints(),
            b.fingerprints(),
            "tag order and case do not matter"
        );
        let c = Customer::from_graphql(&shopify(&["a", "b", "status:active"]), &m);
        let (before, after) = (a.fingerprints(), c.fingerprints());
        let changed: Vec<&String> = before
            .iter()
            .filter(|(g, f)| after[*g] != **f)
            .map(|(g, _)| g)
            .collect();
        assert_eq!(changed, ["account_status", "tags"]);
    }
}
