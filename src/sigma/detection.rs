//! Search identifiers → boolean structure over predicates.
//!
//! A map ANDs its items, a list ORs its elements (maps, or keywords for plain values), a
//! field's value list is ORed (ANDed under `all`; expansions such as windash stay ORed per
//! value), `neq` negates the whole item.

use serde_yaml::Value;

use super::modifiers::{parse_chain, Chain, Mod};
use super::value::{self, Encoding};
use super::{KeyPath, R};
use crate::error::ErrorKind;
use crate::ir::{
    CmpOp, Expr, Number, Pattern, Predicate, RefMatch, RegexFlags, RegexProblem, Test,
};

/// Deepest nesting of lists inside a search identifier.
const MAX_DEPTH: usize = 32;

/// The most values (after expansions) one detection item may produce.
const MAX_VALUES: usize = 100_000;

/// A short description of a YAML value's type, for errors.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => {
            if s.chars().count() > 40 {
                let t: String = s.chars().take(40).collect();
                format!("the string '{t}…'")
            } else {
                format!("the string '{s}'")
            }
        }
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a value tagged `{}`", t.tag),
    }
}

pub(crate) fn invalid(expected: &str, found: &Value) -> ErrorKind {
    ErrorKind::InvalidValue {
        expected: expected.to_string(),
        found: describe(found),
    }
}

/// The text of a YAML number, as written where the parser keeps it.
pub(crate) fn number_text(n: &serde_yaml::Number) -> Option<String> {
    if n.is_f64() {
        let f = n.as_f64()?;
        if !f.is_finite() {
            return None;
        }
    }
    Some(n.to_string())
}

/// Lowers one search identifier's body.
pub(crate) fn lower_identifier(body: &Value, path: &KeyPath) -> R<Expr> {
    lower_body(body, path, 0)
}

fn lower_body(body: &Value, path: &KeyPath, depth: usize) -> R<Expr> {
    if depth > MAX_DEPTH {
        return Err(path.err(ErrorKind::InvalidValue {
            expected: format!("at most {MAX_DEPTH} levels of nested lists"),
            found: "deeper nesting".into(),
        }));
    }
    match body {
        Value::Mapping(m) => lower_map(m, path),
        Value::Sequence(items) => {
            if items.is_empty() {
                return Err(path.err(invalid("a mapping or a non-empty list", body)));
            }
            let mut alts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let p = path.index(i);
                alts.push(match item {
                    Value::Mapping(_) | Value::Sequence(_) => lower_body(item, &p, depth + 1)?,
                    _ => keyword(item, &p)?,
                });
            }
            Ok(Expr::or(alts))
        }
        Value::String(_) | Value::Number(_) => keyword(body, path),
        _ => Err(path.err(invalid("a mapping, a list or a keyword string", body))),
    }
}

/// A plain keyword value: a `contains` search in every string value.
fn keyword(v: &Value, path: &KeyPath) -> R<Expr> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            number_text(n).ok_or_else(|| path.err(invalid("a keyword string", v)))?
        }
        _ => return Err(path.err(invalid("a keyword string or a field mapping", v))),
    };
    let pattern = value::parse_sigma_string(&text)
        .with_leading_any()
        .with_trailing_any();
    Ok(Expr::Pred(Predicate {
        field: None,
        test: Test::Str {
            pattern,
            cased: false,
        },
        at: path.to_string(),
    }))
}

fn lower_map(m: &serde_yaml::Mapping, path: &KeyPath) -> R<Expr> {
    if m.is_empty() {
        return Err(path.err(ErrorKind::InvalidValue {
            expected: "at least one field".into(),
            found: "an empty mapping".into(),
        }));
    }
    let mut items = Vec::with_capacity(m.len());
    for (k, v) in m {
        let key = match k {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(path.err(invalid("a field name as key", other))),
        };
        items.push(lower_item(&key, v, &path.key(&key))?);
    }
    Ok(Expr::and(items))
}

/// One `field|mod|mod: value(s)` item.
pub(crate) fn lower_item(key: &str, v: &Value, path: &KeyPath) -> R<Expr> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("");
    let names: Vec<&str> = parts.collect();
    let chain = parse_chain(&names).map_err(|(k, h)| {
        let f = path.err(k);
        match h {
            Some(h) => f.hint(h),
            None => f,
        }
    })?;
    let field = (!field.is_empty()).then(|| field.to_string());
    if let (Some(f), Value::Sequence(xs)) = (&field, v) {
        if xs.len() > 1 {
            if let Some(i) = xs.iter().position(Value::is_null) {
                return Err(null_in_list(f, path, i));
            }
        }
    }
    let values: Vec<(&Value, KeyPath)> = match v {
        Value::Sequence(xs) => xs
            .iter()
            .enumerate()
            .map(|(i, x)| (x, path.index(i)))
            .collect(),
        other => vec![(other, path.clone())],
    };
    let mut expr = if values.is_empty() {
        // pySigma: an empty value list means the field is null.
        if field.is_none() {
            return Err(path.err(invalid("at least one keyword", v)));
        }
        Expr::Pred(Predicate {
            field: field.clone(),
            test: Test::Null,
            at: path.to_string(),
        })
    } else {
        let all = chain.has(Mod::All);
        let mut per_value = Vec::with_capacity(values.len());
        let mut total = 0usize;
        for (x, p) in &values {
            let tests = lower_value(field.as_deref(), &chain, x, p)?;
            total += tests.len();
            if total > MAX_VALUES {
                return Err(p.err(ErrorKind::InvalidValue {
                    expected: format!("at most {MAX_VALUES} values after expansion"),
                    found: "more".into(),
                }));
            }
            let at = p.to_string();
            let preds: Vec<Expr> = tests
                .into_iter()
                .map(|test| {
                    Expr::Pred(Predicate {
                        field: field.clone(),
                        test,
                        at: at.clone(),
                    })
                })
                .collect();
            per_value.push(preds);
        }
        if all {
            Expr::and(per_value.into_iter().map(Expr::or).collect())
        } else {
            Expr::or(per_value.into_iter().flatten().collect())
        }
    };
    if chain.has(Mod::Neq) {
        expr = Expr::Not(Box::new(expr));
    }
    Ok(expr)
}

/// The error for `null` among other values of `field` (at `path`, item `i`): the Sigma
/// specification says null must not be mixed into a value list; the hint shows its way, a
/// separate selection.
fn null_in_list(field: &str, path: &KeyPath, i: usize) -> super::Fail {
    let ident = match path.segs().get(1) {
        Some(super::Seg::Key(k)) => &**k,
        _ => "selection",
    };
    path.index(i)
        .err(ErrorKind::InvalidValue {
            expected: "a value list without `null` (Sigma does not mix null into value lists)"
                .into(),
            found: "`null` among the values".into(),
        })
        .hint(format!(
            "Sigma tests null in a separate selection: remove `null` from the list, add `{ident}_null: {{{field}: null}}` and write `{ident} or {ident}_null` in the condition"
        ))
}

/// The text of a scalar used as a string: strings as is, numbers by their text.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => number_text(n),
        _ => None,
    }
}

/// A number value: a YAML number, or a string holding one.
fn number_value(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => number_text(n).map(Number::new),
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty() && t.parse::<f64>().is_ok_and(f64::is_finite)).then(|| Number::new(t))
        }
        _ => None,
    }
}

/// A value while the modifier chain transforms it.
enum Val {
    Pat(Pattern),
    Bytes(Vec<u8>),
}

/// Lowers one value under the chain: the alternatives (ORed) it stands for.
fn lower_value(field: Option<&str>, chain: &Chain<'_>, v: &Value, path: &KeyPath) -> R<Vec<Test>> {
    if matches!(v, Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_)) {
        return Err(path.err(invalid(
            "a scalar value (string, number, boolean or null)",
            v,
        )));
    }
    let core: Vec<(&str, Mod)> = chain.core().collect();
    let first = core.first().copied();
    let mis = |name: &str, reason: String| {
        path.err(ErrorKind::MisplacedModifier {
            modifier: name.to_string(),
            reason,
        })
    };

    if field.is_none() {
        if let Some((n, _)) = chain.find(|m| {
            matches!(
                m,
                Mod::Exists | Mod::FieldRef | Mod::Cidr | Mod::Cmp(_) | Mod::Time(_)
            )
        }) {
            return Err(mis(
                n,
                "needs a field name (keywords are searched as text)".into(),
            )
            .hint(format!("write `FieldName|{n}: ...`")));
        }
    }
    // Modifiers that decide the test kind.
    if let Some((n, Mod::Exists)) = first {
        return match v {
            Value::Bool(b) => Ok(vec![Test::Exists(*b)]),
            _ => Err(path
                .err(invalid("`true` or `false` under `exists`", v))
                .hint(format!("write `{n}: true` or `{n}: false`"))),
        };
    }
    if let Some((_, Mod::Re)) = first {
        return lower_regex(v, &core, path);
    }
    if let Some((_, Mod::Cidr)) = first {
        let text = match v {
            Value::String(s) => s.trim(),
            _ => return Err(path.err(invalid("a CIDR network string such as `10.0.0.0/8`", v))),
        };
        return parse_cidr(text)
            .map(|n| vec![Test::Cidr(n)])
            .map_err(|(msg, hint)| {
                let f = path.err(ErrorKind::InvalidCidr(msg));
                match hint {
                    Some(h) => f.hint(h),
                    None => f,
                }
            });
    }
    if chain.has(Mod::FieldRef) {
        return lower_fieldref(v, chain, path);
    }
    let time = chain.find(|m| matches!(m, Mod::Time(_)));
    let cmp = chain.find(|m| matches!(m, Mod::Cmp(_)));
    if time.is_some() || cmp.is_some() {
        let name = time.or(cmp).map_or("", |(n, _)| n);
        let value = number_value(v)
            .ok_or_else(|| path.err(invalid(&format!("a number under `{name}`"), v)))?;
        let op = match cmp {
            Some((_, Mod::Cmp(op))) => op,
            _ => CmpOp::Eq,
        };
        return Ok(vec![match time {
            Some((_, Mod::Time(part))) => {
                if value.as_i64().is_none() {
                    return Err(path.err(invalid(&format!("an integer under `{name}`"), v)));
                }
                Test::TimePart { part, op, value }
            }
            _ => Test::Num { op, value },
        }]);
    }

    // String-like values.
    let text = match v {
        Value::Null => {
            if let Some((n, _)) = first {
                return Err(mis(n, "cannot apply to `null`".into())
                    .hint("`null` tests that the field is missing or null; drop the modifier"));
            }
            if field.is_none() {
                return Err(path.err(invalid("a keyword string", v)));
            }
            return Ok(vec![Test::Null]);
        }
        Value::Bool(b) => {
            if let Some((n, _)) = first {
                return Err(mis(n, "applies to strings, not booleans".into())
                    .hint("quote the value to search for the text"));
            }
            if field.is_none() {
                return Err(path.err(invalid("a keyword string", v)));
            }
            return Ok(vec![Test::Bool(*b)]);
        }
        Value::Number(n) => {
            let t = number_text(n).ok_or_else(|| path.err(invalid("a finite number", v)))?;
            if first.is_none() && field.is_some() {
                return Ok(vec![Test::Num {
                    op: CmpOp::Eq,
                    value: Number::new(t),
                }]);
            }
            // Under string modifiers (or as a keyword) a number is its text.
            return lower_string(
                field,
                &core,
                Pattern::literal(&t),
                chain.has(Mod::Cased),
                path,
            );
        }
        Value::String(s) => s,
        _ => return Err(path.err(invalid("a scalar value", v))),
    };
    let start = if chain.has(Mod::Expand) {
        value::parse_sigma_string_expand(text)
    } else {
        value::parse_sigma_string(text)
    };
    lower_string(field, &core, start, chain.has(Mod::Cased), path)
}

/// A value under `re` (with its `i`, `m`, `s` flags and anchoring modifiers `core[1..]`): a
/// regex test, the pattern checked.
fn lower_regex(v: &Value, core: &[(&str, Mod)], path: &KeyPath) -> R<Vec<Test>> {
    let mut pattern =
        scalar_text(v).ok_or_else(|| path.err(invalid("a regular expression string", v)))?;
    let mut flags = RegexFlags::default();
    for (_, m) in &core[1..] {
        match m {
            Mod::ReI => flags.ignore_case = true,
            Mod::ReM => flags.multi_line = true,
            Mod::ReS => flags.dot_all = true,
            // The IR regex is unanchored: `contains` changes nothing.
            Mod::StartsWith if !pattern.starts_with('^') => pattern = format!("^(?:{pattern})"),
            Mod::EndsWith if !pattern.ends_with('$') => pattern = format!("(?:{pattern})$"),
            _ => {}
        }
    }
    // The `regex` crate's default size limit.
    match crate::ir::check_regex(&pattern, flags, 10 << 20) {
        Ok(_) => {}
        Err(RegexProblem::TooLarge(limit)) => {
            return Err(path.err(ErrorKind::RegexTooLarge { limit }).hint(
                "the pattern is valid, but too large to run: counted repetitions (`{1000}`) multiply the size of what they repeat, and Unicode classes such as `\\w` or `\\d` are large; shorten the repetitions or use ASCII classes (`[0-9A-Za-z_]`)",
            ));
        }
        Err(RegexProblem::Syntax(msg)) => {
            let last = msg.lines().last().unwrap_or(&msg).trim();
            let short = last.strip_prefix("error: ").unwrap_or(last).to_string();
            return Err(path.err(ErrorKind::InvalidRegex(short)).hint(
                "Sigma regexes use the PCRE subset `. ^ $ * + ? {n,m} [...] | ()`; lookaround and backreferences are not supported",
            ));
        }
    }
    Ok(vec![Test::Regex { pattern, flags }])
}

/// A value under `fieldref`: a comparison with another field.
fn lower_fieldref(v: &Value, chain: &Chain<'_>, path: &KeyPath) -> R<Vec<Test>> {
    let text = match v {
        Value::String(s) => s.clone(),
        _ => return Err(path.err(invalid("a field name under `fieldref`", v))),
    };
    let p = value::parse_sigma_string(&text);
    if p.has_wildcards() {
        return Err(path
            .err(ErrorKind::WildcardNotAllowed {
                modifier: "fieldref".into(),
            })
            .hint("`fieldref` names another field; escape a literal `*` or `?` with a backslash"));
    }
    let how = if chain.has(Mod::Contains) {
        RefMatch::Contains
    } else if chain.has(Mod::StartsWith) {
        RefMatch::StartsWith
    } else if chain.has(Mod::EndsWith) {
        RefMatch::EndsWith
    } else {
        RefMatch::Eq
    };
    Ok(vec![Test::FieldRef {
        field: p.as_literal().unwrap_or(&text).to_string(),
        how,
        cased: chain.has(Mod::Cased),
    }])
}

fn lower_string(
    field: Option<&str>,
    core: &[(&str, Mod)],
    start: Pattern,
    cased: bool,
    path: &KeyPath,
) -> R<Vec<Test>> {
    let mut vals = vec![Val::Pat(start)];
    let to_pat = |v: Val, name: &str| -> R<Pattern> {
        match v {
            Val::Pat(p) => Ok(p),
            Val::Bytes(b) => String::from_utf8(b)
                .map(|s| Pattern::literal(&s))
                .map_err(|_| {
                    path.err(ErrorKind::MisplacedModifier {
                        modifier: name.to_string(),
                        reason: "needs text, but the encoded value is not valid UTF-8".into(),
                    })
                    .hint("encode with base64 or base64offset after the encoding")
                }),
        }
    };
    let to_bytes = |v: Val, name: &str| -> R<Vec<u8>> {
        match v {
            Val::Bytes(b) => Ok(b),
            Val::Pat(p) => {
                if p.has_wildcards() {
                    return Err(path.err(ErrorKind::WildcardNotAllowed {
                        modifier: name.to_string(),
                    })
                    .hint("encodings apply to plain text; put contains/startswith/endswith after them and escape literal `*`/`?`"));
                }
                if p.placeholders().next().is_some() {
                    return Err(path.err(ErrorKind::MisplacedModifier {
                        modifier: name.to_string(),
                        reason: "cannot encode a placeholder".into(),
                    }));
                }
                Ok(p.as_literal().unwrap_or("").as_bytes().to_vec())
            }
        }
    };
    for &(name, m) in core {
        let mut next = Vec::with_capacity(vals.len());
        for v in vals {
            match m {
                Mod::Contains => next.push(Val::Pat(
                    to_pat(v, name)?.with_leading_any().with_trailing_any(),
                )),
                Mod::StartsWith => next.push(Val::Pat(to_pat(v, name)?.with_trailing_any())),
                Mod::EndsWith => next.push(Val::Pat(to_pat(v, name)?.with_leading_any())),
                Mod::Windash => {
                    let p = to_pat(v, name)?;
                    let variants = value::windash(&p).map_err(|n| {
                        path.err(ErrorKind::InvalidValue {
                            expected: format!(
                                "at most {} dash positions under `windash`",
                                value::MAX_WINDASH_POSITIONS
                            ),
                            found: format!("{n}, which would give 5^{n} variants"),
                        })
                        .hint("split the value into several shorter values")
                    })?;
                    next.extend(variants.into_iter().map(Val::Pat));
                }
                Mod::Base64 => {
                    let b = to_bytes(v, name)?;
                    next.push(Val::Pat(Pattern::literal(&value::base64(&b))));
                }
                Mod::Base64Offset => {
                    let b = to_bytes(v, name)?;
                    next.extend(
                        value::base64_offsets(&b)
                            .iter()
                            .map(|s| Val::Pat(Pattern::literal(s))),
                    );
                }
                Mod::Wide | Mod::Utf16Le | Mod::Utf16Be | Mod::Utf16 => {
                    let enc = match m {
                        Mod::Utf16Be => Encoding::Be,
                        Mod::Utf16 => Encoding::Bom,
                        _ => Encoding::Le,
                    };
                    let b = to_bytes(v, name)?;
                    let text = String::from_utf8(b).map_err(|_| {
                        path.err(ErrorKind::MisplacedModifier {
                            modifier: name.to_string(),
                            reason: "cannot encode a value that is not text".into(),
                        })
                    })?;
                    next.push(Val::Bytes(value::encode(&text, enc)));
                }
                // Flags and list-level modifiers do not transform values, `expand` took effect
                // when the value was read; the others were handled before (the chain rules
                // keep them out of string chains).
                Mod::Expand
                | Mod::Cased
                | Mod::All
                | Mod::Neq
                | Mod::Re
                | Mod::ReI
                | Mod::ReM
                | Mod::ReS
                | Mod::Cidr
                | Mod::Cmp(_)
                | Mod::Exists
                | Mod::FieldRef
                | Mod::Time(_) => next.push(v),
            }
            if next.len() > MAX_VALUES {
                return Err(path.err(ErrorKind::InvalidValue {
                    expected: format!("at most {MAX_VALUES} values after expansion"),
                    found: "more".into(),
                }));
            }
        }
        vals = next;
    }
    let keyword_contains = field.is_none() && !core.iter().any(|(_, m)| m.is_position());
    let mut out = Vec::with_capacity(vals.len());
    for v in vals {
        let mut pattern = to_pat(v, core.last().map_or("", |(n, _)| n))?;
        if keyword_contains {
            pattern = pattern.with_leading_any().with_trailing_any();
        }
        out.push(Test::Str { pattern, cased });
    }
    Ok(out)
}

/// Parses and normalises a CIDR network (a bare address is a /32 or /128). Host bits must be
/// zero, as in pySigma (`ipaddress.ip_network`, strict).
fn parse_cidr(text: &str) -> Result<String, (String, Option<String>)> {
    let net: ipnet::IpNet = match text.parse() {
        Ok(n) => n,
        Err(_) => match text.parse::<std::net::IpAddr>() {
            Ok(a) => ipnet::IpNet::from(a),
            Err(_) => return Err((
                format!("`{text}` is not an IPv4 or IPv6 network"),
                Some(
                    "write an address with a prefix length, such as `10.0.0.0/8` or `fe80::/10`"
                        .into(),
                ),
            )),
        },
    };
    let trunc = net.trunc();
    if trunc != net {
        return Err((
            format!("`{text}` has host bits set"),
            Some(format!("did you mean `{trunc}`?")),
        ));
    }
    Ok(net.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_normalises_and_rejects() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap(), "10.0.0.0/8");
        assert_eq!(parse_cidr("fe80:0:0::/10").unwrap(), "fe80::/10");
        assert_eq!(parse_cidr("10.1.2.3").unwrap(), "10.1.2.3/32");
        assert!(parse_cidr("10.0.0.1/8")
            .unwrap_err()
            .1
            .unwrap()
            .contains("10.0.0.0/8"));
        assert!(parse_cidr("nonsense").is_err());
        assert!(parse_cidr("10.0.0.0/33").is_err());
    }
}
