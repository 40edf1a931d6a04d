//! Sigma string values: escaping and wildcards (spec § Escape Character, exactly as pySigma's
//! `SigmaString`), placeholders (`expand`), `windash` and the encodings.

use std::sync::LazyLock;

use base64::Engine as _;

use crate::ir::{Pattern, Piece};

/// Parses a Sigma string value: `*` and `?` are wildcards; `\*`, `\?` and `\\` are the literal
/// characters; a backslash before any other character, or at the end, stays literal.
#[must_use]
pub(crate) fn parse_sigma_string(s: &str) -> Pattern {
    parse(s, false)
}

/// Parses a value under `expand`: as [`parse_sigma_string`], and `%name%` becomes a
/// placeholder while `\%` is a literal `%`. This follows pySigma (placeholder regex
/// `(?<!\\)%([^%]+)%`, then `\%` → `%`) but decides escapes on the written text, so
/// `\\%x%` is a literal backslash followed by the placeholder `x` (pySigma drops the
/// backslash and keeps `%x%` literal).
#[must_use]
pub(crate) fn parse_sigma_string_expand(s: &str) -> Pattern {
    parse(s, true)
}

/// [`parse_sigma_string`], with placeholders when `expand`.
fn parse(s: &str, expand: bool) -> Pattern {
    let mut out = Pattern::default();
    let mut acc = String::new();
    let mut escaped = false;
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        if escaped {
            if !(matches!(c, '*' | '?' | '\\') || (expand && c == '%')) {
                acc.push('\\');
            }
            acc.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '*' || c == '?' {
            out.push(Piece::Lit(std::mem::take(&mut acc)));
            out.push(if c == '*' {
                Piece::AnyMany
            } else {
                Piece::AnyOne
            });
        } else if expand && c == '%' {
            match rest.find('%') {
                Some(j) if j > 0 => {
                    out.push(Piece::Lit(std::mem::take(&mut acc)));
                    out.push(Piece::Placeholder(rest[..j].to_string()));
                    rest = &rest[j + 1..];
                }
                _ => acc.push('%'),
            }
        } else {
            acc.push(c);
        }
    }
    if escaped {
        acc.push('\\');
    }
    out.push(Piece::Lit(acc));
    out
}

/// The five dash characters of `windash`, in pySigma's order.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// The largest number of windash positions in one value (5^5 = 3,125 variants).
pub(crate) const MAX_WINDASH_POSITIONS: usize = 5;

static WINDASH: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\B[-/]\b").expect("valid windash regex"));

/// All `windash` variants of `p`, in pySigma's order (the first position varies fastest).
/// `Err(n)` when the value has more than [`MAX_WINDASH_POSITIONS`] positions.
pub(crate) fn windash(p: &Pattern) -> Result<Vec<Pattern>, usize> {
    // (piece index, byte offset) of every dash or slash to vary.
    let mut positions = Vec::new();
    for (pi, piece) in p.pieces().iter().enumerate() {
        if let Piece::Lit(s) = piece {
            positions.extend(WINDASH.find_iter(s).map(|m| (pi, m.start())));
        }
    }
    if positions.is_empty() {
        return Ok(vec![p.clone()]);
    }
    if positions.len() > MAX_WINDASH_POSITIONS {
        return Err(positions.len());
    }
    let n = positions.len();
    let total = DASHES.len().pow(u32::try_from(n).unwrap_or(u32::MAX));
    let mut out = Vec::with_capacity(total);
    for k in 0..total {
        let mut digits = Vec::with_capacity(n);
        let mut rest = k;
        for _ in 0..n {
            digits.push(rest % DASHES.len());
            rest /= DASHES.len();
        }
        let mut pieces = Vec::with_capacity(p.pieces().len());
        for (pi, piece) in p.pieces().iter().enumerate() {
            match piece {
                Piece::Lit(s) => {
                    let mut t = String::with_capacity(s.len() + 4);
                    let mut from = 0;
                    for (d, &(ppi, off)) in positions.iter().enumerate() {
                        if ppi == pi {
                            t.push_str(&s[from..off]);
                            t.push(DASHES[digits[d]]);
                            from = off + 1;
                        }
                    }
                    t.push_str(&s[from..]);
                    pieces.push(Piece::Lit(t));
                }
                other => pieces.push(other.clone()),
            }
        }
        out.push(Pattern::new(pieces));
    }
    Ok(out)
}

/// Standard base64 of `bytes`.
#[must_use]
pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The three `base64offset` variants of `bytes` (pySigma: for i in 0..3,
/// `b64encode(b' ' * i + val)[start[i] : end[(len + i) % 3]]`).
#[must_use]
pub(crate) fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut buf = vec![b' '; i];
            buf.extend_from_slice(bytes);
            let enc = base64(&buf);
            let end = enc.len().saturating_sub(END[(bytes.len() + i) % 3]);
            enc.get(START[i]..end).unwrap_or("").to_string()
        })
        .collect()
}

/// A text encoding applied before base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `wide` / `utf16le`
    Le,
    /// `utf16be`
    Be,
    /// `utf16`: byte-order mark `FF FE`, then UTF-16LE.
    Bom,
}

/// Encodes `text`.
#[must_use]
pub(crate) fn encode(text: &str, enc: Encoding) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    if enc == Encoding::Bom {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for u in text.encode_utf16() {
        match enc {
            Encoding::Le | Encoding::Bom => out.extend_from_slice(&u.to_le_bytes()),
            Encoding::Be => out.extend_from_slice(&u.to_be_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        parse_sigma_string(s).to_string()
    }

    #[test]
    fn escaping_table() {
        // Canonical form: every backslash escapes the next character.
        assert_eq!(canon(r"C:\Windows\x"), r"C:\\Windows\\x");
        assert_eq!(canon(r"\*"), r"\*");
        assert_eq!(canon(r"\?"), r"\?");
        assert_eq!(canon(r"\\"), r"\\");
        assert_eq!(canon(r"\\*"), r"\\*");
        assert_eq!(canon(r"\\\*"), r"\\\*");
        assert_eq!(canon(r"\\\x"), r"\\\\x");
        assert_eq!(canon(r"\\\\x"), r"\\\\x");
        assert_eq!(canon(r"\\\\\*\\IPC$"), r"\\\\\*\\IPC$");
        assert_eq!(canon(r"dir c:\\*.doc* /s"), r"dir c:\\*.doc* /s");
        assert_eq!(
            canon(r"\AppData\local\temp\*.zip\"),
            r"\\AppData\\local\\temp\*.zip\\"
        );
        assert_eq!(canon("a?b*"), "a?b*");
        assert_eq!(canon("trailing\\"), r"trailing\\");
        assert_eq!(canon(""), "");
    }

    #[test]
    fn escaping_pieces() {
        let p = parse_sigma_string(r"\\\\\*\\IPC$");
        assert_eq!(p.as_literal(), Some(r"\\*\IPC$"));
        let p = parse_sigma_string(r"dir c:\\*.doc* /s");
        assert_eq!(
            p.pieces(),
            &[
                Piece::Lit(r"dir c:\".into()),
                Piece::AnyMany,
                Piece::Lit(".doc".into()),
                Piece::AnyMany,
                Piece::Lit(" /s".into()),
            ]
        );
    }

    #[test]
    fn placeholders() {
        let p = parse_sigma_string_expand(r"a%Admins%b\%lit\%");
        assert_eq!(
            p.pieces(),
            &[
                Piece::Lit("a".into()),
                Piece::Placeholder("Admins".into()),
                Piece::Lit("b%lit%".into()),
            ]
        );
        // Empty names are not placeholders; the second % may start one.
        let p = parse_sigma_string_expand("%%x%");
        assert_eq!(
            p.pieces(),
            &[Piece::Lit("%".into()), Piece::Placeholder("x".into())]
        );
        // An escaped backslash before a placeholder stays a literal backslash.
        let p = parse_sigma_string_expand(r"\\%DC%\C$*");
        assert_eq!(
            p.pieces(),
            &[
                Piece::Lit("\\".into()),
                Piece::Placeholder("DC".into()),
                Piece::Lit("\\C$".into()),
                Piece::AnyMany,
            ]
        );
        // A lone percent sign stays literal.
        assert_eq!(parse_sigma_string_expand("100%").as_literal(), Some("100%"));
        // Without `expand`, `%` is an ordinary character and `\%` keeps its backslash.
        assert_eq!(
            parse_sigma_string(r"a%Admins%b\%").as_literal(),
            Some(r"a%Admins%b\%")
        );
    }

    #[test]
    fn windash_pysigma_25_variants() {
        let got: Vec<String> = windash(&Pattern::literal("-param-1 -param2"))
            .unwrap()
            .iter()
            .map(|p| p.as_literal().unwrap().to_string())
            .collect();
        let mut want = Vec::new();
        for b in DASHES {
            for a in DASHES {
                want.push(format!("{a}param-1 {b}param2"));
            }
        }
        assert_eq!(got.len(), 25);
        assert_eq!(got, want);
    }

    #[test]
    fn windash_keeps_wildcards_and_caps() {
        let p = parse_sigma_string("* /q*");
        let v = windash(&p).unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v[0].to_string(), "* -q*");
        assert_eq!(v[1].to_string(), "* /q*");
        assert_eq!(windash(&Pattern::literal("a-b")).unwrap().len(), 1);
        assert_eq!(windash(&Pattern::literal("-a -b -c -d -e -f")), Err(6));
    }

    #[test]
    fn base64offset_pysigma_vector() {
        assert_eq!(
            base64_offsets(b"foobar"),
            vec!["Zm9vYmFy", "Zvb2Jhc", "mb29iYX"]
        );
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_offsets(b""), vec!["", "", ""]);
    }

    #[test]
    fn encodings() {
        assert_eq!(encode("cmd", Encoding::Le), b"c\0m\0d\0");
        assert_eq!(encode("cmd", Encoding::Be), b"\0c\0m\0d");
        assert_eq!(encode("cmd", Encoding::Bom), b"\xFF\xFEc\0m\0d\0");
    }
}
