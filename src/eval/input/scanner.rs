//! The scanner of streamed input: splits concatenated JSON values (and the elements of
//! top-level arrays) into records, checking their structure, and resynchronises after a
//! syntax error.

use std::io::{self, BufRead};

use super::{Body, RawRecord};

/// Containers nested deeper than this in one record end it with an error (`serde_json`, which
/// parses the record afterwards, stops at 128).
const MAX_DEPTH: usize = 1024;

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
pub(super) struct Scanner {
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
    pub(super) fn new(line: usize, max: usize) -> Scanner {
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
    pub(super) fn next(&mut self, input: &mut dyn BufRead) -> Option<RawRecord> {
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
    fn scan(&mut self, buf: &[u8], mut rec: Option<usize>) -> (usize, Done) {
        let mut i = 0;
        while i < buf.len() {
            if self.state == State::After && self.stack.is_empty() {
                // The record is complete; `buf[i]` belongs to what follows.
                if let Some(r) = rec {
                    self.keep(&buf[r..i]);
                }
                return (i, Done::Record);
            }
            let b = buf[i];
            let step = match self.state {
                State::Str { key } => self.string(buf, &mut i, key),
                State::Escape { key } => self.escape(b, &mut i, key),
                State::Resync { line_start, indent } => {
                    self.resync(buf, &mut i, line_start, indent);
                    Ok(())
                }
                _ if matches!(b, b' ' | b'\t' | b'\r' | b'\n') => {
                    self.blank(b, &mut i);
                    Ok(())
                }
                _ => self.token(b, &mut i, &mut rec),
            };
            if let Err(msg) = step {
                let (line, col) = (self.line, self.col);
                return (i, Done::Error(msg, line, col));
            }
        }
        if let (Some(r), true) = (rec, self.in_record()) {
            self.keep(&buf[r..]);
        }
        (i, Done::Nothing)
    }

    /// Inside a string at `buf[*i]`: jumps to the next quote, backslash or line break.
    fn string(&mut self, buf: &[u8], i: &mut usize, key: bool) -> Result<(), String> {
        match memchr::memchr3(b'"', b'\\', b'\n', &buf[*i..]) {
            None => {
                self.col += buf.len() - *i;
                *i = buf.len();
                return Ok(());
            }
            Some(j) => {
                self.col += j;
                *i += j;
            }
        }
        match buf[*i] {
            b'"' => self.state = if key { State::Colon } else { State::After },
            b'\\' => self.state = State::Escape { key },
            _ => return Err("line break inside a string (a string is not closed)".into()),
        }
        *i += 1;
        self.col += 1;
        Ok(())
    }

    /// The byte `b` after a backslash inside a string.
    fn escape(&mut self, b: u8, i: &mut usize, key: bool) -> Result<(), String> {
        if b == b'\n' {
            return Err("line break inside a string (a string is not closed)".into());
        }
        self.state = State::Str { key };
        *i += 1;
        self.col += 1;
        Ok(())
    }

    /// After a syntax error: skips to the next line that starts a record at the indentation
    /// records start at.
    fn resync(&mut self, buf: &[u8], i: &mut usize, line_start: bool, indent: usize) {
        if !line_start {
            match memchr::memchr(b'\n', &buf[*i..]) {
                None => {
                    self.col += buf.len() - *i;
                    *i = buf.len();
                }
                Some(j) => {
                    *i += j + 1;
                    self.line += 1;
                    self.col = 1;
                    self.state = State::Resync {
                        line_start: true,
                        indent: 0,
                    };
                }
            }
            return;
        }
        let b = buf[*i];
        // Records start lines at the first record's indentation (in a stream of values, at
        // least at column 1).
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
                *i += 1;
                self.col += 1;
            }
            b'\n' => {
                self.state = State::Resync {
                    line_start: true,
                    indent: 0,
                };
                *i += 1;
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
    }

    /// A blank `b` between tokens (it ends a scalar).
    fn blank(&mut self, b: u8, i: &mut usize) {
        if self.state == State::Scalar {
            self.state = State::After;
            return;
        }
        if b == b'\n' {
            self.line += 1;
            self.col = 1;
            self.indent = Some(0);
        } else {
            self.col += 1;
            self.indent = self.indent.map(|n| n + 1);
        }
        *i += 1;
    }

    /// A structural byte `b` (not a blank, outside strings); advances past it unless it
    /// belongs to what follows.
    fn token(&mut self, b: u8, i: &mut usize, rec: &mut Option<usize>) -> Result<(), String> {
        match self.state {
            State::Top | State::ArrayFirst | State::ArrayNext => {
                if self.state == State::Top && b == b'[' {
                    self.in_array = true;
                    self.state = State::ArrayFirst;
                } else if self.state == State::ArrayFirst && b == b']' {
                    self.in_array = false;
                    self.state = State::Top;
                } else if starts_value(b) {
                    *rec = Some(self.begin(*i));
                    self.state = State::Value;
                    return Ok(());
                } else if self.state == State::Top {
                    return Err(format!("expected a JSON value, found {}", show(b)));
                } else {
                    return Err(format!("expected an array element, found {}", show(b)));
                }
            }
            State::ArrayAfter => match b {
                b',' => self.state = State::ArrayNext,
                b']' => {
                    self.in_array = false;
                    self.state = State::Top;
                }
                _ => {
                    return Err(format!(
                        "expected `,` or `]` after an array element, found {}",
                        show(b)
                    ))
                }
            },
            State::Value | State::ValueOrEnd => match b {
                b'{' | b'[' => {
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(format!("the record nests deeper than {MAX_DEPTH} levels"));
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
                _ => return Err(format!("expected a JSON value, found {}", show(b))),
            },
            State::KeyOrEnd | State::Key => match b {
                b'"' => self.state = State::Str { key: true },
                b'}' if self.state == State::KeyOrEnd => {
                    self.stack.pop();
                    self.state = State::After;
                }
                _ => {
                    return Err(format!(
                        "expected an object key (a string), found {}",
                        show(b)
                    ))
                }
            },
            State::Colon => match b {
                b':' => self.state = State::Value,
                _ => {
                    return Err(format!(
                        "expected `:` after an object key, found {}",
                        show(b)
                    ))
                }
            },
            State::Scalar => {
                if !is_scalar(b) {
                    self.state = State::After;
                    return Ok(());
                }
            }
            State::After => {
                let Some(&top) = self.stack.last() else {
                    // The record is complete: it ends at the top of the scan loop.
                    return Ok(());
                };
                match (b, top) {
                    (b',', b'{') => self.state = State::Key,
                    (b',', _) => self.state = State::Value,
                    (b'}', b'{') | (b']', b'[') => {
                        self.stack.pop();
                    }
                    (b'}' | b']', _) => {
                        return Err(format!(
                            "`{}` closes a `{}`",
                            char::from(b),
                            char::from(top)
                        ))
                    }
                    _ => {
                        return Err(format!(
                            "expected `,` or `{}`, found {}",
                            if top == b'{' { '}' } else { ']' },
                            show(b)
                        ))
                    }
                }
            }
            State::Str { .. } | State::Escape { .. } | State::Resync { .. } => {
                unreachable!("handled by the scan loop")
            }
        }
        *i += 1;
        self.col += 1;
        self.indent = None;
        Ok(())
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
