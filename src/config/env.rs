//! `${VAR}` substitution in string values.
//!
//! Done on the parsed tree, not the raw text: an environment value can then never
//! change the structure of the file (a `"` or newline in a token stays inside the
//! string), and each value keeps its original position for error messages.
//! Substituted values are not scanned again, so `$` inside a variable is literal.
//!
//! Syntax: `${VAR}`; `${VAR:-default}` (default when VAR is unset or empty);
//! `$$` is a literal `$`. `$VAR` without braces is an error rather than being
//! silently kept, because it almost always means a forgotten `{}`.

use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;

use xconnector_actors::config::KeyPath;

pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(crate) struct Problem {
    pub(crate) path: KeyPath,
    pub(crate) span: Range<usize>,
    pub(crate) message: String,
}

/// Substitute in every string value under `value`. Values with a problem are
/// recorded in `tainted` (their result is incomplete, so later checks on them
/// would only repeat the same mistake in other words).
pub(crate) fn substitute(
    value: &mut Spanned<DeValue<'_>>,
    path: &KeyPath,
    env: Env<'_>,
    problems: &mut Vec<Problem>,
    tainted: &mut Vec<KeyPath>,
) {
    let span = value.span();
    match value.get_mut() {
        DeValue::String(s) => {
            if !s.contains('$') {
                return;
            }
            let (expanded, messages) = expand(s, env);
            if !messages.is_empty() {
                tainted.push(path.clone());
            }
            problems.extend(messages.into_iter().map(|message| Problem {
                path: path.clone(),
                span: span.clone(),
                message,
            }));
            *s = expanded.into();
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute(item, &path.index(i), env, problems, tainted);
            }
        }
        DeValue::Table(table) => {
            for (key, item) in table.iter_mut() {
                substitute(item, &path.key(key.get_ref()), env, problems, tainted);
            }
        }
        DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) | DeValue::Datetime(_) => {}
    }
}

/// Expand one string. Returns the result (problems expand to nothing) and the problems.
pub(crate) fn expand(text: &str, env: Env<'_>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body_and_tail) = after.strip_prefix('{') {
            let Some(close) = body_and_tail.find('}') else {
                problems.push("unterminated \"${\" (write \"$$\" for a literal \"$\")".to_owned());
                rest = "";
                break;
            };
            let body = &body_and_tail[..close];
            rest = &body_and_tail[close + 1..];
            let (name, default) = match body.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (body, None),
            };
            if !is_var_name(name) {
                problems.push(format!(
                    "invalid environment variable name {name:?} in \"${{{body}}}\" \
                     (names use A-Z, a-z, 0-9 and _, and do not start with a digit)"
                ));
                continue;
            }
            match (env(name), default) {
                (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => problems.push(format!("environment variable {name} is not set")),
            }
        } else if after.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic()) {
            let name_len = after
                .find(|c: char| c != '_' && !c.is_ascii_alphanumeric())
                .unwrap_or(after.len());
            let name = &after[..name_len];
            problems.push(format!(
                "\"${name}\" is not substituted: write \"${{{name}}}\" for an environment variable \
                 or \"$${name}\" for a literal \"$\""
            ));
            out.push('$');
            rest = after;
        } else {
            // A `$` before anything else ("$5", "a$", "$ ") is just a dollar sign.
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    (out, problems)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr\"et\n[x]".into()),
            "EMPTY" => Some(String::new()),
            "DOLLAR" => Some("${TOKEN}".into()),
            _ => None,
        }
    }

    fn ok(text: &str) -> String {
        let (out, problems) = expand(text, &env);
        assert!(problems.is_empty(), "{text:?}: {problems:?}");
        out
    }

    #[test]
    fn substitutes_defaults_and_dollars() {
        assert_eq!(ok("${TOKEN}"), "s3cr\"et\n[x]");
        assert_eq!(ok("a-${TOKEN}-b"), "a-s3cr\"et\n[x]-b");
        assert_eq!(ok("${UNSET:-fallback}"), "fallback");
        assert_eq!(ok("${EMPTY:-fallback}"), "fallback");
        assert_eq!(ok("${EMPTY}"), "");
        assert_eq!(ok("${UNSET:-}"), "");
        assert_eq!(ok("${TOKEN:-fallback}"), "s3cr\"et\n[x]");
        assert_eq!(ok("$${TOKEN}"), "${TOKEN}");
        assert_eq!(ok("cost: $5, 100$"), "cost: $5, 100$");
        assert_eq!(ok("$$$$"), "$$");
        // Substituted values are not expanded again.
        assert_eq!(ok("${DOLLAR}"), "${TOKEN}");
        assert_eq!(ok("no dollars"), "no dollars");
    }

    #[test]
    fn reports_problems() {
        let (_, p) = expand("${MISSING}", &env);
        assert_eq!(p, ["environment variable MISSING is not set"]);
        let (_, p) = expand("${A}${B}", &env);
        assert_eq!(p.len(), 2);
        let (_, p) = expand("${oops", &env);
        assert!(p[0].contains("unterminated"), "{p:?}");
        let (_, p) = expand("${1BAD}", &env);
        assert!(
            p[0].contains("invalid environment variable name \"1BAD\""),
            "{p:?}"
        );
        let (_, p) = expand("$TOKEN", &env);
        assert!(p[0].contains("write \"${TOKEN}\""), "{p:?}");
        let (_, p) = expand("${}", &env);
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "$",
            "${",
            "${:-}",
            "$é",
            "é${TOKEN}é",
            "${é}",
            "}${",
            "$$$",
            "${A:-${B}}",
        ] {
            let _ = expand(text, &env);
        }
    }
}
