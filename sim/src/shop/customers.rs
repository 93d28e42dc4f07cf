//! Customers: creation, updates, tags, metafields, marketing consent, enabling and disabling,
//! deletion and merging.
//!
//! Every change goes through [`Shop::update_customer`] (strictly newer `updated_at`,
//! `customers/update`); the `*_if_changed` forms and the helpers built on them leave a customer
//! alone, with no event, when the change would not alter it: a client retrying a write must not
//! see a webhook for a change that did not happen.

use super::*;

/// Tags as Shopify stores them: each entry may itself be a comma-separated list, every tag is
/// trimmed, empty ones are dropped, and duplicates (case-insensitive) keep the first spelling.
pub fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags.iter().flat_map(|t| t.split(',')) {
        let tag = tag.trim();
        if !tag.is_empty() && !out.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            out.push(tag.to_string());
        }
    }
    out
}

/// Digits of a phone number with a leading `+` kept, so `+1 613-555-0101` and `+16135550101`
/// name the same phone.
pub fn normalize_phone(phone: &str) -> String {
    let trimmed = phone.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed.starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    }
}

/// Write `specs` into a resource's metafields; `new_ids` supplies ids for metafields that do
/// not exist yet. A write of the value and type already stored changes nothing (not even
/// `updated_at`), so the caller can tell a no-op by comparing.
pub(crate) fn write_metafields(
    metafields: &mut BTreeMap<(String, String), Metafield>,
    specs: &[MetafieldSpec],
    new_ids: &mut impl Iterator<Item = Id>,
    now: Timestamp,
) {
    for spec in specs {
        let key = (spec.namespace.clone(), spec.key.clone());
        match metafields.get_mut(&key) {
            Some(m) if m.value == spec.value && m.r#type == spec.r#type => {}
            Some(m) => {
                m.value = spec.value.clone();
                m.r#type = spec.r#type.clone();
                m.updated_at = now;
            }
            None => {
                let Some(id) = new_ids.next() else { continue };
                metafields.insert(
                    key,
                    Metafield {
                        id,
                        r#type: spec.r#type.clone(),
                        value: spec.value.clone(),
                        created_at: now,
                        updated_at: now,
                    },
                );
            }
        }
    }
}

impl Shop {
    pub fn create_customer(&mut self, spec: CustomerSpec) -> Id {
        let id = self.insert_customer(spec);
        self.emit(topics::CUSTOMERS_CREATE, id);
        id
    }

    pub(crate) fn insert_customer(&mut self, spec: CustomerSpec) -> Id {
        let id = self.next_id();
        let now = self.now();
        let mut customer = Customer {
            id,
            email: spec.email,
            first_name: spec.first_name,
            last_name: spec.last_name,
            phone: spec.phone,
            tags: normalize_tags(&spec.tags),
            tax_exempt: spec.tax_exempt,
            tax_exemptions: spec.tax_exemptions,
            note: spec.note,
            state: CustomerState::Enabled,
            verified_email: true,
            email_consent: spec.email_consent,
            sms_consent: spec.sms_consent,
            locale: spec.locale.unwrap_or_else(|| "en".into()),
            default_address: spec.default_address,
            metafields: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        };
        let ids: Vec<Id> = spec.metafields.iter().map(|_| self.next_id()).collect();
        write_metafields(
            &mut customer.metafields,
            &spec.metafields,
            &mut ids.into_iter(),
            now,
        );
        self.customers.insert(id, customer);
        id
    }

    pub fn update_customer(
        &mut self,
        id: Id,
        f: impl FnOnce(&mut Customer),
    ) -> Result<(), ShopError> {
        let next = self.touch(
            self.customers
                .get(&id)
                .ok_or(not_found("customer", id))?
                .updated_at,
        );
        let customer = self
            .customers
            .get_mut(&id)
            .ok_or(not_found("customer", id))?;
        f(customer);
        customer.updated_at = next;
        self.emit(topics::CUSTOMERS_UPDATE, id);
        Ok(())
    }

    /// [`Shop::update_customer`] when `f` changes anything; otherwise nothing happens (no
    /// `updated_at` bump, no event). `Ok(true)` when the customer changed.
    pub fn update_customer_if_changed(
        &mut self,
        id: Id,
        f: impl FnOnce(&mut Customer),
    ) -> Result<bool, ShopError> {
        let current = self.customers.get(&id).ok_or(not_found("customer", id))?;
        let mut changed = current.clone();
        f(&mut changed);
        if changed == *current {
            return Ok(false);
        }
        self.update_customer(id, move |c| *c = changed)?;
        Ok(true)
    }

    /// The customer with this email (case-insensitive).
    pub fn customer_by_email(&self, email: &str) -> Option<&Customer> {
        let email = email.trim();
        self.customers.values().find(|c| {
            c.email
                .as_deref()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(email))
        })
    }

    /// The customer with this phone (compared by digits, see [`normalize_phone`]).
    pub fn customer_by_phone(&self, phone: &str) -> Option<&Customer> {
        let phone = normalize_phone(phone);
        if phone.trim_start_matches('+').is_empty() {
            return None;
        }
        self.customers.values().find(|c| {
            c.phone
                .as_deref()
                .is_some_and(|p| normalize_phone(p) == phone)
        })
    }

    /// The customer whose metafield `namespace.key` holds `value` (`customId` lookups).
    pub fn customer_by_metafield(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Option<&Customer> {
        self.customers.values().find(|c| {
            c.metafield(namespace, key)
                .is_some_and(|m| m.value == value)
        })
    }

    /// Add tags (see [`normalize_tags`]); tags already there, in any case, are skipped.
    /// `Ok(false)` when nothing was new.
    pub fn add_customer_tags(&mut self, id: Id, tags: &[String]) -> Result<bool, ShopError> {
        let add = normalize_tags(tags);
        self.update_customer_if_changed(id, |c| {
            for tag in add {
                if !c.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
                    c.tags.push(tag);
                }
            }
        })
    }

    /// Remove tags (case-insensitive). `Ok(false)` when none of them was there.
    pub fn remove_customer_tags(&mut self, id: Id, tags: &[String]) -> Result<bool, ShopError> {
        let remove = normalize_tags(tags);
        self.update_customer_if_changed(id, |c| {
            c.tags
                .retain(|t| !remove.iter().any(|r| r.eq_ignore_ascii_case(t)));
        })
    }

    /// Write metafields on one customer in one update (one `customers/update`). Values equal
    /// to the stored ones are no-ops; `Ok(false)` when nothing changed. Validation is the
    /// caller's (`metafieldsSet` checks types and values before writing).
    pub fn set_customer_metafields(
        &mut self,
        id: Id,
        specs: &[MetafieldSpec],
    ) -> Result<bool, ShopError> {
        self.update_customer_and_metafields(id, specs, |_| {})
    }

    /// `f` and metafield writes as one change (one `customers/update`, or none when nothing
    /// changed).
    pub fn update_customer_and_metafields(
        &mut self,
        id: Id,
        specs: &[MetafieldSpec],
        f: impl FnOnce(&mut Customer),
    ) -> Result<bool, ShopError> {
        let customer = self.customers.get(&id).ok_or(not_found("customer", id))?;
        let missing = specs
            .iter()
            .filter(|s| customer.metafield(&s.namespace, &s.key).is_none())
            .count();
        let ids: Vec<Id> = (0..missing).map(|_| self.next_id()).collect();
        let now = self.now();
        self.update_customer_if_changed(id, |c| {
            f(c);
            write_metafields(&mut c.metafields, specs, &mut ids.into_iter(), now)
        })
    }

    /// Replace the email marketing consent; announces `customers/update` and
    /// `customers_email_marketing_consent/update` when it changed.
    pub fn set_email_marketing_consent(
        &mut self,
        id: Id,
        consent: MarketingConsent,
    ) -> Result<bool, ShopError> {
        let changed = self.update_customer_if_changed(id, |c| c.email_consent = consent)?;
        if changed {
            self.emit(topics::CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE, id);
        }
        Ok(changed)
    }

    /// Replace the SMS marketing consent; announces `customers/update` and
    /// `customers_marketing_consent/update` when it changed.
    pub fn set_sms_marketing_consent(
        &mut self,
        id: Id,
        consent: MarketingConsent,
    ) -> Result<bool, ShopError> {
        let changed = self.update_customer_if_changed(id, |c| c.sms_consent = consent)?;
        if changed {
            self.emit(topics::CUSTOMERS_MARKETING_CONSENT_UPDATE, id);
        }
        Ok(changed)
    }

    /// Disable the customer's account: `customers/update` and `customers/disable`.
    /// `Ok(false)` when it was already disabled.
    pub fn disable_customer(&mut self, id: Id) -> Result<bool, ShopError> {
        self.set_customer_state(id, CustomerState::Disabled, topics::CUSTOMERS_DISABLE)
    }

    /// Enable the customer's account: `customers/update` and `customers/enable`.
    /// `Ok(false)` when it was already enabled.
    pub fn enable_customer(&mut self, id: Id) -> Result<bool, ShopError> {
        self.set_customer_state(id, CustomerState::Enabled, topics::CUSTOMERS_ENABLE)
    }

    fn set_customer_state(
        &mut self,
        id: Id,
        state: CustomerState,
        topic: &'static str,
    ) -> Result<bool, ShopError> {
        let changed = self.update_customer_if_changed(id, |c| c.state = state)?;
        if changed {
            self.emit(topic, id);
        }
        Ok(changed)
    }

    /// Delete a customer and announce `customers/delete`. Refused while orders name the
    /// customer, as Shopify refuses it.
    pub fn delete_customer(&mut self, id: Id) -> Result<Customer, ShopError> {
        if !self.customers.contains_key(&id) {
            return Err(not_found("customer", id));
        }
        if self.orders.values().any(|o| o.customer_id == Some(id)) {
            return Err(ShopError::Invalid(
                "Customer can't be deleted because they have existing orders".into(),
            ));
        }
        self.remove_customer(id)
    }

    fn remove_customer(&mut self, id: Id) -> Result<Customer, ShopError> {
        let customer = self
            .customers
            .remove(&id)
            .ok_or(not_found("customer", id))?;
        self.deleted_customers.insert(id);
        self.emit(topics::CUSTOMERS_DELETE, id);
        Ok(customer)
    }

    /// Merge `delete` into `keep`: its orders move to `keep` (`orders/updated` each), its tags
    /// join `keep`'s, and fields `keep` lacks (email, phone, names, note, address) are taken
    /// from it; then it is deleted. Announces `customers/update` (kept), `customers/delete`
    /// (deleted) and `customers/merge`, whose resource id is the returned merge id.
    pub fn merge_customers(&mut self, keep: Id, delete: Id) -> Result<Id, ShopError> {
        if keep == delete {
            return Err(ShopError::Invalid(
                "a customer cannot be merged with itself".into(),
            ));
        }
        if !self.customers.contains_key(&keep) {
            return Err(not_found("customer", keep));
        }
        let gone = self
            .customers
            .get(&delete)
            .cloned()
            .ok_or(not_found("customer", delete))?;
        let orders: Vec<Id> = self
            .orders
            .values()
            .filter(|o| o.customer_id == Some(delete))
            .map(|o| o.id)
            .collect();
        for order in orders {
            self.update_order(order, |o| o.customer_id = Some(keep))?;
        }
        // The deleted customer's email and phone must be free before the kept one takes them.
        self.remove_customer_silently(delete);
        self.update_customer(keep, |c| {
            let mut tags = c.tags.clone();
            tags.extend(gone.tags.iter().cloned());
            c.tags = normalize_tags(&tags);
            let fill = |mine: &mut Option<String>, theirs: &Option<String>| {
                if mine.is_none() {
                    mine.clone_from(theirs);
                }
            };
            fill(&mut c.email, &gone.email);
            fill(&mut c.phone, &gone.phone);
            fill(&mut c.first_name, &gone.first_name);
            fill(&mut c.last_name, &gone.last_name);
            fill(&mut c.note, &gone.note);
            if c.default_address.is_none() {
                c.default_address.clone_from(&gone.default_address);
            }
            for (key, m) in &gone.metafields {
                c.metafields.entry(key.clone()).or_insert_with(|| m.clone());
            }
        })?;
        self.emit(topics::CUSTOMERS_DELETE, delete);
        let id = self.next_id();
        let created_at = self.now();
        self.customer_merges.insert(
            id,
            CustomerMerge {
                id,
                kept: keep,
                deleted: delete,
                created_at,
            },
        );
        self.emit(topics::CUSTOMERS_MERGE, id);
        Ok(id)
    }

    /// Remove without the event (a merge announces the deletion after the kept update).
    fn remove_customer_silently(&mut self, id: Id) {
        self.customers.remove(&id);
        self.deleted_customers.insert(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> (Shop, tokio::sync::mpsc::UnboundedReceiver<ShopEvent>) {
        let mut shop = Shop::new("Demo", "demo.myshopify.com", "USD");
        shop.set_clock(Timestamp::parse("2026-10-01T00:00:00Z"));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        shop.set_event_sender(Some(tx));
        (shop, rx)
    }

    fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<ShopEvent>) -> Vec<(&'static str, Id)> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| (e.topic, e.resource_id))
            .collect()
    }

    #[test]
    fn tags_are_case_insensitive_and_no_ops_are_silent() {
        let (mut shop, mut rx) = shop();
        let id = shop.create_customer(CustomerSpec {
            tags: vec!["VIP".into(), "vip".into(), " retail , ".into()],
            ..CustomerSpec::default()
        });
        assert_eq!(shop.customers[&id].tags, ["VIP", "retail"]);
        let before = shop.customers[&id].updated_at;
        drain(&mut rx);
        assert!(!shop.add_customer_tags(id, &["vip".into()]).unwrap());
        assert!(!shop.remove_customer_tags(id, &["absent".into()]).unwrap());
        assert_eq!(shop.customers[&id].updated_at, before);
        assert!(drain(&mut rx).is_empty());
        assert!(
            shop.add_customer_tags(id, &["gold, Retail".into()])
                .unwrap()
        );
        assert_eq!(shop.customers[&id].tags, ["VIP", "retail", "gold"]);
        assert!(shop.remove_customer_tags(id, &["RETAIL".into()]).unwrap());
        assert_eq!(shop.customers[&id].tags, ["VIP", "gold"]);
        assert_eq!(shop.customers[&id].updated_at, before.plus_secs(2));
        assert_eq!(
            drain(&mut rx),
            [
                (topics::CUSTOMERS_UPDATE, id),
                (topics::CUSTOMERS_UPDATE, id)
            ]
        );
    }

    #[test]
    fn merge_moves_orders_and_announces_update_delete_and_merge() {
        let (mut shop, mut rx) = shop();
        let keep = shop.create_customer(CustomerSpec {
            email: Some("keep@example.com".into()),
            tags: vec!["a".into()],
            ..CustomerSpec::default()
        });
        let gone = shop.create_customer(CustomerSpec {
            email: Some("gone@example.com".into()),
            phone: Some("+16135550101".into()),
            tags: vec!["b".into(), "A".into()],
            ..CustomerSpec::default()
        });
        let order = shop.create_order(OrderSpec {
            customer_id: Some(gone),
            line_items: vec![LineSpec::custom("Tea", "TEA", Money(500), 1)],
            ..OrderSpec::default()
        });
        assert!(shop.delete_customer(gone).is_err(), "it has an order");
        drain(&mut rx);
        let merge = shop.merge_customers(keep, gone).unwrap();
        assert_eq!(shop.orders[&order].customer_id, Some(keep));
        assert!(!shop.customers.contains_key(&gone));
        assert!(shop.deleted_customers.contains(&gone));
        let kept = &shop.customers[&keep];
        assert_eq!(kept.tags, ["a", "b"]);
        assert_eq!(kept.email.as_deref(), Some("keep@example.com"));
        assert_eq!(kept.phone.as_deref(), Some("+16135550101"));
        assert_eq!(shop.customer_merges[&merge].deleted, gone);
        assert_eq!(
            drain(&mut rx),
            [
                (topics::ORDERS_UPDATED, order),
                (topics::CUSTOMERS_UPDATE, keep),
                (topics::CUSTOMERS_DELETE, gone),
                (topics::CUSTOMERS_MERGE, merge),
            ]
        );
        assert!(shop.merge_customers(keep, gone).is_err());
    }

    #[test]
    fn state_consent_and_metafield_changes_emit_only_when_something_changed() {
        let (mut shop, mut rx) = shop();
        let id = shop.create_customer(CustomerSpec {
            email: Some("ada@example.com".into()),
            ..CustomerSpec::default()
        });
        drain(&mut rx);
        assert!(shop.disable_customer(id).unwrap());
        assert!(!shop.disable_customer(id).unwrap());
        assert!(shop.enable_customer(id).unwrap());
        let consent = MarketingConsent {
            state: MarketingState::Subscribed,
            opt_in_level: Some(MarketingOptInLevel::SingleOptIn),
            updated_at: Some(shop.now()),
            collected_from: None,
        };
        assert!(
            shop.set_email_marketing_consent(id, consent.clone())
                .unwrap()
        );
        assert!(!shop.set_email_marketing_consent(id, consent).unwrap());
        assert!(shop.customers[&id].accepts_marketing());
        let tier = [MetafieldSpec::new(
            "crm",
            "tier",
            "single_line_text_field",
            "gold",
        )];
        assert!(shop.set_customer_metafields(id, &tier).unwrap());
        assert!(!shop.set_customer_metafields(id, &tier).unwrap());
        assert_eq!(
            shop.customer_by_metafield("crm", "tier", "gold")
                .map(|c| c.id),
            Some(id)
        );
        assert_eq!(
            drain(&mut rx),
            [
                (topics::CUSTOMERS_UPDATE, id),
                (topics::CUSTOMERS_DISABLE, id),
                (topics::CUSTOMERS_UPDATE, id),
                (topics::CUSTOMERS_ENABLE, id),
                (topics::CUSTOMERS_UPDATE, id),
                (topics::CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE, id),
                (topics::CUSTOMERS_UPDATE, id),
            ]
        );
        assert_eq!(
            shop.customer_by_email("ADA@example.com").map(|c| c.id),
            Some(id)
        );
        shop.delete_customer(id).unwrap();
        assert_eq!(drain(&mut rx), [(topics::CUSTOMERS_DELETE, id)]);
    }
}
