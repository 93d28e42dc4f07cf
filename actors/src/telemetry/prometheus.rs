//! The Prometheus text exposition format (version 0.0.4) of a [`Snapshot`].

use std::fmt::Write;

use super::Snapshot;
use crate::endpoints::{EndpointStatus, Health};
use crate::rate_limiter::RateLimiterStats;
use crate::store::writer::BATCH_BUCKETS;

pub fn render(s: &Snapshot, ready: bool) -> String {
    let mut out = String::with_capacity(4096);
    let head = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };

    head(
        &mut out,
        "xconnector_ready",
        "gauge",
        "1 when the daemon accepts work.",
    );
    let _ = writeln!(out, "xconnector_ready {}", u8::from(ready));

    head(
        &mut out,
        "xconnector_store_failing",
        "gauge",
        "1 while the store cannot write (disk full, read-only, I/O errors); nothing is accepted.",
    );
    let _ = writeln!(
        out,
        "xconnector_store_failing {}",
        u8::from(s.store.failing.is_some())
    );

    head(
        &mut out,
        "xconnector_items",
        "gauge",
        "Items in the store by flow and state.",
    );
    for (flow, state, n) in &s.store.counts {
        let _ = writeln!(
            out,
            "xconnector_items{{flow=\"{}\",state=\"{}\"}} {n}",
            escape(flow),
            state.as_str()
        );
    }

    head(
        &mut out,
        "xconnector_items_completed_total",
        "counter",
        "Items finished by a flow since start, by the state they went to.",
    );
    for (flow, state, n) in &s.store.completed {
        let _ = writeln!(
            out,
            "xconnector_items_completed_total{{flow=\"{}\",state=\"{}\"}} {n}",
            escape(flow),
            state.as_str()
        );
    }

    head(
        &mut out,
        "xconnector_items_enqueued_total",
        "counter",
        "Items durably accepted since start.",
    );
    let _ = writeln!(out, "xconnector_items_enqueued_total {}", s.store.enqueued);
    head(
        &mut out,
        "xconnector_enqueue_rate",
        "gauge",
        "Items accepted per second over the last second.",
    );
    let _ = writeln!(out, "xconnector_enqueue_rate {:.3}", s.enqueue_rate);

    head(
        &mut out,
        "xconnector_store_requests_total",
        "counter",
        "Requests served by the store.",
    );
    let _ = writeln!(out, "xconnector_store_requests_total {}", s.store.requests);
    head(
        &mut out,
        "xconnector_store_fsync_seconds_total",
        "counter",
        "Time spent in fsync.",
    );
    let _ = writeln!(
        out,
        "xconnector_store_fsync_seconds_total {:.6}",
        s.store.fsync_seconds
    );

    head(
        &mut out,
        "xconnector_store_fsync_batch_size",
        "histogram",
        "Requests made durable by one fsync (group commit).",
    );
    let mut cumulative = 0;
    for (le, n) in BATCH_BUCKETS.iter().zip(s.store.fsync_batches) {
        cumulative += n;
        let _ = writeln!(
            out,
            "xconnector_store_fsync_batch_size_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "xconnector_store_fsync_batch_size_bucket{{le=\"+Inf\"}} {}",
        s.store.fsyncs
    );
    let _ = writeln!(
        out,
        "xconnector_store_fsync_batch_size_sum {}",
        s.store.synced_requests
    );
    let _ = writeln!(
        out,
        "xconnector_store_fsync_batch_size_count {}",
        s.store.fsyncs
    );

    head(
        &mut out,
        "xconnector_actor_restarts_total",
        "counter",
        "Restarts of each actor by the supervisor.",
    );
    for (actor, n) in &s.restarts {
        let _ = writeln!(
            out,
            "xconnector_actor_restarts_total{{actor=\"{}\"}} {n}",
            escape(actor)
        );
    }

    head(
        &mut out,
        "xconnector_flow_events_total",
        "counter",
        "Events each flow counts itself (declared by its module).",
    );
    for (flow, events) in &s.flow_events {
        for (event, n) in events {
            let _ = writeln!(
                out,
                "xconnector_flow_events_total{{flow=\"{}\",event=\"{}\"}} {n}",
                escape(flow),
                escape(event)
            );
        }
    }

    if let Some(r) = &s.rate_limiter {
        rate_limiter(&mut out, r, head);
    }
    if !s.endpoints.is_empty() {
        endpoints(&mut out, &s.endpoints, head);
    }
    out
}

fn endpoints(
    out: &mut String,
    endpoints: &[EndpointStatus],
    head: impl Fn(&mut String, &str, &str, &str),
) {
    head(
        out,
        "xconnector_endpoint_health",
        "gauge",
        "Back-office endpoint health: 0 up, 1 retrying after failures, 2 circuit open (not called).",
    );
    for e in endpoints {
        let level = match e.health {
            Health::Up => 0,
            Health::Retrying => 1,
            Health::CircuitOpen => 2,
        };
        let _ = writeln!(
            out,
            "xconnector_endpoint_health{{endpoint=\"{}\"}} {level}",
            escape(&e.name)
        );
    }
    head(
        out,
        "xconnector_endpoint_deliveries_total",
        "counter",
        "Deliveries to back-office endpoints by outcome: delivered, failed (retried), rejected.",
    );
    for e in endpoints {
        for (outcome, n) in [
            ("delivered", e.delivered),
            ("failed", e.failed),
            ("rejected", e.rejected),
        ] {
            let _ = writeln!(
                out,
                "xconnector_endpoint_deliveries_total{{endpoint=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(&e.name)
            );
        }
    }
    head(
        out,
        "xconnector_endpoint_in_flight",
        "gauge",
        "Deliveries to each endpoint under way.",
    );
    for e in endpoints {
        let _ = writeln!(
            out,
            "xconnector_endpoint_in_flight{{endpoint=\"{}\"}} {}",
            escape(&e.name),
            e.in_flight
        );
    }
}

fn rate_limiter(
    out: &mut String,
    r: &RateLimiterStats,
    head: impl Fn(&mut String, &str, &str, &str),
) {
    let gauges = [
        (
            "xconnector_shopify_bucket_available",
            "Points the rate limiter models as available in Shopify's cost bucket.",
            r.available,
        ),
        (
            "xconnector_shopify_bucket_maximum",
            "Shopify's cost bucket size, as last reported.",
            r.maximum,
        ),
        (
            "xconnector_shopify_restore_rate",
            "Points per second Shopify restores, as last reported.",
            r.restore_rate,
        ),
        (
            "xconnector_shopify_points_per_second",
            "Query cost Shopify charged per second over the last 10 seconds.",
            r.points_per_second.max(0.0),
        ),
        (
            "xconnector_shopify_restore_rate_utilisation",
            "Points spent per second divided by the restore rate (1 = the sustainable maximum).",
            r.utilisation.max(0.0),
        ),
    ];
    for (name, help, value) in gauges {
        head(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value:.3}");
    }
    head(
        out,
        "xconnector_shopify_points_spent_total",
        "counter",
        "Query cost Shopify charged since start.",
    );
    let _ = writeln!(
        out,
        "xconnector_shopify_points_spent_total {:.3}",
        r.points_spent
    );
    head(
        out,
        "xconnector_shopify_throttled_total",
        "counter",
        "Requests Shopify answered with THROTTLED.",
    );
    let _ = writeln!(out, "xconnector_shopify_throttled_total {}", r.throttled);
    head(
        out,
        "xconnector_shopify_in_flight",
        "gauge",
        "Granted Shopify requests not yet answered.",
    );
    let _ = writeln!(out, "xconnector_shopify_in_flight {}", r.in_flight);
    head(
        out,
        "xconnector_shopify_grants_waiting",
        "gauge",
        "Requests waiting for a rate-limiter grant, by priority lane.",
    );
    for (lane, n) in &r.waiting {
        let _ = writeln!(
            out,
            "xconnector_shopify_grants_waiting{{lane=\"{lane}\"}} {n}"
        );
    }
    head(
        out,
        "xconnector_shopify_grants_total",
        "counter",
        "Rate-limiter grants since start, by priority lane.",
    );
    for (lane, n) in &r.granted {
        let _ = writeln!(
            out,
            "xconnector_shopify_grants_total{{lane=\"{lane}\"}} {n}"
        );
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ItemState;

    #[test]
    fn renders_counts_histogram_and_restarts() {
        let mut s = Snapshot::default();
        s.store.counts = vec![("orders".into(), ItemState::Pending, 3)];
        s.store.fsync_batches = [1, 0, 2, 0, 0, 0, 0, 0];
        s.store.fsyncs = 3;
        s.store.synced_requests = 9;
        s.restarts.insert("flow:orders".into(), 2);
        let text = render(&s, true);
        assert!(text.contains("xconnector_items{flow=\"orders\",state=\"pending\"} 3\n"));
        assert!(text.contains("xconnector_store_fsync_batch_size_bucket{le=\"4\"} 3\n"));
        assert!(text.contains("xconnector_store_fsync_batch_size_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("xconnector_actor_restarts_total{actor=\"flow:orders\"} 2\n"));
        assert!(text.contains("xconnector_ready 1\n"));
        assert!(
            !text.contains("xconnector_shopify"),
            "no Shopify metrics without Shopify"
        );
    }

    #[test]
    fn renders_endpoint_health_and_deliveries() {
        use crate::endpoints::{EndpointStatus, Health};
        let s = Snapshot {
            endpoints: vec![EndpointStatus {
                name: "wms".into(),
                health: Health::CircuitOpen,
                in_flight: 2,
                delivered: 10,
                failed: 5,
                rejected: 1,
            }],
            ..Snapshot::default()
        };
        let text = render(&s, true);
        for line in [
            "xconnector_endpoint_health{endpoint=\"wms\"} 2\n",
            "xconnector_endpoint_deliveries_total{endpoint=\"wms\",outcome=\"failed\"} 5\n",
            "xconnector_endpoint_in_flight{endpoint=\"wms\"} 2\n",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }

    #[test]
    fn renders_the_rate_limiter() {
        use crate::rate_limiter::Lane;
        let mut s = Snapshot::default();
        let mut r = RateLimiterStats {
            maximum: 2000.0,
            restore_rate: 100.0,
            points_per_second: 95.0,
            utilisation: 0.95,
            throttled: 2,
            ..RateLimiterStats::default()
        };
        r.waiting.insert(Lane::Reporting, 3);
        r.granted.insert(Lane::Orders, 7);
        s.rate_limiter = Some(r);
        let text = render(&s, true);
        assert!(text.contains("xconnector_shopify_restore_rate_utilisation 0.950\n"));
        assert!(text.contains("xconnector_shopify_throttled_total 2\n"));
        assert!(text.contains("xconnector_shopify_grants_waiting{lane=\"reporting\"} 3\n"));
        assert!(text.contains("xconnector_shopify_grants_total{lane=\"orders\"} 7\n"));
        assert!(text.contains("# TYPE xconnector_shopify_bucket_maximum gauge\n"));
    }
}
