//! Relay-style cursor pagination as Shopify does it: `first`/`after` forwards, `last`/`before`
//! backwards, `reverse` flips the sort, at most 250 per page, and one of `first`/`last` required.
//!
//! Cursors are opaque to clients but, like Shopify's, are base64 of
//! `{"last_id": <id>, "last_value": <sort value>}`: the position of the last item seen, not an
//! offset. So paging through `orders(sortKey: UPDATED_AT)` while orders change neither skips
//! nor repeats an order that did not move (an order updated meanwhile moves to the end, which
//! is exactly what a reconciliation poll wants).

use std::cmp::Ordering;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// Shopify's page size limit.
pub const MAX_PAGE_SIZE: i64 = 250;

/// The pagination arguments of a connection field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageArgs {
    pub first: Option<usize>,
    pub last: Option<usize>,
    pub after: Option<String>,
    pub before: Option<String>,
    pub reverse: bool,
}

impl PageArgs {
    /// Read and check `first`, `last`, `after`, `before`, `reverse` from field arguments.
    pub fn from_args(args: &Map<String, Value>) -> Result<PageArgs, String> {
        let size = |name: &str| -> Result<Option<usize>, String> {
            match args.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => {
                    let n = v
                        .as_i64()
                        .ok_or_else(|| format!("`{name}` must be an integer"))?;
                    if n < 0 {
                        Err(format!(
                            "`{name}` cannot be negative, but {n} was requested"
                        ))
                    } else if n > MAX_PAGE_SIZE {
                        Err(format!(
                            "`{name}` cannot exceed {MAX_PAGE_SIZE}, but {n} was requested"
                        ))
                    } else {
                        Ok(Some(n as usize))
                    }
                }
            }
        };
        let page = PageArgs {
            first: size("first")?,
            last: size("last")?,
            after: args
                .get("after")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            before: args
                .get("before")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            reverse: args
                .get("reverse")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        };
        if page.first.is_none() && page.last.is_none() {
            return Err("you must provide one of first or last".into());
        }
        Ok(page)
    }
}

/// What a list is sorted by; compared within one list only.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

impl SortValue {
    fn to_json(&self) -> Value {
        match self {
            SortValue::Int(n) => json!(n),
            SortValue::Text(s) => json!(s),
        }
    }

    fn from_json(v: &Value) -> Option<SortValue> {
        match v {
            Value::Number(n) => n.as_i64().map(SortValue::Int),
            Value::String(s) => Some(SortValue::Text(s.clone())),
            _ => None,
        }
    }
}

/// A position in a sorted list: the sort value, then the id as a tie-breaker.
pub type SortKey = (SortValue, u64);

pub fn encode_cursor(key: &SortKey) -> String {
    STANDARD.encode(json!({"last_id": key.1, "last_value": key.0.to_json()}).to_string())
}

/// `None` for anything that is not one of our cursors.
pub fn decode_cursor(cursor: &str) -> Option<SortKey> {
    let bytes = STANDARD.decode(cursor.trim()).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    Some((
        SortValue::from_json(v.get("last_value")?)?,
        v.get("last_id")?.as_u64()?,
    ))
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    pub edges: Vec<(String, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl Page<Value> {
    /// The `__page` marker the projector turns into `edges`/`nodes`/`pageInfo`.
    pub fn into_marker(self) -> Value {
        let edges: Vec<Value> = self
            .edges
            .into_iter()
            .map(|(cursor, node)| json!({"cursor": cursor, "node": node}))
            .collect();
        json!({"__page": {
            "edges": edges,
            "hasNextPage": self.has_next_page,
            "hasPreviousPage": self.has_previous_page,
        }})
    }
}

/// Sort by key (ascending, or descending with `reverse`), then apply `after`/`before` and
/// `first`/`last`. `hasNextPage`/`hasPreviousPage` say whether the full list has items beyond
/// the page in each direction. A malformed cursor is an error, as on Shopify.
pub fn paginate<T>(mut items: Vec<(SortKey, T)>, args: &PageArgs) -> Result<Page<T>, String> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    if args.reverse {
        items.reverse();
    }
    // Whether `key` comes after `cursor` in the current order.
    let after = |key: &SortKey, cursor: &SortKey| -> bool {
        match key.cmp(cursor) {
            Ordering::Greater => !args.reverse,
            Ordering::Less => args.reverse,
            Ordering::Equal => false,
        }
    };
    let mut start = 0;
    let mut end = items.len();
    if let Some(c) = &args.after {
        let cursor = decode_cursor(c)
            .ok_or_else(|| format!("Invalid cursor for current pagination sort: {c}"))?;
        start = items
            .iter()
            .position(|(k, _)| after(k, &cursor))
            .unwrap_or(items.len());
    }
    if let Some(c) = &args.before {
        let cursor = decode_cursor(c)
            .ok_or_else(|| format!("Invalid cursor for current pagination sort: {c}"))?;
        // `before` keeps only what precedes the cursor's position.
        end = items
            .iter()
            .position(|(k, _)| k == &cursor || after(k, &cursor))
            .unwrap_or(items.len())
            .max(start);
    }
    if let Some(first) = args.first {
        end = end.min(start + first);
    }
    if let Some(last) = args.last {
        start = start.max(end.saturating_sub(last));
    }
    let has_previous_page = start > 0;
    let has_next_page = end < items.len();
    let edges = items
        .into_iter()
        .skip(start)
        .take(end - start)
        .map(|(k, item)| (encode_cursor(&k), item))
        .collect();
    Ok(Page {
        edges,
        has_next_page,
        has_previous_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u64) -> Vec<(SortKey, u64)> {
        (1..=n)
            .map(|i| ((SortValue::Int(i as i64 * 10), i), i))
            .collect()
    }

    fn args(first: Option<usize>, last: Option<usize>) -> PageArgs {
        PageArgs {
            first,
            last,
            ..PageArgs::default()
        }
    }

    fn ids(page: &Page<u64>) -> Vec<u64> {
        page.edges.iter().map(|(_, i)| *i).collect()
    }

    #[test]
    fn forwards_and_backwards_with_cursors() {
        let p1 = paginate(keys(5), &args(Some(2), None)).unwrap();
        assert_eq!(ids(&p1), [1, 2]);
        assert!(p1.has_next_page && !p1.has_previous_page);
        let p2 = paginate(
            keys(5),
            &PageArgs {
                after: Some(p1.edges[1].0.clone()),
                ..args(Some(2), None)
            },
        )
        .unwrap();
        assert_eq!(ids(&p2), [3, 4]);
        assert!(p2.has_next_page && p2.has_previous_page);
        let p3 = paginate(
            keys(5),
            &PageArgs {
                after: Some(p2.edges[1].0.clone()),
                ..args(Some(2), None)
            },
        )
        .unwrap();
        assert_eq!(ids(&p3), [5]);
        assert!(!p3.has_next_page);
        let back = paginate(
            keys(5),
            &PageArgs {
                before: Some(p3.edges[0].0.clone()),
                ..args(None, Some(2))
            },
        )
        .unwrap();
        assert_eq!(ids(&back), [3, 4]);
        let rev = paginate(
            keys(5),
            &PageArgs {
                reverse: true,
                ..args(Some(2), None)
            },
        )
        .unwrap();
        assert_eq!(ids(&rev), [5, 4]);
        let rev2 = paginate(
            keys(5),
            &PageArgs {
                reverse: true,
                after: Some(rev.edges[1].0.clone()),
                ..args(Some(2), None)
            },
        )
        .unwrap();
        assert_eq!(ids(&rev2), [3, 2]);
    }

    #[test]
    fn an_item_that_moves_is_not_repeated() {
        let p1 = paginate(keys(4), &args(Some(2), None)).unwrap();
        // Item 1 is updated: its sort value moves past everything.
        let mut moved = keys(4);
        moved[0].0 = (SortValue::Int(99), 1);
        let p2 = paginate(
            moved,
            &PageArgs {
                after: Some(p1.edges[1].0.clone()),
                ..args(Some(5), None)
            },
        )
        .unwrap();
        assert_eq!(ids(&p2), [3, 4, 1]);
    }

    #[test]
    fn arguments_are_checked() {
        let map = |v: Value| v.as_object().unwrap().clone();
        assert!(
            PageArgs::from_args(&map(json!({})))
                .unwrap_err()
                .contains("first or last")
        );
        assert!(
            PageArgs::from_args(&map(json!({"first": 251})))
                .unwrap_err()
                .contains("250")
        );
        assert!(PageArgs::from_args(&map(json!({"first": 250}))).is_ok());
        assert!(
            paginate(
                keys(2),
                &PageArgs {
                    after: Some("nope".into()),
                    ..args(Some(1), None)
                }
            )
            .is_err()
        );
    }
}
