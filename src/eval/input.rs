//! Event input: NDJSON, JSON arrays, concatenated (pretty-printed) JSON values, any of them
//! gzip-compressed, from a file or stdin.
//!
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
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use serde_json::Value;

use super::event::{normalize_windows, Val};
use crate::error::{Error, ErrorKind, Result};

/// The default bound on the size of one record: 64 MiB.
pub const DEFAULT_MAX_RECORD: usize = 64 << 20;

/// A batch holds at most this many bytes of record text (besides its count bound), so that
/// batches in flight stay small whatever the size of the records.
const BATCH_BYTES: usize = 8 << 20;

/// Containers nested deeper than this in one record end it with an error (`serde_json`, which
/// parses the record afterwards, stops at 128).
const MAX_DEPTH: usize = 1024;

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
    /// Why the record could not be read, and where (line, column).
    Error(String, usize, Option<usize>),
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
        }
    }

    /// Parses and normalises the record's events, in order, and calls `f` on each: one event
    /// for an NDJSON line or a streamed value, one per value for a line holding several
    /// concatenated values. An event borrows from the record.
    ///
    /// A record that cannot be read gives one [`ErrorKind::Event`] error located at `file`,
    /// line and column; the caller adds the record number (with [`Error::at`]). A value that
    /// is not a JSON object is such an error too.
    pub fn for_each_event<'r>(&'r self, file: &str, f: &mut dyn FnMut(Result<Val<'r>>)) {
        let err = |msg: String, line: usize, col: Option<usize>| {
            Error::new(ErrorKind::Event(msg))
                .in_file(file)
                .at_line(line, col)
        };
        let bytes = match &self.body {
            Body::Text(b) => b,
            Body::Error(m, line, col) => return f(Err(err(m.clone(), *line, *col))),
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
                return f(Err(err(msg, line, Some(col)).hint(UTF8_HINT)));
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
            Ok(v) => f(event(v, self.line, self.column)),
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
                        Some(Ok(v)) => f(event(v, line, col)),
                        Some(Err(e)) => {
                            let (line, col) = locate(&e);
                            let msg = format!("{}; the rest of the line is skipped", message(&e));
                            return f(Err(err(msg, line, Some(col))));
                        }
                    }
                    start = values.byte_offset();
                }
            }
            Err(e) => {
                let (line, col) = locate(&e);
                f(Err(err(message(&e), line, Some(col))));
            }
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
                let f = File::open(p).map_err(|e| {
                    Error::new(ErrorKind::Io(e.to_string())).in_file(p.display().to_string())
                })?;
                Self::from_reader_with(&p.display().to_string(), Box::new(f), opts)
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
        // The first two bytes tell gzip (a pipe may deliver them one at a time).
        let mut r = r;
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match r.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        let gz = magic == [0x1f, 0x8b];
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
            r.for_each_event(name, &mut |res| {
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

/// What the scanner expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between top-level values.
    Top,
    /// Right after the `[` of a top-level array: an element or `]`.
    ArrayFirst,
    /// After `,` in a top-level array: an element.
    ArrayNext,
    /// After an element of a top-level array: `,` or `]`.
    ArrayAfter,
    /// Inside a record: a value.
    Value,
    /// After `[` inside a record: a value or `]`.
    ValueOrEnd,
    /// After `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value inside a record: `,`, `}` or `]` (or the end of the record).
    After,
    /// Inside a string (a key when `key`).
    Str { key: bool },
    /// After a backslash inside a string.
    Escape { key: bool },
    /// Inside a number or a literal.
    Scalar,
    /// After a syntax error: looking for the next line that starts a record.
    Resync { line_start: bool, indent: usize },
}

/// Splits a stream of JSON values (and the elements of top-level arrays) into records,
/// checking their structure (brackets, strings, separators) but not their scalars, which the
/// parser checks afterwards. Holds at most one record's bytes, bounded by the maximum size.
struct Scanner {
    max: usize,
    state: State,
    /// Open containers of the current record (`{` or `[`).
    stack: Vec<u8>,
    /// Whether the current value is an element of a top-level array.
    in_array: bool,
    /// The current line and column (1-based; column in bytes).
    line: usize,
    col: usize,
    /// Indentation (in bytes) of the current line so far, while only blanks were seen on it.
    indent: Option<usize>,
    /// Indentation at which records start lines (the first record's, if it started its line);
    /// resynchronisation looks for a record at this indentation.
    record_indent: Option<Option<usize>>,
    /// The current record: its bytes (unless over the bound), start line and column.
    cur: Vec<u8>,
    oversize: bool,
    start: (usize, usize),
    /// Where the last resynchronisation started, when it has not found a record yet.
    lost: Option<(usize, usize)>,
    /// After a read error: nothing more is read.
    ended: bool,
}

/// A record the scanner finished.
enum Done {
    Record,
    Error(String, usize, usize),
    Nothing,
}

impl Scanner {
    fn new(line: usize, max: usize) -> Scanner {
        Scanner {
            max,
            state: State::Top,
            stack: Vec::new(),
            in_array: false,
            line,
            col: 1,
            indent: Some(0),
            record_indent: None,
            cur: Vec::new(),
            oversize: false,
            start: (line, 1),
            lost: None,
            ended: false,
        }
    }

    fn in_record(&self) -> bool {
        !matches!(
            self.state,
            State::Top
                | State::ArrayFirst
                | State::ArrayNext
                | State::ArrayAfter
                | State::Resync { .. }
        )
    }

    /// The next record; `None` at the end of the input.
    fn next(&mut self, input: &mut dyn BufRead) -> Option<RawRecord> {
        if self.ended {
            return None;
        }
        loop {
            let buf = match input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let (line, col) = (self.line, self.col);
                    self.ended = true;
                    return Some(self.error_record(format!("read error: {e}"), line, col, true));
                }
            };
            if buf.is_empty() {
                return self.eof();
            }
            let rec_from = self.in_record().then_some(0);
            let (used, done) = self.scan(buf, rec_from);
            input.consume(used);
            match done {
                Done::Nothing => {}
                Done::Record => return Some(self.finish()),
                Done::Error(msg, line, col) => {
                    return Some(self.error_record(msg, line, col, false));
                }
            }
        }
    }

    /// Ends the current record with an error and looks for the next record.
    fn error_record(&mut self, msg: String, line: usize, col: usize, end: bool) -> RawRecord {
        let r = RawRecord {
            line,
            column: col,
            body: Body::Error(msg, line, Some(col)),
        };
        self.cur = Vec::new();
        self.oversize = false;
        self.stack.clear();
        if !end {
            self.lost = Some((line, col));
            // At the first non-blank byte of a line, that byte may start the next record.
            self.state = match self.indent {
                Some(indent) => State::Resync {
                    line_start: true,
                    indent,
                },
                None => State::Resync {
                    line_start: false,
                    indent: 0,
                },
            };
        }
        r
    }

    /// The record just completed.
    fn finish(&mut self) -> RawRecord {
        self.state = if self.in_array {
            State::ArrayAfter
        } else {
            State::Top
        };
        let body = if self.oversize {
            self.oversize = false;
            Body::Error(
                format!(
                    "the record is larger than the limit of {} (--max-record-size); it is \
                     skipped",
                    size_text(self.max)
                ),
                self.start.0,
                Some(self.start.1),
            )
        } else {
            Body::Text(std::mem::take(&mut self.cur))
        };
        RawRecord {
            line: self.start.0,
            column: self.start.1,
            body,
        }
    }

    fn eof(&mut self) -> Option<RawRecord> {
        let (line, col) = (self.line, self.col);
        let state = std::mem::replace(&mut self.state, State::Top);
        match state {
            State::Top => None,
            // A record complete at the end of the input (a scalar ends there).
            State::Scalar | State::After if self.stack.is_empty() => Some(self.finish()),
            State::Resync { .. } => {
                let (l, c) = self.lost.take()?;
                self.state = State::Top;
                Some(self.error_record(
                    format!(
                        "no further record found after the syntax error at {l}:{c}: the rest \
                         of the input is skipped"
                    ),
                    line,
                    col,
                    true,
                ))
            }
            State::ArrayFirst | State::ArrayNext | State::ArrayAfter => {
                self.in_array = false;
                Some(
                    self.error_record(
                        "unexpected end of input: the top-level JSON array is not closed with `]`"
                            .into(),
                        line,
                        col,
                        true,
                    ),
                )
            }
            _ => {
                let (l, c) = self.start;
                self.in_array = false;
                self.stack.clear();
                Some(self.error_record(
                    format!(
                        "unexpected end of input inside the record starting at {l}:{c} \
                         (a string or bracket is not closed)"
                    ),
                    line,
                    col,
                    true,
                ))
            }
        }
    }

    /// Appends `bytes` to the current record, within the bound.
    fn keep(&mut self, bytes: &[u8]) {
        if self.oversize {
            return;
        }
        if self.cur.len() + bytes.len() > self.max {
            self.oversize = true;
            self.cur = Vec::new();
        } else {
            self.cur.extend_from_slice(bytes);
        }
    }

    /// Starts a record at `buf[i]`.
    fn begin(&mut self, i: usize) -> usize {
        self.start = (self.line, self.col);
        self.lost = None;
        if self.record_indent.is_none() {
            self.record_indent = Some(self.indent);
        }
        self.cur.clear();
        self.oversize = false;
        i
    }

    /// Scans `buf`; `rec` is where the current record's bytes start in `buf` (when inside
    /// one). Returns the bytes consumed and what ended, if anything.
    #[allow(clippy::too_many_lines)]
    fn scan(&mut self, buf: &[u8], mut rec: Option<usize>) -> (usize, Done) {
        let mut i = 0;
        macro_rules! fail {
            ($($arg:tt)*) => {{
                let msg = format!($($arg)*);
                let (line, col) = (self.line, self.col);
                return (i, Done::Error(msg, line, col));
            }};
        }
        while i < buf.len() {
            if self.state == State::After && self.stack.is_empty() {
                // The record is complete; `buf[i]` belongs to what follows.
                if let Some(r) = rec {
                    self.keep(&buf[r..i]);
                }
                return (i, Done::Record);
            }
            let b = buf[i];
            match self.state {
                State::Str { key } => {
                    // Jump to the next quote, backslash or line break.
                    match memchr::memchr3(b'"', b'\\', b'\n', &buf[i..]) {
                        None => {
                            self.col += buf.len() - i;
                            i = buf.len();
                            continue;
                        }
                        Some(j) => {
                            self.col += j;
                            i += j;
                        }
                    }
                    match buf[i] {
                        b'"' => self.state = if key { State::Colon } else { State::After },
                        b'\\' => self.state = State::Escape { key },
                        _ => fail!("line break inside a string (a string is not closed)"),
                    }
                    i += 1;
                    self.col += 1;
                    continue;
                }
                State::Escape { key } => {
                    if b == b'\n' {
                        fail!("line break inside a string (a string is not closed)");
                    }
                    self.state = State::Str { key };
                    i += 1;
                    self.col += 1;
                    continue;
                }
                State::Resync { line_start, indent } => {
                    if !line_start {
                        match memchr::memchr(b'\n', &buf[i..]) {
                            None => {
                                self.col += buf.len() - i;
                                i = buf.len();
                                continue;
                            }
                            Some(j) => {
                                i += j + 1;
                                self.line += 1;
                                self.col = 1;
                                self.state = State::Resync {
                                    line_start: true,
                                    indent: 0,
                                };
                                continue;
                            }
                        }
                    }
                    // Records start lines at the first record's indentation (in a stream of
                    // values, at least at column 1).
                    let want = match self.record_indent {
                        Some(Some(n)) => Some(n),
                        _ if !self.in_array => Some(0),
                        _ => None,
                    };
                    match b {
                        b' ' | b'\t' | b'\r' => {
                            self.state = State::Resync {
                                line_start: true,
                                indent: indent + 1,
                            };
                            i += 1;
                            self.col += 1;
                        }
                        b'\n' => {
                            self.state = State::Resync {
                                line_start: true,
                                indent: 0,
                            };
                            i += 1;
                            self.line += 1;
                            self.col = 1;
                        }
                        b'{' | b'[' if want == Some(indent) && (b == b'{' || !self.in_array) => {
                            self.indent = Some(indent);
                            self.state = if self.in_array {
                                State::ArrayNext
                            } else {
                                State::Top
                            };
                        }
                        _ => {
                            self.state = State::Resync {
                                line_start: false,
                                indent: 0,
                            };
                        }
                    }
                    continue;
                }
                _ => {}
            }
            // Blanks between tokens.
            if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                if self.state == State::Scalar {
                    self.state = State::After;
                    continue;
                }
                if b == b'\n' {
                    self.line += 1;
                    self.col = 1;
                    self.indent = Some(0);
                } else {
                    self.col += 1;
                    self.indent = self.indent.map(|n| n + 1);
                }
                i += 1;
                continue;
            }
            match self.state {
                State::Top | State::ArrayFirst | State::ArrayNext => {
                    if self.state == State::Top && b == b'[' {
                        self.in_array = true;
                        self.state = State::ArrayFirst;
                    } else if self.state == State::ArrayFirst && b == b']' {
                        self.in_array = false;
                        self.state = State::Top;
                    } else if starts_value(b) {
                        rec = Some(self.begin(i));
                        self.state = State::Value;
                        continue;
                    } else if self.state == State::Top {
                        fail!("expected a JSON value, found {}", show(b));
                    } else {
                        fail!("expected an array element, found {}", show(b));
                    }
                }
                State::ArrayAfter => match b {
                    b',' => self.state = State::ArrayNext,
                    b']' => {
                        self.in_array = false;
                        self.state = State::Top;
                    }
                    _ => fail!(
                        "expected `,` or `]` after an array element, found {}",
                        show(b)
                    ),
                },
                State::Value | State::ValueOrEnd => match b {
                    b'{' | b'[' => {
                        if self.stack.len() >= MAX_DEPTH {
                            fail!("the record nests deeper than {MAX_DEPTH} levels");
                        }
                        self.stack.push(b);
                        self.state = if b == b'{' {
                            State::KeyOrEnd
                        } else {
                            State::ValueOrEnd
                        };
                    }
                    b']' if self.state == State::ValueOrEnd => {
                        self.stack.pop();
                        self.state = State::After;
                    }
                    b'"' => self.state = State::Str { key: false },
                    b if is_scalar(b) => self.state = State::Scalar,
                    _ => fail!("expected a JSON value, found {}", show(b)),
                },
                State::KeyOrEnd | State::Key => match b {
                    b'"' => self.state = State::Str { key: true },
                    b'}' if self.state == State::KeyOrEnd => {
                        self.stack.pop();
                        self.state = State::After;
                    }
                    _ => fail!("expected an object key (a string), found {}", show(b)),
                },
                State::Colon => match b {
                    b':' => self.state = State::Value,
                    _ => fail!("expected `:` after an object key, found {}", show(b)),
                },
                State::Scalar => {
                    if !is_scalar(b) {
                        self.state = State::After;
                        continue;
                    }
                }
                State::After => {
                    let Some(&top) = self.stack.last() else {
                        // The record is complete: it ends at the top of the loop.
                        continue;
                    };
                    match (b, top) {
                        (b',', b'{') => self.state = State::Key,
                        (b',', _) => self.state = State::Value,
                        (b'}', b'{') | (b']', b'[') => {
                            self.stack.pop();
                        }
                        (b'}' | b']', _) => {
                            fail!("`{}` closes a `{}`", char::from(b), char::from(top))
                        }
                        _ => fail!(
                            "expected `,` or `{}`, found {}",
                            if top == b'{' { '}' } else { ']' },
                            show(b)
                        ),
                    }
                }
                State::Str { .. } | State::Escape { .. } | State::Resync { .. } => {
                    unreachable!("handled above")
                }
            }
            i += 1;
            self.col += 1;
            self.indent = None;
        }
        if let (Some(r), true) = (rec, self.in_record()) {
            self.keep(&buf[r..]);
        }
        (i, Done::Nothing)
    }
}

/// `100 bytes`, `64 MiB (67108864 bytes)`.
fn size_text(n: usize) -> String {
    match [(30, "GiB"), (20, "MiB"), (10, "KiB")]
        .iter()
        .find(|(shift, _)| n >= 1 << shift && n % (1 << shift) == 0)
    {
        Some((shift, unit)) => format!("{} {unit} ({n} bytes)", n >> shift),
        None => format!("{n} bytes"),
    }
}

fn starts_value(b: u8) -> bool {
    matches!(b, b'{' | b'[' | b'"') || is_scalar(b)
}

/// A byte of a number or a literal (`true`, `false`, `null`); the parser checks the token.
fn is_scalar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}

fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", char::from(b))
    } else {
        format!("byte 0x{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A reader giving at most `step` bytes per read (so records, strings and escapes cross
    /// buffer boundaries).
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    /// Reads `bytes` at once and in pieces of 1, 2, 3 and 7 bytes: the same records.
    fn read_with(bytes: &[u8], max: usize) -> Vec<(usize, Result<Value>)> {
        let opts = ReadOptions { max_record: max };
        let whole: Vec<_> = EventReader::from_reader_with(
            "t.json",
            Box::new(io::Cursor::new(bytes.to_vec())),
            opts,
        )
        .unwrap()
        .collect();
        for step in [1, 2, 3, 7] {
            let src = Trickle {
                data: bytes.to_vec(),
                pos: 0,
                step,
            };
            let pieces: Vec<_> = EventReader::from_reader_with("t.json", Box::new(src), opts)
                .unwrap()
                .collect();
            assert_eq!(
                format!("{pieces:?}"),
                format!("{whole:?}"),
                "read {step} bytes at a time: {}",
                String::from_utf8_lossy(bytes)
            );
        }
        whole
    }

    fn read(bytes: &[u8]) -> Vec<(usize, Result<Value>)> {
        read_with(bytes, DEFAULT_MAX_RECORD)
    }

    /// The events' `a` values, and `err@line:col` for each error.
    fn summary(out: &[(usize, Result<Value>)]) -> Vec<String> {
        out.iter()
            .map(|(_, r)| match r {
                Ok(v) => v["a"].to_string(),
                Err(e) => format!(
                    "err@{}:{}",
                    e.location.line.unwrap_or(0),
                    e.location.column.unwrap_or(0)
                ),
            })
            .collect()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
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
        assert_eq!(e.location.line, Some(9), "{}", e.render());
        assert_eq!(out[3].1.as_ref().unwrap()["a"], 4);
    }

    #[test]
    fn array_and_gzip() {
        let out = read(b"  [{\"a\":1},{\"a\":2}]");
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].0, 2);
        let out = read(&gz(b"{\"a\":1}\n{\"a\":2}\n"));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].1.as_ref().unwrap()["a"], 2);
        assert!(read(b"").is_empty());
        assert!(read(b" \n\n").is_empty());
        assert!(read(b"[]").is_empty());
    }

    #[test]
    fn windows_events_are_normalised() {
        let out = read(br#"{"Event": {"System": {"EventID": 1}, "EventData": {"Image": "x"}}}"#);
        assert_eq!(out[0].1.as_ref().unwrap()["Image"], "x");
    }

    /// Issue 11, item 1: one invalid UTF-8 byte is reported on its record, which is skipped;
    /// reading goes on, in every form.
    #[test]
    fn invalid_utf8_skips_only_its_record() {
        let ndjson = b"{\"a\":1}\n{\"a\":\"caf\xe9\"}\n{\"a\":3}\n";
        let concatenated = b"{\n \"a\": 1\n}\n{\n \"a\": \"caf\xe9\"\n}\n{\n \"a\": 3\n}\n";
        let array = b"[{\"a\":1},{\"a\":\"caf\xe9\"},{\"a\":3}]";
        let pretty_array = b"[\n  {\"a\": 1},\n  {\"a\": \"caf\xe9\"},\n  {\"a\": 3}\n]\n";
        let first = b"{\"a\":\"caf\xe9\"}\n{\"a\":2}\n{\"a\":3}\n";
        let want = |l: usize, c: usize| vec!["1".to_string(), format!("err@{l}:{c}"), "3".into()];
        for (name, bytes, err) in [
            ("ndjson", &ndjson[..], (2, 10)),
            ("concatenated", &concatenated[..], (5, 11)),
            ("array", &array[..], (1, 19)),
            ("pretty array", &pretty_array[..], (3, 13)),
        ] {
            assert_eq!(summary(&read(bytes)), want(err.0, err.1), "{name}");
            assert_eq!(
                summary(&read(&gz(bytes))),
                want(err.0, err.1),
                "{name}, gzip"
            );
        }
        assert_eq!(summary(&read(first)), ["err@1:10", "2", "3"]);
        let e = read(first).remove(0).1.unwrap_err();
        assert!(
            e.render().contains("invalid UTF-8 (byte 0xe9)"),
            "{}",
            e.render()
        );
        assert!(e.hint.is_some());
        // Many good lines, one bad, more good: none is lost.
        let mut big = Vec::new();
        for i in 0..2000 {
            big.extend_from_slice(format!("{{\"a\":{i}}}\n").as_bytes());
        }
        big.extend_from_slice(b"{\"a\":\"\xff\"}\n");
        for i in 0..10 {
            big.extend_from_slice(format!("{{\"a\":{i}}}\n").as_bytes());
        }
        let out = read(&big);
        assert_eq!(out.len(), 2011);
        assert_eq!(out.iter().filter(|(_, r)| r.is_err()).count(), 1);
        assert_eq!(out[2010].0, 2011);
    }

    /// Issue 11, item 15: concatenated values on one line are events each; a record that is
    /// not an object is reported and skipped.
    #[test]
    fn concatenated_on_one_line_and_non_objects() {
        assert_eq!(summary(&read(b"{\"a\":1}{\"a\":2}\n")), ["1", "2"]);
        assert_eq!(
            summary(&read(
                b"{\"a\":0}\n{\"a\":1} {\"a\":2}{\"a\":x\n{\"a\":3}\n"
            )),
            ["0", "1", "2", "err@2:21", "3"]
        );
        let out = read(b"{\"a\":1}\n[1,2,3]\n\"str\"\n42\nnull\n{\"a\":2}\n");
        assert_eq!(
            summary(&out),
            ["1", "err@2:1", "err@3:1", "err@4:1", "err@5:1", "2"]
        );
        let msg = out[1].1.as_ref().unwrap_err().render();
        assert!(
            msg.contains("must be a JSON object, found an array"),
            "{msg}"
        );
        assert_eq!(out[5].0, 6);
        // A top-level array of non-objects: each element reported.
        assert_eq!(
            summary(&read(b"[1, \"x\", {\"a\": 5}, [2]]")),
            ["err@1:2", "err@1:5", "5", "err@1:20"]
        );
        // Concatenated values in a stream, and a scalar among them.
        assert_eq!(
            summary(&read(b"{\n\"a\":1}{\"a\":2}\n\"s\"\n{\"a\":3}")),
            ["1", "2", "err@3:1", "3"]
        );
    }

    /// Issue 11, item 6: a record over the bound is reported and skipped, in every form;
    /// the records around it are read.
    #[test]
    fn oversized_records_are_skipped() {
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(200));
        for (name, text) in [
            ("ndjson", format!("{{\"a\":1}}\n{long}\n{{\"a\":3}}\n")),
            ("array", format!("[{{\"a\":1}}, {long}, {{\"a\":3}}]")),
            ("one line", format!("{{\"a\":1}}{long}{{\"a\":3}}")),
            ("stream", format!("{{\n\"a\":1}}\n{long}\n{{\"a\":3}}\n")),
        ] {
            let out = read_with(text.as_bytes(), 100);
            let s = summary(&out);
            assert_eq!(s.len(), 3, "{name}: {s:?}");
            assert_eq!((s[0].as_str(), s[2].as_str()), ("1", "3"), "{name}: {s:?}");
            let e = out[1].1.as_ref().unwrap_err().render();
            assert!(
                e.contains("larger than the limit of 100 bytes"),
                "{name}: {e}"
            );
            // Within the bound, the same text reads completely.
            assert_eq!(
                summary(&read(text.as_bytes()))[1],
                format!("\"{}\"", "x".repeat(200))
            );
        }
    }

    /// Pretty-printed objects after a first one that fits on its line are streamed too.
    #[test]
    fn pretty_objects_after_a_one_line_object() {
        let text = b"{}\n{\"a\": 1}\n{\n  \"a\": 2,\n  \"b\": [\n    3\n  ]\n}\n{\"a\": 4}\n";
        assert_eq!(summary(&read(text)), ["null", "1", "2", "4"]);
        // A line cut short ends in a value for sure: the next line starts the next record.
        let text = b"{\"a\": 1}\n{\"a\": 2,\n{\"a\": 3}\n";
        assert_eq!(summary(&read(text)), ["1", "err@3:1", "3"]);
    }

    /// A broken structure in a stream: reading resumes at the next line that starts a record.
    #[test]
    fn structure_errors_resume_at_the_next_record() {
        let text =
            b"{\n  \"a\": 1,\n{\n  \"a\": 2\n}\n{\n  \"a\": \"unclosed\n}\n{\n  \"a\": 4\n}\n";
        assert_eq!(summary(&read(text)), ["err@3:1", "2", "err@7:17", "4"]);
        let arr = b"[\n  {\"a\": 1},\n  {\"a\": 2]},\n  {\"a\": 3}\n]\n";
        assert_eq!(summary(&read(arr)), ["1", "err@3:10", "3"]);
        // On one line there is no next line to resume at: the loss is reported.
        let out = read(b"[{\"a\": 1}, {\"a\": 2]}, {\"a\": 3}]");
        assert_eq!(summary(&out), ["1", "err@1:19", "err@1:32"]);
        let e = out[2].1.as_ref().unwrap_err().render();
        assert!(e.contains("no further record found"), "{e}");
        let out = read(b"[{\"a\": 1}, {\"a\": 2}");
        assert_eq!(summary(&out), ["1", "2", "err@1:20"]);
        let out = read(b"{\"a\": 1}\n{\"a\": [1, 2\n");
        assert_eq!(summary(&out).len(), 2);
    }

    /// A source of a single-line JSON array of `n` small objects, counting the bytes read.
    struct ArraySource {
        n: usize,
        pos: usize,
        read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Read for ArraySource {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            const ELEM: &[u8] = b"{\"a\":1},";
            let total = 1 + self.n * ELEM.len();
            let mut k = 0;
            while k < buf.len() && self.pos < total {
                buf[k] = match self.pos {
                    0 => b'[',
                    p if p == total - 1 => b']',
                    p => ELEM[(p - 1) % ELEM.len()],
                };
                k += 1;
                self.pos += 1;
            }
            self.read.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
            Ok(k)
        }
    }

    /// Issue 11, item 6: the elements of a top-level array are streamed, not read whole.
    #[test]
    fn a_single_line_array_is_streamed() {
        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let src = ArraySource {
            n: 4_000_000,
            pos: 0,
            read: read.clone(),
        };
        let mut r = EventReader::from_reader("big.json", Box::new(src)).unwrap();
        let batch = r.next_batch(1000).unwrap();
        assert_eq!(batch.len(), 1000);
        let consumed = read.load(std::sync::atomic::Ordering::Relaxed);
        assert!(consumed < 1 << 20, "{consumed} bytes read for 1000 records");
        let mut n = batch.len();
        while let Some(b) = r.next_batch(4096) {
            n += b.len();
        }
        assert_eq!(n, 4_000_000);
        assert_eq!(
            read.load(std::sync::atomic::Ordering::Relaxed),
            1 + 4_000_000 * 8
        );
    }

    /// A small JSON object with escapes, non-ASCII text, nesting and numbers.
    fn object() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            "[ -~é\\u{1F600}\"\\\\\n\t{}\\[\\],:]{0,10}".prop_map(Value::from),
        ];
        let value = leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z{}\\[\\]\"]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        proptest::collection::btree_map("[a-zA-Z_.\"\\\\]{1,6}", value, 0..5)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest::proptest! {
        /// Every form of the same objects reads back the same objects, whole or in pieces.
        #[test]
        fn every_form_reads_the_same_objects(events in proptest::collection::vec(object(), 0..6)) {
            let compact: Vec<String> = events.iter().map(Value::to_string).collect();
            let pretty: Vec<String> = events
                .iter()
                .map(|e| serde_json::to_string_pretty(e).unwrap())
                .collect();
            let forms = [
                compact.join("\n"),
                compact.concat(),
                pretty.join("\n"),
                format!("[{}]", compact.join(",")),
                serde_json::to_string_pretty(&events).unwrap(),
            ];
            for text in forms {
                let got: Vec<Value> = read(text.as_bytes())
                    .into_iter()
                    .map(|(_, r)| r.expect("valid record"))
                    .collect();
                proptest::prop_assert_eq!(&got, &events, "{}", text);
            }
        }

        /// Any bytes: reading ends, without a panic, and numbers records 1, 2, 3, ...
        #[test]
        fn any_bytes_end_in_records_or_errors(
            bytes in proptest::collection::vec(proptest::sample::select(
                b"{}[]\",:\\ \n\"ab1\xe9".to_vec()), 0..60)
        ) {
            let out = read_with(&bytes, 16);
            for (i, (n, _)) in out.iter().enumerate() {
                proptest::prop_assert_eq!(*n, i + 1);
            }
        }
    }
}
