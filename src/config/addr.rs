//! Socket addresses (`server.listen`, `--listen`), with a message that says what is accepted.

use std::net::SocketAddr;

use serde::{Deserialize, Deserializer, de::Error as _};

/// A listen address: `IP:PORT` with a literal IP. std's own error would say only "invalid
/// socket address syntax"; operators most often write `localhost:8080`, so say that a literal
/// IP is needed. Host names are not resolved: a name can stand for several addresses (or
/// change), and a daemon must say exactly where it listens. The config file's keys and the
/// command line's `--listen` flags share it, so both say the same.
pub fn parse(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        format!(
            "invalid socket address {text:?}: expected IP:PORT with a literal IP address, \
             such as \"127.0.0.1:8080\", \"0.0.0.0:8080\" or \"[::1]:8080\""
        )
    })
}

/// `deserialize_with` target for `SocketAddr` fields.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(D::Error::custom)
}
