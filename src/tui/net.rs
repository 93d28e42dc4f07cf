//! The TUI's connection to the daemon, off the UI task: a subscription to the control API's
//! event stream (status, item changes, log lines), re-opened whenever it breaks (a restarted
//! daemon is picked up on its own), and a worker that carries out requests. The UI never waits
//! on either. A daemon without the stream (an older build) is polled instead.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::app::{Reply, Request};
use super::components::reports::{Kind, Report};
use xconnector_actors::store::BulkJob;

use crate::control::api::{ItemDetail, ItemPage, Status};
use crate::control::client::{ClientError, ControlClient, Sse};
use crate::logging::LogLine;

/// How long to wait before trying a lost daemon again, and the fallback poll's period.
const RETRY: Duration = Duration::from_millis(500);

pub fn spawn(
    socket: PathBuf,
    replies: UnboundedSender<Reply>,
) -> anyhow::Result<UnboundedSender<Request>> {
    let client = Arc::new(ControlClient::new(&socket)?);
    let (tx, mut requests) = unbounded_channel::<Request>();
    tokio::spawn(watch(client.clone(), replies.clone()));
    tokio::spawn(async move {
        while let Some(req) = requests.recv().await {
            let (client, replies) = (client.clone(), replies.clone());
            tokio::spawn(async move {
                let _ = replies.send(perform(&client, req).await);
            });
        }
    });
    Ok(tx)
}

/// Follows the daemon until the UI goes away.
async fn watch(client: Arc<ControlClient>, replies: UnboundedSender<Reply>) {
    loop {
        let why = match client.events().await {
            Ok(stream) => {
                if replies.send(Reply::Connected).is_err() {
                    return;
                }
                match follow(stream, &replies).await {
                    Some(why) => why,
                    None => return,
                }
            }
            Err(ClientError::Api { status: 404, .. }) => return poll(&client, &replies).await,
            Err(e) => short(&e),
        };
        if replies.send(Reply::Disconnected(why)).is_err() {
            return;
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Passes the stream's events on; returns why it ended, or `None` when the UI is gone.
async fn follow(mut stream: Sse, replies: &UnboundedSender<Reply>) -> Option<String> {
    loop {
        let (name, data) = match stream.next().await {
            Ok(Some(event)) => event,
            Ok(None) => return Some("the daemon closed the connection".into()),
            Err(e) => return Some(short(&e)),
        };
        let reply = match name.as_str() {
            "status" => serde_json::from_str(&data).map(Reply::Status),
            "items" => serde_json::from_str(&data).map(Reply::Changes),
            "log" => serde_json::from_str(&data).map(Reply::Logs),
            "error" => Ok(Reply::Failed(data)),
            _ => continue,
        };
        let reply = reply.unwrap_or_else(|e| Reply::Failed(format!("{name} event: {e}")));
        replies.send(reply).ok()?;
    }
}

/// The fallback: status and log lines every [`RETRY`], for a daemon without `/v1/events`.
async fn poll(client: &ControlClient, replies: &UnboundedSender<Reply>) {
    let mut tick = tokio::time::interval(RETRY);
    let mut last_log = 0;
    loop {
        tick.tick().await;
        let reply = match client.get::<Status>("/v1/status").await {
            Ok(s) => Reply::Status(s),
            Err(e) => Reply::Disconnected(short(&e)),
        };
        let up = matches!(reply, Reply::Status(_));
        if replies.send(reply).is_err() {
            return;
        }
        if up
            && let Ok(lines) = client
                .get::<Vec<LogLine>>(&format!("/v1/logs?after={last_log}"))
                .await
        {
            last_log = lines.last().map(|l| l.seq).unwrap_or(last_log);
            if !lines.is_empty() && replies.send(Reply::Logs(lines)).is_err() {
                return;
            }
        }
    }
}

fn short(e: &ClientError) -> String {
    match e {
        ClientError::NoDaemon(path) => format!("no daemon on {}", path.display()),
        other => other.to_string(),
    }
}

async fn perform(c: &ControlClient, req: Request) -> Reply {
    let result = match req {
        Request::List { list, query } => c
            .get::<ItemPage>(&format!("/v1/items?{query}"))
            .await
            .map(|page| Reply::Page { list, page }),
        Request::Show(id) => c
            .get::<ItemDetail>(&format!("/v1/items/{id}"))
            .await
            .map(Reply::Detail),
        Request::Act { action, ids, note } => {
            let mut done = 0;
            let mut failure = None;
            for id in &ids {
                match c
                    .post::<serde_json::Value>(
                        &format!("/v1/items/{id}/{}", action.as_str()),
                        &json!({ "note": note }),
                    )
                    .await
                {
                    Ok(_) => done += 1,
                    Err(e) => failure = Some(format!("item {id}: {e}")),
                }
            }
            return match failure {
                None => Reply::Done(format!("{}: {done} item(s)", action.as_str())),
                Some(f) => Reply::Failed(format!(
                    "{}: {done} of {} done; {f}",
                    action.as_str(),
                    ids.len()
                )),
            };
        }
        Request::Bulk {
            action,
            flow,
            state,
            note,
        } => c
            .post::<BulkJob>(
                &format!("/v1/bulk/{}", action.as_str()),
                &json!({ "flow": flow, "state": state, "note": note }),
            )
            .await
            .map(|job| Reply::Bulk { action, job }),
        Request::Flow { name, pause } => {
            let verb = if pause { "pause" } else { "resume" };
            c.post::<serde_json::Value>(&format!("/v1/flows/{name}/{verb}"), &json!({}))
                .await
                .map(|_| Reply::Done(format!("{name}: {verb}d")))
        }
        Request::Report { path } => {
            // Its failure belongs to the reports view, not to the message line.
            let report = match Kind::of_path(&path) {
                Some(Kind::Sales) => c.get(&path).await.map(Report::Sales),
                Some(Kind::Fulfilment) => c.get(&path).await.map(Report::Fulfilment),
                Some(Kind::Health) => c.get(&path).await.map(Report::Health),
                Some(Kind::Inventory) => c.get(&path).await.map(Report::Inventory),
                Some(Kind::Customers) => c.get(&path).await.map(Report::Customers),
                None => {
                    return Reply::Report {
                        report: Err(format!("{path} is not a report")),
                        path,
                    };
                }
            }
            .map_err(|e| short(&e));
            return Reply::Report { path, report };
        }
    };
    result.unwrap_or_else(|e| Reply::Failed(e.to_string()))
}
