//! Whole-product writes, the way `productSet` makes them: a [`ProductDraft`] names what to
//! change; scalars left `None` stay, list fields given replace what is there (variants not
//! listed are deleted with their inventory, metafields and media not listed are removed).
//! `productCreate` and `productUpdate` build drafts too. Also deletion, lookups, and the
//! records of asynchronous operations.
//!
//! Validation is the caller's: the mutations check the whole input and report user errors
//! before anything is written, so a draft given here is applied as it is.

use super::*;

/// Shopify's limit on options per product.
pub const MAX_OPTIONS: usize = 3;
/// Shopify's default limit on variants per product.
pub const MAX_VARIANTS: usize = 2048;

const DEFAULT_OPTION: &str = "Title";
const DEFAULT_VALUE: &str = "Default Title";

/// The handle Shopify derives from a title: lower-case ASCII words joined by `-`.
pub fn handleize(title: &str) -> String {
    title
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// One variant of a [`ProductDraft`]. `None` fields keep the variant's value (a new variant
/// takes Shopify's defaults: price 0, no SKU, `DENY`, taxable, tracked).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VariantDraft {
    /// The product's variant to update. Without one, the variant with the same option values
    /// is updated if the product has one, else a new variant is created.
    pub id: Option<Id>,
    /// (option name, value) for every option, in the options' order.
    pub option_values: Vec<(String, String)>,
    /// The variant's and its inventory item's SKU.
    pub sku: Option<String>,
    pub barcode: Option<Option<String>>,
    pub price: Option<Money>,
    pub compare_at_price: Option<Option<Money>>,
    /// `DENY` or `CONTINUE`.
    pub inventory_policy: Option<&'static str>,
    pub position: Option<u32>,
    pub taxable: Option<bool>,
    pub cost: Option<Option<Money>>,
    pub tracked: Option<bool>,
    pub weight: Option<Weight>,
}

/// One file of a [`ProductDraft`].
#[derive(Clone, Debug, PartialEq)]
pub enum FileDraft {
    /// A media of the product, kept (with a new alt text when given).
    Keep { id: Id, alt: Option<String> },
    /// An image to fetch. The product's media with the same original URL is kept instead, so
    /// sending the same product again does not duplicate its images.
    Add { url: String, alt: Option<String> },
}

/// What a product write changes; see the module docs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductDraft {
    pub title: Option<String>,
    /// A new product without one gets a unique handle from its title.
    pub handle: Option<String>,
    pub description_html: Option<String>,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub status: Option<ProductStatus>,
    pub category: Option<Option<String>>,
    pub seo_title: Option<Option<String>>,
    pub seo_description: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    /// (name, values) per option, replacing the options (ids are kept by name).
    pub options: Option<Vec<(String, Vec<String>)>>,
    /// Replaces the variants. A new product without variants gets one: the first value of
    /// each option, or `Default Title`.
    pub variants: Option<Vec<VariantDraft>>,
    /// Replaces the metafields.
    pub metafields: Option<Vec<MetafieldSpec>>,
    pub collections: Option<Vec<Id>>,
    /// Replaces the media.
    pub files: Option<Vec<FileDraft>>,
}

fn same_options(a: &[(String, String)], b: &[(String, String)]) -> bool {
    a.len() == b.len() && a.iter().all(|pair| b.contains(pair))
}

impl Shop {
    pub fn product_by_handle(&self, handle: &str) -> Option<&Product> {
        self.products.values().find(|p| p.handle == handle)
    }

    /// The product whose metafield `namespace.key` holds `value` (`customId` lookups).
    pub fn product_by_metafield(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Option<&Product> {
        self.products.values().find(|p| {
            p.metafield(namespace, key)
                .is_some_and(|m| m.value == value)
        })
    }

    /// The product's variants having every (option name, value) given, in display order:
    /// all options named gives the one variant of that combination.
    pub fn variants_by_options(&self, product_id: Id, options: &[(&str, &str)]) -> Vec<&Variant> {
        let Some(product) = self.products.get(&product_id) else {
            return Vec::new();
        };
        product
            .variant_ids
            .iter()
            .filter_map(|id| self.variants.get(id))
            .filter(|v| {
                options.iter().all(|(name, value)| {
                    v.option_values.iter().any(|(n, x)| n == name && x == value)
                })
            })
            .collect()
    }

    /// `base`, or `base-1`, `base-2`… : the first handle no other product has.
    pub(crate) fn unique_handle(&self, base: &str, except: Option<Id>) -> String {
        let base = if base.is_empty() { "product" } else { base };
        let taken = |h: &str| {
            self.products
                .values()
                .any(|p| p.handle == h && Some(p.id) != except)
        };
        if !taken(base) {
            return base.to_string();
        }
        (1..)
            .map(|n| format!("{base}-{n}"))
            .find(|h| !taken(h))
            .unwrap_or_else(|| base.to_string())
    }

    /// A new product from a draft; announces `products/create`.
    pub fn create_product(&mut self, draft: ProductDraft) -> Id {
        let id = self.write_product(None, draft);
        self.emit(topics::PRODUCTS_CREATE, id);
        id
    }

    /// Apply a draft to a product; announces `products/update` even when nothing changed, as
    /// Shopify does after every successful `productSet` (so `updated_at` moves too).
    pub fn set_product(&mut self, id: Id, draft: ProductDraft) -> Result<(), ShopError> {
        if !self.products.contains_key(&id) {
            return Err(not_found("product", id));
        }
        self.write_product(Some(id), draft);
        self.emit(topics::PRODUCTS_UPDATE, id);
        Ok(())
    }

    fn write_product(&mut self, target: Option<Id>, draft: ProductDraft) -> Id {
        let now = self.now();
        let existing = target.and_then(|id| self.products.get(&id)).cloned();
        let is_new = existing.is_none();
        let mut product = match existing {
            Some(p) => p,
            None => Product {
                id: self.next_id(),
                title: String::new(),
                handle: String::new(),
                vendor: self.name.clone(),
                product_type: String::new(),
                status: ProductStatus::Active,
                tags: Vec::new(),
                description_html: String::new(),
                options: Vec::new(),
                seo_title: None,
                seo_description: None,
                category: None,
                metafields: BTreeMap::new(),
                media: Vec::new(),
                collection_ids: Vec::new(),
                publication_ids: self.publication_by_name(ONLINE_STORE).into_iter().collect(),
                created_at: now,
                updated_at: now,
                variant_ids: Vec::new(),
            },
        };
        let previous = product.updated_at;
        let set = |field: &mut String, value: Option<String>| {
            if let Some(v) = value {
                *field = v;
            }
        };
        set(&mut product.title, draft.title);
        set(&mut product.description_html, draft.description_html);
        set(&mut product.vendor, draft.vendor);
        set(&mut product.product_type, draft.product_type);
        match draft.handle {
            Some(h) => product.handle = h,
            None if is_new => {
                product.handle = self.unique_handle(&handleize(&product.title), None);
            }
            None => {}
        }
        if let Some(status) = draft.status {
            product.status = status;
        }
        if let Some(category) = draft.category {
            product.category = category;
        }
        if let Some(title) = draft.seo_title {
            product.seo_title = title;
        }
        if let Some(description) = draft.seo_description {
            product.seo_description = description;
        }
        if let Some(tags) = draft.tags {
            product.tags = normalize_tags(&tags);
        }
        if let Some(options) = draft.options {
            product.options = self.merge_options(&product.options, options);
        }
        let variants = match draft.variants {
            Some(v) => Some(v),
            None if is_new => Some(vec![self.first_variant(&mut product)]),
            None => None,
        };
        if let Some(list) = variants {
            self.replace_variants(&mut product, list, now);
        }
        if let Some(specs) = draft.metafields {
            self.replace_metafields(&mut product, specs, now);
        }
        if let Some(mut collections) = draft.collections {
            collections.dedup();
            product.collection_ids = collections;
        }
        if let Some(files) = draft.files {
            self.replace_media(&mut product, files, now);
        }
        product.updated_at = if is_new { now } else { self.touch(previous) };
        let id = product.id;
        self.products.insert(id, product);
        id
    }

    /// The options asked for, keeping the ids of options and values whose names stay.
    fn merge_options(
        &mut self,
        current: &[ProductOption],
        wanted: Vec<(String, Vec<String>)>,
    ) -> Vec<ProductOption> {
        let mut out = Vec::new();
        for (i, (name, values)) in wanted.into_iter().enumerate() {
            let old = current.iter().find(|o| o.name == name);
            let id = old.map_or_else(|| self.next_id(), |o| o.id);
            let values = values
                .into_iter()
                .map(|value| {
                    let kept = old.and_then(|o| o.values.iter().find(|v| v.name == value));
                    OptionValue {
                        id: kept.map_or_else(|| self.next_id(), |v| v.id),
                        name: value,
                    }
                })
                .collect();
            out.push(ProductOption {
                id,
                name,
                position: i as u32 + 1,
                values,
            });
        }
        out
    }

    /// The one variant of a new product given no variants: the first value of each option
    /// (giving the product Shopify's `Title` / `Default Title` option when it has none).
    fn first_variant(&mut self, product: &mut Product) -> VariantDraft {
        if product.options.is_empty() {
            product.options = self.merge_options(
                &[],
                vec![(DEFAULT_OPTION.into(), vec![DEFAULT_VALUE.into()])],
            );
        }
        VariantDraft {
            option_values: product
                .options
                .iter()
                .filter_map(|o| Some((o.name.clone(), o.values.first()?.name.clone())))
                .collect(),
            ..VariantDraft::default()
        }
    }

    fn replace_variants(&mut self, product: &mut Product, list: Vec<VariantDraft>, now: Timestamp) {
        let existing = product.variant_ids.clone();
        let mut claimed: Vec<Id> = list.iter().filter_map(|d| d.id).collect();
        let mut targets = Vec::with_capacity(list.len());
        for draft in &list {
            let target = draft.id.or_else(|| {
                existing.iter().copied().find(|v| {
                    !claimed.contains(v)
                        && self
                            .variants
                            .get(v)
                            .is_some_and(|x| same_options(&x.option_values, &draft.option_values))
                })
            });
            if let Some(t) = target
                && !claimed.contains(&t)
            {
                claimed.push(t);
            }
            targets.push(target);
        }
        for gone in existing.iter().filter(|v| !claimed.contains(v)) {
            self.remove_variant(*gone);
        }
        let mut ordered: Vec<(u32, usize, Id)> = Vec::with_capacity(list.len());
        for (i, (draft, target)) in list.into_iter().zip(targets).enumerate() {
            let position = draft.position.unwrap_or(i as u32 + 1);
            let id = match target.filter(|t| self.variants.contains_key(t)) {
                Some(id) => {
                    self.update_variant_from(id, &draft);
                    id
                }
                None => self.insert_variant(product.id, &draft, now),
            };
            ordered.push((position, i, id));
        }
        ordered.sort();
        product.variant_ids = ordered.iter().map(|(_, _, id)| *id).collect();
        for (i, id) in product.variant_ids.iter().enumerate() {
            if let Some(v) = self.variants.get_mut(id)
                && v.position != i as u32 + 1
            {
                v.position = i as u32 + 1;
            }
        }
    }

    /// A new variant with an inventory item stocked 0 at every active location.
    pub(super) fn insert_variant(
        &mut self,
        product_id: Id,
        draft: &VariantDraft,
        now: Timestamp,
    ) -> Id {
        let variant_id = self.next_id();
        let item_id = self.next_id();
        let mut variant = Variant {
            id: variant_id,
            product_id,
            title: String::new(),
            option_values: Vec::new(),
            sku: String::new(),
            price: Money::ZERO,
            compare_at_price: None,
            barcode: None,
            position: 0,
            inventory_item_id: item_id,
            taxable: true,
            grams: 0,
            inventory_policy: "DENY",
            created_at: now,
            updated_at: now,
        };
        let mut item = InventoryItem {
            id: item_id,
            variant_id,
            sku: String::new(),
            tracked: true,
            requires_shipping: true,
            cost: None,
            weight: Weight::grams(0),
            created_at: now,
            updated_at: now,
        };
        apply_variant_draft(&mut variant, &mut item, draft);
        self.variants.insert(variant_id, variant);
        self.inventory_items.insert(item_id, item);
        let locations: Vec<Id> = self
            .locations
            .values()
            .filter(|l| l.active)
            .map(|l| l.id)
            .collect();
        for location in locations {
            self.insert_level(item_id, location, 0);
        }
        variant_id
    }

    /// Apply a draft to an existing variant; `updated_at` moves only when it changed.
    pub(super) fn update_variant_from(&mut self, id: Id, draft: &VariantDraft) {
        let Some(mut variant) = self.variants.get(&id).cloned() else {
            return;
        };
        let Some(mut item) = self
            .inventory_items
            .get(&variant.inventory_item_id)
            .cloned()
        else {
            return;
        };
        let (before_variant, before_item) = (variant.clone(), item.clone());
        apply_variant_draft(&mut variant, &mut item, draft);
        if variant != before_variant {
            variant.updated_at = self.touch(before_variant.updated_at);
            self.variants.insert(id, variant);
        }
        if item != before_item {
            item.updated_at = self.touch(before_item.updated_at);
            self.inventory_items.insert(item.id, item);
        }
    }

    /// Delete a variant with its inventory item and levels (no event: the product's update
    /// announces it).
    pub(super) fn remove_variant(&mut self, id: Id) {
        let Some(variant) = self.variants.remove(&id) else {
            return;
        };
        let item = variant.inventory_item_id;
        self.inventory_items.remove(&item);
        let levels: Vec<(Id, Id)> = self
            .inventory_levels
            .range((item, 0)..=(item, Id::MAX))
            .map(|(k, _)| *k)
            .collect();
        for key in levels {
            if let Some(level) = self.inventory_levels.remove(&key) {
                self.level_index.remove(&level.id);
            }
        }
    }

    fn replace_metafields(
        &mut self,
        product: &mut Product,
        specs: Vec<MetafieldSpec>,
        now: Timestamp,
    ) {
        let mut next = BTreeMap::new();
        for spec in specs {
            let key = (spec.namespace, spec.key);
            let metafield = match product.metafields.get(&key) {
                Some(m) if m.value == spec.value && m.r#type == spec.r#type => m.clone(),
                Some(m) => Metafield {
                    r#type: spec.r#type,
                    value: spec.value,
                    updated_at: now,
                    ..m.clone()
                },
                None => Metafield {
                    id: self.next_id(),
                    r#type: spec.r#type,
                    value: spec.value,
                    created_at: now,
                    updated_at: now,
                },
            };
            next.insert(key, metafield);
        }
        product.metafields = next;
    }

    fn replace_media(&mut self, product: &mut Product, files: Vec<FileDraft>, now: Timestamp) {
        let mut kept: Vec<Id> = Vec::new();
        for file in files {
            let (id, alt) = match file {
                FileDraft::Keep { id, alt } => (Some(id), alt),
                FileDraft::Add { url, alt } => {
                    let same = product.media.iter().copied().find(|m| {
                        !kept.contains(m)
                            && self.media.get(m).is_some_and(|x| x.original_url == url)
                    });
                    match same {
                        Some(id) => (Some(id), alt),
                        None => {
                            kept.push(self.insert_media(product.id, &url, alt));
                            (None, None)
                        }
                    }
                }
            };
            let Some(id) = id else { continue };
            if let Some(m) = self.media.get_mut(&id)
                && alt.is_some()
                && m.alt != alt
            {
                m.alt = alt;
                m.updated_at = now;
            }
            if !kept.contains(&id) {
                kept.push(id);
            }
        }
        for gone in product.media.iter().filter(|m| !kept.contains(m)) {
            self.media.remove(gone);
        }
        product.media = kept;
    }

    /// [`Shop::update_product`] when `f` changes anything; otherwise no `updated_at` bump and
    /// no event. `Ok(true)` when the product changed.
    pub fn update_product_if_changed(
        &mut self,
        id: Id,
        f: impl FnOnce(&mut Product),
    ) -> Result<bool, ShopError> {
        let current = self.products.get(&id).ok_or(not_found("product", id))?;
        let mut changed = current.clone();
        f(&mut changed);
        if changed == *current {
            return Ok(false);
        }
        self.update_product(id, move |p| *p = changed)?;
        Ok(true)
    }

    /// Write metafields on a product in one update (one `products/update`); values equal to
    /// the stored ones are no-ops, and `Ok(false)` means nothing changed.
    pub fn set_product_metafields(
        &mut self,
        id: Id,
        specs: &[MetafieldSpec],
    ) -> Result<bool, ShopError> {
        let product = self.products.get(&id).ok_or(not_found("product", id))?;
        let missing = specs
            .iter()
            .filter(|s| product.metafield(&s.namespace, &s.key).is_none())
            .count();
        let ids: Vec<Id> = (0..missing).map(|_| self.next_id()).collect();
        let now = self.now();
        self.update_product_if_changed(id, |p| {
            customers::write_metafields(&mut p.metafields, specs, &mut ids.into_iter(), now)
        })
    }

    /// Delete a product with its variants, inventory and media; announces `products/delete`.
    pub fn delete_product(&mut self, id: Id) -> Result<Product, ShopError> {
        let product = self.products.remove(&id).ok_or(not_found("product", id))?;
        for variant in &product.variant_ids {
            self.remove_variant(*variant);
        }
        for media in &product.media {
            self.media.remove(media);
        }
        self.deleted_products.insert(id);
        self.emit(topics::PRODUCTS_DELETE, id);
        Ok(product)
    }

    /// Keep the outcome of an asynchronous `productSet` for `productOperation`.
    pub fn record_product_operation(
        &mut self,
        product_id: Option<Id>,
        errors: Vec<ProductUserError>,
    ) -> Id {
        let id = self.next_id();
        self.product_operations.insert(
            id,
            ProductOperation {
                id,
                product_id,
                errors,
                reads: 0,
            },
        );
        id
    }

    /// One `productOperation` read: the operation as it was before this read (the first read
    /// sees `reads == 0`, which reports `ACTIVE`).
    pub fn read_product_operation(&mut self, id: Id) -> Option<ProductOperation> {
        let op = self.product_operations.get_mut(&id)?;
        let seen = op.clone();
        op.reads = op.reads.saturating_add(1);
        Some(seen)
    }
}

fn apply_variant_draft(variant: &mut Variant, item: &mut InventoryItem, d: &VariantDraft) {
    if !d.option_values.is_empty() {
        variant.option_values.clone_from(&d.option_values);
        variant.title = Variant::title_of(&d.option_values);
    }
    if let Some(sku) = &d.sku {
        variant.sku.clone_from(sku);
        item.sku.clone_from(sku);
    }
    if let Some(barcode) = &d.barcode {
        variant.barcode.clone_from(barcode);
    }
    if let Some(price) = d.price {
        variant.price = price;
    }
    if let Some(compare_at) = d.compare_at_price {
        variant.compare_at_price = compare_at;
    }
    if let Some(policy) = d.inventory_policy {
        variant.inventory_policy = policy;
    }
    if let Some(position) = d.position {
        variant.position = position;
    }
    if let Some(taxable) = d.taxable {
        variant.taxable = taxable;
    }
    if let Some(cost) = d.cost {
        item.cost = cost;
    }
    if let Some(tracked) = d.tracked {
        item.tracked = tracked;
    }
    if let Some(weight) = d.weight {
        item.weight = weight;
        variant.grams = weight.in_grams();
    }
}
