//! The product queries and mutations end to end through the pipeline, with the shop's events
//! captured to check which webhooks each call would send.

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use super::Harness;
use crate::shop::{Id, MediaStatus, Merch, ShopEvent, topics};

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

fn product_gid(id: Id) -> String {
    format!("gid://shopify/Product/{id}")
}

fn id_of(gid: &Value, kind: &str) -> Id {
    crate::gid::parse_kind(gid.as_str().unwrap(), kind).unwrap()
}

const SET: &str = r#"mutation($identifier: ProductSetIdentifiers, $input: ProductSetInput!, $sync: Boolean) {
    productSet(identifier: $identifier, input: $input, synchronous: $sync) {
        product { id handle title descriptionHtml description tags status
            seo { title description } category { id name }
            options { name position optionValues { name } values }
            variantsCount { count precision }
            variants(first: 250) { nodes { id sku price compareAtPrice barcode inventoryPolicy position title
                selectedOptions { name value }
                inventoryItem { id sku tracked unitCost { amount currencyCode } measurement { weight { value unit } } } } }
            metafield(namespace: "pim", key: "external_id") { value }
            media(first: 10) { nodes { ... on MediaImage { id alt status mediaContentType
                mediaErrors { code message details } originalSource { url } image { url } } } }
            collections(first: 5) { nodes { handle title } }
            resourcePublications(first: 5) { nodes { isPublished publication { name } } } }
        productSetOperation { id status product { id } }
        userErrors { field message code }
    } }"#;

/// A PIM-like product: sizes × colours, each variant priced, with images.
fn input(handle: &str, sizes: &[&str], colours: &[&str], images: &[&str]) -> Value {
    let mut variants = Vec::new();
    for c in colours {
        for s in sizes {
            variants.push(json!({
                "optionValues": [{"optionName": "Size", "name": s}, {"optionName": "Colour", "name": c}],
                "sku": format!("{handle}-{s}-{c}"),
                "price": "19.99",
                "barcode": format!("BC-{s}-{c}"),
                "inventoryPolicy": "DENY",
                "inventoryItem": {"cost": "7.50", "tracked": true,
                    "measurement": {"weight": {"value": 0.2, "unit": "KILOGRAMS"}}},
            }));
        }
    }
    json!({
        "handle": handle,
        "title": "Red shirt",
        "descriptionHtml": "<p>A <b>red</b> shirt.</p>",
        "vendor": "Acme",
        "productType": "Shirt",
        "status": "ACTIVE",
        "tags": ["summer", "pim"],
        "category": "gid://shopify/TaxonomyCategory/aa-1",
        "seo": {"title": "Red shirt | Demo"},
        "productOptions": [
            {"name": "Size", "values": sizes.iter().map(|s| json!({"name": s})).collect::<Vec<_>>()},
            {"name": "Colour", "values": colours.iter().map(|c| json!({"name": c})).collect::<Vec<_>>()},
        ],
        "variants": variants,
        "metafields": [{"namespace": "pim", "key": "external_id", "type": "single_line_text_field", "value": handle.to_uppercase()}],
        "files": images.iter().map(|u| json!({"originalSource": u, "alt": "Red shirt", "contentType": "IMAGE"})).collect::<Vec<_>>(),
    })
}

fn variant_ids(p: &Value) -> Vec<(String, String)> {
    p["variants"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["title"].as_str().unwrap().to_string(),
                v["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn product_set_creates_then_replaces_variants_keeping_the_ids_of_those_kept() {
    let h = Harness::new();
    let mut rx = listen(&h);
    let first = h.data(
        SET,
        json!({"input": input("red-shirt", &["S", "M", "L"], &["Red"], &["https://cdn.example.com/red.jpg"])}),
    );
    let p = &first["productSet"];
    assert_eq!(p["userErrors"], json!([]));
    let product = &p["product"];
    let id = id_of(&product["id"], "Product");
    assert_eq!(product["handle"], "red-shirt");
    assert_eq!(product["description"], "A red shirt.");
    assert_eq!(
        product["category"],
        json!({"id": "gid://shopify/TaxonomyCategory/aa-1", "name": "Clothing"})
    );
    assert_eq!(
        product["seo"],
        json!({"title": "Red shirt | Demo", "description": null})
    );
    assert_eq!(
        product["options"][1],
        json!({"name": "Colour", "position": 2, "optionValues": [{"name": "Red"}], "values": ["Red"]})
    );
    assert_eq!(
        product["variantsCount"],
        json!({"count": 3, "precision": "EXACT"})
    );
    let v0 = &product["variants"]["nodes"][0];
    assert_eq!(v0["title"], "S / Red");
    assert_eq!(
        v0["selectedOptions"],
        json!([{"name": "Size", "value": "S"}, {"name": "Colour", "value": "Red"}])
    );
    assert_eq!(v0["inventoryItem"]["sku"], "red-shirt-S-Red");
    assert_eq!(
        v0["inventoryItem"]["unitCost"],
        json!({"amount": "7.5", "currencyCode": "USD"})
    );
    assert_eq!(
        v0["inventoryItem"]["measurement"]["weight"],
        json!({"value": 0.2, "unit": "KILOGRAMS"})
    );
    assert_eq!(product["metafield"]["value"], "RED-SHIRT");
    assert_eq!(product["media"]["nodes"][0]["status"], "READY");
    assert_eq!(
        product["resourcePublications"]["nodes"],
        json!([{"isPublished": true, "publication": {"name": "Online Store"}}])
    );
    assert_eq!(events(&mut rx), [(topics::PRODUCTS_CREATE, id)]);
    let created = variant_ids(product);
    let item_of_l = h.shop.with(|s| {
        s.variant_by_sku("red-shirt-L-Red")
            .map(|v| v.inventory_item_id)
            .unwrap()
    });
    let levels = h.shop.with(|s| s.inventory_levels.len());

    // The same input again: the same variants (by option values), and still an update.
    let again = h.data(
        SET,
        json!({"identifier": {"handle": "red-shirt"},
            "input": input("red-shirt", &["S", "M", "L"], &["Red"], &["https://cdn.example.com/red.jpg"])}),
    );
    let again_product = &again["productSet"]["product"];
    assert_eq!(variant_ids(again_product), created);
    assert_eq!(
        again_product["media"]["nodes"], product["media"]["nodes"],
        "the image is kept"
    );
    assert_eq!(events(&mut rx), [(topics::PRODUCTS_UPDATE, id)]);

    // L dropped: exactly that variant goes, with its inventory item and levels.
    let dropped = h.data(
        SET,
        json!({"identifier": {"id": product_gid(id)},
            "input": input("red-shirt", &["S", "M"], &["Red"], &[])}),
    );
    let p = &dropped["productSet"]["product"];
    assert_eq!(dropped["productSet"]["userErrors"], json!([]));
    assert_eq!(variant_ids(p), created[..2].to_vec());
    assert_eq!(p["options"][0]["values"], json!(["S", "M"]));
    assert_eq!(
        p["media"]["nodes"],
        json!([]),
        "files given empty: media removed"
    );
    h.shop.with(|s| {
        assert!(s.variant_by_sku("red-shirt-L-Red").is_none());
        assert!(!s.inventory_items.contains_key(&item_of_l));
        assert_eq!(s.inventory_levels.len(), levels - s.locations.len());
        assert!(s.media.is_empty() || s.media.values().all(|m| m.product_id != id));
    });
    assert_eq!(events(&mut rx), [(topics::PRODUCTS_UPDATE, id)]);

    // Scalars omitted stay; a variant addressed by id changes in place.
    let s_id = &created[0].1;
    let only_price = h.data(
        SET,
        json!({"identifier": {"id": product_gid(id)}, "input": {
            "productOptions": [{"name": "Size", "values": [{"name": "S"}]}, {"name": "Colour", "values": [{"name": "Red"}]}],
            "variants": [{"id": s_id, "optionValues": [{"optionName": "Size", "name": "S"}, {"optionName": "Colour", "name": "Red"}], "price": "25.00"}]}}),
    );
    let p = &only_price["productSet"]["product"];
    assert_eq!(p["title"], "Red shirt");
    assert_eq!(p["tags"], json!(["summer", "pim"]));
    assert_eq!(variant_ids(p), created[..1].to_vec());
    assert_eq!(p["variants"]["nodes"][0]["price"], "25.00");
    assert_eq!(
        p["variants"]["nodes"][0]["sku"], "red-shirt-S-Red",
        "not given: unchanged"
    );
}

#[test]
fn custom_id_finds_the_product_by_its_metafield() {
    let h = Harness::new();
    let custom = json!({"customId": {"namespace": "pim", "key": "external_id", "value": "PIM-7"}});
    let mut body = input("pim-7", &["S"], &["Red"], &[]);
    body["metafields"][0]["value"] = json!("PIM-7");
    let count = || h.shop.with(|s| s.products.len());
    let before = count();
    let first = h.data(SET, json!({"identifier": custom, "input": body}));
    let id = id_of(&first["productSet"]["product"]["id"], "Product");
    assert_eq!(count(), before + 1);
    let second = h.data(SET, json!({"identifier": custom, "input": body}));
    assert_eq!(id_of(&second["productSet"]["product"]["id"], "Product"), id);
    assert_eq!(
        count(),
        before + 1,
        "found by the custom id, not created again"
    );

    let q = r#"query($identifier: ProductIdentifierInput!) { productByIdentifier(identifier: $identifier) { id handle } }"#;
    let found = |identifier: Value| {
        h.data(q, json!({"identifier": identifier}))["productByIdentifier"].clone()
    };
    let me = json!({"id": product_gid(id), "handle": "pim-7"});
    assert_eq!(found(custom.clone()), me);
    assert_eq!(found(json!({"handle": "pim-7"})), me);
    assert_eq!(found(json!({"id": product_gid(id)})), me);
    assert_eq!(
        found(json!({"customId": {"namespace": "pim", "key": "external_id", "value": "PIM-8"}})),
        Value::Null
    );
    // Without a namespace, `$app` is meant: this metafield is in `pim`.
    assert_eq!(
        found(json!({"customId": {"key": "external_id", "value": "PIM-7"}})),
        Value::Null
    );
}

#[test]
fn user_errors_leave_the_shop_unchanged() {
    let h = Harness::new();
    let mut rx = listen(&h);
    let snapshot = || {
        h.shop.with(|s| {
            (
                s.products.clone(),
                s.variants.clone(),
                s.inventory_items.len(),
                s.inventory_levels.len(),
            )
        })
    };
    let before = snapshot();
    let code = |vars: Value| -> Value {
        let data = h.data(SET, vars);
        assert_eq!(data["productSet"]["product"], Value::Null);
        data["productSet"]["userErrors"][0].clone()
    };
    // The seed has a `classic-tee`.
    let taken = code(json!({"input": input("classic-tee", &["S"], &["Red"], &[])}));
    assert_eq!(taken["code"], "HANDLE_NOT_UNIQUE");
    assert_eq!(taken["field"], json!(["input", "handle"]));

    let mut four = input("four", &["S"], &["Red"], &[]);
    four["productOptions"] = json!([
        {"name": "A", "values": [{"name": "1"}]}, {"name": "B", "values": [{"name": "1"}]},
        {"name": "C", "values": [{"name": "1"}]}, {"name": "D", "values": [{"name": "1"}]}]);
    assert_eq!(code(json!({"input": four}))["code"], "OPTIONS_OVER_LIMIT");

    let other_variant = h.shop.with(|s| {
        format!(
            "gid://shopify/ProductVariant/{}",
            s.variant_by_sku("SKU-0002-BLA").unwrap().id
        )
    });
    let target = h
        .shop
        .with(|s| s.product_by_handle("classic-tee").unwrap().id);
    let mut foreign = input("classic-tee", &["S"], &["Red"], &[]);
    foreign["variants"][0]["id"] = json!(other_variant);
    let invalid = code(json!({"identifier": {"id": product_gid(target)}, "input": foreign}));
    assert_eq!(invalid["code"], "INVALID_VARIANT");
    assert_eq!(invalid["field"], json!(["input", "variants", "0", "id"]));

    let mut unknown_value = input("fresh", &["S"], &["Red"], &[]);
    unknown_value["variants"][0]["optionValues"][0]["name"] = json!("XXL");
    assert_eq!(
        code(json!({"input": unknown_value}))["code"],
        "OPTION_VALUE_DOES_NOT_EXIST"
    );

    let mut missing_option = input("fresh", &["S"], &["Red"], &[]);
    missing_option["variants"][0]["optionValues"] = json!([{"optionName": "Size", "name": "S"}]);
    assert_eq!(
        code(json!({"input": missing_option}))["code"],
        "INVALID_VARIANT"
    );

    let mut twice = input("fresh", &["S"], &["Red"], &[]);
    let v = twice["variants"][0].clone();
    twice["variants"] = json!([v.clone(), v]);
    assert_eq!(code(json!({"input": twice}))["code"], "DUPLICATED_VALUE");

    let mut no_options = input("fresh", &["S"], &["Red"], &[]);
    no_options.as_object_mut().unwrap().remove("productOptions");
    assert_eq!(
        code(json!({"input": no_options}))["code"],
        "PRODUCT_OPTIONS_INPUT_MISSING"
    );

    let missing = code(json!({"identifier": {"id": product_gid(1)}, "input": {"title": "x"}}));
    assert_eq!(
        (missing["code"].clone(), missing["field"].clone()),
        (json!("NOT_FOUND"), json!(["identifier", "id"]))
    );

    assert_eq!(snapshot(), before);
    assert!(events(&mut rx).is_empty());
}

#[test]
fn more_than_2048_variants_are_refused() {
    let h = Harness::new();
    let sizes: Vec<String> = (0..2049).map(|i| format!("S{i}")).collect();
    let sizes: Vec<&str> = sizes.iter().map(String::as_str).collect();
    let mut many = input("many", &sizes, &["Red"], &[]);
    many["productOptions"][0]["values"] = json!([{"name": "S0"}]);
    let data = h.data(SET, json!({"input": many}));
    assert_eq!(
        data["productSet"]["userErrors"][0]["code"],
        "VARIANTS_OVER_LIMIT"
    );
}

#[test]
fn an_asynchronous_product_set_is_active_then_complete() {
    let h = Harness::new();
    let data = h.data(
        SET,
        json!({"sync": false, "input": input("async-shirt", &["S", "M"], &["Red"], &[])}),
    );
    let p = &data["productSet"];
    assert_eq!(p["product"], Value::Null);
    assert_eq!(p["productSetOperation"]["status"], "CREATED");
    assert_eq!(p["productSetOperation"]["product"], Value::Null);
    let op = p["productSetOperation"]["id"].clone();
    let q = r#"query($id: ID!) { productOperation(id: $id) {
        ... on ProductSetOperation { id status product { handle variantsCount { count } } userErrors { code } } } }"#;
    let first = h.data(q, json!({"id": op}));
    assert_eq!(first["productOperation"]["status"], "ACTIVE");
    assert_eq!(first["productOperation"]["product"], Value::Null);
    let second = h.data(q, json!({"id": op}));
    assert_eq!(
        second["productOperation"],
        json!({"id": op, "status": "COMPLETE", "product": {"handle": "async-shirt", "variantsCount": {"count": 2}}, "userErrors": []})
    );

    // A failed operation applies nothing and reports its errors when complete.
    let count = h.shop.with(|s| s.products.len());
    let bad = h.data(
        SET,
        json!({"sync": false, "input": input("classic-tee", &["S"], &["Red"], &[])}),
    );
    let op = bad["productSet"]["productSetOperation"]["id"].clone();
    h.data(q, json!({"id": op}));
    let done = h.data(q, json!({"id": op}));
    assert_eq!(done["productOperation"]["status"], "COMPLETE");
    assert_eq!(done["productOperation"]["product"], Value::Null);
    assert_eq!(
        done["productOperation"]["userErrors"],
        json!([{"code": "HANDLE_NOT_UNIQUE"}])
    );
    assert_eq!(h.shop.with(|s| s.products.len()), count);
}

#[test]
fn a_broken_image_fails_with_a_media_error() {
    let h = Harness::new();
    let data = h.data(
        SET,
        json!({"input": input("pictures", &["S"], &["Red"], &[
            "https://cdn.example.com/pim/1/0.jpg", "https://cdn.example.com/broken/1.jpg"])}),
    );
    let media = data["productSet"]["product"]["media"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(media.len(), 2);
    assert_eq!(media[0]["status"], "READY");
    assert_eq!(
        media[0]["image"]["url"],
        "https://cdn.example.com/pim/1/0.jpg"
    );
    assert_eq!(media[1]["status"], "FAILED");
    assert_eq!(media[1]["mediaContentType"], "IMAGE");
    assert_eq!(media[1]["image"], Value::Null);
    assert_eq!(
        media[1]["originalSource"]["url"],
        "https://cdn.example.com/broken/1.jpg"
    );
    assert_eq!(
        media[1]["mediaErrors"],
        json!([{"code": "IMAGE_DOWNLOAD_FAILURE",
            "message": "Image could not be downloaded from https://cdn.example.com/broken/1.jpg",
            "details": null}])
    );
    // A share of failures makes the same URL fail every time.
    h.shop.with(|s| s.media_fetch_failure = 1.0);
    let again = h.data(
        SET,
        json!({"input": input("pictures-2", &["S"], &["Red"], &["https://cdn.example.com/pim/2/0.jpg"])}),
    );
    assert_eq!(
        again["productSet"]["product"]["media"]["nodes"][0]["status"],
        "FAILED"
    );
    assert!(
        h.shop
            .with(|s| s.media.values().any(|m| m.status == MediaStatus::Failed))
    );
}

#[test]
fn product_set_costs_by_variants_files_and_metafields() {
    let h = Harness::new();
    let sizes: Vec<String> = (0..50).map(|i| format!("S{i}")).collect();
    let sizes: Vec<&str> = sizes.iter().map(String::as_str).collect();
    let images = [
        "https://cdn.example.com/a.jpg",
        "https://cdn.example.com/b.jpg",
        "https://cdn.example.com/c.jpg",
    ];
    let mut body = input("costly", &sizes, &["Red", "Blue"], &images);
    body.as_object_mut().unwrap().remove("metafields");
    let out = h.run(SET, json!({"input": body}));
    assert_eq!(out["data"]["productSet"]["userErrors"], json!([]));
    // 10 + ⌈0.2 × 100 + 1.9 × 3⌉ = 10 + ⌈25.7⌉.
    assert_eq!(out["extensions"]["cost"]["requestedQueryCost"], 36);
    assert_eq!(out["extensions"]["cost"]["actualQueryCost"], 36);
}

#[test]
fn the_products_update_webhook_renders_the_new_data() {
    let h = Harness::new();
    let mut rx = listen(&h);
    let data = h.data(
        SET,
        json!({"input": input("hook-shirt", &["S", "M"], &["Red", "Blue"], &["https://cdn.example.com/h.jpg"])}),
    );
    let id = id_of(&data["productSet"]["product"]["id"], "Product");
    h.data(
        SET,
        json!({"identifier": {"id": product_gid(id)}, "input": {"tags": ["a", "b"]}}),
    );
    let got = events(&mut rx);
    assert_eq!(
        got,
        [(topics::PRODUCTS_CREATE, id), (topics::PRODUCTS_UPDATE, id)]
    );
    let payload = h
        .shop
        .with(|s| crate::rest::render_topic(s, topics::PRODUCTS_UPDATE, id))
        .unwrap();
    assert_eq!(payload["id"], json!(id));
    assert_eq!(payload["tags"], "a, b");
    assert_eq!(payload["body_html"], "<p>A <b>red</b> shirt.</p>");
    assert_eq!(payload["handle"], "hook-shirt");
    let options = payload["options"].as_array().unwrap();
    assert_eq!(options[0]["name"], "Size");
    assert_eq!(options[0]["values"], json!(["S", "M"]));
    assert_eq!(options[1]["product_id"], json!(id));
    let variants = payload["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4);
    assert_eq!(
        (
            variants[0]["option1"].clone(),
            variants[0]["option2"].clone()
        ),
        (json!("S"), json!("Red"))
    );
    assert_eq!(variants[0]["option3"], Value::Null);
    assert_eq!(variants[0]["sku"], "hook-shirt-S-Red");
    assert_eq!(variants[0]["price"], "19.99");
    assert_eq!(variants[0]["barcode"], "BC-S-Red");
    assert!(variants[0]["inventory_item_id"].is_u64());
    assert_eq!(payload["variant_gids"].as_array().unwrap().len(), 4);
    assert_eq!(payload["images"][0]["src"], "https://cdn.example.com/h.jpg");
    assert_eq!(payload["media"][0]["status"], "ready");
    assert_eq!(payload["image"]["src"], "https://cdn.example.com/h.jpg");

    // More than 100 variants: the first 100 in full, all in variant_gids.
    let sizes: Vec<String> = (0..105).map(|i| format!("S{i}")).collect();
    let sizes: Vec<&str> = sizes.iter().map(String::as_str).collect();
    let big = h.data(
        SET,
        json!({"input": input("big-shirt", &sizes, &["Red"], &[])}),
    );
    let big = id_of(&big["productSet"]["product"]["id"], "Product");
    let payload = h
        .shop
        .with(|s| crate::rest::render_topic(s, topics::PRODUCTS_CREATE, big))
        .unwrap();
    assert_eq!(payload["variants"].as_array().unwrap().len(), 100);
    assert_eq!(payload["variant_gids"].as_array().unwrap().len(), 105);
}

#[test]
fn product_create_then_variants_bulk_create_and_update() {
    let h = Harness::new();
    let mut rx = listen(&h);
    let create = r#"mutation($product: ProductCreateInput!, $media: [CreateMediaInput!]) {
        productCreate(product: $product, media: $media) {
            product { id handle variants(first: 10) { nodes { id title price } } media(first: 5) { nodes { status } } }
            userErrors { field message } } }"#;
    let data = h.data(
        create,
        json!({"product": {"title": "Naive Shirt", "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}, {"name": "L"}]}]},
            "media": [{"originalSource": "https://cdn.example.com/n.jpg", "mediaContentType": "IMAGE"}]}),
    );
    let p = &data["productCreate"]["product"];
    assert_eq!(data["productCreate"]["userErrors"], json!([]));
    assert_eq!(p["handle"], "naive-shirt");
    let variants = p["variants"]["nodes"].as_array().unwrap();
    assert_eq!(
        variants.len(),
        1,
        "only the first option value gets a variant"
    );
    assert_eq!(variants[0]["title"], "S");
    assert_eq!(variants[0]["price"], "0.00");
    assert_eq!(p["media"]["nodes"], json!([{"status": "READY"}]));
    let id = id_of(&p["id"], "Product");
    assert_eq!(events(&mut rx), [(topics::PRODUCTS_CREATE, id)]);

    let bulk = r#"mutation($id: ID!, $variants: [ProductVariantsBulkInput!]!) {
        productVariantsBulkCreate(productId: $id, variants: $variants) {
            product { variantsCount { count } options { values } }
            productVariants { title sku price inventoryItem { sku } }
            userErrors { field message code } } }"#;
    let variant = |size: &str| {
        json!({"optionValues": [{"optionName": "Size", "name": size}],
        "price": "12.00", "inventoryItem": {"sku": format!("NAIVE-{size}")}})
    };
    let made = h.data(
        bulk,
        json!({"id": product_gid(id), "variants": [variant("M"), variant("L"), variant("XL")]}),
    );
    let out = &made["productVariantsBulkCreate"];
    assert_eq!(out["userErrors"], json!([]));
    assert_eq!(out["product"]["variantsCount"]["count"], 4);
    assert_eq!(
        out["product"]["options"][0]["values"],
        json!(["S", "M", "L", "XL"])
    );
    assert_eq!(
        out["productVariants"][0],
        json!({"title": "M", "sku": "NAIVE-M", "price": "12.00", "inventoryItem": {"sku": "NAIVE-M"}})
    );
    assert_eq!(events(&mut rx), [(topics::PRODUCTS_UPDATE, id)]);
    let dup = h.data(
        bulk,
        json!({"id": product_gid(id), "variants": [variant("S")]}),
    );
    assert_eq!(
        dup["productVariantsBulkCreate"]["userErrors"][0]["code"],
        "VARIANT_ALREADY_EXISTS"
    );
    assert!(events(&mut rx).is_empty());

    let s_variant = variants[0]["id"].clone();
    let update = r#"mutation($id: ID!, $variants: [ProductVariantsBulkInput!]!) {
        productVariantsBulkUpdate(productId: $id, variants: $variants) {
            productVariants { id price barcode } userErrors { field code } } }"#;
    let updated = h.data(update, json!({"id": product_gid(id), "variants": [{"id": s_variant, "price": "9.50", "barcode": "123"}]}));
    assert_eq!(
        updated["productVariantsBulkUpdate"],
        json!({"productVariants": [{"id": s_variant, "price": "9.50", "barcode": "123"}], "userErrors": []})
    );
    let missing = h.data(
        update,
        json!({"id": product_gid(id), "variants": [{"price": "1.00"}]}),
    );
    assert_eq!(
        missing["productVariantsBulkUpdate"]["userErrors"][0]["code"],
        "PRODUCT_VARIANT_ID_MISSING"
    );

    let upd = r#"mutation($product: ProductUpdateInput!) { productUpdate(product: $product) {
        product { title tags collections(first: 5) { nodes { handle } } } userErrors { field message } } }"#;
    let summer = h
        .shop
        .with(|s| s.collection_by_handle("summer").unwrap().id);
    let changed = h.data(
        upd,
        json!({"product": {"id": product_gid(id), "title": "Naive Shirt 2",
        "tags": ["x"], "collectionsToJoin": [format!("gid://shopify/Collection/{summer}")]}}),
    );
    assert_eq!(
        changed["productUpdate"]["product"],
        json!({"title": "Naive Shirt 2", "tags": ["x"], "collections": {"nodes": [{"handle": "summer"}]}})
    );

    let delete = r#"mutation($id: ID!) { productDelete(input: {id: $id}) { deletedProductId userErrors { message } } }"#;
    events(&mut rx);
    let gone = h.data(delete, json!({"id": product_gid(id)}));
    assert_eq!(
        gone["productDelete"]["deletedProductId"],
        json!(product_gid(id))
    );
    assert_eq!(events(&mut rx), [(topics::PRODUCTS_DELETE, id)]);
    let payload = h
        .shop
        .with(|s| crate::rest::render_topic(s, topics::PRODUCTS_DELETE, id));
    assert_eq!(payload, Some(json!({"id": id})));
    assert!(h.shop.with(|s| s.variant_by_sku("NAIVE-M").is_none()));
}

#[test]
fn products_search_by_sku_and_tags_and_metafields_on_products() {
    let h = Harness::new();
    let mut rx = listen(&h);
    let data = h.data(
        SET,
        json!({"input": input("searchable", &["S", "M"], &["Red"], &[])}),
    );
    let id = id_of(&data["productSet"]["product"]["id"], "Product");
    let q = r#"query($q: String) { products(first: 10, query: $q) { nodes { handle } } }"#;
    let handles = |query: &str| -> Vec<String> {
        h.data(q, json!({"q": query}))["products"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["handle"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(handles("sku:searchable-M-Red"), ["searchable"]);
    assert_eq!(handles("sku:SKU-0001-S"), ["classic-tee"]);
    assert_eq!(
        handles("handle:searchable status:active tag:pim"),
        ["searchable"]
    );
    assert!(handles("sku:nothing-like-it").is_empty());
    events(&mut rx);

    let tags = r#"mutation($id: ID!) { tagsAdd(id: $id, tags: ["sale"]) { node { ... on Product { tags } } userErrors { message } } }"#;
    let tagged = h.data(tags, json!({"id": product_gid(id)}));
    assert_eq!(
        tagged["tagsAdd"]["node"]["tags"],
        json!(["summer", "pim", "sale"])
    );
    let set = r#"mutation($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) {
        metafields { namespace key value ownerType owner { ... on Product { id } } } userErrors { field code } } }"#;
    let written = h.data(
        set,
        json!({"m": [{"ownerId": product_gid(id), "namespace": "merch", "key": "badge",
        "type": "single_line_text_field", "value": "hot"}]}),
    );
    assert_eq!(
        written["metafieldsSet"]["metafields"],
        json!([{"namespace": "merch", "key": "badge", "value": "hot", "ownerType": "PRODUCT", "owner": {"id": product_gid(id)}}])
    );
    assert_eq!(
        events(&mut rx),
        [(topics::PRODUCTS_UPDATE, id), (topics::PRODUCTS_UPDATE, id)]
    );
    let read = h.data(
        r#"query($id: ID!) { product(id: $id) { metafields(first: 5, namespace: "merch") { nodes { key value } } } }"#,
        json!({"id": product_gid(id)}),
    );
    assert_eq!(
        read["product"]["metafields"]["nodes"],
        json!([{"key": "badge", "value": "hot"}])
    );
}

#[test]
fn merchandising_edits_announce_updates_only_when_something_changes() {
    let h = Harness::new();
    let mut rx = listen(&h);
    let (id, summer) = h.shop.with(|s| {
        (
            s.product_by_handle("classic-tee").unwrap().id,
            s.collection_by_handle("summer").unwrap().id,
        )
    });
    h.shop.with(|s| {
        assert!(s.merchandise(id, Merch::AddTag("featured".into())).unwrap());
        assert!(!s.merchandise(id, Merch::AddTag("FEATURED".into())).unwrap());
        assert!(
            s.merchandise(id, Merch::SeoTitle("Best tee".into()))
                .unwrap()
        );
        assert!(s.merchandise(id, Merch::AddToCollection(summer)).unwrap());
        assert!(s.merchandise(id, Merch::UnpublishFromPointOfSale).unwrap());
        assert!(
            s.merchandise(id, Merch::RemoveTag("featured".into()))
                .unwrap()
        );
        let p = &s.products[&id];
        assert_eq!(p.seo_title.as_deref(), Some("Best tee"));
        assert_eq!(p.collection_ids, [summer]);
        assert_eq!(p.publication_ids.len(), 1);
        assert_eq!(s.variants_by_options(id, &[("Title", "M")]).len(), 1);
    });
    assert_eq!(events(&mut rx).len(), 5);
}
