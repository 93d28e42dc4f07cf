//! Shopify's published Admin GraphQL schema (2026-10), embedded: the simulator validates and
//! prices every document against it, and the tests validate every document the client sends.
//! Source and license: `tests/fixtures/shopify/README.md`.

use std::io::Read;
use std::sync::OnceLock;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;

static INTROSPECTION_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/shopify/admin-2026-10.introspection.json.gz"
));

/// The API version of the embedded schema.
pub const VERSION: &str = "2026-10";

/// The parsed and validated schema, built once per process (about a second in a debug build).
pub fn admin_schema() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| match load() {
        Ok(schema) => schema,
        // The schema is compiled into the binary: failing to read it is a build defect, not input.
        Err(e) => panic!("the embedded Shopify schema is unreadable: {e}"),
    })
}

fn load() -> Result<Valid<Schema>, String> {
    let mut json = String::new();
    flate2::read::GzDecoder::new(INTROSPECTION_GZ)
        .read_to_string(&mut json)
        .map_err(|e| e.to_string())?;
    #[derive(serde::Deserialize)]
    struct Envelope {
        data: cynic_introspection::IntrospectionQuery,
    }
    let envelope: Envelope = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    let sdl = envelope
        .data
        .into_schema()
        .map_err(|e| e.to_string())?
        .to_sdl();
    Schema::parse_and_validate(sdl, "shopify-admin-2026-10.graphql")
        .map_err(|e| e.errors.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::ExecutableDocument;

    #[test]
    fn the_schema_knows_the_inventory_mutation_and_rejects_unknown_fields() {
        let schema = admin_schema();
        assert!(schema.get_object("Order").is_some());
        let ok = r#"mutation M($input: InventorySetQuantitiesInput!, $key: String!) {
            inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { field message code } }
        }"#;
        assert!(ExecutableDocument::parse_and_validate(schema, ok, "ok.graphql").is_ok());
        let bad = "query { shop { bogusField } }";
        let err = ExecutableDocument::parse_and_validate(schema, bad, "bad.graphql").unwrap_err();
        assert!(
            err.errors.to_string().contains("bogusField"),
            "{}",
            err.errors
        );
    }
}
