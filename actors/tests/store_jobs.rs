//! Bulk jobs in the store: a page at a time with the job's progress in the same write, exact
//! counts (changed, skipped, failed) across a reopen, items created after the start left alone,
//! cancel, and the audit of start and end.

use xconnector_actors::item::{ItemId, ItemState, NewItem, OperatorAction};
use xconnector_actors::store::{
    BulkJob, ItemDb, JobFilter, JobSpec, JobState, PruneStep, Retention, StoreError,
};

fn held(flow: &str, n: usize) -> Vec<NewItem> {
    (0..n)
        .map(|i| NewItem::new(flow, "orders/create", format!("#{i}"), b"{}".to_vec()).held("bad"))
        .collect()
}

fn spec(action: OperatorAction, flow: Option<&str>, state: Option<ItemState>) -> JobSpec {
    JobSpec {
        action,
        filter: JobFilter {
            flow: flow.map(str::to_string),
            state,
        },
        note: Some("cleanup".into()),
        user: "alice".into(),
    }
}

/// Steps the job until it is over; how many steps that took.
fn run(db: &mut ItemDb, id: u64, budget: usize, now: u64) -> (BulkJob, usize) {
    for steps in 1..10_000 {
        let (job, _) = db.job_step(id, budget, now).unwrap();
        if job.state.is_over() {
            return (job, steps);
        }
    }
    panic!("job {id} never ended");
}

/// How often an item's history says it was resolved.
fn resolutions(db: &ItemDb, id: ItemId) -> usize {
    db.history(id)
        .unwrap()
        .iter()
        .filter(|h| h.to == ItemState::Resolved)
        .count()
}

#[test]
fn a_job_acts_on_every_matching_item_a_page_at_a_time_and_counts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    db.enqueue(held("orders", 1000), 10).unwrap();
    db.enqueue(held("inventory", 30), 10).unwrap();
    let pending: Vec<NewItem> = (0..20)
        .map(|i| NewItem::new("orders", "k", format!("p{i}"), vec![]))
        .collect();
    db.enqueue(pending, 10).unwrap();
    // Five in flight: a resolve cannot touch them, so they are skipped.
    let claimed = db.claim("orders", 5, 60_000, 20).unwrap();
    assert_eq!(claimed.len(), 5);

    let job = db
        .create_job(spec(OperatorAction::Resolve, Some("orders"), None), 30)
        .unwrap();
    assert_eq!(
        (job.id, job.state, job.expected),
        (1, JobState::Running, 1020)
    );
    // Items created after the start are not the job's.
    let late = db.enqueue(held("orders", 7), 35).unwrap();

    let (job, steps) = run(&mut db, 1, 100, 40);
    assert_eq!(job.state, JobState::Finished);
    assert_eq!(
        (job.matched, job.changed, job.skipped, job.failed),
        (1020, 1015, 5, 0)
    );
    assert_eq!(
        steps, 11,
        "a page of 100 per step, the last finding the end"
    );
    assert_eq!(job.finished_at, Some(40));
    assert_eq!(db.count("orders", ItemState::Resolved), 1015);
    assert_eq!(db.count("orders", ItemState::InFlight), 5);
    assert_eq!(db.count("orders", ItemState::Exception), 7);
    assert_eq!(db.count("inventory", ItemState::Exception), 30);
    for e in &late {
        assert_eq!(resolutions(&db, e.id), 0);
    }
    // The item's history names the job and the user.
    let first = ItemId(1);
    let line = db.history(first).unwrap().last().unwrap().note.clone();
    assert_eq!(line.as_deref(), Some("resolve by alice (job 1): cleanup"));

    // Audited: the start, each item, the end with the counts.
    let audit = db.audit_log(usize::MAX).unwrap();
    assert_eq!(audit.len(), 1 + 1015 + 1);
    let (end, start) = (&audit[0], &audit[audit.len() - 1]);
    assert_eq!(start.action, "bulk resolve");
    assert_eq!(start.target, "job 1 (flow orders: 1020 items)");
    assert_eq!(start.note.as_deref(), Some("cleanup"));
    assert_eq!(end.action, "bulk resolve finished");
    assert_eq!(end.who, "alice");
    assert_eq!(
        end.note.as_deref(),
        Some("1015 changed, 5 skipped, 0 failed of 1020 matching items")
    );
    assert_eq!(audit[1].note.as_deref(), Some("job 1: cleanup"));

    // A step of a job that is over changes nothing.
    let (again, _) = db.job_step(1, 100, 50).unwrap();
    assert_eq!(again, job);
}

#[test]
fn a_job_filtered_by_state_goes_on_after_a_reopen_from_its_last_page() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<ItemId> = {
        let mut db = ItemDb::open(dir.path()).unwrap();
        let ids = db
            .enqueue(held("orders", 950), 10)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        db.create_job(
            spec(
                OperatorAction::Resolve,
                Some("orders"),
                Some(ItemState::Exception),
            ),
            20,
        )
        .unwrap();
        for _ in 0..3 {
            db.job_step(1, 200, 30).unwrap();
        }
        ids
        // Dropped without a sync: what a crash after the last commit leaves.
    };
    let mut db = ItemDb::open(dir.path()).unwrap();
    let running = db.running_jobs().unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!((running[0].matched, running[0].changed), (600, 600));
    assert_eq!(running[0].after, Some(ids[599]));

    let (job, _) = run(&mut db, 1, 200, 40);
    assert_eq!(
        (job.matched, job.changed, job.skipped, job.failed),
        (950, 950, 0, 0)
    );
    assert!(ids.iter().all(|id| resolutions(&db, *id) == 1));
    assert!(db.running_jobs().unwrap().is_empty());
}

#[test]
fn a_cancelled_job_changes_nothing_more_and_says_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    db.enqueue(held("orders", 500), 10).unwrap();
    db.create_job(
        spec(OperatorAction::Cancel, None, Some(ItemState::Exception)),
        20,
    )
    .unwrap();
    db.job_step(1, 100, 30).unwrap();
    db.job_step(1, 100, 30).unwrap();
    let cancelled = db.cancel_job(1, "bob", 40).unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(cancelled.cancelled_by.as_deref(), Some("bob"));
    assert_eq!((cancelled.matched, cancelled.changed), (200, 200));
    let (after, woken) = db.job_step(1, 100, 50).unwrap();
    assert_eq!(after, cancelled);
    assert!(woken.is_empty());
    assert_eq!(db.count("orders", ItemState::Cancelled), 200);
    assert_eq!(db.count("orders", ItemState::Exception), 300);
    assert_eq!(
        db.cancel_job(1, "bob", 60),
        Err(StoreError::JobOver {
            id: 1,
            state: JobState::Cancelled
        })
    );
    assert_eq!(db.cancel_job(9, "bob", 60), Err(StoreError::JobNotFound(9)));
    let end = &db.audit_log(1).unwrap()[0];
    assert_eq!(
        (end.who.as_str(), end.action.as_str()),
        ("bob", "bulk cancel cancelled")
    );
    assert_eq!(
        end.note.as_deref(),
        Some("200 changed, 0 skipped, 0 failed of 200 matching items")
    );
}

#[test]
fn a_retry_job_wakes_the_flows_it_sends_items_back_to() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    db.enqueue(held("orders", 3), 10).unwrap();
    db.enqueue(held("inventory", 2), 10).unwrap();
    db.create_job(
        spec(OperatorAction::Retry, None, Some(ItemState::Exception)),
        20,
    )
    .unwrap();
    let (job, mut woken) = db.job_step(1, 100, 30).unwrap();
    woken.sort();
    assert_eq!(woken, ["inventory", "orders"]);
    assert_eq!((job.state, job.changed), (JobState::Finished, 5));
    assert_eq!(db.count("orders", ItemState::Pending), 3);
}

#[test]
fn jobs_are_listed_newest_first_and_retired_with_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ItemDb::open(dir.path()).unwrap();
    db.enqueue(held("orders", 2), 10).unwrap();
    for n in 0..3 {
        let job = db
            .create_job(spec(OperatorAction::Resolve, Some("orders"), None), 20 + n)
            .unwrap();
        run(&mut db, job.id, 10, 100 + n);
    }
    let ids: Vec<u64> = db.jobs(10).unwrap().iter().map(|j| j.id).collect();
    assert_eq!(ids, [3, 2, 1]);
    assert_eq!(db.job(2).unwrap().map(|j| j.finished_at), Some(Some(101)));
    let step = PruneStep {
        retention: Retention {
            done: 0,
            closed: 0,
            audit: 1_000,
        },
        budget: 10_000,
        dry: false,
        fresh: true,
    };
    db.prune(1_100, step).unwrap();
    let ids: Vec<u64> = db.jobs(10).unwrap().iter().map(|j| j.id).collect();
    assert_eq!(ids, [3, 2], "job 1 ended 1000 ms before");
    // A new job does not reuse a retired job's id.
    assert_eq!(
        db.create_job(spec(OperatorAction::Resolve, Some("orders"), None), 2_000)
            .unwrap()
            .id,
        4
    );
}
