//! The control API's client, over the Unix socket.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "no daemon is listening on {0}: is xconnector running, and is this its socket (--socket)?"
    )]
    NoDaemon(PathBuf),
    #[error("permission denied on {0}: run as the daemon's user (its control socket is 0600)")]
    PermissionDenied(PathBuf),
    #[error("{message} (HTTP {status})")]
    Api { status: u16, message: String },
    #[error("talking to the daemon failed: {0}")]
    Transport(String),
}

pub struct ControlClient {
    http: reqwest::Client,
    socket: PathBuf,
}

impl ControlClient {
    pub fn new(socket: &Path) -> Result<ControlClient, ClientError> {
        let http = xconnector_actors::http_client::builder()
            .unix_socket(socket.to_path_buf())
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(ControlClient {
            http,
            socket: socket.to_path_buf(),
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ClientError> {
        self.send(self.http.post(self.url(path)).json(body)).await
    }

    fn url(&self, path: &str) -> String {
        // The host is ignored on a Unix socket; it only makes the URL valid.
        format!("http://xconnector{path}")
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let resp = req.send().await.map_err(|e| {
            if e.is_connect() {
                connect_error(&e, &self.socket)
            } else {
                ClientError::Transport(e.to_string())
            }
        })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            return Err(ClientError::Api {
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Transport(format!("unexpected answer: {e}")))
    }
}

/// Why connecting failed, as the operator needs to hear it: no daemon there, or a socket this
/// user may not open.
fn connect_error(e: &(dyn std::error::Error + 'static), socket: &Path) -> ClientError {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::PermissionDenied
        {
            return ClientError::PermissionDenied(socket.to_path_buf());
        }
        cause = c.source();
    }
    ClientError::NoDaemon(socket.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_socket_is_told_apart_from_a_missing_daemon() {
        let socket = Path::new("/run/xconnector/control.sock");
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(matches!(
            connect_error(&denied, socket),
            ClientError::PermissionDenied(_)
        ));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            connect_error(&refused, socket),
            ClientError::NoDaemon(_)
        ));
        assert_eq!(
            ClientError::PermissionDenied(socket.into()).to_string(),
            "permission denied on /run/xconnector/control.sock: run as the daemon's user (its control socket is 0600)"
        );
    }
}
