//! The frame: a header, the focused view's components, the message or prompt line, and the hint
//! bar; the help over it. A pure function of the app state and the time; works from 80×24 up.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use xconnector_actors::item::Millis;

use super::app::{App, Connection, Mode, View};
use super::components::Component;
use super::components::help::{draw_help, draw_hints};
pub use super::theme::{Theme, sparkline};

pub fn draw(frame: &mut Frame, app: &App, now: Millis, theme: Theme) {
    let cx = app.context(now, theme);
    let prompt_height = app.prompt.as_ref().map(|p| p.height()).unwrap_or(1);
    let [header, body, message, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(prompt_height),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app, theme);
    match app.view {
        View::Overview => {
            let (top, rest) = app.overview.split(body, &cx);
            app.overview.draw(frame, top, &cx);
            app.logs.draw(frame, rest, &cx);
        }
        View::Items => app.items.draw(frame, body, &cx),
        View::Exceptions => app.exceptions.draw(frame, body, &cx),
        View::Detail => app.detail.draw(frame, body, &cx),
        View::Reports => app.reports.draw(frame, body, &cx),
    }
    match &app.prompt {
        Some(p) => p.draw(frame, message, &cx),
        None => draw_message(frame, message, app, theme),
    }
    let tables = app.tables();
    draw_hints(frame, hints, &tables, app.readonly, theme);
    if app.help {
        draw_help(frame, body, &tables, app.readonly);
    }
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App, t: Theme) {
    let conn = match &app.connection {
        Connection::Connecting => Span::styled("connecting…", t.warn()),
        Connection::Up => Span::styled("live", t.good()),
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
    if app.mode == Mode::Owned {
        spans.push(Span::raw(" · demo"));
    }
    let tabs = [
        (View::Overview, "Overview"),
        (View::Items, "Items"),
        (View::Exceptions, "Exceptions"),
        (View::Reports, "Reports"),
    ];
    let on = |view| app.view == view || (app.view == View::Detail && app.came_from == view);
    // ` 1 Overview  2 Items …`; where that does not fit (80 columns), only the tab shown
    // keeps its padding: `1 Overview  2 Items 3 Exceptions …`.
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let full = 3 + tabs.iter().map(|(_, name)| name.len() + 4).sum::<usize>();
    let compact = used + full > area.width as usize;
    spans.push(Span::raw(if compact { "  " } else { "   " }));
    for (n, (view, name)) in tabs.into_iter().enumerate() {
        let (selected, before) = (on(view), n > 0 && on(tabs[n - 1].0));
        if compact && n > 0 && !selected && !before {
            spans.push(Span::raw(" "));
        }
        let label = if compact && !selected {
            format!("{} {name}", n + 1)
        } else {
            format!(" {} {name} ", n + 1)
        };
        spans.push(if selected {
            Span::styled(label, t.selected())
        } else {
            Span::raw(label)
        });
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_message(frame: &mut Frame, area: Rect, app: &App, t: Theme) {
    let line = match (&app.message, &app.connection) {
        (_, Connection::Down(why)) => {
            Line::styled(format!("connection lost: {why}; reconnecting"), t.bad())
        }
        (Some((text, true)), _) => Line::styled(text.clone(), t.bad()),
        (Some((text, false)), _) => Line::from(text.clone()),
        (None, _) => Line::default(),
    };
    frame.render_widget(Paragraph::new(line), area);
}
