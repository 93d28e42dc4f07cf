//! Decoding one entry field by field, so that every problem of every field is named (a serde
//! derive stops at the first). The same decoder reads a JSON object and a CSV row, whose cells
//! are all text: a number in a cell is read as the number it spells.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use serde_json::{Map, Value};

use super::report::{Report, describe};

/// A record of the inbound API, decoded from an object (or a CSV row) with [`Fields`].
pub trait Decode: Sized {
    /// The fields it may have, in the order a headerless CSV row lists them.
    const FIELDS: &'static [&'static str];

    /// The record, or `None` once a problem was reported (every problem, not just the first).
    fn decode(f: &mut Fields<'_>) -> Option<Self>;
}

/// The fields of one entry, and where its problems go.
pub struct Fields<'r> {
    map: Map<String, Value>,
    /// `levels[3]` (then `.field`), `line 7` (then `: field`), or empty for the top level.
    prefix: String,
    separator: &'static str,
    /// CSV: every cell is text, and an empty one is absent.
    cells: bool,
    received_at: i64,
    report: &'r mut Report,
    /// Problems reported before this entry.
    before: usize,
}

impl<'r> Fields<'r> {
    /// The fields of a JSON object at `prefix` (`levels[3]`; empty at the top level).
    pub fn object(
        map: Map<String, Value>,
        prefix: String,
        received_at: i64,
        report: &'r mut Report,
    ) -> Fields<'r> {
        let before = report.count;
        Fields {
            map,
            prefix,
            separator: ".",
            cells: false,
            received_at,
            report,
            before,
        }
    }

    /// The cells of a CSV row on `line`, by column name.
    pub fn row(
        cells: impl IntoIterator<Item = (String, String)>,
        line: u64,
        received_at: i64,
        report: &'r mut Report,
    ) -> Fields<'r> {
        let map = cells
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let before = report.count;
        Fields {
            map,
            prefix: format!("line {line}"),
            separator: ": ",
            cells: true,
            received_at,
            report,
            before,
        }
    }

    /// When the request was received (ms): the default of a missing time.
    pub fn received_at(&self) -> i64 {
        self.received_at
    }

    /// `field` as messages name it.
    pub fn path(&self, field: &str) -> String {
        if self.prefix.is_empty() || field.is_empty() {
            if field.is_empty() {
                return self.prefix.clone();
            }
            field.to_string()
        } else {
            format!("{}{}{field}", self.prefix, self.separator)
        }
    }

    /// Reports a problem with `field`.
    pub fn problem(&mut self, field: &str, message: impl std::fmt::Display) {
        let at = self.path(field);
        self.report.push(format!("{at}: {message}"));
    }

    /// Reports every field not in `known`.
    pub fn only(&mut self, known: &[&str]) {
        let unknown: BTreeSet<String> = self
            .map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            self.problem(
                &key,
                format_args!("unknown field; expected {}", known.join(", ")),
            );
        }
    }

    /// Whether `field` was given (and not taken yet).
    pub fn has(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    /// `Some(())` when nothing was wrong with this entry: the last step of a [`Decode`].
    pub fn ok(&self) -> Option<()> {
        (self.report.count == self.before).then_some(())
    }

    /// A required non-empty string of at most `max` bytes.
    pub fn text(&mut self, field: &str, max: usize) -> Option<String> {
        match self.map.remove(field) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= max => Some(s),
            None => {
                self.problem(field, "missing");
                None
            }
            Some(other) => {
                self.problem(
                    field,
                    format_args!(
                        "expected a non-empty string of at most {max} characters, found {}",
                        describe(&other)
                    ),
                );
                None
            }
        }
    }

    /// A required whole number within `range`.
    pub fn whole(&mut self, field: &str, range: RangeInclusive<i64>) -> Option<i64> {
        let value = match self.map.remove(field) {
            Some(Value::String(s)) if self.cells => Some(
                serde_json::from_str::<serde_json::Number>(&s)
                    .map(Value::Number)
                    .unwrap_or(Value::String(s)),
            ),
            other => other,
        };
        let n = match value {
            Some(Value::Number(n)) => n,
            None => {
                self.problem(field, "missing");
                return None;
            }
            Some(other) => {
                self.problem(
                    field,
                    format_args!("expected a whole number, found {}", describe(&other)),
                );
                return None;
            }
        };
        match n.as_i64() {
            Some(q) if range.contains(&q) => return Some(q),
            Some(q) if q < *range.start() && *range.start() == 0 => {
                self.problem(field, format_args!("must not be negative, found {q}"))
            }
            Some(q) if q < *range.start() => self.problem(
                field,
                format_args!("must be at least {}, found {q}", range.start()),
            ),
            _ if n.is_f64() => {
                self.problem(field, format_args!("must be a whole number, found {n}"))
            }
            _ => self.problem(
                field,
                format_args!("must be at most {}, found {n}", range.end()),
            ),
        }
        None
    }

    /// An optional RFC 3339 time, in ms since the epoch; `null` is absent.
    pub fn opt_time(&mut self, field: &str) -> Option<i64> {
        match self.map.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(&s) {
                Ok(t) => Some(t.timestamp_millis()),
                Err(_) => {
                    self.problem(
                        field,
                        format_args!(
                            "expected an RFC 3339 time such as 2026-11-27T10:00:00Z, found {}",
                            describe(&Value::String(s))
                        ),
                    );
                    None
                }
            },
            Some(other) => {
                self.problem(
                    field,
                    format_args!("expected an RFC 3339 time, found {}", describe(&other)),
                );
                None
            }
        }
    }

    /// The raw value of `field`, taken out (for a decoder of its own); `null` is absent.
    pub fn take(&mut self, field: &str) -> Option<Value> {
        self.map.remove(field).filter(|v| !v.is_null())
    }

    /// An optional non-empty string of at most `max` bytes; `null` is absent.
    pub fn opt_text(&mut self, field: &str, max: usize) -> Option<String> {
        match self.take(field)? {
            Value::String(s) if !s.trim().is_empty() && s.len() <= max => Some(s),
            other => {
                self.problem(
                    field,
                    format_args!(
                        "expected a non-empty string of at most {max} characters, found {}",
                        describe(&other)
                    ),
                );
                None
            }
        }
    }

    /// An optional boolean (in a CSV cell: `true` or `false`); `null` is absent.
    pub fn opt_bool(&mut self, field: &str) -> Option<bool> {
        match self.take(field)? {
            Value::Bool(b) => Some(b),
            Value::String(s) if self.cells && (s == "true" || s == "false") => Some(s == "true"),
            other => {
                self.problem(
                    field,
                    format_args!("expected true or false, found {}", describe(&other)),
                );
                None
            }
        }
    }

    /// An optional list of at most `max_items` non-empty strings of at most `max` bytes each;
    /// each bad one is named by its index (`tags_add[2]`).
    pub fn opt_texts(&mut self, field: &str, max: usize, max_items: usize) -> Option<Vec<String>> {
        let items = match self.take(field)? {
            Value::Array(items) => items,
            other => {
                self.problem(
                    field,
                    format_args!("expected a list of strings, found {}", describe(&other)),
                );
                return None;
            }
        };
        if items.len() > max_items {
            self.problem(
                field,
                format_args!("at most {max_items} entries, found {}", items.len()),
            );
            return None;
        }
        let before = self.report.count;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::String(s) if !s.trim().is_empty() && s.len() <= max => out.push(s),
                other => self.problem(
                    &format!("{field}[{i}]"),
                    format_args!(
                        "expected a non-empty string of at most {max} characters, found {}",
                        describe(&other)
                    ),
                ),
            }
        }
        (self.report.count == before).then_some(out)
    }

    /// Decodes the object `value` found at `field` (`ref`, `metafields[2]`) with `decode`,
    /// reporting its problems under that path; fields outside `known` are reported.
    pub fn nested<T>(
        &mut self,
        field: &str,
        value: Value,
        known: &[&str],
        decode: impl FnOnce(&mut Fields<'_>) -> Option<T>,
    ) -> Option<T> {
        let Value::Object(map) = value else {
            self.problem(
                field,
                format_args!(
                    "expected an object with {}; found {}",
                    known.join(", "),
                    describe(&value)
                ),
            );
            return None;
        };
        let prefix = self.path(field);
        let mut inner = Fields::object(map, prefix, self.received_at, &mut *self.report);
        inner.only(known);
        let out = decode(&mut inner);
        inner.ok().and(out)
    }

    /// An optional list of at most `max_items` objects, each decoded as a `T` and its problems
    /// named by index (`metafields[2].key`), in place (`None` where one was bad, so checks of
    /// the whole list still name the right index); `per` says what the limit is per.
    pub fn opt_objects<T: Decode>(
        &mut self,
        field: &str,
        max_items: usize,
        per: &str,
    ) -> Vec<Option<T>> {
        let items = match self.take(field) {
            None => return Vec::new(),
            Some(Value::Array(items)) if items.len() <= max_items => items,
            Some(Value::Array(items)) => {
                self.problem(
                    field,
                    format_args!("at most {max_items} {per}, found {}", items.len()),
                );
                return Vec::new();
            }
            Some(other) => {
                self.problem(
                    field,
                    format_args!("expected a list, found {}", describe(&other)),
                );
                return Vec::new();
            }
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| self.nested(&format!("{field}[{i}]"), item, T::FIELDS, T::decode))
            .collect()
    }

    /// An optional string that must be one of `choices`.
    pub fn opt_choice<T: Copy>(&mut self, field: &str, choices: &[(&str, T)]) -> Option<T> {
        let value = self.map.remove(field)?;
        if let Value::String(s) = &value
            && let Some((_, t)) = choices.iter().find(|(name, _)| name == s)
        {
            return Some(*t);
        }
        let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
        let expected = match names.as_slice() {
            [one] => one.clone(),
            [first @ .., last] => format!("{} or {last}", first.join(", ")),
            [] => "nothing".into(),
        };
        self.problem(
            field,
            format_args!("expected {expected}, found {}", describe(&value)),
        );
        None
    }
}

/// Decodes one entry of a list: `list[index]`, which must be an object.
pub fn entry<E: Decode>(
    list: &str,
    index: usize,
    value: Value,
    received_at: i64,
    report: &mut Report,
) -> Option<E> {
    let Value::Object(map) = value else {
        report.push(format!(
            "{list}[{index}]: expected an object with {}; found {}",
            E::FIELDS.join(", "),
            describe(&value)
        ));
        return None;
    };
    let mut fields = Fields::object(map, format!("{list}[{index}]"), received_at, report);
    fields.only(E::FIELDS);
    E::decode(&mut fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Pair {
        name: String,
        n: i64,
    }

    impl Decode for Pair {
        const FIELDS: &'static [&'static str] = &["name", "n"];
        fn decode(f: &mut Fields<'_>) -> Option<Pair> {
            let name = f.text("name", 5);
            let n = f.whole("n", 1..=9);
            f.ok()?;
            Some(Pair { name: name?, n: n? })
        }
    }

    #[test]
    fn names_every_problem_of_an_entry() {
        let mut report = Report::default();
        let got = entry::<Pair>(
            "pairs",
            2,
            json!({"name": "toolong", "n": 0, "x": 1}),
            0,
            &mut report,
        );
        assert!(got.is_none());
        assert_eq!(
            report.errors,
            [
                "pairs[2].x: unknown field; expected name, n",
                "pairs[2].name: expected a non-empty string of at most 5 characters, found \"toolong\"",
                "pairs[2].n: must be at least 1, found 0",
            ]
        );
        let got = entry::<Pair>("pairs", 0, json!({"name": "ok", "n": 3}), 0, &mut report).unwrap();
        assert_eq!((got.name.as_str(), got.n), ("ok", 3));
        assert_eq!(report.count, 3);
    }

    #[test]
    fn csv_cells_are_text_and_numbers_are_read_from_them() {
        let mut report = Report::default();
        let cells = |n: &str| {
            vec![
                ("name".to_string(), "a".to_string()),
                ("n".into(), n.into()),
            ]
        };
        let mut f = Fields::row(cells("7"), 4, 0, &mut report);
        assert_eq!(Pair::decode(&mut f).map(|p| p.n), Some(7));
        let mut f = Fields::row(cells("2.5"), 5, 0, &mut report);
        assert!(Pair::decode(&mut f).is_none());
        let mut f = Fields::row(cells(""), 6, 0, &mut report);
        assert!(Pair::decode(&mut f).is_none());
        assert_eq!(
            report.errors,
            [
                "line 5: n: must be a whole number, found 2.5",
                "line 6: n: missing"
            ]
        );
    }

    #[test]
    fn choices_and_times() {
        let mut report = Report::default();
        let map = json!({"mode": "sometimes", "at": "yesterday", "ok": "2026-11-27T10:00:00Z"});
        let Value::Object(map) = map else {
            unreachable!()
        };
        let mut f = Fields::object(map, String::new(), 0, &mut report);
        assert_eq!(f.opt_choice("mode", &[("delta", 1), ("snapshot", 2)]), None);
        assert_eq!(f.opt_choice("absent", &[("delta", 1)]), None);
        assert_eq!(f.opt_time("at"), None);
        assert_eq!(f.opt_time("ok"), Some(1_795_773_600_000));
        assert!(f.ok().is_none());
        assert_eq!(
            report.errors,
            [
                "mode: expected \"delta\" or \"snapshot\", found \"sometimes\"",
                "at: expected an RFC 3339 time such as 2026-11-27T10:00:00Z, found \"yesterday\"",
            ]
        );
    }
}
