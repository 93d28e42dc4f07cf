//! The store as an actor in the supervisor tree. It forwards every request to the writer thread
//! (fjall I/O is blocking and must not stall tokio's workers) without waiting, so requests from
//! many actors pile up in the writer's queue and share one fsync.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::{error, info};

use super::messages::StoreMsg;
use super::writer::{Pruning, Writer};
use super::{ItemDb, StoreError};

pub struct StoreActor;

pub struct StoreState {
    tx: Option<mpsc::Sender<StoreMsg>>,
    thread: Option<JoinHandle<Result<(), StoreError>>>,
}

impl Actor for StoreActor {
    type Msg = StoreMsg;
    type State = StoreState;
    type Arguments = (PathBuf, Pruning);

    async fn pre_start(
        &self,
        myself: ActorRef<StoreMsg>,
        (dir, pruning): (PathBuf, Pruning),
    ) -> Result<StoreState, ActorProcessingErr> {
        let shown = dir.display().to_string();
        let writer_dir = dir.clone();
        let tuning = pruning.tuning;
        let db = tokio::task::spawn_blocking(move || ItemDb::open_tuned(&dir, tuning))
            .await
            .map_err(|e| format!("opening the store panicked: {e}"))?
            .map_err(|e| format!("cannot open the store in {shown}: {e}"))?;
        info!(dir = %shown, "store open");
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("xc-store-writer".into())
            .spawn(move || {
                // Storage failures are handled inside (refuse, reopen); what comes out is the
                // final sync at shutdown failing.
                let result = Writer::new(writer_dir, pruning).run(db, rx);
                if let Err(e) = &result {
                    error!(error = %e, "the store's last writes could not be made durable");
                    myself.stop(Some(format!("storage failure: {e}")));
                }
                result
            })?;
        Ok(StoreState {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<StoreMsg>,
        msg: StoreMsg,
        state: &mut StoreState,
    ) -> Result<(), ActorProcessingErr> {
        let Some(tx) = &state.tx else {
            return Err("store writer is closed".into());
        };
        // The writer only goes away after a storage failure; its own error says why.
        tx.send(msg)
            .map_err(|_| "store writer has stopped after a storage failure")?;
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<StoreMsg>,
        state: &mut StoreState,
    ) -> Result<(), ActorProcessingErr> {
        // Closing the channel lets the writer finish what is queued and make it durable.
        state.tx.take();
        if let Some(thread) = state.thread.take() {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await?;
            match joined {
                Ok(Ok(())) => info!("store closed"),
                Ok(Err(e)) => error!(error = %e, "store closed after a storage failure"),
                Err(_) => error!("store writer panicked"),
            }
        }
        Ok(())
    }
}
