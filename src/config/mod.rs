//! Configuration: the schema of `config.toml`, and loading it with errors that
//! name the file, line and key of every problem at once.
//!
//! - `types.rs`    the schema and its defaults
//! - `load.rs`     `load` / `parse`: the pipeline
//! - `env.rs`      `${VAR}`, `${VAR:-default}`, `$$` in string values
//! - `de.rs`       serde deserializer over toml's spanned tree; collects all errors
//! - `validate.rs` formats, ranges and cross-references
//! - `duration.rs`, `addr.rs`, `secret.rs`  value types
//! - `error.rs`, `path.rs`  error reporting
//!
//! Command-line overrides (`--listen`, `--data-dir`, `--socket`) are applied by the
//! caller to the returned `Config`.

mod addr;
mod de;
pub mod duration;
mod env;
mod error;
mod load;
mod path;
mod secret;
mod types;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, ConfigErrors};
pub use load::{load, parse};
pub use secret::Secret;
pub use types::{
    Config, ControlConfig, DEFAULT_API_VERSION, DaemonConfig, EndpointConfig, ExceptionsFlowConfig,
    FileEndpoint, FileFormat, FlowsConfig, HttpEndpoint, InventoryFlowConfig, LogConfig,
    LogFlowConfig, LogFormat, OrdersFlowConfig, ServerConfig, ShopifyConfig, SimulatorConfig,
    StoreConfig,
};
