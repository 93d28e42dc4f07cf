//! Delivery to the back office: the one path every flow uses to hand a record to an ERP, a
//! WMS, a 3PL, a CRM. Each endpoint has a kind ([`http`], [`file`]), a concurrency limit and a
//! circuit [`breaker`]; the outcome of a delivery is a flow [`Outcome`], so the flow's retry
//! policy applies unchanged.

pub mod breaker;
pub mod file;
pub mod http;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use breaker::Breaker;

/// Retries of a flow's delivery: a receiver back from an outage sees its backlog within a
/// minute (its circuit breaker keeps a dead one from being hammered meanwhile).
pub const DELIVERY_BACKOFF: crate::retry::Backoff =
    crate::retry::Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
pub use breaker::{BreakerSettings, Health};
use file::FileSink;

use crate::item::Outcome;
use crate::item::{Millis, now_ms};
mod messages;

use crate::store::StoreHandle;
pub use messages::EndpointMsg;
use tracing::{info, warn};

#[derive(Clone)]
pub struct HttpSpec {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub signing_secret: Option<String>,
    pub timeout: Duration,
}

/// Header values and the secret are credentials: never printed.
impl fmt::Debug for HttpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpSpec")
            .field("url", &self.url)
            .field("headers", &names)
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "***"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFormat {
    Jsonl,
    /// Columns are top-level fields or dotted paths (`customer.email`); `idempotency_key` is the
    /// item id.
    Csv {
        columns: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct FileSpec {
    pub dir: PathBuf,
    pub format: FileFormat,
    /// A file is rotated before it would grow past this; files also rotate daily.
    pub max_bytes: u64,
    /// Permissions of each file written (whatever the process umask), e.g. 0o640.
    pub mode: u32,
}

#[derive(Debug, Clone)]
pub enum EndpointKind {
    Http(HttpSpec),
    File(FileSpec),
}

#[derive(Debug, Clone)]
pub struct EndpointSpec {
    pub name: String,
    pub kind: EndpointKind,
    /// Deliveries in flight at once (a file endpoint always writes one at a time).
    pub concurrency: usize,
    pub breaker: BreakerSettings,
    /// A delivery still failing transiently at this attempt, or this long after its first
    /// attempt, becomes an exception for a person.
    pub max_attempts: u32,
    pub max_age: Duration,
}

/// An endpoint's state as telemetry shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointStatus {
    pub name: String,
    pub health: Health,
    pub in_flight: usize,
    pub delivered: u64,
    pub failed: u64,
    pub rejected: u64,
}

/// The endpoints actor: owns each endpoint's breaker and limits; the deliveries themselves run
/// as tasks so that one slow receiver never holds up another.
pub struct EndpointsActor;

struct Endpoint {
    spec: EndpointSpec,
    permits: Arc<Semaphore>,
    breaker: Breaker,
    /// Only touched inside `spawn_blocking` while holding the endpoint's single permit.
    sink: Option<Arc<Mutex<FileSink>>>,
    status: EndpointStatus,
}

pub struct EndpointsState {
    endpoints: BTreeMap<String, Endpoint>,
    client: reqwest::Client,
    store: Option<StoreHandle>,
}

pub struct EndpointsArgs {
    pub specs: Vec<EndpointSpec>,
    /// Told when an endpoint that was failing answers again, so that the deliveries waiting
    /// out their backoff for it go now.
    pub store: Option<StoreHandle>,
}

impl Actor for EndpointsActor {
    type Msg = EndpointMsg;
    type State = EndpointsState;
    type Arguments = EndpointsArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<EndpointMsg>,
        EndpointsArgs { specs, store }: EndpointsArgs,
    ) -> Result<EndpointsState, ActorProcessingErr> {
        let client = crate::http_client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let endpoints = specs
            .into_iter()
            .map(|spec| {
                let (permits, sink) = match &spec.kind {
                    EndpointKind::Http(_) => (spec.concurrency.max(1), None),
                    EndpointKind::File(f) => (
                        1,
                        Some(Arc::new(Mutex::new(FileSink::new(&spec.name, f.clone())))),
                    ),
                };
                let status = EndpointStatus {
                    name: spec.name.clone(),
                    health: Health::Up,
                    in_flight: 0,
                    delivered: 0,
                    failed: 0,
                    rejected: 0,
                };
                let breaker = Breaker::new(spec.breaker);
                (
                    spec.name.clone(),
                    Endpoint {
                        spec,
                        permits: Arc::new(Semaphore::new(permits)),
                        breaker,
                        sink,
                        status,
                    },
                )
            })
            .collect();
        Ok(EndpointsState {
            endpoints,
            client,
            store,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<EndpointMsg>,
        msg: EndpointMsg,
        st: &mut EndpointsState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            EndpointMsg::Deliver {
                endpoint,
                key,
                body,
                attempt,
                since,
                reply,
            } => {
                let Some(ep) = st.endpoints.get_mut(&endpoint) else {
                    let _ = reply.send(Outcome::Exception {
                        reason: format!("no endpoint named {endpoint:?} is configured"),
                    });
                    return Ok(());
                };
                let limits = GiveUp {
                    attempt,
                    since,
                    max_attempts: ep.spec.max_attempts,
                    max_age: ep.spec.max_age,
                };
                if let Err(wait) = ep.breaker.allow(Instant::now()) {
                    let _ = reply.send(limits.apply(Outcome::Retry {
                        error: format!("{endpoint}: circuit open after repeated failures"),
                        after: Some(wait),
                    }));
                    return Ok(());
                }
                ep.status.in_flight += 1;
                let (permits, client, kind, sink) = (
                    ep.permits.clone(),
                    st.client.clone(),
                    ep.spec.kind.clone(),
                    ep.sink.clone(),
                );
                tokio::spawn(async move {
                    let outcome = match permits.acquire_owned().await {
                        Ok(_permit) => deliver(&client, &endpoint, &kind, sink, &key, body).await,
                        Err(_) => Outcome::Retry {
                            error: format!("{endpoint}: shutting down"),
                            after: None,
                        },
                    };
                    let _ = myself.cast(EndpointMsg::Finished {
                        endpoint,
                        outcome: outcome.clone(),
                    });
                    let _ = reply.send(limits.apply(outcome));
                });
            }
            EndpointMsg::Finished { endpoint, outcome } => {
                if let Some(ep) = st.endpoints.get_mut(&endpoint) {
                    ep.status.in_flight = ep.status.in_flight.saturating_sub(1);
                    let up = !matches!(outcome, Outcome::Retry { .. });
                    match outcome {
                        Outcome::Done | Outcome::Noted { .. } => ep.status.delivered += 1,
                        Outcome::Retry { .. } => ep.status.failed += 1,
                        Outcome::Exception { .. } => ep.status.rejected += 1,
                    }
                    ep.breaker.record(Instant::now(), up);
                    let was = ep.status.health;
                    ep.status.health = ep.breaker.health();
                    if was != Health::Up && ep.status.health == Health::Up {
                        info!(%endpoint, "endpoint answers again; its waiting deliveries go now");
                        if let Some(store) = st.store.clone() {
                            let prefix = format!("{endpoint}:");
                            tokio::spawn(async move {
                                if let Err(e) = store.wake(&prefix).await {
                                    warn!(error = %e, "cannot wake the deliveries waiting for an endpoint");
                                }
                            });
                        }
                    }
                }
            }
            EndpointMsg::Status(reply) => {
                let _ = reply.send(st.endpoints.values().map(|e| e.status.clone()).collect());
            }
        }
        Ok(())
    }
}

/// An endpoint's limits on one delivery's retries.
struct GiveUp {
    attempt: u32,
    since: Millis,
    max_attempts: u32,
    max_age: Duration,
}

impl GiveUp {
    fn apply(&self, outcome: Outcome) -> Outcome {
        let Outcome::Retry { error, after } = outcome else {
            return outcome;
        };
        let age = Duration::from_millis(now_ms().saturating_sub(self.since));
        if self.attempt >= self.max_attempts || age >= self.max_age {
            Outcome::Exception {
                reason: format!(
                    "gave up after {} attempts over {}s: {error}",
                    self.attempt,
                    age.as_secs()
                ),
            }
        } else {
            Outcome::Retry { error, after }
        }
    }
}

async fn deliver(
    client: &reqwest::Client,
    endpoint: &str,
    kind: &EndpointKind,
    sink: Option<Arc<Mutex<FileSink>>>,
    key: &str,
    body: Vec<u8>,
) -> Outcome {
    match (kind, sink) {
        (EndpointKind::Http(spec), _) => http::deliver(client, endpoint, spec, key, &body).await,
        (EndpointKind::File(_), Some(sink)) => {
            let (endpoint, key) = (endpoint.to_string(), key.to_string());
            let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
            let written = tokio::task::spawn_blocking(move || {
                let mut sink = sink
                    .lock()
                    .map_err(|_| std::io::Error::other("file sink poisoned"))?;
                sink.append(&key, &body, &today)
            })
            .await;
            match written {
                Ok(Ok(_)) => Outcome::Done,
                Ok(Err(e))
                    if e.kind() == std::io::ErrorKind::Other
                        && e.get_ref().is_some_and(|r| r.is::<serde_json::Error>()) =>
                {
                    Outcome::Exception {
                        reason: format!("{endpoint}: the record is not JSON: {e}"),
                    }
                }
                Ok(Err(e)) => Outcome::Retry {
                    error: format!("{endpoint}: cannot write the file: {e}"),
                    after: None,
                },
                Err(e) => Outcome::Retry {
                    error: format!("{endpoint}: file writer failed: {e}"),
                    after: None,
                },
            }
        }
        (EndpointKind::File(_), None) => Outcome::Exception {
            reason: format!("{endpoint}: file endpoint without a writer"),
        },
    }
}

/// The typed client of the endpoints actor. It finds the actor by its registered name on
/// every call, so a restarted actor is reached through the same handle.
#[derive(Clone, Debug)]
pub struct EndpointsHandle {
    name: Arc<str>,
}

impl EndpointsHandle {
    /// A handle on the endpoints actor registered as `name`.
    pub fn named(name: impl Into<Arc<str>>) -> EndpointsHandle {
        EndpointsHandle { name: name.into() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn actor(&self) -> Option<ActorRef<EndpointMsg>> {
        ActorRef::where_is(&*self.name)
    }

    /// Delivers `body` (canonical JSON) to `endpoint` with `key` as its idempotency key, as a
    /// first attempt.
    pub async fn deliver(&self, endpoint: &str, key: &str, body: Vec<u8>) -> Outcome {
        self.deliver_attempt(endpoint, key, body, 1, now_ms()).await
    }

    /// Delivers as attempt `attempt` of a delivery first tried at `since`, so that the
    /// endpoint's `max_attempts` and `max_age` apply.
    pub async fn deliver_attempt(
        &self,
        endpoint: &str,
        key: &str,
        body: Vec<u8>,
        attempt: u32,
        since: Millis,
    ) -> Outcome {
        let Some(actor) = self.actor() else {
            return Outcome::Retry {
                error: "the endpoints actor is not running".into(),
                after: None,
            };
        };
        let (endpoint, key) = (endpoint.to_string(), key.to_string());
        let build = |reply: RpcReplyPort<Outcome>| EndpointMsg::Deliver {
            endpoint,
            key,
            body,
            attempt,
            since,
            reply,
        };
        // The HTTP timeout bounds the wait; this only guards against a lost actor.
        match actor.call(build, Some(Duration::from_secs(600))).await {
            Ok(CallResult::Success(outcome)) => outcome,
            _ => Outcome::Retry {
                error: "the endpoints actor is not running".into(),
                after: None,
            },
        }
    }

    pub async fn status(&self) -> Vec<EndpointStatus> {
        let Some(actor) = self.actor() else {
            return Vec::new();
        };
        match actor
            .call(EndpointMsg::Status, Some(Duration::from_secs(5)))
            .await
        {
            Ok(CallResult::Success(s)) => s,
            _ => Vec::new(),
        }
    }
}
