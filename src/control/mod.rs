//! The control socket: HTTP + JSON over a Unix domain socket (mode 0600), the only way to act
//! on a running daemon. The CLI's `status`, `items` and `flows` commands and the terminal UI
//! are its clients, locally or through `ssh -t host xconnector …`.
//!
//! - [`server`]: binding (stale sockets replaced, live ones never stolen), peer credentials.
//! - [`api`]: the `/v1` routes.
//! - [`client`]: the client the CLI uses.
//! - [`commands`], [`reports`], [`backfill`]: the CLI commands.

pub mod api;
pub mod backfill;
pub mod client;
pub mod commands;
pub mod reports;
pub mod server;

/// The operating-system user on the other end of a connection, recorded in the audit log.
#[derive(Debug, Clone)]
pub struct Peer {
    pub uid: Option<u32>,
    pub user: String,
}

/// The user name of `uid` from the password database, else `uid N`.
pub fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id: u32 = fields.nth(1)?.parse().ok()?;
                (id == uid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}
