//! The TUI's connection to the daemon, off the UI task: a status poll that notices a lost
//! daemon and keeps trying, and a worker that carries out requests. The UI never waits on it.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::app::{Reply, Request};
use xconnector_actors::store::BulkJob;

use crate::control::api::{ItemDetail, ItemPage, Status};
use crate::control::client::{ClientError, ControlClient};
use crate::logging::LogLine;

/// Status refreshes per second are at most 1/this; the control API allows 10.
const POLL: Duration = Duration::from_millis(500);

pub fn spawn(
    socket: PathBuf,
    replies: UnboundedSender<Reply>,
) -> anyhow::Result<UnboundedSender<Request>> {
    let client = std::sync::Arc::new(ControlClient::new(&socket)?);
    let (tx, mut requests) = unbounded_channel::<Request>();
    let poll_client = client.clone();
    let poll_replies = replies.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        let mut last_log = 0;
        loop {
            tick.tick().await;
            let reply = match poll_client.get::<Status>("/v1/status").await {
                Ok(s) => Reply::Status(s),
                Err(e) => Reply::Disconnected(short(&e)),
            };
            let up = matches!(reply, Reply::Status(_));
            if poll_replies.send(reply).is_err() {
                return;
            }
            if up
                && let Ok(lines) = poll_client
                    .get::<Vec<LogLine>>(&format!("/v1/logs?after={last_log}"))
                    .await
            {
                // A restarted daemon numbers from 1 again.
                if lines.first().is_some_and(|l| l.seq <= last_log) {
                    last_log = 0;
                }
                last_log = lines.last().map(|l| l.seq).unwrap_or(last_log);
                if !lines.is_empty() && poll_replies.send(Reply::Logs(lines)).is_err() {
                    return;
                }
            }
        }
    });
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
    };
    result.unwrap_or_else(|e| Reply::Failed(e.to_string()))
}
