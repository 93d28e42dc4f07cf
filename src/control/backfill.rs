//! `xconnector report backfill --since 90d [--deliver]`: starts filling the report rollups
//! from Shopify's order history in the running daemon, then shows its progress on stderr until
//! it ends: one line rewritten in place on a terminal, a line per change otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use xconnector_actors::flows::reporting::backfill::{Progress, State, Step};

use super::client::{ClientError, ControlClient};
use super::commands::exit_for;
use crate::cli::BackfillArgs;

/// How often the progress is read.
const POLL: Duration = Duration::from_millis(500);

pub async fn backfill(socket: &Path, args: BackfillArgs) -> ExitCode {
    match follow(socket, args).await {
        Ok(p) if p.state == State::Done => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xconnector: {e}");
            exit_for(&e)
        }
    }
}

async fn follow(socket: &Path, args: BackfillArgs) -> Result<Progress, ClientError> {
    let c = ControlClient::new(socket)?;
    let body = serde_json::json!({ "since": args.since, "deliver": args.deliver });
    let mut p: Progress = c.post("/v1/reports/backfill", &body).await?;
    let terminal = std::io::stderr().is_terminal();
    let mut shown = String::new();
    loop {
        let line = describe(&p);
        if line != shown {
            let mut err = std::io::stderr().lock();
            // A terminal shows one line, rewritten; anything else gets a line per change.
            let _ = if terminal {
                write!(err, "\r\x1b[2K{line}")
            } else {
                writeln!(err, "{line}")
            };
            let _ = err.flush();
            shown = line;
        }
        if p.state != State::Running {
            if terminal {
                eprintln!();
            }
            return Ok(p);
        }
        tokio::time::sleep(POLL).await;
        p = c.get("/v1/reports/backfill").await?;
    }
}

/// One line of progress.
pub fn describe(p: &Progress) -> String {
    let head = format!("backfill of orders since {}", p.since);
    match (p.state, p.step) {
        (State::Running, Step::Querying) => format!(
            "{head}: Shopify runs the bulk query {}",
            p.bulk_operation.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_string(),
        (State::Running, _) => {
            let total = p.orders_total.unwrap_or(0);
            let percent = (p.orders_counted * 100).checked_div(total).unwrap_or(100);
            format!(
                "{head}: {}/{total} orders counted ({percent}%), {} lines read{}",
                p.orders_counted,
                p.lines_read,
                delivered(p)
            )
        }
        (State::Done, _) => format!(
            "{head}: done, {} orders counted, {} lines read{}{}",
            p.orders_counted,
            p.lines_read,
            delivered(p),
            match p.unreadable {
                0 => String::new(),
                n => format!(", {n} unreadable (see the daemon's log)"),
            }
        ),
        (State::Failed, _) => format!(
            "{head}: failed after {} orders: {}",
            p.orders_counted,
            p.error.as_deref().unwrap_or("no reason given")
        ),
    }
}

fn delivered(p: &Progress) -> String {
    if p.deliver {
        format!(", {} given to the orders flow", p.orders_delivered)
    } else {
        String::new()
    }
}
