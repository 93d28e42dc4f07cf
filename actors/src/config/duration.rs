//! Durations written as `"250ms"`, `"10s"`, `"5m"`, `"1h"`, `"1d"` or combined (`"1h30m"`).
//!
//! Strings rather than bare integers so that the unit is always visible in the file:
//! `timeout = 10` could mean seconds or milliseconds, `timeout = "10s"` cannot.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration {0:?}: expected a number followed by ms, s, m, h or d")]
    Syntax(String),
    #[error("invalid duration {0:?}: too large")]
    TooLarge(String),
}

/// Parses one or more `NUMBER UNIT` pairs with no spaces, e.g. `"1h30m"`.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax(text.to_owned());
    let too_large = || DurationError::TooLarge(text.to_owned());
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(syntax());
    }
    let mut total = Duration::ZERO;
    let mut i = 0;
    while i < bytes.len() {
        let digits_end = i + bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits_end == i {
            return Err(syntax());
        }
        let unit_end = digits_end
            + bytes[digits_end..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
        // Both slices end on ASCII boundaries, so indexing cannot split a character.
        let number: u64 = text[i..digits_end].parse().map_err(|_| too_large())?;
        let part = match &text[digits_end..unit_end] {
            "ms" => Some(Duration::from_millis(number)),
            "s" => Some(Duration::from_secs(number)),
            "m" => number.checked_mul(60).map(Duration::from_secs),
            "h" => number.checked_mul(3600).map(Duration::from_secs),
            "d" => number.checked_mul(86_400).map(Duration::from_secs),
            _ => return Err(syntax()),
        };
        total = part
            .and_then(|p| total.checked_add(p))
            .ok_or_else(too_large)?;
        i = unit_end;
    }
    Ok(total)
}

/// The inverse of [`parse`] at millisecond precision, used in messages and `--help`
/// text so durations read the way they are written in `config.toml`.
pub fn format(duration: Duration) -> String {
    let mut ms = duration.as_millis();
    if ms == 0 {
        return if duration.is_zero() {
            "0s".into()
        } else {
            "<1ms".into()
        };
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&(ms / size).to_string());
            out.push_str(unit);
            ms %= size;
        }
    }
    out
}

/// `deserialize_with` target for `Duration` fields.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    // deserialize_any so that a bare integer reaches `visit_i64` and gets a hint
    // about the missing unit instead of a generic type error.
    deserializer.deserialize_any(DurationVisitor)
}

/// `deserialize_with` target for `Option<Duration>` fields (present means `Some`:
/// TOML has no null, so absence is the only way to say "not set").
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    deserialize(deserializer).map(Some)
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string such as \"10s\" or \"1h30m\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(
                "expected a duration string such as \"10s\", found a negative integer",
            )),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Err(E::custom(format!(
            "expected a duration string such as \"{v}s\", found an integer (the unit is required)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_combinations() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1s500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_bad_syntax_with_the_documented_message() {
        let err = parse("5x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid duration \"5x\": expected a number followed by ms, s, m, h or d"
        );
        for bad in [
            "", "s", "10", "1.5s", " 10s", "10s ", "-1s", "10 s", "1hh", "ms10", "١s", "10sé",
        ] {
            assert!(
                matches!(parse(bad), Err(DurationError::Syntax(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        for big in [
            "99999999999999999999999s",
            "18446744073709551615d",
            "18446744073709551615s18446744073709551615s",
        ] {
            assert!(
                matches!(parse(big), Err(DurationError::TooLarge(_))),
                "{big:?}"
            );
        }
    }

    #[test]
    fn format_round_trips() {
        for text in ["0s", "250ms", "10s", "5m", "1h30m", "1d", "1d2h3m4s5ms"] {
            let d = parse(text).unwrap();
            assert_eq!(format(d), text);
        }
    }
}
