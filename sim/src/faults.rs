//! Injected transport faults: what the network and Shopify's edge do to a client now and then.
//! Changeable at runtime (`Simulator::set_faults`).

use std::time::Duration;

/// Fault rates are probabilities in `[0, 1]`, drawn independently per request in this order:
/// dropped connection, 5xx, 429. Latency applies to every request first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Added before each request is handled.
    pub latency: Duration,
    /// Share of requests answered 502 or 503 (alternately) without being executed.
    pub error_5xx: f64,
    /// Share of requests answered 429 with `Retry-After`, without being executed.
    pub error_429: f64,
    /// The `Retry-After` of injected 429s, in seconds (sent as `"2.0"`, like Shopify).
    pub retry_after_secs: u64,
    /// Share of requests whose connection is closed without a response *after* the request
    /// was executed: the client cannot know whether its mutation happened, which is what
    /// idempotency keys are for.
    pub drop_connection: f64,
    /// Share of product image URLs whose download fails (the media become `FAILED` with a
    /// media error). Chosen by a hash of the URL, so one URL always fails or never does; URLs
    /// with `/broken/` in them always fail. Default 0.
    pub media_fetch_failure: f64,
    /// Share of refund transactions the payment gateway leaves `PENDING` (the refund is made;
    /// its money has not gone back yet). Drawn from the transaction's id. Default 0.
    pub refund_pending: f64,
    /// Share of refund transactions the gateway fails: status `FAILURE`, with an error code and
    /// message (`shop::REFUND_FAILURE_MESSAGE`). The refund is still made, as on Shopify, which
    /// announces `refunds/create` "independent from the movement of money". Default 0.
    pub refund_failure: f64,
    /// SKUs that sell one unit just before every `inventorySetQuantities` call naming them: a
    /// hot product whose level changes between a client's read and its compare-and-set write,
    /// every time. Default none.
    pub selling_while_written: Vec<String>,
}

impl Faults {
    /// The refund faults, as the shop applies them.
    pub fn refunds(&self) -> crate::shop::RefundFaults {
        crate::shop::RefundFaults {
            pending: self.refund_pending,
            failure: self.refund_failure,
        }
    }
}

impl Faults {
    /// No faults.
    pub fn none() -> Faults {
        Faults::default()
    }
}

/// What to do with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Serve,
    Drop,
    ServerError(u16),
    TooManyRequests,
}

impl Faults {
    pub(crate) fn decide(&self, rng: &mut fastrand::Rng) -> Decision {
        if self.drop_connection > 0.0 && rng.f64() < self.drop_connection {
            return Decision::Drop;
        }
        if self.error_5xx > 0.0 && rng.f64() < self.error_5xx {
            return Decision::ServerError(if rng.bool() { 502 } else { 503 });
        }
        if self.error_429 > 0.0 && rng.f64() < self.error_429 {
            return Decision::TooManyRequests;
        }
        Decision::Serve
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certain_and_impossible_faults() {
        let mut rng = fastrand::Rng::with_seed(3);
        assert_eq!(Faults::none().decide(&mut rng), Decision::Serve);
        let always_drop = Faults {
            drop_connection: 1.0,
            ..Faults::none()
        };
        assert_eq!(always_drop.decide(&mut rng), Decision::Drop);
        let always_429 = Faults {
            error_429: 1.0,
            ..Faults::none()
        };
        assert_eq!(always_429.decide(&mut rng), Decision::TooManyRequests);
        let always_5xx = Faults {
            error_5xx: 1.0,
            ..Faults::none()
        };
        assert!(matches!(
            always_5xx.decide(&mut rng),
            Decision::ServerError(502 | 503)
        ));
    }
}
