//! The persistence actor: the single source of truth for work items, over fjall.
//!
//! - [`db`]: the item database (key layout in [`keys`]), synchronous, single writer.
//! - [`writer`]: the thread that owns the database and commits requests in groups with one fsync.
//! - [`actor`]: the ractor face of it, linked into the supervisor tree.
//! - [`handle`]: the typed client every other actor uses.
//! - [`changes`]: what each committed group changed, for live views.
//! - [`rollups`]: report counters per time bucket, each entity counted once.
//! - [`jobs`]: bulk jobs as stored, each step written with the item changes it made.

pub mod actor;
pub mod changes;
mod counted;
pub mod db;
pub mod handle;
pub mod jobs;
pub mod keys;
pub mod messages;
pub mod rollups;
pub mod writer;

pub use actor::StoreActor;
pub use changes::Changes;
pub use db::{ItemDb, ItemFilter, PruneStep, Pruned, Retention, Tuning};
pub use handle::StoreHandle;
pub use jobs::{BulkJob, JobFilter, JobId, JobSpec, JobState};
pub use rollups::{Contribution, Counters, RollupWrite};
pub use writer::{DiskRoom, LastPrune, Pruning, StoreFailure, StoreStats};

use crate::item::{ItemId, ItemState, OperatorAction};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Storage(String),
    #[error("I/O error: {0}")]
    Io(String),
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "the store was written in format {found}, this build reads format {expected}; move the data directory aside or migrate it"
    )]
    Incompatible { found: u64, expected: u64 },
    #[error("item {0} not found")]
    NotFound(ItemId),
    #[error("item {id}: attempt {attempt} no longer holds the lease")]
    StaleLease { id: ItemId, attempt: u32 },
    #[error("item {id} is {state}: cannot {}", action.as_str())]
    InvalidAction {
        id: ItemId,
        action: OperatorAction,
        state: ItemState,
    },
    /// A plain retry of an item whose work is over: it would be done (sent) a second time,
    /// which only [`OperatorAction::RetryAgain`] may ask for.
    #[error("item {id} is {state}: its work is over, and a retry would do it again")]
    RetryOfFinished { id: ItemId, state: ItemState },
    #[error("job {0} not found")]
    JobNotFound(JobId),
    #[error("job {id} is {state}: it cannot be cancelled")]
    JobOver { id: JobId, state: JobState },
    #[error("invalid flow or namespace name {0:?}")]
    BadName(String),
    #[error("the store directory is in use by another xconnector process")]
    Locked,
    #[error("the store cannot write ({0}); nothing is accepted until it can")]
    Failing(String),
    #[error("the store is not running")]
    Unavailable,
    #[error("the store did not answer within {0:?}")]
    Timeout(std::time::Duration),
}

impl From<fjall::Error> for StoreError {
    fn from(e: fjall::Error) -> Self {
        match e {
            fjall::Error::Io(io) => StoreError::Io(io.to_string()),
            fjall::Error::Locked => StoreError::Locked,
            other => StoreError::Storage(other.to_string()),
        }
    }
}

impl StoreError {
    /// Errors after which the database must not be written again: the process should exit and
    /// let systemd restart it (fjall poisons itself after a failed journal write).
    pub fn is_fatal(&self) -> bool {
        matches!(self, StoreError::Storage(_) | StoreError::Io(_))
    }
}
