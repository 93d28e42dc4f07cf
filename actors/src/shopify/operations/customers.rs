//! The customers flow's operations: reads (by id, by email, by identifier, changed since) and
//! the narrow writes an inbound update becomes (tags added and removed, metafields set in
//! batches, scalar fields, tax exemptions, email consent, and `customerSet` to create).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Connection, Operation, nullable_vec};
pub use super::{Errors, next_page};
use crate::shopify::error::UserError;
use crate::shopify::gid::CustomerId;

/// Ids per `nodes` read, and Shopify's input-list limit.
pub const MAX_IDS: usize = 250;
/// Metafields per `metafieldsSet` call (Shopify's limit).
pub const MAX_METAFIELDS: usize = 25;
/// Emails per `customers(query:)` lookup: the search string stays short.
pub const MAX_EMAILS: usize = 50;

/// A customer as the flow reads it. Protected customer data may be null when the app is not
/// approved for it, so every such field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyCustomer {
    pub id: CustomerId,
    pub legacy_resource_id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// `ENABLED`, `DISABLED`, `INVITED`, `DECLINED`.
    pub state: String,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub tax_exempt: bool,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub tax_exemptions: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    /// `UnsignedInt64`, a string.
    #[serde(default)]
    pub number_of_orders: Option<Value>,
    #[serde(default)]
    pub amount_spent: Option<super::Money>,
    #[serde(default)]
    pub default_email_address: Option<EmailAddress>,
    #[serde(default)]
    pub default_phone_number: Option<PhoneNumber>,
    #[serde(default)]
    pub addresses_v2: Option<Connection<Address>>,
    #[serde(default)]
    pub metafields: Option<Connection<Metafield>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddress {
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub marketing_state: Option<String>,
    #[serde(default)]
    pub marketing_opt_in_level: Option<String>,
    #[serde(default)]
    pub marketing_updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub sms_marketing_consent: Option<SmsConsent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsConsent {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub opt_in_level: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub province_code: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub country_code_v2: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metafield {
    pub namespace: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default)]
    pub compare_digest: Option<String>,
}

impl ShopifyCustomer {
    /// The value of metafield `namespace.key`, when it has one.
    pub fn metafield(&self, namespace: &str, key: &str) -> Option<&Metafield> {
        self.metafields
            .as_ref()?
            .nodes
            .iter()
            .find(|m| m.namespace == namespace && m.key == key)
    }
}

/// What one customer costs to read: itself, its money, email, phone, consent, and the
/// address and metafield pages.
const CUSTOMER_COST: f64 = 6.0 + 10.0 + 50.0;

pub enum CustomersById {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdsVariables {
    pub ids: Vec<CustomerId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomersByIdResponse {
    /// One per id asked, in order: `None` for a customer that no longer exists. (A node of
    /// another type comes back as an empty object, which does not read as a customer.)
    #[serde(deserialize_with = "super::objects_or_none")]
    pub nodes: Vec<Option<ShopifyCustomer>>,
}

impl Operation for CustomersById {
    const NAME: &'static str = "CustomersById";
    const DOCUMENT: &'static str = concat!(
        include_str!("customers_by_id.graphql"),
        "\n",
        include_str!("customer_fields.graphql")
    );
    type Variables = IdsVariables;
    type Response = CustomersByIdResponse;

    fn estimate(v: &IdsVariables) -> f64 {
        v.ids.len() as f64 * CUSTOMER_COST
    }

    fn cost_key(v: &IdsVariables) -> String {
        format!("CustomersById/{}", v.ids.len())
    }
}

pub enum CustomerVersions {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionsVariables {
    pub first: u32,
    pub after: Option<String>,
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VersionsResponse {
    pub customers: Connection<CustomerVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerVersion {
    pub id: CustomerId,
    pub updated_at: String,
}

impl Operation for CustomerVersions {
    const NAME: &'static str = "CustomerVersions";
    const DOCUMENT: &'static str = include_str!("customer_versions.graphql");
    type Variables = VersionsVariables;
    type Response = VersionsResponse;

    fn estimate(v: &VersionsVariables) -> f64 {
        2.0 + f64::from(v.first)
    }

    fn cost_key(v: &VersionsVariables) -> String {
        format!("CustomerVersions/{}", v.first)
    }
}

pub enum CustomersByEmail {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailVariables {
    pub first: u32,
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EmailResponse {
    pub customers: Connection<CustomerEmail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerEmail {
    pub id: CustomerId,
    #[serde(default)]
    pub default_email_address: Option<EmailAddress>,
}

impl Operation for CustomersByEmail {
    const NAME: &'static str = "CustomersByEmail";
    const DOCUMENT: &'static str = include_str!("customers_by_email.graphql");
    type Variables = EmailVariables;
    type Response = EmailResponse;

    fn estimate(v: &EmailVariables) -> f64 {
        2.0 + 2.0 * f64::from(v.first)
    }

    fn cost_key(v: &EmailVariables) -> String {
        format!("CustomersByEmail/{}", v.first)
    }
}

pub enum CustomerByIdentifier {}

/// `CustomerIdentifierInput`: exactly one of the fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Identifier {
    EmailAddress(String),
    PhoneNumber(String),
    CustomId(CustomId),
}

/// `UniqueMetafieldValueInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomId {
    pub namespace: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentifierVariables {
    pub identifier: Identifier,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifierResponse {
    pub customer_by_identifier: Option<super::Ref<CustomerId>>,
}

impl Operation for CustomerByIdentifier {
    const NAME: &'static str = "CustomerByIdentifier";
    const DOCUMENT: &'static str = include_str!("customer_by_identifier.graphql");
    type Variables = IdentifierVariables;
    type Response = IdentifierResponse;

    fn estimate(_: &IdentifierVariables) -> f64 {
        1.0
    }
}

/// `metafieldsSet`'s errors carry the index of the input they are about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetafieldsErrors {
    #[serde(deserialize_with = "nullable_vec")]
    pub user_errors: Vec<MetafieldsError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetafieldsError {
    #[serde(flatten)]
    pub error: UserError,
    #[serde(default)]
    pub element_index: Option<usize>,
}

/// A mutation of one root field: its operation, document, variables, and response (`data`,
/// whose one field is the payload, null when the call failed as a whole).
macro_rules! mutation {
    ($op:ident, $file:literal, $vars:ty, $resp:ident { $field:literal: $payload:ty }) => {
        pub enum $op {}

        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        pub struct $resp {
            #[serde(rename = $field)]
            pub payload: Option<$payload>,
        }

        impl Operation for $op {
            const NAME: &'static str = stringify!($op);
            const DOCUMENT: &'static str = include_str!($file);
            type Variables = $vars;
            type Response = $resp;

            fn estimate(_: &$vars) -> f64 {
                10.0
            }
        }
    };
}

/// `tagsAdd` / `tagsRemove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagsVariables {
    pub id: CustomerId,
    pub tags: Vec<String>,
}

/// `MetafieldsSetInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetafieldInput {
    /// The owner's GID: a customer, or a product.
    pub owner_id: String,
    pub namespace: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    /// The digest of the value read before this write: Shopify refuses the write if someone
    /// changed the metafield since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetafieldsVariables {
    pub metafields: Vec<MetafieldInput>,
}

/// `CustomerInput` with only the scalar fields the flow writes; unset ones are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerScalars {
    pub id: Option<CustomerId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_exempt: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerUpdateVariables {
    pub input: CustomerScalars,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxExemptionsVariables {
    pub customer_id: CustomerId,
    pub tax_exemptions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailConsentVariables {
    pub input: EmailConsentInput,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailConsentInput {
    pub customer_id: CustomerId,
    pub email_marketing_consent: EmailConsent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailConsent {
    /// `SUBSCRIBED`, `UNSUBSCRIBED` or `PENDING`: the only states this mutation accepts.
    pub marketing_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketing_opt_in_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_updated_at: Option<String>,
}

/// `CustomerSetIdentifiers` (one of) and the `CustomerSetInput` of a new customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerSetVariables {
    pub identifier: SetIdentifier,
    pub input: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SetIdentifier {
    Email(String),
    Phone(String),
    CustomId(CustomId),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetPayload {
    #[serde(default)]
    pub customer: Option<super::Ref<CustomerId>>,
    #[serde(deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

mutation!(TagsAdd, "tags_add.graphql", TagsVariables, TagsAdded { "tagsAdd": Errors });
mutation!(TagsRemove, "tags_remove.graphql", TagsVariables, TagsRemoved { "tagsRemove": Errors });
mutation!(
    MetafieldsSet,
    "metafields_set.graphql",
    MetafieldsVariables,
    MetafieldsWritten { "metafieldsSet": MetafieldsErrors }
);
mutation!(
    CustomerUpdate,
    "customer_update.graphql",
    CustomerUpdateVariables,
    CustomerUpdated { "customerUpdate": Errors }
);
mutation!(
    CustomerReplaceTaxExemptions,
    "customer_replace_tax_exemptions.graphql",
    TaxExemptionsVariables,
    TaxExemptionsReplaced { "customerReplaceTaxExemptions": Errors }
);
mutation!(
    CustomerEmailConsentUpdate,
    "customer_email_consent_update.graphql",
    EmailConsentVariables,
    EmailConsentUpdated { "customerEmailMarketingConsentUpdate": Errors }
);
mutation!(
    CustomerSet,
    "customer_set.graphql",
    CustomerSetVariables,
    CustomerSetDone { "customerSet": SetPayload }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_read_customers_and_nulls_and_null_protected_data() {
        let raw = serde_json::json!({"nodes": [
            {"id": "gid://shopify/Customer/7", "legacyResourceId": "7", "firstName": null,
             "lastName": null, "locale": "en", "note": null, "state": "ENABLED", "tags": ["a"],
             "taxExempt": false, "taxExemptions": [], "createdAt": "2026-01-01T00:00:00Z",
             "updatedAt": "2026-01-02T00:00:00Z", "numberOfOrders": "3",
             "amountSpent": {"amount": "12.50", "currencyCode": "EUR"},
             "defaultEmailAddress": null, "defaultPhoneNumber": null,
             "addressesV2": {"nodes": []},
             "metafields": {"nodes": [{"namespace": "xconnector", "key": "crm", "type": "single_line_text_field", "value": "C-7", "compareDigest": "d"}]}},
            null,
            {}
        ]});
        let r: CustomersByIdResponse = serde_json::from_value(raw).unwrap();
        assert_eq!(r.nodes.len(), 3);
        let c = r.nodes[0].as_ref().unwrap();
        assert_eq!(c.id.id(), 7);
        assert_eq!(c.metafield("xconnector", "crm").unwrap().value, "C-7");
        assert!(r.nodes[1].is_none() && r.nodes[2].is_none());
    }

    #[test]
    fn identifiers_serialize_as_one_of() {
        let v = IdentifierVariables {
            identifier: Identifier::CustomId(CustomId {
                namespace: "xconnector".into(),
                key: "crm".into(),
                value: "C-1".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            serde_json::json!({"identifier": {"customId": {"namespace": "xconnector", "key": "crm", "value": "C-1"}}})
        );
        let s = SetIdentifier::Email("a@b.c".into());
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"email": "a@b.c"})
        );
    }
}
