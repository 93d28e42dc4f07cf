//! xconnector: the daemon between a Shopify store and the back office.
//!
//! The binary composes the engine (`xconnector-actors`) with what only a program has:
//! - `cli`: commands and flags; `config`: loading `config.toml` with line-numbered errors;
//! - `daemon`: `run`: engine, HTTP listener, signals, systemd; `http`: the router;
//! - `intake`: the inbound back-office API (`POST /api/v1/…`, request ids, CSV drop directories);
//! - `wiring`: configuration → engine; `logging`, `systemd`, `memory`: the process's
//!   surroundings;
//! - `bench`: measurements; `debug`: hidden tools for the crash tests.

pub mod attached;
pub mod bench;
pub mod bench_customers;
pub mod bench_flood;
pub mod bench_orders;
pub mod bench_products;
pub mod bench_report;
mod bench_rig;
pub mod bench_soak;
mod body_budget;
pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod debug;
pub mod demo;
pub mod http;
pub mod intake;
pub mod logging;
pub mod memory;
pub mod products_load;
pub mod refusals;
pub mod serve;
pub mod systemd;
pub mod tui;
pub mod webhooks;
pub mod wiring;

/// The simulated shop and back office (the `xconnector-sim` crate), built in for the demo.
pub use xconnector_sim as sim;
pub use xconnector_sim::schema as shopify_schema;

use std::process::ExitCode;

use clap::Parser;

use cli::{BenchCommand, Cli, Command, DebugCommand, ProductsCommand, RunArgs};
use control::commands;

/// The whole program: parse the command line, run the command, map the outcome to an exit
/// status (0 ok, 1 runtime failure, 2 invalid configuration).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, None | Some(Command::Run(_))) {
        // The daemon runs for months: before its threads exist (see `memory`).
        memory::limit_arenas();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("xconnector: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
            Command::Run(args) => {
                use std::io::IsTerminal;
                // The TUI needs both; without one, say so, or a piped demo
                // (`cargo run --release | tee log`) looks like a daemon that lost its UI.
                let not_terminal = if !std::io::stdout().is_terminal() {
                    Some("stdout")
                } else if !std::io::stdin().is_terminal() {
                    Some("stdin")
                } else {
                    None
                };
                match (args.headless, not_terminal) {
                    (true, _) => daemon::run(args, None).await,
                    (false, Some(stream)) => daemon::run(args, Some(stream)).await,
                    (false, None) => attached::run(args).await,
                }
            }
            Command::CheckConfig { config } => Ok(check_config(&config)),
            Command::Sim(args) => daemon::sim(args).await,
            Command::Tui { readonly, target } => tui::run(
                commands::socket_path(target.socket, &target.config),
                tui::Mode::Attached,
                readonly,
            )
            .await
            .map(|_| ExitCode::SUCCESS),
            Command::Status { json, target } => Ok(commands::status(
                &commands::socket_path(target.socket, &target.config),
                json,
            )
            .await),
            Command::Items { what, target } => Ok(commands::items(
                &commands::socket_path(target.socket, &target.config),
                what,
            )
            .await),
            Command::Store { what, target } => Ok(commands::store(
                &commands::socket_path(target.socket, &target.config),
                what,
            )
            .await),
            Command::Report { what, target } => Ok(control::reports::report(
                &commands::socket_path(target.socket, &target.config),
                what,
            )
            .await),
            Command::Jobs { what, target } => Ok(commands::jobs(
                &commands::socket_path(target.socket, &target.config),
                what,
            )
            .await),
            Command::Flows { what, target } => Ok(commands::flows(
                &commands::socket_path(target.socket, &target.config),
                what,
            )
            .await),
            Command::Bench {
                what: BenchCommand::Store { dir, seconds },
            } => bench::store(dir, seconds).await.map(|()| ExitCode::SUCCESS),
            Command::Bench {
                what: BenchCommand::Inventory { skus, scale },
            } => bench::inventory(skus, scale)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Bench {
                what: BenchCommand::Shopify { seconds, scale },
            } => bench::shopify(seconds, scale)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Bench {
                what:
                    BenchCommand::Tui {
                        dir,
                        items,
                        seconds,
                    },
            } => bench::tui(dir, items, seconds)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Bench {
                what:
                    BenchCommand::Report {
                        orders,
                        queries,
                        rate,
                        seconds,
                        rounds,
                    },
            } => bench_report::report(orders, queries, rate, seconds, rounds)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Bench {
                what: BenchCommand::Orders { rates, seconds },
            } => bench_orders::orders(rates, seconds)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Bench {
                what:
                    BenchCommand::Soak {
                        orders,
                        every,
                        baseline,
                        concurrency,
                        backlog,
                        dir,
                        keep,
                        retention,
                        prune_every,
                        wrap,
                    },
            } => bench_soak::soak(bench_soak::Soak {
                orders,
                every,
                baseline,
                concurrency,
                backlog,
                dir,
                keep,
                retention: (retention != "default").then_some(retention),
                prune_every,
                wrap,
            })
            .await
            .map(|()| ExitCode::SUCCESS),
            Command::Bench {
                what:
                    BenchCommand::IntakeFlood {
                        connections,
                        body_mib,
                        streams,
                        signed,
                        budget_mib,
                        settle,
                        check,
                        dir,
                        keep,
                    },
            } => bench_flood::flood(bench_flood::Flood {
                connections,
                body_mib,
                streams,
                signed,
                budget_mib,
                settle: std::time::Duration::from_secs_f64(settle),
                check,
                dir,
                keep,
            })
            .await
            .map(|()| ExitCode::SUCCESS),
            Command::Bench {
                what: BenchCommand::Customers { count, scale },
            } => bench_customers::customers(count, scale)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Bench {
                what: BenchCommand::Products { count, scale },
            } => bench_products::products(count, scale)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Products {
                what:
                    ProductsCommand::Load {
                        file,
                        config,
                        source,
                        batch,
                        url,
                        token,
                    },
            } => {
                products_load::load(products_load::Load {
                    file,
                    config,
                    source,
                    batch,
                    url,
                    token,
                })
                .await
            }
            Command::Debug {
                what:
                    DebugCommand::StoreWriter {
                        dir,
                        flow,
                        count,
                        writers,
                        claim_every,
                        lease_ms,
                        payload,
                    },
            } => debug::store_writer(debug::StoreWriter {
                dir,
                flow,
                count,
                writers,
                claim_every,
                lease_ms,
                payload,
            })
            .await
            .map(|()| ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xconnector: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match config::load(path) {
        Ok(_) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(2)
        }
    }
}
