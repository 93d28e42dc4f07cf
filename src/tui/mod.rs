//! The terminal UI: a client of the control socket, in its own process, so that nothing the
//! daemon does can break the terminal and quitting never stops the daemon by accident.
//!
//! - [`app`]: state and the key → request state machine (pure).
//! - [`keys`]: the binding table the state machine and the help read.
//! - [`view`]: drawing (pure).
//! - [`net`]: talking to the daemon off the UI task.

pub mod app;
pub mod keys;
pub mod net;
pub mod view;

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::EventStream;
use futures::StreamExt;
use tokio::sync::mpsc::unbounded_channel;
use xconnector_actors::item::now_ms;

use app::App;
use view::Theme;

/// Redraw at least this often, so ages and the connection state stay current.
const FRAME: Duration = Duration::from_millis(250);

/// Attaches to the daemon on `socket` until the operator quits.
pub async fn run(socket: PathBuf, readonly: bool) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, socket, readonly).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    socket: PathBuf,
    readonly: bool,
) -> anyhow::Result<()> {
    let (reply_tx, mut replies) = unbounded_channel();
    let requests = net::spawn(socket, reply_tx)?;
    let mut app = App::new(readonly);
    let theme = Theme::from_env();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(FRAME);
    loop {
        terminal.draw(|f| view::draw(f, &app, now_ms(), theme))?;
        let out = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => ev.as_key_press_event().map(|k| app.on_key(k)).unwrap_or_default(),
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            Some(reply) = replies.recv() => app.on_reply(reply),
            _ = tick.tick() => Vec::new(),
        };
        for r in out {
            let _ = requests.send(r);
        }
        if app.quit {
            return Ok(());
        }
    }
}
