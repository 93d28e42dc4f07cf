//! A metafield as the inbound API takes it (`{"namespace", "key", "type", "value"}`), the same
//! for every resource that carries metafields.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Decode, Fields, describe};

const MAX_TEXT: usize = 255;
/// Shopify's limit on a metafield's value.
const MAX_METAFIELD_VALUE: usize = 65_536;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetafieldValue {
    pub namespace: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl Decode for MetafieldValue {
    const FIELDS: &'static [&'static str] = &["namespace", "key", "type", "value"];

    fn decode(f: &mut Fields<'_>) -> Option<MetafieldValue> {
        let namespace = f.text("namespace", 255);
        let key = f.text("key", 64);
        let kind = f.opt_text("type", MAX_TEXT);
        let value = match f.take("value") {
            Some(Value::String(s)) if s.len() <= MAX_METAFIELD_VALUE => Some(s),
            None => {
                f.problem("value", "missing");
                None
            }
            Some(other) => {
                f.problem(
                    "value",
                    format_args!(
                        "expected a string (Shopify stores every metafield value as one), found {}",
                        describe(&other)
                    ),
                );
                None
            }
        };
        if let Some(ns) = &namespace
            && ns.len() < 3
        {
            f.problem("namespace", "must be 3 to 255 characters (Shopify's limit)");
        }
        if let Some(k) = &key
            && k.len() < 2
        {
            f.problem("key", "must be 2 to 64 characters (Shopify's limit)");
        }
        f.ok()?;
        Some(MetafieldValue {
            namespace: namespace?,
            key: key?,
            kind: kind.unwrap_or_else(|| "single_line_text_field".into()),
            value: value?,
        })
    }
}
