//! Shopify's search syntax for the `query:` argument of connections:
//! `updated_at:>'2026-01-01T00:00:00Z' AND financial_status:paid`, `sku:A OR sku:B`,
//! `-tag:gift`, `(sku:A OR sku:B) created_at:>=2026-01-01`, `name:#1001`, `title:shirt*`.
//!
//! Grammar (whitespace between terms means AND, as on Shopify):
//! ```text
//! or     := and ("OR" and)*
//! and    := unary (["AND"] unary)*
//! unary  := ("NOT" | "-") unary | "(" or ")" | term
//! term   := field ":" [op] value | value          op := ">" | ">=" | "<" | "<="
//! value  := 'single quoted' | "double quoted" | bare word (trailing * = prefix match)
//! ```
//! Each resource says which fields it knows; a term on an unknown field is ignored (matches
//! everything) and reported as a warning, which is what Shopify does. A comma is part of a
//! value, not a list separator (`sku:A,B` is the SKU "A,B"): use OR.

use super::time::Timestamp;

#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// Matches everything (empty query).
    All,
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
    Term(Term),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// `None` for a bare word (matched against the resource's default text).
    pub field: Option<String>,
    pub op: Op,
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One value of a searchable field.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    Text(String),
    Time(Timestamp),
    Int(i64),
}

/// A resource that `query:` can filter.
pub trait Searchable {
    /// The field names this resource's search knows (others are ignored with a warning).
    fn search_fields() -> &'static [&'static str];
    /// The values of a known field (several for multi-valued ones like `tag` or `sku`).
    fn field_values(&self, field: &str) -> Vec<FieldValue>;
    /// What a bare word is matched against.
    fn default_text(&self) -> Vec<String>;
}

/// Parse a query string. Never fails: unbalanced parentheses and stray operators are
/// tolerated the way a search box tolerates them.
pub fn parse(text: &str) -> Query {
    let tokens = tokenize(text);
    let mut parser = Parser { tokens, pos: 0 };
    let mut parts = Vec::new();
    loop {
        parts.push(parser.or());
        // Only a stray `)` stops `or` early: skip it and go on.
        if parser.pos < parser.tokens.len() {
            parser.pos += 1;
        } else {
            break;
        }
    }
    simplify(Query::And(parts))
}

impl Query {
    /// Fields used by the query that `T` does not know (for the warnings).
    pub fn unknown_fields<T: Searchable>(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&mut |t| {
            if let Some(f) = &t.field
                && !T::search_fields().contains(&f.as_str())
                && !out.contains(f)
            {
                out.push(f.clone());
            }
        });
        out
    }

    fn walk(&self, f: &mut dyn FnMut(&Term)) {
        match self {
            Query::All => {}
            Query::And(qs) | Query::Or(qs) => qs.iter().for_each(|q| q.walk(f)),
            Query::Not(q) => q.walk(f),
            Query::Term(t) => f(t),
        }
    }

    pub fn matches<T: Searchable>(&self, item: &T) -> bool {
        match self {
            Query::All => true,
            Query::And(qs) => qs.iter().all(|q| q.matches(item)),
            Query::Or(qs) => qs.iter().any(|q| q.matches(item)),
            Query::Not(q) => !q.matches(item),
            Query::Term(term) => term_matches(term, item),
        }
    }
}

fn term_matches<T: Searchable>(term: &Term, item: &T) -> bool {
    let Some(field) = &term.field else {
        let needle = term.value.to_lowercase();
        return item
            .default_text()
            .iter()
            .any(|t| t.to_lowercase().contains(needle.trim_end_matches('*')));
    };
    if !T::search_fields().contains(&field.as_str()) {
        return true;
    }
    item.field_values(field)
        .iter()
        .any(|v| value_matches(v, term.op, &term.value))
}

fn value_matches(value: &FieldValue, op: Op, wanted: &str) -> bool {
    match value {
        FieldValue::Text(text) => {
            let (text, wanted) = (text.to_lowercase(), wanted.to_lowercase());
            match op {
                Op::Eq => match wanted.strip_suffix('*') {
                    Some(prefix) => text.starts_with(prefix),
                    None => text == wanted,
                },
                Op::Gt => text > wanted,
                Op::Ge => text >= wanted,
                Op::Lt => text < wanted,
                Op::Le => text <= wanted,
            }
        }
        FieldValue::Time(t) => {
            let Some(w) = Timestamp::parse(wanted) else {
                return false;
            };
            compare(t, op, &w)
        }
        FieldValue::Int(n) => {
            let Ok(w) = wanted.parse::<i64>() else {
                return false;
            };
            compare(n, op, &w)
        }
    }
}

fn compare<T: PartialOrd>(a: &T, op: Op, b: &T) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Lt => a < b,
        Op::Le => a <= b,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Or,
    And,
    Not,
    /// A term or a bare word, with `field:op` already split off.
    Term(Term),
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c == '-' && chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) {
            tokens.push(Token::Not);
            i += 1;
        } else {
            // A word runs to whitespace or a parenthesis, except inside quotes.
            let mut field = None;
            let mut word = String::new();
            let mut quoted = false;
            while i < chars.len() {
                let c = chars[i];
                if c == '\'' || c == '"' {
                    quoted = true;
                    let close = chars[i + 1..].iter().position(|&d| d == c);
                    match close {
                        Some(len) => {
                            word.extend(&chars[i + 1..i + 1 + len]);
                            i += len + 2;
                        }
                        None => {
                            word.extend(&chars[i + 1..]);
                            i = chars.len();
                        }
                    }
                    continue;
                }
                if c.is_whitespace() || c == '(' || c == ')' {
                    break;
                }
                if c == ':' && field.is_none() && !quoted {
                    field = Some(std::mem::take(&mut word));
                    i += 1;
                    continue;
                }
                word.push(c);
                i += 1;
            }
            if field.is_none() && !quoted {
                match word.as_str() {
                    "OR" => {
                        tokens.push(Token::Or);
                        continue;
                    }
                    "AND" => {
                        tokens.push(Token::And);
                        continue;
                    }
                    "NOT" => {
                        tokens.push(Token::Not);
                        continue;
                    }
                    _ => {}
                }
            }
            let (op, value) = split_op(&word);
            tokens.push(Token::Term(Term {
                field: field.map(|f| f.to_ascii_lowercase()),
                op,
                value,
            }));
        }
    }
    tokens
}

/// `>=2026-01-01` → (Ge, "2026-01-01"). Quotes were removed by the tokenizer, so
/// `updated_at:>'2026…'` arrives here as `>2026…`.
fn split_op(word: &str) -> (Op, String) {
    for (prefix, op) in [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)] {
        if let Some(rest) = word.strip_prefix(prefix) {
            return (op, rest.to_string());
        }
    }
    (Op::Eq, word.to_string())
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self) -> Query {
        let mut parts = Vec::new();
        loop {
            // An empty side (`sku:A OR`) is dropped rather than read as "match everything".
            let part = self.and();
            if part != Query::And(Vec::new()) {
                parts.push(part);
            }
            if self.peek() == Some(&Token::Or) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Query::Or(parts)
    }

    fn and(&mut self) -> Query {
        let mut parts = Vec::new();
        loop {
            match self.peek() {
                None | Some(Token::Or) | Some(Token::Close) => break,
                Some(Token::And) => {
                    self.pos += 1;
                }
                Some(_) => parts.push(self.unary()),
            }
        }
        Query::And(parts)
    }

    fn unary(&mut self) -> Query {
        match self.peek().cloned() {
            Some(Token::Not) => {
                self.pos += 1;
                Query::Not(Box::new(self.unary()))
            }
            Some(Token::Open) => {
                self.pos += 1;
                let inner = self.or();
                if self.peek() == Some(&Token::Close) {
                    self.pos += 1;
                }
                inner
            }
            Some(Token::Term(t)) => {
                self.pos += 1;
                Query::Term(t)
            }
            // A stray `)`, `AND` or `OR` where a term belongs: skip it.
            Some(_) => {
                self.pos += 1;
                Query::All
            }
            None => Query::All,
        }
    }
}

fn simplify(q: Query) -> Query {
    match q {
        Query::And(parts) | Query::Or(parts) if parts.is_empty() => Query::All,
        Query::And(parts) => {
            let mut parts: Vec<Query> = parts
                .into_iter()
                .map(simplify)
                .filter(|p| *p != Query::All)
                .collect();
            match parts.len() {
                0 => Query::All,
                1 => parts.remove(0),
                _ => Query::And(parts),
            }
        }
        Query::Or(parts) => {
            let mut parts: Vec<Query> = parts.into_iter().map(simplify).collect();
            if parts.contains(&Query::All) {
                Query::All
            } else if parts.len() == 1 {
                parts.remove(0)
            } else {
                Query::Or(parts)
            }
        }
        Query::Not(inner) => Query::Not(Box::new(simplify(*inner))),
        term => term,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing {
        sku: &'static str,
        updated: Timestamp,
        tags: Vec<&'static str>,
    }

    impl Searchable for Thing {
        fn search_fields() -> &'static [&'static str] {
            &["sku", "updated_at", "tag"]
        }
        fn field_values(&self, field: &str) -> Vec<FieldValue> {
            match field {
                "sku" => vec![FieldValue::Text(self.sku.into())],
                "updated_at" => vec![FieldValue::Time(self.updated)],
                "tag" => self
                    .tags
                    .iter()
                    .map(|t| FieldValue::Text(t.to_string()))
                    .collect(),
                _ => vec![],
            }
        }
        fn default_text(&self) -> Vec<String> {
            vec![self.sku.to_string()]
        }
    }

    fn thing(sku: &'static str, updated: &str) -> Thing {
        Thing {
            sku,
            updated: Timestamp::parse(updated).unwrap(),
            tags: vec!["gift"],
        }
    }

    #[test]
    fn dates_with_operators_quoted_or_not() {
        let a = thing("A", "2026-01-01T00:00:00Z");
        let b = thing("B", "2026-01-02T00:00:00Z");
        let q = parse("updated_at:>'2026-01-01T00:00:00Z'");
        assert!(!q.matches(&a) && q.matches(&b));
        let q = parse("updated_at:>=2026-01-01T00:00:00Z");
        assert!(q.matches(&a) && q.matches(&b));
        let q = parse("updated_at:<\"2026-01-02\"");
        assert!(q.matches(&a) && !q.matches(&b));
    }

    #[test]
    fn or_and_not_and_parentheses() {
        let a = thing("A-1", "2026-01-01");
        let b = thing("B-2", "2026-01-05");
        let c = thing("C-3", "2026-01-05");
        let q = parse("sku:A-1 OR sku:'B-2'");
        assert!(q.matches(&a) && q.matches(&b) && !q.matches(&c));
        let q = parse("(sku:A-1 OR sku:C-3) updated_at:>2026-01-02");
        assert!(!q.matches(&a) && !q.matches(&b) && q.matches(&c));
        let q = parse("-sku:A-1 AND NOT sku:B-2");
        assert!(!q.matches(&a) && !q.matches(&b) && q.matches(&c));
        assert!(
            parse("sku:a*").matches(&a),
            "prefix match, case-insensitive"
        );
        assert!(
            !parse("sku:A-1,B-2").matches(&a),
            "a comma is part of the value"
        );
        assert_eq!(parse("sku:A-1 OR"), parse("sku:A-1"));
    }

    #[test]
    fn unknown_fields_are_ignored_and_reported() {
        let a = thing("A", "2026-01-01");
        let q = parse("colour:red sku:A");
        assert!(q.matches(&a));
        assert_eq!(q.unknown_fields::<Thing>(), vec!["colour".to_string()]);
        assert_eq!(parse(""), Query::All);
        assert_eq!(parse("  ( ) OR "), Query::All);
        assert!(parse("tag:gift").matches(&a));
    }
}
