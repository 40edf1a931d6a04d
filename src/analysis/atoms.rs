//! The two rules as boolean formulas over shared atoms.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::eval::{self, CompiledRule};
use crate::ir::{self, Expr, Predicate, Test};

use super::Options;

/// The ECS field whose value `process.name` is the last path segment of (`--assume ecs`).
pub const ECS_EXECUTABLE: &str = "process.executable";
/// The ECS field derived from [`ECS_EXECUTABLE`].
pub const ECS_NAME: &str = "process.name";
/// How the ECS invariant is named in explanations.
pub const ECS_NAME_INVARIANT: &str =
    "assumption ecs: process.name is the last path segment of process.executable";
/// The ECS field whose elements, joined by single spaces, are `process.command_line`
/// (`--assume ecs`, the Linux/macOS convention).
pub const ECS_ARGS: &str = "process.args";
/// The ECS field derived from [`ECS_ARGS`].
pub const ECS_COMMAND_LINE: &str = "process.command_line";
/// How the second ECS invariant is named in explanations.
pub const ECS_ARGS_INVARIANT: &str =
    "assumption ecs: process.command_line is process.args joined by single spaces";

/// A boolean formula over atom indices.
#[derive(Debug, Clone, PartialEq)]
pub enum F {
    /// Always true.
    True,
    /// An atom.
    Atom(usize),
    /// Negation.
    Not(Box<F>),
    /// Conjunction.
    And(Vec<F>),
    /// Disjunction.
    Or(Vec<F>),
}

impl F {
    /// The formula with atom `i` replaced by a constant.
    pub fn substitute(&self, i: usize, v: bool) -> F {
        match self {
            F::True => F::True,
            F::Atom(j) if *j == i => {
                if v {
                    F::True
                } else {
                    F::Not(Box::new(F::True))
                }
            }
            F::Atom(j) => F::Atom(*j),
            F::Not(x) => F::Not(Box::new(x.substitute(i, v))),
            F::And(xs) => F::And(xs.iter().map(|x| x.substitute(i, v)).collect()),
            F::Or(xs) => F::Or(xs.iter().map(|x| x.substitute(i, v)).collect()),
        }
    }

    /// A canonical form of the same boolean function: nested `And`/`Or` flattened, double
    /// negations dropped, children sorted and deduplicated, single children unwrapped. Equal
    /// normal forms are equivalent formulas.
    #[must_use]
    pub fn normalize(&self) -> F {
        match self {
            F::True | F::Atom(_) => self.clone(),
            F::Not(x) => match x.normalize() {
                F::Not(y) => *y,
                y => F::Not(Box::new(y)),
            },
            F::And(xs) | F::Or(xs) => {
                let and = matches!(self, F::And(_));
                let mut kids = Vec::new();
                for x in xs {
                    match (x.normalize(), and) {
                        (F::And(ys), true) | (F::Or(ys), false) => kids.extend(ys),
                        (y, _) => kids.push(y),
                    }
                }
                kids.sort_by_cached_key(|k| format!("{k:?}"));
                kids.dedup();
                match (kids.len(), and) {
                    (1, _) => kids.pop().unwrap_or(F::True),
                    (_, true) => F::And(kids),
                    (_, false) => F::Or(kids),
                }
            }
        }
    }

    /// Whether atom `i` occurs.
    pub fn mentions(&self, i: usize) -> bool {
        match self {
            F::True => false,
            F::Atom(j) => *j == i,
            F::Not(x) => x.mentions(i),
            F::And(xs) | F::Or(xs) => xs.iter().any(|x| x.mentions(i)),
        }
    }
}

/// What an atom says of its field.
#[derive(Debug, Clone)]
pub enum Kind {
    /// The field has a value.
    HasValue,
    /// Some value satisfies the test.
    Elem(Elem),
}

/// An element test: a predicate on one string value.
#[derive(Debug, Clone)]
pub struct Elem {
    /// The test, case folding already applied (`.caseless`).
    pub test: Test,
    /// The predicate compiled by the native evaluator over the field `v`.
    native: Arc<CompiledRule>,
    /// Tested on the value's last path segment (`process.name` under `--assume ecs`).
    pub last_segment: bool,
    /// Tested on the field's values joined by single spaces, not on each value
    /// (`process.command_line` as a test on `process.args` under `--assume ecs`).
    pub joined: bool,
}

impl Elem {
    /// Whether the value satisfies the test, as the native evaluator decides.
    pub fn holds(&self, value: &str) -> bool {
        let v = if self.last_segment {
            last_segment(value)
        } else {
            value
        };
        self.native.is_match(&serde_json::json!({ "v": v }))
    }
}

/// The native evaluator's compilation of each element test of one rule (keyed by the test's
/// JSON), compiled the first time a pair needs it and then shared by every pair (and thread)
/// the rule is decided in: compiling a regex test checks its syntax, too slow to redo per
/// pair for rules holding hundreds of them.
#[derive(Debug, Default)]
pub struct Natives {
    slots: HashMap<String, OnceLock<Result<Arc<CompiledRule>, String>>>,
}

impl Natives {
    /// A slot for each test of `rule` (after `.caseless` is resolved).
    pub fn of_rule(rule: &ir::Rule) -> Natives {
        let mut slots = HashMap::new();
        for c in &rule.conditions {
            c.for_each_pred(&mut |p| {
                let p = ir::caseless(p).unwrap_or_else(|| p.clone());
                slots
                    .entry(serde_json::to_string(&p.test).unwrap_or_default())
                    .or_insert_with(OnceLock::new);
            });
        }
        Natives { slots }
    }

    fn get(&self, key: &str, test: &Test) -> Option<Result<Arc<CompiledRule>, String>> {
        self.slots
            .get(key)
            .map(|slot| slot.get_or_init(|| compile_elem(test)).clone())
    }
}

/// The part of `s` after its last `/` or `\`.
pub fn last_segment(s: &str) -> &str {
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

/// One atom.
#[derive(Debug, Clone)]
pub struct Atom {
    /// Index into [`Table::fields`].
    pub field: usize,
    /// What it tests.
    pub kind: Kind,
    /// The predicate as the rules wrote it (after `.caseless` is resolved).
    pub pred: Predicate,
    /// Key paths in A where it occurs.
    pub a_at: Vec<String>,
    /// Key paths in B where it occurs.
    pub b_at: Vec<String>,
}

/// A field of the event model.
#[derive(Debug, Clone)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// At most one value (no arrays): `process.executable` under `--assume ecs`.
    pub single: bool,
    /// Witnesses also carry `process.name`, derived from this field's value.
    pub derive_name: bool,
    /// Witnesses also carry `process.command_line`, this field's values joined by spaces.
    pub derive_command_line: bool,
}

/// The atoms, fields and formulas of a pair of rules.
#[derive(Debug, Clone)]
pub struct Table {
    /// Atoms.
    pub atoms: Vec<Atom>,
    /// Fields, in order of first use.
    pub fields: Vec<Field>,
    /// Rule A's formula.
    pub a: F,
    /// Rule B's formula.
    pub b: F,
    /// Per atom: its case-insensitive twin, for a case-sensitive string atom (explanations).
    pub folded: Vec<Option<usize>>,
    /// Per field: its has-value atom (explanations).
    pub has: Vec<usize>,
    /// Per field: its atoms.
    pub by_field: Vec<Vec<usize>>,
    /// DFAs prepared with the rules ([`super::Prepared`]), looked up before building one.
    pub dfas: Vec<std::sync::Arc<super::lang::Cache>>,
    /// Product states all the walks of this pair may reach together
    /// ([`Options::max_total_states`]).
    pub total_states: usize,
}

struct Builder<'o> {
    table: Table,
    keys: HashMap<String, usize>,
    opts: &'o Options,
    natives: &'o [&'o Natives],
}

impl Table {
    /// Builds the atoms of `a` and `b`, their element tests compiled through `natives` (the
    /// rules' prepared compilations) where a slot holds them.
    ///
    /// # Errors
    /// The reason, for constructs the analysis does not decide.
    pub fn build(
        a: &ir::Rule,
        b: &ir::Rule,
        opts: &Options,
        natives: &[&Natives],
    ) -> Result<Table, String> {
        let mut bld = Builder {
            table: Table {
                atoms: Vec::new(),
                fields: Vec::new(),
                a: F::True,
                b: F::True,
                folded: Vec::new(),
                has: Vec::new(),
                by_field: Vec::new(),
                dfas: Vec::new(),
                total_states: opts.max_total_states,
            },
            keys: HashMap::new(),
            opts,
            natives,
        };
        let fa = bld.rule(a, true)?;
        let fb = bld.rule(b, false)?;
        bld.table.a = fa;
        bld.table.b = fb;
        if opts.explain {
            bld.companions()?;
        }
        let mut by_field = vec![Vec::new(); bld.table.fields.len()];
        for (i, a) in bld.table.atoms.iter().enumerate() {
            by_field[a.field].push(i);
        }
        bld.table.by_field = by_field;
        Ok(bld.table)
    }
}

impl Builder<'_> {
    fn rule(&mut self, r: &ir::Rule, is_a: bool) -> Result<F, String> {
        let mut xs = Vec::with_capacity(r.conditions.len());
        for c in &r.conditions {
            xs.push(self.expr(c, is_a)?);
        }
        Ok(match xs.len() {
            1 => xs.pop().unwrap_or(F::True),
            _ => F::Or(xs),
        })
    }

    fn expr(&mut self, e: &Expr, is_a: bool) -> Result<F, String> {
        Ok(match e {
            Expr::And(xs) => F::And(
                xs.iter()
                    .map(|x| self.expr(x, is_a))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(xs) => F::Or(
                xs.iter()
                    .map(|x| self.expr(x, is_a))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(x) => F::Not(Box::new(self.expr(x, is_a)?)),
            Expr::Pred(p) => self.pred(p, is_a)?,
        })
    }

    fn pred(&mut self, p: &Predicate, is_a: bool) -> Result<F, String> {
        if p.field.is_none() {
            return Err(format!(
                "keyword searches (at {}) are not decided by the analysis yet",
                p.at
            ));
        }
        // `X.caseless` is an atom on `X` with its test case-folded, so that it shares the
        // field (and its atoms) with predicates written on `X`.
        let p = ir::caseless(p).unwrap_or_else(|| p.clone());
        let name = p.field.clone().unwrap_or_default();
        let (negate, kind_test) = match &p.test {
            Test::Exists(b) => (!*b, None),
            Test::Null => (true, None),
            Test::Str { .. }
            | Test::Regex { .. }
            | Test::Num { .. }
            | Test::Bool(_)
            | Test::Cidr(_) => (false, Some(p.test.clone())),
            Test::FieldRef { .. } => {
                return Err(format!(
                    "field-to-field comparisons (at {}) are not decided by the analysis yet",
                    p.at
                ))
            }
            Test::TimePart { .. } => {
                return Err(format!(
                    "time-part tests (at {}) are not decided by the analysis yet",
                    p.at
                ))
            }
        };
        let (fname, view) = match name.as_str() {
            ECS_NAME if self.opts.assume_ecs => (ECS_EXECUTABLE, View::LastSegment),
            ECS_COMMAND_LINE if self.opts.assume_ecs => (ECS_ARGS, View::Joined),
            _ => (name.as_str(), View::Value),
        };
        let field = self.field(fname);
        let idx = self.intern(field, kind_test, view, &p)?;
        let atom = &mut self.table.atoms[idx];
        let at = if is_a { &mut atom.a_at } else { &mut atom.b_at };
        if !at.contains(&p.at) {
            at.push(p.at.clone());
        }
        let f = F::Atom(idx);
        Ok(if negate { F::Not(Box::new(f)) } else { f })
    }

    /// The atom of (field, test), created when new. `None` as the test: has a value.
    fn intern(
        &mut self,
        field: usize,
        kind_test: Option<Test>,
        view: View,
        p: &Predicate,
    ) -> Result<usize, String> {
        let json = kind_test
            .as_ref()
            .map(|t| serde_json::to_string(t).unwrap_or_default());
        let key = match &json {
            None => format!("{field}\u{0}has"),
            Some(j) => format!("{field}\u{0}{view:?}\u{0}{j}"),
        };
        if let Some(&i) = self.keys.get(&key) {
            return Ok(i);
        }
        let kind = match kind_test {
            None => Kind::HasValue,
            Some(test) => {
                let j = json.as_deref().unwrap_or_default();
                Kind::Elem(elem(&test, j, view, self.natives)?)
            }
        };
        let shown = match &kind {
            Kind::HasValue => Predicate {
                test: Test::Exists(true),
                ..p.clone()
            },
            Kind::Elem(e) => Predicate {
                test: e.test.clone(),
                ..p.clone()
            },
        };
        self.table.atoms.push(Atom {
            field,
            kind,
            pred: shown,
            a_at: Vec::new(),
            b_at: Vec::new(),
        });
        self.keys.insert(key, self.table.atoms.len() - 1);
        Ok(self.table.atoms.len() - 1)
    }

    /// For explanations: the case-insensitive twin of each case-sensitive string atom, and a
    /// has-value atom per field (neither occurs in the rules' formulas).
    fn companions(&mut self) -> Result<(), String> {
        let n = self.table.atoms.len();
        self.table.folded = vec![None; n];
        for i in 0..n {
            let atom = self.table.atoms[i].clone();
            if let Kind::Elem(e) = &atom.kind {
                if let Test::Str {
                    pattern,
                    cased: true,
                } = &e.test
                {
                    let t = Test::Str {
                        pattern: pattern.clone(),
                        cased: false,
                    };
                    let j = self.intern(atom.field, Some(t), e.view(), &atom.pred)?;
                    self.table.folded[i] = Some(j);
                }
            }
        }
        for f in 0..self.table.fields.len() {
            let shown = self
                .table
                .atoms
                .iter()
                .find(|a| a.field == f)
                .map(|a| a.pred.clone());
            if let Some(p) = shown {
                let j = self.intern(f, None, View::Value, &p)?;
                self.table.has.push(j);
            }
        }
        self.table.folded.resize(self.table.atoms.len(), None);
        Ok(())
    }

    fn field(&mut self, name: &str) -> usize {
        if let Some(i) = self.table.fields.iter().position(|f| f.name == name) {
            return i;
        }
        let ecs_exe = self.opts.assume_ecs && name == ECS_EXECUTABLE;
        let ecs_args = self.opts.assume_ecs && name == ECS_ARGS;
        self.table.fields.push(Field {
            name: name.to_string(),
            single: ecs_exe,
            derive_name: ecs_exe,
            derive_command_line: ecs_args,
        });
        self.table.fields.len() - 1
    }
}

/// What part of a field's value an element test reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// Each value.
    Value,
    /// Each value's last path segment.
    LastSegment,
    /// The values joined by single spaces.
    Joined,
}

impl Elem {
    fn view(&self) -> View {
        match (self.last_segment, self.joined) {
            (true, _) => View::LastSegment,
            (false, true) => View::Joined,
            (false, false) => View::Value,
        }
    }
}

/// The element of `test` (`key`: its JSON, the [`Natives`] key).
fn elem(test: &Test, key: &str, view: View, natives: &[&Natives]) -> Result<Elem, String> {
    let native = natives
        .iter()
        .find_map(|n| n.get(key, test))
        .unwrap_or_else(|| compile_elem(test))?;
    Ok(Elem {
        test: test.clone(),
        native,
        last_segment: view == View::LastSegment,
        joined: view == View::Joined,
    })
}

/// `test` compiled by the native evaluator as the one predicate of a rule over field `v`.
fn compile_elem(test: &Test) -> Result<Arc<CompiledRule>, String> {
    let rule = ir::Rule {
        meta: ir::Meta::default(),
        logsource: ir::LogSource::default(),
        conditions: vec![Expr::Pred(Predicate {
            field: Some("v".into()),
            test: test.clone(),
            at: String::new(),
        })],
        state: indexmap::IndexMap::new(),
        applied: Vec::new(),
        origin: ir::Origin::default(),
    };
    eval::compile_rule(&rule)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}
