//! Every key binding, once: the state machine reads it to act and the help screen and hint bar
//! read it to explain. A key that is not here does nothing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::View;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    NextView,
    Overview,
    Items,
    Exceptions,
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
}

pub struct Binding {
    pub key: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// Views the binding works in; empty: everywhere.
    pub views: &'static [View],
    /// Hidden with `--readonly`.
    pub mutating: bool,
    /// Shown in the one-line hint bar.
    pub hint: bool,
}

const LISTS: &[View] = &[View::Items, View::Exceptions];
const ITEMS: &[View] = &[View::Items, View::Exceptions, View::Detail];

pub const BINDINGS: &[Binding] = &[
    Binding {
        key: "q",
        action: Action::Quit,
        help: "quit (detach; the daemon keeps running)",
        views: &[],
        mutating: false,
        hint: true,
    },
    Binding {
        key: "?",
        action: Action::Help,
        help: "keys for this view",
        views: &[],
        mutating: false,
        hint: true,
    },
    Binding {
        key: "tab",
        action: Action::NextView,
        help: "next view",
        views: &[],
        mutating: false,
        hint: false,
    },
    Binding {
        key: "1",
        action: Action::Overview,
        help: "overview: flows, backlog, restarts",
        views: &[],
        mutating: false,
        hint: false,
    },
    Binding {
        key: "2",
        action: Action::Items,
        help: "items",
        views: &[],
        mutating: false,
        hint: false,
    },
    Binding {
        key: "3",
        action: Action::Exceptions,
        help: "exceptions, grouped by error",
        views: &[],
        mutating: false,
        hint: false,
    },
    Binding {
        key: "↑/k",
        action: Action::Up,
        help: "move up",
        views: &[],
        mutating: false,
        hint: false,
    },
    Binding {
        key: "↓/j",
        action: Action::Down,
        help: "move down",
        views: &[],
        mutating: false,
        hint: false,
    },
    Binding {
        key: "pgup",
        action: Action::PageUp,
        help: "scroll up a screen",
        views: &[],
        mutating: false,
        hint: false,
    },
    Binding {
        key: "pgdn",
        action: Action::PageDown,
        help: "scroll down a screen",
        views: &[],
        mutating: false,
        hint: false,
    },
    Binding {
        key: "n",
        action: Action::NextPage,
        help: "next page of items",
        views: LISTS,
        mutating: false,
        hint: false,
    },
    Binding {
        key: "b",
        action: Action::PrevPage,
        help: "previous page of items",
        views: LISTS,
        mutating: false,
        hint: false,
    },
    Binding {
        key: "enter",
        action: Action::Open,
        help: "open: a flow's items, an item's detail",
        views: &[View::Overview, View::Items, View::Exceptions],
        mutating: false,
        hint: true,
    },
    Binding {
        key: "esc",
        action: Action::Back,
        help: "back",
        views: &[View::Detail, View::Items, View::Exceptions],
        mutating: false,
        hint: false,
    },
    Binding {
        key: "/",
        action: Action::Filter,
        help: "filter: flow:NAME state:STATE age>1h text",
        views: LISTS,
        mutating: false,
        hint: true,
    },
    Binding {
        key: "space",
        action: Action::Mark,
        help: "mark / unmark the item",
        views: LISTS,
        mutating: false,
        hint: false,
    },
    Binding {
        key: "r",
        action: Action::Retry,
        help: "retry the marked or selected items",
        views: ITEMS,
        mutating: true,
        hint: true,
    },
    Binding {
        key: "x",
        action: Action::Resolve,
        help: "resolve (asks for a note)",
        views: ITEMS,
        mutating: true,
        hint: true,
    },
    Binding {
        key: "c",
        action: Action::Cancel,
        help: "cancel (asks for a note)",
        views: ITEMS,
        mutating: true,
        hint: true,
    },
    Binding {
        key: "a",
        action: Action::Approve,
        help: "approve a held return (asks for a note)",
        views: ITEMS,
        mutating: true,
        hint: false,
    },
    Binding {
        key: "d",
        action: Action::Decline,
        help: "decline a held return (asks for REASON: note)",
        views: ITEMS,
        mutating: true,
        hint: false,
    },
    Binding {
        key: "R",
        action: Action::RetryAll,
        help: "retry ALL items matching the filter",
        views: LISTS,
        mutating: true,
        hint: false,
    },
    Binding {
        key: "X",
        action: Action::ResolveAll,
        help: "resolve ALL items matching the filter",
        views: LISTS,
        mutating: true,
        hint: false,
    },
    Binding {
        key: "C",
        action: Action::CancelAll,
        help: "cancel ALL items matching the filter",
        views: LISTS,
        mutating: true,
        hint: false,
    },
    Binding {
        key: "p",
        action: Action::TogglePause,
        help: "pause / resume the selected flow",
        views: &[View::Overview],
        mutating: true,
        hint: true,
    },
    Binding {
        key: "g",
        action: Action::Refresh,
        help: "reload the list",
        views: LISTS,
        mutating: false,
        hint: false,
    },
];

fn matches(key: &str, ev: &KeyEvent) -> bool {
    let ch = |c: char| ev.code == KeyCode::Char(c);
    match key {
        "q" => ch('q'),
        "?" => ch('?'),
        "tab" => ev.code == KeyCode::Tab,
        "1" => ch('1'),
        "2" => ch('2'),
        "3" => ch('3'),
        "↑/k" => ev.code == KeyCode::Up || ch('k'),
        "↓/j" => ev.code == KeyCode::Down || ch('j'),
        "pgup" => ev.code == KeyCode::PageUp,
        "pgdn" => ev.code == KeyCode::PageDown,
        "n" => ch('n'),
        "b" => ch('b'),
        "enter" => ev.code == KeyCode::Enter,
        "esc" => ev.code == KeyCode::Esc,
        "/" => ch('/'),
        "space" => ch(' '),
        "r" => ch('r'),
        "x" => ch('x'),
        "c" => ch('c') && !ev.modifiers.contains(KeyModifiers::CONTROL),
        "a" => ch('a'),
        "d" => ch('d'),
        "R" => ch('R'),
        "X" => ch('X'),
        "C" => ch('C'),
        "p" => ch('p'),
        "g" => ch('g'),
        _ => false,
    }
}

/// The bindings that apply in `view`.
pub fn bindings(view: View, readonly: bool) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| {
        (b.views.is_empty() || b.views.contains(&view)) && !(readonly && b.mutating)
    })
}

pub fn action_for(view: View, readonly: bool, ev: &KeyEvent) -> Option<Action> {
    if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(Action::Quit);
    }
    bindings(view, readonly)
        .find(|b| matches(b.key, ev))
        .map(|b| b.action)
}
