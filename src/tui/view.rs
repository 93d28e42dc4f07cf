//! Drawing: a pure function of the app state and the time. Works from 80×24 up; colours are
//! accents only (every state is also a word), and `NO_COLOR` turns them off.

use crate::cli::ItemAction;
use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, TableState, Wrap};
use xconnector_actors::endpoints::{EndpointStatus, Health};
use xconnector_actors::item::{Item, Millis};
use xconnector_actors::store::{BulkJob, JobState};

use super::app::{App, Connection, ListKind, Prompt, View};
use super::keys::bindings;

#[derive(Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn dim(&self) -> Style {
        if self.color {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            Style::default()
        }
    }
    fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    fn head(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
}

pub fn draw(frame: &mut Frame, app: &App, now: Millis, theme: Theme) {
    let [header, body, message, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app, theme);
    match app.view {
        View::Overview => draw_overview(frame, body, app, now, theme),
        View::Items => draw_items(frame, body, app, ListKind::Items, now, theme),
        View::Exceptions => draw_exceptions(frame, body, app, now, theme),
        View::Detail => draw_detail(frame, body, app, now, theme),
    }
    draw_message(frame, message, app, theme);
    draw_hints(frame, hints, app, theme);
    if app.help {
        draw_help(frame, body, app);
    }
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App, t: Theme) {
    let conn = match &app.connection {
        Connection::Connecting => Span::styled("connecting…", t.warn()),
        Connection::Up => Span::styled("connected", t.good()),
        Connection::Down(_) => Span::styled("DISCONNECTED, retrying", t.bad()),
    };
    let mut spans = vec![Span::styled("xconnector ", t.head()), conn];
    if let Some(s) = &app.status {
        spans.push(Span::raw(if s.ready {
            " · ready"
        } else {
            " · not ready"
        }));
        spans.push(Span::raw(format!(" · {:.1}/s in", s.enqueue_rate)));
    }
    if app.readonly {
        spans.push(Span::styled(" · read-only", t.warn()));
    }
    spans.push(Span::raw("   "));
    for (n, (view, name)) in [
        (View::Overview, "Overview"),
        (View::Items, "Items"),
        (View::Exceptions, "Exceptions"),
    ]
    .into_iter()
    .enumerate()
    {
        let label = format!(" {} {name} ", n + 1);
        let on = app.view == view || (app.view == View::Detail && app.came_from == view);
        spans.push(if on {
            Span::styled(label, t.selected())
        } else {
            Span::raw(label)
        });
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A sparkline as text, so it fits a table cell.
pub fn sparkline(samples: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail = &samples[samples.len().saturating_sub(width)..];
    let max = tail.iter().copied().max().unwrap_or(0);
    let mut out: String = tail
        .iter()
        .map(|v| {
            if max == 0 || *v == 0 {
                ' '
            } else {
                BARS[((*v * 7) / max) as usize]
            }
        })
        .collect();
    while out.chars().count() < width {
        out.insert(0, ' ');
    }
    out
}

fn draw_overview(frame: &mut Frame, area: Rect, app: &App, now: Millis, t: Theme) {
    let block = Block::default().borders(Borders::TOP).title(" Flows ");
    let Some(status) = &app.status else {
        let text = match &app.connection {
            Connection::Down(why) => format!(
                "No daemon answers: {why}\nStart one with `xconnector run`, or pass --socket."
            ),
            _ => "Waiting for the daemon…".to_string(),
        };
        frame.render_widget(
            Paragraph::new(text).block(block).wrap(Wrap { trim: true }),
            area,
        );
        return;
    };
    // The trend column gives way first on narrow terminals; the numbers matter more.
    let trend = if area.width >= 120 {
        30
    } else if area.width >= 100 {
        10
    } else {
        0
    };
    let header = Row::new([
        "FLOW",
        "STATE",
        "IN/OUT/s",
        "TREND",
        "WAITING",
        "OLDEST",
        "IN FLIGHT",
        "EXCEPT",
        "DONE",
        "RESTART",
    ])
    .style(t.head());
    let rows: Vec<Row> = status
        .flows
        .iter()
        .map(|f| {
            let n = |k: &str| f.counts.get(k).copied().unwrap_or(0);
            let samples: Vec<u64> = app
                .rates
                .get(&f.name)
                .map(|v| v.iter().copied().collect())
                .unwrap_or_default();
            let rate = samples.last().copied().unwrap_or(0) * 2;
            let rate_in = app
                .rates_in
                .get(&f.name)
                .and_then(|v| v.back().copied())
                .unwrap_or(0)
                * 2;
            let restarts = status
                .restarts
                .get(&format!("flow:{}", f.name))
                .copied()
                .unwrap_or(0);
            let (state, style) = if !f.running {
                ("stopped", t.dim())
            } else if f.paused {
                ("paused", t.warn())
            } else if restarts > 0 && n("exception") > 0 {
                ("degraded", t.warn())
            } else {
                ("running", t.good())
            };
            let exceptions = n("exception");
            Row::new(vec![
                Span::raw(f.name.clone()),
                Span::styled(state, style),
                Span::raw(format!("{rate_in}/{rate}")),
                Span::raw(sparkline(&samples, trend)),
                Span::raw((n("pending") + n("retrying")).to_string()),
                Span::raw(
                    f.oldest_waiting
                        .map(|t| age(now, t))
                        .unwrap_or_else(|| "-".into()),
                ),
                Span::raw(n("in_flight").to_string()),
                Span::styled(
                    exceptions.to_string(),
                    if exceptions > 0 {
                        t.bad()
                    } else {
                        Style::default()
                    },
                ),
                Span::raw(n("done").to_string()),
                Span::raw(restarts.to_string()),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(12),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(trend as u16),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    let mut state = TableState::default().with_selected(Some(app.flow_selected));
    let flows_height = status.flows.len() as u16 + 3;
    let jobs = job_lines(&status.jobs, now, t);
    let [table_area, totals_area, log_area] = Layout::vertical([
        Constraint::Length(flows_height),
        Constraint::Length(
            4 + u16::from(!status.endpoints.is_empty())
                + u16::from(status.store_failing.is_some())
                + jobs.len() as u16,
        ),
        Constraint::Fill(1),
    ])
    .areas(area);
    draw_logs(frame, log_area, app, t);
    frame.render_stateful_widget(
        Table::new(rows, widths)
            .header(header)
            .block(block)
            .row_highlight_style(t.selected()),
        table_area,
        &mut state,
    );
    let total = |k: &str| status.totals.get(k).copied().unwrap_or(0);
    let budget = match &status.shopify {
        Some(r) => format!(
            "\nshopify: bucket {:.0}/{:.0} · {:.0} points/s ({:.0}% of the restore rate) · throttled {} · waiting {}",
            r.available.max(0.0),
            r.maximum,
            r.points_per_second,
            r.utilisation * 100.0,
            r.throttled,
            r.waiting.values().sum::<u64>()
        ),
        None => "\nshopify: not configured".to_string(),
    };
    let store = &status.store;
    let retired: u64 = store.retired.values().sum();
    let kept = match store.oldest_item {
        Some(at) => format!(" · oldest kept {}", age(now, at)),
        None => String::new(),
    };
    let line = format!(
        "all flows: {} waiting · {} in flight · {} exceptions · {} done\nstore: {} MiB{kept} · {retired} retired",
        total("pending") + total("retrying"),
        total("in_flight"),
        total("exception"),
        total("done"),
        store.disk_bytes >> 20,
    ) + &budget;
    let mut lines: Vec<Line> = Vec::new();
    if let Some(f) = &status.store_failing {
        lines.push(Line::styled(
            format!(
                "STORE CANNOT WRITE for {}: {} · webhooks and feeds get 503 until it can",
                age(now, f.since),
                f.reason
            ),
            t.bad(),
        ));
    }
    lines.extend(line.lines().map(|l| Line::raw(l.to_string())));
    if !status.endpoints.is_empty() {
        lines.push(endpoint_line(&status.endpoints, t));
    }
    lines.extend(jobs);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP)),
        totals_area,
    );
}

/// How long a bulk job that ended stays on the overview, when none runs.
const JOB_SHOWN_FOR: Millis = 10 * 60 * 1000;

/// A line per running bulk job with its progress; when none runs, the last one for a while
/// after it ended, with its counts.
fn job_lines(jobs: &[BulkJob], now: Millis, t: Theme) -> Vec<Line<'static>> {
    let running: Vec<&BulkJob> = jobs.iter().filter(|j| !j.state.is_over()).collect();
    let shown = if running.is_empty() {
        jobs.iter()
            .take(1)
            .filter(|j| {
                j.finished_at
                    .is_some_and(|at| now.saturating_sub(at) < JOB_SHOWN_FOR)
            })
            .collect()
    } else {
        running
    };
    shown
        .into_iter()
        .map(|j| {
            // `orders/exception`, `orders/*`: short, so that a line fits 80 columns.
            let filter = format!(
                "{}/{}",
                j.filter.flow.as_deref().unwrap_or("*"),
                j.filter.state.map_or("*", |s| s.as_str())
            );
            let (state, style) = match j.state {
                JobState::Running => {
                    let of = j.expected.max(j.matched);
                    let pct = (j.matched * 100).checked_div(of).unwrap_or(100);
                    (format!("{pct}% of {of}"), t.good())
                }
                JobState::Finished if j.failed == 0 => (
                    format!("finished {} ago", age(now, j.finished_at.unwrap_or(now))),
                    t.good(),
                ),
                other => (
                    format!("{other} {} ago", age(now, j.finished_at.unwrap_or(now))),
                    t.warn(),
                ),
            };
            Line::from(vec![
                Span::raw(format!("job {} {} {filter} ", j.id, j.action.as_str())),
                Span::styled(state, style),
                Span::raw(format!(
                    ": {} changed, {} skipped, {} failed",
                    j.changed, j.skipped, j.failed
                )),
            ])
        })
        .collect()
}

/// One span per back-office endpoint: its name, health and deliveries, coloured by health.
fn endpoint_line(endpoints: &[EndpointStatus], t: Theme) -> Line<'static> {
    let mut spans = vec![Span::raw("endpoints:")];
    for e in endpoints {
        let (health, style) = match e.health {
            Health::Up => ("up", t.good()),
            Health::Retrying => ("retrying", t.warn()),
            Health::CircuitOpen => ("circuit open", t.bad()),
        };
        spans.push(Span::raw(format!(" {} ", e.name)));
        spans.push(Span::styled(health, style));
        spans.push(Span::raw(format!(" ({} sent) ·", e.delivered)));
    }
    if let Some(last) = spans.last_mut() {
        let text = last.content.trim_end_matches(" ·").to_string();
        *last = Span::raw(text);
    }
    Line::from(spans)
}

/// The daemon's recent warnings and errors, newest at the bottom.
fn draw_logs(frame: &mut Frame, area: Rect, app: &App, t: Theme) {
    let room = area.height.saturating_sub(1) as usize;
    let lines: Vec<Line> = app
        .logs
        .iter()
        .skip(app.logs.len().saturating_sub(room))
        .map(|l| {
            let style = if l.level == "ERROR" {
                t.bad()
            } else {
                t.warn()
            };
            Line::from(vec![
                Span::styled(format!("{:<5} ", l.level), style),
                Span::raw(l.message.clone()),
            ])
        })
        .collect();
    let title = if app.logs.is_empty() {
        " Log: no warnings "
    } else {
        " Log: warnings and errors "
    };
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(title)),
        area,
    );
}

fn age(now: Millis, then: Millis) -> String {
    let s = now.saturating_sub(then) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn item_rows<'a>(
    items: &'a [Item],
    marked: &'a std::collections::BTreeSet<u64>,
    now: Millis,
    t: Theme,
) -> impl Iterator<Item = Row<'a>> {
    items.iter().map(move |i| {
        let state_style = match i.state.as_str() {
            "exception" => t.bad(),
            "retrying" => t.warn(),
            "done" | "resolved" => t.good(),
            _ => Style::default(),
        };
        Row::new(vec![
            Span::raw(if marked.contains(&i.id.0) { "*" } else { " " }),
            Span::raw(i.id.0.to_string()),
            Span::raw(i.flow.clone()),
            Span::styled(i.state.as_str(), state_style),
            Span::raw(i.kind.clone()),
            Span::raw(i.key.clone()),
            Span::raw(i.attempts.to_string()),
            Span::raw(age(now, i.updated_at)),
            Span::raw(i.last_error.clone().unwrap_or_default()),
        ])
    })
}

fn item_widths() -> [Constraint; 9] {
    [
        Constraint::Length(1),
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(16),
        Constraint::Length(12),
        Constraint::Length(3),
        Constraint::Length(4),
        Constraint::Fill(1),
    ]
}

fn item_table<'a>(
    items: &'a [Item],
    marked: &'a std::collections::BTreeSet<u64>,
    now: Millis,
    title: String,
    t: Theme,
) -> Table<'a> {
    let header = Row::new([
        "",
        "ID",
        "FLOW",
        "STATE",
        "KIND",
        "KEY",
        "TRY",
        "AGE",
        "LAST ERROR",
    ])
    .style(t.head());
    Table::new(item_rows(items, marked, now, t), item_widths())
        .header(header)
        .block(Block::default().borders(Borders::TOP).title(title))
        .row_highlight_style(t.selected())
}

fn list_title(app: &App, kind: ListKind, name: &str) -> String {
    let list = app.list(kind);
    let filter = list.filter.describe();
    let page = list.back.len() + 1;
    let more = if list.next.is_some() { ", more: n" } else { "" };
    let loading = if list.loading { " loading…" } else { "" };
    let marked = if list.marked.is_empty() {
        String::new()
    } else {
        format!(", {} marked", list.marked.len())
    };
    format!(
        " {name} [{}] page {page}: {} shown{more}{marked}{loading} ",
        if filter.is_empty() { "all" } else { &filter },
        list.items.len()
    )
}

fn draw_items(frame: &mut Frame, area: Rect, app: &App, kind: ListKind, now: Millis, t: Theme) {
    let list = app.list(kind);
    let mut state =
        TableState::default().with_selected((!list.items.is_empty()).then_some(list.selected));
    let table = item_table(
        &list.items,
        &list.marked,
        now,
        list_title(app, kind, "Items"),
        t,
    );
    frame.render_stateful_widget(table, area, &mut state);
}

/// Exceptions grouped by the class of their error: the reason up to its first colon.
pub fn error_classes(items: &[Item]) -> Vec<(String, usize)> {
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for i in items {
        let reason = i.last_error.as_deref().unwrap_or("(no reason)");
        let class: String = reason
            .split([':', '('])
            .next()
            .unwrap_or(reason)
            .trim()
            .chars()
            .take(60)
            .collect();
        *groups.entry(format!("{} · {class}", i.flow)).or_insert(0) += 1;
    }
    let mut v: Vec<(String, usize)> = groups.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

fn draw_exceptions(frame: &mut Frame, area: Rect, app: &App, now: Millis, t: Theme) {
    let list = &app.exceptions;
    let classes = error_classes(&list.items);
    let group_height = (classes.len().min(5) as u16 + 2)
        .min(area.height / 3)
        .max(3);
    let [groups_area, items_area] =
        Layout::vertical([Constraint::Length(group_height), Constraint::Fill(1)]).areas(area);
    let rows = classes
        .iter()
        .map(|(class, n)| Row::new(vec![n.to_string(), class.clone()]));
    frame.render_widget(
        Table::new(rows, [Constraint::Length(6), Constraint::Fill(1)])
            .header(Row::new(["COUNT", "FLOW · ERROR"]).style(t.head()))
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(" Exceptions by error "),
            ),
        groups_area,
    );
    let mut state =
        TableState::default().with_selected((!list.items.is_empty()).then_some(list.selected));
    let table = item_table(
        &list.items,
        &list.marked,
        now,
        list_title(app, ListKind::Exceptions, "Exceptions"),
        t,
    );
    frame.render_stateful_widget(table, items_area, &mut state);
}

fn draw_detail(frame: &mut Frame, area: Rect, app: &App, now: Millis, t: Theme) {
    let block = Block::default().borders(Borders::TOP).title(" Item ");
    let Some(d) = &app.detail else {
        frame.render_widget(Paragraph::new("loading…").block(block), area);
        return;
    };
    let i = &d.item;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("item {}", i.id.0), t.head()),
            Span::raw(format!("  {} · {} · {}", i.flow, i.kind, i.key)),
        ]),
        Line::from(format!(
            "state {} · attempt {} · created {} ago · updated {} ago · due in {}",
            i.state.as_str(),
            i.attempts,
            age(now, i.created_at),
            age(now, i.updated_at),
            if i.due_at > now {
                age(i.due_at, now)
            } else {
                "0s".into()
            }
        )),
    ];
    if let Some(e) = &i.last_error {
        lines.push(Line::from(vec![
            Span::styled("last error: ", t.bad()),
            Span::raw(e.clone()),
        ]));
    }
    lines.push(Line::styled("history", t.head()));
    for h in &d.history {
        let from = h.from.map(|s| s.as_str()).unwrap_or("new");
        lines.push(Line::from(format!(
            "  {} ago  {from} → {}  {}",
            age(now, h.at),
            h.to.as_str(),
            h.note.as_deref().unwrap_or("")
        )));
    }
    lines.push(Line::styled("payload", t.head()));
    let payload = serde_json::to_string_pretty(&d.payload).unwrap_or_default();
    lines.extend(payload.lines().map(|l| Line::from(l.to_string())));
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((app.scroll, 0)),
        area,
    );
}

fn draw_message(frame: &mut Frame, area: Rect, app: &App, t: Theme) {
    let line = match &app.prompt {
        Some(Prompt::Filter(input)) => Line::from(format!(
            "/ {input}█   (flow:NAME state:STATE age>1h text · enter apply · esc cancel)"
        )),
        Some(Prompt::Note { action, ids, input }) => Line::from(format!(
            "{} {} item(s), {}: {input}█   (enter confirm · esc cancel)",
            action.as_str(),
            ids.len(),
            if *action == ItemAction::Decline {
                "[FINAL_SALE|RETURN_PERIOD_ENDED|OTHER:] note"
            } else {
                "note"
            }
        )),
        Some(Prompt::Confirm {
            action,
            filter,
            count,
        }) => Line::styled(
            format!(
                "{} ALL {count} items matching [{}]? y to confirm, any other key cancels",
                action.as_str(),
                filter.describe()
            ),
            t.warn(),
        ),
        None => match (&app.message, &app.connection) {
            (_, Connection::Down(why)) => {
                Line::styled(format!("connection lost: {why}; reconnecting"), t.bad())
            }
            (Some((text, true)), _) => Line::styled(text.clone(), t.bad()),
            (Some((text, false)), _) => Line::from(text.clone()),
            (None, _) => Line::default(),
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_hints(frame: &mut Frame, area: Rect, app: &App, t: Theme) {
    let text: Vec<String> = bindings(app.view, app.readonly)
        .filter(|b| b.hint)
        .map(|b| {
            format!(
                "{} {}",
                b.key,
                b.help.split([' ', ':', '(']).next().unwrap_or("")
            )
        })
        .collect();
    frame.render_widget(Paragraph::new(text.join("  ")).style(t.dim()), area);
}

fn draw_help(frame: &mut Frame, area: Rect, app: &App) {
    let lines: Vec<Line> = bindings(app.view, app.readonly)
        .map(|b| Line::from(format!("{:>6}  {}", b.key, b.help)))
        .collect();
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 64.min(area.width);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys (any key closes) ")),
        popup,
    );
}
