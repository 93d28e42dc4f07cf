//! Reading product inputs (`ProductSetInput`, `ProductCreateInput`, `ProductUpdateInput`,
//! `ProductVariantSetInput`, `ProductVariantsBulkInput`) into a [`ProductDraft`], checking
//! everything on the way: each problem becomes a [`ProductUserError`] with the input path and
//! a `ProductSetUserErrorCode` (the other mutations map or drop the code).

use serde_json::{Map, Value};

use super::customers::{Candidate, check_metafield};
use super::objects::APP_NAMESPACE;
use crate::gid;
use crate::shop::{
    FileDraft, Id, MAX_OPTIONS, MAX_VARIANTS, MetafieldSpec, Money, Product, ProductDraft,
    ProductStatus, ProductUserError, Shop, VariantDraft, Weight, WeightUnit,
};

/// User errors met so far, with the path of the input being read.
pub(super) struct Check<'a> {
    pub errors: &'a mut Vec<ProductUserError>,
    /// Where the input sits in the arguments (`["input"]`, `["product"]`, `[]`).
    pub prefix: Vec<String>,
}

impl Check<'_> {
    pub fn at(&self, rest: &[&str]) -> Vec<String> {
        self.prefix
            .iter()
            .cloned()
            .chain(rest.iter().map(|s| s.to_string()))
            .collect()
    }

    pub fn fail(&mut self, rest: &[&str], message: impl Into<String>, code: &'static str) {
        let field = self.at(rest);
        self.errors.push(ProductUserError {
            field,
            message: message.into(),
            code,
        });
    }
}

fn text(input: &Map<String, Value>, key: &str) -> Option<String> {
    input.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

/// An optional text: absent → unchanged, null or blank → cleared.
fn clearable(input: &Map<String, Value>, key: &str) -> Option<Option<String>> {
    match input.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(Some(s.clone())),
        _ => Some(None),
    }
}

/// A `Money` or `Decimal` input (a string, or a number from a loosely typed client).
pub(super) fn money(value: &Value) -> Option<Money> {
    match value {
        Value::String(s) => Money::parse(s.trim()),
        Value::Number(n) => Money::parse(&n.to_string()),
        _ => None,
    }
}

/// The scalar fields shared by every product input.
pub(super) fn read_scalars(
    shop: &Shop,
    input: &Map<String, Value>,
    target: Option<&Product>,
    check: &mut Check<'_>,
) -> ProductDraft {
    let mut draft = ProductDraft {
        title: text(input, "title"),
        handle: text(input, "handle"),
        description_html: text(input, "descriptionHtml"),
        vendor: text(input, "vendor"),
        product_type: text(input, "productType"),
        tags: input
            .get("tags")
            .map(|t| super::customers::strings(Some(t))),
        ..ProductDraft::default()
    };
    if let Some(title) = &draft.title
        && title.trim().is_empty()
    {
        check.fail(&["title"], "Title can't be blank", "INVALID_PRODUCT");
    }
    if target.is_none() && draft.title.is_none() {
        check.fail(&["title"], "Title can't be blank", "MISSING_FIELD_REQUIRED");
    }
    if let Some(handle) = &draft.handle {
        if handle.trim().is_empty() {
            check.fail(&["handle"], "Handle can't be blank", "INVALID_INPUT");
        } else if shop
            .product_by_handle(handle)
            .is_some_and(|p| Some(p.id) != target.map(|t| t.id))
        {
            check.fail(
                &["handle"],
                format!("Handle '{handle}' already in use. Please provide a new handle."),
                "HANDLE_NOT_UNIQUE",
            );
        }
    }
    if let Some(status) = input.get("status").and_then(|v| v.as_str()) {
        match ProductStatus::from_graphql(status) {
            Some(s) => draft.status = Some(s),
            None => check.fail(&["status"], "Status is invalid", "INVALID_INPUT"),
        }
    }
    if let Some(category) = input.get("category") {
        match category.as_str() {
            None => draft.category = Some(None),
            Some(c) => {
                let id = c.strip_prefix("gid://shopify/TaxonomyCategory/");
                let valid = id.is_some_and(|id| {
                    !id.is_empty()
                        && id
                            .chars()
                            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
                });
                if valid {
                    draft.category = Some(Some(c.to_string()));
                } else {
                    check.fail(
                        &["category"],
                        format!("Category '{c}' is not a valid taxonomy category"),
                        "INVALID_INPUT",
                    );
                }
            }
        }
    }
    if let Some(seo) = input.get("seo").and_then(|v| v.as_object()) {
        draft.seo_title = clearable(seo, "title");
        draft.seo_description = clearable(seo, "description");
    }
    draft
}

/// `productOptions` (`OptionSetInput` or `OptionCreateInput`): (name, values) per option.
pub(super) fn read_options(
    list: &[Value],
    check: &mut Check<'_>,
) -> Option<Vec<(String, Vec<String>)>> {
    if list.len() > MAX_OPTIONS {
        check.fail(
            &["productOptions"],
            format!("Options over limit: a product can have at most {MAX_OPTIONS} options"),
            "OPTIONS_OVER_LIMIT",
        );
        return None;
    }
    let before = check.errors.len();
    let mut options: Vec<(String, Vec<String>)> = Vec::new();
    for (i, option) in list.iter().enumerate() {
        let index = i.to_string();
        let option = option.as_object().cloned().unwrap_or_default();
        let name = text(&option, "name").unwrap_or_default().trim().to_string();
        if name.is_empty() {
            check.fail(
                &["productOptions", &index, "name"],
                "Option name can't be blank",
                "INVALID_INPUT",
            );
            continue;
        }
        if options.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            check.fail(
                &["productOptions", &index, "name"],
                format!("Duplicated option name '{name}'"),
                "DUPLICATED_OPTION_NAME",
            );
            continue;
        }
        let mut values: Vec<String> = Vec::new();
        for (j, value) in option
            .get("values")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let value = value
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .trim()
                .to_string();
            let at = ["productOptions", &index, "values", &j.to_string()];
            if value.is_empty() {
                check.fail(&at, "Option value name can't be blank", "INVALID_INPUT");
            } else if values.iter().any(|v| v.eq_ignore_ascii_case(&value)) {
                check.fail(
                    &at,
                    format!("Duplicated option value '{value}'"),
                    "DUPLICATED_OPTION_VALUE",
                );
            } else {
                values.push(value);
            }
        }
        if values.is_empty() {
            check.fail(
                &["productOptions", &index, "values"],
                "Each option must have at least one option value specified",
                "OPTION_VALUES_MISSING",
            );
        }
        options.push((name, values));
    }
    (check.errors.len() == before).then_some(options)
}

/// How a variant's option values are checked against the options.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OptionRule {
    /// Every option once, with one of its listed values (`productSet`).
    Listed,
    /// Every option once; a value not listed yet is added to its option (the bulk mutations).
    Extend,
}

/// A variant's `optionValues`, in the options' order. `options` gains new values under
/// [`OptionRule::Extend`].
fn read_option_values(
    list: &[Value],
    options: &mut [(String, Vec<String>)],
    product: Option<&Product>,
    rule: OptionRule,
    check: &mut Check<'_>,
) -> Option<Vec<(String, String)>> {
    let before = check.errors.len();
    let mut picked: Vec<Option<String>> = vec![None; options.len()];
    for (j, value) in list.iter().enumerate() {
        let index = j.to_string();
        let value = value.as_object().cloned().unwrap_or_default();
        // An option and a value can be named by id too (those of the product).
        let option_name = text(&value, "optionName").or_else(|| {
            let id = gid::parse_kind(&text(&value, "optionId")?, "ProductOption")?;
            let o = product?.options.iter().find(|o| o.id == id)?;
            Some(o.name.clone())
        });
        let value_name = text(&value, "name").or_else(|| {
            let id = gid::parse_kind(&text(&value, "id")?, "ProductOptionValue")?;
            product?
                .options
                .iter()
                .flat_map(|o| &o.values)
                .find(|v| v.id == id)
                .map(|v| v.name.clone())
        });
        let (Some(option_name), Some(value_name)) = (option_name, value_name) else {
            check.fail(
                &["optionValues", &index],
                "An option value needs an option name (or id) and a name (or id)",
                "INVALID_VARIANT",
            );
            continue;
        };
        let Some(k) = options.iter().position(|(n, _)| *n == option_name) else {
            check.fail(
                &["optionValues", &index, "optionName"],
                format!("Option '{option_name}' does not exist"),
                "OPTION_DOES_NOT_EXIST",
            );
            continue;
        };
        if picked[k].is_some() {
            check.fail(
                &["optionValues", &index],
                format!("Option '{option_name}' is given more than once"),
                "INVALID_VARIANT",
            );
            continue;
        }
        if !options[k].1.contains(&value_name) {
            if rule == OptionRule::Extend {
                options[k].1.push(value_name.clone());
            } else {
                check.fail(
                    &["optionValues", &index, "name"],
                    format!(
                        "Option value '{value_name}' does not exist for option '{option_name}'"
                    ),
                    "OPTION_VALUE_DOES_NOT_EXIST",
                );
                continue;
            }
        }
        picked[k] = Some(value_name);
    }
    if check.errors.len() > before {
        return None;
    }
    let mut values = Vec::with_capacity(options.len());
    for ((name, _), value) in options.iter().zip(picked) {
        match value {
            Some(v) => values.push((name.clone(), v)),
            None => {
                check.fail(
                    &["optionValues"],
                    format!("The variant has no value for option '{name}'"),
                    "INVALID_VARIANT",
                );
                return None;
            }
        }
    }
    Some(values)
}

/// One variant input (either kind). `product` is the product it belongs to, when it exists:
/// a variant id must be one of its variants. `option_values` are read only when given (an
/// update may leave them).
pub(super) fn read_variant(
    input: &Map<String, Value>,
    options: &mut [(String, Vec<String>)],
    product: Option<&Product>,
    rule: OptionRule,
    check: &mut Check<'_>,
) -> Option<VariantDraft> {
    let before = check.errors.len();
    let mut draft = VariantDraft::default();
    if let Some(id) = input.get("id").and_then(|v| v.as_str()) {
        let found = gid::parse_kind(id, "ProductVariant")
            .filter(|v| product.is_some_and(|p| p.variant_ids.contains(v)));
        match found {
            Some(v) => draft.id = Some(v),
            None => check.fail(
                &["id"],
                format!("Variant '{id}' does not belong to this product"),
                "INVALID_VARIANT",
            ),
        }
    }
    if let Some(list) = input.get("optionValues").and_then(|v| v.as_array()) {
        draft.option_values =
            read_option_values(list, options, product, rule, check).unwrap_or_default();
    }
    let item = input
        .get("inventoryItem")
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default();
    draft.sku = text(input, "sku").or_else(|| text(&item, "sku"));
    draft.barcode = clearable(input, "barcode");
    let price = |key: &str, check: &mut Check<'_>| -> Option<Option<Money>> {
        let value = input.get(key)?;
        if value.is_null() {
            return Some(None);
        }
        match money(value) {
            Some(m) if m >= Money::ZERO => Some(Some(m)),
            _ => {
                check.fail(&[key], format!("{key} is invalid"), "INVALID_VARIANT");
                None
            }
        }
    };
    draft.price = price("price", check).flatten();
    draft.compare_at_price = price("compareAtPrice", check);
    draft.inventory_policy = match input.get("inventoryPolicy").and_then(|v| v.as_str()) {
        Some("DENY") => Some("DENY"),
        Some("CONTINUE") => Some("CONTINUE"),
        Some(other) => {
            check.fail(
                &["inventoryPolicy"],
                format!("Inventory policy '{other}' is invalid"),
                "INVALID_VARIANT",
            );
            None
        }
        None => None,
    };
    draft.position = input
        .get("position")
        .and_then(|v| v.as_u64())
        .and_then(|p| u32::try_from(p).ok());
    draft.taxable = input.get("taxable").and_then(|v| v.as_bool());
    draft.tracked = item.get("tracked").and_then(|v| v.as_bool());
    if let Some(cost) = item.get("cost") {
        draft.cost = if cost.is_null() {
            Some(None)
        } else {
            match money(cost) {
                Some(m) if m >= Money::ZERO => Some(Some(m)),
                _ => {
                    check.fail(
                        &["inventoryItem", "cost"],
                        "Cost is invalid",
                        "INVALID_VARIANT",
                    );
                    None
                }
            }
        };
    }
    if let Some(weight) = item
        .get("measurement")
        .and_then(|m| m.get("weight"))
        .and_then(|w| w.as_object())
    {
        let value = weight.get("value").and_then(|v| v.as_f64());
        let unit = weight
            .get("unit")
            .and_then(|v| v.as_str())
            .and_then(WeightUnit::from_graphql);
        match (value, unit) {
            (Some(value), Some(unit)) if value.is_finite() && value >= 0.0 => {
                draft.weight = Some(Weight { value, unit });
            }
            _ => check.fail(
                &["inventoryItem", "measurement", "weight"],
                "Weight is invalid",
                "INVALID_VARIANT",
            ),
        }
    }
    (check.errors.len() == before).then_some(draft)
}

/// `productSet`'s `variants`: every one valid, no two with the same option values.
pub(super) fn read_variants(
    list: &[Value],
    options: &mut [(String, Vec<String>)],
    product: Option<&Product>,
    check: &mut Check<'_>,
) -> Option<Vec<VariantDraft>> {
    if list.len() > MAX_VARIANTS {
        check.fail(
            &["variants"],
            format!("Number of product variants exceeds the limit of {MAX_VARIANTS}"),
            "VARIANTS_OVER_LIMIT",
        );
        return None;
    }
    let before = check.errors.len();
    let mut drafts: Vec<VariantDraft> = Vec::with_capacity(list.len());
    for (i, variant) in list.iter().enumerate() {
        let prefix = check.at(&["variants", &i.to_string()]);
        let mut at = Check {
            errors: &mut *check.errors,
            prefix,
        };
        let input = variant.as_object().cloned().unwrap_or_default();
        let Some(draft) = read_variant(&input, options, product, OptionRule::Listed, &mut at)
        else {
            continue;
        };
        if draft.option_values.is_empty() {
            at.fail(
                &["optionValues"],
                "The variant must have a value for each option",
                "INVALID_VARIANT",
            );
            continue;
        }
        if drafts
            .iter()
            .any(|d| d.option_values == draft.option_values)
        {
            let title = crate::shop::Variant::title_of(&draft.option_values);
            at.fail(
                &["optionValues"],
                format!(
                    "The variant '{title}' already exists. Please change at least one option value."
                ),
                "DUPLICATED_VALUE",
            );
            continue;
        }
        if let Some(id) = draft.id
            && drafts.iter().any(|d| d.id == Some(id))
        {
            at.fail(
                &["id"],
                "The same variant is given twice",
                "INVALID_VARIANT",
            );
            continue;
        }
        drafts.push(draft);
    }
    (check.errors.len() == before).then_some(drafts)
}

/// `metafields` (`MetafieldInput`): checked like `metafieldsSet`; the code is
/// `INVALID_METAFIELD` whatever the problem.
pub(super) fn read_metafields(
    list: &[Value],
    product: Option<&Product>,
    check: &mut Check<'_>,
) -> Option<Vec<MetafieldSpec>> {
    let before = check.errors.len();
    let mut specs: Vec<MetafieldSpec> = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let m = m.as_object().cloned().unwrap_or_default();
        let index = i.to_string();
        let namespace = text(&m, "namespace").unwrap_or_else(|| APP_NAMESPACE.to_string());
        let key = text(&m, "key").unwrap_or_default();
        let value = text(&m, "value").unwrap_or_default();
        let given_type = text(&m, "type");
        let candidate = Candidate {
            existing: product.and_then(|p| p.metafield(&namespace, &key)),
            namespace: &namespace,
            key: &key,
            given_type: given_type.as_deref(),
            value: &value,
        };
        let prefix = check.at(&["metafields", &index]);
        let at = |f: &str| {
            let mut path = prefix.clone();
            path.push(f.to_string());
            path
        };
        let mut problems: Vec<(Vec<String>, String)> = Vec::new();
        let checked = check_metafield(&candidate, &at, &mut |field, message, _| {
            problems.push((field, message))
        });
        for (field, message) in problems {
            check.errors.push(ProductUserError {
                field,
                message,
                code: "INVALID_METAFIELD",
            });
        }
        let Some(r#type) = checked else { continue };
        if specs
            .iter()
            .any(|s| s.namespace == namespace && s.key == key)
        {
            check.fail(
                &["metafields", &index],
                "The same namespace and key appear more than once in the input.",
                "INVALID_METAFIELD",
            );
            continue;
        }
        specs.push(MetafieldSpec {
            namespace,
            key,
            r#type,
            value,
        });
    }
    (check.errors.len() == before).then_some(specs)
}

/// `collections` / `collectionsToJoin`: ids of the shop's collections.
pub(super) fn read_collections(
    shop: &Shop,
    list: &[Value],
    field: &str,
    check: &mut Check<'_>,
) -> Option<Vec<Id>> {
    let before = check.errors.len();
    let mut ids = Vec::new();
    for (i, id) in list.iter().enumerate() {
        let text = id.as_str().unwrap_or_default();
        match gid::parse_kind(text, "Collection").filter(|c| shop.collections.contains_key(c)) {
            Some(c) if !ids.contains(&c) => ids.push(c),
            Some(_) => {}
            None => check.fail(
                &[field, &i.to_string()],
                format!("Collection '{text}' does not exist"),
                "INVALID_INPUT",
            ),
        }
    }
    (check.errors.len() == before).then_some(ids)
}

fn valid_source(url: &str) -> bool {
    ["https://", "http://"]
        .iter()
        .any(|s| url.starts_with(s) && url.len() > s.len())
}

/// `files` (`FileSetInput`): an id of the product's media, or an image to fetch.
pub(super) fn read_files(
    list: &[Value],
    product: Option<&Product>,
    check: &mut Check<'_>,
) -> Option<Vec<FileDraft>> {
    let before = check.errors.len();
    let mut files = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let f = f.as_object().cloned().unwrap_or_default();
        let index = i.to_string();
        let alt = text(&f, "alt");
        if let Some(kind) = f.get("contentType").and_then(|v| v.as_str())
            && kind != "IMAGE"
        {
            check.fail(
                &["files", &index, "contentType"],
                "Only images can be attached to products by the simulator",
                "INVALID_INPUT",
            );
            continue;
        }
        if let Some(id) = text(&f, "id") {
            let mine = gid::parse_kind(&id, "MediaImage")
                .filter(|m| product.is_some_and(|p| p.media.contains(m)));
            match mine {
                Some(id) => files.push(FileDraft::Keep { id, alt }),
                None => check.fail(
                    &["files", &index, "id"],
                    format!("File '{id}' does not exist on this product"),
                    "INVALID_INPUT",
                ),
            }
            continue;
        }
        match text(&f, "originalSource") {
            Some(url) if valid_source(&url) => files.push(FileDraft::Add { url, alt }),
            _ => check.fail(
                &["files", &index, "originalSource"],
                "Original source must be an http or https URL",
                "INVALID_INPUT",
            ),
        }
    }
    (check.errors.len() == before).then_some(files)
}

/// `CreateMediaInput` (the `media` argument of `productCreate` and `productUpdate`).
pub(super) fn read_media(list: &[Value], check: &mut Check<'_>) -> Vec<FileDraft> {
    let mut files = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let m = m.as_object().cloned().unwrap_or_default();
        let index = i.to_string();
        if m.get("mediaContentType").and_then(|v| v.as_str()) != Some("IMAGE") {
            check.fail(
                &["media", &index, "mediaContentType"],
                "Only images can be attached to products by the simulator",
                "INVALID_INPUT",
            );
            continue;
        }
        match text(&m, "originalSource") {
            Some(url) if valid_source(&url) => files.push(FileDraft::Add {
                url,
                alt: text(&m, "alt"),
            }),
            _ => check.fail(
                &["media", &index, "originalSource"],
                "Original source must be an http or https URL",
                "INVALID_INPUT",
            ),
        }
    }
    files
}
