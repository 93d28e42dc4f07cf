//! What was wrong with a request: every problem counted, the first [`MAX_REPORTED`] named.

use serde_json::Value;

/// Bad entries named in one answer; the rest are counted.
pub const MAX_REPORTED: usize = 1000;

#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<String>,
    pub count: usize,
}

impl Report {
    pub fn push(&mut self, message: String) {
        self.count += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The report as lines of text, with the count of those not named.
    pub fn lines(&self) -> String {
        let mut text = String::new();
        for e in &self.errors {
            text.push_str(e);
            text.push('\n');
        }
        if self.count > self.errors.len() {
            text.push_str(&format!("… and {} more\n", self.count - self.errors.len()));
        }
        text
    }
}

/// A value as a message names it: its kind, and short strings and numbers themselves.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a long string".into(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}
