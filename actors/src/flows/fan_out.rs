//! Delivery of one record to several endpoints, for any flow. Each record keeps, per target,
//! the newest version that target has ([`Deliveries`]); a delivery sends a version only to the
//! targets that lack it, so a retry never sends twice what landed, and no target ever sees an
//! older version after a newer one.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use serde::{Deserialize, Serialize};

use crate::endpoints::EndpointsHandle;
use crate::item::{Claimed, Millis, Outcome};

/// Target → the newest version of a record it has. Stored as a plain map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Deliveries(BTreeMap<String, Millis>);

impl Deliveries {
    /// The newest version `target` has.
    pub fn get(&self, target: &str) -> Option<Millis> {
        self.0.get(target).copied()
    }

    /// `target` has `version` or a newer one.
    pub fn has(&self, target: &str, version: Millis) -> bool {
        self.get(target).is_some_and(|v| v >= version)
    }

    /// Records that `target` has `version`; never moves back.
    pub fn landed(&mut self, target: &str, version: Millis) {
        let at = self.0.entry(target.to_string()).or_default();
        *at = (*at).max(version);
    }
}

/// Sends `record` (its canonical JSON; version `version`, as item `item`) to each of
/// `targets` that lacks it, all at once, with the item's id as the idempotency key. Done when every target
/// has it; else the first transient failure (the next attempt only goes to those still missing
/// it), or an exception naming every target that refused it for good.
pub async fn fan_out(
    endpoints: &EndpointsHandle,
    targets: &[String],
    deliveries: &mut Deliveries,
    version: Millis,
    item: &Claimed,
    record: &impl Serialize,
) -> Outcome {
    let body = match serde_json::to_vec(record) {
        Ok(body) => body,
        Err(e) => {
            return Outcome::Exception {
                reason: format!("cannot encode the record: {e}"),
            };
        }
    };
    let key = item.item.id.to_string();
    let due: Vec<&String> = targets
        .iter()
        .filter(|t| !deliveries.has(t, version))
        .collect();
    let sends = due.iter().map(|target| {
        endpoints.deliver_attempt(
            target,
            &key,
            body.to_vec(),
            item.attempt().max(1),
            item.item.created_at,
        )
    });
    let outcomes = join_all(sends).await;
    let mut retry: Option<(String, Option<Duration>)> = None;
    let mut rejected = Vec::new();
    for (target, outcome) in due.into_iter().zip(outcomes) {
        match outcome {
            Outcome::Done | Outcome::Noted { .. } => deliveries.landed(target, version),
            Outcome::Retry { error, after } => {
                if retry.is_none() {
                    retry = Some((error, after));
                }
            }
            Outcome::Exception { reason } => rejected.push(reason),
        }
    }
    if !rejected.is_empty() {
        Outcome::Exception {
            reason: rejected.join("; "),
        }
    } else if let Some((error, after)) = retry {
        Outcome::Retry { error, after }
    } else {
        Outcome::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_never_move_back_and_keep_their_stored_shape() {
        let mut d = Deliveries::default();
        d.landed("erp", 20);
        d.landed("erp", 10);
        assert_eq!(d.get("erp"), Some(20));
        assert!(d.has("erp", 20) && d.has("erp", 5) && !d.has("erp", 21));
        assert!(!d.has("wms", 1));
        assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"erp":20}"#);
        let back: Deliveries = serde_json::from_str(r#"{"erp":20,"wms":3}"#).unwrap();
        assert_eq!(back.get("wms"), Some(3));
    }
}
