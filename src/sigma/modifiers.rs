//! Value modifiers: names and the chain-order rules (spec § Value Modifiers, pySigma).

use crate::error::ErrorKind;
use crate::ir::{CmpOp, TimePart};

/// A value modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mod {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Windash,
    Base64,
    Base64Offset,
    Wide,
    Utf16Le,
    Utf16Be,
    Utf16,
    Re,
    ReI,
    ReM,
    ReS,
    Cidr,
    Cmp(CmpOp),
    Exists,
    Cased,
    Neq,
    FieldRef,
    Expand,
    Time(TimePart),
}

/// Every modifier name Sigma 2.1 and pySigma define.
pub(crate) const NAMES: &[(&str, Mod)] = &[
    ("contains", Mod::Contains),
    ("startswith", Mod::StartsWith),
    ("endswith", Mod::EndsWith),
    ("all", Mod::All),
    ("windash", Mod::Windash),
    ("base64", Mod::Base64),
    ("base64offset", Mod::Base64Offset),
    ("wide", Mod::Wide),
    ("utf16le", Mod::Utf16Le),
    ("utf16be", Mod::Utf16Be),
    ("utf16", Mod::Utf16),
    ("re", Mod::Re),
    ("i", Mod::ReI),
    ("ignorecase", Mod::ReI),
    ("m", Mod::ReM),
    ("multiline", Mod::ReM),
    ("s", Mod::ReS),
    ("dotall", Mod::ReS),
    ("cidr", Mod::Cidr),
    ("lt", Mod::Cmp(CmpOp::Lt)),
    ("lte", Mod::Cmp(CmpOp::Lte)),
    ("gt", Mod::Cmp(CmpOp::Gt)),
    ("gte", Mod::Cmp(CmpOp::Gte)),
    ("exists", Mod::Exists),
    ("cased", Mod::Cased),
    ("neq", Mod::Neq),
    ("fieldref", Mod::FieldRef),
    ("expand", Mod::Expand),
    ("minute", Mod::Time(TimePart::Minute)),
    ("hour", Mod::Time(TimePart::Hour)),
    ("day", Mod::Time(TimePart::Day)),
    ("week", Mod::Time(TimePart::Week)),
    ("month", Mod::Time(TimePart::Month)),
    ("year", Mod::Time(TimePart::Year)),
];

impl Mod {
    pub(crate) fn is_position(self) -> bool {
        matches!(self, Mod::Contains | Mod::StartsWith | Mod::EndsWith)
    }
    pub(crate) fn is_encoder(self) -> bool {
        matches!(self, Mod::Wide | Mod::Utf16Le | Mod::Utf16Be | Mod::Utf16)
    }
    pub(crate) fn is_base64(self) -> bool {
        matches!(self, Mod::Base64 | Mod::Base64Offset)
    }
    pub(crate) fn is_flag(self) -> bool {
        matches!(self, Mod::ReI | Mod::ReM | Mod::ReS)
    }
    /// List-level modifiers, which may stand anywhere in the chain.
    pub(crate) fn is_list_level(self) -> bool {
        matches!(self, Mod::All | Mod::Neq)
    }
}

/// A parsed modifier chain: the names as written and the modifiers.
#[derive(Debug, Clone)]
pub(crate) struct Chain<'a> {
    pub(crate) items: Vec<(&'a str, Mod)>,
}

impl Chain<'_> {
    pub(crate) fn has(&self, m: Mod) -> bool {
        self.items.iter().any(|(_, x)| *x == m)
    }
    pub(crate) fn find(&self, f: impl Fn(Mod) -> bool) -> Option<(&str, Mod)> {
        self.items
            .iter()
            .find(|(_, m)| f(*m))
            .map(|(n, m)| (*n, *m))
    }
    /// The value-level modifiers (without `all` / `neq`), in order.
    pub(crate) fn core(&self) -> impl Iterator<Item = (&str, Mod)> {
        self.items
            .iter()
            .filter(|(_, m)| !m.is_list_level())
            .map(|(n, m)| (*n, *m))
    }
}

fn misplaced(name: &str, reason: impl Into<String>) -> (ErrorKind, Option<String>) {
    (
        ErrorKind::MisplacedModifier {
            modifier: name.to_string(),
            reason: reason.into(),
        },
        None,
    )
}

/// Parses the modifier names of a key (after the field name) and checks the chain rules.
/// On error, the kind and a hint.
pub(crate) fn parse_chain<'a>(names: &[&'a str]) -> Result<Chain<'a>, (ErrorKind, Option<String>)> {
    let mut items = Vec::with_capacity(names.len());
    for &n in names {
        match NAMES.iter().find(|(k, _)| *k == n) {
            Some((_, m)) => items.push((n, *m)),
            None => {
                let hint = if n.is_empty() {
                    Some("remove the empty modifier (`||` or a trailing `|`)".to_string())
                } else {
                    super::closest(n, NAMES.iter().map(|(k, _)| *k))
                        .map(|c| format!("did you mean `{c}`?"))
                };
                return Err((ErrorKind::UnknownModifier(n.to_string()), hint));
            }
        }
    }
    let chain = Chain { items };
    check_order(&chain)?;
    Ok(chain)
}

/// The chain rules (spec § Value Modifiers, pySigma type checks).
fn check_order(chain: &Chain<'_>) -> Result<(), (ErrorKind, Option<String>)> {
    // Duplicates.
    for (i, (n, m)) in chain.items.iter().enumerate() {
        if chain.items[..i].iter().any(|(_, x)| x == m) {
            return Err(misplaced(n, "appears twice in the chain"));
        }
    }
    let core: Vec<(&str, Mod)> = chain.core().collect();
    for (i, &(n, m)) in core.iter().enumerate() {
        let before = &core[..i];
        let first = core[0];
        match m {
            Mod::Re | Mod::Cidr | Mod::Exists if i > 0 => {
                return Err(misplaced(
                    n,
                    format!("must come first, before `{}`", first.0),
                ));
            }
            Mod::Exists if core.len() > 1 => {
                return Err(misplaced(core[1].0, "cannot be combined with `exists`"));
            }
            Mod::Cidr if core.len() > 1 => {
                return Err(misplaced(core[1].0, "cannot be combined with `cidr`"));
            }
            _ if m.is_flag() && first.1 != Mod::Re => {
                return Err(misplaced(n, "is a regex flag and must follow `re`"));
            }
            _ if first.1 == Mod::Re && i > 0 && !(m.is_flag() || m.is_position()) => {
                return Err(misplaced(
                    n,
                    "cannot follow `re` (only i, m, s and contains/startswith/endswith can)",
                ));
            }
            _ if m.is_position() => {
                if let Some((p, _)) = before.iter().find(|(_, x)| x.is_position()) {
                    return Err(misplaced(n, format!("cannot be combined with `{p}`")));
                }
            }
            _ if m.is_encoder() => {
                if let Some((p, _)) = before.iter().find(|(_, x)| x.is_encoder()) {
                    return Err(misplaced(n, format!("cannot be combined with `{p}`")));
                }
                if let Some((p, _)) = before
                    .iter()
                    .find(|(_, x)| x.is_base64() || x.is_position() || *x == Mod::Windash)
                {
                    return Err(misplaced(n, format!("must come before `{p}`")));
                }
            }
            _ if m.is_base64() => {
                if let Some((p, _)) = before.iter().find(|(_, x)| x.is_base64()) {
                    return Err(misplaced(n, format!("cannot be combined with `{p}`")));
                }
                if let Some((p, _)) = before.iter().find(|(_, x)| x.is_position()) {
                    return Err(misplaced(
                        n,
                        format!("must come before `{p}`: wildcards cannot be encoded"),
                    )
                    .with_hint(format!("write `{n}|{p}`")));
                }
            }
            Mod::Cmp(_) => {
                if let Some((p, _)) = core
                    .iter()
                    .find(|(_, x)| !matches!(x, Mod::Cmp(_) | Mod::Time(_)))
                {
                    return Err(misplaced(p, format!("cannot be combined with `{n}`")));
                }
                if let Some((p, _)) = before.iter().find(|(_, x)| matches!(x, Mod::Cmp(_))) {
                    return Err(misplaced(n, format!("cannot be combined with `{p}`")));
                }
            }
            Mod::Time(_) => {
                if let Some((p, _)) = core
                    .iter()
                    .find(|(_, x)| !matches!(x, Mod::Cmp(_) | Mod::Time(_)))
                {
                    return Err(misplaced(p, format!("cannot be combined with `{n}`")));
                }
                if let Some((p, _)) = before
                    .iter()
                    .find(|(_, x)| matches!(x, Mod::Cmp(_) | Mod::Time(_)))
                {
                    return Err(misplaced(n, format!("must come before `{p}`")));
                }
            }
            Mod::FieldRef => {
                if let Some((p, _)) = core
                    .iter()
                    .find(|(_, x)| !(x.is_position() || matches!(x, Mod::Cased | Mod::FieldRef)))
                {
                    return Err(misplaced(p, "cannot be combined with `fieldref`"));
                }
            }
            Mod::Windash => {
                if let Some((p, _)) = before.iter().find(|(_, x)| x.is_base64() || x.is_encoder()) {
                    return Err(misplaced(n, format!("must come before `{p}`")));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

trait WithHint {
    fn with_hint(self, h: String) -> Self;
}

impl WithHint for (ErrorKind, Option<String>) {
    fn with_hint(self, h: String) -> Self {
        (self.0, Some(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(chain: &str) -> Result<(), String> {
        let names: Vec<&str> = chain.split('|').collect();
        parse_chain(&names)
            .map(|_| ())
            .map_err(|(k, _)| k.to_string())
    }

    #[test]
    fn catalog_chains_are_valid() {
        for c in [
            "endswith",
            "contains",
            "contains|all",
            "startswith",
            "re",
            "contains|windash",
            "cidr",
            "expand",
            "all",
            "contains|expand",
            "base64offset|contains",
            "fieldref",
            "endswith|windash",
            "re|i",
            "base64|contains",
            "wide|base64offset|contains",
        ] {
            assert_eq!(check(c), Ok(()), "{c}");
        }
        for c in [
            "exists",
            "cased",
            "contains|cased",
            "neq",
            "contains|neq|all",
            "gt",
            "minute|gte",
            "re|m|s",
            "re|ignorecase",
            "fieldref|contains",
            "fieldref|cased",
            "utf16be|base64",
            "windash|base64offset|contains",
            "all|re",
        ] {
            assert_eq!(check(c), Ok(()), "{c}");
        }
    }

    #[test]
    fn order_rules() {
        assert!(check("contains|re")
            .unwrap_err()
            .contains("must come first"));
        assert!(check("contains|cidr")
            .unwrap_err()
            .contains("must come first"));
        assert!(check("exists|contains")
            .unwrap_err()
            .contains("cannot be combined with `exists`"));
        assert!(check("i").unwrap_err().contains("must follow `re`"));
        assert!(check("contains|i")
            .unwrap_err()
            .contains("must follow `re`"));
        assert!(check("re|base64")
            .unwrap_err()
            .contains("cannot follow `re`"));
        assert!(check("contains|base64")
            .unwrap_err()
            .contains("must come before `contains`"));
        assert!(check("base64|wide")
            .unwrap_err()
            .contains("must come before `base64`"));
        assert!(check("contains|endswith")
            .unwrap_err()
            .contains("cannot be combined"));
        assert!(check("gt|lt").unwrap_err().contains("cannot be combined"));
        assert!(check("gt|minute").unwrap_err().contains("must come before"));
        assert!(check("contains|gt")
            .unwrap_err()
            .contains("cannot be combined"));
        assert!(check("fieldref|base64").unwrap_err().contains("fieldref"));
        assert!(check("contains|contains").unwrap_err().contains("twice"));
        assert!(check("cidr|contains").unwrap_err().contains("cidr"));
    }

    #[test]
    fn unknown_modifier_hint() {
        let (k, hint) = parse_chain(&["endswit"]).unwrap_err();
        assert_eq!(k, ErrorKind::UnknownModifier("endswit".into()));
        assert_eq!(hint.as_deref(), Some("did you mean `endswith`?"));
    }
}
