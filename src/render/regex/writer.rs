//! The regex writer: a `regex-syntax` AST written again in a target dialect (see the parent
//! module's docs for what each dialect gets), refusing what the dialect cannot say.

use regex_syntax::ast::{
    AssertionKind, Ast, ClassAsciiKind, ClassPerl, ClassPerlKind, ClassSet, ClassSetItem, Group,
    GroupKind, RepetitionKind, RepetitionRange,
};

use super::Dialect;

/// The largest repetition count PostgreSQL's regex engine accepts (`RE_DUP_MAX`); a larger one
/// is `invalid repetition count(s)`.
const POSIX_DUP_MAX: u32 = 255;

/// `atom{min,max}` (`max` absent: unbounded) with counts above [`POSIX_DUP_MAX`] written as
/// nested repetitions of at most that count: `a{1000,}` is `(?:(?:a){255}){3}(?:a){235}(?:a)*`,
/// `a{1,256}` is `(?:a){1}(?:a){0,255}`; the same strings match.
fn posix_long_repeat(
    atom: &str,
    min: u32,
    max: Option<u32>,
    out: &mut String,
) -> Result<(), String> {
    let chunks = |count: u32, range: bool, out: &mut String| -> Result<(), String> {
        let (q, r) = (count / POSIX_DUP_MAX, count % POSIX_DUP_MAX);
        if q > POSIX_DUP_MAX {
            return Err(format!(
                "a regex repetition count above {} (PostgreSQL's limit is {POSIX_DUP_MAX} per repetition)",
                POSIX_DUP_MAX * POSIX_DUP_MAX
            ));
        }
        let lo = if range { "0," } else { "" };
        if q == 1 {
            out.push_str(&format!("(?:{atom}){{{lo}{POSIX_DUP_MAX}}}"));
        } else if q > 1 {
            out.push_str(&format!("(?:(?:{atom}){{{lo}{POSIX_DUP_MAX}}}){{{q}}}"));
        }
        if r > 0 {
            out.push_str(&format!("(?:{atom}){{{lo}{r}}}"));
        }
        Ok(())
    };
    chunks(min, false, out)?;
    match max {
        None => out.push_str(&format!("(?:{atom})*")),
        Some(max) => chunks(max - min, true, out)?,
    }
    Ok(())
}

/// Writes a parsed regex in a dialect.
pub(super) struct Writer {
    pub(super) dialect: Dialect,
    pub(super) dot_all: bool,
    pub(super) fold: bool,
    pub(super) multi_line: bool,
}

impl Writer {
    /// Writes `a` for an anchored engine as if `.*` stood before it (`lead`) and after it
    /// (`trail`), absorbing `^`/`$` where they meet the padding: `.*(^|/)x` becomes `(|.*\/)x`.
    pub(super) fn padded(
        &self,
        a: &Ast,
        lead: bool,
        trail: bool,
        out: &mut String,
    ) -> Result<(), String> {
        let pad = |on: bool, out: &mut String| {
            if on {
                out.push_str(".*");
            }
        };
        match a {
            Ast::Assertion(x) => match x.kind {
                // Under `m`, `^` also matches after a newline and `$` before one.
                AssertionKind::StartLine if lead && self.multi_line => {
                    out.push_str("(()|.*\n)");
                    pad(trail, out);
                }
                AssertionKind::EndLine if trail && self.multi_line => {
                    pad(lead, out);
                    out.push_str("(()|\n.*)");
                }
                AssertionKind::StartLine | AssertionKind::StartText if lead => pad(trail, out),
                AssertionKind::EndLine | AssertionKind::EndText if trail => pad(lead, out),
                _ => self.emit(a, out)?,
            },
            Ast::Alternation(alt) => {
                out.push('(');
                for (i, x) in alt.asts.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    let start = out.len();
                    self.padded(x, lead, trail, out)?;
                    if out.len() == start && lucene_empty(self.dialect) {
                        // Lucene reads `(|x)` as a literal `|`: an empty branch is `()`.
                        out.push_str("()");
                    }
                }
                out.push(')');
            }
            Ast::Group(g) if !matches!(&g.kind, GroupKind::NonCapturing(f) if !f.items.is_empty()) =>
            {
                if let Ast::Alternation(_) = &*g.ast {
                    // The alternation writes its own parentheses.
                    self.padded(&g.ast, lead, trail, out)?;
                } else {
                    out.push('(');
                    self.padded(&g.ast, lead, trail, out)?;
                    out.push(')');
                }
            }
            Ast::Concat(c) if !c.asts.is_empty() => {
                let n = c.asts.len();
                for (i, x) in c.asts.iter().enumerate() {
                    self.padded(x, lead && i == 0, trail && i == n - 1, out)?;
                }
            }
            Ast::Empty(_) | Ast::Concat(_) => pad(lead || trail, out),
            _ => {
                pad(lead, out);
                self.emit(a, out)?;
                pad(trail, out);
            }
        }
        Ok(())
    }

    pub(super) fn literal(&self, c: char, out: &mut String) {
        if self.fold {
            let lo: Vec<char> = c.to_lowercase().collect();
            let up: Vec<char> = c.to_uppercase().collect();
            if lo.len() == 1 && up.len() == 1 && lo[0] != up[0] {
                out.push('[');
                out.push(lo[0]);
                out.push(up[0]);
                out.push(']');
                return;
            }
        }
        if c.is_ascii() && !c.is_ascii_alphanumeric() && !c.is_ascii_control() {
            out.push('\\');
        }
        out.push(c);
    }

    fn class_literal(&self, c: char, out: &mut String) {
        if c.is_ascii() && !c.is_ascii_alphanumeric() && !c.is_ascii_control() {
            out.push('\\');
        }
        out.push(c);
    }

    pub(super) fn emit(&self, a: &Ast, out: &mut String) -> Result<(), String> {
        let lucene = self.dialect == Dialect::Lucene;
        let java = self.dialect == Dialect::Java;
        match a {
            Ast::Empty(_) => {}
            Ast::Flags(_) => return Err("inline flags inside a regular expression".into()),
            Ast::Literal(l) => self.literal(l.c, out),
            Ast::Dot(_) => out.push_str(if (lucene || java) && !self.dot_all {
                "[^\n]"
            } else {
                "."
            }),
            Ast::Assertion(x) => self.assertion(&x.kind, out)?,
            Ast::ClassUnicode(_) => {
                return Err("Unicode classes (`\\p{..}`) in a regex of this engine".into())
            }
            Ast::ClassPerl(p) => self.perl_class(p, out),
            Ast::ClassBracketed(b) => {
                out.push('[');
                if b.negated {
                    out.push('^');
                }
                self.class_set(&b.kind, out)?;
                out.push(']');
            }
            Ast::Repetition(r) => {
                let (min, max) = match &r.op.kind {
                    RepetitionKind::Range(RepetitionRange::Exactly(n)) => (*n, Some(*n)),
                    RepetitionKind::Range(RepetitionRange::AtLeast(n)) => (*n, None),
                    RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => (*m, Some(*n)),
                    RepetitionKind::ZeroOrOne
                    | RepetitionKind::ZeroOrMore
                    | RepetitionKind::OneOrMore => (0, Some(0)),
                };
                if self.dialect == Dialect::Posix && min.max(max.unwrap_or(0)) > POSIX_DUP_MAX {
                    let mut atom = String::new();
                    self.emit(&r.ast, &mut atom)?;
                    return posix_long_repeat(&atom, min, max, out);
                }
                self.emit(&r.ast, out)?;
                repetition(&r.op.kind, out);
            }
            Ast::Group(g) => self.group(g, out)?,
            Ast::Alternation(alt) => {
                for (i, x) in alt.asts.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    let start = out.len();
                    self.emit(x, out)?;
                    if out.len() == start && lucene_empty(self.dialect) {
                        out.push_str("()");
                    }
                }
            }
            Ast::Concat(c) => {
                for x in &c.asts {
                    self.emit(x, out)?;
                }
            }
        }
        Ok(())
    }

    /// An anchor or word boundary that is not at an end of the regex.
    fn assertion(&self, kind: &AssertionKind, out: &mut String) -> Result<(), String> {
        if self.dialect == Dialect::Java {
            out.push_str(java_assertion(kind, self.multi_line));
            return Ok(());
        }
        match (self.dialect, kind) {
            (Dialect::Posix, AssertionKind::StartLine) => out.push('^'),
            (Dialect::Posix, AssertionKind::EndLine) => out.push('$'),
            (Dialect::Posix, AssertionKind::StartText) => out.push_str("\\A"),
            (Dialect::Posix, AssertionKind::EndText) => out.push_str("\\Z"),
            (Dialect::Posix, AssertionKind::WordBoundary) => out.push_str("\\y"),
            (Dialect::Posix, AssertionKind::NotWordBoundary) => out.push_str("\\Y"),
            (Dialect::Posix, AssertionKind::WordBoundaryStart) => out.push_str("\\m"),
            (Dialect::Posix, AssertionKind::WordBoundaryEnd) => out.push_str("\\M"),
            (_, AssertionKind::WordBoundary | AssertionKind::NotWordBoundary) => {
                return Err("word boundaries (`\\b`) in a Lucene regex".into())
            }
            _ => {
                return Err(
                    "anchors or word-boundary assertions inside a regex (not at its ends)".into(),
                )
            }
        }
        Ok(())
    }

    /// `\d`, `\s`, `\w` and their negations: ASCII classes for Lucene, as they are otherwise.
    fn perl_class(&self, p: &ClassPerl, out: &mut String) {
        if self.dialect == Dialect::Lucene {
            out.push('[');
            if p.negated {
                out.push('^');
            }
            out.push_str(perl_ascii(&p.kind));
            out.push(']');
        } else {
            out.push('\\');
            let c = match p.kind {
                ClassPerlKind::Digit => 'd',
                ClassPerlKind::Space => 's',
                ClassPerlKind::Word => 'w',
            };
            out.push(if p.negated { c.to_ascii_uppercase() } else { c });
        }
    }

    /// A group: `(...)`, or `(?:...)` for a non-capturing one except in Lucene, which has no
    /// such syntax; inline flags are refused.
    fn group(&self, g: &Group, out: &mut String) -> Result<(), String> {
        if let GroupKind::NonCapturing(f) = &g.kind {
            if !f.items.is_empty() {
                return Err("inline flags inside a regular expression".into());
            }
            if self.dialect != Dialect::Lucene {
                out.push_str("(?:");
                self.emit(&g.ast, out)?;
                out.push(')');
                return Ok(());
            }
        }
        out.push('(');
        self.emit(&g.ast, out)?;
        out.push(')');
        Ok(())
    }

    fn class_set(&self, set: &ClassSet, out: &mut String) -> Result<(), String> {
        match set {
            ClassSet::Item(i) => self.class_item(i, out),
            ClassSet::BinaryOp(_) => Err("character-class set operations (`&&`, `--`)".into()),
        }
    }

    fn class_item(&self, item: &ClassSetItem, out: &mut String) -> Result<(), String> {
        let lucene = self.dialect == Dialect::Lucene;
        match item {
            ClassSetItem::Empty(_) => {}
            ClassSetItem::Literal(l) => {
                self.class_literal(l.c, out);
                if self.fold {
                    for c in l.c.to_lowercase().chain(l.c.to_uppercase()) {
                        if c != l.c {
                            self.class_literal(c, out);
                        }
                    }
                }
            }
            ClassSetItem::Range(r) => {
                let (a, b) = (r.start.c, r.end.c);
                self.class_literal(a, out);
                out.push('-');
                self.class_literal(b, out);
                if self.fold {
                    let alpha = |x: char, y: char| {
                        (x.is_ascii_lowercase() && y.is_ascii_lowercase())
                            || (x.is_ascii_uppercase() && y.is_ascii_uppercase())
                    };
                    if alpha(a, b) {
                        let swap = |c: char| {
                            if c.is_ascii_lowercase() {
                                c.to_ascii_uppercase()
                            } else {
                                c.to_ascii_lowercase()
                            }
                        };
                        out.push(swap(a));
                        out.push('-');
                        out.push(swap(b));
                    } else if (a..=b).any(char::is_alphabetic) {
                        return Err("a character range mixing letters under case folding".into());
                    }
                }
            }
            ClassSetItem::Ascii(x) => {
                if x.negated {
                    return Err("negated ASCII classes (`[:^..:]`) in a regex".into());
                }
                if self.dialect == Dialect::Java {
                    out.push_str(java_ascii_class(&x.kind));
                } else if lucene {
                    out.push_str(ascii_class(&x.kind)?);
                } else {
                    out.push_str(&format!("[:{}:]", ascii_name(&x.kind)));
                }
            }
            ClassSetItem::Unicode(_) => {
                return Err("Unicode classes (`\\p{..}`) in a regex of this engine".into())
            }
            ClassSetItem::Perl(p) if self.dialect == Dialect::Java => self.perl_class(p, out),
            ClassSetItem::Perl(p) => {
                if p.negated {
                    return Err("negated classes (`\\D`, `\\S`, `\\W`) inside `[...]`".into());
                }
                if lucene {
                    out.push_str(perl_ascii(&p.kind));
                } else {
                    out.push_str(match p.kind {
                        ClassPerlKind::Digit => "\\d",
                        ClassPerlKind::Space => "\\s",
                        ClassPerlKind::Word => "\\w",
                    });
                }
            }
            ClassSetItem::Bracketed(_) => {
                return Err("nested character classes in a regex".into());
            }
            ClassSetItem::Union(u) => {
                for i in &u.items {
                    self.class_item(i, out)?;
                }
            }
        }
        Ok(())
    }
}

/// A repetition operator.
fn repetition(kind: &RepetitionKind, out: &mut String) {
    match kind {
        RepetitionKind::ZeroOrOne => out.push('?'),
        RepetitionKind::ZeroOrMore => out.push('*'),
        RepetitionKind::OneOrMore => out.push('+'),
        RepetitionKind::Range(RepetitionRange::Exactly(n)) => {
            out.push_str(&format!("{{{n}}}"));
        }
        RepetitionKind::Range(RepetitionRange::AtLeast(n)) => {
            out.push_str(&format!("{{{n},}}"));
        }
        RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => {
            out.push_str(&format!("{{{m},{n}}}"));
        }
    }
}

fn lucene_empty(d: Dialect) -> bool {
    d == Dialect::Lucene
}

fn perl_ascii(k: &ClassPerlKind) -> &'static str {
    match k {
        ClassPerlKind::Digit => "0-9",
        ClassPerlKind::Space => " \t\n\r\u{b}\u{c}",
        ClassPerlKind::Word => "a-zA-Z0-9_",
    }
}

/// An assertion in Java's syntax, meaning what it means in Rust's: `\A`/`\z` for the text's
/// ends (Java's `$` also matches before a final line terminator), lookarounds for `^`/`$`
/// under `m` (only `\n` ends a line in Rust) and for word boundaries (over `\w`, Unicode
/// under `(?U)` as in Rust).
fn java_assertion(kind: &AssertionKind, multi_line: bool) -> &'static str {
    const START: &str = "(?<!\\w)(?=\\w)";
    const END: &str = "(?<=\\w)(?!\\w)";
    match kind {
        AssertionKind::StartLine if multi_line => "(?<![^\\n])",
        AssertionKind::EndLine if multi_line => "(?![^\\n])",
        AssertionKind::StartLine | AssertionKind::StartText => "\\A",
        AssertionKind::EndLine | AssertionKind::EndText => "\\z",
        AssertionKind::WordBoundary => "(?:(?<=\\w)(?!\\w)|(?<!\\w)(?=\\w))",
        AssertionKind::NotWordBoundary => "(?:(?<=\\w)(?=\\w)|(?<!\\w)(?!\\w))",
        AssertionKind::WordBoundaryStart | AssertionKind::WordBoundaryStartAngle => START,
        AssertionKind::WordBoundaryEnd | AssertionKind::WordBoundaryEndAngle => END,
        AssertionKind::WordBoundaryStartHalf => "(?<!\\w)",
        AssertionKind::WordBoundaryEndHalf => "(?!\\w)",
    }
}

/// A POSIX class as explicit ASCII ranges (Rust's are ASCII-only; Java's `\p{Alpha}` is not
/// under `(?U)`).
fn java_ascii_class(k: &ClassAsciiKind) -> &'static str {
    match k {
        ClassAsciiKind::Alnum => "a-zA-Z0-9",
        ClassAsciiKind::Alpha => "a-zA-Z",
        ClassAsciiKind::Ascii => "\\x00-\\x7F",
        ClassAsciiKind::Blank => "\\t ",
        ClassAsciiKind::Cntrl => "\\x00-\\x1F\\x7F",
        ClassAsciiKind::Digit => "0-9",
        ClassAsciiKind::Graph => "!-~",
        ClassAsciiKind::Lower => "a-z",
        ClassAsciiKind::Print => " -~",
        ClassAsciiKind::Punct => "!-/:-@\\[-`{-~",
        ClassAsciiKind::Space => "\\t\\n\\x0B\\x0C\\r ",
        ClassAsciiKind::Upper => "A-Z",
        ClassAsciiKind::Word => "a-zA-Z0-9_",
        ClassAsciiKind::Xdigit => "0-9a-fA-F",
    }
}

fn ascii_class(k: &ClassAsciiKind) -> Result<&'static str, String> {
    Ok(match k {
        ClassAsciiKind::Alnum => "a-zA-Z0-9",
        ClassAsciiKind::Alpha => "a-zA-Z",
        ClassAsciiKind::Digit => "0-9",
        ClassAsciiKind::Lower => "a-z",
        ClassAsciiKind::Upper => "A-Z",
        ClassAsciiKind::Space => " \t\n\r\u{b}\u{c}",
        ClassAsciiKind::Blank => " \t",
        ClassAsciiKind::Xdigit => "0-9a-fA-F",
        ClassAsciiKind::Word => "a-zA-Z0-9_",
        _ => return Err(format!("the class [:{}:] in a Lucene regex", ascii_name(k))),
    })
}

fn ascii_name(k: &ClassAsciiKind) -> &'static str {
    match k {
        ClassAsciiKind::Alnum => "alnum",
        ClassAsciiKind::Alpha => "alpha",
        ClassAsciiKind::Ascii => "ascii",
        ClassAsciiKind::Blank => "blank",
        ClassAsciiKind::Cntrl => "cntrl",
        ClassAsciiKind::Digit => "digit",
        ClassAsciiKind::Graph => "graph",
        ClassAsciiKind::Lower => "lower",
        ClassAsciiKind::Print => "print",
        ClassAsciiKind::Punct => "punct",
        ClassAsciiKind::Space => "space",
        ClassAsciiKind::Upper => "upper",
        ClassAsciiKind::Word => "word",
        ClassAsciiKind::Xdigit => "xdigit",
    }
}
