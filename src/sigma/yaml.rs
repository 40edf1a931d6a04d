//! A faster YAML reader for the common shape of Sigma files, giving exactly the values of the
//! reference reader (`yaml_serde`), or nothing.
//!
//! `yaml_serde` reads through libyaml, whose character reader costs about 75 instructions a
//! byte; loading a catalog spent a third of its time there. [`documents`] reads the same
//! text with `saphyr-parser` (a YAML 1.2 event parser) and builds `yaml_serde` values from
//! its events, resolving plain scalars as `yaml_serde` does (null, booleans, integers in
//! bases 2, 8, 10 and 16, floats, `.inf` / `.nan`, leading zeros kept as text). It declines
//! (returns `None`) wherever the two readers could differ or the reference reader would
//! fail: any syntax error, a tag, an anchor or alias, a duplicate key, an integer wider than
//! 64 bits, a YAML 1.1 line break (U+0085, U+2028, U+2029), a byte order mark, a tab, a
//! document end marker (`...`), an empty stream, nesting deeper than [`MAX_DEPTH`], a text
//! over [`MAX_BYTES`] (which the reference reader streams a document at a time), and the
//! shapes where saphyr is more lenient than libyaml (a plain scalar starting with an
//! indicator, a null key, a null value in a flow mapping, a flow collection over several
//! lines). The caller then reads the text with `yaml_serde`, so errors and their messages
//! are the reference reader's. Tests hold the two readers to the same values (and the fast
//! one to declining wherever the reference one fails) on every fixture and catalog rule, on
//! every short number-like scalar and on mutated rules (each declined shape above was
//! found by mutating rules; 500,000 further mutations of fixture and catalog rules then
//! found no difference, about half of them read here).

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_yaml::{Mapping, Number, Value};

/// The largest text read here: its documents are held at once (Sigma rules are a few KB).
pub(crate) const MAX_BYTES: usize = 1 << 20;

/// The deepest nesting read here: half the pre-scan's limit ([`super::depth::MAX_NESTING`],
/// `yaml_serde`'s recursion limit), so that what is read here passes the pre-scan.
pub(crate) const MAX_DEPTH: usize = 64;
const _: () = assert!(MAX_DEPTH * 2 <= super::depth::MAX_NESTING);

/// The YAML documents of `text`, or `None` when the reference reader must read it.
pub(crate) fn documents(text: &str) -> Option<Vec<Value>> {
    if text.len() > MAX_BYTES || declined_text(text.as_bytes()) {
        return None;
    }
    let mut docs = Vec::new();
    // Open collections, innermost last.
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Value> = None;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.ok()?;
        let value = match ev {
            Event::StreamStart | Event::Nothing | Event::DocumentStart(_) => continue,
            Event::StreamEnd => break,
            Event::DocumentEnd => {
                docs.push(root.take().unwrap_or(Value::Null));
                continue;
            }
            Event::Alias(_) => return None,
            Event::Scalar(s, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                match style {
                    // Where libyaml refuses an indicator that saphyr takes as text.
                    ScalarStyle::Plain if s.starts_with(INDICATORS) => return None,
                    ScalarStyle::Plain => plain(&s)?,
                    ScalarStyle::SingleQuoted
                    | ScalarStyle::DoubleQuoted
                    | ScalarStyle::Literal
                    | ScalarStyle::Folded => Value::String(s.into_owned()),
                }
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag)
                if anchor != 0 || tag.is_some() || stack.len() >= MAX_DEPTH =>
            {
                return None
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                // A flow collection's start event spans its `[` or `{`; a block one's is empty.
                let flow = (span.len() == 1).then_some(span.start.line());
                let kind = match ev {
                    Event::SequenceStart(..) => Kind::Seq(Vec::new()),
                    _ => Kind::Map(Mapping::new(), None),
                };
                stack.push(Open { kind, flow });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let open = stack.pop()?;
                // libyaml refuses implicit keys over several lines in flow mappings, which
                // saphyr reads: keep flow collections on one line.
                if open.flow.is_some_and(|line| line != span.end.line()) {
                    return None;
                }
                match open.kind {
                    Kind::Seq(s) => Value::Sequence(s),
                    Kind::Map(m, None) => Value::Mapping(m),
                    Kind::Map(_, Some(_)) => return None,
                }
            }
        };
        let Some(open) = stack.last_mut() else {
            root = Some(value);
            continue;
        };
        match &mut open.kind {
            Kind::Seq(s) => s.push(value),
            Kind::Map(_, key @ None) => *key = Some(value),
            Kind::Map(m, key @ Some(_)) => {
                let k = key.take()?;
                // A null key, or a null value in a flow mapping, is what saphyr reads from
                // some stray `:` or `,` that libyaml refuses.
                if k.is_null() || (open.flow.is_some() && value.is_null()) || m.contains_key(&k) {
                    return None;
                }
                m.insert(k, value);
            }
        }
    }
    // libyaml gives an empty stream one empty document, saphyr none: the reference decides.
    (stack.is_empty() && !docs.is_empty()).then_some(docs)
}

/// Whether the text holds a tab, a YAML 1.1 line break (U+0085, U+2028, U+2029), a byte
/// order mark, or a document end marker (`...` at a line start, where libyaml refuses some
/// streams saphyr reads): one pass of `memchr` each, as this runs on every file.
fn declined_text(b: &[u8]) -> bool {
    memchr::memchr(b'\t', b).is_some()
        || b.starts_with(b"...")
        || memchr::memmem::find(b, b"\n...").is_some()
        || memchr::memchr3_iter(0xC2, 0xE2, 0xEF, b).any(|i| {
            matches!(
                b[i..],
                [0xC2, 0x85, ..] | [0xE2, 0x80, 0xA8 | 0xA9, ..] | [0xEF, 0xBB, 0xBF, ..]
            )
        })
}

/// Characters that cannot start a plain scalar in libyaml (`-` can, before a non-blank, in
/// both readers; `?` and `:` can in some contexts, which saphyr and libyaml draw differently).
const INDICATORS: [char; 18] = [
    ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ':', '?',
];

/// A collection being read, and the line of its opening bracket when it is a flow one.
struct Open {
    kind: Kind,
    flow: Option<usize>,
}

/// The values of a collection being read; a mapping holds its pending key.
enum Kind {
    Seq(Vec<Value>),
    Map(Mapping, Option<Value>),
}

/// A plain scalar as `yaml_serde` resolves it; `None` for an integer it cannot hold.
fn plain(s: &str) -> Option<Value> {
    if s.is_empty() || matches!(s, "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    match s {
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    // Only a scalar starting like a number can be one (digits, a sign, a dot).
    if !s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return Some(Value::String(s.to_string()));
    }
    match int(s) {
        Int::U64(u) => return Some(Value::Number(Number::from(u))),
        Int::I64(i) => return Some(Value::Number(Number::from(i))),
        Int::Wide => return None,
        Int::Text => {}
    }
    if !leading_zero_digits(s) {
        if let Some(f) = float(s) {
            return Some(Value::Number(Number::from(f)));
        }
    }
    Some(Value::String(s.to_string()))
}

/// What an integer-looking scalar is.
enum Int {
    U64(u64),
    I64(i64),
    /// An integer that only a 128-bit type holds (the reference reader refuses it).
    Wide,
    /// Not an integer (a float, or text).
    Text,
}

fn int(s: &str) -> Int {
    if let Some(u) = unsigned(s, u64::from_str_radix) {
        return Int::U64(u);
    }
    if let Some(i) = negative(s, i64::from_str_radix) {
        return Int::I64(i);
    }
    if unsigned(s, u128::from_str_radix).is_some() || negative(s, i128::from_str_radix).is_some() {
        return Int::Wide;
    }
    Int::Text
}

/// The digits after a base prefix, unless they start with a sign.
fn based<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix)
        .filter(|rest| !rest.starts_with(['+', '-']))
}

/// A non-negative integer: optional `+`, then `0x` / `0o` / `0b` digits or decimal digits
/// (a leading zero before more digits makes it text).
fn unsigned<T>(s: &str, radix: fn(&str, u32) -> Result<T, std::num::ParseIntError>) -> Option<T> {
    let body = s.strip_prefix('+').unwrap_or(s);
    for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = based(body, prefix) {
            if let Ok(v) = radix(rest, base) {
                return Some(v);
            }
        } else if body.starts_with(prefix) {
            return None;
        }
    }
    if body.starts_with(['+', '-']) || leading_zero_digits(s) {
        return None;
    }
    radix(body, 10).ok()
}

/// A negative integer: `-0x` / `-0o` / `-0b` digits or a signed decimal.
fn negative<T>(s: &str, radix: fn(&str, u32) -> Result<T, std::num::ParseIntError>) -> Option<T> {
    for (prefix, base) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = s.strip_prefix(prefix) {
            if let Ok(v) = radix(&format!("-{rest}"), base) {
                return Some(v);
            }
        }
    }
    if leading_zero_digits(s) {
        return None;
    }
    radix(s, 10).ok()
}

/// Leading zeros followed by digits only (`007`, `-01`): text in YAML 1.2.
fn leading_zero_digits(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

/// A float: `.inf` / `.nan` spellings, or a finite decimal float.
fn float(s: &str) -> Option<f64> {
    let body = match s.strip_prefix('+') {
        Some(b) if b.starts_with(['+', '-']) => return None,
        Some(b) => b,
        None => s,
    };
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Some(f64::INFINITY);
    }
    if matches!(s, "-.inf" | "-.Inf" | "-.INF") {
        return Some(f64::NEG_INFINITY);
    }
    if matches!(s, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN.copysign(1.0));
    }
    body.parse::<f64>().ok().filter(|f| f.is_finite())
}

#[cfg(test)]
mod tests;
