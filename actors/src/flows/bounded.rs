//! A cache that cannot outgrow its capacity, for what a flow keeps between batches of what the
//! store or Shopify already holds (a SKU's inventory item, the last level known in Shopify):
//! a catalogue that grows, or SKUs that come and go for months, then cost a bounded amount of
//! memory, and a miss costs only a look in the store (or a read) again.
//!
//! Two generations, no bookkeeping per entry: entries go into the current one; when it holds
//! half the capacity it becomes the previous one and the older previous one is dropped. A hit
//! in the previous generation moves the entry back into the current one, so what is in use
//! stays and what was not used for a generation goes.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug)]
pub struct Bounded<K, V> {
    current: HashMap<K, V>,
    previous: HashMap<K, V>,
    /// Entries per generation.
    half: usize,
}

impl<K: Eq + Hash, V: Clone> Bounded<K, V> {
    /// A cache of at most `capacity` entries (at least 2).
    pub fn new(capacity: usize) -> Self {
        Bounded {
            current: HashMap::new(),
            previous: HashMap::new(),
            half: (capacity / 2).max(1),
        }
    }

    /// The value of `key`, if it is still kept; a hit keeps it for another generation.
    pub fn get<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(v) = self.current.get(key) {
            return Some(v.clone());
        }
        let (k, v) = self.previous.remove_entry(key)?;
        self.insert(k, v.clone());
        Some(v)
    }

    pub fn insert(&mut self, key: K, value: V) {
        self.previous.remove(&key);
        self.current.insert(key, value);
        if self.current.len() >= self.half {
            self.previous = std::mem::take(&mut self.current);
        }
    }

    pub fn remove<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.current.remove(key);
        self.previous.remove(key);
    }

    /// Entries kept now (at most the capacity).
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Eq + Hash, V: Clone> Extend<(K, V)> for Bounded<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_holds_more_than_its_capacity_and_the_newest_are_kept() {
        let mut cache = Bounded::new(1_000);
        for n in 0..100_000u64 {
            cache.insert(n, n * 2);
            assert!(cache.len() <= 1_000, "{} entries after {n}", cache.len());
        }
        assert_eq!(cache.get(&99_999), Some(199_998));
        assert_eq!(cache.get(&0), None);
    }

    #[test]
    fn what_is_used_stays_while_the_rest_goes() {
        let mut cache = Bounded::new(100);
        cache.insert("hot".to_string(), 1);
        for n in 0..10_000u32 {
            cache.insert(format!("cold-{n}"), n);
            // Used now and then (once per generation is enough).
            if n % 25 == 0 {
                assert_eq!(cache.get("hot"), Some(1), "after {n}");
            }
        }
        assert_eq!(cache.get("cold-0"), None);
        cache.remove("hot");
        assert_eq!(cache.get("hot"), None);
        // A newer value replaces an older one in either generation.
        cache.insert("k".into(), 1);
        for n in 0..60u32 {
            cache.insert(format!("more-{n}"), n);
        }
        cache.insert("k".into(), 2);
        assert_eq!(cache.get("k"), Some(2));
    }
}
