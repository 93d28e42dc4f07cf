//! The `/` filter of the item lists: its syntax, and the line editor that edits it (readline
//! keys from `tui-input`, history on ↑/↓, the error shown while typing).

use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;
use xconnector_actors::item::ItemState;

/// A parsed filter: `flow:orders state:exception age>1h #1001`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub flow: Option<String>,
    pub state: Option<String>,
    pub older_than_secs: Option<u64>,
    pub text: Option<String>,
}

impl Filter {
    /// Parses `input`; `flows` are the daemon's flows, when known, so that a misspelt one is
    /// an error rather than an empty list.
    pub fn parse(input: &str, flows: &[String]) -> Result<Filter, String> {
        let mut f = Filter::default();
        let mut text = Vec::new();
        for word in input.split_whitespace() {
            if let Some(v) = word.strip_prefix("flow:") {
                if !flows.is_empty() && !flows.iter().any(|f| f == v) {
                    return Err(format!("no flow {v:?}; flows: {}", flows.join(", ")));
                }
                f.flow = Some(v.to_string());
            } else if let Some(v) = word.strip_prefix("state:") {
                v.parse::<ItemState>().map_err(|e| e.to_string())?;
                f.state = Some(v.to_string());
            } else if let Some(v) = word.strip_prefix("age>") {
                let d = crate::config::duration::parse(v).map_err(|e| format!("age>{v}: {e}"))?;
                f.older_than_secs = Some(d.as_secs());
            } else {
                text.push(word);
            }
        }
        f.text = (!text.is_empty()).then(|| text.join(" "));
        Ok(f)
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.flow {
            parts.push(format!("flow:{v}"));
        }
        if let Some(v) = &self.state {
            parts.push(format!("state:{v}"));
        }
        if let Some(v) = self.older_than_secs {
            parts.push(format!("age>{v}s"));
        }
        if let Some(v) = &self.text {
            parts.push(v.clone());
        }
        parts.join(" ")
    }

    /// The `/v1/items` query string for one page.
    pub fn query(&self, after: Option<u64>, limit: usize) -> String {
        let mut q = vec![format!("limit={limit}")];
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        q.extend(self.flow.as_deref().map(|v| format!("flow={}", enc(v))));
        q.extend(self.state.as_deref().map(|v| format!("state={}", enc(v))));
        q.extend(self.older_than_secs.map(|v| format!("older_than={v}")));
        q.extend(self.text.as_deref().map(|v| format!("key={}", enc(v))));
        q.extend(after.map(|a| format!("after={a}")));
        q.join("&")
    }
}

/// Filters applied before, oldest first; kept for the session.
const HISTORY: usize = 50;

/// A one-line editor: the text, the cursor, readline keys.
#[derive(Debug, Clone, Default)]
pub struct LineEditor {
    pub input: Input,
}

impl LineEditor {
    /// Opens on `value` with the cursor at its end; a non-empty value ends in a space, so
    /// that typing adds a term instead of running into the last one.
    pub fn new(value: &str) -> LineEditor {
        let mut value = value.to_string();
        if !value.is_empty() && !value.ends_with(' ') {
            value.push(' ');
        }
        LineEditor {
            input: Input::new(value),
        }
    }

    /// Edits the line; true if the key was an editing key.
    pub fn edit(&mut self, key: KeyEvent) -> bool {
        self.input.handle_event(&Event::Key(key)).is_some()
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    pub fn set(&mut self, value: &str) {
        self.input = Input::new(value.to_string());
    }
}

/// The filter prompt: an editor, its history and the error of what is typed so far.
#[derive(Debug, Clone, Default)]
pub struct FilterPrompt {
    pub editor: LineEditor,
    /// Why the line does not parse, shown under it while typing.
    pub error: Option<String>,
    /// Position in the history while ↑/↓ browse it; `None`: the line being typed.
    browsing: Option<usize>,
    typed: String,
}

/// What a key did to the filter prompt.
#[derive(Debug, PartialEq, Eq)]
pub enum FilterOutcome {
    Editing,
    Cancelled,
    Apply(Filter),
}

/// Past filters, shared by the two lists.
#[derive(Debug, Clone, Default)]
pub struct FilterHistory(Vec<String>);

impl FilterHistory {
    pub fn push(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        self.0.retain(|l| l != line);
        self.0.push(line.to_string());
        if self.0.len() > HISTORY {
            self.0.remove(0);
        }
    }
}

impl FilterPrompt {
    pub fn new(current: &Filter) -> FilterPrompt {
        FilterPrompt {
            editor: LineEditor::new(&current.describe()),
            ..FilterPrompt::default()
        }
    }

    pub fn on_key(
        &mut self,
        key: KeyEvent,
        flows: &[String],
        history: &mut FilterHistory,
    ) -> FilterOutcome {
        match key.code {
            KeyCode::Esc => return FilterOutcome::Cancelled,
            KeyCode::Enter => {
                return match Filter::parse(self.editor.value(), flows) {
                    Ok(f) => {
                        history.push(self.editor.value());
                        FilterOutcome::Apply(f)
                    }
                    Err(e) => {
                        self.error = Some(e);
                        FilterOutcome::Editing
                    }
                };
            }
            KeyCode::Up | KeyCode::Down => {
                self.browse(key.code == KeyCode::Up, history);
            }
            _ => {
                self.editor.edit(key);
                self.browsing = None;
            }
        }
        self.error = Filter::parse(self.editor.value(), flows).err();
        FilterOutcome::Editing
    }

    fn browse(&mut self, older: bool, history: &FilterHistory) {
        let n = history.0.len();
        if n == 0 {
            return;
        }
        let next = match (self.browsing, older) {
            (None, true) => {
                self.typed = self.editor.value().to_string();
                Some(n - 1)
            }
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < n => Some(i + 1),
            (Some(_), false) => None,
        };
        self.browsing = next;
        let line = match next {
            Some(i) => history.0[i].clone(),
            None => self.typed.clone(),
        };
        self.editor.set(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn press(
        p: &mut FilterPrompt,
        h: &mut FilterHistory,
        code: KeyCode,
        m: KeyModifiers,
    ) -> FilterOutcome {
        p.on_key(KeyEvent::new(code, m), &[], h)
    }

    fn typed(p: &mut FilterPrompt, h: &mut FilterHistory, text: &str) {
        for c in text.chars() {
            press(p, h, KeyCode::Char(c), KeyModifiers::NONE);
        }
    }

    #[test]
    fn typing_after_the_current_filter_adds_a_term() {
        let mut h = FilterHistory::default();
        let current = Filter::parse("flow:exceptions", &[]).unwrap();
        let mut p = FilterPrompt::new(&current);
        typed(&mut p, &mut h, "state:exception");
        let got = press(&mut p, &mut h, KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(
            got,
            FilterOutcome::Apply(Filter {
                flow: Some("exceptions".into()),
                state: Some("exception".into()),
                ..Filter::default()
            })
        );
    }

    #[test]
    fn readline_keys_edit_and_errors_show_while_typing() {
        let mut h = FilterHistory::default();
        let mut p = FilterPrompt::new(&Filter::default());
        typed(&mut p, &mut h, "age>zz");
        assert!(
            p.error.as_deref().is_some_and(|e| e.contains("age>zz")),
            "{:?}",
            p.error
        );
        // Ctrl-W drops words (`zz`, then `age>`), and the error with them.
        press(&mut p, &mut h, KeyCode::Char('w'), KeyModifiers::CONTROL);
        assert_eq!(p.editor.value(), "age>");
        assert!(p.error.is_some());
        press(&mut p, &mut h, KeyCode::Char('w'), KeyModifiers::CONTROL);
        assert_eq!(p.editor.value(), "");
        assert_eq!(p.error, None);
        typed(&mut p, &mut h, "orders");
        press(&mut p, &mut h, KeyCode::Home, KeyModifiers::NONE);
        typed(&mut p, &mut h, "flow:");
        assert_eq!(p.editor.value(), "flow:orders");
        press(&mut p, &mut h, KeyCode::Char('u'), KeyModifiers::CONTROL);
        assert_eq!(p.editor.value(), "", "Ctrl-U clears, it does not type a u");
        typed(&mut p, &mut h, "state:bogus");
        assert!(p.error.is_some());
        assert_eq!(
            press(&mut p, &mut h, KeyCode::Enter, KeyModifiers::NONE),
            FilterOutcome::Editing,
            "a bad filter is not applied"
        );
    }

    #[test]
    fn history_walks_back_and_forth_to_the_line_being_typed() {
        let mut h = FilterHistory::default();
        for f in ["flow:orders", "state:exception"] {
            let mut p = FilterPrompt::new(&Filter::default());
            typed(&mut p, &mut h, f);
            press(&mut p, &mut h, KeyCode::Enter, KeyModifiers::NONE);
        }
        let mut p = FilterPrompt::new(&Filter::default());
        typed(&mut p, &mut h, "#10");
        press(&mut p, &mut h, KeyCode::Up, KeyModifiers::NONE);
        assert_eq!(p.editor.value(), "state:exception");
        press(&mut p, &mut h, KeyCode::Up, KeyModifiers::NONE);
        assert_eq!(p.editor.value(), "flow:orders");
        press(&mut p, &mut h, KeyCode::Up, KeyModifiers::NONE);
        assert_eq!(p.editor.value(), "flow:orders");
        press(&mut p, &mut h, KeyCode::Down, KeyModifiers::NONE);
        press(&mut p, &mut h, KeyCode::Down, KeyModifiers::NONE);
        assert_eq!(p.editor.value(), "#10");
    }

    #[test]
    fn an_unknown_flow_is_named() {
        let flows = vec!["orders".to_string(), "exceptions".to_string()];
        let err = Filter::parse("flow:order", &flows).unwrap_err();
        assert_eq!(err, "no flow \"order\"; flows: orders, exceptions");
    }
}
