//! Key paths such as `flows.orders.targets` or `server.api_tokens[0]`.
//!
//! Kept as segments rather than a string so that keys containing dots cannot be
//! confused with nesting, and so that "is this error inside a value we already
//! reported?" is a prefix test instead of string matching.

use std::fmt;

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPath(Vec<Seg>);

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl KeyPath {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        Self(segs)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    /// The table holding the last segment; the root's parent is the root.
    pub fn parent(&self) -> Self {
        let mut segs = self.0.clone();
        segs.pop();
        Self(segs)
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn segments(&self) -> &[Seg] {
        &self.0
    }

    /// `rest` appended to `self`: a section's own path under the section's place in the file.
    pub fn join(&self, rest: &KeyPath) -> Self {
        let mut segs = self.0.clone();
        segs.extend(rest.0.iter().cloned());
        Self(segs)
    }

    /// True when `self` is `prefix` or lies inside it.
    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
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
