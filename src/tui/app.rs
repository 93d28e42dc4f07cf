//! The TUI's state machine over the daemon's last snapshot: keys, replies and live changes in,
//! requests to the daemon out. The panes are [`Component`]s; the app routes keys to the focused
//! one and carries out the [`Effect`]s they return. No I/O here, so every transition is a plain
//! function call in the tests.

use crossterm::event::KeyEvent;
use xconnector_actors::item::Millis;
use xconnector_actors::store::{BulkJob, Changes};

use super::components::detail::Detail;
use super::components::item_list::ItemList;
use super::components::log_pane::LogPane;
use super::components::overview::Overview;
use super::components::prompt::{Outcome, Prompt};
use super::components::reports::{Report, Reports};
use super::components::{Component, Context, Effect};
use super::filter::FilterHistory;
use super::keys::{self, Action, Binding};
use super::theme::Theme;
use crate::cli::ItemAction;
use crate::control::api::{ItemDetail, ItemPage, Status};
use crate::logging::LogLine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Items,
    Exceptions,
    Detail,
    Reports,
}

/// Whose daemon this is, which decides what quitting does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `xconnector tui`: someone else's daemon; quitting detaches.
    Attached,
    /// `xconnector run` at a terminal (the demo): this TUI started the daemon; quitting asks
    /// whether to stop it or leave it running headless.
    Owned,
}

/// How the TUI ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Leave the daemon running.
    Detach,
    /// Stop the daemon (only for one this TUI started).
    Stop,
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
    /// A report: `/v1/reports/{sales,fulfilment,health,inventory,customers}?from=…&to=…&by=…`.
    Report {
        path: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Items,
    Exceptions,
}

/// What comes back, asked for or streamed.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The event stream is (again) open: what is shown may be from before.
    Connected,
    Status(Status),
    /// Items changed in the daemon.
    Changes(Changes),
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
    /// New lines from the daemon's log.
    Logs(Vec<LogLine>),
    /// The report asked for with `path`, or why the daemon would not give it.
    Report {
        path: String,
        report: Result<Report, String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Up,
    Down(String),
}

pub struct App {
    pub mode: Mode,
    pub readonly: bool,
    pub view: View,
    /// Where Esc from the detail view returns.
    pub came_from: View,
    pub connection: Connection,
    pub status: Option<Status>,
    pub overview: Overview,
    pub items: ItemList,
    pub exceptions: ItemList,
    pub detail: Detail,
    pub logs: LogPane,
    pub reports: Reports,
    pub prompt: Option<Prompt>,
    pub filters: FilterHistory,
    pub help: bool,
    pub message: Option<(String, bool)>,
    /// Set when the operator has left.
    pub exit: Option<Exit>,
}

impl App {
    pub fn new(mode: Mode, readonly: bool) -> App {
        App {
            mode,
            readonly,
            view: View::Overview,
            came_from: View::Items,
            connection: Connection::Connecting,
            status: None,
            overview: Overview::default(),
            items: ItemList::new(ListKind::Items),
            exceptions: ItemList::new(ListKind::Exceptions),
            detail: Detail::default(),
            logs: LogPane::default(),
            reports: Reports::new(chrono::Local::now().date_naive()),
            prompt: None,
            filters: FilterHistory::default(),
            help: false,
            message: None,
            exit: None,
        }
    }

    pub fn context(&self, now: Millis, theme: Theme) -> Context<'_> {
        Context {
            status: self.status.as_ref(),
            connection: &self.connection,
            readonly: self.readonly,
            now,
            theme,
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

    fn visible_list(&self) -> Option<ListKind> {
        match self.view {
            View::Items => Some(ListKind::Items),
            View::Exceptions => Some(ListKind::Exceptions),
            _ => None,
        }
    }

    /// The key tables in force, most specific last: what dispatch, hints and help read.
    pub fn tables(&self) -> Vec<&'static [Binding]> {
        let quit = match self.mode {
            Mode::Attached => keys::QUIT_ATTACHED,
            Mode::Owned => keys::QUIT_OWNED,
        };
        let mut tables = vec![quit, keys::GLOBAL];
        match self.view {
            View::Overview => tables.extend([self.overview.bindings(), self.logs.bindings()]),
            View::Items => tables.push(self.items.bindings()),
            View::Exceptions => tables.push(self.exceptions.bindings()),
            View::Detail => tables.push(self.detail.bindings()),
            View::Reports => tables.push(self.reports.bindings()),
        }
        tables
    }

    fn say(&mut self, text: impl Into<String>, error: bool) {
        self.message = Some((text.into(), error));
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        // Context borrows only `status` and `connection`, so a component can be borrowed
        // mutably beside it.
        let cx = Context {
            status: self.status.as_ref(),
            connection: &self.connection,
            readonly: self.readonly,
            now: 0,
            theme: Theme { color: false },
        };
        if let Some(mut prompt) = self.prompt.take() {
            let outcome = prompt.on_key(key, &cx, &mut self.filters);
            return match outcome {
                Outcome::Open => {
                    self.prompt = Some(prompt);
                    Vec::new()
                }
                Outcome::Closed(said) => {
                    if let Some(s) = said {
                        self.say(s, false);
                    }
                    Vec::new()
                }
                Outcome::Filter(kind, filter) => {
                    self.message = None;
                    vec![self.list_mut(kind).set_filter(filter)]
                }
                Outcome::Request(r) => vec![r],
                Outcome::Exit(e) => {
                    self.exit = Some(e);
                    Vec::new()
                }
            };
        }
        if self.help {
            self.help = false;
            return Vec::new();
        }
        let tables = self.tables();
        let Some(binding) = keys::find(&tables, self.readonly, &key) else {
            return Vec::new();
        };
        let owner = tables
            .iter()
            .position(|t| t.iter().any(|b| std::ptr::eq(b, binding)))
            .unwrap_or(0);
        // Tables 0 and 1 are the app's own; the rest belong to the view's components.
        let effects = match (owner, self.view) {
            (0 | 1, _) => return self.on_global(binding.action),
            (2, View::Overview) => self.overview.act(binding.action, &cx),
            (_, View::Overview) => self.logs.act(binding.action, &cx),
            (_, View::Items) => self.items.act(binding.action, &cx),
            (_, View::Exceptions) => self.exceptions.act(binding.action, &cx),
            (_, View::Detail) => self.detail.act(binding.action, &cx),
            (_, View::Reports) => self.reports.act(binding.action, &cx),
        };
        self.apply(effects)
    }

    fn on_global(&mut self, action: Action) -> Vec<Request> {
        match action {
            Action::Quit => match self.mode {
                Mode::Attached => self.exit = Some(Exit::Detach),
                Mode::Owned => self.prompt = Some(Prompt::Quit),
            },
            Action::Help => self.help = true,
            Action::NextView => {
                let next = match self.view {
                    View::Overview => View::Items,
                    View::Items => View::Exceptions,
                    View::Exceptions => View::Reports,
                    View::Reports | View::Detail => View::Overview,
                };
                return self.switch(next);
            }
            Action::Overview => return self.switch(View::Overview),
            Action::Items => return self.switch(View::Items),
            Action::Exceptions => return self.switch(View::Exceptions),
            Action::Reports => return self.switch(View::Reports),
            _ => {}
        }
        Vec::new()
    }

    fn apply(&mut self, effects: Vec<Effect>) -> Vec<Request> {
        let mut out = Vec::new();
        for e in effects {
            match e {
                Effect::Request(r) => out.push(r),
                Effect::OpenFlow(flow) => {
                    self.view = View::Items;
                    out.push(self.items.set_filter(super::filter::Filter {
                        flow: Some(flow),
                        ..Default::default()
                    }));
                }
                Effect::OpenItem(id) => {
                    self.came_from = self.view;
                    self.view = View::Detail;
                    out.push(self.detail.open(id));
                }
                Effect::Back => {
                    out.extend(self.switch(match self.view {
                        View::Detail => self.came_from,
                        _ => View::Overview,
                    }));
                }
                Effect::Prompt(p) => self.prompt = Some(p),
                Effect::Say(text, error) => self.say(text, error),
            }
        }
        out
    }

    /// Shows `view`, reading its list again: it did not follow the daemon while hidden.
    fn switch(&mut self, view: View) -> Vec<Request> {
        self.view = view;
        match view {
            View::Items => vec![self.items.reload()],
            View::Exceptions => vec![self.exceptions.reload()],
            View::Reports => vec![self.reports.reload()],
            _ => Vec::new(),
        }
    }

    /// What is on screen, read again: after a reconnect or a change made here.
    fn refresh_view(&mut self) -> Vec<Request> {
        match self.view {
            View::Detail => self.detail.changed().into_iter().collect(),
            View::Items => self.items.changed().into_iter().collect(),
            View::Exceptions => self.exceptions.changed().into_iter().collect(),
            View::Reports => vec![self.reports.reload()],
            View::Overview => Vec::new(),
        }
    }

    /// Items changed in the daemon: whatever is shown that they may touch is read again.
    fn on_changes(&mut self, changes: &Changes) -> Vec<Request> {
        match self.view {
            View::Detail => match (self.detail.id, self.detail.flow()) {
                (Some(id), Some(flow))
                    if changes.touches(flow, xconnector_actors::item::ItemId(id)) =>
                {
                    self.detail.changed().into_iter().collect()
                }
                _ => Vec::new(),
            },
            View::Items | View::Exceptions => {
                let kind = self.visible_list().unwrap_or(ListKind::Items);
                let list = self.list_mut(kind);
                if changes.touches_flow(list.filter.flow.as_deref()) {
                    list.changed().into_iter().collect()
                } else {
                    Vec::new()
                }
            }
            // Reports are not items: the report is read again on its own clock.
            View::Overview | View::Reports => Vec::new(),
        }
    }

    /// The clock, every frame: the reports view reads its report again every few seconds
    /// while it is shown and the daemon is there, and follows `today` past midnight.
    pub fn tick(&mut self, now: Millis, today: chrono::NaiveDate) -> Vec<Request> {
        self.reports.set_today(today);
        if self.view != View::Reports || self.connection != Connection::Up {
            return Vec::new();
        }
        self.reports.tick(now).into_iter().collect()
    }

    pub fn on_reply(&mut self, reply: Reply) -> Vec<Request> {
        match reply {
            Reply::Connected => {
                let was_down = self.connection != Connection::Up;
                self.connection = Connection::Up;
                // The stream sends the daemon's recent lines again.
                self.logs.lines.clear();
                if was_down {
                    return self.refresh_view();
                }
            }
            Reply::Status(status) => {
                self.overview.on_status(&status);
                self.status = Some(status);
                self.connection = Connection::Up;
            }
            Reply::Changes(c) => return self.on_changes(&c),
            Reply::Disconnected(why) => self.connection = Connection::Down(why),
            Reply::Page { list, page } => {
                return self.list_mut(list).on_page(page).into_iter().collect();
            }
            Reply::Detail(d) => return self.detail.on_detail(d).into_iter().collect(),
            Reply::Done(text) => {
                self.say(text, false);
                self.items.marked.clear();
                self.exceptions.marked.clear();
                return self.refresh_view();
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
                return self.refresh_view();
            }
            Reply::Failed(text) => self.say(text, true),
            Reply::Logs(lines) => self.logs.add(lines),
            Reply::Report { path, report } => self.reports.on_report(&path, report),
        }
        Vec::new()
    }
}
