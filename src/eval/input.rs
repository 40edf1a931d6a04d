//! Event input: NDJSON, a JSON array, concatenated (pretty-printed) JSON objects, any of them
//! gzip-compressed, from a file or stdin.
//!
//! The format is detected from the content: gzip by its magic bytes; then a first non-blank
//! character `[` means a JSON array; a first line that is a complete JSON value means NDJSON
//! (streamed line by line, so files of any size work); otherwise the input is a sequence of
//! concatenated JSON values (the format of SigmaHQ's `regression_data`). Every record is passed
//! through [`normalize_windows`], so Windows event JSON resolves Sigma field names.
//!
//! A malformed record becomes an [`ErrorKind::Event`] error naming the file, the record number
//! and the line; reading goes on with the next record.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use serde_json::Value;

use super::event::{normalize_windows, Val};
use crate::error::{Error, ErrorKind, Result};

/// One record read from an input, not yet parsed when it came from an NDJSON line (so that
/// parsing can run in parallel).
#[derive(Debug)]
pub struct RawRecord {
    /// 1-based record number in its input.
    pub number: usize,
    /// 1-based line where the record starts.
    pub line: usize,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Text(String),
    Value(Value),
    Error(String, Option<usize>),
}

impl RawRecord {
    /// The size in bytes of the record's text, when it is still text (for throughput figures).
    #[must_use]
    pub fn text_len(&self) -> usize {
        match &self.body {
            Body::Text(t) => t.len(),
            Body::Value(_) | Body::Error(..) => 0,
        }
    }

    /// Parses (if needed) and normalises the record; the event borrows from the record.
    ///
    /// # Errors
    /// [`ErrorKind::Event`] located at `file`, the record's line and `record N`.
    pub fn parse(&self, file: &str) -> Result<Val<'_>> {
        let err = |msg: String, col: Option<usize>, line: usize| {
            Error::new(ErrorKind::Event(msg))
                .in_file(file)
                .at_line(line, col)
                .at(format!("record {}", self.number))
        };
        match &self.body {
            Body::Value(v) => Ok(normalize_windows(Val::from_value(v))),
            Body::Text(t) => match Val::parse(t) {
                Ok(v) => Ok(normalize_windows(v)),
                Err(e) => Err(err(e.to_string(), Some(e.column()), self.line)),
            },
            Body::Error(m, col) => Err(err(m.clone(), *col, self.line)),
        }
    }
}

enum Mode {
    Lines,
    Buffered(std::vec::IntoIter<RawRecord>),
}

/// Reads records from one input.
pub struct EventReader {
    name: String,
    input: Box<dyn BufRead + Send>,
    mode: Mode,
    record: usize,
    line: usize,
    pending: Option<String>,
    buf: String,
}

impl std::fmt::Debug for EventReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventReader")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl EventReader {
    /// Opens a file (`-` or `None` for stdin).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be opened or read.
    pub fn open(path: Option<&Path>) -> Result<EventReader> {
        match path {
            None => Self::from_reader("<stdin>", Box::new(io::stdin())),
            Some(p) if p.as_os_str() == "-" => Self::from_reader("<stdin>", Box::new(io::stdin())),
            Some(p) => {
                let f = File::open(p).map_err(|e| {
                    Error::new(ErrorKind::Io(e.to_string())).in_file(p.display().to_string())
                })?;
                Self::from_reader(&p.display().to_string(), Box::new(f))
            }
        }
    }

    /// Reads from any byte source; `name` is used in error locations.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the source cannot be read.
    pub fn from_reader(name: &str, r: Box<dyn Read + Send>) -> Result<EventReader> {
        let io_err = |e: io::Error| Error::new(ErrorKind::Io(e.to_string())).in_file(name);
        let mut br = BufReader::with_capacity(1 << 16, r);
        let gz = {
            let head = br.fill_buf().map_err(io_err)?;
            head.starts_with(&[0x1f, 0x8b])
        };
        let mut input: Box<dyn BufRead + Send> = if gz {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(br)))
        } else {
            Box::new(br)
        };
        // Find the first non-blank line to choose the mode.
        let mut line_no = 0;
        let mut first = String::new();
        loop {
            first.clear();
            let n = input.read_line(&mut first).map_err(io_err)?;
            line_no += 1;
            if n == 0 || !first.trim().is_empty() {
                break;
            }
        }
        let t = first.trim_start_matches('\u{feff}').trim();
        let mut reader = EventReader {
            name: name.to_string(),
            input,
            mode: Mode::Lines,
            record: 0,
            line: line_no - 1,
            pending: None,
            buf: String::new(),
        };
        if t.is_empty() {
            return Ok(reader);
        }
        let whole_line = serde_json::from_str::<serde::de::IgnoredAny>(t);
        let lines = !t.starts_with('[') && !matches!(&whole_line, Err(e) if e.is_eof());
        if lines {
            reader.pending = Some(first);
        } else {
            let mut all = first;
            reader.input.read_to_string(&mut all).map_err(io_err)?;
            let recs = split_values(&all, line_no);
            reader.mode = Mode::Buffered(recs.into_iter());
        }
        Ok(reader)
    }

    /// The input's name as used in errors.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Up to `max` records; `None` at the end. I/O errors end the input with one error record.
    pub fn next_batch(&mut self, max: usize) -> Option<Vec<RawRecord>> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.next_raw() {
                Some(r) => out.push(r),
                None => break,
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn next_raw(&mut self) -> Option<RawRecord> {
        match &mut self.mode {
            Mode::Buffered(it) => it.next(),
            Mode::Lines => loop {
                let text = if let Some(p) = self.pending.take() {
                    p
                } else {
                    self.buf.clear();
                    match self.input.read_line(&mut self.buf) {
                        Ok(0) => return None,
                        Ok(_) => std::mem::take(&mut self.buf),
                        Err(e) => {
                            self.record += 1;
                            self.line += 1;
                            let r = RawRecord {
                                number: self.record,
                                line: self.line,
                                body: Body::Error(format!("read error: {e}"), None),
                            };
                            self.mode = Mode::Buffered(Vec::new().into_iter());
                            return Some(r);
                        }
                    }
                };
                self.line += 1;
                if text.trim().is_empty() {
                    continue;
                }
                self.record += 1;
                return Some(RawRecord {
                    number: self.record,
                    line: self.line,
                    body: Body::Text(text),
                });
            },
        }
    }
}

impl Iterator for EventReader {
    type Item = (usize, Result<Value>);

    /// The next record number and its parsed, normalised event (or its error).
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.next_raw()?;
        Some((r.number, r.parse(&self.name).map(|v| v.to_value())))
    }
}

/// Splits text holding a JSON array or concatenated JSON values into records. After a
/// malformed value, reading resumes at the next line that starts with `{` or `[`.
fn split_values(all: &str, first_line: usize) -> Vec<RawRecord> {
    let line_of = |off: usize| first_line + all[..off].bytes().filter(|&b| b == b'\n').count();
    let mut out = Vec::new();
    let trimmed = all.trim_start();
    if trimmed.starts_with('[') {
        let start = all.len() - trimmed.len();
        match serde_json::from_str::<Vec<Value>>(all) {
            Ok(vs) => out.extend(vs.into_iter().enumerate().map(|(i, v)| RawRecord {
                number: i + 1,
                line: line_of(start),
                body: Body::Value(v),
            })),
            Err(e) => out.push(RawRecord {
                number: 1,
                line: first_line + e.line().saturating_sub(1),
                body: Body::Error(format!("JSON array: {e}"), Some(e.column())),
            }),
        }
        return out;
    }
    let mut off = 0;
    let mut number = 0;
    while off < all.len() {
        let rest = &all[off..];
        let skip = rest.len() - rest.trim_start().len();
        off += skip;
        if off >= all.len() {
            break;
        }
        number += 1;
        let mut de = serde_json::Deserializer::from_str(&all[off..]).into_iter::<Value>();
        match de.next() {
            Some(Ok(v)) => {
                out.push(RawRecord {
                    number,
                    line: line_of(off),
                    body: Body::Value(v),
                });
                off += de.byte_offset();
            }
            Some(Err(e)) => {
                out.push(RawRecord {
                    number,
                    line: line_of(off) + e.line().saturating_sub(1),
                    body: Body::Error(e.to_string(), Some(e.column())),
                });
                // Resume at the next line starting a value.
                let from = off + 1;
                let next = all[from..]
                    .match_indices('\n')
                    .map(|(i, _)| from + i + 1)
                    .find(|&i| matches!(all.as_bytes().get(i), Some(b'{' | b'[')));
                match next {
                    Some(n) => off = n,
                    None => break,
                }
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read(bytes: &[u8]) -> Vec<(usize, Result<Value>)> {
        EventReader::from_reader("t.json", Box::new(io::Cursor::new(bytes.to_vec())))
            .unwrap()
            .collect()
    }

    #[test]
    fn ndjson_with_a_bad_line() {
        let out = read(b"{\"a\":1}\n\n{\"a\":2\n{\"a\":3}\n");
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].1.as_ref().unwrap()["a"], 1);
        let e = out[1].1.as_ref().unwrap_err();
        assert_eq!(e.kind.code(), "event");
        assert_eq!(e.location.file.as_deref(), Some("t.json"));
        assert_eq!(e.location.line, Some(3));
        assert_eq!(e.location.path.as_deref(), Some("record 2"));
        assert_eq!(out[2].1.as_ref().unwrap()["a"], 3);
    }

    #[test]
    fn concatenated_pretty_objects() {
        let text = b"{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n{\n \"a\": \n}\n{\n  \"a\": 4\n}\n";
        let out = read(text);
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(out[1].1.as_ref().unwrap()["a"], 2);
        let e = out[2].1.as_ref().unwrap_err();
        assert_eq!(e.location.path.as_deref(), Some("record 3"));
        assert_eq!(out[3].1.as_ref().unwrap()["a"], 4);
    }

    #[test]
    fn array_and_gzip() {
        let out = read(b"  [{\"a\":1},{\"a\":2}]");
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].0, 2);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"a\":1}\n{\"a\":2}\n").unwrap();
        let out = read(&gz.finish().unwrap());
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].1.as_ref().unwrap()["a"], 2);
        assert!(read(b"").is_empty());
    }

    #[test]
    fn windows_events_are_normalised() {
        let out = read(br#"{"Event": {"System": {"EventID": 1}, "EventData": {"Image": "x"}}}"#);
        assert_eq!(out[0].1.as_ref().unwrap()["Image"], "x");
    }
}
