//! The rate limiter under paused time: priority order, a bucket that never goes negative, a
//! minimum share for low lanes, and a model that follows what Shopify reports.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ractor::{Actor, ActorRef, RpcReplyPort};
use tokio::sync::oneshot;
use xconnector_actors::rate_limiter::RateLimiterMsg;
use xconnector_actors::rate_limiter::{
    Grant, Lane, Observation, RateLimiter, RateLimiterConfig, RateLimiterHandle,
};
use xconnector_actors::shopify::{QueryCost, ThrottleStatus};

static NEXT: AtomicU32 = AtomicU32::new(0);

async fn limiter(config: RateLimiterConfig) -> (ActorRef<RateLimiterMsg>, RateLimiterHandle) {
    let name = format!("test-limiter-{}", NEXT.fetch_add(1, Ordering::SeqCst));
    let (actor, _) = Actor::spawn(Some(name.clone()), RateLimiter, config)
        .await
        .unwrap();
    (actor, RateLimiterHandle::named(name))
}

/// Queues a grant request without waiting for it: requests sent this way from one task
/// arrive in order, so the queue order is known.
fn request(
    actor: &ActorRef<RateLimiterMsg>,
    lane: Lane,
    key: &str,
    estimate: f64,
) -> oneshot::Receiver<Grant> {
    let (tx, rx) = oneshot::channel();
    actor
        .cast(RateLimiterMsg::Grant {
            lane,
            key: key.into(),
            estimate,
            reply: RpcReplyPort::from(tx),
        })
        .unwrap();
    rx
}

fn status(maximum: f64, available: f64, restore: f64) -> Option<ThrottleStatus> {
    Some(ThrottleStatus {
        maximum_available: maximum,
        currently_available: available,
        restore_rate: restore,
    })
}

fn no_fairness() -> RateLimiterConfig {
    RateLimiterConfig {
        fair_every: u32::MAX,
        ..RateLimiterConfig::default()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.5
}

#[tokio::test(start_paused = true)]
async fn a_burst_is_granted_in_priority_order_and_never_overdraws() {
    let (actor, handle) = limiter(no_fairness()).await;
    // Empty the assumed bucket (100 points, 50/s), so the burst has to queue.
    let first = handle
        .grant(Lane::Reporting, "big", 100.0, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(first.available_after, 0.0);

    let lanes = [
        Lane::Reporting,
        Lane::Products,
        Lane::Orders,
        Lane::Customers,
        Lane::Operator,
        Lane::Reporting,
        Lane::Orders,
        Lane::Products,
        Lane::Operator,
        Lane::Customers,
        Lane::Orders,
    ];
    let pending: Vec<_> = lanes
        .iter()
        .enumerate()
        .map(|(i, lane)| (i, *lane, request(&actor, *lane, &format!("op{i}"), 10.0)))
        .collect();
    let started = tokio::time::Instant::now();
    let mut grants = Vec::new();
    for (i, lane, rx) in pending {
        let grant = rx.await.unwrap();
        assert_eq!(grant.lane, lane);
        assert!(
            grant.available_after >= 0.0,
            "overdrawn: {grant:?} (the model must never go negative)"
        );
        grants.push((grant.ticket, i, grant));
    }
    grants.sort_by_key(|(ticket, _, _)| *ticket);
    let order: Vec<(Lane, usize)> = grants.iter().map(|(_, i, g)| (g.lane, *i)).collect();
    assert_eq!(
        order,
        [
            (Lane::Operator, 4),
            (Lane::Operator, 8),
            (Lane::Orders, 2),
            (Lane::Orders, 6),
            (Lane::Orders, 10),
            (Lane::Customers, 3),
            (Lane::Customers, 9),
            (Lane::Products, 1),
            (Lane::Products, 7),
            (Lane::Reporting, 0),
            (Lane::Reporting, 5),
        ],
        "priority order between lanes, FIFO within a lane"
    );
    // 11 × 10 points at 50/s from an empty bucket: paced by the refill, not faster.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(2200) && elapsed < Duration::from_millis(2400),
        "{elapsed:?}"
    );
    let stats = handle.stats().await.unwrap();
    assert_eq!(stats.granted.values().sum::<u64>(), 12);
    assert_eq!(stats.waiting.values().sum::<u64>(), 0);
    assert_eq!(stats.in_flight, 12, "none reported back yet");
}

#[tokio::test(start_paused = true)]
async fn the_bucket_never_goes_negative_under_mixed_costs() {
    let (actor, handle) = limiter(no_fairness()).await;
    let costs = [7.0, 95.0, 30.0, 100.0, 1.0, 64.0, 250.0, 12.0, 0.0, 99.0];
    let pending: Vec<_> = costs
        .iter()
        .enumerate()
        .map(|(i, c)| request(&actor, Lane::ALL[i % 5], &format!("k{i}"), *c))
        .collect();
    let started = tokio::time::Instant::now();
    let mut spent = 0.0;
    for rx in pending {
        let grant = rx.await.unwrap();
        assert!(grant.available_after >= 0.0, "{grant:?}");
        // A cost beyond the whole bucket is granted as the full bucket.
        assert!(grant.cost <= 100.0, "{grant:?}");
        spent += grant.cost;
    }
    // Nothing was granted that the model could not pay: the initial 100 plus the refill.
    let budget = 100.0 + 50.0 * started.elapsed().as_secs_f64();
    assert!(spent <= budget + 1e-6, "spent {spent} of {budget}");
    drop(handle);
}

#[tokio::test(start_paused = true)]
async fn a_low_lane_gets_its_minimum_share_under_sustained_load() {
    let config = RateLimiterConfig {
        fair_every: 4,
        ..RateLimiterConfig::default()
    };
    let (actor, handle) = limiter(config).await;
    handle
        .grant(Lane::Orders, "drain", 100.0, Duration::from_secs(1))
        .await
        .unwrap();
    // Orders keep the limiter saturated; reporting waits behind them.
    let mut pending = Vec::new();
    for i in 0..40 {
        pending.push(request(&actor, Lane::Orders, &format!("o{i}"), 10.0));
    }
    for i in 0..5 {
        pending.push(request(&actor, Lane::Reporting, &format!("r{i}"), 10.0));
    }
    let mut grants = Vec::new();
    for rx in pending {
        grants.push(rx.await.unwrap());
    }
    grants.sort_by_key(|g| g.ticket);
    let lanes: Vec<Lane> = grants.iter().map(|g| g.lane).collect();
    // Every fifth grant goes to reporting while it waits (4 orders, then 1 reporting).
    for (n, window) in lanes[..25].chunks(5).enumerate() {
        assert_eq!(
            window.iter().filter(|l| **l == Lane::Reporting).count(),
            1,
            "window {n}: {window:?}"
        );
    }
    assert!(lanes[25..].iter().all(|l| *l == Lane::Orders));

    // Without the minimum share the same load would starve reporting until orders ran out.
    let (actor, handle) = limiter(no_fairness()).await;
    handle
        .grant(Lane::Orders, "drain", 100.0, Duration::from_secs(1))
        .await
        .unwrap();
    let mut pending = Vec::new();
    for i in 0..10 {
        pending.push(request(&actor, Lane::Orders, &format!("o{i}"), 10.0));
    }
    pending.push(request(&actor, Lane::Reporting, "r", 10.0));
    let mut last = None;
    for rx in pending {
        let g = rx.await.unwrap();
        if last.as_ref().is_none_or(|l: &Grant| g.ticket > l.ticket) {
            last = Some(g);
        }
    }
    assert_eq!(last.map(|g| g.lane), Some(Lane::Reporting));
}

#[tokio::test(start_paused = true)]
async fn the_model_follows_the_reported_throttle_status() {
    let (_actor, handle) = limiter(RateLimiterConfig::default()).await;
    let stats = handle.stats().await.unwrap();
    assert!(!stats.learned);
    assert_eq!((stats.maximum, stats.restore_rate), (100.0, 50.0));

    let a = handle
        .grant(Lane::Orders, "Orders/2x100", 20.0, Duration::from_secs(1))
        .await
        .unwrap();
    let b = handle
        .grant(Lane::Orders, "Orders/2x100", 20.0, Duration::from_secs(1))
        .await
        .unwrap();
    // Shopify answers the first: its bucket is 2000 at 100/s, 1500 left. The second request
    // is still out, so Shopify had not charged it when it answered.
    handle.observe(Observation {
        ticket: a.ticket,
        key: "Orders/2x100".into(),
        cost: Some(QueryCost {
            requested_query_cost: Some(30.0),
            actual_query_cost: Some(25.0),
            throttle_status: status(2000.0, 1500.0, 100.0),
        }),
        throttled: false,
    });
    let stats = handle.stats().await.unwrap();
    assert!(stats.learned);
    assert_eq!((stats.maximum, stats.restore_rate), (2000.0, 100.0));
    assert!(
        close(stats.available, 1500.0 - b.cost),
        "{}",
        stats.available
    );
    assert_eq!(stats.in_flight, 1);

    // It refills at the reported rate between observations.
    tokio::time::advance(Duration::from_secs(2)).await;
    let stats = handle.stats().await.unwrap();
    assert!(
        close(stats.available, 1700.0 - b.cost),
        "{}",
        stats.available
    );

    // An older answer arriving late does not move the level…
    let c = handle
        .grant(Lane::Orders, "x", 1.0, Duration::from_secs(1))
        .await
        .unwrap();
    handle.observe(Observation {
        ticket: c.ticket,
        key: "x".into(),
        cost: Some(QueryCost {
            requested_query_cost: Some(1.0),
            actual_query_cost: Some(1.0),
            throttle_status: status(2000.0, 1800.0, 100.0),
        }),
        throttled: false,
    });
    handle.observe(Observation {
        ticket: b.ticket,
        key: "Orders/2x100".into(),
        cost: Some(QueryCost {
            requested_query_cost: Some(30.0),
            actual_query_cost: Some(25.0),
            throttle_status: status(2000.0, 3.0, 100.0),
        }),
        throttled: false,
    });
    // (b was still unanswered when c's answer came: it may not have reached Shopify, so it
    // counts against the level; b's late answer then leaves the level alone.)
    let stats = handle.stats().await.unwrap();
    assert!(
        close(stats.available, 1800.0 - b.cost),
        "{}",
        stats.available
    );

    // …but a throttled answer to a newer request resets the model to what Shopify says.
    let d = handle
        .grant(Lane::Orders, "Orders/2x100", 20.0, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(d.cost, 30.0, "the cost Shopify last requested for this key");
    handle.observe(Observation {
        ticket: d.ticket,
        key: "Orders/2x100".into(),
        cost: Some(QueryCost {
            requested_query_cost: Some(70.0),
            actual_query_cost: None,
            throttle_status: status(2000.0, 5.0, 100.0),
        }),
        throttled: true,
    });
    let stats = handle.stats().await.unwrap();
    assert_eq!(stats.throttled, 1);
    assert!(close(stats.available, 5.0), "{}", stats.available);
    assert!(close(stats.points_spent, 51.0), "{}", stats.points_spent);

    // The retry waits until the refill pays the 70 points Shopify asked for: (70-5)/100 s.
    let retry = handle
        .grant(Lane::Orders, "Orders/2x100", 20.0, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(retry.cost, 70.0);
    assert!(retry.available_after >= 0.0);
    assert!(
        retry.waited >= Duration::from_millis(650) && retry.waited < Duration::from_millis(660),
        "{:?}",
        retry.waited
    );
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_gave_up_costs_nothing() {
    let (actor, handle) = limiter(no_fairness()).await;
    handle
        .grant(Lane::Orders, "drain", 100.0, Duration::from_secs(1))
        .await
        .unwrap();
    // Times out after 100 ms, long before 50 points are refilled (1 s).
    let gave_up = handle
        .grant(Lane::Orders, "slow", 50.0, Duration::from_millis(100))
        .await;
    assert!(gave_up.is_err());
    let next = request(&actor, Lane::Reporting, "next", 10.0)
        .await
        .unwrap();
    assert_eq!(next.lane, Lane::Reporting);
    assert!(
        next.waited < Duration::from_millis(150),
        "the abandoned request did not hold the queue: {:?}",
        next.waited
    );
}
