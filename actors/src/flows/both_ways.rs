//! What the both-way flows (customers, products) share in how they take a batch: the back
//! office's records (items of one inbound kind) are written first, the changes Shopify reports
//! published after, so that a publication never reads a record halfway through the flow's own
//! write; and each batch's outcomes come back in the items' order.

use std::future::Future;

use super::Outcome;
use crate::item::Claimed;

/// The outcomes of `items`: those of kind `inbound` from `write`, the others from `publish`,
/// in that order of work.
pub async fn write_then_publish<'a, W, WF, P, PF>(
    items: &'a [Claimed],
    inbound: &str,
    write: W,
    publish: P,
) -> Vec<Outcome>
where
    W: FnOnce(Vec<&'a Claimed>) -> WF,
    WF: Future<Output = Vec<Outcome>>,
    P: FnOnce(Vec<&'a Claimed>) -> PF,
    PF: Future<Output = Vec<Outcome>>,
{
    let (writes, changes): (Vec<usize>, Vec<usize>) =
        (0..items.len()).partition(|&i| items[i].item.kind == inbound);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
    if !writes.is_empty() {
        let done = write(writes.iter().map(|&i| &items[i]).collect()).await;
        for (i, o) in writes.iter().zip(done) {
            outcomes[*i] = Some(o);
        }
    }
    if !changes.is_empty() {
        let done = publish(changes.iter().map(|&i| &items[i]).collect()).await;
        for (i, o) in changes.iter().zip(done) {
            outcomes[*i] = Some(o);
        }
    }
    outcomes.into_iter().map(given).collect()
}

/// An item the flow gave no outcome is tried again.
pub fn given(outcome: Option<Outcome>) -> Outcome {
    outcome.unwrap_or(Outcome::Retry {
        error: "the flow gave this item no outcome".into(),
        after: None,
    })
}

/// Every item of a flow that cannot run without `[shopify]`: an exception saying so.
pub fn needs_shopify(items: &[&Claimed], flow: &str) -> Vec<Outcome> {
    items
        .iter()
        .map(|_| Outcome::Exception {
            reason: format!("the {flow} flow needs [shopify]"),
        })
        .collect()
}
