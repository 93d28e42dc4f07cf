//! Bulk jobs as the store keeps them: an operator's retry, resolve or cancel of every item
//! matching a filter, done a page at a time by [`ItemDb::job_step`](super::ItemDb::job_step).
//!
//! A job's progress (the last item it looked at and its counts) is written in the same batch
//! as the page's item changes, so a crash at any moment leaves both or neither: a resumed job
//! neither repeats an item nor miscounts one. The job's start and end are audited in the batch
//! that starts or ends it, for the same reason.

use serde::{Deserialize, Serialize};

use crate::item::{ItemId, ItemState, Millis, OperatorAction};

/// Jobs are numbered from 1 by the store, in the order they were started.
pub type JobId = u64;

/// Where a job is in its life. Cancelling takes effect at once: steps are applied one at a time
/// by the store's writer, so once a cancel is written no later step changes an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    /// Every matching item was looked at.
    Finished,
    Cancelled,
    /// Stopped by an error of the store (see `last_error`); what it did is counted.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Cancelled => "cancelled",
            JobState::Failed => "failed",
        }
    }

    pub fn is_over(self) -> bool {
        self != JobState::Running
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which items a job acts on: those of `flow` in `state` (either may be left out, not both).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFilter {
    pub flow: Option<String>,
    pub state: Option<ItemState>,
}

impl JobFilter {
    /// `flow orders, state exception`, for the audit log and the CLI.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(f) = &self.flow {
            parts.push(format!("flow {f}"));
        }
        if let Some(s) = self.state {
            parts.push(format!("state {s}"));
        }
        if parts.is_empty() {
            "every item".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// What an operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    pub action: OperatorAction,
    pub filter: JobFilter,
    /// Why, for the items' history and the audit log.
    pub note: Option<String>,
    /// The OS user who asked, recorded with every change the job makes.
    pub user: String,
}

/// A bulk job and its progress, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkJob {
    pub id: JobId,
    pub action: OperatorAction,
    pub filter: JobFilter,
    pub note: Option<String>,
    pub user: String,
    pub created_at: Millis,
    pub state: JobState,
    /// How many items matched the filter when the job started: the length of a progress bar.
    /// Items that move into or out of the filter meanwhile make `matched` differ from it.
    pub expected: u64,
    /// Items looked at so far: `changed + skipped + failed`.
    pub matched: u64,
    pub changed: u64,
    /// Items whose state no longer allowed the action when their turn came (an item in flight,
    /// an exception already resolved by hand), and finished items a plain retry leaves alone.
    pub skipped: u64,
    pub failed: u64,
    /// The last item looked at; the next step starts after it.
    pub after: Option<ItemId>,
    /// The first id the store had not handed out when the job started: items created later
    /// are not the job's, so a filter that keeps gaining items still ends.
    pub until: ItemId,
    pub finished_at: Option<Millis>,
    /// Who cancelled it, when someone did.
    #[serde(default)]
    pub cancelled_by: Option<String>,
    /// The last error: of an item that failed, or of the store when the job failed.
    pub last_error: Option<String>,
}

impl BulkJob {
    /// `resolve of flow orders, state exception`.
    pub fn describe(&self) -> String {
        format!("{} of {}", self.action.as_str(), self.filter.describe())
    }

    /// `30000 changed, 0 skipped, 0 failed of 30000 matching items`.
    pub fn counts(&self) -> String {
        format!(
            "{} changed, {} skipped, {} failed of {} matching items",
            self.changed, self.skipped, self.failed, self.matched
        )
    }
}
