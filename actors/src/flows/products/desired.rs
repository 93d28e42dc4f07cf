//! The product a master record asks for, as one `productSet` input: the whole product, since
//! productSet replaces list fields (a variant left out is deleted). Variants and images the
//! product already has are named by id, so they are updated in place; the groups Shopify owns
//! are set only on a product the write creates.

use super::Settings;
use super::canonical::Group;
use super::inbound::Master;
use super::record::Applied;
use crate::flows::write::Owner;
use crate::flows::write::echo::fingerprint;
use crate::shopify::operations::products::{
    FileSetInput, InventoryItemInput, Measurement, MetafieldSetInput, Named, OptionSetInput,
    OptionValueInput, ProductSetInput, Seo, VariantSetInput, Weight,
};

/// The input for `master`; `known` has the ids of what the product already has, `exists`
/// says whether it does.
pub fn input(
    settings: &Settings,
    master: &Master,
    known: &Applied,
    exists: bool,
) -> ProductSetInput {
    // A group Shopify owns is the PIM's only until the product exists.
    let writes = |g: Group| !exists || settings.owner(g) != Owner::Shopify;
    let variants = master
        .variants
        .iter()
        .map(|v| VariantSetInput {
            id: known.variants.get(&master.combination(v)).cloned(),
            option_values: master
                .option_values(v)
                .into_iter()
                .map(|(option, value)| OptionValueInput {
                    option_name: option.to_string(),
                    name: value.to_string(),
                })
                .collect(),
            sku: v.sku.clone(),
            barcode: v.barcode.clone(),
            price: v.price.clone(),
            compare_at_price: v.compare_at_price.clone(),
            inventory_policy: v.inventory_policy.clone(),
            inventory_item: (v.cost.is_some() || v.weight.is_some()).then(|| InventoryItemInput {
                cost: v.cost.clone(),
                measurement: v.weight.as_ref().map(|w| Measurement {
                    weight: Weight {
                        value: w.value.parse().unwrap_or(0.0),
                        unit: w.unit.clone(),
                    },
                }),
            }),
        })
        .collect();
    let files = master
        .images
        .iter()
        .map(|image| match known.media.get(&image.url) {
            Some(id) => FileSetInput {
                id: Some(id.clone()),
                original_source: None,
                alt: image.alt.clone(),
                content_type: None,
            },
            None => FileSetInput {
                id: None,
                original_source: Some(image.url.clone()),
                alt: image.alt.clone(),
                content_type: Some("IMAGE".into()),
            },
        })
        .collect();
    ProductSetInput {
        title: master.title.clone(),
        handle: master.handle.clone(),
        description_html: master.description_html.clone(),
        vendor: master.vendor.clone(),
        product_type: master.product_type.clone(),
        category: master.category.clone(),
        status: master.status.clone().filter(|_| writes(Group::Status)),
        tags: master.tags.clone().filter(|_| writes(Group::Tags)),
        seo: master
            .seo
            .as_ref()
            .filter(|_| writes(Group::Seo))
            .map(|s| Seo {
                title: s.title.clone(),
                description: s.description.clone(),
            }),
        product_options: master
            .shopify_options()
            .iter()
            .map(|o| OptionSetInput {
                name: o.name.clone(),
                values: o.values.iter().map(|v| Named { name: v.clone() }).collect(),
            })
            .collect(),
        variants,
        files,
        // Given, the list replaces the product's metafields, Shopify's own among them: so only
        // on a product this write creates. An existing product's are set with metafieldsSet.
        metafields: (!exists).then(|| metafields(settings, master)),
    }
}

/// The metafields a record writes: its own, and its external id.
pub fn metafields(settings: &Settings, master: &Master) -> Vec<MetafieldSetInput> {
    let mut out: Vec<MetafieldSetInput> = master
        .metafields
        .iter()
        .map(|m| MetafieldSetInput {
            namespace: m.namespace.clone(),
            key: m.key.clone(),
            kind: m.kind.clone(),
            value: m.value.clone(),
        })
        .collect();
    if let Some(id) = &master.external_id {
        out.push(MetafieldSetInput {
            namespace: settings.external_namespace.clone(),
            key: master.source.clone(),
            kind: "single_line_text_field".into(),
            value: id.clone(),
        });
    }
    out
}

/// A fingerprint of the metafields a record writes: unchanged, they are not written again.
pub fn metafields_fingerprint(inputs: &[MetafieldSetInput]) -> u64 {
    let mut keyed: Vec<(String, String, String)> = inputs
        .iter()
        .map(|m| {
            (
                format!("{}.{}", m.namespace, m.key),
                m.kind.clone(),
                m.value.clone(),
            )
        })
        .collect();
    keyed.sort();
    fingerprint(&serde_json::json!(keyed))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::flows::products::inbound::{Image, ProductOption, Variant};

    fn settings() -> Settings {
        Settings {
            targets: vec!["pim".into()],
            ownership: BTreeMap::new(),
            external_namespace: "xconnector".into(),
            async_over: 100,
            bulk_over: 0,
            reconcile: None,
            linger: std::time::Duration::ZERO,
        }
    }

    fn master() -> Master {
        let variant = |size: &str, price: &str| Variant {
            sku: Some(format!("RS-{size}")),
            options: [("Size".to_string(), size.to_string())].into(),
            price: price.into(),
            inventory_policy: "DENY".into(),
            ..Variant::default()
        };
        Master {
            source: "pim".into(),
            handle: Some("red-shirt".into()),
            external_id: Some("P-1".into()),
            title: "Red shirt".into(),
            status: Some("ACTIVE".into()),
            tags: Some(vec!["summer".into()]),
            options: vec![ProductOption {
                name: "Size".into(),
                values: vec!["S".into(), "M".into()],
            }],
            variants: vec![variant("S", "19.99"), variant("M", "21.00")],
            images: vec![
                Image {
                    url: "https://cdn.example.com/a.jpg".into(),
                    alt: None,
                },
                Image {
                    url: "https://cdn.example.com/b.jpg".into(),
                    alt: Some("back".into()),
                },
            ],
            ..Master::default()
        }
    }

    #[test]
    fn a_new_product_is_written_whole_with_its_external_id() {
        let input = input(&settings(), &master(), &Applied::default(), false);
        assert_eq!(input.variants.len(), 2);
        assert!(input.variants.iter().all(|v| v.id.is_none()));
        assert_eq!(input.variants[1].option_values[0].name, "M");
        assert_eq!(input.tags.as_deref(), Some(&["summer".to_string()][..]));
        assert_eq!(input.status.as_deref(), Some("ACTIVE"));
        let metafields = input.metafields.expect("a new product's metafields");
        assert_eq!(
            (
                metafields[0].namespace.as_str(),
                metafields[0].key.as_str(),
                metafields[0].value.as_str()
            ),
            ("xconnector", "pim", "P-1")
        );
        assert!(input.files.iter().all(|f| f.original_source.is_some()));
    }

    #[test]
    fn an_existing_product_keeps_its_ids_and_what_shopify_owns() {
        let m = master();
        let known = Applied {
            product: 9,
            variants: [(
                m.combination(&m.variants[0]),
                "gid://shopify/ProductVariant/1".to_string(),
            )]
            .into(),
            media: [(
                "https://cdn.example.com/b.jpg".to_string(),
                "gid://shopify/MediaImage/5".to_string(),
            )]
            .into(),
            ..Applied::default()
        };
        let input = input(&settings(), &m, &known, true);
        assert_eq!(
            input.variants[0].id.as_deref(),
            Some("gid://shopify/ProductVariant/1")
        );
        assert_eq!(input.variants[1].id, None, "a new variant");
        assert_eq!(
            input.files[1].id.as_deref(),
            Some("gid://shopify/MediaImage/5")
        );
        assert_eq!(input.files[0].id, None);
        assert_eq!(
            input.tags, None,
            "tags are Shopify's once the product exists"
        );
        assert_eq!(input.status, None);
        assert_eq!(
            input.metafields, None,
            "metafieldsSet writes them, without deleting others"
        );
        let mut both = settings();
        both.ownership.insert(Group::Tags, Owner::Both);
        assert!(super::input(&both, &m, &known, true).tags.is_some());
    }
}
