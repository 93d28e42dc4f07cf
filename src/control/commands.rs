//! The CLI commands that talk to a running daemon: `status`, `items …`, `flows …`. Scriptable:
//! `--json` prints the API's answer as is; exit status 0 on success, 1 when the daemon refused
//! (bad id, wrong state), 3 when no daemon answers.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;
use xconnector_actors::item::Item;

use super::api::{BulkResult, ItemDetail, ItemPage, Status};
use super::client::{ClientError, ControlClient};
use crate::cli::{FlowsCommand, ItemsCommand, StoreCommand};

/// The socket to use: `--socket`, else the config file's `control.socket`, else the default.
pub fn socket_path(socket: Option<PathBuf>, config: &Path) -> PathBuf {
    if let Some(s) = socket {
        return s;
    }
    match crate::config::load(config) {
        Ok(c) => c.control.socket,
        Err(_) => crate::config::ControlConfig::default().socket,
    }
}

fn exit_for(e: &ClientError) -> ExitCode {
    match e {
        ClientError::NoDaemon(_) => ExitCode::from(3),
        ClientError::PermissionDenied(_) => ExitCode::from(4),
        _ => ExitCode::from(1),
    }
}

async fn run<F, Fut>(socket: &Path, f: F) -> ExitCode
where
    F: FnOnce(ControlClient) -> Fut,
    Fut: std::future::Future<Output = Result<String, ClientError>>,
{
    let result = match ControlClient::new(socket) {
        Ok(client) => f(client).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xconnector: {e}");
            exit_for(&e)
        }
    }
}

fn pretty<T: serde::Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

pub async fn status(socket: &Path, as_json: bool) -> ExitCode {
    run(socket, |c| async move {
        let s: Status = c.get("/v1/status").await?;
        if as_json {
            return Ok(pretty(&s));
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "xconnector: {}",
            if s.ready { "ready" } else { "not ready" }
        );
        let _ = writeln!(
            out,
            "{:<14} {:<9} {:>8} {:>9} {:>10} {:>9} {:>9}",
            "FLOW", "STATE", "WAITING", "IN FLIGHT", "EXCEPTIONS", "DONE", "RESTARTS"
        );
        for f in &s.flows {
            let n = |k: &str| f.counts.get(k).copied().unwrap_or(0);
            let state = if !f.running {
                "stopped"
            } else if f.paused {
                "paused"
            } else {
                "running"
            };
            let restarts = s
                .restarts
                .get(&format!("flow:{}", f.name))
                .copied()
                .unwrap_or(0);
            let _ = writeln!(
                out,
                "{:<14} {:<9} {:>8} {:>9} {:>10} {:>9} {:>9}",
                f.name,
                state,
                n("pending") + n("retrying"),
                n("in_flight"),
                n("exception"),
                n("done"),
                restarts
            );
        }
        let _ = writeln!(out, "accepting {:.1} items/s", s.enqueue_rate);
        Ok(out)
    })
    .await
}

fn item_line(i: &Item) -> String {
    format!(
        "{:>8}  {:<12} {:<10} {:<22} {:<16} {:>3}  {}\n",
        i.id.0,
        i.flow,
        i.state.as_str(),
        i.kind,
        i.key,
        i.attempts,
        i.last_error.as_deref().unwrap_or("")
    )
}

pub async fn items(socket: &Path, cmd: ItemsCommand) -> ExitCode {
    match cmd {
        ItemsCommand::List {
            flow,
            state,
            after,
            limit,
            json,
        } => {
            run(socket, |c| async move {
                let mut query = vec![format!("limit={limit}")];
                query.extend(flow.map(|f| format!("flow={f}")));
                query.extend(state.map(|s| format!("state={s}")));
                query.extend(after.map(|a| format!("after={a}")));
                let page: ItemPage = c.get(&format!("/v1/items?{}", query.join("&"))).await?;
                if json {
                    return Ok(pretty(&page));
                }
                let mut out = format!(
                    "{:>8}  {:<12} {:<10} {:<22} {:<16} {:>3}  {}\n",
                    "ID", "FLOW", "STATE", "KIND", "KEY", "TRY", "LAST ERROR"
                );
                for i in &page.items {
                    out.push_str(&item_line(i));
                }
                if let Some(next) = page.next {
                    let _ = writeln!(out, "more: --after {next}");
                }
                Ok(out)
            })
            .await
        }
        ItemsCommand::Show { id, json } => {
            run(socket, |c| async move {
                let d: ItemDetail = c.get(&format!("/v1/items/{id}")).await?;
                if json {
                    return Ok(pretty(&d));
                }
                let mut out = item_line(&d.item);
                let _ = writeln!(out, "history:");
                for h in &d.history {
                    let from = h.from.map(|s| s.as_str()).unwrap_or("-");
                    let _ = writeln!(
                        out,
                        "  {}  {from} -> {}  {}",
                        h.at,
                        h.to.as_str(),
                        h.note.as_deref().unwrap_or("")
                    );
                }
                let _ = writeln!(out, "payload:\n{}", pretty(&d.payload));
                Ok(out)
            })
            .await
        }
        ItemsCommand::Act {
            action,
            ids,
            note,
            flow,
            state,
            json,
        } => {
            run(socket, |c| async move {
                let action = action.as_str();
                if ids.is_empty() {
                    let r: BulkResult = c
                        .post(
                            &format!("/v1/bulk/{action}"),
                            &json!({ "flow": flow, "state": state, "note": note }),
                        )
                        .await?;
                    return Ok(if json {
                        pretty(&r)
                    } else {
                        format!(
                            "{action}: {} of {} matching items ({} skipped)\n",
                            r.affected, r.matched, r.skipped
                        )
                    });
                }
                let mut out = String::new();
                for id in ids {
                    let item: Item = c
                        .post(
                            &format!("/v1/items/{id}/{action}"),
                            &json!({ "note": note }),
                        )
                        .await?;
                    out.push_str(&if json {
                        pretty(&item)
                    } else {
                        item_line(&item)
                    });
                }
                Ok(out)
            })
            .await
        }
    }
}

pub async fn store(socket: &Path, cmd: StoreCommand) -> ExitCode {
    let StoreCommand::Prune {
        older_than,
        dry_run,
    } = cmd;
    run(socket, |c| async move {
        // The bar's length: the finished items there are now; the run retires some of them.
        let status: Status = c.get("/v1/status").await?;
        let finished: u64 = ["done", "resolved", "cancelled"]
            .iter()
            .filter_map(|s| status.totals.get(*s))
            .sum();
        let bar = indicatif::ProgressBar::new(finished).with_style(
            indicatif::ProgressStyle::with_template(
                "{msg:>10} [{bar:40}] {pos}/{len} finished items ({per_sec})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(if dry_run { "counting" } else { "retiring" });
        let mut total = xconnector_actors::store::Pruned::default();
        let mut first = true;
        loop {
            let step: xconnector_actors::store::Pruned = c
                .post(
                    "/v1/store/prune",
                    &json!({"older_than": older_than, "dry_run": dry_run, "first": first}),
                )
                .await?;
            first = false;
            total.items += step.items;
            total.scanned += step.scanned;
            bar.inc(step.items);
            if !step.more {
                break;
            }
        }
        bar.finish_and_clear();
        Ok(format!(
            "{} {} finished items older than {older_than} ({} looked at)\n",
            if dry_run { "would retire" } else { "retired" },
            total.items,
            total.scanned
        ))
    })
    .await
}

pub async fn flows(socket: &Path, cmd: FlowsCommand) -> ExitCode {
    let (name, action, note) = match cmd {
        FlowsCommand::Pause { name, note } => (name, "pause", note),
        FlowsCommand::Resume { name, note } => (name, "resume", note),
    };
    run(socket, |c| async move {
        let s: xconnector_actors::flows::FlowStatus = c
            .post(
                &format!("/v1/flows/{name}/{action}"),
                &json!({ "note": note }),
            )
            .await?;
        Ok(format!(
            "{}: {}\n",
            s.name,
            if s.paused { "paused" } else { "running" }
        ))
    })
    .await
}
