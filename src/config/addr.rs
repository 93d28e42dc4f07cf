//! Socket addresses (`server.listen`), with a message that says what is accepted.

use std::net::SocketAddr;

use serde::{Deserialize, Deserializer, de::Error as _};

/// `deserialize_with` target for `SocketAddr` fields. std's own impl would say only
/// "invalid socket address syntax"; operators most often write `localhost:8080`, so
/// say that a literal IP is needed.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(|_| {
        D::Error::custom(format!(
            "invalid socket address {text:?}: expected IP:PORT with a literal IP address, \
             such as \"127.0.0.1:8080\", \"0.0.0.0:8080\" or \"[::1]:8080\""
        ))
    })
}
