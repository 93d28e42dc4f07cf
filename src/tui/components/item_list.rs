//! A paged list of items (the items view, and the exceptions view with its error groups):
//! marking, actions on the marked or selected items, bulk actions over the filter. The rows
//! follow the daemon live; the selection stays on its item when rows move.

use std::collections::{BTreeMap, BTreeSet};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Row, Table, TableState};
use xconnector_actors::item::{Item, Millis};

use super::prompt::Prompt;
use super::{Component, Context, Effect};
use crate::cli::ItemAction;
use crate::control::api::ItemPage;
use crate::tui::app::{ListKind, Request};
use crate::tui::filter::Filter;
use crate::tui::keys::{Action, Binding, LIST};
use crate::tui::theme::{Theme, age};

pub const PAGE: usize = 200;

#[derive(Debug, Clone)]
pub struct ItemList {
    pub kind: ListKind,
    pub filter: Filter,
    pub items: Vec<Item>,
    /// Cursor of the next page, if any.
    pub next: Option<u64>,
    /// Cursors of the pages before this one, to go back.
    pub back: Vec<Option<u64>>,
    pub after: Option<u64>,
    pub selected: usize,
    pub marked: BTreeSet<u64>,
    pub loading: bool,
    /// Something changed while a page was on its way: load again when it arrives.
    stale: bool,
    /// Rows the last draw had room for: a page up or down moves by this.
    height: std::cell::Cell<usize>,
}

impl ItemList {
    pub fn new(kind: ListKind) -> ItemList {
        let filter = match kind {
            ListKind::Items => Filter::default(),
            ListKind::Exceptions => Filter {
                state: Some("exception".into()),
                ..Filter::default()
            },
        };
        ItemList {
            kind,
            filter,
            items: Vec::new(),
            next: None,
            back: Vec::new(),
            after: None,
            selected: 0,
            marked: BTreeSet::new(),
            loading: false,
            stale: false,
            height: std::cell::Cell::new(20),
        }
    }

    /// Asks for the page shown, again.
    pub fn reload(&mut self) -> Request {
        self.loading = true;
        self.stale = false;
        Request::List {
            list: self.kind,
            query: self.filter.query(self.after, PAGE),
        }
    }

    /// A live change may touch this list: reload, or note it if a page is on its way.
    pub fn changed(&mut self) -> Option<Request> {
        if self.loading {
            self.stale = true;
            return None;
        }
        Some(self.reload())
    }

    /// Shows `filter` from its first page.
    pub fn set_filter(&mut self, filter: Filter) -> Request {
        self.filter = filter;
        self.after = None;
        self.back.clear();
        self.selected = 0;
        self.marked.clear();
        self.reload()
    }

    /// A page arrived. The selection stays on the item it was on, if it is still listed.
    pub fn on_page(&mut self, page: ItemPage) -> Option<Request> {
        let was = self.items.get(self.selected).map(|i| i.id);
        self.items = match self.kind {
            ListKind::Exceptions => newest_per_entity(page.items),
            ListKind::Items => page.items,
        };
        self.next = page.next;
        self.loading = false;
        self.selected = was
            .and_then(|id| self.items.iter().position(|i| i.id == id))
            .unwrap_or(self.selected)
            .min(self.items.len().saturating_sub(1));
        let present: BTreeSet<u64> = self.items.iter().map(|i| i.id.0).collect();
        self.marked.retain(|id| present.contains(id));
        self.stale.then(|| self.reload())
    }

    /// The items an action applies to: the marked ones, else the selected one.
    fn targets(&self) -> Vec<u64> {
        if !self.marked.is_empty() {
            return self.marked.iter().copied().collect();
        }
        self.items
            .get(self.selected)
            .map(|i| vec![i.id.0])
            .unwrap_or_default()
    }

    fn move_by(&mut self, delta: i64) {
        let last = self.items.len().saturating_sub(1) as i64;
        self.selected = (self.selected as i64 + delta).clamp(0, last.max(0)) as usize;
    }

    fn page(&mut self, forward: bool) -> Vec<Effect> {
        if forward {
            let Some(next) = self.next else {
                return Vec::new();
            };
            self.back.push(self.after);
            self.after = Some(next);
        } else {
            let Some(prev) = self.back.pop() else {
                return Vec::new();
            };
            self.after = prev;
        }
        self.selected = 0;
        vec![Effect::Request(self.reload())]
    }

    /// How many items a bulk action would touch, as far as the status counts tell.
    fn count_for(&self, cx: &Context) -> String {
        let Some(status) = cx.status else {
            return "?".into();
        };
        let filter = &self.filter;
        if filter.text.is_some() || filter.older_than_secs.is_some() {
            return "the matching".into();
        }
        let n: u64 = status
            .flows
            .iter()
            .filter(|f| filter.flow.as_ref().is_none_or(|name| *name == f.name))
            .map(|f| match &filter.state {
                Some(s) => f.counts.get(s).copied().unwrap_or(0),
                None => f.counts.values().sum(),
            })
            .sum();
        n.to_string()
    }

    fn title(&self) -> String {
        let name = match self.kind {
            ListKind::Items => "Items",
            ListKind::Exceptions => "Exceptions",
        };
        let filter = self.filter.describe();
        let page = self.back.len() + 1;
        let more = if self.next.is_some() { ", more: n" } else { "" };
        let loading = if self.loading { " loading…" } else { "" };
        let marked = if self.marked.is_empty() {
            String::new()
        } else {
            format!(", {} marked", self.marked.len())
        };
        format!(
            " {name} [{}] page {page}: {} shown{more}{marked}{loading} ",
            if filter.is_empty() { "all" } else { &filter },
            self.items.len()
        )
    }
}

impl Component for ItemList {
    fn bindings(&self) -> &'static [Binding] {
        LIST
    }

    fn act(&mut self, action: Action, cx: &Context) -> Vec<Effect> {
        let screen = self.height.get().max(1) as i64;
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-screen),
            Action::PageDown => self.move_by(screen),
            Action::NextPage => return self.page(true),
            Action::PrevPage => return self.page(false),
            Action::Open => {
                if let Some(i) = self.items.get(self.selected) {
                    return vec![Effect::OpenItem(i.id.0)];
                }
            }
            Action::Back => return vec![Effect::Back],
            Action::Filter => return vec![Effect::Prompt(Prompt::filter(self.kind, &self.filter))],
            Action::Mark => {
                if let Some(id) = self.items.get(self.selected).map(|i| i.id.0) {
                    if !self.marked.remove(&id) {
                        self.marked.insert(id);
                    }
                    self.move_by(1);
                }
            }
            Action::Retry
            | Action::Resolve
            | Action::Cancel
            | Action::Approve
            | Action::Decline => {
                return act_on(action, self.targets());
            }
            Action::RetryAll | Action::ResolveAll | Action::CancelAll => {
                let filter = self.filter.clone();
                if filter.flow.is_none() && filter.state.is_none() {
                    return vec![Effect::Say(
                        "a bulk action needs a flow: or state: filter (press /)".into(),
                        true,
                    )];
                }
                let action = match action {
                    Action::RetryAll => ItemAction::Retry,
                    Action::ResolveAll => ItemAction::Resolve,
                    _ => ItemAction::Cancel,
                };
                let count = self.count_for(cx);
                return vec![Effect::Prompt(Prompt::Confirm {
                    action,
                    filter,
                    count,
                })];
            }
            Action::Refresh => return vec![Effect::Request(self.reload())],
            _ => {}
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let t = cx.theme;
        let area = match self.kind {
            ListKind::Items => area,
            ListKind::Exceptions => draw_groups(frame, area, &self.items, t),
        };
        self.height.set(area.height.saturating_sub(2) as usize);
        let mut state =
            TableState::default().with_selected((!self.items.is_empty()).then_some(self.selected));
        let table = item_table(
            &self.items,
            &self.marked,
            cx.now,
            self.title(),
            t,
            area.width,
        );
        frame.render_stateful_widget(table, area, &mut state);
    }
}

/// An action on some items: retry goes at once, the others ask for a note first.
pub fn act_on(action: Action, ids: Vec<u64>) -> Vec<Effect> {
    if ids.is_empty() {
        return Vec::new();
    }
    let action = match action {
        Action::Retry => {
            return vec![Effect::Request(Request::Act {
                action: ItemAction::Retry,
                ids,
                note: None,
            })];
        }
        Action::Resolve => ItemAction::Resolve,
        Action::Approve => ItemAction::Approve,
        Action::Decline => ItemAction::Decline,
        _ => ItemAction::Cancel,
    };
    vec![Effect::Prompt(Prompt::note(action, ids))]
}

/// A GID shown without its fixed prefix: `Return/123` for `gid://shopify/Return/123`.
pub fn short_key(key: &str) -> &str {
    key.strip_prefix("gid://shopify/").unwrap_or(key)
}

/// Column widths sized to what the page holds (within bounds), so that KIND and KEY are not
/// cut while LAST ERROR has room; LAST ERROR takes what is left.
fn widths(items: &[Item], width: u16) -> [Constraint; 10] {
    let longest = |f: &dyn Fn(&Item) -> usize, head: usize, max: usize| -> u16 {
        items.iter().map(f).max().unwrap_or(0).max(head).min(max) as u16
    };
    let id = longest(&|i| i.id.0.to_string().len(), 2, 12);
    let flow = longest(&|i| i.flow.len(), 4, 14);
    let kind = longest(&|i| i.kind.chars().count(), 4, 28);
    let key = longest(&|i| short_key(&i.key).chars().count(), 3, 32);
    // LAST ERROR keeps an eighth of the width; KIND and KEY share the rest, KEY giving way
    // first.
    let fixed = 1 + id + flow + 9 + 3 + 4 + 7 + 9;
    let room = width.saturating_sub(fixed + width / 8);
    let kind = kind.min(room.saturating_sub(key.min(room / 2)));
    let key = key.min(room.saturating_sub(kind));
    [
        Constraint::Length(1),
        Constraint::Length(id),
        Constraint::Length(flow),
        Constraint::Length(9),
        Constraint::Length(kind),
        Constraint::Length(key),
        Constraint::Length(3),
        Constraint::Length(4),
        Constraint::Length(7),
        Constraint::Fill(1),
    ]
}

fn item_table<'a>(
    items: &'a [Item],
    marked: &'a BTreeSet<u64>,
    now: Millis,
    title: String,
    t: Theme,
    width: u16,
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
        "CHANGED",
        "LAST ERROR",
    ])
    .style(t.head());
    let rows = items.iter().map(move |i| {
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
            Span::raw(short_key(&i.key).to_string()),
            Span::raw(i.attempts.to_string()),
            Span::raw(age(now, i.created_at)),
            Span::raw(age(now, i.updated_at)),
            Span::raw(i.last_error.clone().unwrap_or_default()),
        ])
    });
    Table::new(rows, widths(items, width))
        .header(header)
        .block(Block::default().borders(Borders::TOP).title(title))
        .row_highlight_style(t.selected())
}

/// The exceptions grouped by error above the list; returns the area left for the list.
fn draw_groups(frame: &mut Frame, area: Rect, items: &[Item], t: Theme) -> Rect {
    let classes = error_classes(items);
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
    items_area
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

/// One row per entity: of several exceptions for the same business key in a flow (an order
/// that failed again and again), only the newest stays.
pub fn newest_per_entity(items: Vec<Item>) -> Vec<Item> {
    let mut newest: BTreeMap<(String, String), u64> = BTreeMap::new();
    for i in items.iter().filter(|i| !i.key.is_empty()) {
        let id = newest
            .entry((i.flow.clone(), i.key.clone()))
            .or_insert(i.id.0);
        *id = (*id).max(i.id.0);
    }
    items
        .into_iter()
        .filter(|i| {
            i.key.is_empty() || newest.get(&(i.flow.clone(), i.key.clone())) == Some(&i.id.0)
        })
        .collect()
}
