//! The record of what one entity counted in the rollups: its contribution, and the version it
//! was counted at if any. Every order writes one, so it is kept small and quick to write.
//!
//! A record is a tag byte, the version if the tag says so (8 bytes, big-endian), then the
//! contribution. Current records are binary ([`BINARY`], [`BINARY_VERSIONED`]): the counter
//! names once, then each bucket's name as what it shares with the previous bucket's name and
//! the rest (an order's buckets share most of theirs: `inventory/day/2026-11-28/SKU-00…`),
//! and its counters as name indexes and zigzag varints. Records written before are JSON,
//! alone (starting with `{`) or after [`JSON_VERSIONED`] and the version; they are read as
//! they are.

use std::collections::BTreeMap;

use super::StoreError;
use super::rollups::{Contribution, Counters};

/// What an entity counted, and at which version if it was counted with one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Counted {
    pub version: Option<u64>,
    pub contribution: Contribution,
}

const JSON_VERSIONED: u8 = 1;
const BINARY: u8 = 2;
const BINARY_VERSIONED: u8 = 3;

impl Counted {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        match self.version {
            Some(v) => {
                out.push(BINARY_VERSIONED);
                out.extend_from_slice(&v.to_be_bytes());
            }
            None => out.push(BINARY),
        }
        let mut names: Vec<&str> = Vec::new();
        for counters in self.contribution.0.values() {
            for name in counters.keys() {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        put_varint(&mut out, names.len() as u64);
        for name in &names {
            put_bytes(&mut out, name.as_bytes());
        }
        put_varint(&mut out, self.contribution.0.len() as u64);
        let mut previous: &[u8] = &[];
        for (bucket, counters) in &self.contribution.0 {
            let bucket = bucket.as_bytes();
            let shared = bucket
                .iter()
                .zip(previous)
                .take_while(|(a, b)| a == b)
                .count();
            put_varint(&mut out, shared as u64);
            put_bytes(&mut out, &bucket[shared..]);
            put_varint(&mut out, counters.len() as u64);
            for (name, value) in counters {
                let index = names.iter().position(|n| n == name).unwrap_or(0);
                put_varint(&mut out, index as u64);
                put_varint(&mut out, zigzag(*value));
            }
            previous = bucket;
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Counted, StoreError> {
        match bytes.split_first() {
            Some((&BINARY, rest)) => Ok(Counted {
                version: None,
                contribution: Reader(rest).contribution()?,
            }),
            Some((&BINARY_VERSIONED, rest)) => {
                let mut r = Reader(rest);
                let version = r.version()?;
                Ok(Counted {
                    version: Some(version),
                    contribution: r.contribution()?,
                })
            }
            Some((&JSON_VERSIONED, rest)) => {
                let mut r = Reader(rest);
                let version = r.version()?;
                Ok(Counted {
                    version: Some(version),
                    contribution: json(r.0)?,
                })
            }
            _ => Ok(Counted {
                version: None,
                contribution: json(bytes)?,
            }),
        }
    }
}

fn json(bytes: &[u8]) -> Result<Contribution, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(&e.to_string()))
}

fn corrupt(why: &str) -> StoreError {
    StoreError::Corrupt(format!("rollup contribution: {why}"))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads a record's parts, refusing anything cut short or out of range.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn version(&mut self) -> Result<u64, StoreError> {
        let (v, rest) = self
            .0
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt("a short version"))?;
        self.0 = rest;
        Ok(u64::from_be_bytes(*v))
    }

    fn varint(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first().ok_or_else(|| corrupt("cut short"))?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("a number too long"))
    }

    /// A count of things that each take at least a byte: never more than what is left.
    fn count(&mut self) -> Result<usize, StoreError> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.0.len())
            .ok_or_else(|| corrupt("a count beyond its record"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.count()?;
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(b)
    }

    fn text(&mut self) -> Result<&'a str, StoreError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| corrupt("a name is not UTF-8"))
    }

    fn contribution(&mut self) -> Result<Contribution, StoreError> {
        let names = (0..self.count()?)
            .map(|_| self.text())
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = BTreeMap::new();
        let mut previous = String::new();
        for _ in 0..self.count()? {
            let shared = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
            let mut bucket = previous
                .get(..shared)
                .ok_or_else(|| corrupt("a bucket shares more than its predecessor has"))?
                .to_string();
            bucket.push_str(self.text()?);
            let mut counters = Counters::new();
            for _ in 0..self.count()? {
                let index = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
                let name = names
                    .get(index)
                    .ok_or_else(|| corrupt("an unknown counter"))?;
                counters.insert((*name).to_string(), unzigzag(self.varint()?));
            }
            out.insert(bucket.clone(), counters);
            previous = bucket;
        }
        if !self.0.is_empty() {
            return Err(corrupt("bytes after its end"));
        }
        Ok(Contribution(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Contribution {
        let mut c = Contribution::default();
        c.add("sales/day/2026-12-01/web/USD", "gross", 100_0000);
        c.add("sales/day/2026-12-01/web/USD", "tax", -7_2000);
        c.add("inventory/day/2026-12-01/SKU-0001/none", "sold", 2);
        c.add("inventory/day/2026-12-01/SKU-0002/none", "sold", 1);
        c.add(
            "inventory/day/2026-12-01/SKU-0002/none",
            "sales:USD",
            i64::MIN,
        );
        c.add("customers/id/42", "2026-12-01/USD/o", i64::MAX);
        c
    }

    #[test]
    fn records_read_back_and_the_json_ones_written_before_still_read() {
        for version in [None, Some(1_764_547_200_000)] {
            let counted = Counted {
                version,
                contribution: sample(),
            };
            assert_eq!(Counted::decode(&counted.encode()).unwrap(), counted);
        }
        let json = serde_json::to_vec(&sample()).unwrap();
        let legacy = Counted::decode(&json).unwrap();
        assert_eq!((legacy.version, legacy.contribution), (None, sample()));
        let versioned = [&[JSON_VERSIONED][..], &7u64.to_be_bytes(), &json].concat();
        assert_eq!(Counted::decode(&versioned).unwrap().version, Some(7));
        // Smaller than the JSON it replaces: every order writes one.
        assert!(Counted::default().encode().len() < 4);
        let mut order = Contribution::default();
        for n in 0..24 {
            let bucket = format!("inventory/day/2026-12-01/SKU-{n:04}/none");
            order.add_all(
                bucket,
                &[("sold", 2), ("units:USD", 2), ("sales:USD", 48_0000)],
            );
        }
        let json = serde_json::to_vec(&order).unwrap();
        let binary = Counted {
            version: Some(1),
            contribution: order,
        };
        assert!(binary.encode().len() * 3 < json.len());
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_panic() {
        let good = Counted {
            version: Some(9),
            contribution: sample(),
        }
        .encode();
        for cut in 0..good.len() {
            let _ = Counted::decode(&good[..cut]);
        }
        assert!(Counted::decode(&good[..good.len() - 1]).is_err());
        assert!(Counted::decode(&[BINARY, 0, 1, 9]).is_err());
        assert!(Counted::decode(&[BINARY_VERSIONED, 1]).is_err());
    }

    proptest! {
        #[test]
        fn any_contribution_reads_back(
            entries in proptest::collection::vec(("[a-z/0-9]{0,12}", "[a-z:]{1,6}", -(1i64 << 60)..(1i64 << 60)), 0..20),
            version in proptest::option::of(any::<u64>()),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut contribution = Contribution::default();
            for (bucket, counter, n) in &entries {
                contribution.add(bucket, counter, *n);
            }
            let counted = Counted { version, contribution };
            prop_assert_eq!(Counted::decode(&counted.encode()).unwrap(), counted);
            let _ = Counted::decode(&[&[BINARY][..], &noise].concat());
        }
    }
}
