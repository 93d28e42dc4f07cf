//! The sales report (`/v1/reports/sales`): a range of days ending on a day (today unless moved),
//! grouped by day, ISO week or channel; net sales as a bar chart for one currency at a time,
//! and the rows and the totals per currency as a table. Read when the view opens, when the
//! range changes and every few seconds while it is shown.

use std::cell::Cell;
use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Bar, BarChart, Block, Borders, Cell as TableCell, Paragraph, Row, Table, Wrap,
};
use xconnector_actors::flows::reporting::report::{By, SalesReport, SalesRow, money};
use xconnector_actors::item::Millis;

use super::{Component, Context, Effect};
use crate::tui::app::Request;
use crate::tui::keys::{Action, Binding, REPORTS};
use crate::tui::theme::Theme;

/// The groupings of the sales report, in the order `b` cycles through them.
pub const GROUPINGS: [By; 3] = [By::Day, By::Week, By::Channel];

/// The lengths `s` cycles through, in days.
pub const SPANS: [i64; 3] = [7, 30, 90];

/// How long after an answer the report is read again, while it is shown.
pub const EVERY: Millis = 5_000;

/// What the view asks the daemon for: the `days` days up to and including `to`, grouped `by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub to: NaiveDate,
    pub days: i64,
    pub by: By,
}

impl Range {
    /// The default: the last 30 days, by day.
    pub fn ending(to: NaiveDate) -> Range {
        Range {
            to,
            days: 30,
            by: By::Day,
        }
    }

    pub fn from(&self) -> NaiveDate {
        self.to - Duration::days(self.days - 1)
    }

    /// The query string of `/v1/reports/sales`.
    pub fn query(&self) -> String {
        format!(
            "from={}&to={}&by={}",
            self.from(),
            self.to,
            self.by.as_str()
        )
    }

    fn describe(&self) -> String {
        format!(
            "{} to {} ({} days) by {}",
            self.from(),
            self.to,
            self.days,
            self.by.as_str()
        )
    }
}

#[derive(Debug)]
pub struct Reports {
    /// The local day the range follows while it ends on it.
    pub today: NaiveDate,
    pub range: Range,
    /// The last answer for [`Range::query`]; `None` until one came.
    pub report: Option<SalesReport>,
    /// Why the last read failed, in the daemon's words; the report before it, if any, stays.
    pub error: Option<String>,
    /// The currency the chart and the rows show; the first one when unset or gone.
    pub currency: Option<String>,
    /// The first row of the table shown.
    pub scroll: usize,
    /// A read is on its way.
    pub loading: bool,
    /// When to read again; `None`: a read just ended, count from the next tick.
    next_at: Option<Millis>,
    /// Rows the last draw had room for, to keep scrolling within the table.
    room: Cell<usize>,
}

impl Reports {
    pub fn new(today: NaiveDate) -> Reports {
        Reports {
            today,
            range: Range::ending(today),
            report: None,
            error: None,
            currency: None,
            scroll: 0,
            loading: false,
            next_at: None,
            room: Cell::new(10),
        }
    }

    /// The query the view wants answered now.
    pub fn query(&self) -> String {
        self.range.query()
    }

    /// Asks for the report of the range, again.
    pub fn reload(&mut self) -> Request {
        self.loading = true;
        self.next_at = None;
        Request::Report {
            query: self.query(),
        }
    }

    /// The clock: a read is due [`EVERY`] after the last one ended.
    pub fn tick(&mut self, now: Millis) -> Option<Request> {
        if self.loading {
            return None;
        }
        match self.next_at {
            None => {
                self.next_at = Some(now + EVERY);
                None
            }
            Some(at) if now >= at => Some(self.reload()),
            Some(_) => None,
        }
    }

    /// A new local day: a range that ended today moves with it (and is due at once).
    pub fn set_today(&mut self, today: NaiveDate) {
        if today == self.today {
            return;
        }
        if self.range.to == self.today {
            self.range.to = today;
            self.forget();
            self.next_at = Some(0);
        }
        self.today = today;
    }

    /// An answer came. One for a range left since is dropped.
    pub fn on_report(&mut self, query: &str, report: Result<SalesReport, String>) {
        if query != self.query() {
            return;
        }
        self.loading = false;
        self.next_at = None;
        match report {
            Ok(r) => {
                self.report = Some(r);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// What was shown belongs to another range.
    fn forget(&mut self) {
        self.report = None;
        self.error = None;
        self.scroll = 0;
    }

    fn set_range(&mut self, range: Range) -> Vec<Effect> {
        if range == self.range {
            return Vec::new();
        }
        self.range = range;
        self.forget();
        vec![Effect::Request(self.reload())]
    }

    /// The currencies of the report, in its order.
    pub fn currencies(&self) -> Vec<&str> {
        self.report
            .as_ref()
            .map(|r| r.totals.iter().map(|t| t.currency.as_str()).collect())
            .unwrap_or_default()
    }

    /// The currency shown: the one chosen if the report has it, else its first.
    pub fn shown_currency(&self) -> Option<&str> {
        let all = self.currencies();
        self.currency
            .as_deref()
            .and_then(|c| all.iter().copied().find(|a| *a == c))
            .or(all.first().copied())
    }

    /// The rows of the currency shown, as the table lists them: newest first by day or week,
    /// the biggest net first by channel.
    pub fn rows(&self) -> Vec<&SalesRow> {
        let (Some(report), Some(cur)) = (self.report.as_ref(), self.shown_currency()) else {
            return Vec::new();
        };
        let mut rows: Vec<&SalesRow> = report.rows.iter().filter(|r| r.currency == cur).collect();
        match report.by {
            By::Day | By::Week => rows.reverse(),
            _ => rows.sort_by_key(|r| std::cmp::Reverse(cents(&r.net).unwrap_or(0))),
        }
        rows
    }
}

impl Component for Reports {
    fn bindings(&self) -> &'static [Binding] {
        REPORTS
    }

    fn act(&mut self, action: Action, _cx: &Context) -> Vec<Effect> {
        let r = self.range;
        match action {
            Action::Earlier => {
                return self.set_range(Range {
                    to: r.to - Duration::days(r.days),
                    ..r
                });
            }
            Action::Later => {
                if r.to >= self.today {
                    return vec![Effect::Say(
                        format!("the range already ends today ({})", self.today),
                        false,
                    )];
                }
                return self.set_range(Range {
                    to: (r.to + Duration::days(r.days)).min(self.today),
                    ..r
                });
            }
            Action::Span => {
                let i = SPANS.iter().position(|d| *d == r.days).map_or(0, |i| i + 1);
                return self.set_range(Range {
                    days: SPANS[i % SPANS.len()],
                    ..r
                });
            }
            Action::Today => {
                return self.set_range(Range {
                    to: self.today,
                    ..r
                });
            }
            Action::GroupBy => {
                let at = GROUPINGS
                    .iter()
                    .position(|b| *b == r.by)
                    .map_or(0, |i| i + 1);
                let by = GROUPINGS[at % GROUPINGS.len()];
                return self.set_range(Range { by, ..r });
            }
            Action::Currency => {
                let all = self.currencies();
                if all.len() < 2 {
                    let only = match all.first() {
                        Some(c) => format!("only {c} was sold in this range"),
                        None => "no currency to switch to in this range".into(),
                    };
                    return vec![Effect::Say(only, false)];
                }
                let at = self
                    .shown_currency()
                    .and_then(|c| all.iter().position(|a| *a == c))
                    .unwrap_or(0);
                self.currency = Some(all[(at + 1) % all.len()].to_string());
                self.scroll = 0;
            }
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => {
                let last = self.rows().len().saturating_sub(self.room.get().max(1));
                self.scroll = (self.scroll + 1).min(last);
            }
            Action::Refresh => return vec![Effect::Request(self.reload())],
            Action::Back => return vec![Effect::Back],
            _ => {}
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let t = cx.theme;
        let loading = if self.loading { " · loading…" } else { "" };
        let title = format!(" Sales {}{loading} ", self.range.describe());
        let block = Block::default().borders(Borders::TOP).title(title);
        let inner = block.inner(area);
        frame.render_widget(block, area);

        let mut notes: Vec<Line> = Vec::new();
        if let Some(e) = &self.error {
            notes.push(Line::styled(format!("the daemon says: {e}"), t.bad()));
        }
        let report = match &self.report {
            Some(r) if !r.rows.is_empty() => r,
            Some(r) => {
                notes.push(Line::from(vec![
                    Span::styled(format!("no sales from {} to {}", r.from, r.to), t.warn()),
                    Span::styled("  (← earlier, s a longer span, b by)", t.dim()),
                ]));
                draw_notes(frame, inner, notes);
                return;
            }
            None => {
                if self.error.is_none() {
                    notes.push(Line::styled("reading the sales report…", t.dim()));
                }
                draw_notes(frame, inner, notes);
                return;
            }
        };
        let cur = self.shown_currency().unwrap_or_default().to_string();
        let rows = self.rows();
        let chart = chart_points(report, &cur);

        // Notes, a caption, the chart, the table: the chart keeps at least 2/5 of what is left
        // (5 lines at least), the table takes what it needs of the rest.
        let note_height = notes_height(&notes, inner.width);
        let rest = inner.height.saturating_sub(note_height + 1);
        let table_want = (2 + rows.len() + report.totals.len()) as u16;
        let table_height = table_want.min(rest.saturating_sub((rest * 2 / 5).max(5)));
        let [notes_area, caption_area, chart_area, table_area] = Layout::vertical([
            Constraint::Length(note_height),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(table_height),
        ])
        .areas(inner);
        draw_notes(frame, notes_area, notes);

        let shown = draw_chart(frame, chart_area, &chart, report.by, t);
        frame.render_widget(
            Paragraph::new(caption(report, &cur, &chart, shown, t)),
            caption_area,
        );
        self.draw_table(frame, table_area, report, &rows, &cur, t);
    }
}

impl Reports {
    fn draw_table(
        &self,
        frame: &mut Frame,
        area: Rect,
        report: &SalesReport,
        rows: &[&SalesRow],
        cur: &str,
        t: Theme,
    ) {
        let key_head = report.by.as_str().to_uppercase();
        let room = (area.height as usize).saturating_sub(2 + report.totals.len());
        self.room.set(room);
        let skip = self.scroll.min(rows.len().saturating_sub(room));
        let order = match report.by {
            By::Day | By::Week => "newest first",
            _ => "biggest first",
        };
        let more = if rows.len() > room {
            format!(
                " · rows {}-{} of {} (↑/↓)",
                skip + 1,
                (skip + room).min(rows.len()),
                rows.len()
            )
        } else {
            String::new()
        };
        let block = Block::default()
            .borders(Borders::TOP)
            .title(format!(" {cur}, {order}{more} "));
        let mut body: Vec<(Vec<String>, Style)> = rows
            .iter()
            .skip(skip)
            .take(room)
            .map(|r| (cells(r, r.key.clone()), Style::default()))
            .collect();
        for total in &report.totals {
            let style = if total.currency == cur {
                t.head()
            } else {
                Style::default()
            };
            body.push((cells(total, format!("total {}", total.currency)), style));
        }
        let head: Vec<String> = std::iter::once(key_head)
            .chain(COLUMNS.iter().map(|c| c.to_string()))
            .collect();
        // Every column as wide as its widest cell; on a narrow terminal the least needed go.
        let mut widths: Vec<usize> = (0..head.len())
            .map(|i| {
                body.iter()
                    .map(|(c, _)| c[i].chars().count())
                    .chain([head[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        // A long channel name is cut rather than the numbers squeezed.
        widths[0] = widths[0].clamp(10, 20);
        let mut keep = vec![true; head.len()];
        let fits = |keep: &[bool], widths: &[usize]| {
            let (n, w) = keep
                .iter()
                .zip(widths)
                .filter(|(k, _)| **k)
                .fold((0, 0), |(n, s), (_, w)| (n + 1, s + w));
            w + n - 1 <= area.width as usize
        };
        for drop in DROP_FIRST {
            if fits(&keep, &widths) {
                break;
            }
            keep[drop] = false;
        }
        // The numbers, and their headings, right-aligned.
        let pick = |cells: &[String]| -> Vec<TableCell<'static>> {
            cells
                .iter()
                .enumerate()
                .filter(|(i, _)| keep[*i])
                .map(|(i, c)| {
                    let line = Line::from(c.clone());
                    TableCell::from(if i > 0 { line.right_aligned() } else { line })
                })
                .collect()
        };
        let header = Row::new(pick(&head)).style(t.head());
        let table_rows: Vec<Row> = body
            .iter()
            .map(|(c, style)| Row::new(pick(c)).style(*style))
            .collect();
        let constraints: Vec<Constraint> = widths
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(w, _)| Constraint::Length(*w as u16))
            .collect();
        frame.render_widget(
            Table::new(table_rows, constraints)
                .header(header)
                .block(block),
            area,
        );
    }
}

/// The table's columns after the key (DAY, WEEK or CHANNEL).
const COLUMNS: [&str; 9] = [
    "ORDERS",
    "UNITS",
    "GROSS",
    "DISCOUNTS",
    "RETURNS",
    "NET",
    "SHIPPING",
    "TAX",
    "AOV",
];
/// The columns (key = 0) that go first when the table is too wide: shipping, tax, units, the
/// average order value, discounts.
const DROP_FIRST: [usize; 5] = [7, 8, 2, 9, 4];

fn cells(r: &SalesRow, key: String) -> Vec<String> {
    vec![
        key,
        r.orders.to_string(),
        r.units.to_string(),
        r.gross.clone(),
        r.discounts.clone(),
        r.returns.clone(),
        r.net.clone(),
        r.shipping.clone(),
        r.tax.clone(),
        if r.average_order_value.is_empty() {
            "-".into()
        } else {
            r.average_order_value.clone()
        },
    ]
}

fn notes_height(notes: &[Line], width: u16) -> u16 {
    let width = width.max(1) as usize;
    notes
        .iter()
        .map(|l| l.width().div_ceil(width).max(1) as u16)
        .sum()
}

fn draw_notes(frame: &mut Frame, area: Rect, notes: Vec<Line>) {
    frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: true }), area);
}

/// `123.45` (or more places) in hundredths, the rest cut off.
pub fn cents(decimal: &str) -> Option<i64> {
    let (neg, s) = match decimal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, decimal),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: i64 = whole.parse().ok()?;
    let frac: String = frac.chars().chain("00".chars()).take(2).collect();
    let v = whole * 100 + frac.parse::<i64>().ok()?;
    Some(if neg { -v } else { v })
}

/// One bar: its key, and the net sales in hundredths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub key: String,
    pub net: i64,
}

/// The chart's bars: every day or week of the range (none sold: zero), or every channel
/// that sold, in the currency `cur`.
pub fn chart_points(report: &SalesReport, cur: &str) -> Vec<Point> {
    let net: BTreeMap<&str, i64> = report
        .rows
        .iter()
        .filter(|r| r.currency == cur)
        .map(|r| (r.key.as_str(), cents(&r.net).unwrap_or(0)))
        .collect();
    let keys: Vec<String> = match report.by {
        By::Day | By::Week => {
            let mut keys: Vec<String> = Vec::new();
            let mut day = report.from;
            while day <= report.to {
                let key = match report.by {
                    By::Day => day.to_string(),
                    _ => {
                        let w = day.iso_week();
                        format!("{}-W{:02}", w.year(), w.week())
                    }
                };
                if keys.last() != Some(&key) {
                    keys.push(key);
                }
                day += Duration::days(1);
            }
            keys
        }
        _ => net.keys().map(|k| k.to_string()).collect(),
    };
    keys.into_iter()
        .map(|key| Point {
            net: net.get(key.as_str()).copied().unwrap_or(0),
            key,
        })
        .collect()
}

/// `1234`, `12k`, `1.2M`: a whole amount short enough for a bar.
fn compact(cents: i64) -> String {
    let units = cents as f64 / 100.0;
    match units.abs() {
        a if a < 10_000.0 => format!("{units:.0}"),
        a if a < 1_000_000.0 => format!("{:.0}k", units / 1_000.0),
        _ => format!("{:.1}M", units / 1_000_000.0),
    }
}

/// A bar's label as long as the distance between bars allows, though never shorter than
/// `07` or `W49`: `2026-12-07`, `12-07`, `07`; `2026-W49`, `W49`; a channel's name, cut.
fn label(key: &str, by: By, stride: u16) -> String {
    let room = stride.saturating_sub(1) as usize;
    match by {
        By::Day if room >= 10 => key.to_string(),
        By::Day if room >= 5 => key.get(5..).unwrap_or(key).to_string(),
        By::Day => key.get(8..).unwrap_or(key).to_string(),
        By::Week if room >= 8 => key.to_string(),
        By::Week => key.get(5..).unwrap_or(key).to_string(),
        _ => key.chars().take(room.max(3)).collect(),
    }
}

/// The labels under bars `stride` apart, each under the left edge of its bar, skipping a bar
/// whose label would run into the one before.
fn label_line(points: &[Point], by: By, stride: u16) -> String {
    let mut line = String::new();
    for (i, p) in points.iter().enumerate() {
        let x = i * stride as usize;
        let at = line.chars().count();
        if x < at + usize::from(at > 0) {
            continue;
        }
        line.extend(std::iter::repeat_n(' ', x - at));
        line.push_str(&label(&p.key, by, stride));
    }
    line
}

/// Draws the bars that fit, the newest when not all do; says how many it drew.
fn draw_chart(frame: &mut Frame, area: Rect, points: &[Point], by: By, t: Theme) -> usize {
    if area.width == 0 || area.height < 2 || points.is_empty() {
        return 0;
    }
    let most = if matches!(by, By::Day | By::Week) {
        10
    } else {
        14
    };
    let n = points.len() as u16;
    let (width, gap, shown) = if n * 2 - 1 <= area.width {
        (((area.width + 1) / n - 1).clamp(1, most), 1, points.len())
    } else if n <= area.width {
        (1, 0, points.len())
    } else {
        (1, 0, area.width as usize)
    };
    let points = &points[points.len() - shown..];
    let bars: Vec<Bar> = points
        .iter()
        .map(|p| {
            Bar::default()
                .value(p.net.max(0) as u64)
                .text_value(if width >= 4 {
                    compact(p.net)
                } else {
                    String::new()
                })
        })
        .collect();
    let [bars_area, labels_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(
        BarChart::default()
            .data(ratatui::widgets::BarGroup::default().bars(&bars))
            .bar_width(width)
            .bar_gap(gap)
            .bar_style(t.good())
            .value_style(t.selected()),
        bars_area,
    );
    frame.render_widget(
        Paragraph::new(label_line(points, by, width + gap)).style(t.dim()),
        labels_area,
    );
    shown
}

/// The line over the chart: what it shows, the total, the other currencies, the best bar;
/// what matters most first, as the end is what a narrow terminal cuts.
fn caption(
    report: &SalesReport,
    cur: &str,
    points: &[Point],
    shown: usize,
    t: Theme,
) -> Line<'static> {
    let per = report.by.as_str();
    let mut spans = vec![Span::styled(format!("net {cur} per {per}"), t.head())];
    if shown < points.len() {
        spans.push(Span::raw(format!(" (last {shown} of {})", points.len())));
    }
    if let Some(total) = report.totals.iter().find(|r| r.currency == cur) {
        spans.push(Span::raw(format!(" · total {}", total.net)));
    }
    let others: Vec<&str> = report
        .totals
        .iter()
        .map(|r| r.currency.as_str())
        .filter(|c| *c != cur)
        .collect();
    if !others.is_empty() {
        spans.push(Span::styled(
            format!(" · also {} (c)", others.join(", ")),
            t.dim(),
        ));
    }
    if let Some(best) = points.iter().filter(|p| p.net > 0).max_by_key(|p| p.net) {
        spans.push(Span::raw(format!(
            " · best {} {}",
            best.key,
            money(best.net * 100)
        )));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_as_hundredths() {
        assert_eq!(cents("123.45"), Some(12345));
        assert_eq!(cents("-5.00"), Some(-500));
        assert_eq!(cents("1.2345"), Some(123));
        assert_eq!(cents("7"), Some(700));
        assert_eq!(cents(""), None);
        assert_eq!(compact(123_456), "1235");
        assert_eq!(compact(12_345_600), "123k");
    }

    #[test]
    fn labels_fit_between_the_bars() {
        assert_eq!(label("2026-12-07", By::Day, 2), "07");
        assert_eq!(label("2026-12-07", By::Day, 6), "12-07");
        assert_eq!(label("2026-W49", By::Week, 1), "W49");
        assert_eq!(label("2026-W49", By::Week, 9), "2026-W49");
        assert_eq!(label("marketplace", By::Channel, 8), "marketp");
        let days: Vec<Point> = ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10"]
            .iter()
            .map(|d| Point {
                key: d.to_string(),
                net: 0,
            })
            .collect();
        assert_eq!(label_line(&days, By::Day, 2), "07  09");
        assert_eq!(label_line(&days, By::Day, 3), "07 08 09 10");
    }
}
