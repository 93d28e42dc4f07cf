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
    /// Attach the terminal UI to a running daemon (also over `ssh -t host xconnector tui`);
    /// quitting detaches and leaves the daemon running.
    Tui {
        /// Hide every action that changes something.
        #[arg(long)]
        readonly: bool,
        #[command(flatten)]
        target: Target,
    },
    /// One line per flow: state, backlog, in flight, exceptions (from the running daemon).
    Status {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: Target,
    },
    /// List, inspect, retry, resolve or cancel work items.
    Items {
        #[command(subcommand)]
        what: ItemsCommand,
        #[command(flatten)]
        target: Target,
    },
    /// Bulk jobs (`items act ACTION --flow F --state S`): list, show, follow or cancel them.
    Jobs {
        #[command(subcommand)]
        what: JobsCommand,
        #[command(flatten)]
        target: Target,
    },
    /// Pause or resume a flow.
    Flows {
        #[command(subcommand)]
        what: FlowsCommand,
        #[command(flatten)]
        target: Target,
    },
    /// The store: retire finished items now.
    Store {
        #[command(subcommand)]
        what: StoreCommand,
        #[command(flatten)]
        target: Target,
    },
    /// Reports from the running daemon's rollups (`[flows.reporting]`).
    Report {
        #[command(subcommand)]
        what: ReportCommand,
        #[command(flatten)]
        target: Target,
    },
    /// Product catalogue commands.
    Products {
        #[command(subcommand)]
        what: ProductsCommand,
    },
    /// Run only the simulated Shopify shop (Admin API, webhooks, traffic) from `[simulator]`.
    Sim(SimArgs),
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
    /// HTTP listen address, IP:PORT; overrides `server.listen`.
    #[arg(long, value_parser = crate::config::parse_listen)]
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

#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// The configuration file (its `[simulator]` and `[log]` sections).
    #[arg(long, default_value = "config.toml")]
    pub config: PathBuf,
    /// Admin API listen address, IP:PORT; overrides `simulator.listen`.
    #[arg(long, value_parser = crate::config::parse_listen)]
    pub listen: Option<SocketAddr>,
    /// Deliver every webhook to this URL; overrides `simulator.webhook_url`. Without either,
    /// webhooks go to the subscriptions registered through the API.
    #[arg(long)]
    pub webhook_url: Option<String>,
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
    /// Several flows calling the simulated shop at once under the rate limiter: points per
    /// second achieved against a Standard plan's restore rate, and THROTTLED answers.
    Shopify {
        /// Simulated seconds to run (the bucket's clock runs `--scale` times faster).
        #[arg(long, default_value_t = 120.0)]
        seconds: f64,
        #[arg(long, default_value_t = 20.0)]
        scale: f64,
    },
    /// A stock feed of SKUs unknown to xconnector into a simulated Standard-plan shop, as
    /// xconnector writes it and as a naive integration would (one lookup and one mutation per
    /// SKU): wall time, calls, points and THROTTLED answers of both, and their ratios.
    Inventory {
        #[arg(long, default_value_t = 10_000)]
        skus: usize,
        /// How many times faster the simulated bucket refills (both runs alike).
        #[arg(long, default_value_t = 50.0)]
        scale: f64,
    },
    /// The operator's view of a big store: time to the first items screen and per page with
    /// a million items, and the daemon's CPU cost of one attached TUI.
    Tui {
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value_t = 1_000_000)]
        items: u64,
        /// Seconds of TUI-like polling to measure the CPU cost over.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Reporting: the rollups of a year of orders written (orders/s), 90-day reports read
    /// back (p50/p99), and the orders benchmark with and without counting reports in the same
    /// run, alternating (the ratio).
    Report {
        /// Orders counted into the rollups, spread over a year.
        #[arg(long, default_value_t = 1_000_000)]
        orders: u64,
        /// Reports read per grouping.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Offered rate of the orders benchmark, orders per second: above this machine's
        /// ceiling, so that what is delivered is the most it can do, with and without counting.
        #[arg(long, default_value_t = 4000)]
        rate: u32,
        /// Seconds of offered load, each way.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Runs of the orders benchmark each way, alternating which goes first; each way's
        /// best run is its figure, since a shared machine only ever makes a run slower.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
        rounds: u32,
    },
    /// Orders end to end: signed Shopify-sized webhooks at fixed offered rates through the
    /// intake, store and orders flow to one HTTP receiver; orders/s and p50/p99 latency.
    Orders {
        /// Offered webhook rates to measure, in orders per second.
        #[arg(long, value_delimiter = ',', default_value = "500,1000,2000,3000")]
        rates: Vec<u32>,
        /// Seconds of offered load per rate.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// A long run of order webhooks against the daemon as its own process: signed
    /// Shopify-shaped `orders/create` deliveries through the intake, store and orders flow to a
    /// receiver that only counts, with retention short enough to prune during the run. Every
    /// `--every` orders: orders pushed and delivered, webhooks/s, the daemon's resident memory,
    /// the data directory's size and the store's items by state; at the end, the memory's
    /// growth after `--baseline` orders against the target (< 10%).
    Soak {
        /// Order webhooks to push.
        #[arg(long, default_value_t = 1_000_000)]
        orders: u64,
        /// Print a line every this many orders.
        #[arg(long, default_value_t = 100_000)]
        every: u64,
        /// The memory's growth is measured from the line at this many orders to the end.
        #[arg(long, default_value_t = 200_000)]
        baseline: u64,
        /// Webhooks in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Orders accepted but not yet delivered at most; the load waits beyond that.
        #[arg(long, default_value_t = 20_000)]
        backlog: u64,
        /// Where to put the daemon's data directory, config and log (default: the system
        /// temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep them afterwards.
        #[arg(long)]
        keep: bool,
        /// How long done and closed items stay (`[store.retention]` done and closed);
        /// `default` leaves the section out. Short, so that the store holds what the window
        /// holds well before `--baseline` (at 2,500 orders/s a window of 2m holds 300,000).
        #[arg(long, default_value = "30s")]
        retention: String,
        /// How often a prune step runs (`[store.retention] prune_every`).
        #[arg(long, default_value = "5s")]
        prune_every: String,
        /// Run the daemon under this command, e.g. `heaptrack -o /tmp/soak` or
        /// `env MALLOC_ARENA_MAX=2`; the memory is still the daemon's own.
        #[arg(long)]
        wrap: Option<String>,
    },
    /// What an unauthenticated client can make the daemon hold: unsigned 5 MiB webhooks held
    /// open with their last byte unsent, over many HTTP/1.1 connections and then as streams of
    /// one HTTP/2 connection, while signed webhooks keep coming. Prints the daemon's resident
    /// memory idle, at its highest and after the release, how the unsigned requests were
    /// answered and how many signed ones were accepted.
    IntakeFlood {
        /// Unsigned webhooks over HTTP/1.1, one connection each.
        #[arg(long, default_value_t = 400)]
        connections: usize,
        /// Each one's body, in MiB.
        #[arg(long, default_value_t = 5.0)]
        body_mib: f64,
        /// Unsigned webhooks as streams of one HTTP/2 connection.
        #[arg(long, default_value_t = 200)]
        streams: usize,
        /// Signed webhooks sent during each flood (one every 100 ms).
        #[arg(long, default_value_t = 50)]
        signed: u64,
        /// The most the flood may raise the daemon's memory by, in MiB.
        #[arg(long, default_value_t = 300.0)]
        budget_mib: f64,
        /// Seconds to wait for the memory to come back down after the release.
        #[arg(long, default_value_t = 15.0)]
        settle: f64,
        /// Exit with an error when a target is missed (for tests).
        #[arg(long)]
        check: bool,
        /// Where to put the daemon's data directory, config and log (default: the system
        /// temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep them afterwards.
        #[arg(long)]
        keep: bool,
    },
    /// A CRM's nightly sync of customer attributes (few of them changed) into a simulated
    /// Standard-plan shop, through the customers flow and as a naive integration would (fetch
    /// and one customerUpdate per customer): points, calls, wall time and their ratios.
    Customers {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// How many times faster the simulated bucket refills (both runs alike).
        #[arg(long, default_value_t = 50.0)]
        scale: f64,
    },
    /// A PIM's catalogue (average 5 variants) pushed into a simulated Standard-plan shop, then
    /// pushed again with 2% of it changed, through the products flow and as a naive
    /// integration would (productCreate/productUpdate and one call per variant, no diffing):
    /// points, calls, wall time and their ratios for both pushes.
    Products {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// How many times faster the simulated bucket refills (both runs alike).
        #[arg(long, default_value_t = 50.0)]
        scale: f64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProductsCommand {
    /// Load a whole catalogue through the running daemon's `POST /api/v1/products`, with a
    /// progress bar until every product is written (or held as an exception). FILE is a
    /// request body (`{"source": …, "products": […]}`) or JSON Lines, one product per line.
    /// Safe to run again: each part is sent with an Idempotency-Key, and products that did not
    /// change are not written again.
    Load {
        file: PathBuf,
        /// The configuration file: the daemon's `server.listen` and first API token.
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
        /// The sending system, for JSON Lines files (a body names its own).
        #[arg(long, default_value = "pim")]
        source: String,
        /// Products per request.
        #[arg(long, default_value_t = 250)]
        batch: usize,
        /// The daemon's base URL; overrides `server.listen`.
        #[arg(long)]
        url: Option<String>,
        /// Bearer token; overrides the configuration's first `server.api_tokens`. Also read
        /// from XC_API_TOKEN.
        #[arg(long, env = "XC_API_TOKEN", hide_env_values = true)]
        token: Option<String>,
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

/// Which daemon to talk to.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The control socket; default: `control.socket` of the config file.
    #[arg(long, global = true)]
    pub socket: Option<PathBuf>,
    /// The config file to read the socket path from.
    #[arg(long, global = true, default_value = "config.toml")]
    pub config: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ItemAction {
    Retry,
    Resolve,
    Cancel,
    /// Approve a return held for a person (returns flow).
    Approve,
    /// Decline a return held for a person, with --reason (returns flow).
    Decline,
}

impl ItemAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemAction::Retry => "retry",
            ItemAction::Resolve => "resolve",
            ItemAction::Cancel => "cancel",
            ItemAction::Approve => "approve",
            ItemAction::Decline => "decline",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ItemsCommand {
    /// Items oldest first, filtered by flow and state.
    List {
        #[arg(long)]
        flow: Option<String>,
        /// pending, in_flight, retrying, exception, done, resolved or cancelled.
        #[arg(long)]
        state: Option<String>,
        /// Start after this item id (paging).
        #[arg(long)]
        after: Option<u64>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One item: its history and payload.
    Show {
        id: u64,
        #[arg(long)]
        json: bool,
    },
    /// Retry, resolve or cancel the given items, or every item matching --flow/--state. The
    /// latter is a bulk job in the daemon, followed here with a progress bar until it ends;
    /// Ctrl-C (or --detach) stops only the waiting, the job goes on (`xconnector jobs`).
    #[command(name = "act", alias = "do")]
    Act {
        #[arg(value_enum)]
        action: ItemAction,
        ids: Vec<u64>,
        /// Why, for the audit log (and, on a decline, for the customer).
        #[arg(long)]
        note: Option<String>,
        /// A decline's reason, as Shopify names it: FINAL_SALE, RETURN_PERIOD_ENDED or OTHER.
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, required_unless_present_any = ["ids", "state"])]
        flow: Option<String>,
        #[arg(long)]
        state: Option<String>,
        /// With retry: re-run finished items too (done, resolved or cancelled): their flow
        /// does their work again. Without it, a retry refuses them.
        #[arg(long)]
        again: bool,
        /// Start the bulk job and return at once, printing its id.
        #[arg(long, conflicts_with = "ids")]
        detach: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The newest bulk jobs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One job: what it does and its counts so far.
    Show {
        id: u64,
        #[arg(long)]
        json: bool,
    },
    /// Wait for a job to end, with a progress bar; Ctrl-C stops only the waiting.
    Follow {
        id: u64,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a running job: it changes no item after this; its counts are what it did.
    Cancel {
        id: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Retire finished items (done, resolved, cancelled) older than a window now, in bounded
    /// steps through the running daemon, with a progress bar; open exceptions and work still
    /// due are never touched. The daemon also does this on its own ([store.retention]).
    Prune {
        /// Finished longer ago than this: 7d, 12h, 30m.
        #[arg(long)]
        older_than: String,
        /// Count what would go, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Gross, discounts, returns, net, shipping, tax, orders, units and average order value per
    /// day, ISO week or channel in the shop's days, each currency apart, with totals.
    Sales(ReportArgs),
    /// Orders placed in the range: shipped, waiting, cancelled; whole hours from the order to
    /// its first fulfilment and to delivery (p50, p90, max); the share shipped within
    /// `[flows.reporting] ship_within`. By day, ISO week, location or carrier.
    Fulfilment(ReportArgs),
    /// Per SKU or location: units sold, average units on hand, turnover (sold / average on
    /// hand), days of cover, stock-out and oversold days, and SKUs whose stock feed is stale
    /// (`[flows.reporting] stale_after`). In UTC days.
    Inventory(ReportArgs),
    /// Per day or ISO week and currency: customers who ordered, new (first order ever) and
    /// returning, orders, guest orders, revenue (less refunds), orders and revenue per
    /// customer, the repeat-purchase rate; and the top customers of the range by revenue.
    Customers(ReportArgs),
    /// Per flow and UTC day: items received and done, exceptions opened, closed (retried,
    /// resolved or cancelled) and resolved, whole hours they stayed open (p50, p90, max). By
    /// day, ISO week or flow. Counted by the store whether or not [flows.reporting] is on.
    Health(ReportArgs),
    /// Fills the sales, fulfilment, inventory and customers rollups from Shopify's order
    /// history (one bulk query), showing its progress until it ends; counting an order again
    /// changes nothing, so it may run over days already counted.
    Backfill(BackfillArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BackfillArgs {
    /// Orders processed since: days back from today (`90d`) or a day (`2026-09-01`).
    #[arg(long, default_value = "90d")]
    pub since: String,
    /// Also give the orders flow the orders it never saw (placed before xconnector was
    /// installed), once each.
    #[arg(long)]
    pub deliver: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The first day, YYYY-MM-DD; default: 29 days before --to.
    #[arg(long, value_parser = parse_day)]
    pub from: Option<chrono::NaiveDate>,
    /// The last day, YYYY-MM-DD, included; default: today.
    #[arg(long, value_parser = parse_day)]
    pub to: Option<chrono::NaiveDate>,
    /// How rows are grouped; default: the report's first grouping (day; sku for inventory).
    #[arg(long, value_enum)]
    pub by: Option<ReportBy>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ReportFormat,
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a day; write it as YYYY-MM-DD, e.g. 2026-12-07"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    Day,
    Week,
    /// Sales only.
    Channel,
    /// Fulfilment and inventory.
    Location,
    /// Fulfilment only.
    Carrier,
    /// Health only.
    Flow,
    /// Inventory only.
    Sku,
    /// Health only: flow and kind of item (held orders per rule).
    Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for a terminal.
    Table,
    /// A header line, then one line per row and per currency's total (key `total`).
    Csv,
    /// The API's answer as is.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    Pause {
        name: String,
        #[arg(long)]
        note: Option<String>,
    },
    Resume {
        name: String,
        #[arg(long)]
        note: Option<String>,
    },
}
