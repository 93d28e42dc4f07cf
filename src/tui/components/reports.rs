//! The reports (`/v1/reports/…`): sales, fulfilment, integration health, inventory and
//! customers, one at a time (`v`), over a range of days ending on a day (today unless moved),
//! grouped as the report allows (`b`). Each is a chart over a table: net sales for one
//! currency at a time, orders shipped, items done, the SKUs (or locations) that turn over
//! fastest, new and returning customers (with the top customers beside them). Read when the
//! view opens, when the report or its range changes and every few seconds while it is shown.

use std::cell::Cell;
use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Bar, BarChart, Block, Borders, Cell as TableCell, Paragraph, Row, Table, Wrap,
};
use xconnector_actors::flows::reporting::customers::{CustomersReport, CustomersRow, TopCustomer};
use xconnector_actors::flows::reporting::fulfilment::{FulfilmentReport, FulfilmentRow, MAX_HOURS};
use xconnector_actors::flows::reporting::health::{HealthReport, HealthRow};
use xconnector_actors::flows::reporting::inventory::{InventoryReport, InventoryRow};
use xconnector_actors::flows::reporting::report::{By, SalesReport, SalesRow, money};
use xconnector_actors::flows::reporting::{
    CUSTOMERS_BY, FULFILMENT_BY, HEALTH_BY, INVENTORY_BY, SALES_BY, percent,
};
use xconnector_actors::flows::returns::rules::Amount;
use xconnector_actors::item::Millis;

use super::item_list::short_key;
use super::{Component, Context, Effect};
use crate::tui::app::Request;
use crate::tui::keys::{Action, Binding, REPORTS};
use crate::tui::theme::Theme;

/// The reports the view shows, in the order `v` cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sales,
    Fulfilment,
    Health,
    Inventory,
    Customers,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Sales,
        Kind::Fulfilment,
        Kind::Health,
        Kind::Inventory,
        Kind::Customers,
    ];

    /// Its name in the API's path.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sales => "sales",
            Kind::Fulfilment => "fulfilment",
            Kind::Health => "health",
            Kind::Inventory => "inventory",
            Kind::Customers => "customers",
        }
    }

    /// `/v1/reports/sales` and the like.
    pub fn path(self) -> String {
        format!("/v1/reports/{}", self.as_str())
    }

    /// The report a path (with or without its query) asks for.
    pub fn of_path(path: &str) -> Option<Kind> {
        let name = path.strip_prefix("/v1/reports/")?;
        let name = name.split_once('?').map_or(name, |(n, _)| n);
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The groupings it allows, in the order `b` cycles through them.
    pub fn groupings(self) -> &'static [By] {
        match self {
            Kind::Sales => SALES_BY,
            Kind::Fulfilment => FULFILMENT_BY,
            Kind::Health => HEALTH_BY,
            Kind::Inventory => INVENTORY_BY,
            Kind::Customers => CUSTOMERS_BY,
        }
    }

    /// Whether its rows are per currency, which `c` switches between.
    pub fn has_currencies(self) -> bool {
        matches!(self, Kind::Sales | Kind::Customers)
    }

    pub fn next(self) -> Kind {
        let at = Kind::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Kind::ALL[(at + 1) % Kind::ALL.len()]
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Sales => "Sales",
            Kind::Fulfilment => "Fulfilment",
            Kind::Health => "Health",
            Kind::Inventory => "Inventory",
            Kind::Customers => "Customers",
        }
    }

    /// What the empty state says of a range without anything to report.
    fn nothing(self, from: NaiveDate, to: NaiveDate) -> String {
        let what = match self {
            Kind::Sales => "no sales",
            Kind::Fulfilment => "no orders",
            Kind::Health => "nothing received",
            Kind::Inventory => "no stock levels or sales counted",
            // "from customers from …" would read badly.
            Kind::Customers => return format!("no orders from customers between {from} and {to}"),
        };
        format!("{what} from {from} to {to}")
    }
}

/// A report as the daemon answered it. Not `Eq`: the inventory report's ratios are floats.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Sales(SalesReport),
    Fulfilment(FulfilmentReport),
    Health(HealthReport),
    Inventory(InventoryReport),
    Customers(CustomersReport),
}

impl Report {
    pub fn kind(&self) -> Kind {
        match self {
            Report::Sales(_) => Kind::Sales,
            Report::Fulfilment(_) => Kind::Fulfilment,
            Report::Health(_) => Kind::Health,
            Report::Inventory(_) => Kind::Inventory,
            Report::Customers(_) => Kind::Customers,
        }
    }

    fn by(&self) -> By {
        match self {
            Report::Sales(r) => r.by,
            Report::Fulfilment(r) => r.by,
            Report::Health(r) => r.by,
            Report::Inventory(r) => r.by,
            Report::Customers(r) => r.by,
        }
    }

    fn span(&self) -> (NaiveDate, NaiveDate) {
        match self {
            Report::Sales(r) => (r.from, r.to),
            Report::Fulfilment(r) => (r.from, r.to),
            Report::Health(r) => (r.from, r.to),
            Report::Inventory(r) => (r.from, r.to),
            Report::Customers(r) => (r.from, r.to),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Report::Sales(r) => r.rows.is_empty(),
            Report::Fulfilment(r) => r.rows.is_empty(),
            Report::Health(r) => r.rows.is_empty(),
            Report::Inventory(r) => r.rows.is_empty(),
            Report::Customers(r) => r.rows.is_empty(),
        }
    }
}

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

    /// The query string of `/v1/reports/…`.
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
    /// The report shown.
    pub kind: Kind,
    pub range: Range,
    /// The last answer for [`Reports::path`]; `None` until one came.
    pub report: Option<Report>,
    /// Why the last read failed, in the daemon's words; the report before it, if any, stays.
    pub error: Option<String>,
    /// The currency the sales or customers chart and rows show; the first one when unset or
    /// gone.
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
            kind: Kind::Sales,
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

    /// What the view asks the daemon for now: the report's path and the range's query.
    pub fn path(&self) -> String {
        format!("{}?{}", self.kind.path(), self.query())
    }

    /// Asks for the report of the range, again.
    pub fn reload(&mut self) -> Request {
        self.loading = true;
        self.next_at = None;
        Request::Report { path: self.path() }
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

    /// An answer came. One for another report or a range left since is dropped.
    pub fn on_report(&mut self, path: &str, report: Result<Report, String>) {
        if path != self.path() || report.as_ref().is_ok_and(|r| r.kind() != self.kind) {
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

    /// What was shown belongs to another report or range.
    fn forget(&mut self) {
        self.report = None;
        self.error = None;
        self.scroll = 0;
    }

    fn set(&mut self, kind: Kind, range: Range) -> Vec<Effect> {
        if kind == self.kind && range == self.range {
            return Vec::new();
        }
        self.kind = kind;
        self.range = range;
        self.forget();
        vec![Effect::Request(self.reload())]
    }

    fn set_range(&mut self, range: Range) -> Vec<Effect> {
        self.set(self.kind, range)
    }

    fn sales(&self) -> Option<&SalesReport> {
        match &self.report {
            Some(Report::Sales(r)) => Some(r),
            _ => None,
        }
    }

    fn customers(&self) -> Option<&CustomersReport> {
        match &self.report {
            Some(Report::Customers(r)) => Some(r),
            _ => None,
        }
    }

    /// The currencies of the sales or customers report, in its order (one total each).
    pub fn currencies(&self) -> Vec<&str> {
        match &self.report {
            Some(Report::Sales(r)) => r.totals.iter().map(|t| t.currency.as_str()).collect(),
            Some(Report::Customers(r)) => r.totals.iter().map(|t| t.currency.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// The currency shown: the one chosen if the report has it, else its first.
    pub fn shown_currency(&self) -> Option<&str> {
        let all = self.currencies();
        self.currency
            .as_deref()
            .and_then(|c| all.iter().copied().find(|a| *a == c))
            .or(all.first().copied())
    }

    /// The sales rows of the currency shown, as the table lists them: newest first by day or
    /// week, the biggest net first by channel.
    pub fn rows(&self) -> Vec<&SalesRow> {
        let (Some(report), Some(cur)) = (self.sales(), self.shown_currency()) else {
            return Vec::new();
        };
        let mut rows: Vec<&SalesRow> = report.rows.iter().filter(|r| r.currency == cur).collect();
        match report.by {
            By::Day | By::Week => rows.reverse(),
            _ => rows.sort_by_key(|r| std::cmp::Reverse(cents(&r.net).unwrap_or(0))),
        }
        rows
    }

    /// The customers rows of the currency shown, the newest first (the report has only days
    /// and weeks).
    pub fn customer_rows(&self) -> Vec<&CustomersRow> {
        let (Some(report), Some(cur)) = (self.customers(), self.shown_currency()) else {
            return Vec::new();
        };
        let mut rows: Vec<&CustomersRow> =
            report.rows.iter().filter(|r| r.currency == cur).collect();
        rows.reverse();
        rows
    }

    /// The top customers of the range in the currency shown, as the daemon ranked them: by
    /// revenue, which only compares within a currency.
    fn top_customers(&self) -> Vec<&TopCustomer> {
        let (Some(report), Some(cur)) = (self.customers(), self.shown_currency()) else {
            return Vec::new();
        };
        report.top.iter().filter(|c| c.currency == cur).collect()
    }

    /// The table of the report shown, its rows as it lists them.
    fn grid(&self) -> Option<Grid> {
        match self.report.as_ref()? {
            Report::Sales(r) => Some(sales_grid(r, &self.rows(), self.shown_currency()?)),
            Report::Fulfilment(r) => Some(fulfilment_grid(r)),
            Report::Health(r) => Some(health_grid(r)),
            Report::Inventory(r) => Some(inventory_grid(r)),
            Report::Customers(r) => Some(customers_grid(
                r,
                &self.customer_rows(),
                self.shown_currency()?,
            )),
        }
    }
}

impl Component for Reports {
    fn bindings(&self) -> &'static [Binding] {
        REPORTS
    }

    fn act(&mut self, action: Action, _cx: &Context) -> Vec<Effect> {
        let r = self.range;
        match action {
            Action::NextReport => {
                let kind = self.kind.next();
                // The grouping stays when the next report has it, else its first (by day, or
                // by SKU for the inventory, which has no days).
                let all = kind.groupings();
                let by = if all.contains(&r.by) {
                    r.by
                } else {
                    all.first().copied().unwrap_or(By::Day)
                };
                return self.set(kind, Range { by, ..r });
            }
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
                let all = self.kind.groupings();
                let at = all.iter().position(|b| *b == r.by).map_or(0, |i| i + 1);
                let by = all[at % all.len()];
                return self.set_range(Range { by, ..r });
            }
            Action::Currency => {
                if !self.kind.has_currencies() {
                    return vec![Effect::Say(
                        "only the sales report and the customers report have currencies \
                         (v for the next report)"
                            .into(),
                        false,
                    )];
                }
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
                let rows = self.grid().map_or(0, |g| g.rows.len());
                let last = rows.saturating_sub(self.room.get().max(1));
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
        let title = format!(" {} {}{loading} ", self.kind.title(), self.range.describe());
        let block = Block::default().borders(Borders::TOP).title(title);
        let inner = block.inner(area);
        frame.render_widget(block, area);

        let mut notes: Vec<Line> = Vec::new();
        if let Some(e) = &self.error {
            notes.push(Line::styled(format!("the daemon says: {e}"), t.bad()));
        }
        let report = match &self.report {
            Some(r) if !r.is_empty() => r,
            Some(r) => {
                let (from, to) = r.span();
                notes.push(Line::from(vec![
                    Span::styled(r.kind().nothing(from, to), t.warn()),
                    Span::styled(
                        "  (← earlier, s a longer span, b by, v another report)",
                        t.dim(),
                    ),
                ]));
                draw_notes(frame, inner, notes);
                return;
            }
            None => {
                if self.error.is_none() {
                    notes.push(Line::styled(
                        format!("reading the {} report…", self.kind.as_str()),
                        t.dim(),
                    ));
                }
                draw_notes(frame, inner, notes);
                return;
            }
        };
        let Some(grid) = self.grid() else {
            draw_notes(frame, inner, notes);
            return;
        };
        let by = report.by();
        let (chart, caption) = self.chart(report, inner.width, t);
        // A caption too long for the line takes two, the end cut after that.
        let caption_height = notes_height(std::slice::from_ref(&caption), inner.width).min(2);

        // Notes, a caption, the chart, the table: the chart keeps at least 2/5 of what is left
        // (5 lines at least) unless it needs fewer, the table takes what it needs of the rest;
        // a chart of few lines keeps the table under it and leaves the end blank.
        let note_height = notes_height(&notes, inner.width);
        let rest = inner.height.saturating_sub(note_height + caption_height);
        let table_want = (2 + grid.rows.len() + grid.totals.len()) as u16;
        let chart_least = (rest * 2 / 5).max(5).min(chart.lines().unwrap_or(u16::MAX));
        let table_height = table_want.min(rest.saturating_sub(chart_least));
        let chart_height = match chart.lines() {
            Some(lines) => Constraint::Length(lines.min(rest - table_height)),
            None => Constraint::Fill(1),
        };
        let [notes_area, caption_area, chart_area, table_area, _] = Layout::vertical([
            Constraint::Length(note_height),
            Constraint::Length(caption_height),
            chart_height,
            Constraint::Length(table_height),
            Constraint::Fill(0),
        ])
        .areas(inner);
        draw_notes(frame, notes_area, notes);
        draw_any_chart(frame, chart_area, &chart, by, t);
        frame.render_widget(
            Paragraph::new(caption).wrap(Wrap { trim: true }),
            caption_area,
        );
        self.draw_grid(frame, table_area, &grid, t);
    }
}

impl Reports {
    /// The chart of `report` and the caption over it, which says how many bars fit: only the
    /// width decides that.
    fn chart(&self, report: &Report, width: u16, t: Theme) -> (Chart<'_>, Line<'static>) {
        let by = report.by();
        let cur = self.shown_currency().unwrap_or_default();
        let shown = |n: usize, width: u16| bar_layout(n, width, by).2;
        match report {
            Report::Sales(r) => {
                let points = chart_points(r, cur);
                let caption = sales_caption(r, cur, &points, shown(points.len(), width), t);
                (Chart::Bars(points, compact), caption)
            }
            Report::Fulfilment(r) => {
                let points = fulfilment_points(r);
                let caption = fulfilment_caption(r, &points, shown(points.len(), width), t);
                (Chart::Bars(points, count), caption)
            }
            Report::Health(r) => {
                let points = health_points(r);
                let caption = health_caption(r, &points, shown(points.len(), width), t);
                (Chart::Bars(points, count), caption)
            }
            Report::Inventory(r) => (Chart::Ranked(turnover_points(r)), inventory_caption(r, t)),
            Report::Customers(r) => {
                let stacks = customer_stacks(r, cur);
                let top = self.top_customers();
                let (chart_width, _) = split_top(width, &top);
                let caption =
                    customers_caption(r, cur, stacks.len(), shown(stacks.len(), chart_width), t);
                (Chart::Stacked(stacks, top), caption)
            }
        }
    }
}

/// What the chart between the caption and the table shows.
enum Chart<'a> {
    /// Bars over time or per group, each with its value said short (sales, fulfilment,
    /// health).
    Bars(Vec<Point>, fn(i64) -> String),
    /// One bar a line, the biggest first: the inventory's turnover, in hundredths.
    Ranked(Vec<Point>),
    /// New under returning customers per day or week, the top customers beside them.
    Stacked(Vec<Stack>, Vec<&'a TopCustomer>),
}

impl Chart<'_> {
    /// The lines it needs, when it does not take what the table leaves: a ranked bar a line
    /// (or the line saying there is none).
    fn lines(&self) -> Option<u16> {
        match self {
            Chart::Ranked(points) => Some(points.len().clamp(1, u16::MAX as usize) as u16),
            _ => None,
        }
    }
}

fn draw_any_chart(frame: &mut Frame, area: Rect, chart: &Chart, by: By, t: Theme) {
    match chart {
        Chart::Bars(points, value) => draw_chart(frame, area, points, by, *value, t),
        Chart::Ranked(points) => draw_ranked(frame, area, points, t),
        Chart::Stacked(stacks, top) => {
            let (chart_width, top_width) = split_top(area.width, top);
            let [stacks_area, _, top_area] = Layout::horizontal([
                Constraint::Length(chart_width),
                Constraint::Length(top_width.min(1)),
                Constraint::Fill(1),
            ])
            .areas(area);
            draw_stacks(frame, stacks_area, stacks, by, t);
            draw_top(frame, top_area, top, t);
        }
    }
}

/// A table to draw: its heading, the rows that scroll and the totals under them.
struct Grid {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    totals: Vec<(Vec<String>, bool)>,
    /// What the table's title says of its rows: `EUR, newest first`.
    about: String,
    /// The columns (key = 0) that go first when the table is too wide.
    drop_first: &'static [usize],
}

impl Reports {
    fn draw_grid(&self, frame: &mut Frame, area: Rect, grid: &Grid, t: Theme) {
        let rows = &grid.rows;
        let room = (area.height as usize).saturating_sub(2 + grid.totals.len());
        self.room.set(room);
        let skip = self.scroll.min(rows.len().saturating_sub(room));
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
            .title(format!(" {}{more} ", grid.about));
        let mut body: Vec<(&[String], Style)> = rows
            .iter()
            .skip(skip)
            .take(room)
            .map(|r| (r.as_slice(), Style::default()))
            .collect();
        for (total, strong) in &grid.totals {
            let style = if *strong { t.head() } else { Style::default() };
            body.push((total.as_slice(), style));
        }
        let head = &grid.head;
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
        // A long key is cut rather than the numbers squeezed.
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
        for drop in grid.drop_first {
            if fits(&keep, &widths) {
                break;
            }
            keep[*drop] = false;
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
        let header = Row::new(pick(head)).style(t.head());
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

/// The heading of the key column: DAY, WEEK, CHANNEL, LOCATION, CARRIER or FLOW.
fn key_head(by: By) -> String {
    by.as_str().to_uppercase()
}

fn heading(by: By, columns: &[&str]) -> Vec<String> {
    std::iter::once(key_head(by))
        .chain(columns.iter().map(|c| c.to_string()))
        .collect()
}

/// How the rows are ordered: by time, the newest first; else the biggest first.
fn by_time(by: By) -> bool {
    matches!(by, By::Day | By::Week)
}

/// The sales table's columns after the key (DAY, WEEK or CHANNEL).
const SALES_COLUMNS: [&str; 9] = [
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

fn sales_grid(report: &SalesReport, rows: &[&SalesRow], cur: &str) -> Grid {
    let order = if by_time(report.by) {
        "newest first"
    } else {
        "biggest first"
    };
    Grid {
        head: heading(report.by, &SALES_COLUMNS),
        rows: rows.iter().map(|r| sales_cells(r, r.key.clone())).collect(),
        totals: report
            .totals
            .iter()
            .map(|r| {
                (
                    sales_cells(r, format!("total {}", r.currency)),
                    r.currency == cur,
                )
            })
            .collect(),
        about: format!("{cur}, {order}"),
        // Shipping, tax, units, the average order value, discounts.
        drop_first: &[7, 8, 2, 9, 4],
    }
}

fn sales_cells(r: &SalesRow, key: String) -> Vec<String> {
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

/// Whole hours as a cell: `12h`, `720h+` (30 days or more), `-` without any.
fn hours(h: Option<i64>) -> String {
    match h {
        None => "-".into(),
        Some(h) if h >= MAX_HOURS => format!("{h}h+"),
        Some(h) => format!("{h}h"),
    }
}

/// The fulfilment table's columns after the key (DAY, WEEK, LOCATION or CARRIER).
const FULFILMENT_COLUMNS: [&str; 10] = [
    "ORDERS",
    "SHIPPED",
    "WAITING",
    "SHIP P50",
    "SHIP P90",
    "SHIP MAX",
    "IN SLA",
    "DELIVERED",
    "DLV P50",
    "DLV P90",
];

/// `rows` as the table lists them: by time the newest first, else the biggest `size` first;
/// and how, for the table's title.
fn ordered<'a, R>(
    rows: &'a [R],
    by: By,
    size: impl Fn(&R) -> i64,
    biggest: &'static str,
) -> (Vec<&'a R>, &'static str) {
    let mut rows: Vec<&R> = rows.iter().collect();
    if by_time(by) {
        rows.reverse();
        (rows, "newest first")
    } else {
        rows.sort_by_key(|r| std::cmp::Reverse(size(r)));
        (rows, biggest)
    }
}

fn fulfilment_grid(report: &FulfilmentReport) -> Grid {
    let (rows, order) = ordered(&report.rows, report.by, |r| r.orders, "most orders first");
    Grid {
        head: heading(report.by, &FULFILMENT_COLUMNS),
        rows: rows
            .iter()
            .map(|r| fulfilment_cells(r, short_key(&r.key).to_string()))
            .collect(),
        totals: vec![(fulfilment_cells(&report.total, "total".into()), true)],
        about: format!("{order}, hours from order to shipping and delivery"),
        // Deliveries' p90, the longest to ship, deliveries' p50, the share in the SLA.
        drop_first: &[10, 6, 9, 7, 5],
    }
}

fn fulfilment_cells(r: &FulfilmentRow, key: String) -> Vec<String> {
    vec![
        key,
        r.orders.to_string(),
        r.shipped.to_string(),
        r.waiting.to_string(),
        hours(r.ship_p50_h),
        hours(r.ship_p90_h),
        hours(r.ship_max_h),
        if r.within_sla.is_empty() {
            "-".into()
        } else {
            r.within_sla.clone()
        },
        r.delivered.to_string(),
        hours(r.deliver_p50_h),
        hours(r.deliver_p90_h),
    ]
}

/// The health table's columns after the key (DAY, WEEK or FLOW).
const HEALTH_COLUMNS: [&str; 8] = [
    "RECEIVED",
    "DONE",
    "EXCEPTIONS",
    "CLOSED",
    "RESOLVED",
    "OPEN P50",
    "OPEN P90",
    "OPEN MAX",
];

fn health_grid(report: &HealthReport) -> Grid {
    let (rows, order) = ordered(
        &report.rows,
        report.by,
        |r| r.received,
        "most received first",
    );
    Grid {
        head: heading(report.by, &HEALTH_COLUMNS),
        rows: rows
            .iter()
            .map(|r| health_cells(r, r.key.clone()))
            .collect(),
        totals: vec![(health_cells(&report.total, "total".into()), true)],
        about: format!("{order}, hours exceptions stayed open"),
        // The longest open, resolved, closed.
        drop_first: &[8, 5, 4],
    }
}

fn health_cells(r: &HealthRow, key: String) -> Vec<String> {
    vec![
        key,
        r.received.to_string(),
        r.done.to_string(),
        r.exceptions.to_string(),
        r.closed.to_string(),
        r.resolved.to_string(),
        hours(r.close_p50_h),
        hours(r.close_p90_h),
        hours(r.close_max_h),
    ]
}

/// A ratio as a cell: `2.35`, `-` without one.
fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{x:.2}"))
}

/// A share (0 to 1) as a cell: `12.5%`, `-` without one.
fn share(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{:.1}%", x * 100.0))
}

/// A cell the daemon leaves empty when it has nothing to say (an average of nothing).
fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

/// The inventory table's columns after the key (SKU or LOCATION).
const INVENTORY_COLUMNS: [&str; 8] = [
    "SOLD",
    "AVG ON HAND",
    "ON HAND",
    "TURNOVER",
    "COVER DAYS",
    "STOCK-OUT",
    "OVERSOLD",
    "STALE",
];

/// The inventory rows, the fastest turnover first; rows without one (nothing on hand) last,
/// the most sold first among them. The daemon sends them by key.
fn by_turnover(rows: &[InventoryRow]) -> Vec<&InventoryRow> {
    let mut rows: Vec<&InventoryRow> = rows.iter().collect();
    rows.sort_by(|a, b| {
        let turnover = |r: &InventoryRow| r.turnover.unwrap_or(f64::NEG_INFINITY);
        turnover(b)
            .total_cmp(&turnover(a))
            .then(b.sold.cmp(&a.sold))
            .then(a.key.cmp(&b.key))
    });
    rows
}

fn inventory_grid(report: &InventoryReport) -> Grid {
    Grid {
        head: heading(report.by, &INVENTORY_COLUMNS),
        rows: by_turnover(&report.rows)
            .iter()
            .map(|r| inventory_cells(r, short_key(&r.key).to_string()))
            .collect(),
        totals: vec![(inventory_cells(&report.total, "total".into()), true)],
        about: "highest turnover first, UTC days; stock-out and oversold in days".into(),
        // Oversold days, the last level (days of cover says more), stock-out days.
        drop_first: &[7, 3, 6],
    }
}

fn inventory_cells(r: &InventoryRow, key: String) -> Vec<String> {
    vec![
        key,
        r.sold.to_string(),
        r.avg_on_hand
            .map_or_else(|| "-".into(), |a| format!("{a:.1}")),
        r.on_hand.map_or_else(|| "-".into(), |h| h.to_string()),
        ratio(r.turnover),
        r.days_of_cover
            .map_or_else(|| "-".into(), |d| format!("{d:.0}")),
        r.stockout_days.to_string(),
        r.oversold_days.to_string(),
        r.stale.to_string(),
    ]
}

/// The customers table's columns after the key (DAY or WEEK).
const CUSTOMERS_COLUMNS: [&str; 9] = [
    "CUSTOMERS",
    "NEW",
    "RETURNING",
    "ORDERS",
    "GUEST ORD",
    "REVENUE",
    "ORD/CUST",
    "REV/CUST",
    "REPEAT",
];

fn customers_grid(report: &CustomersReport, rows: &[&CustomersRow], cur: &str) -> Grid {
    Grid {
        head: heading(report.by, &CUSTOMERS_COLUMNS),
        rows: rows
            .iter()
            .map(|r| customers_cells(r, r.key.clone()))
            .collect(),
        totals: report
            .totals
            .iter()
            .map(|r| {
                (
                    customers_cells(r, format!("total {}", r.currency)),
                    r.currency == cur,
                )
            })
            .collect(),
        about: format!("{cur}, newest first; repeat: customers with 2+ orders in the period"),
        // Orders per customer, guest orders, revenue per customer.
        drop_first: &[7, 5, 8],
    }
}

fn customers_cells(r: &CustomersRow, key: String) -> Vec<String> {
    vec![
        key,
        r.customers.to_string(),
        r.new_customers.to_string(),
        r.returning_customers.to_string(),
        r.orders.to_string(),
        r.guest_orders.to_string(),
        r.revenue.clone(),
        ratio(r.orders_per_customer),
        or_dash(&r.revenue_per_customer),
        share(r.repeat_rate),
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
    Amount::parse(decimal).map(|a| a.0 / 100)
}

/// One bar: its key, and its value (net sales in hundredths, or a count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub key: String,
    pub value: i64,
}

fn keys(points: &[Point]) -> impl Iterator<Item = &str> {
    points.iter().map(|p| p.key.as_str())
}

/// The bars from `from` to `to` grouped `by`: every day or week of the range (nothing in it:
/// zero), or every group with a value.
fn points(from: NaiveDate, to: NaiveDate, by: By, values: BTreeMap<&str, i64>) -> Vec<Point> {
    let keys: Vec<String> = if by_time(by) {
        let mut keys: Vec<String> = Vec::new();
        let mut day = from;
        while day <= to {
            let key = match by {
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
    } else {
        values.keys().map(|k| k.to_string()).collect()
    };
    keys.into_iter()
        .map(|key| Point {
            value: values.get(key.as_str()).copied().unwrap_or(0),
            key,
        })
        .collect()
}

/// The sales chart's bars: net sales in hundredths per day, week or channel that sold, in the
/// currency `cur`.
pub fn chart_points(report: &SalesReport, cur: &str) -> Vec<Point> {
    let net = report
        .rows
        .iter()
        .filter(|r| r.currency == cur)
        .map(|r| (r.key.as_str(), cents(&r.net).unwrap_or(0)))
        .collect();
    points(report.from, report.to, report.by, net)
}

/// The fulfilment chart's bars: orders shipped per day, week, location or carrier.
pub fn fulfilment_points(report: &FulfilmentReport) -> Vec<Point> {
    let shipped = report
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.shipped))
        .collect();
    points(report.from, report.to, report.by, shipped)
}

/// The health chart's bars: items done per day, week or flow.
pub fn health_points(report: &HealthReport) -> Vec<Point> {
    let done = report
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.done))
        .collect();
    points(report.from, report.to, report.by, done)
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

/// A count short enough for a bar: `1234`, `12k`.
fn count(n: i64) -> String {
    compact(n * 100)
}

/// A bar's label as long as the distance between bars allows, though never shorter than
/// `07` or `W49`: `2026-12-07`, `12-07`, `07`; `2026-W49`, `W49`; a group's name, cut (a
/// location's id).
fn label(key: &str, by: By, stride: u16) -> String {
    let room = stride.saturating_sub(1) as usize;
    match by {
        By::Day if room >= 10 => key.to_string(),
        By::Day if room >= 5 => key.get(5..).unwrap_or(key).to_string(),
        By::Day => key.get(8..).unwrap_or(key).to_string(),
        By::Week if room >= 8 => key.to_string(),
        By::Week => key.get(5..).unwrap_or(key).to_string(),
        By::Location => {
            let id = key.rsplit('/').next().unwrap_or(key);
            id.chars().take(room.max(3)).collect()
        }
        _ => key.chars().take(room.max(3)).collect(),
    }
}

/// The labels under bars `stride` apart, each under the left edge of its bar, skipping a bar
/// whose label would run into the one before.
fn label_line<'a>(keys: impl IntoIterator<Item = &'a str>, by: By, stride: u16) -> String {
    let mut line = String::new();
    for (i, key) in keys.into_iter().enumerate() {
        let x = i * stride as usize;
        let at = line.chars().count();
        if x < at + usize::from(at > 0) {
            continue;
        }
        line.extend(std::iter::repeat_n(' ', x - at));
        line.push_str(&label(key, by, stride));
    }
    line
}

/// The bars' width and the gap between them in `width` columns, and how many of `n` fit.
fn bar_layout(n: usize, width: u16, by: By) -> (u16, u16, usize) {
    let most = if by_time(by) { 10 } else { 14 };
    let n = n.min(u16::MAX as usize) as u16;
    if n == 0 || width == 0 {
        (1, 0, 0)
    } else if n * 2 - 1 <= width {
        (((width + 1) / n - 1).clamp(1, most), 1, n as usize)
    } else if n <= width {
        (1, 0, n as usize)
    } else {
        (1, 0, width as usize)
    }
}

/// Draws the bars that fit, the newest when not all do, each with its value (`value` says
/// it short) where it fits.
fn draw_chart(
    frame: &mut Frame,
    area: Rect,
    points: &[Point],
    by: By,
    value: fn(i64) -> String,
    t: Theme,
) {
    if area.width == 0 || area.height < 2 || points.is_empty() {
        return;
    }
    let (width, gap, shown) = bar_layout(points.len(), area.width, by);
    let points = &points[points.len() - shown..];
    let bars: Vec<Bar> = points
        .iter()
        .map(|p| {
            let text = value(p.value);
            let fits = width >= 4 && text.chars().count() <= width as usize;
            Bar::default()
                .value(p.value.max(0) as u64)
                .text_value(if fits { text } else { String::new() })
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
        Paragraph::new(label_line(keys(points), by, width + gap)).style(t.dim()),
        labels_area,
    );
}

/// `what per day`, and how many bars of `all` the chart has room for.
fn caption_head(what: String, all: usize, shown: usize, t: Theme) -> Vec<Span<'static>> {
    let mut spans = vec![Span::styled(what, t.head())];
    if shown < all {
        spans.push(Span::raw(format!(" (last {shown} of {all})")));
    }
    spans
}

/// The line over the sales chart: what it shows, the total, the other currencies, the best
/// bar; what matters most first, as the end is what a narrow terminal cuts.
fn sales_caption(
    report: &SalesReport,
    cur: &str,
    points: &[Point],
    shown: usize,
    t: Theme,
) -> Line<'static> {
    let per = report.by.as_str();
    let mut spans = caption_head(format!("net {cur} per {per}"), points.len(), shown, t);
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
    if let Some(best) = points
        .iter()
        .filter(|p| p.value > 0)
        .max_by_key(|p| p.value)
    {
        spans.push(Span::raw(format!(
            " · best {} {}",
            best.key,
            money(best.value * 100)
        )));
    }
    Line::from(spans)
}

/// The line over the fulfilment chart: the total shipped, the share within the service
/// level, the oldest order waiting.
fn fulfilment_caption(
    report: &FulfilmentReport,
    points: &[Point],
    shown: usize,
    t: Theme,
) -> Line<'static> {
    let per = report.by.as_str();
    let total = &report.total;
    let mut spans = caption_head(format!("orders shipped per {per}"), points.len(), shown, t);
    spans.push(Span::raw(format!(
        " · total {} of {} shipped",
        total.shipped, total.orders
    )));
    if !total.within_sla.is_empty() {
        spans.push(Span::raw(format!(
            " · {} within {}h",
            total.within_sla, report.sla_hours
        )));
    }
    match report.oldest_waiting {
        Some(day) => spans.push(Span::styled(
            format!(" · {} waiting since {day}", total.waiting),
            t.warn(),
        )),
        None => spans.push(Span::styled(" · none waiting", t.dim())),
    }
    Line::from(spans)
}

/// The line over the health chart: items done of those received, exceptions opened and closed.
fn health_caption(
    report: &HealthReport,
    points: &[Point],
    shown: usize,
    t: Theme,
) -> Line<'static> {
    let per = report.by.as_str();
    let total = &report.total;
    let mut spans = caption_head(format!("items done per {per}"), points.len(), shown, t);
    spans.push(Span::raw(format!(
        " · total {} done of {} received",
        total.done, total.received
    )));
    let exceptions = format!(
        " · {} exceptions, {} closed, {} resolved",
        total.exceptions, total.closed, total.resolved
    );
    spans.push(if total.exceptions > 0 {
        Span::styled(exceptions, t.warn())
    } else {
        Span::styled(exceptions, t.dim())
    });
    // The least available endpoint speaks for all of them; the rest is in the CLI's report.
    let worst = report
        .endpoints
        .iter()
        .filter_map(|e| Some((e.availability_permille?, e.endpoint.as_str())))
        .min();
    if let Some((permille, name)) = worst {
        let text = format!(" · {name} {} up", percent(permille));
        spans.push(if permille < 990 {
            Span::styled(text, t.warn())
        } else {
            Span::styled(text, t.dim())
        });
    }
    let points: i64 = report.shopify.iter().map(|p| p.points).sum();
    if points > 0 {
        spans.push(Span::styled(format!(" · {points} Shopify points"), t.dim()));
    }
    Line::from(spans)
}

/// The inventory chart's bars: turnover in hundredths per SKU or location that turned over
/// at all, the fastest first.
pub fn turnover_points(report: &InventoryReport) -> Vec<Point> {
    by_turnover(&report.rows)
        .into_iter()
        .filter_map(|r| {
            let value = (r.turnover? * 100.0).round() as i64;
            (value > 0).then(|| Point {
                key: short_key(&r.key).to_string(),
                value,
            })
        })
        .collect()
}

/// The longest a ranked bar's label gets: SKUs can be long, the bar needs the room.
const RANKED_LABEL: usize = 16;

/// Draws one bar a line, the first (fastest) at the top, as many as there are lines; each
/// with its key to the left and its value (hundredths, as `2.35`) at its start.
fn draw_ranked(frame: &mut Frame, area: Rect, points: &[Point], t: Theme) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    if points.is_empty() {
        let none = "nothing turned over: no SKU sold while stock was on hand";
        frame.render_widget(Paragraph::new(none).style(t.dim()), area);
        return;
    }
    let bars: Vec<Bar> = points
        .iter()
        .take(area.height as usize)
        .map(|p| {
            let key: String = p.key.chars().take(RANKED_LABEL).collect();
            Bar::default()
                .value(p.value.max(0) as u64)
                .label(Line::from(key))
                .text_value(ratio(Some(p.value as f64 / 100.0)))
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .direction(Direction::Horizontal)
            .data(ratatui::widgets::BarGroup::default().bars(&bars))
            .bar_width(1)
            .bar_gap(0)
            .bar_style(t.good())
            .value_style(t.selected()),
        area,
    );
}

/// The line over the inventory chart: what turnover is, how many feeds went stale, the total.
fn inventory_caption(report: &InventoryReport, t: Theme) -> Line<'static> {
    let what = match report.by {
        By::Location => "locations",
        _ => "SKUs",
    };
    let mut spans = vec![
        Span::styled(format!("top {what} by turnover"), t.head()),
        Span::raw(" = units sold ÷ average units on hand"),
    ];
    spans.push(stale_span(report, t));
    let total = &report.total;
    spans.push(Span::raw(format!(" · total {} sold", total.sold)));
    if let Some(turnover) = total.turnover {
        spans.push(Span::raw(format!(", turnover {turnover:.2}")));
    }
    Line::from(spans)
}

/// How many stock feeds went stale (no reading for a while before the range's end): SKUs by
/// SKU, SKU and location pairs by location, where one row holds many SKUs.
fn stale_span(report: &InventoryReport, t: Theme) -> Span<'static> {
    let (stale, of) = match report.by {
        By::Location => (report.total.stale, "SKU/location feeds"),
        _ => (
            report.rows.iter().filter(|r| r.stale > 0).count() as i64,
            "SKUs",
        ),
    };
    if stale == 0 {
        return Span::styled(" · no stale stock feed", t.dim());
    }
    let all = match report.by {
        By::Location => String::new(),
        _ => format!(" of {}", report.rows.len()),
    };
    Span::styled(
        format!(" · {stale}{all} {of} stale (no recent stock reading)"),
        t.warn(),
    )
}

/// One stack: new customers under returning ones in a day or week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub key: String,
    pub new: i64,
    pub returning: i64,
}

/// The customers chart's stacks: every day or week of the range in the currency `cur`
/// (nothing in it: zero).
pub fn customer_stacks(report: &CustomersReport, cur: &str) -> Vec<Stack> {
    let of = |f: fn(&CustomersRow) -> i64| {
        let values = report
            .rows
            .iter()
            .filter(|r| r.currency == cur)
            .map(|r| (r.key.as_str(), f(r)))
            .collect();
        points(report.from, report.to, report.by, values)
    };
    // Both from the same keys, so they pair up.
    of(|r| r.new_customers)
        .into_iter()
        .zip(of(|r| r.returning_customers))
        .map(|(new, returning)| Stack {
            key: new.key,
            new: new.value,
            returning: returning.value,
        })
        .collect()
}

/// The cells of new and returning customers: shapes, not only colours, tell them apart.
const NEW_CELL: &str = "█";
const RETURNING_CELL: &str = "░";

/// The lines of a stack of `new` under `returning` when `max` fills `room` lines: a part that
/// is not zero gets a line at least, so a lone new customer still shows.
fn stack_heights(new: i64, returning: i64, max: i64, room: u16) -> (u16, u16) {
    let max = max.max(1);
    let lines = |v: i64| -> u16 {
        if v <= 0 {
            0
        } else {
            ((v * room as i64 + max / 2) / max).clamp(1, room as i64) as u16
        }
    };
    let total = lines(new + returning);
    let new_lines = lines(new).min(total);
    match total - new_lines {
        0 if returning > 0 && new_lines > 1 => (new_lines - 1, 1),
        rest => (new_lines, rest),
    }
}

/// Draws the stacks that fit, the newest when not all do, each with its total over it where
/// it fits, and their labels under them.
fn draw_stacks(frame: &mut Frame, area: Rect, stacks: &[Stack], by: By, t: Theme) {
    if area.width == 0 || area.height < 3 || stacks.is_empty() {
        return;
    }
    let (width, gap, shown) = bar_layout(stacks.len(), area.width, by);
    let stacks = &stacks[stacks.len() - shown..];
    let [bars, labels] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let max = stacks
        .iter()
        .map(|s| s.new + s.returning)
        .max()
        .unwrap_or(0);
    // A line kept over the tallest stack for its number.
    let room = bars.height - 1;
    let buf = frame.buffer_mut();
    for (i, s) in stacks.iter().enumerate() {
        let x = bars.x + i as u16 * (width + gap);
        let (new, returning) = stack_heights(s.new, s.returning, max, room);
        for line in 0..new + returning {
            let y = bars.bottom() - 1 - line;
            let (cell, style) = if line < new {
                (NEW_CELL, t.good())
            } else {
                (RETURNING_CELL, t.warn())
            };
            for dx in 0..width {
                buf[(x + dx, y)].set_symbol(cell).set_style(style);
            }
        }
        let total = count(s.new + s.returning);
        if s.new + s.returning > 0 && total.chars().count() <= width as usize {
            let y = bars.bottom() - 1 - (new + returning);
            buf.set_string(x, y, total, t.dim());
        }
    }
    let keys = stacks.iter().map(|s| s.key.as_str());
    frame.render_widget(
        Paragraph::new(label_line(keys, by, width + gap)).style(t.dim()),
        labels,
    );
}

/// The fewest columns the stacks keep beside the top customers; narrower, the list goes.
const STACKS_LEAST: u16 = 24;

/// The top customers' columns: who (a short GID, cut), orders, revenue.
fn top_widths(top: &[&TopCustomer]) -> [u16; 3] {
    let widest = |f: &dyn Fn(&TopCustomer) -> usize, head: &str| {
        top.iter()
            .map(|c| f(c))
            .chain([head.chars().count()])
            .max()
            .unwrap_or(0) as u16
    };
    [
        widest(&|c| short_key(&c.customer).chars().count(), "TOP CUSTOMER").min(22),
        widest(&|c| c.orders.to_string().chars().count(), "ORDERS"),
        widest(&|c| c.revenue.chars().count(), "REVENUE"),
    ]
}

/// How `width` splits between the stacks and the top customers (their border, a space
/// between the columns): the list only when there is one and the stacks keep their room.
fn split_top(width: u16, top: &[&TopCustomer]) -> (u16, u16) {
    if top.is_empty() {
        return (width, 0);
    }
    let list = top_widths(top).iter().sum::<u16>() + 3;
    match width.checked_sub(list + 1) {
        Some(stacks) if stacks >= STACKS_LEAST => (stacks, list),
        _ => (width, 0),
    }
}

/// The top customers of the range beside the chart, as many as there are lines.
fn draw_top(frame: &mut Frame, area: Rect, top: &[&TopCustomer], t: Theme) {
    if area.width == 0 || area.height < 2 || top.is_empty() {
        return;
    }
    let right = |s: String| TableCell::from(Line::from(s).right_aligned());
    let header = Row::new(vec![
        TableCell::from("TOP CUSTOMER"),
        right("ORDERS".into()),
        right("REVENUE".into()),
    ])
    .style(t.head());
    let rows: Vec<Row> = top
        .iter()
        .map(|c| {
            Row::new(vec![
                TableCell::from(short_key(&c.customer).to_string()),
                right(c.orders.to_string()),
                right(c.revenue.clone()),
            ])
        })
        .collect();
    let widths = top_widths(top).map(Constraint::Length);
    frame.render_widget(
        Table::new(rows, widths).header(header).block(
            Block::default()
                .borders(Borders::LEFT)
                .border_style(t.dim()),
        ),
        area,
    );
}

/// The line over the customers chart: what the cells mean, the range's customers, new and
/// returning, the repeat rate, the guests, the other currencies.
fn customers_caption(
    report: &CustomersReport,
    cur: &str,
    all: usize,
    shown: usize,
    t: Theme,
) -> Line<'static> {
    let per = report.by.as_str();
    let what = format!("customers per {per}: {NEW_CELL} new {RETURNING_CELL} returning");
    let mut spans = caption_head(what, all, shown, t);
    if let Some(total) = report.totals.iter().find(|r| r.currency == cur) {
        spans.push(Span::raw(format!(
            " · total {}, {} new, {} returning · repeat {}",
            total.customers,
            total.new_customers,
            total.returning_customers,
            share(total.repeat_rate)
        )));
        if total.guest_orders > 0 {
            spans.push(Span::styled(
                format!(" · {} guest orders", total.guest_orders),
                t.dim(),
            ));
        }
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
        assert_eq!(label("gid://shopify/Location/12", By::Location, 8), "12");
        assert_eq!(
            Kind::of_path("/v1/reports/health?from=x"),
            Some(Kind::Health)
        );
        assert_eq!(
            Kind::of_path("/v1/reports/fulfilment"),
            Some(Kind::Fulfilment)
        );
        assert_eq!(Kind::of_path("/v1/items"), None);
        let days: Vec<Point> = ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10"]
            .iter()
            .map(|d| Point {
                key: d.to_string(),
                value: 0,
            })
            .collect();
        assert_eq!(label_line(keys(&days), By::Day, 2), "07  09");
        assert_eq!(label_line(keys(&days), By::Day, 3), "07 08 09 10");
    }

    #[test]
    fn stacks_show_every_part_that_is_not_zero() {
        // 10 lines for 20 customers: 2 a line.
        assert_eq!(stack_heights(10, 10, 20, 10), (5, 5));
        assert_eq!(stack_heights(0, 0, 20, 10), (0, 0));
        // One new customer among many returning still gets a line, and the reverse.
        assert_eq!(stack_heights(1, 19, 20, 10), (1, 9));
        assert_eq!(stack_heights(19, 1, 20, 10), (9, 1));
        assert_eq!(stack_heights(0, 1, 20, 10), (0, 1));
        assert_eq!(
            stack_heights(5, 0, 0, 10),
            (10, 0),
            "no max: as tall as it gets"
        );
    }

    #[test]
    fn the_fastest_turnover_comes_first_and_none_last() {
        let row = |key: &str, sold: i64, turnover: Option<f64>| InventoryRow {
            key: key.into(),
            sold,
            avg_on_hand: None,
            on_hand: None,
            turnover,
            days_of_cover: None,
            stockout_days: 0,
            oversold_days: 0,
            stale: 0,
        };
        let rows = [
            row("A", 1, None),
            row("B", 9, None),
            row("C", 3, Some(0.5)),
            row("D", 0, Some(0.0)),
            row("E", 8, Some(2.0)),
        ];
        let keys: Vec<&str> = by_turnover(&rows).iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["E", "C", "D", "B", "A"]);
        let report = InventoryReport {
            from: NaiveDate::MIN,
            to: NaiveDate::MIN,
            by: By::Sku,
            rows: rows.to_vec(),
            total: row("total", 21, Some(1.0)),
            margins: Vec::new(),
            margin_totals: Vec::new(),
        };
        let bars: Vec<(String, i64)> = turnover_points(&report)
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect();
        assert_eq!(bars, [("E".to_string(), 200), ("C".to_string(), 50)]);
    }
}
