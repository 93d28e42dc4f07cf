//! Key paths such as `flows.orders.targets` or `server.api_tokens[0]`.
//!
//! Kept as segments rather than a string so that keys containing dots cannot be
//! confused with nesting, and so that "is this error inside a value we already
//! reported?" is a prefix test instead of string matching.

use std::fmt;

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct KeyPath(Vec<Seg>);

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl KeyPath {
    pub(crate) fn root() -> Self {
        Self::default()
    }

    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        Self(segs)
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    pub(crate) fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn segments(&self) -> &[Seg] {
        &self.0
    }

    /// True when `self` is `prefix` or lies inside it.
    pub(crate) fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(key) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    // Quote keys that TOML would need quoted, so the printed path
                    // is unambiguous and can be pasted back into a search.
                    let bare = !key.is_empty()
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                    if bare {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_keys_indices_and_quoted_keys() {
        let p = KeyPath::root().key("server").key("api_tokens").index(0);
        assert_eq!(p.to_string(), "server.api_tokens[0]");
        let q = KeyPath::root().key("endpoints").key("a.b");
        assert_eq!(q.to_string(), "endpoints.\"a.b\"");
        assert_eq!(KeyPath::root().to_string(), "");
    }

    #[test]
    fn prefix_test_is_per_segment() {
        let a = KeyPath::root().key("flows").key("log");
        let b = a.key("lease");
        let c = KeyPath::root().key("flows").key("logx");
        assert!(b.starts_with(&a));
        assert!(a.starts_with(&a));
        assert!(!c.starts_with(&a));
    }
}
