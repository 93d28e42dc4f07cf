//! A `multipart/form-data` reader (RFC 7578) for the staged-upload form, enough for what
//! browsers, curl and reqwest send: a boundary from the `Content-Type`, parts with
//! `Content-Disposition: form-data; name="…"; filename="…"` and an optional `Content-Type`.
//! Line breaks are CRLF as the RFC says; bare LF is tolerated because hand-written clients
//! send it. Part bodies are borrowed from the request body, so a 100 MiB file is not copied.

/// One part of the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    /// Present on file parts.
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub body: &'a [u8],
}

/// The boundary of a `multipart/form-data` content type; `None` for any other type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = split_params(content_type).into_iter();
    let kind = params.next()?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .filter_map(|p| param(&p))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty() && b.len() <= 200)
}

/// The parts of `body`, in order. `Err` says why the body is not a form with this boundary.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let Some(start) = find(body, delimiter, 0) else {
        return Err("the body does not contain the multipart boundary".into());
    };
    let mut at = start + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding may follow a delimiter before its line break.
        while body.get(at).is_some_and(|b| *b == b' ' || *b == b'\t') {
            at += 1;
        }
        at = skip_line_break(body, at)
            .ok_or_else(|| "a multipart boundary is not followed by a line break".to_string())?;
        let (headers, body_start) = headers_end(body, at)
            .ok_or_else(|| "a multipart part has no end of headers".to_string())?;
        let headers = std::str::from_utf8(&body[at..headers])
            .map_err(|_| "multipart part headers are not UTF-8".to_string())?;
        let (end, next) = next_delimiter(body, body_start, delimiter)
            .ok_or_else(|| "the multipart body ends without its closing boundary".to_string())?;
        parts.push(part(headers, &body[body_start..end])?);
        at = next;
    }
}

/// The part's name, filename and content type from its headers.
fn part<'a>(headers: &str, body: &'a [u8]) -> Result<Part<'a>, String> {
    let mut disposition = None;
    let mut content_type = None;
    for line in headers.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim().to_string());
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_string());
        }
    }
    let disposition =
        disposition.ok_or_else(|| "a multipart part has no Content-Disposition".to_string())?;
    let mut params = split_params(&disposition).into_iter();
    if !params
        .next()
        .is_some_and(|k| k.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err(format!("a multipart part is not form-data: {disposition}"));
    }
    let (mut name, mut filename) = (None, None);
    for (key, value) in params.filter_map(|p| param(&p)) {
        if key.eq_ignore_ascii_case("name") {
            name = Some(value);
        } else if key.eq_ignore_ascii_case("filename") {
            filename = Some(value);
        }
    }
    Ok(Part {
        name: name.ok_or_else(|| format!("a multipart part has no name: {disposition}"))?,
        filename,
        content_type,
        body,
    })
}

/// Split a header value on the `;` that are outside quotes.
fn split_params(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        let current = out.last_mut();
        match (c, quoted, escaped) {
            (_, true, true) => escaped = false,
            ('\\', true, false) => escaped = true,
            ('"', _, false) => quoted = !quoted,
            (';', false, _) => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(current) = current {
            current.push(c);
        }
    }
    out
}

/// `key=value` or `key="quoted value"`, unquoted.
fn param(text: &str) -> Option<(String, String)> {
    let (key, value) = text.split_once('=')?;
    let value = value.trim();
    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            out
        }
        None => value.to_string(),
    };
    Some((key.trim().to_string(), value))
}

fn skip_line_break(body: &[u8], at: usize) -> Option<usize> {
    if body[at..].starts_with(b"\r\n") {
        Some(at + 2)
    } else if body[at..].starts_with(b"\n") {
        Some(at + 1)
    } else {
        None
    }
}

/// Where a part's headers end and its body starts: after the first empty line.
fn headers_end(body: &[u8], at: usize) -> Option<(usize, usize)> {
    // A part without headers starts with the empty line itself.
    if let Some(after) = skip_line_break(body, at) {
        return Some((at, after));
    }
    let mut line = at;
    loop {
        let lf = line + body[line..].iter().position(|b| *b == b'\n')?;
        let next = lf + 1;
        if let Some(after) = skip_line_break(body, next) {
            return Some((next, after));
        }
        line = next;
    }
}

/// The end of the part body starting at `from` (before the line break that precedes the
/// next delimiter) and the position right after that delimiter.
fn next_delimiter(body: &[u8], from: usize, delimiter: &[u8]) -> Option<(usize, usize)> {
    let mut search = from;
    loop {
        let found = find(body, delimiter, search)?;
        let after = found + delimiter.len();
        let end = if found >= from + 2 && &body[found - 2..found] == b"\r\n" {
            Some(found - 2)
        } else if found > from && body[found - 1] == b'\n' {
            Some(found - 1)
        } else {
            None
        };
        // A delimiter is a whole line (or the closing `--`); the boundary's text anywhere
        // else is content, however careless the sender was in choosing it.
        let whole_line = {
            let rest = &body[after..];
            let padding = rest
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .count();
            rest.starts_with(b"--")
                || rest[padding..].starts_with(b"\n")
                || rest[padding..].starts_with(b"\r\n")
        };
        match end {
            Some(end) if whole_line => return Some((end, after)),
            _ => search = found + 1,
        }
    }
}

/// The first position of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let offset = haystack[at..].iter().position(|b| *b == first)?;
        let candidate = at + offset;
        if haystack.get(candidate..candidate + needle.len()) == Some(needle) {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_come_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc123").as_deref(),
            Some("abc123")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;boundary=\"a;b c\"").as_deref(),
            Some("a;b c")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn fields_and_files_are_read_in_order() {
        let body = b"preamble\r\n--XB\r\n\
            Content-Disposition: form-data; name=\"key\"\r\n\r\n\
            tmp/1/bulk/x/vars.jsonl\r\n\
            --XB\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"vars \\\"1\\\".jsonl\"\r\n\
            Content-Type: text/jsonl\r\n\r\n\
            {\"a\":1}\r\n--XBnot-a-delimiter\r\n{\"b\":2}\r\n\r\n\
            --XB--\r\n";
        let parts = parse(body, "XB").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "key");
        assert_eq!(parts[0].body, b"tmp/1/bulk/x/vars.jsonl");
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[1].name, "file");
        assert_eq!(parts[1].filename.as_deref(), Some("vars \"1\".jsonl"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/jsonl"));
        assert_eq!(
            parts[1].body,
            b"{\"a\":1}\r\n--XBnot-a-delimiter\r\n{\"b\":2}\r\n".as_slice()
        );
    }

    #[test]
    fn bare_line_feeds_and_empty_bodies_are_tolerated() {
        let body = b"--b\nContent-Disposition: form-data; name=\"a\"\n\n\n--b\n\
            Content-Disposition: form-data; name=b\n\nx\n--b--";
        let parts = parse(body, "b").unwrap();
        assert_eq!(parts[0].body, b"");
        assert_eq!(
            (parts[1].name.as_str(), parts[1].body),
            ("b", b"x".as_slice())
        );
    }

    #[test]
    fn broken_bodies_are_errors() {
        assert!(parse(b"no boundary here", "b").is_err());
        assert!(
            parse(
                b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",
                "b"
            )
            .is_err()
        );
        assert!(parse(b"--b\r\nX-Other: 1\r\n\r\nx\r\n--b--", "b").is_err());
        assert!(
            parse(
                b"--b\r\nContent-Disposition: attachment\r\n\r\nx\r\n--b--",
                "b"
            )
            .is_err()
        );
    }
}
