//! Finding the line and column of a key path in YAML source text.
//!
//! `serde_yaml` values carry no positions, so errors are located afterwards by scanning the
//! document's text for the path, block style (the form every Sigma rule uses). Flow
//! collections (`[a, b]`, `{k: v}`) are located at their key. A path that cannot be followed
//! gives the position of its deepest located prefix, or `None`.

use super::Seg;

/// One line of a document: its text and its 0-based line number in the whole source.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    no: usize,
    text: &'a str,
}

impl Line<'_> {
    /// The column (0-based, in characters) of the first non-blank character, or `None` for
    /// a blank or comment-only line.
    fn indent(&self) -> Option<usize> {
        let trimmed = self.text.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            None
        } else {
            Some(self.text.len() - trimmed.len())
        }
    }
}

/// Splits `source` into YAML documents, giving each document's lines. Matches the document
/// numbering of the YAML parser for ordinary files (`---` separators at column 0).
#[cfg(test)]
pub(crate) fn split_documents(source: &str) -> Vec<(usize, usize)> {
    split_lines(&source.lines().collect::<Vec<_>>())
}

/// [`split_documents`] of a source already split into lines.
pub(crate) fn split_lines(lines: &[&str]) -> Vec<(usize, usize)> {
    // (first line, end line exclusive) per document.
    let mut docs = Vec::new();
    let mut start = 0;
    let mut content = false;
    let mut explicit = false;
    for (i, l) in lines.iter().enumerate() {
        let is_sep = l.starts_with("---") && l[3..].chars().next().is_none_or(char::is_whitespace);
        if is_sep {
            if content || explicit {
                docs.push((start, i));
            }
            start = i + 1;
            content = false;
            explicit = true;
        } else if *l == "..." {
            if content || explicit {
                docs.push((start, i));
            }
            start = i + 1;
            content = false;
            explicit = false;
        } else {
            let t = l.trim();
            if !t.is_empty() && !t.starts_with('#') && !t.starts_with('%') {
                content = true;
            }
        }
    }
    if content || (explicit && start <= lines.len()) {
        docs.push((start, lines.len()));
    }
    docs
}

/// A block being searched: lines `[from, to)` whose entries start at column `col`; the first
/// entry may start mid-line (after `- `) on line `from`.
#[derive(Debug, Clone, Copy)]
struct Block {
    from: usize,
    to: usize,
    col: usize,
}

/// Finds `path` in the document made of `source` lines `[from, to)`. Returns 1-based
/// (line, column) in the whole source.
#[cfg(test)]
pub(crate) fn locate(source: &str, range: (usize, usize), path: &[Seg]) -> Option<(usize, usize)> {
    locate_lines(&source.lines().collect::<Vec<_>>(), range, path)
}

/// [`locate`] in a source already split into lines (so that locating many documents of one
/// large file stays linear).
pub(crate) fn locate_lines(
    source: &[&str],
    range: (usize, usize),
    path: &[Seg],
) -> Option<(usize, usize)> {
    let lines: Vec<Line<'_>> = source
        .get(range.0..range.1.min(source.len()))?
        .iter()
        .enumerate()
        .map(|(i, text)| Line {
            no: range.0 + i,
            text,
        })
        .collect();
    let first = lines.iter().position(|l| l.indent().is_some())?;
    let mut block = Block {
        from: first,
        to: lines.len(),
        col: lines[first].indent()?,
    };
    let mut found: Option<(usize, usize)> = None;
    for seg in path {
        let (pos, next) = match seg {
            Seg::Key(k) => find_key(&lines, block, k)?,
            Seg::Index(n) => match find_index(&lines, block, *n) {
                Some(x) => x,
                None => return found,
            },
        };
        found = Some((lines[pos.0].no + 1, pos.1 + 1));
        match next {
            Some(b) => block = b,
            None => return found,
        }
    }
    found
}

/// Whether line `i` of the block holds an entry starting at the block's column.
fn entry_col(lines: &[Line<'_>], block: Block, i: usize) -> Option<usize> {
    if i == block.from {
        let l = lines[i];
        return (l.text.len() > block.col).then_some(block.col);
    }
    let ind = lines[i].indent()?;
    (ind == block.col).then_some(ind)
}

/// Whether line `i` ends the block (a content line left of the block's column).
fn ends_block(lines: &[Line<'_>], block: Block, i: usize) -> bool {
    i != block.from && lines[i].indent().is_some_and(|ind| ind < block.col)
}

fn find_key(
    lines: &[Line<'_>],
    block: Block,
    key: &str,
) -> Option<((usize, usize), Option<Block>)> {
    let mut result = None;
    for i in block.from..block.to {
        if ends_block(lines, block, i) {
            break;
        }
        let Some(col) = entry_col(lines, block, i) else {
            continue;
        };
        let text = lines[i].text.get(col..)?;
        if let Some(rest) = strip_key(text, key) {
            let value = rest.trim_start();
            // A value on the key's line (scalar or flow collection) has no block to descend
            // into; the key's position is the best answer for deeper paths.
            let child = if value.is_empty() || value.starts_with('#') {
                child_block(lines, block, i, col)
            } else {
                None
            };
            result = Some(((i, col), child));
            break;
        }
    }
    result
}

/// The block nested under the entry on line `i` at column `col`: the following lines indented
/// deeper, or at the same column when they are sequence items.
fn child_block(lines: &[Line<'_>], parent: Block, i: usize, col: usize) -> Option<Block> {
    let j = (i + 1..parent.to).find(|&j| lines[j].indent().is_some())?;
    let ind = lines[j].indent()?;
    let item = lines[j].text[ind..].starts_with('-');
    if ind > col || (ind == col && item) {
        let mut end = parent.to;
        for (k, l) in lines.iter().enumerate().take(parent.to).skip(j + 1) {
            if let Some(x) = l.indent() {
                if x < ind || (x == ind && item && !l.text[x..].starts_with('-')) {
                    end = k;
                    break;
                }
            }
        }
        Some(Block {
            from: j,
            to: end,
            col: ind,
        })
    } else {
        None
    }
}

fn find_index(
    lines: &[Line<'_>],
    block: Block,
    n: usize,
) -> Option<((usize, usize), Option<Block>)> {
    let mut seen = 0;
    for i in block.from..block.to {
        if ends_block(lines, block, i) {
            break;
        }
        let Some(col) = entry_col(lines, block, i) else {
            continue;
        };
        let text = lines[i].text.get(col..)?;
        if !(text == "-" || text.starts_with("- ") || text.starts_with("-\t")) {
            continue;
        }
        if seen == n {
            let after = &text[1..];
            let content = after.trim_start_matches([' ', '\t']);
            if content.is_empty() || content.starts_with('#') {
                let child = child_block(lines, block, i, col);
                let pos = child.map_or((i, col), |b| (b.from, b.col));
                return Some((pos, child));
            }
            let ccol = col + 1 + (after.len() - content.len());
            // The item's content is a block starting mid-line; its siblings follow at ccol.
            let mut end = block.to;
            for (k, l) in lines.iter().enumerate().take(block.to).skip(i + 1) {
                if l.indent().is_some_and(|x| x < ccol) {
                    end = k;
                    break;
                }
            }
            return Some((
                (i, ccol),
                Some(Block {
                    from: i,
                    to: end,
                    col: ccol,
                }),
            ));
        }
        seen += 1;
    }
    None
}

/// If `text` starts with `key` (plain or quoted) followed by `:`, the text after the colon.
fn strip_key<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let rest = if let Some(r) = text.strip_prefix(key) {
        r
    } else if let Some(r) = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_prefix(key))
        .and_then(|t| t.strip_prefix('\''))
    {
        r
    } else {
        text.strip_prefix('"')
            .and_then(|t| t.strip_prefix(key))
            .and_then(|t| t.strip_prefix('"'))?
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    let after = rest.strip_prefix(':')?;
    (after.is_empty() || after.starts_with([' ', '\t'])).then_some(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &[&str]) -> Vec<Seg> {
        p.iter()
            .map(|s| match s.parse::<usize>() {
                Ok(n) => Seg::Index(n),
                Err(_) => Seg::Key((*s).into()),
            })
            .collect()
    }

    const DOC: &str = "title: t\nlogsource:\n    product: windows\ndetection:\n    selection:\n        - Image|endswith:\n            - '\\a.exe'\n            - '\\b.exe'\n          CommandLine: x\n        - User: y\n    keywords:\n    - one\n    - two\n    condition: selection\n";

    #[test]
    fn finds_nested_keys_and_indices() {
        let r = (0, DOC.lines().count());
        assert_eq!(locate(DOC, r, &segs(&["title"])), Some((1, 1)));
        assert_eq!(
            locate(DOC, r, &segs(&["logsource", "product"])),
            Some((3, 5))
        );
        assert_eq!(
            locate(
                DOC,
                r,
                &segs(&["detection", "selection", "0", "Image|endswith", "1"])
            ),
            Some((8, 15))
        );
        assert_eq!(
            locate(
                DOC,
                r,
                &segs(&["detection", "selection", "0", "CommandLine"])
            ),
            Some((9, 11))
        );
        assert_eq!(
            locate(DOC, r, &segs(&["detection", "selection", "1", "User"])),
            Some((10, 11))
        );
        assert_eq!(
            locate(DOC, r, &segs(&["detection", "keywords", "1"])),
            Some((13, 7))
        );
        assert_eq!(
            locate(DOC, r, &segs(&["detection", "condition"])),
            Some((14, 5))
        );
    }

    #[test]
    fn splits_documents() {
        let s = "a: 1\n---\nb: 2\n---\nc: 3\n";
        assert_eq!(split_documents(s), vec![(0, 1), (2, 3), (4, 5)]);
        let s = "---\na: 1\n";
        assert_eq!(split_documents(s), vec![(1, 2)]);
        assert_eq!(
            locate("---\na: 1\nb: 2\n", (1, 3), &segs(&["b"])),
            Some((3, 1))
        );
    }
}
