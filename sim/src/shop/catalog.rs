//! Locations, products and variants, and webhook subscriptions: the shop's setup.

use super::*;

impl Shop {
    /// A new active location (no event: Shopify's `locations/create` is not one we emit).
    pub fn add_location(&mut self, name: &str) -> Id {
        let id = self.next_id();
        let now = self.now();
        self.locations.insert(
            id,
            Location {
                id,
                name: name.to_string(),
                active: true,
                address1: format!("{} Warehouse Road", 10 + self.locations.len()),
                city: "Ottawa".into(),
                province_code: "ON".into(),
                zip: "K2P 1L4".into(),
                country_code: "CA".into(),
                fulfills_online_orders: true,
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    /// A new product with variants, inventory items and levels (no event), published on the
    /// Online Store when the shop has one.
    pub fn add_product(&mut self, spec: ProductSpec) -> Id {
        let now = self.now();
        let product_id = self.next_id();
        let handle = self.unique_handle(&handleize(&spec.title), None);
        // The variants' titles are the values of one option, as the admin names a single
        // list of choices.
        let option = ProductOption {
            id: self.next_id(),
            name: "Title".into(),
            position: 1,
            values: spec
                .variants
                .iter()
                .map(|v| v.title.clone())
                .collect::<Vec<_>>()
                .into_iter()
                .map(|name| OptionValue {
                    id: self.next_id(),
                    name,
                })
                .collect(),
        };
        let active_locations: Vec<Id> = self
            .locations
            .values()
            .filter(|l| l.active)
            .map(|l| l.id)
            .collect();
        let mut variant_ids = Vec::new();
        for (i, v) in spec.variants.iter().enumerate() {
            let variant_id = self.next_id();
            let item_id = self.next_id();
            self.variants.insert(
                variant_id,
                Variant {
                    id: variant_id,
                    product_id,
                    title: v.title.clone(),
                    option_values: vec![("Title".into(), v.title.clone())],
                    sku: v.sku.clone(),
                    price: v.price,
                    compare_at_price: None,
                    barcode: None,
                    position: i as u32 + 1,
                    inventory_item_id: item_id,
                    taxable: true,
                    grams: v.grams,
                    inventory_policy: "DENY",
                    created_at: now,
                    updated_at: now,
                },
            );
            self.inventory_items.insert(
                item_id,
                InventoryItem {
                    id: item_id,
                    variant_id,
                    sku: v.sku.clone(),
                    tracked: true,
                    requires_shipping: true,
                    cost: Some(Money(v.price.0 * 45 / 100)),
                    weight: Weight::grams(v.grams),
                    created_at: now,
                    updated_at: now,
                },
            );
            for &location_id in &active_locations {
                self.insert_level(item_id, location_id, spec.stock_per_location);
            }
            variant_ids.push(variant_id);
        }
        self.products.insert(
            product_id,
            Product {
                id: product_id,
                title: spec.title,
                handle,
                vendor: spec.vendor,
                product_type: spec.product_type,
                status: ProductStatus::Active,
                tags: spec.tags,
                description_html: String::new(),
                options: vec![option],
                seo_title: None,
                seo_description: None,
                category: None,
                metafields: BTreeMap::new(),
                media: Vec::new(),
                collection_ids: Vec::new(),
                publication_ids: self.publication_by_name(ONLINE_STORE).into_iter().collect(),
                created_at: now,
                updated_at: now,
                variant_ids,
            },
        );
        product_id
    }

    pub(super) fn insert_level(&mut self, item_id: Id, location_id: Id, available: i64) -> Id {
        let id = self.next_id();
        let now = self.now();
        self.level_index.insert(id, (item_id, location_id));
        self.inventory_levels.insert(
            (item_id, location_id),
            InventoryLevel {
                id,
                item_id,
                location_id,
                available,
                committed: 0,
                reserved: 0,
                damaged: 0,
                quality_control: 0,
                safety_stock: 0,
                incoming: 0,
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    /// Change a product (title, tags, …) and announce `products/update`.
    pub fn update_product(
        &mut self,
        id: Id,
        f: impl FnOnce(&mut Product),
    ) -> Result<(), ShopError> {
        let next = self.touch(
            self.products
                .get(&id)
                .ok_or(not_found("product", id))?
                .updated_at,
        );
        let product = self.products.get_mut(&id).ok_or(not_found("product", id))?;
        f(product);
        product.updated_at = next;
        self.emit(topics::PRODUCTS_UPDATE, id);
        Ok(())
    }

    /// Change a variant's price or SKU (the SKU follows to its inventory item) and announce
    /// `products/update` for its product.
    pub fn update_variant(
        &mut self,
        id: Id,
        f: impl FnOnce(&mut Variant),
    ) -> Result<(), ShopError> {
        let next = self.touch(
            self.variants
                .get(&id)
                .ok_or(not_found("variant", id))?
                .updated_at,
        );
        let variant = self.variants.get_mut(&id).ok_or(not_found("variant", id))?;
        f(variant);
        variant.updated_at = next;
        let (product_id, item_id, sku) = (
            variant.product_id,
            variant.inventory_item_id,
            variant.sku.clone(),
        );
        if let Some(item) = self.inventory_items.get_mut(&item_id) {
            item.sku = sku;
        }
        self.update_product(product_id, |_| {})
    }

    /// Subscribe `uri` to `topic` (the GraphQL enum value, e.g. `ORDERS_CREATE`). No checks:
    /// `webhookSubscriptionCreate` validates before calling this.
    pub fn create_webhook_subscription(&mut self, topic: &str, uri: &str) -> Id {
        let id = self.next_id();
        let now = self.now();
        self.webhook_subscriptions.insert(
            id,
            WebhookSubscription {
                id,
                topic: topic.to_string(),
                uri: uri.to_string(),
                format: "JSON".into(),
                filter: None,
                include_fields: Vec::new(),
                name: None,
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    pub fn delete_webhook_subscription(
        &mut self,
        id: Id,
    ) -> Result<WebhookSubscription, ShopError> {
        self.webhook_subscriptions
            .remove(&id)
            .ok_or(not_found("webhook subscription", id))
    }
}
