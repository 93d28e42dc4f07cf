//! Bulk jobs run by the daemon: an operator's retry, resolve or cancel of every item matching a
//! filter, however many there are, done a page at a time until the end. Nobody has to wait for
//! it: the job is stored before it is acknowledged, each page is one durable write together with
//! the job's progress (see [`crate::store::jobs`]), and a job that was running when the daemon
//! stopped or died goes on from its last page at the next start.
//!
//! A runner is one tokio task per running job; it only drives the steps, every decision about an
//! item is the store's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::retry::Backoff;
use crate::store::{BulkJob, JobId, JobSpec, StoreError, StoreHandle};

/// How fast a job goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobPace {
    /// Items one step acts on: one durable write each, and the longest a step holds back the
    /// writes (webhooks, completions) queued behind it.
    pub batch: usize,
    /// A rest between two steps, leaving the store to the flows while a large job runs.
    pub pause: Duration,
}

impl Default for JobPace {
    fn default() -> Self {
        JobPace {
            batch: 500,
            pause: Duration::ZERO,
        }
    }
}

/// While the store cannot write (disk full, a timeout), a runner waits and tries the same
/// step again: the job is not failed for what the store recovers from by itself.
const WAIT: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));

/// The daemon's bulk jobs: starts them, cancels them, resumes those a restart interrupted.
#[derive(Clone)]
pub struct Jobs {
    store: StoreHandle,
    pace: JobPace,
    /// The runner of each job started or resumed by this process; stopped at shutdown (the
    /// store keeps where each job is).
    runners: Arc<Mutex<BTreeMap<JobId, JoinHandle<()>>>>,
}

impl Jobs {
    pub fn new(store: StoreHandle, pace: JobPace) -> Jobs {
        Jobs {
            store,
            pace,
            runners: Arc::default(),
        }
    }

    /// Starts a runner for every job the store has as running: those a restart interrupted.
    pub async fn resume(&self) -> Result<usize, StoreError> {
        let running = self.store.running_jobs().await?;
        for job in &running {
            info!(job = job.id, action = job.action.as_str(), filter = %job.filter.describe(),
                matched = job.matched, "bulk job resumed where it stopped");
            self.spawn(job.id);
        }
        Ok(running.len())
    }

    /// Stores the job (answered once it is durable and audited) and runs it to the end.
    pub async fn start(&self, spec: JobSpec) -> Result<BulkJob, StoreError> {
        let job = self.store.create_job(spec).await?;
        info!(job = job.id, action = job.action.as_str(), filter = %job.filter.describe(),
            expected = job.expected, user = %job.user, "bulk job started");
        self.spawn(job.id);
        Ok(job)
    }

    /// Cancels a running job: its runner sees it at its next step and stops.
    pub async fn cancel(&self, id: JobId, who: &str) -> Result<BulkJob, StoreError> {
        let job = self.store.cancel_job(id, who).await?;
        info!(
            job = id,
            by = who,
            changed = job.changed,
            skipped = job.skipped,
            failed = job.failed,
            "bulk job cancelled"
        );
        Ok(job)
    }

    /// Stops every runner (at shutdown, before the store closes); the jobs stay running in the
    /// store and resume at the next start.
    pub fn stop(&self) {
        let mut runners = self.runners.lock().unwrap_or_else(PoisonError::into_inner);
        for (_, runner) in std::mem::take(&mut *runners) {
            runner.abort();
        }
    }

    fn spawn(&self, id: JobId) {
        let mut runners = self.runners.lock().unwrap_or_else(PoisonError::into_inner);
        runners.retain(|_, r| !r.is_finished());
        if runners.contains_key(&id) {
            return;
        }
        let runner = tokio::spawn(run(self.store.clone(), self.pace, id));
        runners.insert(id, runner);
    }
}

/// Steps job `id` until it is over.
async fn run(store: StoreHandle, pace: JobPace, id: JobId) {
    let mut failures = 0;
    loop {
        match store.job_step(id, pace.batch).await {
            Ok(job) if job.state.is_over() => {
                info!(
                    job = id,
                    state = job.state.as_str(),
                    matched = job.matched,
                    changed = job.changed,
                    skipped = job.skipped,
                    failed = job.failed,
                    "bulk job over"
                );
                return;
            }
            Ok(_) => {
                failures = 0;
                if pace.pause.is_zero() {
                    // Other tasks (the control socket answering progress) get their turn.
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(pace.pause).await;
                }
            }
            // The store stopped (shutdown) or the job is gone: nothing to drive.
            Err(StoreError::Unavailable | StoreError::JobNotFound(_)) => return,
            Err(e)
                if e.is_fatal() || matches!(e, StoreError::Failing(_) | StoreError::Timeout(_)) =>
            {
                failures += 1;
                if failures == 1 {
                    warn!(job = id, error = %e, "bulk job waits for the store");
                }
                tokio::time::sleep(WAIT.delay(failures)).await;
            }
            Err(e) => {
                error!(job = id, error = %e, "bulk job cannot go on");
                if let Err(again) = store.fail_job(id, e.to_string()).await {
                    error!(job = id, error = %again, "bulk job could not be marked failed; it resumes at the next start");
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::TestStore;
    use crate::item::{ItemState, NewItem, OperatorAction};
    use crate::store::{JobFilter, JobState};

    async fn held(store: &StoreHandle, n: usize) {
        let items = (0..n)
            .map(|i| NewItem::new("orders", "k", format!("#{i}"), vec![]).held("bad"))
            .collect();
        store.enqueue(items).await.unwrap();
    }

    fn spec() -> JobSpec {
        JobSpec {
            action: OperatorAction::Resolve,
            filter: JobFilter {
                flow: Some("orders".into()),
                state: Some(ItemState::Exception),
            },
            note: None,
            user: "alice".into(),
        }
    }

    async fn until_over(store: &StoreHandle, id: JobId) -> BulkJob {
        for _ in 0..2_000 {
            let job = store.job(id).await.unwrap().unwrap();
            if job.state.is_over() {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("job {id} did not end");
    }

    #[tokio::test]
    async fn a_started_job_runs_to_the_end_without_anyone_waiting() {
        let t = TestStore::start().await;
        held(t.store(), 1_200).await;
        let jobs = Jobs::new(
            t.store().clone(),
            JobPace {
                batch: 100,
                pause: Duration::ZERO,
            },
        );
        let job = jobs.start(spec()).await.unwrap();
        assert_eq!((job.state, job.expected), (JobState::Running, 1_200));
        let job = until_over(t.store(), job.id).await;
        assert_eq!(
            (job.state, job.changed, job.matched),
            (JobState::Finished, 1_200, 1_200)
        );
    }

    #[tokio::test]
    async fn a_job_the_store_has_as_running_is_resumed_and_a_cancel_stops_it() {
        let t = TestStore::start().await;
        held(t.store(), 300).await;
        // As a restart finds it: running in the store, no runner.
        let stored = t.store().create_job(spec()).await.unwrap();
        let slow = Jobs::new(
            t.store().clone(),
            JobPace {
                batch: 1,
                pause: Duration::from_secs(3600),
            },
        );
        assert_eq!(slow.resume().await.unwrap(), 1);
        let cancelled = slow.cancel(stored.id, "bob").await.unwrap();
        assert_eq!(cancelled.state, JobState::Cancelled);
        assert!(cancelled.changed <= 1, "one step at most before the pause");
        slow.stop();
        let fast = Jobs::new(t.store().clone(), JobPace::default());
        assert_eq!(
            fast.resume().await.unwrap(),
            0,
            "a cancelled job stays over"
        );
        assert!(matches!(
            fast.cancel(stored.id, "bob").await,
            Err(StoreError::JobOver { .. })
        ));
    }
}
