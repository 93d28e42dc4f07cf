//! The command line: every command and flag, with the help text operators read.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "xconnector",
    version,
    about = "Keeps a Shopify store and the back office (ERP, WMS/3PL, CRM, finance, BI) in sync",
    long_about = "Keeps a Shopify store and the back office (ERP, WMS/3PL, CRM, finance, BI) in sync.\n\nWithout a command, runs the daemon with ./config.toml (the demo against the simulator)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Run(RunArgs),
    /// Validate a configuration file; prints `ok` or every error with its line (exit status 2).
    CheckConfig {
        /// The configuration file.
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
    },
    /// Measure the engine on this machine.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Tools for tests and diagnosis.
    #[command(hide = true)]
    Debug {
        #[command(subcommand)]
        what: DebugCommand,
    },
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The configuration file.
    #[arg(long, default_value = "config.toml")]
    pub config: PathBuf,
    /// No terminal UI: log to stderr (the mode for systemd).
    #[arg(long)]
    pub headless: bool,
    /// HTTP listen address; overrides `server.listen`.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Store directory; overrides `store.dir`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Control socket path; overrides `control.socket`.
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Log line format; overrides `log.format`.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormatArg>,
}

impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            config: PathBuf::from("config.toml"),
            headless: false,
            listen: None,
            data_dir: None,
            socket: None,
            log_format: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Durable enqueue throughput and acknowledgement latency of the store, next to the disk's
    /// raw fsync rate.
    Store {
        /// Where to put the temporary store (default: the system temp dir). Use the disk the
        /// daemon will run on.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Enqueue items into a store through the store actor and print each durable
    /// acknowledgement (`ack KEY ID`) on stdout; used by the crash tests.
    StoreWriter {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "crash")]
        flow: String,
        /// Items to enqueue, with dedupe keys `k0`…; then exit.
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 8)]
        writers: u64,
        /// Claim one item after every N acknowledgements (0: never), printing `claimed ID`.
        #[arg(long, default_value_t = 0)]
        claim_every: u64,
        /// Lease of those claims, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        lease_ms: u64,
        /// Payload size in bytes.
        #[arg(long, default_value_t = 1024)]
        payload: usize,
    },
}
