//! Delivery as a file drop, for the warehouses and 3PLs that still take files: each item is one
//! JSON line (or CSV row) appended with a single write and fsync'd before it counts as done.
//! Files rotate daily and by size; a line torn by a crash is cut off when the file is reopened.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::{FileFormat, FileSpec};

pub struct FileSink {
    name: String,
    spec: FileSpec,
    current: Option<Open>,
}

struct Open {
    path: PathBuf,
    file: File,
    size: u64,
    day: String,
}

impl FileSink {
    pub fn new(name: &str, spec: FileSpec) -> FileSink {
        FileSink {
            name: name.to_string(),
            spec,
            current: None,
        }
    }

    /// Appends one record and makes it durable.
    pub fn append(&mut self, key: &str, body: &[u8], today: &str) -> std::io::Result<PathBuf> {
        let record = self.render(key, body)?;
        let rotate = match &self.current {
            Some(open) => {
                open.day != today
                    || (open.size > 0 && open.size + record.len() as u64 > self.spec.max_bytes)
            }
            None => true,
        };
        if rotate {
            self.current = Some(self.open_next(today)?);
        }
        let Some(open) = self.current.as_mut() else {
            return Err(std::io::Error::other("no file open"));
        };
        let mut out = Vec::with_capacity(record.len() + 256);
        if open.size == 0
            && let FileFormat::Csv { columns } = &self.spec.format
        {
            out.extend_from_slice(csv_row(columns.iter().map(|c| c.to_string())).as_bytes());
        }
        out.extend_from_slice(&record);
        open.file.write_all(&out)?;
        open.file.sync_data()?;
        open.size += out.len() as u64;
        Ok(open.path.clone())
    }

    fn render(&self, key: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(std::io::Error::other)?;
        match &self.spec.format {
            FileFormat::Jsonl => {
                // The idempotency key travels with the record so the reader can drop a
                // redelivery.
                let line = match value {
                    serde_json::Value::Object(mut map) => {
                        map.insert("idempotency_key".into(), key.into());
                        serde_json::Value::Object(map)
                    }
                    other => serde_json::json!({ "idempotency_key": key, "record": other }),
                };
                let mut bytes = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
                bytes.push(b'\n');
                Ok(bytes)
            }
            FileFormat::Csv { columns } => {
                let cell = |c: &str| match c {
                    "idempotency_key" => key.to_string(),
                    _ => match value.pointer(&format!("/{}", c.replace('.', "/"))) {
                        None | Some(serde_json::Value::Null) => String::new(),
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                    },
                };
                Ok(csv_row(columns.iter().map(|c| cell(c))).into_bytes())
            }
        }
    }

    /// Opens the next file of `today`: `NAME-YYYY-MM-DD-NNNN.ext`, continuing the last one if it
    /// has room.
    fn open_next(&mut self, today: &str) -> std::io::Result<Open> {
        if !self.spec.dir.exists() {
            std::fs::create_dir_all(&self.spec.dir)?;
            // Whoever may read the files may list the directory: 0640 files, a 0750 directory.
            let mode = self.spec.mode | ((self.spec.mode & 0o444) >> 2);
            std::fs::set_permissions(&self.spec.dir, Permissions::from_mode(mode))?;
        }
        let ext = match self.spec.format {
            FileFormat::Jsonl => "jsonl",
            FileFormat::Csv { .. } => "csv",
        };
        // The file being rotated away from is full by definition, whatever its size says.
        let leaving = self.current.as_ref().map(|o| o.path.clone());
        let mut seq = 0u32;
        loop {
            let path = self
                .spec
                .dir
                .join(format!("{}-{today}-{seq:04}.{ext}", self.name));
            let exists = path.exists();
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .open(&path)?;
            if !exists {
                // Explicitly: the daemon's umask keeps what it creates private, and an export
                // for the back office is meant to be shared as configured.
                file.set_permissions(Permissions::from_mode(self.spec.mode))?;
            }
            let size = repair_tail(&mut file)?;
            let full = size > 0 && (size >= self.spec.max_bytes || leaving.as_ref() == Some(&path));
            if !full {
                if !exists {
                    // The new name must survive a crash too.
                    File::open(&self.spec.dir)?.sync_all()?;
                }
                return Ok(Open {
                    path,
                    file,
                    size,
                    day: today.to_string(),
                });
            }
            seq += 1;
        }
    }
}

/// Cuts off a partial last line left by a crash mid-write, so the file holds whole records.
fn repair_tail(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    let window = len.min(64 * 1024);
    file.seek(SeekFrom::Start(len - window))?;
    let mut tail = vec![0u8; window as usize];
    file.read_exact(&mut tail)?;
    if tail.last() == Some(&b'\n') {
        return Ok(len);
    }
    let keep = match tail.iter().rposition(|b| *b == b'\n') {
        Some(i) => len - window + i as u64 + 1,
        None if window == len => 0,
        None => return Ok(len),
    };
    file.set_len(keep)?;
    file.sync_data()?;
    Ok(keep)
}

fn csv_row(cells: impl Iterator<Item = String>) -> String {
    let mut row: Vec<String> = Vec::new();
    for c in cells {
        if c.contains([',', '"', '\n', '\r']) {
            row.push(format!("\"{}\"", c.replace('"', "\"\"")));
        } else {
            row.push(c);
        }
    }
    let mut line = row.join(",");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &std::path::Path, format: FileFormat, max_bytes: u64) -> FileSpec {
        FileSpec {
            dir: dir.to_path_buf(),
            format,
            max_bytes,
            mode: 0o640,
        }
    }

    #[test]
    fn files_and_a_new_directory_get_the_configured_mode_whatever_the_umask() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("exports");
        let mut sink = FileSink::new("wms", spec(&dir, FileFormat::Jsonl, 1 << 20));
        let path = sink
            .append("1", br##"{"order":"#1001"}"##, "2026-11-27")
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o640);
        assert_eq!(mode(&dir), 0o750);
    }

    #[test]
    fn appends_lines_rotates_by_day_and_size_and_repairs_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FileSink::new("wms", spec(dir.path(), FileFormat::Jsonl, 120));
        let a = sink
            .append("1", br##"{"order":"#1001"}"##, "2026-11-27")
            .unwrap();
        sink.append("2", br##"{"order":"#1002"}"##, "2026-11-27")
            .unwrap();
        let text = std::fs::read_to_string(&a).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(
            text.contains(r##"{"idempotency_key":"1","order":"#1001"}"##),
            "{text}"
        );
        // Past 120 bytes: a new file the same day.
        let b = sink
            .append(
                "3",
                br##"{"order":"#1003","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"##,
                "2026-11-27",
            )
            .unwrap();
        assert_ne!(a, b);
        assert!(b.to_string_lossy().ends_with("wms-2026-11-27-0001.jsonl"));
        let c = sink
            .append("4", br##"{"order":"#1004"}"##, "2026-11-28")
            .unwrap();
        assert!(c.to_string_lossy().ends_with("wms-2026-11-28-0000.jsonl"));

        // A crash left half a line: a new writer cuts it off before appending.
        let mut f = OpenOptions::new().append(true).open(&c).unwrap();
        f.write_all(b"{\"order\":\"#10").unwrap();
        let mut sink = FileSink::new("wms", spec(dir.path(), FileFormat::Jsonl, 1 << 20));
        sink.append("5", br##"{"order":"#1005"}"##, "2026-11-28")
            .unwrap();
        let text = std::fs::read_to_string(&c).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        );
    }

    #[test]
    fn csv_has_a_header_and_escapes_cells() {
        let dir = tempfile::tempdir().unwrap();
        let columns = vec![
            "idempotency_key".to_string(),
            "name".to_string(),
            "customer.email".to_string(),
        ];
        let mut sink = FileSink::new(
            "3pl",
            spec(dir.path(), FileFormat::Csv { columns }, 1 << 20),
        );
        let path = sink
            .append(
                "9",
                br##"{"name":"#1001, rush","customer":{"email":"a@b.c"}}"##,
                "2026-11-27",
            )
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            "idempotency_key,name,customer.email\n9,\"#1001, rush\",a@b.c\n"
        );
        assert!(sink.append("10", b"not json", "2026-11-27").is_err());
    }
}
