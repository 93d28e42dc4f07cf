//! `POST /api/v1/inventory` and CSV drops: a stock feed as the inbound API receives it.
//!
//! ```json
//! {"source": "wms-eu", "mode": "delta" | "snapshot",
//!  "levels": [{"sku": "A-1", "location": "Main", "available": 12, "as_of": "2026-11-27T10:00:00Z"}]}
//! ```
//!
//! `mode` defaults to `delta`, `as_of` to the time of receipt. A CSV drop has rows of
//! `sku,location,available[,as_of]`; a file whose name starts with `snapshot` is a snapshot.
//! A feed is stored as items of up to [`CHUNK_LEVELS`] levels each.

use serde_json::{Map, Value};

use super::feed::{CHUNK_LEVELS, Chunk, FLOW, KIND_LEVELS, Level, Mode};
use crate::inbound::{Accepted, Decode, Fields, Parsed, Resource};
use crate::item::NewItem;

/// Longest SKU or location name.
const MAX_NAME: usize = 255;
/// Largest quantity accepted.
const MAX_AVAILABLE: i64 = 1_000_000_000;

/// The inventory API's resource.
pub struct StockFeed;

/// A feed's top-level fields beside `source` and `levels`.
pub struct FeedHead {
    pub mode: Mode,
}

impl Decode for FeedHead {
    const FIELDS: &'static [&'static str] = &["mode"];

    fn decode(f: &mut Fields<'_>) -> Option<FeedHead> {
        let mode = f.opt_choice(
            "mode",
            &[("delta", Mode::Delta), ("snapshot", Mode::Snapshot)],
        );
        f.ok()?;
        Some(FeedHead {
            mode: mode.unwrap_or(Mode::Delta),
        })
    }
}

impl Decode for Level {
    const FIELDS: &'static [&'static str] = &["sku", "location", "available", "as_of"];

    fn decode(f: &mut Fields<'_>) -> Option<Level> {
        let sku = f.text("sku", MAX_NAME);
        let location = f.text("location", MAX_NAME);
        let available = f.whole("available", 0..=MAX_AVAILABLE);
        let as_of = f.opt_time("as_of");
        f.ok()?;
        Some(Level {
            sku: sku?,
            location: location?,
            available: available?,
            as_of: as_of.unwrap_or(f.received_at()),
        })
    }
}

impl Resource for StockFeed {
    const PATH: &'static str = "inventory";
    const LIST: &'static str = "levels";
    const NOUN: &'static str = "feed";
    const CSV_REQUIRED: usize = 3;
    type Head = FeedHead;
    type Entry = Level;

    fn csv_head(file: &str) -> Option<FeedHead> {
        let mode = if file.to_ascii_lowercase().starts_with("snapshot") {
            Mode::Snapshot
        } else {
            Mode::Delta
        };
        Some(FeedHead { mode })
    }

    fn items(feed: Accepted<StockFeed>, id: &str) -> Vec<NewItem> {
        chunks(feed.entries)
            .into_iter()
            .enumerate()
            .map(|(i, levels)| {
                let chunk = Chunk {
                    source: feed.source.clone(),
                    mode: feed.head.mode,
                    feed: id.to_string(),
                    levels,
                };
                NewItem::new(
                    FLOW,
                    KIND_LEVELS,
                    format!("{}/{id}#{i}", feed.source),
                    chunk.encode(),
                )
            })
            .collect()
    }

    fn answer(feed: &Accepted<StockFeed>, answer: &mut Map<String, Value>) {
        answer.insert("mode".into(), feed.head.mode.as_str().into());
        answer.insert("levels".into(), feed.entries.len().into());
    }
}

/// A feed of `levels` as the intake would have accepted it (for tools and tests that feed the
/// flow directly).
pub fn feed(source: &str, mode: Mode, levels: Vec<Level>) -> Parsed {
    Parsed::new(Accepted::<StockFeed> {
        source: source.to_string(),
        head: FeedHead { mode },
        entries: levels,
    })
}

/// The levels in chunks of at most [`CHUNK_LEVELS`], in order.
pub fn chunks(levels: Vec<Level>) -> Vec<Vec<Level>> {
    let mut chunks = Vec::with_capacity(levels.len().div_ceil(CHUNK_LEVELS));
    let mut rest = levels.into_iter().peekable();
    while rest.peek().is_some() {
        chunks.push(rest.by_ref().take(CHUNK_LEVELS).collect());
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::json;

    fn parse(text: &str) -> Result<Accepted<StockFeed>, crate::inbound::Report> {
        json::parse::<StockFeed>(text.as_bytes(), 100_000, 7)
    }

    #[test]
    fn a_valid_feed_in_chunks() {
        let levels: Vec<String> = (0..2500)
            .map(|i| format!(r#"{{"sku":"S{i}","location":"Main","available":{i}}}"#))
            .collect();
        let text = format!(
            r#"{{"levels":[{}],"source":"wms","mode":"snapshot"}}"#,
            levels.join(",")
        );
        let feed = parse(&text).unwrap();
        assert_eq!(feed.source, "wms");
        assert_eq!(feed.head.mode, Mode::Snapshot);
        assert_eq!(feed.entries[0].as_of, 7);
        let items = StockFeed::items(feed, "f1");
        let chunks: Vec<Chunk> = items
            .iter()
            .map(|i| Chunk::decode(&i.payload).unwrap())
            .collect();
        assert_eq!(
            chunks.iter().map(|c| c.levels.len()).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        assert_eq!(chunks[2].levels[499].available, 2499);
        assert_eq!(items[2].key, "wms/f1#2");
        assert!(
            chunks
                .iter()
                .all(|c| c.feed == "f1" && c.mode == Mode::Snapshot)
        );
    }

    #[test]
    fn a_bad_source_is_reported_once_and_a_missing_one_as_required() {
        let long = "w".repeat(1000);
        let text = format!(r#"{{"source":"{long}","levels":[]}}"#);
        let report = parse(&text).err().unwrap();
        let source: Vec<&String> = report
            .errors
            .iter()
            .filter(|e| e.starts_with("source"))
            .collect();
        assert_eq!(source.len(), 1, "{source:?}");
        assert!(source[0].contains("at most"), "{source:?}");
        let report = parse(r#"{"levels":[]}"#).err().unwrap();
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.starts_with("source: required")),
            "{:?}",
            report.errors
        );
    }

    #[test]
    fn names_every_bad_entry() {
        let text = r#"{"source":"wms","mode":"sometimes","extra":1,"levels":[
            {"sku":"A","location":"Main","available":1,"as_of":"2026-11-27T10:00:00+01:00"},
            {"location":"Main","available":-3},
            {"sku":"B","location":"Main","available":1.5,"colour":"red"},
            {"sku":"C","location":"","available":"7","as_of":"yesterday"},
            42
        ]}"#;
        let report = parse(text).err().unwrap();
        let all = report.errors.join("\n");
        for needle in [
            "mode: expected \"delta\" or \"snapshot\"",
            "extra: unknown field; expected source, mode, levels",
            "levels[1].sku: missing",
            "levels[1].available: must not be negative, found -3",
            "levels[2].available: must be a whole number, found 1.5",
            "levels[2].colour: unknown field",
            "levels[3].location: expected a non-empty string",
            "levels[3].available: expected a whole number, found \"7\"",
            "levels[3].as_of: expected an RFC 3339 time",
            "levels[4]: expected an object",
        ] {
            assert!(all.contains(needle), "{needle:?} missing from:\n{all}");
        }
        assert_eq!(report.count, report.errors.len());
        assert!(!all.contains("levels[0]"), "{all}");
    }

    #[test]
    fn refuses_broken_json_missing_parts_and_too_many_levels() {
        let r = parse(r#"{"source":"wms","levels":[{"sku":"A""#)
            .err()
            .unwrap();
        assert!(
            r.errors[0].starts_with("the body is not a valid feed"),
            "{r:?}"
        );
        let r = parse(r#"{"mode":"delta"}"#).err().unwrap();
        assert_eq!(r.count, 2, "{r:?}");
        let r = parse(r#"{"source":"wms","levels":{}}"#).err().unwrap();
        assert_eq!(r.errors, ["levels: expected a list, found an object"]);
        let r = json::parse::<StockFeed>(
            br#"{"source":"w","levels":[{"sku":"A","location":"M","available":1},{"sku":"B","location":"M","available":1}]}"#
                .as_slice(),
            1,
            0,
        )
        .err()
        .unwrap();
        assert_eq!(r.errors, ["levels: more than 1 levels; split the feed"]);
        let r = parse(r#"{"source":"wms","levels":[]} trailing"#)
            .err()
            .unwrap();
        assert!(r.errors[0].contains("trailing"), "{r:?}");
    }

    #[test]
    fn csv_drops_keep_good_lines_and_name_bad_ones() {
        let text = "sku,location,available,as_of\n\
                    A-1,Main,5\n\
                    A-2,Main,-1\n\
                    \"B,1\",Main,7,2026-11-27T10:00:00Z\n\
                    C-1,Main\n\
                    C-2,Main,3,not-a-time\n\
                    C-3,Main,2.5\n\
                    \"D\nE\",Main,4\n\
                    \"F,Main,1\n";
        let head = StockFeed::csv_head("stock.csv").unwrap();
        let (feed, report) =
            crate::inbound::csv::parse::<StockFeed>(text.as_bytes(), "csv:x".into(), head, 9);
        let feed = feed.unwrap();
        assert_eq!(feed.head.mode, Mode::Delta);
        let skus: Vec<&str> = feed.entries.iter().map(|l| l.sku.as_str()).collect();
        assert_eq!(skus, ["A-1", "B,1", "D\nE"]);
        assert_eq!(feed.entries[0].as_of, 9);
        let all = report.errors.join("\n");
        for needle in [
            "line 3: available: must not be negative",
            "line 5: expected 3 or 4 fields (sku,location,available[,as_of]), found 2",
            "line 6: as_of: expected an RFC 3339 time",
            "line 7: available: must be a whole number",
            "line 10: expected 3 or 4 fields",
        ] {
            assert!(all.contains(needle), "{needle:?} missing from:\n{all}");
        }
        assert_eq!(report.count, 5, "{all}");
        assert_eq!(
            StockFeed::csv_head("Snapshot-0401.csv").map(|h| h.mode),
            Some(Mode::Snapshot)
        );
    }
}
