//! One leaf of the walk: a predicate (a field and an [`Test`]) rendered by the snippet its
//! test kind and, for strings, its pattern shape and case choose, once per field (keyword
//! searches test every full-text field), with the values the snippet needs.

use std::net::IpAddr;

use minijinja::context;
use minijinja::value::Value;

use super::escape::{Input, Refusal};
use super::regex::RegexValue;
use super::values::{shape_key, PatternObj, RegexObj};
use super::walk::{Prec, Walker};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::{CmpOp, Number, Pattern, Piece, Predicate, RefMatch, RegexFlags, Test, TimePart};

impl Walker<'_> {
    /// Renders a leaf.
    pub(super) fn pred(&mut self, p: &Predicate, neg: bool) -> Result<(String, Prec)> {
        match &p.test {
            Test::Str { pattern, cased } => self.string(p, pattern, *cased, neg),
            Test::Regex { pattern, flags } => self.regex(p, pattern, *flags, neg),
            Test::Num { op, value } => {
                let num = checked_number(value, &p.at)?;
                let op = Value::from_safe_string(self.cmp(*op, &p.at)?);
                self.per_field(p, "num", neg, true, |field| {
                    context! { field => field, op => op.clone(), value => Value::from_safe_string(num.clone()) }
                })
            }
            Test::Bool(b) => self.per_field(p, "bool", neg, true, |field| {
                context! { field => field, value => *b }
            }),
            Test::Null => self.per_field(p, "null", neg, false, |field| {
                context! { field => field }
            }),
            Test::Exists(b) => self.per_field(p, "exists", neg, false, |field| {
                context! { field => field, value => *b }
            }),
            Test::Cidr(net) => self.cidr(p, net, neg),
            Test::FieldRef { field, how, cased } => self.fieldref(p, field, *how, *cased, neg),
            Test::TimePart { part, op, value } => {
                let num = checked_number(value, &p.at)?;
                let part = match part {
                    TimePart::Minute => "minute",
                    TimePart::Hour => "hour",
                    TimePart::Day => "day",
                    TimePart::Week => "week",
                    TimePart::Month => "month",
                    TimePart::Year => "year",
                };
                let op = Value::from_safe_string(self.cmp(*op, &p.at)?);
                self.per_field(p, "timepart", neg, true, |field| {
                    context! { field => field, part => part, op => op.clone(), value => Value::from_safe_string(num.clone()) }
                })
            }
        }
    }

    fn string(
        &mut self,
        p: &Predicate,
        pattern: &Pattern,
        cased: bool,
        neg: bool,
    ) -> Result<(String, Prec)> {
        if let Some(n) = pattern.placeholders().next() {
            return Err(Error::new(ErrorKind::UnresolvedPlaceholder(n.to_string()))
                .at(&p.at)
                .hint(crate::error::placeholder_hint(n)));
        }
        let shape = shape_key(pattern);
        let key = match (shape, cased) {
            ("any", _) => "any".to_string(),
            (s, true) => format!("{s}_cased"),
            (s, false) => s.to_string(),
        };
        if !cased && shape != "any" {
            self.case_warnings(&pattern.to_string(), &p.at);
        }
        let value = PatternObj::value(pattern.clone(), cased);
        self.per_field(p, &key, neg, true, |field| {
            context! { field => field, value => value.clone(), cased => cased }
        })
    }

    fn regex(
        &mut self,
        p: &Predicate,
        pattern: &str,
        flags: RegexFlags,
        neg: bool,
    ) -> Result<(String, Prec)> {
        // Syntax only: the front end already compiled Sigma regexes (and their size limit is
        // the Rust engine's, not the target's); parsing is a small part of compiling.
        if let Err(e) = regex_syntax::Parser::new().parse(pattern) {
            return Err(Error::new(ErrorKind::InvalidRegex(e.to_string())).at(&p.at));
        }
        if ["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"]
            .iter()
            .any(|c| pattern.contains(c))
        {
            let m = self.b.file().warnings.regex_classes.clone();
            self.warn(m.as_ref(), &p.at, "");
        }
        let rv = RegexValue::new(pattern, flags);
        let fl = context! {
            ignore_case => rv.flags.ignore_case,
            multi_line => rv.flags.multi_line,
            dot_all => rv.flags.dot_all,
        };
        let regex = Value::from_object(RegexObj(rv));
        self.per_field(p, "regex", neg, true, |field| {
            context! { field => field, regex => regex.clone(), flags => fl.clone() }
        })
    }

    fn cidr(&mut self, p: &Predicate, net: &str, neg: bool) -> Result<(String, Prec)> {
        let parsed: ipnet::IpNet = net
            .parse()
            .map_err(|e| Error::new(ErrorKind::InvalidCidr(format!("{net}: {e}"))).at(&p.at))?;
        let prefixes: Vec<Value> = ipv4_prefixes(&parsed)
            .into_iter()
            .map(|pattern| PatternObj::value(pattern, true))
            .collect();
        let ipv6 = matches!(parsed.addr(), IpAddr::V6(_));
        let network = parsed.trunc().to_string();
        let prefixes = Value::from(prefixes);
        self.per_field(p, "cidr", neg, true, |field| {
            context! { field => field, network => network.clone(), ipv6 => ipv6, prefixes => prefixes.clone() }
        })
    }

    fn fieldref(
        &mut self,
        p: &Predicate,
        field: &str,
        how: RefMatch,
        cased: bool,
        neg: bool,
    ) -> Result<(String, Prec)> {
        if !cased {
            let m = self.b.file().warnings.case_insensitive.clone();
            self.warn(m.as_ref(), &p.at, "");
        }
        let other = self.escape_field(field, &p.at)?;
        let other = Value::from_safe_string(other);
        let how = match how {
            RefMatch::Eq => "eq",
            RefMatch::Contains => "contains",
            RefMatch::StartsWith => "startswith",
            RefMatch::EndsWith => "endswith",
        };
        self.per_field(p, "fieldref", neg, true, |f| {
            context! { field => f, other => other.clone(), how => how, cased => cased }
        })
    }

    /// A field name written by the backend's field escape.
    fn escape_field(&self, name: &str, at: &str) -> Result<String> {
        self.b
            .field
            .apply(&Input::Text(name))
            .map_err(|Refusal(what)| {
                Error::new(ErrorKind::Unsupported {
                    target: self.b.name().to_string(),
                    what,
                })
                .at(at)
            })
    }

    /// The escaped field names a predicate tests: its field, or the full-text fields.
    fn fields(&mut self, p: &Predicate) -> Result<Vec<String>> {
        let names: Vec<String> = match &p.field {
            Some(f) => vec![f.clone()],
            None => {
                let kw = self.keyword_fields.clone().unwrap_or_default();
                if kw.is_empty() {
                    let what = match &self.b.file().keywords {
                        Some(o) => format!(
                            "keyword (full-text) search without a full-text field (set -O {o}=FIELD)"
                        ),
                        None => "keyword (full-text) search".to_string(),
                    };
                    return Err(Error::new(ErrorKind::Unsupported {
                        target: self.b.name().to_string(),
                        what,
                    })
                    .at(&p.at));
                }
                let msg = self.b.file().warnings.keywords.clone();
                self.warn(msg.as_ref(), &p.at, &kw.join(", "));
                kw
            }
        };
        names.iter().map(|n| self.escape_field(n, &p.at)).collect()
    }

    /// The backend's case warnings for a case-insensitive test on `text`.
    pub(super) fn case_warnings(&mut self, text: &str, at: &str) {
        let (any, non_ascii) = has_case(text);
        if any {
            let m = self.b.file().warnings.case_insensitive.clone();
            self.warn(m.as_ref(), at, "");
        }
        if non_ascii {
            let m = self.b.file().warnings.non_ascii_case.clone();
            self.warn(m.as_ref(), at, "");
        }
    }

    /// Renders `key` once per field; several fields (keywords) are joined with `or`.
    pub(super) fn per_field(
        &mut self,
        p: &Predicate,
        key: &str,
        neg: bool,
        null_safe: bool,
        mut ctx: impl FnMut(Value) -> Value,
    ) -> Result<(String, Prec)> {
        let fields = self.fields(p)?;
        let mut parts = Vec::with_capacity(fields.len());
        for f in fields {
            let mut s = self.render(key, &ctx(Value::from_safe_string(f)), &p.at)?;
            if neg && null_safe && self.b.file().tokens.null_safe.is_some() {
                s = self.token("null_safe", s)?;
            }
            parts.push(s);
        }
        if parts.len() == 1 {
            return Ok((parts.pop().unwrap_or_default(), Prec::Atom));
        }
        Ok((parts.join(&self.b.file().tokens.or), Prec::Or))
    }

    fn cmp(&self, op: CmpOp, at: &str) -> Result<String> {
        let c = &self.b.file().cmp;
        match op {
            CmpOp::Eq => Ok(c.eq.clone()),
            CmpOp::Lt => Ok(c.lt.clone()),
            CmpOp::Lte => Ok(c.lte.clone()),
            CmpOp::Gt => Ok(c.gt.clone()),
            CmpOp::Gte => Ok(c.gte.clone()),
            CmpOp::Neq => c.neq.clone().ok_or_else(|| {
                Error::new(ErrorKind::Unsupported {
                    target: self.b.name().to_string(),
                    what: "the `!=` comparison".into(),
                })
                .at(at)
            }),
        }
    }
}

/// Whether `s` has letters with case, and whether any of them is not ASCII.
fn has_case(s: &str) -> (bool, bool) {
    let mut any = false;
    let mut non_ascii = false;
    for c in s.chars() {
        if c.is_lowercase() || c.is_uppercase() {
            any = true;
            if !c.is_ascii() {
                non_ascii = true;
            }
        }
    }
    (any, non_ascii)
}

/// The canonical text of a rule's number, or a located error.
fn checked_number(value: &Number, at: &str) -> Result<String> {
    number(&value.text).ok_or_else(|| {
        Error::new(ErrorKind::InvalidValue {
            expected: "a number".into(),
            found: value.text.clone(),
        })
        .at(at)
    })
}

/// A number in a canonical form every target reads (`4688`, `-1`, `0.5`), or `None`.
pub(super) fn number(text: &str) -> Option<String> {
    if let Ok(i) = text.trim().parse::<i64>() {
        return Some(i.to_string());
    }
    let f: f64 = text.trim().parse().ok()?;
    f.is_finite().then(|| {
        let s = f.to_string();
        if s.contains('.') || s.contains('e') {
            s
        } else {
            format!("{s}.0")
        }
    })
}

/// IPv4 networks as address-text patterns (`10.*`, `192.168.0.*`, exact addresses); empty for
/// IPv6.
fn ipv4_prefixes(net: &ipnet::IpNet) -> Vec<Pattern> {
    let ipnet::IpNet::V4(n) = net else {
        return Vec::new();
    };
    let o = n.network().octets();
    let len = usize::from(n.prefix_len());
    let full = len / 8;
    let rem = len % 8;
    let head = |k: usize| -> String {
        o[..k]
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(".")
    };
    let mk = |text: String, exact: bool| {
        if exact {
            Pattern::literal(&text)
        } else {
            Pattern::new([Piece::Lit(text), Piece::AnyMany])
        }
    };
    if rem == 0 {
        return match full {
            0 => vec![Pattern::new([Piece::AnyMany])],
            4 => vec![mk(head(4), true)],
            k => vec![mk(format!("{}.", head(k)), false)],
        };
    }
    let base = o[full];
    let count = 1u16 << (8 - rem);
    (0..count)
        .map(|i| {
            let v = u16::from(base) + i;
            let mut text = head(full);
            if !text.is_empty() {
                text.push('.');
            }
            text.push_str(&v.to_string());
            if full == 3 {
                mk(text, true)
            } else {
                text.push('.');
                mk(text, false)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_canonical() {
        assert_eq!(number("4688").as_deref(), Some("4688"));
        assert_eq!(number("-1").as_deref(), Some("-1"));
        assert_eq!(number("0.5").as_deref(), Some("0.5"));
        assert_eq!(number("1e3").as_deref(), Some("1000.0"));
        assert_eq!(number("abc"), None);
    }

    #[test]
    fn ipv4_networks_become_prefixes() {
        let p = |s: &str| {
            ipv4_prefixes(&s.parse().unwrap())
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(p("10.0.0.0/8"), vec!["10.*"]);
        assert_eq!(p("192.168.0.0/23"), vec!["192.168.0.*", "192.168.1.*"]);
        assert_eq!(p("1.2.3.4/32"), vec!["1.2.3.4"]);
        assert_eq!(p("1.2.3.0/30").len(), 4);
        assert!(p("::1/128").is_empty());
    }
}
