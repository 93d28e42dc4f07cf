//! Key tables: each component declares its bindings once, and the same table is what the app
//! dispatches on, what the hint bar shows and what the help screen lists, so they cannot
//! disagree. A key that is in no active table does nothing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Detach,
    Help,
    NextView,
    Overview,
    Items,
    Exceptions,
    Reports,
    Up,
    Down,
    PageUp,
    PageDown,
    NextPage,
    PrevPage,
    Open,
    Back,
    Filter,
    Mark,
    Retry,
    Resolve,
    Cancel,
    Approve,
    Decline,
    RetryAll,
    ResolveAll,
    CancelAll,
    TogglePause,
    Refresh,
    LogLevel,
    /// The reports' range: the one before, the one after, its length, back to today.
    Earlier,
    Later,
    Span,
    Today,
    /// The reports' grouping: the next one the report shown allows.
    GroupBy,
    /// The next report: sales, fulfilment, integration health, inventory, customers.
    NextReport,
    /// The reports' next currency.
    Currency,
}

/// One physical key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character typed without Ctrl or Alt (Shift is part of the character).
    Char(char),
    Ctrl(char),
    Code(KeyCode),
}

impl Key {
    fn matches(self, ev: &KeyEvent) -> bool {
        let plain = !ev
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match self {
            Key::Char(c) => plain && ev.code == KeyCode::Char(c),
            Key::Ctrl(c) => {
                ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char(c)
            }
            Key::Code(code) => plain && ev.code == code,
        }
    }

    fn label(self) -> String {
        match self {
            Key::Char(' ') => "space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("^{c}"),
            Key::Code(KeyCode::Up) => "↑".into(),
            Key::Code(KeyCode::Down) => "↓".into(),
            Key::Code(KeyCode::Left) => "←".into(),
            Key::Code(KeyCode::Right) => "→".into(),
            Key::Code(KeyCode::PageUp) => "pgup".into(),
            Key::Code(KeyCode::PageDown) => "pgdn".into(),
            Key::Code(KeyCode::Enter) => "enter".into(),
            Key::Code(KeyCode::Esc) => "esc".into(),
            Key::Code(KeyCode::Tab) => "tab".into(),
            Key::Code(KeyCode::Home) => "home".into(),
            Key::Code(KeyCode::End) => "end".into(),
            Key::Code(other) => format!("{other:?}").to_lowercase(),
        }
    }
}

pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub help: &'static str,
    /// Hidden, and inert, with `--readonly`.
    pub mutating: bool,
    /// Shown in the one-line hint bar.
    pub hint: bool,
}

impl Binding {
    /// `↑/k`, `space`, `^c`: how the help and the hint bar name the keys.
    pub fn label(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first word of the help: what the hint bar says.
    pub fn short(&self) -> &'static str {
        self.help.split([' ', ':', '(', ',']).next().unwrap_or("")
    }

    pub fn matches(&self, ev: &KeyEvent) -> bool {
        self.keys.iter().any(|k| k.matches(ev))
    }
}

const fn bind(keys: &'static [Key], action: Action, help: &'static str) -> Binding {
    Binding {
        keys,
        action,
        help,
        mutating: false,
        hint: false,
    }
}

const fn hint(b: Binding) -> Binding {
    Binding { hint: true, ..b }
}

const fn mutating(b: Binding) -> Binding {
    Binding {
        mutating: true,
        ..b
    }
}

use Key::{Char, Code};

/// `q` under `xconnector tui`: the daemon is someone else's.
pub const QUIT_ATTACHED: &[Binding] = &[hint(bind(
    &[Char('q'), Key::Ctrl('c')],
    Action::Quit,
    "quit: detach; the daemon keeps running",
))];

/// `q` in the demo (`xconnector run` at a terminal), whose daemon this TUI started.
pub const QUIT_OWNED: &[Binding] = &[
    hint(bind(
        &[Char('q')],
        Action::Quit,
        "quit: stop the daemon and exit (asks first)",
    )),
    bind(
        &[Key::Ctrl('c')],
        Action::Quit,
        "stop the daemon and exit (asks first)",
    ),
];

pub const GLOBAL: &[Binding] = &[
    hint(bind(&[Char('?')], Action::Help, "help: keys for this view")),
    bind(&[Code(KeyCode::Tab)], Action::NextView, "next view"),
    bind(
        &[Char('1')],
        Action::Overview,
        "overview: flows, backlog, log",
    ),
    bind(&[Char('2')], Action::Items, "items"),
    bind(
        &[Char('3')],
        Action::Exceptions,
        "exceptions, grouped by error",
    ),
    bind(
        &[Char('4')],
        Action::Reports,
        "reports: sales, fulfilment, health, inventory, customers",
    ),
];

pub const OVERVIEW: &[Binding] = &[
    bind(
        &[Code(KeyCode::Up), Char('k')],
        Action::Up,
        "select the flow above",
    ),
    bind(
        &[Code(KeyCode::Down), Char('j')],
        Action::Down,
        "select the flow below",
    ),
    hint(bind(
        &[Code(KeyCode::Enter)],
        Action::Open,
        "open: the selected flow's items",
    )),
    hint(mutating(bind(
        &[Char('p')],
        Action::TogglePause,
        "pause / resume the selected flow",
    ))),
];

pub const LOGS: &[Binding] = &[hint(bind(
    &[Char('L')],
    Action::LogLevel,
    "log: cycle the log pane's level (warn, info, error)",
))];

pub const LIST: &[Binding] = &[
    bind(&[Code(KeyCode::Up), Char('k')], Action::Up, "move up"),
    bind(&[Code(KeyCode::Down), Char('j')], Action::Down, "move down"),
    bind(
        &[Code(KeyCode::PageUp)],
        Action::PageUp,
        "scroll up a screen",
    ),
    bind(
        &[Code(KeyCode::PageDown)],
        Action::PageDown,
        "scroll down a screen",
    ),
    bind(&[Char('n')], Action::NextPage, "next page of items"),
    bind(&[Char('b')], Action::PrevPage, "previous page of items"),
    hint(bind(
        &[Code(KeyCode::Enter)],
        Action::Open,
        "open: the item's detail",
    )),
    bind(&[Code(KeyCode::Esc)], Action::Back, "back to the overview"),
    hint(bind(
        &[Char('/')],
        Action::Filter,
        "filter: flow:NAME state:STATE age>1h text",
    )),
    bind(&[Char(' ')], Action::Mark, "mark / unmark the item"),
    hint(mutating(bind(
        &[Char('r')],
        Action::Retry,
        "retry the marked or selected items (not done ones)",
    ))),
    hint(mutating(bind(
        &[Char('x')],
        Action::Resolve,
        "resolve (asks for a note)",
    ))),
    hint(mutating(bind(
        &[Char('c')],
        Action::Cancel,
        "cancel (asks for a note)",
    ))),
    mutating(bind(
        &[Char('a')],
        Action::Approve,
        "approve a held return (asks for a note)",
    )),
    mutating(bind(
        &[Char('d')],
        Action::Decline,
        "decline a held return (asks for REASON: note)",
    )),
    mutating(bind(
        &[Char('R')],
        Action::RetryAll,
        "retry ALL items matching the filter",
    )),
    mutating(bind(
        &[Char('X')],
        Action::ResolveAll,
        "resolve ALL items matching the filter",
    )),
    mutating(bind(
        &[Char('C')],
        Action::CancelAll,
        "cancel ALL items matching the filter",
    )),
    bind(&[Char('g')], Action::Refresh, "reload the list now"),
];

pub const DETAIL: &[Binding] = &[
    bind(&[Code(KeyCode::Up), Char('k')], Action::Up, "scroll up"),
    bind(
        &[Code(KeyCode::Down), Char('j')],
        Action::Down,
        "scroll down",
    ),
    bind(
        &[Code(KeyCode::PageUp)],
        Action::PageUp,
        "scroll up a screen",
    ),
    bind(
        &[Code(KeyCode::PageDown)],
        Action::PageDown,
        "scroll down a screen",
    ),
    hint(bind(
        &[Code(KeyCode::Esc)],
        Action::Back,
        "back to the list",
    )),
    hint(mutating(bind(
        &[Char('r')],
        Action::Retry,
        "retry the item",
    ))),
    hint(mutating(bind(
        &[Char('x')],
        Action::Resolve,
        "resolve (asks for a note)",
    ))),
    hint(mutating(bind(
        &[Char('c')],
        Action::Cancel,
        "cancel (asks for a note)",
    ))),
    mutating(bind(
        &[Char('a')],
        Action::Approve,
        "approve a held return (asks for a note)",
    )),
    mutating(bind(
        &[Char('d')],
        Action::Decline,
        "decline a held return (asks for REASON: note)",
    )),
];

pub const REPORTS: &[Binding] = &[
    hint(bind(
        &[Char('v')],
        Action::NextReport,
        "view: sales / fulfilment / health / inventory / customers",
    )),
    hint(bind(
        &[Code(KeyCode::Left), Char('h')],
        Action::Earlier,
        "earlier: the range before this one",
    )),
    hint(bind(
        &[Code(KeyCode::Right), Char('l')],
        Action::Later,
        "later: the range after this one (up to today)",
    )),
    hint(bind(
        &[Char('s')],
        Action::Span,
        "span: 7, 30 or 90 days, ending on the same day",
    )),
    hint(bind(
        &[Char('b')],
        Action::GroupBy,
        "by: day, week, then channel, location, carrier, flow or SKU",
    )),
    bind(
        &[Char('c')],
        Action::Currency,
        "currency: the next one the sales or customers report shows",
    ),
    bind(&[Char('t')], Action::Today, "today: the range ending today"),
    bind(
        &[Code(KeyCode::Up), Char('k')],
        Action::Up,
        "scroll the table up",
    ),
    bind(
        &[Code(KeyCode::Down), Char('j')],
        Action::Down,
        "scroll the table down",
    ),
    hint(bind(
        &[Char('g')],
        Action::Refresh,
        "reload the report now (it reloads every 5 s)",
    )),
    bind(&[Code(KeyCode::Esc)], Action::Back, "back to the overview"),
];

/// The line editor's own keys (the prompts); every other key edits the line.
pub const PROMPT: &[Binding] = &[
    hint(bind(&[Code(KeyCode::Enter)], Action::Open, "apply")),
    hint(bind(&[Code(KeyCode::Esc)], Action::Back, "cancel")),
    hint(bind(
        &[Code(KeyCode::Up), Code(KeyCode::Down)],
        Action::Up,
        "history",
    )),
];

/// The first binding of `tables` that `ev` presses, skipping mutating ones when read-only.
pub fn find(
    tables: &[&'static [Binding]],
    readonly: bool,
    ev: &KeyEvent,
) -> Option<&'static Binding> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .filter(|b| !(readonly && b.mutating))
        .find(|b| b.matches(ev))
}

/// Every binding of `tables` that applies, in order, without repeating an action twice
/// (`↑/k` is in several tables; the first one wins, as in [`find`]).
pub fn active(tables: &[&'static [Binding]], readonly: bool) -> Vec<&'static Binding> {
    let mut out: Vec<&'static Binding> = Vec::new();
    for b in tables.iter().flat_map(|t| t.iter()) {
        if readonly && b.mutating {
            continue;
        }
        if out.iter().any(|o| o.keys == b.keys) {
            continue;
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn no_two_bindings_of_a_view_share_a_key() {
        for tables in [
            [QUIT_OWNED, GLOBAL, OVERVIEW, LOGS],
            [QUIT_ATTACHED, GLOBAL, LIST, &[]],
            [QUIT_OWNED, GLOBAL, DETAIL, &[]],
            [QUIT_ATTACHED, GLOBAL, REPORTS, &[]],
        ] {
            let all: Vec<&Key> = tables
                .iter()
                .flat_map(|t| t.iter())
                .flat_map(|b| b.keys)
                .collect();
            for (i, k) in all.iter().enumerate() {
                assert!(!all[i + 1..].contains(k), "{k:?} is bound twice");
            }
        }
    }

    #[test]
    fn ctrl_c_is_not_c_and_shift_is_part_of_the_character() {
        let ctrl_c = ev(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let tables: [&'static [Binding]; 3] = [QUIT_ATTACHED, GLOBAL, LIST];
        assert_eq!(
            find(&tables, false, &ctrl_c).map(|b| b.action),
            Some(Action::Quit)
        );
        let c = ev(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(
            find(&tables, false, &c).map(|b| b.action),
            Some(Action::Cancel)
        );
        let shift_c = ev(KeyCode::Char('C'), KeyModifiers::SHIFT);
        assert_eq!(
            find(&tables, false, &shift_c).map(|b| b.action),
            Some(Action::CancelAll)
        );
        assert_eq!(find(&tables, true, &c).map(|b| b.action), None, "read-only");
    }

    #[test]
    fn labels_name_the_keys() {
        assert_eq!(LIST[0].label(), "↑/k");
        assert_eq!(QUIT_ATTACHED[0].label(), "q/^c");
        assert_eq!(LIST[9].label(), "space");
        assert_eq!(LIST[10].short(), "retry");
    }
}
