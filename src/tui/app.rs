//! The TUI's state and its state machine: keys and answers from the daemon in, requests to the
//! daemon out. No I/O here, so every transition is a plain function call in the tests.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crossterm::event::{KeyCode, KeyEvent};
use xconnector_actors::item::Item;

use super::keys::{Action, action_for};
use crate::cli::ItemAction;
use xconnector_actors::store::BulkJob;

use crate::control::api::{ItemDetail, ItemPage, Status};
use crate::logging::LogLine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Items,
    Exceptions,
    Detail,
}

/// What the TUI asks of the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    List {
        list: ListKind,
        query: String,
    },
    Show(u64),
    Act {
        action: ItemAction,
        ids: Vec<u64>,
        note: Option<String>,
    },
    Bulk {
        action: ItemAction,
        flow: Option<String>,
        state: Option<String>,
        note: Option<String>,
    },
    Flow {
        name: String,
        pause: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Items,
    Exceptions,
}

/// What comes back.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(Status),
    Disconnected(String),
    Page {
        list: ListKind,
        page: ItemPage,
    },
    Detail(ItemDetail),
    Done(String),
    /// A bulk job started; the daemon runs it, the overview shows its progress.
    Bulk {
        action: ItemAction,
        job: BulkJob,
    },
    Failed(String),
    /// New warnings and errors from the daemon's log.
    Logs(Vec<LogLine>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Up,
    Down(String),
}

/// A parsed `/` filter: `flow:orders state:exception age>1h #1001`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub flow: Option<String>,
    pub state: Option<String>,
    pub older_than_secs: Option<u64>,
    pub text: Option<String>,
}

impl Filter {
    pub fn parse(input: &str) -> Result<Filter, String> {
        let mut f = Filter::default();
        let mut text = Vec::new();
        for word in input.split_whitespace() {
            if let Some(v) = word.strip_prefix("flow:") {
                f.flow = Some(v.to_string());
            } else if let Some(v) = word.strip_prefix("state:") {
                f.state = Some(v.to_string());
            } else if let Some(v) = word.strip_prefix("age>") {
                let d = crate::config::duration::parse(v).map_err(|e| e.to_string())?;
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

    fn query(&self, after: Option<u64>, limit: usize) -> String {
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

/// One paged item list (the items view and the exceptions view each have one).
#[derive(Debug, Clone, Default)]
pub struct ItemList {
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
}

/// What the bottom line is asking for, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    Filter(String),
    Note {
        action: ItemAction,
        ids: Vec<u64>,
        input: String,
    },
    Confirm {
        action: ItemAction,
        filter: Filter,
        count: String,
    },
}

pub const PAGE: usize = 200;
/// Samples of each flow's completion rate kept for the sparkline (one per status update).
pub const HISTORY: usize = 120;

pub struct App {
    pub readonly: bool,
    pub view: View,
    /// Where Esc from the detail view returns.
    pub came_from: View,
    pub connection: Connection,
    pub status: Option<Status>,
    /// Items finished per update, per flow: the sparklines.
    pub rates: BTreeMap<String, VecDeque<u64>>,
    last_done: BTreeMap<String, u64>,
    /// Items accepted per flow per status poll (items are never deleted, so the change in a
    /// flow's total count is what came in), newest last.
    pub rates_in: BTreeMap<String, VecDeque<u64>>,
    last_total: BTreeMap<String, u64>,
    pub flow_selected: usize,
    pub items: ItemList,
    pub exceptions: ItemList,
    pub detail: Option<ItemDetail>,
    pub scroll: u16,
    pub prompt: Option<Prompt>,
    pub help: bool,
    pub message: Option<(String, bool)>,
    /// The daemon's recent warnings and errors, newest last.
    pub logs: VecDeque<LogLine>,
    pub quit: bool,
}

/// Log lines kept for the log pane.
const LOG_LINES: usize = 200;

impl App {
    pub fn new(readonly: bool) -> App {
        let exceptions = ItemList {
            filter: Filter {
                state: Some("exception".into()),
                ..Filter::default()
            },
            ..ItemList::default()
        };
        App {
            readonly,
            view: View::Overview,
            came_from: View::Items,
            connection: Connection::Connecting,
            status: None,
            rates: BTreeMap::new(),
            last_done: BTreeMap::new(),
            rates_in: BTreeMap::new(),
            last_total: BTreeMap::new(),
            flow_selected: 0,
            items: ItemList::default(),
            exceptions,
            detail: None,
            scroll: 0,
            prompt: None,
            help: false,
            message: None,
            logs: VecDeque::new(),
            quit: false,
        }
    }

    pub fn list(&self, kind: ListKind) -> &ItemList {
        match kind {
            ListKind::Items => &self.items,
            ListKind::Exceptions => &self.exceptions,
        }
    }

    fn list_mut(&mut self, kind: ListKind) -> &mut ItemList {
        match kind {
            ListKind::Items => &mut self.items,
            ListKind::Exceptions => &mut self.exceptions,
        }
    }

    fn current_list(&self) -> Option<ListKind> {
        match self.view {
            View::Items => Some(ListKind::Items),
            View::Exceptions => Some(ListKind::Exceptions),
            _ => None,
        }
    }

    fn reload(&mut self, kind: ListKind) -> Request {
        let list = self.list_mut(kind);
        list.loading = true;
        Request::List {
            list: kind,
            query: list.filter.query(list.after, PAGE),
        }
    }

    fn say(&mut self, text: impl Into<String>, error: bool) {
        self.message = Some((text.into(), error));
    }

    /// The items an action applies to: the marked ones, else the selected one.
    fn targets(&self) -> Vec<u64> {
        if self.view == View::Detail {
            return self.detail.iter().map(|d| d.item.id.0).collect();
        }
        let Some(kind) = self.current_list() else {
            return Vec::new();
        };
        let list = self.list(kind);
        if !list.marked.is_empty() {
            return list.marked.iter().copied().collect();
        }
        list.items
            .get(list.selected)
            .map(|i| vec![i.id.0])
            .unwrap_or_default()
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        if let Some(prompt) = self.prompt.take() {
            return self.on_prompt_key(prompt, key);
        }
        if self.help {
            self.help = false;
            return Vec::new();
        }
        let Some(action) = action_for(self.view, self.readonly, &key) else {
            return Vec::new();
        };
        self.on_action(action)
    }

    fn on_prompt_key(&mut self, prompt: Prompt, key: KeyEvent) -> Vec<Request> {
        match prompt {
            Prompt::Filter(mut input) => match key.code {
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter => match (Filter::parse(&input), self.current_list()) {
                    (Ok(filter), Some(kind)) => {
                        let list = self.list_mut(kind);
                        list.filter = filter;
                        list.after = None;
                        list.back.clear();
                        list.selected = 0;
                        list.marked.clear();
                        vec![self.reload(kind)]
                    }
                    (Err(e), _) => {
                        self.say(format!("filter: {e}"), true);
                        self.prompt = Some(Prompt::Filter(input));
                        Vec::new()
                    }
                    _ => Vec::new(),
                },
                KeyCode::Backspace => {
                    input.pop();
                    self.prompt = Some(Prompt::Filter(input));
                    Vec::new()
                }
                KeyCode::Char(c) => {
                    input.push(c);
                    self.prompt = Some(Prompt::Filter(input));
                    Vec::new()
                }
                _ => {
                    self.prompt = Some(Prompt::Filter(input));
                    Vec::new()
                }
            },
            Prompt::Note {
                action,
                ids,
                mut input,
            } => match key.code {
                KeyCode::Esc => {
                    self.say(format!("{} cancelled", action.as_str()), false);
                    Vec::new()
                }
                KeyCode::Enter => {
                    let note = (!input.trim().is_empty()).then(|| input.trim().to_string());
                    vec![Request::Act { action, ids, note }]
                }
                KeyCode::Backspace => {
                    input.pop();
                    self.prompt = Some(Prompt::Note { action, ids, input });
                    Vec::new()
                }
                KeyCode::Char(c) => {
                    input.push(c);
                    self.prompt = Some(Prompt::Note { action, ids, input });
                    Vec::new()
                }
                _ => {
                    self.prompt = Some(Prompt::Note { action, ids, input });
                    Vec::new()
                }
            },
            Prompt::Confirm { action, filter, .. } => {
                if key.code == KeyCode::Char('y') {
                    vec![Request::Bulk {
                        action,
                        flow: filter.flow,
                        state: filter.state,
                        note: Some("bulk action from the TUI".into()),
                    }]
                } else {
                    self.say(format!("bulk {} cancelled", action.as_str()), false);
                    Vec::new()
                }
            }
        }
    }

    fn on_action(&mut self, action: Action) -> Vec<Request> {
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Help => {
                self.help = true;
                Vec::new()
            }
            Action::NextView => {
                let next = match self.view {
                    View::Overview => View::Items,
                    View::Items => View::Exceptions,
                    View::Exceptions | View::Detail => View::Overview,
                };
                self.switch(next)
            }
            Action::Overview => self.switch(View::Overview),
            Action::Items => self.switch(View::Items),
            Action::Exceptions => self.switch(View::Exceptions),
            Action::Up => {
                self.move_by(-1);
                Vec::new()
            }
            Action::Down => {
                self.move_by(1);
                Vec::new()
            }
            Action::PageUp => {
                self.move_by(-20);
                Vec::new()
            }
            Action::PageDown => {
                self.move_by(20);
                Vec::new()
            }
            Action::NextPage => self.page(true),
            Action::PrevPage => self.page(false),
            Action::Open => match self.view {
                View::Overview => {
                    let Some(flow) = self.selected_flow() else {
                        return Vec::new();
                    };
                    self.items.filter = Filter {
                        flow: Some(flow),
                        ..Filter::default()
                    };
                    self.items.after = None;
                    self.items.back.clear();
                    self.items.selected = 0;
                    self.view = View::Items;
                    vec![self.reload(ListKind::Items)]
                }
                View::Items | View::Exceptions => {
                    let Some(id) = self.targets_selected() else {
                        return Vec::new();
                    };
                    self.came_from = self.view;
                    self.view = View::Detail;
                    self.scroll = 0;
                    self.detail = None;
                    vec![Request::Show(id)]
                }
                View::Detail => Vec::new(),
            },
            Action::Back => {
                match self.view {
                    View::Detail => self.view = self.came_from,
                    _ => self.view = View::Overview,
                }
                Vec::new()
            }
            Action::Filter => {
                let current = self
                    .current_list()
                    .map(|k| self.list(k).filter.describe())
                    .unwrap_or_default();
                self.prompt = Some(Prompt::Filter(current));
                Vec::new()
            }
            Action::Mark => {
                if let Some(kind) = self.current_list() {
                    let list = self.list_mut(kind);
                    if let Some(id) = list.items.get(list.selected).map(|i| i.id.0) {
                        if !list.marked.remove(&id) {
                            list.marked.insert(id);
                        }
                        list.selected = (list.selected + 1).min(list.items.len().saturating_sub(1));
                    }
                }
                Vec::new()
            }
            Action::Retry => {
                let ids = self.targets();
                if ids.is_empty() {
                    return Vec::new();
                }
                vec![Request::Act {
                    action: ItemAction::Retry,
                    ids,
                    note: None,
                }]
            }
            Action::Resolve | Action::Cancel | Action::Approve | Action::Decline => {
                let ids = self.targets();
                if !ids.is_empty() {
                    let action = match action {
                        Action::Resolve => ItemAction::Resolve,
                        Action::Approve => ItemAction::Approve,
                        Action::Decline => ItemAction::Decline,
                        _ => ItemAction::Cancel,
                    };
                    self.prompt = Some(Prompt::Note {
                        action,
                        ids,
                        input: String::new(),
                    });
                }
                Vec::new()
            }
            Action::RetryAll | Action::ResolveAll | Action::CancelAll => {
                let Some(kind) = self.current_list() else {
                    return Vec::new();
                };
                let filter = self.list(kind).filter.clone();
                if filter.flow.is_none() && filter.state.is_none() {
                    self.say(
                        "a bulk action needs a flow: or state: filter (press /)",
                        true,
                    );
                    return Vec::new();
                }
                let action = match action {
                    Action::RetryAll => ItemAction::Retry,
                    Action::ResolveAll => ItemAction::Resolve,
                    _ => ItemAction::Cancel,
                };
                let count = self.count_for(&filter);
                self.prompt = Some(Prompt::Confirm {
                    action,
                    filter,
                    count,
                });
                Vec::new()
            }
            Action::TogglePause => {
                let Some(status) = &self.status else {
                    return Vec::new();
                };
                let Some(flow) = status.flows.get(self.flow_selected) else {
                    return Vec::new();
                };
                if !flow.running {
                    self.say(format!("{} is not running in this daemon", flow.name), true);
                    return Vec::new();
                }
                vec![Request::Flow {
                    name: flow.name.clone(),
                    pause: !flow.paused,
                }]
            }
            Action::Refresh => self
                .current_list()
                .map(|k| vec![self.reload(k)])
                .unwrap_or_default(),
        }
    }

    fn switch(&mut self, view: View) -> Vec<Request> {
        self.view = view;
        match view {
            View::Items if self.items.items.is_empty() => vec![self.reload(ListKind::Items)],
            View::Exceptions => vec![self.reload(ListKind::Exceptions)],
            _ => Vec::new(),
        }
    }

    fn targets_selected(&self) -> Option<u64> {
        let list = self.list(self.current_list()?);
        list.items.get(list.selected).map(|i| i.id.0)
    }

    fn selected_flow(&self) -> Option<String> {
        self.status
            .as_ref()?
            .flows
            .get(self.flow_selected)
            .map(|f| f.name.clone())
    }

    /// How many items a bulk action would touch, as far as the status counts tell.
    fn count_for(&self, filter: &Filter) -> String {
        let Some(status) = &self.status else {
            return "?".into();
        };
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

    fn move_by(&mut self, delta: i64) {
        let clamp = |v: usize, len: usize| -> usize {
            (v as i64 + delta).clamp(0, len.saturating_sub(1) as i64) as usize
        };
        match self.view {
            View::Overview => {
                let len = self.status.as_ref().map(|s| s.flows.len()).unwrap_or(0);
                self.flow_selected = clamp(self.flow_selected, len);
            }
            View::Items | View::Exceptions => {
                let kind = if self.view == View::Items {
                    ListKind::Items
                } else {
                    ListKind::Exceptions
                };
                let list = self.list_mut(kind);
                list.selected = clamp(list.selected, list.items.len());
            }
            View::Detail => self.scroll = (self.scroll as i64 + delta).max(0) as u16,
        }
    }

    fn page(&mut self, forward: bool) -> Vec<Request> {
        let Some(kind) = self.current_list() else {
            return Vec::new();
        };
        let list = self.list_mut(kind);
        if forward {
            let Some(next) = list.next else {
                return Vec::new();
            };
            list.back.push(list.after);
            list.after = Some(next);
        } else {
            let Some(prev) = list.back.pop() else {
                return Vec::new();
            };
            list.after = prev;
        }
        list.selected = 0;
        vec![self.reload(kind)]
    }

    pub fn on_reply(&mut self, reply: Reply) -> Vec<Request> {
        match reply {
            Reply::Status(status) => {
                for f in &status.flows {
                    let done: u64 = ["done", "resolved", "cancelled", "exception"]
                        .iter()
                        .filter_map(|s| f.counts.get(*s))
                        .sum::<u64>()
                        + f.retired;
                    let before = self.last_done.insert(f.name.clone(), done);
                    let samples = self.rates.entry(f.name.clone()).or_default();
                    samples.push_back(before.map(|b| done.saturating_sub(b)).unwrap_or(0));
                    while samples.len() > HISTORY {
                        samples.pop_front();
                    }
                    // Retired items came in too: without them the total falls as they go.
                    let total: u64 = f.counts.values().sum::<u64>() + f.retired;
                    let before = self.last_total.insert(f.name.clone(), total);
                    let samples = self.rates_in.entry(f.name.clone()).or_default();
                    samples.push_back(before.map(|b| total.saturating_sub(b)).unwrap_or(0));
                    while samples.len() > HISTORY {
                        samples.pop_front();
                    }
                }
                self.flow_selected = self.flow_selected.min(status.flows.len().saturating_sub(1));
                self.status = Some(status);
                self.connection = Connection::Up;
                Vec::new()
            }
            Reply::Disconnected(why) => {
                self.connection = Connection::Down(why);
                Vec::new()
            }
            Reply::Page { list, page } => {
                let items = if list == ListKind::Exceptions {
                    newest_per_entity(page.items)
                } else {
                    page.items
                };
                let l = self.list_mut(list);
                l.items = items;
                l.next = page.next;
                l.loading = false;
                l.selected = l.selected.min(l.items.len().saturating_sub(1));
                let present: BTreeSet<u64> = l.items.iter().map(|i| i.id.0).collect();
                l.marked.retain(|id| present.contains(id));
                Vec::new()
            }
            Reply::Detail(d) => {
                self.detail = Some(d);
                Vec::new()
            }
            Reply::Done(text) => {
                self.say(text, false);
                self.items.marked.clear();
                self.exceptions.marked.clear();
                self.refresh_after_change()
            }
            Reply::Bulk { action, job } => {
                self.say(
                    format!(
                        "{}: job {} started over {} matching items; progress on the overview (1)",
                        action.as_str(),
                        job.id,
                        job.expected
                    ),
                    false,
                );
                self.refresh_after_change()
            }
            Reply::Failed(text) => {
                self.say(text, true);
                Vec::new()
            }
            Reply::Logs(lines) => {
                self.logs.extend(lines);
                while self.logs.len() > LOG_LINES {
                    self.logs.pop_front();
                }
                Vec::new()
            }
        }
    }

    fn refresh_after_change(&mut self) -> Vec<Request> {
        match self.view {
            View::Detail => self
                .detail
                .as_ref()
                .map(|d| vec![Request::Show(d.item.id.0)])
                .unwrap_or_default(),
            View::Items => vec![self.reload(ListKind::Items)],
            View::Exceptions => vec![self.reload(ListKind::Exceptions)],
            View::Overview => Vec::new(),
        }
    }
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
