//! When a scheduled report is due: `[flows.reporting] schedule` (`daily 06:00`,
//! `weekly mon 06:00`) and the periods it covers, in the shop's local time. Pure: the caller
//! gives the time, so every rule here is tested without a clock.
//!
//! A daily schedule sends each shop day once it has ended and the time of day has come (the
//! report of Dec 6 at 06:00 on Dec 7). A weekly one sends each ISO week (Monday to Sunday) on
//! the named day after it ends (`weekly wed 06:00`: the week of Nov 30 on Wednesday Dec 9).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

/// How many missed periods a daemon that was down sends when it comes back, newest last.
/// Bounded so that a daemon back after months does not flood the BI endpoint; older ones are
/// skipped (and said so). Well within the store's shortest sensible dedupe retention (a week
/// of days; the weekly schedule reaches back 7 weeks, covered by the cursor, not dedupe).
pub const MAX_CATCH_UP: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "{0:?} is not a schedule: expected \"daily HH:MM\" or \"weekly DAY HH:MM\" (DAY: mon..sun), in the shop's time"
    )]
    Shape(String),
    #[error("{0:?} is not a time of day (HH:MM, 00:00 to 23:59)")]
    Time(String),
    #[error("{0:?} is not a day of the week (mon, tue, wed, thu, fri, sat, sun)")]
    Day(String),
}

/// How often reports are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Daily,
    /// Each ISO week, on this day of the following week.
    Weekly(Weekday),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub every: Every,
    /// The shop's local time of day it is sent at.
    pub at: NaiveTime,
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Schedule, ScheduleError> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let time = |t: &str| {
            NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| ScheduleError::Time(t.to_string()))
        };
        match words.as_slice() {
            [daily, at] if daily.eq_ignore_ascii_case("daily") => Ok(Schedule {
                every: Every::Daily,
                at: time(at)?,
            }),
            [weekly, day, at] if weekly.eq_ignore_ascii_case("weekly") => {
                let day = weekday(day).ok_or_else(|| ScheduleError::Day(day.to_string()))?;
                Ok(Schedule {
                    every: Every::Weekly(day),
                    at: time(at)?,
                })
            }
            _ => Err(ScheduleError::Shape(s.to_string())),
        }
    }
}

/// Three-letter day names only: `mon` is unambiguous in every locale a config is written in.
fn weekday(s: &str) -> Option<Weekday> {
    let days = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ];
    days.iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|(_, d)| *d)
}

/// One period a report covers: a shop day, or an ISO week (by its Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Period {
    Day(NaiveDate),
    Week(NaiveDate),
}

impl Period {
    pub fn from(self) -> NaiveDate {
        match self {
            Period::Day(d) | Period::Week(d) => d,
        }
    }

    /// The last day in the period.
    pub fn to(self) -> NaiveDate {
        match self {
            Period::Day(d) => d,
            Period::Week(monday) => monday + Days::new(6),
        }
    }

    pub fn next(self) -> Period {
        match self {
            Period::Day(d) => Period::Day(d + Days::new(1)),
            Period::Week(m) => Period::Week(m + Days::new(7)),
        }
    }

    /// `day:2026-12-06`, `week:2026-W49`: part of item keys, so stable forever. Parsed back
    /// by [`Period::parse`].
    pub fn key(self) -> String {
        self.to_string()
    }

    pub fn parse(s: &str) -> Option<Period> {
        let (kind, rest) = s.split_once(':')?;
        match kind {
            "day" => NaiveDate::parse_from_str(rest, "%Y-%m-%d")
                .ok()
                .map(Period::Day),
            "week" => {
                let (year, week) = rest.split_once("-W")?;
                NaiveDate::from_isoywd_opt(year.parse().ok()?, week.parse().ok()?, Weekday::Mon)
                    .map(Period::Week)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Day(d) => write!(f, "day:{d}"),
            Period::Week(m) => {
                let w = m.iso_week();
                write!(f, "week:{}-W{:02}", w.year(), w.week())
            }
        }
    }
}

/// What the tick should send now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Due {
    /// Oldest first.
    pub periods: Vec<Period>,
    /// Missed periods left out by [`MAX_CATCH_UP`].
    pub skipped: usize,
}

impl Schedule {
    /// When the report of `period` is due, in shop time.
    pub fn due_at(&self, period: Period) -> NaiveDateTime {
        let day = match (self.every, period) {
            (Every::Weekly(on), Period::Week(m)) => {
                m + Days::new(7 + u64::from(on.num_days_from_monday()))
            }
            (_, p) => p.to() + Days::new(1),
        };
        day.and_time(self.at)
    }

    /// The newest period whose report is due at `now` (shop time).
    pub fn last_due(&self, now: NaiveDateTime) -> Period {
        let today = now.date();
        let candidate = match self.every {
            Every::Daily => Period::Day(today - Days::new(1)),
            Every::Weekly(_) => {
                let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
                Period::Week(monday - Days::new(7))
            }
        };
        if self.due_at(candidate) <= now {
            return candidate;
        }
        match candidate {
            Period::Day(d) => Period::Day(d - Days::new(1)),
            Period::Week(m) => Period::Week(m - Days::new(7)),
        }
    }

    /// The periods due at `now` after `sent` (the last period already sent, if any). Without
    /// one (the first run) only the last due period is sent: history is not replayed. A sent
    /// period of another kind (the schedule changed from daily to weekly) counts as none.
    pub fn due(&self, now: NaiveDateTime, sent: Option<Period>) -> Due {
        let last = self.last_due(now);
        let sent = sent.filter(|s| std::mem::discriminant(s) == std::mem::discriminant(&last));
        let Some(sent) = sent else {
            return Due {
                periods: vec![last],
                skipped: 0,
            };
        };
        let mut periods = Vec::new();
        let mut p = sent.next();
        while p <= last {
            periods.push(p);
            p = p.next();
        }
        let skipped = periods.len().saturating_sub(MAX_CATCH_UP);
        periods.drain(..skipped);
        Due { periods, skipped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn day(s: &str) -> Period {
        Period::Day(s.parse().unwrap())
    }

    #[test]
    fn parses_daily_and_weekly_and_names_what_is_wrong() {
        let s: Schedule = "daily 06:00".parse().unwrap();
        assert_eq!(s.every, Every::Daily);
        assert_eq!(s.at, NaiveTime::from_hms_opt(6, 0, 0).unwrap());
        let w: Schedule = "weekly Mon 23:59".parse().unwrap();
        assert_eq!(w.every, Every::Weekly(Weekday::Mon));
        assert_eq!(
            "daily 6".parse::<Schedule>(),
            Err(ScheduleError::Time("6".into()))
        );
        assert_eq!(
            "daily 24:00".parse::<Schedule>(),
            Err(ScheduleError::Time("24:00".into()))
        );
        assert_eq!(
            "weekly monday 06:00".parse::<Schedule>(),
            Err(ScheduleError::Day("monday".into()))
        );
        assert!(matches!(
            "hourly".parse::<Schedule>(),
            Err(ScheduleError::Shape(_))
        ));
        assert!(matches!(
            "".parse::<Schedule>(),
            Err(ScheduleError::Shape(_))
        ));
    }

    #[test]
    fn a_day_is_due_once_it_ended_and_the_time_came() {
        let s: Schedule = "daily 06:00".parse().unwrap();
        assert_eq!(s.last_due(at("2026-12-07 05:59")), day("2026-12-05"));
        assert_eq!(s.last_due(at("2026-12-07 06:00")), day("2026-12-06"));
        assert_eq!(s.last_due(at("2026-12-07 23:59")), day("2026-12-06"));
        let midnight: Schedule = "daily 00:00".parse().unwrap();
        assert_eq!(midnight.last_due(at("2026-12-07 00:00")), day("2026-12-06"));
    }

    #[test]
    fn a_week_is_due_on_the_named_day_after_it() {
        let s: Schedule = "weekly wed 06:00".parse().unwrap();
        // Dec 9 2026 is a Wednesday; the week before it began Monday Nov 30.
        let week = |d: &str| Period::Week(d.parse().unwrap());
        assert_eq!(s.last_due(at("2026-12-09 06:00")), week("2026-11-30"));
        assert_eq!(s.last_due(at("2026-12-09 05:00")), week("2026-11-23"));
        assert_eq!(s.last_due(at("2026-12-13 12:00")), week("2026-11-30"));
        assert_eq!(s.last_due(at("2026-12-14 12:00")), week("2026-11-30"));
        assert_eq!(week("2026-11-30").key(), "week:2026-W49");
        assert_eq!(Period::parse("week:2026-W49"), Some(week("2026-11-30")));
        assert_eq!(week("2026-11-30").to().to_string(), "2026-12-06");
    }

    #[test]
    fn keys_read_back() {
        let p = day("2026-12-06");
        assert_eq!(p.key(), "day:2026-12-06");
        assert_eq!(Period::parse(&p.key()), Some(p));
        assert_eq!(Period::parse("day:yesterday"), None);
        assert_eq!(Period::parse("month:2026-12"), None);
    }

    #[test]
    fn sends_only_what_was_not_sent_catching_up_a_bounded_number() {
        let s: Schedule = "daily 06:00".parse().unwrap();
        let now = at("2026-12-07 07:00");
        // First run: only the last period, no history.
        assert_eq!(s.due(now, None).periods, vec![day("2026-12-06")]);
        // Already sent: nothing, however often the tick runs.
        assert_eq!(s.due(now, Some(day("2026-12-06"))), Due::default());
        // Down for two days: both missed days, oldest first.
        assert_eq!(
            s.due(now, Some(day("2026-12-04"))).periods,
            vec![day("2026-12-05"), day("2026-12-06")]
        );
        // Down for a month: the last MAX_CATCH_UP days.
        let due = s.due(now, Some(day("2026-11-06")));
        assert_eq!(due.periods.len(), MAX_CATCH_UP);
        assert_eq!(due.periods.last(), Some(&day("2026-12-06")));
        assert_eq!(due.skipped, 30 - MAX_CATCH_UP);
        // The schedule changed to weekly: a day sent says nothing about weeks.
        let w: Schedule = "weekly mon 06:00".parse().unwrap();
        assert_eq!(
            w.due(now, Some(day("2026-12-06"))).periods,
            vec![Period::Week("2026-11-30".parse().unwrap())]
        );
    }
}
