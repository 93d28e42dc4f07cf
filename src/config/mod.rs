//! Configuration: the schema of `config.toml`, and loading it with errors that
//! name the file, line and key of every problem at once.
//!
//! - `types.rs`    the schema and its defaults
//! - `load.rs`     `load` / `parse`: the pipeline
//! - `env.rs`      `${VAR}`, `${VAR:-default}`, `$$` in string values
//! - `de.rs`       serde deserializer over toml's spanned tree; collects all errors
//! - `validate.rs` formats, ranges and cross-references
//! - `flows.rs`    the flow registry: every `[flows.NAME]`, read by its flow's module
//! - `addr.rs`, `secret.rs`  value types (durations and key paths are the engine's)
//! - `error.rs`  error reporting
//!
//! Command-line overrides (`--listen`, `--data-dir`, `--socket`) are applied by the
//! caller to the returned `Config`.

mod addr;
mod de;
mod env;
mod error;
mod flows;
mod load;
mod secret;
mod types;
mod validate;

#[cfg(test)]
mod tests;

pub use addr::parse as parse_listen;
pub use error::{ConfigError, ConfigErrors};
pub use flows::Registry;
pub use load::parse_with;
pub use load::{load, parse};
pub use secret::Secret;
pub use types::{
    Config, ControlConfig, DEFAULT_API_VERSION, DaemonConfig, EndpointConfig, FileEndpoint,
    FileFormat, HttpEndpoint, LogConfig, LogFormat, ServerConfig, ShopifyConfig, SimulatorConfig,
    StoreConfig, parse_mode,
};
pub use xconnector_actors::config::duration;
