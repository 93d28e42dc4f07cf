//! The panes of the TUI, each behind [`Component`]: the keys it answers (one table, also the
//! hint bar and the help), what a key does to it, and how it draws. A component never talks
//! to the daemon or to another component: it returns [`Effect`]s and the app carries them out.

pub mod detail;
pub mod help;
pub mod item_list;
pub mod log_pane;
pub mod overview;
pub mod prompt;
pub mod reports;

use ratatui::Frame;
use ratatui::layout::Rect;
use xconnector_actors::item::Millis;

use super::app::{Connection, Request};
use super::keys::{Action, Binding};
use super::theme::Theme;
use crate::control::api::Status;

/// What every component may read: the daemon as last heard of.
pub struct Context<'a> {
    pub status: Option<&'a Status>,
    pub connection: &'a Connection,
    pub readonly: bool,
    pub now: Millis,
    pub theme: Theme,
}

impl Context<'_> {
    /// The daemon's flows, when known.
    pub fn flows(&self) -> Vec<String> {
        self.status
            .map(|s| s.flows.iter().map(|f| f.name.clone()).collect())
            .unwrap_or_default()
    }
}

/// What a component asks of the app.
#[derive(Debug)]
pub enum Effect {
    Request(Request),
    /// Show a flow's items.
    OpenFlow(String),
    /// Show an item's detail.
    OpenItem(u64),
    Back,
    Prompt(prompt::Prompt),
    Say(String, bool),
}

pub trait Component {
    /// The keys this component answers, in the order the help lists them.
    fn bindings(&self) -> &'static [Binding];
    /// Carries out one of its bindings' actions.
    fn act(&mut self, action: Action, cx: &Context) -> Vec<Effect>;
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context);
}
