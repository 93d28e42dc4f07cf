//! `xconnector_api_requests_total{endpoint,outcome}`: every request lands in exactly one.

use std::sync::atomic::{AtomicU64, Ordering};

use xconnector_actors::telemetry::prometheus::{Exposition, Kind};

/// One endpoint's counters.
#[derive(Default)]
pub struct ApiStats {
    /// 202: stored.
    pub accepted: AtomicU64,
    /// 401: no `Authorization: Bearer` header, or a token not in `[server] api_tokens`.
    pub rejected_token: AtomicU64,
    /// 400: an invalid request, or a body that could not be read.
    pub bad_request: AtomicU64,
    /// 413: a body over [`super::MAX_BODY`].
    pub too_large: AtomicU64,
    /// 503: starting, shutting down, or the store could not take the request.
    pub unavailable: AtomicU64,
    /// 500: the parser itself failed (a bug, never the client's doing).
    pub internal_error: AtomicU64,
    /// 202 again for a repeated `Idempotency-Key` with the same body: nothing new stored.
    pub replayed: AtomicU64,
    /// 409: an `Idempotency-Key` already used for a different body.
    pub conflict: AtomicU64,
}

/// Which counter an outcome lands in.
pub type Counter = fn(&ApiStats) -> &AtomicU64;

impl ApiStats {
    fn outcomes(&self) -> [(&'static str, &AtomicU64); 8] {
        [
            ("accepted", &self.accepted),
            ("rejected_token", &self.rejected_token),
            ("bad_request", &self.bad_request),
            ("too_large", &self.too_large),
            ("unavailable", &self.unavailable),
            ("internal_error", &self.internal_error),
            ("replayed", &self.replayed),
            ("conflict", &self.conflict),
        ]
    }
}

/// The request counters of every endpoint.
pub fn render<'a>(
    endpoints: impl IntoIterator<Item = (&'a str, &'a ApiStats)>,
    m: &mut Exposition,
) {
    let mut f = m.family(
        "xconnector_api_requests_total",
        Kind::Counter,
        "Requests to the inbound back-office API by endpoint and outcome.",
    );
    for (endpoint, stats) in endpoints {
        for (outcome, n) in stats.outcomes() {
            f.sample(
                &[("endpoint", endpoint), ("outcome", outcome)],
                n.load(Ordering::Relaxed),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_rendered_for_prometheus() {
        let stats = ApiStats::default();
        stats.accepted.fetch_add(2, Ordering::Relaxed);
        stats.rejected_token.fetch_add(1, Ordering::Relaxed);
        let mut m = Exposition::default();
        render([("inventory", &stats)], &mut m);
        let text = m.finish();
        assert!(
            text.starts_with("# HELP xconnector_api_requests_total "),
            "{text}"
        );
        assert!(
            text.contains("\n# TYPE xconnector_api_requests_total counter\n"),
            "{text}"
        );
        for (outcome, n) in [
            ("accepted", 2),
            ("rejected_token", 1),
            ("bad_request", 0),
            ("too_large", 0),
            ("unavailable", 0),
            ("internal_error", 0),
            ("replayed", 0),
            ("conflict", 0),
        ] {
            let line = format!(
                "xconnector_api_requests_total{{endpoint=\"inventory\",outcome=\"{outcome}\"}} {n}\n"
            );
            assert!(text.contains(&line), "{line:?} missing from:\n{text}");
        }
        assert_eq!(text.lines().count(), 10, "{text}");
    }
}
