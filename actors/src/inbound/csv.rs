//! The CSV front end: one entry per row, RFC 4180 quoting (a quoted field may hold commas,
//! quotes and newlines), read with the `csv` crate. Without a header row the columns are the
//! entry's fields in order (the first `CSV_REQUIRED` of them required); a first row that starts
//! with a field's name is a header, and names the columns. Unlike a JSON request, a
//! drop keeps its good rows: a file is not resent, so the report names the bad ones for a
//! person to fix.

use super::fields::{Decode, Fields};
use super::report::Report;
use super::{Accepted, Resource};

/// Parses `bytes` as rows of `R`'s entries: the request of the good rows (if any), and the
/// report of the bad ones, by line.
pub fn parse<R: Resource>(
    bytes: &[u8],
    source: String,
    head: R::Head,
    received_at: i64,
) -> (Option<Accepted<R>>, Report) {
    let fields = R::Entry::FIELDS;
    let mut report = Report::default();
    let mut entries = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut columns: Vec<Option<String>> = fields.iter().map(|f| Some(f.to_string())).collect();
    let mut first = true;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                report.push(format!("line {line}: {}", reason(&e)));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if std::mem::take(&mut first)
            && record
                .get(0)
                .is_some_and(|cell| fields.iter().any(|name| cell.eq_ignore_ascii_case(name)))
        {
            columns = record
                .iter()
                .map(|name| {
                    let name = name.to_ascii_lowercase();
                    if fields.contains(&name.as_str()) {
                        Some(name)
                    } else {
                        report.push(format!(
                            "line {line}: {name}: unknown column; expected {} (its cells are ignored)",
                            fields.join(", ")
                        ));
                        None
                    }
                })
                .collect();
            continue;
        }
        let (least, most) = (R::CSV_REQUIRED.min(columns.len()), columns.len());
        if !(least..=most).contains(&record.len()) {
            let open = record.iter().any(|f| f.contains('\n'));
            report.push(format!(
                "line {line}: expected {} fields ({}), found {}{}",
                count(least, most),
                shape(fields, R::CSV_REQUIRED),
                record.len(),
                if open {
                    " (is a quoted field left open?)"
                } else {
                    ""
                }
            ));
            continue;
        }
        let cells = columns
            .iter()
            .zip(record.iter())
            .filter_map(|(column, cell)| Some((column.clone()?, cell.to_string())));
        let mut row = Fields::row(cells, line, received_at, &mut report);
        if let Some(entry) = R::Entry::decode(&mut row) {
            entries.push(entry);
        }
    }
    let accepted = (!entries.is_empty()).then_some(Accepted {
        source,
        head,
        entries,
    });
    (accepted, report)
}

fn reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

fn count(least: usize, most: usize) -> String {
    match most - least.min(most) {
        0 => most.to_string(),
        1 => format!("{least} or {most}"),
        _ => format!("{least} to {most}"),
    }
}

/// `sku,location,available[,as_of]`.
fn shape(fields: &[&str], required: usize) -> String {
    let (needed, optional) = fields.split_at(required.min(fields.len()));
    let mut text = needed.join(",");
    for f in optional {
        text.push_str(&format!("[,{f}]"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::{NoHead, Resource};
    use crate::item::NewItem;

    struct Row {
        name: String,
        n: i64,
    }

    impl Decode for Row {
        const FIELDS: &'static [&'static str] = &["name", "n", "note"];
        fn decode(f: &mut Fields<'_>) -> Option<Row> {
            let name = f.text("name", 100);
            let n = f.whole("n", 0..=99);
            let _ = f.opt_time("note");
            f.ok()?;
            Some(Row { name: name?, n: n? })
        }
    }

    struct Rows;

    impl Resource for Rows {
        const PATH: &'static str = "rows";
        const LIST: &'static str = "rows";
        const CSV_REQUIRED: usize = 2;
        type Head = NoHead;
        type Entry = Row;
        fn items(_: Accepted<Rows>, _: &str) -> Vec<NewItem> {
            Vec::new()
        }
    }

    fn rows(text: &str) -> (Vec<(String, i64)>, Vec<String>) {
        let (accepted, report) = parse::<Rows>(text.as_bytes(), "t".into(), NoHead, 0);
        assert_eq!(report.count, report.errors.len());
        let got = accepted
            .map(|a| a.entries.into_iter().map(|r| (r.name, r.n)).collect())
            .unwrap_or_default();
        (got, report.errors)
    }

    #[test]
    fn quoted_fields_may_hold_commas_quotes_and_newlines() {
        let (got, errors) =
            rows("\"a,b\",1\n\"say \"\"hi\"\"\",2\n\"two\nlines\",3\n\n  c  , 4 \n");
        assert_eq!(
            got,
            [
                ("a,b".to_string(), 1),
                ("say \"hi\"".into(), 2),
                ("two\nlines".into(), 3),
                ("c".into(), 4)
            ]
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn bad_rows_are_named_by_their_line() {
        let (got, errors) = rows("a,1\n\"multi\nline\",x\nb\nc,2,3,4\nd,5\n\"open,6\ne,7\n");
        assert_eq!(got, [("a".to_string(), 1), ("d".into(), 5)]);
        assert_eq!(
            errors,
            [
                "line 2: n: expected a whole number, found \"x\"",
                "line 4: expected 2 or 3 fields (name,n[,note]), found 1",
                "line 5: expected 2 or 3 fields (name,n[,note]), found 4",
                "line 7: expected 2 or 3 fields (name,n[,note]), found 1 (is a quoted field left open?)",
            ]
        );
    }

    #[test]
    fn a_header_names_the_columns() {
        let (got, errors) = rows("N,Name,colour\n3,x,red\n,y,blue\n");
        assert_eq!(got, [("x".to_string(), 3)]);
        assert_eq!(
            errors,
            [
                "line 1: colour: unknown column; expected name, n, note (its cells are ignored)",
                "line 3: n: missing"
            ]
        );
    }
}
