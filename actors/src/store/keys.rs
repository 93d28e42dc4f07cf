//! On-disk key layout. Every question the daemon asks often is a range scan over one of these
//! prefixes, never a full scan:
//!
//! | keyspace   | key                                   | value            |
//! |------------|---------------------------------------|------------------|
//! | `items`    | id                                    | item metadata    |
//! | `payloads` | id                                    | payload bytes    |
//! | `due`      | flow 0x00 due_at id                   | empty            |
//! | `states`   | flow 0x00 state id                    | empty            |
//! | `counts`   | flow 0x00 state                       | count            |
//! | `dedupe`   | flow 0x00 dedupe key                  | id               |
//! | `history`  | id seq                                | history entry    |
//! | `cursors`  | flow 0x00 name                        | bytes            |
//! | `mappings` | namespace 0x00 key                    | bytes            |
//! | `audit`    | seq                                   | audit entry      |
//! | `jobs`     | job id                                | bulk job         |
//!
//! Integers are big-endian so that byte order is numeric order; flow names never contain 0x00.

use crate::item::{ItemId, ItemState, Millis};

pub const SEP: u8 = 0;

pub fn id(id: ItemId) -> [u8; 8] {
    id.0.to_be_bytes()
}

pub fn read_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// `name 0x00`: the prefix every per-flow key starts with.
pub fn flow_prefix(flow: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(flow.len() + 18);
    k.extend_from_slice(flow.as_bytes());
    k.push(SEP);
    k
}

pub fn due(flow: &str, at: Millis, item: ItemId) -> Vec<u8> {
    let mut k = flow_prefix(flow);
    k.extend_from_slice(&at.to_be_bytes());
    k.extend_from_slice(&item.0.to_be_bytes());
    k
}

/// The (due_at, id) at the end of a `due` key.
pub fn split_due(key: &[u8]) -> Option<(Millis, ItemId)> {
    let n = key.len();
    if n < 16 {
        return None;
    }
    Some((read_u64(&key[n - 16..])?, ItemId(read_u64(&key[n - 8..])?)))
}

pub fn state_prefix(flow: &str, state: ItemState) -> Vec<u8> {
    let mut k = flow_prefix(flow);
    k.push(state as u8);
    k
}

pub fn state(flow: &str, state: ItemState, item: ItemId) -> Vec<u8> {
    let mut k = state_prefix(flow, state);
    k.extend_from_slice(&item.0.to_be_bytes());
    k
}

/// The id at the end of a `states` key.
pub fn state_item(key: &[u8]) -> Option<ItemId> {
    key.len()
        .checked_sub(8)
        .and_then(|at| read_u64(&key[at..]))
        .map(ItemId)
}

/// Splits a `counts` key back into flow and state.
pub fn split_count(key: &[u8]) -> Option<(String, ItemState)> {
    let (state, rest) = key.split_last()?;
    let (sep, flow) = rest.split_last()?;
    if *sep != SEP {
        return None;
    }
    Some((
        String::from_utf8(flow.to_vec()).ok()?,
        ItemState::from_u8(*state)?,
    ))
}

pub fn named(scope: &str, name: &str) -> Vec<u8> {
    let mut k = flow_prefix(scope);
    k.extend_from_slice(name.as_bytes());
    k
}

pub fn history(item: ItemId, seq: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&item.0.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The smallest key strictly greater than every key starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_keys_sort_by_time_then_id_within_a_flow() {
        let a = due("orders", 5, ItemId(9));
        let b = due("orders", 6, ItemId(1));
        let c = due("ordersx", 0, ItemId(0));
        assert!(a < b);
        assert!(
            b < c,
            "a longer flow name must not interleave with a shorter one"
        );
        assert_eq!(split_due(&b), Some((6, ItemId(1))));
    }

    #[test]
    fn count_keys_round_trip() {
        let mut k = flow_prefix("inventory");
        k.push(ItemState::Retrying as u8);
        assert_eq!(
            split_count(&k),
            Some(("inventory".to_string(), ItemState::Retrying))
        );
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        let p = flow_prefix("a");
        assert!(due("a", u64::MAX, ItemId(u64::MAX)) < prefix_end(&p));
        assert_eq!(prefix_end(&[1, 255]), vec![2]);
    }
}
