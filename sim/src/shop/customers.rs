//! Customers: creation and updates.

use super::*;

impl Shop {
    pub fn create_customer(&mut self, spec: CustomerSpec) -> Id {
        let id = self.insert_customer(spec);
        self.emit(topics::CUSTOMERS_CREATE, id);
        id
    }

    pub(crate) fn insert_customer(&mut self, spec: CustomerSpec) -> Id {
        let id = self.next_id();
        let now = self.now();
        self.customers.insert(
            id,
            Customer {
                id,
                email: spec.email,
                first_name: spec.first_name,
                last_name: spec.last_name,
                phone: spec.phone,
                tags: spec.tags,
                tax_exempt: spec.tax_exempt,
                tax_exemptions: spec.tax_exemptions,
                note: spec.note,
                state: CustomerState::Enabled,
                verified_email: true,
                accepts_marketing: false,
                locale: "en".into(),
                default_address: spec.default_address,
                created_at: now,
                updated_at: now,
            },
        );
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
}
