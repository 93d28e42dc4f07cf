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
    /// For the event stream: no limit on the whole response, which never ends, but one on
    /// silence, which the server's keep-alives break every 15 s.
    stream: reqwest::Client,
    socket: PathBuf,
}

/// A server-sent event stream being read: `(event name, data)` at a time.
pub struct Sse {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Sse {
    /// The next event; `None` when the daemon ends the stream.
    pub async fn next(&mut self) -> Result<Option<(String, String)>, ClientError> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                if let Some(event) = parse_event(&String::from_utf8_lossy(&block)) {
                    return Ok(Some(event));
                }
                continue;
            }
            match self.resp.chunk().await {
                Ok(Some(bytes)) => self.buf.extend_from_slice(&bytes),
                Ok(None) => return Ok(None),
                Err(e) => return Err(ClientError::Transport(e.to_string())),
            }
        }
    }
}

/// One event block (`event:`, `data:` lines); comments and keep-alives give `None`.
fn parse_event(block: &str) -> Option<(String, String)> {
    let mut name = String::from("message");
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim_start().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    (!data.is_empty()).then(|| (name, data.join("\n")))
}

impl ControlClient {
    pub fn new(socket: &Path) -> Result<ControlClient, ClientError> {
        let http = xconnector_actors::http_client::builder()
            .unix_socket(socket.to_path_buf())
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let stream = xconnector_actors::http_client::builder()
            .unix_socket(socket.to_path_buf())
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(45))
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(ControlClient {
            http,
            stream,
            socket: socket.to_path_buf(),
        })
    }

    /// Opens `/v1/events`.
    pub async fn events(&self) -> Result<Sse, ClientError> {
        let resp = self
            .stream
            .get(self.url("/v1/events"))
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = resp.status();
        if !status.is_success() {
            let bytes = resp.bytes().await.unwrap_or_default();
            return Err(api_error(status.as_u16(), &bytes));
        }
        Ok(Sse {
            resp,
            buf: Vec::new(),
        })
    }

    fn transport(&self, e: reqwest::Error) -> ClientError {
        if e.is_connect() {
            connect_error(&e, &self.socket)
        } else {
            ClientError::Transport(e.to_string())
        }
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
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), &bytes));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Transport(format!("unexpected answer: {e}")))
    }
}

/// An error answer: its `{"error": …}` message, else its body.
fn api_error(status: u16, body: &[u8]) -> ClientError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    ClientError::Api { status, message }
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
    fn event_blocks_are_parsed_and_keep_alives_skipped() {
        assert_eq!(
            parse_event("event: status\ndata: {\"a\":1}\n\n"),
            Some(("status".into(), "{\"a\":1}".into()))
        );
        assert_eq!(parse_event(":\n\n"), None);
        assert_eq!(
            parse_event("data: one\ndata: two\n\n"),
            Some(("message".into(), "one\ntwo".into()))
        );
    }

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
