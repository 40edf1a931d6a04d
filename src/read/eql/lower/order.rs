//! `f < "s"`, `f >= "s"` ...: Elasticsearch compares strings in a range query on a keyword
//! field by their UTF-8 bytes, which orders them as their code points. The IR orders numbers
//! only, so the comparison is written as the anchored regex of every string on that side of
//! `s`: a string is greater when it extends `s`, or when at the first position where they
//! differ its character is greater; smaller when it is a proper prefix of `s`, or its
//! character there is smaller. Exact (case-sensitive, with the `s` flag: `.` matches
//! newlines).

use crate::ir;

/// The anchored IR regex holding for the strings `v` with `v op s`, for an ordering `op`
/// (`Lt`, `Lte`, `Gt`, `Gte`; `None` for the others), to be matched with the `s` flag (`.`
/// matches newlines).
#[must_use]
pub fn regex(op: ir::CmpOp, s: &str) -> Option<String> {
    let (greater, inclusive) = match op {
        ir::CmpOp::Lt => (false, false),
        ir::CmpOp::Lte => (false, true),
        ir::CmpOp::Gt => (true, false),
        ir::CmpOp::Gte => (true, true),
        ir::CmpOp::Eq | ir::CmpOp::Neq => return None,
    };
    let chars: Vec<char> = s.chars().collect();
    let prefix = |i: usize| regex::escape(&chars[..i].iter().collect::<String>());
    let mut alts: Vec<String> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        // The first differing character, on the wanted side of `c`.
        let class = if greater {
            next(c).map(|n| format!(r"[\x{{{:X}}}-\x{{10FFFF}}]", u32::from(n)))
        } else {
            prev(c).map(|p| format!(r"[\x{{0}}-\x{{{:X}}}]", u32::from(p)))
        };
        if let Some(class) = class {
            alts.push(format!("{}{class}.*", prefix(i)));
        }
        if !greater {
            // A proper prefix of `s` is smaller.
            alts.push(prefix(i));
        }
    }
    let whole = prefix(chars.len());
    match (greater, inclusive) {
        (true, false) => alts.push(format!("{whole}.+")),
        (true, true) => alts.push(format!("{whole}.*")),
        (false, true) => alts.push(whole),
        (false, false) => {}
    }
    Some(if alts.is_empty() {
        // Nothing is smaller than the empty string: a class no character is in, anchored.
        r"^[^\x{0}-\x{10FFFF}]$".to_string()
    } else {
        format!("^(?:{})$", alts.join("|"))
    })
}

/// The next Unicode scalar value.
fn next(c: char) -> Option<char> {
    match c {
        '\u{D7FF}' => Some('\u{E000}'),
        c => char::from_u32(u32::from(c) + 1),
    }
}

/// The previous Unicode scalar value.
fn prev(c: char) -> Option<char> {
    match c {
        '\u{E000}' => Some('\u{D7FF}'),
        '\0' => None,
        c => char::from_u32(u32::from(c) - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against Rust's own string order (code points) on strings around the bound.
    #[test]
    fn agrees_with_code_point_order() {
        let bounds = ["1000000000", "", "b", "a\u{10FFFF}", "\0", "ab"];
        let values = [
            "",
            "0",
            "1",
            "10",
            "1000000000",
            "1000000001",
            "999",
            "2",
            "10000000000",
            "a",
            "ab",
            "abc",
            "b",
            "ba",
            "\0",
            "\0\0",
            "a\u{10FFFF}",
            "a\u{10FFFF}x",
            "é",
            "\n",
        ];
        let ops = [
            (
                ir::CmpOp::Lt,
                std::cmp::Ordering::is_lt as fn(std::cmp::Ordering) -> bool,
            ),
            (ir::CmpOp::Lte, std::cmp::Ordering::is_le),
            (ir::CmpOp::Gt, std::cmp::Ordering::is_gt),
            (ir::CmpOp::Gte, std::cmp::Ordering::is_ge),
        ];
        for b in bounds {
            for (op, want) in ops {
                let re = ::regex::RegexBuilder::new(&regex(op, b).unwrap())
                    .dot_matches_new_line(true)
                    .build()
                    .unwrap();
                for v in values {
                    assert_eq!(re.is_match(v), want(v.cmp(b)), "{v:?} {op:?} {b:?}");
                }
            }
        }
    }
}
