//! The customer mutations and `customerByIdentifier`:
//!
//! - `customerCreate`, `customerUpdate` (`CustomerInput`), `customerSet` (upsert by
//!   `CustomerSetIdentifiers`), `customerDelete`;
//! - `tagsAdd`, `tagsRemove` (customers and products);
//! - `metafieldsSet` (customer and product owners), with compare-and-set through
//!   `compareDigest`;
//! - `customerReplaceTaxExemptions`, `customerAddTaxExemptions`, `customerRemoveTaxExemptions`;
//! - `customerEmailMarketingConsentUpdate`, `customerSmsMarketingConsentUpdate`.
//!
//! Every mutation validates its whole input before writing, and any user error means nothing
//! is written: a client that gets errors back can retry the corrected call without wondering
//! what half of it already happened. A write that would not change the customer is not made
//! at all (no `updated_at` bump, no webhook), so retries are quiet.
//!
//! `userErrors.field` paths: `CustomerInput` mutations name fields relative to the input
//! (`["email"]`, `["metafields", "0", "value"]`), as Shopify does; the other mutations name the
//! argument too (`["input", "email"]`, `["metafields", "3", "value"]`).

use serde_json::{Map, Value, json};

use super::objects::{APP_NAMESPACE, customer_tree, owned_metafield_tree, product_tree, shop_tree};
use super::{RootCtx, RootError};
use crate::gid::{self, gid};
use crate::shop::{
    Address, Customer, CustomerSpec, Id, MarketingConsent, MarketingOptInLevel, MarketingState,
    Metafield, MetafieldSpec, Shop, ShopError, normalize_phone, normalize_tags,
};
use crate::time::Timestamp;

/// Shopify's limit on `metafieldsSet` inputs per call.
pub const METAFIELDS_SET_LIMIT: usize = 25;

pub(super) type FieldPath = Vec<String>;

pub(super) fn field_path(prefix: &[&str], rest: &[&str]) -> FieldPath {
    prefix.iter().chain(rest).map(|p| p.to_string()).collect()
}

/// User errors of one payload type (`UserError` has no `code`; the projector only returns
/// what the client selected, and validation refuses selecting a field the type lacks).
struct Errors {
    typename: &'static str,
    list: Vec<Value>,
}

impl Errors {
    fn new(typename: &'static str) -> Errors {
        Errors {
            typename,
            list: Vec::new(),
        }
    }

    fn push(&mut self, field: Option<FieldPath>, message: impl Into<String>, code: Option<&str>) {
        self.list.push(json!({
            "__typename": self.typename,
            "field": field,
            "message": message.into(),
            "code": code,
        }));
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

pub(super) fn object_arg(ctx: &RootCtx<'_>, name: &str) -> Map<String, Value> {
    ctx.args
        .get(name)
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default()
}

pub(super) fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A validated id always names a customer; losing it between validation and write would be a
/// simulator bug, reported as such rather than as the client's mistake.
pub(super) fn internal(e: ShopError) -> RootError {
    RootError::new("INTERNAL_SERVER_ERROR", e.to_string())
}

fn customer_payload(typename: &str, shop: &Shop, id: Option<Id>, errors: Errors) -> Value {
    json!({
        "__typename": typename,
        "customer": id.and_then(|id| shop.customers.get(&id)).map_or(Value::Null, customer_tree),
        "userErrors": errors.list,
    })
}

fn customer_id(value: Option<&Value>, shop: &Shop) -> Option<Id> {
    value
        .and_then(|v| v.as_str())
        .and_then(|t| gid::parse_kind(t, "Customer"))
        .filter(|id| shop.customers.contains_key(id))
}

/// A `@oneOf` input must name exactly one of its fields; otherwise the request is malformed
/// (a top-level error, as GraphQL validation reports it).
pub(super) fn one_of<'a>(
    input: &'a Map<String, Value>,
    type_name: &str,
) -> Result<(&'a str, &'a Value), RootError> {
    let given: Vec<(&str, &Value)> = input
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    match given.as_slice() {
        [one] => Ok(*one),
        _ => Err(RootError::new(
            "INVALID_VARIABLE",
            format!("OneOf Input Object '{type_name}' must specify exactly one key."),
        )),
    }
}

// Metafields.

/// The owner a `metafieldsSet` input names: a customer or a product of the shop. Ids are unique
/// across resource types, so the id alone tells which later.
fn metafield_owner(value: Option<&Value>, shop: &Shop) -> Option<Id> {
    let g = gid::parse(value?.as_str()?)?;
    match g.kind {
        "Customer" => shop.customers.contains_key(&g.id).then_some(g.id),
        "Product" => shop.products.contains_key(&g.id).then_some(g.id),
        _ => None,
    }
}

fn owner_metafield<'a>(
    shop: &'a Shop,
    owner: Id,
    namespace: &str,
    key: &str,
) -> Option<&'a Metafield> {
    match shop.customers.get(&owner) {
        Some(c) => c.metafield(namespace, key),
        None => shop.products.get(&owner)?.metafield(namespace, key),
    }
}

/// The metafield types the simulator knows (values of the first group are checked).
const METAFIELD_TYPES: &[&str] = &[
    "single_line_text_field",
    "multi_line_text_field",
    "boolean",
    "number_integer",
    "number_decimal",
    "json",
    "date",
    "date_time",
    "url",
    "color",
    "rich_text_field",
    "money",
    "weight",
    "volume",
    "dimension",
    "rating",
    "link",
    "id",
    "product_reference",
    "variant_reference",
    "collection_reference",
    "customer_reference",
    "company_reference",
    "page_reference",
    "file_reference",
    "metaobject_reference",
    "mixed_reference",
];

/// Shopify's integer metafields are bounded by what JSON numbers carry exactly.
const MAX_METAFIELD_INTEGER: i64 = 9_007_199_254_740_991;

/// Base types that have no `list.` form.
const NO_LIST_FORM: &[&str] = &[
    "json",
    "boolean",
    "money",
    "multi_line_text_field",
    "rich_text_field",
];

fn known_type(t: &str) -> bool {
    match t.strip_prefix("list.") {
        Some(base) => METAFIELD_TYPES.contains(&base) && !NO_LIST_FORM.contains(&base),
        None => METAFIELD_TYPES.contains(&t),
    }
}

/// Why `value` is not a valid value of type `t`, if it is not.
fn value_problem(t: &str, value: &str) -> Option<String> {
    if let Some(inner) = t.strip_prefix("list.") {
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(value) else {
            return Some("Value must be a JSON array.".into());
        };
        return items.iter().find_map(|item| {
            let text = match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            value_problem(inner, &text)
        });
    }
    let ok = match t {
        "single_line_text_field" => !value.contains(['\n', '\r']),
        "boolean" => value == "true" || value == "false",
        "number_integer" => value
            .parse::<i64>()
            .is_ok_and(|n| n.abs() <= MAX_METAFIELD_INTEGER),
        "number_decimal" => {
            value.parse::<f64>().is_ok_and(f64::is_finite)
                && value
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
        }
        "json" => serde_json::from_str::<Value>(value).is_ok(),
        "date" => value.len() == 10 && Timestamp::parse(value).is_some(),
        "date_time" => Timestamp::parse(value).is_some(),
        "url" => ["http://", "https://", "mailto:", "sms:", "tel:"]
            .iter()
            .any(|s| value.starts_with(s) && value.len() > s.len()),
        "color" => {
            value.len() == 7
                && value.starts_with('#')
                && value[1..].chars().all(|c| c.is_ascii_hexdigit())
        }
        _ => true,
    };
    if ok {
        return None;
    }
    Some(
        match t {
            "single_line_text_field" => "Value must be a single line text string.",
            "boolean" => "Value must be true or false.",
            "number_integer" => "Value must be an integer.",
            "number_decimal" => "Value must be a decimal.",
            "json" => "Value must be valid JSON.",
            "date" => "Value must be in YYYY-MM-DD format.",
            "date_time" => "Value must be in ISO 8601 date and time format.",
            "url" => "Value must be a valid URL.",
            "color" => "Value must be a hex color code.",
            _ => "Value is invalid.",
        }
        .into(),
    )
}

fn identifier_chars_ok(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// One metafield write, before checking.
pub(super) struct Candidate<'a> {
    /// What the owner has under this namespace and key now.
    pub existing: Option<&'a Metafield>,
    pub namespace: &'a str,
    pub key: &'a str,
    pub given_type: Option<&'a str>,
    pub value: &'a str,
}

/// Check a metafield write; each problem goes to `report(field, message, code)` with the field
/// from `at`. The effective type when the write is valid.
pub(super) fn check_metafield(
    c: &Candidate<'_>,
    at: &dyn Fn(&str) -> FieldPath,
    report: &mut dyn FnMut(FieldPath, String, &'static str),
) -> Option<String> {
    let mut ok = true;
    let mut fail = |field: &str, message: String, code: &'static str| {
        ok = false;
        report(at(field), message, code);
    };
    // `$app` (and `$app:sub`) is the app's reserved namespace.
    let plain_namespace = c
        .namespace
        .strip_prefix("$app")
        .map_or(c.namespace, |rest| rest.trim_start_matches(':'));
    let namespace_len = c.namespace.chars().count();
    if namespace_len < 3 {
        fail(
            "namespace",
            "Namespace is too short (minimum is 3 characters)".into(),
            "TOO_SHORT",
        );
    } else if namespace_len > 255 {
        fail(
            "namespace",
            "Namespace is too long (maximum is 255 characters)".into(),
            "TOO_LONG",
        );
    } else if !identifier_chars_ok(plain_namespace) {
        fail(
            "namespace",
            "Namespace can only contain alphanumeric characters, hyphens and underscores".into(),
            "INVALID",
        );
    }
    let key_len = c.key.chars().count();
    if key_len < 2 {
        fail(
            "key",
            "Key is too short (minimum is 2 characters)".into(),
            "TOO_SHORT",
        );
    } else if key_len > 64 {
        fail(
            "key",
            "Key is too long (maximum is 64 characters)".into(),
            "TOO_LONG",
        );
    } else if !identifier_chars_ok(c.key) {
        fail(
            "key",
            "Key can only contain alphanumeric characters, hyphens and underscores".into(),
            "INVALID",
        );
    }
    let effective = match (c.given_type, c.existing) {
        (None, None) => {
            fail("type", "Type can't be blank".into(), "BLANK");
            None
        }
        (None, Some(m)) => Some(m.r#type.clone()),
        (Some(t), _) if !known_type(t) => {
            fail(
                "type",
                format!("Type '{t}' is not a valid metafield type"),
                "INVALID_TYPE",
            );
            None
        }
        (Some(t), Some(m)) if m.r#type != t => {
            fail(
                "type",
                format!(
                    "Type '{t}' does not match the metafield's type '{}'",
                    m.r#type
                ),
                "INVALID_TYPE",
            );
            None
        }
        (Some(t), _) => Some(t.to_string()),
    };
    if c.value.is_empty() {
        fail("value", "Value can't be blank".into(), "BLANK");
    } else if let Some(t) = &effective
        && let Some(problem) = value_problem(t, c.value)
    {
        fail("value", problem, "INVALID_VALUE");
    }
    if ok { effective } else { None }
}

pub(super) fn metafields_set(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let inputs: Vec<Map<String, Value>> = ctx
        .args
        .get("metafields")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default();
    let mut errors = Errors::new("MetafieldsSetUserError");
    let payload = |metafields: Value, errors: Errors| {
        json!({
            "__typename": "MetafieldsSetPayload",
            "metafields": metafields,
            "userErrors": errors.list,
        })
    };
    if inputs.len() > METAFIELDS_SET_LIMIT {
        errors.list.push(json!({
            "__typename": "MetafieldsSetUserError",
            "field": ["metafields"],
            "message": format!("Exceeds the maximum metafields input limit of {METAFIELDS_SET_LIMIT}."),
            "code": "LESS_THAN_OR_EQUAL_TO",
            "elementIndex": Value::Null,
        }));
        return Ok(payload(Value::Null, errors));
    }
    let mut planned: Vec<(Id, MetafieldSpec)> = Vec::new();
    for (i, m) in inputs.iter().enumerate() {
        let index = i.to_string();
        let at = |f: &str| field_path(&["metafields", &index, f], &[]);
        let element = |errors: &mut Errors, field: FieldPath, message: String, code: &str| {
            errors.list.push(json!({
                "__typename": "MetafieldsSetUserError",
                "field": field,
                "message": message,
                "code": code,
                "elementIndex": i,
            }));
        };
        let text = |k: &str| m.get(k).and_then(|v| v.as_str());
        let Some(owner) = metafield_owner(m.get("ownerId"), shop) else {
            element(
                &mut errors,
                at("ownerId"),
                "Owner does not exist.".into(),
                "INVALID",
            );
            continue;
        };
        let namespace = text("namespace").unwrap_or(APP_NAMESPACE).to_string();
        let key = text("key").unwrap_or_default().to_string();
        let value = text("value").unwrap_or_default().to_string();
        let existing = owner_metafield(shop, owner, &namespace, &key);
        let candidate = Candidate {
            existing,
            namespace: &namespace,
            key: &key,
            given_type: text("type"),
            value: &value,
        };
        let checked = check_metafield(&candidate, &at, &mut |field, message, code| {
            element(&mut errors, field, message, code)
        });
        // compareDigest: absent skips the check; null asserts the metafield does not exist
        // yet; a digest asserts it exists with exactly that value.
        let stale = match m.get("compareDigest") {
            None => None,
            Some(Value::Null) => existing
                .is_some()
                .then_some(("The metafield already exists.", "STALE_OBJECT")),
            Some(d) => {
                let d = d.as_str().unwrap_or_default();
                if d.len() != 64 || !d.chars().all(|c| c.is_ascii_hexdigit()) {
                    Some(("The compareDigest is invalid.", "INVALID_COMPARE_DIGEST"))
                } else if existing.is_none_or(|e| !e.digest().eq_ignore_ascii_case(d)) {
                    Some((
                        "The resource has been updated since it was loaded. Try again with an updated `compareDigest` value.",
                        "STALE_OBJECT",
                    ))
                } else {
                    None
                }
            }
        };
        if let Some((message, code)) = stale {
            element(&mut errors, at("compareDigest"), message.into(), code);
            continue;
        }
        let Some(r#type) = checked else { continue };
        if planned
            .iter()
            .any(|(o, s)| *o == owner && s.namespace == namespace && s.key == key)
        {
            element(
                &mut errors,
                field_path(&["metafields", &index], &[]),
                "The same owner, namespace and key appear more than once in the input.".into(),
                "TAKEN",
            );
            continue;
        }
        planned.push((
            owner,
            MetafieldSpec {
                namespace,
                key,
                r#type,
                value,
            },
        ));
    }
    if !errors.is_empty() {
        return Ok(payload(Value::Null, errors));
    }
    // One write per owner, so each changed customer gets one `customers/update`.
    let mut owners: Vec<Id> = Vec::new();
    for (owner, _) in &planned {
        if !owners.contains(owner) {
            owners.push(*owner);
        }
    }
    for owner in owners {
        let specs: Vec<MetafieldSpec> = planned
            .iter()
            .filter(|(o, _)| *o == owner)
            .map(|(_, s)| s.clone())
            .collect();
        if shop.customers.contains_key(&owner) {
            shop.set_customer_metafields(owner, &specs)
        } else {
            shop.set_product_metafields(owner, &specs)
        }
        .map_err(internal)?;
    }
    let written: Vec<Value> = planned
        .iter()
        .filter_map(|(owner, s)| {
            let kind = if shop.customers.contains_key(owner) {
                "Customer"
            } else {
                "Product"
            };
            owner_metafield(shop, *owner, &s.namespace, &s.key)
                .map(|m| owned_metafield_tree(kind, *owner, &s.namespace, &s.key, m))
        })
        .collect();
    Ok(payload(Value::Array(written), errors))
}

// Customer input.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Update,
    Set,
}

/// What a `CustomerInput` / `CustomerSetInput` asks to change: `None` leaves a field alone,
/// `Some(None)` clears it.
#[derive(Default)]
struct Changes {
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    first_name: Option<Option<String>>,
    last_name: Option<Option<String>>,
    note: Option<Option<String>>,
    locale: Option<String>,
    tags: Option<Vec<String>>,
    tax_exempt: Option<bool>,
    tax_exemptions: Option<Vec<String>>,
    /// `addresses`: the simulator keeps one address per customer, the first given.
    address: Option<Option<Address>>,
    metafields: Vec<MetafieldSpec>,
    email_consent: Option<MarketingConsent>,
    sms_consent: Option<MarketingConsent>,
}

impl Changes {
    fn apply(&self, c: &mut Customer) {
        let set = |field: &mut Option<String>, change: &Option<Option<String>>| {
            if let Some(v) = change {
                field.clone_from(v);
            }
        };
        set(&mut c.email, &self.email);
        set(&mut c.phone, &self.phone);
        set(&mut c.first_name, &self.first_name);
        set(&mut c.last_name, &self.last_name);
        set(&mut c.note, &self.note);
        if let Some(locale) = &self.locale {
            c.locale.clone_from(locale);
        }
        if let Some(tags) = &self.tags {
            c.tags.clone_from(tags);
        }
        if let Some(exempt) = self.tax_exempt {
            c.tax_exempt = exempt;
        }
        if let Some(exemptions) = &self.tax_exemptions {
            c.tax_exemptions.clone_from(exemptions);
        }
        if let Some(address) = &self.address {
            c.default_address.clone_from(address);
        }
    }

    fn into_spec(self) -> CustomerSpec {
        CustomerSpec {
            email: self.email.flatten(),
            first_name: self.first_name.flatten(),
            last_name: self.last_name.flatten(),
            phone: self.phone.flatten(),
            tags: self.tags.unwrap_or_default(),
            tax_exempt: self.tax_exempt.unwrap_or(false),
            tax_exemptions: self.tax_exemptions.unwrap_or_default(),
            note: self.note.flatten(),
            default_address: self.address.flatten(),
            locale: self.locale,
            email_consent: self.email_consent.unwrap_or_default(),
            sms_consent: self.sms_consent.unwrap_or_default(),
            metafields: self.metafields,
        }
    }

    fn has_contact(&self) -> bool {
        [&self.email, &self.phone, &self.first_name, &self.last_name]
            .iter()
            .any(|f| f.as_ref().is_some_and(|v| v.is_some()))
    }
}

/// A text input: absent → leave alone, null or blank → clear.
fn text_change(input: &Map<String, Value>, key: &str) -> Option<Option<String>> {
    match input.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(Some(s.trim().to_string())),
        _ => Some(None),
    }
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

fn valid_phone(phone: &str) -> bool {
    let digits = normalize_phone(phone).trim_start_matches('+').len();
    (7..=15).contains(&digits)
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.'))
}

fn address_input(a: &Map<String, Value>) -> Address {
    let text = |k: &str| {
        a.get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Address {
        first_name: text("firstName"),
        last_name: text("lastName"),
        company: text("company"),
        address1: text("address1"),
        address2: text("address2"),
        city: text("city"),
        province: text("province").or_else(|| text("provinceCode")),
        province_code: text("provinceCode"),
        zip: text("zip"),
        country: text("country").or_else(|| text("countryCode")),
        country_code: text("countryCode"),
        phone: text("phone"),
        latitude: None,
        longitude: None,
    }
}

/// A consent given on `customerCreate`.
fn consent_input(
    input: &Map<String, Value>,
    key: &str,
    now: Timestamp,
    prefix: &[&str],
    errors: &mut Errors,
) -> Option<MarketingConsent> {
    let consent = input.get(key)?.as_object()?;
    let state = consent
        .get("marketingState")
        .and_then(|v| v.as_str())
        .and_then(MarketingState::from_graphql)
        .filter(|s| {
            matches!(
                s,
                MarketingState::Subscribed
                    | MarketingState::Unsubscribed
                    | MarketingState::Pending
                    | MarketingState::NotSubscribed
            )
        });
    let Some(state) = state else {
        errors.push(
            Some(field_path(prefix, &[key, "marketingState"])),
            "Marketing state is invalid",
            Some("INVALID"),
        );
        return None;
    };
    let level = consent
        .get("marketingOptInLevel")
        .and_then(|v| v.as_str())
        .and_then(MarketingOptInLevel::from_graphql);
    let at = consent
        .get("consentUpdatedAt")
        .and_then(|v| v.as_str())
        .and_then(Timestamp::parse);
    let subscribed = state != MarketingState::NotSubscribed;
    Some(MarketingConsent {
        state,
        opt_in_level: level.or(subscribed.then_some(MarketingOptInLevel::SingleOptIn)),
        updated_at: at.or(subscribed.then_some(now)),
        collected_from: (key == "smsMarketingConsent")
            .then_some(crate::shop::ConsentCollectedFrom::Other),
    })
}

/// Read and check a customer input. `self_id` is the customer being changed (its own email
/// and phone are not "taken"). Errors are at `prefix` + the input field.
fn parse_changes(
    shop: &Shop,
    input: &Map<String, Value>,
    prefix: &[&str],
    self_id: Option<Id>,
    mode: Mode,
    errors: &mut Errors,
) -> Changes {
    let at = |rest: &[&str]| Some(field_path(prefix, rest));
    let mut changes = Changes {
        email: text_change(input, "email"),
        phone: text_change(input, "phone"),
        first_name: text_change(input, "firstName"),
        last_name: text_change(input, "lastName"),
        note: text_change(input, "note"),
        locale: input
            .get("locale")
            .and_then(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string),
        tags: input.get("tags").map(|t| normalize_tags(&strings(Some(t)))),
        tax_exempt: input.get("taxExempt").and_then(|v| v.as_bool()),
        tax_exemptions: input.get("taxExemptions").map(|t| {
            let mut list: Vec<String> = Vec::new();
            for e in strings(Some(t)) {
                if !list.contains(&e) {
                    list.push(e);
                }
            }
            list
        }),
        address: input.get("addresses").map(|a| {
            a.as_array()
                .and_then(|list| list.first())
                .and_then(|first| first.as_object())
                .map(address_input)
        }),
        ..Changes::default()
    };
    if let Some(Some(email)) = &changes.email {
        if !valid_email(email) {
            errors.push(at(&["email"]), "Email is invalid", Some("INVALID"));
        } else if shop
            .customer_by_email(email)
            .is_some_and(|c| Some(c.id) != self_id)
        {
            errors.push(
                at(&["email"]),
                "Email has already been taken",
                Some("TAKEN"),
            );
        }
    }
    if let Some(Some(phone)) = &changes.phone {
        if !valid_phone(phone) {
            errors.push(at(&["phone"]), "Phone is invalid", Some("INVALID"));
        } else if shop
            .customer_by_phone(phone)
            .is_some_and(|c| Some(c.id) != self_id)
        {
            errors.push(
                at(&["phone"]),
                "Phone has already been taken",
                Some("TAKEN"),
            );
        }
    }
    let now = shop.now();
    for key in [
        "emailMarketingConsent",
        "smsMarketingConsent",
        "whatsAppMarketingConsent",
    ] {
        if input.get(key).is_none_or(Value::is_null) {
            continue;
        }
        match (mode, key) {
            (Mode::Create, "emailMarketingConsent") => {
                changes.email_consent = consent_input(input, key, now, prefix, errors);
            }
            (Mode::Create, "smsMarketingConsent") => {
                changes.sms_consent = consent_input(input, key, now, prefix, errors);
            }
            _ => {
                let mutation = match key {
                    "emailMarketingConsent" => "customerEmailMarketingConsentUpdate",
                    "smsMarketingConsent" => "customerSmsMarketingConsentUpdate",
                    _ => "customerWhatsAppMarketingConsentUpdate",
                };
                errors.push(
                    at(&[key]),
                    format!("To update {key}, please use the {mutation} mutation instead"),
                    Some("INVALID"),
                );
            }
        }
    }
    if changes.email_consent.is_some() && !changes.email.as_ref().is_some_and(Option::is_some) {
        errors.push(
            at(&["emailMarketingConsent"]),
            "An email address is required to set the email marketing consent",
            Some("INVALID"),
        );
    }
    if changes.sms_consent.is_some() && !changes.phone.as_ref().is_some_and(Option::is_some) {
        errors.push(
            at(&["smsMarketingConsent"]),
            "A phone number is required to set the SMS marketing consent",
            Some("INVALID"),
        );
    }
    if let Some(list) = input.get("metafields").and_then(|v| v.as_array()) {
        let existing = self_id.and_then(|id| shop.customers.get(&id));
        for (i, m) in list.iter().enumerate() {
            let Some(m) = m.as_object() else { continue };
            let index = i.to_string();
            let at = |f: &str| field_path(prefix, &["metafields", &index, f]);
            let text = |k: &str| m.get(k).and_then(|v| v.as_str());
            // `MetafieldInput.id` names an existing metafield of this customer.
            let by_id = text("id")
                .and_then(|t| gid::parse_kind(t, "Metafield"))
                .and_then(|mid| {
                    existing?
                        .metafields
                        .iter()
                        .find(|(_, mf)| mf.id == mid)
                        .map(|((ns, k), _)| (ns.clone(), k.clone()))
                });
            if text("id").is_some() && by_id.is_none() {
                errors.push(Some(at("id")), "Metafield does not exist", Some("INVALID"));
                continue;
            }
            let (namespace, key) = match by_id {
                Some(found) => found,
                None => (
                    text("namespace").unwrap_or(APP_NAMESPACE).to_string(),
                    text("key").unwrap_or_default().to_string(),
                ),
            };
            let value = text("value").unwrap_or_default().to_string();
            let current = existing.and_then(|c| c.metafield(&namespace, &key));
            let candidate = Candidate {
                existing: current,
                namespace: &namespace,
                key: &key,
                given_type: text("type"),
                value: &value,
            };
            let checked = check_metafield(&candidate, &at, &mut |field, message, code| {
                errors.push(Some(field), message, Some(code))
            });
            if let Some(r#type) = checked {
                changes.metafields.push(MetafieldSpec {
                    namespace,
                    key,
                    r#type,
                    value,
                });
            }
        }
    }
    changes
}

pub(super) fn customer_create(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    const PAYLOAD: &str = "CustomerCreatePayload";
    let input = object_arg(ctx, "input");
    let mut errors = Errors::new("UserError");
    let changes = parse_changes(shop, &input, &[], None, Mode::Create, &mut errors);
    if errors.is_empty() && !changes.has_contact() {
        errors.push(
            None,
            "A name, phone number, or email address must be present",
            Some("BLANK"),
        );
    }
    if !errors.is_empty() {
        return Ok(customer_payload(PAYLOAD, shop, None, errors));
    }
    let id = shop.create_customer(changes.into_spec());
    Ok(customer_payload(PAYLOAD, shop, Some(id), errors))
}

pub(super) fn customer_update(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    const PAYLOAD: &str = "CustomerUpdatePayload";
    let input = object_arg(ctx, "input");
    let mut errors = Errors::new("UserError");
    let Some(id) = customer_id(input.get("id"), shop) else {
        errors.push(
            Some(field_path(&["id"], &[])),
            "Customer does not exist",
            None,
        );
        return Ok(customer_payload(PAYLOAD, shop, None, errors));
    };
    let changes = parse_changes(shop, &input, &[], Some(id), Mode::Update, &mut errors);
    if !errors.is_empty() {
        return Ok(customer_payload(PAYLOAD, shop, None, errors));
    }
    shop.update_customer_and_metafields(id, &changes.metafields, |c| changes.apply(c))
        .map_err(internal)?;
    Ok(customer_payload(PAYLOAD, shop, Some(id), errors))
}

/// The customer `customerSet` addresses.
struct SetTarget {
    /// The customer to update; `None` to create one.
    found: Option<Id>,
    /// Metafields a new customer gets (the `customId` it was looked up by).
    metafields: Vec<MetafieldSpec>,
    /// Input fields a new customer takes from the identifier (its email or phone).
    defaults: Map<String, Value>,
}

fn set_target(
    shop: &Shop,
    identifier: Option<&Map<String, Value>>,
    input: &Map<String, Value>,
    errors: &mut Errors,
) -> Result<SetTarget, RootError> {
    let mut target = SetTarget {
        found: None,
        metafields: Vec::new(),
        defaults: Map::new(),
    };
    let Some(identifier) = identifier else {
        return Ok(target);
    };
    let (kind, value) = one_of(identifier, "CustomerSetIdentifiers")?;
    let text = value.as_str().unwrap_or_default();
    let mismatch = |errors: &mut Errors, field: &str, same: &dyn Fn(&str) -> bool| {
        if let Some(given) = input.get(field).and_then(|v| v.as_str())
            && !same(given)
        {
            errors.push(
                Some(field_path(&["input", field], &[])),
                format!("The input {field} must match the identifier's {field}"),
                Some("INPUT_MISMATCH"),
            );
        }
    };
    match kind {
        "id" => {
            let found =
                gid::parse_kind(text, "Customer").filter(|id| shop.customers.contains_key(id));
            if found.is_none() {
                errors.push(
                    Some(field_path(&["identifier", "id"], &[])),
                    "Resource matching the identifier was not found.",
                    Some("NOT_FOUND"),
                );
            }
            target.found = found;
        }
        "email" => {
            mismatch(errors, "email", &|given| {
                given.trim().eq_ignore_ascii_case(text.trim())
            });
            target
                .defaults
                .insert("email".into(), Value::String(text.to_string()));
            target.found = shop.customer_by_email(text).map(|c| c.id);
        }
        "phone" => {
            mismatch(errors, "phone", &|given| {
                normalize_phone(given) == normalize_phone(text)
            });
            target
                .defaults
                .insert("phone".into(), Value::String(text.to_string()));
            target.found = shop.customer_by_phone(text).map(|c| c.id);
        }
        _ => {
            let custom = value.as_object().cloned().unwrap_or_default();
            let field = |k: &str| custom.get(k).and_then(|v| v.as_str()).unwrap_or_default();
            let namespace = custom
                .get("namespace")
                .and_then(|v| v.as_str())
                .unwrap_or(APP_NAMESPACE);
            let (key, value) = (field("key"), field("value"));
            let found = shop
                .customer_by_metafield(namespace, key, value)
                .map(|c| c.id);
            target.found = found;
            if found.is_none() {
                // The new customer carries the identifying metafield, so the same customerSet
                // again (a retry) finds it instead of creating a second customer.
                let at = |f: &str| field_path(&["identifier", "customId", f], &[]);
                let candidate = Candidate {
                    existing: None,
                    namespace,
                    key,
                    given_type: Some("single_line_text_field"),
                    value,
                };
                let checked = check_metafield(&candidate, &at, &mut |field, message, code| {
                    errors.push(Some(field), message, Some(code))
                });
                if let Some(r#type) = checked {
                    target
                        .metafields
                        .push(MetafieldSpec::new(namespace, key, &r#type, value));
                }
            }
        }
    }
    Ok(target)
}

pub(super) fn customer_set(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    const PAYLOAD: &str = "CustomerSetPayload";
    let identifier = ctx
        .args
        .get("identifier")
        .and_then(|v| v.as_object())
        .cloned();
    let input = object_arg(ctx, "input");
    let mut errors = Errors::new("CustomerSetUserError");
    let input_id = input.get("id").filter(|v| !v.is_null());
    if identifier.is_some() && input_id.is_some() {
        errors.push(
            Some(field_path(&["input", "id"], &[])),
            "The id field is not allowed if identifier is provided.",
            Some("ID_NOT_ALLOWED"),
        );
        return Ok(customer_payload(PAYLOAD, shop, None, errors));
    }
    let SetTarget {
        found: target,
        metafields,
        defaults,
    } = match (&identifier, input_id) {
        (None, Some(id)) => {
            let found = customer_id(Some(id), shop);
            if found.is_none() {
                errors.push(
                    Some(field_path(&["input", "id"], &[])),
                    "Resource matching the identifier was not found.",
                    Some("NOT_FOUND"),
                );
            }
            SetTarget {
                found,
                metafields: Vec::new(),
                defaults: Map::new(),
            }
        }
        _ => set_target(shop, identifier.as_ref(), &input, &mut errors)?,
    };
    if !errors.is_empty() {
        return Ok(customer_payload(PAYLOAD, shop, None, errors));
    }
    // A customer created from an email or phone identifier has that email or phone.
    let mut effective = input.clone();
    if target.is_none() {
        for (k, v) in defaults {
            effective.entry(k).or_insert(v);
        }
    }
    let mut changes = parse_changes(shop, &effective, &["input"], target, Mode::Set, &mut errors);
    if target.is_none() && errors.is_empty() && !changes.has_contact() {
        errors.push(
            Some(field_path(&["input"], &[])),
            "A name, phone number, or email address must be present",
            Some("MISSING_FIELD_REQUIRED"),
        );
    }
    if !errors.is_empty() {
        return Ok(customer_payload(PAYLOAD, shop, None, errors));
    }
    let id = match target {
        Some(id) => {
            shop.update_customer_if_changed(id, |c| changes.apply(c))
                .map_err(internal)?;
            id
        }
        None => {
            changes.metafields = metafields;
            shop.create_customer(changes.into_spec())
        }
    };
    Ok(customer_payload(PAYLOAD, shop, Some(id), errors))
}

pub(super) fn customer_delete(shop: &mut Shop, ctx: &mut RootCtx<'_>) -> Result<Value, RootError> {
    let input = object_arg(ctx, "input");
    let mut errors = Errors::new("UserError");
    let mut deleted = Value::Null;
    match customer_id(input.get("id"), shop) {
        None => errors.push(
            Some(field_path(&["id"], &[])),
            "Customer can't be found",
            None,
        ),
        Some(id) => match shop.delete_customer(id) {
            Ok(_) => deleted = Value::String(gid("Customer", id)),
            Err(e) => errors.push(Some(field_path(&["id"], &[])), e.to_string(), None),
        },
    }
    Ok(json!({
        "__typename": "CustomerDeletePayload",
        "deletedCustomerId": deleted,
        "shop": shop_tree(shop),
        "userErrors": errors.list,
    }))
}

pub(super) fn customer_by_identifier(
    shop: &Shop,
    ctx: &mut RootCtx<'_>,
) -> Result<Value, RootError> {
    let identifier = object_arg(ctx, "identifier");
    let (kind, value) = one_of(&identifier, "CustomerIdentifierInput")?;
    let text = value.as_str().unwrap_or_default();
    let found = match kind {
        "id" => {
            let Some(g) = gid::parse(text) else {
                return Err(RootError::new(
                    "argumentLiteralsIncompatible",
                    format!("Invalid global id '{text}'"),
                ));
            };
            (g.kind == "Customer")
                .then(|| shop.customers.get(&g.id))
                .flatten()
        }
        "emailAddress" => shop.customer_by_email(text),
        "phoneNumber" => shop.customer_by_phone(text),
        _ => {
            let field = |k: &str| value.get(k).and_then(|v| v.as_str());
            shop.customer_by_metafield(
                field("namespace").unwrap_or(APP_NAMESPACE),
                field("key").unwrap_or_default(),
                field("value").unwrap_or_default(),
            )
        }
    };
    Ok(found.map_or(Value::Null, customer_tree))
}

// Tags.

/// `tagsAdd` (`add`) or `tagsRemove`, on a customer or a product.
pub(super) fn tags(shop: &mut Shop, ctx: &mut RootCtx<'_>, add: bool) -> Result<Value, RootError> {
    let payload_type = if add {
        "TagsAddPayload"
    } else {
        "TagsRemovePayload"
    };
    let id = ctx
        .args
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let tags = strings(ctx.args.get("tags"));
    let mut errors = Errors::new("UserError");
    let mut node = Value::Null;
    match gid::parse(id) {
        Some(g) if g.kind == "Customer" && shop.customers.contains_key(&g.id) => {
            if add {
                shop.add_customer_tags(g.id, &tags).map_err(internal)?;
            } else {
                shop.remove_customer_tags(g.id, &tags).map_err(internal)?;
            }
            node = shop.customers.get(&g.id).map_or(Value::Null, customer_tree);
        }
        Some(g) if g.kind == "Product" && shop.products.contains_key(&g.id) => {
            let wanted = normalize_tags(&tags);
            let current = shop
                .products
                .get(&g.id)
                .map(|p| p.tags.clone())
                .unwrap_or_default();
            let has = |t: &String| current.iter().any(|c| c.eq_ignore_ascii_case(t));
            let changes = if add {
                wanted.iter().any(|t| !has(t))
            } else {
                wanted.iter().any(has)
            };
            if changes {
                shop.update_product(g.id, |p| {
                    if add {
                        let mut all = p.tags.clone();
                        all.extend(wanted);
                        p.tags = normalize_tags(&all);
                    } else {
                        p.tags
                            .retain(|t| !wanted.iter().any(|w| w.eq_ignore_ascii_case(t)));
                    }
                })
                .map_err(internal)?;
            }
            node = shop
                .products
                .get(&g.id)
                .map_or(Value::Null, |p| product_tree(shop, p));
        }
        Some(g) if g.kind == "Customer" => errors.push(
            Some(field_path(&["id"], &[])),
            "Customer does not exist",
            None,
        ),
        Some(g) if g.kind == "Product" => errors.push(
            Some(field_path(&["id"], &[])),
            "Product does not exist",
            None,
        ),
        _ => errors.push(
            Some(field_path(&["id"], &[])),
            "Resource does not exist or does not support tags",
            None,
        ),
    }
    Ok(json!({"__typename": payload_type, "node": node, "userErrors": errors.list}))
}

// Tax exemptions.

#[derive(Clone, Copy)]
pub(super) enum ExemptionChange {
    Replace,
    Add,
    Remove,
}

pub(super) fn tax_exemptions(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
    change: ExemptionChange,
) -> Result<Value, RootError> {
    let payload_type = match change {
        ExemptionChange::Replace => "CustomerReplaceTaxExemptionsPayload",
        ExemptionChange::Add => "CustomerAddTaxExemptionsPayload",
        ExemptionChange::Remove => "CustomerRemoveTaxExemptionsPayload",
    };
    let mut errors = Errors::new("UserError");
    let Some(id) = customer_id(ctx.args.get("customerId"), shop) else {
        errors.push(
            Some(field_path(&["customerId"], &[])),
            "Customer does not exist",
            None,
        );
        return Ok(customer_payload(payload_type, shop, None, errors));
    };
    let given = strings(ctx.args.get("taxExemptions"));
    shop.update_customer_if_changed(id, |c| match change {
        ExemptionChange::Replace => {
            c.tax_exemptions.clear();
            for e in given {
                if !c.tax_exemptions.contains(&e) {
                    c.tax_exemptions.push(e);
                }
            }
        }
        ExemptionChange::Add => {
            for e in given {
                if !c.tax_exemptions.contains(&e) {
                    c.tax_exemptions.push(e);
                }
            }
        }
        ExemptionChange::Remove => c.tax_exemptions.retain(|e| !given.contains(e)),
    })
    .map_err(internal)?;
    Ok(customer_payload(payload_type, shop, Some(id), errors))
}

// Marketing consent.

/// `customerEmailMarketingConsentUpdate` (`sms: false`) or `customerSmsMarketingConsentUpdate`.
pub(super) fn consent_update(
    shop: &mut Shop,
    ctx: &mut RootCtx<'_>,
    sms: bool,
) -> Result<Value, RootError> {
    let (payload_type, error_type, consent_key) = if sms {
        (
            "CustomerSmsMarketingConsentUpdatePayload",
            "CustomerSmsMarketingConsentError",
            "smsMarketingConsent",
        )
    } else {
        (
            "CustomerEmailMarketingConsentUpdatePayload",
            "CustomerEmailMarketingConsentUpdateUserError",
            "emailMarketingConsent",
        )
    };
    let input = object_arg(ctx, "input");
    let consent = input
        .get(consent_key)
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default();
    let mut errors = Errors::new(error_type);
    let at = |f: &str| Some(field_path(&["input", consent_key, f], &[]));
    let Some(id) = customer_id(input.get("customerId"), shop) else {
        errors.push(
            Some(field_path(&["input", "customerId"], &[])),
            "Customer does not exist",
            Some("INVALID"),
        );
        return Ok(customer_payload(payload_type, shop, None, errors));
    };
    let customer = shop.customers.get(&id);
    let has_contact = customer.is_some_and(|c| {
        if sms {
            c.phone.is_some()
        } else {
            c.email.is_some()
        }
    });
    if !has_contact {
        errors.push(
            Some(field_path(&["input", "customerId"], &[])),
            if sms {
                "The customer has no phone number to update the SMS marketing consent of"
            } else {
                "The customer has no email address to update the email marketing consent of"
            },
            Some("INVALID"),
        );
    }
    // Only these can be set through the API; NOT_SUBSCRIBED, REDACTED and INVALID are
    // states Shopify arrives at itself.
    let state = consent
        .get("marketingState")
        .and_then(|v| v.as_str())
        .and_then(MarketingState::from_graphql)
        .filter(|s| {
            matches!(
                s,
                MarketingState::Subscribed | MarketingState::Unsubscribed | MarketingState::Pending
            )
        });
    if state.is_none() {
        errors.push(
            at("marketingState"),
            "Marketing state must be SUBSCRIBED, UNSUBSCRIBED or PENDING",
            Some("INVALID"),
        );
    }
    let now = shop.now();
    let given_at = consent.get("consentUpdatedAt").and_then(|v| v.as_str());
    let updated_at = match given_at.map(Timestamp::parse) {
        None => None,
        Some(Some(t)) if t <= now => Some(t),
        Some(Some(_)) => {
            errors.push(
                at("consentUpdatedAt"),
                "Consent updated at cannot be in the future",
                Some("INVALID"),
            );
            None
        }
        Some(None) => {
            errors.push(
                at("consentUpdatedAt"),
                "Consent updated at is invalid",
                Some("INVALID"),
            );
            None
        }
    };
    let (Some(state), Some(customer)) = (state, customer) else {
        return Ok(customer_payload(payload_type, shop, None, errors));
    };
    if !errors.is_empty() {
        return Ok(customer_payload(payload_type, shop, None, errors));
    }
    let level = consent
        .get("marketingOptInLevel")
        .and_then(|v| v.as_str())
        .and_then(MarketingOptInLevel::from_graphql)
        .unwrap_or(MarketingOptInLevel::SingleOptIn);
    let current = if sms {
        &customer.sms_consent
    } else {
        &customer.email_consent
    };
    // The same state and level again, with no new consent time, is not a change: otherwise
    // every retry would move `consentUpdatedAt` and send a webhook.
    let unchanged = current.state == state
        && current.opt_in_level == Some(level)
        && updated_at.is_none_or(|t| current.updated_at == Some(t));
    if !unchanged {
        let next = MarketingConsent {
            state,
            opt_in_level: Some(level),
            updated_at: Some(updated_at.unwrap_or(now)),
            collected_from: sms.then_some(crate::shop::ConsentCollectedFrom::Other),
        };
        if sms {
            shop.set_sms_marketing_consent(id, next)
        } else {
            shop.set_email_marketing_consent(id, next)
        }
        .map_err(internal)?;
    }
    Ok(customer_payload(payload_type, shop, Some(id), errors))
}
