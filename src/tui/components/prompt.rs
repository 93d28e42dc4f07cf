//! The bottom line when it asks for something: a filter (a line editor with history and the
//! error of what is typed so far), a note for an action, a bulk confirmation, or whether to stop
//! the daemon the demo started.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Context;
use crate::cli::ItemAction;
use crate::tui::app::{Exit, ListKind, Request};
use crate::tui::filter::{Filter, FilterHistory, FilterOutcome, FilterPrompt, LineEditor};
use crate::tui::keys::PROMPT;

#[derive(Debug, Clone)]
pub enum Prompt {
    Filter {
        list: ListKind,
        prompt: FilterPrompt,
    },
    Note {
        action: ItemAction,
        ids: Vec<u64>,
        editor: LineEditor,
    },
    Confirm {
        action: ItemAction,
        filter: Filter,
        count: String,
    },
    /// `q` in the demo: stop the daemon, detach from it, or stay.
    Quit,
}

/// What a key in a prompt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The prompt stays open.
    Open,
    Closed(Option<String>),
    Filter(ListKind, Filter),
    Request(Request),
    Exit(Exit),
}

impl Prompt {
    pub fn filter(list: ListKind, current: &Filter) -> Prompt {
        Prompt::Filter {
            list,
            prompt: FilterPrompt::new(current),
        }
    }

    pub fn note(action: ItemAction, ids: Vec<u64>) -> Prompt {
        Prompt::Note {
            action,
            ids,
            editor: LineEditor::default(),
        }
    }

    pub fn on_key(&mut self, key: KeyEvent, cx: &Context, history: &mut FilterHistory) -> Outcome {
        match self {
            Prompt::Filter { list, prompt } => match prompt.on_key(key, &cx.flows(), history) {
                FilterOutcome::Editing => Outcome::Open,
                FilterOutcome::Cancelled => Outcome::Closed(None),
                FilterOutcome::Apply(f) => Outcome::Filter(*list, f),
            },
            Prompt::Note {
                action,
                ids,
                editor,
            } => match key.code {
                KeyCode::Esc => Outcome::Closed(Some(format!("{} cancelled", action.as_str()))),
                KeyCode::Enter => {
                    let text = editor.value().trim();
                    Outcome::Request(Request::Act {
                        action: *action,
                        ids: std::mem::take(ids),
                        note: (!text.is_empty()).then(|| text.to_string()),
                    })
                }
                _ => {
                    editor.edit(key);
                    Outcome::Open
                }
            },
            Prompt::Confirm { action, filter, .. } => {
                if key.code == KeyCode::Char('y') {
                    Outcome::Request(Request::Bulk {
                        action: *action,
                        flow: filter.flow.clone(),
                        state: filter.state.clone(),
                        note: Some("bulk action from the TUI".into()),
                    })
                } else {
                    Outcome::Closed(Some(format!("bulk {} cancelled", action.as_str())))
                }
            }
            Prompt::Quit => match key.code {
                KeyCode::Char('y') | KeyCode::Char('q') => Outcome::Exit(Exit::Stop),
                KeyCode::Char('d') => Outcome::Exit(Exit::Detach),
                _ => Outcome::Closed(None),
            },
        }
    }

    /// Lines the prompt needs: two while a filter has an error to show under it.
    pub fn height(&self) -> u16 {
        match self {
            Prompt::Filter { prompt, .. } if prompt.error.is_some() => 2,
            _ => 1,
        }
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let t = cx.theme;
        let keys: Vec<String> = PROMPT
            .iter()
            .map(|b| format!("{} {}", b.label(), b.help))
            .collect();
        let (label, editor, help) = match self {
            Prompt::Filter { prompt, .. } => {
                if let Some(e) = &prompt.error {
                    let error = Rect { height: 1, ..area };
                    frame.render_widget(
                        Paragraph::new(Line::styled(format!("  {e}"), t.bad())),
                        error,
                    );
                }
                (
                    "/ ".to_string(),
                    &prompt.editor,
                    format!("flow:NAME state:STATE age>1h text · {}", keys.join(" · ")),
                )
            }
            Prompt::Note {
                action,
                ids,
                editor,
            } => (
                format!(
                    "{} {} item(s), {}: ",
                    action.as_str(),
                    ids.len(),
                    if *action == ItemAction::Decline {
                        "[FINAL_SALE|RETURN_PERIOD_ENDED|OTHER:] note"
                    } else {
                        "note"
                    }
                ),
                editor,
                "enter confirm · esc cancel".to_string(),
            ),
            Prompt::Confirm {
                action,
                filter,
                count,
            } => {
                let line = Line::styled(
                    format!(
                        "{} ALL {count} items matching [{}]? y to confirm, any other key cancels",
                        action.as_str(),
                        filter.describe()
                    ),
                    t.warn(),
                );
                frame.render_widget(Paragraph::new(line), last_line(area));
                return;
            }
            Prompt::Quit => {
                let line = Line::styled(
                    "Stop the daemon and exit? y stop · d detach (the daemon keeps running headless) · any other key stays",
                    t.warn(),
                );
                frame.render_widget(Paragraph::new(line), last_line(area));
                return;
            }
        };
        let area = last_line(area);
        let help = format!("   ({help})");
        let label_width = label.chars().count() as u16;
        let help_width = (help.chars().count() as u16).min(area.width / 2);
        let field = area.width.saturating_sub(label_width + help_width).max(1);
        let scroll = editor.input.visual_scroll(field as usize);
        let visible: String = editor
            .value()
            .chars()
            .skip(scroll)
            .take(field as usize)
            .collect();
        let text = format!("{label}{visible:<width$}{help}", width = field as usize);
        frame.render_widget(Paragraph::new(text), area);
        let cursor = (editor.input.visual_cursor().saturating_sub(scroll)) as u16;
        frame.set_cursor_position(Position::new(area.x + label_width + cursor, area.y));
    }
}

fn last_line(area: Rect) -> Rect {
    Rect {
        y: area.y + area.height.saturating_sub(1),
        height: 1,
        ..area
    }
}
