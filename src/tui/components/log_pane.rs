//! The daemon's recent log lines, newest at the bottom, at a level the operator cycles with
//! `L`; the title says where the full log is.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use tracing::Level;

use super::{Component, Context, Effect};
use crate::logging::LogLine;
use crate::tui::keys::{Action, Binding, LOGS};

/// Lines kept; the daemon keeps more, and its log file everything.
const KEPT: usize = 500;

#[derive(Debug)]
pub struct LogPane {
    pub lines: VecDeque<LogLine>,
    /// The least severe level shown.
    pub level: Level,
}

impl Default for LogPane {
    fn default() -> Self {
        LogPane {
            lines: VecDeque::new(),
            level: Level::WARN,
        }
    }
}

impl LogPane {
    pub fn add(&mut self, lines: Vec<LogLine>) {
        // A restarted daemon numbers from 1 again: what is kept is from the one before.
        if let (Some(first), Some(last)) = (lines.first(), self.lines.back())
            && first.seq <= last.seq
        {
            self.lines.retain(|l| l.seq < first.seq);
        }
        self.lines.extend(lines);
        while self.lines.len() > KEPT {
            self.lines.pop_front();
        }
    }

    fn shown(&self) -> impl Iterator<Item = &LogLine> {
        self.lines
            .iter()
            .filter(|l| l.level.parse::<Level>().is_ok_and(|l| l <= self.level))
    }
}

fn level_words(level: Level) -> &'static str {
    match level {
        Level::ERROR => "errors",
        Level::WARN => "warn and up",
        _ => "info and up",
    }
}

impl Component for LogPane {
    fn bindings(&self) -> &'static [Binding] {
        LOGS
    }

    fn act(&mut self, action: Action, _cx: &Context) -> Vec<Effect> {
        if action == Action::LogLevel {
            self.level = match self.level {
                Level::WARN => Level::INFO,
                Level::INFO => Level::ERROR,
                _ => Level::WARN,
            };
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let t = cx.theme;
        let room = area.height.saturating_sub(1) as usize;
        let shown: Vec<&LogLine> = self.shown().collect();
        let lines: Vec<Line> = shown[shown.len().saturating_sub(room)..]
            .iter()
            .map(|l| {
                let style = match l.level.as_str() {
                    "ERROR" => t.bad(),
                    "WARN" => t.warn(),
                    _ => t.dim(),
                };
                Line::from(vec![
                    Span::styled(format!("{:<5} ", l.level), style),
                    Span::raw(l.message.clone()),
                ])
            })
            .collect();
        let full = cx
            .status
            .map(|s| s.log_to.as_str())
            .filter(|s| !s.is_empty())
            .map(|s| format!(" · all: {s}"))
            .unwrap_or_default();
        let none = if shown.is_empty() { "nothing at " } else { "" };
        let title = format!(" Log ({none}{}; L: level){full} ", level_words(self.level));
        frame.render_widget(
            Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(title)),
            area,
        );
    }
}
