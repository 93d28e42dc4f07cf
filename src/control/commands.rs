//! The CLI commands that talk to a running daemon: `status`, `items …`, `jobs …`, `flows …`
//! (and `report …`, in [`super::reports`]).
//! Scriptable: `--json` prints the API's answer as is; exit status 0 on success, 1 when the
//! daemon refused (bad id, wrong state) or a bulk job ended cancelled, failed or with items that
//! failed, 3 when no daemon answers, 4 when this user may not open its socket, 130 when Ctrl-C
//! stopped the waiting for a bulk job (which goes on).

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;
use xconnector_actors::item::{Item, OperatorAction};
use xconnector_actors::store::{BulkJob, JobState};

use super::api::{ItemDetail, ItemPage, Status};
use super::client::{ClientError, ControlClient};
use crate::cli::{FlowsCommand, ItemAction, ItemsCommand, JobsCommand, StoreCommand};

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

pub(super) fn exit_for(e: &ClientError) -> ExitCode {
    match e {
        ClientError::NoDaemon(_) => ExitCode::from(3),
        ClientError::PermissionDenied(_) => ExitCode::from(4),
        _ => ExitCode::from(1),
    }
}

pub(super) async fn run<F, Fut>(socket: &Path, f: F) -> ExitCode
where
    F: FnOnce(ControlClient) -> Fut,
    Fut: std::future::Future<Output = Result<String, ClientError>>,
{
    run_coded(socket, |c| async move {
        f(c).await.map(|out| (out, ExitCode::SUCCESS))
    })
    .await
}

/// [`run`] for commands whose success has more than one exit status.
async fn run_coded<F, Fut>(socket: &Path, f: F) -> ExitCode
where
    F: FnOnce(ControlClient) -> Fut,
    Fut: std::future::Future<Output = Result<(String, ExitCode), ClientError>>,
{
    let result = match ControlClient::new(socket) {
        Ok(client) => f(client).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((out, code)) => {
            print!("{out}");
            code
        }
        Err(e) => {
            eprintln!("xconnector: {e}");
            exit_for(&e)
        }
    }
}

pub(super) fn pretty<T: serde::Serialize>(v: &T) -> String {
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
                    // (--json keeps the milliseconds.)
                    let at = chrono::DateTime::from_timestamp_millis(h.at as i64)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                        .unwrap_or_else(|| h.at.to_string());
                    let _ = writeln!(
                        out,
                        "  {at}  {from} -> {}  {}",
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
            reason,
            flow,
            state,
            again,
            detach,
            json,
        } => {
            let decides = matches!(action, ItemAction::Approve | ItemAction::Decline);
            if ids.is_empty() && decides {
                eprintln!(
                    "error: {} takes item ids: one return at a time",
                    action.as_str()
                );
                return ExitCode::from(2);
            }
            if again && action != ItemAction::Retry {
                eprintln!("error: --again is for retry only");
                return ExitCode::from(2);
            }
            if ids.is_empty() {
                let body = json!({ "flow": flow, "state": state, "note": note, "again": again });
                return bulk(socket, action.as_str(), body, detach, json).await;
            }
            run(socket, |c| async move {
                let action = action.as_str();
                let mut out = String::new();
                for id in ids {
                    let item: Item = c
                        .post(
                            &format!("/v1/items/{id}/{action}"),
                            &if decides {
                                json!({ "note": note, "reason": reason })
                            } else {
                                json!({ "note": note, "again": again })
                            },
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

/// Starts a bulk job and, unless `detach`, follows it to its end.
async fn bulk(
    socket: &Path,
    action: &str,
    body: serde_json::Value,
    detach: bool,
    json: bool,
) -> ExitCode {
    run_coded(socket, |c| async move {
        let interrupt = interrupt();
        let job: BulkJob = c.post(&format!("/v1/bulk/{action}"), &body).await?;
        if detach {
            let out = if json {
                pretty(&job)
            } else {
                format!(
                    "{}: job {} started over {} matching items; follow it with `xconnector jobs follow {}`\n",
                    action, job.id, job.expected, job.id
                )
            };
            return Ok((out, ExitCode::SUCCESS));
        }
        follow(&c, job, interrupt, json).await
    })
    .await
}

/// Ctrl-C, caught from now on: one that comes while a job is being started still only stops
/// the waiting. `None` if it cannot be caught (it then ends the process, as usual).
fn interrupt() -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok()
}

/// How often a follower asks for a job's progress.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// How long a follower keeps asking a daemon that does not answer (a restart), before it
/// leaves the job to the daemon.
const FOLLOW_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Shows `job`'s progress until it is over (its final counts, exit 0 when every item was
/// acted on or skipped) or Ctrl-C, which stops only the waiting.
async fn follow(
    c: &ControlClient,
    mut job: BulkJob,
    mut interrupt: Option<tokio::signal::unix::Signal>,
    json: bool,
) -> Result<(String, ExitCode), ClientError> {
    let bar = indicatif::ProgressBar::new(job.expected.max(job.matched)).with_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:40}] {pos}/{len} matching items ({per_sec}) {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("job {} {}", job.id, job.action.as_str()));
    let mut answered = std::time::Instant::now();
    loop {
        bar.set_length(job.expected.max(job.matched));
        bar.set_position(job.matched);
        bar.set_message(format!(
            "{} changed · {} skipped · {} failed",
            job.changed, job.skipped, job.failed
        ));
        if job.state.is_over() {
            bar.finish_and_clear();
            return Ok(over(&job, json));
        }
        let interrupted = async {
            match interrupt.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = interrupted => {
                bar.abandon();
                eprintln!(
                    "stopped waiting; job {id} goes on in the daemon: `xconnector jobs follow {id}` \
                     follows it, `xconnector jobs cancel {id}` stops it",
                    id = job.id
                );
                let out = if json { pretty(&job) } else { String::new() };
                return Ok((out, ExitCode::from(130)));
            }
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
        match c.get::<BulkJob>(&format!("/v1/jobs/{}", job.id)).await {
            Ok(now) => {
                job = now;
                answered = std::time::Instant::now();
            }
            // A daemon restarting resumes the job; the wait goes on for a while.
            Err(e @ (ClientError::NoDaemon(_) | ClientError::Transport(_)))
                if answered.elapsed() < FOLLOW_PATIENCE =>
            {
                bar.set_message(format!("(the daemon does not answer: {e})"));
            }
            Err(e) => {
                bar.abandon();
                if matches!(e, ClientError::NoDaemon(_) | ClientError::Transport(_)) {
                    eprintln!(
                        "stopped waiting; job {id} goes on when the daemon is back: \
                         `xconnector jobs follow {id}` follows it",
                        id = job.id
                    );
                }
                return Err(e);
            }
        }
    }
}

/// A job that is over: its counts, and the exit status they make.
fn over(job: &BulkJob, json: bool) -> (String, ExitCode) {
    let clean = job.state == JobState::Finished && job.failed == 0;
    let code = if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if json {
        return (pretty(job), code);
    }
    let action = job.action.as_str();
    let mut out = match job.state {
        JobState::Cancelled => format!(
            "{action}: cancelled by {}: {} (job {})\n",
            job.cancelled_by.as_deref().unwrap_or("?"),
            job.counts(),
            job.id
        ),
        JobState::Failed => format!("{action}: failed: {} (job {})\n", job.counts(), job.id),
        _ => format!("{action}: {} (job {})\n", job.counts(), job.id),
    };
    if let (false, Some(e)) = (clean, &job.last_error) {
        let _ = writeln!(out, "last error: {e}");
    }
    if job.action == OperatorAction::Retry && job.skipped > 0 {
        let _ = writeln!(
            out,
            "skipped: items in flight, or finished (done, resolved, cancelled), which a retry \
             re-runs only with --again"
        );
    }
    (out, code)
}

fn job_line(j: &BulkJob) -> String {
    format!(
        "{:>5}  {:<9} {:<8} {:<36} {:>8} {:>8} {:>8} {:>7}  {}\n",
        j.id,
        j.state.as_str(),
        j.action.as_str(),
        j.filter.describe(),
        j.matched,
        j.changed,
        j.skipped,
        j.failed,
        j.user
    )
}

/// A time for people: `2026-11-28 14:03:07 UTC`.
fn when(ms: xconnector_actors::item::Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

pub async fn jobs(socket: &Path, cmd: JobsCommand) -> ExitCode {
    match cmd {
        JobsCommand::List { limit, json } => {
            run(socket, |c| async move {
                let jobs: Vec<BulkJob> = c.get(&format!("/v1/jobs?limit={limit}")).await?;
                if json {
                    return Ok(pretty(&jobs));
                }
                let mut out = format!(
                    "{:>5}  {:<9} {:<8} {:<36} {:>8} {:>8} {:>8} {:>7}  {}\n",
                    "JOB",
                    "STATE",
                    "ACTION",
                    "FILTER",
                    "MATCHED",
                    "CHANGED",
                    "SKIPPED",
                    "FAILED",
                    "BY"
                );
                for j in &jobs {
                    out.push_str(&job_line(j));
                }
                Ok(out)
            })
            .await
        }
        JobsCommand::Show { id, json } => {
            run(socket, |c| async move {
                let j: BulkJob = c.get(&format!("/v1/jobs/{id}")).await?;
                if json {
                    return Ok(pretty(&j));
                }
                let mut out = format!("job {}: {}, {}\n", j.id, j.describe(), j.state);
                let _ = writeln!(out, "started {} by {}", when(j.created_at), j.user);
                if let Some(note) = &j.note {
                    let _ = writeln!(out, "note: {note}");
                }
                let _ = writeln!(out, "{} (of {} when it started)", j.counts(), j.expected);
                if let Some(at) = j.finished_at {
                    let by = j
                        .cancelled_by
                        .as_deref()
                        .map(|w| format!(" by {w}"))
                        .unwrap_or_default();
                    let _ = writeln!(out, "{} {}{by}", j.state, when(at));
                }
                if let Some(e) = &j.last_error {
                    let _ = writeln!(out, "last error: {e}");
                }
                Ok(out)
            })
            .await
        }
        JobsCommand::Follow { id, json } => {
            run_coded(socket, |c| async move {
                let interrupt = interrupt();
                let job: BulkJob = c.get(&format!("/v1/jobs/{id}")).await?;
                follow(&c, job, interrupt, json).await
            })
            .await
        }
        JobsCommand::Cancel { id, json } => {
            run(socket, |c| async move {
                let j: BulkJob = c.post(&format!("/v1/jobs/{id}/cancel"), &json!({})).await?;
                Ok(if json {
                    pretty(&j)
                } else {
                    format!("job {}: cancelled: {}\n", j.id, j.counts())
                })
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
