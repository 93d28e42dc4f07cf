//! The terminal UI: a client of the control socket, in its own process, so that nothing the
//! daemon does can break the terminal and quitting never stops the daemon by accident.
//!
//! - [`app`]: the state machine over the daemon's snapshot (pure).
//! - [`components`]: the panes, each with its keys, actions and drawing.
//! - [`keys`]: the key tables the state machine, the hint bar and the help read.
//! - [`filter`]: the `/` filter and its line editor.
//! - [`view`]: the frame around the components (pure).
//! - [`net`]: following the daemon's event stream, and requests, off the UI task.

pub mod app;
pub mod components;
pub mod filter;
pub mod keys;
pub mod net;
pub mod theme;
pub mod view;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::EventStream;
use futures::StreamExt;
use tokio::sync::mpsc::unbounded_channel;
use xconnector_actors::item::now_ms;

use app::App;
pub use app::{Exit, Mode};
use view::Theme;

/// Redraw at least this often, so ages and the connection state stay current.
const FRAME: Duration = Duration::from_millis(250);

/// Why the TUI cannot start here, in the operator's words.
pub fn terminal_check() -> anyhow::Result<()> {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return Ok(());
    }
    anyhow::bail!(
        "the TUI needs a terminal (stdin and stdout are not one here). \
         For a one-off look use `xconnector status` (or `status --json`); \
         over SSH, ask for a terminal: `ssh -t HOST xconnector tui`"
    )
}

/// Attaches to the daemon on `socket` until the operator leaves; says how.
pub async fn run(socket: PathBuf, mode: Mode, readonly: bool) -> anyhow::Result<Exit> {
    terminal_check()?;
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, socket, mode, readonly).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    socket: PathBuf,
    mode: Mode,
    readonly: bool,
) -> anyhow::Result<Exit> {
    let (reply_tx, mut replies) = unbounded_channel();
    let requests = net::spawn(socket, reply_tx)?;
    let mut app = App::new(mode, readonly);
    let theme = Theme::from_env();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(FRAME);
    loop {
        terminal.draw(|f| view::draw(f, &app, now_ms(), theme))?;
        let out = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => ev.as_key_press_event().map(|k| app.on_key(k)).unwrap_or_default(),
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(Exit::Detach),
            },
            Some(reply) = replies.recv() => app.on_reply(reply),
            _ = tick.tick() => app.tick(now_ms(), chrono::Local::now().date_naive()),
        };
        for r in out {
            let _ = requests.send(r);
        }
        if let Some(exit) = app.exit {
            return Ok(exit);
        }
    }
}
