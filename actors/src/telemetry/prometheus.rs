//! The Prometheus text exposition format (version 0.0.4): one writer, [`Exposition`], for
//! every metric the daemon shows (the engine's [`Snapshot`], the webhook and inbound API
//! counters), so that the format, the escaping and the `# HELP`/`# TYPE` lines live here only.

use std::fmt::{Display, Write};

use super::Snapshot;
use crate::endpoints::{EndpointStatus, Health};
use crate::rate_limiter::RateLimiterStats;
use crate::store::writer::BATCH_BUCKETS;

/// A metric family's type.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// The text of one scrape.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a metric family: its `# HELP` and `# TYPE` lines; samples follow.
    pub fn family(&mut self, name: &'static str, kind: Kind, help: &str) -> Family<'_> {
        let _ = writeln!(
            self.out,
            "# HELP {name} {help}\n# TYPE {name} {}",
            kind.as_str()
        );
        Family {
            out: &mut self.out,
            name,
        }
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// The samples of one family.
pub struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl Family<'_> {
    /// `name{labels} value`.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl Display) -> &mut Self {
        self.line("", labels, value)
    }

    /// `name_suffix{labels} value` (a histogram's `_bucket`, `_sum`, `_count`).
    pub fn line(
        &mut self,
        suffix: &str,
        labels: &[(&str, &str)],
        value: impl Display,
    ) -> &mut Self {
        let _ = write!(self.out, "{}{suffix}", self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape(val));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }
}

/// The engine's metrics, and whether the daemon is ready.
pub fn render(s: &Snapshot, ready: bool) -> String {
    let mut m = Exposition::default();
    snapshot(&mut m, s, ready);
    m.finish()
}

/// Writes the engine's metrics into `m`.
pub fn snapshot(m: &mut Exposition, s: &Snapshot, ready: bool) {
    m.family(
        "xconnector_ready",
        Kind::Gauge,
        "1 when the daemon accepts work.",
    )
    .sample(&[], u8::from(ready));
    m.family(
        "xconnector_store_failing",
        Kind::Gauge,
        "1 while the store cannot write (disk full, read-only, I/O errors); nothing is accepted.",
    )
    .sample(&[], u8::from(s.store.failing.is_some()));

    let mut f = m.family(
        "xconnector_items",
        Kind::Gauge,
        "Items in the store by flow and state.",
    );
    for (flow, state, n) in &s.store.counts {
        f.sample(&[("flow", flow), ("state", state.as_str())], n);
    }
    let mut f = m.family(
        "xconnector_items_retired_total",
        Kind::Counter,
        "Finished items removed by retention ([store.retention]), by flow.",
    );
    for (flow, n) in &s.store.retired {
        f.sample(&[("flow", flow)], n);
    }
    m.family(
        "xconnector_store_disk_bytes",
        Kind::Gauge,
        "The store's size on disk.",
    )
    .sample(&[], s.store.disk_bytes);
    m.family(
        "xconnector_store_oldest_item_seconds",
        Kind::Gauge,
        "When the oldest item the store keeps was created (Unix time; 0 when it keeps none).",
    )
    .sample(&[], s.store.oldest_item.unwrap_or(0) / 1000);
    m.family(
        "xconnector_store_last_prune_items",
        Kind::Gauge,
        "Items the last retention step that removed something removed.",
    )
    .sample(&[], s.store.last_prune.map_or(0, |p| p.items));

    let mut f = m.family(
        "xconnector_items_completed_total",
        Kind::Counter,
        "Items finished by a flow since start, by the state they went to.",
    );
    for (flow, state, n) in &s.store.completed {
        f.sample(&[("flow", flow), ("state", state.as_str())], n);
    }
    m.family(
        "xconnector_items_enqueued_total",
        Kind::Counter,
        "Items durably accepted since start.",
    )
    .sample(&[], s.store.enqueued);
    m.family(
        "xconnector_enqueue_rate",
        Kind::Gauge,
        "Items accepted per second over the last second.",
    )
    .sample(&[], format_args!("{:.3}", s.enqueue_rate));
    m.family(
        "xconnector_store_requests_total",
        Kind::Counter,
        "Requests served by the store.",
    )
    .sample(&[], s.store.requests);
    m.family(
        "xconnector_store_fsync_seconds_total",
        Kind::Counter,
        "Time spent in fsync.",
    )
    .sample(&[], format_args!("{:.6}", s.store.fsync_seconds));

    let mut f = m.family(
        "xconnector_store_fsync_batch_size",
        Kind::Histogram,
        "Requests made durable by one fsync (group commit).",
    );
    let mut cumulative = 0;
    for (le, n) in BATCH_BUCKETS.iter().zip(s.store.fsync_batches) {
        cumulative += n;
        f.line("_bucket", &[("le", &le.to_string())], cumulative);
    }
    f.line("_bucket", &[("le", "+Inf")], s.store.fsyncs)
        .line("_sum", &[], s.store.synced_requests)
        .line("_count", &[], s.store.fsyncs);

    let mut f = m.family(
        "xconnector_actor_restarts_total",
        Kind::Counter,
        "Restarts of each actor by the supervisor.",
    );
    for (actor, n) in &s.restarts {
        f.sample(&[("actor", actor)], n);
    }
    let mut f = m.family(
        "xconnector_flow_events_total",
        Kind::Counter,
        "Events each flow counts itself (declared by its module).",
    );
    for (flow, events) in &s.flow_events {
        for (event, n) in events {
            f.sample(&[("flow", flow), ("event", event)], n);
        }
    }

    if let Some(r) = &s.rate_limiter {
        rate_limiter(m, r);
    }
    if !s.endpoints.is_empty() {
        endpoints(m, &s.endpoints);
    }
}

fn endpoints(m: &mut Exposition, endpoints: &[EndpointStatus]) {
    let mut f = m.family(
        "xconnector_endpoint_health",
        Kind::Gauge,
        "Back-office endpoint health: 0 up, 1 retrying after failures, 2 circuit open (not called).",
    );
    for e in endpoints {
        let level = match e.health {
            Health::Up => 0,
            Health::Retrying => 1,
            Health::CircuitOpen => 2,
        };
        f.sample(&[("endpoint", &e.name)], level);
    }
    let mut f = m.family(
        "xconnector_endpoint_deliveries_total",
        Kind::Counter,
        "Deliveries to back-office endpoints by outcome: delivered, failed (retried), rejected.",
    );
    for e in endpoints {
        for (outcome, n) in [
            ("delivered", e.delivered),
            ("failed", e.failed),
            ("rejected", e.rejected),
        ] {
            f.sample(&[("endpoint", &e.name), ("outcome", outcome)], n);
        }
    }
    let mut f = m.family(
        "xconnector_endpoint_in_flight",
        Kind::Gauge,
        "Deliveries to each endpoint under way.",
    );
    for e in endpoints {
        f.sample(&[("endpoint", &e.name)], e.in_flight);
    }
}

fn rate_limiter(m: &mut Exposition, r: &RateLimiterStats) {
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
        m.family(name, Kind::Gauge, help)
            .sample(&[], format_args!("{value:.3}"));
    }
    m.family(
        "xconnector_shopify_points_spent_total",
        Kind::Counter,
        "Query cost Shopify charged since start.",
    )
    .sample(&[], format_args!("{:.3}", r.points_spent));
    m.family(
        "xconnector_shopify_throttled_total",
        Kind::Counter,
        "Requests Shopify answered with THROTTLED.",
    )
    .sample(&[], r.throttled);
    m.family(
        "xconnector_shopify_in_flight",
        Kind::Gauge,
        "Granted Shopify requests not yet answered.",
    )
    .sample(&[], r.in_flight);
    let mut f = m.family(
        "xconnector_shopify_grants_waiting",
        Kind::Gauge,
        "Requests waiting for a rate-limiter grant, by priority lane.",
    );
    for (lane, n) in &r.waiting {
        f.sample(&[("lane", lane.as_str())], n);
    }
    let mut f = m.family(
        "xconnector_shopify_grants_total",
        Kind::Counter,
        "Rate-limiter grants since start, by priority lane.",
    );
    for (lane, n) in &r.granted {
        f.sample(&[("lane", lane.as_str())], n);
    }
}

fn escape(label: &str) -> std::borrow::Cow<'_, str> {
    if !label.contains(['\\', '"', '\n']) {
        return label.into();
    }
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ItemState;

    #[test]
    fn labels_are_escaped() {
        let mut m = Exposition::default();
        m.family("x_total", Kind::Counter, "help")
            .sample(&[("a", "q\"b\\c\nd"), ("e", "f")], 1);
        assert_eq!(
            m.finish(),
            "# HELP x_total help\n# TYPE x_total counter\nx_total{a=\"q\\\"b\\\\c\\nd\",e=\"f\"} 1\n"
        );
    }

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
