//! The overview: one row per flow (state, rates, backlog, exceptions), the totals, the Shopify
//! budget, the endpoints and the bulk jobs.

use std::collections::{BTreeMap, VecDeque};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState, Wrap};
use xconnector_actors::endpoints::{EndpointStatus, Health};
use xconnector_actors::item::Millis;
use xconnector_actors::store::{BulkJob, JobState};

use super::{Component, Context, Effect};
use crate::control::api::Status;
use crate::tui::app::{Connection, Request};
use crate::tui::keys::{Action, Binding, OVERVIEW};
use crate::tui::theme::{Theme, age, sparkline};

/// Samples of each flow's completion rate kept for the sparkline (one per status update).
pub const HISTORY: usize = 120;

#[derive(Debug, Default)]
pub struct Overview {
    pub selected: usize,
    /// Items finished per update, per flow: the sparklines.
    pub rates: BTreeMap<String, VecDeque<u64>>,
    last_done: BTreeMap<String, u64>,
    /// Items accepted per flow per update (items are never deleted, so the change in a flow's
    /// total count is what came in), newest last.
    pub rates_in: BTreeMap<String, VecDeque<u64>>,
    last_total: BTreeMap<String, u64>,
}

fn sample(
    samples: &mut BTreeMap<String, VecDeque<u64>>,
    last: &mut BTreeMap<String, u64>,
    flow: &str,
    value: u64,
) {
    let before = last.insert(flow.to_string(), value);
    let s = samples.entry(flow.to_string()).or_default();
    s.push_back(before.map(|b| value.saturating_sub(b)).unwrap_or(0));
    while s.len() > HISTORY {
        s.pop_front();
    }
}

impl Overview {
    pub fn on_status(&mut self, status: &Status) {
        for f in &status.flows {
            let done: u64 = ["done", "resolved", "cancelled", "exception"]
                .iter()
                .filter_map(|s| f.counts.get(*s))
                .sum::<u64>()
                + f.retired;
            sample(&mut self.rates, &mut self.last_done, &f.name, done);
            // Retired items came in too: without them the total falls as they go.
            let total: u64 = f.counts.values().sum::<u64>() + f.retired;
            sample(&mut self.rates_in, &mut self.last_total, &f.name, total);
        }
        self.selected = self.selected.min(status.flows.len().saturating_sub(1));
    }

    fn selected_flow<'a>(&self, cx: &'a Context) -> Option<&'a crate::control::api::FlowRow> {
        cx.status?.flows.get(self.selected)
    }

    /// The overview's own part of `area`, and what is left below it (the log pane's).
    pub fn split(&self, area: Rect, cx: &Context) -> (Rect, Rect) {
        let Some(status) = cx.status else {
            return (area, Rect::default());
        };
        let jobs = job_lines(&status.jobs, cx.now, cx.theme).len() as u16;
        let height = status.flows.len() as u16
            + 3
            + 4
            + u16::from(!status.endpoints.is_empty())
            + u16::from(status.store_failing.is_some())
            + jobs;
        let [top, rest] =
            Layout::vertical([Constraint::Length(height), Constraint::Fill(1)]).areas(area);
        (top, rest)
    }
}

impl Component for Overview {
    fn bindings(&self) -> &'static [Binding] {
        OVERVIEW
    }

    fn act(&mut self, action: Action, cx: &Context) -> Vec<Effect> {
        let len = cx.status.map(|s| s.flows.len()).unwrap_or(0);
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(len.saturating_sub(1)),
            Action::Open => {
                if let Some(f) = self.selected_flow(cx) {
                    return vec![Effect::OpenFlow(f.name.clone())];
                }
            }
            Action::TogglePause => {
                let Some(flow) = self.selected_flow(cx) else {
                    return Vec::new();
                };
                if !flow.running {
                    return vec![Effect::Say(
                        format!("{} is not running in this daemon", flow.name),
                        true,
                    )];
                }
                return vec![Effect::Request(Request::Flow {
                    name: flow.name.clone(),
                    pause: !flow.paused,
                })];
            }
            _ => {}
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let t = cx.theme;
        let block = Block::default().borders(Borders::TOP).title(" Flows ");
        let Some(status) = cx.status else {
            let text = match cx.connection {
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
        let jobs = job_lines(&status.jobs, cx.now, t);
        let [table_area, totals_area] = Layout::vertical([
            Constraint::Length(status.flows.len() as u16 + 3),
            Constraint::Fill(1),
        ])
        .areas(area);
        self.draw_flows(frame, table_area, status, block, cx);
        let mut lines: Vec<Line> = Vec::new();
        if let Some(f) = &status.store_failing {
            lines.push(Line::styled(
                format!(
                    "STORE CANNOT WRITE for {}: {} · webhooks and feeds get 503 until it can",
                    age(cx.now, f.since),
                    f.reason
                ),
                t.bad(),
            ));
        }
        lines.extend(
            totals(status, cx.now)
                .lines()
                .map(|l| Line::raw(l.to_string())),
        );
        if !status.endpoints.is_empty() {
            lines.push(endpoint_line(&status.endpoints, t));
        }
        lines.extend(jobs);
        frame.render_widget(
            Paragraph::new(lines).block(Block::default().borders(Borders::TOP)),
            totals_area,
        );
    }
}

impl Overview {
    fn draw_flows(
        &self,
        frame: &mut Frame,
        area: Rect,
        status: &Status,
        block: Block,
        cx: &Context,
    ) {
        let t = cx.theme;
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
                let samples: Vec<u64> = self
                    .rates
                    .get(&f.name)
                    .map(|v| v.iter().copied().collect())
                    .unwrap_or_default();
                let rate = samples.last().copied().unwrap_or(0) * 2;
                let rate_in = self
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
                            .map(|at| age(cx.now, at))
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
        let mut state = TableState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(
            Table::new(rows, widths)
                .header(header)
                .block(block)
                .row_highlight_style(t.selected()),
            area,
            &mut state,
        );
    }
}

/// The totals over all flows, the store and the Shopify budget: three lines.
fn totals(status: &Status, now: Millis) -> String {
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
    format!(
        "all flows: {} waiting · {} in flight · {} exceptions · {} done\nstore: {} MiB{kept} · {retired} retired",
        total("pending") + total("retrying"),
        total("in_flight"),
        total("exception"),
        total("done"),
        store.disk_bytes >> 20,
    ) + &budget
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
