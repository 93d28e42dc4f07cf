//! One item: its state, error, history and payload, kept current while it is open.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::item_list::{act_on, short_key};
use super::{Component, Context, Effect};
use crate::control::api::ItemDetail;
use crate::tui::app::Request;
use crate::tui::keys::{Action, Binding, DETAIL};
use crate::tui::theme::age;
use xconnector_actors::item::ItemState;

#[derive(Debug, Default)]
pub struct Detail {
    /// The item shown (its detail may still be on its way).
    pub id: Option<u64>,
    pub detail: Option<ItemDetail>,
    pub scroll: u16,
    loading: bool,
    stale: bool,
}

impl Detail {
    pub fn open(&mut self, id: u64) -> Request {
        *self = Detail {
            id: Some(id),
            ..Detail::default()
        };
        self.reload().unwrap_or(Request::Show(id))
    }

    fn reload(&mut self) -> Option<Request> {
        let id = self.id?;
        self.loading = true;
        self.stale = false;
        Some(Request::Show(id))
    }

    /// A live change may touch the item: read it again (once the read on its way is back).
    pub fn changed(&mut self) -> Option<Request> {
        if self.loading {
            self.stale = true;
            return None;
        }
        self.reload()
    }

    pub fn on_detail(&mut self, d: ItemDetail) -> Option<Request> {
        if Some(d.item.id.0) != self.id {
            return None;
        }
        self.detail = Some(d);
        self.loading = false;
        if self.stale { self.reload() } else { None }
    }

    /// The flow of the item shown, once known.
    pub fn flow(&self) -> Option<&str> {
        self.detail.as_ref().map(|d| d.item.flow.as_str())
    }
}

impl Component for Detail {
    fn bindings(&self) -> &'static [Binding] {
        DETAIL
    }

    fn act(&mut self, action: Action, _cx: &Context) -> Vec<Effect> {
        match action {
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => self.scroll = self.scroll.saturating_add(1),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(20),
            Action::PageDown => self.scroll = self.scroll.saturating_add(20),
            Action::Back => return vec![Effect::Back],
            Action::Retry
            | Action::Resolve
            | Action::Cancel
            | Action::Approve
            | Action::Decline => {
                return act_on(action, self.id.into_iter().collect());
            }
            _ => {}
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let (t, now) = (cx.theme, cx.now);
        let block = Block::default().borders(Borders::TOP).title(" Item ");
        let Some(d) = &self.detail else {
            frame.render_widget(Paragraph::new("loading…").block(block), area);
            return;
        };
        let i = &d.item;
        let mut lines = vec![
            Line::from(vec![
                Span::styled(format!("item {}", i.id.0), t.head()),
                Span::raw(format!("  {} · {} · {}", i.flow, i.kind, short_key(&i.key))),
            ]),
            Line::from(format!(
                "state {} · attempt {} · created {} ago · changed {} ago{}",
                i.state.as_str(),
                i.attempts,
                age(now, i.created_at),
                age(now, i.updated_at),
                if i.state.is_terminal() || i.state == ItemState::Exception {
                    String::new()
                } else if i.due_at > now {
                    format!(" · due in {}", age(i.due_at, now))
                } else {
                    " · due now".into()
                }
            )),
        ];
        if let Some(e) = &i.last_error {
            lines.push(Line::from(vec![
                Span::styled("last error: ", t.bad()),
                Span::raw(e.clone()),
            ]));
        }
        lines.push(Line::styled("history", t.head()));
        for h in &d.history {
            let from = h.from.map(|s| s.as_str()).unwrap_or("new");
            lines.push(Line::from(format!(
                "  {} ago  {from} → {}  {}",
                age(now, h.at),
                h.to.as_str(),
                h.note.as_deref().unwrap_or("")
            )));
        }
        lines.push(Line::styled("payload", t.head()));
        let payload = serde_json::to_string_pretty(&d.payload).unwrap_or_default();
        lines.extend(payload.lines().map(|l| Line::from(l.to_string())));
        frame.render_widget(
            Paragraph::new(lines).block(block).scroll((self.scroll, 0)),
            area,
        );
    }
}
