//! A serde `Deserializer` over toml's spanned value tree that knows, for every
//! error, the key path and the byte span it belongs to, and words type errors in
//! TOML terms ("expected a string, found an integer").
//!
//! [`deserialize`] also recovers: after an error it skips the offending key and
//! runs again, so that one pass over a file reports every independent mistake
//! instead of the first one. The config is tiny, so re-running is cheap and keeps
//! the schema a plain `#[derive(Deserialize)]`.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Expected, Unexpected, Visitor};
use toml::Spanned;
use toml::de::{DeString, DeValue};

use xconnector_actors::config::KeyPath;

/// Enums whose serde name starts with this are selected by a key of their table
/// (`"$tag:kind"` → the `kind` key) instead of by a single-key wrapper table.
const TAG_PREFIX: &str = "$tag:";

pub(crate) struct DeError {
    /// Where the error belongs; filled in by the innermost deserializer that sees it.
    pub(crate) path: Option<KeyPath>,
    pub(crate) span: Option<Range<usize>>,
    pub(crate) kind: Kind,
}

pub(crate) enum Kind {
    /// `path` is the table; `field` is the key it lacks.
    Missing {
        field: String,
        hint: Option<String>,
    },
    UnknownKey {
        expected: Vec<&'static str>,
        noun: &'static str,
    },
    UnknownValue {
        value: String,
        expected: &'static [&'static str],
        noun: &'static str,
    },
    Other(String),
}

impl DeError {
    fn other(message: impl Into<String>) -> Self {
        Self::from_kind(Kind::Other(message.into()))
    }

    fn from_kind(kind: Kind) -> Self {
        Self {
            path: None,
            span: None,
            kind,
        }
    }

    /// Attach a location unless a more precise (inner) one is already there.
    fn at(mut self, path: &KeyPath, span: &Range<usize>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.clone());
            self.span = Some(span.clone());
        }
        self
    }

    /// The key path to show: for a missing key, the key itself rather than its table.
    pub(crate) fn display_path(&self) -> KeyPath {
        let at = self.path.clone().unwrap_or_default();
        match &self.kind {
            Kind::Missing { field, .. } => at.key(field),
            _ => at,
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Missing { hint: None, .. } => f.write_str("missing required key"),
            Kind::Missing {
                hint: Some(hint), ..
            } => write!(f, "missing required key; {hint}"),
            Kind::UnknownKey { expected, noun } if expected.is_empty() => {
                write!(f, "unknown {noun}; this table takes no keys")
            }
            Kind::UnknownKey { expected, noun } => {
                write!(f, "unknown {noun}; expected one of {}", expected.join(", "))
            }
            Kind::UnknownValue {
                value,
                expected,
                noun,
            } => {
                write!(
                    f,
                    "unknown {noun} {value:?}; expected one of {}",
                    expected.join(", ")
                )
            }
            Kind::Other(message) => f.write_str(message),
        }
    }
}

impl fmt::Debug for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {self}", self.display_path())
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::other(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::other(format!(
            "expected {exp}, found {}",
            noun_of_unexpected(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::other(format!("invalid value {unexp}: expected {exp}"))
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        Self::other(format!("expected {exp}, found {len} elements"))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::from_kind(Kind::UnknownValue {
            value: variant.to_owned(),
            expected,
            noun: "value",
        })
    }

    fn unknown_field(_field: &str, expected: &'static [&'static str]) -> Self {
        Self::from_kind(Kind::UnknownKey {
            expected: expected.to_vec(),
            noun: "key",
        })
    }

    fn missing_field(field: &'static str) -> Self {
        Self::from_kind(Kind::Missing {
            field: field.to_owned(),
            hint: None,
        })
    }

    fn duplicate_field(_field: &'static str) -> Self {
        Self::other("duplicate key")
    }
}

fn noun_of_unexpected(unexp: &Unexpected<'_>) -> &'static str {
    match unexp {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a float",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Seq => "an array",
        Unexpected::Map => "a table",
        _ => "a value of another type",
    }
}

fn noun_of_value(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// What unknown keys of a struct are called in messages ("unknown flow").
fn noun_for_struct(name: &str) -> &'static str {
    match name {
        "Config" => "section",
        _ => "key",
    }
}

/// The result of [`deserialize`].
pub(crate) struct Outcome<T> {
    /// `None` only when recovery could not get past the root.
    pub(crate) value: Option<T>,
    pub(crate) errors: Vec<DeError>,
    /// Keys dropped during recovery; their values in `value` are defaults, so
    /// later checks must not complain about them.
    pub(crate) skipped: BTreeSet<KeyPath>,
    /// Stopped at `max_errors`.
    pub(crate) truncated: bool,
}

/// Deserialize `T` from `root`, collecting up to `max_errors` errors.
///
/// Each round either succeeds or adds one key to the skip set, so this terminates.
/// A "missing key" that is only missing because we skipped it is not reported;
/// instead its whole table is skipped, which ends at a section that has a default.
pub(crate) fn deserialize<T: DeserializeOwned>(
    root: &Spanned<DeValue<'_>>,
    max_errors: usize,
) -> Outcome<T> {
    deserialize_at(root, &KeyPath::root(), &[], max_errors)
}

/// [`deserialize`] of the table at `path` (a flow's section), leaving out the keys in `hide`
/// (read by someone else).
pub(crate) fn deserialize_at<T: DeserializeOwned>(
    node: &Spanned<DeValue<'_>>,
    path: &KeyPath,
    hide: &[&str],
    max_errors: usize,
) -> Outcome<T> {
    let mut skipped = BTreeSet::new();
    let mut errors = Vec::new();
    loop {
        let de = ValueDe {
            value: node,
            path: path.clone(),
            skip: &skipped,
            hide: None,
            hide_keys: hide,
        };
        let err = match T::deserialize(de) {
            Ok(value) => {
                return Outcome {
                    value: Some(value),
                    errors,
                    skipped,
                    truncated: false,
                };
            }
            Err(err) => err,
        };
        let at = err.path.clone().unwrap_or_default();
        // Skip the key the error is about. For a missing key that means its table;
        // if the key is missing only because an earlier round skipped it, the error
        // is a consequence and not reported.
        let consequence =
            matches!(&err.kind, Kind::Missing { field, .. } if skipped.contains(&at.key(field)));
        if !consequence {
            errors.push(err);
        }
        let truncated = errors.len() >= max_errors;
        if at == *path || !at.starts_with(path) || skipped.contains(&at) || truncated {
            return Outcome {
                value: None,
                errors,
                skipped,
                truncated,
            };
        }
        skipped.insert(at);
    }
}

/// Displays a visitor's own description of what it expects.
struct Expecting<'v, V>(&'v V);

impl<'de, V: Visitor<'de>> fmt::Display for Expecting<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

struct OneOf(&'static [&'static str]);

impl fmt::Display for OneOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", self.0.join(", "))
    }
}

struct ValueDe<'a, 'i> {
    value: &'a Spanned<DeValue<'i>>,
    path: KeyPath,
    skip: &'a BTreeSet<KeyPath>,
    /// A key to leave out (the tag of a tagged enum, already consumed).
    hide: Option<&'a str>,
    /// Keys of this table someone else reads (a flow section's shared keys).
    hide_keys: &'a [&'a str],
}

impl<'a, 'i> ValueDe<'a, 'i> {
    fn span(&self) -> Range<usize> {
        self.value.span()
    }

    fn error(&self, message: impl Into<String>) -> DeError {
        DeError::other(message).at(&self.path, &self.span())
    }

    fn mismatch(&self, expected: &dyn fmt::Display) -> DeError {
        self.error(format!(
            "expected {expected}, found {}",
            noun_of_value(self.value.get_ref())
        ))
    }

    fn integer(&self) -> Result<i128, DeError> {
        match self.value.get_ref() {
            DeValue::Integer(int) => {
                let radix = int.radix();
                if !(2..=36).contains(&radix) {
                    return Err(self.error("unsupported integer format"));
                }
                i128::from_str_radix(int.as_str(), radix)
                    .map_err(|_| self.error("integer is too large"))
            }
            _ => Err(self.mismatch(&"an integer")),
        }
    }

    fn map_de(&self, table: &'a toml::de::DeTable<'i>, noun: &'static str) -> MapDe<'a, 'i> {
        let entries = table
            .iter()
            .filter(|(k, _)| Some(k.get_ref().as_ref()) != self.hide)
            .filter(|(k, _)| !self.hide_keys.contains(&k.get_ref().as_ref()))
            .filter(|(k, _)| !self.skip.contains(&self.path.key(k.get_ref())))
            .collect();
        MapDe {
            entries,
            pos: 0,
            path: self.path.clone(),
            skip: self.skip,
            noun,
        }
    }
}

macro_rules! deserialize_integer {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let n = self.integer()?;
            match <$ty>::try_from(n) {
                Ok(v) => {
                    let (path, span) = (self.path.clone(), self.span());
                    visitor.$visit(v).map_err(|e: DeError| e.at(&path, &span))
                }
                Err(_) => Err(self.error(format!(
                    "{n} is out of range; expected an integer from {} to {}",
                    <$ty>::MIN,
                    <$ty>::MAX
                ))),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDe<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, span) = (self.path.clone(), self.span());
        match self.value.get_ref() {
            DeValue::String(s) => visitor.visit_str(s),
            DeValue::Integer(_) => match self.integer()? {
                n if i64::try_from(n).is_ok() => visitor.visit_i64(n as i64),
                n => visitor.visit_i128(n),
            },
            DeValue::Float(f) => match f.as_str().parse::<f64>() {
                Ok(v) => visitor.visit_f64(v),
                Err(_) => Err(self.error("invalid float")),
            },
            DeValue::Boolean(b) => visitor.visit_bool(*b),
            // No field takes a datetime; say so instead of passing its text on.
            DeValue::Datetime(_) => Err(self.mismatch(&Expecting(&visitor))),
            DeValue::Array(items) => visitor.visit_seq(SeqDe {
                items,
                pos: 0,
                path: self.path.clone(),
                skip: self.skip,
            }),
            DeValue::Table(table) => visitor.visit_map(self.map_de(table, "key")),
        }
        .map_err(|e: DeError| e.at(&path, &span))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.get_ref() {
            DeValue::Boolean(b) => {
                let (path, span) = (self.path.clone(), self.span());
                visitor
                    .visit_bool(*b)
                    .map_err(|e: DeError| e.at(&path, &span))
            }
            _ => Err(self.mismatch(&"a boolean (true or false)")),
        }
    }

    deserialize_integer! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.get_ref() {
            DeValue::Float(_) | DeValue::Integer(_) => self.deserialize_any(visitor),
            _ => Err(self.mismatch(&"a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.get_ref() {
            DeValue::String(s) => {
                let (path, span) = (self.path.clone(), self.span());
                visitor
                    .visit_str(s)
                    .map_err(|e: DeError| e.at(&path, &span))
            }
            _ => Err(self.mismatch(&"a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // TOML has no null: a present key is always `Some`.
        let (path, span) = (self.path.clone(), self.span());
        visitor
            .visit_some(self)
            .map_err(|e: DeError| e.at(&path, &span))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        Err(self.mismatch(&Expecting(&visitor)))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (path, span) = (self.path.clone(), self.span());
        visitor
            .visit_newtype_struct(self)
            .map_err(|e: DeError| e.at(&path, &span))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.get_ref() {
            DeValue::Array(_) => self.deserialize_any(visitor),
            _ => Err(self.mismatch(&"an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.get_ref() {
            DeValue::Table(_) => self.deserialize_any(visitor),
            _ => Err(self.mismatch(&"a table")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value.get_ref() {
            DeValue::Table(table) => {
                let (path, span) = (self.path.clone(), self.span());
                visitor
                    .visit_map(self.map_de(table, noun_for_struct(name)))
                    .map_err(|e: DeError| e.at(&path, &span))
            }
            _ => Err(self.mismatch(&"a table")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (path, span) = (self.path.clone(), self.span());
        match (self.value.get_ref(), name.strip_prefix(TAG_PREFIX)) {
            (DeValue::String(s), None) => visitor.visit_enum(UnitEnum { name: s }),
            (DeValue::Table(table), Some(tag)) => {
                let tag_path = path.key(tag);
                let entry = table
                    .get_key_value(tag)
                    .filter(|_| !self.skip.contains(&tag_path));
                let Some((_, tag_value)) = entry else {
                    let hint = format!("{tag} must be one of {}", variants.join(", "));
                    return Err(DeError::from_kind(Kind::Missing {
                        field: tag.to_owned(),
                        hint: Some(hint),
                    })
                    .at(&path, &span));
                };
                let DeValue::String(variant) = tag_value.get_ref() else {
                    let found = noun_of_value(tag_value.get_ref());
                    return Err(DeError::other(format!(
                        "expected a string ({}), found {found}",
                        OneOf(variants)
                    ))
                    .at(&tag_path, &tag_value.span()));
                };
                visitor.visit_enum(TaggedEnum {
                    tag,
                    variant,
                    tag_path,
                    tag_span: tag_value.span(),
                    body: ValueDe {
                        hide: Some(tag),
                        ..self
                    },
                })
            }
            (_, Some(tag)) => Err(self.mismatch(&format_args!("a table with a {tag} key"))),
            (_, None) => Err(self.mismatch(&format_args!("a string ({})", OneOf(variants)))),
        }
        .map_err(|e: DeError| e.at(&path, &span))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// Keys, enum variant names: plain strings whose location the caller attaches.
struct StrDe<'a>(&'a str);

impl<'de> de::Deserializer<'de> for StrDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct MapDe<'a, 'i> {
    entries: Vec<(&'a Spanned<DeString<'i>>, &'a Spanned<DeValue<'i>>)>,
    pos: usize,
    path: KeyPath,
    skip: &'a BTreeSet<KeyPath>,
    noun: &'static str,
}

impl<'de> de::MapAccess<'de> for MapDe<'_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(&(key, _)) = self.entries.get(self.pos) else {
            return Ok(None);
        };
        let noun = self.noun;
        seed.deserialize(StrDe(key.get_ref()))
            .map(Some)
            .map_err(|mut e: DeError| {
                if let Kind::UnknownKey { noun: n, .. } = &mut e.kind {
                    *n = noun;
                }
                e.at(&self.path.key(key.get_ref()), &key.span())
            })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some(&(key, value)) = self.entries.get(self.pos) else {
            return Err(DeError::other(
                "internal error: value requested before its key",
            ));
        };
        self.pos += 1;
        let path = self.path.key(key.get_ref());
        let de = ValueDe {
            value,
            path: path.clone(),
            skip: self.skip,
            hide: None,
            hide_keys: &[],
        };
        // Also attach here: errors raised after our deserializer returned (e.g. a
        // duration that is a string but not a valid one) only pass through this point.
        seed.deserialize(de)
            .map_err(|e: DeError| e.at(&path, &value.span()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len().saturating_sub(self.pos))
    }
}

struct SeqDe<'a, 'i> {
    items: &'a [Spanned<DeValue<'i>>],
    pos: usize,
    path: KeyPath,
    skip: &'a BTreeSet<KeyPath>,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        while let Some(value) = self.items.get(self.pos) {
            let path = self.path.index(self.pos);
            self.pos += 1;
            if self.skip.contains(&path) {
                continue;
            }
            let de = ValueDe {
                value,
                path: path.clone(),
                skip: self.skip,
                hide: None,
                hide_keys: &[],
            };
            return seed
                .deserialize(de)
                .map(Some)
                .map_err(|e: DeError| e.at(&path, &value.span()));
        }
        Ok(None)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len().saturating_sub(self.pos))
    }
}

/// A unit-variant enum written as a string (`format = "json"`).
struct UnitEnum<'a> {
    name: &'a str,
}

impl<'de> de::EnumAccess<'de> for UnitEnum<'_> {
    type Error = DeError;
    type Variant = UnitOnly;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, UnitOnly), DeError> {
        Ok((seed.deserialize(StrDe(self.name))?, UnitOnly))
    }
}

struct UnitOnly;

impl<'de> de::VariantAccess<'de> for UnitOnly {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, DeError> {
        Err(DeError::other("expected a table, found a string"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(DeError::other("expected an array, found a string"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(DeError::other("expected a table, found a string"))
    }
}

/// A table whose `tag` key picks the variant; the rest of the table is its body.
struct TaggedEnum<'a, 'i> {
    tag: &'static str,
    variant: &'a str,
    tag_path: KeyPath,
    tag_span: Range<usize>,
    body: ValueDe<'a, 'i>,
}

impl<'de, 'a, 'i> de::EnumAccess<'de> for TaggedEnum<'a, 'i> {
    type Error = DeError;
    type Variant = ValueDe<'a, 'i>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let tag = self.tag;
        let value = seed
            .deserialize(StrDe(self.variant))
            .map_err(|mut e: DeError| {
                if let Kind::UnknownValue { noun, .. } = &mut e.kind {
                    *noun = tag;
                }
                e.at(&self.tag_path, &self.tag_span)
            })?;
        Ok((value, self.body))
    }
}

impl<'de> de::VariantAccess<'de> for ValueDe<'_, '_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.value.get_ref() {
            DeValue::Table(table) => match self.map_de(table, "key").entries.first() {
                Some((key, _)) => Err(DeError::from_kind(Kind::UnknownKey {
                    expected: Vec::new(),
                    noun: "key",
                })
                .at(&self.path.key(key.get_ref()), &key.span())),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use toml::de::DeTable;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: u32,
        #[serde(default)]
        b: Vec<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Outer {
        x: Option<Inner>,
        y: bool,
        z: u8,
    }

    fn run(text: &str) -> Outcome<Outer> {
        let table = DeTable::parse(text).unwrap();
        let root = Spanned::new(table.span(), DeValue::Table(table.into_inner()));
        deserialize(&root, 100)
    }

    fn messages(out: &Outcome<Outer>) -> Vec<String> {
        out.errors
            .iter()
            .map(|e| format!("{}: {e}", e.display_path()))
            .collect()
    }

    #[test]
    fn reports_all_independent_errors() {
        let out = run("y = 1\nz = 300\nq = 1\n[x]\na = \"s\"\nb = [1, \"ok\", true]\n");
        let mut msgs = messages(&out);
        msgs.sort();
        assert_eq!(
            msgs,
            [
                "q: unknown key; expected one of x, y, z",
                "x.a: expected an integer, found a string",
                "x.b[0]: expected a string, found an integer",
                "x.b[2]: expected a string, found a boolean",
                "y: expected a boolean (true or false), found an integer",
                "z: 300 is out of range; expected an integer from 0 to 255",
            ]
        );
        // x lost its required `a`, so the whole table fell back to its default.
        assert!(out.value.unwrap().x.is_none());
    }

    #[test]
    fn valid_input_round_trips() {
        let out = run("y = true\nz = 7\n[x]\na = 0x10\nb = [\"p\", \"q\"]\n");
        assert!(out.errors.is_empty());
        let outer = out.value.unwrap();
        let x = outer.x.unwrap();
        assert_eq!(
            (x.a, x.b, outer.y, outer.z),
            (16, vec!["p".to_owned(), "q".to_owned()], true, 7)
        );
    }

    #[test]
    fn missing_required_key_is_reported_once() {
        let out = run("[x]\nb = []\n");
        assert_eq!(messages(&out), ["x.a: missing required key"]);
    }

    #[test]
    fn spans_point_at_the_offending_key_or_value() {
        let text = "y = true\n[x]\na = 1\nnope = 2\n";
        let out = run(text);
        let span = out.errors[0].span.clone().unwrap();
        assert_eq!(&text[span], "nope");
    }
}
