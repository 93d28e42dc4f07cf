//! The engine as the binary sees it: start the actor tree, ask it things, shut it down.

use std::path::PathBuf;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorRef, RpcReplyPort};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::endpoints::EndpointSpec;
use crate::flows::FlowSpec;
use crate::flows::{FlowMsg, FlowStatus};
use crate::jobs::{JobPace, Jobs};
use crate::shopify::{ShopifyClientConfig, ShopifyHandle};
use crate::store::{Pruning, StoreHandle};
use crate::supervisor::{RestartPolicy, Supervisor, SupervisorArgs, startup_error};
use crate::supervisor::{ShutdownReport, SupervisorMsg};
use crate::telemetry::Snapshot;
use crate::telemetry::TelemetryMsg;

pub struct EngineConfig {
    pub store_dir: PathBuf,
    /// How the store retires finished work (by default: never).
    pub pruning: Pruning,
    pub flows: Vec<FlowSpec>,
    pub policy: RestartPolicy,
    /// The shop to talk to; `None` runs without Shopify (flows then get no client).
    pub shopify: Option<ShopifyClientConfig>,
    /// The back office's endpoints, which flows deliver to.
    pub endpoints: Vec<EndpointSpec>,
    /// How fast bulk jobs go.
    pub jobs: JobPace,
}

impl EngineConfig {
    /// An engine with `flows` over the store in `store_dir`, without Shopify or endpoints.
    pub fn new(store_dir: impl Into<PathBuf>, flows: Vec<FlowSpec>) -> EngineConfig {
        EngineConfig {
            store_dir: store_dir.into(),
            pruning: Pruning::default(),
            flows,
            policy: RestartPolicy::default(),
            shopify: None,
            endpoints: Vec::new(),
            jobs: JobPace::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start: {0}")]
    Start(String),
    #[error("the engine is not running")]
    Stopped,
    #[error("the engine did not answer within {0:?}")]
    Timeout(Duration),
    #[error("unknown flow {0:?}")]
    UnknownFlow(String),
}

pub struct Engine {
    supervisor: ActorRef<SupervisorMsg>,
    store: StoreHandle,
    shopify: Option<ShopifyHandle>,
    jobs: Jobs,
}

/// Resolves when the supervisor gives up (an actor failed too often, the store failed), with
/// its reason; the daemon then shuts down and exits non-zero.
pub struct Fatal(UnboundedReceiver<String>);

impl Fatal {
    pub async fn wait(&mut self) -> String {
        self.0
            .recv()
            .await
            .unwrap_or_else(|| "the supervisor stopped".to_string())
    }
}

/// How long a query of the engine may take before the caller reports it as unresponsive.
const ASK: Duration = Duration::from_secs(5);

impl Engine {
    /// Opens the store and starts every actor. Returns once all are running.
    pub async fn start(config: EngineConfig) -> Result<(Engine, Fatal), EngineError> {
        let (fatal_tx, fatal) = unbounded_channel();
        let args = SupervisorArgs {
            store_dir: config.store_dir,
            pruning: config.pruning,
            flows: config.flows,
            policy: config.policy,
            fatal: fatal_tx,
            shopify: config.shopify,
            endpoints: config.endpoints,
        };
        let (supervisor, _) = Actor::spawn(None, Supervisor, args)
            .await
            .map_err(|e| EngineError::Start(startup_error(&e)))?;
        let store = ask(&supervisor, SupervisorMsg::Store).await?;
        let shopify = ask(&supervisor, SupervisorMsg::Shopify).await?;
        let jobs = Jobs::new(store.clone(), config.jobs);
        if let Err(e) = jobs.resume().await {
            tracing::warn!(error = %e, "bulk jobs not resumed; they resume at the next start");
        }
        Ok((
            Engine {
                supervisor,
                store,
                shopify,
                jobs,
            },
            Fatal(fatal),
        ))
    }

    pub fn store(&self) -> &StoreHandle {
        &self.store
    }

    /// Bulk jobs: start, cancel (reads go to the store).
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// The Shopify client, when configured; valid across restarts of its actors.
    pub fn shopify(&self) -> Option<&ShopifyHandle> {
        self.shopify.as_ref()
    }

    pub async fn snapshot(&self) -> Result<Snapshot, EngineError> {
        let telemetry: ActorRef<TelemetryMsg> =
            ask(&self.supervisor, SupervisorMsg::Telemetry).await?;
        ask(&telemetry, TelemetryMsg::Snapshot).await
    }

    pub async fn flows(&self) -> Result<Vec<String>, EngineError> {
        ask(&self.supervisor, SupervisorMsg::Flows).await
    }

    pub async fn pause(&self, flow: &str) -> Result<(), EngineError> {
        self.to_flow(flow, FlowMsg::Pause).await
    }

    pub async fn resume(&self, flow: &str) -> Result<(), EngineError> {
        self.to_flow(flow, FlowMsg::Resume).await
    }

    pub async fn flow_status(&self, flow: &str) -> Result<FlowStatus, EngineError> {
        self.check_flow(flow).await?;
        let flow = flow.to_string();
        match self
            .supervisor
            .call(
                |reply| SupervisorMsg::ToFlow {
                    flow,
                    msg: FlowMsg::Status(reply),
                },
                Some(ASK),
            )
            .await
        {
            Ok(CallResult::Success(s)) => Ok(s),
            Ok(CallResult::Timeout) => Err(EngineError::Timeout(ASK)),
            _ => Err(EngineError::Stopped),
        }
    }

    async fn to_flow(&self, flow: &str, msg: FlowMsg) -> Result<(), EngineError> {
        self.check_flow(flow).await?;
        self.supervisor
            .cast(SupervisorMsg::ToFlow {
                flow: flow.to_string(),
                msg,
            })
            .map_err(|_| EngineError::Stopped)
    }

    async fn check_flow(&self, flow: &str) -> Result<(), EngineError> {
        if self.flows().await?.iter().any(|f| f == flow) {
            Ok(())
        } else {
            Err(EngineError::UnknownFlow(flow.to_string()))
        }
    }

    /// Stops taking new work, lets in-flight items finish for up to `grace`, makes the rest due
    /// again, and closes the store durably. When it returns, the store is closed.
    pub async fn shutdown(&self, grace: Duration) -> Result<ShutdownReport, EngineError> {
        self.jobs.stop();
        let limit = grace + Duration::from_secs(60);
        match self
            .supervisor
            .call(
                |reply| SupervisorMsg::Shutdown { grace, reply },
                Some(limit),
            )
            .await
        {
            Ok(CallResult::Success(r)) => Ok(r),
            Ok(CallResult::Timeout) => Err(EngineError::Timeout(limit)),
            _ => Err(EngineError::Stopped),
        }
    }
}

async fn ask<M: ractor::Message, T: Send + 'static>(
    actor: &ActorRef<M>,
    build: impl FnOnce(RpcReplyPort<T>) -> M,
) -> Result<T, EngineError> {
    match actor.call(build, Some(ASK)).await {
        Ok(CallResult::Success(v)) => Ok(v),
        Ok(CallResult::Timeout) => Err(EngineError::Timeout(ASK)),
        _ => Err(EngineError::Stopped),
    }
}

/// An engine with no flows over a store in a fresh temporary directory, for unit tests of
/// what flows keep in the store.
#[cfg(test)]
pub(crate) struct TestStore {
    pub engine: Engine,
    _fatal: Fatal,
    _dir: tempfile::TempDir,
}

#[cfg(test)]
impl TestStore {
    pub async fn start() -> TestStore {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (engine, fatal) = Engine::start(EngineConfig::new(dir.path(), Vec::new()))
            .await
            .expect("an engine over an empty store");
        TestStore {
            engine,
            _fatal: fatal,
            _dir: dir,
        }
    }

    pub fn store(&self) -> &StoreHandle {
        self.engine.store()
    }
}
