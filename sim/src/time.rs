//! Timestamps as the Admin API renders them: RFC 3339 in UTC with second precision
//! (`2026-10-01T12:00:00Z`), stored as Unix seconds so that ordering and arithmetic are trivial.
//!
//! The standard library has no calendar, and the project has no date crate; the two conversions
//! below are Howard Hinnant's `days_from_civil` / `civil_from_days`, exact for the proleptic
//! Gregorian calendar.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time, in whole seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The wall clock now, truncated to the second (Shopify's precision).
    pub fn now() -> Timestamp {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp(secs)
    }

    /// Build from a calendar date and time of day (UTC). `None` for impossible dates.
    pub fn from_civil(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<Timestamp> {
        if !(1..=12).contains(&mo)
            || d == 0
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || s > 60
        {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(Timestamp(
            days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s),
        ))
    }

    pub fn plus_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs))
    }

    /// `2026-10-01T12:00:00Z`, the GraphQL `DateTime` shape.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400);
        let rem = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }

    /// `2026-10-01T07:00:00-05:00`: the same instant as the clock reads at `offset_minutes`
    /// from UTC, the shape of Shopify's REST payloads (written in the shop's time zone).
    pub fn to_rfc3339_at(self, offset_minutes: i64) -> String {
        let local = Timestamp(self.0 + offset_minutes * 60).to_rfc3339();
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let m = offset_minutes.abs();
        format!(
            "{}{sign}{:02}:{:02}",
            local.trim_end_matches('Z'),
            m / 60,
            m % 60
        )
    }

    /// Parse what clients put in search queries and what Shopify emits: `2026-01-01`,
    /// `2026-01-01T00:00:00Z`, `2026-01-01T00:00:00.123+02:00`, `2026-01-01 00:00:00`.
    /// Fractions of a second are dropped. `None` for anything else.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let s = text.trim();
        let b = s.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let y: i64 = s.get(0..4)?.parse().ok()?;
        let mo: u32 = s.get(5..7)?.parse().ok()?;
        let d: u32 = s.get(8..10)?.parse().ok()?;
        if b.len() == 10 {
            return Timestamp::from_civil(y, mo, d, 0, 0, 0);
        }
        if !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') || b.len() < 19 {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let h: u32 = s.get(11..13)?.parse().ok()?;
        let mi: u32 = s.get(14..16)?.parse().ok()?;
        let sec: u32 = s.get(17..19)?.parse().ok()?;
        let base = Timestamp::from_civil(y, mo, d, h, mi, sec)?;
        let mut rest = s.get(19..)?;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            rest = frac.get(digits..)?;
        }
        let offset = match rest {
            "" | "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let hm = &rest[1..];
                let (oh, om) = match hm.len() {
                    5 if hm.as_bytes()[2] == b':' => (hm.get(0..2)?, hm.get(3..5)?),
                    4 => (hm.get(0..2)?, hm.get(2..4)?),
                    2 => (hm, "00"),
                    _ => return None,
                };
                let oh: i64 = oh.parse().ok()?;
                let om: i64 = om.parse().ok()?;
                if oh > 23 || om > 59 {
                    return None;
                }
                sign * (oh * 3600 + om * 60)
            }
        };
        Some(Timestamp(base.0 - offset))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_parses_the_shapes_clients_send() {
        let t = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(t.0, 1_767_225_600);
        assert_eq!(t.to_rfc3339(), "2026-01-01T00:00:00Z");
        // In New York it was still the last evening of 2025; and back again.
        assert_eq!(t.to_rfc3339_at(-300), "2025-12-31T19:00:00-05:00");
        assert_eq!(Timestamp::parse(&t.to_rfc3339_at(-300)), Some(t));
        assert_eq!(t.to_rfc3339_at(330), "2026-01-01T05:30:00+05:30");
        assert_eq!(Timestamp::parse("2026-01-01"), Some(t));
        assert_eq!(Timestamp::parse("2026-01-01T02:00:00.250+02:00"), Some(t));
        assert_eq!(Timestamp::parse("2025-12-31T19:00:00-05:00"), Some(t));
        assert_eq!(Timestamp(951_782_400).to_rfc3339(), "2000-02-29T00:00:00Z");
        assert_eq!(Timestamp::parse("2026-02-30"), None);
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(Timestamp::parse("2026-01-01T00:00:00Q"), None);
    }
}
