//! The customer queries and mutations end to end through the pipeline, with the shop's
//! events captured to check which webhooks each call would send.

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use super::Harness;
use crate::shop::{CustomerSpec, Id, MetafieldSpec, ShopEvent, metafield_digest};

fn listen(h: &Harness) -> UnboundedReceiver<ShopEvent> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    h.shop.with(|s| s.set_event_sender(Some(tx)));
    rx
}

fn events(rx: &mut UnboundedReceiver<ShopEvent>) -> Vec<(&'static str, Id)> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| (e.topic, e.resource_id))
        .collect()
}

fn customer_gid(id: Id) -> String {
    format!("gid://shopify/Customer/{id}")
}

/// A customer with no orders, so it can be deleted.
fn fresh_customer(h: &Harness, email: &str) -> Id {
    h.shop.with(|s| {
        s.create_customer(CustomerSpec {
            email: Some(email.into()),
            first_name: Some("Ada".into()),
            phone: Some("+16135550199".into()),
            tags: vec!["Retail".into()],
            ..CustomerSpec::default()
        })
    })
}

const UPDATE: &str = r#"mutation($input: CustomerInput!) {
    customerUpdate(input: $input) {
        customer { id email firstName lastName phone note locale tags taxExempt taxExemptions
            updatedAt metafield(namespace: "crm", key: "tier") { type value } }
        userErrors { field message }
    } }"#;

#[test]
fn customer_update_sets_given_fields_and_refuses_unknown_ids_and_consent() {
    let h = Harness::new();
    let id = fresh_customer(&h, "ada@example.com");
    let mut rx = listen(&h);
    let before = h.shop.with(|s| s.customers[&id].updated_at);
    let data = h.data(
        UPDATE,
        json!({"input": {"id": customer_gid(id), "firstName": "Augusta", "lastName": "King",
            "note": "likes tea", "locale": "fr", "tags": ["vip", "VIP", "wholesale"],
            "taxExempt": true, "taxExemptions": ["CA_STATUS_CARD_EXEMPTION"],
            "metafields": [{"namespace": "crm", "key": "tier", "type": "single_line_text_field", "value": "gold"}]}}),
    );
    let p = &data["customerUpdate"];
    assert_eq!(p["userErrors"], json!([]));
    let c = &p["customer"];
    assert_eq!(c["firstName"], "Augusta");
    assert_eq!(c["email"], "ada@example.com", "fields not given stay");
    assert_eq!(c["phone"], "+16135550199");
    assert_eq!(
        c["tags"],
        json!(["vip", "wholesale"]),
        "tags are overwritten"
    );
    assert_eq!(c["taxExemptions"], json!(["CA_STATUS_CARD_EXEMPTION"]));
    assert_eq!(c["locale"], "fr");
    assert_eq!(
        c["metafield"],
        json!({"type": "single_line_text_field", "value": "gold"})
    );
    assert_eq!(
        h.shop.with(|s| s.customers[&id].updated_at),
        before.plus_secs(1)
    );
    assert_eq!(
        events(&mut rx),
        [("customers/update", id)],
        "one change, one webhook"
    );

    // The same input again changes nothing: no webhook.
    h.data(
        UPDATE,
        json!({"input": {"id": customer_gid(id), "firstName": "Augusta"}}),
    );
    assert!(events(&mut rx).is_empty());

    let unknown = h.data(
        UPDATE,
        json!({"input": {"id": customer_gid(1), "note": "x"}}),
    );
    assert_eq!(
        unknown["customerUpdate"],
        json!({"customer": null, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]})
    );
    let consent = h.data(
        UPDATE,
        json!({"input": {"id": customer_gid(id), "note": "changed",
            "emailMarketingConsent": {"marketingState": "SUBSCRIBED"}}}),
    );
    assert_eq!(
        consent["customerUpdate"]["userErrors"][0]["field"],
        json!(["emailMarketingConsent"])
    );
    let bad = h.data(
        UPDATE,
        json!({"input": {"id": customer_gid(id), "email": "not-an-email",
            "metafields": [{"namespace": "crm", "key": "tier", "value": "a\nb"}]}}),
    );
    let fields: Vec<Value> = bad["customerUpdate"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [json!(["email"]), json!(["metafields", "0", "value"])]
    );
    let c = h.shop.with(|s| s.customers[&id].clone());
    assert_eq!(
        c.note.as_deref(),
        Some("likes tea"),
        "nothing written on errors"
    );
    assert_eq!(c.email.as_deref(), Some("ada@example.com"));
    assert!(events(&mut rx).is_empty());
}

#[test]
fn customer_create_announces_and_refuses_a_taken_email() {
    let h = Harness::new();
    let mut rx = listen(&h);
    let create = r#"mutation($input: CustomerInput!) { customerCreate(input: $input) {
        customer { id email tags defaultEmailAddress { marketingState marketingOptInLevel } }
        userErrors { field message } } }"#;
    let data = h.data(
        create,
        json!({"input": {"email": "new@example.com", "firstName": "New", "tags": ["a"],
            "emailMarketingConsent": {"marketingState": "SUBSCRIBED", "marketingOptInLevel": "CONFIRMED_OPT_IN"}}}),
    );
    let p = &data["customerCreate"];
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(
        p["customer"]["defaultEmailAddress"],
        json!({"marketingState": "SUBSCRIBED", "marketingOptInLevel": "CONFIRMED_OPT_IN"})
    );
    let id: Id = crate::gid::parse_kind(p["customer"]["id"].as_str().unwrap(), "Customer").unwrap();
    assert_eq!(events(&mut rx), [("customers/create", id)]);
    let again = h.data(create, json!({"input": {"email": "NEW@example.com"}}));
    assert_eq!(
        again["customerCreate"],
        json!({"customer": null, "userErrors": [{"field": ["email"], "message": "Email has already been taken"}]})
    );
    assert!(events(&mut rx).is_empty());
}

const SET: &str = r#"mutation($identifier: CustomerSetIdentifiers, $input: CustomerSetInput!) {
    customerSet(identifier: $identifier, input: $input) {
        customer { id email firstName tags defaultAddress { city }
            metafield(namespace: "crm", key: "external_id") { value } }
        userErrors { field message code } } }"#;

#[test]
fn customer_set_upserts_and_a_custom_id_retry_creates_one_customer() {
    let h = Harness::new();
    let mut rx = listen(&h);
    let count = || h.shop.with(|s| s.customers.len());
    let before = count();
    let vars = json!({
        "identifier": {"customId": {"namespace": "crm", "key": "external_id", "value": "C-77"}},
        "input": {"email": "c77@example.com", "firstName": "Seventy", "tags": ["crm"]},
    });
    let first = h.data(SET, vars.clone());
    let p = &first["customerSet"];
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(p["customer"]["metafield"]["value"], "C-77");
    let id = crate::gid::parse_kind(p["customer"]["id"].as_str().unwrap(), "Customer").unwrap();
    assert_eq!(count(), before + 1);
    assert_eq!(events(&mut rx), [("customers/create", id)]);

    // The retry finds the customer by its metafield: no second customer, nothing changes.
    let retry = h.data(SET, vars);
    assert_eq!(
        retry["customerSet"]["customer"]["id"],
        json!(customer_gid(id))
    );
    assert_eq!(count(), before + 1);
    assert!(events(&mut rx).is_empty());

    // By email: found, updated; tags overwritten, addresses replaced.
    let by_email = h.data(
        SET,
        json!({"identifier": {"email": "c77@example.com"},
            "input": {"tags": ["b2b"], "addresses": [{"city": "Ottawa", "countryCode": "CA"}]}}),
    );
    let c = &by_email["customerSet"]["customer"];
    assert_eq!(c["id"], json!(customer_gid(id)));
    assert_eq!(c["tags"], json!(["b2b"]));
    assert_eq!(c["defaultAddress"]["city"], "Ottawa");
    assert_eq!(events(&mut rx), [("customers/update", id)]);

    // Not found by email: created with that email.
    let created = h.data(
        SET,
        json!({"identifier": {"email": "fresh@example.com"}, "input": {"firstName": "Fresh"}}),
    );
    assert_eq!(
        created["customerSet"]["customer"]["email"],
        "fresh@example.com"
    );
    assert_eq!(count(), before + 2);

    let missing = h.data(
        SET,
        json!({"identifier": {"id": customer_gid(1)}, "input": {"firstName": "X"}}),
    );
    assert_eq!(
        missing["customerSet"]["userErrors"],
        json!([{"field": ["identifier", "id"], "message": "Resource matching the identifier was not found.", "code": "NOT_FOUND"}])
    );
    let taken = h.data(
        SET,
        json!({"identifier": {"id": customer_gid(id)}, "input": {"email": "fresh@example.com"}}),
    );
    assert_eq!(taken["customerSet"]["userErrors"][0]["code"], "TAKEN");
    assert_eq!(
        taken["customerSet"]["userErrors"][0]["field"],
        json!(["input", "email"])
    );
    let mismatch = h.data(
        SET,
        json!({"identifier": {"email": "c77@example.com"}, "input": {"email": "other@example.com"}}),
    );
    assert_eq!(
        mismatch["customerSet"]["userErrors"][0]["code"],
        "INPUT_MISMATCH"
    );
    // No identifier: always a new customer.
    h.data(SET, json!({"input": {"firstName": "Anon"}}));
    assert_eq!(count(), before + 3);
    // Two identifiers break @oneOf.
    let body = h.run(
        SET,
        json!({"identifier": {"email": "c77@example.com", "phone": "+16135550100"}, "input": {}}),
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("exactly one key")
    );
}

#[test]
fn customer_by_identifier_finds_by_each_identifier() {
    let h = Harness::new();
    let id = fresh_customer(&h, "Find.Me@example.com");
    h.shop.with(|s| {
        s.set_customer_metafields(
            id,
            &[MetafieldSpec::new(
                "crm",
                "external_id",
                "single_line_text_field",
                "C-5",
            )],
        )
        .unwrap()
    });
    let q = r#"query($identifier: CustomerIdentifierInput!) {
        customerByIdentifier(identifier: $identifier) { id } }"#;
    let found = |identifier: Value| {
        h.data(q, json!({"identifier": identifier}))["customerByIdentifier"].clone()
    };
    let me = json!({"id": customer_gid(id)});
    assert_eq!(found(json!({"id": customer_gid(id)})), me);
    assert_eq!(found(json!({"emailAddress": "find.me@EXAMPLE.com"})), me);
    assert_eq!(found(json!({"phoneNumber": "+1 613-555-0199"})), me);
    assert_eq!(
        found(json!({"customId": {"namespace": "crm", "key": "external_id", "value": "C-5"}})),
        me
    );
    assert_eq!(
        found(json!({"customId": {"namespace": "crm", "key": "external_id", "value": "C-6"}})),
        Value::Null
    );
    assert_eq!(
        found(json!({"emailAddress": "nobody@example.com"})),
        Value::Null
    );
    assert_eq!(found(json!({"id": customer_gid(1)})), Value::Null);
}

const TAGS_ADD: &str = r#"mutation($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) {
    node { id ... on Customer { tags } ... on Product { tags } } userErrors { field message } } }"#;
const TAGS_REMOVE: &str = r#"mutation($id: ID!, $tags: [String!]!) { tagsRemove(id: $id, tags: $tags) {
    node { ... on Customer { tags } } userErrors { field message } } }"#;

#[test]
fn tags_add_and_remove_are_case_insensitive_and_no_ops_send_no_webhook() {
    let h = Harness::new();
    let id = fresh_customer(&h, "tags@example.com");
    let mut rx = listen(&h);
    let before = h.shop.with(|s| s.customers[&id].updated_at);
    let noop = h.data(
        TAGS_ADD,
        json!({"id": customer_gid(id), "tags": ["retail"]}),
    );
    assert_eq!(noop["tagsAdd"]["node"]["tags"], json!(["Retail"]));
    assert_eq!(noop["tagsAdd"]["userErrors"], json!([]));
    let noop = h.data(
        TAGS_REMOVE,
        json!({"id": customer_gid(id), "tags": ["absent"]}),
    );
    assert_eq!(noop["tagsRemove"]["userErrors"], json!([]));
    assert!(events(&mut rx).is_empty(), "no change, no webhook");
    assert_eq!(h.shop.with(|s| s.customers[&id].updated_at), before);

    let added = h.data(
        TAGS_ADD,
        json!({"id": customer_gid(id), "tags": ["vip", "RETAIL", "b2b"]}),
    );
    assert_eq!(
        added["tagsAdd"]["node"]["tags"],
        json!(["Retail", "vip", "b2b"])
    );
    let removed = h.data(
        TAGS_REMOVE,
        json!({"id": customer_gid(id), "tags": ["retail"]}),
    );
    assert_eq!(removed["tagsRemove"]["node"]["tags"], json!(["vip", "b2b"]));
    assert_eq!(
        events(&mut rx),
        [("customers/update", id), ("customers/update", id)]
    );

    let unknown = h.data(TAGS_ADD, json!({"id": customer_gid(1), "tags": ["x"]}));
    assert_eq!(
        unknown["tagsAdd"],
        json!({"node": null, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]})
    );
    let product = h.shop.with(|s| *s.products.keys().next().unwrap());
    let p = h.data(
        TAGS_ADD,
        json!({"id": format!("gid://shopify/Product/{product}"), "tags": ["sale"]}),
    );
    assert!(
        p["tagsAdd"]["node"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("sale"))
    );
}

const METAFIELDS_SET: &str = r#"mutation($metafields: [MetafieldsSetInput!]!) {
    metafieldsSet(metafields: $metafields) {
        metafields { id namespace key type value compareDigest owner { ... on Customer { id } } }
        userErrors { field message code elementIndex } } }"#;

fn tier(owner: Id, value: &str) -> Value {
    json!({"ownerId": customer_gid(owner), "namespace": "crm", "key": "tier",
        "type": "single_line_text_field", "value": value})
}

#[test]
fn metafields_set_writes_reads_back_and_emits_one_update_per_customer() {
    let h = Harness::new();
    let a = fresh_customer(&h, "a@example.com");
    let b = h.shop.with(|s| {
        s.create_customer(CustomerSpec {
            email: Some("b@example.com".into()),
            ..CustomerSpec::default()
        })
    });
    let mut rx = listen(&h);
    let score = json!({"ownerId": customer_gid(a), "namespace": "crm", "key": "score",
        "type": "number_integer", "value": "42"});
    let data = h.data(
        METAFIELDS_SET,
        json!({"metafields": [tier(a, "gold"), score, tier(b, "silver")]}),
    );
    let p = &data["metafieldsSet"];
    assert_eq!(p["userErrors"], json!([]));
    let written = p["metafields"].as_array().unwrap();
    assert_eq!(written.len(), 3);
    assert_eq!(written[0]["value"], "gold");
    assert_eq!(written[0]["compareDigest"], json!(metafield_digest("gold")));
    assert_eq!(written[2]["owner"]["id"], json!(customer_gid(b)));
    assert_eq!(
        events(&mut rx),
        [("customers/update", a), ("customers/update", b)]
    );

    let read = h.data(
        r#"query($id: ID!, $ids: [ID!]!) {
            customer(id: $id) { metafield(namespace: "crm", key: "tier") { value type updatedAt }
                metafields(first: 10, namespace: "crm") { nodes { key value } } }
            nodes(ids: $ids) { ... on Customer { metafield(namespace: "crm", key: "tier") { value } } }
        }"#,
        json!({"id": customer_gid(a), "ids": [customer_gid(b)]}),
    );
    assert_eq!(read["customer"]["metafield"]["value"], "gold");
    assert_eq!(
        read["customer"]["metafields"]["nodes"],
        json!([{"key": "score", "value": "42"}, {"key": "tier", "value": "gold"}])
    );
    assert_eq!(read["nodes"][0]["metafield"]["value"], "silver");

    // The same values again: no-op, no webhook.
    let again = h.data(METAFIELDS_SET, json!({"metafields": [tier(a, "gold")]}));
    assert_eq!(again["metafieldsSet"]["userErrors"], json!([]));
    assert!(events(&mut rx).is_empty());

    // compareDigest: the current digest is accepted, an old one is stale.
    let mut cas = tier(a, "platinum");
    cas["compareDigest"] = json!(metafield_digest("gold"));
    let ok = h.data(METAFIELDS_SET, json!({"metafields": [cas.clone()]}));
    assert_eq!(ok["metafieldsSet"]["userErrors"], json!([]));
    assert_eq!(events(&mut rx), [("customers/update", a)]);
    let stale = h.data(
        METAFIELDS_SET,
        json!({"metafields": [tier(b, "gold"), cas]}),
    );
    assert_eq!(
        stale["metafieldsSet"]["userErrors"],
        json!([{"field": ["metafields", "1", "compareDigest"],
            "message": "The resource has been updated since it was loaded. Try again with an updated `compareDigest` value.",
            "code": "STALE_OBJECT", "elementIndex": 1}])
    );
    assert_eq!(stale["metafieldsSet"]["metafields"], Value::Null);
    let b_tier = h.shop.with(|s| {
        s.customers[&b]
            .metafield("crm", "tier")
            .unwrap()
            .value
            .clone()
    });
    assert_eq!(
        b_tier, "silver",
        "atomic: the valid first input was not written either"
    );
    let mut must_be_new = tier(a, "x1");
    must_be_new["compareDigest"] = Value::Null;
    let exists = h.data(METAFIELDS_SET, json!({"metafields": [must_be_new]}));
    assert_eq!(
        exists["metafieldsSet"]["userErrors"][0]["code"],
        "STALE_OBJECT"
    );
    let mut malformed = tier(a, "x2");
    malformed["compareDigest"] = json!("abc");
    let bad = h.data(METAFIELDS_SET, json!({"metafields": [malformed]}));
    assert_eq!(
        bad["metafieldsSet"]["userErrors"][0]["code"],
        "INVALID_COMPARE_DIGEST"
    );
    assert!(events(&mut rx).is_empty());
}

#[test]
fn metafields_set_validates_every_input_with_its_index() {
    let h = Harness::new();
    let a = fresh_customer(&h, "v@example.com");
    let mut rx = listen(&h);
    let too_many: Vec<Value> = (0..26).map(|i| tier(a, &format!("v{i}"))).collect();
    let data = h.data(METAFIELDS_SET, json!({"metafields": too_many}));
    assert_eq!(
        data["metafieldsSet"]["userErrors"],
        json!([{"field": ["metafields"], "message": "Exceeds the maximum metafields input limit of 25.",
            "code": "LESS_THAN_OR_EQUAL_TO", "elementIndex": null}])
    );
    let exactly: Vec<Value> = (0..25)
        .map(|i| {
            json!({"ownerId": customer_gid(a), "namespace": "bulk", "key": format!("k{i}"),
            "type": "boolean", "value": "true"})
        })
        .collect();
    let ok = h.data(METAFIELDS_SET, json!({"metafields": exactly}));
    assert_eq!(ok["metafieldsSet"]["userErrors"], json!([]));
    assert_eq!(events(&mut rx), [("customers/update", a)]);

    let input = |key: &str, t: Option<&str>, value: &str| {
        // `k0`, `k1` exist (booleans, written above) in namespace "bulk".
        let namespace = if key.starts_with('k') { "bulk" } else { "crm" };
        let mut m =
            json!({"ownerId": customer_gid(a), "namespace": namespace, "key": key, "value": value});
        if let Some(t) = t {
            m["type"] = json!(t);
        }
        m
    };
    let data = h.data(
        METAFIELDS_SET,
        json!({"metafields": [
            input("ok_one", Some("single_line_text_field"), "fine"),
            input("flag", Some("boolean"), "yes"),
            input("count", Some("number_integer"), "4.5"),
            input("doc", Some("json"), "{not json"),
            input("untyped", None, "x"),
            input("k0", None, "x"),
            input("line", Some("single_line_text_field"), "two\nlines"),
            {"ownerId": customer_gid(1), "namespace": "crm", "key": "tier", "type": "boolean", "value": "true"},
            {"ownerId": customer_gid(a), "namespace": "ab", "key": "k", "type": "boolean", "value": "true"},
            input("k1", Some("json"), "{}"),
        ]}),
    );
    let errors: Vec<(Value, Value, Value)> = data["metafieldsSet"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["elementIndex"].clone(),
                e["field"].clone(),
                e["code"].clone(),
            )
        })
        .collect();
    let e = |i: usize, field: &str, code: &str| {
        (
            json!(i),
            json!(["metafields", i.to_string(), field]),
            json!(code),
        )
    };
    assert_eq!(
        errors,
        [
            e(1, "value", "INVALID_VALUE"),
            e(2, "value", "INVALID_VALUE"),
            e(3, "value", "INVALID_VALUE"),
            e(4, "type", "BLANK"),
            e(5, "value", "INVALID_VALUE"),
            e(6, "value", "INVALID_VALUE"),
            e(7, "ownerId", "INVALID"),
            e(8, "namespace", "TOO_SHORT"),
            e(8, "key", "TOO_SHORT"),
            e(9, "type", "INVALID_TYPE"),
        ],
        "k0 exists as a boolean: its type is implied, and 'x' is not a boolean; k1 is no json"
    );
    assert!(
        h.shop
            .with(|s| s.customers[&a].metafield("crm", "ok_one").is_none())
    );
    assert!(events(&mut rx).is_empty());
}

#[test]
fn tax_exemption_mutations_change_only_when_needed() {
    let h = Harness::new();
    let id = fresh_customer(&h, "tax@example.com");
    let mut rx = listen(&h);
    let m = |name: &str| {
        format!(
            r#"mutation($id: ID!, $e: [TaxExemption!]!) {{ {name}(customerId: $id, taxExemptions: $e) {{
                customer {{ taxExemptions }} userErrors {{ field message }} }} }}"#
        )
    };
    let run = |name: &str, e: Value| {
        h.data(&m(name), json!({"id": customer_gid(id), "e": e}))[name].clone()
    };
    let p = run(
        "customerAddTaxExemptions",
        json!(["CA_STATUS_CARD_EXEMPTION", "US_CA_RESELLER_EXEMPTION"]),
    );
    assert_eq!(
        p["customer"]["taxExemptions"],
        json!(["CA_STATUS_CARD_EXEMPTION", "US_CA_RESELLER_EXEMPTION"])
    );
    run(
        "customerAddTaxExemptions",
        json!(["CA_STATUS_CARD_EXEMPTION"]),
    );
    let p = run(
        "customerRemoveTaxExemptions",
        json!(["CA_STATUS_CARD_EXEMPTION"]),
    );
    assert_eq!(
        p["customer"]["taxExemptions"],
        json!(["US_CA_RESELLER_EXEMPTION"])
    );
    let p = run(
        "customerReplaceTaxExemptions",
        json!(["CA_BC_RESELLER_EXEMPTION"]),
    );
    assert_eq!(
        p["customer"]["taxExemptions"],
        json!(["CA_BC_RESELLER_EXEMPTION"])
    );
    run(
        "customerReplaceTaxExemptions",
        json!(["CA_BC_RESELLER_EXEMPTION"]),
    );
    assert_eq!(events(&mut rx).len(), 3, "the two no-ops sent nothing");
    let unknown = h.data(
        &m("customerAddTaxExemptions"),
        json!({"id": customer_gid(1), "e": []}),
    );
    assert_eq!(
        unknown["customerAddTaxExemptions"]["userErrors"],
        json!([{"field": ["customerId"], "message": "Customer does not exist"}])
    );
    // The enum is checked against the schema before execution.
    let body = h.run(
        &m("customerAddTaxExemptions"),
        json!({"id": customer_gid(id), "e": ["NOT_AN_EXEMPTION"]}),
    );
    assert!(body["errors"].is_array());
}

const EMAIL_CONSENT: &str = r#"mutation($input: CustomerEmailMarketingConsentUpdateInput!) {
    customerEmailMarketingConsentUpdate(input: $input) {
        customer { emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }
            defaultEmailAddress { marketingState marketingOptInLevel marketingUpdatedAt } }
        userErrors { field message code } } }"#;

#[test]
fn email_and_sms_consent_updates_announce_both_topics_and_refuse_other_states() {
    let h = Harness::new();
    let id = fresh_customer(&h, "consent@example.com");
    let mut rx = listen(&h);
    let consent = |state: &str| {
        json!({"input": {"customerId": customer_gid(id), "emailMarketingConsent": {
            "marketingState": state, "marketingOptInLevel": "SINGLE_OPT_IN",
            "consentUpdatedAt": "2026-01-01T00:00:00Z"}}})
    };
    let data = h.data(EMAIL_CONSENT, consent("SUBSCRIBED"));
    let p = &data["customerEmailMarketingConsentUpdate"];
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(
        p["customer"]["defaultEmailAddress"],
        json!({"marketingState": "SUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN",
            "marketingUpdatedAt": "2026-01-01T00:00:00Z"})
    );
    assert_eq!(
        events(&mut rx),
        [
            ("customers/update", id),
            ("customers_email_marketing_consent/update", id)
        ]
    );
    h.data(EMAIL_CONSENT, consent("SUBSCRIBED"));
    assert!(
        events(&mut rx).is_empty(),
        "the same consent again is no change"
    );

    let refused = h.data(EMAIL_CONSENT, consent("NOT_SUBSCRIBED"));
    let p = &refused["customerEmailMarketingConsentUpdate"];
    assert_eq!(p["customer"], Value::Null);
    assert_eq!(p["userErrors"][0]["code"], "INVALID");
    assert_eq!(
        p["userErrors"][0]["field"],
        json!(["input", "emailMarketingConsent", "marketingState"])
    );
    assert!(h.shop.with(|s| s.customers[&id].accepts_marketing()));

    let no_email = h.shop.with(|s| {
        s.create_customer(CustomerSpec {
            first_name: Some("Nomail".into()),
            ..CustomerSpec::default()
        })
    });
    events(&mut rx);
    let mut vars = consent("SUBSCRIBED");
    vars["input"]["customerId"] = json!(customer_gid(no_email));
    let p = h.data(EMAIL_CONSENT, vars)["customerEmailMarketingConsentUpdate"].clone();
    assert_eq!(p["userErrors"][0]["field"], json!(["input", "customerId"]));
    assert!(events(&mut rx).is_empty());

    let sms = h.data(
        r#"mutation($input: CustomerSmsMarketingConsentUpdateInput!) {
            customerSmsMarketingConsentUpdate(input: $input) {
                customer { defaultPhoneNumber { marketingState
                    smsMarketingConsent { state optInLevel collectedFrom } }
                    smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt consentCollectedFrom } }
                userErrors { field message code } } }"#,
        json!({"input": {"customerId": customer_gid(id), "smsMarketingConsent": {"marketingState": "SUBSCRIBED"}}}),
    );
    let p = &sms["customerSmsMarketingConsentUpdate"];
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(
        p["customer"]["defaultPhoneNumber"],
        json!({"marketingState": "SUBSCRIBED", "smsMarketingConsent":
            {"state": "SUBSCRIBED", "optInLevel": "SINGLE_OPT_IN", "collectedFrom": "OTHER"}})
    );
    assert_eq!(
        p["customer"]["smsMarketingConsent"]["consentCollectedFrom"],
        "OTHER"
    );
    assert_eq!(
        events(&mut rx),
        [
            ("customers/update", id),
            ("customers_marketing_consent/update", id)
        ]
    );
}

#[test]
fn customer_delete_removes_and_renders_the_documented_payload() {
    let h = Harness::new();
    let id = fresh_customer(&h, "bye@example.com");
    let with_orders = h
        .shop
        .with(|s| s.orders.values().find_map(|o| o.customer_id).unwrap());
    let mut rx = listen(&h);
    let delete = r#"mutation($id: ID!) { customerDelete(input: {id: $id}) {
        deletedCustomerId shop { name } userErrors { field message } } }"#;
    let data = h.data(delete, json!({"id": customer_gid(id)}));
    assert_eq!(
        data["customerDelete"]["deletedCustomerId"],
        json!(customer_gid(id))
    );
    assert_eq!(data["customerDelete"]["userErrors"], json!([]));
    assert_eq!(events(&mut rx), [("customers/delete", id)]);
    let payload = h
        .shop
        .with(|s| crate::rest::render_topic(s, "customers/delete", id))
        .unwrap();
    assert_eq!(
        payload,
        json!({"id": id, "tax_exemptions": [], "admin_graphql_api_id": customer_gid(id)})
    );
    let gone = h.data(
        r#"query($id: ID!) { customer(id: $id) { id } }"#,
        json!({"id": customer_gid(id)}),
    );
    assert_eq!(gone["customer"], Value::Null);
    let again = h.data(delete, json!({"id": customer_gid(id)}));
    assert_eq!(again["customerDelete"]["deletedCustomerId"], Value::Null);
    assert_eq!(
        again["customerDelete"]["userErrors"][0]["field"],
        json!(["id"])
    );
    let refused = h.data(delete, json!({"id": customer_gid(with_orders)}));
    assert!(
        refused["customerDelete"]["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("existing orders")
    );
    assert!(events(&mut rx).is_empty());
}

#[test]
fn customer_mutations_cost_ten_points_and_search_finds_by_email_or_updated_at() {
    let h = Harness::new();
    let id = fresh_customer(&h, "cost@example.com");
    let body = h.run(TAGS_ADD, json!({"id": customer_gid(id), "tags": ["x"]}));
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 10);
    assert_eq!(body["extensions"]["cost"]["actualQueryCost"], 10);
    let body = h.run(
        r#"mutation($id: ID!) { a: tagsAdd(id: $id, tags: ["y"]) { userErrors { message } }
            b: tagsRemove(id: $id, tags: ["y"]) { userErrors { message } } }"#,
        json!({"id": customer_gid(id)}),
    );
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 20);

    let search = |q: &str| -> Vec<String> {
        h.data(
            r#"query($q: String) { customers(first: 50, query: $q) { nodes { email } } }"#,
            json!({"q": q}),
        )["customers"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["email"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(search(r#"email:"cost@example.com""#), ["cost@example.com"]);
    let other = h.shop.with(|s| {
        s.customers
            .values()
            .find(|c| c.id != id)
            .and_then(|c| c.email.clone())
            .unwrap()
    });
    let mut both = search(&format!(r#"email:"cost@example.com" OR email:'{other}'"#));
    both.sort();
    let mut want = vec!["cost@example.com".to_string(), other];
    want.sort();
    assert_eq!(both, want);
    // Only the customer changed after the seed's clock moved on.
    let cut = h.shop.with(|s| s.customers[&id].updated_at.plus_secs(-1));
    h.shop.with(|s| s.advance_clock(10));
    h.data(TAGS_ADD, json!({"id": customer_gid(id), "tags": ["later"]}));
    let changed = search(&format!("updated_at:>'{}'", cut.plus_secs(5).to_rfc3339()));
    assert_eq!(changed, ["cost@example.com"]);
}

#[test]
fn webhook_subscriptions_accept_the_customer_topics() {
    let h = Harness::new();
    let create = r#"mutation($topic: WebhookSubscriptionTopic!) {
        webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: "https://example.com/c", format: JSON}) {
            webhookSubscription { topic } userErrors { message } } }"#;
    for (topic, rest) in [
        ("CUSTOMERS_CREATE", "customers/create"),
        ("CUSTOMERS_UPDATE", "customers/update"),
        ("CUSTOMERS_DELETE", "customers/delete"),
        ("CUSTOMERS_ENABLE", "customers/enable"),
        ("CUSTOMERS_DISABLE", "customers/disable"),
        ("CUSTOMERS_MERGE", "customers/merge"),
        (
            "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE",
            "customers_email_marketing_consent/update",
        ),
        (
            "CUSTOMERS_MARKETING_CONSENT_UPDATE",
            "customers_marketing_consent/update",
        ),
    ] {
        let data = h.data(create, json!({"topic": topic}));
        assert_eq!(
            data["webhookSubscriptionCreate"]["webhookSubscription"]["topic"],
            topic
        );
        assert_eq!(
            h.shop.with(|s| s.subscriptions_for(rest).count()),
            1,
            "{rest}"
        );
    }
}

/// What the daemon's customers flow selects of a customer (its `CustomerFields` fragment), by
/// `nodes(ids:)`: every field resolves, a deleted customer is null.
#[test]
fn the_customers_flow_fragment_resolves_through_nodes() {
    let h = Harness::new();
    let id = fresh_customer(&h, "frag@example.com");
    let deleted = fresh_customer(&h, "gone@example.com");
    h.shop.with(|s| {
        s.set_customer_metafields(
            id,
            &[MetafieldSpec::new(
                "crm",
                "tier",
                "single_line_text_field",
                "gold",
            )],
        )
        .unwrap();
        s.update_customer(id, |c| {
            c.default_address = Some(crate::shop::Address {
                city: Some("Ottawa".into()),
                country_code: Some("CA".into()),
                ..Default::default()
            })
        })
        .unwrap();
        s.delete_customer(deleted).unwrap();
    });
    let query = r#"query CustomersById($ids: [ID!]!) {
        nodes(ids: $ids) { ... on Customer { ...CustomerFields } } }
    fragment CustomerFields on Customer {
        id legacyResourceId firstName lastName locale note state tags taxExempt taxExemptions
        createdAt updatedAt numberOfOrders amountSpent { amount currencyCode }
        defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }
        defaultPhoneNumber { phoneNumber smsMarketingConsent { state optInLevel updatedAt } }
        addressesV2(first: 10) { nodes { id firstName lastName company address1 address2 city
            province provinceCode zip country countryCodeV2 phone } }
        metafields(first: 50) { nodes { namespace key type value compareDigest } }
    }"#;
    let data = h.data(
        query,
        json!({"ids": [customer_gid(id), customer_gid(deleted)]}),
    );
    let c = &data["nodes"][0];
    assert_eq!(c["numberOfOrders"], "0");
    assert_eq!(c["state"], "ENABLED");
    assert_eq!(
        c["defaultEmailAddress"],
        json!({"emailAddress": "frag@example.com", "marketingState": "NOT_SUBSCRIBED",
            "marketingOptInLevel": null, "marketingUpdatedAt": null})
    );
    assert_eq!(
        c["defaultPhoneNumber"]["smsMarketingConsent"],
        json!({"state": "NEVER_SUBSCRIBED", "optInLevel": null, "updatedAt": null})
    );
    assert_eq!(c["addressesV2"]["nodes"][0]["city"], "Ottawa");
    assert_eq!(c["addressesV2"]["nodes"][0]["countryCodeV2"], "CA");
    assert_eq!(
        c["metafields"]["nodes"],
        json!([{"namespace": "crm", "key": "tier", "type": "single_line_text_field",
            "value": "gold", "compareDigest": metafield_digest("gold")}])
    );
    assert_eq!(data["nodes"][1], Value::Null);
}
