//! Colours and the small text helpers every component shares. Colours are accents only (every
//! state is also a word), and `NO_COLOR` turns them off.

use ratatui::style::{Color, Modifier, Style};
use xconnector_actors::item::Millis;

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
    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            Style::default()
        }
    }
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub fn head(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
}

/// `42s`, `6m`, `3h`, `2d`: how long ago `then` was.
pub fn age(now: Millis, then: Millis) -> String {
    let s = now.saturating_sub(then) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
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
