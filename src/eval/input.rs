//! Event input: NDJSON, JSON arrays, concatenated (pretty-printed) JSON values, any of them
//! gzip-compressed, from a file or stdin; and Windows event log files (`.evtx`, from a file:
//! see `input/evtx.rs`).
//!
//! A file starting with the EVTX signature `ElfFile\0` is read as EVTX, whatever its name.
//! The format is detected from the content: gzip by its magic bytes; then a first non-blank
//! byte `[` means a JSON array; a first line that holds complete JSON values means NDJSON;
//! otherwise the input is a stream of concatenated JSON values (the format of SigmaHQ's
//! `regression_data`). Everything is streamed: NDJSON line by line, the other forms value by
//! value (the elements of a top-level array are its records), so memory stays bounded whatever
//! the size of the input or of its lines. A line holding several concatenated values
//! (`{"a":1}{"b":2}`) gives one event per value. Every event is passed through
//! [`normalize_windows`], so Windows event JSON resolves Sigma field names.
//!
//! A record that cannot be read becomes an [`ErrorKind::Event`] error located at the file, the
//! line and column; reading goes on with the next record. That covers malformed JSON, invalid
//! UTF-8, a value that is not an object (`[1,2]`, `"str"`), and a record larger than
//! [`ReadOptions::max_record`]. After a syntax error that breaks the structure of a stream (an
//! unclosed string or bracket), reading resumes at the next line that starts a record at the
//! indentation records start at.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use serde_json::Value;

use super::event::{normalize_windows, Val};
use crate::error::{Error, ErrorKind, Result};

mod evtx;
mod scanner;

use scanner::Scanner;

/// The default bound on the size of one record: 64 MiB.
pub const DEFAULT_MAX_RECORD: usize = 64 << 20;

/// A batch holds at most this many bytes of record text (besides its count bound), so that
/// batches in flight stay small whatever the size of the records.
const BATCH_BYTES: usize = 8 << 20;

/// How an input is read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// The largest record (NDJSON line or streamed value) in bytes; a larger one is reported
    /// and skipped.
    pub max_record: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_record: DEFAULT_MAX_RECORD,
        }
    }
}

/// Where an event starts in its input: 1-based line and column (in bytes). Line 0 where lines
/// do not apply (EVTX), where the record number alone says where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line; 0 when the input has no lines.
    pub line: usize,
    /// 1-based column of the event's first byte on its line.
    pub column: usize,
}

/// One record read from an input, not yet parsed (so that parsing can run in parallel).
#[derive(Debug)]
pub struct RawRecord {
    /// 1-based line where the record starts.
    pub line: usize,
    /// 1-based column (in bytes) where the record starts.
    pub column: usize,
    body: Body,
}

#[derive(Debug)]
enum Body {
    /// The bytes of an NDJSON line or of one streamed value, not yet checked to be UTF-8.
    Text(Vec<u8>),
    /// Why the record could not be read, and where (line, column; line 0 where lines do not
    /// apply).
    Error(String, usize, Option<usize>),
    /// A chunk of an EVTX file: many records, rendered when its events are read.
    Evtx(Box<evtx::Chunk>),
}

/// The hint given with an invalid UTF-8 error.
const UTF8_HINT: &str = "JSON text must be UTF-8 (RFC 8259); re-encode the file, e.g. with \
                         `iconv -f windows-1252 -t utf-8`";

impl RawRecord {
    /// The size in bytes of the record's text (for throughput figures).
    #[must_use]
    pub fn text_len(&self) -> usize {
        match &self.body {
            Body::Text(t) => t.len(),
            Body::Error(..) => 0,
            Body::Evtx(c) => c.len(),
        }
    }

    /// Parses and normalises the record's events, in order, and calls `f` on each: one event
    /// for an NDJSON line or a streamed value, one per value for a line holding several
    /// concatenated values. An event lives for the call only (it may borrow from the record).
    ///
    /// A record that cannot be read gives one [`ErrorKind::Event`] error located at `file`,
    /// line and column; the caller adds the record number (with [`Error::at`]). A value that
    /// is not a JSON object is such an error too.
    pub fn for_each_event<'r>(&'r self, file: &str, f: &mut dyn FnMut(Pos, Result<Val<'_>>)) {
        let err = |msg: String, line: usize, col: Option<usize>| {
            let e = Error::new(ErrorKind::Event(msg)).in_file(file);
            if line == 0 {
                e
            } else {
                e.at_line(line, col)
            }
        };
        let bytes = match &self.body {
            Body::Text(b) => b,
            Body::Error(m, line, col) => return f(self.pos(), Err(err(m.clone(), *line, *col))),
            Body::Evtx(c) => return c.for_each_event(file, f),
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.valid_up_to();
                let (line, col) = self.position(&bytes[..at]);
                let msg = format!(
                    "invalid UTF-8 (byte 0x{:02x}); the record is skipped",
                    bytes[at]
                );
                return f(self.pos(), Err(err(msg, line, Some(col)).hint(UTF8_HINT)));
            }
        };
        // The line and column in the input of a parser position inside the record.
        let locate = |e: &serde_json::Error| {
            let line = self.line + e.line().saturating_sub(1);
            let col = if e.line() <= 1 {
                self.column + e.column().saturating_sub(1)
            } else {
                e.column()
            };
            (line, col)
        };
        let event = |v: Val<'r>, line: usize, col: usize| -> Result<Val<'r>> {
            if v.is_object() {
                return Ok(normalize_windows(v));
            }
            let found = match v {
                Val::Null => "null",
                Val::Bool(_) => "a boolean",
                Val::Num(_) => "a number",
                Val::Str(_) => "a string",
                Val::Arr(_) => "an array",
                Val::Obj(_) => "an object",
            };
            Err(err(
                format!("an event must be a JSON object, found {found}; the record is skipped"),
                line,
                Some(col),
            ))
        };
        match Val::parse(text) {
            Ok(v) => f(self.pos(), event(v, self.line, self.column)),
            Err(e) if e.to_string().starts_with("trailing characters") => {
                // Several concatenated values on one line: one event each.
                let mut values = serde_json::Deserializer::from_str(text).into_iter::<Val<'r>>();
                let mut start = 0;
                loop {
                    let skipped = text[start..].len() - text[start..].trim_start().len();
                    let at = start + skipped;
                    let (line, col) = self.position(&bytes[..at]);
                    match values.next() {
                        None => break,
                        Some(Ok(v)) => f(Pos { line, column: col }, event(v, line, col)),
                        Some(Err(e)) => {
                            let (line, col) = locate(&e);
                            let msg = format!("{}; the rest of the line is skipped", message(&e));
                            return f(Pos { line, column: col }, Err(err(msg, line, Some(col))));
                        }
                    }
                    start = values.byte_offset();
                }
            }
            Err(e) => {
                let (line, col) = locate(&e);
                f(
                    Pos { line, column: col },
                    Err(err(message(&e), line, Some(col))),
                );
            }
        }
    }

    /// Where the record starts.
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    /// The line and column in the input of the byte that follows `before` in the record.
    fn position(&self, before: &[u8]) -> (usize, usize) {
        let newlines = before.iter().filter(|&&b| b == b'\n').count();
        match before.iter().rposition(|&b| b == b'\n') {
            Some(i) => (self.line + newlines, before.len() - i),
            None => (self.line, self.column + before.len()),
        }
    }
}

/// `serde_json`'s message without its ` at line L column C` (the error's location says where,
/// in the input rather than in the record).
fn message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    s.strip_suffix(&suffix).unwrap_or(&s).to_string()
}

enum Mode {
    Lines,
    Stream(Box<Scanner>),
    Evtx(Box<evtx::Chunks>),
    Done,
}

/// Reads records from one input.
pub struct EventReader {
    name: String,
    input: Box<dyn BufRead + Send>,
    mode: Mode,
    opts: ReadOptions,
    /// Lines consumed so far (in lines mode).
    line: usize,
    /// The first NDJSON line, read while detecting the format.
    pending: Option<RawRecord>,
    /// For the iterator: the records numbered so far and events not yet returned.
    numbered: usize,
    queue: VecDeque<(usize, Result<Value>)>,
}

impl std::fmt::Debug for EventReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventReader")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// One line read with a bound.
enum Line {
    Eof,
    Text(Vec<u8>),
    /// The line is longer than the bound: the bytes read so far.
    TooLong(Vec<u8>),
}

/// Reads one line (with its `\n`), at most `max` bytes of it.
fn read_line(input: &mut dyn BufRead, max: usize, out: &mut Vec<u8>) -> io::Result<Line> {
    out.clear();
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(if out.is_empty() {
                Line::Eof
            } else {
                Line::Text(std::mem::take(out))
            });
        }
        let (n, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if out.len() + n > max {
            let keep = max.saturating_sub(out.len()).min(n);
            out.extend_from_slice(&buf[..keep]);
            input.consume(keep);
            return Ok(Line::TooLong(std::mem::take(out)));
        }
        out.extend_from_slice(&buf[..n]);
        input.consume(n);
        if done {
            return Ok(Line::Text(std::mem::take(out)));
        }
    }
}

/// Drops a line's `\n` or `\r\n`, so that an error at its end is located on it.
fn trim_newline(l: &mut Vec<u8>) {
    if l.last() == Some(&b'\n') {
        l.pop();
        if l.last() == Some(&b'\r') {
            l.pop();
        }
    }
}

/// Whether a line ends inside a value for sure (its last non-blank byte is `{`, `[`, `,` or
/// `:`), as the lines of pretty-printed JSON do.
fn opens_a_value(l: &[u8]) -> bool {
    l.iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'[' | b',' | b':'))
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

impl EventReader {
    /// Opens a file (`-` or `None` for stdin) with the default [`ReadOptions`].
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be opened or read.
    pub fn open(path: Option<&Path>) -> Result<EventReader> {
        Self::open_with(path, ReadOptions::default())
    }

    /// Opens a file (`-` or `None` for stdin).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be opened or read.
    pub fn open_with(path: Option<&Path>, opts: ReadOptions) -> Result<EventReader> {
        match path {
            None => Self::from_reader_with("<stdin>", Box::new(io::stdin()), opts),
            Some(p) if p.as_os_str() == "-" => {
                Self::from_reader_with("<stdin>", Box::new(io::stdin()), opts)
            }
            Some(p) => {
                let name = p.display().to_string();
                let io_err = |e: io::Error| Error::new(ErrorKind::Io(e.to_string())).in_file(&name);
                let mut f = File::open(p).map_err(io_err)?;
                // An EVTX file is read by seeking to its chunks; anything else is a stream.
                let mut magic = Vec::with_capacity(8);
                (&mut f).take(8).read_to_end(&mut magic).map_err(io_err)?;
                f.seek(io::SeekFrom::Start(0)).map_err(io_err)?;
                if magic == evtx::MAGIC {
                    return Ok(EventReader {
                        name: name.clone(),
                        input: Box::new(io::empty()),
                        mode: Mode::Evtx(Box::new(evtx::open(f, &name)?)),
                        opts,
                        line: 0,
                        pending: None,
                        numbered: 0,
                        queue: VecDeque::new(),
                    });
                }
                Self::from_reader_with(&name, Box::new(f), opts)
            }
        }
    }

    /// Reads from any byte source with the default [`ReadOptions`]; `name` is used in error
    /// locations.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the source cannot be read.
    pub fn from_reader(name: &str, r: Box<dyn Read + Send>) -> Result<EventReader> {
        Self::from_reader_with(name, r, ReadOptions::default())
    }

    /// Reads from any byte source; `name` is used in error locations.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the source cannot be read.
    pub fn from_reader_with(
        name: &str,
        r: Box<dyn Read + Send>,
        opts: ReadOptions,
    ) -> Result<EventReader> {
        let io_err = |e: io::Error| Error::new(ErrorKind::Io(e.to_string())).in_file(name);
        let opts = ReadOptions {
            max_record: opts.max_record.max(1),
        };
        // The first two bytes tell gzip, the first eight an EVTX file (a pipe may deliver them
        // one at a time).
        let mut r = r;
        let mut magic = [0u8; 8];
        let mut got = 0;
        while got < magic.len() {
            match r.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        if &magic == evtx::MAGIC {
            return Err(io_err(io::Error::other(
                "an EVTX file can be read from a file only (its chunks are read by seeking), \
                 not from stdin or a pipe; give its path",
            )));
        }
        let gz = got >= 2 && magic[..2] == [0x1f, 0x8b];
        let head = io::Cursor::new(magic[..got].to_vec());
        let br = BufReader::with_capacity(1 << 16, head.chain(r));
        let input: Box<dyn BufRead + Send> = if gz {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(br)))
        } else {
            Box::new(br)
        };
        let mut reader = EventReader {
            name: name.to_string(),
            input,
            mode: Mode::Lines,
            opts,
            line: 0,
            pending: None,
            numbered: 0,
            queue: VecDeque::new(),
        };
        // Skip a byte order mark and blank space; the first byte of content chooses the mode.
        let mut at_start = true;
        let first = loop {
            let buf = reader.input.fill_buf().map_err(io_err)?;
            if at_start && buf.starts_with(b"\xef\xbb\xbf") {
                reader.input.consume(3);
                at_start = false;
                continue;
            }
            at_start = false;
            if buf.is_empty() {
                reader.mode = Mode::Done;
                return Ok(reader);
            }
            let blanks = buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .unwrap_or(buf.len());
            reader.line += buf[..blanks].iter().filter(|&&b| b == b'\n').count();
            if blanks < buf.len() {
                let b = buf[blanks];
                reader.input.consume(blanks);
                break b;
            }
            reader.input.consume(blanks);
        };
        if first == b'[' {
            reader.stream(Vec::new());
            return Ok(reader);
        }
        let mut buf = Vec::new();
        match read_line(&mut reader.input, opts.max_record, &mut buf).map_err(io_err)? {
            Line::Eof => reader.mode = Mode::Done,
            Line::TooLong(head) => reader.stream(head),
            Line::Text(l) => {
                // A first line that does not hold complete values starts a multi-line value.
                let whole = serde_json::from_slice::<serde::de::IgnoredAny>(&l);
                if matches!(&whole, Err(e) if e.is_eof()) {
                    reader.stream(l);
                } else {
                    reader.line += 1;
                    let mut l = l;
                    trim_newline(&mut l);
                    reader.queue_line(l);
                }
            }
        }
        Ok(reader)
    }

    /// Switches to streaming values, starting with `head` (the bytes already read from the
    /// start of the current line).
    fn stream(&mut self, head: Vec<u8>) {
        if !head.is_empty() {
            let rest = std::mem::replace(&mut self.input, Box::new(io::empty()));
            self.input = Box::new(io::Cursor::new(head).chain(rest));
        }
        self.mode = Mode::Stream(Box::new(Scanner::new(self.line + 1, self.opts.max_record)));
    }

    /// Keeps the first NDJSON line, read while detecting the format, for [`Self::next_raw`].
    fn queue_line(&mut self, l: Vec<u8>) {
        self.pending = Some(RawRecord {
            line: self.line,
            column: 1,
            body: Body::Text(l),
        });
    }

    /// The input's name as used in errors.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Up to `max` records (and at most about 8 MB of text); `None` at the end. I/O errors end
    /// the input with one error record.
    pub fn next_batch(&mut self, max: usize) -> Option<Vec<RawRecord>> {
        let mut out = Vec::new();
        let mut bytes = 0;
        while out.len() < max && bytes < BATCH_BYTES {
            match self.next_raw() {
                Some(r) => {
                    bytes += r.text_len();
                    out.push(r);
                }
                None => break,
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn next_raw(&mut self) -> Option<RawRecord> {
        if let Some(r) = self.pending.take() {
            return Some(r);
        }
        match &mut self.mode {
            Mode::Done => None,
            Mode::Evtx(c) => {
                let r = c.next();
                if r.is_none() {
                    self.mode = Mode::Done;
                }
                r
            }
            Mode::Stream(s) => {
                let r = s.next(&mut *self.input);
                if r.is_none() {
                    self.mode = Mode::Done;
                }
                r
            }
            Mode::Lines => loop {
                let mut buf = Vec::new();
                match read_line(&mut *self.input, self.opts.max_record, &mut buf) {
                    Ok(Line::Eof) => {
                        self.mode = Mode::Done;
                        return None;
                    }
                    Ok(Line::Text(mut l)) => {
                        if is_blank(&l) {
                            self.line += 1;
                            continue;
                        }
                        if opens_a_value(&l) {
                            // Not a complete value: pretty-printed JSON from here on.
                            self.stream(l);
                            return self.next_raw();
                        }
                        self.line += 1;
                        trim_newline(&mut l);
                        return Some(RawRecord {
                            line: self.line,
                            column: 1,
                            body: Body::Text(l),
                        });
                    }
                    Ok(Line::TooLong(head)) => {
                        // Stream the rest: the line's values are read one by one, and only
                        // a value over the bound is skipped.
                        self.stream(head);
                        return self.next_raw();
                    }
                    Err(e) => {
                        self.mode = Mode::Done;
                        return Some(RawRecord {
                            line: self.line + 1,
                            column: 1,
                            body: Body::Error(format!("read error: {e}"), self.line + 1, None),
                        });
                    }
                }
            },
        }
    }
}

impl Iterator for EventReader {
    type Item = (usize, Result<Value>);

    /// The next record number and its parsed, normalised event (or its error).
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(x) = self.queue.pop_front() {
                return Some(x);
            }
            let r = self.next_raw()?;
            let (name, queue, numbered) = (&self.name, &mut self.queue, &mut self.numbered);
            r.for_each_event(name, &mut |_, res| {
                *numbered += 1;
                let n = *numbered;
                let res = res
                    .map(|v| v.to_value())
                    .map_err(|e| e.at(format!("record {n}")));
                queue.push_back((n, res));
            });
        }
    }
}

#[cfg(test)]
mod tests;
