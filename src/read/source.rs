//! Positions inside a query and their place in the file the query came from.

use serde::Serialize;

use crate::error::{Error, ErrorKind};

/// A byte range inside a query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The span `start..end` (byte offsets, saturated to `u32`).
    #[must_use]
    pub fn new(start: usize, end: usize) -> Self {
        let c = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        Span {
            start: c(start),
            end: c(end),
        }
    }

    /// From the start of `self` to the end of `other`.
    #[must_use]
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The first byte as `usize`.
    #[must_use]
    pub fn start(self) -> usize {
        self.start as usize
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`. An offset inside a
/// character or past the end is clamped.
#[must_use]
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = memchr::memchr_iter(b'\n', before.as_bytes()).count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// Line starts of a text, for many [`line_col`] look-ups without rescanning.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `text`.
    #[must_use]
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, starts }
    }

    /// As [`line_col`].
    #[must_use]
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut off = offset.min(self.text.len());
        while !self.text.is_char_boundary(off) {
            off -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= off);
        let start = self.starts[line - 1];
        (line, self.text[start..off].chars().count() + 1)
    }
}

/// Where a query text sits in its file, so that a position inside the query is reported as a
/// file position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryOrigin {
    /// The file.
    pub file: Option<String>,
    /// The key path of the query, e.g. `rule.query`.
    pub path: Option<String>,
    /// Line and column in the file of the query's first character.
    pub start: Option<(usize, usize)>,
    /// Whether every query character stands for itself in the file (a literal TOML string, or
    /// a basic string without escapes), so query positions map exactly onto file positions.
    /// When false, errors give the file position of the query's start.
    pub exact: bool,
}

impl QueryOrigin {
    /// The file position of query position (`line`, `col`).
    #[must_use]
    pub fn file_pos(&self, line: usize, col: usize) -> Option<(usize, usize)> {
        let (l0, c0) = self.start?;
        if !self.exact {
            return Some((l0, c0));
        }
        Some(if line == 1 {
            (l0, c0 + col - 1)
        } else {
            (l0 + line - 1, col)
        })
    }

    /// A syntax error of `language` at `span` of `query`, located in the file where possible.
    #[must_use]
    pub fn syntax_error(
        &self,
        language: &str,
        query: &str,
        span: Span,
        message: &str,
        hint: Option<String>,
    ) -> Error {
        let (line, col) = line_col(query, span.start());
        let e = Error::new(ErrorKind::QuerySyntax {
            language: language.to_string(),
            message: format!("{message} (query {line}:{col})"),
        });
        self.locate(e, query, span, hint)
    }

    /// Attaches file, key path, line:column of `span` and `hint` to `e`.
    #[must_use]
    pub fn locate(&self, mut e: Error, query: &str, span: Span, hint: Option<String>) -> Error {
        let (line, col) = line_col(query, span.start());
        let (fl, fc) = self.file_pos(line, col).unwrap_or((line, col));
        e = e.at_line(fl, Some(fc));
        if let Some(f) = &self.file {
            e = e.in_file(f.clone());
        }
        if let Some(p) = &self.path {
            e = e.at(p.clone());
        }
        if let Some(h) = hint {
            e = e.hint(h);
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 0), (1, 1));
        assert_eq!(line_col("ab\ncé d", 3), (2, 1));
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("é", 1), (1, 1));
    }

    #[test]
    fn line_index_agrees_with_line_col() {
        let t = "ab\ncé d\n\nx";
        let ix = LineIndex::new(t);
        for off in 0..=t.len() + 2 {
            assert_eq!(ix.line_col(off), line_col(t, off), "{off}");
        }
    }

    #[test]
    fn file_positions() {
        let o = QueryOrigin {
            start: Some((10, 5)),
            exact: true,
            ..QueryOrigin::default()
        };
        assert_eq!(o.file_pos(1, 3), Some((10, 7)));
        assert_eq!(o.file_pos(3, 2), Some((12, 2)));
        let o = QueryOrigin { exact: false, ..o };
        assert_eq!(o.file_pos(3, 2), Some((10, 5)));
    }
}
