//! A set of conditions of one kind and how they combine: `*_conditions` (a list, or a mapping
//! from names to conditions), `*_cond_op` (`and` / `or`), `*_cond_not`, and `*_cond_expr`, a
//! boolean expression over the names read by the Sigma front end's condition parser (its
//! precedence, nesting limit and error messages).

use serde_json::{Map, Value};

use crate::error::Result;
use crate::pipeline::reader::{kind_of, Reader};
use crate::sigma::{self, ConditionAst};

/// A set of conditions and how they combine.
#[derive(Debug, Clone)]
pub struct Conditions<C> {
    /// The conditions with their names (list position, 1-based, or the mapping key).
    pub items: Vec<(String, C)>,
    /// How they combine.
    pub logic: Logic,
    /// `*_cond_not`: negate the combined result.
    pub negated: bool,
}

/// How conditions combine.
#[derive(Debug, Clone)]
pub enum Logic {
    /// `and` (the default): all hold.
    All,
    /// `or`: any holds.
    Any,
    /// `*_cond_expr`: a boolean expression over the condition names.
    Expr(CondExpr),
}

/// A parsed `*_cond_expr`.
#[derive(Debug, Clone)]
pub enum CondExpr {
    /// The condition at this index of [`Conditions::items`].
    Ref(usize),
    /// `not x`
    Not(Box<CondExpr>),
    /// `x and y ...`
    And(Vec<CondExpr>),
    /// `x or y ...`
    Or(Vec<CondExpr>),
}

impl<C> Conditions<C> {
    /// Combines condition results as the op / expression / negation say. An empty set holds
    /// (pySigma: `all([])`), and is negated like any other result.
    /// `eval` gets each condition with its index in [`Conditions::items`].
    pub(crate) fn combine(&self, mut eval: impl FnMut(usize, &C) -> bool) -> bool {
        fn expr<C>(
            e: &CondExpr,
            set: &Conditions<C>,
            eval: &mut impl FnMut(usize, &C) -> bool,
        ) -> bool {
            match e {
                CondExpr::Ref(i) => eval(*i, &set.items[*i].1),
                CondExpr::Not(x) => !expr(x, set, eval),
                CondExpr::And(xs) => xs.iter().all(|x| expr(x, set, eval)),
                CondExpr::Or(xs) => xs.iter().any(|x| expr(x, set, eval)),
            }
        }
        let r = match &self.logic {
            Logic::All => self.items.iter().enumerate().all(|(i, (_, c))| eval(i, c)),
            Logic::Any => self.items.iter().enumerate().any(|(i, (_, c))| eval(i, c)),
            Logic::Expr(e) => expr(e, self, &mut eval),
        };
        r != self.negated
    }

    /// Whether the set is empty and not negated: it holds for everything.
    pub(crate) fn always(&self) -> bool {
        self.items.is_empty() && !self.negated
    }
}

/// One condition's reader: the condition mapping and its key path.
pub(crate) type ReadOne<C> = fn(&Reader, &Map<String, Value>, &str) -> Result<C>;

/// Reads the `{kind}_conditions`, `{kind}_cond_op`, `{kind}_cond_not` and `{kind}_cond_expr`
/// keys of the item `map` at `path`.
pub(crate) fn read<C>(
    r: &Reader,
    map: &Map<String, Value>,
    path: &str,
    kind: &str,
    one: ReadOne<C>,
) -> Result<Conditions<C>> {
    let (items, from_map) = read_items(r, map, path, kind, one)?;
    let op = match map.get(&format!("{kind}_cond_op")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "and" => Some(Logic::All),
        Some(Value::String(s)) if s == "or" => Some(Logic::Any),
        Some(v) => {
            return Err(r.err(
                &format!("{path}.{kind}_cond_op"),
                format!("expected `and` or `or`, found {v}"),
            ))
        }
    };
    let negated = match map.get(&format!("{kind}_cond_not")) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(r.err(
                &format!("{path}.{kind}_cond_not"),
                format!("expected a boolean, found {}", kind_of(v)),
            ))
        }
    };
    let expr_path = format!("{path}.{kind}_cond_expr");
    let logic = match map.get(&format!("{kind}_cond_expr")) {
        None | Some(Value::Null) => op.unwrap_or(Logic::All),
        Some(Value::String(s)) => {
            if op.is_some() {
                return Err(r.err(
                    &expr_path,
                    format!("`{kind}_cond_expr` and `{kind}_cond_op` exclude each other"),
                ));
            }
            if !from_map {
                return Err(r.err(&expr_path, format!("`{kind}_cond_expr` needs `{kind}_conditions` as a mapping from names to conditions")));
            }
            let names: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
            Logic::Expr(read_expr(r, s, &names, &expr_path)?)
        }
        Some(v) => {
            return Err(r.err(
                &expr_path,
                format!("expected a string, found {}", kind_of(v)),
            ))
        }
    };
    Ok(Conditions {
        items,
        logic,
        negated,
    })
}

/// The named conditions, and whether they were given as a mapping.
fn read_items<C>(
    r: &Reader,
    map: &Map<String, Value>,
    path: &str,
    kind: &str,
    one: ReadOne<C>,
) -> Result<(Vec<(String, C)>, bool)> {
    let kpath = format!("{path}.{kind}_conditions");
    let mut items = Vec::new();
    let each = |x: &Value, cpath: &str| -> Result<C> {
        let Value::Object(m) = x else {
            return Err(r.err(cpath, format!("expected a mapping, found {}", kind_of(x))));
        };
        one(r, m, cpath)
    };
    match map.get(&format!("{kind}_conditions")) {
        None | Some(Value::Null) => Ok((items, false)),
        Some(Value::Array(xs)) => {
            for (i, x) in xs.iter().enumerate() {
                let name = (i + 1).to_string();
                let c = each(x, &format!("{kpath}[{i}]"))?;
                items.push((name, c));
            }
            Ok((items, false))
        }
        Some(Value::Object(xs)) => {
            for (name, x) in xs {
                let c = each(x, &format!("{kpath}.{name}"))?;
                items.push((name.clone(), c));
            }
            Ok((items, true))
        }
        Some(v) => Err(r.err(
            &kpath,
            format!("expected a list or mapping, found {}", kind_of(v)),
        )),
    }
}

/// Reads a `*_cond_expr` with the front end's condition parser (`not` binds tighter than
/// `and`, `and` tighter than `or`; nesting is limited) and resolves the names; every condition
/// must be used.
fn read_expr(r: &Reader, s: &str, names: &[&str], path: &str) -> Result<CondExpr> {
    let ast = sigma::parse_condition(s).map_err(|e| r.located(e, path))?;
    let mut used = vec![false; names.len()];
    let e = resolve(&ast, s, names, &mut used).map_err(|m| r.err(path, m))?;
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(r.err(
            path,
            format!("condition `{}` is not used by the expression", names[i]),
        ));
    }
    Ok(e)
}

fn resolve(
    ast: &ConditionAst,
    src: &str,
    names: &[&str],
    used: &mut [bool],
) -> std::result::Result<CondExpr, String> {
    let all = |xs: &[ConditionAst], used: &mut [bool]| {
        xs.iter()
            .map(|x| resolve(x, src, names, used))
            .collect::<std::result::Result<Vec<_>, _>>()
    };
    Ok(match ast {
        ConditionAst::Ident(w, _) => {
            let Some(i) = names.iter().position(|n| n == w) else {
                return Err(format!(
                    "condition expression `{src}` names `{w}`, which is not defined"
                ));
            };
            used[i] = true;
            CondExpr::Ref(i)
        }
        ConditionAst::Of(..) => {
            return Err(format!(
                "condition expression `{src}` uses `1 of` / `all of`, which processing conditions do not have"
            ))
        }
        ConditionAst::Not(x) => CondExpr::Not(Box::new(resolve(x, src, names, used)?)),
        ConditionAst::And(xs) => CondExpr::And(all(xs, used)?),
        ConditionAst::Or(xs) => CondExpr::Or(all(xs, used)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(s: &str, names: &[&str]) -> Result<CondExpr> {
        let r = Reader {
            origin: "test.yml",
            name: "test".into(),
        };
        read_expr(&r, s, names, "transformations[0].rule_cond_expr")
    }

    #[test]
    fn cond_expr_precedence() {
        let e = expr("a or not b and (c)", &["a", "b", "c"]).unwrap();
        assert_eq!(format!("{e:?}"), "Or([Ref(0), And([Not(Ref(1)), Ref(2)])])");
        assert!(expr("a and d", &["a"]).is_err());
        assert!(expr("(a", &["a"]).is_err());
        assert!(expr("a", &["a", "b"])
            .unwrap_err()
            .render()
            .contains("`b` is not used"));
    }

    #[test]
    fn cond_expr_nesting_is_limited_and_located() {
        let deep = format!("{}a", "not ".repeat(200_000));
        let e = expr(&deep, &["a"]).unwrap_err();
        assert_eq!(e.kind.code(), "condition_syntax");
        assert_eq!(
            e.location.path.as_deref(),
            Some("transformations[0].rule_cond_expr")
        );
        assert_eq!(e.location.file.as_deref(), Some("test.yml"));
    }
}
