//! The hint bar and the help screen, both read from the key tables that are dispatched on.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::tui::keys::{Binding, active};
use crate::tui::theme::Theme;

/// One line: the keys marked as hints, each with the first word of its help.
pub fn draw_hints(
    frame: &mut Frame,
    area: Rect,
    tables: &[&'static [Binding]],
    readonly: bool,
    t: Theme,
) {
    let text: Vec<String> = active(tables, readonly)
        .into_iter()
        .filter(|b| b.hint)
        .map(|b| format!("{} {}", b.label(), b.short()))
        .collect();
    frame.render_widget(Paragraph::new(text.join("  ")).style(t.dim()), area);
}

/// Every key of the view with its help, over the view.
pub fn draw_help(frame: &mut Frame, area: Rect, tables: &[&'static [Binding]], readonly: bool) {
    let lines: Vec<Line> = active(tables, readonly)
        .into_iter()
        .map(|b| Line::from(format!("{:>7}  {}", b.label(), b.help)))
        .collect();
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 72.min(area.width);
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
