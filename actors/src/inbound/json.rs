//! The JSON front end: `{"source": …, "<list>": [entries…], head fields…}` parsed as it is read.
//! Only one entry at a time is a JSON tree; what is kept are the decoded records, and none of
//! them once anything was wrong (nothing of a bad request is stored).

use std::io::Read;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::fields::{Decode, Fields, entry};
use super::report::{Report, describe};
use super::{Accepted, Resource};

/// Longest `source` accepted.
const MAX_SOURCE: usize = 200;

/// Parses and validates a request of `R` from `reader`; at most `max_entries` entries.
/// `received_at` (ms) is the default of a missing time.
pub fn parse<R: Resource>(
    reader: impl Read,
    max_entries: usize,
    received_at: i64,
) -> Result<Accepted<R>, Report> {
    parse_at(reader, max_entries, received_at, &[])
}

/// [`parse`] of a request to a path with parameters (`returns/{id}/decision`): each
/// `(name, value)` of `path` is a head field, whatever the body says.
pub fn parse_at<R: Resource>(
    reader: impl Read,
    max_entries: usize,
    received_at: i64,
    path: &[(String, String)],
) -> Result<Accepted<R>, Report> {
    let mut report = Report::default();
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let mut state = State::<R> {
        report: &mut report,
        source: None,
        source_given: false,
        head: Map::new(),
        entries: Vec::new(),
        listed: false,
        max_entries,
        received_at,
    };
    let parsed = Top(&mut state).deserialize(&mut de).and_then(|()| de.end());
    let State {
        source,
        source_given,
        mut head,
        entries,
        listed,
        ..
    } = state;
    if let Err(e) = parsed {
        if !e.is_data() || report.is_empty() {
            report.push(format!("the body is not a valid {}: {e}", R::NOUN));
        }
        return Err(report);
    }
    for (name, value) in path {
        head.insert(name.clone(), Value::String(value.clone()));
    }
    let head = R::Head::decode(&mut Fields::object(
        head,
        String::new(),
        received_at,
        &mut report,
    ));
    // A source given but refused is already reported, with what was wrong with it.
    if !source_given {
        report.push("source: required (the name of the sending system)".into());
    }
    // A resource without a list is its head alone (`{"source", "decision", …}`).
    if !listed && !R::LIST.is_empty() {
        report.push(format!(
            "{}: required (a list of {{{}}})",
            R::LIST,
            R::Entry::FIELDS.join(", ")
        ));
    }
    match (source, head) {
        (Some(source), Some(head)) if report.is_empty() => Ok(Accepted {
            source,
            head,
            entries,
        }),
        _ => Err(report),
    }
}

struct State<'r, R: Resource> {
    report: &'r mut Report,
    source: Option<String>,
    /// The body had a `source` key (valid or not).
    source_given: bool,
    /// The head's fields, as sent: small, and decoded once the body is read.
    head: Map<String, Value>,
    entries: Vec<R::Entry>,
    listed: bool,
    max_entries: usize,
    received_at: i64,
}

struct Top<'a, 'r, R: Resource>(&'a mut State<'r, R>);

impl<'de, R: Resource> DeserializeSeed<'de> for Top<'_, '_, R> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, R: Resource> Visitor<'de> for Top<'_, '_, R> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match R::LIST {
            "" => write!(f, "an object with source"),
            list => write!(f, "an object with source and {list}"),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        while let Some(key) = map.next_key::<String>()? {
            if key == "source" {
                st.source_given = true;
                match map.next_value::<Value>()? {
                    Value::String(s) if !s.trim().is_empty() && s.len() <= MAX_SOURCE => {
                        st.source = Some(s)
                    }
                    other => st.report.push(format!(
                        "source: expected a non-empty string of at most {MAX_SOURCE} characters, found {}",
                        describe(&other)
                    )),
                }
            } else if key == R::LIST && !R::LIST.is_empty() {
                st.listed = true;
                map.next_value_seed(List(&mut *st))?;
            } else if R::Head::FIELDS.contains(&key.as_str()) {
                let value = map.next_value::<Value>()?;
                st.head.insert(key, value);
            } else {
                map.next_value::<IgnoredAny>()?;
                let mut known = vec!["source"];
                known.extend(R::Head::FIELDS);
                if !R::LIST.is_empty() {
                    known.push(R::LIST);
                }
                st.report.push(format!(
                    "{key}: unknown field; expected {}",
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }
}

struct List<'a, 'r, R: Resource>(&'a mut State<'r, R>);

impl<'de, R: Resource> DeserializeSeed<'de> for List<'_, '_, R> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<R: Resource> List<'_, '_, R> {
    fn not_a_list(self, found: &str) {
        self.0
            .report
            .push(format!("{}: expected a list, found {found}", R::LIST));
    }
}

impl<'de, R: Resource> Visitor<'de> for List<'_, '_, R> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a list of {}", R::LIST)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.0;
        let mut index = 0usize;
        while let Some(value) = seq.next_element::<Value>()? {
            if index == st.max_entries {
                st.report.push(format!(
                    "{list}: more than {} {list}; split the {}",
                    st.max_entries,
                    R::NOUN,
                    list = R::LIST,
                ));
            }
            if index < st.max_entries
                && let Some(record) =
                    entry::<R::Entry>(R::LIST, index, value, st.received_at, st.report)
                // Once anything is wrong nothing is stored: stop keeping records.
                && st.report.is_empty()
            {
                st.entries.push(record);
            }
            index += 1;
        }
        if !st.report.is_empty() {
            st.entries = Vec::new();
        }
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.not_a_list("null");
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.not_a_list("an object");
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.not_a_list("a string");
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_a_list("a boolean");
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_a_list("a number");
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.visit_i64(0)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.visit_i64(0)
    }
}
