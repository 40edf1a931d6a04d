//! A linear pre-scan of YAML text for its nesting depth, run before the YAML parser.
//!
//! The parser's scanner does work proportional to the nesting depth for every token, so a
//! 200 KB rule nested 100,000 deep (`[[[...]]]`, `{a: {a: ...}}`, `- - - ...`) takes
//! quadratic time before it reaches the deserializer's recursion limit. This scan finds the
//! first position where the nesting passes [`MAX_NESTING`] in one pass, so such a document is
//! rejected at once, with its line and column.
//!
//! The scan follows the YAML structure closely enough never to count more levels than the
//! document has, give or take one per line (see [`scan`]): it skips quoted scalars (over
//! lines), block scalars (`|`, `>`), comments and plain scalars (whose `[`, `{` are text in block
//! context), counts flow collections by their brackets and block collections by an
//! indentation stack, including compact forms on one line (`- - x`, `- key: v`, `? - x`).
//! It may count fewer levels than there are (a block sequence at its mapping's column), which
//! is harmless: the deserializer's own limit applies after it.

/// The deepest nesting of collections accepted, the YAML deserializer's recursion limit.
pub(crate) const MAX_NESTING: usize = 128;

/// Where the nesting first passes [`MAX_NESTING`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep {
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column, in characters.
    pub(crate) column: usize,
    /// Byte offset of the start of the document holding it (its `---` line, or 0).
    pub(crate) document_start: usize,
}

/// The scanner's state between characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Block context, at the start of a line.
    Block,
    /// Inside a single-quoted scalar.
    Single,
    /// Inside a double-quoted scalar.
    Double,
    /// Inside a flow collection, where a node may start.
    Flow,
    /// Inside a flow collection, inside a plain scalar.
    FlowPlain,
}

struct Scan<'a> {
    bytes: &'a [u8],
    /// Columns of the open block collections, increasing.
    stack: Vec<usize>,
    flow: usize,
    /// Column a plain scalar's continuation lines must be indented beyond, after a plain
    /// value (`None` = -1 for a top-level scalar, outer `None` = no plain scalar open).
    plain_owner: Option<Option<usize>>,
    /// Content lines of a block scalar are indented beyond this column (`None` = -1).
    block_scalar: Option<Option<usize>>,
    /// 0-based line number and byte offset of the current line.
    line_no: usize,
    line_start: usize,
    document_start: usize,
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

/// Scans `source` and returns where its nesting first passes [`MAX_NESTING`], if it does.
pub(crate) fn scan(source: &str) -> Option<TooDeep> {
    let mut s = Scan {
        bytes: source.as_bytes(),
        stack: Vec::new(),
        flow: 0,
        plain_owner: None,
        block_scalar: None,
        line_no: 0,
        line_start: 0,
        document_start: 0,
    };
    s.run()
}

impl Scan<'_> {
    fn too_deep(&self, at: usize) -> Option<TooDeep> {
        (self.stack.len() + self.flow > MAX_NESTING).then(|| TooDeep {
            line: self.line_no + 1,
            column: String::from_utf8_lossy(&self.bytes[self.line_start..at])
                .chars()
                .count()
                + 1,
            document_start: self.document_start,
        })
    }

    /// The end of the line starting at `i` (the index of its `\n`, or the end).
    fn line_end(&self, i: usize) -> usize {
        memchr::memchr(b'\n', &self.bytes[i..]).map_or(self.bytes.len(), |j| i + j)
    }

    /// Pushes a block collection at byte `at` (column `col`) unless one is open there.
    fn push_block(&mut self, col: usize, at: usize) -> Option<TooDeep> {
        if self.stack.last().is_none_or(|&top| top < col) {
            self.stack.push(col);
        }
        self.too_deep(at)
    }

    fn run(&mut self) -> Option<TooDeep> {
        let mut mode = Mode::Block;
        let mut i = 0;
        let n = self.bytes.len();
        while i <= n {
            // At the start of a line.
            self.line_start = i;
            let end = self.line_end(i);
            let line = &self.bytes[i..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let marker = (line.starts_with(b"---") || line.starts_with(b"..."))
                && line.get(3).is_none_or(|&b| is_ws(b));
            let mut j = i;
            if marker {
                // A document boundary resets everything.
                self.stack.clear();
                self.flow = 0;
                self.plain_owner = None;
                self.block_scalar = None;
                mode = Mode::Block;
                self.document_start = i;
                j = i + 3;
            }
            let indent = line.iter().take_while(|&&b| b == b' ').count();
            let blank = line[indent..].iter().all(|&b| is_ws(b));
            let deeper = |owner: Option<usize>| owner.is_none_or(|c| indent > c);
            if mode == Mode::Block && !marker {
                if let Some(owner) = self.block_scalar {
                    if blank || deeper(owner) {
                        i = end + 1;
                        self.line_no += 1;
                        continue;
                    }
                    self.block_scalar = None;
                }
                if blank || line[indent] == b'#' || (indent == 0 && line[0] == b'%') {
                    i = end + 1;
                    self.line_no += 1;
                    continue;
                }
                if let Some(owner) = self.plain_owner {
                    if deeper(owner) {
                        // A continuation line of a plain scalar.
                        i = end + 1;
                        self.line_no += 1;
                        continue;
                    }
                    self.plain_owner = None;
                }
                while self.stack.last().is_some_and(|&top| top > indent) {
                    self.stack.pop();
                }
                j = i + indent;
                if let Some(d) = self.push_block(indent, j) {
                    return Some(d);
                }
            }
            // The rest of the line.
            let stop = i + line.len();
            if let Err(d) = self.line(&mut mode, j, stop) {
                return Some(d);
            }
            i = end + 1;
            self.line_no += 1;
        }
        None
    }

    /// Scans bytes `[j, stop)` of the current line in `mode`.
    fn line(&mut self, mode: &mut Mode, mut j: usize, stop: usize) -> Result<(), TooDeep> {
        let b = self.bytes;
        if *mode == Mode::Block {
            return self.block_node(mode, j, stop);
        }
        while j < stop {
            let c = b[j];
            match *mode {
                Mode::Single => {
                    if c == b'\'' {
                        if b.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        *mode = self.after_quoted();
                        j += 1;
                        if *mode == Mode::Block {
                            return self.after_node(mode, j, stop);
                        }
                        continue;
                    }
                    j += 1;
                }
                Mode::Double => {
                    if c == b'\\' {
                        j += 2;
                        continue;
                    }
                    if c == b'"' {
                        *mode = self.after_quoted();
                        j += 1;
                        if *mode == Mode::Block {
                            return self.after_node(mode, j, stop);
                        }
                        continue;
                    }
                    j += 1;
                }
                Mode::FlowPlain => {
                    let next_ends = b.get(j + 1).is_none_or(|&d| {
                        is_ws(d) || d == b'\r' || d == b'\n' || is_flow_indicator(d)
                    });
                    if is_flow_indicator(c) || (c == b':' && next_ends) {
                        *mode = Mode::Flow;
                        continue;
                    }
                    if is_ws(c) && b.get(j + 1) == Some(&b'#') {
                        // A comment ends the line.
                        *mode = Mode::Flow;
                        return Ok(());
                    }
                    j += 1;
                }
                Mode::Flow => match c {
                    b' ' | b'\t' | b'\r' | b',' | b':' | b'?' => j += 1,
                    b'#' => return Ok(()),
                    b'\'' => {
                        *mode = Mode::Single;
                        j += 1;
                    }
                    b'"' => {
                        *mode = Mode::Double;
                        j += 1;
                    }
                    b'[' | b'{' => {
                        self.flow += 1;
                        self.too_deep(j).map_or(Ok(()), Err)?;
                        j += 1;
                    }
                    b']' | b'}' => {
                        self.flow = self.flow.saturating_sub(1);
                        j += 1;
                        if self.flow == 0 {
                            *mode = Mode::Block;
                            return self.after_node(mode, j, stop);
                        }
                    }
                    b'&' | b'!' => j = self.skip_token(j, stop),
                    _ => {
                        *mode = Mode::FlowPlain;
                        j += 1;
                    }
                },
                Mode::Block => return self.block_node(mode, j, stop),
            }
        }
        Ok(())
    }

    /// The mode after a closing quote: flow when inside a flow collection, else block.
    fn after_quoted(&self) -> Mode {
        if self.flow > 0 {
            Mode::Flow
        } else {
            Mode::Block
        }
    }

    /// Skips an anchor or tag token starting at `j`.
    fn skip_token(&self, mut j: usize, stop: usize) -> usize {
        while j < stop
            && !is_ws(self.bytes[j])
            && !(self.flow > 0 && is_flow_indicator(self.bytes[j]))
        {
            j += 1;
        }
        j
    }

    fn skip_ws(&self, mut j: usize, stop: usize) -> usize {
        while j < stop && is_ws(self.bytes[j]) {
            j += 1;
        }
        j
    }

    /// The column of byte `j` of the current line, in bytes (constant time; the indentation
    /// it is compared with is ASCII spaces, and a larger byte column only pops a level sooner).
    fn col(&self, j: usize) -> usize {
        j - self.line_start
    }

    /// After a quoted scalar or a flow collection in block context: a `:` makes it a key,
    /// whose value follows; anything else ends the node.
    fn after_node(&mut self, mode: &mut Mode, j: usize, stop: usize) -> Result<(), TooDeep> {
        let j = self.skip_ws(j, stop);
        if j < stop && self.bytes[j] == b':' && (j + 1 == stop || is_ws(self.bytes[j + 1])) {
            return self.value(mode, j + 1, stop);
        }
        Ok(())
    }

    /// A node starting at byte `j` in block context: compact collection indicators, then a
    /// key or a value.
    fn block_node(&mut self, mode: &mut Mode, mut j: usize, stop: usize) -> Result<(), TooDeep> {
        let b = self.bytes;
        let mut first = true;
        loop {
            j = self.skip_ws(j, stop);
            if j >= stop || b[j] == b'#' {
                return Ok(());
            }
            let indicator =
                matches!(b[j], b'-' | b'?' | b':') && (j + 1 == stop || is_ws(b[j + 1]));
            if indicator {
                if !first {
                    let col = self.col(j);
                    self.push_block(col, j).map_or(Ok(()), Err)?;
                }
                first = false;
                j += 1;
                continue;
            }
            if matches!(b[j], b'&' | b'!') {
                j = self.skip_token(j, stop);
                continue;
            }
            break;
        }
        // A key (`key: ...`, `'key': ...`) opens a mapping at its column.
        match b[j] {
            b'\'' | b'"' | b'[' | b'{' => {
                if !first {
                    // Possibly a key of a compact mapping; the value decides, count it once.
                    let col = self.col(j);
                    let key = self.quoted_key_follows(j, stop);
                    if key {
                        self.push_block(col, j).map_or(Ok(()), Err)?;
                    }
                }
                self.value(mode, j, stop)
            }
            _ => {
                if let Some(colon) = self.plain_key_colon(j, stop) {
                    if !first {
                        let col = self.col(j);
                        self.push_block(col, j).map_or(Ok(()), Err)?;
                    }
                    return self.value(mode, colon + 1, stop);
                }
                self.value(mode, j, stop)
            }
        }
    }

    /// Whether the single-line quoted scalar at `j` is followed by `:` (a quoted key).
    fn quoted_key_follows(&self, j: usize, stop: usize) -> bool {
        let b = self.bytes;
        let q = b[j];
        if q != b'\'' && q != b'"' {
            return false;
        }
        let mut k = j + 1;
        while k < stop {
            if q == b'"' && b[k] == b'\\' {
                k += 2;
                continue;
            }
            if b[k] == q {
                if q == b'\'' && b.get(k + 1) == Some(&b'\'') {
                    k += 2;
                    continue;
                }
                let after = self.skip_ws(k + 1, stop);
                return after < stop
                    && b[after] == b':'
                    && (after + 1 == stop || is_ws(b[after + 1]));
            }
            k += 1;
        }
        false
    }

    /// The `:` ending a plain key starting at `j`, if the plain scalar is a key: the first
    /// `:` followed by a blank or the end of the line, before any ` #` comment.
    fn plain_key_colon(&self, j: usize, stop: usize) -> Option<usize> {
        let b = self.bytes;
        let mut k = j;
        while k < stop {
            match b[k] {
                b':' if k + 1 == stop || is_ws(b[k + 1]) => return Some(k),
                b'#' if k > j && is_ws(b[k - 1]) => return None,
                _ => k += 1,
            }
        }
        None
    }

    /// A value starting at or after byte `j` in block context.
    fn value(&mut self, mode: &mut Mode, mut j: usize, stop: usize) -> Result<(), TooDeep> {
        let b = self.bytes;
        loop {
            j = self.skip_ws(j, stop);
            if j >= stop || b[j] == b'#' {
                return Ok(());
            }
            match b[j] {
                b'&' | b'!' => j = self.skip_token(j, stop),
                b'\'' => {
                    *mode = Mode::Single;
                    return self.line(mode, j + 1, stop);
                }
                b'"' => {
                    *mode = Mode::Double;
                    return self.line(mode, j + 1, stop);
                }
                b'[' | b'{' => {
                    *mode = Mode::Flow;
                    return self.line(mode, j, stop);
                }
                b'|' | b'>' => {
                    let mut k = j + 1;
                    while k < stop && matches!(b[k], b'0'..=b'9' | b'+' | b'-') {
                        k += 1;
                    }
                    if k == stop || is_ws(b[k]) {
                        self.block_scalar = Some(self.stack.last().copied());
                        return Ok(());
                    }
                    self.plain_owner = Some(self.stack.last().copied());
                    return Ok(());
                }
                _ => {
                    // A plain scalar: its `[`, `{`, quotes are text; continuation lines
                    // follow deeper indented.
                    self.plain_owner = Some(self.stack.last().copied());
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(s: &str) -> bool {
        scan(s).is_none()
    }

    #[test]
    fn deep_flow_and_block_nesting_is_found_with_its_position() {
        let hdr = "title: t\ndetection:\n    sel:\n        Image: ";
        let deep = format!("{hdr}{}x{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let d = scan(&deep).expect("too deep");
        // Three block mappings (root, detection, sel): the flow collection passes the limit
        // at its 126th bracket.
        assert_eq!((d.line, d.column, d.document_start), (4, 16 + 125, 0));
        let deep = format!("{hdr}{}x{}\n", "{a: ".repeat(100_000), "}".repeat(100_000));
        assert_eq!(scan(&deep).map(|d| d.line), Some(4));
        let deep = format!("a: 1\n---\nb:\n  {}x\n", "- ".repeat(100_000));
        let d = scan(&deep).expect("too deep");
        assert_eq!((d.line, d.document_start), (4, 5));
        let deep = format!("k: {}\n", "? ".repeat(1000));
        assert!(scan(&deep).is_none(), "after a key, `? ` is plain text");
        let deep = format!("{}x\n", "? ".repeat(1000));
        assert!(scan(&deep).is_some());
    }

    #[test]
    fn text_that_looks_nested_is_not_counted() {
        let many = "[".repeat(1000);
        let curly = "{".repeat(1000);
        for s in [
            format!("a: x{many}\n"),
            format!("a: '{many}'\nb: \"{curly}\\\"{many}\"\n"),
            format!("a: 'it''s {many}\n  {many}'\n"),
            format!("a: |\n  {many}\n  {curly}\nb: >-\n    {many}\n"),
            format!("a: text\n  {many} continued\n    {curly}\n"),
            format!("a: x # {many}\n# {curly}\n"),
            format!("- [a, 'b{many}', \"c{curly}\", d]\n"),
            format!("- {{k: 'v{many}'}}\n"),
            "a: {k: 'v]]]'}\nb: [\"]]]\", ']'] \n".to_string(),
        ] {
            assert!(depth_ok(&s), "{s}");
        }
    }

    #[test]
    fn ordinary_nesting_is_counted_exactly() {
        let nested = |n: usize| {
            let mut s = String::new();
            for i in 0..n - 1 {
                s.push_str(&" ".repeat(i));
                s.push_str("k:\n");
            }
            s.push_str(&" ".repeat(n - 1));
            s.push_str("k: v\n");
            s
        };
        assert!(
            depth_ok(&nested(MAX_NESTING)),
            "a scalar value adds no level"
        );
        assert!(!depth_ok(&nested(MAX_NESTING + 1)));
        let flow = |n: usize| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
        assert!(depth_ok(&flow(MAX_NESTING - 1)));
        assert!(!depth_ok(&flow(MAX_NESTING)));
    }
}
